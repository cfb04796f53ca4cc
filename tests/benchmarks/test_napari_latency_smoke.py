"""The napari benchmarks still run: each one's ``--smoke`` size in a new process (under the X server pytest-xvfb
started), writing its table to ``tmp_path``; the table is checked row by row. Without a display it skips -- except
under CI=true, where that is a failure (as tests/napari do)."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest
from peers import NAPARI_OME_ZARR

from ..conftest import require, use_peer

pytestmark = pytest.mark.peers

REPO = pathlib.Path(__file__).resolve().parents[2]
PLUGINS = ("ngffkit", "napari-ome-zarr", "numpy in memory")
STEPS = ("step z (", "step t (", "step z zoomed (")


def _table(text: str) -> dict[str, list[str]]:
    """The rows of the markdown table by their first cell, header and separator left out."""
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|")]  # fmt: skip
    assert rows[0] == ["measure", *PLUGINS], rows[0]
    return {row[0]: row[1:] for row in rows[2:]}


def run_smoke(benchmark: str, results: pathlib.Path) -> str:
    """Run ``benchmarks.<benchmark> --smoke`` in a new process (napari and napari-ome-zarr, in its own environment,
    under the X server); the text of its table, written to ``results``."""
    require(importlib.util.find_spec("napari") is not None, "napari is not installed (pip install 'ngffkit[napari]')")
    use_peer(NAPARI_OME_ZARR)  # napari-ome-zarr's children run in its own environment, with its own napari
    require(
        bool(os.environ.get("DISPLAY")),
        "no X display: install xvfb (apt-get install xvfb) so pytest-xvfb can start one",
    )
    proc = subprocess.run([sys.executable, "-m", f"benchmarks.{benchmark}", "--smoke"], cwd=REPO,
                          env={**os.environ, "NGFFKIT_BENCH_RESULTS": str(results)}, capture_output=True, text=True,
                          check=False, timeout=280)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return (results / f"{benchmark}_smoke.md").read_text()


@pytest.mark.gui
@pytest.mark.network
def test_napari_latency_benchmark_runs(tmp_path: pathlib.Path) -> None:
    rows = _table(run_smoke("napari_latency", tmp_path))
    assert re.fullmatch(r"\d+\.\d\d s", rows["first picture: viewer.open until the canvas shows pixels"][0])
    assert re.fullmatch(r"\d+ \(\d+ requests\)", rows["round trips until the first sharp picture"][1])
    for run in STEPS:
        measured = {name: cells for name, cells in rows.items() if name.startswith(run)}
        assert len(measured) == 4, (run, sorted(measured))
        for name, cells in measured.items():
            expected = r"yes" if name.endswith("right pixels shown at the end") else r"\d+ / \d+ ms"
            assert all(re.fullmatch(expected, cell) for cell in cells), (run, name, cells)


@pytest.mark.gui
@pytest.mark.network
def test_napari_plate_benchmark_runs(tmp_path: pathlib.Path) -> None:
    text = run_smoke("napari_plate", tmp_path)
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|")]  # fmt: skip
    assert rows[0] == ["wells", "ngffkit", "napari-ome-zarr"] and [row[0] for row in rows[2:]] == ["24"]
    for cell in rows[2][1:]:  # returned / frozen / drawn, in that order of time; then a zoom step
        times, zoom = cell.split("; zoom ")
        returned, frozen, drawn = (float(s.removesuffix(" s")) for s in times.split(" / "))
        assert 0 < returned <= drawn and 0 < frozen <= drawn and float(zoom.removesuffix(" ms")) > 0, cell


@pytest.mark.gui
def test_napari_open_benchmark_runs(tmp_path: pathlib.Path) -> None:
    text = run_smoke("napari_open", tmp_path)
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|")]  # fmt: skip
    assert rows[0][:3] == ["dataset", "ngffkit", "napari-ome-zarr"] and [row[0] for row in rows[2:]] == [
        "coins 0.4 without labels"
    ]
    for cell in rows[2][1:3]:  # first open (imports, napari's first layer) / second open, both real times
        first, again = (float(s.removesuffix(" s")) for s in cell.split(" / "))
        assert first > 0 and again > 0, cell
