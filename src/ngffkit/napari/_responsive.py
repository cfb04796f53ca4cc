"""Remote images that never freeze napari: its drawing reads pixels that are here, and waits for none.

napari 0.9 slices layers on its GUI thread (unless its experimental asynchronous slicing is switched on, a global
setting that ngffkit leaves to the user). Stepping z or t on a remote pyramid blocked the window 100-400 ms a step,
the time of the chunk requests. Here the layer data of a remote image is a :class:`LevelView` per level: it
slices like an array and, when *napari draws it*, answers at once -- with the pixels if they are here, else with
a coarser level of the same plane scaled up (or the level's last picture) while the pixels are fetched in the
background (:mod:`ngffkit.napari._background`); when they arrive the layers showing them are refreshed.

"When napari draws it" is exact: the caller of ``__array__`` is napari's slicing function itself, on the GUI
thread (napari has no public way to say so: :mod:`ngffkit.napari._napari_adapter` knows its functions). Any
other reader -- a script in the console, a plugin, a writer, napari's asynchronous slicing in its own thread --
gets the real pixels, read where it asks, as from the dask array underneath (which every view also hands out:
``to_dask_array()``, and dask's attributes such as ``chunks`` or ``compute``). Should a napari release move that
function, views simply read synchronously again, as before (the adapter's tests fail in CI, naming it).

``NGFFKIT_NAPARI_BACKGROUND`` chooses: ``remote`` (default: http, https, s3, gs), ``all`` (local data too; a
network file system can be as slow) or ``off``.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
import weakref
from typing import Any

import dask.array as da
import numpy as np
from napari.utils.notifications import show_error

import ngffkit
from ngffkit.layer_data import LayerData
from ngffkit.napari._background import Pyramid, Region, compute, full_region, index_of
from ngffkit.napari._napari_adapter import forget_kept_level, napari_draws, open_viewers
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
    """The image and labels layers of ``node`` with views that napari can draw without waiting. A plate's or
    well's overview shows every well: its first picture is blank rather than waited for, and fills up page by
    page as the wells arrive."""
    wait = patience(node)
    if wait is None:
        return layers
    grid = isinstance(node, ngffkit.Plate | ngffkit.Well)
    out = []
    for data, kwargs, kind in layers:
        shown = data
        if kind in ("image", "labels"):
            shown = views(data, kwargs.get("channel_axis"), bool(kwargs.get("rgb")), wait, blank_first=grid,
                          unknown_limits=limits_to_compute(kwargs, kind))  # fmt: skip
        out.append((shown, kwargs, kind))
    log.info("%s: pixels are fetched in the background while napari draws a coarser level (%s=off: wait)",
             node.url, ENV)  # fmt: skip
    return out


def patience(node: ngffkit.Node) -> float | None:
    """How long napari's drawing of ``node`` may wait for pixels; None: it reads them itself (the mode says so)."""
    chosen = mode()
    remote = node.url.lower().startswith(REMOTE)
    if chosen == "off" or (chosen == "remote" and not remote):
        return None
    return 0.0 if remote else LOCAL_WAIT


def overview_views(levels: list[Any], node: ngffkit.Node, channel_axis: int | None = None) -> list[Any]:
    """New overview levels of a plate or well (every field tiled) as views, like those the reader made."""
    wait = patience(node)
    return levels if wait is None else views(levels, channel_axis, wait=wait, blank_first=True)


def warm_up(layers: list[LayerData]) -> list[LayerData]:
    """Fetch what napari draws first of ``layers`` (the centre plane, or a 2D image's coarsest level, which
    napari reads whole) and wait for it: for a worker thread preparing layers, so that their first picture is
    here when napari adds them. A failure is left for the draw to report."""
    for data, kwargs, _ in layers:
        first = (data if isinstance(data, list) else [data])[0]
        if isinstance(first, LevelView):
            pyramid = first.pyramid
            last = len(pyramid.levels) - 1
            displayed = 3 if kwargs.get("rgb") else 2
            if pyramid.levels[last].ndim <= displayed + (pyramid.channel_axis is not None):
                pyramid.fetch(last, full_region(pyramid.shapes[last]))
            pyramid.wait_idle()
    return layers


