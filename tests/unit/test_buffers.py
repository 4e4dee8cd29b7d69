"""Column buffers of 64 KiB and more are their own mappings (Linux), kept in a
bounded pool for reuse once Polars frees them.  Values must not depend on where a
buffer came from: a reused buffer is dirty, and bitmaps must still start at zero."""

from __future__ import annotations

import errno
import gc
import io
import os
import random
import sys
import time
from collections.abc import Iterator

import fastavro
import polars as pl
import pytest

import jetliner
from jetliner import _decoder, threads

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="mapped buffers are Linux-only (elsewhere the C heap)")

SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "i", "type": "long"},
    {"name": "flag", "type": "boolean"},
    {"name": "maybe", "type": ["null", "double"]},
    {"name": "s", "type": ["null", "string"]},
    {"name": "xs", "type": {"type": "array", "items": ["null", "int"]}},
]}


def records(n: int, seed: int, nulls: bool) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        out.append({
            "i": rng.randrange(-2**62, 2**62),
            "flag": rng.random() < 0.5,
            "maybe": None if nulls and rng.random() < 0.3 else rng.random(),
            "s": None if nulls and rng.random() < 0.3 else "x" * rng.randrange(0, 30),
            "xs": [None if nulls and rng.random() < 0.2 else rng.randrange(100)
                   for _ in range(rng.randrange(4))],
        })
    return out


def avro(recs: list[dict]) -> bytes:
    buf = io.BytesIO()
    fastavro.writer(buf, SCHEMA, recs, codec="null", sync_interval=1 << 20)
    return buf.getvalue()


def expected(data: bytes) -> pl.DataFrame:
    rows = list(fastavro.reader(io.BytesIO(data)))
    return pl.DataFrame(rows, schema=jetliner.read_avro_schema(data), orient="row")


@pytest.fixture
def pool_limit() -> Iterator[None]:
    """Restore the default pool limit after the test."""
    yield
    _decoder._set_buffer_pool_limit(32 << 20)


@linux_only
def test_dirty_reused_buffers_read_correctly(pool_limit: None, monkeypatch) -> None:
    # the pool is not given back while this test looks at it
    monkeypatch.setattr(threads, "TRIM_AFTER", 3600.0)
    # 1) a file of all-true, never-null values leaves buffers full of set bits
    ones = avro([{"i": -1, "flag": True, "maybe": 1.0, "s": "y" * 20, "xs": [7, 7]}] * 150_000)
    _decoder._set_buffer_pool_limit(1 << 30)
    first = jetliner.read_avro(ones, batch_size=150_000)
    assert first["flag"].all() and first["maybe"].null_count() == 0
    del first
    gc.collect()
    pooled, _ = _decoder._buffer_pool_stats()
    assert pooled > 0, "the freed buffers should be pooled for reuse"
    # 2) a file with nulls and false values, decoded into those reused buffers
    data = avro(records(150_000, seed=1, nulls=True))
    got = jetliner.read_avro(data, batch_size=150_000)
    assert got.equals(expected(data))


@linux_only
@pytest.mark.parametrize("size", [_decoder._mapped_threshold(), (1 << 20) + 3, 5 << 20])
def test_a_pooled_buffer_is_zeroed_when_zeros_are_asked_for(pool_limit: None, size: int) -> None:
    _decoder._set_buffer_pool_limit(64 << 20)
    assert _decoder._check_zeroed_reuse(size) == (True, True)
    _decoder._set_buffer_pool_limit(0)  # nothing pooled: a fresh mapping, zero too
    assert _decoder._check_zeroed_reuse(size)[1]
    assert _decoder._buffer_pool_stats()[0] == 0


