"""Semantic and schema rules, one behaviour per test; each asserts the rule id and the JSON path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ngffkit import validate_attributes
from ngffkit.formats import V04

IMAGE_05: dict[str, Any] = {
    "ome": {
        "version": "0.5",
        "multiscales": [
            {
                "axes": [
                    {"name": "c", "type": "channel"},
                    {"name": "y", "type": "space", "unit": "micrometer"},
                    {"name": "x", "type": "space", "unit": "micrometer"},
                ],
                "datasets": [
                    {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 0.5, 0.5]}]},
                    {"path": "1", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1]},
                                                                {"type": "translation", "translation": [0, 0.25, 0.25]}]},
                ],
            }
        ],
    }
}  # fmt: skip


def rules(doc: Any, **kwargs: Any) -> dict[str, list[str]]:
    report = validate_attributes(doc, **kwargs)
    found: dict[str, list[str]] = {}
    for f in report.errors:
        found.setdefault(f.rule, []).append(f.path)
    return found


def mutate(path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(IMAGE_05)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


MS = ["ome", "multiscales", 0]


def test_valid_image_has_no_findings() -> None:
    report = validate_attributes(IMAGE_05)
    assert report.valid and report.findings == () and report.kind == "image" and report.version == "0.5"


def test_axes_order_time_channel_space() -> None:
    doc = mutate(
        [*MS, "axes"],
        [{"name": "y", "type": "space"}, {"name": "c", "type": "channel"}, {"name": "x", "type": "space"}],
    )
    assert rules(doc)["axes-order"] == ["ome.multiscales[0].axes"]


def test_duplicate_axis_names() -> None:
    doc = mutate([*MS, "axes", 0], {"name": "x", "type": "channel"})
    assert "ome.multiscales[0].axes[2].name" in rules(doc)["axes-unique-names"]


def test_scale_length_must_match_axes_in_05_but_only_warns_in_04() -> None:
    doc = mutate([*MS, "datasets", 0, "coordinateTransformations", 0, "scale"], [0.5, 0.5])
    assert "transform-length" in rules(doc)
    v04 = {"multiscales": [dict(doc["ome"]["multiscales"][0], version="0.4")]}
    report = validate_attributes(v04)
    assert report.valid and any(f.rule == "transform-length" for f in report.warnings)


def test_levels_must_go_from_high_to_low_resolution() -> None:
    doc = mutate([*MS, "datasets", 1, "coordinateTransformations", 0, "scale"], [1, 0.25, 0.25])
    assert rules(doc)["levels-order"] == ["ome.multiscales[0].datasets[1].coordinateTransformations"]


def test_translation_before_scale() -> None:
    doc = mutate([*MS, "datasets", 1, "coordinateTransformations"],
                 [{"type": "translation", "translation": [0, 0, 0]}, {"type": "scale", "scale": [1, 1, 1]}])  # fmt: skip
    assert "transform-order" in rules(doc)


@pytest.mark.parametrize("bad", ["../0", "/abs", "s3://b/k", "a//b", "a\\b"])
def test_unsafe_dataset_path(bad: str) -> None:
    doc = mutate([*MS, "datasets", 0, "path"], bad)
    assert rules(doc)["unsafe-path"] == ["ome.multiscales[0].datasets[0].path"]


def test_namespace_missing_for_05() -> None:
    doc = {"multiscales": IMAGE_05["ome"]["multiscales"]}
    assert rules(doc, zarr_format=3) == {"ome-namespace-missing": ["ome"]}


def test_04_metadata_in_a_zarr_v3_group() -> None:
    doc = {"multiscales": [dict(IMAGE_05["ome"]["multiscales"][0], version="0.4")]}
    assert rules(doc, zarr_format=3)["zarr-format"] == [""]


def test_unknown_version() -> None:
    assert rules({"ome": {"version": "9.9", "multiscales": []}})["version-unknown"] == ["ome.version"]


def test_version_mismatch_between_sections_in_04() -> None:
    doc = {"multiscales": [dict(IMAGE_05["ome"]["multiscales"][0], version="0.4")], "image-label": {"version": "0.3"}}
    assert rules(doc)["version-mismatch"] == ["image-label.version"]


def test_not_an_object() -> None:
    assert "document-type" in rules([1, 2, 3])


def test_no_ome_metadata() -> None:
    assert "no-ome-metadata" in rules({"ome": {"version": "0.5", "something": 1}})


PLATE = {"ome": {"version": "0.5", "plate": {
    "rows": [{"name": "A"}, {"name": "B"}], "columns": [{"name": "1"}],
    "wells": [{"path": "A/1", "rowIndex": 0, "columnIndex": 0}, {"path": "B/1", "rowIndex": 1, "columnIndex": 0}],
}}}  # fmt: skip


def test_valid_plate() -> None:
    assert validate_attributes(PLATE).valid


def test_well_path_must_be_row_then_column() -> None:
    doc = copy.deepcopy(PLATE)
    doc["ome"]["plate"]["wells"][1]["path"] = "1/B"
    assert rules(doc)["plate-well-path"] == ["ome.plate.wells[1].path"]


def test_well_index_outside_the_plate() -> None:
    doc = copy.deepcopy(PLATE)
    doc["ome"]["plate"]["wells"][1]["rowIndex"] = 5
    assert rules(doc)["plate-well-index"] == ["ome.plate.wells[1].rowIndex"]


def test_row_names_unique_even_with_other_keys() -> None:
    doc = copy.deepcopy(PLATE)
    doc["ome"]["plate"]["rows"] = [{"name": "A"}, {"name": "A", "note": "x"}]
    assert "plate-unique-rows" in rules(doc)


def test_label_values_unique_and_rgba_range() -> None:
    doc = {"ome": {"version": "0.5", "image-label": {"colors": [
        {"label-value": 1, "rgba": [0, 0, 0, 255]}, {"label-value": 1, "rgba": [1, 1, 1, 255]},
        {"label-value": 2, "rgba": [0, 0, 0, 256]}]}}}  # fmt: skip
    found = rules(doc)
    assert found["label-unique-colors"] == ["ome.image-label.colors[1].label-value"]
    assert found["schema-range"] == ["ome.image-label.colors[2].rgba[3]"]


def test_strict_requires_recommended_keys() -> None:
    assert validate_attributes(IMAGE_05).valid
    strict = rules(IMAGE_05, strict=True)
    assert sorted(strict["schema-required"]) == [f"ome.multiscales[0].{k}" for k in ("metadata", "name", "type")]


def test_03_axes_are_names() -> None:
    doc = {"multiscales": [{"version": "0.3", "axes": ["z", "y", "x"], "datasets": [{"path": "0"}]}]}
    assert validate_attributes(doc).valid
    doc["multiscales"][0]["axes"] = ["y", "z", "x"]
    assert "axes-order" in rules(doc)


def test_assumed_version_applies_where_none_is_stated() -> None:
    doc = {"well": {"images": [{"path": "0"}]}}
    assert validate_attributes(doc, assume=V04).version == "0.4"


def test_06_coordinate_system_references() -> None:
    doc = {"ome": {"version": "0.6rc0", "multiscales": [{
        "coordinateSystems": [{"name": "physical", "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]}],
        "datasets": [{"path": "s0", "coordinateTransformations": [
            {"type": "scale", "scale": [1, 1], "input": {"path": "s0"}, "output": {"name": "elsewhere"}}]}],
    }]}}  # fmt: skip
    report = validate_attributes(doc)
    assert report.valid
    assert [f.rule for f in report.warnings] == ["transform-unknown-system"]
    doc["ome"]["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"] = [0, 1]
    assert "schema-range" in rules(doc)


@pytest.mark.parametrize(
    "junk",
    [None, 1.5, "text", [], {"ome": None}, {"ome": {"version": 5}}, {"multiscales": "x"}, {"multiscales": [None]},
     {"plate": {"wells": [None], "rows": 3}}, {"ome": {"version": "0.6rc0", "scene": {"coordinateTransformations": [{"type": 7}]}}},
     {"multiscales": [{"axes": [{"name": {"deep": [1]}}], "datasets": [{"path": 0, "coordinateTransformations": {}}]}]},
     {"multiscales": [{"datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [float("nan"), 1e400]}]}]}]},
    ],
)  # fmt: skip
def test_malformed_documents_give_findings_not_tracebacks(junk: Any) -> None:
    report = validate_attributes(junk)
    assert not report.valid and all(f.rule for f in report.errors)
