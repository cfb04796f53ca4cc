"""Writing multiscale images: arrays first, metadata last, all levels in one pass.

The order matters for safety: level arrays are created and filled first; the group's metadata, which is
what makes the folder an OME-Zarr image, is written only after every level is complete. An interrupted
write (exception, kill) therefore never leaves metadata that claims levels that were not written.
"""

from __future__ import annotations

import math
import os
import pathlib
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import dask
import dask.array as da
import numpy as np
import zarr
from dask.delayed import Delayed
from zarr.abc.store import Store

from ngffkit.errors import InvalidArgument
from ngffkit.formats import DEFAULT_WRITE, Format, get_format
from ngffkit.metadata import (
    Axis,
    Channel,
    Dataset,
    ImageLabel,
    LabelColor,
    Multiscale,
    OMEMetadata,
    Omero,
    upgrade,
)
from ngffkit.metadata.multiscales import scale_translation_transforms
from ngffkit.metadata.omero import default_colors
from ngffkit.reader import open as open_node
from ngffkit.store import ozx, places
from ngffkit.store.location import Location
from ngffkit.writer import choices, destination, options, pyramid
from ngffkit.writer.progress import Ticker, reporting, run_with_progress
from ngffkit.writer.sources import as_dask, lazy_view, refuse_overlap, source_places

Target = str | os.PathLike[str] | Store | Location
Progress = bool | Callable[[int, int], None] | None


def target_format(version: str | Format) -> tuple[Format, Format]:
    """(format written, format the metadata is built in): 0.6rc0 is built as 0.5 and then upgraded."""
    fmt = get_format(version)
    if fmt.is_newer_than(DEFAULT_WRITE) or fmt == DEFAULT_WRITE:
        return fmt, DEFAULT_WRITE
    if fmt.has_scale_translation:
        return fmt, fmt
    raise InvalidArgument(f"ngffkit writes NGFF 0.4, 0.5 and 0.6rc0, not {fmt}")


