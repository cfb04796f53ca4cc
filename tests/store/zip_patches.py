"""Byte-level edits of zip archives for the ``.ozx`` tests: bytes replaced in place, where an entry's central record
is, an archive whose local headers carry an extra field their central records do not, and a ZIP64 extra field
whose values fit no signed 64-bit integer."""

from __future__ import annotations

import pathlib
import struct
import zipfile
from collections.abc import Callable

#: An extra field only local headers carry (see :func:`write_with_local_extra`).
LOCAL_EXTRA = struct.pack("<HH", 0xCAFE, 4) + b"abcd"


def patch(path: pathlib.Path, at: int, new: bytes) -> pathlib.Path:
    """``path`` with the bytes at ``at`` replaced by ``new`` (the same length)."""
    data = bytearray(path.read_bytes())
    data[at : at + len(new)] = new
    path.write_bytes(bytes(data))
    return path


def write_with_local_extra(path: pathlib.Path, keys: list[str], content: Callable[[str], bytes],
                           longer: set[str]) -> pathlib.Path:  # fmt: skip
    """A stored archive of ``keys`` whose entries in ``longer`` have :data:`LOCAL_EXTRA` in their local header
    only: their central records say no extra field (its 8 bytes there read as their comment), so the contents
    begin later than the central directory alone says."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as out:
        for key in keys:
            info = zipfile.ZipInfo(key)
            if key in longer:
                info.extra = LOCAL_EXTRA
            out.writestr(info, content(key))
    data = bytearray(path.read_bytes())
    for key in longer:
        struct.pack_into("<HH", data, central_record(data, key) + 30, 0, len(LOCAL_EXTRA))
    path.write_bytes(bytes(data))
    return path


def central_record(data: bytes | bytearray, key: str) -> int:
    """Where the central directory record of entry ``key`` begins."""
    name = key.encode()
    at = data.find(b"PK\x01\x02")
    while data[at + 46 : at + 46 + struct.unpack_from("<H", data, at + 28)[0]] != name:
        at = data.find(b"PK\x01\x02", at + 4)
    return at


def give_zip64_values_past_int64(path: pathlib.Path, key: str, field: str) -> None:
    """Rewrite ``path`` so that entry ``key``'s central record takes its ``field`` ("offset" or "sizes") from a
    ZIP64 extra field holding 2**64 - 1 (8-byte unsigned values: no numpy int64 column holds them)."""
    data = bytearray(path.read_bytes())
    record = central_record(data, key)
    name_length, extra_length = struct.unpack_from("<HH", data, record + 28)
    huge = 2**64 - 1
    if field == "offset":
        struct.pack_into("<I", data, record + 42, 0xFFFFFFFF)
        extra = struct.pack("<HHQ", 1, 8, huge)
    else:
        struct.pack_into("<II", data, record + 20, 0xFFFFFFFF, 0xFFFFFFFF)
        extra = struct.pack("<HHQQ", 1, 16, huge, huge)
    struct.pack_into("<H", data, record + 30, extra_length + len(extra))
    at = record + 46 + name_length + extra_length
    data[at:at] = extra
    end = data.rfind(b"PK\x05\x06")  # the central directory grew: its size in the end record too
    struct.pack_into("<I", data, end + 12, struct.unpack_from("<I", data, end + 12)[0] + len(extra))
    path.write_bytes(bytes(data))
