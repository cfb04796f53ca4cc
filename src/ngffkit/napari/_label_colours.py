"""Label values without a colour of their own get napari's colours, not a grey.

A label image lists colours for the values it held when it was saved (ngffkit's writer: the values of its
smallest level). Every other value -- one too small to survive at that level, or a label painted after opening --
was drawn in one grey, so that newly painted cells could not be told apart. Here they get the colour napari's
own cycling colormap gives them (the one a new Labels layer has), so a layer saved and reopened looks as it did
and paints as it did. napari's direct colormaps take one colour for unlisted values, not a rule: the cycling
colours are written out for the values up to :data:`LOW` and the :data:`SPAN` values above the highest listed
one (napari's "new label" is that value plus one) -- a few hundred entries, however large the values; beyond
them, the grey stays.
"""

from __future__ import annotations

import contextlib
from functools import cache
from typing import Any

import numpy as np
from napari.utils.colormaps import label_colormap

import ngffkit

#: Values from 1 to this one, and this many above the highest listed one, get napari's cycling colours (napari
#: checks every entry of a colormap it is given: 4000 entries cost 0.2 s, 500 about 25 ms).
LOW = 255
SPAN = 256


@cache
def _cycling() -> Any:
    """napari's default labels colormap (what ``Labels`` uses: 49 colours, seed 0.5, background 0)."""
    return label_colormap(49, 0.5, background_value=0)


def plate_label_colours(plate: Any, name: str, field: int, own: dict[str, Any], dtype: Any) -> dict[str, Any]:
    """The label colours a well's label image ``name`` is shown with in the plate navigator: those declared by
    every well whose label image has been opened (the overview opens them as it draws), with the well's own
    (``own``: its label image's attributes, as the reader keeps them in the layer's metadata) on top -- so that
    consecutive wells share one colormap, which napari builds a texture for once (a new colormap for every well
    cost 0.1-0.4 s a switch on 16-bit labels)."""
    from ngffkit.layer_data import label_colormap
    from ngffkit.metadata import parse_attributes

    declared: dict[Any, Any] = {}
    described: list[Any] = []
    found = [label.image_label for label in plate.opened_labels(name, field)]
    with contextlib.suppress(ngffkit.NGFFError):  # unreadable attributes: the colours of the other wells
        found.append(parse_attributes(own).image_label)
    for image_label in found:
        if image_label is not None:
            declared.update(image_label.color_map())
            described += image_label.properties
    return with_napari_colours(label_colormap(declared, described), dtype)


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
