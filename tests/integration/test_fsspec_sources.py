"""fsspec URLs (here the in-memory filesystem): ranged reads, globs, typed errors.

The S3 server tests belong with the remote-sources work; these check the generic
fsspec path every remote protocol goes through."""

from __future__ import annotations

import fsspec
import polars as pl
import pytest
from conftest import write_avro
from polars.testing import assert_frame_equal

import jetliner

SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "id", "type": "long"}, {"name": "s", "type": "string"}]}


@pytest.fixture
def memfs():
    fs = fsspec.filesystem("memory")
    fs.mkdir("/jl")
    for i in range(3):
        rows = [{"id": i * 100 + k, "s": f"r{k}"} for k in range(100)]
        fs.pipe(f"/jl/part-{i}.avro", write_avro(SCHEMA, rows, codec="deflate", sync_interval=200))
    yield fs
    fs.rm("/jl", recursive=True)


def test_read_scan_and_iterate_a_memory_url(memfs) -> None:
    df = jetliner.read_avro("memory://jl/part-1.avro")
    assert df["id"].to_list() == list(range(100, 200))
    assert_frame_equal(jetliner.scan_avro("memory://jl/part-1.avro").collect(), df)
    with jetliner.open("memory://jl/part-1.avro", batch_size=30) as reader:
        assert sum(b.height for b in reader) == 100


def test_glob_over_a_memory_url_is_sorted_and_tracks_paths(memfs) -> None:
    df = jetliner.read_avro("memory://jl/part-*.avro", include_file_paths="src", row_index_name="i")
    assert df["id"].to_list() == list(range(300))
    assert df["i"].to_list() == list(range(300))
    assert df["src"].unique(maintain_order=True).to_list() == [
        f"memory://jl/part-{i}.avro" for i in range(3)]  # as the user spells it
    lf = jetliner.scan_avro("memory://jl/part-{0,2}.avro")
    assert lf.select(pl.len()).collect().item() == 200


def test_missing_objects_are_typed_errors(memfs) -> None:
    with pytest.raises(jetliner.SourceNotFoundError) as info:
        jetliner.scan_avro("memory://jl/nope.avro")
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(FileNotFoundError, match="no objects match"):
        jetliner.read_avro("memory://jl/*.parquet")
