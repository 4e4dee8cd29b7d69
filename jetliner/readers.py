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
import sys
import threading
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import polars as pl

from jetliner._decoder import DecodeFailure, Decoder, PooledBytes, pooled_scratch
from jetliner._plan import DECODE_ERROR_MESSAGES, DECODE_ERROR_VARIANTS
from jetliner._snappy import decompress_blocks
from jetliner.codecs import get_codec
from jetliner.container import Block, iter_blocks
from jetliner.evolution import (
    Dataset,
    FileColumns,
    FileRead,
    avro_defaults,
    file_read,
    with_partitions,
)
from jetliner.exceptions import (
    BadBlockError,
    CodecError,
    ConfigurationError,
    DecodeError,
    JetlinerError,
    SchemaError,
)
from jetliner.frames import FrameBuilder
from jetliner.hive import Partitions, hive_enabled, partitions_of
from jetliner.opening import FileInfo, Opener, open_file, opens_ahead
from jetliner.options import ReadOptions
from jetliner.progress import Progress
from jetliner.query import column_names, compact, filter_columns, passing_rows, projection
from jetliner.resolution import ReaderSchema, load_reader_schema, reader_read, resolved_plan
from jetliner.resolve import resolve_sources
from jetliner.schema import Plan, plan_for
from jetliner.sources import BytesSource, LocalSource, Source, check_unchanged
from jetliner.threads import DECODE_THREADS, IDLE_TRIM

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from typing import Self
    else:
        from typing_extensions import Self

__all__ = ["AvroReader", "FileInfo", "FileJob", "MultiAvroReader", "check_extra_columns",
           "check_same_schema", "index_type", "open_file", "output_schema"]



# (not frozen: a frozen one took 0.8 us to make, per block; wide has 3,318)
@dataclass(slots=True)
class _Slice:
    """The first `keep` records of a block, to decode.

    `damaged` marks a block that failed in skip mode: only the records before
    the damage are kept, and the checks that need the whole block are skipped.
    """

    block: Block
    keep: int
    damaged: bool = False


@dataclass
class _Task:
    """Whole blocks to decode together (one pool task), and how many rows of each to keep."""

    slices: list[_Slice] = field(default_factory=list)
    rows: int = 0
    nbytes: int = 0
    end: int = 0  # file offset just past the last block
    late: bool = False  # decode it late (decided in order, when it is handed on)

    def add(self, piece: _Slice) -> None:
        """Append a block's records."""
        self.slices.append(piece)
        self.rows += piece.keep
        self.nbytes += len(piece.block.data)
        self.end = piece.block.end


_DECODERS = threading.local()


def _decoder(plan: Plan, options: ReadOptions, role: str = "rows") -> Decoder:
    """Return this thread's decoder for `plan` (made on first use).

    A decoder is reused from batch to batch: each batch then starts with the
    buffer sizes the previous one needed, instead of growing its buffers from
    scratch (and the plan is loaded once per thread, not once per batch).  Each
    `role` has decoders of its own: ``"picked"`` (the second pass of late
    materialisation, which decodes the few rows a filter kept; the sizes of full
    batches would make a small result hold batch-sized buffers) and ``"twin"``
    (the first pass's second chain, see `Decoder.decode_blocks_marked`).
    """
    cache: dict[tuple[int, int, int, str, str], tuple[Plan, Decoder]] | None = getattr(
        _DECODERS, "cache", None)
    if cache is None:
        cache = _DECODERS.cache = {}
    key = (id(plan), options.max_nesting_depth, options.max_zero_byte_values,
           options.invalid_utf8, role)
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


Batch: TypeAlias = tuple[pl.DataFrame, int]  # a frame and its number of rows
Columns: TypeAlias = "Sequence[str] | Sequence[int]"  # names, or indices into the file's


