"""Placements into named coordinate systems inside 0.4/0.5 metadata (issue 37), as spatialdata writes them: the
image is placed in the first system that can be interpreted (scale/translation as napari scale/translate, an
affine as affine), a warning and a ``named-placement`` finding say so, and what cannot be interpreted is named --
never dropped silently. spatialdata's own output: tests/interop/test_spatialdata.py."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np
import pytest

import ngffkit
from ngffkit.metadata import parse_attributes


def system(name: str) -> dict[str, Any]:
    return {"name": name, "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]}


GLOBAL = {"type": "sequence", "input": system("yx"), "output": system("global"), "transformations": [
    {"type": "scale", "scale": [2.0, 3.0], "input": system("yx"), "output": system("global")},
    {"type": "translation", "translation": [10.0, 20.0], "input": system("yx"), "output": system("global")}]}  # fmt: skip
ALIGNED = {"type": "affine", "affine": [[0.5, 0.1, 5.0], [0.0, 2.0, -3.0]], "input": system("yx"),
           "output": system("aligned")}  # fmt: skip
BROKEN = {"type": "affine", "affine": [[1.0, 0.0]], "input": system("yx"), "output": system("broken")}


def placed_image(tmp_path: pathlib.Path, placements: list[dict[str, Any]]) -> pathlib.Path:
    """A 0.5 image of 2 levels whose multiscale carries ``placements`` the way spatialdata writes them."""
    values = np.arange(64 * 48, dtype=np.uint16).reshape(64, 48)
    path = tmp_path / "placed.zarr"
    ngffkit.write_image(values, path, axes="yx", levels=2)
    doc = json.loads((path / "zarr.json").read_text())
    doc["attributes"]["ome"]["multiscales"][0]["coordinateTransformations"] = placements
    (path / "zarr.json").write_text(json.dumps(doc))
    return path


def layer_placement(path: pathlib.Path) -> dict[str, Any]:
    with pytest.warns(ngffkit.NGFFWarning, match="named coordinate systems"):
        image = ngffkit.open(path)
    ((_, kwargs, _),) = ngffkit.layers(image)
    return kwargs


def test_a_sequence_into_global_places_the_layer(tmp_path: pathlib.Path) -> None:
    path = placed_image(tmp_path, [GLOBAL, ALIGNED])
    kwargs = layer_placement(path)
    assert kwargs["scale"] == [2.0, 3.0] and kwargs["translate"] == [10.0, 20.0] and "affine" not in kwargs
    image = ngffkit.open(path)
    # level 1 (scale 2, translation 0.5 of its own) lands where level 0's pixels (1.5, 1.5) do
    assert image.scale(1) == (4.0, 6.0) and image.translation(1) == (11.0, 21.5)
    assert any("placed in 'global'" in w for w in image.warnings)
    report = ngffkit.validate(path)
    (finding,) = [f for f in report.findings if f.rule == "named-placement"]
    assert "'global', 'aligned'" in finding.message and "not valid" in finding.message
    assert not report.valid  # the shapes are still wrong for 0.5: said, not hidden


def test_an_affine_first_places_the_layer_by_affine(tmp_path: pathlib.Path) -> None:
    kwargs = layer_placement(placed_image(tmp_path, [ALIGNED, GLOBAL]))
    np.testing.assert_allclose(kwargs["affine"], [[0.5, 0.1, 5.0], [0.0, 2.0, -3.0], [0.0, 0.0, 1.0]])


def test_what_cannot_be_interpreted_is_named(tmp_path: pathlib.Path) -> None:
    path = placed_image(tmp_path, [BROKEN, GLOBAL])
    kwargs = layer_placement(path)
    assert kwargs["translate"] == [10.0, 20.0]  # the next system that can be read
    image = ngffkit.open(path)
    (said,) = [w for w in image.warnings if "named coordinate systems" in w]
    assert "placed in 'global'" in said and "not interpreted: 'broken'" in said


def test_nothing_interpretable_is_said_so(tmp_path: pathlib.Path) -> None:
    path = placed_image(tmp_path, [BROKEN])
    kwargs = layer_placement(path)
    assert kwargs["scale"] == [1.0, 1.0] and kwargs["translate"] == [0.0, 0.0]
    (said,) = [w for w in ngffkit.open(path).warnings if "named coordinate systems" in w]
    assert "none can be interpreted" in said and "'broken'" in said


def test_a_system_can_be_asked_for() -> None:
    attributes = {"ome": {"version": "0.5", "multiscales": [{
        "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1.0, 1.0]}]}],
        "coordinateTransformations": [GLOBAL, ALIGNED]}]}}  # fmt: skip
    multiscale = parse_attributes(attributes).multiscales[0]
    assert multiscale.named_placements().chosen.system == "global"  # type: ignore[union-attr]
    assert multiscale.named_placements("aligned").chosen.system == "aligned"  # type: ignore[union-attr]
    assert multiscale.named_placements("elsewhere").chosen.system == "global"  # type: ignore[union-attr]


def test_plain_0_4_and_0_6rc0_transformations_are_not_named_placements(tmp_path: pathlib.Path) -> None:
    for version in ("0.4", "0.6rc0"):
        values = np.zeros((8, 8), dtype=np.uint8)
        path = tmp_path / f"plain-{version}.zarr"
        ngffkit.write_image(values, path, axes="yx", scale=0.5, version=version, levels=1)
        assert ngffkit.open(path).multiscale.named_placements().found == ()
