"""Rules for images up to 0.5: ``multiscales`` (axes, scale/translation per level) and ``omero``.

0.6rc0 images, which use coordinate systems, are checked in :mod:`ngffkit.validation.rules_coordinates`.
"""

from __future__ import annotations

from typing import Any

from ngffkit.formats import AXES_ORDER_RULE, Format, axes_in_order
from ngffkit.metadata.omero import parse_hex
from ngffkit.store.paths import unsafe_reason
from ngffkit.validation.findings import Collector
from ngffkit.validation.shapes import (
    JSON,
    Arr,
    Bool,
    Check,
    Num,
    Obj,
    Str,
    child_path,
    is_number,
)

AXIS_TYPES = ("space", "time", "channel")
#: Names a 0.3 document may use for its axes, in the only order it allows.
V03_AXIS_ORDER = ("t", "c", "z", "y", "x")

_NUMBERS = Arr(Num())
_SCALE = Obj({"type": Str(), "scale": Arr(Num(), min_items=2)}, required=("type", "scale"))
_TRANSLATION = Obj({"type": Str(), "translation": Arr(Num(), min_items=2)}, required=("type", "translation"))


def _axis(value: JSON, path: str, out: Collector) -> bool:
    shape = Obj({"name": Str(), "type": Str(), "unit": Str()}, required=("name",))
    return shape.check(value, path, out)


def _scale_translation_list(value: JSON, path: str, out: Collector) -> bool:
    """A 0.4/0.5 transformation list: exactly one scale, first; at most one translation, after it."""
    if not Arr(min_items=1).check(value, path, out):
        return False
    ok = True
    kinds = []
    for i, item in enumerate(value):
        p = child_path(path, i)
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "scale":
            ok = _SCALE.check(item, p, out) and ok
        elif kind == "translation":
            ok = _TRANSLATION.check(item, p, out) and ok
        elif isinstance(item, dict) and "type" not in item:
            out.error("schema-required", child_path(p, "type"), "is required but missing")
            ok = False
        elif isinstance(item, dict):
            out.error(
                "transform-type",
                child_path(p, "type"),
                f"{item['type']!r} is not allowed here: use 'scale' and optionally 'translation'",
            )
            ok = False
        else:
            ok = Obj().check(item, p, out) and ok
        kinds.append(kind)
    scales = kinds.count("scale")
    if scales != 1:
        what = "no scale" if scales == 0 else f"{scales} scales"
        out.error("transform-one-scale", path, f"needs exactly one 'scale' transformation, has {what}")
        ok = False
    elif kinds[0] != "scale":
        out.error("transform-order", path, "the 'scale' transformation must come first")
        ok = False
    if kinds.count("translation") > 1:
        out.error("transform-one-translation", path, "allows at most one 'translation' transformation")
        ok = False
    return ok


def _transform_vectors(transforms: JSON) -> dict[str, list[float]]:
    """The scale and translation vectors of a well-formed 0.4/0.5 transformation list."""
    found: dict[str, list[float]] = {}
    if isinstance(transforms, list):
        for item in transforms:
            if isinstance(item, dict) and item.get("type") in ("scale", "translation"):
                vec = item.get(item["type"])
                if isinstance(vec, list) and all(is_number(v) for v in vec):
                    found.setdefault(item["type"], vec)
    return found


def check_unique_axis_names(axes: list[Any], path: str, out: Collector) -> bool:
    """Axis names must not repeat (within an image, or within a 0.6rc0 coordinate system)."""
    names = [a.get("name") for a in axes if isinstance(a, dict)]
    ok = True
    for i, name in enumerate(names):
        if names.index(name) != i:
            out.error("axes-unique-names", child_path(child_path(path, i), "name"), f"axis name {name!r} repeats")
            ok = False
    return ok


