"""Projection, predicate and row-limit pushdown: on the plan, against the
unoptimised plan, in both engines, and in bytes actually read."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from conftest import write_avro
from polars.testing import assert_frame_equal

import jetliner
from jetliner.sources import LocalSource

SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "id", "type": "long"},
    {"name": "group", "type": "int"},
    {"name": "label", "type": "string"},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "value", "type": ["null", "double"]}]}


def make_rows(n: int) -> list[dict]:
    return [{"id": i, "group": i % 97, "label": f"row-{i}", "tags": ["a", "b"][: i % 3],
             "value": None if i % 10 == 0 else i * 0.5} for i in range(n)]


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("push") / "million.avro"
    path.write_bytes(write_avro(SCHEMA, make_rows(1_000_000), codec="snappy"))
    return path


@pytest.fixture(scope="module")
def small_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("push") / "small.avro"
    path.write_bytes(write_avro(SCHEMA, make_rows(5000), codec="deflate", sync_interval=4000))
    return path


class CountingSource(LocalSource):
    """A local file whose ranged reads are counted."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.bytes_read = 0
        self.requests = 0

    def open(self, cancelled=None, *, memory_map=True):
        inner = super().open(cancelled, memory_map=memory_map)
        outer = self

        class Counted:
            size = inner.size

            def read_range(self, start: int, end: int) -> bytes:
                outer.requests += 1
                data = inner.read_range(start, end)
                outer.bytes_read += len(data)
                return data

            def close(self) -> None:
                inner.close()

        return Counted()


QUERIES = {
    "select": lambda lf: lf.select("label", "id"),
    "filter": lambda lf: lf.filter(pl.col("group") == 5),
    "filter_select": lambda lf: lf.filter(pl.col("value") > 1000).select("id"),
    "head": lambda lf: lf.head(17),
    "filter_head": lambda lf: lf.filter(pl.col("group") < 3).head(11),
    "combined": lambda lf: lf.select("id", "value", "group").filter(pl.col("value") > 100).head(50),
    "slice": lambda lf: lf.slice(4000, 20),
    "count": lambda lf: lf.select(pl.len()),
    "with_index": lambda lf: lf.with_row_index("i").filter(pl.col("i") % 1000 == 0),
}


@pytest.mark.parametrize("name", sorted(QUERIES))
@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
def test_optimised_equals_unoptimised(small_file: Path, name: str, engine: str) -> None:
    lf = QUERIES[name](jetliner.scan_avro(small_file, batch_size=700))
    expected = lf.collect(optimizations=pl.QueryOptFlags.none(), engine="in-memory")
    assert_frame_equal(lf.collect(engine=engine), expected)
    data = pl.DataFrame(make_rows(5000), schema=jetliner.read_avro_schema(small_file))
    reference = QUERIES[name](data.lazy())
    assert_frame_equal(expected, reference.collect())


def test_plan_shows_projection_and_predicate(small_file: Path) -> None:
    plan = jetliner.scan_avro(small_file).filter(pl.col("group") == 5).select("id").explain()
    assert "PYTHON[jetliner] SCAN" in plan
    assert "PROJECT 2/5 COLUMNS" in plan
    assert ('SELECTION: [(col("group")) == (5)]' in plan
            or 'SELECTION: col("group") == 5' in plan.replace("dyn int: ", ""))


def test_predicate_is_applied_inside_the_source(small_file: Path) -> None:
    # Polars does not filter the batches of an IO plugin again: only rows the source
    # itself filtered can come out
    out = jetliner.scan_avro(small_file, batch_size=1000).filter(pl.col("group") == 5).collect()
    assert out.height == sum(1 for r in make_rows(5000) if r["group"] == 5)
    assert (out["group"] == 5).all()


def test_head_reads_under_five_percent_of_a_million_row_file(big_file: Path) -> None:
    size = big_file.stat().st_size
    src = CountingSource(big_file)
    df = jetliner.scan_avro(src).head(10).collect()
    assert df["id"].to_list() == list(range(10))
    assert src.bytes_read < 0.05 * size, (src.bytes_read, size)

    src_full = CountingSource(big_file)
    assert jetliner.scan_avro(src_full).select(pl.len()).collect().item() == 1_000_000
    assert src_full.bytes_read >= size


def test_n_rows_stops_reading(big_file: Path) -> None:
    src = CountingSource(big_file)
    assert jetliner.read_avro(src, n_rows=1000).height == 1000
    assert src.bytes_read < 0.05 * big_file.stat().st_size
    with jetliner.open(CountingSource(big_file), n_rows=5) as reader:
        assert [b.height for b in reader] == [5]


def test_projection_skips_unselected_columns(big_file: Path) -> None:
    df = jetliner.scan_avro(big_file).select("group").collect()
    assert df.columns == ["group"] and df.height == 1_000_000
    assert df["group"].sum() == sum(i % 97 for i in range(1_000_000))
