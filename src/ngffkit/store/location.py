"""Where OME-Zarr data lives: paths and URLs resolved to zarr stores, and metadata read from them.

A :class:`Location` is a group (or array) inside a store. It knows how to

* read the node's metadata -- zarr v2 (``.zgroup``/``.zarray`` + ``.zattrs``) or v3 (``zarr.json``) --
  asking only for the documents of the format in use once the format is known, and answering from
  consolidated metadata when the root has it;
* read the metadata of many nodes at once (all wells of a plate), concurrently through zarr's async
  store API, so N documents cost about one round trip instead of N;
* step to a child named in metadata only after :mod:`ngffkit.store.paths` has checked the name.

It never lists the store to find OME children: HTTP servers and S3 buckets without ListBucket cannot
list, and OME-NGFF metadata names its children anyway.

Constructors do no I/O; reading happens in the ``read_*`` methods.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import zarr
from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import FsspecStore, LocalStore, MemoryStore

from ngffkit.errors import InvalidMetadata, LocationError, NGFFError, NotFound, UnsafePath
from ngffkit.store import ozx, paths, remote
from ngffkit.store.jsonfile import parse_json
from ngffkit.store.local import ConfinedLocalStore

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


def _split_url(url: str) -> tuple[str, str]:
    if "://" not in url:
        return "", url
    protocol, rest = url.split("://", 1)
    return protocol.lower(), rest


def make_store(
    target: str | os.PathLike[str] | Store,
    *,
    storage_options: Mapping[str, Any] | None = None,
    mode: str = "r",
) -> tuple[Store, str]:
    """Turn a path, URL or store into ``(zarr store, display URL)``. No I/O happens here.

    ``mode`` "r" opens read-only; "w" or "a" allow writing. ``storage_options`` pass through to fsspec
    (for ``s3://``, ``anon`` defaults to True when no AWS credentials are configured).
    """
    read_only = mode == "r"
    if isinstance(target, Store):
        return target, _store_url(target)
    if isinstance(target, os.PathLike):
        target = os.fspath(target)
    if not isinstance(target, str) or not target:
        raise LocationError(f"cannot open {target!r}: expected a path, a URL or a zarr store")
    protocol, rest = _split_url(target)
    if target.rstrip("/").lower().endswith(".ozx"):
        return _zip_store(target.rstrip("/"), protocol, rest, storage_options, read_only)
    if protocol in ("", "file"):
        local = pathlib.Path(rest if protocol else target).expanduser()
        if storage_options:
            raise LocationError("storage_options only apply to remote URLs", where=target)
        return ConfinedLocalStore(local, read_only=read_only), str(local)
    try:
        url = target.rstrip("/")
        store = remote.ResilientStore.from_url(url, storage_options=remote.fsspec_options(url, storage_options),
                                               read_only=read_only)  # fmt: skip
    except (ImportError, ValueError) as exc:
        hint = " (install ngffkit[s3] for s3:// URLs)" if protocol.startswith("s3") else ""
        raise LocationError(f"cannot open {protocol}:// URLs: {exc}{hint}", where=target) from None
    return store, target.rstrip("/")


def _zip_store(
    target: str, protocol: str, rest: str, storage_options: Mapping[str, Any] | None, read_only: bool
) -> tuple[Store, str]:
    """A zipped OME-Zarr (.ozx): a local file through zarr's ZipStore, remote ones through range requests."""
    if not read_only:
        raise LocationError("a .ozx archive is written whole by the writer, not opened for writing", where=target)
    if protocol in ("", "file"):
        local = pathlib.Path(rest if protocol else target).expanduser()
        if not local.is_file():
            raise NotFound("no such .ozx file", where=str(local))
        try:
            return ozx.BoundedZipStore(local, mode="r", read_only=True), str(local)
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise LocationError(f"not a readable zip archive: {exc}", where=str(local)) from None
    options = remote.fsspec_options(target, storage_options)
    try:
        return remote.ResilientStore.from_url(
            f"zip::{target}", storage_options={protocol: options}, read_only=True
        ), target
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise LocationError(f"cannot open the zip archive: {exc}", where=target) from None


def _store_url(store: Store) -> str:
    if isinstance(store, LocalStore):
        return str(store.root)
    if isinstance(store, FsspecStore):
        protocol = store.fs.protocol[0] if isinstance(store.fs.protocol, tuple) else store.fs.protocol
        return f"{protocol}://{store.path.lstrip('/')}"
    if isinstance(store, MemoryStore):
        return f"memory-store-{id(store):x}"
    return repr(store)


@dataclass
class _Shared:
    """State shared by all locations of one store: the zarr format once known, consolidated metadata."""

    store: Store
    url: str
    zarr_format: int | None = None
    #: How the store was made, so that a parent URL can be opened the same way (see Location.ancestor).
    storage_options: Mapping[str, Any] | None = None
    mode: str = "r"
    #: Store key -> parsed document, from consolidated metadata (read once, at the root).
    consolidated: dict[str, dict[str, Any]] = field(default_factory=dict)
    consolidated_checked: bool = False


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


@dataclass(frozen=True)
class Location:
    """A node (group or array) inside a store, addressed by a path below the store root."""

    shared: _Shared = field(repr=False)
    path: str = ""

    # --- construction (no I/O) ----------------------------------------------------------------------

    @classmethod
    def of(
        cls,
        target: str | os.PathLike[str] | Store | Location,
        *,
        storage_options: Mapping[str, Any] | None = None,
        mode: str = "r",
        zarr_format: int | None = None,
    ) -> Location:
        """The location of a path, URL or store. ``zarr_format`` may be given when known (saves probes)."""
        if isinstance(target, Location):
            return target
        store, url = make_store(target, storage_options=storage_options, mode=mode)
        return cls(_Shared(store, url, zarr_format, storage_options, mode))

    def child(self, relative: str, *, key: str | None = None) -> Location:
        """The node at ``relative`` below this one; :class:`~ngffkit.UnsafePath` if it would escape."""
        paths.check_relative(relative, where=self.url, key=key)
        if any(part.lower().endswith(".ozx") for part in relative.split("/")):
            raise UnsafePath(
                f"path {relative!r} names a nested .ozx archive; refusing to follow it", where=self.url, key=key
            )
        return Location(self.shared, paths.join(self.path, relative))

    def parent(self) -> Location | None:
        """The enclosing group, or None at the store root."""
        if not self.path:
            return None
        return Location(self.shared, self.path.rpartition("/")[0])

    def ancestor(self, levels: int) -> Location:
        """The node ``levels`` groups up, re-opening the parent URL when that lies above the store root.

        A label opened by its own URL (``.../img.zarr/labels/cells``) finds its image this way, locally and
        remotely alike -- no local-only ``store.root`` tricks.
        """
        if levels < 0:
            raise ValueError("levels must be >= 0")
        segments = [s for s in self.path.split("/") if s]
        if levels <= len(segments):
            return Location(self.shared, "/".join(segments[: len(segments) - levels]))
        above = levels - len(segments)
        base = self.shared.url.rstrip("/")
        protocol, rest = _split_url(base)
        parts = rest.split("/")
        keep = len(parts) - above
        if isinstance(self.shared.store, MemoryStore) or keep < (2 if protocol else 1) or not parts[keep - 1]:
            raise NotFound(f"cannot go {levels} levels up from here", where=self.url)
        parent = "/".join(parts[:keep])
        target = f"{protocol}://{parent}" if protocol else parent
        return Location.of(target, storage_options=self.shared.storage_options, mode=self.shared.mode)

    def resolve(self, relative: str, *, max_up: int, key: str | None = None) -> Location:
        """Follow a relative reference that may climb (``../../``), as image-label ``source.image`` does.

        Leading ``..`` segments go up (re-rooting above the store if needed), at most ``max_up`` of them, so
        that metadata can reach the dataset that holds it but nothing beside it; the rest must be a safe path.
        """
        segments = relative.rstrip("/").split("/") if relative.rstrip("/") else []
        ups = 0
        while ups < len(segments) and segments[ups] == "..":
            ups += 1
        rest = "/".join(segments[ups:])
        if ups > max_up:
            raise UnsafePath(
                f"path {relative!r} climbs {ups} levels; at most {max_up} stay inside the dataset",
                where=self.url,
                key=key,
            )
        if rest:
            paths.check_relative(rest, where=self.url, key=key)
        base = self.ancestor(ups)
        return base.child(rest, key=key) if rest else base

    @property
    def store(self) -> Store:
        return self.shared.store

    @property
    def zarr_format(self) -> int | None:
        return self.shared.zarr_format

    @property
    def url(self) -> str:
        """A URL or path a person can paste: the store URL plus the node path."""
        return f"{self.shared.url}/{self.path}" if self.path else self.shared.url

    def __str__(self) -> str:
        return self.url

    def key(self, name: str) -> str:
        """The store key of ``name`` below this node."""
        return paths.join(self.path, name)

    def relative_key(self, key: str) -> str:
        """A store key as a path below this node (the inverse of :meth:`key`)."""
        return key[len(self.path) + 1 :] if self.path and key.startswith(self.path + "/") else key

    # --- raw documents ------------------------------------------------------------------------------

    async def _ensure_open(self) -> None:
        """Stores open lazily (zarr's higher-level API does this; raw reads must do it themselves)."""
        if not getattr(self.store, "_is_open", True):
            await self.store._open()

    async def _get(self, key: str) -> bytes | None:
        try:
            await self._ensure_open()
            buf = await self.store.get(key, prototype=default_buffer_prototype())
        except FileNotFoundError:
            return None
        except NGFFError:
            raise  # remote stores already name the URL and the cause
        except Exception as exc:
            raise LocationError(f"cannot read {key!r}: {type(exc).__name__}: {exc}", where=self.shared.url) from None
        return None if buf is None else buf.to_bytes()

    async def _get_json(self, key: str) -> Any:
        cached = self.shared.consolidated.get(key)
        if cached is not None:
            return cached
        data = await self._get(key)
        if data is None:
            return None
        return parse_json(data, where=f"{self.shared.url}/{key}")

    # --- node metadata ------------------------------------------------------------------------------

    async def _read_consolidated(self) -> None:
        """At the store root, once: index consolidated metadata if the root carries it."""
        shared = self.shared
        if shared.consolidated_checked:
            return
        shared.consolidated_checked = True
        if shared.zarr_format in (None, 2):
            self._absorb_v2_consolidated(await self._root_json(V2_CONSOLIDATED))

    def _absorb_v2_consolidated(self, doc: Any) -> None:
        """Index a ``.zmetadata`` document: store key -> the JSON document it consolidates."""
        meta = doc.get("metadata") if isinstance(doc, dict) else None
        if isinstance(meta, dict):
            self.shared.consolidated.update({k: v for k, v in meta.items() if isinstance(v, dict)})

    async def _root_json(self, name: str) -> Any:
        data = await self._get(name)
        return None if data is None else parse_json(data, where=f"{self.shared.url}/{name}")

    async def _read_node(self, expect: str | None = None) -> NodeMetadata:
        """Read this node's metadata documents. ``expect`` ("group" or "array") says what the metadata that
        named the node promises, so only that kind's documents are asked for (zarr v2: ``.zarray`` alone for
        an array, ``.zgroup`` and ``.zattrs`` for a group); anything else then reads as absent."""
        fmt = self.shared.zarr_format
        if fmt is None and not self.shared.consolidated_checked and not self.path:
            # First contact with an unknown store: ask for both formats and v2 consolidated metadata
            # together -- one round trip.
            self.shared.consolidated_checked = True
            v3, zgroup, zattrs, zarray, zmeta = await gather_all(
                *(self._get_json(self.key(n)) for n in (V3_META, V2_GROUP, V2_ATTRS, V2_ARRAY)),
                self._root_json(V2_CONSOLIDATED),
            )
            self._absorb_v2_consolidated(zmeta)
            return self._node_from(v3, zgroup, zattrs, zarray)
        if fmt == 3:
            return self._node_from(await self._get_json(self.key(V3_META)), None, None, None)
        if fmt == 2:
            await self._read_consolidated()
            if expect == "array":
                return self._node_from(None, None, None, await self._get_json(self.key(V2_ARRAY)))
            names = (V2_GROUP, V2_ATTRS) if expect == "group" else (V2_GROUP, V2_ATTRS, V2_ARRAY)
            docs = await gather_all(*(self._get_json(self.key(n)) for n in names))
            zgroup, zattrs, zarray = (*docs, None) if expect == "group" else docs
            return self._node_from(None, zgroup, zattrs, zarray)
        v3, zgroup, zattrs, zarray = await gather_all(
            *(self._get_json(self.key(n)) for n in (V3_META, V2_GROUP, V2_ATTRS, V2_ARRAY))
        )
        return self._node_from(v3, zgroup, zattrs, zarray)

    def _node_from(self, v3: Any, zgroup: Any, zattrs: Any, zarray: Any) -> NodeMetadata:
        if v3 is not None:
            if not isinstance(v3, dict):
                raise InvalidMetadata("zarr.json must hold a JSON object", where=self.url + "/zarr.json")
            if v3.get("zarr_format") != 3:
                raise InvalidMetadata(
                    f"zarr.json states zarr_format {v3.get('zarr_format')!r}, expected 3",
                    where=self.url + "/zarr.json",
                )
            node_type = v3.get("node_type")
            if node_type not in ("group", "array"):
                raise InvalidMetadata(
                    f"unknown node_type {node_type!r}", where=self.url + "/zarr.json", key="node_type"
                )
            attrs = v3.get("attributes", {})
            if not isinstance(attrs, dict):
                raise InvalidMetadata(
                    "attributes must be a JSON object", where=self.url + "/zarr.json", key="attributes"
                )
            self._learn_format(3)
            self._absorb_v3_consolidated(v3)
            return NodeMetadata(self, 3, node_type, attrs, v3 if node_type == "array" else None)
        if zgroup is None and zarray is None and zattrs is None:
            return NodeMetadata(self, self.shared.zarr_format, None, {})
        if zattrs is not None and not isinstance(zattrs, dict):
            raise InvalidMetadata(".zattrs must hold a JSON object", where=self.url + "/.zattrs")
        for name, doc in ((V2_GROUP, zgroup), (V2_ARRAY, zarray)):
            if doc is not None and not isinstance(doc, dict):
                raise InvalidMetadata(f"{name} must hold a JSON object", where=f"{self.url}/{name}")
        self._learn_format(2)
        node_type = "array" if zarray is not None else "group" if zgroup is not None else None
        if node_type is None:
            # .zattrs without .zgroup: some writers skip .zgroup; treat as an (implicit) group.
            return NodeMetadata(self, 2, "group", zattrs or {}, None, implicit_group=True)
        return NodeMetadata(self, 2, node_type, zattrs or {}, zarray)

    def _learn_format(self, zarr_format: int) -> None:
        if self.shared.zarr_format is None:
            self.shared.zarr_format = zarr_format

    def _absorb_v3_consolidated(self, doc: dict[str, Any]) -> None:
        consolidated = doc.get("consolidated_metadata")
        meta = consolidated.get("metadata") if isinstance(consolidated, dict) else None
        if isinstance(meta, dict):
            for child, child_doc in meta.items():
                if isinstance(child, str) and isinstance(child_doc, dict):
                    key = paths.join(paths.join(self.path, child), V3_META)
                    self.shared.consolidated.setdefault(key, child_doc)

    def read(self, expect: str | None = None) -> NodeMetadata:
        """Read this node's metadata (group or array). A missing node has ``node_type`` None."""
        return sync(self._read_node(expect))

    def read_group(self) -> NodeMetadata:
        """Read this node's metadata and insist that it is a group."""
        node = self.read()
        if not node.exists:
            raise NotFound("no zarr group here", where=self.url)
        if not node.is_group:
            raise NotFound("this is a zarr array, not a group", where=self.url)
        return node

    # --- writing -----------------------------------------------------------------------------------

    async def _set(self, key: str, data: bytes) -> None:
        await self._ensure_open()
        await self.store.set(key, default_buffer_prototype().buffer.from_bytes(data))

    def read_document(self, name: str) -> Any:
        """The JSON document ``name`` below this node (not consolidated, not cached), or None if absent."""
        return sync(self._root_json(self.key(name)))

    def write_bytes(self, name: str, data: bytes) -> None:
        sync(self._set(self.key(name), data))

    def remove(self, name: str) -> None:
        """Delete the single key ``name`` below this node (absent is fine)."""

        async def delete() -> None:
            await self._ensure_open()
            await self.store.delete(self.key(name))

        sync(delete())

    def write_json(self, name: str, document: Any) -> None:
        """Write one JSON document below this node (UTF-8, indented, sorted as given)."""
        sync(self._set(self.key(name), json.dumps(document, indent=2, allow_nan=False).encode()))

    def write_group(self, attributes: Mapping[str, Any], zarr_format: int) -> None:
        """Write this node's group metadata: ``zarr.json`` (v3), or ``.zgroup`` and ``.zattrs`` (v2).

        Only the documents are written; arrays and groups below stay as they are (unlike zarr's
        ``create_group(overwrite=True)``, which deletes them).
        """
        if zarr_format == 3:
            self.write_json(V3_META, {"zarr_format": 3, "node_type": "group", "attributes": dict(attributes)})
        else:
            self.write_json(V2_GROUP, {"zarr_format": 2})
            self.write_json(V2_ATTRS, dict(attributes))
        self.shared.consolidated.clear()

    def write_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Replace this node's attributes and nothing else: the rest of ``zarr.json`` stays, and consolidated
        metadata at the store root (v3 ``consolidated_metadata`` or v2 ``.zmetadata``) is updated to match, so
        readers that trust it see the change too."""
        sync(self._write_attributes(dict(attributes)))

    async def _write_attributes(self, attributes: dict[str, Any]) -> None:
        def dump(doc: Any) -> bytes:
            return json.dumps(doc, indent=2, allow_nan=False).encode()

        if self.shared.zarr_format == 3:
            doc = await self._root_json(self.key(V3_META)) or {"zarr_format": 3, "node_type": "group"}
            doc["attributes"] = attributes
            await self._set(self.key(V3_META), dump(doc))
            root = await self._root_json(V3_META) if self.path else None
            consolidated = root.get("consolidated_metadata") if isinstance(root, dict) else None
            entries = consolidated.get("metadata") if isinstance(consolidated, dict) else None
            if isinstance(entries, dict) and isinstance(entries.get(self.path), dict):
                entries[self.path]["attributes"] = attributes
                await self._set(V3_META, dump(root))
        else:
            await self._set(self.key(V2_ATTRS), dump(attributes))
            zmeta = await self._root_json(V2_CONSOLIDATED)
            entries = zmeta.get("metadata") if isinstance(zmeta, dict) else None
            if isinstance(entries, dict):
                entries[self.key(V2_ATTRS)] = attributes
                await self._set(V2_CONSOLIDATED, dump(zmeta))
        self.shared.consolidated.clear()

    def delete(self) -> None:
        """Delete this node and everything below it."""
        sync(self.store.delete_dir(self.path))
        self.shared.consolidated.clear()

    def local_path(self) -> pathlib.Path | None:
        """The folder of this node when the store is a local directory, else None."""
        if isinstance(self.store, LocalStore):
            return pathlib.Path(self.store.root) / self.path
        return None

    # --- arrays ------------------------------------------------------------------------------------

    def open_array(self, relative: str = "") -> zarr.Array:
        """Open the array at ``relative`` below this node (or this node itself) for lazy reading."""
        target = self.child(relative) if relative else self
        fmt = target.shared.zarr_format
        try:
            return zarr.open_array(target.store, path=target.path, mode="r", zarr_format=fmt)  # type: ignore[arg-type]
        except FileNotFoundError:
            raise NotFound("array not found", where=target.url) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidMetadata(f"cannot open array: {exc}", where=target.url) from None


async def _gather_nodes(
    locations: Iterable[Location], expects: Iterable[str | None], keep: Callable[[BaseException], bool]
) -> list[NodeMetadata | NGFFError]:
    reads = (loc._read_node(e) for loc, e in zip(locations, expects, strict=True))
    results = await asyncio.gather(*reads, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not keep(result):
            raise result
    return list(results)  # type: ignore[arg-type]


def read_many(locations: Sequence[Location], expect: str | Sequence[str | None] | None = None) -> list[NodeMetadata]:
    """Read the metadata of many nodes concurrently; results come back in the same order.

    ``expect`` ("group" or "array", or one of those per location) narrows zarr v2 reads to that kind's
    documents (see :meth:`Location.read`). The first error is raised once every read has finished.
    """
    return _read_many(locations, expect, keep=lambda _: False)  # type: ignore[return-value]


def read_many_or_errors(
    locations: Sequence[Location],
    expect: str | Sequence[str | None] | None = None,
    *,
    keep_transport_errors: bool = False,
) -> list[NodeMetadata | NGFFError]:
    """Like :func:`read_many`, but a node whose metadata is unusable comes back as its
    :class:`~ngffkit.NGFFError` instead of failing the batch (one broken well must not hide a plate).

    A transport failure (:class:`~ngffkit.LocationError`: the network, permissions) still raises: readers never
    turn it into a skipped node. ``keep_transport_errors`` keeps those too, for callers that report every
    node's fate (the validator, the finder)."""

    def keep(error: BaseException) -> bool:
        return isinstance(error, NGFFError) and (keep_transport_errors or not isinstance(error, LocationError))

    return _read_many(locations, expect, keep=keep)


def _read_many(
    locations: Sequence[Location],
    expect: str | Sequence[str | None] | None,
    *,
    keep: Callable[[BaseException], bool],
) -> list[NodeMetadata | NGFFError]:
    if not locations:
        return []
    expects = [expect] * len(locations) if expect is None or isinstance(expect, str) else list(expect)
    return sync(_gather_nodes(locations, expects, keep))
