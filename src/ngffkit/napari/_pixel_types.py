"""What napari can draw: images of booleans, integers and floats; labels of booleans and integers; planes it can
read whole.

Anything else reaches napari as a traceback (complex numbers and dates: ``NotImplementedError`` or a ufunc error
in its thumbnail and contrast code; floating-point labels: "Only integer types are supported for Labels
layers"). A floating-point label image is shown as an image instead (what a segmentation stored as float32 most
often is: integer values in a float type); other layers that napari cannot draw are left out. Either way one
notification names them and says why.

napari draws the coarsest level of a pyramid whole, and a single-level image's whole plane: a level of 2,000,000
x 2,000,000 pixels in 2 x 2 chunks (10^12 chunks, four pixels of which the API reads at once) had napari build a
task graph for all of them -- past 20 s, then out of memory. A layer whose smallest plane is larger than
:data:`MAX_PLANE_PIXELS` (OpenGL's usual largest texture, 16384 x 16384) is left out, with one notification
that says how to look at it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from napari.utils.notifications import show_warning

from ngffkit.layer_data import LayerData

#: numpy kinds napari draws, by layer type: booleans, unsigned and signed integers, floats.
DRAWN = {"image": "biuf", "labels": "biu"}
#: The largest plane napari is given to read whole (the smallest level's; OpenGL's usual texture limit).
MAX_PLANE_PIXELS = 16384 * 16384
#: What a labels layer's keyword arguments mean for an image layer showing the same pixels.
_KEPT_AS_IMAGE = ("name", "scale", "translate", "affine", "axis_labels", "units", "metadata", "multiscale", "visible")


def dtype_of(data: Any) -> np.dtype[Any]:
    first = data[0] if isinstance(data, list) else data
    return np.dtype(first.dtype)


def smallest_plane(data: Any, kwargs: dict[str, Any]) -> tuple[int, int]:
    """The plane napari reads whole to draw the layer: the last two axes (before RGB's) of its smallest level."""
    smallest = data[-1] if isinstance(data, list) else data
    shape = tuple(smallest.shape)[: -1 if kwargs.get("rgb") else None]
    return int(shape[-2]), int(shape[-1])


def _names(kwargs: dict[str, Any]) -> str:
    name = kwargs.get("name")
    return ", ".join(name) if isinstance(name, list) else str(name)


def drawable(layers: list[LayerData]) -> list[LayerData]:
    """``layers`` as napari can draw them (see the module docstring); one notification for what changed."""
    out, said = [], []
    for data, kwargs, kind in layers:
        if kind not in DRAWN:
            out.append((data, kwargs, kind))
            continue
        dtype, (height, width) = dtype_of(data), smallest_plane(data, kwargs)
        if height * width > MAX_PLANE_PIXELS:
            said.append(f"{_names(kwargs)} is {height:,} x {width:,} pixels at its smallest level, too large for "
                        "napari to draw -- left out (give it a pyramid with `ngffkit scale`, or read regions with "
                        "ngffkit.open)")  # fmt: skip
        elif dtype.kind in DRAWN[kind]:
            out.append((data, kwargs, kind))
        elif kind == "labels" and dtype.kind == "f":
            out.append((data, {k: v for k, v in kwargs.items() if k in _KEPT_AS_IMAGE}, "image"))
            said.append(f"{_names(kwargs)} holds labels as {dtype} -- shown as an image (napari's labels are integers)")
        else:
            said.append(f"{_names(kwargs)} holds {dtype} values, which napari cannot show -- left out")
    if said:
        url = next((str((k.get("metadata") or {}).get("ngff_url", "")) for _, k, _ in layers), "")
        show_warning("; ".join(said) + (f" ({url})" if url else ""))
    return out
