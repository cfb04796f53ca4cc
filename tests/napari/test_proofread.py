"""Proofreading an OME-Zarr's labels in napari (issue 34b), the way a person does it: open the image, dock
*Proofread labels*, press *Edit labels*, paint with napari's own brush by dragging the mouse on the canvas, press
*Save edits*, reopen in a fresh viewer -- level 0 holds the strokes, every lower level equals a full rebuild."""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np
import pytest

import ngffkit

SHAPE = (3, 256, 320)


@pytest.fixture(autouse=True)
def no_question_at_teardown(make_napari_viewer: Any) -> Any:
    """A test that fails with edits unsaved must not leave napari's closing (the viewer fixture's teardown) waiting
    on the 'Unsaved label edits' question for good: whatever is unsaved then is discarded first."""
    yield
    from qtpy.QtWidgets import QApplication

    from ngffkit.napari._proofread import ProofreadWidget

    for widget in QApplication.allWidgets():
        if isinstance(widget, ProofreadWidget) and widget.unsaved:
            widget.discard()


def labelled_image(root: pathlib.Path, version: str) -> pathlib.Path:
    path = root / "img.zarr"
    storage: dict[str, Any] = {"chunks": (1, 32, 32)}
    if version == "0.5":
        storage["shards"] = (1, 64, 64)
    ngffkit.write_image(np.zeros(SHAPE, np.uint8), path, axes="zyx", levels=3, version=version, **storage)
    labels = np.zeros(SHAPE, np.uint32)
    labels[:, 40:120, 50:150] = 4
    labels[:, 150:230, 180:300] = 6
    ngffkit.write_labels(labels, path, "cells", colors="auto", **storage)
    return path


def canvas_widget() -> Any:
    from qtpy.QtWidgets import QApplication

    return next(w for w in QApplication.allWidgets() if type(w).__name__ == "CanvasBackendDesktop" and w.isVisible())


def drag(qtbot: Any, canvas: Any, points: list[tuple[int, int]]) -> None:
    """A real drag with the left button held: press, moves with the button down, release (Qt mouse events sent
    to the canvas widget, as a mouse makes them)."""
    from qtpy.QtCore import QEvent, QPoint, QPointF, Qt
    from qtpy.QtGui import QMouseEvent
    from qtpy.QtWidgets import QApplication

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton

    def send(kind: Any, x: int, y: int, button: Any, buttons: Any) -> None:
        local = QPointF(x, y)
        event = QMouseEvent(kind, local, QPointF(canvas.mapToGlobal(QPoint(x, y))), button, buttons,
                            Qt.KeyboardModifier.NoModifier)  # fmt: skip
        QApplication.sendEvent(canvas, event)
        qtbot.wait(10)

    (x0, y0), *rest = points
    send(QEvent.Type.MouseMove, x0, y0, none, none)
    send(QEvent.Type.MouseButtonPress, x0, y0, left, left)
    for x, y in rest:
        send(QEvent.Type.MouseMove, x, y, none, left)
    send(QEvent.Type.MouseButtonRelease, *rest[-1], left, none)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_paint_with_the_mouse_save_and_reopen(make_napari_viewer, qtbot, tmp_path, version) -> None:  # type: ignore[no-untyped-def]
    from napari.layers import Labels
    from qtpy.QtCore import Qt

    path = labelled_image(tmp_path, version)
    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="ngffkit")
    labels = next(layer for layer in viewer.layers if isinstance(layer, Labels))
    assert labels.multiscale  # napari cannot paint here: the reason for the editing layer
    _, widget = viewer.window.add_plugin_dock_widget("ngffkit", "Proofread labels")
    viewer.reset_view()
    qtbot.waitUntil(lambda: np.asarray(labels.corner_pixels)[1, -1] > 0, timeout=10_000)
    viewer.layers.selection.active = labels

    qtbot.mouseClick(widget.edit_button, Qt.MouseButton.LeftButton)
    editing = viewer.layers[-1]
    assert isinstance(editing, Labels) and not editing.multiscale and editing is not labels
    box = widget.sessions[labels.metadata["ngff_url"]].layers[0][1]
    assert editing.data.shape == tuple(s.stop - s.start for s in box)
    np.testing.assert_array_equal(editing.data, np.asarray(labels.data[0][box]))  # exactly what is under it
    assert editing.mode == "paint"
    editing.selected_label = 9
    editing.brush_size = 12

    canvas = canvas_widget()
    middle_x, middle_y = canvas.width() // 2, canvas.height() // 2
    drag(qtbot, canvas, [(middle_x - 60 + 10 * i, middle_y + (i % 3)) for i in range(13)])
    qtbot.waitUntil(lambda: int((np.asarray(editing.data) == 9).sum()) > 100, timeout=5_000)
    painted = np.asarray(editing.data).copy()
    assert (painted != np.asarray(labels.data[0][box])).any()

    qtbot.mouseClick(widget.save_button, Qt.MouseButton.LeftButton)
    assert editing not in viewer.layers and not widget.unsaved
    expected = np.asarray(ngffkit.open(path / "labels" / "cells").read(0))  # type: ignore[union-attr]
    np.testing.assert_array_equal(expected[box], painted)
    np.testing.assert_array_equal(np.asarray(labels.data[0][box]), painted)  # the open layer shows it too

    ngffkit.write_labels(expected, path, "rebuilt", **({"shards": (1, 64, 64)} if version == "0.5" else {}),
                         chunks=(1, 32, 32))  # fmt: skip
    rebuilt = ngffkit.open(path / "labels" / "rebuilt")
    fresh = make_napari_viewer()
    fresh.open(str(path / "labels" / "cells"), plugin="ngffkit")
    reopened = next(layer for layer in fresh.layers if isinstance(layer, Labels))
    for k, level in enumerate(reopened.data):
        np.testing.assert_array_equal(np.asarray(level), rebuilt.read(k), err_msg=f"level {k}")  # type: ignore[union-attr]


