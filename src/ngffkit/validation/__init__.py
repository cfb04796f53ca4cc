"""Validation of OME-Zarr metadata and hierarchies.

Two layers: schema-level shapes (:mod:`~ngffkit.validation.shapes`, rule ids ``schema-*``) and semantic rules
(axes order, well paths, label colours, levels shrinking, arrays matching the axes, ...). Every finding has
a stable rule id, a severity, a JSON path and the file or URL it came from.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping
from typing import Any

from zarr.abc.store import Store

from ngffkit.errors import InvalidMetadata, LocationError, NGFFError, UnsafePath, UnsupportedVersion
from ngffkit.formats import Format, get_format
from ngffkit.store import ozx
from ngffkit.store.jsonfile import parse_json
from ngffkit.store.limits import Limits
from ngffkit.store.location import Location
from ngffkit.store.remote import RetryPolicy
from ngffkit.validation.document import validate_attributes
from ngffkit.validation.findings import Collector, Finding, Report, Severity
from ngffkit.validation.hierarchy import HierarchyValidator, metadata_document_url

__all__ = ["Finding", "Report", "Severity", "validate", "validate_attributes"]


def _rule_for(exc: NGFFError) -> str:
    """The rule id for a problem that stopped the walk (the most specific error class wins)."""
    for cls, rule in (
        (UnsupportedVersion, "version-unknown"),
        (UnsafePath, "unsafe-path"),
        (InvalidMetadata, "metadata-unreadable"),
        (LocationError, "location-unreachable"),
    ):
        if isinstance(exc, cls):
            return rule
    return "unreadable"


def _check_archive(target: object, out: Collector) -> None:
    """A zipped OME-Zarr is ambiguous when its entry names repeat (readers differ on which copy wins) or when it is
    two archives one after the other (readers differ on which archive they read); it is unsafe when its entries
    overlap or lie outside the file, or when their names are not clean relative paths or differ between the local
    header and the central directory. The validator reads no chunks, so these are checked on the archive itself
    (:func:`ngffkit.store.ozx.archive_problems`)."""
    if not (ozx.is_ozx(target) and isinstance(target, str | os.PathLike) and "://" not in os.fspath(target)):
        return
    for rule, message in ozx.archive_problems(target):
        out.error(rule, "", f"{os.fspath(target)} {message}")


def _is_json_file(target: object) -> bool:
    if isinstance(target, str | os.PathLike) and "://" not in os.fspath(target):
        path = pathlib.Path(os.fspath(target))
        return path.suffix.lower() == ".json" and path.is_file()
    return False


def validate(
    target: str | os.PathLike[str] | Store | Location,
    *,
    storage_options: Mapping[str, Any] | None = None,
    strict: bool = False,
    metadata_only: bool = False,
    ngff_version: str | Format | None = None,
    retry: RetryPolicy | None = None,
    limits: Limits | None = None,
) -> Report:
    """Validate an OME-Zarr group and, unless ``metadata_only``, everything below it.

    Problems with the data become findings -- even a missing or unreadable target; only a wrong argument raises.

    :param target: what to validate: a path, URL, zarr store or :class:`~ngffkit.Location`; a local ``.json``
        file is read as one group's attributes.
    :param storage_options: options for the fsspec filesystem of a URL, as for :func:`ngffkit.open`.
    :param strict: also require what the strict schemas recommend (a multiscale's ``name``, ``type`` and
        ``metadata``, ...); False (the default): only what the specification requires.
    :param metadata_only: check only the group's own metadata document, not the arrays and groups below it.
    :param ngff_version: the NGFF version assumed where the metadata states none (``"0.4"``, ``"0.5"``, ...);
        None: detected.
    :param retry: attempts, backoff and timeouts of remote requests; None: :meth:`RetryPolicy.from_environment`
        (``NGFFKIT_RETRIES``, ``NGFFKIT_TIMEOUT``).
    :param limits: bounds on what the data may ask -- document sizes, read deadlines, levels, wells, fields --
        for everything read; None: :meth:`Limits.from_environment` (the
        ``NGFFKIT_...`` environment variables). Tighter limits suit data you do not trust.
    :returns: the findings, each with a rule id, the file and the JSON path.
    """
    assume = get_format(ngff_version) if ngff_version is not None else None
    name = os.fspath(target) if isinstance(target, str | os.PathLike) else str(target)
    if _is_json_file(target):
        try:
            attributes = parse_json(pathlib.Path(name).read_bytes(), where=name)
        except NGFFError as exc:
            return Report(name, (Finding("json-parse", Severity.ERROR, "", exc.message, name),))
        return validate_attributes(attributes, where=name, assume=assume, strict=strict)
    out = Collector(name)
    try:
        location = Location.of(target, storage_options=storage_options, retry=retry, limits=limits)
        name = location.url
        if metadata_only:
            node = location.read()
            if not node.exists:
                out.error("not-found", "", f"no zarr group at {location.url}")
                return Report(name, tuple(out.findings))
            report = validate_attributes(
                node.attributes,
                where=metadata_document_url(node),
                assume=assume,
                strict=strict,
                zarr_format=node.zarr_format,
            )
            return Report(name, report.findings, report.version, report.kind)
        _check_archive(target, out)
        walker = HierarchyValidator(strict=strict, assume=assume, out=out)
        version, kind = walker.run(location)
        return Report(name, tuple(out.findings), version, kind)
    except NGFFError as exc:
        out.add(_rule_for(exc), Severity.ERROR, exc.key or "", str(exc))
        return Report(name, tuple(out.findings))
