"""The command line over S3 (the loopback moto server): URLs, globs, ``-s`` options,
the environment, and a missing object."""

from __future__ import annotations

import io
import json

import fastavro
import polars as pl
from s3util import KEY_ID, SECRET, avro, expected

from jetliner.cli import main


def options(s3_server) -> list[str]:
    return ["-s", f"endpoint={s3_server[0]}", "-s", f"aws_access_key_id={KEY_ID}",
            "-s", f"aws_secret_access_key={SECRET}", "-s", "max_retries=0"]


def put(s3_client, bucket: str, key: str, data: bytes) -> str:
    s3_client.put_object(Bucket=bucket, Key=key, Body=data)
    return f"s3://{bucket}/{key}"


def test_count_head_schema_over_a_glob(capsys, s3_server, s3_client, bucket) -> None:
    a = put(s3_client, bucket, "events/a.avro", avro(1500, seed=1, codec="deflate",
                                                     sync_interval=2000))
    b = put(s3_client, bucket, "events/b.avro", avro(700, seed=2, codec="snappy"))
    assert main(["count", f"s3://{bucket}/events/*.avro", *options(s3_server)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"1500\t{a}", f"700\t{b}", "2200\ttotal"]

    assert main(["head", "-n", "4", "--ndjson", b, *options(s3_server)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    truth = list(fastavro.reader(io.BytesIO(avro(700, seed=2, codec="snappy"))))
    assert rows == truth[:4]

    assert main(["schema", a, *options(s3_server)]) == 0
    assert json.loads(capsys.readouterr().out) == fastavro.reader(
        io.BytesIO(avro(1))).writer_schema


def test_convert_from_s3_with_credentials_from_the_environment(
        capsys, monkeypatch, s3_server, s3_client, bucket, tmp_path) -> None:
    data = avro(3000, seed=3, codec="zstandard", sync_interval=4000)
    url = put(s3_client, bucket, "in/t.avro", data)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server[0])
    out = tmp_path / "t.parquet"
    assert main(["convert", url, str(out), "--no-progress"]) == 0
    assert pl.read_parquet(out).equals(expected(data))


def test_meta_over_s3(capsys, s3_server, s3_client, bucket) -> None:
    data = avro(900, codec="deflate", sync_interval=1000)
    url = put(s3_client, bucket, "m.avro", data)
    assert main(["meta", "--json", url, *options(s3_server)]) == 0
    meta = json.loads(capsys.readouterr().out)
    blocks = list(fastavro.block_reader(io.BytesIO(data)))
    assert (meta["rows"], meta["blocks"], meta["size"], meta["codec"]) == (
        900, len(blocks), len(data), "deflate")


def test_missing_object_and_bucket(capsys, s3_server, s3_client, bucket) -> None:
    assert main(["count", f"s3://{bucket}/nope.avro", *options(s3_server)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("jetliner: error: ") and err.count("\n") == 1
    assert "nope.avro" in err
    assert main(["head", "s3://no-such-bucket-here/x.avro", *options(s3_server)]) == 1
    assert "no-such-bucket-here" in capsys.readouterr().err


def test_unknown_storage_option(capsys, s3_server, s3_client, bucket) -> None:
    url = put(s3_client, bucket, "c.avro", avro(10))
    assert main(["count", url, "-s", "endpoit=http://127.0.0.1:1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("jetliner: error: ") and "'endpoit'" in err and "known" in err


def test_schemas_over_an_s3_glob(capsys, s3_server, s3_client, bucket) -> None:
    """Every object's header is read; the evolved one is its own group."""
    import s3util

    evolved = {**s3util.SCHEMA, "fields": [*s3util.SCHEMA["fields"],
                                           {"name": "tier", "type": "int", "default": 0}]}
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(evolved),
                    [{**r, "tier": 1} for r in s3util.records(5)])
    urls = [put(s3_client, bucket, f"lake/p{n:02d}.avro",
                buf.getvalue() if n == 7 else avro(3, seed=n)) for n in range(12)]
    assert main(["schemas", "--json", f"s3://{bucket}/lake/*.avro", *options(s3_server)]) == 0
    groups = json.loads(capsys.readouterr().out)
    assert [g["paths"] for g in groups] == [urls[:7] + urls[8:], [urls[7]]]
    assert groups[1]["schema"] == fastavro.reader(io.BytesIO(buf.getvalue())).writer_schema
    assert groups[1]["changes"] == ["+ tier: int (default 0)"]
