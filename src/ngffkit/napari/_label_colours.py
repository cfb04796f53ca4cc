"""Label values without a colour of their own get napari's colours, not a grey.

A label image lists colours for the values it held when it was saved (ngffkit's writer: the values of its
smallest level). Every other value -- one too small to survive at that level, or a label painted after opening --
was drawn in one grey, so that newly painted cells could not be told apart. Here they get the colour napari's
own cycling colormap gives them (the one a new Labels layer has), so a layer saved and reopened looks as it did
and paints as it did. napari's direct colormaps take one colour for unlisted values, not a rule: the cycling
colours are written out for the values up to :data:`LOW` and the :data:`SPAN` values above the highest listed
one (napari's "new label" is that value plus one) -- a few thousand entries, however large the values; beyond
them, the grey stays.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
from napari.utils.colormaps import label_colormap

#: Values from 1 to this one, and this many above the highest listed one, get napari's cycling colours.
LOW = 4096
SPAN = 1024


@cache
def _cycling() -> Any:
    """napari's default labels colormap (what ``Labels`` uses: 49 colours, seed 0.5, background 0)."""
    return label_colormap(49, 0.5, background_value=0)


def with_napari_colours(colormap: dict[Any, Any], dtype: Any) -> dict[Any, Any]:
    """``colormap`` with napari's cycling colours for the values it gives no colour: 1 .. :data:`LOW`, and the
    :data:`SPAN` values above the highest listed one (never beyond what the data type holds)."""
    if not np.issubdtype(np.dtype(dtype), np.integer):
        return colormap
    listed = [int(k) for k in colormap if isinstance(k, int | np.integer) and not isinstance(k, bool)]
    highest, top = max(listed, default=0), int(np.iinfo(dtype).max)
    wanted = {*range(1, min(LOW, top) + 1), *range(highest + 1, min(highest + SPAN, top) + 1)}
    values = np.array(sorted(v for v in wanted if v not in colormap), dtype=np.int64)
    if not values.size:
        return colormap
    colours = np.asarray(_cycling().map(values), dtype=float)
    return {**{int(v): [float(x) for x in c] for v, c in zip(values, colours, strict=True)}, **colormap}
