"""Uncompressed arrays in a .ozx are read as whole archive entries in bulk (issue 31: a level of 200,000 one-byte
chunks took napari 137 s to draw, zarr's per-chunk cost): the same pixels as zarr reads, only the chunks a region
needs, and every check zipfile makes on an entry."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import ngffkit
from ngffkit.reader.entry_reads import region_reader
from ngffkit.store import dask_graphs
from ngffkit.store.ozx import OzxStore


def level_array(image: ngffkit.Image, level: int = 0) -> object:
    """The zarr array a level of an opened image reads from."""
    return dask_graphs.sole_source(image.levels[level]).array


def store_of(image: ngffkit.Image) -> OzxStore:
    store = level_array(image).store_path.store  # type: ignore[attr-defined]
    assert isinstance(store, OzxStore)
    return store


def volume() -> np.ndarray:
    return np.arange(5 * 13 * 11, dtype=np.uint16).reshape(5, 13, 11) * 7


def write_volume(path: pathlib.Path, **options: object) -> pathlib.Path:
    ngffkit.write_image(volume(), path, axes="zyx", levels=1, chunks=(2, 3, 4), compressor="none", **options)
    return path


def rewrite(path: pathlib.Path, change: dict[str, bytes | None]) -> None:
    """The archive with some entries' contents replaced (None: left out), every other entry as it was."""
    rebuilt = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(rebuilt, "w") as out:
        for info in source.infolist():
            if info.filename in change:
                if change[info.filename] is not None:
                    out.writestr(info, change[info.filename])  # type: ignore[arg-type]
            else:
                out.writestr(info, source.read(info))
    rebuilt.replace(path)


@pytest.mark.parametrize(
    "index",
    [(slice(None),), (2,), (slice(1, 4), slice(2, 9), 3), (-1, slice(4, 5)), (Ellipsis, 10), (0, 0, slice(0, 0))],
    ids=["whole", "plane", "window", "negative", "ellipsis", "empty"],
)
def test_regions_read_in_bulk_are_zarrs_pixels(tmp_path: pathlib.Path, index: tuple[object, ...]) -> None:
    image = ngffkit.open(write_volume(tmp_path / "v.ozx"))
    assert region_reader(level_array(image)) is not None  # type: ignore[arg-type]
    np.testing.assert_array_equal(image.levels[0][index].compute(), volume()[index])


def test_a_region_reads_only_its_chunks(tmp_path: pathlib.Path) -> None:
    image = ngffkit.open(write_volume(tmp_path / "v.ozx"))
    store = store_of(image)
    before = store.entries_read
    np.testing.assert_array_equal(image.levels[0][2].compute(), volume()[2])
    assert store.entries_read - before == 5 * 3  # z 2 is in one chunk along z; 13 rows in 5 chunks, 11 in 3


def test_a_missing_chunk_is_the_fill_value(tmp_path: pathlib.Path) -> None:
    path = write_volume(tmp_path / "v.ozx")
    rewrite(path, {"0/c/1/2/1": None})
    expected = volume()
    expected[2:4, 6:9, 4:8] = 0
    np.testing.assert_array_equal(ngffkit.open(path).levels[0].compute(), expected)


def test_compressed_arrays_and_folders_are_read_by_zarr(tmp_path: pathlib.Path) -> None:
    compressed = ngffkit.open(ngffkit.write_image(volume(), tmp_path / "c.ozx", axes="zyx", levels=1).url)
    folder = ngffkit.open(write_volume(tmp_path / "v.zarr"))
    for image in (compressed, folder):
        assert region_reader(level_array(image)) is None  # type: ignore[arg-type]
        np.testing.assert_array_equal(image.levels[0].compute(), volume())


