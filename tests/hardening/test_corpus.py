"""The bad-input corpus (``corpus.py``) through every entry point: the API, ``ngffkit info``, ``ngffkit
validate`` and the napari reader. Each must end in an NGFFError (or open with a warning where the data is
usable), one readable line, a rule id, a notification -- within seconds, and without touching the pixels of
a 10^12-element array."""

from __future__ import annotations

import importlib.util
import pathlib
import warnings

import pytest

import ngffkit
from ngffkit.cli.main import main

from ..conftest import require
from .corpus import CASES, Case

pytestmark = pytest.mark.timeout(60)


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> tuple[Case, pathlib.Path]:
    spec: Case = request.param
    return spec, spec.build(tmp_path / "dataset.zarr")


def test_open(case: tuple[Case, pathlib.Path]) -> None:
    spec, path = case
    if not spec.usable:
        with pytest.raises(ngffkit.NGFFError):
            ngffkit.open(path)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ngffkit.NGFFWarning)
        node = ngffkit.open(path)
        layers = ngffkit.layers(node)  # layer data from metadata only: must not read pixels or fail
    assert isinstance(node, ngffkit.Node)
    for data, _, _ in layers:
        levels = data if isinstance(data, list) else [data]
        assert all(hasattr(level, "shape") for level in levels)


def test_info(case: tuple[Case, pathlib.Path], capsys: pytest.CaptureFixture[str]) -> None:
    spec, path = case
    status = main(["info", str(path)])
    err = capsys.readouterr().err
    if spec.usable:
        assert status == 0, err
    else:
        lines = [line for line in err.splitlines() if line.strip()]
        # one error, last; before it only the command's own warning lines (what it skipped on the way), never
        # Python's warning or traceback form
        said, warned = lines[-1:], lines[:-1]
        assert status != 0 and said and said[0].startswith("ngffkit: error: "), err
        assert all(line.startswith("ngffkit: warning: ") for line in warned), err
        assert "dataset.zarr" in said[0]  # names the file at fault


def test_validate(case: tuple[Case, pathlib.Path]) -> None:
    spec, path = case
    report = ngffkit.validate(path)
    assert all(f.rule for f in report.findings)
    if spec.finding == "error":
        assert not report.valid and report.errors, report.findings
    elif spec.finding == "warning":
        assert [f for f in report.findings if f.severity.name in ("WARNING", "ERROR")], report.findings


def test_napari_reader(case: tuple[Case, pathlib.Path]) -> None:
    require(importlib.util.find_spec("napari") is not None, "the napari extra is not installed")
    from napari.utils.notifications import notification_manager

    from ngffkit.napari._reader import NOTHING, get_reader

    spec, path = case
    shown: list[str] = []
    notification_manager.notification_ready.connect(lambda event: shown.append(str(event.message)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ngffkit.NGFFWarning)
            reader = get_reader(str(path))
            layers = reader(str(path)) if reader is not None else None
    finally:
        notification_manager.notification_ready.disconnect()
    if spec.usable and not spec.napari_draws:  # claimed, and one notification says why nothing is drawn
        assert reader is not None and layers == NOTHING and len(shown) == 1, shown
        assert "too large for napari to draw" in shown[0] and "dataset.zarr" in shown[0], shown
        return
    if spec.usable:
        assert reader is not None and layers and layers[0][0] is not None, shown
        return
    looks_like_zarr = path.is_dir() and any((path / name).exists() for name in ("zarr.json", ".zattrs", ".zgroup"))
    try:
        ngffkit.open(path)
        plain_zarr = False
    except ngffkit.NotOMEZarr:
        plain_zarr = True  # left to napari's other readers, silently
    except ngffkit.NGFFError:
        plain_zarr = False
    if reader is None:  # declined: only what is not OME-Zarr at all, and without a word
        assert plain_zarr or not looks_like_zarr, "broken OME-Zarr must be claimed and explained"
        assert shown == []
        return
    # claimed: nothing to show, and one notification that leads with the reason and names the file
    assert layers == NOTHING and len(shown) == 1, shown
    assert shown[0].startswith("Could not open: ") and "dataset.zarr" in shown[0], shown
