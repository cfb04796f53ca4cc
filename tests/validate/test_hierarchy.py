"""Whole-hierarchy validation: arrays, labels, wells and fields are followed and checked."""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest

from ngffkit import validate
from ngffkit.samples.examples import write_coins, write_plate


def errors(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.rule for f in report.errors}


@pytest.mark.parametrize("name", ["coins-0.5", "coins-0.4", "plate-0.5", "plate-0.4"])
def test_examples_are_valid(examples: dict[str, pathlib.Path], name: str) -> None:
    report = validate(examples[name])
    assert report.valid, [f.format() for f in report.errors]


def test_missing_level_array(tmp_path: pathlib.Path) -> None:
    path = write_coins(tmp_path / "c.zarr", "0.5")
    shutil.rmtree(path / "2")
    report = validate(path)
    assert errors(report) == {"array-missing"}
    assert validate(path, metadata_only=True).valid


def test_label_array_ndim_mismatch(tmp_path: pathlib.Path) -> None:
    path = write_coins(tmp_path / "c.zarr", "0.4")
    meta = json.loads((path / "labels/coins/1/.zarray").read_text())
    meta["shape"], meta["chunks"] = [1, *meta["shape"]], [1, *meta["chunks"]]
    (path / "labels/coins/1/.zarray").write_text(json.dumps(meta))
    report = validate(path)
    assert "array-ndim" in errors(report)
    assert any("labels/coins/1" in f.message for f in report.errors)


def test_well_listed_but_absent(tmp_path: pathlib.Path) -> None:
    path = write_plate(tmp_path / "p.zarr", "0.5")
    shutil.rmtree(path / "B" / "2")
    assert errors(validate(path)) == {"well-missing"}


def test_field_of_wrong_kind(tmp_path: pathlib.Path) -> None:
    path = write_plate(tmp_path / "p.zarr", "0.4")
    (path / "A/1/0/.zattrs").write_text(json.dumps({"hello": "world"}))
    assert "image-kind" in errors(validate(path))


def test_not_a_group(tmp_path: pathlib.Path) -> None:
    assert errors(validate(tmp_path / "nothing-here")) == {"not-found"}


def test_dimension_names_must_match_axes(tmp_path: pathlib.Path) -> None:
    path = write_coins(tmp_path / "c.zarr", "0.5")
    meta = json.loads((path / "0/zarr.json").read_text())
    meta["dimension_names"] = ["x", "y"]
    (path / "0/zarr.json").write_text(json.dumps(meta))
    assert errors(validate(path)) == {"array-dimension-names"}


def test_json_file_that_is_not_json(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "attrs.json"
    bad.write_text("{nope")
    report = validate(bad)
    assert not report.valid and errors(report) == {"json-parse"}
