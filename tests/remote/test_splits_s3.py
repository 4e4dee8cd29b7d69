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
