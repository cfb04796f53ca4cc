"""File > Open OME-Zarr URL…: a small dialog for http(s), s3 and gs URLs, with S3 access options."""

from __future__ import annotations

import json
from typing import Any

from magicgui.widgets import CheckBox, ComboBox, Container, LineEdit, PushButton
from napari.utils.notifications import show_error, show_info
from napari.viewer import Viewer

import ngffkit
from ngffkit.napari._layers import node_layers

ANONYMOUS = {"automatic": None, "anonymous": True, "signed (use my credentials)": False}


def storage_options_from(anonymous: str, options_json: str) -> dict[str, Any] | None:
    """Parse the dialog's fields into fsspec storage options (raises ValueError with a clear message)."""
    options: dict[str, Any] = {}
    if options_json.strip():
        try:
            parsed = json.loads(options_json)
        except json.JSONDecodeError as exc:
            raise ValueError(f"storage options are not JSON: {exc.msg}") from None
        if not isinstance(parsed, dict):
            raise ValueError("storage options must be a JSON object")
        options.update(parsed)
    choice = ANONYMOUS.get(anonymous)
    if choice is not None:
        options["anon"] = choice
    return options or None


def open_url(viewer: Any, url: str, anonymous: str = "automatic", options_json: str = "") -> int:
    """Open ``url`` in ``viewer``; returns the number of layers added (0, with a notification, on errors)."""
    url = url.strip()
    if not url:
        show_error("Enter the URL of an OME-Zarr (http, https, s3 or gs).")
        return 0
    try:
        node = ngffkit.open(url, storage_options=storage_options_from(anonymous, options_json))
        layers = node_layers(node)
    except (ngffkit.NGFFError, ValueError) as exc:
        show_error(f"Could not open {url}: {exc}")
        return 0
    for data, kwargs, kind in layers:
        getattr(viewer, f"add_{kind}")(data, **kwargs)
    show_info(f"Opened {node.kind} {url} (NGFF {node.version})")
    return len(layers)


class OpenURLDialog(Container):
    """URL, S3 access mode, optional storage options as JSON, and an Open button."""

    def __init__(self, viewer: Any) -> None:
        self.viewer = viewer
        self.url = LineEdit(label="URL", tooltip="https://…, s3://bucket/…, gs://…")
        self.anonymous = ComboBox(label="S3 access", choices=list(ANONYMOUS), value="automatic")
        self.storage_options = LineEdit(label="storage options (JSON)", value="")
        self.close_after = CheckBox(text="close after opening", value=True)
        self.open_button = PushButton(text="Open")
        super().__init__(widgets=[self.url, self.anonymous, self.storage_options, self.close_after, self.open_button])
        self.open_button.changed.connect(self._open)
        self.opened = 0

    def _open(self, *_: Any) -> None:
        self.opened = open_url(self.viewer, self.url.value, self.anonymous.value, self.storage_options.value)
        if self.opened and self.close_after.value:
            self.native.parentWidget().close() if self.native.parentWidget() else self.close()


def show_open_url_dialog(viewer: Viewer) -> OpenURLDialog:
    """The command behind File > Open OME-Zarr URL…: dock the dialog on the viewer."""
    dialog = OpenURLDialog(viewer)
    viewer.window.add_dock_widget(dialog, name="Open OME-Zarr URL", area="right")
    return dialog
