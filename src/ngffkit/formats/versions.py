"""The NGFF versions ngffkit knows, one :class:`Format` each, and how to tell which one a document uses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ngffkit.errors import UnsupportedVersion
from ngffkit.formats.base import AxesStyle, Format, TransformStyle
from ngffkit.formats.sections import PLATE_NAME_PATTERN, VERSIONED_SECTIONS

_V2_KEYS = ("v2", "/")
_V3_KEYS = ("default", "/")

V01 = Format(
    version="0.1", rank=1, zarr_format=2, namespace=None,
    axes_style=AxesStyle.IMPLIED_TCZYX, transform_style=TransformStyle.NONE,
    version_in_namespace=False, field_path_pattern=PLATE_NAME_PATTERN,
    omero_channel_requires_window_and_color=True, well_path_order_is_error=False,
    transform_length_mismatch_is_error=False, chunk_key_encoding=_V2_KEYS,
    supports_scene=False, supports_labels=False, supports_plates=True,
)  # fmt: skip
# Each later version states only what changed from the one before it.
V02 = replace(V01, version="0.2", rank=2, supports_labels=True)
V03 = replace(V02, version="0.3", rank=3, axes_style=AxesStyle.NAMES)
V04 = replace(
    V03, version="0.4", rank=4, axes_style=AxesStyle.OBJECTS, transform_style=TransformStyle.SCALE_TRANSLATION
)
V05 = replace(
    V04, version="0.5", rank=5, zarr_format=3, namespace="ome", version_in_namespace=True,
    chunk_key_encoding=_V3_KEYS, omero_channel_requires_window_and_color=False,
    well_path_order_is_error=True, transform_length_mismatch_is_error=True,
)  # fmt: skip
V06RC0 = replace(
    V05, version="0.6rc0", rank=6,
    axes_style=AxesStyle.COORDINATE_SYSTEMS, transform_style=TransformStyle.COORDINATE_SYSTEMS,
    field_path_pattern=r"[A-Za-z0-9_.-]+", supports_scene=True,
    well_path_order_is_error=False, transform_length_mismatch_is_error=False,
)  # fmt: skip

FORMATS: tuple[Format, ...] = (V01, V02, V03, V04, V05, V06RC0)
#: The versions ngffkit writes (the default first).
LATEST_STABLE = V05
DEFAULT_WRITE = V05
WRITE_FORMATS: tuple[Format, ...] = (V05, V04, V06RC0)
#: What each written version is for, in a person's words (the napari widget offers them so).
WRITE_PURPOSES: dict[Format, str] = {
    V05: "newest (zarr v3), recommended",
    V04: "for older readers (zarr v2)",
    V06RC0: "preview of coordinate systems",
}
#: The versions ``ngffkit upgrade`` rewrites a hierarchy to in place (zarr v3: chunks are kept as they are).
UPGRADE_TARGETS: tuple[Format, ...] = tuple(f for f in WRITE_FORMATS if f.zarr_format == 3)
_BY_VERSION = {f.version: f for f in FORMATS}

#: Version strings that writers emit for a format other than its own name, each read as that format (with one
#: warning naming the mapping). The RFC-5 family: ngff-zarr >= 0.50 writes "0.6", acquire-zarr "0.6.dev3",
#: ngff-zarr also accepts "0.6.dev4"; all are the coordinate-systems draft that the specification repository calls
#: 0.6rc0. When a final 0.6 is released it becomes a Format of its own above and "0.6" leaves this table; nothing
#: outside ``formats/`` changes. spatialdata 0.8 writes "0.5-dev-spatialdata" (zarr v3, its default) and
#: "0.4-dev-spatialdata" (its older format), and its documentation names "0.6-dev-spatialdata": 0.4/0.5 metadata
#: with its own additions (placements into named coordinate systems, read by metadata/named_placements.py).
#: Whatever the name, :func:`detect` reads an alias as the version whose layout the metadata has.
ALIASES: tuple[tuple[re.Pattern[str], Format], ...] = (
    (re.compile(r"0\.6(?:[.-]?dev\d*|rc\d+)?"), V06RC0),
    (re.compile(r"0\.4-dev-spatialdata"), V04),
    (re.compile(r"0\.5-dev-spatialdata"), V05),
    (re.compile(r"0\.6-dev-spatialdata"), V06RC0),
)


def resolve(version: object) -> tuple[Format | None, bool]:
    """The format a stated version string means, and whether it was an alias (None: unknown)."""
    if not isinstance(version, str):
        return None, False
    fmt = _BY_VERSION.get(version)
    if fmt is not None:
        return fmt, False
    for pattern, aliased in ALIASES:
        if pattern.fullmatch(version):
            return aliased, True
    return None, False


def get_format(version: object, *, where: str | None = None) -> Format:
    """The format for a version string such as ``"0.4"`` (or an alias such as ``"0.6.dev3"``).

    :param version: a version string -- ``"0.1"`` to ``"0.5"``, ``"0.6rc0"``, or an alias another tool writes --
        or a :class:`Format` (returned as it is).
    :param where: the file or URL the version was read from, named in the error; None: unnamed.
    :returns: the format.
    :raises UnsupportedVersion: for anything else.
    """
    if isinstance(version, Format):
        return version
    fmt, _ = resolve(version)
    if fmt is None:
        known = ", ".join(_BY_VERSION)
        raise UnsupportedVersion(f"unknown NGFF version {version!r} (known: {known})", where=where)
    return fmt


def known_versions() -> tuple[str, ...]:
    return tuple(_BY_VERSION)


@dataclass(frozen=True)
class Detection:
    """The outcome of :func:`detect`: the format, the version string as written, and where it was read.

    ``stated`` is the raw version value found in the document (None when the document states none and
    the format was assumed); ``source`` the JSON path it was read from.
    """

    format: Format | None
    stated: object
    source: str | None
    #: The raw value could not be mapped to a known version (the format is then None or the assumption).
    unknown: bool = False
    #: The raw value is another name for ``format`` (see :data:`ALIASES`), e.g. "0.6.dev3" for 0.6rc0.
    alias: bool = False
    #: Why an aliased version is read as ``format`` (said to the person in :meth:`alias_note`).
    because: str = "the same draft under the name the specification uses"

    def alias_note(self) -> str | None:
        """The one sentence that tells a person how an aliased version was read, or None."""
        if not self.alias or self.format is None:
            return None
        return f"NGFF version {self.stated!r} read as {self.format} ({self.because})"


def _layout_format(attributes: Mapping[str, Any], source: str | None) -> Format | None:
    """The version whose layout the images of a document have, or None when there are no images to tell.

    Coordinate systems: 0.6rc0. ``axes`` and no coordinate systems: 0.5 when the version is stated in the ``ome``
    namespace, else 0.4 (per-section versions). Some writers stamp a pre-release or their own version on metadata
    that has one of these layouts."""
    ome = attributes.get("ome")
    in_namespace = isinstance(ome, Mapping) and source == "ome.version"
    holder = ome if in_namespace else attributes
    multiscales = holder.get("multiscales") if isinstance(holder, Mapping) else None
    if not isinstance(multiscales, list):
        return None
    entries = [m for m in multiscales if isinstance(m, Mapping)]
    if any("coordinateSystems" in m for m in entries):
        return V06RC0
    if any("axes" in m for m in entries):
        return V05 if in_namespace else V04
    return None


def _stated_version(attributes: Mapping[str, Any]) -> tuple[object, str | None]:
    """Find the version a document states, 0.5+ namespace first, then the <= 0.4 per-section places."""
    ome = attributes.get("ome")
    if isinstance(ome, Mapping) and "version" in ome:
        return ome["version"], "ome.version"
    for key in VERSIONED_SECTIONS:
        section = attributes.get(key)
        if key == "multiscales":
            section = section[0] if isinstance(section, list) and section else None
            if isinstance(section, Mapping) and "version" in section:
                return section["version"], "multiscales[0].version"
        elif isinstance(section, Mapping) and "version" in section:
            return section["version"], f"{key}.version"
    return None, None


def detect(
    attributes: Mapping[str, Any],
    *,
    zarr_format: int | None = None,
    assume: Format | None = None,
) -> Detection:
    """Tell which NGFF version a group's attributes follow.

    0.5 and later state it once as ``ome.version``; 0.4 and earlier in each section (``multiscales[0].
    version``, ``plate.version``, ...), where it is optional. When nothing is stated, ``assume`` wins,
    then the zarr format decides: a zarr v3 group with an ``ome`` namespace is 0.5-like, v2 is 0.4-like.
    The result is never an exception: an unknown version is reported with ``unknown=True`` so that the
    validator can list it as a finding and the reader can raise a clear error.
    """
    stated, source = _stated_version(attributes)
    if stated is not None:
        fmt, alias = resolve(stated)
        layout = _layout_format(attributes, source) if alias else None
        if layout is not None and layout != fmt:
            because = f"its images use the {layout} layout: " + (
                "coordinate systems" if layout.has_coordinate_systems else "axes, no coordinate systems"
            )
            return Detection(layout, stated, source, alias=True, because=because)
        if alias and fmt is not None and not fmt.has_coordinate_systems:
            return Detection(fmt, stated, source, alias=True, because=f"its metadata has the {fmt} layout")
        return Detection(fmt, stated, source, unknown=fmt is None, alias=alias)
    if assume is not None:
        return Detection(assume, None, None)
    if isinstance(attributes.get("ome"), Mapping) or zarr_format == 3:
        return Detection(LATEST_STABLE, None, None)
    return Detection(V04, None, None)
