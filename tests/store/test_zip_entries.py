"""Entries of a .ozx read in bulk are checked with numpy a span at a time (issue 31: per entry in Python the checks
cost more than napari's first picture could afford). Every check zipfile makes on an entry still holds there: an
entry that fails one in the middle of a span of many good ones is one CorruptData naming that entry, with the
message the one-entry check gives; and what passes is what zipfile reads."""

from __future__ import annotations

import inspect
import pathlib
import struct
import zipfile
import zlib

import numpy as np
import pytest

import ngffkit
from ngffkit.store import zip_entries
from ngffkit.store.ozx import OzxStore

from .zip_patches import central_record, give_zip64_values_past_int64, patch, write_with_local_extra

#: Entries of one byte (their CRC-32 computed together), then larger ones (each by zlib), all in one span.
SMALL = [f"0/c/{i}" for i in range(300)]
LARGE = [f"1/c/{i}" for i in range(40)]
MIDDLE = "0/c/150"
MIDDLE_LARGE = "1/c/20"


#: Whether this Python's zipfile refuses overlapping entries itself ("Overlapped entries": 3.12 and later, and
#: some 3.11 patch releases; 3.11.7 reads them). ngffkit refuses them on every Python; what zipfile does is
#: compared only where it checks.
ZIPFILE_CHECKS_OVERLAPS = "Overlapped entries" in inspect.getsource(zipfile)


def content(key: str) -> bytes:
    i = int(key.rsplit("/", 1)[1])
    return bytes([i % 251]) if key.startswith("0/") else bytes((i + k) % 256 for k in range(100))


def archive(path: pathlib.Path) -> pathlib.Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as out:
        for key in SMALL + LARGE:
            out.writestr(key, content(key))
    return path


def local_header(path: pathlib.Path, key: str) -> int:
    with zipfile.ZipFile(path) as opened:
        return opened.getinfo(key).header_offset


def read_both(path: pathlib.Path, keys: list[str]) -> tuple[list[bytes | None], np.ndarray, np.ndarray]:
    store = OzxStore(path)
    try:
        listed = store.read_entries(keys)
        rows, lengths = store.read_fixed(keys, 1)
    finally:
        store.close()
    return listed, rows, lengths


def test_a_span_of_good_entries_reads_as_zipfile_reads_it(tmp_path: pathlib.Path) -> None:
    path = archive(tmp_path / "a.ozx")
    keys = [*SMALL, *LARGE, "missing"]
    listed, rows, lengths = read_both(path, keys)
    with zipfile.ZipFile(path) as opened:
        assert listed == [opened.read(key) for key in keys[:-1]] + [None]
    assert lengths.tolist() == [1] * len(SMALL) + [100] * len(LARGE) + [-1]
    assert rows[: len(SMALL), 0].tolist() == [content(key)[0] for key in SMALL]


def test_the_bulk_crc_is_zlibs() -> None:
    rng = np.random.default_rng(7)
    for size in (0, 1, 2, 7, 64):
        rows = rng.integers(0, 256, size=(50, size), dtype=np.uint8)
        expected = [zlib.crc32(row.tobytes()) for row in rows]
        assert zip_entries.crc32_rows(rows).tolist() == expected


@pytest.mark.parametrize("key", [MIDDLE, MIDDLE_LARGE])
@pytest.mark.parametrize(
    ("where", "new", "message"),
    [
        (0, b"PK\x05\x06", "not a stored entry's"),  # the signature
        (8, b"\x08\x00", r"not a stored entry's \(method 8\)"),  # deflated, says the local header
        (33, b"X", "names another"),  # a byte of the name
    ],
    ids=["signature", "method", "name"],
)
def test_a_bad_local_header_amid_good_ones_is_corrupt_data_naming_it(
    tmp_path: pathlib.Path, key: str, where: int, new: bytes, message: str
) -> None:
    path = archive(tmp_path / "a.ozx")
    patch(path, local_header(path, key) + where, new)
    for read in (OzxStore.read_entries, lambda store, keys: store.read_fixed(keys, 1)):
        store = OzxStore(path)
        with pytest.raises(ngffkit.CorruptData, match=message) as caught:
            read(store, [*SMALL, *LARGE])
        store.close()
        assert caught.value.where == f"{path}/{key}"


