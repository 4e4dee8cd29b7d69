"""Partitioned writes: one folder per value of the partition keys, in the Hive layout.

``write_avro(df, "out", partition_by=["year", "month"])`` writes::

    out/year=2024/month=1/part-00000.avro
    out/year=2024/month=2/part-00000.avro

the layout `scan_avro` (and Hive, Spark, ``pl.scan_parquet``) reads back as columns.
A value is written as Polars renders it as text (``cast(pl.String)``, which
Polars' reading of a Hive path parses back; times with their fraction of a second),
percent-encoded; a null is
``__HIVE_DEFAULT_PARTITION__``, and an empty string is an empty value, which
readers take for a null (as Hive and Polars do).

A partition's rows may come in many frames (a stream): its file stays open until
the end, unless more than `MAX_OPEN_FILES` are open, when the one written least
recently is completed and a later row of its partition starts the next file
(``part-00001.avro``).  A failed write removes every file it completed and
abandons the open ones: nothing it wrote is left.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol
from urllib.parse import quote

import polars as pl

from jetliner.exceptions import ConfigurationError, SchemaError
from jetliner.hive import DEFAULT_PARTITION
from jetliner.sources import local_path

__all__ = ["MAX_OPEN_FILES", "check_partition_keys", "partition_path", "write_partitioned"]

# Most files open at once: each holds blocks being encoded and, on S3, an upload
# buffer of up to 16 MiB.
MAX_OPEN_FILES = 16


class OpenFile(Protocol):
    """A file being written (`jetliner.writing`'s)."""

    def write(self, frame: pl.DataFrame) -> None: ...

    def end(self, ok: bool) -> None: ...


def check_partition_keys(keys: Sequence[str], schema: pl.Schema) -> None:
    """Refuse a key that is not a column, or whose values have no text form in a path.

    Raises
    ------
    SchemaError
        A key missing from the frame, or of a nested or binary type.
    """
    for key in keys:
        if key not in schema:
            msg = f"partition_by names {key!r}, which is not a column of the frame"
            raise SchemaError(msg, schema_context=key)
        dtype = schema[key]
        if dtype.is_nested() or isinstance(dtype, (pl.Binary, pl.Object, pl.Duration)):
            msg = (f"cannot partition by {key!r}: its type {dtype} has no text form for a "
                   f"folder name that reads back as it; partition by a column of numbers, "
                   f"text, booleans, dates or times")
            raise SchemaError(msg, schema_context=key)


def _as_text(key: str, dtype: pl.DataType) -> pl.Expr:
    """Return the values of partition key `key` as the text of their folder names.

    As Polars renders them (``cast(pl.String)``), which its reading of a Hive path
    parses back, but times with their fraction of a second (the cast drops it, and
    two times would share a folder).
    """
    if isinstance(dtype, pl.Time):
        return pl.col(key).dt.to_string("%H:%M:%S%.f")
    return pl.col(key).cast(pl.String)


def partition_path(root: str, keys: Sequence[str], values: Sequence[str | None],
                   part: int) -> str:
    """Return the path of part `part` of the partition whose keys have `values` (text)."""
    folders = [f"{quote(k, safe='')}={DEFAULT_PARTITION if v is None else quote(v, safe='')}"
               for k, v in zip(keys, values, strict=True)]
    name = f"part-{part:05d}.avro"
    if local_path(root) is None:
        return "/".join([root.rstrip("/"), *folders, name])
    return os.path.join(root, *folders, name)


def write_partitioned(frames: Iterable[pl.DataFrame], root: str, keys: Sequence[str],
                      include_key: bool, open_file: Callable[[str], OpenFile],
                      storage_options: dict[str, Any] | None) -> None:
    """Write `frames` under folder `root`, one file per partition (see the module).

    `open_file(path)` starts a file; partition keys are dropped from the rows
    unless `include_key`.
    """
    local = local_path(root)
    if local is not None:
        root = local
        if os.path.exists(root) and not os.path.isdir(root):
            msg = f"partition_by writes a folder of files, but {root!r} is a file"
            raise ConfigurationError(msg)
        os.makedirs(root, exist_ok=True)
    texts = [f"__jetliner_key_{i}" for i in range(len(keys))]
    opened: OrderedDict[tuple[str | None, ...], tuple[OpenFile, str]] = OrderedDict()
    parts: dict[tuple[str | None, ...], int] = {}  # files started per partition
    completed: list[str] = []
    ok = False
    try:
        for frame in frames:
            if not frame.height:
                continue
            labelled = frame.with_columns(
                _as_text(k, frame.schema[k]).alias(t) for k, t in zip(keys, texts, strict=True))
            groups = labelled.partition_by(texts, as_dict=True, maintain_order=True,
                                           include_key=False)
            for values, rows in groups.items():
                value_key: tuple[str | None, ...] = tuple(values)
                if not include_key:
                    rows = rows.drop(keys)
                entry = opened.pop(value_key, None)
                if entry is None:
                    while len(opened) >= MAX_OPEN_FILES:
                        _, (old, old_path) = opened.popitem(last=False)
                        old.end(True)
                        completed.append(old_path)
                    part = parts.get(value_key, 0)
                    parts[value_key] = part + 1
                    path = partition_path(root, keys, value_key, part)
                    if local is not None:
                        os.makedirs(os.path.dirname(path), exist_ok=True)
                    entry = (open_file(path), path)
                opened[value_key] = entry  # most recently written last
                entry[0].write(rows)
        while opened:
            _, (file, path) = opened.popitem(last=False)
            file.end(True)
            completed.append(path)
        ok = True
    finally:
        if not ok:
            for file, _ in opened.values():
                try:
                    file.end(False)
                except Exception:  # noqa: BLE001, S112 - the first error is raised
                    continue
            _remove(completed, storage_options)


def _remove(paths: list[str], storage_options: dict[str, Any] | None) -> None:
    """Remove the files a failed write completed (best effort: the write's error is raised)."""
    for path in paths:
        try:
            local = local_path(path)
            if local is None:
                from jetliner.remote import remove_object

                remove_object(path, storage_options)
            else:
                os.unlink(local)
        except Exception:  # noqa: BLE001, S112 - the write's own error matters
            continue
