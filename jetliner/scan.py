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
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import polars as pl
from polars.io.plugins import register_io_source

from jetliner.exceptions import BadBlockError, SkippedDataWarning
from jetliner.hive import Partitions, hive_enabled, prune
from jetliner.options import ReadOptions
from jetliner.query import columns_to_decode, joined, projection, run_query
from jetliner.readers import AvroReader, MultiAvroReader
from jetliner.resolve import resolve_sources
from jetliner.sources import Source

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

    from jetliner.options import ReadOptionsDict

__all__ = ["open", "read_avro", "read_avro_schema", "scan", "scan_avro"]


def _warn_skipped(errors: list[BadBlockError], stacklevel: int) -> None:
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
    warnings.warn(SkippedDataWarning(msg, errors), stacklevel=stacklevel)


def _resolve(source: Any, options: dict[str, Any],
             caller: str) -> tuple[list[Source], ReadOptions, bool]:
    """Validate the options and resolve the sources (once per call of the API).

    Returns the sources, the options, and whether the read has Hive partitions.
    """
    opts = ReadOptions.from_kwargs(options, caller)
    sources = resolve_sources(source, glob=opts.glob, storage_options=opts.storage_options,
                              hidden_file_prefix=opts.hidden_prefixes)
    return sources, opts, hive_enabled(sources, opts)


def _per_file(partitions: Partitions | None, sources: list[Source],
              opts: ReadOptions) -> pl.DataFrame:
    """Return the columns constant within each file (partitions, file path): a row per file."""
    columns = [] if partitions is None else list(partitions.frame.iter_columns())
    if opts.include_file_paths is not None:
        columns.append(pl.Series(opts.include_file_paths, [s.path for s in sources],
                                 pl.String()))
    return pl.DataFrame(columns)


def _pruned(files: pl.DataFrame, predicate: pl.Expr | None,
            opts: ReadOptions) -> tuple[list[int] | None, pl.Expr | None]:
    """Return the files a query must read (None: all) and the filter left for their rows.

    With a row index, the files before the last one kept are read too (their rows
    count), and the whole filter stays.
    """
    if predicate is None or not files.width:
        return None, predicate
    kept, rest = prune(files, predicate)
    if opts.row_index_name is not None:
        return list(range(kept[-1] + 1)) if kept else [], predicate
    return kept, rest


def _read(reader: MultiAvroReader, predicate: pl.Expr | None, wanted: list[str] | None,
          limit: int | None) -> Iterator[pl.DataFrame]:
    """Yield the reader's batches, queried: the one read path of `scan_avro` and `read_avro`.

    Skips of ``ignore_errors=True`` are reported in one warning once the read ends.
    """
    with reader:
        # (what a selective query keeps, in few frames: each becomes a chunk)
        yield from joined(run_query(reader, predicate, wanted, limit))
    _warn_skipped(reader.errors, stacklevel=4)


