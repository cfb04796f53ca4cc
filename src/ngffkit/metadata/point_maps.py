"""Applying coordinate transformations to points, forwards and backwards.

Pure numbers: points are an (N, ndim) float array, one row per point, in the axis order of the coordinate system
they are in. Linear transformations (identity, scale, translation, affine, rotation, mapAxis, byDimension of linear
parts, sequences of those) become one homogeneous matrix and run backwards through its inverse. Displacement and
coordinate fields run forwards only, through a :data:`FieldSampler` the caller supplies (reading the field's array is
I/O, which belongs to the reader); their inverse exists only where a ``bijection`` names it.

Errors are :class:`~ngffkit.InvalidMetadata` / :class:`~ngffkit.InvalidArgument` without a location: the caller
(:mod:`ngffkit.reader.coordinates`) knows the node and the coordinate systems and says them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ngffkit.errors import InvalidArgument, InvalidMetadata
from ngffkit.metadata.transforms import (
    Affine,
    Bijection,
    ByDimension,
    Coordinates,
    DimensionEntry,
    Displacements,
    Identity,
    MapAxis,
    Rotation,
    Scale,
    Sequence,
    Transformation,
    Translation,
)

#: Values of a displacement or coordinate field at points: ``sampler(field_transformation, points)`` returns an
#: (N, k) array (displacements to add, or the coordinates themselves).
FieldSampler = Callable[[Displacements, np.ndarray], np.ndarray]


class NoInverse(InvalidMetadata):
    """A transformation was needed backwards but has no inverse (a field outside a bijection, a singular matrix,
    a projection)."""


def _describe(t: Transformation) -> str:
    return f"{t.type or 'unknown'} transformation" + (f" {t.name!r}" if t.name else "")


def linear_matrix(t: Transformation, ndim_in: int | None) -> np.ndarray | None:
    """The homogeneous (ndim_out+1, ndim_in+1) matrix of ``t``, or None when it is not linear or its size cannot
    be known. ``ndim_in`` is the dimension of the points it receives (needed for ``identity`` alone)."""
    if isinstance(t, Identity):
        return np.eye(ndim_in + 1) if ndim_in is not None else None
    if isinstance(t, Scale | Translation):
        values = t.scale if isinstance(t, Scale) else t.translation
        return t.matrix(len(values)) if values is not None and not t.path else None
    if isinstance(t, Rotation):
        return t.matrix(len(t.rotation)) if t.rotation and not t.path else None
    if isinstance(t, Affine):
        if not t.affine or t.path:
            return None
        rows = np.asarray(t.affine, dtype=float)
        if rows.ndim != 2 or rows.shape[1] < 1:
            return None
        n_in = rows.shape[1] - 1
        if rows.shape[0] == n_in + 1 and np.allclose(rows[-1], np.eye(1, n_in + 1, n_in)):
            return rows
        return np.vstack([rows, np.eye(1, n_in + 1, n_in)])
    if isinstance(t, MapAxis):
        return _map_axis_matrix(t)
    if isinstance(t, ByDimension):
        return by_dimension_matrix(t, ndim_in)
    if isinstance(t, Bijection):
        return linear_matrix(t.forward, ndim_in) if t.forward is not None else None
    if isinstance(t, Sequence):
        total = np.eye(ndim_in + 1) if ndim_in is not None else None
        for step in t.transformations:
            n = total.shape[0] - 1 if total is not None else None
            m = linear_matrix(step, n)
            if m is None or (total is not None and m.shape[1] != total.shape[0]):
                return None
            total = m if total is None else m @ total
        return total
    return None


def _map_axis_matrix(t: MapAxis) -> np.ndarray | None:
    n_in = max(t.map_axis) + 1 if t.map_axis else 0
    if not t.map_axis or min(t.map_axis) < 0:
        return None
    m = np.zeros((len(t.map_axis) + 1, n_in + 1))
    for out_axis, in_axis in enumerate(t.map_axis):
        m[out_axis, in_axis] = 1
    m[-1, -1] = 1
    return m


def by_dimension_matrix(t: ByDimension, ndim_in: int | None = None, ndim_out: int | None = None) -> np.ndarray | None:
    """The matrix of a byDimension whose parts are all linear: each part's matrix placed on its input and output
    axes. The dimensions are ``ndim_in``/``ndim_out`` where known, else one past the highest axis a part names."""
    entries = t.transformations
    if not entries or any(e.transformation is None for e in entries):
        return None
    ins = [_axis_indices(e.input_axes) for e in entries]
    outs = [_axis_indices(e.output_axes) for e in entries]
    if any(i is None for i in ins) or any(o is None for o in outs):
        return None
    n_in = ndim_in if ndim_in is not None else max(max(i or [-1]) for i in ins) + 1
    n_out = ndim_out if ndim_out is not None else max(max(o or [-1]) for o in outs) + 1
    m = np.zeros((n_out + 1, n_in + 1))
    m[-1, -1] = 1
    for entry, in_axes, out_axes in zip(entries, ins, outs, strict=True):
        assert entry.transformation is not None and in_axes is not None and out_axes is not None
        part = linear_matrix(entry.transformation, len(in_axes))
        if part is None or part.shape != (len(out_axes) + 1, len(in_axes) + 1):
            return None
        if max(in_axes, default=-1) >= n_in or max(out_axes, default=-1) >= n_out:
            return None
        for r, out_axis in enumerate(out_axes):
            m[out_axis, in_axes] = part[r, :-1]
            m[out_axis, -1] = part[r, -1]
    return m


def on_named_axes(t: Transformation, source: tuple[str, ...], target: tuple[str, ...]) -> ByDimension | None:
    """``t`` -- a linear transformation of as many axes as the ``target`` system has, from a ``source`` system with
    more -- as the byDimension that applies it to the source axes named like the target's, in the target's order
    (the others, such as a channel axis, are dropped). None when ``t`` is not such a transformation or the target's
    axis names are not all (once each) the source's."""
    m = linear_matrix(t, len(target)) if not isinstance(t, Identity) else np.eye(len(target) + 1)
    if m is None or m.shape != (len(target) + 1, len(target) + 1):
        return None
    if len(set(target)) != len(target) or any(source.count(name) != 1 for name in target):
        return None
    part = DimensionEntry(t, tuple(source.index(name) for name in target), tuple(range(len(target))))
    return ByDimension(name=t.name, input=t.input, output=t.output, transformations=(part,))


