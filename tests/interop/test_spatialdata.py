"""spatialdata 0.8 (scverse), in its own environment (peers/): its images and labels open in ngffkit, and in napari
through ngffkit, at the places spatialdata puts them (issue 37).

spatialdata writes each element's placement as RFC-5 transformations into named coordinate systems inside its
0.4/0.5 metadata ("0.5-dev-spatialdata", "0.4-dev-spatialdata", and plain "0.4" from its first raster format). Its
own matrices for those placements -- ``get_transformation(...).to_affine_matrix`` as spatialdata reads the container
back -- travel here as JSON and are compared with where ngffkit places the same elements. spatialdata cannot read
plain OME-Zarr (what it needs: docs/interop.md); the last test keeps that finding measured.
"""

from __future__ import annotations

import pathlib
import warnings
from typing import Any

import numpy as np
import pytest
from peers import SPATIALDATA

import ngffkit

from ..conftest import require, use_peer
from ..napari.conftest import HAVE_DISPLAY, HAVE_NAPARI, notification_count, notifications_since

pytestmark = pytest.mark.peers

SCALE = [2.0, 3.0]
TRANSLATION = [10.0, 20.0]
AFFINE = [[0.5, 0.1, 5.0], [0.0, 2.0, -3.0], [0.0, 0.0, 1.0]]
ELEMENTS = ("images/cells", "labels/nuclei")
#: spatialdata's forms: its zarr v3 default, its older zarr v2 format, and its first raster format (plain "0.4").
FORMS = {"0.5": "0.5", "0.4": "0.4", "0.4-plain": "0.4"}


def write(folder: pathlib.Path, form: str, order: tuple[str, ...] = ("global", "aligned")) -> tuple[pathlib.Path, Any]:
    path = folder / f"sd-{form}-{order[0]}.zarr"
    answer = use_peer(SPATIALDATA).call("write_placed", path=path, form=form, scale=SCALE, translation=TRANSLATION,
                                        affine=AFFINE, levels=2, order=list(order))  # fmt: skip
    return path, answer


def opened(path: pathlib.Path) -> ngffkit.Image:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = ngffkit.open(path)
    assert isinstance(image, ngffkit.Image)
    assert any("placed in" in str(w.message) for w in caught), [str(w.message) for w in caught]
    return image


def yx_matrix(image: ngffkit.Image) -> np.ndarray:
    """ngffkit's placement of ``image``'s full-resolution pixels, on its y and x axes only (3x3)."""
    matrix = image.transform(0)
    assert matrix is not None
    keep = [image.axis_names.index("y"), image.axis_names.index("x"), image.ndim]
    return matrix[np.ix_(keep, keep)]


def napari_matrix(layer: Any) -> np.ndarray:
    """Where napari draws a layer's data pixel (y, x): its affine after its scale and translate."""
    scaled = np.eye(3)
    scaled[:2, :2] = np.diag(np.asarray(layer.scale)[-2:])
    scaled[:2, 2] = np.asarray(layer.translate)[-2:]
    return np.asarray(layer.affine.affine_matrix)[-3:, -3:] @ scaled


@pytest.mark.parametrize("form", list(FORMS))
def test_spatialdata_elements_open_where_spatialdata_puts_them(tmp_path: pathlib.Path, form: str) -> None:
    path, answer = write(tmp_path, form)
    theirs = answer["matrices"]
    for element in ELEMENTS:
        image = opened(path / element)
        assert image.version == FORMS[form]
        np.testing.assert_allclose(yx_matrix(image), theirs[element]["global"])  # the first system written
        ((_, kwargs, _), *_) = ngffkit.layers(image)
        assert kwargs["scale"][-2:] == SCALE and kwargs["translate"][-2:] == TRANSLATION and "affine" not in kwargs
        report = ngffkit.validate(path / element)
        assert any(f.rule == "named-placement" and "'global', 'aligned'" in f.message for f in report.findings)
    cells = ngffkit.open(path / "images/cells")
    assert cells.shapes[0] == tuple(answer["image_shape"]) and [c.name for c in cells.channels] == ["dapi", "gfp"]
    assert int(cells.levels[0].sum().compute()) == answer["image_sum"]
    assert int(ngffkit.open(path / "labels/nuclei").levels[0].sum().compute()) == answer["labels_sum"]


@pytest.mark.parametrize("form", ["0.5", "0.4"])
def test_an_affine_first_is_placed_by_affine(tmp_path: pathlib.Path, form: str) -> None:
    path, answer = write(tmp_path, form, order=("aligned", "global"))
    for element in ELEMENTS:
        image = opened(path / element)
        np.testing.assert_allclose(yx_matrix(image), answer["matrices"][element]["aligned"])
        ((_, kwargs, _), *_) = ngffkit.layers(image)
        np.testing.assert_allclose(np.asarray(kwargs["affine"])[-3:, -3:], answer["matrices"][element]["aligned"])


@pytest.mark.parametrize("order", [("global", "aligned"), ("aligned", "global")])
def test_napari_shows_them_where_spatialdata_puts_them(make_napari_viewer, tmp_path: pathlib.Path,
                                                        order: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    require(HAVE_NAPARI and HAVE_DISPLAY, "napari, pytest-qt and an X server are needed")
    path, answer = write(tmp_path, "0.5", order=order)
    viewer = make_napari_viewer()
    for element in ELEMENTS:
        start = notification_count()
        layers = viewer.open(str(path / element), plugin="ngffkit")
        assert any(f"placed in '{order[0]}'" in said for said in notifications_since(start))
        assert len(layers) == (2 if element.startswith("images") else 1)  # two channels, or the labels
        for layer in layers:
            np.testing.assert_allclose(napari_matrix(layer), answer["matrices"][element][order[0]], atol=1e-9)


def test_spatialdata_cannot_read_plain_ome_zarr(tmp_path: pathlib.Path) -> None:
    """What docs/interop.md says spatialdata needs: plain OME-Zarr from any writer gives an empty SpatialData; inside
    a SpatialData container a genuine 0.5 image is refused (it knows only its own version strings), and a 0.4 one
    without a named placement too."""
    import zarr

    plain = tmp_path / "plain.zarr"
    ngffkit.write_image(np.ones((2, 32, 32), dtype=np.uint8), plain, axes="cyx", levels=2)
    peer = use_peer(SPATIALDATA)
    assert peer.call("read_plain", path=plain) == {"read": True, "elements": []}
    container = tmp_path / "container.zarr"
    root = zarr.open_group(str(container), mode="w", zarr_format=3)
    root.attrs["spatialdata_attrs"] = {"version": "0.2"}
    root.create_group("images")
    ngffkit.write_image(np.ones((2, 32, 32), dtype=np.uint8), container / "images" / "cells", axes="cyx", levels=2)
    refused = peer.call("read_plain", path=container)
    assert refused["read"] is False and "'0.5'" in refused["error"]
    older = tmp_path / "container-v2.zarr"
    zarr.open_group(str(older), mode="w", zarr_format=2).create_group("images")
    ngffkit.write_image(np.ones((2, 32, 32), dtype=np.uint8), older / "images" / "cells", axes="cyx", levels=2,
                        version="0.4")  # fmt: skip
    refused = peer.call("read_plain", path=older)
    assert refused["read"] is False and "coordinateTransformations" in refused["error"]
