"""What ngffkit needs of napari beyond the public API that every supported release shares -- the one module that
reaches into napari's internals, and the one place that knows how releases differ.

napari has no public way to tell its own drawing from other reads of a layer's data, to have a layer read again
what it keeps, or to list every open viewer. These reach-ins are confined here, each pinned by
``tests/napari/test_napari_adapter.py`` against the installed napari (the test names what moved):

* :data:`DRAWING_FUNCTIONS`: the functions through which napari turns layer data into the pixels it draws -- the
  slice request's ``_project_thick_slice`` and the cached reader of a 2D pyramid's coarsest level (both in every
  supported release, napari 0.8 and later). A remote image's views answer these at once with what is here
  (:mod:`ngffkit.napari._responsive`); should a release move them, views read synchronously again (slower, never
  wrong) and a warning says so once.
* :func:`forget_kept_level`: napari keeps that coarsest level (``layer._level_materializer``, an ``lru_cache``)
  until the layer's data is replaced.
* :func:`open_viewers`: ``napari.Viewer._instances``.
* :func:`sliced_once`: napari has no public way to change several properties of a layer and have it sliced once --
  every change of scale, translation or data slices it again, and new data of a multiscale layer is first sliced at
  its coarsest level, then again at the level the view needs (three slices per layer when the plate navigator gives
  a layer the next well). ``Layer._block_refresh`` holds the slicing back, and the level the layer was drawn at
  (``_data_level``) is kept for new data of as many levels. Should a release rename either, the changes are made
  as before, each slicing the layer (``tests/napari/test_plate_navigator.py`` fails loudly when that happens).
  Its visual's move at each change of scale or translation (``_on_matrix_change`` of a ``napari._vispy`` layer) is
  held back too: the slice at the end moves it (pinned by a test; not found, it moves at each change as before).
* :func:`dims_updated_once`: the viewer recomputes its dimensions (``ViewerModel._on_layers_change``: the layers'
  ranges, then the dims' range, units and axis labels, each validated) at every change of a layer's scale,
  translation or data -- twice per layer when the navigator gives it the next well (10-20 ms apiece). Its
  connection to the layer's events is blocked for that callback only (``EventEmitter.blocker(callback)``, public)
  while the layer is changed, and it runs once after. Should a release rename it, the changes are made as before.
* :func:`forget_cached_chunks`: napari's opportunistic dask cache (``napari.utils._dask_utils._DASK_CACHE``, the
  object ``resize_dask_cache`` returns) keeps chunks by dask key; labels saved in place
  (:mod:`ngffkit.napari._proofread`) would be drawn from it as they were. Should it move, the cache is left as it is
  (the pin test fails).
* :func:`in_save_dialog`: whether a writer runs under napari's Save dialog (``QtViewer._save_layers_dialog``, on
  the call stack), whose file dialog has already asked about replacing an existing file; napari hands a writer
  only the path. Should it move, ngffkit asks again (two questions, never none).
* :func:`main_window`: ``viewer.window._qt_window``, whose close event the proofreading dock filters to ask about
  unsaved edits (napari has no public veto on closing).
* :func:`new_label_buttons`: the *new* button of a labels layer's controls (``viewer.window._qt_viewer.controls``),
  which napari connects to its own ``new_label`` function rather than to an action; an editing layer reconnects it
  so that its new label is new to the whole label image. Should it move, the button keeps napari's behaviour (the
  key M still gives an id new to the image) and the pin test fails.

Differences between releases, public on each side: :func:`camera` (``viewer.scene.camera`` from 0.9, where
``viewer.camera`` is deprecated); :func:`canvas_size_event` (``viewer.canvas.events.size``, where a release has it).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import logging
import threading
from collections.abc import Iterator
from types import CodeType, FrameType
from typing import Any

log = logging.getLogger("ngffkit.napari")

#: napari's functions that read layer data for drawing, as (module, qualified name); ``<locals>`` names a
#: function made inside another (found among the outer one's constants).
DRAWING_FUNCTIONS = (
    ("napari.layers._scalar_field._slice", "_ScalarFieldSliceRequest._project_thick_slice"),
    ("napari.layers._scalar_field.scalar_field", "_make_level_materializer.<locals>._materializer"),
)


#: napari's Save dialog: the function that asks for a file name and then saves through the writers.
SAVE_DIALOG = ("napari._qt.qt_viewer", "QtViewer._save_layers_dialog")


@functools.cache
def save_dialog_code() -> CodeType | None:
    """The code of :data:`SAVE_DIALOG` in this napari (None: moved)."""
    return _code_of(*SAVE_DIALOG)


def in_save_dialog() -> bool:
    """Whether the running code was called by napari's Save dialog (File > Save Layers), after its file dialog
    returned a name: Qt's file dialog asks before it returns an existing file."""
    code = save_dialog_code()
    frame = inspect.currentframe()
    while frame is not None and code is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


