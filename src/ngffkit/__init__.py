"""ngffkit: read, write and validate OME-Zarr (OME-NGFF) images.

The core never imports napari or Qt; the napari plugin lives in :mod:`ngffkit.napari`.
"""

from __future__ import annotations

from ngffkit.errors import (
    InvalidMetadata,
    LocationError,
    NGFFError,
    NotFound,
    NotOMEZarr,
    UnsafePath,
    UnsupportedVersion,
)
from ngffkit.formats import FORMATS, Format, get_format
from ngffkit.location import Location
from ngffkit.validate import Report, validate, validate_attributes

__version__ = "0.1.0.dev0"

__all__ = [
    "FORMATS",
    "Format",
    "InvalidMetadata",
    "Location",
    "LocationError",
    "NGFFError",
    "NotFound",
    "NotOMEZarr",
    "Report",
    "UnsafePath",
    "UnsupportedVersion",
    "__version__",
    "get_format",
    "validate",
    "validate_attributes",
]
