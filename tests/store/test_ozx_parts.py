"""Parts of a .ozx entry (a shard's index, a shard's chunks: byte-range reads) read from many threads at once.

zipfile's seek inside a stored entry moves the archive's shared file relative to wherever another thread's read
left it, so concurrent partial reads returned other entries' bytes -- silently (zarr's own store test caught it
once in CI, on Python 3.12). Parts of stored entries are now read with ``os.pread`` after the local header is
checked (the last entry's end is where the central directory begins); compressed entries are read through
zipfile without its seek.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import struct
import threading
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from zarr.abc.store import ByteRequest, OffsetByteRequest, RangeByteRequest, SuffixByteRequest

import ngffkit
from ngffkit.store import zip_directory, zip_entries
from ngffkit.store.factory import make_store
from ngffkit.store.ozx import OzxStore
from ngffkit.tools.serve import serving

from .zip_patches import central_record, patch, write_with_local_extra

KEYS = [f"c/{i}" for i in range(48)]


def content(key: str) -> bytes:
    """4 KiB unlike any other entry's: a part read from another entry cannot compare equal."""
    i = int(key.rsplit("/", 1)[1])
    return bytes((i * 7 + k) % 251 for k in range(4096))


def archive(path: pathlib.Path, compression: int = zipfile.ZIP_STORED) -> pathlib.Path:
    with zipfile.ZipFile(path, "w", compression=compression) as out:
        for key in KEYS:
            out.writestr(key, content(key))
    return path


REQUESTS = [OffsetByteRequest(4000), SuffixByteRequest(100), RangeByteRequest(1000, 1100), RangeByteRequest(0, 50)]


def expected(key: str, request: object) -> bytes:
    data = content(key)
    if isinstance(request, OffsetByteRequest):
        return data[request.offset :]
    if isinstance(request, SuffixByteRequest):
        return data[-request.suffix :]
    assert isinstance(request, RangeByteRequest)
    return data[request.start : request.end]


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
def test_parts_read_from_many_threads_are_each_their_own_entrys(tmp_path: pathlib.Path, compression: int) -> None:
    store = OzxStore(archive(tmp_path / "a.ozx", compression))
    start = threading.Barrier(8)

    def read(worker: int) -> list[tuple[str, object, bytes]]:
        start.wait()  # all at once: the race needs company
        out = []
        for round_ in range(20):
            for n, key in enumerate(KEYS):
                request = REQUESTS[(worker + round_ + n) % len(REQUESTS)]
                out.append((key, request, store.get_sync(key, byte_range=request).to_bytes()))
        return out

    try:
        with ThreadPoolExecutor(8) as pool:
            results = [item for part in pool.map(read, range(8)) for item in part]
    finally:
        store.close()
    wrong = [(key, request) for key, request, got in results if got != expected(key, request)]
    assert not wrong, f"{len(wrong)} of {len(results)} parts came from another entry, e.g. {wrong[:3]}"
    assert store.entries_read == len(results)


@pytest.mark.network
def test_parts_of_a_served_archive_read_at_once_are_each_their_own_entrys(tmp_path: pathlib.Path) -> None:
    """A .ozx over HTTP is read through fsspec's zip file system, whose byte-range read seeks the entry zipfile
    opened: the same race on the archive's one shared (remote) file, with zarr's reads in threads at once."""
    jobs = [(key, REQUESTS[(round_ + n) % len(REQUESTS)]) for round_ in range(4) for n, key in enumerate(KEYS)]
    with serving(archive(tmp_path / "a.ozx")) as url:
        store, _ = make_store(url)

        async def read_all() -> list[object]:
            return await asyncio.gather(*(store.get(key, byte_range=request) for key, request in jobs))

        results = asyncio.run(read_all())
    wrong = [(key, request) for (key, request), got in zip(jobs, results, strict=True)
             if got is None or got.to_bytes() != expected(key, request)]  # type: ignore[attr-defined]  # fmt: skip
    assert not wrong, f"{len(wrong)} of {len(jobs)} parts came from another entry, e.g. {wrong[:3]}"


