"""The ``polars-avro`` package (a Rust Polars IO plugin, ``pip install polars-avro``).

Whole files use its ``read_avro``; the lazy queries use its ``scan_avro``.
Its ``scan_avro`` defaults to batches of 1,024 rows while its ``read_avro``
scans with 32,768; the lazy queries pass ``batch_size=32768`` so both paths
run as its eager reader does.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version

import polars as pl

LABEL = "polars-avro"
BATCH_SIZE = 32_768

try:
    import polars_avro as _pa
except ImportError as exc:  # reported by unavailable()
    _pa = None
    _import_error = f"polars-avro is not installed ({exc}); pip install polars-avro"


def unavailable() -> str | None:
    """Return why polars-avro cannot be used, or None."""
    return None if _pa is not None else _import_error


def version() -> str:
    """Return the polars-avro version."""
    try:
        return f"polars-avro {_dist_version('polars-avro')}"
    except PackageNotFoundError:
        return "polars-avro (not installed)"


def read_full(path: str) -> pl.DataFrame:
    """Read the whole file with ``polars_avro.read_avro``."""
    return _pa.read_avro(path)


def _scan(path: str) -> pl.LazyFrame:
    return _pa.scan_avro(path, batch_size=BATCH_SIZE)


def read_projection(path: str, columns: list[str]) -> pl.DataFrame:
    """Select `columns` through ``scan_avro``."""
    return _scan(path).select(columns).collect()


def read_filter(path: str, column: str, below: int) -> pl.DataFrame:
    """Keep rows with ``column < below`` through ``scan_avro``."""
    return _scan(path).filter(pl.col(column) < below).collect()


def read_head(path: str, n: int) -> pl.DataFrame:
    """Take the first `n` rows through ``scan_avro``."""
    return _scan(path).head(n).collect()


def read_head_eager(path: str, n: int) -> pl.DataFrame:
    """Read the first `n` rows with ``read_avro(n_rows=n)``."""
    return _pa.read_avro(path, n_rows=n)
