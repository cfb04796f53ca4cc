"""Opening for the plate navigator: a well's field as layer data (in a worker thread) placed on its well's cell,
and docking the navigator when a plate has been opened. Kept apart from the dock itself so that the reader needs no widget code."""

from __future__ import annotations

from typing import Any

from napari.viewer import Viewer
from qtpy.QtCore import QTimer

import ngffkit
from napari import current_viewer
from ngffkit.errors import redact
from ngffkit.napari._fit_view import fit_after_docking
from ngffkit.napari._label_colours import plate_label_colours
from ngffkit.napari._layers import node_layers
from ngffkit.napari._responsive import warm_up

DOCK_NAME = "Plate navigator"
#: Metadata key marking the layers of the well on show (they are replaced when another well is chosen).
WELL_VIEW = "ngffkit_well_view"


def well_layer_data(plate: ngffkit.Plate, well: str, field: int) -> list[Any]:
    """The layers of field ``field`` of ``well`` (image and labels, every level); runs in a worker thread. A
    remote field's layers are views (:mod:`ngffkit.napari._responsive`) whose first picture is fetched here."""
    found = plate.well(well)
    image = found.field(field) if found is not None else None
    if image is None:
        raise ngffkit.NotFound(f"well {well} has no readable field {field}", where=plate.url)
    layers = node_layers(image)
    for data, kwargs, kind in layers:
        meta = kwargs.get("metadata") or {}
        if kind == "labels" and isinstance(kwargs.get("colormap"), dict) and meta.get("ngff_label"):
            dtype = (data[0] if isinstance(data, list) else data).dtype
            kwargs["colormap"] = plate_label_colours(plate, meta["ngff_label"], field, meta.get("ngff", {}), dtype)
    return warm_up(layers)


def offer_navigator(node: ngffkit.Node, viewer: Viewer | None = None) -> None:
    """When a plate has been opened, dock the navigator beside it (once: napari shows an open dock again).

    Readers do not receive the viewer, and their layers are added after they return: the dock is added on the
    next turn of the event loop, to the current viewer."""
    if not isinstance(node, ngffkit.Plate):
        return

    def dock() -> None:
        target = viewer or current_viewer()
        if target is not None:
            target.window.add_plugin_dock_widget("ngffkit", DOCK_NAME)
            fit_after_docking(target)  # the dock narrows the canvas: fit the plate again

    QTimer.singleShot(0, dock)


def placed_on_cell(kwargs: dict[str, Any], well: str, field: int, dy: float, dx: float) -> dict[str, Any]:
    """A field's layer kwargs moved onto its well's cell, named after the well, marked as the well on show."""
    shown = dict(kwargs)
    names = shown.get("name")
    shown["name"] = [f"{well} · {n}" for n in names] if isinstance(names, list) else f"{well} · {names}"
    translate = list(shown.get("translate") or [0.0] * len(shown.get("scale") or [0, 0]))
    if len(translate) >= 2:
        translate[-2:] = [translate[-2] + dy, translate[-1] + dx]
        shown["translate"] = translate
    shown["metadata"] = {**(shown.get("metadata") or {}), WELL_VIEW: {"well": well, "field": field}}
    return shown


def plate_title(plate: ngffkit.Plate) -> str:
    """The plate's name, with the file (or URL's last part) it is in when that says something else: two plates
    named alike ("demo plate") told a person nothing about which one the navigator follows."""
    place = redact(plate.url).split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return plate.name if place in ("", plate.name) else f"{plate.name} ({place})"
