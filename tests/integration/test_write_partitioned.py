"""write_avro / sink_avro with partition_by: the Hive layout, read back by jetliner and
fastavro; many partitions over a stream; a failed write leaves no file."""

from __future__ import annotations

import datetime as dt
import decimal
import io
from pathlib import Path
from urllib.parse import unquote

import fastavro
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import jetliner
from jetliner import partitioned


def frame() -> pl.DataFrame:
    return pl.DataFrame({
        "id": list(range(12)),
        "region": ["eu/west", "eu/west", "us east", "us east", "100%", "a=b", "zürich",
                   None, "x", "x", "x", "x"],
        "day": [dt.date(2024, 1, 1 + i % 3) for i in range(12)],
        "flag": [i % 2 == 0 for i in range(12)],
        "at": [dt.datetime(2024, 5, 1, 12, 30, 15, 123456)] * 6 + [None] * 6,
        "score": [0.1 * i for i in range(12)],
    })


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def records(path: Path) -> list[dict]:
    with open(path, "rb") as f:
        return list(fastavro.reader(f))


@pytest.mark.parametrize("keys", [["region"], ["day", "flag"], ["at"], ["id"], ["score"]])
def test_partitions_read_back_equal(tmp_path: Path, keys: list[str]) -> None:
    df = frame()
    jetliner.write_avro(df, tmp_path / "out", partition_by=keys)
    written = files(tmp_path / "out")
    assert written
    groups = df.partition_by(keys, as_dict=True, maintain_order=True)
    assert len(written) == len(groups)
    for path in written:
        folders = path.relative_to(tmp_path / "out").parts[:-1]
        assert [f.split("=", 1)[0] for f in folders] == keys
        assert path.name == "part-00000.avro"
        # fastavro reads each file: the rows of one partition, keys included
        rows = pl.DataFrame(records(path), schema=df.schema, orient="row")
        assert rows.select(keys).unique().height == 1
    back = jetliner.scan_avro(tmp_path / "out").collect().select(df.columns).sort("id")
    assert_frame_equal(back, df)


def test_folder_names_are_the_values_as_text_percent_encoded(tmp_path: Path) -> None:
    df = frame()
    jetliner.write_avro(df, tmp_path / "out", partition_by="region")
    names = {p.parent.name for p in files(tmp_path / "out")}
    assert "region=eu%2Fwest" in names  # a slash does not make a folder
    assert "region=__HIVE_DEFAULT_PARTITION__" in names  # null
    values = {unquote(n.split("=", 1)[1]) for n in names}
    assert values == {"eu/west", "us east", "100%", "a=b", "zürich",
                      "__HIVE_DEFAULT_PARTITION__", "x"}


def test_without_keys_the_files_hold_only_the_other_columns(tmp_path: Path) -> None:
    df = frame().select("id", "region", "score")
    jetliner.write_avro(df, tmp_path / "out", partition_by="region", include_key=False)
    for path in files(tmp_path / "out"):
        with open(path, "rb") as f:
            fields = [x["name"] for x in fastavro.reader(f).writer_schema["fields"]]
        assert fields == ["id", "score"]
    back = jetliner.scan_avro(tmp_path / "out", hive_schema={"region": pl.String}).collect()
    assert_frame_equal(back.select(df.columns).sort("id"), df)