def _axes_objects(value: JSON, path: str, out: Collector) -> bool:
    """0.4/0.5 axes: 2 to 5 axis objects, unique names, 2 or 3 space axes, ordered time, channel, space."""
    if not Arr(Check(_axis), min_items=2, max_items=5, unique=True).check(value, path, out):
        return False
    ok = check_unique_axis_names(value, path, out)
    types = [a.get("type") for a in value]
    spaces = types.count("space")
    if not 2 <= spaces <= 3:
        out.error("axes-space-count", path, f"needs 2 or 3 axes of type 'space', has {spaces}")
        ok = False
    if types.count("time") > 1:
        out.error("axes-time-count", path, "allows at most one axis of type 'time'")
        ok = False
    if types.count("channel") > 1:
        out.error("axes-channel-count", path, "allows at most one axis of type 'channel'")
        ok = False
    if not axes_in_order(types):
        out.error("axes-order", path, f"axes must be ordered: {AXES_ORDER_RULE}")
        ok = False
    for i, axis in enumerate(value):
        unit = axis.get("unit")
        if unit is not None and not _known_unit(axis.get("type"), unit):
            out.warn(
                "axes-unit",
                child_path(child_path(path, i), "unit"),
                f"{unit!r} is not a unit the specification lists for a {axis.get('type') or 'custom'} axis",
            )
    return ok


def _axes_names(value: JSON, path: str, out: Collector) -> bool:
    """0.3 axes: a list of axis names from t, c, z, y, x in that order, at least y and x."""
    if not Arr(Str(), min_items=2, max_items=5, unique=True).check(value, path, out):
        return False
    known = [n for n in value if n in V03_AXIS_ORDER]
    if len(known) != len(value):
        bad = next(n for n in value if n not in V03_AXIS_ORDER)
        out.error("axes-names-v03", path, f"axis {bad!r} is not one of t, c, z, y, x")
        return False
    if sorted(value, key=V03_AXIS_ORDER.index) != value or value[-2:] != ["y", "x"]:
        out.error("axes-order", path, "axes must be a subset of t, c, z, y, x in that order, ending with y, x")
        return False
    return True


SPACE_UNITS = frozenset(
    [
        "angstrom",
        "attometer",
        "centimeter",
        "decimeter",
        "exameter",
        "femtometer",
        "foot",
        "gigameter",
        "hectometer",
        "inch",
        "kilometer",
        "megameter",
        "meter",
        "micrometer",
        "mile",
        "millimeter",
        "nanometer",
        "parsec",
        "petameter",
        "picometer",
        "terameter",
        "yard",
        "yoctometer",
        "yottameter",
        "zeptometer",
        "zettameter",
    ]
)
TIME_UNITS = frozenset(
    [
        "attosecond",
        "centisecond",
        "day",
        "decisecond",
        "exasecond",
        "femtosecond",
        "gigasecond",
        "hectosecond",
        "hour",
        "kilosecond",
        "megasecond",
        "microsecond",
        "millisecond",
        "minute",
        "nanosecond",
        "petasecond",
        "picosecond",
        "second",
        "terasecond",
        "yoctosecond",
        "yottasecond",
        "zeptosecond",
        "zettasecond",
    ]
)


def _known_unit(axis_type: object, unit: object) -> bool:
    if axis_type == "space":
        return unit in SPACE_UNITS
    if axis_type == "time":
        return unit in TIME_UNITS
    return True


def _omero(fmt: Format) -> Obj:
    window = Obj({k: Num() for k in ("start", "min", "end", "max")}, required=("start", "min", "end", "max"))
    channel = Obj(
        {"window": window, "label": Str(), "family": Str(), "color": Str(), "active": Bool()},
        required=("window", "color") if fmt.omero_channel_requires_window_and_color else (),
    )
    return Obj({"channels": Arr(channel)}, required=("channels",), extra=_omero_semantics)


def _omero_semantics(omero: dict[str, Any], path: str, out: Collector) -> bool:
    channels = omero.get("channels")
    if not isinstance(channels, list):
        return True
    for i, ch in enumerate(channels):
        if not isinstance(ch, dict):
            continue
        p = child_path(child_path(path, "channels"), i)
        color = ch.get("color")
        if isinstance(color, str) and not _is_hex_color(color):
            out.warn("omero-color", child_path(p, "color"), f"{color!r} is not a hex colour such as 'FF0000'")
        window = ch.get("window")
        if isinstance(window, dict) and all(is_number(window.get(k)) for k in ("start", "end", "min", "max")):
            if window["start"] > window["end"]:
                out.warn("omero-window", child_path(p, "window"), "window start is greater than its end")
            if window["min"] > window["max"]:
                out.warn("omero-window", child_path(p, "window"), "window min is greater than its max")
    return True


def _is_hex_color(color: str) -> bool:
    return not color.startswith("#") and parse_hex(color) is not None


