"""Sources: reopenable descriptions of where an Avro file's bytes are.

A `Source` is a description, not an open handle: ``Source.open()`` returns a
`RangeFile` (``size`` and ``read_range(start, end)``), which is the only I/O
contract the layers below rely on.  A LazyFrame stores sources and reopens them on
every collect.  This module holds the protocol and the sources that need no
library (local files, bytes, file objects); `jetliner.remote` adds fsspec
objects, `jetliner.splits` byte ranges of a file, and `jetliner.resolve` turns
what the user names into sources.
"""

from __future__ import annotations

import errno
import glob as globlib
import io
import os
import re
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO, Protocol

from jetliner._decoder import map_file, pread_pooled
from jetliner.exceptions import (
    AccessDeniedError,
    SourceChangedError,
    SourceError,
    SourceNotFoundError,
)

__all__ = ["HIDDEN_PREFIXES", "BytesSource", "FileObjectSource", "LocalSource", "RangeFile",
           "Source", "empty_folder_message", "expand_braces", "has_glob", "is_hidden", "is_url",
           "local_folder", "local_glob", "local_path", "translate_os_error"]

# Names a folder's listing skips unless told otherwise (hidden_file_prefix): writers'
# markers and side files, such as Spark's _SUCCESS and _temporary/ and Hadoop's .crc
HIDDEN_PREFIXES = ("_", ".")

_GLOB_CHARS = re.compile(r"[*?\[{]")


class RangeFile(Protocol):
    """An open source: its size and ranged reads."""

    size: int

    def read_range(self, start: int, end: int) -> bytes | memoryview:
        """Return bytes ``[start, end)`` (fewer only at the end of the source).

        Parameters
        ----------
        start
            Offset of the first byte.
        end
            Offset just past the last byte.

        Returns
        -------
        bytes | memoryview
            The bytes, ``end - start`` of them unless the source ends first.

        Raises
        ------
        SourceError
            Or a subclass, when the read fails.
        """
        ...

    def close(self) -> None:
        """Release the handle."""
        ...


