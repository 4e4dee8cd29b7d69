"""Readers: open files, decode their blocks in batches, and add the extra columns.

`AvroReader` reads one source, `MultiAvroReader` several in order; both iterate
DataFrames of at most ``batch_size`` rows and are context managers.  The row index
and the file-path column are continuous across files, and ``n_rows`` stops the
read as soon as it is satisfied: no block after the one completing it is fetched.
"""

from __future__ import annotations

import bisect
import json
import os
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from jetliner._decoder import DecodeFailure, Decoder
from jetliner._plan import DECODE_ERROR_MESSAGES
from jetliner.codecs import get_codec
from jetliner.container import Block, Header, iter_blocks, read_header
from jetliner.exceptions import (
    BadBlockError,
    CodecError,
    ConfigurationError,
    DecodeError,
    JetlinerError,
    SchemaError,
)
from jetliner.frames import FrameBuilder
from jetliner.options import ReadOptions
from jetliner.progress import Progress
from jetliner.schema import AvroType, Plan, parse_schema_text, plan_for
from jetliner.sources import BytesSource, LocalSource, Source, resolve_sources
from jetliner.splits import SplitSource
from jetliner.stream import DEFAULT_LOCAL_CHUNK, DEFAULT_REMOTE_CHUNK, ByteStream

__all__ = ["AvroReader", "FileInfo", "MultiAvroReader", "open_file"]



@dataclass
class FileInfo:
    """An opened file: its header, parsed schema and byte stream."""

    source: Source
    stream: ByteStream
    header: Header
    schema: AvroType
    # records beyond one per byte seen so far: records that take no bytes
    empty_records: int = 0
    # file offset up to which blocks have been handed to the consumer (progress)
    consumed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def path(self) -> str:
        """The path or URL errors name."""
        return self.source.path

    @property
    def span(self) -> tuple[int, int | None]:
        """The byte range whose blocks are read: a split's, or the whole file."""
        if isinstance(self.source, SplitSource):
            return self.source.split.start, self.source.split.end
        return 0, None


def open_file(source: Source, options: ReadOptions) -> FileInfo:
    """Open `source`, read and check its header; typed errors on any problem."""
    file = source.open()
    stream: ByteStream | None = None
    try:
        chunk = options.read_chunk_size or (
            DEFAULT_REMOTE_CHUNK if source.is_remote else DEFAULT_LOCAL_CHUNK
        )
        # prefetch is for remote objects: local reads are served from the page cache
        ahead = source.is_remote
        stream = ByteStream(file, chunk, prefetch_ranges=options.buffer_blocks if ahead else 0,
                            prefetch_bytes=options.buffer_bytes if ahead else 0)
        header = read_header(stream, source.path)
        get_codec(header.codec, source.path)
        try:
            schema = parse_schema_text(header.schema_json)
        except SchemaError as exc:
            raise SchemaError(exc.message, path=source.path) from exc
        if isinstance(source, SplitSource):
            stream.prefetch_stop = source.split.end
        return FileInfo(source, stream, header, schema)
    except BaseException:
        if stream is not None:
            stream.close()  # stops prefetching too
        else:
            file.close()
        raise


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


_POOL_PID = 0


def _pool() -> ThreadPoolExecutor:
    """Return the shared decoding threads: one per core (decoding runs without the GIL).

    Made anew in a forked child, which inherits the pool but none of its threads.
    """
    global _POOL, _POOL_PID
    with _POOL_LOCK:
        if _POOL is None or _POOL_PID != os.getpid():
            _POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 2,
                                       thread_name_prefix="jetliner-decode")
            _POOL_PID = os.getpid()
        return _POOL


@dataclass
class _Task:
    """Whole blocks to decode together, and how many rows of each to keep."""

    blocks: list[tuple[Block, int]]
    rows: int
    nbytes: int
    end: int = 0  # file offset just past the last block