def _axis_indices(axes: tuple[object, ...]) -> list[int] | None:
    if all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
        return [int(a) for a in axes]  # type: ignore[call-overload]
    return None


def _apply_matrix(m: np.ndarray, points: np.ndarray, t: Transformation) -> np.ndarray:
    if m.shape[1] - 1 != points.shape[1]:
        raise InvalidArgument(f"the {_describe(t)} takes {m.shape[1] - 1}-dimensional points, not {points.shape[1]}")
    return points @ m[:-1, :-1].T + m[:-1, -1]


def invertible(t: Transformation) -> bool:
    """Whether ``t`` can run backwards (without reading anything: its own parameters decide)."""
    if isinstance(t, Bijection):
        return t.forward is not None and t.inverse is not None
    if isinstance(t, Displacements):  # also Coordinates
        return False
    if isinstance(t, Identity) or (isinstance(t, Translation) and t.translation is not None and not t.path):
        return True  # the common cases without numpy: a scene may hold many thousands of them
    if isinstance(t, Scale) and t.scale is not None and not t.path:
        return all(v != 0 for v in t.scale)
    if isinstance(t, Sequence):
        return all(invertible(s) for s in t.transformations)
    if isinstance(t, ByDimension) and any(
        e.transformation is None or not invertible(e.transformation) for e in t.transformations
    ):
        return False
    if isinstance(t, ByDimension) and _drops_axes(t):
        return False
    ndim = len(t.scale) if isinstance(t, Scale) and t.scale else None
    m = linear_matrix(t, ndim if ndim is not None else 1 if isinstance(t, Identity) else None)
    return m is not None and m.shape[0] == m.shape[1] and abs(np.linalg.det(m)) > 1e-12


