"""Hive partitions and folder sources, checked against pl.scan_parquet over the same layout.

Each layout is written twice, with the same rows: as Avro (fastavro) and as Parquet
(Polars), in two folders of the same shape.  What jetliner reads from the Avro folder
must equal what ``pl.scan_parquet`` reads from the Parquet one, with the same options
and the same query: the semantics are Polars' own, not our reading of its documents.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import write_avro
from polars.testing import assert_frame_equal

import jetliner
from jetliner.sources import LocalSource

SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "x", "type": "long"}, {"name": "s", "type": "string"}]}
POLARS = {"x": pl.Int64, "s": pl.String}

Layout = list[tuple[str, list[dict[str, Any]]]]  # (folder below the root, rows)

DAYS: Layout = [
    ("year=2024/month=01/day=21", [{"x": 1, "s": "a"}, {"x": 2, "s": "b"}]),
    ("year=2024/month=01/day=22", [{"x": 3, "s": "c"}, {"x": 4, "s": "d"}]),
    ("year=2024/month=02/day=01", [{"x": 5, "s": "e"}]),
    ("year=2024/month=02/day=22", [{"x": 6, "s": "f"}, {"x": 7, "s": "g"}]),
]


def write_both(root: Path, layout: Layout, schema: Any = SCHEMA,
               polars_schema: Any = POLARS) -> tuple[Path, Path]:
    """Write each folder's rows as ``<root>/avro/<folder>/part.avro`` and ``.../pq/...``."""
    for folder, rows in layout:
        for kind in ("avro", "pq"):
            (root / kind / folder).mkdir(parents=True, exist_ok=True)
        (root / "avro" / folder / "part.avro").write_bytes(write_avro(schema, rows))
        pl.DataFrame(rows, schema=polars_schema).write_parquet(root / "pq" / folder /
                                                               "part.parquet")
    return root / "avro", root / "pq"


def same(query: Callable[[pl.LazyFrame], pl.LazyFrame], avro: Any, pq: Any,
         **options: Any) -> pl.DataFrame:
    """Assert that the query over scan_avro equals it over scan_parquet; return the result."""
    expected = query(pl.scan_parquet(pq, **options)).collect()
    for engine in ("in-memory", "streaming"):
        got = query(jetliner.scan_avro(avro, **options)).collect(engine=engine)
        assert_frame_equal(got, expected)
    return expected


def test_a_folder_reads_its_partitions_as_columns_like_polars(tmp_path: Path) -> None:
    avro, pq = write_both(tmp_path, DAYS)
    df = same(lambda lf: lf, avro, pq)
    assert df.columns == ["x", "s", "year", "month", "day"]  # partitions after the columns
    assert df.height == 7
    # read_avro, read_avro_schema and open see the same columns
    assert_frame_equal(jetliner.read_avro(avro), df)
    assert jetliner.read_avro_schema(avro) == df.schema
    with jetliner.open(avro) as reader:
        assert_frame_equal(pl.concat(list(reader)), df)
    with jetliner.MultiAvroReader(avro, columns=["day", "x"]) as multi:
        assert_frame_equal(pl.concat(list(multi)), df.select("day", "x"))
    with jetliner.AvroReader(avro / DAYS[0][0]) as one:  # one file's folder: no partitions
        assert next(one).columns == ["x", "s"]
    # a folder below the root: only the partitions below it
    same(lambda lf: lf, avro / "year=2024", pq / "year=2024")


@pytest.mark.parametrize("options", [
    {"row_index_name": "ri"},
    {"row_index_name": "ri", "row_index_offset": 10},
    {"include_file_paths": "fp"},
    {"row_index_name": "ri", "include_file_paths": "fp"},
])
@pytest.mark.parametrize("query", [
    lambda lf: lf,
    lambda lf: lf.filter(pl.col("day") == 22),
    lambda lf: lf.filter((pl.col("day") == 22) & (pl.col("x") > 3)),
    lambda lf: lf.filter(pl.col("month") == 2).select("x", "day"),
    lambda lf: lf.filter(pl.col("day") >= 22).head(1),
    lambda lf: lf.filter((pl.col("day") == 1) | (pl.col("x") == 2)),
])
def test_row_index_and_file_paths_with_partitions_like_polars(
        tmp_path: Path, options: dict[str, Any], query: Any) -> None:
    avro, pq = write_both(tmp_path, DAYS)
    if "include_file_paths" in options:  # the paths differ by folder and extension
        def norm(lf: pl.LazyFrame) -> pl.LazyFrame:
            out = query(lf)
            if "fp" not in out.collect_schema():
                return out
            return out.with_columns(pl.col("fp").str.replace(r"^.*/(avro|pq)/", "")
                                    .str.replace(r"\.(avro|parquet)$", ""))
        same(norm, avro, pq, **options)
    else:
        same(query, avro, pq, **options)


