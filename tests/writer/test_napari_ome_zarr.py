"""What ngffkit writes opens in napari-ome-zarr, the reference napari reader, as the same layers ngffkit makes.

napari-ome-zarr runs in its own environment with its own napari (peers/): a child process calls its reader as
napari does, and opens the data in its napari (``ViewerModel``, no window) and describes the layers. Here,
ngffkit's reader opens the same data in this environment's napari and the layers are described the same way
(peers/side/napari_layers.py); what both readers should agree on is compared.
"""

from __future__ import annotations

import importlib.util
import pathlib
from typing import Any

import numpy as np
import pytest
from peers import NAPARI_OME_ZARR
from peers.side.napari_layers import describe

from ngffkit.samples.examples import write_coins, write_plate

from ..conftest import require, use_peer

pytestmark = pytest.mark.peers

#: What two readers of the same data must agree on (names, visibility and blending are each reader's choice).
AGREED = ("kind", "shapes", "dtype", "scale", "translate", "axis_labels", "units")
AGREED_IMAGE = ("colormap", "contrast_limits", "rgb")


def ngffkit_layers(path: pathlib.Path, out: pathlib.Path) -> list[dict[str, Any]]:
    """The layers ngffkit's reader makes in this environment's napari, described as the peer's are."""
    require(importlib.util.find_spec("napari") is not None, "the napari extra is not installed")
    import npe2
    from napari.components import ViewerModel

    npe2.PluginManager.instance().discover()
    opened = ViewerModel().open(str(path), plugin="ngffkit")
    return [describe(layer, str(out), k) for k, layer in enumerate(opened) if type(layer).__name__ != "Shapes"]


def assert_same_layers(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], *, colours: bool = True) -> None:
    assert len(ours) == len(theirs), ([o["name"] for o in ours], [t["name"] for t in theirs])
    for mine, other in zip(ours, theirs, strict=True):
        keys = AGREED + (AGREED_IMAGE if mine["kind"] == "image" else ())
        assert {k: mine[k] for k in keys} == {k: other[k] for k in keys}, (mine["name"], other["name"])
        np.testing.assert_array_equal(np.load(mine["pixels"]), np.load(other["pixels"]))
        if colours and mine["kind"] == "labels" and other["colors"] is not None:  # colours from the metadata
            # (the values the metadata leaves out get napari's cycling colours from ngffkit, nothing from
            # napari-ome-zarr: only the listed ones are compared)
            assert {value: mine["colors"].get(value) for value in other["colors"]} == other["colors"], mine["name"]


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_image_and_labels(tmp_path: pathlib.Path, version: str) -> None:
    peer = use_peer(NAPARI_OME_ZARR)
    path = write_coins(tmp_path / "c.zarr", version)
    layers = peer.call("reader", path=path, out=tmp_path / "reader")
    assert [layer["kind"] for layer in layers] == ["image", "labels"]
    image, labels = layers
    assert [tuple(shape) for shape in image["shapes"]] == [(303, 384), (152, 192), (76, 96)]
    assert image["kwargs"]["scale"] == [0.5, 0.5] and labels["kwargs"]["scale"] == [0.5, 0.5]
    assert image["kwargs"]["contrast_limits"] == [1.0, 252.0]
    label_pixels = np.load(labels["pixels"])
    np.testing.assert_array_equal(label_pixels, label_pixels.astype(np.uint16))

    theirs = peer.call("layers", path=path, out=tmp_path / "theirs")
    assert_same_layers(ngffkit_layers(path, tmp_path / "ours"), theirs)


def test_plate(tmp_path: pathlib.Path) -> None:
    peer = use_peer(NAPARI_OME_ZARR)
    path = write_plate(tmp_path / "p.zarr", "0.5", labels=True)
    layers = peer.call("reader", path=path)
    images = [layer for layer in layers if layer["kind"] == "image"]
    # the stitched 2 x 3 grid of 128 x 128 fields, 2 levels; 2 channels: one layer with a channel axis
    # (napari-ome-zarr 0.10), or a layer each (0.11)
    assert images and all([tuple(s)[-2:] for s in layer["shapes"]] == [(256, 384), (128, 192)] for layer in images)
    assert sum(layer["shapes"][0][0] if len(layer["shapes"][0]) == 3 else 1 for layer in images) == 2

    theirs = peer.call("layers", path=path, out=tmp_path / "theirs")
    assert_same_layers(ngffkit_layers(path, tmp_path / "ours"), theirs, colours=False)


def test_plate_labels_keep_their_colours(tmp_path: pathlib.Path) -> None:
    peer = use_peer(NAPARI_OME_ZARR)
    path = write_plate(tmp_path / "p.zarr", "0.5", labels=True)
    theirs = peer.call("layers", path=path, out=tmp_path / "theirs")
    assert theirs[-1]["colors"] == {"1": [1.0, 0.251, 0.0, 1.0]}  # as the metadata says: rgba 255, 64, 0, 255
    assert_same_layers(ngffkit_layers(path, tmp_path / "ours"), theirs)
