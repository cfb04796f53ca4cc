"""A plate's condition tables (ngio's, issue 37) as per-well columns, like a lab's CSV: every backend ngio writes, the
plate's tables and a well's own, and hostile tables refused with one clear error naming the table and the key --
bounded before anything large is read. The tables are built with plain zarr as ngio lays them out
(tests/reader/ngio_tables.py); what ngio itself writes: tests/interop/test_ngio.py."""

from __future__ import annotations

import pathlib
import time

import numpy as np
import pytest
import zarr

import ngffkit
from ngffkit.reader.table_columns import read_table_columns
from ngffkit.samples.examples import write_plate
from ngffkit.store.location import Location
from ngffkit.tools.condition_columns import read_condition_columns

from ..reader.ngio_tables import anndata_table, csv_table, json_table

FORMATS = {"0.4": 2, "0.5": 3}
CONDITIONS = {"row": ["A", "A", "B"], "column": [1, 2, 3], "drug": ["dmso", "taxol", "nocodazole"],
              "dose": [0.0, 1.5, 2.5], "replicate": [1, 2, 3]}  # fmt: skip
EXPECTED = {"A/1": {"drug": "dmso", "replicate": "1", "dose": "0"},
            "A/2": {"drug": "taxol", "replicate": "2", "dose": "1.5"},
            "B/3": {"drug": "nocodazole", "replicate": "3", "dose": "2.5"}}  # fmt: skip


def plate_at(path: pathlib.Path, version: str) -> ngffkit.Plate:
    opened = ngffkit.open(path)
    assert isinstance(opened, ngffkit.Plate) and opened.version == version
    return opened