def test_a_filter_on_the_file_path_column_like_polars(tmp_path: Path) -> None:
    avro, pq = write_both(tmp_path, DAYS)
    for root in (avro, pq):
        expected_rows = 2
        df = (pl.scan_parquet(root, include_file_paths="fp") if root == pq
              else jetliner.scan_avro(root, include_file_paths="fp"))
        got = df.filter(pl.col("fp").str.contains("month=01/day=22")).collect()
        assert got["x"].to_list() == [3, 4] and got.height == expected_rows


VALUES = [
    ["1", "22"],                      # integers
    ["1", "2.5"],                     # integers and floats: floats
    ["1", "a"],                       # anything else: strings
    ["true", "false"],
    ["-5", "007"],
    ["inf", "2"],
    ["+5", "1"],
    ["9999999999999999999", "1"],     # past Int64
    ["2024-01-21", "2024-01-22"],     # dates
    ["2024-01-21", "x"],
    ["2024-01-21 10:00:00", "2024-01-21 11:30:00"],
    ["2024-01-21%2010%3A00%3A00", "2024-01-22%2000%3A00%3A00"],  # percent-encoded
    ["2024-01-21T10:00:00", "2024-01-21T11:00:00"],
    ["2024-01-21T10:00:00%2B01:00", "2024-01-21T12:00:00%2B01:00"],  # offsets: UTC
    ["a%2Fb", "c%20d"],
    ["__HIVE_DEFAULT_PARTITION__", "3"],  # null
    ["__HIVE_DEFAULT_PARTITION__", "__HIVE_DEFAULT_PARTITION__"],
    ["", "1"],                        # an empty value: null
]


@pytest.mark.parametrize("values", VALUES, ids=lambda v: "|".join(v))
@pytest.mark.parametrize("dates", [True, False])
def test_partition_values_are_typed_like_polars(tmp_path: Path, values: list[str],
                                                dates: bool) -> None:
    layout = [(f"k={v}", [{"x": i, "s": "r"}]) for i, v in enumerate(values)]
    avro, pq = write_both(tmp_path, layout)
    same(lambda lf: lf, avro, pq, try_parse_hive_dates=dates)


@pytest.mark.parametrize("hive_schema", [
    {"year": pl.Int16, "month": pl.String, "day": pl.Int8},
    {"day": pl.Int8, "month": pl.String, "year": pl.Int16},   # any order
    {"year": pl.Int16, "month": pl.String, "day": pl.Int8, "hour": pl.Int8},  # extra keys
    {"year": pl.Int32, "month": pl.Float64(), "day": pl.String},
])
def test_hive_schema_like_polars(tmp_path: Path, hive_schema: dict[str, Any]) -> None:
    avro, pq = write_both(tmp_path, DAYS)
    same(lambda lf: lf.filter(pl.col("day").cast(pl.Int64) == 22), avro, pq,
         hive_schema=hive_schema)


def test_a_partial_hive_schema_is_an_error_as_in_polars(tmp_path: Path) -> None:
    avro, pq = write_both(tmp_path, DAYS)
    with pytest.raises(pl.exceptions.SchemaFieldNotFoundError):
        pl.scan_parquet(pq, hive_schema={"day": pl.Int8}).collect()
    with pytest.raises(jetliner.SchemaError, match="hive_schema .* lacks") as info:
        jetliner.scan_avro(avro, hive_schema={"day": pl.Int8})
    assert "'year'" in str(info.value)


def test_a_value_not_of_its_hive_schema_type_is_a_typed_error(tmp_path: Path) -> None:
    avro, _ = write_both(tmp_path, DAYS)
    with pytest.raises(jetliner.SchemaError, match="'year'.*cannot be read as Boolean") as info:
        jetliner.read_avro(avro, hive_schema={"year": pl.Boolean, "month": pl.Int8,
                                              "day": pl.Int8})
    assert info.value.variant == "BadPartitionValue"


def test_temporal_hive_schema_types_are_strings_without_date_parsing(tmp_path: Path) -> None:
    layout = [("d=2024-01-21", [{"x": 1, "s": "a"}]), ("d=2024-01-22", [{"x": 2, "s": "b"}])]
    avro, pq = write_both(tmp_path, layout)
    for dates in (True, False):
        same(lambda lf: lf, avro, pq, hive_schema={"d": pl.Date}, try_parse_hive_dates=dates)


