"""A query pushed into a read: the columns to decode, the filter, the row limit.

`scan_avro`'s IO plugin and `jetliner.ray`'s read tasks both decode only the
columns a query needs, filter every batch as it is decoded, keep the columns
asked for and count the row limit after filtering (Polars filters no further).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import polars as pl

__all__ = ["columns_to_decode", "run_query"]


def columns_to_decode(wanted: list[str] | None, predicate: pl.Expr | None,
                      schema: pl.Schema) -> list[str] | None:
    """Return the columns to decode for a query: the wanted ones, then the filter's own.

    Parameters
    ----------
    wanted
        The columns the query returns (``None``: all).
    predicate
        The filter, or ``None``.
    schema
        The columns available.

    Returns
    -------
    list[str] | None
        ``None`` when every column is needed: all are wanted, or the filter names
        its columns by pattern or type (``pl.col("^a.*$")``, ``pl.col(pl.Int64)``,
        selectors) or does not fit `schema` (the error then comes from Polars).
    """
    if wanted is None:
        return None
    if predicate is None:
        return list(wanted)
    meta = predicate.meta
    roots = meta.root_names()
    if not roots or meta.has_multiple_outputs() or meta.is_regex_projection():
        return None
    try:  # does the filter expand to exactly its root columns?
        pl.LazyFrame(schema=schema).filter(predicate).collect_schema()
    except pl.exceptions.PolarsError:
        return None
    return list(wanted) + [c for c in dict.fromkeys(roots) if c not in wanted]


def run_query(batches: Iterable[pl.DataFrame], predicate: pl.Expr | None,
              wanted: list[str] | None, limit: int | None) -> Iterator[pl.DataFrame]:
    """Filter every batch, keep the `wanted` columns, stop after `limit` rows that passed.

    Parameters
    ----------
    batches
        Decoded batches (with every column the filter and `wanted` use).
    predicate
        The filter, or ``None``.
    wanted
        Columns to keep, in this order (``None``: all).
    limit
        Most rows to yield in all (``None``: no limit).

    Yields
    ------
    polars.DataFrame
        Each batch, filtered and selected; the last one cut at the limit.
    """
    left = limit
    for df in batches:
        if predicate is not None:
            df = df.filter(predicate)
        if wanted is not None and df.columns != wanted:
            df = df.select(wanted)
        if left is not None:
            if df.height >= left:
                yield df.head(left)
                return
            left -= df.height
        yield df
