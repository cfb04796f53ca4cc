"""ngffkit upgrade: 0.4 to 0.5 in place without touching a chunk."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np

import ngffkit
from ngffkit.samples.examples import write_coins


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ngffkit", *args], capture_output=True, text=True, check=False, timeout=300
    )


def test_upgrade_keeps_chunks(tmp_path: pathlib.Path) -> None:
    path = write_coins(tmp_path / "c.zarr", "0.4")
    before = ngffkit.open(path)
    before_pixels = before.levels[0].compute()
    before_labels = before.label("coins").levels[2].compute()
    chunk_files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".z", "zarr.json")))
    digest = {p: p.read_bytes() for p in chunk_files}
    proc = run("upgrade", "--dry-run", str(path))
    assert proc.returncode == 0 and "would write zarr.json" in proc.stdout and not (path / "zarr.json").exists()
    proc = run("upgrade", str(path))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    after = ngffkit.open(path)
    assert after.version == "0.5" and not (path / ".zattrs").exists()
    assert {p: p.read_bytes() for p in chunk_files} == digest  # the chunks were not touched
    np.testing.assert_array_equal(after.levels[0].compute(), before_pixels)
    np.testing.assert_array_equal(after.label("coins").levels[2].compute(), before_labels)
    assert run("upgrade", str(path)).returncode == 1  # already v3: a clear refusal
