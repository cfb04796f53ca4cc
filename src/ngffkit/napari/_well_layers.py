"""The layers of the well on show, reused from one well to the next.

Switching wells froze napari for 1.8-2.1 s (4 s on a busy machine): removing the previous well's three layers cost
a full garbage collection each in napari's canvas (0.6 s apiece), and adding three new ones built their Qt
controls and vispy visuals again (0.5-1 s). The layers of consecutive wells are alike -- the same channels, the
same labels -- so they are kept and given the next well's pixels, scale, translation, name and metadata instead;
what a person set on them (visibility, contrast, colours, blending, opacity) stays, so that wells are compared
alike. Only when the next well's layers do not fit (another number of channels or dimensions) are they replaced.

Giving a layer the next well costs napari 30-60 ms on its GUI thread (the viewer's dimensions recomputed at each
change of place and data, the layer sliced and its thumbnail drawn), 100-200 ms for the three layers of a well --
longer than the event loop should stop. The dimensions are recomputed once a layer (:func:`dims_updated_once`),
its visual moved once (:func:`sliced_once`), and the coarsest level napari reads for the thumbnail is read in the
navigator's worker (:func:`coarsest_read`): 12-15 ms of CPU a layer are left (napari 0.9.2, 2 cores: the slice's
dask read of the view's level, the dimensions, the visual's transform and texture, the thumbnail). :func:`show_steps` therefore hands the work out one layer a step, and the
plate navigator runs each step on its own turn of the event loop (napari draws and answers between them).

napari splits an image with ``channel_axis`` into one layer per channel when it adds it; here that split is made
first (:func:`one_layer_each`), with napari's own defaults for the channels' blending, so that every layer of a
well can be matched to the layer that shows it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import dask.array as da
import numpy as np
from napari.layers import Layer

from ngffkit.layer_data import LayerData
from ngffkit.napari._dask_pixels import computed
from ngffkit.napari._napari_adapter import dims_updated_once, sliced_once

#: What a channel of a split image shares with the others (per-channel values are lists, one per channel).
_PER_CHANNEL = ("name", "colormap", "contrast_limits", "visible", "blending", "opacity")


def _pick(value: Any, channel: int) -> Any:
    return value[channel] if isinstance(value, list) else value


def one_layer_each(layers: Sequence[LayerData]) -> list[LayerData]:
    """``layers`` with every image that napari would split by ``channel_axis`` split into one layer per channel
    (the first channel drawn over what is below, the others added, as napari does)."""
    out: list[LayerData] = []
    for data, kwargs, kind in layers:
        axis = kwargs.get("channel_axis")
        if axis is None:
            out.append((data, kwargs, kind))
            continue
        levels = data if isinstance(data, list) else [data]
        count = levels[0].shape[axis]
        shared = {k: v for k, v in kwargs.items() if k != "channel_axis" and k not in _PER_CHANNEL}
        for c in range(count):
            cut = [level[(slice(None),) * axis + (c,)] for level in levels]
            own = {k: _pick(kwargs[k], c) for k in _PER_CHANNEL if k in kwargs}
            own.setdefault("blending", "translucent_no_depth" if c == 0 else "additive")
            out.append((cut if isinstance(data, list) else cut[0], {**shared, **own}, kind))
    return out


#: The largest coarsest level read ahead by :func:`coarsest_read` (napari reads that level whole anyway).
COARSEST_READ_BYTES = 1 << 22


def coarsest_read(layers: Sequence[LayerData]) -> list[LayerData]:
    """``layers`` with the coarsest level of each 2D pyramid read into memory (up to :data:`COARSEST_READ_BYTES`):
    napari reads that level whole on its GUI thread whenever a 2D pyramid's data is replaced (for the thumbnail)
    -- a dask computation of 3-8 ms per layer there, here in the navigator's worker thread instead. Levels that
    are not dask arrays (a remote image's views, which fetch it themselves) are left as they are."""
    out: list[LayerData] = []
    for data, kwargs, kind in layers:
        last = data[-1] if isinstance(data, list) and len(data) > 1 else None
        displayed = 3 if kwargs.get("rgb") else 2
        read = isinstance(last, da.Array) and last.ndim == displayed and last.nbytes <= COARSEST_READ_BYTES
        out.append(([*data[:-1], computed(last)] if read else data, kwargs, kind))
    return out


def fits(layer: Layer, data: Any, kwargs: dict[str, Any], kind: str) -> bool:
    """Whether ``layer`` can show ``data`` by being given it: the same kind, dimensions and multiscale-ness."""
    first = data[0] if isinstance(data, list) else data
    return (
        type(layer).__name__.lower() == kind
        and layer.ndim == np.ndim(first)
        and bool(layer.multiscale) == isinstance(data, list)
        and bool(getattr(layer, "rgb", False)) == bool(kwargs.get("rgb", False))
    )


def reuse(viewer: Any, layer: Layer, data: Any, kwargs: dict[str, Any]) -> None:
    """Give ``layer`` the next well's pixels and place (see the module docstring), slicing it once and having
    ``viewer`` recompute its dimensions once: napari does both at every change of a layer's scale, translation
    or data (:func:`sliced_once`, :func:`dims_updated_once`). Only what differs is set -- the wells of a plate
    share their scale, and a label colormap costs 0.1-0.4 s to build."""
    shown_colours = layer.metadata.get(_SHOWN)
    colormap = kwargs.get("colormap")
    labels = type(layer).__name__ == "Labels" and colormap is not None
    with sliced_once(layer), dims_updated_once(viewer, layer):  # the dimensions first, then the slice
        for key in ("scale", "translate"):
            if key in kwargs and not np.allclose(getattr(layer, key), np.asarray(kwargs[key], dtype=float)):
                setattr(layer, key, kwargs[key])
        layer.name, layer.metadata = kwargs.get("name", layer.name), kwargs.get("metadata", layer.metadata)
        if labels and not _same_colours(colormap, shown_colours, layer.colormap):
            layer.colormap = colormap
        layer.data = data
    if labels:
        layer.metadata = {**layer.metadata, _SHOWN: colormap if isinstance(colormap, dict) else None}


def _same_colours(wanted: Any, shown_dict: Any, shown: Any) -> bool:
    """Whether a labels layer shows the label colours ``wanted`` (a dict, or napari's colormap object) already."""
    return wanted is shown if not isinstance(wanted, dict) else wanted == shown_dict


#: Metadata key of a labels layer: the label colours it was last given (napari's colormap object cannot be
#: compared with the dict cheaply).
_SHOWN = "ngffkit_label_colours"


def show_steps(viewer: Any, layers: Sequence[LayerData], previous: Sequence[Layer]) -> list[Callable[[], None]]:
    """The work of showing ``layers`` (already placed), in steps to run one after the other on separate turns of
    the event loop: one step per layer of ``previous`` when every one fits (each is given its layer of the next
    well), else one step per layer removed and one per layer added (the first well shown after a plate opens adds
    its layers: napari builds each one's controls and visual, 150-300 ms apiece -- all of them in one step stopped
    the window for 0.45-1 s)."""
    wanted = one_layer_each(layers)
    if len(previous) == len(wanted) and all(fits(lay, *w) for lay, w in zip(previous, wanted, strict=True)):
        return [
            functools.partial(reuse, viewer, layer, data, kwargs)
            for layer, (data, kwargs, _) in zip(previous, wanted, strict=True)
        ]
    removals = [functools.partial(_remove, viewer, layer) for layer in previous]
    return [*removals, *(functools.partial(_add, viewer, *layer) for layer in wanted)]


def _remove(viewer: Any, layer: Layer) -> None:
    if layer in viewer.layers:
        viewer.layers.remove(layer)


def _add(viewer: Any, data: Any, kwargs: dict[str, Any], kind: str) -> None:
    layer = getattr(viewer, f"add_{kind}")(data, **kwargs)
    if kind == "labels" and isinstance(kwargs.get("colormap"), dict):
        layer.metadata = {**layer.metadata, _SHOWN: kwargs["colormap"]}
