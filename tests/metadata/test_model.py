"""The metadata model: tolerant read, strict write, unknown keys kept, upgrade, RFC-5 transforms."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ngffkit import NGFFError, UnsupportedVersion, validate_attributes
from ngffkit.formats import V04, V05, V06RC0, get_format
from ngffkit.metadata import parse_attributes, parse_transformation, upgrade
from ngffkit.metadata._base import Notes
from ngffkit.metadata.transforms import compose_scale_translation

from ..validate.test_rules import IMAGE_05


def _spec_documents(spec: pathlib.Path) -> list[tuple[str, pathlib.Path]]:
    docs = []
    for path in sorted(spec.glob("*/examples/*/*.json")):
        if path.name.startswith(".") or path.parent.name in ("transformations", "subspace"):
            continue
        docs.append((path.relative_to(spec).parts[0], path))
    return docs


def test_spec_examples_round_trip_exactly(spec_dir: pathlib.Path) -> None:
    checked = 0
    for version, path in _spec_documents(spec_dir):
        try:
            doc = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue  # a few upstream examples carry comments
        if "zarr_format" in doc:
            doc = doc.get("attributes", {})
        if isinstance(doc.get("ome"), str):
            continue
        meta = parse_attributes(doc, assume=get_format(version))
        assert meta.to_attributes() == doc, path
        checked += 1
    assert checked >= 30


def test_spec_transformation_examples_round_trip(spec_dir: pathlib.Path) -> None:
    checked = 0
    for path in sorted((spec_dir / "0.6rc0/examples/transformations").rglob("*.json")):
        if path.name.startswith("."):
            continue
        doc = json.loads(path.read_text())
        transforms = (
            doc.get("coordinateTransformations")
            if "coordinateTransformations" in doc
            else [doc]
            if "type" in doc
            else []
        )
        for t in transforms:
            notes = Notes()
            assert parse_transformation(t, notes, "t").to_json() == t, path
            checked += 1
    assert checked >= 20


def test_unknown_keys_survive_everywhere() -> None:
    doc = json.loads(json.dumps(IMAGE_05))
    doc["vendor"] = {"scope": "xyz"}
    doc["ome"]["my-extension"] = 1
    doc["ome"]["multiscales"][0]["axes"][1]["longName"] = "rows"
    doc["ome"]["multiscales"][0]["datasets"][0]["note"] = "raw"
    doc["ome"]["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["extra"] = True
    assert parse_attributes(doc).to_attributes() == doc


def test_tolerant_read_warns_and_keeps_going() -> None:
    doc = {"multiscales": [{"version": "0.4", "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space", "unit": 5}],
                            "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1]}]}, {"path": 1}]}]}  # fmt: skip
    meta = parse_attributes(doc)
    assert meta.kind == "image" and len(meta.multiscales[0].datasets) == 1
    assert meta.multiscales[0].axes[1].unit == "5"
    assert any("datasets[1]" in w for w in meta.warnings) and any("unit" in w for w in meta.warnings)


def test_unknown_version_raises_cleanly() -> None:
    with pytest.raises(UnsupportedVersion, match=r"9\.9"):
        parse_attributes({"ome": {"version": "9.9"}}, where="x.zarr")


def test_upgrade_04_to_05_is_valid_and_keeps_content() -> None:
    v04 = {"multiscales": [dict(IMAGE_05["ome"]["multiscales"][0], version="0.4")],
           "omero": {"channels": [{"label": "DAPI", "color": "0000FF", "window": {"start": 0, "end": 10, "min": 0, "max": 255}}]}}  # fmt: skip
    meta = parse_attributes(v04)
    assert meta.format is V04
    up = upgrade(meta, V05).to_attributes()
    assert up["ome"]["version"] == "0.5" and "version" not in up["ome"]["multiscales"][0]
    assert up["ome"]["omero"] == v04["omero"]
    assert validate_attributes(up).valid
    with pytest.raises(UnsupportedVersion):
        upgrade(parse_attributes(up), V04)


def test_upgrade_03_gains_axes_and_scales_and_06_gains_coordinate_systems() -> None:
    v03 = {"multiscales": [{"version": "0.3", "axes": ["z", "y", "x"], "datasets": [{"path": "0"}, {"path": "1"}]}]}
    v04 = upgrade(parse_attributes(v03), V04).to_attributes()
    assert validate_attributes(v04).valid
    assert v04["multiscales"][0]["axes"][0] == {"name": "z", "type": "space"}
    v06 = upgrade(parse_attributes(v04), V06RC0).to_attributes()
    assert validate_attributes(v06).valid, [f.format() for f in validate_attributes(v06).errors]


def test_level_placement_composes_dataset_and_multiscale_transforms() -> None:
    doc = json.loads(json.dumps(IMAGE_05))
    doc["ome"]["multiscales"][0]["coordinateTransformations"] = [{"type": "scale", "scale": [1, 2, 2]}]
    ms = parse_attributes(doc).multiscales[0]
    assert ms.level_scale_translation(0) == ((1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    assert ms.level_scale_translation(1) == ((1.0, 2.0, 2.0), (0.0, 0.5, 0.5))


def test_rfc5_matrices() -> None:
    notes = Notes()
    seq = parse_transformation({"type": "sequence", "transformations": [
        {"type": "scale", "scale": [2, 3]}, {"type": "translation", "translation": [1, 1]},
        {"type": "mapAxis", "mapAxis": [1, 0]}]}, notes, "t")  # fmt: skip
    point = seq.matrix(2) @ np.array([1.0, 1.0, 1.0])  # type: ignore[operator]
    assert point.tolist() == [4.0, 3.0, 1.0]
    affine = parse_transformation({"type": "affine", "affine": [[1, 2, 3], [4, 5, 6]]}, notes, "t")
    assert affine.matrix(2).tolist() == [[1, 2, 3], [4, 5, 6], [0, 0, 1]]  # type: ignore[union-attr]
    assert compose_scale_translation((seq,), 2) is None  # a permutation is not a scale+translation
    assert parse_transformation({"type": "rotation", "path": "r"}, notes, "t").matrix(2) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(
        ["ome", "version", "multiscales", "axes", "datasets", "path", "coordinateTransformations", "type", "scale",
         "translation", "plate", "wells", "rows", "columns", "well", "images", "image-label", "colors", "labels", "name",
         "omero", "channels", "window", "scene", "coordinateSystems", "input", "output"]) | st.text(max_size=4), children, max_size=5),
    max_leaves=30,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=json_values, version=st.sampled_from(["0.1", "0.3", "0.4", "0.5", "0.6rc0", "9", None]))
def test_fuzz_only_ngff_errors_escape(doc: Any, version: str | None) -> None:
    if isinstance(doc, dict) and version is not None:
        doc = {"ome": dict(doc, version=version)} if version in ("0.5", "0.6rc0", "9") else dict(doc)
    try:
        meta = parse_attributes(doc)
        meta.to_attributes()
    except NGFFError:
        pass
    report = validate_attributes(doc)
    assert isinstance(report.valid, bool)


def test_default_channel_colours_avoid_colours_already_taken() -> None:
    import numpy as np

    import ngffkit
    from ngffkit.metadata.omero import CHANNEL_PALETTE, default_colors

    assert default_colors([None]) == ["FFFFFF"]
    assert default_colors(["00FF00", None, None]) == ["00FF00", "FF00FF", "00FFFF"]
    assert default_colors([None] * 7) == [*CHANNEL_PALETTE, CHANNEL_PALETTE[0]]
    # the writer and the reader take the same defaults: what is written is what is shown
    written = ngffkit.write_image(np.zeros((7, 8, 8), np.uint8), __import__("zarr").storage.MemoryStore(),
                                  axes="cyx", channels=[{"label": "GFP", "color": "00FF00"}, *["x"] * 6])  # fmt: skip
    colours = [c.color for c in written.channels]
    assert colours[0] == "00FF00" and "00FF00" not in colours[1:] and len(set(colours[:6])) == 6
