"""Docking the coordinate-systems dock when a group of images has been opened: a 0.6rc0 scene (whose coordinate
system a person may choose) or a bioformats2raw container of several series (which may be laid out side by side or
one at a time). Kept apart from the dock itself so that the reader needs no widget code."""

from __future__ import annotations

from napari.viewer import Viewer
from qtpy.QtCore import QTimer

import ngffkit
from napari import current_viewer
from ngffkit.napari._fit_view import fit_after_docking

DOCK_NAME = "Coordinate systems"


def offer_layout_dock(node: ngffkit.Node, viewer: Viewer | None = None) -> None:
    """When a scene, or a container of more than one series, has been opened, dock the chooser beside it (once:
    napari shows an open dock again, and the dock follows every layer added later).

    Readers do not receive the viewer, and their layers are added after they return: the dock is added on the next
    turn of the event loop, to the current viewer."""
    several_series = isinstance(node, ngffkit.Collection) and len(node.series) > 1
    if not (isinstance(node, ngffkit.Scene) or several_series):
        return

    def dock() -> None:
        target = viewer or current_viewer()
        if target is not None:
            target.window.add_plugin_dock_widget("ngffkit", DOCK_NAME)  # an open one follows layers added since
            fit_after_docking(target)  # every series or image of the scene in view, beside the narrower canvas

    QTimer.singleShot(0, dock)
