"""Hive partitions: columns read from ``key=value`` folder names, and pruning by them.

A Hive layout names its partitions in its folders::

    events/year=2024/month=01/day=21/part-0.avro

Each ``key=value`` folder on a file's path becomes a column of every row of that
file, with ``pl.scan_parquet``'s meanings: the values are percent-decoded, an
empty value and ``__HIVE_DEFAULT_PARTITION__`` are null, and their types are
inferred as Polars infers them (it parses them as the cells of a CSV column:
booleans, integers, floats, dates and datetimes with ``try_parse_hive_dates``,
else strings), unless ``hive_schema`` gives them.  A partition key that is also a
column of the file keeps the file's type, and its value comes from the path.

Pruning: the part of a query's filter that names only partition columns (and the
``include_file_paths`` column) is evaluated on a frame of one row per file before
any file is opened; files it rejects are never read.  This module works on paths
and Polars frames only; opening files is the reader's.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import polars as pl

from jetliner.exceptions import SchemaError
from jetliner.options import ReadOptions
from jetliner.sources import Source

__all__ = ["DEFAULT_PARTITION", "Partitions", "conjuncts", "hive_enabled", "partitions_of",
           "path_partitions", "prune", "read_partitions"]

# The value Hive (and Spark) write for a null partition value
DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"


def path_partitions(path: str, base: str | None) -> list[tuple[str, str | None]]:
    """Return the ``key=value`` folders of `path`, values percent-decoded, in path order.

    Parameters
    ----------
    path
        A file's path or URL.
    base
        The folder it was listed under (a prefix of `path`): only the folders
        below it count.  ``None``: every folder of the path.

    Returns
    -------
    list[tuple[str, str | None]]
        Key and value of each partition folder (the file's own name is not one);
        the value is None for an empty value or ``__HIVE_DEFAULT_PARTITION__``.
        Keys are not decoded, as in Polars; a folder with an empty key or with
        more than one ``=`` is not a partition.
    """
    rest = path[len(base):] if base is not None and path.startswith(base) else path
    out: list[tuple[str, str | None]] = []
    for part in rest.replace("\\", "/").split("/")[:-1]:
        key, eq, value = part.partition("=")
        if not eq or not key or "=" in value:
            continue
        text = unquote(value)
        out.append((key, None if text in ("", DEFAULT_PARTITION) else text))
    return out


@dataclass(frozen=True)
class RawPartitions:
    """The partition values of a read's files as found on their paths (strings).

    Attributes
    ----------
    keys
        The partition keys, in the first file's order.
    values
        Per file, its value of each key (None: null), in the order of `keys`.
    """

    keys: tuple[str, ...]
    values: list[tuple[str | None, ...]]


def read_partitions(sources: Sequence[Source]) -> RawPartitions | None:
    """Read the partitions of every source's path; None when no path has any.

    Raises
    ------
    SchemaError
        A file whose partition keys are not those of the first file (another
        set, or a key twice): files read together must share their partitions.
    """
    keys: tuple[str, ...] | None = None
    values: list[tuple[str | None, ...]] = []
    for src in sources:
        parts = path_partitions(src.path, src.base)
        found = dict(parts)
        if keys is None:
            keys = tuple(found)
        if len(found) != len(parts) or set(found) != set(keys):
            twice = sorted({k for k, _ in parts if [p for p, _ in parts].count(k) > 1})
            what = (f"names the partition key(s) {twice} twice" if twice else
                    f"has the partition keys {[k for k, _ in parts]}")
            msg = (
                f"{src.path!r} {what}, but {sources[0].path!r} has {list(keys)}: files read "
                "with Hive partitions must share their keys (the key=value folders on "
                "their paths); read them apart, or pass hive_partitioning=False"
            )
            raise SchemaError(msg, "PartitionMismatch", src.path)
        values.append(tuple(found[k] for k in keys))
    if not keys:
        return None
    return RawPartitions(keys, values)


@dataclass(frozen=True)
class Partitions:
    """The typed partition values of a read's files: one row per file, one column per key.

    Attributes
    ----------
    frame
        The values, in the files' order.
    """

    frame: pl.DataFrame

    @property
    def schema(self) -> pl.Schema:
        """The partition columns and their types."""
        return self.frame.schema

    def row(self, i: int) -> dict[str, Any]:
        """Return file `i`'s value of each partition column."""
        return self.frame.row(i, named=True)

    def take(self, indices: Sequence[int]) -> Partitions:
        """Return the partitions of the files at `indices`, in that order."""
        return Partitions(self.frame[list(indices)])

    @classmethod
    def typed(cls, raw: RawPartitions, file_schema: pl.Schema,
              options: ReadOptions) -> Partitions:
        """Type the raw values: by `hive_schema`, the file's column of the name, or inference.

        Raises
        ------
        SchemaError
            A key missing from ``hive_schema``, or a value that is not of its type.
        """
        given = options.hive_schema
        columns = []
        for j, key in enumerate(raw.keys):
            dtype: pl.DataType | None
            if given is not None:
                if key not in given:
                    msg = (
                        f"the paths have the partition key {key!r}, which hive_schema "
                        f"({dict(given)}) lacks: as in Polars, hive_schema gives every "
                        "partition key (or None, to infer their types)"
                    )
                    raise SchemaError(msg, "PartitionMismatch")
                dtype = given[key]
            else:
                dtype = file_schema.get(key)
            if dtype is not None and isinstance(dtype, type):
                dtype = dtype()
            if dtype is not None and not options.try_parse_hive_dates and dtype.is_temporal():
                dtype = pl.String()
            column = [row[j] for row in raw.values]
            columns.append(_parse(key, column, dtype, options.try_parse_hive_dates))
        return cls(pl.DataFrame(columns))


def _parse(key: str, values: list[str | None], dtype: pl.DataType | None,
           try_dates: bool) -> pl.Series:
    """Parse one partition column as Polars parses it: as the cells of a CSV column.

    Only the distinct non-null values are parsed; a value that no CSV cell can
    hold (a line break) makes the column a string one.
    """
    distinct = list(dict.fromkeys(v for v in values if v is not None))
    index = {v: i for i, v in enumerate(distinct)}
    positions = pl.Series([index.get(v) if v is not None else None for v in values],
                          dtype=pl.UInt32)
    if not distinct:
        return pl.Series(key, [None] * len(values), dtype=dtype or pl.String())
    plain = all(not any(c in v for c in "\n\r\x1f") for v in distinct)
    try:
        if plain:
            text = "\n".join(distinct).encode()
            parsed = pl.read_csv(
                io.BytesIO(text), has_header=False, separator="\x1f", quote_char=None,
                infer_schema_length=None, try_parse_dates=try_dates,
                schema=None if dtype is None else {"v": dtype},
            ).to_series()
        else:  # inferred as a string; a given type: cast from one
            parsed = pl.Series(distinct, dtype=pl.String())
            if dtype is not None:
                parsed = parsed.cast(dtype)
    except pl.exceptions.PolarsError as exc:
        shown = ", ".join(map(repr, distinct[:5])) + (", ..." if len(distinct) > 5 else "")
        what = "parsed" if dtype is None else f"read as {dtype}"
        msg = (
            f"the partition values of {key!r} ({shown}) cannot be {what}: {exc}; give "
            "their type in hive_schema"
        )
        raise SchemaError(msg, "BadPartitionValue") from exc
    if parsed.len() != len(distinct):  # not one cell per value: the CSV misread them
        parsed = pl.Series(distinct, dtype=pl.String())
    return parsed.gather(positions).rename(key)


def hive_enabled(sources: Sequence[Source], options: ReadOptions) -> bool:
    """Tell whether a read of `sources` (as resolved) has Hive partitions.

    ``hive_partitioning=None`` (the default) turns them on for a single folder
    only, as in ``pl.scan_parquet``: when every source was listed under one folder.
    """
    if options.hive_partitioning is not None:
        return options.hive_partitioning
    base = sources[0].base if sources else None
    return base is not None and all(s.base == base for s in sources)


def partitions_of(sources: Sequence[Source], schema: pl.Schema,
                  options: ReadOptions) -> Partitions | None:
    """Return the typed partitions of the sources' paths (None when they have none).

    Parameters
    ----------
    sources
        The read's files, in order.
    schema
        The files' columns: a partition named as one of them takes its type.
    options
        ``hive_schema`` and ``try_parse_hive_dates``.
    """
    raw = read_partitions(sources)
    return None if raw is None else Partitions.typed(raw, schema, options)


# --------------------------------------------------------------------------- pruning


def conjuncts(predicate: pl.Expr) -> list[pl.Expr]:
    """Split a filter into the parts joined by ``&`` at its top: ``a & (b & c)`` -> a, b, c.

    Polars joins the filters of a query with ``&`` before handing them to a scan,
    so each part is a filter of its own: a row passes when it passes every part.
    """
    try:
        top = json.loads(predicate.meta.serialize(format="json"))
    except (pl.exceptions.PolarsError, ValueError, TypeError):
        return [predicate]
    node = top.get("BinaryExpr") if isinstance(top, dict) else None
    if not isinstance(node, dict) or node.get("op") not in ("And", "LogicalAnd"):
        return [predicate]
    out: list[pl.Expr] = []
    for side in reversed(predicate.meta.pop()):  # pop() gives the right side first
        out.extend(conjuncts(side))
    return out


def prune(files: pl.DataFrame, predicate: pl.Expr) -> tuple[list[int], pl.Expr | None]:
    """Keep the files that the filter's parts on per-file columns let through.

    Parameters
    ----------
    files
        One row per file, its columns constant within a file (the partition
        values, the file's path).
    predicate
        The query's filter.

    Returns
    -------
    tuple[list[int], polars.Expr | None]
        The indices of the files kept, in order, and what is left of the filter
        for their rows (None: nothing, every row of a kept file passes).  The
        parts on `files`' columns alone hold for every row of a kept file, so
        they are dropped from it.
    """
    names = set(files.columns)
    parts = conjuncts(predicate)
    on_files, rest = [], []
    for part in parts:
        meta = part.meta
        roots = set(meta.root_names())
        if roots and roots <= names and not meta.has_multiple_outputs() \
                and not meta.is_regex_projection():
            on_files.append(part)
        else:
            rest.append(part)
    if not on_files:
        return list(range(files.height)), predicate
    try:
        kept = (files.with_row_index("__jetliner_file")
                .filter(*on_files)["__jetliner_file"].to_list())
    except pl.exceptions.PolarsError:
        # a part Polars refuses on these columns: prune nothing, the read reports it
        return list(range(files.height)), predicate
    residual = None
    for part in rest:
        residual = part if residual is None else residual & part
    return kept, residual