def test_a_partition_named_as_a_file_column_like_polars(tmp_path: Path) -> None:
    # the value comes from the path, in the file's column's place and type
    layout = [("x=5", [{"x": 1, "s": "a"}, {"x": 2, "s": "b"}]), ("x=6", [{"x": 3, "s": "c"}])]
    avro, pq = write_both(tmp_path, layout)
    same(lambda lf: lf, avro, pq)
    same(lambda lf: lf.filter(pl.col("x") == 6), avro, pq, row_index_name="i")
    layout = [("s=5", [{"x": 1, "s": "a"}])]  # a string column keeps its type
    avro, pq = write_both(tmp_path / "two", layout)
    same(lambda lf: lf, avro, pq, row_index_name="i")


@pytest.mark.parametrize("hive", [None, True, False])
def test_globs_and_lists_have_partitions_only_when_asked_like_polars(
        tmp_path: Path, hive: bool | None) -> None:
    avro, pq = write_both(tmp_path, DAYS)
    same(lambda lf: lf, str(avro / "**" / "*.avro"), str(pq / "**" / "*.parquet"),
         hive_partitioning=hive)
    avro_files = [str(avro / f / "part.avro") for f, _ in DAYS[:2]]
    pq_files = [str(pq / f / "part.parquet") for f, _ in DAYS[:2]]
    same(lambda lf: lf, avro_files, pq_files, hive_partitioning=hive)
    # a list of one folder is a folder
    same(lambda lf: lf, [str(avro)], [str(pq)], hive_partitioning=hive)


def test_files_with_other_partition_keys_are_a_typed_error(tmp_path: Path) -> None:
    for folder in ("a=1/b=2", "a=1"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "f.avro").write_bytes(write_avro(SCHEMA, [{"x": 1, "s": "a"}]))
    with pytest.raises(jetliner.SchemaError, match="must share their keys") as info:
        jetliner.scan_avro(tmp_path)
    assert info.value.variant == "PartitionMismatch"
    assert "a=1/f.avro" in str(info.value)
    # without partitions, the files read together
    assert jetliner.read_avro(tmp_path, hive_partitioning=False).height == 2


def test_the_same_keys_in_another_order_are_one_layout(tmp_path: Path) -> None:
    layout = [("a=1/b=2", [{"x": 1, "s": "a"}]), ("b=3/a=4", [{"x": 2, "s": "b"}])]
    avro, pq = write_both(tmp_path, layout)
    same(lambda lf: lf, avro, pq)


# ------------------------------------------------------------------- folders


def test_a_folder_skips_markers_and_side_files(tmp_path: Path) -> None:
    avro, _ = write_both(tmp_path, DAYS)
    junk = b"not avro at all"
    (avro / "_SUCCESS").write_bytes(b"")
    (avro / "year=2024" / "month=01" / "day=21" / ".part.avro.crc").write_bytes(junk)
    (avro / "_temporary" / "0").mkdir(parents=True)
    (avro / "_temporary" / "0" / "part.avro").write_bytes(junk)
    (avro / ".hidden").mkdir()
    (avro / ".hidden" / "part.avro").write_bytes(junk)
    (avro / "year=2024" / "month=01" / "day=22" / "empty.avro").write_bytes(b"")
    df = jetliner.read_avro(avro)
    assert df.height == 7 and df["x"].to_list() == list(range(1, 8))
    # hidden_file_prefix replaces the default prefixes: '.' alone reads _temporary/
    with pytest.raises(jetliner.ParseError) as info:
        jetliner.read_avro(avro, hidden_file_prefix=".")
    assert "_temporary" in str(info.value) and info.value.path.endswith("_temporary/0/part.avro")
    with pytest.raises(jetliner.ParseError, match="not an Avro object container file"):
        jetliner.read_avro(avro, hidden_file_prefix=[])
    # both prefixes given again: the default
    assert jetliner.read_avro(avro, hidden_file_prefix=["_", "."]).height == 7


def test_a_folder_reads_every_file_whatever_its_extension(tmp_path: Path) -> None:
    (tmp_path / "a.avro").write_bytes(write_avro(SCHEMA, [{"x": 1, "s": "a"}]))
    (tmp_path / "b.data").write_bytes(write_avro(SCHEMA, [{"x": 2, "s": "b"}]))
    assert jetliner.read_avro(tmp_path)["x"].to_list() == [1, 2]
    (tmp_path / "notes.txt").write_text("a side file")
    with pytest.raises(jetliner.ParseError) as info:
        jetliner.read_avro(tmp_path)
    assert info.value.path.endswith("notes.txt")