def test_discard_drops_the_edits_and_a_conflict_keeps_them(make_napari_viewer, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from napari.layers import Labels
    from qtpy.QtCore import Qt

    path = labelled_image(tmp_path, "0.5")
    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="ngffkit")
    labels = next(layer for layer in viewer.layers if isinstance(layer, Labels))
    _, widget = viewer.window.add_plugin_dock_widget("ngffkit", "Proofread labels")
    viewer.layers.selection.active = labels

    editing = widget.edit()
    box = widget.sessions[labels.metadata["ngff_url"]].layers[0][1]
    before = np.asarray(ngffkit.open(path / "labels" / "cells").read(0))  # type: ignore[union-attr]
    editing.data[...] = 7
    qtbot.mouseClick(widget.discard_button, Qt.MouseButton.LeftButton)
    assert editing not in viewer.layers
    np.testing.assert_array_equal(ngffkit.open(path / "labels" / "cells").read(0), before)  # type: ignore[union-attr]

    canvas = canvas_widget()
    canvas.setFocus()
    count = len(viewer.layers)
    qtbot.keyClick(canvas, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: len(viewer.layers) == count + 1, timeout=5_000)  # Ctrl+Alt+E opens the region too
    editing = viewer.layers[-1]
    assert isinstance(editing, Labels) and not editing.multiscale
    box = widget.sessions[labels.metadata["ngff_url"]].layers[0][1]
    z, y, x = (s.start for s in box)
    data = np.asarray(editing.data)
    data[0, 5:15, 5:15] = 8
    editing.data = data
    ngffkit.write_region(path / "labels" / "cells", (z, slice(y, y + 3), slice(x, x + 3)), 3)  # someone else
    widget.save()
    assert editing in viewer.layers and widget.unsaved  # refused: the edits stay in their layer
    assert "someone else" in widget.status.text()
    widget.save()  # asked again: my strokes over their change
    stored = np.asarray(ngffkit.open(path / "labels" / "cells").read(0))  # type: ignore[union-attr]
    assert stored[z, y + 10, x + 10] == 8 and stored[z, y + 1, x + 1] == 3


