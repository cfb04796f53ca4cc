"""ngffkit.layers: napari layer data with every display setting, and no napari import."""

from __future__ import annotations

import importlib
import json
import pathlib

import numpy as np
import pytest

import ngffkit
from ngffkit.layers import EMPTY_FACE, grid_path
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
    (data, kw, kind), (grid, gkw, gkind), (names, nkw, nkind) = ngffkit.layers(ngffkit.open(examples["plate-0.5"]))
    assert kind == "image" and kw["channel_axis"] == 0
    assert kw["name"] == ["GFP", "DAPI"] and kw["colormap"] == ["#00ff00", "#0000ff"]
    assert kw["contrast_limits"] == [[100.0, 4000.0], [100.0, 1100.0]] and kw["visible"] == [True, True]
    assert kw["scale"] == [0.65, 0.65] and kw["axis_labels"] == ["y", "x"]
    assert [d.shape for d in data] == [(2, 256, 384), (2, 128, 192)]
    assert kw["metadata"]["plate"]["tile_shape"] == [2, 128, 128]
    # the grid: one path over every line of 2 x 3 cells of 128 px, nothing else (no position is empty)
    assert gkind == "shapes" and gkw["shape_type"] == ["path"] and gkw["scale"] == [0.65, 0.65]
    assert_grid(grid[0], rows=[0, 128, 256], columns=[0, 128, 256, 384])
    # the names: a point per position at its cell's top left corner
    assert nkind == "points" and nkw["scale"] == [0.65, 0.65] and len(names) == 6
    assert nkw["features"]["name"][:3] == ["A/1", "A/2", "A/3"] and nkw["features"]["row"][3] == "B"
    assert names[1].tolist() == [0, 128] and nkw["text"]["string"] == "{name}"  # A/2: row 0, column 1


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


def test_empty_positions_are_grey_and_named(tmp_path: pathlib.Path) -> None:
    plate = write_plate(tmp_path / "p.ome.zarr", fields=1)
    doc = json.loads((plate / "zarr.json").read_text())
    doc["attributes"]["ome"]["plate"]["wells"] = [w for w in doc["attributes"]["ome"]["plate"]["wells"]
                                                  if w["path"] != "B/2"]  # fmt: skip
    (plate / "zarr.json").write_text(json.dumps(doc))
    _, (grid, gkw, _), (names, nkw, _) = ngffkit.layers(ngffkit.open(plate))
    assert gkw["shape_type"] == ["path", "rectangle"] and gkw["face_color"][1] == EMPTY_FACE
    assert grid[1].tolist() == [[128, 128], [128, 256], [256, 256], [256, 128]]  # B/2: row 1, column 1
    assert nkw["features"]["name"] == ["A/1", "A/2", "A/3", "B/1", "B/2", "B/3"]
    assert names[4].tolist() == [128, 128]  # an empty position is named too


def test_a_large_plate_names_its_rows_and_columns_around_the_grid(
    examples: dict[str, pathlib.Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        importlib.import_module("ngffkit.layers"), "NAMED_WELLS", 5
    )  # the example plate's 6 wells count as many
    *_, (names, nkw, kind) = ngffkit.layers(ngffkit.open(examples["plate-0.5"]))
    assert kind == "points" and nkw["features"]["name"] == ["A", "B", "1", "2", "3"]
    assert names.tolist() == [[64, -64], [192, -64], [-64, 64], [-64, 192], [-64, 320]]  # half a cell outside
    assert nkw["text"]["anchor"] == "center"
