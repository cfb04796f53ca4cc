"""How writing cost grows with the volume, and how it compares with a reference job at every size.

For each size (128 MiB to 4 GiB; the full run adds 8 GiB), one fresh process per measurement writes a lazy dask
volume (``tiled_volume``: microscopy-like blocks placed with offsets, never all in memory; a block costs a copy,
so the writer is measured, not the generator) as a 5-level pyramid,
64^3 chunks, zstd 3 on both sides; reported: time and peak RSS (VmHWM).
  * ngffkit: NGFF 0.5 chunked, 0.5 with 256^3 shards, 0.4 chunked;
  * ome-zarr-py (its newest release, in its own environment: peers/): 0.5 chunked, the same data and the
    same work (``LOCAL_MEAN``, 64^3 chunks, zstd 3);
  * a reference job (not a lower bound: it computes no level, so a writer may beat it): make every level-0
    block (the input's own cost), compress the chunks of every level with numcodecs zstd on all cores, write the
    bytes -- downsampling not counted. The chunked layout must make a file per chunk (about 1 ms each on this
    machine's disk: a tenth of a 0.5 GiB write), so its reference job writes each level-0 chunk as a file ("limit
    chunks"); the sharded layout's writes one file per input block ("limit shards"). Earlier runs had only the
    second, against every layout.
  * cells are medians of 3 interleaved repetitions (--repeat): the machine's neighbours steal
    CPU time now and then, and one run of a cell moved by 20%.

Run: python -m benchmarks.write_growth [--quick] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from peers import OME_ZARR_PY, process_environment

from benchmarks.common import machine, peer_versions, save

#: (label, shape) of uint16 volumes: 128 MiB ... 8 GiB.
SIZES = [
    ("0.125 GiB", (64, 1024, 1024)),
    ("0.25 GiB", (128, 1024, 1024)),
    ("0.5 GiB", (128, 1448, 1448)),
    ("1 GiB", (256, 1448, 1448)),
    ("2 GiB", (256, 2048, 2048)),
    ("4 GiB", (512, 2048, 2048)),
    ("8 GiB", (512, 2896, 2896)),
]
#: A writer slower than this at one size is not run at the next (noted in the table).
BUDGET = 600.0

PRELUDE = """
import json, sys, time
import dask
dask.config.set(scheduler="threads", num_workers=__import__("os").cpu_count())
try:  # dask imports distributed on its first compute when it is installed: every writer pays it before the clock
    import distributed
except ImportError:
    pass
from benchmarks.common import tiled_volume
shape, dest, what = tuple(json.loads(sys.argv[1])), sys.argv[2], sys.argv[3]
data = tiled_volume(shape, chunks=(64, 256, 256))
"""
#: Imports are paid before the clock starts (each job's first part), the work after it.
START = """
start = time.perf_counter()
"""
EPILOGUE = """
seconds = time.perf_counter() - start
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "rss": int(hwm.split()[1]) / 1024}))
"""
JOBS = {
    "ngffkit": (
        """
import ngffkit
ngffkit.write_image  # the writer's modules load on first use: before the clock
version, shards = {"0.5 chunks": ("0.5", None), "0.5 shards": ("0.5", (256, 256, 256)), "0.4 chunks": ("0.4", None)}[what]
""",
        """
ngffkit.write_image(data, dest, axes="zyx", levels=5, scale_factors={"z": 2, "y": 2, "x": 2}, chunks=(64, 64, 64),
                    shards=shards, compressor="zstd", version=version, overwrite=True)
""",
    ),
    "ome-zarr-py": (
        """
import zarr
from zarr.codecs import ZstdCodec
from ome_zarr.scale import Methods
from ome_zarr.writer import write_image
factors = [{"z": 2**k, "y": 2**k, "x": 2**k} for k in range(1, 5)]
""",
        """
write_image(data, zarr.open_group(dest, mode="w"), axes="zyx", scale_factors=factors, method=Methods.LOCAL_MEAN,
            storage_options={"chunks": (64, 64, 64), "compressor": ZstdCodec(level=3)})
""",
    ),
    "limit": (
        """
