"""Strings and bytes reach Polars as Arrow views: inline (up to 12 bytes) or in data
buffers, several of them once one fills up.  Values are compared with fastavro's."""

from __future__ import annotations

import io
from collections.abc import Iterator

import fastavro
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jetliner
from jetliner import _decoder

SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "s", "type": "string"},
    {"name": "b", "type": "bytes"},
    {"name": "n", "type": ["null", "string"]},
    {"name": "f", "type": {"type": "fixed", "name": "F", "size": 13}},
    {"name": "m", "type": {"type": "map", "values": "string"}},
]}


@pytest.fixture
def seal_at() -> Iterator[None]:
    """Seal data buffers every 40 bytes: every batch spans many buffers."""
    old = _decoder._set_seal_threshold(40)
    yield
    _decoder._set_seal_threshold(old)


def write(records: list[dict]) -> bytes:
    buf = io.BytesIO()
    fastavro.writer(buf, SCHEMA, records, codec="deflate", sync_interval=300)
    return buf.getvalue()


def as_rows(df: pl.DataFrame) -> list[dict]:
    return df.to_dicts()  # the map column reads back as dicts


def expected(data: bytes) -> list[dict]:
    return list(fastavro.reader(io.BytesIO(data)))


def record(i: int, text: str) -> dict:
    return {"s": text, "b": text.encode() * 2, "n": None if i % 3 == 0 else text[::-1],
            "f": (text.encode() + b"#" * 13)[:13], "m": {text: text * 2, "k": ""}}


# lengths around the 12-byte inline limit and the 4-byte prefix
LENGTHS = [0, 1, 3, 4, 5, 11, 12, 13, 14, 16, 39, 40, 41, 100]


@pytest.mark.parametrize("sealed", [False, True])
def test_lengths_around_the_inline_limit(request, sealed: bool) -> None:
    if sealed:
        request.getfixturevalue("seal_at")
    records = [record(i, ("é" if i % 5 == 0 else "x") * n + str(i)[: max(0, n - 1)])
               for i, n in enumerate(LENGTHS * 20)]
    data = write(records)
    for batch_size in (7, 100_000):
        df = jetliner.read_avro(data, batch_size=batch_size)
        assert as_rows(df) == expected(data)
        # Polars works on the columns: comparison, sorting and grouping use the prefixes
        assert df["s"].sort().to_list() == sorted(r["s"] for r in records)
        assert df.group_by("s").len().height == len({r["s"] for r in records})
        assert df.filter(pl.col("s") == records[37]["s"]).height == sum(
            r["s"] == records[37]["s"] for r in records)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=200))
def test_any_text_through_many_buffers(texts: list[str]) -> None:
    old = _decoder._set_seal_threshold(40)
    try:
        data = write([record(i, t) for i, t in enumerate(texts)])
        assert as_rows(jetliner.read_avro(data, batch_size=50)) == expected(data)
    finally:
        _decoder._set_seal_threshold(old)


def test_projection_and_empty_batches(seal_at: None) -> None:
    data = write([record(i, "v" * (i % 30)) for i in range(500)])
    df = jetliner.read_avro(data, columns=["n", "s"])
    truth = expected(data)
    assert df.to_dicts() == [{"n": r["n"], "s": r["s"]} for r in truth]
    empty = jetliner.read_avro(write([]))
    assert empty.schema["s"] == pl.String and empty.height == 0


@pytest.fixture
def value_limit() -> Iterator[int]:
    """Values of at most 100 bytes, instead of 2 GiB - 1 (the same checks, cheaply)."""
    old = _decoder._set_value_limit(100)
    yield 100
    _decoder._set_value_limit(old)


def test_value_longer_than_the_limit(value_limit: int) -> None:
    ok = write([record(0, "a" * 40)])  # the map value is 80 bytes
    assert as_rows(jetliner.read_avro(ok)) == expected(ok)
    with pytest.raises(jetliner.DecodeError, match="2 GiB or more"):
        jetliner.read_avro(write([record(0, "a" * (value_limit + 1))]))


def test_rendered_value_longer_than_the_limit(value_limit: int) -> None:
    """A recursive field's JSON text grows by many small appends: checked when complete."""
    schema = {"type": "record", "name": "Node", "fields": [
        {"name": "v", "type": "string"}, {"name": "next", "type": ["null", "Node"]}]}

    def chain(n: int) -> dict:
        node: dict = {"v": "x", "next": None}
        for _ in range(n):
            node = {"v": "x", "next": node}
        return node

    small, big = io.BytesIO(), io.BytesIO()
    fastavro.writer(small, schema, [chain(1)])
    fastavro.writer(big, schema, [chain(10)])
    assert jetliner.read_avro(small.getvalue())["next"].str.len_bytes()[0] < value_limit
    with pytest.raises(jetliner.DecodeError, match="2 GiB or more"):
        jetliner.read_avro(big.getvalue())
