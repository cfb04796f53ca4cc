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
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ngffkit.errors import EditConflict, InvalidArgument, NGFFError
from ngffkit.metadata import LabelColor, LabelProperties, parse_attributes
from ngffkit.metadata.labels import palette_color
from ngffkit.reader import Image
from ngffkit.reader import open as open_node
from ngffkit.reader.regions import Region, selection
from ngffkit.store import adapter
from ngffkit.store.guarded import (
    Baseline,
    Changed,
    check_unchanged,
    write_if_unchanged,
)
from ngffkit.store.location import Location
from ngffkit.writer.edit_levels import Box, LevelRule, box_empty, level_boxes
from ngffkit.writer.edit_mirror import LevelMirror, UnitIndex


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


class LabelEditor:
    """Edits of one label image, saved as exactly the stored chunks or shards they change (module docstring).

    Build it with :func:`edit_labels`. Not thread-safe: one editor per person editing. :meth:`save` rewrites
    only the stored files whose bytes change, recomputes the lower levels' blocks the edits reach, and refuses
    with :class:`~ngffkit.EditConflict` when a file it read changed on disk meanwhile.

    :param labels: the label image to edit (an :class:`~ngffkit.Image` with ``image-label`` metadata).
    :raises InvalidArgument: when ``labels`` is not a label image.
    """

    def __init__(self, labels: Image) -> None:
        if not labels.is_label:
            raise InvalidArgument("only a label image can be edited this way (it has no image-label metadata)",
                                  where=labels.url)  # fmt: skip
        self.labels = labels
        self.rule = LevelRule.of(labels.shapes, [labels.scale(k) for k in range(len(labels.shapes))],
                                 labels.multiscale.type)  # fmt: skip
        self._mirrors: list[LevelMirror] | None = None
        #: Every edit since the last save, in order -- kept to be applied again over new data (:meth:`rebase`).
        self._edits: list[_Edit] = []

    # --- what is edited ---------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of level 0, the level that is edited."""
        return tuple(self.labels.shapes[0])

    @property
    def dtype(self) -> np.dtype:
        """The label values' data type (values written must fit it)."""
        return np.dtype(self.labels.level_source(0)[0].dtype)

    @property
    def unsaved(self) -> bool:
        """Whether there are edits that :meth:`save` has not written yet."""
        return bool(self._edits)

    @property
    def edited_boxes(self) -> list[Box]:
        """The level-0 boxes edited since the last save (per axis [start, stop))."""
        return [edit.box for edit in self._edits]

    def _levels(self) -> list[LevelMirror]:
        if self._mirrors is None:
            mirrors = []
            for k in range(len(self.labels.shapes)):
                array, url = self.labels.level_source(k)
                mirrors.append(LevelMirror(k, array, self.labels.location.store, url))
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
        """Level-0 pixels of ``region`` with the edits made so far. The files read are remembered as they were,
        for :meth:`save` to refuse if they change meanwhile.

        :param region: the part of level 0 to read, as :meth:`ngffkit.Image.read` takes it (numpy-style indices
            and slices, or a dict by axis name); None: all of it.
        :returns: the pixels, as a numpy array.
        """
        box, dropped = self._box(region)
        level = self._levels()[0]
        adapter.sync(level.load([box]))
        return level.read(box).squeeze(axis=dropped) if dropped else level.read(box)

    def write(self, region: Region, values: Any) -> None:
        """Set the level-0 pixels of ``region`` to ``values``. Nothing is stored until :meth:`save`.

        :param region: the box of level 0 to set, as :meth:`ngffkit.Image.read` takes a region; slices must have
            step 1.
        :param values: integer label values: an array of the region's shape, or one value for all of it; they must
            fit :attr:`dtype`.
        :raises InvalidArgument: for a region that is not a box of level 0, or values that do not fit it.
        """
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
        colours and properties.

        :returns: what was written: per level, the store keys of the files.
        :raises EditConflict: when a file read for this save changed since it was read (the edits are kept;
            :meth:`rebase` applies them over the new data).
        """
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

    def _propagate(self, mirrors: list[LevelMirror]) -> None:
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

    def _check_baselines(self, mirrors: list[LevelMirror]) -> None:
        """Every file read for this save still as it was read: else nothing is written."""

        async def check_all() -> list[tuple[LevelMirror, UnitIndex, Changed]]:
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

    def _write_level(self, mirror: LevelMirror, changed: list[tuple[UnitIndex, str, bytes]]) -> list[str]:
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

    def _conflict(self, mirror: LevelMirror, index: UnitIndex, changed: Changed, *, written_before: bool,
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
    """An editor of the label image at ``target``. Nothing is read but the metadata.

    :param target: the label image: a path, URL, zarr store or :class:`~ngffkit.Location`.
    :param storage_options: options for the fsspec filesystem of a URL, e.g. credentials that may write; None:
        fsspec's defaults (anonymous ``s3://`` when no AWS credentials are configured).
    :returns: a :class:`LabelEditor` with no edits yet.
    :raises InvalidArgument: when ``target`` is not a label image.
    """
    location = Location.of(target, storage_options=storage_options, mode="w")
    node = open_node(location)
    if not isinstance(node, Image):
        raise InvalidArgument(f"only a label image can be edited, not a {node.kind}", where=location.url)
    return LabelEditor(node)


def write_region(
    target: str | Any, region: Region, values: Any, *, storage_options: Mapping[str, Any] | None = None
) -> SaveReport:
    """Write ``values`` into ``region`` of level 0 of the label image at ``target`` and save at once (see
    :class:`LabelEditor` for what is written, and how a concurrent change is refused).

    :param target: the label image: a path, URL, zarr store or :class:`~ngffkit.Location`.
    :param region: the box of level 0 to set, as :meth:`LabelEditor.write` takes it.
    :param values: the label values: an array of the region's shape, or one value.
    :param storage_options: options for the fsspec filesystem of a URL, as for :func:`edit_labels`.
    :returns: what was written: per level, the store keys of the files.
    """
    editor = edit_labels(target, storage_options=storage_options)
    editor.write(region, values)
    return editor.save()
