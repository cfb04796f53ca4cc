"""Other readers and writers, each in the environment it needs, installed once and kept in a cache folder.

iohub pins zarr 2, so it cannot share the test environment; zarrita is JavaScript. Each gets its own folder
under ``NGFFKIT_TEST_CACHE`` (default ``~/.cache/ngffkit-tests``), built on first use from the package
registries (uv when it is on PATH, else venv + pip; npm for Node) and reused afterwards. A folder lock keeps
parallel test workers from building the same one twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pathlib
import shutil
import subprocess
import sys
from collections.abc import Iterator

from ..conftest import require

CACHE = pathlib.Path(os.environ.get("NGFFKIT_TEST_CACHE", pathlib.Path.home() / ".cache" / "ngffkit-tests"))


@contextlib.contextmanager
def _locked(folder: pathlib.Path) -> Iterator[None]:
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build(folder: pathlib.Path, recipe: str, commands: list[list[str]]) -> str | None:
    """Run ``commands`` to fill ``folder`` unless it already holds ``recipe``; the error text on failure."""
    ready = folder / "ngffkit-ready.json"
    with _locked(folder):
        if ready.exists() and json.loads(ready.read_text()) == recipe:
            return None
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for command in commands:
            proc = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False, timeout=900)
            if proc.returncode != 0:
                return f"{' '.join(command[:3])}...: {(proc.stderr or proc.stdout).strip()[-400:]}"
        ready.write_text(json.dumps(recipe))
    return None


def python_with(name: str, *requirements: str) -> pathlib.Path:
    """The interpreter of a cached virtual environment holding ``requirements`` (skips, or fails in CI)."""
    folder = CACHE / name
    python = folder / "venv" / "bin" / "python"
    uv = shutil.which("uv")
    if uv:
        commands = [[uv, "venv", "-q", "venv", "--python", sys.executable],
                    [uv, "pip", "install", "-q", "-p", str(python), *requirements]]  # fmt: skip
    else:
        commands = [[sys.executable, "-m", "venv", "venv"],
                    [str(python), "-m", "pip", "install", "-q", *requirements]]  # fmt: skip
    error = _build(folder, " ".join(requirements), commands)
    require(error is None, f"could not install {', '.join(requirements)}: {error}")
    return python


def node_with(name: str, *packages: str) -> tuple[str, pathlib.Path]:
    """``(node, folder)``: a folder whose node_modules hold ``packages`` (skips, or fails in CI, without Node)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    require(node is not None and npm is not None, "Node.js and npm are not installed")
    assert node is not None and npm is not None
    folder = CACHE / name
    error = _build(folder, " ".join(packages), [[npm, "init", "-y"], [npm, "install", "--silent", *packages]])
    require(error is None, f"could not install {', '.join(packages)} from npm: {error}")
    return node, folder


def run_json(command: list[str], *, cwd: pathlib.Path | None = None) -> dict:
    """Run another tool's script and read the JSON object it prints last."""
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
