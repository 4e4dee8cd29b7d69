"""Files written by other Avro implementations (Java, C, Go, JavaScript, Rust, Python).

Valid files must read with exactly the values an independent reader returns
(fastavro; the Apache ``avro`` package where fastavro cannot read a file), through
every API.  Malformed files must raise jetliner's typed errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import fastavro
import polars as pl
import pytest
from avro.datafile import DataFileReader
from avro.io import DatumReader
from conftest import corpus_files
from matching import assert_frame_matches
from polars.testing import assert_frame_equal

import jetliner

VALID = corpus_files("valid")
MALFORMED = corpus_files("malformed")


def oracle_records(path: Path) -> tuple[object, list]:
    """(writer schema JSON, records) as read by fastavro, or by avro if fastavro fails."""
    with path.open("rb") as f:
        try:
            reader = fastavro.reader(f)
            return reader.writer_schema, list(reader)
        except Exception:  # noqa: BLE001 - fall back to the other oracle
            pass
    with path.open("rb") as f, DataFileReader(f, DatumReader()) as reader:
        schema = json.loads(reader.meta["avro.schema"].decode())
        return schema, list(reader)


def header_schema(path: Path) -> object:
    with jetliner.open(path) as reader:
        return reader.schema_dict


@pytest.mark.skipif(not VALID, reason="../shared/corpus is absent")
@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_file_matches_oracle(path: Path) -> None:
    _, records = oracle_records(path)
    df = jetliner.read_avro(path)
    assert_frame_matches(header_schema(path), df, records)


@pytest.mark.skipif(not VALID, reason="../shared/corpus is absent")
@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_every_api_agrees(path: Path) -> None:
    df = jetliner.read_avro(path)
    schema = jetliner.read_avro_schema(path)
    assert df.schema == schema
    assert_frame_equal(jetliner.scan_avro(path).collect(), df)
    with jetliner.open(path, batch_size=7) as reader:
        assert reader.polars_schema == schema
        batches = list(reader)
        assert reader.is_finished
        assert reader.rows_read == df.height
    assert all(b.height <= 7 for b in batches)
    if batches:
        assert_frame_equal(pl.concat(batches), df)


@pytest.mark.skipif(not MALFORMED, reason="../shared/corpus is absent")
@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.name)
def test_malformed_file_raises_typed_error(path: Path) -> None:
    with pytest.raises(jetliner.JetlinerError) as info:
        jetliner.read_avro(path)
    err = info.value
    if path.stat().st_size == 0:  # no container at all: the source's fault, not the bytes'
        assert isinstance(err, jetliner.SourceError) and err.variant == "FileSystemError"
    else:
        assert isinstance(err, (jetliner.ParseError, jetliner.DecodeError, jetliner.CodecError))
    assert err.path == str(path)
    assert str(path) in str(err)


@pytest.mark.skipif(not MALFORMED, reason="../shared/corpus is absent")
@pytest.mark.parametrize(
    ("name", "error", "block"),
    [
        ("apache_c_avro-1237-bad-union-discriminant.avro", jetliner.DecodeError, 0),
        ("apache_test.avro12", jetliner.ParseError, None),
        ("c_interop_multiblock_lzma.avro", jetliner.CodecError, None),
        ("goavro_syncMarkerMismatch.avro", jetliner.ParseError, 0),
        ("hamba_snappy-invalid-crc.avro", jetliner.CodecError, 0),
        ("hamba_zstd-invalid-data.avro", jetliner.CodecError, 0),
        ("jetliner_corrupted-sync-marker.avro", jetliner.ParseError, 1),
        ("jetliner_invalid-magic.avro", jetliner.ParseError, None),
        ("jetliner_multi-block-one-corrupted.avro", jetliner.DecodeError, 3),
    ],
)
def test_malformed_file_error_kind_and_place(name: str, error: type, block: int | None) -> None:
    with pytest.raises(error) as info:
        jetliner.read_avro(next(p for p in MALFORMED if p.name == name))
    assert info.value.block_index == block
    if block is not None or error is jetliner.ParseError:
        assert info.value.file_offset is not None
    if error is jetliner.DecodeError:
        assert info.value.block_offset is not None


@pytest.mark.skipif(not MALFORMED, reason="../shared/corpus is absent")
def test_unknown_codec_fails_at_scan_time() -> None:
    path = next(p for p in MALFORMED if p.name == "c_interop_multiblock_lzma.avro")
    with pytest.raises(jetliner.CodecError, match="supported codecs are: null, deflate, snappy"):
        jetliner.scan_avro(path)


@pytest.mark.skipif(not VALID, reason="../shared/corpus is absent")
@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_written_back_reads_equal(path: Path, tmp_path: Path) -> None:
    """Each valid file, read by jetliner and written back, reads equal (schema and values);
    fastavro reads the written file's values as jetliner does."""
    import warnings

    df = jetliner.read_avro(path)
    out = tmp_path / "back.avro"
    with warnings.catch_warnings(record=True):  # (a name may need sanitising)
        warnings.simplefilter("always")
        jetliner.write_avro(df, out, codec="deflate")
    back = jetliner.read_avro(out)
    renamed = dict(zip(df.columns, back.columns, strict=True))
    assert_frame_equal(back, df.rename(renamed))
    with out.open("rb") as f:
        reader = fastavro.reader(f)
        assert_frame_matches(reader.writer_schema, back, list(reader))
