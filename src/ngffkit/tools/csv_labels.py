"""Per-label properties from a table (CSV) into ``image-label.properties``, for images, wells and plates.

ome-zarr-py's ``csv_to_labels`` only looks at the first field of each well and at a label called "0",
only updates entries that already exist, and silently treats unknown column types as text. Here every field
of every well is covered, the label image is named, ids can match ``label-value`` (the default: entries are
created for labels present in the pixels) or any existing property, typed columns are checked row by row,
and every id that matched nothing is reported. Only the ``properties`` list of the label groups changes.
"""

from __future__ import annotations

import copy
import csv
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dask.array as da
import numpy as np

from ngffkit.errors import InvalidArgument, InvalidMetadata, NGFFError, NotFound
from ngffkit.metadata import parse_attributes
from ngffkit.reader import Image, Plate, Well
from ngffkit.reader import open as open_node
from ngffkit.reader.arrays import dask_array
from ngffkit.store.batch import read_many, read_many_or_errors
from ngffkit.store.limits import Limits
from ngffkit.store.location import Location
from ngffkit.store.nodes import NodeMetadata
from ngffkit.store.remote import RetryPolicy
from ngffkit.writer.progress import run_with_progress

LABEL_VALUE = "label-value"
TYPE_NAMES = {"d": "float", "l": "int", "s": "text", "b": "bool"}
_TRUE, _FALSE = {"true", "yes", "1", "t", "y"}, {"false", "no", "0", "f", "n", ""}


@dataclass(frozen=True)
class Column:
    """A CSV column to copy, with its type letter: d float, l int, s text, b bool."""

    name: str
    kind: str = "s"

    def convert(self, text: str) -> Any:
        """The cell as the column's type; ValueError names what was wrong."""
        value = text.strip()
        if self.kind == "s":
            return text
        if self.kind == "b":
            if value.lower() in _TRUE | _FALSE:
                return value.lower() in _TRUE
            raise ValueError(f"{text!r} is not a boolean (true/false, yes/no, 1/0)")
        if value == "":
            return None  # an empty numeric cell: JSON null, not NaN (which JSON cannot hold)
        number = float(value) if self.kind == "d" else int(value)
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(f"{text!r} is not a finite number")
        return number


def parse_columns(spec: str | Sequence[str]) -> list[Column]:
    """``"area#d,class#s,count#l,ok#b"`` (no type: text) into columns; an unknown type is an error."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    columns = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        name, sep, kind = item.rpartition("#")
        if not sep:
            name, kind = item, "s"
        if kind not in TYPE_NAMES:
            known = ", ".join(f"#{k} {v}" for k, v in TYPE_NAMES.items())
            raise InvalidArgument(f"column {item!r}: unknown type #{kind} (use {known})")
        columns.append(Column(name, kind))
    if not columns:
        raise InvalidArgument("no columns given")
    return columns


def id_key(value: Any) -> str:
    """One spelling per id, so that 3, 3.0 and "3" match."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value.strip()
        value = number
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_table(path: str | os.PathLike[str], id_column: str, columns: Sequence[Column]) -> dict[str, dict[str, Any]]:
    """``{id: {column: value}}`` from a CSV file; every cell is converted and checked before anything is used."""
    where = os.fspath(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in [id_column, *(c.name for c in columns)] if c not in header]
            if missing:
                raise InvalidArgument(
                    f"no column {', '.join(map(repr, missing))}; the header has {header}", where=where
                )
            table: dict[str, dict[str, Any]] = {}
            for line, row in enumerate(reader, start=2):
                key = id_key(row[id_column] or "")
                if key in table:
                    raise InvalidArgument(f"line {line}: id {key!r} appears twice", where=where, key=id_column)
                values = {}
                for column in columns:
                    try:
                        values[column.name] = column.convert(row[column.name] or "")
                    except ValueError as exc:
                        raise InvalidArgument(
                            f"line {line}: {exc} (column type {TYPE_NAMES[column.kind]})", where=where, key=column.name
                        ) from exc
                table[key] = values
    except OSError as exc:
        raise NotFound(f"cannot read the table: {exc.strerror}", where=where) from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InvalidArgument(f"not a readable CSV file: {exc}", where=where) from exc
    return table


@dataclass
class LabelUpdate:
    """What changes in one label group."""

    url: str
    updated: int = 0
    created: int = 0
    attributes: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Report:
    """The outcome: per label image, and the table ids that matched no label anywhere."""

    label_images: list[LabelUpdate]
    unknown_ids: list[str]
    without_label: list[str]
    written: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "label_images": [{"url": u.url, "updated": u.updated, "created": u.created} for u in self.label_images],
            "unknown_ids": self.unknown_ids,
            "without_label": self.without_label,
            "written": self.written,
        }


def _label_locations(node: Any, name: str) -> list[Location]:
    """``labels/<name>`` of the image, of every field of the well, or of every field of every well."""
    if isinstance(node, Image):
        return [node.location.child("labels").child(name)]
    wells: list[Well] = []
    if isinstance(node, Plate):
        wells = [w for w in (node.well(p) for p in node.well_paths) if w is not None]
    elif isinstance(node, Well):
        wells = [node]
    else:
        raise InvalidArgument(f"expected an image, a well or a plate, found a {node.kind}", where=node.url)
    return [w.location.child(f).child("labels").child(name) for w in wells for f in w.field_paths]


