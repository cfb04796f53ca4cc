"""The ``omero`` rendering settings: channel names, colours, contrast windows, visibility."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ngffkit.metadata._base import Notes, as_str, extra_keys, list_at, no_extra, with_extra


@dataclass(frozen=True)
class Window:
    """Contrast limits (``start``/``end``) inside the data range (``min``/``max``)."""

    start: float
    end: float
    min: float | None = None
    max: float | None = None

    def to_json(self) -> dict[str, float]:
        body = {"start": self.start, "end": self.end}
        if self.min is not None:
            body["min"] = self.min
        if self.max is not None:
            body["max"] = self.max
        return body


@dataclass(frozen=True)
class Channel:
    label: str | None = None
    color: str | None = None
    window: Window | None = None
    active: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)

    @classmethod
    def from_json(cls, doc: Any, notes: Notes, key: str) -> Channel:
        if not isinstance(doc, dict):
            notes.warn(key, "a channel must be an object")
            return cls()
        window = None
        w = doc.get("window")
        if isinstance(w, dict):
            nums = {k: w.get(k) for k in ("start", "end", "min", "max")}
            if all(isinstance(nums[k], int | float) and not isinstance(nums[k], bool) for k in ("start", "end")):
                window = Window(
                    float(nums["start"]),  # type: ignore[arg-type]
                    float(nums["end"]),  # type: ignore[arg-type]
                    *(float(nums[k]) if isinstance(nums[k], int | float) else None for k in ("min", "max")),  # type: ignore[arg-type]
                )
            else:
                notes.warn(f"{key}.window", "window needs numeric start and end; ignoring it")
        active = doc.get("active")
        return cls(
            as_str(doc.get("label"), f"{key}.label", notes),
            as_str(doc.get("color"), f"{key}.color", notes),
            window,
            active if isinstance(active, bool) else None,
            extra_keys(doc, ("label", "color", "window", "active")),
        )

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.label is not None:
            body["label"] = self.label
        if self.color is not None:
            body["color"] = self.color
        if self.window is not None:
            body["window"] = self.window.to_json()
        if self.active is not None:
            body["active"] = self.active
        return with_extra(body, self.extra)

    @property
    def rgb(self) -> tuple[float, float, float] | None:
        """The colour as RGB in 0..1, or None when it is absent or not hex."""
        c = self.color
        if not isinstance(c, str) or len(c) not in (6, 8):
            return None
        try:
            return tuple(int(c[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]
        except ValueError:
            return None


@dataclass(frozen=True)
class Omero:
    channels: tuple[Channel, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)

    @classmethod
    def from_json(cls, doc: Any, notes: Notes, key: str) -> Omero:
        if not isinstance(doc, dict):
            notes.warn(key, "omero must be an object")
            return cls()
        raw = list_at(doc, "channels")
        channels = tuple(Channel.from_json(c, notes, f"{key}.channels[{i}]") for i, c in enumerate(raw))
        return cls(channels, extra_keys(doc, ("channels",)))

    def to_json(self) -> dict[str, Any]:
        return with_extra({"channels": [c.to_json() for c in self.channels]}, self.extra)
