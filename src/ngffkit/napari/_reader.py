"""The reader contribution: OME-Zarr paths and URLs (http, https, s3, gs) to napari layers.

``get_reader`` answers quickly and confidently, because napari asks it on every drop, on its GUI thread: a local
folder is claimed only when its own metadata (one small document) holds OME-NGFF keys -- plain zarr gets
``None`` at once, so other readers get their turn. A URL whose path ends in (or has a part ending in) ``.zarr``,
``.ome.zarr`` or ``.ozx`` is claimed without a request; any other URL costs one request for its ``zarr.json``,
waited for at most :data:`PROBE_SECONDS` -- a plain zarr or a TIFF URL is left to other readers, and a URL that
cannot be told in time is claimed (the read then explains what is wrong). Reading happens in the returned
function. Anything wrong there is one notification that leads with the reason, and napari is told "nothing to
show" (not "the plugin refused the file", which would be a second, misleading message).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from napari.utils.notifications import show_error, show_warning

import ngffkit
from ngffkit.errors import NGFFWarning
from ngffkit.formats.sections import SECTION_KINDS
from ngffkit.layer_data import LayerData
from ngffkit.napari._group_open import offer_layout_dock
from ngffkit.napari._layers import node_layers
from ngffkit.napari._notify import describe
from ngffkit.napari._plate_open import offer_navigator
from ngffkit.napari._responsive import REMOTE

#: Keys whose presence makes a group's attributes OME-NGFF (0.4 at the top level, 0.5+ under "ome").
OME_KEYS = ("ome", *SECTION_KINDS)
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
        document = _document(path, name)
        if document is None:
            continue
        if document is _BROKEN or (name == "zarr.json" and not _plausible_v3(document)):
            return True  # zarr metadata that cannot be read: ours to explain (napari's reader would just fail)
        if document.get("node_type") == "array" or os.path.isfile(os.path.join(path, ".zarray")):
            return looks_like_ome_zarr(os.path.dirname(path.rstrip("/")))  # a level of an image: its image
        inner = document.get("attributes", {}) if name == "zarr.json" else document
        if not isinstance(inner, dict):
            return True
        return any(key in inner for key in OME_KEYS)
    return False


def _plausible_v3(document: dict[str, Any]) -> bool:
    return document.get("zarr_format") == 3 and document.get("node_type") in ("group", "array")


#: A metadata document that exists but cannot be used (not JSON, not an object, a FIFO, a link out of the folder).
_BROKEN: dict[str, Any] = {}


def _document(folder: str, name: str) -> dict[str, Any] | None:
    """The JSON object in ``folder/name``; None when there is no such file, :data:`_BROKEN` when it is unusable."""
    from ngffkit.store.jsonfile import parse_json
    from ngffkit.store.limits import Bound, current
    from ngffkit.store.local import read_regular_file

    path = os.path.join(folder, name)
    if not os.path.lexists(path):
        return None
    if not os.path.realpath(path).startswith(os.path.realpath(folder).rstrip(os.sep) + os.sep):
        return _BROKEN  # a link out of the dataset: never read here
    try:
        data = read_regular_file(path, None, Bound(current().max_document_bytes, "max_document_bytes"))
        document = parse_json(data, where=path) if data is not None else None
    except (ngffkit.NGFFError, OSError):
        return _BROKEN
    return document if isinstance(document, dict) else _BROKEN


def get_reader(path: str | list[str]) -> Reader | None:
    """A reader for one OME-Zarr path or URL, or None when this is not OME-Zarr."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    path = os.fspath(path)
    remote = path.lower().startswith(REMOTE)
    if not (url_claimed(path) if remote else looks_like_ome_zarr(path)):
        return None
    return partial(read, path)


#: What a URL's path ends in, or a part of it does, when it names OME-Zarr (".ome.zarr" ends in ".zarr").
ZARR_ENDINGS = (".zarr", ".ozx")
#: The longest napari's GUI thread waits for the one request that tells about any other URL.
PROBE_SECONDS = 1.0
_probes = ThreadPoolExecutor(2, thread_name_prefix="ngffkit-probe")


def url_claimed(url: str) -> bool:
    """Whether a URL is napari's to read with ngffkit (see the module docstring)."""
    if any(part.lower().endswith(ZARR_ENDINGS) for part in urlsplit(url).path.split("/")):
        return True
    try:
        return _probes.submit(_ome_zarr_at, url).result(timeout=PROBE_SECONDS)
    except FutureTimeout:
        return True  # could not tell in time: claimed, and the read says what is wrong


def _ome_zarr_at(url: str) -> bool:
    """One request, for the URL's ``zarr.json`` (one attempt, a 1 s connect and read timeout): OME-Zarr when it
    holds OME-NGFF keys; not when it is missing or not OME; claimed when the answer is a failure (the read
    reports it, as one notification)."""
    from ngffkit.store.location import Location
    from ngffkit.store.remote import RetryPolicy

    once = RetryPolicy(attempts=1, connect_timeout=PROBE_SECONDS, read_timeout=PROBE_SECONDS)
    try:
        document = Location.of(url, retry=once).read_document("zarr.json")
    except ngffkit.NGFFError:
        return True
    if not isinstance(document, dict):
        return False
    attributes = document.get("attributes")
    return isinstance(attributes, dict) and any(key in attributes for key in OME_KEYS)


def read(path: str, _: Any = None) -> list[Any]:
    """The layers of the OME-Zarr at ``path``; on errors one notification, and nothing to show. What ngffkit
    warns about while reading (labels not shown, series names not read, ...) is one notification each, whether
    or not napari turns warnings into notifications itself."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NGFFWarning)
        try:
            node = ngffkit.open(path)
            layers: list[LayerData] = node_layers(node)
        except ngffkit.NGFFError as exc:
            show_error(f"Could not open: {describe(exc)}")
            return NOTHING
    for message in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, NGFFWarning)):
        show_warning(message)
    for other in (w for w in caught if not issubclass(w.category, NGFFWarning)):
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    offer_navigator(node)
    if layers:
        offer_layout_dock(node)
    return layers or NOTHING
