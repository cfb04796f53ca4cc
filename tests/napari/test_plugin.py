"""The napari plugin in a real napari: open, show, save, export, sample data -- checked on screen."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import ngffkit
from ngffkit.samples.examples import write_coins, write_plate

from ..servers import http_file_server


def screenshot(viewer) -> np.ndarray:  # type: ignore[no-untyped-def]
    viewer.reset_view()
    return np.asarray(viewer.screenshot(canvas_only=True, flash=False))


def test_manifest_validates_with_imports() -> None:
    npe2 = pathlib.Path(sys.executable).parent / "npe2"
    proc = subprocess.run([str(npe2), "validate", "ngffkit", "--imports"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "valid" in proc.stdout, proc.stdout + proc.stderr


def test_get_reader_claims_only_ome_zarr(tmp_path: pathlib.Path) -> None:
    import zarr
    from napari.utils.notifications import notification_manager

    from ngffkit.napari._reader import get_reader

    zarr.create_array(str(tmp_path / "plain.zarr"), shape=(4, 4), dtype="uint8")
    (tmp_path / "notes.txt").write_text("hi")
    assert get_reader(str(tmp_path / "plain.zarr")) is None
    assert get_reader(str(tmp_path / "notes.txt")) is None
    coins = write_coins(tmp_path / "coins.zarr")
    assert callable(get_reader(str(coins)))
    (coins / "zarr.json").write_text(
        '{"zarr_format": 3, "node_type": "group", "attributes": {"ome": {"version": "9.9"}}}'
    )
    before = len(notification_manager.records)
    assert get_reader(str(coins)) is None
    messages = [str(n.message) for n in notification_manager.records[before:]]
    assert any("9.9" in m and "coins.zarr" in m for m in messages)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_open_image_with_labels_and_look_at_it(make_napari_viewer, tmp_path: pathlib.Path, version: str) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer(show=True)
    path = write_coins(tmp_path / "coins.zarr", version)
    layers = viewer.open(str(path), plugin="ngffkit")
    assert [type(layer).__name__ for layer in layers] == ["Image", "Labels"]
    image, labels = layers
    assert image.name == "coins" and image.multiscale and list(image.scale) == [0.5, 0.5]
    assert tuple(image.contrast_limits) == (1.0, 252.0) and image.colormap.name == "gray"
    assert tuple(image.axis_labels) == ("y", "x") and str(image.units[0]) == "micrometer"
    assert labels.visible and list(labels.scale) == list(image.scale)
    pixels = screenshot(viewer)
    assert pixels.std() > 10  # not blank: the coins are there
    # The image is grey; only the labels add colour. Count strongly coloured pixels with and without them.
    colourful = saturated(pixels)
    labels.visible = False
    assert colourful > 5000 and saturated(screenshot(viewer)) < colourful / 50


def saturated(pixels: np.ndarray) -> int:
    rgb = pixels[..., :3].astype(int)
    return int(((rgb.max(axis=-1) - rgb.min(axis=-1)) > 60).sum())


def test_zipped_ozx_opens(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    ngffkit.write_image(ngffkit.samples.data.coins(), tmp_path / "coins.ozx", name="zipped")
    (layer,) = viewer.open(str(tmp_path / "coins.ozx"), plugin="ngffkit")
    assert layer.name == "zipped" and np.asarray(layer.data[0]).shape == (303, 384)


def test_three_channels_3d_and_5d(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer(show=True)
    astro = ngffkit.samples.data.astronaut()
    ngffkit.write_image(astro, tmp_path / "astro.zarr", axes="cyx", channels=[
        {"label": "R", "color": "FF0000"}, {"label": "G", "color": "00FF00"}, {"label": "B", "color": "0000FF"}])  # fmt: skip
    layers = viewer.open(str(tmp_path / "astro.zarr"), plugin="ngffkit")
    assert [layer.name for layer in layers] == ["R", "G", "B"]
    assert [tuple(np.round(layer.colormap.colors[-1][:3], 3)) for layer in layers] == [(1, 0, 0), (0, 1, 0), (0, 0, 1)]
    assert all(layer.blending == "additive" for layer in layers)
    pixels = screenshot(viewer)
    assert pixels[..., 0].std() > 10 and pixels[..., 2].std() > 10  # red and blue both drawn
    viewer.layers.clear()
    vol = np.random.default_rng(0).integers(0, 200, (2, 3, 8, 64, 64), dtype=np.uint8)
    ngffkit.write_image(vol, tmp_path / "t.zarr", scale={"z": 2.0, "y": 0.5, "x": 0.5}, levels=2)
    layers = viewer.open(str(tmp_path / "t.zarr"), plugin="ngffkit")
    assert len(layers) == 3 and layers[0].ndim == 4 and list(layers[0].scale) == [1.0, 2.0, 0.5, 0.5]
    assert tuple(layers[0].axis_labels) == ("t", "z", "y", "x")
    assert screenshot(viewer).std() > 5


def test_plate_is_one_stitched_grid(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer(show=True)
    path = write_plate(tmp_path / "plate.zarr", labels=True)
    layers = viewer.open(str(path), plugin="ngffkit")
    assert [layer.name for layer in layers] == ["GFP", "DAPI", "cells"]
    assert layers[0].multiscale and layers[0].data[0].shape == (256, 384)
    assert layers[0].metadata["plate"]["wells"][0] == "A/1"
    pixels = screenshot(viewer)
    assert pixels[..., 1].std() > 10  # the green blobs of six wells


@pytest.mark.network
def test_open_url_over_http_and_s3(make_napari_viewer, tmp_path: pathlib.Path, moto_server: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ngffkit.napari._open_url import open_url, show_open_url_dialog

    from ..conftest import upload_tree

    viewer = make_napari_viewer()
    coins = write_coins(tmp_path / "coins.zarr")
    with http_file_server(tmp_path, listing=False) as server:
        assert open_url(viewer, f"{server.url}/coins.zarr") == 2
    assert [layer.name for layer in viewer.layers] == ["coins", "coins [1]"] or len(viewer.layers) == 2
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    upload_tree(moto_server, "napari-public", coins, "coins.zarr", public=True)
    options = json.dumps({"client_kwargs": {"endpoint_url": moto_server}, "skip_instance_cache": True})
    dialog = show_open_url_dialog(viewer)
    dialog.url.value = "s3://napari-public/coins.zarr"
    dialog.anonymous.value = "anonymous"
    dialog.storage_options.value = options
    dialog.close_after.value = False
    dialog.open_button.clicked.emit()
    assert dialog.opened == 2 and len(viewer.layers) == 4
    assert open_url(viewer, "s3://napari-public/missing.zarr", "anonymous", options) == 0  # a notification, no raise
    assert open_url(viewer, "https://x", "automatic", "{not json") == 0


def test_save_and_reopen_round_trip(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    data = ngffkit.samples.data.coins()
    viewer.add_image(data, name="coins", scale=(0.5, 0.5), translate=(10.0, 20.0), colormap="magenta",
                     contrast_limits=(10, 200), axis_labels=("y", "x"), units=("micrometer", "micrometer"))  # fmt: skip
    labels = viewer.add_labels(
        ngffkit.samples.data.coins_labels(), name="cells", scale=(0.5, 0.5), translate=(10.0, 20.0)
    )
    labels.colormap = {None: [0.5, 0.5, 0.5, 1.0], 0: [0, 0, 0, 0], 1: [1.0, 0.0, 0.0, 1.0]}
    path = str(tmp_path / "saved.ome.zarr")
    written = viewer.layers.save(path, plugin="ngffkit")
    assert written == [path]
    assert ngffkit.validate(path).valid
    viewer.layers.clear()
    image, reopened = viewer.open(path, plugin="ngffkit")
    np.testing.assert_array_equal(np.asarray(image.data[0]), data)
    np.testing.assert_array_equal(np.asarray(reopened.data[0]), ngffkit.samples.data.coins_labels())
    assert image.name == "coins" and list(image.scale) == [0.5, 0.5] and list(image.translate) == [10.0, 20.0]
    assert tuple(np.round(image.colormap.colors[-1][:3], 3)) == (1, 0, 1) and tuple(image.contrast_limits) == (
        10.0,
        200.0,
    )
    assert reopened.name == "cells" and list(reopened.translate) == [10.0, 20.0]
    assert np.allclose(reopened.colormap.map(np.array([1]))[0], [1.0, 0.0, 0.0, 1.0])


def test_saving_over_existing_data_needs_confirmation(make_napari_viewer, tmp_path: pathlib.Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ngffkit.napari._writer as writer

    viewer = make_napari_viewer()
    path = str(write_coins(tmp_path / "c.zarr"))
    viewer.add_image(np.ones((32, 32), dtype=np.uint8), name="ones")
    monkeypatch.setattr(writer, "confirm_overwrite", lambda p: False)
    assert viewer.layers.save(path, plugin="ngffkit") == []
    assert ngffkit.open(path).shapes[0] == (303, 384)  # untouched
    monkeypatch.setattr(writer, "confirm_overwrite", lambda p: True)
    assert viewer.layers.save(path, plugin="ngffkit") == [path]
    assert ngffkit.open(path).shapes[0] == (32, 32)


def test_pyramid_widget_writes_in_background_with_progress(make_napari_viewer, qtbot, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    from ngffkit.napari._widget import PyramidWidget

    viewer = make_napari_viewer()
    viewer.add_image(
        np.random.default_rng(0).integers(0, 4000, (32, 256, 256), dtype=np.uint16), name="vol", scale=(2, 0.5, 0.5)
    )
    labels = viewer.add_labels((np.arange(32 * 256 * 256).reshape(32, 256, 256) % 7).astype(np.uint8), name="lab")
    widget = PyramidWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.layer.value = viewer.layers["vol"]
    widget.output.value = tmp_path / "vol.zarr"
    widget.factors.value = '{"z": 2, "y": 2, "x": 2}'
    widget.levels.value = 3
    widget.chunks.value = "16,64,64"
    worker = widget.start()
    assert worker is not None
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        pass
    assert widget.progress is not None and widget.progress.total > 0 and widget.progress.n == widget.progress.total
    img = ngffkit.open(tmp_path / "vol.zarr")
    assert img.shapes == [(32, 256, 256), (16, 128, 128), (8, 64, 64)] and img.scale(0) == (2.0, 0.5, 0.5)
    qtbot.waitUntil(lambda: len(viewer.layers) > 2, timeout=10_000)
    assert [layer.name for layer in viewer.layers][2:] == ["vol [1]"] and viewer.layers[
        -1
    ].multiscale  # opened the result
    widget.layer.value = labels
    assert widget.method.value == "mode"  # labels default to a label-safe method


def test_pyramid_widget_cancel_keeps_nothing(make_napari_viewer, qtbot, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    from ngffkit.napari._widget import PyramidWidget

    viewer = make_napari_viewer()
    viewer.add_image(np.random.default_rng(0).integers(0, 4000, (64, 512, 512), dtype=np.uint16), name="big")
    widget = PyramidWidget(viewer)
    widget.layer.value = viewer.layers["big"]
    widget.output.value = tmp_path / "big.zarr"
    widget.chunks.value = "8,64,64"
    widget.open_result.value = False
    widget._cancel = True  # as if Cancel was pressed the moment the first task finished
    worker = widget.start()
    widget.cancel()
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        pass
    assert widget.status.value.startswith("cancelled")
    assert not (tmp_path / "big.zarr").exists()


def test_sample_data(make_napari_viewer) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    viewer.open_sample("ngffkit", "coins")
    assert [type(layer).__name__ for layer in viewer.layers] == ["Image", "Labels"]
    viewer.open_sample("ngffkit", "plate")
    assert [layer.name for layer in viewer.layers][2:] == ["GFP", "DAPI", "cells"]


def test_timelapse_sample_is_5d_with_aligned_labels(make_napari_viewer) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    viewer.open_sample("ngffkit", "timelapse")
    assert [layer.name for layer in viewer.layers] == ["body", "membrane", "cells"]
    body, _, cells = viewer.layers
    assert body.ndim == cells.ndim == 4  # t, z, y, x (channels became layers)
    assert viewer.dims.axis_labels[:2] == ("t", "z")
    np.testing.assert_allclose(body.scale, cells.scale)
    viewer.dims.set_point(0, 150.0)  # 30 s per time point: the 6th point
    assert viewer.dims.current_step[0] == 5
    # the cells move: a label present at t=5 sits where the image is bright at t=5
    t5_labels = np.asarray(cells.data[0][5])
    t5_body = np.asarray(body.data[0][5])
    assert t5_body[t5_labels > 0].mean() > 3 * t5_body[t5_labels == 0].mean()


def test_pyramid_widget_asks_before_replacing(make_napari_viewer, qtbot, tmp_path: pathlib.Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ngffkit.napari._writer as writer
    from ngffkit.napari._widget import PyramidWidget

    viewer = make_napari_viewer()
    viewer.add_image(np.full((64, 64), 9, dtype=np.uint16), name="nines")
    existing = write_coins(tmp_path / "c.zarr")
    before = {p: p.read_bytes() for p in existing.rglob("*") if p.is_file()}
    widget = PyramidWidget(viewer)
    widget.layer.value = viewer.layers["nines"]
    widget.output.value = existing
    monkeypatch.setattr(writer, "confirm_overwrite", lambda p: False)
    assert widget.start() is None
    assert {p: p.read_bytes() for p in existing.rglob("*") if p.is_file()} == before  # declined: untouched
    monkeypatch.setattr(writer, "confirm_overwrite", lambda p: True)
    worker = widget.start()
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        pass
    assert int(ngffkit.open(existing).levels[0].max().compute()) == 9
