"""The CRC32 of snappy blocks (`_crc32.c`): every implementation against zlib's.

The folding constants in the C source are recomputed here from the formula beside
each one, by polynomial arithmetic over GF(2) written out below.
"""

from __future__ import annotations

import io
import random
import re
import zlib
from pathlib import Path

import cramjam
import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jetliner
from jetliner import _snappy
from jetliner.codecs import get_codec

SOURCE = Path(__file__).resolve().parents[2] / "jetliner" / "_crc32.c"
IMPLS = _snappy.crc32_implementations()
P = (1 << 32) | 0x04C11DB7  # the CRC-32 generator polynomial, x^32 + x^26 + ... + 1


def _pmod(a: int, p: int = P) -> int:
    """a mod p, polynomials over GF(2) as integers (bit i: coefficient of x^i)."""
    while a.bit_length() >= p.bit_length():
        a ^= p << (a.bit_length() - p.bit_length())
    return a


def _pdiv(a: int, p: int = P) -> int:
    """floor(a / p) over GF(2)."""
    q = 0
    while a.bit_length() >= p.bit_length():
        shift = a.bit_length() - p.bit_length()
        q |= 1 << shift
        a ^= p << shift
    return q


def _reflect(v: int, bits: int) -> int:
    return int(format(v, f"0{bits}b")[::-1], 2)


def _formula(text: str) -> int:
    """The polynomial a constant's comment names: ``x^N mod P``, ``floor(x^N / P)``, ``P``."""
    if text == "P":
        return P
    if m := re.fullmatch(r"x\^(\d+) mod P", text):
        return _pmod(1 << int(m[1]))
    if m := re.fullmatch(r"floor\(x\^(\d+) / P\)", text):
        return _pdiv(1 << int(m[1]))
    raise AssertionError(f"unknown formula {text!r}")


def test_gf2_arithmetic_of_this_test() -> None:
    # the helpers themselves: quotient and remainder rebuild the dividend
    assert _reflect(P & 0xFFFFFFFF, 32) == 0xEDB88320  # zlib's reflected polynomial
    for a in (0, 1, 0xDEADBEEF << 40, (1 << 200) | 12345):
        q, r = _pdiv(a), _pmod(a)
        product = 0
        for i in range(q.bit_length()):
            if q >> i & 1:
                product ^= P << i
        assert product ^ r == a and r.bit_length() <= 32
    # and zlib's CRC is the remainder they give: M(x) * x^32 mod P, with the register's
    # initial ~0 XORed into the first 32 message bits and the result inverted
    assert zlib.crc32(b"123456789") == 0xCBF43926  # CRC-32's published check value
    for msg in (b"123456789", b"\x00" * 5, random.Random(9).randbytes(77)):
        n = 8 * len(msg)
        m = _reflect(int.from_bytes(msg, "little"), n)  # first bit: highest power
        remainder = _pmod((m << 32) ^ (0xFFFFFFFF << n))
        assert zlib.crc32(msg) == 0xFFFFFFFF ^ _reflect(remainder, 32)


def test_every_folding_constant_is_what_its_comment_says() -> None:
    found = re.findall(r"#define (JL_\w+) 0x([0-9a-fA-F]+)ULL\s*/\* (.+?) \*/",
                       SOURCE.read_text())
    assert {name for name, _, _ in found} >= {
        "JL_K_2080", "JL_K_2016", "JL_K_544", "JL_K_480", "JL_K_160", "JL_K_96", "JL_K_64",
        "JL_MU", "JL_P"}
    for name, value, formula in found:
        assert int(value, 16) == _reflect(_formula(formula), 33), name


def test_the_fastest_available_implementation_is_the_one_used() -> None:
    assert IMPLS[0] == "table"
    data = random.Random(0).randbytes(5000)
    assert _snappy.crc32(data) == _snappy.crc32_with(IMPLS[-1], data) == zlib.crc32(data)


@pytest.mark.parametrize("impl", IMPLS)
def test_every_length_up_to_1024_and_unaligned_starts(impl: str) -> None:
    rng = random.Random(1)
    buf = rng.randbytes(1024 + 64)
    for n in range(1025):
        for start in (0, 1, 7, 13):
            chunk = buf[start:start + n]
            assert _snappy.crc32_with(impl, chunk) == zlib.crc32(chunk), (n, start)
    for start in range(64):  # every misalignment, around the vector widths
        for n in (63, 64, 255, 256, 271, 1000):
            chunk = buf[start:start + n]
            seed = rng.getrandbits(32)
            assert _snappy.crc32_with(impl, chunk, seed) == zlib.crc32(chunk, seed)


@pytest.mark.parametrize("impl", IMPLS)
def test_random_large_buffers(impl: str) -> None:
    rng = random.Random(2)
    for size in (1 << 16, (1 << 20) + 13, 3_000_017, 1 << 23):
        data = rng.randbytes(size)
        assert _snappy.crc32_with(impl, data) == zlib.crc32(data), size
    # long runs of one byte value: the folds see little variety
    for byte in (0x00, 0xFF, 0x5A):
        data = bytes([byte]) * 1_000_003
        assert _snappy.crc32_with(impl, data) == zlib.crc32(data)


