"""Schema resolution (reader_schema=): each rule against fastavro's reading, each rejection
a typed error naming the file, the field path, both types and the rule."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
import polars as pl
import pytest

import jetliner
from jetliner._plan import Op
from jetliner.resolution import load_reader_schema, resolved_plan


def _file(schema: Any, records: list[Any]) -> bytes:
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(schema), records)
    return buf.getvalue()


def _theirs(raw: bytes, reader: Any) -> list[Any]:
    return list(fastavro.reader(io.BytesIO(raw), reader_schema=fastavro.parse_schema(reader)))


def _rec(*fields: dict[str, Any], name: str = "R") -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields)}


def test_promotions_read_the_writer_values_as_the_reader_types() -> None:
    w = _rec({"name": "i1", "type": "int"}, {"name": "i2", "type": "int"},
             {"name": "i3", "type": "int"}, {"name": "l1", "type": "long"},
             {"name": "l2", "type": "long"}, {"name": "f", "type": "float"},
             {"name": "s", "type": "string"}, {"name": "b", "type": "bytes"})
    r = _rec({"name": "i1", "type": "long"}, {"name": "i2", "type": "float"},
             {"name": "i3", "type": "double"}, {"name": "l1", "type": "float"},
             {"name": "l2", "type": "double"}, {"name": "f", "type": "double"},
             {"name": "s", "type": "bytes"}, {"name": "b", "type": "string"})
    recs = [{"i1": v, "i2": v, "i3": v, "l1": v * 3**20, "l2": v * 3**20, "f": v / 3,
             "s": f"é{v}", "b": f"x{v}".encode()} for v in (-(2**31), -1, 0, 7, 2**31 - 1)]
    raw = _file(w, recs)
    df = jetliner.read_avro(raw, reader_schema=r)
    assert df.schema == pl.Schema({"i1": pl.Int64, "i2": pl.Float32, "i3": pl.Float64,
                                   "l1": pl.Float32, "l2": pl.Float64, "f": pl.Float64,
                                   "s": pl.Binary, "b": pl.String})
    theirs = _theirs(raw, r)
    for ours, t in zip(df.to_dicts(), theirs, strict=True):
        assert ours["i1"] == t["i1"] and ours["i3"] == t["i3"] and ours["l2"] == t["l2"]
        assert ours["s"] == (t["s"].encode() if isinstance(t["s"], str) else t["s"])
        assert ours["b"] == t["b"]
        # float32 columns: fastavro keeps a double, rounded here to float32 as written
        for k in ("i2", "l1", "f"):
            assert ours[k] == pytest.approx(t[k], rel=1e-6)
    plan = resolved_plan(json.dumps(w), load_reader_schema(r), None)
    ops = {Op(n.op) for n in plan.nodes}
    assert {Op.OP_INT_TO_LONG, Op.OP_INT_TO_FLOAT, Op.OP_INT_TO_DOUBLE, Op.OP_LONG_TO_FLOAT,
            Op.OP_LONG_TO_DOUBLE, Op.OP_FLOAT_TO_DOUBLE} <= ops


def test_bytes_read_as_string_must_be_utf8() -> None:
    raw = _file(_rec({"name": "b", "type": "bytes"}), [{"b": b"\xff"}])
    with pytest.raises(jetliner.DecodeError, match="UTF-8"):
        jetliner.read_avro(raw, reader_schema=_rec({"name": "b", "type": "string"}))


def test_fields_match_by_name_and_alias_in_any_order_and_writer_only_ones_are_skipped() -> None:
    w = _rec({"name": "a", "type": "long"}, {"name": "gone", "type": {"type": "array",
                                                                      "items": "string"}},
             {"name": "old", "type": "string"})
    r = _rec({"name": "new", "type": "string", "aliases": ["old"]},
             {"name": "a", "type": "long"})
    raw = _file(w, [{"a": i, "gone": ["x"] * i, "old": str(i)} for i in range(4)])
    df = jetliner.read_avro(raw, reader_schema=r)
    assert df.columns == ["new", "a"]
    assert df.to_dicts() == _theirs(raw, r)
    plan = resolved_plan(json.dumps(w), load_reader_schema(r), None)
    assert Op.OP_SKIP in {n.op for n in plan.nodes}


def test_named_types_match_by_alias() -> None:
    inner = {"type": "record", "name": "Old", "fields": [{"name": "x", "type": "int"}]}
    w = _rec({"name": "p", "type": inner})
    r = _rec({"name": "p", "type": {"type": "record", "name": "New", "aliases": ["Old"],
                                    "fields": [{"name": "x", "type": "long"}]}})
    raw = _file(w, [{"p": {"x": 5}}])
    assert jetliner.read_avro(raw, reader_schema=r).to_dicts() == [{"p": {"x": 5}}]


DEFAULTS: list[tuple[Any, Any]] = [
    ("null", None), ("boolean", True), ("int", -3), ("long", 2**40), ("float", 1.5),
    ("double", -0.25), ("string", "héllo"), ("bytes", "\u00ff\u0000a"),
    ({"type": "fixed", "name": "F", "size": 3}, "a\u00e9b"),
    ({"type": "enum", "name": "E", "symbols": ["A", "B"]}, "B"),
    ({"type": "array", "items": "int"}, [1, 2, 3]),
    ({"type": "map", "values": "string"}, {"k": "v", "j": "w"}),
    ({"type": "record", "name": "S", "fields": [{"name": "x", "type": "int"},
                                                {"name": "y", "type": "string",
                                                 "default": "dy"}]}, {"x": 1}),
    (["null", "int"], None), (["int", "null"], 4), (["string", "int", "null"], "u"),
    ({"type": "long", "logicalType": "timestamp-micros"}, 1_700_000_000_000_000),
    ({"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2}, "\u0001\u0000"),
]


def _fix_default(t: Any, value: Any) -> Any:
    """fastavro returns a default as given: bytes as text, a record's without its defaults."""
    kind = t if isinstance(t, str) else t["type"] if isinstance(t, dict) else None
    if kind in ("bytes", "fixed") and isinstance(value, str):
        return value.encode("latin-1")
    if kind == "record":
        return {f["name"]: value.get(f["name"], f.get("default")) for f in t["fields"]}
    return value


