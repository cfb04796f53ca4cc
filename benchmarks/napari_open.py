"""Opening a small local OME-Zarr in napari: ngffkit's reader against napari-ome-zarr, in one run.

Each measurement is a fresh napari process (``python -m benchmarks.napari_open --child PLUGIN PATH``) that opens the
same dataset twice with ``viewer.open(path, plugin=...)`` and reports both times: the first includes whatever the
plugin imports on first use (and napari's first layer of each kind: shaders, controls), the second is the open
alone. napari-ome-zarr's child runs in its own environment with its own napari (peers/), so the child's code here
imports nothing of ngffkit's. napari-ome-zarr adds label images hidden, ngffkit shows them; the dataset without
labels compares the two readers on the same drawing. The child imports napari and nothing else the plugins need (it
checks): a harness that had dask imported beforehand took its 0.6 s out of both first opens. Needs a display
(``xvfb-run -a``).

    python -m benchmarks.napari_open [--quick] [--smoke]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLUGINS = ("ngffkit", "napari-ome-zarr")
# What either plugin imports on first use and napari does not (napari itself imports dask, pint and the
# `ngffkit` package for its manifest); already in the child before its first open, they would be off the clock.
PLUGIN_IMPORTS = ("dask.array", "zarr", "ngffkit.layer_data", "napari_ome_zarr", "ome_zarr", "fsspec")


def child(plugin: str, path: str) -> None:
    import warnings

    warnings.simplefilter("ignore")
    import napari

    viewer = napari.Viewer(show=True)
    app = napari.qt.get_qapp()
    early = sorted(name for name in PLUGIN_IMPORTS if name in sys.modules)
    if early:
        raise SystemExit(f"imported before the first open, so not timed: {', '.join(early)}")
    times = []
    for _ in range(2):
        viewer.layers.clear()
        app.processEvents()
        start = time.perf_counter()
        layers = viewer.open(path, plugin=plugin)
        app.processEvents()
        times.append(time.perf_counter() - start)
    print("RESULT " + json.dumps({"first": times[0], "again": times[1], "layers": len(layers)}), flush=True)
    viewer.close()


def child_command(plugin: str, path: Path) -> tuple[list[str], dict[str, str] | None]:
    """The child's command line and environment: napari-ome-zarr's runs in its own environment (its own napari;
    peers/), ngffkit's in this one."""
    args = ["-m", "benchmarks.napari_open", "--child", plugin, str(path)]
    if plugin == "napari-ome-zarr":
        from peers import NAPARI_OME_ZARR, process_environment

        return [str(NAPARI_OME_ZARR.interpreter()), *args], process_environment()
    return [sys.executable, *args], None


def measure(path: Path, repeat: int) -> dict[str, dict[str, float]]:
    """Medians per plugin; the plugins take turns in every repeat, so that a busy moment of the machine falls on
    both rather than on whichever ran then."""
    runs: dict[str, dict[str, list[float]]] = {plugin: {"first": [], "again": []} for plugin in PLUGINS}
    for _ in range(repeat):
        for plugin in PLUGINS:
            command, env = child_command(plugin, path)
            proc = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
            if proc.returncode != 0:
                raise RuntimeError(f"{plugin} child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
            line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))
            data = json.loads(line[7:])
            runs[plugin]["first"].append(data["first"])
            runs[plugin]["again"].append(data["again"])
    return {plugin: {k: statistics.median(v) for k, v in times.items()} for plugin, times in runs.items()}


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
        return 0
    import ngffkit
    from benchmarks.common import ensure_bytecode, peer_versions, write_table
    from ngffkit.samples import data
    from ngffkit.samples.examples import write_coins, write_timelapse

    mode = "smoke" if "--smoke" in sys.argv else "quick" if "--quick" in sys.argv else "full"
    repeat = {"smoke": 1, "quick": 2, "full": 7}[mode]
    if mode != "smoke":
        from peers import NAPARI_OME_ZARR

        ensure_bytecode()
        ensure_bytecode(NAPARI_OME_ZARR)  # its own environment, built without bytecode
    root = Path(tempfile.mkdtemp(prefix="ngffkit-bench-"))
    datasets: dict[str, Path] = {}
    if mode != "smoke":
        datasets["coins 0.4 (303 x 384, 3 levels, labels)"] = write_coins(root / "coins-0.4.zarr", "0.4")
        datasets["5D time-lapse 0.4 (2 channels, labels)"] = write_timelapse(root / "timelapse-0.4.zarr", "0.4")
    datasets["coins 0.4 without labels"] = plain = root / "coins-image-0.4.zarr"
    ngffkit.write_image(data.coins(), plain, axes="yx", version="0.4", levels=3, chunks=(256, 256))
    rows = []
    for name, path in datasets.items():
        results = measure(path, repeat)
        ours, theirs = results["ngffkit"], results["napari-ome-zarr"]
        rows.append([name, f"{ours['first']:.2f} s / {ours['again']:.2f} s",
                     f"{theirs['first']:.2f} s / {theirs['again']:.2f} s",
                     f"{theirs['first'] / ours['first']:.2f}x / {theirs['again'] / ours['again']:.2f}x"])  # fmt: skip
        print(rows[-1], flush=True)
    from peers import NAPARI_OME_ZARR

    write_table(
        "napari_open" + ("" if mode == "full" else f"_{mode}"),
        "Opening a small local OME-Zarr in napari (fresh process: first open / second open; median); napari-ome-zarr "
        f"in its own environment: {peer_versions(NAPARI_OME_ZARR)}",
        ["dataset", "ngffkit", "napari-ome-zarr", "napari-ome-zarr time / ngffkit time"],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
