"""Writing beyond one process: ngffkit.write_image on a dask.distributed LocalCluster, to disk and to S3.

Goal 7 of the performance plan, and the measured basis of docs/scaling.md (10 TB on 100 workers). A lazy uint16
volume (benchmarks.common.synthetic_volume, made wherever the task runs: no data leaves this process) is written
as a 5-level pyramid (2x in z, y, x), 64^3 chunks, blosc-lz4 (ngffkit's default), plain and in 256^3 shards, by
dask's threaded scheduler here (the baseline) and by a ``LocalCluster(processes=True)`` of 1 worker x 2 threads
and of 2 workers x 1 thread (a ``Client`` active), to a folder and to moto's S3 server (its own process on
127.0.0.1); on 2 workers also with ``compute=False``, and ome-zarr-py's ``write_image`` to disk (its newest
release, in its own environment with distributed: peers/; its cluster started there, measured by the same code,
benchmarks/cluster_measure.py).

Per configuration: wall time, level-0 throughput, tasks run, worker utilisation (task time / (wall x threads)),
S3 requests (moto's request log; PUT = objects and multipart parts), bytes sent between workers, and peak RSS
per worker process: ``VmHWM``, reset through ``/proc/self/clear_refs`` just before the write and read just after
(on workers via ``client.run``) -- exact, not sampled. Every image written is validated. A second table
measures, computing nothing, what grows with the volume (tasks, dask.compute calls, client time and memory, the
compute=False Delayed's last task) for lazy volumes of 1 GiB and up: a stand-in scheduler materialises each
graph and returns.

Run: python -m benchmarks.distributed [--quick] [--smoke]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import math
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import cloudpickle
import dask
import dask.array as da
from dask.delayed import Delayed
from loopback.servers import free_port
from peers import OME_ZARR_PY_CLUSTER, process_environment

import ngffkit
from benchmarks.cluster_measure import (
    CHUNK,
    CORES,
    LAYOUTS,
    LEVELS,
    SHARD,
    Row,
    cluster_label,
    import_modules,
    measure,
    peak_mib,
    reset_peak,
    threads,
)
from benchmarks.common import machine, peer_versions, save, synthetic_volume

OPTIONS: dict[str, Any] = {"axes": "zyx", "levels": LEVELS, "scale_factors": {"z": 2, "y": 2, "x": 2}, "chunks": CHUNK}
SIZES = {"full": (256, 1448, 1448), "quick": (128, 1024, 1024), "smoke": (32, 256, 256)}
#: The graph table (nothing computed): lazy volumes of 1, 8 and 32 GiB; layouts as (chunks, shards, input chunks).
GRAPH_SIZES = {"full": [(128, 2048, 2048), (1024, 2048, 2048), (2048, 4096, 2048)],
               "quick": [(128, 2048, 2048), (1024, 2048, 2048)], "smoke": [(32, 512, 512)]}  # fmt: skip
INPUT = (64, 256, 256)
GRAPH_LAYOUTS = {"64^3 chunks": (CHUNK, None, INPUT), "128^3 chunks": ((128,) * 3, None, INPUT),
                 "256^3 shards": (CHUNK, SHARD, INPUT), "512^3 shards": (CHUNK, (512,) * 3, INPUT),
                 "256^3 shards, 256^3 input chunks": (CHUNK, SHARD, SHARD)}  # fmt: skip
#: ngffkit's waves hold 2 super-blocks per thread: 8 with 4 threads, so that even 1 GiB makes several waves.
WAVE_THREADS = 4
NOOP_TASKS = {"full": 2000, "quick": 1000, "smoke": 100}
BUCKET = "bench"
#: What a worker imports before anything is timed (the writer and what it uses on first call; ome-zarr-py's are in
#: benchmarks/distributed_peer.py, in its own environment).
WORKER_MODULES = ("ngffkit.writer.image", "zarr", "s3fs", "skimage.transform")
#: A request line of moto's (werkzeug's) log, possibly coloured: '"PUT /bench/... HTTP/1.1" 200 -'.
REQUEST = re.compile(r'"(?:\x1b\[[0-9;]*m)?([A-Z]+) /')


@dataclass
class Moto:
    """moto's S3 server in its own process (the objects it keeps in memory are not counted in this process's
    RSS); its log is the request count."""

    port: int
    log: Path
    server: subprocess.Popen[bytes]
    bucket: bool = False

    def options(self) -> dict[str, Any]:
        client = {"endpoint_url": f"http://127.0.0.1:{self.port}", "region_name": "us-east-1"}
        return {"key": "k", "secret": "s", "client_kwargs": client}

    def requests(self) -> Counter[str]:
        time.sleep(0.2)  # the server logs a request after answering it
        return Counter(REQUEST.findall(self.log.read_text(errors="replace")))

    def ready(self) -> Moto:
        """Wait for the server (it starts while the disk configurations run), and make the bucket once."""
        import boto3

        deadline = time.monotonic() + 60
        while not self.bucket:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                boto3.client("s3", aws_access_key_id="k", aws_secret_access_key="s", **self.options()["client_kwargs"]
                             ).create_bucket(Bucket=BUCKET)  # fmt: skip
                self.bucket = True
            if not self.bucket and (time.monotonic() > deadline or self.server.poll() is not None):
                raise RuntimeError(f"moto's server did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        return self


@contextlib.contextmanager
def moto_server(folder: Path) -> Iterator[Moto]:
    """moto's server starting on a free port of 127.0.0.1 (see :meth:`Moto.ready`); stopped at the end."""
    port, log = free_port(), folder / "moto.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                  stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        yield Moto(port, log, server)
    finally:
        server.kill()  # it keeps nothing worth a graceful stop
        server.wait()


