"""Schema parsing and the Avro -> Polars type mapping."""

from __future__ import annotations

import polars as pl
import pytest

import jetliner
from jetliner.schema import compile_plan, parse_schema, plan_for


def dtype_of(t: object) -> pl.DataType:
    schema = {"type": "record", "name": "R", "fields": [{"name": "x", "type": t}]}
    return compile_plan(parse_schema(schema)).schema["x"]


@pytest.mark.parametrize(
    ("avro", "polars"),
    [
        ("null", pl.Null()),
        ("boolean", pl.Boolean()),
        ("int", pl.Int32()),
        ("long", pl.Int64()),
        ("float", pl.Float32()),
        ("double", pl.Float64()),
        ("string", pl.String()),
        ("bytes", pl.Binary()),
        ({"type": "fixed", "name": "F", "size": 4}, pl.Binary()),
        ({"type": "enum", "name": "E", "symbols": ["a", "b"]}, pl.Enum(["a", "b"])),
        ({"type": "array", "items": "long"}, pl.List(pl.Int64())),
        ({"type": "map", "values": "int"}, pl.Map(pl.String(), pl.Int32())),
        ({"type": "array", "items": {"type": "map", "values": {
            "type": "enum", "name": "E2", "symbols": ["x"]}}},
         pl.List(pl.Map(pl.String(), pl.Enum(["x"])))),
        (["null", "string"], pl.String()),
        (["string", "null"], pl.String()),
        (["int", "string"], pl.Struct({"int": pl.Int32(), "string": pl.String()})),
        (["null", "int", "string"], pl.Struct({"int": pl.Int32(), "string": pl.String()})),
        ({"type": "int", "logicalType": "date"}, pl.Date()),
        ({"type": "int", "logicalType": "time-millis"}, pl.Time()),
        ({"type": "long", "logicalType": "time-micros"}, pl.Time()),
        ({"type": "long", "logicalType": "timestamp-millis"}, pl.Datetime("ms", "UTC")),
        ({"type": "long", "logicalType": "timestamp-micros"}, pl.Datetime("us", "UTC")),
        ({"type": "long", "logicalType": "timestamp-nanos"}, pl.Datetime("ns", "UTC")),
        ({"type": "long", "logicalType": "local-timestamp-millis"}, pl.Datetime("ms")),
        ({"type": "long", "logicalType": "local-timestamp-micros"}, pl.Datetime("us")),
        ({"type": "long", "logicalType": "local-timestamp-nanos"}, pl.Datetime("ns")),
        ({"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
         pl.Decimal(10, 2)),
        ({"type": "fixed", "name": "D", "size": 8, "logicalType": "decimal", "precision": 18},
         pl.Decimal(18, 0)),
        ({"type": "bytes", "logicalType": "decimal", "precision": 39, "scale": 2}, pl.String()),
        ({"type": "bytes", "logicalType": "big-decimal"}, pl.String()),
        ({"type": "string", "logicalType": "uuid"}, pl.String()),
        ({"type": "fixed", "name": "U", "size": 16, "logicalType": "uuid"}, pl.String()),
        ({"type": "fixed", "name": "Du", "size": 12, "logicalType": "duration"},
         pl.Struct({"months": pl.UInt32(), "days": pl.UInt32(), "milliseconds": pl.UInt32()})),
        ({"type": "long", "logicalType": "some-future-type"}, pl.Int64()),
        ({"type": "int", "logicalType": "timestamp-millis"}, pl.Int32()),  # invalid: base type
        ({"type": "bytes", "logicalType": "decimal", "precision": 2, "scale": 3}, pl.Binary()),
        ({"type": "fixed", "name": "S", "size": 2, "logicalType": "decimal", "precision": 9},
         pl.Binary()),
        ({"type": {"type": "long"}}, pl.Int64()),
    ],
)
def test_type_mapping(avro: object, polars: pl.DataType) -> None:
    assert dtype_of(avro) == polars


def test_field_level_logical_type_is_ignored() -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "t", "type": "long", "logicalType": "timestamp-millis"}]}
    assert compile_plan(parse_schema(schema)).schema["t"] == pl.Int64()


def test_named_type_reused_maps_to_the_same_dtype_both_times() -> None:
    schema = {"type": "record", "name": "R", "namespace": "ns", "fields": [
        {"name": "a",
         "type": {"type": "record", "name": "P", "fields": [{"name": "x", "type": "int"}]}},
        {"name": "b", "type": "P"},
        {"name": "c", "type": "ns.P"},
        {"name": "d", "type": {"type": "array", "items": "P"}}]}
    s = compile_plan(parse_schema(schema)).schema
    assert s["a"] == s["b"] == s["c"] == pl.Struct({"x": pl.Int32()})
    assert s["d"] == pl.List(s["a"])


def test_namespaces_resolve_short_and_full_names() -> None:
    schema = {"type": "record", "name": "a.b.R", "fields": [
        {"name": "x", "type": {"type": "enum", "name": "E", "symbols": ["A"]}},
        {"name": "y", "type": "a.b.E"},
        {"name": "z", "type": {"type": "fixed", "name": "F", "namespace": "other", "size": 1}},
        {"name": "w", "type": "other.F"}]}
    s = compile_plan(parse_schema(schema)).schema
    assert s["y"] == pl.Enum(["A"]) and s["w"] == pl.Binary()


