"""napari's event loop on a remote OME-Zarr: ngffkit against napari-ome-zarr, stepping z and t.

The parent writes a ``tczyx`` volume (one channel, 3 levels, 256 x 256 chunks), serves it over HTTP with 20 ms per
response (keep-alive, no listings: as an object store does) and runs one fresh napari per plugin and repetition
(``python -m benchmarks.napari_latency --child PLUGIN URL PATH WARM Z_STEPS T_STEPS SETTLE``; napari-ome-zarr's in
its own environment with its own napari, peers/, so the child's code imports nothing of ngffkit's). Each child

* opens the URL with ``viewer.open(url, plugin=...)`` (after opening a tiny local image, so that imports are not
  counted) and watches the canvas: the *first picture* is the first screenshot that is not blank, the *first sharp
  picture* the moment the layer draws what is on disk for the level and region napari chose. Sequential round
  trips come from the server log: from the open until napari has built the layer (its first draw is in the
  constructor), and until the first sharp picture;
* steps z, then t, at the fitted view, then z zoomed in to full resolution, one step every 120 ms from a Qt timer,
  while a 5 ms Qt timer beats: the longest pause between two beats in a step's window is the time the event loop
  was *blocked* in that step (drawing included); also how long ``set_current_step`` took, and when the step's last
  new picture was handed to the canvas;
* checks that what is shown at the end of each run is right (the layer's displayed pixels against the disk).

A third column, the same pyramid as numpy arrays in memory, is napari's own cost on the machine: the floor.

Needs a display (``xvfb-run -a``). Results: ``results/napari_latency.md`` (``NGFFKIT_BENCH_RESULTS`` moves them;
``--quick`` and ``--smoke`` write ``napari_latency_quick.md`` / ``napari_latency_smoke.md``).

    python -m benchmarks.napari_latency [--quick] [--smoke]
"""

from __future__ import annotations

import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from loopback.servers import RequestLog, http_file_server
from peers import NAPARI_OME_ZARR, process_environment

from benchmarks.common import ensure_bytecode, machine, peer_versions, save

PLUGINS = ("ngffkit", "napari-ome-zarr")
#: napari's own cost on this machine: the same pyramid as numpy arrays in memory (no reader, no network).
FLOOR = "numpy in memory"
LATENCY = 0.02
BEAT_MS = 5
STEP_MS = 120
#: name -> (shape tczyx, levels, steps along z, steps along t, seconds to settle before and after a run, repetitions)
MODES = {
    "full": ((8, 1, 24, 1024, 1024), 3, 20, 7, 1.0, 3),
    "quick": ((3, 1, 12, 1024, 1024), 3, 10, 2, 1.0, 1),
    "smoke": ((2, 1, 4, 256, 256), 2, 3, 1, 0.3, 1),
}
RUNS = ("z", "t", "z zoomed")


# ---------------------------------------------------------------- child: one napari, one plugin


def _wait(app: Any, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.002)


class Heartbeat:
    """A 5 ms precise Qt timer: the times it fired. A pause between two beats is time the event loop was busy."""

    def __init__(self) -> None:
        from qtpy.QtCore import Qt, QTimer

        self.beats: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(lambda: self.beats.append(time.monotonic()))
        self.timer.start(BEAT_MS)

    def longest_pause(self, start: float, end: float) -> float:
        """The longest pause (seconds) ending in [start, end), counting the pause that spans ``start``."""
        beats = self.beats
        pauses = [b - a for a, b in itertools.pairwise(beats) if start <= b < end]
        return max(pauses, default=end - start)


def levels_on_disk(path: str) -> list[Any]:
    """The pyramid's levels as zarr arrays, found through its multiscales metadata: what is on disk, read by plain
    zarr (the child runs in napari-ome-zarr's environment too, which has no ngffkit)."""
    import zarr

    group = zarr.open_group(path, mode="r")
    attributes = group.attrs.asdict()
    multiscales = attributes.get("ome", attributes)["multiscales"][0]
    return [group[dataset["path"]] for dataset in multiscales["datasets"]]


