"""The coordinate systems of a node and the graph of transformations between them, for every NGFF version.

Names (what :meth:`ngffkit.Image.map_points`, ``ngffkit transform`` and napari's placement accept):

* **A named system** is called by its name: ``"physical"``, ``"world"``. NGFF 0.6rc0 (RFC-5) names its own in
  ``coordinateSystems``. NGFF 0.1-0.5 name none, so ngffkit defines one: :data:`PHYSICAL` (``"physical"``), the
  system the multiscale's axes describe, which every level's ``coordinateTransformations`` (and the multiscale's
  own, shared ones) map into.
* **An array system** (the pixel indices of one array) is called by the array's path relative to the node: the
  dataset path, ``"0"``, ``"s0"``. 0.6rc0 refers to it as ``{"path": "s0"}``; in 0.1-0.5 there is one per
  dataset path.
* **A system of another node** (a scene's member image) is ``"<path>#<name>"`` (``"tile_0#physical"``, as 0.6rc0
  writes ``{"path": "tile_0", "name": "physical"}``); that member's arrays are ``"tile_0/s0"``.

A name that is both a system name and an array path means the named system. Transformations that name their ends
(0.6rc0; and 0.4/0.5 metadata that carries RFC-5-style ends, as spatialdata writes) add edges between the systems
they name, so one graph serves every version. The module is pure: no I/O; :mod:`ngffkit.reader.coordinates` reads
field arrays and maps points with :mod:`ngffkit.metadata.point_maps`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ngffkit.metadata.multiscales import Multiscale
from ngffkit.metadata.point_maps import invertible, linear_matrix, on_named_axes
from ngffkit.metadata.scene import Scene
from ngffkit.metadata.transforms import Bijection, Ref, Sequence, Transformation

#: The name ngffkit gives the physical system of an NGFF 0.1-0.5 image (the one its axes describe).
PHYSICAL = "physical"


@dataclass(frozen=True)
class SystemId:
    """One coordinate system: the node that holds it (``path`` relative to the node asked, ``""`` for itself) and
    its ``name`` (None: the array system of the array at ``path``)."""

    path: str = ""
    name: str | None = None

    def __str__(self) -> str:
        if self.name is None:
            return self.path
        return f"{self.path}#{self.name}" if self.path else self.name

    def under(self, prefix: str) -> SystemId:
        """This system as seen from the node ``prefix`` levels above (a scene looking at its member)."""
        return SystemId(_join(prefix, self.path), self.name)


@dataclass(frozen=True)
class Edge:
    """A transformation from ``source`` to ``target``; ``base`` is the node (relative path) its ``path``
    parameters, such as a displacement field's array, are relative to."""

    source: SystemId
    target: SystemId
    transformation: Transformation
    base: str = ""


@dataclass(frozen=True)
class Step:
    """One step of a route: an edge walked forwards, or backwards through its inverse."""

    edge: Edge
    forwards: bool


class NoRoute(Exception):
    """No chain of transformations connects two systems (``broken`` names a step that has no inverse, when a
    route exists only by walking it backwards)."""

    def __init__(self, message: str, broken: Edge | None = None) -> None:
        super().__init__(message)
        self.broken = broken


