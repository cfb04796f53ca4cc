"""Fitting the view to what is open once a dock has narrowed the canvas.

A dock added with ``add_plugin_dock_widget`` takes its room only when Qt next lays the window out, after the call
that added it has returned: a ``reset_view`` straight after it fits the data to the canvas as it was, wider, and a
plate or a row of series opens cropped (the first and last columns partly out of view). Here the view is fitted at
once and again at every change of the canvas's size in the moments that follow, which is when that layout happens.
"""

from __future__ import annotations

import contextlib
from typing import Any

from qtpy.QtCore import QTimer

from ngffkit.napari._napari_adapter import camera, canvas_size_event

#: How long after docking a change of the canvas's size is taken for the dock's layout (milliseconds): Qt lays
#: the window out on its next turns; a person resizing the window that soon gets the whole data in view again.
SETTLING_MS = 1500


def fit_after_docking(viewer: Any) -> None:
    """Fit the view to every layer now, and again whenever the canvas changes size within :data:`SETTLING_MS` --
    unless the view has been moved since it was fitted (a well chosen, a pan, a zoom): then it stays where it is."""
    fitted = _fit(viewer)
    event = canvas_size_event(viewer)
    if event is None:
        return

    def refit(*_: Any) -> None:
        nonlocal fitted
        if _view(viewer) != fitted:  # moved since: by a person, or by the plate navigator
            stop()
            return
        fitted = _fit(viewer)

    def stop() -> None:
        with contextlib.suppress(Exception):  # the viewer may have been closed meanwhile
            event.disconnect(refit)

    event.connect(refit)
    QTimer.singleShot(SETTLING_MS, stop)


def _fit(viewer: Any) -> tuple[Any, ...]:
    viewer.reset_view()
    return _view(viewer)


def _view(viewer: Any) -> tuple[Any, ...]:
    """Where the camera looks and how near (what a fit sets and a person or the navigator changes)."""
    view = camera(viewer)
    return (tuple(view.center), float(view.zoom))
