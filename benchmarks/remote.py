"""Remote reading: ngffkit against napari-ome-zarr and ome-zarr-py over HTTP with 20 ms per response.

Cases 3-6 of the benchmark plan, all in one run, on data this script writes itself:
  3. plate open: a 96-well plate (4 fields, 3 levels) until napari layer data is ready (no pixels; how this
     grows from 24 to 1536 wells is benchmarks/plates.py);
  4. image first view: a 3-level 2048^2 x 3-channel image: layer data, then the first low-resolution plane;
  5. plane read: one z-plane of a 3D level: chunks fetched against chunks the plane intersects;
  6. validation of the whole plate is measured in benchmarks/plates.py, against a real peer visiting the same
     nodes (ome-zarr-models' ``HCS.from_zarr``; it was compared here with ngffkit patched into a sequential walk);
  7. switching wells (the plate navigator): on an open plate, a well's field as layer data plus its first
     full-resolution plane, against napari-ome-zarr opening that field's URL (what a person types today;
     napari-ome-zarr 0.10 returns no layers for a well's URL).
Requests and sequential "waves" (requests that could not have been sent together) come from the server log. Each
reader runs in a client process of its own (:mod:`benchmarks.client_process`) that pays every import first --
the peers in their own environments (peers/; their jobs are :mod:`benchmarks.peer_readers`); the server stays in
this process (before, its CPU was counted in every reader's time).

Run: python -m benchmarks.remote [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from loopback.servers import http_file_server
from peers import NAPARI_OME_ZARR, OME_ZARR_PY, process_environment

import ngffkit
from benchmarks.client_process import ClientProcess, serve
from benchmarks.common import machine, peer_versions, save

LATENCY = 0.02


def measure(client: ClientProcess, job: str, repeat: int) -> dict[str, Any]:
    """The median time of ``repeat`` runs of a job; requests, waves and chunk requests of the last run."""
    times, result = [], {}
    for _ in range(repeat):
        result = client.run(job)
        times.append(result["time"])
    chunks = sum(1 for path in result["paths"] if "/c/" in path or path.rsplit("/", 1)[-1][:1].isdigit())
    return {"time": statistics.median(times), "spread": (max(times) - min(times)) / 2,
            "requests": result["requests"], "waves": result["waves"], "chunks": chunks}  # fmt: skip


def plate_layout(quick: bool) -> tuple[str, tuple[str, ...]]:
    """The plate's row names and column names: 4 x 6 wells with --quick, else 8 x 12."""
    return ("ABCD", tuple("123456")) if quick else ("ABCDEFGH", tuple(str(i) for i in range(1, 13)))


def make_data(root: Path, wells: tuple[str, tuple[str, ...]]) -> None:
    rows, columns = wells
    ngffkit.write_plate(
        root / "plate.zarr", list(rows), list(columns), [f"{r}/{c}" for r in rows for c in columns], fields=4
    )
    field = np.random.default_rng(0).integers(0, 4000, (2, 256, 256), dtype=np.uint16)
    for r in rows:
        for c in columns:
            for f in range(4):
                ngffkit.write_field(
                    root / "plate.zarr", f"{r}/{c}", f, field, axes="cyx", levels=3, chunks=(1, 256, 256)
                )
    image = np.random.default_rng(1).integers(0, 255, (3, 2048, 2048), dtype=np.uint8)
    ngffkit.write_image(
        image, root / "image.zarr", axes="cyx", levels=3, chunks=(1, 512, 512), channels=["R", "G", "B"]
    )
    volume = np.random.default_rng(2).integers(0, 255, (64, 512, 512), dtype=np.uint8)
    ngffkit.write_image(volume, root / "volume.zarr", axes="zyx", levels=2, chunks=(16, 128, 128))
    ngffkit.write_image(np.zeros((2, 64, 64), np.uint16), root / "warm.zarr", axes="cyx")


def reader_jobs(server_url: str, wells: list[str]) -> dict[str, Callable[[], Any]]:
    """ngffkit's jobs of cases 3-7 by name, as its client process runs them (the peers' are in
    :mod:`benchmarks.peer_readers`, run in their own environments); ``wells``: the ones to switch between."""
    plate, image, volume = (f"{server_url}/{name}.zarr" for name in ("plate", "image", "volume"))
    switches = itertools.cycle(wells)
    opened: list[Any] = []

    def open_plate_with_wells() -> None:
        opened.append(ngffkit.open(plate))
        opened[0].load_wells()  # as the plate navigator does when it attaches (its well table)

    def first_view() -> None:
        (data, _, _), *_ = ngffkit.layers(ngffkit.open(image))
        np.asarray(data[-1][0])

    def switch() -> None:
        (data, _, _), *_ = ngffkit.layers(opened[0].well(next(switches)).field(0))
        np.asarray(data[0][0])

    return {
        "plate": lambda: ngffkit.layers(ngffkit.open(plate)),
        "view": first_view,
        "plane": lambda: np.asarray(ngffkit.open(volume).levels[0][20]),
        "switch prepare": open_plate_with_wells,
        "switch": switch,
    }


