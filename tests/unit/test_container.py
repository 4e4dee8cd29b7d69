"""Container framing: header forms other writers produce, and framing errors."""

from __future__ import annotations

import pytest
from conftest import avro_bytes, container, zigzag

import jetliner

LONG = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "long"}]}


def test_no_codec_key_means_null() -> None:
    assert jetliner.read_avro(container(LONG, [(1, zigzag(5))]))["a"].to_list() == [5]


def test_non_utf8_metadata_values_are_legal() -> None:
    data = container(LONG, [(1, zigzag(5))], meta={"user.bin": b"\xff\xfe\x00\xd7"})
    assert jetliner.read_avro(data)["a"].to_list() == [5]


def test_negative_count_in_metadata_map_is_legal() -> None:
    import json

    entries = avro_bytes(b"avro.schema") + avro_bytes(json.dumps(LONG).encode())
    header = b"Obj\x01" + zigzag(-1) + zigzag(len(entries)) + entries + zigzag(0) + b"S" * 16
    data = header + zigzag(1) + zigzag(1) + zigzag(9) + b"S" * 16
    assert jetliner.read_avro(data)["a"].to_list() == [9]


def test_header_larger_than_64_kib() -> None:
    data = container(LONG, [(1, zigzag(5))], meta={"big": b"x" * 300_000})
    assert jetliner.read_avro(data)["a"].to_list() == [5]


def test_many_blocks_and_a_header_only_file() -> None:
    blocks = [(2, zigzag(i) + zigzag(-i)) for i in range(100)]
    assert jetliner.read_avro(container(LONG, blocks)).height == 200
    assert jetliner.read_avro(container(LONG, [])).height == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Obj", "ends inside the Avro header"),
        (b"PAR1xxxx", "not an Avro object container file"),
        (b"Obj\x00" + b"\x00" * 20, "unsupported Avro container version"),
        (b"Obj\x01" + zigzag(1) + avro_bytes(b"k") + avro_bytes(b"v") + zigzag(0) + b"S" * 16,
         "no 'avro.schema'"),
        (b"Obj\x01" + zigzag(1) + zigzag(-5), "negative metadata key length"),
    ],
)
def test_header_errors(data: bytes, message: str) -> None:
    with pytest.raises(jetliner.ParseError, match=message):
        jetliner.read_avro(data)


def test_an_empty_file_is_a_source_error() -> None:
    # not a ParseError: there is no container to parse (what jetliner 0.2.0 raised too)
    with pytest.raises(jetliner.SourceError, match="empty") as info:
        jetliner.read_avro(b"")
    assert info.value.variant == "FileSystemError"


def test_trailing_garbage_after_last_block() -> None:
    with pytest.raises(jetliner.ParseError, match="trailing") as info:
        jetliner.read_avro(container(LONG, [(1, zigzag(5))]) + b"\n")
    assert info.value.block_index == 1


def test_sync_marker_mismatch_names_block_and_offset() -> None:
    good = container(LONG, [(1, zigzag(5)), (1, zigzag(6))])
    bad = good[:-3] + b"zzz"
    with pytest.raises(jetliner.ParseError, match="sync marker") as info:
        jetliner.read_avro(bad)
    assert info.value.block_index == 1
    assert info.value.file_offset == len(good) - 16
    assert info.value.variant == "InvalidSyncMarker"


def test_block_size_beyond_the_file() -> None:
    data = container(LONG, [(1, zigzag(5))])
    header_len = len(container(LONG, []))
    lying = data[:header_len] + zigzag(1) + zigzag(1000) + data[header_len + 2:]
    with pytest.raises(jetliner.ParseError, match="only .* bytes remain"):
        jetliner.read_avro(lying)


def test_negative_block_count_and_size() -> None:
    header = container(LONG, [])
    with pytest.raises(jetliner.ParseError, match="negative record count"):
        jetliner.read_avro(header + zigzag(-1) + zigzag(0) + b"0123456789abcdef")
    with pytest.raises(jetliner.ParseError, match="negative byte size"):
        jetliner.read_avro(header + zigzag(1) + zigzag(-4) + b"0123456789abcdef")
