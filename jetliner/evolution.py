"""How files of different schemas are read together: the dataset's columns, each file's select.

A glob over a data lake often names files written at different times, whose
schemas evolved: a column added, one dropped, an ``int`` widened to a ``long``.
Three reading options say what to do (with the meanings ``pl.scan_parquet``
gives them):

- ``missing_columns``: a later file lacks a column of the first: refuse it
  (``"raise"``) or read the column as the field's Avro default, else nulls
  (``"insert"``);
- ``extra_columns``: a later file has a column the first lacks: refuse it
  (``"raise"``) or leave it out, undecoded (``"ignore"``);
- ``union_by_name``: the dataset's columns are the union of every file's, each
  of the widest of its types by Avro's promotions.

The dataset's schema (`Dataset`) is known before any block is decoded.  Each file
then decodes only the requested columns it has, and one ``select``, built once
per file (`FileRead`), turns each of its batches into the dataset's columns:
reordered, its missing columns filled, its narrower columns cast.  This module
works on Polars schemas and the header's schema text only; opening files is the
reader's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from jetliner.exceptions import SchemaError
from jetliner.options import ReadOptions

__all__ = ["Dataset", "FileColumns", "FileRead", "avro_defaults", "file_read",
           "widen", "with_partitions"]

# Avro's promotions (schema resolution: a value written as the first type may be read
# as the second), in the Polars types jetliner gives those Avro types.  String and
# bytes promote to each other in Avro; jetliner widens both to Binary, which holds
# every string, whereas not every bytes value is UTF-8 text.
_PROMOTIONS: tuple[tuple[pl.DataType, pl.DataType], ...] = (
    (pl.Int32(), pl.Int64()),
    (pl.Int32(), pl.Float32()),
    (pl.Int32(), pl.Float64()),
    (pl.Int64(), pl.Float32()),
    (pl.Int64(), pl.Float64()),
    (pl.Float32(), pl.Float64()),
    (pl.String(), pl.Binary()),
)
PROMOTIONS_TEXT = "int -> long -> float -> double, string <-> bytes"


def widen(a: pl.DataType, b: pl.DataType) -> pl.DataType | None:
    """Return the type that reads values of both `a` and `b`, or None if there is none.

    Parameters
    ----------
    a, b
        Polars types of one column in two files.

    Returns
    -------
    polars.DataType | None
        `a` when equal, else the one the other promotes to by Avro's rules.
    """
    if a == b:
        return a
    for narrow, wide in _PROMOTIONS:
        if (a == narrow and b == wide) or (a == wide and b == narrow):
            return wide
    return None


# ---------------------------------------------------------------------------- defaults

_UNSURE = object()  # a default jetliner does not honour: read as null


def avro_defaults(schema_json: str, schema: pl.Schema) -> dict[str, Any]:
    """Return the Avro defaults of a record's fields that jetliner honours.

    Honoured: defaults of ``null``, ``boolean``, ``int``, ``long``, ``float``,
    ``double``, ``string`` and of enums defined in place (their symbol), alone or
    as a branch of a union, without a logical type.  Others (bytes, fixed,
    records, arrays, maps, logical types, named types referred to by name) are
    left out: a missing column is then read as nulls.

    Parameters
    ----------
    schema_json
        A header's ``avro.schema`` text.
    schema
        Its Polars schema (all columns), to check that a default fits its column.

    Returns
    -------
    dict[str, Any]
        Column name to its default, for the fields with an honoured non-null default.
    """
    try:
        root = json.loads(schema_json)
    except ValueError:
        return {}
    if not isinstance(root, dict) or root.get("type") != "record":
        return {}
    out: dict[str, Any] = {}
    for f in root.get("fields") or ():
        if not isinstance(f, dict) or "default" not in f or f.get("name") not in schema:
            continue
        value = _default(f.get("type"), f["default"])
        if value is not _UNSURE and value is not None and _fits(value, schema[f["name"]]):
            out[f["name"]] = value
    return out


def _default(avro: Any, value: Any) -> Any:
    """Return `value` as a default of Avro type `avro`, or `_UNSURE`."""
    if isinstance(avro, list):  # a union: the first branch the value fits
        for branch in avro:
            got = _default(branch, value)
            if got is not _UNSURE:
                return got
        return _UNSURE
    if isinstance(avro, dict):
        if "logicalType" in avro:
            return _UNSURE
        if avro.get("type") == "enum":
            symbols = avro.get("symbols") or ()
            return value if isinstance(value, str) and value in symbols else _UNSURE
        inner = avro.get("type")
        return _default(inner, value) if isinstance(inner, str) else _UNSURE
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if avro == "null":
        return None if value is None else _UNSURE
    if avro == "boolean":
        return value if isinstance(value, bool) else _UNSURE
    if avro in ("int", "long"):
        return value if is_number and isinstance(value, int) else _UNSURE
    if avro in ("float", "double"):
        return float(value) if is_number else _UNSURE
    if avro == "string":
        return value if isinstance(value, str) else _UNSURE
    return _UNSURE


def _fits(value: Any, dtype: pl.DataType) -> bool:
    """Tell whether a default's Python value is one of a column of `dtype`."""
    if isinstance(value, bool):
        return dtype == pl.Boolean()
    if isinstance(value, int):
        return dtype in (pl.Int32(), pl.Int64(), pl.Float32(), pl.Float64())
    if isinstance(value, float):
        return dtype in (pl.Float32(), pl.Float64())
    if isinstance(value, str):
        return dtype == pl.String() or (isinstance(dtype, pl.Enum)
                                        and value in dtype.categories.to_list())
    return False


