"""All OME metadata of one group, read tolerantly from any version and written strictly to any version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ngffkit.errors import InvalidMetadata, UnsupportedVersion
from ngffkit.formats import V04, V05, Format, detect, get_format
from ngffkit.formats.sections import OME_KEYS, kind_of
from ngffkit.metadata._base import Notes, extra_keys, no_extra
from ngffkit.metadata.axes import Axis, CoordinateSystem
from ngffkit.metadata.hcs import Plate, Well
from ngffkit.metadata.labels import ImageLabel
from ngffkit.metadata.multiscales import Dataset, Multiscale, scale_translation_transforms
from ngffkit.metadata.omero import Omero
from ngffkit.metadata.scene import Scene
from ngffkit.metadata.transforms import Ref, Scale, Sequence, Transformation


@dataclass(frozen=True)
class OMEMetadata:
    """The OME-NGFF content of a group's attributes, as typed, immutable values.

    ``extra`` keeps unknown keys inside the OME namespace; ``foreign`` keeps the rest of the attributes
    (other applications' keys), so writing back never loses anything. ``warnings`` lists what a tolerant
    read had to work around.
    """

    format: Format
    multiscales: tuple[Multiscale, ...] = ()
    omero: Omero | None = None
    image_label: ImageLabel | None = None
    labels: tuple[str, ...] | None = None
    plate: Plate | None = None
    well: Well | None = None
    bioformats2raw_layout: int | None = None
    series: tuple[str, ...] | None = None
    scene: Scene | None = None
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)
    foreign: Mapping[str, Any] = field(default_factory=no_extra, compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)
    #: The version string as written when it was another name for ``format`` ("0.6.dev3"); writing gives
    #: the format's own name.
    stated_alias: str | None = field(default=None, compare=False)

    @property
    def kind(self) -> str | None:
        """image, label image, labels group, plate, well, collection, series list, scene -- or None."""
        present = {
            "multiscales": bool(self.multiscales), "image-label": self.image_label is not None,
            "labels": self.labels is not None, "plate": self.plate is not None, "well": self.well is not None,
            "bioformats2raw.layout": self.bioformats2raw_layout is not None, "series": self.series is not None,
            "scene": self.scene is not None,
        }  # fmt: skip
        return kind_of(key for key, here in present.items() if here)

    # --- writing --------------------------------------------------------------------------------------

    def to_attributes(self, fmt: Format | str | None = None) -> dict[str, Any]:
        """The group attributes for ``fmt`` (default: the format read), unknown keys included."""
        target = get_format(fmt) if fmt is not None else self.format
        per_section = None if target.version_in_namespace else target.version
        ome: dict[str, Any] = dict(self.extra)
        if self.multiscales:
            ome["multiscales"] = [m.to_json(target) for m in self.multiscales]
        if self.omero is not None:
            ome["omero"] = self.omero.to_json()
        if self.image_label is not None:
            ome["image-label"] = self.image_label.to_json(per_section)
        if self.labels is not None:
            ome["labels"] = list(self.labels)
        if self.plate is not None:
            ome["plate"] = self.plate.to_json(per_section)
        if self.well is not None:
            ome["well"] = self.well.to_json(per_section)
        if self.bioformats2raw_layout is not None:
            ome["bioformats2raw.layout"] = self.bioformats2raw_layout
        if self.series is not None:
            ome["series"] = list(self.series)
        if self.scene is not None:
            ome["scene"] = self.scene.to_json()
        attributes = dict(self.foreign)
        attributes.update(target.wrap(ome))
        return attributes


def parse_attributes(
    attributes: Any,
    *,
    where: str = "",
    zarr_format: int | None = None,
    assume: Format | None = None,
) -> OMEMetadata:
    """Read a group's attributes into :class:`OMEMetadata`, tolerating small deviations (with warnings).

    Raises :class:`~ngffkit.errors.UnsupportedVersion` for an unknown version and
    :class:`~ngffkit.errors.InvalidMetadata` when the attributes are not an object.
    """
    if not isinstance(attributes, dict):
        raise InvalidMetadata(f"attributes must be a JSON object, not {type(attributes).__name__}", where=where)
    det = detect(attributes, zarr_format=zarr_format, assume=assume)
    if det.unknown or det.format is None:
        raise UnsupportedVersion(f"unknown NGFF version {det.stated!r}", where=where, key=det.source)
    fmt = det.format
    notes = Notes(where)
    alias_note = det.alias_note()
    if alias_note is not None:
        notes.warn(det.source or "", alias_note)
    ns = fmt.namespace_of(attributes)
    if ns is None:
        # Tolerant read: a zarr v3 group with <= 0.4-style top-level keys, or the reverse.
        ns, fmt = _fallback_namespace(attributes, fmt, notes)
    prefix = f"{fmt.namespace}." if fmt.namespace else ""
    multiscales_doc = ns.get("multiscales")
    multiscales: tuple[Multiscale, ...] = ()
    if isinstance(multiscales_doc, list):
        multiscales = tuple(
            Multiscale.from_json(m, fmt, notes, f"{prefix}multiscales[{i}]") for i, m in enumerate(multiscales_doc)
        )
    elif multiscales_doc is not None:
        notes.warn(f"{prefix}multiscales", "must be a list; ignoring it")

    def section(key: str, reader: Any) -> Any:
        return reader(ns[key], notes, prefix + key) if key in ns else None

    labels = ns.get("labels")
    series = ns.get("series")
    layout = ns.get("bioformats2raw.layout")
    meta = OMEMetadata(
        format=fmt,
        multiscales=multiscales,
        omero=section("omero", Omero.from_json),
        image_label=section("image-label", ImageLabel.from_json),
        labels=tuple(x for x in labels if isinstance(x, str)) if isinstance(labels, list) else None,
        plate=section("plate", Plate.from_json),
        well=section("well", Well.from_json),
        bioformats2raw_layout=layout if isinstance(layout, int) and not isinstance(layout, bool) else None,
        series=tuple(x for x in series if isinstance(x, str)) if isinstance(series, list) else None,
        scene=section("scene", Scene.from_json) if fmt.supports_scene else None,
        extra=extra_keys(ns, (*OME_KEYS, "version")),
        foreign=extra_keys(attributes, (fmt.namespace,) if fmt.namespace else OME_KEYS),
        warnings=tuple(notes.messages),
        stated_alias=det.stated if det.alias and isinstance(det.stated, str) else None,
    )
    return meta


def _fallback_namespace(attributes: dict[str, Any], fmt: Format, notes: Notes) -> tuple[dict[str, Any], Format]:
    if fmt.namespace and any(k in attributes for k in OME_KEYS):
        notes.warn("", f"NGFF {fmt} keeps metadata under '{fmt.namespace}'; reading top-level keys as 0.4")
        return attributes, V04
    return {}, fmt


def upgrade(meta: OMEMetadata, to: Format | str = V05) -> OMEMetadata:
    """The same metadata in a newer version, in memory (no I/O; arrays are not touched).

    0.1-0.3 images gain explicit axes and unit scales; 0.4 -> 0.5 moves everything under ``ome``.
    Upgrading to 0.6rc0 turns axes into an ``physical`` coordinate system with scale/translation
    transformations from each dataset.
    """
    target = get_format(to)
    if not target.is_newer_than(meta.format) and target != meta.format:
        raise UnsupportedVersion(f"cannot downgrade NGFF {meta.format} to {target}")
    multiscales = meta.multiscales
    if not meta.format.has_scale_translation and target.has_transforms:
        multiscales = tuple(_with_unit_scales(m) for m in multiscales)
    if target.has_coordinate_systems and not meta.format.has_coordinate_systems:
        multiscales = tuple(_to_coordinate_systems(m) for m in multiscales)
    return replace(meta, format=target, multiscales=multiscales, warnings=())


def _with_unit_scales(m: Multiscale) -> Multiscale:
    ones = tuple(1.0 for _ in m.axes)
    datasets = tuple(
        replace(d, transformations=d.transformations or scale_translation_transforms(ones, None)) for d in m.datasets
    )
    return replace(
        m, datasets=datasets, axes=tuple(Axis.classic(a.name, a.unit) if a.type is None else a for a in m.axes)
    )


def _to_coordinate_systems(m: Multiscale, system: str = "physical") -> Multiscale:
    datasets = []
    for i, d in enumerate(m.datasets):
        placed = m.level_scale_translation(i) or (tuple(1.0 for _ in m.axes), tuple(0.0 for _ in m.axes))
        steps = scale_translation_transforms(*placed)
        ref_in, ref_out = Ref(path=d.path), Ref(name=system)
        chain: tuple[Transformation, ...]
        if len(steps) == 1:
            chain = (Scale(scale=placed[0], input=ref_in, output=ref_out),)
        else:
            chain = (Sequence(transformations=steps, input=ref_in, output=ref_out),)
        datasets.append(Dataset(d.path, chain, d.extra))
    return replace(
        m,
        datasets=tuple(datasets),
        transformations=(),
        coordinate_systems=(CoordinateSystem(system, m.axes),),
    )
