"""Splits: every record of a file is read by exactly one of its splits, whatever the
codec, block size and split size (splits smaller than a block, splits inside the
header), and every API reads a split."""

from __future__ import annotations

import io
import pickle
import random
import warnings
from pathlib import Path

import fastavro
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jetliner
from jetliner import ConfigurationError, SourceChangedError, Split

SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "id", "type": "long"},
    {"name": "s", "type": ["null", "string"]},
    {"name": "xs", "type": {"type": "array", "items": "int"}},
]}


def write(path: Path, n: int, *, codec: str = "null", sync_interval: int = 200,
          start: int = 0) -> list[dict]:
    recs = [{"id": start + i, "s": None if i % 7 == 0 else f"v{i}" * (i % 5),
             "xs": list(range(i % 4))} for i in range(n)]
    with path.open("wb") as f:
        fastavro.writer(f, SCHEMA, recs, codec=codec, sync_interval=sync_interval)
    return recs


def read_splits(splits: list[Split], **options: object) -> pl.DataFrame:
    frames = [jetliner.read_avro(s, **options) for s in splits]
    return pl.concat(frames, how="vertical")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(0, 300),
    codec=st.sampled_from(["null", "deflate", "snappy", "zstandard", "bzip2", "xz"]),
    sync_interval=st.sampled_from([1, 50, 200, 4000]),
    split_size=st.integers(1, 6000),
    # reads shorter than a sync marker too: the search for it spans them
    chunk=st.sampled_from([None, 1, 7, 15, 16, 17, 4096]),
)
def test_every_record_is_read_once(tmp_path: Path, n: int, codec: str, sync_interval: int,
                                   split_size: int, chunk: int | None) -> None:
    path = tmp_path / f"f-{codec}.avro"
    recs = write(path, n, codec=codec, sync_interval=sync_interval)
    size = path.stat().st_size
    split_size = min(split_size, size)  # ...so that some examples cut many splits
    splits = jetliner.plan_splits(path, split_size=split_size)
    assert splits[0].start == 0 and splits[-1].end == size
    assert all(a.end == b.start for a, b in zip(splits, splits[1:], strict=False))
    got = read_splits(splits, read_chunk_size=chunk)
    assert got["id"].to_list() == [r["id"] for r in recs]
    assert got.equals(jetliner.read_avro(path))


