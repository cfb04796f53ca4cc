"""Switching wells in the plate navigator: how long napari's event loop stops at each switch.

A person browsing a plate clicks well after well; each switch replaces the well on show (two channels and its
labels, every level) with the next. The goal (issue 32): over 10 switches, the longest pause of a 10 ms Qt
heartbeat per switch has a median of at most 60 ms and a maximum of at most 150 ms (napari's own draw of the
canvas is ~33 ms here) -- for local wells and over HTTP with 20 ms per answer.

The plate is ngffkit's demo plate made larger: 4 x 6 wells, 2 fields of 2 x 128 x 128 uint16 with a label image
each, 2 levels. Each measurement runs in a fresh napari under a display (``xvfb-run -a``):

* ngffkit: the plate opened with ``viewer.open(..., plugin="ngffkit")``, the navigator docked by the reader;
  one switch to warm up, then 10 switches with ``navigator.select(well)``. A switch's window runs from the
  click until the new well's layers show it and every layer is loaded, plus 300 ms for what follows (late
  pixels, refreshes).
* napari-ome-zarr, beside it: it has no navigator, so a person opens the field itself -- ``viewer.layers.clear()``
  and ``viewer.open(<plate>/<row>/<column>/0, plugin="napari-ome-zarr")``, the same field, 10 times. It runs in
  an environment of its own (napari-ome-zarr never shares ngffkit's): ``benchmarks/.envs/napari-ome-zarr-0.11``,
  made with uv on first use, or the interpreter in ``NGFFKIT_BENCH_NAPARI_OME_ZARR_PYTHON``.

Results: ``results/napari_wells.md``. ``--smoke``: 3 switches, local only, no peer.

    xvfb-run -a python -m benchmarks.napari_wells [--smoke]
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SWITCHES = 10
BEAT_MS = 10
#: After a switch is on screen, how long its window stays open for what follows (late pixels, refreshes).
TAIL = 0.3
TIMEOUT = 120.0
LATENCY = 0.02
ROWS, COLUMNS = "ABCD", tuple(str(c) for c in range(1, 7))
PEER = ("napari-ome-zarr==0.11.0", "napari[pyqt6]==0.9.2")


# --- the children: one fresh napari each; they import napari only (the peer's environment has no ngffkit) -------


def _heartbeat() -> tuple[Any, list[float]]:
    from qtpy.QtCore import Qt, QTimer

    beats: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(lambda: beats.append(time.monotonic()))
    timer.start(BEAT_MS)
    return timer, beats


def _run_until(app: Any, done: Any, what: str) -> None:
    end = time.monotonic() + TIMEOUT
    while not done():
        if time.monotonic() > end:
            raise TimeoutError(f"{what}: not done after {TIMEOUT:.0f} s")
        app.processEvents()
        time.sleep(0.002)


def _longest_pause(beats: list[float], start: float, stop: float) -> float:
    inside = [start, *(b for b in beats if start < b <= stop), stop]
    return max(b - a for a, b in itertools.pairwise(inside))


def _settle(app: Any, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.002)


def child_ngffkit(plate: str, switches: int) -> dict[str, Any]:
    import napari

    viewer = napari.Viewer(show=True)
    app = napari.qt.get_qapp()
    viewer.open(plate, plugin="ngffkit")

    def navigator() -> Any:
        name = next((n for n in viewer.window.dock_widgets if n.startswith("Plate navigator")), None)
        return viewer.window.dock_widgets[name] if name else None

    _run_until(app, lambda: navigator() is not None and navigator().plate is not None, "docking the navigator")
    dock = navigator()
    _run_until(app, lambda: dock.status.text() != "reading the wells…", "reading the wells")
    wells = dock.visible_wells()

    def shown(well: str) -> bool:  # every step taken (the status says so), every layer on the well and loaded
        if dock.status.text() != f"{well}, field 0: full resolution":
            return False
        layers = [layer for layer in viewer.layers if layer.metadata.get("ngffkit_well_view")]
        return bool(layers) and all(
            layer.metadata["ngffkit_well_view"]["well"] == well and layer.loaded for layer in layers
        )

    timer, beats = _heartbeat()
    start = time.monotonic()
    dock.select(wells[-1])  # the first well shown adds its layers: reported on its own, not as a switch
    _run_until(app, lambda: shown(wells[-1]), "the first well")
    _settle(app, TAIL)
    first = _longest_pause(beats, start, time.monotonic())
    _settle(app, 0.2)
    pauses, durations, layer_ids = [], [], []
    for well in wells[:switches]:
        start = time.monotonic()
        dock.select(well)
        _run_until(app, lambda well=well: shown(well), f"well {well}")
        on_screen = time.monotonic()
        _settle(app, TAIL)
        pauses.append(_longest_pause(beats, start, time.monotonic()))
        durations.append(on_screen - start)
        layer_ids.append(sorted(id(layer) for layer in viewer.layers))
    timer.stop()
    viewer.close()
    reused = len({tuple(ids) for ids in layer_ids}) == 1
    return {"pauses": pauses, "shown": durations, "layers_reused": reused, "first": first}


def child_napari_ome_zarr(plate: str, switches: int) -> dict[str, Any]:
    import napari

    viewer = napari.Viewer(show=True)
    app = napari.qt.get_qapp()
    wells = [f"{r}/{c}" for r in ROWS for c in COLUMNS]
    # warm-up: the plugin's first open imports it (ngffkit's was imported when the plate opened); every open
    # adds its layers anew, so there is no "first well" of its own to report
    layers = viewer.open(f"{plate}/{wells[-1]}/0", plugin="napari-ome-zarr")
    _run_until(app, lambda: all(layer.loaded for layer in layers), "the warm-up field")
    _settle(app, 0.5)
    timer, beats = _heartbeat()
    pauses, durations = [], []
    for well in wells[:switches]:
        start = time.monotonic()
        viewer.layers.clear()
        layers = viewer.open(f"{plate}/{well}/0", plugin="napari-ome-zarr")
        _run_until(app, lambda layers=layers: all(layer.loaded for layer in layers), f"well {well}")
        on_screen = time.monotonic()
        _settle(app, TAIL)
        pauses.append(_longest_pause(beats, start, time.monotonic()))
        durations.append(on_screen - start)
    timer.stop()
    viewer.close()
    return {"pauses": pauses, "shown": durations, "layers_reused": False}


# --- the parent ----------------------------------------------------------------------------------------------


def peer_python() -> Path:
    """napari-ome-zarr's own environment: ``NGFFKIT_BENCH_NAPARI_OME_ZARR_PYTHON``, or one made with uv."""
    given = os.environ.get("NGFFKIT_BENCH_NAPARI_OME_ZARR_PYTHON")
    if given:
        return Path(given)
    env = ROOT / "benchmarks" / ".envs" / "napari-ome-zarr-0.11"
    python = env / "bin" / "python"
    if not python.exists():
        subprocess.run(["uv", "venv", "-q", str(env), "--python", sys.executable], check=True)
        subprocess.run(["uv", "pip", "install", "-q", "-p", str(python), *PEER], check=True)
    return python