class Source:
    """A reopenable input.  ``path`` is what errors and the file-path column show."""

    path: str
    is_remote: bool = False
    # the size a listing gave (a glob), known without a request of its own
    listed_size: int | None = None
    # the folder it was listed under, as a prefix of `path` ending in '/' (None: named
    # directly, or matched by a glob); Hive partitions are read below it
    base: str | None = None

    def open(self, cancelled: Callable[[], bool] | None = None, *,
             memory_map: bool = True) -> RangeFile:
        """Open for ranged reads.

        Parameters
        ----------
        cancelled
            Remote sources ask it before each request (the open's and later
            reads'), and make none once it says True; local ones never wait.
        memory_map
            Local files: map chunks of 1 MiB and more rather than read them (see
            `_pread`); other sources ignore it.

        Returns
        -------
        RangeFile
            The open source; the caller closes it.

        Raises
        ------
        SourceError
            Or a subclass, or `SourceNotFoundError`, when it cannot be opened.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"


# From this many bytes on, a local read maps the file rather than copy it
MAP_AT_LEAST = 1 << 20


def _pread(fd: int, n: int, offset: int, memory_map: bool = True) -> bytes | memoryview:
    """Read `n` bytes of `fd` from `offset` (fewer at the end of the file).

    With `memory_map`, chunks of `MAP_AT_LEAST` bytes and more are mapped (Linux;
    `map_file`): the
    page cache's pages are the bytes, where a copy cost a sixth of a selective
    query's time.  A file cut short while mapped reads as zeros there, which
    `check_unchanged` turns into an error.  Else into a pooled buffer whose pages
    an earlier chunk already faulted in (POSIX), else with ``os.pread``.
    """
    if os.name == "posix":
        if memory_map and n >= MAP_AT_LEAST:
            mapped = map_file(fd, n, offset)
            if mapped is not None:
                return memoryview(mapped)
        return memoryview(pread_pooled(fd, n, offset))
    return os.pread(fd, n, offset)


def check_unchanged(views: Iterable[Any], path: str) -> None:
    """Raise `SourceChangedError` if a file shrank under any of `views`.

    `views` are of bytes `_pread` returned (or anything else); where one is of a
    mapping whose file was cut short while mapped, its bytes past the new end
    read as zeros, not the file's.
    """
    seen: set[int] = set()
    for view in views:
        owner = view.obj if isinstance(view, memoryview) else None
        if owner is None or id(owner) in seen:
            continue
        seen.add(id(owner))  # (the blocks of a chunk share it: one look each)
        if getattr(owner, "shrunk", False):
            raise SourceChangedError(
                f"{path!r} shrank while it was being read (is it still being written?): "
                "bytes it no longer holds were read as zeros, and nothing decoded from "
                "them is returned", path=path)


class _LocalFile:
    def __init__(self, path: str, memory_map: bool = True) -> None:
        self.path = path
        self.memory_map = memory_map
        try:
            self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise translate_os_error(exc, path) from exc
        try:
            self.size = os.fstat(self.fd).st_size
        except OSError as exc:
            os.close(self.fd)
            raise translate_os_error(exc, path) from exc

    def read_range(self, start: int, end: int) -> bytes | memoryview:
        end = min(end, self.size)
        try:
            data = _pread(self.fd, max(0, end - start), start, self.memory_map)
        except OSError as exc:
            raise translate_os_error(exc, self.path) from exc
        if len(data) < end - start:
            msg = (
                f"{self.path!r} shrank while it was being read: {self.size} bytes when "
                f"opened, nothing past byte {start + len(data)} now (is it still being written?)"
            )
            raise SourceError(msg, path=self.path, file_offset=start + len(data))
        return data

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class LocalSource(Source):
    """A file on the local filesystem, read with ``pread`` or mapped (see `_pread`).

    Parameters
    ----------
    path
        The file's path.
    """

    def __init__(self, path: str | os.PathLike[str], base: str | None = None) -> None:
        self.path = os.fspath(path)
        self.base = base

    def open(self, cancelled: Callable[[], bool] | None = None, *,
             memory_map: bool = True) -> RangeFile:
        """Open the file; its size is taken now.

        Returns
        -------
        RangeFile
            The open file; the caller closes it.

        Raises
        ------
        SourceNotFoundError
            If the file does not exist.
        AccessDeniedError
            If it may not be read.
        SourceError
            If the path is a directory, or another failure.
        """
        if os.path.isdir(self.path):
            msg = (
                f"{self.path!r} is a directory, expected an Avro file (use a glob such as "
                "'dir/*.avro')"
            )
            raise SourceError(msg, "FileSystemError", self.path)
        return _LocalFile(self.path, memory_map)


class _MemoryFile:
    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.view = memoryview(data).cast("B")
        self.size = len(self.view)

    def read_range(self, start: int, end: int) -> memoryview:
        return self.view[start:end]

    def close(self) -> None:
        pass


class BytesSource(Source):
    """Bytes held in memory (``bytes``, ``bytearray``, ``memoryview``).

    Parameters
    ----------
    data
        The content of an Avro file (not copied).
    path
        What errors and the file-path column show for it.
    """

    def __init__(self, data: bytes | bytearray | memoryview, path: str = "<bytes>") -> None:
        self.data = data
        self.path = path

    def open(self, cancelled: Callable[[], bool] | None = None, *,
             memory_map: bool = True) -> RangeFile:
        """Open a view of the bytes.

        Returns
        -------
        RangeFile
            Reads of the bytes, without copying them.
        """
        return _MemoryFile(self.data)


class _FileObjectFile:
    def __init__(self, fileobj: BinaryIO, path: str) -> None:
        self.fileobj = fileobj
        self.path = path
        try:
            self.size = fileobj.seek(0, io.SEEK_END)
        except (OSError, AttributeError, ValueError) as exc:
            msg = f"the file object {path} is not seekable: {exc}"
            raise SourceError(msg, path=path) from exc

    def read_range(self, start: int, end: int) -> bytes:
        try:
            self.fileobj.seek(start)
            return self.fileobj.read(max(0, end - start))
        except (OSError, ValueError) as exc:
            msg = f"reading the file object failed: {exc}"
            raise SourceError(msg, path=self.path) from exc

    def close(self) -> None:
        pass  # not ours to close


class FileObjectSource(Source):
    """An open binary file object (``BytesIO``, an opened file); never closed by jetliner.

    Parameters
    ----------
    fileobj
        A seekable binary file object.  Its ``name``, when it has one, is what
        errors and the file-path column show.
    """

    def __init__(self, fileobj: BinaryIO) -> None:
        self.fileobj = fileobj
        self.path = getattr(fileobj, "name", None) or f"<{type(fileobj).__name__}>"
        if not isinstance(self.path, str):
            self.path = f"<{type(fileobj).__name__}>"

    def open(self, cancelled: Callable[[], bool] | None = None, *,
             memory_map: bool = True) -> RangeFile:
        """Open the file object for ranged reads (seek, then read).

        A ``BytesIO`` is read through a view of its buffer, without copying.

        Returns
        -------
        RangeFile
            Reads of the file object; closing it leaves the file object open.

        Raises
        ------
        SourceError
            If the file object is not seekable.
        """
        if isinstance(self.fileobj, io.BytesIO):
            return _MemoryFile(self.fileobj.getbuffer())
        return _FileObjectFile(self.fileobj, self.path)


def translate_os_error(exc: OSError, path: str) -> SourceError | SourceNotFoundError:
    """Map an `OSError` to jetliner's typed source errors.

    Parameters
    ----------
    exc
        The failure.
    path
        The file concerned.

    Returns
    -------
    SourceError | SourceNotFoundError
        `SourceNotFoundError` for a missing file, `AccessDeniedError` for a
        refused one, else `SourceError`; the caller chains `exc` to it.
    """
    if isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOENT:
        return SourceNotFoundError(
            f"no such file: {path!r} (check the path, or the working directory {os.getcwd()!r})",
            path=path,
        )
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        return AccessDeniedError(f"permission denied reading {path!r}", path=path)
    return SourceError(f"cannot read {path!r}: {exc}", path=path)


def expand_braces(pattern: str) -> list[str]:
    """Expand ``{a,b}`` alternatives: ``a{b,c}d`` -> ``[abd, acd]`` (nested braces too)."""
    m = re.search(r"\{([^{}]*)\}", pattern)
    if m is None:
        return [pattern]
    out: list[str] = []
    for alt in m.group(1).split(","):
        out.extend(expand_braces(pattern[: m.start()] + alt + pattern[m.end():]))
    return out


def has_glob(path: str) -> bool:
    """Return whether `path` holds glob characters (``* ? [ {``)."""
    return _GLOB_CHARS.search(path) is not None


def is_hidden(name: str, prefixes: tuple[str, ...]) -> bool:
    """Return whether a file or folder `name` starts with one of `prefixes`."""
    return name.startswith(prefixes)


def local_glob(pattern: str, hidden: tuple[str, ...] = ()) -> list[str]:
    """Return the files matching `pattern` (braces and ``**`` included), sorted.

    Files whose names start with one of `hidden` are left out.
    """
    found: set[str] = set()
    for p in expand_braces(pattern):
        found.update(m for m in globlib.glob(p, recursive=True)
                     if os.path.isfile(m) and not is_hidden(os.path.basename(m), hidden))
    return sorted(found)


def local_folder(folder: str, hidden: tuple[str, ...]) -> list[str]:
    """Return every non-empty file under `folder`, recursively, sorted by path.

    Files and folders below `folder` whose names start with one of `hidden` are
    skipped (with what they hold); so are empty files, as ``pl.scan_parquet``
    skips them in a folder.
    """
    out = []
    for top, dirs, files in os.walk(folder, onerror=_raise):
        dirs[:] = [d for d in dirs if not is_hidden(d, hidden)]
        for name in files:
            path = os.path.join(top, name)
            if not is_hidden(name, hidden) and os.path.isfile(path) and os.path.getsize(path):
                out.append(path)
    return sorted(out)


def empty_folder_message(folder: str, hidden: tuple[str, ...]) -> str:
    """Return the message of a folder that holds no file to read."""
    skipped = (f"names starting with {' or '.join(map(repr, hidden))}, "
               if hidden else "")
    return (f"the folder {folder!r} holds no file to read ({skipped}empty files and "
            "folders are skipped; see the hidden_file_prefix option)")


def _raise(exc: OSError) -> None:
    raise translate_os_error(exc, exc.filename or "") from exc


def is_url(path: str) -> bool:
    """Return whether `path` starts with a URL scheme (``s3://``, ``file://``, ...)."""
    return re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", path) is not None


def local_path(path: str) -> str | None:
    """Return the local path `path` names, or None for the URL of a remote store.

    A ``file://`` URL names the path after its scheme.
    """
    if path.startswith("file://"):
        return path[len("file://"):]
    return None if is_url(path) else path
