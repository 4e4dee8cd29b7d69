"""Resolution: what the user names, turned into the sources to read, or their splits.

The user names paths, globs, URLs, file objects, bytes, `jetliner.Split`s, or
lists of them.  `resolve_sources` is the one place that knows every kind of
source; every reading API, the CLI and `plan_splits` go through it.  Remote
URLs are handed to `jetliner.remote`, imported when the first URL is resolved.
"""

from __future__ import annotations

import os
from contextlib import closing
from pathlib import Path
from typing import Any

from jetliner.exceptions import ArgumentTypeError, ConfigurationError, SourceNotFoundError
from jetliner.sources import (
    HIDDEN_PREFIXES,
    BytesSource,
    FileObjectSource,
    LocalSource,
    Source,
    empty_folder_message,
    has_glob,
    local_folder,
    local_glob,
    local_path,
)
from jetliner.splits import DEFAULT_SPLIT_SIZE, Split, SplitSource

__all__ = ["is_folder", "plan_splits", "resolve_sources", "split_source"]


def resolve_sources(
    source: Any, *, glob: bool = True, storage_options: dict[str, Any] | None = None,
    hidden_file_prefix: tuple[str, ...] | None = None,
) -> list[Source]:
    """Resolve what the user passed into a non-empty list of sources.

    Parameters
    ----------
    source
        A path (``str`` or ``os.PathLike``), a folder (a local directory, or a URL
        ending in ``/``), a URL, a glob, a binary file object, bytes, a
        `jetliner.Split`, or a list/tuple of these.
    glob
        Expand glob patterns in string paths.
    storage_options
        Options for fsspec filesystems.
    hidden_file_prefix
        Names skipped in folders (``None``: those starting with ``_`` or ``.``);
        given, also the files of a glob whose names start with one.

    Returns
    -------
    list[Source]
        The sources, in reading order: list order, and the files of a glob or a
        folder sorted by path.  A folder's files carry it as their ``base``.

    Raises
    ------
    SourceNotFoundError
        When a glob or a folder matches nothing or a list is empty.
    ConfigurationError
        When `source` is of an unsupported type.
    """
    if isinstance(source, (list, tuple)):
        if not source:
            msg = "the list of sources is empty: pass at least one path"
            raise ConfigurationError(msg, "EmptySources")
        out: list[Source] = []
        for s in source:
            out.extend(resolve_sources(s, glob=glob, storage_options=storage_options,
                                       hidden_file_prefix=hidden_file_prefix))
        return out
    if isinstance(source, Source):
        return [source]
    if isinstance(source, Split):
        return [split_source(source, storage_options=storage_options)]
    if isinstance(source, (bytes, bytearray, memoryview)):
        return [BytesSource(source)]
    if hasattr(source, "read") and hasattr(source, "seek"):
        return [FileObjectSource(source)]
    if isinstance(source, Path) or isinstance(source, os.PathLike):
        return _local(os.fspath(source), source, hidden_file_prefix)
    if not isinstance(source, str):
        msg = (
            f"expected a path, URL, glob, file object or a list of them, got "
            f"{type(source).__name__}"
        )
        raise ArgumentTypeError(msg)
    path = local_path(source)
    if path is None:
        # imported on the first URL: remote reads need fsspec, storage options and the
        # retry machinery, which local reads (and `import jetliner`) should not pay for
        from jetliner.remote import resolve_remote

        return resolve_remote(source, glob=glob, storage_options=storage_options,
                              hidden_file_prefix=hidden_file_prefix)
    path = os.path.expanduser(path)
    if glob and has_glob(path):
        matches = local_glob(path, hidden_file_prefix or ())
        if not matches:
            msg = f"no files match the pattern {source!r}"
            raise SourceNotFoundError(msg, path=source)
        return [LocalSource(m) for m in matches]
    return _local(path, source, hidden_file_prefix)


def is_folder(source: Any) -> bool:
    """Tell whether `source` names one folder: a local directory, or a URL ending in '/'.

    Without a request: a URL is a folder by its trailing ``/`` alone.
    """
    if isinstance(source, (list, tuple)):
        return len(source) == 1 and is_folder(source[0])
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        return False
    path = local_path(source)
    if path is None:
        return source.endswith("/")
    return os.path.isdir(os.path.expanduser(path))


def _local(path: str, named: Any, hidden: tuple[str, ...] | None) -> list[Source]:
    """Return a local path's file, or every file of a folder (the folder as their base)."""
    if not os.path.isdir(path):
        return [LocalSource(path)]
    hidden = HIDDEN_PREFIXES if hidden is None else hidden
    files = local_folder(path, hidden)
    if not files:
        raise SourceNotFoundError(empty_folder_message(str(named), hidden), path=str(named))
    base = os.path.join(path, "")
    return [LocalSource(f, base) for f in files]


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

    Only the files' sizes are looked up: objects matched by a glob take theirs from
    the listing (no request per object); other sources are opened (a ``stat``
    locally; on S3 the object's first ranged request).  Every file gets at least
    one split; its splits cover it end to end, in order.

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
    out: list[Split] = []
    for src in resolve_sources(source, glob=glob, storage_options=storage_options):
        if not (isinstance(src, LocalSource) or src.is_remote):
            msg = (
                f"cannot split {src.path}: a split is read by path, so pass a path or URL, "
                "not bytes or a file object"
            )
            raise ConfigurationError(msg, path=src.path)
        size = src.listed_size  # objects of a glob: their listing gave it
        if size is None:
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
