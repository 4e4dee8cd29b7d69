"""Filters decoded late (the filter's columns first, the rest for rows that pass) give the
frames Polars gives without any pushdown, for every type, nulls, nested fields and is_in."""

from __future__ import annotations

import datetime as dt
import decimal
import random
from pathlib import Path

import polars as pl
import pytest
from conftest import avro_bytes, container, zigzag
from polars.testing import assert_frame_equal

import jetliner
from jetliner import readers

SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "id", "type": "long"},
    {"name": "small", "type": "int"},
    {"name": "ratio", "type": "float"},
    {"name": "amount", "type": ["null", "double"]},
    {"name": "flag", "type": "boolean"},
    {"name": "name", "type": "string"},
    {"name": "maybe", "type": ["null", "string"]},
    {"name": "raw", "type": "bytes"},
    {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["a", "b", "c"]}},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "attrs", "type": {"type": "map", "values": "long"}},
    {"name": "point", "type": ["null", {"type": "record", "name": "P", "fields": [
        {"name": "x", "type": "int"}, {"name": "label", "type": "string"}]}]},
    {"name": "code", "type": {"type": "fixed", "name": "F", "size": 4}},
    {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9,
                               "scale": 2}},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
]}


def rows(n: int, seed: int = 5) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append({
            "id": i, "small": rng.randrange(-1000, 1000), "ratio": rng.random(),
            "amount": None if i % 7 == 0 else rng.random() * 100, "flag": i % 3 == 0,
            "name": f"name-{rng.randrange(50)}-{'x' * rng.randrange(20)}",
            "maybe": None if i % 4 == 0 else f"m{i % 13}",
            "raw": bytes([i % 256, (i * 7) % 256]), "kind": "abc"[i % 3],
            "tags": [f"t{j}" for j in range(i % 4)], "attrs": {f"k{j}": j for j in range(i % 3)},
            "point": None if i % 5 == 0 else {"x": i % 17, "label": f"p{i % 9}"},
            "code": (i % 1000).to_bytes(4, "big"),
            "price": decimal.Decimal(rng.randrange(-10**6, 10**6)) / 100,
            "day": dt.date(2020, 1, 1) + dt.timedelta(days=i % 400),
            "at": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=i),
        })
    return out


@pytest.fixture(scope="module", params=["deflate", "snappy"])
def data_file(request, tmp_path_factory) -> Path:
    # snappy tasks of whole blocks are decoded in a few calls (`_late_at_once`),
    # other codecs block by block
    from conftest import write_avro

    path = tmp_path_factory.mktemp("late") / f"mixed-{request.param}.avro"
    path.write_bytes(write_avro(SCHEMA, rows(5000), codec=request.param, sync_interval=3000))
    return path


PREDICATES = {
    "long": pl.col("id") % 97 == 3,
    "int range": pl.col("small").is_between(-10, 10),
    "float": pl.col("ratio") < 0.01,
    "nullable double": pl.col("amount") > 99,
    "is_null": pl.col("amount").is_null() & (pl.col("id") < 300),
    "boolean": pl.col("flag") & (pl.col("id") % 50 == 0),
    "string": pl.col("name").str.starts_with("name-7-"),
    "nullable string": pl.col("maybe") == "m3",
    "bytes": pl.col("raw") == b"\x05\x23",
    "enum": (pl.col("kind") == "b") & (pl.col("small") > 900),
    "list": pl.col("tags").list.len() == 3,
    "map": pl.col("attrs").is_null() | (pl.col("id") == 4000),
    "struct field": pl.col("point").struct.field("x") == 16,
    "fixed": pl.col("code") == (123).to_bytes(4, "big"),
    "decimal": pl.col("price") > decimal.Decimal("9990.00"),
    "date": pl.col("day") == dt.date(2020, 2, 1),
    "timestamp": pl.col("at") < dt.datetime(2024, 1, 1, 0, 0, 20, tzinfo=dt.timezone.utc),
    "is_in": pl.col("id").is_in([0, 17, 999, 4999, 12345]),
    "two columns": (pl.col("small") > 990) | (pl.col("name") == "name-3-"),
    "nothing": pl.col("id") < 0,
    "everything": pl.col("id") >= 0,
}


