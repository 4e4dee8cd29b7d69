"""ignore_errors=True: damaged regions are skipped and reported, good data kept."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from conftest import corpus_files, write_avro

import jetliner

SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "id", "type": "long"}, {"name": "s", "type": "string"}]}
ROWS = [{"id": i, "s": f"value-{i:05d}"} for i in range(2000)]
MALFORMED = corpus_files("malformed")


def block_counts(data: bytes) -> list[int]:
    """Records per block, as fastavro's block reader frames the file."""
    import io

    import fastavro

    return [b.num_records for b in fastavro.block_reader(io.BytesIO(data))]


def test_strict_mode_raises_skip_mode_keeps_the_rest(tmp_path: Path) -> None:
    original = write_avro(SCHEMA, ROWS, sync_interval=2000)
    counts = block_counts(original)
    data = bytearray(original)
    sync = bytes(data[-16:])
    # damage the sync marker after the third block
    third = [i for i in range(len(data)) if data.startswith(sync, i)][3]
    data[third] ^= 0xFF
    path = tmp_path / "damaged.avro"
    path.write_bytes(bytes(data))
    with pytest.raises(jetliner.ParseError, match="sync marker"):
        jetliner.read_avro(path)
    with pytest.warns(jetliner.SkippedDataWarning) as record:
        df = jetliner.read_avro(path, ignore_errors=True)
    errors = record[0].message.errors
    assert len(errors) == 1 and errors[0].stage == "framing" and errors[0].block_index == 2
    assert errors[0].kind == "InvalidSyncMarker"
    # exactly the rows of block 2 (whose sync marker was damaged) are missing
    lost = range(sum(counts[:2]), sum(counts[:3]))
    assert df["id"].to_list() == [i for i in range(2000) if i not in lost]


def test_decode_error_keeps_the_records_before_the_damage(tmp_path: Path) -> None:
    from conftest import avro_bytes, container, zigzag

    good = b"".join(zigzag(i) + avro_bytes(b"ok") for i in range(5))
    bad = zigzag(5) + avro_bytes(b"\xff\xfe")  # invalid UTF-8 in the 6th record
    after = zigzag(6) + avro_bytes(b"ok")
    data = container(SCHEMA, [(2, zigzag(100) + avro_bytes(b"a") + zigzag(101) + avro_bytes(b"b")),
                              (7, good + bad + after), (1, zigzag(200) + avro_bytes(b"z"))])
    with jetliner.open(data, ignore_errors=True) as reader:
        ids = [i for batch in reader for i in batch["id"].to_list()]
        errors = reader.errors
    assert ids == [100, 101, 0, 1, 2, 3, 4, 200]
    assert len(errors) == 1
    e = errors[0]
    assert (e.stage, e.block_index, e.record_index, e.records_lost) == ("decode", 1, 5, 2)
    assert e.kind == "RecordDecodeFailed"
    assert reader.error_count == 1


def test_scan_avro_reports_through_a_warning(tmp_path: Path) -> None:
    data = bytearray(write_avro(SCHEMA, ROWS, codec="deflate", sync_interval=3000))
    data[len(data) // 2] ^= 0x55  # inside some block's compressed bytes
    path = tmp_path / "x.avro"
    path.write_bytes(bytes(data))
    with pytest.raises(jetliner.JetlinerError):
        jetliner.scan_avro(path).collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = jetliner.scan_avro(path, ignore_errors=True).collect()
    skipped = [w.message for w in caught if isinstance(w.message, jetliner.SkippedDataWarning)]
    assert skipped and skipped[0].errors
    assert 0 < df.height < 2000
    assert df["id"].is_sorted()


@pytest.mark.skipif(not MALFORMED, reason="../shared/corpus is absent")
@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.name)
def test_malformed_corpus_in_skip_mode_reports_and_never_crashes(path: Path) -> None:
    try:
        with jetliner.open(path, ignore_errors=True) as reader:
            rows = sum(b.height for b in reader)
            errors = reader.errors
    except (jetliner.ParseError, jetliner.CodecError, jetliner.SchemaError,
            jetliner.SourceError) as exc:
        # header-level damage: nothing can be read, strict or not
        assert exc.block_index is None
        return
    assert errors, f"{path.name}: damaged file read without a reported skip ({rows} rows)"
    assert all(isinstance(e, jetliner.BadBlockError) and e.path == str(path) for e in errors)


@pytest.mark.skipif(not MALFORMED, reason="../shared/corpus is absent")
def test_multi_block_one_corrupted_keeps_the_good_blocks() -> None:
    path = next(p for p in MALFORMED if p.name == "jetliner_multi-block-one-corrupted.avro")
    with jetliner.open(path, ignore_errors=True) as reader:
        df = [b for b in reader]
        errors = reader.errors
    rows = sum(b.height for b in df)
    assert len(errors) == 1 and errors[0].block_index == 3
    assert 290 <= rows < 300


@pytest.mark.skipif(not MALFORMED, reason="../shared/corpus is absent")
@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.name)
def test_malformed_corpus_keeps_exactly_what_an_independent_model_keeps(path: Path) -> None:
    """Strict mode raises a typed error on every malformed file; skip mode returns
    the records an independent model of the skip rules (tests/skip_oracle.py:
    own framing, standard decompressors, fastavro records) says survive."""
    from matching import assert_frame_matches
    from skip_oracle import Unreadable, surviving_records

    with pytest.raises(jetliner.JetlinerError):
        jetliner.read_avro(path)
    try:
        want = surviving_records(path.read_bytes())
    except Unreadable:
        with pytest.raises(jetliner.JetlinerError) as info:
            jetliner.read_avro(path, ignore_errors=True)
        assert info.value.block_index is None  # header-level: nothing to keep
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jetliner.SkippedDataWarning)
        df = jetliner.read_avro(path, ignore_errors=True)
    with jetliner.open(path, ignore_errors=True) as reader:
        schema = reader.schema_dict
    assert df.height == len(want)
    assert_frame_matches(schema, df, want)
