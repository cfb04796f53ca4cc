"""Validate one group's attributes: find the version, then check every OME section the document holds."""

from __future__ import annotations

from functools import cache
from typing import Any

from ngffkit.errors import NGFFError
from ngffkit.formats import Format, detect
from ngffkit.formats.sections import SECTION_KINDS, VERSIONED_SECTIONS, kind_of
from ngffkit.metadata import parse_attributes
from ngffkit.metadata._base import Notes
from ngffkit.metadata.multiscales import Multiscale
from ngffkit.metadata.transform_parsing import DRAFT_FORM
from ngffkit.validation import rules_coordinates, rules_hcs, rules_image, rules_labels
from ngffkit.validation.findings import Collector, Report
from ngffkit.validation.shapes import Arr, Num, Shape, child_path


@cache
def _section_shapes(fmt: Format, strict: bool) -> dict[str, Shape]:
    """The shape of every section in ``fmt``: immutable, so built once per version (a plate asks for them once
    per well and field)."""
    multiscales: Shape
    if fmt.has_coordinate_systems:
        multiscales = Arr(rules_coordinates.multiscale_shape(strict), min_items=1, unique=True)
    else:
        multiscales = rules_image.multiscales_shape(fmt, strict)
    shapes: dict[str, Shape] = {
        "multiscales": multiscales,
        "omero": rules_image.omero_shape(fmt),
        "image-label": rules_labels.image_label_shape(fmt, strict),
        "labels": rules_labels.labels_shape(),
        "plate": rules_hcs.plate_shape(fmt, strict),
        "well": rules_hcs.well_shape(fmt, strict),
        "bioformats2raw.layout": Num(enum=(3,)),
        "series": rules_labels.safe_path_list("series"),
    }
    if fmt.supports_scene:
        shapes["scene"] = rules_coordinates.scene_shape()
    return shapes


def validate_attributes(
    attributes: object,
    *,
    where: str = "",
    assume: Format | None = None,
    strict: bool = False,
    zarr_format: int | None = None,
) -> Report:
    """Check one group's attributes (the content of ``.zattrs``, or ``attributes`` of ``zarr.json``).

    :param attributes: the attributes, as parsed JSON (a dict; anything else is a finding).
    :param where: the file the attributes came from, named in the findings; empty: unnamed.
    :param assume: the version to use where the document states none; None: detected from the document.
    :param strict: also require what the strict schemas recommend; False (the default): only what the
        specification requires.
    :param zarr_format: the zarr format (2 or 3) of the group the attributes came from, when known (a 0.4
        document in a zarr v3 group is an error); None: not checked.
    :returns: the findings, with the version and kind of node the document describes.
    """
    out = Collector(where)
    version, kind = _check(attributes, out, assume=assume, strict=strict, zarr_format=zarr_format)
    return Report(where, tuple(out.findings), version=version, kind=kind)


