"""Helpers shared by the metadata classes: keeping unknown keys, tolerant field reading."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

EMPTY: Mapping[str, Any] = MappingProxyType({})


def extra_keys(doc: Mapping[str, Any], known: Iterable[str]) -> Mapping[str, Any]:
    """The keys of ``doc`` that the model does not know, kept so a round trip writes them back."""
    names = set(known)
    rest = {k: v for k, v in doc.items() if k not in names}
    return MappingProxyType(rest) if rest else EMPTY


def with_extra(body: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` plus the unknown keys read earlier (known keys win)."""
    out = dict(extra)
    out.update(body)
    return out


@dataclass
class Notes:
    """Warnings gathered while reading slightly non-conformant metadata (tolerant read)."""

    where: str = ""
    messages: list[str] = field(default_factory=list)

    def warn(self, key: str, message: str) -> None:
        self.messages.append(f"[{key}] {message}" if key else message)


def as_str(value: Any, key: str, notes: Notes, default: str | None = None) -> str | None:
    if value is None or isinstance(value, str):
        return value if value is not None else default
    notes.warn(key, f"expected a string, got {type(value).__name__}; using {str(value)!r}")
    return str(value)


def as_float_list(value: Any, key: str, notes: Notes) -> tuple[float, ...] | None:
    if not isinstance(value, list):
        if value is not None:
            notes.warn(key, f"expected a list of numbers, got {type(value).__name__}; ignoring it")
        return None
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float):
            notes.warn(key, f"expected numbers, found {v!r}; ignoring the list")
            return None
        out.append(float(v))
    return tuple(out)


def no_extra() -> Mapping[str, Any]:
    """Default for ``extra`` fields: a shared, read-only empty mapping."""
    return EMPTY


def list_at(doc: Mapping[str, Any], key: str) -> list[Any]:
    """``doc[key]`` when it is a list, else an empty list (tolerant read of optional lists)."""
    value = doc.get(key)
    return value if isinstance(value, list) else []


def dict_at(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``doc[key]`` when it is an object, else an empty dict."""
    value = doc.get(key)
    return value if isinstance(value, dict) else {}
