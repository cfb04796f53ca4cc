"""Multiscale images: levels (datasets), axes, and how each level maps to physical space."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ngffkit.formats import Format
from ngffkit.metadata._base import Notes, as_str, extra_keys, list_at, no_extra, with_extra
from ngffkit.metadata.axes import CLASSIC_AXIS_TYPES, Axis, CoordinateSystem
from ngffkit.metadata.named_placements import Placements, named_placements
from ngffkit.metadata.transform_parsing import parse_transformations
from ngffkit.metadata.transforms import (
    Ref,
    Scale,
    Transformation,
    Translation,
    compose_scale_translation,
)

_MULTISCALE_KEYS = (
    "name", "version", "axes", "datasets", "coordinateTransformations", "coordinateSystems", "type", "metadata",
)  # fmt: skip


@dataclass(frozen=True)
class Dataset:
    """One resolution level: the array path and its transformations to the image's coordinate system."""

    path: str
    transformations: tuple[Transformation, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)

    def to_json(self, fmt: Format) -> dict[str, Any]:
        body: dict[str, Any] = {"path": self.path}
        if fmt.has_transforms:
            body["coordinateTransformations"] = [t.to_json() for t in self.transformations]
        return with_extra(body, self.extra)


@dataclass(frozen=True)
class Multiscale:
    """One entry of ``multiscales``: axes (or coordinate systems), levels high to low resolution, and
    optional transformations shared by all levels."""

    datasets: tuple[Dataset, ...]
    axes: tuple[Axis, ...] = ()
    name: str | None = None
    transformations: tuple[Transformation, ...] = ()
    coordinate_systems: tuple[CoordinateSystem, ...] = ()
    type: str | None = None
    metadata: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)

    @classmethod
    def from_json(cls, doc: Any, fmt: Format, notes: Notes, key: str) -> Multiscale:
        if not isinstance(doc, dict):
            notes.warn(key, "a multiscales entry must be an object")
            return cls(())
        raw_datasets = list_at(doc, "datasets")
        datasets = []
        for i, ds in enumerate(raw_datasets):
            k = f"{key}.datasets[{i}]"
            if not isinstance(ds, dict) or not isinstance(ds.get("path"), str):
                notes.warn(k, "a dataset needs a string 'path'; skipping it")
                continue
            transforms = parse_transformations(
                ds.get("coordinateTransformations"), notes, f"{k}.coordinateTransformations"
            )
            datasets.append(Dataset(ds["path"], transforms, extra_keys(ds, ("path", "coordinateTransformations"))))
        systems_doc = doc.get("coordinateSystems")
        systems = tuple(
            CoordinateSystem.from_json(cs, notes, f"{key}.coordinateSystems[{i}]")
            for i, cs in enumerate(systems_doc if isinstance(systems_doc, list) else [])
        )
        axes = _axes_from(doc, fmt, systems, datasets, notes, key)
        metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else None
        extra = extra_keys(doc, _MULTISCALE_KEYS)
        made = cls(
            tuple(datasets),
            axes,
            as_str(doc.get("name"), f"{key}.name", notes),
            parse_transformations(doc.get("coordinateTransformations"), notes, f"{key}.coordinateTransformations"),
            systems,
            as_str(doc.get("type"), f"{key}.type", notes),
            metadata,
            extra,
        )
        note = made.named_placements().note
        if note is not None:
            notes.warn(f"{key}.coordinateTransformations", note)
        return made

    def to_json(self, fmt: Format) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if not fmt.version_in_namespace:
            body["version"] = fmt.version
        if self.name is not None:
            body["name"] = self.name
        if fmt.has_coordinate_systems:
            body["coordinateSystems"] = [cs.to_json() for cs in self.coordinate_systems]
        elif fmt.has_axis_objects:
            body["axes"] = [a.to_json() for a in self.axes]
        elif fmt.has_axes:
            body["axes"] = [a.name for a in self.axes]
        body["datasets"] = [d.to_json(fmt) for d in self.datasets]
        if self.transformations and fmt.has_transforms:
            body["coordinateTransformations"] = [t.to_json() for t in self.transformations]
        if self.type is not None:
            body["type"] = self.type
        if self.metadata is not None:
            body["metadata"] = dict(self.metadata)
        return with_extra(body, self.extra)

    # --- physical placement of each level --------------------------------------------------------------

    @property
    def ndim(self) -> int:
        return len(self.axes)

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)

    def level_scale_translation(self, level: int) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """Scale and translation of ``level`` in physical units (multiscale-level transforms included).

        None when the chain is not a pure scale/translation (0.6rc0 rotations, affines...).
        """
        chain = self.datasets[level].transformations + self._shared_transforms()
        return compose_scale_translation(chain, self.ndim)

    def named_placements(self, system: str | None = None) -> Placements:
        """Placements into named systems inside metadata without coordinate systems (spatialdata's 0.4/0.5), and
        the one the image is shown in (see :mod:`ngffkit.metadata.named_placements`); none in 0.6rc0."""
        if self.coordinate_systems:
            return Placements((), None)
        return named_placements(self.transformations, self.ndim, system=system)

    def _shared_transforms(self) -> tuple[Transformation, ...]:
        """Multiscale-level transforms that apply to every level (0.4/0.5: those without endpoints, then the
        placement into a named system where one is written and can be interpreted)."""
        shared = tuple(t for t in self.transformations if t.input is None and t.output is None)
        chosen = self.named_placements().chosen
        return shared if chosen is None else (*shared, chosen.transformation)


def _axes_from(
    doc: dict[str, Any],
    fmt: Format,
    systems: tuple[CoordinateSystem, ...],
    datasets: list[Dataset],
    notes: Notes,
    key: str,
) -> tuple[Axis, ...]:
    if not fmt.has_axes:
        return tuple(Axis.classic(n) for n in CLASSIC_AXIS_TYPES)
    if fmt.has_coordinate_systems:
        # The image's axes are those of the system its datasets map into.
        target = None
        if datasets and datasets[0].transformations:
            out = datasets[0].transformations[0].output
            target = out.name if isinstance(out, Ref) else out
        for cs in systems:
            if cs.name == target:
                return cs.axes
        return systems[0].axes if systems else ()
    raw = doc.get("axes")
    if not isinstance(raw, list):
        notes.warn(f"{key}.axes", "axes are missing")
        return ()
    return tuple(Axis.from_json(a, notes, f"{key}.axes[{i}]") for i, a in enumerate(raw))


def scale_translation_transforms(
    scale: tuple[float, ...], translation: tuple[float, ...] | None
) -> tuple[Transformation, ...]:
    """The 0.4/0.5 transformation list for a level: a scale, then a translation when it is not zero."""
    out: list[Transformation] = [Scale(scale=tuple(float(s) for s in scale))]
    if translation is not None and any(t != 0 for t in translation):
        out.append(Translation(translation=tuple(float(t) for t in translation)))
    return tuple(out)
