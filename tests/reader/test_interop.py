"""What ome-zarr-py writes, ngffkit reads with identical pixels, axes, scales, channels and labels.

ome-zarr-py runs in its own environment (peers/): it writes into ``tmp_path`` and reads back with its own
``Reader`` in a child process, which hands over the levels as ``.npy`` files and the nodes' metadata as JSON.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from peers import OME_ZARR_PY

import ngffkit

from ..conftest import use_peer

pytestmark = pytest.mark.peers


@pytest.mark.parametrize("version", ["0.4", "0.5"])
@pytest.mark.parametrize("method", ["coins", "astronaut"])
def test_create_zarr_samples(tmp_path: pathlib.Path, version: str, method: str) -> None:
    peer = use_peer(OME_ZARR_PY)
    path = tmp_path / f"{method}.zarr"
    made = peer.call("create_zarr", path=path, method=method, version=version)
    ref = peer.call("read", path=path, out=tmp_path / "theirs")
    img = ngffkit.open(path)
    assert isinstance(img, ngffkit.Image) and img.version == made["version"] == version
    ref_image = ref[0]
    assert len(img.levels) == len(ref_image["levels"])
    for ours, theirs in zip(img.levels, ref_image["levels"], strict=True):
        np.testing.assert_array_equal(ours.compute(), np.load(theirs))
    ref_axes = ref_image["metadata"]["axes"]
    assert list(img.axis_names) == [a["name"] for a in ref_axes]
    ref_scales = [t[0]["scale"] for t in ref_image["metadata"]["coordinateTransformations"]]
    assert [list(img.scale(i)) for i in range(len(img.levels))] == ref_scales
    names = ref_image["metadata"].get("name")
    if isinstance(names, list):
        assert [c.name for c in img.channels] == names
    # create_zarr names its label "coins" (ome-zarr-py 0.18: for every sample; 0.21: "astronaut_labels" there)
    ref_labels = [node for node in ref[1:] if node["is_label"]]
    assert img.label_names == tuple(node["metadata"]["name"] for node in ref_labels)
    assert len(img.label_names) == 1 and (method != "coins" or img.label_names == ("coins",))
    label = img.label(img.label_names[0])
    np.testing.assert_array_equal(label.levels[0].compute(), np.load(ref_labels[0]["levels"][0]))


def test_write_image_labels_and_plate(tmp_path: pathlib.Path) -> None:
    peer = use_peer(OME_ZARR_PY)
    rng = np.random.default_rng(3)
    data = rng.integers(0, 1000, (2, 3, 64, 64), dtype=np.uint16)  # c z y x
    labels = (data[0] > 500).astype(np.uint8)
    np.save(tmp_path / "data.npy", data)
    np.save(tmp_path / "labels.npy", labels)
    peer.call("write", path=tmp_path / "img.zarr", data=tmp_path / "data.npy", axes="czyx", scale_factors=[2],
              scale={"z": 2.0, "y": 0.5, "x": 0.5}, axes_units={"z": "micrometer", "y": "micrometer", "x": "micrometer"},
              labels=[{"data": tmp_path / "labels.npy", "name": "mask", "axes": "zyx", "scale_factors": [2],
                       "label_metadata": {"colors": [{"label-value": 1, "rgba": [255, 0, 0, 255]}]}}])  # fmt: skip
    img = ngffkit.open(tmp_path / "img.zarr")
    np.testing.assert_array_equal(img.levels[0].compute(), data)
    assert img.axis_names == ("c", "z", "y", "x") and img.channel_axis == 0
    assert img.scale(0)[1:] == (2.0, 0.5, 0.5)
    mask = img.label("mask")
    np.testing.assert_array_equal(mask.levels[0].compute(), labels)
    assert mask.image_label is not None and mask.image_label.color_map()[1] == (1.0, 0.0, 0.0, 1.0)

    for value in (1, 2):
        np.save(tmp_path / f"well{value}.npy", np.full((16, 16), value, dtype=np.uint8))
    peer.call("write_plate", path=tmp_path / "plate.zarr", rows=["A", "B"], columns=["1", "2"],
              wells={"A/1": [tmp_path / "well1.npy"], "B/2": [tmp_path / "well2.npy"]}, axes="yx",
              scale_factors=[])  # fmt: skip
    grid = ngffkit.open(tmp_path / "plate.zarr").grid(0).compute()
    assert grid.shape == (32, 32)
    assert (grid[:16, :16] == 1).all() and (grid[16:, 16:] == 2).all() and (grid[:16, 16:] == 0).all()