@pytest.mark.parametrize("chunk", [1, 7, 15, 16])
def test_reads_shorter_than_a_sync_marker_still_find_it(tmp_path: Path, chunk: int) -> None:
    # a split looks for the first sync marker after its start; with reads of
    # fewer than 16 bytes the marker spans several of them
    path = tmp_path / "f.avro"
    recs = write(path, 20_000, sync_interval=16_000)
    splits = jetliner.plan_splits(path, split_size=path.stat().st_size // 3)
    got = read_splits(splits, read_chunk_size=chunk)
    assert got["id"].to_list() == [r["id"] for r in recs]


def test_split_inside_the_header_owns_no_block(tmp_path: Path) -> None:
    path = tmp_path / "f.avro"
    write(path, 50)
    size = path.stat().st_size
    header = jetliner.read_avro(path, n_rows=0)  # schema only
    inside = Split(str(path), 0, 10, size)
    df = jetliner.read_avro(inside)
    assert df.height == 0 and df.schema == header.schema
    # the split holding the header's end owns the first block
    rest = Split(str(path), 10, size, size)
    assert jetliner.read_avro(rest)["id"].to_list() == list(range(50))


def test_every_api_reads_a_split(tmp_path: Path) -> None:
    path = tmp_path / "f.avro"
    write(path, 400, codec="deflate", sync_interval=500)
    splits = jetliner.plan_splits(path, split_size=path.stat().st_size // 3 + 1)
    assert len(splits) == 3
    want = [jetliner.read_avro(s) for s in splits]
    assert sum(w.height for w in want) == 400 and all(w.height for w in want)
    for s, w in zip(splits, want, strict=True):
        assert jetliner.scan_avro(s).collect().equals(w)
        assert jetliner.scan_avro(s).select("id").filter(pl.col("id") % 2 == 0).collect().equals(
            w.select("id").filter(pl.col("id") % 2 == 0))
        with jetliner.open(s, batch_size=7) as reader:
            assert pl.concat(list(reader)).equals(w)
        with jetliner.AvroReader(s) as reader:
            assert pl.concat(list(reader)).equals(w)
        assert jetliner.read_avro_schema(s) == w.schema
    # several splits at once, in order, with a row index over what they read
    both = jetliner.read_avro(splits[1:], row_index_name="i")
    assert both["id"].to_list() == pl.concat(want[1:])["id"].to_list()
    assert both["i"].to_list() == list(range(both.height))


def test_splits_pickle_and_check_the_file(tmp_path: Path) -> None:
    path = tmp_path / "f.avro"
    write(path, 100)
    split = jetliner.plan_splits(path, split_size=1 << 20)[0]
    assert pickle.loads(pickle.dumps(split)) == split
    with path.open("ab") as f:
        f.write(b"x")
    with pytest.raises(SourceChangedError, match="plan the splits again"):
        jetliner.read_avro(split)


def test_split_arguments_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "f.avro"
    write(path, 10)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigurationError, match="split_size"):
            jetliner.plan_splits(path, split_size=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="cannot split"):
        jetliner.plan_splits(path.read_bytes())
    with pytest.raises(ConfigurationError, match="before Split.start"):
        Split(str(path), 10, 5, 100)
    with pytest.raises(ConfigurationError, match="non-negative"):
        Split(str(path), -1, 5, 100)
    with pytest.raises(jetliner.SourceNotFoundError):
        jetliner.plan_splits(tmp_path / "missing.avro")


def test_glob_plans_every_file(tmp_path: Path) -> None:
    for k in range(3):
        write(tmp_path / f"p{k}.avro", 100, start=1000 * k)
    splits = jetliner.plan_splits(str(tmp_path / "p*.avro"), split_size=700)
    assert {s.path for s in splits} == {str(tmp_path / f"p{k}.avro") for k in range(3)}
    got = read_splits(splits)["id"].to_list()
    assert got == [1000 * k + i for k in range(3) for i in range(100)]


def test_damage_belongs_to_the_split_that_owns_the_block(tmp_path: Path) -> None:
    # damage one block's header: only the split owning that block fails (strict)
    # or loses records (skip mode); its neighbours frame past their end without
    # reporting it, and no record is read twice
    path = tmp_path / "f.avro"
    write(path, 300, sync_interval=300)
    data = bytearray(path.read_bytes())
    sync = bytes(data[-16:])
    marks = [i for i in range(len(data)) if data[i:i + 16] == sync]
    victim = marks[3] + 16  # the 4th block's count varint
    data[victim:victim + 2] = b"\xff\xff"
    path.write_bytes(bytes(data))
    splits = jetliner.plan_splits(path, split_size=900)
    owners = [s for s in splits if s.start <= victim < s.end]
    assert len(owners) == 1 and len(splits) > 2
    ids: list[int] = []
    for s in splits:
        if s is owners[0]:
            with pytest.raises(jetliner.ParseError, match="negative record count"):
                jetliner.read_avro(s)
            with pytest.warns(jetliner.SkippedDataWarning):
                ids += jetliner.read_avro(s, ignore_errors=True)["id"].to_list()
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                part = jetliner.read_avro(s)["id"].to_list()
                assert part == jetliner.read_avro(s, ignore_errors=True)["id"].to_list()
                ids += part
    assert len(ids) == len(set(ids)) and 0 < len(ids) < 300
    assert ids == sorted(ids)


def test_a_1gb_file_through_splits_equals_the_plain_read(tmp_path: Path) -> None:
    # written by Polars' own Avro writer (an independent implementation); the id
    # column proves order and exactly-once across splits, the others the values
    n = 40_500_000
    df = pl.DataFrame({"id": pl.arange(0, n, eager=True)}).with_columns(
        x=(pl.col("id") * 7919 % 1_000_003).cast(pl.Float64),
        s=pl.format("row-{}", pl.col("id") % 100_000),
    )
    # Polars writes one block per chunk: 100,000 rows (about 3 MB) each
    df = pl.concat([df.slice(i, 100_000) for i in range(0, n, 100_000)], rechunk=False)
    path = tmp_path / "big.avro"
    df.write_avro(path, compression="uncompressed")
    del df
    assert path.stat().st_size >= 1_000_000_000
    splits = jetliner.plan_splits(path)  # 128 MiB each
    assert len(splits) >= 8
    plain = jetliner.read_avro(path)
    assert plain.height == n
    total = 0
    for s in splits:
        part = jetliner.read_avro(s)
        assert part.equals(plain.slice(total, part.height))
        total += part.height
    assert total == n
    expected = plain.select(
        (pl.col("id") == pl.int_range(0, n)).all(),
        (pl.col("x") == (pl.col("id") * 7919 % 1_000_003).cast(pl.Float64)).all(),
        (pl.col("s") == pl.format("row-{}", pl.col("id") % 100_000)).all(),
    )
    assert expected.row(0) == (True, True, True)


def test_bytes_io_split_source_is_refused() -> None:
    buf = io.BytesIO()
    fastavro.writer(buf, SCHEMA, [{"id": 1, "s": None, "xs": []}])
    with pytest.raises(ConfigurationError, match="cannot split"):
        jetliner.plan_splits(buf)


def _read_ids(source: object, ignore_errors: bool) -> tuple[list[int] | None, int]:
    """(ids, damaged regions reported), or (None, 1) when strict mode raised."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with jetliner.open(source, ignore_errors=ignore_errors) as reader:
                ids = [i for df in reader for i in df["id"].to_list()]
                return ids, reader.error_count
    except jetliner.JetlinerError:
        return None, 1


@pytest.mark.parametrize("seed", range(12))
def test_damaged_files_split_like_the_whole_file(tmp_path: Path, seed: int) -> None:
    # one flipped byte (in a sync marker or anywhere), truncation or trailing
    # garbage: the splits, read in order, give what the whole file gives in skip
    # mode, report as many damaged regions, and exactly one split fails in strict
    # mode when the whole file does
    rng = random.Random(seed)
    path = tmp_path / "f.avro"
    write(path, 60, sync_interval=rng.choice([40, 90, 200]))
    data = bytearray(path.read_bytes())
    sync = bytes(data[-16:])
    marks = [i for i in range(len(data)) if data[i:i + 16] == sync]
    kind = seed % 4
    if kind == 0:  # a byte of a sync marker after a block
        data[rng.choice(marks[1:]) + rng.randrange(16)] ^= 0xFF
    elif kind == 1:  # any byte after the header
        data[rng.randrange(marks[0] + 16, len(data))] ^= 0xFF
    elif kind == 2:
        data = data[: len(data) - rng.randrange(1, 30)]
    else:
        data += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 25)))
    path.write_bytes(bytes(data))
    whole_ids, whole_errors = _read_ids(path, True)
    whole_fails = _read_ids(path, False)[0] is None
    for split_size in list(range(1, 40, 3)) + [97, 301, 1001]:
        ids: list[int] = []
        errors = failing = 0
        for s in jetliner.plan_splits(path, split_size=split_size):
            part, n = _read_ids(s, True)
            assert part is not None
            ids += part
            errors += n
            failing += _read_ids(s, False)[0] is None
        assert (ids, errors) == (whole_ids, whole_errors), split_size
        assert failing == (1 if whole_fails else 0), split_size


def test_a_split_reads_nothing_of_the_next_splits_blocks(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # four blocks of about 1 MB: the split of the first block must not fetch the
    # second (Amazon S3 bills and waits for every byte)
    path = tmp_path / "big-blocks.avro"
    recs = [{"id": i, "s": "x" * 1000, "xs": []} for i in range(4000)]
    with path.open("wb") as f:
        fastavro.writer(f, SCHEMA, recs, codec="null", sync_interval=1_000_000)
    data = path.read_bytes()
    sync = data[-16:]
    starts = [i + 16 for i in range(len(data)) if data[i:i + 16] == sync][:-1]
    assert len(starts) >= 3
    from jetliner import sources

    fetched: list[tuple[int, int]] = []
    real = sources._LocalFile.read_range

    def counting(self: object, start: int, end: int) -> bytes:
        fetched.append((start, end))
        return real(self, start, end)  # type: ignore[arg-type]

    monkeypatch.setattr(sources._LocalFile, "read_range", counting)
    first = Split(str(path), 0, starts[1], len(data))
    assert jetliner.read_avro(first).height > 0
    assert sum(e - s for s, e in fetched) <= starts[1] + 64 * 1024
