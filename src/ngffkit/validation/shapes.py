"""A small, declarative description of JSON shapes: the schema layer of the validator.

Why not a JSON-Schema engine? The specification's schemas cannot ship with ngffkit, and a schema engine's
messages ("is not valid under any of the given schemas") do not tell a microscopist what to fix. These
shapes say the same things the schemas say -- types, required keys, item counts, patterns, uniqueness --
and every failure becomes a :class:`~ngffkit.validation.findings.Finding` with a stable ``schema-*`` rule
id, a JSON path and a plain sentence. Checks that need more than one key live in the semantic rules.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from ngffkit.validation.findings import Collector

JSON = Any


def child_path(path: str, key: str | int) -> str:
    """Extend a JSON path by a key or an index: ``a.b`` + ``c`` -> ``a.b.c``; + 3 -> ``a.b[3]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def type_name(value: JSON) -> str:
    """The JSON type of a Python value, as a person would say it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def is_number(value: JSON) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_integer(value: JSON) -> TypeGuard[int | float]:
    """JSON-Schema integers: whole numbers, including ``2.0``; never booleans."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def canonical(value: JSON) -> str:
    """A key under which JSON-equal values (``1`` and ``1.0``, reordered objects) compare equal."""

    def norm(v: JSON) -> JSON:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int | float):
            return float(v) if math.isfinite(float(v)) else str(v)
        if isinstance(v, list):
            return [norm(x) for x in v]
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        return repr(v)

    return json.dumps(norm(value), sort_keys=True)


class Shape:
    """A rule for one JSON value. ``check`` reports problems and returns True when there were none."""

    def check(self, value: JSON, path: str, out: Collector) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class Anything(Shape):
    def check(self, value: JSON, path: str, out: Collector) -> bool:
        return True


@dataclass(frozen=True)
class Str(Shape):
    pattern: str | None = None
    min_length: int = 0
    enum: tuple[str, ...] | None = None
    what: str = ""

    def check(self, value: JSON, path: str, out: Collector) -> bool:
        if not isinstance(value, str):
            out.error("schema-type", path, f"must be a string, not {type_name(value)}")
            return False
        if len(value) < self.min_length:
            out.error("schema-length", path, "must not be empty")
            return False
        if self.enum is not None and value not in self.enum:
            choices = ", ".join(repr(e) for e in self.enum)
            out.error("schema-enum", path, f"{value!r} is not one of {choices}")
            return False
        if self.pattern is not None and re.fullmatch(self.pattern, value) is None:
            what = self.what or f"match {self.pattern}"
            out.error("schema-pattern", path, f"{value!r} must {what}")
            return False
        return True


@dataclass(frozen=True)
class Num(Shape):
    integer: bool = False
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    enum: tuple[float, ...] | None = None

    def check(self, value: JSON, path: str, out: Collector) -> bool:
        if not is_number(value) or (self.integer and not is_integer(value)):
            want = "an integer" if self.integer else "a number"
            out.error("schema-type", path, f"must be {want}, not {type_name(value)} ({_short(value)})")
            return False
        if not math.isfinite(value):
            out.error("schema-range", path, f"must be a finite number, not {value}")
            return False
        if self.enum is not None and value not in self.enum:
            out.error("schema-enum", path, f"{value} is not one of {', '.join(map(str, self.enum))}")
            return False
        if self.minimum is not None and value < self.minimum:
            out.error("schema-range", path, f"must be >= {_num(self.minimum)}, not {value}")
            return False
        if self.exclusive_minimum is not None and value <= self.exclusive_minimum:
            out.error("schema-range", path, f"must be > {_num(self.exclusive_minimum)}, not {value}")
            return False
        if self.maximum is not None and value > self.maximum:
            out.error("schema-range", path, f"must be <= {_num(self.maximum)}, not {value}")
            return False
        return True


@dataclass(frozen=True)
class Bool(Shape):
    def check(self, value: JSON, path: str, out: Collector) -> bool:
        if not isinstance(value, bool):
            out.error("schema-type", path, f"must be true or false, not {type_name(value)}")
            return False
        return True


