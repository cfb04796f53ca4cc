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
from peers import OME_ZARR_PY

import ngffkit
from ngffkit.samples.examples import write_coins, write_plate

from ..conftest import use_peer
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
    # several widgets: napari gives the plugin its own submenu, Plugins > ngffkit OME-Zarr > ...
    assert {"ngffkit.export_widget", "ngffkit.plate_navigator", "ngffkit.proofread_widget"} <= menus.get(
        "napari/plugins/ngffkit", set()
    )
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


def napari_asks(url: str):  # type: ignore[no-untyped-def]
    """What napari does on a drop: it calls the manifest's get_reader command (on its GUI thread)."""
    from npe2 import PluginManager

    return PluginManager.instance().commands.get("ngffkit.get_reader")(url)


@pytest.mark.network
def test_urls_are_claimed_by_their_name_or_by_one_request(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    """Every http(s) and s3 URL was claimed unseen, so a plain zarr or a TIFF never reached another reader."""
    import zarr

    make_napari_viewer()
    write_coins(tmp_path / "images" / "coins", "0.5")  # OME-Zarr in a folder not named .zarr
    zarr.create_group(str(tmp_path / "plain"), zarr_format=3)
    (tmp_path / "scan.tif").write_bytes(b"II*\x00" + bytes(64))
    with http_file_server(tmp_path, listing=False) as server:
        for named in ("data.zarr", "data.ome.zarr", "plate.zarr/B/3", "coins.ozx", "x.ZARR/0"):
            assert callable(napari_asks(f"{server.url}/{named}")), named
        assert server.log.paths() == []  # claimed by name: not a request
        # The session's first probe imports the remote store (zarr, aiohttp): on a loaded machine that alone can
        # pass the probe's 1 s, and a probe out of time claims the URL unseen (test_a_url_that_does_not_answer...).
        # Warm it up, so that each probe below is judged by its answer.
        ngffkit.open(f"{server.url}/images/coins")
        server.log.clear()
        for url, claimed in (("images/coins", True), ("plain", False), ("scan.tif", False), ("missing", False)):
            server.log.clear()
            assert callable(napari_asks(f"{server.url}/{url}")) is claimed, url
            assert server.log.paths() == [f"/{url}/zarr.json"], server.log.paths()  # one request


def test_a_url_that_does_not_answer_is_told_within_a_second(make_napari_viewer, stalled_server: str) -> None:  # type: ignore[no-untyped-def]
    make_napari_viewer()
    started = time.monotonic()
    reader = napari_asks(f"{stalled_server}/image")  # the server never answers
    assert callable(reader)  # claimed: the read will say what is wrong, once
    assert time.monotonic() - started < 3.0  # 1 s at most on napari's thread (3: a busy machine's slack)


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


@pytest.mark.peers
def test_5d_labels_with_a_singleton_channel_follow_the_split_image(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    """ome-zarr-py writes 5D labels with c of size 1; napari must not get an extra c slider that moves only them.
    (ome-zarr-py writes them in its own environment, peers/.)"""
    image = np.random.default_rng(0).integers(0, 100, (3, 2, 4, 32, 32), dtype=np.uint8)
    labels = np.zeros((3, 1, 4, 32, 32), np.uint8)
    labels[1, 0, 2, 8:16, 8:16] = 7  # at t=1, z=2
    np.save(tmp_path / "image.npy", image)
    np.save(tmp_path / "labels.npy", labels)
    use_peer(OME_ZARR_PY).call("write", path=tmp_path / "ozp.zarr", data=tmp_path / "image.npy", axes="tczyx",
                               scale_factors=[], labels=[{"data": tmp_path / "labels.npy", "name": "cells",
                                                          "axes": "tczyx", "scale_factors": []}])  # fmt: skip
    viewer = make_napari_viewer()
    layers = viewer.open(str(tmp_path / "ozp.zarr"), plugin="ngffkit")
    assert [layer.ndim for layer in layers] == [4, 4, 4]
    cells = layers[-1]
    assert cells.metadata["ngff_dropped_axes"] == ["c"] and tuple(cells.axis_labels) == ("t", "z", "y", "x")
    assert viewer.dims.ndim == 4
    if napari_at_least(0, 9):  # napari shows the layers' axis names on its sliders from 0.9 (numbers before)
        assert tuple(viewer.dims.axis_labels) == ("t", "z", "y", "x")
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
    assert dialog.url.value == "s3://napari-public/coins.zarr"  # what was opened last, to edit or open again
    assert dialog.storage_options.value == ""  # options belong to one server: not carried to the next URL
    dialog.anonymous.value = "anonymous"
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
    assert [layer.name for layer in layers] == ["R", "G", "B"]
    assert [layer.blending for layer in layers] == ["translucent_no_depth", "additive", "additive"]
    pixels = shoot(viewer, "channels")
    assert pixels[..., 0].std() > 10 and pixels[..., 2].std() > 10


@pytest.mark.peers
def test_label_0_of_ome_zarr_py_is_background(make_napari_viewer, tmp_path: pathlib.Path, shoot) -> None:  # type: ignore[no-untyped-def]
    """ome-zarr-py gives label 0 an opaque colour; napari's labels are shown at once, so the coins sat under a 70%
    tint. Label 0 is background (transparent) unless the properties describe it."""
    from .peers import ome_zarr_create

    viewer = make_napari_viewer(show=True)
    _, labels = viewer.open(str(ome_zarr_create(tmp_path / "coins.zarr")), plugin="ngffkit")
    assert labels.colormap.map(np.array([0]))[0][3] == 0  # transparent
    assert labels.colormap.map(np.array([1]))[0][3] == 1
    level0 = np.asarray(labels.data[0])
    with_labels = shoot(viewer, "with-labels")
    labels.visible = False
    without = shoot(viewer, "without-labels")
    changed = np.abs(with_labels[..., :3].astype(int) - without[..., :3].astype(int)).sum(axis=-1) > 30
    assert changed.mean() < 0.9 * (level0 > 0).mean()  # only the coins are coloured, not the background
    doc = json.loads((tmp_path / "coins.zarr" / "labels" / "coins" / "zarr.json").read_text())
    doc["attributes"]["ome"]["image-label"]["properties"][0]["class"] = "background"  # label 0 described
    (tmp_path / "coins.zarr" / "labels" / "coins" / "zarr.json").write_text(json.dumps(doc))
    viewer.layers.clear()
    _, labels = viewer.open(str(tmp_path / "coins.zarr"), plugin="ngffkit")
    assert labels.colormap.map(np.array([0]))[0][3] == 1  # an object like any other


def write_raw_image(path: pathlib.Path, data: np.ndarray, labels: np.ndarray | None = None) -> pathlib.Path:
    """An OME-Zarr 0.5 image written with zarr itself, of any data type zarr stores (ngffkit's writer refuses
    those napari cannot draw)."""
    import zarr

    def multiscales(name: str) -> dict:
        axes = [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
        transforms = [{"type": "scale", "scale": [1.0, 1.0]}]
        return {"version": "0.5", "multiscales": [{"name": name, "axes": axes, "datasets": [
            {"path": "0", "coordinateTransformations": transforms}]}]}  # fmt: skip

    def array(group: zarr.Group, values: np.ndarray) -> None:  # zarr 3.0 takes no data= yet
        created = group.create_array("0", shape=values.shape, dtype=str if values.dtype.kind == "U" else values.dtype)
        created[...] = values

    root = zarr.open_group(str(path), mode="w", zarr_format=3, attributes={"ome": multiscales("odd")})
    array(root, data)
    if labels is not None:
        root.attrs["ome"] = {**multiscales("odd"), "labels": ["cells"]}
        group = root.create_group("labels", attributes={"ome": {"version": "0.5", "labels": ["cells"]}})
        ome = {**multiscales("cells"), "image-label": {"colors": [{"label-value": 1, "rgba": [255, 0, 0, 255]}]}}
        array(group.create_group("cells", attributes={"ome": ome}), labels)
    return path


@pytest.mark.parametrize("dtype", ["complex64", "datetime64[s]", "str"])
def test_pixels_napari_cannot_draw_are_one_notification(make_napari_viewer, tmp_path: pathlib.Path, dtype: str) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer(show=True)
    data = np.arange(64).reshape(8, 8).astype(dtype)
    path = write_raw_image(tmp_path / "odd.zarr", data)
    start = notification_count()
    assert viewer.open(str(path), plugin="ngffkit") == []
    said = notifications_since(start)
    assert len(said) == 1 and "which napari cannot show" in said[0] and "odd.zarr" in said[0], said


def test_floating_point_labels_are_shown_as_an_image(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer(show=True)
    cells = np.zeros((8, 8), np.float32)
    cells[2:5, 2:5] = 1.0
    path = write_raw_image(tmp_path / "float.zarr", np.ones((8, 8), np.uint8), labels=cells)
    start = notification_count()
    _, shown = viewer.open(str(path), plugin="ngffkit")
    said = notifications_since(start)
    assert len(said) == 1 and "shown as an image" in said[0], said
    assert type(shown).__name__ == "Image" and np.asarray(shown.data).sum() == 9


def test_names_from_metadata_are_printable(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    names = ["line\nbreak", "carriage\rreturn", "back\bspace", "\u202eevil.exe"]
    path = tmp_path / "names.zarr"
    ngffkit.write_image(np.zeros((4, 16, 16), np.uint8), path, axes="cyx", channels=names, name="image\x1b[31m")
    ngffkit.write_labels(np.zeros((16, 16), np.uint8), path, "cells")
    layers = viewer.open(str(path), plugin="ngffkit")
    shown = [layer.name for layer in layers]
    assert shown == ["line\\nbreak", "carriage\\rreturn", "back\\x08space", "\\u202eevil.exe", "cells"]
    assert all(name.isprintable() for name in shown)


def test_channels_blend_as_napari_blends_them(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    """napari's own channel_axis convention: the first channel translucent (over what is below), the others
    added -- also after a save and reopen of layers made in napari."""
    viewer = make_napari_viewer()
    first = viewer.add_image(np.ones((16, 16), np.uint8), name="one")
    second = viewer.add_image(np.ones((16, 16), np.uint8), name="two", blending="additive")
    viewer.layers.selection = {first, second}
    path = tmp_path / "two.zarr"
    assert viewer.layers.save(str(path), selected=True, plugin="ngffkit") == [str(path)]
    viewer.layers.clear()
    assert [layer.blending for layer in viewer.open(str(path), plugin="ngffkit")] == [
        "translucent_no_depth",
        "additive",
    ]


def write_bioformats2raw(path: pathlib.Path, xml: bytes | None) -> pathlib.Path:
    """A bioformats2raw container (NGFF 0.4, as bioformats2raw writes it): two series -- one channel of 64 x 96,
    two channels of 48 x 48 -- both named "image" in their own metadata, and the OME-XML beside them."""
    rng = np.random.default_rng(0)
    ngffkit.write_image(rng.integers(0, 4000, (64, 96), np.uint16), path / "0", version="0.4", name="image")
    ngffkit.write_image(rng.integers(0, 4000, (2, 48, 48), np.uint16), path / "1", version="0.4", name="image",
                        axes="cyx", channels=["DAPI", "GFP"])  # fmt: skip
    for group, attributes in ((path, {"bioformats2raw.layout": 3}), (path / "OME", {"series": ["0", "1"]})):
        group.mkdir(exist_ok=True)
        (group / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
        (group / ".zattrs").write_text(json.dumps(attributes))
    if xml is not None:
        (path / "OME" / "METADATA.ome.xml").write_bytes(xml)
    return path


OME_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">
  <Image ID="Image:0" Name="overview"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16"/></Image>
  <Image ID="Image:1" Name="detail&#10;&#x202e;1"><Pixels ID="Pixels:1" DimensionOrder="XYZCT" Type="uint16"/></Image>
</OME>"""


def test_bioformats2raw_series_are_named_and_side_by_side(make_napari_viewer, tmp_path: pathlib.Path, shoot) -> None:  # type: ignore[no-untyped-def]
    """The series were stacked at one place, named "image" and "image [1]". They are named from the OME-XML
    (escaped like every name) and stand side by side."""
    viewer = make_napari_viewer(show=True)
    path = write_bioformats2raw(tmp_path / "scan.zarr", OME_XML)
    layers = viewer.open(str(path), plugin="ngffkit")
    assert [layer.name for layer in layers] == ["overview", "detail\\n\\u202e1 · DAPI", "detail\\n\\u202e1 · GFP"]
    first, second = (layer.extent.world[:, -1] for layer in (layers[0], layers[1]))  # x from, x to
    assert second[0] > first[1]  # the second series starts right of the first: none hides another
    pixels = shoot(viewer, "series")
    columns = np.nonzero(pixels[..., :3].max(axis=(0, 2)) > 20)[0]
    assert np.diff(columns).max() > 1  # two pictures with a gap between them


@pytest.mark.parametrize(
    "xml",
    [
        b'<?xml version="1.0"?><!DOCTYPE OME [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<OME><Image Name="&b;"/></OME>',  # entity expansion ("billion laughs", small)
        b"<OME><Image Name='unclosed'></OME>",  # not well-formed
        b"<OME>" + b"<Image Name='x'/>" * 200_000 + b"</OME>",  # larger than a document may be (here 1 MB)
    ],
    ids=["entities", "broken", "too large"],
)
def test_a_bad_ome_xml_is_one_notification_and_the_series_are_shown(
    make_napari_viewer, tmp_path: pathlib.Path, xml: bytes, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NGFFKIT_MAX_DOCUMENT_BYTES", str(1_000_000))
    viewer = make_napari_viewer()
    path = write_bioformats2raw(tmp_path / "scan.zarr", xml)
    start = notification_count()
    layers = viewer.open(str(path), plugin="ngffkit")
    said = notifications_since(start)
    assert len(said) == 1 and "series names not read" in said[0] and "METADATA.ome.xml" in said[0], said
    assert [layer.name for layer in layers] == ["image", "DAPI", "GFP"]
    assert layers[1].extent.world[0, -1] > layers[0].extent.world[1, -1]  # still side by side


def test_a_level_of_a_trillion_tiny_chunks_is_one_notification(make_napari_viewer, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    """2,000,000 x 2,000,000 pixels in 2 x 2 chunks and no pyramid: the API reads four pixels at once, but napari
    reads a single level's whole plane to draw it -- it ran past 20 s, then out of memory. One notification."""
    import zarr

    viewer = make_napari_viewer()
    path = tmp_path / "tiny.zarr"
    axes = [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
    datasets = [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1.0, 1.0]}]}]
    root = zarr.open_group(str(path), mode="w", zarr_format=3,
                           attributes={"ome": {"version": "0.5", "multiscales": [{"axes": axes, "datasets": datasets}]}})  # fmt: skip
    root.create_array("0", shape=(2_000_000, 2_000_000), chunks=(2, 2), dtype="uint8", fill_value=0)
    root["0"][0:2, 0:2] = np.array([[1, 2], [3, 4]], np.uint8)
    np.testing.assert_array_equal(ngffkit.open(path).levels[0][0:2, 0:2].compute(), [[1, 2], [3, 4]])
    start = notification_count()
    assert viewer.open(str(path), plugin="ngffkit") == []
    said = notifications_since(start)
    assert len(said) == 1 and "2,000,000 x 2,000,000 pixels" in said[0] and "too large for napari" in said[0], said


def one_byte_chunks_ozx(volume: np.ndarray, path: pathlib.Path) -> pathlib.Path:
    """A .ozx of ``volume`` (uint8) in 1x1x1 chunks, packed as the writer packs it (every zarr.json first, stored
    entries) from a level written in one chunk and re-chunked in its metadata: the writer takes minutes for 20,000
    chunk files, which belong to no reader."""
    import zipfile

    from ngffkit.formats import get_format
    from ngffkit.store.ozx import archive_comment

    folder = path.with_suffix(".zarr")
    ngffkit.write_image(volume, folder, axes="zyx", levels=1, chunks=volume.shape, compressor="none", version="0.5")
    level = json.loads((folder / "0" / "zarr.json").read_text())
    level["chunk_grid"]["configuration"]["chunk_shape"] = [1, 1, 1]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.write(folder / "zarr.json", "zarr.json")
        archive.writestr("0/zarr.json", json.dumps(level))
        for (z, y, x), value in np.ndenumerate(volume):
            archive.writestr(f"0/c/{z}/{y}/{x}", bytes((int(value),)))
        archive.comment = archive_comment(get_format("0.5"))
    assert ngffkit.validate(path).valid
    return path


@pytest.mark.parametrize("planes", [160, 320])
def test_first_picture_of_a_tiny_chunked_ozx_reads_a_bounded_number_of_entries(  # type: ignore[no-untyped-def]
    make_napari_viewer, tmp_path: pathlib.Path, shoot, planes: int
) -> None:
    """issue 31: napari's first picture of a .ozx of one-byte chunks reads the dask blocks that hold the planes it
    slices (napari turns dask's fusion off, so it reads whole blocks) -- blocks of at most BLOCK_CHUNKS entries, read
    in bulk: as many entries for 320 planes as for 160, not every chunk of the level. napari slices twice: the
    layer's constructor plane 0, then the viewer its centre plane."""
    from ngffkit.reader.entry_reads import BLOCK_CHUNKS
    from ngffkit.store import dask_graphs

    volume = (np.arange(planes * 8 * 8) % 251).astype(np.uint8).reshape(planes, 8, 8)
    path = one_byte_chunks_ozx(volume, tmp_path / "tiny.ozx")
    viewer = make_napari_viewer(show=True)
    (layer,) = viewer.open(str(path), plugin="ngffkit")
    store = dask_graphs.sole_source(layer.data).array.store_path.store
    pixels = shoot(viewer, f"{planes} planes")
    assert pixels[..., :3].std() > 10  # drawn: the ramp of the middle plane
    shown = viewer.dims.current_step[0]
    assert shown == (planes - 1) // 2  # napari's centre plane
    np.testing.assert_array_equal(np.asarray(layer._slice.image.raw), volume[shown])
    chunks_read = store.entries_read - 2  # the image's and the level's zarr.json
    assert 64 <= chunks_read <= 2 * BLOCK_CHUNKS < volume.size  # two blocks of planes, not the whole level
