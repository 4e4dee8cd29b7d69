"""A data lake on the loopback S3 server: Kafka Connect's Hive layout, three schema
versions, 500+ small objects.  Values are checked against fastavro's reading of each
object; pruning is checked on the requests that reach the server (the fault proxy)."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

import fastavro
import polars as pl
import pytest
from faultproxy import FaultProxy
from polars.testing import assert_frame_equal
from s3util import KEY_ID, SECRET

import jetliner

# v1 has a channel, v2 dropped it, v3 added a nullable note
V1 = {"type": "record", "name": "Event", "fields": [
    {"name": "id", "type": "long"}, {"name": "amount", "type": "double"},
    {"name": "channel", "type": "string", "default": "web"}]}
V2 = {"type": "record", "name": "Event", "fields": [
    {"name": "id", "type": "long"}, {"name": "amount", "type": "double"}]}
V3 = {"type": "record", "name": "Event", "fields": [
    {"name": "id", "type": "long"}, {"name": "amount", "type": "double"},
    {"name": "note", "type": ["null", "string"], "default": None}]}

TOPIC = "topics/events"
PARTITIONS = 3   # Kafka partitions: one object per partition and flush
FLUSHES = 3      # objects per partition and day


def _days() -> list[tuple[int, int]]:
    return [(1, d) for d in range(1, 32)] + [(2, d) for d in range(1, 29)]


def _schema(month: int, day: int) -> dict[str, Any]:
    if month == 1:
        return V1 if day <= 15 else V2
    return V3


@pytest.fixture(scope="module")
def lake(s3_server: tuple[str, int]) -> dict[str, Any]:
    """Write the lake once; returns the bucket, each object's key and its rows (fastavro's)."""
    import boto3

    client = boto3.client("s3", endpoint_url=s3_server[0], aws_access_key_id=KEY_ID,
                          aws_secret_access_key=SECRET, region_name="us-east-1")
    bucket = "hive-lake"
    client.create_bucket(Bucket=bucket)
    objects: list[tuple[str, bytes, dict[str, Any]]] = []
    next_id = 0
    for month, day in _days():
        schema = _schema(month, day)
        for partition in range(PARTITIONS):
            for flush in range(FLUSHES):
                offset = flush * 2
                rows = []
                for _ in range(2):
                    row: dict[str, Any] = {"id": next_id, "amount": next_id / 4}
                    if schema is V1:
                        row["channel"] = "app" if next_id % 3 else "web"
                    if schema is V3:
                        row["note"] = None if next_id % 2 else f"n{next_id}"
                    rows.append(row)
                    next_id += 1
                buf = io.BytesIO()
                fastavro.writer(buf, fastavro.parse_schema(schema), rows)
                key = (f"{TOPIC}/year=2024/month={month:02d}/day={day:02d}/"
                       f"events+{partition}+{offset:010d}.avro")
                objects.append((key, buf.getvalue(),
                                {"year": 2024, "month": month, "day": day}))
    # the markers writers leave beside the data
    extra = [(f"{TOPIC}/_SUCCESS", b""), (f"{TOPIC}/.events.crc", b"not avro")]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda o: client.put_object(Bucket=bucket, Key=o[0], Body=o[1]),
                      [*objects, *extra]))
    # what fastavro reads of each object, with its partition values, in key order
    read = []
    for key, data, parts in sorted(objects, key=lambda o: o[0]):
        read.append((key, list(fastavro.reader(io.BytesIO(data))), parts))
    assert len(read) >= 500
    return {"bucket": bucket, "objects": read}


@pytest.fixture
def proxy(s3_server: tuple[str, int]):
    with FaultProxy(s3_server[1]) as p:
        yield p


def _options(proxy: FaultProxy) -> dict[str, Any]:
    return {"endpoint": proxy.url, "aws_access_key_id": KEY_ID,
            "aws_secret_access_key": SECRET, "region": "us-east-1", "max_retries": 0}


def _expected(lake: dict[str, Any], columns: dict[str, pl.DataType],
              fill: dict[str, Any]) -> pl.DataFrame:
    """fastavro's rows of every object, in key order, as `columns`, plus the partitions."""
    rows = []
    for _, records, parts in lake["objects"]:
        for r in records:
            rows.append({**{c: r.get(c, fill.get(c)) for c in columns}, **parts})
    return pl.DataFrame(rows, schema={**columns, "year": pl.Int64, "month": pl.Int64,
                                      "day": pl.Int64})


