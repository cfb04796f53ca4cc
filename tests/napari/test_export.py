"""Plugins > ngffkit > Export as OME-Zarr, opened the way napari opens it (from the manifest, through its menu)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import ngffkit
from ngffkit.samples.examples import write_coins

from ..hardening.test_data_safety import fingerprint
from .test_open import run_command

WIDGET = "Export as OME-Zarr"


def activity_bar_value(description: str) -> int:
    """The value of the progress bar napari's activity dock shows for ``description``."""
    from qtpy.QtWidgets import QApplication

    bars = [w for w in QApplication.allWidgets() if type(w).__name__ == "QtLabeledProgressBar"]
    found = [b for b in bars if b.description_label.text().startswith(description)]
    assert len(found) == 1, [b.description_label.text() for b in bars]
    return int(found[0].qt_progress_bar.value())


def open_widget(viewer, how: str):  # type: ignore[no-untyped-def]
    if how == "menu":
        run_command("ngffkit.export_widget")
        return viewer.window.dock_widgets[f"{WIDGET} (ngffkit OME-Zarr)"]
    _, widget = viewer.window.add_plugin_dock_widget("ngffkit", WIDGET)
    return widget


@pytest.mark.parametrize("how", ["menu", "add_plugin_dock_widget"])
def test_the_widget_opens_the_way_napari_opens_it(make_napari_viewer, how: str) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((8, 8), np.uint8), name="blank")
    widget = open_widget(viewer, how)
    assert widget.viewer is not None and widget.layer.value.name == "blank"
    assert widget.file_name.value == "blank.ome.zarr"
    tooltips = [w.tooltip for w in (widget.layer, widget.folder, widget.file_name, widget.version, widget.levels,
                                    widget.factors, widget.method, widget.chunks, widget.compressor, widget.shards)]  # fmt: skip
    assert all(tooltips), tooltips


def test_export_in_the_background_with_progress_and_display(
    make_napari_viewer, qtbot, tmp_path: pathlib.Path, shoot
) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer(show=True)
    volume = np.random.default_rng(0).integers(0, 4000, (32, 256, 256), dtype=np.uint16)
    viewer.add_image(volume, name="vol", scale=(2, 0.5, 0.5), colormap="green", contrast_limits=(100, 3000),
                     axis_labels=("z", "y", "x"))  # fmt: skip
    cells = (np.arange(32 * 256 * 256).reshape(32, 256, 256) % 7).astype(np.uint8)
    viewer.add_labels(cells, name="cells", scale=(2, 0.5, 0.5))
    widget = open_widget(viewer, "menu")
    widget.layer.value = viewer.layers["vol"]
    widget.folder.value = tmp_path
    widget.factors.value = '{"z": 2, "y": 2, "x": 2}'
    widget.levels.value = 3
    widget.chunks.value = "8,64,64"
    seen: list[tuple[int, int]] = []
    bar: list[int] = []  # what napari's activity dock shows, after each step
    worker = widget.start()
    worker.yielded.connect(seen.append)
    worker.yielded.connect(lambda _: bar.append(activity_bar_value("Exporting vol.ome.zarr")))
    with qtbot.waitSignal(worker.finished, timeout=120_000):
        pass
    assert len({done for done, _ in seen}) > 2 and seen[-1][0] == seen[-1][1]  # moved step by step, to the end
    assert len(set(bar)) > 2 and bar[-1] == seen[-1][1], bar  # and so did the bar (it stayed at 0%)
    image = ngffkit.open(tmp_path / "vol.ome.zarr")
    assert image.shapes == [(32, 256, 256), (16, 128, 128), (8, 64, 64)] and image.scale(0) == (2.0, 0.5, 0.5)
    assert image.channels[0].color == "00FF00" and image.channels[0].contrast_limits == (100.0, 3000.0)
    assert image.label_names == ("cells",)
    qtbot.waitUntil(lambda: len(viewer.layers) == 4, timeout=30_000)  # opened the result
    assert [layer.name for layer in viewer.layers][2:] == ["vol [1]", "cells [1]"]
    assert shoot(viewer, "exported")[..., 1].std() > 5


