"""Saving from napari the way people do -- File > Save Layers with the ngffkit writer (``viewer.layers.save``) --
for layers opened from OME-Zarr and layers made in napari; reopening shows the same view."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import ngffkit
from ngffkit.napari._writer import NotSaved
from ngffkit.samples.examples import write_coins, write_timelapse

from ..hardening.test_data_safety import fingerprint
from .conftest import notification_count, notifications_since
from .peers import ome_zarr_create

#: napari's own labels for unnamed axes, and the NGFF names ngffkit saves them under.
NAPARI_DEFAULT_AXES = {("-2", "-1"): ("y", "x"), ("-3", "-2", "-1"): ("z", "y", "x")}


def view_of(layer: Any) -> dict[str, Any]:
    """What a person sees of a layer (its pixels are compared separately). Axes napari left unnamed ("-2", "-1")
    count as the names they are saved under (y, x): NGFF axes have names."""
    axes = tuple(layer.axis_labels)
    view: dict[str, Any] = {
        "type": type(layer).__name__, "name": layer.name, "visible": layer.visible, "ndim": layer.ndim,
        "scale": [round(float(s), 6) for s in layer.scale], "translate": [round(float(t), 6) for t in layer.translate],
        "axis_labels": NAPARI_DEFAULT_AXES.get(axes, axes), "units": tuple(str(u) for u in layer.units),
    }  # fmt: skip
    if type(layer).__name__ == "Image":
        view["rgb"] = layer.rgb
        view["contrast_limits"] = [round(float(c), 3) for c in layer.contrast_limits]
        view["color"] = tuple(np.round(layer.colormap.colors[-1][:3], 3))
    return view


def same_picture(a: np.ndarray, b: np.ndarray) -> bool:
    """Two screenshots show the same picture: what is drawn (the canvas around it may differ in size) compared
    at a common size."""
    from skimage.transform import resize

    def drawn(x: np.ndarray) -> np.ndarray:
        rgb = x[..., :3].astype(float)
        rows, columns = np.nonzero(rgb.max(axis=-1) > 8)
        return resize(rgb[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1], (96, 96), anti_aliasing=True)

    return float(np.abs(drawn(a) - drawn(b)).mean()) < 3


def label_colours(layer: Any, values: list[int]) -> np.ndarray:
    return np.round(np.asarray(layer.colormap.map(np.array(values))), 3)


def pixels(layer: Any) -> np.ndarray:
    data = layer.data[0] if layer.multiscale else layer.data
    return np.asarray(data)


def save_and_reopen(viewer: Any, layers: list[Any], path: pathlib.Path) -> list[Any]:
    viewer.layers.selection = set(layers)
    written = viewer.layers.save(str(path), selected=True, plugin="ngffkit")
    assert written == [str(path)], written
    assert ngffkit.validate(path).valid, ngffkit.validate(path).findings
    viewer.layers.clear()
    return viewer.open(str(path), plugin="ngffkit")


def test_image_and_labels_opened_from_ome_zarr_round_trip(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    source = write_coins(tmp_path / "coins.zarr")
    opened = viewer.open(str(source), plugin="ngffkit")  # multiscale layers: napari hands writers MultiScaleData
    image, labels = opened
    before = [view_of(layer) for layer in opened]
    colours = label_colours(labels, [1, 5, 20])
    data = [pixels(layer) for layer in opened]
    levels = len(image.data)
    reopened = save_and_reopen(viewer, list(opened), tmp_path / "copy.ome.zarr")
    assert [view_of(layer) for layer in reopened] == before
    for layer, expected in zip(reopened, data, strict=True):
        np.testing.assert_array_equal(pixels(layer), expected)
    assert len(reopened[0].data) == levels  # the pyramid keeps its levels
    np.testing.assert_array_equal(label_colours(reopened[1], [1, 5, 20]), colours)


def test_one_image_layer_and_one_labels_layer_saved_alone(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    image, labels = viewer.open(str(write_coins(tmp_path / "coins.zarr")), plugin="ngffkit")
    image_view, labels_view, labels_pixels = view_of(image), view_of(labels), pixels(labels)
    (alone,) = save_and_reopen(viewer, [image], tmp_path / "image-only.zarr")
    assert view_of(alone) == image_view
    image, labels = viewer.open(str(tmp_path / "coins.zarr"), plugin="ngffkit")
    reopened = save_and_reopen(viewer, [labels], tmp_path / "labels-only.zarr")
    assert [type(layer).__name__ for layer in reopened] == ["Labels"]  # no grey image beside the labels
    assert view_of(reopened[0]) == labels_view
    np.testing.assert_array_equal(pixels(reopened[0]), labels_pixels)


def test_layers_made_in_napari_round_trip(make_napari_viewer, tmp_path: pathlib.Path, shoot) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer(show=True)
    coins = ngffkit.samples.data.coins()
    viewer.add_image(coins, name="coins", scale=(0.5, 0.5), translate=(10.0, 20.0), colormap="magenta",
                     contrast_limits=(10, 200), axis_labels=("y", "x"), units=("micrometer", "micrometer"))  # fmt: skip
    cells = viewer.add_labels(
        ngffkit.samples.data.coins_labels(), name="cells", scale=(0.5, 0.5), translate=(10.0, 20.0)
    )
    before = [view_of(layer) for layer in viewer.layers]
    values = [int(v) for v in np.unique(cells.data) if v]
    colours = label_colours(cells, values)  # napari's own cyclic colours
    shot = shoot(viewer, "before")
    reopened = save_and_reopen(viewer, list(viewer.layers), tmp_path / "made.ome.zarr")
    # labels saved with an image take its axes: their units become the image's
    assert [view_of(layer) for layer in reopened] == [before[0], {**before[1], "units": before[0]["units"]}]
    np.testing.assert_array_equal(label_colours(reopened[1], values), colours)
    np.testing.assert_array_equal(pixels(reopened[0]), coins)
    assert same_picture(shoot(viewer, "after"), shot)


def test_two_image_layers_and_labels_become_one_image(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    first = viewer.add_image(rng.integers(0, 1000, (2, 60, 80), dtype=np.uint16), name="DAPI", colormap="blue",
                             contrast_limits=(0, 900), axis_labels=("z", "y", "x"))  # fmt: skip
    second = viewer.add_image(rng.integers(0, 1000, (2, 60, 80), dtype=np.uint16), name="GFP", colormap="green",
                              contrast_limits=(5, 700), axis_labels=("z", "y", "x"))  # fmt: skip
    labels = viewer.add_labels(
        rng.integers(0, 4, (2, 60, 80), dtype=np.uint8), name="nuclei", axis_labels=("z", "y", "x")
    )
    views = [view_of(layer) for layer in (first, second, labels)]
    reopened = save_and_reopen(viewer, [first, second, labels], tmp_path / "stack.zarr")
    assert [layer.name for layer in reopened] == ["DAPI", "GFP", "nuclei"]
    assert [view_of(layer) for layer in reopened] == [{**v, "visible": True} for v in views]
    np.testing.assert_array_equal(pixels(reopened[1]), np.asarray(second.data))


def test_the_5d_time_lapse_round_trips(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    opened = viewer.open(str(write_timelapse(tmp_path / "t.zarr")), plugin="ngffkit")
    before = [view_of(layer) for layer in opened]
    data = [pixels(layer) for layer in opened]
    reopened = save_and_reopen(viewer, list(opened), tmp_path / "copy.zarr")
    assert [view_of(layer) for layer in reopened] == before
    for layer, expected in zip(reopened, data, strict=True):
        np.testing.assert_array_equal(pixels(layer), expected)
    assert ngffkit.open(tmp_path / "copy.zarr").axis_names == ("t", "c", "z", "y", "x")


def test_rgb_comes_back_as_rgb(make_napari_viewer, tmp_path: pathlib.Path, shoot) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer(show=True)
    astronaut = np.moveaxis(ngffkit.samples.data.astronaut(), 0, -1)
    layer = viewer.add_image(astronaut, name="astronaut", rgb=True)
    before, shot = view_of(layer), shoot(viewer, "before")
    (reopened,) = save_and_reopen(viewer, [layer], tmp_path / "rgb.zarr")
    assert view_of(reopened) == before and reopened.rgb
    np.testing.assert_array_equal(pixels(reopened), astronaut)
    assert same_picture(shoot(viewer, "after"), shot)


def test_saving_over_existing_data_asks_and_never_destroys_the_source(
    make_napari_viewer, tmp_path: pathlib.Path, answer_dialogs
) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    coins = write_coins(tmp_path / "coins.zarr")
    other = tmp_path / "other.zarr"
    ngffkit.write_image(np.ones((32, 32), np.uint8), other)
    image, _ = viewer.open(str(coins), plugin="ngffkit")
    viewer.layers.selection = {image}
    untouched = fingerprint(tmp_path)
    asked = answer_dialogs("No")
    with pytest.raises(NotSaved, match=r"'other\.zarr' already exists and was kept"):
        viewer.layers.save(str(other), selected=True, plugin="ngffkit")
    assert len(asked) == 1 and fingerprint(tmp_path) == untouched
    answer_dialogs("Yes")
    with pytest.raises(NotSaved, match=r"^Not saved: the output overlaps the input"):
        viewer.layers.save(str(coins), selected=True, plugin="ngffkit")  # its own source
    assert fingerprint(tmp_path) == untouched
    assert viewer.layers.save(str(other), selected=True, plugin="ngffkit") == [str(other)]
    assert ngffkit.open(other).shapes[0] == (303, 384)


def test_a_folder_that_is_not_zarr_is_never_replaced(
    make_napari_viewer, tmp_path: pathlib.Path, answer_dialogs
) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    analysis = tmp_path / "analysis.zarr"
    analysis.mkdir()
    (analysis / "thesis.txt").write_text("years of work")
    viewer.add_image(np.ones((16, 16), np.uint8), name="ones")
    asked = answer_dialogs("Yes")
    with pytest.raises(NotSaved, match=r"^Not saved: the folder 'analysis\.zarr' is not empty and is not zarr"):
        viewer.layers.save(str(analysis), plugin="ngffkit")
    assert asked == []  # refused without a question whose yes would be refused
    assert (analysis / "thesis.txt").read_text() == "years of work" and len(list(analysis.iterdir())) == 1


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_labels_added_to_an_existing_image(make_napari_viewer, tmp_path: pathlib.Path, version: str) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    path = tmp_path / "img.zarr"
    ngffkit.write_image(np.zeros((32, 32), np.uint8), path, version=version)
    mask = np.zeros((32, 32), np.uint8)
    mask[4:9, 4:9] = 2
    layer = viewer.add_labels(mask, name="edited")
    viewer.layers.selection = {layer}
    assert viewer.layers.save(str(path), selected=True, plugin="ngffkit") == [str(path)]
    image = ngffkit.open(path)
    assert image.label_names == ("edited",) and image.version == version
    np.testing.assert_array_equal(image.label("edited").levels[0].compute(), mask)


def levels_and_places(image: ngffkit.Image) -> list[float]:
    """Every level's shape, scale and translation, as one flat list of numbers."""
    return [
        float(v) for k in range(len(image.levels)) for v in (*image.shapes[k], *image.scale(k), *image.translation(k))
    ]


