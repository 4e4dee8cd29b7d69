"""Faults injected between the client and a real S3 server: what is retried, how
often, after which waits, and what is not retried at all."""

from __future__ import annotations

import time

import polars as pl
import pytest
from faultproxy import FaultProxy, any_request, ranged_get
from polars.testing import assert_frame_equal
from s3util import KEY_ID, SECRET, avro, expected

import jetliner

CHUNK = 256 * 1024


@pytest.fixture
def setup(s3_client, bucket, s3_server):
    """A 2.5 MB object behind a fault proxy; yields (proxy, url, options, data)."""
    data = avro(80_000)
    s3_client.put_object(Bucket=bucket, Key="f.avro", Body=data)
    with FaultProxy(s3_server[1]) as proxy:
        opts = {"endpoint": proxy.url, "aws_access_key_id": KEY_ID,
                "aws_secret_access_key": SECRET, "region": "us-east-1"}
        yield proxy, f"s3://{bucket}/f.avro", opts, data


def read(url: str, opts: dict, **kw) -> pl.DataFrame:
    return jetliner.read_avro(url, storage_options=opts, read_chunk_size=CHUNK, **kw)


def baseline(proxy: FaultProxy, url: str, opts: dict) -> int:
    """Requests of a clean read."""
    proxy.clear()
    read(url, opts)
    n = len(proxy.requests(None))
    proxy.clear()
    return n


def nth_ranged_get(n: int):
    """Matches the n-th ranged GET from now on (1-based), so that faults hit
    prefetched ranges too, not only the first."""
    seen = {"count": 0}

    def match(method: str, path: str, rng: str | None) -> bool:
        if not ranged_get(method, path, rng):
            return False
        seen["count"] += 1
        return seen["count"] == n

    return match


@pytest.mark.parametrize("fault", [("status", 503), ("status", 429), ("status", 500),
                                   ("reset", None), ("truncate", 1000)])
@pytest.mark.parametrize("which", [1, 4])
def test_transient_fault_is_retried_once(setup, sleeps, fault, which) -> None:
    proxy, url, opts, data = setup
    clean = baseline(proxy, url, opts)
    proxy.add(*fault, match=nth_ranged_get(which))
    df = read(url, opts)
    assert_frame_equal(df, expected(data))
    assert sleeps == [1.0]
    # one GET more than a clean read (a response without Content-Range also costs
    # a HEAD to learn the size)
    assert len(proxy.requests("GET")) == clean + 1
    assert [r[3] for r in proxy.requests("GET")].count("forward") == clean


def test_stalled_response_times_out_and_is_retried(setup, sleeps) -> None:
    proxy, url, opts, data = setup
    opts = {**opts, "timeout": "1s"}
    clean = baseline(proxy, url, opts)
    proxy.add("stall", 4, match=nth_ranged_get(2))
    started = time.monotonic()
    df = read(url, opts)
    assert time.monotonic() - started < 3.5  # the timeout, not the stall, decided
    assert_frame_equal(df, expected(data))
    assert sleeps == [1.0]
    assert len(proxy.requests(None)) == clean + 1


@pytest.mark.parametrize("max_retries", [0, 2, 5])
def test_persistent_failure_gives_up_after_max_retries(setup, sleeps, max_retries) -> None:
    proxy, url, opts, _ = setup
    lf = jetliner.scan_avro(url, storage_options={**opts, "max_retries": str(max_retries)},
                            read_chunk_size=CHUNK)
    proxy.clear()
    proxy.add("status", 503, match=ranged_get, times=100)
    started = time.monotonic()
    with pytest.raises(jetliner.SourceError, match=f"after {max_retries + 1} attempt") as info:
        lf.collect()
    assert time.monotonic() - started < 10
    assert info.value.path == url
    assert sleeps == [2.0 ** i for i in range(max_retries)]
    assert len(proxy.requests("GET", ranged=True)) == max_retries + 1


def test_default_is_two_retries(setup, sleeps) -> None:
    proxy, url, opts, _ = setup
    proxy.add("status", 503, match=any_request, times=100)
    with pytest.raises(jetliner.SourceError, match="after 3 attempt"):
        read(url, opts)
    assert sleeps == [1.0, 2.0]
    assert len(proxy.requests(None)) == 3


@pytest.mark.parametrize(("status", "error", "builtin"), [
    (404, jetliner.SourceNotFoundError, FileNotFoundError),
    (403, jetliner.AccessDeniedError, PermissionError),
])
@pytest.mark.parametrize("which", [1, 3])
def test_client_errors_are_never_retried(setup, sleeps, status, error, builtin, which) -> None:
    """On the GET that opens the object (1) or a later range (3)."""
    proxy, url, opts, _ = setup
    lf = jetliner.scan_avro(url, storage_options=opts, read_chunk_size=CHUNK)
    proxy.clear()
    proxy.add("status", status, match=nth_ranged_get(which))
    with pytest.raises(error) as info:
        lf.collect()
    assert isinstance(info.value, builtin)
    assert sleeps == []
    failed = [r for r in proxy.requests(None) if r[3] == "status"]
    assert len(failed) == 1
    # (an object not found on opening is followed by one listing, to tell whether it is
    # a folder's prefix; it is not a retry)
    listings = [r for r in proxy.requests(None) if "list-type" in r[1]]
    assert len(listings) == (1 if status == 404 and which == 1 else 0)
    assert len(proxy.requests(None)) - len(listings) == which


