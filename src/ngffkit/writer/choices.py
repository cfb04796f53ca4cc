"""The names a writer accepts (methods, compressors): plain data, light enough for ``ngffkit --help``."""

from __future__ import annotations

METHODS = ("mean", "nearest", "gaussian", "mode", "max", "min")
#: Methods that never create a value the input did not have (safe for label images).
LABEL_SAFE_METHODS = ("mode", "nearest", "max", "min")
#: Methods whose level-k pixel sits at the centre of the block it summarises.
BLOCK_METHODS = ("mean", "mode", "gaussian", "max", "min")
#: "auto": blosc-lz4 with shuffle for images, zstd for labels -- the best size for the time on microscopy-like data
#: (benchmarks/codecs.py: on 16-bit images blosc-lz4 is 20x faster than zstd and compresses better; on labels zstd
#: compresses 25x better at the same speed).
COMPRESSORS = ("auto", "zstd", "blosc", "gzip", "none")
