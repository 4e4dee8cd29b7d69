"""Writing Avro object container files: `write_avro` and `sink_avro`.

A frame is cut into blocks of about ``block_size`` bytes; each block is encoded by
the compiled encoder (`jetliner._encoder`, straight from the frame's Arrow buffers)
and compressed on the decoding threads, several at once, and the blocks are written
in order.  Nothing is visible at a local destination until the file is complete: it
is written to a temporary name in the same folder, then renamed.  ``mode="append"``
adds blocks to an existing local file instead (see `jetliner.appending`).
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import IO, Any

import polars as pl

from jetliner._encoder import EncodeBuffer, Encoder
from jetliner.appending import open_for_append
from jetliner.avro_schema import Derived, derive_schema
from jetliner.codecs import Buffer, get_compressor
from jetliner.exceptions import (
    ConfigurationError,
    EncodeError,
    RenamedFieldsWarning,
    SchemaError,
)
from jetliner.partitioned import check_partition_keys, write_partitioned
from jetliner.sources import local_path
from jetliner.threads import DECODE_THREADS

__all__ = ["DEFAULT_BLOCK_SIZE", "publish", "sink_avro", "write_avro"]

# Blocks of about 1 MiB of encoded rows: large enough that the per-block work
# (slicing, binding, a task) is small against the encoding, small enough that every
# reader holds a block easily (Java's writer makes them of 64 kB, fastavro of 16 kB).
DEFAULT_BLOCK_SIZE = 1024 * 1024
DEFAULT_CODEC = "snappy"
MAGIC = b"Obj\x01"
MODES = ("write", "append")

def _long(n: int) -> bytes:
    """Avro's zig-zag varint of `n`."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _header(schema: dict[str, Any], codec: str, metadata: dict[str, str | bytes] | None,
            sync: bytes) -> bytes:
    entries: dict[str, bytes] = {"avro.schema": json.dumps(schema).encode(),
                                 "avro.codec": codec.encode()}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or key.startswith("avro."):
            msg = (f"metadata keys must be strings not starting with 'avro.' (reserved "
                   f"by the format), got {key!r}")
            raise ConfigurationError(msg)
        if isinstance(value, str):
            value = value.encode()
        if not isinstance(value, (bytes, bytearray)):
            msg = f"metadata values must be str or bytes, got {type(value).__name__} for {key!r}"
            raise ConfigurationError(msg)
        entries[key] = bytes(value)
    out = bytearray(MAGIC)
    out += _long(len(entries))
    for key, value in entries.items():
        k = key.encode()
        out += _long(len(k)) + k + _long(len(value)) + value
    out += b"\x00" + sync
    return bytes(out)


class _Scratch:
    """The memory one block in flight is encoded and compressed into.

    Reused by later blocks once it is written: fresh megabyte buffers per block
    cost a page fault per page.
    """

    __slots__ = ("compressed", "encoded")

    def __init__(self) -> None:
        self.encoded = EncodeBuffer()
        self.compressed = bytearray()


