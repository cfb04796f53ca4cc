"""Shared helpers: synthetic microscopy-like data, timing with repetitions, result tables."""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import dask.array as da
import numpy as np

RESULTS = Path(__file__).parent / "results"


def microscopy_block(block_id: tuple[int, ...], shape: tuple[int, ...], dtype: str = "uint16") -> np.ndarray:
    """One block of a smooth, blobby volume with Poisson-like noise: compresses like real microscopy."""
    rng = np.random.default_rng(abs(hash(block_id)) % 2**32)
    grids = np.meshgrid(*(np.arange(s, dtype=np.float32) for s in shape), indexing="ij")
    offset = [b * s for b, s in zip(block_id, shape, strict=True)]
    phase = sum((g + o) * f for g, o, f in zip(grids, offset, (0.011, 0.017, 0.013), strict=False))
    smooth = 800 + 600 * np.sin(phase) ** 2
    return (smooth + rng.normal(0, 20, shape)).astype(dtype)


def synthetic_volume(shape: tuple[int, int, int], chunks: tuple[int, int, int] = (64, 256, 256)) -> da.Array:
    """A lazy uint16 volume of ``shape`` (built block by block; never all in memory unless computed)."""
    blocks = da.empty(shape, chunks=chunks, dtype="uint16")
    return blocks.map_blocks(lambda b, block_id=None: microscopy_block(block_id, b.shape), dtype="uint16")


def tiled_volume(shape: tuple[int, int, int], chunks: tuple[int, int, int] = (64, 256, 256)) -> da.Array:
    """A lazy uint16 volume made of a few pre-computed microscopy-like blocks, each placed with its own offset:
    as compressible as :func:`synthetic_volume`, but a block costs a copy, not a computation -- so that a write
    benchmark measures the writer, not the generator (which is also why the limit includes the same copies)."""
    templates = [microscopy_block((k, 0, 0), chunks) for k in range(4)]

    def block(b: np.ndarray, block_id: tuple[int, ...] | None = None) -> np.ndarray:
        index = sum(block_id or ())
        source = templates[index % len(templates)]
        return (source[tuple(slice(0, n) for n in b.shape)] + np.uint16(index % 7)).astype("uint16", copy=False)

    return da.empty(shape, chunks=chunks, dtype="uint16").map_blocks(block, dtype="uint16")


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def summary(times: list[float]) -> str:
    med = statistics.median(times)
    spread = (max(times) - min(times)) / 2 if len(times) > 1 else 0.0
    return f"{med:.2f} s ± {spread:.2f}"


def peak_rss_of(code: str, python: Path | None = None) -> tuple[float, str]:
    """Run ``code`` in a fresh Python (this one, or a peer's environment's ``python`` with the repository on its
    path) and return (its peak RSS in MiB, its stdout)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])} if python else None
    proc = subprocess.run([str(python or sys.executable), "-c", code], capture_output=True, text=True, check=True,
                          env=env)  # fmt: skip
    line = [text for text in proc.stdout.splitlines() if text.startswith("PEAK_RSS_MIB=")][-1]
    return float(line.split("=", 1)[1]), proc.stdout


def ensure_bytecode() -> None:
    """Compile the environment's modules to bytecode before timing fresh processes, as ``pip install`` does.

    ``uv`` installs without compiling, and an environment with ``PYTHONDONTWRITEBYTECODE=1`` (this workplace's)
    never writes ``.pyc`` files: then every new process compiles what it imports from source -- about 3 s for the
    1,300 modules napari and a plugin load -- and a start-up or first-open time measures the compiler, not the
    code. Cheap once done (a timestamp check per file)."""
    paths = sysconfig.get_paths()
    folders = {paths["purelib"], paths["platlib"], str(Path(__file__).resolve().parents[1] / "src")}
    for folder in sorted(folders):
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", folder], capture_output=True, check=False)


def machine() -> str:
    versions = {p: _version(p) for p in ("ngffkit", "ome-zarr", "zarr", "dask", "numpy", "numcodecs")}
    return (
        f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f"; {datetime.date.today().isoformat()}"
    )


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def results_dir() -> Path:
    """Where results go: benchmarks/results, or ``NGFFKIT_BENCH_RESULTS`` (the smoke tests write elsewhere, so
    a cheap run never overwrites the committed numbers)."""
    return Path(os.environ.get("NGFFKIT_BENCH_RESULTS") or RESULTS)


def save(name: str, lines: list[str]) -> Path:
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def dump(obj: object) -> str:
    return json.dumps(obj, indent=2)


def write_table(name: str, title: str, header: list[str], rows: list[list[str]]) -> Path:
    """A results file: title, machine, and a markdown table."""
    lines = [f"# {title}", "", machine(), "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return save(name, lines)
