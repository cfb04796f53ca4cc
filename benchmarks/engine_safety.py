"""Would tensorstore keep ngffkit's rules for untrusted data? Hostile local datasets read by tensorstore's zarr3
driver (its own environment, peers/) and by ngffkit, side by side.

Cases (docs/robustness.md): a gzip chunk that inflates to 1 GiB, a blosc header claiming 2 GiB, a FIFO where a chunk
should be (opening it blocks), and a chunk that is a symbolic link to a file outside the dataset. Each read runs in
a fresh process with a 20 s limit; the outcome and peak memory are recorded.

Run: python -m benchmarks.engine_safety
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import zarr
from peers import TENSORSTORE, Unavailable, process_environment
from zarr.codecs import BloscCodec, GzipCodec

from benchmarks.common import machine, peer_versions, save

REPO = Path(__file__).resolve().parents[1]

READ = r"""
import json, sys, time
name, path, reader = sys.argv[1], sys.argv[2], sys.argv[3]
start = time.perf_counter()
try:
    if reader == "tensorstore":
        import tensorstore as ts
        array = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": path + "/0/"}}, read=True).result()
        pixels = array.read().result()
    else:
        import ngffkit
        pixels = ngffkit.open(path).read(0)
    outcome = f"read {pixels.shape}; first values {pixels.reshape(-1)[:4].tolist()}"
except Exception as exc:
    outcome = f"{type(exc).__name__}: {str(exc)[:150]}"
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM")).split()[1]
print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - start, "peak_mib": int(hwm) // 1024}))
"""


def image(root: Path, name: str, codec: object) -> Path:
    """A 64 x 64 uint8 OME-Zarr 0.5 image of one chunk (``0/c/0/0``), to be spoiled."""
    import ngffkit

    path = root / name
    ngffkit.write_image(__import__("numpy").ones((64, 64), "uint8"), path, axes="yx", levels=1, chunks=(64, 64))
    shutil.rmtree(path / "0")
    array = zarr.create_array(str(path / "0"), shape=(64, 64), chunks=(64, 64), dtype="uint8", compressors=codec,
                              dimension_names=["y", "x"])  # type: ignore[arg-type]  # fmt: skip
    array[:] = 1
    return path


def build(root: Path) -> dict[str, Path]:
    cases = {}
    path = cases["gzip chunk inflating to 1 GiB"] = image(root, "gzip", GzipCodec())
    (path / "0/c/0/0").write_bytes(gzip.compress(b"\0" * (1 << 30), compresslevel=9))
    path = cases["blosc header claiming 2 GiB"] = image(root, "blosc", BloscCodec())
    raw = bytearray((path / "0/c/0/0").read_bytes())
    raw[4:8] = (2**31 - 1).to_bytes(4, "little")
    (path / "0/c/0/0").write_bytes(bytes(raw))
    path = cases["FIFO where a chunk should be"] = image(root, "fifo", None)
    (path / "0/c/0/0").unlink()
    os.mkfifo(path / "0/c/0/0")
    path = cases["chunk linked to a file outside the dataset"] = image(root, "link", None)
    (root / "secret.bin").write_bytes(bytes(range(256)) * 16)
    (path / "0/c/0/0").unlink()
    (path / "0/c/0/0").symlink_to(root / "secret.bin")
    return cases


def run(python: Path, path: Path, reader: str) -> str:
    """One read of the dataset at ``path`` in a fresh process of ``python`` (ngffkit's, or tensorstore's own
    environment), killed after 20 s."""
    env = process_environment() if reader == "tensorstore" else {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        proc = subprocess.run([str(python), "-c", READ, path.name, str(path), reader], capture_output=True, text=True,
                              timeout=20, env=env, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        return "no answer in 20 s (blocked; killed)"
    if proc.returncode != 0:
        return (
            f"process failed: {proc.stderr.strip().splitlines()[-1][:150] if proc.stderr.strip() else proc.returncode}"
        )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return f"{result['outcome']} ({result['seconds']:.2f} s, peak {result['peak_mib']} MiB)"


def main() -> None:
    try:
        tensorstore: Path | None = TENSORSTORE.interpreter()
    except Unavailable as error:
        tensorstore = None
        print(f"tensorstore: not measured, its environment could not be built: {error}", flush=True)
    root = Path(tempfile.mkdtemp(prefix="ngffkit-engines-"))
    try:
        cases = build(root)
        rows = []
        for name, path in cases.items():
            ours = run(Path(sys.executable), path, "ngffkit")
            theirs = run(tensorstore, path, "tensorstore") if tensorstore else "tensorstore not installable"
            rows.append(f"| {name} | {ours} | {theirs} |")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    label = TENSORSTORE.label() if tensorstore else "tensorstore"
    found = peer_versions(TENSORSTORE) if tensorstore else "tensorstore: its environment could not be built"
    lines = ["# Hostile local data: ngffkit's reads against tensorstore's", "", f"Machine: {machine()}; {found}", "",
             f"| case | ngffkit `image.read(0)` | {label} zarr3 driver, file kvstore |", "| --- | --- | --- |", *rows]  # fmt: skip
    path = save("engine_safety", lines)
    print("\n".join(lines))
    print(f"\nsaved to {path}")


if __name__ == "__main__":
    main()
