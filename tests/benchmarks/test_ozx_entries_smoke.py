"""The .ozx entries benchmark still runs: its ``--smoke`` size in a new process (under the X server pytest-xvfb
started), its table checked cell by cell. Without napari or a display it skips -- except under CI=true."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

from ..conftest import require
from .test_smoke_finder_startup import table_rows

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.gui
def test_ozx_entries_benchmark_runs(tmp_path: pathlib.Path) -> None:
    require(importlib.util.find_spec("napari") is not None, "napari is not installed (pip install 'ngffkit[napari]')")
    require(bool(os.environ.get("DISPLAY")), "no X display: install xvfb (apt-get install xvfb)")
    proc = subprocess.run([sys.executable, "-m", "benchmarks.ozx_entries", "--smoke"], cwd=REPO,
                          env={**os.environ, "NGFFKIT_BENCH_RESULTS": str(tmp_path)}, capture_output=True, text=True,
                          check=False, timeout=280)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (row,) = table_rows((tmp_path / "ozx_entries_smoke.md").read_text())
    entries, api, picture, ratio, floor, cost, goal, read = row
    assert int(entries.replace(",", "")) >= 2_000, row
    assert all(re.fullmatch(r"-?\d+\.\d\d s", cell) for cell in (api, picture, floor, cost)), row
    assert re.fullmatch(r"\d+\.\d\dx", ratio), row
    assert re.fullmatch(r"\d+\.\d\d s \((met|not met)\)", goal), row
    assert int(read.replace(",", "")) <= int(entries.replace(",", "")), row  # napari read no entry twice
