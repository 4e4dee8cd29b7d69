"""Files whose schemas evolved, read together: missing_columns, extra_columns, union_by_name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import write_avro
from polars.testing import assert_frame_equal

import jetliner

OLD = {"type": "record", "name": "User", "fields": [
    {"name": "id", "type": "long"}, {"name": "name", "type": "string"}]}
NEW = {"type": "record", "name": "User", "fields": [
    {"name": "id", "type": "long"}, {"name": "name", "type": "string"},
    {"name": "email", "type": ["null", "string"], "default": None}]}


def write(path: Path, schema: Any, records: list[dict[str, Any]], **kw: Any) -> Path:
    path.write_bytes(write_avro(schema, records, **kw))
    return path


@pytest.fixture
def lake(tmp_path: Path) -> str:
    """The issue's example: p1 (id, name), then p2 (id, name, email); a glob over both."""
    write(tmp_path / "p1.avro", OLD, [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
    write(tmp_path / "p2.avro", NEW, [{"id": 3, "name": "c", "email": "c@x"},
                                      {"id": 4, "name": "d", "email": None}])
    return str(tmp_path / "p*.avro")


FIRST_SCHEMA = pl.Schema({"id": pl.Int64(), "name": pl.String()})
UNION = pl.DataFrame({"id": [1, 2, 3, 4], "name": ["a", "b", "c", "d"],
                      "email": [None, None, "c@x", None]})


@pytest.mark.parametrize(("options", "expected"), [
    ({}, "extra_columns='ignore'"),
    ({"missing_columns": "insert"}, "extra_columns='ignore'"),
    ({"extra_columns": "ignore"}, UNION.drop("email")),
    ({"missing_columns": "insert", "extra_columns": "ignore"}, UNION.drop("email")),
    ({"union_by_name": True}, UNION),
    ({"union_by_name": True, "missing_columns": "insert", "extra_columns": "ignore"}, UNION),
])
def test_the_issues_example_with_each_option(lake: str, options: dict[str, Any],
                                             expected: Any) -> None:
    if isinstance(expected, str):
        with pytest.raises(jetliner.SchemaError, match=expected) as info:
            jetliner.read_avro(lake, **options)
        text = str(info.value)
        assert "p1.avro" in text and "p2.avro" in text and "'email'" in text
        return
    assert_frame_equal(jetliner.read_avro(lake, **options), expected)
    assert jetliner.scan_avro(lake, **options).collect_schema() == expected.schema
    with jetliner.open(lake, **options) as reader:
        assert reader.polars_schema == expected.schema
        assert_frame_equal(pl.concat(list(reader)), expected)
    assert jetliner.read_avro_schema(lake, **options) == expected.schema


def test_a_later_file_missing_a_column(tmp_path: Path) -> None:
    write(tmp_path / "p1.avro", NEW, [{"id": 1, "name": "a", "email": "a@x"}])
    write(tmp_path / "p2.avro", OLD, [{"id": 2, "name": "b"}])
    glob = str(tmp_path / "p*.avro")
    with pytest.raises(jetliner.SchemaError, match="missing_columns='insert'") as info:
        jetliner.read_avro(glob)
    assert "'email'" in str(info.value) and "p1.avro" in str(info.value)
    df = jetliner.read_avro(glob, missing_columns="insert")
    assert df.to_dict(as_series=False) == {"id": [1, 2], "name": ["a", "b"],
                                           "email": ["a@x", None]}
    # extra_columns does not accept a missing column, nor the other way round
    with pytest.raises(jetliner.SchemaError):
        jetliner.read_avro(glob, extra_columns="ignore")


def test_a_type_that_differs_from_the_first_files_is_refused_without_union(
        tmp_path: Path) -> None:
    write(tmp_path / "p1.avro", OLD, [{"id": 1, "name": "a"}])
    narrower = {**OLD, "fields": [{"name": "id", "type": "int"}, OLD["fields"][1]]}
    write(tmp_path / "p2.avro", narrower, [{"id": 2, "name": "b"}])
    glob = str(tmp_path / "p*.avro")
    with pytest.raises(jetliner.SchemaError, match="union_by_name=True widens"):
        jetliner.read_avro(glob, missing_columns="insert", extra_columns="ignore")
    assert jetliner.read_avro(glob, union_by_name=True).schema == FIRST_SCHEMA


@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
@pytest.mark.parametrize("options", [{"union_by_name": True},
                                     {"missing_columns": "insert", "extra_columns": "ignore"}])
def test_scan_with_a_filter_and_a_select_matches_the_unoptimised_plan(
        tmp_path: Path, engine: str, options: dict[str, Any]) -> None:
    write(tmp_path / "p1.avro", NEW, [{"id": i, "name": f"n{i}", "email": f"{i}@x"}
                                      for i in range(100)], sync_interval=200)
    write(tmp_path / "p2.avro", OLD, [{"id": i, "name": f"n{i}"} for i in range(100, 200)],
          sync_interval=200)
    lf = jetliner.scan_avro(str(tmp_path / "p*.avro"), batch_size=16, **options)
    queries = [
        lf.filter(pl.col("id") % 7 == 0).select("email", "id"),
        lf.filter(pl.col("email").is_null()).select("name"),
        lf.select("email"),
        lf.filter(pl.col("name").str.ends_with("5")).head(12),
    ]
    for q in queries:
        got = q.collect(engine=engine)  # type: ignore[call-overload]
        assert_frame_equal(got, q.collect(optimizations=pl.QueryOptFlags.none()))
        assert got.schema == q.collect_schema()
    nulls = lf.filter(pl.col("email").is_null()).select("id").collect(engine=engine)  # type: ignore[call-overload]
    assert nulls["id"].to_list() == list(range(100, 200))


def test_a_later_file_decodes_only_the_requested_columns_it_has(lake: str) -> None:
    with jetliner.open(lake, columns=["email", "id"], union_by_name=True) as reader:
        df = pl.concat(list(reader))
        decoded = [list(job.plan.schema) for job in reader._jobs]
    assert decoded == [["id"], ["email", "id"]]
    assert df.to_dict(as_series=False) == {"email": [None, None, "c@x", None],
                                           "id": [1, 2, 3, 4]}
    # a file with none of the requested columns still yields its rows
    only = jetliner.read_avro(lake, columns=["email"], union_by_name=True)
    assert only["email"].to_list() == [None, None, "c@x", None]
    plan = jetliner.scan_avro(lake, union_by_name=True).select("email").explain()
    assert "PROJECT 1/3 COLUMNS" in plan


DEFAULTS = {"type": "record", "name": "User", "fields": [
    {"name": "id", "type": "long"},
    {"name": "email", "type": "string", "default": "none@x"},
    {"name": "active", "type": "boolean", "default": True},
    {"name": "visits", "type": "int", "default": 7},
    {"name": "score", "type": "double", "default": 1.5},
    {"name": "nick", "type": ["string", "null"], "default": "anon"},
    {"name": "gone", "type": ["null", "string"], "default": None},
    {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "BLUE"]},
     "default": "BLUE"},
    {"name": "tags", "type": {"type": "array", "items": "string"}, "default": ["x"]},
    {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}, "default": 5},
]}


