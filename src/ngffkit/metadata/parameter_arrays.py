"""Transformation parameters kept in a zarr array (0.6rc0: ``{"type": "affine", "path": "..."}``), without I/O.

NGFF 0.6rc0 lets ``scale``, ``translation``, ``affine`` and ``rotation`` name an array at ``path`` instead of giving
their values inline. The specification says how the array is shaped: ``scale`` and ``translation`` 1D of length N
(the number of axes), ``affine`` 2D of shape (M, N+1) -- M output axes, N input axes, the last column the
translation (the homogeneous last row may be stored too) -- and ``rotation`` 2D of shape (N, N); the first
dimension indexes rows. It recommends keeping such arrays in a group ``coordinateTransformations`` of the group
whose metadata holds the transformation, and its example writes the path relative to that group
(``"path": "coordinateTransformations/sampleA_instrument2-to-instrument1"``): ngffkit reads it so.

This module says what such an array may be (checked from its metadata, before anything is read: a parameter array
is a few numbers, never a reason to read megabytes) and rebuilds a transformation with the values read; the reader
(:mod:`ngffkit.reader.parameters`) and the validator do the reading.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ngffkit.metadata.transforms import (
    Affine,
    Bijection,
    ByDimension,
    Rotation,
    Scale,
    Sequence,
    Transformation,
    Translation,
)

#: The most axes a parameter array may describe (the 0.6rc0 schemas allow 5; a little room beyond).
MAX_AXES = 32
#: The most bytes one chunk of a parameter array may decode to. The largest parameter array (an affine of
#: (MAX_AXES + 1)^2 float64s) is ~8.5 KiB; a chunk far larger than its array is a reason to read megabytes for a few
#: numbers -- a 2-value array whose one chunk is 2^27 values would decode a GiB.
MAX_CHUNK_BYTES = 2**20
#: The transformation types that may keep their parameters in an array, and that array's number of dimensions.
ARRAY_DIMENSIONS = {"scale": 1, "translation": 1, "affine": 2, "rotation": 2}

Stored = Scale | Translation | Affine | Rotation


def shape_problem(kind: str, shape: tuple[int, ...]) -> str | None:
    """Why an array of ``shape`` cannot hold the parameters of a ``kind`` transformation, or None."""
    wanted = ARRAY_DIMENSIONS[kind]
    if len(shape) != wanted:
        return f"a {kind} keeps its parameters in a {wanted}D array; this one is {len(shape)}D {list(shape)}"
    if kind in ("scale", "translation") and not 1 <= shape[0] <= MAX_AXES:
        return f"a {kind} array holds one value per axis (1 to {MAX_AXES}); this one holds {shape[0]}"
    if kind == "rotation" and (shape[0] != shape[1] or not 1 <= shape[0] <= MAX_AXES):
        return f"a rotation array is square, N x N with N from 1 to {MAX_AXES}; this one is {list(shape)}"
    if kind == "affine" and not (1 <= shape[0] <= MAX_AXES + 1 and 2 <= shape[1] <= MAX_AXES + 1):
        return f"an affine array is M x (N+1) with M and N from 1 to {MAX_AXES}; this one is {list(shape)}"
    return None


def dtype_problem(dtype: np.dtype) -> str | None:
    """Why values of ``dtype`` cannot be transformation parameters (they must be real numbers), or None."""
    if dtype.kind in "iuf":
        return None
    return f"its data type {dtype} is not a real number type (integers or floats)"


def chunk_problem(chunks: tuple[int, ...], itemsize: int) -> str | None:
    """Why reading an array whose chunks are ``chunks`` (of ``itemsize``-byte values) would cost far more than the
    few numbers it holds, or None."""
    size = math.prod(chunks) * itemsize
    if size <= MAX_CHUNK_BYTES:
        return None
    return f"its chunks {list(chunks)} decode to {size} bytes each (at most {MAX_CHUNK_BYTES} for a few parameters)"


def stored(t: Transformation) -> Stored | None:
    """``t`` when it keeps its parameters in an array and gives none inline (then its array is read), else None."""
    if isinstance(t, Scale) and t.path and t.scale is None:
        return t
    if isinstance(t, Translation) and t.path and t.translation is None:
        return t
    if isinstance(t, Affine | Rotation) and t.path and (t.affine if isinstance(t, Affine) else t.rotation) is None:
        return t
    return None


def nested(t: Transformation) -> Iterator[Transformation]:
    """``t`` and every transformation inside it (sequence steps, byDimension parts, a bijection's two)."""
    yield t
    if isinstance(t, Sequence):
        for step in t.transformations:
            yield from nested(step)
    elif isinstance(t, ByDimension):
        for entry in t.transformations:
            if entry.transformation is not None:
                yield from nested(entry.transformation)
    elif isinstance(t, Bijection):
        for part in (t.forward, t.inverse):
            if part is not None:
                yield from nested(part)


def needs_reading(t: Transformation) -> bool:
    return any(stored(part) is not None for part in nested(t))


def with_values(t: Stored, values: np.ndarray) -> Transformation:
    """``t`` with ``values`` (its array, checked) inline and no ``path``: linear like any inline one."""
    if isinstance(t, Scale):
        return dataclasses.replace(t, scale=tuple(float(v) for v in values), path=None)
    if isinstance(t, Translation):
        return dataclasses.replace(t, translation=tuple(float(v) for v in values), path=None)
    rows = tuple(tuple(float(v) for v in row) for row in values)
    if isinstance(t, Affine):
        return dataclasses.replace(t, affine=rows, path=None)
    return dataclasses.replace(t, rotation=rows, path=None)


def inlined(t: Transformation, values_of: Callable[[Stored], np.ndarray]) -> Transformation:
    """``t`` with every parameter array it names replaced by its values (``values_of`` reads one)."""
    own = stored(t)
    if own is not None:
        return with_values(own, values_of(own))
    if isinstance(t, Sequence):
        return dataclasses.replace(t, transformations=tuple(inlined(s, values_of) for s in t.transformations))
    if isinstance(t, ByDimension):
        entries = tuple(
            dataclasses.replace(e, transformation=inlined(e.transformation, values_of))
            if e.transformation is not None
            else e
            for e in t.transformations
        )
        return dataclasses.replace(t, transformations=entries)
    if isinstance(t, Bijection):
        return dataclasses.replace(
            t,
            forward=inlined(t.forward, values_of) if t.forward is not None else None,
            inverse=inlined(t.inverse, values_of) if t.inverse is not None else None,
        )
    return t


def paths_in(document: Any, key: str = "") -> Iterator[tuple[str, str, str]]:
    """Every parameter array a metadata document names: (transformation type, path, JSON key of the path).
    For the validator, which reads JSON rather than the parsed types."""
    if isinstance(document, dict):
        kind, path = document.get("type"), document.get("path")
        inline = kind in ARRAY_DIMENSIONS and document.get(kind) is not None
        if kind in ARRAY_DIMENSIONS and isinstance(path, str) and not inline:
            yield str(kind), path, f"{key}.path" if key else "path"
        for name, value in document.items():
            yield from paths_in(value, f"{key}.{name}" if key else name)
    elif isinstance(document, list):
        for i, value in enumerate(document):
            yield from paths_in(value, f"{key}[{i}]")