def switch_targets(quick: bool) -> list[str]:
    """The wells case 7 switches between: the first four of the diagonal."""
    rows, columns = plate_layout(quick)
    return [f"{r}/{c}" for r, c in zip(rows, columns, strict=False)][:4]


def warm_up(server_url: str) -> None:
    """Pay every import (HTTP client, dask's scheduler, the validator) on an image of its own."""
    warm = f"{server_url}/warm.zarr"
    np.asarray(ngffkit.open(warm).levels[0])
    ngffkit.validate(warm)


def child(server_url: str, wells: list[str]) -> None:
    serve(lambda: warm_up(server_url), reader_jobs(server_url, wells).__getitem__)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3].split(","))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a 24-well plate and one repetition")
    parser.add_argument("--smoke", action="store_true", help="as --quick, saved apart: checks the script runs")
    args = parser.parse_args()
    args.quick = args.quick or args.smoke
    rows_names, columns = plate_layout(args.quick)
    repeat = 1 if args.quick else 3
    tmp = Path(tempfile.mkdtemp(prefix="ngffkit-remote-"))
    make_data(tmp, (rows_names, columns))
    n_wells = len(rows_names) * len(columns)
    wells = ",".join(switch_targets(args.quick))
    viewer, reader = NAPARI_OME_ZARR.label(), f"{OME_ZARR_PY.label()} Reader"
    rows: list[str] = []
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(http_file_server(tmp, listing=False, latency=LATENCY, keep_alive=True))
        ours = stack.enter_context(ClientProcess(server, [sys.executable, "-m", "benchmarks.remote", "--child",
                                                          server.url, wells]))  # fmt: skip
        napari_ome_zarr = stack.enter_context(ClientProcess(server, NAPARI_OME_ZARR.command(
            "benchmarks.peer_readers", "remote-napari-ome-zarr", server.url, wells), env=process_environment()))  # fmt: skip
        ome_zarr_py = stack.enter_context(ClientProcess(server, OME_ZARR_PY.command(
            "benchmarks.peer_readers", "remote-ome-zarr-py", server.url), env=process_environment()))  # fmt: skip
        results = {
            "ngffkit": measure(ours, "plate", repeat),
            viewer: measure(napari_ome_zarr, "plate", repeat),
            reader: measure(ome_zarr_py, "plate", repeat),
        }
        rows += _table(
            f"3. Plate open: {n_wells} wells x 4 fields x 3 levels, until napari layer data is ready -- lazy (ngffkit reads "
            "the wells when first shown) against eager (the peers read every well first), not the same work",
            results,
        )
        results = {"ngffkit": measure(ours, "view", repeat), viewer: measure(napari_ome_zarr, "view", repeat)}
        rows += _table("4. Image first view: 3 x 2048^2, 3 levels: layer data + the first lowest-level plane", results)
        plane_chunks = (512 // 128) ** 2
        results = {"ngffkit": measure(ours, "plane", repeat), reader: measure(ome_zarr_py, "plane", repeat)}
        rows += _table(f"5. Plane read: z = 20 of a 64 x 512^2 level, chunks (16, 128, 128): {plane_chunks} chunks hold it",
                       results, chunks=True)  # fmt: skip
        ours.run("switch prepare")  # not measured: the navigator has the plate and its wells before a switch
        switches = min(4, len(rows_names)) * repeat
        results = {
            "ngffkit navigator": measure(ours, "switch", switches),
            f"{viewer} (field URL)": measure(napari_ome_zarr, "switch", switches),
        }
        rows += _table("7. Switch to another well: its field as layer data + the first full-resolution plane", results)
    lines = [
        "# Remote reading: ngffkit vs napari-ome-zarr and ome-zarr-py",
        "",
        f"Machine: {machine()}",
        "",
        f"Loopback HTTP/1.1 server (keep-alive) without directory listing, {LATENCY * 1000:.0f} ms added to every "
        "response, in a process apart from the readers'; each reader in a client process of its own, the peers in "
        f"their own environments ({peer_versions(NAPARI_OME_ZARR, OME_ZARR_PY)});",
        f"{repeat} repetition(s), median. *waves* = sequential round trips (requests that could not overlap).",
        "",
        *rows,
    ]
    path = save("remote" + ("_smoke" if args.smoke else "_quick" if args.quick else ""), lines)
    print("\n".join(lines))
    print(f"\nsaved to {path}")


def _table(title: str, results: dict[str, dict[str, Any]], *, chunks: bool = False) -> list[str]:
    base = results[next(iter(results))]["time"]
    extra = " chunk requests |" if chunks else ""
    out = [f"### {title}", "", f"| reader | time | requests | waves |{extra} slower than ngffkit |",
           "| --- | --- | --- | --- |" + (" --- |" if chunks else "") + " --- |"]  # fmt: skip
    for name, r in results.items():
        cells = f" {r['chunks']} |" if chunks else ""
        out.append(
            f"| {name} | {r['time']:.2f} s ± {r['spread']:.2f} | {r['requests']} | {r['waves']} |{cells} {r['time'] / base:.1f}x |"
        )
    return [*out, ""]


if __name__ == "__main__":
    main()
