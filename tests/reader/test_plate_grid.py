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


def _wide_plate(root: pathlib.Path, rows: int = 4, columns: int = 12) -> pathlib.Path:
    """A plate of ``rows x columns`` wells whose 8 x 8 field is filled with 1 + the well's index."""
    names = [chr(ord("A") + r) for r in range(rows)]
    wells = [f"{r}/{c + 1}" for r in names for c in range(columns)]
    path = root / "wide.zarr"
    ngffkit.write_plate(path, names, [str(c + 1) for c in range(columns)], wells, fields=1)
    for i, well in enumerate(wells):
        ngffkit.write_field(path, well, 0, np.full((8, 8), i + 1, dtype=np.uint16), axes="yx", levels=1)
    return path


def test_a_read_in_parts_hands_out_the_plate_filling_up_page_by_page(tmp_path: pathlib.Path) -> None:
    """48 wells in pages of 24 and 48: one picture before the end, the first 24 wells (two rows) in it and
    the others still 0; the end is what a plain read gives."""
    plate = ngffkit.open(_wide_plate(tmp_path))
    assert isinstance(plate, ngffkit.Plate)
    level = plate.grid(0).__dask_graph__().layers  # the GridLevel is the array the one-block dask array reads
    (grid,) = [v for layer in level.values() for v, _ in getattr(layer, "indices", ()) if hasattr(v, "read")]
    parts: list[np.ndarray] = []
    whole = grid.read((slice(None), slice(None)), lambda part: parts.append(part.copy()))
    assert len(parts) == 1
    assert (parts[0][:16] > 0).all() and (parts[0][16:] == 0).all()  # rows A and B are here, C and D to come
    expected = np.kron(np.arange(1, 49, dtype=np.uint16).reshape(4, 12), np.ones((8, 8), dtype=np.uint16))
    np.testing.assert_array_equal(whole, expected)
    np.testing.assert_array_equal(np.asarray(plate.grid(0)), expected)


@pytest.mark.network
def test_threads_reading_the_same_wells_request_each_document_once(tmp_path: pathlib.Path) -> None:
    """napari's channel layers, the navigator and a well being opened read one plate at once: what one thread
    is reading, the others wait for rather than request again."""
    import threading

    from loopback.servers import http_file_server

    _wide_plate(tmp_path)
    with http_file_server(tmp_path, listing=False, latency=0.05) as server:
        plate = ngffkit.open(f"{server.url}/wide.zarr")
        assert isinstance(plate, ngffkit.Plate)
        server.log.clear()
        jobs = [plate.load_wells, lambda: plate.fields(0), lambda: np.asarray(plate.grid(0)), plate.load_wells]
        threads = [threading.Thread(target=job) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        paths = server.log.paths()
        documents = [p for p in paths if p.endswith("zarr.json")]
        assert len(documents) == len(set(documents)), sorted(p for p in documents if documents.count(p) > 1)
        assert len([p for p in documents if p.count("/") == 4]) == 47  # every well but A/1 (read at opening)
        assert all(plate.is_read(path) for path in plate.well_paths)
