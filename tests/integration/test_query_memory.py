"""What a query keeps of a batch does not keep the batch alive (buffer ownership, not RSS)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import jetliner
from jetliner import _decoder, query, readers
from jetliner.frames import empty_frame
from jetliner.threads import DECODE_THREADS

SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "id", "type": "long"},
    {"name": "text", "type": "string"},
    {"name": "blob", "type": ["null", "bytes"]},
    {"name": "tags", "type": {"type": "array", "items": "string"}}]}


def rows(n: int) -> list[dict]:
    return [{"id": i, "text": f"a string long enough not to be inlined {i:08d}",
             "blob": None if i % 7 == 0 else f"bytes of row {i:010d}".encode(),
             "tags": [f"tag number {i % 5:04d} of the row"] * (i % 3)} for i in range(n)]


@pytest.fixture
def live_buffers() -> Iterator[None]:
    """Every buffer freed is unmapped at once, so that live mappings count what is held."""
    _decoder._set_buffer_pool_limit(0)
    yield
    _decoder._set_buffer_pool_limit(32 << 20)  # the allocator's default


def held() -> int:
    """Live buffer mappings, once every decoding thread is idle (a query stopped early
    may leave a batch decoding ahead, which frees its buffers when done)."""
    pool = DECODE_THREADS.get()
    workers = pool._max_workers
    barrier = threading.Barrier(workers + 1)
    for _ in range(workers):
        pool.submit(barrier.wait, 30)
    barrier.wait(30)
    gc.collect()
    return _decoder._buffer_pool_stats()[1]


@pytest.fixture
def big(avro_file) -> Path:
    # batches of 20,000 rows whose string buffers are mapped (over 64 KiB each)
    return avro_file(SCHEMA, rows(60_000), codec="deflate")


SELECTIVE = pl.col("id") % 100 == 3
# contiguous rows: Polars' filter may return a slice of each column
CONTIGUOUS = (pl.col("id") >= 1000) & (pl.col("id") < 1100)


@pytest.mark.parametrize("late", [True, False])
@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
@pytest.mark.parametrize(("predicate", "height"), [(SELECTIVE, 600), (CONTIGUOUS, 100),
                                                   (pl.col("id") < 0, 0)])
def test_a_selective_filter_result_holds_no_batch(big: Path, live_buffers, engine,
                                                  predicate, height, late: bool,
                                                  monkeypatch) -> None:
    monkeypatch.setattr(readers, "LATE_BELOW", 2.0 if late else -1.0)
    before = held()
    df = jetliner.scan_avro(big, batch_size=20_000).filter(predicate).collect(engine=engine)
    assert df.height == height
    assert held() == before
    assert_frame_equal(df, jetliner.scan_avro(big).filter(predicate).collect(
        optimizations=pl.QueryOptFlags.none()))


def test_the_check_sees_a_held_batch(big: Path, live_buffers, monkeypatch) -> None:
    # the same query, in one pass and without copying what it keeps: the result holds
    # every batch's strings, which the check above would see
    monkeypatch.setattr(query, "KEEP_TO_SHARE", 0.0)
    monkeypatch.setattr(readers, "LATE_BELOW", -1.0)
    before = held()
    df = jetliner.scan_avro(big, batch_size=20_000).filter(SELECTIVE).collect()
    assert df.height == 600
    assert held() > before


def test_a_row_limit_after_a_filter_holds_no_batch(big: Path, live_buffers) -> None:
    # n_rows counts rows that pass the filter: the reader cuts the batch that completes
    # it (a slice, sharing every buffer), then copies the slice.  (A .head() after a
    # .filter() is not pushed down: Polars slices the batch itself.)
    before = held()
    df = jetliner.scan_avro(big, batch_size=20_000, n_rows=50).filter(
        pl.col("id") >= 10).collect()
    assert df["id"].to_list() == list(range(10, 60))
    assert held() == before


def test_owned_copies_every_kind_of_column(big: Path) -> None:
    with jetliner.open(big, batch_size=20_000) as reader:
        batch = next(reader)
    part = batch.filter(SELECTIVE)
    copy = query.owned(part)
    assert_frame_equal(copy, part)
    assert_frame_equal(query.owned(batch.head(3)), batch.head(3))


@pytest.mark.parametrize("late", [True, False])
@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
def test_a_selective_filter_result_is_one_chunk_not_one_per_batch(big: Path, late: bool,
                                                                  engine: str,
                                                                  monkeypatch) -> None:
    # each frame handed to Polars becomes a chunk of the result, with its bookkeeping
    # (about 700 bytes a column): a few rows from each of many batches are joined first
    monkeypatch.setattr(readers, "LATE_BELOW", 2.0 if late else -1.0)
    lf = jetliner.scan_avro(big, batch_size=1000)
    df = lf.filter(pl.col("id") % 1000 == 3).collect(engine=engine)
    assert df.height == 60
    if engine == "in-memory":
        assert df.n_chunks("all") == [1] * df.width
    assert_frame_equal(df, lf.collect().filter(pl.col("id") % 1000 == 3))


def test_full_batches_reach_polars_as_they_are(big: Path) -> None:
    # batches large enough are neither joined nor copied: one chunk each
    with jetliner.open(big, batch_size=20_000) as reader:
        batches = sum(1 for _ in reader)
    assert batches > 1
    df = jetliner.scan_avro(big, batch_size=20_000).collect()
    assert df.n_chunks("all") == [batches] * df.width


def test_joined_keeps_order_and_rows() -> None:
    small = [pl.DataFrame({"a": [i], "s": [f"v{i}"]}) for i in range(10)]
    large = pl.DataFrame({"a": list(range(100, 2100)), "s": ["x" * 20] * 2000})
    frames = small[:4] + [large] + small[4:]
    out = list(query.joined(frames, per_column=1024))
    assert [f.height for f in out] == [4, 2000, 6]  # the small ones before and after
    assert_frame_equal(pl.concat(out), pl.concat(frames))
    assert all(n == 1 for f in out for n in f.n_chunks("all"))
    # frames without columns keep their heights
    assert [f.height for f in query.joined([empty_frame(2), empty_frame(3)])] == [5]
