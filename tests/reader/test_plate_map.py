"""The plate's map without a window: the well table, each well's cell in the grid, the well under a point, and
every field of every well tiled inside its cell."""

from __future__ import annotations

import pathlib

import numpy as np

import ngffkit
from ngffkit.reader.plate_map import grid_cells, well_at, well_table, with_columns


def sparse_plate(tmp_path: pathlib.Path) -> ngffkit.Plate:
    """2 x 3 positions, wells at A/1 (three fields) and B/3 (one field) only."""
    plate = ngffkit.write_plate(tmp_path / "p.zarr", ["A", "B"], ["1", "2", "3"], ["A/1", "B/3"], fields=3,
                                acquisitions=[{"id": 7}], field_acquisitions=[7, 7, 7])  # fmt: skip
    for f in range(3):
        ngffkit.write_field(plate, "A/1", f, np.full((40, 60), 10 + f, dtype=np.uint8), levels=1)
    ngffkit.write_field(plate, "B/3", 0, np.full((40, 60), 99, dtype=np.uint8), levels=1)
    opened = ngffkit.open(tmp_path / "p.zarr")
    assert isinstance(opened, ngffkit.Plate)
    return opened


def test_the_table_lists_wells_and_optionally_every_position(tmp_path: pathlib.Path) -> None:
    plate = sparse_plate(tmp_path)
    rows = well_table(plate)
    assert [(r.path, r.row, r.column, r.fields, r.acquisitions, r.present) for r in rows] == [
        ("A/1", "A", "1", 3, (7,), True), ("B/3", "B", "3", 3, (7,), True)]  # fmt: skip
    everything = well_table(plate, every_position=True)
    assert [r.path for r in everything if not r.present] == ["A/2", "A/3", "B/1", "B/2"]
    added = with_columns(rows, {"B/3": {"drug": "taxol"}})
    assert added[1].value("drug") == "taxol" and added[0].value("drug") == "" and added[1].value("fields") == 3


def test_cells_and_the_well_under_a_point(tmp_path: pathlib.Path) -> None:
    plate = sparse_plate(tmp_path)
    grid = plate.grid(0)
    assert grid.shape == (80, 180)
    cells = grid_cells(plate, grid.shape)
    assert cells[(1, 2)].corners() == [[40, 120], [40, 180], [80, 180], [80, 120]]
    assert well_at(plate, grid.shape, 50, 130) == "B/3" and well_at(plate, grid.shape, 5, 5) == "A/1"
    assert well_at(plate, grid.shape, 5, 70) is None  # an empty position
    assert well_at(plate, grid.shape, 81, 5) is None and well_at(plate, grid.shape, -1, 5) is None
    np.testing.assert_array_equal(grid[40:80, 120:180].compute(), 99)


def test_every_field_tiled_inside_its_cell(tmp_path: pathlib.Path) -> None:
    plate = sparse_plate(tmp_path)
    grid = plate.grid(0, "all").compute()
    # A/1's three fields in a 2 x 2 mosaic (one empty), the cell sized for it; B/3 its one field, padded
    assert grid.shape == (160, 360)
    np.testing.assert_array_equal(grid[:40, :60], 10)
    np.testing.assert_array_equal(grid[:40, 60:120], 11)
    np.testing.assert_array_equal(grid[40:80, :60], 12)
    np.testing.assert_array_equal(grid[40:80, 60:120], 0)
    cell = grid_cells(plate, grid.shape)[(1, 2)]
    np.testing.assert_array_equal(grid[int(cell.y) : int(cell.y) + 40, int(cell.x) : int(cell.x) + 60], 99)
