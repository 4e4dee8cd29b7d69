"""Seeded generator of the Avro files the benchmarks read.

Each data set (``simple``, ``wide``, ``complex``) is written with fastavro into
``benchmarks/data/<name>-<codec>.avro`` next to a ``.json`` sidecar recording
the parameters it was made with and facts the runner checks results against
(row count, how many rows pass the filter scenario's predicate).  A file whose
sidecar matches the requested parameters is reused, so generation happens once.

Run ``python benchmarks/generate.py [--codec snappy] [--datasets simple wide]``
to make the files ahead of time; ``run.py`` calls `ensure_dataset` itself.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import fastavro

DATA_DIR = Path(__file__).resolve().parent / "data"
CODECS = ("snappy", "deflate", "zstandard")
SEED = 20261121
# Java Avro's default sync interval (DataFileConstants.DEFAULT_SYNC_INTERVAL):
# blocks of roughly 64 kB before compression, as most producers write them.
SYNC_INTERVAL = 64_000
# bump when the generated content changes, so stale files are regenerated
GENERATOR_VERSION = 1

# the filter scenario keeps rows whose `bucket` (uniform over [0, 10000)) is
# below this: about 1% of the rows
FILTER_COLUMN = "bucket"
FILTER_BELOW = 100
BUCKETS = 10_000
# the wide_filter scenario keeps rows whose `c001_int` (uniform over the 32-bit ints)
# is below this: about 1% of the rows
WIDE_FILTER_COLUMN = "c001_int"
WIDE_FILTER_BELOW = -(2**31) + 2**32 // 100


@dataclass(frozen=True)
class DatasetParams:
    """The parameters a data file is generated from.

    Attributes
    ----------
    name
        Data set name: ``simple``, ``wide`` or ``complex``.
    rows
        Number of records.
    codec
        Avro block codec (``snappy``, ``deflate``, ``zstandard``).
    seed
        Seed of the `random.Random` the values come from.
    sync_interval
        Approximate uncompressed block size in bytes, passed to fastavro.
    version
        `GENERATOR_VERSION` the file was made with.
    """

    name: str
    rows: int
    codec: str
    seed: int = SEED
    sync_interval: int = SYNC_INTERVAL
    version: int = GENERATOR_VERSION


@dataclass(frozen=True)
class Dataset:
    """A generated data file and what is known about its content.

    Attributes
    ----------
    path
        The Avro file.
    params
        The parameters it was generated from.
    filter_rows
        Rows for which ``FILTER_COLUMN < FILTER_BELOW`` (``simple`` only, else None).
    columns
        Top-level field names in schema order.
    file_bytes
        Size of the file on disk.
    """

    path: Path
    params: DatasetParams
    filter_rows: int | None
    columns: list[str]
    file_bytes: int

    @property
    def rows(self) -> int:
        """Number of records in the file."""
        return self.params.rows


def _string_pool(rng: random.Random, size: int, lo: int = 10, hi: int = 20) -> list[str]:
    """Make `size` random ASCII strings of `lo`..`hi` characters.

    Values are drawn from a pool rather than generated per row: drawing from a
    pool of 10,000 is far cheaper and, inside a 64 kB block, compresses like
    fully random text.
    """
    letters = string.ascii_letters + string.digits
    return ["".join(rng.choices(letters, k=rng.randint(lo, hi))) for _ in range(size)]


# --------------------------------------------------------------------- simple


SIMPLE_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Simple",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": FILTER_COLUMN, "type": "int"},
        {"name": "amount", "type": "double"},
        {"name": "label", "type": "string"},
        {"name": "flag", "type": "boolean"},
        {"name": "ratio", "type": "float"},
    ],
}


def _simple_records(rng: random.Random, rows: int, counter: list[int]) -> Iterator[dict]:
    pool = _string_pool(rng, 10_000)
    rand, randrange, choice = rng.random, rng.randrange, rng.choice
    passed = 0
    for i in range(rows):
        bucket = randrange(BUCKETS)
        passed += bucket < FILTER_BELOW
        yield {
            "id": i,
            FILTER_COLUMN: bucket,
            "amount": rand() * 1e6 - 5e5,
            "label": choice(pool),
            "flag": rand() < 0.5,
            "ratio": rand(),
        }
    counter.append(passed)


# ----------------------------------------------------------------------- wide

WIDE_COLUMNS = 100
# cycle of column types; every 10th column is nullable ["null", T]
_WIDE_KINDS = ("long", "int", "double", "string", "boolean")


def _wide_fields() -> list[tuple[str, str, bool]]:
    """(name, type, nullable) of the wide data set's columns."""
    fields = []
    for i in range(WIDE_COLUMNS):
        kind = _WIDE_KINDS[i % len(_WIDE_KINDS)]
        fields.append((f"c{i:03d}_{kind}", kind, i % 10 == 7))
    return fields


def _wide_schema() -> dict[str, Any]:
    return {
        "type": "record",
        "name": "Wide",
        "fields": [
            {"name": n, "type": ["null", t] if nullable else t} for n, t, nullable in _wide_fields()
        ],
    }


def _wide_records(rng: random.Random, rows: int, counter: list[int]) -> Iterator[dict]:
    pool = _string_pool(rng, 10_000)
    rand, randrange, choice = rng.random, rng.randrange, rng.choice
    makers: dict[str, Callable[[], Any]] = {
        "long": lambda: randrange(-(2**40), 2**40),
        "int": lambda: randrange(-(2**31), 2**31),
        "double": lambda: rand() * 1e3,
        "string": lambda: choice(pool),
        "boolean": lambda: rand() < 0.5,
    }
    fields = [(n, makers[t], nullable) for n, t, nullable in _wide_fields()]
    for _ in range(rows):
        yield {
            n: (None if nullable and rand() < 0.2 else make()) for n, make, nullable in fields
        }