def have_moto() -> bool:
    """moto's server and s3fs are installed (looked up, not imported: moto's import takes seconds)."""
    return all(importlib.util.find_spec(name) is not None for name in ("moto", "flask", "s3fs", "boto3"))


def ngffkit_write(data: da.Array, dest: str, shards: Any, options: Any, compute: bool = True) -> Callable[[], object]:
    """ngffkit's write; with ``compute=False`` the returned Delayed is computed by the active scheduler."""
    if compute:
        return lambda: ngffkit.write_image(data, dest, storage_options=options, shards=shards, **OPTIONS)
    return lambda: dask.compute(
        ngffkit.write_image(data, dest, storage_options=options, shards=shards, compute=False, **OPTIONS)
    )


def check_and_remove(dest: str, options: dict[str, Any] | None) -> None:
    """Validate what was written (a benchmark of a broken write measures nothing), then delete it."""
    report = ngffkit.validate(dest, storage_options=options)
    if not report.valid:
        raise RuntimeError(f"{dest} is not a valid OME-Zarr image:\n{report}")
    if dest.startswith("s3://"):
        import s3fs

        s3fs.S3FileSystem(**(options or {}), skip_instance_cache=True).rm(dest, recursive=True)
    else:
        shutil.rmtree(dest)


def warm_up(scratch: Path, client: Any) -> None:
    """Imports and first-use costs paid before anything is timed: the writers imported in every worker, and a
    tiny write with the scheduler."""
    if client is not None:
        client.run(import_modules, WORKER_MODULES)
    with threads() if client is None else contextlib.nullcontext():
        ngffkit.write_image(synthetic_volume((8, 64, 64)), scratch / "warm-up.zarr", **{**OPTIONS, "levels": 2})
    shutil.rmtree(scratch / "warm-up.zarr")


def cases(workers: int, moto: Moto | None) -> Iterator[tuple[str, str, str, Callable[..., Callable[[], object]]]]:
    """(writer, target, layout, writer factory) of every ngffkit configuration run with ``workers`` workers (0:
    threads). ome-zarr-py's run in its own environment: :func:`peer_rows`."""
    for target in ("disk", "S3") if moto is not None else ("disk",):
        for layout in LAYOUTS:
            yield "ngffkit", target, layout, ngffkit_write
        if workers == 2:
            yield "ngffkit compute=False", target, "64^3 chunks", partial(ngffkit_write, compute=False)


def run_scheduler(label: str, workers: int, data: da.Array, scratch: Path, moto: Moto | None, client: Any) -> list[Row]:
    """Every configuration with one scheduler: ``client`` None (``workers`` 0) is dask's threaded scheduler."""
    warm_up(scratch, client)
    rows = []
    for n, (writer, target, layout, factory) in enumerate(cases(workers, moto)):
        server = moto.ready() if target == "S3" and moto is not None else None
        dest = f"s3://{BUCKET}/{workers}-{n}.zarr" if server else str(scratch / f"{workers}-{n}.zarr")
        options = server.options() if server else None
        write = factory(data, dest, LAYOUTS[layout], options)
        row = measure(Row(writer, label, target, layout), write, client, server.requests if server else None)
        print(f"{writer}, {label}, {target}, {layout}: {row.seconds:.2f} s", flush=True)
        rows.append(row)
        check_and_remove(dest, options)
    return rows


