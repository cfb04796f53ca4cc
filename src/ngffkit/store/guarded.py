"""Single keys read with a baseline and written back only if nobody changed them in between.

An edit of stored data (a label image proofread in napari) reads some chunk or shard files, changes a few, and
writes those back whole. Between the read and the write another person or program may have written the same
file; writing over it would silently drop their work. So every key read for editing keeps a :class:`Baseline` --
the SHA-256 of the bytes read, and on S3 the object's ETag -- and :func:`write_if_unchanged` refuses with
:class:`Changed` when the key no longer matches it:

* local folders (:class:`~ngffkit.store.local.ConfinedLocalStore`): the file is read again and its digest
  compared, then the new bytes are written beside it and renamed over it (atomic: a reader sees the old file or
  the new one, never half). The window left is the time between that comparison and the rename (microseconds):
  a program that writes the same file exactly then is not detected (docs/robustness.md);
* S3 (s3fs): one PUT with ``If-Match: <ETag>`` (``If-None-Match: *`` for a key that was absent), which the
  server refuses with 412 when the object changed -- no window at all on servers that honour the condition
  (AWS since 2024, moto). A server that ignores the header is checked by a HEAD just before the PUT: the window
  there is that round trip;
* any other store: the bytes are read again and compared before the write (the same window as locally).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype

from ngffkit.store import adapter
from ngffkit.store.local import ConfinedLocalStore


class Changed(Exception):
    """The key is not what it was when read (``now`` says what it is instead, for the message)."""

    def __init__(self, key: str, now: str) -> None:
        super().__init__(f"{key}: {now}")
        self.key = key
        self.now = now


@dataclass(frozen=True)
class Baseline:
    """What a key held when it was read: the digest of its bytes (None: absent) and, on S3, its ETag."""

    digest: str | None
    etag: str | None = None

    @property
    def absent(self) -> bool:
        return self.digest is None


def digest_of(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _s3_target(store: Store, key: str) -> tuple[Any, str, str] | None:
    """(file system, bucket, object key) when ``store`` is an fsspec store over S3, else None."""
    fs = getattr(store, "fs", None)
    protocol = getattr(fs, "protocol", None)
    protocols = {protocol} if isinstance(protocol, str) else set(protocol or ())
    if not protocols & {"s3", "s3a"}:
        return None
    root = str(getattr(store, "path", "")).strip("/")
    path = f"{root}/{key}" if root else key
    bucket, _, name = path.partition("/")
    return fs, bucket, name


async def _s3_etag(store: Store, key: str) -> str | None:
    target = _s3_target(store, key)
    if target is None:
        return None
    fs, bucket, name = target
    client = await adapter.s3_client(fs, bucket)
    try:
        head = await client.head_object(Bucket=bucket, Key=name)
    except Exception as exc:
        if _s3_code(exc) in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
    return str(head.get("ETag"))


def _s3_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    return str(error.get("Code", ""))


async def read_with_baseline(store: Store, key: str) -> tuple[bytes | None, Baseline]:
    """The bytes at ``key`` (None: absent) and their baseline. On S3 the ETag is asked for *before* the bytes are
    read: a write landing in between makes the baseline older than the bytes, so a save is refused when it
    need not be -- never accepted when it must not be."""
    etag = await _s3_etag(store, key)
    buffer = await store.get(key, prototype=default_buffer_prototype())
    data = None if buffer is None else buffer.to_bytes()
    return data, Baseline(digest_of(data), etag)


async def check_unchanged(store: Store, key: str, baseline: Baseline) -> None:
    """:class:`Changed` unless ``key`` still holds what its baseline says (on S3: its ETag, one HEAD)."""
    if _s3_target(store, key) is not None:
        etag = await _s3_etag(store, key)
        if etag != baseline.etag:
            raise Changed(key, "deleted" if etag is None else "written by someone else")
        return
    buffer = await store.get(key, prototype=default_buffer_prototype())
    now = digest_of(None if buffer is None else buffer.to_bytes())
    if now != baseline.digest:
        raise Changed(key, "deleted" if now is None else "written by someone else")


async def write_if_unchanged(store: Store, key: str, data: bytes, baseline: Baseline) -> Baseline:
    """Write ``data`` at ``key`` whole (atomically) if it still holds what ``baseline`` says; the new baseline.
    :class:`Changed` (nothing written) if it does not. See the module docstring for what each store guarantees."""
    target = _s3_target(store, key)
    if target is not None:
        return await _s3_conditional_put(store, key, data, baseline, target)
    await check_unchanged(store, key, baseline)
    if isinstance(store, ConfinedLocalStore):
        await asyncio.to_thread(store.put_file, key, data)  # a temporary file beside the key, renamed over it
    else:
        await store.set(key, default_buffer_prototype().buffer.from_bytes(data))
    return Baseline(digest_of(data))


async def _s3_conditional_put(
    store: Store, key: str, data: bytes, baseline: Baseline, target: tuple[Any, str, str]
) -> Baseline:
    await check_unchanged(store, key, baseline)  # for servers that ignore the condition below
    fs, bucket, name = target
    condition = {"IfNoneMatch": "*"} if baseline.etag is None else {"IfMatch": baseline.etag}
    client = await adapter.s3_client(fs, bucket)
    try:
        answer = await client.put_object(Bucket=bucket, Key=name, Body=data, **condition)
    except Exception as exc:
        code = _s3_code(exc)
        if code in {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}:
            raise Changed(key, "written by someone else") from None
        if code in {"NoSuchKey", "404"}:
            raise Changed(key, "deleted") from None
        raise
    return Baseline(digest_of(data), str(answer.get("ETag")))