import os
from concurrent.futures import ThreadPoolExecutor
import numcodecs, numpy as np
codec = numcodecs.Zstd(level=3)
def one(block_index):
    # a level-0 block of the input (its cost is the input's, in every writer), then its chunks at every level:
    # level k holds 1/8**k of the bytes; compressing a strided view of the block stands in for its content.
    # "chunks": every level-0 chunk is a file of its own, as the chunked layout must write it (the deeper levels'
    # pieces of the block share one file: fewer files than any real pyramid has); "shards": one file per block.
    block = data.blocks[block_index].compute(scheduler="sync")
    name = os.path.join(dest, "_".join(map(str, block_index)))
    with open(name + ".bin", "wb") as f:
        for k in range(5):
            level = np.ascontiguousarray(block[:: 2**k, :: 2**k, :: 2**k])
            for z in range(0, level.shape[0], 64):
                for y in range(0, level.shape[1], 64):
                    for x in range(0, level.shape[2], 64):
                        encoded = codec.encode(np.ascontiguousarray(level[z:z+64, y:y+64, x:x+64]))
                        if k == 0 and what == "chunks":
                            with open(f"{name}.{z}.{y}.{x}", "wb") as chunk:
                                chunk.write(encoded)
                        else:
                            f.write(encoded)
""",
        """
os.makedirs(dest, exist_ok=True)
with ThreadPoolExecutor(os.cpu_count()) as pool:
    list(pool.map(one, list(np.ndindex(*data.numblocks))))
""",
    ),
}


def run_one(writer: str, what: str, shape: tuple[int, ...], scratch: Path) -> dict[str, float]:
    """One measurement in a fresh process (its own peak RSS) -- ome-zarr-py's in its own environment (peers/), the
    others in this one; the destination is removed afterwards."""
    imports, work = JOBS[writer]
    code = "".join(textwrap.dedent(part) for part in (PRELUDE, imports, START, work, EPILOGUE))
    dest = scratch / f"{writer}.out"
    python, env = (
        (str(OME_ZARR_PY.interpreter()), process_environment()) if writer == "ome-zarr-py" else (sys.executable, None)
    )
    try:
        proc = subprocess.run([python, "-c", code, json.dumps(shape), str(dest), what], capture_output=True,
                              text=True, check=True, cwd=Path(__file__).resolve().parent.parent, env=env)  # fmt: skip
        result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result
    finally:
        shutil.rmtree(dest, ignore_errors=True)


#: The cells of one size, in the order they run (each repetition runs them all again, interleaved).
CELLS = [("ngffkit 0.5 chunks", "ngffkit", "0.5 chunks"), ("ngffkit 0.5 shards", "ngffkit", "0.5 shards"),
         ("ngffkit 0.4 chunks", "ngffkit", "0.4 chunks"), ("limit chunks", "limit", "chunks"),
         ("limit shards", "limit", "shards")]  # fmt: skip
#: Which limit each ngffkit cell is a share of: the one writing as many files as its layout needs, or fewer.
LIMIT_OF = {"ngffkit 0.5 chunks": "limit chunks", "ngffkit 0.5 shards": "limit shards",
            "ngffkit 0.4 chunks": "limit chunks"}  # fmt: skip


def measure(sizes: list[tuple[str, tuple[int, int, int]]], peer_up_to: float, repeat: int) -> list[dict[str, Any]]:
    """Every cell of every size, ``repeat`` times interleaved (this machine's neighbours come and go: a cell is
    the median of its runs, and every cell of a size saw the same conditions)."""
    scratch = Path(tempfile.mkdtemp(prefix="ngffkit-growth-"))
    rows: list[dict[str, Any]] = []
    skipped: set[str] = set()
    try:
        for label, shape in sizes:
            gib = math.prod(shape) * 2 / 2**30
            runs: dict[str, list[dict[str, float]]] = {}
            with_peer = gib <= peer_up_to and "peer" not in skipped
            for _ in range(repeat):
                for name, writer, what in CELLS:
                    runs.setdefault(name, []).append(run_one(writer, what, shape, scratch))
            if with_peer:  # once: the peer is several times slower, and its noise does not change the ratio much
                runs["peer"] = [run_one("ome-zarr-py", "", shape, scratch)]
                if runs["peer"][0]["seconds"] > BUDGET:
                    skipped.add("peer")
            row: dict[str, Any] = {"size": label, "gib": gib, **{name: _median(r) for name, r in runs.items()}}
            rows.append(row)
            print(label, json.dumps({k: v for k, v in row.items() if isinstance(v, dict)}), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run of median time (its own peak RSS with it)."""
    return sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


def share(row: dict[str, Any], cell: str) -> float:
    """The machine limit's time as a share of the cell's, in percent."""
    return 100 * row[LIMIT_OF[cell]]["seconds"] / row[cell]["seconds"]


