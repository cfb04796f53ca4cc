"""Many entries of a zip archive read in bulk, each checked as ``zipfile`` checks it.

``zipfile`` reads one entry with an open (a seek and a read of its local header), a read of its data and a close:
~100 µs of Python an entry. A region of one-byte chunks in a ``.ozx`` is thousands of entries, side by side in
the file: here they are read with one ``os.pread`` per span of neighbours, and each is checked from the bytes of
that span the way ``zipfile`` checks what it reads -- the local header's signature, name (as text, decoded as its
own header's UTF-8 flag says) and method, that the entry ends before the next one begins (overlapping entries:
where the next record by offset begins, records of one offset ending, after the first of them, where they begin --
zipfile's order), then the CRC-32 of the contents -- and its place (within the file) and declared size against the
store's budget before any byte is read.

The checks are made with numpy over a whole span at once (issue 31: per entry in Python they cost ~6 µs an entry,
more than napari's first picture of a 50,000-entry archive could afford): the central directory's records are
columns of a :class:`~ngffkit.store.zip_directory.Layout` (made once per archive), the local headers of a span one gather at every entry's
offset, the names one comparison of the concatenated bytes, the CRC-32 of small entries a table-driven CRC over
all of them (the CRC zlib computes; larger entries each get ``zlib.crc32``). An entry that fails any of these is
handed to :func:`contents`, the one-entry check, in file order: it raises the error naming the entry (or finds
the local header longer than the span allows: that entry is read alone), so the bulk path accepts exactly what
:func:`contents` accepts and fails exactly where it fails.

Only *stored* entries (no zip compression, not encrypted, no flag zipfile refuses: what ngffkit's writer and RFC-9
make) are read so;
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
from typing import Any, Protocol

import numpy as np

from ngffkit.errors import CorruptData
from ngffkit.store.limits import ReadBudget
from ngffkit.store.zip_directory import UTF8_FLAG, Layout

#: A local file header: signature, version, flags, method, time, date, CRC, sizes, name and extra field lengths.
LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
SIGNATURE = b"PK\x03\x04"
#: One read of the file covers at most this much, and two entries share a read when at most SPAN_GAP bytes lie
#: between them.
SPAN_BYTES = 8 * 2**20
SPAN_GAP = 64 * 1024
#: Entries of at most this many bytes get their CRC-32 computed together (one table step per byte over all of
#: them); larger ones each by zlib (whose per-call cost is then small next to the bytes).
SMALL_ENTRY = 64
#: Fixed-size contents of at most this many bytes are copied into place with one gather per span.
GATHER_BYTES = 256


def _crc_table() -> np.ndarray:
    """The CRC-32 (ISO-HDLC, the zip and zlib one) byte table: reflected polynomial 0xEDB88320."""
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0xEDB88320), table >> 1).astype(np.uint32)
    return table


CRC_TABLE = _crc_table()


def crc32_rows(rows: np.ndarray) -> np.ndarray:
    """The CRC-32 of each row of a 2-D uint8 array: the value ``zlib.crc32`` gives each row's bytes."""
    crc = np.full(rows.shape[0], 0xFFFFFFFF, dtype=np.uint32)
    for column in range(rows.shape[1]):
        crc = CRC_TABLE[(crc ^ rows[:, column]) & 0xFF] ^ (crc >> 8)
    return crc ^ np.uint32(0xFFFFFFFF)


class Sink(Protocol):
    """Where :func:`read_bulk` puts what it reads: entries read alone, and the entries of a span read in bulk."""

    def one(self, i: int, content: bytes | None) -> None: ...

    def bulk(self, indices: np.ndarray, data: bytes, begins: np.ndarray, sizes: np.ndarray) -> None: ...


