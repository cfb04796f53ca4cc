"""Remote images that never freeze napari: its drawing reads pixels that are here, and waits for none.

napari 0.9 slices layers on its GUI thread (unless its experimental asynchronous slicing is switched on, a global
setting that ngffkit leaves to the user). Stepping z or t on a remote pyramid blocked the window 100-400 ms a step,
the time of the chunk requests. Here the layer data of a remote image is a :class:`LevelView` per level: it
slices like an array and, when *napari draws it*, answers at once -- with the pixels if they are here, else with
a coarser level of the same plane scaled up (or the level's last picture) while the pixels are fetched in the
background (:mod:`ngffkit.napari._background`); when they arrive the layers showing them are refreshed.

"When napari draws it" is exact: the caller of ``__array__`` is napari's slicing function itself, on the GUI
thread. Any other reader -- a script in the console, a plugin, a writer, napari's asynchronous slicing in its
own thread -- gets the real pixels, read where it asks, as from the dask array underneath (which every view also
hands out: ``to_dask_array()``, and dask's attributes such as ``chunks`` or ``compute``). Should a napari
release rename that function, views simply read synchronously again, as before.

``NGFFKIT_NAPARI_BACKGROUND`` chooses: ``remote`` (default: http, https, s3, gs), ``all`` (local data too; a
network file system can be as slow) or ``off``.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
import weakref
from collections.abc import Sequence
from types import CodeType
from typing import Any

import dask.array as da
import numpy as np
from napari.utils.notifications import show_error

import ngffkit
from ngffkit.layers import LayerData
from ngffkit.napari._background import Pyramid, Region, compute, full_region, index_of
from ngffkit.napari._notify import describe

ENV = "NGFFKIT_NAPARI_BACKGROUND"
#: URLs whose reads cross a network: napari's reader accepts them unseen, and their pixels are fetched off its thread.
REMOTE = ("http://", "https://", "s3://", "gs://")
#: How long napari's drawing may wait for local pixels before a stand-in is drawn (a remote read always takes
#: longer, so there it waits not at all): a plane that is read this fast is shown at once, without a stand-in.
LOCAL_WAIT = 0.005
log = logging.getLogger("ngffkit.napari")


def mode() -> str:
    value = os.environ.get(ENV, "remote").strip().lower()
    return value if value in ("remote", "all", "off") else "remote"


def responsive(layers: list[LayerData], node: ngffkit.Node) -> list[LayerData]:
    """The image and labels layers of ``node`` with views that napari can draw without waiting (plates and wells,
    whose layers the plate navigator manages, stay as they are)."""
    chosen = mode()
    remote = node.url.lower().startswith(REMOTE)
    if chosen == "off" or (chosen == "remote" and not remote) or isinstance(node, ngffkit.Plate | ngffkit.Well):
        return layers
    wait = 0.0 if remote else LOCAL_WAIT
    out = [(views(data, kwargs.get("channel_axis"), bool(kwargs.get("rgb")), wait), kwargs, kind)
           if kind in ("image", "labels") else (data, kwargs, kind) for data, kwargs, kind in layers]  # fmt: skip
    log.info("%s: pixels are fetched in the background while napari draws a coarser level (%s=off: wait)",
             node.url, ENV)  # fmt: skip
    return out


def views(data: Any, channel_axis: int | None = None, rgb: bool = False, wait: float = 0.0) -> Any:
    """Layer data (a dask array, or a list of levels) as :class:`LevelView` s sharing one :class:`Pyramid`, whose
    first plane is on its way already."""
    levels = data if isinstance(data, list) else [data]
    if not levels or not all(isinstance(level, da.Array) for level in levels):
        return data
    pyramid = Pyramid(levels, _refresh_later, channel_axis)
    pyramid.patience = wait
    ndim = levels[0].ndim
    displayed = range(ndim - (3 if rgb else 2), ndim)
    if ndim > len(displayed) + (channel_axis is not None):
        pyramid.prefetch_centre(displayed)
    out = [LevelView(pyramid, k, full_region(level.shape)) for k, level in enumerate(levels)]
    return out if isinstance(data, list) else out[0]


class LevelView:
    """A region of one level, sliced without reading (basic indexing: integers and step-1 slices; anything else
    is handed to dask). Reading it is ``np.asarray(view)``."""

    def __init__(self, pyramid: Pyramid, level: int, region: Region) -> None:
        self.pyramid = pyramid
        self.level = level
        self.region = region
        self.dtype = pyramid.levels[level].dtype
        self.shape = tuple(r[1] - r[0] for r in region if not isinstance(r, int))
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"<LevelView level {self.level} {self.shape} {self.dtype}>"

    def to_dask_array(self) -> da.Array:
        """The same pixels as a lazy dask array (``da.asarray`` uses this)."""
        return self.pyramid.levels[self.level][index_of(self.region)]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("pyramid", "level", "region"):
            raise AttributeError(name)
        return getattr(self.to_dask_array(), name)  # chunks, compute, map_blocks, ...: dask's

    def __getitem__(self, index: Any) -> Any:
        region = sliced(self.region, index)
        if region is None:
            return self.to_dask_array()[index]
        return LevelView(self.pyramid, self.level, region)

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError("a remote image is read-only here: save a copy of the layer to change its pixels")

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if _napari_draws(sys._getframe(1).f_code):
            pixels = self.pyramid.draw(self.level, self.region, self.pyramid.patience)
        else:
            pixels = compute(self.pyramid.levels[self.level], self.region, self.pyramid.sources[self.level])
        return pixels if dtype is None else pixels.astype(dtype, copy=False)


def sliced(region: Region, index: Any) -> Region | None:
    """``region`` indexed by ``index`` (applied to its ranges, in order); None for what is not basic indexing."""
    items = list(index) if isinstance(index, tuple) else [index]
    free = [i for i, r in enumerate(region) if not isinstance(r, int)]
    if sum(item is Ellipsis for item in items) > 1:
        return None
    if Ellipsis in items:
        at = next(i for i, item in enumerate(items) if item is Ellipsis)
        items[at : at + 1] = [slice(None)] * (len(free) - len(items) + 1)
    if len(items) > len(free):
        raise IndexError(f"too many indices: {len(items)} for {len(free)} dimensions")
    out = list(region)
    for axis, item in zip(free, items, strict=False):
        start, stop = region[axis]  # type: ignore[misc]
        if isinstance(item, int | np.integer) and not isinstance(item, bool):
            position = int(item) + (stop - start if item < 0 else 0)
            if not 0 <= position < stop - start:
                raise IndexError(f"index {int(item)} is out of bounds for size {stop - start}")
            out[axis] = start + position
        elif isinstance(item, slice):
            first, last, step = item.indices(stop - start)
            if step != 1:
                return None
            out[axis] = (start + first, start + max(first, last))
        else:
            return None
    return tuple(out)


@functools.cache
def _draw_code() -> CodeType | None:
    """The code of the napari function that turns a slice of layer data into the pixels it draws."""
    try:
        from napari.layers._scalar_field._slice import _ScalarFieldSliceRequest

        return _ScalarFieldSliceRequest._project_thick_slice.__code__
    except (ImportError, AttributeError):  # another napari: draw as before, synchronously
        return None


def _napari_draws(caller: CodeType) -> bool:
    return caller is _draw_code() and threading.current_thread() is threading.main_thread()


_waiting: weakref.WeakSet[Pyramid] = weakref.WeakSet()
_waiting_lock = threading.Lock()


def _refresh_later(pyramid: Pyramid) -> None:
    """From a fetching thread: have the layers that show ``pyramid`` drawn again, on napari's thread, once."""
    with _waiting_lock:
        first = not _waiting
        _waiting.add(pyramid)
    if first:
        _on_main_thread(_refresh)


