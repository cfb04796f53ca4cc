"""bioformats2raw collections (several images in one container) and 0.6rc0 scenes."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ngffkit.errors import NGFFError, NGFFWarning
from ngffkit.metadata import OMEMetadata, ome_xml, parse_attributes
from ngffkit.metadata.coordinate_systems import NoRoute, SystemGraph, SystemId, multiscale_graph, scene_graph
from ngffkit.metadata.transforms import Ref, Transformation
from ngffkit.reader.coordinates import MapsPoints, map_points
from ngffkit.reader.image import Image, load_images, parse_node
from ngffkit.reader.node import Node
from ngffkit.reader.parameters import graph_with_parameters
from ngffkit.store import adapter
from ngffkit.store.batch import read_many, read_many_or_errors
from ngffkit.store.location import Location

#: Numbered series are probed in batches of this size when no ``OME/`` group lists them.
PROBE_BATCH = 8
MAX_SERIES = 100_000
#: bioformats2raw's copy of the microscope file's OME-XML, in the ``OME`` group: it names the series.
OME_XML = "METADATA.ome.xml"


class Collection(Node):
    """A bioformats2raw container: series images listed in ``OME/`` or numbered 0, 1, 2, ...

    Made by :func:`ngffkit.open`; the constructor does no I/O.

    :param location: where the container group is.
    :param metadata: the container's parsed OME metadata.
    :param series: the paths of the series images, in order (kept as :attr:`series`).
    """

    kind = "collection"

    def __init__(self, location: Location, metadata: OMEMetadata, series: tuple[str, ...]) -> None:
        super().__init__(location, metadata)
        self.series = series

    def images(self) -> list[Image]:
        """Every series image, opened concurrently."""
        return load_images([self.location.child(p, key="series") for p in self.series])

    def image(self, index: int = 0) -> Image:
        """Open one series image.

        :param index: the series' position in :attr:`series` (0, the default, is the first).
        """
        return load_images([self.location.child(self.series[index], key="series")])[0]

    def series_names(self) -> list[str | None]:
        """The name of each series (in the order of :attr:`series`) from ``OME/METADATA.ome.xml``, None where
        it gives none; all None without the document. :class:`~ngffkit.InvalidMetadata` when it cannot be
        read safely (:mod:`ngffkit.metadata.ome_xml`), LimitExceeded when it is larger than a document may be."""
        ome = self.location.child("OME")
        document = adapter.sync(ome.read_bytes(OME_XML))
        if document is None:
            return [None] * len(self.series)
        names = ome_xml.series_names(document, where=f"{ome.url}/{OME_XML}")
        # bioformats2raw numbers the series after the document's images: series "3" is the fourth image
        out: list[str | None] = []
        for i, path in enumerate(self.series):
            index = int(path) if path.isdigit() else i
            out.append(names[index] if index < len(names) else None)
        return out


def load_collection(location: Location, metadata: OMEMetadata) -> Collection:
    """Find the series: from ``OME/`` metadata when present, else by probing numbered groups in batches."""
    ome = location.child("OME").read()
    if ome.exists and ome.is_group:
        try:
            listed = parse_attributes(ome.attributes, where=ome.document_url, zarr_format=ome.zarr_format).series
        except NGFFError:
            listed = None
        if listed:
            for path in listed:
                location.child(path, key="OME.series")  # refuse unsafe series paths up front
            return Collection(location, metadata, tuple(listed))
    found: list[str] = []
    while len(found) < MAX_SERIES:
        names = [str(i) for i in range(len(found), len(found) + PROBE_BATCH)]
        nodes = read_many([location.child(n) for n in names], expect="group")
        for name, node in zip(names, nodes, strict=True):
            if not node.is_group:
                return Collection(location, metadata, tuple(found))
            found.append(name)
    return Collection(location, metadata, tuple(found))


class Scene(MapsPoints, Node):
    """A 0.6rc0 scene: transformations placing images (by path) in shared coordinate systems."""

    kind = "scene"

    @property
    def transformations(self) -> tuple[Transformation, ...]:
        """The scene's coordinate transformations, as its metadata lists them."""
        return self.metadata.scene.transformations if self.metadata.scene else ()

    @property
    def member_paths(self) -> tuple[str, ...]:
        """Paths of the images the scene places, in order of first mention."""
        paths: list[str] = []
        for t in self.transformations:
            for ref in (t.input, t.output):
                if isinstance(ref, Ref) and ref.path and ref.path not in paths:
                    paths.append(ref.path)
        return tuple(paths)

    def images(self) -> list[Image]:
        """Every image the scene places (:attr:`member_paths`), opened concurrently."""
        return load_images(
            [self.location.child(p, key="scene.coordinateTransformations.path") for p in self.member_paths]
        )

    def system_graph(self, *, members: bool = True) -> SystemGraph:
        """The scene's systems (its own, ``"world"``, and its members' as ``"tile_0#physical"``) and
        transformations; with ``members``, each member image's graph joined in (``"tile_0/s0"``; a member that
        cannot be opened is left out, with a warning).

        :param members: also join in the member images' own systems (reads each member's metadata); True by
            default.
        """
        graph = scene_graph(self.metadata.scene) if self.metadata.scene else SystemGraph()
        if not members or not self.member_paths:
            return graph_with_parameters(graph, self.location).fitted()
        locations = [self.location.child(p, key="scene.coordinateTransformations.path") for p in self.member_paths]
        nodes = read_many_or_errors(locations, expect="group")
        aliases: dict[SystemId, SystemId] = {}
        for path, node in zip(self.member_paths, nodes, strict=True):
            try:
                if isinstance(node, NGFFError):
                    raise node
                meta = parse_node(node)
            except NGFFError as exc:
                warnings.warn(f"scene member {path!r} left out of the coordinate systems: {exc}", NGFFWarning,
                              stacklevel=3)  # fmt: skip
                continue
            if meta.multiscales:
                graph = graph.merged(multiscale_graph(meta.multiscales[0]), path)
                named = [cs.name for cs in meta.multiscales[0].coordinate_systems if cs.name]
                if named:  # {"path": "tile_0"} alone: the image's first coordinate system, as the specification says
                    aliases[SystemId(path, None)] = SystemId(path, named[0])
        return graph_with_parameters(graph.aliased(aliases), self.location).fitted()

    def map_points(self, points: Any, *, source: str, target: str) -> np.ndarray:
        """``points`` (N, ndim) mapped from ``source`` to ``target``, systems of the scene or of its members: as
        :meth:`ngffkit.Image.map_points`. Member images are read only when the scene's own transformations do not
        connect the two systems through systems the scene itself describes (a member's system has axes only its
        own metadata names: a 2D step from a (c, y, x) member acts on its y and x, which only the member tells).

        :param points: the points, an (N, ndim) array (or list of coordinate lists) in the axis order of ``source``.
        :param source: the system the points are in: the scene's own, or a member's (``"tile_0#physical"``,
            ``"tile_0/s0"``).
        :param target: the system to map them into, named the same way.
        :returns: the mapped points, an (N, ndim) float array.
        """
        own = self.system_graph(members=False)
        if own.find(source) is not None and own.find(target) is not None:
            try:
                steps = own.route(own.find(source), own.find(target))  # type: ignore[arg-type]
            except NoRoute:
                pass
            else:
                if all(s.edge.source in own.axes and s.edge.target in own.axes for s in steps):
                    return map_points(self.location, own, points, source, target)
        return map_points(self.location, self.system_graph(), points, source, target)
