"""write_avro and sink_avro to S3 (the loopback moto server): an object appears only
once complete, and a failed write leaves neither an object nor a multipart upload."""

from __future__ import annotations

import io

import fastavro
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from s3util import KEY_ID, SECRET

import jetliner
import jetliner.remote


def options(s3_server) -> dict[str, str]:
    return {"endpoint": s3_server[0], "aws_access_key_id": KEY_ID,
            "aws_secret_access_key": SECRET, "region": "us-east-1"}


def big_frame(rows: int) -> pl.DataFrame:
    """Incompressible enough that a null-codec write spans several 16 MiB parts."""
    ints = pl.int_range(0, rows, eager=True)
    return pl.DataFrame({"i": ints, "s": ints.cast(pl.String).str.pad_start(40, "x")})


@pytest.mark.parametrize("rows", [10, 900_000])
def test_a_frame_is_written_to_s3(s3_server, s3_client, bucket, rows: int) -> None:
    df = big_frame(rows)
    url = f"s3://{bucket}/out/{rows}.avro"
    jetliner.write_avro(df, url, codec="null", storage_options=options(s3_server))
    body = s3_client.get_object(Bucket=bucket, Key=f"out/{rows}.avro")["Body"].read()
    assert [r["i"] for r in fastavro.reader(io.BytesIO(body))] == df["i"].to_list()
    assert_frame_equal(jetliner.read_avro(url, storage_options=options(s3_server)), df)
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_sink_avro_to_s3(s3_server, s3_client, bucket) -> None:
    df = big_frame(5_000)
    url = f"s3://{bucket}/sunk.avro"
    jetliner.sink_avro(df.lazy().filter(pl.col("i") % 2 == 0), url,
                       storage_options=options(s3_server))
    assert_frame_equal(jetliner.read_avro(url, storage_options=options(s3_server)),
                       df.filter(pl.col("i") % 2 == 0))


def test_a_failed_write_leaves_no_object_and_no_upload(s3_server, s3_client, bucket,
                                                        monkeypatch) -> None:
    """A value that cannot be written, after several parts were uploaded: the multipart
    upload is aborted and no object appears."""
    df = big_frame(900_000).with_columns(pl.col("i").cast(pl.UInt64))
    df = pl.concat([df, pl.DataFrame({"i": [2**64 - 1], "s": ["x"]},
                                     schema=df.schema)])
    seen: list[int] = []
    original = jetliner.remote.open_for_writing

    def spying(url, storage_options):  # type: ignore[no-untyped-def]
        out, done = original(url, storage_options)

        def counted(ok: bool) -> None:
            uploads = s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
            seen.append(len(uploads))
            done(ok)

        return out, counted

    monkeypatch.setattr(jetliner.remote, "open_for_writing", spying)
    with pytest.raises(jetliner.EncodeError) as info:
        jetliner.write_avro(df, f"s3://{bucket}/failed.avro", codec="null",
                            storage_options=options(s3_server))
    assert info.value.row == 900_000
    assert seen == [1]  # parts had been uploaded when the write failed
    listed = s3_client.list_objects_v2(Bucket=bucket, Prefix="failed").get("Contents", [])
    assert listed == []
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_partitioned_write_to_s3_reads_back(s3_server, s3_client, bucket) -> None:
    df = big_frame(3_000).with_columns((pl.col("i") % 3).alias("k"))
    root = f"s3://{bucket}/parts"
    jetliner.write_avro(df, root, partition_by="k", storage_options=options(s3_server))
    keys = sorted(o["Key"] for o in
                  s3_client.list_objects_v2(Bucket=bucket, Prefix="parts/")["Contents"])
    assert keys == [f"parts/k={k}/part-00000.avro" for k in range(3)]
    back = jetliner.scan_avro(root + "/", storage_options=options(s3_server)).collect()
    assert_frame_equal(back.select(df.columns).sort("i"), df)
    # without its '/', the folder's URL names an object that does not exist: say so
    with pytest.raises(jetliner.SourceNotFoundError, match="end it with '/'"):
        jetliner.read_avro(root, storage_options=options(s3_server))
    with pytest.raises(jetliner.SourceNotFoundError, match="check the bucket and key"):
        jetliner.read_avro(root + "-nope", storage_options=options(s3_server))