def _check(
    attributes: object, out: Collector, *, assume: Format | None, strict: bool, zarr_format: int | None
) -> tuple[str | None, str | None]:
    if not isinstance(attributes, dict):
        out.error("document-type", "", f"group attributes must be a JSON object, not {type(attributes).__name__}")
        return None, None
    detection = detect(attributes, zarr_format=zarr_format, assume=assume)
    if detection.unknown or detection.format is None:
        out.error("version-unknown", detection.source or "", f"unknown NGFF version {detection.stated!r}")
        return None, None
    fmt = detection.format
    alias_note = detection.alias_note()
    if alias_note is not None:
        out.warn("version-alias", detection.source or "", f"{alias_note}; checked against the {fmt} rules")
    ns = fmt.namespace_of(attributes)
    if ns is None:
        found = [k for k in SECTION_KINDS if k in attributes]
        hint = f" (found {', '.join(found)} outside it)" if found else ""
        out.error(
            "ome-namespace-missing",
            fmt.namespace or "",
            f"NGFF {fmt} keeps its metadata in an '{fmt.namespace}' object{hint}",
        )
        return fmt.version, kind_of(attributes)
    prefix = fmt.namespace or ""
    _check_versions(fmt, attributes, ns, detection.stated, prefix, out)
    if zarr_format is not None and zarr_format != fmt.zarr_format:
        out.error(
            "zarr-format",
            "",
            f"NGFF {fmt} must be stored as zarr v{fmt.zarr_format}, this group is zarr v{zarr_format}",
        )
    present = [k for k in SECTION_KINDS if k in ns]
    if not present:
        where_ = f"'{fmt.namespace}' holds" if fmt.namespace else "the attributes hold"
        out.error("no-ome-metadata", prefix, f"{where_} no OME-NGFF metadata (none of: {', '.join(SECTION_KINDS)})")
        return fmt.version, None
    shapes = _section_shapes(fmt, strict)
    for key in [*present, *(["omero"] if "omero" in ns else [])]:
        shape = shapes.get(key)
        if shape is None:
            out.error("section-unsupported", child_path(prefix, key), f"'{key}' does not exist in NGFF {fmt}")
            continue
        shape.check(ns[key], child_path(prefix, key), out)
    if not fmt.has_coordinate_systems:
        _named_placements(fmt, ns, prefix, out)
    if "omero" in ns and "multiscales" not in ns:
        out.warn("omero-without-image", child_path(prefix, "omero"), "'omero' metadata without 'multiscales'")
    if fmt.has_coordinate_systems:
        _check_draft_forms(attributes, fmt, out)
    return fmt.version, kind_of(ns)


def _check_draft_forms(attributes: dict[str, Any], fmt: Format, out: Collector) -> None:
    """Say how the reader reads forms of older RFC-5 drafts (plain-name input/output, inline byDimension parts):
    the schema findings say the form is invalid, this one says what ngffkit makes of it."""
    try:
        notes = parse_attributes(attributes, assume=fmt).warnings
    except NGFFError:
        return
    for note in notes:
        if DRAFT_FORM in note:
            key, _, message = note.removeprefix("[").partition("] ")
            out.warn("rfc5-draft-form", key, message)


def _named_placements(fmt: Format, ns: dict[str, Any], prefix: str, out: Collector) -> None:
    """One ``named-placement`` finding per image whose multiscale-level transformations lead into named coordinate
    systems (spatialdata's 0.4/0.5): besides the shape errors, where ngffkit places it and what it cannot read."""
    multiscales = ns.get("multiscales")
    for i, entry in enumerate(multiscales if isinstance(multiscales, list) else []):
        key = child_path(prefix, f"multiscales[{i}].coordinateTransformations")
        if not isinstance(entry, dict):
            continue
        note = Multiscale.from_json(entry, fmt, Notes(""), key).named_placements().note
        if note is not None:
            out.warn("named-placement", key, note)


def _check_versions(
    fmt: Format, attributes: dict[str, Any], ns: dict[str, Any], stated: object, prefix: str, out: Collector
) -> None:
    """The version must be stated where the format wants it, and agree wherever it is repeated."""
    if fmt.version_in_namespace:
        if "version" not in ns:
            out.error(
                "version-missing",
                child_path(prefix, "version"),
                "is required: the document states no NGFF version",
            )
        elif not isinstance(ns["version"], str):
            out.error("schema-type", child_path(prefix, "version"), "must be a string")
        return
    places: list[tuple[str, object]] = []
    multiscales = ns.get("multiscales")
    if isinstance(multiscales, list):
        places += [
            (f"multiscales[{i}].version", ms["version"])
            for i, ms in enumerate(multiscales)
            if isinstance(ms, dict) and "version" in ms
        ]
    places += [
        (f"{key}.version", ns[key]["version"])
        for key in VERSIONED_SECTIONS[1:]  # multiscales states it per entry, above
        if isinstance(ns.get(key), dict) and "version" in ns[key]
    ]
    for path, value in places:
        if value not in (fmt.version, stated):  # an alias repeated alike is one statement
            out.error(
                "version-mismatch",
                path,
                f"states version {value!r}, but the document is NGFF {fmt} ({stated!r})",
            )
