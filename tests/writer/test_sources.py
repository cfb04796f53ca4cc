"""Writing over your own input never destroys it -- also when the data cannot say where it reads from.

The data a write reads is looked at first (:mod:`ngffkit.writer.sources`): a proven overlap with the destination
is refused; data that may read from anywhere (a function of the caller's, an object ngffkit does not know, a
graph it cannot read) never replaces anything in place -- it is written beside the destination and swapped in
once complete, or refused where that cannot be done. Each case writes over the very data it reads, and checks
that the result is what the data said, or that not one byte changed. The suite runs this with the lowest dask
allowed (2024.8: tuple tasks) and the newest (2026: task objects).
"""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import zarr

import ngffkit
from ngffkit.writer.sources import sources_of

SHAPE, CHUNK = (64, 96), (32, 32)
ORIGINAL = (np.arange(SHAPE[0] * SHAPE[1]) % 251).astype(np.uint8).reshape(SHAPE)


def fingerprint(root: pathlib.Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder"
            for p in sorted(root.rglob("*"))}  # fmt: skip


def write_source(tmp_path: pathlib.Path) -> pathlib.Path:
    """An image whose level 0 is stored uncompressed (so that a chunk file can be memory-mapped too)."""
    path = tmp_path / "source.zarr"
    ngffkit.write_image(ORIGINAL, path, chunks=CHUNK, compressor=None, levels=2)
    return path


