"""Plugins ▸ ngffkit OME-Zarr ▸ Plate navigator: from the whole plate to any well and field at full resolution.

The overview (the stitched plate with its well names) comes from the reader. This dock lists the wells (row,
column, fields, acquisitions; the columns of the plate's condition tables, read in the background as the plate
opens, and of a CSV a person loads, such as condition or drug), filters them, and opens the selected well's
field -- image and labels, every level -- as its own layers placed exactly on the well's cell, replacing the
previous well's layers. A well is chosen in the table, with Previous/Next, or by
clicking it in the overview. Opening runs in a worker thread; a newer choice supersedes an older one, whose
late answer is dropped. Everything it knows about the plate comes from the GUI-free core
(:mod:`ngffkit.reader.plate_map`; its columns: :mod:`ngffkit.napari._plate_columns`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal

from napari.layers import Layer
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_error
from napari.viewer import Viewer
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import ngffkit
from ngffkit.errors import redact
from ngffkit.layer_data.identity import source_key
from ngffkit.metadata.text import printable
from ngffkit.napari._notify import describe
from ngffkit.napari._plain_text import plain
from ngffkit.napari._plate_columns import cell_text, csv_columns, read_conditions
from ngffkit.napari._plate_open import WELL_VIEW, placed_on_cell, plate_title, well_layer_data
from ngffkit.napari._plate_places import cell_origin, grid_shape, inside_grid, wells_layer, zoom_to
from ngffkit.napari._responsive import overview_views
from ngffkit.napari._well_layers import coarsest_read, one_layer_each, show_steps
from ngffkit.reader.plate_map import (
    WELL_COLUMNS,
    WellRow,
    field_offset,
    well_at,
    well_table,
    with_columns,
)
from ngffkit.tools.well_columns import WellColumns

#: The pause between two steps of showing a well. A zero-time timer is a posted event in Qt 6, run before the
#: draw that the step before asked for and before any timer that is due: two steps and a draw then ran as one
#: stop of the event loop (60-140 ms). A pause of about a frame lets napari draw each step and answer between.
STEP_PAUSE_MS = 20


def _layers_each(plate: ngffkit.Plate, well: str, field: int) -> list[Any]:
    """The field's layers, one per channel (:func:`one_layer_each`); in the worker thread, since cutting dask arrays
    by channel took napari's GUI thread 10-30 ms a switch."""
    return coarsest_read(one_layer_each(well_layer_data(plate, well, field)))


