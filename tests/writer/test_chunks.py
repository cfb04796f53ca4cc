"""Chunks written in the writer's own threads (writer/chunks.py) are the files zarr itself would write, and a
write's tasks run one per thread without waves (execute.compute_bounded)."""

from __future__ import annotations

import gzip
import os
import pathlib
import threading
from typing import Any

import dask
import dask.array as da
import numcodecs
import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec

import ngffkit
from ngffkit import UnsafePath
from ngffkit.store.local import ConfinedLocalStore
from ngffkit.writer import execute
from ngffkit.writer.chunks import ChunkWriter

SHAPE, CHUNKS = (20, 70, 90), (8, 32, 32)  # edge chunks on every axis
V3_COMPRESSORS = {"zstd": ZstdCodec(level=3), "blosc": BloscCodec(cname="lz4", clevel=5),
                  "gzip": GzipCodec(level=5), "none": None}  # fmt: skip
V2_COMPRESSORS = {"zstd": {"id": "zstd", "level": 3}, "blosc": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": -1},
                  "gzip": {"id": "gzip", "level": 5}, "none": None}  # fmt: skip


def values(dtype: str = "uint16") -> np.ndarray:
    rng = np.random.default_rng(3)
    smooth = np.add.outer(np.arange(SHAPE[0]), np.add.outer(np.arange(SHAPE[1]), np.arange(SHAPE[2]))) * 7
    return (smooth + rng.integers(0, 50, SHAPE)).astype(dtype)


def make_array(root: pathlib.Path, zarr_format: int, compressor: str, dtype: str, **config: Any) -> zarr.Array:
    kwargs: dict[str, Any] = {"shape": SHAPE, "chunks": CHUNKS, "dtype": dtype, "fill_value": 0, "zarr_format": zarr_format,
                              "config": {"write_empty_chunks": True, **config}}  # fmt: skip
    if zarr_format == 2:
        spec = V2_COMPRESSORS[compressor]
        kwargs |= {"compressors": numcodecs.get_codec(spec) if spec else None, "filters": None,
                   "chunk_key_encoding": {"name": "v2", "separator": "/"}}  # fmt: skip
    else:
        kwargs["compressors"] = V3_COMPRESSORS[compressor]
    return zarr.create_array(ConfinedLocalStore(root), name="0", **kwargs)


def files(root: pathlib.Path) -> dict[str, bytes]:
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = pathlib.Path(folder, name)
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


def chunk_files(root: pathlib.Path) -> dict[str, bytes]:
    return {k: v for k, v in files(root).items() if not k.endswith(("zarr.json", ".zarray", ".zattrs", ".zgroup"))}


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("compressor", ["zstd", "blosc", "gzip", "none"])
@pytest.mark.parametrize("dtype", ["uint16", "uint8", "float32"])
def test_chunks_are_the_files_zarr_writes(
    tmp_path: pathlib.Path, zarr_format: int, compressor: str, dtype: str
) -> None:
    data = values(dtype)
    ours, theirs = (
        make_array(tmp_path / "ours", zarr_format, compressor, dtype),
        make_array(tmp_path / "zarr", zarr_format, compressor, dtype),
    )
    writer = ChunkWriter.for_array(ours)
    assert writer is not None
    # two regions on chunk boundaries, the second running to the array's (ragged) end
    assert writer.write((slice(0, 8), slice(0, 70), slice(0, 90)), data[:8])
    assert writer.write((slice(8, 20), slice(0, 70), slice(0, 90)), data[8:])
    theirs[...] = data
    mine, zarrs = chunk_files(tmp_path / "ours"), chunk_files(tmp_path / "zarr")
    assert sorted(mine) == sorted(zarrs) and len(mine) == 3 * 3 * 3
    if compressor == "gzip":  # gzip stamps the time into its header: compare what it holds
        mine, zarrs = ({k: gzip.decompress(v) for k, v in d.items()} for d in (mine, zarrs))
    assert mine == zarrs
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "ours" / "0", mode="r")[...], data)


