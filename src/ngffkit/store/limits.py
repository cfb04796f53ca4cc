"""The limits that keep ngffkit bounded on hostile input, written down in one place.

Metadata and pixels come from strangers: a ``zarr.json`` may be a 3 GiB sparse file or an endless HTTP body, a
plate may list 100 000 wells, a server may drip one byte every two seconds. Every such case ends at one of
these limits with a :class:`~ngffkit.LimitExceeded` that names the limit and the environment variable that
raises it. docs/robustness.md lists them; the defaults sit far above any real dataset.

Each limit is read from the environment when it is needed (``NGFFKIT_...``), so a user or a test can raise it
without code changes; an unparsable value falls back to the default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

from ngffkit.errors import LimitExceeded

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """How much one request, one document or one dataset may ask of ngffkit.

    A limit that is exceeded is one :class:`~ngffkit.LimitExceeded` naming the limit and the environment variable
    that raises it. Pass a ``Limits`` to :func:`ngffkit.open` (and the writers, the validator) to bound data you do
    not trust more tightly; every limit not given keeps its default here (the environment is read only by
    :meth:`from_environment`, which is what passing None means).

    :param max_document_bytes: bytes of one metadata document (``zarr.json``, ``.zattrs``, ...); a 1536-well plate
        is ~200 KB. Default 64 MiB.
    :param max_object_bytes: bytes of one stored object (a chunk or a shard read whole) when its array gives no
        tighter bound. Default 2 GiB.
    :param deadline: seconds one read may take, all retries included (a server that drips bytes cannot hold it
        forever). Default 120.
    :param max_levels: levels of one multiscale image. Default 64.
    :param max_wells: wells of one plate. Default 20,000.
    :param max_plate_cells: rows x columns of a plate's grid. Default 100,000.
    :param max_fields: fields of view of one well. Default 10,000.
    :param max_download_chunks: chunks one array may have for ``ngffkit download`` (each becomes a file).
        Default 10,000,000.
    :param max_channel_layers: channels napari gets as separate layers; beyond this, the channel axis stays one
        layer with a slider. Default 64.
    :param max_table_bytes: bytes of one table read whole (a condition table's columns), and of one chunk of
        variable-length text in any array (for strings the array's shape cannot tell their size). A 1536-well
        condition table is about 100 KB. Default 64 MiB.
    :param max_table_cells: cells (rows x columns) of one table read whole. Default 1,000,000.
    """

    max_document_bytes: int = 64 * MiB
    max_object_bytes: int = 2048 * MiB
    deadline: float = 120.0
    max_levels: int = 64
    max_wells: int = 20_000
    max_plate_cells: int = 100_000
    max_fields: int = 10_000
    max_download_chunks: int = 10_000_000
    max_channel_layers: int = 64
    max_table_bytes: int = 64 * MiB
    max_table_cells: int = 1_000_000

    @classmethod
    def from_environment(cls) -> Limits:
        """The defaults, each overridden by ``NGFFKIT_<NAME>`` (``NGFFKIT_MAX_WELLS=50000``) when set."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get(env_name(f.name))
            if raw is None:
                continue
            try:
                number = float(raw)
            except ValueError:
                continue
            if number > 0:
                values[f.name] = number if f.type in ("float", float) else int(number)
        return cls(**values)


def env_name(limit: str) -> str:
    """The environment variable that sets ``limit``."""
    return "NGFFKIT_" + limit.upper()


def current() -> Limits:
    """The limits in force now (the environment is read on each call: cheap, and tests can change it)."""
    return Limits.from_environment()


def exceeded(limit: str, value: float, allowed: float, *, what: str, where: str | None = None) -> LimitExceeded:
    """An error that says which limit ``what`` broke and how to raise it."""
    return LimitExceeded(
        f"{what}: {value:g} exceeds ngffkit's limit of {allowed:g} ({limit}); raise it with {env_name(limit)}=...",
        where=where,
    )


def check(limit: str, value: float, *, what: str, where: str | None = None, limits: Limits | None = None) -> None:
    """Raise :class:`~ngffkit.LimitExceeded` when ``value`` is above ``limit`` (a field of :class:`Limits`)."""
    allowed = getattr(limits or current(), limit)
    if value > allowed:
        raise exceeded(limit, value, allowed, what=what, where=where)


#: Store keys that hold metadata documents: each is bounded by ``max_document_bytes``.
DOCUMENT_NAMES = frozenset({"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata", ".ngffkit-writing"})
#: Other documents read whole, bounded like metadata (bioformats2raw's OME-XML, which names the series; ngio's
#: csv tables, whose rows are then counted against ``max_table_bytes``); not zarr's own, so not in
#: :data:`DOCUMENT_NAMES` (which says what a zarr node may hold).
OTHER_DOCUMENTS = frozenset({"METADATA.ome.xml", "table.csv"})


@dataclass(frozen=True)
class Bound:
    """How many bytes one read may return, and what to say when it returns more."""

    limit: int
    #: The :class:`Limits` field that sets it, or None when the data's own metadata does (an array's chunks).
    setting: str | None

    def error(self, size: float, where: str) -> Exception:
        if self.setting is not None:
            return exceeded(self.setting, size, self.limit, what="too large to read", where=where)
        from ngffkit.errors import CorruptData

        return CorruptData(
            f"stored chunk of at least {size:g} bytes is larger than any chunk of this array can be "
            f"({self.limit} bytes)",
            where=where,
        )


class ReadBudget:
    """Per store: the most bytes one key may hold.

    Documents get ``max_document_bytes``; chunks of an array the reader has opened get what that array's chunk
    (or shard) can take when encoded, from its metadata; anything else ``max_object_bytes``. So a hostile
    server cannot make a 1 MiB-chunk array stream gigabytes into memory for one chunk.
    """

    #: Room for codec overhead: compressors may grow incompressible data a little, headers add bytes.
    OVERHEAD = 64 * 1024
    #: Per inner chunk of a shard: its index entry (16 bytes) and a codec's frame around a tiny chunk (blosc: 16,
    #: zstd: up to 18, gzip: 18). 4096 8x8 chunks of noise in a 512x512 shard took 375 KiB for 256 KiB of data.
    PIECE_OVERHEAD = 64

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or current()
        self._arrays: dict[str, int] = {}

    def register_array(self, path: str, decoded_bytes: int, pieces: int = 1) -> None:
        """Bound the chunks below array ``path`` by their decoded size plus codec overhead -- for a shard of
        ``pieces`` inner chunks, each chunk's own (a frame header, a 16-byte index entry)."""
        bound = decoded_bytes + decoded_bytes // 16 + self.OVERHEAD + (pieces - 1) * self.PIECE_OVERHEAD
        self._arrays[path.strip("/")] = min(bound, self.limits.max_object_bytes)

    def bound(self, key: str) -> Bound:
        if key.rsplit("/", 1)[-1] in DOCUMENT_NAMES | OTHER_DOCUMENTS:
            return Bound(self.limits.max_document_bytes, "max_document_bytes")
        prefix = key
        while "/" in prefix:
            prefix = prefix.rsplit("/", 1)[0]
            if prefix in self._arrays:
                return Bound(self._arrays[prefix], None)
        if "" in self._arrays:  # an array at the store root
            return Bound(self._arrays[""], None)
        return Bound(self.limits.max_object_bytes, "max_object_bytes")
