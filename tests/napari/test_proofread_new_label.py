"""napari's "new label" (key M, the layer controls' *new* button) in ngffkit's editing layers gives an id new to
the whole label image (issue 34): not used in level 0 anywhere, nor in any editing region of this session, nor
handed out before -- pressed on the canvas, painted with the mouse, saved with the dock's Save edits, reopened."""

from __future__ import annotations

import pathlib
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

import ngffkit
from ngffkit.napari import _napari_adapter as adapter

from .test_proofread import canvas_widget, drag, no_question_at_teardown  # noqa: F401  (the autouse fixture)
from .test_proofread_as_biologist import press


def cells(path: pathlib.Path, dtype: Any = np.uint32, top: int = 7) -> np.ndarray:
    """Three planes: the middle one (which is edited) has only object 1, the others objects up to ``top``."""
    pixels = np.zeros((3, 128, 128), dtype)
    pixels[0, 10:30, 10:30] = 1
    pixels[1, 40:60, 40:60] = 1
    pixels[2, 70:90, 70:90] = top
    ngffkit.write_image(np.zeros(pixels.shape, np.uint8), path, axes="zyx", chunks=(1, 64, 64))
    ngffkit.write_labels(pixels, path, "cells", chunks=(1, 64, 64))
    return pixels


class Opened(NamedTuple):
    viewer: Any
    widget: Any  # the Proofread labels dock
    labels: Any  # the multiscale labels layer
    editing: Any  # the editing layer opened over it


def open_and_edit(make_napari_viewer: Any, qtbot: Any, path: pathlib.Path, plane: int = 1) -> Opened:
    """napari with the image, the Proofread labels dock, and plane ``plane`` opened for editing (Ctrl+Alt+E)."""
    from napari.layers import Labels

    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="ngffkit")
    labels = next(layer for layer in viewer.layers if isinstance(layer, Labels))
    _, widget = viewer.window.add_plugin_dock_widget("ngffkit", "Proofread labels")
    return Opened(viewer, widget, labels, edit_plane(qtbot, viewer, labels, plane))


