"""Pyramid write: ngffkit.write_image against ome-zarr-py's write_image, same data, same run.

Case 1 of the benchmark plan: a ~1 GiB uint16 volume (synthetic, compressible like microscopy), 5 levels,
zstd, 64^3 chunks, NGFF 0.5, plain and sharded (256^3 shards) -- timed alternately, several repetitions,
median and spread -- against ome-zarr-py (its newest release, in its own environment: peers/; the volume comes
from a .npy file, loaded before its clock starts) and against this machine's limit for the same job: reading level 0 once, compressing every level's chunks
with numcodecs zstd on all cores, and writing the compressed bytes to one file. Case 2: peak RSS while
writing a dask-backed volume larger than the memory budget (4 GiB input, 1 GiB budget).

Run: python -m benchmarks.write_pyramid [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numcodecs
import numpy as np
from peers import OME_ZARR_PY, process_environment

from benchmarks.common import machine, peak_rss_of, save, summary, synthetic_volume, timed

LEVELS, CHUNK, SHARD = 5, (64, 64, 64), (256, 256, 256)
FACTORS = [{"z": 2**k, "y": 2**k, "x": 2**k} for k in range(1, LEVELS)]


def write_ngffkit(data: np.ndarray, dest: Path, shards: tuple[int, ...] | None = None) -> None:
    import ngffkit

    ngffkit.write_image(data, dest, axes="zyx", levels=LEVELS, scale_factors={"z": 2, "y": 2, "x": 2},
                        chunks=CHUNK, shards=shards, compressor="zstd", overwrite=True)  # fmt: skip


#: The same write with ome-zarr-py in its own environment: the volume comes from a .npy file (not timed).
REFERENCE_WRITE = textwrap.dedent("""
    import json, shutil, sys, time
    import numpy as np, zarr
    from zarr.codecs import ZstdCodec
    from ome_zarr.writer import write_image

    data = np.load(sys.argv[1])
    dest, shards = sys.argv[2], json.loads(sys.argv[3])
    factors = [{"z": 2**k, "y": 2**k, "x": 2**k} for k in range(1, 5)]
    options = {"chunks": (64, 64, 64), "compressor": ZstdCodec(level=3), **({"shards": shards} if shards else {})}
    shutil.rmtree(dest, ignore_errors=True)
    start = time.perf_counter()
    write_image(data, zarr.open_group(dest, mode="w"), axes="zyx", scale_factors=factors, storage_options=options)
    print(json.dumps({"seconds": time.perf_counter() - start}))
