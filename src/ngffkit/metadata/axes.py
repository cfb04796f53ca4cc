"""Axes and coordinate systems."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ngffkit.metadata._base import Notes, as_str, extra_keys, list_at, no_extra, with_extra

#: What 0.1/0.2 images implied, and the axis type each of the classic names has.
CLASSIC_AXIS_TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}


@dataclass(frozen=True)
class Axis:
    """One axis: its name, type (space, time, channel, or custom) and unit."""

    name: str
    type: str | None = None
    unit: str | None = None
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)

    @classmethod
    def from_json(cls, doc: Any, notes: Notes, key: str) -> Axis:
        if isinstance(doc, str):  # 0.3 wrote bare names
            return cls(doc, CLASSIC_AXIS_TYPES.get(doc))
        if not isinstance(doc, dict):
            notes.warn(key, f"an axis must be an object, got {type(doc).__name__}")
            return cls(str(doc))
        name = as_str(doc.get("name"), f"{key}.name", notes) or ""
        return cls(
            name,
            as_str(doc.get("type"), f"{key}.type", notes),
            as_str(doc.get("unit"), f"{key}.unit", notes),
            extra_keys(doc, ("name", "type", "unit")),
        )

    @classmethod
    def classic(cls, name: str, unit: str | None = None) -> Axis:
        """An axis named t, c, z, y or x with its conventional type."""
        return cls(name, CLASSIC_AXIS_TYPES.get(name), unit)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name}
        if self.type is not None:
            body["type"] = self.type
        if self.unit is not None:
            body["unit"] = self.unit
        return with_extra(body, self.extra)

    @property
    def is_space(self) -> bool:
        return self.type == "space"

    @property
    def is_channel(self) -> bool:
        return self.type == "channel"

    @property
    def is_time(self) -> bool:
        return self.type == "time"


@dataclass(frozen=True)
class CoordinateSystem:
    """A named set of axes (0.6rc0)."""

    name: str
    axes: tuple[Axis, ...]
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)

    @classmethod
    def from_json(cls, doc: Any, notes: Notes, key: str) -> CoordinateSystem:
        if not isinstance(doc, dict):
            notes.warn(key, "a coordinate system must be an object")
            return cls("", ())
        axes = list_at(doc, "axes")
        return cls(
            as_str(doc.get("name"), f"{key}.name", notes) or "",
            tuple(Axis.from_json(a, notes, f"{key}.axes[{i}]") for i, a in enumerate(axes)),
            extra_keys(doc, ("name", "axes")),
        )

    def to_json(self) -> dict[str, Any]:
        return with_extra({"name": self.name, "axes": [a.to_json() for a in self.axes]}, self.extra)
