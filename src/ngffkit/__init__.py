"""ngffkit: read, write and validate OME-Zarr (OME-NGFF) images.

The core never imports napari or Qt; the napari plugin lives in :mod:`ngffkit.napari`.
"""

from __future__ import annotations

from ngffkit.errors import (
    AlreadyExists,
    CorruptData,
    InvalidArgument,
    InvalidMetadata,
    LimitExceeded,
    LocationError,
    NGFFError,
    NGFFWarning,
    NotFound,
    NotOMEZarr,
    UnsafePath,
    UnsupportedVersion,
    WriteCancelled,
)
from ngffkit.formats import FORMATS, Format, get_format
from ngffkit.layers import layers
from ngffkit.reader import Collection, Image, Labels, Node, Plate, Scene, Well, open
from ngffkit.store.location import Location
from ngffkit.validate import Report, validate, validate_attributes
from ngffkit.writer import write_field, write_image, write_labels, write_plate, write_well

__version__ = "0.1.0.dev0"

__all__ = [
    "FORMATS",
    "AlreadyExists",
    "Collection",
    "CorruptData",
    "Format",
    "Image",
    "InvalidArgument",
    "InvalidMetadata",
    "Labels",
    "LimitExceeded",
    "Location",
    "LocationError",
    "NGFFError",
    "NGFFWarning",
    "Node",
    "NotFound",
    "NotOMEZarr",
    "Plate",
    "Report",
    "Scene",
    "UnsafePath",
    "UnsupportedVersion",
    "Well",
    "WriteCancelled",
    "__version__",
    "get_format",
    "layers",
    "open",
    "validate",
    "validate_attributes",
    "write_field",
    "write_image",
    "write_labels",
    "write_plate",
    "write_well",
]
