"""Pyramids a caller already has -- levels that are not whole reductions of level 0, as ome-zarr-py and other
tools write them -- are written as they are, each level where it sits; labels follow such an image exactly."""

from __future__ import annotations

import pathlib

import dask.array as da
import numpy as np
import pytest
from skimage.transform import resize

import ngffkit
from ngffkit import InvalidArgument, validate

#: Rows and columns as ome-zarr-py 0.21 resizes coins: floor(n / 2), never a whole reduction of level 0.
SHAPES = [(203, 284), (101, 142), (50, 71), (25, 35), (12, 17)]


def uneven_levels(labels: bool = False, shapes: list[tuple[int, int]] = SHAPES) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    base = rng.integers(0, 7, shapes[0], dtype=np.uint8) if labels else rng.integers(0, 255, shapes[0], np.uint8)
    return [base] + [resize(base, s, order=0, preserve_range=True, anti_aliasing=False).astype(np.uint8)
                     for s in shapes[1:]]  # fmt: skip


def places(image: ngffkit.Image) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
    return [(image.scale(k), image.translation(k)) for k in range(len(image.levels))]


def test_levels_that_are_not_whole_reductions_are_written_as_they_are(tmp_path: pathlib.Path) -> None:
    shapes = [(203, 284), (135, 189), (101, 142)]  # by 1.5, then by 2 (rounded down, as ome-zarr-py does)
    levels = uneven_levels(shapes=shapes)
    image = ngffkit.write_image(levels, tmp_path / "uneven.zarr", scale=(0.5, 0.5), translation=(10.0, 0.0))
    assert image.shapes == shapes and validate(tmp_path / "uneven.zarr").valid
    for k, level in enumerate(levels):
        np.testing.assert_array_equal(image.levels[k].compute(), level)
    assert image.scale(1) == pytest.approx((0.5 * 203 / 135, 0.5 * 284 / 189))  # the exact ratio
    assert image.translation(1) == pytest.approx((10.0 + (203 / 135 - 1) / 2 * 0.5, (284 / 189 - 1) / 2 * 0.5))
    assert image.scale(2) == (1.0, 1.0) and image.translation(2) == (10.25, 0.25)  # a whole factor where there is one


def test_the_callers_own_placement_is_kept(tmp_path: pathlib.Path) -> None:
    levels = uneven_levels()[:3]
    given = [((1.0, 1.0), (0.0, 0.0)), ((2.01, 2.0), (0.5, 0.5)), ((4.06, 4.0), (1.53, 1.5))]
    image = ngffkit.write_image(levels, tmp_path / "placed.zarr", level_transforms=given)
    assert places(image) == given
    with pytest.raises(InvalidArgument, match="3 levels"):
        ngffkit.write_image(levels, tmp_path / "bad.zarr", level_transforms=given[:2])
    with pytest.raises(InvalidArgument, match="larger than level 1"):
        ngffkit.write_image([levels[0], levels[2], levels[1]], tmp_path / "grows.zarr")
    assert not (tmp_path / "bad.zarr").exists() and not (tmp_path / "grows.zarr").exists()


def test_labels_follow_an_image_whose_levels_are_not_whole_reductions(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "img.zarr"
    image = ngffkit.write_image(uneven_levels(), path, scale=(0.5, 0.5))
    painted = uneven_levels(labels=True)
    drawn = ngffkit.write_labels(painted[0], path, "painted")  # one level: a pyramid is made to match
    assert drawn.shapes == SHAPES and places(drawn) == places(image)
    values = set(np.unique(painted[0]))
    assert all(set(np.unique(level.compute())) <= values for level in drawn.levels)  # never an invented value
    kept = ngffkit.write_labels([da.from_array(level) for level in painted], path, "kept")  # its own pyramid
    for k, level in enumerate(painted):
        np.testing.assert_array_equal(kept.levels[k].compute(), level)
    assert places(kept) == places(image) and validate(path).valid
