"""``ngffkit upgrade``: NGFF 0.4 (zarr v2) to 0.5 or 0.6rc0 (zarr v3), or 0.5 to 0.6rc0, by rewriting metadata
only; the chunks stay.

From zarr v3 only the groups' attributes change (0.6rc0 turns axes and scales into coordinate systems). From v2, each array's ``.zarray`` becomes a ``zarr.json`` that reads the very same chunk files: the ``v2`` chunk key
encoding keeps the keys, a ``bytes`` codec plus the same compressor keeps the bytes. Groups get their
attributes upgraded. New documents are written first and the old ones removed last, so an interruption
leaves a hierarchy that still opens as 0.4.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ngffkit.errors import InvalidArgument, InvalidMetadata, NGFFError
from ngffkit.formats import UPGRADE_TARGETS, V05, Format, get_format
from ngffkit.metadata import parse_attributes, upgrade
from ngffkit.store import adapter
from ngffkit.store.batch import read_many
from ngffkit.store.limits import Limits
from ngffkit.store.location import Location
from ngffkit.store.nodes import V2_ARRAY, V2_ATTRS, V2_GROUP, V3_META, NodeMetadata
from ngffkit.store.remote import RetryPolicy
from ngffkit.store.walk import walk

_SHUFFLE = {0: "noshuffle", 1: "shuffle", 2: "bitshuffle", -1: "shuffle"}


@dataclass(frozen=True)
class Action:
    """One metadata change: write ``document`` at ``key``, or delete ``key`` (document None)."""

    key: str
    document: dict[str, Any] | None

    def describe(self) -> str:
        return f"write {self.key}" if self.document is not None else f"remove {self.key}"

    def encoded(self, root: str) -> bytes:
        """The document as written (NaN and infinities are not JSON: refused here, before anything is written)."""
        try:
            return json.dumps(self.document, indent=2, allow_nan=False).encode()
        except (ValueError, TypeError) as exc:
            raise InvalidMetadata(f"cannot be written as JSON: {exc}", where=f"{root}/{self.key}") from exc


def _codec(compressor: Mapping[str, Any] | None, itemsize: int, where: str) -> list[dict[str, Any]]:
    if compressor is None:
        return []
    kind = compressor.get("id")
    if kind == "zstd":
        return [
            {
                "name": "zstd",
                "configuration": {
                    "level": compressor.get("level", 0),
                    "checksum": bool(compressor.get("checksum", False)),
                },
            }
        ]
    if kind == "gzip":
        return [{"name": "gzip", "configuration": {"level": compressor.get("level", 1)}}]
    if kind == "blosc":
        return [{"name": "blosc", "configuration": {
            "cname": compressor.get("cname", "lz4"), "clevel": compressor.get("clevel", 5),
            "shuffle": _SHUFFLE.get(compressor.get("shuffle", 1), "shuffle"), "typesize": itemsize,
            "blocksize": compressor.get("blocksize", 0)}}]  # fmt: skip
    raise InvalidArgument(f"compressor {kind!r} has no zarr v3 equivalent that keeps the chunk bytes", where=where)


def array_document(node: NodeMetadata, axis_names: list[str] | None) -> dict[str, Any]:
    """The zarr v3 ``zarr.json`` that reads a v2 array's chunks unchanged."""
    meta = node.array or {}
    where = node.location.url
    if meta.get("filters"):
        raise InvalidArgument("arrays with v2 filters cannot be upgraded in place", where=where)
    if meta.get("order", "C") != "C":
        raise InvalidArgument("Fortran-ordered arrays cannot be upgraded in place", where=where)
    dtype = np.dtype(meta["dtype"])
    if dtype.kind not in "biuf":
        raise InvalidArgument(f"dtype {meta['dtype']} cannot be upgraded in place", where=where)
    codecs: list[dict[str, Any]] = [
        {"name": "bytes", "configuration": {"endian": "big" if dtype.byteorder == ">" else "little"}}
    ]
    codecs += _codec(meta.get("compressor"), dtype.itemsize, where)
    fill = meta.get("fill_value")
    doc: dict[str, Any] = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": meta["shape"],
        "data_type": "bool" if dtype.kind == "b" else dtype.newbyteorder("=").name,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": meta["chunks"]}},
        "chunk_key_encoding": {"name": "v2", "configuration": {"separator": meta.get("dimension_separator") or "."}},
        "fill_value": 0 if fill is None else fill,
        "codecs": codecs,
        "attributes": node.attributes,
    }
    if axis_names is not None and len(axis_names) == len(meta["shape"]):
        doc["dimension_names"] = axis_names
    return doc