def test_export_a_labels_layer_alone(make_napari_viewer, qtbot, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    mask = np.zeros((64, 64), np.uint8)
    mask[10:30, 10:30] = 3
    viewer.add_labels(mask, name="mask")
    widget = open_widget(viewer, "add_plugin_dock_widget")
    assert widget.method.value == "mode"
    widget.folder.value = tmp_path
    widget.open_result.value = False
    with qtbot.waitSignal(widget.start().finished, timeout=60_000):
        pass
    label = ngffkit.open(tmp_path / "mask.ome.zarr")
    assert label.is_label and 3 in label.image_label.color_map()
    np.testing.assert_array_equal(label.levels[0].compute(), mask)


def test_cancel_keeps_nothing(make_napari_viewer, qtbot, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    viewer.add_image(np.random.default_rng(0).integers(0, 4000, (64, 512, 512), dtype=np.uint16), name="big")
    widget = open_widget(viewer, "menu")
    widget.folder.value = tmp_path
    widget.chunks.value = "8,64,64"
    widget.open_result.value = False
    worker = widget.start()
    worker.yielded.connect(lambda update: widget.cancel() if update[0] >= 1 else None)  # Cancel after the first step
    with qtbot.waitSignal(worker.finished, timeout=120_000):
        pass
    assert widget.status.value.startswith("cancelled")
    assert list(tmp_path.iterdir()) == []


def test_replacing_asks_and_a_folder_that_is_not_zarr_is_never_deleted(
    make_napari_viewer, qtbot, tmp_path: pathlib.Path, answer_dialogs
) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    viewer.add_image(np.full((64, 64), 9, dtype=np.uint16), name="nines")
    existing = write_coins(tmp_path / "coins.zarr")
    analysis = tmp_path / "analysis"
    analysis.mkdir()
    (analysis / "thesis.txt").write_text("years of work")
    widget = open_widget(viewer, "menu")
    widget.folder.value = tmp_path
    widget.open_result.value = False
    untouched = fingerprint(tmp_path)
    answer_dialogs("No")
    widget.file_name.value = "coins.zarr"
    assert widget.start() is None and fingerprint(tmp_path) == untouched
    asked = answer_dialogs("Yes")
    before = len(asked)
    widget.file_name.value = "analysis"
    assert widget.start() is None  # refused at once: no question whose yes would be refused
    assert widget.status.value.startswith("not exported") and "not zarr" in widget.status.value
    assert "'analysis'" in widget.status.value and len(asked) == before
    assert fingerprint(tmp_path) == untouched  # the widget deletes nothing; the library refused
    widget.file_name.value = "coins.zarr"
    with qtbot.waitSignal(widget.start().finished, timeout=60_000):
        pass
    assert int(ngffkit.open(existing).levels[0].max().compute()) == 9


@pytest.mark.peers
def test_export_keeps_a_foreign_pyramid_unless_a_new_one_is_asked_for(
    make_napari_viewer, qtbot, tmp_path: pathlib.Path
) -> None:  # type: ignore[no-untyped-def]
    """ome-zarr-py's levels (203 -> 101 -> 50 rows) are exported as they are; a pyramid is built anew from level 0
    only when the person asks for levels or factors."""
    from .peers import ome_zarr_create

    source = ngffkit.open(ome_zarr_create(tmp_path / "coins.zarr"))
    viewer = make_napari_viewer()
    image, _ = viewer.open(str(tmp_path / "coins.zarr"), plugin="ngffkit")
    widget = open_widget(viewer, "menu")
    widget.layer.value = image
    widget.folder.value = tmp_path
    widget.open_result.value = False
    widget.with_labels.value = False
    for name, levels in (("kept.zarr", 0), ("rebuilt.zarr", 2)):
        widget.file_name.value, widget.levels.value = name, levels
        with qtbot.waitSignal(widget.start().finished, timeout=60_000):
            pass
        assert widget.status.value.startswith("written"), widget.status.value
    assert ngffkit.open(tmp_path / "kept.zarr").shapes == source.shapes
    assert ngffkit.open(tmp_path / "kept.zarr").scale(4) == pytest.approx(source.scale(4))
    assert ngffkit.open(tmp_path / "rebuilt.zarr").shapes == [(203, 284), (102, 142)]


def test_a_long_reason_does_not_widen_the_dock_over_the_canvas(
    make_napari_viewer, qtbot, tmp_path: pathlib.Path
) -> None:  # type: ignore[no-untyped-def]
    """A refusal naming a file name without spaces wraps or is cut at the dock's edge: it widened the dock to
    twice its width and left the canvas a strip."""
    from ngffkit.napari import _napari_adapter as adapter

    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1300, 760)
    viewer.add_image(np.zeros((8, 8), np.uint8), name="blank")
    widget = open_widget(viewer, "add_plugin_dock_widget")
    name = "a_rather_long_experiment_name_from_the_microscope_session_2026_12_07_plate_A1_field_3_final.ome.zarr"
    (tmp_path / name).mkdir()
    (tmp_path / name / "readme.txt").write_text("not zarr")
    widget.folder.value, widget.file_name.value = tmp_path, name
    for _ in range(10):  # let Qt lay the docked widget out
        qtbot.wait(20)
    before = adapter.canvas_size(viewer)[1]  # type: ignore[index]
    assert widget.start() is None and name in widget.status.value  # refused at once, naming the folder
    for _ in range(10):  # and again after the message
        qtbot.wait(20)
    assert adapter.canvas_size(viewer)[1] >= before - 10  # type: ignore[index]
