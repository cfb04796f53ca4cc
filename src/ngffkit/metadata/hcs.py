"""High-content screening: ``plate`` (rows, columns, wells, acquisitions) and ``well`` (fields)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ngffkit.metadata._base import EMPTY, Notes, as_str, extra_keys, list_at, no_extra, with_extra


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _named(entries: Any, notes: Notes, key: str) -> tuple[str, ...]:
    names = []
    for i, e in enumerate(entries if isinstance(entries, list) else []):
        name = e.get("name") if isinstance(e, dict) else None
        if not isinstance(name, str):
            notes.warn(f"{key}[{i}]", "needs a string name")
            name = str(i)
        names.append(name)
    return tuple(names)


@dataclass(frozen=True)
class WellRef:
    """A well as the plate lists it."""

    path: str
    row_index: int
    column_index: int
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)

    def to_json(self) -> dict[str, Any]:
        body = {"path": self.path, "rowIndex": self.row_index, "columnIndex": self.column_index}
        return with_extra(body, self.extra)


@dataclass(frozen=True)
class Acquisition:
    id: int
    name: str | None = None
    maximum_field_count: int | None = None
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id}
        if self.name is not None:
            body["name"] = self.name
        if self.maximum_field_count is not None:
            body["maximumfieldcount"] = self.maximum_field_count
        return with_extra(body, self.extra)


@dataclass(frozen=True)
class Plate:
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    wells: tuple[WellRef, ...]
    name: str | None = None
    acquisitions: tuple[Acquisition, ...] = ()
    field_count: int | None = None
    row_extra: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)
    column_extra: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)

    @classmethod
    def from_json(cls, doc: Any, notes: Notes, key: str) -> Plate:
        if not isinstance(doc, dict):
            notes.warn(key, "plate must be an object")
            return cls((), (), ())
        wells = []
        for i, w in enumerate(list_at(doc, "wells")):
            path = w.get("path") if isinstance(w, dict) else None
            if not isinstance(path, str):
                notes.warn(f"{key}.wells[{i}]", "a well needs a string path; skipping it")
                continue
            r, c = _int(w.get("rowIndex")), _int(w.get("columnIndex"))
            if r is None or c is None:
                notes.warn(f"{key}.wells[{i}]", "a well needs integer rowIndex and columnIndex; skipping it")
                continue
            wells.append(WellRef(path, r, c, extra_keys(w, ("path", "rowIndex", "columnIndex"))))
        acquisitions = []
        for a in list_at(doc, "acquisitions"):
            if isinstance(a, dict) and _int(a.get("id")) is not None:
                acquisitions.append(
                    Acquisition(
                        a["id"],
                        a.get("name") if isinstance(a.get("name"), str) else None,
                        _int(a.get("maximumfieldcount")),
                        extra_keys(a, ("id", "name", "maximumfieldcount")),
                    )
                )
        raw_rows = list_at(doc, "rows")
        raw_cols = list_at(doc, "columns")
        return cls(
            _named(raw_rows, notes, f"{key}.rows"),
            _named(raw_cols, notes, f"{key}.columns"),
            tuple(wells),
            as_str(doc.get("name"), f"{key}.name", notes),
            tuple(acquisitions),
            _int(doc.get("field_count")),
            tuple(extra_keys(r, ("name",)) if isinstance(r, dict) else EMPTY for r in raw_rows),
            tuple(extra_keys(c, ("name",)) if isinstance(c, dict) else EMPTY for c in raw_cols),
            extra_keys(doc, ("rows", "columns", "wells", "name", "acquisitions", "field_count", "version")),
        )

    def to_json(self, version: str | None = None) -> dict[str, Any]:
        def named(names: tuple[str, ...], extras: tuple[Mapping[str, Any], ...]) -> list[dict[str, Any]]:
            return [with_extra({"name": n}, extras[i] if i < len(extras) else EMPTY) for i, n in enumerate(names)]

        body: dict[str, Any] = {}
        if version is not None:
            body["version"] = version
        if self.name is not None:
            body["name"] = self.name
        if self.acquisitions:
            body["acquisitions"] = [a.to_json() for a in self.acquisitions]
        if self.field_count is not None:
            body["field_count"] = self.field_count
        body["rows"] = named(self.rows, self.row_extra)
        body["columns"] = named(self.columns, self.column_extra)
        body["wells"] = [w.to_json() for w in self.wells]
        return with_extra(body, self.extra)


@dataclass(frozen=True)
class FieldRef:
    """A field of view as the well lists it."""

    path: str
    acquisition: int | None = None
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"path": self.path}
        if self.acquisition is not None:
            body["acquisition"] = self.acquisition
        return with_extra(body, self.extra)


@dataclass(frozen=True)
class Well:
    images: tuple[FieldRef, ...]
    extra: Mapping[str, Any] = field(default_factory=no_extra, compare=False)

    @classmethod
    def from_json(cls, doc: Any, notes: Notes, key: str) -> Well:
        if not isinstance(doc, dict):
            notes.warn(key, "well must be an object")
            return cls(())
        images = []
        for i, f in enumerate(list_at(doc, "images")):
            path = f.get("path") if isinstance(f, dict) else None
            if not isinstance(path, str):
                notes.warn(f"{key}.images[{i}]", "a field needs a string path; skipping it")
                continue
            images.append(FieldRef(path, _int(f.get("acquisition")), extra_keys(f, ("path", "acquisition"))))
        return cls(tuple(images), extra_keys(doc, ("images", "version")))

    def to_json(self, version: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if version is not None:
            body["version"] = version
        body["images"] = [f.to_json() for f in self.images]
        return with_extra(body, self.extra)
