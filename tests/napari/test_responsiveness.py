"""A remote image in napari: the first frame after three round trips, and stepping that never waits for the network.

The image is served over HTTP with latency; its planes tell themselves apart on screen: plane z is a checkerboard
of 2 x 2 squares of ``10 + 25 z`` and ``50 + 25 z``, so its next level (means of 2 x 2) is a one-pixel checkerboard
and the coarsest a flat ``30 + 25 z``. A screenshot thus says which plane is shown, and whether sharp (a
checkerboard: napari shows level 0 or 1) or from the coarsest level (flat).
The server holds the requests of the finer levels until the test releases them (:class:`FaultPlan` "hold"):
what napari shows and whether its event loop runs meanwhile are facts observed while they are held, and the order
of events is the server's log -- no assertion depends on how fast this machine is. (A napari that waited for a
held request would not show the frame until the hold's patience ran out, and would be seen to return after the
answer: the tests then fail, they do not hang.)
"""

from __future__ import annotations

import pathlib
import time
from typing import Any

import numpy as np
import pytest
from loopback.servers import FaultPlan, RequestLog, http_file_server

import ngffkit

pytestmark = pytest.mark.network

PLANES, SIDE, CHUNK = 8, 1024, 256
#: How long a wait for napari may take, at most: only a failure ever reaches it (every wait here ends on an event).
PATIENCE_MS = 120_000


def plane_values(z: int) -> tuple[int, int, int]:
    """(dark, light, coarse) grey of plane ``z``: the checkerboard's two values and their mean."""
    return 10 + 25 * z, 50 + 25 * z, 30 + 25 * z


