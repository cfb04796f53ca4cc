"""Codec defaults: size against speed on microscopy-like data, one table per kind of data.

Candidates are the codecs every common reader decodes (ome-zarr-py, ngff-zarr, zarrita): zstd at several levels,
blosc with zstd or lz4 inside and byte- or bit-shuffle, and gzip. Each is run on 2 MiB chunks (the writer's
default chunk size) of three kinds of data: a smooth 16-bit signal with photon-like noise, the same as 8 bits,
and a 32-bit label image (a few hundred blobs on background). Blosc runs on one thread, as the writer runs one
codec per chunk on every core. *write cost* is the time to compress one GiB plus the time to store what is left
at ``--disk`` MB/s (default 400, a fast local disk; use ~100 for network storage).

Run: python -m benchmarks.codecs [--quick] [--disk MBPS]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numcodecs
import numpy as np
from numcodecs.abc import Codec

from benchmarks.common import machine, microscopy_block, save

CANDIDATES: dict[str, Callable[[int], Codec]] = {
    "zstd 1": lambda _: numcodecs.Zstd(level=1),
    "zstd 3 (ngffkit default)": lambda _: numcodecs.Zstd(level=3),
    "zstd 5": lambda _: numcodecs.Zstd(level=5),
    "blosc zstd 3 shuffle": lambda size: numcodecs.Blosc("zstd", 3, numcodecs.Blosc.SHUFFLE, typesize=size),
    "blosc zstd 5 bitshuffle": lambda size: numcodecs.Blosc("zstd", 5, numcodecs.Blosc.BITSHUFFLE, typesize=size),
    "blosc lz4 5 shuffle (ome-zarr-py)": lambda size: numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE, typesize=size),
    "blosc lz4 5 bitshuffle": lambda size: numcodecs.Blosc("lz4", 5, numcodecs.Blosc.BITSHUFFLE, typesize=size),
    "gzip 1": lambda _: numcodecs.GZip(level=1),
}


def chunks(kind: str, count: int) -> list[np.ndarray]:
    """``count`` chunks of 2 MiB of one kind of data."""
    out = []
    for i in range(count):
        if kind == "uint16 image":
            out.append(microscopy_block((i, 0, 0), (16, 256, 256), "uint16"))
        elif kind == "uint8 image":
            out.append((microscopy_block((i, 0, 0), (32, 256, 256), "uint16") // 8).astype(np.uint8))
        else:  # labels: blobs numbered 1..n on 0, as a segmentation looks
            rng = np.random.default_rng(i)
            labels = np.zeros((8, 256, 256), np.uint32)
            yy, xx = np.mgrid[:256, :256]
            for value in range(1, 40):
                cy, cx, r = rng.integers(0, 256), rng.integers(0, 256), rng.integers(5, 20)
                labels[:, (yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = value + 40 * i
            out.append(labels)
    return out


def measure(codec: Codec, data: list[np.ndarray]) -> tuple[float, float, float]:
    """(compression ratio, compress MB/s, decompress MB/s) over ``data``."""
    raw = sum(d.nbytes for d in data)
    start = time.perf_counter()
    encoded = [codec.encode(d) for d in data]
    compress = time.perf_counter() - start
    start = time.perf_counter()
    for e, d in zip(encoded, data, strict=True):
        codec.decode(e, out=np.empty_like(d))
    decompress = time.perf_counter() - start
    size = sum(len(e) for e in encoded)
    return raw / size, raw / compress / 1e6, raw / decompress / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="8 chunks per kind instead of 32")
    parser.add_argument("--smoke", action="store_true", help="2 chunks per kind, saved apart: checks the script runs")
    parser.add_argument("--disk", type=float, default=400.0, help="storage speed in MB/s for the write cost")
    args = parser.parse_args()
    numcodecs.blosc.set_nthreads(1)
    count = 2 if args.smoke else 8 if args.quick else 32
    lines = ["# Codec defaults: size against speed", "", f"Machine: {machine()}", "",
             f"{count} chunks of 2 MiB per kind; one thread; write cost = compress + store at {args.disk:g} MB/s "
             "(seconds per GiB of raw data).", ""]  # fmt: skip
    for kind in ("uint16 image", "uint8 image", "labels (uint32)"):
        data = chunks(kind, count)
        lines += [f"### {kind}", "", "| codec | ratio | compress MB/s | decompress MB/s | write cost s/GiB |",
                  "| --- | --- | --- | --- | --- |"]  # fmt: skip
        rows = []
        for name, make in CANDIDATES.items():
            ratio, comp, decomp = measure(make(data[0].dtype.itemsize), data)
            cost = 1024 / comp + 1024 / ratio / args.disk
            rows.append((cost, f"| {name} | {ratio:.2f} | {comp:.0f} | {decomp:.0f} | {cost:.2f} |"))
        lines += [row for _, row in sorted(rows)] + [""]
    path = save("codecs" + ("_smoke" if args.smoke else "_quick" if args.quick else ""), lines)
    print("\n".join(lines))
    print(f"\nsaved to {path}")


if __name__ == "__main__":
    main()
