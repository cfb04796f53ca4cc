"""What a write reads from, found in the data itself -- so that a write never replaces its own source.

``write_image(ngffkit.open("a.zarr").levels[0], "a.zarr", overwrite=True)`` would delete ``a.zarr`` and then
read zeros from it. The data knows where it comes from: a dask array's graph holds the arrays its blocks are
read from (ngffkit's lazy levels, ``da.from_zarr``, memory-mapped ``.npy`` files), and a numpy memmap knows its
file (:mod:`ngffkit.store.dask_graphs` reads the graph). What it does not know is said too: a function of the
caller's (``map_blocks``, ``delayed``) may open any file, an object ngffkit does not know may read from
anywhere, a graph may be too large or of a kind that cannot be read. Such data is not *proven* to leave the
destination alone, and the writer does not replace anything on trust: it writes beside the destination and swaps
the result in at the end (:func:`ngffkit.writer.destination.take_unproven`), or refuses where it cannot.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import dask.array as da
import numpy as np
from zarr.abc.store import Store

from ngffkit.errors import InvalidArgument
from ngffkit.reader.arrays import GuardedArray
from ngffkit.store import dask_graphs, places
from ngffkit.store.places import Place
from ngffkit.writer.options import check_dtype

#: Modules whose functions compute only from their arguments (which are judged themselves): dask's and numpy's
#: computations, Python's operators and ngffkit's own kernels -- except the functions of :func:`_file_readers`.
PURE_MODULES = frozenset({"dask", "numpy", "operator", "_operator", "builtins", "math", "functools", "itertools",
                          "toolz", "tlz", "cytoolz", "ngffkit"})  # fmt: skip
#: Modules whose objects hold no data of their own (locks, random generators). dask's own objects are not judged
#: here: what they hold is looked at instead (:mod:`ngffkit.store.dask_graphs`).
HARMLESS_MODULES = frozenset({"_thread", "threading", "numpy.random"})
_ROUTINES = (types.FunctionType, types.BuiltinFunctionType, types.MethodDescriptorType,
             types.WrapperDescriptorType, types.MethodWrapperType, types.ClassMethodDescriptorType, type)  # fmt: skip


@cache
def _file_readers() -> frozenset[int]:
    """Functions of the pure modules that read files named by their arguments (by identity)."""
    import builtins

    readers: list[Any] = [np.load, np.loadtxt, np.genfromtxt, np.fromfile, np.fromregex, np.memmap,
                          np.lib.format.open_memmap, builtins.exec, builtins.eval, builtins.compile,
                          builtins.__import__, builtins.input]  # fmt: skip
    return frozenset(id(reader) for reader in readers)


@dataclass(frozen=True)
class Sources:
    """Where data reads its values from: the places found, and what could not be located (in words). Data with
    nothing in :attr:`unknown` is proven to read from :attr:`places` only."""

    places: tuple[Place, ...] = ()
    unknown: tuple[str, ...] = ()

    @property
    def proven(self) -> bool:
        return not self.unknown

    def why_unproven(self) -> str:
        shown = "; ".join(self.unknown[:3])
        return shown + (f" and {len(self.unknown) - 3} more" if len(self.unknown) > 3 else "")


def sources_of(data: Any) -> Sources:
    """The places ``data`` (numpy, dask, or a list of levels) reads its values from, and what is not known."""
    items: Iterable[Any] = data if isinstance(data, list | tuple) else [data]
    found: list[Place] = []
    unknown: list[str] = []
    for item in items:
        if isinstance(item, da.Array) or hasattr(item, "__dask_graph__"):
            graph = dask_graphs.contents(item)
            candidates, unknown = graph.values, unknown + graph.unread
        else:
            candidates = [item]
        for candidate in candidates:
            verdict = judge(candidate)
            if isinstance(verdict, Place) and verdict not in found:
                found.append(verdict)
            elif isinstance(verdict, str) and verdict not in unknown:
                unknown.append(verdict)
    return Sources(tuple(found), tuple(unknown))


def judge(value: Any) -> Place | str | None:
    """Where ``value`` (found in a graph, or given to the writer) reads from: a place; None when it reads
    nothing (memory, a pure function); else what it is, in words -- it might read from anywhere."""
    value = _unwrapped(value)
    if isinstance(value, np.ndarray):
        return places.of_object(value)  # a memory-mapped file's place; None for memory
    if isinstance(value, Store):
        return places.of_store(value) or f"a {type(value).__name__} store ngffkit cannot locate"
    if getattr(value, "store_path", None) is not None:
        return places.of_object(value) or f"a zarr array in a store ngffkit cannot locate ({type(value).__name__})"
    if callable(value):
        return None if _pure(value) else f"the function {_name(value)} (ngffkit cannot see what it reads)"
    module = type(value).__module__ or ""
    if module in HARMLESS_MODULES or module.split(".")[0] in HARMLESS_MODULES:
        return None
    return f"a {module}.{type(value).__qualname__} object (ngffkit cannot see what it reads)"


def _unwrapped(value: Any) -> Any:
    """The array behind ngffkit's own wrappers (the reader's GuardedArray, the writer's SliceView)."""
    if isinstance(value, GuardedArray):
        return value.array
    if isinstance(value, SliceView):
        return value.array
    return value


