"""Globs of many small objects: opened several ahead, concurrently, read in order,
and nothing requested once the reader is closed."""

from __future__ import annotations

import io
import time

import fastavro
import polars as pl
import pytest
from faultproxy import FaultProxy
from polars.testing import assert_frame_equal
from s3util import KEY_ID, SECRET, avro, expected

import jetliner
from jetliner.opening import MAX_OPENS_AHEAD

OBJECTS = 40


@pytest.fixture
def small(s3_client, bucket, s3_server):
    """OBJECTS small objects of 1 to 120 rows behind a fault proxy.

    Yields (proxy, glob URL, storage options, the objects' bytes in name order).
    """
    blobs = [avro(1 + (n * 37) % 120, seed=n) for n in range(OBJECTS)]
    for n, blob in enumerate(blobs):
        s3_client.put_object(Bucket=bucket, Key=f"small/part-{n:03d}.avro", Body=blob)
    with FaultProxy(s3_server[1]) as proxy:
        opts = {"endpoint": proxy.url, "aws_access_key_id": KEY_ID,
                "aws_secret_access_key": SECRET, "region": "us-east-1"}
        yield proxy, f"s3://{bucket}/small/*.avro", opts, blobs


def _object(path: str) -> int | None:
    """The number of the object a request path names, if any."""
    name = path.split("?")[0].rsplit("/", 1)[-1]
    return int(name[5:8]) if name.startswith("part-") else None


def test_rows_order_index_and_paths_are_exact(small) -> None:
    proxy, url, opts, blobs = small
    bucket = url.split("/")[2]
    parts = []
    for n, blob in enumerate(blobs):
        parts.append(expected(blob).with_columns(
            pl.lit(f"s3://{bucket}/small/part-{n:03d}.avro").alias("path")))
    want = pl.concat(parts).with_row_index("i", offset=7)
    got = jetliner.read_avro(url, storage_options=opts, row_index_name="i",
                             row_index_offset=7, include_file_paths="path")
    assert_frame_equal(got, want)
    # one GET per object: each is read whole by its open (no HEAD, no second range)
    gets = [r for r in proxy.requests(None) if _object(r[1]) is not None]
    assert sorted(_object(r[1]) for r in gets) == list(range(OBJECTS))
    assert {r[0] for r in gets} == {"GET"}
    # n_rows spanning several objects: the same rows as the full read's first ones
    assert_frame_equal(jetliner.read_avro(url, storage_options=opts, n_rows=500,
                                          row_index_name="i", row_index_offset=7,
                                          include_file_paths="path"), want.head(500))


def test_objects_are_opened_ahead_while_earlier_ones_are_read(small) -> None:
    proxy, url, opts, _ = small
    with jetliner.open(url, storage_options=opts) as reader:
        while reader.current_source_index < 1:
            next(reader)
        # reading the second object queued the opens of the next ones at once
        deadline = time.monotonic() + 30
        while True:
            opened = {_object(r[1]) for r in proxy.requests("GET")} - {None}
            if len(opened) >= 2 + MAX_OPENS_AHEAD or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        # the one read first, the one being read, and MAX_OPENS_AHEAD after it: no more
        assert opened == set(range(2 + MAX_OPENS_AHEAD))


def _wait_for_a_late_open(proxy: FaultProxy) -> None:
    deadline = time.monotonic() + 30
    while not any(_late(*r[:3]) for r in proxy.log) and time.monotonic() < deadline:
        time.sleep(0.01)


def _late(method: str, path: str, rng: str | None) -> bool:
    n = _object(path)
    return method == "GET" and n is not None and n >= 2


@pytest.mark.parametrize("stop", ["iterator", "exception", "head"])
def test_no_open_ahead_requests_after_the_reader_stops(small, sleeps, stop: str) -> None:
    """Opens ahead that answer 503 slowly are in flight when the reader stops: none
    is retried, and none queued is sent, once it has returned."""
    proxy, url, opts, blobs = small
    proxy.add("slow-status", (0.5, 503), match=_late, times=1000)
    if stop == "iterator":
        with jetliner.open(url, storage_options=opts) as reader:
            while reader.current_source_index < 1:
                next(reader)
            _wait_for_a_late_open(proxy)
    elif stop == "exception":
        with pytest.raises(KeyError), jetliner.open(url, storage_options=opts) as reader:
            while reader.current_source_index < 1:
                next(reader)
            _wait_for_a_late_open(proxy)
            raise KeyError("the consumer fails")
    else:
        rows = len(expected(blobs[0])) + 1  # into the second object
        assert jetliner.scan_avro(url, storage_options=opts).head(rows).collect().height == rows
    stopped = time.monotonic()
    time.sleep(1.5)  # the slow answers arrive; a retry would follow at once
    assert proxy.requests_after(stopped) == []
    if stop != "head":  # (head may stop before any open ahead was sent)
        assert any(_late(*r[:3]) for r in proxy.log)
    assert sleeps == []  # no open ahead was retried


def test_an_object_failing_to_open_fails_the_read_when_reached(small, s3_client) -> None:
    proxy, url, opts, blobs = small
    bucket = url.split("/")[2]
    s3_client.put_object(Bucket=bucket, Key="small/part-005.avro", Body=b"not avro at all")
    reader = jetliner.open(url, storage_options=opts)
    seen = []
    with reader, pytest.raises(jetliner.JetlinerError, match="part-005") as info:
        for df in reader:
            seen.append(df)
    assert "Avro" in str(info.value)
    # the objects before it were read whole, in order
    assert_frame_equal(pl.concat(seen), pl.concat([expected(b) for b in blobs[:5]]))
    # a read that stops before it does not fail
    rows = sum(len(list(fastavro.reader(io.BytesIO(b)))) for b in blobs[:5])
    assert jetliner.read_avro(url, storage_options=opts, n_rows=rows).height == rows
