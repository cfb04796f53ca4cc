"""The levels beyond a super-block, assembled from the pieces the tasks below return (writer/tree.py): the same
pixels as reducing each whole level, a few buffers at a time, and the route write_image takes."""

from __future__ import annotations

import itertools
import pathlib
import threading
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import zarr

import ngffkit
from ngffkit.store.local import ConfinedLocalStore
from ngffkit.writer import execute, pyramid, tree

from .test_write import assert_valid, volume


def layout_of(shape: tuple[int, ...], levels: int, factor: tuple[int, ...]) -> list[pyramid.Level]:
    return pyramid.plan_levels(shape, ["z", "y", "x"], ["space"] * 3, levels=levels,
                               scale_factors=dict(zip("zyx", factor, strict=True)))  # fmt: skip


def units_of(layout: list[pyramid.Level], unit: tuple[int, ...]) -> list[tuple[int, ...]]:
    return [tuple(min(u, n) for u, n in zip(unit, level.shape, strict=True)) for level in layout]


def test_units_nest_only_when_pieces_fall_within_one_unit_above() -> None:
    layout = layout_of((64, 300, 250), 4, (2, 2, 2))
    assert tree.UnitTree(layout, units_of(layout, (16, 64, 64)), 0).nests()
    # a factor of 3 does not divide 64: a block of 3 would straddle two units
    assert not tree.UnitTree(layout_of((64, 300, 250), 3, (1, 3, 3)), units_of(layout, (16, 64, 64)), 0).nests()
    # pieces of 32 do not divide units of 48 -- unless that unit is the whole level
    mixed = [(16, 64, 64), (16, 48, 48), (16, 48, 48), (8, 19, 16)]
    assert not tree.UnitTree(layout, mixed, 0).nests()


def test_leaves_come_grouped_by_the_units_above_them() -> None:
    layout = layout_of((64, 256, 256), 4, (2, 2, 2))
    units = tree.UnitTree(layout, units_of(layout, (8, 32, 32)), 0)
    order = units.leaf_order()
    assert sorted(order) == units.grid(0)
    for level in (1, 2, 3):  # the leaves under one unit of any level are consecutive
        ancestors = []
        for index in order:
            node: Any = (0, index)
            while node[0] < level:
                node = units.parent(node)
            ancestors.append(node)
        runs = [a for i, a in enumerate(ancestors) if i == 0 or a != ancestors[i - 1]]
        assert len(runs) == len(set(runs)), f"level {level}: a unit's leaves are split"
    counts = units.children_counts()
    assert sum(n for (level, _), n in counts.items() if level == 1) == len(units.grid(0))
    assert all(n == 8 for n in counts.values())


@pytest.mark.parametrize("method", ["mean", "mode", "max", "nearest"])
@pytest.mark.parametrize(("shape", "unit", "factor"), [((40, 130, 75), (8, 32, 32), (2, 2, 2)),
                                                        ((5, 200, 90), (5, 48, 32), (1, 2, 2))])  # fmt: skip
def test_a_run_makes_every_level_as_reducing_it_whole(
    shape: tuple[int, ...], unit: tuple[int, ...], factor: tuple[int, ...], method: str
) -> None:
    """numpy arrays as targets: the run writes every unit of every level, each exactly what the kernel makes of
    the whole level below, and never holds more than a few buffers."""
    data = volume(shape)
    layout = layout_of(shape, 4, factor)
    units = tree.UnitTree(layout, units_of(layout, unit), 0)
    assert units.nests()
    kernel = pyramid.KERNELS[method]
    expected = [data]
    for level in layout[1:]:
        expected.append(kernel(expected[-1], level.factors))
    targets = [np.zeros(level.shape, data.dtype) for level in layout]
    most = {"buffers": 0}

    class Watched(tree.TreeRun):
        def _add(self, node: tree.Node, piece: np.ndarray) -> tree.Node | None:
            most["buffers"] = max(most["buffers"], len(self._buffers))
            return super()._add(node, piece)

    def leaf(index: tuple[int, ...]) -> np.ndarray:
        start = units.start((0, index))
        region = tuple(slice(s, s + n) for s, n in zip(start, units.extent((0, index)), strict=True))
        targets[0][region] = data[region]
        return kernel(data[region], layout[1].factors)

    run = Watched(units, leaf, targets, kernel, workers=2)
    run.run()
    for k in range(len(layout)):
        np.testing.assert_array_equal(targets[k], expected[k], err_msg=f"level {k}")
    assert most["buffers"] <= 2 * (len(layout) - 1)
    assert not run._buffers  # every buffer was written and let go


