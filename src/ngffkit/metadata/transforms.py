"""Coordinate transformations: 0.4/0.5 scale and translation, and every RFC-5 (0.6rc0) type.

Each type is a frozen dataclass that reads itself from JSON, writes itself back with unknown keys intact,
and -- where the transformation is linear -- gives its homogeneous matrix, so the reader can hand napari a
``scale``/``translate`` pair or an ``affine``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ngffkit.metadata._base import no_extra, with_extra


@dataclass(frozen=True)
class Ref:
    """An input or output of a 0.6rc0 transformation: a coordinate system ``name`` and/or a ``path``."""

    name: str | None = None
    path: str | None = None

    @classmethod
    def from_json(cls, doc: Any) -> Ref | str | None:
        if isinstance(doc, dict):
            name, path = doc.get("name"), doc.get("path")
            return cls(name if isinstance(name, str) else None, path if isinstance(path, str) else None)
        return doc if isinstance(doc, str) else None

    def to_json(self) -> dict[str, str]:
        body = {}
        if self.path is not None:
            body["path"] = self.path
        if self.name is not None:
            body["name"] = self.name
        return body


def _ref_json(ref: Ref | str | None) -> Any:
    return ref.to_json() if isinstance(ref, Ref) else ref


@dataclass(frozen=True, kw_only=True)
class Transformation:
    """Fields every transformation has; subclasses add their parameters."""

    type: ClassVar[str] = ""
    name: str | None = None
    input: Ref | str | None = None
    output: Ref | str | None = None
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)

    #: JSON keys of the parameters, besides type, name, input and output.
    params: ClassVar[tuple[str, ...]] = ()

    def _params_json(self) -> dict[str, Any]:
        return {}

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type}
        if self.name is not None:
            body["name"] = self.name
        if self.input is not None:
            body["input"] = _ref_json(self.input)
        if self.output is not None:
            body["output"] = _ref_json(self.output)
        body.update(self._params_json())
        return with_extra(body, self.extra)

    def matrix(self, ndim: int) -> np.ndarray | None:
        """The (ndim+1)² homogeneous matrix, or None when the transformation is not a fixed linear map."""
        return None


@dataclass(frozen=True, kw_only=True)
class Identity(Transformation):
    type: ClassVar[str] = "identity"

    def matrix(self, ndim: int) -> np.ndarray:
        return np.eye(ndim + 1)


@dataclass(frozen=True, kw_only=True)
class Scale(Transformation):
    type: ClassVar[str] = "scale"
    params: ClassVar[tuple[str, ...]] = ("scale", "path")
    scale: tuple[float, ...] | None = None
    path: str | None = None

    def _params_json(self) -> dict[str, Any]:
        return _drop_none({"scale": list(self.scale) if self.scale is not None else None, "path": self.path})

    def matrix(self, ndim: int) -> np.ndarray | None:
        if self.scale is None or len(self.scale) != ndim:
            return None
        m = np.eye(ndim + 1)
        m[:ndim, :ndim] = np.diag(self.scale)
        return m


@dataclass(frozen=True, kw_only=True)
class Translation(Transformation):
    type: ClassVar[str] = "translation"
    params: ClassVar[tuple[str, ...]] = ("translation", "path")
    translation: tuple[float, ...] | None = None
    path: str | None = None

    def _params_json(self) -> dict[str, Any]:
        vec = list(self.translation) if self.translation is not None else None
        return _drop_none({"translation": vec, "path": self.path})

    def matrix(self, ndim: int) -> np.ndarray | None:
        if self.translation is None or len(self.translation) != ndim:
            return None
        m = np.eye(ndim + 1)
        m[:ndim, ndim] = self.translation
        return m


@dataclass(frozen=True, kw_only=True)
class Affine(Transformation):
    """An affine map; ``affine`` is the ndim_out x (ndim_in + 1) matrix (last column: translation)."""

    type: ClassVar[str] = "affine"
    params: ClassVar[tuple[str, ...]] = ("affine", "path")
    affine: tuple[tuple[float, ...], ...] | None = None
    path: str | None = None

    def _params_json(self) -> dict[str, Any]:
        rows = [list(r) for r in self.affine] if self.affine is not None else None
        return _drop_none({"affine": rows, "path": self.path})

    def matrix(self, ndim: int) -> np.ndarray | None:
        if self.affine is None:
            return None
        a = np.asarray(self.affine, dtype=float)
        if a.shape == (ndim, ndim + 1):
            return np.vstack([a, np.eye(1, ndim + 1, ndim)])
        if a.shape == (ndim + 1, ndim + 1):
            return a
        return None


@dataclass(frozen=True, kw_only=True)
class Rotation(Transformation):
    type: ClassVar[str] = "rotation"
    params: ClassVar[tuple[str, ...]] = ("rotation", "path")
    rotation: tuple[tuple[float, ...], ...] | None = None
    path: str | None = None

    def _params_json(self) -> dict[str, Any]:
        rows = [list(r) for r in self.rotation] if self.rotation is not None else None
        return _drop_none({"rotation": rows, "path": self.path})

    def matrix(self, ndim: int) -> np.ndarray | None:
        if self.rotation is None or np.shape(self.rotation) != (ndim, ndim):
            return None
        m = np.eye(ndim + 1)
        m[:ndim, :ndim] = self.rotation
        return m


@dataclass(frozen=True, kw_only=True)
class MapAxis(Transformation):
    """Output axis i takes input axis ``map_axis[i]`` (a permutation)."""

    type: ClassVar[str] = "mapAxis"
    params: ClassVar[tuple[str, ...]] = ("mapAxis",)
    map_axis: tuple[int, ...] = ()

    def _params_json(self) -> dict[str, Any]:
        return {"mapAxis": list(self.map_axis)}

    def matrix(self, ndim: int) -> np.ndarray | None:
        if sorted(self.map_axis) != list(range(ndim)):
            return None
        m = np.zeros((ndim + 1, ndim + 1))
        for out_axis, in_axis in enumerate(self.map_axis):
            m[out_axis, in_axis] = 1
        m[ndim, ndim] = 1
        return m


@dataclass(frozen=True, kw_only=True)
class ProjectAxis(Transformation):
    type: ClassVar[str] = "projectAxis"
    params: ClassVar[tuple[str, ...]] = ("droppedInputs", "createdOutputs")
    dropped_inputs: tuple[int, ...] | None = None
    created_outputs: tuple[int, ...] | None = None

    def _params_json(self) -> dict[str, Any]:
        return _drop_none(
            {
                "droppedInputs": list(self.dropped_inputs) if self.dropped_inputs is not None else None,
                "createdOutputs": list(self.created_outputs) if self.created_outputs is not None else None,
            }
        )


@dataclass(frozen=True, kw_only=True)
class Sequence(Transformation):
    type: ClassVar[str] = "sequence"
    params: ClassVar[tuple[str, ...]] = ("transformations",)
    transformations: tuple[Transformation, ...] = ()

    def _params_json(self) -> dict[str, Any]:
        return {"transformations": [t.to_json() for t in self.transformations]}

    def matrix(self, ndim: int) -> np.ndarray | None:
        total = np.eye(ndim + 1)
        for step in self.transformations:
            m = step.matrix(ndim)
            if m is None:
                return None
            total = m @ total
        return total


@dataclass(frozen=True)
class DimensionEntry:
    """One part of a byDimension transformation: which input axes map to which outputs, and how."""

    transformation: Transformation | None
    input_axes: tuple[Any, ...]
    output_axes: tuple[Any, ...]
    #: Other keys; kept for the round trip.
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)
    #: How an older RFC-5 draft wrote the part, kept so that it is written back as it was read: the transformation
    #: inline (its ``type`` beside the axes), and/or the axes as ``input_axes``/``output_axes``.
    inline: bool = field(default=False, compare=False)
    snake_case_axes: bool = field(default=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.transformation is not None and self.inline:
            body.update(self.transformation.to_json())
        elif self.transformation is not None:
            body["transformation"] = self.transformation.to_json()
        inputs, outputs = ("input_axes", "output_axes") if self.snake_case_axes else ("inputAxes", "outputAxes")
        body[inputs] = list(self.input_axes)
        body[outputs] = list(self.output_axes)
        return with_extra(body, self.extra)


@dataclass(frozen=True, kw_only=True)
class ByDimension(Transformation):
    type: ClassVar[str] = "byDimension"
    params: ClassVar[tuple[str, ...]] = ("transformations",)
    transformations: tuple[DimensionEntry, ...] = ()

    def _params_json(self) -> dict[str, Any]:
        return {"transformations": [t.to_json() for t in self.transformations]}

    def matrix(self, ndim: int) -> np.ndarray | None:
        """The matrix of an ndim -> ndim byDimension whose parts are all linear (each part's matrix placed on its
        axes); :func:`ngffkit.metadata.point_maps.by_dimension_matrix` also builds non-square ones."""
        from ngffkit.metadata.point_maps import by_dimension_matrix  # it uses these types: imported on use

        return by_dimension_matrix(self, ndim, ndim)


@dataclass(frozen=True, kw_only=True)
class Bijection(Transformation):
    type: ClassVar[str] = "bijection"
    params: ClassVar[tuple[str, ...]] = ("forward", "inverse")
    forward: Transformation | None = None
    inverse: Transformation | None = None

    def _params_json(self) -> dict[str, Any]:
        return _drop_none(
            {
                "forward": self.forward.to_json() if self.forward else None,
                "inverse": self.inverse.to_json() if self.inverse else None,
            }
        )

    def matrix(self, ndim: int) -> np.ndarray | None:
        return self.forward.matrix(ndim) if self.forward else None


@dataclass(frozen=True, kw_only=True)
class Displacements(Transformation):
    type: ClassVar[str] = "displacements"
    params: ClassVar[tuple[str, ...]] = ("path", "interpolation")
    path: str | None = None
    interpolation: str | None = None

    def _params_json(self) -> dict[str, Any]:
        return _drop_none({"path": self.path, "interpolation": self.interpolation})


@dataclass(frozen=True, kw_only=True)
class Coordinates(Displacements):
    type: ClassVar[str] = "coordinates"


@dataclass(frozen=True, kw_only=True)
class UnknownTransformation(Transformation):
    """A transformation of a type ngffkit does not know; kept whole so it is written back unchanged."""

    raw_type: str = ""

    def to_json(self) -> dict[str, Any]:
        body = super().to_json()
        body["type"] = self.raw_type
        return body


TRANSFORMATION_TYPES: dict[str, type[Transformation]] = {
    cls.type: cls
    for cls in (
        Identity, Scale, Translation, Affine, Rotation, MapAxis, ProjectAxis,
        Sequence, ByDimension, Bijection, Displacements, Coordinates,
    )
}  # fmt: skip


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def compose_scale_translation(
    transforms: tuple[Transformation, ...], ndim: int
) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """Fold scale/translation steps (also nested in sequences) into one (scale, translation) pair.

    Returns None when the chain holds anything else (rotation, affine, ...): then use :func:`compose_matrix`.
    """
    scale = np.ones(ndim)
    shift = np.zeros(ndim)
    for t in transforms:
        if isinstance(t, Sequence):
            inner = compose_scale_translation(t.transformations, ndim)
            if inner is None:
                return None
            s, tr = np.asarray(inner[0]), np.asarray(inner[1])
            scale, shift = scale * s, shift * s + tr
        elif isinstance(t, Scale) and t.scale is not None and len(t.scale) == ndim:
            scale, shift = scale * np.asarray(t.scale), shift * np.asarray(t.scale)
        elif isinstance(t, Translation) and t.translation is not None and len(t.translation) == ndim:
            shift = shift + np.asarray(t.translation)
        elif isinstance(t, Identity):
            continue
        else:
            return None
    return tuple(float(x) for x in scale), tuple(float(x) for x in shift)


def compose_matrix(transforms: tuple[Transformation, ...], ndim: int) -> np.ndarray | None:
    """The homogeneous matrix of a chain of linear transformations, or None if one is not linear."""
    return Sequence(transformations=transforms).matrix(ndim)
