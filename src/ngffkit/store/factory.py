"""Paths, URLs and store objects to zarr stores -- with no I/O.

A local path becomes a :class:`~ngffkit.store.local.ConfinedLocalStore` (regular files only, confined to its
folder), ``*.ozx`` a bounded zip store, any other URL a :class:`~ngffkit.store.remote.ResilientStore` (retries,
deadlines, size bounds); a zarr store object is used exactly as given.
"""

from __future__ import annotations

import os
import pathlib
import zipfile
from collections.abc import Mapping
from typing import Any

from zarr.abc.store import Store
from zarr.storage import FsspecStore, LocalStore, MemoryStore

from ngffkit.errors import LocationError, NotFound, safe_cause
from ngffkit.store import failures, ozx, paths, remote
from ngffkit.store.limits import Limits
from ngffkit.store.local import ConfinedLocalStore


def split_url(url: str) -> tuple[str, str]:
    if "://" not in url:
        return "", url
    protocol, rest = url.split("://", 1)
    return protocol.lower(), rest


def make_store(
    target: str | os.PathLike[str] | Store,
    *,
    storage_options: Mapping[str, Any] | None = None,
    mode: str = "r",
    retry: remote.RetryPolicy | None = None,
    limits: Limits | None = None,
) -> tuple[Store, str]:
    """Turn a path, URL or store into ``(zarr store, display URL)``. No I/O happens here.

    ``mode`` "r" opens read-only; "w" or "a" allow writing. ``storage_options`` pass through to fsspec
    (for ``s3://``, ``anon`` defaults to True when no AWS credentials are configured). ``retry`` is how
    remote reads are retried and timed out; without it, :meth:`RetryPolicy.from_environment`. ``limits`` bound
    what the store's reads may return (document and object sizes, the deadline of a remote read); without them,
    :meth:`Limits.from_environment`. A store object is used as it is (its own limits).
    """
    read_only = mode == "r"
    if isinstance(target, Store):
        return target, store_url(target)
    if isinstance(target, os.PathLike):
        target = os.fspath(target)
    if not isinstance(target, str) or not target:
        raise LocationError(f"cannot open {target!r}: expected a path, a URL or a zarr store")
    paths.refuse_nul(target)
    protocol, rest = split_url(target)
    if target.rstrip("/").lower().endswith(".ozx"):
        return _zip_store(target.rstrip("/"), protocol, rest, storage_options, read_only, retry, limits)
    if protocol in ("", "file"):
        local = pathlib.Path(rest if protocol else target).expanduser()
        if storage_options:
            raise LocationError("storage_options only apply to remote URLs", where=target)
        return ConfinedLocalStore(local, read_only=read_only, limits=limits), str(local)
    try:
        url = target.rstrip("/")
        policy = remote.RetryPolicy.given_or_default(retry)
        options = remote.fsspec_options(url, storage_options, policy)
        store = remote.ResilientStore.with_policy(url, options, policy, read_only=read_only, limits=limits)
    except (ImportError, ValueError) as exc:
        hint = " (install ngffkit[s3] for s3:// URLs)" if protocol.startswith("s3") else ""
        raise LocationError(f"cannot open {protocol}:// URLs: {exc}{hint}", where=target) from safe_cause(exc)
    return store, target.rstrip("/")


def _zip_store(
    target: str,
    protocol: str,
    rest: str,
    storage_options: Mapping[str, Any] | None,
    read_only: bool,
    retry: remote.RetryPolicy | None,
    limits: Limits | None,
) -> tuple[Store, str]:
    """A zipped OME-Zarr (.ozx): a local file through :class:`~ngffkit.store.ozx.OzxStore`, remote ones through
    range requests."""
    if not read_only:
        raise LocationError("a .ozx archive is written whole by the writer, not opened for writing", where=target)
    if protocol in ("", "file"):
        local = pathlib.Path(rest if protocol else target).expanduser()
        if not local.is_file():
            raise NotFound("no such .ozx file", where=str(local))
        return ozx.OzxStore(local, limits=limits), str(local)  # opened at the first read (no I/O here)
    policy = remote.RetryPolicy.given_or_default(retry)
    options = remote.fsspec_options(target, storage_options, policy)
    try:
        store = remote.ResilientStore.with_policy(
            f"zip::{target}", {protocol: options}, policy, read_only=True, limits=limits
        )
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        if failures.ignores_byte_ranges(exc):
            raise LocationError(
                "the server does not honour byte ranges (it answers a range request with the whole file), which "
                "reading a .ozx archive over HTTP needs; download the archive and open the local copy, or serve "
                "it from a server that answers ranges (ngffkit serve does)",
                where=target,
            ) from None
        raise LocationError(f"cannot open the zip archive: {exc}", where=target) from safe_cause(exc)
    return store, target


def store_url(store: Store) -> str:
    if isinstance(store, ConfinedLocalStore | LocalStore):
        return str(store.root)
    if isinstance(store, ozx.OzxStore):
        return str(store.path)
    if isinstance(store, FsspecStore):
        protocol = store.fs.protocol[0] if isinstance(store.fs.protocol, tuple) else store.fs.protocol
        return f"{protocol}://{store.path.lstrip('/')}"
    if isinstance(store, MemoryStore):
        return f"memory-store-{id(store):x}"
    return repr(store)
