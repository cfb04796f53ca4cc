"""The plate navigator, the way a person uses it: open a plate, the navigator docks itself; choose wells in the
table, with Previous/Next, or by clicking the overview; load the lab's CSV of conditions and filter by it."""

from __future__ import annotations

import importlib
import pathlib

import numpy as np
import pytest
import zarr
from loopback.servers import http_file_server
from peers import NGIO

import ngffkit
from ngffkit.napari._plate import WELL_VIEW
from ngffkit.samples.examples import write_plate, write_plate_conditions

from ..conftest import use_peer
from ..reader.ngio_tables import anndata_table, csv_table, json_table
from .conftest import in_view, notification_count, notifications_since

DOCK = "Plate navigator"


@pytest.fixture
def plate_path(tmp_path: pathlib.Path) -> pathlib.Path:
    return write_plate(tmp_path / "plate.zarr", labels=True)


def open_plate(viewer, qtbot, target: str):  # type: ignore[no-untyped-def]
    viewer.open(target, plugin="ngffkit")

    def docked() -> str | None:
        return next((name for name in viewer.window.dock_widgets if name.startswith(DOCK)), None)

    qtbot.waitUntil(lambda: docked() is not None, timeout=10_000)  # docked by napari's own route
    navigator = viewer.window.dock_widgets[docked()]
    qtbot.waitUntil(lambda: navigator.plate is not None, timeout=10_000)
    return navigator


def well_layers(viewer):  # type: ignore[no-untyped-def]
    return [layer for layer in viewer.layers if layer.metadata.get(WELL_VIEW)]


def wait_for_well(viewer, qtbot, well: str, field: int = 0):  # type: ignore[no-untyped-def]
    """The well's layers, once the navigator has taken every step of showing it (its status says so: the first
    well after opening adds its layers one turn of the event loop at a time) and each shows that well."""

    def shown() -> bool:
        navigators = [w for name, w in viewer.window.dock_widgets.items() if name.startswith(DOCK)]
        if any(n.status.text() != f"{well}, field {field}: full resolution" for n in navigators):
            return False
        layers = well_layers(viewer)
        return bool(layers) and all(lay.metadata[WELL_VIEW] == {"well": well, "field": field} for lay in layers)

    qtbot.waitUntil(shown, timeout=30_000)
    return well_layers(viewer)


def test_a_plate_opens_with_names_and_its_navigator(make_napari_viewer, qtbot, plate_path, shoot) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer(show=True)
    navigator = open_plate(viewer, qtbot, str(plate_path))
    assert navigator.visible_wells() == ["A/1", "A/2", "A/3", "B/1", "B/2", "B/3"]
    assert "2 rows x 3 columns" in navigator.title.text() and "2 acquisitions" in navigator.title.text()
    headers = [navigator.table.horizontalHeaderItem(j).text() for j in range(navigator.table.columnCount())]
    assert headers == ["well", "row", "column", "fields", "acquisition"]
    assert navigator.table.item(0, 4).text() == "0, 1"  # both acquisitions in every well
    wells = viewer.layers["demo plate wells"]
    assert list(wells.features["name"]) == navigator.visible_wells() and wells.text.visible
    with_names = shoot(viewer, "overview-with-names")
    wells.visible = False
    without = shoot(viewer, "overview-without-names")
    outlines = np.abs(with_names.astype(int) - without.astype(int)).sum(axis=-1) > 60
    assert outlines.sum() > 500  # outlines and names are drawn over the plate


def test_a_plate_opens_whole_in_view_beside_its_navigator(make_napari_viewer, qtbot, plate_path) -> None:  # type: ignore[no-untyped-def]
    """The navigator docks after the plate's layers are added and narrows the canvas when Qt lays the window out
    -- for a script that opens a plate and then shows napari (``napari.run()``), only once the window is shown:
    the view is fitted to the canvas as laid out, not to the one before (the first and last columns were cut
    off)."""
    viewer = make_napari_viewer(show=False)
    open_plate(viewer, qtbot, str(plate_path))
    viewer.window.show()
    overview = [layer for layer in viewer.layers if not layer.metadata.get(WELL_VIEW)]
    qtbot.waitUntil(lambda: in_view(viewer, overview), timeout=10_000)


