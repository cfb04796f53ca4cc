"""napari's internals that ngffkit reaches into (:mod:`ngffkit.napari._napari_adapter`), pinned against the napari
that is installed: each test fails naming what moved. Should one fail on a new napari release, fix the adapter
(and the release table in its docstring) -- remote images still draw correctly meanwhile, only on napari's thread.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np

from ngffkit.napari import _napari_adapter as adapter

Read = tuple[bool, str, int]


class Recorder:
    """Layer data (one level of a pyramid) that notes, for every read, whether the adapter took it for napari
    drawing, who read, and which level."""

    def __init__(self, data: np.ndarray, reads: list[Read], level: int) -> None:
        self.data, self.reads, self.level = data, reads, level
        self.shape, self.dtype, self.ndim, self.size = data.shape, data.dtype, data.ndim, data.size

    def __getitem__(self, index: Any) -> Recorder:
        return Recorder(self.data[index], self.reads, self.level)

    def __len__(self) -> int:
        return len(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        frame = inspect.currentframe()
        caller = frame.f_back if frame is not None else None
        where = f"{caller.f_globals.get('__name__')}:{caller.f_code.co_qualname}" if caller is not None else "?"
        self.reads.append((adapter.napari_draws(frame), where, self.level))
        return np.asarray(self.data, dtype=dtype)


def pyramid(reads: list[Read]) -> list[Recorder]:
    base = (np.arange(256 * 256) % 251).astype(np.uint8).reshape(256, 256)
    return [Recorder(base[:: 2**k, :: 2**k].copy(), reads, k) for k in range(3)]


def napari_read(reads: list[Read]) -> bool:
    return any(where.startswith("napari") for _, where, _ in reads)


def test_napari_drawing_is_recognised_and_nothing_else(make_napari_viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    reads: list[Read] = []
    viewer = make_napari_viewer()
    layer = viewer.add_image(pyramid(reads), multiscale=True, contrast_limits=(0, 255))
    qtbot.waitUntil(lambda: napari_read(reads), timeout=30_000)
    not_recognised = sorted({where for drawn, where, _ in reads if not drawn and where.startswith("napari")})
    assert not not_recognised, (
        f"napari {_version()} read layer data for drawing through {not_recognised}, which ngffkit does not know "
        f"(known: {list(adapter.drawing_codes())}): update _napari_adapter.DRAWING_FUNCTIONS"
    )
    assert any(name.endswith("_project_thick_slice") for name in adapter.drawing_codes()), adapter.DRAWING_FUNCTIONS
    reads.clear()
    np.asarray(layer.data[0][10:20])  # a script's read, on the same thread
    assert reads == [(False, f"{__name__}:test_napari_drawing_is_recognised_and_nothing_else", 0)]


def test_a_kept_level_is_read_again_when_forgotten(make_napari_viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    """napari >= 0.8 keeps a 2D pyramid's coarsest level; ngffkit has it read again once the real pixels are
    here (it may have kept a stand-in)."""
    reads: list[Read] = []
    viewer = make_napari_viewer()
    layer = viewer.add_image(pyramid(reads), multiscale=True, contrast_limits=(0, 255))
    qtbot.waitUntil(lambda: napari_read(reads), timeout=30_000)
    coarsest = len(layer.data) - 1
    reads.clear()
    layer.refresh()
    kept = not any(level == coarsest for _, _, level in reads)  # napari served it from memory
    reads.clear()
    adapter.forget_kept_level(layer)
    layer.refresh()
    assert not kept or any(drawn and level == coarsest for drawn, _, level in reads), (
        f"napari {_version()} keeps a pyramid's coarsest level and forget_kept_level no longer makes it read "
        f"again (reads after forgetting: {reads}): napari's layer._level_materializer moved"
    )


def test_every_open_viewer_is_found(make_napari_viewer) -> None:  # type: ignore[no-untyped-def]
    first, second = make_napari_viewer(), make_napari_viewer()
    found = adapter.open_viewers()
    assert first in found and second in found, f"napari {_version()}: Viewer._instances moved"


def test_the_camera_without_deprecation(make_napari_viewer) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        view = adapter.camera(viewer)
        view.zoom = 3.0
        view.center = (0.0, 5.0, 7.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert viewer.camera.zoom == 3.0 and tuple(viewer.camera.center)[-2:] == (5.0, 7.0)


def _version() -> str:
    import napari

    return str(napari.__version__)


def test_naparis_dask_cache_is_emptied(make_napari_viewer) -> None:  # type: ignore[no-untyped-def]
    """After labels are saved in place, napari's opportunistic dask cache must not keep the old chunks (their dask
    keys do not change): the adapter empties it through ``napari.utils._dask_utils._DASK_CACHE.cache``."""
    import dask.array as da
    from napari.utils import _dask_utils, resize_dask_cache

    cache = resize_dask_cache(2**24)
    viewer = make_napari_viewer()
    viewer.add_image(da.ones((4, 64, 64), chunks=(1, 64, 64)))
    holder = getattr(_dask_utils, "_DASK_CACHE", None)
    assert holder is cache and cache.cache.total_bytes > 0, (
        f"napari {_version()} keeps its dask cache elsewhere: update _napari_adapter.forget_cached_chunks"
    )
    adapter.forget_cached_chunks()
    assert cache.cache.total_bytes == 0


def test_naparis_main_window_is_found(make_napari_viewer) -> None:  # type: ignore[no-untyped-def]
    from qtpy.QtWidgets import QMainWindow

    viewer = make_napari_viewer()
    assert isinstance(adapter.main_window(viewer), QMainWindow), (
        f"napari {_version()} keeps its Qt window elsewhere: update _napari_adapter.main_window (the proofreading "
        "dock asks about unsaved edits from a filter on it)"
    )


def test_naparis_canvas_size_is_found(make_napari_viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(900, 700)
    qtbot.waitUntil(lambda: adapter.canvas_size(viewer) is not None, timeout=5_000)
    height, width = adapter.canvas_size(viewer)  # type: ignore[misc]
    assert 0 < height < 700 and 0 < width <= 900, (
        f"napari {_version()} gives its canvas size elsewhere: update _napari_adapter.canvas_size (Edit labels opens "
        "the part of the labels in view from it)"
    )


def test_the_new_label_button_of_a_labels_layer_is_found(make_napari_viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    from packaging.version import Version
    from qtpy.QtCore import Qt

    viewer = make_napari_viewer(show=True)
    layer = viewer.add_labels(np.zeros((8, 8), np.uint8))
    other = viewer.add_labels(np.zeros((8, 8), np.uint8))
    buttons = adapter.new_label_buttons(viewer, layer)
    if Version(_version()) < Version("0.9"):  # napari 0.8 has no "new" button beside the label
        assert buttons == []
        return
    assert len(buttons) == 1, (
        f"napari {_version()} keeps the labels controls' 'new' button elsewhere: update "
        "_napari_adapter.new_label_buttons (in an editing layer it must give an id new to the whole label image)"
    )
    assert buttons[0] not in adapter.new_label_buttons(viewer, other)  # one per layer: only the editing layer's
    layer.data[2, 2] = 4
    qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)  # napari's own: the largest value + 1
    assert layer.selected_label == 5


def test_napari_save_dialog_is_found() -> None:
    """The writer asks about replacing a file only when napari's Save dialog did not (issue 32): it recognises that
    dialog on the call stack."""
    assert adapter.save_dialog_code() is not None, (
        f"napari {_version()} has no {adapter.SAVE_DIALOG}: update _napari_adapter.SAVE_DIALOG (until then a save "
        "over an existing file asks twice)"
    )


def test_the_viewers_dimensions_follow_a_layer_changed_at_once(make_napari_viewer) -> None:  # type: ignore[no-untyped-def]
    """The plate navigator gives a layer the next well's place and pixels together: napari's viewer recomputes its
    dimensions once for both (``ViewerModel._on_layers_change``, blocked for that callback alone), not at each."""
    from napari.utils._proxies import PublicOnlyProxy

    viewer = make_napari_viewer()
    layer = viewer.add_image(np.zeros((8, 8), np.uint8))
    assert adapter.updates_dims_once(viewer, layer), (
        f"napari {_version()} no longer recomputes the viewer's dimensions through ViewerModel._on_layers_change on "
        "a layer's scale, translate and data events: update _napari_adapter.dims_updated_once (the well view then "
        "recomputes them twice a layer)"
    )
    ranges: list[Any] = []
    viewer.dims.events.range.connect(lambda event: ranges.append(event.value))
    # a plugin's dock reaches the viewer and its layers through napari's proxy: the same callbacks, no warning
    proxy_viewer, proxy_layer = PublicOnlyProxy(viewer), PublicOnlyProxy(layer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with adapter.dims_updated_once(proxy_viewer, proxy_layer):
            layer.translate = (100, 200)
            layer.data = np.zeros((16, 32), np.uint8)
    assert len(ranges) == 1, ranges
    assert [(r.start, r.stop) for r in viewer.dims.range] == [(100, 115), (200, 231)]

    ranges.clear()  # without the viewer's callback (a napari that moved it), each change updates them, as before
    with adapter.dims_updated_once(object(), layer):
        layer.translate = (0, 0)
        layer.data = np.zeros((4, 4), np.uint8)
    assert len(ranges) == 2 and [(r.start, r.stop) for r in viewer.dims.range] == [(0, 3), (0, 3)]


def test_a_layer_changed_at_once_has_its_visual_moved_with_the_slice(make_napari_viewer, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Inside ``sliced_once`` napari's visual of a layer is not moved at each change of place (its
    ``_on_matrix_change``, held back): the slice at the end moves it -- to where napari puts it when the changes
    are made one by one, visible or not."""
    viewer = make_napari_viewer(show=True)
    visuals = viewer.window._qt_viewer.canvas.layer_to_visual
    for visible in (True, False):
        changed, reference = (viewer.add_labels(np.zeros((8, 8), np.uint8), visible=visible) for _ in range(2))
        assert adapter._visual_movers(changed), (
            f"napari {_version()}: a layer's visual no longer follows its translation through _on_matrix_change of "
            "a napari._vispy layer: update _napari_adapter._visual_movers (the well view moves it twice a switch)"
        )
        with adapter.sliced_once(changed):
            changed.translate = (10, 20)
            changed.data = np.ones((16, 16), np.uint8)
        reference.translate = (10, 20)
        reference.data = np.ones((16, 16), np.uint8)
        moved, expected = visuals[changed].node.transform, visuals[reference].node.transform
        assert np.allclose(moved.matrix, expected.matrix), (visible, moved.matrix, expected.matrix)
        assert not np.allclose(
            moved.matrix, visuals[viewer.add_labels(np.zeros((8, 8), np.uint8))].node.transform.matrix
        )
