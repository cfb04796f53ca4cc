"""Plugins > ngffkit > Export as OME-Zarr: a layer as a multiscale OME-Zarr, written in the background.

Where napari's Save dialog falls short -- typing the name of an existing ``.zarr`` folder makes Qt's file dialog
open that folder instead of choosing it -- this widget asks for a folder and a name separately, and offers the
pyramid, chunk and compression choices a Save dialog cannot. The write runs off the main thread: napari stays
responsive, its activity dock shows a progress bar that moves region by region, and Cancel stops the write; the
library then removes what it had begun (the widget never deletes anything itself).
"""

from __future__ import annotations

import json
import queue
import threading
from pathlib import Path
from typing import Any

from magicgui.types import FileDialogMode
from magicgui.widgets import CheckBox, ComboBox, Container, FileEdit, Label, LineEdit, PushButton
from napari.layers import Image, Labels
from napari.qt.threading import thread_worker
from napari.utils import progress
from napari.utils.notifications import show_error, show_info
from napari.viewer import Viewer
from qtpy.QtWidgets import QSizePolicy

import ngffkit
from ngffkit.formats import DEFAULT_WRITE, V04, WRITE_FORMATS, WRITE_PURPOSES
from ngffkit.napari import _convert
from ngffkit.napari._dialogs import confirm_replace
from ngffkit.napari._notify import describe
from ngffkit.napari._plain_text import plain
from ngffkit.writer.choices import COMPRESSORS, LABEL_SAFE_METHODS
from ngffkit.writer.destination import replace_refusal
from ngffkit.writer.settings import WriteOptions

VERSIONS = [(f"{fmt} -- {WRITE_PURPOSES[fmt]}", fmt.version) for fmt in WRITE_FORMATS]
METHOD_NAMES = [
    ("average (images)", "mean"),
    ("smoothed average (gaussian)", "gaussian"),
    ("nearest pixel", "nearest"),
    ("most common value (labels)", "mode"),
    ("brightest (max)", "max"),
    ("darkest (min)", "min"),
]
COMPRESSION_NAMES = {
    "auto": "automatic (blosc for images, zstd for labels)",
    "zstd": "zstd (smallest labels)",
    "blosc": "blosc-lz4 (fastest)",
    "gzip": "gzip (slow)",
    "none": "none",
}