def read_entries(
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
    ``layout`` is the archive's central directory as columns (:class:`~ngffkit.store.zip_directory.Layout`)."""
    listing = _Listing(len(keys))
    read = read_bulk(fd, keys, budget, read_one, listing, where=where, layout=layout)
    return listing.out, read


def read_fixed(
    fd: int,
    keys: list[str],
    size: int,
    budget: ReadBudget,
    read_one: Callable[[str], Any],
    *,
    where: str,
    layout: Layout,
) -> tuple[np.ndarray, np.ndarray, int]:
    """What :func:`read_entries` reads, for entries expected to hold ``size`` bytes each: a ``(len(keys), size)``
    uint8 array holding each entry of that size in its row (other rows undefined), each entry's length (-1: no
    such entry) and how many were read in bulk -- no Python object per entry."""
    grid = _Grid(len(keys), size)
    read = read_bulk(fd, keys, budget, read_one, grid, where=where, layout=layout)
    return grid.rows, grid.lengths, read


class _Listing:
    def __init__(self, count: int) -> None:
        self.out: list[bytes | None] = [None] * count

    def one(self, i: int, content: bytes | None) -> None:
        self.out[i] = content

    def bulk(self, indices: np.ndarray, data: bytes, begins: np.ndarray, sizes: np.ndarray) -> None:
        out = self.out
        for i, begin, end in zip(indices.tolist(), begins.tolist(), (begins + sizes).tolist(), strict=True):
            out[i] = data[begin:end]


class _Grid:
    def __init__(self, count: int, size: int) -> None:
        self.size = size
        self.rows = np.empty((count, size), dtype=np.uint8)
        self.lengths = np.full(count, -1, dtype=np.int64)

    def one(self, i: int, content: bytes | None) -> None:
        if content is not None:
            self.lengths[i] = len(content)
            if len(content) == self.size:
                self.rows[i] = np.frombuffer(content, dtype=np.uint8)

    def bulk(self, indices: np.ndarray, data: bytes, begins: np.ndarray, sizes: np.ndarray) -> None:
        self.lengths[indices] = sizes
        span = np.frombuffer(data, dtype=np.uint8)
        fit = sizes == self.size
        indices, begins = indices[fit], begins[fit]
        if self.size <= GATHER_BYTES:
            self.rows[indices] = span[begins[:, None] + np.arange(self.size)]
        else:
            for i, begin in zip(indices.tolist(), begins.tolist(), strict=True):
                self.rows[i] = span[begin : begin + self.size]


def read_bulk(
    fd: int,
    keys: list[str],
    budget: ReadBudget,
    read_one: Callable[[str], Any],
    sink: Sink,
    *,
    where: str,
    layout: Layout,
) -> int:
    """Read ``keys`` into ``sink`` (see :func:`read_entries`); how many were read in bulk."""
    stored, rows, others = classify(layout, keys, budget, where)
    # Where each stored entry must end: where the next entry begins (zipfile's check against overlapping entries).
    # The last entry of the archive has only the central directory after it: zipfile reads it, checking that.
    starts, nexts = layout.header_offset[rows], layout.end[rows]
    inside = ~layout.final[rows]
    for i in [*others, *stored[~inside].tolist()]:
        sink.one(i, _alone(read_one, keys[i]))
    order = np.argsort(starts[inside], kind="stable")
    stored, rows, starts, nexts = (column[inside][order] for column in (stored, rows, starts, nexts))
    read = 0
    for lo, hi in spans(starts, layout.compress_size[rows]):
        read += _read_span(fd, keys, read_one, sink, where, layout, stored[lo:hi], rows[lo:hi], nexts[lo:hi])
    return read


def _read_span(
    fd: int,
    keys: list[str],
    read_one: Callable[[str], Any],
    sink: Sink,
    where: str,
    layout: Layout,
    indices: np.ndarray,
    rows: np.ndarray,
    nexts: np.ndarray,
) -> int:
    """One read of the file for neighbouring entries (sorted by offset), each checked; how many were read."""
    offsets, sizes = layout.header_offset[rows], layout.file_size[rows]
    last = int(rows[-1])
    start = int(offsets[0])
    end = int(offsets[-1] + LOCAL_HEADER.size + layout.name_length[last] + len(layout.infos[last].extra) + sizes[-1])
    data = os.pread(fd, end - start, start)
    span = np.frombuffer(data, dtype=np.uint8)
    at, ends = offsets - start, nexts - start
    good, begins = _checked(span, at, ends, rows, layout)
    small = good & (sizes <= SMALL_ENTRY)
    for size in np.unique(sizes[small]).tolist():
        which = np.flatnonzero(small & (sizes == size))
        good[which] &= crc32_rows(span[begins[which, None] + np.arange(size)]) == layout.crc[rows[which]]
    view = memoryview(data)
    for j in np.flatnonzero(good & ~small).tolist():
        good[j] = zlib.crc32(view[begins[j] : begins[j] + sizes[j]]) == layout.crc[rows[j]]
    read = 0
    for j in np.flatnonzero(~good).tolist():  # in file order, each as alone: its error, or read by zipfile
        i = int(indices[j])
        info = layout.infos[rows[j]]
        content = contents(data, int(at[j]), info, f"{where}/{keys[i]}", int(ends[j]))
        if content is None:  # a local header longer than the central record said: read by zipfile
            sink.one(i, _alone(read_one, keys[i]))
        else:
            sink.one(i, content)
            read += 1
    del view
    sink.bulk(indices[good], data, begins[good], sizes[good])
    return read + int(np.count_nonzero(good))


def _checked(
    span: np.ndarray, at: np.ndarray, ends: np.ndarray, rows: np.ndarray, layout: Layout
) -> tuple[np.ndarray, np.ndarray]:
    """Which entries beginning at ``at`` in ``span`` pass :func:`contents`'s checks but the CRC (a local header
    of a stored entry, named as its record, ending by ``ends`` and within the span), and where each one's contents
    begin."""
    length, count = len(span), len(at)
    fits = at + LOCAL_HEADER.size <= length
    if length < LOCAL_HEADER.size:
        return np.zeros(count, dtype=bool), at
    headers = span[np.where(fits, at, 0)[:, None] + np.arange(LOCAL_HEADER.size)]
    signed = (headers[:, :4] == np.frombuffer(SIGNATURE, dtype=np.uint8)).all(axis=1)
    method, name_length, extra_length = (
        headers[:, k].astype(np.int64) | headers[:, k + 1].astype(np.int64) << 8 for k in (8, 26, 28)
    )
    expected = layout.name_length[rows]
    good = fits & signed & (method == zipfile.ZIP_STORED) & (name_length == expected)
    # the same bytes read as the same text: the local UTF-8 flag (bit 3 of the flags' high byte) as the record's
    good &= layout.ascii[rows] | ((headers[:, 7] >> 3) & 1 == layout.utf8[rows])
    good &= at + LOCAL_HEADER.size + expected <= length
    begins = at + LOCAL_HEADER.size + name_length + extra_length
    good &= begins + layout.compress_size[rows] <= ends  # overlapping entries
    good &= begins + layout.file_size[rows] <= length
    # the names, all at once: each entry's name bytes against its record's, byte by byte -- of entries that overlap
    # none (checked first), so the names compared lie side by side within the span: never more bytes than it holds
    # (long names of headers lying inside each other's names made int64 indices ~40x the central directory's size)
    which = np.flatnonzero(good)
    lengths = expected[which]
    total = int(lengths.sum())
    if total:
        owner = np.repeat(np.arange(which.size), lengths)
        within = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        local = span[np.repeat(at[which] + LOCAL_HEADER.size, lengths) + within]
        recorded = layout.names[np.repeat(layout.name_start[rows[which]], lengths) + within]
        good[which[np.unique(owner[local != recorded])]] = False
    return good, np.where(good, begins, 0)


def check_place(info: zipfile.ZipInfo, size: int, where: str) -> None:
    """Refuse an entry whose local header the central directory puts outside the file (a negative offset -- from
    a central directory that says it begins later than it does -- or one past the end), naming the entry."""
    if info.header_offset < 0 or info.header_offset + LOCAL_HEADER.size > size:
        raise CorruptData(f"cannot read this entry of the archive: the central directory puts its local header at "
                          f"offset {info.header_offset}, outside the file ({size} bytes)", where=where)  # fmt: skip


def classify(
    layout: Layout, keys: list[str], budget: ReadBudget, where: str
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The stored entries among ``keys`` (their indices and rows in ``layout``), each within its budget and within
    the file -- checked before any byte is read, the first key (in order) that is not raising -- and the indices
    of the other entries that exist (compressed or encrypted ones)."""
    rows = layout.rows(keys)
    found = np.flatnonzero(rows >= 0)
    rows = rows[found]
    stored = layout.stored[rows]
    others = [i for i, row in zip(found[~stored].tolist(), rows[~stored].tolist(), strict=True)
              if not layout.infos[row].is_dir()]  # fmt: skip
    indices, rows = found[stored], rows[stored]
    offsets = layout.header_offset[rows]
    misplaced = (offsets < 0) | (offsets + LOCAL_HEADER.size > layout.size)
    # per folder of entries: a chunk's bound is its array's (asked for the folder's first key)
    _, first, inverse = np.unique(layout.folder[rows], return_index=True, return_inverse=True)
    bounds = [budget.bound(keys[int(indices[j])]) for j in first.tolist()]
    limits = np.array([bound.limit for bound in bounds], dtype=np.int64)
    bad = misplaced | (layout.file_size[rows] > limits[inverse.reshape(-1)])
    if bad.any():
        j = int(np.argmax(bad))
        info, key = layout.infos[rows[j]], keys[int(indices[j])]
        check_place(info, layout.size, f"{where}/{key}")
        raise bounds[int(inverse.reshape(-1)[j])].error(info.file_size, f"{where}/{key}")
    return indices, rows, others


def contents(data: bytes, at: int, info: zipfile.ZipInfo, where: str, end: int | None = None) -> bytes | None:
    """The contents of the stored entry ``info`` whose local header begins at ``data[at]``, checked as zipfile
    checks them (with ``end``, where in ``data`` the next entry begins: an entry reaching past it overlaps it);
    None when ``data`` ends before the entry does (its local header is longer than ``info`` says)."""
    begin = data_begin(data, at, info, where, end)
    if begin is None:
        return None
    content = data[begin : begin + info.file_size]
    if len(content) != info.file_size:
        return None
    if zlib.crc32(content) != info.CRC:
        raise CorruptData(f"cannot read this entry of the archive: Bad CRC-32 for file {info.filename!r}",
                          where=where)  # fmt: skip
    return content


def data_begin(data: bytes, at: int, info: zipfile.ZipInfo, where: str, end: int | None = None) -> int | None:
    """Where in ``data`` the contents of the stored entry ``info`` begin, its local header (at ``data[at]``)
    checked as zipfile checks it: the signature, no zip compression, its own name, and (with ``end``, where the
    next entry begins) that the entry ends by then; None when ``data`` ends before the header does."""
    if at + LOCAL_HEADER.size > len(data):
        return None
    signature, _, flags, method, _, _, _, _, _, name_length, extra_length = LOCAL_HEADER.unpack_from(data, at)
    begin = at + LOCAL_HEADER.size
    if signature != SIGNATURE or method != zipfile.ZIP_STORED:
        raise CorruptData(f"cannot read this entry of the archive: its local header is not a stored entry's "
                          f"(method {method})", where=where)  # fmt: skip
    if begin + name_length > len(data):
        return None
    name = data[begin : begin + name_length]
    if not names_entry(name, flags, info):
        raise CorruptData(f"cannot read this entry of the archive: its local header names another ({name!r})",
                          where=where)  # fmt: skip
    begin += name_length + extra_length
    if end is not None and begin + info.compress_size > end:
        raise CorruptData(f"cannot read this entry of the archive: Overlapped entries: {info.orig_filename!r} "
                          "(possible zip bomb)", where=where)  # fmt: skip
    return begin


def read_part(fd: int, layout: Layout, key: str, start: int, length: int, where: str) -> bytes | None:
    """``length`` bytes from ``start`` of the stored entry ``key`` (checked by the caller to exist, be stored and
    hold them), read with ``os.pread`` after its local header is checked as :func:`data_begin` checks it; None for
    the archive's last entry when where the central directory after it begins is not known (``Layout.final``:
    read it through zipfile).

    Why not ``zipfile``: its seek within a stored entry moves the archive's shared file relative to wherever the
    last read of *any* thread left it (``SEEK_CUR``, CPython 3.12 and 3.13), so concurrent partial reads -- a
    shard's index, a shard's chunks -- returned another entry's bytes. ``os.pread`` has no shared position.
    """
    row = layout.index[key]
    if layout.final[row]:
        return None
    info = layout.infos[row]
    at, end = int(layout.header_offset[row]), int(layout.end[row])
    header = os.pread(fd, LOCAL_HEADER.size + int(layout.name_length[row]) + len(info.extra), at)
    begin = data_begin(header, 0, info, where, end - at)
    if begin is None and len(header) >= LOCAL_HEADER.size:  # a local header longer than the central record says
        *_, name_length, extra_length = LOCAL_HEADER.unpack_from(header)
        header = os.pread(fd, LOCAL_HEADER.size + name_length + extra_length, at)
        begin = data_begin(header, 0, info, where, end - at)
    if begin is None:
        raise CorruptData("cannot read this entry of the archive: the file ends inside its local header",
                          where=where)  # fmt: skip
    data = os.pread(fd, length, at + begin + start)
    if len(data) != length:
        raise CorruptData(f"cannot read this entry of the archive: the file ends {length - len(data)} bytes "
                          "before the entry does", where=where)  # fmt: skip
    return data


def _alone(read_one: Callable[[str], Any], key: str) -> bytes | None:
    buffer = read_one(key)
    return None if buffer is None else bytes(buffer.to_bytes())


def names_entry(name: bytes, flags: int, info: zipfile.ZipInfo) -> bool:
    """Whether a local header's ``name`` (with its header's ``flags``) is ``info``'s, as zipfile compares them: the
    name as text, decoded as its own header's UTF-8 flag says (a name that does not decode is another)."""
    try:
        return name.decode("utf-8" if flags & UTF8_FLAG else "cp437") == info.orig_filename
    except UnicodeDecodeError:
        return False