@pytest.fixture(params=["late", "one pass"])
def path_taken(request, monkeypatch) -> str:
    # LATE_BELOW decides per batch from the previous one; pin it to take one path
    monkeypatch.setattr(readers, "LATE_BELOW", 2.0 if request.param == "late" else -1.0)
    return request.param


@pytest.mark.parametrize("name", sorted(PREDICATES))
def test_filters_match_polars_without_pushdown(data_file: Path, path_taken: str,
                                               name: str) -> None:
    predicate = PREDICATES[name]
    lf = jetliner.scan_avro(data_file, batch_size=700)
    expected = lf.filter(predicate).collect(optimizations=pl.QueryOptFlags.none())
    assert_frame_equal(lf.filter(predicate).collect(), expected)
    assert_frame_equal(lf.filter(predicate).collect(engine="streaming"), expected)
    # a selection that leaves the filter's columns out
    chosen = ["name", "point", "tags"]
    assert_frame_equal(lf.filter(predicate).select(chosen).collect(),
                       expected.select(chosen))


def test_the_late_path_is_taken_for_a_selective_filter(data_file: Path, monkeypatch) -> None:
    calls = []
    real = readers.FileJob._late_at_once  # (every late task tries it first)

    def counting(self, *args):
        calls.append(1)
        return real(self, *args)

    monkeypatch.setattr(readers.FileJob, "_late_at_once", counting)
    jetliner.scan_avro(data_file).filter(pl.col("id") == 3).collect()
    assert calls


def test_snappy_tasks_are_decoded_at_once(data_file: Path, monkeypatch) -> None:
    results = []
    real = readers.FileJob._late_at_once

    def recording(self, *args):
        results.append(real(self, *args))
        return results[-1]

    monkeypatch.setattr(readers.FileJob, "_late_at_once", recording)
    monkeypatch.setattr(readers, "LATE_BELOW", 2.0)
    got = jetliner.scan_avro(data_file).filter(pl.col("id") % 100 == 3).collect()
    assert got["id"].to_list() == list(range(3, 5000, 100))
    assert results
    at_once = [r is not None for r in results]
    assert all(at_once) if "snappy" in data_file.name else not any(at_once)


def snappy_block(payload: bytes) -> bytes:
    """A block's data as Avro's snappy codec has it (cramjam's compressor, then the CRC)."""
    import zlib

    import cramjam

    return bytes(cramjam.snappy.compress_raw(payload)) + zlib.crc32(payload).to_bytes(4, "big")


def _damaged_blocks(kind: str) -> list[tuple[int, bytes]]:
    """Three snappy blocks of (id, s) records, the second damaged as `kind` says."""
    def payload(lo: int, hi: int, bad: int | None = None) -> bytes:
        return b"".join(zigzag(i) + avro_bytes(b"\xff" if i == bad else b"ok")
                        for i in range(lo, hi))

    blocks = [(10, snappy_block(payload(0, 10))), None, (10, snappy_block(payload(20, 30)))]
    if kind == "invalid value":  # in a row that passes
        blocks[1] = (10, snappy_block(payload(10, 20, bad=14)))
    elif kind == "crc":
        data = snappy_block(payload(10, 20))
        blocks[1] = (10, data[:-1] + bytes([data[-1] ^ 1]))
    elif kind == "bytes after the records":
        blocks[1] = (10, snappy_block(payload(10, 20) + b"\x00"))
    elif kind == "more records than bytes":
        blocks[1] = (1000, snappy_block(payload(10, 20)))
    elif kind == "bad element":
        blocks[1] = (10, b"\x14\x03" + b"ab" * 8)
    return blocks


DAMAGE = ["invalid value", "crc", "bytes after the records", "more records than bytes",
          "bad element"]


@pytest.mark.parametrize("kind", DAMAGE)
def test_damage_in_a_snappy_task_fails_as_in_one_pass(tmp_path: Path, monkeypatch,
                                                      kind: str) -> None:
    # the at-once path gives up on the task and the block-by-block path names the damage
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "id", "type": "long"}, {"name": "s", "type": "string"}]}
    path = tmp_path / "bad.avro"
    path.write_bytes(container(schema, _damaged_blocks(kind), codec="snappy"))
    query = jetliner.scan_avro(path).filter(pl.col("id") % 2 == 0)
    errors = []
    for late in (2.0, -1.0):
        monkeypatch.setattr(readers, "LATE_BELOW", late)
        with pytest.raises(jetliner.JetlinerError) as info:
            query.collect()
        e = info.value
        errors.append((type(e), e.variant, e.block_index, getattr(e, "record_index", None),
                       e.message))
    assert errors[0] == errors[1]
    assert errors[0][2] == 1  # the second block


