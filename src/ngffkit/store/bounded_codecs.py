"""Decompression that stops at the size a chunk can have.

A gzip stream of a few kilobytes can inflate to gigabytes, and a zstd or blosc header can declare any size, which
the decoder then allocates; zarr's codecs decode whatever they are given. Every array the reader opens gets these
codecs instead: each knows how many bytes its chunk decodes to (chunk shape x item size) and refuses more with
:class:`~ngffkit.CorruptData` -- gzip and zlib by inflating at most that much, zstd, blosc and lz4 by checking the
size their header declares before anything is allocated. (A zstd frame that declares no size is decoded as zarr
would; ngffkit and zarr always declare it.) Variable-length text (AnnData's strings, a table's columns) has no
size its shape can tell: a chunk of it decodes to at most ``max_table_bytes``, and the vlen codecs check the number
of items a chunk claims against its shape before numcodecs allocates one object per claimed item (a 4-byte chunk
claiming 2**28 strings took 2 GB and 17 s).

They enter through zarr's public API: :func:`bound_document` puts codec *objects* in place of the codec entries of
an array's metadata document before zarr parses it (zarr takes either), subclasses of zarr's public codec classes
(``zarr.codecs``) for zarr v3 and a numcodecs codec for v2 compressors. The subclasses implement the hooks zarr's
documentation tells codec authors to implement: ``_decode_single`` (every zarr 3 release) and ``_decode_sync``
(zarr 3.1.6 and later call it directly). Whether zarr really calls them is checked once, at first use
(:func:`check_zarr_decodes_bounded`): a release that decodes some other way makes reading refuse, never decode
unbounded. tests/store/test_adapter.py runs the same check.
"""

from __future__ import annotations

import asyncio
import math
import threading
import zlib
from typing import Any

import numcodecs
import numpy as np
from numcodecs.abc import Codec
from zarr import codecs as zarr_codecs
from zarr.buffer import default_buffer_prototype
from zarr.codecs import BloscCodec, GzipCodec, ShardingCodec, ZstdCodec

from ngffkit.errors import CorruptData, NGFFError
from ngffkit.store import limits

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class TextLimit(int):
    """The bound of a chunk of text: a setting (``max_table_bytes``), not the array's shape -- so exceeding it is
    :class:`~ngffkit.LimitExceeded`, which says how to raise it, rather than corrupt data."""


def _too_large(declared: int, limit: int, codec: str) -> NGFFError:
    if isinstance(limit, TextLimit):
        return limits.exceeded("max_table_bytes", declared, limit, what=f"a {codec} chunk of text")
    return CorruptData(f"a {codec} chunk claims {declared} bytes; chunks of this array hold at most {limit}")


def inflate(data: bytes, limit: int, *, wbits: int, codec: str) -> bytes:
    """zlib/gzip data inflated to at most ``limit`` bytes (more is :class:`CorruptData`)."""
    decompressor = zlib.decompressobj(wbits)
    try:
        out = decompressor.decompress(data, limit + 1)
    except zlib.error as exc:
        raise CorruptData(f"not {codec} data: {exc}") from exc
    if len(out) > limit or decompressor.unconsumed_tail:
        if isinstance(limit, TextLimit):
            raise _too_large(len(out), limit, codec)
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


def variable_length(dtype: np.dtype[Any]) -> bool:
    """Whether items of ``dtype`` have no fixed size (numpy's variable-width strings, Python objects)."""
    return dtype.kind in ("O", "T")


def text_chunk_bytes() -> int:
    """The most bytes one chunk of variable-length items may decode to (``max_table_bytes``)."""
    return TextLimit(limits.current().max_table_bytes)


def _chunk_bytes(chunk_spec: Any) -> int:
    """How many bytes one chunk of ``chunk_spec`` decodes to (its shape times its item size; for variable-length
    text, :func:`text_chunk_bytes`)."""
    dtype = chunk_spec.dtype.to_native_dtype()
    if variable_length(dtype):
        return text_chunk_bytes()
    return math.prod(chunk_spec.shape) * max(int(dtype.itemsize), 1)


def check_vlen_items(data: bytes, items: int, codec: str) -> None:
    """Refuse a vlen chunk whose header (its first 4 bytes: the number of items, little-endian) claims other than
    ``items``, the chunk's shape -- before numcodecs allocates an object for each claimed item."""
    if len(data) >= 4:
        claimed = int.from_bytes(data[:4], "little")
        if claimed != items:
            raise CorruptData(f"a {codec} chunk claims {claimed} items; chunks of this array hold {items}")


