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
