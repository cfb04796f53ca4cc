"""Proofreading a label image of any size: edit a few pixels of level 0, save exactly the files that changed.

:func:`edit_labels` opens a :class:`LabelEditor` on a label image (local folder or object store, NGFF 0.4 with
zarr v2 chunks up to 0.6rc0 with sharded zarr v3). Its :meth:`~LabelEditor.read` gives level-0 pixels,
:meth:`~LabelEditor.write` changes them, and :meth:`~LabelEditor.save`

* recomputes the blocks of every lower level that the edits reach, as a full rebuild of the pyramid by ngffkit's
  writer would make them (:mod:`ngffkit.writer.edit_levels`: the pyramid's own factors and label-safe method, or
  centre sampling for levels that are not whole reductions);
* writes exactly the stored chunks (unsharded) or shards (sharded) whose bytes change, each whole and atomically
  (:mod:`ngffkit.store.guarded`: a file written beside and renamed over; one conditional PUT on S3) -- every other
  file stays byte for byte as it was, and nothing is ever deleted (a unit that becomes all background is written
  as such);
* refuses with :class:`~ngffkit.EditConflict`, naming the level and the region, when any file it read for the
  edit changed on disk since it read it -- nothing of that level is written then, and the edits are kept:
  :meth:`~LabelEditor.rebase` reads the new data and applies them again;
* gives new label values entries in the ``image-label`` colours and properties, when the image lists them.

Memory holds, per level, the stored (encoded) bytes of the files the edits touch, the edited boxes and what the
downsampling of their blocks reads -- never a whole level: a shard of a sharded array is decoded only in the inner
chunks an edit reaches (zarr's partial shard writes keep the other chunks' bytes as they are).

:func:`write_region` is the one-call form: one region, written and saved.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import zarr
from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.storage import MemoryStore

from ngffkit.errors import EditConflict, InvalidArgument, NGFFError
from ngffkit.metadata import LabelColor, LabelProperties, parse_attributes
from ngffkit.metadata.labels import palette_color
from ngffkit.reader import Image
from ngffkit.reader import open as open_node
from ngffkit.reader.regions import Region, selection
from ngffkit.store import adapter
from ngffkit.store.arrays import array_from_document
from ngffkit.store.guarded import (
    Baseline,
    Changed,
    check_unchanged,
    digest_of,
    read_with_baseline,
    write_if_unchanged,
)
from ngffkit.store.location import Location
from ngffkit.writer.edit_levels import Box, LevelRule, box_empty, box_slices, level_boxes

UnitIndex = tuple[int, ...]


@dataclass
class SaveReport:
    """What one :meth:`LabelEditor.save` wrote: per level, the store keys of the files (chunks or shards)."""

    written: dict[int, list[str]] = field(default_factory=dict)
    #: Whether the ``image-label`` metadata gained entries for new label values (one more document written).
    metadata_written: bool = False
    seconds: float = 0.0
    bytes_written: int = 0

    @property
    def files(self) -> int:
        return sum(len(keys) for keys in self.written.values()) + int(self.metadata_written)


@dataclass(frozen=True)
class _Edit:
    """One :meth:`LabelEditor.write`: the pixels of ``box`` (level 0) it changed, and their new values. Only
    those: the rest of a painted box was there already, and must not undo someone else's save on a rebase."""

    box: Box
    values: np.ndarray
    changed: np.ndarray


class _LevelMirror:
    """One level's stored files that an edit reads, held encoded in memory (the same array metadata over a
    :class:`~zarr.storage.MemoryStore`) with the baseline of each file as it was read; and the inner chunks the
    edits reach, decoded, where the edits are made in numpy. :meth:`flush` encodes the changed chunks back into
    their files through zarr (a partial shard write keeps the other chunks' bytes as they are). zarr is called
    once per batch (every chunk of a batch in one event-loop round trip), not once per chunk."""

    def __init__(self, level: int, array: zarr.Array, store: Store, url: str) -> None:
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