def test_opening_request_and_listing_are_retried(setup, sleeps) -> None:
    proxy, url, opts, data = setup
    proxy.add("status", 503, match=ranged_get)  # the GET that opens the object
    assert_frame_equal(read(url, opts), expected(data))
    proxy.add("status", 500, match=lambda m, p, r: m == "GET" and "list-type" in p)
    glob = url.rsplit("/", 1)[0] + "/*.avro"
    assert_frame_equal(read(glob, opts), expected(data))
    assert sleeps == [1.0, 1.0]


def test_short_object_is_detected_not_silently_shorter(setup, sleeps) -> None:
    """A store that serves fewer bytes than the object's size, cutting exactly at
    a block boundary: the framing alone could not tell, the size check does."""
    proxy, url, opts, data = setup
    proxy.add("truncate", 1000, match=ranged_get, times=100)
    with pytest.raises(jetliner.SourceError, match="received 1000"):
        read(url, opts)
    assert sleeps == [1.0, 2.0]


def test_object_replaced_mid_read_is_an_error(setup, s3_client) -> None:
    proxy, url, opts, data = setup
    bucket = url.split("/")[2]
    reader = jetliner.open(url, storage_options=opts, read_chunk_size=64 * 1024,
                           buffer_blocks=1, batch_size=500)
    with reader, pytest.raises(jetliner.SourceChangedError, match="replaced") as info:
        next(reader)
        s3_client.put_object(Bucket=bucket, Key="f.avro", Body=avro(80_000, seed=99))
        for _ in reader:
            pass
    assert info.value.path == url


def test_connection_refused_is_retried_then_a_source_error(sleeps) -> None:
    opts = {"endpoint": "http://127.0.0.1:9", "aws_access_key_id": KEY_ID,
            "aws_secret_access_key": SECRET, "max_retries": 1}
    with pytest.raises(jetliner.SourceError, match="after 2 attempt") as info:
        jetliner.read_avro("s3://bucket/f.avro", storage_options=opts)
    assert not isinstance(info.value, FileNotFoundError)
    assert sleeps == [1.0]


@pytest.mark.parametrize("code", ["InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"])
def test_refused_credentials_are_an_authentication_error(setup, sleeps, code) -> None:
    proxy, url, opts, _ = setup
    proxy.add("error", (403, code), match=ranged_get)
    with pytest.raises(jetliner.AuthenticationError, match=code):
        read(url, opts)
    assert sleeps == []


def _prefetch(method: str, path: str, rng: str | None) -> bool:
    """A ranged GET past the first 192 KiB: what the stream fetches ahead."""
    return method == "GET" and rng is not None and int(rng[6:].split("-")[0]) >= 192 * 1024


@pytest.mark.parametrize("stop", ["iterator", "head"])
def test_no_request_is_made_after_an_early_stop(setup, sleeps, stop: str) -> None:
    # The ranges fetched ahead answer 503 slowly: they are still in flight when the
    # reader stops, and a retry of one (or a queued range) would reach the server after.
    proxy, url, opts, _ = setup
    # rows of ~25 bytes: the first two requests (64 KiB, then 128 KiB) hold ~7,800; the
    # read stops within them, after the second has started fetching ahead
    options = {"storage_options": opts, "read_chunk_size": CHUNK, "batch_size": 1000,
               "buffer_blocks": 2}
    for _attempt in range(5):  # until a range fetched ahead was in flight at the stop
        proxy.clear()
        proxy.add("slow-status", (0.5, 503), match=_prefetch, times=100)
        if stop == "iterator":
            with jetliner.open(url, **options) as reader:
                while not any(r[2] and r[2].startswith("bytes=65536-") for r in proxy.log):
                    next(reader)
                time.sleep(0.1)  # the range fetched ahead reaches the proxy
        else:
            assert jetliner.scan_avro(url, **options).head(4000).collect().height == 4000
        stopped = time.monotonic()
        time.sleep(1.5)  # the slow answers arrive; a retry would follow at once
        assert proxy.requests_after(stopped) == []
        # (a range fetched ahead may be cancelled before it is sent: nothing was
        # in flight at the stop, and this attempt proved nothing)
        if any(_prefetch(*r[:3]) for r in proxy.log):
            break
    else:
        pytest.fail(f"no attempt fetched ahead, the test proves nothing: {proxy.log}")