def test_a_failed_partitioned_write_removes_its_objects(s3_server, s3_client, bucket,
                                                        monkeypatch) -> None:
    from jetliner import partitioned

    monkeypatch.setattr(partitioned, "MAX_OPEN_FILES", 1)  # objects completed before the error
    good = pl.DataFrame({"k": [1, 2], "u": [1, 2]}, schema={"k": pl.Int64, "u": pl.UInt64})
    bad = pl.DataFrame({"k": [3], "u": [2**64 - 1]}, schema=good.schema)
    with pytest.raises(jetliner.EncodeError):
        jetliner.write_avro([good, bad], f"s3://{bucket}/failed-parts", partition_by="k",
                            storage_options=options(s3_server))
    listed = s3_client.list_objects_v2(Bucket=bucket, Prefix="failed-parts").get("Contents", [])
    assert listed == []
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def _put(method: str, path: str, rng: str | None) -> bool:
    return method == "PUT"


def _part(method: str, path: str, rng: str | None) -> bool:
    return method == "PUT" and "partNumber=" in path


def _complete(method: str, path: str, rng: str | None) -> bool:
    return method == "POST" and "uploadId=" in path


@pytest.mark.parametrize(("rows", "match", "status"), [
    (10, _put, 503),            # the one-shot PUT of a small object
    (900_000, _part, 500),      # a part of a multipart upload
    (900_000, _complete, 503),  # the completion of the upload
])
def test_a_transient_write_failure_is_retried(s3_server, s3_client, bucket, sleeps, rows,
                                              match, status) -> None:
    from faultproxy import FaultProxy

    df = big_frame(rows)
    with FaultProxy(s3_server[1]) as proxy:
        opts = {**options(s3_server), "endpoint": proxy.url}
        proxy.add("status", status, match=match)
        url = f"s3://{bucket}/retried-{rows}-{status}.avro"
        jetliner.write_avro(df, url, codec="null", storage_options=opts)
        faults = [r for r in proxy.requests(None) if r[3] == "status"]
    assert len(faults) == 1  # the fault was met, and the request made again
    assert sleeps == [1.0]
    assert_frame_equal(jetliner.read_avro(url, storage_options=options(s3_server)), df)
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_write_failing_past_its_retries_leaves_nothing(s3_server, s3_client, bucket,
                                                          sleeps) -> None:
    from faultproxy import FaultProxy

    df = big_frame(900_000)
    with FaultProxy(s3_server[1]) as proxy:
        opts = {**options(s3_server), "endpoint": proxy.url, "max_retries": 2}
        proxy.add("status", 500, match=_part, times=3)
        with pytest.raises(jetliner.SourceError, match="upload_part.* after 3 attempt"):
            jetliner.write_avro(df, f"s3://{bucket}/given-up.avro", codec="null",
                                storage_options=opts)
        assert len([r for r in proxy.requests(None) if _part(*r[:3])]) == 3
    assert sleeps == [1.0, 2.0]
    listed = s3_client.list_objects_v2(Bucket=bucket, Prefix="given-up").get("Contents", [])
    assert listed == []
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_completion_whose_answer_was_lost_is_not_a_failure(s3_server, s3_client, bucket,
                                                             sleeps) -> None:
    # the server completes the upload, the answer is lost (the connection is reset
    # half-way through it); the completion sent again finds no such upload: the
    # object is there, with the ETag of those parts, and the write succeeded
    from faultproxy import FaultProxy

    df = big_frame(900_000)
    url = f"s3://{bucket}/answer-lost.avro"
    with FaultProxy(s3_server[1]) as proxy:
        opts = {**options(s3_server), "endpoint": proxy.url}
        proxy.add("reset", None, match=_complete)
        jetliner.write_avro(df, url, codec="null", storage_options=opts)
        completions = [r for r in proxy.requests(None) if _complete(*r[:3])]
    assert [r[3] for r in completions] == ["reset", "forward"]
    assert_frame_equal(jetliner.read_avro(url, storage_options=options(s3_server)), df)
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