def check_dataset_paths(datasets: JSON, path: str, out: Collector) -> None:
    """Dataset paths must be safe relative paths and distinct."""
    if not isinstance(datasets, list):
        return
    seen: dict[str, int] = {}
    for i, ds in enumerate(datasets):
        p = child_path(child_path(path, i), "path")
        value = ds.get("path") if isinstance(ds, dict) else None
        if not isinstance(value, str):
            continue
        reason = unsafe_reason(value)
        if reason is not None:
            out.error("unsafe-path", p, f"dataset path {value!r} {reason}")
        if value in seen:
            out.error("datasets-unique-paths", p, f"dataset path {value!r} repeats dataset {seen[value]}")
        seen.setdefault(value, i)


def _multiscale(fmt: Format, strict: bool) -> Obj:
    dataset_fields: dict[str, Any] = {"path": Str()}
    dataset_required: tuple[str, ...] = ("path",)
    fields: dict[str, Any] = {"name": Str(), "version": Str(), "metadata": Obj(), "type": Str()}
    required: tuple[str, ...] = ("datasets",)
    if fmt.has_scale_translation:
        dataset_fields["coordinateTransformations"] = Check(_scale_translation_list)
        dataset_required = ("path", "coordinateTransformations")
        fields["coordinateTransformations"] = Check(_scale_translation_list)
    if fmt.has_axis_objects:
        fields["axes"] = Check(_axes_objects)
        required = ("datasets", "axes")
    elif fmt.has_axes:
        fields["axes"] = Check(_axes_names)
        required = ("datasets", "axes")
    fields["datasets"] = Arr(Obj(dataset_fields, required=dataset_required), min_items=1)
    shape = Obj(fields, required=required, extra=lambda ms, p, out: _multiscale_semantics(fmt, ms, p, out))
    if strict:
        shape = shape.requiring(
            *(("metadata", "type", "name") if fmt.version_in_namespace else ("version", "metadata", "type", "name"))
        )
    return shape


def _multiscale_semantics(fmt: Format, ms: dict[str, Any], path: str, out: Collector) -> bool:
    ok = True
    datasets = ms.get("datasets")
    check_dataset_paths(datasets, child_path(path, "datasets"), out)
    if not fmt.has_scale_translation or not isinstance(datasets, list):
        return ok
    axes = ms.get("axes")
    n_axes = len(axes) if isinstance(axes, list) else None
    previous: list[float] | None = None
    for i, ds in enumerate(datasets):
        if not isinstance(ds, dict):
            continue
        p = child_path(child_path(child_path(path, "datasets"), i), "coordinateTransformations")
        vectors = _transform_vectors(ds.get("coordinateTransformations"))
        ok = _check_lengths(fmt, vectors, n_axes, p, out) and ok
        scale = vectors.get("scale")
        if scale is not None:
            if any(v <= 0 for v in scale):
                out.warn("transform-scale-positive", p, "scale factors should be greater than 0")
            if (
                previous is not None
                and len(previous) == len(scale)
                and any(s < q for s, q in zip(scale, previous, strict=True))
            ):
                out.error(
                    "levels-order",
                    p,
                    f"level {i} has a smaller scale than level {i - 1}: "
                    "datasets must go from the highest resolution to the lowest",
                )
                ok = False
            previous = scale
    top = ms.get("coordinateTransformations")
    if top is not None:
        p = child_path(path, "coordinateTransformations")
        ok = _check_lengths(fmt, _transform_vectors(top), n_axes, p, out) and ok
    return ok


def _check_lengths(fmt: Format, vectors: dict[str, list[float]], n_axes: int | None, path: str, out: Collector) -> bool:
    if n_axes is None:
        return True
    ok = True
    for kind, vec in vectors.items():
        if len(vec) != n_axes:
            msg = f"{kind} has {len(vec)} values for {n_axes} axes"
            if fmt.transform_length_mismatch_is_error:
                out.error("transform-length", path, msg)
                ok = False
            else:
                out.warn("transform-length", path, msg)
    return ok


def multiscales_shape(fmt: Format, strict: bool) -> Arr:
    return Arr(_multiscale(fmt, strict), min_items=1, unique=True)


def omero_shape(fmt: Format) -> Obj:
    return _omero(fmt)
