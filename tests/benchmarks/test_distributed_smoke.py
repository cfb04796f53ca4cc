"""The distributed-write benchmark runs: every configuration (threads, a 1- and a 2-worker LocalCluster; disk and
moto's S3; chunks and shards; compute=False; ome-zarr-py, in its own environment) measured on a few MiB, each with
its numbers."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest
from loopback.servers import moto_available
from peers import OME_ZARR_PY_CLUSTER

from ..conftest import require, use_peer

REPO = pathlib.Path(__file__).resolve().parents[2]

LAYOUTS = ("64^3 chunks", "256^3 shards")
GRAPH_LAYOUTS = (*LAYOUTS, "128^3 chunks", "512^3 shards", "256^3 shards, 256^3 input chunks")
SCHEDULERS = {"threads x": 1, "1 worker x": 1, "2 workers x": 2}  # label prefix: worker processes measured
EXPECTED = {
    *(("ngffkit", s, t, layout) for s in SCHEDULERS for t in ("disk", "S3") for layout in LAYOUTS),
    *(("ngffkit compute=False", "2 workers x", t, "64^3 chunks") for t in ("disk", "S3")),
    *(("ome-zarr-py", "2 workers x", "disk", layout) for layout in LAYOUTS),  # its release: in its own environment
}


def run_smoke(results: pathlib.Path) -> str:
    """``python -m benchmarks.distributed --smoke`` from the repository root; the text of its results file."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks.distributed", "--smoke"], check=False, cwd=REPO,
                          env={**os.environ, "NGFFKIT_BENCH_RESULTS": str(results)}, capture_output=True, text=True,
                          timeout=280)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    written = results / "distributed_smoke.md"
    assert written.is_file(), f"no {written.name} in {sorted(p.name for p in results.iterdir())}"
    return written.read_text()


def measured_rows(text: str) -> list[list[str]]:
    """The rows of the first table (12 columns), header and separator left out."""
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|")]  # fmt: skip
    return [row for row in rows if len(row) == 12 and row[0] not in ("writer", "---")]


@pytest.mark.network
@pytest.mark.cluster
@pytest.mark.peers
@pytest.mark.timeout(300)
def test_distributed_benchmark_runs(tmp_path: pathlib.Path) -> None:
    require(moto_available(), "moto[server] and s3fs are not installed")
    require(
        importlib.util.find_spec("distributed") is not None, "dask.distributed is not installed (the cluster extra)"
    )
    use_peer(OME_ZARR_PY_CLUSTER)  # built before the benchmark's clock: its rows run in its own environment
    text = run_smoke(tmp_path)
    rows = measured_rows(text)
    writer = [re.sub(r"^(ome-zarr-py) \d+\.\d+\S*$", r"\1", row[0]) for row in rows]  # "ome-zarr-py 0.21.0"
    found = {
        (w, next(p for p in SCHEDULERS if row[1].startswith(p)), row[2], row[3])
        for w, row in zip(writer, rows, strict=True)
    }
    assert found == EXPECTED and len(rows) == len(EXPECTED), sorted(found ^ EXPECTED)
    for writer, scheduler, target, _, time, speed, tasks, _, requests, _, peaks, _ in rows:
        assert float(time.removesuffix(" s")) > 0 and float(speed.removesuffix(" GiB/s")) > 0, (writer, time)
        assert int(tasks) >= 1
        workers = next(n for prefix, n in SCHEDULERS.items() if scheduler.startswith(prefix))
        per_worker = [(float(peak), float(start)) for peak, start in re.findall(r"(\d+) \(from (\d+)\)", peaks)]
        assert len(per_worker) == workers and all(50 < start <= peak < 4096 for peak, start in per_worker), peaks
        if target == "S3":  # at least every level's zarr.json and one object per level
            assert int(requests.split(" / ")[0]) >= 2 * 5, requests
    graph = re.findall(r"^\| [\d.]+ GiB \| (.+?) \| (\d+) \|", text.split("## What grows", 1)[1], re.MULTILINE)
    assert sorted(layout for layout, _ in graph) == sorted(GRAPH_LAYOUTS) and all(int(n) > 0 for _, n in graph), graph