def test_regions_off_the_chunk_grid_are_left_to_zarr(tmp_path: pathlib.Path) -> None:
    array = make_array(tmp_path, 3, "zstd", "uint16")
    writer = ChunkWriter.for_array(array)
    assert writer is not None
    block = np.ones((8, 32, 32), "uint16")
    assert not writer.write((slice(4, 12), slice(0, 32), slice(0, 32)), block)  # starts inside a chunk
    assert not writer.write((slice(0, 8), slice(0, 32), slice(0, 16)), block[..., :16])  # ends inside one
    assert not writer.write((slice(0, 8), slice(0, 32, 2), slice(0, 32)), block[:, :16])  # strided
    assert not writer.write((slice(0, 8), slice(0, 32)), block)  # too few axes
    assert chunk_files(tmp_path) == {}


@pytest.mark.parametrize("write_empty_chunks", [True, False])
@pytest.mark.parametrize("index_location", ["end", "start"])
def test_shards_are_the_files_zarr_writes(
    tmp_path: pathlib.Path, write_empty_chunks: bool, index_location: str
) -> None:
    data = values()
    data[:8, :32, :32] = 0  # inner chunks of nothing (absent from their shard's index when empty chunks are skipped)
    arrays = [
        zarr.create_array(
            ConfinedLocalStore(tmp_path / name), name="0", shape=SHAPE, chunks=CHUNKS, dtype="uint16", fill_value=0,
            compressors=None,  # the shard's chunks are compressed inside it
            serializer=zarr.codecs.ShardingCodec(chunk_shape=(4, 16, 16), index_location=index_location,
                                                 codecs=[zarr.codecs.BytesCodec(), ZstdCodec(level=3)]),
            config={"write_empty_chunks": write_empty_chunks},
        )
        for name in ("ours", "zarr")
    ]  # fmt: skip
    ours, theirs = arrays
    writer = ChunkWriter.for_array(ours)
    assert writer is not None and writer.shard is not None
    assert not writer.write((slice(0, 4), slice(0, 70), slice(0, 90)), data[:4])  # half a shard: zarr's
    assert writer.write((slice(0, 8), slice(0, 70), slice(0, 90)), data[:8])
    assert writer.write((slice(8, 20), slice(0, 70), slice(0, 90)), data[8:])  # ragged last shards
    theirs[...] = data
    mine, zarrs = chunk_files(tmp_path / "ours"), chunk_files(tmp_path / "zarr")
    assert sorted(mine) == sorted(zarrs) and len(mine) == 3 * 3 * 3 - (not write_empty_chunks)
    assert mine == zarrs
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "ours" / "0", mode="r")[...], data)


def test_other_stores_and_codecs_are_left_to_zarr(tmp_path: pathlib.Path) -> None:
    plain_store = zarr.create_array(zarr.storage.LocalStore(tmp_path / "p"), shape=SHAPE, chunks=CHUNKS, dtype="uint16")
    in_memory = zarr.create_array(zarr.storage.MemoryStore(), shape=SHAPE, chunks=CHUNKS, dtype="uint16")
    transposed = zarr.create_array(ConfinedLocalStore(tmp_path / "t"), shape=SHAPE, chunks=CHUNKS, dtype="uint16",
                                   filters=[zarr.codecs.TransposeCodec(order=(2, 1, 0))])  # fmt: skip
    make_array(tmp_path / "r", 3, "zstd", "uint16")
    read_only = zarr.open_array(ConfinedLocalStore(tmp_path / "r", read_only=True), path="0", mode="r")
    assert [ChunkWriter.for_array(a) for a in (plain_store, in_memory, transposed, read_only)] == [None] * 4


def test_empty_chunks_of_a_label_image_are_no_files(tmp_path: pathlib.Path) -> None:
    array = make_array(tmp_path, 3, "zstd", "uint32", write_empty_chunks=False)
    stale = tmp_path / "0" / "c" / "0" / "0" / "1"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left over from an earlier write")
    labels = np.zeros(SHAPE, "uint32")
    labels[10:12, 40:50, 40:50] = 5
    writer = ChunkWriter.for_array(array)
    assert writer is not None and writer.write((slice(0, 20), slice(0, 70), slice(0, 90)), labels)
    written = chunk_files(tmp_path)
    assert sorted(written) == ["0/c/1/1/1"]  # the one chunk holding a label; the stale empty one is gone
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "0", mode="r")[...], labels)


def test_a_chunk_folder_linked_out_of_the_dataset_is_refused(tmp_path: pathlib.Path) -> None:
    array = make_array(tmp_path / "img", 3, "zstd", "uint16")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (tmp_path / "img" / "0" / "c").mkdir(parents=True)
    (tmp_path / "img" / "0" / "c" / "0").symlink_to(outside)
    writer = ChunkWriter.for_array(array)
    assert writer is not None
    with pytest.raises(UnsafePath, match="outside the dataset"):
        writer.write((slice(0, 8), slice(0, 32), slice(0, 32)), np.ones((8, 32, 32), "uint16"))
    assert list(outside.iterdir()) == []


