"""Where bytes live, comparable across spellings: does writing *here* touch what is being read from *there*?

A write that replaces its own source deletes the data it is about to read and writes zeros. The same folder
can be named ``a.zarr``, ``./a.zarr``, ``/abs/a.zarr``, ``file:///abs/a.zarr`` or a symbolic link; the same
bucket key ``s3://b/k`` or ``s3a://b/k/``. A :class:`Place` is one normal spelling -- a scheme and a path --
so that two places can be checked for overlap: one inside (or equal to) the other.
"""

from __future__ import annotations

import os
import pathlib
import urllib.parse
from dataclasses import dataclass
from typing import Any

from zarr.abc.store import Store
from zarr.storage import FsspecStore, LocalStore, MemoryStore, ZipStore

from ngffkit.store import paths
from ngffkit.store.local import ConfinedLocalStore
from ngffkit.store.ozx import OzxStore

_SCHEME_ALIASES = {"s3a": "s3", "gcs": "gs", "https": "http"}


@dataclass(frozen=True)
class Place:
    """A normalised location: ``scheme`` ("file", "s3", "http", "memory:<id>", ...) and a ``/``-joined path."""

    scheme: str
    path: str

    def overlaps(self, other: Place) -> bool:
        """Whether one of the two lies in (or is) the other."""
        if self.scheme != other.scheme:
            return False
        a, b = self.path.rstrip("/"), other.path.rstrip("/")
        return a == b or a.startswith(b + "/") or b.startswith(a + "/")

    def child(self, relative: str) -> Place:
        relative = relative.strip("/")
        return Place(self.scheme, f"{self.path.rstrip('/')}/{relative}" if relative else self.path)

    def __str__(self) -> str:
        return self.path if self.scheme == "file" else f"{self.scheme}://{self.path}"


def of_path(target: str | os.PathLike[str]) -> Place:
    """The place a path or URL names (local paths resolved through symbolic links, relative to the cwd)."""
    text = os.fspath(target)
    paths.refuse_nul(text)
    if "://" in text:
        scheme, rest = text.split("://", 1)
        scheme = scheme.lower()
        if scheme != "file":
            rest = urllib.parse.unquote(rest) if scheme in ("http", "https") else rest
            return Place(_SCHEME_ALIASES.get(scheme, scheme), rest.strip("/"))
        text = urllib.parse.unquote(rest)
    return Place("file", os.path.realpath(pathlib.Path(text).expanduser()))


def of_store(store: Store, path: str = "") -> Place | None:
    """The place of ``path`` inside ``store``, or None for a store whose bytes ngffkit cannot locate."""
    if isinstance(store, ConfinedLocalStore | LocalStore):
        return Place("file", os.path.realpath(store.root)).child(path)
    if isinstance(store, OzxStore | ZipStore):
        return Place("file", os.path.realpath(str(store.path))).child(path)
    if isinstance(store, MemoryStore):
        return Place("memory", str(store).removeprefix("memory://")).child(path)  # one per dict of keys
    if isinstance(store, FsspecStore):
        protocol = store.fs.protocol[0] if isinstance(store.fs.protocol, tuple) else store.fs.protocol
        return of_path(f"{protocol}://{store.path}").child(path)
    return None


def of_object(obj: Any) -> Place | None:
    """The place an array-like reads from: a zarr array (its store and path) or a memory-mapped file."""
    store_path = getattr(obj, "store_path", None)
    if store_path is not None and isinstance(getattr(store_path, "store", None), Store):
        return of_store(store_path.store, str(store_path.path))
    base: Any = obj
    while base is not None:
        filename = getattr(base, "filename", None)
        if isinstance(filename, str | os.PathLike):
            return of_path(filename)
        base = getattr(base, "base", None)
    return None
