"""A 0.6rc0 scene opened in napari (``viewer.open(path, plugin="ngffkit")``): every image placed in one coordinate
system, so that landmarks mapped by each layer's ``data_to_world`` land where ``Scene.map_points`` says."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
import zarr

import ngffkit

from .conftest import in_view, notification_count, notifications_since
from .test_open import OME_XML, write_bioformats2raw

YX = [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
#: Landmarks in each image's level-0 pixel indices.
LANDMARKS = np.array([[0.0, 0.0], [3.0, 5.0], [10.5, 2.25], [15.0, 15.0]])


def write_scene(root: pathlib.Path, placements: dict[str, dict], field: bool = False) -> pathlib.Path:
    """Images ``tile_*`` (0.6rc0, two levels, scale 2 x 3) placed in "world" by ``placements``."""
    steps = []
    for path, transformation in placements.items():
        ngffkit.write_image(np.random.default_rng(0).integers(0, 255, (32, 32), dtype=np.uint8), root / path,
                            axes="yx", scale={"y": 2.0, "x": 3.0}, levels=2, version="0.6rc0")  # fmt: skip
        steps.append({**transformation, "input": {"path": path, "name": "physical"}, "output": {"name": "world"}})
    document = {"zarr_format": 3, "node_type": "group", "attributes": {"ome": {"version": "0.6rc0", "scene": {
        "coordinateSystems": [{"name": "world", "axes": YX}], "coordinateTransformations": steps}}}}  # fmt: skip
    (root / "zarr.json").write_text(json.dumps(document))
    return root


def test_scene_images_are_placed_where_map_points_says(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    angle = np.deg2rad(30)
    rotation = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    root = write_scene(tmp_path / "scene.ome.zarr", {
        "tile_0": {"type": "translation", "translation": [0, 0]},
        "tile_1": {"type": "translation", "translation": [0, 96]},
        "tile_2": {"type": "sequence", "transformations": [{"type": "rotation", "rotation": rotation},
                                                           {"type": "translation", "translation": [64, 10]}]},
    })  # fmt: skip
    viewer = make_napari_viewer()
    layers = viewer.open(str(root), plugin="ngffkit")
    scene = ngffkit.open(root)
    assert len(layers) == 3
    for layer, path in zip(layers, ["tile_0", "tile_1", "tile_2"], strict=True):
        assert layer.multiscale and len(layer.data) == 2
        level0 = ngffkit.open(root / path).level_paths[0]
        expected = scene.map_points(LANDMARKS, source=f"{path}/{level0}", target="world")
        napari_world = np.array([layer.data_to_world(point) for point in LANDMARKS])
        np.testing.assert_allclose(napari_world, expected, atol=1e-6)
    # translations stay napari's scale/translate (its multiscale works as for any image); the rotation is an affine
    assert np.allclose(layers[1].scale, [2, 3]) and np.allclose(layers[1].translate, [0, 96])
    assert not np.allclose(layers[2].affine.affine_matrix, np.eye(3))


def test_a_scene_image_placed_by_a_field_opens_unwarped_with_one_notification(
    make_napari_viewer,  # type: ignore[no-untyped-def]
    tmp_path: pathlib.Path,
) -> None:
    root = write_scene(tmp_path / "scene.ome.zarr", {
        "tile_0": {"type": "translation", "translation": [0, 0]},
        "tile_1": {"type": "displacements", "path": "tile_1_field", "interpolation": "linear"},
    })  # fmt: skip
    viewer = make_napari_viewer()
    start = notification_count()
    layers = viewer.open(str(root), plugin="ngffkit")
    said = [m for m in notifications_since(start) if "unwarped" in m]
    assert len(said) == 1 and "tile_1" in said[0] and "tile_0" not in said[0].split("unwarped")[1]
    image = ngffkit.open(root / "tile_1")
    np.testing.assert_allclose([layers[1].data_to_world(p) for p in LANDMARKS],
                               image.map_points(LANDMARKS, source=image.level_paths[0], target="physical"), atol=1e-6)  # fmt: skip


def test_the_dock_places_every_scene_image_in_the_chosen_system(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    root = write_scene(tmp_path / "scene.ome.zarr", {
        "tile_0": {"type": "translation", "translation": [0, 0]},
        "tile_1": {"type": "translation", "translation": [0, 96]},
    })  # fmt: skip
    document = json.loads((root / "zarr.json").read_text())
    ome = document["attributes"]["ome"]["scene"]
    ome["coordinateSystems"].append({"name": "atlas", "axes": YX})
    ome["coordinateTransformations"].append({"type": "affine", "affine": [[0, 2, 5], [-2, 0, 7]],
                                             "input": {"name": "world"}, "output": {"name": "atlas"}})  # fmt: skip
    (root / "zarr.json").write_text(json.dumps(document))
    viewer = make_napari_viewer()
    layers = viewer.open(str(root), plugin="ngffkit")
    _, dock = viewer.window.add_plugin_dock_widget("ngffkit", "Coordinate systems")
    assert dock.system.value == "world" and {"world", "atlas", "tile_0#physical"} <= set(dock.system.choices)
    scene = ngffkit.open(root)
    for system in ["atlas", "tile_0#physical", "world"]:
        dock.system.value = system
        for layer, path in zip(layers, ["tile_0", "tile_1"], strict=True):
            level0 = ngffkit.open(root / path).level_paths[0]
            expected = scene.map_points(LANDMARKS, source=f"{path}/{level0}", target=system)
            np.testing.assert_allclose([layer.data_to_world(p) for p in LANDMARKS], expected, atol=1e-6)


ANGLE = np.deg2rad(20)
ROTATION_2D = [[np.cos(ANGLE), -np.sin(ANGLE)], [np.sin(ANGLE), np.cos(ANGLE)]]
#: Ways a 0.6rc0 scene places images with a channel axis (c, y, x) in a y/x "world": each is linear on y and x.
CHANNEL_PLACEMENTS = {
    "translation on y,x": {"type": "translation", "translation": [4, 96]},
    "scale on y,x": {"type": "scale", "scale": [0.5, 2]},
    "affine on y,x": {"type": "affine", "affine": [[*ROTATION_2D[0], 64], [*ROTATION_2D[1], 10]]},
    "sequence on y,x": {"type": "sequence", "transformations": [{"type": "rotation", "rotation": ROTATION_2D},
                                                                {"type": "translation", "translation": [3, 7]}]},
    "byDimension dropping c": {"type": "byDimension", "transformations": [
        {"transformation": {"type": "affine", "affine": [[1, 0.5, 2], [0, 2, -3]]}, "inputAxes": [1, 2],
         "outputAxes": [0, 1]}]},
    "mapAxis dropping c": {"type": "mapAxis", "mapAxis": [2, 1]},
}  # fmt: skip


def write_channel_scene(root: pathlib.Path, transformation: dict) -> pathlib.Path:
    """Two images c, y, x (two channels, two levels): tile_0 at the origin, tile_1 placed by ``transformation``,
    each from its own "physical" (c, y, x) into the scene's "world" (y, x), as the specification's scenes do."""
    steps = []
    for path, step in {"tile_0": {"type": "translation", "translation": [0, 0]}, "tile_1": transformation}.items():
        pixels = np.random.default_rng(1).integers(0, 255, (2, 32, 32), dtype=np.uint8)
        ngffkit.write_image(pixels, root / path, axes="cyx", scale={"y": 2.0, "x": 3.0}, levels=2, version="0.6rc0")
        steps.append({**step, "input": {"path": path, "name": "physical"}, "output": {"name": "world"}})
    document = {"zarr_format": 3, "node_type": "group", "attributes": {"ome": {"version": "0.6rc0", "scene": {
        "coordinateSystems": [{"name": "world", "axes": YX}], "coordinateTransformations": steps}}}}  # fmt: skip
    (root / "zarr.json").write_text(json.dumps(document))
    return root


@pytest.mark.parametrize("placed_by", CHANNEL_PLACEMENTS)
def test_a_2d_scene_transformation_places_images_with_a_channel_axis(
    make_napari_viewer,  # type: ignore[no-untyped-def]
    tmp_path: pathlib.Path,
    placed_by: str,
) -> None:
    root = write_channel_scene(tmp_path / "scene.ome.zarr", CHANNEL_PLACEMENTS[placed_by])
    viewer = make_napari_viewer()
    start = notification_count()
    layers = viewer.open(str(root), plugin="ngffkit")
    assert not [m for m in notifications_since(start) if "unwarped" in m or "not linear" in m]
    scene = ngffkit.open(root)
    assert len(layers) == 4  # two images, each split into its two channels
    for layer in layers:
        path = layer.metadata["ngff_scene_source"].split("/")[0]
        level0 = ngffkit.open(root / path).level_paths[0]
        assert layer.multiscale and layer.ndim == 2
        for channel in (0, 1):
            in_array = np.insert(LANDMARKS, 0, channel, axis=1)
            expected = scene.map_points(in_array, source=f"{path}/{level0}", target="world")
            napari_world = np.array([layer.data_to_world(point) for point in LANDMARKS])
            np.testing.assert_allclose(napari_world, expected, atol=1e-6)


def test_a_scene_transformation_with_its_parameters_in_an_array_places_the_image(
    make_napari_viewer,  # type: ignore[no-untyped-def]
    tmp_path: pathlib.Path,
) -> None:
    """0.6rc0: an affine whose matrix is the array ``coordinateTransformations/tile_1`` of the scene."""
    matrix = np.array([[*ROTATION_2D[0], 64], [*ROTATION_2D[1], 10]])
    root = write_channel_scene(tmp_path / "scene.ome.zarr", {"type": "affine",
                                                             "path": "coordinateTransformations/tile_1"})  # fmt: skip
    stored = zarr.create_array(str(root / "coordinateTransformations" / "tile_1"), shape=matrix.shape, dtype="f8")
    stored[...] = matrix
    viewer = make_napari_viewer()
    start = notification_count()
    layers = viewer.open(str(root), plugin="ngffkit")
    assert not [m for m in notifications_since(start) if "unwarped" in m or "not linear" in m]
    scene = ngffkit.open(root)
    tile_1 = [layer for layer in layers if layer.metadata["ngff_scene_source"].startswith("tile_1/")]
    assert len(tile_1) == 2
    level0 = ngffkit.open(root / "tile_1").level_paths[0]
    expected = scene.map_points(np.insert(LANDMARKS, 0, 0, axis=1), source=f"tile_1/{level0}", target="world")
    np.testing.assert_allclose(expected[0], matrix[:, 2])  # pixel (0, 0) of tile_1 is the affine's translation
    for layer in tile_1:
        np.testing.assert_allclose([layer.data_to_world(p) for p in LANDMARKS], expected, atol=1e-6)


def docked(viewer, qtbot):  # type: ignore[no-untyped-def]
    """The coordinate-systems dock the reader docked (napari hands back the open one; it docks it only once)."""
    qtbot.waitUntil(lambda: any("Coordinate systems" in name for name in viewer.window.dock_widgets))
    _, dock = viewer.window.add_plugin_dock_widget("ngffkit", "Coordinate systems")
    return dock


def test_every_series_is_in_view_beside_the_dock(make_napari_viewer, qtbot, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    """The series laid side by side are all in view once the dock has narrowed the canvas (the view was fitted
    before, to the wider canvas: the second series was off screen)."""
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1300, 760)
    series = viewer.open(str(write_bioformats2raw(tmp_path / "scan.zarr", OME_XML)), plugin="ngffkit")
    docked(viewer, qtbot)
    qtbot.waitUntil(lambda: in_view(viewer, series), timeout=10_000)


def test_the_dock_the_reader_docks_lays_out_series_and_places_scenes(  # type: ignore[no-untyped-def]
    make_napari_viewer, qtbot, tmp_path: pathlib.Path, shoot
) -> None:
    """One dock for both groups: a bioformats2raw container's series, side by side or one at a time, and a
    scene's coordinate system -- the series laid out again by the code that laid them out first."""
    viewer = make_napari_viewer(show=True)
    series = viewer.open(str(write_bioformats2raw(tmp_path / "scan.zarr", OME_XML)), plugin="ngffkit")
    dock = docked(viewer, qtbot)
    qtbot.waitUntil(lambda: dock.series.visible)  # shown with the dock; the scene's choice is not offered
    assert not dock.system.visible
    assert dock.series.value == "side by side"
    side_by_side = [layer.extent.world.copy() for layer in series]
    assert side_by_side[1][0, -1] > side_by_side[0][1, -1]  # the second series starts right of the first
    shoot(viewer, "side-by-side")

    dock.series.value = "one at a time"
    assert [layer.visible for layer in series] == [True, False, False]
    np.testing.assert_allclose(series[1].extent.world[0], [0, 0], atol=1e-9)  # back where its metadata puts it
    pixels = shoot(viewer, "one-at-a-time")
    columns = np.nonzero(pixels[..., :3].max(axis=(0, 2)) > 20)[0]
    assert np.diff(columns).max() == 1  # one picture, no gap

    dock.series.value = "side by side"
    assert all(layer.visible for layer in series)
    for layer, before in zip(series, side_by_side, strict=True):
        np.testing.assert_allclose(layer.extent.world, before)

    scene_root = write_channel_scene(tmp_path / "scene.ome.zarr", {"type": "translation", "translation": [0, 200]})
    placed = viewer.open(str(scene_root), plugin="ngffkit")
    qtbot.waitUntil(lambda: dock.system.visible)
    assert dock is docked(viewer, qtbot) and dock.system.value == "world" and dock.series.visible
    world = [layer.extent.world.copy() for layer in placed]
    start = notification_count()
    dock.system.value = "tile_1#physical"  # tile_0's 2D step cannot come back to (c, y, x): it stays, one notification
    said = [m for m in notifications_since(start) if "unwarped" in m]
    assert len(said) == 1 and "tile_0" in said[0] and "no inverse" in said[0], said
    np.testing.assert_allclose(placed[0].extent.world, world[0])
    dock.system.value = "world"
    for layer, before in zip(placed, world, strict=True):
        np.testing.assert_allclose(layer.extent.world, before)
    assert [layer.visible for layer in series] == [True, True, True]  # the scene's choice leaves the series be


def test_a_scene_parameter_array_with_a_giant_chunk_is_one_notification_naming_it(
    make_napari_viewer,  # type: ignore[no-untyped-def]
    tmp_path: pathlib.Path,
) -> None:
    """Issue 31's review: six numbers kept in one chunk of 2^16 rows (1.5 MiB decoded; a GiB is as cheap to write)
    are refused from the array's metadata; napari says so once, naming the array and the key, with no traceback."""
    root = write_channel_scene(tmp_path / "scene.ome.zarr", {"type": "affine",
                                                             "path": "coordinateTransformations/tile_1"})  # fmt: skip
    stored = zarr.create_array(str(root / "coordinateTransformations" / "tile_1"), shape=(2, 3), dtype="f8",
                               chunks=(2**16, 3))  # fmt: skip
    stored[...] = np.array([[1.0, 0, 64], [0, 1.0, 10]])
    viewer = make_napari_viewer()
    start = notification_count()
    viewer.open(str(root), plugin="ngffkit")
    said = notifications_since(start)
    named = [m for m in said if "tile_1" in m and "affine.path" in m and "chunks" in m]
    assert len(named) == 1, said
    assert "Traceback" not in named[0]
