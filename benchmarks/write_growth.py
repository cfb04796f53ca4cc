"""How writing cost grows with the volume, and how close it stays to the machine's limit at every size.

For each size (128 MiB to 4 GiB; the full run adds 8 GiB), one fresh process per measurement writes a lazy dask
volume (``tiled_volume``: microscopy-like blocks placed with offsets, never all in memory; a block costs a copy,
so the writer is measured, not the generator) as a 5-level pyramid,
64^3 chunks, zstd 3 on both sides; reported: time and peak RSS (VmHWM).
  * ngffkit: NGFF 0.5 chunked, 0.5 with 256^3 shards, 0.4 chunked;
  * ome-zarr-py 0.18 (this environment): 0.5 chunked, the same data and options;
  * the machine limit for the same job: make every level-0 block (the input's own cost), compress the chunks of
    every level with numcodecs zstd on all cores, write the bytes -- downsampling not counted.

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

from benchmarks.common import machine, save

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
from ome_zarr.writer import write_image
factors = [{"z": 2**k, "y": 2**k, "x": 2**k} for k in range(1, 5)]
""",
        """
write_image(data, zarr.open_group(dest, mode="w"), axes="zyx", scale_factors=factors,
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
    # level k holds 1/8**k of the bytes; compressing a strided view of the block stands in for its content
    block = data.blocks[block_index].compute(scheduler="sync")
    with open(os.path.join(dest, "%d.bin" % hash(block_index)), "wb") as f:
        for k in range(5):
            level = np.ascontiguousarray(block[:: 2**k, :: 2**k, :: 2**k])
            for z in range(0, level.shape[0], 64):
                for y in range(0, level.shape[1], 64):
                    for x in range(0, level.shape[2], 64):
                        f.write(codec.encode(np.ascontiguousarray(level[z:z+64, y:y+64, x:x+64])))
""",
        """
os.makedirs(dest, exist_ok=True)
with ThreadPoolExecutor(os.cpu_count()) as pool:
    list(pool.map(one, list(np.ndindex(*data.numblocks))))
""",
    ),
}


def run_one(writer: str, what: str, shape: tuple[int, ...], scratch: Path) -> dict[str, float]:
    """One measurement in a fresh process (its own peak RSS); the destination is removed afterwards."""
    imports, work = JOBS[writer]
    code = "".join(textwrap.dedent(part) for part in (PRELUDE, imports, START, work, EPILOGUE))
    dest = scratch / f"{writer}.out"
    try:
        proc = subprocess.run([sys.executable, "-c", code, json.dumps(shape), str(dest), what], capture_output=True,
                              text=True, check=True, cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
        result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def measure(sizes: list[tuple[str, tuple[int, int, int]]], peer_up_to: float) -> list[dict[str, Any]]:
    scratch = Path(tempfile.mkdtemp(prefix="ngffkit-growth-"))
    rows: list[dict[str, Any]] = []
    skipped: set[str] = set()
    try:
        for label, shape in sizes:
            gib = math.prod(shape) * 2 / 2**30
            row: dict[str, Any] = {"size": label, "gib": gib}
            for what in ("0.5 chunks", "0.5 shards", "0.4 chunks"):
                row[f"ngffkit {what}"] = run_one("ngffkit", what, shape, scratch)
            row["limit"] = run_one("limit", "", shape, scratch)
            if gib <= peer_up_to and "peer" not in skipped:
                row["peer"] = run_one("ome-zarr-py", "", shape, scratch)
                if row["peer"]["seconds"] > BUDGET:
                    skipped.add("peer")
            rows.append(row)
            print(label, json.dumps({k: v for k, v in row.items() if isinstance(v, dict)}), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


def table(rows: list[dict[str, Any]]) -> list[str]:
    def cell(result: dict[str, float] | None, limit: float | None = None) -> str:
        if result is None:
            return "not run"
        text = f"{result['seconds']:.1f} s, {result['rss']:.0f} MiB"
        return text + (f" (**{100 * limit / result['seconds']:.0f}%**)" if limit else "")

    lines = ["| size | ngffkit 0.5 chunks | ngffkit 0.5 shards | ngffkit 0.4 chunks | ome-zarr-py 0.18 | ratio | limit |",
             "|" + " --- |" * 7]  # fmt: skip
    for row in rows:
        limit = row["limit"]["seconds"]
        peer = row.get("peer")
        ratio = f"{peer['seconds'] / row['ngffkit 0.5 chunks']['seconds']:.1f}x" if peer else "-"
        lines.append(
            f"| {row['size']} | {cell(row['ngffkit 0.5 chunks'], limit)} | {cell(row['ngffkit 0.5 shards'], limit)} "
            f"| {cell(row['ngffkit 0.4 chunks'], limit)} | {cell(peer)} | {ratio} | {limit:.1f} s |"
        )
    return lines


def shape_of_curve(rows: list[dict[str, Any]]) -> list[str]:
    """Sentences computed from the table: seconds per GiB at the ends, and how memory grows."""
    first, last = rows[0], rows[-1]
    key = "ngffkit 0.5 chunks"
    per_gib = [r[key]["seconds"] / r["gib"] for r in (first, last)]
    share = [100 * r["limit"]["seconds"] / r[key]["seconds"] for r in rows]
    return [
        f"- Time: {per_gib[0]:.1f} s/GiB at {first['size']}, {per_gib[1]:.1f} s/GiB at {last['size']} "
        f"({last['gib'] / first['gib']:.0f}x the data, {last[key]['seconds'] / first[key]['seconds']:.1f}x the time).",
        f"- Share of the machine limit (0.5 chunks): {min(share):.0f}% to {max(share):.0f}% across sizes.",
        f"- Peak RSS: {first[key]['rss']:.0f} MiB -> {last[key]['rss']:.0f} MiB "
        f"({last[key]['rss'] / first[key]['rss']:.1f}x for {last['gib'] / first['gib']:.0f}x the data).",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="128 MiB to 1 GiB")
    parser.add_argument("--smoke", action="store_true", help="a 16 MiB volume, to check the script runs")
    args = parser.parse_args()
    sizes = [("16 MiB", (32, 512, 512))] if args.smoke else SIZES[:4] if args.quick else SIZES
    rows = measure(sizes, peer_up_to=1.0 if args.quick else 4.0)
    lines = [
        "# Writing: how cost grows with the volume, against this machine's limit",
        "",
        f"Machine: {machine()}",
        "",
        "A lazy uint16 dask volume (microscopy-like, never all in memory), 5 levels (2x in z, y, x), 64^3 chunks, "
        "zstd 3; one fresh process per cell: time, peak RSS, and (in bold) the machine limit's time as a share "
        f"of ngffkit's. ome-zarr-py runs up to 4 GiB (and stops once it takes over {BUDGET:.0f} s).",
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
