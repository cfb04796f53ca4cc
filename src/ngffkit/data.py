"""Sample data in code, offline: scikit-image's bundled photos and small synthetic arrays.

Used by ``ngffkit create``, the demo, the napari sample-data contribution and the tests.
"""

from __future__ import annotations

import numpy as np
from skimage import data as skdata
from skimage.measure import label as connected_components


def coins() -> np.ndarray:
    """The coins photo (303 x 384, uint8)."""
    return skdata.coins()


def coins_labels() -> np.ndarray:
    """One label per coin (connected components of the bright pixels), uint16."""
    return connected_components(coins() > 110).astype(np.uint16)


def astronaut() -> np.ndarray:
    """The astronaut photo as channels first (3 x 512 x 512, uint8)."""
    return np.ascontiguousarray(skdata.astronaut().transpose(2, 0, 1))


def well_field(row: int, column: int, field: int, size: int = 128) -> np.ndarray:
    """A 2-channel synthetic field of view: a blob (channel 0) on a background (channel 1), uint16."""
    rng = np.random.default_rng(1 + row * 100 + column * 10 + field)
    yy, xx = np.mgrid[0:size, 0:size]
    blob = np.exp(-((yy - size / 2 - 8 * field) ** 2 + (xx - size / 2) ** 2) / (200 + 40 * row + 20 * column))
    image = np.stack([blob * 4000, (1 - blob) * 1000]) + rng.normal(100, 10, (2, size, size))
    return image.astype(np.uint16)


def well_field_labels(row: int, column: int, field: int, value: int, size: int = 128) -> np.ndarray:
    """The blob of :func:`well_field` as a label image with label ``value``."""
    return ((well_field(row, column, field, size)[0] > 2000) * value).astype(np.uint16)
