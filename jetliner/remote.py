"""fsspec-backed sources: any URL that fsspec understands.

It covers ``s3://``, ``gs://``, ``memory://``, ``http(s)://`` and more.  Objects are
read with ranged requests, never through ``fs.open()`` and its read-ahead.  The
object's size (and, on S3 and HTTP(S), its ETag) is pinned when the file is
opened: every range must come back whole and from the same version, so a
replaced object is a `SourceChangedError` and a body cut short is retried, then
an error, never a silently shorter file.  Every request goes through
`jetliner.storage.call_with_retries`.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any

from jetliner.exceptions import (
    ConfigurationError,
    SourceChangedError,
    SourceError,
    SourceNotFoundError,
)
from jetliner.sources import (
    HIDDEN_PREFIXES,
    RangeFile,
    Source,
    empty_folder_message,
    expand_braces,
    has_glob,
    is_hidden,
)
from jetliner.storage import (
    RetryPolicy,
    ShortRead,
    call_with_retries,
    error_code,
    filesystem_options,
    typed_error,
)
from jetliner.stream import FIRST_CHUNK

__all__ = ["FsspecSource", "open_for_writing", "remove_object", "resolve_remote"]


def _etag(info: dict[str, Any]) -> str | None:
    for name in ("ETag", "etag", "e_tag"):
        value = info.get(name)
        if isinstance(value, str) and value:
            return value
    return None


# What an S3 open fetches at once: the stream's first request (the header and
# usually the first blocks), served from here.
OPEN_BYTES = FIRST_CHUNK


_PREFIX_HINT = ("{url!r} is a directory or prefix, not an object (end it with '/' to read "
                "every object under it, or use a glob such as '{url}/*.avro')")


def _is_prefix(fs: Any, path: str) -> bool:
    """Tell whether objects exist under ``path/`` (False when that cannot be known)."""
    try:
        return bool(fs.isdir(path))
    except Exception:  # noqa: BLE001 - only a hint: the not-found error is raised anyway
        return False


class _FsspecFile:
    """An open object: pinned size (and ETag), ranged reads with retries.

    On S3 the object is opened with a ranged GET of its first bytes, not a HEAD:
    one request instead of two, and errors come with their codes (a HEAD's error
    has no body, so refused credentials would be indistinguishable from a denied
    access).
    """

    def __init__(self, source: FsspecSource,
                 cancelled: Callable[[], bool] | None = None) -> None:
        self.source = source
        self.cancelled = cancelled
        self.url = source.path
        fs = source.fs
        self.is_s3 = source.protocol in ("s3", "s3a") and hasattr(fs, "_call_s3")
        self.etag: str | None = None
        self.first: bytes | None = None
        # set by close(): a prefetch still running then makes no further request
        self.closed = False
        if self.is_s3:
            try:
                first = call_with_retries(self._s3_open, source.policy, self.url, "opening",
                                          cancelled=self._stopped)
            except SourceNotFoundError as exc:
                if _is_prefix(fs, source.fs_path):  # one listing, on this failure only
                    raise SourceNotFoundError(_PREFIX_HINT.format(url=self.url),
                                              path=self.url) from exc
                raise
            if first is not None:
                return
        info = call_with_retries(lambda: fs.info(source.fs_path), source.policy, self.url,
                                 "opening", cancelled=self._stopped)
        if info.get("type") == "directory":
            raise SourceNotFoundError(_PREFIX_HINT.format(url=self.url), path=self.url)
        size = info.get("size")
        if size is None:
            size = call_with_retries(lambda: fs.size(source.fs_path), source.policy, self.url,
                                     "opening")
        if not isinstance(size, int) or size < 0:
            raise SourceError(
                f"the store does not report the size of {self.url!r} (got {size!r}); jetliner "
                "reads objects with ranged requests and needs it", path=self.url)
        self.size = size
        etag = _etag(info)
        # a weak ETag never matches If-Match: pin only strong ones
        self.etag = etag if etag and not etag.startswith("W/") else None

    def _s3_open(self) -> bytes | None:
        """GET the first bytes; learn the size and ETag.  None for an empty object."""
        try:
            data, etag, total = self._s3_get(0, OPEN_BYTES, pinned=False)
        except Exception as exc:
            if error_code(exc) == "InvalidRange":  # an empty object has no byte 0
                return None
            raise
        if total is None:  # no Content-Range: ask for the size
            info = self.source.fs.info(self.source.fs_path)
            total = info.get("size")
            if not isinstance(total, int):
                msg = f"the store does not report the size of {self.url!r}"
                raise SourceError(msg, path=self.url)
        self.size = total
        if len(data) != min(OPEN_BYTES, self.size):
            msg = f"asked for {min(OPEN_BYTES, self.size)} bytes at offset 0, received {len(data)}"
            raise ShortRead(msg)
        self.etag = etag
        self.first = data
        return data

    def _fetch(self, start: int, end: int) -> bytes:
        if self.is_s3:
            data, etag, _ = self._s3_get(start, end)
            if self.etag and etag and etag != self.etag:
                raise SourceChangedError(
                    f"{self.url!r} was replaced while it was being read (ETag {self.etag} "
                    f"when opened, {etag} now); read it again to get the new version",
                    path=self.url)
        else:
            kwargs = {}
            if self.etag and self.source.protocol in ("http", "https"):
                kwargs["headers"] = {"If-Match": self.etag}
            data = self.source.fs.cat_file(self.source.fs_path, start=start, end=end, **kwargs)
        if len(data) > end - start:
            raise SourceError(
                f"asked {self.url!r} for bytes {start}-{end} and received {len(data)} bytes: "
                "the server ignores ranged requests (HTTP Range), which jetliner needs",
                path=self.url)
        if len(data) != end - start:
            msg = f"asked for {end - start} bytes at offset {start}, received {len(data)}"
            raise ShortRead(msg)
        return data

    def _s3_get(self, start: int, end: int,
                pinned: bool = True) -> tuple[bytes, str | None, int | None]:
        """One ranged GET: the bytes, the ETag, and the object's total size."""
        from fsspec.asyn import sync

        fs = self.source.fs
        bucket, key, version = fs.split_path(self.source.fs_path)
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key,
                                  "Range": f"bytes={start}-{end - 1}"}
        if version:
            kwargs["VersionId"] = version
        if pinned and self.etag:
            kwargs["IfMatch"] = self.etag

        async def get() -> tuple[bytes, str | None, int | None]:
            resp = await fs._call_s3("get_object", **kwargs)
            try:
                data = await resp["Body"].read()
            finally:
                resp["Body"].close()
            total = None
            content_range = resp.get("ContentRange") or ""
            if "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
                total = int(content_range.rsplit("/", 1)[1])
            return data, resp.get("ETag"), total

        result: tuple[bytes, str | None, int | None] = sync(fs.loop, get)  # fsspec is untyped
        return result

    def read_range(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if end <= start:
            return b""
        first = self.first
        if first is not None and start == 0:
            self.first = None  # served once: the stream reads forward
            if end <= len(first):
                return first[:end]
        return call_with_retries(lambda: self._fetch(start, end), self.source.policy,
                                 self.url, f"reading bytes {start}-{end} of",
                                 cancelled=self._stopped)

    def _stopped(self) -> bool:
        """Say whether no further request may be made: closed, or its opener stopped."""
        return self.closed or (self.cancelled is not None and self.cancelled())

    def close(self) -> None:
        self.closed = True


class FsspecSource(Source):
    """One object of an fsspec filesystem.

    Parameters
    ----------
    fs
        The filesystem instance.
    path
        The object's path as `fs` names it (no protocol).
    url
        The object's URL, as errors and the file-path column show it.
    protocol
        The URL's protocol (``s3``, ``gs``, ...), lower case.
    policy
        How failed requests are retried.
    """

    is_remote = True

    def __init__(self, fs: Any, path: str, url: str, protocol: str, policy: RetryPolicy,
                 listed_size: int | None = None, base: str | None = None) -> None:
        self.fs = fs
        self.fs_path = path
        self.path = url
        self.protocol = protocol
        self.policy = policy
        self.listed_size = listed_size
        self.base = base

    def open(self, cancelled: Callable[[], bool] | None = None, *,
             memory_map: bool = True) -> RangeFile:
        """Open the object: pin its size (and ETag) for ranged reads.

        Parameters
        ----------
        cancelled
            Asked before each request; once it says True, none is made.

        Returns
        -------
        RangeFile
            The open object.

        Raises
        ------
        SourceError
            A subclass naming the failure: `SourceNotFoundError` (also for a
            directory or prefix), `AccessDeniedError`, `AuthenticationError`.
        """
        return _FsspecFile(self, cancelled)


def _filesystem(protocol: str, url: str,
                storage_options: dict[str, Any] | None) -> tuple[Any, RetryPolicy]:
    import fsspec

    kwargs, policy = filesystem_options(protocol, storage_options)
    try:
        cls = fsspec.get_filesystem_class(protocol)
    except (ImportError, ValueError) as exc:
        extra = " (pip install s3fs)" if protocol in ("s3", "s3a") else ""
        msg = f"cannot read {url!r}: no filesystem for {protocol!r} URLs{extra}: {exc}"
        raise ConfigurationError(msg) from exc
    from fsspec.utils import tokenize

    # the environment takes part in the key: credentials, profile or endpoint
    # changed there must reach new reads
    if protocol in ("s3", "s3a"):
        kwargs.update(cls._get_kwargs_from_urls(url))  # ?versionId= turns on versions
    # a forked child must not reuse its parent's event loop and connections
    token = tokenize(protocol, kwargs, _environment_fingerprint(), os.getpid())
    with _FS_LOCK:
        fs = _FS_CACHE.get(token)
        if fs is None:
            try:
                # jetliner's own instance (its settings differ from the defaults),
                # kept for reuse of connections across reads
                fs = cls(skip_instance_cache=True, **kwargs)
            except Exception as exc:  # noqa: BLE001 - any refusal of the options
                msg = f"storage_options for {protocol!r} URLs were not accepted: {exc!r}"
                raise ConfigurationError(msg) from exc
            if protocol in ("s3", "s3a"):
                fs.retries = 1  # one attempt per call: jetliner's retries are the only ones
            if len(_FS_CACHE) >= _FS_CACHE_SIZE:
                _FS_CACHE.pop(next(iter(_FS_CACHE)))  # the oldest
            _FS_CACHE[token] = fs
    return fs, policy


def _environment_fingerprint() -> tuple[Any, ...]:
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    stamps: list[tuple[int, int] | None] = []
    for var, default in (("AWS_CONFIG_FILE", "~/.aws/config"),
                         ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")):
        try:
            st = os.stat(os.path.expanduser(os.environ.get(var, default)))
            stamps.append((st.st_mtime_ns, st.st_size))
        except OSError:
            stamps.append(None)
    return env, tuple(stamps)


_FS_CACHE: dict[str, Any] = {}
_FS_CACHE_SIZE = 16
_FS_LOCK = threading.Lock()


def resolve_remote(url: str, *, glob: bool, storage_options: dict[str, Any] | None,
                   hidden_file_prefix: tuple[str, ...] | None = None) -> list[Source]:
    """Resolve a URL (a URL glob, a folder) into `FsspecSource` objects, sorted.

    Parameters
    ----------
    url
        An fsspec URL; with `glob`, ``* ** ? [..] {a,b}`` in its path are patterns
        (except in a versioned S3 URL, ``?versionId=``).  A URL ending in ``/``
        is a folder: every object under it, from one recursive listing.
    glob
        Expand glob patterns.
    storage_options
        Options of the filesystem (see `jetliner.storage.filesystem_options`).
    hidden_file_prefix
        Names skipped under a folder (``None``: those starting with ``_`` or
        ``.``); given, also the objects of a glob whose names start with one.

    Returns
    -------
    list[Source]
        One source per object; several for a glob or a folder, sorted by path.

    Raises
    ------
    ConfigurationError
        If no filesystem handles the protocol, or it refuses the options.
    SourceNotFoundError
        If a glob matches no object.
    SourceError
        If listing the objects fails.
    """
    scheme, rest = url.split("://", 1)
    protocol = scheme.lower()
    url = f"{protocol}://{rest}"
    fs, policy = _filesystem(protocol, url, storage_options)
    path = fs._strip_protocol(url)
    versioned = protocol in ("s3", "s3a") and "?versionId=" in rest
    if rest.endswith("/") and not versioned:
        return _folder(fs, path, url, protocol, policy,
                       HIDDEN_PREFIXES if hidden_file_prefix is None else hidden_file_prefix)
    if glob and not versioned and has_glob(path):
        found: dict[str, int | None] = {}
        for pattern in expand_braces(path):
            listing = call_with_retries(functools.partial(fs.glob, pattern, detail=True),
                                        policy, url, "listing")
            # folder markers (keys ending in '/') are not objects to read
            for p, info in listing.items():
                name = p.rsplit("/", 1)[-1]
                if (info.get("type") != "directory" and not p.endswith("/")
                        and not is_hidden(name, hidden_file_prefix or ())):
                    size = info.get("size")
                    found[p] = size if isinstance(size, int) and size >= 0 else None
        if not found:
            msg = f"no objects match the pattern {url!r}"
            raise SourceNotFoundError(msg, path=url)
        # each hit named as the user would write it: same scheme, no leading '/'
        return [FsspecSource(fs, p, f"{protocol}://{p.lstrip('/')}", protocol, policy,
                             found[p]) for p in sorted(found)]
    return [FsspecSource(fs, path, url, protocol, policy)]


def _folder(fs: Any, path: str, url: str, protocol: str, policy: RetryPolicy,
            hidden: tuple[str, ...]) -> list[Source]:
    """Every object under a folder, from one recursive listing (``fs.find``), sorted.

    Objects with a name below the folder (of the object, or of a folder on the way)
    starting with one of `hidden` are skipped, and so are empty objects (folder
    markers among them).
    """
    root = path.rstrip("/")
    listing = call_with_retries(functools.partial(fs.find, root, detail=True), policy, url,
                                "listing")
    found: dict[str, int | None] = {}
    for p, info in listing.items():
        rel = p[len(root):].lstrip("/") if p.startswith(root) else p
        if (info.get("type") == "directory" or p.endswith("/") or not rel
                or any(is_hidden(part, hidden) for part in rel.split("/"))):
            continue
        size = info.get("size")
        if size == 0:
            continue
        found[p] = size if isinstance(size, int) and size > 0 else None
    if not found:
        raise SourceNotFoundError(empty_folder_message(url, hidden), path=url)
    base = f"{protocol}://{root.lstrip('/')}/"
    return [FsspecSource(fs, p, f"{protocol}://{p.lstrip('/')}", protocol, policy, found[p],
                         base) for p in sorted(found)]


# Parts of an upload (S3: at least 5 MiB, at most 10,000 of them): 16 MiB bounds the
# memory a write holds and allows objects of up to 160 GB.
UPLOAD_PART = 16 * 1024 * 1024


def _store(url: str, storage_options: dict[str, Any] | None) -> tuple[Any, RetryPolicy, str]:
    """Return the filesystem of one object's `url`, its retry policy, and its path there."""
    fs, policy = _filesystem(url.split("://", 1)[0].lower(), url, storage_options)
    return fs, policy, fs._strip_protocol(url)


def open_for_writing(url: str, storage_options: dict[str, Any] | None
                     ) -> tuple[Any, Callable[[bool], None]]:
    """Open object `url` for writing; return the file and a function that ends it.

    Nothing is visible at `url` until the function is called with True: on S3 the
    object is uploaded in parts of a multipart upload completed then (or in one PUT
    at the end when it is small).  Called with False, it abandons the upload (an
    S3 multipart upload is aborted): no object and no orphan upload is left.
    """
    fs, policy, path = _store(url, storage_options)
    try:
        f = fs.open(path, "wb", block_size=UPLOAD_PART)
    except Exception as exc:  # noqa: BLE001 - classified into a typed error
        raise typed_error(exc, url, "opening for writing", 1) from exc
    request = getattr(f, "_call_s3", None)
    if callable(request):
        # s3fs: each request of the upload (start, part, completion, one-shot PUT,
        # abort) is retried as reads are; a part sent again replaces itself
        def retried(method: str, *args: Any, **kwargs: Any) -> Any:
            return call_with_retries(lambda: request(method, *args, **kwargs), policy, url,
                                     f"writing ({method})")

        f._call_s3 = retried

    class Out:
        """The object's writes, their failures as typed errors."""

        def write(self, data: bytes) -> int:
            try:
                return int(f.write(data))
            except Exception as exc:  # noqa: BLE001 - classified into a typed error
                raise typed_error(exc, url, "writing", 1) from exc

    def done(ok: bool) -> None:
        if ok:
            try:
                f.close()
            except Exception as exc:  # noqa: BLE001 - classified into a typed error
                raise typed_error(exc, url, "writing", 1) from exc
            return
        discard = getattr(f, "discard", None)
        try:
            if callable(discard):
                discard()  # s3fs: aborts the multipart upload
        finally:
            f.closed = True  # closing would complete what was discarded

    return Out(), done


def remove_object(url: str, storage_options: dict[str, Any] | None) -> None:
    """Remove object `url` (a partitioned write that failed removes what it completed)."""
    fs, _, path = _store(url, storage_options)
    try:
        fs.rm(path)
    except Exception as exc:  # noqa: BLE001 - classified into a typed error
        raise typed_error(exc, url, "removing", 1) from exc
