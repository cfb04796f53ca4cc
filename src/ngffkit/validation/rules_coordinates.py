"""Rules for 0.6rc0: coordinate systems and RFC-5 coordinate transformations (images and scenes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ngffkit.store.paths import unsafe_reason
from ngffkit.validation.findings import Collector
from ngffkit.validation.rules_image import check_dataset_paths, check_unique_axis_names
from ngffkit.validation.shapes import (
    JSON,
    AllOf,
    Arr,
    Bool,
    Check,
    Num,
    Obj,
    Shape,
    Str,
    Tagged,
    child_path,
)

#: Axis types the strict schemas list; others are allowed but flagged with --strict.
KNOWN_AXIS_TYPES = ("array", "channel", "time", "space", "displacement", "coordinate", "frequency")

_AXIS = Obj(
    {"name": Str(min_length=1), "longName": Str(), "type": Str(), "discrete": Bool(), "unit": Str()},
    required=("name",),
)


def _axes(value: JSON, path: str, out: Collector) -> bool:
    """1 to 5 axes with unique names, and either 2-3 space axes or at least 2 array axes."""
    if not Arr(_AXIS, min_items=1, max_items=5, unique=True).check(value, path, out):
        return False
    ok = check_unique_axis_names(value, path, out)
    types = [a.get("type") for a in value]
    spaces, arrays = types.count("space"), types.count("array")
    if not (2 <= spaces <= 3 or arrays >= 2):
        out.error(
            "axes-space-count",
            path,
            f"needs 2 or 3 axes of type 'space' (or at least 2 of type 'array'), has {spaces} space axes",
        )
        ok = False
    return ok


COORDINATE_SYSTEM = Obj({"name": Str(min_length=1), "axes": Check(_axes)}, required=("name", "axes"))


def _unique_system_names(value: JSON, path: str, out: Collector) -> bool:
    if not isinstance(value, list):
        return True
    names = [cs.get("name") for cs in value if isinstance(cs, dict)]
    ok = True
    for i, name in enumerate(names):
        if isinstance(name, str) and names.index(name) != i:
            out.error("coordinate-systems-unique-names", child_path(path, i), f"coordinate system {name!r} repeats")
            ok = False
    return ok


COORDINATE_SYSTEMS = AllOf([Arr(COORDINATE_SYSTEM, min_items=1, unique=True), Check(_unique_system_names)])

_INDEX = Num(integer=True, minimum=0, maximum=4)


def _safe_param_path(value: JSON, path: str, out: Collector) -> bool:
    if not Str().check(value, path, out):
        return False
    reason = unsafe_reason(value)
    if reason is not None:
        out.error("unsafe-path", path, f"parameter path {value!r} {reason}")
        return False
    return True


_PARAM_PATH = Check(_safe_param_path)


def _exactly_one(a: str, b: str) -> Check:
    """Parameters given either inline (``b``) or by reference to an array (``path``), not both."""

    def check(obj: JSON, path: str, out: Collector) -> bool:
        present = [k for k in (a, b) if k in obj]
        if len(present) == 1:
            return True
        kind = obj.get("type")
        if not present:
            out.error("transform-parameters", path, f"a {kind} transformation needs '{b}' or '{a}'")
        else:
            out.error("transform-parameters", path, f"a {kind} transformation takes '{b}' or '{a}', not both")
        return False

    return Check(check)


def _square_matrix(value: JSON, path: str, out: Collector) -> bool:
    if not Arr(Arr(Num())).check(value, path, out):
        return False
    n = len(value)
    if not 2 <= n <= 5 or any(len(row) != n for row in value):
        out.error("transform-matrix-shape", path, "a rotation must be a square matrix of size 2 to 5")
        return False
    return True


def _by_dimension_entry(value: JSON, path: str, out: Collector) -> bool:
    shape = Obj(
        {"transformation": TRANSFORMATION, "inputAxes": Arr(Num()), "outputAxes": Arr(Num())},
        required=("transformation", "inputAxes", "outputAxes"),
    )
    return shape.check(value, path, out)


def _transformation_variants() -> dict[str, Shape]:
    common = {"name": Str()}
    interpolation = Str(enum=("nearest", "linear", "cubic"))
    return {
        "identity": Obj(common),
        "mapAxis": Obj(
            {**common, "mapAxis": Arr(_INDEX, min_items=2, max_items=5, unique=True)}, required=("mapAxis",)
        ),
        "projectAxis": AllOf(
            [
                Obj(
                    {
                        **common,
                        "droppedInputs": Arr(_INDEX, min_items=1, max_items=3, unique=True),
                        "createdOutputs": Arr(_INDEX, min_items=1, max_items=3, unique=True),
                    }
                ),
                Check(_project_axis_has_operation),
            ]
        ),
        "scale": Obj({**common, "scale": Arr(Num(exclusive_minimum=0))}, required=("scale",)),
        "translation": Obj({**common, "translation": Arr(Num())}, required=("translation",)),
        "affine": AllOf(
            [
                Obj({**common, "path": _PARAM_PATH, "affine": Arr(Arr(Num()))}),
                _exactly_one("path", "affine"),
            ]
        ),
        "rotation": AllOf(
            [
                Obj({**common, "path": _PARAM_PATH, "rotation": Check(_square_matrix)}),
                _exactly_one("path", "rotation"),
            ]
        ),
        "bijection": Obj(
            {**common, "forward": Check(_transformation), "inverse": Check(_transformation)},
            required=("forward", "inverse"),
        ),
        "sequence": Obj({**common, "transformations": Arr(Check(_transformation))}, required=("transformations",)),
        "byDimension": Obj(
            {**common, "transformations": Arr(Check(_by_dimension_entry))}, required=("transformations",)
        ),
        "displacements": Obj({**common, "path": _PARAM_PATH, "interpolation": interpolation}, required=("path",)),
        "coordinates": Obj({**common, "path": _PARAM_PATH, "interpolation": interpolation}, required=("path",)),
    }


def _project_axis_has_operation(obj: JSON, path: str, out: Collector) -> bool:
    if "droppedInputs" in obj or "createdOutputs" in obj:
        return True
    out.error("transform-parameters", path, "a projectAxis transformation needs 'droppedInputs' or 'createdOutputs'")
    return False


_VARIANTS: dict[str, Shape] = {}


def _transformation(value: JSON, path: str, out: Collector) -> bool:
    return Tagged(_VARIANTS, what="transformation type").check(value, path, out)


TRANSFORMATION = Check(_transformation)
_VARIANTS.update(_transformation_variants())


def _reference(*, required: str, closed: bool = False) -> Obj:
    """An input/output reference: ``{"path": ...}`` names an array or group, ``{"name": ...}`` a system."""
    return Obj({"name": Str(), "path": _PARAM_PATH}, required=(required,), closed=closed)


def _with_endpoints(inner: Shape, input_ref: Obj, output_ref: Obj) -> Shape:
    return AllOf([inner, Obj({"input": input_ref, "output": output_ref}, required=("input", "output"))])


_DATASET_INPUT = _reference(required="path")
_SYSTEM_REF = _reference(required="name")

# A dataset's own transformation: scale, identity, or a sequence of exactly [scale|translation] x 2.
_DATASET_VARIANTS: dict[str, Shape] = {
    "scale": _VARIANTS["scale"],
    "identity": _VARIANTS["identity"],
    "sequence": Obj(
        {
            "name": Str(),
            "transformations": Arr(
                Tagged(
                    {"scale": _VARIANTS["scale"], "translation": _VARIANTS["translation"]},
                    what="transformation type inside a dataset sequence (scale or translation)",
                ),
                min_items=2,
                max_items=2,
            ),
        },
        required=("transformations",),
    ),
}
DATASET_TRANSFORMATION = _with_endpoints(
    Tagged(_DATASET_VARIANTS, what="dataset transformation type (scale, identity or sequence)"),
    _DATASET_INPUT,
    _SYSTEM_REF,
)
MULTISCALE_TRANSFORMATION = _with_endpoints(TRANSFORMATION, _SYSTEM_REF, _SYSTEM_REF)
SCENE_TRANSFORMATION = _with_endpoints(
    TRANSFORMATION, _reference(required="name", closed=True), _reference(required="name", closed=True)
)


def _dataset(value: JSON, path: str, out: Collector) -> bool:
    shape = Obj(
        {
            "path": Str(),
            "coordinateTransformations": Arr(DATASET_TRANSFORMATION, min_items=1, max_items=1, unique=True),
        },
        required=("path", "coordinateTransformations"),
    )
    return shape.check(value, path, out)


def multiscale_shape(strict: bool) -> Obj:
    def semantics(ms: dict[str, Any], path: str, out: Collector) -> bool:
        check_dataset_paths(ms.get("datasets"), child_path(path, "datasets"), out)
        _dataset_semantics(ms, path, out, strict)
        return True

    shape = Obj(
        {
            "name": Str(),
            "metadata": Obj(),
            "type": Str(),
            "datasets": Arr(Check(_dataset), min_items=1),
            "coordinateSystems": COORDINATE_SYSTEMS,
            "coordinateTransformations": Arr(MULTISCALE_TRANSFORMATION, min_items=1),
        },
        required=("datasets", "coordinateSystems"),
        extra=semantics,
    )
    return shape.requiring("metadata", "type", "name") if strict else shape


def _systems(ms: Mapping[str, Any]) -> dict[str, list[Any]]:
    systems = ms.get("coordinateSystems")
    found: dict[str, list[Any]] = {}
    if isinstance(systems, list):
        for cs in systems:
            if isinstance(cs, dict) and isinstance(cs.get("name"), str) and isinstance(cs.get("axes"), list):
                found.setdefault(cs["name"], cs["axes"])
    return found


def _dataset_semantics(ms: dict[str, Any], path: str, out: Collector, strict: bool) -> None:
    """Cross-key checks: references to systems that exist, one output system, parameter lengths.

    The 0.6rc0 test cases accept a multiscale transformation naming a system that is not declared and a
    dataset whose input path differs from its own path, so these are warnings, not errors.
    """
    systems = _systems(ms)
    outputs = _dataset_references(ms, systems, path, out)
    if len(outputs) > 1:
        out.warn(
            "datasets-one-output-system",
            child_path(path, "datasets"),
            f"datasets map to different coordinate systems ({', '.join(sorted(outputs))}); they should share one",
        )
    top = ms.get("coordinateTransformations")
    if isinstance(top, list):
        for j, t in enumerate(top):
            if not isinstance(t, dict):
                continue
            for end in ("input", "output"):
                ref = t.get(end)
                if isinstance(ref, dict) and isinstance(ref.get("name"), str) and ref["name"] not in systems:
                    out.warn(
                        "transform-unknown-system",
                        child_path(child_path(child_path(path, "coordinateTransformations"), j), end),
                        f"{end} names coordinate system {ref['name']!r}, which is not declared",
                    )
    if strict:
        _custom_axis_types(systems, path, out)


def _dataset_references(ms: dict[str, Any], systems: dict[str, Any], path: str, out: Collector) -> set[str]:
    """Check each dataset transformation's input path and output system; return the output systems named."""
    outputs: set[str] = set()
    datasets = ms.get("datasets")
    if not isinstance(datasets, list):
        return outputs
    for i, ds in enumerate(datasets):
        if not isinstance(ds, dict) or not isinstance(ds.get("coordinateTransformations"), list):
            continue
        for j, t in enumerate(ds["coordinateTransformations"]):
            if not isinstance(t, dict):
                continue
            p = child_path(child_path(child_path(child_path(path, "datasets"), i), "coordinateTransformations"), j)
            inp, outp = t.get("input"), t.get("output")
            if isinstance(inp, dict) and isinstance(inp.get("path"), str) and inp["path"] != ds.get("path"):
                out.warn(
                    "transform-input-path",
                    child_path(p, "input"),
                    f"input path {inp['path']!r} differs from the dataset path {ds.get('path')!r}",
                )
            if isinstance(outp, dict) and isinstance(outp.get("name"), str):
                outputs.add(outp["name"])
                if outp["name"] not in systems:
                    out.warn(
                        "transform-unknown-system",
                        child_path(p, "output"),
                        f"output names coordinate system {outp['name']!r}, which is not declared",
                    )
                else:
                    _check_parameter_lengths(t, len(systems[outp["name"]]), p, out)
    return outputs


