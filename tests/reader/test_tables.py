"""ngio's ``tables`` group read from metadata only (issue 37): every table listed with its type and backend, rows
counted where zarr metadata gives them, other backends "not read", unsafe names not followed. What ngio itself
writes: tests/interop/test_ngio.py."""

from __future__ import annotations

import pathlib

import numpy as np
import zarr

import ngffkit
from ngffkit.tools.info import describe


def with_tables(path: pathlib.Path) -> pathlib.Path:
    ngffkit.write_image(np.zeros((16, 16), dtype=np.uint8), path, axes="yx", levels=1)
    tables = zarr.open_group(str(path / "tables"), mode="w", zarr_format=3)
    tables.attrs["tables"] = ["rois", "masks", "features", "missing", "../outside"]
    rois = tables.create_group("rois", attributes={"type": "roi_table", "backend": "anndata"})
    rois.create_group("obs", attributes={"_index": "FieldIndex"}).create_array("FieldIndex", shape=(7,), dtype="int64")
    masks = tables.create_group("masks", attributes={"type": "masking_roi_table", "backend": "json"})
    masks.create_group("table", attributes={"label": [1, 2], "x_micrometer": [0.0, 1.5]})
    tables.create_group("features", attributes={"type": "feature_table", "backend": "csv"})
    return path


def test_tables_are_listed_from_metadata(tmp_path: pathlib.Path) -> None:
    image = ngffkit.open(with_tables(tmp_path / "img.zarr"))
    listed = {t.name: (t.type, t.backend, t.rows, t.not_read) for t in image.tables()}
    assert listed == {
        "rois": ("roi_table", "anndata", 7, None),
        "masks": ("masking_roi_table", "json", 2, None),
        "features": ("feature_table", "csv", None, "csv tables are not read"),
        "missing": (None, None, None, "its group is missing or unreadable"),
    }  # "../outside" is not followed
    assert [t["name"] for t in describe(image)["tables"]] == ["rois", "masks", "features", "missing"]
    group = describe(tmp_path / "img.zarr" / "tables")
    assert group["kind"] == "tables group" and len(group["tables"]) == 4


def test_no_tables_group_no_tables(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "plain.zarr"
    ngffkit.write_image(np.zeros((16, 16), dtype=np.uint8), path, axes="yx", levels=1)
    assert ngffkit.open(path).tables() == () and "tables" not in describe(path)
