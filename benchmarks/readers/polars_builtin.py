"""Polars' own ``pl.read_avro`` (eager only: there is no ``pl.scan_avro``).

Projection and head use its ``columns`` and ``n_rows`` arguments; the filter
reads everything and filters after.  Older or newer Polars releases may drop
the function, in which case the reader is reported unavailable.
"""

from __future__ import annotations

import polars as pl

LABEL = "polars read_avro"


def unavailable() -> str | None:
    """Return why ``pl.read_avro`` cannot be used, or None."""
    if not hasattr(pl, "read_avro"):
        return f"polars {pl.__version__} has no read_avro"
    return None


def version() -> str:
    """Return the Polars version."""
    return f"polars {pl.__version__}"


def read_full(path: str) -> pl.DataFrame:
    """Read the whole file."""
    return pl.read_avro(path)


def read_projection(path: str, columns: list[str]) -> pl.DataFrame:
    """Read only `columns`."""
    return pl.read_avro(path, columns=columns)


def read_filter(path: str, column: str, below: int) -> pl.DataFrame:
    """Read the whole file, keep rows with ``column < below``."""
    return pl.read_avro(path).filter(pl.col(column) < below)


def read_head(path: str, n: int) -> pl.DataFrame:
    """Read the first `n` rows (it has no lazy API: the same call as `read_head_eager`)."""
    return pl.read_avro(path, n_rows=n)


def read_head_eager(path: str, n: int) -> pl.DataFrame:
    """Read the first `n` rows."""
    return pl.read_avro(path, n_rows=n)