def test_a_glob_skips_hidden_names_only_when_told(tmp_path: Path) -> None:
    (tmp_path / "a.avro").write_bytes(write_avro(SCHEMA, [{"x": 1, "s": "a"}]))
    (tmp_path / "_b.avro").write_bytes(write_avro(SCHEMA, [{"x": 2, "s": "b"}]))
    pattern = str(tmp_path / "*.avro")
    assert jetliner.read_avro(pattern)["x"].to_list() == [2, 1]  # as Polars: glob reads all
    assert jetliner.read_avro(pattern, hidden_file_prefix="_")["x"].to_list() == [1]


@pytest.mark.parametrize(("option", "value"), [
    ("hive_partitioning", "yes"), ("hive_schema", {"day": "int"}), ("hive_schema", [1]),
    ("try_parse_hive_dates", 1), ("hidden_file_prefix", ""), ("hidden_file_prefix", [1]),
])
def test_bad_hive_options_are_typed_errors(tmp_path: Path, option: str, value: Any) -> None:
    with pytest.raises(jetliner.ConfigurationError, match=option):
        jetliner.scan_avro(tmp_path, **{option: value})


# ------------------------------------------------------------------- pruning


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the local files opened, in order."""
    paths: list[str] = []
    original = LocalSource.open

    def record(self: LocalSource, *args: Any, **kwargs: Any) -> Any:
        paths.append(self.path)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LocalSource, "open", record)
    return paths


@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
@pytest.mark.parametrize(("predicate", "folders"), [
    (pl.col("day") == 22, ["month=01/day=22", "month=02/day=22"]),
    ((pl.col("day") == 22) & (pl.col("x") > 3), ["month=01/day=22", "month=02/day=22"]),
    ((pl.col("x") > 3) & (pl.col("month") == 2) & (pl.col("day") < 10), ["month=02/day=01"]),
    (pl.col("day").is_in([1, 21]), ["month=01/day=21", "month=02/day=01"]),
    (pl.col("day") == 30, []),
    ((pl.col("day") == 22) | (pl.col("x") == 1),  # not prunable
     [f.removeprefix("year=2024/") for f, _ in DAYS]),
    (pl.col("fp").str.contains("day=21"), ["month=01/day=21"]),
])
def test_pruned_files_are_never_opened(tmp_path: Path, opened: list[str], engine: Any,
                                       predicate: pl.Expr, folders: list[str]) -> None:
    avro, pq = write_both(tmp_path, DAYS)
    lf = jetliner.scan_avro(avro, include_file_paths="fp")
    opened.clear()  # the scan read the first header; count the query's opens
    got = lf.filter(predicate).drop("fp").collect(engine=engine)
    expected = pl.scan_parquet(pq, include_file_paths="fp").filter(predicate).drop("fp")
    assert_frame_equal(got, expected.collect())
    assert [p.split("year=2024/")[1].rsplit("/", 1)[0] for p in opened] == folders


def test_with_a_row_index_the_files_before_the_last_kept_are_read(
        tmp_path: Path, opened: list[str]) -> None:
    avro, pq = write_both(tmp_path, DAYS)
    lf = jetliner.scan_avro(avro, row_index_name="ri")
    opened.clear()
    got = lf.filter(pl.col("day") == 21).collect()
    expected = pl.scan_parquet(pq, row_index_name="ri").filter(pl.col("day") == 21).collect()
    assert_frame_equal(got, expected)
    assert len(opened) == 1  # the first file: nothing after it is needed
    opened.clear()
    got = lf.filter(pl.col("month") == 2).collect()
    expected = pl.scan_parquet(pq, row_index_name="ri").filter(pl.col("month") == 2).collect()
    assert_frame_equal(got, expected)
    assert len(opened) == 4  # the row index counts the rows of the files before


UNION_V1 = {"type": "record", "name": "R", "fields": [{"name": "x", "type": "long"}]}
UNION_V2 = {"type": "record", "name": "R", "fields": [
    {"name": "x", "type": "long"}, {"name": "y", "type": ["null", "string"], "default": None}]}


@pytest.mark.parametrize("options", [{"union_by_name": True}, {"missing_columns": "insert"}])
def test_pruning_keeps_the_scans_columns(tmp_path: Path, opened: list[str],
                                         options: dict[str, Any]) -> None:
    # the first file has y, the day kept lacks it: the columns stay the scan's
    first = (UNION_V2, [{"x": 1, "y": "a"}])
    later = (UNION_V1, [{"x": 2}])
    for folder, (schema, rows) in (("day=1", first), ("day=2", later)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "f.avro").write_bytes(write_avro(schema, rows))
    lf = jetliner.scan_avro(tmp_path, **options)
    opened.clear()
    got = lf.filter(pl.col("day") == 2).collect()
    assert_frame_equal(got, pl.DataFrame({"x": [2], "y": [None], "day": [2]},
                                         schema={"x": pl.Int64, "y": pl.String,
                                                 "day": pl.Int64}))
    assert len(opened) == 1


@pytest.mark.parametrize("late", [True, False])
@pytest.mark.parametrize(("predicate", "can_be_late"), [
    (pl.col("x") > 3, True),                               # the files' columns
    ((pl.col("x") > 3) & (pl.col("day") == 22), True),     # pruned, then late on x
    ((pl.col("x") > 5) | (pl.col("day") == 21), False),    # a partition in the rows' filter
])
def test_filters_decoded_late_with_partitions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              late: bool, predicate: pl.Expr,
                                              can_be_late: bool) -> None:
    from jetliner import readers

    monkeypatch.setattr(readers, "LATE_BELOW", 2.0 if late else -1.0)
    calls: list[int] = []
    real = readers.FileJob._decode_late

    def counting(self: Any, *args: Any) -> Any:
        calls.append(1)
        return real(self, *args)

    monkeypatch.setattr(readers.FileJob, "_decode_late", counting)
    avro, pq = write_both(tmp_path, DAYS)
    same(lambda lf: lf.filter(predicate), avro, pq)
    same(lambda lf: lf.filter(predicate).select("s", "month"), avro, pq)
    # late only where the rows' filter names the files' columns alone
    assert bool(calls) == (late and can_be_late)


def test_a_reader_schema_reads_partitioned_files_with_their_partitions(
        tmp_path: Path, opened: list[str]) -> None:
    """Files of two writer schemas under Hive folders, read through one reader schema:
    the reader's columns (a default where a file lacks one, a promotion), then the
    partitions, as Polars reads the same rows from Parquet; filters on partitions prune,
    filters on columns may be decoded late."""
    old = {**SCHEMA, "fields": [{"name": "x", "type": "int"}, SCHEMA["fields"][1]]}
    new = {**SCHEMA, "fields": [*SCHEMA["fields"], {"name": "n", "type": "int"}]}
    for i, (folder, rows) in enumerate(DAYS):
        (tmp_path / "avro" / folder).mkdir(parents=True)
        (tmp_path / "pq" / folder).mkdir(parents=True)
        schema = old if i % 2 == 0 else new
        recs = rows if i % 2 == 0 else [{**r, "n": r["x"] * 10} for r in rows]
        (tmp_path / "avro" / folder / "part.avro").write_bytes(write_avro(schema, recs))
        pl.DataFrame([{**r, "n": r["x"] * 10 if i % 2 else 7} for r in rows],
                     schema={**POLARS, "n": pl.Int32}).write_parquet(
            tmp_path / "pq" / folder / "part.parquet")
    reader = {**SCHEMA, "fields": [*SCHEMA["fields"],
                                   {"name": "n", "type": "int", "default": 7}]}
    avro, pq = tmp_path / "avro", tmp_path / "pq"
    for query in (lambda lf: lf,
                  lambda lf: lf.filter(pl.col("month") == 2),
                  lambda lf: lf.filter(pl.col("x") > 3).select("n", "day", "s"),
                  lambda lf: lf.filter((pl.col("n") == 7) & (pl.col("day") > 1))):
        expected = query(pl.scan_parquet(pq)).collect()
        for engine in ("in-memory", "streaming"):
            got = query(jetliner.scan_avro(avro, reader_schema=reader)).collect(engine=engine)
            assert_frame_equal(got, expected)
    lf = jetliner.scan_avro(avro, reader_schema=reader)
    opened.clear()  # the scan read the first header; count the query's opens
    assert lf.filter(pl.col("month") == 2).collect().height == 3
    assert [p.split("year=2024/")[1].rsplit("/", 1)[0] for p in opened] == [
        "month=02/day=01", "month=02/day=22"]
    assert jetliner.read_avro_schema(avro, reader_schema=reader) == pl.Schema(
        {"x": pl.Int64, "s": pl.String, "n": pl.Int32, "year": pl.Int64, "month": pl.Int64,
         "day": pl.Int64})