# -------------------------------------------------------------------- complex

COMPLEX_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Complex",
    "fields": [
        {"name": "id", "type": "long"},
        {
            "name": "customer",
            "type": {
                "type": "record",
                "name": "Customer",
                "fields": [
                    {"name": "name", "type": "string"},
                    {"name": "age", "type": "int"},
                    {
                        "name": "address",
                        "type": {
                            "type": "record",
                            "name": "Address",
                            "fields": [
                                {"name": "city", "type": "string"},
                                {"name": "zip", "type": "int"},
                            ],
                        },
                    },
                ],
            },
        },
        {
            "name": "discount",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "Discount",
                    "fields": [
                        {"name": "code", "type": "string"},
                        {"name": "percent", "type": "double"},
                    ],
                },
            ],
        },
        {
            "name": "items",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Item",
                    "fields": [
                        {"name": "sku", "type": "string"},
                        {"name": "quantity", "type": "int"},
                        {"name": "price", "type": "double"},
                    ],
                },
            },
        },
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attributes", "type": {"type": "map", "values": "string"}},
        {"name": "score", "type": ["null", "double"]},
    ],
}


def _complex_records(rng: random.Random, rows: int, counter: list[int]) -> Iterator[dict]:
    pool = _string_pool(rng, 10_000)
    short = _string_pool(rng, 200, 4, 8)
    rand, randrange, choice, sample = rng.random, rng.randrange, rng.choice, rng.sample
    for i in range(rows):
        yield {
            "id": i,
            "customer": {
                "name": choice(pool),
                "age": randrange(18, 90),
                "address": {"city": choice(short), "zip": randrange(10_000, 99_999)},
            },
            "discount": (
                {"code": choice(short), "percent": rand() * 50} if rand() < 0.3 else None
            ),
            "items": [
                {"sku": choice(pool), "quantity": randrange(1, 10), "price": rand() * 100}
                for _ in range(randrange(0, 5))
            ],
            "tags": sample(short, randrange(0, 4)),
            "attributes": {k: choice(pool) for k in sample(short, randrange(0, 4))},
            "score": rand() if rand() < 0.8 else None,
        }


# -------------------------------------------------------------------- driving

_SPECS: dict[str, tuple[int, Callable[[], dict[str, Any]], Callable[..., Iterator[dict]]]] = {
    "simple": (1_000_000, lambda: SIMPLE_SCHEMA, _simple_records),
    "wide": (300_000, _wide_schema, _wide_records),
    "complex": (1_000_000, lambda: COMPLEX_SCHEMA, _complex_records),
}
DATASETS = tuple(_SPECS)


def default_params(name: str, codec: str = "snappy") -> DatasetParams:
    """Return the standard parameters of data set `name` with `codec`."""
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}: pick one of {', '.join(CODECS)}")
    return DatasetParams(name=name, rows=_SPECS[name][0], codec=codec)


def _load(path: Path, meta_path: Path, params: DatasetParams) -> Dataset | None:
    """Return the existing data set if its sidecar matches `params`, else None."""
    if not (path.exists() and meta_path.exists()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return None
    if meta.get("params") != asdict(params) or meta.get("file_bytes") != path.stat().st_size:
        return None
    return Dataset(path, params, meta["filter_rows"], meta["columns"], meta["file_bytes"])


def ensure_dataset(
    params: DatasetParams, *, data_dir: Path = DATA_DIR, quiet: bool = False
) -> Dataset:
    """Generate the data file for `params` unless an identical one exists.

    Parameters
    ----------
    params
        What to generate.
    data_dir
        Where data files live.
    quiet
        Do not report progress on stderr.

    Returns
    -------
    Dataset
        The file and its known facts.
    """
    path = data_dir / f"{params.name}-{params.codec}.avro"
    meta_path = path.with_suffix(".json")
    found = _load(path, meta_path, params)
    if found is not None:
        return found
    data_dir.mkdir(parents=True, exist_ok=True)
    _, make_schema, make_records = _SPECS[params.name]
    schema = fastavro.parse_schema(make_schema())
    counter: list[int] = []
    if not quiet:
        print(f"generating {path.name} ({params.rows:,} rows) ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    tmp = path.with_suffix(".avro.tmp")
    with tmp.open("wb") as fo:
        records = make_records(random.Random(params.seed), params.rows, counter)
        fastavro.writer(fo, schema, records, codec=params.codec, sync_interval=params.sync_interval)
    tmp.replace(path)
    columns = [f["name"] for f in make_schema()["fields"]]
    meta = {
        "params": asdict(params),
        "filter_rows": counter[0] if counter else None,
        "columns": columns,
        "file_bytes": path.stat().st_size,
        "seconds": round(time.perf_counter() - start, 1),
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    if not quiet:
        print(f"  {meta['file_bytes'] / 1e6:.1f} MB in {meta['seconds']} s", file=sys.stderr)
    return Dataset(path, params, meta["filter_rows"], columns, meta["file_bytes"])


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: generate the requested data sets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codec", choices=CODECS, default="snappy")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    args = parser.parse_args(argv)
    for name in args.datasets:
        ds = ensure_dataset(default_params(name, args.codec))
        print(f"{ds.path}  rows={ds.rows:,}  bytes={ds.file_bytes:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
