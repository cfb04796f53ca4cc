"""Decompression that stops at the size a chunk can have.

A gzip stream of a few kilobytes can inflate to gigabytes, and a zstd or blosc header can declare any size, which
the decoder then allocates; zarr's codecs decode whatever they are given. Every array the reader opens gets these
codecs instead: each knows how many bytes its chunk decodes to (chunk shape x item size) and refuses more with
:class:`~ngffkit.CorruptData` -- gzip and zlib by inflating at most that much, zstd, blosc and lz4 by checking the
size their header declares before anything is allocated. (A zstd frame that declares no size is decoded as zarr
would; ngffkit and zarr always declare it.)

This module subclasses zarr's codec classes (their ``_decode_sync`` hook) and reads numcodecs' stream headers: it
is one of the few places that knows zarr internals, pinned by tests/store/test_bounded_codecs.py.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numcodecs
import numpy as np
from numcodecs.abc import Codec
from zarr.codecs import BloscCodec, GzipCodec, ShardingCodec, ZstdCodec
from zarr.core.metadata.v2 import ArrayV2Metadata
from zarr.core.metadata.v3 import ArrayV3Metadata

from ngffkit.errors import CorruptData
from ngffkit.store import adapter

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _too_large(declared: int, limit: int, codec: str) -> CorruptData:
    return CorruptData(f"a {codec} chunk claims {declared} bytes; chunks of this array hold at most {limit}")


def inflate(data: bytes, limit: int, *, wbits: int, codec: str) -> bytes:
    """zlib/gzip data inflated to at most ``limit`` bytes (more is :class:`CorruptData`)."""
    decompressor = zlib.decompressobj(wbits)
    try:
        out = decompressor.decompress(data, limit + 1)
    except zlib.error as exc:
        raise CorruptData(f"not {codec} data: {exc}") from None
    if len(out) > limit or decompressor.unconsumed_tail:
        raise CorruptData(f"a {codec} chunk inflates to more than {limit} bytes, the most a chunk of this array holds")
    return out


def zstd_declared_size(data: bytes) -> int | None:
    """The content size a zstd frame header declares, or None when it declares none."""
    if len(data) < 6 or data[:4] != _ZSTD_MAGIC:
        return None
    descriptor = data[4]
    single_segment = (descriptor >> 5) & 1
    size_flag = descriptor >> 6
    position = 5 + (0 if single_segment else 1) + (0, 1, 2, 4)[descriptor & 3]
    width = (1 if single_segment else 0, 2, 4, 8)[size_flag]
    if width == 0 or len(data) < position + width:
        return None
    value = int.from_bytes(data[position : position + width], "little")
    return value + 256 if width == 2 else value


def check_header(codec_id: str, data: bytes, limit: int) -> None:
    """Refuse a stream whose header declares more than ``limit`` decoded bytes (zstd, blosc, lz4)."""
    declared: int | None = None
    if codec_id == "zstd":
        declared = zstd_declared_size(data)
    elif codec_id == "blosc" and len(data) >= 16:
        declared = int.from_bytes(data[4:8], "little")
    elif codec_id == "lz4" and len(data) >= 4:
        declared = int.from_bytes(data[:4], "little")
    if declared is not None and declared > limit:
        raise _too_large(declared, limit, codec_id)


def _head(chunk_bytes: Any) -> bytes:
    """The first bytes of a zarr buffer (where stream headers are), without copying the rest."""
    return bytes(chunk_bytes.as_numpy_array()[:32])


def _chunk_bytes(chunk_spec: Any) -> int | None:
    try:
        itemsize = int(chunk_spec.dtype.to_native_dtype().itemsize)
    except (AttributeError, TypeError):
        return None
    return math.prod(chunk_spec.shape) * itemsize if itemsize else None


class BoundedGzipCodec(GzipCodec):
    def _decode_sync(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        limit = _chunk_bytes(chunk_spec)
        if limit is None:
            return super()._decode_sync(chunk_bytes, chunk_spec)
        out = inflate(chunk_bytes.to_bytes(), limit, wbits=47, codec="gzip")
        return chunk_spec.prototype.buffer.from_bytes(out)


class BoundedZstdCodec(ZstdCodec):
    def _decode_sync(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        limit = _chunk_bytes(chunk_spec)
        if limit is not None:
            check_header("zstd", _head(chunk_bytes), limit)
        return super()._decode_sync(chunk_bytes, chunk_spec)


class BoundedBloscCodec(BloscCodec):
    def _decode_sync(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        limit = _chunk_bytes(chunk_spec)
        if limit is not None:
            check_header("blosc", _head(chunk_bytes), limit)
        return super()._decode_sync(chunk_bytes, chunk_spec)


class BoundedNumcodec(Codec):
    """A zarr v2 compressor that decodes at most ``limit`` bytes (the array's chunk)."""

    codec_id = "ngffkit-bounded"  # zarr checks that the class names one; decoding follows the inner codec's

    def __init__(self, inner: Codec, limit: int) -> None:
        self.inner = inner
        self.limit = limit

    def encode(self, buf: Any) -> Any:
        return self.inner.encode(buf)

    def decode(self, buf: Any, out: Any = None) -> Any:
        kind = self.inner.codec_id
        view = numcodecs.compat.ensure_contiguous_ndarray(buf).view(np.uint8).reshape(-1)
        if kind in ("gzip", "zlib"):
            inflated = inflate(view.tobytes(), self.limit, wbits=47 if kind == "gzip" else 15, codec=kind)
            return numcodecs.compat.ndarray_copy(inflated, out) if out is not None else inflated
        check_header(kind, view[:32].tobytes(), self.limit)
        return self.inner.decode(buf, out)

    def get_config(self) -> dict[str, Any]:
        return dict(self.inner.get_config())


_V3 = {GzipCodec: BoundedGzipCodec, ZstdCodec: BoundedZstdCodec, BloscCodec: BoundedBloscCodec}


def _bounded_v3(codecs: tuple[Any, ...]) -> tuple[Any, ...]:
    out = []
    for codec in codecs:
        if isinstance(codec, ShardingCodec):
            out.append(ShardingCodec(chunk_shape=codec.chunk_shape, codecs=_bounded_v3(tuple(codec.codecs)),
                                     index_codecs=codec.index_codecs, index_location=codec.index_location))  # fmt: skip
        elif type(codec) in _V3:
            out.append(_V3[type(codec)](**codec.to_dict().get("configuration", {})))
        else:
            out.append(codec)
    return tuple(out)


def bound(metadata: Any) -> Any:
    """The same array metadata, decoding through the bounded codecs above."""
    if isinstance(metadata, ArrayV3Metadata):
        return adapter.replaced(metadata, codecs=_bounded_v3(tuple(metadata.codecs)))
    if isinstance(metadata, ArrayV2Metadata) and metadata.compressor is not None:
        limit = math.prod(metadata.chunks) * metadata.dtype.to_native_dtype().itemsize
        if limit:
            return adapter.replaced(metadata, compressor=BoundedNumcodec(metadata.compressor, limit))
    return metadata
