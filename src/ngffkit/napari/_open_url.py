"""File > IO Utilities > Open OME-Zarr URL…: a small dock for http(s), s3 and gs URLs, with S3 access options.

Opening a remote dataset takes round trips, and a server may never answer. The metadata is read in a worker
thread: napari stays responsive, an activity bar says what is being opened, Cancel (or the dialog's own time
limit) drops the attempt at once, and the layers are added when they are ready. A superseded or cancelled
attempt's late result is discarded; its thread ends by itself at the network deadline
(:mod:`ngffkit.store.limits`).
"""

from __future__ import annotations

import json
from typing import Any

from magicgui.widgets import CheckBox, ComboBox, Container, Label, LineEdit, PushButton
from napari.qt.threading import thread_worker
from napari.utils import progress
from napari.utils.notifications import show_error, show_info
from napari.viewer import Viewer
from qtpy.QtCore import QTimer

import ngffkit
from ngffkit.errors import redact
from ngffkit.napari._layers import node_layers
from ngffkit.napari._notify import describe
from ngffkit.napari._plain_text import plain
from ngffkit.napari._plate_open import offer_navigator

ANONYMOUS = {"automatic": None, "anonymous": True, "signed (use my credentials)": False}
#: The URL last opened, so that the dock, closed after opening, shows it again next time -- for this napari
#: session only (nothing is written to disk). Its storage options are not kept: another URL may need others,
#: and options for one server (an S3 endpoint) broke the next URL opened.
_LAST: dict[str, str] = {}
DOCK_NAME = "Open OME-Zarr URL"
#: Seconds the dialog waits for a dataset before it gives up (the read itself is bounded by NGFFKIT_DEADLINE).
TIME_LIMIT = 60.0


def storage_options_from(anonymous: str, options_json: str) -> dict[str, Any] | None:
    """Parse the dialog's fields into fsspec storage options (raises ValueError with a clear message)."""
    options: dict[str, Any] = {}
    if options_json.strip():
        try:
            parsed = json.loads(options_json)
        except json.JSONDecodeError as exc:
            # not chained: a JSONDecodeError keeps the whole text, and storage options hold keys and tokens
            raise ValueError(f"storage options are not JSON: {exc.msg}") from None
        if not isinstance(parsed, dict):
            raise ValueError("storage options must be a JSON object")
        options.update(parsed)
    choice = ANONYMOUS.get(anonymous)
    if choice is not None:
        options["anon"] = choice
    return options or None


def load(url: str, storage_options: dict[str, Any] | None) -> tuple[Any, list[Any]]:
    """The node at ``url`` and its layer data (runs in a worker thread)."""
    node = ngffkit.open(url, storage_options=storage_options)
    return node, node_layers(node)


class OpenURLDialog(Container[Any]):
    """URL, S3 access mode, optional storage options as JSON; Open (or Return) and Cancel."""

    def __init__(self, napari_viewer: Viewer) -> None:
        self.viewer = napari_viewer
        self.url = LineEdit(label="URL", tooltip="https://…/image.ome.zarr, s3://bucket/plate.zarr, gs://…")
        self.anonymous = ComboBox(label="S3 access", choices=list(ANONYMOUS), value="automatic",
                                  tooltip="automatic: anonymous unless AWS credentials are configured")  # fmt: skip
        self.storage_options = LineEdit(label="Storage options", value="",
                                        tooltip='Extra fsspec options as JSON, e.g. {"client_kwargs": {"endpoint_url": "https://…"}}')  # fmt: skip
        self.close_after = CheckBox(text="close after opening", value=True)
        self.open_button = PushButton(text="Open")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.status = Label(value="")
        plain(self.status.native)
        super().__init__(widgets=[self.url, self.anonymous, self.storage_options, self.close_after,
                                  self.open_button, self.cancel_button, self.status])  # fmt: skip
        self.open_button.changed.connect(self.open)
        self.cancel_button.changed.connect(self.cancel)
        self.url.native.returnPressed.connect(self.open)
        self.opened = 0
        self._attempt = 0
        self._progress: Any = None
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._too_slow)

    @property
    def busy(self) -> bool:
        return self._progress is not None

    def open(self, *_: Any) -> Any:
        """Start opening the URL in the background; returns the worker (None when the form is wrong)."""
        url = self.url.value.strip()
        if not url:
            show_error("Enter the URL of an OME-Zarr (http, https, s3 or gs).")
            return None
        try:
            options = storage_options_from(self.anonymous.value, self.storage_options.value)
        except ValueError as exc:
            show_error(f"Could not open: {exc}")
            return None
        self._stop_waiting()
        self._attempt += 1
        attempt = self._attempt
        self._progress = progress(total=0, desc=f"Opening {redact(url)}")
        self.status.value = "opening…"
        self.cancel_button.enabled = True
        self._timer.start(int(TIME_LIMIT * 1000))
        worker = thread_worker(load, ignore_errors=True)(url, options)
        worker.returned.connect(lambda result: self._loaded(attempt, url, result))
        worker.errored.connect(lambda exc: self._failed(attempt, url, exc))
        worker.start()
        return worker

    def cancel(self, *_: Any) -> None:
        """Give up on the attempt in progress (its late answer will be ignored)."""
        if self.busy:
            self._attempt += 1
            self._stop_waiting()
            self.status.value = "cancelled"

    def _too_slow(self) -> None:
        if self.busy:
            self._attempt += 1
            self._stop_waiting()
            self.status.value = "no answer"
            show_error(
                f"Could not open: no complete answer within {TIME_LIMIT:g} s -- in {redact(self.url.value.strip())}"
            )

    def _stop_waiting(self) -> None:
        self._timer.stop()
        if self._progress is not None:
            self._progress.close()
            self._progress = None
        self.cancel_button.enabled = False

    def _loaded(self, attempt: int, url: str, result: tuple[Any, list[Any]]) -> None:
        if attempt != self._attempt:
            return  # cancelled or superseded
        self._stop_waiting()
        node, layers = result
        _LAST["url"] = url
        for data, kwargs, kind in layers:
            getattr(self.viewer, f"add_{kind}")(data, **kwargs)
        self.opened = len(layers)
        offer_navigator(node, self.viewer)
        self.status.value = f"opened {node.kind} (NGFF {node.version})"
        show_info(f"Opened {node.kind} {redact(url)} (NGFF {node.version})")
        if self.close_after.value and layers:
            self.viewer.window.remove_dock_widget(self.native)

    def _failed(self, attempt: int, url: str, exc: BaseException) -> None:
        if attempt != self._attempt:
            return
        self._stop_waiting()
        self.opened = 0
        reason = describe(exc) if isinstance(exc, ngffkit.NGFFError) else redact(f"{type(exc).__name__}: {exc}")
        self.status.value = "could not open"
        show_error(f"Could not open: {reason}")


def show_open_url_dialog(viewer: Viewer) -> OpenURLDialog:
    """The command behind File > IO Utilities > Open OME-Zarr URL…: one dock, shown again if already there."""
    existing = viewer.window.dock_widgets.get(DOCK_NAME)
    if isinstance(existing, OpenURLDialog):
        dock = existing.native.parent()  # the dock around it (napari's documented way to reach it)
        dock.show()
        dock.raise_()
        existing.url.native.setFocus()
        return existing
    dialog = OpenURLDialog(viewer)
    dialog.url.value = _LAST.get("url", "")
    viewer.window.add_dock_widget(dialog, name=DOCK_NAME, area="right")
    dialog.url.native.setFocus()
    return dialog
