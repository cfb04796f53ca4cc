"""``python -m ngffkit.napari PATH...``: open OME-Zarr datasets in a new napari window (used by ``ngffkit demo``)."""

import sys

from ngffkit.napari import show_paths

show_paths(sys.argv[1:])
