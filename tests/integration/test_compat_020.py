"""Code written against jetliner 0.2.0 (the Rust package) keeps working.

What is pinned here was observed by running jetliner 0.2.0 side by side with this
package (its names, constructor order, attributes, ``variant`` and ``kind`` values,
``str``/``repr``/``to_dict()`` forms, reader properties and argument errors); where
this package is deliberately different, ``docs/guide/coming-from-0.2.md`` says so.
"""

from __future__ import annotations

import builtins
import pickle
import warnings
import zlib
from pathlib import Path

import polars as pl
import pytest
from conftest import avro_bytes, container, write_avro, zigzag

import jetliner

SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "id", "type": "long"}, {"name": "s", "type": "string"}]}


def record(i: int) -> bytes:
    return zigzag(i) + avro_bytes(f"s{i}".encode())


def blocks(n: int, per: int = 10) -> list[tuple[int, bytes]]:
    return [(per, b"".join(record(b * per + i) for i in range(per))) for b in range(n)]


@pytest.fixture
def files(tmp_path: Path):
    def make(name: str, data: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)
    return make


# -- exception classes -----------------------------------------------------------------


def test_the_builtin_named_classes_are_ours_and_the_builtins() -> None:
    assert jetliner.FileNotFoundError is jetliner.SourceNotFoundError
    assert jetliner.PermissionError is jetliner.AccessDeniedError
    for ours, builtin in ((jetliner.FileNotFoundError, builtins.FileNotFoundError),
                          (jetliner.PermissionError, builtins.PermissionError),
                          (jetliner.ConfigurationError, ValueError),
                          (jetliner.UnknownOptionError, TypeError)):
        assert issubclass(ours, jetliner.JetlinerError) and issubclass(ours, builtin)
    assert not issubclass(jetliner.AuthenticationError, builtins.PermissionError)
    assert issubclass(jetliner.AuthenticationError, jetliner.JetlinerError)


@pytest.mark.parametrize(("cls", "variant"), [
    (jetliner.JetlinerError, "Unknown"), (jetliner.DecodeError, "Decode"),
    (jetliner.ParseError, "Parse"), (jetliner.SourceError, "Source"),
    (jetliner.SchemaError, "Schema"), (jetliner.CodecError, "Codec"),
    (jetliner.AuthenticationError, "AuthenticationFailed"),
    (jetliner.FileNotFoundError, "NotFound"), (jetliner.PermissionError, "PermissionDenied"),
    (jetliner.ConfigurationError, "Configuration"),
])
def test_default_variants(cls: type[jetliner.JetlinerError], variant: str) -> None:
    err = cls("msg")
    assert (err.message, err.variant, err.path) == ("msg", variant, None)
    assert cls("msg", "Custom").variant == "Custom"


def test_constructors_take_the_positional_order_of_0_2_0() -> None:
    d = jetliner.DecodeError("m", "InvalidData", "/f.avro", 1, 2, 100, 50)
    assert (d.path, d.block_index, d.record_index, d.file_offset, d.block_offset) == (
        "/f.avro", 1, 2, 100, 50)
    p = jetliner.ParseError("m", "InvalidMagic", "/f.avro", 500)
    assert (p.variant, p.file_offset) == ("InvalidMagic", 500)
    c = jetliner.CodecError("m", "DecompressionError", "/f.avro", "deflate", 3, 4096)
    assert (c.codec, c.block_index, c.file_offset) == ("deflate", 3, 4096)
    s = jetliner.SchemaError("m", "Schema", "/f.avro", "field x")
    assert s.schema_context == "field x"


def test_to_dict_keys() -> None:
    assert list(jetliner.DecodeError("m").to_dict()) == [
        "message", "variant", "path", "block_index", "record_index", "file_offset",
        "block_offset"]
    assert list(jetliner.CodecError("m").to_dict()) == [
        "message", "variant", "path", "codec", "block_index", "file_offset"]
    assert list(jetliner.SchemaError("m").to_dict()) == [
        "message", "variant", "path", "schema_context"]
    assert list(jetliner.ConfigurationError("m").to_dict()) == ["message", "variant"]
    for cls in (jetliner.SourceError, jetliner.FileNotFoundError, jetliner.PermissionError,
                jetliner.AuthenticationError):
        assert list(cls("m").to_dict())[:3] == ["message", "variant", "path"]
    assert {"path", "file_offset"} <= set(jetliner.ParseError("m").to_dict())
    assert jetliner.ParseError("m", "Parse", "/f", 7).to_dict()["file_offset"] == 7


