"""write_avro / sink_avro with mode="append": blocks added to an existing local file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import fastavro
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import jetliner
from jetliner.avro_schema import derive_schema
from jetliner.exceptions import ConfigurationError, EncodeError, ParseError, SchemaError
from jetliner.writing import sink_avro, write_avro

SCHEMA = pl.Schema({"id": pl.Int64(), "name": pl.String(), "tags": pl.List(pl.String()),
                    "point": pl.Struct({"x": pl.Float64(), "y": pl.Int32()})})
CODECS = ["null", "deflate", "snappy", "zstandard", "bzip2", "xz"]


def part(start: int, n: int) -> pl.DataFrame:
    """Rows `start` .. `start + n`, with strings, nulls and a nested column."""
    ids = list(range(start, start + n))
    return pl.DataFrame({
        "id": ids,
        "name": [None if i % 7 == 3 else f"row {i}" for i in ids],
        "tags": [[f"t{i}"] * (i % 3) for i in ids],
        "point": [{"x": float(i), "y": None} for i in ids],
    }, schema=SCHEMA)


def fastavro_rows(path: Path) -> list[dict]:
    with path.open("rb") as f:
        return list(fastavro.reader(f))


def header(path: Path) -> tuple[dict, bytes]:
    with path.open("rb") as f:
        r = fastavro.reader(f)
        return r.metadata, r._header["sync"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("codec", CODECS)
def test_appended_frames_read_back_equal(codec: str, tmp_path: Path) -> None:
    path = tmp_path / "log.avro"
    parts = [part(0, 50), part(50, 3000), part(3050, 1)]
    write_avro(parts[0], path, codec=codec)
    meta, sync = header(path)
    write_avro(parts[1], path, mode="append", block_size=4096)  # several blocks
    sink_avro(parts[2].lazy(), path, mode="append")
    expected = pl.concat(parts)
    assert_frame_equal(jetliner.read_avro(path), expected)
    assert fastavro_rows(path) == expected.to_dicts()
    # the header is the file's own: same codec, same sync marker, same schema
    meta2, sync2 = header(path)
    assert (meta2, sync2) == (meta, sync)
    assert meta2["avro.codec"] == codec


def test_a_missing_file_is_created_like_open_mode_a(tmp_path: Path) -> None:
    path = tmp_path / "new.avro"
    write_avro(part(0, 5), path, mode="append", codec="deflate", metadata={"k": "v"})
    write_avro([part(5, 5), part(10, 5)], path, mode="append")
    meta, _ = header(path)
    assert meta["avro.codec"] == "deflate"
    assert meta["k"] == "v"
    assert fastavro_rows(path) == pl.concat([part(0, 5), part(5, 10)]).to_dicts()


def test_an_empty_file_is_written_as_new(tmp_path: Path) -> None:
    path = tmp_path / "empty.avro"
    path.write_bytes(b"")
    write_avro(part(0, 4), path, mode="append")
    assert fastavro_rows(path) == part(0, 4).to_dicts()


def test_appending_a_frame_of_no_rows_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "log.avro"
    write_avro(part(0, 4), path)
    before = path.read_bytes()
    write_avro(part(0, 0), path, mode="append")
    assert path.read_bytes() == before


@pytest.mark.parametrize("other", [
    pl.DataFrame({"id": [1.5], "name": ["x"], "tags": [["a"]], "point": [{"x": 1.0, "y": None}]}),
    pl.DataFrame({"id": [1]}),
    pl.DataFrame({"name": ["x"], "id": [1], "tags": [["a"]], "point": [{"x": 1.0, "y": None}]}),
    pl.DataFrame({"id": [1], "name": ["x"], "tags": [[1]], "point": [{"x": 1.0, "y": None}]}),
], ids=["type", "fewer-columns", "order", "nested"])
def test_a_schema_mismatch_leaves_the_file_byte_identical(other: pl.DataFrame,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "log.avro"
    write_avro(part(0, 20), path)
    before = path.read_bytes()
    with pytest.raises(SchemaError) as info:
        write_avro(other, path, mode="append")
    assert path.read_bytes() == before
    assert info.value.path == str(path)
    assert "mode='write'" in info.value.message


def test_the_schema_error_names_the_first_differing_field(tmp_path: Path) -> None:
    path = tmp_path / "log.avro"
    write_avro(part(0, 2), path)
    bad = part(0, 2).with_columns(tags=pl.Series([[1], []], dtype=pl.List(pl.Int64)),
                                  point=pl.lit(None, dtype=pl.Struct({"x": pl.Int8()})))
    # tags comes before point: the first difference is named
    with pytest.raises(SchemaError, match=r"field 'tags\[\]': \"string\" in the file, "
                                          r"\"long\" from the frame"):
        write_avro(bad, path, mode="append")
    with pytest.raises(SchemaError, match=r"field 'point.x': \"double\" in the file"):
        write_avro(bad.drop("tags").insert_column(2, part(0, 2)["tags"]), path, mode="append")
    renamed = part(0, 2).rename({"name": "label"})
    with pytest.raises(SchemaError, match=r"field 1 of the record is 'name' in the file, "
                                          r"'label' in the frame"):
        write_avro(renamed, path, mode="append")
    with pytest.raises(SchemaError, match=r"record name 'Record' in the file, 'Log'"):
        write_avro(part(0, 2), path, mode="append", record_name="Log")


def test_an_encode_error_mid_append_leaves_the_file_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "u.avro"
    write_avro(pl.DataFrame({"u": pl.Series([1, 2], dtype=pl.UInt64)}), path, codec="deflate")
    before = path.read_bytes()
    values = list(range(200_000)) + [2**63]  # the bad value is in a later block
    frames = [pl.DataFrame({"u": pl.Series([5, 6], dtype=pl.UInt64)}),
              pl.DataFrame({"u": pl.Series(values, dtype=pl.UInt64)})]
    with pytest.raises(EncodeError) as info:
        write_avro(frames, path, mode="append", block_size=16 * 1024)
    assert info.value.row == 2 + 200_000
    assert info.value.column == "u"
    assert path.read_bytes() == before
    assert [r["u"] for r in fastavro_rows(path)] == [1, 2]


def test_an_error_raised_by_the_frames_mid_append_truncates_back(tmp_path: Path) -> None:
    path = tmp_path / "log.avro"
    write_avro(part(0, 10), path)
    before = path.read_bytes()

    def frames():  # noqa: ANN202
        yield part(10, 5000)
        msg = "the source broke"
        raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="the source broke"):
        write_avro(frames(), path, mode="append", block_size=1024)
    assert path.read_bytes() == before


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy"])
def test_appending_to_a_fastavro_file_of_the_derived_schema(codec: str, tmp_path: Path) -> None:
    path = tmp_path / "fa.avro"
    first, more = part(0, 100), part(100, 500)
    schema = derive_schema(first.schema, "Record", "example.ns").avro
    with path.open("wb") as f:
        fastavro.writer(f, schema, first.to_dicts(), codec=codec)
    write_avro(more, path, mode="append", namespace="example.ns")
    expected = pl.concat([first, more])
    assert fastavro_rows(path) == expected.to_dicts()
    assert_frame_equal(jetliner.read_avro(path), expected)


def test_a_fastavro_file_of_another_schema_takes_its_schema(tmp_path: Path) -> None:
    path = tmp_path / "fa.avro"
    schema = {"type": "record", "name": "Reading", "namespace": "lab", "fields": [
        {"name": "sensor", "type": {"type": "enum", "name": "Sensor", "symbols": ["A", "B"]}},
        {"name": "value", "type": "double"},
        {"name": "note", "type": ["string", "null"]},
    ]}
    first = [{"sensor": "A", "value": 1.5, "note": "x"}]
    with path.open("wb") as f:
        fastavro.writer(f, schema, first, codec="deflate")
    more = pl.DataFrame({"value": [2, 3], "sensor": ["B", "A"], "note": [None, "y"]})
    with jetliner.open(path) as reader:
        written = reader.schema
    write_avro(more, path, mode="append", schema=written)
    assert fastavro_rows(path) == first + more.select("sensor", "value", "note").with_columns(
        pl.col("value").cast(pl.Float64)).to_dicts()
    # a schema= that differs from the file's is refused like a derived one
    before = path.read_bytes()
    other = {**schema, "fields": schema["fields"][:2]}
    with pytest.raises(SchemaError, match="'note' is only in the file"):
        write_avro(more.drop("note"), path, mode="append", schema=other)
    assert path.read_bytes() == before


def test_a_fastavro_file_of_another_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fa.avro"
    schema = {"type": "record", "name": "Record",
              "fields": [{"name": "id", "type": "long"}]}  # not nullable
    with path.open("wb") as f:
        fastavro.writer(f, schema, [{"id": 1}])
    before = path.read_bytes()
    with pytest.raises(SchemaError, match=r"field 'id': \"long\" in the file, \[\"null\", "
                                          r"\"long\"\] from the frame"):
        write_avro(pl.DataFrame({"id": [2]}), path, mode="append")
    assert path.read_bytes() == before


def test_codec_and_metadata_must_agree_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "log.avro"
    write_avro(part(0, 3), path, codec="zstandard", metadata={"owner": "me"})
    before = path.read_bytes()
    with pytest.raises(ConfigurationError, match="'zstandard'"):
        write_avro(part(3, 1), path, mode="append", codec="deflate")
    with pytest.raises(ConfigurationError, match="'owner'"):
        write_avro(part(3, 1), path, mode="append", metadata={"owner": "you"})
    with pytest.raises(ConfigurationError, match="'new'"):
        write_avro(part(3, 1), path, mode="append", metadata={"new": "x"})
    with pytest.raises(ConfigurationError, match="compression_level"):
        write_avro(part(3, 1), path, mode="append", compression_level=99)
    assert path.read_bytes() == before
    # agreeing options are accepted; the level applies to the file's codec
    write_avro(part(3, 1), path, mode="append", codec="zstandard", compression_level=19,
               metadata={"owner": b"me"})
    assert_frame_equal(jetliner.read_avro(path), part(0, 4))
    assert header(path)[0]["owner"] == "me"


def test_mode_validation(tmp_path: Path) -> None:
    df = part(0, 1)
    with pytest.raises(ConfigurationError, match="mode must be 'write' or 'append', got 'a'"):
        write_avro(df, tmp_path / "x.avro", mode="a")
    with pytest.raises(ConfigurationError, match="mode must be"):
        sink_avro(df.lazy(), tmp_path / "x.avro", mode="overwrite")
    with pytest.raises(ConfigurationError, match="file object cannot be appended"):
        write_avro(df, io.BytesIO(), mode="append")
    with pytest.raises(ConfigurationError, match="takes a local path, got the URL"):
        write_avro(df, "s3://bucket/x.avro", mode="append")
    with pytest.raises(ConfigurationError, match="takes a local path, got the URL"):
        sink_avro(df.lazy(), "memory://x.avro", mode="append")
    assert list(tmp_path.iterdir()) == []


def test_a_file_url_is_a_local_path(tmp_path: Path) -> None:
    path = tmp_path / "log.avro"
    write_avro(part(0, 2), path)
    write_avro(part(2, 2), f"file://{path}", mode="append")
    assert fastavro_rows(path) == part(0, 4).to_dicts()


def test_a_file_that_is_not_avro_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.avro"
    path.write_bytes(b"id,name\n1,a\n")
    with pytest.raises(ParseError, match="not an Avro object container"):
        write_avro(part(0, 1), path, mode="append")
    assert path.read_bytes() == b"id,name\n1,a\n"


def test_a_file_ending_in_a_partial_block_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.avro"
    write_avro(part(0, 100), path)
    damaged = path.read_bytes()[:-5]  # as a killed append would leave it
    path.write_bytes(damaged)
    with pytest.raises(ParseError, match="does not end with its sync marker"):
        write_avro(part(100, 1), path, mode="append")
    assert path.read_bytes() == damaged


def test_a_file_with_a_header_only_takes_blocks(tmp_path: Path) -> None:
    path = tmp_path / "h.avro"
    schema = derive_schema(part(0, 1).schema, "Record", None).avro
    with path.open("wb") as f:
        fastavro.writer(f, schema, [])
    assert json.loads(header(path)[0]["avro.schema"]) == schema
    write_avro(part(0, 3), path, mode="append")
    assert fastavro_rows(path) == part(0, 3).to_dicts()
