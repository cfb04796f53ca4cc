"""ngio's side (fractal; runs in its own environment): OME-Zarr images with labels and tables, and plates, written
by ngio 1.1; and what ngio reads of ngffkit's output."""

from __future__ import annotations

from typing import Any

from . import jsonable, load, main, save

#: (table name, ngio table type, backend) written by :func:`write_image`: every type, every backend.
TABLES = [("image_roi", "roi", "anndata"), ("nuclei_masks", "masking_roi", "json"),
          ("nuclei_features", "feature", "csv"), ("conditions", "condition", "parquet"),
          ("notes", "generic", "anndata")]  # fmt: skip


def _tables(container: Any, label: str) -> dict[str, int]:
    """Every table of :data:`TABLES` added to ``container``; answers the rows each holds."""
    import pandas as pd
    from ngio import ConditionTable, FeatureTable, GenericTable

    made = {
        "roi": lambda: container.build_image_roi_table("image"),
        "masking_roi": lambda: container.build_masking_roi_table(label),
        "feature": lambda: FeatureTable(
            pd.DataFrame({"label": [1, 2, 3], "area": [10.0, 20.0, 30.0]}).set_index("label"), reference_label=label
        ),
        "condition": lambda: ConditionTable(pd.DataFrame({"drug": ["a", "b"], "dose": [1.0, 2.0]})),
        "generic": lambda: GenericTable(pd.DataFrame({"note": ["x", "y", "z", "w"]})),
    }
    rows = {}
    for name, kind, backend in TABLES:
        table = made[kind]()
        container.add_table(name, table, backend=backend)
        rows[name] = len(container.get_table(name).dataframe)
    return rows


def write_image(path: str, version: str, data: str, pixelsize: float = 0.5) -> dict[str, Any]:
    """``load(data)`` (c, y, x) as an image with label "nuclei" (three objects) and the :data:`TABLES`, NGFF
    ``version`` ("0.4" or "0.5"). Answers the rows of each table and the label's pixels (.npy)."""
    import numpy as np
    from ngio import create_ome_zarr_from_array

    values = load(data)
    container = create_ome_zarr_from_array(path, values, pixelsize=pixelsize, axes_names=["c", "y", "x"], levels=2,
                                           channels_meta=[f"ch{i}" for i in range(values.shape[0])],
                                           ngff_version=version)  # fmt: skip
    label = container.derive_label("nuclei")
    pixels = np.zeros(label.shape, dtype=label.dtype if hasattr(label, "dtype") else np.uint32)
    pixels[..., 2:10, 2:10] = 1
    pixels[..., 20:30, 10:20] = 2
    pixels[..., 40:50, 30:40] = 3
    label.set_array(pixels)
    label.consolidate()
    rows = _tables(container, "nuclei")
    return jsonable({"rows": rows, "tables": TABLES, "labels": save(pixels, path + "-npy", "nuclei")})


def write_plate(path: str, version: str, data: str, wells: list[list[str]]) -> dict[str, Any]:
    """A plate with one field "0" per (row, column) of ``wells``, each ``load(data)`` (c, y, x) at pixel size 0.5,
    and a condition table "conditions" (anndata: one row per well, columns row, column, drug) at the plate."""
    import pandas as pd
    from ngio import ConditionTable, ImageInWellPath, create_empty_plate, create_ome_zarr_from_array

    values = load(data)
    images = [ImageInWellPath(row=row, column=column, path="0") for row, column in wells]
    plate = create_empty_plate(path, name="plate", images=images, ngff_version=version)
    for row, column in wells:
        create_ome_zarr_from_array(plate.get_image_store(row, column, "0"), values, pixelsize=0.5, axes_names=["c", "y", "x"],
                                   levels=1, ngff_version=version, overwrite=True)  # fmt: skip
    conditions = pd.DataFrame({"row": [r for r, _ in wells], "column": [c for _, c in wells],
                               "drug": [f"drug-{i}" for i in range(len(wells))]})  # fmt: skip
    plate.add_table("conditions", ConditionTable(conditions), backend="anndata")
    return jsonable({"wells": [f"{r}/{c}" for r, c in wells], "tables": plate.list_tables()})


def read(path: str, out: str) -> dict[str, Any]:
    """``open_ome_zarr_container(path)``: version, axes, pixel size, channels, labels, tables; level 0 as .npy."""
    from ngio import open_ome_zarr_container

    container = open_ome_zarr_container(path)
    image = container.get_image()
    size = image.pixel_size
    return jsonable({
        "version": str(container.meta.version), "axes": list(image.axes), "shape": list(image.shape),
        "pixel_size": {"x": size.x, "y": size.y}, "channels": list(image.channel_labels),
        "labels": list(container.list_labels()), "tables": list(container.list_tables()),
        "pixels": save(image.get_array(), out, "level0"),
    })  # fmt: skip


if __name__ == "__main__":
    main([write_image, write_plate, read])
