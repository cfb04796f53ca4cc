"""The plate navigator's per-well columns: a plate's condition tables (read in a worker as the plate opens) and
a lab's CSV, each told in one notification; and the text of their cells, which strangers wrote.

Kept apart from the dock (:mod:`ngffkit.napari._plate`) so that it stays about wells and fields; what the columns
are comes from the GUI-free core (:mod:`ngffkit.tools.condition_columns`, :mod:`ngffkit.tools.well_columns`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from napari.qt.threading import thread_worker
from napari.utils.notifications import show_error, show_info, show_warning

import ngffkit
from ngffkit.errors import redact
from ngffkit.metadata.text import printable
from ngffkit.napari._notify import describe
from ngffkit.reader.plate_map import WELL_COLUMNS, WellRow
from ngffkit.tools.condition_columns import read_condition_columns
from ngffkit.tools.well_columns import WellColumns, read_well_columns


def cell_text(row: WellRow, column: str) -> str:
    """What the table shows for ``row`` in ``column``: added columns are strangers' text, shown printable (an
    escape sequence written out, never run) and with any URL's secret redacted."""
    text = str(row.value(column))
    return text if column in WELL_COLUMNS else printable(redact(text))


def read_conditions(plate: ngffkit.Plate, take: Callable[[WellColumns], None], current: Callable[[], bool]) -> Any:
    """Read ``plate``'s condition tables in a worker and hand what they hold to ``take`` (on the GUI thread), after
    one notification of what was added, what was not read and which lines name no well; a failure of the whole
    read is one error notification. While ``current()`` is False -- the plate was closed, the navigator is gone --
    the answer is dropped, notification and all (a remote plate's read may end long after its window). Returns the
    started worker."""

    def read(found: WellColumns) -> None:
        if current():
            take(found)
            announce_conditions(found)

    def failed(exc: BaseException) -> None:
        if current():
            conditions_failed(exc)

    worker = thread_worker(read_condition_columns, ignore_errors=True)(plate)
    worker.returned.connect(read)
    worker.errored.connect(failed)
    worker.start()
    return worker


def announce_conditions(found: WellColumns) -> None:
    """One notification for a plate's condition tables: a warning when a table was not read or a line names no
    well, else information when columns were added (nothing when the plate has no condition table)."""
    names = ", ".join(printable(c) for c in found.columns)
    added = f"Condition tables: added {names} columns for {len(found.values)} wells" if found.values else (
        "Condition tables: no columns added")  # fmt: skip
    problems = [f"not read: {printable(reason)}" for reason in found.skipped]
    if found.unmatched:
        shown = ", ".join(printable(u) for u in found.unmatched[:5])
        problems.append(f"{len(found.unmatched)} lines match no well ({shown})")
    if problems:
        show_warning(f"{added}; {'; '.join(problems)}")
    elif found.values:
        show_info(added)


def conditions_failed(exc: BaseException) -> None:
    reason = describe(exc) if isinstance(exc, ngffkit.NGFFError) else redact(f"{type(exc).__name__}: {exc}")
    show_error(f"Could not read the plate's condition tables: {printable(reason)}")


def csv_columns(path: str, plate: ngffkit.Plate) -> WellColumns | None:
    """A CSV's per-well columns for ``plate``, told in one notification (added, lines that match no well); None,
    after an error notification, when there is nothing to add."""
    try:
        table = read_well_columns(path, plate)
    except ngffkit.NGFFError as exc:
        show_error(f"Could not read the table: {describe(exc)}")
        return None
    unmatched = f"{len(table.unmatched)} lines match no well ({', '.join(table.unmatched[:5])})"
    if not table.values:
        show_warning(f"Nothing added: no line of the table names a well of this plate; {unmatched} -- in {path}")
        return None
    added = f"Added {', '.join(table.columns)} columns for {len(table.values)} wells"
    if table.unmatched:
        show_warning(f"{added}; {unmatched} -- in {path}")
    else:
        show_info(added)
    return table