def peer_rows(size: str, scratch: Path) -> list[Row]:
    """ome-zarr-py's write on a 2-worker LocalCluster of its own, started by a process of its environment (peers/:
    ome-zarr-py with distributed), measured there by the same code (benchmarks/cluster_measure.py); what it wrote
    is validated here."""
    command = OME_ZARR_PY_CLUSTER.command("benchmarks.distributed_peer", json.dumps(SIZES[size]), str(scratch))
    proc = subprocess.run(command, capture_output=True, text=True, check=False, env=process_environment())
    answers = [line for line in proc.stdout.splitlines() if line.startswith("ROW ")]
    if proc.returncode != 0 or len(answers) != len(LAYOUTS):
        raise RuntimeError(f"ome-zarr-py's cluster run failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    rows = []
    for line in answers:
        found = json.loads(line.removeprefix("ROW "))
        dest = found.pop("dest")
        rows.append(Row.from_json(found))
        print(f"{rows[-1].writer}, {rows[-1].scheduler}, disk, {rows[-1].layout}: {rows[-1].seconds:.2f} s", flush=True)
        check_and_remove(dest, None)
    return rows


def overheads(data: da.Array, client: Any, tasks: int) -> tuple[float, float]:
    """(seconds to make the source alone: the synthetic volume, summed; milliseconds per no-op task) here."""
    with threads() if client is None else contextlib.nullcontext():
        start = time.perf_counter()
        dask.compute(data.sum())
        source = time.perf_counter() - start
        start = time.perf_counter()
        dask.compute(*[dask.delayed(abs)(i) for i in range(tasks)])
    return source, 1000 * (time.perf_counter() - start) / tasks


@dataclass
class GraphCost:
    gib: float
    layout: str
    tasks: int = 0
    #: Client seconds before each dask.compute call: planning and the first graph, then one per wave.
    calls: list[float] = field(default_factory=list)
    seconds: float = 0.0
    mib: float = 0.0
    #: Bytes of the last task of ``write_image(compute=False)`` (it writes the metadata), pickled.
    finish: int = 0

    def cells(self) -> list[str]:
        waves = f"{statistics.median(self.calls[1:-1]):.3f} s" if len(self.calls) > 2 else "—"
        return [f"{self.gib:.2f} GiB", self.layout, str(self.tasks), f"{self.tasks / self.gib:.0f}", str(len(self.calls)),
                f"{self.seconds:.2f} s", waves, f"{self.mib:.0f} MiB", f"{self.finish / 2**20:.2f} MiB"]  # fmt: skip


def graph_cost(shape: tuple[int, int, int], layout: str, scratch: Path) -> GraphCost:
    """What ``write_image(lazy volume)`` does in the client before and between tasks: nothing is computed (a
    stand-in scheduler materialises each graph it is given, as a real one must, and returns at once)."""
    chunks, shards, source = GRAPH_LAYOUTS[layout]
    cost, last = GraphCost(2 * math.prod(shape) / 2**30, layout), [0.0]

    def materialise(expr: Any, keys: list[Any], **_: Any) -> list[None]:
        cost.tasks += len(dict(expr.__dask_graph__()))
        cost.calls.append(time.perf_counter() - last[0])  # since the previous call returned
        last[0] = time.perf_counter()
        return [None] * len(keys)

    options, base, dest = {**OPTIONS, "chunks": chunks, "shards": shards}, peak_mib("VmRSS"), scratch / "graph.zarr"
    reset_peak()
    with dask.config.set(scheduler=materialise, num_workers=WAVE_THREADS):
        last[0] = start = time.perf_counter()
        ngffkit.write_image(synthetic_volume(shape, source), dest, **options)
        cost.seconds = time.perf_counter() - start
    cost.mib = peak_mib() - base
    lazy = ngffkit.write_image(synthetic_volume(shape, source), dest, overwrite=True, compute=False, **options)
    assert isinstance(lazy, Delayed)
    cost.finish = len(cloudpickle.dumps(dict(lazy.__dask_graph__())[lazy.key]))
    shutil.rmtree(dest)
    return cost


def fork_preloaded_workers() -> None:
    """Workers fork from a server that has imported the writers (distributed's "forkserver" method with a longer
    preload list): starting a cluster then costs no imports -- which :func:`warm_up` keeps out of every
    measurement anyway -- and the smoke run stays short on two cores."""
    import distributed.utils

    dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"})
    distributed.utils.get_mp_context().set_forkserver_preload(["distributed", *WORKER_MODULES])


def run_all(size: str, scratch: Path) -> tuple[list[Row], dict[str, tuple[float, float]]]:
    """Every configuration: threads first (no client may be active), then each cluster."""
    import distributed

    fork_preloaded_workers()
    data = synthetic_volume(SIZES[size])
    with contextlib.ExitStack() as stack:
        moto = stack.enter_context(moto_server(scratch)) if have_moto() else None
        label = f"threads x {CORES} (in-process)"
        rows = run_scheduler(label, 0, data, scratch, moto, None)
        extra = {label: overheads(data, None, NOOP_TASKS[size])}
        for workers in (1, 2):  # as many threads in all as this machine has cores
            each, label = max(1, CORES // workers), cluster_label(workers)
            with distributed.LocalCluster(n_workers=workers, threads_per_worker=each, processes=True,
                                          dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                    distributed.Client(cluster) as client:  # fmt: skip
                rows += run_scheduler(label, workers, data, scratch, moto, client)
                extra[label] = overheads(data, client, NOOP_TASKS[size])
    rows += peer_rows(size, scratch)  # after this process's clusters have stopped: no idle workers alongside
    return rows, extra


def report(size: str, rows: list[Row], extra: dict[str, tuple[float, float]], costs: list[GraphCost]) -> list[str]:
    shape = SIZES[size]
    gib = 2 * shape[0] * shape[1] * shape[2] / 2**30
    moto_missing = not any(row.target == "S3" for row in rows)
    header = ["writer", "scheduler", "target", "layout", "time", "level-0 throughput", "tasks run", "worker busy",
              "S3 PUT / all requests", "sent between workers", "peak RSS per worker", "client + scheduler peak RSS"]  # fmt: skip
    lines = [
        "# Writing with dask.distributed: LocalCluster vs threads, disk vs S3 (moto)", "", f"Machine: {machine()}", "",
        f"{gib:.3f} GiB lazy uint16 volume {shape} (synthetic_volume, 64x256x256 input chunks, made where the task "
        f"runs), {LEVELS} levels (2x in z, y, x), 64^3 chunks, blosc-lz4 (ngffkit's default), NGFF 0.5; one run "
        "each. S3 = moto's server in its own process on 127.0.0.1 (no network latency; moto shares the cores).",
        "Peak RSS = VmHWM of each process, reset just before the write (from: its RSS then); the threaded baseline's "
        "worker is this process. *worker busy* = task time / (wall time x threads), from distributed's task stream.",
        f"ome-zarr-py in its own environment, its cluster started there: {peer_versions(OME_ZARR_PY_CLUSTER)}.", "",
        "| " + " | ".join(header) + " |", "|" + " --- |" * len(header),
        *("| " + " | ".join(row.cells(gib)) + " |" for row in rows), "",
    ]  # fmt: skip
    lines += [*(["No S3 rows: moto[server] and s3fs are not installed.", ""] if moto_missing else []),
              "Source and scheduler alone, per scheduler: the synthetic volume computed and summed (no writing), "
              "and no-op tasks (end-to-end, client included):", ""]  # fmt: skip
    lines += [f"- {label}: source {source:.2f} s; {ms:.2f} ms per no-op task" for label, (source, ms) in extra.items()]
    lines += ["", "## What grows with the volume (nothing computed)", "",
              f"`write_image(lazy volume)` with a stand-in scheduler that materialises each graph and returns, "
              f"`num_workers={WAVE_THREADS}` (waves of {2 * WAVE_THREADS} super-blocks): tasks in the graphs, dask.compute "
              "calls, client time (planning, graph building, optimising, materialising) in all and per wave (median; "
              "waves are the calls between the first and the last), client memory growth, and the pickled size of "
              "the last task of `write_image(compute=False)`. Input: synthetic_volume, 64x256x256 chunks unless said.",
              "", "| volume | layout | tasks | tasks per GiB | compute calls | client time | client time per wave "
              "| client memory | compute=False last task |", "|" + " --- |" * 9,
              *("| " + " | ".join(c.cells()) + " |" for c in costs)]  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a 256 MiB volume; graphs of 1 and 8 GiB")
    parser.add_argument("--smoke", action="store_true", help="a 4 MiB volume: checks that every configuration runs")
    args = parser.parse_args()
    size = "smoke" if args.smoke else "quick" if args.quick else "full"
    scratch = Path(tempfile.mkdtemp(prefix="ngffkit-distributed-"))
    try:
        rows, extra = run_all(size, scratch)
        costs = [graph_cost(shape, layout, scratch) for shape in GRAPH_SIZES[size] for layout in GRAPH_LAYOUTS]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    lines = report(size, rows, extra, costs)
    print("\n".join(lines), "\nsaved to", save("distributed" + ("" if size == "full" else f"_{size}"), lines))


if __name__ == "__main__":
    main()