def test_inserted_columns_take_the_first_files_avro_defaults(tmp_path: Path) -> None:
    full = {"id": 1, "email": "e", "active": False, "visits": 1, "score": 0.0, "nick": "n",
            "gone": "g", "color": "RED", "tags": ["t"], "at": 10}
    write(tmp_path / "p1.avro", DEFAULTS, [full])
    write(tmp_path / "p2.avro", {**DEFAULTS, "fields": DEFAULTS["fields"][:1]}, [{"id": 2}])
    glob = str(tmp_path / "p*.avro")
    for options in ({"missing_columns": "insert"}, {"union_by_name": True}):
        df = jetliner.read_avro(glob, **options)
        assert df.schema == jetliner.read_avro_schema(tmp_path / "p1.avro")
        second = df.row(1, named=True)
        # tags (an array) and at (a logical type) are not honoured: nulls
        assert second == {"id": 2, "email": "none@x", "active": True, "visits": 7,
                          "score": 1.5, "nick": "anon", "gone": None, "color": "BLUE",
                          "tags": None, "at": None}
        assert df.row(0, named=True)["color"] == "RED"


def test_union_takes_the_default_of_the_first_file_having_the_column(tmp_path: Path) -> None:
    write(tmp_path / "p1.avro", OLD, [{"id": 1, "name": "a"}])
    later = {**OLD, "fields": [*OLD["fields"], {"name": "n", "type": "int", "default": 3}]}
    write(tmp_path / "p2.avro", later, [{"id": 2, "name": "b", "n": 9}])
    df = jetliner.read_avro(str(tmp_path / "p*.avro"), union_by_name=True)
    assert df["n"].to_list() == [3, 9]


def _typed(types: dict[str, str]) -> dict[str, Any]:
    return {"type": "record", "name": "T",
            "fields": [{"name": n, "type": t} for n, t in types.items()]}


