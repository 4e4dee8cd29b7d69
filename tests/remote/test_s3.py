"""S3 against a real S3-compatible server on loopback: every example of the user's
S3 guide, storage_options and environment handling, multi-file reads, and
request counting."""

from __future__ import annotations

import io
from pathlib import Path

import fastavro
import polars as pl
import pytest
from faultproxy import FaultProxy
from polars.testing import assert_frame_equal
from s3util import KEY_ID, SCHEMA, SECRET, FakeInstanceMetadata, avro, expected, records

import jetliner


@pytest.fixture
def endpoint_opts(s3_server) -> dict:
    """storage_options of the guide's S3-compatible examples, pointed at the server."""
    return {"endpoint": s3_server[0], "aws_access_key_id": KEY_ID,
            "aws_secret_access_key": SECRET}


@pytest.fixture
def env_creds(monkeypatch, s3_server) -> None:
    """The guide's environment variables, plus the endpoint of the local server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server[0])


# -- the guide, example by example ------------------------------------------------


def test_guide_default_credentials_scan_and_iterator(s3_client, bucket, env_creds) -> None:
    data = avro(3000)
    s3_client.put_object(Bucket=bucket, Key="data/records.avro", Body=data)
    url = f"s3://{bucket}/data/records.avro"
    df = jetliner.scan_avro(url).collect()
    assert_frame_equal(df, expected(data))
    batches = []
    with jetliner.open(url) as reader:
        for batch in reader:
            batches.append(batch)
    assert_frame_equal(pl.concat(batches), expected(data))


def test_guide_explicit_credentials(s3_client, bucket, s3_server) -> None:
    data = avro(500)
    s3_client.put_object(Bucket=bucket, Key="data/records.avro", Body=data)
    df = jetliner.scan_avro(
        f"s3://{bucket}/data/records.avro",
        storage_options={
            "aws_access_key_id": KEY_ID,
            "aws_secret_access_key": SECRET,
            "region": "us-east-1",
            "endpoint": s3_server[0],
        },
    ).collect()
    assert_frame_equal(df, expected(data))


def test_guide_aws_profile_with_its_own_endpoint(s3_client, bucket, s3_server, aws_env,
                                                 monkeypatch) -> None:
    """A profile as the Garage guide writes it: credentials file with endpoint_url
    and region, config file with a nested ``s3 = endpoint_url``."""
    data = avro(400)
    s3_client.put_object(Bucket=bucket, Key="file.avro", Body=data)
    (aws_env / "credentials").write_text(
        f"[s3fast]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
        f"endpoint_url = {s3_server[0]}\nregion = garage-fast\n")
    (aws_env / "config").write_text(
        f"[profile s3fast]\nregion = garage-fast\ns3 =\n    endpoint_url = {s3_server[0]}\n")
    monkeypatch.setenv("AWS_PROFILE", "s3fast")
    assert_frame_equal(jetliner.scan_avro(f"s3://{bucket}/file.avro").collect(), expected(data))
    # the credentials file alone is enough too
    (aws_env / "config").write_text("")
    assert_frame_equal(jetliner.read_avro(f"s3://{bucket}/file.avro"), expected(data))


def test_guide_iam_role_credentials(s3_client, bucket, s3_server, monkeypatch) -> None:
    """No credentials anywhere but the instance's role: botocore's chain asks the
    instance metadata service (here a loopback stand-in) for them."""
    data = avro(300)
    s3_client.put_object(Bucket=bucket, Key="file.avro", Body=data)
    with FakeInstanceMetadata(KEY_ID, SECRET) as imds:
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server[0])
        monkeypatch.setenv("AWS_REGION", "us-east-1")
        df = jetliner.scan_avro(f"s3://{bucket}/file.avro").collect()
    assert_frame_equal(df, expected(data))
    assert any("security-credentials/jetliner-test-role" in p for p in imds.paths)


def test_profile_by_storage_option_and_top_level_endpoint(s3_client, bucket, s3_server,
                                                          aws_env) -> None:
    data = avro(100)
    s3_client.put_object(Bucket=bucket, Key="f.avro", Body=data)
    (aws_env / "config").write_text(
        f"[profile local]\nregion = eu-west-3\nendpoint_url = {s3_server[0]}\n"
        f"aws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
    df = jetliner.read_avro(f"s3://{bucket}/f.avro", storage_options={"profile": "local"})
    assert_frame_equal(df, expected(data))


@pytest.mark.parametrize("store", ["MinIO", "LocalStack", "Garage"])
def test_guide_s3_compatible_services(s3_client, bucket, endpoint_opts, store) -> None:
    """Custom endpoint over plain HTTP, path-style, any region name."""
    data = avro(800)
    s3_client.put_object(Bucket=bucket, Key="data.avro", Body=data)
    opts = dict(endpoint_opts)
    if store == "Garage":
        opts["region"] = "garage-fast"
    df = jetliner.scan_avro(f"s3://{bucket}/data.avro", storage_options=opts).collect()
    assert_frame_equal(df, expected(data))


def test_guide_query_optimizations(s3_client, bucket, endpoint_opts) -> None:
    data = avro(20_000)
    s3_client.put_object(Bucket=bucket, Key="large-file.avro", Body=data)
    url = f"s3://{bucket}/large-file.avro"
    full = expected(data)

    def scan() -> pl.LazyFrame:
        return jetliner.scan_avro(url, storage_options=endpoint_opts)

    assert_frame_equal(scan().select(["user_id", "amount"]).collect(),
                       full.select(["user_id", "amount"]))
    assert_frame_equal(scan().filter(pl.col("status") == "active").collect(),
                       full.filter(pl.col("status") == "active"))
    assert_frame_equal(scan().head(1000).collect(), full.head(1000))
    combined = (scan().select(["user_id", "amount", "status"])
                .filter(pl.col("amount") > 100).head(10000).collect())
    assert_frame_equal(combined, full.select(["user_id", "amount", "status"])
                       .filter(pl.col("amount") > 100).head(10000))


def test_guide_glob_patterns(s3_client, bucket, endpoint_opts) -> None:
    parts = [avro(300 + 50 * i, seed=i) for i in range(3)]
    for i, data in enumerate(parts):
        s3_client.put_object(Bucket=bucket, Key=f"data/part-{i}.avro", Body=data)
    s3_client.put_object(Bucket=bucket, Key="data/readme.txt", Body=b"not avro")
    s3_client.put_object(Bucket=bucket, Key="other/part-9.avro", Body=parts[0])
    pattern = f"s3://{bucket}/data/*.avro"
    full = pl.concat([expected(d) for d in parts])

    df = jetliner.read_avro(pattern, storage_options=endpoint_opts)
    assert_frame_equal(df, full)
    df = jetliner.read_avro(pattern, row_index_name="idx", storage_options=endpoint_opts)
    assert df["idx"].to_list() == list(range(full.height))
    df = jetliner.read_avro(pattern, include_file_paths="source", storage_options=endpoint_opts)
    sizes = [expected(d).height for d in parts]
    assert df["source"].to_list() == [
        f"s3://{bucket}/data/part-{i}.avro" for i, n in enumerate(sizes) for _ in range(n)]
    # ** and {a,b} and [..]
    assert jetliner.read_avro(f"s3://{bucket}/**/part-[09].avro",
                              storage_options=endpoint_opts).height == 2 * sizes[0]
    assert jetliner.read_avro(f"s3://{bucket}/data/part-{{1,2}}.avro",
                              storage_options=endpoint_opts).height == sizes[1] + sizes[2]


def test_glob_without_match_and_literal_paths(s3_client, bucket, endpoint_opts) -> None:
    data = avro(50)
    s3_client.put_object(Bucket=bucket, Key="odd[1].avro", Body=data)
    with pytest.raises(FileNotFoundError, match="no objects match"):
        jetliner.read_avro(f"s3://{bucket}/nothing/*.avro", storage_options=endpoint_opts)
    df = jetliner.read_avro(f"s3://{bucket}/odd[1].avro", glob=False,
                            storage_options=endpoint_opts)
    assert_frame_equal(df, expected(data))


def test_guide_streaming_and_buffer_settings(s3_client, bucket, endpoint_opts) -> None:
    data = avro(30_000)
    s3_client.put_object(Bucket=bucket, Key="large-file.avro", Body=data)
    url = f"s3://{bucket}/large-file.avro"
    with jetliner.open(url, storage_options={**endpoint_opts, "region": "us-east-1"},
                       buffer_blocks=2, batch_size=4000) as reader:
        batches = list(reader)
    assert len(batches) > 2
    assert_frame_equal(pl.concat(batches), expected(data))
    for blocks, nbytes in ((8, 128 * 1024 * 1024), (2, 16 * 1024 * 1024)):
        df = jetliner.scan_avro(url, storage_options=endpoint_opts, buffer_blocks=blocks,
                                buffer_bytes=nbytes, read_chunk_size=64 * 1024).collect()
        assert_frame_equal(df, expected(data))


def test_guide_retry_configuration_accepts_a_string(s3_client, bucket, endpoint_opts) -> None:
    data = avro(100)
    s3_client.put_object(Bucket=bucket, Key="file.avro", Body=data)
    df = jetliner.scan_avro(f"s3://{bucket}/file.avro",
                            storage_options={**endpoint_opts, "max_retries": "5"}).collect()
    assert_frame_equal(df, expected(data))


def test_guide_error_handling_missing_object_reaches_file_not_found(
        s3_client, bucket, endpoint_opts) -> None:
    reached = []
    for url in (f"s3://{bucket}/file.avro", "s3://no-such-bucket-x/file.avro"):
        try:
            jetliner.scan(url, storage_options=endpoint_opts).collect()
        except jetliner.SourceError:
            reached.append("SourceError")
        except FileNotFoundError as exc:
            reached.append("FileNotFoundError")
            assert isinstance(exc, jetliner.SourceNotFoundError)
            assert exc.path == url
    assert reached == ["FileNotFoundError", "FileNotFoundError"]


def test_guide_error_handling_denied_reaches_source_error(s3_client, bucket, endpoint_opts,
                                                         s3_server) -> None:
    s3_client.put_object(Bucket=bucket, Key="file.avro", Body=avro(10))
    with FaultProxy(s3_server[1]) as proxy:
        proxy.add("status", 403, match=lambda m, p, r: True)
        opts = {**endpoint_opts, "endpoint": proxy.url}
        with pytest.raises(jetliner.SourceError) as info:
            jetliner.scan(f"s3://{bucket}/file.avro", storage_options=opts).collect()
        assert isinstance(info.value, PermissionError)
        assert len(proxy.requests(None)) == 1  # never retried


# -- storage_options and the environment ----------------------------------------


def test_polars_and_native_key_names(s3_client, bucket, s3_server) -> None:
    data = avro(100)
    s3_client.put_object(Bucket=bucket, Key="f.avro", Body=data)
    polars_names = {"aws_endpoint_url": s3_server[0], "aws_access_key_id": KEY_ID,
                    "aws_secret_access_key": SECRET, "aws_region": "us-east-1",
                    "aws_allow_http": "true"}
    native = {"endpoint_url": s3_server[0], "key": KEY_ID, "secret": SECRET,
              "client_kwargs": {"region_name": "us-east-1"}}
    for opts in (polars_names, native):
        assert_frame_equal(jetliner.read_avro(f"s3://{bucket}/f.avro", storage_options=opts),
                           expected(data))


def test_session_token_is_passed(s3_client, bucket, endpoint_opts) -> None:
    data = avro(20)
    s3_client.put_object(Bucket=bucket, Key="f.avro", Body=data)
    opts = {**endpoint_opts, "aws_session_token": "token-123"}
    assert_frame_equal(jetliner.read_avro(f"s3://{bucket}/f.avro", storage_options=opts),
                       expected(data))


def test_unknown_storage_option_names_the_known_ones(endpoint_opts) -> None:
    with pytest.raises(jetliner.ConfigurationError,
                       match="unknown storage option 'aws_secret'") as info:
        jetliner.scan_avro("s3://b/f.avro", storage_options={**endpoint_opts, "aws_secret": "x"})
    assert "aws_secret_access_key" in str(info.value)
    assert "max_retries" in str(info.value)


@pytest.mark.parametrize("value", ["-1", "many", 1.5, True])
def test_bad_max_retries(endpoint_opts, value) -> None:
    with pytest.raises(jetliner.ConfigurationError, match="max_retries"):
        jetliner.scan_avro("s3://b/f.avro", storage_options={**endpoint_opts, "max_retries": value})


def test_explicit_options_override_the_environment(s3_client, bucket, endpoint_opts,
                                                   monkeypatch) -> None:
    data = avro(30)
    s3_client.put_object(Bucket=bucket, Key="f.avro", Body=data)
    # the environment points at a port where nothing listens, with other keys
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "WRONG")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "WRONG")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    df = jetliner.read_avro(f"s3://{bucket}/f.avro", storage_options=endpoint_opts)
    assert_frame_equal(df, expected(data))


def test_missing_credentials_is_an_authentication_error(s3_server, sleeps) -> None:
    with pytest.raises(jetliner.AuthenticationError, match="credentials"):
        jetliner.read_avro("s3://bucket/f.avro", storage_options={"endpoint": s3_server[0]})
    assert sleeps == []


# -- multi-file ---------------------------------------------------------------------


def test_multi_reader_over_s3_and_local_files(s3_client, bucket, endpoint_opts,
                                              tmp_path: Path) -> None:
    a, b = avro(1000, seed=1), avro(700, seed=2)
    s3_client.put_object(Bucket=bucket, Key="a.avro", Body=a)
    local = tmp_path / "b.avro"
    local.write_bytes(b)
    sources = [f"s3://{bucket}/a.avro", local]
    with jetliner.MultiAvroReader(sources, storage_options=endpoint_opts, n_rows=1500,
                                  row_index_name="i", row_index_offset=10,
                                  include_file_paths="src", batch_size=600) as reader:
        df = pl.concat(list(reader))
    assert df.height == 1500
    assert df["i"].to_list() == list(range(10, 1510))
    assert df["src"].to_list() == [f"s3://{bucket}/a.avro"] * 1000 + [str(local)] * 500
    assert_frame_equal(df.drop("i", "src"), pl.concat([expected(a), expected(b)]).head(1500))


def test_incompatible_schemas_name_both_files(s3_client, bucket, endpoint_opts) -> None:
    s3_client.put_object(Bucket=bucket, Key="a.avro", Body=avro(10))
    other = io.BytesIO()
    fastavro.writer(other, {"type": "record", "name": "X", "fields": [
        {"name": "user_id", "type": "string"}]}, [{"user_id": "u"}])
    s3_client.put_object(Bucket=bucket, Key="b.avro", Body=other.getvalue())
    with pytest.raises(jetliner.SchemaError) as info:
        jetliner.read_avro(f"s3://{bucket}/*.avro", storage_options=endpoint_opts)
    message = str(info.value)
    assert f"s3://{bucket}/a.avro" in message and f"s3://{bucket}/b.avro" in message
    assert "user_id" in message


def test_schemas_differing_only_in_field_order_are_compatible(s3_client, bucket,
                                                             endpoint_opts) -> None:
    reordered = dict(SCHEMA, fields=list(reversed(SCHEMA["fields"])))
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(reordered), records(30, seed=5))
    s3_client.put_object(Bucket=bucket, Key="a.avro", Body=avro(20))
    s3_client.put_object(Bucket=bucket, Key="b.avro", Body=buf.getvalue())
    df = jetliner.read_avro(f"s3://{bucket}/*.avro", storage_options=endpoint_opts)
    want = pl.concat([expected(avro(20)), expected(buf.getvalue()).select(df.columns)])
    assert_frame_equal(df, want)


def test_lazy_frame_collects_many_times(s3_client, bucket, endpoint_opts) -> None:
    data = avro(2000)
    s3_client.put_object(Bucket=bucket, Key="f.avro", Body=data)
    lf = jetliner.scan_avro(f"s3://{bucket}/f.avro", storage_options=endpoint_opts)
    for _ in range(3):
        assert_frame_equal(lf.collect(), expected(data))


# -- what is fetched ------------------------------------------------------------------


def _fetched(proxy: FaultProxy) -> int:
    total = 0
    for _, _, rng, _ in proxy.requests("GET", ranged=True):
        start, end = rng.split("=")[1].split("-")
        total += int(end) - int(start) + 1
    return total


def test_head_fetches_only_the_first_ranges(s3_client, bucket, endpoint_opts, s3_server) -> None:
    data = avro(200_000)  # about 6 MB
    s3_client.put_object(Bucket=bucket, Key="big.avro", Body=data)
    with FaultProxy(s3_server[1]) as proxy:
        opts = {**endpoint_opts, "endpoint": proxy.url}
        lf = jetliner.scan_avro(f"s3://{bucket}/big.avro", storage_options=opts)
        proxy.clear()
        df = lf.head(1000).collect()
        assert_frame_equal(df, expected(data).head(1000))
        ranged = proxy.requests("GET", ranged=True)
        assert 1 <= len(ranged) <= 4
        assert _fetched(proxy) < len(data) // 10
        # a full read fetches every byte, each once; projection fetches no more
        for query in (lambda f: f, lambda f: f.select("amount")):
            proxy.clear()
            query(lf).collect()
            assert _fetched(proxy) == len(data)


def test_prefetch_keeps_several_ranges_in_flight(s3_client, bucket, endpoint_opts,
                                                 s3_server) -> None:
    data = avro(100_000)
    s3_client.put_object(Bucket=bucket, Key="f.avro", Body=data)
    with FaultProxy(s3_server[1]) as proxy:
        opts = {**endpoint_opts, "endpoint": proxy.url}
        reader = jetliner.open(f"s3://{bucket}/f.avro", storage_options=opts,
                               read_chunk_size=256 * 1024, buffer_blocks=3, batch_size=1000)
        with reader:
            first = next(reader).height + next(reader).height
            stream = reader._current.stream
            assert 1 <= len(stream.ahead) <= 3
            assert stream.ahead_bytes <= 3 * 256 * 1024
            rest = list(reader)
        assert first + sum(b.height for b in rest) == 100_000


# -- naming objects -----------------------------------------------------------------


def test_recursive_glob_skips_folder_markers(s3_client, bucket, endpoint_opts) -> None:
    data = avro(40)
    for key in ("data/", "data/sub/"):  # what consoles create for "folders"
        s3_client.put_object(Bucket=bucket, Key=key, Body=b"")
    s3_client.put_object(Bucket=bucket, Key="data/a.avro", Body=data)
    s3_client.put_object(Bucket=bucket, Key="data/sub/b.avro", Body=data)
    df = jetliner.read_avro(f"s3://{bucket}/data/**", storage_options=endpoint_opts,
                            include_file_paths="src")
    assert df["src"].unique(maintain_order=True).to_list() == [
        f"s3://{bucket}/data/a.avro", f"s3://{bucket}/data/sub/b.avro"]


def test_version_id_in_the_url_reads_that_version(s3_client, bucket, endpoint_opts) -> None:
    s3_client.put_bucket_versioning(Bucket=bucket,
                                    VersioningConfiguration={"Status": "Enabled"})
    old, new = avro(10, seed=1), avro(20, seed=2)
    v1 = s3_client.put_object(Bucket=bucket, Key="v.avro", Body=old)["VersionId"]
    s3_client.put_object(Bucket=bucket, Key="v.avro", Body=new)
    df = jetliner.read_avro(f"s3://{bucket}/v.avro?versionId={v1}",
                            storage_options=endpoint_opts)
    assert_frame_equal(df, expected(old))
    assert_frame_equal(jetliner.read_avro(f"s3://{bucket}/v.avro", storage_options=endpoint_opts),
                       expected(new))


def test_scheme_spelling_is_kept_and_case_insensitive(s3_client, bucket, endpoint_opts) -> None:
    data = avro(10)
    s3_client.put_object(Bucket=bucket, Key="k/a.avro", Body=data)
    df = jetliner.read_avro(f"s3a://{bucket}/k/*.avro", storage_options=endpoint_opts,
                            include_file_paths="src")
    assert df["src"].unique().to_list() == [f"s3a://{bucket}/k/a.avro"]
    assert_frame_equal(jetliner.read_avro(f"S3://{bucket}/k/a.avro",
                                          storage_options=endpoint_opts), expected(data))


def test_options_the_filesystem_refuses_are_configuration_errors(endpoint_opts) -> None:
    with pytest.raises(jetliner.ConfigurationError, match="not accepted"):
        jetliner.read_avro("s3://b/f.avro",
                           storage_options={**endpoint_opts, "max_concurrency": 0})


def test_empty_object_is_a_source_error_not_a_crash(s3_client, bucket, endpoint_opts) -> None:
    s3_client.put_object(Bucket=bucket, Key="empty.avro", Body=b"")
    with pytest.raises(jetliner.SourceError) as info:
        jetliner.read_avro(f"s3://{bucket}/empty.avro", storage_options=endpoint_opts)
    assert info.value.variant == "FileSystemError"


def test_reading_again_in_a_forked_child(s3_client, bucket, endpoint_opts) -> None:
    """Connections, event loop and threads of the parent are not the child's."""
    import multiprocessing

    data = avro(30_000)
    s3_client.put_object(Bucket=bucket, Key="f.avro", Body=data)
    url = f"s3://{bucket}/f.avro"
    opts = {**endpoint_opts, "max_retries": 0}
    assert jetliner.read_avro(url, storage_options=opts, read_chunk_size=65536).height == 30_000
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        rows = pool.apply_async(_child_read, (url, opts)).get(timeout=60)
    assert rows == 30_000


def _child_read(url: str, opts: dict) -> int:
    return jetliner.read_avro(url, storage_options=opts, read_chunk_size=65536).height


def test_malformed_aws_config_file_is_a_configuration_error(s3_client, bucket, s3_server,
                                                            aws_env) -> None:
    s3_client.put_object(Bucket=bucket, Key="f.avro", Body=avro(10))
    (aws_env / "config").write_text("[profile local\nregion = x\n")  # unclosed section
    with pytest.raises(jetliner.ConfigurationError, match="cannot read the AWS settings file"):
        jetliner.read_avro(f"s3://{bucket}/f.avro", storage_options={"profile": "local"})