@pytest.mark.parametrize(("ftype", "default"), DEFAULTS, ids=lambda v: json.dumps(v)[:30])
@pytest.mark.parametrize("nested", [False, True], ids=["top", "nested"])
def test_reader_fields_the_writer_lacks_take_their_default(ftype: Any, default: Any,
                                                           nested: bool) -> None:
    field = {"name": "d", "type": ftype, "default": default}
    if nested:  # inside records in an array: filled per value by the decoder
        item_w = {"type": "record", "name": "I", "fields": [{"name": "k", "type": "int"}]}
        item_r = {"type": "record", "name": "I", "fields": [{"name": "k", "type": "int"},
                                                            field]}
        w = _rec({"name": "xs", "type": {"type": "array", "items": item_w}})
        r = _rec({"name": "xs", "type": {"type": "array", "items": item_r}})
        raw = _file(w, [{"xs": [{"k": 1}, {"k": 2}]}, {"xs": []}, {"xs": [{"k": 3}]}])
    else:  # a constant column per batch
        w = _rec({"name": "k", "type": "int"})
        r = _rec({"name": "k", "type": "int"}, field)
        raw = _file(w, [{"k": i} for i in range(5)])
    df = jetliner.read_avro(raw, reader_schema=r, batch_size=2)
    assert df.schema == jetliner.read_avro_schema(raw, reader_schema=r)
    plain = jetliner.read_avro(_file(r, []), ).schema  # the reader schema's own types
    assert df.schema == plain
    theirs = _theirs(raw, r)
    got = df.to_dicts()
    for ours, t in zip(got, theirs, strict=True):
        rows = list(zip(ours["xs"], t["xs"], strict=True)) if nested else [(ours, t)]
        for o, e in rows:
            value = _fix_default(ftype, e["d"])
            o_value = o["d"]
            if isinstance(ftype, list) and len(ftype) > 2:  # a struct of the branches
                o_value = next(v for v in o_value.values() if v is not None)
            if isinstance(ftype, dict) and ftype.get("logicalType"):
                assert o_value is not None  # (the value is the logical type's: checked below)
                continue
            if isinstance(ftype, dict) and ftype["type"] == "map":
                o_value = dict(o_value)
            if ftype == "float":
                assert o_value == pytest.approx(value)
                continue
            assert o_value == value, (ftype, o_value, value)


