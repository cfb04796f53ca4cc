"""napari's event loop while a remote plate opens: ngffkit against napari-ome-zarr, 24 to 1536 wells.

The parent writes the plates of :mod:`benchmarks.plates` (2 fields of 2 x 64 x 64 uint16 per well, 3 levels),
serves them over HTTP with 20 ms per response from its own process (so that the server's work does not compete
with napari's thread, as it would not with a real server), and runs one fresh napari per plugin and size
(``python -m benchmarks.napari_plate --child PLUGIN URL WARM ROWS COLUMNS``; napari-ome-zarr's in its own
environment with its own napari, peers/, so the child's code imports nothing of ngffkit's). Each child opens a tiny
remote image first (imports and first-use costs are not the plate's), then, while a 5 ms Qt timer beats:

* ``viewer.open(url, plugin=...)``: when it returned;
* waits until the first channel's layer draws every well (no cell of what it shows is all 0), and when that was;
* the longest pause of the event loop from the open until then: how long the window was frozen at most;
* then one step of the mouse wheel on the whole plate: how long until it is drawn (median of a few).

Needs a display (``xvfb-run -a``). Results: ``results/napari_plate.md`` (``--quick``: 24 and 96 wells;
``--smoke``: 24 wells; ``NGFFKIT_BENCH_RESULTS`` moves them).

    python -m benchmarks.napari_plate [--quick] [--smoke]
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from loopback.servers import http_file_server
from peers import NAPARI_OME_ZARR, process_environment

from benchmarks.common import ensure_bytecode, machine, peer_versions, save

PLUGINS = ("ngffkit", "napari-ome-zarr")
BEAT_MS = 5
#: A peer that took longer than this at one size is not run at the larger ones (it grows linearly; it is noted).
PEER_BUDGET = 60.0
#: ngffkit's cells are the median of this many runs (the window's freeze varies by +-0.5 s from run to run); the
#: peer, 10-40x slower, runs once.
REPEATS = 3
#: Zoom steps measured once the plate is drawn (the median is reported).
ZOOM_STEPS = 7
TIMEOUT = 300.0


def _cells_drawn(layer: Any, rows: int, columns: int) -> bool:
    """Whether every cell of the grid the layer shows holds pixels (the plate's wells are noise, never all 0)."""
    raw = np.asarray(layer._slice.image.raw)
    height, width = raw.shape[-2] // rows, raw.shape[-1] // columns
    if not height or not width or raw.shape[-2] % rows or raw.shape[-1] % columns:
        return False  # not the whole plate in view (a partial tile): keep waiting
    cells = raw.reshape(rows, height, columns, width).max(axis=(1, 3))
    return bool((cells > 0).all())


def child(plugin: str, url: str, warm: str, rows: int, columns: int) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")
    from qtpy.QtCore import Qt, QTimer

    import napari

    viewer = napari.Viewer(show=True)
    app = napari.qt.get_qapp()
    viewer.open(warm, plugin=plugin)
    viewer.layers.clear()
    for _ in range(50):
        app.processEvents()
        time.sleep(0.01)
    beats: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(lambda: beats.append(time.monotonic()))
    timer.start(BEAT_MS)
    opened = time.monotonic()
    layers = viewer.open(url, plugin=plugin)
    returned = time.monotonic()
    first = next(layer for layer in layers if layer.__class__.__name__ == "Image")
    end = opened + TIMEOUT
    while time.monotonic() < end and not (first.loaded and _cells_drawn(first, rows, columns)):
        app.processEvents()
        time.sleep(0.005)
    shown = time.monotonic()
    if shown >= end:
        raise TimeoutError(f"{plugin}: the plate was not drawn in {TIMEOUT:.0f} s")
    viewer.screenshot(canvas_only=True, flash=False)  # drawn, not only sliced
    pauses = [b - a for a, b in itertools.pairwise([opened, *beats]) if b <= shown]
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera  # napari 0.9 moved it
    zooms = []
    for _ in range(ZOOM_STEPS):  # a turn of the mouse wheel: napari lays out and draws every layer again
        start = time.monotonic()
        camera.zoom *= 1.15
        viewer.screenshot(canvas_only=True, flash=False)
        zooms.append(time.monotonic() - start)
    viewer.close()
    return {"returned": returned - opened, "shown": shown - opened, "frozen": max(pauses, default=shown - opened),
            "zoom": float(np.median(zooms))}  # fmt: skip


def run_child(plugin: str, url: str, warm: str, grid: tuple[int, int]) -> dict[str, Any]:
    """One fresh napari opening the plate: napari-ome-zarr's in its own environment, with its own napari (peers/)."""
    args = ["-m", "benchmarks.napari_plate", "--child", plugin, url, warm, *map(str, grid)]
    if plugin == "napari-ome-zarr":
        command, env = [str(NAPARI_OME_ZARR.interpreter()), *args], process_environment()
    else:
        command, env = [sys.executable, *args], None
    proc = subprocess.run(command, capture_output=True, text=True, check=False, timeout=TIMEOUT + 60, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{plugin} child failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    return result


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        plugin, url, warm, rows, columns = sys.argv[2:7]
        print("RESULT " + json.dumps(child(plugin, url, warm, int(rows), int(columns))), flush=True)
        return 0
    import ngffkit
    from benchmarks.plates import LATENCY, SHAPES, make_plate

    mode = "smoke" if "--smoke" in sys.argv else "quick" if "--quick" in sys.argv else "full"
    if mode != "smoke":
        ensure_bytecode()
        ensure_bytecode(NAPARI_OME_ZARR)  # the peer's own environment, built without bytecode
    sizes = {"smoke": [24], "quick": [24, 96], "full": [24, 96, 384, 1536]}[mode]
    repeats = 1 if mode == "smoke" else REPEATS
    root = Path(tempfile.mkdtemp(prefix="ngffkit-napari-plate-"))
    ngffkit.write_image(np.arange(4096, dtype=np.uint16).reshape(64, 64), root / "warm.ome.zarr", axes="yx")
    for wells in sizes:
        make_plate(root, wells)
    results: dict[int, dict[str, dict[str, Any] | None]] = {}
    slow = dict.fromkeys(PLUGINS, 0.0)
    with http_file_server(root, listing=False, latency=LATENCY, keep_alive=True) as server:
        for wells in sizes:
            results[wells] = {}
            for plugin in PLUGINS:
                if slow[plugin] > PEER_BUDGET:
                    results[wells][plugin] = None
                    continue
                url, warm = f"{server.url}/plate{wells}.zarr", f"{server.url}/warm.ome.zarr"
                runs = [
                    run_child(plugin, url, warm, SHAPES[wells]) for _ in range(repeats if plugin == "ngffkit" else 1)
                ]
                found = sorted(runs, key=lambda run: run["frozen"])[len(runs) // 2]
                results[wells][plugin] = found
                slow[plugin] = found["shown"]
                print(wells, plugin, found, flush=True)
    shutil.rmtree(root, ignore_errors=True)

    def cell(found: dict[str, Any] | None) -> str:
        if found is None:
            return f"not run (over {PEER_BUDGET:.0f} s at the size before)"
        return (f"{found['returned']:.2f} s / {found['frozen']:.2f} s / {found['shown']:.2f} s; "
                f"zoom {1000 * found['zoom']:.0f} ms")  # fmt: skip

    lines = [f"# napari opening a remote plate: the window's longest freeze (HTTP, +{LATENCY * 1000:.0f} ms per answer)",
             "", machine(), "", f"napari-ome-zarr in its own environment: {peer_versions(NAPARI_OME_ZARR)}.", "",
             "Each cell: viewer.open returned after / the event loop's longest pause / every well drawn after, from "
             f"the call of viewer.open (a {BEAT_MS} ms Qt timer beats meanwhile; one fresh napari per run, imports "
             "paid before). 2 fields of 2 x 64 x 64 uint16 per well, 3 levels, NGFF 0.5; the server runs in "
             f"another process. ngffkit: the run with the median pause of {repeats}. *zoom*: once every well is drawn, "
             f"one step of the mouse wheel (zoom x 1.15) until drawn, median of {ZOOM_STEPS}. Mode {mode}.",
             "", "| wells | " + " | ".join(PLUGINS) + " |", "| --- |" + " --- |" * len(PLUGINS)]  # fmt: skip
    lines += [f"| {wells} | " + " | ".join(cell(found[p]) for p in PLUGINS) + " |" for wells, found in results.items()]
    out = save("napari_plate" + ("" if mode == "full" else f"_{mode}"), lines)
    print("\n".join(lines), f"\n-> {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