def _on_main_thread(function: Any) -> None:
    try:
        from qtpy.QtCore import QCoreApplication
        from superqt.utils import ensure_main_thread
    except ImportError:  # no Qt: nothing is drawn, nothing to refresh
        return
    if QCoreApplication.instance() is not None:
        ensure_main_thread(function)()


def _refresh() -> None:
    with _waiting_lock:
        pyramids = set(_waiting)
        _waiting.clear()
    for layer in layers_showing(pyramids):
        try:
            layer.refresh()  # the pixels that arrived are drawn; a fetch that failed raises here, once
        except ngffkit.NGFFError as exc:
            show_error(f"Could not read {layer.name}: {describe(exc)}")


def layers_showing(pyramids: set[Pyramid]) -> list[Any]:
    """The napari layers (of every open viewer) whose data are views of ``pyramids``."""
    from napari import Viewer, current_viewer

    viewers = list(getattr(Viewer, "_instances", ())) or [v for v in [current_viewer()] if v is not None]
    found = []
    for viewer in viewers:
        for layer in viewer.layers:
            levels: Sequence[Any] = list(layer.data) if getattr(layer, "multiscale", False) else [layer.data]
            if any(getattr(level, "pyramid", None) in pyramids for level in levels if isinstance(level, LevelView)):
                found.append(layer)
    return found
