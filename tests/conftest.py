"""Shared fixtures: the corpus folder (skipped when absent) and an Avro file writer."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import fastavro
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/matching.py

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def corpus_files(kind: str) -> list[Path]:
    """Files of ``../shared/corpus/<kind>``; empty when the corpus is absent."""
    folder = CORPUS / kind
    return sorted(folder.iterdir()) if folder.is_dir() else []


def write_avro(schema: Any, records: list[Any], **kw: Any) -> bytes:
    """Avro container bytes written by fastavro."""
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(schema), records, **kw)
    return buf.getvalue()


@pytest.fixture
def avro_file(tmp_path: Path):
    """Write records with fastavro into a temporary file; returns its path."""
    counter = iter(range(10**6))

    def make(schema: Any, records: list[Any], **kw: Any) -> Path:
        path = tmp_path / f"f{next(counter)}.avro"
        path.write_bytes(write_avro(schema, records, **kw))
        return path

    return make


def zigzag(n: int) -> bytes:
    """Avro's zig-zag varint encoding of `n` (written here, independently of jetliner)."""
    z = (n << 1) ^ (n >> 63)
    z &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = z & 0x7F
        z >>= 7
        if z:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def avro_bytes(b: bytes) -> bytes:
    """Avro encoding of a bytes/string value: length, then the bytes."""
    return zigzag(len(b)) + b


SYNC = b"0123456789abcdef"


def container(schema: Any, blocks: list[tuple[int, bytes]], meta: dict[str, bytes] | None = None,
              codec: str | None = None, sync: bytes = SYNC) -> bytes:
    """A hand-built object container file: header, then (count, raw payload) blocks."""
    import json

    entries = {"avro.schema": json.dumps(schema).encode()}
    if codec is not None:
        entries["avro.codec"] = codec.encode()
    entries.update(meta or {})
    out = bytearray(b"Obj\x01")
    out += zigzag(len(entries))
    for k, v in entries.items():
        out += avro_bytes(k.encode()) + avro_bytes(v)
    out += zigzag(0) + sync
    for count, payload in blocks:
        out += zigzag(count) + zigzag(len(payload)) + payload + sync
    return bytes(out)