def test_logical_defaults_have_the_logical_value() -> None:
    w = _rec({"name": "k", "type": "int"})
    r = _rec({"name": "k", "type": "int"},
             {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"},
              "default": 1_700_000_000_000_000},
             {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal",
                                      "precision": 5, "scale": 2}, "default": "\u0001\u0000"})
    raw = _file(w, [{"k": 1}])
    theirs = _theirs(raw, r)
    df = jetliner.read_avro(raw, reader_schema=r)
    assert df["ts"].dt.epoch("us").to_list() == [1_700_000_000_000_000]
    assert str(df["dec"][0]) == "2.56"  # 0x0100 = 256, scale 2
    assert theirs[0]["ts"] == 1_700_000_000_000_000  # fastavro keeps the raw default


def test_enum_symbols_map_and_unknown_ones_take_the_default() -> None:
    w = _rec({"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}})
    r = _rec({"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["C", "Z", "A"],
                                    "default": "Z"}})
    raw = _file(w, [{"e": s} for s in "ABCA"])
    df = jetliner.read_avro(raw, reader_schema=r)
    assert df.schema["e"] == pl.Enum(["C", "Z", "A"])
    assert df.to_dicts() == _theirs(raw, r)


def test_an_unknown_enum_symbol_without_default_fails_only_when_met() -> None:
    w = _rec({"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}})
    r = _rec({"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A"]}})
    assert jetliner.read_avro(_file(w, [{"e": "A"}] * 3), reader_schema=r)["e"].to_list() == \
        ["A"] * 3
    with pytest.raises(jetliner.DecodeError, match="enum symbol") as info:
        jetliner.read_avro(_file(w, [{"e": "A"}, {"e": "B"}]), reader_schema=r)
    assert info.value.variant == "SchemaResolution"
    assert info.value.record_index == 1  # the record that holds it
    assert info.value.message.endswith("; field 'e', the writer's symbol 'B'")


_ENUM = {"type": "enum", "name": "E", "symbols": ["X", "Y", "Z"]}
# the reader's enum and union, the last row's bad item, what it meets, and in which
# record when read in one pass
_FAILED_RESOLUTIONS: list[tuple[Any, Any, dict[str, Any], str, int]] = [
    ({"type": "enum", "name": "E", "symbols": ["X", "Y"]}, ["null", "int", "string"],
     {"e": "Z", "u": 1}, "the writer's symbol 'Z'", 5),
    (_ENUM, ["null", "int"], {"e": "X", "u": "s"}, "the writer's branch 'string'", 5),
    (_ENUM, ["null", "long", "boolean"], {"e": "X", "u": "s"}, "the writer's branch 'string'",
     5),
    (_ENUM, "int", {"e": "X", "u": "s"}, "the writer's branch 'string'", 5),
    # a reader that reads only nulls fails on the first int
    (_ENUM, "null", {"e": "X", "u": "s"}, "the writer's branch 'int'", 0),
]


@pytest.mark.parametrize("filtered", [False, True])
@pytest.mark.parametrize(("renum", "runion", "bad", "met", "record"), _FAILED_RESOLUTIONS)
def test_a_failed_resolution_names_the_nested_field_and_what_it_met(
        renum: Any, runion: Any, bad: dict[str, Any], met: str, record: int,
        filtered: bool) -> None:
    # the failing field is inside a record, in an array of records: the error names its
    # path and the writer's name of the symbol or branch met, through one pass and
    # through the late path of a filter on another column
    inner = {"type": "record", "name": "In", "fields": [
        {"name": "e", "type": _ENUM}, {"name": "u", "type": ["null", "int", "string"]}]}
    w = _rec({"name": "id", "type": "long"},
             {"name": "a", "type": {"type": "array", "items": inner}})
    rows = [{"id": i, "a": [{"e": "X", "u": 1}]} for i in range(5)]
    raw = _file(w, rows + [{"id": 5, "a": [{"e": "X", "u": 1}, bad]}])
    rinner = {"type": "record", "name": "In", "fields": [
        {"name": "e", "type": renum}, {"name": "u", "type": runion}]}
    r = _rec({"name": "id", "type": "long"},
             {"name": "a", "type": {"type": "array", "items": rinner}})
    field = "a[].e" if met.endswith("'Z'") else "a[].u"
    with pytest.raises(jetliner.DecodeError) as info:
        if filtered:
            jetliner.scan_avro(raw, reader_schema=r).filter(pl.col("id") == 5).collect()
        else:
            jetliner.read_avro(raw, reader_schema=r)
    assert info.value.message.endswith(f"; field {field!r}, {met}"), info.value.message
    # (filtered, only the row that passes is read past `id`: the rows before it are
    # not an error, as documented for late materialisation)
    assert info.value.record_index == (5 if filtered else record)


UNIONS: list[tuple[Any, Any, list[Any]]] = [
    (["null", "int"], ["null", "long"], [None, 3]),
    (["int", "null"], ["null", "long", "string"], [None, 3]),
    (["int", "string"], ["string", "long"], [5, "x"]),
    (["int", "long"], "long", [5, 2**40]),
    ("int", ["null", "string", "long"], [1, 2]),
    ("int", ["null", "long"], [1, 2]),
    ("null", ["null", "long"], [None]),
    (["null", "int", "string"], ["null", "double", "bytes", "boolean"], [None, 2, "é"]),
    (["null", "int", "long"], ["null", "double"], [None, 2, 2**50]),
]


def test_a_union_branch_of_the_same_type_comes_before_a_promotion() -> None:
    # as the Apache implementations choose (fastavro would read the bytes as the string)
    w = _rec({"name": "u", "type": ["string", "bytes"]})
    r = _rec({"name": "u", "type": ["string", "bytes", "null"]})
    raw = _file(w, [{"u": b"\x80"}, {"u": "s"}])
    df = jetliner.read_avro(raw, reader_schema=r)
    assert df["u"].to_list() == [{"string": None, "bytes": b"\x80"},
                                 {"string": "s", "bytes": None}]
    from avro.datafile import DataFileReader
    from avro.io import DatumReader
    from avro.schema import parse

    theirs = list(DataFileReader(io.BytesIO(raw), DatumReader(
        readers_schema=parse(json.dumps(r)))))
    assert [t["u"] for t in theirs] == [b"\x80", "s"]


@pytest.mark.parametrize(("wt", "rt", "vals"), UNIONS, ids=lambda v: json.dumps(v)[:25])
def test_unions_resolve_branch_by_branch(wt: Any, rt: Any, vals: list[Any]) -> None:
    raw = _file(_rec({"name": "u", "type": wt}), [{"u": v} for v in vals])
    r = _rec({"name": "u", "type": rt})
    df = jetliner.read_avro(raw, reader_schema=r)
    assert df.schema == jetliner.read_avro(_file(r, [])).schema
    for ours, t in zip(df["u"].to_list(), _theirs(raw, r), strict=True):
        if isinstance(ours, dict):  # a struct of the reader's branches
            ours = next((v for v in ours.values() if v is not None), None)
        expected = t["u"]
        assert ours == (expected.encode() if isinstance(expected, str) and isinstance(ours, bytes)
                       else expected)


def test_a_writer_branch_the_reader_cannot_read_fails_only_when_met() -> None:
    w = _rec({"name": "u", "type": ["int", "string"]})
    r = _rec({"name": "u", "type": ["null", "long"]})
    assert jetliner.read_avro(_file(w, [{"u": 1}]), reader_schema=r)["u"].to_list() == [1]
    with pytest.raises(jetliner.DecodeError, match="union branch") as info:
        jetliner.read_avro(_file(w, [{"u": 1}, {"u": "x"}]), reader_schema=r)
    assert info.value.variant == "SchemaResolution"
    assert info.value.message.endswith("; field 'u', the writer's branch 'string'")


REJECTIONS: list[tuple[Any, Any, str, str]] = [
    ({"name": "a", "type": "long"}, {"name": "a", "type": "int"}, "a", "no promotion"),
    ({"name": "a", "type": "string"}, {"name": "a", "type": "int"}, "a", "no promotion"),
    ({"name": "a", "type": "int"}, {"name": "b", "type": "int"}, "b", "no 'default'"),
    ({"name": "a", "type": "int"}, {"name": "b", "type": "int", "default": "x"}, "b",
     "is not a value of int"),
    ({"name": "a", "type": {"type": "fixed", "name": "F", "size": 2}},
     {"name": "a", "type": {"type": "fixed", "name": "F", "size": 3}}, "a", "same size"),
    ({"name": "a", "type": {"type": "enum", "name": "E", "symbols": ["X"]}},
     {"name": "a", "type": {"type": "enum", "name": "G", "symbols": ["X"]}}, "a",
     "match by name"),
    ({"name": "a", "type": {"type": "array", "items": {"type": "record", "name": "I",
                                                       "fields": [{"name": "p",
                                                                   "type": "double"}]}}},
     {"name": "a", "type": {"type": "array", "items": {"type": "record", "name": "I",
                                                       "fields": [{"name": "p",
                                                                   "type": "float"}]}}},
     "a[].p", "no promotion"),
    ({"name": "a", "type": {"type": "map", "values": "string"}},
     {"name": "a", "type": {"type": "map", "values": {"type": "record", "name": "V",
                                                      "fields": [{"name": "q",
                                                                  "type": "int"}]}}},
     "a{}", "no promotion"),
    ({"name": "a", "type": "string"}, {"name": "a", "type": ["null", "int"]}, "a",
     "none does"),
    ({"name": "a", "type": ["string", "bytes"]}, {"name": "a", "type": "int"}, "a",
     "no branch"),
    ({"name": "a", "type": {"type": "int", "logicalType": "date"}},
     {"name": "a", "type": "long"}, "a", "logical type"),
    ({"name": "a", "type": {"type": "record", "name": "S", "fields": []}},
     {"name": "a", "type": {"type": "record", "name": "S", "fields": [
         {"name": "n", "type": "int"}]}}, "a.n", "no 'default'"),
]


@pytest.mark.parametrize(("wf", "rf", "path", "rule"), REJECTIONS,
                         ids=[r[3] + " " + r[2] for r in REJECTIONS])
def test_what_the_rules_reject_is_a_schema_error(tmp_path: Path, wf: dict[str, Any],
                                                 rf: dict[str, Any], path: str,
                                                 rule: str) -> None:
    f = tmp_path / "w.avro"
    f.write_bytes(_file(_rec(wf), []))
    with pytest.raises(jetliner.SchemaError, match=rule) as info:
        jetliner.scan_avro(f, reader_schema=_rec(rf)).collect()
    err = info.value
    assert err.path == str(f)
    assert repr(path) in err.message
    assert err.variant == "SchemaResolution"


def test_reader_schema_as_json_text_and_as_a_file(tmp_path: Path) -> None:
    w = _rec({"name": "a", "type": "int"})
    r = _rec({"name": "a", "type": "long"}, {"name": "b", "type": "string", "default": "x"})
    raw = _file(w, [{"a": 1}])
    avsc = tmp_path / "r.avsc"
    avsc.write_text(json.dumps(r))
    expected = pl.DataFrame({"a": [1], "b": ["x"]})
    for given in (r, json.dumps(r), avsc, str(avsc)):
        assert jetliner.read_avro(raw, reader_schema=given).equals(expected)


def test_reader_schema_refuses_contradictory_options() -> None:
    raw = _file(_rec({"name": "a", "type": "int"}), [])
    for opt in ({"union_by_name": True}, {"missing_columns": "insert"},
                {"extra_columns": "ignore"}):
        with pytest.raises(jetliner.ConfigurationError, match="reader_schema"):
            jetliner.read_avro(raw, reader_schema=_rec({"name": "a", "type": "int"}), **opt)
    with pytest.raises(jetliner.ConfigurationError, match="reader_schema"):
        jetliner.read_avro(raw, reader_schema=3)


def test_files_of_different_writer_schemas_read_through_one_reader_schema() -> None:
    a = _file(_rec({"name": "x", "type": "int"}), [{"x": 1}])
    b = _file(_rec({"name": "y", "type": "string"}, {"name": "x", "type": "long"}),
              [{"x": 2**40, "y": "s"}])
    r = _rec({"name": "x", "type": "long"}, {"name": "y", "type": "string", "default": "-"})
    df = jetliner.read_avro([a, b], reader_schema=r)
    assert df.to_dicts() == [{"x": 1, "y": "-"}, {"x": 2**40, "y": "s"}]
    lf = jetliner.scan_avro([a, b], reader_schema=r)
    assert lf.filter(pl.col("y") == "-").select("x").collect().to_series().to_list() == [1]
