"""The command line end to end, over files written by fastavro.

Most tests call ``jetliner.cli.main`` in-process (fast); a few run the installed
entry point in a child process, for exit codes, pipes and terminal detection.
Every value printed is checked against what fastavro reads back.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import fastavro
import polars as pl
import pytest

from jetliner.cli import main

SCHEMA = {"type": "record", "name": "Event", "fields": [
    {"name": "id", "type": "long"},
    {"name": "user", "type": "string"},
    {"name": "amount", "type": ["null", "double"]},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
]}


def events(start: int, n: int) -> list[dict]:
    return [{"id": i, "user": f"u{i % 7}", "amount": None if i % 5 == 0 else i * 1.5,
             "tags": [f"t{j}" for j in range(i % 3)]} for i in range(start, start + n)]


@pytest.fixture
def files(avro_file) -> list[Path]:
    """Three files of 120 rows, several blocks each, one with user metadata."""
    return [
        avro_file(SCHEMA, events(0, 120), codec="deflate", sync_interval=500,
                  metadata={"origin": "tests", "blob": "x"}),
        avro_file(SCHEMA, events(120, 120), codec="snappy", sync_interval=500),
        avro_file(SCHEMA, events(240, 120), codec="null", sync_interval=500),
    ]


def fastavro_read(path: Path) -> tuple[dict, list[dict]]:
    with path.open("rb") as f:
        reader = fastavro.reader(f)
        return reader.metadata, list(reader)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_schema_prints_the_writer_schema(capsys, files) -> None:
    status, out, _ = run(capsys, "schema", str(files[0]))
    assert status == 0
    metadata, _ = fastavro_read(files[0])
    assert json.loads(out) == json.loads(metadata["avro.schema"])


def test_schema_polars(capsys, files) -> None:
    status, out, _ = run(capsys, "schema", "--polars", str(files[0]))
    assert status == 0
    assert out.splitlines() == ["id: Int64", "user: String", "amount: Float64",
                                "tags: List(String)"]


def test_reader_schema_flag(capsys, files, tmp_path) -> None:
    reader = {"type": "record", "name": "Event", "fields": [
        {"name": "who", "type": "bytes", "aliases": ["user"]},
        {"name": "id", "type": "double"},
        {"name": "region", "type": "string", "default": "eu"}]}
    avsc = tmp_path / "reader.avsc"
    avsc.write_text(json.dumps(reader))
    status, out, _ = run(capsys, "schema", "--polars", "--reader-schema", str(avsc),
                         str(files[0]))
    assert status == 0
    assert out.splitlines() == ["who: Binary", "id: Float64", "region: String"]
    status, out, _ = run(capsys, "head", "--ndjson", "-n", "3", "--reader-schema",
                         json.dumps(reader), str(files[0]))
    assert status == 0
    with files[0].open("rb") as f:
        theirs = list(fastavro.reader(f, reader_schema=reader))[:3]
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["id"], r["region"]) for r in rows] == [(t["id"], t["region"]) for t in theirs]


def test_meta_text_and_json(capsys, files) -> None:
    status, out, _ = run(capsys, "meta", "--json", str(files[0]))
    assert status == 0
    meta = json.loads(out)
    raw = files[0].read_bytes()
    with files[0].open("rb") as f:
        blocks = list(fastavro.block_reader(f))
    assert meta["codec"] == "deflate"
    assert meta["rows"] == 120 == sum(b.num_records for b in blocks)
    assert meta["blocks"] == len(blocks) > 1
    assert meta["size"] == len(raw)
    assert bytes.fromhex(meta["sync"]) == raw[-16:]  # every block ends with the marker
    assert meta["metadata"] == {"origin": "tests", "blob": "x"}

    status, out, _ = run(capsys, "meta", str(files[0]))
    assert status == 0
    assert "codec: deflate" in out.splitlines()
    assert "rows: 120" in out.splitlines()
    assert "  origin: tests" in out.splitlines()


def test_meta_shows_non_utf8_metadata_as_base64(capsys, tmp_path) -> None:
    # fastavro writes string metadata: swap a 2-byte value for 2 bytes that are not UTF-8
    buf = io.BytesIO()
    fastavro.writer(buf, SCHEMA, events(0, 3), metadata={"bin": "AA"})
    entry = b"\x06bin\x04AA"  # key and value, each with its zig-zag length
    assert buf.getvalue().count(entry) == 1
    user = b"\xff\xfe"
    path = tmp_path / "odd.avro"
    path.write_bytes(buf.getvalue().replace(entry, b"\x06bin\x04" + user))
    status, out, _ = run(capsys, "meta", "--json", str(path))
    assert status == 0, out
    assert base64.b64decode(json.loads(out)["metadata"]["bin"]["base64"]) == user


def test_count_per_file_and_total(capsys, files) -> None:
    folder = files[0].parent
    status, out, _ = run(capsys, "count", str(folder / "*.avro"))
    assert status == 0
    lines = [line.split("\t") for line in out.splitlines()]
    expected = {str(p): len(fastavro_read(p)[1]) for p in files}
    assert {path: int(n) for n, path in lines[:-1]} == expected
    assert lines[-1] == [str(sum(expected.values())), "total"]


def test_head_ndjson_matches_fastavro(capsys, files) -> None:
    status, out, _ = run(capsys, "head", "-n", "7", "--ndjson", str(files[0]))
    assert status == 0
    assert [json.loads(line) for line in out.splitlines()] == fastavro_read(files[0])[1][:7]


def test_head_table(capsys, files) -> None:
    status, out, _ = run(capsys, "head", "-n", "3", "--columns", "user,id", str(files[1]))
    assert status == 0
    assert "shape: (3, 2)" in out
    first = fastavro_read(files[1])[1][0]
    assert f"{first['user']!r}".strip("'") in out and str(first["id"]) in out


def test_cat_ndjson_every_row_in_order(capsys, files) -> None:
    status, out, _ = run(capsys, "cat", *map(str, files))
    assert status == 0
    expected = [r for p in files for r in fastavro_read(p)[1]]
    assert [json.loads(line) for line in out.splitlines()] == expected


def test_cat_csv_with_columns_and_limit(capsys, files) -> None:
    status, out, _ = run(capsys, "cat", "--format", "csv", "--columns", "id,amount",
                         "-n", "130", *map(str, files))
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    expected = [r for p in files for r in fastavro_read(p)[1]][:130]
    assert len(rows) == 130
    for got, want in zip(rows, expected, strict=True):
        assert int(got["id"]) == want["id"]
        assert (float(got["amount"]) if got["amount"] else None) == want["amount"]


def test_csv_refuses_nested_columns_before_writing(capsys, files, tmp_path) -> None:
    status, out, err = run(capsys, "cat", "--format", "csv", str(files[0]))
    assert status == 1 and out == ""
    assert err.startswith("jetliner: error: CSV cannot hold nested columns: tags")
    status, _, err = run(capsys, "convert", str(files[0]), str(tmp_path / "o.csv"))
    assert status == 1 and "tags" in err
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("ext", ["parquet", "csv", "ndjson", "ipc"])
def test_convert_every_format(capsys, files, tmp_path, ext) -> None:
    out_path = tmp_path / f"out.{ext}"
    cols = ["id", "user", "amount"] if ext == "csv" else None
    argv = ["convert", str(files[0].parent / "*.avro"), str(out_path), "--no-progress"]
    if cols:
        argv += ["--columns", ",".join(cols)]
    status, out, err = run(capsys, *argv)
    assert (status, out, err) == (0, "", "")
    df = {"parquet": pl.read_parquet, "csv": pl.read_csv, "ndjson": pl.read_ndjson,
          "ipc": pl.read_ipc}[ext](out_path)
    expected = [r for p in files for r in fastavro_read(p)[1]]
    if cols:
        expected = [{k: r[k] for k in cols} for r in expected]
    assert df.to_dicts() == expected
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_convert_format_flag_and_unknown_extension(capsys, files, tmp_path) -> None:
    status, _, err = run(capsys, "convert", str(files[0]), str(tmp_path / "o.data"))
    assert status == 1 and "cannot tell the output format" in err
    status, _, _ = run(capsys, "convert", str(files[0]), str(tmp_path / "o.data"),
                       "--format", "ndjson")
    assert status == 0
    assert len((tmp_path / "o.data").read_text().splitlines()) == 120


def test_convert_unknown_column(capsys, files, tmp_path) -> None:
    status, _, err = run(capsys, "convert", str(files[0]), str(tmp_path / "o.parquet"),
                         "--columns", "id,nope")
    assert status == 1
    assert "no column(s) ['nope']" in err


def test_convert_progress_line(capsys, files, tmp_path) -> None:
    status, _, err = run(capsys, "convert", *map(str, files), str(tmp_path / "o.parquet"),
                         "--progress")
    assert status == 0
    final = err.rstrip("\n").split("\r")[-1]
    assert final.startswith("jetliner: 360 rows, ")
    assert "MB/s" in final


def test_convert_failure_leaves_no_output(capsys, files, tmp_path) -> None:
    damaged = tmp_path / "damaged.avro"
    data = bytearray(files[2].read_bytes())
    data[-1] ^= 0xFF  # the last sync marker
    damaged.write_bytes(bytes(data))
    out_path = tmp_path / "o.parquet"
    status, _, err = run(capsys, "convert", str(files[0]), str(damaged), str(out_path))
    assert status == 1
    assert err.startswith("jetliner: error: ") and "sync" in err
    assert not out_path.exists()
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []


def test_ignore_errors_flag(capsys, files, tmp_path) -> None:
    damaged = tmp_path / "damaged.avro"
    data = bytearray(files[2].read_bytes())
    data[-1] ^= 0xFF
    damaged.write_bytes(bytes(data))
    status, out, err = run(capsys, "cat", "--ignore-errors", str(damaged))
    assert status == 0
    with files[2].open("rb") as f:
        last_block = list(fastavro.block_reader(f))[-1].num_records
    assert len(out.splitlines()) == 120 - last_block


@pytest.mark.parametrize("argv", [
    ["schema", "missing.avro"], ["meta", "missing.avro"], ["count", "missing.avro"],
    ["head", "missing.avro"], ["cat", "missing.avro"], ["convert", "missing.avro", "o.parquet"],
])
def test_missing_file_is_one_line_and_status_1(capsys, tmp_path, monkeypatch, argv) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, *argv)
    assert status == 1 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("jetliner: error: no such file: 'missing.avro'")


def test_not_avro_and_bad_option(capsys, tmp_path) -> None:
    bogus = tmp_path / "x.avro"
    bogus.write_bytes(b"PAR1 not avro at all")
    status, _, err = run(capsys, "head", str(bogus))
    assert status == 1 and "Avro" in err and err.count("\n") == 1
    status, _, err = run(capsys, "count", str(bogus), "-s", "novalue")
    assert status == 1 and "KEY=VALUE" in err


def test_bad_arguments_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["head", "-n", "-3", "x.avro"])
    assert info.value.code == 2
    assert "expected a row count" in capsys.readouterr().err


# -- the installed entry point, in child processes -----------------------------------


# Children run outside the repository: from its root, ``python -m jetliner`` would
# import the source tree (without its compiled decoder) instead of the installed package.
OUTSIDE = Path(__file__).parent


def jetliner_cmd(*argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jetliner", *argv], capture_output=True,
                          timeout=120, cwd=OUTSIDE, **kw)


def test_entry_point_exit_status(files) -> None:
    ok = jetliner_cmd("count", str(files[0]))
    assert ok.returncode == 0 and ok.stdout.decode().split("\t")[0] == "120"
    missing = jetliner_cmd("count", str(files[0].parent / "nope.avro"))
    assert missing.returncode == 1
    assert missing.stderr.decode().startswith("jetliner: error: no such file")


def test_closed_pipe_is_not_an_error(files) -> None:
    """``jetliner cat big.avro | head -1``: the reader leaving ends quietly with status 0."""
    with subprocess.Popen([sys.executable, "-m", "jetliner", "cat", *[str(f) for f in files] * 20],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=OUTSIDE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read()
        status = proc.wait(timeout=120)
    assert json.loads(first) == fastavro_read(files[0])[1][0]
    assert status == 0, err
    assert err == b""


def test_no_progress_when_stderr_is_not_a_terminal(files, tmp_path) -> None:
    out = jetliner_cmd("convert", str(files[0]), str(tmp_path / "o.ipc"))
    assert out.returncode == 0 and out.stderr == b""


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_progress_by_default_on_a_terminal(files, tmp_path) -> None:
    leader, follower = os.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "jetliner", "convert", str(files[0]),
                               str(tmp_path / "o.ipc")], stderr=follower,
                              stdout=subprocess.PIPE, timeout=120, cwd=OUTSIDE)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO once the terminal's other side is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    assert proc.returncode == 0
    assert b"jetliner: 120 rows, " in b"".join(chunks)


def test_count_and_meta_skip_damaged_framing(capsys, files, tmp_path) -> None:
    """--ignore-errors: a damaged sync marker costs its block, reported on stderr."""
    data = bytearray(files[2].read_bytes())
    with files[2].open("rb") as f:
        blocks = [b.num_records for b in fastavro.block_reader(f)]
    sync = data[-16:]
    first_sync = data.index(sync)  # the header's marker
    second = data.index(sync, first_sync + 16)  # after the first block
    data[second] ^= 0xFF
    damaged = tmp_path / "damaged.avro"
    damaged.write_bytes(bytes(data))
    status, _, err = run(capsys, "count", str(damaged))
    assert status == 1 and "sync" in err
    status, out, err = run(capsys, "count", "--ignore-errors", str(damaged))
    assert status == 0
    assert err.startswith("jetliner: warning: skipped: ")
    assert int(out.split("\t")[0]) == sum(blocks) - blocks[0]  # the first block is lost
    status, out, err = run(capsys, "meta", "--json", "--ignore-errors", str(damaged))
    assert status == 0 and "skipped" in err
    assert json.loads(out)["rows"] == sum(blocks) - blocks[0]


BYTES_SCHEMA = {"type": "record", "name": "B", "fields": [
    {"name": "id", "type": "long"},
    {"name": "raw", "type": "bytes"},
    {"name": "fx", "type": {"type": "fixed", "name": "F", "size": 3}},
    {"name": "maybe", "type": ["null", "bytes"]},
    {"name": "nested", "type": ["null", {"type": "record", "name": "N", "fields": [
        {"name": "blobs", "type": {"type": "array", "items": "bytes"}}]}]},
    {"name": "by_key", "type": {"type": "map", "values": ["null", "bytes"]}},
]}


def bytes_records(n: int) -> list[dict]:
    return [{"id": i, "raw": bytes([i % 256, 255, 0]) * (i % 3), "fx": bytes([i % 256, 1, 2]),
             "maybe": None if i % 4 == 0 else b"\x00\xff",
             "nested": None if i % 5 == 0 else {"blobs": [bytes([j, 200]) for j in range(i % 3)]},
             "by_key": {f"k{j}": None if j == 1 else bytes([i % 256, j]) for j in range(i % 3)}}
            for i in range(n)]


def from_base64(row: dict) -> dict:
    b64 = base64.b64decode
    nested = row["nested"]
    return {"id": row["id"], "raw": b64(row["raw"]), "fx": b64(row["fx"]),
            "maybe": None if row["maybe"] is None else b64(row["maybe"]),
            "nested": None if nested is None else {"blobs": [b64(b) for b in nested["blobs"]]},
            "by_key": {k: None if v is None else b64(v) for k, v in row["by_key"].items()}}


def test_bytes_are_written_as_base64_text(capsys, avro_file, tmp_path) -> None:
    """JSON has no bytes type: bytes and fixed values (nested too) become base64."""
    path = avro_file(BYTES_SCHEMA, bytes_records(40), sync_interval=200)
    truth = fastavro_read(path)[1]
    status, out, err = run(capsys, "cat", str(path))
    assert (status, err) == (0, "")
    assert [from_base64(json.loads(line)) for line in out.splitlines()] == truth
    status, out, _ = run(capsys, "head", "-n", "5", "--ndjson", str(path))
    assert [from_base64(json.loads(line)) for line in out.splitlines()] == truth[:5]
    status, _, _ = run(capsys, "convert", str(path), str(tmp_path / "b.ndjson"))
    lines = (tmp_path / "b.ndjson").read_text().splitlines()
    assert [from_base64(json.loads(line)) for line in lines] == truth
    status, out, _ = run(capsys, "cat", "--format", "csv", "--columns", "id,raw,fx", str(path))
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(int(r["id"]), base64.b64decode(r["raw"]), base64.b64decode(r["fx"])) for r in rows] \
        == [(t["id"], t["raw"], t["fx"]) for t in truth]


@pytest.fixture
def damaged(files, tmp_path) -> tuple[Path, int]:
    """files[2] with its last sync marker broken: the last block is lost in skip mode."""
    path = tmp_path / "damaged.avro"
    data = bytearray(files[2].read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with files[2].open("rb") as f:
        lost = list(fastavro.block_reader(f))[-1].num_records
    return path, 120 - lost


@pytest.mark.parametrize("argv", [
    ["cat"], ["head", "-n", "1000"], ["count"], ["convert", "OUT.ndjson"],
    ["convert", "OUT.parquet"], ["convert", "OUT.csv", "--columns", "id,user"],
])
def test_every_command_reports_what_it_skipped(capsys, damaged, tmp_path, argv) -> None:
    path, kept = damaged
    argv = [a.replace("OUT", str(tmp_path / "out")) for a in argv]
    args = [argv[0], "--ignore-errors", str(path), *argv[1:]]
    status, out, err = run(capsys, *args)
    assert status == 0
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("jetliner: warning: skipped: "), err
    assert "sync" in lines[0]
    if argv[0] == "cat":
        assert len(out.splitlines()) == kept
    elif argv[0] == "count":
        assert int(out.split("\t")[0]) == kept
    elif argv[0] == "convert":
        written = next(p for p in tmp_path.iterdir() if p.name.startswith("out."))
        reader = {".ndjson": pl.read_ndjson, ".parquet": pl.read_parquet, ".csv": pl.read_csv}
        assert reader[written.suffix](written).height == kept


def test_output_that_cannot_encode_the_text(files, tmp_path) -> None:
    path = tmp_path / "accents.avro"
    with path.open("wb") as f:
        fastavro.writer(f, SCHEMA, [{"id": 1, "user": "Zoë", "amount": None, "tags": []}])
    out = jetliner_cmd("head", str(path), env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert out.returncode == 1
    assert out.stderr.decode().startswith("jetliner: error: standard output cannot encode")
    assert out.stderr.count(b"\n") == 1


EVOLVED = {"type": "record", "name": "Event", "fields": [
    {"name": "id", "type": "long"},
    {"name": "amount", "type": ["null", "double"]},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "email", "type": ["null", "string"], "default": None},
    {"name": "where", "type": ["null", {"type": "record", "name": "Where", "fields": [
        {"name": "city", "type": "string"}]}], "default": None},
]}


def test_schemas_groups_files_by_writer_schema(capsys, files, avro_file, tmp_path) -> None:
    """Files of two schemas, interleaved: each schema once, its files counted, the
    second's changes against the first listed."""
    rows = [{**{k: v for k, v in r.items() if k != "user"}, "email": None, "where": None}
            for r in events(0, 3)]
    evolved = [avro_file(EVOLVED, rows), avro_file(EVOLVED, rows)]
    order = [files[0], evolved[0], files[1], evolved[1], files[2]]
    for n, path in enumerate(order):
        path.rename(tmp_path / f"part-{n}.avro")
    status, out, _ = run(capsys, "schemas", "--json", str(tmp_path / "part-*.avro"))
    assert status == 0
    groups = json.loads(out)
    assert [g["files"] for g in groups] == [3, 2]
    assert [Path(p).name for p in groups[0]["paths"]] == ["part-0.avro", "part-2.avro",
                                                          "part-4.avro"]
    assert (Path(groups[1]["first"]).name, Path(groups[1]["last"]).name) \
        == ("part-1.avro", "part-3.avro")
    for group in groups:  # the schema as written in the files' headers
        metadata, _ = fastavro_read(Path(group["first"]))
        assert group["schema"] == json.loads(metadata["avro.schema"])
    assert groups[0]["changes"] is None
    assert groups[1]["changes"] == [
        "+ email: null | string (default null)",
        "+ where: null | record Where (default null)",
        "+ where.city: string (no default)",
        "- user: string",
    ]
    status, text, _ = run(capsys, "schemas", str(tmp_path / "part-*.avro"))
    assert status == 0
    assert text.splitlines()[0] == "2 writer schemas in 5 files"
    assert "changes from schema 1:" in text and "    - user: string" in text


