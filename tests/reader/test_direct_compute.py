"""A level's own ``compute()`` and ``np.asarray(level)`` -- and a plain slice's -- read straight into the result
(issue 33): dask's finalisation copied every block into a new array, holding the level twice. Everything else
stays dask's."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import pickle
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
from dask.diagnostics import ProgressBar

import ngffkit
from ngffkit.reader.arrays import BLOCK_BYTES
from ngffkit.reader.direct_compute import LazyLevel, LazyRegion, plain_selection

from ..conftest import require

#: uint8 (160, 512, 512): 40 MiB, two dask blocks of at most BLOCK_BYTES -- dask's path must concatenate.
SHAPE = (160, 512, 512)


@pytest.fixture(scope="module")
def level_path(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("whole") / "v.ome.zarr"
    data = (np.arange(np.prod(SHAPE), dtype=np.uint32) % 251).astype(np.uint8).reshape(SHAPE)
    ngffkit.write_image(data, path, axes="zyx", levels=1, chunks=(32, 128, 128))
    return path


def expected() -> np.ndarray:
    return (np.arange(np.prod(SHAPE), dtype=np.uint32) % 251).astype(np.uint8).reshape(SHAPE)


def peak_of(read: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    """What ``read`` returns and its peak of traced memory (numpy's buffers are traced) over the result's size."""
    tracemalloc.start()
    try:
        result = read()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak / result.nbytes


def test_the_level_is_more_than_one_block(level_path: pathlib.Path) -> None:
    level = ngffkit.open(level_path).levels[0]
    assert isinstance(level, LazyLevel) and isinstance(level, da.Array)
    assert level.npartitions > 1 and level.nbytes > BLOCK_BYTES


@pytest.mark.parametrize("how", ["compute", "asarray", "level[...]"])
def test_a_whole_level_is_read_into_its_result_alone(level_path: pathlib.Path, how: str) -> None:
    level = ngffkit.open(level_path).levels[0]

    def sliced_whole() -> np.ndarray:
        return level[...].compute()  # dask gives the level itself back for a selection of everything

    reads: dict[str, Callable[[], np.ndarray]] = {
        "compute": level.compute, "asarray": lambda: np.asarray(level), "level[...]": sliced_whole,
    }  # fmt: skip
    result, peak = peak_of(reads[how])
    np.testing.assert_array_equal(result, expected())
    assert peak < 1.3, f"peak memory {peak:.2f}x the level"


@pytest.mark.parametrize("setting", [{"scheduler": "sync"}, {"num_workers": 1}], ids=["synchronous", "num_workers"])
def test_a_configured_scheduler_is_dasks_to_run(level_path: pathlib.Path, setting: dict[str, Any]) -> None:
    """What the person configured is honoured: dask's path, the level held twice at its end (which is also what
    shows the memory test above can fail)."""
    level = ngffkit.open(level_path).levels[0]
    with dask.config.set(setting):
        result, peak = peak_of(level.compute)
    np.testing.assert_array_equal(result, expected())
    assert peak > 1.8


def test_compute_with_arguments_is_dasks(level_path: pathlib.Path) -> None:
    level = ngffkit.open(level_path).levels[0]
    result, peak = peak_of(lambda: level.compute(scheduler="threads"))
    np.testing.assert_array_equal(result, expected())
    assert peak > 1.8


def test_a_progress_bar_still_shows_the_computation(
    level_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    level = ngffkit.open(level_path).levels[0]
    with ProgressBar():
        result = level.compute()
    np.testing.assert_array_equal(result, expected())
    assert "100% Completed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "index",
    [(100,), (slice(60, 100), slice(None), 5), (Ellipsis, slice(3, 300)), (-1, slice(-20, None)), (np.int64(120),)],
    ids=["plane", "across-blocks", "ellipsis", "negative", "numpy-int"],
)
def test_a_plain_slice_is_read_directly(level_path: pathlib.Path, index: tuple[Any, ...]) -> None:
    level = ngffkit.open(level_path).levels[0]
    region = level[index]
    assert isinstance(region, LazyRegion) and not isinstance(region, LazyLevel)
    np.testing.assert_array_equal(region.compute(), expected()[index])
    np.testing.assert_array_equal(np.asarray(region), expected()[index])


def test_a_plain_slice_is_read_into_its_result_alone(level_path: pathlib.Path) -> None:
    """Whole chunks (zarr decodes a chunk that is cut into a buffer of its own first), across both blocks."""
    region = ngffkit.open(level_path).levels[0][32:160, 128:512]
    result, peak = peak_of(region.compute)
    np.testing.assert_array_equal(result, expected()[32:160, 128:512])
    assert peak < 1.3, f"peak memory {peak:.2f}x the region"
    with dask.config.set(scheduler="sync"):  # dask's path: the blocks, then their copy
        assert peak_of(region.compute)[1] > 1.8


def test_what_is_made_from_a_level_otherwise_is_a_plain_dask_array(level_path: pathlib.Path) -> None:
    level = ngffkit.open(level_path).levels[0]
    others = (level[::2], level[None], level[[1, 3]], level[5][3:9], level + 1, level.astype("float32"),
              level.rechunk((80, 256, 256)))  # fmt: skip
    for derived in others:
        assert type(derived) is da.Array
    np.testing.assert_array_equal(level[5][3:9].compute(), expected()[5][3:9])
    np.testing.assert_array_equal(level[::2][7].compute(), expected()[::2][7])
    unpickled = pickle.loads(pickle.dumps(level))
    assert type(unpickled) is da.Array and unpickled.name == level.name
    np.testing.assert_array_equal(unpickled[3].compute(), expected()[3])
    (both,) = dask.compute(level)  # dask's own entry point: dask's path, the same pixels
    np.testing.assert_array_equal(both, expected())


@pytest.mark.cluster
def test_under_a_distributed_client_the_workers_read(level_path: pathlib.Path) -> None:
    """Only the workers may reach the data (a cluster's file system, its credentials): a default client computes
    the level on the cluster, never in the client's process."""
    require(
        importlib.util.find_spec("distributed") is not None, "dask.distributed is not installed (the cluster extra)"
    )
    import distributed

    level = ngffkit.open(level_path).levels[0]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client, distributed.get_task_stream(client) as stream:  # fmt: skip
        result = level.compute()
    np.testing.assert_array_equal(result, expected())
    assert len(stream.data) >= level.npartitions  # each block a task on the cluster


def test_plain_selections_are_one_integer_or_step_one_slice_per_axis() -> None:
    shape = (4, 5, 6)
    assert plain_selection((1,), shape) == (1, slice(0, 5), slice(0, 6))
    assert plain_selection((Ellipsis, -1), shape) == (slice(0, 4), slice(0, 5), 5)
    assert plain_selection((slice(3, 1), 0), shape) == (slice(3, 3), 0, slice(0, 6))  # empty, as numpy's
    assert plain_selection(2, shape) == (2, slice(0, 5), slice(0, 6))
    for other in ((slice(None, None, 2),), (None,), ([0, 1],), (np.array([True] * 4),), (Ellipsis, Ellipsis)):
        assert plain_selection(other, shape) is None


def test_an_assignment_into_a_level_is_read_back(level_path: pathlib.Path) -> None:
    """dask's ``__setitem__`` changes the array in place (a new graph under the same object): its compute, and a
    region sliced from it afterwards, hold the assigned pixels -- not the level as stored."""
    level = ngffkit.open(level_path).levels[0]
    level[0, 0, 0] = 7
    region = level[0]
    region[0, 1] = 9
    changed = expected()
    changed[0, 0, 0], changed[0, 0, 1] = 7, 9
    assert level.compute()[0, 0, 0] == 7 and np.asarray(level)[0, 0, 0] == 7
    assert level[0].compute()[0, 0] == 7 and level[0, :2, :2].compute()[0, 0] == 7
    np.testing.assert_array_equal(region.compute(), changed[0])


EXPRESSION_ARRAYS = """
import sys
import ngffkit
level = ngffkit.open(sys.argv[1]).levels[0]
print(type(level).__module__, int(level.compute().sum()), int(level[5][3:9].compute().sum()))
"""


@pytest.mark.skipif(
    importlib.util.find_spec("dask.array._array_expr") is None,
    reason="this dask release has no array-expr mode of its own (older ones, the lowest allowed among them, kept "
    "it in the dask-expr package): not a missing resource, a mode that release does not have",
)
def test_levels_open_under_dasks_array_expressions(tmp_path: pathlib.Path) -> None:
    """dask's array-expr mode (``array.query-planning``, read when dask.array is imported) makes ``da.Array``
    another class: a level is then dask's own array, read as dask reads it."""
    data = np.arange(8 * 16 * 16, dtype=np.uint16).reshape(8, 16, 16)
    path = tmp_path / "small.ome.zarr"
    ngffkit.write_image(data, path, axes="zyx", levels=1, chunks=(4, 8, 8))
    environment = {**os.environ, "DASK_ARRAY__QUERY_PLANNING": "True"}
    done = subprocess.run([sys.executable, "-c", EXPRESSION_ARRAYS, str(path)], env=environment,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    _, total, part = done.stdout.split()
    assert (int(total), int(part)) == (int(data.sum()), int(data[5][3:9].sum()))


def test_a_level_stored_in_fortran_order_is_read_in_c_order(tmp_path: pathlib.Path) -> None:
    """zarr v2 arrays may be stored column-major (``order: F``), and zarr then returns column-major pixels; a
    level's own compute() gives them C-ordered, as dask's concatenation of blocks does (and dask 2026.8 for one
    block; dask 2025.1 handed a single block back as zarr made it)."""
    import zarr

    data = np.arange(5 * 13 * 11, dtype=np.uint16).reshape(5, 13, 11)
    group = zarr.open_group(tmp_path / "f.ome.zarr", mode="w", zarr_format=2)
    group.create_array("0", shape=data.shape, chunks=(2, 3, 4), dtype=data.dtype, order="F")[...] = data
    group.attrs["multiscales"] = [{
        "version": "0.4", "axes": [{"name": name, "type": "space"} for name in "zyx"],
        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1]}]}],
    }]  # fmt: skip
    level = ngffkit.open(tmp_path / "f.ome.zarr").levels[0]
    for read in (level.compute(), np.asarray(level), level[1:4].compute()):
        assert read.flags.c_contiguous
    np.testing.assert_array_equal(level.compute(), data)
