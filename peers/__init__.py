"""Other OME-Zarr tools (ome-zarr-py, napari-ome-zarr, ngff-zarr, bioio-ome-zarr, ome-zarr-models, iohub, ome-zarr-io,
ome-zarr-pyramid, spatialdata, ngio; zarrita in Node) and engines (tensorstore, obstore), each in an environment of its own, for the test
suite and the benchmarks.

The rule: a peer is never imported in ngffkit's environment. It lives in a cached environment of its own
(:mod:`peers.envs`) and exchanges data with ngffkit through files, servers and subprocesses: a function of its
module under ``peers/side`` runs in a child process (:meth:`Peer.call`) and answers in JSON, arrays as ``.npy``
files. A neutral package beside ``tests`` and ``benchmarks`` (as ``loopback`` is), so that benchmarks never import
tests. ``python -m peers build`` builds every environment up front and prints what each resolved.
"""

from .envs import CACHE, Built, Unavailable, newest_python, node_env, python_env
from .recipes import (
    BIOIO_OME_ZARR,
    IOHUB,
    NAPARI_OME_ZARR,
    NGFF_ZARR,
    NGIO,
    OBSTORE,
    OME_ZARR_IO,
    OME_ZARR_MODELS,
    OME_ZARR_PY,
    OME_ZARR_PY_CLUSTER,
    OME_ZARR_PYRAMID,
    OZTC,
    PEERS,
    REPO,
    SPATIALDATA,
    TENSORSTORE,
    ZARRITA,
    NodePeer,
    Peer,
    PeerFailed,
    process_environment,
)

__all__ = ["BIOIO_OME_ZARR", "CACHE", "IOHUB", "NAPARI_OME_ZARR", "NGFF_ZARR", "NGIO", "OBSTORE", "OME_ZARR_IO",
           "OME_ZARR_MODELS", "OME_ZARR_PY", "OME_ZARR_PYRAMID", "OME_ZARR_PY_CLUSTER", "OZTC", "PEERS", "REPO",
           "SPATIALDATA", "TENSORSTORE", "ZARRITA", "Built",
           "NodePeer", "Peer", "PeerFailed", "Unavailable", "newest_python", "node_env", "process_environment",
           "python_env"]  # fmt: skip
