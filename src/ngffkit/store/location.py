"""Where OME-Zarr data lives: a node (group or array) inside a store, and the documents read and written there.

A :class:`Location` is an immutable address -- a store and a path below its root -- plus a reference to the
store's :class:`StoreState`, the one explicitly mutable part: what reading has learned about the store (its
zarr format, its consolidated metadata) and how it was opened. Every location of one store shares that state,
so the format is detected once and consolidated metadata read once.

Stepping to a child named in metadata goes through :mod:`ngffkit.store.paths` first. Nothing here lists a store
to find OME children: HTTP servers and S3 buckets without ListBucket cannot list, and OME-NGFF metadata names its
children anyway. Constructors do no I/O; reading happens in ``read*`` (one node; many at once: :mod:`.batch`).
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import zarr
from zarr.abc.store import Store
from zarr.storage import LocalStore, MemoryStore

from ngffkit.errors import InvalidMetadata, NotFound, UnsafePath, safe_cause
from ngffkit.store import adapter, paths
from ngffkit.store import limits as _limits
from ngffkit.store.factory import make_store, split_url
from ngffkit.store.local import ConfinedLocalStore
from ngffkit.store.nodes import (
    V2_ATTRS,
    V2_CONSOLIDATED,
    V2_GROUP,
    V3_META,
    NodeMetadata,
    get_bytes,
    get_json,
    read_node,
    set_bytes,
)
from ngffkit.store.remote import RetryPolicy


@dataclass
class StoreState:
    """What is known about one store, shared (and updated) by all its locations: the cache of reading."""

    store: Store
    url: str
    zarr_format: int | None = None
    #: How the store was made, so that a parent URL can be opened the same way (see Location.ancestor).
    storage_options: Mapping[str, Any] | None = None
    mode: str = "r"
    #: The caller's retry policy and limits (None: the environment's), kept for the stores opened from here.
    retry: RetryPolicy | None = None
    limits: _limits.Limits | None = None
    #: Store key -> parsed document, from consolidated metadata (read once, at the root).
    consolidated: dict[str, dict[str, Any]] = field(default_factory=dict)
    consolidated_checked: bool = False

    def learn_format(self, zarr_format: int) -> None:
        if self.zarr_format is None:
            self.zarr_format = zarr_format

    def forget_documents(self) -> None:
        """After a write: consolidated metadata read earlier may be stale."""
        self.consolidated.clear()


@dataclass(frozen=True)
class Location:
    """A node (group or array) inside a store, addressed by a path below the store root.

    Make one with :meth:`of`; every location of one store shares its state. No I/O happens until a ``read*`` or
    ``write*`` method is called.

    :param state: what is known about the store, shared by all its locations (made by :meth:`of`).
    :param path: the node's path below the store root, ``/``-separated; empty for the root.
    """

    state: StoreState = field(repr=False)
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
        retry: RetryPolicy | None = None,
        limits: _limits.Limits | None = None,
    ) -> Location:
        """The location of a path, URL or store (no I/O).

        :param target: a local path, a URL (``s3://``, ``https://``, ... through fsspec), a zarr store, or a
            location (returned as it is; the other arguments are then not used).
        :param storage_options: options for the fsspec filesystem of a URL (credentials, ``{"anon": False}``, an
            endpoint); None: fsspec's defaults, with anonymous ``s3://`` access when no AWS credentials are
            configured.
        :param mode: ``"r"`` (the default) to read, ``"w"`` to write as well.
        :param zarr_format: the store's zarr format (2 or 3) when known, which saves probes; None: detected on the
            first read.
        :param retry: attempts and timeouts of remote requests; None: :meth:`RetryPolicy.from_environment`.
        :param limits: bounds on what the data may ask -- document sizes, read deadlines, levels, wells, fields;
            None: :meth:`Limits.from_environment` (the ``NGFFKIT_...`` variables).
        """
        if isinstance(target, Location):
            return target
        store, url = make_store(target, storage_options=storage_options, mode=mode, retry=retry, limits=limits)
        return cls(StoreState(store, url, zarr_format, storage_options, mode, retry, limits))

    def child(self, relative: str, *, key: str | None = None) -> Location:
        """The node at ``relative`` below this one (no I/O).

        :param relative: a ``/``-separated path below this node, as metadata names it.
        :param key: the metadata key that named the path, for the error.
        :raises UnsafePath: when the path would escape this node (``..``, absolute paths) or names a nested
            ``.ozx``.
        """
        paths.check_relative(relative, where=self.url, key=key)
        if any(part.lower().endswith(".ozx") for part in relative.split("/")):
            raise UnsafePath(
                f"path {relative!r} names a nested .ozx archive; refusing to follow it", where=self.url, key=key
            )
        return Location(self.state, paths.join(self.path, relative))

    def parent(self) -> Location | None:
        """The enclosing group, or None at the store root."""
        if not self.path:
            return None
        return Location(self.state, self.path.rpartition("/")[0])

    def ancestor(self, levels: int) -> Location:
        """The node ``levels`` groups up, re-opening the parent URL when that lies above the store root.

        A label opened by its own URL (``.../img.zarr/labels/cells``) finds its image this way, locally and
        remotely alike -- no local-only ``store.root`` tricks.

        :param levels: how many groups up (0: this node).
        :raises NotFound: when there is nothing that far up (a memory store, the top of a URL).
        """
        if levels < 0:
            raise ValueError("levels must be >= 0")
        segments = [s for s in self.path.split("/") if s]
        if levels <= len(segments):
            return Location(self.state, "/".join(segments[: len(segments) - levels]))
        above = levels - len(segments)
        protocol, rest = split_url(self.state.url.rstrip("/"))
        parts = rest.split("/")
        keep = len(parts) - above
        if isinstance(self.store, MemoryStore) or keep < (2 if protocol else 1) or not parts[keep - 1]:
            raise NotFound(f"cannot go {levels} levels up from here", where=self.url)
        parent = "/".join(parts[:keep])
        target = f"{protocol}://{parent}" if protocol else parent
        state = self.state
        return Location.of(target, storage_options=state.storage_options, mode=state.mode, retry=state.retry,
                           limits=state.limits)  # fmt: skip

    def resolve(self, relative: str, *, max_up: int, key: str | None = None) -> Location:
        """Follow a relative reference that may climb (``../../``), as image-label ``source.image`` does.

        Leading ``..`` segments go up (re-rooting above the store if needed), at most ``max_up`` of them, so
        that metadata can reach the dataset that holds it but nothing beside it; the rest must be a safe path.

        :param relative: the reference, as metadata gives it (``"../../"``).
        :param max_up: how many ``..`` segments are allowed.
        :param key: the metadata key that holds the reference, for the error.
        :raises UnsafePath: when the reference climbs too far or is not a safe path.
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
        """The zarr store the node is in."""
        return self.state.store

    @property
    def zarr_format(self) -> int | None:
        """The store's zarr format (2 or 3), once known; None before the first read."""
        return self.state.zarr_format

    @property
    def limits(self) -> _limits.Limits:
        """The limits in force for this store: the caller's, else the environment's (read now)."""
        return self.state.limits or _limits.current()

    def check_limit(self, limit: str, value: float, *, what: str) -> None:
        """:class:`~ngffkit.LimitExceeded` naming this node when ``value`` is above ``limit`` of :attr:`limits`.

        :param limit: the name of a field of :class:`~ngffkit.Limits` (``"max_wells"``).
        :param value: the amount the data asks for.
        :param what: what was counted, for the message (``"wells in this plate"``).
        """
        _limits.check(limit, value, what=what, where=self.url, limits=self.limits)

    @property
    def url(self) -> str:
        """A URL or path a person can paste: the store URL plus the node path."""
        return f"{self.state.url}/{self.path}" if self.path else self.state.url

    def __str__(self) -> str:
        return self.url

    def key(self, name: str) -> str:
        """The store key of ``name`` below this node.

        :param name: a key relative to this node (``"zarr.json"``).
        """
        return paths.join(self.path, name)

    def relative_key(self, key: str) -> str:
        """A store key as a path below this node (the inverse of :meth:`key`).

        :param key: a key relative to the store root.
        """
        return key[len(self.path) + 1 :] if self.path and key.startswith(self.path + "/") else key

    def local_path(self) -> pathlib.Path | None:
        """The folder of this node when the store is a local directory, else None."""
        if isinstance(self.store, ConfinedLocalStore | LocalStore):
            return pathlib.Path(self.store.root) / self.path
        return None

    # --- reading ------------------------------------------------------------------------------------

    def read(self, expect: str | None = None) -> NodeMetadata:
        """Read this node's metadata (group or array). A missing node has ``node_type`` None.

        :param expect: ``"group"`` or ``"array"`` when the metadata that named the node says which it is, so only
            that kind's documents are asked for (anything else then reads as absent); None: either.
        """
        return adapter.sync(read_node(self, expect))

    def read_group(self) -> NodeMetadata:
        """Read this node's metadata and insist that it is a group."""
        node = self.read()
        if not node.exists:
            raise NotFound("no zarr group here", where=self.url)
        if not node.is_group:
            raise NotFound("this is a zarr array, not a group", where=self.url)
        return node

    def read_document(self, name: str) -> Any:
        """The JSON document ``name`` below this node (not consolidated, not cached), or None if absent.

        :param name: the document's key relative to this node.
        """
        return adapter.sync(get_json(self, self.key(name), cached=False))

    async def read_bytes(self, name: str) -> bytes | None:
        """The bytes of the key ``name`` below this node, or None (a coroutine: callers batch many).

        :param name: the key relative to this node.
        """
        return await get_bytes(self, self.key(name))

    def open_array(self, relative: str = "") -> zarr.Array[Any]:
        """Open the array at ``relative`` below this node (or this node itself) for lazy reading.

        :param relative: the array's path below this node; empty (the default): this node.
        :raises NotFound: when there is no array there.
        :raises InvalidMetadata: when zarr cannot open it.
        """
        target = self.child(relative) if relative else self
        fmt = target.state.zarr_format
        try:
            return zarr.open_array(target.store, path=target.path, mode="r", zarr_format=fmt)  # type: ignore[arg-type]
        except FileNotFoundError:
            raise NotFound("array not found", where=target.url) from None  # says no more than the message
        except (ValueError, TypeError, KeyError) as exc:
            # zarr's text may quote the store, whose URL holds credentials: the cause is chained redacted if so
            raise InvalidMetadata(f"cannot open array: {exc}", where=target.url) from safe_cause(exc)

    # --- writing -----------------------------------------------------------------------------------

    def write_bytes(self, name: str, data: bytes) -> None:
        """Write the bytes of the key ``name`` below this node.

        :param name: the key relative to this node.
        :param data: the bytes.
        """
        adapter.sync(set_bytes(self, self.key(name), data))

    def write_json(self, name: str, document: Any) -> None:
        """Write one JSON document below this node (UTF-8, indented, NaN refused).

        :param name: the document's key relative to this node.
        :param document: the JSON-ready value to write.
        """
        self.write_bytes(name, _dump(document))

    def remove(self, name: str) -> None:
        """Delete the single key ``name`` below this node (absent is fine).

        :param name: the key relative to this node.
        """

        adapter.sync(self.store.delete(self.key(name)))

    def write_group(self, attributes: Mapping[str, Any], zarr_format: int) -> None:
        """Write this node's group metadata: ``zarr.json`` (v3), or ``.zgroup`` and ``.zattrs`` (v2).

        Only the documents are written; arrays and groups below stay as they are (unlike zarr's
        ``create_group(overwrite=True)``, which deletes them).

        :param attributes: the group's attributes.
        :param zarr_format: 3 for ``zarr.json``, 2 for ``.zgroup`` and ``.zattrs``.
        """
        if zarr_format == 3:
            self.write_json(V3_META, {"zarr_format": 3, "node_type": "group", "attributes": dict(attributes)})
        else:
            self.write_json(V2_GROUP, {"zarr_format": 2})
            self.write_json(V2_ATTRS, dict(attributes))
        self.state.forget_documents()
        if not self.path:  # the store's root is now this format (an image overwritten in the other one, say)
            self.state.zarr_format = zarr_format

    def write_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Replace this node's attributes and nothing else: the rest of ``zarr.json`` stays, and consolidated
        metadata at the store root (v3 ``consolidated_metadata`` or v2 ``.zmetadata``) is updated to match, so
        readers that trust it see the change too.

        :param attributes: the node's new attributes (all of them).
        """
        adapter.sync(self._write_attributes(dict(attributes)))

    async def _write_attributes(self, attributes: dict[str, Any]) -> None:
        if self.state.zarr_format == 3:
            doc = await get_json(self, self.key(V3_META), cached=False) or {"zarr_format": 3, "node_type": "group"}
            doc["attributes"] = attributes
            await set_bytes(self, self.key(V3_META), _dump(doc))
            root = await get_json(self, V3_META, cached=False) if self.path else None
            consolidated = root.get("consolidated_metadata") if isinstance(root, dict) else None
            entries = consolidated.get("metadata") if isinstance(consolidated, dict) else None
            if isinstance(entries, dict) and isinstance(entries.get(self.path), dict):
                entries[self.path]["attributes"] = attributes
                await set_bytes(self, V3_META, _dump(root))
        else:
            await set_bytes(self, self.key(V2_ATTRS), _dump(attributes))
            zmeta = await get_json(self, V2_CONSOLIDATED, cached=False)
            entries = zmeta.get("metadata") if isinstance(zmeta, dict) else None
            if isinstance(entries, dict):
                entries[self.key(V2_ATTRS)] = attributes
                await set_bytes(self, V2_CONSOLIDATED, _dump(zmeta))
        self.state.forget_documents()

    def delete(self) -> None:
        """Delete this node and everything below it (only :mod:`ngffkit.writer.destination` calls this)."""
        adapter.sync(self.store.delete_dir(self.path))
        self.state.forget_documents()


def _dump(document: Any) -> bytes:
    return json.dumps(document, indent=2, allow_nan=False).encode()