@functools.cache
def drawing_codes() -> dict[str, CodeType]:
    """The code of each of :data:`DRAWING_FUNCTIONS` this napari has, by "module:qualified name"."""
    found = {}
    for module_name, qualname in DRAWING_FUNCTIONS:
        code = _code_of(module_name, qualname)
        if code is not None:
            found[f"{module_name}:{qualname}"] = code
    if not any(name.endswith("_project_thick_slice") for name in found):
        log.warning("this napari draws layers through code ngffkit does not know: remote images are read on "
                    "napari's thread (slower, not wrong)")  # fmt: skip
    return found


def _code_of(module_name: str, qualname: str) -> CodeType | None:
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError:
        return None
    outer, _, inner = qualname.partition(".<locals>.")
    for part in outer.split("."):
        target = getattr(target, part, None)
    code = getattr(target, "__code__", None)
    if not isinstance(code, CodeType) or not inner:
        return code if isinstance(code, CodeType) else None
    return next((c for c in code.co_consts if isinstance(c, CodeType) and c.co_name == inner), None)


def napari_draws(frame: FrameType | None) -> bool:
    """Whether the function running in ``frame`` (``__array__`` of layer data) was called by napari's drawing, on
    napari's thread: a script, a plugin or napari's asynchronous slicing (another thread) are not drawing."""
    caller = frame.f_back if frame is not None else None
    if caller is None or threading.current_thread() is not threading.main_thread():
        return False
    return caller.f_code in drawing_codes().values()


def forget_kept_level(layer: Any) -> None:
    """Have ``layer`` read again the level napari keeps (a 2D pyramid's coarsest, read whole for
    the thumbnail) -- when what it kept was a stand-in. Nothing to do where napari keeps nothing."""
    cache_clear = getattr(getattr(layer, "_level_materializer", None), "cache_clear", None)
    if callable(cache_clear):
        cache_clear()


def open_viewers() -> list[Any]:
    """Every open napari viewer (napari keeps them in ``Viewer._instances``); at least the current one."""
    from napari import Viewer, current_viewer

    viewers = list(getattr(Viewer, "_instances", ()))
    current = current_viewer()
    if current is not None and current not in viewers:
        viewers.append(current)
    return viewers


def camera(viewer: Any) -> Any:
    """The viewer's camera: ``viewer.scene.camera`` (napari >= 0.9, where ``viewer.camera`` is deprecated), else
    ``viewer.camera``."""
    scene = getattr(viewer, "scene", None)
    return scene.camera if scene is not None else viewer.camera


@contextlib.contextmanager
def sliced_once(layer: Any) -> Iterator[None]:
    """Changes to ``layer`` made inside the block are sliced and drawn once, at its end; its visual takes a new
    scale or translation there too (:func:`_visual_movers`), with the new slice."""
    layer = _unwrapped(layer)
    block = getattr(layer, "_block_refresh", None)
    if block is None:
        yield
        return
    level, levels = getattr(layer, "_data_level", None), len(layer.data) if layer.multiscale else 1
    movers = _visual_movers(layer)
    with block(), contextlib.ExitStack() as stack:
        for emitter, callback in movers:
            stack.enter_context(emitter.blocker(callback))
        yield
    if isinstance(level, int) and layer.multiscale and len(layer.data) == levels:
        layer._data_level = level  # the new well is drawn at the level the view needs, as the last one was
    layer.refresh()  # a visible layer's visual takes its place with the slice (napari's _on_data_change moves it)
    if not layer.visible:  # nothing sliced: the visual is moved now
        for callback in dict.fromkeys(callback for _, callback in movers):
            callback()


def _visual_movers(layer: Any) -> list[tuple[Any, Any]]:
    """The (event, callback) pairs by which napari's visual of ``layer`` follows its scale and translation
    (``napari._vispy`` layers' ``_on_matrix_change``). The visual moves again at every slice (its
    ``_on_data_change`` calls it, napari 0.8 and later): inside :func:`sliced_once` moving it at each change as
    well is redundant -- 2-5 ms each for the plate navigator's layers. None found: nothing is held back."""
    found = []
    for name in ("scale", "translate"):
        emitter = getattr(layer.events, name, None)
        for ref in getattr(emitter, "callbacks", ()):
            owner = ref[0]() if isinstance(ref, tuple) and callable(ref[0]) else None
            if owner is None or ref[1] != "_on_matrix_change":
                continue
            if type(owner).__module__.startswith("napari._vispy") and callable(getattr(emitter, "blocker", None)):
                found.append((emitter, getattr(owner, ref[1])))
    return found


def can_slice_once(layer: Any) -> bool:
    """Whether :func:`sliced_once` holds napari's slicing back for ``layer`` (for the test that pins it)."""
    return callable(getattr(layer, "_block_refresh", None)) and isinstance(getattr(layer, "_data_level", None), int)


def _unwrapped(thing: Any) -> Any:
    """The object behind napari's ``PublicOnlyProxy`` (what a plugin's dock is given as its viewer, and the layers
    it reaches through it): its callbacks are the object's own."""
    return getattr(thing, "__wrapped__", thing)


