"""Format objects: detection of every version, and the facts the rest of the library asks for."""

from __future__ import annotations

import pytest

from ngffkit import UnsupportedVersion
from ngffkit.formats import FORMATS, V01, V03, V04, V05, V06RC0, detect, get_format


@pytest.mark.parametrize(
    ("attributes", "expected", "source"),
    [
        ({"ome": {"version": "0.5", "multiscales": []}}, V05, "ome.version"),
        ({"ome": {"version": "0.6rc0", "scene": {}}}, V06RC0, "ome.version"),
        ({"multiscales": [{"version": "0.4"}]}, V04, "multiscales[0].version"),
        ({"multiscales": [{"version": "0.3"}]}, V03, "multiscales[0].version"),
        ({"multiscales": [{"version": "0.1"}]}, V01, "multiscales[0].version"),
        ({"plate": {"version": "0.4"}}, V04, "plate.version"),
        ({"well": {"version": "0.3"}}, V03, "well.version"),
        ({"image-label": {"version": "0.4"}}, V04, "image-label.version"),
    ],
)
def test_detect_stated_version(attributes: dict, expected: object, source: str) -> None:
    det = detect(attributes)
    assert det.format is expected and det.source == source and not det.unknown


def test_v05_version_lives_in_ome_not_in_multiscales() -> None:
    # ome-zarr-py's known bug: it looked for multiscales[0].version and misread 0.5 data.
    det = detect({"ome": {"version": "0.5", "multiscales": [{"version": "0.4"}]}})
    assert det.format is V05


def test_unstated_version_uses_assumption_then_zarr_format() -> None:
    assert detect({"multiscales": [{}]}, assume=V03).format is V03
    assert detect({"multiscales": [{}]}, zarr_format=2).format is V04
    assert detect({"ome": {"multiscales": []}}).format is V05
    assert detect({}).stated is None


def test_unknown_version_is_reported_not_raised() -> None:
    det = detect({"ome": {"version": "9.9"}})
    assert det.unknown and det.format is None and det.stated == "9.9"
    with pytest.raises(UnsupportedVersion, match=r"9\.9"):
        get_format("9.9")


def test_format_facts() -> None:
    assert [f.version for f in FORMATS] == ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6rc0"]
    assert [f.zarr_format for f in FORMATS] == [2, 2, 2, 2, 3, 3]
    assert V04.namespace is None and V05.namespace == "ome"
    assert not V03.has_transforms and V04.has_scale_translation and V06RC0.has_coordinate_systems
    assert V05.is_newer_than(V04) and not V04.is_newer_than(V05)
    assert V05.wrap({"labels": ["a"]}) == {"ome": {"version": "0.5", "labels": ["a"]}}
    assert V04.wrap({"labels": ["a"]}) == {"labels": ["a"]}


@pytest.mark.parametrize(
    ("path", "v05", "v06"),
    [("0", True, True), ("a_b.c-d", False, True), ("..", False, False), ("__x", False, False), ("a/b", False, False)],
)
def test_field_path_patterns(path: str, v05: bool, v06: bool) -> None:
    assert V05.field_path_ok(path) is v05
    assert V06RC0.field_path_ok(path) is v06
