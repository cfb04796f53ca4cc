"""Sample data, offline and in memory: written as OME-Zarr by ngffkit into a zarr MemoryStore, then read back the
way a user's files are (no folder is left behind)."""

from __future__ import annotations

from zarr.storage import MemoryStore

import ngffkit
from ngffkit.layer_data import LayerData
from ngffkit.napari._layers import node_layers
from ngffkit.napari._plate_open import offer_navigator
from ngffkit.samples.examples import write_coins, write_plate, write_timelapse


def coins_with_labels() -> list[LayerData]:
    """scikit-image's coins as an OME-Zarr image with one label per coin."""
    return node_layers(ngffkit.open(write_coins(MemoryStore())))


def small_plate() -> list[LayerData]:
    """A 2 x 3 well plate with two fields per well and a label image per field, stitched; the plate navigator
    docks beside it, as for a plate a person opens."""
    plate = ngffkit.open(write_plate(MemoryStore(), labels=True))
    layers = node_layers(plate)
    offer_navigator(plate)
    return layers


def cell_timelapse() -> list[LayerData]:
    """A 5D (t, c, z, y, x) time-lapse of drifting cells with their segmentation."""
    return node_layers(ngffkit.open(write_timelapse(MemoryStore())))
