"""Sample data, offline: written as OME-Zarr with ngffkit, then read back the way a user's files are."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ngffkit.layers import LayerData
from ngffkit.napari._layers import layer_data_for
from ngffkit.samples.examples import write_coins, write_plate, write_timelapse


def _scratch() -> Path:
    # Kept for the session: the layers read their pixels lazily from here.
    return Path(tempfile.mkdtemp(prefix="ngffkit-sample-"))


def coins_with_labels() -> list[LayerData]:
    """scikit-image's coins as an OME-Zarr image with one label per coin."""
    return layer_data_for(str(write_coins(_scratch() / "coins.ome.zarr")))


def small_plate() -> list[LayerData]:
    """A 2 x 3 well plate with two fields per well and a label image per field, stitched."""
    return layer_data_for(str(write_plate(_scratch() / "plate.ome.zarr", labels=True)))


def cell_timelapse() -> list[LayerData]:
    """A 5D (t, c, z, y, x) time-lapse of drifting cells with their segmentation."""
    return layer_data_for(str(write_timelapse(_scratch() / "timelapse.ome.zarr")))