def _decode_task(info: FileInfo, plan: Plan, frames: FrameBuilder, options: ReadOptions,
                 task: _Task) -> tuple[list[tuple[pl.DataFrame, int]], list[BadBlockError]]:
    """Decompress and decode one task's blocks (runs on a pool thread).

    In skip mode a damaged block costs only its damaged part: the task is decoded
    again, keeping the records before the damage (never a half-decoded row) and
    dropping the rest of that block, and the loss is reported.
    """
    blocks = list(task.blocks)
    skipped: list[BadBlockError] = []
    while True:
        try:
            return _decode_blocks(info, plan, frames, options, blocks), skipped
        except (CodecError, DecodeError) as exc:
            if not options.ignore_errors or exc.block_index is None:
                raise
            i = next(i for i, (b, _) in enumerate(blocks) if b.index == exc.block_index)
            block, keep = blocks[i]
            good = exc.record_index if isinstance(exc, DecodeError) and exc.record_index else 0
            good = min(good, keep)
            kind = "codec" if isinstance(exc, CodecError) else "decode"
            skipped.append(BadBlockError(
                f"{exc.message}; kept {good} of the block's {block.count} records",
                kind=kind, records_lost=keep - good, path=info.path,
                block_index=block.index, record_index=exc.record_index, offset=exc.offset))
            blocks[i] = (block, -good - 1)  # keep `good` records, skip the checks


_DECODERS = threading.local()


def _decoder(plan: Plan, options: ReadOptions) -> Decoder:
    """Return this thread's decoder for `plan` (made on first use).

    A decoder is reused from batch to batch: each batch then starts with the
    buffer sizes the previous one needed, instead of growing its buffers from
    scratch (and the plan is loaded once per thread, not once per batch).
    """
    cache: dict[tuple[int, int, int, str], tuple[Plan, Decoder]] | None = getattr(
        _DECODERS, "cache", None)
    if cache is None:
        cache = _DECODERS.cache = {}
    key = (id(plan), options.max_nesting_depth, options.max_zero_byte_values,
           options.invalid_utf8)
    hit = cache.pop(key, None)
    if hit is not None and hit[0] is plan:
        cache[key] = hit  # most recently used last
        decoder = hit[1]
        # a failed batch may have left rows, or part of a record, behind
        decoder.discard()
        return decoder
    decoder = Decoder(plan.nodes, plan.kids, plan.kid_names, plan.cols, plan.strings, plan.root,
                      max_depth=options.max_nesting_depth,
                      zero_byte_budget=options.max_zero_byte_values,
                      utf8_replace=options.invalid_utf8 == "replace")
    if len(cache) >= 8:
        cache.pop(next(iter(cache)))  # the least recently used
    cache[key] = (plan, decoder)
    return decoder


def _decode_blocks(info: FileInfo, plan: Plan, frames: FrameBuilder, options: ReadOptions,
                   blocks: list[tuple[Block, int]]) -> list[tuple[pl.DataFrame, int]]:
    """Decode `blocks`; a negative keep ``-n - 1`` keeps n records of a damaged block."""
    decoder = _decoder(plan, options)
    try:
        return _decode_with(decoder, info, plan, frames, options, blocks)
    except BaseException:
        decoder.discard()  # the thread keeps its decoder: free the failed batch now
        raise


def _decode_with(decoder: Decoder, info: FileInfo, plan: Plan, frames: FrameBuilder,
                 options: ReadOptions,
                 blocks: list[tuple[Block, int]]) -> list[tuple[pl.DataFrame, int]]:
    codec = get_codec(info.header.codec, info.path)
    batch_size = options.batch_size
    out: list[tuple[pl.DataFrame, int]] = []

    def flush() -> None:
        rows = decoder.rows
        out.append((frames.build(decoder.finish(plan.export), rows), rows))

    for block, keep in blocks:
        damaged = keep < 0
        if damaged:
            keep = -keep - 1
            if keep == 0:
                continue
        try:
            data = codec(block.data, options.max_block_size)
        except CodecError as exc:
            raise CodecError(exc.message, path=info.path, block_index=block.index,
                             offset=block.offset) from exc
        if not damaged and block.count > len(data):
            # more records than bytes: some take no bytes (empty records, nulls); a
            # file may claim only so many, or a tiny file could yield billions of rows
            with info.lock:
                info.empty_records += block.count - len(data)
                over = info.empty_records > options.max_empty_records
            if over:
                msg = (
                    f"the file claims more than {options.max_empty_records} records that take "
                    "no bytes (empty records or nulls): a hostile or degenerate file; raise "
                    "max_empty_records if the data is legitimate"
                )
                raise DecodeError(msg, path=info.path, block_index=block.index,
                                  offset=block.offset)
        if not damaged:
            try:
                decoder.check_block(block.count, len(data))
            except DecodeFailure as f:
                msg = (
                    f"block {block.index} claims {block.count} records, more than its "
                    f"{len(data)} bytes can hold: {DECODE_ERROR_MESSAGES[f.code]}"
                )
                raise DecodeError(msg, path=info.path, block_index=block.index,
                                  record_index=0, offset=block.offset) from None
        offset = 0
        done = 0
        while done < keep:
            take = min(keep - done, batch_size - decoder.rows)
            try:
                offset = decoder.decode(data, offset, take)
            except DecodeFailure as f:
                msg = DECODE_ERROR_MESSAGES.get(f.code, f"decoder error {f.code}")
                raise DecodeError(msg, path=info.path, block_index=block.index,
                                  record_index=done + f.record, offset=f.offset) from None
            done += take
            if decoder.rows >= batch_size:
                flush()
        if not damaged and keep == block.count and offset != len(data):
            msg = (
                f"the block holds {len(data) - offset} bytes after its {block.count} "
                "records: its record count or data is corrupt"
            )
            raise DecodeError(msg, path=info.path, block_index=block.index,
                              record_index=block.count, offset=offset)
    if decoder.rows:
        flush()
    return out


