"""Tables as ngio 1.1 writes them, built with plain zarr: what tests/interop/test_ngio.py sees ngio write (AnnData's
zarr layout for the anndata backend -- text columns categorical, integers in ``obs``, floating point in ``X`` named
by ``var`` -- attributes for json, a ``table.csv`` for csv), so that the core tests run without the peer."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import zarr

CONDITION = "condition_table"


def tables_group(owner: pathlib.Path, zarr_format: int) -> zarr.Group:
    """The ``tables`` group of ``owner`` (a plate, a well or an image), made if absent."""
    group = zarr.open_group(str(owner / "tables"), mode="a", zarr_format=zarr_format)  # type: ignore[arg-type]
    if "tables" not in group.attrs:
        group.attrs["tables"] = []
    return group


def _listed(tables: zarr.Group, name: str, attributes: dict[str, Any]) -> zarr.Group:
    tables.attrs["tables"] = [*tables.attrs["tables"], name]
    return tables.create_group(name, attributes=attributes)


def _text(group: zarr.Group, name: str, values: Sequence[str], **attributes: Any) -> None:
    array = group.create_array(name, shape=(len(values),), dtype=str)
    if len(values):
        array[:] = np.asarray(values, dtype=object)
    array.attrs.update({"encoding-type": "string-array", "encoding-version": "0.2.0", **attributes})


def _index(group: zarr.Group, values: Sequence[str]) -> None:
    """anndata 0.13's string index: a nullable-string-array group (values and mask)."""
    index = group.create_group("_index", attributes={"na-value": "NaN", "encoding-type": "nullable-string-array",
                                                     "encoding-version": "0.1.0"})  # fmt: skip
    _text(index, "values", values)
    mask = index.create_array("mask", shape=(len(values),), dtype=bool)
    mask[:] = np.zeros(len(values), dtype=bool)


def anndata_table(owner: pathlib.Path, name: str, columns: dict[str, Sequence[Any]], *, zarr_format: int = 3,
                  kind: str | None = CONDITION) -> pathlib.Path:  # fmt: skip
    """An AnnData table as ngio writes a pandas frame of ``columns``: text columns categorical in ``obs``, integer
    columns arrays in ``obs``, floating-point columns in ``X`` (rows x columns) named by ``var``'s index."""
    tables = tables_group(owner, zarr_format)
    attributes = {"encoding-type": "anndata", "encoding-version": "0.1.0", "backend": "anndata", "table_version": "1"}
    table = _listed(tables, name, {**attributes, **({"type": kind} if kind else {})})
    rows = len(next(iter(columns.values())))
    text = [c for c, v in columns.items() if all(isinstance(x, str) for x in v)]
    integers = [c for c, v in columns.items() if c not in text and all(isinstance(x, int) for x in v)]
    floats = [c for c in columns if c not in text and c not in integers]
    obs = table.create_group("obs", attributes={"column-order": text + integers, "_index": "_index",
                                                "encoding-type": "dataframe", "encoding-version": "0.2.0"})  # fmt: skip
    _index(obs, [str(i) for i in range(rows)])
    for column in text:
        categories = sorted(set(columns[column]))
        group = obs.create_group(column, attributes={"ordered": False, "encoding-type": "categorical",
                                                     "encoding-version": "0.2.0"})  # fmt: skip
        _text(group, "categories", categories)
        codes = group.create_array("codes", shape=(rows,), dtype="int8")
        codes[:] = np.asarray([categories.index(v) for v in columns[column]], dtype="int8")
    for column in integers:
        array = obs.create_array(column, shape=(rows,), dtype="int64")
        array[:] = np.asarray(columns[column], dtype="int64")
    x = table.create_array("X", shape=(rows, len(floats)), dtype="float64")
    if floats:
        x[:] = np.asarray([columns[c] for c in floats], dtype="float64").T
    var = table.create_group("var", attributes={"column-order": [], "_index": "_index", "encoding-type": "dataframe",
                                                "encoding-version": "0.2.0"})  # fmt: skip
    _index(var, floats)
    return owner / "tables" / name


def json_table(owner: pathlib.Path, name: str, columns: dict[str, list[Any]], *, zarr_format: int = 3,
               kind: str = CONDITION) -> pathlib.Path:  # fmt: skip
    """A json table: the columns as lists in the attributes of its ``table`` group."""
    table = _listed(tables_group(owner, zarr_format), name, {"backend": "json", "table_version": "1", "type": kind})
    table.create_group("table", attributes=columns)
    return owner / "tables" / name


def csv_table(owner: pathlib.Path, name: str, text: str, *, zarr_format: int = 3, backend: str = "csv",
              kind: str = CONDITION) -> pathlib.Path:  # fmt: skip
    """A csv table (``table.csv``; with ``backend="parquet"``, a ``table.parquet`` holding ``text``)."""
    _listed(tables_group(owner, zarr_format), name, {"backend": backend, "table_version": "1", "type": kind})
    path = owner / "tables" / name / ("table.csv" if backend == "csv" else "table.parquet")
    path.write_text(text, encoding="utf-8")
    return path.parent
