"""Reading coordinate transformations from JSON: one function per document shape, tolerant of errors.

Kept apart from :mod:`ngffkit.metadata.transforms` (the types and their algebra) because parsing is where
malformed input is met: every problem becomes a note naming its key, and unknown types are kept as they are.
"""

from __future__ import annotations

from typing import Any

from ngffkit.metadata._base import Notes, as_float_list, as_str, extra_keys, list_at
from ngffkit.metadata.transforms import (
    TRANSFORMATION_TYPES,
    Affine,
    Bijection,
    ByDimension,
    Coordinates,
    DimensionEntry,
    Displacements,
    MapAxis,
    ProjectAxis,
    Ref,
    Rotation,
    Scale,
    Sequence,
    Transformation,
    Translation,
    UnknownTransformation,
)


def _matrix(value: Any, key: str, notes: Notes) -> tuple[tuple[float, ...], ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        notes.warn(key, "expected a matrix (a list of rows)")
        return None
    rows = [as_float_list(r, key, notes) for r in value]
    if any(r is None for r in rows):
        return None
    return tuple(r for r in rows if r is not None)


def _ints(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(value)
    return None


def parse_transformation(doc: Any, notes: Notes, key: str) -> Transformation:
    """Read one transformation; unknown types are kept as :class:`UnknownTransformation`."""
    if not isinstance(doc, dict):
        notes.warn(key, f"a transformation must be an object, got {type(doc).__name__}")
        return UnknownTransformation(raw_type="")
    kind = doc.get("type")
    common: dict[str, Any] = {
        "name": as_str(doc.get("name"), f"{key}.name", notes),
        "input": Ref.from_json(doc.get("input")),
        "output": Ref.from_json(doc.get("output")),
    }
    for end in ("input", "output"):
        if isinstance(common[end], str):
            draft_form(notes, f"{key}.{end}", f"{end} written as a plain name {common[end]!r}")
    cls = TRANSFORMATION_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        notes.warn(f"{key}.type", f"unknown transformation type {kind!r}; kept as is")
        return UnknownTransformation(
            raw_type=str(kind), extra=extra_keys(doc, ("type", "name", "input", "output")), **common
        )
    common["extra"] = extra_keys(doc, ("type", "name", "input", "output", *cls.params))
    path = doc.get("path") if isinstance(doc.get("path"), str) else None
    if cls is Scale:
        return Scale(scale=as_float_list(doc.get("scale"), f"{key}.scale", notes), path=path, **common)
    if cls is Translation:
        vec = as_float_list(doc.get("translation"), f"{key}.translation", notes)
        return Translation(translation=vec, path=path, **common)
    if cls is Affine:
        return Affine(affine=_matrix(doc.get("affine"), f"{key}.affine", notes), path=path, **common)
    if cls is Rotation:
        return Rotation(rotation=_matrix(doc.get("rotation"), f"{key}.rotation", notes), path=path, **common)
    if cls is MapAxis:
        return MapAxis(map_axis=_ints(doc.get("mapAxis")) or (), **common)
    if cls is ProjectAxis:
        return ProjectAxis(
            dropped_inputs=_ints(doc.get("droppedInputs")), created_outputs=_ints(doc.get("createdOutputs")), **common
        )
    if cls is Sequence:
        steps = list_at(doc, "transformations")
        return Sequence(
            transformations=tuple(
                parse_transformation(s, notes, f"{key}.transformations[{i}]") for i, s in enumerate(steps)
            ),
            **common,
        )
    if cls is ByDimension:
        entries = list_at(doc, "transformations")
        parsed = tuple(
            _dimension_entry(e, notes, f"{key}.transformations[{i}]")
            for i, e in enumerate(entries)
            if isinstance(e, dict)
        )
        return ByDimension(transformations=parsed, **common)
    if cls is Bijection:
        fwd, inv = doc.get("forward"), doc.get("inverse")
        return Bijection(
            forward=parse_transformation(fwd, notes, f"{key}.forward") if fwd is not None else None,
            inverse=parse_transformation(inv, notes, f"{key}.inverse") if inv is not None else None,
            **common,
        )
    if cls in (Displacements, Coordinates):
        interp = as_str(doc.get("interpolation"), f"{key}.interpolation", notes)
        return cls(path=path, interpolation=interp, **common)
    return cls(**common)


#: Every note about a form of an RFC-5 draft older than 0.6rc0 carries this, so that a reader can tell them apart.
DRAFT_FORM = "older RFC-5 draft form"
#: The keys of a byDimension part that older drafts spelled in snake case.
_DRAFT_AXES = {"inputAxes": "input_axes", "outputAxes": "output_axes"}


def draft_form(notes: Notes, key: str, what: str) -> None:
    """Note a form of an older RFC-5 draft, read as the 0.6rc0 form it stands for: once per document, at the
    first place it was met (the validator lists every place; a reader needs to say it once)."""
    if not any(DRAFT_FORM in message for message in notes.messages):
        notes.warn(key, f"{DRAFT_FORM}: {what}; read as 0.6rc0 writes it (input/output as objects, byDimension parts "
                        "as {transformation, inputAxes, outputAxes})")  # fmt: skip


def _dimension_entry(entry: dict[str, Any], notes: Notes, key: str) -> DimensionEntry:
    """One part of a byDimension: ``{"transformation": ..., "inputAxes": ..., "outputAxes": ...}`` in 0.6rc0;
    older drafts (and the specification's own byDimensionXarray example) write the transformation inline, its
    ``type`` beside the axes, some with ``input_axes``/``output_axes``. Read as 0.6rc0 means, written back as read."""
    axes: dict[str, tuple[Any, ...]] = {}
    snake = False
    for name, snake_name in _DRAFT_AXES.items():
        value = entry.get(name, entry.get(snake_name))
        if name not in entry and snake_name in entry:
            draft_form(notes, f"{key}.{snake_name}", f"{snake_name!r} in a byDimension part")
            snake = True
        axes[name] = tuple(value) if isinstance(value, list) else ()
    axis_keys = (*_DRAFT_AXES, *_DRAFT_AXES.values())
    if "transformation" in entry:
        transformation = parse_transformation(entry["transformation"], notes, f"{key}.transformation")
        extra = extra_keys(entry, ("transformation", *axis_keys))
        return DimensionEntry(transformation, axes["inputAxes"], axes["outputAxes"], extra, snake_case_axes=snake)
    if "type" not in entry:
        return DimensionEntry(None, axes["inputAxes"], axes["outputAxes"], extra_keys(entry, axis_keys),
                              snake_case_axes=snake)  # fmt: skip
    draft_form(notes, key, "a byDimension part written inline (its 'type' beside its axes)")
    transformation = parse_transformation({k: v for k, v in entry.items() if k not in axis_keys}, notes, key)
    return DimensionEntry(transformation, axes["inputAxes"], axes["outputAxes"], inline=True, snake_case_axes=snake)


def parse_transformations(doc: Any, notes: Notes, key: str) -> tuple[Transformation, ...]:
    if doc is None:
        return ()
    if not isinstance(doc, list):
        notes.warn(key, "coordinateTransformations must be a list; ignoring it")
        return ()
    return tuple(parse_transformation(t, notes, f"{key}[{i}]") for i, t in enumerate(doc))