def table(rows: list[dict[str, Any]]) -> list[str]:
    def cell(row: dict[str, Any], name: str) -> str:
        result = row.get(name)
        if result is None:
            return "not run"
        text = f"{result['seconds']:.1f} s, {result['rss']:.0f} MiB"
        return text + (f" (**{share(row, name):.0f}%**)" if name in LIMIT_OF else "")

    lines = [f"| size | ngffkit 0.5 chunks | ngffkit 0.5 shards | ngffkit 0.4 chunks | {OME_ZARR_PY.label()} "
             "(LOCAL_MEAN) | ratio | reference job: chunks / shards |", "|" + " --- |" * 7]  # fmt: skip
    for row in rows:
        peer = row.get("peer")
        ratio = f"{peer['seconds'] / row['ngffkit 0.5 chunks']['seconds']:.1f}x" if peer else "-"
        lines.append(
            f"| {row['size']} | {cell(row, 'ngffkit 0.5 chunks')} | {cell(row, 'ngffkit 0.5 shards')} "
            f"| {cell(row, 'ngffkit 0.4 chunks')} | {cell(row, 'peer')} | {ratio} "
            f"| {row['limit chunks']['seconds']:.1f} s / {row['limit shards']['seconds']:.1f} s |"
        )
    return lines


def shape_of_curve(rows: list[dict[str, Any]]) -> list[str]:
    """Sentences computed from the table: seconds per GiB at the ends, share of the limit, how memory grows."""
    first, last = rows[0], rows[-1]
    key = "ngffkit 0.5 chunks"
    per_gib = [r[key]["seconds"] / r["gib"] for r in (first, last)]
    shares = {name: [share(r, name) for r in rows] for name in LIMIT_OF}
    spread = "; ".join(f"{name.removeprefix('ngffkit ')} {min(v):.0f}% to {max(v):.0f}%" for name, v in shares.items())
    return [
        f"- Time: {per_gib[0]:.1f} s/GiB at {first['size']}, {per_gib[1]:.1f} s/GiB at {last['size']} "
        f"({last['gib'] / first['gib']:.0f}x the data, {last[key]['seconds'] / first[key]['seconds']:.1f}x the time).",
        f"- The reference job's time as a share of ngffkit's across sizes: {spread}.",
        f"- Peak RSS: {first[key]['rss']:.0f} MiB -> {last[key]['rss']:.0f} MiB "
        f"({last[key]['rss'] / first[key]['rss']:.1f}x for {last['gib'] / first['gib']:.0f}x the data).",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="128 MiB to 1 GiB")
    parser.add_argument("--smoke", action="store_true", help="a 16 MiB volume, to check the script runs")
    parser.add_argument("--repeat", type=int, default=None, help="runs per cell (default 3: one run moves by ±20%%)")
    args = parser.parse_args()
    sizes = [("16 MiB", (32, 512, 512))] if args.smoke else SIZES[:4] if args.quick else SIZES
    repeat = 1 if args.smoke else args.repeat or 3
    rows = measure(sizes, peer_up_to=1.0 if args.quick else 4.0, repeat=repeat)
    lines = [
        "# Writing: how cost grows with the volume, against a reference job",
        "",
        f"Machine: {machine()}",
        "",
        "A lazy uint16 dask volume (microscopy-like, never all in memory), 5 levels (2x in z, y, x), 64^3 chunks, "
        "zstd 3; one fresh process per run: time, peak RSS, and (in bold) the reference job's time as a share "
        f"of ngffkit's; each ngffkit and reference cell is the median of {repeat} interleaved runs. The reference job "
        "makes every level-0 block, zstd-compresses strided views standing in for every level's chunks on all cores "
        "and writes the bytes -- it computes no level, so it is not a bound (a writer may beat it). It writes "
        "every level-0 chunk as a file of its own for the chunked layouts (as they must), and a few large files for "
        f"the sharded one. ome-zarr-py runs once per size up to {'1' if args.quick else '4'} GiB (and stops once it "
        f"takes over {BUDGET:.0f} s), in its own environment: {peer_versions(OME_ZARR_PY)}.",
        "",
        *table(rows),
        "",
        *shape_of_curve(rows),
    ]
    suffix = "_smoke" if args.smoke else "_quick" if args.quick else ""
    path = save("write_growth" + suffix, lines)
    print("\n".join(lines))
    print(f"\nsaved to {path}")


if __name__ == "__main__":
    main()
