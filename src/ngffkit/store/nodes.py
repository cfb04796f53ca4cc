"""What a node's metadata documents say, read with as few requests as the format allows.

zarr v2 keeps a node in ``.zgroup``/``.zarray`` + ``.zattrs``, v3 in one ``zarr.json``. Once a store's format is
known, only its documents are asked for -- and for v2 only the documents of the kind the naming metadata
promises (an array: ``.zarray`` alone). Consolidated metadata at the root (v2 ``.zmetadata``, v3
``consolidated_metadata``) answers without any request. First contact with an unknown store asks for every
candidate document at once: one round trip.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zarr.buffer import default_buffer_prototype

from ngffkit.errors import PROGRAMMING_ERRORS, InvalidMetadata, LocationError, NGFFError, safe_cause
from ngffkit.store import paths
from ngffkit.store.jsonfile import parse_json

if TYPE_CHECKING:
    from ngffkit.store.location import Location

V2_GROUP, V2_ARRAY, V2_ATTRS, V2_CONSOLIDATED = ".zgroup", ".zarray", ".zattrs", ".zmetadata"
V3_META = "zarr.json"


async def gather_all(*awaitables: Any) -> list[Any]:
    """Run awaitables concurrently and wait for all of them; then raise the first error, if any.

    Plain ``asyncio.gather`` raises on the first failure and leaves its siblings running unobserved,
    which ends in "Task exception was never retrieved" noise at exit and requests nobody waits for.
    """
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return list(results)


@dataclass(frozen=True)
class NodeMetadata:
    """What a node's metadata documents say: its zarr format, whether it is a group or an array, and its
    attributes (for v3, the ``attributes`` of ``zarr.json``; for v2, ``.zattrs``)."""

    location: Location
    zarr_format: int | None
    node_type: str | None  # "group", "array", or None when nothing is there
    attributes: dict[str, Any]
    #: The array's own metadata (``.zarray`` or the whole v3 ``zarr.json``), for arrays.
    array: dict[str, Any] | None = None
    #: A zarr v2 group known only from its ``.zattrs`` (no ``.zgroup``): readable, but not to the letter.
    implicit_group: bool = False
    #: Objects built from these documents once and reused (the zarr array: checking a level at open and
    #: reading it later must not parse and validate its metadata twice -- a plate has hundreds of arrays).
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def exists(self) -> bool:
        return self.node_type is not None

    @property
    def document_url(self) -> str:
        """The file the attributes come from (``zarr.json`` or ``.zattrs``), for messages."""
        name = "zarr.json" if self.zarr_format == 3 else ".zattrs"
        return f"{self.location.url}/{name}"

    @property
    def is_group(self) -> bool:
        return self.node_type == "group"

    @property
    def is_array(self) -> bool:
        return self.node_type == "array"

    @property
    def shape(self) -> tuple[int, ...] | None:
        shape = (self.array or {}).get("shape")
        if isinstance(shape, list) and all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
            return tuple(shape)
        return None

    @property
    def dimension_names(self) -> list[Any] | None:
        names = (self.array or {}).get("dimension_names")
        return names if isinstance(names, list) else None


# --- raw documents ----------------------------------------------------------------------------------------


async def get_bytes(location: Location, key: str) -> bytes | None:
    """The bytes stored at ``key`` (a store key), or None when there is none."""
    try:
        buf = await location.store.get(key, prototype=default_buffer_prototype())
    except FileNotFoundError:
        return None
    except NGFFError:
        raise  # ngffkit's stores already name the URL and the cause
    except PROGRAMMING_ERRORS:
        raise  # a bug or a changed API, not a failed read
    except Exception as exc:  # whatever another store raises for a read that failed
        raise LocationError(
            f"cannot read {key!r}: {type(exc).__name__}: {exc}", where=location.state.url
        ) from safe_cause(exc)
    return None if buf is None else buf.to_bytes()


async def get_json(location: Location, key: str, *, cached: bool = True) -> Any:
    """The JSON document at ``key`` (from consolidated metadata when the root had it), or None."""
    if cached:
        known = location.state.consolidated.get(key)
        if known is not None:
            return known
    data = await get_bytes(location, key)
    return None if data is None else parse_json(data, where=f"{location.state.url}/{key}")


async def set_bytes(location: Location, key: str, data: bytes) -> None:
    await location.store.set(key, default_buffer_prototype().buffer.from_bytes(data))


# --- node metadata ----------------------------------------------------------------------------------------


async def read_node(location: Location, expect: str | None = None) -> NodeMetadata:
    """The metadata documents of ``location``. ``expect`` ("group" or "array") says what the metadata that named
    the node promises, so only that kind's documents are asked for (zarr v2: ``.zarray`` alone for an array,
    ``.zgroup`` and ``.zattrs`` for a group); anything else then reads as absent."""
    state = location.state
    fmt = state.zarr_format
    if fmt is None and not state.consolidated_checked and not location.path:
        # First contact with an unknown store: both formats and v2 consolidated metadata -- one round trip.
        state.consolidated_checked = True
        v3, zgroup, zattrs, zarray, zmeta = await gather_all(
            *(get_json(location, location.key(n)) for n in (V3_META, V2_GROUP, V2_ATTRS, V2_ARRAY)),
            get_json(location, V2_CONSOLIDATED, cached=False),
        )
        _absorb_v2_consolidated(location, zmeta)
        return _node_from(location, v3, zgroup, zattrs, zarray)
    if fmt == 3:
        return _node_from(location, await get_json(location, location.key(V3_META)), None, None, None)
    if fmt == 2:
        await _read_consolidated(location)
        if expect == "array":
            return _node_from(location, None, None, None, await get_json(location, location.key(V2_ARRAY)))
        names = (V2_GROUP, V2_ATTRS) if expect == "group" else (V2_GROUP, V2_ATTRS, V2_ARRAY)
        docs = await gather_all(*(get_json(location, location.key(n)) for n in names))
        zgroup, zattrs, zarray = (*docs, None) if expect == "group" else docs
        return _node_from(location, None, zgroup, zattrs, zarray)
    v3, zgroup, zattrs, zarray = await gather_all(
        *(get_json(location, location.key(n)) for n in (V3_META, V2_GROUP, V2_ATTRS, V2_ARRAY))
    )
    return _node_from(location, v3, zgroup, zattrs, zarray)


def _node_from(location: Location, v3: Any, zgroup: Any, zattrs: Any, zarray: Any) -> NodeMetadata:
    url = location.url
    if v3 is not None:
        if not isinstance(v3, dict):
            raise InvalidMetadata("zarr.json must hold a JSON object", where=url + "/zarr.json")
        if v3.get("zarr_format") != 3:
            raise InvalidMetadata(
                f"zarr.json states zarr_format {v3.get('zarr_format')!r}, expected 3", where=url + "/zarr.json"
            )
        node_type = v3.get("node_type")
        if node_type not in ("group", "array"):
            raise InvalidMetadata(f"unknown node_type {node_type!r}", where=url + "/zarr.json", key="node_type")
        attrs = v3.get("attributes", {})
        if not isinstance(attrs, dict):
            raise InvalidMetadata("attributes must be a JSON object", where=url + "/zarr.json", key="attributes")
        location.state.learn_format(3)
        _absorb_v3_consolidated(location, v3)
        return NodeMetadata(location, 3, node_type, attrs, v3 if node_type == "array" else None)
    if zgroup is None and zarray is None and zattrs is None:
        return NodeMetadata(location, location.state.zarr_format, None, {})
    if zattrs is not None and not isinstance(zattrs, dict):
        raise InvalidMetadata(".zattrs must hold a JSON object", where=url + "/.zattrs")
    for name, doc in ((V2_GROUP, zgroup), (V2_ARRAY, zarray)):
        if doc is not None and not isinstance(doc, dict):
            raise InvalidMetadata(f"{name} must hold a JSON object", where=f"{url}/{name}")
    location.state.learn_format(2)
    node_type = "array" if zarray is not None else "group" if zgroup is not None else None
    if node_type is None:
        # .zattrs without .zgroup: some writers skip .zgroup; treat as an (implicit) group.
        return NodeMetadata(location, 2, "group", zattrs or {}, None, implicit_group=True)
    return NodeMetadata(location, 2, node_type, zattrs or {}, zarray)


async def _read_consolidated(location: Location) -> None:
    """Once per store: index the root's v2 consolidated metadata, if it has any."""
    state = location.state
    if state.consolidated_checked:
        return
    state.consolidated_checked = True
    if state.zarr_format in (None, 2):
        _absorb_v2_consolidated(location, await get_json(location, V2_CONSOLIDATED, cached=False))


def _absorb_v2_consolidated(location: Location, doc: Any) -> None:
    """Index a ``.zmetadata`` document: store key -> the JSON document it consolidates."""
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    if isinstance(meta, dict):
        location.state.consolidated.update({k: v for k, v in meta.items() if isinstance(v, dict)})


def _absorb_v3_consolidated(location: Location, doc: dict[str, Any]) -> None:
    consolidated = doc.get("consolidated_metadata")
    meta = consolidated.get("metadata") if isinstance(consolidated, dict) else None
    if isinstance(meta, dict):
        for child, child_doc in meta.items():
            if isinstance(child, str) and isinstance(child_doc, dict):
                key = paths.join(paths.join(location.path, child), V3_META)
                location.state.consolidated.setdefault(key, child_doc)
