"""ngffkit.layers: napari layer data with every display setting, and no napari import."""

from __future__ import annotations

import importlib
import json
import pathlib

import numpy as np
import pytest

import ngffkit
from ngffkit.layer_data import EMPTY_FACE, TRANSPARENT, grid_path
from ngffkit.samples.examples import write_plate


def test_image_and_label_layers(examples: dict[str, pathlib.Path]) -> None:
    (data, kw, kind), (_, lkw, lkind) = ngffkit.layers(ngffkit.open(examples["coins-0.5"]))
    assert kind == "image" and lkind == "labels"
    assert isinstance(data, list) and len(data) == 3 and kw["multiscale"] is True
    assert kw["name"] == "coins" and kw["colormap"] == "gray" and kw["contrast_limits"] == [1.0, 252.0]
    assert kw["scale"] == [0.5, 0.5] and kw["translate"] == [0.0, 0.0]
    assert kw["axis_labels"] == ["y", "x"] and kw["units"] == ["micrometer", "micrometer"]
    assert kw["metadata"]["ngff_version"] == "0.5"
    assert lkw["scale"] == kw["scale"] and lkw["visible"] is True  # labels overlay the image, shown
    assert lkw["colormap"][0] == [0.0, 0.0, 0.0, 0.0] and len(lkw["colormap"]) > 10


def test_multichannel_plate_layer(examples: dict[str, pathlib.Path]) -> None:
    (data, kw, kind), (wells, wkw, wkind) = ngffkit.layers(ngffkit.open(examples["plate-0.5"]))
    assert kind == "image" and kw["channel_axis"] == 0
    assert kw["name"] == ["GFP", "DAPI"] and kw["colormap"] == ["#00ff00", "#0000ff"]
    assert kw["contrast_limits"] == [[75.0, 3931.0], [75.0, 2222.0]] and kw["visible"] == [True, True]
    assert kw["scale"] == [0.65, 0.65] and kw["axis_labels"] == ["y", "x"]
    assert [d.shape for d in data] == [(2, 256, 384), (2, 128, 192)]
    assert kw["metadata"]["plate"]["tile_shape"] == [2, 128, 128]
    # the wells: a named rectangle per position, on the wells' own cells
    assert wkind == "shapes" and wkw["scale"] == [0.65, 0.65] and wkw["shape_type"] == ["rectangle"] * 6
    assert wkw["features"]["name"][:3] == ["A/1", "A/2", "A/3"] and wkw["text"]["string"] == "{name}"
    assert wells[1].tolist() == [[0, 128], [0, 256], [128, 256], [128, 128]]  # A/2: row 0, column 1


def assert_grid(path: np.ndarray, rows: list[float], columns: list[float]) -> None:
    """``path`` draws exactly the lines of the grid: every step is horizontal or vertical, on a grid line, and
    every grid line is drawn from end to end."""
    height, width = rows[-1], columns[-1]
    horizontal, vertical = set(), set()
    for (y0, x0), (y1, x1) in zip(path[:-1].tolist(), path[1:].tolist(), strict=True):
        if y0 == y1:
            assert y0 in rows
            horizontal.add((y0, min(x0, x1), max(x0, x1)))
        else:
            assert x0 == x1 and x0 in columns, f"a diagonal step from {(y0, x0)} to {(y1, x1)}"
            vertical.add((x0, min(y0, y1), max(y0, y1)))
    assert {(y, 0, width) for y in rows} <= horizontal and {(x, 0, height) for x in columns} <= vertical


@pytest.mark.parametrize("rows, columns", [(1, 1), (2, 3), (3, 2), (16, 24), (32, 48)])
def test_the_grid_is_one_path_without_diagonals(rows: int, columns: int) -> None:
    path = grid_path(rows * 10.0, columns * 20.0, rows, columns)
    assert_grid(path, [r * 10.0 for r in range(rows + 1)], [c * 20.0 for c in range(columns + 1)])
    assert len(path) == 2 * (rows + 1) + 2 * (columns + 1)


def without_well(plate: pathlib.Path, well: str) -> pathlib.Path:
    """``plate`` with ``well`` no longer listed: its position is empty."""
    doc = json.loads((plate / "zarr.json").read_text())
    listed = doc["attributes"]["ome"]["plate"]["wells"]
    doc["attributes"]["ome"]["plate"]["wells"] = [w for w in listed if w["path"] != well]
    (plate / "zarr.json").write_text(json.dumps(doc))
    return plate


def test_empty_positions_are_grey_and_named(tmp_path: pathlib.Path) -> None:
    plate = without_well(write_plate(tmp_path / "p.ome.zarr", fields=1), "B/2")
    _, (wells, wkw, _) = ngffkit.layers(ngffkit.open(plate))
    assert wkw["features"]["name"] == ["A/1", "A/2", "A/3", "B/1", "B/2", "B/3"]
    assert wkw["face_color"][4] == EMPTY_FACE and wkw["face_color"][3] == TRANSPARENT
    assert wells[4].tolist() == [[128, 128], [128, 256], [256, 256], [256, 128]]  # B/2: row 1, column 1


def test_a_large_plate_is_a_grid_with_rows_and_columns_named_around_it(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importlib.import_module("ngffkit.layer_data"), "NAMED_WELLS", 5)  # 6 wells count as many
    plate = without_well(write_plate(tmp_path / "p.ome.zarr", fields=1), "B/2")
    _, (wells, wkw, _) = ngffkit.layers(ngffkit.open(plate))
    assert wkw["shape_type"] == ["path"] + ["rectangle"] * 6  # the grid, 5 names, 1 empty position
    assert_grid(wells[0], rows=[0, 128, 256], columns=[0, 128, 256, 384])
    assert wkw["features"]["name"] == ["", "A", "B", "1", "2", "3", ""] and wkw["text"]["anchor"] == "center"
    centres = [box.mean(axis=0).tolist() for box in wells[1:6]]
    assert centres == [[64, -64], [192, -64], [-64, 64], [-64, 192], [-64, 320]]  # half a cell outside
    assert wkw["edge_color"][1] == TRANSPARENT  # the names' boxes are not drawn
    assert wkw["face_color"][6] == EMPTY_FACE and wells[6].tolist()[0] == [128, 128]  # B/2 grey