class ExportWidget(Container[Any]):
    """Layer, folder and name, OME-Zarr version, pyramid, chunks, compression, shards; Export and Cancel."""

    def __init__(self, napari_viewer: Viewer) -> None:
        self.viewer = napari_viewer
        self.layer = ComboBox(label="Layer", choices=self._layer_choices,
                              tooltip="The image or labels layer to export (image layers bring their labels along)")  # fmt: skip
        self.with_labels = CheckBox(text="with the labels layers of the same size", value=True,
                                    tooltip="Save labels layers that overlay the image as its labels")  # fmt: skip
        self.folder = FileEdit(label="Folder", mode=FileDialogMode.EXISTING_DIRECTORY, value=Path.home(),
                               tooltip="The folder to save in")  # fmt: skip
        self.file_name = LineEdit(label="Name", value="", tooltip="The new OME-Zarr's name, e.g. cells.ome.zarr")
        self.version = ComboBox(label="OME-Zarr version", choices=VERSIONS, value=DEFAULT_WRITE.version,
                                tooltip=f"{DEFAULT_WRITE} for current tools; {V04} for readers that predate zarr v3")  # fmt: skip
        self.levels = ComboBox(label="Resolution levels", choices=[("automatic", 0), *((str(n), n) for n in range(1, 17))],
                               value=0, tooltip="How many levels the pyramid has (automatic: until the smallest is "
                               "about 64 pixels)")  # fmt: skip
        self.factors = LineEdit(label="Shrink by", value="",
                                tooltip='How much each level shrinks: 2 (y and x), or per axis {"z": 2, "y": 2, "x": 2}')  # fmt: skip
        self.method = ComboBox(label="Downsampling", choices=METHOD_NAMES, value="mean",
                               tooltip="How a pixel of a smaller level is made from the pixels it covers")  # fmt: skip
        self.chunks = LineEdit(label="Chunk size", value="",
                               tooltip="Pixels per stored piece, e.g. 64,256,256 (empty: about 2 MB each)")  # fmt: skip
        self.compressor = ComboBox(label="Compression", choices=[(COMPRESSION_NAMES[c], c) for c in COMPRESSORS],
                                   value="auto", tooltip="How stored pieces are compressed")  # fmt: skip
        self.shards = LineEdit(label="Shard size", value="",
                               tooltip="OME-Zarr 0.5: many chunks per file, e.g. 64,1024,1024 (empty: none)")  # fmt: skip
        # An empty field means "ngffkit chooses": say so in the field itself, not only in its tooltip.
        self.factors.native.setPlaceholderText("automatic: 2 in y and x")
        self.chunks.native.setPlaceholderText("automatic: about 2 MB per chunk")
        self.shards.native.setPlaceholderText("none")
        self.open_result = CheckBox(text="open the result when done", value=True)
        self.run_button = PushButton(text="Export")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.status = Label(value="")
        plain(self.status.native)
        # A long reason wraps instead of widening the dock over the canvas; a word longer than the dock (a path,
        # a file name without spaces) is cut at its edge rather than setting the dock's width (the toast says it all).
        self.status.native.setWordWrap(True)
        self.status.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        super().__init__(widgets=[self.layer, self.with_labels, self.folder, self.file_name, self.version, self.levels,
                                  self.factors, self.method, self.chunks, self.compressor, self.shards,
                                  self.open_result, self.run_button, self.cancel_button, self.status])  # fmt: skip
        self.layer.changed.connect(self._layer_changed)
        self.run_button.changed.connect(self.start)
        self.cancel_button.changed.connect(self.cancel)
        napari_viewer.layers.events.inserted.connect(self.layer.reset_choices)
        napari_viewer.layers.events.removed.connect(self.layer.reset_choices)
        self.worker: Any = None
        self.progress: Any = None
        self._cancel = threading.Event()
        self._layer_changed()

    def _layer_choices(self, _: Any = None) -> list[tuple[str, Any]]:
        return [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, Image | Labels)]

    def _layer_changed(self, *_: Any) -> None:
        """Labels get a label-safe method and no labels of their own; the name follows the layer."""
        layer = self.layer.value
        if isinstance(layer, Labels) and self.method.value not in LABEL_SAFE_METHODS:
            self.method.value = "mode"
        elif isinstance(layer, Image) and self.method.value == "mode":
            self.method.value = "mean"
        self.with_labels.enabled = isinstance(layer, Image)
        if layer is not None:
            self.file_name.value = f"{layer.name}.ome.zarr"

    def destination(self) -> Path | None:
        name = self.file_name.value.strip()
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            return None
        folder = self.folder.value
        return Path(str(folder)) / name if isinstance(folder, str | Path) else None

    def write_options(self) -> WriteOptions:
        """The choices of the form as writer options; ValueError with a clear message when one is wrong."""
        factors: Any = None
        if self.factors.value.strip():
            try:
                factors = json.loads(self.factors.value)
            except json.JSONDecodeError:
                raise ValueError(
                    f'"Shrink by" {self.factors.value!r}: write 2, or {{"z": 2, "y": 2, "x": 2}}'
                ) from None  # shown in a notification; the decoder's position in a form field adds nothing

        def shape(text: str, what: str) -> tuple[int, ...] | None:
            if not text.strip():
                return None
            try:
                return tuple(int(x) for x in text.replace(" ", "").split(","))
            except ValueError:
                raise ValueError(
                    f"{what} {text!r}: write whole numbers separated by commas"
                ) from None  # int()'s says less

        return WriteOptions.of(
            version=self.version.value, levels=self.levels.value or None, scale_factors=factors,
            method=self.method.value, chunks=shape(self.chunks.value, "Chunk size"),
            shards=shape(self.shards.value, "Shard size"), compressor=self.compressor.value,
        )  # fmt: skip

    def start(self, *_: Any) -> Any:
        layer, dest = self.layer.value, self.destination()
        if layer is None or dest is None:
            show_error("Choose a layer, a folder and a name.")
            return None
        try:
            options = self.write_options()
        except ValueError as exc:
            show_error(str(exc))
            return None
        overwrite = False
        if dest.exists() or dest.is_symlink():
            refusal = replace_refusal(dest) if dest.is_dir() else None  # a file: the .ozx writer's own rules
            if refusal is not None:  # said at once: no question whose yes would be refused
                self._not_exported(refusal)
                return None
            if not confirm_replace(str(dest)):
                self.status.value = f"kept {dest.name}: nothing written"
                return None
            overwrite = True
        labels = self._labels_for(layer)
        self._cancel.clear()
        self.run_button.enabled, self.cancel_button.enabled = False, True
        self.status.value = "writing…"
        self.progress = progress(total=0, desc=f"Exporting {dest.name}")
        self.worker = self._write(layer, labels, str(dest), overwrite, options)
        self.worker.yielded.connect(self._on_progress)
        self.worker.returned.connect(self._done)
        self.worker.errored.connect(self._failed)
        self.worker.start()
        return self.worker

    def _labels_for(self, layer: Any) -> list[Any]:
        if not isinstance(layer, Image) or not self.with_labels.value or layer.rgb:
            return []
        shape = _convert.levels_of(layer.data)[0].shape
        return [other for other in self.viewer.layers
                if isinstance(other, Labels) and tuple(_convert.levels_of(other.data)[0].shape) == tuple(shape)]  # fmt: skip

    def cancel(self, *_: Any) -> None:
        self._cancel.set()
        self.status.value = "cancelling…"

    @thread_worker(ignore_errors=True)  # type: ignore[untyped-decorator]  # napari.qt.threading is not annotated
    def _write(self, layer: Any, labels: list[Any], dest: str, overwrite: bool, options: WriteOptions) -> Any:
        """Yields (done, total) while a helper thread writes; returns the path, or None when cancelled.

        The write runs in a plain thread so that its progress callback can feed a queue; this generator hands
        each update to the main thread (``yielded``), where napari's progress bar lives."""
        updates: queue.Queue[tuple[str, Any]] = queue.Queue()
        pair = (layer.data, _layer_meta(layer))

        def report(done: int, total: int) -> None:
            if self._cancel.is_set():
                raise ngffkit.WriteCancelled("cancelled", where=dest)
            updates.put(("progress", (done, total)))

        def write() -> None:
            try:
                if isinstance(layer, Labels):
                    _convert.write_label_image(dest, *pair, options, overwrite=overwrite, progress=report)
                else:
                    _convert.write_images(dest, [pair], options, overwrite=overwrite, progress=report)
                    for other in labels:
                        _convert.write_labels_into(dest, other.data, _layer_meta(other), options, overwrite=False)
                updates.put(("done", dest))
            except ngffkit.WriteCancelled:
                updates.put(("cancelled", None))
            except BaseException as exc:
                updates.put(("error", exc))

        threading.Thread(target=write, name="ngffkit-export", daemon=True).start()
        while True:
            kind, value = updates.get()
            if kind == "progress":
                yield value
            elif kind == "done":
                return value
            elif kind == "cancelled":
                return None
            else:
                raise value

    def _on_progress(self, update: tuple[int, int]) -> None:
        """Move napari's progress bar: its activity dock follows ``update()`` (the value event); setting ``n``
        only changed the text, and the bar stayed at 0% for the whole export."""
        done, total = update
        if self.progress is not None:
            if self.progress.total != total:
                self.progress.total = total
            self.progress.update(done - self.progress.n)

    def _finish(self) -> None:
        self.run_button.enabled, self.cancel_button.enabled = True, False
        if self.progress is not None:
            self.progress.close()

    def _done(self, dest: str | None) -> None:
        self._finish()
        if dest is None:
            self.status.value = "cancelled: nothing was kept"
            show_info("Export cancelled; nothing was kept.")
            return
        self.status.value = f"written: {dest}"
        show_info(f"Exported {Path(dest).name}")
        if self.open_result.value:
            self.viewer.open(dest, plugin="ngffkit")

    def _failed(self, exc: BaseException) -> None:
        self._finish()
        self._not_exported(exc)

    def _not_exported(self, exc: BaseException) -> None:
        reason = describe(exc) if isinstance(exc, ngffkit.NGFFError) else f"{type(exc).__name__}: {exc}"
        self.status.value = f"not exported: {reason}"
        show_error(f"Not exported: {reason}")


def _layer_meta(layer: Any) -> dict[str, Any]:
    """What napari hands a writer for this layer (its ``as_layer_data_tuple`` metadata)."""
    return dict(layer.as_layer_data_tuple()[1])