def test_union_branch_labels_use_full_names_only_when_short_ones_collide() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "u", "type": [
        {"type": "record", "name": "x.P", "fields": []},
        {"type": "record", "name": "y.P", "fields": []},
        "long"]}]}
    labels = list(compile_plan(parse_schema(schema)).schema["u"].to_schema())
    assert labels == ["x.P", "y.P", "long"]


def test_recursive_field_becomes_json_string() -> None:
    schema = {"type": "record", "name": "Node", "fields": [
        {"name": "value", "type": "long"},
        {"name": "children", "type": {"type": "array", "items": "Node"}},
        {"name": "parent", "type": ["null", "Node"]}]}
    s = compile_plan(parse_schema(schema)).schema
    assert s == pl.Schema({"value": pl.Int64(), "children": pl.String(), "parent": pl.String()})


def test_mutual_recursion_stops_at_the_innermost_field() -> None:
    schema = {"type": "record", "name": "A", "fields": [
        {"name": "b", "type": {"type": "record", "name": "B", "fields": [
            {"name": "n", "type": "int"}, {"name": "a", "type": ["null", "A"]}]}}]}
    s = compile_plan(parse_schema(schema)).schema
    assert s["b"] == pl.Struct({"n": pl.Int32(), "a": pl.String()})


def test_top_level_non_record_is_one_value_column() -> None:
    assert compile_plan(parse_schema('{"type": "array", "items": "int"}')).schema == pl.Schema(
        {"value": pl.List(pl.Int32())})
    assert compile_plan(parse_schema('"string"')).schema == pl.Schema({"value": pl.String()})


def test_projection_keeps_the_requested_order() -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": n, "type": "int"} for n in "abcd"]}
    assert list(compile_plan(parse_schema(schema), ["d", "a"]).schema) == ["d", "a"]


def test_unknown_column_names_the_available_ones() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
    with pytest.raises(jetliner.SchemaError, match="available columns: 'a'"):
        compile_plan(parse_schema(schema), ["zz"])


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("{not json", "not valid JSON"),
        ('"Nope"', "unknown type 'Nope'"),
        ('{"type": "record", "name": "R"}', "needs a list of 'fields'"),
        ('{"type": "record", "name": "R", "fields": '
         '[{"name": "a", "type": "int"}, {"name": "a", "type": "int"}]}',
         "two fields named 'a'"),
        ('{"type": "enum", "name": "E", "symbols": ["A", "A"]}', "duplicate symbols"),
        ('{"type": "fixed", "name": "F", "size": -1}', "non-negative integer 'size'"),
        ('["int", "int"]', "two branches of type 'int'"),
        ('["int", ["long"]]', "may not directly contain another union"),
        ('{"type": "array"}', "needs 'items'"),
        ('[{"type": "enum", "name": "E", "symbols": []}, '
         '{"type": "fixed", "name": "E", "size": 1}]',
         "defined twice"),
        ('{"type": 42}', "without a valid 'type'"),
    ],
)
def test_invalid_schemas_raise_schema_error(schema: str, message: str) -> None:
    with pytest.raises(jetliner.SchemaError, match=message):
        parse_schema(schema)


def test_absurdly_deep_schema_is_refused_not_a_crash() -> None:
    text = '{"type": "array", "items": ' * 5000 + '"int"' + "}" * 5000
    with pytest.raises(jetliner.SchemaError):
        parse_schema(text)


@pytest.mark.parametrize("schema", [
    '{"type": "record", "name": "R", "fields": [{"name": "\\ud800", "type": "int"}]}',
    '{"type": "enum", "name": "E", "symbols": ["A", "\\udfff"]}',
    '{"type": "fixed", "name": "F\\ud800", "size": 2}',
    '{"type": "record", "name": "R", "namespace": "n\\ud800", "fields": []}',
])
def test_names_must_be_unicode_text(schema: str) -> None:
    """A lone surrogate escaped in the JSON cannot become a column or category name."""
    with pytest.raises(jetliner.SchemaError, match="is not valid Unicode"):
        plan_for(schema, None)


def test_polars_written_file_with_an_empty_record_name() -> None:
    # Polars' write_avro names the top-level record "": read as anonymous,
    # values equal to fastavro's reading of the same file
    import io

    import fastavro

    buf = io.BytesIO()
    pl.DataFrame({"a": [1, None, 3], "b": ["x", "y", None]}).write_avro(buf)
    data = buf.getvalue()
    assert fastavro.reader(io.BytesIO(data)).writer_schema["name"] == ""
    want = list(fastavro.reader(io.BytesIO(data)))
    assert jetliner.read_avro(data).to_dicts() == want
    # only at the top: a nested record still needs a name
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "f", "type": {"type": "record", "name": "", "fields": []}}]}
    with pytest.raises(jetliner.SchemaError, match="needs a 'name'"):
        jetliner.read_avro_schema(_file_with_schema(schema))


def _file_with_schema(schema: dict) -> bytes:
    """A container file with `schema` in its header and no blocks."""
    import json

    sync = b"\x00" * 16
    meta = {"avro.schema": json.dumps(schema).encode(), "avro.codec": b"null"}
    out = bytearray(b"Obj\x01")

    def varint(n: int) -> bytes:
        n = (n << 1) ^ (n >> 63)
        b = bytearray()
        while n > 0x7F:
            b.append((n & 0x7F) | 0x80)
            n >>= 7
        b.append(n)
        return bytes(b)

    out += varint(len(meta))
    for k, v in meta.items():
        out += varint(len(k)) + k.encode() + varint(len(v)) + v
    out += varint(0) + sync
    return bytes(out)
