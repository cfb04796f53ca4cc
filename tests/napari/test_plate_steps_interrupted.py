"""The first well after a plate opens is added one layer per turn of the event loop; a person acting meanwhile
(another well, another field, closing the plate) must end with one well's layers, never a mix or duplicates."""

from __future__ import annotations

import pytest
from qtpy.QtCore import QTimer

from .test_plate_navigator import open_plate, plate_path, wait_for_well, well_layers  # noqa: F401


@pytest.mark.parametrize("then", ["another well", "another field"])
def test_acting_while_the_first_well_is_added(make_napari_viewer, qtbot, plate_path, then) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    viewer = make_napari_viewer(show=True)
    navigator = open_plate(viewer, qtbot, str(plate_path))
    navigator.select("A/2")
    first_added(
        viewer, qtbot, lambda: navigator.select("B/3") if then == "another well" else navigator.field.setValue(1)
    )
    if then == "another well":
        layers = wait_for_well(viewer, qtbot, "B/3")
        assert [layer.name for layer in layers] == ["B/3 · GFP", "B/3 · DAPI", "B/3 · cells"]
    else:
        layers = wait_for_well(viewer, qtbot, "A/2", field=1)
        assert [layer.name for layer in layers] == ["A/2 · GFP", "A/2 · DAPI", "A/2 · cells"]
    assert len(viewer.layers) == len({id(lay) for lay in viewer.layers})


def test_closing_the_plate_while_the_first_well_is_added(make_napari_viewer, qtbot, plate_path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    viewer = make_napari_viewer(show=True)
    navigator = open_plate(viewer, qtbot, str(plate_path))
    overview = navigator.overview
    navigator.select("A/2")
    first_added(viewer, qtbot, lambda: viewer.layers.remove(overview))
    qtbot.waitUntil(lambda: not well_layers(viewer), timeout=10_000)
    navigator = open_plate(viewer, qtbot, str(plate_path))  # the abandoned steps' timers have long fired by then
    navigator.select("B/3")
    layers = wait_for_well(viewer, qtbot, "B/3")
    assert [layer.name for layer in layers] == ["B/3 · GFP", "B/3 · DAPI", "B/3 · cells"]


def first_added(viewer, qtbot, act) -> None:  # type: ignore[no-untyped-def]
    """``act`` on the turn of the event loop after the well's first layer is added (its other two to come)."""
    acted: list[int] = []

    def inserted(event) -> None:  # type: ignore[no-untyped-def]
        if not acted and len(well_layers(viewer)) == 1:
            acted.append(len(well_layers(viewer)))
            QTimer.singleShot(0, act)

    viewer.layers.events.inserted.connect(inserted)
    qtbot.waitUntil(lambda: bool(acted), timeout=30_000)
    viewer.layers.events.inserted.disconnect(inserted)