def test_a_large_plate_is_a_grid_with_its_rows_and_columns_named(
    make_napari_viewer, qtbot, plate_path, shoot, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(importlib.import_module("ngffkit.layer_data"), "NAMED_WELLS", 5)  # 6 wells count as many
    viewer = make_napari_viewer(show=True)
    navigator = open_plate(viewer, qtbot, str(plate_path))
    assert navigator.visible_wells() == ["A/1", "A/2", "A/3", "B/1", "B/2", "B/3"]  # the table lists every well
    wells = viewer.layers["demo plate wells"]
    assert list(wells.shape_type) == ["path"] + ["rectangle"] * 5
    assert list(wells.features["name"]) == ["", "A", "B", "1", "2", "3"]
    with_names = shoot(viewer, "grid-with-names")
    wells.visible = False
    without = shoot(viewer, "grid-without-names", reset=False)
    changed = np.abs(with_names.astype(int) - without.astype(int)).sum(axis=-1) > 60
    ys, xs = np.nonzero(without[..., :3].sum(axis=-1) > 30)  # the plate's pixels
    top, left = ys.min(), xs.min()
    assert changed[top:, :left].sum() > 30 and changed[:top, left:].sum() > 30  # names left of and above it
    assert changed[top:, left:].sum() > 300  # the grid's lines over it


def test_choosing_wells_in_the_table_shows_them_at_full_resolution(
    make_napari_viewer, qtbot, plate_path, shoot
) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer(show=True)
    navigator = open_plate(viewer, qtbot, str(plate_path))
    navigator.select("B/3")
    layers = wait_for_well(viewer, qtbot, "B/3")
    assert [layer.name for layer in layers] == ["B/3 · GFP", "B/3 · DAPI", "B/3 · cells"]
    field = ngffkit.open(plate_path / "B" / "3" / "0")
    assert layers[0].multiscale and len(layers[0].data) == len(field.levels)
    np.testing.assert_array_equal(np.asarray(layers[0].data[0]), field.levels[0][0].compute())
    np.testing.assert_array_equal(np.asarray(layers[2].data[0]), field.label("cells").levels[0].compute())
    overview = viewer.layers["GFP"]
    cell_y, cell_x = 1 * 128 * overview.scale[-2], 2 * 128 * overview.scale[-1]  # row B, column 3
    assert tuple(layers[0].translate[-2:]) == pytest.approx(
        (cell_y + field.translation(0)[-2], cell_x + field.translation(0)[-1])
    )
    pixels = shoot(viewer, "well-B3", reset=False)
    assert pixels[..., 1].std() > 10  # the green blob, large
    navigator.field.setValue(1)
    layers = wait_for_well(viewer, qtbot, "B/3", field=1)
    np.testing.assert_array_equal(
        np.asarray(layers[0].data[0]), ngffkit.open(plate_path / "B" / "3" / "1").levels[0][0].compute()
    )
    navigator.acquisition.setCurrentIndex(2)  # "acquisition 1: second pass": its first field is field 1
    assert navigator.acquisition.isVisible() and navigator.field_indices() == [1]
    assert navigator.field.value() == 0 and navigator.field.maximum() == 0
    wait_for_well(viewer, qtbot, "B/3", field=1)
    navigator.acquisition.setCurrentIndex(0)  # every acquisition again: the field box counts both (stays at 0)
    navigator.step(-1)  # Previous well: B/2, the previous well's layers are replaced
    layers = wait_for_well(viewer, qtbot, "B/2", field=0)
    assert all(layer.name.startswith("B/2") for layer in layers) and len(layers) == 3


def test_clicking_a_well_in_the_overview_chooses_it(make_napari_viewer, qtbot, plate_path) -> None:  # type: ignore[no-untyped-def]
    from qtpy.QtCore import QPoint, Qt
    from qtpy.QtWidgets import QApplication

    viewer = make_napari_viewer(show=True)
    navigator = open_plate(viewer, qtbot, str(plate_path))
    viewer.reset_view()
    overview = viewer.layers["GFP"]
    world_y = (128 + 64) * overview.scale[-2]  # the middle of well B/2 (row 1, column 1)
    world_x = (128 + 64) * overview.scale[-1]
    canvas = next(w for w in QApplication.allWidgets() if type(w).__name__ == "CanvasBackendDesktop" and w.isVisible())
    from ngffkit.napari._napari_adapter import camera

    center_y, center_x = camera(viewer).center[-2:]
    zoom = camera(viewer).zoom / canvas.devicePixelRatioF()
    point = QPoint(round(canvas.width() / 2 + (world_x - center_x) * zoom),
                   round(canvas.height() / 2 + (world_y - center_y) * zoom))  # fmt: skip
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=point)
    layers = wait_for_well(viewer, qtbot, "B/2")
    assert navigator.well == "B/2" and layers[0].name == "B/2 · GFP"
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_PageDown)  # the next well, from the keyboard
    wait_for_well(viewer, qtbot, "B/3")
    qtbot.keyClick(canvas, Qt.Key.Key_PageUp)
    wait_for_well(viewer, qtbot, "B/2")


