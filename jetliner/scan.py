"""The public reading API: `scan_avro`, `read_avro`, `read_avro_schema` and `open`.

`scan_avro` is a Polars IO plugin.

`scan_avro` resolves its sources and reads the first header at once, so that a
missing file, a file that is not Avro or a bad schema raise jetliner's typed
errors at the call, not later inside ``collect()``.  The LazyFrame stores how to
reopen the sources, so it can be collected any number of times.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl
from polars.io.plugins import register_io_source

from jetliner.exceptions import BadBlockError, ConfigurationError, SkippedDataWarning
from jetliner.options import ReadOptions
from jetliner.readers import AvroReader, MultiAvroReader, _index_type, open_file
from jetliner.schema import plan_for
from jetliner.sources import Source, resolve_sources

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

    from jetliner.options import ReadOptionsDict

__all__ = ["open", "read_avro", "read_avro_schema", "scan", "scan_avro"]


def _warn_skipped(errors: list[BadBlockError]) -> None:
    """Summarise what skip mode dropped in a `SkippedDataWarning` (which carries the list)."""
    if not errors:
        return
    lost = sum(e.records_lost or 0 for e in errors)
    unknown = sum(1 for e in errors if e.records_lost is None)
    files = len({e.path for e in errors})
    msg = (
        f"ignore_errors=True skipped {len(errors)} damaged region(s) in {files} file(s): "
        f"{lost} record(s) lost"
        + (f", plus {unknown} region(s) of unknown size" if unknown else "")
        + f"; first: {errors[0]}. The warning's .errors attribute lists them all."
    )
    warnings.warn(SkippedDataWarning(msg, errors), stacklevel=3)


def _resolve(source: Any, opts: ReadOptions) -> list[Source]:
    return resolve_sources(source, glob=opts.glob, storage_options=opts.storage_options)


def _file_schema(sources: list[Source], opts: ReadOptions) -> pl.Schema:
    info = open_file(sources[0], opts)
    try:
        return plan_for(info.header.schema_json, None).schema
    finally:
        info.stream.close()


def scan_avro(source: Any, **options: Unpack[ReadOptionsDict]) -> pl.LazyFrame:
    """Lazily read Avro files into a Polars LazyFrame.

    Column selection, filters and row limits of the query are pushed into the
    reader: unselected columns are skipped without being materialised, every
    batch is filtered as it is decoded, and reading stops (no further I/O) once
    ``head()`` / ``n_rows`` is satisfied.

    Parameters
    ----------
    source
        A path, ``pathlib.Path``, glob (``* ** ? [..] {a,b}``), URL, binary file
        object, or a list of them.
    **options
        The reading options, the same for every API (``n_rows``,
        ``storage_options``, ``batch_size``, ``ignore_errors``, ``progress``, ...):
        see `ReadOptions`.

    Returns
    -------
    polars.LazyFrame

    Raises
    ------
    SourceNotFoundError
        The file does not exist, or a glob matches nothing.
    ParseError
        The first file is not an Avro object container file.
    SchemaError
        Its schema is invalid.

    Examples
    --------
    >>> import jetliner, polars as pl
    >>> lf = jetliner.scan_avro(jetliner.sample_path())
    >>> lf.filter(pl.col("score") > 0.5).select("name").head(3).collect().height
    3
    """
    opts = ReadOptions.from_kwargs(dict(options))
    sources = _resolve(source, opts)
    file_schema = _file_schema(sources, opts)
    schema: dict[str, pl.DataType] = dict(file_schema)
    if opts.row_index_name is not None:
        schema = {opts.row_index_name: _index_type(), **schema}
    if opts.include_file_paths is not None:
        schema[opts.include_file_paths] = pl.String()
    for extra in (opts.row_index_name, opts.include_file_paths):
        if extra is not None and extra in file_schema:
            msg = f"the extra column {extra!r} clashes with a column of the file: pick another name"
            raise ConfigurationError(msg)
    extras = {opts.row_index_name, opts.include_file_paths} - {None}

    def io_source(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        wanted = list(schema) if with_columns is None else list(with_columns)
        needed = list(wanted)
        if predicate is not None:
            needed += [c for c in predicate.meta.root_names() if c not in needed]
        columns = [c for c in needed if c not in extras]
        limit = opts.n_rows
        if n_rows is not None:
            limit = n_rows if limit is None else min(limit, n_rows)
        reader_opts = {k: getattr(opts, k) for k in ReadOptions.__dataclass_fields__}
        # with a predicate, the row limit applies after filtering: count here
        reader_opts["n_rows"] = limit if predicate is None else None
        reader = MultiAvroReader(sources, columns=columns, **reader_opts)
        with reader:
            yield from _filter_batches(reader, predicate, wanted, limit)
        _warn_skipped(reader.errors)

    return register_io_source(io_source, schema=pl.Schema(schema), explain_name="jetliner",
                              explain_detail=f"{len(sources)} Avro source(s): {sources[0].path}")


scan = scan_avro
"""Alias of `scan_avro`: the same function."""


def _filter_batches(batches: Iterator[pl.DataFrame], predicate: pl.Expr | None,
                    wanted: list[str], limit: int | None) -> Iterator[pl.DataFrame]:
    """Filter every batch by the pushed-down predicate and stop after `limit` rows.

    The wanted columns are selected, and the limit counts rows that passed: that is
    the IO-plugin contract (Polars filters no further).
    """
    left = limit
    for df in batches:
        if predicate is not None:
            df = df.filter(predicate)
        if df.columns != wanted:
            df = df.select(wanted)
        if left is not None:
            if df.height >= left:
                yield df.head(left)
                return
            left -= df.height
        yield df


def read_avro(
    source: Any,
    *,
    columns: Sequence[str] | Sequence[int] | None = None,
    **options: Unpack[ReadOptionsDict],
) -> pl.DataFrame:
    """Read Avro files into a Polars DataFrame.

    Parameters
    ----------
    source
        A path, ``pathlib.Path``, glob, URL, binary file object, or a list of them.
    columns
        Column names or zero-based indices to read, returned in the order given.
    **options
        See `ReadOptions`.

    Returns
    -------
    polars.DataFrame

    Examples
    --------
    >>> import jetliner
    >>> jetliner.read_avro(jetliner.sample_path(), columns=["name", "id"], n_rows=2).columns
    ['name', 'id']
    """
    opts = ReadOptions.from_kwargs(dict(options))
    sources = _resolve(source, opts)
    names: list[str] | None = None
    if columns is not None:
        wanted: list[object] = list(columns)
        indices = [c for c in wanted if isinstance(c, int) and not isinstance(c, bool)]
        strings = [c for c in wanted if isinstance(c, str)]
        if len(indices) == len(wanted):
            file_columns = list(_file_schema(sources, opts))
            bad = [c for c in indices if not -len(file_columns) <= c < len(file_columns)]
            if bad:
                msg = f"column indices {bad} are out of range for {len(file_columns)} columns"
                raise ConfigurationError(msg)
            names = [file_columns[c] for c in indices]
        elif len(strings) == len(wanted):
            names = strings
        else:
            msg = "columns must be all names (str) or all indices (int)"
            raise ConfigurationError(msg)
        if len(set(names)) != len(names):
            msg = f"columns lists a column twice: {names}"
            raise ConfigurationError(msg)
    with MultiAvroReader(sources, columns=names, **options) as reader:
        frames = list(reader)
    _warn_skipped(reader.errors)
    if not frames:
        return pl.DataFrame(schema=reader.polars_schema)
    return pl.concat(frames, how="vertical", rechunk=False) if len(frames) > 1 else frames[0]


def read_avro_schema(source: Any, **options: Unpack[ReadOptionsDict]) -> pl.Schema:
    """Read the Polars schema of an Avro file, from its header alone.

    Parameters
    ----------
    source
        A path, ``pathlib.Path``, glob, URL or binary file object (the first file
        it names is read), or a list of them.
    **options
        See `ReadOptions` (``storage_options`` and ``glob`` matter here).

    Returns
    -------
    polars.Schema
        The columns `read_avro` and `scan_avro` produce, without the extra
        row-index and file-path columns.

    Examples
    --------
    >>> import jetliner
    >>> jetliner.read_avro_schema(jetliner.sample_path())["id"]
    Int64
    """
    opts = ReadOptions.from_kwargs(dict(options))
    return _file_schema(_resolve(source, opts), opts)


def open(  # noqa: A001
    source: Any,
    *,
    columns: Sequence[str] | None = None,
    **options: Unpack[ReadOptionsDict],
) -> MultiAvroReader:
    """Open Avro data for batch iteration; use as a context manager and iterator.

    Returns an `AvroReader` for one file, a `MultiAvroReader` when `source` names
    several (a list or a glob).

    Parameters
    ----------
    source
        A path, ``pathlib.Path``, glob, URL, binary file object, or a list of them.
    columns
        Names of the columns to decode, in output order (``None``: all).
    **options
        See `ReadOptions`.

    Returns
    -------
    AvroReader or MultiAvroReader

    Examples
    --------
    >>> import jetliner
    >>> with jetliner.open(jetliner.sample_path(), batch_size=50) as reader:
    ...     sizes = [batch.height for batch in reader]
    >>> max(sizes), sum(sizes)
    (50, 500)
    """
    opts = ReadOptions.from_kwargs(dict(options))
    sources = _resolve(source, opts)
    names = None if columns is None else list(columns)
    if len(sources) == 1:
        return AvroReader(sources[0], columns=names, **options)
    return MultiAvroReader(sources, columns=names, **options)