def _drops_axes(t: ByDimension) -> bool:
    """Whether a byDimension leaves input axes unread (a channel dropped on the way to a y/x system): then points
    cannot come back through it."""
    read = [axis for e in t.transformations for axis in (_axis_indices(e.input_axes) or [])]
    return len(set(read)) != max(read, default=-1) + 1


def forward(t: Transformation, points: np.ndarray, fields: FieldSampler) -> np.ndarray:
    """``points`` mapped from ``t``'s input system to its output system."""
    m = linear_matrix(t, points.shape[1])
    if m is not None:
        return _apply_matrix(m, points, t)
    if isinstance(t, Sequence):
        for step in t.transformations:
            points = forward(step, points, fields)
        return points
    if isinstance(t, Bijection):
        if t.forward is None:
            raise InvalidMetadata(f"the {_describe(t)} has no forward transformation")
        return forward(t.forward, points, fields)
    if isinstance(t, ByDimension):
        return _by_dimension(t, points, lambda part, p: forward(part, p, fields))
    if isinstance(t, Coordinates):
        return np.asarray(fields(t, points), dtype=float)
    if isinstance(t, Displacements):
        return points + np.asarray(fields(t, points), dtype=float)
    stored = getattr(t, "path", None)
    if stored:
        raise InvalidMetadata(f"the {_describe(t)} keeps its parameters in the array {stored!r}, which was not read "
                              "(ngffkit.reader.parameters reads it)")  # fmt: skip
    raise InvalidMetadata(f"ngffkit cannot apply the {_describe(t)} (its parameters are missing or malformed)")


def backward(t: Transformation, points: np.ndarray, fields: FieldSampler) -> np.ndarray:
    """``points`` mapped from ``t``'s output system back to its input system; :class:`NoInverse` when ``t`` has
    no inverse."""
    if isinstance(t, Bijection):
        if t.inverse is None:
            raise NoInverse(f"the {_describe(t)} has no inverse transformation")
        return forward(t.inverse, points, fields)
    if isinstance(t, Sequence):
        for step in reversed(t.transformations):
            points = backward(step, points, fields)
        return points
    if isinstance(t, Displacements):
        raise NoInverse(f"the {_describe(t)} has no inverse (a field is inverted only through a bijection)")
    if isinstance(t, ByDimension) and not all(
        e.transformation is not None and linear_matrix(e.transformation, len(e.input_axes)) is not None
        for e in t.transformations
    ):
        return _by_dimension(t, points, lambda part, p: backward(part, p, fields), reverse=True)
    m = linear_matrix(t, points.shape[1])
    if m is None:
        raise NoInverse(f"the {_describe(t)} has no inverse ngffkit can compute")
    if m.shape[0] != m.shape[1] or abs(np.linalg.det(m)) <= 1e-12:
        raise NoInverse(f"the {_describe(t)} is not invertible (its matrix is {m.shape[0] - 1}x{m.shape[1] - 1}"
                        " or singular)")  # fmt: skip
    return _apply_matrix(np.linalg.inv(m), points, t)


def _by_dimension(
    t: ByDimension,
    points: np.ndarray,
    apply: Callable[[Transformation, np.ndarray], np.ndarray],
    *,
    reverse: bool = False,
) -> np.ndarray:
    """A byDimension applied part by part: each part reads its input axes' columns and writes its output axes'."""
    parts = []
    for entry in t.transformations:
        ins, outs = _axis_indices(entry.input_axes), _axis_indices(entry.output_axes)
        if entry.transformation is None or ins is None or outs is None:
            raise InvalidMetadata(f"a part of the {_describe(t)} has no transformation or no integer axes")
        parts.append((entry.transformation, outs, ins) if reverse else (entry.transformation, ins, outs))
    width = max(max(dst, default=-1) for _, _, dst in parts) + 1
    out = np.zeros((points.shape[0], width))
    for part, src, dst in parts:
        if max(src, default=-1) >= points.shape[1]:
            raise InvalidArgument(f"the {_describe(t)} reads axis {max(src)} of {points.shape[1]}-dimensional points")
        out[:, dst] = apply(part, points[:, src])
    return out