@pytest.mark.peers
def test_layers_opened_from_ome_zarr_py_save_with_their_own_levels(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    """ome-zarr-py's coins: levels 203 -> 101 -> 50 -> 25 -> 12 rows, no whole factors. Saving keeps them as they
    are, each level where ome-zarr-py put it -- the image, its labels, or both."""
    source = ome_zarr_create(tmp_path / "coins.zarr")
    original = ngffkit.open(source)
    original_labels = original.label("coins")
    viewer = make_napari_viewer()
    for chosen in ("image", "labels", "both"):
        viewer.layers.clear()
        image, labels = viewer.open(str(source), plugin="ngffkit")
        layers = {"image": [image], "labels": [labels], "both": [image, labels]}[chosen]
        viewer.layers.selection = set(layers)
        path = tmp_path / f"{chosen}.zarr"
        assert viewer.layers.save(str(path), selected=True, plugin="ngffkit") == [str(path)]
        assert ngffkit.validate(path).valid, ngffkit.validate(path).findings
        saved = ngffkit.open(path)
        expected = original_labels if chosen == "labels" else original
        assert levels_and_places(saved) == pytest.approx(levels_and_places(expected))
        for mine, theirs in zip(saved.levels, expected.levels, strict=True):
            np.testing.assert_array_equal(mine.compute(), theirs.compute())
        if chosen == "both":
            copied = saved.label("coins")
            assert levels_and_places(copied) == pytest.approx(levels_and_places(original_labels))
            for mine, theirs in zip(copied.levels, original_labels.levels, strict=True):
                np.testing.assert_array_equal(mine.compute(), theirs.compute())


def save_with_the_menu(qtbot, path: pathlib.Path, writer: str) -> None:  # type: ignore[no-untyped-def]
    """File > Save Selected Layers...: napari's own Save dialog (Qt's file dialog), answered with ``path`` and the
    ngffkit writer whose filter names ``writer``."""
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication, QDialogButtonBox, QFileDialog, QLineEdit

    from .test_open import run_command

    def answer() -> None:  # typed into the dialog, as a person does: folder, name, file type, Save
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QFileDialog):
            return
        timer.stop()
        dialog.selectNameFilter(next(f for f in dialog.nameFilters() if writer in f))
        dialog.setDirectory(str(path.parent))
        dialog.findChild(QLineEdit, "fileNameEdit").setText(path.name)
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()

    timer = QTimer()
    timer.timeout.connect(answer)
    timer.start(50)
    try:
        run_command("napari.window.file.save_layers_dialog.selected")
    finally:
        timer.stop()