def _decode_file(info: FileInfo, plan: Plan, frames: FrameBuilder, options: ReadOptions,
                 limit: int | None,
                 skipped: list[BadBlockError]) -> Iterator[tuple[pl.DataFrame, int]]:
    """Yield ``(frame, rows)`` for one file, at most `limit` rows in all.

    Blocks are framed here, grouped into tasks of whole blocks holding at most
    ``batch_size`` rows, and decoded on the shared pool, in order.  At most
    ``buffer_blocks`` tasks and ``buffer_bytes`` compressed bytes are in flight;
    no block is read once `limit` rows are dispatched.  In skip mode, what was
    skipped is appended to `skipped`, in file order.
    """
    pool = _pool()
    pending: deque[Future[tuple[list[tuple[pl.DataFrame, int]], list[BadBlockError]]]] = deque()
    inflight_bytes = 0
    batch_size = options.batch_size
    # A task (one output batch) also ends at this many compressed bytes, so that
    # several fit in buffer_bytes and wide rows still decode in parallel.
    task_bytes = max(1 << 20, options.buffer_bytes // (2 * options.buffer_blocks))
    task = _Task([], 0, 0)
    dispatched = 0

    sizes: deque[tuple[int, int]] = deque()  # compressed bytes and end of each pending task

    def submit(t: _Task) -> None:
        nonlocal inflight_bytes
        pending.append(pool.submit(_decode_task, info, plan, frames, options, t))
        inflight_bytes += t.nbytes
        sizes.append((t.nbytes, t.end))

    framing_error: JetlinerError | None = None
    framing_skips: list[BadBlockError] = []
    start, end = info.span
    blocks = iter_blocks(info.stream, info.header, info.path,
                         framing_skips if options.ignore_errors else None, start=start, end=end)

    def collect() -> Iterator[tuple[pl.DataFrame, int]]:
        nonlocal inflight_bytes
        nbytes, end = sizes.popleft()
        inflight_bytes -= nbytes
        results, task_skips = pending.popleft().result()
        _merge(skipped, task_skips)
        info.consumed = end
        yield from results

    try:
        while limit is None or dispatched < limit:  # no block is framed past the limit
            try:
                block = next(blocks)
            except StopIteration:
                break
            except JetlinerError as exc:
                # blocks before the damage come first: decode them, then raise
                framing_error = exc
                break
            keep = block.count if limit is None else min(block.count, limit - dispatched)
            if task.blocks and task.rows + keep > batch_size:
                submit(task)
                task = _Task([], 0, 0)
            task.blocks.append((block, keep))
            task.rows += keep
            task.nbytes += len(block.data)
            task.end = block.end
            dispatched += keep
            if task.rows >= batch_size or task.nbytes >= task_bytes:
                submit(task)
                task = _Task([], 0, 0)
            _merge(skipped, framing_skips)
            framing_skips.clear()
            while pending and (len(pending) >= options.buffer_blocks
                               or inflight_bytes > options.buffer_bytes):
                yield from collect()
        if task.blocks:
            if not pending:
                # a lone last task (a small file, head()): decode it here, sparing
                # the round trip through the pool
                results, task_skips = _decode_task(info, plan, frames, options, task)
                _merge(skipped, task_skips)
                info.consumed = task.end
                yield from results
            else:
                submit(task)
        while pending:
            yield from collect()
        _merge(skipped, framing_skips)
        if framing_error is not None:
            raise framing_error
    finally:
        for f in pending:
            f.cancel()


def _merge(into: list[BadBlockError], new: list[BadBlockError]) -> None:
    """Add skips to a file's list, keeping it in block order."""
    for e in new:
        bisect.insort(into, e, key=lambda x: (x.block_index or 0, x.offset or 0))


def _index_type() -> pl.DataType:
    """Return Polars' row-index type (UInt32, or UInt64 in the big-index build)."""
    dtype = pl.get_index_type()
    return dtype() if isinstance(dtype, type) else dtype


def _known_size(source: Source) -> int | None:
    """Return the size of a source if known without a request (local files, bytes)."""
    if isinstance(source, LocalSource):
        try:
            return os.path.getsize(source.path)
        except OSError:
            return None
    if isinstance(source, BytesSource):
        return memoryview(source.data).nbytes
    return None


def _schema_difference(a: pl.Schema, b: pl.Schema) -> str:
    only_a = [n for n in a if n not in b]
    only_b = [n for n in b if n not in a]
    parts = []
    if only_a:
        parts.append(f"columns only in the first: {only_a}")
    if only_b:
        parts.append(f"columns only in the second: {only_b}")
    for n in a:
        if n in b and a[n] != b[n]:
            parts.append(f"column {n!r} is {a[n]} in the first and {b[n]} in the second")
    return "; ".join(parts)


class MultiAvroReader:
    """Iterate DataFrame batches over several Avro files, in order.

    Parameters
    ----------
    sources
        Paths, globs, URLs, file objects, or a list of them.
    columns
        Names of the columns to decode, in output order (``None``: all).
    **options
        The reading options (`jetliner.options.ReadOptions`).

    Examples
    --------
    >>> with jetliner.MultiAvroReader(["a.avro", "b.avro"]) as reader:  # doctest: +SKIP
    ...     for batch in reader:
    ...         print(batch.height)
    """

    def __init__(self, sources: Any, *, columns: list[str] | None = None, **options: Any) -> None:
        self._options = ReadOptions.from_kwargs(options)
        opts = self._options
        self._sources = resolve_sources(sources, glob=opts.glob,
                                        storage_options=opts.storage_options)
        self._columns = columns
        self._first = open_file(self._sources[0], opts)
        self._plan = self._compile(self._first)
        self._frames = FrameBuilder(self._plan.schema)
        self._file_schema = plan_for(self._first.header.schema_json, None).schema
        self._rows_read = 0
        self._finished = False
        self._errors_by_file: list[list[BadBlockError]] = []
        self._iter: Iterator[pl.DataFrame] | None = None
        self._current: FileInfo | None = self._first
        self._progress: Progress | None = None
        self._sizes: list[int | None] = []  # of each source, for progress

    # -- public properties

    @property
    def schema(self) -> str:
        """The writer schema of the (first) file, as Avro JSON text."""
        return self._first.header.schema_json

    @property
    def schema_dict(self) -> Any:
        """The writer schema of the (first) file, as decoded JSON."""
        return json.loads(self._first.header.schema_json)

    @property
    def polars_schema(self) -> pl.Schema:
        """The schema of the DataFrames this reader yields."""
        schema: dict[str, pl.DataType] = dict(self._plan.schema)
        opts = self._options
        if opts.row_index_name is not None:
            schema = {opts.row_index_name: _index_type(), **schema}
        if opts.include_file_paths is not None:
            schema[opts.include_file_paths] = pl.String()
        return pl.Schema(schema)

    @property
    def rows_read(self) -> int:
        """Rows yielded so far."""
        return self._rows_read

    @property
    def is_finished(self) -> bool:
        """True once every row has been yielded (or ``n_rows`` was reached)."""
        return self._finished

    @property
    def batch_size(self) -> int:
        """Maximum rows per yielded DataFrame."""
        return self._options.batch_size

    @property
    def errors(self) -> list[BadBlockError]:
        """What ``ignore_errors=True`` skipped so far, in file order (empty in strict mode)."""
        return [e for errors in self._errors_by_file for e in errors]

    @property
    def error_count(self) -> int:
        """Number of skipped problems."""
        return sum(len(errors) for errors in self._errors_by_file)

    @property
    def sources(self) -> list[str]:
        """The resolved paths or URLs, in reading order."""
        return [s.path for s in self._sources]

    # -- iteration

    def __iter__(self) -> MultiAvroReader:
        return self

    def __next__(self) -> pl.DataFrame:
        if self._iter is None:
            self._iter = self._generate()
        try:
            return next(self._iter)
        except StopIteration:
            self._finished = True
            self.close()
            raise

    def __enter__(self) -> MultiAvroReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release open files; further iteration stops."""
        if self._current is not None:
            self._current.stream.close()
            self._current = None
        self._iter = iter(())
        if self._progress is not None:
            self._progress.close()

    # -- internals

    def _compile(self, info: FileInfo) -> Plan:
        try:
            columns = None if self._columns is None else tuple(self._columns)
            return plan_for(info.header.schema_json, columns)
        except SchemaError as exc:
            raise SchemaError(exc.message, path=info.path) from exc

    def _report(self, i: int, info: FileInfo) -> None:
        """Update the progress line: rows so far, bytes of files done and of file `i`."""
        assert self._progress is not None
        if self._progress.total_bytes is None and None not in self._sizes:
            self._progress.total_bytes = sum(s or 0 for s in self._sizes)
        done = sum(s or 0 for s in self._sizes[:i]) + info.consumed
        self._progress.update(self._rows_read, done, i + 1)

    def _generate(self) -> Iterator[pl.DataFrame]:
        opts = self._options
        left = opts.n_rows
        index = opts.row_index_offset
        if opts.progress:
            self._sizes = [_known_size(s) for s in self._sources]
            self._sizes[0] = self._first.stream.size
            total = None if None in self._sizes else sum(s or 0 for s in self._sizes)
            self._progress = Progress(total, files=len(self._sources))
        for i, source in enumerate(self._sources):
            if left is not None and left <= 0:
                break
            info = self._first if i == 0 else open_file(source, opts)
            self._current = info
            if self._sizes:
                self._sizes[i] = info.stream.size
            plan = self._plan
            if i > 0:
                schema = plan_for(info.header.schema_json, None).schema
                if dict(schema) != dict(self._file_schema):
                    msg = (
                        f"{source.path!r} has a schema incompatible with "
                        f"{self._first.path!r}: {_schema_difference(self._file_schema, schema)}"
                    )
                    raise SchemaError(msg, path=source.path)
                plan = plan_for(info.header.schema_json, tuple(self._plan.schema))
            try:
                file_skips: list[BadBlockError] = []
                self._errors_by_file.append(file_skips)
                for df, rows in _decode_file(info, plan, self._frames, opts, left, file_skips):
                    if opts.row_index_name is not None:
                        df = df.insert_column(0, pl.int_range(
                            index, index + rows, dtype=pl.get_index_type(), eager=True
                        ).alias(opts.row_index_name))
                    if opts.include_file_paths is not None:
                        df = df.with_columns(pl.lit(source.path, pl.String())
                                             .alias(opts.include_file_paths))
                    index += rows
                    if left is not None:
                        left -= rows
                    self._rows_read += rows
                    if self._progress is not None:
                        self._report(i, info)
                    yield df
                if self._progress is not None:
                    if left is None or left > 0:  # read to its end, not stopped by n_rows
                        info.consumed = info.stream.size
                    self._report(i, info)
            finally:
                info.stream.close()
                self._current = None


class AvroReader(MultiAvroReader):
    """Iterate DataFrame batches over one Avro file.

    Parameters
    ----------
    source
        A path, URL, or binary file object.
    columns
        Names of the columns to decode, in output order (``None``: all).
    **options
        The reading options (`jetliner.options.ReadOptions`).

    Examples
    --------
    >>> with jetliner.AvroReader("data.avro", batch_size=10_000) as reader:  # doctest: +SKIP
    ...     for batch in reader:
    ...         print(batch.shape)
    """

    def __init__(self, source: Any, *, columns: list[str] | None = None, **options: Any) -> None:
        glob = options.get("glob", True)
        resolved = resolve_sources(source, glob=glob,
                                   storage_options=options.get("storage_options"))
        if len(resolved) != 1:
            msg = (
                f"AvroReader reads one file, but {source!r} names {len(resolved)}; use "
                "MultiAvroReader (or jetliner.open with a single path)"
            )
            raise ConfigurationError(msg)
        super().__init__(resolved, columns=columns, **options)