class _BlockWriter:
    """Encodes frames into blocks on the decoding threads and writes them in order.

    `copy`: hand `out` copies of the blocks (a file object of the user's may keep
    what it is given; jetliner's own outputs copy it as they write).
    """

    def __init__(self, out: IO[bytes], derived: Derived, schema: pl.Schema,
                 compress: Callable[[Buffer, bytearray], Buffer], sync: bytes,
                 block_size: int, dest: str,
                 conform: Callable[[pl.DataFrame, int], pl.DataFrame] | None = None,
                 copy: bool = False) -> None:
        self.out = out
        self.conform = conform
        self.derived = derived
        self.schema = schema
        self.compress = compress
        self.sync = sync
        self.block_size = block_size
        self.dest = dest
        self.copy = copy
        self.rows = 0  # rows written before the frame being written
        self.pending: deque[Future[tuple[int, Buffer, _Scratch]]] = deque()
        self.free: list[_Scratch] = []
        self.limit = 2 * (os.cpu_count() or 2)
        self.hint = block_size  # the encoded size of a block, learnt from the last one

    def _encode(self, frame: pl.DataFrame, base: int,
                scratch: _Scratch) -> tuple[int, Buffer, _Scratch]:
        try:
            encoder = Encoder(self.derived.plan, self.derived.kids, frame)
        except ValueError as exc:
            raise SchemaError(f"cannot write the frame: {exc}", path=self.dest) from None
        try:
            size = encoder.encode(size_hint=self.hint, into=scratch.encoded)
        except ValueError as exc:
            message, column, row = exc.args
            raise EncodeError(message, path=self.dest, column=column,
                              row=base + row) from None
        self.hint = max(self.hint, size)
        encoded = memoryview(scratch.encoded)
        data = self.compress(encoded, scratch.compressed)
        if data is not encoded:
            encoded.release()
        return encoder.rows, data, scratch

    def _drain(self, keep: int) -> None:
        while len(self.pending) > keep:
            count, data, scratch = self.pending.popleft().result()
            self.out.write(_long(count) + _long(len(data)))
            self.out.write(bytes(data) if self.copy else data)
            self.out.write(self.sync)
            if isinstance(data, memoryview):
                data.release()
            del data
            self.free.append(scratch)

    def write(self, frame: pl.DataFrame) -> None:
        if frame.schema != self.schema:
            msg = (f"every frame written to one file needs the first frame's schema "
                   f"{dict(self.schema)}; got {dict(frame.schema)}")
            raise SchemaError(msg, path=self.dest)
        if frame.height == 0:
            return
        if self.conform is not None:
            frame = self.conform(frame, self.rows)
        frame = frame.rechunk()
        per_row = max(1, int(frame.estimated_size()) // frame.height)
        step = max(1, self.block_size // per_row)
        pool = DECODE_THREADS.get()
        for start in range(0, frame.height, step):
            piece = frame.slice(start, step)
            scratch = self.free.pop() if self.free else _Scratch()
            self.pending.append(pool.submit(self._encode, piece, self.rows + start, scratch))
            self._drain(self.limit)
        self.rows += frame.height

    def finish(self) -> None:
        self._drain(0)

    def cancel(self) -> None:
        for f in self.pending:
            f.cancel()
        for f in self.pending:
            if not f.cancelled():
                try:
                    f.result()
                except BaseException:  # noqa: BLE001, S110 - the first error is raised
                    pass
        self.pending.clear()


def _frames(df: Any) -> Iterator[pl.DataFrame]:
    if isinstance(df, pl.DataFrame):
        yield df
        return
    if isinstance(df, pl.LazyFrame):
        msg = "write_avro takes DataFrames; write a LazyFrame with jetliner.sink_avro"
        raise ConfigurationError(msg)
    if isinstance(df, (str, bytes)) or not isinstance(df, Iterable):
        msg = f"write_avro takes a DataFrame or an iterable of them, got {type(df).__name__}"
        raise ConfigurationError(msg)
    for item in df:
        if not isinstance(item, pl.DataFrame):
            msg = f"write_avro takes an iterable of DataFrames; it gave a {type(item).__name__}"
            raise ConfigurationError(msg)
        yield item


def _open_local(path: str) -> tuple[IO[bytes], Callable[[bool], None]]:
    """Open a temporary file beside `path`; return it and a function that ends it.

    The function renames the file to `path` (True) or removes it (False); a renamed
    file gets the mode ``open(path, "wb")`` would give.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=folder)
    f = os.fdopen(fd, "wb")

    def done(ok: bool) -> None:
        f.close()
        if not ok:
            os.unlink(tmp)
            return
        publish(tmp, path)

    return f, done


def publish(tmp: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """Rename the finished temporary file `tmp` to `path`.

    It gets the mode a plain ``open(path, "wb")`` would have given it (``mkstemp``
    makes files 0600).
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def _given_schema(schema: Any, frame: pl.Schema, storage_options: dict[str, Any] | None,
                  dest: str) -> tuple[Derived, Callable[[pl.DataFrame, int], pl.DataFrame]]:
    """Return the plan writing `frame`'s columns as `schema`, and the conforming step.

    The step selects each frame's columns in the schema's order and casts them to
    the types the schema reads as, exactly: a value that would change is an error.
    """
    from jetliner.avro_schema import plan_for_schema
    from jetliner.resolution import load_reader_schema

    if not isinstance(schema, (dict, str, os.PathLike)):
        msg = (f"schema must be a dict, JSON text, or the path or URL of an .avsc file, "
               f"got {type(schema).__name__}")
        raise ConfigurationError(msg)
    loaded = load_reader_schema(schema, storage_options)
    derived = plan_for_schema(loaded.root, json.loads(loaded.text), frame)
    target = loaded.schema
    names = list(target)

    def conform(df: pl.DataFrame, base: int) -> pl.DataFrame:
        cast = [n for n in names if df.schema[n] != target[n]
                and not isinstance(df.schema[n], pl.Null)]
        try:
            out = df.select([pl.col(n).cast(target[n]) if n in cast else pl.col(n)
                             for n in names])
        except pl.exceptions.PolarsError as exc:
            bad = next((n for n in cast if _fails(df[n], target[n])), None)
            raise EncodeError(f"the column's values do not fit the schema's type "
                              f"{target[bad] if bad else '?'}: "
                              f"{str(exc).splitlines()[0]}", path=dest, column=bad) from None
        for n in cast:
            if df.schema[n].is_float():
                continue  # float widening is exact
            back = out[n].cast(df.schema[n], strict=False)
            differs = (~back.eq_missing(df[n])).arg_true()
            if len(differs):
                row = int(differs[0])
                raise EncodeError(
                    f"the value {df[n][row]!r} changes when written as {target[n]} (the "
                    f"schema's type): it would be {out[n][row]!r}", path=dest, column=n,
                    row=base + row)
        return out

    return derived, conform


def _fails(column: pl.Series, dtype: Any) -> bool:
    try:
        column.cast(dtype)
    except pl.exceptions.PolarsError:
        return True
    return False


def _destination(dest: Any, mode: str) -> str | None:
    """Return the path or URL `dest` names (None for a file object); check `mode`."""
    if not isinstance(mode, str) or mode not in MODES:
        msg = f"mode must be 'write' or 'append', got {mode!r}"
        raise ConfigurationError(msg)
    if isinstance(dest, (str, os.PathLike)):
        path = os.fspath(dest)
        if mode == "append" and local_path(path) is None:
            msg = (f"mode='append' takes a local path, got the URL {path!r}; appending "
                   f"to objects in a store is not built yet: write a new object "
                   f"(mode='write') or append to a local file")
            raise ConfigurationError(msg)
        return path
    if not hasattr(dest, "write"):
        msg = f"dest must be a path or a binary file object, got {type(dest).__name__}"
        raise ConfigurationError(msg)
    if mode == "append":
        msg = ("mode='append' takes a local path; a file object cannot be appended to "
               "(its header cannot be read back): pass the file's path")
        raise ConfigurationError(msg)
    return None


@dataclass(frozen=True)
class _Format:
    """What every file of one write shares: the plan, the codec, the header's metadata."""

    derived: Derived
    schema: pl.Schema  # of the frames handed to the files
    conform: Callable[[pl.DataFrame, int], pl.DataFrame] | None
    codec: str
    compression_level: int | None
    metadata: dict[str, str | bytes] | None
    block_size: int


class _File:
    """One container file being written: header, blocks, and its ending."""

    def __init__(self, out: IO[bytes], done: Callable[[bool], None], name: str, fmt: _Format,
                 compress: Callable[[Buffer, bytearray], Buffer], sync: bytes, header: bytes,
                 theirs: bool = False) -> None:
        self.done = done
        self.name = name
        self.writer = _BlockWriter(out, fmt.derived, fmt.schema, compress, sync,
                                   fmt.block_size, name, fmt.conform, copy=theirs)
        self.ended = False
        try:
            out.write(header)
        except BaseException:
            self.end(False)
            raise

    @classmethod
    def new(cls, dest: Any, path: str | None, fmt: _Format,
            storage_options: dict[str, Any] | None) -> _File:
        """Start a new file at `path` (a local path or a URL), or on file object `dest`."""
        compress = get_compressor(fmt.codec, fmt.compression_level)
        sync = os.urandom(16)
        header = _header(fmt.derived.avro, fmt.codec, fmt.metadata, sync)
        local = None if path is None else local_path(path)
        if path is None:
            out, done = dest, (lambda ok: None)
        elif local is None:
            from jetliner.remote import open_for_writing

            out, done = open_for_writing(path, storage_options)
        else:
            out, done = _open_local(local)
        name = path if path is not None else getattr(dest, "name", "<file object>")
        return cls(out, done, str(name), fmt, compress, sync, header, theirs=path is None)

    def write(self, frame: pl.DataFrame) -> None:
        self.writer.write(frame)

    def end(self, ok: bool) -> None:
        """Complete the file (`ok`: its last blocks written, then published) or abandon it."""
        if self.ended:
            return
        self.ended = True
        try:
            if ok:
                self.writer.finish()
        except BaseException:
            ok = False
            raise
        finally:
            if not ok:
                self.writer.cancel()
            self.done(ok)


def _write(frames: Iterator[pl.DataFrame], dest: Any, *, codec: str | None,
           compression_level: int | None, block_size: int,
           metadata: dict[str, str | bytes] | None, record_name: str,
           namespace: str | None, storage_options: dict[str, Any] | None,
           schema: Any = None, mode: str = "write",
           partition_by: str | Sequence[str] | None = None, include_key: bool = True) -> None:
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        msg = f"block_size must be a positive number of bytes, got {block_size!r}"
        raise ConfigurationError(msg)
    path = _destination(dest, mode)
    keys = _partition_columns(partition_by, path, mode)
    if mode == "write" or codec is not None:
        get_compressor(codec or DEFAULT_CODEC, compression_level)  # options checked first
    first = next(frames, None)
    if first is None:
        msg = "nothing to write: the iterable gave no DataFrame (its schema is unknown)"
        raise ConfigurationError(msg)
    written = first.schema
    if keys:
        check_partition_keys(keys, first.schema)
        if not include_key:
            written = pl.Schema({k: v for k, v in first.schema.items() if k not in keys})
            if not written:
                msg = (f"include_key=False with every column a partition key "
                       f"({', '.join(keys)}) leaves the files no column to hold")
                raise ConfigurationError(msg)
    conform = None
    if schema is not None:
        derived, conform = _given_schema(schema, written, storage_options, str(dest))
    else:
        derived = derive_schema(written, record_name, namespace)
    if derived.renamed:
        listed = ", ".join(f"{k!r} -> {v!r}" for k, v in derived.renamed.items())
        warnings.warn(RenamedFieldsWarning(
            f"names that are not valid Avro names were written sanitised: {listed}",
            derived.renamed), stacklevel=3)
    fmt = _Format(derived, written, conform, codec or DEFAULT_CODEC, compression_level,
                  metadata, block_size)
    if keys:
        assert path is not None
        write_partitioned(itertools.chain([first], frames), path, keys, include_key,
                          lambda at: _File.new(None, at, fmt, storage_options),
                          storage_options)
        return
    if mode == "append" and path is not None:
        file = _appending(local_path(path) or path, fmt, codec, compression_level, metadata)
    else:
        file = _File.new(dest, path, fmt, storage_options)
    ok = False
    try:
        file.write(first)
        for frame in frames:
            file.write(frame)
        ok = True
    finally:
        file.end(ok)


def _appending(path: str, fmt: _Format, codec: str | None, compression_level: int | None,
               metadata: dict[str, str | bytes] | None) -> _File:
    """Open the local Avro file at `path` to add blocks (a new file if missing or empty)."""
    appender = open_for_append(path, fmt.derived.avro, codec, metadata)
    if appender is None:
        return _File.new(None, path, fmt, None)
    try:
        compress = get_compressor(appender.codec, compression_level)
    except BaseException:
        appender.done(False)
        raise
    return _File(appender.out, appender.done, path, fmt, compress, appender.sync, b"")


def _partition_columns(partition_by: str | Sequence[str] | None, path: str | None,
                       mode: str) -> list[str]:
    """Return the partition keys asked for (none: one file), checked against `path`."""
    if partition_by is None:
        return []
    keys = [partition_by] if isinstance(partition_by, str) else partition_by
    if (not isinstance(keys, Sequence) or not keys
            or not all(isinstance(k, str) for k in keys) or len(set(keys)) != len(keys)):
        msg = (f"partition_by must be a column name or a list of distinct column names, "
               f"got {partition_by!r}")
        raise ConfigurationError(msg)
    if path is None:
        msg = ("partition_by writes a folder of files: dest must be a folder's path or "
               "URL, not a file object")
        raise ConfigurationError(msg)
    if mode == "append":
        msg = ("partition_by writes new files (mode='write'); appending to a partitioned "
               "folder is not built yet")
        raise ConfigurationError(msg)
    return list(keys)


def write_avro(
    df: pl.DataFrame | Iterable[pl.DataFrame],
    dest: str | os.PathLike[str] | IO[bytes],
    *,
    mode: str = "write",
    codec: str | None = None,
    compression_level: int | None = None,
    schema: Any = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    metadata: dict[str, str | bytes] | None = None,
    record_name: str = "Record",
    namespace: str | None = None,
    storage_options: dict[str, Any] | None = None,
    partition_by: str | Sequence[str] | None = None,
    include_key: bool = True,
) -> None:
    """Write a DataFrame (or several of one schema, in order) as an Avro file.

    Parameters
    ----------
    df
        A DataFrame, or an iterable of DataFrames of one schema, written as they come.
    dest
        A local path, a URL (``s3://``, any fsspec store), or a binary file object.
        A path is written to a temporary file in the same folder and renamed once
        complete; on S3 the object is a multipart upload completed at the end.  A
        failed write leaves nothing (an S3 upload is aborted).
    mode
        ``"write"`` (default) writes a new file, replacing any file at `dest`.
        ``"append"`` adds the rows to the existing Avro file at the local path
        `dest`, keeping its header (schema, codec, sync marker); the Avro schema
        written (derived from the frame, or `schema`) must equal the file's.  A
        missing or empty file is written as new.  An append that fails truncates
        the file back to its former size.
    codec
        Block codec: ``"snappy"`` (the default of a new file), ``"deflate"``,
        ``"zstandard"``, ``"bzip2"``, ``"xz"`` or ``"null"``.  When appending, the
        file's codec is used; a different codec is a `ConfigurationError`.
    schema
        The Avro schema to write (a record: a dict, JSON text, or the path or URL of
        an ``.avsc``); None derives it from the frame's Polars schema.  Columns are
        matched to its fields by name (every field needs a column, every column a
        field), cast to the field's type where the types differ (an integer to a
        long or a double, a string to an enum, ...); a value that would change is an
        `EncodeError`, a type the field cannot hold a `SchemaError`, naming the
        column and both types.  `record_name` and `namespace` are then the schema's.
    compression_level
        The codec's level (deflate 0-9, zstandard -22 to 22, bzip2 1-9, xz 0-9);
        None for the codec's default.  When appending, it applies to the file's codec.
    block_size
        About how many bytes of encoded rows each block holds.
    metadata
        User metadata for the header (keys must not start with ``avro.``).  When
        appending, the file's header is kept: a value that differs from the file's
        is a `ConfigurationError`.
    record_name, namespace
        The name and namespace of the top-level record.
    storage_options
        Options of the store a URL names (the keys reads take, see the storage
        options reference).
    partition_by
        Columns to partition by: `dest` is then a folder, and the rows of each
        combination of their values go to ``dest/key=value/.../part-00000.avro``
        (the Hive layout, which `scan_avro` reads back as columns).  Values are
        written as Polars renders them as text (times with their fraction of a
        second), percent-encoded; a null as
        ``__HIVE_DEFAULT_PARTITION__``.  At most 16 files are open at once: past
        that, the least recently written one is completed, and later rows of its
        partition go to ``part-00001.avro``.  Files of the same names are replaced;
        other files in the folder are left alone.  A failed write removes the
        files it completed.
    include_key
        With `partition_by`: keep the partition columns in the files too (the
        default, as Polars' partitioned writes do: read back, a column keeps its
        exact type).  False leaves them in the folder names only, as Hive tables
        expect.

    Raises
    ------
    SchemaError
        A column of a type no Avro type holds (nothing is written); when appending,
        an Avro schema that differs from the file's (the file is untouched); a
        partition key that is not a column, or is nested, binary or a duration.
    EncodeError
        A value its Avro type cannot hold (an unsigned integer beyond the long range,
        a time with a nanosecond part); the destination is left as it was.
    ConfigurationError
        An invalid option; ``mode="append"`` with a file object or a URL, or with
        `partition_by`; `partition_by` with a file object.
    ParseError
        When appending, a file that is not Avro, or that ends in a partial block.

    Examples
    --------
    >>> import io, polars as pl, jetliner
    >>> buf = io.BytesIO()
    >>> jetliner.write_avro(pl.DataFrame({"id": [1, 2]}), buf, codec="deflate")
    >>> jetliner.read_avro(buf.getvalue())["id"].to_list()
    [1, 2]
    """
    _write(_frames(df), dest, codec=codec, compression_level=compression_level,
           block_size=block_size, metadata=metadata, record_name=record_name,
           namespace=namespace, storage_options=storage_options, schema=schema,
           mode=mode, partition_by=partition_by, include_key=include_key)


def sink_avro(
    lf: pl.LazyFrame,
    dest: str | os.PathLike[str] | IO[bytes],
    *,
    mode: str = "write",
    codec: str | None = None,
    compression_level: int | None = None,
    schema: Any = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    metadata: dict[str, str | bytes] | None = None,
    record_name: str = "Record",
    namespace: str | None = None,
    storage_options: dict[str, Any] | None = None,
    partition_by: str | Sequence[str] | None = None,
    include_key: bool = True,
) -> None:
    """Write a LazyFrame as an Avro file as it streams, in bounded memory.

    The query runs on Polars' streaming engine; its batches are written as they
    come.  Parameters as in `write_avro` (``mode="append"`` and `partition_by`
    included).
    """
    if not isinstance(lf, pl.LazyFrame):
        msg = f"sink_avro takes a LazyFrame, got {type(lf).__name__}; use write_avro"
        raise ConfigurationError(msg)
    columns = lf.collect_schema()
    batches = lf.collect_batches(engine="streaming")

    def frames() -> Iterator[pl.DataFrame]:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            yield pl.DataFrame(schema=columns)

    _write(frames(), dest, codec=codec, compression_level=compression_level,
           block_size=block_size, metadata=metadata, record_name=record_name,
           namespace=namespace, storage_options=storage_options, schema=schema,
           mode=mode, partition_by=partition_by, include_key=include_key)

