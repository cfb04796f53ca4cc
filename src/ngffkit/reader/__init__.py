"""Reading OME-Zarr hierarchies into nodes with lazy dask pyramids."""

from ngffkit.reader.collection import Collection, Scene
from ngffkit.reader.hcs import Plate
from ngffkit.reader.image import ChannelInfo, Image, Labels
from ngffkit.reader.node import Node
from ngffkit.reader.opening import open
from ngffkit.reader.well import Well, mosaic

__all__ = ["ChannelInfo", "Collection", "Image", "Labels", "Node", "Plate", "Scene", "Well", "mosaic", "open"]
