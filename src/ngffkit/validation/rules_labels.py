"""Rules for labels: the ``labels`` group listing label images, and ``image-label`` metadata."""

from __future__ import annotations

from typing import Any

from ngffkit.formats import Format
from ngffkit.store.paths import unsafe_reason
from ngffkit.validation.findings import Collector
from ngffkit.validation.shapes import JSON, Arr, Check, Num, Obj, Shape, Str, child_path


def image_label_shape(fmt: Format, strict: bool) -> Obj:
    color = Obj(
        {
            "label-value": Num(),
            "rgba": Arr(Num(integer=True, minimum=0, maximum=255), min_items=4, max_items=4),
        },
        required=("label-value",),
    )
    prop = Obj({"label-value": Num(integer=True)}, required=("label-value",))
    shape = Obj(
        {
            "colors": Arr(color, min_items=1, unique=True),
            "properties": Arr(prop, min_items=1, unique=True),
            "source": Obj({"image": Str()}, extra=_source_path),
            "version": Str(),
        },
        extra=_label_semantics,
    )
    if strict:
        shape = shape.requiring("colors") if fmt.version_in_namespace else shape.requiring("version", "colors")
    return shape


def _source_path(source: dict[str, Any], path: str, out: Collector) -> bool:
    image = source.get("image")
    if not isinstance(image, str):
        return True
    # The source is "../../" by convention: it may climb out of labels/<name>, but only to the image.
    stripped = image.rstrip("/")
    segments = stripped.split("/") if stripped else []
    if any(s not in ("..", ".") for s in segments) and unsafe_reason(stripped) is not None:
        out.error("unsafe-path", child_path(path, "image"), f"source image {image!r} {unsafe_reason(stripped)}")
        return False
    if segments.count("..") > 2:
        out.error("unsafe-path", child_path(path, "image"), f"source image {image!r} climbs above the image")
        return False
    return True


def _unique_values(entries: JSON, path: str, out: Collector, what: str) -> bool:
    if not isinstance(entries, list):
        return True
    seen: dict[str, int] = {}
    ok = True
    for i, entry in enumerate(entries):
        value = entry.get("label-value") if isinstance(entry, dict) else None
        if value is None or isinstance(value, bool):
            continue
        key = repr(float(value)) if isinstance(value, int | float) else repr(value)
        if key in seen:
            out.error(
                f"label-unique-{what}",
                child_path(child_path(path, i), "label-value"),
                f"label-value {value} already has an entry in {what} ({seen[key]})",
            )
            ok = False
        seen.setdefault(key, i)
    return ok


def _label_semantics(label: dict[str, Any], path: str, out: Collector) -> bool:
    ok = _unique_values(label.get("colors"), child_path(path, "colors"), out, "colors")
    return _unique_values(label.get("properties"), child_path(path, "properties"), out, "properties") and ok


def safe_path_list(what: str) -> Check:
    """A list of distinct, safe relative paths of children (label names, bioformats2raw series)."""

    def check(value: JSON, path: str, out: Collector) -> bool:
        if not Arr(Str()).check(value, path, out):
            return False
        ok = True
        for i, name in enumerate(value):
            reason = unsafe_reason(name)
            if reason is not None:
                out.error("unsafe-path", child_path(path, i), f"{what} path {name!r} {reason}")
                ok = False
            elif value.index(name) != i:
                out.error(f"{what}-unique", child_path(path, i), f"{what} {name!r} is listed twice")
                ok = False
        return ok

    return Check(check)


def labels_shape() -> Shape:
    """The ``labels`` key of a labels group: distinct, safe relative paths of label images."""
    return safe_path_list("label")
