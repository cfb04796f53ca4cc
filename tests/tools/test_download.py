"""ngffkit download: complete copies, resumed where they stopped, foreign folders untouched."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np
import pytest
from loopback.servers import http_file_server

import ngffkit
from ngffkit import validate
from ngffkit.samples.examples import write_plate


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ngffkit", *args], capture_output=True, text=True, check=False, timeout=300
    )


@pytest.mark.network
def test_download_is_complete_and_resumable(examples: dict[str, pathlib.Path], tmp_path: pathlib.Path) -> None:
    plate = write_plate(tmp_path / "src" / "p.zarr", "0.5", labels=True)
    with http_file_server(tmp_path / "src", listing=False) as server:
        proc = run("download", f"{server.url}/p.zarr", str(tmp_path / "copy"))
        assert proc.returncode == 0, proc.stderr
        assert validate(tmp_path / "copy").valid
        np.testing.assert_array_equal(
            ngffkit.open(tmp_path / "copy").grid(0).compute(), ngffkit.open(plate).grid(0).compute()
        )
        # an interrupted download: chunks partly there, the marker present, no root metadata yet
        partial = tmp_path / "partial"
        subprocess.run(["cp", "-r", str(tmp_path / "copy"), str(partial)], check=True)
        (partial / "zarr.json").unlink()
        chunk = next(partial.rglob("c/0/0/0"))
        chunk.unlink()
        (partial / ".ngffkit-download").write_text("unfinished")
        server.log.clear()
        assert run("download", f"{server.url}/p.zarr", str(partial)).returncode == 0
        fetched = [p for p in server.log.paths() if "/c/" in p]
        assert len(fetched) == 1  # only the missing chunk was fetched again
        assert validate(partial).valid
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    assert run("download", "http://127.0.0.1:9/p.zarr", str(foreign)).returncode == 1
    assert (foreign / "keep.txt").exists()
