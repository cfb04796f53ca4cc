"""The reader contribution: OME-Zarr paths and URLs (http, https, s3, gs) to napari layers.

``get_reader`` opens the metadata right away (cheap: no pixels), so that anything wrong shows up as a
napari notification naming the file and key at fault -- and napari moves on -- instead of a traceback
dialog later. Plain zarr and other files get ``None`` quickly, so napari's other readers get their turn.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from napari.utils.notifications import show_error

import ngffkit
from ngffkit.layers import LayerData
from ngffkit.napari._layers import node_layers

REMOTE = ("http://", "https://", "s3://", "gs://")
_MARKERS = ("zarr.json", ".zattrs", ".zgroup", ".zarray")

Reader = Callable[[Any], list[LayerData]]


def _looks_like_zarr(path: str) -> bool:
    """Quick local check before any parsing: an .ozx file, or a folder with zarr metadata."""
    if path.lower().endswith(".ozx"):
        return os.path.isfile(path)
    return os.path.isdir(path) and any(os.path.exists(os.path.join(path, m)) for m in _MARKERS)


def get_reader(path: str | list[str]) -> Reader | None:
    """A reader for one OME-Zarr path or URL, or None when this is not OME-Zarr."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    path = os.fspath(path)
    remote = path.lower().startswith(REMOTE)
    if not remote and not _looks_like_zarr(path):
        return None
    try:
        node = ngffkit.open(path)
    except ngffkit.NotOMEZarr:
        return None  # plain zarr: another reader may want it
    except ngffkit.NGFFError as exc:
        show_error(f"ngffkit could not open {exc}")
        return None

    def read(_: Any) -> list[LayerData]:
        try:
            return node_layers(node)
        except ngffkit.NGFFError as exc:  # e.g. a plate whose wells turn out to be unreadable
            show_error(f"ngffkit could not read {exc}")
            return []

    return read