def test_schemas_of_a_missing_file_is_an_error(capsys, tmp_path) -> None:
    status, _, err = run(capsys, "schemas", str(tmp_path / "nothing-*.avro"))
    assert status == 1 and "nothing-" in err


def test_schema_changes_of_retyped_nested_and_recursive_fields() -> None:
    from jetliner.inventory import field_types, schema_changes

    node = {"type": "record", "name": "Node", "namespace": "t", "fields": [
        {"name": "value", "type": "int"},
        {"name": "next", "type": ["null", "Node"], "default": None},
        {"name": "items", "type": {"type": "map", "values": {
            "type": "record", "name": "Item", "fields": [{"name": "n", "type": "int"}]}}},
    ]}
    # the recursive reference is not entered again
    assert field_types(node)["next"][0] == "null | record t.Node"
    assert list(field_types(node)) == ["value", "next", "items", "items{}.n"]
    wider = json.loads(json.dumps(node))
    wider["fields"][0]["type"] = "long"
    wider["fields"][2]["type"]["values"]["fields"][0] = {"name": "n", "type": "double",
                                                          "default": 0}
    assert schema_changes(node, wider) == [
        "~ value: int -> long",
        "~ items{}.n: int -> double",
        "~ items{}.n: no default -> default 0",
    ]
    assert schema_changes(node, node) == []