# ---------------------------------------------------------------------------- schemas


@dataclass(frozen=True)
class FileColumns:
    """What a file's header says of its columns.

    Attributes
    ----------
    path
        The file's path or URL, named in errors.
    schema
        The Polars schema of all its columns.
    defaults
        The honoured Avro defaults of its fields (`avro_defaults`).
    """

    path: str
    schema: pl.Schema
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    """The columns every batch of a read has (before selection), and how to fill them.

    Attributes
    ----------
    schema
        The dataset's columns: the first file's, or the union of every file's.
    defaults
        The value a file lacking a column reads it as (absent: null).
    first
        The path of the first file (named in errors).
    union
        True when `schema` is the union of every file's columns (``union_by_name``).
    partitions
        The Hive partition columns among `schema`'s: each file's value comes from
        its path, never from the file (`jetliner.hive`).
    """

    schema: pl.Schema
    defaults: dict[str, Any]
    first: str
    union: bool = False
    partitions: tuple[str, ...] = ()

    def with_partitions(self, partitions: pl.Schema) -> Dataset:
        """Return the dataset with Hive partition columns.

        A partition named as a column keeps the column's place (and the type it
        was given from it); the others come after the columns, in path order.
        """
        schema = dict(self.schema)
        for name, dtype in partitions.items():
            schema[name] = dtype  # in place when the files have it, else appended
        return Dataset(pl.Schema(schema), self.defaults, self.first, self.union,
                       tuple(partitions))

    @classmethod
    def of_first(cls, first: FileColumns) -> Dataset:
        """Return the dataset of the first file's columns."""
        return cls(first.schema, first.defaults, first.path)

    @classmethod
    def union_of(cls, files: Sequence[FileColumns]) -> Dataset:
        """Return the union of the files' columns, in first-seen order, types widened.

        A column's default is that of the first file having it.

        Raises
        ------
        SchemaError
            A column whose types in two files no Avro promotion reconciles.
        """
        columns: dict[str, pl.DataType] = {}
        seen: dict[str, str] = {}  # the file that gave the column its current type
        defaults: dict[str, Any] = {}
        for f in files:
            for name, dtype in f.schema.items():
                if name not in columns:
                    columns[name], seen[name] = dtype, f.path
                    if name in f.defaults:
                        defaults[name] = f.defaults[name]
                    continue
                wide = widen(columns[name], dtype)
                if wide is None:
                    msg = (
                        f"column {name!r} is {columns[name]} in {seen[name]!r} and {dtype} in "
                        f"{f.path!r}: union_by_name widens a column only by Avro's promotions "
                        f"({PROMOTIONS_TEXT}); rewrite one of the files, or read them apart"
                    )
                    raise SchemaError(msg, "IncompatibleSchemas", f.path)
                if wide != columns[name]:
                    columns[name], seen[name] = wide, f.path
        # a default that no longer fits the widened type is dropped (read as null)
        defaults = {k: v for k, v in defaults.items() if _fits(v, columns[k])
                    or columns[k] == pl.Binary()}
        return cls(pl.Schema(columns), defaults, files[0].path, union=True)


@dataclass(frozen=True)
class FileRead:
    """How one file is read into the dataset's columns.

    Attributes
    ----------
    decode
        The file's columns to decode, in the read's order (the requested ones it has).
    select
        The expressions turning one of its decoded batches into the read's columns
        (reordered, missing ones filled, narrower ones cast); None when a batch is
        already that.
    as_decoded
        True when `select` only adds partition columns: the decoded columns are the
        read's others, as they are (a filter on them may be decoded late).
    """

    decode: tuple[str, ...]
    select: list[pl.Expr] | None
    as_decoded: bool = True


