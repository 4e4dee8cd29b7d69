"""Random schemas and values, written by fastavro and by the Apache avro package,
read back by jetliner and compared with what the writing library reads back."""

from __future__ import annotations

import io
import json
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matching import assert_frame_matches
from strategies import datasets

import jetliner

CODECS = ["null", "deflate", "snappy", "zstandard", "bzip2", "xz"]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(datasets(), st.sampled_from(CODECS), st.sampled_from([1, 64, 2000, 16000]),
       st.integers(1, 40))
def test_fastavro_written_files_read_back_equal(data: tuple[Any, list[Any]], codec: str,
                                                sync_interval: int, batch_size: int) -> None:
    schema, records = data
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(schema), records, codec=codec,
                    sync_interval=sync_interval)
    raw = buf.getvalue()
    theirs = list(fastavro.reader(io.BytesIO(raw)))
    df = jetliner.read_avro(raw, batch_size=batch_size)
    assert_frame_matches(schema, df, theirs)
    assert df.schema == jetliner.read_avro_schema(raw)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(datasets(logical=False), st.sampled_from(["null", "deflate", "bzip2", "zstandard"]))
def test_apache_avro_written_files_read_back_equal(data: tuple[Any, list[Any]], codec: str) -> None:
    from avro.datafile import DataFileReader, DataFileWriter
    from avro.io import DatumReader, DatumWriter
    from avro.schema import parse

    schema, records = data
    try:
        parsed = parse(json.dumps(schema))
    except Exception as exc:  # noqa: BLE001 - the avro package is stricter on names
        pytest.skip(f"avro package refuses the schema: {exc}")
    buf = io.BytesIO()
    writer = DataFileWriter(buf, DatumWriter(), parsed, codec=codec)
    for r in records:
        writer.append(r)
    writer.flush()
    raw = buf.getvalue()
    theirs = list(DataFileReader(io.BytesIO(raw), DatumReader()))
    assert_frame_matches(schema, jetliner.read_avro(raw), theirs)
