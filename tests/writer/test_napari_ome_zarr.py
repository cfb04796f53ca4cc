"""What ngffkit writes opens in napari-ome-zarr, the reference napari reader (no GUI needed)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from ngffkit.samples.examples import write_coins, write_plate

reader = pytest.importorskip("napari_ome_zarr._reader", reason="napari-ome-zarr is not installed")


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_image_and_labels(tmp_path: pathlib.Path, version: str) -> None:
    path = str(write_coins(tmp_path / "c.zarr", version))
    layers = reader.napari_get_reader(path)(path)
    kinds = [kind for _, _, kind in layers]
    assert kinds == ["image", "labels"]
    (image, kw, _), (labels, lkw, _) = layers
    assert [level.shape for level in image] == [(303, 384), (152, 192), (76, 96)]
    assert list(kw["scale"]) == [0.5, 0.5] and list(lkw["scale"]) == [0.5, 0.5]
    assert list(kw["contrast_limits"]) == [1.0, 252.0]
    np.testing.assert_array_equal(np.asarray(labels[0]), np.asarray(labels[0]).astype(np.uint16))


def test_plate(tmp_path: pathlib.Path) -> None:
    path = str(write_plate(tmp_path / "p.zarr", "0.5", labels=True))
    layers = reader.napari_get_reader(path)(path)
    image = next(data for data, _, kind in layers if kind == "image")
    assert [level.shape for level in image] == [(2, 256, 384), (2, 128, 192)]
