"""Reference implementations that need another Python, each in its own virtual environment.

ome-zarr-py 0.19+ requires Python 3.12, and ngffkit's own environment runs 3.11 with ome-zarr 0.18. The
harness creates ``benchmarks/.envs/<name>`` once (with uv when present, else pip) and runs reference code
there in a subprocess. Set ``NGFFKIT_BENCH_PY312`` to use another Python 3.12.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

ENVS = Path(__file__).parent / ".envs"
PY312 = os.environ.get("NGFFKIT_BENCH_PY312", "/root/.pyenv/versions/3.12.1/bin/python3.12")
OME_ZARR_LATEST = "ome-zarr==0.21.0"


def reference_python(spec: str = OME_ZARR_LATEST, *, base: str = PY312, create: bool = True) -> Path | None:
    """The interpreter of an environment holding ``spec``; created on first use (None if impossible)."""
    env = ENVS / spec.replace("==", "-")
    python = env / "bin" / "python"
    if python.exists():
        return python
    if not create or not Path(base).exists():
        return None
    subprocess.run([base, "-m", "venv", str(env)], check=True)
    if shutil.which("uv"):
        subprocess.run(["uv", "pip", "install", "-q", "--python", str(python), spec], check=True)
    else:
        subprocess.run([str(python), "-m", "pip", "install", "-q", spec], check=True)
    return python


def version_in(python: Path, package: str) -> str:
    code = f"from importlib.metadata import version; print(version({package!r}))"
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def run_json(python: Path, code: str, *args: str) -> dict:
    """Run ``code`` with ``python``; its last stdout line is JSON."""
    proc = subprocess.run([str(python), "-c", code, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"reference run failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