class LabelEditor:
    """Edits of one label image, saved as exactly the stored chunks or shards they change (module docstring).

    Build it with :func:`edit_labels`. Not thread-safe: one editor per person editing.
    """

    def __init__(self, labels: Image) -> None:
        if not labels.is_label:
            raise InvalidArgument("only a label image can be edited this way (it has no image-label metadata)",
                                  where=labels.url)  # fmt: skip
        self.labels = labels
        self.rule = LevelRule.of(labels.shapes, [labels.scale(k) for k in range(len(labels.shapes))],
                                 labels.multiscale.type)  # fmt: skip
        self._mirrors: list[_LevelMirror] | None = None
        #: Every edit since the last save, in order -- kept to be applied again over new data (:meth:`rebase`).
        self._edits: list[_Edit] = []

    # --- what is edited ---------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.labels.shapes[0])

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.labels.level_source(0)[0].dtype)

    @property
    def unsaved(self) -> bool:
        """Whether there are edits that :meth:`save` has not written yet."""
        return bool(self._edits)

    @property
    def edited_boxes(self) -> list[Box]:
        """The level-0 boxes edited since the last save (per axis [start, stop))."""
        return [edit.box for edit in self._edits]

    def _levels(self) -> list[_LevelMirror]:
        if self._mirrors is None:
            mirrors = []
            for k in range(len(self.labels.shapes)):
                array, url = self.labels.level_source(k)
                mirrors.append(_LevelMirror(k, array, self.labels.location.store, url))
            self._mirrors = mirrors
        return self._mirrors

    def _box(self, region: Region) -> tuple[Box, tuple[int, ...]]:
        """``region`` of level 0 as a box, and the axes an integer index drops."""
        chosen = selection(region, self.shape, self.labels.axis_names, where=self.labels.url)
        box, dropped = [], []
        for axis, item in enumerate(chosen):
            if isinstance(item, slice):
                if item.step != 1:
                    raise InvalidArgument("an edited region is a box: its slices have step 1", where=self.labels.url)
                box.append((item.start, item.stop))
            else:
                box.append((item, item + 1))
                dropped.append(axis)
        return tuple(box), tuple(dropped)

    # --- reading and editing ----------------------------------------------------------------------------

    def read(self, region: Region = None) -> np.ndarray:
        """Level-0 pixels of ``region`` (as :meth:`ngffkit.Image.read` takes it) with the edits made so far. The
        files read are remembered as they were, for :meth:`save` to refuse if they change meanwhile."""
        box, dropped = self._box(region)
        level = self._levels()[0]
        adapter.sync(level.load([box]))
        return level.read(box).squeeze(axis=dropped) if dropped else level.read(box)

    def write(self, region: Region, values: Any) -> None:
        """Set the level-0 pixels of ``region`` to ``values`` (an array of the region's shape, or one value).
        Nothing is stored until :meth:`save`."""
        box, dropped = self._box(region)
        target = tuple(hi - lo for lo, hi in box)
        given = np.asarray(values)
        if given.dtype == bool:
            given = given.astype(np.uint8)
        if not np.issubdtype(given.dtype, np.integer):
            raise InvalidArgument(f"label values must be integers, not {given.dtype}", where=self.labels.url)
        info = np.iinfo(self.dtype)
        if given.size and (int(given.min()) < info.min or int(given.max()) > info.max):
            raise InvalidArgument(f"label values {int(given.min())}..{int(given.max())} do not fit the label "
                                  f"image's {self.dtype}", where=self.labels.url)  # fmt: skip
        squeezed = tuple(n for axis, n in enumerate(target) if axis not in dropped)
        try:
            block = np.broadcast_to(given, squeezed).reshape(target).astype(self.dtype)
        except ValueError:
            raise InvalidArgument(f"values of shape {given.shape} do not fit the region's shape {squeezed}",
                                  where=self.labels.url) from None  # fmt: skip
        if box_empty(box):
            return
        level = self._levels()[0]
        adapter.sync(level.load([box]))
        changes = block != level.read(box)
        if not changes.any():
            return
        level.write(box, block)
        self._edits.append(_Edit(box, np.where(changes, block, 0), changes))

    def discard(self) -> None:
        """Drop every edit since the last save (and what was read): the next read sees the stored data."""
        self._mirrors = None
        self._edits = []

    def rebase(self) -> None:
        """Read the stored data again and apply the edits since the last save over it: after an
        :class:`~ngffkit.EditConflict`, to keep one's edits over what someone else saved meanwhile."""
        edits = self._edits
        self.discard()
        level = self._levels()[0]
        adapter.sync(level.load([edit.box for edit in edits]))
        for edit in edits:
            level.write(edit.box, np.where(edit.changed, edit.values, level.read(edit.box)))
        self._edits = edits

    # --- saving -----------------------------------------------------------------------------------------

    def save(self) -> SaveReport:
        """Write the edits: the changed files of level 0 and of every lower level, then new label values'
        colours and properties. :class:`~ngffkit.EditConflict` if a file read for this save changed since."""
        started = time.perf_counter()
        report = SaveReport()
        if not self._edits:
            return report
        mirrors = self._levels()
        self._propagate(mirrors)
        changes = [mirror.changed() for mirror in mirrors]
        self._check_baselines(mirrors)
        for mirror, changed in zip(mirrors, changes, strict=True):
            if changed:
                report.written[mirror.level] = self._write_level(mirror, changed)
                report.bytes_written += sum(len(data) for _, _, data in changed)
            mirror.dirty.clear()
        report.metadata_written = self._add_label_values()
        self._edits = []
        report.seconds = time.perf_counter() - started
        return report

    def _propagate(self, mirrors: list[_LevelMirror]) -> None:
        """Recompute, level by level, the blocks of every lower level that the edits reach."""
        boxes = [level_boxes(self.rule, edit.box) for edit in self._edits]

        def read(k: int, box: Box) -> np.ndarray:
            return mirrors[k].read(box)

        for k in range(1, len(mirrors)):
            targets = [per_edit[k] for per_edit in boxes if not box_empty(per_edit[k])]
            source_level = 0 if self.rule.resampled else k - 1
            adapter.sync(mirrors[source_level].load([self.rule.source(k, t) for t in targets]))
            adapter.sync(mirrors[k].load(targets))
            for target in targets:
                mirrors[k].write(target, self.rule.compute(k, target, read))

    def _check_baselines(self, mirrors: list[_LevelMirror]) -> None:
        """Every file read for this save still as it was read: else nothing is written."""

        async def check_all() -> list[tuple[_LevelMirror, UnitIndex, Changed]]:
            jobs = [(m, index, baseline) for m in mirrors for index, baseline in m.baselines.items()]
            outcomes = await asyncio.gather(
                *(check_unchanged(m.store, m.key(index), baseline) for m, index, baseline in jobs),
                return_exceptions=True,
            )
            found = []
            for (m, index, _), outcome in zip(jobs, outcomes, strict=True):
                if isinstance(outcome, Changed):
                    found.append((m, index, outcome))
                elif isinstance(outcome, BaseException):
                    raise outcome
            return found

        conflicts = sorted(adapter.sync(check_all()), key=lambda found: (found[0].level, found[1]))
        if conflicts:
            m, index, changed = conflicts[0]
            raise self._conflict(m, index, changed, written_before=False, more=len(conflicts) - 1)

    def _write_level(self, mirror: _LevelMirror, changed: list[tuple[UnitIndex, str, bytes]]) -> list[str]:
        async def write_all() -> list[Baseline | BaseException]:
            return await asyncio.gather(
                *(write_if_unchanged(mirror.store, key, data, mirror.baselines[index]) for index, key, data in changed),
                return_exceptions=True,
            )

        outcomes = adapter.sync(write_all())
        written = []
        failure: tuple[UnitIndex, BaseException] | None = None
        for (index, key, _), outcome in zip(changed, outcomes, strict=True):
            if isinstance(outcome, Baseline):
                mirror.baselines[index] = outcome
                written.append(key)
            elif failure is None:
                failure = (index, outcome)
        if failure is not None:
            index, exc = failure
            if isinstance(exc, Changed):
                raise self._conflict(mirror, index, exc, written_before=bool(written) or mirror.level > 0, more=0)
            if isinstance(exc, NGFFError):
                raise exc
            raise NGFFError(f"saving the edits failed at {mirror.describe(index, self.labels.axis_names)}: "
                            f"{type(exc).__name__}: {exc}", where=mirror.url) from exc  # fmt: skip
        return written

    def _conflict(self, mirror: _LevelMirror, index: UnitIndex, changed: Changed, *, written_before: bool,
                  more: int) -> EditConflict:  # fmt: skip
        region = mirror.describe(index, self.labels.axis_names)
        others = f" (and {more} more)" if more else ""
        state = ("part of the edits was saved before this was found; " if written_before
                 else "nothing was saved; ")  # fmt: skip
        return EditConflict(
            f"the labels at {region}{others} were {changed.now} since they were read for editing: {state}the edits "
            "are kept (rebase() applies them over the new data, discard() drops them)",
            where=mirror.url,
            key=changed.key,
        )

    def _add_label_values(self) -> bool:
        """Colours and properties for label values the edits introduced, when the image lists them."""
        label = self.labels.image_label
        if label is None or not (label.colors or label.properties):
            return False
        values = sorted({int(v) for edit in self._edits for v in np.unique(edit.values[edit.changed]) if v != 0})
        known_colors = {c.value for c in label.colors}
        known_properties = {p.value for p in label.properties}
        colors = tuple(label.colors)
        if label.colors:
            new = [v for v in values if v not in known_colors]
            colors += tuple(LabelColor(v, palette_color(len(colors) + i)) for i, v in enumerate(new))
        properties = tuple(label.properties)
        if label.properties:
            properties += tuple(LabelProperties(v, {}) for v in values if v not in known_properties)
        if colors == label.colors and properties == label.properties:
            return False
        location = self.labels.location
        node = location.read()
        meta = parse_attributes(node.attributes, where=node.document_url, zarr_format=node.zarr_format)
        updated = replace(meta, image_label=replace(label, colors=colors, properties=properties))
        location.write_attributes(updated.to_attributes(meta.format))
        return True


def edit_labels(target: str | Any, *, storage_options: Mapping[str, Any] | None = None) -> LabelEditor:
    """An editor of the label image at ``target`` (a path, URL, store or :class:`~ngffkit.store.location.Location`;
    ``storage_options`` for fsspec, e.g. credentials that may write). Nothing is read but the metadata."""
    location = Location.of(target, storage_options=storage_options, mode="w")
    node = open_node(location)
    if not isinstance(node, Image):
        raise InvalidArgument(f"only a label image can be edited, not a {node.kind}", where=location.url)
    return LabelEditor(node)


def write_region(
    target: str | Any, region: Region, values: Any, *, storage_options: Mapping[str, Any] | None = None
) -> SaveReport:
    """Write ``values`` into ``region`` of level 0 of the label image at ``target`` and save at once (see
    :class:`LabelEditor` for what is written, and how a concurrent change is refused)."""
    editor = edit_labels(target, storage_options=storage_options)
    editor.write(region, values)
    return editor.save()
