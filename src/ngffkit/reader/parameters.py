"""Reading the arrays 0.6rc0 transformations keep their parameters in (``path``), so that they map points and
place layers like inline ones.

What such an array may be is :mod:`ngffkit.metadata.parameter_arrays`; here it is read -- its shape, data type and
chunk size checked from its metadata first, so that only a few numbers are ever fetched -- and a problem is one
:class:`~ngffkit.InvalidMetadata` naming the array's URL and the transformation's ``path`` key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

from ngffkit.errors import InvalidMetadata
from ngffkit.metadata.coordinate_systems import SystemGraph
from ngffkit.metadata.parameter_arrays import (
    Stored,
    chunk_problem,
    dtype_problem,
    inlined,
    needs_reading,
    shape_problem,
)
from ngffkit.metadata.transforms import Transformation
from ngffkit.store.arrays import zarr_array
from ngffkit.store.location import Location


def read_parameters(location: Location, t: Stored) -> np.ndarray:
    """The parameters of ``t``, read from the array at its ``path`` below ``location`` (the group whose metadata
    holds ``t``)."""
    assert t.path is not None
    key = f"{t.type}.path"
    array_at = location.child(t.path, key=key)
    node = array_at.read(expect="array")
    if not node.exists:
        raise InvalidMetadata(f"the {t.type} transformation's parameter array {t.path!r} does not exist",
                              where=array_at.url, key=key)  # fmt: skip
    if not node.is_array or node.shape is None:
        raise InvalidMetadata(f"the {t.type} transformation's parameters {t.path!r} are not a zarr array",
                              where=array_at.url, key=key)  # fmt: skip
    problem = shape_problem(t.type, node.shape)
    if problem is None:
        array = zarr_array(node)
        problem = dtype_problem(array.dtype) or chunk_problem(tuple(array.chunks), array.dtype.itemsize)
    if problem is not None:
        raise InvalidMetadata(f"unusable parameter array {t.path!r}: {problem}", where=array_at.url, key=key)
    values = np.asarray(array[...], dtype=float)
    if not np.isfinite(values).all():
        raise InvalidMetadata(f"the parameter array {t.path!r} holds values that are not finite numbers",
                              where=array_at.url, key=key)  # fmt: skip
    return values


def with_parameters(t: Transformation, location: Location) -> Transformation:
    """``t`` with every parameter array it names read into it (``t`` itself when it names none)."""
    if not needs_reading(t):
        return t
    return inlined(t, lambda part: read_parameters(location, part))


def chain_with_parameters(chain: Iterable[Transformation], location: Location) -> tuple[Transformation, ...]:
    return tuple(with_parameters(t, location) for t in chain)


def graph_with_parameters(graph: SystemGraph, location: Location) -> SystemGraph:
    """``graph`` (of the node at ``location``) with the parameter arrays of its transformations read, each below
    the node whose metadata holds it (a scene member's below the member). Edges that name none are kept as they
    are (a scene may hold thousands of them)."""
    edges = []
    for edge in graph.edges:
        if not needs_reading(edge.transformation):
            edges.append(edge)
            continue
        base = location.child(edge.base, key="path") if edge.base else location
        edges.append(dataclasses.replace(edge, transformation=with_parameters(edge.transformation, base)))
    return dataclasses.replace(graph, edges=tuple(edges))