def test_a_failing_leaf_stops_the_leaves_not_started() -> None:
    layout = layout_of((32, 128, 128), 2, (2, 2, 2))
    units = tree.UnitTree(layout, units_of(layout, (8, 32, 32)), 0)
    started: list[tuple[int, ...]] = []
    lock = threading.Lock()

    def leaf(index: tuple[int, ...]) -> np.ndarray:
        with lock:
            started.append(index)
        if len(started) == 3:
            raise OSError("disk full")
        return np.zeros(units.extent((1, (0, 0, 0))), "uint16")[:4, :16, :16]

    with pytest.raises(OSError, match="disk full"):
        tree.TreeRun(units, leaf, [None, None], pyramid.KERNELS["mean"], workers=1).run()
    assert len(started) == 3 < len(units.grid(0))


def test_write_image_assembles_levels_beyond_large_shards(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The route a sharded write takes when not even level 1 fits a super-block (as with 256^3 shards): leaves of
    one shard each, the levels above assembled in memory -- same pixels as the chunked write, nothing read back."""
    data = da.from_array(volume((24, 300, 260)), chunks=(8, 64, 32))  # no input chunk shared by two shards
    expected = ngffkit.write_image(
        data, tmp_path / "chunks.zarr", chunks=(4, 32, 32), levels=4, scale_factors={"z": 2, "y": 2, "x": 2}
    )
    monkeypatch.setattr(execute, "SUPERBLOCK_BYTES", 8 * 64 * 64 * 2)  # less than one level-1 super-block
    runs: list[int] = []
    original = tree.TreeRun.run
    monkeypatch.setattr(tree.TreeRun, "run", lambda self: runs.append(self.tree.depth) or original(self))
    reads: list[str] = []
    get = ConfinedLocalStore.get

    async def counting_get(self: ConfinedLocalStore, key: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(key)
        return await get(self, key, *args, **kwargs)

    monkeypatch.setattr(ConfinedLocalStore, "get", counting_get)
    with dask.config.set(scheduler="threads", num_workers=2):
        sharded = ngffkit.write_image(data, tmp_path / "s.zarr", chunks=(4, 32, 32), shards=(8, 64, 64), levels=4,
                                      scale_factors={"z": 2, "y": 2, "x": 2})  # fmt: skip
    assert runs == [0]
    assert not [key for key in reads if "/c/" in key and not key.startswith("3/")]  # only the lowest level is read
    monkeypatch.undo()
    for k in range(4):
        np.testing.assert_array_equal(sharded.levels[k].compute(), expected.levels[k].compute())
    assert zarr.open_array(tmp_path / "s.zarr" / "1").shards == (8, 64, 64)
    assert_valid(tmp_path / "s.zarr")


def test_a_failed_tree_write_leaves_nothing(tmp_path: pathlib.Path) -> None:
    def block(b: np.ndarray, block_info: Any = None) -> np.ndarray:
        if block_info[0]["chunk-location"] == (1, 1, 0):
            raise ValueError("the input is gone")
        return np.ones_like(b)

    data = da.zeros((32, 128, 128), chunks=(16, 64, 64), dtype="uint16").map_blocks(block, dtype="uint16")
    with dask.config.set(scheduler="threads", num_workers=2), pytest.raises(ValueError, match="the input is gone"):
        ngffkit.write_image(data, tmp_path / "gone.zarr", chunks=(16, 32, 32), levels=3)
    assert not (tmp_path / "gone.zarr").exists()


def test_every_thread_gets_a_few_leaves(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Super-blocks as deep as the budget allows, but not so large that the threads run out of leaves: the
    levels above wait for the last leaf, so a handful of large leaves leaves a core idle."""
    leaves: list[tuple[int, int]] = []
    original = tree.TreeRun.run
    monkeypatch.setattr(tree.TreeRun, "run",
                        lambda self: leaves.append((self.tree.depth, len(self.tree.grid(self.tree.depth))))
                        or original(self))  # fmt: skip
    data = da.from_array(volume((16, 256, 256)), chunks=(16, 64, 64))
    with dask.config.set(scheduler="threads", num_workers=2):
        ngffkit.write_image(data, tmp_path / "a.zarr", chunks=(16, 32, 32), levels=4)  # the budget allows depth 3
    assert leaves == [(1, 16)]  # depth 2 would leave 4 leaves for 2 threads
    with dask.config.set(scheduler="threads", num_workers=1):
        ngffkit.write_image(data, tmp_path / "b.zarr", chunks=(16, 32, 32), levels=4)
    assert leaves[-1] == (2, 4)


@pytest.mark.parametrize("shards", [(8, 64, 64), None])
def test_planes_shared_by_many_regions_are_computed_once(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, shards: tuple[int, ...] | None
) -> None:
    """A z-stack read plane by plane (1 x Y x X chunks): every plane spans several regions. Each is computed once
    and copied into every region it spans (writer/feeder.py) -- the same pixels as from the array in memory."""
    expected = volume((24, 256, 192))
    calls: list[tuple[int, ...]] = []
    lock = threading.Lock()

    def plane(b: np.ndarray, block_info: Any = None) -> np.ndarray:
        where = block_info[None]["array-location"]
        with lock:
            calls.append(block_info[None]["chunk-location"])
        return expected[tuple(slice(lo, hi) for lo, hi in where)]

    data = da.empty(expected.shape, chunks=(1, 256, 192), dtype="uint16").map_blocks(plane, dtype="uint16")
    monkeypatch.setattr(execute, "SUPERBLOCK_BYTES", 8 * 64 * 64 * 2)  # regions of one shard (or a few chunks)
    runs: list[int | None] = []
    original = tree.TreeRun.run
    monkeypatch.setattr(tree.TreeRun, "run", lambda self: runs.append(len(self.order or ())) or original(self))
    with dask.config.set(scheduler="threads", num_workers=2):
        written = ngffkit.write_image(data, tmp_path / "planes.zarr", chunks=(4, 32, 32), shards=shards, levels=3,
                                      scale_factors={"z": 2, "y": 2, "x": 2})  # fmt: skip
    monkeypatch.undo()
    assert runs and runs[0] > 1  # the tree, its leaves fed in C order
    assert sorted(calls) == sorted({c for c in calls}) and len(calls) == 24  # every plane once
    reference = ngffkit.write_image(expected, tmp_path / "memory.zarr", chunks=(4, 32, 32), levels=3,
                                    scale_factors={"z": 2, "y": 2, "x": 2})  # fmt: skip
    for k in range(3):
        np.testing.assert_array_equal(written.levels[k].compute(), reference.levels[k].compute())
    assert_valid(tmp_path / "planes.zarr")


def test_a_failing_plane_fails_the_fed_write_and_leaves_nothing(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def plane(b: np.ndarray, block_info: Any = None) -> np.ndarray:
        if block_info[None]["chunk-location"][0] == 13:
            raise ValueError("plane 13 is unreadable")
        return np.ones_like(b)

    data = da.empty((24, 256, 192), chunks=(1, 256, 192), dtype="uint16").map_blocks(plane, dtype="uint16")
    monkeypatch.setattr(execute, "SUPERBLOCK_BYTES", 8 * 64 * 64 * 2)
    with dask.config.set(scheduler="threads", num_workers=2), pytest.raises(ValueError, match="plane 13"):
        ngffkit.write_image(data, tmp_path / "gone.zarr", chunks=(4, 32, 32), shards=(8, 64, 64), levels=3)
    assert not (tmp_path / "gone.zarr").exists()


def test_regions_too_large_to_fill_together_keep_the_level_by_level_path(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planes so wide that the regions one of them spans would not fit in memory together are not fed."""
    from ngffkit.writer import feeder

    data = da.from_array(volume((16, 128, 128)), chunks=(1, 128, 128))
    assert feeder.filling_bytes(data, (8, 64, 64)) == 4 * 8 * 64 * 64 * 2  # one plane spans 2 x 2 regions
    monkeypatch.setattr(feeder, "FILLING_BYTES", 1000)
    for budget in ("SUPERBLOCK_BYTES", "SUPERBLOCK_MAX_BYTES"):  # less than one level-1 super-block
        monkeypatch.setattr(execute, budget, 8 * 64 * 64 * 2)
    runs: list[str] = []
    original, level_by_level = tree.TreeRun.run, execute.Execution._level_by_level
    monkeypatch.setattr(tree.TreeRun, "run", lambda self: runs.append("tree") or original(self))
    monkeypatch.setattr(execute.Execution, "_level_by_level",
                        lambda self, *args: runs.append("level by level") or level_by_level(self, *args))  # fmt: skip
    written = ngffkit.write_image(data, tmp_path / "wide.zarr", chunks=(4, 32, 32), shards=(8, 64, 64), levels=2)
    assert runs == ["level by level"]
    np.testing.assert_array_equal(written.levels[0].compute(), data.compute())


def test_what_input_chunks_share_upstream_is_computed_once(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planes cut from larger chunks (a reader's 8-plane blocks, rechunked): a leaf computes its planes in
    batches, so each block is read once, not once per plane."""
    expected = volume((32, 128, 128))
    calls: list[tuple[int, ...]] = []
    lock = threading.Lock()

    def block(b: np.ndarray, block_info: Any = None) -> np.ndarray:
        with lock:
            calls.append(block_info[None]["chunk-location"])
        return expected[tuple(slice(lo, hi) for lo, hi in block_info[None]["array-location"])]

    data = da.empty(expected.shape, chunks=(8, 128, 128), dtype="uint16").map_blocks(block, dtype="uint16")
    monkeypatch.setattr(execute, "SUPERBLOCK_BYTES", 8 * 64 * 64 * 2)
    with dask.config.set(scheduler="threads", num_workers=2):
        written = ngffkit.write_image(data.rechunk((1, 128, 128)), tmp_path / "p.zarr", chunks=(4, 32, 32),
                                      shards=(8, 64, 64), levels=3)  # fmt: skip
    assert len(calls) == 4, calls
    np.testing.assert_array_equal(written.levels[0].compute(), expected)


def test_leaves_take_the_regions_one_input_chunk_fills_one_after_the_other() -> None:
    """Columns (Z x 1 x X chunks) fill every region along z and x of their y band: those leaves come together, y
    slowest -- in C order the bands' deeper regions waited until z moved on, holding nearly the whole volume."""
    from ngffkit.writer import feeder

    columns = da.zeros((64, 256, 256), chunks=(64, 1, 256), dtype="uint16")
    region = (32, 64, 64)
    leaves = list(itertools.product(range(2), range(4), range(4)))
    order = feeder.leaf_order(columns, region, leaves)
    assert order[:8] == [(z, 0, x) for z in range(2) for x in range(4)]  # the first band of y, whole
    assert feeder.filling_bytes(columns, region) == 2 * 4 * 32 * 64 * 64 * 2
    planes = da.zeros((64, 256, 256), chunks=(1, 256, 256), dtype="uint16")
    assert feeder.leaf_order(planes, region, leaves) == sorted(leaves)  # planes: z slowest, C order
