"""Public API behaviour over local files: sources, options, extra columns, errors."""

from __future__ import annotations

import io
import os
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import jetliner

SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "id", "type": "long"},
    {"name": "name", "type": "string"},
    {"name": "score", "type": ["null", "double"]}]}


def rows(start: int, n: int) -> list[dict]:
    return [{"id": i, "name": f"n{i}", "score": None if i % 3 == 0 else i / 2}
            for i in range(start, start + n)]


@pytest.fixture
def three_files(avro_file) -> list[Path]:
    return [avro_file(SCHEMA, rows(i * 100, 100), codec="deflate", sync_interval=300)
            for i in range(3)]


def test_public_names() -> None:
    for name in ["scan_avro", "scan", "read_avro", "read_avro_schema", "open", "AvroReader",
                 "MultiAvroReader", "JetlinerError", "ParseError", "DecodeError", "SchemaError",
                 "CodecError", "SourceError", "ConfigurationError"]:
        assert hasattr(jetliner, name)
    assert jetliner.scan is jetliner.scan_avro
    assert issubclass(jetliner.ConfigurationError, ValueError)
    assert issubclass(jetliner.SourceNotFoundError, FileNotFoundError)
    # not a SourceError: the guide handles "missing" apart from "failing store"
    assert not issubclass(jetliner.SourceNotFoundError, jetliner.SourceError)
    assert issubclass(jetliner.SourceNotFoundError, jetliner.JetlinerError)
    assert issubclass(jetliner.AccessDeniedError, PermissionError)


def test_sources_path_str_bytesio_fileobject(avro_file) -> None:
    path = avro_file(SCHEMA, rows(0, 10))
    expected = jetliner.read_avro(str(path))
    assert expected.to_dicts() == rows(0, 10)
    assert_frame_equal(jetliner.read_avro(path), expected)
    assert_frame_equal(jetliner.read_avro(io.BytesIO(path.read_bytes())), expected)
    with path.open("rb") as f:
        assert_frame_equal(jetliner.read_avro(f), expected)
        assert not f.closed
    assert_frame_equal(jetliner.read_avro(f"file://{path}"), expected)


def test_lists_and_globs(three_files: list[Path]) -> None:
    folder = three_files[0].parent
    everything = pl.DataFrame(rows(0, 300), schema=jetliner.read_avro_schema(three_files[0]))
    assert_frame_equal(jetliner.read_avro(three_files), everything)
    assert_frame_equal(jetliner.read_avro(str(folder / "*.avro")), everything)
    assert_frame_equal(jetliner.read_avro(str(folder / "**" / "f?.avro")), everything)
    assert_frame_equal(jetliner.read_avro(str(folder / "f[01].avro")), everything.head(200))
    assert_frame_equal(jetliner.read_avro(str(folder / "f{0,2}.avro")),
                       pl.concat([everything.head(100), everything.tail(100)]))
    assert_frame_equal(jetliner.scan_avro(str(folder / "*.avro")).collect(), everything)


def test_glob_false_takes_the_path_literally(tmp_path: Path, avro_file) -> None:
    src = avro_file(SCHEMA, rows(0, 3))
    odd = tmp_path / "data[1].avro"
    os.rename(src, odd)
    assert jetliner.read_avro(str(odd), glob=False).height == 3
    with pytest.raises(jetliner.SourceNotFoundError):
        jetliner.read_avro(str(odd))  # as a glob, [1] matches "data1.avro" only


def test_missing_and_unmatched_sources_raise_at_scan_time(tmp_path: Path) -> None:
    with pytest.raises(jetliner.SourceNotFoundError, match="no such file") as info:
        jetliner.scan_avro(tmp_path / "nope.avro")
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(FileNotFoundError, match="no files match"):
        jetliner.scan_avro(str(tmp_path / "*.avro"))
    # an empty list is a wrong argument (a ValueError, as in jetliner 0.2.0), not a
    # missing file
    with pytest.raises(jetliner.ConfigurationError, match="empty"):
        jetliner.read_avro([])