@pytest.mark.parametrize("key", [MIDDLE, MIDDLE_LARGE])
def test_a_bad_crc_amid_good_entries_is_corrupt_data_naming_it(tmp_path: pathlib.Path, key: str) -> None:
    path = archive(tmp_path / "a.ozx")
    begin = local_header(path, key) + 30 + len(key)
    patch(path, begin, bytes([content(key)[0] ^ 0xFF]))
    with pytest.raises(ngffkit.CorruptData, match="Bad CRC-32") as caught:
        read_both(path, [*SMALL, *LARGE])
    assert caught.value.where == f"{path}/{key}"


@pytest.mark.parametrize("key", [MIDDLE, MIDDLE_LARGE])
def test_an_entry_reaching_into_the_next_amid_good_ones_is_corrupt_data_naming_it(
    tmp_path: pathlib.Path, key: str
) -> None:
    path = archive(tmp_path / "a.ozx")
    data = bytearray(path.read_bytes())
    begin = local_header(path, key) + 30 + len(key)
    grown = len(content(key)) + 16  # its sizes in the central directory reach 16 bytes into the next entry
    struct.pack_into("<III", data, central_record(data, key) + 16, zlib.crc32(data[begin : begin + grown]), grown,
                     grown)  # fmt: skip
    path.write_bytes(bytes(data))
    for read in (OzxStore.read_entries, lambda store, keys: store.read_fixed(keys, 1)):
        store = OzxStore(path)
        with pytest.raises(ngffkit.CorruptData, match="Overlapped entries") as caught:
            read(store, [*SMALL, *LARGE])
        store.close()
        assert caught.value.where == f"{path}/{key}"


def test_the_first_bad_entry_in_the_file_is_the_one_named(tmp_path: pathlib.Path) -> None:
    path = archive(tmp_path / "a.ozx")
    patch(path, local_header(path, "0/c/200") + 33, b"X")
    patch(path, local_header(path, "0/c/100") + 30 + len("0/c/100"), b"\xff")
    with pytest.raises(ngffkit.CorruptData, match="Bad CRC-32") as caught:
        read_both(path, list(reversed(SMALL)))
    assert caught.value.where == f"{path}/0/c/100"


def test_a_local_header_longer_than_its_record_is_read_as_zipfile_reads_it(tmp_path: pathlib.Path) -> None:
    """An extra field only in the local header: amid a span its entry's contents begin later (the local header
    says where); at the end of a span they lie past what was read, so zipfile reads that entry alone."""
    path = write_with_local_extra(tmp_path / "a.ozx", SMALL, content, {MIDDLE, "0/c/160"})
    keys = SMALL[:161]  # 0/c/160 last: its span ends where its record says its contents end
    store = OzxStore(path)
    try:
        assert store.read_entries(keys) == [content(key) for key in keys]
        assert store.entries_read == len(keys)  # 160 in bulk, 0/c/160 by zipfile
    finally:
        store.close()


def test_a_second_record_of_a_name_at_the_same_local_header_is_refused_as_zipfile_refuses_it(
    tmp_path: pathlib.Path,
) -> None:
    """Two central records of one name pointing at one local header: zipfile reads the last record, whose entry
    ends (for zipfile) where it begins -- the first record's local header -- so it is an overlapping entry."""
    path = tmp_path / "a.ozx"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "w") as out:
        for key in SMALL:
            out.writestr(key, content(key))
        out.writestr(MIDDLE, content(MIDDLE))
    data = bytearray(path.read_bytes())
    second = data.rfind(b"PK\x01\x02")  # the last record: the second of MIDDLE
    first_offset = struct.unpack_from("<I", data, central_record(data, MIDDLE) + 42)[0]
    struct.pack_into("<I", data, second + 42, first_offset)
    path.write_bytes(bytes(data))
    if ZIPFILE_CHECKS_OVERLAPS:
        with zipfile.ZipFile(path) as opened, pytest.raises(zipfile.BadZipFile, match="Overlapped"):
            opened.read(MIDDLE)
    with pytest.warns(ngffkit.NGFFWarning), pytest.raises(ngffkit.CorruptData, match="Overlapped") as caught:
        read_both(path, SMALL)
    assert caught.value.where == f"{path}/{MIDDLE}"


@pytest.mark.parametrize("bit", [5, 6])
def test_an_entry_flagged_patched_or_strongly_encrypted_is_refused_as_zipfile_refuses_it(
    tmp_path: pathlib.Path, bit: int
) -> None:
    path = archive(tmp_path / "a.ozx")
    data = bytearray(path.read_bytes())
    record = central_record(data, MIDDLE)
    struct.pack_into("<H", data, record + 8, struct.unpack_from("<H", data, record + 8)[0] | 1 << bit)
    path.write_bytes(bytes(data))
    with pytest.raises(ngffkit.CorruptData, match=f"flag bit {bit}") as caught:
        read_both(path, SMALL)
    assert caught.value.where == f"{path}/{MIDDLE}"