@dataclass
class FileJob:
    """The decoding of one opened file: what each of its batches needs.

    Attributes
    ----------
    info
        The opened file.
    plan
        The compiled plan for this file's schema and the read's columns.
    frames
        Builds DataFrames from the decoder's exported batches.
    options
        The read's options.
    filter
        The filter applied to every batch, or None.
    select
        Turns a decoded batch into the read's columns when the file's differ from
        them (`jetliner.evolution.FileRead`); None when they do not.
    skipped
        What skip mode dropped in this file, in file order.
    """

    info: FileInfo
    plan: Plan
    frames: FrameBuilder
    options: ReadOptions
    filter: Filter | None = None
    select: list[pl.Expr] | None = None
    skipped: list[BadBlockError] = field(default_factory=list)
    dispatched: int = 0  # records handed to decoding so far
    collected: int = 0  # records of the tasks whose batches were handed on

    def batches(self, limit: int | None) -> Iterator[Batch]:
        """Yield ``(frame, rows)`` for the file, at most `limit` rows in all.

        Blocks are framed here, grouped into tasks of whole blocks holding at most
        ``batch_size`` rows, and decoded on the shared pool, in order.  At most
        ``buffer_blocks`` tasks and ``buffer_bytes`` compressed bytes are in
        flight; no block is read once `limit` rows are dispatched.  In skip mode,
        what was skipped is added to `skipped`, in file order.
        """
        options = self.options
        info = self.info
        pool = DECODE_THREADS.get()
        workers = DECODE_THREADS.workers
        pending: deque[tuple[_Task, Future[tuple[list[Batch], list[BadBlockError]]]]] = deque()
        inflight_bytes = 0
        # A task (one output batch) also ends at this many compressed bytes, so that
        # several fit in buffer_bytes and wide rows still decode in parallel.
        task_bytes = max(1 << 20, options.buffer_bytes // (2 * options.buffer_blocks))
        task = _Task()
        dispatched = 0

        def submit(t: _Task) -> None:
            nonlocal inflight_bytes
            t.late = self._late()
            # while a decoding thread may be idle, hand it the GIL until it has taken
            # the task: framing holds the GIL, and the task would wait for it
            taken = threading.Event() if len(pending) < workers else None
            pending.append((t, pool.submit(self.decode_task, t, taken)))
            inflight_bytes += t.nbytes
            if taken is not None:
                taken.wait(HANDOFF_SECONDS)

        def collect() -> Iterator[Batch]:
            nonlocal inflight_bytes
            done, future = pending.popleft()
            inflight_bytes -= done.nbytes
            yield from self._consumed(done, *future.result())

        framing_error: JetlinerError | None = None
        framing_skips: list[BadBlockError] = []

        def take_framing_skips() -> None:
            if framing_skips:
                # (zeros where a mapped file was cut short are not damage)
                check_unchanged([info.stream.buf], info.path)
                _merge(self.skipped, framing_skips)
                framing_skips.clear()
        start, end = info.span
        blocks = iter_blocks(info.stream, info.header, info.path,
                             framing_skips if options.ignore_errors else None,
                             start=start, end=end)
        try:
            while limit is None or dispatched < limit:  # no block is framed past the limit
                try:
                    block = next(blocks)
                except StopIteration:
                    break
                except JetlinerError as exc:
                    # (zeros where a mapped file was cut short are not damage)
                    check_unchanged([info.stream.buf], info.path)
                    # blocks before the damage come first: decode them, then raise
                    framing_error = exc
                    break
                keep = block.count if limit is None else min(block.count, limit - dispatched)
                if task.slices and task.rows + keep > options.batch_size:
                    submit(task)
                    task = _Task()
                task.add(_Slice(block, keep))
                dispatched += keep
                self.dispatched = dispatched
                if task.rows >= options.batch_size or task.nbytes >= task_bytes:
                    submit(task)
                    task = _Task()
                take_framing_skips()
                while pending and (len(pending) >= options.buffer_blocks
                                   or inflight_bytes > options.buffer_bytes):
                    yield from collect()
            if task.slices:
                if not pending:
                    # a lone last task (a small file, head()): decode it here, sparing
                    # the round trip through the pool
                    task.late = self._late()
                    yield from self._consumed(task, *self.decode_task(task))
                else:
                    submit(task)
            while pending:
                yield from collect()
            take_framing_skips()
            if framing_error is not None:
                raise framing_error
        finally:
            for _, future in pending:
                future.cancel()

    def _consumed(self, task: _Task, results: list[Batch],
                  skips: list[BadBlockError]) -> list[Batch]:
        """Record a decoded task's skips and progress; return its batches."""
        _merge(self.skipped, skips)
        self.info.consumed = task.end
        self.collected += task.rows
        if self.filter is not None and task.rows:
            self.filter.kept = sum(rows for _, rows in results) / task.rows
        return results

    def _late(self) -> bool:
        """Decide whether the next task is decoded late.

        From the share of rows the tasks handed on so far kept (in file order, so the
        same read always decides alike); never in skip mode, which must cut a block
        where one pass finds its damage.
        """
        filt = self.filter
        return (filt is not None and filt.late is not None and not self.options.ignore_errors
                and filt.kept < LATE_BELOW)

    def decode_task(self, task: _Task, taken: threading.Event | None = None,
                    ) -> tuple[list[Batch], list[BadBlockError]]:
        """Decompress and decode one task's blocks (runs on a pool thread).

        `taken`, if given, is set first (see `batches`).  In skip mode a damaged
        block costs only its damaged part: the task is decoded again, keeping the
        records before the damage (never a half-decoded row) and dropping the rest
        of that block, and the loss is reported.
        """
        if taken is not None:
            taken.set()
        slices = list(task.slices)
        skipped: list[BadBlockError] = []
        while True:
            try:
                batches = self._decode(slices, task.late)
            except (CodecError, DecodeError) as exc:
                # bytes of a file that shrank while mapped read as zeros: not damage
                check_unchanged((s.block.data for s in slices), self.info.path)
                if not self.options.ignore_errors or exc.block_index is None:
                    raise
                i = next(i for i, s in enumerate(slices) if s.block.index == exc.block_index)
                block, keep = slices[i].block, slices[i].keep
                good = exc.record_index if isinstance(exc, DecodeError) and exc.record_index else 0
                good = min(good, keep)
                if isinstance(exc, CodecError):
                    kind, stage = f"DecompressionFailed({exc.codec})", "codec"
                else:
                    kind, stage = "RecordDecodeFailed", "decode"
                skipped.append(BadBlockError(
                    f"{exc.message}; kept {good} of the block's {block.count} records",
                    kind=kind, stage=stage, records_lost=keep - good, path=self.info.path,
                    block_index=block.index, record_index=exc.record_index,
                    file_offset=exc.file_offset, block_offset=exc.block_offset))
                slices[i] = _Slice(block, good, damaged=True)
            else:
                check_unchanged((s.block.data for s in slices), self.info.path)
                return batches, skipped

    def _decode(self, slices: list[_Slice], task_late: bool = False) -> list[Batch]:
        """Decode `slices` with this thread's decoder into batches of ``batch_size`` rows.

        With a filter, only rows that pass are returned: decoded late (the filter's
        columns first, the others for the rows that pass) while the filter keeps few
        rows, in one pass otherwise.
        """
        filt = self.filter
        if filt is not None and filt.late is not None and task_late:
            first = _decoder(filt.late.first, self.options)
            twin = _decoder(filt.late.first, self.options, "twin")
            second = _decoder(self.plan, self.options, "picked")
            try:
                done = self._late_at_once(first, twin, second, filt.late, filt, slices)
                if done is not None:
                    return done
                first.discard()  # (what it decoded of a damaged task)
                twin.discard()
                second.discard()
                return self._decode_late(first, second, filt.late, filt, slices)
            finally:
                first.discard()  # nothing is left after a finished batch
                twin.discard()
                second.discard()
        decoder = _decoder(self.plan, self.options)
        try:
            batches = self._decode_with(decoder, slices)
        except BaseException:
            decoder.discard()  # the thread keeps its decoder: free the failed batch now
            raise
        if filt is None:
            return batches
        return [(compact(kept, rows), kept.height)
                for kept, rows in ((df.filter(filt.predicate), rows) for df, rows in batches)]

    def _late_at_once(self, first: Decoder, twin: Decoder, second: Decoder, late: LatePlans,
                      filt: Filter, slices: list[_Slice]) -> list[Batch] | None:
        """Decode a task of whole snappy blocks late in a few calls, not a few per block.

        Files written with Java's default sync interval have blocks of 64 KB: the
        Python around each block cost as much as decoding it.  Here the task's
        blocks are decompressed into one buffer and their first pass decoded in one
        call (the second half of the blocks by `twin`, two records at a time), then
        the rows that pass in one more.  Returns None when that does not apply
        (another codec, a partial or damaged block, more rows than a batch) or a
        block fails any check: `_decode_late` then goes block by block, which
        raises the error it names.
        """
        if (self.info.header.codec != "snappy"
                or any(s.damaged or s.keep != s.block.count for s in slices)):
            return None
        counts = array("q", [s.keep for s in slices])
        rows = sum(counts)
        if rows > self.options.batch_size:
            return None
        offsets = array("q")
        data = decompress_blocks([s.block.data for s in slices],
                                 self.options.block_size_limit, offsets)
        if data is None:
            return None
        starts = pooled_scratch(8 * (rows + 1))
        split, rows_first = _halves(counts)
        if first.decode_blocks_marked(data, offsets, counts, starts, twin, split) >= 0:
            return None
        # each half's frame on its own: Polars evaluates a predicate over a frame of
        # two chunks (or rechunks one) slower than over two frames of one
        picks: list[int] = []
        for decoder, row0, n in ((first, 0, rows_first), (twin, rows_first, rows - rows_first)):
            if n:
                head = late.first_frames.build(decoder.finish(late.first.export), n)
                picks += [row0 + i for i in passing_rows(head, filt.predicate)]
        try:
            second.decode_at(data, starts, array("q", picks))
        except DecodeFailure:
            return None
        return [(self._frame(second, len(picks)), len(picks))]

    def _decode_late(self, first: Decoder, second: Decoder, late: LatePlans, filt: Filter,
                     slices: list[_Slice]) -> list[Batch]:
        """Decode a batch late: the filter's columns first, every column where it passes.

        The first pass decodes the filter's columns of every record (skipping the
        others) and notes where each record starts; the filter is evaluated; the
        second pass decodes the read's columns of the records that passed, each at
        its own offset, into buffers of their own (the batch's are freed).  Rejected
        records are never decoded twice.
        """
        info = self.info
        out: list[Batch] = []
        # per piece of a block decoded in the first pass: its bytes, where each of its
        # records starts, the piece's first row in the batch, its first record in the
        # block, and its block
        pieces: list[tuple[Any, PooledBytes, int, int, Block]] = []

        def flush() -> None:
            rows = first.rows
            head = late.first_frames.build(first.finish(late.first.export), rows)
            picks = passing_rows(head, filt.predicate)
            for data, starts, row0, rec0, block in pieces:
                lo = bisect.bisect_left(picks, row0)
                hi = bisect.bisect_left(picks, row0 + (len(starts) // 8 - 1))
                if lo == hi:
                    continue
                chosen = array("q", picks[lo:hi])
                try:
                    second.decode_at(data, starts, chosen, row0)
                except DecodeFailure as f:
                    raise _record_error(f, info.path, block, rec0 + chosen[f.record] - row0,
                                        self.plan) from None
            pieces.clear()
            out.append((self._frame(second, len(picks)), len(picks)))

        def decode(piece: _Slice, data: Any, offset: int, done: int, take: int) -> int:
            starts = pooled_scratch(8 * (take + 1))
            row0 = first.rows
            try:
                end = first.decode_marked(data, offset, take, starts)
            except DecodeFailure as f:
                raise _record_error(f, info.path, piece.block, done + f.record,
                                    late.first) from None
            pieces.append((data, starts, row0, done, piece.block))
            return int(end)

        self._each_chunk(slices, first, decode, flush)
        return out

    def _frame(self, decoder: Decoder, rows: int) -> pl.DataFrame:
        """Hand on the `rows` rows `decoder` holds as a frame of the read's columns."""
        frame = self.frames.build(decoder.finish(self.plan.export), rows)
        if self.select is not None:  # the partition columns
            frame = frame.select(self.select)
        return frame

    def _decode_with(self, decoder: Decoder, slices: list[_Slice]) -> list[Batch]:
        info = self.info
        out: list[Batch] = []

        def flush() -> None:
            rows = decoder.rows
            out.append((self._frame(decoder, rows), rows))

        def decode(piece: _Slice, data: Any, offset: int, done: int, take: int) -> int:
            try:
                return int(decoder.decode(data, offset, take))
            except DecodeFailure as f:
                raise _record_error(f, info.path, piece.block, done + f.record,
                                    self.plan) from None

        self._each_chunk(slices, decoder, decode, flush)
        return out

    def _each_chunk(self, slices: list[_Slice], decoder: Decoder,
                    decode: Callable[[_Slice, Any, int, int, int], int],
                    flush: Callable[[], None]) -> None:
        """Run `decode` over the records of `slices` in chunks that fill batches.

        `decode(piece, data, offset, done, take)` decodes `take` records of a block's
        bytes from `offset` (the `done` before them) and returns where they end;
        `flush` hands on the batch `decoder` holds once it is full, and the last one.
        """
        batch_size = self.options.batch_size
        for piece in slices:
            data = self._block_bytes(piece, decoder)
            if data is None:
                continue
            offset = 0
            done = 0
            while done < piece.keep:
                take = min(piece.keep - done, batch_size - decoder.rows)
                offset = decode(piece, data, offset, done, take)
                done += take
                if decoder.rows >= batch_size:
                    flush()
            self._check_end(piece, offset, len(data))
        if decoder.rows:
            flush()

    def _block_bytes(self, piece: _Slice, decoder: Decoder) -> Any:
        """Decompress a block (None: nothing of it to decode) and check its record count."""
        info, block = self.info, piece.block
        if piece.damaged and piece.keep == 0:
            return None
        try:
            data = get_codec(info.header.codec, info.path)(block.data,
                                                           self.options.block_size_limit)
        except CodecError as exc:
            raise CodecError(exc.message, exc.variant, info.path, info.header.codec,
                             block.index, block.offset) from exc
        if not piece.damaged:
            self._check_block(decoder, block, len(data))
        return data

    def _check_end(self, piece: _Slice, offset: int, size: int) -> None:
        """Refuse a whole block whose records end before its bytes do."""
        block = piece.block
        if not piece.damaged and piece.keep == block.count and offset != size:
            msg = (
                f"the block holds {size - offset} bytes after its {block.count} records: "
                "its record count or data is corrupt"
            )
            raise DecodeError(msg, "InvalidData", self.info.path, block.index, block.count,
                              block.offset, offset)

    def _check_block(self, decoder: Decoder, block: Block, nbytes: int) -> None:
        """Refuse a block that claims more records than its `nbytes` can hold."""
        info = self.info
        limit = self.options.max_empty_records
        if block.count > nbytes:
            # more records than bytes: some take no bytes (empty records, nulls); a
            # file may claim only so many, or a tiny file could yield billions of rows
            with info.lock:
                info.empty_records += block.count - nbytes
                over = info.empty_records > limit
            if over:
                msg = (
                    f"the file claims more than {limit} records that take no bytes (empty "
                    "records or nulls): a hostile or degenerate file; raise "
                    "max_empty_records if the data is legitimate"
                )
                raise DecodeError(msg, "LimitExceeded", info.path, block.index,
                                  file_offset=block.offset)
        try:
            decoder.check_block(block.count, nbytes)
        except DecodeFailure as f:
            msg = (
                f"block {block.index} claims {block.count} records, more than its "
                f"{nbytes} bytes can hold: {DECODE_ERROR_MESSAGES[f.code]}"
            )
            raise DecodeError(msg, DECODE_ERROR_VARIANTS.get(f.code), info.path, block.index,
                              0, block.offset) from None


# Late materialisation while the filter keeps fewer than this fraction of the rows it
# sees (the last task handed on, in file order); above it, one pass over every column
# and a filter after cost less than two passes.  Measured on the benchmark files
# (filters keeping 0.1% to 90% of simple's and wide's rows, both paths timed): two
# passes win on wide below ~25% and on simple below ~1%, lose by up to 1.4x above.
LATE_BELOW = 0.15
# How long the framing thread waits, at most, for an idle decoding thread to take the
# task it was handed (the thread needs the GIL to start; see `FileJob.batches`).
HANDOFF_SECONDS = 0.005


@dataclass(frozen=True)
class LatePlans:
    """The first pass of late materialisation over one file.

    The second pass decodes the read's own plan, for the rows that pass.

    Attributes
    ----------
    first, first_frames
        The filter's columns (the rest skipped), and their frames.
    """

    first: Plan
    first_frames: FrameBuilder


@dataclass
class Filter:
    """A filter applied while decoding: every batch is returned filtered.

    Attributes
    ----------
    predicate
        The filter (Polars' semantics: rows where it is null are dropped).
    late
        The plans of late materialisation, or None (every column is the filter's).
    kept
        The fraction of rows the last task handed on (in file order) kept, which
        picks the path of the next task handed to the pool.
    """

    predicate: pl.Expr
    late: LatePlans | None
    kept: float = 0.0


def _halves(counts: array[int]) -> tuple[int, int]:
    """Split blocks holding `counts` records into two runs of about as many records.

    Returns the index of the second run's first block and the first run's records.
    """
    total = sum(counts)
    done = 0
    for i, n in enumerate(counts):
        if 2 * (done + n) > total:
            # the block across the middle goes where the halves end up closer
            return (i + 1, done + n) if 2 * (done + n) - total <= total - 2 * done else (i, done)
        done += n
    return len(counts), done


def _record_error(failure: DecodeFailure, path: str, block: Block, record: int,
                  plan: Plan) -> DecodeError:
    """Return the typed error of a record the decoder could not decode.

    `record` counts in its block; `plan` is the decoder's, which names the field of a
    failed resolution.
    """
    msg = DECODE_ERROR_MESSAGES.get(failure.code, f"decoder error {failure.code}")
    where = plan.unresolved.get(failure.node)
    if where is not None:
        field_path, kind, names = where
        met = names[failure.value] if 0 <= failure.value < len(names) else failure.value
        msg += f"; field {field_path or '(the top-level value)'!r}, the writer's {kind} {met!r}"
    return DecodeError(msg, DECODE_ERROR_VARIANTS.get(failure.code), path, block.index, record,
                       block.offset, failure.offset)


def _merge(into: list[BadBlockError], new: list[BadBlockError]) -> None:
    """Add skips to a file's list, keeping it in block order."""
    for e in new:
        bisect.insort(into, e, key=lambda x: (x.block_index or 0, x.file_offset or 0,
                                              x.block_offset or 0))


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


def index_type() -> pl.DataType:
    """Return Polars' row-index type (UInt32, or UInt64 in the big-index build)."""
    dtype = pl.get_index_type()
    return dtype() if isinstance(dtype, type) else dtype


def output_schema(columns: pl.Schema, options: ReadOptions) -> pl.Schema:
    """Return `columns` with the extra columns the options ask for.

    The row index comes first and the file-path column last, as in every batch.
    """
    schema: dict[str, pl.DataType] = dict(columns)
    if options.row_index_name is not None:
        schema = {options.row_index_name: index_type(), **schema}
    if options.include_file_paths is not None:
        schema[options.include_file_paths] = pl.String()
    return pl.Schema(schema)


def _check_row_index(first: int, rows: int) -> None:
    """Refuse a row index that Polars' index type cannot hold (it would wrap or fail)."""
    dtype = index_type()
    largest = 2 ** (8 * (4 if dtype == pl.UInt32() else 8)) - 1
    if first + max(rows, 1) - 1 > largest:
        what = (f"row_index_offset {first}" if rows == 0 else
                f"the row index of rows {first}..{first + rows - 1}")
        msg = (
            f"{what} exceeds maximum row index {largest} of Polars' index type {dtype}: use "
            "a smaller row_index_offset (or Polars' 64-bit index build, polars-u64-idx)"
        )
        raise ConfigurationError(msg)


def check_extra_columns(file_schema: pl.Schema, options: ReadOptions) -> None:
    """Refuse a row-index or file-path column named as one of the file's columns.

    Raises
    ------
    ConfigurationError
        When `row_index_name` or `include_file_paths` names a column of the file.
    """
    for option in ("row_index_name", "include_file_paths"):
        name = getattr(options, option)
        if name is not None and name in file_schema:
            msg = (
                f"{option}={name!r} clashes with the file's column {name!r}: pick another "
                "name for the extra column"
            )
            raise ConfigurationError(msg)


def check_same_schema(found: pl.Schema, expected: pl.Schema, path: str, first: str) -> None:
    """Refuse a file whose columns differ from those of the first file read.

    Raises
    ------
    SchemaError
        Naming the columns that differ.
    """
    if dict(found) == dict(expected):
        return
    only_first = [n for n in expected if n not in found]
    only_this = [n for n in found if n not in expected]
    parts = []
    if only_first:
        parts.append(f"columns only in the first: {only_first}")
    if only_this:
        parts.append(f"columns only in the second: {only_this}")
    parts.extend(f"column {n!r} is {expected[n]} in the first and {found[n]} in the second"
                 for n in expected if n in found and expected[n] != found[n])
    msg = (
        f"{path!r} has a schema incompatible with {first!r}: {'; '.join(parts)} (files read "
        "together must share their schema)"
    )
    raise SchemaError(msg, "IncompatibleSchemas", path)


def _compile(info: FileInfo, columns: tuple[str, ...] | None) -> Plan:
    """Return the plan of `columns` of an opened file; errors name the file."""
    try:
        return plan_for(info.header.schema_json, columns)
    except SchemaError as exc:
        raise SchemaError(exc.message, exc.variant, info.path) from exc


def _describe(info: FileInfo) -> FileColumns:
    """Return what an opened file's header says of its columns and their defaults."""
    schema = _compile(info, None).schema
    return FileColumns(info.path, schema, avro_defaults(info.header.schema_json, schema))


# Headers read at once by union_by_name: each is one request on object stores, where
# the round trip dominates; its own pool, since opening a file may queue prefetches
# on the shared I/O pool and wait for them.
HEADER_THREADS = 16


def _describe_all(sources: Sequence[Source], options: ReadOptions) -> list[FileColumns]:
    """Open the sources concurrently, read their headers' columns, and close them.

    Returns them in the sources' order; the first failure (in that order) is raised.
    """
    def describe(source: Source) -> FileColumns:
        info = open_file(source, options)
        try:
            return _describe(info)
        finally:
            info.stream.close()

    with ThreadPoolExecutor(max_workers=min(HEADER_THREADS, len(sources)),
                            thread_name_prefix="jetliner-header") as pool:
        futures = [pool.submit(describe, s) for s in sources]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def _dataset(first: FileColumns, sources: Sequence[Source], options: ReadOptions,
             hive: bool) -> tuple[Dataset, Partitions | None]:
    """Return the columns of a read (the first file's, or the union) and its partitions."""
    if options.union_by_name and len(sources) > 1:
        dataset = Dataset.union_of([first, *_describe_all(sources[1:], options)])
    else:
        dataset = Dataset.of_first(first)
    partitions = partitions_of(sources, dataset.schema, options) if hive else None
    if partitions is not None:
        dataset = dataset.with_partitions(partitions.schema)
    return dataset, partitions


class MultiAvroReader:
    """Iterate DataFrame batches over several Avro files, in order.

    Parameters
    ----------
    sources
        Paths, globs, URLs, file objects, or a list of them.
    columns
        The columns to decode, in output order: names, or zero-based indices
        into the first file's columns (``None``: all).
    projected_columns
        Another name for `columns` (jetliner 0.2.0's).
    **options
        The reading options (`jetliner.options.ReadOptions`).

    Raises
    ------
    UnknownOptionError
        An unknown keyword argument (also a `TypeError`).
    ConfigurationError
        Invalid options, columns that are neither all names nor all indices or
        are negative indices, or an extra column (``row_index_name``,
        ``include_file_paths``) named as a column of the file.

    Examples
    --------
    >>> with jetliner.MultiAvroReader(["a.avro", "b.avro"]) as reader:  # doctest: +SKIP
    ...     for batch in reader:
    ...         print(batch.height)
    """

    def __init__(self, sources: Any, *, columns: Columns | None = None,
                 projected_columns: Columns | None = None, **options: Any) -> None:
        opts = ReadOptions.from_kwargs(options, type(self).__name__)
        resolved = resolve_sources(sources, glob=opts.glob, storage_options=opts.storage_options,
                                   hidden_file_prefix=opts.hidden_prefixes)
        self._start(resolved, projection(columns, projected_columns), opts,
                    hive_enabled(resolved, opts))

    @classmethod
    def _of(cls, sources: list[Source], columns: Columns | None, options: ReadOptions,
            predicate: pl.Expr | None = None, hive: bool = False,
            known: tuple[Dataset, Partitions | None] | None = None) -> Self:
        """Make a reader of sources already resolved, with options already validated.

        With a `predicate` (over the decoded columns only, not the row index), every
        batch is returned filtered, and the filter's columns are decoded first.  With
        `hive`, the paths' Hive partitions are columns.  `known`: the dataset and the
        sources' partitions found by an earlier reader of (a superset of) them.
        """
        reader = cls.__new__(cls)
        reader._start(sources, columns, options, hive, known)
        reader._predicate = predicate
        return reader

    def _start(self, sources: list[Source], columns: Columns | None, options: ReadOptions,
               hive: bool = False,
               known: tuple[Dataset, Partitions | None] | None = None) -> None:
        """Open the first file and compile the plan: typed errors now, not on first use."""
        self._options = options
        self._sources = sources
        self._error: BaseException | None = None
        self._index = 0  # of the source being read
        self._reader: ReaderSchema | None = None
        if options.reader_schema is not None:
            self._reader = load_reader_schema(options.reader_schema, options.storage_options)
        self._first: FileInfo = open_file(sources[0], options)
        self._current: FileInfo | None = self._first
        self._closed = False
        # the other sources, opened a few ahead once the read reaches the second
        self._opener = Opener(sources, options, 1, opens_ahead(sources, options))
        IDLE_TRIM.opened()
        try:
            first = self._describe(self._first)
            if known is not None:
                self._dataset, self._partitions = known
            elif self._reader is not None:
                self._dataset = Dataset(self._reader.schema, {}, self._first.path)
                self._partitions = (partitions_of(sources, self._dataset.schema, options)
                                    if hive else None)
                if self._partitions is not None:
                    self._dataset = self._dataset.with_partitions(self._partitions.schema)
            else:
                self._dataset, self._partitions = _dataset(first, sources, options, hive)
            self._file_schema = self._dataset.schema
            check_extra_columns(self._file_schema, options)
            if options.row_index_name is not None:
                _check_row_index(options.row_index_offset, 0)
            names = column_names(columns, self._file_schema)
            self._columns = tuple(self._file_schema) if names is None else names
            unknown = [c for c in self._columns if c not in self._file_schema]
            if len(set(self._columns)) != len(self._columns) or unknown:
                # the plan compiler's error, for the first file (or the union)
                self._compile(self._first, self._columns)
                msg = (f"column(s) {', '.join(map(repr, unknown))} not found in the schema; "
                       f"available columns: {', '.join(map(repr, self._file_schema))}")
                raise SchemaError(msg, path=self._first.path)
            self._out = pl.Schema({c: self._file_schema[c] for c in self._columns})
            self._first_read: FileRead = self._file_read(self._first, first, 0)
            self._plan = self._compile(self._first, self._first_read.decode)
        except BaseException:
            self.close()
            raise
        self._predicate: pl.Expr | None = None
        self._kept = 0.0  # the fraction of rows the filter kept, carried from file to file
        self._rows_read = 0
        self._finished = False
        self._jobs: list[FileJob] = []
        self._iter: Iterator[pl.DataFrame] | None = None
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
    def file_schema(self) -> pl.Schema:
        """The Polars schema of all the (first) file's columns, before selection."""
        return self._file_schema

    @property
    def polars_schema(self) -> pl.Schema:
        """The schema of the DataFrames this reader yields."""
        return output_schema(self._out, self._options)

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
        return [e for job in self._jobs for e in job.skipped]

    @property
    def error_count(self) -> int:
        """Number of skipped problems."""
        return sum(len(job.skipped) for job in self._jobs)

    @property
    def sources(self) -> list[str]:
        """The resolved paths or URLs, in reading order."""
        return [s.path for s in self._sources]

    @property
    def total_sources(self) -> int:
        """How many files the reader reads."""
        return len(self._sources)

    @property
    def current_source_index(self) -> int:
        """Index (from 0) of the file being read; `total_sources` once every file is read."""
        return self._index

    @property
    def pending_records(self) -> int:
        """Records read from the file(s) but not yet yielded (decoding ahead of the consumer)."""
        return sum(job.dispatched - job.collected for job in self._jobs)

    # -- iteration

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> pl.DataFrame:
        if self._error is not None and not self._closed:
            raise self._error  # a failed read fails again: it never looks finished
        if self._iter is None:
            self._iter = self._generate()
        try:
            return next(self._iter)
        except StopIteration:
            self.close()
            raise
        except BaseException as exc:
            self._error = exc
            raise

    def __enter__(self) -> Self:
        return self

    def __del__(self) -> None:
        # a reader dropped unclosed (a loop left with break, without `with`): stop
        # its prefetches now rather than when the interpreter exits
        if getattr(self, "_closed", True) is False:
            try:
                self.close()
            except Exception:  # noqa: BLE001, S110 - nothing may escape a finaliser
                pass

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release open files; further iteration stops and `is_finished` is True.

        Safe to call more than once.
        """
        if self._closed:
            return
        self._closed = True
        self._finished = True
        IDLE_TRIM.closed()
        if self._current is not None:
            self._current.stream.close()
            self._current = None
        if getattr(self, "_opener", None) is not None:
            self._opener.close()
        self._iter = iter(())
        if getattr(self, "_progress", None) is not None:
            self._progress.close()  # type: ignore[union-attr]

    # -- internals

    def _compile(self, info: FileInfo, columns: tuple[str, ...] | None) -> Plan:
        if self._reader is None:
            return _compile(info, columns)
        try:
            return resolved_plan(info.header.schema_json, self._reader, columns)
        except SchemaError as exc:
            raise SchemaError(exc.message, exc.variant, info.path) from exc

    def _describe(self, info: FileInfo) -> FileColumns:
        if self._reader is not None:
            self._compile(info, None)  # (the writer schema must resolve against it)
            return FileColumns(info.path, self._reader.schema)
        return _describe(info)

    def _file_read(self, info: FileInfo, described: FileColumns | None, i: int) -> FileRead:
        """Return how the read's columns are read from file `i` (`described`: its columns)."""
        if self._reader is not None:
            parts = self._dataset.partitions
            try:
                read = reader_read(info.header.schema_json, self._reader,
                                   tuple(c for c in self._columns if c not in parts))
            except SchemaError as exc:
                raise SchemaError(exc.message, exc.variant, info.path) from exc
            return with_partitions(read, self._columns, self._dataset,
                                   self._partition_values(i))
        return file_read(self._dataset, described or self._describe(info), self._columns,
                         self._options, self._partition_values(i))

    def _report(self, i: int, info: FileInfo) -> None:
        """Update the progress line: rows so far, bytes of files done and of file `i`."""
        assert self._progress is not None
        if self._progress.total_bytes is None and None not in self._sizes:
            self._progress.total_bytes = sum(s or 0 for s in self._sizes)
        done = sum(s or 0 for s in self._sizes[:i]) + info.consumed
        self._progress.update(self._rows_read, done, i + 1)

    def _job(self, i: int) -> FileJob:
        """Open source `i` (the first is open already) and check it fits the dataset.

        The file decodes the read's columns it has; when its columns differ from
        the read's, one select per batch (built here, once) makes them the read's.
        """
        if i == 0:
            info, plan, read = self._first, self._plan, self._first_read
        else:
            info = self._opener.take()
            self._current = info
            read = self._file_read(info, None, i)
            plan = self._compile(info, read.decode)
        filt = None
        if self._predicate is not None:
            # late materialisation filters the file's own columns: only when they are
            # the read's, bar partitions (a missing or cast column is made after decoding)
            late = self._late_plans(info, read.decode) if read.as_decoded else None
            filt = Filter(self._predicate, late, self._kept)
        return FileJob(info, plan, FrameBuilder(plan.schema), self._options, filt,
                       read.select)

    def _partition_values(self, i: int) -> dict[str, Any] | None:
        return None if self._partitions is None else self._partitions.row(i)

    def _late_plans(self, info: FileInfo, decode: tuple[str, ...]) -> LatePlans | None:
        """Split the decoded columns into the filter's and the others, for two passes."""
        assert self._predicate is not None
        named = filter_columns(self._predicate)
        order = list(decode)
        if named is None or not set(named) <= set(order):
            return None
        roots = set(named)
        if roots >= set(order):
            return None  # the filter's columns are all there is: one pass
        first_plan = self._compile(info, tuple(c for c in order if c in roots))
        return LatePlans(first_plan, FrameBuilder(first_plan.schema))

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
            self._index = i
            job = self._job(i)
            info = job.info
            if self._sizes:
                self._sizes[i] = info.stream.size
            try:
                self._jobs.append(job)
                for df, rows in job.batches(left):
                    if opts.row_index_name is not None:
                        _check_row_index(index, rows)
                        # from 0, then shifted: an end of 2**32 would not fit UInt32
                        df = df.insert_column(0, (pl.int_range(
                            0, rows, dtype=pl.get_index_type(), eager=True
                        ) + index).alias(opts.row_index_name))
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
                if job.filter is not None:
                    self._kept = job.filter.kept
            finally:
                info.stream.close()
                self._current = None
        self._index = len(self._sources)


class AvroReader(MultiAvroReader):
    """Iterate DataFrame batches over one Avro file.

    The same reader as `MultiAvroReader`, refusing sources that name more than
    one file.

    Parameters
    ----------
    source
        A path, URL, or binary file object.
    columns
        The columns to decode, in output order: names, or zero-based indices
        (``None``: all).
    projected_columns
        Another name for `columns` (jetliner 0.2.0's).
    **options
        The reading options (`jetliner.options.ReadOptions`).

    Raises
    ------
    ConfigurationError
        When `source` names more than one file, and as `MultiAvroReader` does.

    Examples
    --------
    >>> with jetliner.AvroReader("data.avro", batch_size=10_000) as reader:  # doctest: +SKIP
    ...     for batch in reader:
    ...         print(batch.shape)
    """

    def __init__(self, source: Any, *, columns: Columns | None = None,
                 projected_columns: Columns | None = None, **options: Any) -> None:
        opts = ReadOptions.from_kwargs(options, type(self).__name__)
        resolved = resolve_sources(source, glob=opts.glob, storage_options=opts.storage_options,
                                   hidden_file_prefix=opts.hidden_prefixes)
        if len(resolved) != 1:
            msg = (
                f"AvroReader reads one file, but {source!r} names {len(resolved)}; use "
                "MultiAvroReader (or jetliner.open, which picks the reader)"
            )
            raise ConfigurationError(msg)
        self._start(resolved, projection(columns, projected_columns), opts,
                    hive_enabled(resolved, opts))