@pytest.mark.parametrize("impl", IMPLS)
def test_incremental_use_continues_a_running_crc(impl: str) -> None:
    rng = random.Random(3)
    data = rng.randbytes(200_000)
    for _ in range(20):
        cuts = sorted(rng.sample(range(len(data)), rng.randrange(1, 12)))
        value = rng.getrandbits(32)
        expected = zlib.crc32(data, value)
        for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
            value = _snappy.crc32_with(impl, data[a:b], value)
        assert value == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.integers(0, 2**32 - 1), st.sampled_from(IMPLS))
def test_any_bytes_any_starting_value(data: bytes, value: int, impl: str) -> None:
    assert _snappy.crc32_with(impl, data, value) == zlib.crc32(data, value)


def test_buffer_kinds_and_bad_arguments() -> None:
    data = bytes(range(256)) * 300
    for obj in (data, bytearray(data), memoryview(data)[5:], memoryview(data).cast("I")):
        assert _snappy.crc32(obj) == zlib.crc32(obj)
    with pytest.raises(BufferError):  # as zlib.crc32: contiguous buffers only
        _snappy.crc32(memoryview(data)[::2])
    with pytest.raises(OverflowError):
        _snappy.crc32(data, 2**32)
    with pytest.raises(ValueError, match="no CRC32 implementation 'nope' on this CPU"):
        _snappy.crc32_with("nope", data)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=20_000))
def test_decompress_crc32_gives_the_output_and_its_crc(data: bytes) -> None:
    out, crc = _snappy.decompress_crc32(bytes(cramjam.snappy.compress_raw(data)), 1 << 20)
    assert bytes(out) == data
    assert crc == zlib.crc32(data)


def test_decompress_crc32_refuses_bad_input_as_decompress_raw_does() -> None:
    with pytest.raises(ValueError, match="too big"):
        _snappy.decompress_crc32(b"\xff\xff\xff\xff\x0f\x00", 1 << 20)
    with pytest.raises(ValueError, match="invalid snappy"):
        _snappy.decompress_crc32(b"\x08" + bytes([0b000_001_01, 1]), 100)


def _snappy_block(payload: bytes, crc: int) -> memoryview:
    return memoryview(bytes(cramjam.snappy.compress_raw(payload)) + crc.to_bytes(4, "big"))


def test_the_codec_checks_the_crc_with_the_same_message() -> None:
    decompress = get_codec("snappy")
    payload = random.Random(4).randbytes(100_000)
    assert bytes(decompress(_snappy_block(payload, zlib.crc32(payload)), 1 << 20)) == payload
    wrong = zlib.crc32(payload) ^ 0x80
    expected = (f"snappy CRC32 mismatch: the block says {wrong:08x}, its data gives "
                f"{zlib.crc32(payload):08x}")
    with pytest.raises(jetliner.CodecError, match=re.escape(expected)) as info:
        decompress(_snappy_block(payload, wrong), 1 << 20)
    assert info.value.variant == "DecompressionError"


SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "i", "type": "long"}, {"name": "blob", "type": "bytes"}]}


def test_file_with_large_snappy_blocks_matches_fastavro() -> None:
    rng = random.Random(5)
    records = [{"i": i, "blob": rng.randbytes(rng.randrange(0, 40_000))} for i in range(200)]
    buf = io.BytesIO()
    fastavro.writer(buf, SCHEMA, records, codec="snappy", sync_interval=300_000)
    data = buf.getvalue()
    expected = list(fastavro.reader(io.BytesIO(data)))
    assert jetliner.read_avro(data).to_dicts() == expected


def test_a_flipped_byte_in_a_snappy_file_is_a_crc_mismatch() -> None:
    # incompressible blobs are stored as snappy literals: a flipped byte inside one
    # still decompresses, to data whose CRC differs from the stored one
    rng = random.Random(6)
    records = [{"i": 1, "blob": rng.randbytes(50_000)}]
    buf = io.BytesIO()
    fastavro.writer(buf, SCHEMA, records, codec="snappy")
    data = bytearray(buf.getvalue())
    block = next(fastavro.block_reader(io.BytesIO(bytes(data))))
    assert block.num_records == 1 and block.offset + block.size == len(data)
    pos = block.offset
    _, pos = _varint(data, pos)  # the record count
    size, pos = _varint(data, pos)  # the block's byte size: snappy body + CRC
    body = slice(pos, pos + size - 4)
    data[pos + size // 2] ^= 0x01  # inside the blob's literal
    # the stored CRC and what the damaged block decompresses to, by other libraries
    stored = int.from_bytes(data[pos + size - 4:pos + size], "big")
    damaged = bytes(cramjam.snappy.decompress_raw(bytes(data[body])))
    expected = (f"snappy CRC32 mismatch: the block says {stored:08x}, its data gives "
                f"{zlib.crc32(damaged):08x}")
    with pytest.raises(jetliner.CodecError, match=re.escape(expected)):
        jetliner.read_avro(bytes(data))


def _varint(data: bytearray, pos: int) -> tuple[int, int]:
    """A zig-zag varint at `pos` and the position after it."""
    shift = value = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return (value >> 1) ^ -(value & 1), pos
