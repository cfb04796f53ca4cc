"""Pyramid write: ngffkit.write_image against ome-zarr-py's write_image, same data, same run.

Case 1 of the benchmark plan: a ~1 GiB uint16 volume (synthetic, compressible like microscopy), 5 levels,
zstd, 64^3 chunks, NGFF 0.5 -- timed alternately, several repetitions, median and spread. Case 2: peak RSS
while writing a dask-backed volume larger than the memory budget (4 GiB input, 1 GiB budget).

Run: python -m benchmarks.write_pyramid [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from zarr.codecs import ZstdCodec

from benchmarks.common import machine, peak_rss_of, save, summary, synthetic_volume, timed


def write_ngffkit(data: np.ndarray, dest: Path) -> None:
    import ngffkit

    ngffkit.write_image(data, dest, axes="zyx", levels=5, scale_factors={"z": 2, "y": 2, "x": 2},
                        chunks=(64, 64, 64), compressor="zstd", overwrite=True)  # fmt: skip


def write_ome_zarr(data: np.ndarray, dest: Path) -> None:
    import zarr
    from ome_zarr.writer import write_image

    shutil.rmtree(dest, ignore_errors=True)
    group = zarr.open_group(str(dest), mode="w")
    write_image(data, group, axes="zyx", scale_factors=[{"z": 2, "y": 2, "x": 2}, {"z": 4, "y": 4, "x": 4},
                {"z": 8, "y": 8, "x": 8}, {"z": 16, "y": 16, "x": 16}],
                storage_options={"chunks": (64, 64, 64), "compressor": ZstdCodec(level=3)})  # fmt: skip


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a 256 MiB volume and a 1 GiB memory case")
    args = parser.parse_args()
    shape = (128, 1024, 1024) if args.quick else (256, 1448, 1448)
    big = (256, 2048, 2048) if args.quick else (512, 2048, 2048)
    repeat = 2 if args.quick else 3
    tmp0 = Path(tempfile.mkdtemp(prefix="ngffkit-bench-"))
    try:  # the memory case first, before this process holds the test volume
        code = MEMORY_CODE.replace("SHAPE", repr(big)).replace("DEST", repr(str(tmp0 / "big.zarr")))
        rss, _ = peak_rss_of(code)
    finally:
        shutil.rmtree(tmp0, ignore_errors=True)
    big_gib = np.prod(big) * 2 / 2**30
    data = synthetic_volume(shape).compute()
    gib = data.nbytes / 2**30
    tmp = Path(tempfile.mkdtemp(prefix="ngffkit-bench-"))
    try:
        times = {"ngffkit": [], "ome-zarr-py": []}
        for _ in range(repeat):  # alternate, so both see the same machine state
            times["ngffkit"] += timed(lambda: write_ngffkit(data, tmp / "ngffkit.zarr"), 1)
            times["ome-zarr-py"] += timed(lambda: write_ome_zarr(data, tmp / "omezarr.zarr"), 1)
        ratio = np.median(times["ome-zarr-py"]) / np.median(times["ngffkit"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [
        "# Pyramid write: ngffkit vs ome-zarr-py",
        "",
        f"Machine: {machine()}",
        "",
        f"{gib:.2f} GiB uint16 volume {shape}, 5 levels (2x in z, y, x), zstd level 3, 64^3 chunks, NGFF 0.5;",
        f"{repeat} alternating repetitions each, median ± half range.",
        "",
        "| writer | time | throughput |",
        "| --- | --- | --- |",
        *(f"| {k} | {summary(v)} | {gib / np.median(v):.2f} GiB/s |" for k, v in times.items()),
        "",
        f"**ngffkit is {ratio:.1f}x faster** than ome-zarr-py's write_image (target: >= 3x).",
        "",
        f"Memory: writing a dask-backed {big_gib:.1f} GiB volume {big} (never all in memory), same options:",
        f"peak RSS **{rss:.0f} MiB** (target: < 1024 MiB).",
    ]
    path = save("write_pyramid" + ("_quick" if args.quick else ""), lines)
    print("\n".join(lines))
    print(f"\nsaved to {path}")


if __name__ == "__main__":
    main()
