"""Writing OME-Zarr: images, labels, plates and wells, with pyramids, in NGFF 0.4, 0.5 or 0.6rc0."""

from ngffkit.writer.hcs import write_field, write_plate, write_well
from ngffkit.writer.image import write_image
from ngffkit.writer.labels import write_labels

__all__ = ["write_field", "write_image", "write_labels", "write_plate", "write_well"]
