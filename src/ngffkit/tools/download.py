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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ngffkit.errors import AlreadyExists, InvalidMetadata, NotFound, UnsafePath
from ngffkit.store import adapter, limits
from ngffkit.store.limits import Limits
from ngffkit.store.location import Location
from ngffkit.store.nodes import V2_ARRAY, V2_ATTRS, V2_GROUP, V3_META, NodeMetadata, gather_all, get_bytes
from ngffkit.store.remote import RetryPolicy
from ngffkit.store.walk import walk

MARKER = ".ngffkit-download"
BATCH = 64


@dataclass(frozen=True)
class ChunkGrid:
    """How an array's chunk keys are spelled, and how many there are (checked: a hostile level with 10^12
    one-pixel chunks is refused by ``max_download_chunks`` instead of being enumerated)."""

    counts: tuple[int, ...]
    prefix: str
    separator: str
    empty: str  # the key of a 0-dimensional array's only chunk

    @classmethod
    def of(cls, node: NodeMetadata) -> ChunkGrid:
        meta = node.array or {}
        shape = meta.get("shape") or []
        if node.zarr_format == 3:
            grid = (meta.get("chunk_grid") or {}).get("configuration", {}).get("chunk_shape") or shape
            encoding = meta.get("chunk_key_encoding") or {"name": "default"}
            default = encoding.get("name") == "default"
            separator = (encoding.get("configuration") or {}).get("separator", "/" if default else ".")
            prefix, empty = ("c" + separator, "c") if default else ("", "0")
        else:
            grid = meta.get("chunks") or shape
            separator, prefix, empty = meta.get("dimension_separator") or ".", "", "0"
        where = node.location.url
        if separator not in (".", "/"):
            # The separator becomes part of file paths: "/../" would write outside the destination.
            raise InvalidMetadata(f"chunk key separator {separator!r} must be '.' or '/'", where=where)
        if not _counts(shape, allow_zero=True) or not _counts(grid) or len(grid) != len(shape):
            raise InvalidMetadata(f"unusable shape {shape!r} or chunk shape {grid!r}", where=where)
        counts = tuple(max(1, math.ceil(s / c)) for s, c in zip(shape, grid, strict=True))
        limits.check(
            "max_download_chunks",
            math.prod(counts),
            what="chunks in this array",
            where=where,
            limits=node.location.limits,
        )
        return cls(counts, prefix, separator, empty)

    @property
    def size(self) -> int:
        return math.prod(self.counts)

    def keys(self) -> Iterator[str]:
        """Every chunk (or shard) key, relative to the array, generated lazily."""
        if not self.counts:
            return iter([self.empty])
        indices = itertools.product(*(range(n) for n in self.counts))
        return (self.prefix + self.separator.join(map(str, idx)) for idx in indices)


def _counts(values: object, *, allow_zero: bool = False) -> bool:
    return isinstance(values, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and (v > 0 or (allow_zero and v == 0)) for v in values
    )


def _documents(node: NodeMetadata) -> list[str]:
    if node.zarr_format == 3:
        return [V3_META]
    return [V2_ARRAY, V2_ATTRS] if node.is_array else [V2_GROUP, V2_ATTRS]


def download(
    url: str,
    dest: str | os.PathLike[str],
    *,
    storage_options: Mapping[str, Any] | None = None,
    retry: RetryPolicy | None = None,
    limits: Limits | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pathlib.Path:
    """Copy the OME-Zarr at ``url`` into the local folder ``dest``; rerun to resume. Returns ``dest``.

    ``retry`` and ``limits`` are those of :func:`ngffkit.open`.
    """
    out = pathlib.Path(dest)
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise AlreadyExists("exists and is not an unfinished ngffkit download; choose another folder", where=str(out))
    source = Location.of(url, storage_options=storage_options, retry=retry, limits=limits)
    nodes = list(walk(source))
    if not nodes:
        raise NotFound("nothing to download here", where=source.url)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(f"unfinished download of {source.url}\n")
    grids = [(node, ChunkGrid.of(node)) for node in nodes if node.is_array]  # every count checked up front
    total = sum(grid.size for _, grid in grids)
    done = 0
    for node, grid in grids:
        keys = grid.keys()
        while batch := [node.location.key(k) for k in itertools.islice(keys, BATCH)]:
            adapter.sync(_copy(source, [k for k in batch if not (out / source.relative_key(k)).exists()], out))
            done += len(batch)
            if progress is not None:
                progress(done, total)
    documents = [(node.location.key(name), name) for node in nodes for name in _documents(node)]
    adapter.sync(_copy(source, [key for key, _ in documents], out))
    (out / MARKER).unlink()
    return out


async def _copy(source: Location, keys: list[str], out: pathlib.Path) -> None:
    root = out.resolve()

    async def one(key: str) -> None:
        data = await get_bytes(source, key)
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
