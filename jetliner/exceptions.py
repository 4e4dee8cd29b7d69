"""The exception tree of jetliner.

Every error jetliner raises on purpose derives from `JetlinerError`.  Errors about
bad bytes carry where they were found: ``path``, ``block_index``,
``record_index`` and ``offset`` (a byte offset in the file for framing errors,
in the decompressed block for record errors).
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "BadBlockError",
    "CodecError",
    "ConfigurationError",
    "DecodeError",
    "JetlinerError",
    "ParseError",
    "SchemaError",
    "SourceChangedError",
    "SourceError",
    "SkippedDataWarning",
    "SourceNotFoundError",
]


class JetlinerError(Exception):
    """Base of every error raised by jetliner.

    Parameters
    ----------
    message
        What was expected, what was found, and what to do.
    path
        The file or object concerned, when there is one.
    block_index
        Index of the Avro block (0 for the first block after the header).
    record_index
        Index of the record inside its block.
    offset
        Byte offset: in the file for container errors, in the decompressed block
        for record errors.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        block_index: int | None = None,
        record_index: int | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.block_index = block_index
        self.record_index = record_index
        self.offset = offset

    def __str__(self) -> str:
        where = []
        if self.path is not None:
            where.append(f"file {self.path!r}")
        if self.block_index is not None:
            where.append(f"block {self.block_index}")
        if self.record_index is not None:
            where.append(f"record {self.record_index}")
        if self.offset is not None:
            where.append(f"byte offset {self.offset}")
        return f"{self.message} ({', '.join(where)})" if where else self.message


class ParseError(JetlinerError):
    """The container is malformed: bad magic, header, block framing or sync marker."""


class DecodeError(JetlinerError):
    """A record's bytes do not match the writer schema."""


class SchemaError(JetlinerError):
    """The writer schema is invalid, or schemas of several files are incompatible."""


class CodecError(JetlinerError):
    """A block cannot be decompressed, or the codec is not supported."""


class SourceError(JetlinerError):
    """The source cannot be read: I/O, network, or access problems."""


class SourceNotFoundError(JetlinerError, FileNotFoundError):
    """The file, object or bucket does not exist (a builtin `FileNotFoundError`).

    Deliberately not a `SourceError`: a missing input is usually a wrong name, not
    a failing store, and code written as ``except SourceError: ... except
    FileNotFoundError: ...`` handles the two apart.
    """


class SourceChangedError(SourceError):
    """The object was replaced or cut while it was being read (its ETag or size changed)."""


class AccessDeniedError(SourceError, PermissionError):
    """Access to the file or object was denied (also a builtin `PermissionError`)."""


class AuthenticationError(AccessDeniedError):
    """Credentials were missing, invalid or expired."""


class ConfigurationError(JetlinerError, ValueError):
    """An option has an invalid value or an unknown name (also a `ValueError`)."""


class BadBlockError(JetlinerError):
    """What ``ignore_errors=True`` skipped: one damaged region of a file.

    Parameters
    ----------
    message
        What was damaged and what was skipped.
    kind
        The `kind` attribute.
    records_lost
        The `records_lost` attribute.
    path
        The file concerned.
    block_index
        Index of the damaged block.
    record_index
        Index, in its block, of the first record that could not be decoded.
    offset
        Byte offset of the damage (see `JetlinerError`).

    Attributes
    ----------
    kind
        ``"framing"`` (block header or sync marker), ``"codec"`` (decompression),
        or ``"decode"`` (record bytes).
    records_lost
        Records of the block that could not be kept (None when unknown, as for
        framing damage, where the block's count cannot be trusted).
    """

    def __init__(self, message: str, *, kind: str, records_lost: int | None = None,
                 path: str | None = None, block_index: int | None = None,
                 record_index: int | None = None, offset: int | None = None) -> None:
        super().__init__(message, path=path, block_index=block_index,
                         record_index=record_index, offset=offset)
        self.kind = kind
        self.records_lost = records_lost

    @property
    def file_offset(self) -> int | None:
        """Byte offset in the file (framing) or the decompressed block (decode)."""
        return self.offset


class SkippedDataWarning(UserWarning):
    """Issued by `read_avro` and `scan_avro` when ``ignore_errors=True`` skipped data.

    Its ``errors`` attribute lists every skip as a `BadBlockError`; catch it with
    ``warnings.catch_warnings(record=True)`` to inspect them.

    Parameters
    ----------
    message
        A summary of what was skipped.
    errors
        Every skip, in file order.
    """

    def __init__(self, message: str, errors: list[BadBlockError]) -> None:
        super().__init__(message)
        self.errors = errors
