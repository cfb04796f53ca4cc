"""Label images (``image-label``) and the ``labels`` group that lists them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ngffkit.metadata._base import Notes, dict_at, extra_keys, list_at, no_extra, with_extra


def _label_value(entry: Mapping[str, Any]) -> int | float | None:
    value = entry.get("label-value")
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


#: Label colours a writer gives where none were chosen: well separated hues, repeated; never random.
LABEL_PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
)  # fmt: skip


def palette_color(index: int) -> tuple[int, int, int, int]:
    """The ``index``-th automatic label colour, opaque."""
    return (*LABEL_PALETTE[index % len(LABEL_PALETTE)], 255)


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

    def matched(self) -> ImageLabel:
        """The same colours and properties, both listing the same label values.

        The specification allows either list to name values the other does not, but ome-zarr-models (the most
        used validator) rejects such a label image, and with it the whole image. Nothing is dropped: a value
        with properties but no colour gets a palette colour, a value with a colour but no properties gets an
        empty properties entry. With either list empty there is nothing to match.
        """
        if not self.colors or not self.properties:
            return self
        colored = {c.value for c in self.colors}
        described = {p.value for p in self.properties}
        if colored == described:
            return self
        every = sorted(colored | described)
        colors = self.colors + tuple(LabelColor(v, palette_color(every.index(v))) for v in sorted(described - colored))
        properties = self.properties + tuple(LabelProperties(v) for v in sorted(colored - described))
        return replace(self, colors=colors, properties=properties)

    def color_map(self) -> dict[int | float, tuple[float, float, float, float]]:
        """label value -> RGBA in 0..1, for viewers."""
        return {c.value: tuple(v / 255 for v in c.rgba) for c in self.colors if c.rgba is not None}  # type: ignore[misc]