def test_a_failed_save_is_one_message_with_the_reason(make_napari_viewer, qtbot, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    """napari's Save dialog answers a writer that saved nothing with "File ... save failed. Plugin 'ngffkit' tried
    to save layers but did not return any written paths", which covered ngffkit's own toast at once. The reason
    is the only message: the writer's error, which napari shows as its notification."""
    from napari.utils.notifications import ErrorNotification

    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((16, 16), np.uint8), name="small")
    viewer.add_image(np.zeros((32, 32), np.uint8), name="large")
    viewer.layers.selection = set(viewer.layers)
    start = notification_count()
    with pytest.raises(NotSaved) as failure:
        save_with_the_menu(qtbot, tmp_path / "both.zarr", "OME-Zarr image with labels")
    assert notifications_since(start) == []  # nothing else is said
    shown = ErrorNotification(failure.value).message  # what napari's notification of the error reads
    assert shown == "Not saved: image layers saved together must have one shape, got [(16, 16), (32, 32)]"
    assert not (tmp_path / "both.zarr").exists()


def test_a_layer_with_a_c_axis_saves_and_exports_its_channels(
    make_napari_viewer, qtbot, tmp_path: pathlib.Path
) -> None:  # type: ignore[no-untyped-def]
    """An axis labelled ``c`` is the channel axis: three channels, not "1 channels given, the data has 3"."""
    viewer = make_napari_viewer()
    data = np.random.default_rng(0).integers(0, 4000, (3, 64, 64), dtype=np.uint16)
    layer = viewer.add_image(data, name="cells", axis_labels=("c", "y", "x"))
    viewer.layers.selection = {layer}
    path = tmp_path / "saved.zarr"
    assert viewer.layers.save(str(path), selected=True, plugin="ngffkit") == [str(path)]
    saved = ngffkit.open(path)
    assert saved.axis_names == ("c", "y", "x") and [c.name for c in saved.channels] == ["cells 0", "cells 1", "cells 2"]
    np.testing.assert_array_equal(saved.levels[0].compute(), data)
    widget = export_with_the_dock(viewer, qtbot, layer, tmp_path)
    exported = ngffkit.open(tmp_path / "cells.ome.zarr")
    assert exported.axis_names == ("c", "y", "x") and len(exported.channels) == 3, widget.status.value
    np.testing.assert_array_equal(exported.levels[0].compute(), data)


