"""The core must stay GUI-free: importing it never pulls in napari, Qt or magicgui."""

from __future__ import annotations

import subprocess
import sys

GUI_MODULES = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "magicgui", "vispy")


def test_core_imports_no_gui_modules() -> None:
    code = (
        "import sys, ngffkit, ngffkit.cli.main, ngffkit.validate, ngffkit.tools.info, ngffkit.metadata, ngffkit.samples.examples\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {GUI_MODULES!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"GUI modules imported by the core: {out.stdout.strip()}"


def test_public_api() -> None:
    import ngffkit

    for name in ("NGFFError", "UnsafePath", "NotOMEZarr", "InvalidMetadata", "validate", "Location", "get_format"):
        assert hasattr(ngffkit, name)
    assert issubclass(ngffkit.UnsafePath, ngffkit.NGFFError)
