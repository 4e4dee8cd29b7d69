"""Byte-range splits of Avro files, cut on Avro's own block boundaries.

A file is cut into ranges ``[start, end)`` of about ``split_size`` bytes without
looking inside it.  A split owns exactly the blocks that *start* inside its
range, where a block starts just after the sync marker that precedes it: its
reader finds the first sync marker that ends at or after ``start``, reads blocks
from there, and stops before the first block that starts at or after ``end``
(the last block it reads may run past ``end``).  The file's header is read by
every split's reader; the first block, right after the header, belongs to the
split whose range holds the header's end.  Every block, hence every record, is
read by exactly one split of a file, whatever the split size; a split smaller
than a block, or inside the header, may own no block and reads as an empty
frame.

Splits are plain, picklable descriptions: plan them in one process
(`jetliner.plan_splits`) and read them in others (`jetliner.AvroReader`,
`jetliner.read_avro`, `jetliner.scan_avro` and `jetliner.open` all accept a
`Split` or a list of them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jetliner.exceptions import ConfigurationError, SourceChangedError
from jetliner.sources import RangeFile, Source

__all__ = ["DEFAULT_SPLIT_SIZE", "Split", "SplitSource"]

DEFAULT_SPLIT_SIZE = 128 * 1024 * 1024


@dataclass(frozen=True)
class Split:
    """A byte range of one Avro file; it owns the blocks that start inside it.

    Attributes
    ----------
    path
        The file: a local path or a URL (read with the ``storage_options`` given
        to the reader, which a split does not carry: no secrets in pickles).
    start
        First byte offset of the range.
    end
        Offset just past the range.
    file_size
        Size of the file when the split was planned (a reader refuses a file
        whose size has changed since).
    """

    path: str
    start: int
    end: int
    file_size: int

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path:
            msg = f"Split.path must be a non-empty string, got {self.path!r}"
            raise ConfigurationError(msg)
        for name in ("start", "end", "file_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                msg = f"Split.{name} must be a non-negative integer, got {value!r}"
                raise ConfigurationError(msg)
        if self.end < self.start:
            msg = f"Split.end ({self.end}) is before Split.start ({self.start})"
            raise ConfigurationError(msg)


class SplitSource(Source):
    """A `Source` whose reader frames only the blocks of a split."""

    def __init__(self, inner: Source, split: Split) -> None:
        self.inner = inner
        self.split = split
        self.path = inner.path
        self.is_remote = inner.is_remote

    def open(self, cancelled: Callable[[], bool] | None = None, *,
             memory_map: bool = True) -> RangeFile:
        """Open the whole file (the header is at its start); see `Source.open`."""
        file = self.inner.open(cancelled, memory_map=memory_map)
        if file.size != self.split.file_size:
            file.close()
            msg = (
                f"the file is {file.size} bytes but was {self.split.file_size} when the "
                "split was planned: it changed, plan the splits again"
            )
            raise SourceChangedError(msg, path=self.path)
        return file

    def __repr__(self) -> str:
        return f"SplitSource({self.path!r}, {self.split.start}, {self.split.end})"