""")


def machine_limit(data: np.ndarray, dest: Path) -> float:
    """Seconds this machine needs, at least, for the job: read level 0 once, zstd-compress the chunks of all
    levels on every core (numcodecs, as zarr uses), write the compressed bytes. Downsampling is not counted."""
    codec = numcodecs.Zstd(level=3)
    start = time.perf_counter()
    blocks = []
    for k in range(LEVELS):
        level = data[:: 2**k, :: 2**k, :: 2**k]  # stands in for the level's content: same size, same texture
        for z in range(0, level.shape[0], CHUNK[0]):
            for y in range(0, level.shape[1], CHUNK[1]):
                for x in range(0, level.shape[2], CHUNK[2]):
                    blocks.append(np.ascontiguousarray(level[z : z + CHUNK[0], y : y + CHUNK[1], x : x + CHUNK[2]]))
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        compressed = list(pool.map(codec.encode, blocks))
    with open(dest, "wb") as f:
        for piece in compressed:
            f.write(piece)
    return time.perf_counter() - start


OME_ZARR_MEMORY_CODE = textwrap.dedent(
    """
    import dask, shutil, zarr
    from zarr.codecs import ZstdCodec
    from ome_zarr.writer import write_image
    from benchmarks.common import synthetic_volume
    dask.config.set(scheduler="threads", num_workers=2)
    data = synthetic_volume(SHAPE, chunks=(64, 256, 256))
    factors = [{"z": 2**k, "y": 2**k, "x": 2**k} for k in range(1, 5)]
    write_image(data, zarr.open_group(DEST, mode="w"), axes="zyx", scale_factors=factors,
                storage_options={"chunks": (64, 64, 64), "compressor": ZstdCodec(level=3)})
    hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    print("PEAK_RSS_MIB=%.1f" % (int(hwm.split()[1]) / 1024))
    """
)


MEMORY_CODE = textwrap.dedent(
    """
    import dask, ngffkit
    from benchmarks.common import synthetic_volume
    dask.config.set(scheduler="threads", num_workers=2)
    data = synthetic_volume(SHAPE, chunks=(64, 256, 256))
    ngffkit.write_image(data, DEST, axes="zyx", levels=5, scale_factors={"z": 2, "y": 2, "x": 2},
                        chunks=(64, 64, 64), compressor="zstd", overwrite=True)
    # VmHWM, not ru_maxrss: after fork+exec Linux keeps the parent's high-water mark in ru_maxrss
    hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    print("PEAK_RSS_MIB=%.1f" % (int(hwm.split()[1]) / 1024))
    """
)


def reference_write(volume: Path, dest: Path, shards: tuple[int, ...] | None) -> float:
    """Seconds ome-zarr-py's write takes, timed in a process of its own environment (the volume is loaded from
    ``volume`` before the clock starts)."""
    command = [str(OME_ZARR_PY.interpreter()), "-c", REFERENCE_WRITE, str(volume), str(dest),
               json.dumps(list(shards) if shards else None)]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, check=False, env=process_environment())
    if proc.returncode != 0:
        raise RuntimeError(f"ome-zarr-py's write failed:\n{proc.stderr[-2000:]}")
    seconds: float = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a 256 MiB volume, a 1 GiB memory case")
    parser.add_argument("--smoke", action="store_true", help="a 4 MiB volume, to check the script runs")
    args = parser.parse_args()
    args.quick = args.quick or args.smoke
    shape = (32, 256, 256) if args.smoke else (128, 1024, 1024) if args.quick else (256, 1448, 1448)
    big = (64, 256, 256) if args.smoke else (128, 2048, 2048) if args.quick else (512, 2048, 2048)
    repeat = 1 if args.quick else 3
    big_gib = np.prod(big) * 2 / 2**30
    peer = f"{OME_ZARR_PY.label()} (Python {OME_ZARR_PY.versions()['python']})"
    rss = {}
    for name, template, python in (("ngffkit", MEMORY_CODE, None), (peer, OME_ZARR_MEMORY_CODE, OME_ZARR_PY)):
        if args.quick and python is not None:
            continue  # ome-zarr-py needs minutes for this case; the full run measures it
        scratch = Path(tempfile.mkdtemp(prefix="ngffkit-bench-"))
        try:  # before this process holds the test volume
            code = template.replace("SHAPE", repr(big)).replace("DEST", repr(str(scratch / "big.zarr")))
            rss[name], _ = peak_rss_of(code, python)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    data = synthetic_volume(shape).compute()
    gib = data.nbytes / 2**30
    tmp = Path(tempfile.mkdtemp(prefix="ngffkit-bench-"))
    np.save(tmp / "volume.npy", data)
    times: dict[tuple[str, str], list[float]] = {}
    try:
        for layout, shards in (("64^3 chunks", None), ("256^3 shards of 64^3 chunks", SHARD)):
            for _ in range(repeat):  # alternate, so every writer sees the same machine state
                times.setdefault(("ngffkit", layout), []).extend(
                    timed(lambda s=shards: write_ngffkit(data, tmp / "ngffkit.zarr", s), 1))  # fmt: skip
                times.setdefault((peer, layout), []).append(
                    reference_write(tmp / "volume.npy", tmp / "peer.zarr", shards)
                )
        limit = [machine_limit(data, tmp / "limit.bin") for _ in range(repeat)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    limit_s = float(np.median(limit))
    lines = [
        "# Pyramid write: ngffkit vs ome-zarr-py",
        "",
        f"Machine: {machine()}",
        "",
        f"{gib:.2f} GiB uint16 volume {shape}, 5 levels (2x in z, y, x), zstd level 3, NGFF 0.5;",
        f"{repeat} alternating repetitions each, median ± half range. Throughput counts level-0 bytes.",
        "",
        "| writer | layout | time | throughput | ngffkit is |",
        "| --- | --- | --- | --- | --- |",
    ]
    for (writer, layout), values in times.items():
        ours = np.median(times[("ngffkit", layout)])
        speed = "" if writer == "ngffkit" else f"**{np.median(values) / ours:.1f}x faster**"
        lines.append(f"| {writer} | {layout} | {summary(values)} | {gib / np.median(values):.2f} GiB/s | {speed} |")
    lines.append(f"| machine limit | read level 0 once + zstd all levels on {os.cpu_count()} cores + write | "
                 f"{summary(limit)} | {gib / limit_s:.2f} GiB/s | |")  # fmt: skip
    chunked = np.median(times[("ngffkit", "64^3 chunks")])
    sharded = np.median(times[("ngffkit", "256^3 shards of 64^3 chunks")])
    lines += [
        "",
        f"ngffkit reaches **{100 * limit_s / chunked:.0f}%** (chunks) and **{100 * limit_s / sharded:.0f}%** (shards) "
        "of the machine limit (target: >= 50%); target against ome-zarr-py: >= 3x.",
        "",
        f"Memory: writing a dask-backed {big_gib:.1f} GiB volume {big} (never all in memory), same options:",
        *(f"- {name}: peak RSS **{value:.0f} MiB**" for name, value in rss.items()),
        "",
        "Target for ngffkit: < 1024 MiB.",
    ]
    path = save("write_pyramid" + ("_smoke" if args.smoke else "_quick" if args.quick else ""), lines)
    print("\n".join(lines))
    print(f"\nsaved to {path}")


if __name__ == "__main__":
    main()
