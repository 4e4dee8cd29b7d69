"""fsspec-backed sources: any URL fsspec understands (``s3://``, ``gs://``,
``memory://``, ``http(s)://``, ...).

Objects are read with ranged requests, never through ``fs.open()`` and its
read-ahead.  The object's size (and, on S3, its ETag) is pinned when the file is
opened: every range must come back whole and from the same version of the object,
so a replaced object is a `SourceChangedError` and a body cut short is retried,
then an error, never a silently shorter file.  Every request goes through
`jetliner.storage.call_with_retries`.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from jetliner.exceptions import (
    ConfigurationError,
    SourceChangedError,
    SourceError,
    SourceNotFoundError,
)
from jetliner.sources import Source, _expand_braces, _has_glob
from jetliner.storage import RetryPolicy, ShortRead, call_with_retries, filesystem_options

__all__ = ["FsspecSource", "resolve_remote"]


def _etag(info: dict[str, Any]) -> str | None:
    for name in ("ETag", "etag", "e_tag"):
        value = info.get(name)
        if isinstance(value, str) and value:
            return value
    return None


class _FsspecFile:
    """An open object: pinned size (and ETag), ranged reads with retries."""

    def __init__(self, source: FsspecSource) -> None:
        self.source = source
        self.url = source.path
        fs = source.fs
        info = call_with_retries(lambda: fs.info(source.fs_path), source.policy, self.url,
                                 "opening")
        if info.get("type") == "directory":
            raise SourceNotFoundError(
                f"{self.url!r} is a directory or prefix, not an object (use a glob such as "
                f"'{self.url.rstrip('/')}/*.avro')", path=self.url)
        size = info.get("size")
        if size is None:
            size = call_with_retries(lambda: fs.size(source.fs_path), source.policy, self.url,
                                     "opening")
        if not isinstance(size, int) or size < 0:
            raise SourceError(
                f"the store does not report the size of {self.url!r} (got {size!r}); jetliner "
                "reads objects with ranged requests and needs it", path=self.url)
        self.size = size
        self.etag = _etag(info)
        self.is_s3 = source.protocol in ("s3", "s3a") and hasattr(fs, "_call_s3")

    def _fetch(self, start: int, end: int) -> bytes:
        if self.is_s3:
            data, etag = self._s3_get(start, end)
            if self.etag and etag and etag != self.etag:
                raise SourceChangedError(
                    f"{self.url!r} was replaced while it was being read (ETag {self.etag} "
                    f"when opened, {etag} now); read it again to get the new version",
                    path=self.url)
        else:
            data = self.source.fs.cat_file(self.source.fs_path, start=start, end=end)
        if len(data) > end - start:
            raise SourceError(
                f"asked {self.url!r} for bytes {start}-{end} and received {len(data)} bytes: "
                "the server ignores ranged requests (HTTP Range), which jetliner needs",
                path=self.url)
        if len(data) != end - start:
            msg = f"asked for {end - start} bytes at offset {start}, received {len(data)}"
            raise ShortRead(msg)
        return data

    def _s3_get(self, start: int, end: int) -> tuple[bytes, str | None]:
        from fsspec.asyn import sync

        fs = self.source.fs
        bucket, key, version = fs.split_path(self.source.fs_path)
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key,
                                  "Range": f"bytes={start}-{end - 1}"}
        if version:
            kwargs["VersionId"] = version
        if self.etag:
            kwargs["IfMatch"] = self.etag

        async def get() -> tuple[bytes, str | None]:
            resp = await fs._call_s3("get_object", **kwargs)
            try:
                return await resp["Body"].read(), resp.get("ETag")
            finally:
                resp["Body"].close()

        return sync(fs.loop, get)

    def read_range(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if end <= start:
            return b""
        return call_with_retries(lambda: self._fetch(start, end), self.source.policy,
                                 self.url, f"reading bytes {start}-{end} of")

    def close(self) -> None:
        pass


class FsspecSource(Source):
    """One object of an fsspec filesystem."""

    is_remote = True

    def __init__(self, fs: Any, path: str, url: str, protocol: str, policy: RetryPolicy) -> None:
        self.fs = fs
        self.fs_path = path
        self.path = url
        self.protocol = protocol
        self.policy = policy

    def open(self) -> _FsspecFile:
        return _FsspecFile(self)


def _filesystem(protocol: str, url: str, storage_options: dict[str, Any] | None) -> tuple[Any, RetryPolicy]:
    import fsspec

    kwargs, policy = filesystem_options(protocol, storage_options)
    try:
        cls = fsspec.get_filesystem_class(protocol)
    except (ImportError, ValueError) as exc:
        extra = " (pip install 'jetliner[s3]')" if protocol in ("s3", "s3a") else ""
        msg = f"cannot read {url!r}: no filesystem for {protocol!r} URLs{extra}: {exc}"
        raise ConfigurationError(msg) from exc
    from fsspec.utils import tokenize

    # the environment takes part in the key: credentials, profile or endpoint
    # changed there must reach new reads
    token = tokenize(protocol, kwargs, _environment_fingerprint())
    with _FS_LOCK:
        fs = _FS_CACHE.get(token)
        if fs is None:
            try:
                # jetliner's own instance (its settings differ from the defaults),
                # kept for reuse of connections across reads
                fs = cls(skip_instance_cache=True, **kwargs)
            except TypeError as exc:
                msg = f"storage_options for {protocol!r} URLs were not accepted: {exc}"
                raise ConfigurationError(msg) from exc
            if protocol in ("s3", "s3a"):
                fs.retries = 1  # one attempt per call: jetliner's retries are the only ones
            if len(_FS_CACHE) >= _FS_CACHE_SIZE:
                _FS_CACHE.pop(next(iter(_FS_CACHE)))  # the oldest
            _FS_CACHE[token] = fs
    return fs, policy


def _environment_fingerprint() -> tuple[Any, ...]:
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    stamps = []
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


def resolve_remote(url: str, *, glob: bool, storage_options: dict[str, Any] | None) -> list[Source]:
    """Resolve a URL (or URL glob) into `FsspecSource` objects, sorted."""
    protocol = url.split("://", 1)[0].lower()
    fs, policy = _filesystem(protocol, url, storage_options)
    path = fs._strip_protocol(url)
    if glob and _has_glob(path):
        found: set[str] = set()
        for pattern in _expand_braces(path):
            listing = call_with_retries(lambda p=pattern: fs.glob(p, detail=True), policy, url,
                                        "listing")
            found.update(p for p, info in listing.items() if info.get("type") != "directory")
        if not found:
            msg = f"no objects match the pattern {url!r}"
            raise SourceNotFoundError(msg, path=url)
        return [FsspecSource(fs, p, fs.unstrip_protocol(p), protocol, policy)
                for p in sorted(found)]
    return [FsspecSource(fs, path, url, protocol, policy)]
