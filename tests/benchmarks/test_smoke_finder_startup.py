"""The benchmarks still run: each one's ``--smoke`` size, in a new process, writing its table elsewhere.

Benchmarks are run by hand, rarely; without these a renamed function or a changed API breaks them silently
until someone needs the numbers. The smoke runs write to ``tmp_path`` (``NGFFKIT_BENCH_RESULTS``), never over
the committed results, and the tables are checked row by row, so a configuration that silently stopped
being measured fails here too."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest
from peers import OME_ZARR_PY

from ..conftest import use_peer

REPO = pathlib.Path(__file__).resolve().parents[2]
SECONDS = re.compile(r"^\d+\.\d+ s$")


def run_smoke(name: str, results: pathlib.Path) -> str:
    """``python -m benchmarks.NAME --smoke`` from the repository root; the text of the results file."""
    proc = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--smoke"],
        cwd=REPO,
        env={**os.environ, "NGFFKIT_BENCH_RESULTS": str(results)},
        capture_output=True,
        text=True,
        check=False,
        timeout=280,  # a deadline under pytest-timeout's 300 s, as the napari smoke tests have (a loaded machine needs more than 180)
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = results / f"{name}_smoke.md"
    assert written.is_file(), f"no {written.name} in {sorted(p.name for p in results.iterdir())}"
    return written.read_text()


def table_rows(text: str) -> list[list[str]]:
    """The cells of every row of the markdown table, header and separator left out."""
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|")]  # fmt: skip
    return [row for row in rows[2:] if row]


@pytest.mark.network
@pytest.mark.peers
def test_finder_benchmark_runs(tmp_path: pathlib.Path) -> None:
    use_peer(OME_ZARR_PY)  # its finder runs in its own environment (peers/): built before the run's clock
    rows = table_rows(run_smoke("finder", tmp_path))
    configurations = {
        ("ngffkit finder", "local disk"),
        ("ome-zarr-py finder (paths only)", "local disk"),
        ("ngffkit finder", "HTTP, +20 ms per response"),
    }
    assert {(row[0], row[1], row[2]) for row in rows} == {
        (images, *config) for images in ("10", "30") for config in configurations
    }
    assert len(rows) == 6 and all(SECONDS.match(row[3]) for row in rows)
    for row in rows:
        if row[2].startswith("HTTP"):  # ngffkit reads at least the group, level 0 and labels of each image
            assert int(row[5].replace(",", "")) >= 3 * int(row[0]) and int(row[6]) >= 1


@pytest.mark.peers
def test_startup_benchmark_runs(tmp_path: pathlib.Path) -> None:
    use_peer(OME_ZARR_PY)  # its ome_zarr command, from its own environment
    text = run_smoke("startup", tmp_path)
    rows = table_rows(text)
    labels = [row[0] for row in rows]
    expected = (
        "python -c pass",
        'python -c "import ngffkit"',
        "ngffkit --help",
        "ngffkit --version",
        "ome_zarr --help",
    )
    assert len(rows) == len(expected)
    assert all(label.startswith(prefix) for label, prefix in zip(labels, expected, strict=True)), labels
    assert all(SECONDS.match(row[1]) for row in rows), rows
    assert rows[0][3] == "1.0x"
    assert text.count("target < 0.5 s") == 2
