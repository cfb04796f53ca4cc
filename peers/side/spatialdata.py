"""spatialdata's side (runs in its own environment: spatialdata 0.8 and its heavy dependencies): images and labels
written with placements in named coordinate systems, in its 0.4 and 0.5 forms, and spatialdata's own matrices for
those placements (so that ngffkit's side compares where it puts them with where spatialdata means them)."""

from __future__ import annotations

from typing import Any

from . import jsonable, main

#: The coordinate system names written: a sequence of scale and translation into "global", an affine into "aligned".
GLOBAL = "global"
ALIGNED = "aligned"


def _formats(form: str) -> list[Any]:
    """spatialdata's formats for ``form``: "0.5" (its default, zarr v3), "0.4" (its older format, zarr v2,
    ``0.4-dev-spatialdata``) or "0.4-plain" (its first raster format, which states a genuine "0.4")."""
    from spatialdata._io import format as sdformat

    if form == "0.5":
        return [sdformat.RasterFormatV03(), sdformat.SpatialDataContainerFormatV02()]
    raster = sdformat.RasterFormatV02() if form == "0.4" else sdformat.RasterFormatV01()
    return [raster, sdformat.SpatialDataContainerFormatV01(), sdformat.TablesFormatV01(),
            sdformat.ShapesFormatV02(), sdformat.PointsFormatV01()]  # fmt: skip


def write_placed(path: str, form: str, scale: list[float], translation: list[float], affine: list[list[float]],
                 levels: int = 1, order: tuple[str, ...] = (GLOBAL, ALIGNED)) -> dict[str, Any]:  # fmt: skip
    """A SpatialData container at ``path`` with image "cells" (c, y, x) and labels "nuclei" (y, x), each placed by
    ``Sequence([Scale(scale), Translation(translation)])`` into "global" and by ``Affine(affine)`` (3x3, y/x) into
    "aligned", written in ``order``; ``levels`` > 1 writes a pyramid. Answers spatialdata's own matrices as it reads
    the container back: for each element and system, the 3x3 (y, x) affine that maps the element's full-resolution
    pixel (y, x) into the system; the systems in the order written; the shapes and pixel sums."""
    import numpy as np
    from spatialdata import SpatialData
    from spatialdata.models import Image2DModel, Labels2DModel
    from spatialdata.transformations import Affine, Scale, Sequence, Translation, get_transformation

    yx = ("y", "x")

    def placements() -> dict[str, Any]:
        made = {GLOBAL: Sequence([Scale(scale, axes=yx), Translation(translation, axes=yx)]),
                ALIGNED: Affine(np.asarray(affine, dtype=float), input_axes=yx, output_axes=yx)}  # fmt: skip
        return {name: made[name] for name in order}

    rng = np.random.default_rng(37)
    pixels = rng.integers(0, 255, size=(2, 64, 48), dtype=np.uint8)
    labels = np.zeros((64, 48), dtype=np.uint16)
    labels[8:20, 4:16] = 1
    labels[30:50, 20:40] = 2
    factors = [2] * (levels - 1) or None
    image = Image2DModel.parse(pixels, dims=("c", "y", "x"), transformations=placements(), scale_factors=factors,
                               c_coords=["dapi", "gfp"])  # fmt: skip
    label = Labels2DModel.parse(labels, dims=yx, transformations=placements(), scale_factors=factors)
    sdata = SpatialData(images={"cells": image}, labels={"nuclei": label})
    sdata.write(path, sdata_formats=_formats(form))
    back = SpatialData.read(path)
    matrices: dict[str, Any] = {}
    for kind, name in (("images", "cells"), ("labels", "nuclei")):
        element = back[name]
        found = get_transformation(element, get_all=True)
        matrices[f"{kind}/{name}"] = {
            system: transform.to_affine_matrix(input_axes=yx, output_axes=yx) for system, transform in found.items()
        }
    return jsonable({"matrices": matrices, "systems": list(order), "image_shape": pixels.shape, "labels_shape": labels.shape,
                     "image_sum": int(pixels.astype("int64").sum()), "labels_sum": int(labels.sum())})  # fmt: skip


def read_plain(path: str) -> dict[str, Any]:
    """``spatialdata.read_zarr(path)`` of plain OME-Zarr (another writer's image): what it finds, or the error."""
    from spatialdata import read_zarr

    try:
        sdata = read_zarr(path)
    except Exception as error:
        return {"read": False, "error": f"{type(error).__name__}: {error}"}
    return {"read": True, "elements": sorted(str(name) for _, name, _ in sdata.gen_elements())}


if __name__ == "__main__":
    main([write_placed, read_plain])
