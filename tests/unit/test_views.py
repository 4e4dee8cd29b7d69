"""Strings and bytes reach Polars as Arrow views: inline (up to 12 bytes) or in data
buffers, several of them once one fills up.  Values are compared with fastavro's."""

from __future__ import annotations

import io

import fastavro
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jetliner
from jetliner._decoder import DecodeFailure, Decoder
from jetliner._plan import DECODE_ERROR_MESSAGES, ErrorCode
from jetliner.frames import FrameBuilder
from jetliner.schema import compile_plan, parse_schema

SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "s", "type": "string"},
    {"name": "b", "type": "bytes"},
    {"name": "n", "type": ["null", "string"]},
    {"name": "f", "type": {"type": "fixed", "name": "F", "size": 13}},
    {"name": "m", "type": {"type": "map", "values": "string"}},
]}


def write(records: list[dict]) -> bytes:
    buf = io.BytesIO()
    fastavro.writer(buf, SCHEMA, records, codec="deflate", sync_interval=300)
    return buf.getvalue()


def decode(data: bytes, batch_size: int = 100_000, columns: list[str] | None = None,
           **limits: int) -> pl.DataFrame:
    """Read a file written by `write` with a decoder of our own, made with `limits`
    (the decoder's test settings: ``seal_threshold``, ``value_limit``)."""
    reader = fastavro.reader(io.BytesIO(data))
    plan = compile_plan(parse_schema(reader.writer_schema), columns)
    decoder = Decoder(plan.nodes, plan.kids, plan.kid_names, plan.cols, plan.strings, plan.root,
                      **limits)
    out = io.BytesIO()
    records = 0
    for r in reader:
        fastavro.schemaless_writer(out, reader.writer_schema, r)
        records += 1
    payload, offset = out.getvalue(), 0
    frames = FrameBuilder(plan.schema)
    dfs = []
    for start in range(0, records, batch_size):
        offset = decoder.decode(payload, offset, min(batch_size, records - start))
        rows = decoder.rows
        dfs.append(frames.build(decoder.finish(plan.export), rows))
    assert offset == len(payload)
    return pl.concat(dfs) if dfs else frames.build(decoder.finish(plan.export), 0)


SEALED = {"seal_threshold": 40}  # data buffers sealed every 40 bytes: many per batch


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
def test_lengths_around_the_inline_limit(sealed: bool) -> None:
    records = [record(i, ("é" if i % 5 == 0 else "x") * n + str(i)[: max(0, n - 1)])
               for i, n in enumerate(LENGTHS * 20)]
    data = write(records)
    for batch_size in (7, 100_000):
        if sealed:
            df = decode(data, batch_size=batch_size, **SEALED)
        else:
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
    data = write([record(i, t) for i, t in enumerate(texts)])
    assert as_rows(decode(data, batch_size=50, **SEALED)) == expected(data)


def test_projection_and_empty_batches() -> None:
    data = write([record(i, "v" * (i % 30)) for i in range(500)])
    df = decode(data, columns=["n", "s"], **SEALED)
    truth = expected(data)
    assert df.to_dicts() == [{"n": r["n"], "s": r["s"]} for r in truth]
    empty = decode(write([]), **SEALED)
    assert empty.schema["s"] == pl.String and empty.height == 0


def test_settings_belong_to_one_decoder() -> None:
    """A decoder's limits are its own: decoders made alongside it keep the defaults."""
    data = write([record(0, "a" * 200)])
    with pytest.raises(DecodeFailure):
        decode(data, value_limit=100)
    assert as_rows(decode(data)) == expected(data)
    assert as_rows(jetliner.read_avro(data)) == expected(data)
    for bad in ({"value_limit": 0}, {"value_limit": 2**31}, {"seal_threshold": 0}):
        with pytest.raises(ValueError):
            decode(data, **bad)


@pytest.fixture
def value_limit() -> int:
    """Values of at most 100 bytes, instead of 2 GiB - 1 (the same checks, cheaply)."""
    return 100


def test_value_longer_than_the_limit(value_limit: int) -> None:
    ok = write([record(0, "a" * 40)])  # the map value is 80 bytes
    assert as_rows(decode(ok, value_limit=value_limit)) == expected(ok)
    with pytest.raises(DecodeFailure) as info:
        decode(write([record(0, "a" * (value_limit + 1))]), value_limit=value_limit)
    assert info.value.code == ErrorCode.E_NOMEM
    assert "2 GiB or more" in DECODE_ERROR_MESSAGES[info.value.code]


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
    rendered = decode(small.getvalue(), value_limit=value_limit)["next"]
    assert rendered.str.len_bytes()[0] < value_limit
    with pytest.raises(DecodeFailure) as info:
        decode(big.getvalue(), value_limit=value_limit)
    assert info.value.code == ErrorCode.E_NOMEM
