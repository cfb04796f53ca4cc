"""The other tools the benchmarks measure against, each in a virtual environment of its own.

A peer is never imported in ngffkit's environment (its releases would pull ngffkit's back, and ngffkit would be
measured with other releases than users get): the harness creates ``benchmarks/.envs/<name>`` once (with uv when
present, else pip) and runs the peer's code there in a subprocess. :data:`PEERS` is the one list of what each
environment holds and :func:`peer_python` the one way the benchmarks reach them -- the place to switch over to
the shared ``peers`` package once it lands.

zarr-python is not a peer here: it is ngffkit's own engine, measured in ngffkit's environment (the same release
ngffkit reads through). Set ``NGFFKIT_BENCH_PY312`` to use another Python 3.12 for the peers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ENVS = Path(__file__).parent / ".envs"
PY312 = os.environ.get("NGFFKIT_BENCH_PY312", "/root/.pyenv/versions/3.12.1/bin/python3.12")
OME_ZARR_LATEST = "ome-zarr==0.21.0"


@dataclass(frozen=True)
class PeerEnv:
    """A peer's environment: the requirements it installs and the distributions a table names it by."""

    folder: str
    requirements: tuple[str, ...]
    shown: tuple[str, ...]


#: Every peer the benchmarks run, by the name the tables give it.
PEERS = {
    "ome-zarr-py": PeerEnv("ome-zarr-0.21.0", (OME_ZARR_LATEST,), ("ome-zarr", "zarr", "dask")),
    "tensorstore": PeerEnv("tensorstore", ("tensorstore", "numpy"), ("tensorstore", "numpy")),
    "ngff-zarr": PeerEnv(
        "ngff-zarr", ("ngff-zarr", "zarr", "dask[array]", "itkwasm-downsample"), ("ngff-zarr", "zarr", "dask")
    ),
    "ome-zarr-models": PeerEnv(
        "ome-zarr-models", ("ome-zarr-models", "fsspec[http]", "aiohttp"), ("ome-zarr-models", "zarr", "pydantic")
    ),
    "napari-ome-zarr": PeerEnv(
        "napari-ome-zarr",
        ("napari-ome-zarr", "napari", "fsspec[http]", "aiohttp"),
        ("napari-ome-zarr", "ome-zarr", "zarr", "dask"),
    ),
    "ome-zarr-io": PeerEnv("ome-zarr-io", ("ome-zarr-io",), ("ome-zarr-io", "zarr", "tensorstore")),
    "ome-zarr-pyramid": PeerEnv("ome-zarr-pyramid", ("ome-zarr-pyramid",), ("ome-zarr-pyramid", "zarr", "dask")),
}


def peer_python(name: str, *, create: bool = True) -> Path | None:
    """The interpreter of peer ``name``'s environment (see :data:`PEERS`), created on first use; None when it
    cannot be had (not created yet and ``create`` is False, no Python 3.12, or the peer does not install)."""
    peer = PEERS[name]
    try:
        return reference_python(" ".join(peer.requirements), create=create, folder=peer.folder)
    except subprocess.CalledProcessError:
        return None


def peer_label(name: str, python: Path) -> str:
    """``tensorstore 0.1.78``: a peer as the tables name it."""
    return f"{name} {version_in(python, PEERS[name].shown[0])}"


def reference_python(
    spec: str = OME_ZARR_LATEST, *, base: str = PY312, create: bool = True, folder: str | None = None
) -> Path | None:
    """The interpreter of an environment holding ``spec`` (requirements separated by spaces); created on first use
    (None if impossible). A half-built environment (its build failed) is built again."""
    env = ENVS / (folder or spec.replace("==", "-"))
    python = env / "bin" / "python"
    ready = env / "ngffkit-ready"
    if python.exists() and (folder is None or (ready.exists() and ready.read_text() == spec)):
        return python
    if not create or not Path(base).exists():
        return None
    shutil.rmtree(env, ignore_errors=True)
    subprocess.run([base, "-m", "venv", str(env)], check=True)
    requirements = spec.split()
    if shutil.which("uv"):
        subprocess.run(["uv", "pip", "install", "-q", "--python", str(python), *requirements], check=True)
    else:
        subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], check=True)
    subprocess.run([str(python), "-m", "compileall", "-q", "-j", "0", str(env / "lib")], capture_output=True,
                   check=False)  # fmt: skip
    ready.write_text(spec)
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
