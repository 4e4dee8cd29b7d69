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
