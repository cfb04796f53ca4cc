"""Measuring one write on a dask scheduler: time, tasks, worker utilisation, bytes moved and peak RSS per process.

Shared by benchmarks/distributed.py (ngffkit, in this environment) and benchmarks/distributed_peer.py (ome-zarr-py,
in its own environment: peers/), so that both writers are measured by the same code. Imports no writer.
"""

from __future__ import annotations

import importlib
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dask
from dask.diagnostics import Profiler

LEVELS, CHUNK, SHARD = 5, (64, 64, 64), (256, 256, 256)
LAYOUTS: dict[str, tuple[int, int, int] | None] = {"64^3 chunks": None, "256^3 shards": SHARD}
CORES = os.cpu_count() or 1


def cluster_label(workers: int) -> str:
    """``2 workers x 1 thread``: as many threads in all as this machine has cores."""
    each = max(1, CORES // workers)
    return f"{workers} worker{'s' * (workers > 1)} x {each} thread{'s' * (each > 1)}"


def reset_peak() -> None:
    """Start the process's peak-RSS count again (Linux: writing 5 to clear_refs resets VmHWM)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_mib(field: str = "VmHWM") -> float:
    """The process's peak RSS (or with ``field="VmRSS"`` its RSS now), MiB."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith(field + ":"))


def sent_bytes(dask_worker: Any) -> int:
    """Bytes this worker has sent to other workers (task results they needed)."""
    return int(dask_worker.transfer_outgoing_bytes_total)


def threads() -> Any:
    """dask's threaded scheduler with one thread per core (the baseline)."""
    return dask.config.set(scheduler="threads", num_workers=CORES)


@dataclass
class Row:
    """One configuration's measurement: a row of the results table."""

    writer: str
    scheduler: str
    target: str
    layout: str
    seconds: float = 0.0
    tasks: int = 0
    busy: float | None = None
    requests: Counter[str] = field(default_factory=Counter)
    moved: int | None = None
    #: Per worker process: (peak RSS during the write, RSS when it started), MiB.
    worker_peaks: list[tuple[float, float]] = field(default_factory=list)
    client_peak: float = 0.0

    def cells(self, gib: float) -> list[str]:
        puts = f"{self.requests['PUT']} / {sum(self.requests.values())}" if self.requests else "—"
        return [self.writer, self.scheduler, self.target, self.layout, f"{self.seconds:.2f} s",
                f"{gib / self.seconds:.3g} GiB/s", str(self.tasks),
                "—" if self.busy is None else f"{100 * self.busy:.0f}%", puts,
                "—" if self.moved is None else f"{self.moved / 2**20:.0f} MiB",
                ", ".join(f"{p:.0f} (from {s:.0f})" for p, s in self.worker_peaks) + " MiB", f"{self.client_peak:.0f} MiB"]  # fmt: skip

    @classmethod
    def from_json(cls, found: dict[str, Any]) -> Row:
        """A row measured in another process (its ``dataclasses.asdict``, through JSON)."""
        return cls(**{**found, "requests": Counter(found["requests"]),
                      "worker_peaks": [tuple(p) for p in found["worker_peaks"]]})  # fmt: skip


def measure(row: Row, write: Callable[[], object], client: Any, requests: Callable[[], Counter[str]] | None) -> Row:
    """Run ``write`` once and fill ``row`` (``client`` None: dask's threaded scheduler in this process;
    ``requests``: the S3 server's request count so far, for a write to S3)."""
    before, here = requests() if requests is not None else Counter(), peak_mib("VmRSS")
    reset_peak()
    if client is None:
        with threads(), Profiler() as profile:
            start = time.perf_counter()
            write()
            row.seconds = time.perf_counter() - start
        row.tasks, row.worker_peaks = len(profile.results), [(peak_mib(), here)]
    else:
        import distributed

        moved, rss = sum(client.run(sent_bytes).values()), client.run(peak_mib, "VmRSS")
        client.run(reset_peak)
        with distributed.get_task_stream(client=client) as stream:
            start = time.perf_counter()
            write()
            row.seconds = time.perf_counter() - start
        row.tasks = len(stream.data)
        spans = [span for task in stream.data for span in task.get("startstops", ()) if span["action"] == "compute"]
        busy = sum(span["stop"] - span["start"] for span in spans)
        row.busy = busy / (row.seconds * sum(client.nthreads().values()))
        row.moved = sum(client.run(sent_bytes).values()) - moved
        row.worker_peaks = [(peak, rss[worker]) for worker, peak in sorted(client.run(peak_mib).items())]
    row.client_peak = peak_mib()
    if requests is not None:
        row.requests = requests() - before
    return row


def import_modules(modules: list[str] | tuple[str, ...]) -> None:
    """Import ``modules`` (run on every worker before anything is timed: ``client.run(import_modules, ...)``)."""
    for module in modules:
        importlib.import_module(module)
