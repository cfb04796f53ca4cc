"""The writer contributions (File > Save Layers): napari layers to OME-Zarr, keeping what makes the view.

napari hands each writer the path typed in its Save dialog and the layers as ``(data, meta)``; what is written
is worked out in :mod:`ngffkit.napari._convert`. An existing destination is only replaced after the user
confirms, and then only by ngffkit's own rules (a zarr node, nothing else; never the data being saved).
Anything that goes wrong is one notification that leads with the reason; napari is then told that nothing was
written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from napari.utils.notifications import show_error, show_info

import ngffkit
from ngffkit.napari import _convert
from ngffkit.napari._dialogs import confirm_replace
from ngffkit.napari._notify import describe

FullLayerData = tuple[Any, dict[str, Any], str]


def _guarded(path: str, work: Callable[[bool], Any]) -> list[str]:
    """Run a write, asking before anything existing is replaced; errors become one notification."""
    overwrite = False
    if os.path.lexists(path):
        if not confirm_replace(path):
            show_info(f"Not saved: {os.path.basename(path)} already exists and was kept.")
            return []
        overwrite = True
    try:
        work(overwrite)
    except ngffkit.NGFFError as exc:
        show_error(f"Not saved: {describe(exc)}")
        return []
    show_info(f"Saved {os.path.basename(path)} (OME-Zarr)")
    return [path]


def write_image_layer(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """One image layer to an OME-Zarr image (also a zipped .ozx); multiscale layers keep their pyramid's levels."""
    return _guarded(path, lambda overwrite: _convert.write_images(path, [(data, meta)], overwrite=overwrite))


def write_labels_layer(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """One labels layer: added to the image at ``path`` if there is one, else saved as a label image of its own
    (which reopens as just this labels layer)."""
    try:
        existing = ngffkit.open(path) if os.path.isdir(path) else None
    except ngffkit.NGFFError:
        existing = None
    if isinstance(existing, ngffkit.Image) and not existing.is_label:
        name = _convert.label_name(meta)
        replacing = name in existing.label_names
        if replacing and not confirm_replace(f"{path} (label image {name!r})"):
            show_info(f"Not saved: the label image {name!r} exists and was kept.")
            return []
        try:
            _convert.write_labels_into(path, data, meta, overwrite=replacing)
        except ngffkit.NGFFError as exc:
            show_error(f"Not saved: {describe(exc)}")
            return []
        show_info(f"Saved labels {name!r} into {os.path.basename(path)}")
        return [path]
    return _guarded(path, lambda overwrite: _convert.write_label_image(path, data, meta, overwrite=overwrite))


def write_layers(path: str, layer_data: list[FullLayerData]) -> list[str]:
    """Image layers (as channels of one image) together with labels layers (as its labels)."""
    images = [(d, m) for d, m, kind in layer_data if kind == "image"]
    labels = [(d, m) for d, m, kind in layer_data if kind == "labels"]

    def work(overwrite: bool) -> None:
        _convert.write_images(path, images, overwrite=overwrite)
        for data, meta in labels:
            _convert.write_labels_into(path, data, meta, overwrite=False)

    return _guarded(path, work)
