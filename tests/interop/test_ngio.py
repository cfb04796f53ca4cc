"""ngio 1.1 (fractal), in its own environment (peers/), both ways (issue 37): ngffkit reads ngio's 0.4/0.5 images,
labels, plates and tables (every table listed with its type, backend and rows where metadata gives them; condition
tables of every backend as per-well columns), and ngio reads ngffkit's 0.4/0.5 images with their labels."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
from peers import NGIO

import ngffkit
from ngffkit.reader.table_columns import read_table_columns
from ngffkit.tools.condition_columns import read_condition_columns

from ..clirun import run
from ..conftest import use_peer

pytestmark = pytest.mark.peers

VALUES = np.random.default_rng(37).integers(0, 4000, (2, 64, 64), dtype=np.uint16)
#: (name, type as written, backend, rows ngffkit can count without reading the table itself)
TABLES = [("image_roi", "roi_table", "anndata", 1), ("nuclei_masks", "masking_roi_table", "json", 3),
          ("nuclei_features", "feature_table", "csv", None), ("conditions", "condition_table", "parquet", None),
          ("notes", None, "anndata", 4)]  # fmt: skip


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_we_read_ngio_images_labels_and_tables(tmp_path: pathlib.Path, version: str) -> None:
    np.save(tmp_path / "values.npy", VALUES)
    path = tmp_path / "ngio.zarr"
    answer = use_peer(NGIO).call("write_image", path=path, version=version, data=tmp_path / "values.npy")
    image = ngffkit.open(path)
    assert isinstance(image, ngffkit.Image) and image.version == version and not image.warnings
    assert image.axis_names == ("c", "y", "x") and image.scale(0) == (1.0, 0.5, 0.5)
    assert [c.name for c in image.channels] == ["ch0", "ch1"] and len(image.levels) == 2
    np.testing.assert_array_equal(image.read(0), VALUES)
    assert image.label_names == ("nuclei",)
    np.testing.assert_array_equal(image.label("nuclei").read(0), np.load(answer["labels"]))
    listed = [(t.name, t.type, t.backend, t.rows) for t in image.tables()]
    assert listed == TABLES
    assert [answer["rows"][name] for name, *_, rows in TABLES if rows is not None] == [1, 3, 4]  # ngio agrees
    assert all(t.not_read == f"{t.backend} tables are not read" for t in image.tables() if t.rows is None)
    assert ngffkit.validate(path).valid

    described = run("info", "--json", str(path))
    assert described.returncode == 0, described.stderr
    assert [(t["name"], t["rows"]) for t in json.loads(described.stdout)["tables"]] == [(n, r) for n, _, _, r in TABLES]
    shown = run("info", str(path))
    assert "5 tables" in shown.stdout and "nuclei_masks: masking_roi_table, json, 3 rows" in shown.stdout
    assert "nuclei_features: feature_table, csv, rows not read (csv tables are not read)" in shown.stdout
    group = run("info", str(path / "tables"))
    assert (
        group.returncode == 0
        and "tables group" in group.stdout
        and "image_roi: roi_table, anndata, 1 row" in group.stdout
    )


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_we_read_ngio_plates_and_their_tables(tmp_path: pathlib.Path, version: str) -> None:
    np.save(tmp_path / "values.npy", VALUES)
    path = tmp_path / "plate.zarr"
    wells = [["A", "1"], ["A", "2"], ["B", "1"]]
    answer = use_peer(NGIO).call("write_plate", path=path, version=version, data=tmp_path / "values.npy", wells=wells)
    assert answer["tables"] == ["conditions"]
    plate = ngffkit.open(path)
    assert isinstance(plate, ngffkit.Plate) and plate.version == version
    assert plate.well_paths == ("A/01", "A/02", "B/01") and plate.rows == ("A", "B")  # ngio pads column names
    field = plate.well("B/01").field(0)  # type: ignore[union-attr]
    assert field is not None and field.scale(0) == (1.0, 0.5, 0.5)
    np.testing.assert_array_equal(field.read(0), VALUES)
    assert [(t.name, t.type, t.backend, t.rows) for t in plate.tables()] == [("conditions", "condition_table",
                                                                                "anndata", 3)]  # fmt: skip
    assert ngffkit.validate(path).valid


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ngio_reads_what_we_write(tmp_path: pathlib.Path, version: str) -> None:
    path = tmp_path / "ours.zarr"
    ngffkit.write_image(VALUES, path, axes="cyx", scale={"y": 0.5, "x": 0.5}, units="micrometer",
                        channels=["DAPI", "GFP"], levels=2, version=version)  # fmt: skip
    ngffkit.write_labels((VALUES[0] > 2000).astype(np.uint8), path, "cells")
    theirs = use_peer(NGIO).call("read", path=path, out=tmp_path / "theirs")
    assert theirs["version"] == version and theirs["axes"] == ["c", "y", "x"]
    assert theirs["pixel_size"] == {"x": 0.5, "y": 0.5} and theirs["channels"] == ["DAPI", "GFP"]
    assert theirs["labels"] == ["cells"] and theirs["tables"] == []
    np.testing.assert_array_equal(np.load(theirs["pixels"]), VALUES)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ngio_condition_tables_become_per_well_columns(tmp_path: pathlib.Path, version: str) -> None:
    """Every backend ngio writes a condition table with, at the plate, and a well's own table: the anndata, json and
    csv tables give the same columns as ngio reads back; parquet is listed as not read."""
    path = tmp_path / "plate.zarr"
    wells = [["A", "1"], ["A", "2"], ["B", "1"]]
    answer = use_peer(NGIO).call("write_condition_tables", path=path, version=version, wells=wells,
                                 backends=["anndata", "json", "csv", "parquet"])  # fmt: skip
    assert answer["well_tables"] == {"A/01": ["treatment"]}
    plate = ngffkit.open(path)
    assert isinstance(plate, ngffkit.Plate)
    location = plate.location.child("tables")
    theirs = answer["read_back"]["conditions_anndata"]  # ngio's own reading, as text
    for backend in ("anndata", "json", "csv"):
        ours = read_table_columns(location.child(f"conditions_{backend}"), backend)
        assert ours.rows == 3 and set(ours.columns) == set(theirs)
        for column in ("row", "drug", "column", "replicate"):
            assert list(ours.values[column]) == theirs[column], (backend, column)
        assert [float(v) for v in ours.values["dose"]] == [float(v) for v in theirs["dose"]]
    found = read_condition_columns(plate)
    assert found.columns == ("drug", "replicate", "dose", "incubation")
    assert found.values == {
        "A/01": {"drug": "dmso", "replicate": "1", "dose": "0", "incubation": "24 h"},
        "A/02": {"drug": "taxol", "replicate": "2", "dose": "0.5"},
        "B/01": {"drug": "nocodazole", "replicate": "3", "dose": "1"},
    }  # three backends, one set of values: each table's line for a well repeats, it is not shown twice
    assert found.skipped == (f"conditions_parquet: parquet tables are not read -- in {path}/tables/conditions_parquet",)
    assert found.unmatched == () and len(found.sources) == 4
