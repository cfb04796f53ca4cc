"""Paths from metadata never leave the dataset: a canary planted beside it is never read, listed or written,
whichever spelling of "elsewhere" the metadata uses and whichever entry point follows it."""

from __future__ import annotations

import json
import os
import pathlib
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from loopback.servers import http_file_server

import ngffkit
from ngffkit.samples.examples import write_coins, write_plate
from ngffkit.store.paths import unsafe_reason
from ngffkit.tools.download import download
from ngffkit.tools.finder import find
from ngffkit.tools.info import describe
from ngffkit.tools.upgrade import upgrade_store

pytestmark = pytest.mark.timeout(300)

_touched: list[str] = []
_watched: list[str] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _watched and event in ("open", "os.listdir", "os.scandir") and args:
        first = args[0]
        target = os.fsdecode(first) if isinstance(first, (str, bytes, os.PathLike)) else ""
        if any(w in target for w in _watched):
            _touched.append(f"{event} {target}")


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one only records while a test watches


@contextmanager
def watching(path: pathlib.Path) -> Iterator[list[str]]:
    """Record every open/listing of anything under ``path`` by this process during the block."""
    _touched.clear()
    _watched.append(str(path))
    try:
        yield _touched
    finally:
        _watched.clear()


def snapshot(root: pathlib.Path) -> dict[str, tuple[bytes, int]]:
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()}


def spellings(canary: pathlib.Path) -> list[str]:
    """Ways metadata can try to point at the canary beside (or anywhere outside) the dataset."""
    return [
        "../canary.zarr", "../../canary.zarr", "0/../../canary.zarr", "./../canary.zarr", str(canary),
        "..%2fcanary.zarr", "%2e%2e/canary.zarr", "%2E%2E%2Fcanary.zarr", f"file://{canary}",
        "C:\\canary.zarr", "c:/canary.zarr", "sub\\..\\..\\canary.zarr", "0\x00", "s3://bucket/canary.zarr",
        "https://example.org/canary.zarr",
    ]  # fmt: skip


def test_every_spelling_is_refused_by_the_one_path_check(tmp_path: pathlib.Path) -> None:
    for path in spellings(tmp_path / "canary.zarr"):
        assert unsafe_reason(path) is not None, path
    for fine in ("0", "labels/cells", "A/1", "s0", "field%20one"):
        assert unsafe_reason(fine) is None, fine


def edit(document: pathlib.Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = json.loads(document.read_text())
    change(doc)
    document.write_text(json.dumps(doc))


@pytest.fixture
def planted(tmp_path: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path, list[pathlib.Path]]:
    """A canary image beside a folder of 0.4 datasets whose metadata points at it in every way."""
    canary = tmp_path / "canary.zarr"
    ngffkit.write_image(np.full((32, 32), 4242, np.uint16), canary, version="0.4", chunks=(16, 16), levels=2)
    root = tmp_path / "datasets"
    made: list[pathlib.Path] = []
    for i, bad in enumerate(spellings(canary)):
        image = write_coins(root / f"level-{i}.zarr", "0.4", levels=2)
        edit(image / ".zattrs", lambda d, bad=bad: d["multiscales"][0]["datasets"][1].update(path=bad))
        labels = write_coins(root / f"labels-{i}.zarr", "0.4", levels=2)
        edit(labels / "labels" / ".zattrs", lambda d, bad=bad: d.update(labels=["coins", bad]))
        plate = write_plate(root / f"plate-{i}.zarr", "0.4", rows="A", columns=("1", "2"), fields=1)
        edit(plate / ".zattrs", lambda d, bad=bad: d["plate"]["wells"][1].update(path=bad))
        edit(plate / "A" / "1" / ".zattrs", lambda d, bad=bad: d["well"]["images"].append({"path": bad}))
        made += [image, labels, plate]
    return canary, root, made


def test_reading_validating_and_describing_never_touch_the_canary(
    planted: tuple[pathlib.Path, pathlib.Path, list[pathlib.Path]],
) -> None:
    canary, root, made = planted
    before = snapshot(canary)
    with watching(canary) as touched, warnings.catch_warnings():
        warnings.simplefilter("ignore", ngffkit.NGFFWarning)
        for path in made:
            node = ngffkit.open(path)  # the safe parts open; the unsafe ones are skipped with a warning
            for data, _, _ in ngffkit.layers(node):
                for level in data if isinstance(data, list) else [data]:
                    assert not (np.asarray(level[..., :4, :4]) == 4242).any()
            report = ngffkit.validate(path)
            assert "unsafe-path" in {f.rule for f in report.errors}, (path, report.findings)
            describe(str(path))
        catalogue = find(root)
    assert touched == []
    assert not any("canary" in image.url for image in catalogue.images)
    assert snapshot(canary) == before
    with watching(canary) as control:  # the watch itself works: reading the canary on purpose is seen
        assert int(ngffkit.open(canary).levels[0].max().compute()) == 4242
    assert any(entry.startswith("open ") for entry in control)


def test_download_and_upgrade_never_touch_the_canary(
    planted: tuple[pathlib.Path, pathlib.Path, list[pathlib.Path]], tmp_path: pathlib.Path
) -> None:
    canary, _, made = planted
    before = snapshot(canary)
    with http_file_server(tmp_path) as server, watching(canary) as touched, warnings.catch_warnings():
        warnings.simplefilter("ignore", ngffkit.NGFFWarning)
        for k, path in enumerate(made):
            out = tmp_path / "downloads" / f"{k}.zarr"
            download(f"{server.url}/datasets/{path.name}", out)
            assert not any("4242" in p.name for p in out.rglob("*"))
            untouched = snapshot(path)
            try:
                upgrade_store(path)
            except ngffkit.UnsafePath:
                assert snapshot(path) == untouched  # refused before writing anything
        requested = server.log.paths()
    assert touched == []
    assert not [p for p in requested if "canary" in p or "%2e" in p.lower() or ".." in p], requested
    assert snapshot(canary) == before
    downloaded = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*") if p.is_file()}
    assert downloaded <= {"canary.zarr", "datasets", "downloads"}  # nothing written anywhere else