def add_properties(
    target: str | os.PathLike[str],
    label_name: str,
    table: Mapping[str, Mapping[str, Any]],
    *,
    match: str = LABEL_VALUE,
    scan_pixels: bool = True,
    dry_run: bool = False,
    storage_options: Mapping[str, Any] | None = None,
    retry: RetryPolicy | None = None,
    limits: Limits | None = None,
    progress: bool = False,
) -> Report:
    """Merge ``table`` (``{id: {key: value}}``) into the properties of label ``label_name`` below ``target``.

    An id matches the property entries whose ``match`` key has that value. With ``match="label-value"`` and
    ``scan_pixels``, ids not yet listed get a new entry in each label image whose pixels hold that value.
    All changes are computed first; with ``dry_run`` nothing is written.
    ``retry`` and ``limits`` are those of :func:`ngffkit.open`.
    """
    node = open_node(
        Location.of(target, storage_options=storage_options, mode="r" if dry_run else "a", retry=retry, limits=limits)
    )
    locations = _label_locations(node, label_name)
    results = read_many_or_errors(locations, expect="group")
    present = [(loc, r) for loc, r in zip(locations, results, strict=True) if isinstance(r, NodeMetadata) and r.exists]
    without = [
        loc.url for loc, r in zip(locations, results, strict=True) if not (isinstance(r, NodeMetadata) and r.exists)
    ]
    for error in (r for r in results if isinstance(r, NGFFError)):
        raise error  # an unreadable label group: change nothing anywhere
    if not present:
        raise NotFound(f"no label image {label_name!r} here", where=node.url)
    merges = [_Merge.start(location, label, table, match) for location, label in present]
    if match == LABEL_VALUE and scan_pixels:
        scans = [m for m in merges if m.waiting]
        levels = read_many([m.location.child(m.level0_path) for m in scans], expect="array")  # one batch
        found = run_with_progress(tuple(_distinct_values(level) for level in levels), progress, "reading label values")
        for merge, values in zip(scans, found, strict=True):
            merge.create_entries({id_key(v) for v in np.asarray(values)}, table)
    updates = [m.update for m in merges]
    matched = set().union(*(m.hits for m in merges))
    if not dry_run:
        for update, (location, _) in zip(updates, present, strict=True):
            if update.updated or update.created:
                location.write_attributes(update.attributes)
    unknown = sorted((k for k in table if k not in matched), key=_natural)
    return Report(updates, unknown, without, written=not dry_run)


def _natural(key: str) -> tuple[int, float, str]:
    try:
        return (0, float(key), key)
    except ValueError:
        return (1, 0.0, key)


@dataclass
class _Merge:
    """One label group being updated: its attributes (a private copy), entries, and the ids placed so far."""

    location: Location
    update: LabelUpdate
    entries: list[Any]
    level0_path: str
    hits: set[str]
    waiting: list[str]

    @classmethod
    def start(
        cls, location: Location, label: NodeMetadata, table: Mapping[str, Mapping[str, Any]], match: str
    ) -> _Merge:
        """Parse the label group and update the entries whose ``match`` value is in the table."""
        meta = parse_attributes(label.attributes, where=label.document_url, zarr_format=label.zarr_format)
        if meta.image_label is None or not meta.multiscales or not meta.multiscales[0].datasets:
            raise InvalidMetadata(
                "not a label image (no image-label or multiscales metadata)", where=label.document_url
            )
        attributes = copy.deepcopy(label.attributes)
        ome = meta.format.namespace_of(attributes)
        if ome is None or not isinstance(ome.get("image-label"), dict):
            raise InvalidMetadata("image-label must be an object", where=label.document_url, key="image-label")
        entries = ome["image-label"].setdefault("properties", [])
        if not isinstance(entries, list):
            raise InvalidMetadata("must be a list", where=label.document_url, key="image-label.properties")
        update, hits = LabelUpdate(location.url, attributes=attributes), set()
        for entry in entries:
            key = id_key(entry[match]) if isinstance(entry, dict) and match in entry else None
            if key is not None and key in table:
                entry.update({k: v for k, v in table[key].items() if k not in (match, LABEL_VALUE)})
                update.updated += 1
                hits.add(key)
        waiting = [k for k in table if k not in hits and _as_label_value(k) is not None]
        return cls(location, update, entries, meta.multiscales[0].datasets[0].path, hits, waiting)

    def create_entries(self, present: set[str], table: Mapping[str, Mapping[str, Any]]) -> None:
        """New entries for the waiting ids whose value occurs in this label image's pixels."""
        for key in sorted((k for k in self.waiting if k in present), key=_natural):
            self.entries.append({LABEL_VALUE: _as_label_value(key), **table[key]})
            self.update.created += 1
            self.hits.add(key)


def _as_label_value(key: str) -> int | float | None:
    try:
        number = float(key)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number


def _distinct_values(level0: NodeMetadata) -> da.Array:
    """The distinct values of a label array, lazily; dask works per chunk, then merges the few values."""
    if not level0.exists:
        raise NotFound("the label image's first level is missing", where=level0.location.url)
    return da.unique(dask_array(level0))