def write_planes(root: pathlib.Path) -> pathlib.Path:
    z, y, x = np.meshgrid(np.arange(PLANES), np.arange(SIDE), np.arange(SIDE), indexing="ij", sparse=True)
    data = (10 + 25 * z + 40 * ((y // 2 + x // 2) % 2)).astype(np.uint8)
    path = root / "planes.ome.zarr"
    ngffkit.write_image(data, path, axes="zyx", levels=3, chunks=(1, CHUNK, CHUNK),
                        channels=[{"label": "planes", "window": [0, 255]}])  # fmt: skip
    return path


def chunk_paths(level: int, plane: int) -> list[str]:
    """The request paths of one plane of one level (zarr v3 keys, '/' separated)."""
    side = SIDE // 2**level
    tiles = range(max(1, side // CHUNK))
    return [f"/planes.ome.zarr/{level}/c/{plane}/{i}/{j}" for i in tiles for j in tiles]


def hold(faults: FaultPlan, paths: list[str]) -> None:
    """Hold every request for ``paths`` until ``faults.release()``."""
    faults.rules.update({path: ["always:hold"] for path in paths})


def look(viewer: Any, shoot: Any, what: str) -> tuple[float, float]:
    """Mean and spread of the middle of the canvas (the image fills it; its borders may not)."""
    pixels = shoot(viewer, what, reset=False)[..., 0].astype(float)
    h, w = pixels.shape
    middle = pixels[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3]
    return float(middle.mean()), float(middle.std())


def shows(viewer: Any, shoot: Any, what: str, plane: int, *, sharp: bool) -> bool:
    mean, spread = look(viewer, shoot, what)
    right_plane = abs(mean - plane_values(plane)[2]) < 8
    return right_plane and (spread > 10 if sharp else spread < 3)


def roomy_viewer(make_napari_viewer: Any, qtbot: Any) -> Any:
    """A viewer whose canvas shows the image large enough for napari to want a finer level than the coarsest
    (pytest-qt's first window is small, and napari before 0.9 gives most of it to its layer controls)."""
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1200, 1000)
    qtbot.waitUntil(lambda: tuple(viewer.window.geometry()[2:]) == (1200, 1000), timeout=PATIENCE_MS)
    return viewer


def ended_before(log: RequestLog, moment: float) -> list[dict[str, Any]]:
    with log.lock:
        return [dict(e) for e in log.entries if e["end"] is not None and e["end"] <= moment]


def test_first_frame_after_three_round_trips_with_the_right_plane(make_napari_viewer, qtbot, tmp_path, shoot) -> None:  # type: ignore[no-untyped-def]
    """Metadata of the image, of its levels, then one wave of chunks: the first frame is the plane napari opens on
    (the middle one), from the coarsest level, while the server still holds every finer chunk."""
    write_planes(tmp_path)
    faults = FaultPlan(rules={})
    finer = [p for level in (0, 1) for z in range(PLANES) for p in chunk_paths(level, z)]
    hold(faults, finer)
    viewer = roomy_viewer(make_napari_viewer, qtbot)
    with http_file_server(tmp_path, listing=False, latency=0.02, keep_alive=True, faults=faults) as server:
        (layer,) = viewer.open(f"{server.url}/planes.ome.zarr", plugin="ngffkit")
        middle = (PLANES - 1) // 2
        assert viewer.dims.current_step[0] == middle
        qtbot.waitUntil(lambda: shows(viewer, shoot, "first-frame", middle, sharp=False), timeout=PATIENCE_MS)
        assert not faults.released  # shown while every finer chunk is held: napari never waited for one
        done = ended_before(server.log, time.monotonic())
        assert not any(e["path"].startswith(("/planes.ome.zarr/0/c/", "/planes.ome.zarr/1/c/")) for e in done)
        # what is shown can only come from the middle plane's coarsest chunk: the requests up to it took 3 waves
        (chunk,) = [e for e in done if e["path"] == f"/planes.ome.zarr/2/c/{middle}/0/0"]
        before = [e for e in done if e["start"] <= chunk["start"]]
        assert RequestLog(entries=before).sequential_waves() <= 3, [e["path"] for e in before]
        # and then the plane in full, when the server lets its chunks go
        qtbot.waitUntil(lambda: bool(faults.held()), timeout=PATIENCE_MS)  # napari did ask for the sharp plane
        faults.release()
        qtbot.waitUntil(lambda: shows(viewer, shoot, "sharp", middle, sharp=True), timeout=PATIENCE_MS)
        assert layer.data_level < len(layer.data) - 1


def test_stepping_shows_the_coarser_level_at_once_and_never_waits(make_napari_viewer, qtbot, tmp_path, shoot) -> None:  # type: ignore[no-untyped-def]
    """Step z while the server holds the new plane's chunks: set_current_step returns before they are answered,
    the event loop keeps running while they are held, the plane shows at once from a coarser level, then sharp
    when they come."""
    from qtpy.QtCore import QTimer

    write_planes(tmp_path)
    faults = FaultPlan(rules={})
    viewer = roomy_viewer(make_napari_viewer, qtbot)
    with http_file_server(tmp_path, listing=False, latency=0.02, keep_alive=True, faults=faults) as server:
        (layer,) = viewer.open(f"{server.url}/planes.ome.zarr", plugin="ngffkit")
        pyramid = getattr(layer.data[0], "pyramid", None)  # ngffkit's view of a remote level
        idle = lambda: pyramid is None or not pyramid.busy()  # noqa: E731
        middle = (PLANES - 1) // 2
        qtbot.waitUntil(lambda: shows(viewer, shoot, "start", middle, sharp=True), timeout=PATIENCE_MS)
        level = layer.data_level
        assert level < len(layer.data) - 1  # a coarser level exists to stand in
        viewer.dims.set_current_step(0, middle + 1)  # one step: the next plane's coarse level is fetched ahead
        qtbot.waitUntil(lambda: idle() and shows(viewer, shoot, "one", middle + 1, sharp=True), timeout=PATIENCE_MS)
        target = middle + 2
        held = chunk_paths(level, target)
        hold(faults, held)

        viewer.dims.set_current_step(0, target)
        returned = time.monotonic()
        assert not faults.released and not answered(server.log, held)  # it returned without their answers

        assert shows(viewer, shoot, "stand-in", target, sharp=False)  # the new plane at once, from a coarser level
        qtbot.waitUntil(lambda: bool(faults.held()), timeout=PATIENCE_MS)  # its chunks are asked for, and held
        beats: list[float] = []
        QTimer.singleShot(0, lambda: beats.append(time.monotonic()))
        QTimer.singleShot(1, lambda: beats.append(time.monotonic()))
        qtbot.waitUntil(lambda: len(beats) == 2, timeout=PATIENCE_MS)
        assert not answered(server.log, held)  # the event loop ran its timers while every chunk was held
        faults.release()
        qtbot.waitUntil(lambda: shows(viewer, shoot, "sharp", target, sharp=True), timeout=PATIENCE_MS)
        ends = answered(server.log, faults.held())
        assert set(ends) == set(faults.held()) and min(ends.values()) > max(beats) > returned
        expected = np.asarray(ngffkit.open(str(tmp_path / "planes.ome.zarr")).levels[level][target])
        assert np.array_equal(np.asarray(layer.data[level][target]), expected)  # a script reads the real pixels


def answered(log: RequestLog, paths: list[str]) -> dict[str, float]:
    """When each request for ``paths`` was answered (those answered so far)."""
    with log.lock:
        return {e["path"]: e["end"] for e in log.entries if e["path"] in paths and e["end"] is not None}


def test_a_view_reads_as_the_dask_array_it_views(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What scripts, plugins and writers see in ``layer.data``: the real pixels, sliced as the dask array slices."""
    from ngffkit.napari._responsive import LevelView, views

    data = np.arange(4 * 3 * 40 * 50, dtype=np.uint16).reshape(4, 3, 40, 50)
    ngffkit.write_image(data, tmp_path / "v.zarr", axes="czyx", levels=2, chunks=(1, 1, 16, 16))
    levels = ngffkit.open(str(tmp_path / "v.zarr")).levels
    level = views(levels)[0]
    basic = [(), 1, -1, (2, 0), (slice(1, 3), -2, slice(5, 30)), (..., 7), (0, ..., slice(None, 9)),
             (slice(None), 1, 3, 4), (np.int64(2), slice(-10, None))]  # fmt: skip
    for index in [*basic, (slice(None, None, 2),), ([0, 2],)]:
        view = level[index]
        assert np.array_equal(np.asarray(view), data[index]), index
        assert view.shape == data[index].shape and view.dtype == data.dtype
        assert isinstance(view, LevelView) == any(index is b for b in basic), index  # anything else is dask's
        assert view.chunks == levels[0][index].chunks, index  # worked out without a graph, as dask cuts them
    nested = level[1:4][1, :, 8:20][:, -3]
    assert np.array_equal(np.asarray(nested), data[1:4][1, :, 8:20][:, -3])
    assert np.asarray(level[1]).flags.writeable  # a script's own copy, as from dask
    assert level.chunks == levels[0].chunks and np.array_equal(level[2].compute(), data[2])
    assert np.array_equal(level.to_dask_array()[3, 1].compute(), data[3, 1])
    with pytest.raises(IndexError):
        level[4]
    with pytest.raises(TypeError, match="read-only"):
        level[0, 0, 0, 0] = 1
