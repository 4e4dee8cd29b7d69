"""Option validation: typed, named errors."""

from __future__ import annotations

import pytest

import jetliner
from jetliner.options import ReadOptions


def test_defaults() -> None:
    o = ReadOptions()
    assert (o.batch_size, o.buffer_blocks, o.buffer_bytes, o.max_block_size) == (
        100_000, 4, 64 * 1024 * 1024, 512 * 1024 * 1024)


def test_unknown_option_names_the_known_ones() -> None:
    match = "unknown option.*'batchsize'.*batch_size"
    with pytest.raises(jetliner.ConfigurationError, match=match):
        ReadOptions.from_kwargs({"batchsize": 10})


@pytest.mark.parametrize(
    ("name", "value"),
    [("batch_size", 0), ("batch_size", "10"), ("n_rows", -1), ("buffer_blocks", 0),
     ("max_block_size", True), ("row_index_offset", -5), ("row_index_name", ""),
     ("glob", "yes"), ("storage_options", ["a"])],
)
def test_bad_values(name: str, value: object) -> None:
    with pytest.raises(jetliner.ConfigurationError, match=name):
        ReadOptions.from_kwargs({name: value})


def test_configuration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        jetliner.read_avro(jetliner.sample_path(), batch_size=-1)


def test_s3_clients_get_more_connections_than_a_read_keeps_in_flight() -> None:
    from jetliner.opening import MAX_OPENS_AHEAD
    from jetliner.storage import filesystem_options

    kwargs, _ = filesystem_options("s3", {"endpoint": "http://127.0.0.1:9"})
    assert kwargs["config_kwargs"]["max_pool_connections"] > MAX_OPENS_AHEAD
    kwargs, _ = filesystem_options("s3", {"config_kwargs": {"max_pool_connections": 4}})
    assert kwargs["config_kwargs"]["max_pool_connections"] == 4  # the user's value wins
