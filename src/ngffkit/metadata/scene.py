"""0.6rc0 scenes: transformations that place several images in shared coordinate systems."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ngffkit.metadata._base import Notes, extra_keys, list_at, no_extra, with_extra
from ngffkit.metadata.axes import CoordinateSystem
from ngffkit.metadata.transform_parsing import parse_transformations
from ngffkit.metadata.transforms import Transformation


@dataclass(frozen=True)
class Scene:
    transformations: tuple[Transformation, ...]
    coordinate_systems: tuple[CoordinateSystem, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)

    @classmethod
    def from_json(cls, doc: Any, notes: Notes, key: str) -> Scene:
        if not isinstance(doc, dict):
            notes.warn(key, "scene must be an object")
            return cls(())
        systems = list_at(doc, "coordinateSystems")
        return cls(
            parse_transformations(doc.get("coordinateTransformations"), notes, f"{key}.coordinateTransformations"),
            tuple(
                CoordinateSystem.from_json(cs, notes, f"{key}.coordinateSystems[{i}]") for i, cs in enumerate(systems)
            ),
            extra_keys(doc, ("coordinateTransformations", "coordinateSystems")),
        )

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"coordinateTransformations": [t.to_json() for t in self.transformations]}
        if self.coordinate_systems:
            body["coordinateSystems"] = [cs.to_json() for cs in self.coordinate_systems]
        return with_extra(body, self.extra)