def test_conditions_from_a_csv_filter_the_wells(make_napari_viewer, qtbot, plate_path, tmp_path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    navigator = open_plate(viewer, qtbot, str(plate_path))
    csv = write_plate_conditions(tmp_path / "conditions.csv")
    with open(csv, "a", encoding="utf-8") as f:
        f.write("H12,treated,taxol,9\n")  # a line for a well this plate does not have
    before = notification_count()
    navigator.add_columns_from(str(csv))
    assert "1 lines match no well (H12)" in " ".join(notifications_since(before))
    headers = [navigator.table.horizontalHeaderItem(j).text() for j in range(navigator.table.columnCount())]
    assert headers[-3:] == ["condition", "drug", "concentration_uM"]
    navigator.filter.setText("nocodazole")
    assert navigator.visible_wells() == ["B/1", "B/2", "B/3"]
    navigator.step(1)
    wait_for_well(viewer, qtbot, "B/1")
    navigator.step(1)
    wait_for_well(viewer, qtbot, "B/2")


def test_a_field_that_cannot_be_read_leaves_nothing_misleading(make_napari_viewer, qtbot, plate_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    viewer = make_napari_viewer()
    navigator = open_plate(viewer, qtbot, str(plate_path))
    navigator.select("A/2")
    wait_for_well(viewer, qtbot, "A/2")
    shutil.rmtree(plate_path / "A" / "2" / "1")  # the data goes away while the plate is open
    before = notification_count()
    navigator.field.setValue(1)
    qtbot.waitUntil(lambda: navigator.status.text() == "could not open this well", timeout=30_000)
    assert well_layers(viewer) == []  # field 0's layers are not left on show as if they were field 1
    assert any("has no readable field 1" in n for n in notifications_since(before))
    viewer.layers.clear()  # the plate is closed: the navigator forgets it
    assert navigator.plate is None and navigator.table.rowCount() == 0


def test_deleting_every_layer_while_a_well_is_open(make_napari_viewer, qtbot, plate_path) -> None:  # type: ignore[no-untyped-def]
    """Delete with every layer selected (napari's remove_selected): the navigator let go of the plate and removed
    the well's layers while napari was still removing them, and napari failed: "<Image layer ...> is not in list"."""
    viewer = make_napari_viewer()
    navigator = open_plate(viewer, qtbot, str(plate_path))
    navigator.select("A/2")
    wait_for_well(viewer, qtbot, "A/2")
    viewer.layers.select_all()
    viewer.layers.remove_selected()
    assert len(viewer.layers) == 0 and navigator.plate is None and navigator.table.rowCount() == 0

    # the plate's own layers alone: the well's go with them, once napari is done
    navigator = open_plate(viewer, qtbot, str(plate_path))
    navigator.select("A/2")
    wait_for_well(viewer, qtbot, "A/2")
    viewer.layers.selection = {layer for layer in viewer.layers if layer not in well_layers(viewer)}
    viewer.layers.remove_selected()
    qtbot.waitUntil(lambda: len(viewer.layers) == 0, timeout=5_000)
    assert navigator.plate is None


@pytest.mark.network
def test_switching_wells_of_a_remote_plate_costs_few_round_trips(make_napari_viewer, qtbot, plate_path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    with http_file_server(plate_path.parent, listing=False, latency=0.05) as server:
        navigator = open_plate(viewer, qtbot, f"{server.url}/{plate_path.name}")
        # the overview reads the wells its first view covers in the background; those first reads are not the
        # switch's (they fell into its window when the machine was busy)
        qtbot.waitUntil(lambda: server.log.idle_for(0.5), timeout=30_000)
        for well in ("A/3", "B/1"):
            server.log.clear()
            navigator.select(well)
            wait_for_well(viewer, qtbot, well)

            def is_document(path: str) -> bool:
                return path.rsplit("/", 1)[-1] in ("zarr.json", ".zattrs", ".zarray", ".zgroup")

            documents = [p for p in server.log.paths() if is_document(p)]
            assert all(f"/{well}/" in p for p in documents), documents  # nothing of other wells is read again
            # the well's labels group, its label image, the label's arrays: at most 3 round trips of metadata
            assert server.log.sequential_waves(keep=is_document) <= 3, server.log.entries


@pytest.mark.network
def test_a_plate_opened_with_a_password_never_shows_it_and_the_navigator_still_works(  # type: ignore[no-untyped-def]
    make_napari_viewer, qtbot, plate_path
) -> None:
    """The URL's credentials reach the server, never the person: layer names, layer metadata (napari's console and
    other plugins show and save it), the navigator and notifications show the URL redacted -- and the navigator,
    which finds the plate's layers by an identity key instead, still switches wells and tiles every field."""
    secret = "hunter2pw"
    viewer = make_napari_viewer()
    before = notification_count()
    with http_file_server(plate_path.parent, listing=False, basic_auth=("user", secret)) as server:
        url = f"{server.url.replace('http://', f'http://user:{secret}@')}/{plate_path.name}"
        navigator = open_plate(viewer, qtbot, url)
        for well in ("B/3", "A/1"):
            navigator.select(well)
            layers = wait_for_well(viewer, qtbot, well)
            assert [layer.name for layer in layers] == [f"{well} · GFP", f"{well} · DAPI", f"{well} · cells"]
        np.testing.assert_array_equal(  # the pixels came through the credentials
            np.asarray(layers[0].data[0]), ngffkit.open(plate_path / "A" / "1" / "0").levels[0][0].compute()
        )
        cells = viewer.layers["cells"]
        navigator.every_field.setChecked(True)  # replaces the overview's label grid: found by the identity key
        qtbot.waitUntil(lambda: cells.data[0].shape == (256, 768), timeout=30_000)
        qtbot.waitUntil(lambda: navigator.status.text() == "A/1, field 0: full resolution", timeout=30_000)
        assert any(entry["authorization"] for entry in server.log.entries)
        shown = [layer.name for layer in viewer.layers] + [repr(layer.metadata) for layer in viewer.layers]
        shown += [navigator.title.text(), navigator.status.text(), *notifications_since(before)]
        assert not [text for text in shown if secret in text]
        overview = [layer for layer in viewer.layers if not layer.metadata.get(WELL_VIEW)]
        assert {layer.metadata["ngff_url"] for layer in overview} == {url.replace(f"user:{secret}", "***")}
        assert len({layer.metadata["ngff_source"] for layer in overview}) == 1


@pytest.mark.network
def test_a_well_that_answers_after_the_navigator_is_gone_is_dropped(make_napari_viewer, qtbot, plate_path) -> None:  # type: ignore[no-untyped-def]
    """A well still being read when the navigator is closed (or napari quits) answers a deleted Qt widget: its
    answer is dropped, instead of a traceback about a deleted QLabel."""
    from loopback.servers import FaultPlan
    from qtpy.QtCore import QThreadPool
    from qtpy.QtWidgets import QApplication

    held = f"/{plate_path.name}/A/1/1/zarr.json"  # field 1 of A/1: the overview shows first fields only
    faults = FaultPlan(rules={held: ["always:hold"]})
    viewer = make_napari_viewer()
    with http_file_server(plate_path.parent, listing=False, faults=faults) as server:
        navigator = open_plate(viewer, qtbot, f"{server.url}/{plate_path.name}")
        navigator.select("A/1")
        wait_for_well(viewer, qtbot, "A/1")
        navigator.field.setValue(1)
        qtbot.waitUntil(lambda: bool(faults.held()), timeout=30_000)
        gone: list[bool] = []
        navigator.destroyed.connect(lambda *_: gone.append(True))
        viewer.window.remove_dock_widget(navigator)
        navigator.deleteLater()
        qtbot.waitUntil(lambda: bool(gone), timeout=10_000)
        faults.release()
        QThreadPool.globalInstance().waitForDone(60_000)  # the well's read has ended: its answer is queued
        QApplication.processEvents()  # and delivered; pytest-qt fails the test on an exception in a slot
    assert [layer.metadata[WELL_VIEW] for layer in well_layers(viewer)] == [{"well": "A/1", "field": 0}] * 3


def test_every_field_of_a_well_in_the_overview(make_napari_viewer, qtbot, plate_path, shoot) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer(show=True)
    navigator = open_plate(viewer, qtbot, str(plate_path))
    navigator.every_field.setChecked(True)
    gfp, cells = viewer.layers["GFP"], viewer.layers["cells"]
    qtbot.waitUntil(lambda: gfp.data[0].shape != (256, 384), timeout=30_000)  # tiled in a worker thread
    wells = viewer.layers["demo plate wells"]
    assert gfp.data[0].shape == (256, 768) and cells.data[0].shape == (256, 768)  # 2 fields side by side per well
    b3_field1 = ngffkit.open(plate_path / "B" / "3" / "1")
    np.testing.assert_array_equal(np.asarray(gfp.data[0][128:256, 640:768]), b3_field1.levels[0][0].compute())
    np.testing.assert_array_equal(np.asarray(cells.data[0][128:256, 640:768]),
                                  b3_field1.label("cells").levels[0].compute())  # fmt: skip
    wells = viewer.layers["demo plate wells"]  # redrawn for the new cells, in the plate's own units
    assert tuple(wells.units) == tuple(gfp.units)
    b3 = list(wells.features["name"]).index("B/3")
    assert wells.data[b3].tolist() == [[128, 512], [128, 768], [256, 768], [256, 512]]
    navigator.select("B/3")
    navigator.field.setValue(1)
    layers = wait_for_well(viewer, qtbot, "B/3", field=1)
    expected_x = (512 + 128) * gfp.scale[-1] + b3_field1.translation(0)[-1]  # field 1's own place in the cell
    assert layers[0].translate[-1] == pytest.approx(expected_x)
    assert shoot(viewer, "every-field")[..., 1].std() > 5
    navigator.every_field.setChecked(False)
    qtbot.waitUntil(lambda: gfp.data[0].shape == (256, 384), timeout=30_000)


def test_closing_the_navigator_lets_go_of_the_viewer(make_napari_viewer, qtbot, plate_path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    navigator = open_plate(viewer, qtbot, str(plate_path))
    callbacks = len(viewer.mouse_drag_callbacks)
    viewer.window.remove_dock_widget(navigator)
    navigator.deleteLater()
    qtbot.waitUntil(lambda: len(viewer.mouse_drag_callbacks) == callbacks - 1, timeout=10_000)
    viewer.layers.clear()  # no longer reaches the deleted widget
    viewer.open(str(plate_path), plugin="ngffkit")  # and a plate opened later docks a new navigator
    qtbot.waitUntil(lambda: any(n.startswith(DOCK) for n in viewer.window.dock_widgets), timeout=10_000)


def test_switching_wells_reuses_the_well_layers(make_napari_viewer, qtbot, plate_path, shoot) -> None:  # type: ignore[no-untyped-def]
    """Removing a well's layers and adding the next one's froze napari for 1.8-2.1 s a switch (napari collects
    garbage at each removal). The layers stay: the next well's pixels, place and name are given to them."""
    viewer = make_napari_viewer(show=True)
    navigator = open_plate(viewer, qtbot, str(plate_path))
    navigator.select("A/1")
    first = wait_for_well(viewer, qtbot, "A/1")
    changes: list[str] = []
    viewer.layers.events.inserted.connect(lambda event: changes.append(f"added {event.value.name}"))
    viewer.layers.events.removed.connect(lambda event: changes.append(f"removed {event.value.name}"))
    navigator.select("B/2")
    second = wait_for_well(viewer, qtbot, "B/2")
    assert changes == [] and [id(layer) for layer in second] == [id(layer) for layer in first]
    assert [layer.name for layer in second] == ["B/2 · GFP", "B/2 · DAPI", "B/2 · cells"]
    field = ngffkit.open(plate_path / "B" / "2" / "0")
    np.testing.assert_array_equal(np.asarray(second[0].data[0]), field.levels[0][0].compute())
    np.testing.assert_array_equal(np.asarray(second[2].data[0]), field.label("cells").levels[0].compute())
    overview = viewer.layers["GFP"]
    cell = (1 * 128 * overview.scale[-2], 1 * 128 * overview.scale[-1])  # row B, column 2
    assert tuple(second[2].translate[-2:]) == pytest.approx(
        (cell[0] + field.translation(0)[-2], cell[1] + field.translation(0)[-1])
    )
    assert second[2].colormap.map(np.array([int(field.label("cells").levels[0].max().compute())]))[0][3] == 1
    shown = shoot(viewer, "B2", reset=False)
    for layer in second:  # drawn afresh from scratch: the same picture (nothing of A/1 left on screen)
        layer.refresh()
    np.testing.assert_array_equal(shoot(viewer, "B2-refreshed", reset=False), shown)


def test_napari_gets_a_turn_between_the_layers_of_the_next_well(make_napari_viewer, qtbot, plate_path) -> None:  # type: ignore[no-untyped-def]
    """Giving all three layers the next well at once stopped napari's event loop 100-200 ms a switch: they are
    given one per turn of the loop -- a timer that beats whenever the loop runs beats between every two of them
    (a zero-time timer asked for after the first is not enough: under load, Qt may run the next step's timer, due
    as well by then, before it) -- and in the end all three show the next well."""
    from qtpy.QtCore import QTimer

    viewer = make_napari_viewer(show=True)
    navigator = open_plate(viewer, qtbot, str(plate_path))
    navigator.select("A/1")
    layers = wait_for_well(viewer, qtbot, "A/1")
    beats = [0]
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: beats.__setitem__(0, beats[0] + 1))
    heartbeat.start(1)
    at_data: list[int] = []
    for layer in layers:
        layer.events.data.connect(lambda _: at_data.append(beats[0]))
    navigator.select("B/2")
    assert wait_for_well(viewer, qtbot, "B/2") == layers  # the same layers, given the next well
    heartbeat.stop()
    assert len(at_data) == 3 and at_data[0] < at_data[1] < at_data[2], at_data


def test_the_first_well_adds_its_layers_one_turn_of_the_event_loop_at_a_time(  # type: ignore[no-untyped-def]
    make_napari_viewer, qtbot, plate_path
) -> None:
    """The first well shown after a plate opens has no layers to reuse: napari builds each new layer's controls
    and visual (150-300 ms apiece), and adding all three at once stopped the window for 0.45-1 s. They are added
    one per turn of the event loop: a timer that beats whenever the loop runs beats between every two of them."""
    from qtpy.QtCore import QTimer

    viewer = make_napari_viewer(show=True)
    navigator = open_plate(viewer, qtbot, str(plate_path))
    beats = [0]
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: beats.__setitem__(0, beats[0] + 1))
    heartbeat.start(1)
    at_insert: list[int] = []
    viewer.layers.events.inserted.connect(lambda _: at_insert.append(beats[0]))
    navigator.select("A/2")
    layers = wait_for_well(viewer, qtbot, "A/2")
    heartbeat.stop()
    assert [layer.name for layer in layers] == ["A/2 · GFP", "A/2 · DAPI", "A/2 · cells"]
    assert len(at_insert) == 3 and at_insert[0] < at_insert[1] < at_insert[2], at_insert


def test_choosing_a_well_centres_it_zoomed_as_before(make_napari_viewer, qtbot, plate_path) -> None:  # type: ignore[no-untyped-def]
    """The view is centred on the chosen well's cell at the zoom that fits the plate times 0.9 x the smaller of its
    rows and columns -- computed, no longer reached by fitting the plate first (each camera change moves every
    visual)."""
    from ngffkit.napari._napari_adapter import camera

    viewer = make_napari_viewer(show=True)
    navigator = open_plate(viewer, qtbot, str(plate_path))  # 2 rows x 3 columns, cells of 128 x 128 pixels
    scale = viewer.layers["GFP"].scale[-2:]
    view = camera(viewer)
    for well, (row, column) in {"B/2": (1, 1), "A/3": (0, 2)}.items():
        navigator.select(well)
        wait_for_well(viewer, qtbot, well)
        qtbot.waitUntil(lambda: navigator.status.text().endswith("full resolution"), timeout=10_000)
        assert tuple(view.center)[-2:] == pytest.approx(((128 * row + 64) * scale[0], (128 * column + 64) * scale[1]))
    zoom = view.zoom  # the second well's: the first was chosen as the new dock narrowed the canvas
    viewer.reset_view()
    assert zoom == pytest.approx(view.zoom * 0.9 * 2, rel=0.02)


def test_the_coarsest_level_of_a_well_is_read_in_the_worker() -> None:
    """napari reads a 2D pyramid's coarsest level whole on its GUI thread whenever the data is replaced: the
    navigator's worker reads it first (small 2D dask levels only; the rest stays lazy)."""
    import dask.array as da

    from ngffkit.napari._well_layers import COARSEST_READ_BYTES, coarsest_read

    pyramid = [da.ones((64, 64), chunks=32), da.ones((32, 32), chunks=32)]
    big = [da.ones((8192, 8192), chunks=1024), da.zeros((4096, 4096), chunks=1024)]  # 128 MiB coarsest: too big
    layers = coarsest_read([(pyramid, {}, "image"), (big, {}, "labels"), (pyramid[0], {}, "image")])
    (read, _, _), (left, _, _), (single, _, _) = layers
    assert isinstance(read[0], da.Array) and isinstance(read[1], np.ndarray) and read[1].shape == (32, 32)
    assert left is big and big[1].nbytes > COARSEST_READ_BYTES and single is pyramid[0]


def test_the_overview_does_not_show_through_the_opened_well(make_napari_viewer, qtbot, plate_path, shoot) -> None:  # type: ignore[no-untyped-def]
    """With Field 1, the opened field was drawn over the overview's field 0 (every channel added): each cell
    showed the nuclei of two fields at once. The overview is hidden under the opened well."""
    viewer = make_napari_viewer(show=True)
    navigator = open_plate(viewer, qtbot, str(plate_path))
    navigator.field.setValue(1)
    navigator.select("B/2")
    wait_for_well(viewer, qtbot, "B/2", field=1)
    height, width = shoot(viewer, "field-1", reset=False).shape[:2]
    centre = (slice(height // 3, 2 * height // 3), slice(width // 3, 2 * width // 3))  # inside the well's cell
    with_overview = shoot(viewer, "field-1", reset=False)[centre]
    for name in ("GFP", "DAPI", "cells"):  # the overview's layers
        viewer.layers[name].visible = False
    without_overview = shoot(viewer, "field-1-alone", reset=False)[centre]
    assert without_overview[..., :3].std() > 5  # the field is there
    np.testing.assert_array_equal(with_overview, without_overview)


def test_a_well_path_opens_with_its_labels(make_napari_viewer, plate_path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    layers = viewer.open(str(plate_path / "B" / "3"), plugin="ngffkit")
    assert [type(layer).__name__ for layer in layers] == ["Image", "Image", "Labels"]
    cells = layers[-1]
    fields = [ngffkit.open(plate_path / "B" / "3" / str(f)).label("cells").levels[0].compute() for f in (0, 1)]
    level0 = np.asarray(cells.data[0] if cells.multiscale else cells.data)
    assert level0.shape == (128, 256)  # two fields side by side, as the image tiles them
    np.testing.assert_array_equal(level0[:, :128], fields[0])
    np.testing.assert_array_equal(level0[:, 128:], fields[1])
    assert tuple(cells.scale) == tuple(layers[0].scale) and tuple(cells.translate) == tuple(layers[0].translate)


def test_the_sample_plate_docks_its_navigator(make_napari_viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    viewer.open_sample("ngffkit", "plate")
    qtbot.waitUntil(lambda: any(name.startswith(DOCK) for name in viewer.window.dock_widgets), timeout=10_000)
    navigator = viewer.window.dock_widgets[next(n for n in viewer.window.dock_widgets if n.startswith(DOCK))]
    qtbot.waitUntil(lambda: navigator.plate is not None, timeout=10_000)
    assert navigator.visible_wells() == ["A/1", "A/2", "A/3", "B/1", "B/2", "B/3"]


def test_the_field_starts_at_0_for_the_next_plate(make_napari_viewer, qtbot, plate_path, tmp_path) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    navigator = open_plate(viewer, qtbot, str(plate_path))
    navigator.field.setValue(1)
    navigator.select("A/2")
    wait_for_well(viewer, qtbot, "A/2", field=1)
    other = write_plate(tmp_path / "other.zarr", rows="C", columns=("1", "2"), labels=True)
    viewer.open(str(other), plugin="ngffkit")
    qtbot.waitUntil(lambda: navigator.plate is not None and navigator.plate.url.endswith("other.zarr"), timeout=10_000)
    assert navigator.field.value() == 0 and navigator.well is None
    qtbot.waitUntil(lambda: well_layers(viewer) == [], timeout=10_000)  # the last plate's well went with it
    assert "A/2" not in navigator.status.text()
    navigator.select("C/2")
    wait_for_well(viewer, qtbot, "C/2", field=0)
    assert all(layer.name.startswith("C/2") for layer in well_layers(viewer))


def test_napari_still_holds_slicing_back_for_the_well_view(make_napari_viewer) -> None:  # type: ignore[no-untyped-def]
    """The one napari internal the well view uses (ngffkit/napari/_napari_adapter.py): a napari without it slices
    each reused layer three times a switch instead of once -- this fails loudly when a release renames it."""
    from ngffkit.napari._napari_adapter import can_slice_once

    viewer = make_napari_viewer()
    assert can_slice_once(viewer.add_image(np.zeros((8, 8), np.uint8)))
    assert can_slice_once(viewer.add_labels(np.zeros((8, 8), np.uint8)))


def headers_of(navigator) -> list[str]:  # type: ignore[no-untyped-def]
    return [navigator.table.horizontalHeaderItem(j).text() for j in range(navigator.table.columnCount())]


def test_condition_tables_become_columns_as_the_plate_opens(make_napari_viewer, qtbot, plate_path) -> None:  # type: ignore[no-untyped-def]
    """ngio's condition tables (the plate's, a well's own) join the well table by themselves, filterable like a
    CSV's; a parquet table, which is not read, and a line about no well are one notification."""
    anndata_table(plate_path, "conditions", {"row": ["A", "A", "B", "B"], "column": [1, 2, 1, 3],
                                             "drug": ["dmso", "taxol", "taxol", "nocodazole"],
                                             "dose": [0.0, 1.5, 3.0, 0.25]})  # fmt: skip
    json_table(plate_path, "layout", {"well": ["A1", "H12"], "note": ["edge\x1b[31m", "gone"]})
    csv_table(plate_path, "fast", "PAR1", backend="parquet")
    anndata_table(plate_path / "B" / "2", "treatment", {"incubation": ["24 h"]})
    viewer = make_napari_viewer()
    before = notification_count()
    navigator = open_plate(viewer, qtbot, str(plate_path))
    qtbot.waitUntil(lambda: "incubation" in headers_of(navigator), timeout=30_000)
    assert headers_of(navigator)[5:] == ["drug", "dose", "note", "incubation"]
    qtbot.waitUntil(lambda: len(notifications_since(before)) > 0, timeout=10_000)
    told = notifications_since(before)
    assert len(told) == 1, told
    assert "added drug, dose, note, incubation columns" in told[0]
    assert "fast: parquet tables are not read" in told[0] and "1 lines match no well (H12)" in told[0]
    navigator.filter.setText("taxol")
    assert navigator.visible_wells() == ["A/2", "B/1"]
    navigator.filter.setText("24 h")
    assert navigator.visible_wells() == ["B/2"]
    navigator.filter.setText("")
    assert navigator.table.item(0, headers_of(navigator).index("note")).text() == "edge\\x1b[31m"  # shown, not run
    navigator.filter.setText("nocodazole")
    navigator.step(1)
    wait_for_well(viewer, qtbot, "B/3")


def test_a_hostile_condition_table_is_one_notification_and_the_plate_works(  # type: ignore[no-untyped-def]
    make_napari_viewer, qtbot, plate_path
) -> None:
    table = anndata_table(plate_path, "conditions", {"row": ["A", "B"], "column": [1, 2], "drug": ["x", "y"]})
    obs = zarr.open_group(str(table / "obs"), mode="a")
    obs.create_array("column", shape=(10**12,), chunks=(10**6,), dtype="int64", overwrite=True)
    viewer = make_napari_viewer()
    before = notification_count()
    navigator = open_plate(viewer, qtbot, str(plate_path))
    qtbot.waitUntil(lambda: len(notifications_since(before)) > 0, timeout=30_000)
    told = notifications_since(before)
    assert len(told) == 1 and "Condition tables: no columns added; not read: conditions" in told[0], told
    assert "[obs/column]" in told[0] and "the table has 2 rows" in told[0]
    assert headers_of(navigator) == ["well", "row", "column", "fields", "acquisition"]
    navigator.select("B/2")
    wait_for_well(viewer, qtbot, "B/2")


@pytest.mark.peers
@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_a_plate_ngio_wrote_opens_with_its_condition_columns(make_napari_viewer, qtbot, tmp_path, version) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ngio.zarr"
    use_peer(NGIO).call("write_condition_tables", path=path, version=version, wells=[["A", "1"], ["A", "2"], ["B", "1"]],
                        backends=["anndata", "csv", "parquet"])  # fmt: skip
    viewer = make_napari_viewer()
    before = notification_count()
    navigator = open_plate(viewer, qtbot, str(path))
    qtbot.waitUntil(lambda: "incubation" in headers_of(navigator), timeout=30_000)
    assert headers_of(navigator)[5:] == ["drug", "replicate", "dose", "incubation"]
    qtbot.waitUntil(lambda: len(notifications_since(before)) > 0, timeout=10_000)
    told = notifications_since(before)
    assert len(told) == 1 and "conditions_parquet: parquet tables are not read" in told[0], told
    navigator.filter.setText("taxol")
    assert navigator.visible_wells() == ["A/02"]
    navigator.filter.setText("24 h")  # the first well's own condition table
    assert navigator.visible_wells() == ["A/01"]
    navigator.step(1)
    wait_for_well(viewer, qtbot, "A/01")
