"""A typed, immutable model of OME-NGFF metadata, read tolerantly and written strictly, per version."""

from ngffkit.metadata.axes import Axis, CoordinateSystem
from ngffkit.metadata.document import OMEMetadata, parse_attributes, upgrade
from ngffkit.metadata.hcs import Acquisition, FieldRef, Plate, Well, WellRef
from ngffkit.metadata.labels import ImageLabel, LabelColor, LabelProperties
from ngffkit.metadata.multiscales import Dataset, Multiscale
from ngffkit.metadata.omero import Channel, Omero, Window
from ngffkit.metadata.scene import Scene
from ngffkit.metadata.transform_parsing import parse_transformation
from ngffkit.metadata.transforms import Transformation

__all__ = [
    "Acquisition", "Axis", "Channel", "CoordinateSystem", "Dataset", "FieldRef", "ImageLabel", "LabelColor",
    "LabelProperties", "Multiscale", "OMEMetadata", "Omero", "Plate", "Scene", "Transformation", "Well", "WellRef",
    "Window", "parse_attributes", "parse_transformation", "upgrade",
]  # fmt: skip
