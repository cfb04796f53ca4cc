"""Data made by other OME-Zarr tools for the napari stories, each tool in an environment of its own.

The project's peer rule: ome-zarr-py and napari-ome-zarr are never installed beside ngffkit (they would pull its
releases back); they run in a cached environment of their own and hand their data over as files. The one call
that builds such an environment is :func:`peer_python` -- when the shared ``peers`` module lands, only it changes.
Tests that use these are marked ``peers``.
"""

from __future__ import annotations

import pathlib
import subprocess

from ..interop.tools import python_with

#: ome-zarr-py as the stories were tried with (its ``create --method coins`` writes levels that are not whole
#: reductions of level 0: 203 -> 101 -> 50 rows).
OME_ZARR_PY = "ome-zarr==0.21.*"


def peer_python(name: str, *requirements: str) -> pathlib.Path:
    """The interpreter of a cached environment holding ``requirements`` (skips, or fails under CI=true)."""
    return python_with(name, *requirements)


def with_ome_zarr_py(script: str, *args: str) -> None:
    """Run ``script`` (Python source; ``sys.argv[1:]`` are ``args``) with ome-zarr-py in its own environment."""
    python = peer_python("ome-zarr-py-0.21", OME_ZARR_PY)
    proc = subprocess.run([str(python), "-c", script, *args], capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def ome_zarr_create(dest: pathlib.Path, method: str = "coins") -> pathlib.Path:
    """``ome_zarr create --method <method> dest``, run with ome-zarr-py in its own environment."""
    with_ome_zarr_py("import sys; from ome_zarr.cli import main; main(sys.argv[1:])", "create", "--method", method,
                     str(dest))  # fmt: skip
    return dest