def edit_plane(qtbot: Any, viewer: Any, labels: Any, plane: int) -> Any:
    from qtpy.QtCore import Qt

    viewer.layers.selection.active = labels
    viewer.dims.set_point(0, plane)
    press(qtbot, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    editing = viewer.layers.selection.active
    assert "editing" in editing.name
    return editing


def new_label(qtbot: Any, editing: Any) -> int:
    """Press M on the canvas and wait for the label it selects."""
    from qtpy.QtCore import Qt

    before = editing.selected_label
    press(qtbot, Qt.Key.Key_M)
    qtbot.waitUntil(lambda: editing.selected_label != before, timeout=10_000)
    return int(editing.selected_label)


def paint(qtbot: Any, editing: Any, row: int) -> None:
    """A stroke with the mouse, ``row`` screen pixels below the canvas's middle, in the selected label."""
    canvas = canvas_widget()
    middle_x, middle_y = canvas.width() // 2, canvas.height() // 2
    label = editing.selected_label
    drag(qtbot, canvas, [(middle_x - 20 + 5 * i, middle_y + row) for i in range(8)])
    qtbot.waitUntil(lambda: bool((np.asarray(editing.data) == label).any()), timeout=5_000)


def reopened(make_napari_viewer: Any, path: pathlib.Path) -> np.ndarray:
    """Level 0 of the label image as a fresh napari opens it."""
    from napari.layers import Labels

    fresh = make_napari_viewer()
    fresh.open(str(path / "labels" / "cells"), plugin="ngffkit")
    layer = next(layer for layer in fresh.layers if isinstance(layer, Labels))
    return np.asarray(layer.data[0] if layer.multiscale else layer.data)


def notes(text: str) -> list[str]:
    from napari.utils.notifications import notification_manager

    return [str(n.message) for n in notification_manager.records if text in str(n.message)]


def test_m_paint_m_gives_two_new_ids_and_m_unpainted_keeps_the_id(make_napari_viewer, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qtpy.QtCore import Qt

    path = tmp_path / "cells.zarr"
    cells(path)
    opened = open_and_edit(make_napari_viewer, qtbot, path)
    editing = opened.editing
    assert new_label(qtbot, editing) == 8  # object 7 is on another plane

    told = len(notes("not painted yet"))
    press(qtbot, Qt.Key.Key_M)  # not painted yet: the id stays, and napari's way of saying so
    qtbot.waitUntil(lambda: len(notes("not painted yet")) > told, timeout=5_000)
    assert editing.selected_label == 8

    paint(qtbot, editing, 30)
    assert new_label(qtbot, editing) == 9
    paint(qtbot, editing, 60)
    qtbot.mouseClick(opened.widget.save_button, Qt.MouseButton.LeftButton)
    assert not opened.widget.unsaved
    stored = reopened(make_napari_viewer, path)
    assert (stored[1] == 8).any() and (stored[1] == 9).any()
    assert not np.isin(stored[[0, 2]], [8, 9]).any() and int((stored == 7).sum()) == 400


def test_a_second_region_does_not_reuse_the_first_regions_new_id(make_napari_viewer, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qtpy.QtCore import Qt

    path = tmp_path / "cells.zarr"
    cells(path)
    viewer, widget, labels, first = open_and_edit(make_napari_viewer, qtbot, path, plane=1)
    assert new_label(qtbot, first) == 8
    paint(qtbot, first, 30)

    second = edit_plane(qtbot, viewer, labels, 0)  # another region, the first one unsaved
    buttons = adapter.new_label_buttons(viewer, second)
    if buttons:  # napari 0.9 has a "new" button beside the label: it gives the same id as M
        qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: second.selected_label != 1, timeout=10_000)
        assert second.selected_label == 9
    else:
        assert new_label(qtbot, second) == 9
    paint(qtbot, second, 60)
    qtbot.mouseClick(widget.save_button, Qt.MouseButton.LeftButton)

    third = edit_plane(qtbot, viewer, labels, 2)  # after the save: the saved ids are taken too
    assert new_label(qtbot, third) == 10
    widget.discard()
    stored = reopened(make_napari_viewer, path)
    assert (stored[1] == 8).any() and not (stored[[0, 2]] == 8).any()
    assert (stored[0] == 9).any() and not (stored[[1, 2]] == 9).any()


def test_m_before_the_largest_id_is_known_waits(make_napari_viewer, qtbot, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from qtpy.QtCore import Qt

    from ngffkit.writer import edit_ids

    read_steps = edit_ids.largest_label_steps
    may_read = threading.Event()

    def held(labels: Any) -> Iterator[tuple[int, int, int]]:  # a label image that takes long to read: the test holds it
        may_read.wait(30)
        yield from read_steps(labels)

    monkeypatch.setattr(edit_ids, "largest_label_steps", held)
    path = tmp_path / "cells.zarr"
    cells(path)
    _, widget, _, editing = open_and_edit(make_napari_viewer, qtbot, path)
    told = len(notes("Finding the largest label id"))  # napari keeps every notification of the session
    press(qtbot, Qt.Key.Key_M)
    press(qtbot, Qt.Key.Key_M)  # impatient: still one notification
    qtbot.waitUntil(lambda: len(notes("Finding the largest label id")) > told, timeout=5_000)
    assert editing.selected_label == 1  # no guess meanwhile
    assert len(notes("Finding the largest label id")) == told + 1

    may_read.set()
    qtbot.waitUntil(lambda: editing.selected_label == 8, timeout=10_000)
    assert "largest label id" in widget.status.text() or "New label 8" in widget.status.text()


def test_a_full_uint8_label_image_has_no_new_id(make_napari_viewer, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qtpy.QtCore import Qt

    path = tmp_path / "cells.zarr"
    cells(path, np.uint8, top=255)
    editing = open_and_edit(make_napari_viewer, qtbot, path).editing
    told = len(notes("No new label fits"))
    press(qtbot, Qt.Key.Key_M)
    qtbot.waitUntil(lambda: len(notes("No new label fits")) > told, timeout=10_000)
    assert editing.selected_label == 1
