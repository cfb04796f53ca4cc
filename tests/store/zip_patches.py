"""Byte-level edits of zip archives for the ``.ozx`` tests: where an entry's central record is, and a ZIP64 extra
field whose values fit no signed 64-bit integer."""

from __future__ import annotations

import pathlib
import struct


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
