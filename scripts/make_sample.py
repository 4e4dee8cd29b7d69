"""Write jetliner/data/sample.avro, the small file the README's first command reads.

Deterministic: a seeded generator and a fixed sync marker.  Run with fastavro
installed (``pip install fastavro``): ``python scripts/make_sample.py``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro

SCHEMA = {
    "type": "record",
    "name": "User",
    "namespace": "jetliner.sample",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "name", "type": "string"},
        {"name": "email", "type": ["null", "string"]},
        {"name": "score", "type": "double"},
        {"name": "active", "type": "boolean"},
        {
            "name": "plan",
            "type": {"type": "enum", "name": "Plan", "symbols": ["free", "pro", "team"]},
        },
        {"name": "signup", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {
            "name": "address",
            "type": {
                "type": "record",
                "name": "Address",
                "fields": [{"name": "city", "type": "string"}, {"name": "zip", "type": "int"}],
            },
        },
    ],
}

FIRST = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Niklaus",
]
CITIES = ["Lyon", "Oslo", "Quito", "Osaka", "Accra", "Perth"]
TAGS = ["beta", "mobile", "emea", "apac", "vip", "trial"]


def records(n: int = 500) -> Iterator[dict[str, Any]]:
    """Generate the sample's users, the same ones on every run.

    Parameters
    ----------
    n
        Number of records.

    Yields
    ------
    dict[str, Any]
        One record of `SCHEMA`, as fastavro writes it.
    """
    rng = random.Random(20261121)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    for i in range(n):
        name = f"{rng.choice(FIRST)} {chr(65 + rng.randrange(26))}."
        yield {
            "id": i + 1,
            "name": name,
            "email": None if rng.random() < 0.2 else f"user{i + 1}@example.org",
            "score": round(rng.random(), 4),
            "active": rng.random() < 0.7,
            "plan": rng.choice(["free", "pro", "team"]),
            "signup": start + dt.timedelta(minutes=rng.randrange(500_000)),
            "tags": rng.sample(TAGS, rng.randrange(4)),
            "address": {"city": rng.choice(CITIES), "zip": rng.randrange(10000, 99999)},
        }


def main() -> None:
    """Write the sample file into the package, replacing it."""
    out = Path(__file__).resolve().parent.parent / "jetliner" / "data" / "sample.avro"
    with out.open("wb") as f:
        fastavro.writer(f, SCHEMA, records(), codec="snappy", sync_interval=4000,
                        sync_marker=b"jetliner-sample!")
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
