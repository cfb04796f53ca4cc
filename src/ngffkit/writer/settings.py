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
    """All the choices of a write, grouped; frozen, so one object can serve many writes (a plate's fields).

    Every writer (:func:`~ngffkit.write_image`, :func:`~ngffkit.write_labels`, :func:`~ngffkit.write_field`, ...)
    also takes each choice below as a keyword; keywords win over an options object. Build one with
    :meth:`of` (``WriteOptions.of(levels=3, version="0.4")``). The choices, by name:

    **Pyramid** (:attr:`pyramid`):

    * ``levels`` -- the total number of levels, level 0 included. None: levels are added until y and x are at
      most 64 pixels (or stop shrinking).
    * ``scale_factors`` -- by how much each level shrinks: an int ``f`` (y and x shrink by ``f`` from one level to
      the next; None means 2), a per-axis dict ``{"z": 2, "y": 2, "x": 2}`` (per level; z shrinks only when named),
      a list of ints ``[3, 9]`` (cumulative factors of levels 1, 2, ... relative to level 0), or a list of per-axis
      dicts (cumulative). Channel and time axes never shrink; odd sizes round up.
    * ``method`` -- how a level is computed from the one before: ``"mean"``, ``"nearest"``, ``"gaussian"``,
      ``"mode"``, ``"max"`` or ``"min"``. None: ``"mean"`` for images, ``"mode"`` for label images (which accept
      only ``"mode"``, ``"nearest"``, ``"max"`` and ``"min"``: the methods that invent no label value).

    **Storage** (:attr:`storage`):

    * ``chunks`` -- the chunk shape, one entry per axis of the data (clipped to the data). None: about 2 MiB
      per chunk over the space axes (a power of two per side) and 1 along the others.
    * ``shards`` -- the shard shape (zarr v3 sharding, NGFF 0.5 or later), each entry a multiple of the chunk's.
      None: not sharded.
    * ``compressor`` -- ``"auto"`` (the default: blosc-lz4 with shuffle for images, zstd for labels),
      ``"zstd"``, ``"blosc"``, ``"gzip"``, ``"none"`` (or None: uncompressed), or a codec object passed to zarr as
      it is (a zarr v3 codec for NGFF 0.5 and later, a numcodecs codec for 0.4).
    * ``version`` -- the NGFF version written: ``"0.4"`` (zarr v2), ``"0.5"`` (zarr v3, the default) or
      ``"0.6rc0"``, or a :class:`~ngffkit.Format`.

    **Image metadata** (:attr:`image`):

    * ``axes`` -- the axis names, as a string (``"czyx"``), or a list of names, of dicts (``{"name": "z", "type":
      "space", "unit": "micrometer"}``) or of axis objects; one per dimension, with 2 or 3 space axes. None:
      guessed from the number of dimensions (yx, zyx -- cyx when the first of 3 axes has at most 4 entries --,
      czyx, tczyx).
    * ``scale`` -- the size of a level-0 pixel in physical units: one number (the space axes; the others stay 1),
      a list (one per axis), or a dict by axis name. Positive. None: 1 on every axis.
    * ``translation`` -- where level 0's first pixel sits: a list (one per axis) or a dict by axis name. None: 0.
    * ``units`` -- the unit of the axes (``"micrometer"``, ...): a string (every space axis) or a dict by axis
      name. None: the units ``axes`` carry, if any.
    * ``channels`` -- one entry per channel (the length of the channel axis, or 1 without one): a name, a dict
      (``label``/``name``, ``color`` as RRGGBB hex or RGB(A) in 0..1, ``window``/``contrast_limits`` as
      (start, end), ``active``/``visible``) or a channel object; written as ``omero`` metadata, with windows
      measured on the smallest level where none is given. None: no ``omero`` metadata.
    * ``name`` -- the multiscale's ``name``. None: left out.
    * ``level_transforms`` -- only for levels the caller gives (a list of arrays): the (scale, translation) of
      each level, level 0 first, as another tool wrote them. None: worked out from the level shapes.

    :param pyramid: how the levels are made (``levels``, ``scale_factors``, ``method``).
    :param storage: how the arrays are stored (``chunks``, ``shards``, ``compressor``, ``version``).
    :param image: what the metadata says (``axes``, ``scale``, ``translation``, ``units``, ``channels``, ``name``,
        ``level_transforms``).
    """

    pyramid: Pyramid = field(default_factory=Pyramid)
    storage: Storage = field(default_factory=Storage)
    image: ImageDescription = field(default_factory=ImageDescription)

    @classmethod
    def of(cls, options: WriteOptions | None = None, **choices: Any) -> WriteOptions:
        """``options`` (or the defaults) with the keyword ``choices`` on top; an unknown choice is refused.

        :param options: the options to start from. None: every choice at its default.
        :param choices: any of the choices listed on :class:`WriteOptions`, by name; they replace those of
            ``options``.
        :returns: a new :class:`WriteOptions`.
        :raises InvalidArgument: for a keyword that is not a choice (nothing else is checked before a write).
        """
        return (options or cls()).with_choices(**choices)

    def with_choices(self, **choices: Any) -> WriteOptions:
        """A copy of these options with the keyword ``choices`` (see :class:`WriteOptions`) replacing theirs.

        :raises InvalidArgument: for a keyword that is not a choice.
        """
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
