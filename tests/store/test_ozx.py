"""Zipped OME-Zarr (.ozx): the layout ngffkit zip writes, reading it locally and over HTTP, nesting refused."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from loopback.servers import http_file_server

import ngffkit
from ngffkit import UnsafePath, validate
from ngffkit.samples.examples import write_coins, write_plate

from ..clirun import one_line_error
from ..conftest import require


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ngffkit", *args], capture_output=True, text=True, check=False, timeout=300
    )


def test_zip_ozx_layout_and_reading(tmp_path: pathlib.Path) -> None:
    plate = write_plate(tmp_path / "p.zarr", "0.5", labels=True)
    proc = run("zip", str(plate), str(tmp_path / "p.ozx"))
    assert proc.returncode == 0, proc.stderr
    archive = zipfile.ZipFile(tmp_path / "p.ozx")
    names = [i.filename for i in archive.infolist()]
    metadata = [n for n in names if n.endswith("zarr.json")]
    assert names[: len(metadata)] == metadata and metadata[0] == "zarr.json"  # every zarr.json first, root first
    depths = [n.count("/") for n in metadata]
    assert depths == sorted(depths)  # breadth-first
    assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
    assert json.loads(archive.comment)["ome"]["zipFile"]["centralDirectory"]["jsonFirst"] is True
    opened = ngffkit.open(tmp_path / "p.ozx")
    np.testing.assert_array_equal(opened.grid(0).compute(), ngffkit.open(plate).grid(0).compute())
    assert validate(tmp_path / "p.ozx").valid
    assert (
        run("zip", str(write_coins(tmp_path / "c4.zarr", "0.4")), str(tmp_path / "c4.ozx")).returncode == 1
    )  # 0.4 has no zip form


def test_write_image_to_ozx_and_read_over_http(tmp_path: pathlib.Path) -> None:
    data = np.arange(200 * 300, dtype=np.uint16).reshape(200, 300)
    ngffkit.write_image(data, tmp_path / "i.ozx")
    with pytest.raises(ngffkit.AlreadyExists):
        ngffkit.write_image(data, tmp_path / "i.ozx")
    with http_file_server(tmp_path, listing=False) as server:
        img = ngffkit.open(f"{server.url}/i.ozx")
        np.testing.assert_array_equal(img.levels[0].compute(), data)
        assert any(e["path"] == "/i.ozx" for e in server.log.entries)


def test_a_server_that_ignores_byte_ranges_is_one_clear_error(tmp_path: pathlib.Path) -> None:
    """Python's ``http.server`` (like many static hosts) answers a range request with 200 and the whole file; a
    .ozx is read by seeking, so it cannot be read there. It was fsspec's advice to "open with block_size=0"; now
    it is one error naming the URL and the reason, in Python and on the command line."""
    ngffkit.write_image(np.zeros((64, 64), "u2"), tmp_path / "a.ozx")
    with http_file_server(tmp_path, ignore_range=True) as server:
        url = f"{server.url}/a.ozx"
        with pytest.raises(ngffkit.LocationError) as caught:
            ngffkit.open(url)
        assert caught.value.where == url and "does not honour byte ranges" in str(caught.value)
        assert "block_size" not in str(caught.value)
        line = one_line_error(run("info", url))
    assert url in line and "does not honour byte ranges" in line and "block_size" not in line


def test_nested_ozx_is_refused(tmp_path: pathlib.Path) -> None:
    ngffkit.write_image(np.zeros((64, 64), dtype=np.uint8), tmp_path / "inner.ozx")
    attrs = {"ome": {"version": "0.5", "labels": ["inner.ozx"]}}
    (tmp_path / "outer.zarr").mkdir()
    (tmp_path / "outer.zarr" / "zarr.json").write_text(
        json.dumps({"zarr_format": 3, "node_type": "group", "attributes": attrs})
    )
    labels = ngffkit.open(tmp_path / "outer.zarr")
    with pytest.raises(UnsafePath, match=r"nested \.ozx"):
        labels["inner.ozx"]  # type: ignore[index]


def test_two_archives_in_one_file_are_flagged(tmp_path: pathlib.Path) -> None:
    """issue 31: two complete archives concatenated (two central directories) validated as valid, and the reader
    silently read the last one. Readers disagree on which one holds the data: a validation error and a warning."""
    first, second = np.zeros((32, 32), np.uint8), np.full((32, 32), 7, np.uint8)
    ngffkit.write_image(first, tmp_path / "first.ozx")
    ngffkit.write_image(second, tmp_path / "second.ozx")
    both = tmp_path / "both.ozx"
    both.write_bytes((tmp_path / "first.ozx").read_bytes() + (tmp_path / "second.ozx").read_bytes())
    report = validate(both)
    assert "ozx-concatenated" in {f.rule for f in report.errors}
    assert validate(tmp_path / "first.ozx").valid
    with pytest.warns(ngffkit.NGFFWarning, match="another zip archive"):
        read = ngffkit.open(both).levels[0].compute()
    np.testing.assert_array_equal(read, second)  # what Python's zipfile reads: the last one


def lying_entry(path: pathlib.Path, key: str, declared: int, inflates_to: int) -> None:
    """Replace entry ``key`` of the archive at ``path`` by a deflated one of ``inflates_to`` zero bytes whose local
    header and central directory record declare ``declared`` bytes (a CRC that does not match them)."""
    rebuilt = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(rebuilt, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            if info.filename != key:
                out.writestr(info, source.read(info))  # as it was (stored)
        with out.open(key, "w") as entry:  # deflated, streamed: never whole in memory
            block = bytes(16 * 2**20)
            for _ in range(inflates_to // len(block)):
                entry.write(block)
    data = bytearray(rebuilt.read_bytes())
    with zipfile.ZipFile(rebuilt) as archive:
        local = archive.getinfo(key).header_offset
    data[local + 22 : local + 26] = declared.to_bytes(4, "little")  # the local header's uncompressed size
    name = key.encode()
    record = data.find(b"PK\x01\x02")
    length = len(name).to_bytes(2, "little")
    while data[record + 28 : record + 30] != length or data[record + 46 : record + 46 + len(name)] != name:
        record = data.find(b"PK\x01\x02", record + 4)
    data[record + 24 : record + 28] = declared.to_bytes(4, "little")  # the central directory's
    path.write_bytes(bytes(data))
    rebuilt.unlink()


def test_an_entry_never_inflates_past_what_it_can_be(tmp_path: pathlib.Path) -> None:
    """issue 31: an entry whose central directory declares a few bytes but inflates to a gigabyte reached 2.2 GiB
    of memory before zipfile's CRC check failed. A chunk is inflated to at most what its array's chunk can be (and
    what the entry declares), a document to its limit: then the CRC check fails, with a clean error."""
    from ..hardening.bounded import run_cases

    chunk, document = tmp_path / "chunk.ozx", tmp_path / "document.ozx"
    for path in (chunk, document):
        ngffkit.write_image(np.zeros((64, 64), np.uint16), path, chunks=(32, 32))
    lying_entry(chunk, "0/c/0/0", declared=2048, inflates_to=2**30)
    lying_entry(document, "0/zarr.json", declared=300, inflates_to=2**30)
    outcomes = run_cases({
        "chunk": f"ngffkit.open({str(chunk)!r}).levels[0].compute()",
        "document": f"ngffkit.open({str(document)!r})",
    })  # fmt: skip
    for name, outcome in outcomes.items():
        assert outcome.raised is not None and outcome.ngff, outcome
        assert outcome.peak_mib < 600, f"{name}: {outcome.peak_mib:.0f} MiB"
    assert outcomes["chunk"].raised == "CorruptData" and "CRC" in outcomes["chunk"].message


# --- destinations that cannot be written: one LocationError naming the archive, nothing left behind -------------

#: A write whose files may grow to at most argv[2] bytes (RLIMIT_FSIZE: the kernel refuses more with EFBIG, as
#: a full disk refuses with ENOSPC), reporting what write_image raised. 256 KiB of pixels in uncompressed 1 KiB
#: chunks: with a limit of 20,000 bytes every chunk is staged and the archive fails; with 500, the first chunk.
LIMITED_WRITER = """
import json, resource, sys
import numpy as np
import ngffkit
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
data = np.random.default_rng(0).integers(0, 255, (512, 512), dtype="uint8")
try:
    ngffkit.write_image(data, sys.argv[1], chunks=(32, 32), compressor="none", levels=1)
    print(json.dumps({"raised": None}))
