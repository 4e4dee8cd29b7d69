"""Not a reader: the cost of Polars' lazy machinery for a head query.

``read_head`` collects ``.head(n)`` of a Polars IO plugin (the mechanism
``jetliner.scan_avro`` uses) whose source yields a DataFrame of the first `n`
rows built beforehand: no file is opened and nothing is decoded while it is
timed.  What it measures is what any IO plugin pays to plan, run and return a
lazy query in this Polars, with its default engine.  It has no other query
kinds; their cells are marked not applicable.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl
from polars.io.plugins import register_io_source

import jetliner

LABEL = "empty IO plugin"


def unavailable() -> str | None:
    """Return None: it needs only Polars."""
    return None


def version() -> str:
    """Return the Polars version."""
    return f"polars {pl.__version__}"


@lru_cache(maxsize=4)
def _rows(path: str, n: int) -> pl.DataFrame:
    # built on the untimed warm-up call, then reused
    return jetliner.read_avro(path, n_rows=n)


def read_head(path: str, n: int) -> pl.DataFrame:
    """Collect ``.head(n)`` of a plugin that yields the prebuilt first `n` rows."""
    frame = _rows(path, n)

    def source(with_columns: list[str] | None, predicate: pl.Expr | None,
               n_rows: int | None, batch_size: int | None):  # noqa: ANN202
        yield frame

    return register_io_source(source, schema=frame.schema).head(n).collect()