def _pure(function: Any) -> bool:
    if id(function) in _file_readers():
        return False
    if isinstance(function, np.ufunc):  # numpy's own, not np.frompyfunc's wrapping of a Python function
        return getattr(np, function.__name__, None) is function
    if isinstance(function, _ROUTINES):
        owner = getattr(function, "__objclass__", None)
        module = getattr(function, "__module__", None) or getattr(owner, "__module__", None) or ""
    else:  # a callable object: judged by its class (np.vectorize wraps a Python function: not numpy's own)
        module = "" if isinstance(function, np.vectorize) else type(function).__module__ or ""
    return module.split(".")[0] in PURE_MODULES


def _name(function: Any) -> str:
    module = getattr(function, "__module__", None) or type(function).__module__
    name = getattr(function, "__qualname__", None) or type(function).__qualname__
    return f"{module}.{name}"


def refuse_overlap(destination: Place | None, sources: Iterable[Place], *, where: str) -> None:
    """:class:`~ngffkit.InvalidArgument` when the destination lies in, over or at a source of the data --
    checked before anything is written or deleted."""
    if destination is None:
        return
    for source in sources:
        if destination.overlaps(source):
            raise InvalidArgument(
                f"the output overlaps the input it reads from ({source}): writing there would destroy the data "
                "while it is read; choose another folder",
                where=where,
            )


class SliceView:
    """A numpy array seen only through slicing. dask.array.from_array copies any array-like that has a
    ``copy`` method -- a full copy of the caller's volume; this wrapper has none, and its slices are views."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.ndim = array.ndim

    def __getitem__(self, index: Any) -> np.ndarray:
        return self.array[index]


def lazy_view(array: np.ndarray, chunks: Any) -> da.Array:
    """A dask array over ``array`` without copying or hashing it (a memory-mapped file stays on disk)."""
    return da.from_array(SliceView(array), chunks=chunks, name=False, meta=np.empty((0,) * array.ndim, array.dtype))


def as_dask(data: Any) -> da.Array:
    """The writer's input as a lazy dask array (numpy arrays are viewed, not copied)."""
    dtype = getattr(data, "dtype", None)
    if isinstance(dtype, np.dtype):
        check_dtype(dtype)
    if isinstance(data, da.Array):
        return data
    if isinstance(data, np.ndarray):
        return lazy_view(data, "auto")  # no hashing, no copy of the caller's array
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        return da.from_array(data, chunks="auto", name=False)
    raise InvalidArgument(f"cannot write {type(data).__name__}: pass a numpy or dask array, or a list of levels")
