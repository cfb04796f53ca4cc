"""Validate a whole OME-Zarr hierarchy: the group, its arrays, labels, wells and fields.

The walk is breadth-first and reads each depth in one concurrent batch (:func:`ngffkit.store.batch.read_many`):
a plate costs one round trip for the plate, one for all wells, one for all fields, one for all their
arrays and label groups -- not one per node. Children are found by following the metadata only.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ngffkit.errors import NGFFError, UnsafePath
from ngffkit.formats import Format, detect
from ngffkit.metadata.parameter_arrays import dtype_problem, paths_in, shape_problem
from ngffkit.store import claim
from ngffkit.store.arrays import zarr_array
from ngffkit.store.batch import read_many_or_errors
from ngffkit.store.limits import exceeded
from ngffkit.store.location import Location
from ngffkit.store.nodes import NodeMetadata
from ngffkit.store.walk import Child, ome_children
from ngffkit.validation.document import validate_attributes
from ngffkit.validation.findings import Collector, Report

#: Upper bound on the nodes one validation visits, so a hostile plate cannot keep it busy forever.
MAX_NODES = 200_000
#: The limit (a field of :class:`~ngffkit.store.limits.Limits`) on how many children of a role one group names.
_ROLE_LIMITS = {"well": "max_wells", "field": "max_fields", "level": "max_levels"}


def metadata_document_url(node: NodeMetadata) -> str:
    """The file a node's attributes come from, for findings."""
    return node.document_url


@dataclass
class _Image:
    """What the arrays of one image must agree with, and what they turned out to be."""

    url: str
    axis_names: list[str] | None
    ndim: int | None
    shapes: dict[int, tuple[int, ...]] = field(default_factory=dict)
    dtypes: dict[int, str] = field(default_factory=dict)
    level_paths: list[str] = field(default_factory=list)


@dataclass
class _Task:
    location: Location
    handle: Callable[[NodeMetadata], list[_Task]]
    expect: str | None = "group"


