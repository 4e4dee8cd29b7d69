"""Opening files: the header read and checked, and several sources opened ahead.

`open_file` opens one source and reads its header.  `Opener` serves a read's
sources in order, opening the next few of them concurrently while the current one
is decoded: on object stores each open is a round trip (one ranged GET of the
header and the first blocks), and a glob of thousands of small objects would
otherwise pay them one after another.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field

from jetliner.codecs import get_codec
from jetliner.container import Header, read_header
from jetliner.exceptions import SchemaError
from jetliner.options import ReadOptions
from jetliner.schema import AvroType, parse_schema_text
from jetliner.sources import Source
from jetliner.splits import SplitSource
from jetliner.stream import DEFAULT_LOCAL_CHUNK, DEFAULT_REMOTE_CHUNK, FIRST_CHUNK, ByteStream
from jetliner.threads import SharedPool

__all__ = ["OPEN_THREADS", "FileInfo", "Opener", "open_file", "opens_ahead"]

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


def open_file(source: Source, options: ReadOptions,
              cancelled: Callable[[], bool] | None = None) -> FileInfo:
    """Open `source`, read and check its header; typed errors on any problem.

    `cancelled` is asked before each request of a remote source (see `Source.open`).
    """
    file = source.open(cancelled, memory_map=options.memory_map)
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
            raise SchemaError(exc.message, exc.variant, source.path) from exc
        if isinstance(source, SplitSource):
            stream.prefetch_stop = source.split.end
        return FileInfo(source, stream, header, schema)
    except BaseException:
        if stream is not None:
            stream.close()  # stops prefetching too
        else:
            file.close()
        raise



# Most sources opened ahead of the one being read, and the threads that open them:
# their own pool, since opening a file may queue prefetches on the shared I/O pool
# and wait for them.
MAX_OPENS_AHEAD = 16
OPEN_THREADS = SharedPool(MAX_OPENS_AHEAD, "jetliner-open")


def opens_ahead(sources: list[Source], options: ReadOptions) -> int:
    """How many sources a read opens ahead of the one it decodes.

    Remote sources only (a local open costs no round trip).  Each open source
    holds at most its first request's bytes (`FIRST_CHUNK`, 64 KiB) until it is
    read, so the count is bounded by ``buffer_bytes`` at that size each, by four
    per ``buffer_blocks`` and by `MAX_OPENS_AHEAD`: 16 with the default options.
    """
    if len(sources) < 2 or not any(s.is_remote for s in sources[1:]):
        return 0
    return max(1, min(MAX_OPENS_AHEAD, 4 * options.buffer_blocks,
                      options.buffer_bytes // FIRST_CHUNK))


class Opener:
    """Open `sources` from index `start` on, in order, up to `ahead` of them at once.

    `take` returns the next source's `FileInfo` (or raises what opening it raised,
    only when that source is reached).  `close` cancels the opens not started,
    waits for the running ones and closes every file opened and not taken: once it
    returns, nothing of this opener makes a request.
    """

    def __init__(self, sources: list[Source], options: ReadOptions, start: int,
                 ahead: int) -> None:
        self._sources = sources
        self._options = options
        self._next = start  # the next source to submit
        self._ahead = ahead
        self._queue: deque[Future[FileInfo]] = deque()
        self._lock = threading.Lock()
        self._closed = False
        self._stop = threading.Event()  # set by close: running opens request no more

    def take(self) -> FileInfo:
        """Open (or wait for) the next source, and queue the opens after it."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the opener is closed")
            if not self._queue and self._ahead == 0:  # open it here, now
                source = self._sources[self._next]
                self._next += 1
            else:
                self._submit()
                future = self._queue.popleft()
                self._submit()
        if self._ahead == 0:
            return open_file(source, self._options, self._stop.is_set)
        return future.result()

    def _submit(self) -> None:
        """Queue opens until `ahead` are queued."""
        pool = OPEN_THREADS.get()
        while self._next < len(self._sources) and len(self._queue) < self._ahead:
            source = self._sources[self._next]
            self._queue.append(pool.submit(open_file, source, self._options,
                                           self._stop.is_set))
            self._next += 1

    def close(self) -> None:
        """Stop opening; close what was opened ahead.  Safe to call more than once."""
        self._stop.set()
        with self._lock:
            self._closed = True
            queued = list(self._queue)
            self._queue.clear()
        running = [f for f in queued if not f.cancel()]
        wait(running)
        for f in running:
            if f.exception() is None:
                f.result().stream.close()