def limits_to_compute(kwargs: dict[str, Any], kind: str) -> set[int | None]:
    """The channels of an image layer whose contrast limits napari will compute from what it draws first."""
    if kind != "image":
        return set()
    limits = kwargs.get("contrast_limits")
    if kwargs.get("channel_axis") is None:
        return {None} if limits is None else set()
    names = kwargs.get("name")
    count = len(names) if isinstance(names, list) else 1
    given = limits if isinstance(limits, list) else [limits] * count
    return {i for i, limit in enumerate(given) if limit is None}


def views(
    data: Any,
    channel_axis: int | None = None,
    rgb: bool = False,
    wait: float = 0.0,
    *,
    blank_first: bool = False,
    unknown_limits: set[int | None] | None = None,
) -> Any:
    """Layer data (a dask array, or a list of levels) as :class:`LevelView` s sharing one :class:`Pyramid`, whose
    first plane is on its way already."""
    levels = data if isinstance(data, list) else [data]
    if not levels or not all(isinstance(level, da.Array) for level in levels):
        return data
    if levels[0].dtype == np.uint8:
        unknown_limits = None  # napari shows uint8 over its whole range, not the range of its first picture
    pyramid = Pyramid(levels, _refresh_later, channel_axis, blank_first=blank_first,
                      unknown_limits=unknown_limits or ())  # fmt: skip
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

    def channel(self) -> int | None:
        """The channel this view shows, when napari split the pyramid's channels into layers."""
        axis = self.pyramid.channel_axis
        if axis is None:
            return None
        where = self.region[axis]
        return where if isinstance(where, int) else None

    def to_dask_array(self) -> da.Array:
        """The same pixels as a lazy dask array (``da.asarray`` uses this)."""
        return self.pyramid.levels[self.level][index_of(self.region)]

    @property
    def chunks(self) -> tuple[tuple[int, ...], ...]:
        """The dask chunks of the region, worked out without slicing the dask array: napari asks on every draw,
        and a sliced level-0 graph (thousands of tasks each time) kept Python's garbage collector busy -- a full
        collection paused napari for ~200 ms every few dozen steps."""
        level = self.pyramid.levels[self.level]
        return tuple(cut_chunks(level.chunks[axis], *where)
                     for axis, where in enumerate(self.region) if not isinstance(where, int))  # fmt: skip

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
        if napari_draws(inspect.currentframe()):
            pixels = self.pyramid.draw(self.level, self.region, self.pyramid.patience)
        else:
            pixels = compute(self.pyramid.levels[self.level], self.region, self.pyramid.sources[self.level])
        return pixels if dtype is None else pixels.astype(dtype, copy=False)


def cut_chunks(sizes: tuple[int, ...], start: int, stop: int) -> tuple[int, ...]:
    """The chunk sizes along one axis of ``[start, stop)``, as dask gives them for that slice (an empty range: (0,))."""
    out, edge = [], 0
    for size in sizes:
        low, high = max(start, edge), min(stop, edge + size)
        if high > low:
            out.append(high - low)
        edge += size
    return tuple(out) or (0,)


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
        ensure_main_thread(function)()  # type: ignore[no-untyped-call]  # superqt types the wrapper loosely


def _refresh() -> None:
    with _waiting_lock:
        pyramids = set(_waiting)
        _waiting.clear()
    for layer in layers_showing(pyramids):
        forget_kept_level(layer)  # napari kept a stand-in of the level it reads whole: have it read again
        try:
            layer.refresh()  # the pixels that arrived are drawn; a fetch that failed raises here, once
        except ngffkit.NGFFError as exc:
            show_error(f"Could not read {layer.name}: {describe(exc)}")
            continue
        view = _first_view(layer)
        if view is not None and view.pyramid.take_limits_due(view.channel()):
            layer.reset_contrast_limits()  # napari took them from a blank: now from the pixels it shows


def _first_view(layer: Any) -> LevelView | None:
    levels = _levels(layer)
    return levels[0] if levels and isinstance(levels[0], LevelView) else None


def _levels(layer: Any) -> list[Any]:
    """A napari layer's data as a list of levels (one, unless multiscale)."""
    return list(layer.data) if getattr(layer, "multiscale", False) else [layer.data]


def layers_showing(pyramids: set[Pyramid]) -> list[Any]:
    """The napari layers (of every open viewer) whose data are views of ``pyramids``."""
    found = []
    for viewer in open_viewers():
        for layer in viewer.layers:
            if any(getattr(level, "pyramid", None) in pyramids for level in _levels(layer)
                   if isinstance(level, LevelView)):  # fmt: skip
                found.append(layer)
    return found
