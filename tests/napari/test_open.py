"""Opening OME-Zarr in napari the way people do: drop (viewer.open with the ngffkit reader), File > Open URL, samples."""

from __future__ import annotations

import json
import pathlib
import socket
import threading
import time

import numpy as np
import pytest
from loopback.servers import http_file_server

import ngffkit
from ngffkit.samples.examples import write_coins, write_plate

from .conftest import napari_at_least, notification_count, notifications_since, saturated

#: The layers of the demo plate: channels, labels, the wells' outlines and names.
PLATE_LAYERS = ["GFP", "DAPI", "cells", "demo plate wells"]


def run_command(command: str) -> None:
    """What clicking a menu item does: run its command through napari's app model."""
    from napari._app_model import get_app_model

    get_app_model().commands.execute_command(command).result()


def test_manifest_validates_and_every_contribution_is_in_a_menu(make_napari_viewer) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from napari._app_model import get_app_model

    npe2 = pathlib.Path(sys.executable).parent / "npe2"
    proc = subprocess.run([str(npe2), "validate", "ngffkit", "--imports"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "valid" in proc.stdout, proc.stdout + proc.stderr
    make_napari_viewer()  # napari registers plugin menus with its first window
    menus: dict[str, set[str]] = {}
    for menu_id, items in get_app_model().menus:
        for item in items:
            command = getattr(item, "command", None)
            if command is not None and command.id.startswith("ngffkit."):
                menus.setdefault(menu_id, set()).add(command.id)
    # two widgets: napari gives the plugin its own submenu, Plugins > ngffkit OME-Zarr > ...
    assert {"ngffkit.export_widget", "ngffkit.plate_navigator"} <= menus.get("napari/plugins/ngffkit", set())
    assert "ngffkit.open_url" in menus.get("napari/file/io_utilities", set())


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_open_image_with_labels_and_look_at_it(make_napari_viewer, tmp_path: pathlib.Path, version: str, shoot) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer(show=True)
    path = write_coins(tmp_path / "coins.zarr", version)
    layers = viewer.open(str(path), plugin="ngffkit")
    assert [type(layer).__name__ for layer in layers] == ["Image", "Labels"]
    image, labels = layers
    assert image.name == "coins" and labels.name == "coins (labels)"  # napari would have made it "coins [1]"
    assert image.multiscale and list(image.scale) == [0.5, 0.5]
    assert tuple(image.contrast_limits) == (1.0, 252.0) and image.colormap.name == "gray"
    assert tuple(image.axis_labels) == ("y", "x") and str(image.units[0]) == "micrometer"
    assert labels.visible and list(labels.scale) == list(image.scale)
    pixels = shoot(viewer, "with-labels")
    assert pixels.std() > 10  # not blank: the coins are there
    colourful = saturated(pixels)
    labels.visible = False
    assert colourful > 5000 and saturated(shoot(viewer, "without-labels")) < colourful / 50


def test_reader_claims_ome_zarr_and_declines_plain_zarr(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    import zarr

    from ngffkit.napari._reader import get_reader

    zarr.create_array(str(tmp_path / "plain.zarr"), shape=(4, 4), dtype="uint8")
    zarr.create_group(str(tmp_path / "group.zarr"))
    (tmp_path / "notes.txt").write_text("hi")
    for other in ("plain.zarr", "group.zarr", "notes.txt", "missing.zarr"):
        assert get_reader(str(tmp_path / other)) is None, other
    coins = write_coins(tmp_path / "coins.zarr", "0.4")
    assert callable(get_reader(str(coins))) and callable(get_reader(str(coins / "0")))
    assert callable(get_reader("https://example.org/data.zarr"))


def test_bad_metadata_is_one_notification_leading_with_the_reason(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    coins = write_coins(tmp_path / "a-rather-long-folder-name-that-would-push-the-reason-out-of-sight" / "coins.zarr")
    doc = json.loads((coins / "zarr.json").read_text())
    doc["attributes"]["ome"]["version"] = "9.9"
    (coins / "zarr.json").write_text(json.dumps(doc))
    start = notification_count()
    assert viewer.open(str(coins), plugin="ngffkit") == []
    said = notifications_since(start)
    assert len(said) == 1, said
    assert said[0].startswith("Could not open: unknown NGFF version '9.9'") and "ome.version" in said[0]


def test_unusable_units_and_label_colours_are_a_notification_not_a_crash(
    make_napari_viewer, tmp_path: pathlib.Path
) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    path = tmp_path / "odd.zarr"
    axes = [{"name": "y", "type": "space", "unit": "arbitrary unit"}, {"name": "x", "type": "space", "unit": "µ\x1bm"}]
    ngffkit.write_image(np.arange(256, dtype=np.uint8).reshape(16, 16), path, axes=axes)
    ngffkit.write_labels(np.ones((16, 16), np.uint8), path, "cells", colors={1: (255, 0, 0, 255)})
    label_doc = path / "labels" / "cells" / "zarr.json"
    doc = json.loads(label_doc.read_text())
    doc["attributes"]["ome"]["image-label"]["colors"].append({"label-value": 2.5, "rgba": [0, 255, 0, 255]})
    label_doc.write_text(json.dumps(doc))
    start = notification_count()
    image, labels = viewer.open(str(path), plugin="ngffkit")
    said = " ".join(notifications_since(start))
    assert "arbitrary unit" in said and "2.5" in said
    assert np.asarray(image.data).shape == (16, 16) and np.asarray(labels.data).sum() == 256


def test_5d_labels_with_a_singleton_channel_follow_the_split_image(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    """ome-zarr-py writes 5D labels with c of size 1; napari must not get an extra c slider that moves only them."""
    import zarr
    from ome_zarr.io import parse_url
    from ome_zarr.writer import write_image, write_labels

    viewer = make_napari_viewer()
    image = np.random.default_rng(0).integers(0, 100, (3, 2, 4, 32, 32), dtype=np.uint8)
    labels = np.zeros((3, 1, 4, 32, 32), np.uint8)
    labels[1, 0, 2, 8:16, 8:16] = 7  # at t=1, z=2
    store = parse_url(str(tmp_path / "ozp.zarr"), mode="w").store
    root = zarr.group(store=store)
    write_image(image, root, axes="tczyx", scale_factors=[])
    write_labels(labels, root, name="cells", axes="tczyx", scale_factors=[])
    layers = viewer.open(str(tmp_path / "ozp.zarr"), plugin="ngffkit")
    assert [layer.ndim for layer in layers] == [4, 4, 4]
    cells = layers[-1]
    assert cells.metadata["ngff_dropped_axes"] == ["c"] and tuple(cells.axis_labels) == ("t", "z", "y", "x")
    assert viewer.dims.ndim == 4 and tuple(viewer.dims.axis_labels) == ("t", "z", "y", "x")
    viewer.dims.current_step = (1, 2, 0, 0)
    level0 = cells.data[0] if cells.multiscale else cells.data
    assert np.asarray(level0[1, 2]).max() == 7


def test_open_url_from_the_menu_over_http_with_return(make_napari_viewer, qtbot, tmp_path: pathlib.Path, shoot) -> None:  # type: ignore[no-untyped-def]
    from qtpy.QtCore import Qt

    viewer = make_napari_viewer(show=True)
    write_coins(tmp_path / "coins.zarr")
    with http_file_server(tmp_path, listing=False) as server:
        run_command("ngffkit.open_url")
        run_command("ngffkit.open_url")  # twice: still one dialog
        docks = [name for name in viewer.window.dock_widgets if name == "Open OME-Zarr URL"]
        assert docks == ["Open OME-Zarr URL"]
        dialog = viewer.window.dock_widgets["Open OME-Zarr URL"]
        dialog.close_after.value = False
        dialog.url.value = f"{server.url}/coins.zarr"
        qtbot.keyClick(dialog.url.native, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=60_000)
    assert [layer.name for layer in viewer.layers] == ["coins", "coins (labels)"]
    assert dialog.status.value.startswith("opened image")
    assert shoot(viewer, "remote").std() > 10


@pytest.mark.network
def test_open_url_public_s3(make_napari_viewer, qtbot, tmp_path: pathlib.Path, moto_server: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ..conftest import upload_tree

    viewer = make_napari_viewer()
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    upload_tree(moto_server, "napari-public", write_coins(tmp_path / "coins.zarr"), "coins.zarr", public=True)
    run_command("ngffkit.open_url")
    dialog = viewer.window.dock_widgets["Open OME-Zarr URL"]
    options = json.dumps({"client_kwargs": {"endpoint_url": moto_server}, "skip_instance_cache": True})
    dialog.url.value = "s3://napari-public/coins.zarr"
    dialog.anonymous.value = "anonymous"
    dialog.storage_options.value = options
    dialog.open_button.clicked.emit()
    qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=60_000)
    assert "Open OME-Zarr URL" not in viewer.window.dock_widgets  # closed after opening
    start = notification_count()
    run_command("ngffkit.open_url")
    dialog = viewer.window.dock_widgets["Open OME-Zarr URL"]
    dialog.url.value = "s3://napari-public/missing.zarr"
    dialog.storage_options.value = options
    dialog.open_button.clicked.emit()
    qtbot.waitUntil(lambda: dialog.status.value == "could not open", timeout=60_000)
    said = notifications_since(start)
    assert len(said) == 1 and said[0].startswith("Could not open: no zarr group or array here"), said


@pytest.fixture
def stalled_server() -> object:
    """A server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    for connection in held:
        connection.close()
    listener.close()


def test_open_url_never_freezes_napari_and_cancel_works(make_napari_viewer, qtbot, stalled_server: str) -> None:  # type: ignore[no-untyped-def]
    from qtpy.QtCore import QTimer

    viewer = make_napari_viewer(show=True)
    run_command("ngffkit.open_url")
    dialog = viewer.window.dock_widgets["Open OME-Zarr URL"]
    dialog.url.value = f"{stalled_server}/never.zarr"
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    dialog.open_button.clicked.emit()
    qtbot.wait(2000)  # the event loop keeps running while the server says nothing
    assert dialog.busy and dialog.status.value == "opening…"
    dialog.cancel_button.clicked.emit()
    timer.stop()
    gaps = np.diff(ticks)
    assert len(ticks) > 50 and gaps.max() < 1.0, f"the event loop stalled for {gaps.max():.2f} s"
    assert not dialog.busy and dialog.status.value == "cancelled" and len(viewer.layers) == 0


def test_sample_data_opens_from_memory(make_napari_viewer, tmp_path: pathlib.Path, monkeypatch, shoot) -> None:  # type: ignore[no-untyped-def]
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("ngffkit", "coins")
    assert [type(layer).__name__ for layer in viewer.layers] == ["Image", "Labels"]
    viewer.open_sample("ngffkit", "plate")
    assert [layer.name for layer in viewer.layers][2:] == PLATE_LAYERS
    assert shoot(viewer, "plate").std() > 5
    assert list(tmp_path.iterdir()) == []  # nothing left in the temporary folder


def test_timelapse_sample_is_5d_with_aligned_labels(make_napari_viewer) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    viewer.open_sample("ngffkit", "timelapse")
    assert [layer.name for layer in viewer.layers] == ["body", "membrane", "cells"]
    body, _, cells = viewer.layers
    assert body.ndim == cells.ndim == 4  # t, z, y, x (channels became layers)
    assert tuple(body.axis_labels)[:2] == tuple(cells.axis_labels)[:2] == ("t", "z")
    if napari_at_least(0, 9):  # napari shows the layers' axis names on its sliders from 0.9 (numbers before)
        assert viewer.dims.axis_labels[:2] == ("t", "z")
    np.testing.assert_allclose(body.scale, cells.scale)
    viewer.dims.set_point(0, 150.0)  # 30 s per time point: the 6th point
    assert viewer.dims.current_step[0] == 5
    t5_labels = np.asarray(cells.data[0][5])
    t5_body = np.asarray(body.data[0][5])
    assert t5_body[t5_labels > 0].mean() > 3 * t5_body[t5_labels == 0].mean()


def test_plate_is_one_stitched_grid(make_napari_viewer, tmp_path: pathlib.Path, shoot) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer(show=True)
    path = write_plate(tmp_path / "plate.zarr", labels=True)
    layers = viewer.open(str(path), plugin="ngffkit")
    assert [layer.name for layer in layers] == PLATE_LAYERS
    assert layers[0].multiscale and layers[0].data[0].shape == (256, 384)
    assert layers[0].metadata["plate"]["wells"][0] == "A/1"
    assert shoot(viewer)[..., 1].std() > 10  # the green blobs of six wells


def test_zipped_ozx_and_three_channels(make_napari_viewer, tmp_path: pathlib.Path, shoot) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer(show=True)
    ngffkit.write_image(ngffkit.samples.data.coins(), tmp_path / "coins.ozx", name="zipped")
    (layer,) = viewer.open(str(tmp_path / "coins.ozx"), plugin="ngffkit")
    assert layer.name == "zipped" and np.asarray(layer.data[0]).shape == (303, 384)
    viewer.layers.clear()
    astro = ngffkit.samples.data.astronaut()
    ngffkit.write_image(astro, tmp_path / "astro.zarr", axes="cyx", channels=[
        {"label": "R", "color": "FF0000"}, {"label": "G", "color": "00FF00"}, {"label": "B", "color": "0000FF"}])  # fmt: skip
    layers = viewer.open(str(tmp_path / "astro.zarr"), plugin="ngffkit")
    assert [layer.name for layer in layers] == ["R", "G", "B"] and all(lay.blending == "additive" for lay in layers)
    pixels = shoot(viewer, "channels")
    assert pixels[..., 0].std() > 10 and pixels[..., 2].std() > 10
