"""A query pushed into a read: the columns to decode, the filter, the row limit.

`scan_avro`'s IO plugin and `jetliner.ray`'s read tasks both decode only the
columns a query needs, filter every batch as it is decoded, keep the columns
asked for and count the row limit after filtering (Polars filters no further).

What a query keeps of a batch must not keep the batch alive: a filtered string
column still points into the batch's string buffers (Arrow string views), and a
slice (or a filter keeping contiguous rows) shares the batch's buffers.  When a
batch keeps less than `KEEP_TO_SHARE` of its rows, what it keeps is copied
(`owned`), so that a filter keeping 1% of a file holds 1% of it, not all of it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeAlias

import polars as pl

from jetliner.exceptions import ConfigurationError
from jetliner.frames import empty_frame

Columns: TypeAlias = "Sequence[str] | Sequence[int]"  # names, or indices into the file's

__all__ = ["JOIN_BELOW", "KEEP_TO_SHARE", "column_names", "columns_to_decode", "compact",
           "filter_columns", "joined", "owned", "passing_rows", "projection", "run_query"]

# Below this fraction of a batch's rows, what a query keeps is copied out of the
# batch.  Above it, sharing the batch's buffers costs at most 1 / KEEP_TO_SHARE
# times the strings kept, and copying would cost more: on the benchmark files a
# copy takes 2-12% of the batch's decoding time at 1-10% of its rows, 8-16% at a
# quarter, 17-28% at a half (its fixed cost is ~0.1 ms per column).
KEEP_TO_SHARE = 0.25

# Frames holding fewer bytes than this per column (estimated) are joined before
# they reach Polars, until together they hold this much.  Each frame becomes a chunk
# of the result, and a chunk costs about 700 bytes of bookkeeping per column: a
# filter keeping 380 rows of a 40M-row file held 1.5 MB in 380 one-row chunks for a
# 15 KB result.  Larger frames pass as they are: joining copies them into Polars'
# allocator, whose freed pages stay resident for a while (a 1% filter held 14 MB
# more 15 s later).
JOIN_BELOW = 4096


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
    roots = filter_columns(predicate)
    if roots is None:
        return None
    try:  # does the filter expand to exactly its root columns?
        pl.LazyFrame(schema=schema).filter(predicate).collect_schema()
    except pl.exceptions.PolarsError:
        return None
    return list(wanted) + [c for c in roots if c not in wanted]


def filter_columns(predicate: pl.Expr) -> list[str] | None:
    """Return the columns a filter names, or None when it names them by pattern or type.

    Also None for a filter on no column (``pl.lit(True)``).
    """
    meta = predicate.meta
    roots = meta.root_names()
    if not roots or meta.has_multiple_outputs() or meta.is_regex_projection():
        return None
    return list(dict.fromkeys(roots))


def passing_rows(frame: pl.DataFrame, predicate: pl.Expr) -> list[int]:
    """Return the rows of `frame` that `predicate` keeps, as Polars' filter would."""
    mask = frame.select(predicate.alias("__jetliner_keep")).to_series()
    if mask.dtype == pl.Boolean and mask.len() == frame.height:
        return mask.arg_true().to_list()  # (a null keeps no row)
    # anything else (one value for all rows, say): Polars' filter decides, and raises
    # what it raises
    name = "__jetliner_row"
    while name in frame.columns:
        name += "_"
    return frame.with_row_index(name).filter(predicate).get_column(name).to_list()


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
        Each batch, filtered and selected (none where no row passed); the last one
        cut at the limit.
    """
    left = limit
    for df in batches:
        rows = df.height
        if predicate is not None:
            df = df.filter(predicate)
        if wanted is not None and df.columns != wanted:
            # by exact name (select() would read a name such as "^a$" as a pattern)
            df = (pl.DataFrame([df.get_column(name) for name in wanted]) if wanted
                  else empty_frame(df.height))
        if left is not None and df.height >= left:
            yield compact(df.head(left), rows)  # a slice shares every buffer of the batch
            return
        if left is not None:
            left -= df.height
        if not df.height:
            continue  # nothing passed: not even an empty frame (a slice of the batch)
        yield compact(df, rows) if predicate is not None else df


def joined(frames: Iterable[pl.DataFrame], per_column: int = JOIN_BELOW) -> Iterator[pl.DataFrame]:
    """Yield `frames` in order, the small ones joined into one of their own buffers.

    A frame of fewer than `per_column` estimated bytes per column waits for the next
    ones until together they hold that much (or a larger frame or the end comes); a
    larger frame is yielded as it is.

    Parameters
    ----------
    frames
        Frames of one schema.
    per_column
        What a frame must hold per column to be yielded on its own.

    Yields
    ------
    polars.DataFrame
        The same rows, in the same order, in fewer frames.
    """
    pending: list[pl.DataFrame] = []
    held: float = 0  # (estimated_size() is typed int | float)
    nbytes = -1
    for df in frames:
        if nbytes < 0:
            nbytes = per_column * max(1, df.width)
        size = df.estimated_size()
        if size >= nbytes:
            if pending:
                yield _join(pending)
                pending, held = [], 0
            yield df
            continue
        pending.append(df)
        held += size
        if held >= nbytes:
            yield _join(pending)
            pending, held = [], 0
    if pending:
        yield _join(pending)


def _join(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Return `frames` as one frame with one chunk per column."""
    if len(frames) == 1:
        return frames[0].rechunk()
    return pl.concat(frames, how="vertical", rechunk=True)