def test_write_image_writes_its_chunks_in_the_writers_threads(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The route a write takes: dask input, super-blocks, the deeper levels -- chunks written by ChunkWriter from
    dask's or the write's own threads, and the image identical to one written through zarr alone."""
    writers: set[str] = set()
    put_file = ConfinedLocalStore.put_file

    def counting(self: ConfinedLocalStore, key: str, data: Any) -> None:
        writers.add(threading.current_thread().name)
        put_file(self, key, data)

    monkeypatch.setattr(ConfinedLocalStore, "put_file", counting)
    data = da.from_array(np.tile(values(), (4, 2, 2)), chunks=(40, 70, 90))
    options: dict[str, Any] = {"levels": 4, "chunks": (16, 32, 32), "compressor": "zstd"}
    ngffkit.write_image(data, tmp_path / "direct.zarr", **options)
    assert writers and threading.main_thread().name not in writers
    monkeypatch.setattr(ChunkWriter, "for_array", classmethod(lambda cls, array: None))
    ngffkit.write_image(data, tmp_path / "zarr.zarr", **options)
    assert chunk_files(tmp_path / "direct.zarr") == chunk_files(tmp_path / "zarr.zarr")


def test_tasks_run_one_per_thread_and_a_failure_stops_the_rest() -> None:
    started: list[tuple[int, str]] = []
    lock = threading.Lock()

    def task(i: int, failing: int | None) -> int:
        with lock:
            started.append((i, threading.current_thread().name))
        if i == failing:
            raise ValueError(f"task {i} failed")
        return i

    with dask.config.set(scheduler="threads", num_workers=2):
        execute.compute_bounded([dask.delayed(task)(i, None) for i in range(6)], shared_inputs=False)
    assert sorted(i for i, _ in started) == list(range(6))
    assert {name for _, name in started} <= {"ngffkit-write_0", "ngffkit-write_1"}  # the write's own threads
    started.clear()
    with dask.config.set(scheduler="threads", num_workers=1), pytest.raises(ValueError, match="task 1 failed"):
        execute.compute_bounded([dask.delayed(task)(i, 1) for i in range(5)], shared_inputs=False)
    assert [i for i, _ in started] == [0, 1]  # one thread: after the failure, nothing more started


def test_tasks_sharing_input_chunks_are_found() -> None:
    source = da.zeros((100, 100), chunks=(50, 25))
    assert not execute.splits_input_chunks(source, ((100,), (50, 50)))  # whole input chunks per block
    assert execute.splits_input_chunks(source, ((100,), (40, 60)))  # a block boundary cuts an input chunk
    assert execute.splits_input_chunks(source, ((30, 70), (100,)))


def test_a_chunk_write_that_fails_leaves_no_partial_file(tmp_path: pathlib.Path) -> None:
    store = ConfinedLocalStore(tmp_path)
    with pytest.raises(TypeError):
        store.put_file("0/c/0/0/0", object())  # not bytes: fails after the temporary file was opened
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # its folder was made, no file is left
    store.put_file("0/c/0/0/0", b"chunk")
    assert (tmp_path / "0" / "c" / "0" / "0" / "0").read_bytes() == b"chunk"


def test_a_file_of_many_pieces_is_written_whole(tmp_path: pathlib.Path) -> None:
    """put_file takes a shard as its pieces (never joined into one buffer) and writes them in calls of at most
    WRITE_CALL_BYTES: every byte arrives, in order, whatever the pieces' sizes."""
    rng = np.random.default_rng(3)
    pieces = [rng.bytes(n) for n in (0, 10, 3 * 2**20 + 5, 0, 700_000, 400_000, 1)] + [b"x"] * 2000
    store = ConfinedLocalStore(tmp_path)
    store.put_file("0/c/0/0/0", pieces)
    assert (tmp_path / "0" / "c" / "0" / "0" / "0").read_bytes() == b"".join(pieces)
    store.put_file("0/c/0/0/1", np.arange(5, dtype="<u2"))  # one buffer of any type
    assert (tmp_path / "0" / "c" / "0" / "0" / "1").read_bytes() == np.arange(5, dtype="<u2").tobytes()
