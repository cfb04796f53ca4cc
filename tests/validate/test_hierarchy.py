"""Whole-hierarchy validation: arrays, labels, wells and fields are followed and checked."""

from __future__ import annotations

import json
import pathlib
import shutil

import numpy as np
import pytest

from ngffkit import validate
from ngffkit.samples.examples import write_coins, write_plate

from ..reader.builders import array
from ..reader.test_coordinates import between, scene


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


@pytest.mark.parametrize(
    ("values", "rule"),
    [
        (np.array([[0, 2, 5], [-2, 0, 7]], dtype=float), None),
        (np.zeros(6), "transform-parameters-array"),
        (np.array([[True, False, True]]), "transform-parameters-array"),
        (None, "transform-parameters-missing"),
    ],
    ids=["usable", "1D affine", "booleans", "missing"],
)
def test_06_parameter_arrays_are_checked(tmp_path: pathlib.Path, values: np.ndarray | None, rule: str | None) -> None:
    """0.6rc0 transformations that keep their parameters in an array: the array is there, 2D for an affine, numbers."""
    root = scene(tmp_path / "s.ome.zarr", [between({"type": "affine", "path": "coordinateTransformations/a"})])
    if values is not None:
        array(root / "coordinateTransformations" / "a", values, zarr_format=3)
    report = validate(root)
    if rule is None:
        assert report.valid, report.errors
    else:
        (finding,) = [f for f in report.errors if f.rule == rule]
        assert "coordinateTransformations/a" in finding.message