def compact(df: pl.DataFrame, rows: int) -> pl.DataFrame:
    """Return `df`, cut from a batch of `rows` rows, copied out of it if it is a small part.

    Parameters
    ----------
    df
        What a filter or a limit kept of the batch.
    rows
        The batch's rows.

    Returns
    -------
    polars.DataFrame
        `df` itself when it holds at least `KEEP_TO_SHARE` of the rows, else `owned(df)`.
    """
    return owned(df) if df.height < rows * KEEP_TO_SHARE else df


def _holds_views(dtype: pl.DataType) -> bool:
    """Tell whether a column of `dtype` holds string or binary values (at any depth)."""
    if isinstance(dtype, (pl.String, pl.Binary, pl.Map)):
        return True
    if isinstance(dtype, (pl.List, pl.Array)):
        return _holds_views(dtype.inner)  # type: ignore[arg-type]
    if isinstance(dtype, pl.Struct):
        return any(_holds_views(f.dtype) for f in dtype.fields)  # type: ignore[arg-type]
    return False


def owned(df: pl.DataFrame) -> pl.DataFrame:
    """Return `df` with buffers of its own, not shared with the batch it was cut from.

    A filter may return slices of the batch's columns (when the rows it keeps are
    contiguous), and string columns always point into the batch's string buffers.

    Parameters
    ----------
    df
        A filtered or sliced part of a batch.

    Returns
    -------
    polars.DataFrame
        The same values, in buffers of their own.
    """
    if not df.width:
        return df  # nothing to copy (and a frame without columns keeps its height)
    # by position, not name: pl.col() reads a name like "^a$" as a pattern
    columns = list(df.iter_columns())
    through_ipc = []
    for i, (series, dtype) in enumerate(zip(columns, df.dtypes, strict=True)):
        # (renamed meanwhile: Series methods name the series in expressions, and a name
        # such as "^a$" would be read as a pattern)
        plain = series.rename("v")
        if isinstance(dtype, pl.String):
            columns[i] = (plain + "").rename(series.name)  # a new string column
        elif _holds_views(dtype):
            # bytes and nested strings: Polars' operations may return their views
            # unchanged, so through Arrow IPC, which writes them out and reads them back
            through_ipc.append(i)
        else:  # a gather writes a new buffer
            columns[i] = plain.gather(pl.int_range(plain.len(), eager=True)).rename(series.name)
    if through_ipc:
        buf = io.BytesIO()
        pl.DataFrame([columns[i] for i in through_ipc]).write_ipc(buf, compression="uncompressed")
        buf.seek(0)
        for i, copied in zip(through_ipc, pl.read_ipc(buf).iter_columns(), strict=True):
            columns[i] = copied
    return pl.DataFrame(columns)


def projection(columns: Columns | None, projected_columns: Columns | None) -> Columns | None:
    """Return the columns asked for under either name (``projected_columns``: jetliner 0.2.0's)."""
    if projected_columns is None:
        return columns
    if columns is not None:
        msg = "give columns or projected_columns (the same option), not both"
        raise ConfigurationError(msg)
    return projected_columns


def column_names(columns: Columns | None,
                  file_schema: pl.Schema) -> tuple[str, ...] | None:
    """Turn the requested columns (names, or zero-based indices) into names."""
    if columns is None:
        return None
    if isinstance(columns, str):
        msg = f"columns must be a list of column names or indices, got the string {columns!r}"
        raise ConfigurationError(msg)
    indices = [c for c in columns if isinstance(c, int) and not isinstance(c, bool)]
    strings = [c for c in columns if isinstance(c, str)]
    if len(indices) == len(columns):
        names = list(file_schema)
        negative = [c for c in indices if c < 0]
        if negative:
            msg = (
                f"column indices cannot be negative: {negative} (indices count from 0, the "
                f"first of the file's {len(names)} columns)"
            )
            raise ConfigurationError(msg)
        bad = [c for c in indices if c >= len(names)]
        if bad:
            msg = f"column indices {bad} are out of range for {len(names)} columns"
            raise ConfigurationError(msg)
        out = tuple(names[c] for c in indices)
    elif len(strings) == len(columns):
        out = tuple(strings)
    else:
        msg = "columns must be all names (str) or all indices (int)"
        raise ConfigurationError(msg)
    if len(set(out)) != len(out):
        msg = f"columns lists a column twice: {list(out)}"
        raise ConfigurationError(msg)
    return out
