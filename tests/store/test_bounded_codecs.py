"""Decompression bombs inside chunks stop at the chunk's size -- and ordinary data of every codec still reads.

These tests also pin the zarr internals ngffkit.store.bounded_codecs relies on (codec classes and their
``_decode_sync`` hook, metadata dataclasses): a zarr upgrade that changes them fails here first.
"""

from __future__ import annotations

import gzip
import pathlib
import re

import numcodecs
import numpy as np
import pytest

import ngffkit
from ngffkit.store import bounded_codecs

from ..hardening.bounded import run_cases

DATA = np.random.default_rng(0).integers(0, 1000, (64, 64), dtype=np.uint16)


def chunk_file(root: pathlib.Path, version: str) -> pathlib.Path:
    return root / "0" / ("c/0/0" if version == "0.5" else "0/0")


@pytest.mark.parametrize("version", ["0.4", "0.5"])
@pytest.mark.parametrize("compressor", ["zstd", "blosc", "gzip", "none"])
def test_every_codec_still_reads(tmp_path: pathlib.Path, version: str, compressor: str) -> None:
    shard_options = [None, (64, 64)] if version == "0.5" else [None]
    for shards in shard_options:
        path = tmp_path / f"{shards is not None}.zarr"
        ngffkit.write_image(DATA, path, version=version, compressor=compressor, chunks=(32, 32), shards=shards)
        np.testing.assert_array_equal(ngffkit.open(path).levels[0].compute(), DATA)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
@pytest.mark.parametrize(
    ("compressor", "bomb"),
    [
        ("gzip", lambda: gzip.compress(b"\0" * (60 << 20), 9)),  # 61 KB that inflate to 60 MiB
        ("zstd", lambda: numcodecs.Zstd(level=19).encode(b"\0" * (256 << 20))),  # declares 256 MiB
        ("blosc", lambda: numcodecs.Blosc(clevel=9).encode(np.zeros(1 << 24, np.uint8))[:4096]),  # declares 16 MiB
    ],
)
def test_a_bomb_in_a_chunk_stops_at_the_chunk_size(tmp_path: pathlib.Path, version: str, compressor: str, bomb) -> None:  # type: ignore[no-untyped-def]
    # Memory is measured in a fresh child (its VmHWM, the peak resident memory), first after reading an intact copy,
    # then after reading the bomb: this process's ru_maxrss is an all-time peak, which an earlier test (or another
    # xdist worker's history) may already hold above anything the bomb would reach -- the growth then reads as 0.
    intact = tmp_path / "intact.zarr"
    ngffkit.write_image(DATA, intact, version=version, compressor=compressor, chunks=(32, 32))
    path = tmp_path / "bomb.zarr"
    ngffkit.write_image(DATA, path, version=version, compressor=compressor, chunks=(32, 32))
    payload = bomb()
    assert len(payload) < 67_000  # small enough to pass the stored-size bound: the decoder must stop it
    chunk_file(path, version).write_bytes(payload)
    outcome = run_cases({
        "intact": f"result = ngffkit.open({str(intact)!r}).levels[0].compute().sum()",
        "bomb": f"ngffkit.open({str(path)!r}).levels[0].compute()",
    })  # fmt: skip
    assert outcome["intact"].raised is None, outcome["intact"]
    grown_mib = outcome["bomb"].peak_mib - outcome["intact"].peak_mib
    assert grown_mib < 40, f"decoding the bomb took {grown_mib:.0f} MiB"
    assert outcome["bomb"].raised == "CorruptData", outcome["bomb"]
    assert re.search(r"bomb\.zarr/0.*2048", outcome["bomb"].message), outcome["bomb"]


def test_zstd_header_reading() -> None:
    for size in (0, 1, 255, 256, 65_791, 65_792, 10**6, 2**33):
        frame = numcodecs.Zstd(level=1).encode(b"\0" * min(size, 10**6)) if size <= 10**6 else None
        if frame is not None:
            assert bounded_codecs.zstd_declared_size(frame) == size
    assert bounded_codecs.zstd_declared_size(b"not zstd") is None


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("compressed", [True, False])
def test_text_reads_whatever_its_length_and_a_vlen_chunk_claims_no_more_items_than_it_holds(
    tmp_path: pathlib.Path, zarr_format: int, compressed: bool
) -> None:
    """Variable-length text (AnnData's strings) has no size its shape tells: long strings read (zarr v2 text was
    refused: 'a blosc chunk claims 21 bytes; chunks of this array hold at most 16'), and a chunk whose vlen header
    claims more items than the chunk holds is refused before numcodecs makes an object for each."""
    import zarr

    from ngffkit.store.arrays import zarr_array
    from ngffkit.store.location import Location

    words = np.asarray(["a", "nocodazole " * 40, "taxol"], dtype=object)
    codec = (numcodecs.Zstd() if zarr_format == 2 else zarr.codecs.ZstdCodec()) if compressed else None
    path = tmp_path / "text.zarr"
    array = zarr.create_array(str(path), shape=(3,), chunks=(3,), dtype=str, zarr_format=zarr_format,  # type: ignore[arg-type]
                              compressors=codec)  # fmt: skip
    array[:] = words
    np.testing.assert_array_equal(zarr_array(Location.of(path).read())[...], words.astype(str))
    claim = b"\xff\xff\xff\x0f"  # 268 million strings (2 GB of objects and 17 s before the check)
    key = path / ("0" if zarr_format == 2 else "c/0")
    key.write_bytes(numcodecs.Zstd().encode(claim) if compressed else claim)
    with pytest.raises(ngffkit.CorruptData, match="claims 268435455 items; chunks of this array hold 3"):
        zarr_array(Location.of(path).read())[...]
