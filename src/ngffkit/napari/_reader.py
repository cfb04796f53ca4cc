"""The reader contribution: OME-Zarr paths and URLs (http, https, s3, gs) to napari layers.

``get_reader`` answers quickly and confidently, because napari asks it on every drop: a local folder is claimed
only when its own metadata (one small document) holds OME-NGFF keys -- plain zarr gets ``None`` at once, so other
readers get their turn -- and a URL is claimed by its scheme. Reading happens in the returned function. Anything
wrong there is one notification that leads with the reason, and napari is told "nothing to show" (not "the
plugin refused the file", which would be a second, misleading message).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import Any

from napari.utils.notifications import show_error

import ngffkit
from ngffkit.layers import LayerData
from ngffkit.napari._layers import node_layers
from ngffkit.napari._notify import describe

REMOTE = ("http://", "https://", "s3://", "gs://")
#: Keys whose presence makes a group's attributes OME-NGFF (0.4 at the top level, 0.5+ under "ome").
OME_KEYS = ("ome", "multiscales", "plate", "well", "labels", "image-label", "bioformats2raw.layout")
#: napari's "this file is empty" answer: no layers, and no complaint that the reader failed.
NOTHING = [(None,)]

Reader = Callable[[Any], list[Any]]


def looks_like_ome_zarr(path: str) -> bool:
    """Whether a local path is OME-Zarr, from one small metadata document (no zarr, no dask)."""
    if path.lower().endswith(".ozx"):
        return os.path.isfile(path)
    if not os.path.isdir(path):
        return False
    for name in ("zarr.json", ".zattrs"):
        attributes = _attributes(os.path.join(path, name))
        if attributes is None:
            continue
        if attributes.get("node_type") == "array" or os.path.isfile(os.path.join(path, ".zarray")):
            return looks_like_ome_zarr(os.path.dirname(path.rstrip("/")))  # a level of an image: its image
        inner = attributes.get("attributes", attributes) if name == "zarr.json" else attributes
        return isinstance(inner, dict) and any(key in inner for key in OME_KEYS)
    return False


def _attributes(path: str) -> dict[str, Any] | None:
    from ngffkit.store.jsonfile import parse_json
    from ngffkit.store.limits import Bound, current
    from ngffkit.store.local import read_regular_file

    try:
        data = read_regular_file(path, None, Bound(current().max_document_bytes, "max_document_bytes"))
        document = parse_json(data, where=path) if data is not None else None
    except (ngffkit.NGFFError, OSError):
        return {"ome": "unreadable"}  # ours to explain: claimed, and the reader says what is wrong
    return document if isinstance(document, dict) else None


def get_reader(path: str | list[str]) -> Reader | None:
    """A reader for one OME-Zarr path or URL, or None when this is not OME-Zarr."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    path = os.fspath(path)
    if not path.lower().startswith(REMOTE) and not looks_like_ome_zarr(path):
        return None
    return partial(read, path)


def read(path: str, _: Any = None) -> list[Any]:
    """The layers of the OME-Zarr at ``path``; on errors one notification, and nothing to show."""
    try:
        layers: list[LayerData] = node_layers(ngffkit.open(path))
    except ngffkit.NGFFError as exc:
        show_error(f"Could not open: {describe(exc)}")
        return NOTHING
    return layers or NOTHING
