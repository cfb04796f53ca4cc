""".ozx archives whose entries overlap, lie outside the file or are mis-named (issue 31 leftovers): the validator
reads no chunks, so it reported them clean; now they are findings on the archive, and reading such an entry is
one CorruptData naming the entry and the archive."""

from __future__ import annotations

import pathlib
import struct
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest

import ngffkit

from .zip_patches import central_record, give_zip64_values_past_int64, patch

LAYOUT_RULES = {"ozx-overlapping-entries", "ozx-entry-out-of-range", "ozx-unclean-name", "ozx-local-name-differs"}


def volume() -> np.ndarray:
    return np.arange(5 * 13 * 11, dtype=np.uint16).reshape(5, 13, 11) * 7


def write_volume(path: pathlib.Path, compressor: str = "none") -> pathlib.Path:
    ngffkit.write_image(volume(), path, axes="zyx", levels=1, chunks=(2, 3, 4), compressor=compressor)
    return path


def rules(path: pathlib.Path) -> set[str]:
    return {finding.rule for finding in ngffkit.validate(path).errors}


def test_a_clean_archive_has_no_layout_findings(tmp_path: pathlib.Path) -> None:
    path = write_volume(tmp_path / "v.ozx")
    assert ngffkit.validate(path).valid
    assert not rules(path) & LAYOUT_RULES


