"""The peers: other OME-Zarr readers and writers ngffkit is checked and measured against, one environment each.

A peer never shares ngffkit's environment: its releases would pull ngffkit's back (on Python 3.13 one capped dask
at 2026.8), and what the test suite tests would no longer be what users install. Each :class:`Peer` names what its
environment holds and which Python builds it; :meth:`Peer.call` runs a function of its module under
``peers/side/`` in that environment and returns what it answered (JSON; arrays travel as ``.npy`` files).

Pythons, chosen on purpose: the newest CPython on the machine (:func:`~peers.envs.newest_python`), because the
peers' newest releases need 3.12 or later (ome-zarr >= 0.19, ome-zarr-models 1.8) -- so a peer is checked in the
release a user installs today whichever Python ngffkit's own tests run on. Requirements are unpinned (newest)
except where a pin is the point (iohub 0.2 is the release that reads and writes NGFF 0.4 with zarr 2). A built
environment keeps what it resolved until ``python -m peers build --refresh``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import envs

REPO = Path(__file__).resolve().parents[1]
#: The line a side module's answer starts with (everything else a peer prints is ignored); see peers/side.
RESULT = "PEER-RESULT "
FAILED = "PEER-FAILED "


class PeerFailed(RuntimeError):
    """A peer's function raised (or its process died): the message holds the end of what it wrote to stderr."""


@dataclass(frozen=True)
class Peer:
    """One peer: its name as people know it, what its environment installs, and the module run inside it."""

    name: str
    requirements: tuple[str, ...]
    #: The module under ``peers/side`` holding the functions :meth:`call` runs (imports the peer, never ngffkit).
    side: str
    #: Distributions whose versions matter in a report (the peer itself first).
    shown: tuple[str, ...]
    #: The interpreter that builds the environment; None: the newest on this machine.
    python: str | None = None

    @property
    def folder(self) -> str:
        return "peer-" + self.name

    def environment(self, *, refresh: bool = False) -> envs.Built:
        """The built environment (made on first use; raises :class:`~peers.envs.Unavailable`)."""
        return envs.python_env(self.folder, self.requirements, python=self.python, refresh=refresh)

    def interpreter(self) -> Path:
        return self.environment().folder / "venv" / "bin" / "python"

    def versions(self) -> dict[str, str]:
        """The releases that matter, as resolved: the peer, then zarr, numpy ... (and the Python)."""
        found = self.environment().versions
        return {name: found[name] for name in ("python", *self.shown) if name in found}

    def label(self) -> str:
        """``ome-zarr-py 0.21.0``: how a benchmark's table names it."""
        return f"{self.name} {self.versions().get(self.shown[0], '?')}"

    def command(self, module: str, *args: str) -> list[str]:
        """``python -m module args`` in the peer's environment (run it with :meth:`process_environment`)."""
        return [str(self.interpreter()), "-m", module, *args]

    def call(self, function: str, /, timeout: float = 600, fresh: bool = False, **arguments: Any) -> Any:
        """Run ``function(**arguments)`` of the side module in the peer's environment and return its answer: in
        this process's long-lived child of the peer (started on first use; the peer's imports, seconds for
        ome-zarr-py, are paid once), or with ``fresh`` in a new process of its own."""
        if fresh:
            proc = subprocess.run(self.command(self.side, function), input=json.dumps(arguments, default=str),
                                  text=True, capture_output=True, check=False, cwd=REPO, env=process_environment(),
                                  timeout=timeout)  # fmt: skip
            return _answer_in(proc.stdout, f"{self.name}: {function}", proc.stderr)
        with _LOCK:
            session = _SESSIONS.get(self.name)
            if session is None or not session.alive():
                session = _SESSIONS[self.name] = _Session(self)
            return session.ask(function, arguments, timeout)


