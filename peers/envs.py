"""Environments of their own, built once from the package registries and kept in a cache folder.

Each environment is a folder under ``NGFFKIT_TEST_CACHE`` (default ``~/.cache/ngffkit-tests``): a virtual
environment made with uv when it is on PATH (else ``venv`` and pip), or a Node folder made with npm. A folder
holds a ``ngffkit-ready.json`` once it is complete: the recipe it was built from (a different recipe rebuilds it),
the releases it resolved and how long the build took. A lock file beside the folder keeps parallel test workers
from building the same one twice; the second waits and then finds it ready.

Nothing here imports ngffkit or a peer: the test suite, the benchmarks and ``python -m peers`` all use it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("NGFFKIT_TEST_CACHE", Path.home() / ".cache" / "ngffkit-tests"))
READY = "ngffkit-ready.json"
#: A build that takes longer than this is stuck (a cold napari environment takes about a minute).
BUILD_TIMEOUT = 900
#: A CPython release folder name under pyenv: "3.13.0", not "3.13.0t" (free-threaded) or "3.14.0rc1".
RELEASE = re.compile(r"^3\.(\d+)\.(\d+)$")

#: Prints the environment's Python and every installed distribution as JSON (run with the environment's Python).
LIST_VERSIONS = """
import json, platform
from importlib import metadata
found = {d.metadata["Name"].lower(): d.version for d in metadata.distributions() if d.metadata["Name"]}
print(json.dumps({"python": platform.python_version(), **dict(sorted(found.items()))}))
"""


class Unavailable(RuntimeError):
    """An environment could not be built (no network, no Node, a release that does not install): says why."""


@dataclass(frozen=True)
class Built:
    """A ready environment: its folder, the releases it resolved, and what its build cost."""

    folder: Path
    versions: dict[str, str]
    #: Seconds the build took when it was made (``cached`` says whether it was made now or found ready).
    seconds: float
    cached: bool


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock file (beside it) for the duration: one builder at a time, across processes."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _ready(folder: Path, recipe: object) -> dict | None:
    """The ready document of ``folder`` if it was built from ``recipe``."""
    try:
        doc = json.loads((folder / READY).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("recipe") == recipe else None


def build(
    folder: Path,
    recipe: object,
    commands: Sequence[Sequence[str]],
    versions: Sequence[str] = (),
    *,
    refresh: bool = False,
) -> Built:
    """Run ``commands`` in a fresh ``folder`` unless it was already built from ``recipe`` (``refresh``: rebuild
    anyway, to take today's releases); ``versions`` is a command printing the resolved releases as JSON."""
    with locked(folder):
        doc = None if refresh else _ready(folder, recipe)
        if doc is not None:
            return Built(folder, doc.get("versions", {}), doc.get("seconds", 0.0), cached=True)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        start = time.perf_counter()
        for command in commands:
            _run(command, folder)
        resolved = json.loads(_run(versions, folder).strip().splitlines()[-1]) if versions else {}
        seconds = round(time.perf_counter() - start, 1)
        doc = {"recipe": recipe, "versions": resolved, "seconds": seconds, "built": time.strftime("%Y-%m-%d %H:%M")}
        (folder / READY).write_text(json.dumps(doc, indent=1))
        return Built(folder, resolved, seconds, cached=False)


def _run(command: Sequence[str], cwd: Path) -> str:
    try:
        proc = subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, check=False,
                              timeout=BUILD_TIMEOUT)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        raise Unavailable(f"{' '.join(command[:4])} ...: {error}") from error
    if proc.returncode != 0:
        raise Unavailable(f"{' '.join(command[:4])} ...: {(proc.stderr or proc.stdout).strip()[-600:]}")
    return proc.stdout


def newest_python() -> str:
    """The newest CPython release on this machine, 3.12 or later preferred (the peers' newest releases need it:
    ome-zarr >= 0.19, ome-zarr-models 1.8): ``NGFFKIT_PEER_PYTHON`` if set, else the newest under pyenv
    (``PYENV_ROOT``, default ``~/.pyenv``), else ``python3.N`` on PATH, else the interpreter running this."""
    chosen = os.environ.get("NGFFKIT_PEER_PYTHON")
    if chosen:
        return chosen
    found: dict[tuple[int, int], str] = {}
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for entry in versions.glob("3.*") if versions.is_dir() else ():
        match = RELEASE.match(entry.name)
        python = entry / "bin" / "python3"
        if match and python.is_file() and os.access(python, os.X_OK):
            found[(int(match[1]), int(match[2]))] = str(python)
    for minor in range(20, 11, -1):
        on_path = shutil.which(f"python3.{minor}")
        if on_path:
            found.setdefault((minor, -1), on_path)
    newest = max(found, default=None)
    if newest is None or newest[0] < sys.version_info.minor:
        return sys.executable
    return found[newest]


def python_version_of(python: str) -> str:
    """``3.13.0`` for an interpreter path (part of a recipe: a new Python rebuilds the environment)."""
    if python == sys.executable:
        return ".".join(map(str, sys.version_info[:3]))
    code = "import platform; print(platform.python_version())"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def python_env(name: str, requirements: Sequence[str], *, python: str | None = None, refresh: bool = False) -> Built:
    """A virtual environment ``CACHE/name`` with ``requirements`` installed for ``python`` (default: the newest,
    :func:`newest_python`). Nothing is compiled to bytecode here: that was 95% of a build (70 of 73 s for napari's),
    for thousands of modules no test imports; a peer's process writes the bytecode of what it imports
    (:func:`peers.process_environment`), and a benchmark that times a fresh peer process compiles its environment
    first (``benchmarks.common.ensure_bytecode``), as it does its own."""
    base = python or newest_python()
    folder = CACHE / name
    venv_python = folder / "venv" / "bin" / "python"
    uv = shutil.which("uv")
    if uv:
        commands = [[uv, "venv", "-q", "venv", "--python", base],
                    [uv, "pip", "install", "-q", "-p", str(venv_python), *requirements]]  # fmt: skip
    else:
        commands = [[base, "-m", "venv", "venv"],
                    [str(venv_python), "-m", "pip", "install", "-q", "--no-compile", *requirements]]  # fmt: skip
    recipe = {"python": python_version_of(base), "requirements": list(requirements)}
    return build(folder, recipe, commands, [str(venv_python), "-c", LIST_VERSIONS], refresh=refresh)


def node_env(name: str, packages: Sequence[str], *, refresh: bool = False) -> tuple[str, Built]:
    """``(node, built)``: a folder ``CACHE/name`` whose node_modules hold ``packages``."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise Unavailable("Node.js and npm are not installed")
    versions = [node, "-e", "console.log(JSON.stringify({node: process.versions.node, ...Object.fromEntries("
                "Object.entries(require('./package.json').dependencies || {}).map(([k]) => "
                "[k, require(`./node_modules/${k}/package.json`).version]))}))"]  # fmt: skip
    built = build(CACHE / name, {"npm": list(packages)}, [[npm, "init", "-y"], [npm, "install", "--silent", *packages]],
                  versions, refresh=refresh)  # fmt: skip
    return node, built
