"""A plate's overview read as one array: any index reads what numpy would give, each well through its own metadata."""

from __future__ import annotations

import pathlib
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ngffkit
from ngffkit.reader.plate_grid import _bounding_box
from ngffkit.reader.well import mosaic

from . import builders


def test_grid_equals_the_mosaic_of_every_wells_own_field(examples: dict[str, pathlib.Path]) -> None:
    plate = ngffkit.open(examples["plate-0.4"])  # 24 wells x 4 fields x 2 levels
    assert isinstance(plate, ngffkit.Plate)
    lazy = [np.asarray(plate.grid(level, field=2)) for level in range(2)]
    fields = plate.fields(2)
    refs = {(ref.row_index, ref.column_index): ref.path for ref in plate.metadata.plate.wells}  # type: ignore[union-attr]
    for level in range(2):
        tiles = [[fields[refs[(r, c)]].levels[level] for c in range(6)] for r in range(4)]  # type: ignore[union-attr]
        np.testing.assert_array_equal(lazy[level], mosaic(tiles).compute())


def test_a_view_reads_only_the_wells_it_shows(tmp_path: pathlib.Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plate = ngffkit.open(builders.odd_plate(tmp_path / "p.zarr"))
        assert isinstance(plate, ngffkit.Plate)
        grid = plate.grid(0)
        assert grid.numblocks == (1, 1, 1)  # one block: any view is one batch, never one task per well
        np.asarray(grid[:, :16, :16])  # A/1 alone
        assert not plate.is_read("A/2") and not plate.is_read("B/1")
        assert (np.asarray(grid[0, 20:, :16]) == 0).all()  # B/1 is listed but missing: read, found absent, 0
        assert plate.is_read("B/1") and plate.well("B/1") is None and not plate.is_read("A/2")


def test_plate_whose_first_wells_are_missing_still_opens(tmp_path: pathlib.Path) -> None:
    root = builders.odd_plate(tmp_path / "p.zarr")
    attrs = root / ".zattrs"
    text = attrs.read_text().replace('"A/1", "rowIndex": 0, "columnIndex": 0', '"A/9", "rowIndex": 0, "columnIndex": 0')
    attrs.write_text(text)  # the first listed well now does not exist: the next one sizes the cells
    with pytest.warns(ngffkit.NGFFWarning, match="A/9"):
        plate = ngffkit.open(root)
    assert isinstance(plate, ngffkit.Plate) and plate.tile_shape() == (1, 20, 12)
    grid = np.asarray(plate.grid(0))
    assert grid.shape == (1, 40, 24) and (grid[0, :20, 12:] == 2).all() and (grid[0, :, :12] == 0).all()


_SHAPE = (3, 10, 14)


@st.composite
def _index(draw: st.DrawFn) -> tuple[object, ...]:
    out: list[object] = []
    for size in _SHAPE:
        kind = draw(st.sampled_from(["slice", "int", "list", "all"]))
        if kind == "int":
            out.append(draw(st.integers(-size, size - 1)))
        elif kind == "list":
            out.append(draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=4)))
        elif kind == "slice":
            start, stop = draw(st.integers(0, size)), draw(st.integers(0, size))
            out.append(slice(start, stop, draw(st.integers(1, 3))))
        else:
            out.append(slice(None))
    return tuple(out)


@settings(max_examples=150, deadline=None)
@given(_index())
def test_any_index_reads_what_numpy_would_give(index: tuple[object, ...]) -> None:
    full = np.arange(np.prod(_SHAPE)).reshape(_SHAPE)
    bounds, finish = _bounding_box(index, _SHAPE)
    box = full[tuple(slice(lo, hi) for lo, hi in bounds)]
    expected = full
    for axis in reversed(range(len(_SHAPE))):  # orthogonal indexing, as dask asks for it
        item = index[axis]
        expected = (
            np.take(expected, item, axis=axis)
            if not isinstance(item, slice)
            else expected[(slice(None),) * axis + (item,)]
        )
    np.testing.assert_array_equal(finish(box), expected)


def test_out_of_range_index_is_an_index_error() -> None:
    with pytest.raises(IndexError):
        _bounding_box((5, 0, 0), _SHAPE)
    with pytest.raises(IndexError):
        _bounding_box((0, 0, 0, 0), _SHAPE)