class _Session:
    """A child of the peer's environment serving calls one after the other (``python -m SIDE --serve``); its
    stderr goes to a file, read back when a call fails."""

    def __init__(self, peer: Peer) -> None:
        self.name = peer.name
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 -- open as long as the child is: close()
        self.proc = subprocess.Popen(peer.command(peer.side, "--serve"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, cwd=REPO, env=process_environment())  # fmt: skip

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, function: str, arguments: dict[str, Any], timeout: float) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        what = f"{self.name}: {function}"
        try:
            self.proc.stdin.write(json.dumps({"function": function, "arguments": arguments}, default=str) + "\n")
            self.proc.stdin.flush()
        except OSError as error:
            raise PeerFailed(f"{what}: the peer's process is gone ({error}):\n{self._stderr()}") from error
        deadline = time.monotonic() + timeout
        while True:
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                self.close()
                raise PeerFailed(f"{what}: no answer in {timeout:.0f} s:\n{self._stderr()}")
            line = self.proc.stdout.readline()
            if not line:
                raise PeerFailed(f"{what}: the peer's process ended ({self.proc.wait()}):\n{self._stderr()}")
            if line.startswith((RESULT, FAILED)):
                return _answer_in(line, what, self._stderr)

    def _stderr(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-3000:]

    def close(self) -> None:
        """End of stdin ends the child; one that does not end in 10 s is killed."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


def _answer_in(stdout: str, what: str, stderr: str | Callable[[], str]) -> Any:
    """The answer among a side process's output lines; :class:`PeerFailed` with the peer's traceback if it failed."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT) :])
        if line.startswith(FAILED):
            raise PeerFailed(f"{what} failed:\n{json.loads(line[len(FAILED) :])}")
    raise PeerFailed(f"{what}: no answer:\n{stderr if isinstance(stderr, str) else stderr()}")


_SESSIONS: dict[str, _Session] = {}
_LOCK = threading.Lock()


@atexit.register
def _close_sessions() -> None:
    for session in _SESSIONS.values():
        session.close()


