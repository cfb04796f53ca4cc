"""``write_image``: a numpy or dask array (or a list of levels) to a multiscale OME-Zarr image, or a ``.ozx``."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Unpack

from dask.delayed import Delayed
from zarr.abc.store import Store

from ngffkit.errors import InvalidArgument, LocationError
from ngffkit.formats import Format
from ngffkit.reader import Image
from ngffkit.reader import open as open_node
from ngffkit.store import ozx, places
from ngffkit.store.limits import Limits
from ngffkit.store.location import Location
from ngffkit.store.remote import RetryPolicy
from ngffkit.writer import destination
from ngffkit.writer.execute import Execution, Progress
from ngffkit.writer.plan import ImagePlan, plan_image, target_format
from ngffkit.writer.settings import Choices, WriteOptions
from ngffkit.writer.sources import Sources, refuse_overlap, sources_of

Target = str | os.PathLike[str] | Store | Location


def write_planned(
    plan: ImagePlan, data: Any, *, overwrite: bool, progress: Progress, compute: bool,
    after: Callable[[], None] | None = None,
) -> Image | Delayed:  # fmt: skip
    """Carry out a plan: refuse a destination that overlaps the data's sources, take the destination (the
    overwrite rules), write, and return the written node (or, with ``compute=False``, a dask ``Delayed``).

    Data that cannot be proven to leave the destination alone (:class:`~ngffkit.writer.sources.Sources`) never
    replaces anything in place: it is written beside the destination, which it replaces once complete."""
    location = plan.location
    here = places.of_store(location.store, location.path)
    sources = sources_of(data)
    refuse_overlap(here, sources.places, where=location.url)
    with destination.storage_errors(location.url):
        if _proven_apart(here, sources):
            taken = destination.take(location, overwrite)
        else:
            why = sources.why_unproven() or "ngffkit cannot locate the destination's store"
            taken = destination.take_unproven(location, overwrite, why)
            plan = replace(plan, location=taken.location)
        delayed = Execution(plan, taken, after).run(progress, compute)
    return delayed if delayed is not None else _written(location)


def _written(target: str | Location) -> Image:
    """The image just written, read back as :func:`ngffkit.open` reads it (what a write returns)."""
    node = open_node(target)
    if not isinstance(node, Image):  # a write makes an image: anything else is a bug here, not bad input
        raise TypeError(f"{node.url}: written as an image, read back as {type(node).__name__}")
    return node


def _proven_apart(destination_place: places.Place | None, sources: Sources) -> bool:
    """Whether the data is known to read only from places other than the destination (checked by the caller)."""
    return sources.proven and (destination_place is not None or not sources.places)


def _write_ozx(
    data: Any, dest: Any, settings: WriteOptions, *, overwrite: bool, compute: bool, progress: Progress
) -> Image:
    """Write into a staging folder beside ``dest``, then pack it into the .ozx archive in one step."""
    fmt, _ = target_format(settings.storage.version)
    if not compute:
        raise InvalidArgument("compute=False is not available for .ozx destinations (the archive is packed at the end)")
    if not fmt.uses_zarr_v3:
        raise InvalidArgument(f"zipped OME-Zarr (.ozx) needs NGFF 0.5 or later, not {fmt}")
    # a proven overlap is refused; anything else is safe here: the archive is replaced only once packed
    refuse_overlap(places.of_path(dest), sources_of(data).places, where=os.fspath(dest))
    ozx.check_replaceable(pathlib.Path(dest), overwrite)
    with ozx.staging(dest) as folder:
        try:
            write_image(data, folder, settings, progress=progress)
        except LocationError as exc:
            raise _named_as(exc, folder.parent, os.fspath(dest)) from (exc.__cause__ or exc)
        ozx.pack(folder, dest, fmt, overwrite=overwrite)
    return _written(os.fspath(dest))


def _named_as(error: LocationError, staging: pathlib.Path, dest: str) -> LocationError:
    """``error`` naming the archive instead of the temporary folder it is staged in (which is gone once the
    write failed, and which the caller never asked for); an error about the caller's input is left as it is."""
    where = error.where or ""
    if not where.startswith(str(staging)):
        return error
    return LocationError(error.message.replace(str(staging), dest), where=dest, key=error.key)


