"""jetliner: ``read_avro`` for whole files and the eager head, ``scan_avro`` for the lazy queries.

This module also times the published Rust-based jetliner: the worker of
`readers.rust_jetliner` imports it in a virtualenv where ``import jetliner``
resolves to that package, whose API is the same, so both run identical queries.
"""

from __future__ import annotations

import polars as pl

import jetliner

LABEL = "jetliner"


def unavailable() -> str | None:
    """Return None: jetliner is the package under test and always present."""
    return None


def version() -> str:
    """Return the installed jetliner version and where it was imported from."""
    return f"{getattr(jetliner, '__version__', '?')} ({jetliner.__file__})"


def read_full(path: str) -> pl.DataFrame:
    """Read the whole file with ``jetliner.read_avro``."""
    return jetliner.read_avro(path)


def read_resolved(path: str, reader_schema: dict) -> pl.DataFrame:
    """Read the whole file through a reader schema (Avro schema resolution)."""
    return jetliner.read_avro(path, reader_schema=reader_schema)


def read_projection(path: str, columns: list[str]) -> pl.DataFrame:
    """Select `columns` through ``scan_avro`` (projection pushdown)."""
    return jetliner.scan_avro(path).select(columns).collect()


def read_filter(path: str, column: str, below: int) -> pl.DataFrame:
    """Keep rows with ``column < below`` through ``scan_avro`` (predicate pushdown)."""
    return jetliner.scan_avro(path).filter(pl.col(column) < below).collect()


def read_head(path: str, n: int) -> pl.DataFrame:
    """Take the first `n` rows through ``scan_avro`` (early stop)."""
    return jetliner.scan_avro(path).head(n).collect()


def read_head_eager(path: str, n: int) -> pl.DataFrame:
    """Read the first `n` rows with ``read_avro(n_rows=n)`` (no lazy query)."""
    return jetliner.read_avro(path, n_rows=n)
