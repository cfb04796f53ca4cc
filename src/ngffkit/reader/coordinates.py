"""Mapping points between the coordinate systems of a node (``Image.map_points``, ``Scene.map_points``).

The names of the systems and the graph are :mod:`ngffkit.metadata.coordinate_systems`; the arithmetic is
:mod:`ngffkit.metadata.point_maps`. This module adds what needs I/O -- the arrays of displacement and coordinate
fields, read with the usual bounds -- and turns every failure into one :class:`~ngffkit.NGFFError` naming the node
and the two systems.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage

from ngffkit.errors import InvalidArgument, InvalidMetadata, NGFFError
from ngffkit.metadata import OMEMetadata
from ngffkit.metadata.coordinate_systems import NoRoute, SystemGraph, SystemId, multiscale_graph
from ngffkit.metadata.point_maps import backward, forward, linear_matrix
from ngffkit.metadata.transforms import Displacements, Sequence
from ngffkit.reader.parameters import graph_with_parameters
from ngffkit.store import limits
from ngffkit.store.location import Location

if TYPE_CHECKING:
    from ngffkit.reader.image import Image

#: The spec's interpolation names for fields, as spline orders (scipy.ndimage.map_coordinates).
INTERPOLATION_ORDERS = {"nearest": 0, "linear": 1, "cubic": 3}
#: Axis types that hold a field's vector components rather than a position.
COMPONENT_AXIS_TYPES = ("displacement", "coordinate")


class MapsPoints:
    """What an image and a scene share: their coordinate systems by name, and :meth:`map_points` between them.
    The node supplies :meth:`system_graph`; an image's is one array system per dataset path plus its named systems
    (``"physical"`` for NGFF 0.1-0.5), see :mod:`ngffkit.metadata.coordinate_systems`."""

    location: Location
    metadata: OMEMetadata

    def system_graph(self) -> SystemGraph:
        """The coordinate systems of this node and the transformations between them."""
        if not self.metadata.multiscales:
            return SystemGraph()
        return graph_with_parameters(multiscale_graph(self.metadata.multiscales[0]), self.location).fitted()

    @property
    def coordinate_systems(self) -> list[str]:
        """The names of this node's coordinate systems, as :meth:`map_points` takes them: the named ones first
        (0.6rc0's own; ``"physical"`` for 0.1-0.5), then one array system per dataset path (``"s0"``, ``"0"``)."""
        return self.system_graph().names

    def map_points(self, points: Any, *, source: str, target: str) -> np.ndarray:
        """``points`` -- an (N, ndim) array, one row per point, in the axis order of ``source`` -- mapped into
        ``target``; both are names from :attr:`coordinate_systems`.

        Transformations are chained through the graph of systems and walked backwards through their inverses
        where they have one (affine, scale, translation, rotation, mapAxis, sequence, bijection, byDimension);
        displacement and coordinate fields apply forwards, with the interpolation the metadata names (their arrays
        are read, bounded by ``max_object_bytes``), and backwards only through a ``bijection``. Consistent with
        ``Image.read``: the array system of ``level_paths[k]`` is the pixel indices of ``read(k)``, so index
        ``(i, j)`` maps to the centre of the pixel ``read(k)[i, j]``.

        :param points: the points, one row per point in the axis order of ``source``: an (N, ndim) array or a
            list of coordinate lists (one point may be given flat).
        :param source: the coordinate system the points are in, a name from :attr:`coordinate_systems`.
        :param target: the coordinate system to map them into, a name from :attr:`coordinate_systems`.
        :returns: the mapped points, an (N, ndim) float array in the axis order of ``target``.
        :raises InvalidArgument: for an unknown system or misshapen points.
        :raises InvalidMetadata: when no chain of transformations connects the systems or a step has no inverse
            -- each naming the node and both systems.
        """
        return map_points(self.location, self.system_graph(), points, source, target)


def as_points(points: Any, *, where: str) -> np.ndarray:
    """``points`` as an (N, ndim) float array: a list of coordinate lists or an array; one point may be given flat."""
    try:
        array = np.asarray(points, dtype=float)
    except (TypeError, ValueError):
        raise InvalidArgument("points must be numbers: an (N, ndim) array or a list of coordinate lists",
                              where=where) from None  # fmt: skip
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2:
        raise InvalidArgument(f"points must be an (N, ndim) array, not {array.ndim}-dimensional", where=where)
    if not np.isfinite(array).all():
        raise InvalidArgument("points must be finite numbers", where=where)
    return array


def map_points(location: Location, graph: SystemGraph, points: Any, source: str, target: str) -> np.ndarray:
    """``points`` (N, ndim in ``source``) mapped to ``target`` through ``graph``, the systems of the node at
    ``location``. Every failure is an NGFFError naming the node and both systems."""
    where = location.url
    start, end = _system(graph, source, where), _system(graph, target, where)
    values = as_points(points, where=where)
    ndim = graph.systems.get(start)
    if ndim is not None and values.shape[1] != ndim:
        raise InvalidArgument(f"points in {source!r} have {ndim} coordinates ({values.shape[1]} given)", where=where)
    try:
        steps = graph.route(start, end)
    except NoRoute as exc:
        raise InvalidMetadata(f"cannot map points from {source!r} to {target!r}: {exc}", where=where) from None
    fields = _Fields(location)
    for step in steps:
        fields.base = step.edge.base
        try:
            values = (forward if step.forwards else backward)(step.edge.transformation, values, fields)
        except NGFFError as exc:
            raise type(exc)(
                f"cannot map points from {source!r} to {target!r} ({step.edge.source} -> {step.edge.target}): "
                f"{exc.message}",
                where=exc.where or where,
                key=exc.key,
            ) from None
    return values


def _system(graph: SystemGraph, text: str, where: str) -> SystemId:
    found = graph.find(text)
    if found is None:
        known = ", ".join(repr(n) for n in graph.names) or "none"
        raise InvalidArgument(f"no coordinate system {text!r} here (its systems: {known})", where=where)
    return found


class _Fields:
    """The :data:`~ngffkit.metadata.point_maps.FieldSampler` of one mapping: reads each field image once."""

    def __init__(self, location: Location) -> None:
        self.location = location
        self.base = ""
        self._read: dict[str, tuple[np.ndarray, int, np.ndarray]] = {}

    def __call__(self, t: Displacements, points: np.ndarray) -> np.ndarray:
        if not t.path:
            raise InvalidMetadata(f"the {t.type} transformation names no field array ('path')")
        key = "/".join(p for p in (self.base, t.path) if p)
        if key not in self._read:
            self._read[key] = _read_field(self.location.child(key, key=f"{t.type}.path"))
        values, component_axis, to_index = self._read[key]
        order = INTERPOLATION_ORDERS.get(t.interpolation or "linear")
        if order is None:
            raise InvalidMetadata(
                f"unknown interpolation {t.interpolation!r} (known: {', '.join(INTERPOLATION_ORDERS)})"
            )
        if points.shape[1] != to_index.shape[1] - 1:
            raise InvalidArgument(
                f"the field has {to_index.shape[1] - 1} spatial axes; the points have {points.shape[1]} coordinates"
            )
        index = points @ to_index[:-1, :-1].T + to_index[:-1, -1]
        components = np.moveaxis(values, component_axis, 0)
        return np.stack([ndimage.map_coordinates(c, index.T, order=order, mode="nearest") for c in components], axis=1)


def _read_field(location: Location) -> tuple[np.ndarray, int, np.ndarray]:
    """A field image's highest level (bounded by ``max_object_bytes``), the axis of its vector components, and
    the matrix from its spatial coordinates to its array indices."""
    from ngffkit.reader.image import load_image  # image.py uses this module: imported on use

    image: Image = load_image(location)
    kinds = [a.type for a in image.axes]
    component_axes = [i for i, kind in enumerate(kinds) if kind in COMPONENT_AXIS_TYPES]
    if len(component_axes) != 1:
        raise InvalidMetadata("a field needs exactly one axis of type 'displacement' or 'coordinate'",
                              where=location.url)  # fmt: skip
    axis = component_axes[0]
    level = image.levels[0]
    limits.check("max_object_bytes", level.nbytes, what="bytes in a field's array", where=location.url)
    spatial = [i for i in range(image.ndim) if i != axis]
    to_physical = _spatial_matrix(image, spatial)
    if to_physical is None or abs(np.linalg.det(to_physical)) <= 1e-12:
        raise InvalidMetadata("the field's array has no invertible scale/translation to its coordinates",
                              where=location.url)  # fmt: skip
    return np.asarray(image.read(0), dtype=float), axis, np.linalg.inv(to_physical)


def _spatial_matrix(image: Image, spatial: Seq[int]) -> np.ndarray | None:
    """Level 0's index -> coordinate matrix on the ``spatial`` axes; a field's transformations may list values for
    every axis or for the spatial ones alone."""
    chain = image.multiscale.datasets[0].transformations
    m = linear_matrix(Sequence(transformations=chain), len(spatial))
    if m is not None and m.shape == (len(spatial) + 1, len(spatial) + 1):
        return m
    m = linear_matrix(Sequence(transformations=chain), image.ndim)
    if m is None or m.shape != (image.ndim + 1, image.ndim + 1):
        return None
    keep = [*spatial, image.ndim]
    return m[np.ix_(keep, keep)]