def plan_upgrade(location: Location, to: Format) -> list[Action]:
    """The metadata changes that upgrade every node below ``location`` (nothing is written)."""
    nodes = list(walk(location))
    if not nodes:
        raise NGFFError("nothing to upgrade here", where=location.url)
    if nodes[0].zarr_format == 3:
        return _plan_v3_attributes(nodes, to, location)
    if nodes[0].zarr_format != 2:
        raise InvalidArgument(f"is zarr v{nodes[0].zarr_format}; cannot upgrade it", where=location.url)
    # The walk reads arrays' .zarray only; their .zattrs move into zarr.json too, so read them (one batch).
    arrays = [n.location for n in nodes if n.is_array]
    with_attributes = dict(zip((a.path for a in arrays), read_many(arrays, expect=None), strict=True))
    nodes = [with_attributes.get(n.location.path, n) if n.is_array else n for n in nodes]
    axes_of: dict[str, list[str]] = {}
    writes: list[Action] = []
    removes: list[Action] = []
    for node in nodes:
        if node.is_group:
            meta = parse_attributes(node.attributes, where=node.document_url, zarr_format=2)
            attrs = upgrade(meta, to).to_attributes() if meta.kind is not None else dict(node.attributes)
            writes.append(_group_action(node, attrs))
            for ms in meta.multiscales:
                for ds in ms.datasets:
                    axes_of[node.location.child(ds.path).path] = list(ms.axis_names)
            removes += [Action(node.location.key(n), None) for n in (V2_GROUP, V2_ATTRS)]
    for node in nodes:
        if node.is_array:
            try:
                document = array_document(node, axes_of.get(node.location.path))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                problem = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
                raise InvalidMetadata(
                    f"cannot upgrade this array's .zarray: {problem}", where=node.location.url
                ) from exc
            writes.append(Action(node.location.key(V3_META), document))
            removes += [Action(node.location.key(n), None) for n in (V2_ARRAY, V2_ATTRS)]
    return _in_writing_order(writes, location) + removes


def _in_writing_order(writes: list[Action], location: Location) -> list[Action]:
    """The writes, checked and ordered: every document must be writable JSON before the first one is written, and
    they go deepest first with the root last -- until the root's new document exists, readers see the old one."""
    for action in writes:
        action.encoded(location.url)
    return sorted(writes, key=lambda a: -a.key.count("/"))


def _group_action(node: NodeMetadata, attributes: dict[str, Any]) -> Action:
    """Write ``node``'s group as zarr v3 with ``attributes`` (the same shape from v2 and from v3)."""
    return Action(node.location.key(V3_META), {"zarr_format": 3, "node_type": "group", "attributes": attributes})


def _plan_v3_attributes(nodes: list[NodeMetadata], to: Format, location: Location) -> list[Action]:
    """Zarr v3 already: rewrite the OME attributes of every group older than ``to``; arrays stay as they are."""
    writes: list[Action] = []
    for node in nodes:
        if not node.is_group:
            continue
        meta = parse_attributes(node.attributes, where=node.document_url, zarr_format=3)
        if meta.kind is None or not to.is_newer_than(meta.format):
            continue
        attrs = upgrade(meta, to).to_attributes()
        writes.append(_group_action(node, attrs))
    if not writes:
        found = parse_attributes(nodes[0].attributes, where=nodes[0].document_url, zarr_format=3).format
        raise InvalidArgument(f"is NGFF {found} already; nothing to upgrade to {to}", where=location.url)
    return _in_writing_order(writes, location)


def upgrade_store(
    target: str | os.PathLike[str] | Location,
    to: str | Format = V05,
    *,
    storage_options: Mapping[str, Any] | None = None,
    retry: RetryPolicy | None = None,
    limits: Limits | None = None,
    dry_run: bool = False,
) -> list[Action]:
    """Upgrade the hierarchy at ``target`` in place to ``to`` (0.5 or 0.6rc0); returns what was (or would be) done.

    ``retry`` and ``limits`` are those of :func:`ngffkit.open`.
    """
    fmt = get_format(to)
    if fmt not in UPGRADE_TARGETS:
        targets = ", ".join(f.version for f in UPGRADE_TARGETS)
        raise InvalidArgument(f"in-place upgrade goes to NGFF {targets} (zarr v3), not {fmt}")
    location = Location.of(
        target, storage_options=storage_options, mode="r" if dry_run else "w", retry=retry, limits=limits
    )
    actions = plan_upgrade(location, fmt)
    if not dry_run:
        for action in actions:
            if action.document is not None:
                location.write_bytes(location.relative_key(action.key), action.encoded(location.url))
        for action in actions:
            if action.document is None:
                adapter.sync(location.store.delete(action.key))
    return actions