def test_layers_labelled_out_of_ngff_order_are_saved_with_the_axes_moved(
    make_napari_viewer, tmp_path: pathlib.Path
) -> None:  # type: ignore[no-untyped-def]
    """A layer labelled z, c, y, x (napari allows any order; its user cannot reorder) was saved as written and
    then failed validation (``axes-order``): now the axes are moved into t, c, z, y, x order, with their scale."""
    viewer = make_napari_viewer()
    data = np.random.default_rng(1).integers(0, 4000, (6, 3, 32, 32), dtype=np.uint16)
    image = viewer.add_image(data, name="cells", axis_labels=("z", "c", "y", "x"), scale=(2.0, 1.0, 0.5, 0.5))
    viewer.layers.selection = {image}
    path = tmp_path / "cells.zarr"
    assert viewer.layers.save(str(path), selected=True, plugin="ngffkit") == [str(path)]
    assert ngffkit.validate(path).valid, ngffkit.validate(path).findings
    saved = ngffkit.open(path)
    assert saved.axis_names == ("c", "z", "y", "x") and saved.scale(0) == (1.0, 2.0, 0.5, 0.5)
    np.testing.assert_array_equal(saved.levels[0].compute(), np.moveaxis(data, 1, 0))
    timed = np.zeros((4, 5, 32, 32), np.uint8)
    timed[:, 2, 4:9, 4:9] = 7
    labels = viewer.add_labels(timed, name="nuclei", axis_labels=("z", "t", "y", "x"))
    viewer.layers.selection = {labels}
    path = tmp_path / "nuclei.zarr"
    assert viewer.layers.save(str(path), selected=True, plugin="ngffkit") == [str(path)]
    assert ngffkit.validate(path).valid, ngffkit.validate(path).findings
    saved = ngffkit.open(path)
    assert saved.axis_names == ("t", "z", "y", "x")
    np.testing.assert_array_equal(saved.levels[0].compute(), np.moveaxis(timed, 1, 0))


