"""Labels that show what files say as text.

Qt's ``QLabel`` guesses: text that looks like HTML is drawn as HTML. A plate's name, a well's path or an error
naming a folder come from files anyone may have written, and ``<h1>`` in a folder's name made the export dock's
status six lines tall. Every label that shows such text shows it as plain text.
"""

from __future__ import annotations

from typing import TypeVar

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLabel

LabelT = TypeVar("LabelT", bound=QLabel)


def plain(label: LabelT) -> LabelT:
    """``label``, drawing its text as it is (never as HTML)."""
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label
