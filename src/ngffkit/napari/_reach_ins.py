"""napari internals that the well view touches -- one function, to move into the napari adapter module.

napari has no public way to change several properties of a layer and have it sliced once: every change of
scale, translation or data slices it again, and new data of a multiscale layer is first sliced at its coarsest
level, then again at the level the view needs (three slices per layer when the plate navigator gives a layer
the next well). ``Layer._block_refresh`` (napari 0.4.19 - 0.9) holds the slicing back, and the level the layer
was drawn at (``_data_level``) is kept for the new data of as many levels: the layer is sliced once, at that
level. Should a release rename either, the changes are made as before, each slicing the layer
(``tests/napari/test_plate_navigator.py`` fails loudly when that happens).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def sliced_once(layer: Any) -> Iterator[None]:
    """Changes to ``layer`` made inside the block are sliced and drawn once, at its end."""
    block = getattr(layer, "_block_refresh", None)
    if block is None:
        yield
        return
    level, levels = getattr(layer, "_data_level", None), len(layer.data) if layer.multiscale else 1
    with block():
        yield
    if isinstance(level, int) and layer.multiscale and len(layer.data) == levels:
        layer._data_level = level  # the new well is drawn at the level the view needs, as the last one was
    layer.refresh()


def can_slice_once(layer: Any) -> bool:
    """Whether :func:`sliced_once` holds napari's slicing back for ``layer`` (for the test that pins it)."""
    return callable(getattr(layer, "_block_refresh", None)) and isinstance(getattr(layer, "_data_level", None), int)