@linux_only
def test_zeroed_bitmap_from_a_dirty_buffer(pool_limit: None, monkeypatch) -> None:
    monkeypatch.setattr(threads, "TRIM_AFTER", 3600.0)  # (the pool is looked at below)
    # A validity bitmap is allocated zeroed when the first null arrives; past 512k
    # rows it is mapped, and a pooled mapping comes back dirty (several are pooled:
    # the int column's growth takes one too).
    n = 2_200_000
    ones = io.BytesIO()
    bools = {"type": "record", "name": "B",
             "fields": [{"name": f"b{i}", "type": "boolean"} for i in range(4)]}
    row = {f"b{i}": True for i in range(4)}
    fastavro.writer(ones, bools, (row for _ in range(n)), codec="null")
    _decoder._set_buffer_pool_limit(1 << 30)
    dirty = jetliner.read_avro(ones.getvalue(), batch_size=n)  # bool bits: all ones
    del dirty
    gc.collect()
    assert _decoder._buffer_pool_stats()[0] > 0
    values = [1 if i < 2_000_000 or i % 3 else None for i in range(n)]
    data = io.BytesIO()
    schema = {"type": "record", "name": "R", "fields": [{"name": "v", "type": ["null", "int"]}]}
    fastavro.writer(data, schema, ({"v": v} for v in values), codec="null")
    got = jetliner.read_avro(data.getvalue(), batch_size=n)["v"]
    assert got.null_count() == values.count(None)
    assert got.is_null().to_list() == [v is None for v in values]


@linux_only
def test_every_mapping_is_returned(pool_limit: None) -> None:
    _decoder._set_buffer_pool_limit(0)
    gc.collect()
    before = _decoder._buffer_pool_stats()[1]
    data = avro(records(120_000, seed=2, nulls=True))
    frames = [jetliner.read_avro(data, batch_size=60_000) for _ in range(3)]
    assert _decoder._buffer_pool_stats()[1] > before, "large columns should be mapped"
    for df in frames:
        assert df.equals(frames[0])
    del frames, df
    gc.collect()
    assert _decoder._buffer_pool_stats() == (0, before)


@linux_only
def test_pool_stays_under_its_limit(pool_limit: None) -> None:
    limit = 3 << 20
    _decoder._set_buffer_pool_limit(limit)
    data = avro(records(100_000, seed=3, nulls=False))
    pooled = []
    emptied = False
    with jetliner.open(data, batch_size=25_000) as reader:
        for batch in reader:
            assert batch.height > 0
            gc.collect()
            pooled.append(_decoder._buffer_pool_stats()[0])
            if pooled[-1] and not emptied:
                # lowering the limit gives the excess back at once
                _decoder._set_buffer_pool_limit(0)
                assert _decoder._buffer_pool_stats()[0] == 0
                _decoder._set_buffer_pool_limit(limit)
                emptied = True
    assert 0 < max(pooled) <= limit  # earlier batches' buffers, kept for the next ones
    assert emptied
    # once no reader has been open for TRIM_AFTER seconds, the pool is given back
    deadline = time.monotonic() + threads.TRIM_AFTER + 10
    while _decoder._buffer_pool_stats()[0] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _decoder._buffer_pool_stats()[0] == 0


def test_values_across_the_mapping_threshold() -> None:
    # a string column whose data grows from the heap into a mapping mid-batch,
    # and a long column that crosses it too; compared with fastavro
    data = avro(records(40_000, seed=4, nulls=True))
    for batch_size in (1_000, 33_333, 40_000):
        assert jetliner.read_avro(data, batch_size=batch_size).equals(expected(data))


@linux_only
def test_buffers_fall_back_to_the_heap_when_no_mapping_can_be_had(pool_limit: None,
                                                                  monkeypatch) -> None:
    monkeypatch.setattr(threads, "TRIM_AFTER", 3600.0)  # (the pool is looked at below)
    # A process can run out of mappings (vm.max_map_count) long before memory.
    # With every new mmap and mremap refused, buffers come from pooled mappings
    # while they last, grow out of them by a copy to the heap, and start on the
    # heap: the values must not change, and no new mapping appears.
    data = avro(records(60_000, seed=5, nulls=True))
    want = expected(data)
    _decoder._set_buffer_pool_limit(1 << 30)
    warm = jetliner.read_avro(data, batch_size=5_000)  # small batches: small pooled maps
    del warm
    gc.collect()
    assert _decoder._buffer_pool_stats()[0] > 0
    live = _decoder._buffer_pool_stats()[1]
    _decoder._refuse_mappings(True)
    try:
        got = jetliner.read_avro(data, batch_size=60_000)  # grows past every pooled map
        assert _decoder._buffer_pool_stats()[1] <= live
    finally:
        _decoder._refuse_mappings(False)
    assert got.equals(want)


