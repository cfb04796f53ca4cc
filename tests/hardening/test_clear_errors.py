"""Bad input ends in one clear NGFFError (CLI: one line, exit 1) -- and commands that change data change nothing
when they refuse."""

from __future__ import annotations

import asyncio
import json
import pathlib
import subprocess
import sys
import threading
import zipfile

import numpy as np
import pytest
from loopback.servers import FaultPlan, http_file_server

import ngffkit
from ngffkit.store import adapter
from ngffkit.tools.download import download
from ngffkit.tools.upgrade import upgrade_store

from ..clirun import one_line_error, run
from .test_data_safety import fingerprint

pytestmark = pytest.mark.timeout(300)


def v2_image(path: pathlib.Path, levels: int = 2) -> pathlib.Path:
    data = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    ngffkit.write_image(data, path, version="0.4", levels=levels, chunks=(32, 32))
    return path


def edit(path: pathlib.Path, change: object) -> None:
    doc = json.loads(path.read_text())
    change(doc)  # type: ignore[operator]
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "fault",
    ["unknown dtype", "no chunks", "compressor is a string", "NaN in attributes", "NaN in array attributes"],
)
def test_upgrade_is_all_or_nothing(tmp_path: pathlib.Path, fault: str) -> None:
    root = v2_image(tmp_path / "old.zarr")
    broken = {
        "unknown dtype": (root / "1" / ".zarray", lambda d: d.update(dtype="<q9")),
        "no chunks": (root / "1" / ".zarray", lambda d: d.pop("chunks")),
        "compressor is a string": (root / "1" / ".zarray", lambda d: d.update(compressor="zstd")),
        "NaN in attributes": (root / ".zattrs", lambda d: d.update(note=float("nan"))),
        "NaN in array attributes": (root / "1" / ".zattrs", None),
    }[fault]
    if fault == "NaN in array attributes":
        broken[0].write_text('{"note": NaN}')
    else:
        edit(*broken)  # type: ignore[arg-type]
    before = fingerprint(tmp_path)
    with pytest.raises(ngffkit.NGFFError):
        upgrade_store(root)
    assert fingerprint(tmp_path) == before
    line = one_line_error(run("upgrade", str(root)))
    assert "old.zarr" in line
    assert fingerprint(tmp_path) == before


def test_upgrade_keeps_array_attributes(tmp_path: pathlib.Path) -> None:
    root = v2_image(tmp_path / "old.zarr")
    (root / "1" / ".zattrs").write_text('{"acquired by": "microscope 3"}')
    upgrade_store(root)
    doc = json.loads((root / "1" / "zarr.json").read_text())
    assert doc["attributes"] == {"acquired by": "microscope 3"} and not (root / "1" / ".zattrs").exists()


def test_download_refuses_unusable_chunk_grids(tmp_path: pathlib.Path) -> None:
    for name, chunks, shape in (("zero.zarr", [0, 32], None), ("huge.zarr", [1, 1], [10**6, 10**6])):
        root = tmp_path / "served" / name
        ngffkit.write_image(np.zeros((64, 64), np.uint8), root, chunks=(32, 32))

        def change(doc: dict, chunks: list[int] = chunks, shape: list[int] | None = shape) -> None:
            doc["chunk_grid"]["configuration"]["chunk_shape"] = chunks
            if shape is not None:
                doc["shape"] = shape

        edit(root / "0" / "zarr.json", change)
    with http_file_server(tmp_path / "served", listing=False) as server:
        with pytest.raises(ngffkit.InvalidMetadata, match="chunk shape"):
            download(f"{server.url}/zero.zarr", tmp_path / "zero-copy")
        with pytest.raises(ngffkit.LimitExceeded, match="NGFFKIT_MAX_DOWNLOAD_CHUNKS"):
            download(f"{server.url}/huge.zarr", tmp_path / "huge-copy")
        line = one_line_error(run("download", f"{server.url}/huge.zarr", str(tmp_path / "huge-cli")))
        assert "NGFFKIT_MAX_DOWNLOAD_CHUNKS" in line


