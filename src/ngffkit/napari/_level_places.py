"""Where each level of a multiscale layer sits, so that saving keeps a pyramid exactly as it was read.

napari holds one scale and translation per layer (level 0's) and works out the coarser levels from their shapes.
The OME-Zarr a layer was read from says more: each level's own scale and translation, as the tool that made the
pyramid wrote them (ome-zarr-py: 203 -> 101 rows, scale 2.0099, centred). Those are kept, moved along with the
layer if a person changed its scale or translation in napari. A layer made in napari, or whose levels no longer
match what it was read from, leaves the placement to the writer, which works it out from the shapes
(:mod:`ngffkit.writer.given`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import ngffkit
from ngffkit.metadata import parse_attributes
from ngffkit.metadata.multiscales import Multiscale

Placement = tuple[list[float], list[float]]


def source_multiscale(meta: dict[str, Any]) -> Multiscale | None:
    """The multiscale the layer was read from (kept by the reader in its metadata), if any."""
    attributes = (meta.get("metadata") or {}).get("ngff")
    if not isinstance(attributes, dict):
        return None
    try:
        parsed = parse_attributes(attributes)
    except ngffkit.NGFFError:
        return None
    return parsed.multiscales[0] if parsed.multiscales else None


def level_transforms(
    levels: Sequence[Any], meta: dict[str, Any], names: Sequence[str], scale: Sequence[float],
    translation: Sequence[float],
) -> list[Placement] | None:  # fmt: skip
    """Each level's (scale, translation) on the axes ``names``, as the source placed it relative to its level 0,
    applied to the layer's own ``scale`` and ``translation``. None when the layer has one level, or was not read
    from an OME-Zarr with these levels and axes (then the writer places them by their shapes)."""
    source = source_multiscale(meta)
    if len(levels) < 2 or source is None or len(source.datasets) != len(levels):
        return None
    placed = [source.level_scale_translation(k) for k in range(len(levels))]
    if any(p is None for p in placed):
        return None
    source_names = [a.name for a in source.axes]
    base_scale, base_translation = placed[0]  # type: ignore[misc]
    shapes = [np.shape(level) for level in levels]
    out: list[Placement] = []
    for k, (level_scale, level_translation) in enumerate(placed):  # type: ignore[misc]
        scales, translations = [], []
        for axis, name in enumerate(names):
            if name not in source_names:  # an axis the layers were stacked along (channels): it never shrinks
                scales.append(float(scale[axis]))
                translations.append(float(translation[axis]))
                continue
            i = source_names.index(name)
            if base_scale[i] <= 0 or not _plausible(level_scale[i] / base_scale[i], shapes[0][axis], shapes[k][axis]):
                return None  # the levels are not the ones the source describes
            scales.append(float(scale[axis]) * level_scale[i] / base_scale[i])
            offset = (level_translation[i] - base_translation[i]) / base_scale[i]  # in level-0 pixels
            translations.append(float(translation[axis]) + offset * float(scale[axis]))
        out.append((scales, translations))
    return out


def _plausible(ratio: float, base: int, size: int) -> bool:
    """Whether a level ``ratio`` times coarser than level 0 can have ``size`` pixels where level 0 has ``base``."""
    return size > 0 and math.isfinite(ratio) and 0.5 < ratio * size / base < 2.0