def scan_avro(source: Any, **options: Unpack[ReadOptionsDict]) -> pl.LazyFrame:
    """Lazily read Avro files into a Polars LazyFrame.

    Column selection, filters and row limits of the query are pushed into the
    reader: unselected columns are skipped without being materialised, every
    batch is filtered as it is decoded, and reading stops (no further I/O) once
    ``head()`` / ``n_rows`` is satisfied.

    A folder's ``key=value`` subfolders are columns (Hive partitions), and a
    filter on them (or on the ``include_file_paths`` column) prunes files before
    any is opened: the files it excludes cost no request.

    Parameters
    ----------
    source
        A path, ``pathlib.Path``, glob (``* ** ? [..] {a,b}``), folder (a local
        directory, or a URL ending in ``/``: every file under it), URL, binary
        file object, or a list of them.
    **options
        The reading options, the same for every API (``n_rows``,
        ``storage_options``, ``batch_size``, ``hive_partitioning``,
        ``ignore_errors``, ``progress``, ...): see `ReadOptions`.

    Returns
    -------
    polars.LazyFrame

    Raises
    ------
    SourceNotFoundError
        The file does not exist, or a glob or folder matches nothing.
    ParseError
        The first file is not an Avro object container file.
    SchemaError
        Its schema is invalid, or the files' Hive partitions differ.

    Examples
    --------
    >>> import jetliner, polars as pl
    >>> lf = jetliner.scan_avro(jetliner.sample_path())
    >>> lf.filter(pl.col("score") > 0.5).select("name").head(3).collect().height
    3
    """
    sources, opts, hive = _resolve(source, dict(options), "scan_avro")
    # the first header, read now for typed errors; each collect opens the files anew
    with MultiAvroReader._of(sources, None, opts, hive=hive) as first:
        schema = first.polars_schema
        dataset, partitions = first._dataset, first._partitions
    files = _per_file(partitions, sources, opts)
    extras = {opts.row_index_name, opts.include_file_paths} - {None}
    # a batch_size the user gives wins over the engine's hint
    own_batch_size = "batch_size" in options

    def io_source(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        wanted = list(schema) if with_columns is None else list(with_columns)
        # files whose partitions (or path) the filter rejects are never opened
        kept, predicate = _pruned(files, predicate, opts)
        if kept == []:
            return
        chosen = sources if kept is None else [sources[i] for i in kept]
        parts = partitions if partitions is None or kept is None else partitions.take(kept)
        needed = columns_to_decode(wanted, predicate, schema)
        columns = [c for c in (schema if needed is None else needed) if c not in extras]
        limit = opts.n_rows
        if n_rows is not None:
            limit = n_rows if limit is None else min(limit, n_rows)
        # with a predicate, the row limit applies after filtering: counted by the query
        read_opts = replace(opts, n_rows=limit if predicate is None else None,
                            batch_size=batch_size if batch_size and not own_batch_size
                            else opts.batch_size)
        # the reader filters while decoding (on its threads, the filter's columns first)
        # unless the filter needs the row index or the file paths, added after
        inside = predicate is not None and opts.row_index_name is None and not (
            extras & set(predicate.meta.root_names()))
        reader = MultiAvroReader._of(chosen, columns, read_opts, predicate if inside else None,
                                     known=(dataset, parts))
        yield from _read(reader, None if inside else predicate, wanted, limit)

    return register_io_source(io_source, schema=schema, explain_name="jetliner",
                              explain_detail=f"{len(sources)} Avro source(s): {sources[0].path}")


scan = scan_avro
"""Alias of `scan_avro`: the same function."""


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
        A path, ``pathlib.Path``, glob, folder, URL, binary file object, or a list
        of them.
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
    sources, opts, hive = _resolve(source, dict(options), "read_avro")
    reader = MultiAvroReader._of(sources, columns, opts, hive=hive)
    frames = list(_read(reader, None, None, None))
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
        See `ReadOptions` (``storage_options`` and ``glob`` matter here; with
        ``union_by_name=True`` every file's header is read, concurrently, and the
        schema is the union of theirs).

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
    sources, opts, hive = _resolve(source, dict(options), "read_avro_schema")
    # the first header, or every file's with union_by_name; the partitions: every path's
    named = sources if opts.union_by_name or hive else sources[:1]
    with MultiAvroReader._of(named, None, opts, hive=hive) as reader:
        return reader.file_schema


def open(  # noqa: A001
    source: Any,
    *,
    columns: Sequence[str] | Sequence[int] | None = None,
    projected_columns: Sequence[str] | Sequence[int] | None = None,
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
        The columns to decode, in output order: names, or zero-based indices
        (``None``: all).
    projected_columns
        Another name for `columns` (jetliner 0.2.0's).
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
    sources, opts, hive = _resolve(source, dict(options), "open")
    kind = AvroReader if len(sources) == 1 else MultiAvroReader
    return kind._of(sources, projection(columns, projected_columns), opts, hive=hive)
