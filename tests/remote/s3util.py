"""Shared by the remote tests: test credentials and Avro data with its expected frame."""

from __future__ import annotations

import io
import random

import fastavro
import polars as pl

KEY_ID = "AKIAJETLINERTEST0001"
SECRET = "jetliner-test-secret-key"


SCHEMA = {
    "type": "record", "name": "Event",
    "fields": [
        {"name": "user_id", "type": "long"},
        {"name": "amount", "type": "double"},
        {"name": "status", "type": {"type": "enum", "name": "Status",
                                    "symbols": ["active", "inactive", "banned"]}},
        {"name": "note", "type": ["null", "string"]},
    ],
}


def records(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [{"user_id": i, "amount": round(rng.uniform(0, 500), 2),
             "status": rng.choice(["active", "inactive", "banned"]),
             "note": None if i % 7 == 0 else f"note {rng.random():.6f}"} for i in range(n)]


def avro(n: int, seed: int = 0, codec: str = "null", sync_interval: int = 16_000) -> bytes:
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(SCHEMA), records(n, seed), codec=codec,
                    sync_interval=sync_interval)
    return buf.getvalue()


def expected(data: bytes) -> pl.DataFrame:
    """What fastavro reads back, as the frame jetliner should produce."""
    rows = list(fastavro.reader(io.BytesIO(data)))
    return pl.DataFrame(rows, schema={
        "user_id": pl.Int64, "amount": pl.Float64,
        "status": pl.Enum(["active", "inactive", "banned"]), "note": pl.String})