@dataclass
class HierarchyValidator:
    """Walks the hierarchy below a root, collecting findings of every document and array."""

    strict: bool = False
    assume: Format | None = None
    out: Collector = field(default_factory=Collector)
    images: list[_Image] = field(default_factory=list)
    visited: int = 0

    # --- driver -------------------------------------------------------------------------------------

    def run(self, root: Location) -> tuple[str | None, str | None]:
        node = root.read()
        if not node.exists:
            self.out.error("not-found", "", f"no zarr group at {root.url}")
            return None, None
        if node.is_array:
            self.out.error("not-a-group", "", f"{root.url} is a zarr array; OME-Zarr metadata lives on groups")
            return None, None
        report = self._document(node)
        # Only a group without OME metadata can be a write in progress (metadata comes last): no extra
        # request on the way of every other validation.
        owner = claim.read_marker(root) if report.kind is None else None
        if owner is not None:
            self.out.error("unfinished-write", "", f"{root.url} holds {claim.status(owner)}")
        frontier = self._children(node, expected=None)
        while frontier:
            self.visited += len(frontier)
            if self.visited > MAX_NODES:
                self.out.error("too-many-nodes", "", f"stopped after {MAX_NODES} nodes")
                break
            nodes = read_many_or_errors(
                [t.location for t in frontier], expect=[t.expect for t in frontier], keep_transport_errors=True
            )
            nxt: list[_Task] = []
            for task, child in zip(frontier, nodes, strict=True):
                if isinstance(child, NGFFError):
                    self.out.error("unsafe-path" if isinstance(child, UnsafePath) else "unreadable", "", str(child))
                    continue
                nxt.extend(task.handle(child))
            frontier = nxt
        for image in self.images:
            self._check_levels(image)
        return report.version, report.kind

    def _document(self, node: NodeMetadata, assume: Format | None = None) -> Report:
        if node.implicit_group:
            self.out.warn(
                "zgroup-missing", "", f"{node.location.url} has .zattrs but no .zgroup; zarr v2 groups need both"
            )
        report = validate_attributes(
            node.attributes,
            where=metadata_document_url(node),
            assume=self.assume or assume,
            strict=self.strict,
            zarr_format=node.zarr_format,
        )
        self.out.extend(report.findings)
        return report

    # --- following metadata ------------------------------------------------------------------------

    def _ome(self, node: NodeMetadata) -> tuple[Format | None, dict[str, Any]]:
        det = detect(node.attributes, zarr_format=node.zarr_format, assume=self.assume)
        if det.format is None:
            return None, {}
        return det.format, det.format.namespace_of(node.attributes) or {}

    def _child(
        self,
        base: Location,
        relative: object,
        handle: Callable[[NodeMetadata], list[_Task]],
        expect: str | None = "group",
    ) -> list[_Task]:
        if not isinstance(relative, str):
            return []
        try:
            return [_Task(base.child(relative), handle, expect)]
        except NGFFError:
            return []  # already reported as unsafe-path by the document rules

    def _children(self, node: NodeMetadata, expected: str | None) -> list[_Task]:
        """What the metadata names below ``node`` (see :func:`ngffkit.store.walk.ome_children`), each with the
        check its role calls for; image levels get their own, image-aware handlers."""
        fmt, ome = self._ome(node)
        if fmt is None:
            return []
        tasks = self._image_tasks(node, fmt, ome) if isinstance(ome.get("multiscales"), list) else []
        if fmt.has_coordinate_systems:
            for kind, path, key in paths_in(ome):
                tasks += self._child(node.location, path, self._parameter_array(kind, path, key), expect="array")
        handlers: dict[str, Callable[[NodeMetadata], list[_Task]]] = {
            "labels": self._labels_group_of(fmt),
            "label": self._expect("label"),
            "well": self._expect("well"),
            "field": self._expect("image"),
            "series-index": self._group_of_series,
            "series": self._expect("series"),
        }
        children = self._capped(node, ome_children(node.attributes, node.zarr_format, self.assume))
        for child in children:
            if child.role == "level" or (child.role == "labels" and expected == "label"):
                continue
            base = node.location.parent() if child.from_parent else node.location
            if base is not None:
                tasks += self._child(base, child.path, handlers[child.role])
        return tasks

    def _capped(self, node: NodeMetadata, children: list[Child]) -> list[Child]:
        """The children to follow: at most the limit of each kind (levels, wells, fields), with one finding
        for each kind cut short, so that hostile fan-out cannot keep the validator busy for hours."""
        limits = node.location.limits
        kept: list[Child] = []
        counts: dict[str, int] = {}
        for child in children:
            setting = _ROLE_LIMITS.get(child.role)
            counts[child.role] = counts.get(child.role, 0) + 1
            if setting is None or counts[child.role] <= getattr(limits, setting):
                kept.append(child)
        for role, count in counts.items():
            setting = _ROLE_LIMITS.get(role)
            if setting is not None and count > getattr(limits, setting):
                error = exceeded(
                    setting, count, getattr(limits, setting), what=f"{role}s named", where=node.location.url
                )
                self.out.error("limit-exceeded", "", f"{error}; the rest are not checked")
        return kept

    def _expect(self, kind: str) -> Callable[[NodeMetadata], list[_Task]]:
        def handle(node: NodeMetadata) -> list[_Task]:
            if not node.exists:
                self.out.error(
                    f"{kind}-missing", "", f"the {kind} {node.location.url} named in the metadata does not exist"
                )
                return []
            if node.is_array:
                self.out.error("not-a-group", "", f"{node.location.url} should be a {kind} group, but is an array")
                return []
            report = self._document(node)
            wanted = {"label": "label image", "image": "image", "well": "well", "series": "image"}[kind]
            if report.kind != wanted and not (kind == "series" and report.kind is not None):
                got = report.kind or _what_is_there(report)
                self.out.error(f"{kind}-kind", "", f"{node.location.url} should be a {wanted}, but holds {got}")
            return self._children(node, expected=kind)

        return handle

    def _labels_group_of(self, image_format: Format) -> Callable[[NodeMetadata], list[_Task]]:
        """The check of an image's ``labels`` group: from 0.5 on, one that states no version of its own is read
        with its image's, and a finding says so (up to 0.4 a labels group states none: the zarr format tells)."""

        def handle(node: NodeMetadata) -> list[_Task]:
            if not node.exists:
                return []  # labels are optional
            detection = detect(node.attributes, zarr_format=node.zarr_format)
            inherited = self.assume is None and detection.stated is None and image_format.version_in_namespace
            self._document(node, assume=image_format if inherited else None)
            if inherited:
                self.out.warn(
                    "version-inherited",
                    "",
                    f"{node.location.url} states no NGFF version; read as its image's {image_format}",
                )
            return self._children(node, expected="labels")

        return handle

    def _group_of_series(self, node: NodeMetadata) -> list[_Task]:
        if not node.exists:
            return []  # the OME group is optional; series are then numbered groups (not probed here)
        self._document(node)
        return self._children(node, expected="series-index")

    # --- images and their arrays --------------------------------------------------------------------

    def _image_tasks(self, node: NodeMetadata, fmt: Format, ome: dict[str, Any]) -> list[_Task]:
        tasks: list[_Task] = []
        for ms in ome["multiscales"]:
            if not isinstance(ms, dict) or not isinstance(ms.get("datasets"), list):
                continue
            names = _axis_names(fmt, ms)
            image = _Image(node.location.url, names, len(names) if names is not None else None)
            self.images.append(image)
            limit = node.location.limits.max_levels
            if len(ms["datasets"]) > limit:
                error = exceeded("max_levels", len(ms["datasets"]), limit, what="levels", where=node.location.url)
                self.out.error("limit-exceeded", "", f"{error}; the rest are not checked")
            for level, ds in enumerate(ms["datasets"][:limit]):
                if isinstance(ds, dict) and isinstance(ds.get("path"), str):
                    image.level_paths.append(ds["path"])
                    tasks += self._child(node.location, ds["path"], self._array(image, level), expect="array")
        return tasks

    def _array(self, image: _Image, level: int) -> Callable[[NodeMetadata], list[_Task]]:
        def handle(node: NodeMetadata) -> list[_Task]:
            url = node.location.url
            if not node.exists:
                self.out.error("array-missing", "", f"level {level} array {url} does not exist")
                return []
            if not node.is_array:
                self.out.error("array-not-array", "", f"level {level} {url} is a group, not an array")
                return []
            shape = node.shape
            if shape is None:
                self.out.error("array-metadata", "", f"array {url} has no valid shape")
                return []
            image.shapes[level] = shape
            try:
                array = zarr_array(node)
            except NGFFError as exc:
                self.out.error("array-metadata", "", f"array {url}: {exc.message}")
                return []
            image.dtypes[level] = str(array.dtype)
            if image.ndim is not None and len(shape) != image.ndim:
                self.out.error(
                    "array-ndim",
                    "",
                    f"array {url} has {len(shape)} dimensions, but the image has {image.ndim} axes",
                )
            names = node.dimension_names
            named = names is not None and any(n is not None for n in names)
            if named and image.axis_names is not None and list(names or ()) != image.axis_names:
                self.out.error(
                    "array-dimension-names",
                    "",
                    f"array {url} has dimension_names {names}, but the axes are {image.axis_names}",
                )
            return []

        return handle

    def _parameter_array(self, kind: str, path: str, key: str) -> Callable[[NodeMetadata], list[_Task]]:
        """The check of an array a 0.6rc0 transformation keeps its parameters in: there, and shaped and typed as
        :mod:`ngffkit.metadata.parameter_arrays` says -- from its metadata, nothing read."""

        def handle(node: NodeMetadata) -> list[_Task]:
            url = node.location.url
            if not node.exists or not node.is_array or node.shape is None:
                self.out.error("transform-parameters-missing", key,
                               f"the {kind} transformation's parameter array {path!r} is not an array at {url}")  # fmt: skip
                return []
            problem = shape_problem(kind, node.shape)
            if problem is None:
                try:
                    problem = dtype_problem(zarr_array(node).dtype)
                except NGFFError as exc:
                    problem = exc.message
            if problem is not None:
                self.out.error("transform-parameters-array", key, f"parameter array {url}: {problem}")
            return []

        return handle

    def _check_levels(self, image: _Image) -> None:
        kinds = {image.dtypes[k] for k in sorted(image.dtypes)}
        if len(kinds) > 1:
            listing = ", ".join(f"level {k} {t}" for k, t in sorted(image.dtypes.items()))
            self.out.warn("levels-dtype", "", f"{image.url}: the levels have different data types ({listing})")
        levels = sorted(image.shapes)
        for a, b in itertools.pairwise(levels):
            hi, lo = image.shapes[a], image.shapes[b]
            if len(hi) == len(lo) and any(x < y for x, y in zip(hi, lo, strict=True)):
                self.out.error(
                    "levels-shrink",
                    "",
                    f"{image.url}: level {b} {lo} is larger than level {a} {hi}; levels must go from "
                    "the highest resolution to the lowest",
                )


