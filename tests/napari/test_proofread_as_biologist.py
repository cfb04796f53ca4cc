"""Defects a biologist proofreading in napari meets (issue 34, found by the bio34 walk-through), each a test
(a strict xfail while a defect is open): the person zooms, presses Edit labels (Ctrl+Alt+E) and the "new label" key (M)."""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np

import ngffkit

from .test_proofread import canvas_widget, drag, no_question_at_teardown  # noqa: F401  (the autouse fixture)


def press(qtbot: Any, key: Any, modifiers: Any = None) -> None:
    from qtpy.QtCore import Qt

    canvas = canvas_widget()
    canvas.setFocus()
    qtbot.keyClick(canvas, key, modifiers or Qt.KeyboardModifier.NoModifier)


def test_edit_labels_opens_the_region_in_view_of_a_large_plane(make_napari_viewer, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from napari.layers import Labels
    from qtpy.QtCore import Qt

    path: pathlib.Path = tmp_path / "big.zarr"
    labels_pixels = np.zeros((4096, 4096), np.uint32)
    labels_pixels[::64, ::64] = 1
    ngffkit.write_image(np.zeros((4096, 4096), np.uint8), path, axes="yx", chunks=(256, 256), shards=(1024, 1024))
    ngffkit.write_labels(labels_pixels, path, "cells", chunks=(256, 256), shards=(1024, 1024))
    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="ngffkit")
    labels = next(layer for layer in viewer.layers if isinstance(layer, Labels))
    viewer.window.add_plugin_dock_widget("ngffkit", "Proofread labels")
    viewer.layers.selection.active = labels
    viewer.camera.center = (300, 300)  # what zooming with the wheel over the top-left corner does
    viewer.camera.zoom = 4.0
    qtbot.waitUntil(lambda: labels.data_level == 0, timeout=10_000)
    qtbot.wait(200)  # napari updates the level and corners on draw; the defect does not depend on more waiting

    press(qtbot, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    editing = viewer.layers.selection.active
    assert editing is not labels and "editing" in editing.name
    top, left = (int(t) for t in editing.translate)
    height, width = editing.data.shape
    assert top <= 300 < top + height and left <= 300 < left + width, (top, left, height, width)


def test_a_new_label_in_an_editing_layer_is_new_to_the_whole_label_image(make_napari_viewer, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from napari.layers import Labels
    from qtpy.QtCore import Qt

    path: pathlib.Path = tmp_path / "cells.zarr"
    pixels = np.zeros((3, 128, 128), np.uint32)
    pixels[0, 10:30, 10:30] = 1  # the plane shown (the middle one) has only object 1 ...
    pixels[1, 40:60, 40:60] = 1
    pixels[2, 70:90, 70:90] = 2  # ... but the label image already has an object 2 elsewhere
    ngffkit.write_image(np.zeros(pixels.shape, np.uint8), path, axes="zyx", chunks=(1, 64, 64))
    ngffkit.write_labels(pixels, path, "cells", chunks=(1, 64, 64))
    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="ngffkit")
    labels = next(layer for layer in viewer.layers if isinstance(layer, Labels))
    _, widget = viewer.window.add_plugin_dock_widget("ngffkit", "Proofread labels")
    viewer.layers.selection.active = labels
    viewer.dims.set_point(0, 1)
    press(qtbot, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    editing = viewer.layers.selection.active
    assert "editing" in editing.name
    press(qtbot, Qt.Key.Key_M)  # the label image's largest id is read in the background: the id comes with it
    qtbot.waitUntil(lambda: editing.selected_label != 1, timeout=10_000)
    assert editing.selected_label == 3, editing.selected_label

    canvas = canvas_widget()  # the person paints the new cell, saves, and opens the labels again
    middle_x, middle_y = canvas.width() // 2, canvas.height() // 2
    drag(qtbot, canvas, [(middle_x + 80 + 5 * i, middle_y + 80) for i in range(8)])
    qtbot.waitUntil(lambda: bool((np.asarray(editing.data) == 3).any()), timeout=5_000)
    qtbot.mouseClick(widget.save_button, Qt.MouseButton.LeftButton)
    fresh = make_napari_viewer()
    fresh.open(str(path / "labels" / "cells"), plugin="ngffkit")
    reopened = next(layer for layer in fresh.layers if isinstance(layer, Labels))
    stored = np.asarray(reopened.data[0] if reopened.multiscale else reopened.data)
    assert (stored[1] == 3).any() and not (stored[[0, 2]] == 3).any()  # the new cell, on its plane only
    assert int((stored == 2).sum()) == 400  # the object 2 of another plane is whole, and alone


def test_the_editing_layer_keeps_the_units_of_the_labels(make_napari_viewer, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from napari.layers import Labels
    from qtpy.QtCore import Qt

    from ngffkit.samples.examples import write_coins

    path = tmp_path / "coins.ome.zarr"
    write_coins(str(path))  # the docs' example: micrometre axes
    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="ngffkit")
    labels = next(layer for layer in viewer.layers if isinstance(layer, Labels))
    assert str(labels.units[-1]) == "micrometer"
    _, widget = viewer.window.add_plugin_dock_widget("ngffkit", "Proofread labels")
    viewer.layers.selection.active = labels
    qtbot.mouseClick(widget.edit_button, Qt.MouseButton.LeftButton)
    editing = viewer.layers.selection.active
    assert "editing" in editing.name
    assert editing.units == labels.units and editing.axis_labels == labels.axis_labels