except Exception as exc:
    print(json.dumps({"raised": type(exc).__name__, "where": getattr(exc, "where", None), "message": str(exc),
                      "cause": type(exc.__cause__).__name__}))
"""


@pytest.mark.parametrize("limit", [20_000, 500], ids=["packing the archive", "staging the chunks"])
def test_an_archive_the_file_system_refuses_is_a_location_error_naming_it(tmp_path: pathlib.Path, limit: int) -> None:
    dest = tmp_path / "out.ozx"
    proc = subprocess.run([sys.executable, "-c", LIMITED_WRITER, str(dest), str(limit)],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outcome["raised"] == "LocationError", (outcome, proc.stderr)
    assert outcome["where"] == str(dest) and "File too large" in outcome["message"], outcome
    assert ".ngffkit-" not in outcome["message"]  # the temporary folder, gone and never asked for, is not named
    assert outcome["cause"] == "OSError"  # chained, for whoever digs deeper
    assert list(tmp_path.iterdir()) == []  # neither the staging folder nor a partial archive is left


def test_an_archive_below_a_file_or_in_an_unwritable_folder_is_a_location_error(tmp_path: pathlib.Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    data = np.zeros((64, 64), dtype=np.uint8)
    with pytest.raises(ngffkit.LocationError, match="cannot write the archive here: a part of the path is a file"):
        ngffkit.write_image(data, tmp_path / "a-file" / "out.ozx")
    with pytest.raises(ngffkit.LocationError, match=r"a-file/sub/out\.ozx: cannot write the archive here"):
        ngffkit.write_image(data, tmp_path / "a-file" / "sub" / "out.ozx")
    # A read-only folder, whatever the user's rights (root ignores a folder's mode bits, and CI runs as root, so a
    # chmod-ed folder would prove nothing there): /proc/sys.
    require(pathlib.Path("/proc/sys").is_dir(), "no /proc/sys (a folder where no one can create a file)")
    with pytest.raises(ngffkit.LocationError, match=r"^/proc/sys/out\.ozx: cannot write the archive here") as caught:
        ngffkit.write_image(data, "/proc/sys/out.ozx")
    assert isinstance(caught.value.__cause__, OSError)
    assert not [p for p in tmp_path.iterdir() if p.name != "a-file"]


def test_an_existing_file_is_never_replaced_by_an_archive(tmp_path: pathlib.Path) -> None:
    data = np.zeros((64, 64), dtype=np.uint8)
    (tmp_path / "notes.ozx").write_text("my notes")
    for overwrite in (False, True):
        with pytest.raises(ngffkit.AlreadyExists, match=r"notes\.ozx"):
            ngffkit.write_image(data, tmp_path / "notes.ozx", overwrite=overwrite)
    assert (tmp_path / "notes.ozx").read_text() == "my notes"
    (tmp_path / "folder.ozx").mkdir()
    with pytest.raises(ngffkit.AlreadyExists, match="exists and is not a file"):
        ngffkit.write_image(data, tmp_path / "folder.ozx", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.ozx", "notes.ozx"]
