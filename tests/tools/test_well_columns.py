"""Per-well columns from a lab's CSV, matched to a plate's wells however the lab writes well names."""

from __future__ import annotations

import pathlib

import pytest

import ngffkit
from ngffkit.samples.examples import write_plate
from ngffkit.tools.well_columns import read_well_columns


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> ngffkit.Plate:
    opened = ngffkit.open(write_plate(tmp_path_factory.mktemp("p") / "p.zarr", fields=1))
    assert isinstance(opened, ngffkit.Plate)
    return opened


@pytest.mark.parametrize("b3", ["B3", "B03", "b/3", "B 3", "B-03"])
def test_well_names_as_labs_write_them(plate: ngffkit.Plate, tmp_path: pathlib.Path, b3: str) -> None:
    (tmp_path / "t.csv").write_text(f"Well,drug\nA1,DMSO\n{b3},taxol\nZ9,none\n")
    table = read_well_columns(tmp_path / "t.csv", plate)
    assert table.columns == ("drug",) and table.values == {"A/1": {"drug": "DMSO"}, "B/3": {"drug": "taxol"}}
    assert table.unmatched == ("Z9",)


def test_row_and_column_columns(plate: ngffkit.Plate, tmp_path: pathlib.Path) -> None:
    (tmp_path / "t.csv").write_text("row,column,condition\nA,2,control\nB,03,treated\n")
    table = read_well_columns(tmp_path / "t.csv", plate)
    assert table.values == {"A/2": {"condition": "control"}, "B/3": {"condition": "treated"}}


def test_bad_tables_are_clear_errors(plate: ngffkit.Plate, tmp_path: pathlib.Path) -> None:
    (tmp_path / "nokey.csv").write_text("drug,dose\nDMSO,0\n")
    with pytest.raises(ngffkit.InvalidArgument, match="needs a 'well' column"):
        read_well_columns(tmp_path / "nokey.csv", plate)
    with pytest.raises(ngffkit.NotFound, match="no such table"):
        read_well_columns(tmp_path / "absent.csv", plate)
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ngffkit.InvalidArgument, match="not text"):
        read_well_columns(tmp_path / "binary.csv", plate)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ngffkit.InvalidArgument, match="the table is empty"):
        read_well_columns(tmp_path / "empty.csv", plate)


def test_lines_about_one_well_keep_their_different_values(plate: ngffkit.Plate, tmp_path: pathlib.Path) -> None:
    (tmp_path / "t.csv").write_text("well,drug,dose\nA1,DMSO,0\nA01,taxol,0\nA/1,DMSO,\n")
    table = read_well_columns(tmp_path / "t.csv", plate)
    assert table.values == {"A/1": {"drug": "DMSO, taxol", "dose": "0"}}  # nothing silently overwritten
