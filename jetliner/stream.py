"""Sequential, chunked reading over a `RangeFile`, with fetch counters.

The container layer asks for byte ranges in increasing order; `ByteStream` serves
them from one buffered chunk at a time, so that framing a block costs no system call
and a whole-file read costs ``size / chunk_size`` requests.  Counters record every
request so that tests can prove that early stopping reads less.
"""

from __future__ import annotations

from jetliner.sources import RangeFile

__all__ = ["ByteStream", "DEFAULT_LOCAL_CHUNK", "DEFAULT_REMOTE_CHUNK"]

# Local reads: 4 MiB amortises the system call and keeps head() cheap.
DEFAULT_LOCAL_CHUNK = 4 * 1024 * 1024
# Remote reads: round trips dominate, so fetch more per request.
DEFAULT_REMOTE_CHUNK = 8 * 1024 * 1024
# First request: the header and the first block or two (64 KiB is a typical block).
FIRST_CHUNK = 64 * 1024


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

    Attributes
    ----------
    requests
        Number of ``read_range`` calls made.
    bytes_requested
        Total bytes asked for by those calls.
    """

    def __init__(self, file: RangeFile, chunk_size: int) -> None:
        self.file = file
        self.size = file.size
        self.chunk_size = chunk_size
        self.next_chunk = min(FIRST_CHUNK, chunk_size)
        self.buf: bytes | memoryview = b""
        self.buf_start = 0
        self.requests = 0
        self.bytes_requested = 0

    def fetch(self, start: int, end: int) -> bytes | memoryview:
        """One counted request to the source."""
        self.next_chunk = min(self.next_chunk * 2, self.chunk_size)
        self.requests += 1
        self.bytes_requested += end - start
        return self.file.read_range(start, end)

    def view(self, start: int, length: int) -> memoryview:
        """Bytes ``[start, start + length)`` (fewer only at the end of the source).

        Reads forward: data before `start` may be dropped from the buffer.
        """
        return self.window(start, length)[:max(0, length)]

    def window(self, start: int, min_length: int) -> memoryview:
        """Buffered bytes from `start` on: at least `min_length` of them (fewer only
        at the end of the source), and at least one unless `start` is at the end.
        """
        buf_end = self.buf_start + len(self.buf)
        need_end = min(start + max(min_length, 1), self.size)
        if start < self.buf_start or need_end > buf_end:
            fetch_end = min(max(need_end, start + self.next_chunk), self.size)
            self.buf = self.fetch(start, fetch_end)
            self.buf_start = start
        return memoryview(self.buf)[start - self.buf_start:]

    def find(self, pattern: bytes, start: int) -> int:
        """File offset of the first `pattern` at or after `start`, or -1."""
        pos = start
        while pos < self.size:
            window = self.window(pos, self.next_chunk)
            hit = bytes(window).find(pattern)
            if hit >= 0:
                return pos + hit
            if pos + len(window) >= self.size:
                return -1
            pos += max(1, len(window) - len(pattern) + 1)
        return -1

    def close(self) -> None:
        """Drop the buffer and close the source."""
        self.buf = b""
        self.file.close()
