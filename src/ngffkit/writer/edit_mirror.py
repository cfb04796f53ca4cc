"""One pyramid level as an edit of a label image sees it (:mod:`ngffkit.writer.edit`): the stored files the edit read,
with their baselines, and the inner chunks it reached, decoded and edited in numpy."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import zarr
from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.storage import MemoryStore

from ngffkit.store import adapter
from ngffkit.store.arrays import array_from_document
from ngffkit.store.guarded import Baseline, digest_of, read_with_baseline
from ngffkit.writer.edit_levels import Box, box_empty, box_slices

UnitIndex = tuple[int, ...]


class LevelMirror:
    """One level's stored files that an edit reads, held encoded in memory (the same array metadata over a
    :class:`~zarr.storage.MemoryStore`) with the baseline of each file as it was read; and the inner chunks the
    edits reach, decoded, where the edits are made in numpy. :meth:`flush` encodes the changed chunks back into
    their files through zarr (a partial shard write keeps the other chunks' bytes as they are). zarr is called
    once per batch (every chunk of a batch in one event-loop round trip), not once per chunk."""

    def __init__(self, level: int, array: zarr.Array[Any], store: Store, url: str) -> None:
        self.level = level
        self.array = array
        self.store = store
        self.url = url
        self.memory = MemoryStore()
        mirror = array_from_document(array.metadata.to_dict(), self.memory, array.path)
        # an edited unit that becomes all background is written as such: never deleted (only the writer's
        # destination module deletes, and this is no write it made)
        self.mirror = mirror.with_config({"write_empty_chunks": True})
        self.unit = tuple(array.shards or array.chunks)
        self.chunk = tuple(array.chunks)
        self.shape = tuple(array.shape)
        self.baselines: dict[UnitIndex, Baseline] = {}
        #: Decoded inner chunks (clipped to the level), and those the edits changed.
        self.decoded: dict[UnitIndex, np.ndarray] = {}
        self.dirty_chunks: set[UnitIndex] = set()
        self.dirty: set[UnitIndex] = set()

    def key(self, index: UnitIndex) -> str:
        chunk_key = self.array.metadata.encode_chunk_key(index)
        return f"{self.array.path}/{chunk_key}" if self.array.path else chunk_key

    def _grid(self, box: Box, step: Sequence[int]) -> Iterator[UnitIndex]:
        if box_empty(box):
            return iter(())
        return itertools.product(*(range(lo // u, -(-hi // u)) for (lo, hi), u in zip(box, step, strict=True)))

    def units(self, box: Box) -> Iterator[UnitIndex]:
        return self._grid(box, self.unit)

    def _box_of(self, index: UnitIndex, step: Sequence[int]) -> Box:
        return tuple((i * u, min((i + 1) * u, n)) for i, u, n in zip(index, step, self.shape, strict=True))

    def unit_box(self, index: UnitIndex) -> Box:
        return self._box_of(index, self.unit)

    def _unit_of(self, chunk: UnitIndex) -> UnitIndex:
        return tuple(c * k // u for c, k, u in zip(chunk, self.chunk, self.unit, strict=True))

    async def load(self, boxes: Sequence[Box]) -> None:
        """Fetch (concurrently) the files of ``boxes`` not read yet, taking their baselines; then decode the
        chunks of ``boxes`` not decoded yet."""
        missing = sorted({index for box in boxes for index in self.units(box)} - set(self.baselines))

        async def fetch(index: UnitIndex) -> None:
            key = self.key(index)
            data, baseline = await read_with_baseline(self.store, key)
            if data is not None:
                await self.memory.set(key, default_buffer_prototype().buffer.from_bytes(data))
            self.baselines[index] = baseline

        await asyncio.gather(*(fetch(index) for index in missing))
        chunks = sorted({chunk for box in boxes for chunk in self._grid(box, self.chunk)} - set(self.decoded))

        async def decode(chunk: UnitIndex) -> None:
            pixels = await self.mirror.async_array.getitem(box_slices(self._box_of(chunk, self.chunk)))
            self.decoded[chunk] = np.array(pixels)

        await asyncio.gather(*(decode(chunk) for chunk in chunks))

    def _parts(self, box: Box) -> Iterator[tuple[UnitIndex, tuple[slice, ...], tuple[slice, ...]]]:
        """Per decoded chunk of ``box``: (chunk, slices in the chunk, slices in the box)."""
        for chunk in self._grid(box, self.chunk):
            cbox = self._box_of(chunk, self.chunk)
            part = tuple((max(lo, clo), min(hi, chi)) for (lo, hi), (clo, chi) in zip(box, cbox, strict=True))
            yield (chunk, tuple(slice(a - clo, b - clo) for (a, b), (clo, _) in zip(part, cbox, strict=True)),
                   tuple(slice(a - lo, b - lo) for (a, b), (lo, _) in zip(part, box, strict=True)))  # fmt: skip

    def read(self, box: Box) -> np.ndarray:
        """The pixels of ``box`` (loaded before), with the edits made so far."""
        out = np.empty(tuple(hi - lo for lo, hi in box), dtype=self.array.dtype)
        for chunk, in_chunk, in_box in self._parts(box):
            out[in_box] = self.decoded[chunk][in_chunk]
        return out

    def write(self, box: Box, values: np.ndarray) -> None:
        """Put ``values`` into ``box`` (loaded before), marking only the chunks whose pixels change."""
        for chunk, in_chunk, in_box in self._parts(box):
            target = self.decoded[chunk]
            if np.array_equal(target[in_chunk], values[in_box]):
                continue
            target[in_chunk] = values[in_box]
            self.dirty_chunks.add(chunk)
            self.dirty.add(self._unit_of(chunk))

    def flush(self) -> None:
        """Encode the changed chunks into their files in memory: the files of different units concurrently, the
        chunks of one file one after the other (each partial write reads and rewrites the whole file)."""
        per_unit: dict[UnitIndex, list[UnitIndex]] = {}
        for chunk in sorted(self.dirty_chunks):
            per_unit.setdefault(self._unit_of(chunk), []).append(chunk)

        async def encode(chunks: list[UnitIndex]) -> None:
            for chunk in chunks:
                await self.mirror.async_array.setitem(box_slices(self._box_of(chunk, self.chunk)), self.decoded[chunk])

        async def encode_all() -> None:
            await asyncio.gather(*(encode(chunks) for chunks in per_unit.values()))

        adapter.sync(encode_all())
        self.dirty_chunks.clear()

    def changed(self) -> list[tuple[UnitIndex, str, bytes]]:
        """The dirty units whose bytes differ from what was read: (unit, key, new bytes)."""
        self.flush()
        indexes = sorted(self.dirty)

        async def get_all() -> list[Any]:
            prototype = default_buffer_prototype()
            return list(await asyncio.gather(*(self.memory.get(self.key(i), prototype=prototype) for i in indexes)))

        out = []
        for index, buffer in zip(indexes, adapter.sync(get_all()), strict=True):
            if buffer is None:  # written with write_empty_chunks: never happens, but never a deletion either
                continue
            data = buffer.to_bytes()
            if digest_of(data) != self.baselines[index].digest:
                out.append((index, self.key(index), data))
        return out

    def describe(self, index: UnitIndex, names: Sequence[str]) -> str:
        spans = ", ".join(f"{n} {lo}:{hi}" for n, (lo, hi) in zip(names, self.unit_box(index), strict=True))
        return f"level {self.level} ({spans})"