@dataclass
class MultiscaleJob:
    """Everything needed to write one multiscale image, checked up front."""

    location: Location
    fmt: Format
    build_fmt: Format
    axes: tuple[Axis, ...]
    levels: list[da.Array]
    #: The caller's array when it is in memory: super-blocks are cut from it directly (no re-chunking).
    source: Any
    #: The pyramid plan when ngffkit builds the levels (None when the caller gave every level).
    plan: list[pyramid.Level] | None
    placement: list[tuple[tuple[float, ...], tuple[float, ...]]]
    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None
    compressor: Any
    method: str
    name: str | None
    channels: list[options.ChannelSpec] | None = None
    image_label: ImageLabel | None = None
    extra_metadata: Mapping[str, Any] = field(default_factory=dict)
    #: Give the label image colours for the values found in its lowest level (measured after writing).
    auto_label_colors: bool = False
    #: Run after the metadata is written (e.g. registering a label in its ``labels`` group).
    after: Callable[[], None] | None = None
    _arrays: list[zarr.Array] = field(default_factory=list, repr=False)
    #: The same arrays as write targets, each write through the claim's gate (see WriteGate).
    _targets: list[destination.GatedTarget] = field(default_factory=list, repr=False)

    def create_arrays(self) -> list[zarr.Array]:
        arrays = []
        for k, level in enumerate(self.levels):
            kwargs: dict[str, Any] = {
                "name": self.location.key(str(k)),
                "shape": level.shape,
                "dtype": level.dtype,
                "chunks": tuple(min(c, s) for c, s in zip(self.chunks, level.shape, strict=True)),
                "zarr_format": self.fmt.zarr_format,
                "compressors": self.compressor,
                "fill_value": 0,
                # Images rarely have all-zero chunks: skip zarr's per-chunk comparison with the fill value.
                # Label images often do, and skipping those chunks saves space, so they keep the check.
                "config": {"write_empty_chunks": self.image_label is None},
            }
            if self.fmt.uses_zarr_v3:
                kwargs["dimension_names"] = [a.name for a in self.axes]
                if self.shards is not None:
                    # A level smaller than a shard gets one shard of whole inner chunks (the grid may overhang).
                    inner = kwargs["chunks"]
                    kwargs["shards"] = tuple(
                        min(s, -(-n // c) * c) for s, n, c in zip(self.shards, level.shape, inner, strict=True)
                    )
            else:
                kwargs["chunk_key_encoding"] = {"name": "v2", "separator": "/"}
                kwargs["filters"] = None
            arrays.append(zarr.create_array(self.location.store, **kwargs))
        return arrays

    def metadata(self) -> OMEMetadata:
        datasets = tuple(Dataset(str(k), scale_translation_transforms(s, t)) for k, (s, t) in enumerate(self.placement))
        meta = OMEMetadata(
            format=self.build_fmt,
            multiscales=(
                Multiscale(
                    datasets,
                    self.axes,
                    name=self.name,
                    type=self.method,
                    metadata={"method": f"ngffkit.writer.pyramid.{self.method}"},
                ),
            ),
            omero=self._omero(),
            image_label=self._image_label(),
            foreign=dict(self.extra_metadata),
        )
        return upgrade(meta, self.fmt) if self.fmt != self.build_fmt else meta

    def _image_label(self) -> ImageLabel | None:
        if self.image_label is None or not self.auto_label_colors:
            return self.image_label
        values = [int(v) for v in np.unique(np.asarray(self._arrays[-1][...])) if v != 0]
        palette = _LABEL_PALETTE
        colors = tuple(LabelColor(v, (*palette[i % len(palette)], 255)) for i, v in enumerate(values))
        return replace(self.image_label, colors=colors)

    def _omero(self) -> Omero | None:
        if self.channels is None:
            return None
        axis = next((i for i, a in enumerate(self.axes) if a.is_channel), None)
        # Measure windows on the lowest level as written: small, and no recomputation of the pyramid.
        low = np.asarray(self._arrays[-1][...])
        reduce_axes = tuple(i for i in range(low.ndim) if i != axis)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN channel: its window falls back to 0..1
            lows = np.atleast_1d(
                np.nanmin(low, axis=reduce_axes) if low.dtype.kind == "f" else low.min(axis=reduce_axes)
            )
            highs = np.atleast_1d(
                np.nanmax(low, axis=reduce_axes) if low.dtype.kind == "f" else low.max(axis=reduce_axes)
            )
        out = []
        colors = default_colors([spec.color for spec in self.channels])
        for i, (spec, color) in enumerate(zip(self.channels, colors, strict=True)):
            window = options.channel_window(spec, (float(lows[i]), float(highs[i])), low.dtype)
            out.append(Channel(spec.label or f"channel {i}", color, window, spec.visible))
        return Omero(tuple(out))

    def write_units(self) -> list[tuple[int, ...]]:
        """Per level, the block one task writes: a shard if sharded, else a chunk (clipped to the level)."""
        unit = self.shards or self.chunks
        return [tuple(min(u, s) for u, s in zip(unit, lv.shape, strict=True)) for lv in self.levels]

    def _superblocks(self) -> tuple[int, tuple[int, ...]] | None:
        """(depth m, level-0 region) when levels 0..m can be made from in-memory super-blocks."""
        plan = self.plan
        if plan is None or self.method == "gaussian":  # gaussian smoothing needs halos: the lazy path
            return None
        units = self.write_units()
        depth = pyramid.superblock_depth(plan, units, self.levels[0].dtype.itemsize, SUPERBLOCK_BYTES)
        return (depth, pyramid.superblock_shape(plan, units, depth)) if depth else None

    def _region_writer(self, depth: int, upto: int, ticker: Ticker | None) -> Callable[..., np.ndarray]:
        """A block function writing levels 0..upto-1 of its level-0 region and returning level ``depth``
        (``ticker`` counts the regions written, so that progress moves region by region)."""
        plan, arrays, method = self.plan, self._targets, self.method
        assert plan is not None

        def write_region(block: np.ndarray, block_info: Any = None) -> np.ndarray:
            start = [lo for lo, _ in block_info[0]["array-location"]]
            # one contiguous copy: kernels and zarr's per-chunk slicing are much faster on it than on a view
            chain = pyramid.reduce_chain(np.ascontiguousarray(block), plan, depth, method)
            for k in range(upto):
                offset = [s // c for s, c in zip(start, plan[k].cumulative, strict=True)]
                arrays[k][tuple(slice(o, o + n) for o, n in zip(offset, chain[k].shape, strict=True))] = chain[k]
            if ticker is not None:
                ticker.tick()
            return chain[depth]

        return write_region

    def _level_m(self, depth: int, region: tuple[int, ...], upto: int, ticker: Ticker | None = None) -> da.Array:
        assert self.plan is not None
        # views of the caller's array when it is in memory
        in_memory = isinstance(self.source, np.ndarray)
        base = lazy_view(self.source, region) if in_memory else self.levels[0].rechunk(region)
        chunks = tuple(
            tuple(math.ceil(c / f) for c in axis)
            for axis, f in zip(base.chunks, self.plan[depth].cumulative, strict=True)
        )
        meta = np.empty((0,) * base.ndim, base.dtype)
        return da.map_blocks(self._region_writer(depth, upto, ticker), base, chunks=chunks, dtype=base.dtype, meta=meta)

    def _tail(self, level_m: da.Array, depth: int) -> list[da.Array]:
        assert self.plan is not None
        plan = self.plan
        tail_plan = [pyramid.Level(plan[depth].shape, plan[depth].factors, plan[depth].cumulative), *plan[depth + 1 :]]
        return pyramid.build_levels(level_m, tail_plan, self.method, self.write_units()[depth:])

    def graph(self) -> Delayed:
        """One dask graph writing every level: levels 0..m from in-memory super-blocks, deeper ones lazily.

        A super-block is a level-0 region holding whole write blocks of levels 0..m (within a memory
        budget); its task writes those levels directly and returns its level-m block, from which the
        deeper, much smaller levels continue. Each input chunk is read once and writes are whole regions.
        """
        blocks = self._superblocks()
        if blocks is None:
            # zarr arrays are array-likes that dask writes region by region; its stubs only name numpy types
            return da.store(self.levels, self._targets, lock=False, compute=False, return_stored=False)  # type: ignore[arg-type]
        depth, region = blocks
        tail = self._tail(self._level_m(depth, region, upto=depth), depth)
        return da.store(tail, self._targets[depth:], lock=False, compute=False, return_stored=False)  # type: ignore[arg-type]

    def compute_in_waves(self, progress: Progress) -> None:
        """Like :meth:`graph`, computed so that memory stays bounded whatever the input size.

        Super-blocks run in waves of about two per worker (each writes levels 0..m, including m), so
        dask never holds more than a few input regions; the deeper levels then come from level m as
        written, a small fraction of the data. Still one pass over the input.
        """
        blocks = self._superblocks()
        if blocks is None:
            run_with_progress(self.graph(), progress, self._label())
            return
        depth, region = blocks
        with reporting(progress, self._label()) as report:
            ticker = Ticker(report)
            written = self._level_m(depth, region, upto=depth + 1, ticker=ticker)
            one_per_block = tuple((1,) * len(axis) for axis in written.chunks)
            markers = da.map_blocks(_done_marker, written, chunks=one_per_block, dtype=bool)
            tasks = list(markers.to_delayed().ravel())
            wave = 2 * _worker_count()
            ticker.start(len(tasks) + 1)  # the regions, then the small deeper levels
            for start in range(0, len(tasks), wave):
                dask.compute(*tasks[start : start + wave])
            if depth + 1 < len(self.levels):
                level_m = da.from_zarr(self._arrays[depth])
                tail = self._tail(level_m, depth)
                dask.compute(da.store(tail[1:], self._targets[depth + 1 :], lock=False, compute=False))  # type: ignore[arg-type]
            ticker.tick()

    def _label(self) -> str:
        return "writing " + self.location.url.rsplit("/", 1)[-1]

    def run(self, taken: destination.Claim, progress: Progress, compute: bool) -> Delayed | None:
        """Create the arrays, write every level (one pass over the input), then write the metadata.

        ``taken`` is the claim on the destination (:func:`ngffkit.writer.destination.take`): released once the
        metadata is written; if the write stops with an error (or is cancelled), what it wrote is removed."""
        try:
            self._arrays = self.create_arrays()
            self._targets = [destination.GatedTarget(a, taken.gate) for a in self._arrays]
            if not compute:
                return dask.delayed(self._finish)(self.graph(), taken)
            self.compute_in_waves(progress)
            self._finish(None, taken)
        except BaseException:
            taken.abandon()
            raise
        return None

    def _finish(self, _stored: Any, taken: destination.Claim) -> None:
        self.location.write_group(self.metadata().to_attributes(self.fmt), self.fmt.zarr_format)
        taken.release()
        if self.after is not None:
            self.after()


#: Largest level-0 region one task turns into several levels in memory.
SUPERBLOCK_BYTES = 64 * 2**20

#: Label colours for ``colors="auto"``: well separated hues, repeated; never random.
_LABEL_PALETTE = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
)  # fmt: skip


def _done_marker(block: np.ndarray) -> np.ndarray:
    """A one-element stand-in for a block that has been written (keeps the block out of memory)."""
    return np.zeros((1,) * block.ndim, dtype=bool)


def _worker_count() -> int:
    """Threads that will run tasks: a dask.distributed client's, the configured pool's, or the cores'."""
    try:
        from distributed import default_client

        return max(1, sum(default_client().nthreads().values()))
    except (ImportError, ValueError):
        return int(dask.config.get("num_workers", None) or os.cpu_count() or 1)


def plan_job(
    data: Any,
    location: Location,
    *,
    fmt: Format,
    build_fmt: Format,
    axes: options.AxesLike,
    scale: Any,
    translation: Any,
    units: Any,
    levels: int | None,
    scale_factors: Any,
    method: str,
    chunks: Sequence[int] | None,
    shards: Sequence[int] | None,
    compressor: Any,
    name: str | None,
    channels: Any = None,
    image_label: ImageLabel | None = None,
) -> MultiscaleJob:
    """Check every argument and lay the pyramid out lazily; nothing is written here."""
    if method not in choices.METHODS:
        raise InvalidArgument(f"unknown method {method!r} (choose from {', '.join(choices.METHODS)})")
    given_levels = [as_dask(d) for d in data] if isinstance(data, list | tuple) else None
    base = given_levels[0] if given_levels else as_dask(data)
    options.check_shape(base.shape)
    options.check_dtype(base.dtype)
    axis_objs = options.resolve_axes(axes, base.shape, units)
    scale_v = options.per_axis_values(scale, axis_objs, 1.0, "scale")
    if any(s <= 0 for s in scale_v):
        raise InvalidArgument(f"scale must be positive, got {scale_v}")
    translation_v = options.per_axis_values(translation, axis_objs, 0.0, "translation")
    chunk_shape = options.resolve_chunks(chunks, base.shape, axis_objs, base.dtype.itemsize)
    shard_shape = options.resolve_shards(shards, chunk_shape, fmt)
    write_unit = shard_shape or chunk_shape
    names = [a.name for a in axis_objs]
    types = [a.type for a in axis_objs]
    try:
        own_plan: list[pyramid.Level] | None = None
        if given_levels is not None:
            plan = _plan_from_given(given_levels)
            lazy = [
                lv.rechunk(tuple(min(w, s) for w, s in zip(write_unit, lv.shape, strict=True))) for lv in given_levels
            ]
        else:
            plan = own_plan = pyramid.plan_levels(base.shape, names, types, levels=levels, scale_factors=scale_factors)
            units_per_level = [tuple(min(w, s) for w, s in zip(write_unit, lv.shape, strict=True)) for lv in plan]
            lazy = pyramid.build_levels(base, plan, method, units_per_level)
    except pyramid.PyramidError as exc:
        raise InvalidArgument(exc.message) from None
    channel_axis = next((i for i, a in enumerate(axis_objs) if a.is_channel), None)
    count = base.shape[channel_axis] if channel_axis is not None else 1
    return MultiscaleJob(
        location=location,
        fmt=fmt,
        build_fmt=build_fmt,
        axes=axis_objs,
        levels=lazy,
        source=data if isinstance(data, np.ndarray) else None,
        plan=own_plan,
        placement=pyramid.level_placement(scale_v, translation_v, plan, method),
        chunks=chunk_shape,
        shards=shard_shape,
        compressor=options.compressor_for(compressor, fmt),
        method=method,
        name=name,
        channels=options.resolve_channels(channels, count),
        image_label=image_label,
    )


def _write_ozx(data: Any, dest: Any, *, fmt: Format, overwrite: bool, compute: bool, **image_options: Any) -> Any:
    """Write into a staging folder beside ``dest``, then pack it into the .ozx archive in one step."""
    if not compute:
        raise InvalidArgument("compute=False is not available for .ozx destinations (the archive is packed at the end)")
    if not fmt.uses_zarr_v3:
        raise InvalidArgument(f"zipped OME-Zarr (.ozx) needs NGFF 0.5 or later, not {fmt}")
    refuse_overlap(places.of_path(dest), source_places(data), where=os.fspath(dest))
    ozx.check_replaceable(pathlib.Path(dest), overwrite)
    with ozx.staging(dest) as folder:
        write_image(data, folder, version=fmt, **image_options)
        ozx.pack(folder, dest, fmt, overwrite=overwrite)
    return open_node(os.fspath(dest))


def _plan_from_given(levels: Sequence[da.Array]) -> list[pyramid.Level]:
    """Levels of a pyramid the caller already has: factors from the shape ratios, which must shrink."""
    out: list[pyramid.Level] = []
    base = levels[0].shape
    for k, lv in enumerate(levels):
        if lv.ndim != len(base):
            raise InvalidArgument(f"level {k} has {lv.ndim} dimensions, level 0 has {len(base)}")
        cumulative = tuple(max(1, round(b / s)) for b, s in zip(base, lv.shape, strict=True))
        prev = out[-1].cumulative if out else cumulative
        if k and any(c < p or c % p for c, p in zip(cumulative, prev, strict=True)):
            raise InvalidArgument(f"level {k} {lv.shape} does not shrink evenly from level {k - 1}")
        rel = tuple(c // p for c, p in zip(cumulative, prev, strict=True)) if k else cumulative
        out.append(pyramid.Level(tuple(lv.shape), rel, cumulative))
    return out


def write_image(
    data: Any,
    dest: Target,
    *,
    axes: options.AxesLike = None,
    scale: float | Sequence[float] | Mapping[str, float] | None = None,
    translation: Sequence[float] | Mapping[str, float] | None = None,
    units: str | Mapping[str, str] | None = None,
    channels: Sequence[Any] | None = None,
    name: str | None = None,
    levels: int | None = None,
    scale_factors: Any = None,
    method: str = "mean",
    chunks: Sequence[int] | None = None,
    shards: Sequence[int] | None = None,
    compressor: Any = "zstd",
    version: str | Format = DEFAULT_WRITE,
    storage_options: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    progress: Progress = None,
    compute: bool = True,
) -> Any:
    """Write ``data`` (numpy, dask, or a list of levels) as a multiscale OME-Zarr image at ``dest``.

    Every level is computed from the one before in a single dask graph (each input chunk is read once)
    and written with whatever dask scheduler is active, ``dask.distributed`` included. Arrays are written
    first and the metadata last. Returns the written :class:`~ngffkit.Image`, or with ``compute=False`` a
    dask ``Delayed`` that performs the write. See :func:`ngffkit.writer.pyramid.plan_levels` for
    ``scale_factors``; ``method`` is one of mean, nearest, gaussian, mode, max, min.
    """
    fmt, build_fmt = target_format(version)
    if ozx.is_ozx(dest):
        return _write_ozx(data, dest, fmt=fmt, overwrite=overwrite, compute=compute, progress=progress, axes=axes,
                          scale=scale, translation=translation, units=units, channels=channels, name=name, levels=levels,
                          scale_factors=scale_factors, method=method, chunks=chunks, shards=shards, compressor=compressor)  # fmt: skip
    location = Location.of(dest, storage_options=storage_options, mode="w")
    job = plan_job(
        data, location, fmt=fmt, build_fmt=build_fmt, axes=axes, scale=scale, translation=translation,
        units=units, levels=levels, scale_factors=scale_factors, method=method, chunks=chunks, shards=shards,
        compressor=compressor, name=name, channels=channels,
    )  # fmt: skip
    refuse_overlap(places.of_store(location.store, location.path), source_places(data), where=location.url)
    with destination.storage_errors(location.url):
        delayed = job.run(destination.take(location, overwrite), progress, compute)
    if delayed is not None:
        return delayed
    return open_node(location)
