"""NGFF versions as objects: detection, zarr format, where attributes live, how axes and transforms look."""

from ngffkit.formats.base import AxesStyle, Format, TransformStyle
from ngffkit.formats.versions import (
    DEFAULT_WRITE,
    FORMATS,
    LATEST_STABLE,
    V01,
    V02,
    V03,
    V04,
    V05,
    V06RC0,
    WRITE_FORMATS,
    Detection,
    detect,
    get_format,
    known_versions,
)

__all__ = [
    "DEFAULT_WRITE",
    "FORMATS",
    "LATEST_STABLE",
    "V01",
    "V02",
    "V03",
    "V04",
    "V05",
    "V06RC0",
    "WRITE_FORMATS",
    "AxesStyle",
    "Detection",
    "Format",
    "TransformStyle",
    "detect",
    "get_format",
    "known_versions",
]