@pytest.mark.parametrize("narrow_first", [True, False])
def test_union_widens_by_avros_promotions(tmp_path: Path, narrow_first: bool) -> None:
    narrow = _typed({"i": "int", "f": "float", "l": "long"})
    wide = _typed({"i": "long", "f": "double", "l": "double"})
    files = [(narrow, {"i": 1, "f": 0.5, "l": 2**40}), (wide, {"i": 2**40, "f": 0.25, "l": 2.5})]
    if not narrow_first:
        files.reverse()
    paths = [write(tmp_path / f"p{k}.avro", s, [r]) for k, (s, r) in enumerate(files)]
    df = jetliner.read_avro(paths, union_by_name=True)
    assert df.schema == pl.Schema({"i": pl.Int64(), "f": pl.Float64(), "l": pl.Float64()})
    values = [{"i": 1, "f": 0.5, "l": float(2**40)}, {"i": 2**40, "f": 0.25, "l": 2.5}]
    assert df.to_dicts() == (values if narrow_first else values[::-1])
    lf = jetliner.scan_avro(paths, union_by_name=True)
    assert lf.collect_schema() == df.schema
    assert_frame_equal(lf.filter(pl.col("i") > 1).collect(),
                       df.filter(pl.col("i") > 1))


def test_union_of_string_and_bytes_is_binary(tmp_path: Path) -> None:
    a = write(tmp_path / "a.avro", _typed({"v": "string"}), [{"v": "hi"}])
    b = write(tmp_path / "b.avro", _typed({"v": "bytes"}), [{"v": b"\xff"}])
    df = jetliner.read_avro([a, b], union_by_name=True)
    assert df.schema == pl.Schema({"v": pl.Binary()})
    assert df["v"].to_list() == [b"hi", b"\xff"]


def test_an_impossible_widening_names_both_files_the_column_and_its_types(
        tmp_path: Path) -> None:
    a = write(tmp_path / "a.avro", _typed({"id": "long", "v": "string"}), [{"id": 1, "v": "x"}])
    b = write(tmp_path / "b.avro", _typed({"id": "long"}), [{"id": 2}])
    c = write(tmp_path / "c.avro", _typed({"v": "long"}), [{"v": 3}])
    for call in (jetliner.read_avro, jetliner.scan_avro, jetliner.open):
        with pytest.raises(jetliner.SchemaError, match="'v' is String in .* and Int64 in") as info:
            call([a, b, c], union_by_name=True)
        text = str(info.value)
        assert str(a) in text and str(c) in text and str(b) not in text


def test_union_keeps_the_file_order_given(tmp_path: Path) -> None:
    paths = [write(tmp_path / "a.avro", OLD, [{"id": 1, "name": "a"}]),
             write(tmp_path / "b.avro", NEW, [{"id": 2, "name": "b", "email": "b@x"}]),
             write(tmp_path / "c.avro", _typed({"id": "int", "extra": "int"}),
                   [{"id": 3, "extra": 30}])]
    order = [paths[2], paths[0], paths[1]]
    df = jetliner.read_avro(order, union_by_name=True, include_file_paths="path")
    # columns in first-seen order: c's, then a's, then b's
    assert df.columns == ["id", "extra", "name", "email", "path"]
    assert df["id"].to_list() == [3, 1, 2]
    assert df["path"].to_list() == [str(p) for p in order]
    assert df.schema["id"] == pl.Int64()


def test_row_index_file_paths_and_n_rows_across_files(lake: str, tmp_path: Path) -> None:
    options: dict[str, Any] = {"union_by_name": True, "row_index_name": "row",
                               "include_file_paths": "path", "row_index_offset": 10}
    df = jetliner.read_avro(lake, **options)
    assert df.columns == ["row", "id", "name", "email", "path"]
    assert df["row"].to_list() == [10, 11, 12, 13]
    assert df["path"].to_list() == [str(tmp_path / "p1.avro")] * 2 + [str(tmp_path / "p2.avro")] * 2
    head = jetliner.read_avro(lake, n_rows=3, **options)
    assert head["row"].to_list() == [10, 11, 12]
    assert head["email"].to_list() == [None, None, "c@x"]
    lf = jetliner.scan_avro(lake, **options)
    q = lf.filter(pl.col("row") >= 11).select("row", "email", "path").head(2)
    assert_frame_equal(q.collect(), q.collect(optimizations=pl.QueryOptFlags.none()))
    assert q.collect()["row"].to_list() == [11, 12]
    ignore = jetliner.read_avro(lake, extra_columns="ignore", n_rows=3, row_index_name="row")
    assert ignore.to_dict(as_series=False) == {"row": [0, 1, 2], "id": [1, 2, 3],
                                               "name": ["a", "b", "c"]}


def test_the_options_are_checked() -> None:
    with pytest.raises(jetliner.ConfigurationError, match="missing_columns must be"):
        jetliner.ReadOptions(missing_columns="null")
    with pytest.raises(jetliner.ConfigurationError, match="extra_columns must be"):
        jetliner.ReadOptions(extra_columns="insert")
    with pytest.raises(jetliner.ConfigurationError, match="union_by_name must be"):
        jetliner.ReadOptions(union_by_name="yes")  # type: ignore[arg-type]