@pytest.mark.parametrize("codec", [None, "deflate", "zstandard"])
def test_convert_avro_to_avro(capsys, files, tmp_path, codec) -> None:
    out_path = tmp_path / "out.avro"
    argv = ["convert", str(files[0].parent / "*.avro"), str(out_path), "--no-progress"]
    if codec:
        argv += ["--codec", codec]
    assert run(capsys, *argv)[0] == 0
    metadata, rows = fastavro_read(out_path)
    assert metadata["avro.codec"] == (codec or "snappy")
    assert rows == [r for p in files for r in fastavro_read(p)[1]]


@pytest.mark.parametrize("ext", ["parquet", "csv", "ndjson", "ipc"])
def test_convert_other_formats_to_avro(capsys, files, tmp_path, ext) -> None:
    """Parquet, CSV, NDJSON and IPC inputs (read by Polars) become Avro; fastavro reads
    back the rows Polars reads from the input."""
    source = pl.DataFrame({"id": [1, 2, 3], "name": ["a", None, "ç"], "x": [0.5, 1.5, None]})
    path = tmp_path / f"in.{ext}"
    {"parquet": source.write_parquet, "csv": source.write_csv, "ndjson": source.write_ndjson,
     "ipc": source.write_ipc}[ext](path)
    out_path = tmp_path / "out.avro"
    assert run(capsys, "convert", str(path), str(out_path), "--no-progress")[0] == 0
    assert fastavro_read(out_path)[1] == source.to_dicts()
    assert stat.S_IMODE(out_path.stat().st_mode) == 0o666 & ~_umask()
    status, _, err = run(capsys, "convert", str(path), str(tmp_path / "o.parquet"),
                         "--codec", "xz")
    assert status == 1 and "--codec is for Avro output" in err


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_converted_text_and_parquet_have_the_umask_permissions(capsys, files, tmp_path) -> None:
    for ext in ("parquet", "csv"):
        out_path = tmp_path / f"out.{ext}"
        argv = ["convert", str(files[1]), str(out_path), "--no-progress"]
        if ext == "csv":
            argv += ["--columns", "id,user"]
        assert run(capsys, *argv)[0] == 0
        assert stat.S_IMODE(out_path.stat().st_mode) == 0o666 & ~_umask()
