"""dask's graph internals that :mod:`ngffkit.store.dask_graphs` reads, pinned: each test fails naming what moved.

Should one fail on a new dask release, the writer still fails closed (a graph it cannot read is written beside
its destination, never over it) -- but reading every task is slower, and a large graph then proves nothing.
Fix the adapter; do not loosen the test.
"""

from __future__ import annotations

import importlib.util

import dask
import dask.array as da
import numpy as np
import pytest
import zarr

import ngffkit
from ngffkit.reader.arrays import GuardedArray
from ngffkit.store import dask_graphs


@pytest.fixture
def zarr_array(tmp_path):  # type: ignore[no-untyped-def]
    array = zarr.create_array(str(tmp_path / "a.zarr"), shape=(40_000, 40_000), chunks=(4, 4), dtype="uint8")
    return array


def test_a_blockwise_layer_is_read_from_its_template_not_its_blocks(zarr_array) -> None:  # type: ignore[no-untyped-def]
    """10^8 blocks: only the layer's template, arguments and per-block inputs can be read within the budget."""
    level = da.from_array(zarr_array, chunks=(4, 4), inline_array=True)
    (layer,) = level.__dask_graph__().layers.values()  # HighLevelGraph.layers (documented)
    from dask.blockwise import Blockwise

    assert isinstance(layer, Blockwise), f"da.from_array makes a {type(layer).__module__}.{type(layer).__name__} now"
    assert dask_graphs._template(layer) is not None, "dask's Blockwise has neither .task (>= 2024.12) nor .dsk"
    assert dask_graphs._broadcast_arguments(layer) is not None, "dask's Blockwise.indices moved"
    assert isinstance(getattr(layer, "io_deps", None), dict), "dask's Blockwise.io_deps moved"
    found = dask_graphs.contents(level)
    assert found.unread == [], f"a blockwise layer was read block by block: {found.unread}"
    assert zarr_array in found.values


def test_task_functions_and_data_are_found_in_every_task_form(zarr_array) -> None:  # type: ignore[no-untyped-def]
    """dask >= 2024.12: Task.func/args/kwargs and DataNode.value (dask.task_spec); before: tuple tasks."""

    def mine(block: np.ndarray) -> np.ndarray:
        return block

    not_inline = da.from_array(zarr_array, chunks=(20_000, 20_000))  # the array in a task of its own
    found = dask_graphs.contents(not_inline.map_blocks(mine)[:3, 5:9])
    assert found.unread == []
    assert zarr_array in found.values, "the array read by the graph was not found: dask's task form changed"
    assert mine in found.values, "the block function was not found: dask's task form changed"
    if importlib.util.find_spec("dask.task_spec") is not None:
        from dask.task_spec import DataNode, Task

        task = Task("k", mine, DataNode("d", zarr_array), kw=3)
        assert (task.func, task.args[0].value, task.kwargs) == (mine, zarr_array, {"kw": 3})


def test_delayed_and_fused_graphs_are_read(zarr_array) -> None:  # type: ignore[no-untyped-def]
    delayed = da.from_delayed(dask.delayed(np.asarray)(zarr_array), zarr_array.shape, zarr_array.dtype)
    assert zarr_array in dask_graphs.contents(delayed).values
    (optimized,) = dask.optimize(da.from_array(zarr_array, chunks=(20_000, 20_000))[:10].map_blocks(np.negative))
    found = dask_graphs.contents(optimized)  # fused tasks (a subgraph inside a task, or a SubgraphCallable)
    assert found.unread == [] and zarr_array in found.values and np.negative in found.values


def test_a_reader_level_reads_its_zarr_array_directly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What napari's background fetching reads without dask (:func:`dask_graphs.sole_source`)."""
    ngffkit.write_image(np.arange(64, dtype=np.uint8).reshape(8, 8), tmp_path / "i.zarr", levels=1)
    level = ngffkit.open(tmp_path / "i.zarr").levels[0]  # type: ignore[union-attr]
    source = dask_graphs.sole_source(level)
    assert isinstance(source, GuardedArray), "a reader level's array is not found in its graph: dask moved it"
    assert dask_graphs.sole_source(level + 1) is None and dask_graphs.sole_source(level[:4]) is None


def test_what_cannot_be_read_is_said() -> None:
    big = da.zeros((2_000, 2_000), chunks=(10, 10))[::2]  # 20,000 tasks of a materialised slice
    found = dask_graphs.contents(big, budget=1_000)
    assert any("too large to check" in part for part in found.unread)

    class Broken:
        def __dask_graph__(self) -> None:
            raise RuntimeError("no graph today")

    assert "no graph today" in dask_graphs.contents(Broken()).unread[0]
