"""What a dask array's graph holds -- the one module that reads dask's graph internals.

Two questions need the inside of a graph. The writer asks what its input reads from (so that it never replaces
its own source: :mod:`ngffkit.writer.sources`); napari's drawing asks whether a level is nothing but a zarr array
read whole (so that it reads the array directly: :mod:`ngffkit.napari._background`). dask's public protocol
gives a graph as a mapping of keys to tasks; walking all of it is exact but materialises every task. These are
the internals used to do better, each pinned by ``tests/store/test_dask_graphs.py`` (which names what moved):

* ``HighLevelGraph.layers`` (documented): a graph's layers, so that only their templates are read;
* ``Blockwise.task`` (dask >= 2024.12) or ``Blockwise.dsk`` (before): the one task every block of a blockwise
  layer runs, ``Blockwise.indices`` (its arguments; arrays read with ``inline_array=True`` sit there) and
  ``Blockwise.io_deps`` (per-block inputs);
* ``dask.task_spec`` (dask >= 2024.12, public module): ``Task.func/args/kwargs`` and ``DataNode.value``; older
  tasks are tuples ``(function, *arguments)``.

Where a layer is of a kind not known here, or these attributes are gone, its tasks are read through the public
mapping instead (within a budget); what cannot be read at all is reported in :attr:`GraphContents.unread`, never
silently skipped -- the writer then treats its input as possibly reading from anywhere (it fails closed).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Most graph nodes (tasks, arguments, nested values) looked at for one array: a bound on the time a write
#: spends proving where its input comes from (about a second; a million-block slice is 6 million nodes). A
#: larger graph reads as "could not be read".
NODE_BUDGET = 1_500_000
#: Values that are data and hold nothing else.
PLAIN = (type(None), bool, int, float, complex, str, bytes, slice, type(Ellipsis), range, np.generic, np.dtype)
_PLAIN_TYPES = frozenset(t for t in PLAIN if t not in (np.generic, np.dtype))


@dataclass
class GraphContents:
    """Every value found in the tasks of a graph that is not plain data (arrays, objects, functions: what the
    caller judges), and the parts of the graph that could not be read, in words (empty: all of it was read)."""

    values: list[Any] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)


class _OverBudget(Exception):
    pass


def contents(collection: Any, budget: int | None = None) -> GraphContents:
    """What the graph of a dask collection (an array, a ``Delayed``) holds (reading at most ``budget`` nodes:
    :data:`NODE_BUDGET` unless given)."""
    walk = _Walk(NODE_BUDGET if budget is None else budget)
    try:
        graph = collection.__dask_graph__()
    except Exception as exc:  # a collection whose graph cannot even be built: nothing is known of it
        walk.found.unread.append(f"its dask graph ({type(exc).__name__}: {exc})")
        return walk.found
    layers = _layers(graph)
    if layers is None:
        walk.mapping(graph, "its dask graph")
    else:
        for name, layer in layers.items():
            walk.layer(str(name), layer)
    return walk.found


def sole_source(array: Any) -> Any | None:
    """The array-like that ``array`` reads whole, when ``array`` is nothing but ``da.from_array(source,
    inline_array=True)`` (as ngffkit's reader makes its levels): one blockwise layer holding ``source``, whose
    shape is the array's. None for anything else -- then the array is computed through dask as usual."""
    layers = _layers(array.__dask_graph__())
    if layers is None or len(layers) != 1:
        return None
    (layer,) = layers.values()
    found = [value for value in _broadcast_arguments(layer) or ()
             if not isinstance(value, PLAIN) and getattr(value, "shape", None) == array.shape]  # fmt: skip
    return found[0] if len(found) == 1 and hasattr(found[0], "__getitem__") else None


def _layers(graph: Any) -> Mapping[str, Any] | None:
    from dask.highlevelgraph import HighLevelGraph

    return graph.layers if isinstance(graph, HighLevelGraph) else None


def _is_blockwise(layer: Any) -> bool:
    from dask.blockwise import Blockwise

    return isinstance(layer, Blockwise)


def _broadcast_arguments(layer: Any) -> list[Any] | None:
    """The arguments a blockwise layer hands every block whole (index None: the array of ``inline_array=True``,
    a constant), or None when ``layer`` is not a blockwise layer as known here."""
    indices = getattr(layer, "indices", None) if _is_blockwise(layer) else None
    if indices is None:
        return None
    return [value for value, index in indices if index is None]


def _template(layer: Any) -> Any:
    """The task every block of a blockwise layer runs (dask >= 2024.12: ``task``; before: the one task of ``dsk``)."""
    task = getattr(layer, "task", None)
    if task is not None:
        return task
    dsk = getattr(layer, "dsk", None)
    return list(dsk.values()) if isinstance(dsk, Mapping) else None


@functools.cache
def _task_spec() -> tuple[Any, Any, Any, Any] | None:
    """dask's task classes (dask >= 2024.12: GraphNode, Task, DataNode, TaskRef), or None for tuple tasks."""
    try:
        from dask.task_spec import DataNode, GraphNode, Task, TaskRef
    except ImportError:
        return None
    return GraphNode, Task, DataNode, TaskRef


def _task_spec_parts(value: Any) -> Iterable[Any] | None:
    """What a dask >= 2024.12 graph node holds (function, arguments; a data node's value; nothing for references),
    or None when ``value`` is not one."""
    classes = _task_spec()
    if classes is None:
        return None
    node, task, data, reference = classes
    if isinstance(value, task):
        return (value.func, *value.args, *value.kwargs.values())
    if isinstance(value, data):
        return (value.value,)
    if isinstance(value, node | reference):
        return ()  # TaskRef, Alias: references to other keys, read where they are defined
    return None


class _Walk:
    def __init__(self, budget: int) -> None:
        self.found = GraphContents()
        self.left = budget
        self._seen: set[int] = set()

    def layer(self, name: str, layer: Any) -> None:
        if _is_blockwise(layer) and self._blockwise(name, layer):
            return
        self.mapping(layer, f"graph layer {name!r} ({type(layer).__name__})")

    def _blockwise(self, name: str, layer: Any) -> bool:
        """Read a blockwise layer without making its tasks: its template, arguments and per-block inputs. False
        when the layer is not as known here (then it is read as a mapping)."""
        template, arguments = _template(layer), _broadcast_arguments(layer)
        io_deps = getattr(layer, "io_deps", None)
        if template is None or arguments is None or not isinstance(io_deps, Mapping):
            return False
        try:
            self.values([template, arguments])
            for dep in io_deps.values():
                state = _object_state(dep)
                if state is None:
                    self.found.unread.append(f"graph layer {name!r}: a per-block input of type {type(dep).__name__}")
                self.values([state])
        except _OverBudget:
            self.found.unread.append(f"graph layer {name!r}: too large to check")
        return True

    def mapping(self, mapping: Any, what: str) -> None:
        """Every task of a layer or graph, through the public mapping protocol (which may materialise it)."""
        try:
            self.values(_tasks(mapping))
        except _OverBudget:
            self.found.unread.append(f"{what}: too large to check")
        except Exception as exc:
            self.found.unread.append(f"{what} ({type(exc).__name__}: {exc})")

    def values(self, roots: Iterable[Any]) -> None:
        stack = list(roots)
        while stack:
            value = stack.pop()
            self.left -= 1
            if self.left < 0:
                raise _OverBudget
            kind = type(value)
            if kind in _PLAIN_TYPES:
                continue
            if kind is tuple or kind is list:
                stack.extend(value)
            elif isinstance(value, PLAIN):
                continue
            elif isinstance(value, tuple | list | set | frozenset):
                stack.extend(value)
            elif isinstance(value, dict):
                stack.extend(value.keys())
                stack.extend(value.values())
            elif isinstance(value, np.ndarray) and value.dtype == object:
                stack.extend(value.ravel().tolist())  # objects in an array (da.block of arrays): each is looked at
            elif (parts := _task_spec_parts(value)) is not None:
                stack.extend(parts)
            elif id(value) not in self._seen:
                self._seen.add(id(value))
                stack.extend(self._inside(value))

    def _inside(self, value: Any) -> Iterable[Any]:
        """What ``value`` carries that may be read when its task runs; ``value`` itself is recorded unless it is
        only a carrier (a partial, a bound method, dask's own helper objects)."""
        if isinstance(value, functools.partial):
            return [value.func, value.args, value.keywords]
        if isinstance(value, types.MethodType):
            return [value.__self__, value.__func__]
        if isinstance(value, types.FunctionType):
            self.found.values.append(value)
            cells = [_cell_contents(cell) for cell in value.__closure__ or ()]
            return [cells, value.__defaults__, value.__kwdefaults__]
        if isinstance(value, types.BuiltinMethodType) and not isinstance(value.__self__, types.ModuleType | None):
            self.found.values.append(value)
            return [value.__self__]  # a method of an object (``array.sum``): the object is read too
        state = _object_state(value) if _from_dask(value) and not isinstance(value, type) else None
        if state is not None:
            return [state]  # a fused subgraph, a per-block input, a lock: what it holds is looked at instead
        self.found.values.append(value)
        return []


def _tasks(mapping: Any) -> Iterator[Any]:
    yield from mapping.values()


def _cell_contents(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


def _from_dask(value: Any) -> bool:
    return (type(value).__module__ or "").split(".")[0] == "dask"


def _object_state(value: Any) -> dict[str, Any] | None:
    """An object's attributes (its ``__dict__`` and ``__slots__``), or None when it has neither."""
    state = dict(vars(value)) if isinstance(getattr(value, "__dict__", None), dict) else None
    slots = [name for cls in type(value).__mro__ for name in _slot_names(cls)]
    if slots:
        state = (state or {}) | {name: getattr(value, name, None) for name in slots if name != "__weakref__"}
    return state


def _slot_names(cls: type) -> tuple[str, ...]:
    slots = cls.__dict__.get("__slots__", ())
    return (slots,) if isinstance(slots, str) else tuple(slots)
