"""Writing plates and wells: layout metadata up front, then fields independently (safe in parallel)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Unpack

from ngffkit import reader
from ngffkit.errors import InvalidArgument
from ngffkit.formats import DEFAULT_WRITE, Format
from ngffkit.formats.sections import PLATE_NAME_PATTERN
from ngffkit.metadata import Acquisition, FieldRef, OMEMetadata, Plate, Well, WellRef, parse_attributes
from ngffkit.store.limits import Limits
from ngffkit.store.location import Location
from ngffkit.store.remote import RetryPolicy
from ngffkit.writer.destination import prepare
from ngffkit.writer.execute import Progress
from ngffkit.writer.image import Target, write_image
from ngffkit.writer.plan import target_format
from ngffkit.writer.settings import Choices, WriteOptions

_NAME = re.compile(PLATE_NAME_PATTERN)


def _well_paths(wells: Sequence[str | tuple[str, str]], rows: Sequence[str], columns: Sequence[str]) -> list[WellRef]:
    refs = []
    for well in wells:
        row, column = well.split("/", 1) if isinstance(well, str) and "/" in well else tuple(well)
        if row not in rows or column not in columns:
            raise InvalidArgument(f"well {well!r} is not at a declared row and column")
        refs.append(WellRef(f"{row}/{column}", list(rows).index(row), list(columns).index(column)))
    if len({r.path for r in refs}) != len(refs):
        raise InvalidArgument("wells repeat")
    return refs


def write_plate(
    dest: Target,
    rows: Sequence[str],
    columns: Sequence[str],
    wells: Sequence[str | tuple[str, str]],
    *,
    fields: int | Sequence[str] = 1,
    acquisitions: Sequence[Mapping[str, Any]] | None = None,
    field_acquisitions: Sequence[int] | None = None,
    name: str | None = None,
    version: str | Format = DEFAULT_WRITE,
    storage_options: Mapping[str, Any] | None = None,
    retry: RetryPolicy | None = None,
    limits: Limits | None = None,
    overwrite: bool = False,
) -> reader.Plate:
    """Write a plate's layout: plate metadata, row groups and well groups listing their fields.

    Fill the fields afterwards with :func:`write_field` -- each field is its own subtree, so separate processes
    can write different fields at the same time.

    :param dest: where to write the plate: a local path, a URL, a zarr store or a :class:`~ngffkit.Location`.
    :param rows: the row names, top to bottom (``["A", "B", ...]``): distinct, letters and digits only.
    :param columns: the column names, left to right (``["1", "2", ...]``): distinct, letters and digits only.
    :param wells: the wells that exist, each as ``"A/1"`` or ``("A", "1")``, at a declared row and column; at
        least one, none twice.
    :param fields: the fields of view of every well: a count (``3``: fields ``"0"``, ``"1"``, ``"2"``; the
        default is one field) or their names (letters and digits).
    :param acquisitions: the plate's acquisitions, each a dict with an ``"id"`` (int) and optionally ``"name"``
        and ``"maximumfieldcount"``; None: none described.
    :param field_acquisitions: per field, in the order of ``fields``, the id of the acquisition it belongs to
        (one of the ``acquisitions``); None: fields name no acquisition.
    :param name: the plate's ``name`` in its metadata; None: left out.
    :param version: the NGFF version written: ``"0.4"`` (zarr v2), ``"0.5"`` (zarr v3, the default) or
        ``"0.6rc0"``, or a :class:`~ngffkit.Format`.
    :param storage_options: options for the fsspec filesystem of a URL destination, as for
        :func:`ngffkit.write_image`.
    :param retry: attempts and timeouts of the destination store's requests, as for :func:`ngffkit.open` (a
        remote store's writes are retried too); None: :meth:`RetryPolicy.from_environment`.
    :param limits: bounds on what the data may ask, as for :func:`ngffkit.open`; None:
        :meth:`Limits.from_environment`.
    :param overwrite: replace what is at ``dest`` (only zarr data). False (the default): refuse with
        :class:`~ngffkit.AlreadyExists`.
    :returns: the plate, built from what was written (its fields still empty).
    :raises InvalidArgument: for bad row, column, well or field names, or acquisitions that do not match.
    """
    rows, columns = [str(r) for r in rows], [str(c) for c in columns]
    for what, names in (("row", rows), ("column", columns)):
        bad = [n for n in names if not _NAME.fullmatch(n)]
        if bad or len(set(names)) != len(names) or not names:
            raise InvalidArgument(f"{what} names must be distinct letters/digits, got {names}")
    refs = _well_paths(wells, rows, columns)
    if not refs:
        raise InvalidArgument("a plate needs at least one well")
    field_names = [str(i) for i in range(fields)] if isinstance(fields, int) else [str(f) for f in fields]
    if not field_names or any(not _NAME.fullmatch(f) for f in field_names):
        raise InvalidArgument(f"field names must be letters/digits, got {field_names}")
    fmt, _ = target_format(version)
    location = Location.of(dest, storage_options=storage_options, mode="w", retry=retry, limits=limits)
    prepare(location, overwrite)
    for row in sorted({r.path.split("/")[0] for r in refs}):
        location.child(row).write_group({}, fmt.zarr_format)  # a plain group: rows hold no OME metadata
    acq = tuple(Acquisition(int(a["id"]), a.get("name"), a.get("maximumfieldcount")) for a in acquisitions or ())
    if field_acquisitions is not None:
        known = {a.id for a in acq}
        if len(field_acquisitions) != len(field_names) or any(a not in known for a in field_acquisitions):
            raise InvalidArgument(
                f"field_acquisitions must give one of the acquisition ids {sorted(known)} for each of the "
                f"{len(field_names)} fields, got {list(field_acquisitions)}"
            )
    owners = list(field_acquisitions) if field_acquisitions is not None else [None] * len(field_names)
    well_meta = Well(tuple(FieldRef(f, a) for f, a in zip(field_names, owners, strict=True)))
    for ref in refs:
        location.child(ref.path).write_group(
            OMEMetadata(format=fmt, well=well_meta).to_attributes(fmt), fmt.zarr_format
        )
    plate = Plate(tuple(rows), tuple(columns), tuple(refs), name=name, acquisitions=acq, field_count=len(field_names))
    plate_meta = OMEMetadata(format=fmt, plate=plate)
    location.write_group(plate_meta.to_attributes(fmt), fmt.zarr_format)
    nodes: dict[str, reader.Well | Location | None] = {
        ref.path: reader.Well(location.child(ref.path), OMEMetadata(format=fmt, well=well_meta)) for ref in refs
    }
    return reader.Plate(location, plate_meta, nodes)  # built from what was written: no read back


def write_well(
    dest: Target,
    fields: Sequence[str],
    *,
    version: str | Format = DEFAULT_WRITE,
    storage_options: Mapping[str, Any] | None = None,
    retry: RetryPolicy | None = None,
    limits: Limits | None = None,
    overwrite: bool = False,
) -> reader.Well:
    """Write a well group listing ``fields`` (outside a plate, or to re-describe one); returns the well.

    :param dest: the well group to write: a local path, a URL, a zarr store or a :class:`~ngffkit.Location`.
    :param fields: the names (paths) of the well's fields of view (``["0", "1"]``).
    :param version: the NGFF version written: ``"0.4"`` (zarr v2), ``"0.5"`` (zarr v3, the default) or
        ``"0.6rc0"``, or a :class:`~ngffkit.Format`.
    :param storage_options: options for the fsspec filesystem of a URL destination, as for
        :func:`ngffkit.write_image`.
    :param retry: attempts and timeouts of the destination store's requests, as for :func:`ngffkit.open` (a
        remote store's writes are retried too); None: :meth:`RetryPolicy.from_environment`.
    :param limits: bounds on what the data may ask, as for :func:`ngffkit.open`; None:
        :meth:`Limits.from_environment`.
    :param overwrite: replace what is at ``dest`` (only zarr data). False (the default): refuse with
        :class:`~ngffkit.AlreadyExists`.
    :returns: the well, built from what was written (its fields still empty).
    """
    fmt, _ = target_format(version)
    location = Location.of(dest, storage_options=storage_options, mode="w", retry=retry, limits=limits)
    prepare(location, overwrite)
    meta = OMEMetadata(format=fmt, well=Well(tuple(FieldRef(str(f)) for f in fields)))
    location.write_group(meta.to_attributes(fmt), fmt.zarr_format)
    return reader.Well(location, meta)


def write_field(
    plate_dest: Target | reader.Plate,
    well: str,
    field: str | int,
    data: Any,
    options: WriteOptions | None = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
    retry: RetryPolicy | None = None,
    limits: Limits | None = None,
    overwrite: bool = False,
    progress: Progress = None,
    **choices: Unpack[Choices],
) -> reader.Image:
    """Write one field of view of a plate made by :func:`write_plate`, in the plate's NGFF version.

    :param plate_dest: the plate: a local path, URL, zarr store or :class:`~ngffkit.Location` of it, or the
        :class:`~ngffkit.Plate` :func:`write_plate` returned (whose store is then used as it is, and
        ``storage_options``, ``retry`` and ``limits`` are not applied).
    :param well: the well's path, as the plate lists it (``"A/1"``).
    :param field: the field's path as the well lists it (``"0"``; an int is taken as its string, ``0`` for
        ``"0"``).
    :param data: the field's image, as for :func:`ngffkit.write_image`.
    :param options: the write's choices as one object; keywords given beside it win. The ``version`` is always
        the plate's.
    :param storage_options: options for the fsspec filesystem of a URL destination, as for
        :func:`ngffkit.write_image`.
    :param retry: attempts and timeouts of the destination store's requests, as for :func:`ngffkit.open` (a
        remote store's writes are retried too); None: :meth:`RetryPolicy.from_environment`.
    :param limits: bounds on what the data may ask, as for :func:`ngffkit.open`; None:
        :meth:`Limits.from_environment`.
    :param overwrite: replace a field already written (only zarr data). False (the default): refuse with
        :class:`~ngffkit.AlreadyExists`.
    :param progress: True: a progress bar on stderr; a callable ``progress(done, total)``, which may stop the
        write by raising :class:`~ngffkit.WriteCancelled`; None or False: silent.
    :param choices: the choices of :func:`ngffkit.write_image`, described on :class:`~ngffkit.WriteOptions`.
    :returns: the field's image.
    :raises InvalidArgument: when the plate lists no such well, or the well no such field.
    """
    target = plate_dest.location if isinstance(plate_dest, reader.Plate) else plate_dest
    plate_location = Location.of(target, storage_options=storage_options, mode="w", retry=retry, limits=limits)
    node = plate_location.read_group()
    meta = parse_attributes(node.attributes, where=node.document_url, zarr_format=node.zarr_format)
    if meta.plate is None or well not in {w.path for w in meta.plate.wells}:
        raise InvalidArgument(f"the plate lists no well {well!r}")
    well_location = plate_location.child(well)
    well_node = well_location.read_group()
    well_meta = parse_attributes(well_node.attributes, zarr_format=well_node.zarr_format).well
    if well_meta is None or str(field) not in {f.path for f in well_meta.images}:
        raise InvalidArgument(f"well {well} lists no field {field!r}")
    settings = WriteOptions.of(options, **choices).with_choices(version=meta.format)
    image = write_image(data, well_location.child(str(field)), settings, overwrite=overwrite, progress=progress)
    assert isinstance(image, reader.Image)
    return image
