"""Splits of objects on the loopback S3 server: planned from sizes alone, read with
the same storage options, every record exactly once."""

from __future__ import annotations

import pickle

import polars as pl
from s3util import KEY_ID, SECRET, avro, expected

import jetliner


def test_splits_of_s3_objects(s3_server, s3_client, bucket) -> None:
    opts = {"endpoint": s3_server[0], "aws_access_key_id": KEY_ID,
            "aws_secret_access_key": SECRET, "max_retries": 0}
    data = {k: avro(4000, seed=k, codec="deflate", sync_interval=3000) for k in (1, 2)}
    for k, body in data.items():
        s3_client.put_object(Bucket=bucket, Key=f"sp/{k}.avro", Body=body)
    splits = jetliner.plan_splits(f"s3://{bucket}/sp/*.avro", split_size=20_000,
                                  storage_options=opts)
    assert [s.path for s in splits] == sorted(s.path for s in splits)
    assert len(splits) > 4
    # splits travel to other processes without the credentials
    assert all(KEY_ID not in repr(pickle.loads(pickle.dumps(s))) for s in splits)
    frames = [jetliner.read_avro(s, storage_options=opts) for s in splits]
    got = pl.concat(frames)
    want = pl.concat([expected(data[1]), expected(data[2])])
    assert got.equals(want)
    lazy = pl.concat([jetliner.scan_avro(s, storage_options=opts) for s in splits])
    assert lazy.select(pl.len()).collect().item() == 8000


def test_planning_the_splits_of_a_glob_costs_no_request_per_object(s3_server, s3_client,
                                                                   bucket) -> None:
    from faultproxy import FaultProxy

    for k in range(6):
        s3_client.put_object(Bucket=bucket, Key=f"many/{k}.avro", Body=avro(500, seed=k))
    with FaultProxy(s3_server[1]) as proxy:
        opts = {"endpoint": proxy.url, "aws_access_key_id": KEY_ID,
                "aws_secret_access_key": SECRET}
        splits = jetliner.plan_splits(f"s3://{bucket}/many/*.avro", split_size=4_000,
                                      storage_options=opts)
        # the listing alone: no ranged GET (an open) and no HEAD of an object (s3fs may
        # look at the prefix itself once)
        assert proxy.requests("GET", ranged=True) == []
        assert [r for r in proxy.requests("HEAD") if r[1].endswith(".avro")] == []
        assert proxy.requests("GET", ranged=False)  # the listing went through the proxy
        sizes = {s.path: s.file_size for s in splits}
        assert sizes == {f"s3://{bucket}/many/{k}.avro": len(avro(500, seed=k))
                         for k in range(6)}
        # and the splits read every record exactly once, through the same proxy
        got = pl.concat([jetliner.read_avro(s, storage_options=opts) for s in splits])
    assert got.height == 3000