def test_str_and_repr() -> None:
    d = jetliner.DecodeError("bad", "InvalidData", "/f.avro", 1, 2, 100, 50)
    assert str(d) == "Decode error in '/f.avro' at block 1, record 2 (file offset 100, " \
                     "block offset 50): bad"
    assert repr(d) == ("DecodeError(message='bad', variant='InvalidData', path='/f.avro', "
                       "block_index=1, record_index=2, file_offset=100, block_offset=50)")
    assert str(jetliner.ParseError("bad", "InvalidMagic", "/f.avro", 0)) == (
        "Parse error in '/f.avro' at file offset 0: bad")
    assert str(jetliner.SourceError("bad", "Source", "/f.avro")) == (
        "Source error for '/f.avro': bad")
    assert str(jetliner.CodecError("bad", "DecompressionError", "/f", "deflate", 2)) == (
        "Codec error (deflate) in '/f' at block 2: bad")
    assert str(jetliner.ParseError("bad")) == "Parse error: bad"
    # these show the message alone, as the builtins they also are
    for cls in (jetliner.FileNotFoundError, jetliner.PermissionError,
                jetliner.ConfigurationError):
        assert str(cls("File not found: /f", None, "/f") if cls is not jetliner.ConfigurationError
                   else cls("File not found: /f")) == "File not found: /f"


def test_builtin_attributes_of_the_oserror_classes() -> None:
    e = jetliner.FileNotFoundError("File not found: /p", "NotFound", "/p")
    assert (e.errno, e.strerror, e.filename, e.args) == (2, "File not found: /p", "/p",
                                                        (2, "File not found: /p"))
    p = jetliner.PermissionError("denied", path="/p")
    assert (p.errno, p.filename) == (13, "/p")
    with pytest.raises(OSError):
        raise e


def test_exceptions_pickle_with_their_attributes() -> None:
    for err in (jetliner.DecodeError("m", "InvalidData", "/f", 1, 2, 3, 4),
                jetliner.FileNotFoundError("m", "NotFound", "/f"),
                jetliner.CodecError("m", "DecompressionError", "/f", "snappy", 5, 6),
                jetliner.BadBlockError("m", kind="RecordDecodeFailed", stage="decode",
                                       records_lost=3, path="/f", block_index=1)):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and back.to_dict() == err.to_dict()


def test_offset_is_a_deprecated_alias() -> None:
    with pytest.warns(DeprecationWarning, match="file_offset or block_offset"):
        assert jetliner.ParseError("m", file_offset=9).offset == 9
    with pytest.warns(DeprecationWarning):
        assert jetliner.DecodeError("m", file_offset=9, block_offset=4).offset == 4


# -- errors raised by real files ----------------------------------------------------------


