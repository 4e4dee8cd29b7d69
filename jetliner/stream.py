"""Sequential, chunked reading over a `RangeFile`, with prefetch and fetch counters.

The container layer asks for byte ranges in increasing order; `ByteStream` serves
them from one buffered window at a time, so that framing a block costs no system
call and a whole-file read costs about ``size / chunk_size`` requests.

For remote objects a prefetcher keeps the next ranges downloading on I/O threads
while earlier blocks decode, so the download and the decoding overlap.  It is
bounded by ``buffer_blocks`` ranges and ``buffer_bytes`` bytes ahead of the reader.
It starts only once the read has proved sequential (its third request), then asks
for full ``read_chunk_size`` ranges, one more range ahead for each one consumed:
a read that stops early (``head()``) fetches little beyond what it uses, and a
full read soon has several ranges in flight.  Counters record
every request so that tests can prove it.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future

from jetliner.sources import RangeFile, check_unchanged
from jetliner.threads import IO_THREADS

__all__ = ["ByteStream", "DEFAULT_LOCAL_CHUNK", "DEFAULT_REMOTE_CHUNK"]

# Local reads: 4 MiB amortises the system call and keeps head() cheap.
DEFAULT_LOCAL_CHUNK = 4 * 1024 * 1024
# Remote reads: each request costs a round trip and request overhead, so fetch
# more per request; with prefetch, a few of them are in flight at once.
DEFAULT_REMOTE_CHUNK = 8 * 1024 * 1024
# First request: the header and the first block or two (64 KiB is a typical block).
FIRST_CHUNK = 64 * 1024
# Requests made before prefetch starts: the header's, then one more.
PREFETCH_AFTER_REQUESTS = 2
# Most bytes at the end of the buffer read again (instead of copied) when a
# request runs past it, without prefetch.
REREAD_LIMIT = 1024 * 1024
class ByteStream:
    """Buffered forward reads over `file`.

    Parameters
    ----------
    file
        The open source.
    chunk_size
        Largest number of bytes fetched per request (more only when one block
        needs more).  Requests start at `FIRST_CHUNK` and double up to it, so a
        read that stops early (``head()``) fetches little, and a full read soon
        reaches full-size requests.
    prefetch_ranges
        Most ranges fetched ahead of the reader (0: no prefetch, the local case).
    prefetch_bytes
        Most bytes fetched ahead of the reader.

    Attributes
    ----------
    requests
        Number of ``read_range`` calls made (prefetches included).
    bytes_requested
        Total bytes asked for by those calls.
    """

    def __init__(self, file: RangeFile, chunk_size: int, prefetch_ranges: int = 0,
                 prefetch_bytes: int = 0) -> None:
        self.file = file
        self.size = file.size
        self.chunk_size = chunk_size
        self.next_chunk = min(FIRST_CHUNK, chunk_size)
        self.buf: bytes | memoryview = b""
        self.buf_start = 0
        self.requests = 0
        self.bytes_requested = 0
        self.prefetch_ranges = prefetch_ranges
        self.prefetch_bytes = prefetch_bytes
        # ranges fetched ahead, contiguous from the end of `buf`
        self.ahead: deque[tuple[int, int, Future[bytes | memoryview]]] = deque()
        self.ahead_bytes = 0
        self.ahead_limit = 1
        # no prefetch past this offset (a split's end; reads on demand go on)
        self.prefetch_stop: int | None = None

    def _range(self, start: int, min_end: int) -> tuple[int, int]:
        """Plan the next request from `start`: to `min_end` at least, or one chunk."""
        end = min(max(min_end, start + self.next_chunk), self.size)
        if self.prefetching:
            # a sustained read: full-size requests at once (each costs a round trip)
            self.next_chunk = self.chunk_size
        else:
            self.next_chunk = min(self.next_chunk * 2, self.chunk_size)
        self.requests += 1
        self.bytes_requested += end - start
        return start, end

    def _drop_ahead(self) -> None:
        for _, _, fut in self.ahead:
            fut.cancel()
        self.ahead.clear()
        self.ahead_bytes = 0

    @property
    def prefetching(self) -> bool:
        """True once the read has proved sequential (and prefetch is on)."""
        return self.prefetch_ranges > 0 and self.requests >= PREFETCH_AFTER_REQUESTS

    def _fill_ahead(self, pos: int) -> None:
        """Start fetching ranges after `pos` (the end of what is buffered).

        The number of ranges ahead ramps up (one more per range consumed) to
        ``prefetch_ranges``, so that a read stopping soon after prefetch starts
        wastes little.
        """
        if not self.prefetching:
            return
        if self.ahead:
            pos = self.ahead[-1][1]
        stop = self.size if self.prefetch_stop is None else min(self.size, self.prefetch_stop)
        while (pos < stop and len(self.ahead) < min(self.prefetch_ranges, self.ahead_limit)
               and self.ahead_bytes + self.next_chunk <= max(self.prefetch_bytes, self.next_chunk)):
            start, end = self._range(pos, pos)
            fut = IO_THREADS.get().submit(self.file.read_range, start, end)
            self.ahead.append((start, end, fut))
            self.ahead_bytes += end - start
            pos = end

    def view(self, start: int, length: int) -> memoryview:
        """Return bytes ``[start, start + length)`` (fewer only at the end of the source).

        Reads forward: data before `start` may be dropped from the buffer.

        Parameters
        ----------
        start
            File offset of the first byte.
        length
            Number of bytes.

        Returns
        -------
        memoryview
            A view of the buffer (it stays valid when the stream reads on).
        """
        return self.window(start, length)[:max(0, length)]

    def window(self, start: int, min_length: int) -> memoryview:
        """Return the buffered bytes from `start` on, reading more as needed.

        Parameters
        ----------
        start
            File offset of the first byte.  Reads forward: data before `start` may
            be dropped from the buffer.
        min_length
            Fewest bytes wanted (fewer only at the end of the source); at least
            one is returned unless `start` is at the end.

        Returns
        -------
        memoryview
            A view of the buffer from `start` to its end (it stays valid when the
            stream reads on).
        """
        buf_end = self.buf_start + len(self.buf)
        need_end = min(start + max(min_length, 1), self.size)
        if self.buf_start <= start and need_end <= buf_end:
            return memoryview(self.buf)[start - self.buf_start:]
        pieces: list[bytes | memoryview] = []
        if self.buf_start <= start < buf_end:
            if not self.prefetch_ranges and buf_end - start <= REREAD_LIMIT:
                # Without prefetch (local files), read the tail again with the next
                # range rather than copy both into a new buffer: a chunk-sized copy
                # per chunk took half the reading thread's time.
                cur = start
            else:
                pieces.append(memoryview(self.buf)[start - self.buf_start:])
                cur = buf_end
        else:
            cur = start
            if start < buf_end or (self.ahead and start >= self.ahead[-1][1]):
                self._drop_ahead()  # a jump: what was fetched ahead is of no use
        self.buf = b""
        while cur < need_end:
            if self.ahead and self.ahead[0][0] <= cur:
                s, e, fut = self.ahead.popleft()
                self.ahead_bytes -= e - s
                if e <= cur:
                    fut.cancel()
                    continue
                data = fut.result()
                self.ahead_limit += 1
                piece = memoryview(data)[cur - s:]
                pieces.append(piece)
                cur += len(piece)
                if cur < e:  # a source returned less than asked: refetch the rest
                    self._drop_ahead()
                    if not piece:
                        break
            else:
                self._drop_ahead()
                s, e = self._range(cur, need_end)
                data = self.file.read_range(s, e)
                pieces.append(data)
                if not data:
                    break  # the source ended early; the container layer reports it
                cur = s + len(data)
        if len(pieces) == 1:
            self.buf = pieces[0]
        else:
            self.buf = b"".join(pieces)
            # (a copy: zeros of a mapped file cut short would not be noticed later)
            check_unchanged(pieces, getattr(self.file, "path", "<source>"))
        self.buf_start = start
        self._fill_ahead(start + len(self.buf))
        return memoryview(self.buf)

    def find(self, pattern: bytes, start: int, before: int | None = None) -> int:
        """Find the first `pattern` at or after `start` (and before `before`).

        Parameters
        ----------
        pattern
            The bytes to find (such as a sync marker).
        start
            File offset where the search starts.
        before
            Only a match starting before this offset counts, and the search
            stops there.  ``None``: the end of the file.

        Returns
        -------
        int
            The file offset of the first match, or -1.
        """
        stop = self.size if before is None else min(self.size, before + len(pattern) - 1)
        pos = max(start, 0)
        while pos + len(pattern) <= stop:
            # at least a pattern's length per window, however small the reads, so
            # that consecutive windows overlap by all but one byte of it
            window = self.window(pos, max(len(pattern), min(self.next_chunk, stop - pos)))
            hit = bytes(window[: stop - pos]).find(pattern)
            if hit >= 0:
                return pos + hit
            if pos + len(window) >= stop:
                return -1
            pos += max(1, len(window) - len(pattern) + 1)
        return -1

    def close(self) -> None:
        """Drop the buffer, stop prefetching, and close the source."""
        self.buf = b""
        self._drop_ahead()
        self.file.close()
