"""The GIL-free raw snappy decompressor: exact round trips, bounded on bad input."""

from __future__ import annotations

import cramjam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jetliner import _snappy

REPETITIVE = st.lists(
    st.sampled_from([b"a", b"ab", b"\x00" * 9, b"xyz" * 7, b"\xff"]), max_size=400
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=5000), REPETITIVE))
def test_round_trip_with_cramjam_compressor(data: bytes) -> None:
    compressed = bytes(cramjam.snappy.compress_raw(data))
    assert bytes(_snappy.decompress_raw(compressed, 1 << 30)) == data


@settings(max_examples=500, deadline=None)
@given(REPETITIVE, st.data())
def test_corrupted_input_raises_or_returns_never_crashes(data: bytes, draw: st.DataObject) -> None:
    compressed = bytearray(cramjam.snappy.compress_raw(data))
    if compressed:
        i = draw.draw(st.integers(0, len(compressed) - 1))
        compressed[i] = draw.draw(st.integers(0, 255))
        compressed = compressed[: draw.draw(st.integers(0, len(compressed)))]
    try:
        out = _snappy.decompress_raw(bytes(compressed), 1 << 20)
    except ValueError:
        return
    assert len(out) <= 1 << 20


def test_declared_size_above_the_limit_is_refused_before_allocating() -> None:
    huge = b"\xff\xff\xff\xff\x0f"  # declares 4 GiB
    with pytest.raises(ValueError, match="too big"):
        _snappy.decompress_raw(huge + b"\x00", 1 << 20)


def test_copy_before_the_start_of_output_is_rejected() -> None:
    # declares 8 bytes, then a copy with offset 1 at output position 0
    with pytest.raises(ValueError, match="invalid snappy"):
        _snappy.decompress_raw(b"\x08" + bytes([0b000_001_01, 1]), 100)