def _check(dataset: Dataset, file: FileColumns, options: ReadOptions) -> None:
    """Refuse a file whose columns the options do not let into the dataset.

    The error lists every difference at once (missing, extra and retyped columns),
    each with the option that would accept it.
    """
    found, expected = file.schema, dataset.schema
    if dataset.partitions:  # partition columns come from the paths, whatever the files hold
        found = pl.Schema({n: t for n, t in found.items() if n not in dataset.partitions})
        expected = pl.Schema({n: t for n, t in expected.items() if n not in dataset.partitions})
    problems = []
    if not dataset.union:
        missing = [n for n in expected if n not in found]
        if missing and options.missing_columns == "raise":
            problems.append(
                f"it lacks column(s) {missing} (missing_columns='insert' reads them as "
                "their Avro defaults or nulls)")
        extra = [n for n in found if n not in expected]
        if extra and options.extra_columns == "raise":
            problems.append(
                f"it has column(s) {extra} the first file lacks (extra_columns='ignore' "
                "leaves them out)")
    for name, dtype in found.items():
        if name not in expected or expected[name] == dtype:
            continue
        if dataset.union:
            if widen(dtype, expected[name]) == expected[name]:
                continue
            msg = (
                f"column {name!r} is {dtype} in {file.path!r}, which does not widen to the "
                f"{expected[name]} its header had when the files were first opened: the "
                "file changed during the read"
            )
            raise SchemaError(msg, "IncompatibleSchemas", file.path)
        hint = (" (union_by_name=True widens it by Avro's promotions)"
                if widen(dtype, expected[name]) is not None else "")
        problems.append(
            f"column {name!r} is {expected[name]} in the first file ({dataset.first!r}) and "
            f"{dtype} here: columns read together keep the first file's type{hint}")
    if problems:
        msg = (
            f"{file.path!r} does not fit the columns of the first file {dataset.first!r} "
            f"(files read together share their columns): {'; '.join(problems)}; "
            "union_by_name=True reads the union of all files' columns"
        )
        raise SchemaError(msg, "IncompatibleSchemas", file.path)


def _partition_column(name: str, value: Any, dtype: pl.DataType) -> pl.Expr:
    """Return the file's partition value (its path's) as a column of a batch's height."""
    return pl.repeat(pl.lit(value, dtype), pl.len()).alias(name)


def with_partitions(read: FileRead, columns: Sequence[str], dataset: Dataset,
                    partitions: dict[str, Any] | None) -> FileRead:
    """Return `read` (of the read's columns bar the partitions) with the partitions'.

    Each partition column is the file's value (from its path) on every row, in its
    place among `columns`.
    """
    if not any(c in dataset.partitions for c in columns):
        return read
    values = partitions or {}
    given = dict(zip([c for c in columns if c not in dataset.partitions],
                     read.select or [], strict=False))
    exprs = [_partition_column(name, values.get(name), dataset.schema[name])
             if name in dataset.partitions else given.get(name, pl.col(name))
             for name in columns]
    return FileRead(read.decode, exprs, read.as_decoded)


def file_read(dataset: Dataset, file: FileColumns, columns: Sequence[str],
              options: ReadOptions, partitions: dict[str, Any] | None = None) -> FileRead:
    """Check a file against the dataset and return how to read `columns` from it.

    Parameters
    ----------
    dataset
        The dataset's columns.
    file
        The file's columns.
    columns
        The read's columns (all in ``dataset.schema``), in output order.
    options
        The read's options (``missing_columns``, ``extra_columns``).
    partitions
        The file's value of each of the dataset's partition columns.

    Returns
    -------
    FileRead
        The file's columns to decode and the select of each of its batches.

    Raises
    ------
    SchemaError
        When the options refuse the file: a missing or extra column, or a type that
        differs from the dataset's (and is not a promotion to it, with union_by_name).
    """
    _check(dataset, file, options)
    values = partitions or {}
    decode = tuple(c for c in columns if c in file.schema and c not in dataset.partitions)
    exprs: list[pl.Expr] = []
    same = len(decode) == len(columns)
    as_decoded = len(decode) == len([c for c in columns if c not in dataset.partitions])
    for name in columns:
        dtype = dataset.schema[name]
        if name in dataset.partitions:
            exprs.append(_partition_column(name, values.get(name), dtype))
        elif name not in file.schema:
            value = dataset.defaults.get(name)
            lit = pl.lit(None, dtype) if value is None else pl.lit(value).cast(dtype)
            # repeat to the batch's height (a lone literal would make one row)
            exprs.append(pl.repeat(lit, pl.len()).alias(name))
        elif file.schema[name] != dtype:
            exprs.append(pl.col(name).cast(dtype))
            same = as_decoded = False
        else:
            exprs.append(pl.col(name))
    return FileRead(decode, None if same else exprs, as_decoded)
