"""Where a zip archive's entries lie and what they are called, checked without reading their contents.

A reader checks an entry when it reads it (``zipfile``, or :mod:`ngffkit.store.zip_entries` in bulk): the local
header's name against the central directory's, its span against the next entry's. The validator reads no chunks,
so an archive whose entries overlap (the overlapping-entries zip bomb: many entries sharing bytes, each "valid")
or whose names are not what they seem passed as clean. These checks find that for the whole archive:

* overlapping entries, out-of-range offsets and names that are not clean relative paths from the central
  directory alone (already read: no byte more is read);
* local headers whose name differs from the central directory's by reading the local headers -- at most one read
  per entry, and neighbouring headers share one read when at most :data:`HEADER_GAP` bytes lie between them, so an
  archive of tiny chunks is read in a few large reads and one of large chunks by one small read per entry.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator

from ngffkit.store.zip_entries import LOCAL_HEADER, SIGNATURE, raw_name

#: Two local headers share one read when at most this many bytes lie between them (the data of the entries between).
HEADER_GAP = 64 * 1024
#: One read of local headers covers at most this much.
HEADER_SPAN = 8 * 2**20
#: How many problems of one kind a check reports by name (an archive built to overlap can have millions).
MAX_NAMED = 20

_DRIVE = re.compile(r"^[A-Za-z]:")


def least_end(info: zipfile.ZipInfo) -> int:
    """Where ``info``'s entry ends at the earliest: its local header can be no shorter than the fixed 30 bytes and
    the name the central directory gives (the local name must be the same), followed by its stored bytes. An
    extra field only makes it longer, so spans computed so never overlap by mistake."""
    return info.header_offset + LOCAL_HEADER.size + len(raw_name(info)) + info.compress_size


def overlapping(infos: list[zipfile.ZipInfo]) -> list[tuple[str, str]]:
    """Pairs of entries (names) whose bytes overlap: an entry that begins before the one before it ends."""
    pairs: list[tuple[str, str]] = []
    ordered = sorted((info for info in infos if info.header_offset >= 0), key=lambda info: info.header_offset)
    furthest: zipfile.ZipInfo | None = None  # of the entries so far, the one reaching furthest
    for info in ordered:
        if furthest is not None and info.header_offset < least_end(furthest):
            pairs.append((furthest.orig_filename, info.orig_filename))
        if furthest is None or least_end(info) > least_end(furthest):
            furthest = info
    return pairs


def out_of_range(infos: list[zipfile.ZipInfo], size: int) -> list[zipfile.ZipInfo]:
    """Entries whose local header would begin before the file does or whose bytes would end past its end."""
    return [info for info in infos if info.header_offset < 0 or least_end(info) > size]


def unclean_name(name: str) -> str | None:
    """Why ``name`` is not a clean relative path (None: it is): what a zarr key or a file extracted from the
    archive would make of it differs between readers -- absolute, a drive, backslashes, ``.``/``..`` or empty
    parts, control characters."""
    if "\x00" in name or any(ord(ch) < 32 for ch in name):
        return "holds a control character"
    if name.startswith("/"):
        return "is absolute"
    if _DRIVE.match(name):
        return "names a drive"
    if "\\" in name:
        return "holds a backslash"
    parts = name.removesuffix("/").split("/")  # a folder entry ends with "/"
    if any(part in (".", "..") for part in parts):
        return "holds a '.' or '..' part"
    if any(part == "" for part in parts):
        return "holds an empty part"
    return None


def header_names(fd: int, infos: list[zipfile.ZipInfo], size: int) -> Iterator[tuple[zipfile.ZipInfo, bytes | None]]:
    """Each entry (within the file) with the name its local header holds (None: no local header there), read with
    ``os.pread`` from ``fd`` in spans of neighbouring headers."""
    ordered = sorted(
        (info for info in infos if info.header_offset >= 0 and info.header_offset + LOCAL_HEADER.size <= size),
        key=lambda info: info.header_offset,
    )
    start = 0
    while start < len(ordered):
        first = ordered[start].header_offset
        stop, end = start, first
        while stop < len(ordered):
            at = ordered[stop].header_offset
            header_end = at + LOCAL_HEADER.size + len(raw_name(ordered[stop]))
            if stop > start and (at > end + HEADER_GAP or header_end - first > HEADER_SPAN):
                break
            end = max(end, header_end)
            stop += 1
        data = os.pread(fd, min(end, size) - first, first)
        for info in ordered[start:stop]:
            at = info.header_offset - first
            fields = LOCAL_HEADER.unpack_from(data, at) if at + LOCAL_HEADER.size <= len(data) else None
            if fields is None or fields[0] != SIGNATURE:
                yield info, None
                continue
            begin = at + LOCAL_HEADER.size
            name = data[begin : begin + fields[9]]
            if len(name) < fields[9]:  # a local name longer than the central one: read it alone
                name = os.pread(fd, fields[9], info.header_offset + LOCAL_HEADER.size)
            yield info, name
        start = stop


def layout_problems(archive: zipfile.ZipFile, fd: int) -> list[tuple[str, str]]:
    """What is wrong with where ``archive``'s entries lie and what they are called: (rule, message) pairs, rules
    ``ozx-overlapping-entries``, ``ozx-entry-out-of-range``, ``ozx-unclean-name``, ``ozx-local-name-differs``.
    ``fd`` is the archive file's descriptor."""
    infos = archive.infolist()
    size = os.fstat(fd).st_size
    problems: list[tuple[str, str]] = []

    pairs = overlapping(infos)
    problems.extend(
        (
            "ozx-overlapping-entries",
            f"has entries {a!r} and {b!r} that share bytes (overlapping entries: a zip-bomb trick)",
        )
        for a, b in pairs[:MAX_NAMED]
    )
    if len(pairs) > MAX_NAMED:
        problems.append(("ozx-overlapping-entries", f"has {len(pairs) - MAX_NAMED} more pairs of overlapping entries"))

    outside = out_of_range(infos, size)
    problems.extend(
        (
            "ozx-entry-out-of-range",
            f"has entry {info.orig_filename!r} outside the file (its local header at "
            f"offset {info.header_offset}, the file {size} bytes long)",
        )
        for info in outside[:MAX_NAMED]
    )
    if len(outside) > MAX_NAMED:
        problems.append(("ozx-entry-out-of-range", f"has {len(outside) - MAX_NAMED} more entries outside the file"))

    unclean = [(info.orig_filename, why) for info in infos if (why := unclean_name(info.orig_filename))]
    problems.extend(
        ("ozx-unclean-name", f"has entry {name!r}, which {why}: not a clean relative path")
        for name, why in unclean[:MAX_NAMED]
    )
    if len(unclean) > MAX_NAMED:
        problems.append(
            (
                "ozx-unclean-name",
                f"has {len(unclean) - MAX_NAMED} more entries whose names are not clean relative paths",
            )
        )

    differ = 0
    for info, name in header_names(fd, infos, size):
        if name == raw_name(info):
            continue
        differ += 1
        if differ <= MAX_NAMED:
            said = "with no local header" if name is None else f"whose local header names {name!r}"
            problems.append(("ozx-local-name-differs", f"has entry {info.orig_filename!r} {said}"))
    if differ > MAX_NAMED:
        problems.append(
            ("ozx-local-name-differs", f"has {differ - MAX_NAMED} more entries whose local header names another")
        )
    return problems
