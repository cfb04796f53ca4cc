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

import numpy as np

from ngffkit.store.zip_directory import CLIPPED, raw_name
from ngffkit.store.zip_entries import LOCAL_HEADER, SIGNATURE, names_entry

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


def overlapping(infos: list[zipfile.ZipInfo]) -> tuple[list[tuple[str, str]], int]:
    """The first :data:`MAX_NAMED` pairs of entries (names) whose bytes overlap -- an entry that begins before an
    entry before it ends -- and how many entries begin so. Computed on arrays: 200,000 entries in tens of ms."""
    placed = [info for info in infos if info.header_offset >= 0]
    if len(placed) < 2:
        return [], 0
    # a ZIP64 value past int64 (2**64 - 1 fits no numpy column) clipped: past the file either way
    starts = np.fromiter((min(info.header_offset, CLIPPED) for info in placed), dtype=np.int64, count=len(placed))
    ends = np.fromiter((min(least_end(info), CLIPPED) for info in placed), dtype=np.int64, count=len(placed))
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)  # how far the entries up to each one reach
    clash = np.nonzero(starts[1:] < reach[:-1])[0] + 1
    pairs = []
    for k in clash[:MAX_NAMED].tolist():  # named: the first few (the count is what matters past them)
        before = int(np.argmax(ends[:k] > starts[k]))  # an earlier entry reaching past this one's start
        pairs.append((placed[order[before]].orig_filename, placed[order[k]].orig_filename))
    return pairs, len(clash)


def out_of_range(infos: list[zipfile.ZipInfo], size: int) -> list[zipfile.ZipInfo]:
    """Entries whose local header would begin before the file does or whose bytes would end past its end."""
    return [info for info in infos if info.header_offset < 0 or least_end(info) > size]


#: Any of what makes a name unclean (see :func:`unclean_name`): one search per name.
_UNCLEAN = re.compile(r"[\x00-\x1f\\]|^/|^[A-Za-z]:|(?:^|/)\.{1,2}(?:/|$)|//")
#: The same over names joined by newlines (one per line).
_UNCLEAN_LINES = re.compile(r"[\x00-\x09\x0b-\x1f\\]|^/|^[A-Za-z]:|(?:^|/)\.{1,2}(?:/|$)|//", re.MULTILINE)


def unclean_name(name: str) -> str | None:
    """Why ``name`` is not a clean relative path (None: it is): what a zarr key or a file extracted from the
    archive would make of it differs between readers -- absolute, a drive, backslashes, ``.``/``..`` or empty
    parts, control characters."""
    if _UNCLEAN.search(name) is None:
        return None
    if any(ord(ch) < 32 for ch in name):
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
    return "holds an empty part"


def unclean_names(names: list[str]) -> list[str]:
    """The names among ``names`` that are not clean relative paths, in order: one search of all the names joined
    by newlines (a search per name costs ~2 us, 0.5 s for 200,000), each match's name found by its line."""
    joined = "\n".join(names)
    if joined.count("\n") != max(0, len(names) - 1):  # a name holds a newline: searched one by one
        return [name for name in names if unclean_name(name)]
    starts = np.cumsum([0] + [len(name) + 1 for name in names[:-1]])
    # one match a name: the search goes on at the next name (every match of names full of control characters --
    # 500 names of 60 KB -- took 8 s)
    lines, at, search = [], 0, _UNCLEAN_LINES.search
    while (found := search(joined, at)) is not None:
        line = int(np.searchsorted(starts, found.start(), side="right")) - 1
        lines.append(line)
        if line + 1 >= len(names):
            break
        at = int(starts[line + 1])
    return [names[i] for i in lines]


def header_names(
    fd: int, infos: list[zipfile.ZipInfo], size: int
) -> Iterator[tuple[zipfile.ZipInfo, bytes | None, int]]:
    """Each entry (within the file) with the name its local header holds (None: no local header there) and that
    header's flags (whether the name is UTF-8 or cp437), read with ``os.pread`` from ``fd`` in spans of
    neighbouring headers."""
    ordered = sorted(
        (info for info in infos if info.header_offset >= 0 and info.header_offset + LOCAL_HEADER.size <= size),
        key=lambda info: info.header_offset,
    )
    fixed = LOCAL_HEADER.size
    start = 0
    while start < len(ordered):
        first = ordered[start].header_offset
        stop, end = start, first
        while stop < len(ordered):
            at = ordered[stop].header_offset
            header_end = at + fixed + len(ordered[stop].orig_filename) * 4  # at most 4 bytes a character
            if stop > start and (at > end + HEADER_GAP or header_end - first > HEADER_SPAN):
                break
            end = max(end, header_end)
            stop += 1
        data = os.pread(fd, min(end, size) - first, first)
        for info in ordered[start:stop]:
            at = info.header_offset - first
            if data[at : at + 4] != SIGNATURE or at + fixed > len(data):
                yield info, None, 0
                continue
            length = int.from_bytes(data[at + 26 : at + 28], "little")
            name = data[at + fixed : at + fixed + length]
            if len(name) < length:  # a local name longer than the central one: read it alone
                name = os.pread(fd, length, info.header_offset + fixed)
            yield info, name, int.from_bytes(data[at + 6 : at + 8], "little")
        start = stop


def layout_problems(archive: zipfile.ZipFile, fd: int) -> list[tuple[str, str]]:
    """What is wrong with where ``archive``'s entries lie and what they are called: (rule, message) pairs, rules
    ``ozx-overlapping-entries``, ``ozx-entry-out-of-range``, ``ozx-unclean-name``, ``ozx-local-name-differs``.
    ``fd`` is the archive file's descriptor."""
    infos = archive.infolist()
    size = os.fstat(fd).st_size
    problems: list[tuple[str, str]] = []

    pairs, clashes = overlapping(infos)
    problems.extend(
        (
            "ozx-overlapping-entries",
            f"has entries {a!r} and {b!r} that share bytes (overlapping entries: a zip-bomb trick)",
        )
        for a, b in pairs
    )
    if clashes > len(pairs):
        problems.append(("ozx-overlapping-entries", f"has {clashes - len(pairs)} more entries overlapping another"))

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

    unclean = [(name, unclean_name(name) or "") for name in unclean_names([info.orig_filename for info in infos])]
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
    for info, name, flags in header_names(fd, infos, size):
        if name is not None and name == raw_name(info) and (name.isascii() or names_entry(name, flags, info)):
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