class Truth:
    """The pixels a layer should show, read from the file on disk (once per region)."""

    def __init__(self, path: str) -> None:
        self.levels = levels_on_disk(path)
        self.known: dict[tuple[Any, ...], np.ndarray] = {}

    def warm_up(self) -> None:
        """Read a pixel of every level once: the first read in a process pays for dask's thread pool and the
        reader's first use (~0.5 s), which belongs to no plugin's first sharp picture."""
        for level in self.levels:
            np.asarray(level[(0,) * level.ndim])

    def shown_right(self, layer: Any) -> bool:
        """Whether the layer draws the right pixels: its displayed tile against the same region on disk."""
        level = layer.data_level if layer.multiscale else 0
        corners = np.asarray(layer.corner_pixels)
        point = [0 if np.isnan(p) else round(p) for p in layer._data_slice.point]
        displayed = layer._slice_input.displayed
        index = tuple(
            slice(int(corners[0, d]), int(corners[1, d]) + 1) if d in displayed else point[d] for d in range(layer.ndim)
        )
        key = (level, repr(index))
        if key not in self.known:  # the channel axis (of one channel) was split off by napari
            self.known[key] = np.asarray(self.levels[level][(index[0], 0, *index[1:])])
        return np.array_equal(np.asarray(layer._slice.image.raw), self.known[key])


def first_frames(viewer: Any, app: Any, layer: Any, truth: Truth, timeout: float = 60.0) -> tuple[float, float]:
    """When the canvas first showed pixels (a screenshot that is not blank), and when it first showed the right
    ones in full (the layer draws what is on disk for the level and region napari chose)."""
    end, picture = time.monotonic() + timeout, None
    while time.monotonic() < end:
        app.processEvents()
        if picture is None:
            pixels = np.asarray(viewer.screenshot(canvas_only=True, flash=False))
            picture = time.monotonic() if pixels[..., :3].std() > 1.0 else None
        if picture is not None and layer.loaded and truth.shown_right(layer):
            viewer.screenshot(canvas_only=True, flash=False)  # drawn, not only sliced
            return picture, time.monotonic()
        time.sleep(0.005)
    raise TimeoutError("the canvas never showed the image")


def step_through(viewer: Any, layer: Any, beat: Heartbeat, axis: int, positions: list[int]) -> list[dict[str, float]]:
    """``set_current_step`` to each position, one every STEP_MS from a Qt timer, inside a real Qt event loop."""
    from qtpy.QtCore import QEventLoop, QTimer

    shown: list[float] = []
    layer.events.set_data.connect(lambda _: shown.append(time.monotonic()))
    records: list[dict[str, float]] = []
    loop = QEventLoop()

    def one() -> None:
        if len(records) == len(positions):
            loop.quit()
            return
        start = time.monotonic()
        viewer.dims.set_current_step(axis, positions[len(records)])
        records.append({"start": start, "call": time.monotonic() - start})

    timer = QTimer()
    timer.timeout.connect(one)
    timer.start(STEP_MS)
    loop.exec()
    timer.stop()
    ends = [r["start"] for r in records[1:]] + [records[-1]["start"] + STEP_MS / 1000]
    for record, end in zip(records, ends, strict=True):
        record["blocked"] = beat.longest_pause(record["start"], end)
        last = [t for t in shown if record["start"] <= t < end]
        record["shown"] = (max(last) if last else record["start"] + record["call"]) - record["start"]
    return records


