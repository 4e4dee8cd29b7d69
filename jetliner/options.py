"""Reading options, validated once and shared by every API.

`scan_avro`, `read_avro`, `open`, `AvroReader` and `MultiAvroReader` all accept the
same keyword options; they are collected here, in one place, with the reason for
each default next to it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypedDict

import polars as pl

from jetliner.exceptions import ConfigurationError, UnknownOptionError

__all__ = ["ReadOptions", "ReadOptionsDict"]

MiB = 1024 * 1024


class ReadOptionsDict(TypedDict, total=False):
    """The keyword options accepted by every reading API (see `ReadOptions`)."""

    n_rows: int | None
    row_index_name: str | None
    row_index_offset: int
    glob: bool
    include_file_paths: str | None
    missing_columns: str
    extra_columns: str
    union_by_name: bool
    reader_schema: Any
    hive_partitioning: bool | None
    hive_schema: Mapping[str, Any] | None
    try_parse_hive_dates: bool
    hidden_file_prefix: str | Sequence[str] | None
    ignore_errors: bool
    storage_options: dict[str, Any] | None
    buffer_blocks: int
    buffer_bytes: int
    read_chunk_size: int | None
    memory_map: bool
    batch_size: int
    max_block_size: int | None
    max_nesting_depth: int
    max_zero_byte_values: int
    max_empty_records: int
    invalid_utf8: str
    progress: bool


@dataclass(frozen=True)
class ReadOptions:
    """Options of a read.

    Attributes
    ----------
    n_rows
        Stop after this many rows (after filtering, for `scan_avro`); ``None`` reads
        everything.  No block past the one that completes the count is read.
    row_index_name
        Add a row-number column of this name (Polars' index type, as
        ``with_row_index`` makes), counted from `row_index_offset`, continuous
        across files.
    row_index_offset
        First value of the row index.
    glob
        Expand ``* ** ? [..] {a,b}`` in string paths.  ``False`` takes the path
        literally (for names that contain those characters).
    include_file_paths
        Add a String column of this name holding each row's source path.
    missing_columns
        What to do when a later file lacks a column of the first file (the
        meaning of ``pl.scan_parquet``'s option): ``"raise"`` (default, as in
        Polars: files read together share their columns unless told otherwise)
        raises a `SchemaError`; ``"insert"`` reads the column as that field's
        Avro ``default`` in the first file, when it has one jetliner honours
        (null, boolean, int, long, float, double, string, enum), else as nulls.
    extra_columns
        What to do when a later file has a column the first file lacks:
        ``"raise"`` (default, as in Polars) raises a `SchemaError`; ``"ignore"``
        leaves it out (it is never decoded).
    union_by_name
        Read every file's header first (concurrently) and return the union of
        their columns, in first-seen order, each column of the widest of its
        types by Avro's promotions (int -> long -> float -> double, string and
        bytes -> Binary).  A file lacking a column reads it as its default or
        nulls, as ``missing_columns="insert"`` does; `missing_columns` and
        `extra_columns` then have nothing left to decide.  Off by default: it
        costs a header read of every file before the first batch.
    reader_schema
        Read every file through this Avro schema (a dict, JSON text, or the path
        or URL of an ``.avsc`` file, read with `storage_options`), by the Avro
        specification's rules of schema resolution: fields matched by name or
        alias, writer-only fields skipped, reader-only fields set to their
        ``default``, promotions, enum defaults, unions branch by branch.  The
        columns and their types are the reader schema's.  ``None`` (default)
        reads each file with its own schema.  It makes `union_by_name`,
        `missing_columns` and `extra_columns` moot: combined with a non-default
        value of one of them it is a `ConfigurationError`.
    hive_partitioning
        Read ``key=value`` folder names on the files' paths as columns (Hive
        partitions), appended after the file's columns, and prune files with a
        filter on them before any is opened.  ``None`` (default, as in
        ``pl.scan_parquet``): on when the source is a single folder, off for
        files, globs and lists.  ``True`` also reads them from the paths of
        files, globs and lists (every folder of the path); ``False`` never.
    hive_schema
        Types of the partition columns (a dict or ``pl.Schema``); ``None`` infers
        them from the values as Polars does (integers, floats, booleans, dates and
        datetimes with `try_parse_hive_dates`, else strings).  As in Polars, a
        partition key of the paths missing from it is an error.
    try_parse_hive_dates
        Infer ``Date`` and ``Datetime`` partition values (``True``, as Polars).
        ``False`` keeps them as strings, even where `hive_schema` says a
        temporal type.
    hidden_file_prefix
        Names (a prefix, or a list of prefixes) skipped when listing a folder: a
        file or folder under it whose name starts with one is not read.
        ``None`` (default) skips names starting with ``_`` or ``.`` (writers'
        markers and side files: ``_SUCCESS``, ``_temporary/``, ``.crc`` files);
        ``[]`` skips nothing.  Given explicitly, it also skips the files of a
        glob whose names start with one (as ``pl.scan_parquet`` does).
    ignore_errors
        Skip what cannot be decoded instead of raising.
    storage_options
        Options for remote filesystems: credentials, endpoint, region,
        ``max_retries`` (default 2; a request is attempted at most
        ``max_retries + 1`` times), timeouts (see `jetliner.storage`).
    buffer_blocks
        How many batches may be decoding or decoded ahead of the consumer, and
        how many ranges a remote read prefetches (4: enough to keep every
        decoding thread busy on a small machine, and several requests in flight,
        while bounding memory to a few batches).
    buffer_bytes
        Upper bound on the compressed bytes handed to the decoding threads and
        not yet consumed, and on the bytes a remote read prefetches (64 MiB: many
        typical blocks, a small fraction of a machine's memory).
    read_chunk_size
        Size of one read from the source.  ``None`` picks 4 MiB for local files
        (large enough to amortise the system call, small enough for ``head()`` to
        stop early) and 8 MiB for remote objects (round trips dominate there).
    memory_map
        Map a local file's chunks of 1 MiB and more into memory rather than copy
        them (Linux; as ``memory_map`` of `polars.read_ipc`).  A file cut short
        while mapped raises `SourceChangedError`; for that, the first mapping
        installs a ``SIGBUS`` handler that passes other faults on.  ``False``
        reads every chunk with ``pread`` and installs nothing.
    batch_size
        Most rows per yielded DataFrame (100 000: big enough that per-batch
        overhead vanishes, small enough to stream in bounded memory).  Batches
        end on block boundaries where they can, so most hold a little less; a
        block larger than `batch_size` is split.  A batch also ends once its
        blocks hold ``buffer_bytes / (2 * buffer_blocks)`` compressed bytes (8 MiB
        by default), so that files of wide rows still decode on every core.
    max_block_size
        Refuse a block whose decompressed size would exceed this (512 MiB): the
        guard against decompression bombs and lying size fields.  ``None`` lifts
        the bound (for trusted files only).
    max_nesting_depth
        Refuse values nested deeper than this (100 000 levels of recursive
        records, arrays or maps).  Decoding uses an explicit stack, never the C
        stack, so the limit bounds memory and time, not a crash.
    max_zero_byte_values
        Most values per batch that take no bytes in the file (nulls, empty
        records, items of ``array<null>``) claimed by counts: 2^26 (67 million).
        A count is otherwise bounded by the bytes left in its block; this bounds
        the rest, so a tiny file claiming 2^40 empty items fails in milliseconds.
    max_empty_records
        Most records per file that take no bytes at all (records without
        fields, a top-level ``null``): 2^22 (4 194 304).  Each costs time and
        memory but no input, so without this bound a file of a few bytes could
        claim billions of rows.  Counted as the records a block holds beyond one
        per decompressed byte.
    invalid_utf8
        ``"error"`` (default): a string that is not valid UTF-8 is a
        `DecodeError` (or skipped with ``ignore_errors``).  ``"replace"``: each
        invalid sequence becomes U+FFFD, as Python's ``bytes.decode(errors=
        "replace")`` does.
    progress
        Draw a one-line progress display (rows, bytes, MB/s, percentage and
        time left when the total size is known) on standard error while
        reading.  Off by default: jetliner prints nothing unless asked.
    """

    n_rows: int | None = None
    row_index_name: str | None = None
    row_index_offset: int = 0
    glob: bool = True
    include_file_paths: str | None = None
    missing_columns: str = "raise"
    extra_columns: str = "raise"
    union_by_name: bool = False
    # (not hashed: a dict)
    reader_schema: Any = field(default=None, hash=False)
    # None: as pl.scan_parquet, on for a single folder (its layout says what it is),
    # off for files and globs (a path's 'key=value' may be a name, not a partition)
    hive_partitioning: bool | None = None
    hive_schema: Mapping[str, Any] | None = field(default=None, hash=False)
    try_parse_hive_dates: bool = True
    # None: skip '_' and '.' names in folders (Spark's _SUCCESS, Hadoop's .crc files)
    hidden_file_prefix: str | Sequence[str] | None = field(default=None, hash=False)
    ignore_errors: bool = False
    storage_options: dict[str, Any] | None = field(default=None, hash=False)
    buffer_blocks: int = 4
    buffer_bytes: int = 64 * MiB
    read_chunk_size: int | None = None
    memory_map: bool = True
    batch_size: int = 100_000
    max_block_size: int | None = 512 * MiB
    max_nesting_depth: int = 100_000
    max_zero_byte_values: int = 1 << 26
    max_empty_records: int = 1 << 22
    invalid_utf8: str = "error"
    progress: bool = False

    def __post_init__(self) -> None:
        _check_int("n_rows", self.n_rows, minimum=0, optional=True)
        _check_int("row_index_offset", self.row_index_offset, minimum=0)
        _check_int("buffer_blocks", self.buffer_blocks, minimum=1)
        _check_int("buffer_bytes", self.buffer_bytes, minimum=1)
        _check_int("read_chunk_size", self.read_chunk_size, minimum=1, optional=True)
        _check_int("batch_size", self.batch_size, minimum=1)
        _check_int("max_block_size", self.max_block_size, minimum=1, optional=True)
        _check_int("max_nesting_depth", self.max_nesting_depth, minimum=1)
        _check_int("max_zero_byte_values", self.max_zero_byte_values, minimum=0)
        _check_int("max_empty_records", self.max_empty_records, minimum=0)
        if self.invalid_utf8 not in ("error", "replace"):
            msg = f"invalid_utf8 must be 'error' or 'replace', got {self.invalid_utf8!r}"
            raise ConfigurationError(msg)
        for name, allowed in (("missing_columns", ("raise", "insert")),
                              ("extra_columns", ("raise", "ignore"))):
            if getattr(self, name) not in allowed:
                msg = (f"{name} must be {allowed[0]!r} or {allowed[1]!r}, got "
                       f"{getattr(self, name)!r}")
                raise ConfigurationError(msg)
        for name in ("row_index_name", "include_file_paths"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                msg = f"{name} must be a non-empty column name or None, got {value!r}"
                raise ConfigurationError(msg)
        if (
            self.row_index_name is not None
            and self.row_index_name == self.include_file_paths
        ):
            msg = (
                f"row_index_name and include_file_paths are both {self.row_index_name!r}:"
                " give the two columns different names"
            )
            raise ConfigurationError(msg)
        for name in ("glob", "union_by_name", "ignore_errors", "progress",
                     "try_parse_hive_dates", "memory_map"):
            if not isinstance(getattr(self, name), bool):
                msg = f"{name} must be True or False, got {getattr(self, name)!r}"
                raise ConfigurationError(msg)
        if self.reader_schema is not None:
            if not isinstance(self.reader_schema, (dict, list, str, os.PathLike)):
                msg = ("reader_schema must be a dict, JSON text, or the path or URL of an "
                       f".avsc file, got {type(self.reader_schema).__name__}")
                raise ConfigurationError(msg)
            moot = [f"{name}={getattr(self, name)!r}" for name, default in (
                ("union_by_name", False), ("missing_columns", "raise"),
                ("extra_columns", "raise")) if getattr(self, name) != default]
            if moot:
                msg = (f"reader_schema cannot be combined with {', '.join(moot)}: with a "
                       "reader schema every file is read as that schema (its columns, its "
                       "defaults for the fields a file lacks), so there is nothing left for "
                       "them to decide; drop them")
                raise ConfigurationError(msg)
        if self.hive_partitioning is not None and not isinstance(self.hive_partitioning, bool):
            msg = ("hive_partitioning must be True, False or None (on for a single folder), "
                   f"got {self.hive_partitioning!r}")
            raise ConfigurationError(msg)
        if self.hive_schema is not None:
            _check_hive_schema(self.hive_schema)
        if self.hidden_file_prefix is not None:
            object.__setattr__(self, "hidden_file_prefix",
                               _prefixes(self.hidden_file_prefix))
        if self.storage_options is not None and not isinstance(self.storage_options, dict):
            msg = (
                "storage_options must be a dict of option names to values, got "
                f"{type(self.storage_options).__name__}"
            )
            raise ConfigurationError(msg)

    @property
    def hidden_prefixes(self) -> tuple[str, ...] | None:
        """`hidden_file_prefix` as a tuple of prefixes (None: the default ones)."""
        return None if self.hidden_file_prefix is None else _prefixes(self.hidden_file_prefix)

    @property
    def block_size_limit(self) -> int:
        """`max_block_size`, or the largest size a buffer can have when it is ``None``."""
        return self.max_block_size if self.max_block_size is not None else sys.maxsize - 1

    @classmethod
    def from_kwargs(cls, options: dict[str, Any], caller: str = "") -> ReadOptions:
        """Build from keyword arguments, naming any unknown option.

        Parameters
        ----------
        options
            The keyword arguments.
        caller
            The function they were given to (``"read_avro"``), named in errors.

        Returns
        -------
        ReadOptions
            The validated options.

        Raises
        ------
        UnknownOptionError
            For an unknown keyword (a `ConfigurationError` and a `TypeError`, as
            Python raises for an unexpected keyword argument).
        ConfigurationError
            For an invalid value.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            who = f"{caller}() got" if caller else "got"
            names = ", ".join(map(repr, unknown))
            plural = "s" if len(unknown) > 1 else ""
            msg = (
                f"{who} an unexpected keyword argument: unknown option{plural} {names}; the "
                f"reading options are: {', '.join(sorted(known))}"
            )
            raise UnknownOptionError(msg)
        return cls(**options)


