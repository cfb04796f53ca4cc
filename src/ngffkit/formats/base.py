"""What one NGFF version looks like on disk, as data.

Code outside ``ngffkit.formats`` never compares version strings: it asks the format object ("which zarr
format?", "where do the attributes live?", "how are axes written?"). Adding a version means adding one
:class:`Format` instance, not hunting for ``if version == ...`` across the code base.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class AxesStyle(enum.Enum):
    """How a version writes the axes of a multiscale image."""

    IMPLIED_TCZYX = "implied"  # 0.1, 0.2: no axes; arrays are 5D t, c, z, y, x
    NAMES = "names"  # 0.3: a list of axis names
    OBJECTS = "objects"  # 0.4, 0.5: a list of {name, type, unit}
    COORDINATE_SYSTEMS = "coordinate_systems"  # 0.6rc0: named coordinate systems holding axes


class TransformStyle(enum.Enum):
    """How a version maps array indices to physical coordinates."""

    NONE = "none"  # <= 0.3: unit scale, no translation
    SCALE_TRANSLATION = "scale_translation"  # 0.4, 0.5: a scale, then an optional translation
    COORDINATE_SYSTEMS = "coordinate_systems"  # 0.6rc0: RFC-5 transformations between named systems


#: The order 0.4 and 0.5 allow for axis objects, in words (the validator's ``axes-order`` finding and the
#: writer's refusal both say it so).
AXES_ORDER_RULE = "time, then channel or custom axes, then space axes"
#: The place of each axis type in that order; a custom type (anything else, or none) sits with channel.
_AXIS_TYPE_RANK = {"time": 0, "space": 2}


def axis_type_rank(axis_type: object) -> int:
    """Where an axis of ``axis_type`` belongs in the 0.4/0.5 order: 0 time, 1 channel or custom, 2 space."""
    return _AXIS_TYPE_RANK.get(axis_type, 1) if isinstance(axis_type, str) else 1


def axes_in_order(axis_types: Sequence[object]) -> bool:
    """Whether axes of these types follow :data:`AXES_ORDER_RULE` (the one rule of 0.4 and 0.5).

    The validator reports ``axes-order`` with it and the writer refuses to write what it would report."""
    ranks = [axis_type_rank(t) for t in axis_types]
    return ranks == sorted(ranks)


def axes_order_permutation(axis_types: Sequence[object]) -> tuple[int, ...]:
    """The axis indices in the order :data:`AXES_ORDER_RULE` allows, keeping axes of one rank as they are
    (``np.transpose(data, permutation)`` puts data in that order)."""
    return tuple(sorted(range(len(axis_types)), key=lambda i: axis_type_rank(axis_types[i])))


@dataclass(frozen=True)
class Format:
    """One OME-NGFF version.

    The fields are the facts that differ between versions; every other module reads them instead of
    testing the version string. The instances are in :data:`~ngffkit.FORMATS`; :func:`~ngffkit.get_format`
    finds one by its version string.

    :param version: the version string (``"0.4"``, ``"0.5"``, ``"0.6rc0"``).
    :param rank: orders versions for "newer than" questions (upgrade paths): higher is newer.
    :param zarr_format: the zarr format the version is stored in: 2 (up to 0.4) or 3 (0.5 on).
    :param namespace: None: attributes sit at the top level of ``.zattrs``; ``"ome"``: inside the ``ome``
        namespace.
    :param axes_style: how a multiscale's axes are written (implied tczyx, names, objects, coordinate systems).
    :param transform_style: how array indices map to physical coordinates (none, scale and translation,
        coordinate systems).
    :param version_in_namespace: the version is stated once in ``ome.version`` (0.5+) instead of in each section.
    :param field_path_pattern: the pattern (a regular expression) a well's field (image) path must match.
    :param omero_channel_requires_window_and_color: 0.4 requires ``window`` and ``color`` for each omero channel;
        later versions do not.
    :param well_path_order_is_error: whether a well path written column-first (``1/A``) is an error or only a
        warning. The 0.5 test suite rejects it; the 0.4 and 0.6rc0 suites contain valid plates whose paths are
        column/row, so there a deviation is reported as a warning.
    :param transform_length_mismatch_is_error: whether a dataset transform whose length differs from the axes
        count is an error. The 0.4 and 0.6rc0 test suites hold a valid case with that mismatch
        (``mismatch_axes_units``), so there it is a warning; the arrays check of the hierarchy validator still
        catches a real ndim mismatch.
    :param chunk_key_encoding: how chunk keys are encoded when this version is written, as (name, separator):
        ``("v2", "/")`` up to 0.4, ``("default", "/")`` from 0.5 on.
    :param supports_scene: a ``scene`` group (0.6rc0): coordinate transformations between several images.
    :param supports_labels: labels groups and ``image-label`` metadata exist (from 0.2 on).
    :param supports_plates: ``plate`` and ``well`` metadata (high-content screening) exist.
    """

    version: str
    rank: int
    zarr_format: int
    namespace: str | None
    axes_style: AxesStyle
    transform_style: TransformStyle
    version_in_namespace: bool
    field_path_pattern: str
    omero_channel_requires_window_and_color: bool
    well_path_order_is_error: bool
    transform_length_mismatch_is_error: bool
    chunk_key_encoding: tuple[str, str]
    supports_scene: bool
    supports_labels: bool
    supports_plates: bool

    def __str__(self) -> str:
        return self.version

    def __repr__(self) -> str:
        return f"Format({self.version!r})"

    # --- questions the rest of the library asks -------------------------------------------------------

    @property
    def uses_zarr_v3(self) -> bool:
        """Whether the version is stored as zarr v3 (0.5 on)."""
        return self.zarr_format == 3

    @property
    def has_axes(self) -> bool:
        """Whether multiscales state their axes (0.3 on; before, arrays are 5D tczyx)."""
        return self.axes_style is not AxesStyle.IMPLIED_TCZYX

    @property
    def has_axis_objects(self) -> bool:
        """Whether axes are objects with a name, type and unit (0.4, 0.5)."""
        return self.axes_style is AxesStyle.OBJECTS

    @property
    def orders_axes(self) -> bool:
        """Whether the version requires :data:`AXES_ORDER_RULE` of an image's axes (0.4, 0.5). 0.3 has its own
        rule of names (t, c, z, y, x); 0.6rc0's coordinate systems state no order."""
        return self.axes_style is AxesStyle.OBJECTS

    @property
    def has_coordinate_systems(self) -> bool:
        """Whether axes live in named coordinate systems (0.6rc0)."""
        return self.axes_style is AxesStyle.COORDINATE_SYSTEMS

    @property
    def has_scale_translation(self) -> bool:
        """Whether datasets are placed by a scale and an optional translation (0.4, 0.5)."""
        return self.transform_style is TransformStyle.SCALE_TRANSLATION

    @property
    def has_transforms(self) -> bool:
        """Whether the metadata places arrays in physical space at all (0.4 on)."""
        return self.transform_style is not TransformStyle.NONE

    def field_path_ok(self, path: str) -> bool:
        """Whether ``path`` is an acceptable name for a field-of-view group inside a well.

        :param path: the field's path, as a well's metadata lists it.
        """
        return re.fullmatch(self.field_path_pattern, path) is not None and not (
            path.startswith("__") or set(path) == {"."}
        )

    def is_newer_than(self, other: Format) -> bool:
        """Whether this version is newer than ``other`` (by :attr:`rank`).

        :param other: the format to compare with.
        """
        return self.rank > other.rank

    def namespace_of(self, attributes: dict[str, Any]) -> dict[str, Any] | None:
        """The dict holding this version's OME keys inside a group's attributes (None when absent).

        :param attributes: a group's attributes, as read.
        """
        if self.namespace is None:
            return attributes
        inner = attributes.get(self.namespace)
        return inner if isinstance(inner, dict) else None

    def wrap(self, ome: dict[str, Any]) -> dict[str, Any]:
        """Attributes to write for the OME keys ``ome`` (adds the namespace and version where needed).

        :param ome: the OME keys (``multiscales``, ``omero``, ...) and their values.
        """
        if self.namespace is None:
            return dict(ome)
        body = {"version": self.version}
        body.update({k: v for k, v in ome.items() if k != "version"})
        return {self.namespace: body}
