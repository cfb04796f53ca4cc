"""One HTTP GET as ngffkit needs it from strangers' servers: right bytes, bounded size, honest about "missing".

fsspec's HTTP file system reads whatever comes back: a ``Range`` request answered 200 with the whole object
(many static hosts do that) hands the wrong bytes to a codec; an HTML page answered 200 for a missing key is
read as metadata or pixels; an endless body is read until memory runs out; a key named ``q?r`` is sent as a
query string. This module sends the request on fsspec's own session and checks what comes back:

* keys are percent-encoded (``?``, ``#``, ``%``, spaces, unicode) below the user's URL, which is kept as typed;
* a range answered 200 is sliced locally; a 206 whose ``Content-Range`` starts elsewhere is an error;
* a 200 answer of type ``text/html`` for a key is the host's "not found" page: the key is missing;
* the body is streamed and the read stops past the key's bound; a ``Content-Encoding: gzip`` body is inflated
  here, a little at a time and never past the bound (aiohttp would inflate each network read whole, so a
  bomb would take gigabytes before the first check).
"""

from __future__ import annotations

import re
import urllib.parse
import zlib
from typing import Any

from zarr.abc.store import ByteRequest, OffsetByteRequest, RangeByteRequest, SuffixByteRequest

from ngffkit.errors import CorruptData
from ngffkit.store.limits import Bound

#: Bytes read from the socket at a time.
_BLOCK = 1 << 16
#: The longest "not found" body read so that its connection can be used again.
_DRAIN_BYTES = 1 << 14
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


class HTTPStatus(Exception):
    """A status the caller decides about (403, 401, 5xx, ...); ``status`` is the code."""

    def __init__(self, status: int, reason: str = "") -> None:
        super().__init__(f"HTTP {status}" + (f" ({reason})" if reason else ""))
        self.status = status


def key_url(root: str, key: str) -> str:
    """``root`` (as the user typed it) joined with ``key``, percent-encoded so that every byte is path."""
    return f"{root.rstrip('/')}/{urllib.parse.quote(key, safe='/')}"


def range_header(byte_range: ByteRequest | None) -> str | None:
    if byte_range is None:
        return None
    if isinstance(byte_range, RangeByteRequest):
        return f"bytes={byte_range.start}-{byte_range.end - 1}"
    if isinstance(byte_range, OffsetByteRequest):
        return f"bytes={byte_range.offset}-"
    if isinstance(byte_range, SuffixByteRequest):
        return f"bytes=-{byte_range.suffix}"
    raise TypeError(f"unknown byte request {byte_range!r}")


def slice_whole(data: bytes, byte_range: ByteRequest) -> bytes:
    """The requested part of a whole object (a server that ignored ``Range``)."""
    if isinstance(byte_range, RangeByteRequest):
        return data[byte_range.start : byte_range.end]
    if isinstance(byte_range, OffsetByteRequest):
        return data[byte_range.offset :]
    if isinstance(byte_range, SuffixByteRequest):
        return data[-byte_range.suffix :] if byte_range.suffix else b""
    raise TypeError(f"unknown byte request {byte_range!r}")


def _expected_start(byte_range: ByteRequest) -> int | None:
    if isinstance(byte_range, RangeByteRequest):
        return byte_range.start
    if isinstance(byte_range, OffsetByteRequest):
        return byte_range.offset
    return None  # a suffix: the server computes the start


async def get(
    session: Any, url: str, *, byte_range: ByteRequest | None, bound: Bound, request_kwargs: dict[str, Any]
) -> bytes | None:
    """The bytes at ``url`` (or the requested part), or None when the server says the key is missing.

    Raises :class:`HTTPStatus` for other error statuses, ``bound``'s error past its limit,
    :class:`~ngffkit.CorruptData` for a partial answer that is not the part asked for; network errors
    propagate as aiohttp raises them (the caller retries the transient ones)."""
    kwargs = dict(request_kwargs)
    headers = dict(kwargs.pop("headers", None) or {})
    headers.setdefault("Accept-Encoding", "gzip, deflate")
    wanted = range_header(byte_range)
    if wanted is not None:
        headers["Range"] = wanted
    async with session.get(url, headers=headers, auto_decompress=False, **kwargs) as response:
        status = response.status
        if status in (404, 410):
            await _drain(response)
            return None
        if status == 416 and isinstance(byte_range, SuffixByteRequest | OffsetByteRequest):
            await _drain(response)
            return b""  # nothing at or after that offset: an empty object
        if status not in (200, 206):
            raise HTTPStatus(status, response.reason or "")
        if status == 200 and response.content_type == "text/html":
            return None  # a static host's "not found" page: no zarr key is ever HTML
        if status == 206 and byte_range is not None:
            _check_content_range(response.headers.get("Content-Range"), byte_range, url)
        data = await _read_capped(response, bound, url)
    if status == 200 and byte_range is not None:
        data = slice_whole(data, byte_range)
    return data


async def _drain(response: Any) -> None:
    """Read a short answer we do not need (a "not found" page), so that its connection is used again: aiohttp
    closes a connection whose body was left unread, and a walk that meets many missing keys (validation probes
    for labels, wells and fields) then paid a new connection for each -- 237 of them validating a 384-well plate.
    A long or unsized body is left; its connection closes."""
    if response.content_length is not None and response.content_length <= _DRAIN_BYTES:
        await response.content.read(_DRAIN_BYTES)


def _check_content_range(header: str | None, byte_range: ByteRequest, url: str) -> None:
    start = _expected_start(byte_range)
    match = _CONTENT_RANGE.match(header or "")
    if start is not None and match is not None and int(match.group(1)) != start:
        raise CorruptData(f"asked for bytes from {start}, the server sent {header}", where=url)


async def _read_capped(response: Any, bound: Bound, url: str) -> bytes:
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise CorruptData(f"the server sent a body encoded as {encoding!r}, which was not asked for", where=url)
    declared = response.content_length
    if declared is not None and declared > bound.limit and encoding == "identity":
        raise bound.error(declared, url)
    inflater = zlib.decompressobj(47) if encoding != "identity" else None  # 47: a gzip or zlib header
    parts: list[bytes] = []
    size = 0
    async for received in response.content.iter_chunked(_BLOCK):
        pending = received
        while pending:
            if inflater is None:
                data, pending = pending, b""
            else:
                data = inflater.decompress(pending, bound.limit + 1 - size)
                pending = inflater.unconsumed_tail
            size += len(data)
            if size > bound.limit:
                raise bound.error(size, url)
            parts.append(data)
            if inflater is not None and not data:
                break
    if inflater is not None:
        parts.append(inflater.flush())
        if sum(map(len, parts)) > bound.limit:
            raise bound.error(sum(map(len, parts)), url)
    return b"".join(parts)
