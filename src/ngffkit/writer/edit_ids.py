"""The largest label value a label image holds, so that a proofreader's "new label" is new to all of it (issue 34).

An id is new only if no pixel of level 0 has it -- anywhere, not just in the region being edited. Finding the
largest one means reading every stored chunk of level 0, which for a large image is minutes of reads: this is
done in bounded blocks (whole shards or chunks, grouped up to :data:`BLOCK_PIXELS`), one block in memory at a time,
each read concurrently by ngffkit's reader, with a way to stop between blocks and to report progress -- meant to
run on a worker thread while the person pans and paints. Chunks that were never written (a lazily made label
image) are the fill value and cost no read.

:func:`listed_largest` is the cheap lower bound: the largest value the ``image-label`` colours and properties list.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from ngffkit.reader import Image
from ngffkit.reader.arrays import block_shape

#: The most pixels read at once (64 MiB of uint32): whole storage units grouped up to this.
BLOCK_PIXELS = 1 << 24


def listed_largest(labels: Image) -> int:
    """The largest label value the ``image-label`` colours or properties list (0 when they list none)."""
    label = labels.image_label
    if label is None:
        return 0
    values = [c.value for c in label.colors] + [p.value for p in label.properties]
    return max((int(v) for v in values), default=0)


def blocks(shape: tuple[int, ...], unit: tuple[int, ...], most: int = BLOCK_PIXELS) -> list[tuple[slice, ...]]:
    """The boxes of ``shape`` in blocks of whole ``unit`` s (the stored chunks or shards) of at most ``most`` pixels
    -- shaped as the reader shapes its dask blocks (:func:`ngffkit.reader.arrays.block_shape`) -- so that each
    read fetches many units concurrently."""
    block = block_shape(shape, unit, 1, limit=most)
    starts = [range(0, s, b) for s, b in zip(shape, block, strict=True)]
    return [
        tuple(slice(a, min(a + b, s)) for a, b, s in zip(corner, block, shape, strict=True))
        for corner in itertools.product(*starts)
    ]


def largest_label_steps(labels: Image) -> Iterator[tuple[int, int, int]]:
    """Read level 0 of ``labels`` block by block (module docstring), yielding after each block (blocks read,
    blocks in all, the largest value so far -- at least 0): the caller may stop between blocks, or show progress.

    :raises NGFFError: when a chunk cannot be read or decoded.
    """
    array = labels.level_source(0)[0]
    shape = tuple(int(s) for s in array.shape)
    unit = tuple(int(s) for s in (array.shards or array.chunks))
    boxes = blocks(shape, unit)
    largest = 0
    for done, box in enumerate(boxes, 1):
        pixels = labels.read(0, box)
        if pixels.size:
            largest = max(largest, int(np.max(pixels)))
        yield done, len(boxes), largest


def largest_label(labels: Image) -> int:
    """The largest value of level 0 of ``labels`` as stored (at least 0), read block by block.

    :raises NGFFError: when a chunk cannot be read or decoded.
    """
    return max((so_far for _, _, so_far in largest_label_steps(labels)), default=0)