def run_child(python: Path, plugin: str, plate: str, switches: int) -> dict[str, Any]:
    command = [str(python), "-m", "benchmarks.napari_wells", "--child", plugin, plate, str(switches)]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{plugin} child failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    return result


def cell(found: dict[str, Any] | None) -> str:
    if found is None:
        return "not run"
    pauses = [1000 * p for p in found["pauses"]]
    shown = statistics.median(found["shown"]) * 1000
    first = f"; first well after opening: {1000 * found['first']:.0f} ms" if "first" in found else ""
    return f"{statistics.median(pauses):.0f} / {max(pauses):.0f} ms; shown after {shown:.0f} ms{first}"


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        plugin, plate, switches = sys.argv[2], sys.argv[3], int(sys.argv[4])
        found = child_ngffkit(plate, switches) if plugin == "ngffkit" else child_napari_ome_zarr(plate, switches)
        print("RESULT " + json.dumps(found), flush=True)
        return 0
    from loopback.servers import http_file_server

    from benchmarks.common import ensure_bytecode, machine, save
    from ngffkit.samples.examples import write_plate

    smoke = "--smoke" in sys.argv
    switches = 3 if smoke else SWITCHES
    if not smoke:
        ensure_bytecode()
    load = os.getloadavg()[0]
    root = Path(tempfile.mkdtemp(prefix="ngffkit-napari-wells-"))
    plate = write_plate(root / "plate.zarr", rows=ROWS, columns=COLUMNS, fields=2, labels=True)
    peer = None if smoke else peer_python()
    results: dict[str, dict[str, Any]] = {}
    try:
        with http_file_server(root, listing=False, latency=LATENCY, keep_alive=True) as server:
            places = {"local": str(plate)} if smoke else {"local": str(plate), "HTTP": f"{server.url}/plate.zarr"}
            for where, target in places.items():
                results[where] = {"ngffkit": run_child(Path(sys.executable), "ngffkit", target, switches)}
                if peer is not None:
                    results[where]["napari-ome-zarr"] = run_child(peer, "napari-ome-zarr", target, switches)
                print(where, results[where], flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    lines = [f"# Switching wells: napari's longest event-loop pause per switch ({switches} switches)", "", machine(),
             "", f"Each cell: the longest pause of a {BEAT_MS} ms Qt heartbeat per switch, median / max over the "
             f"switches; then the median time until the new well was on screen (loaded); then the longest pause while "
             "the first well after opening the plate is shown (ngffkit only: its layers are added, not reused; not one of the "
             "switches). 4 x 6 wells, 2 x 128 x 128 "
             f"uint16 per field with labels, 2 levels, NGFF 0.5; HTTP: +{LATENCY * 1000:.0f} ms per answer, the "
             "server in the parent process. ngffkit: the plate navigator (layers reused: "
             f"{all(r['ngffkit']['layers_reused'] for r in results.values())}); napari-ome-zarr: the same field "
             "opened anew (layers cleared first), in its own environment. Goal: median <= 60 ms, max <= 150 ms. "
             f"The machine is shared with other work (load average {load:.1f} at the start, "
             f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores): pauses include its noise.",
             "", "| where | ngffkit | napari-ome-zarr |", "| --- | --- | --- |"]  # fmt: skip
    lines += [f"| {where} | {cell(found.get('ngffkit'))} | {cell(found.get('napari-ome-zarr'))} |"
              for where, found in results.items()]  # fmt: skip
    out = save("napari_wells" + ("_smoke" if smoke else ""), lines)
    print("\n".join(lines), f"\n-> {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
