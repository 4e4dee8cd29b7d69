"""Every codec, written by fastavro; size limits; codec errors."""

from __future__ import annotations

import pytest
from conftest import container, write_avro

import jetliner

SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "i", "type": "long"}, {"name": "s", "type": "string"}]}
RECORDS = [{"i": i, "s": f"text {i} " * 5} for i in range(3000)]


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy", "zstandard", "bzip2", "xz"])
def test_codec_round_trip(codec: str) -> None:
    data = write_avro(SCHEMA, RECORDS, codec=codec, sync_interval=5000)
    df = jetliner.read_avro(data)
    assert df.to_dicts() == RECORDS


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy", "zstandard", "bzip2", "xz"])
def test_block_bigger_than_max_block_size_is_refused(codec: str) -> None:
    data = write_avro(SCHEMA, RECORDS, codec=codec, sync_interval=1 << 20)
    with pytest.raises(jetliner.CodecError, match="max_block_size=10000") as info:
        jetliner.read_avro(data, max_block_size=10_000)
    assert info.value.block_index == 0


def test_snappy_crc_mismatch() -> None:
    import cramjam

    payload = b"\x02" + b"\x0ahello"
    raw = bytes(cramjam.snappy.compress_raw(payload))
    bad = container(SCHEMA, [(1, raw + b"\x00\x00\x00\x00")], codec="snappy")
    with pytest.raises(jetliner.CodecError, match="CRC32 mismatch"):
        jetliner.read_avro(bad)


def test_unknown_codec_lists_the_supported_ones() -> None:
    data = container(SCHEMA, [], codec="lz4")
    with pytest.raises(jetliner.CodecError, match="unsupported codec 'lz4'; supported codecs are"):
        jetliner.read_avro_schema(data)


def test_truncated_deflate_stream() -> None:
    import zlib

    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = c.compress(b"\x02\x02a" * 100) + c.flush()
    with pytest.raises(jetliner.CodecError, match="deflate"):
        jetliner.read_avro(container(SCHEMA, [(100, raw[: len(raw) // 2])], codec="deflate"))


def _zstd_frames(*payloads: bytes) -> bytes:
    import zstandard

    return b"".join(zstandard.ZstdCompressor().compress(p) for p in payloads)


def test_zstandard_block_of_several_frames() -> None:
    """A block may hold several zstd frames back to back: they form one payload."""
    rec = b"\x02\x0ahello"  # i=1, s="hello"
    block = _zstd_frames(rec * 2, rec * 3)
    df = jetliner.read_avro(container(SCHEMA, [(5, block)], codec="zstandard"))
    assert df.to_dicts() == [{"i": 1, "s": "hello"}] * 5


@pytest.mark.parametrize(("damage", "message"), [
    (lambda b: b[: len(b) // 2], "truncated"),
    (lambda b: b"\x28\xb5\x2f\xfd" + b"\xff" * 20, "invalid zstandard data"),
    (lambda b: b + b"trailing junk", "invalid zstandard data"),
])
def test_damaged_zstandard_block(damage, message: str) -> None:
    block = _zstd_frames(b"\x02\x0ahello" * 50)
    with pytest.raises(jetliner.CodecError, match=message) as info:
        jetliner.read_avro(container(SCHEMA, [(50, damage(block))], codec="zstandard"))
    assert info.value.block_index == 0


def test_zstandard_bomb_is_refused_without_inflating_it() -> None:
    """A small frame that inflates to 64 MiB stops at max_block_size."""
    import tracemalloc

    block = _zstd_frames(b"\x00" * (64 << 20))
    assert len(block) < 10_000
    data = container(SCHEMA, [(1, block)], codec="zstandard")
    tracemalloc.start()
    try:
        with pytest.raises(jetliner.CodecError, match="max_block_size=1000000"):
            jetliner.read_avro(data, max_block_size=1_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20  # the output stopped near 1 MB, far from the 64 MiB claimed


def test_snappy_block_buffers_are_reused_and_read_right() -> None:
    """Freed decompressed blocks go back to a pool: a reused (dirty) buffer holds only
    the next block's bytes, the pool stays under its limit, and release empties it."""
    import random

    import cramjam

    from jetliner import _snappy

    _snappy.release_pool()
    rng = random.Random(7)
    payloads = [rng.randbytes(rng.randrange(1, 200_000)) * rng.randrange(1, 3)
                for _ in range(60)]
    compressed = [bytes(cramjam.snappy.compress_raw(p)) for p in payloads]
    for _ in range(3):
        held = [_snappy.decompress_raw(c, 1 << 30) for c in compressed]
        assert [bytes(memoryview(h)) for h in held] == payloads
        del held
        assert 0 < _snappy._pool_stats() <= 64 << 20
    _snappy.release_pool()
    assert _snappy._pool_stats() == 0
