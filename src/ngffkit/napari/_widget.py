"""The pyramid widget: export a layer as a multiscale OME-Zarr in the background.

The write runs off the main thread: the viewer stays responsive, napari's activity dock shows the progress
bar, and Cancel stops the write at the next progress step. A cancelled or failed write removes what
it had started (the metadata is written last, so there was never a half-valid image to keep).
"""

from __future__ import annotations

import json
import queue
import shutil
import threading
from pathlib import Path
from typing import Any

from magicgui.types import FileDialogMode
from magicgui.widgets import CheckBox, ComboBox, Container, FileEdit, Label, LineEdit, PushButton, SpinBox
from napari.layers import Image, Labels
from napari.qt.threading import thread_worker
from napari.utils import progress
from napari.utils.notifications import show_error, show_info
from napari.viewer import Viewer

import ngffkit
from ngffkit.formats import WRITE_FORMATS
from ngffkit.napari._writer import _axes
from ngffkit.writer.options import COMPRESSORS
from ngffkit.writer.pyramid import LABEL_SAFE_METHODS, METHODS


class Cancelled(Exception):
    """Raised from the progress callback to stop a write the user cancelled."""


class PyramidWidget(Container):
    """Layer, destination, NGFF version, levels/factors, method, chunks, compression, shards."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer
        self.layer = ComboBox(label="layer", choices=self._layer_choices)
        self.output = FileEdit(label="output", mode=FileDialogMode.OPTIONAL_FILE, filter="*.zarr")
        versions = [f.version for f in WRITE_FORMATS]
        self.version = ComboBox(label="NGFF version", choices=versions, value=versions[0])
        self.levels = SpinBox(label="levels (0 = auto)", min=0, max=16, value=0)
        self.factors = LineEdit(label="factors", value="", tooltip='2, [3, 9] or {"z": 2, "y": 2, "x": 2}')
        self.method = ComboBox(label="method", choices=list(METHODS), value="mean")
        self.chunks = LineEdit(label="chunks", value="", tooltip="e.g. 64,256,256 (empty: automatic)")
        self.compressor = ComboBox(label="compression", choices=list(COMPRESSORS), value="zstd")
        self.shards = LineEdit(label="shards (0.5+)", value="")
        self.open_result = CheckBox(text="open the result", value=True)
        self.run_button = PushButton(text="Write pyramid")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.status = Label(value="")
        super().__init__(widgets=[self.layer, self.output, self.version, self.levels, self.factors, self.method,
                                  self.chunks, self.compressor, self.shards, self.open_result, self.run_button,
                                  self.cancel_button, self.status])  # fmt: skip
        self.layer.changed.connect(self._default_method)
        self.run_button.changed.connect(self.start)
        self.cancel_button.changed.connect(self.cancel)
        viewer.layers.events.inserted.connect(self.layer.reset_choices)
        viewer.layers.events.removed.connect(self.layer.reset_choices)
        self.worker: Any = None
        self.progress: Any = None
        self._cancel = False
        self._default_method()

    def _layer_choices(self, _: Any = None) -> list[tuple[str, Any]]:
        return [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, Image | Labels)]

    def _default_method(self, *_: Any) -> None:
        """Labels default to a label-safe method; images to a block mean."""
        layer = self.layer.value
        if isinstance(layer, Labels) and self.method.value not in LABEL_SAFE_METHODS:
            self.method.value = "mode"
        elif isinstance(layer, Image) and self.method.value == "mode":
            self.method.value = "mean"

    def write_options(self) -> dict[str, Any]:
        """The write options from the form (ValueError with a clear message when a field is wrong)."""
        factors = None
        if self.factors.value.strip():
            try:
                factors = json.loads(self.factors.value)
            except json.JSONDecodeError:
                raise ValueError(
                    f'factors {self.factors.value!r}: use 2, [3, 9] or {{"z": 2, "y": 2, "x": 2}}'
                ) from None

        def shape(text: str, what: str) -> tuple[int, ...] | None:
            if not text.strip():
                return None
            try:
                return tuple(int(x) for x in text.replace(" ", "").split(","))
            except ValueError:
                raise ValueError(f"{what} {text!r}: use comma-separated integers") from None

        return {
            "version": self.version.value,
            "levels": self.levels.value or None,
            "scale_factors": factors,
            "method": self.method.value,
            "chunks": shape(self.chunks.value, "chunks"),
            "shards": shape(self.shards.value, "shards"),
            "compressor": self.compressor.value,
        }

    def start(self, *_: Any) -> Any:
        layer = self.layer.value
        dest = str(self.output.value)
        if layer is None or not dest or dest == ".":
            show_error("Choose a layer and an output path.")
            return None
        try:
            options = self.write_options()
        except ValueError as exc:
            show_error(str(exc))
            return None
        if Path(dest).exists():
            from ngffkit.napari._writer import confirm_overwrite

            if not confirm_overwrite(dest):
                show_error(f"Not written: {dest} already exists.")
                return None
            options["overwrite"] = True
        self._cancel = False
        self.run_button.enabled, self.cancel_button.enabled = False, True
        self.status.value = "writing…"
        self.progress = progress(total=0, desc=f"OME-Zarr: {Path(dest).name}")
        self.worker = self._write(layer, dest, options)
        self.worker.yielded.connect(self._on_progress)
        self.worker.returned.connect(self._done)
        self.worker.errored.connect(self._failed)
        self.worker.start()
        return self.worker

    def cancel(self, *_: Any) -> None:
        self._cancel = True
        self.status.value = "cancelling…"

    @thread_worker
    def _write(self, layer: Any, dest: str, options: dict[str, Any]) -> Any:
        """Yields (done, total) while a helper thread writes; returns the path, or None when cancelled.

        The write itself runs in a plain thread so that its progress callback can feed a queue; this
        generator passes each update to the main thread (``yielded``), where napari's progress bar lives.
        """
        data = layer.data if not layer.multiscale else list(layer.data)
        base = data[0] if isinstance(data, list) else data
        axes = _axes({"axis_labels": layer.axis_labels, "units": getattr(layer, "units", None)}, len(base.shape))
        if isinstance(layer, Labels) and options["method"] not in LABEL_SAFE_METHODS:
            options["method"] = "mode"
        updates: queue.Queue[tuple[str, Any]] = queue.Queue()

        def report(done: int, total: int) -> None:
            if self._cancel:
                raise Cancelled
            updates.put(("progress", (done, total)))

        def write() -> None:
            try:
                ngffkit.write_image(data, dest, axes=axes, scale=list(layer.scale), translation=list(layer.translate),
                                    name=layer.name, progress=report, **options)  # fmt: skip
                if isinstance(layer, Labels):
                    ngffkit.write_labels(base, dest, layer.name, colors="auto", method=options["method"])
                updates.put(("done", dest))
            except BaseException as exc:
                shutil.rmtree(dest, ignore_errors=True)  # never leave a partial write behind
                updates.put(("cancelled" if isinstance(exc, Cancelled) else "error", exc))

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
        done, total = update
        if self.progress is not None:
            self.progress.total = total
            self.progress.n = done
            self.progress.refresh()

    def _finish(self) -> None:
        self.run_button.enabled, self.cancel_button.enabled = True, False
        if self.progress is not None:
            self.progress.close()

    def _done(self, dest: str | None) -> None:
        self._finish()
        if dest is None:
            self.status.value = "cancelled: nothing was kept"
            show_info("Pyramid export cancelled; nothing was kept.")
            return
        self.status.value = f"written: {dest}"
        show_info(f"Wrote OME-Zarr {dest}")
        if self.open_result.value:
            self.viewer.open(dest, plugin="ngffkit")

    def _failed(self, exc: BaseException) -> None:
        self._finish()
        self.status.value = f"failed: {exc}"
        show_error(f"Pyramid export failed: {exc}")
