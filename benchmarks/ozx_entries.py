"""A zipped OME-Zarr (``.ozx``) of many tiny entries: opening it through the API against napari's first picture.

Issue 31 asks napari's first picture of a ``.ozx`` to come within twice the API's open time, whatever the number of
entries. The dataset is a square uint8 image of one level in 1x1 chunks without a compressor -- N one-byte
entries -- whose first picture needs every chunk. Each measurement is a fresh process (``python -m
benchmarks.ozx_entries --child api|napari PATH WARM``) that first opens a tiny ``.ozx`` (so that imports and
napari's first layer are off the clock), then times

* *API open*: ``ngffkit.open(path)`` (the archive's central directory and the metadata);
* *napari first picture*: ``viewer.open(path, plugin="ngffkit")`` until a screenshot of the canvas is not blank;
* *napari's floor*: the same pixels saved as a ``.npy`` file, opened the same way -- ``viewer.open(path,
  plugin="napari")``, napari's own reader (``np.load``), warmed the same way -- until the same event: what napari
  takes to open and show these pixels through its open route when the reading costs nothing (a first version of
  this floor, ``viewer.add_image`` of the array, skipped napari's open route -- its reader lookup and progress
  bar -- which the ``.ozx`` pays: ~40 ms here).

The goal is read against the floor: ngffkit's cost in napari (first picture - floor) within twice the API open.
At small counts napari's own cost of opening and showing a first image is most of the picture, which no reader
can remove.

It also reports how many entries napari's first picture read (``OzxStore.entries_read``). The archive is packed
here as ngffkit's writer packs it (every ``zarr.json`` first; stored entries; its comment) from a level written
with one chunk and re-chunked in its metadata: writing 200,000 chunk files and packing them would take minutes,
which belong to no reader. Needs a display (``xvfb-run -a``).

    python -m benchmarks.ozx_entries [--quick] [--smoke]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

#: name -> (entry counts, repetitions)
MODES = {"full": ((10_000, 50_000, 200_000), 3), "quick": ((10_000, 50_000, 200_000), 1), "smoke": ((2_000,), 1)}
GOAL = 2.0


def pixels(side: int) -> np.ndarray:
    return (np.arange(side * side) % 251).astype(np.uint8).reshape(side, side)


def write_archive(path: Path, entries: int) -> Path:
    """A one-level uint8 image of about ``entries`` 1x1 chunks, packed as ngffkit packs a ``.ozx``."""
    import ngffkit
    from ngffkit.formats import get_format
    from ngffkit.store.ozx import archive_comment

    side = round(entries**0.5)
    data = pixels(side)
    folder = Path(tempfile.mkdtemp(prefix="ngffkit-ozx-")) / "image.zarr"
    ngffkit.write_image(data, folder, axes="yx", levels=1, chunks=(side, side), compressor="none", version="0.5")
    level = json.loads((folder / "0" / "zarr.json").read_text())
    level["chunk_grid"]["configuration"]["chunk_shape"] = [1, 1]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.write(folder / "zarr.json", "zarr.json")
        archive.writestr("0/zarr.json", json.dumps(level))
        for (y, x), value in np.ndenumerate(data):
            archive.writestr(f"0/c/{y}/{x}", bytes((int(value),)))
        archive.comment = archive_comment(get_format("0.5"))
    return path


def child_api(path: str, warm: str) -> dict[str, Any]:
    import ngffkit

    ngffkit.open(warm)
    start = time.perf_counter()
    ngffkit.open(path)
    return {"api": time.perf_counter() - start}


def child_napari(path: str, warm: str) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")
    import napari
    from ngffkit.store import dask_graphs

    viewer = napari.Viewer(show=True)
    app = napari.qt.get_qapp()
    viewer.open(warm, plugin="ngffkit")
    app.processEvents()
    viewer.layers.clear()
    app.processEvents()
    start = time.perf_counter()
    (layer,) = viewer.open(path, plugin="ngffkit")
    opened = time.perf_counter() - start
    while np.asarray(viewer.screenshot(canvas_only=True, flash=False))[..., :3].std() <= 1.0:
        app.processEvents()
        if time.perf_counter() - start > 900:
            raise SystemExit("no picture after 900 s")
    picture = time.perf_counter() - start
    level = layer.data[0] if layer.multiscale else layer.data
    store = dask_graphs.sole_source(level).array.store_path.store
    viewer.close()
    return {"open": opened, "picture": picture, "entries_read": store.entries_read}


def child_floor(path: str, warm: str) -> dict[str, Any]:
    """napari opening the pixels of ``path`` saved as ``.npy`` with its own reader: the same warm-up (a tiny file
    opened the same way first) and the same "first picture" event as :func:`child_napari`, the file written before
    the clock starts."""
    import warnings

    warnings.simplefilter("ignore")
    import napari

    side = int(Path(path).stem.removeprefix("tiny-"))  # named by main()
    folder = Path(tempfile.mkdtemp(prefix="ngffkit-floor-"))
    saved, warm_npy = folder / "pixels.npy", folder / "warm.npy"
    np.save(saved, pixels(side))
    np.save(warm_npy, pixels(8))
    viewer = napari.Viewer(show=True)
    app = napari.qt.get_qapp()
    viewer.open(warm, plugin="ngffkit")  # napari's first layer off the clock, as for the .ozx
    viewer.open(str(warm_npy), plugin="napari")  # and napari's own reader
    app.processEvents()
    viewer.layers.clear()
    app.processEvents()
    start = time.perf_counter()
    viewer.open(str(saved), plugin="napari")
    while np.asarray(viewer.screenshot(canvas_only=True, flash=False))[..., :3].std() <= 1.0:
        app.processEvents()
        if time.perf_counter() - start > 900:
            raise SystemExit("no picture after 900 s")
    picture = time.perf_counter() - start
    viewer.close()
    shutil.rmtree(folder, ignore_errors=True)
    return {"picture": picture}


def run_child(kind: str, path: Path, warm: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.ozx_entries", "--child", kind, str(path), str(warm)]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[7:])  # type: ignore[no-any-return]


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        kind, path, warm = sys.argv[2:5]
        child = {"api": child_api, "napari": child_napari, "floor": child_floor}[kind]
        result = child(path, warm)
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    import ngffkit
    from benchmarks.common import ensure_bytecode, write_table

    mode = "smoke" if "--smoke" in sys.argv else "quick" if "--quick" in sys.argv else "full"
    counts, repeat = MODES[mode]
    if mode != "smoke":
        ensure_bytecode()
    load = os.getloadavg()[0]
    root = Path(tempfile.mkdtemp(prefix="ngffkit-bench-"))
    warm = root / "warm.ozx"
    ngffkit.write_image(pixels(64), warm, axes="yx", levels=1)
    rows = []
    for count in counts:
        side = round(count**0.5)
        path = write_archive(root / f"tiny-{side}.ozx", count)
        entries = len(zipfile.ZipFile(path).infolist())
        api, picture, floor, read = [], [], [], []
        for _ in range(repeat):  # they take turns, so that a busy moment of the machine falls on each
            api.append(run_child("api", path, warm)["api"])
            shown = run_child("napari", path, warm)
            picture.append(shown["picture"])
            read.append(shown["entries_read"])
            floor.append(run_child("floor", path, warm)["picture"])
        opened, shown_at, least = (statistics.median(values) for values in (api, picture, floor))
        ratio, cost = shown_at / opened, shown_at - least
        rows.append([f"{entries:,}", f"{opened:.2f} s", f"{shown_at:.2f} s", f"{ratio:.2f}x", f"{least:.2f} s",
                     f"{cost:.2f} s", f"{GOAL * opened:.2f} s ({'met' if cost <= GOAL * opened else 'not met'})",
                     f"{max(read):,}"])  # fmt: skip
        print(rows[-1], flush=True)
        path.unlink()
    write_table(
        "ozx_entries" + ("" if mode == "full" else f"_{mode}"),
        f"A .ozx of one-byte chunks: ngffkit.open against napari's first picture and napari's floor (the same pixels "
        f"as .npy through napari's own reader); fresh processes, median of {repeat}; goal: ngffkit's cost in napari (picture - floor) "
        f"at most {GOAL:g}x the API open. Machine shared with other work: load average {load:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores",
        [
            "entries",
            "API open",
            "napari first picture",
            "picture / open",
            "napari floor (the pixels as .npy, napari's reader)",
            "ngffkit in napari (picture - floor)",
            f"{GOAL:g}x API open",
            "entries napari read",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
