"""What a napari layer shows, as JSON: the same description for napari-ome-zarr's layers (in its environment) and
ngffkit's (in ngffkit's), so that a test compares like with like. Imports napari only through the layers given."""

from __future__ import annotations

from typing import Any

from . import save


def describe(layer: Any, out: str | None = None, index: int = 0) -> dict[str, Any]:
    """Kind, name, levels' shapes, data type, scale, translate, axis labels, units, colormap, contrast limits,
    visibility, blending and opacity of ``layer``; with ``out``, its first level saved there as ``.npy``."""
    kind = type(layer).__name__.lower()
    found: dict[str, Any] = {"kind": kind, "name": layer.name, "visible": bool(layer.visible),
                             "blending": str(layer.blending), "opacity": float(layer.opacity)}  # fmt: skip
    if kind == "shapes":  # ngffkit's plate outlines: no pixels
        return {**found, "shapes": len(layer.data)}
    levels = list(layer.data) if getattr(layer, "multiscale", False) else [layer.data]
    found |= {
        "multiscale": bool(getattr(layer, "multiscale", False)),
        "shapes": [list(level.shape) for level in levels],
        "dtype": str(levels[0].dtype),
        "scale": [float(s) for s in layer.scale],
        "translate": [float(t) for t in layer.translate],
        "axis_labels": [str(a) for a in getattr(layer, "axis_labels", ())],
        "units": [str(u) for u in getattr(layer, "units", ())],
    }
    colormap = layer.colormap
    if kind == "image":
        found |= {"colormap": colormap.name, "contrast_limits": [float(c) for c in layer.contrast_limits],
                  "rgb": bool(layer.rgb)}  # fmt: skip
    elif kind == "labels":
        colors = getattr(colormap, "color_dict", None)  # a DirectLabelColormap: the colour of each label value
        found["colormap"] = type(colormap).__name__
        found["colors"] = None if colors is None else {
            str(value): [round(float(c), 4) for c in rgba] for value, rgba in colors.items() if value  # not 0, None
        }  # fmt: skip
    if out is not None:
        found["pixels"] = save(levels[0], out, f"layer{index}")
    return found
