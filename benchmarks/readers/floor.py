"""The floor: read the file and decompress every block, decode nothing.

No reader can do less work than this (short of skipping blocks), so its time is
the lower bound the decoders are measured against.  The file is memory-mapped
(only the blocks needed are touched), the container framing is parsed in Python
(a handful of varints per block) and blocks are decompressed with cramjam,
one at a time on one thread.  The result is a frame of one row per block (``records``,
``bytes`` decompressed); `count_rows` reports the records covered.

Avro is row oriented: a projection or a filter still has to decompress every
block, so those scenarios cost the same as a full read; head stops after the
blocks holding the first `n` records.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Callable
from importlib.metadata import version as _dist_version

import cramjam
import polars as pl

LABEL = "floor (decompress only)"
MAGIC = b"Obj\x01"
SYNC_SIZE = 16


def unavailable() -> str | None:
    """Return None: cramjam is a requirement of the benchmarks."""
    return None


def version() -> str:
    """Return the cramjam version."""
    return f"cramjam {_dist_version('cramjam')}"


def count_rows(result: pl.DataFrame) -> int:
    """Records held by the blocks the floor decompressed."""
    return int(result["records"].sum()) if result.height else 0


def _snappy(data: memoryview) -> object:
    # Avro's snappy blocks end with a 4-byte CRC32 of the uncompressed data
    return cramjam.snappy.decompress_raw(data[:-4])


_CODECS: dict[str, Callable[[memoryview], object]] = {
    "null": bytes,
    "snappy": _snappy,
    "deflate": cramjam.deflate.decompress,  # raw deflate, no zlib header
    "zstandard": cramjam.zstd.decompress,
}


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    """Decode a zig-zag varint long at `pos`; return (value, next position)."""
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7


def _header(buf: memoryview) -> tuple[dict[str, bytes], bytes, int]:
    """Parse the header; return (metadata, sync marker, offset of the first block)."""
    if bytes(buf[:4]) != MAGIC:
        raise ValueError("not an Avro object container file")
    pos = 4
    meta: dict[str, bytes] = {}
    while True:
        count, pos = _varint(buf, pos)
        if count == 0:
            break
        if count < 0:  # a negative count is followed by the block's byte size
            count = -count
            _, pos = _varint(buf, pos)
        for _ in range(count):
            klen, pos = _varint(buf, pos)
            key = bytes(buf[pos : pos + klen]).decode()
            pos += klen
            vlen, pos = _varint(buf, pos)
            meta[key] = bytes(buf[pos : pos + vlen])
            pos += vlen
    sync = bytes(buf[pos : pos + SYNC_SIZE])
    return meta, sync, pos + SYNC_SIZE


def _walk_blocks(buf: memoryview, limit: int | None) -> tuple[list[int], list[int]]:
    """Decompress blocks of the mapped file `buf`; return (records, bytes) per block."""
    meta, sync, pos = _header(buf)
    codec = meta.get("avro.codec", b"null").decode() or "null"
    decompress = _CODECS[codec]
    json.loads(meta["avro.schema"])  # a real reader parses it too
    records: list[int] = []
    sizes: list[int] = []
    total = 0
    end = len(buf)
    while pos < end and (limit is None or total < limit):
        count, pos = _varint(buf, pos)
        size, pos = _varint(buf, pos)
        out = decompress(buf[pos : pos + size])
        pos += size
        if buf[pos : pos + SYNC_SIZE] != sync:
            raise ValueError(f"sync marker mismatch at byte {pos}")
        pos += SYNC_SIZE
        records.append(count)
        sizes.append(len(out))
        total += count
    return records, sizes


def decompress_blocks(path: str, limit: int | None = None) -> pl.DataFrame:
    """Decompress the blocks of `path`, stopping once `limit` records are covered.

    Parameters
    ----------
    path
        An Avro object container file.
    limit
        Stop after the block that reaches this many records; None reads all.

    Returns
    -------
    polars.DataFrame
        One row per block: ``records`` (i64) and ``bytes`` decompressed (i64).
    """
    with open(path, "rb") as fo, mmap.mmap(fo.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        buf = memoryview(mm)
        try:
            records, sizes = _walk_blocks(buf, limit)
        finally:
            buf.release()  # the map cannot close while a view is alive
    return pl.DataFrame(
        {"records": records, "bytes": sizes}, schema={"records": pl.Int64, "bytes": pl.Int64}
    )


def read_full(path: str) -> pl.DataFrame:
    """Decompress every block."""
    return decompress_blocks(path)


def read_projection(path: str, columns: list[str]) -> pl.DataFrame:
    """Decompress every block (a row-oriented file cannot skip columns' bytes)."""
    return decompress_blocks(path)


def read_filter(path: str, column: str, below: int) -> pl.DataFrame:
    """Decompress every block (each must be decoded to evaluate the predicate)."""
    return decompress_blocks(path)


def read_head(path: str, n: int) -> pl.DataFrame:
    """Decompress the blocks holding the first `n` records."""
    return decompress_blocks(path, limit=n)


def read_head_eager(path: str, n: int) -> pl.DataFrame:
    """The same as `read_head`."""
    return read_head(path, n)