def _object_gets(proxy: FaultProxy) -> list[str]:
    """The object keys the read fetched (GETs of an object, not listings)."""
    return [unquote(path.split("?")[0]).split("/", 2)[2]
            for _, path, _, _ in proxy.requests("GET") if "list-type" not in path]


def test_union_by_name_reads_every_version(lake: dict[str, Any], proxy: FaultProxy) -> None:
    url = f"s3://{lake['bucket']}/{TOPIC}/"
    proxy.clear()
    lf = jetliner.scan_avro(url, union_by_name=True, storage_options=_options(proxy))
    # one recursive listing of the prefix, not a request per folder
    lists = [r for r in proxy.requests(None) if "list-type" in r[1]]
    assert len(lists) == 1
    # v2 and v3 lack channel: its v1 default
    expected = _expected(lake, UNION, {"channel": "web"})
    assert lf.collect_schema() == expected.schema
    assert_frame_equal(lf.collect(), expected)


def test_missing_columns_insert_reads_the_first_files_columns(
        lake: dict[str, Any], proxy: FaultProxy) -> None:
    url = f"s3://{lake['bucket']}/{TOPIC}/"
    df = jetliner.read_avro(url, missing_columns="insert", extra_columns="ignore",
                            storage_options=_options(proxy))
    assert_frame_equal(df, _expected(lake, FIRST, {"channel": "web"}))
    # v3's extra column is refused unless ignored (February alone: pruned to v3 files)
    lf = jetliner.scan_avro(url, missing_columns="insert", storage_options=_options(proxy))
    with pytest.raises(jetliner.SchemaError, match="note"):
        lf.filter(pl.col("month") == 2).collect()


FIRST = {"id": pl.Int64(), "amount": pl.Float64(), "channel": pl.String()}
UNION = {**FIRST, "note": pl.String()}


@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
@pytest.mark.parametrize("union", [True, False])
def test_a_filter_on_day_reads_only_that_days_objects(
        lake: dict[str, Any], proxy: FaultProxy, engine: Any, union: bool) -> None:
    url = f"s3://{lake['bucket']}/{TOPIC}/"
    options: dict[str, Any] = ({"union_by_name": True} if union else
                               {"missing_columns": "insert", "extra_columns": "ignore"})
    lf = jetliner.scan_avro(url, storage_options=_options(proxy), **options)
    proxy.clear()  # the scan listed the prefix and read headers: count the query alone
    query = (pl.col("day") == 21) & (pl.col("amount") > 1)
    got = lf.filter(query).collect(engine=engine)
    expected = _expected(lake, UNION if union else FIRST, {"channel": "web"})
    assert_frame_equal(got, expected.filter(query))
    day21 = [key for key, _, parts in lake["objects"] if parts["day"] == 21]
    assert len(day21) == 2 * PARTITIONS * FLUSHES  # in January and in February
    fetched = _object_gets(proxy)
    assert sorted(set(fetched)) == sorted(day21)
    assert len(fetched) == len(day21)  # a small object: one request each
    assert not proxy.requests("HEAD") and not [r for r in proxy.requests(None)
                                               if "list-type" in r[1]]
    # a filter on the partitions alone that no file passes: no request at all
    proxy.clear()
    assert lf.filter(pl.col("month") == 3).collect(engine=engine).height == 0
    assert not proxy.requests(None)


@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
def test_a_reader_schema_reads_every_version_with_the_partitions(
        lake: dict[str, Any], proxy: FaultProxy, engine: Any) -> None:
    url = f"s3://{lake['bucket']}/{TOPIC}/"
    reader = {**V1, "fields": [*V1["fields"], V3["fields"][2]]}  # channel and note
    lf = jetliner.scan_avro(url, reader_schema=reader, storage_options=_options(proxy))
    expected = _expected(lake, UNION, {"channel": "web"})
    assert lf.collect_schema() == expected.schema
    assert_frame_equal(lf.collect(engine=engine), expected)
    proxy.clear()
    query = (pl.col("day") == 21) & (pl.col("amount") > 1)
    assert_frame_equal(lf.filter(query).collect(engine=engine), expected.filter(query))
    day21 = [key for key, _, parts in lake["objects"] if parts["day"] == 21]
    assert sorted(_object_gets(proxy)) == sorted(day21)  # pruned: that day's objects only
