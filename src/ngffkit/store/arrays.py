"""zarr arrays built from array metadata that was already read -- no second request, and bounded reads.

The reader and the validator fetch every level's array metadata in one concurrent batch; building the zarr
array from that document (zarr's public ``AsyncArray(metadata=document, store_path=...)``, instead of
``zarr.open_array``, which would fetch it again) keeps a plate of hundreds of fields at one round trip for all of
its arrays. Building it also checks what zarr cannot use (codecs, data types, absurd shapes), decodes through the
bounded codecs, and tells the store how large the array's chunks can be (a :class:`ReadBudget`).
"""

from __future__ import annotations

import math
from typing import Any

import zarr
from zarr.storage import StorePath

from ngffkit.errors import InvalidMetadata, NGFFError
from ngffkit.store import bounded_codecs
from ngffkit.store.limits import ReadBudget
from ngffkit.store.nodes import NodeMetadata


def zarr_array(node: NodeMetadata) -> zarr.Array[Any]:
    """A read-only zarr array for an array node, from the metadata already in ``node`` (built once per node)."""
    built = node.derived.get("zarr_array")
    if built is None:
        built = node.derived["zarr_array"] = _build(node)
    return built


def array_from_document(document: dict[str, Any], store: Any, path: str) -> zarr.Array[Any]:
    """A zarr array from its metadata document (zarr's public constructors: no request), decoding through
    ngffkit's bounded codecs. Raises what zarr raises for metadata it cannot use."""
    metadata = bounded_codecs.bound_document(document)
    return zarr.Array[Any](zarr.AsyncArray(metadata=metadata, store_path=StorePath(store, path)))  # type: ignore[call-overload]


def _build(node: NodeMetadata) -> zarr.Array[Any]:
    doc: dict[str, Any] = dict(node.array or {})
    if node.zarr_format == 2:
        doc.setdefault("zarr_format", 2)
        doc["attributes"] = node.attributes
    try:
        array = array_from_document(doc, node.location.store, node.location.path)
    except NGFFError:
        raise
    except (ValueError, TypeError, KeyError, LookupError, AttributeError, OverflowError) as exc:
        # what zarr (and numpy, numcodecs) raise for array metadata they cannot use
        raise InvalidMetadata(f"unusable array metadata: {exc}", where=node.location.url) from exc
    _check_size(array, node.location.url)
    _bound_chunks(node, array)
    return array


def _check_size(array: zarr.Array[Any], url: str) -> None:
    """Shapes and chunks that no machine can index (numpy, dask and zarr count in 64-bit integers)."""
    if any(n < 0 for n in array.shape) or math.prod(array.shape) >= 2**63:
        raise InvalidMetadata(f"array shape {array.shape} is too large to address (over 2**63 elements)", where=url)
    if any(c <= 0 for c in array.chunks) and math.prod(array.shape) > 0:
        raise InvalidMetadata(f"array chunks {array.chunks} must be positive", where=url)


def _bound_chunks(node: NodeMetadata, array: zarr.Array[Any]) -> None:
    """Tell the store how large this array's stored chunks (or shards) can be, so that a server streaming more
    for one of them is stopped there (see :class:`~ngffkit.store.limits.ReadBudget`)."""
    budget = getattr(node.location.store, "budget", None)
    if not isinstance(budget, ReadBudget):
        return
    itemsize = int(array.dtype.itemsize)
    unit = array.shards or array.chunks
    pieces = math.prod(-(-u // c) for u, c in zip(unit, array.chunks, strict=True)) if array.shards else 1
    if bounded_codecs.variable_length(array.dtype):  # text: its shape cannot tell its size
        budget.register_array(node.location.path, bounded_codecs.text_chunk_bytes(), pieces)
    elif itemsize > 0:
        budget.register_array(node.location.path, math.prod(unit) * itemsize, pieces)