@pytest.fixture(params=["0.4", "0.5"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_condition_tables_of_every_backend_become_columns(tmp_path: pathlib.Path, version: str) -> None:
    path = write_plate(tmp_path / "plate.zarr", version, fields=1)
    fmt = FORMATS[version]
    anndata_table(path, "conditions", CONDITIONS, zarr_format=fmt)
    json_table(path, "layout", {"well": ["A01", "b/2", "H12"], "medium": ["DMEM", "RPMI", "DMEM"]}, zarr_format=fmt)
    csv_table(path, "plates", "row,col,batch\nB,1,7\nB,02,8\n", zarr_format=fmt)
    csv_table(path, "fast", "PAR1 not read", zarr_format=fmt, backend="parquet")
    json_table(path, "features", {"label": [1, 2], "area": [3.0, 4.0]}, zarr_format=fmt, kind="feature_table")
    anndata_table(path / "B" / "2", "treatment", {"incubation": ["24 h"]}, zarr_format=fmt)  # a well's own

    found = read_condition_columns(plate_at(path, version))
    assert found.columns == ("drug", "replicate", "dose", "medium", "batch", "incubation")  # features: listed only
    assert {w: {c: v for c, v in cells.items() if c in EXPECTED["A/1"]} for w, cells in found.values.items()
            if w in EXPECTED} == EXPECTED  # fmt: skip
    assert found.values["A/1"]["medium"] == "DMEM" and "medium" not in found.values["A/2"]
    assert found.values["B/2"] == {"medium": "RPMI", "batch": "8", "incubation": "24 h"}
    assert found.unmatched == ("H12",)  # a line about a well the plate does not have is reported, not dropped
    assert found.skipped == (f"fast: parquet tables are not read -- in {path}/tables/fast",)
    assert [s.rsplit("/", 1)[-1] for s in found.sources] == ["conditions", "layout", "plates", "treatment"]


def test_every_backend_reads_the_same_lines(tmp_path: pathlib.Path, version: str) -> None:
    fmt = FORMATS[version]
    owner = tmp_path / "owner.zarr"
    zarr.open_group(str(owner), mode="w", zarr_format=fmt)  # type: ignore[arg-type]
    anndata_table(owner, "a", CONDITIONS, zarr_format=fmt)
    json_table(owner, "j", dict(CONDITIONS), zarr_format=fmt)
    csv_table(owner, "c", "row,column,drug,dose,replicate\nA,1,dmso,0,1\nA,2,taxol,1.5,2\nB,3,nocodazole,2.5,3\n",
              zarr_format=fmt)  # fmt: skip
    location = Location.of(owner)
    read = {b[0]: read_table_columns(location.child(f"tables/{b[0]}"), b) for b in ("anndata", "json", "csv")}
    lines = [{k: line[k] for k in sorted(line)} for line in read["c"].lines()]
    assert [{k: line[k] for k in sorted(line)} for line in read["a"].lines()] == lines
    assert [{k: line[k] for k in sorted(line)} for line in read["j"].lines()] == lines
    assert read["a"].rows == 3 and read["a"].columns == ("row", "drug", "column", "replicate", "dose")


def hostile(tmp_path: pathlib.Path, fmt: int) -> tuple[pathlib.Path, Location]:
    owner = tmp_path / "owner.zarr"
    zarr.open_group(str(owner), mode="w", zarr_format=fmt)  # type: ignore[arg-type]
    table = anndata_table(owner, "t", {"row": ["A", "B"], "drug": ["dmso", "taxol"], "n": [1, 2]}, zarr_format=fmt)
    return table, Location.of(owner).child("tables/t")


def test_a_huge_table_is_refused_before_it_is_read(tmp_path: pathlib.Path, version: str) -> None:
    fmt = FORMATS[version]
    table, location = hostile(tmp_path, fmt)
    obs = zarr.open_group(str(table / "obs"), mode="a", zarr_format=fmt)  # type: ignore[arg-type]
    obs.create_array("n", shape=(10**12,), chunks=(10**6,), dtype="int64", overwrite=True)
    index = zarr.open_group(str(table / "obs" / "_index"), mode="a", zarr_format=fmt)  # type: ignore[arg-type]
    index.create_array("values", shape=(10**12,), chunks=(10**6,), dtype=str, overwrite=True)
    started = time.monotonic()
    with pytest.raises(ngffkit.LimitExceeded, match="max_table_cells") as caught:
        read_table_columns(location, "anndata")
    assert caught.value.where == location.url and time.monotonic() - started < 5

    table, location = hostile(tmp_path / "categories", fmt)  # a categorical column's categories count too
    drug = zarr.open_group(str(table / "obs" / "drug"), mode="a", zarr_format=fmt)  # type: ignore[arg-type]
    drug.create_array("categories", shape=(10**12,), chunks=(1,), dtype=str, overwrite=True)
    started = time.monotonic()
    with pytest.raises(ngffkit.LimitExceeded, match="max_table_cells"):
        read_table_columns(location, "anndata")
    assert time.monotonic() - started < 5


def test_text_beyond_the_byte_limit_is_refused_as_it_is_read(
    tmp_path: pathlib.Path, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fmt = FORMATS[version]
    owner = tmp_path / "owner.zarr"
    zarr.open_group(str(owner), mode="w", zarr_format=fmt)  # type: ignore[arg-type]
    anndata_table(owner, "t", {"row": ["A", "B"], "note": ["x" * 3000, "y" * 3000]}, zarr_format=fmt)
    monkeypatch.setenv("NGFFKIT_MAX_TABLE_BYTES", "4000")
    with pytest.raises(ngffkit.LimitExceeded, match="max_table_bytes") as caught:
        read_table_columns(Location.of(owner).child("tables/t"), "anndata")
    assert caught.value.key is not None and caught.value.key.startswith("obs/note")


def test_a_chunk_claiming_endless_strings_is_refused_at_once(tmp_path: pathlib.Path, version: str) -> None:
    fmt = FORMATS[version]
    table, location = hostile(tmp_path, fmt)
    drug = zarr.open_group(str(table / "obs" / "drug"), mode="a", zarr_format=fmt)  # type: ignore[arg-type]
    drug.create_array("categories", shape=(2,), dtype=str, compressors=None, overwrite=True)
    chunk = table / "obs" / "drug" / "categories" / ("0" if fmt == 2 else "c/0")
    chunk.parent.mkdir(parents=True, exist_ok=True)
    chunk.write_bytes(b"\xff\xff\xff\x0f")  # 268 million strings claimed by a 4-byte chunk
    started = time.monotonic()
    with pytest.raises(ngffkit.CorruptData, match="claims 268435455 items") as caught:
        read_table_columns(location, "anndata")
    assert caught.value.where == location.url and caught.value.key == "obs/drug/categories"
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "spoil, error, text, key",
    [
        ("complex", ngffkit.InvalidMetadata, "cannot hold complex128", "obs/n"),
        ("short", ngffkit.InvalidMetadata, r"shape \(1,\); the table has 2 rows", "obs/n"),
        ("codes", ngffkit.CorruptData, r"codes outside -1..1", "obs/drug/codes"),
        ("unsafe", ngffkit.UnsafePath, r"\.\./\.\./", "obs"),
        ("encoding", ngffkit.InvalidMetadata, "encoded as 'awkward-array' is not read", "obs/drug"),
        ("sparse", ngffkit.InvalidMetadata, "sparse X is not read", "X"),
    ],
)
def test_broken_anndata_tables_are_clear_errors(  # type: ignore[no-untyped-def]
    tmp_path: pathlib.Path, spoil: str, error, text: str, key: str | None
) -> None:
    fmt = 3
    table, location = hostile(tmp_path, fmt)
    obs = zarr.open_group(str(table / "obs"), mode="a", zarr_format=fmt)
    if spoil == "complex":
        obs.create_array("n", shape=(2,), dtype="complex128", overwrite=True)
    elif spoil == "short":
        obs.create_array("n", shape=(1,), dtype="int64", overwrite=True)
    elif spoil == "codes":
        obs["drug"]["codes"][:] = np.array([0, 7], dtype="int8")  # type: ignore[index]
    elif spoil == "unsafe":
        obs.attrs["column-order"] = ["row", "../../../../etc"]
    elif spoil == "encoding":
        obs["drug"].attrs["encoding-type"] = "awkward-array"
    elif spoil == "sparse":
        group = zarr.open_group(str(table), mode="a", zarr_format=fmt)
        del group["X"]
        group.create_group("X", attributes={"encoding-type": "csr_matrix"})
    with pytest.raises(error, match=text) as caught:
        read_table_columns(location, "anndata")
    assert location.url in str(caught.value)
    if key is not None:
        assert caught.value.key == key


def test_broken_json_and_csv_tables_are_clear_errors(tmp_path: pathlib.Path) -> None:
    owner = tmp_path / "owner.zarr"
    zarr.open_group(str(owner), mode="w", zarr_format=3)
    json_table(owner, "ragged", {"row": ["A", "B"], "drug": ["dmso"]})
    json_table(owner, "nested", {"row": ["A"], "drug": [{"name": "dmso"}]})
    csv_table(owner, "lines", "row,column,drug\nA,1\n")
    csv_table(owner, "binary", "")
    (owner / "tables" / "binary" / "table.csv").write_bytes(b"\xff\xfe\x00row")
    location = Location.of(owner)
    cases = {"ragged": (ngffkit.InvalidMetadata, "different lengths"), "nested": (ngffkit.InvalidMetadata, "text, "
             "numbers or null"), "lines": (ngffkit.InvalidMetadata, "line 2 has 2 values"),
             "binary": (ngffkit.InvalidMetadata, "not UTF-8")}  # fmt: skip
    for name, (error, text) in cases.items():
        backend = "json" if name in ("ragged", "nested") else "csv"
        with pytest.raises(error, match=text) as caught:
            read_table_columns(location.child(f"tables/{name}"), backend)
        assert caught.value.where == location.child(f"tables/{name}").url


def test_a_broken_table_does_not_hide_the_others(tmp_path: pathlib.Path) -> None:
    path = write_plate(tmp_path / "plate.zarr", "0.5", fields=1)
    anndata_table(path, "good", CONDITIONS)
    broken = anndata_table(path, "broken", {"row": ["A"], "column": [1], "drug": ["x"]})
    zarr.open_group(str(broken / "obs"), mode="a").create_array("column", shape=(5,), dtype="int64", overwrite=True)
    found = read_condition_columns(plate_at(path, "0.5"))
    assert found.columns == ("drug", "replicate", "dose") and found.values["B/3"]["drug"] == "nocodazole"
    assert len(found.skipped) == 1 and found.skipped[0].startswith("broken: ")
    assert "[obs/column]" in found.skipped[0] and "the table has 1 rows" in found.skipped[0]


def test_the_callers_limits_bound_the_tables(tmp_path: pathlib.Path) -> None:
    path = write_plate(tmp_path / "plate.zarr", "0.5", fields=1)
    anndata_table(path, "conditions", CONDITIONS)
    plate = ngffkit.open(path, limits=ngffkit.Limits(max_table_cells=5))  # 3 rows x 4 columns
    assert isinstance(plate, ngffkit.Plate)
    found = read_condition_columns(plate)
    assert found.values == {} and len(found.skipped) == 1
    assert "max_table_cells" in found.skipped[0] and "NGFFKIT_MAX_TABLE_CELLS" in found.skipped[0]
