"""How plate cost grows with the number of wells: 24, 96, 384 and 1536 wells over HTTP with 20 ms per answer.

For each plate (2 fields of 2 x 64 x 64 per well, 3 levels, NGFF 0.5), in one run, the work both sides do first:
  * the first view of the whole plate: layer data plus every pixel of the lowest level (what napari draws first),
    ngffkit against napari-ome-zarr (its reader function, as napari calls it);
  * validation of the whole plate -- every well, field and array -- ngffkit against ome-zarr-models'
    ``HCS.from_zarr`` over the same server, with the nodes (metadata documents) each one read beside its time;
  * and, labelled as lazy against eager, opening to napari layer data: ngffkit reads no well until the first view,
    napari-ome-zarr reads them all.
The floor for a job is its sequential round trips x 20 ms; the goal for opening is floor + 150 ms. Each reader runs
in a client process of its own (:mod:`benchmarks.client_process`), which pays every import before timing (a small
image is opened, read and validated first) -- each peer in its own environment (peers/; its jobs are
:mod:`benchmarks.peer_readers`); the server stays in this process, speaks HTTP/1.1 with keep-alive, as object
stores and web servers do, and counts the requests.

Run: python -m benchmarks.plates [--quick] [--smoke]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import string
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from loopback.servers import http_file_server
from peers import NAPARI_OME_ZARR, OME_ZARR_MODELS, Peer, Unavailable, process_environment

import ngffkit
from benchmarks.client_process import ClientProcess, serve
from benchmarks.common import machine, peer_versions, save

LATENCY = 0.02
SHAPES = {24: (4, 6), 96: (8, 12), 384: (16, 24), 1536: (32, 48)}
#: A peer that took longer than this at one size is not run at the next (its cost grows linearly; it is noted).
PEER_BUDGET = 60.0


def make_plate(root: Path, wells: int, fields: int = 2) -> Path:
    """A plate of ``wells`` wells: one well written by ngffkit, the others hard-linked copies of its files (a
    1536-well plate in seconds; every well is complete and valid on its own)."""
    rows, columns = SHAPES[wells]
    row_names = [string.ascii_uppercase[i] if i < 26 else "A" + string.ascii_uppercase[i - 26] for i in range(rows)]
    paths = [f"{r}/{c + 1}" for r in row_names for c in range(columns)]
    plate = root / f"plate{wells}.zarr"
    ngffkit.write_plate(plate, row_names, [str(c + 1) for c in range(columns)], paths, fields=fields)
    data = np.random.default_rng(0).integers(0, 4000, (2, 64, 64), dtype=np.uint16)
    for f in range(fields):
        ngffkit.write_field(plate, paths[0], f, data, axes="cyx", levels=3, chunks=(1, 64, 64))
    for path in paths[1:]:
        for f in range(fields):
            shutil.copytree(plate / paths[0] / str(f), plate / path / str(f), copy_function=os.link)
    return plate


def child(server_url: str) -> None:
    """ngffkit's client process: jobs are lines ``JOB URL`` (the peers' run in client processes of their own
    environments: :mod:`benchmarks.peer_readers`)."""

    def job_named(line: str) -> Callable[[], Any]:
        job, url = line.split()
        return ngffkit_jobs(url)[job]

    serve(lambda: warm_up(server_url), job_named)


def measure(client: ClientProcess, job: str, url: str) -> dict[str, float]:
    result = client.run(f"{job} {url}")
    nodes = len({path for path in result["paths"] if path.endswith("/zarr.json")})
    return {"time": result["time"], "requests": result["requests"], "waves": result["waves"], "nodes": nodes}


def ngffkit_jobs(url: str) -> dict[str, Callable[[], Any]]:
    def first_view() -> None:
        (data, _, _), *_ = ngffkit.layers(ngffkit.open(url))
        np.asarray(data[-1])

    return {"open": lambda: ngffkit.layers(ngffkit.open(url)), "view": first_view,
            "validate": lambda: ngffkit.validate(url)}  # fmt: skip


def warm_up(server_url: str) -> None:
    """Pay every import (HTTP client, dask's scheduler, the validator) before anything is timed
    (:func:`~benchmarks.client_process.serve` runs it with warnings and output silenced)."""
    image = ngffkit.open(f"{server_url}/warm.zarr")
    np.asarray(image.levels[0])
    ngffkit.validate(f"{server_url}/warm.zarr")


#: Each peer's client process: the job set of :mod:`benchmarks.peer_readers` it serves, and the jobs it is measured on.
PEER_JOBS: dict[str, tuple[Peer, str, tuple[str, ...]]] = {
    "napari-ome-zarr": (NAPARI_OME_ZARR, "plates", ("view", "open")),
    "ome-zarr-models": (OME_ZARR_MODELS, "plates-validate", ("validate",)),
}


def peer_client(server: Any, name: str) -> ClientProcess | None:
    """A client process of peer ``name`` in its own environment (peers/), or None if that cannot be built."""
    peer, job_set, _ = PEER_JOBS[name]
    try:
        command = peer.command("benchmarks.peer_readers", job_set, server.url)
    except Unavailable as error:
        print(f"{name}: not measured, its environment could not be built: {error}", flush=True)
        return None
    return ClientProcess(server, command, env=process_environment())


def run(sizes: list[int]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    root = Path(tempfile.mkdtemp(prefix="ngffkit-plates-"))
    ngffkit.write_image(np.zeros((2, 64, 64), np.uint16), root / "warm.zarr", axes="cyx")
    for n in sizes:
        make_plate(root, n)
    rows: list[dict[str, Any]] = []
    slow: dict[str, float] = {}
    labels: dict[str, str] = {}
    command = [sys.executable, "-m", "benchmarks.plates", "--child"]
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(http_file_server(root, listing=False, latency=LATENCY, keep_alive=True))
        client = stack.enter_context(ClientProcess(server, [*command, server.url]))
        peers: dict[str, ClientProcess] = {}
        for name, (peer, _, _) in PEER_JOBS.items():
            process = peer_client(server, name)
            if process is not None:
                peers[name] = stack.enter_context(process)
                labels[name] = peer.label()
        for n in sizes:
            url = f"{server.url}/plate{n}.zarr"
            row: dict[str, Any] = {"wells": n}
            for job in ("view", "open", "validate"):
                row[f"ngffkit {job}"] = measure(client, job, url)
            for name, (_, _, jobs) in PEER_JOBS.items():
                for job in jobs:
                    if name not in peers or slow.get(job, 0.0) > PEER_BUDGET:
                        continue
                    row[f"peer {job}"] = measure(peers[name], job, url)
                    slow[job] = row[f"peer {job}"]["time"]
            rows.append(row)
            print(n, {k: v for k, v in row.items() if k != "wells"}, flush=True)
    shutil.rmtree(root, ignore_errors=True)
    return rows, labels


def _cell(result: dict[str, float] | None, with_floor: bool = False, nodes: bool = False) -> str:
    if result is None:
        return f"not run (over {PEER_BUDGET:.0f} s at the size before, or its environment could not be built)"
    text = f"{result['time']:.2f} s, {result['requests']:.0f} req, {result['waves']:.0f} RT"
    if nodes:
        text += f", **{result['nodes']:.0f} nodes**"
    if with_floor:
        floor = result["waves"] * LATENCY
        text += f" (floor {floor:.2f} s; goal {floor + 0.15:.2f} s)"
    return text


def report(rows: list[dict[str, Any]], labels: dict[str, str]) -> list[str]:
    def ratio(row: dict[str, Any], job: str) -> str:
        peer = row.get(f"peer {job}")
        return f"{peer['time'] / row[f'ngffkit {job}']['time']:.1f}x" if peer else "-"

    viewer = labels.get("napari-ome-zarr", "napari-ome-zarr")
    validator = labels.get("ome-zarr-models", "ome-zarr-models")
    lines = [
        "### First view of the whole plate (the same work on both sides: layer data plus every pixel of the lowest "
        "level)",
        "",
        f"| wells | ngffkit | {viewer} | ratio |",
        "| --- | --- | --- | --- |",
        *(f"| {row['wells']} | {_cell(row['ngffkit view'])} | {_cell(row.get('peer view'))} | {ratio(row, 'view')} |"
          for row in rows),
        "",
        "### Validation of every well, field and array (nodes: the distinct nodes whose zarr.json each one asked for)",
        "",
        f"| wells | `ngffkit.validate(url)` | {validator} `HCS.from_zarr(zarr.open_group(url))` | ratio |",
        "| --- | --- | --- | --- |",
        *(f"| {row['wells']} | {_cell(row['ngffkit validate'], nodes=True)} | {_cell(row.get('peer validate'), nodes=True)} "
          f"| {ratio(row, 'validate')} |" for row in rows),
        "",
        "### Open to napari layer data -- lazy against eager, not the same work",
        "",
        "ngffkit reads the plate's metadata and one field (the grid's layout) and leaves the wells for the first view; "
        f"{viewer} reads every well and field before it returns. The row says what each costs a user before napari "
        "has layers, not which reader does the same work faster.",
        "",
        f"| wells | ngffkit (lazy) | {viewer} (eager) | ratio |",
        "| --- | --- | --- | --- |",
        *(f"| {row['wells']} | {_cell(row['ngffkit open'], True)} | {_cell(row.get('peer open'))} | {ratio(row, 'open')} |"
          for row in rows),
    ]  # fmt: skip
    return [*lines, "", *_shape_of(rows)]


def _shape_of(rows: list[dict[str, Any]]) -> list[str]:
    """Sentences on how each cost grows, computed from the first and last rows."""
    first, last = rows[0], rows[-1]
    grow = last["wells"] / first["wells"]
    out = []
    for job, what in (("open", "Opening"), ("view", "The first view"), ("validate", "Validation")):
        a, b = first[f"ngffkit {job}"], last[f"ngffkit {job}"]
        extra = b["requests"] - a["requests"]
        per_request = (
            f"; {1000 * (b['time'] - a['time']) / extra:.2f} ms per extra request (the client's CPU: the server "
            "answers from another process)"
            if extra > 0
            else ": constant, whatever the plate's size"
        )
        out.append(
            f"- {what}: {grow:.0f}x the wells cost {b['time'] / a['time']:.1f}x the time and "
            f"{b['requests'] / max(1, a['requests']):.1f}x the requests; round trips {a['waves']:.0f} -> "
            f"{b['waves']:.0f}{per_request}."
        )
    return out


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="24 and 96 wells")
    parser.add_argument("--smoke", action="store_true", help="24 wells only, to check the script runs")
    args = parser.parse_args()
    sizes = [24] if args.smoke else [24, 96] if args.quick else [24, 96, 384, 1536]
    rows, labels = run(sizes)
    lines = [
        "# Plates: how cost grows with the number of wells (HTTP, +20 ms per answer)",
        "",
        f"Machine: {machine()}",
        "",
        "2 fields of 2 x 64 x 64 uint16 per well, 3 levels, NGFF 0.5; one run per cell. *RT* = sequential round "
        "trips (requests that could not overlap); *open* = to napari layer data; *first view* = open plus every "
        "pixel of the lowest level. The readers run in a process of their own, the server (HTTP/1.1, keep-alive) in "
        "the benchmark's; each peer in its own environment "
        f"({peer_versions(*(PEER_JOBS[name][0] for name in labels))}).",
        "",
        *report(rows, labels),
    ]
    suffix = "_smoke" if args.smoke else "_quick" if args.quick else ""
    path = save("plates" + suffix, lines)
    print("\n".join(lines))
    print(f"\nsaved to {path}")


if __name__ == "__main__":
    main()
