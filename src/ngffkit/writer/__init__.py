"""Writing OME-Zarr: images, labels, plates and wells, with pyramids, in NGFF 0.4, 0.5 or 0.6rc0.

The writers are imported on first use, so that light modules of this package (``choices``) load without zarr
and dask.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "LabelEditor": "ngffkit.writer.edit",
    "edit_labels": "ngffkit.writer.edit",
    "write_region": "ngffkit.writer.edit",
    "write_field": "ngffkit.writer.hcs",
    "write_plate": "ngffkit.writer.hcs",
    "write_well": "ngffkit.writer.hcs",
    "write_image": "ngffkit.writer.image",
    "write_label_image": "ngffkit.writer.labels",
    "write_labels": "ngffkit.writer.labels",
    "WriteOptions": "ngffkit.writer.settings",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ngffkit.writer' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


if TYPE_CHECKING:
    from ngffkit.writer.edit import LabelEditor, edit_labels, write_region
    from ngffkit.writer.hcs import write_field, write_plate, write_well
    from ngffkit.writer.image import write_image
    from ngffkit.writer.labels import write_label_image, write_labels
    from ngffkit.writer.settings import WriteOptions

__all__ = [
    "LabelEditor",
    "WriteOptions",
    "edit_labels",
    "write_field",
    "write_image",
    "write_label_image",
    "write_labels",
    "write_plate",
    "write_region",
    "write_well",
]  # fmt: skip