@dataclass(frozen=True)
class SystemGraph:
    """The coordinate systems of a node (with their dimensions, where known) and the transformations between them."""

    systems: Mapping[SystemId, int | None] = field(default_factory=dict)
    edges: tuple[Edge, ...] = ()
    #: The axis names of the systems that name their axes (named systems; an image's arrays, by its axes).
    axes: Mapping[SystemId, tuple[str, ...]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Every system by the name :meth:`find` accepts: named systems first, then arrays."""
        named = [s for s in self.systems if s.name is not None]
        return [str(s) for s in named + [s for s in self.systems if s.name is None]]

    def find(self, text: str) -> SystemId | None:
        """The system called ``text`` (a named system wins over an array of the same path), or None."""
        matches = [s for s in self.systems if str(s) == text]
        named = [s for s in matches if s.name is not None]
        best = named or matches
        return best[0] if best else None

    def merged(self, other: SystemGraph, prefix: str) -> SystemGraph:
        """This graph plus ``other``, the graph of the node at ``prefix`` (a scene's member image)."""
        systems = dict(self.systems)
        for system, ndim in other.systems.items():
            moved = system.under(prefix)
            if systems.get(moved) is None:
                systems[moved] = ndim
        edges = tuple(
            Edge(e.source.under(prefix), e.target.under(prefix), e.transformation, _join(prefix, e.base))
            for e in other.edges
        )
        axes = {**self.axes, **{system.under(prefix): names for system, names in other.axes.items()}}
        return SystemGraph(systems, self.edges + edges, axes)

    def aliased(self, aliases: Mapping[SystemId, SystemId]) -> SystemGraph:
        """This graph with the systems ``aliases`` names called by their other names: a scene transformation whose
        ``input`` is ``{"path": "tile_0"}`` alone means the member's first coordinate system (``tile_0#physical``)."""
        if not aliases:
            return self
        edges = tuple(
            Edge(aliases.get(e.source, e.source), aliases.get(e.target, e.target), e.transformation, e.base)
            for e in self.edges
        )
        systems = {system: ndim for system, ndim in self.systems.items() if system not in aliases}
        for old, new in aliases.items():
            if old in self.systems:
                systems.setdefault(new, self.systems[old])
        return SystemGraph(systems, edges, self.axes)

    def fitted(self) -> SystemGraph:
        """This graph with every transformation that acts on fewer axes than its input system has made explicit.

        A scene places images of axes (c, y, x) in a "world" of (y, x) with a 2D translation, scale or affine, as
        the specification's scenes and 0.6rc0 data do: such a transformation acts on the input axes named like the
        output system's (y and x), and the others (the channel) are dropped. Written as the ``byDimension`` that
        says so, it maps points and becomes a (non-square) matrix like any other; a transformation whose axes
        cannot be told by name is left as it is (mapping points through it is then an error that says so)."""
        edges = tuple(self._fit(edge) for edge in self.edges)
        return SystemGraph(self.systems, edges, self.axes)

    def _fit(self, edge: Edge) -> Edge:
        source, target = self.axes.get(edge.source), self.axes.get(edge.target)
        if source is None or target is None or len(target) >= len(source):
            return edge
        explicit = on_named_axes(edge.transformation, source, target)
        return edge if explicit is None else Edge(edge.source, edge.target, explicit, edge.base)

    def route(self, source: SystemId, target: SystemId) -> list[Step]:
        """The shortest chain of steps from ``source`` to ``target``, walking a transformation backwards only
        where it has an inverse. :class:`NoRoute` when there is none."""
        found = self._search(source, target, backwards_needs_inverse=True)
        if found is not None:
            return found
        loose = self._search(source, target, backwards_needs_inverse=False)
        if loose is not None:
            broken = next(step.edge for step in loose if not step.forwards and not invertible(step.edge.transformation))
            raise NoRoute(
                f"the only route from {str(source)!r} to {str(target)!r} walks the {_edge_name(broken)} backwards, "
                "and it has no inverse",
                broken,
            )
        raise NoRoute(f"no chain of transformations connects {str(source)!r} to {str(target)!r}")

    def linear_matrix(self, source: SystemId, target: SystemId, ndim: int) -> np.ndarray | None:
        """The homogeneous matrix of the route from ``source`` (``ndim`` axes) to ``target`` when every step is
        linear (walked backwards through its inverse matrix); None when a step is not (a field). :class:`NoRoute`
        as :meth:`route`. napari places a layer with it."""
        total = np.eye(ndim + 1)
        for step in self.route(source, target):
            t = step.edge.transformation
            backwards_as_given = not step.forwards and isinstance(t, Bijection) and t.inverse is not None
            if backwards_as_given:  # a bijection's inverse is what it says, not its forward's inverse
                assert isinstance(t, Bijection) and t.inverse is not None
                t = t.inverse
            m = linear_matrix(t, total.shape[0] - 1)
            if m is None:
                return None
            if not step.forwards and not backwards_as_given:
                if m.shape[0] != m.shape[1] or abs(np.linalg.det(m)) <= 1e-12:
                    return None
                m = np.linalg.inv(m)
            if m.shape[1] != total.shape[0]:
                return None
            total = m @ total
        return total

    def _search(self, source: SystemId, target: SystemId, *, backwards_needs_inverse: bool) -> list[Step] | None:
        moves: dict[SystemId, list[tuple[SystemId, Step]]] = {}  # built once: a search is linear in the edges
        for edge in self.edges:
            moves.setdefault(edge.source, []).append((edge.target, Step(edge, True)))
            if not backwards_needs_inverse or invertible(edge.transformation):
                moves.setdefault(edge.target, []).append((edge.source, Step(edge, False)))
        came: dict[SystemId, tuple[SystemId, Step] | None] = {source: None}
        queue = deque([source])
        while queue:
            here = queue.popleft()
            if here == target:
                steps: list[Step] = []
                while (prev := came[here]) is not None:
                    here, step = prev
                    steps.append(step)
                return steps[::-1]
            for nxt, step in moves.get(here, ()):
                if nxt not in came:
                    came[nxt] = (here, step)
                    queue.append(nxt)
        return None


def _edge_name(edge: Edge) -> str:
    t = edge.transformation
    label = f" {t.name!r}" if t.name else ""
    return f"{t.type or 'unknown'} transformation{label} ({edge.source} -> {edge.target})"


def _join(prefix: str, path: str) -> str:
    return "/".join(p for p in (prefix.strip("/"), path.strip("/")) if p)


def _resolve(ref: Ref | str | None, named: Iterable[str], arrays: Iterable[str]) -> SystemId | None:
    """The system a transformation's ``input``/``output`` names. A plain string (an older RFC-5 draft) is a
    system name when one is so called, else an array path."""
    if isinstance(ref, Ref):
        if ref.path is None and ref.name is None:
            return None
        return SystemId(ref.path or "", ref.name)
    if isinstance(ref, str):
        if ref in set(named) or ref not in set(arrays):
            return SystemId("", ref)
        return SystemId(ref, None)
    return None


def multiscale_graph(ms: Multiscale) -> SystemGraph:
    """The systems of an image: one array system per dataset path, the named systems (0.6rc0) or
    :data:`PHYSICAL` (0.1-0.5), and the transformations between them."""
    ndim = ms.ndim or None
    named_systems = {cs.name: len(cs.axes) for cs in ms.coordinate_systems if cs.name}
    paths = [d.path for d in ms.datasets]
    systems: dict[SystemId, int | None] = {}
    if named_systems:
        systems.update({SystemId("", name): n for name, n in named_systems.items()})
    else:
        systems[SystemId("", PHYSICAL)] = ndim
    systems.update({SystemId(p, None): ndim for p in paths})
    default = SystemId("", next(iter(named_systems), PHYSICAL))
    axes = {SystemId("", cs.name): tuple(a.name for a in cs.axes) for cs in ms.coordinate_systems if cs.name}
    if not named_systems:
        axes[default] = ms.axis_names
    axes.update({SystemId(p, None): ms.axis_names for p in paths})
    edges: list[Edge] = []
    for dataset in ms.datasets:
        chain = dataset.transformations
        if not named_systems:
            # 0.1-0.5: the level's scale/translation, then the multiscale's shared ones, lead to "physical".
            chain = chain + ms._shared_transforms()
        array = SystemId(dataset.path, None)
        if not chain:
            continue
        last = chain[-1]
        target = _resolve(last.output, named_systems, paths) or default
        source = _resolve(chain[0].input, named_systems, paths) or array
        step = chain[0] if len(chain) == 1 else Sequence(transformations=chain)
        edges.append(Edge(source, target, step))
    for t in ms.transformations:
        start, end = _resolve(t.input, named_systems, paths), _resolve(t.output, named_systems, paths)
        if start is not None and end is not None:
            edges.append(Edge(start, end, t))
            systems.setdefault(start, None)
            systems.setdefault(end, None)
    return SystemGraph(systems, tuple(edges), axes)


def scene_graph(scene: Scene) -> SystemGraph:
    """The systems a 0.6rc0 scene names (its own, and its members' as ``path#name``) and its transformations;
    :meth:`SystemGraph.merged` adds each member's own graph."""
    named = [cs.name for cs in scene.coordinate_systems if cs.name]
    systems: dict[SystemId, int | None] = {SystemId("", cs.name): len(cs.axes) for cs in scene.coordinate_systems}
    edges: list[Edge] = []
    for t in scene.transformations:
        start, end = _resolve(t.input, named, ()), _resolve(t.output, named, ())
        if start is None or end is None:
            continue
        systems.setdefault(start, None)
        systems.setdefault(end, None)
        edges.append(Edge(start, end, t))
    axes = {SystemId("", cs.name): tuple(a.name for a in cs.axes) for cs in scene.coordinate_systems if cs.name}
    return SystemGraph(systems, tuple(edges), axes)
