"""Remote reading: ngffkit against napari-ome-zarr and ome-zarr-py over HTTP with 20 ms per response.

Cases 3-6 of the benchmark plan, all in one run, on data this script writes itself:
  3. plate open: a 96-well plate (4 fields, 3 levels) until napari layer data is ready (no pixels; how this
     grows from 24 to 1536 wells is benchmarks/plates.py);
  4. image first view: a 3-level 2048^2 x 3-channel image: layer data, then the first low-resolution plane;
  5. plane read: one z-plane of a 3D level: chunks fetched against chunks the plane intersects;
  6. validation of the whole plate: ngffkit (concurrent per depth) against the same walk made sequentially;
  7. switching wells (the plate navigator): on an open plate, a well's field as layer data plus its first
     full-resolution plane, against napari-ome-zarr opening that field's URL (what a person types today;
     napari-ome-zarr 0.10 returns no layers for a well's URL).
Requests and sequential "waves" (requests that could not have been sent together) come from the server log.

Run: python -m benchmarks.remote [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from loopback.servers import http_file_server

import ngffkit
from benchmarks.common import machine, save
from ngffkit.store import batch

LATENCY = 0.02


def measure(server: Any, fn: Callable[[], Any], repeat: int) -> dict[str, Any]:
    times, requests, seq, chunks = [], 0, 0, 0
    for _ in range(repeat):
        server.log.clear()
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
        times.append(time.perf_counter() - start)
        requests, seq = len(server.log.entries), server.log.sequential_waves()
        chunks = sum(1 for path in server.log.paths() if "/c/" in path or path.rsplit("/", 1)[-1][:1].isdigit())
    return {"time": statistics.median(times), "spread": (max(times) - min(times)) / 2, "requests": requests,
            "waves": seq, "chunks": chunks}  # fmt: skip


def make_data(root: Path, wells: tuple[str, str]) -> None:
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


def napari_ome_zarr_layers(url: str) -> list[Any]:
    from napari_ome_zarr._reader import napari_get_reader

    return napari_get_reader(url)(url)


def ome_zarr_nodes(url: str) -> list[Any]:
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    return list(Reader(parse_url(url))())


def sequential_validate(url: str) -> ngffkit.Report:
    """The same validation, but every document fetched one after the other (as most tools do)."""
    original = batch.read_many_or_errors

    def one_by_one(locations: Any, expect: Any = None, **_: Any) -> list[Any]:
        expects = [expect] * len(locations) if expect is None or isinstance(expect, str) else list(expect)
        return [loc.read(e) for loc, e in zip(locations, expects, strict=True)]

    hierarchy = importlib.import_module("ngffkit.validate.hierarchy")
    hierarchy.read_many_or_errors = one_by_one  # type: ignore[assignment]
    try:
        return ngffkit.validate(url)
    finally:
        hierarchy.read_many_or_errors = original


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a 24-well plate and one repetition")
    parser.add_argument("--smoke", action="store_true", help="as --quick, saved apart: checks the script runs")
    args = parser.parse_args()
    args.quick = args.quick or args.smoke
    wells = ("ABCD", "123456") if args.quick else ("ABCDEFGH", "123456789ABC")
    columns = tuple(wells[1]) if args.quick else tuple(str(i) for i in range(1, 13))
    repeat = 1 if args.quick else 3
    tmp = Path(tempfile.mkdtemp(prefix="ngffkit-remote-"))
    make_data(tmp, (wells[0], columns))  # type: ignore[arg-type]
    n_wells = len(wells[0]) * len(columns)
    rows: list[str] = []
    with http_file_server(tmp, listing=False, latency=LATENCY, keep_alive=True) as server:
        plate = f"{server.url}/plate.zarr"
        results = {
            "ngffkit": measure(server, lambda: ngffkit.layers(ngffkit.open(plate)), repeat),
            "napari-ome-zarr": measure(server, lambda: napari_ome_zarr_layers(plate), repeat),
            "ome-zarr-py Reader": measure(server, lambda: ome_zarr_nodes(plate), repeat),
        }
        rows += _table(
            f"3. Plate open: {n_wells} wells x 4 fields x 3 levels, until napari layer data is ready", results
        )
        image = f"{server.url}/image.zarr"

        def ngffkit_first_view() -> None:
            (data, _, _), *_ = ngffkit.layers(ngffkit.open(image))
            np.asarray(data[-1][0])

        def napari_ome_zarr_first_view() -> None:
            data = napari_ome_zarr_layers(image)[0][0]
            np.asarray(data[-1][0])

        results = {
            "ngffkit": measure(server, ngffkit_first_view, repeat),
            "napari-ome-zarr": measure(server, napari_ome_zarr_first_view, repeat),
        }
        rows += _table("4. Image first view: 3 x 2048^2, 3 levels: layer data + the first lowest-level plane", results)
        volume = f"{server.url}/volume.zarr"
        plane_chunks = (512 // 128) ** 2
        results = {
            "ngffkit": measure(server, lambda: np.asarray(ngffkit.open(volume).levels[0][20]), repeat),
            "ome-zarr-py Reader": measure(server, lambda: np.asarray(ome_zarr_nodes(volume)[0].data[0][20]), repeat),
        }
        rows += _table(f"5. Plane read: z = 20 of a 64 x 512^2 level, chunks (16, 128, 128): {plane_chunks} chunks hold it",
                       results, chunks=True)  # fmt: skip
        results = {
            "ngffkit (concurrent)": measure(server, lambda: ngffkit.validate(plate), repeat),
            "same walk, sequential": measure(server, lambda: sequential_validate(plate), 1),
        }
        rows += _table(f"6. Validate the whole {n_wells}-well plate (every well, field, array)", results)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opened = ngffkit.open(plate)
            opened.load_wells()  # as the plate navigator does when it attaches (its well table)
        targets = [f"{r}/{c}" for r, c in zip(wells[0], columns, strict=False)][:4]
        switches = iter(targets * repeat)
        others = iter(targets * repeat)

        def ngffkit_switch() -> None:
            image = opened.well(next(switches)).field(0)  # type: ignore[attr-defined]
            (data, _, _), *_ = ngffkit.layers(image)
            np.asarray(data[0][0])

        def napari_ome_zarr_switch() -> None:
            data = napari_ome_zarr_layers(f"{plate}/{next(others)}/0")[0][0]  # its well URL shows nothing
            np.asarray(data[0][0])

        results = {
            "ngffkit navigator": measure(server, ngffkit_switch, len(targets) * repeat),
            "napari-ome-zarr (field URL)": measure(server, napari_ome_zarr_switch, len(targets) * repeat),
        }
        rows += _table("7. Switch to another well: its field as layer data + the first full-resolution plane", results)
    lines = [
        "# Remote reading: ngffkit vs napari-ome-zarr and ome-zarr-py",
        "",
        f"Machine: {machine()}",
        "",
        f"Loopback HTTP/1.1 server (keep-alive) without directory listing, {LATENCY * 1000:.0f} ms added to every "
        "response;",
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