def _axis_names(fmt: Format, ms: dict[str, Any]) -> list[str] | None:
    """The axis names an image's arrays must have, in order (None when the metadata cannot tell)."""
    if not fmt.has_axes:
        return ["t", "c", "z", "y", "x"]
    if fmt.has_coordinate_systems:
        systems = ms.get("coordinateSystems")
        datasets = ms.get("datasets") or []
        target = None
        first = datasets[0] if datasets and isinstance(datasets[0], dict) else {}
        transforms = first.get("coordinateTransformations")
        if isinstance(transforms, list) and transforms and isinstance(transforms[0], dict):
            output = transforms[0].get("output")
            target = output.get("name") if isinstance(output, dict) else None
        if isinstance(systems, list):
            for cs in systems:
                if isinstance(cs, dict) and cs.get("name") == target and isinstance(cs.get("axes"), list):
                    return _names_if_strings([a.get("name") for a in cs["axes"] if isinstance(a, dict)])
        return None
    axes = ms.get("axes")
    if not isinstance(axes, list):
        return None
    return _names_if_strings([a.get("name") if isinstance(a, dict) else a for a in axes])


def _names_if_strings(names: list[Any]) -> list[str] | None:
    return [str(n) for n in names] if all(isinstance(n, str) for n in names) else None


def _what_is_there(report: Report) -> str:
    """What a group holds when it is not a kind of OME-NGFF node: metadata of an unknown version, or none."""
    for finding in report.findings:
        if finding.rule == "version-unknown":
            return f"metadata of an unknown NGFF version ({finding.message})"
    return "no OME-NGFF metadata"