def test_a_layer_scaled_0_2_is_saved_and_exported_as_0_2(make_napari_viewer, qtbot, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    """napari's scale 0.2 was written as 0.20000000000000004 (and level 2's translation as 0.30000000000000004)
    by File > Save Selected Layers and by the Export widget: both write the decimals the layer shows."""
    viewer = make_napari_viewer()
    layer = viewer.add_image(np.zeros((256, 256), np.uint16), name="cells", scale=(0.2, 0.2), translate=(0.1, 0.7))
    viewer.layers.selection = {layer}
    assert viewer.layers.save(str(tmp_path / "saved.zarr"), selected=True, plugin="ngffkit") == [
        str(tmp_path / "saved.zarr")
    ]
    export_with_the_dock(viewer, qtbot, layer, tmp_path)
    for path in (tmp_path / "saved.zarr", tmp_path / "cells.ome.zarr"):
        text = (path / "zarr.json").read_text()
        assert "0000000" not in text and "9999999" not in text, (path.name, text)
        assert ngffkit.open(path).scale(0) == (0.2, 0.2)


def test_labels_painted_after_a_reopen_get_napari_colours(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    """The file lists colours for the values it holds; a value painted after reopening (napari's next label) or
    too small for the smallest level was drawn grey. Values without a colour keep napari's cycling colours."""
    viewer = make_napari_viewer()
    cells = np.zeros((256, 256), np.uint16)
    cells[10:60, 10:60], cells[100:180, 100:180], cells[200, 200] = 1, 2, 3  # 3: one pixel, gone at level 1
    layer = viewer.add_labels(cells, name="cells")
    values = np.arange(1, 12)
    napari_colours = label_colours(layer, list(values))
    (reopened,) = save_and_reopen(viewer, [layer], tmp_path / "cells.zarr")
    assert len(ngffkit.open(tmp_path / "cells.zarr").levels) > 1
    np.testing.assert_allclose(label_colours(reopened, list(values)), napari_colours, atol=2e-3)


def test_the_save_dialog_names_each_writer_once(make_napari_viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    """napari's Save dialog lists a writer as '<plugin display name> <writer display name>': the manifest's
    writer names read 'ngffkit OME-Zarr image', not 'ngffkit OME-Zarr OME-Zarr image'."""
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication, QFileDialog

    from .test_open import run_command

    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((16, 16), np.uint8), name="image")
    viewer.add_labels(np.zeros((16, 16), np.uint8), name="labels")
    seen: list[str] = []

    def answer() -> None:  # read the file types the dialog offers, then cancel it as a person would
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QFileDialog):
            return
        timer.stop()
        seen.extend(dialog.nameFilters())
        dialog.reject()

    for selected in ([viewer.layers["image"]], [viewer.layers["labels"]], list(viewer.layers)):
        viewer.layers.selection = set(selected)
        timer = QTimer()
        timer.timeout.connect(answer)
        timer.start(50)
        try:
            run_command("napari.window.file.save_layers_dialog.selected")
        finally:
            timer.stop()
    ours = sorted({f.split(" (")[0] for f in seen if f.startswith("ngffkit")})
    assert ours == ["ngffkit OME-Zarr image", "ngffkit OME-Zarr image with labels", "ngffkit OME-Zarr labels"], seen


@pytest.mark.parametrize("colormap", ["gray", "green"])
def test_one_layer_with_a_c_axis_comes_back_as_one_layer(
    make_napari_viewer, tmp_path: pathlib.Path, colormap: str
) -> None:  # type: ignore[no-untyped-def]
    """issue 32: a grey layer with axis labels c, y, x (napari split nothing: one layer, a channel slider) came
    back as three white channel layers added over each other. It comes back as it was: one layer, its colour and
    contrast, napari's blending for one image (as it was added), not the additive blending of channels."""
    viewer = make_napari_viewer()
    data = np.random.default_rng(0).integers(0, 4000, (3, 64, 64), dtype=np.uint16)
    layer = viewer.add_image(data, name="cells", axis_labels=("c", "y", "x"), colormap=colormap,
                             contrast_limits=(100, 3000))  # fmt: skip
    before = {**view_of(layer), "blending": layer.blending}
    (reopened,) = save_and_reopen(viewer, [layer], tmp_path / "cells.zarr")
    assert {**view_of(reopened), "blending": reopened.blending} == before
    assert reopened.blending != "additive"
    np.testing.assert_array_equal(pixels(reopened), data)


def test_layers_saved_as_channels_still_come_back_as_channels(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    """Several layers saved as the channels of one image -- even grey ones, shown alike -- come back split as they
    were (their names are theirs, not one layer's)."""
    viewer = make_napari_viewer()
    data = np.random.default_rng(0).integers(0, 4000, (2, 64, 64), dtype=np.uint16)
    layers = [viewer.add_image(data[i], name=f"cells {i + 1}", contrast_limits=(0, 4000)) for i in range(2)]
    reopened = save_and_reopen(viewer, layers, tmp_path / "two.zarr")
    assert [layer.name for layer in reopened] == ["cells 1", "cells 2"]


@pytest.fixture
def file_dialog_questions(qtbot) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Click Yes on every question Qt's file dialog asks (its "already exists. Do you want to replace it?"); yields
    the list of questions asked, which grows as they are."""
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication, QFileDialog, QMessageBox

    asked: list[str] = []

    def click() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and isinstance(box.parent(), QFileDialog) and box.isVisible():
            asked.append(box.text())
            box.button(QMessageBox.StandardButton.Yes).click()

    timer = QTimer()
    timer.timeout.connect(click)
    timer.start(50)
    yield asked
    timer.stop()


def test_saving_over_an_archive_through_the_save_dialog_asks_once(
    make_napari_viewer, qtbot, tmp_path: pathlib.Path, answer_dialogs, file_dialog_questions
) -> None:  # type: ignore[no-untyped-def]
    """issue 32: napari's Save dialog asked "replace?" and then ngffkit asked again. Qt's file dialog asks; ngffkit
    does not ask a second time -- and still replaces only a zipped OME-Zarr."""
    viewer = make_napari_viewer(show=True)
    archive = tmp_path / "cells.ozx"
    ngffkit.write_image(np.zeros((32, 32), np.uint8), archive)
    notes = tmp_path / "notes.ozx"
    notes.write_text("not an archive")
    viewer.add_image(np.full((16, 16), 7, np.uint8), name="cells")
    viewer.layers.selection = set(viewer.layers)
    ours = answer_dialogs("No")  # were ngffkit to ask, the answer would keep the file
    theirs = file_dialog_questions
    save_with_the_menu(qtbot, archive, "OME-Zarr image (")
    assert len(theirs) == 1 and "cells.ozx" in theirs[0] and ours == []
    np.testing.assert_array_equal(ngffkit.open(archive).levels[0].compute(), np.full((16, 16), 7, np.uint8))
    with pytest.raises(NotSaved, match=r"is not a zipped OME-Zarr; refusing to replace it"):
        save_with_the_menu(qtbot, notes, "OME-Zarr image (")
    assert len(theirs) == 2 and ours == [] and notes.read_text() == "not an archive"


def test_a_failed_save_prints_no_traceback(make_napari_viewer, qtbot, tmp_path: pathlib.Path, capfd) -> None:  # type: ignore[no-untyped-def]
    """issue 32: a refused save also printed napari's echo of the error to the terminal -- a traceback of ~200
    lines with the layers' data in every frame's locals. napari's exception hook makes the writer's error a
    notification (``Notification.from_exception``) and echoes it to the terminal (``show_console_notification``,
    every notification by default): both are now the message alone."""
    from napari.utils.notifications import Notification, show_console_notification

    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((16, 16), np.uint8), name="small")
    viewer.add_image(np.zeros((32, 32), np.uint8), name="large")
    viewer.layers.selection = set(viewer.layers)
    with pytest.raises(NotSaved) as failure:
        save_with_the_menu(qtbot, tmp_path / "both.zarr", "OME-Zarr image with labels")
    assert failure.tb is not None  # Python's traceback is there (pytest, debuggers); napari's formatting sees none
    shown = Notification.from_exception(failure.value)
    capfd.readouterr()
    show_console_notification(shown)
    out, err = capfd.readouterr()
    reason = "Not saved: image layers saved together must have one shape, got [(16, 16), (32, 32)]"
    assert shown.message == reason and reason in out + str(shown)
    for text in (str(shown), shown.as_text(), out, err):  # the echo, "View traceback", what reached the terminal
        assert "File " not in text and "_writer.py" not in text and "InvalidArgument" not in text, text


def export_with_the_dock(viewer, qtbot, layer, folder: pathlib.Path):  # type: ignore[no-untyped-def]
    """Export ``layer`` into ``folder`` with the Export dock, as a person does (its default name), and wait for it."""
    _, widget = viewer.window.add_plugin_dock_widget("ngffkit", "Export as OME-Zarr")
    widget.layer.value = layer
    widget.folder.value = folder
    widget.open_result.value = False
    with qtbot.waitSignal(widget.start().finished, timeout=60_000):
        pass
    return widget