def _window_part(viewer: Any, name: str) -> Any:
    """``viewer.window.<name>`` (``_qt_viewer``, ``_qt_window``), or None without a window -- reached behind the
    proxies napari gives a plugin, which warn of private names read through them."""
    return getattr(_unwrapped(getattr(_unwrapped(viewer), "window", None)), name, None)


#: The layer events through which napari's viewer recomputes its dimensions (:func:`dims_updated_once`).
_PLACE_EVENTS = ("scale", "translate", "data")


@contextlib.contextmanager
def dims_updated_once(viewer: Any, layer: Any) -> Iterator[None]:
    """Changes to ``layer``'s scale, translation and data made inside the block have ``viewer`` recompute its
    dimensions once, at the end (napari does it at each change; the block is for changing them, so it is done
    even when nothing changed)."""
    viewer, layer = _unwrapped(viewer), _unwrapped(layer)
    update = getattr(viewer, "_on_layers_change", None)
    emitters = [getattr(layer.events, name, None) for name in _PLACE_EVENTS]
    if not callable(update) or not all(callable(getattr(e, "blocker", None)) for e in emitters):
        yield
        return
    with contextlib.ExitStack() as stack:
        for emitter in emitters:
            stack.enter_context(emitter.blocker(update))  # type: ignore[union-attr]
        yield
    update()  # always: the blocker's count of held-back calls is lost for bound methods (napari keeps it weakly)


def updates_dims_once(viewer: Any, layer: Any) -> bool:
    """Whether :func:`dims_updated_once` holds back what it means to (for the test that pins it): the viewer's
    callback is connected to each of ``layer``'s events, which can block it alone."""
    viewer, layer = _unwrapped(viewer), _unwrapped(layer)
    update = getattr(viewer, "_on_layers_change", None)
    if not callable(update):
        return False
    for name in _PLACE_EVENTS:
        emitter = getattr(layer.events, name, None)
        callbacks = getattr(emitter, "callbacks", ())
        if not callable(getattr(emitter, "blocker", None)) or not any(
            isinstance(c, tuple) and c[0]() is viewer and c[1] == "_on_layers_change" for c in callbacks
        ):
            return False
    return True


def forget_cached_chunks() -> None:
    """Empty napari's opportunistic dask cache (``napari.utils.resize_dask_cache``: a ``dask.cache.Cache`` whose
    ``cache`` is a ``cachey.Cache``, as napari documents). It keeps chunks by their dask keys, which stay the same
    when the files under them are rewritten: after labels are saved in place, the old pixels would be drawn."""
    from napari.utils import _dask_utils

    holder = getattr(_dask_utils, "_DASK_CACHE", None)
    inner = getattr(holder, "cache", None)
    clear = getattr(inner, "clear", None)
    if callable(clear):
        clear()


def canvas_size(viewer: Any) -> tuple[int, int] | None:
    """The canvas's (height, width) in screen pixels (``viewer.window._qt_viewer.canvas.size``; napari has no
    public one), or None without a window. With the camera's centre and zoom it gives the part of the world in
    view: ``layer.corner_pixels`` is stretched to chunk boundaries and kept while the view moves inside them."""
    canvas = getattr(_window_part(viewer, "_qt_viewer"), "canvas", None)
    size = getattr(canvas, "size", None)
    if size is None or len(size) != 2:
        return None
    height, width = (int(s) for s in size)
    return (height, width) if height > 0 and width > 0 else None


def main_window(viewer: Any) -> Any:
    """napari's Qt main window (``viewer.window._qt_window``), or None: napari has no public hook that can veto
    closing, so the proofreading dock asks about unsaved edits from a Qt event filter on this window."""
    return _window_part(viewer, "_qt_window")


def new_label_buttons(viewer: Any, layer: Any) -> list[Any]:
    """The *new* buttons of ``layer``'s controls (``viewer.window._qt_viewer.controls.widgets[layer]``, the
    ``QPushButton`` napari names ``newLabelButton``; napari 0.9 has one, 0.8 none), or []: napari connects it to
    its ``new_label`` function itself, not to the action a key binding can replace, so an editing layer whose new
    label must be new to a whole label image reconnects it (:mod:`ngffkit.napari._new_label`)."""
    from qtpy.QtWidgets import QPushButton

    controls = getattr(_window_part(viewer, "_qt_viewer"), "controls", None)
    widget = getattr(controls, "widgets", {}).get(layer)
    if widget is None:
        return []
    return list(widget.findChildren(QPushButton, "newLabelButton"))


def canvas_size_event(viewer: Any) -> Any:
    """The event napari emits when the canvas changes size (``viewer.canvas.events.size``, public in napari 0.9),
    or None on a release without it (the view is then fitted once, before Qt lays a new dock out)."""
    events = getattr(getattr(viewer, "canvas", None), "events", None)
    return getattr(events, "size", None)
