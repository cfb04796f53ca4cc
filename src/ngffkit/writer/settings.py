"""What a write is asked to do, as one frozen object shared by the API, the CLI and the napari widget.

:class:`WriteOptions` groups the choices by concern: the **pyramid** (levels, factors, method), the **storage**
(chunks, shards, compressor, NGFF version) and the **image** metadata (axes, scale, translation, units,
channels, name). The writers also take each choice as a keyword (``write_image(data, dest, levels=3,
axes="zyx")``); keywords and an options object combine with :meth:`WriteOptions.of`, keywords winning.
Nothing here is checked yet: :mod:`ngffkit.writer.plan` checks everything before a byte is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypedDict

from ngffkit.errors import InvalidArgument
from ngffkit.formats import DEFAULT_WRITE, Format


@dataclass(frozen=True)
class Pyramid:
    """How the levels are made: how many (None: until y and x are about 64 pixels), by which factors, and how
    (None: ``mean`` for images, ``mode`` for labels)."""

    levels: int | None = None
    scale_factors: Any = None
    method: str | None = None


@dataclass(frozen=True)
class Storage:
    """How the arrays are stored: chunk and shard shapes (None: chosen for the data), compressor, NGFF version."""

    chunks: Sequence[int] | None = None
    shards: Sequence[int] | None = None
    compressor: Any = "auto"
    version: str | Format = DEFAULT_WRITE


@dataclass(frozen=True)
class ImageDescription:
    """What the metadata says about the image (None: guessed or left out)."""

    axes: Any = None
    scale: float | Sequence[float] | Mapping[str, float] | None = None
    translation: Sequence[float] | Mapping[str, float] | None = None
    units: str | Mapping[str, str] | None = None
    channels: Sequence[Any] | None = None
    name: str | None = None
    #: For levels the caller gives (a list of arrays): the (scale, translation) of each, level 0 first -- what
    #: another tool wrote for them. None: worked out from the shapes (:mod:`ngffkit.writer.given`).
    level_transforms: Sequence[tuple[Sequence[float], Sequence[float]]] | None = None


class Choices(TypedDict, total=False):
    """The choices a writer also takes one by one, as keywords."""

    levels: int | None
    scale_factors: Any
    method: str | None
    chunks: Sequence[int] | None
    shards: Sequence[int] | None
    compressor: Any
    version: str | Format
    axes: Any
    scale: float | Sequence[float] | Mapping[str, float] | None
    translation: Sequence[float] | Mapping[str, float] | None
    units: str | Mapping[str, str] | None
    channels: Sequence[Any] | None
    name: str | None
    level_transforms: Sequence[tuple[Sequence[float], Sequence[float]]] | None


class LabelChoices(TypedDict, total=False):
    """The choices :func:`ngffkit.write_labels` takes as keywords (the rest comes from the image)."""

    method: str | None
    chunks: Sequence[int] | None
    shards: Sequence[int] | None
    compressor: Any


_PART_OF = {
    **{f.name: "pyramid" for f in fields(Pyramid)},
    **{f.name: "storage" for f in fields(Storage)},
    **{f.name: "image" for f in fields(ImageDescription)},
}


@dataclass(frozen=True)
class WriteOptions:
    """All the choices of a write, grouped; frozen, so one object can serve many writes (a plate's fields)."""

    pyramid: Pyramid = field(default_factory=Pyramid)
    storage: Storage = field(default_factory=Storage)
    image: ImageDescription = field(default_factory=ImageDescription)

    @classmethod
    def of(cls, options: WriteOptions | None = None, **choices: Any) -> WriteOptions:
        """``options`` (or the defaults) with the keyword ``choices`` on top; an unknown choice is refused."""
        return (options or cls()).with_choices(**choices)

    def with_choices(self, **choices: Any) -> WriteOptions:
        unknown = sorted(set(choices) - set(_PART_OF))
        if unknown:
            raise InvalidArgument(
                f"unknown write option(s) {', '.join(unknown)} (known: {', '.join(sorted(_PART_OF))})"
            )
        parts: dict[str, dict[str, Any]] = {}
        for name, value in choices.items():
            parts.setdefault(_PART_OF[name], {})[name] = value
        return replace(self, **{part: replace(getattr(self, part), **values) for part, values in parts.items()})

    def choices(self) -> dict[str, Any]:
        """Every choice by name (the inverse of :meth:`of`)."""
        return {
            f.name: getattr(part, f.name) for part in (self.pyramid, self.storage, self.image) for f in fields(part)
        }
