"""Coordinate systems end to end: their names for every version, ``map_points`` through the graph of
transformations (forwards, backwards through inverses, fields), and the older RFC-5 draft forms.

The 0.6rc0 cases are the transformations conformance suite's 24 (``ome-zarr-transformations-conformance`` 0.1.2,
written in an older draft) rewritten in the 0.6rc0 form: input/output as objects, byDimension parts as
``{transformation, inputAxes, outputAxes}``. The suite itself runs in tests/interop/test_transformations_suite.py.
"""

from __future__ import annotations

import json
import pathlib
import re
import warnings
from typing import Any

import numpy as np
import pytest
import zarr

import ngffkit
from ngffkit.metadata.transform_parsing import DRAFT_FORM
from ngffkit.metadata.transforms import ByDimension, DimensionEntry, Scale, Translation

from .builders import array, attrs

YX = [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
ROTATION = [[0.17, -0.985], [0.985, 0.17]]
BIJECTION = {"type": "bijection", "forward": {"type": "translation", "translation": [1, 1]},
             "inverse": {"type": "translation", "translation": [10, 10]}}  # fmt: skip
BY_DIMENSION = {"type": "byDimension", "transformations": [
    {"transformation": {"type": "identity"}, "inputAxes": [0], "outputAxes": [0]},
    {"transformation": {"type": "scale", "scale": [10]}, "inputAxes": [1], "outputAxes": [1]},
]}  # fmt: skip

#: name -> (the transformation from "input" to "output", points in "input", the same points in "output").
CASES: dict[str, tuple[dict[str, Any], list[list[float]], list[list[float]]]] = {
    "identity": ({"type": "identity"}, [[1, 2]], [[1, 2]]),
    "affine_identity": ({"type": "affine", "affine": [[1, 0, 0], [0, 1, 0]]}, [[1, 2]], [[1, 2]]),
    "byDimension": (BY_DIMENSION, [[1, 2]], [[1, 20]]),
    "mapAxis": ({"type": "mapAxis", "mapAxis": [1, 0]}, [[1, 2]], [[2, 1]]),
    "rotation": (
        {"type": "rotation", "rotation": ROTATION},
        [[-1, -1], [0, 0], [1, 1], [2, 2]],
        [[0.815, -1.155], [0.0, 0.0], [-0.815, 1.155], [-1.63, 2.31]],
    ),
    "rotation_identity": ({"type": "rotation", "rotation": [[1, 0], [0, 1]]}, [[1, 2]], [[1, 2]]),
    "scale": ({"type": "scale", "scale": [10, 20]}, [[1, 2]], [[10, 40]]),
    "sequence": (
        {
            "type": "sequence",
            "transformations": [{"type": "scale", "scale": [10, 20]}, {"type": "scale", "scale": [0.1, 0.05]}],
        },
        [[1, 2]],
        [[1, 2]],
    ),
    "translation": ({"type": "translation", "translation": [10, 20]}, [[1, 2]], [[11, 22]]),
}


def scene(path: pathlib.Path, transformations: list[dict[str, Any]], systems: tuple[str, ...] = ("input", "output"),
          version: str = "0.6rc0") -> pathlib.Path:  # fmt: skip
    attrs(path, {"ome": {"version": version, "scene": {
        "coordinateSystems": [{"name": name, "axes": YX} for name in systems],
        "coordinateTransformations": transformations,
    }}}, zarr_format=3)  # fmt: skip
    return path


def between(transformation: dict[str, Any], source: str = "input", target: str = "output") -> dict[str, Any]:
    return {**transformation, "input": {"name": source}, "output": {"name": target}}


def opened(path: pathlib.Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the 0.6rc0 forms are read without a word
        return ngffkit.open(path)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("inverse", [False, True], ids=["forward", "inverse"])
def test_suite_cases_in_their_06rc0_form(tmp_path: pathlib.Path, name: str, inverse: bool) -> None:
    transformation, given, expected = CASES[name]
    node = opened(scene(tmp_path / f"{name}.ome.zarr", [between(transformation)]))
    assert ngffkit.validate(node.url).valid
    if inverse:
        got = node.map_points(expected, source="output", target="input")
        np.testing.assert_allclose(got, given, rtol=1e-3, atol=1e-6)
    else:
        got = node.map_points(given, source="input", target="output")
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-6)


def test_bijection_uses_its_forward_one_way_and_its_inverse_the_other(tmp_path: pathlib.Path) -> None:
    node = opened(scene(tmp_path / "bijection.ome.zarr", [between(BIJECTION)]))
    np.testing.assert_allclose(node.map_points([[1, 2]], source="input", target="output"), [[2, 3]])
    np.testing.assert_allclose(node.map_points([[1, 2]], source="output", target="input"), [[11, 12]])


def test_a_route_through_an_intermediate_system_both_ways(tmp_path: pathlib.Path) -> None:
    steps = [between({"type": "scale", "scale": [2, 4]}, "input", "intermediate"),
             between({"type": "translation", "translation": [1, 1]}, "intermediate", "output")]  # fmt: skip
    node = opened(scene(tmp_path / "path.ome.zarr", steps, ("input", "intermediate", "output")))
    np.testing.assert_allclose(node.map_points([[1, 2]], source="input", target="output"), [[3, 9]])
    np.testing.assert_allclose(node.map_points([[3, 9]], source="output", target="input"), [[1, 2]])


@pytest.mark.parametrize("source, target", [("source", "output"), ("input", "potato")])
def test_an_unknown_system_is_one_error_naming_the_node_and_the_systems(
    tmp_path: pathlib.Path, source: str, target: str
) -> None:
    node = opened(scene(tmp_path / "s.ome.zarr", [between({"type": "identity"})]))
    with pytest.raises(ngffkit.InvalidArgument) as caught:
        node.map_points([[1, 2]], source=source, target=target)
    message = str(caught.value)
    assert "s.ome.zarr" in message and "'input', 'output'" in message
    assert repr(source if source == "source" else target) in message


def test_no_route_and_no_inverse_are_clear_errors(tmp_path: pathlib.Path) -> None:
    steps = [between({"type": "displacements", "path": "field", "interpolation": "linear"}),
             between({"type": "identity"}, "lonely", "lonely2")]  # fmt: skip
    node = opened(scene(tmp_path / "s.ome.zarr", steps, ("input", "output", "lonely", "lonely2")))
    with pytest.raises(ngffkit.InvalidMetadata, match="no chain of transformations connects 'input' to 'lonely'"):
        node.map_points([[1, 2]], source="input", target="lonely")
    with pytest.raises(ngffkit.InvalidMetadata, match=r"displacements transformation .*has no inverse") as caught:
        node.map_points([[1, 2]], source="output", target="input")
    assert "s.ome.zarr" in str(caught.value) and "'output' to 'input'" in str(caught.value)


def test_points_of_the_wrong_dimension_are_refused(tmp_path: pathlib.Path) -> None:
    node = opened(scene(tmp_path / "s.ome.zarr", [between({"type": "identity"})]))
    with pytest.raises(ngffkit.InvalidArgument, match="have 2 coordinates"):
        node.map_points([[1, 2, 3]], source="input", target="output")
    with pytest.raises(ngffkit.InvalidArgument, match="numbers"):
        node.map_points([["a", "b"]], source="input", target="output")


# --- older RFC-5 drafts -----------------------------------------------------------------------------------------


def test_the_draft_forms_read_as_06rc0_with_one_warning_and_a_finding(tmp_path: pathlib.Path) -> None:
    """The suite's own form: version "0.6", input/output as plain names, byDimension parts inline."""
    inline = {"type": "byDimension", "input": "input", "output": "output", "transformations": [
        {"type": "identity", "input_axes": [0], "output_axes": [0]},
        {"type": "scale", "scale": [10], "input_axes": [1], "output_axes": [1]}]}  # fmt: skip
    path = scene(tmp_path / "draft.ome.zarr", [inline], version="0.6")
    with pytest.warns(ngffkit.NGFFWarning) as said:
        node = ngffkit.open(path)
    assert len(said) == 1 and DRAFT_FORM in str(said[0].message) and "'0.6' read as 0.6rc0" in str(said[0].message)
    np.testing.assert_allclose(node.map_points([[1, 2]], source="input", target="output"), [[1, 20]])
    np.testing.assert_allclose(node.map_points([[1, 20]], source="output", target="input"), [[1, 2]])
    report = ngffkit.validate(path)
    assert [f.rule for f in report.findings if f.rule == "rfc5-draft-form"] == ["rfc5-draft-form"]
    assert not report.valid  # the schema still says the draft form is not 0.6rc0


def test_a_draft_form_is_written_back_as_it_was_read(tmp_path: pathlib.Path) -> None:
    part = {"type": "scale", "scale": [2.0], "input_axes": [0], "output_axes": [0]}
    path = scene(tmp_path / "draft.ome.zarr", [{"type": "byDimension", "input": "input", "output": "output",
                 "transformations": [part]}], version="0.6")  # fmt: skip
    with pytest.warns(ngffkit.NGFFWarning):
        node = ngffkit.open(path)
    assert node.metadata.scene.to_json()["coordinateTransformations"][0]["transformations"] == [part]


# --- byDimension has a matrix ------------------------------------------------------------------------------------


def test_by_dimension_has_the_matrix_of_its_parts() -> None:
    """The specification's byDimension1 example: x translated by -1, y scaled by 2."""
    t = ByDimension(transformations=(DimensionEntry(Translation(translation=(-1.0,)), (1,), (1,)),
                                     DimensionEntry(Scale(scale=(2.0,)), (0,), (0,))))  # fmt: skip
    np.testing.assert_array_equal(t.matrix(2), [[2, 0, 0], [0, 1, -1], [0, 0, 1]])


# --- NGFF 0.4 / 0.5: "physical" and one array system per dataset path -----------------------------------------


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_classic_images_have_physical_and_one_array_system_per_level(tmp_path: pathlib.Path, version: str) -> None:
    data = np.arange(64 * 48, dtype=np.uint16).reshape(64, 48)
    ngffkit.write_image(data, tmp_path / "img.zarr", axes="yx", scale={"y": 0.5, "x": 0.25},
                        translation={"y": 10.0, "x": -3.0}, levels=2, version=version)  # fmt: skip
    image = ngffkit.open(tmp_path / "img.zarr")
    assert image.coordinate_systems == ["physical", *image.level_paths]
    lowest = image.level_paths[1]
    indices = np.array([[0, 0], [3, 5], [31, 23]])
    physical = image.map_points(indices, source=lowest, target="physical")
    np.testing.assert_allclose(physical, indices * image.scale(1) + image.translation(1))
    # consistent with Image.read: the level-1 pixel at those indices is at the same place as level 0's there
    back = image.map_points(physical, source="physical", target=image.level_paths[0])
    np.testing.assert_allclose(image.map_points(back, source=image.level_paths[0], target=lowest), indices)
    assert image.read(1)[3, 5] == image.levels[1][3, 5].compute()


def test_06rc0_image_names_its_own_systems_and_reaches_a_second_one(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "img.zarr"
    array(path / "s0", np.zeros((8, 8), dtype="uint8"), zarr_format=3)
    attrs(path, {"ome": {"version": "0.6rc0", "multiscales": [{
        "coordinateSystems": [{"name": "physical", "axes": YX}, {"name": "rotated", "axes": YX}],
        "datasets": [{"path": "s0", "coordinateTransformations": [
            {"type": "scale", "scale": [2, 3], "input": {"path": "s0"}, "output": {"name": "physical"}}]}],
        "coordinateTransformations": [{"type": "mapAxis", "mapAxis": [1, 0], "input": {"name": "physical"},
                                       "output": {"name": "rotated"}}],
    }]}}, zarr_format=3)  # fmt: skip
    image = opened(path)
    assert image.coordinate_systems == ["physical", "rotated", "s0"]
    np.testing.assert_allclose(image.map_points([[1, 1]], source="s0", target="rotated"), [[3, 2]])
    np.testing.assert_allclose(image.map_points([[3, 2]], source="rotated", target="s0"), [[1, 1]])


# --- fields ----------------------------------------------------------------------------------------------------


def field_image(path: pathlib.Path, values: np.ndarray, spacing: float) -> None:
    """A 0.6rc0 displacement field over (y, x): ``values`` is (2, ny, nx), components first."""
    array(path / "s0", values.astype("float32"), zarr_format=3)
    axes = [{"name": "c", "type": "displacement"}, *YX]
    attrs(path, {"ome": {"version": "0.6rc0", "multiscales": [{
        "coordinateSystems": [{"name": "input", "axes": axes}],
        "datasets": [{"path": "s0", "coordinateTransformations": [
            {"type": "scale", "scale": [1, spacing, spacing], "input": {"path": "s0"}, "output": {"name": "input"}}]}],
    }]}}, zarr_format=3)  # fmt: skip


@pytest.mark.parametrize("interpolation, expected", [("linear", [[3.75, 4]]), ("nearest", [[4, 4]])])
def test_a_displacement_field_applies_forwards_with_its_interpolation(
    tmp_path: pathlib.Path, interpolation: str, expected: list[list[float]]
) -> None:
    root = tmp_path / "s.ome.zarr"
    values = np.zeros((2, 4, 4))
    values[0] = np.arange(4)[:, None] * 0.5  # the y displacement grows by 0.5 per pixel row
    field_image(root / "field", values, spacing=2.0)  # a pixel is 2 units: y = 3 is row 1.5
    node = opened(scene(root, [between({"type": "displacements", "path": "field", "interpolation": interpolation})]))
    # y = 3 is row 1.5 of the field (displacements 0.5 and 1.0 on either side); x = 4 is column 2 (none)
    np.testing.assert_allclose(node.map_points([[3, 4]], source="input", target="output"), expected)


def test_a_field_is_inverted_through_a_bijection(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "s.ome.zarr"
    field_image(root / "plus", np.ones((2, 4, 4)), spacing=1.0)
    field_image(root / "minus", -np.ones((2, 4, 4)), spacing=1.0)
    node = opened(scene(root, [between({"type": "bijection",
                                        "forward": {"type": "displacements", "path": "plus"},
                                        "inverse": {"type": "displacements", "path": "minus"}})]))  # fmt: skip
    np.testing.assert_allclose(node.map_points([[1, 1]], source="input", target="output"), [[2, 2]])
    np.testing.assert_allclose(node.map_points([[2, 2]], source="output", target="input"), [[1, 1]])


def test_scene_members_systems_are_reached_through_the_scene(tmp_path: pathlib.Path) -> None:
    """The specification's scene_stitching layout: each tile's "physical" placed in "world" by a translation."""
    root = tmp_path / "stitched.ome.zarr"
    for i in range(2):
        ngffkit.write_image(np.zeros((16, 16), dtype="uint8"), root / f"tile_{i}", axes="yx",
                            scale={"y": 2.0, "x": 2.0}, version="0.6rc0", levels=1)  # fmt: skip
    steps = [{"type": "translation", "translation": list(offset), "input": {"path": f"tile_{i}", "name": "physical"},
              "output": {"name": "world"}} for i, offset in enumerate([(0, 0), (0, 348)])]  # fmt: skip
    attrs(root, {"ome": {"version": "0.6rc0", "scene": {"coordinateTransformations": steps,
          "coordinateSystems": [{"name": "world", "axes": YX}]}}}, zarr_format=3)  # fmt: skip
    node = opened(root)
    member = ngffkit.open(root / "tile_1")
    array_system = f"tile_1/{member.level_paths[0]}"
    assert {"world", "tile_0#physical", "tile_1#physical", array_system} <= set(node.coordinate_systems)
    np.testing.assert_allclose(node.map_points([[1, 1]], source=array_system, target="world"), [[2, 350]])
    np.testing.assert_allclose(node.map_points([[2, 350]], source="world", target="tile_1#physical"), [[2, 2]])
    assert json.loads((root / "zarr.json").read_text())["attributes"]["ome"]["version"] == "0.6rc0"


#: name -> (the transformation with its parameters inline, the array that holds them).
STORED = {
    "scale": ({"type": "scale", "scale": [10, 20]}, np.array([10.0, 20.0])),
    "translation": ({"type": "translation", "translation": [10, 20]}, np.array([10, 20], dtype="int32")),
    "affine": ({"type": "affine", "affine": [[0, 2, 5], [-2, 0, 7]]}, np.array([[0, 2, 5], [-2, 0, 7]], float)),
    "affine with its last row": ({"type": "affine", "affine": [[0, 2, 5], [-2, 0, 7]]},
                                 np.array([[0, 2, 5], [-2, 0, 7], [0, 0, 1]], float)),
    "rotation": ({"type": "rotation", "rotation": ROTATION}, np.array(ROTATION)),
}  # fmt: skip


def stored_scene(root: pathlib.Path, kind: str, values: np.ndarray, *, zarr_format: int = 3) -> pathlib.Path:
    """A scene whose one transformation keeps its parameters in ``coordinateTransformations/input-to-output``, the
    place the specification recommends, written relative to the group that holds the transformation."""
    path = "coordinateTransformations/input-to-output"
    scene(root, [between({"type": kind, "path": path})])
    array(root / path, values, zarr_format=zarr_format)
    return root


@pytest.mark.parametrize("name", STORED)
def test_parameters_kept_in_an_array_map_points_as_inline_ones(tmp_path: pathlib.Path, name: str) -> None:
    inline, values = STORED[name]
    stored = opened(stored_scene(tmp_path / "stored.ome.zarr", inline["type"], values))
    given = opened(scene(tmp_path / "inline.ome.zarr", [between(inline)]))
    points = [[1.0, 2.0], [-3.0, 0.5]]
    for source, target in [("input", "output"), ("output", "input")]:
        np.testing.assert_allclose(stored.map_points(points, source=source, target=target),
                                   given.map_points(points, source=source, target=target), atol=1e-12)  # fmt: skip


def test_a_parameter_array_nested_in_a_sequence(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "s.ome.zarr"
    steps = {"type": "sequence", "transformations": [{"type": "scale", "path": "params/scale"},
                                                     {"type": "translation", "translation": [1, 1]}]}  # fmt: skip
    scene(root, [between(steps)])
    array(root / "params" / "scale", np.array([2.0, 3.0]), zarr_format=3)
    np.testing.assert_allclose(opened(root).map_points([[1, 1]], source="input", target="output"), [[3, 4]])


@pytest.mark.parametrize(
    ("kind", "values", "said"),
    [
        ("affine", np.zeros(6), "a affine keeps its parameters in a 2D array; this one is 1D [6]"),
        ("scale", np.ones((2, 2)), "a scale keeps its parameters in a 1D array; this one is 2D [2, 2]"),
        ("rotation", np.ones((2, 3)), "a rotation array is square"),
        ("translation", np.array([True, False]), "data type bool is not a real number type"),
        ("scale", np.array([1.0, np.nan]), "not finite numbers"),
    ],
)
def test_an_unusable_parameter_array_is_one_error_naming_it(
    tmp_path: pathlib.Path, kind: str, values: np.ndarray, said: str
) -> None:
    node = opened(stored_scene(tmp_path / "s.ome.zarr", kind, values))
    with pytest.raises(ngffkit.InvalidMetadata, match=re.escape(said)) as caught:
        node.map_points([[1, 2]], source="input", target="output")
    assert caught.value.where.endswith("s.ome.zarr/coordinateTransformations/input-to-output")
    assert caught.value.key == f"{kind}.path"


def test_a_missing_parameter_array_is_one_error_naming_it(tmp_path: pathlib.Path) -> None:
    node = opened(scene(tmp_path / "s.ome.zarr", [between({"type": "affine", "path": "nowhere"})]))
    with pytest.raises(ngffkit.InvalidMetadata, match="parameter array 'nowhere' does not exist") as caught:
        node.map_points([[1, 2]], source="input", target="output")
    assert caught.value.where.endswith("s.ome.zarr/nowhere") and caught.value.key == "affine.path"


def test_a_huge_parameter_array_is_refused_from_its_metadata(tmp_path: pathlib.Path) -> None:
    """A billion-value "scale" (8 GB, no chunk written): refused by its shape, before a value is read."""
    root = scene(tmp_path / "s.ome.zarr", [between({"type": "scale", "path": "huge"})])
    zarr.create_array(str(root / "huge"), shape=(10**9,), chunks=(10**6,), dtype="float64", zarr_format=3)
    with pytest.raises(ngffkit.InvalidMetadata, match="holds one value per axis"):
        opened(root).map_points([[1, 2]], source="input", target="output")


def test_a_2d_transformation_of_a_channel_image_acts_on_the_axes_named_like_its_output(tmp_path: pathlib.Path) -> None:
    """A scene's 2D translation from a (c, y, x) image's "physical" into a (y, x) "world" moves y and x and drops
    the channel; the way back is a clear error (the channel cannot be recovered), not a wrong answer."""
    root = tmp_path / "scene.ome.zarr"
    ngffkit.write_image(np.zeros((2, 8, 8), dtype="uint8"), root / "tile", axes="cyx", scale={"y": 2.0, "x": 3.0},
                        version="0.6rc0", levels=1)  # fmt: skip
    step = {"type": "translation", "translation": [10, 20], "input": {"path": "tile", "name": "physical"},
            "output": {"name": "world"}}  # fmt: skip
    attrs(root, {"ome": {"version": "0.6rc0", "scene": {"coordinateTransformations": [step],
          "coordinateSystems": [{"name": "world", "axes": YX}]}}}, zarr_format=3)  # fmt: skip
    node = opened(root)
    np.testing.assert_allclose(node.map_points([[1, 1, 1], [0, 2, 3]], source="tile#physical", target="world"),
                               [[11, 21], [12, 23]])  # fmt: skip
    level0 = ngffkit.open(root / "tile").level_paths[0]
    np.testing.assert_allclose(node.map_points([[1, 1, 1]], source=f"tile/{level0}", target="world"), [[12, 23]])
    with pytest.raises(ngffkit.InvalidMetadata, match="cannot map points from 'world' to 'tile#physical'"):
        node.map_points([[1, 1]], source="world", target="tile#physical")


def test_an_image_placed_on_its_spatial_axes_alone(tmp_path: pathlib.Path) -> None:
    """A (c, y, x) image's own transformation from "physical" to a (y, x) "aligned" system, a 2D affine."""
    root = tmp_path / "image.ome.zarr"
    ngffkit.write_image(np.zeros((2, 8, 8), dtype="uint8"), root, axes="cyx", version="0.6rc0", levels=1)
    document = json.loads((root / "zarr.json").read_text())
    multiscale = document["attributes"]["ome"]["multiscales"][0]
    multiscale["coordinateSystems"].append({"name": "aligned", "axes": YX})
    multiscale["coordinateTransformations"] = [{"type": "affine", "affine": [[0, 1, 5], [1, 0, 7]],
                                                "input": {"name": "physical"}, "output": {"name": "aligned"}}]  # fmt: skip
    (root / "zarr.json").write_text(json.dumps(document))
    image = opened(root)
    np.testing.assert_allclose(image.map_points([[1, 2, 3]], source="physical", target="aligned"), [[8, 9]])


def test_a_scene_input_naming_only_the_image_means_its_first_coordinate_system(tmp_path: pathlib.Path) -> None:
    """``"input": {"path": "tile"}`` -- "the authoritative coordinate system for the respective image is the first
    coordinateSystem defined therein" (0.6rc0): here the image's "physical" (c, y, x), placed in "world" by 2D."""
    root = tmp_path / "scene.ome.zarr"
    ngffkit.write_image(np.zeros((2, 8, 8), dtype="uint8"), root / "tile", axes="cyx", scale={"y": 2.0, "x": 3.0},
                        version="0.6rc0", levels=1)  # fmt: skip
    step = {"type": "scale", "scale": [10, 100], "input": {"path": "tile"}, "output": {"name": "world"}}
    attrs(root, {"ome": {"version": "0.6rc0", "scene": {"coordinateTransformations": [step],
          "coordinateSystems": [{"name": "world", "axes": YX}]}}}, zarr_format=3)  # fmt: skip
    node = opened(root)
    level0 = ngffkit.open(root / "tile").level_paths[0]
    np.testing.assert_allclose(node.map_points([[1, 1, 1]], source=f"tile/{level0}", target="world"), [[20, 300]])
    assert "tile" not in node.coordinate_systems  # no system of that name: it is "tile#physical"


def test_an_image_transform_reads_parameters_kept_in_an_array(tmp_path: pathlib.Path) -> None:
    """A 0.6rc0 image whose level-0 scale is the array ``coordinateTransformations/s0``: its placement (napari's)
    and map_points read it."""
    root = tmp_path / "image.ome.zarr"
    ngffkit.write_image(np.zeros((8, 8), dtype="uint8"), root, axes="yx", version="0.6rc0", levels=1)
    document = json.loads((root / "zarr.json").read_text())
    dataset = document["attributes"]["ome"]["multiscales"][0]["datasets"][0]
    dataset["coordinateTransformations"][0] = {**dataset["coordinateTransformations"][0], "scale": None,
                                               "path": "coordinateTransformations/s0"}  # fmt: skip
    del dataset["coordinateTransformations"][0]["scale"]
    (root / "zarr.json").write_text(json.dumps(document))
    array(root / "coordinateTransformations" / "s0", np.array([0.5, 4.0]), zarr_format=3)
    image = ngffkit.open(root)
    np.testing.assert_allclose(image.transform(0), np.diag([0.5, 4.0, 1.0]))
    np.testing.assert_allclose(image.map_points([[2, 2]], source=dataset["path"], target="physical"), [[1, 8]])
