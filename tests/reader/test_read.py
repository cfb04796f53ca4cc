"""Reading pixels: lazy levels in blocks of many chunks, ``Image.read`` straight into numpy, and failures that say
what failed (issue 33; issue 31 section 1 for the failures)."""

from __future__ import annotations

import json
import math
import pathlib
from collections.abc import Iterator
from typing import Any

import numcodecs
import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from numcodecs.abc import Codec

import ngffkit
from ngffkit.napari._background import direct_source
from ngffkit.reader.arrays import BLOCK_BYTES, MAX_BLOCKS_PER_AXIS, GuardedArray, block_shape
from ngffkit.store.local import ConfinedLocalStore
from ngffkit.writer.sources import sources_of

from . import builders

VOLUME = builders.ramp((24, 80, 96))


def volume(path: pathlib.Path, **options: Any) -> pathlib.Path:
    """A zyx image of :data:`VOLUME` in 8 x 16 x 16 chunks (zarr v3, no compression unless asked)."""
    arr = zarr.create_array(str(path / "0"), shape=VOLUME.shape, dtype=VOLUME.dtype, chunks=(8, 16, 16),
                            dimension_names=["z", "y", "x"], **{"compressors": None, **options})  # fmt: skip
    arr[...] = VOLUME
    axes = [{"name": n, "type": "space"} for n in "zyx"]
    ms = {"axes": axes, "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1] * 3}]}]}
    builders.attrs(path, {"ome": {"version": "0.5", "multiscales": [ms]}}, zarr_format=3)
    return path


@pytest.fixture
def chunk_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The chunk keys read from local stores while the test runs."""
    read: list[str] = []
    original = ConfinedLocalStore.get

    async def counting_get(self, key, prototype=None, byte_range=None):  # type: ignore[no-untyped-def]
        if "/c/" in key:
            read.append(key)
        return await original(self, key, prototype, byte_range)

    monkeypatch.setattr(ConfinedLocalStore, "get", counting_get)
    yield read


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        (None, VOLUME),
        (5, VOLUME[5]),
        ((5, slice(10, 50)), VOLUME[5, 10:50]),
        ((Ellipsis, slice(3, 90, 4)), VOLUME[..., 3:90:4]),
        ({"z": -1, "x": slice(20, None)}, VOLUME[-1, :, 20:]),
        ({"y": slice(70, 200)}, VOLUME[:, 70:]),
        ((slice(2, 2),), VOLUME[2:2]),
        ((np.int64(3), 4, 5), VOLUME[3, 4, 5]),
    ],
)
def test_read_gives_the_region_as_numpy_would_and_as_the_lazy_level_does(
    tmp_path: pathlib.Path, region: Any, expected: np.ndarray
) -> None:
    image = ngffkit.open(volume(tmp_path / "v.zarr"))
    pixels = image.read(0, region)
    assert isinstance(pixels, np.ndarray) and pixels.dtype == VOLUME.dtype
    np.testing.assert_array_equal(pixels, expected)
    index = region if not isinstance(region, dict) else tuple(region.get(n, slice(None)) for n in "zyx")
    np.testing.assert_array_equal(image.levels[0][index if index is not None else ...].compute(), expected)


@pytest.mark.parametrize(
    ("level", "region", "message"),
    [
        (0, {"t": 0}, r"no axis 't' in this image \(its axes: z, y, x\)"),
        (0, (1, 2, 3, 4), "the region has 4 entries but the level has 3 axes"),
        (0, (24,), "axis 'z': index 24 is outside the level"),
        (0, (slice(None, None, -1),), "step >= 1"),
        (0, (slice(0, 4, 0),), "step >= 1"),
        (0, (1.5,), "axis 'z': a region holds integers and slices, not float"),
        (0, (Ellipsis, Ellipsis), "'...' only once"),
        (1, None, "no level 1: this image has levels 0-0"),
        ("0", None, "no level '0'"),
    ],
)
def test_a_region_that_does_not_fit_is_refused_before_anything_is_read(
    tmp_path: pathlib.Path, chunk_reads: list[str], level: Any, region: Any, message: str
) -> None:
    image = ngffkit.open(volume(tmp_path / "v.zarr"))
    with pytest.raises(ngffkit.InvalidArgument, match=message):
        image.read(level, region)
    assert chunk_reads == []


def test_read_fetches_only_the_chunks_the_region_touches(tmp_path: pathlib.Path, chunk_reads: list[str]) -> None:
    image = ngffkit.open(volume(tmp_path / "v.zarr"))
    image.read(0, {"z": 9, "y": slice(20, 40), "x": slice(0, 17)})
    assert sorted(chunk_reads) == sorted(f"0/c/1/{y}/{x}" for y in (1, 2) for x in (0, 1))


def test_a_level_is_blocks_of_many_whole_chunks_and_slicing_reads_only_the_chunks_it_needs(
    tmp_path: pathlib.Path, chunk_reads: list[str]
) -> None:
    image = ngffkit.open(volume(tmp_path / "v.zarr"))
    level = image.levels[0]
    assert level.numblocks == (1, 1, 1)  # 360 KiB: one block of all 90 chunks, read by one zarr call
    level[:, 30:50, 60:70].compute()  # a window through every plane
    assert sorted(chunk_reads) == sorted(f"0/c/{z}/{y}/{x}" for z in range(3) for y in (1, 2, 3) for x in (3, 4))
    chunk_reads.clear()
    level[17].compute()
    assert sorted(chunk_reads) == sorted(f"0/c/2/{y}/{x}" for y in range(5) for x in range(6))


def test_blocks_follow_the_stored_chunks_up_to_the_block_size() -> None:
    assert block_shape((256, 1024, 1024), (64, 64, 64), 2) == (256, 256, 256)  # 32 MiB of 64 chunks
    assert block_shape((256, 1024, 1024), (256, 256, 256), 2) == (256, 256, 256)  # one shard
    assert block_shape((1, 32, 2048, 2048), (1, 32, 256, 256), 2) == (1, 32, 1024, 512)
    assert block_shape((4, 4), (100, 100), 8) == (4, 4)  # a chunk larger than the array
    assert block_shape((10, 10), (512, 512), 2**20) == (10, 10)  # a chunk larger than the block size stays whole
    assert block_shape((2, 2**40), (1, 1), 1) == (2, 2**24)  # 10^12 pixels: 65,536 blocks, not 10^12


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10**7), st.integers(1, 5000)), min_size=1, max_size=5),
    st.sampled_from([1, 2, 4, 8]),
)
def test_block_shapes_hold_whole_chunks_within_the_limits(axes: list[tuple[int, int]], itemsize: int) -> None:
    shape = tuple(s for s, _ in axes)
    chunks = tuple(c for _, c in axes)
    block = block_shape(shape, chunks, itemsize)
    for size, chunk, edge in zip(shape, chunks, block, strict=True):
        assert edge >= 1
        assert edge % chunk == 0 or edge >= size  # edges on chunk edges (or the whole axis)
        assert math.ceil(size / edge) <= MAX_BLOCKS_PER_AXIS
    widened = any(math.ceil(s / min(c, max(s, 1))) > MAX_BLOCKS_PER_AXIS for s, c in zip(shape, chunks, strict=True))
    one_chunk = math.prod(min(c, max(s, 1)) for s, c in zip(shape, chunks, strict=True)) * itemsize
    clipped = math.prod(min(b, max(s, 1)) for s, b in zip(shape, block, strict=True)) * itemsize
    assert widened or clipped <= max(BLOCK_BYTES, one_chunk)


def test_the_level_graph_names_its_source_for_the_write_guard_and_napari(tmp_path: pathlib.Path) -> None:
    path = volume(tmp_path / "v.zarr")
    level = ngffkit.open(path).levels[0]
    derived = sources_of(level[3:9].astype("float32") + 1)  # what the writer sees of a derived level
    assert derived.proven, derived.why_unproven()
    found = derived.places
    assert [str(place) for place in found] == [str(sources_of(ngffkit.open(path).levels[0]).places[0])]
    assert str(path.resolve()) in str(found[0])
    source = direct_source(level)
    assert isinstance(source, GuardedArray) and source.shape == level.shape
    np.testing.assert_array_equal(source[(5, slice(0, 8))], VOLUME[5, :8])


# --- failures ------------------------------------------------------------------------------------------


def damaged(path: pathlib.Path) -> pathlib.Path:
    """:func:`volume` with zstd, one chunk's bytes replaced by noise (zstd raises RuntimeError for them)."""
    from zarr.codecs import ZstdCodec

    volume(path, compressors=ZstdCodec())  # type: ignore[arg-type]
    (path / "0" / "c" / "1" / "0" / "0").write_bytes(bytes(range(256)) * 4)
    return path


@pytest.mark.parametrize("how", ["compute", "asarray", "read"])
def test_a_damaged_chunk_is_corrupt_data_naming_the_array_with_the_codec_error_as_its_cause(
    tmp_path: pathlib.Path, how: str
) -> None:
    image = ngffkit.open(damaged(tmp_path / "v.zarr"))
    reads = {"compute": image.levels[0].compute, "asarray": lambda: np.asarray(image.levels[0][8:16]),
             "read": lambda: image.read(0, {"z": slice(8, 16)})}  # fmt: skip
    with pytest.raises(ngffkit.CorruptData, match=r"v\.zarr/0: cannot decode chunk data: RuntimeError") as caught:
        reads[how]()
    assert isinstance(caught.value.__cause__, RuntimeError)  # the codec's own words, for whoever digs deeper
    np.testing.assert_array_equal(image.read(0, {"z": slice(0, 8)}), VOLUME[:8])  # the other chunks read fine


class Broken(Codec):  # type: ignore[misc]
    """A compressor whose decoding fails the way a programming error or an exhausted machine does."""

    codec_id = "ngffkit-test-broken"

    def __init__(self, raises: str = "MemoryError") -> None:
        self.raises = raises

    def encode(self, buf: Any) -> Any:
        return buf

    def decode(self, buf: Any, out: Any = None) -> Any:
        raise {"MemoryError": MemoryError, "AttributeError": AttributeError, "TypeError": TypeError}[self.raises](
            "raised by the test codec"
        )


numcodecs.register_codec(Broken)


@pytest.mark.parametrize("raises", ["MemoryError", "AttributeError", "TypeError"])
@pytest.mark.parametrize("how", ["compute", "read"])
def test_an_error_that_is_not_about_the_data_propagates_as_it_was_raised(
    tmp_path: pathlib.Path, raises: str, how: str
) -> None:
    path = tmp_path / "v.zarr"
    builders.array(path / "0", np.zeros((4, 4), dtype="uint8"), chunks=(4, 4))
    doc = json.loads((path / "0" / ".zarray").read_text())
    doc["compressor"] = {"id": Broken.codec_id, "raises": raises}
    (path / "0" / ".zarray").write_text(json.dumps(doc))
    (path / "0" / "0.0").write_bytes(bytes(16))
    builders.attrs(path, {"multiscales": [{"version": "0.4", "axes": [{"name": "y", "type": "space"},
                   {"name": "x", "type": "space"}], "datasets": [{"path": "0", "coordinateTransformations": [
                   {"type": "scale", "scale": [1, 1]}]}]}]})  # fmt: skip
    image = ngffkit.open(path)
    with pytest.raises(BaseException, match="raised by the test codec") as caught:
        image.levels[0].compute() if how == "compute" else image.read(0)
    assert type(caught.value).__name__ == raises  # not "cannot decode chunk data": the data is not at fault


@pytest.mark.parametrize(
    ("index", "raised"),
    [
        ((slice(0, 8, 0), slice(None)), ValueError),  # what numpy and Python raise for a step of 0
        ((99, 0), IndexError),
        ((0, 0, 0, 0), IndexError),
        (("a",), IndexError),
        ((slice(None, None, -1),), IndexError),
    ],
)
def test_a_callers_bad_index_is_theirs_not_corrupt_data(
    tmp_path: pathlib.Path, index: tuple[Any, ...], raised: type[Exception]
) -> None:
    """The array a writer or napari reads directly (its level seen through slicing): an index it cannot take is
    the caller's mistake, raised as such -- never "cannot decode chunk data"."""
    level = ngffkit.open(volume(tmp_path / "v.zarr")).levels[0]
    source = direct_source(level)
    with pytest.raises(raised) as caught:
        source[index]
    assert not isinstance(caught.value, ngffkit.NGFFError)
    with pytest.raises(IndexError):
        level[99].compute()  # dask checks the bounds of the level itself
