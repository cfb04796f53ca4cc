"""The write, plate, remote and codec benchmarks still run (``--smoke``), and their tables hold every row."""

from __future__ import annotations

import pathlib

import pytest
from peers import NAPARI_OME_ZARR, OME_ZARR_PY

from ..conftest import use_peer
from .test_smoke_finder_startup import run_smoke, table_rows

#: Each benchmark times a peer in a process of the peer's own environment (peers/): built before the run's clock.
pytestmark = pytest.mark.peers


def test_write_growth_benchmark_runs(tmp_path: pathlib.Path) -> None:
    use_peer(OME_ZARR_PY)
    (row,) = table_rows(run_smoke("write_growth", tmp_path))
    assert row[0] == "16 MiB"
    for cell in row[1:5]:  # three ngffkit layouts and ome-zarr-py: time and peak memory, measured
        assert " s, " in cell and cell.split(" s, ")[1].split(" MiB")[0].isdigit(), row
    chunked, sharded = row[6].split(" / ")  # the machine limits for each layout, and ngffkit's share of them
    assert chunked.endswith(" s") and sharded.endswith(" s") and all("%" in cell for cell in row[1:4]), row


@pytest.mark.network
def test_plates_benchmark_runs(tmp_path: pathlib.Path) -> None:
    use_peer(NAPARI_OME_ZARR)
    (row,) = table_rows(run_smoke("plates", tmp_path))
    assert row[0] == "24"
    opened, peer_open, first_view, validated = row[1], row[2], row[4], row[7]
    assert "RT" in opened and "goal" in opened and "req" in peer_open and "req" in first_view, row
    assert int(validated.split(" req")[0].split(", ")[-1]) >= 24 * 2  # every well and field was validated


@pytest.mark.network
def test_remote_benchmark_runs(tmp_path: pathlib.Path) -> None:
    use_peer(NAPARI_OME_ZARR)
    use_peer(OME_ZARR_PY)
    text = run_smoke("remote", tmp_path)
    titles = [line for line in text.splitlines() if line.startswith("### ")]
    assert [t.split(".")[0] for t in titles] == ["### 3", "### 4", "### 5", "### 6", "### 7"]
    rows = [row for row in table_rows(text) if row[0] not in ("reader", "---")]  # every table's header left out
    assert len(rows) == 3 + 2 + 2 + 2 + 2, rows


def test_write_pyramid_and_codecs_benchmarks_run(tmp_path: pathlib.Path) -> None:
    use_peer(OME_ZARR_PY)
    rows = table_rows(run_smoke("write_pyramid", tmp_path))
    assert [row[0] for row in rows].count("ngffkit") == 2 and [row[0] for row in rows][-1] == "machine limit"
    peer = [row for row in rows if row[0].startswith("ome-zarr-py ")]  # its release, Python: its own environment
    assert [row[1] for row in peer] == ["64^3 chunks", "256^3 shards of 64^3 chunks"], rows
    assert all(float(row[2].split(" s")[0]) > 0 for row in peer), peer
    codecs = run_smoke("codecs", tmp_path)
    assert codecs.count("### ") == 3 and len(table_rows(codecs)) >= 3 * 4
