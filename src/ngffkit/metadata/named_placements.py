"""Placements into named coordinate systems found inside 0.4/0.5 metadata, as spatialdata writes them.

spatialdata (0.8: "0.5-dev-spatialdata", "0.4-dev-spatialdata", and genuine "0.4" from its first format) keeps an
image's placement in ``multiscales[0].coordinateTransformations`` as RFC-5 transformations with named ``input``
and ``output`` systems: a ``sequence`` of scale and translation into ``"global"``, an ``affine`` into another
system, or an ``identity``. That is not valid 0.4/0.5 (whose multiscale-level transformations are one scale and
an optional translation, without endpoints), and reading it as 0.4/0.5 would silently drop the placement: a label
spatialdata places at (10, 20) would show at (0, 0). This module decides where such an image goes: into the first
output system whose transformation is a fixed linear map of the image's axes (or the system asked for), applied
after the dataset's own scale and translation -- and it says which systems it could not interpret.

Kept in this one small module on purpose: the coordinate-systems issue (35) adds a general point-mapping API
(``map_points``) and names for 0.4/0.5 coordinate systems; this interpretation is to be routed through it then,
and nothing outside this module needs to know how spatialdata spells its placements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ngffkit.metadata.transforms import Ref, Transformation


@dataclass(frozen=True)
class NamedPlacement:
    """One multiscale-level transformation into a named system: where it leads, and whether it can be shown."""

    #: The output coordinate system's name ("global"), or None when the transformation names none.
    system: str | None
    #: Its position in ``multiscales[0].coordinateTransformations``.
    index: int
    transformation: Transformation
    #: Why it cannot be interpreted (None: it can; its matrix maps the image's axes linearly).
    problem: str | None

    @property
    def label(self) -> str:
        return repr(self.system) if self.system is not None else f"transformation {self.index}"


@dataclass(frozen=True)
class Placements:
    """The named placements of one multiscale image and the one it is shown in."""

    found: tuple[NamedPlacement, ...]
    #: The placement applied after each level's own scale and translation; None: none could be (or none is there).
    chosen: NamedPlacement | None

    @property
    def note(self) -> str | None:
        """The sentence that tells a person what was found and where the image is placed, or None if nothing was."""
        if not self.found:
            return None
        systems = ", ".join(p.label for p in self.found)
        said = (
            f"placements into named coordinate systems ({systems}), RFC-5 style as spatialdata writes them, "
            "are not valid metadata for this NGFF version"
        )
        if self.chosen is not None:
            said += f"; the image is placed in {self.chosen.label}"
        else:
            said += "; none can be interpreted, the image is placed by its levels' scale and translation only"
        skipped = [f"{p.label} ({p.problem})" for p in self.found if p.problem is not None]
        if skipped:
            said += "; not interpreted: " + ", ".join(skipped)
        return said


def _name(ref: Ref | str | None) -> str | None:
    return ref.name if isinstance(ref, Ref) else ref


def _problem(transformation: Transformation, ndim: int) -> str | None:
    if transformation.matrix(ndim) is None:
        return f"a {transformation.type or 'transformation of unknown type'} that is not a linear map of {ndim} axes"
    return None


def named_placements(transformations: Sequence[Transformation], ndim: int, *, system: str | None = None) -> Placements:
    """The multiscale-level ``transformations`` of a 0.4/0.5 image (``ndim`` axes) that name an input or output
    system, and the one to place the image by: the one into ``system`` when given and usable, else the first
    usable one. (Call it only for metadata without coordinate systems: in 0.6rc0 named systems are the rule.)"""
    found = tuple(
        NamedPlacement(_name(t.output), i, t, _problem(t, ndim))
        for i, t in enumerate(transformations)
        if t.input is not None or t.output is not None
    )
    usable = [p for p in found if p.problem is None]
    asked = [p for p in usable if system is not None and p.system == system]
    candidates = asked or usable
    return Placements(found, candidates[0] if candidates else None)