def test_errors_of_broken_files(files, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.avro")
    with pytest.raises(jetliner.FileNotFoundError) as nf:
        jetliner.read_avro(missing)
    assert (nf.value.variant, nf.value.path, nf.value.errno, nf.value.filename) == (
        "NotFound", missing, 2, missing)

    with pytest.raises(jetliner.ParseError) as magic:
        jetliner.scan_avro(files("magic.avro", b"XXXX" + b"\x00" * 40))
    assert (magic.value.variant, magic.value.file_offset) == ("InvalidMagic", 0)

    with pytest.raises(jetliner.SourceError) as empty:
        jetliner.AvroReader(files("empty.avro", b""))
    assert empty.value.variant == "FileSystemError"

    data = bytearray(container(SCHEMA, blocks(3)))
    second_sync = [i for i in range(len(data)) if data.startswith(b"0123456789abcdef", i)][2]
    data[second_sync] ^= 0xFF
    with pytest.raises(jetliner.ParseError) as sync:
        jetliner.read_avro(files("sync.avro", bytes(data)))
    assert (sync.value.variant, sync.value.block_index, sync.value.file_offset) == (
        "InvalidSyncMarker", 1, second_sync)

    good = blocks(2)
    bad = (3, record(0) + zigzag(1) + avro_bytes(b"\xff") + record(2))  # record 1: not UTF-8
    path = files("utf8.avro", container(SCHEMA, [*good, bad]))
    with pytest.raises(jetliner.DecodeError) as dec:
        jetliner.read_avro(path)
    start = len(container(SCHEMA, good))  # where the bad block starts in the file
    assert dec.value.to_dict() == {
        "message": dec.value.message, "variant": "InvalidData", "path": path,
        "block_index": 2, "record_index": 1, "file_offset": start,
        "block_offset": len(record(0)) + 2}  # the string's bytes, after id and length
    with pytest.raises(jetliner.DecodeError) as eof:
        jetliner.read_avro(container(SCHEMA, [(2, record(0))]))
    assert eof.value.variant == "UnexpectedEof"

    payload = zlib.compress(b"".join(record(i) for i in range(5)))[2:-4]
    deflate = container(SCHEMA, [(5, payload), (5, b"\xff" * 20)], codec="deflate")
    with pytest.raises(jetliner.CodecError) as codec:
        jetliner.read_avro(deflate)
    assert (codec.value.variant, codec.value.codec, codec.value.block_index) == (
        "DecompressionError", "deflate", 1)

    with pytest.raises(jetliner.CodecError) as unknown:
        jetliner.read_avro(container(SCHEMA, [], codec="lz4"))
    assert (unknown.value.variant, unknown.value.codec) == ("UnsupportedCodec", "lz4")


def test_the_error_of_a_later_file_names_that_file(files) -> None:
    first = files("a.avro", container(SCHEMA, blocks(1)))
    second = files("b.avro", container(SCHEMA, [(2, record(0))]))
    with pytest.raises(jetliner.DecodeError) as info:
        jetliner.read_avro([first, second])
    assert info.value.path == second


# -- skip mode ------------------------------------------------------------------------------


def test_skip_mode_records(files) -> None:
    data = bytearray(container(SCHEMA, blocks(4)))
    sync_at = [i for i in range(len(data)) if data.startswith(b"0123456789abcdef", i)]
    data[sync_at[2]] ^= 0xFF  # the marker after block 1
    bad_sync = files("sync.avro", bytes(data))
    # block 1's record 1 claims a string of 50 bytes where 10 remain
    bad_record = files("rec.avro", container(SCHEMA, [
        *blocks(1), (3, record(0) + zigzag(9) + zigzag(50) + b"x" * 10)]))
    payload = zlib.compress(b"".join(record(i) for i in range(10)))[2:-4]
    bad_codec = files("codec.avro", container(SCHEMA, [(10, payload), (10, b"\xff" * 9)],
                                              codec="deflate"))
    with jetliner.MultiAvroReader([bad_sync, bad_record, bad_codec], ignore_errors=True,
                                  batch_size=10) as reader:
        assert (reader.errors, reader.error_count) == ([], 0)
        seen = []
        for _ in reader:
            seen.append(reader.error_count)
        errors = reader.errors
    # readable while reading, growing (the last file's bad block is its last: no batch
    # follows it)
    assert seen == sorted(seen) and seen[0] == 1 and seen[-1] == 2
    assert reader.error_count == 3 and len(reader.errors) == 3  # and after __exit__
    assert [(e.kind, e.stage, e.filepath) for e in errors] == [
        ("InvalidSyncMarker", "framing", bad_sync),
        ("RecordDecodeFailed", "decode", bad_record),
        ("DecompressionFailed(deflate)", "codec", bad_codec)]
    assert list(errors[1].to_dict())[:6] == [
        "kind", "block_index", "record_index", "file_offset", "message", "filepath"]
    assert (errors[1].block_index, errors[1].record_index) == (1, 1)
    assert str(errors[0]).startswith(f"[InvalidSyncMarker] in {bad_sync!r} Block 1")


# -- the iterator API ---------------------------------------------------------------------


def test_projected_columns_is_columns(files) -> None:
    path = files("a.avro", container(SCHEMA, blocks(2)))
    for reader in (jetliner.AvroReader(path, projected_columns=["s"]),
                   jetliner.MultiAvroReader([path], projected_columns=["s"]),
                   jetliner.open(path, projected_columns=["s"])):
        with reader:
            assert pl.concat(list(reader)).columns == ["s"]
            assert reader.polars_schema == pl.Schema({"s": pl.String()})
    with pytest.raises(jetliner.ConfigurationError, match="not both"):
        jetliner.AvroReader(path, columns=["s"], projected_columns=["s"])


def test_reader_state_before_during_and_after(files) -> None:
    a = files("a.avro", container(SCHEMA, blocks(3)))
    b = files("b.avro", container(SCHEMA, blocks(2)))
    reader = jetliner.MultiAvroReader([a, b], batch_size=10)
    assert (reader.total_sources, reader.current_source_index) == (2, 0)
    assert (reader.is_finished, reader.pending_records, reader.rows_read) == (False, 0, 0)
    indices = []
    for _ in range(5):
        next(reader)
        indices.append(reader.current_source_index)
        assert reader.pending_records >= 0
    assert indices == [0, 0, 0, 1, 1]
    assert not reader.is_finished  # the last batch is out, but next() has not said so
    with pytest.raises(StopIteration):
        next(reader)
    assert reader.is_finished and reader.current_source_index == 2
    assert (reader.pending_records, reader.rows_read) == (0, 50)


def test_exit_finishes_the_reader(files) -> None:
    path = files("a.avro", container(SCHEMA, blocks(3)))
    with jetliner.AvroReader(path, batch_size=10) as reader:
        next(reader)
    assert reader.is_finished and reader.rows_read == 10
    with pytest.raises(StopIteration):
        next(reader)
    assert reader.schema_dict["name"] == "R" and reader.errors == []
    unused = jetliner.AvroReader(path)
    unused.__exit__(None, None, None)
    unused.__exit__(None, None, None)  # twice is safe
    assert unused.is_finished


def test_a_failed_read_fails_again_instead_of_looking_finished(files) -> None:
    path = files("a.avro", container(SCHEMA, [*blocks(1), (2, record(0))]))
    reader = jetliner.AvroReader(path, batch_size=10)
    next(reader)
    for _ in range(2):
        with pytest.raises(jetliner.DecodeError):
            next(reader)
    assert not reader.is_finished


# -- arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize("call", [
    lambda p: jetliner.read_avro(p, bogus=1),
    lambda p: jetliner.scan_avro(p, bogus=1),
    lambda p: jetliner.scan_avro(p, columns=["id"]),
    lambda p: jetliner.read_avro_schema(p, bogus=1),
    lambda p: jetliner.open(p, bogus=1),
    lambda p: jetliner.AvroReader(p, bogus=1),
    lambda p: jetliner.MultiAvroReader([p], bogus=1),
])
def test_an_unknown_keyword_is_a_type_error(files, call) -> None:
    path = files("a.avro", write_avro(SCHEMA, [{"id": 1, "s": "x"}]))
    with pytest.raises(TypeError, match="unexpected keyword argument") as info:
        call(path)
    assert isinstance(info.value, jetliner.ConfigurationError)