def test_a_stream_with_many_partitions_closes_the_oldest(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(partitioned, "MAX_OPEN_FILES", 2)
    batches = [pl.DataFrame({"k": [i % 5] * 3, "v": [i * 10 + j for j in range(3)]})
               for i in range(10)]
    jetliner.write_avro(batches, tmp_path / "out", partition_by="k")
    written = files(tmp_path / "out")
    assert {p.parent.name for p in written} == {f"k={i}" for i in range(5)}
    # with two open files, partitions 0-4 in turn: each batch starts a new file
    assert {p.name for p in written} == {"part-00000.avro", "part-00001.avro"}
    expected = pl.concat(batches)
    back = jetliner.scan_avro(tmp_path / "out").collect().select("k", "v").sort("v")
    assert_frame_equal(back, expected.sort("v"), check_dtypes=False)
    for path in written:  # every file is a whole container file
        assert records(path)


def test_sink_avro_partitions(tmp_path: Path) -> None:
    df = frame()
    jetliner.sink_avro(df.lazy().filter(pl.col("id") > 1), tmp_path / "out", partition_by="day",
                       codec="deflate")
    back = jetliner.scan_avro(tmp_path / "out").collect().select(df.columns).sort("id")
    assert_frame_equal(back, df.filter(pl.col("id") > 1))


def test_a_failed_write_leaves_no_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(partitioned, "MAX_OPEN_FILES", 1)  # files completed before the error
    good = pl.DataFrame({"k": [1, 2, 3], "u": [1, 2, 3]}, schema={"k": pl.Int64, "u": pl.UInt64})
    bad = pl.DataFrame({"k": [4], "u": [2**64 - 1]}, schema=good.schema)
    with pytest.raises(jetliner.EncodeError):
        jetliner.write_avro([good, bad], tmp_path / "out", partition_by="k")
    assert files(tmp_path / "out") == []


def test_bad_partition_options_are_typed_errors(tmp_path: Path) -> None:
    df = frame()
    with pytest.raises(jetliner.SchemaError, match="not a column"):
        jetliner.write_avro(df, tmp_path / "a", partition_by="nope")
    nested = df.with_columns(pl.struct("id", "flag").alias("s"))
    with pytest.raises(jetliner.SchemaError, match="no text form"):
        jetliner.write_avro(nested, tmp_path / "b", partition_by="s")
    with pytest.raises(jetliner.ConfigurationError, match="file object"):
        jetliner.write_avro(df, io.BytesIO(), partition_by="id")
    with pytest.raises(jetliner.ConfigurationError, match="append"):
        jetliner.write_avro(df, tmp_path / "c", partition_by="id", mode="append")
    with pytest.raises(jetliner.ConfigurationError, match="distinct column names"):
        jetliner.write_avro(df, tmp_path / "d", partition_by=["id", "id"])
    with pytest.raises(jetliner.ConfigurationError, match="no column"):
        jetliner.write_avro(df.select("id"), tmp_path / "e", partition_by="id",
                            include_key=False)
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(jetliner.ConfigurationError, match="is a file"):
        jetliner.write_avro(df, tmp_path / "f", partition_by="id")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("column", [
    pl.Series([dt.time(1, 2, 3), dt.time(1, 2, 3, 789), None, dt.time(23, 59, 59, 999999)]),
    pl.Series([dt.datetime(2024, 1, 1, 4, 5, 6, 789)] * 2 + [None, dt.datetime(1900, 1, 1)],
              dtype=pl.Datetime("ns")),
    pl.Series([dt.datetime(2024, 1, 1, 12)] * 4, dtype=pl.Datetime("us", "UTC")),
    pl.Series([decimal.Decimal("1.50"), decimal.Decimal("-2.25"), None,
               decimal.Decimal("0.01")], dtype=pl.Decimal(10, 2)),
    pl.Series(["a", "b", "a", None], dtype=pl.Enum(["a", "b"])),
    pl.Series(["a", "b", "a", None], dtype=pl.Categorical),
    pl.Series([0.1, 1e30, None, float("inf")], dtype=pl.Float32),
    pl.Series([1 / 3, -0.0, 5e-324, float("nan")], dtype=pl.Float64),
    pl.Series([1, 2, None, 255], dtype=pl.UInt8),
    pl.Series([-(2**63), 2**63 - 1, None, 0], dtype=pl.Int64),
], ids=lambda s: str(s.dtype))
def test_every_key_type_reads_back_as_written(tmp_path: Path, column: pl.Series) -> None:
    """A key's values each get a folder of their own and read back as a file of the same
    frame does (every value distinct: no two share a folder)."""
    df = pl.DataFrame({"v": range(4), "k": column})
    jetliner.write_avro(df, tmp_path / "out", partition_by="k")
    assert len(files(tmp_path / "out")) == df["k"].n_unique()
    back = jetliner.scan_avro(tmp_path / "out").collect().sort("v").select(df.columns)
    jetliner.write_avro(df, tmp_path / "one.avro")
    assert_frame_equal(back, jetliner.read_avro(tmp_path / "one.avro"))


def test_a_duration_key_is_refused(tmp_path: Path) -> None:
    df = pl.DataFrame({"v": [1], "d": [dt.timedelta(hours=1)]})
    with pytest.raises(jetliner.SchemaError, match="no text form"):
        jetliner.write_avro(df, tmp_path / "out", partition_by="d")
