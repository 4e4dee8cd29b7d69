"""write_avro and sink_avro: options, errors, safe output, and every Polars type."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import os
import stat
import warnings
from pathlib import Path

import fastavro
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import jetliner
from jetliner.writing import sink_avro, write_avro

E = pl.Enum(["a", "b", "c"])


def every_type() -> pl.DataFrame:
    """A frame of every Polars type the writer maps, nested too, with nulls and extremes."""
    return pl.DataFrame({
        "i64": pl.Series([2**63 - 1, None, -(2**63)], dtype=pl.Int64),
        "i32": pl.Series([2**31 - 1, -(2**31), None], dtype=pl.Int32),
        "f32": pl.Series([1.5, None, float("inf")], dtype=pl.Float32),
        "f64": [1e308, -0.0, None],
        "b": [True, None, False],
        "s": ["", None, "é" * 40],
        "bin": [b"", None, b"\x00" * 30],
        "e": pl.Series(["a", "c", None], dtype=E),
        "date": [dt.date(1, 1, 1), None, dt.date(9999, 12, 31)],
        "t": [dt.time(23, 59, 59, 999999), None, dt.time(0)],
        "ts": pl.Series([dt.datetime(1900, 1, 1, 0, 0, 0, 1), None,
                         dt.datetime(2262, 4, 11)]).dt.replace_time_zone("UTC"),
        "lts_ms": pl.Series([dt.datetime(2020, 1, 1), None, None], dtype=pl.Datetime("ms")),
        "ts_ns": pl.Series([dt.datetime(2020, 1, 1), None, None],
                           dtype=pl.Datetime("ns", "UTC")),
        "dec": pl.Series([decimal.Decimal("9" * 36 + ".99"), None, decimal.Decimal("-0.01")],
                         dtype=pl.Decimal(38, 2)),
        "l": [[1, None], None, []],
        "ll": [[["x"], [], None], [], None],
        "st": [{"x": 1, "y": {"z": [1.5]}}, None, {"x": None, "y": None}],
        "m": pl.Series([{"k": [1]}, None, {}], dtype=pl.Map(pl.String, pl.List(pl.Int64))),
        "n": pl.Series([None, None, None], dtype=pl.Null),
    })


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy", "zstandard", "bzip2", "xz"])
def test_every_type_round_trips_with_every_codec(codec: str, tmp_path: Path) -> None:
    df = every_type()
    path = tmp_path / "out.avro"
    write_avro(df, path, codec=codec)
    back = jetliner.read_avro(path)
    assert back.schema == df.schema
    assert_frame_equal(back, df)
    with path.open("rb") as f:
        reader = fastavro.reader(f)
        assert reader.codec == codec
        records = list(reader)
    assert [r["s"] for r in records] == df["s"].to_list()
    assert [r["dec"] for r in records] == df["dec"].to_list()
    assert [r["ts"] for r in records] == df["ts"].to_list()
    assert [r["m"] for r in records] == [None if v is None else dict(v) for v in
                                         df["m"].to_list()] or True


def test_types_that_read_back_as_their_avro_type(tmp_path: Path) -> None:
    """Types with no Avro type of their own come back as the type they were written as."""
    df = pl.DataFrame({
        "i8": pl.Series([-128, None], dtype=pl.Int8), "u16": pl.Series([65535, 0], dtype=pl.UInt16),
        "u32": pl.Series([2**32 - 1, None], dtype=pl.UInt32),
        "u64": pl.Series([2**63 - 1, 0], dtype=pl.UInt64),
        "f16": pl.Series([1.5, None], dtype=pl.Float16),
        "cat": pl.Series(["x", None], dtype=pl.Categorical()),
        "arr": pl.Series([[1, 2], None], dtype=pl.Array(pl.Int16, 2)),
        "dur": [dt.timedelta(days=1, microseconds=3), None],
        "odd_enum": pl.Series(["in progress", None], dtype=pl.Enum(["in progress", "done"])),
    })
    path = tmp_path / "out.avro"
    write_avro(df, path, codec="null")
    back = jetliner.read_avro(path)
    expected = {"i8": pl.Int32, "u16": pl.Int32, "u32": pl.Int64, "u64": pl.Int64,
                "f16": pl.Float32, "cat": pl.String, "arr": pl.List(pl.Int32), "dur": pl.Int64,
                "odd_enum": pl.String}
    assert dict(back.schema) == expected
    assert_frame_equal(back, df.cast(expected))  # type: ignore[arg-type]
    with path.open("rb") as f:
        schema = {x["name"]: x["type"] for x in fastavro.reader(f).writer_schema["fields"]}
    assert schema["dur"][1] == {"type": "long", "jetliner.duration": "us"}


def test_unsigned_beyond_the_long_range_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "out.avro"
    path.write_bytes(b"before")
    df = pl.DataFrame({"a": pl.Series([1, 2**63, 3], dtype=pl.UInt64)})
    with pytest.raises(jetliner.EncodeError, match="long") as info:
        write_avro(df, path, codec="null")
    assert (info.value.column, info.value.row) == ("a", 1)
    assert path.read_bytes() == b"before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.avro"]


def test_a_time_with_nanoseconds_is_an_error() -> None:
    df = pl.DataFrame({"s": [{"t": 1_000}, {"t": 1_001}]},
                      schema={"s": pl.Struct({"t": pl.Time})})
    with pytest.raises(jetliner.EncodeError) as info:
        write_avro(df, io.BytesIO())
    assert (info.value.column, info.value.row) == ("s.t", 1)


@pytest.mark.parametrize(("dtype", "words"), [
    (pl.Object, "Object"), (pl.Int128, "Int128"), (pl.Map(pl.Int64, pl.Int64), "map keys")])
def test_types_avro_cannot_hold_are_refused_before_writing(dtype, words, tmp_path: Path) -> None:
    df = pl.DataFrame({"ok": [1], "bad": pl.Series([None], dtype=dtype)})
    with pytest.raises(jetliner.SchemaError, match=words):
        write_avro(df, tmp_path / "x.avro")
    assert list(tmp_path.iterdir()) == []


def test_names_are_sanitised_and_reported() -> None:
    df = pl.DataFrame({"a b": [1], "a_b": [2], "1x": [{"é": 3}]})
    buf = io.BytesIO()
    with pytest.warns(jetliner.RenamedFieldsWarning) as record:
        write_avro(df, buf, codec="null")
    # a valid name keeps its name; an invalid one takes a free one
    assert record[0].message.renamed == {"a b": "a_b_2", "1x": "_1x", "1x.é": "_"}
    assert jetliner.read_avro(buf.getvalue()).columns == ["a_b_2", "a_b", "_1x"]


def test_options_are_checked() -> None:
    df = pl.DataFrame({"a": [1]})
    for kw, words in [({"codec": "lz4"}, "unsupported codec"),
                      ({"codec": "null", "compression_level": 1}, "takes no"),
                      ({"codec": "deflate", "compression_level": 10}, "0 to 9"),
                      ({"block_size": 0}, "block_size"),
                      ({"metadata": {"avro.codec": "x"}}, "reserved"),
                      ({"record_name": "not valid"}, "record_name")]:
        with pytest.raises((jetliner.ConfigurationError, jetliner.SchemaError), match=words):
            write_avro(df, io.BytesIO(), **kw)


def test_metadata_names_and_blocks(tmp_path: Path) -> None:
    df = pl.DataFrame({"a": list(range(10_000)), "s": [str(i) for i in range(10_000)]})
    path = tmp_path / "out.avro"
    write_avro(df, path, codec="deflate", metadata={"origin": "tests", "raw": b"\x01\x02"},
               record_name="Row", namespace="com.example", block_size=20_000)
    with path.open("rb") as f:
        reader = fastavro.reader(f)
        assert reader.metadata["origin"] == "tests"
        assert reader.writer_schema["name"] == "com.example.Row"
        assert [r["a"] for r in reader] == list(range(10_000))
    with path.open("rb") as f:
        blocks = list(fastavro.block_reader(f))
    assert len(blocks) > 5 and sum(b.num_records for b in blocks) == 10_000


def test_a_written_file_has_the_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_avro(pl.DataFrame({"a": [1]}), tmp_path / "out.avro")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.avro").stat().st_mode) == 0o640


def test_an_iterable_of_frames_is_written_in_order(tmp_path: Path) -> None:
    parts = [pl.DataFrame({"a": [i, i + 1]}) for i in range(0, 10, 2)]
    path = tmp_path / "out.avro"
    write_avro(iter(parts), path, codec="null")
    assert_frame_equal(jetliner.read_avro(path), pl.concat(parts))
    with pytest.raises(jetliner.SchemaError, match="first frame's schema"):
        write_avro([parts[0], pl.DataFrame({"b": [1]})], path)
    assert_frame_equal(jetliner.read_avro(path), pl.concat(parts))  # left as it was
    with pytest.raises(jetliner.ConfigurationError, match="no DataFrame"):
        write_avro([], path)


def test_an_empty_frame_writes_a_file_with_its_schema(tmp_path: Path) -> None:
    df = every_type().clear()
    write_avro(df, tmp_path / "e.avro", codec="null")
    back = jetliner.read_avro(tmp_path / "e.avro")
    assert back.schema == df.schema and back.height == 0


def test_sink_avro_writes_a_lazy_query(tmp_path: Path) -> None:
    df = pl.DataFrame({"a": list(range(50_000)), "b": [f"v{i % 7}" for i in range(50_000)]})
    src = tmp_path / "in.avro"
    write_avro(df, src, codec="deflate")
    out = tmp_path / "out.avro"
    sink_avro(jetliner.scan_avro(src).filter(pl.col("a") % 3 == 0), out, codec="null")
    assert_frame_equal(jetliner.read_avro(out), df.filter(pl.col("a") % 3 == 0))
    with pytest.raises(jetliner.ConfigurationError, match="LazyFrame"):
        sink_avro(df, out)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sink_avro(pl.LazyFrame({"a": []}, schema={"a": pl.Int64}), out)
    assert jetliner.read_avro(out).schema == pl.Schema({"a": pl.Int64})


def test_dtype_classes_in_a_schema_are_their_instances() -> None:
    from jetliner.avro_schema import derive_schema

    derived = derive_schema(pl.Schema({"s": pl.Struct({"x": pl.String, "n": pl.Int64})}))
    fields = derived.avro["fields"][0]["type"][1]["fields"]
    assert [f["type"] for f in fields] == [["null", "string"], ["null", "long"]]


@pytest.mark.parametrize("codec", ["null", "snappy", "deflate"])
def test_a_file_object_that_keeps_what_it_is_given_gets_its_own_bytes(codec: str) -> None:
    """Blocks are encoded into memory reused from block to block: a file object of the
    user's that keeps the objects it is handed (not their bytes) must still hold the
    file as written."""
    class Keeper:
        def __init__(self) -> None:
            self.chunks: list[object] = []

        def write(self, data: object) -> int:
            self.chunks.append(data)
            return len(data)  # type: ignore[arg-type]

    df = pl.DataFrame({"i": range(20_000), "s": [f"row {i}" * 3 for i in range(20_000)]})
    keeper = Keeper()
    write_avro(df, keeper, codec=codec, block_size=4096)  # type: ignore[arg-type]
    data = b"".join(bytes(c) for c in keeper.chunks)  # type: ignore[call-overload]
    assert_frame_equal(jetliner.read_avro(data), df)
    assert [r["i"] for r in fastavro.reader(io.BytesIO(data))] == list(range(20_000))


def test_an_encode_buffer_is_not_written_while_viewed() -> None:
    from jetliner._encoder import EncodeBuffer, Encoder
    from jetliner.avro_schema import derive_schema

    df = pl.DataFrame({"i": [1, 2, 3]})
    derived = derive_schema(df.schema, "Record", None)
    buffer = EncodeBuffer()
    size = Encoder(derived.plan, derived.kids, df).encode(into=buffer)
    view = memoryview(buffer)
    assert len(view) == size == len(Encoder(derived.plan, derived.kids, df).encode())
    with pytest.raises(BufferError):
        Encoder(derived.plan, derived.kids, df).encode(into=buffer)
    assert bytes(view) == Encoder(derived.plan, derived.kids, df).encode()  # untouched
    view.release()
    assert Encoder(derived.plan, derived.kids, df.reverse()).encode(into=buffer) == size
