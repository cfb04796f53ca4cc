"""The rule for peers holds: none is importable here, ngffkit is not importable there, and a peer that fails says
why (its traceback) without leaving the next call without an answer."""

from __future__ import annotations

import importlib.util
import pathlib
import subprocess

import numpy as np
import pytest
from peers import OME_ZARR_MODELS, PEERS, PeerFailed, newest_python, process_environment

from ngffkit import write_image

from ..conftest import use_peer

#: The import names of the peers (their distributions are in peers/recipes.py).
PEER_MODULES = ("ome_zarr", "napari_ome_zarr", "ngff_zarr", "bioio_ome_zarr", "ome_zarr_models", "iohub", "ome_zarr_io",
                "ome_zarr_pyramid", "tensorstore")  # fmt: skip


def test_no_peer_is_importable_in_this_environment() -> None:
    """A peer here would pull this environment's releases back (one capped dask at 2026.8 on Python 3.13) and let
    a test import it in-process again: they live in peers/ environments only."""
    assert [name for name in PEER_MODULES if importlib.util.find_spec(name) is not None] == []


def test_every_peer_has_a_side_module_and_the_newest_python() -> None:
    for peer in PEERS.values():
        module = peer.side.replace(".", "/") + ".py"
        assert (pathlib.Path(__file__).resolve().parents[2] / module).is_file(), peer
    found = subprocess.run([newest_python(), "-c", "import sys; print(sys.version_info[:2] >= (3, 12))"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert found.stdout.strip() == "True"  # on these machines: pyenv's 3.13 (the peers' newest releases need 3.12)


@pytest.mark.peers
def test_a_peer_process_cannot_import_ngffkit_and_a_failure_says_why(tmp_path: pathlib.Path) -> None:
    peer = use_peer(OME_ZARR_MODELS)
    proc = subprocess.run([str(peer.interpreter()), "-c", "import ngffkit"], capture_output=True, text=True,
                          check=False, env=process_environment())  # fmt: skip
    assert proc.returncode == 1 and "No module named 'ngffkit'" in proc.stderr
    with pytest.raises(PeerFailed, match=r"(?s)ome-zarr-models: kinds failed:.*Traceback.*missing\.zarr"):
        peer.call("kinds", paths=[str(tmp_path / "missing.zarr")], version="0.5")
    write_image(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64), tmp_path / "image.zarr", version="0.5")
    assert peer.call("kinds", paths=[tmp_path / "image.zarr"], version="0.5") == ["Image"]  # the same child again
    with pytest.raises(PeerFailed, match=r"(?s)kinds failed.*unexpected keyword argument"):  # one process of its own
        peer.call("kinds", paths=[tmp_path / "image.zarr"], version="0.5", fresh=True, unexpected=1)
