"""The writer contributions: napari layers to OME-Zarr, keeping what makes the view.

Scale, translation, axis labels and units go into the multiscale metadata; name, colour, contrast limits
and visibility into ``omero``; label colours into ``image-label``. Several image layers of one shape become
the channels of one image (the reverse of how ngffkit's reader splits channels), and labels layers saved with
them become its labels. An existing destination is only replaced after the user confirms.
"""

from __future__ import annotations

import os
from typing import Any

import dask.array as da
import numpy as np
from napari.utils.colormaps import ensure_colormap
from napari.utils.notifications import show_error, show_info

import ngffkit
from ngffkit.metadata.axes import CLASSIC_AXIS_TYPES

FullLayerData = tuple[Any, dict[str, Any], str]
_SPATIAL_DEFAULTS = {2: "yx", 3: "zyx", 4: "tzyx", 5: "tczyx"}


def confirm_overwrite(path: str) -> bool:
    """Ask the user whether ``path`` may be replaced (no when there is no GUI to ask in)."""
    from qtpy.QtWidgets import QApplication, QMessageBox

    if QApplication.instance() is None:
        return False
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(
        None, "Replace OME-Zarr?", f"{path} already exists.\nReplace it?", buttons.Yes | buttons.No, buttons.No
    )
    return answer == buttons.Yes


def _may_write(path: str) -> bool | None:
    """None: nothing there; True: there is something and the user said replace; False: keep it."""
    if not os.path.exists(path):
        return None
    return confirm_overwrite(path)


def _axes(meta: dict[str, Any], ndim: int) -> list[dict[str, Any]]:
    labels = [str(a) for a in (meta.get("axis_labels") or ())]
    units = [str(u) for u in (meta.get("units") or ())]
    unnamed = all(a.startswith("axis") or a.lstrip("-").isdigit() for a in labels)  # napari's defaults: -2, -1
    if len(labels) != ndim or unnamed or len(set(labels)) != ndim:
        labels = list(_SPATIAL_DEFAULTS.get(ndim, "yx"))[-ndim:]
    axes = []
    for i, name in enumerate(labels):
        kind = CLASSIC_AXIS_TYPES.get(name.lower())
        axis: dict[str, Any] = {"name": name, "type": kind or "space"}
        unit = units[i] if i < len(units) else None
        if unit and unit not in ("pixel", "dimensionless") and axis["type"] in ("space", "time"):
            axis["unit"] = unit
        axes.append(axis)
    spaces = sum(a["type"] == "space" for a in axes)
    if spaces > 3:  # e.g. four unnamed axes: keep the last three as space
        for a in axes[: spaces - 3]:
            a["type"] = "time" if not any(x["type"] == "time" for x in axes) else "channel"
    return axes


def _color_hex(colormap: Any) -> str | None:
    try:
        cmap = ensure_colormap(colormap if not isinstance(colormap, dict) or "colors" not in colormap else
                               {k: v for k, v in colormap.items() if k in ("colors", "name", "controls", "interpolation")})  # fmt: skip
    except (KeyError, TypeError, ValueError):
        return None
    r, g, b = (float(c) for c in np.asarray(cmap.colors)[-1][:3])
    return f"{round(r * 255):02X}{round(g * 255):02X}{round(b * 255):02X}"


def _channel(meta: dict[str, Any]) -> dict[str, Any]:
    limits = meta.get("contrast_limits")
    return {
        "label": meta.get("name") or "image",
        "color": _color_hex(meta.get("colormap")) or "FFFFFF",
        "window": [float(limits[0]), float(limits[1])] if limits is not None else None,
        "visible": bool(meta.get("visible", True)),
    }


def _levels(data: Any) -> list[Any]:
    return list(data) if isinstance(data, list | tuple) else [data]


