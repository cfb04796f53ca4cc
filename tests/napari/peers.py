"""Data made by ome-zarr-py for the napari stories, ome-zarr-py running in an environment of its own (peers/).

ome-zarr-py's ``create --method coins`` writes levels that are not whole reductions of level 0 (203 -> 101 -> 50
rows), with an opaque colour for label 0: the pyramids people drop into napari. Tests that use it are marked
``peers``.
"""

from __future__ import annotations

import pathlib

from peers import OME_ZARR_PY

from ..conftest import use_peer


def ome_zarr_create(dest: pathlib.Path, method: str = "coins") -> pathlib.Path:
    """``ome_zarr create --method <method> dest``: ome-zarr-py's sample, at its default format."""
    use_peer(OME_ZARR_PY).call("create_zarr", path=dest, method=method)
    return dest
