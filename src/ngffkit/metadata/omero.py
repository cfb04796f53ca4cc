"""The ``omero`` rendering settings: channel names, colours, contrast windows, visibility."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ngffkit.metadata._base import Notes, as_str, extra_keys, list_at, no_extra, with_extra

#: Colours for channels whose metadata names none, in order: distinct and deterministic (never random). A lone
#: channel is white. The reader and the writer both take defaults from here.
CHANNEL_PALETTE = ("00FF00", "FF00FF", "00FFFF", "FF0000", "0000FF", "FFFF00")
LONE_CHANNEL_COLOR = "FFFFFF"
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def parse_hex(color: object) -> str | None:
    """``RRGGBB`` (upper case) for a colour written ``RRGGBB``, ``RRGGBBAA`` or with a leading ``#``; else None."""
    if not isinstance(color, str):
        return None
    digits = color.removeprefix("#")
    if len(digits) in (6, 8) and set(digits) <= _HEX_DIGITS:
        return digits[:6].upper()
    return None


def default_colors(given: Sequence[str | None]) -> list[str]:
    """Colours for channels: each given one as it is, each missing one the next palette colour that no channel
    uses yet (an explicit green does not get a second green beside it); a lone channel defaults to white."""
    if len(given) == 1:
        return [given[0] or LONE_CHANNEL_COLOR]
    taken = {c for c in given if c}
    free = [c for c in CHANNEL_PALETTE if c not in taken] or list(CHANNEL_PALETTE)
    out, turn = [], 0
    for color in given:
        if color:
            out.append(color)
        else:
            out.append(free[turn % len(free)])
            turn += 1
    return out


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