@dataclass(frozen=True)
class Arr(Shape):
    items: Shape = field(default_factory=Anything)
    min_items: int = 0
    max_items: int | None = None
    unique: bool = False

    def check(self, value: JSON, path: str, out: Collector) -> bool:
        if not isinstance(value, list):
            out.error("schema-type", path, f"must be a list, not {type_name(value)}")
            return False
        ok = True
        if len(value) < self.min_items:
            if not value:
                out.error("schema-min-items", path, "must not be empty")
            else:
                out.error("schema-min-items", path, f"needs at least {self.min_items} items, has {len(value)}")
            ok = False
        if self.max_items is not None and len(value) > self.max_items:
            out.error("schema-max-items", path, f"allows at most {self.max_items} items, has {len(value)}")
            ok = False
        if self.unique and len(value) > 1:  # the canonical form of a lone item (a whole multiscale) is not needed
            seen: dict[str, int] = {}
            for i, item in enumerate(value):
                key = canonical(item)
                if key in seen:
                    out.error("schema-unique", child_path(path, i), f"repeats item {seen[key]}")
                    ok = False
                else:
                    seen[key] = i
        for i, item in enumerate(value):
            ok = self.items.check(item, child_path(path, i), out) and ok
        return ok


@dataclass(frozen=True)
class Obj(Shape):
    """An object with known keys. Unknown keys are allowed (NGFF is extensible) unless ``closed``."""

    fields: Mapping[str, Shape] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    closed: bool = False
    extra: Callable[[dict[str, Any], str, Collector], bool] | None = None

    def check(self, value: JSON, path: str, out: Collector) -> bool:
        if not isinstance(value, dict):
            out.error("schema-type", path, f"must be an object, not {type_name(value)}")
            return False
        ok = True
        for key in self.required:
            if key not in value:
                out.error("schema-required", child_path(path, key), f"is required but missing{_in(path)}")
                ok = False
        for key, shape in self.fields.items():
            if key in value:
                ok = shape.check(value[key], child_path(path, key), out) and ok
        if self.closed:
            for key in value:
                if key not in self.fields:
                    out.error("schema-unknown-key", child_path(path, key), "is not allowed here")
                    ok = False
        if self.extra is not None:
            ok = self.extra(value, path, out) and ok
        return ok

    def requiring(self, *keys: str) -> Obj:
        """The same shape with more required keys (how the strict schemas extend the plain ones)."""
        return Obj(self.fields, tuple(dict.fromkeys(self.required + keys)), self.closed, self.extra)

    def with_fields(self, **fields: Shape) -> Obj:
        return Obj({**self.fields, **fields}, self.required, self.closed, self.extra)


@dataclass(frozen=True)
class Check(Shape):
    """A rule written as a function, for the places a declarative shape cannot say it."""

    fn: Callable[[JSON, str, Collector], bool]

    def check(self, value: JSON, path: str, out: Collector) -> bool:
        return self.fn(value, path, out)


@dataclass(frozen=True)
class Tagged(Shape):
    """An object whose ``type`` key picks its shape (coordinate transformations)."""

    variants: Mapping[str, Shape]
    tag: str = "type"
    what: str = "type"

    def check(self, value: JSON, path: str, out: Collector) -> bool:
        if not isinstance(value, dict):
            out.error("schema-type", path, f"must be an object, not {type_name(value)}")
            return False
        if self.tag not in value:
            out.error("schema-required", child_path(path, self.tag), f"is required but missing{_in(path)}")
            return False
        tag = value[self.tag]
        shape = self.variants.get(tag) if isinstance(tag, str) else None
        if shape is None:
            known = ", ".join(self.variants)
            out.error(
                "schema-enum",
                child_path(path, self.tag),
                f"unknown {self.what} {_short(tag)} (known: {known})",
            )
            return False
        return shape.check(value, path, out)


@dataclass(frozen=True)
class AllOf(Shape):
    shapes: Sequence[Shape]

    def check(self, value: JSON, path: str, out: Collector) -> bool:
        ok = True
        for shape in self.shapes:
            ok = shape.check(value, path, out) and ok
        return ok


def _short(value: JSON) -> str:
    text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _in(path: str) -> str:
    return f" in {path}" if path else ""