def read_block(path: pathlib.Path) -> Callable[..., np.ndarray]:
    """A block function that opens the destination's level 0 itself: nothing in the graph says so."""

    def block(template: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        where = tuple(slice(*r) for r in block_info[0]["array-location"])
        return np.asarray(zarr.open_array(str(path / "0"), mode="r")[where]) + 1

    return block


REGISTERED: dict[str, Any] = {}


def read_registered(template: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
    assert block_info is not None
    where = tuple(slice(*r) for r in block_info[0]["array-location"])
    return np.asarray(zarr.open_array(REGISTERED["store"], path="0", mode="r")[where]) + 1


class ForeignReader:
    """An array-like ngffkit does not know (as a user's own TIFF or HDF5 reader would be)."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path, self.shape, self.dtype, self.ndim = path, SHAPE, np.dtype(np.uint8), 2

    def __getitem__(self, index: Any) -> np.ndarray:
        return np.asarray(zarr.open_array(str(self.path / "0"), mode="r")[index]) + 1


#: Data that reads from the destination in ways the graph does not show: written beside, then swapped in.
UNPROVEN: dict[str, Callable[[pathlib.Path], Any]] = {
    "map_blocks opening the destination": lambda path: da.zeros(SHAPE, chunks=CHUNK, dtype=np.uint8).map_blocks(
        read_block(path), dtype=np.uint8
    ),
    "delayed read": lambda path: da.from_delayed(
        dask.delayed(lambda p: np.asarray(zarr.open_array(str(p / "0"), mode="r")) + 1)(path), SHAPE, np.uint8
    ),
    "an array-like ngffkit does not know": lambda path: da.from_array(ForeignReader(path), chunks=CHUNK),
}


@pytest.mark.parametrize("case", list(UNPROVEN))
def test_data_of_unknown_origin_replaces_its_source_only_once_written(tmp_path: pathlib.Path, case: str) -> None:
    source = write_source(tmp_path)
    data = UNPROVEN[case](source)
    found = sources_of(data)
    assert not found.proven, found
    image = ngffkit.write_image(data, source, overwrite=True, chunks=CHUNK)
    np.testing.assert_array_equal(image.levels[0].compute(), ORIGINAL + 1)  # read from the old, whole
    assert ngffkit.validate(source).valid
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source.zarr"]  # nothing left beside it


def test_a_graph_too_large_to_check_is_written_beside(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A graph that cannot be read within the budget proves nothing: its write is staged (here an ngffkit level
    over itself, which a complete reading refuses)."""
    from ngffkit.store import dask_graphs

    source = write_source(tmp_path)
    data = ngffkit.open(source).levels[0].map_blocks(np.add, 1, dtype=np.uint8)  # type: ignore[union-attr]
    monkeypatch.setattr(dask_graphs, "NODE_BUDGET", 1)
    found = sources_of(data)
    assert not found.proven and "too large to check" in found.why_unproven() and not found.places
    image = ngffkit.write_image(data, source, overwrite=True, chunks=CHUNK)
    np.testing.assert_array_equal(image.levels[0].compute(), ORIGINAL + 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source.zarr"]


#: Data whose graph names the destination: refused before anything is written.
PROVEN_OVERLAPS: dict[str, Callable[[pathlib.Path], Any]] = {
    "an ngffkit level": lambda path: ngffkit.open(path).levels[0],  # type: ignore[union-attr]
    "da.from_zarr": lambda path: da.from_zarr(zarr.open_array(str(path / "0"))),
    "da.from_array of a zarr array": lambda path: da.from_array(zarr.open_array(str(path / "0")), chunks=CHUNK),
    "map_blocks over a zarr read": lambda path: da.from_zarr(zarr.open_array(str(path / "0"))).map_blocks(
        lambda b: b + 1
    ),
    "delayed over a zarr array": lambda path: da.from_delayed(
        dask.delayed(np.asarray)(zarr.open_array(str(path / "0"))), SHAPE, np.uint8
    ),
    "a memory-mapped chunk file": lambda path: np.memmap(path / "0" / "c" / "0" / "0", np.uint8, "r"),
}


@pytest.mark.parametrize("case", list(PROVEN_OVERLAPS))
def test_data_that_reads_its_destination_is_refused(tmp_path: pathlib.Path, case: str) -> None:
    source = write_source(tmp_path)
    data = PROVEN_OVERLAPS[case](source)
    if case == "a memory-mapped chunk file":
        data = data.reshape(CHUNK)
    assert sources_of(data).places, "the source was not found"
    before = fingerprint(tmp_path)
    with pytest.raises(ngffkit.InvalidArgument, match="overlaps the input"):
        ngffkit.write_image(data, source, overwrite=True, chunks=CHUNK)
    assert fingerprint(tmp_path) == before


def test_a_staged_write_that_fails_leaves_the_destination_as_it_was(tmp_path: pathlib.Path) -> None:
    source = write_source(tmp_path)
    before = fingerprint(tmp_path)

    def fails_late(block: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        if block_info[0]["chunk-location"] == (1, 2):
            raise RuntimeError("disk on fire")
        return read_block(source)(block, block_info)

    data = da.zeros(SHAPE, chunks=CHUNK, dtype=np.uint8).map_blocks(fails_late, dtype=np.uint8)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ngffkit.write_image(data, source, overwrite=True, chunks=CHUNK)
    assert fingerprint(tmp_path) == before  # the staging folder is gone, the destination untouched


def test_the_overwrite_rules_hold_for_staged_writes(tmp_path: pathlib.Path) -> None:
    """A staged write replaces only what an in-place write could: nothing without overwrite, never a folder
    holding files that are not zarr -- checked before writing and again at the swap."""
    source = write_source(tmp_path)
    data = UNPROVEN["map_blocks opening the destination"](source)
    before = fingerprint(tmp_path)
    with pytest.raises(ngffkit.AlreadyExists, match="overwrite=True"):
        ngffkit.write_image(data, source, chunks=CHUNK)
    (source / "notes.txt").write_text("years of work")
    before = fingerprint(tmp_path)
    with pytest.raises(ngffkit.AlreadyExists, match=r"notes\.txt"):
        ngffkit.write_image(data, source, overwrite=True, chunks=CHUNK)
    assert fingerprint(tmp_path) == before

    (source / "notes.txt").unlink()
    arrived_during_the_write = source / "1" / "thesis.txt"

    def drops_a_file(block: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        arrived_during_the_write.write_text("written while ngffkit wrote beside")
        return read_block(source)(block, block_info)

    before = fingerprint(tmp_path) | {"source.zarr/1/thesis.txt": "?"}
    sneaky = da.zeros(SHAPE, chunks=CHUNK, dtype=np.uint8).map_blocks(drops_a_file, dtype=np.uint8)
    with pytest.raises(ngffkit.AlreadyExists, match=r"thesis\.txt"):
        ngffkit.write_image(sneaky, source, overwrite=True, chunks=CHUNK)
    after = fingerprint(tmp_path)
    assert after.keys() == before.keys()  # the source, as it was plus the new file; nothing beside it
    np.testing.assert_array_equal(ngffkit.open(source).levels[0].compute(), ORIGINAL)  # type: ignore[union-attr]


def test_labels_and_delayed_writes_are_staged_too(tmp_path: pathlib.Path) -> None:
    source = write_source(tmp_path)
    ngffkit.write_labels(np.ones(SHAPE, np.uint8), source, "cells")
    cells = source / "labels" / "cells"
    relabel = da.zeros(SHAPE, chunks=CHUNK, dtype=np.uint8).map_blocks(
        lambda b, block_info=None: (
            np.asarray(zarr.open_array(str(cells / "0"))[tuple(slice(*r) for r in block_info[0]["array-location"])]) * 7
        ),
        dtype=np.uint8,
    )
    ngffkit.write_labels(relabel, source, "cells", overwrite=True)
    opened = ngffkit.open(source)
    assert opened.label_names == ("cells",)  # type: ignore[union-attr]
    assert set(np.unique(opened.label("cells").levels[0].compute())) == {7}  # type: ignore[union-attr]

    later = ngffkit.write_image(UNPROVEN["map_blocks opening the destination"](source), source, overwrite=True,
                                chunks=CHUNK, compute=False)  # fmt: skip
    np.testing.assert_array_equal(ngffkit.open(source).levels[0].compute(), ORIGINAL)  # type: ignore[union-attr]
    dask.compute(later)
    np.testing.assert_array_equal(ngffkit.open(source).levels[0].compute(), ORIGINAL + 1)  # type: ignore[union-attr]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source.zarr"]


def test_unproven_data_never_replaces_what_cannot_be_swapped(tmp_path: pathlib.Path) -> None:
    """Stores without a folder to rename (an object store, memory): replacing data on trust is refused; writing
    where nothing is yet is fine."""
    store = zarr.storage.MemoryStore()
    ngffkit.write_image(ORIGINAL, store, chunks=CHUNK)
    before = {key: bytes(value.to_bytes()) for key, value in store._store_dict.items()}
    REGISTERED["store"] = store  # reached through the function's module: nothing in the graph says so
    data = da.zeros(SHAPE, chunks=CHUNK, dtype=np.uint8).map_blocks(read_registered, dtype=np.uint8)
    found = sources_of(data)
    assert not found.proven
    with pytest.raises(ngffkit.InvalidArgument, match="cannot tell whether the data reads from the destination"):
        ngffkit.write_image(data, store, overwrite=True, chunks=CHUNK)
    assert {key: bytes(value.to_bytes()) for key, value in store._store_dict.items()} == before
    elsewhere = zarr.storage.MemoryStore()
    np.testing.assert_array_equal(ngffkit.write_image(data, elsewhere).levels[0].compute(), ORIGINAL + 1)  # type: ignore[union-attr]


def test_common_data_is_proven(tmp_path: pathlib.Path) -> None:
    """What people write takes no detour: numpy, and dask arrays of numpy's and dask's own functions over levels
    of other images."""
    other = ngffkit.open(write_source(tmp_path / "other")).levels[0]  # type: ignore[union-attr]
    for data in (ORIGINAL, da.from_array(ORIGINAL, chunks=CHUNK) * 2, other.astype("float32") / 2 + 1,
                 da.zeros(SHAPE, chunks=CHUNK, dtype=np.uint8).map_blocks(np.negative)):  # fmt: skip
        found = sources_of(data)
        assert found.proven, found
    assert sources_of(other).places[0].path.endswith("other/source.zarr/0")


def test_staging_works_for_names_near_the_file_system_limit(tmp_path: pathlib.Path) -> None:
    """The folder written beside has a short name of its own, whatever the destination's (255 characters)."""
    source = tmp_path / ("n" * 250 + ".zarr")
    ngffkit.write_image(ORIGINAL, source, chunks=CHUNK)
    image = ngffkit.write_image(UNPROVEN["map_blocks opening the destination"](source), source, overwrite=True,
                                chunks=CHUNK)  # fmt: skip
    np.testing.assert_array_equal(image.levels[0].compute(), ORIGINAL + 1)
    assert [p.name for p in tmp_path.iterdir()] == [source.name]


def test_a_failure_in_the_folder_written_beside_names_the_destination(tmp_path: pathlib.Path) -> None:
    """The file system's refusals while writing beside the destination are the destination's, not the input's."""
    from ngffkit.writer import destination

    final = tmp_path / "out.zarr"
    staged_chunk = tmp_path / ".ngffkit-staging-0123456789ab" / "0" / "c" / "0" / "0"
    no_space = OSError(28, "No space left on device", str(staged_chunk))
    with (
        pytest.raises(ngffkit.LocationError, match="cannot write here: No space left") as caught,
        destination.storage_errors(str(final)),
    ):
        raise no_space
    assert caught.value.where == str(final)
