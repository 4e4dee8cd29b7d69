"""fsspec-backed sources: any URL fsspec understands (``memory://``, ``s3://``, ...).

Objects are read with ranged requests (``fs.cat_file(path, start, end)``), never
through ``fs.open()`` and its read-ahead.
"""

from __future__ import annotations

from typing import Any

from jetliner.exceptions import AccessDeniedError, SourceError, SourceNotFoundError
from jetliner.sources import Source, _expand_braces, _has_glob

__all__ = ["FsspecSource", "resolve_remote"]


def _translate(exc: BaseException, path: str) -> SourceError:
    if isinstance(exc, FileNotFoundError):
        return SourceNotFoundError(f"no such object: {path!r}", path=path)
    if isinstance(exc, PermissionError):
        return AccessDeniedError(f"access denied to {path!r}: {exc}", path=path)
    return SourceError(f"cannot read {path!r}: {exc}", path=path)


class _FsspecFile:
    def __init__(self, fs: Any, path: str, url: str) -> None:
        self.fs = fs
        self.path = path
        self.url = url
        try:
            self.size = int(fs.size(path))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a typed error
            raise _translate(exc, url) from exc

    def read_range(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if end <= start:
            return b""
        try:
            return self.fs.cat_file(self.path, start=start, end=end)
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, self.url) from exc

    def close(self) -> None:
        pass


class FsspecSource(Source):
    """One object of an fsspec filesystem."""

    is_remote = True

    def __init__(self, fs: Any, path: str, url: str) -> None:
        self.fs = fs
        self.fs_path = path
        self.path = url

    def open(self) -> _FsspecFile:
        return _FsspecFile(self.fs, self.fs_path, self.path)


def resolve_remote(url: str, *, glob: bool, storage_options: dict[str, Any] | None) -> list[Source]:
    """Resolve a URL (or URL glob) into `FsspecSource` objects, sorted."""
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
    except (ImportError, ValueError, TypeError) as exc:
        msg = f"cannot open {url!r}: {exc}"
        raise SourceError(msg, path=url) from exc
    protocol = url.split("://", 1)[0]
    if glob and _has_glob(path):
        found: set[str] = set()
        try:
            for p in _expand_braces(path):
                found.update(fs.glob(p))
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, url) from exc
        if not found:
            msg = f"no objects match the pattern {url!r}"
            raise SourceNotFoundError(msg, path=url)
        return [FsspecSource(fs, p, f"{protocol}://{p.lstrip('/')}" if protocol != "memory" else f"memory://{p}")
                for p in sorted(found)]
    return [FsspecSource(fs, path, url)]