def overlap(path: pathlib.Path, key: str) -> None:
    """Entry ``key`` made to reach into the next entry's local header: its sizes in the central directory grown by
    16 bytes and its CRC made to match the longer contents (each entry "valid", their bytes shared)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(key)
    begin = info.header_offset + 30 + len(info.filename) + len(info.extra)
    grown = info.compress_size + 16
    record = central_record(data, key)
    struct.pack_into("<III", data, record + 16, zlib.crc32(data[begin : begin + grown]), grown, grown)
    path.write_bytes(bytes(data))


def test_overlapping_entries_are_a_finding_and_reading_them_fails(tmp_path: pathlib.Path) -> None:
    path = write_volume(tmp_path / "v.ozx")
    overlap(path, "0/c/1/1/1")
    report = ngffkit.validate(path)
    found = [f for f in report.errors if f.rule == "ozx-overlapping-entries"]
    assert found and "'0/c/1/1/1'" in found[0].message and found[0].where == str(path)
    with pytest.raises(ngffkit.CorruptData, match="Overlapped entries") as caught:  # the bulk read checks it too
        ngffkit.open(path).levels[0].compute()
    assert f"{path}/0/c/1/1/1" in str(caught.value)


def test_a_local_header_naming_another_entry_is_a_finding(tmp_path: pathlib.Path) -> None:
    path = write_volume(tmp_path / "v.ozx")
    with zipfile.ZipFile(path) as archive:
        at = archive.getinfo("0/c/2/1/0").header_offset + 30
    patch(path, at, b"0/c/2/1/1")
    found = [f for f in ngffkit.validate(path).errors if f.rule == "ozx-local-name-differs"]
    assert len(found) == 1 and "'0/c/2/1/0'" in found[0].message and "0/c/2/1/1" in found[0].message
    with pytest.raises(ngffkit.CorruptData, match="names another"):  # and reading it still fails
        ngffkit.open(path).levels[0].compute()


@pytest.mark.parametrize("name", ["../outside.txt", "/absolute.txt", "0//c/x", "0\\c\\x", "C:/x"])
def test_a_name_that_is_not_a_clean_relative_path_is_a_finding(tmp_path: pathlib.Path, name: str) -> None:
    path = write_volume(tmp_path / "v.ozx")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(zipfile.ZipInfo(name), b"x")
    found = [f for f in ngffkit.validate(path).errors if f.rule == "ozx-unclean-name"]
    assert len(found) == 1 and repr(name) in found[0].message


def shift(path: pathlib.Path, key: str, delta: int = 100) -> None:
    """The central directory says it begins ``delta`` bytes later than it does, and every entry's offset but
    ``key``'s (0) is grown by as much: zipfile takes ``key``'s local header to be at ``-delta``."""
    data = bytearray(path.read_bytes())
    target = central_record(data, key)
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        offset = struct.unpack_from("<I", data, at + 42)[0]
        struct.pack_into("<I", data, at + 42, 0 if at == target else offset + delta)
        at = data.find(b"PK\x01\x02", at + 4)
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<I", data, end + 16, struct.unpack_from("<I", data, end + 16)[0] + delta)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("compressor", ["none", "zstd"], ids=["read-in-bulk", "read-by-zarr"])
def test_a_negative_offset_names_the_entry_and_the_archive(tmp_path: pathlib.Path, compressor: str) -> None:
    """It named the array (``v.ozx/0: cannot read chunk data: OSError: [Errno 22] Invalid argument``)."""
    path = write_volume(tmp_path / "v.ozx", compressor)
    shift(path, "0/c/2/1/0")
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("0/c/2/1/0").header_offset == -100
    with pytest.raises(ngffkit.CorruptData, match="outside the file") as caught:
        ngffkit.open(path).levels[0].compute()
    assert f"{path}/0/c/2/1/0" in str(caught.value)
    found = [f for f in ngffkit.validate(path).errors if f.rule == "ozx-entry-out-of-range"]
    assert len(found) == 1 and "'0/c/2/1/0'" in found[0].message


def test_an_offset_past_the_end_names_the_entry(tmp_path: pathlib.Path) -> None:
    path = write_volume(tmp_path / "v.ozx")
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, central_record(data, "0/c/2/1/0") + 42, len(data) + 1000)
    path.write_bytes(bytes(data))
    with pytest.raises(ngffkit.CorruptData, match="outside the file") as caught:
        ngffkit.open(path).levels[0].compute()
    assert f"{path}/0/c/2/1/0" in str(caught.value)
    assert "ozx-entry-out-of-range" in rules(path)


def test_the_command_line_validator_reports_overlaps(tmp_path: pathlib.Path) -> None:
    path = write_volume(tmp_path / "v.ozx")
    overlap(path, "0/c/0/0/0")
    result = subprocess.run(
        [sys.executable, "-m", "ngffkit", "validate", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0 and "ozx-overlapping-entries" in result.stdout + result.stderr


@pytest.mark.parametrize("field", ["offset", "sizes"])
def test_zip64_values_past_int64_are_findings_not_a_crash(tmp_path: pathlib.Path, field: str) -> None:
    """A ZIP64 extra field holds 8-byte unsigned values: 2**64 - 1 fits no numpy int64 column (an OverflowError
    out of the validator before)."""
    path = write_volume(tmp_path / "v.ozx")
    give_zip64_values_past_int64(path, "0/c/1/2/1", field)
    found = [f for f in ngffkit.validate(path).errors if f.rule == "ozx-entry-out-of-range"]
    assert any("'0/c/1/2/1'" in f.message for f in found)
    with pytest.raises(ngffkit.CorruptData) as caught:
        ngffkit.open(path).levels[0].compute()
    assert caught.value.where == f"{path}/0/c/1/2/1"


def test_a_local_name_flagged_in_another_encoding_is_a_finding(tmp_path: pathlib.Path) -> None:
    """The same bytes, but the local header says cp437 where the central directory says UTF-8: zipfile reads
    another name there (and refuses the entry), so the validator reports it."""
    from ngffkit.store.ozx import archive_problems

    path = tmp_path / "a.ozx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("zarr.json", b"{}")
        archive.writestr("0/c/\xe9", b"\x01")
        at = archive.getinfo("0/c/\xe9").header_offset
    data = bytearray(path.read_bytes())
    struct.pack_into("<H", data, at + 6, 0)
    path.write_bytes(bytes(data))
    found = [message for rule, message in archive_problems(path) if rule == "ozx-local-name-differs"]
    assert len(found) == 1 and "0/c/\xe9" in found[0]


def test_unclean_names_found_in_one_search_are_those_found_one_by_one() -> None:
    """The joined search goes on at the next name after a match (a name full of control characters matched once a
    character: 500 names of 60 KB took 8 s); what it finds is what each name's own search finds."""
    from ngffkit.store.zip_layout import unclean_name, unclean_names

    pool = ["0/c/1", "../x", "/a", "a//b", "C:/x", "a\\b", "a/./b", "ok/..", "a\x01", "fine/name", ".", "a/.b", "..."]
    names = [pool[(7 * k) % len(pool)] for k in range(60)] + ["\x00" * 5000 + "/x", "last/ok", "last/.."]
    assert unclean_names(names) == [name for name in names if unclean_name(name)]