def spans(starts: np.ndarray, sizes: np.ndarray) -> Iterator[tuple[int, int]]:
    """Entries beginning at ``starts`` (sorted) holding ``sizes`` bytes, as ``[lo, hi)`` runs that one read of at
    most :data:`SPAN_BYTES` holds: neighbours at most :data:`SPAN_GAP` bytes apart (an entry larger than that is a
    run of its own). An entry joins the run when it begins near the previous one's end and ends less than
    SPAN_BYTES after the run's start."""
    count = len(starts)
    ends = starts + sizes
    gaps = np.flatnonzero(starts[1:] > ends[:-1] + SPAN_GAP) + 1  # where a run must break, whatever its size
    lo = 0
    while lo < count:
        stop = int(gaps[np.searchsorted(gaps, lo, side="right")]) if gaps.size and gaps[-1] > lo else count
        limit = starts[lo] + SPAN_BYTES
        hi, width = stop, 64
        while lo + 1 < stop:  # the first entry ending too far, looked for in growing windows
            window = ends[lo + 1 : min(stop, lo + 1 + width)]
            far = np.flatnonzero(window >= limit)
            if far.size:
                hi = lo + 1 + int(far[0])
                break
            if lo + 1 + width >= stop:
                break
            width *= 4
        yield lo, hi
        lo = hi
