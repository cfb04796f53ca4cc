"""Proofreading an OME-Zarr's labels in napari: paint on labels of any size, save only what changed (issue 34b).

napari cannot paint on a multiscale labels layer (its tools are greyed out there). *Edit labels* (the dock's
button, or Ctrl+Alt+E, which napari does not bind) therefore opens the region on screen -- the plane shown, the
part of it in view, at most :data:`MOST_PIXELS` pixels across, centred -- as a single-scale labels layer at full
resolution, placed exactly over the multiscale one, where napari's own tools work (paint, fill, erase, polygon,
pick, undo). Editing elsewhere opens more such layers; all of them are saved together.

*Save edits* writes them through :class:`ngffkit.LabelEditor` -- the changed shards of level 0 and of every lower
level -- then drops the editing layers and has the multiscale layer read its pixels again (napari's dask cache, the
level it keeps, and the responsive reader's fetched planes are forgotten), so the result shows at every zoom. When
someone else saved the same shards meanwhile, the save is refused with a message naming the region, and the
editing layers stay (*Discard edits* drops them). An editing layer is an ordinary napari layer: if the multiscale
layer is closed first, it stays, and its edits can still be saved; closing an editing layer drops its edits.
napari's "new label" (key M) in an editing layer gives an id new to the whole label image, not just to the region
(:mod:`ngffkit.napari._new_label`).
Closing napari with unsaved edits asks whether to save them, drop them, or stay (a Qt event filter on napari's
window: napari has no public way to veto closing).

*New labels layer* (issue 34c) adds an empty label image to an opened image that has none -- of its shapes,
placement and storage, in its ``labels`` group, lazily (nothing but metadata is written) -- and opens it, so that
Edit labels applies to it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from napari.layers import Image, Labels
from napari.utils.notifications import show_error, show_info
from napari.viewer import Viewer
from qtpy.QtCore import QEvent, QObject
from qtpy.QtWidgets import QLabel, QMessageBox, QPushButton, QVBoxLayout, QWidget

import ngffkit
from ngffkit.napari._napari_adapter import camera, canvas_size, forget_cached_chunks, forget_kept_level, main_window
from ngffkit.napari._new_label import NewIds, bind_new_label, largest_in
from ngffkit.napari._plain_text import plain

#: The key that opens the region on screen for editing (napari binds Ctrl+S and most single keys already).
EDIT_KEY = "Control-Alt-E"
#: The most pixels an editing layer has along y and x: the middle of a larger view is opened.
MOST_PIXELS = 2048
#: Where an editing layer's metadata says what it edits.
EDITS = "ngffkit_edits"


@dataclass
class Session:
    """The edits of one label image: its editor, and the editing layers with the level-0 box each shows and the
    pixels it opened with (what the person changed is what differs from those: only that is saved, over what
    is stored by then -- so a save after someone else's keeps their work outside the strokes)."""

    url: str
    editor: ngffkit.LabelEditor
    #: What napari's "new label" hands out in its editing layers: ids new to the whole label image.
    ids: NewIds
    layers: list[tuple[Labels, tuple[slice, ...], np.ndarray]] = field(default_factory=list)
    #: A save was refused (someone else saved these labels since they were opened): the next one reads anew.
    reread: bool = False


def is_ngffkit_labels(layer: Any) -> bool:
    """A labels layer that ngffkit opened from an OME-Zarr label image (metadata names its URL)."""
    metadata = getattr(layer, "metadata", {}) or {}
    return isinstance(layer, Labels) and bool(metadata.get("ngff_url")) and EDITS not in metadata


def box_on_screen(layer: Labels, viewer: Viewer, shape: tuple[int, ...]) -> tuple[slice, ...]:
    """The level-0 box of ``layer`` shown now: the current plane of every axis not displayed, and the part of the
    displayed ones in view, at most :data:`MOST_PIXELS` across (around the view's centre)."""
    point = np.asarray(layer.world_to_data(viewer.dims.point))
    displayed = set(viewer.dims.displayed[-layer.ndim :]) if layer.ndim <= viewer.dims.ndim else set()
    offset = viewer.dims.ndim - layer.ndim
    corners = view_corners(layer, viewer)
    box = []
    for axis, size in enumerate(shape):
        if axis + offset not in displayed:
            index = int(np.clip(np.round(point[axis]), 0, size - 1))
            box.append(slice(index, index + 1))
            continue
        lo, hi = corners[0, axis], corners[1, axis]
        if hi - lo < 2:  # not drawn yet: the middle of the axis
            lo, hi = 0, size
        lo, hi = int(max(0, np.floor(lo))), int(min(size, np.ceil(hi)))
        if hi - lo > MOST_PIXELS:
            middle = (lo + hi) // 2
            lo, hi = max(0, middle - MOST_PIXELS // 2), min(size, middle + MOST_PIXELS // 2)
        box.append(slice(lo, hi))
    return tuple(box)


def view_corners(layer: Labels, viewer: Viewer) -> np.ndarray:
    """The (2, ndim) level-0 data coordinates of the view's corners: the camera's centre and zoom over the canvas
    in a 2D view; in 3D (or without a window) napari's ``corner_pixels`` at the level drawn, which are stretched to
    chunk boundaries."""
    size = canvas_size(viewer)
    view = camera(viewer)
    if size is not None and viewer.dims.ndisplay == 2:
        axes = list(viewer.dims.displayed[-2:])
        half = np.asarray(size, dtype=float) / 2 / float(view.zoom)
        centre = np.asarray(view.center, dtype=float)[-2:]
        low, high = np.asarray(viewer.dims.point, dtype=float), np.asarray(viewer.dims.point, dtype=float)
        low[axes], high[axes] = centre - half, centre + half
        ends = np.asarray([layer.world_to_data(low), layer.world_to_data(high)], dtype=float)
        return np.asarray([ends.min(axis=0), ends.max(axis=0)])
    corners = np.asarray(layer.corner_pixels, dtype=float)
    factors = np.asarray(layer.downsample_factors[layer.data_level]) if layer.multiscale else np.ones(layer.ndim)
    return np.asarray([corners[0] * factors, (corners[1] + 1) * factors])


def refresh(layer: Labels) -> None:
    """Have a multiscale layer read its pixels again after a save: every cache that holds the old ones forgets."""
    levels = list(layer.data) if layer.multiscale else [layer.data]
    for level in levels:
        pyramid = getattr(level, "pyramid", None)
        forget = getattr(pyramid, "forget_pixels", None)
        if callable(forget):
            forget()
    forget_cached_chunks()
    forget_kept_level(layer)
    layer.refresh()


def new_label_image(image: ngffkit.Image, base: str = "labels") -> str:
    """Write an empty uint32 label image for ``image`` under its ``labels`` group (a name not taken yet, from
    ``base``) and return its URL: the image's shapes without a channel axis, its chunks and shards; lazily made
    zeros, so no chunk is stored until something is painted."""
    import dask.array as da

    keep = [i for i in range(image.ndim) if i != image.channel_axis]
    array = image.level_source(0)[0]
    chunks = tuple(array.chunks[i] for i in keep)
    shards = tuple(array.shards[i] for i in keep) if array.shards else None
    taken = set(image.label_names)
    name = next(n for n in (base, *(f"{base}-{i}" for i in range(2, 1000))) if n not in taken)
    shape = tuple(image.shapes[0][i] for i in keep)
    zeros = da.zeros(shape, dtype=np.uint32, chunks=shards or chunks)
    ngffkit.write_labels(zeros, image.url, name, chunks=chunks, shards=shards)
    return f"{image.url.rstrip('/')}/labels/{name}"


class AskBeforeClosing(QObject):
    """Asks, when napari's window is closed with unsaved edits, whether to save them, drop them, or stay."""

    def __init__(self, widget: ProofreadWidget) -> None:
        super().__init__(widget)
        self.widget = widget

    def eventFilter(self, watched: Any, event: Any) -> bool:  # Qt names it
        if event.type() != QEvent.Type.Close or not self.widget.unsaved:
            return False
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            watched, "Unsaved label edits",
            "Some labels were edited but not saved. Save them into the OME-Zarr before closing?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save,
        )  # fmt: skip
        if answer == buttons.Save:
            self.widget.save()
        elif answer == buttons.Discard:
            self.widget.discard()
        if self.widget.unsaved:  # cancelled, or the save was refused: napari stays open with the edits
            event.ignore()
            return True
        return False


class ProofreadWidget(QWidget):
    """Edit labels / Save edits / Discard edits for the OME-Zarr labels layers of the viewer."""

    def __init__(self, napari_viewer: Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.sessions: dict[str, Session] = {}
        self.status = plain(QLabel("Select an OME-Zarr labels layer and press Edit labels (Ctrl+Alt+E)."))
        self.status.setWordWrap(True)
        self.edit_button = QPushButton("Edit labels")
        self.edit_button.setToolTip("Open the region on screen as a labels layer napari can paint on (Ctrl+Alt+E)")
        self.save_button = QPushButton("Save edits")
        self.save_button.setToolTip("Write the edits into the OME-Zarr: only the shards they change, every level")
        self.discard_button = QPushButton("Discard edits")
        self.new_button = QPushButton("New labels layer")
        self.new_button.setToolTip("Add an empty label image to the selected OME-Zarr image (in its labels group), "
                                   "to paint on with Edit labels")  # fmt: skip
        layout = QVBoxLayout(self)
        for widget in (self.status, self.edit_button, self.save_button, self.discard_button, self.new_button):
            layout.addWidget(widget)
        layout.addStretch()
        self.edit_button.clicked.connect(self.edit)
        self.save_button.clicked.connect(self.save)
        self.discard_button.clicked.connect(self.discard)
        self.new_button.clicked.connect(self.new_labels)
        napari_viewer.bind_key(EDIT_KEY, lambda _: self.edit(), overwrite=True)
        napari_viewer.layers.events.removed.connect(self._layer_removed)
        window = main_window(napari_viewer)
        self._asker = AskBeforeClosing(self)
        if window is not None:
            window.installEventFilter(self._asker)

        def forget(*_: Any) -> None:  # the Qt widget is being deleted: nothing may call into it any more
            napari_viewer.bind_key(EDIT_KEY, None, overwrite=True)
            for session in self.sessions.values():
                session.ids.stop()
            napari_viewer.layers.events.removed.disconnect(self._layer_removed)

        self.destroyed.connect(forget)

    def _layer_removed(self, event: Any) -> None:
        """An editing layer closed by hand: its region's edits are dropped (the others stay)."""
        removed = event.value
        for session in self.sessions.values():
            session.layers[:] = [entry for entry in session.layers if entry[0] is not removed]

    # --- which labels ---------------------------------------------------------------------------------

    def _target(self) -> Labels | None:
        active = self.viewer.layers.selection.active
        if is_ngffkit_labels(active):
            return active
        return next((layer for layer in reversed(self.viewer.layers) if is_ngffkit_labels(layer)), None)

    def _session(self, layer: Labels) -> Session:
        url = layer.metadata["ngff_url"]
        session = self.sessions.get(url)
        if session is None:  # the label image's largest id starts being read now, for napari's "new label"
            editor = ngffkit.edit_labels(url)
            layers: list[tuple[Labels, tuple[slice, ...], np.ndarray]] = []
            ids = NewIds(editor.labels, lambda: [entry[0] for entry in layers], self._say)
            session = self.sessions[url] = Session(url, editor, ids, layers)
        return session

    def _say(self, text: str) -> None:
        """Show ``text`` in the dock, unless the dock is gone (a read off napari's thread may end after)."""
        with contextlib.suppress(RuntimeError):
            self.status.setText(text)

    # --- actions --------------------------------------------------------------------------------------

    def edit(self) -> Labels | None:
        """Open the region of the chosen labels on screen as an editable layer exactly over it."""
        layer = self._target()
        if layer is None:
            show_info("No OME-Zarr labels layer to edit: open an image with labels first.")
            return None
        try:
            session = self._session(layer)
            editor = session.editor
            # an axis the layer does not show (ome-zarr-py's 5D labels with a channel of size 1) is index 0
            dropped = [editor.labels.axis_names.index(n) for n in layer.metadata.get("ngff_dropped_axes", ())
                       if n in editor.labels.axis_names]  # fmt: skip
            shown_axes = [i for i in range(len(editor.shape)) if i not in dropped]
            if len(shown_axes) != layer.ndim:
                raise ngffkit.InvalidArgument(f"the layer has {layer.ndim} axes, its labels {len(editor.shape)}",
                                              where=session.url)  # fmt: skip
            shown = box_on_screen(layer, self.viewer, tuple(editor.shape[i] for i in shown_axes))
            box = [slice(0, 1)] * len(editor.shape)
            for axis, part in zip(shown_axes, shown, strict=True):
                box[axis] = part
            pixels = editor.read(tuple(box))
        except ngffkit.NGFFError as exc:
            show_error(f"Cannot edit {layer.name}: {exc}")
            return None
        scale = np.asarray(layer.scale)
        translate = np.asarray(layer.translate) + np.asarray([s.start for s in shown]) * scale
        editing = self.viewer.add_labels(
            pixels.reshape(tuple(s.stop - s.start for s in shown)),
            name=f"{layer.name} (editing)",
            scale=scale,
            translate=translate,
            units=layer.units,  # in the labels' units and axes: napari then keeps drawing in physical units
            axis_labels=layer.axis_labels,
            colormap=layer.colormap,
            opacity=max(layer.opacity, 0.7),
            metadata={EDITS: session.url},
        )
        editing.mode = "paint"
        bind_new_label(self.viewer, editing, session.ids)
        session.layers.append((editing, tuple(box), pixels.copy()))
        self.viewer.layers.selection.active = editing
        self.status.setText(f"Editing {layer.name}: {len(session.layers)} region(s). Save edits writes them.")
        return editing

    def save(self) -> int:
        """Write every editing layer's pixels, then show the result in the multiscale layer; files written."""
        written = 0
        for url, session in list(self.sessions.items()):
            if not session.layers:
                continue
            editor = session.editor
            if session.reread:  # asked again after a refusal: the strokes go over what is stored now
                editor.discard()
                session.reread = False
            try:
                for editing, box, opened in session.layers:
                    painted = np.asarray(editing.data).reshape(opened.shape)
                    changed = painted != opened
                    if changed.any():
                        editor.write(box, np.where(changed, painted, editor.read(box)))
                report = editor.save()
            except ngffkit.EditConflict as exc:  # the editing layers keep the edits
                session.reread = True
                session.ids.read()  # their save may have new ids too
                show_error(f"Not saved: {exc}")
                self.status.setText(
                    "Not saved: someone else changed these labels since you opened them. Your "
                    "edits are kept; Save edits again writes your strokes over their changes."
                )
                continue
            except ngffkit.NGFFError as exc:
                show_error(f"Not saved: {exc}")
                continue
            written += report.files
            session.ids.saved(max(largest_in(editing) for editing, _, _ in session.layers))
            self._drop(session)
            for layer in self.viewer.layers:
                if is_ngffkit_labels(layer) and layer.metadata.get("ngff_url") == url:
                    refresh(layer)
            show_info(f"Saved: {report.files} file(s) of {url.rsplit('/', 1)[-1]} written.")
            self.status.setText(f"Saved {report.files} file(s) in {report.seconds:.2f} s.")
        return written

    def discard(self) -> None:
        """Drop every editing layer and its edits."""
        for session in self.sessions.values():
            session.editor.discard()
            self._drop(session)
        self.status.setText("Edits discarded.")

    def new_labels(self) -> Labels | None:
        """Add an empty label image to the chosen OME-Zarr image -- the image's level shapes, placement and
        storage layout, in its ``labels`` group, written lazily (nothing but metadata: all of it is background)
        -- and open it as a labels layer, ready for Edit labels."""
        image = self._image_target()
        if image is None:
            show_info("No OME-Zarr image to add labels to: open one, and select it.")
            return None
        url = image.metadata["ngff_url"]
        try:
            node = ngffkit.open(url)
            if not isinstance(node, ngffkit.Image) or node.is_label:
                raise ngffkit.InvalidArgument("labels can only be added to an image", where=url)
            label_url = new_label_image(node)
        except ngffkit.NGFFError as exc:
            show_error(f"Cannot add labels to {image.name}: {exc}")
            return None
        added = self.viewer.open(label_url, plugin="ngffkit")
        layer = next((lay for lay in added if isinstance(lay, Labels)), None)
        if layer is not None:
            self.viewer.layers.selection.active = layer
            self.status.setText(f"New labels {layer.name}: press Edit labels to paint on them.")
        return layer

    def _image_target(self) -> Any:
        active = self.viewer.layers.selection.active
        candidates = [active, *reversed(self.viewer.layers)]
        return next((layer for layer in candidates if isinstance(layer, Image)
                     and (getattr(layer, "metadata", {}) or {}).get("ngff_url")), None)  # fmt: skip

    @property
    def unsaved(self) -> bool:
        return any(session.layers for session in self.sessions.values())

    def _drop(self, session: Session) -> None:
        for editing, _, _ in session.layers:
            if editing in self.viewer.layers:
                self.viewer.layers.remove(editing)
        session.layers.clear()
