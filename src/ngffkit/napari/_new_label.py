"""napari's "new label" (key M, the layer controls' *new* button) in an editing layer: an id new to the WHOLE label
image (issue 34).

napari's own ``new_label`` gives the largest value of the layer's data plus one. An editing layer holds only the
region opened for editing, so that id may be one that objects elsewhere in the label image already have, and the
"new" cell would be merged with them on save. In an editing layer the key and the button give instead the next id
above everything this proofreading session knows to be used:

* the largest value of level 0 as stored -- read off napari's thread as soon as the label image is first opened for
  editing (:func:`ngffkit.writer.edit_ids.largest_label`: bounded blocks of whole shards or chunks, stoppable,
  progress shown in the dock), kept for the session and raised by what each save writes. Reading it is minutes for
  a large image on an object store, and any guess may collide: when M is pressed before it is known, one
  notification says so and the new id is selected as soon as it is (nothing is selected meanwhile);
* the ``image-label`` colours and properties' values (known at once, a lower bound);
* every editing layer of this label image, saved or not (another region's new cell counts);
* every id handed out by an earlier press (M, paint, M gives two new ids). M with the id it last gave still
  unpainted keeps it and says so, as napari does.

An id the labels' data type cannot hold is never chosen: a full uint8 image says so once.

The read is started per editing session rather than cached per URL for the life of napari: a label image can be
rewritten by others between sessions, and a too-small cached maximum is exactly the collision this prevents. A save
refused because someone else saved meanwhile reads it again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
from napari.layers import Labels
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_error, show_info, show_warning

from ngffkit.errors import NGFFError
from ngffkit.napari._napari_adapter import new_label_buttons
from ngffkit.napari._notify import describe
from ngffkit.reader import Image
from ngffkit.writer import edit_ids

#: napari's action that its "new label" key triggers (the settings name the keys the person chose for it).
NEW_LABEL_ACTION = "napari:new_label"


def new_label_keys() -> list[Any]:
    """The keys bound to napari's "new label" (M unless the person changed it in napari's preferences)."""
    from napari.settings import get_settings

    keys = get_settings().shortcuts.shortcuts.get(NEW_LABEL_ACTION) or []
    return list(keys) or ["M"]


def largest_in(layer: Labels) -> int:
    """The largest value an editing layer holds now (0 for an empty one)."""
    data = np.asarray(layer.data)
    return int(data.max()) if data.size else 0


def reason(error: BaseException) -> str:
    """What a failed read says: an NGFFError's reason and where, else the exception's text."""
    return describe(error) if isinstance(error, NGFFError) else f"{type(error).__name__}: {error}"


def read_largest(labels: Image) -> Generator[tuple[int, int], None, int]:
    """The largest value of level 0 (returned), yielding (blocks read, blocks in all) between blocks: napari's
    worker can stop it at each yield."""
    largest = 0
    for done, total, so_far in edit_ids.largest_label_steps(labels):
        largest = so_far
        yield done, total
    return largest


class NewIds:
    """The ids that "new label" hands out in the editing layers of one label image (module docstring)."""

    def __init__(self, labels: Image, layers: Callable[[], list[Labels]], status: Callable[[str], None]) -> None:
        self.labels = labels
        self.name = labels.url.rstrip("/").rsplit("/", 1)[-1]
        self._layers = layers
        self._status = status
        #: The largest value of level 0 as stored, once read (None until then).
        self.largest: int | None = None
        #: Ids known to be taken besides level 0: listed in image-label, written by a save.
        self.floor = edit_ids.listed_largest(labels)
        #: The largest id handed out (0: none yet).
        self.handed = 0
        #: The layers whose "new label" waits for the read, each with the label selected when it was asked for.
        self.waiting: list[tuple[Labels, int]] = []
        #: The last read failed: the next press reads again.
        self.failed = False
        self._reads = 0
        #: The dock shows the read's progress (a read of more than one block): it says when the read ends too.
        self._progress_shown = False
        self._worker: Any = None
        self.read()

    # --- the largest id of level 0 ----------------------------------------------------------------------

    def read(self) -> None:
        """(Re)start reading the largest value of level 0 off napari's thread; a read under way stops."""
        self.stop()
        self._reads += 1
        number = self._reads
        self.largest = None
        self.failed = False
        worker = thread_worker(read_largest, ignore_errors=True)(self.labels)
        worker.yielded.connect(lambda step: self._progressed(number, *step))
        worker.returned.connect(lambda value: self._found(number, value, ""))
        worker.errored.connect(lambda exc: self._found(number, None, reason(exc)))
        self._worker = worker
        worker.start()

    def _progressed(self, number: int, done: int, total: int) -> None:
        if number == self._reads and self.largest is None and total > 1:
            self._progress_shown = True
            self._status(f"Finding the largest label id in {self.name}: {done} of {total} blocks read.")

    def _found(self, number: int, value: int | None, error: str) -> None:
        if number != self._reads:
            return
        self._worker = None
        waiting, self.waiting = self.waiting, []
        if value is None:
            self.failed = True
            show_error(f"Cannot find a label id new to {self.name}: {error}")
            return
        self.largest = value
        if self._progress_shown:  # else the dock keeps saying what it said (a small image: read at once)
            self._status(f"The largest label id in {self.name} is {value}: M gives a new one.")
        layers = self._layers()
        for layer, selected in waiting:  # unless the layer is gone, or the person chose another label meanwhile
            if any(layer is known for known in layers) and layer.selected_label == selected:
                self._give(layer)

    def stop(self) -> None:
        """Stop reading (napari is closing, or the dock is; or a new read starts): at the next block."""
        if self._worker is not None:
            self._worker.quit()
            self._worker = None

    def saved(self, largest: int) -> None:
        """A save wrote values up to ``largest``: ids up to it are taken, whatever level 0 was read as."""
        self.floor = max(self.floor, largest)

    # --- handing out ------------------------------------------------------------------------------------

    def press(self, layer: Labels) -> None:
        """The person asked for a new label in ``layer`` (key M or the *new* button)."""
        if self.largest is None:
            if not any(layer is waiting for waiting, _ in self.waiting):
                self.waiting.append((layer, layer.selected_label))
                show_info(f"Finding the largest label id in all of {self.name} (reading level 0): the new label "
                          "is selected as soon as it is known.")  # fmt: skip
            if self.failed:
                self.read()
            return
        self._give(layer)

    def _give(self, layer: Labels) -> None:
        painted = max([self.largest or 0, self.floor, *(largest_in(each) for each in self._layers())])
        if self.handed > painted and layer.selected_label == self.handed:
            show_info(f"Label {self.handed} is new and not painted yet: paint with it first, M then gives the "
                      "next one.")  # fmt: skip
            return
        new = max(painted, self.handed) + 1
        dtype = np.dtype(layer.data.dtype)
        if dtype.kind in "iu" and new > np.iinfo(dtype).max:
            show_warning(f"No new label fits {self.name}: its data type {dtype} goes up to {np.iinfo(dtype).max}, "
                         "and that id is taken already.")  # fmt: skip
            return
        self.handed = new
        layer.selected_label = new
        self._status(f"New label {new}: no pixel of {self.name} has it.")


def bind_new_label(viewer: Any, layer: Labels, ids: NewIds) -> None:
    """Have napari's "new label" key and the layer controls' *new* button of ``layer`` hand out ids new to the
    whole label image (only this layer's: other labels layers keep napari's)."""

    def press(_: Any) -> None:  # napari passes a proxy of the layer: the layer itself is this one
        ids.press(layer)

    for key in new_label_keys():
        layer.bind_key(key, press, overwrite=True)
    for button in new_label_buttons(viewer, layer):
        with contextlib.suppress(TypeError, RuntimeError):  # PyQt refuses to disconnect what has no connection
            button.clicked.disconnect()
        button.clicked.connect(lambda *_: ids.press(layer))