def _image_arrays(data: Any, meta: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """An image layer's levels and the channel description; RGB(A) layers become 3 or 4 channels."""
    levels = _levels(data)
    if meta.get("rgb"):
        names = ["red", "green", "blue", "alpha"]
        colors = ["FF0000", "00FF00", "0000FF", "FFFFFF"]
        levels = [da.moveaxis(da.asarray(level), -1, 0) for level in levels]
        count = levels[0].shape[0]
        return levels, {"rgb_channels": [{"label": names[i], "color": colors[i]} for i in range(count)]}
    return levels, _channel(meta)


def _write_images(path: str, images: list[tuple[Any, dict[str, Any]]], overwrite: bool) -> ngffkit.Image:
    first_levels, first_channel = _image_arrays(*images[0])
    meta = images[0][1]
    if "rgb_channels" in first_channel:
        levels, channels, stacked = first_levels, first_channel["rgb_channels"], True
    elif len(images) == 1:
        levels, channels, stacked = first_levels, [first_channel], False
    else:
        shapes = {tuple(np.shape(_levels(d)[0])) for d, _ in images}
        if len(shapes) != 1:
            raise ngffkit.InvalidArgument(f"image layers saved together must have one shape, got {sorted(shapes)}")
        depth = min(len(_levels(d)) for d, _ in images)
        levels = [da.stack([da.asarray(_levels(d)[k]) for d, _ in images]) for k in range(depth)]
        channels, stacked = [_channel(m) for _, m in images], True
    spatial_ndim = np.ndim(first_levels[0]) - (1 if stacked else 0)
    axes = _axes(meta, spatial_ndim)
    scale = [float(s) for s in meta.get("scale", [1.0] * spatial_ndim)][-spatial_ndim:]
    translate = [float(t) for t in meta.get("translate", [0.0] * spatial_ndim)][-spatial_ndim:]
    if stacked:
        axes = [{"name": "c", "type": "channel"}, *axes]
        scale, translate = [1.0, *scale], [0.0, *translate]
    data: Any = levels if len(levels) > 1 else levels[0]
    return ngffkit.write_image(
        data, path, axes=axes, scale=scale, translation=translate, channels=channels,
        name=meta.get("name"), overwrite=overwrite, method="mean",
    )  # fmt: skip


def _label_colors(meta: dict[str, Any]) -> dict[int, tuple[int, int, int, int]] | None:
    colormap = meta.get("colormap")
    mapping = getattr(colormap, "color_dict", None)
    if not mapping:
        return None
    out = {}
    for value, color in mapping.items():
        if value is None or value == 0:
            continue
        rgba = np.asarray(color, dtype=float).ravel()
        r, g, b, a = (round(float(c) * 255) for c in rgba[:4])
        out[int(value)] = (r, g, b, a)
    return out or None


def _write_labels(image_path: str, data: Any, meta: dict[str, Any]) -> None:
    ngffkit.write_labels(
        _levels(data)[0], image_path, meta.get("name") or "labels", colors=_label_colors(meta) or "auto"
    )


def _guarded(path: str, work: Any) -> list[str]:
    """Run a write with overwrite confirmation; errors become a notification, and nothing is claimed."""
    decision = _may_write(path)
    if decision is False:
        show_error(f"Not saved: {path} already exists (replace it to save there).")
        return []
    try:
        work(bool(decision))
    except ngffkit.NGFFError as exc:
        show_error(f"Not saved: {exc}")
        return []
    show_info(f"Saved OME-Zarr {path}")
    return [path]


def write_image_layer(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """One image layer to an OME-Zarr image (also a zipped .ozx)."""
    return _guarded(path, lambda overwrite: _write_images(path, [(data, meta)], overwrite))


def write_labels_layer(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """One labels layer: added to the image at ``path`` if there is one, else saved as a label image."""
    try:
        existing = ngffkit.open(path) if os.path.exists(path) else None
    except ngffkit.NGFFError:
        existing = None
    if isinstance(existing, ngffkit.Image) and not existing.is_label:
        try:
            _write_labels(path, data, meta)
        except ngffkit.NGFFError as exc:
            show_error(f"Not saved: {exc}")
            return []
        return [path]

    def work(overwrite: bool) -> None:
        levels = _levels(data)
        ndim = np.ndim(levels[0])
        ngffkit.write_image(levels[0], path, axes=_axes(meta, ndim), scale=list(meta.get("scale", [1.0] * ndim))[-ndim:],
                            translation=list(meta.get("translate", [0.0] * ndim))[-ndim:], method="mode",
                            name=meta.get("name"), overwrite=overwrite)  # fmt: skip
        ngffkit.write_labels(levels[0], path, meta.get("name") or "labels", colors=_label_colors(meta) or "auto")

    return _guarded(path, work)


def write_layers(path: str, layer_data: list[FullLayerData]) -> list[str]:
    """Image layers (as channels of one image) together with labels layers (as its labels)."""
    images = [(d, m) for d, m, kind in layer_data if kind == "image"]
    labels = [(d, m) for d, m, kind in layer_data if kind == "labels"]

    def work(overwrite: bool) -> None:
        _write_images(path, images, overwrite)
        for data, meta in labels:
            _write_labels(path, data, meta)

    return _guarded(path, work)