@pytest.mark.skipif(os.name != "posix", reason="pooled reads use pread (POSIX)")
def test_pooled_reads_return_the_files_bytes(tmp_path, pool_limit: None) -> None:
    rng = random.Random(5)
    path = tmp_path / "f"
    content = rng.randbytes(5 << 20)
    path.write_bytes(content)
    fd = os.open(path, os.O_RDONLY)
    try:
        # a dirty buffer back from the pool holds only what the next read put in it
        big = _decoder.pread_pooled(fd, 4 << 20, 0)
        assert bytes(memoryview(big)) == content[: 4 << 20]
        del big
        for n, offset in [(4 << 20, 1 << 20), (3 << 20, 3), (1, len(content) - 1),
                          (4 << 20, len(content) - 10), (100, len(content)), (0, 7)]:
            got = _decoder.pread_pooled(fd, n, offset)
            assert len(got) == len(content[offset:offset + n])
            assert bytes(memoryview(got)) == content[offset:offset + n]
            assert memoryview(got).readonly
    finally:
        os.close(fd)


@pytest.mark.skipif(os.name != "posix", reason="pooled reads use pread (POSIX)")
def test_a_failed_pooled_read_raises_the_system_error(tmp_path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)  # a folder: pread fails with EISDIR
    try:
        with pytest.raises(OSError) as info:
            _decoder.pread_pooled(fd, 100, 0)
        assert info.value.errno == errno.EISDIR
    finally:
        os.close(fd)
    with pytest.raises(ValueError, match="bad read"):
        _decoder.pread_pooled(0, -1, 0)


@linux_only
def test_a_local_files_chunks_go_back_to_the_pool(tmp_path, pool_limit: None) -> None:
    _decoder._set_buffer_pool_limit(0)
    gc.collect()
    before = _decoder._buffer_pool_stats()[1]
    data = avro(records(200_000, seed=4, nulls=True))
    assert len(data) > 4 << 20  # more than one chunk of the local reader
    path = tmp_path / "f.avro"
    path.write_bytes(data)
    df = jetliner.read_avro(path)
    assert df.equals(jetliner.read_avro(data))
    del df
    gc.collect()
    assert _decoder._buffer_pool_stats() == (0, before)


def test_the_snappy_block_pool_is_given_back_once_reads_are_idle() -> None:
    from jetliner import _snappy

    buf = io.BytesIO()
    fastavro.writer(buf, SCHEMA, records(20_000, seed=6, nulls=True), codec="snappy")
    df = jetliner.read_avro(buf.getvalue())
    assert df.height == 20_000
    del df
    gc.collect()
    deadline = time.monotonic() + threads.TRIM_AFTER + 10
    while _snappy._pool_stats() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _snappy._pool_stats() == 0


@linux_only
def test_large_scratch_is_a_mapping_of_the_pool_not_the_c_heap(pool_limit: None) -> None:
    # where a late read notes record starts: a large Python object freed by a decoding
    # thread would raise glibc's mmap threshold and leave later buffers resident in that
    # thread's arena
    _decoder._set_buffer_pool_limit(0)
    gc.collect()
    before = _decoder._buffer_pool_stats()[1]
    big = _decoder.pooled_scratch(_decoder._mapped_threshold())
    assert _decoder._buffer_pool_stats()[1] == before + 1
    view = memoryview(big)
    assert not view.readonly and len(big) == _decoder._mapped_threshold()
    view[-8:] = (7).to_bytes(8, "little")
    assert bytes(view[-8:]) == (7).to_bytes(8, "little")
    view.release()
    del view, big
    assert _decoder._buffer_pool_stats()[1] == before
    small = _decoder.pooled_scratch(64)
    assert len(small) == 64 and _decoder._buffer_pool_stats()[1] == before
    with pytest.raises(ValueError, match="bad size"):
        _decoder.pooled_scratch(-1)
