"""fastavro + Polars: decode records to dicts with fastavro, build with ``pl.from_dicts``.

The usual pure-Python route.  Avro maps come out of fastavro as dicts, which
``pl.from_dicts`` would turn into structs keyed by whatever map keys it sees
first; they are rewritten to lists of ``{"key", "value"}`` records (the
layout of a map) before building the frame.  jetliner returns them as
``pl.Map``, a cast this reader does not pay: it is 100x slower either way.  Projection
selects after building the full frame; the filter is applied to the dicts
before building, as a careful user would.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib.metadata import version as _dist_version
from itertools import islice
from typing import Any

import fastavro
import polars as pl

LABEL = "fastavro+polars"


def unavailable() -> str | None:
    """Return None: fastavro is a requirement of the benchmarks."""
    return None


def version() -> str:
    """Return the fastavro version."""
    return f"fastavro {_dist_version('fastavro')}"


def _map_fields(schema: Any) -> list[str]:
    """Names of the top-level fields of `schema` whose type is a map."""
    names = []
    for f in schema.get("fields", []):
        t = f["type"]
        if isinstance(t, dict) and t.get("type") == "map":
            names.append(f["name"])
    return names


def _records(fo: Any) -> Iterator[dict]:
    """Yield the file's records, maps rewritten as key/value record lists."""
    reader = fastavro.reader(fo)
    maps = _map_fields(reader.writer_schema)
    if not maps:
        yield from reader
        return
    for rec in reader:
        for name in maps:
            rec[name] = [{"key": k, "value": v} for k, v in rec[name].items()]
        yield rec


def _frame(records: Iterable[dict]) -> pl.DataFrame:
    return pl.from_dicts(list(records))


def read_full(path: str) -> pl.DataFrame:
    """Read every record into a DataFrame."""
    with open(path, "rb") as fo:
        return _frame(_records(fo))


def read_projection(path: str, columns: list[str]) -> pl.DataFrame:
    """Read every record, then select `columns`."""
    return read_full(path).select(columns)


def read_filter(path: str, column: str, below: int) -> pl.DataFrame:
    """Keep the records with ``record[column] < below``, then build the frame."""
    with open(path, "rb") as fo:
        return _frame(r for r in _records(fo) if r[column] < below)


def read_head(path: str, n: int) -> pl.DataFrame:
    """Build a frame of the first `n` records."""
    with open(path, "rb") as fo:
        return _frame(islice(_records(fo), n))


def read_head_eager(path: str, n: int) -> pl.DataFrame:
    """The same as `read_head`: fastavro has no lazy API."""
    return read_head(path, n)
