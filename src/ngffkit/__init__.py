"""ngffkit: read, write and validate OME-Zarr (OME-NGFF) images.

The core never imports napari or Qt; the napari plugin lives in :mod:`ngffkit.napari`. Public names are imported
on first use (module ``__getattr__``): ``import ngffkit`` and ``ngffkit --help`` stay light, and zarr and dask
load only when a reader, writer or validator is first touched.
"""

from __future__ import annotations

import importlib
import sys
import types
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
    "layers": "ngffkit.layers",
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
    "Report": "ngffkit.validate",
    "validate": "ngffkit.validate",
    "validate_attributes": "ngffkit.validate",
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


class _Package(types.ModuleType):
    """``ngffkit.validate`` and ``ngffkit.layers`` are functions that live in modules of the same name. Importing
    such a module binds it as an attribute of the package, which would hide the function; the package keeps the
    function (the modules stay reachable in ``sys.modules`` and through ``from ngffkit.validate import ...``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


#: Public functions named like the module that defines them.
_SHADOWED = frozenset({"validate", "layers"})
sys.modules[__name__].__class__ = _Package


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from ngffkit.formats import FORMATS, Format, get_format
    from ngffkit.layers import layers
    from ngffkit.reader import Collection, Image, Labels, Node, Plate, Scene, Well, open
    from ngffkit.store.limits import Limits
    from ngffkit.store.location import Location
    from ngffkit.store.remote import RetryPolicy
    from ngffkit.validate import Report, validate, validate_attributes
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
