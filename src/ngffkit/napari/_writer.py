"""The writer contributions (File > Save Layers): napari layers to OME-Zarr, keeping what makes the view.

napari hands each writer the path typed in its Save dialog and the layers as ``(data, meta)``; what is written
is worked out in :mod:`ngffkit.napari._convert`. An existing destination is only replaced after the user
confirms, and then only by ngffkit's own rules (a zarr node, nothing else; never the data being saved).

Anything that keeps the layers from being saved -- a refusal, a declined replace, a failing disk -- raises
:class:`NotSaved`, whose text leads with the reason. napari shows a writer's exception as one notification, and
that is the only message: a writer that returned "nothing written" instead had its own toast covered at once by
napari's generic "File ... save failed. Plugin 'ngffkit' tried to save layers but did not return any written
paths" (napari 0.9's Save dialog turns an empty answer into that error). Raising is the only way a writer has to
say "not saved"; napari's exception hook then also echoes the notification to the terminal (its console
notification level, by default every notification), formatting the exception's traceback -- 80 lines with the
layers' data in the locals of each frame, for a refusal that is the person's to act on, not a bug. A
:class:`NotSaved` therefore shows no traceback (:attr:`NotSaved.__traceback__` reads None) and no chained error:
the echo is the message. The error that stopped the save is kept on :attr:`NotSaved.error` for whoever debugs.

When napari's own Save dialog chose the destination and it is an existing file, the dialog has already asked
whether to replace it (Qt's file dialog confirms every existing file); ngffkit does not ask a second time (the
writer's own rules still refuse anything that is not a zipped OME-Zarr). A folder is never confirmed by that
dialog, and a script's ``viewer.layers.save`` asks nothing: ngffkit asks then.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType
from typing import Any

from napari.utils.notifications import show_info

import ngffkit
from ngffkit.napari import _convert
from ngffkit.napari._dialogs import confirm_replace
from ngffkit.napari._napari_adapter import in_save_dialog
from ngffkit.napari._notify import describe
from ngffkit.writer.destination import replace_refusal

FullLayerData = tuple[Any, dict[str, Any], str]
#: The descriptor of every exception's traceback, which :class:`NotSaved` hides behind its own.
_TRACEBACK: Any = vars(BaseException)["__traceback__"]


class NotSaved(Exception):
    """The layers were not saved; the message says why, in words a person can act on.

    Not a ``ValueError``: napari takes a ``ValueError`` from a writer for "this plugin has no writer for these
    layers" and would replace the reason with a message of its own. Its traceback reads None: what napari
    formats of it -- the notification's "View traceback", the terminal's echo -- is the message alone."""

    def __init__(self, reason: str, error: BaseException | None = None) -> None:
        super().__init__(f"Not saved: {reason}")
        self.message = str(self)  # what napari's error notification shows
        #: The error that stopped the save (None: a refusal of the writer's own), with its traceback.
        self.error = error

    @property
    def __traceback__(self) -> None:  # read by napari's formatting of the notification
        return None

    @__traceback__.setter
    def __traceback__(self, value: TracebackType | None) -> None:
        _TRACEBACK.__set__(self, value)  # Python's own raising sets it in C, unaffected


def _failure(exc: BaseException, path: str) -> NotSaved:
    if isinstance(exc, ngffkit.NGFFError):
        return NotSaved(describe(exc), exc)
    return NotSaved(f"{exc.strerror or exc} -- in {path}" if isinstance(exc, OSError) else str(exc), exc)


def _guarded(path: str, work: Callable[[bool], Any]) -> list[str]:
    """Run a write, asking before anything existing is replaced -- once: not again when napari's Save dialog
    asked about this file -- every failure one :class:`NotSaved`."""
    overwrite = False
    refusal = replace_refusal(path) if os.path.isdir(path) else None
    if refusal is not None:  # refused whatever the person would answer: said without asking
        raise NotSaved(describe(refusal), refusal)
    if os.path.lexists(path):
        asked = os.path.isfile(path) and in_save_dialog()  # napari's file dialog asked about this file
        if not asked and not confirm_replace(path):
            raise NotSaved(f"{os.path.basename(path)!r} already exists and was kept.")
        overwrite = True  # still only what ngffkit's rules allow: a zarr node or a zipped OME-Zarr
    try:
        work(overwrite)
    except (ngffkit.NGFFError, OSError) as exc:
        raise _failure(exc, path) from None
    show_info(f"Saved {os.path.basename(path)} (OME-Zarr)")
    return [path]


def write_image_layer(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """One image layer to an OME-Zarr image (also a zipped .ozx); multiscale layers keep their pyramid's levels."""
    return _guarded(path, lambda overwrite: _convert.write_images(path, [(data, meta)], overwrite=overwrite))


def write_labels_layer(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """One labels layer: added to the image at ``path`` if there is one, else saved as a label image of its own
    (which reopens as just this labels layer)."""
    try:
        existing = ngffkit.open(path) if os.path.isdir(path) else None
    except ngffkit.NGFFError:
        existing = None
    if isinstance(existing, ngffkit.Image) and not existing.is_label:
        name = _convert.label_name(meta)
        replacing = name in existing.label_names
        if replacing and not confirm_replace(f"{path} (label image {name!r})"):
            raise NotSaved(f"the label image {name!r} exists and was kept.")
        try:
            _convert.write_labels_into(path, data, meta, overwrite=replacing)
        except (ngffkit.NGFFError, OSError) as exc:
            raise _failure(exc, path) from None
        show_info(f"Saved labels {name!r} into {os.path.basename(path)}")
        return [path]
    return _guarded(path, lambda overwrite: _convert.write_label_image(path, data, meta, overwrite=overwrite))


def write_layers(path: str, layer_data: list[FullLayerData]) -> list[str]:
    """Image layers (as channels of one image) together with labels layers (as its labels)."""
    images = [(d, m) for d, m, kind in layer_data if kind == "image"]
    labels = [(d, m) for d, m, kind in layer_data if kind == "labels"]

    def work(overwrite: bool) -> None:
        _convert.write_images(path, images, overwrite=overwrite)
        for data, meta in labels:
            _convert.write_labels_into(path, data, meta, overwrite=False)

    return _guarded(path, work)