class PlateNavigator(QWidget):
    """The well table, a filter, the field number, Previous/Next, and a CSV of per-well columns."""

    def __init__(self, napari_viewer: Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.plate: ngffkit.Plate | None = None
        self.overview: Layer | None = None
        self.rows: list[WellRow] = []
        self.columns: tuple[str, ...] = ()  # columns of condition tables and CSVs, and their values by well
        self.values: dict[str, dict[str, str]] = {}
        self.well: str | None = None
        self._choice = 0  # the newest request; older answers are dropped
        self.title = plain(QLabel("Open a plate to browse its wells."))
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter: a well, row, condition, drug …")
        self.table = QTableWidget()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.field = QSpinBox()
        self.field.setToolTip("Which field of view of the well to show at full resolution (counted within the "
                              "chosen acquisition)")  # fmt: skip
        self.acquisition = QComboBox()
        self.acquisition.setToolTip("Show the fields of one acquisition only (plates imaged more than once)")
        self.previous_button, self.next_button = QPushButton("◀ Previous well"), QPushButton("Next well ▶")
        self.previous_button.setToolTip("The previous well of the table (Page Up)")
        self.next_button.setToolTip("The next well of the table (Page Down)")
        self.every_field = QCheckBox("every field of a well in the overview")
        self.every_field.setToolTip("Tile all fields of each well inside its cell instead of the first one")
        self.csv_button = QPushButton("Add columns from a CSV…")
        self.csv_button.setToolTip("A table with a 'well' column (B3, B03, B/3) or 'row' and 'column' columns")
        self.status = plain(QLabel(""))
        self._lay_out()
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.filter.textChanged.connect(self._apply_filter)
        self.field.valueChanged.connect(lambda _: self._show_current())
        self.acquisition.currentIndexChanged.connect(lambda _: self._acquisition_changed())
        self.previous_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        self.csv_button.clicked.connect(self._choose_csv)
        self.every_field.toggled.connect(self.show_every_field)
        self._connect_to_viewer()
        self.attach()

    def _connect_to_viewer(self) -> None:
        """Follow the viewer's layers, clicks and Page Up/Down (napari binds neither) -- until this dock is gone."""
        viewer, click = self.viewer, self._on_click
        inserted, removed = (lambda _: self.attach()), (lambda _: self._detach_if_gone())
        viewer.layers.events.inserted.connect(inserted)
        viewer.layers.events.removed.connect(removed)
        viewer.mouse_drag_callbacks.append(click)
        viewer.bind_key("PageDown", lambda _: self.step(1), overwrite=True)
        viewer.bind_key("PageUp", lambda _: self.step(-1), overwrite=True)

        def forget(*_: Any) -> None:  # the Qt widget is being deleted: nothing may call into it any more
            self._choice += 1  # a well still being read answers a widget that is gone: its answer is dropped
            self.plate = self.overview = None  # and so is a tiling of every field
            viewer.layers.events.inserted.disconnect(inserted)
            viewer.layers.events.removed.disconnect(removed)
            if click in viewer.mouse_drag_callbacks:
                viewer.mouse_drag_callbacks.remove(click)
            viewer.bind_key("PageDown", None, overwrite=True)
            viewer.bind_key("PageUp", None, overwrite=True)

        self.destroyed.connect(forget)

    def _lay_out(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.filter)
        layout.addWidget(self.table)
        steps = QHBoxLayout()
        steps.addWidget(QLabel("Field"))
        steps.addWidget(self.field)
        steps.addWidget(self.acquisition)
        steps.addWidget(self.previous_button)
        steps.addWidget(self.next_button)
        layout.addLayout(steps)
        layout.addWidget(self.every_field)
        layout.addWidget(self.csv_button)
        layout.addWidget(self.status)

    # --- the plate -------------------------------------------------------------------------------------

    def attach(self) -> None:
        """Follow the newest plate overview in the viewer (the layer the reader made for it)."""
        overview = next((lay for lay in reversed(self.viewer.layers) if isinstance(lay.metadata.get("ngff_node"),
                                                                                   ngffkit.Plate)), None)  # fmt: skip
        if overview is None or overview is self.overview:
            return
        if self.overview is not None:  # the last plate's well leaves with it: this navigator shows the new plate
            QTimer.singleShot(0, self._remove_well_layers)  # after napari's insertion of the new plate's layers
        self.overview, self.plate = overview, overview.metadata["ngff_node"]
        assert self.plate is not None
        self.columns, self.values, self.well = (), {}, None
        self.status.setText("")
        self.field.blockSignals(True)
        self.field.setValue(0)  # a new plate starts at its first field (another plate's choice means nothing here)
        self.field.blockSignals(False)
        self.rows = well_table(self.plate, read_wells=False)  # at once: the wells' own metadata come in a worker
        kinds = f"{len(self.rows)} wells, {len(self.plate.rows)} rows x {len(self.plate.columns)} columns"
        acquisitions = len(self.plate.acquisitions)
        self.title.setText(
            f"{plate_title(self.plate)}: {kinds}" + (f", {acquisitions} acquisitions" if acquisitions else "")
        )
        self.title.setToolTip(redact(self.plate.url))
        self.acquisition.blockSignals(True)
        self.acquisition.clear()
        self.acquisition.addItem("every acquisition", None)
        for acq in self.plate.acquisitions:
            self.acquisition.addItem(f"acquisition {acq.id}" + (f": {acq.name}" if acq.name else ""), acq.id)
        self.acquisition.setVisible(acquisitions > 1)
        self.acquisition.blockSignals(False)
        self._fill_table()
        self._read_wells()
        plate = self.plate  # its condition tables (ngio's), read in a worker, join the table like a CSV's columns
        read_conditions(plate, self._add_columns, current=lambda: plate is self.plate)

    def _read_wells(self) -> Any:
        """Read every well's metadata in a worker (a remote plate of 1536 wells takes seconds), then show the
        table with what they say (fields, acquisitions, wells that cannot be read); returns the worker."""
        plate = self.plate
        if plate is None or all(plate.is_read(path) for path in plate.well_paths):
            return None
        self.status.setText("reading the wells…")
        worker = thread_worker(plate.load_wells, ignore_errors=True)()
        worker.returned.connect(lambda _: self._wells_read(plate))
        worker.errored.connect(lambda exc: show_error(f"Could not read the wells: {describe(exc)}"))
        worker.start()
        return worker

    def _wells_read(self, plate: ngffkit.Plate) -> None:
        if plate is not self.plate:
            return  # another plate meanwhile
        self.rows = with_columns(well_table(plate, read_wells=False), self.values)
        self._fill_table(self.columns)
        if self.well is not None:
            self.select(self.well)  # the same well stays chosen (and is not opened again)
        if self.status.text() == "reading the wells…":
            self.status.setText("")

    def _detach_if_gone(self) -> None:
        """The plate's overview was removed: forget the plate (and show the next one still open, if any)."""
        if self.overview is None or self.overview in self.viewer.layers:
            return
        self.overview, self.plate, self.rows, self.well = None, None, [], None
        # once napari's own removal is over: it may be removing well layers itself (Delete with all selected)
        QTimer.singleShot(0, self._remove_well_layers)
        self.table.setRowCount(0)
        self.title.setText("Open a plate to browse its wells.")
        self.status.setText("")
        self.attach()

    def _fill_table(self, extra: tuple[str, ...] = ()) -> None:
        headers = [*WELL_COLUMNS, *extra]
        self.table.setSortingEnabled(False)
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setRowCount(len(self.rows))
        self.table.setHorizontalHeaderLabels([printable(h) for h in headers])
        for i, row in enumerate(self.rows):
            for j, column in enumerate(headers):
                item = QTableWidgetItem(cell_text(row, column))
                if column == "fields":
                    item.setData(0, row.fields)  # sorts as a number
                self.table.setItem(i, j, item)
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()
        self._apply_filter(self.filter.text())

    def add_columns_from(self, path: str) -> None:
        """Add the per-well columns of a CSV to the table; lines that match no well are reported."""
        if self.plate is None:
            show_error("Open a plate first.")
            return
        table = csv_columns(path, self.plate)
        if table is not None:
            self._add_columns(table)

    def _add_columns(self, table: WellColumns) -> None:
        """Add per-well columns (a CSV's, or the plate's condition tables') to the table."""
        if not table.values:
            return
        self.columns = tuple(dict.fromkeys((*self.columns, *table.columns)))
        for well, columns in table.values.items():
            self.values.setdefault(well, {}).update(columns)
        self.rows = with_columns(self.rows, self.values)
        self._fill_table(self.columns)

    def _choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Per-well columns", "", "Tables (*.csv *.tsv *.txt)")
        if path:
            self.add_columns_from(path)

    def _apply_filter(self, text: str) -> None:
        wanted = text.strip().lower()
        for i in range(self.table.rowCount()):
            cells = (self.table.item(i, j) for j in range(self.table.columnCount()))
            shown = not wanted or any(c is not None and wanted in c.text().lower() for c in cells)
            self.table.setRowHidden(i, not shown)

    def show_every_field(self, every: bool) -> Any:
        """Show every field of each well in the overview (or the first one again): new grids for the plate's
        image and label layers, new outlines, and the well on show moved to its field's place. The fields are
        opened in a worker thread (one batch per field index); returns the worker (None without a plate)."""
        if self.plate is None or self.overview is None:
            return None
        plate, info = self.plate, self.overview.metadata["plate"]
        which: int | Literal["all"] = "all" if every else int(info["field"])
        count = len(self.overview.data) if self.overview.multiscale else 1
        labels = {lay.metadata["label"] for lay in self._plate_layers(plate) if lay.metadata.get("label") is not None}

        def grids() -> tuple[list[Any], dict[str, list[Any]]]:
            images = [plate.grid(level, which) for level in range(count)]
            return images, {name: [plate.label_grid(name, level, which) for level in range(count)] for name in labels}

        worker = thread_worker(grids, ignore_errors=True)()
        worker.returned.connect(lambda result: self._show_grids(plate, *result))
        worker.errored.connect(lambda exc: show_error(f"Could not tile the fields: {describe(exc)}"))
        worker.start()
        return worker

    def _plate_layers(self, plate: ngffkit.Plate) -> list[Layer]:
        """The overview's label and well-name layers (not the well on show), found by the plate's source key
        (the shown ``ngff_url`` is redacted: see :mod:`ngffkit.layer_data.identity`)."""
        key = source_key(plate.url)
        return [lay for lay in self.viewer.layers
                if lay.metadata.get("ngff_source") == key and not lay.metadata.get(WELL_VIEW)]  # fmt: skip

    def _show_grids(self, plate: ngffkit.Plate, images: list[Any], labels: dict[str, list[Any]]) -> None:
        if plate is not self.plate or self.overview is None:
            return  # the plate was closed meanwhile
        axis = self.overview.metadata["plate"].get("channel_axis")
        images = overview_views(images, plate, axis)
        labels = {name: overview_views(levels, plate) for name, levels in labels.items()}
        channels = [lay for lay in self.viewer.layers if lay.metadata.get("ngff_node") is plate]
        for i, layer in enumerate(channels):
            levels = [g[(slice(None),) * axis + (i,)] for g in images] if axis is not None else images
            layer.data = levels if layer.multiscale else levels[0]
        for layer in self._plate_layers(plate):
            name = layer.metadata.get("label")
            if name in labels:
                layer.data = labels[name] if layer.multiscale else labels[name][0]
            elif layer.metadata.get("plate_wells"):  # the cells changed size: outlines and names built again
                index = self.viewer.layers.index(layer)
                self.viewer.layers.remove(layer)
                self.viewer.layers.insert(index, wells_layer(plate, images[0].shape, self.overview))
        self._show_current()

    # --- choosing a well -------------------------------------------------------------------------------

    def visible_wells(self) -> list[str]:
        """The wells the table shows, in its current order (sorting and filter applied)."""
        column = WELL_COLUMNS.index("well")
        return [item.text() for i in range(self.table.rowCount())
                if not self.table.isRowHidden(i) and (item := self.table.item(i, column)) is not None]  # fmt: skip

    def select(self, well: str) -> None:
        """Choose ``well``: select its table row (which opens it)."""
        column = WELL_COLUMNS.index("well")
        for i in range(self.table.rowCount()):
            item = self.table.item(i, column)
            if item is not None and item.text() == well:
                self.table.selectRow(i)
                return
        show_error(f"The plate has no well {well}.")

    def step(self, direction: int) -> None:
        """The previous or next well among those shown."""
        wells = self.visible_wells()
        if not wells:
            return
        index = wells.index(self.well) + direction if self.well in wells else 0
        self.select(wells[index % len(wells)])

    def _selection_changed(self) -> None:
        selected = self.table.selectedItems()
        if not selected:
            return
        item = self.table.item(selected[0].row(), WELL_COLUMNS.index("well"))
        if item is None or item.text() == self.well:
            return
        self.well = item.text()
        self._acquisition_changed()

    def field_indices(self) -> list[int]:
        """The current well's fields that belong to the chosen acquisition (every field without a choice)."""
        if self.plate is None or self.well is None:
            return []
        found = self.plate.well(self.well)
        refs = found.metadata.well.images if found is not None and found.metadata.well else ()
        wanted = self.acquisition.currentData()
        return [i for i, ref in enumerate(refs) if wanted is None or ref.acquisition == wanted]

    def _acquisition_changed(self) -> None:
        """New well or acquisition: the field box counts that acquisition's fields; show the chosen one."""
        count = len(self.field_indices())
        self.field.blockSignals(True)
        self.field.setRange(0, max(0, count - 1))
        self.field.setValue(min(self.field.value(), max(0, count - 1)))
        self.field.blockSignals(False)
        if count:
            self._show_current()
        else:
            self._remove_well_layers()
            self.status.setText(f"{self.well} has no field in this acquisition")

    def _show_current(self) -> Any:
        """Open the chosen well's field in the background; returns the worker (None when nothing is chosen)."""
        if self.plate is None or self.well is None:
            return None
        self._choice += 1
        indices = self.field_indices()
        field = indices[min(self.field.value(), len(indices) - 1)] if indices else self.field.value()
        choice, well = self._choice, self.well
        self.status.setText(f"opening {well}, field {field}…")
        zoom_to(self.viewer, self.overview, self.plate, self.rows, well)
        worker = thread_worker(_layers_each, ignore_errors=True)(self.plate, well, field)
        worker.returned.connect(lambda layers: self._show(choice, well, field, layers))
        worker.errored.connect(lambda exc: self._failed(choice, exc))
        worker.start()
        return worker

    def _show(self, choice: int, well: str, field: int, layers: list[Any]) -> None:
        if choice != self._choice or self.plate is None or self.overview is None:
            return  # a newer choice is on its way, or the plate was closed
        dy, dx = cell_origin(self.overview, self.plate, self.rows, well)
        if self.every_field.isChecked():  # the field's own place inside the cell
            oy, ox = field_offset(self.plate, well, field)
            dy, dx = dy + oy * self.overview.scale[-2], dx + ox * self.overview.scale[-1]
        placed = [(data, placed_on_cell(kwargs, well, field, dy, dx), kind) for data, kwargs, kind in layers]
        steps = show_steps(self.viewer, placed, [lay for lay in self.viewer.layers if lay.metadata.get(WELL_VIEW)])
        self._next_step(choice, steps, f"{well}, field {field}: full resolution")

    def _next_step(self, choice: int, steps: list[Callable[[], None]], done: str) -> None:
        """Run the first of ``steps``, and the rest each on a later turn of the event loop, :data:`STEP_PAUSE_MS`
        later (napari draws and answers in between: all at once stopped it 100-200 ms a switch); a newer choice
        abandons them."""
        if choice != self._choice:
            return
        if not steps:
            self.status.setText(done)
            return
        steps.pop(0)()
        QTimer.singleShot(STEP_PAUSE_MS, functools.partial(self._next_step, choice, steps, done))

    def _remove_well_layers(self) -> None:
        self._choice += 1  # a well still being shown step by step stops there
        for layer in [lay for lay in self.viewer.layers if lay.metadata.get(WELL_VIEW)]:
            self.viewer.layers.remove(layer)

    def _failed(self, choice: int, exc: BaseException) -> None:
        if choice != self._choice:
            return
        self._remove_well_layers()  # what is on screen must never look like the field that failed
        reason = describe(exc) if isinstance(exc, ngffkit.NGFFError) else redact(f"{type(exc).__name__}: {exc}")
        self.status.setText("could not open this well")
        show_error(f"Could not open the well: {reason}")

    # --- where wells are ---------------------------------------------------------------------------------

    def _on_click(self, viewer: Viewer, event: Any) -> Any:
        """A click (press and release without dragging) on a well of the overview chooses that well."""
        if self.plate is None or self.overview is None or event.button != 1:
            return
        active = viewer.layers.selection.active
        if active is not None and getattr(active, "mode", "pan_zoom") not in ("pan_zoom", "transform"):
            return  # painting, drawing, picking: the click belongs to that tool
        start = tuple(event.position)
        yield
        if event.type == "mouse_move":  # a drag pans the view; it does not choose a well
            return
        y, x = self.overview.world_to_data(start)[-2:]
        well = well_at(self.plate, grid_shape(self.overview), y, x)
        if well is not None:
            self.select(well)
        elif inside_grid(self.overview, y, x):
            self.status.setText("no well at this position of the plate")