def write_image(
    data: Any,
    dest: Target,
    options: WriteOptions | None = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
    retry: RetryPolicy | None = None,
    limits: Limits | None = None,
    overwrite: bool = False,
    progress: Progress = None,
    compute: bool = True,
    **choices: Unpack[Choices],
) -> Image | Delayed:
    """Write ``data`` (numpy, dask, or a list of levels) as a multiscale OME-Zarr image at ``dest``.

    Every level is computed from the one before in a single dask graph (each input chunk is read once) and
    written with whatever dask scheduler is active, ``dask.distributed`` included. Arrays are written first and
    the metadata last, so an interrupted write never leaves metadata claiming levels that were not written; a
    write that fails or is cancelled removes what it had begun. Every argument is checked before anything is
    written.

    :param data: the image: a numpy, dask or zarr array (or anything with a shape and a dtype) of booleans,
        integers or floats, with 2 or 3 space axes; or a list of arrays, level 0 first, each smaller than the one
        before -- levels computed elsewhere, written as they are.
    :param dest: where to write: a local path (a name ending in ``.ozx`` writes a zipped OME-Zarr, NGFF 0.5 or
        later), a URL (``s3://``, ``https://``, ... through fsspec), a zarr store, or a
        :class:`~ngffkit.Location`.
    :param options: the choices of the write as one object; keywords given beside it win. None: the defaults.
    :param storage_options: options for the fsspec filesystem of a URL destination (``key``/``secret``,
        ``{"anon": False}``, an endpoint); None: fsspec's defaults, with anonymous ``s3://`` access when no AWS
        credentials are configured.
    :param retry: attempts and timeouts of the destination store's requests, as for :func:`ngffkit.open` (a
        remote store's writes are retried too); None: :meth:`RetryPolicy.from_environment`.
    :param limits: bounds on what the data may ask, as for :func:`ngffkit.open`; None:
        :meth:`Limits.from_environment`.
    :param overwrite: replace what is at ``dest``. False (the default): existing data is refused with
        :class:`~ngffkit.AlreadyExists`. Even when True, only zarr data is replaced (never a file or a folder
        holding anything else), and never the data ``data`` is read from.
    :param progress: True: a progress bar on stderr; a callable: called as ``progress(done, total)`` as the write
        advances, and may stop it by raising :class:`~ngffkit.WriteCancelled`; None or False
        (the default): silent.
    :param compute: True (the default): write now. False: return a dask ``Delayed`` that performs the write when
        computed, with the rest of a graph (not for ``.ozx`` destinations).
    :param choices: the choices one by one -- pyramid (``levels``, ``scale_factors``, ``method``), storage
        (``chunks``, ``shards``, ``compressor``, ``version``) and metadata (``axes``, ``scale``, ``translation``,
        ``units``, ``channels``, ``name``, ``level_transforms``); each is described on
        :class:`~ngffkit.WriteOptions`.
    :returns: the written image, opened as :func:`ngffkit.open` opens it; with ``compute=False``, a dask
        ``Delayed``.
    :raises InvalidArgument: for a choice or data that cannot be written (nothing is written then).
    :raises AlreadyExists: when something is at ``dest`` and ``overwrite`` is False, or when it may not be
        replaced.
    """
    settings = WriteOptions.of(options, **choices)
    if ozx.is_ozx(dest):
        return _write_ozx(data, dest, settings, overwrite=overwrite, compute=compute, progress=progress)
    location = Location.of(dest, storage_options=storage_options, mode="w", retry=retry, limits=limits)
    plan = plan_image(data, location, settings)
    return write_planned(plan, data, overwrite=overwrite, progress=progress, compute=compute)


__all__ = ["Format", "Progress", "Target", "write_image", "write_planned"]
