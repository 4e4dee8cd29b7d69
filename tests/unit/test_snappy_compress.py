"""The GIL-free raw snappy compressor: what it writes, others read back exactly.

Every output is decompressed by jetliner's own decompressor and by cramjam's
(an independent implementation); a small walker of the format written here from
its description checks the elements themselves (tags, the length preamble, copies
that stay inside their 64 KiB fragment).
"""

from __future__ import annotations

import json
import mmap
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cramjam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jetliner import _snappy
from jetliner._snappy_compress import compress_raw, max_compressed_length

FRAGMENT = 1 << 16
ROOT = Path(__file__).resolve().parents[2]


def walk(compressed: bytes) -> tuple[bytes, list[tuple[str, int, int]]]:
    """Decode `compressed` element by element; return the output and the elements
    (kind, length, offset), asserting the format's rules on the way."""
    length = shift = pos = 0
    while True:
        b = compressed[pos]
        pos += 1
        length |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            break
    assert pos <= 5, "the length preamble is a 32-bit varint"
    out = bytearray()
    elements: list[tuple[str, int, int]] = []
    while pos < len(compressed):
        tag = compressed[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            n = tag >> 2
            if n >= 60:
                count = n - 59
                n = int.from_bytes(compressed[pos:pos + count], "little")
                pos += count
                assert n + 1 > 60, "a literal whose length fits the tag has no length bytes"
                assert count == 1 or n >= 1 << (8 * (count - 1)), "length bytes: fewest"
            n += 1
            out += compressed[pos:pos + n]
            assert len(compressed[pos:pos + n]) == n, "a literal runs past the input"
            pos += n
            elements.append(("literal", n, 0))
            continue
        if kind == 1:
            n = 4 + ((tag >> 2) & 7)
            offset = ((tag >> 5) << 8) | compressed[pos]
            pos += 1
        elif kind == 2:
            n = (tag >> 2) + 1
            offset = int.from_bytes(compressed[pos:pos + 2], "little")
            pos += 2
        else:
            n = (tag >> 2) + 1
            offset = int.from_bytes(compressed[pos:pos + 4], "little")
            pos += 4
        start = len(out) - offset
        assert offset > 0, "a copy's offset is at least 1"
        # fragments are compressed independently: no copy reaches into the one before
        assert start >= len(out) // FRAGMENT * FRAGMENT, "a copy crosses a fragment's start"
        assert (len(out) + n - 1) // FRAGMENT == len(out) // FRAGMENT, "copy past a fragment"
        for i in range(n):  # byte by byte: overlapping copies repeat a pattern
            out.append(out[start + i])
        elements.append(("copy", n, offset))
    assert len(out) == length, "the preamble states the uncompressed length"
    return bytes(out), elements


def round_trip(data: bytes | bytearray | memoryview, *, check_elements: bool = True) -> bytes:
    compressed = compress_raw(data)
    assert type(compressed) is bytes
    expected = bytes(data)
    assert len(compressed) <= max_compressed_length(len(expected))
    assert bytes(cramjam.snappy.decompress_raw(compressed)) == expected
    assert bytes(_snappy.decompress_raw(compressed, len(expected))) == expected
    if check_elements:
        assert walk(compressed)[0] == expected
    return compressed


def text_corpus() -> bytes:
    files = sorted((ROOT / "jetliner").glob("*.py")) + sorted((ROOT / "docs").glob("*.md"))
    return b"".join(p.read_bytes() for p in files)


def json_lines(rows: int, seed: int = 7) -> bytes:
    """Records of the kind an Avro block holds, as JSON lines."""
    rng = random.Random(seed)
    kinds = ["page_view", "click", "purchase", "login", "search"]
    lines = [json.dumps({"id": 1_000_000 + i, "ts": 1_700_000_000_000 + i * 41 + rng.randrange(40),
                         "user": f"user-{rng.randrange(3000):05d}", "kind": rng.choice(kinds),
                         "price": round(rng.uniform(1, 500), 2),
                         "tags": rng.sample(["new", "sale", "eu", "mobile", "web"], 2)})
             for i in range(rows)]
    return "\n".join(lines).encode()


def test_empty_input_is_the_zero_length_preamble_alone() -> None:
    assert round_trip(b"") == b"\x00"


@pytest.mark.parametrize("n", range(1, 101))
def test_every_short_length(n: int) -> None:
    rng = random.Random(n)
    round_trip(rng.randbytes(n))
    round_trip(bytes(rng.choice(b"ab") for _ in range(n)))
    round_trip((b"xyz" * n)[:n])


SIZES = [1, 2, 3, 4, 5, 15, 16, 17, 18, 19, 59, 60, 61, 63, 64, 65, 66, 67, 68, 69, 70, 127,
         128, 255, 256, 257, 1000, 2047, 2048, 2049, 4096, 65535, 65536, 65537, 65536 + 17,
         131071, 131072, 131073, 300_000]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("byte", [0, 0x61, 0xFF])
def test_runs_of_one_byte_are_long_overlapping_copies(n: int, byte: int) -> None:
    data = bytes([byte]) * n
    compressed = round_trip(data)
    if n >= 1000:
        assert len(compressed) < n // 16  # a copy of at most 64 bytes takes 2 or 3
        _, elements = walk(compressed)
        assert any(kind == "copy" and length > offset for kind, length, offset in elements)


@pytest.mark.parametrize("period", [1, 2, 3, 7, 8, 9, 31, 64, 100, 2047, 2048, 2049, 20_000,
                                    40_000])
def test_repeating_patterns_at_every_kind_of_offset(period: int) -> None:
    # short periods of random bytes; long ones of text, since after that many
    # random bytes the search steps so far ahead that it may miss the repeat
    unit = random.Random(period).randbytes(period) if period < 4096 else text_corpus()[:period]
    data = (unit * (200_000 // period + 2))[:200_000]
    compressed = round_trip(data)
    _, elements = walk(compressed)
    assert period in {offset for kind, _, offset in elements if kind == "copy"}


@pytest.mark.parametrize("n", [17, 1000, 65536, 65537, 1_000_000])
def test_random_bytes_pass_through_as_literals(n: int) -> None:
    data = random.Random(n).randbytes(n)
    compressed = round_trip(data)
    # literals only (a chance 4-byte match is all but impossible), one per fragment
    _, elements = walk(compressed)
    assert all(kind == "literal" for kind, _, _ in elements)
    assert len(compressed) <= n + 5 + 3 * (n // FRAGMENT + 1)


def test_text_round_trips_and_compresses() -> None:
    data = text_corpus()
    assert len(data) > 200_000
    compressed = round_trip(data)
    assert len(compressed) < len(data) * 0.6


@pytest.mark.parametrize("n", [FRAGMENT - 1, FRAGMENT, FRAGMENT + 1, FRAGMENT + 15,
                               FRAGMENT + 16, FRAGMENT + 17, 2 * FRAGMENT + 100])
def test_inputs_around_the_fragment_boundary(n: int) -> None:
    data = (text_corpus() * 2)[:n]
    round_trip(data)
    # a repeat whose earlier copy lies in the previous fragment cannot be a copy of it
    unit = random.Random(n).randbytes(1000)
    round_trip(random.Random(1).randbytes(n - 1000 - 500) + unit + b"\x00" * 500 + unit)


def test_several_megabytes_of_mixed_data() -> None:
    rng = random.Random(5)
    text = text_corpus()
    parts = []
    while sum(map(len, parts)) < 6_000_000:
        choice = rng.randrange(4)
        if choice == 0:
            parts.append(rng.randbytes(rng.randrange(1, 50_000)))
        elif choice == 1:
            start = rng.randrange(len(text) - 70_000)
            parts.append(text[start:start + rng.randrange(1, 70_000)])
        elif choice == 2:
            parts.append(bytes([rng.randrange(256)]) * rng.randrange(1, 100_000))
        else:
            parts.append(json_lines(rng.randrange(1, 2000), seed=rng.randrange(1000)))
    data = b"".join(parts)
    compressed = round_trip(data, check_elements=False)
    assert len(compressed) < len(data)


REPETITIVE = st.lists(
    st.one_of(st.sampled_from([b"a", b"ab", b"\x00" * 9, b"xyz" * 7, b"\xff" * 70,
                               b'{"id": 1, "name": "x"}']),
              st.binary(min_size=1, max_size=40)),
    max_size=600,
).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=5000), REPETITIVE))
def test_round_trip_of_generated_inputs(data: bytes) -> None:
    round_trip(data)


@settings(max_examples=100, deadline=None)
@given(REPETITIVE, st.integers(1, 3 * FRAGMENT), st.data())
def test_round_trip_with_far_repeats_across_fragments(
    unit: bytes, gap: int, draw: st.DataObject,
) -> None:
    filler = draw.draw(st.sampled_from([b"\x00", b"ab", b"abcdefgh"]))
    data = unit + (filler * gap)[:gap] + unit + unit[: len(unit) // 2]
    round_trip(data)


def test_compressed_size_of_record_like_data_is_close_to_cramjams() -> None:
    for data in (json_lines(20_000), text_corpus(), json_lines(300) * 40):
        ours = len(compress_raw(data))
        theirs = len(cramjam.snappy.compress_raw(data))
        assert ours <= theirs * 1.10, (ours, theirs, len(data))
        assert ours < len(data) * 0.6


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview,
                                  lambda b: memoryview(bytearray(b))[3:-5],
                                  lambda b: memoryview(b).cast("B", (len(b) // 2, 2))])
def test_any_contiguous_buffer_is_compressed_in_place(wrap: object) -> None:
    data = json_lines(500)[: 2 * (len(json_lines(500)) // 2)]
    view = wrap(data)  # type: ignore[operator]
    compressed = round_trip(view)
    assert bytes(_snappy.decompress_raw(compressed, 1 << 30)) == bytes(view)


def test_a_non_contiguous_buffer_is_refused() -> None:
    with pytest.raises(BufferError):
        compress_raw(memoryview(b"abcdefgh")[::2])


def test_an_object_without_the_buffer_protocol_is_refused() -> None:
    with pytest.raises(TypeError):
        compress_raw("text")  # type: ignore[arg-type]


def test_more_than_the_preamble_can_state_is_refused() -> None:
    # 4 GiB of address space, never touched: the size is refused before any read
    with mmap.mmap(-1, 1 << 32) as big:
        with pytest.raises(ValueError, match="at most 4294967295 bytes"):
            compress_raw(big)


def test_concurrent_calls_from_threads_are_independent() -> None:
    inputs = [json_lines(2000, seed=s) + random.Random(s).randbytes(s * 1000) for s in range(16)]
    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(compress_raw, inputs * 4))
    for data, compressed in zip(inputs * 4, outputs, strict=True):
        assert bytes(cramjam.snappy.decompress_raw(compressed)) == data
