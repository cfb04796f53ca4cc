"""GUI tests run a real napari under Xvfb (pytest-xvfb starts it). Without napari or an X server they skip
with the reason -- except under CI=true, where that is a failure.

Every test goes the way a person does: napari builds the plugin's classes from the manifest
(``add_plugin_dock_widget``, menu commands through napari's app model), reads with ``viewer.open(...,
plugin="ngffkit")``, writes with ``viewer.layers.save(..., plugin="ngffkit")``, and real Qt dialogs are answered by
clicking their buttons. Screenshots of each story are kept in ``test-artefacts/napari/``.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from ..conftest import require

HAVE_NAPARI = importlib.util.find_spec("napari") is not None and importlib.util.find_spec("pytestqt") is not None
HAVE_DISPLAY = bool(os.environ.get("DISPLAY")) or shutil.which("Xvfb") is not None
ARTEFACTS = pathlib.Path(os.environ.get("NGFFKIT_ARTEFACTS", pathlib.Path(__file__).parents[2] / "test-artefacts"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    del config
    for item in items:
        if "tests/napari" in str(item.fspath):
            item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def _gui_available() -> None:
    require(HAVE_NAPARI, "napari and pytest-qt are not installed (pip install 'ngffkit[napari,test]')")
    require(HAVE_DISPLAY, "no X server: install xvfb (apt-get install xvfb) so pytest-xvfb can start one")


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Callable[..., np.ndarray]:
    """``shoot(viewer, "what")``: the canvas as pixels, also saved as a test artefact."""

    def take(viewer: object, what: str = "", *, reset: bool = True) -> np.ndarray:
        from skimage.io import imsave

        if reset:
            viewer.reset_view()  # type: ignore[attr-defined]
        pixels = np.asarray(viewer.screenshot(canvas_only=True, flash=False))  # type: ignore[attr-defined]
        folder = ARTEFACTS / "napari"
        folder.mkdir(parents=True, exist_ok=True)
        name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
        imsave(folder / f"{name}{'-' + what if what else ''}.png", pixels, check_contrast=False)
        return pixels

    return take


@pytest.fixture
def answer_dialogs(qtbot: object) -> Iterator[Callable[[str], list[str]]]:
    """``answer("Yes")`` clicks that button on every ngffkit question that pops up from now on; returns the list
    of questions asked (their text), so a test can check that it was asked at all."""
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication, QMessageBox

    asked: list[str] = []
    choice: dict[str, str] = {}

    def click() -> None:
        for widget in QApplication.topLevelWidgets():
            if (
                isinstance(widget, QMessageBox)
                and widget.isVisible()
                and widget.objectName() == "ngffkit-confirm-replace"
            ):
                asked.append(widget.text())
                widget.button(getattr(QMessageBox.StandardButton, choice["button"])).click()

    timer = QTimer()
    timer.timeout.connect(click)

    def answer(button: str) -> list[str]:
        choice["button"] = button
        if not timer.isActive():
            timer.start(50)
        return asked

    yield answer
    timer.stop()


def saturated(pixels: np.ndarray) -> int:
    """How many pixels are strongly coloured (labels, coloured channels) rather than grey."""
    rgb = pixels[..., :3].astype(int)
    return int(((rgb.max(axis=-1) - rgb.min(axis=-1)) > 60).sum())


def napari_at_least(*release: int) -> bool:
    """Whether the installed napari is ``release`` or later (for what napari itself does differently)."""
    import napari

    numbers = [int(part) for part in str(napari.__version__).split(".")[: len(release)] if part.isdigit()]
    return tuple(numbers) >= release


def notifications_since(start: int) -> list[str]:
    from napari.utils.notifications import notification_manager

    return [str(n.message) for n in notification_manager.records[start:]]


def notification_count() -> int:
    from napari.utils.notifications import notification_manager

    return len(notification_manager.records)


def in_view(viewer: Any, layers: Any) -> bool:
    """Whether every one of ``layers`` lies whole in the part of the world the canvas shows (its last two axes):
    the camera's centre plus and minus half the canvas over the zoom."""
    from ngffkit.napari import _napari_adapter as adapter

    size = adapter.canvas_size(viewer)
    if size is None:
        return False
    camera = adapter.camera(viewer)
    centre = np.asarray(camera.center[-2:], dtype=float)
    half = np.asarray(size, dtype=float) / (2 * camera.zoom)
    low, high = centre - half, centre + half
    for layer in layers:
        extent = layer.extent.world[:, -2:]
        if np.any(extent[0] < low - 1e-6) or np.any(extent[1] > high + 1e-6):
            return False
    return True