def process_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a peer's process: the repository on its path (for ``peers.side`` and
    ``benchmarks``), nothing of this virtual environment's (``src`` is not on it: ngffkit cannot be imported), and
    bytecode written (``PYTHONDONTWRITEBYTECODE`` dropped: the environment is built without it, so the first
    process to import a module compiles it once for all the others)."""
    dropped = ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    return {**env, "PYTHONPATH": str(REPO), **(extra or {})}


OME_ZARR_PY = Peer("ome-zarr-py", ("ome-zarr",), "peers.side.ome_zarr_py", ("ome-zarr", "zarr", "numpy", "dask"))
#: napari-ome-zarr inside a napari of its own (the reader is only ever used by napari).
NAPARI_OME_ZARR = Peer("napari-ome-zarr", ("napari-ome-zarr", "napari[pyqt6]"), "peers.side.napari_ome_zarr",
                       ("napari-ome-zarr", "napari", "ome-zarr", "zarr", "numpy", "dask"))  # fmt: skip
NGFF_ZARR = Peer(
    "ngff-zarr", ("ngff-zarr",), "peers.side.ngff_zarr", ("ngff-zarr", "zarrista", "numpy", "dask")
)  # no zarr: its own
BIOIO_OME_ZARR = Peer("bioio-ome-zarr", ("bioio-ome-zarr",), "peers.side.bioio_ome_zarr",
                      ("bioio-ome-zarr", "bioio-base", "zarr", "numpy", "dask"))  # fmt: skip
#: With fsspec's HTTP file system: the plates benchmark validates a plate over HTTP with ``HCS.from_zarr``.
OME_ZARR_MODELS = Peer("ome-zarr-models", ("ome-zarr-models", "fsspec[http]"), "peers.side.ome_zarr_models",
                       ("ome-zarr-models", "pydantic", "zarr", "numpy"))  # fmt: skip
#: ome-zarr-py with dask.distributed, for the distributed-write benchmark (distributed pins dask to its own release:
#: kept apart, so that ome-zarr-py's own environment has the dask it resolves alone).
OME_ZARR_PY_CLUSTER = Peer("ome-zarr-py-cluster", ("ome-zarr", "distributed"), "peers.side.ome_zarr_py",
                           ("ome-zarr", "distributed", "zarr", "numpy", "dask"))  # fmt: skip
#: iohub 0.2 pins zarr 2: the NGFF 0.4 reader and writer many pipelines still use.
IOHUB = Peer("iohub", ("iohub==0.2.3.post1",), "peers.side.iohub", ("iohub", "zarr", "numpy"))
#: tensorstore, Google's array engine (zarr v2 and v3 drivers): the read benchmark's fastest reader, and the engine
#: ngffkit evaluated and did not adopt (benchmarks/engine_safety.py).
TENSORSTORE = Peer("tensorstore", ("tensorstore",), "peers.side.tensorstore", ("tensorstore", "numpy"))
#: ome-zarr-io (Turku BioImaging): writes, reads and validates OME-Zarr 0.5 images and plates, on zarr-python.
OME_ZARR_IO = Peer("ome-zarr-io", ("ome-zarr-io",), "peers.side.ome_zarr_io", ("ome-zarr-io", "zarr", "dask", "numpy"))
#: ome-zarr-pyramid: a lazy ``Pyramid`` over every level (dyna-zarr arrays on tensorstore and zarr-python).
#: (Its distribution's metadata spells its name with underscores: so does ``shown``.)
OME_ZARR_PYRAMID = Peer("ome-zarr-pyramid", ("ome-zarr-pyramid",), "peers.side.ome_zarr_pyramid",
                        ("ome_zarr_pyramid", "dyna-zarr", "tensorstore", "zarr", "numpy"))  # fmt: skip
#: obstore (object_store's Rust HTTP client): the floor of an HTTP client Python can call, in
#: benchmarks/document_cpu.py.
OBSTORE = Peer("obstore", ("obstore",), "peers.side.obstore", ("obstore",))
#: spatialdata (scverse): writes images and labels with RFC-5-style placements (named coordinate systems) inside
#: its own 0.4/0.5 metadata ("0.5-dev-spatialdata" ...). Heavy (anndata, dask, geopandas ...): its transformation
#: matrices travel to ngffkit's side as JSON.
SPATIALDATA = Peer("spatialdata", ("spatialdata==0.8.*",), "peers.side.spatialdata",
                   ("spatialdata", "ome-zarr", "zarr", "numpy", "dask"))  # fmt: skip
#: ngio 1.1 (fractal): images, labels, plates and tables (anndata, json, csv, parquet) in NGFF 0.4 and 0.5.
NGIO = Peer("ngio", ("ngio==1.1.*",), "peers.side.ngio", ("ngio", "zarr", "numpy", "anndata"))

#: The RFC-5 transformations conformance suite: its runner ``oztc`` calls ``ngffkit transform`` (ngffkit's own
#: environment) on 24 cases. Pinned: the cases are the point, and a new release brings new ones to read first.
OZTC = Peer("ome-zarr-transformations-conformance", ("ome-zarr-transformations-conformance==0.1.2",), "peers.side.oztc",
            ("ome-zarr-transformations-conformance",))  # fmt: skip


@dataclass(frozen=True)
class NodePeer:
    """A JavaScript peer: a folder whose node_modules hold ``packages`` (scripts run with Node inside it)."""

    name: str
    packages: tuple[str, ...]

    def environment(self, *, refresh: bool = False) -> envs.Built:
        return envs.node_env("peer-" + self.name, self.packages, refresh=refresh)[1]

    def node(self) -> tuple[str, Path]:
        """``(node, folder)``: Node and the folder to run a script in (so that imports find node_modules)."""
        node, built = envs.node_env("peer-" + self.name, self.packages)
        return node, built.folder

    def versions(self) -> dict[str, str]:
        return self.environment().versions


#: zarrita, the JavaScript zarr library under vizarr and ome-zarr.js.
ZARRITA = NodePeer("zarrita", ("zarrita@0.5.4",))

PEERS: dict[str, Peer] = {p.name: p for p in (OME_ZARR_PY, NAPARI_OME_ZARR, NGFF_ZARR, BIOIO_OME_ZARR, OME_ZARR_MODELS,
                                              IOHUB, OME_ZARR_PY_CLUSTER, TENSORSTORE, OME_ZARR_IO, OME_ZARR_PYRAMID,
                                              OBSTORE, OZTC, SPATIALDATA, NGIO)}  # fmt: skip


def by_names(names: Sequence[str]) -> list[Peer | NodePeer]:
    """The peers named (all, zarrita too, when none are); an unknown name is a ValueError listing the known ones."""
    every: dict[str, Peer | NodePeer] = {**PEERS, ZARRITA.name: ZARRITA}
    unknown = [n for n in names if n not in every]
    if unknown:
        raise ValueError(f"unknown peer(s) {', '.join(unknown)}; known: {', '.join(every)}")
    return [every[n] for n in names] if names else list(every.values())
