"""Issue 31's second review: hostile inputs to what changed last (bulk reads of a .ozx's entries, condition tables,
0.6rc0 parameter arrays). Each ends in one clear NGFFError naming the file and key, with bounded memory."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import zarr

import ngffkit
from ngffkit.samples.examples import write_plate
from ngffkit.tools.condition_columns import read_condition_columns

from ..clirun import one_line_error, run
from ..reader.ngio_tables import anndata_table, csv_table
from ..reader.test_coordinates import between, scene
from .bounded import run_cases


def scale_in_array(root: pathlib.Path, values: np.ndarray, chunks: tuple[int, ...]) -> pathlib.Path:
    """A scene whose scale keeps its parameters in ``c/scale``, chunked as given."""
    scene(root, [between({"type": "scale", "path": "c/scale"})])
    array = zarr.create_array(str(root / "c" / "scale"), shape=values.shape, dtype=values.dtype, chunks=chunks)
    array[...] = values
    return root


def test_a_parameter_array_with_a_giant_chunk_is_refused_before_it_is_read(tmp_path: pathlib.Path) -> None:
    """Two numbers in one chunk of 2^27 float64s (a few hundred compressed bytes) decoded a GiB to map a point."""
    path = scale_in_array(tmp_path / "s.ome.zarr", np.array([2.0, 3.0]), chunks=(2**27,))
    said = one_line_error(run("transform", str(path), "input", "output", "[[1, 2]]"))
    assert "c/scale" in said and "scale.path" in said and "chunks" in said
    code = f"ngffkit.open({str(path)!r}).map_points([[1, 2]], source='input', target='output')"
    outcome = run_cases({"giant chunk": code})["giant chunk"]
    assert outcome.ngff and outcome.raised == "InvalidMetadata", outcome
    assert outcome.peak_mib < 400, outcome


def test_a_parameter_array_chunked_as_its_shape_is_read(tmp_path: pathlib.Path) -> None:
    path = scale_in_array(tmp_path / "s.ome.zarr", np.array([2.0, 3.0]), chunks=(2,))
    proc = run("transform", str(path), "input", "output", "[[1, 2]]")
    assert proc.returncode == 0, proc.stderr
    assert '"coordinates": [[2.0, 6.0]]' in proc.stdout


@pytest.mark.parametrize("key", ["obs/n", "obs/drug/codes", "X"])
def test_a_table_column_of_three_rows_in_a_giant_chunk_counts_the_whole_chunk(tmp_path: pathlib.Path,
                                                                               key: str) -> None:  # fmt: skip
    """A column's bytes are counted as decoded -- whole chunks: three rows stored as one chunk of 2^27 values decoded
    a GiB while max_table_bytes counted 24 bytes. (A chunk of 2^21 values against a 1 MiB budget shows it here, cheaply.)"""
    plate = write_plate(tmp_path / "plate.zarr", "0.5", fields=1)
    columns = {"row": ["A", "A", "B"], "column": [1, 2, 3], "drug": ["a", "b", "a"], "n": [4, 5, 6], "dose": [0.5] * 3}
    table = anndata_table(plate, "conditions", columns)
    old = zarr.open_array(str(table / key))
    chunks = (2**21, *old.chunks[1:])
    array = zarr.create_array(str(table / key), shape=old.shape, dtype=old.dtype, chunks=chunks,
                              attributes=dict(old.attrs), overwrite=True)  # fmt: skip
    array[...] = old[...]
    found = read_condition_columns(ngffkit.open(plate, limits=ngffkit.Limits(max_table_bytes=2**20)))
    assert found.values == {}
    (said,) = found.skipped
    assert f"[{key}]" in said and "max_table_bytes" in said, said


def test_a_csv_line_of_millions_of_commas_is_refused_before_it_is_parsed(tmp_path: pathlib.Path) -> None:
    """A 60 MiB line of commas (within max_table_bytes) was parsed into 63 million empty cells -- a GiB -- before
    its length was compared with the header's; it is over max_table_cells, and is refused as such first."""
    plate = write_plate(tmp_path / "plate.zarr", "0.5", fields=1)
    csv_table(plate, "wide", "a\n" + "," * 2_000_000 + "\n")
    found = read_condition_columns(ngffkit.open(plate))
    (said,) = found.skipped
    assert "table.csv" in said or "wide" in said
    assert "max_table_cells" in said, said


def test_csv_tables_with_old_mac_line_endings_and_quoted_newlines_still_read(tmp_path: pathlib.Path) -> None:
    plate = write_plate(tmp_path / "plate.zarr", "0.5", fields=1)
    csv_table(plate, "layout", 'row,column,note\rA,1,"two\nlines"\r\nB,2,x')
    found = read_condition_columns(ngffkit.open(plate))
    assert not found.skipped
    assert found.values["A/1"]["note"] == "two\nlines" and found.values["B/2"]["note"] == "x"
