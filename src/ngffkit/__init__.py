"""ngffkit: read, write and validate OME-Zarr (OME-NGFF) images.

The core never imports napari or Qt; the napari plugin lives in :mod:`ngffkit.napari`. Public names are imported
on first use (module ``__getattr__``): ``import ngffkit`` and ``ngffkit --help`` stay light, and zarr and dask
load only when a reader, writer or validator is first touched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ngffkit.errors import (
    AlreadyExists,
    CorruptData,
    EditConflict,
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

__version__ = "0.1.0.dev0"

#: Public name -> the module that defines it (imported when the name is first used).
_LAZY = {
    "FORMATS": "ngffkit.formats",
    "Format": "ngffkit.formats",
    "get_format": "ngffkit.formats",
    "layers": "ngffkit.layer_data",
    "Location": "ngffkit.store.location",
    "Limits": "ngffkit.store.limits",
    "RetryPolicy": "ngffkit.store.remote",
    "Collection": "ngffkit.reader",
    "Image": "ngffkit.reader",
    "Labels": "ngffkit.reader",
    "Node": "ngffkit.reader",
    "Plate": "ngffkit.reader",
    "Scene": "ngffkit.reader",
    "Well": "ngffkit.reader",
    "open": "ngffkit.reader",
    "Report": "ngffkit.validation",
    "validate": "ngffkit.validation",
    "validate_attributes": "ngffkit.validation",
    "LabelEditor": "ngffkit.writer",
    "edit_labels": "ngffkit.writer",
    "write_region": "ngffkit.writer",
    "write_field": "ngffkit.writer",
    "write_image": "ngffkit.writer",
    "write_label_image": "ngffkit.writer",
    "write_labels": "ngffkit.writer",
    "write_plate": "ngffkit.writer",
    "write_well": "ngffkit.writer",
    "WriteOptions": "ngffkit.writer",
}


#: Sub-packages reachable as attributes (``ngffkit.samples.data.coins()``) without importing them first.
_ROOMS = frozenset({"formats", "metadata", "reader", "samples", "store", "tools", "writer"})


def __getattr__(name: str) -> Any:
    if name in _ROOMS:
        return importlib.import_module(f"ngffkit.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ngffkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next access is a plain attribute lookup
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from ngffkit.formats import FORMATS, Format, get_format
    from ngffkit.layer_data import layers
    from ngffkit.reader import Collection, Image, Labels, Node, Plate, Scene, Well, open
    from ngffkit.store.limits import Limits
    from ngffkit.store.location import Location
    from ngffkit.store.remote import RetryPolicy
    from ngffkit.validation import Report, validate, validate_attributes
    from ngffkit.writer import (
        LabelEditor,
        edit_labels,
        write_field,
        write_image,
        write_label_image,
        write_labels,
        write_plate,
        write_region,
        write_well,
    )
    from ngffkit.writer.settings import WriteOptions

__all__ = [
    "FORMATS",
    "AlreadyExists",
    "Collection",
    "CorruptData",
    "EditConflict",
    "Format",
    "Image",
    "InvalidArgument",
    "InvalidMetadata",
    "LabelEditor",
    "Labels",
    "LimitExceeded",
    "Limits",
    "Location",
    "LocationError",
    "NGFFError",
    "NGFFWarning",
    "Node",
    "NotFound",
    "NotOMEZarr",
    "Plate",
    "Report",
    "RetryPolicy",
    "Scene",
    "UnsafePath",
    "UnsupportedVersion",
    "Well",
    "WriteCancelled",
    "WriteOptions",
    "__version__",
    "edit_labels",
    "get_format",
    "layers",
    "open",
    "validate",
    "validate_attributes",
    "write_field",
    "write_image",
    "write_label_image",
    "write_labels",
    "write_plate",
    "write_region",
    "write_well",
]
