"""GUI tests run a real napari under Xvfb (pytest-xvfb starts it). Without napari or an X server they skip
with the reason -- except under CI=true, where that is a failure."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

from ..conftest import require

HAVE_NAPARI = importlib.util.find_spec("napari") is not None and importlib.util.find_spec("pytestqt") is not None
HAVE_DISPLAY = bool(os.environ.get("DISPLAY")) or shutil.which("Xvfb") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    del config
    for item in items:
        if "tests/napari" in str(item.fspath):
            item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def _gui_available() -> None:
    require(HAVE_NAPARI, "napari and pytest-qt are not installed (pip install 'ngffkit[napari,test]')")
    require(HAVE_DISPLAY, "no X server: install xvfb (apt-get install xvfb) so pytest-xvfb can start one")
