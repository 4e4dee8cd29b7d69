"""Frames written by jetliner, read back by jetliner, fastavro and the Apache avro
package: random schemas and values (the read tests' strategies), every codec."""

from __future__ import annotations

import io
import json
from typing import Any

import fastavro
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matching import assert_frame_matches
from polars.testing import assert_frame_equal

import jetliner
from jetliner.writing import write_avro


def _strategies() -> Any:
    """The read round trip's strategies (its module is not importable by name)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "roundtrip_strategies", Path(__file__).with_name("test_roundtrip.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


datasets = _strategies().datasets

WRITE_CODECS = ["null", "deflate", "snappy", "zstandard", "bzip2", "xz"]


def written(df: pl.DataFrame, **kw: Any) -> bytes:
    buf = io.BytesIO()
    write_avro(df, buf, **kw)
    return buf.getvalue()


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(datasets(), st.sampled_from(WRITE_CODECS), st.sampled_from([1, 200, 1 << 20]))
def test_frames_read_from_any_schema_write_and_read_back_equal(
        data: tuple[Any, list[Any]], codec: str, block_size: int) -> None:
    """A frame jetliner read (any Avro schema, fastavro-written) is written by jetliner
    and read back equal, with the same schema; fastavro reads the written file's values
    as jetliner does."""
    schema, records = data
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(schema), records)
    df = jetliner.read_avro(buf.getvalue())
    raw = written(df, codec=codec, block_size=block_size)
    back = jetliner.read_avro(raw)
    assert back.schema == df.schema
    assert_frame_equal(back, df)
    reader = fastavro.reader(io.BytesIO(raw))
    theirs = list(reader)
    assert_frame_matches(reader.writer_schema, back, theirs)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
# (the avro package reads snappy only with python-snappy installed; fastavro covers it)
@given(datasets(logical=False), st.sampled_from(["null", "deflate", "bzip2", "zstandard"]))
def test_the_apache_avro_package_reads_what_jetliner_writes(
        data: tuple[Any, list[Any]], codec: str) -> None:
    from avro.datafile import DataFileReader
    from avro.io import DatumReader

    schema, records = data
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(schema), records)
    df = jetliner.read_avro(buf.getvalue())
    raw = written(df, codec=codec)
    reader = DataFileReader(io.BytesIO(raw), DatumReader())
    theirs = list(reader)
    assert_frame_matches(json.loads(reader.meta["avro.schema"]), jetliner.read_avro(raw), theirs)
