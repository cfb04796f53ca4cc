"""Many entries of a zip archive read in bulk, each checked as ``zipfile`` checks it.

``zipfile`` reads one entry with an open (a seek and a read of its local header), a read of its data and a close:
~100 µs of Python an entry. A region of one-byte chunks in a ``.ozx`` is thousands of entries, side by side in
the file: here they are read with one ``os.pread`` per span of neighbours, and each is checked from the bytes of
that span the way ``zipfile`` checks what it reads -- the local header's signature, name and method, that the
entry ends before the next one begins (overlapping entries), then the CRC-32 of the contents -- and its place (within
the file) and declared size against the store's budget before any byte is read.

Only *stored* entries (no zip compression, not encrypted: what ngffkit's writer and RFC-9 make) are read so;
any other entry is read by the store's own ``get_sync`` (through ``zipfile``, inflating at most what the entry
may hold). An entry whose local header turns out longer than its central directory record says is read alone the
same way.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ngffkit.errors import CorruptData
from ngffkit.store.limits import ReadBudget

#: A local file header: signature, version, flags, method, time, date, CRC, sizes, name and extra field lengths.
LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
SIGNATURE = b"PK\x03\x04"
#: One read of the file covers at most this much, and two entries share a read when at most SPAN_GAP bytes lie
#: between them.
SPAN_BYTES = 8 * 2**20
SPAN_GAP = 64 * 1024

Entry = tuple[int, zipfile.ZipInfo]


def read_entries(
    archive: zipfile.ZipFile,
    fd: int,
    keys: list[str],
    budget: ReadBudget,
    read_one: Callable[[str], Any],
    *,
    where: str,
    layout: Layout,
) -> tuple[list[bytes | None], int]:
    """The contents of ``keys`` (None: no such entry) and how many were read here in bulk; ``read_one(key)`` (the
    store's ``get_sync``, a zarr buffer or None) reads any other; ``fd`` is the archive file's descriptor (read
    with ``os.pread``, which leaves the file's position to ``zipfile``). ``where`` names the archive in errors;
    ``layout`` is where its entries begin (:class:`Layout`)."""
    out: list[bytes | None] = [None] * len(keys)
    stored, others = classify(archive, keys, budget, where, layout.size)
    # Where each stored entry must end: where the next entry begins (zipfile's check against overlapping entries).
    # The last entry of the archive has only the central directory after it: zipfile reads it, checking that.
    starts = np.fromiter((info.header_offset for _, info in stored), dtype=np.int64, count=len(stored))
    count = len(layout.offsets)
    following = np.searchsorted(layout.offsets, starts, side="right")
    nexts = layout.offsets[np.minimum(following, max(0, count - 1))].tolist() if count else []
    ends: dict[int, int] = {}
    bulk: list[Entry] = []
    for (i, info), at, next_offset in zip(stored, following.tolist(), nexts, strict=True):
        if at < count:
            ends[i] = next_offset
            bulk.append((i, info))
        else:
            others.append(i)
    for i in others:
        out[i] = _alone(read_one, keys[i])
    read = 0
    for span in spans(sorted(bulk, key=lambda entry: entry[1].header_offset)):
        start, last = span[0][1].header_offset, span[-1][1]
        end = last.header_offset + LOCAL_HEADER.size + len(raw_name(last)) + len(last.extra) + last.compress_size
        data = os.pread(fd, end - start, start)
        for i, info in span:
            content = contents(data, info.header_offset - start, info, f"{where}/{keys[i]}", ends[i] - start)
            if content is None:  # a local header longer than the central record said: read by zipfile
                out[i] = _alone(read_one, keys[i])
            else:
                out[i] = content
                read += 1
    return out, read


class Layout:
    """Where an archive's entries begin, sorted and distinct, and its file's size: what bulk reads check an entry's
    place against -- within the file, and ending before the next entry begins."""

    def __init__(self, archive: zipfile.ZipFile, size: int) -> None:
        offsets = np.sort(np.fromiter((info.header_offset for info in archive.infolist()), dtype=np.int64))
        # distinct (np.unique takes ~0.4 s for 200,000 offsets here; a sort and a comparison ~5 ms)
        self.offsets = offsets[np.concatenate(([True], offsets[1:] != offsets[:-1]))] if offsets.size else offsets
        self.size = size


def check_place(info: zipfile.ZipInfo, size: int, where: str) -> None:
    """Refuse an entry whose local header the central directory puts outside the file (a negative offset -- from
    a central directory that says it begins later than it does -- or one past the end), naming the entry."""
    if info.header_offset < 0 or info.header_offset + LOCAL_HEADER.size > size:
        raise CorruptData(f"cannot read this entry of the archive: the central directory puts its local header at "
                          f"offset {info.header_offset}, outside the file ({size} bytes)", where=where)  # fmt: skip


def classify(
    archive: zipfile.ZipFile, keys: list[str], budget: ReadBudget, where: str, size: int
) -> tuple[list[Entry], list[int]]:
    """The stored entries among ``keys`` (their index and record), each within its budget and within the file
    (``size`` bytes) -- checked before any byte is read -- and the indices of the other entries that exist
    (compressed or encrypted ones)."""
    stored: list[Entry] = []
    others: list[int] = []
    bounds: dict[str, Any] = {}  # per folder of entries: a chunk's bound is its array's
    getinfo = archive.getinfo
    for i, key in enumerate(keys):
        try:
            info = getinfo(key)
        except KeyError:
            continue
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size or info.flag_bits & 1:
            if not info.is_dir():
                others.append(i)
            continue
        check_place(info, size, f"{where}/{key}")
        folder = key.rpartition("/")[0]
        bound = bounds.get(folder) or bounds.setdefault(folder, budget.bound(key))
        if info.file_size > bound.limit:
            raise bound.error(info.file_size, f"{where}/{key}")
        stored.append((i, info))
    return stored, others


def contents(data: bytes, at: int, info: zipfile.ZipInfo, where: str, end: int | None = None) -> bytes | None:
    """The contents of the stored entry ``info`` whose local header begins at ``data[at]``, checked as zipfile
    checks them (with ``end``, where in ``data`` the next entry begins: an entry reaching past it overlaps it);
    None when ``data`` ends before the entry does (its local header is longer than ``info`` says)."""
    if at + LOCAL_HEADER.size > len(data):
        return None
    signature, _, _, method, _, _, _, _, _, name_length, extra_length = LOCAL_HEADER.unpack_from(data, at)
    begin = at + LOCAL_HEADER.size
    if signature != SIGNATURE or method != zipfile.ZIP_STORED:
        raise CorruptData(f"cannot read this entry of the archive: its local header is not a stored entry's "
                          f"(method {method})", where=where)  # fmt: skip
    name = data[begin : begin + name_length]
    if name != raw_name(info):
        raise CorruptData(f"cannot read this entry of the archive: its local header names another ({name!r})",
                          where=where)  # fmt: skip
    begin += name_length + extra_length
    if end is not None and begin + info.compress_size > end:
        raise CorruptData(f"cannot read this entry of the archive: Overlapped entries: {info.orig_filename!r} "
                          "(possible zip bomb)", where=where)  # fmt: skip
    content = data[begin : begin + info.file_size]
    if len(content) != info.file_size:
        return None
    if zlib.crc32(content) != info.CRC:
        raise CorruptData(f"cannot read this entry of the archive: Bad CRC-32 for file {info.filename!r}",
                          where=where)  # fmt: skip
    return content


def _alone(read_one: Callable[[str], Any], key: str) -> bytes | None:
    buffer = read_one(key)
    return None if buffer is None else bytes(buffer.to_bytes())


def raw_name(info: zipfile.ZipInfo) -> bytes:
    """An entry's name as its headers hold it (what zipfile compares the local header's name with)."""
    name = info.orig_filename
    if name.isascii():  # the same bytes in either encoding, and much faster to encode
        return name.encode("ascii")
    return name.encode("utf-8" if info.flag_bits & 0x800 else "cp437")


def spans(entries: list[Entry]) -> Iterator[list[Entry]]:
    """Entries (sorted by where they begin in the file) in runs that one read of at most :data:`SPAN_BYTES` holds:
    neighbours at most :data:`SPAN_GAP` bytes apart (an entry larger than that is a run of its own)."""
    if not entries:
        return
    span = [entries[0]]
    for entry in entries[1:]:
        start, previous = span[0][1].header_offset, span[-1][1]
        near = entry[1].header_offset <= previous.header_offset + previous.compress_size + SPAN_GAP
        if near and entry[1].header_offset + entry[1].compress_size - start < SPAN_BYTES:
            span.append(entry)
        else:
            yield span
            span = [entry]
    yield span
