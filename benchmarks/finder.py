"""Cataloguing a folder of OME-Zarr images (``ngffkit finder``), locally and over a slow HTTP server.

ome-zarr-py's ``finder`` walks every file below the folder (chunks included) and records only paths and
names; ngffkit lists down to each dataset and then reads the metadata of all of them in a few concurrent
batches, so its table also has sizes, channels, labels and plate positions. Both run in this process.

Run: python -m benchmarks.finder [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from loopback.servers import http_file_server

from benchmarks.common import machine, save
from ngffkit.samples.examples import write_coins
from ngffkit.tools.finder import find

LATENCY = 0.02


def make_tree(root: Path, images: int) -> None:
    """``images`` copies of a 3-level coins image with labels, 50 per folder."""
    seed = write_coins(root / "seed.zarr")
    for i in range(images):
        shutil.copytree(seed, root / f"batch{i // 50:03d}" / f"image{i:05d}.ome.zarr")
    shutil.rmtree(seed)


def timed(fn: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def ome_zarr_finder(root: Path) -> None:
    from ome_zarr.utils import finder

    with contextlib.redirect_stdout(io.StringIO()):
        finder(str(root), dry_run=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="200 images, one repetition")
    args = parser.parse_args()
    count, repeat = (200, 1) if args.quick else (2000, 3)
    tmp = Path(tempfile.mkdtemp(prefix="ngffkit-finder-"))
    try:
        make_tree(tmp / "data", count)
        local: dict[str, list[float]] = {"ngffkit finder": [], "ome-zarr-py finder (paths only)": []}
        for _ in range(repeat):
            local["ngffkit finder"] += timed(lambda: find(tmp / "data"), 1)
            local["ome-zarr-py finder (paths only)"] += timed(lambda: ome_zarr_finder(tmp / "data"), 1)
        found = len(find(tmp / "data").images)
        with http_file_server(tmp, latency=LATENCY) as server:
            remote = timed(lambda: find(f"{server.url}/data/"), 1)
            requests, waves = len(server.log.entries), server.log.sequential_waves()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [
        "# Finder: a BioFile Finder table of a folder of OME-Zarr images",
        "",
        f"Machine: {machine()}",
        "",
        f"{count} images (3 levels + a label image each), 50 per folder; {repeat} repetition(s), median.",
        "",
        "| cataloguer | where | time | per image |",
        "| --- | --- | --- | --- |",
        *(
            f"| {name} | local disk | {statistics.median(v):.2f} s | {1000 * statistics.median(v) / count:.2f} ms |"
            for name, v in local.items()
        ),
        f"| ngffkit finder | HTTP, +{LATENCY * 1000:.0f} ms per response | {remote[0]:.2f} s | "
        f"{1000 * remote[0] / count:.2f} ms ({requests} requests in {waves} sequential waves) |",
        "",
        f"ngffkit found {found} images, with sizes, data type, channels and labels for each.",
    ]
    path = save("finder" + ("_quick" if args.quick else ""), lines)
    print("\n".join(lines))
    print(f"\nsaved to {path}")


if __name__ == "__main__":
    main()