class _FromConfiguration:
    """zarr v3 codecs of ngffkit, built from the ``configuration`` of the entry they replace."""

    @classmethod
    def of_entry(cls, entry: dict[str, Any]) -> Any:
        configuration = entry.get("configuration") or {}
        if not isinstance(configuration, dict):
            raise TypeError(f"codec configuration must be an object, not {configuration!r}")
        return cls(**configuration)


class BoundedGzipCodec(_FromConfiguration, GzipCodec):
    """zarr's gzip codec, inflating at most one chunk's bytes."""

    def _decode_sync(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        out = inflate(chunk_bytes.to_bytes(), _chunk_bytes(chunk_spec), wbits=47, codec="gzip")
        return chunk_spec.prototype.buffer.from_bytes(out)

    async def _decode_single(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        return await asyncio.to_thread(self._decode_sync, chunk_bytes, chunk_spec)


class BoundedZstdCodec(_FromConfiguration, ZstdCodec):
    """zarr's zstd codec, refusing frames that declare more than one chunk's bytes."""

    def _decode_sync(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        check_header("zstd", _head(chunk_bytes), _chunk_bytes(chunk_spec))
        return super()._decode_sync(chunk_bytes, chunk_spec)

    async def _decode_single(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        check_header("zstd", _head(chunk_bytes), _chunk_bytes(chunk_spec))
        return await super()._decode_single(chunk_bytes, chunk_spec)


class BoundedBloscCodec(_FromConfiguration, BloscCodec):
    """zarr's blosc codec, refusing streams that declare more than one chunk's bytes."""

    def _decode_sync(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        check_header("blosc", _head(chunk_bytes), _chunk_bytes(chunk_spec))
        return super()._decode_sync(chunk_bytes, chunk_spec)

    async def _decode_single(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        check_header("blosc", _head(chunk_bytes), _chunk_bytes(chunk_spec))
        return await super()._decode_single(chunk_bytes, chunk_spec)


class VLenUTF8Codec(_FromConfiguration, zarr_codecs.VLenUTF8Codec):
    """zarr's vlen-utf8 codec, refusing chunks that claim more strings than their shape holds. (It keeps zarr's
    class name: zarr 3.4 tells a text array's codec by its class name, not by its id or class.)"""

    def _decode_sync(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        check_vlen_items(_head(chunk_bytes), math.prod(chunk_spec.shape), "vlen-utf8")
        return super()._decode_sync(chunk_bytes, chunk_spec)

    async def _decode_single(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        return self._decode_sync(chunk_bytes, chunk_spec)


class VLenBytesCodec(_FromConfiguration, zarr_codecs.VLenBytesCodec):
    """zarr's vlen-bytes codec, refusing chunks that claim more items than their shape holds."""

    def _decode_sync(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        check_vlen_items(_head(chunk_bytes), math.prod(chunk_spec.shape), "vlen-bytes")
        return super()._decode_sync(chunk_bytes, chunk_spec)

    async def _decode_single(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        return self._decode_sync(chunk_bytes, chunk_spec)


class BoundedNumcodec(Codec):  # type: ignore[misc]  # numcodecs ships no annotations: Codec is Any to mypy
    """A zarr v2 compressor that decodes at most ``limit`` bytes (the array's chunk). With no ``inner`` codec it
    passes the stored bytes on (an uncompressed array of text still gets its check). With ``vlen_items``, the text
    it hands the vlen filter must claim that many items (the chunk's shape): numcodecs allocates one object per
    claimed item before it looks further."""

    codec_id = "ngffkit-bounded"  # zarr checks that the class names one; decoding follows the inner codec's

    def __init__(self, inner: Codec | None, limit: int, vlen_items: int | None = None) -> None:
        self.inner = inner
        self.limit = limit
        self.vlen_items = vlen_items

    def encode(self, buf: Any) -> Any:
        return self.inner.encode(buf) if self.inner is not None else buf

    def decode(self, buf: Any, out: Any = None) -> Any:
        decoded = self._decode(buf, out)
        if self.vlen_items is not None:
            head = numcodecs.compat.ensure_contiguous_ndarray(decoded).view(np.uint8).reshape(-1)[:4].tobytes()
            check_vlen_items(head, self.vlen_items, "vlen")
        return decoded

    def _decode(self, buf: Any, out: Any) -> Any:
        view = numcodecs.compat.ensure_contiguous_ndarray(buf).view(np.uint8).reshape(-1)
        if self.inner is None:
            if view.size > self.limit:
                raise _too_large(view.size, self.limit, "uncompressed")
            return buf
        kind = self.inner.codec_id
        if kind in ("gzip", "zlib"):
            inflated = inflate(view.tobytes(), self.limit, wbits=47 if kind == "gzip" else 15, codec=kind)
            return numcodecs.compat.ndarray_copy(inflated, out) if out is not None else inflated
        check_header(kind, view[:32].tobytes(), self.limit)
        return self.inner.decode(buf, out)

    def get_config(self) -> dict[str, Any]:
        return dict(self.inner.get_config()) if self.inner is not None else {"id": self.codec_id}


#: zarr v3 codec names and the bounded codec that replaces each.
_V3: dict[str, type[_FromConfiguration]] = {
    "gzip": BoundedGzipCodec,
    "zstd": BoundedZstdCodec,
    "blosc": BoundedBloscCodec,
    "vlen-utf8": VLenUTF8Codec,
    "vlen-bytes": VLenBytesCodec,
}
#: zarr v2 filters that turn bytes into text (numcodecs' object codecs for strings).
_V2_TEXT = frozenset({"vlen-utf8", "vlen-bytes"})
#: numcodecs compressors (zarr v2) that BoundedNumcodec bounds. Any other (the pickle codec above all) is left as
#: it is, so that zarr's own checks of it still apply.
_V2 = frozenset({"gzip", "zlib", "zstd", "blosc", "lz4"})


def _bounded_v3(entries: Any) -> Any:
    """A zarr v3 codec list with the gzip, zstd and blosc entries (also inside shards) as bounded codec objects."""
    if not isinstance(entries, list | tuple):
        return entries  # zarr says what is wrong with it
    out: list[Any] = []
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        if name in _V3:
            out.append(_V3[name].of_entry(entry))
        elif name == "sharding_indexed" and isinstance(entry.get("configuration"), dict):
            configuration = dict(entry["configuration"])
            configuration["codecs"] = _bounded_v3(configuration.get("codecs", ()))
            out.append(ShardingCodec(**configuration))
        else:
            out.append(entry)
    return out


def _v2_chunk_bytes(dtype: Any, chunks: Any) -> int:
    """How many bytes one chunk of a zarr v2 array decodes to: its shape times its item size (numpy's type strings,
    structured types as lists of fields); for Python objects (text), :func:`text_chunk_bytes`."""
    spec = [tuple(_v2_field(f) for f in field) for field in dtype] if isinstance(dtype, list) else dtype
    native = np.dtype(spec)
    if variable_length(native):
        return text_chunk_bytes()
    return math.prod(chunks) * max(int(native.itemsize), 1)


def _v2_field(part: Any) -> Any:
    return [tuple(_v2_field(f) for f in field) for field in part] if isinstance(part, list) else part


def _v2_text_items(filters: Any, chunks: Any) -> int | None:
    """For a zarr v2 array of text (its last filter -- the first to decode -- a vlen codec), the items one chunk
    holds; None for other arrays. A vlen filter anywhere else could not be checked: refused."""
    ids = [f.get("id") if isinstance(f, dict) else None for f in filters] if isinstance(filters, list) else []
    if not any(i in _V2_TEXT for i in ids):
        return None
    if ids[-1] not in _V2_TEXT:
        raise TypeError(f"a text filter must be the last of the filters, not {ids}")
    return math.prod(chunks)


def bound_document(document: dict[str, Any]) -> dict[str, Any]:
    """An array metadata document whose compressors are the bounded codecs of this module (a copy; zarr parses
    it as it would the original). Raises what zarr would raise for a malformed codec entry."""
    check_zarr_decodes_bounded()
    doc = dict(document)
    if doc.get("zarr_format") == 2:
        compressor = doc.get("compressor")
        items = _v2_text_items(doc.get("filters"), doc["chunks"])
        if isinstance(compressor, dict) and compressor.get("id") in _V2:
            limit = _v2_chunk_bytes(doc["dtype"], doc["chunks"])
            doc["compressor"] = BoundedNumcodec(numcodecs.get_codec(dict(compressor)), limit, items)
        elif compressor is None and items is not None:
            doc["compressor"] = BoundedNumcodec(None, text_chunk_bytes(), items)
    elif "codecs" in doc:
        doc["codecs"] = _bounded_v3(doc["codecs"])
    return doc


# --- the check that zarr decodes through these codecs ------------------------------------------------------------

_checked = threading.Lock()
_verdict: list[NGFFError | None] = []


def check_zarr_decodes_bounded() -> None:
    """Refuse to read when this zarr release does not decode through the bounded codecs (checked once).

    The codecs above rely on zarr calling their decoding hooks. If a release decodes some other way, they would
    be skipped without a sound and a bomb would inflate whole; instead every read stops here with an error
    that says why."""
    with _checked:
        if not _verdict:
            _verdict.append(_zarr_decodes_bounded())
    failure = _verdict[0]
    if failure is not None:
        raise failure


def _zarr_decodes_bounded() -> NGFFError | None:
    import zarr

    from ngffkit.store import adapter

    escaped = []
    for name, (document, chunks) in _bomb_arrays().items():
        store = zarr.storage.MemoryStore()
        for key, data in chunks.items():
            adapter.sync(store.set(key, default_buffer_prototype().buffer.from_bytes(data)))
        doc = dict(document)
        if doc.get("zarr_format") == 2:
            doc["compressor"] = BoundedNumcodec(numcodecs.get_codec(doc["compressor"]), 4)
        else:
            doc["codecs"] = _bounded_v3(doc["codecs"])
        array = zarr.AsyncArray(metadata=doc, store_path=zarr.storage.StorePath(store, ""))  # type: ignore[call-overload]
        try:
            adapter.sync(array.getitem((slice(0, 1),)))
        except CorruptData:
            continue
        except Exception as exc:
            escaped.append(f"{name} ({type(exc).__name__})")
            continue
        escaped.append(name)
    if not escaped:
        return None
    return NGFFError(
        f"zarr {zarr.__version__} decodes chunks without ngffkit's size checks ({', '.join(escaped)}: zarr no longer "
        "calls the codec hooks _decode_single/_decode_sync); refusing to read, since a small chunk could inflate to "
        "gigabytes. Install a zarr release ngffkit supports (see its pyproject.toml), or a newer ngffkit"
    )


def _bomb_arrays() -> dict[str, tuple[dict[str, Any], dict[str, bytes]]]:
    """Tiny arrays (4 bytes, 2 per chunk) whose first chunk inflates to 64 KiB: each compressor, v2 and v3, and
    a gzip chunk inside a shard (read partially)."""
    import gzip

    zeros = b"\0" * 65536
    compressed = {
        "gzip": gzip.compress(zeros),
        "zstd": numcodecs.Zstd(level=1).encode(zeros),
        "blosc": numcodecs.Blosc(cname="lz4", clevel=1).encode(np.zeros(65536, np.uint8)),
    }

    def v3(codecs: list[Any]) -> dict[str, Any]:
        return {"zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "uint8", "fill_value": 0,
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
                "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
                "codecs": codecs}  # fmt: skip

    arrays: dict[str, tuple[dict[str, Any], dict[str, bytes]]] = {}
    configurations = {"gzip": {"level": 1}, "zstd": {"level": 1, "checksum": False},
                      "blosc": {"cname": "lz4", "clevel": 1, "shuffle": "noshuffle", "typesize": 1, "blocksize": 0}}  # fmt: skip
    for name, configuration in configurations.items():
        codecs = [{"name": "bytes"}, {"name": name, "configuration": configuration}]
        arrays[f"zarr v3 {name}"] = (v3(codecs), {"c/0": compressed[name]})
    inner = [{"name": "bytes"}, {"name": "gzip", "configuration": {"level": 1}}]
    index = [{"name": "bytes", "configuration": {"endian": "little"}}]
    shard = v3([{"name": "sharding_indexed", "configuration": {"chunk_shape": [1], "codecs": inner,
                                                                "index_codecs": index, "index_location": "end"}}])  # fmt: skip
    bomb = compressed["gzip"]
    shard_index = np.array([[0, len(bomb)], [2**64 - 1, 2**64 - 1]], dtype="<u8").tobytes()
    arrays["a gzip chunk in a zarr v3 shard"] = (shard, {"c/0": bomb + shard_index})
    for name in ("gzip", "zstd", "blosc"):
        v2 = {"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "|u1", "fill_value": 0, "order": "C",
              "filters": None, "compressor": numcodecs.get_codec({"id": name}).get_config()}  # fmt: skip
        arrays[f"zarr v2 {name}"] = (v2, {"0": compressed[name]})
    return arrays