def test_new_labels_for_an_image_without_any_then_paint_and_save(make_napari_viewer, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from napari.layers import Image, Labels
    from qtpy.QtCore import Qt

    path = tmp_path / "plain.zarr"
    ngffkit.write_image(np.zeros(SHAPE, np.uint8), path, axes="zyx", levels=3, scale=(2.0, 0.5, 0.5),
                        translation=(0.0, 10.0, 20.0), chunks=(1, 32, 32), shards=(1, 64, 64), version="0.5")  # fmt: skip
    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="ngffkit")
    image = next(layer for layer in viewer.layers if isinstance(layer, Image))
    _, widget = viewer.window.add_plugin_dock_widget("ngffkit", "Proofread labels")
    viewer.layers.selection.active = image
    qtbot.mouseClick(widget.new_button, Qt.MouseButton.LeftButton)
    labels = next(layer for layer in viewer.layers if isinstance(layer, Labels))
    assert labels.multiscale and labels.metadata["ngff_url"].endswith("plain.zarr/labels/labels")
    np.testing.assert_allclose(labels.scale, image.scale)
    np.testing.assert_allclose(labels.translate, image.translate)
    opened = ngffkit.open(path)
    assert isinstance(opened, ngffkit.Image) and opened.label_names == ("labels",)
    chunk_files = [p for p in (path / "labels" / "labels").rglob("c/*") if p.is_file()]
    assert chunk_files == []  # lazily backed: nothing but metadata until something is painted

    editing = widget.edit()
    data = np.asarray(editing.data)
    data[0, 2:12, 3:9] = 5
    editing.data = data
    box = widget.sessions[labels.metadata["ngff_url"]].layers[0][1]
    widget.save()
    stored = np.asarray(ngffkit.open(path / "labels" / "labels").read(0))  # type: ignore[union-attr]
    z, y, x = (s.start for s in box)
    assert stored[z, y + 2 : y + 12, x + 3 : x + 9].min() == 5 and int((stored == 5).sum()) == 60


def test_closing_napari_with_unsaved_edits_asks(make_napari_viewer, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from napari.layers import Labels
    from qtpy.QtCore import QTimer
    from qtpy.QtGui import QCloseEvent
    from qtpy.QtWidgets import QApplication, QMessageBox

    from ngffkit.napari._napari_adapter import main_window

    path = labelled_image(tmp_path, "0.5")
    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="ngffkit")
    labels = next(layer for layer in viewer.layers if isinstance(layer, Labels))
    _, widget = viewer.window.add_plugin_dock_widget("ngffkit", "Proofread labels")
    viewer.layers.selection.active = labels
    editing = widget.edit()
    data = np.asarray(editing.data)
    data[0, :4, :4] = 9
    editing.data = data
    asked: list[str] = []

    def answer(button: QMessageBox.StandardButton) -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        asked.append(box.text())
        box.button(button).click()

    window = main_window(viewer)
    QTimer.singleShot(200, lambda: answer(QMessageBox.StandardButton.Cancel))
    window.close()
    assert asked and "not saved" in asked[0] and window.isVisible() and editing in viewer.layers
    QTimer.singleShot(200, lambda: answer(QMessageBox.StandardButton.Save))
    closing = QCloseEvent()  # offered to the dock's filter alone: the fixture closes napari itself at the end
    assert widget._asker.eventFilter(window, closing) is False and closing.isAccepted()
    assert len(asked) == 2 and not widget.unsaved
    stored = np.asarray(ngffkit.open(path / "labels" / "cells").read(0))  # type: ignore[union-attr]
    assert int((stored == 9).sum()) == 16


