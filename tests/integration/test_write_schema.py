"""write_avro(schema=...): frames written to an Avro schema of the user's, read back by
fastavro; promotions, exact casts, and the typed errors of what does not fit."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json

import fastavro
import polars as pl
import pytest

import jetliner

SCHEMA = {"type": "record", "name": "Order", "namespace": "shop", "fields": [
    {"name": "id", "type": "long"},
    {"name": "qty", "type": "int"},
    {"name": "status", "type": {"type": "enum", "name": "Status",
                                "symbols": ["NEW", "PAID", "SHIPPED"]}},
    {"name": "note", "type": ["string", "null"]},
    {"name": "blob", "type": ["null", "bytes"]},
    {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "price", "type": {"type": "fixed", "name": "Price", "size": 8,
                               "logicalType": "decimal", "precision": 12, "scale": 2}},
    {"name": "code", "type": {"type": "fixed", "name": "Code", "size": 3}},
    {"name": "ratio", "type": "double"},
    {"name": "lines", "type": {"type": "array", "items": {
        "type": "record", "name": "Line", "fields": [
            {"name": "sku", "type": "string"}, {"name": "n", "type": ["null", "long"]}]}}},
]}


def frame() -> pl.DataFrame:
    """The columns in another order than the fields, of types that promote to them."""
    return pl.DataFrame({
        "qty": pl.Series([1, 2, 3], dtype=pl.Int64),           # -> int
        "id": pl.Series([10, 20, 30], dtype=pl.Int32),         # -> long
        "ratio": pl.Series([0.5, 1.5, -2.0], dtype=pl.Float32),  # -> double
        "status": ["NEW", "SHIPPED", "PAID"],                    # string -> enum
        "note": ["a", None, "ç"],
        "blob": ["x", None, "yz"],                               # string -> bytes
        "at": pl.Series([dt.datetime(2024, 1, 1, 0, 0, 0, 5000), dt.datetime(1969, 12, 31),
                         dt.datetime(2024, 5, 1)]).dt.replace_time_zone("UTC"),
        "price": pl.Series([decimal.Decimal("1.50"), decimal.Decimal("-0.01"),
                            decimal.Decimal("9999999999.99")], dtype=pl.Decimal(12, 2)),
        "code": [b"abc", b"\x00\x01\x02", b"zzz"],
        "lines": [[{"sku": "p", "n": 1}], [], [{"sku": "q", "n": None}, {"sku": "r", "n": 2}]],
    })


def written(df: pl.DataFrame, schema: object = SCHEMA, **kw: object) -> bytes:
    buf = io.BytesIO()
    jetliner.write_avro(df, buf, schema=schema, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("given", ["dict", "json", "file"])
def test_a_frame_is_written_to_the_given_schema(given: str, tmp_path) -> None:
    schema: object = SCHEMA
    if given == "json":
        schema = json.dumps(SCHEMA)
    elif given == "file":
        (tmp_path / "order.avsc").write_text(json.dumps(SCHEMA))
        schema = tmp_path / "order.avsc"
    raw = written(frame(), schema)
    reader = fastavro.reader(io.BytesIO(raw))
    assert reader.writer_schema["name"] == "shop.Order"
    rows = list(reader)
    df = frame()
    assert [r["id"] for r in rows] == [10, 20, 30]
    assert [r["qty"] for r in rows] == [1, 2, 3]
    assert [r["status"] for r in rows] == ["NEW", "SHIPPED", "PAID"]
    assert [r["note"] for r in rows] == ["a", None, "ç"]
    assert [r["blob"] for r in rows] == [b"x", None, b"yz"]
    assert [r["at"] for r in rows] == df["at"].to_list()
    assert [r["price"] for r in rows] == df["price"].to_list()
    assert [r["code"] for r in rows] == df["code"].to_list()
    assert [r["ratio"] for r in rows] == [0.5, 1.5, -2.0]
    assert [r["lines"] for r in rows] == df["lines"].to_list()


@pytest.mark.parametrize(("column", "values", "dtype", "words"), [
    ("qty", [1, 2**40, 3], pl.Int64, "qty"),                  # beyond int
    ("status", ["NEW", "LOST", "PAID"], pl.String, "status"),   # not a symbol
    ("at", [dt.datetime(2024, 1, 1, 0, 0, 0, 1)] * 3, pl.Datetime("us", "UTC"),
     "changes"),                                                 # sub-millisecond
])
def test_values_that_do_not_fit_are_encode_errors(column, values, dtype, words) -> None:
    df = frame().with_columns(pl.Series(column, values, dtype=dtype))
    with pytest.raises(jetliner.EncodeError, match=words) as info:
        written(df)
    assert info.value.column == column


def test_a_null_where_the_field_has_no_null_branch() -> None:
    df = frame().with_columns(pl.Series("id", [1, None, 3], dtype=pl.Int64))
    with pytest.raises(jetliner.EncodeError) as info:
        written(df)
    assert (info.value.column, info.value.row) == ("id", 1)


def test_a_fixed_of_another_size() -> None:
    df = frame().with_columns(pl.Series("code", [b"abc", b"ab", b"abc"]))
    with pytest.raises(jetliner.EncodeError, match="fixed") as info:
        written(df)
    assert (info.value.column, info.value.row) == ("code", 1)


@pytest.mark.parametrize(("change", "words"), [
    (lambda df: df.drop("ratio"), "no column for field"),
    (lambda df: df.with_columns(extra=pl.lit(1)), "not in the schema"),
    (lambda df: df.with_columns(pl.col("qty").cast(pl.String)), "'qty'.*String.*int"),
    (lambda df: df.with_columns(pl.col("ratio").cast(pl.Float64)) .with_columns(
        pl.col("lines").list.eval(pl.element().struct.field("n"))), "'lines"),
])
def test_frames_that_do_not_fit_are_schema_errors(change, words) -> None:
    with pytest.raises(jetliner.SchemaError, match=words):
        written(change(frame()))


def test_a_bad_schema_argument() -> None:
    with pytest.raises(jetliner.ConfigurationError, match="schema must be"):
        written(frame(), 42)


def test_sink_avro_to_a_given_schema(tmp_path) -> None:
    out = tmp_path / "o.avro"
    jetliner.sink_avro(frame().lazy(), out, schema=SCHEMA)
    with out.open("rb") as f:
        assert [r["qty"] for r in fastavro.reader(f)] == [1, 2, 3]
