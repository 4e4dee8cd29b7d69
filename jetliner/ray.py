"""Ray Data: Avro read by jetliner inside Ray's read tasks, one or more splits each.

Needs Ray Data (``pip install 'ray[data]>=2.50'``, or this package's ``ray``
extra from a checkout), then::

    import jetliner.ray

    ds = jetliner.ray.read_avro("s3://bucket/events/*.avro", columns=["user", "amount"],
                                filter=pl.col("amount") > 100, storage_options={...})

The files are cut into splits on the driver (`jetliner.plan_splits`: their sizes
only).  Each read task decodes its splits with jetliner's compiled decoder,
applies the filter to every batch, keeps the requested columns, and yields Arrow
tables (fixed-width columns handed over from Polars without a copy; string and
bytes columns converted from views, which Ray Data does not handle, to offsets).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

try:
    import ray.data
    from ray.data.block import BlockMetadata
    from ray.data.datasource import Datasource, ReadTask
except ImportError as exc:  # pragma: no cover - exercised without the extra
    msg = f"jetliner.ray needs Ray Data: pip install 'ray[data]>=2.50' ({exc})"
    raise ImportError(msg) from exc

import jetliner
from jetliner.exceptions import ConfigurationError
from jetliner.hive import path_partitions
from jetliner.options import ReadOptions
from jetliner.query import columns_to_decode, run_query
from jetliner.readers import check_same_schema
from jetliner.resolve import is_folder, plan_splits
from jetliner.sources import local_path
from jetliner.splits import DEFAULT_SPLIT_SIZE, Split

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

__all__ = ["AvroDatasource", "read_avro"]


def _arrow(df: pl.DataFrame) -> pa.Table:
    # Fixed-width columns leave Polars without a copy.  Strings and bytes are
    # converted from views to offsets (a copy of those columns): Ray Data does
    # not handle Arrow's string views ("Unhandled Arrow array type").
    return df.to_arrow(compat_level=pl.CompatLevel.oldest())


_INDEPENDENT = (": read tasks run independently (use Dataset.limit, or add columns after "
                "reading)")
_FIRST_ONLY = " yet: its read tasks check each file against the first file's schema alone"
# options a read task cannot honour, and why
_NO_HIVE = (" yet: its read tasks add no Hive partition columns (read such a folder with "
            "jetliner.scan_avro, or name its files with a glob)")
_REFUSED = {"n_rows": _INDEPENDENT, "row_index_name": _INDEPENDENT,
            "include_file_paths": _INDEPENDENT, "missing_columns": _FIRST_ONLY,
            "extra_columns": _FIRST_ONLY, "union_by_name": _FIRST_ONLY,
            "reader_schema": " yet: its splits are planned and checked against the first "
                             "file's own schema (read the files with jetliner.scan_avro, "
                             "or convert them first)",
            "hive_partitioning": _NO_HIVE, "hive_schema": _NO_HIVE,
            "try_parse_hive_dates": _NO_HIVE, "hidden_file_prefix": _NO_HIVE}


class AvroDatasource(Datasource):
    """A Ray Data source of Avro files, read split by split with jetliner.

    Parameters
    ----------
    paths
        Paths, globs or URLs, or a list of them (as for `jetliner.plan_splits`).
    columns
        Columns to return, in this order (``None``: all).
    filter
        A Polars expression; only rows where it is true are returned.  It may use
        columns not in `columns`.
    storage_options
        Options for remote sources, sent to the read tasks.
    split_size
        Target bytes per split.
    options
        Further reading options (``batch_size``, ``ignore_errors``, ...; see
        `jetliner.ReadOptions`).

    Raises
    ------
    ConfigurationError
        Bad options, or `columns` / `filter` that do not fit the files' schema.
    JetlinerError
        Files that cannot be found or whose header is not Avro.
    """

    def __init__(self, paths: Any, *, columns: list[str] | None = None,
                 filter: pl.Expr | None = None,  # noqa: A002 - the name users expect
                 storage_options: dict[str, Any] | None = None,
                 split_size: int = DEFAULT_SPLIT_SIZE, **options: Any) -> None:
        for banned, why in _REFUSED.items():
            if banned in options:
                msg = f"{banned} is not supported by jetliner.ray.read_avro{why}"
                raise ConfigurationError(msg)
        ReadOptions.from_kwargs({**options, "storage_options": storage_options})  # validate
        if filter is not None and not isinstance(filter, pl.Expr):
            msg = f"filter must be a Polars expression, got {type(filter).__name__}"
            raise ConfigurationError(msg)
        if columns is not None and (isinstance(columns, str) or not all(
                isinstance(c, str) for c in columns)):
            msg = f"columns must be a list of column names, got {columns!r}"
            raise ConfigurationError(msg)
        self.splits = plan_splits(paths, split_size=split_size, storage_options=storage_options)
        _refuse_partitioned_folder(paths, self.splits)
        self.columns = list(columns) if columns is not None else None
        self.filter = filter
        self.storage_options = storage_options
        self.options = options
        self.file_schema = jetliner.read_avro_schema(self.splits[0],
                                                     storage_options=storage_options)
        self.needed = columns_to_decode(self.columns, self.filter, self.file_schema)
        self.schema = self._output_schema()

    def _output_schema(self) -> pa.Schema:
        """Return the Arrow schema of every table the tasks yield (checked here, on the driver)."""
        schema = self.file_schema
        lazy = pl.LazyFrame(schema=schema)
        if self.filter is not None:
            lazy = lazy.filter(self.filter)
        if self.columns is not None:
            lazy = lazy.select(self.columns)
        try:
            out = lazy.collect_schema()
        except pl.exceptions.PolarsError as exc:
            msg = f"columns or filter do not fit the files' schema {dict(schema)}: {exc}"
            raise ConfigurationError(msg) from exc
        return _arrow(pl.DataFrame(schema=out)).schema

    def estimate_inmemory_data_size(self) -> int | None:
        """Return the files' size in bytes (compressed: a lower bound)."""
        return sum(s.end - s.start for s in self.splits)

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context: Any = None) -> list[ReadTask]:
        """One task per group of consecutive splits, at most `parallelism` groups."""
        n = max(1, min(parallelism if parallelism > 0 else len(self.splits), len(self.splits)))
        groups = [self.splits[i * len(self.splits) // n:(i + 1) * len(self.splits) // n]
                  for i in range(n)]
        tasks = []
        for group in groups:
            if not group:
                continue
            meta = _block_metadata(size_bytes=sum(s.end - s.start for s in group),
                                   input_files=tuple(dict.fromkeys(s.path for s in group)),
                                   schema=self.schema)
            read = _ReadSplits(group, self.columns, self.needed, self.filter,
                               self.storage_options, self.options, self.file_schema)
            tasks.append(_read_task(read, meta, schema=self.schema,
                                    per_task_row_limit=per_task_row_limit))
        return tasks

    def get_name(self) -> str:
        """Return the name Ray shows for the read operator."""
        return "JetlinerAvro"


def _refuse_partitioned_folder(paths: Any, splits: list[Split]) -> None:
    """Refuse a folder of Hive partitions, which `jetliner.scan_avro` would read as columns."""
    if not is_folder(paths):
        return
    folder = os.fspath(paths[0] if isinstance(paths, (list, tuple)) else paths)
    local = local_path(folder)
    if local is not None:
        folder = os.path.join(os.path.abspath(os.path.expanduser(local)), "")
    if any(path_partitions(s.path, folder) for s in splits):
        msg = f"{folder!r} holds Hive partitions (key=value folders): hive partitioning is not " \
              f"supported by jetliner.ray.read_avro{_NO_HIVE}"
        raise ConfigurationError(msg)


def _block_metadata(**fields: Any) -> BlockMetadata:
    """`BlockMetadata` with the fields this Ray version takes (they changed)."""
    params = inspect.signature(BlockMetadata.__init__).parameters
    fields = {"num_rows": None, "exec_stats": None, **fields}
    return BlockMetadata(**{k: v for k, v in fields.items() if k in params})


def _read_task(read: Any, meta: BlockMetadata, **extra: Any) -> ReadTask:
    """`ReadTask` with the keyword arguments this Ray version takes."""
    params = inspect.signature(ReadTask.__init__).parameters
    return ReadTask(read, meta, **{k: v for k, v in extra.items() if k in params})


@dataclass
class _ReadSplits:
    """A read task's work: decode its splits, filter, project, yield Arrow tables."""

    splits: list[Split]
    columns: list[str] | None
    needed: list[str] | None
    filter: pl.Expr | None
    storage_options: dict[str, Any] | None
    options: dict[str, Any]
    file_schema: pl.Schema

    def __call__(self) -> Iterable[pa.Table]:
        return self._tables()

    def _tables(self) -> Iterator[pa.Table]:
        for split in self.splits:
            with jetliner.open(split, columns=self.needed, storage_options=self.storage_options,
                               **self.options) as reader:
                # the files of one dataset must share their schema
                check_same_schema(reader.file_schema, self.file_schema, split.path,
                                  "the first file read")
                for batch in run_query(reader, self.filter, self.columns, None):
                    if batch.height:
                        yield _arrow(batch)


def read_avro(paths: Any, *, columns: list[str] | None = None,
              filter: pl.Expr | None = None,  # noqa: A002 - the name users expect
              storage_options: dict[str, Any] | None = None,
              split_size: int = DEFAULT_SPLIT_SIZE,
              override_num_blocks: int | None = None,
              ray_remote_args: dict[str, Any] | None = None,
              **options: Any) -> ray.data.Dataset:
    """Read Avro files into a Ray Dataset, decoding each split with jetliner.

    Parameters
    ----------
    paths
        Paths, globs or URLs (``s3://...``), or a list of them.
    columns
        Columns to return, in this order (``None``: all).  Only these, and the
        ones `filter` uses, are decoded.
    filter
        A Polars expression, applied to every batch inside the read tasks.
    storage_options
        Credentials and settings for remote sources (as for `jetliner.scan_avro`);
        sent to the read tasks, never stored in the splits.
    split_size
        Target bytes per split (default 128 MiB).  Several splits may share a task
        when there are more splits than Ray's parallelism.
    override_num_blocks
        The number of read tasks (default: one per split); consecutive splits
        share a task when it is smaller than the number of splits.
    ray_remote_args
        Passed to ``ray.data.read_datasource`` (``num_cpus``, ``memory``, ...).
    **options
        Reading options of `jetliner.ReadOptions` (``batch_size``,
        ``ignore_errors``, ``max_block_size``, ...).  ``n_rows``,
        ``row_index_name`` and ``include_file_paths`` are refused: use
        ``Dataset.limit`` and add columns after reading.  So are the Hive options
        (``hive_partitioning``, ``hive_schema``, ``try_parse_hive_dates``,
        ``hidden_file_prefix``), and a folder of Hive partitions: its read tasks
        add no partition columns.  A folder without them is read file by file.

    Returns
    -------
    ray.data.Dataset
        Rows of every file, file by file and in file order within a split.

    Raises
    ------
    ConfigurationError
        Bad options, or `columns` / `filter` that do not fit the files' schema.
    JetlinerError
        Files that cannot be found or are not Avro (raised here, on the driver).
    """
    source = AvroDatasource(paths, columns=columns, filter=filter,
                            storage_options=storage_options, split_size=split_size, **options)
    # one read task per split unless told otherwise (Ray would size tasks from
    # the compressed bytes and start too few)
    blocks = override_num_blocks if override_num_blocks is not None else len(source.splits)
    dataset: ray.data.Dataset = ray.data.read_datasource(
        source, override_num_blocks=blocks, ray_remote_args=ray_remote_args)
    return dataset