@pytest.mark.network
def test_paint_and_save_labels_on_s3(make_napari_viewer, qtbot, moto_server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Labels on S3 (moto's server), with credentials that may write, from the environment: the strokes go up as
    conditional PUTs of the changed shards, and the open layer -- drawn by the responsive reader from fetched
    planes -- shows them after the save."""
    import boto3
    from napari.layers import Labels

    for name, value in {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_ENDPOINT_URL": moto_server}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    boto3.client("s3", endpoint_url=moto_server).create_bucket(Bucket="proofread")
    options = {"client_kwargs": {"endpoint_url": moto_server}, "skip_instance_cache": True}
    image = "s3://proofread/img.zarr"
    ngffkit.write_image(np.zeros(SHAPE, np.uint8), image, axes="zyx", levels=3, chunks=(1, 32, 32),
                        shards=(1, 64, 64), storage_options=options)  # fmt: skip
    labels_data = np.zeros(SHAPE, np.uint32)
    labels_data[:, 40:120, 50:150] = 4
    ngffkit.write_labels(labels_data, image, "cells", chunks=(1, 32, 32), shards=(1, 64, 64), storage_options=options)

    viewer = make_napari_viewer(show=True)
    viewer.open(image, plugin="ngffkit")
    qtbot.waitUntil(lambda: any(isinstance(layer, Labels) for layer in viewer.layers), timeout=30_000)
    labels = next(layer for layer in viewer.layers if isinstance(layer, Labels))
    _, widget = viewer.window.add_plugin_dock_widget("ngffkit", "Proofread labels")
    viewer.layers.selection.active = labels
    editing = widget.edit()
    box = widget.sessions[labels.metadata["ngff_url"]].layers[0][1]
    z, y, x = (s.start for s in box)
    data = np.asarray(editing.data)
    data[0, 50 - y : 60 - y, 60 - x : 70 - x] = 9  # inside object 4
    editing.data = data
    assert widget.save() > 0 and not widget.unsaved
    stored = ngffkit.open("s3://proofread/img.zarr/labels/cells", storage_options=options).read(0)  # type: ignore[union-attr]
    assert int((stored == 9).sum()) == 100 and stored[z, 55, 65] == 9
    world = np.asarray(labels.translate) + np.asarray([z, 55, 65]) * np.asarray(labels.scale)
    shown: list[Any] = []

    def drawn_value() -> Any:  # a multiscale layer answers (level, value)
        value = labels.get_value(world)
        shown.append(value)
        return value[1] if isinstance(value, tuple) else value

    qtbot.waitUntil(lambda: drawn_value() == 9, timeout=30_000)  # the fetched planes were forgotten


def test_labels_shown_without_their_channel_axis_are_edited(make_napari_viewer, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Labels with a channel axis of size 1 (as ome-zarr-py writes them, 5D) are shown without it: the editing
    layer is the shown plane, and the save puts it at channel 0."""
    from napari.layers import Labels

    path = tmp_path / "czyx.zarr"
    ngffkit.write_image(np.zeros((1, *SHAPE), np.uint8), path, axes="czyx", levels=2, chunks=(1, 1, 64, 64))
    ngffkit.write_labels(np.zeros((1, *SHAPE), np.uint16), path, "cells", colors={1: [255, 0, 0]})
    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="ngffkit")
    labels = next(layer for layer in viewer.layers if isinstance(layer, Labels))
    assert labels.metadata["ngff_dropped_axes"] == ["c"] and labels.ndim == 3
    _, widget = viewer.window.add_plugin_dock_widget("ngffkit", "Proofread labels")
    viewer.layers.selection.active = labels
    editing = widget.edit()
    assert editing is not None and editing.ndim == 3
    data = np.asarray(editing.data)
    data[0, 1:3, 1:4] = 2
    editing.data = data
    box = widget.sessions[labels.metadata["ngff_url"]].layers[0][1]
    widget.save()
    stored = np.asarray(ngffkit.open(path / "labels" / "cells").read(0))  # type: ignore[union-attr]
    _, z, y, x = (s.start for s in box)
    assert int((stored == 2).sum()) == 6 and (stored[0, z, y + 1 : y + 3, x + 1 : x + 4] == 2).all()
    colors = ngffkit.open(path / "labels" / "cells").image_label.colors  # type: ignore[union-attr]
    assert {c.value for c in colors} == {1, 2}  # the new label got a colour beside the listed one