def _custom_axis_types(systems: dict[str, Any], path: str, out: Collector) -> None:
    """Strict mode: an axis type outside the spec's list is allowed but worth a warning."""
    for name, axes in systems.items():
        for axis in axes:
            if isinstance(axis, dict) and isinstance(axis.get("type"), str) and axis["type"] not in KNOWN_AXIS_TYPES:
                out.warn(
                    "axes-type-custom",
                    child_path(path, "coordinateSystems"),
                    f"axis {axis.get('name')!r} of {name!r} has custom type {axis['type']!r}",
                )


def _check_parameter_lengths(t: dict[str, Any], n_axes: int, path: str, out: Collector) -> None:
    steps = t.get("transformations") if t.get("type") == "sequence" else [t]
    if not isinstance(steps, list):
        return
    for step in steps:
        if isinstance(step, dict):
            kind = step.get("type")
            vec = step.get(kind) if isinstance(kind, str) else None
            if kind in ("scale", "translation") and isinstance(vec, list) and len(vec) != n_axes:
                out.warn("transform-length", path, f"{kind} has {len(vec)} values for {n_axes} axes")


def scene_shape() -> Obj:
    return Obj(
        {
            "coordinateSystems": COORDINATE_SYSTEMS,
            "coordinateTransformations": Arr(SCENE_TRANSFORMATION, min_items=1),
        },
        required=("coordinateTransformations",),
    )
