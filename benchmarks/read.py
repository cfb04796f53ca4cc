"""Reading pixels, like for like: ngffkit's lazy levels and ``Image.read`` against the zarr-python they read
through, tensorstore and ome-zarr-py -- the same arrays, the same reads, local and over HTTP.

For each layout (ngffkit's default output and other writers' layouts, below) one uint16 volume (microscopy-like,
:func:`benchmarks.common.tiled_volume`) is written once, then read three ways: the whole level, one z-plane, and a
512 x 512 window of that plane. Each read runs in a fresh process (:mod:`benchmarks.read_jobs`) that pays its
imports and the open before the clock; memory is the peak resident memory above what the process held after them.
Every cell is the median of 3 runs, interleaved (every reader of a layout once, then again): the machine is shared,
and ratios measured in the same run are what count. ngffkit's cells give its throughput as a share of zarr-python's
on the same array (zarr's time / ngffkit's time). Over HTTP the server (+20 ms per answer, HTTP/1.1 keep-alive) runs
in this process, the readers in theirs.

ngffkit, three ways: ``level.compute()`` and ``np.asarray(level)`` (for a plane or window ``level[sel]``) -- the
dask path -- and ``image.read(0, sel)``, the direct read. zarr-python: ``zarr.open_array(url)[sel]`` in ngffkit's
own environment (the release ngffkit reads through). tensorstore (``ts.open(...)[sel].read().result()``) and
ome-zarr-py (``np.asarray(node.data[0][sel])``, a dask array) in environments of their own (peers/).

Run: python -m benchmarks.read [--quick] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array as da
import numcodecs
import zarr
from loopback.servers import http_file_server
from peers import OME_ZARR_PY, TENSORSTORE, Peer, Unavailable
from zarr.codecs import ZstdCodec

import ngffkit
from benchmarks.common import machine, peer_versions, save, tiled_volume

REPO = Path(__file__).resolve().parents[1]
LATENCY = 0.02
#: (reader, call) pairs measured, in the order they run and the tables show them.
READS = [("zarr", "get"), ("ngffkit", "compute"), ("ngffkit", "asarray"), ("ngffkit", "read"),
         ("tensorstore", "get"), ("ome-zarr-py", "get"), ("copy", "copy")]  # fmt: skip
COLUMNS = {("zarr", "get"): "{} `arr[sel]`", ("ngffkit", "compute"): "ngffkit `level[sel].compute()`",
           ("ngffkit", "asarray"): "ngffkit `np.asarray(level)`", ("ngffkit", "read"): "ngffkit `image.read(0, sel)`",
           ("tensorstore", "get"): "{} `ts[sel].read()`", ("ome-zarr-py", "get"): "{} `np.asarray(data[0][sel])`",
           ("copy", "copy"): "reference: a copy of the result into new memory (dask's last step)"}  # fmt: skip
#: ``np.asarray(level)`` is measured on whole levels (for a region it is ``level[sel].compute()`` again).
WHOLE_ONLY = {("ngffkit", "asarray"), ("copy", "copy")}
WHATS = ("full", "plane", "window")
#: The readers that are peers, each run in a process of its own environment.
PEERS: dict[str, Peer] = {"tensorstore": TENSORSTORE, "ome-zarr-py": OME_ZARR_PY}


@dataclass(frozen=True)
class Layout:
    """One way a level is stored: how it is written, and where its level-0 array and axes are."""

    name: str
    folder: str
    write: Callable[[da.Array, Path], None]
    zarr_format: int = 3
    channel_axis: bool = False  # czyx (a singleton channel in front) instead of zyx

    def spec(self, shape: tuple[int, ...]) -> dict[str, Any]:
        """What the reading process needs: the array's path, a middle z-plane and a 512^2 window of it."""
        z, y, x = shape[-3:]
        lead = [0] if self.channel_axis else []
        y0, x0 = max(0, y // 2 - 256), max(0, x // 2 - 256)
        window = [[y0, min(y, y0 + 512)], [x0, min(x, x0 + 512)]]
        return {"array": "0", "zarr_format": self.zarr_format, "plane": [*lead, z // 2],
                "window": [*lead, z // 2, *window]}  # fmt: skip


def write_ngffkit(**options: Any) -> Callable[[da.Array, Path], None]:
    def write(data: da.Array, dest: Path) -> None:
        ngffkit.write_image(data, dest, axes="zyx", levels=1, overwrite=True, **options)

    return write


def write_with_zarr(zarr_format: int, separator: str, compressor: Any, chunks: tuple[int, ...],
                    channel_axis: bool = False) -> Callable[[da.Array, Path], None]:  # fmt: skip
    """An image written by zarr itself, as other writers lay it out (OME metadata as plain JSON)."""

    def write(data: da.Array, dest: Path) -> None:
        if channel_axis:
            data = data[None]
        names = ["c", "z", "y", "x"] if channel_axis else ["z", "y", "x"]
        group = zarr.open_group(str(dest), mode="w", zarr_format=zarr_format)  # type: ignore[arg-type]
        encoding = {"name": "v2" if zarr_format == 2 else "default", "separator": separator}
        extra: dict[str, Any] = {"dimension_names": names} if zarr_format == 3 else {}
        array = group.create_array("0", shape=data.shape, dtype=data.dtype, chunks=chunks, compressors=compressor,
                                   chunk_key_encoding=encoding, **extra)  # type: ignore[arg-type]  # fmt: skip
        da.store(data.rechunk(chunks), array, lock=False)
        axes = [{"name": n, "type": "channel" if n == "c" else "space"} for n in names]
        scale = [{"type": "scale", "scale": [1.0] * len(names)}]
        multiscale = {"axes": axes, "datasets": [{"path": "0", "coordinateTransformations": scale}], "name": "v"}
        if zarr_format == 2:
            group.attrs.update({"multiscales": [{"version": "0.4", **multiscale}]})
        else:
            group.attrs.update({"ome": {"version": "0.5", "multiscales": [multiscale]}})

    return write


BLOSC_LZ4 = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
LAYOUTS = [
    Layout("ngffkit default: 0.5, blosc-lz4, 64^3 chunks", "default.zarr", write_ngffkit()),
    Layout("0.5, zstd 3, 1x32x256^2 chunks (czyx)", "zstd.zarr",
           write_with_zarr(3, "/", ZstdCodec(level=3), (1, 32, 256, 256), channel_axis=True), channel_axis=True),
    Layout("0.4, blosc-lz4, 64^3 chunks, '.' separator", "dot.zarr",
           write_with_zarr(2, ".", BLOSC_LZ4, (64, 64, 64)), zarr_format=2),
    Layout("0.4, blosc-lz4, 64^3 chunks, '/' separator", "slash.zarr",
           write_with_zarr(2, "/", BLOSC_LZ4, (64, 64, 64)), zarr_format=2),
    Layout("0.5, 256^3 shards of 64^3 chunks, blosc-lz4", "shards.zarr", write_ngffkit(shards=(256, 256, 256))),
]  # fmt: skip


def run_read(python: Path, reader: str, call: str, what: str, url: str, spec: dict[str, Any]) -> dict[str, Any]:
    """One read in a fresh process of ``python`` (ngffkit's, or a peer's environment: :data:`PEERS`). Every reader
    gets the same small environment: the repository on its path, nothing of this virtual environment's, bytecode
    written (as :func:`peers.process_environment` gives a peer, without the rest of this process's variables)."""
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    proc = subprocess.run([str(python), "-m", "benchmarks.read_jobs", reader, call, what, url, json.dumps(spec)],
                          capture_output=True, text=True, check=False, cwd=REPO, env=env, timeout=900)  # fmt: skip
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1][:200] if proc.stderr.strip() else "failed"}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def measure(pythons: dict[str, Path], layouts: list[Layout], where: dict[str, str], shape: tuple[int, ...],
            repeat: int) -> dict[tuple[str, str, str, str, str], list[dict[str, Any]]]:  # fmt: skip
    """Every read of every layout, ``repeat`` times interleaved; keyed (place, layout, what, reader, call)."""
    runs: dict[tuple[str, str, str, str, str], list[dict[str, Any]]] = {}
    for _ in range(repeat):
        for place, root in where.items():
            for layout in layouts:
                level_shape = (1, *shape) if layout.channel_axis else shape
                for what in WHATS:
                    for reader, call in READS:
                        if reader not in pythons or (what != "full" and (reader, call) in WHOLE_ONLY):
                            continue
                        url = f"{root}/{layout.folder}"
                        result = run_read(pythons[reader], reader, call, what, url, layout.spec(level_shape))
                        runs.setdefault((place, layout.name, what, reader, call), []).append(result)
                        print(place, layout.folder, what, reader, call, json.dumps(result)[:160], flush=True)
    return runs


def median_of(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    done = [r for r in results if "seconds" in r]
    if not done:
        return None
    return {"seconds": statistics.median(r["seconds"] for r in done),
            "peak_mib": statistics.median(r["peak_mib"] for r in done), "result_mib": done[0]["result_mib"],
            "checksum": done[0]["checksum"], "runs": len(done)}  # fmt: skip


def table(runs: dict[tuple[str, str, str, str, str], list[dict[str, Any]]], place: str, layouts: list[Layout],
          columns: list[tuple[str, str]], labels: dict[str, str]) -> tuple[list[str], list[str]]:  # fmt: skip
    """The markdown table of one place, and notes on anything that did not match or did not run."""
    header = ["layout", "read", *(_column(labels, reader, call) for reader, call in columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    notes: list[str] = []
    for layout in layouts:
        for what in WHATS:
            cells = {key: median_of(runs.get((place, layout.name, what, *key), [])) for key in columns}
            zarr_cell = cells.get(("zarr", "get"))
            sums = {c["checksum"] for c in cells.values() if c is not None}
            if len(sums) > 1:
                notes.append(f"- {place}, {layout.name}, {what}: the readers' checksums differ ({sorted(sums)})")
            row = [layout.name if what == "full" else "", _what(what, cells)]
            for key in columns:
                if what != "full" and key in WHOLE_ONLY:
                    row.append("")
                    continue
                row.append(_cell(cells[key], zarr_cell if key[0] == "ngffkit" else None, what == "full"))
                failed = [r["error"] for r in runs.get((place, layout.name, what, *key), []) if "error" in r]
                if failed:
                    notes.append(f"- {place}, {layout.name}, {what}, {key[0]} {key[1]}: {failed[0]}")
            lines.append("| " + " | ".join(row) + " |")
    return lines, notes


def _column(labels: dict[str, str], reader: str, call: str) -> str:
    return COLUMNS[(reader, call)].format(labels.get(reader, reader))


def _what(what: str, cells: dict[tuple[str, str], dict[str, Any] | None]) -> str:
    size = next((c["result_mib"] for c in cells.values() if c is not None), 0.0)
    name = {"full": "whole level", "plane": "a z-plane", "window": "512^2 window"}[what]
    return f"{name} ({size:.0f} MiB)" if size >= 1 else f"{name} ({size * 1024:.0f} KiB)"


def _cell(result: dict[str, Any] | None, zarr_result: dict[str, Any] | None, full: bool) -> str:
    if result is None:
        return "failed"
    seconds = result["seconds"]
    text = f"{seconds:.2f} s" if seconds >= 0.1 else f"{1000 * seconds:.0f} ms"
    if full:
        text += (
            f", {result['peak_mib'] / 1024:.2f} GiB"
            if result["peak_mib"] >= 1024
            else f", {result['peak_mib']:.0f} MiB"
        )
    if zarr_result is not None:
        text += f" (**{100 * zarr_result['seconds'] / seconds:.0f}%**)"
    return text


def shares(runs: dict[tuple[str, str, str, str, str], list[dict[str, Any]]], layouts: list[Layout],
           places: list[str]) -> list[str]:  # fmt: skip
    """Per ngffkit call: its share of zarr-python's throughput over every cell (geometric mean, the cells at the
    goal, the lowest), and its peak memory per result on whole levels."""
    out = []
    for call, goal in (("compute", 80), ("asarray", 80), ("read", 90)):
        found = []
        for place in places:
            for layout in layouts:
                for what in WHATS:
                    ours = median_of(runs.get((place, layout.name, what, "ngffkit", call), []))
                    base = median_of(runs.get((place, layout.name, what, "zarr", "get"), []))
                    if ours and base:
                        found.append((100 * base["seconds"] / ours["seconds"], place, layout.folder, what,
                                      ours["peak_mib"] / max(ours["result_mib"], 1e-9) if what == "full" else None))  # fmt: skip
        if not found:
            continue
        worst = min(found)
        mean = math.exp(statistics.fmean(math.log(share) for share, *_ in found))
        at_goal = sum(1 for share, *_ in found if share >= goal)
        memory = [m for *_, m in found if m is not None]
        out.append(f"- ngffkit `{call}`: **{mean:.0f}%** of zarr-python's throughput (geometric mean of {len(found)} "
                   f"cells; {at_goal} at or above the goal of {goal}%; lowest {worst[0]:.0f}%: {worst[1]}, {worst[2]}, "
                   f"{worst[3]}); peak memory of a whole-level read {min(memory):.2f}-{max(memory):.2f}x the result.")  # fmt: skip
    return out


def from_log(path: Path) -> dict[tuple[str, str, str, str, str], list[dict[str, Any]]]:
    """The runs of an earlier run's printed log (``python -m benchmarks.read ... | tee log``), to render again."""
    names = {layout.folder: layout.name for layout in LAYOUTS}
    runs: dict[tuple[str, str, str, str, str], list[dict[str, Any]]] = {}
    for line in path.read_text().splitlines():
        parts = line.split(" ", 5)
        if len(parts) == 6 and parts[1] in names and parts[5].startswith("{"):
            place, folder, what, reader, call, result = parts
            runs.setdefault((place, names[folder], what, reader, call), []).append(json.loads(result))
    return runs


def run_all(pythons: dict[str, Path], layouts: list[Layout], local_shape: tuple[int, ...],
            http_shape: tuple[int, ...], repeat: int) -> dict[tuple[str, str, str, str, str], list[dict[str, Any]]]:  # fmt: skip
    """Write every layout (local and for the server), then measure every read of each."""
    scratch = Path(tempfile.mkdtemp(prefix="ngffkit-read-"))
    try:
        for name, shape in (("local", local_shape), ("http", http_shape)):
            for layout in layouts:
                layout.write(tiled_volume(shape, chunks=(64, 256, 256)), scratch / name / layout.folder)
        local_runs = measure(pythons, layouts, {"local": str(scratch / "local")}, local_shape, repeat)
        with http_file_server(scratch / "http", listing=False, latency=LATENCY, keep_alive=True) as server:
            http_runs = measure(pythons, layouts, {"HTTP": server.url}, http_shape, repeat)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {**local_runs, **http_runs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="256 MiB local, 32 MiB over HTTP")
    parser.add_argument("--smoke", action="store_true", help="ngffkit's layout, 2 MiB, ngffkit and zarr only, once")
    parser.add_argument("--repeat", type=int, default=None, help="runs per cell (default 3)")
    parser.add_argument("--layouts", default="", help="folders of the layouts to run (default: all)")
    parser.add_argument("--from-log", type=Path, default=None, help="render the tables of an earlier run's log")
    args = parser.parse_args()
    local_shape = (16, 256, 256) if args.smoke else (128, 1024, 1024) if args.quick else (256, 1448, 1448)
    http_shape = (16, 256, 256) if args.smoke else (32, 512, 1024) if args.quick else (128, 1024, 1024)
    repeat = 1 if args.smoke else args.repeat or 3
    chosen = "default" if args.smoke and not args.layouts else args.layouts
    layouts = [lay for lay in LAYOUTS if not chosen or lay.folder.split(".")[0] in chosen.split(",")]
    pythons: dict[str, Path] = {
        "zarr": Path(sys.executable),
        "ngffkit": Path(sys.executable),
        "copy": Path(sys.executable),
    }
    labels = {"zarr": f"zarr-python {zarr.__version__}", "ngffkit": f"ngffkit {ngffkit.__version__}"}
    if not args.smoke:
        for name, peer in PEERS.items():
            try:
                pythons[name], labels[name] = peer.interpreter(), peer.label()
            except Unavailable as error:
                print(f"{name}: not measured, its environment could not be built: {error}", flush=True)
    runs = from_log(args.from_log) if args.from_log else run_all(pythons, layouts, local_shape, http_shape, repeat)
    columns = [key for key in READS if key[0] in pythons]
    gib = {name: 2 * math.prod(shape) / 2**30 for name, shape in (("local", local_shape), ("http", http_shape))}
    lines = [
        "# Reading: ngffkit against the engine it reads through, and its peers",
        "",
        f"Machine: {machine()}; peers, each in its own environment: "
        f"{peer_versions(*(peer for name, peer in PEERS.items() if name in pythons)) or 'none'}",
        "",
        "Each read in a fresh process, imports and open before the clock; memory = peak RSS above the RSS after "
        f"imports and open. Cells: median of {repeat} interleaved runs; **bold**: ngffkit's throughput as a share of "
        "zarr-python's on the same array (goals: 80% for the dask path, 90% for `image.read`). The machine "
        "(2 cores) is shared with other engineers' work: absolute times move from run to run, the ratios measured "
        "in the same run are what count. A level's own `compute()` (and so `np.asarray(level)`) reads the whole "
        "level with one zarr call straight into the result, like `image.read` (about 1x the result in memory); "
        "dask's own path -- `dask.compute(level)`, a configured scheduler, a distributed client, and every array "
        "made from a level, `level[sel]` of a part included -- copies its blocks into the array it returns (since "
        "dask 2024.12 even a single block), about 2x for a whole level. The last column times that copy alone "
        "(the level copied into new memory, in a fresh process): on this machine (a Firecracker VM whose balloon "
        "hands freed memory back to the host) memory touched for the first time costs up to several ms per MiB.",
        "",
        f"## Local disk (page cache warm), {gib['local']:.2f} GiB uint16 level {local_shape}",
        "",
    ]
    notes: list[str] = []
    part, more = table(runs, "local", layouts, columns, labels)
    lines += part
    notes += more
    lines += ["", f"## HTTP, +{LATENCY * 1000:.0f} ms per answer, {gib['http']:.2f} GiB uint16 level {http_shape}", ""]
    part, more = table(runs, "HTTP", layouts, columns, labels)
    lines += part
    notes += more
    lines += [
        "",
        "## Summary",
        "",
        "Local disk:",
        "",
        *shares(runs, layouts, ["local"]),
        "",
        "HTTP:",
        "",
        *shares(runs, layouts, ["HTTP"]),
    ]
    if notes:
        lines += ["", "## Notes", "", *notes]
    path = save("read" + ("_smoke" if args.smoke else "_quick" if args.quick else ""), lines)
    print("\n".join(lines))
    print(f"\nsaved to {path}")


if __name__ == "__main__":
    main()
