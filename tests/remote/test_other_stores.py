"""fsspec stores other than S3, over real loopback servers: HTTP(S) with ranged
reads, and the typed errors for stores that cannot be used."""

from __future__ import annotations

import pytest
from polars.testing import assert_frame_equal
from s3util import StaticHTTPServer, avro, expected

import jetliner


def test_http_url_with_ranged_reads() -> None:
    data = avro(30_000)
    with StaticHTTPServer({"/data/f.avro": data}) as srv:
        url = f"{srv.url}/data/f.avro"
        assert_frame_equal(jetliner.read_avro(url, read_chunk_size=64 * 1024), expected(data))
        assert_frame_equal(jetliner.scan_avro(url).head(10).collect(), expected(data).head(10))


def test_http_missing_object_is_file_not_found() -> None:
    with StaticHTTPServer({}) as srv, pytest.raises(FileNotFoundError):
        jetliner.read_avro(f"{srv.url}/nothing.avro")


def test_http_server_ignoring_ranges_is_a_clear_error(sleeps) -> None:
    data = avro(5000)
    with StaticHTTPServer({"/f.avro": data}, ranges=False) as srv:
        with pytest.raises(jetliner.SourceError, match="ignores ranged requests"):
            jetliner.read_avro(f"{srv.url}/f.avro")
    assert sleeps == []  # not a transient failure


def test_unknown_protocol_is_a_configuration_error() -> None:
    with pytest.raises(jetliner.ConfigurationError, match="no filesystem for 'nosuchfs'"):
        jetliner.read_avro("nosuchfs://bucket/f.avro")


def test_http_object_replaced_mid_read_is_an_error() -> None:
    """The ETag taken at open time is sent as If-Match with every range."""
    data = avro(40_000)
    files = {"/f.avro": data}
    with StaticHTTPServer(files, etag='"v1"') as srv:
        reader = jetliner.open(f"{srv.url}/f.avro", read_chunk_size=64 * 1024,
                               buffer_blocks=1, batch_size=500)
        with reader, pytest.raises(jetliner.SourceChangedError):
            next(reader)
            srv.etag = '"v2"'
            for _ in reader:
                pass
