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


def write_condition_tables(path: str, version: str, wells: list[list[str]], backends: list[str]) -> dict[str, Any]:
    """A plate with one 16x16 field "0" per (row, column) of ``wells`` and one condition table per backend of
    ``backends`` ("conditions_<backend>": one line per well -- row, column (a number), drug, dose (floating point),
    replicate (an integer)); and in the first well a well-level condition table "treatment" (anndata: one line,
    incubation). Answers each table's lines as ngio reads them back (text: the rows, column and values)."""
    import numpy as np
    import pandas as pd
    import zarr
    from ngio import ConditionTable, ImageInWellPath, create_empty_plate, create_ome_zarr_from_array
    from ngio.tables import open_tables_container

    images = [ImageInWellPath(row=row, column=column, path="0") for row, column in wells]
    plate = create_empty_plate(path, name="conditions", images=images, ngff_version=version)
    pixels = np.zeros((1, 16, 16), dtype=np.uint8)
    for row, column in wells:
        create_ome_zarr_from_array(plate.get_image_store(row, column, "0"), pixels, pixelsize=0.5,
                                   axes_names=["c", "y", "x"], levels=1, ngff_version=version, overwrite=True)  # fmt: skip
    drugs = ["dmso", "taxol", "nocodazole", "dmso"]
    frame = pd.DataFrame({"row": [r for r, _ in wells], "column": [int(c) for _, c in wells],
                          "drug": [drugs[i % len(drugs)] for i in range(len(wells))],
                          "dose": [0.5 * i for i in range(len(wells))],
                          "replicate": list(range(1, len(wells) + 1))})  # fmt: skip
    for backend in backends:
        plate.add_table(f"conditions_{backend}", ConditionTable(frame), backend=backend)
    first = plate.wells_paths()[0]  # ngio's own path of the first well ("A/01": it pads column names)
    zarr_format = 2 if version == "0.4" else 3  # the well's own format (a new group would be zarr v3)
    well_tables = open_tables_container(zarr.open_group(f"{path}/{first}/tables", mode="a", zarr_format=zarr_format))
    well_tables.add("treatment", ConditionTable(pd.DataFrame({"incubation": ["24 h"]})), backend="anndata")
    read_back = {name: plate.get_table(name).dataframe.astype(str).to_dict(orient="list")
                 for name in plate.list_tables()}  # fmt: skip
    return jsonable({"tables": plate.list_tables(), "read_back": read_back,
                     "well_tables": {first: well_tables.list()}})  # fmt: skip


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
    main([write_image, write_plate, write_condition_tables, read])
