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

Splits are plain, picklable descriptions: plan them in one process and read
them in others (`jetliner.AvroReader`, `jetliner.read_avro`,
`jetliner.scan_avro` and `jetliner.open` all accept a `Split` or a list of
them).
"""

from __future__ import annotations

import os
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from jetliner.exceptions import ConfigurationError
from jetliner.sources import RangeFile, Source, resolve_sources

__all__ = ["DEFAULT_SPLIT_SIZE", "Split", "SplitSource", "plan_splits"]

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

    def open(self) -> RangeFile:
        """Open the whole file (the header is at its start); see `Source.open`."""
        from jetliner.exceptions import SourceChangedError

        file = self.inner.open()
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


def split_source(split: Split, *, storage_options: dict[str, Any] | None) -> SplitSource:
    """Resolve a split's path (no globbing) into a `SplitSource`."""
    found = resolve_sources(split.path, glob=False, storage_options=storage_options)
    if len(found) != 1:  # a URL naming a prefix, say
        msg = f"a split must name one file, but {split.path!r} resolves to {len(found)}"
        raise ConfigurationError(msg, path=split.path)
    return SplitSource(found[0], split)


def plan_splits(
    source: Any,
    *,
    split_size: int = DEFAULT_SPLIT_SIZE,
    glob: bool = True,
    storage_options: dict[str, Any] | None = None,
) -> list[Split]:
    """Cut Avro files into byte-range splits of about `split_size` bytes.

    Only the files' sizes are looked up (a ``stat``, or a ``HEAD`` request per
    object); nothing is read.  Every file gets at least one split; its splits
    cover it end to end, in order.

    Parameters
    ----------
    source
        Paths, globs, URLs (``s3://...``), or a list of them.  Bytes and file
        objects cannot be split (a split is read by path).
    split_size
        Target bytes per split (at least 1); the last split of a file is shorter.
    glob
        Expand glob patterns.
    storage_options
        Credentials and settings for remote sources (the same keys as
        `jetliner.scan_avro`).

    Returns
    -------
    list[Split]
        The splits of every file, file by file.

    Raises
    ------
    ConfigurationError
        `split_size` is not a positive integer, or a source has no path.
    SourceNotFoundError
        A file does not exist or a glob matches nothing.

    Examples
    --------
    >>> splits = jetliner.plan_splits(jetliner.sample_path(), split_size=4096)
    >>> sum(jetliner.read_avro(s).height for s in splits) == jetliner.read_avro(
    ...     jetliner.sample_path()).height
    True
    """
    if not isinstance(split_size, int) or isinstance(split_size, bool) or split_size < 1:
        msg = f"split_size must be a positive number of bytes, got {split_size!r}"
        raise ConfigurationError(msg)
    from jetliner.sources import LocalSource

    out: list[Split] = []
    for src in resolve_sources(source, glob=glob, storage_options=storage_options):
        if not (isinstance(src, LocalSource) or src.is_remote):
            msg = (
                f"cannot split {src.path}: a split is read by path, so pass a path or URL, "
                "not bytes or a file object"
            )
            raise ConfigurationError(msg, path=src.path)
        with closing(src.open()) as f:
            size = f.size
        # an absolute path, so that a split means the same file in another
        # process or working directory (URLs are kept as they are)
        path = src.path if src.is_remote else os.path.abspath(src.path)
        start = 0
        while True:
            end = min(start + split_size, size)
            out.append(Split(path, start, end, size))
            if end >= size:
                break
            start = end
    return out
