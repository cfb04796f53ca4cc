"""Several images in one view: side by side, or one at a time -- never stacked on top of each other.

A bioformats2raw container holds several series (an overview and its details, the positions of a scan); a
0.6rc0 scene can hold images that share no coordinate system. Shown as they are, they all sit at the origin,
each hiding the others. :func:`arrange` gives each image an offset along x so that they stand side by side in
the order given, their tops aligned, a small gap apart (``"side by side"``); or keeps them in place and shows
the first only, the others a click away in napari's layer list (``"one at a time"``). It works on the layers'
keyword arguments (plain values), so any room that makes layer data can use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Mode = Literal["side by side", "one at a time"]
#: The gap between images standing side by side, as a fraction of the widest.
GAP = 0.05


@dataclass(frozen=True)
class Box:
    """Where an image lies on the y and x axes of the world: its top, left, height and width."""

    top: float
    left: float
    height: float
    width: float


def box_of(shape: Sequence[int], kwargs: dict[str, Any]) -> Box:
    """The y/x box of an image of ``shape`` (level 0, last two axes) placed by its layer's ``scale`` and
    ``translate`` (or ``affine``: its diagonal and last column)."""
    if "affine" in kwargs:
        matrix = np.asarray(kwargs["affine"], dtype=float)
        scale, translate = np.diag(matrix)[:-1], matrix[:-1, -1]
    else:
        n = len(shape)
        scale = np.asarray(kwargs.get("scale") or [1.0] * n, dtype=float)
        translate = np.asarray(kwargs.get("translate") or [0.0] * n, dtype=float)
    (sy, sx), (ty, tx) = scale[-2:], translate[-2:]
    return Box(float(ty), float(tx), float(shape[-2] * sy), float(shape[-1] * sx))


def arrange(boxes: Sequence[Box], mode: Mode = "side by side") -> list[tuple[tuple[float, float], bool]]:
    """For each image: the (y, x) offset to add to its place, and whether it is shown."""
    if mode == "one at a time":
        return [((0.0, 0.0), i == 0) for i in range(len(boxes))]
    gap = GAP * max((b.width for b in boxes), default=0.0)
    top = min((b.top for b in boxes), default=0.0)
    out, cursor = [], min((b.left for b in boxes), default=0.0)
    for box in boxes:
        out.append(((top - box.top, cursor - box.left), True))
        cursor += box.width + gap
    return out


def moved(kwargs: dict[str, Any], offset: tuple[float, float], visible: bool = True) -> dict[str, Any]:
    """A layer's keyword arguments with its place moved by ``offset`` (y, x) and shown or not."""
    out = dict(kwargs)
    dy, dx = offset
    if "affine" in out:
        matrix = np.asarray(out["affine"], dtype=float).copy()
        matrix[-3, -1] += dy
        matrix[-2, -1] += dx
        out["affine"] = matrix  # an array: see layers/__init__.py, _placement
    else:
        translate = list(out.get("translate") or [0.0] * len(out.get("scale") or (0, 0)))
        translate[-2:] = [translate[-2] + dy, translate[-1] + dx]
        out["translate"] = translate
    if not visible:
        shown = out.get("visible", True)
        out["visible"] = [False] * len(shown) if isinstance(shown, list) else False
    return out