def test_a_local_name_read_in_another_encoding_than_its_record_is_refused_as_zipfile_refuses_it(
    tmp_path: pathlib.Path,
) -> None:
    """zipfile decodes the local header's name as that header's flags say (UTF-8 or cp437) and compares the text:
    the same bytes flagged otherwise are another name."""
    path = tmp_path / "a.ozx"
    odd = "0/c/\xe9"
    keys = [*SMALL[:150], odd, *SMALL[150:]]
    with zipfile.ZipFile(path, "w") as out:
        for key in keys:
            out.writestr(key, b"\x01")
    patch(path, local_header(path, odd) + 6, struct.pack("<H", 0))  # the local header: no UTF-8 flag
    with zipfile.ZipFile(path) as opened, pytest.raises(zipfile.BadZipFile, match="differ"):
        opened.read(odd)
    with pytest.raises(ngffkit.CorruptData, match="names another") as caught:
        read_both(path, keys)
    assert caught.value.where == f"{path}/{odd}"


def test_a_local_name_that_is_not_utf8_is_corrupt_data_read_alone_too(tmp_path: pathlib.Path) -> None:
    """zipfile raises UnicodeDecodeError for a local name flagged UTF-8 that is not (a compressed entry is read
    by zipfile): one CorruptData naming the entry, on either path."""
    path = tmp_path / "a.ozx"
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("0/c/\xe9", b"\x01")
        out.writestr("0/c/\xe8", b"\x01", compress_type=zipfile.ZIP_DEFLATED)
        out.writestr("0/c/9", b"\x01")
    for key in ("0/c/\xe9", "0/c/\xe8"):
        patch(path, local_header(path, key) + 34, b"\xff\xfe")
        store = OzxStore(path)
        try:
            with pytest.raises(ngffkit.CorruptData) as caught:
                store.read_entries([key])
        finally:
            store.close()
        assert caught.value.where == f"{path}/{key}"


@pytest.mark.parametrize("field", ["offset", "sizes"])
def test_zip64_values_past_int64_are_corrupt_data_naming_the_entry(tmp_path: pathlib.Path, field: str) -> None:
    """A ZIP64 extra field holds 8-byte unsigned values: 2**64 - 1 fits no numpy int64 column."""
    path = archive(tmp_path / "a.ozx")
    give_zip64_values_past_int64(path, MIDDLE, field)
    with pytest.raises(ngffkit.NGFFError) as caught:
        read_both(path, SMALL)
    assert caught.value.where == f"{path}/{MIDDLE}"


def test_overlapping_local_headers_with_long_names_cost_no_more_than_the_span(tmp_path: pathlib.Path) -> None:
    """Entries whose local headers lie inside each other's long names (each name: its key, a NUL -- zipfile's key
    ends there -- then the following headers): the names were gathered before the overlap check, int64 indices
    ~40x the names' bytes (a 30 MB central directory took 965 MB). Entries that overlap are no longer compared by
    name in bulk: they go to the one-entry check, which raises zipfile's error."""
    import tracemalloc

    count, length = 200, 20_000
    keys = [f"0/c/{k}" for k in range(count)]
    offsets, body = [], bytearray()
    for key in keys:
        offsets.append(len(body))
        body += zip_entries.LOCAL_HEADER.pack(b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 1, 1, length, 0) + key.encode() + b"\0"
    body += b"A" * (length + 1)
    central = bytearray()
    for at in offsets:
        crc = zlib.crc32(body[at + 30 + length : at + 31 + length])
        central += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, crc, 1, 1, length, 0, 0, 0, 0, 0, at)
        central += body[at + 30 : at + 30 + length]
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, len(central), len(body), 0)
    path = tmp_path / "a.ozx"
    path.write_bytes(bytes(body + central) + end)
    if ZIPFILE_CHECKS_OVERLAPS:
        with zipfile.ZipFile(path) as opened, pytest.raises(zipfile.BadZipFile, match="Overlapped"):
            opened.read(keys[0])
    store = OzxStore(path)
    try:
        store.archive()
        tracemalloc.start()
        with pytest.raises(ngffkit.CorruptData, match="Overlapped") as caught:
            store.read_fixed(keys, 1)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        store.close()
    assert caught.value.where == f"{path}/{keys[0]}"
    assert peak < 3 * count * length  # the layout (names once) and the span; not 8 bytes an index per name byte
