"""``ngffkit download``: copy a remote OME-Zarr to a local folder, following its metadata, resumably.

Chunks are fetched concurrently in batches and written to their files; chunks already present locally are
skipped, so an interrupted download is finished by running it again. Metadata documents are written last,
so a partial download never looks like a complete dataset. Every path comes from metadata that was checked,
and chunk keys are built from integers -- nothing can land outside the destination.
"""

from __future__ import annotations

import itertools
import math
import os
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

from zarr.core.sync import sync

from ngffkit.errors import AlreadyExists, InvalidMetadata, NotFound, UnsafePath
from ngffkit.store.location import V2_ARRAY, V2_ATTRS, V2_GROUP, V3_META, Location, NodeMetadata, gather_all
from ngffkit.store.walk import walk

MARKER = ".ngffkit-download"
BATCH = 64


def chunk_keys(node: NodeMetadata) -> list[str]:
    """Store keys of every chunk (or shard) of an array node, relative to the array."""
    meta = node.array or {}
    shape = meta.get("shape") or []
    if node.zarr_format == 3:
        grid = (meta.get("chunk_grid") or {}).get("configuration", {}).get("chunk_shape") or shape
        encoding = meta.get("chunk_key_encoding") or {"name": "default"}
        separator = (encoding.get("configuration") or {}).get(
            "separator", "/" if encoding.get("name") == "default" else "."
        )
        prefix = "c" + separator if encoding.get("name") == "default" else ""
        empty = "c" if encoding.get("name") == "default" else "0"
    else:
        grid = meta.get("chunks") or shape
        separator = meta.get("dimension_separator") or "."
        prefix, empty = "", "0"
    if separator not in (".", "/"):
        # The separator becomes part of file paths: "/../" would write outside the destination.
        raise InvalidMetadata(f"chunk key separator {separator!r} must be '.' or '/'", where=node.location.url)
    counts = [max(1, math.ceil(s / c)) for s, c in zip(shape, grid, strict=True)]
    if not counts:
        return [empty]
    return [prefix + separator.join(map(str, idx)) for idx in itertools.product(*(range(n) for n in counts))]


def _documents(node: NodeMetadata) -> list[str]:
    if node.zarr_format == 3:
        return [V3_META]
    return [V2_ARRAY, V2_ATTRS] if node.is_array else [V2_GROUP, V2_ATTRS]


def download(
    url: str,
    dest: str | os.PathLike[str],
    *,
    storage_options: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pathlib.Path:
    """Copy the OME-Zarr at ``url`` into the local folder ``dest``; rerun to resume. Returns ``dest``."""
    out = pathlib.Path(dest)
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise AlreadyExists("exists and is not an unfinished ngffkit download; choose another folder", where=str(out))
    source = Location.of(url, storage_options=storage_options)
    nodes = list(walk(source))
    if not nodes:
        raise NotFound("nothing to download here", where=source.url)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(f"unfinished download of {source.url}\n")
    todo: list[str] = []
    for node in nodes:
        if node.is_array:
            todo += [node.location.key(k) for k in chunk_keys(node)]
    total = len(todo)
    done = 0
    for start in range(0, total, BATCH):
        batch = [k for k in todo[start : start + BATCH] if not (out / source.relative_key(k)).exists()]
        sync(_copy(source, batch, out))
        done = min(total, start + BATCH)
        if progress is not None:
            progress(done, total)
    documents = [(node.location.key(name), name) for node in nodes for name in _documents(node)]
    sync(_copy(source, [key for key, _ in documents], out))
    (out / MARKER).unlink()
    return out


async def _copy(source: Location, keys: list[str], out: pathlib.Path) -> None:
    root = out.resolve()

    async def one(key: str) -> None:
        data = await source._get(key)
        if data is None:
            return  # a chunk never written: the fill value, nothing to copy
        target = out / source.relative_key(key)
        if not target.resolve().is_relative_to(root):  # belt and braces: keys come from checked metadata
            raise UnsafePath(f"key {key!r} would be written outside the destination", where=str(out))
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(data)
        partial.replace(target)

    await gather_all(*(one(k) for k in keys))
