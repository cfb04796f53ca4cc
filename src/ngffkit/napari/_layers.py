"""ngffkit layer data, fitted to the napari that is installed -- and to what napari accepts.

Metadata is strangers' text: a unit napari cannot parse ("arbitrary unit", a name with an escape character) or
label colours for values that are not integers make napari refuse the whole layer. Such values are dropped here,
each with a notification naming the dataset, and the pixels are shown anyway.

Pixels, too, can be what napari cannot draw: complex numbers, dates, durations and strings end in a traceback
from its thumbnail or contrast code, and floating-point "labels" in a TypeError. Such a layer is left out (or a
floating-point label image shown as an image), and one notification says so.
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

import numpy as np
import pint
from napari.layers import Image, Labels, Shapes
from napari.utils.notifications import show_warning

import ngffkit
from ngffkit.layer_data import LayerData
from ngffkit.napari._label_colours import with_napari_colours
from ngffkit.napari._pixel_types import drawable
from ngffkit.napari._responsive import responsive


@cache
def _accepted(kind: str) -> frozenset[str]:
    cls = {"image": Image, "labels": Labels, "shapes": Shapes}[kind]
    return frozenset(inspect.signature(cls.__init__).parameters)


def _unit_ok(unit: object) -> bool:
    if not isinstance(unit, str) or not unit.isprintable():
        return False
    try:
        pint.get_application_registry().parse_expression(unit)
    except Exception:  # pint raises its own errors, and others (tokenize, syntax) for arbitrary text
        return False
    return True


def _colormap_ok(colormap: Any, dtype: Any) -> tuple[Any, list[Any]]:
    """A label colormap with only the keys napari takes: None, and integers the data type can hold."""
    if not isinstance(colormap, dict):
        return colormap, []
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    kept, dropped = {}, []
    for key, value in colormap.items():
        integral = isinstance(key, int | np.integer) and not isinstance(key, bool)
        if key is None or (integral and (info is None or info.min <= key <= info.max)):
            kept[key] = value
        else:
            dropped.append(key)
    return kept, dropped


def _sanitise(kwargs: dict[str, Any], data: Any, url: str) -> dict[str, Any]:
    units = kwargs.get("units")
    if units is not None and not all(_unit_ok(u) for u in units):
        bad = ", ".join(repr(u) for u in units if not _unit_ok(u))
        show_warning(f"Units {bad} are not units napari knows; showing pixels without units. ({url})")
        kwargs = {k: v for k, v in kwargs.items() if k != "units"}
    if "colormap" in kwargs and isinstance(kwargs["colormap"], dict):
        levels = data if isinstance(data, list) else [data]
        colormap, dropped = _colormap_ok(kwargs["colormap"], getattr(levels[0], "dtype", np.int64))
        if dropped:
            shown = ", ".join(repr(d) for d in dropped[:5])
            show_warning(f"Label colours for values napari cannot use ({shown}) were left out. ({url})")
        kwargs = {**kwargs, "colormap": with_napari_colours(colormap, getattr(levels[0], "dtype", np.int64))}
    return kwargs


def fit(layers: list[LayerData]) -> list[LayerData]:
    """Drop keyword arguments an older napari does not know (axis_labels and units arrived in 0.6), and values
    napari would refuse (see the module docstring)."""
    out = []
    for data, kwargs, kind in drawable(layers):
        accepted = _accepted(kind) | {"channel_axis"}
        kept = {k: v for k, v in kwargs.items() if k in accepted}
        url = str((kwargs.get("metadata") or {}).get("ngff_url", ""))
        out.append((data, _sanitise(kept, data, url), kind))
    return out


def node_layers(node: ngffkit.Node) -> list[LayerData]:
    """The layers of ``node``, fitted to napari; a remote image's pixels are drawn without waiting (_responsive)."""
    return responsive(fit(ngffkit.layers(node)), node)


def layer_data_for(path: str, **options: Any) -> list[LayerData]:
    return node_layers(ngffkit.open(path, **options))
