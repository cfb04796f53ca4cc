"""The metadata of many nodes in one concurrent batch: all wells of a plate cost one round trip, not one each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from ngffkit.errors import LocationError, NGFFError
from ngffkit.store import adapter
from ngffkit.store.location import Location
from ngffkit.store.nodes import NodeMetadata, read_node
from ngffkit.store.remote import MAX_CONNECTIONS

T = TypeVar("T")
X = TypeVar("X")


async def bounded_gather(work: Callable[[X], Awaitable[T]], items: Sequence[X]) -> list[T | Exception]:
    """``work(item)`` for every item, at most ``MAX_CONNECTIONS`` at a time; results in order, an exception in
    its item's place.

    A fixed set of workers rather than a task per item: 20,000 waiting tasks are 20,000 live coroutines that every
    garbage collection walks (at 10,000 images the finder spent 85 s in the collector), and requests queued
    beyond the connection pool only wait there."""
    results: list[Any] = [None] * len(items)
    indices = iter(range(len(items)))

    async def worker() -> None:
        for i in indices:  # one iterator shared by the workers: each item is taken exactly once
            try:
                results[i] = await work(items[i])
            except Exception as exc:
                results[i] = exc

    await asyncio.gather(*(worker() for _ in range(min(MAX_CONNECTIONS, len(items)))))
    return results


async def _gather_nodes(
    locations: Sequence[Location], expects: Sequence[str | None], keep: Callable[[BaseException], bool]
) -> list[NodeMetadata | NGFFError]:
    pairs = list(zip(locations, expects, strict=True))
    results = await bounded_gather(lambda pair: read_node(*pair), pairs)
    for result in results:
        if isinstance(result, BaseException) and not keep(result):
            raise result
    return results  # type: ignore[return-value]


def read_many(locations: Sequence[Location], expect: str | Sequence[str | None] | None = None) -> list[NodeMetadata]:
    """Read the metadata of many nodes concurrently; results come back in the same order.

    ``expect`` ("group" or "array", or one of those per location) narrows zarr v2 reads to that kind's
    documents (see :func:`ngffkit.store.nodes.read_node`). The first error is raised once every read has finished.
    """
    return _read_many(locations, expect, keep=lambda _: False)  # type: ignore[return-value]


def read_many_or_errors(
    locations: Sequence[Location],
    expect: str | Sequence[str | None] | None = None,
    *,
    keep_transport_errors: bool = False,
) -> list[NodeMetadata | NGFFError]:
    """Like :func:`read_many`, but a node whose metadata is unusable comes back as its
    :class:`~ngffkit.NGFFError` instead of failing the batch (one broken well must not hide a plate).

    A transport failure (:class:`~ngffkit.LocationError`: the network, permissions) still raises: readers never
    turn it into a skipped node. ``keep_transport_errors`` keeps those too, for callers that report every
    node's fate (the validator, the finder)."""

    def keep(error: BaseException) -> bool:
        return isinstance(error, NGFFError) and (keep_transport_errors or not isinstance(error, LocationError))

    return _read_many(locations, expect, keep=keep)


def _read_many(
    locations: Sequence[Location],
    expect: str | Sequence[str | None] | None,
    *,
    keep: Callable[[BaseException], bool],
) -> list[NodeMetadata | NGFFError]:
    if not locations:
        return []
    expects = [expect] * len(locations) if expect is None or isinstance(expect, str) else list(expect)
    return adapter.sync(_gather_nodes(locations, expects, keep))