def test_a_damaged_value_in_a_row_that_passes_fails_as_in_one_pass(tmp_path: Path,
                                                                  path_taken: str) -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "id", "type": "long"}, {"name": "s", "type": "string"}]}
    good = b"".join(zigzag(i) + avro_bytes(b"ok") for i in range(10))
    bad = b"".join(zigzag(i) + avro_bytes(b"\xff" if i == 14 else b"ok") for i in range(10, 20))
    path = tmp_path / "bad.avro"
    path.write_bytes(container(schema, [(10, good), (10, bad)]))
    query = jetliner.scan_avro(path).filter(pl.col("id") % 2 == 0)
    with pytest.raises(jetliner.DecodeError) as info:
        query.collect()
    assert (info.value.block_index, info.value.record_index) == (1, 4)
    assert info.value.variant == "InvalidData"
    # skip mode keeps the block's records before the damaged one
    with pytest.warns(jetliner.SkippedDataWarning):
        df = jetliner.scan_avro(path, ignore_errors=True).filter(pl.col("id") % 2 == 0).collect()
    assert df["id"].to_list() == [0, 2, 4, 6, 8, 10, 12]


def test_a_damaged_value_in_a_rejected_row_is_not_read_late(tmp_path: Path,
                                                            monkeypatch) -> None:
    # decoded late, the other columns of rows the filter rejects are skipped, not
    # validated (as Parquet readers skip them); in one pass they are decoded, and fail
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "id", "type": "long"}, {"name": "s", "type": "string"}]}
    payload = b"".join(zigzag(i) + avro_bytes(b"\xff" if i == 4 else b"ok") for i in range(10))
    path = tmp_path / "bad.avro"
    path.write_bytes(container(schema, [(10, payload)]))
    monkeypatch.setattr(readers, "LATE_BELOW", 2.0)
    df = jetliner.scan_avro(path).filter(pl.col("id") % 2 == 1).collect()
    assert df["id"].to_list() == [1, 3, 5, 7, 9]
    monkeypatch.setattr(readers, "LATE_BELOW", -1.0)
    with pytest.raises(jetliner.DecodeError):
        jetliner.scan_avro(path).filter(pl.col("id") % 2 == 1).collect()


@pytest.mark.parametrize("batch_size", [300, 5000])
def test_skip_mode_with_a_filter_keeps_what_skip_mode_keeps_without(tmp_path: Path,
                                                                    batch_size: int) -> None:
    # skip mode never decodes late: a damaged value cuts its block where a plain read
    # cuts it, whatever the filter keeps and however the rows are batched
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "k", "type": "long"}, {"name": "s", "type": "string"}]}
    blocks = [(100, b"".join(zigzag(i) + avro_bytes(b"\xff" if i == 700 else b"ok")
                             for i in range(b * 100, b * 100 + 100))) for b in range(20)]
    path = tmp_path / "damaged.avro"
    path.write_bytes(container(schema, blocks))
    predicate = pl.col("k") != 700
    with pytest.warns(jetliner.SkippedDataWarning):
        expected = jetliner.read_avro(path, ignore_errors=True).filter(predicate)
    with pytest.warns(jetliner.SkippedDataWarning):
        got = jetliner.scan_avro(path, ignore_errors=True, batch_size=batch_size).filter(
            predicate).collect()
    assert_frame_equal(got, expected)
    assert got.height == 1900  # block 7 keeps the records before 700


def test_extra_columns_named_like_patterns(data_file: Path) -> None:
    # what a filter keeps is copied column by column, not by name: "^id$" is a name
    lf = jetliner.scan_avro(data_file, row_index_name="^id$", include_file_paths="^s$")
    got = lf.filter(pl.col("small") > 990).collect()
    assert got.columns[0] == "^id$" and got.columns[-1] == "^s$"
    assert_frame_equal(got, lf.collect().filter(pl.col("small") > 990))
