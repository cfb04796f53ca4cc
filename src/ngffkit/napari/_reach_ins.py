"""napari internals that the well view touches -- one function, to move into the napari adapter module.

napari has no public way to change several properties of a layer and have it sliced once: every change of
scale, translation or data slices it again (three slices per layer when the plate navigator gives a layer the
next well). ``Layer._block_refresh`` (napari 0.4.19 - 0.9) holds the slicing back; the layer is refreshed once
afterwards. Should a release rename it, the changes are made as before, each slicing the layer
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
    with block():
        yield
    layer.refresh()


def can_slice_once(layer: Any) -> bool:
    """Whether :func:`sliced_once` holds napari's slicing back for ``layer`` (for the test that pins it)."""
    return callable(getattr(layer, "_block_refresh", None))