def child(plugin: str, url: str, path: str, warm: str, z_steps: int, t_steps: int, settle: float) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")
    import napari

    viewer = napari.Viewer(show=True)
    app = napari.qt.get_qapp()
    if plugin == FLOOR:  # napari's own cost: the same pyramid, already in memory
        levels = [np.asarray(level[:, 0]) for level in levels_on_disk(path)]
    else:  # a tiny remote image first: imports and first-use costs are not the data's
        viewer.open(warm, plugin=plugin)
        viewer.layers.clear()
    truth = Truth(path)
    truth.warm_up()
    inserted: list[float] = []
    viewer.layers.events.inserting.connect(lambda _: inserted.append(time.monotonic()))  # built: drawn once
    _wait(app, 0.5)
    beat = Heartbeat()
    opened = time.monotonic()
    if plugin == FLOOR:
        layer = viewer.add_image(levels, multiscale=True, contrast_limits=(0, 2000))
    else:
        layer = viewer.open(url, plugin=plugin)[0]
    picture, sharp = first_frames(viewer, app, layer, truth)
    out: dict[str, Any] = {"open": opened, "inserted": inserted[0], "picture": picture, "sharp": sharp}
    runs: dict[str, Any] = {}
    for name, axis, steps in (("z", 1, z_steps), ("t", 0, t_steps), ("z zoomed", 1, z_steps)):
        if name == "z zoomed":
            camera = getattr(viewer, "scene", viewer).camera  # napari 0.9 moved it
            camera.zoom = camera.zoom * 4
        viewer.dims.set_current_step(0, 0)
        viewer.dims.set_current_step(1, viewer.dims.nsteps[1] // 2 if name == "t" else 0)
        _wait(app, settle)
        records = step_through(viewer, layer, beat, axis, list(range(1, steps + 1)))
        _wait(app, settle)
        runs[name] = {"records": records, "level": int(layer.data_level), "right": truth.shown_right(layer)}
    out["runs"] = runs
    viewer.close()
    return out


# ---------------------------------------------------------------- parent: data, server, table


def write_volume(root: Path, shape: tuple[int, ...], levels: int) -> Path:
    import dask.array as da

    import ngffkit
    from benchmarks.common import microscopy_block

    def block(b: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        plane = block_id[0] * shape[2] + block_id[2]  # every (t, z) a plane of its own
        return microscopy_block((plane, *block_id[3:]), b.shape[2:])[None, None]

    chunks = (1, 1, 1, 512, 512)
    empty = da.empty(shape, chunks=chunks, dtype="uint16")
    volume = empty.map_blocks(block, dtype="uint16")
    path = root / "volume.ome.zarr"
    ngffkit.write_image(volume, path, axes="tczyx", levels=levels, chunks=(1, 1, 1, 256, 256))
    return path


def run_child(plugin: str, url: str, path: Path, steps: tuple[int, int, float], log: RequestLog) -> dict[str, Any]:
    log.clear()
    warm = url.rsplit("/", 1)[0] + "/warm-up.ome.zarr"
    args = ["-m", "benchmarks.napari_latency", "--child", plugin, url, str(path), warm, *map(str, steps)]
    if plugin == "napari-ome-zarr":  # in its own environment, with its own napari (peers/)
        command, env = [str(NAPARI_OME_ZARR.interpreter()), *args], process_environment()
    else:
        command, env = [sys.executable, *args], None
    proc = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{plugin} child failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    with log.lock:
        entries = [dict(e) for e in log.entries]
    for moment in ("inserted", "sharp"):  # sequential waves of the requests from the open until then
        window = [e for e in entries if result["open"] <= e["start"] <= result[moment]]
        result[f"{moment}_requests"] = len(window)
        result[f"{moment}_waves"] = RequestLog(entries=window).sequential_waves()
    return result


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} / {max(values) * 1000:.0f} ms"


COLUMNS = (*PLUGINS, FLOOR)


def table_rows(results: dict[str, list[dict[str, Any]]]) -> list[list[str]]:
    """One row per measure, one column per plugin: medians over repetitions, maxima over every step."""

    def cell(plugin: str, measure: str, run: str = "") -> str:
        done = results[plugin]
        if plugin == FLOOR and measure in ("picture", "sharp", "inserted", "sharp_waves"):
            return "-"  # the floor is for stepping: its pixels were in memory before the clock started
        if measure in ("picture", "sharp"):
            return f"{statistics.median(r[measure] - r['open'] for r in done):.2f} s"
        if measure in ("inserted", "sharp_waves"):
            moment = measure.removesuffix("_waves")
            most = max(done, key=lambda r: r[f"{moment}_waves"])
            return f"{most[f'{moment}_waves']} ({most[f'{moment}_requests']} requests)"
        if measure == "right":
            return "yes" if all(r["runs"][run]["right"] for r in done) else "NO"
        return _ms([rec[measure] for r in done for rec in r["runs"][run]["records"]])

    rows = [
        ["first picture: viewer.open until the canvas shows pixels", *(cell(p, "picture") for p in COLUMNS)],
        ["first sharp picture: until it shows what is on disk for the view", *(cell(p, "sharp") for p in COLUMNS)],
        ["round trips until napari built the layer (and drew it once)", *(cell(p, "inserted") for p in COLUMNS)],
        ["round trips until the first sharp picture", *(cell(p, "sharp_waves") for p in COLUMNS)],
    ]
    for run in RUNS:
        what = f"step {run} (level {results[PLUGINS[0]][0]['runs'][run]['level']})"
        rows += [
            [f"{what}: event loop blocked per step, median / max", *(cell(p, "blocked", run) for p in COLUMNS)],
            [f"{what}: set_current_step returned after, median / max", *(cell(p, "call", run) for p in COLUMNS)],
            [f"{what}: last new picture shown after, median / max", *(cell(p, "shown", run) for p in COLUMNS)],
            [f"{what}: right pixels shown at the end", *(cell(p, "right", run) for p in COLUMNS)],
        ]
    return rows


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        plugin, url, path, warm, z_steps, t_steps, settle = sys.argv[2:9]
        result = child(plugin, url, path, warm, int(z_steps), int(t_steps), float(settle))
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    mode = "smoke" if "--smoke" in sys.argv else "quick" if "--quick" in sys.argv else "full"
    if mode != "smoke":
        ensure_bytecode()
        ensure_bytecode(NAPARI_OME_ZARR)  # the peer's own environment, built without bytecode
    import ngffkit

    shape, levels, z_steps, t_steps, settle, repeat = MODES[mode]
    root = Path(tempfile.mkdtemp(prefix="ngffkit-latency-"))
    path = write_volume(root, shape, levels)
    ngffkit.write_image(np.arange(256, dtype=np.uint8).reshape(16, 16), root / "warm-up.ome.zarr", axes="yx")
    results: dict[str, list[dict[str, Any]]] = {p: [] for p in COLUMNS}
    with http_file_server(root, listing=False, latency=LATENCY, keep_alive=True) as server:
        for _ in range(repeat):
            for plugin in COLUMNS:
                url = f"{server.url}/{path.name}"
                results[plugin].append(run_child(plugin, url, path, (z_steps, t_steps, settle), server.log))
    rows = table_rows(results)
    size = np.prod(shape) * 2 / 2**20
    title = (f"napari event loop on a remote image: {shape} uint16 tczyx ({size:.0f} MiB), {levels} levels, "
             f"256 x 256 chunks, HTTP with {LATENCY * 1000:.0f} ms per response")  # fmt: skip
    lines = [f"# {title}", "", machine(), "", f"napari-ome-zarr in its own environment: {peer_versions(NAPARI_OME_ZARR)}.", "",
             f"One step every {STEP_MS} ms from a Qt timer; blocked = the longest pause of a {BEAT_MS} ms Qt timer "
             f"in the step's window (drawing included); {repeat} fresh napari process(es) per plugin; mode {mode}.",
             f"'{FLOOR}': the same pyramid added as numpy arrays, napari's own cost (slicing, drawing) on this "
             "machine. Round trips: sequential waves of the requests in the server's log from the open on (a wave "
             "starts when a request is sent after every earlier one was answered); a background fetch started "
             "meanwhile counts too, needed or not.",
             "", "| measure | " + " | ".join(COLUMNS) + " |", "| --- |" + " --- |" * len(COLUMNS)]  # fmt: skip
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    out = save("napari_latency" + ("" if mode == "full" else f"_{mode}"), lines)
    print("\n".join(lines[-len(rows) - 2 :]), f"\n-> {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
