"""Labels of ngffkit's docks show what files say as text: Qt's QLabel draws text that looks like HTML as HTML, and
a plate's name, a well's path or a folder named in an error are written by anyone. ``<h1>`` in a folder's name
made the export dock's status six lines tall."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from ngffkit.samples.examples import write_plate

from .test_open import run_command
from .test_plate_navigator import open_plate

DOCKS = ["Export as OME-Zarr", "Plate navigator", "Coordinate systems", "Proofread labels"]


def plain(label) -> bool:  # type: ignore[no-untyped-def]
    from qtpy.QtCore import Qt

    native = getattr(label, "native", label)
    return bool(native.textFormat() == Qt.TextFormat.PlainText)


@pytest.mark.parametrize("dock", DOCKS)
def test_every_docks_status_is_plain_text(make_napari_viewer, dock: str) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((8, 8), np.uint8), name="blank")
    _, widget = viewer.window.add_plugin_dock_widget("ngffkit", dock)
    assert plain(widget.status)
    if hasattr(widget, "title"):
        assert plain(widget.title)


def test_the_open_url_dialogs_status_is_plain_text(make_napari_viewer) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    run_command("ngffkit.open_url")
    dialog = next(w for name, w in viewer.window.dock_widgets.items() if "URL" in name)
    assert plain(dialog.status)


def test_a_plate_named_in_html_is_named_as_written_with_its_file(  # type: ignore[no-untyped-def]
    make_napari_viewer, qtbot, tmp_path: pathlib.Path
) -> None:
    path = write_plate(tmp_path / "screen 7.zarr")
    document = json.loads((path / "zarr.json").read_text())
    document["attributes"]["ome"]["plate"]["name"] = "<h1>big</h1>"
    (path / "zarr.json").write_text(json.dumps(document))
    viewer = make_napari_viewer(show=True)
    navigator = open_plate(viewer, qtbot, str(path))
    assert navigator.title.text().startswith("<h1>big</h1> (screen 7.zarr): 6 wells")
    assert plain(navigator.title)
    assert navigator.title.toolTip() == str(path)