def test_a_part_of_the_last_entry_is_read_too(tmp_path: pathlib.Path) -> None:
    store = OzxStore(archive(tmp_path / "a.ozx"))
    try:
        last = KEYS[-1]
        assert store.get_sync(last, byte_range=OffsetByteRequest(3000)).to_bytes() == content(last)[3000:]
        assert store.get_sync(last, byte_range=SuffixByteRequest(10)).to_bytes() == content(last)[-10:]
    finally:
        store.close()


def test_a_part_of_the_last_entry_is_read_where_it_lies(tmp_path: pathlib.Path) -> None:
    """The last entry's part is read at its place in the file (bounded by where the central directory begins), not
    through zipfile from the entry's start: a chunk of a 1 GiB last shard read a gigabyte."""
    path = archive(tmp_path / "a.ozx")
    with zipfile.ZipFile(path) as opened:
        layout = zip_directory.Layout(opened, path.stat().st_size)
    fd = os.open(path, os.O_RDONLY)
    try:
        part = zip_entries.read_part(fd, layout, KEYS[-1], 4000, 50, where=f"{path}/{KEYS[-1]}")
    finally:
        os.close(fd)
    assert part == content(KEYS[-1])[4000:4050]


def test_a_last_entry_reaching_into_the_central_directory_is_corrupt_data(tmp_path: pathlib.Path) -> None:
    path = archive(tmp_path / "a.ozx")
    record = central_record(path.read_bytes(), KEYS[-1])
    patch(path, record + 20, struct.pack("<II", 4096 + 16, 4096 + 16))
    store = OzxStore(path)
    try:
        with pytest.raises(ngffkit.CorruptData, match="Overlapped entries") as caught:
            store.get_sync(KEYS[-1], byte_range=OffsetByteRequest(4000))
        assert f"{path}/{KEYS[-1]}" in str(caught.value)
    finally:
        store.close()


def name_another(path: pathlib.Path) -> pathlib.Path:
    """Entry c/10's local header made to name c/11."""
    with zipfile.ZipFile(path) as opened:
        return patch(path, opened.getinfo("c/10").header_offset + 30, b"c/11")


def reach_into_the_next(path: pathlib.Path) -> pathlib.Path:
    """Entry c/10's sizes in the central directory grown by 16 bytes: it reaches into c/11's local header."""
    record = central_record(path.read_bytes(), "c/10")
    return patch(path, record + 20, struct.pack("<II", 4096 + 16, 4096 + 16))


@pytest.mark.parametrize(
    ("damage", "request_", "message"),
    [(name_another, SuffixByteRequest(10), "names another"),
     (reach_into_the_next, OffsetByteRequest(4000), "Overlapped entries")],
    ids=["names-another", "overlapping"],
)  # fmt: skip
def test_a_part_of_a_damaged_entry_is_corrupt_data_naming_it(
    tmp_path: pathlib.Path, damage: Callable[[pathlib.Path], pathlib.Path], request_: ByteRequest, message: str
) -> None:
    path = damage(archive(tmp_path / "a.ozx"))
    store = OzxStore(path)
    try:
        with pytest.raises(ngffkit.CorruptData, match=message) as caught:
            store.get_sync("c/10", byte_range=request_)
        assert f"{path}/c/10" in str(caught.value)
    finally:
        store.close()


def test_a_local_header_longer_than_its_record_still_gives_the_right_part(tmp_path: pathlib.Path) -> None:
    """An extra field only in the local header: the part begins where the local header says the contents do."""
    path = write_with_local_extra(tmp_path / "a.ozx", KEYS, content, {"c/10"})
    store = OzxStore(path)
    try:
        assert store.get_sync("c/10", byte_range=SuffixByteRequest(100)).to_bytes() == content("c/10")[-100:]
    finally:
        store.close()
