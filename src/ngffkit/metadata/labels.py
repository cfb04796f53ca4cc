"""Label images (``image-label``) and the ``labels`` group that lists them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ngffkit.metadata._base import Notes, dict_at, extra_keys, list_at, no_extra, with_extra


def _label_value(entry: Mapping[str, Any]) -> int | float | None:
    value = entry.get("label-value")
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class LabelColor:
    value: int | float
    rgba: tuple[int, int, int, int] | None = None
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"label-value": self.value}
        if self.rgba is not None:
            body["rgba"] = list(self.rgba)
        return with_extra(body, self.extra)


@dataclass(frozen=True)
class LabelProperties:
    """Per-label properties: everything besides ``label-value`` (area, class, ...)."""

    value: int | float
    properties: Mapping[str, Any] = field(default_factory=no_extra)

    def to_json(self) -> dict[str, Any]:
        return with_extra({"label-value": self.value}, self.properties)


@dataclass(frozen=True)
class ImageLabel:
    colors: tuple[LabelColor, ...] = ()
    properties: tuple[LabelProperties, ...] = ()
    source_image: str | None = None
    source_extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)

    @classmethod
    def from_json(cls, doc: Any, notes: Notes, key: str) -> ImageLabel:
        if not isinstance(doc, dict):
            notes.warn(key, "image-label must be an object")
            return cls()
        colors = []
        for i, c in enumerate(list_at(doc, "colors")):
            value = _label_value(c) if isinstance(c, dict) else None
            if value is None:
                notes.warn(f"{key}.colors[{i}]", "a colour needs a numeric label-value; skipping it")
                continue
            rgba = c.get("rgba")
            ok = isinstance(rgba, list) and len(rgba) == 4 and all(isinstance(v, int) for v in rgba)
            colors.append(LabelColor(value, tuple(rgba) if ok else None, extra_keys(c, ("label-value", "rgba"))))
        props = []
        for i, p in enumerate(list_at(doc, "properties")):
            value = _label_value(p) if isinstance(p, dict) else None
            if value is None:
                notes.warn(f"{key}.properties[{i}]", "properties need a numeric label-value; skipping them")
                continue
            props.append(LabelProperties(value, extra_keys(p, ("label-value",))))
        source = dict_at(doc, "source")
        image = source.get("image")
        return cls(
            tuple(colors),
            tuple(props),
            image if isinstance(image, str) else None,
            extra_keys(source, ("image",)),
            extra_keys(doc, ("colors", "properties", "source", "version")),
        )

    def to_json(self, version: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if version is not None:
            body["version"] = version
        if self.colors:
            body["colors"] = [c.to_json() for c in self.colors]
        if self.properties:
            body["properties"] = [p.to_json() for p in self.properties]
        if self.source_image is not None or self.source_extra:
            body["source"] = with_extra(
                {"image": self.source_image} if self.source_image is not None else {}, self.source_extra
            )
        return with_extra(body, self.extra)

    def color_map(self) -> dict[int | float, tuple[float, float, float, float]]:
        """label value -> RGBA in 0..1, for viewers."""
        return {c.value: tuple(v / 255 for v in c.rgba) for c in self.colors if c.rgba is not None}  # type: ignore[misc]
