"""Nodes of an OME-Zarr hierarchy: images (and label images) and labels groups.

A node holds metadata that has already been read; constructors do no I/O. Pixels stay lazy: ``levels`` are
dask arrays, and nothing is read until someone computes.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import dask.array as da
import numpy as np
import zarr

from ngffkit.errors import InvalidMetadata, NGFFError, NGFFWarning, NotFound, NotOMEZarr
from ngffkit.metadata import Axis, ImageLabel, Multiscale, OMEMetadata, parse_attributes
from ngffkit.metadata.omero import default_colors, parse_hex
from ngffkit.metadata.transforms import Ref, Transformation, compose_matrix
from ngffkit.reader.arrays import dask_array, read_now
from ngffkit.reader.coordinates import MapsPoints
from ngffkit.reader.node import Node
from ngffkit.reader.parameters import chain_with_parameters
from ngffkit.reader.regions import Region, level_index, selection
from ngffkit.store.arrays import zarr_array
from ngffkit.store.batch import read_many, read_many_or_errors
from ngffkit.store.location import Location
from ngffkit.store.nodes import NodeMetadata


@dataclass(frozen=True)
class ChannelInfo:
    """How one channel should be shown: name, colour (RRGGBB), contrast limits, visibility."""

    name: str
    color: str
    contrast_limits: tuple[float, float] | None
    visible: bool

    @property
    def rgb(self) -> tuple[float, float, float]:
        return tuple(int(self.color[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


class Image(MapsPoints, Node):
    """A multiscale image (or label image): lazy levels high to low resolution, axes, placement, channels.

    Made by :func:`ngffkit.open` and the writers from metadata already read: the constructor does no I/O.

    :param location: where the image group is.
    :param metadata: the group's parsed OME metadata (its first multiscale is the image's).
    :param arrays: the metadata of the level arrays that are usable, level 0 first.
    :param label_names: the names the image's ``labels`` group lists; None: none (or not read yet).
    :param labels_read: whether ``label_names`` was read with the image; False (a plate's fields): the
        ``labels`` group is read on first use.
    """

    kind = "image"

    def __init__(
        self,
        location: Location,
        metadata: OMEMetadata,
        arrays: Sequence[NodeMetadata],
        label_names: tuple[str, ...] | None = None,
        *,
        labels_read: bool = True,
    ) -> None:
        super().__init__(location, metadata)
        self._arrays = tuple(arrays)
        self._label_names = label_names
        #: False when the ``labels`` group was not read with the image (plate fields): read on first use.
        self._labels_read = labels_read or metadata.image_label is not None

    # --- structure --------------------------------------------------------------------------------------

    @property
    def multiscale(self) -> Multiscale:
        """The image's multiscale metadata (the first of ``multiscales``)."""
        return self.metadata.multiscales[0]

    @property
    def name(self) -> str:
        """The multiscale's ``name``, or the group's own name when it has none."""
        return self.multiscale.name or self.location.path.rsplit("/", 1)[-1] or self.url.rsplit("/", 1)[-1]

    @property
    def axes(self) -> tuple[Axis, ...]:
        """The axes, with their types and units."""
        return self.multiscale.axes

    @property
    def axis_names(self) -> tuple[str, ...]:
        """The axis names (``("c", "z", "y", "x")``)."""
        return tuple(a.name for a in self.axes)

    @property
    def ndim(self) -> int:
        """The number of dimensions (axes)."""
        return len(self.axes)

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        """Level shapes, from metadata alone."""
        return [a.shape or () for a in self._arrays]

    @property
    def level_paths(self) -> list[str]:
        """The paths of the level arrays within the image group, level 0 first."""
        return [d.path for d in self.multiscale.datasets[: len(self._arrays)]]

    @property
    def dtype(self) -> np.dtype:
        """The pixels' data type (level 0's)."""
        return self.levels[0].dtype

    def level_source(self, level: int) -> tuple[zarr.Array[Any], str]:
        """The zarr array behind ``level`` and its URL: for readers that fetch regions of many images in one
        batch (a plate's overview) instead of through each image's dask array.

        :param level: the level's index, 0 the highest resolution.
        :returns: the zarr array and its URL.
        """
        node = self._arrays[level]
        return zarr_array(node), node.location.url

    @cached_property
    def levels(self) -> list[da.Array]:
        """Lazy dask arrays, highest resolution first: blocks of whole zarr chunks (see reader/arrays.py)."""
        return [dask_array(a) for a in self._arrays]

    def read(self, level: int = 0, region: Region = None) -> np.ndarray:
        """The pixels of ``region`` of ``level`` as a numpy array, read now: every chunk the region touches is
        fetched and decoded concurrently straight into the result (about zarr's own speed; the result is the only
        copy, where dask's ``compute`` holds two at its end). :attr:`levels` is for lazy work.

        :param level: the level to read: 0 (the default) is the highest resolution; negative counts from the
            lowest.
        :param region: pixel indices of that level; None (the default) reads all of it. As numpy indexes (per axis
            an integer, which drops the axis, or a slice with step >= 1; ``...`` and missing trailing entries are
            whole axes) or by axis name, the others whole: ``{"z": 5, "y": slice(0, 512), "x": slice(0, 512)}``.
        :returns: the pixels, as a new numpy array.
        :raises InvalidArgument: for a level or region that does not fit, before any read.
        :raises CorruptData: for a chunk that cannot be decoded, naming the array (:class:`~ngffkit.LocationError`
            for one that cannot be read).
        """
        node = self._arrays[level_index(level, len(self._arrays), where=self.url)]
        return read_now(node, selection(region, node.shape or (), self.axis_names, where=node.location.url))

    @property
    def is_label(self) -> bool:
        """Whether this is a label image (it has ``image-label`` metadata)."""
        return self.metadata.image_label is not None

    @property
    def image_label(self) -> ImageLabel | None:
        """A label image's ``image-label`` metadata (colours, properties, source); None for other images."""
        return self.metadata.image_label

    # --- physical placement -----------------------------------------------------------------------------

    def scale(self, level: int = 0) -> tuple[float, ...]:
        """Physical size of a pixel of ``level`` along each axis (1 where the metadata states none).

        :param level: the level: 0 is the highest resolution; negative counts from the lowest (-1); 0 by default.
        """
        placed = self.multiscale.level_scale_translation(level)
        return placed[0] if placed else tuple(1.0 for _ in self.axes)

    def translation(self, level: int = 0) -> tuple[float, ...]:
        """Physical position of the centre of the first pixel of ``level``, per axis (0 where none is stated).

        :param level: the level: 0 is the highest resolution; negative counts from the lowest (-1); 0 by default.
        """
        placed = self.multiscale.level_scale_translation(level)
        return placed[1] if placed else tuple(0.0 for _ in self.axes)

    def transform(self, level: int = 0) -> np.ndarray | None:
        """The full homogeneous matrix from ``level`` indices to the image's physical coordinates.

        For 0.4/0.5 it is the scale and translation; for 0.6rc0 the dataset transformation, followed by the
        multiscale transformations that start from its output system (rotations, affines); parameters kept in an
        array (``path``) are read. None when a step is not linear (displacement fields, ...).

        :param level: the level's index, 0 (the default) the highest resolution.
        """
        chain: list[Transformation] = list(self.multiscale.datasets[level].transformations)
        chain += list(self.multiscale._shared_transforms())
        system = _output_name(chain[0]) if chain else None
        for t in self.multiscale.transformations:
            if system is not None and _input_name(t) == system:
                chain.append(t)
                system = _output_name(t)
        return compose_matrix(chain_with_parameters(chain, self.location), self.ndim)

    @property
    def units(self) -> tuple[str | None, ...]:
        """The unit of each axis (None where the metadata states none)."""
        return tuple(a.unit for a in self.axes)

    # --- channels --------------------------------------------------------------------------------------

    @property
    def channel_axis(self) -> int | None:
        """The index of the channel axis, or None when there is none."""
        for i, axis in enumerate(self.axes):
            if axis.is_channel:
                return i
        return None

    @property
    def channels(self) -> list[ChannelInfo]:
        """One entry per channel of the data, from ``omero`` where given, padded with defaults.

        ``omero`` may list fewer channels than the data has, or channels without colour or window: the
        list is always exactly as long as the channel axis (1 when there is none), so it never misaligns.
        """
        axis = self.channel_axis
        count = self.shapes[0][axis] if axis is not None and self.shapes and self.shapes[0] else 1
        given = self.metadata.omero.channels if self.metadata.omero else ()
        listed = [given[i] if i < len(given) else None for i in range(count)]
        colors = default_colors([parse_hex(ch.color) if ch else None for ch in listed])
        out = []
        for i, (ch, color) in enumerate(zip(listed, colors, strict=True)):
            name = (ch.label if ch and ch.label else None) or (self.name if count == 1 else f"channel {i}")
            window = (ch.window.start, ch.window.end) if ch and ch.window and ch.window.start < ch.window.end else None
            visible = ch.active if ch and ch.active is not None else True
            out.append(ChannelInfo(name=name, color=color, contrast_limits=window, visible=visible))
        return out

    # --- labels ----------------------------------------------------------------------------------------

    @property
    def label_names(self) -> tuple[str, ...]:
        """Names of the label images in this image's ``labels`` group.

        Read with the image when it was opened on its own; for the many fields of a plate, read on first use
        (one request) instead of probing every field while the plate opens.
        """
        if not self._labels_read:
            self._label_names = _label_names(self.location.child("labels").read(expect="group"))
            self._labels_read = True
        return self._label_names or ()

    def label(self, name: str) -> Image:
        """Open one of this image's label images.

        :param name: the label image's name, one of :attr:`label_names`.
        :raises NotFound: when the image has no label image of that name.
        """
        if name not in self.label_names:
            raise NotFound(f"no label image {name!r} (labels: {', '.join(self.label_names) or 'none'})", where=self.url)
        return load_image(self.location.child("labels").child(name, key="labels"))

    def labels(self) -> list[Image]:
        """All label images, opened concurrently."""
        group = self.location.child("labels")
        return load_images([group.child(n, key="labels") for n in self.label_names])

    def source_image(self) -> Image:
        """For a label image: the image it annotates (``image-label.source.image``, default ``../../``)."""
        if self.image_label is None:
            raise NotFound("this image is not a label image", where=self.url)
        target = self.image_label.source_image or "../../"
        try:
            # A label image sits at <image>/labels/<name>: two levels up is as far as it may reach.
            return load_image(self.location.resolve(target, max_up=2, key="image-label.source.image"))
        except NotFound as exc:
            raise NotFound(
                f"the source image {target!r} of this label image is missing ({exc})", where=self.url
            ) from exc


def _input_name(t: Transformation) -> str | None:
    return t.input.name if isinstance(t.input, Ref) else t.input


def _output_name(t: Transformation) -> str | None:
    return t.output.name if isinstance(t.output, Ref) else t.output


def check_levels(location: Location, ms: Multiscale, arrays: Sequence[NodeMetadata | NGFFError]) -> list[NodeMetadata]:
    """The usable levels: all arrays up to the first missing or unusable one; level 0 must be usable.

    An array is usable when it exists, its metadata is one zarr can decode (data type, codecs, shape) and
    its dimensions agree with the axes. A lower level that is not stops the pyramid there, with a warning."""
    usable: list[NodeMetadata] = []
    for level, node in enumerate(arrays):
        problem = node if isinstance(node, NGFFError) else _level_problem(node, ms, level)
        if problem is not None:
            if level == 0:
                raise problem
            warnings.warn(f"{problem}; using levels 0-{level - 1}", NGFFWarning, stacklevel=3)
            break
        assert isinstance(node, NodeMetadata)
        if usable and node.array and usable[0].array and _dtype(node) != _dtype(usable[0]):
            warnings.warn(
                f"{node.location.url}: level {level} is {_dtype(node)}, level 0 is {_dtype(usable[0])}",
                NGFFWarning, stacklevel=3,
            )  # fmt: skip
        usable.append(node)
    return usable


def _dtype(node: NodeMetadata) -> Any:
    doc = node.array or {}
    return doc.get("data_type", doc.get("dtype"))


def _level_problem(node: NodeMetadata, ms: Multiscale, level: int) -> NGFFError | None:
    """Why an array node cannot serve as a level, or None."""
    if not node.exists or not node.is_array:
        what = "does not exist" if not node.exists else "is a group, not an array"
        return NotFound(f"level {level} array {what}", where=node.location.url)
    shape = node.shape
    if shape is None:
        return InvalidMetadata("array metadata has no valid shape", where=node.location.url)
    if ms.axes and len(shape) != len(ms.axes):
        return InvalidMetadata(
            f"array has {len(shape)} dimensions but the image has {len(ms.axes)} axes ({', '.join(ms.axis_names)})",
            where=node.location.url,
        )
    try:
        zarr_array(node)  # data type, codecs, chunk grid: fail here, at open, not at the first pixel read
    except NGFFError as exc:
        return exc
    return None


class Labels(Node):
    """A ``labels`` group: the names of the label images it holds."""

    kind = "labels group"

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the label images the group lists (``labels[name]`` opens one)."""
        return self.metadata.labels or ()

    def __getitem__(self, name: str) -> Image:
        if name not in self.names:
            raise NotFound(f"no label image {name!r} here", where=self.url)
        return load_image(self.location.child(name, key="labels"))

    def images(self) -> list[Image]:
        """Every label image the group lists, opened concurrently."""
        return load_images([self.location.child(n, key="labels") for n in self.names])


# --- loading (I/O happens here, never in constructors) -------------------------------------------------


def parse_node(node: NodeMetadata) -> OMEMetadata:
    """The OME metadata of a group that was read; NotFound / NotOMEZarr when there is nothing usable."""
    if not node.exists:
        raise NotFound("no zarr group here", where=node.location.url)
    if not node.is_group:
        raise NotOMEZarr("this is a zarr array, not an OME-Zarr group", where=node.location.url)
    return parse_attributes(node.attributes, where=node.document_url, zarr_format=node.zarr_format)


def load_image(location: Location, node: NodeMetadata | None = None) -> Image:
    """Open the image (or label image) at ``location``: its metadata, all level arrays and its labels list,
    the last two in one concurrent batch."""
    node = node if node is not None else location.read()
    image = images_from([(location, parse_node(node))])[0]
    assert image is not None  # without best_effort, problems raise
    return image


def load_images(locations: Sequence[Location]) -> list[Image]:
    """Open many images at once: one batch for their groups, one for all their arrays and labels groups."""
    nodes = read_many(locations, expect="group")
    images = images_from([(loc, parse_node(node)) for loc, node in zip(locations, nodes, strict=True)])
    return [i for i in images if i is not None]


def images_from(
    entries: Sequence[tuple[Location, OMEMetadata]],
    *,
    best_effort: bool = False,
    read_labels: bool | Sequence[bool] = True,
) -> list[Image | None]:
    """Images for groups whose metadata is known: reads every level array and labels group concurrently.

    With ``best_effort`` an image that cannot be used becomes None and a warning (a plate with one broken
    field still opens); otherwise the first problem raises.
    """
    plans: list[tuple[Location, OMEMetadata, list[Location], Location | None] | NGFFError] = []
    batch: list[Location] = []
    kinds: list[str] = []
    probes = [read_labels] * len(entries) if isinstance(read_labels, bool) else list(read_labels)
    for (location, meta), probe in zip(entries, probes, strict=True):
        try:
            plan = _plan(location, meta, probe)
        except NGFFError as exc:
            if not best_effort:
                raise
            plans.append(exc)
            continue
        plans.append(plan)
        batch += plan[2] + ([plan[3]] if plan[3] is not None else [])
        kinds += ["array"] * len(plan[2]) + (["group"] if plan[3] is not None else [])
    results = iter(read_many_or_errors(batch, expect=kinds))
    images: list[Image | None] = []
    for planned in plans:
        if isinstance(planned, NGFFError):
            warnings.warn(f"skipping: {planned}", NGFFWarning, stacklevel=3)
            images.append(None)
            continue
        location, meta, arrays, labels = planned
        array_nodes = [next(results) for _ in arrays]
        names = _label_names(next(results)) if labels is not None else None
        try:
            usable = check_levels(location, meta.multiscales[0], array_nodes)
        except NGFFError as exc:
            if not best_effort:
                raise
            warnings.warn(f"skipping: {exc}", NGFFWarning, stacklevel=3)
            images.append(None)
            continue
        images.append(Image(location, meta, usable, names, labels_read=labels is not None))
    return images


def _plan(
    location: Location, meta: OMEMetadata, read_labels: bool = True
) -> tuple[Location, OMEMetadata, list[Location], Location | None]:
    if not meta.multiscales:
        raise NotOMEZarr(f"expected an image, found {meta.kind or 'no OME-NGFF metadata'}", where=location.url)
    ms = meta.multiscales[0]
    if not ms.datasets:
        raise InvalidMetadata("the image lists no datasets", where=location.url, key="multiscales[0].datasets")
    location.check_limit("max_levels", len(ms.datasets), what="levels in this image")
    arrays: list[Location] = []
    for level, dataset in enumerate(ms.datasets):
        try:
            arrays.append(location.child(dataset.path, key="multiscales[0].datasets.path"))
        except NGFFError as exc:
            if level == 0:
                raise
            warnings.warn(f"{exc}; using levels 0-{level - 1}", NGFFWarning, stacklevel=4)
            break
    labels = None if meta.image_label is not None or not read_labels else location.child("labels")
    return location, meta, arrays, labels


def _label_names(node: NodeMetadata | NGFFError) -> tuple[str, ...] | None:
    """The label images a ``labels`` group lists (None when there is no labels group, or a broken one)."""
    if isinstance(node, NGFFError):
        warnings.warn(f"ignoring unreadable labels group: {node}", NGFFWarning, stacklevel=4)
        return None
    if not node.exists or not node.is_group:
        return None
    try:
        meta = parse_attributes(node.attributes, where=node.document_url, zarr_format=node.zarr_format)
    except NGFFError as exc:
        warnings.warn(f"ignoring unreadable labels group: {exc}", NGFFWarning, stacklevel=4)
        return None
    return meta.labels