def _check_int(name: str, value: object, *, minimum: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        expected = f"an integer >= {minimum}" + (" or None" if optional else "")
        msg = f"{name} must be {expected}, got {value!r}"
        if isinstance(value, int) and value < 0 <= minimum:
            msg += f" ({name} cannot be negative)"
        raise ConfigurationError(msg)


def _check_hive_schema(schema: object) -> None:
    """Refuse a `hive_schema` that is not a mapping of names to Polars types."""
    ok = isinstance(schema, Mapping) and all(
        isinstance(k, str) and k and (isinstance(v, pl.DataType)
                                      or (isinstance(v, type) and issubclass(v, pl.DataType)))
        for k, v in schema.items())
    if not ok:
        msg = ("hive_schema must map partition names to Polars types, such as "
               f"{{'day': pl.Int8}}, got {schema!r}")
        raise ConfigurationError(msg)


def _prefixes(value: object) -> tuple[str, ...]:
    """Return `hidden_file_prefix` as a tuple of non-empty prefixes, or refuse it."""
    items = (value,) if isinstance(value, str) else value
    if isinstance(items, (list, tuple)) and all(isinstance(p, str) and p for p in items):
        return tuple(items)
    msg = ("hidden_file_prefix must be a non-empty string or a list of them (None: names "
           f"starting with '_' or '.'), got {value!r}")
    raise ConfigurationError(msg)