def test_a_shape_beyond_any_index_is_invalid_metadata(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "big.zarr"
    ngffkit.write_image(np.zeros((8, 8), np.uint8), root)
    edit(root / "0" / "zarr.json", lambda d: d.update(shape=[2**70, 8]))
    with pytest.raises(ngffkit.InvalidMetadata, match="too large"):
        ngffkit.open(root)
    assert "array-metadata" in {f.rule for f in ngffkit.validate(root).errors}
    assert "too large" in one_line_error(run("info", str(root)))


def test_text_from_metadata_never_reaches_the_terminal_raw(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "evil.zarr"
    axes = [{"name": "y\ud800", "type": "space", "unit": "\x1b[31mred"}, {"name": "x", "type": "space"}]
    ngffkit.write_image(np.zeros((8, 8), np.uint8), root, axes=axes, name="\x1b]0;owned\x07[bold]name")
    proc = run("info", str(root))
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "\\x1b[31mred" in proc.stdout and "\\ud800" in proc.stdout and "[bold]name" in proc.stdout
    as_json = run("info", "--json", str(root))
    assert json.loads(as_json.stdout)["image"]["name"].startswith("\x1b]0;")  # data stays data in JSON


def test_an_ozx_with_duplicate_entries_is_reported(tmp_path: pathlib.Path) -> None:
    good = tmp_path / "good.ozx"
    ngffkit.write_image(np.zeros((8, 8), np.uint8), good)
    bad = tmp_path / "bad.ozx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bad, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("zarr.json", source.read("zarr.json"))  # a second copy of the root document
    assert ngffkit.validate(good).valid
    report = ngffkit.validate(bad)
    assert "ozx-duplicate-entry" in {f.rule for f in report.errors}


def test_a_damaged_chunk_is_one_message_even_as_the_program_ends(tmp_path: pathlib.Path) -> None:
    """dask raises at the first chunk that fails while the computation's other reads go on in zarr's loop; a
    script that reports the error and ends printed hundreds of lines of asyncio tracebacks after it (its thread
    pools shut down under those reads). A failed read now cancels its own (the test below), and the program's end
    lets any others finish first."""
    data = np.random.default_rng(0).integers(0, 255, (8, 256, 256), dtype=np.uint8)
    path = tmp_path / "img.zarr"
    ngffkit.write_image(data, path, axes="zyx", chunks=(1, 32, 32), shards=(2, 256, 256), levels=1)
    shards = sorted(p for p in (path / "0" / "c").rglob("*") if p.is_file())
    for shard in shards[1::2]:  # half of them, so that reads are still going on when the first one fails
        shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    script = (
        "import ngffkit, sys\n"
        "try:\n"
        f"    ngffkit.open({str(path)!r}).levels[0].compute()\n"
        "except ngffkit.NGFFError as exc:\n"
        "    print(exc.message, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "chunk" in lines[0], proc.stderr[-3000:]


class CorruptAnsweredAfterAnotherIsHeld(FaultPlan):
    """The damaged chunk (``0/c/0/0/0``) is answered once another of the read's requests is at the server, held:
    answered at once, the read could fail before it sent the others (seen under load), leaving nothing to cancel."""

    def __init__(self, rules: dict[str, list[str]], hold_patience: float) -> None:
        super().__init__(rules, hold_patience=hold_patience)
        self.another_held = threading.Event()

    def hold(self, path: str) -> None:
        self.another_held.set()
        super().hold(path)

    def take(self, path: str) -> str | None:
        if path.endswith("/0/c/0/0/0"):
            self.another_held.wait(self.hold_patience)
        return super().take(path)


@pytest.mark.parametrize("how", ["compute", "dask"])
def test_a_failed_read_stops_its_other_fetches(tmp_path: pathlib.Path, how: str) -> None:
    """zarr raises at the first chunk that fails and leaves the read's other fetches running: over HTTP a whole
    level's requests went on for nobody (and a program ending then printed their failures, the test above). The
    read now cancels what it started: the server still holds its other requests, yet nothing of the read is left."""
    data = np.arange(64 * 64, dtype=np.uint16).reshape(1, 64, 64)
    path = tmp_path / "img.zarr"
    ngffkit.write_image(data, path, axes="zyx", chunks=(1, 32, 32), levels=1)
    (path / "0" / "c" / "0" / "0" / "0").write_bytes(b"not a chunk")
    faults = CorruptAnsweredAfterAnotherIsHeld(
        {f"/0/c/0/{y}/{x}": ["always:hold"] for y, x in ((0, 1), (1, 0), (1, 1))}, hold_patience=60
    )

    async def reads_on_zarrs_loop() -> set[asyncio.Task[object]]:
        return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}

    with http_file_server(tmp_path, faults=faults) as server:
        level = ngffkit.open(f"{server.url}/img.zarr").levels[0]
        before = adapter.sync(reads_on_zarrs_loop())
        try:
            with pytest.raises(ngffkit.CorruptData, match="chunk"):
                level.compute() if how == "compute" else level.compute(scheduler="sync")
            left = adapter.sync(reads_on_zarrs_loop()) - before
            held = faults.held()
        finally:
            faults.release()
    assert held, "the read failed before it sent its other requests: nothing to cancel"
    assert not left, left


def test_a_nul_character_in_a_path_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    """No file can be named with a NUL; the OS raised a bare ValueError from deep inside a read or a write."""
    named = str(tmp_path / "a\x00b.zarr")
    with pytest.raises(ngffkit.LocationError, match="NUL character"):
        ngffkit.write_image(np.zeros((8, 8), np.uint8), named)
    with pytest.raises(ngffkit.LocationError, match="NUL character"):
        ngffkit.open(named)
    with pytest.raises(ngffkit.LocationError, match="NUL character"):
        ngffkit.write_image(np.zeros((8, 8), np.uint8), named.replace(".zarr", ".ozx"))
    report = ngffkit.validate(named)
    assert not report.valid and "NUL character" in report.summary()
    assert list(tmp_path.iterdir()) == []