def test_argument_errors(files) -> None:
    path = files("a.avro", write_avro(SCHEMA, [{"id": i, "s": "x"} for i in range(3)]))
    for call in (lambda: jetliner.read_avro(path, row_index_name="i", row_index_offset=-1),
                 lambda: jetliner.scan_avro(path, row_index_name="i", row_index_offset=-1),
                 lambda: jetliner.MultiAvroReader([path], row_index_name="i",
                                                  row_index_offset=-1)):
        with pytest.raises(jetliner.ConfigurationError, match="cannot be negative"):
            call()
    with pytest.raises(jetliner.ConfigurationError, match="cannot be negative"):
        jetliner.read_avro(path, columns=[-1])
    largest = 2**32 - 1 if pl.get_index_type() == pl.UInt32 else 2**64 - 1
    for offset in (largest + 1, 2**70):
        with pytest.raises(jetliner.ConfigurationError, match="exceeds maximum row index"):
            jetliner.scan_avro(path, row_index_name="i", row_index_offset=offset)
    # the offset fits, the rows after it do not
    with pytest.raises(jetliner.ConfigurationError, match="exceeds maximum row index"):
        jetliner.read_avro(path, row_index_name="i", row_index_offset=largest - 1)
    df = jetliner.read_avro(path, row_index_name="i", row_index_offset=largest - 2)
    assert df["i"].to_list() == [largest - 2, largest - 1, largest]
    for call in (lambda: jetliner.read_avro([]), lambda: jetliner.scan_avro([]),
                 lambda: jetliner.MultiAvroReader([])):
        with pytest.raises(ValueError, match="empty") as info:
            call()
        assert isinstance(info.value, jetliner.ConfigurationError)
    with pytest.raises(TypeError, match="got int"):
        jetliner.AvroReader(123)


def test_max_block_size_none_lifts_the_bound(files) -> None:
    path = files("a.avro", write_avro(SCHEMA, [{"id": i, "s": "x" * 50} for i in range(100)],
                                      codec="deflate"))
    with pytest.raises(jetliner.CodecError) as info:
        jetliner.read_avro(path, max_block_size=100)
    assert info.value.variant == "OversizedOutput"
    assert jetliner.read_avro(path, max_block_size=None).height == 100
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jetliner.read_avro(path)  # no deprecation warning from jetliner's own code
