"""Questions to the user (Qt message boxes)."""

from __future__ import annotations

from qtpy.QtWidgets import QApplication, QMessageBox


def confirm_replace(what: str) -> bool:
    """Ask whether ``what`` may be replaced; "No" is the default, and without a GUI the answer is no."""
    if QApplication.instance() is None:
        return False
    buttons = QMessageBox.StandardButton
    box = QMessageBox(QMessageBox.Icon.Question, "Replace?", f"{what} already exists.\nReplace it?",
                      buttons.Yes | buttons.No, QApplication.activeWindow())  # fmt: skip
    box.setObjectName("ngffkit-confirm-replace")
    box.setDefaultButton(buttons.No)
    return box.exec() == buttons.Yes