def test_an_entry_whose_bytes_changed_is_corrupt_data_naming_it(tmp_path: pathlib.Path) -> None:
    path = write_volume(tmp_path / "v.ozx")
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("0/c/2/1/0")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data = bytearray(path.read_bytes())
    data[start] ^= 0xFF  # the entry's first byte, its CRC left as it was
    path.write_bytes(bytes(data))
    with pytest.raises(ngffkit.CorruptData, match="CRC") as caught:
        ngffkit.open(path).levels[0].compute()
    assert "0/c/2/1/0" in str(caught.value)


def test_a_local_header_naming_another_entry_is_corrupt_data(tmp_path: pathlib.Path) -> None:
    path = write_volume(tmp_path / "v.ozx")
    with zipfile.ZipFile(path) as archive:
        at = archive.getinfo("0/c/2/1/0").header_offset + 30
    data = bytearray(path.read_bytes())
    assert data[at : at + 9] == b"0/c/2/1/0"
    data[at : at + 9] = b"0/c/2/1/1"  # what a reader that trusts local headers would take for another chunk
    path.write_bytes(bytes(data))
    with pytest.raises(ngffkit.CorruptData, match="names another"):
        ngffkit.open(path).levels[0].compute()


def test_a_deflated_entry_is_read_bounded_by_zipfile(tmp_path: pathlib.Path) -> None:
    """An entry that is not stored is read as before (zipfile, inflating at most what the chunk can be)."""
    path = write_volume(tmp_path / "v.ozx")
    with zipfile.ZipFile(path) as archive:
        original = archive.read("0/c/0/0/0")
    rebuilt = path.with_name("d.ozx")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(rebuilt, "w") as out:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "0/c/0/0/0":
                info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, content)
    image = ngffkit.open(rebuilt)
    with zipfile.ZipFile(rebuilt) as archive:
        assert archive.getinfo("0/c/0/0/0").compress_type == zipfile.ZIP_DEFLATED
        assert archive.read("0/c/0/0/0") == original
    np.testing.assert_array_equal(image.levels[0].compute(), volume())


HUGE_CHUNKS = """
import json, resource, sys, warnings, zipfile
import numpy as np
import ngffkit
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))  # the bug allocated (and filled) 9.3 GiB
path = sys.argv[1]
root = {"zarr_format": 3, "node_type": "group", "attributes": {"ome": {"version": "0.5", "multiscales": [{
    "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
    "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1.0, 1.0]}]}]}]}}}
array = {"zarr_format": 3, "node_type": "array", "shape": [200000, 200000], "data_type": "uint8",
         "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [100000, 100000]}},
         "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
         "fill_value": 3, "codecs": [{"name": "bytes"}], "attributes": {}, "dimension_names": ["y", "x"]}
with zipfile.ZipFile(path, "w") as out:
    out.writestr("zarr.json", json.dumps(root))
    out.writestr("0/zarr.json", json.dumps(array))
warnings.simplefilter("ignore")
image = ngffkit.open(path)
print(image.read(0, region=(slice(0, 2), slice(0, 2))).tolist(), image.levels[0][5:6, 7:9].compute().tolist())
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")))
"""


def test_chunks_too_large_to_read_whole_are_read_by_zarr(tmp_path: pathlib.Path) -> None:
    """Bulk reads take whole chunks, every chunk of a slab at once: an archive whose metadata declares 10 GB
    chunks (none stored: the fill value) made reading a 2 x 2 region allocate and fill 9.3 GiB. zarr reads such
    chunks (it fills only the region); the bulk path takes a slab of at most SLAB_BYTES."""
    from ngffkit.reader import entry_reads

    command = [sys.executable, "-c", HUGE_CHUNKS, str(tmp_path / "huge.ozx")]
    run = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    regions, peak_kib = run.stdout.splitlines()
    assert regions == "[[3, 3], [3, 3]] [[3, 3]]"
    assert int(peak_kib) < 1024 * 1024
    slabs = entry_reads._slabs((0, 0), (1000, 1000), 64)
    assert max(np.prod([hi - lo for lo, hi in slab]) for slab in slabs) <= 64
    assert sum(np.prod([hi - lo for lo, hi in slab]) for slab in slabs) == 1000 * 1000
