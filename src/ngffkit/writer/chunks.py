"""Whole chunks encoded and written in the thread that made them, for arrays on a local disk.

zarr's ``array[region] = block`` hands every chunk of the region to its event loop thread, which sends the
encoding to one thread pool and the file write to another, and waits: on two cores that machinery cost about
1.8 ms of CPU per chunk (18% of a 0.5 GiB pyramid write with zstd, more than the downsampling), and its
threads fought the writer's own for the GIL. When the writer's threads already run one region each on every
core, nothing is gained by handing the chunks on: :class:`ChunkWriter` encodes each chunk where it is, with
the numcodecs codec the array's metadata names (the very codecs zarr itself calls, configured the same way), and
writes the file through the store (:meth:`ngffkit.store.local.ConfinedLocalStore.put_file`: confined, atomic).

Only what is certain to come out byte for byte as zarr would write it takes this way (tested against zarr's own
files): arrays on a :class:`~ngffkit.store.local.ConfinedLocalStore`, chunked or sharded (:class:`ShardLayout`),
with the zstd, blosc and gzip compressors, regions on chunk (shard) boundaries. Anything else -- remote stores,
other codecs, a region cutting through a chunk -- is written by zarr as before.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any

import numcodecs
import numpy as np
from numcodecs.abc import Codec

from ngffkit.store.local import ConfinedLocalStore

#: blosc's shuffle as zarr v3 metadata names it, and as numcodecs numbers it.
_BLOSC_SHUFFLE = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}


def _numcodec(entry: dict[str, Any]) -> Codec | None:
    """The numcodecs codec for one zarr v3 bytes-to-bytes codec entry, or None when it is not one we mirror."""
    name, config = entry.get("name"), dict(entry.get("configuration") or {})
    if name == "zstd":
        return numcodecs.Zstd(level=config.get("level", 0), checksum=bool(config.get("checksum", False)))
    if name == "gzip":
        return numcodecs.GZip(level=config.get("level", 5))
    if name == "blosc" and "typesize" in config and config.get("shuffle") in _BLOSC_SHUFFLE:
        return numcodecs.get_codec({"id": "blosc", "cname": config["cname"], "clevel": config["clevel"],
                                    "shuffle": _BLOSC_SHUFFLE[config["shuffle"]],
                                    "blocksize": config.get("blocksize", 0), "typesize": config["typesize"]})  # fmt: skip
    return None


class ChunkWriter:
    """Writes chunk-aligned (or shard-aligned) regions of one zarr array in the calling thread (module docstring)."""

    def __init__(self, array: Any, store: ConfinedLocalStore, codecs: list[Codec], stored: np.dtype,
                 typed_input: bool, shard: ShardLayout | None = None) -> None:  # fmt: skip
        self.array = array
        self.store = store
        self.prefix = array.store_path.path
        self.codecs = codecs
        #: The dtype (with its byte order) the chunk's bytes are stored in.
        self.stored = stored
        #: zarr v2 hands the compressor the typed chunk (blosc's shuffle follows its item size); v3 its bytes.
        self.typed_input = typed_input
        self.shard = shard
        #: What one file holds: a chunk, or a shard of chunks.
        self.unit = tuple(array.shards or array.chunks)
        self.chunks = tuple(array.chunks)
        self.shape = tuple(array.shape)
        self.fill = array.fill_value if array.fill_value is not None else 0
        self.skip_empty = not array.config.write_empty_chunks

    @classmethod
    def for_array(cls, array: Any) -> ChunkWriter | None:
        """A writer for ``array`` when its chunks can be written this way, else None (zarr writes them) -- also
        when this zarr release describes its arrays differently from the 3.1 API read here."""
        try:
            return cls._for_array(array)
        except (AttributeError, KeyError, TypeError):
            return None

    @classmethod
    def _for_array(cls, array: Any) -> ChunkWriter | None:
        store = array.store_path.store
        if not isinstance(store, ConfinedLocalStore) or store.read_only:
            return None
        meta = array.metadata
        if meta.zarr_format == 2:
            if meta.filters or meta.order != "C":
                return None
            compressor = meta.compressor
            return cls(array, store, [compressor] if compressor is not None else [],
                       np.dtype(meta.dtype.to_native_dtype()), typed_input=True)  # fmt: skip
        entries, shard = [codec.to_dict() for codec in meta.codecs], None
        if len(entries) == 1 and entries[0].get("name") == "sharding_indexed":
            shard = ShardLayout.of(entries[0].get("configuration") or {})
            if shard is None:
                return None
            entries = list(entries[0]["configuration"]["codecs"])
        native = np.dtype(meta.dtype.to_native_dtype())
        mirrored = _mirror(entries, native)
        return None if mirrored is None else cls(array, store, mirrored[0], mirrored[1], typed_input=False, shard=shard)

    def write(self, index: Any, value: Any) -> bool:
        """Write ``value`` into ``array[index]``; False (nothing written) when the region does not start and end
        on chunk (or shard) boundaries or at the array's end, so that the caller lets zarr write it."""
        region = self._region(index, value)
        if region is None:
            return False
        unit = self.unit
        grid = [range(lo // u, math.ceil(hi / u)) for (lo, hi), u in zip(region, unit, strict=True)]
        for coords in itertools.product(*grid):
            lows = [i * u for i, u in zip(coords, unit, strict=True)]
            part = tuple(slice(lo - r0, min(lo + u, n) - r0)
                         for lo, u, n, (r0, _) in zip(lows, unit, self.shape, region, strict=True))  # fmt: skip
            key = self.array.metadata.encode_chunk_key(coords)
            key = f"{self.prefix}/{key}" if self.prefix else key
            data = value[part]
            encoded = self._encode_unit(self._padded(data, unit), data.shape)
            if encoded is None:
                self.store.remove_file(key)  # as zarr does: an empty chunk is no file (a stale one must go)
            else:
                self.store.put_file(key, encoded)
        return True

    def _region(self, index: Any, value: Any) -> list[tuple[int, int]] | None:
        """The region's (start, stop) per axis when it is whole units of this array, else None."""
        if not isinstance(index, tuple) or len(index) != len(self.shape) or not isinstance(value, np.ndarray):
            return None
        region = []
        for s, u, n in zip(index, self.unit, self.shape, strict=True):
            if not isinstance(s, slice) or s.step not in (None, 1):
                return None
            lo, hi, _ = s.indices(n)
            if lo % u or not (hi % u == 0 or hi == n) or lo >= hi:
                return None
            region.append((lo, hi))
        return region if value.shape == tuple(hi - lo for lo, hi in region) else None

    def _padded(self, data: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """``data`` as a whole chunk or shard: one at the array's edge is stored whole, padded with the fill value."""
        if data.shape == shape:
            return data
        whole = np.full(shape, self.fill, dtype=data.dtype)
        whole[tuple(slice(0, n) for n in data.shape)] = data
        return whole

    def _encode_unit(self, data: np.ndarray, inside: tuple[int, ...]) -> Any:
        """The bytes of one file (None: an empty chunk, or a shard of nothing but empty chunks). ``inside`` is
        the part of ``data`` within the array: a shard's chunks wholly beyond the array's end are left out."""
        if self.shard is None:
            return None if self.skip_empty and _all_fill(data, self.fill) else self._encode_chunk(data)
        grid = tuple(u // c for u, c in zip(self.unit, self.chunks, strict=True))
        parts: list[tuple[tuple[int, ...], bytes]] = []
        for inner in self.shard.order(grid):
            if any(i * c >= n for i, c, n in zip(inner, self.chunks, inside, strict=True)):
                continue
            chunk = data[tuple(slice(i * c, (i + 1) * c) for i, c in zip(inner, self.chunks, strict=True))]
            if not (self.skip_empty and _all_fill(chunk, self.fill)):
                parts.append((inner, bytes(self._encode_chunk(chunk))))
        return self.shard.assemble(parts, grid)

    def _encode_chunk(self, data: np.ndarray) -> Any:
        encoded: Any = np.ascontiguousarray(data, dtype=self.stored)
        if not self.typed_input:
            encoded = encoded.reshape(-1).view(np.uint8)
        for codec in self.codecs:
            encoded = codec.encode(encoded)
        return encoded


def _mirror(entries: list[dict[str, Any]], native: np.dtype) -> tuple[list[Codec], np.dtype] | None:
    """The numcodecs codecs and stored dtype for zarr v3 codec entries ``bytes`` + compressors, or None."""
    if not entries or entries[0].get("name") != "bytes":
        return None
    codecs = [_numcodec(entry) for entry in entries[1:]]
    if any(codec is None for codec in codecs):
        return None
    endian = (entries[0].get("configuration") or {}).get("endian", "little")
    stored = native if native.itemsize == 1 else native.newbyteorder("<" if endian == "little" else ">")
    return [c for c in codecs if c is not None], stored


class ShardLayout:
    """How zarr lays out a shard (``sharding_indexed``): its chunks' bytes one after the other in Morton order,
    and an index of (offset, length) per chunk -- all ones for an absent chunk -- in little-endian uint64, followed
    by its CRC32C when the index codecs say so, at the shard's end or start."""

    def __init__(self, checksum: bool, at_start: bool) -> None:
        self.checksum = checksum
        self.at_start = at_start

    @classmethod
    def of(cls, config: dict[str, Any]) -> ShardLayout | None:
        index = [dict(entry) for entry in config.get("index_codecs") or ()]
        names = [entry.get("name") for entry in index]
        little = (index[0].get("configuration") or {}).get("endian", "little") == "little" if index else False
        if names not in (["bytes"], ["bytes", "crc32c"]) or not little:
            return None
        location = config.get("index_location", "end")
        return cls(names == ["bytes", "crc32c"], location == "start") if location in ("start", "end") else None

    @staticmethod
    def order(grid: tuple[int, ...]) -> list[tuple[int, ...]]:
        """The order of a shard's chunks in its file: Morton order, as zarr writes them by default (any order
        reads back the same; this one keeps neighbouring chunks close together)."""
        return morton_order(grid)

    def assemble(self, parts: list[tuple[tuple[int, ...], bytes]], grid: tuple[int, ...]) -> list[bytes] | None:
        """The shard's bytes from its encoded chunks, as the pieces of the file in order (written one after the
        other, never joined: see ConfinedLocalStore.put_file); None when there are none -- zarr writes no file."""
        if not parts:
            return None
        index = np.full((*grid, 2), np.iinfo(np.uint64).max, dtype="<u8")
        index_size = index.nbytes + 4 * self.checksum
        offset = index_size if self.at_start else 0
        for coords, data in parts:
            index[coords] = (offset, len(data))
            offset += len(data)
        index_bytes = index.tobytes()
        if self.checksum:
            import google_crc32c

            index_bytes += np.uint32(google_crc32c.value(index_bytes)).astype("<u4").tobytes()
        body = [data for _, data in parts]
        return [index_bytes, *body] if self.at_start else [*body, index_bytes]


@functools.lru_cache(maxsize=16)
def morton_order(grid: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every coordinate of ``grid`` in compressed Morton (Z) order, as Neuroglancer defines it and zarr writes
    shards: bit ``b`` of each axis in turn, axis 0 lowest, axes that have run out of bits skipped."""
    bits = [(n - 1).bit_length() for n in grid]
    keyed = []
    for coords in itertools.product(*(range(n) for n in grid)):
        code, position = 0, 0
        for bit in range(max(bits, default=0)):
            for axis, value in enumerate(coords):
                if bit < bits[axis]:
                    code |= ((value >> bit) & 1) << position
                    position += 1
        keyed.append((code, coords))
    return [coords for _, coords in sorted(keyed)]


def _all_fill(data: np.ndarray, fill: Any) -> bool:
    """Whether every value of ``data`` is the fill value (NaN counts as equal to a NaN fill, as in zarr)."""
    if isinstance(fill, float | np.floating) and np.isnan(fill):
        return bool(np.isnan(data).all())
    return bool((data == fill).all())
