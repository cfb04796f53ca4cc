"""Rules for high-content screening metadata: ``plate`` and ``well``."""

from __future__ import annotations

from typing import Any

from ngffkit.formats import Format
from ngffkit.formats.sections import PLATE_NAME_PATTERN
from ngffkit.store.paths import unsafe_reason
from ngffkit.validation.findings import Collector
from ngffkit.validation.shapes import Arr, Check, Num, Obj, Str, child_path, is_integer, is_number

_NAME = Str(pattern=PLATE_NAME_PATTERN, what="contain only letters and digits")
_WELL_PATH = Str(pattern=f"{PLATE_NAME_PATTERN}/{PLATE_NAME_PATTERN}", what="be '<row>/<column>' (letters and digits)")


def plate_shape(fmt: Format, strict: bool) -> Obj:
    acquisition = Obj(
        {
            "id": Num(integer=True, minimum=0),
            "maximumfieldcount": Num(integer=True, exclusive_minimum=0),
            "name": Str(),
            "description": Str(),
            "starttime": Num(integer=True, minimum=0),
            "endtime": Num(integer=True, minimum=0),
        },
        required=("id",),
    )
    if strict:
        acquisition = acquisition.requiring("name", "maximumfieldcount")
    shape = Obj(
        {
            "acquisitions": Arr(acquisition),
            "version": Str(),
            "field_count": Num(integer=True, exclusive_minimum=0),
            "name": Str(),
            "columns": Arr(Obj({"name": _NAME}, required=("name",)), min_items=1, unique=True),
            "rows": Arr(Obj({"name": _NAME}, required=("name",)), min_items=1, unique=True),
            "wells": Arr(
                Obj(
                    {
                        "path": _WELL_PATH,
                        "rowIndex": Num(integer=True, minimum=0),
                        "columnIndex": Num(integer=True, minimum=0),
                    },
                    required=("path", "rowIndex", "columnIndex"),
                ),
                min_items=1,
                unique=True,
            ),
        },
        required=("columns", "rows", "wells"),
        extra=lambda plate, path, out: _plate_semantics(fmt, plate, path, out),
    )
    if strict:
        shape = shape.requiring("name") if fmt.version_in_namespace else shape.requiring("name", "version")
    return shape


def _names(plate: dict[str, Any], key: str, path: str, out: Collector) -> list[str | None]:
    """The row or column names, reporting repeats (two rows with the same name but other extra keys)."""
    entries = plate.get(key)
    names: list[str | None] = []
    if not isinstance(entries, list):
        return names
    for i, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        name = name if isinstance(name, str) else None
        if name is not None and name in names:
            out.error(
                f"plate-unique-{key}",
                child_path(child_path(path, key), i),
                f"{key[:-1]} name {name!r} repeats",
            )
        names.append(name)
    return names


def _plate_semantics(fmt: Format, plate: dict[str, Any], path: str, out: Collector) -> bool:
    rows = _names(plate, "rows", path, out)
    columns = _names(plate, "columns", path, out)
    wells = plate.get("wells")
    ok = True
    if isinstance(wells, list):
        seen: dict[str, int] = {}
        for i, well in enumerate(wells):
            if not isinstance(well, dict):
                continue
            p = child_path(child_path(path, "wells"), i)
            ok = _check_well_entry(fmt, well, rows, columns, seen, i, p, out) and ok
    acquisitions = plate.get("acquisitions")
    if isinstance(acquisitions, list):
        ids: list[object] = []
        for i, acq in enumerate(acquisitions):
            if not isinstance(acq, dict):
                continue
            p = child_path(child_path(path, "acquisitions"), i)
            if is_integer(acq.get("id")):
                if acq["id"] in ids:
                    out.error(
                        "plate-unique-acquisitions",
                        child_path(p, "id"),
                        f"acquisition id {acq['id']} repeats",
                    )
                    ok = False
                ids.append(acq["id"])
            start, end = acq.get("starttime"), acq.get("endtime")
            if is_number(start) and is_number(end) and start > end:
                out.warn("plate-acquisition-times", p, "starttime is after endtime")
    return ok


def _check_well_entry(
    fmt: Format,
    well: dict[str, Any],
    rows: list[str | None],
    columns: list[str | None],
    seen: dict[str, int],
    index: int,
    path: str,
    out: Collector,
) -> bool:
    ok = True
    well_path = well.get("path")
    if isinstance(well_path, str):
        reason = unsafe_reason(well_path)
        if reason is not None:
            out.error("unsafe-path", child_path(path, "path"), f"well path {well_path!r} {reason}")
            ok = False
        if well_path in seen:
            out.error(
                "plate-unique-wells",
                child_path(path, "path"),
                f"well {well_path!r} repeats well {seen[well_path]}",
            )
            ok = False
        seen.setdefault(well_path, index)
    for key, names in (("rowIndex", rows), ("columnIndex", columns)):
        value = well.get(key)
        if is_integer(value) and names and value >= len(names):
            out.error(
                "plate-well-index",
                child_path(path, key),
                f"{key} {value} is outside the {len(names)} declared",
            )
            ok = False
    r, c = well.get("rowIndex"), well.get("columnIndex")
    if isinstance(well_path, str) and is_integer(r) and is_integer(c) and r < len(rows) and c < len(columns):
        expected = f"{rows[int(r)]}/{columns[int(c)]}"
        if None not in (rows[int(r)], columns[int(c)]) and well_path != expected:
            msg = f"well path {well_path!r} should be {expected!r}: '<row name>/<column name>' of its indices"
            if fmt.well_path_order_is_error:
                out.error("plate-well-path", child_path(path, "path"), msg)
                ok = False
            else:
                out.warn("plate-well-path", child_path(path, "path"), msg)
    return ok


def well_shape(fmt: Format, strict: bool) -> Obj:
    def field_path(value: object, path: str, out: Collector) -> bool:
        if not Str(min_length=1).check(value, path, out):
            return False
        assert isinstance(value, str)
        if not fmt.field_path_ok(value):
            out.error(
                "schema-pattern",
                path,
                f"field path {value!r} must be a plain name ({fmt.field_path_pattern})",
            )
            return False
        return True

    image = Obj({"acquisition": Num(integer=True), "path": Check(field_path)}, required=("path",))
    shape = Obj(
        {"images": Arr(image, min_items=1, unique=True), "version": Str()},
        required=("images",),
        extra=_well_semantics,
    )
    if strict and not fmt.version_in_namespace:
        shape = shape.requiring("version")
    return shape


def _well_semantics(well: dict[str, Any], path: str, out: Collector) -> bool:
    images = well.get("images")
    ok = True
    if isinstance(images, list):
        seen: dict[str, int] = {}
        for i, image in enumerate(images):
            value = image.get("path") if isinstance(image, dict) else None
            if isinstance(value, str):
                if value in seen:
                    out.error(
                        "well-unique-fields",
                        child_path(child_path(child_path(path, "images"), i), "path"),
                        f"field {value!r} repeats field {seen[value]}",
                    )
                    ok = False
                seen.setdefault(value, i)
    return ok