def test_not_avro_and_bad_schema_raise_at_scan_time(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(jetliner.ParseError, match="not an Avro"):
        jetliner.scan_avro(tmp_path / "x.csv")
    from conftest import container

    (tmp_path / "bad.avro").write_bytes(container({"type": "record", "name": "R"}, []))
    with pytest.raises(jetliner.SchemaError, match="fields") as info:
        jetliner.scan_avro(tmp_path / "bad.avro")
    assert info.value.path == str(tmp_path / "bad.avro")


def test_empty_directory_is_a_clear_error(tmp_path: Path) -> None:
    # a folder is a source (every file under it); one with nothing to read says so
    (tmp_path / "_SUCCESS").write_bytes(b"")
    with pytest.raises(jetliner.SourceNotFoundError, match="holds no file to read"):
        jetliner.read_avro(tmp_path)


def test_unreadable_file_is_a_permission_error(avro_file) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = avro_file(SCHEMA, rows(0, 1))
    path.chmod(0)
    with pytest.raises(PermissionError):
        jetliner.read_avro(path)


def test_columns_by_name_and_index_in_requested_order(avro_file) -> None:
    path = avro_file(SCHEMA, rows(0, 5))
    assert jetliner.read_avro(path, columns=["score", "id"]).columns == ["score", "id"]
    assert jetliner.read_avro(path, columns=[2, 0]).columns == ["score", "id"]
    with pytest.raises(jetliner.ConfigurationError, match="cannot be negative"):
        jetliner.read_avro(path, columns=[-1])
    with pytest.raises(jetliner.SchemaError, match="'nope' not found"):
        jetliner.read_avro(path, columns=["nope"])
    with pytest.raises(jetliner.ConfigurationError, match="out of range"):
        jetliner.read_avro(path, columns=[7])
    with pytest.raises(jetliner.ConfigurationError, match="twice"):
        jetliner.read_avro(path, columns=["id", "id"])


def test_n_rows_row_index_and_file_paths_across_files(three_files: list[Path]) -> None:
    df = jetliner.read_avro(three_files, n_rows=250, row_index_name="idx", row_index_offset=10,
                            include_file_paths="src")
    assert df.height == 250
    assert df.columns == ["idx", "id", "name", "score", "src"]
    assert df["idx"].dtype == pl.get_index_type()
    assert df["idx"].to_list() == list(range(10, 260))
    assert df["src"].to_list() == [str(three_files[0])] * 100 + [str(three_files[1])] * 100 + [
        str(three_files[2])] * 50
    lazy = jetliner.scan_avro(three_files, row_index_name="idx", include_file_paths="src")
    assert lazy.collect_schema() == pl.Schema({"idx": pl.get_index_type(), "id": pl.Int64(),
                                               "name": pl.String(), "score": pl.Float64(),
                                               "src": pl.String()})
    got = lazy.filter(pl.col("idx") >= 295).select("src", "id").collect()
    assert got.to_dicts() == [{"src": str(three_files[2]), "id": i} for i in range(295, 300)]


CLASH_CALLS = {
    "scan_avro": lambda path, **kw: jetliner.scan_avro(path, **kw).collect(),
    "read_avro": jetliner.read_avro,
    "open": lambda path, **kw: list(jetliner.open(path, **kw)),
    "AvroReader": lambda path, **kw: list(jetliner.AvroReader(path, **kw)),
    "MultiAvroReader": lambda path, **kw: list(jetliner.MultiAvroReader([path, path], **kw)),
    "read_avro_schema": jetliner.read_avro_schema,
}


@pytest.mark.parametrize("api", sorted(CLASH_CALLS))
@pytest.mark.parametrize("option", ["row_index_name", "include_file_paths"])
def test_extra_column_clashing_with_a_field(avro_file, api: str, option: str) -> None:
    # an extra column named as a column of the file is refused by every API, never
    # a column silently replaced (by file paths) or Polars' DuplicateError
    path = avro_file(SCHEMA, rows(0, 3))
    with pytest.raises(jetliner.ConfigurationError, match=f"{option}='name' clashes"):
        CLASH_CALLS[api](path, **{option: "name"})


def test_reader_iteration_and_properties(avro_file) -> None:
    path = avro_file(SCHEMA, rows(0, 1000), sync_interval=2000)
    with jetliner.open(path, batch_size=300) as reader:
        assert isinstance(reader, jetliner.AvroReader)
        assert reader.batch_size == 300
        assert reader.schema_dict["name"] == "R"
        assert '"name": "R"' in reader.schema or '"name":"R"' in reader.schema
        assert reader.polars_schema == jetliner.read_avro_schema(path)
        assert not reader.is_finished
        batches = list(reader)
        heights = [b.height for b in batches]
        assert reader.is_finished
        assert reader.rows_read == 1000
        assert reader.errors == [] and reader.error_count == 0
    assert max(heights) <= 300 and sum(heights) == 1000
    assert pl.concat(batches)["id"].to_list() == list(range(1000))
    assert [b.height for b in jetliner.AvroReader(path, batch_size=1000)] == [1000]
    # one block bigger than batch_size is split
    one_block = avro_file(SCHEMA, rows(0, 1000), sync_interval=1 << 20)
    heights = [b.height for b in jetliner.AvroReader(one_block, batch_size=300)]
    assert heights == [300, 300, 300, 100]


def test_avro_reader_refuses_several_files(three_files: list[Path]) -> None:
    with pytest.raises(jetliner.ConfigurationError, match="MultiAvroReader"):
        jetliner.AvroReader(three_files)
    with jetliner.MultiAvroReader(three_files, batch_size=64) as reader:
        assert sum(b.height for b in reader) == 300
    assert isinstance(jetliner.open(three_files), jetliner.MultiAvroReader)


def test_incompatible_schemas_name_both_files_and_the_difference(avro_file) -> None:
    a = avro_file(SCHEMA, rows(0, 2))
    other = {"type": "record", "name": "R", "fields": [
        {"name": "id", "type": "int"}, {"name": "name", "type": "string"},
        {"name": "score", "type": ["null", "double"]}]}
    b = avro_file(other, [{"id": 1, "name": "x", "score": None}])
    with pytest.raises(jetliner.SchemaError,
                       match="'id' is Int64 in the first file .* and Int32") as info:
        jetliner.read_avro([a, b])
    assert str(a) in str(info.value) and str(b) in str(info.value)


def test_field_order_may_differ_between_files(avro_file) -> None:
    a = avro_file(SCHEMA, rows(0, 2))
    reordered = {"type": "record", "name": "R", "fields": list(reversed(SCHEMA["fields"]))}
    b = avro_file(reordered, rows(2, 2))
    df = jetliner.read_avro([a, b])
    assert df.columns == ["id", "name", "score"]
    assert df.to_dicts() == rows(0, 4)


def test_lazyframe_can_be_collected_many_times(avro_file) -> None:
    lf = jetliner.scan_avro(avro_file(SCHEMA, rows(0, 50)))
    first = lf.collect()
    assert_frame_equal(lf.collect(), first)
    assert_frame_equal(lf.select("id").collect(), first.select("id"))


def test_errors_inside_collect_are_jetliner_errors(tmp_path: Path, avro_file) -> None:
    path = avro_file(SCHEMA, rows(0, 500), sync_interval=500)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # break the last sync marker
    (tmp_path / "broken.avro").write_bytes(bytes(data))
    lf = jetliner.scan_avro(tmp_path / "broken.avro")
    with pytest.raises(Exception) as info:
        lf.collect()
    assert "sync marker" in str(info.value)


def test_zero_field_records_keep_their_height() -> None:
    from conftest import container

    empty_record = {"type": "record", "name": "E", "fields": []}
    df = jetliner.read_avro(container(empty_record, [(3, b""), (2, b"")]))
    assert df.shape == (5, 0)


def test_sample_file_and_cli(capsys: pytest.CaptureFixture[str]) -> None:
    from jetliner.cli import main

    assert jetliner.read_avro(jetliner.sample_path()).height == 500
    assert main(["demo", "-n", "3"]) == 0
    out = capsys.readouterr().out
    assert "plan: Enum" in out and "shape: (3, 9)" in out
    assert main(["count", jetliner.sample_path()]) == 0
    assert capsys.readouterr().out.startswith("500\t")
    assert main(["schema", "--polars", jetliner.sample_path()]) == 0
    assert main(["head", "/nonexistent.avro"]) == 1
    assert "no such file" in capsys.readouterr().err


def test_a_file_shrinking_during_the_read_is_an_error(tmp_path) -> None:
    """Cut exactly at a block boundary, the rest would look like a valid file: the
    size taken at open time is what tells."""
    import io as _io

    import fastavro

    buf = _io.BytesIO()
    schema = {"type": "record", "name": "R", "fields": [{"name": "x", "type": "long"}]}
    fastavro.writer(buf, schema, ({"x": i} for i in range(200_000)), sync_interval=4000)
    data = buf.getvalue()
    path = tmp_path / "f.avro"
    path.write_bytes(data)
    sync = data[_header_end(data) - 16:_header_end(data)]
    ends = []  # file offsets just after each block's sync marker
    pos = data.find(sync, _header_end(data))
    while pos >= 0:
        ends.append(pos + 16)
        pos = data.find(sync, pos + 16)
    assert len(ends) > 10 and ends[-1] == len(data)
    with jetliner.open(path, batch_size=1000, read_chunk_size=64 * 1024) as reader:
        next(reader)
        with open(path, "r+b") as f:  # cut exactly after a block, well past what was read
            f.truncate(ends[len(ends) // 2])
        with pytest.raises(jetliner.SourceError, match="shrank"):
            for _ in reader:
                pass


def _header_end(data: bytes) -> int:
    """Offset just past the header's sync marker (schema metadata parsed by fastavro)."""
    import io as _io

    import fastavro

    f = _io.BytesIO(data)
    fastavro.reader(f)
    return f.tell()
