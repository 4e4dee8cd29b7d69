"""The exception tree of jetliner.

Every error jetliner raises on purpose derives from `JetlinerError`, which carries
``message`` (what was expected, what was found, what to do), ``variant`` (a short
machine-readable kind such as ``"InvalidMagic"``), ``path`` and ``to_dict()``.
Errors about bad bytes (`ParseError`, `DecodeError`, `CodecError`) also say where:
``block_index``, ``record_index``, ``file_offset`` (a byte offset in the file) and
``block_offset`` (a byte offset in the decompressed block).

The names, attributes, ``str``/``repr`` forms and ``to_dict()`` keys are those of
the earlier Rust-based ``jetliner`` 0.2.0, so that code written against it keeps
working; ``jetliner.FileNotFoundError`` and ``jetliner.PermissionError`` are the
names it used for `SourceNotFoundError` and `AccessDeniedError`.
"""

from __future__ import annotations

import builtins
import errno
import warnings
from typing import Any

__all__ = [
    "AccessDeniedError",
    "ArgumentTypeError",
    "AuthenticationError",
    "BadBlockError",
    "CodecError",
    "ConfigurationError",
    "DecodeError",
    "EncodeError",
    "FileNotFoundError",
    "JetlinerError",
    "ParseError",
    "PermissionError",
    "RenamedFieldsWarning",
    "SchemaError",
    "SkippedDataWarning",
    "SourceChangedError",
    "SourceError",
    "SourceNotFoundError",
    "UnknownOptionError",
]


class JetlinerError(Exception):
    """Base of every error raised by jetliner.

    Parameters
    ----------
    message
        What was expected, what was found, and what to do.
    variant
        A short machine-readable kind (``"InvalidMagic"``, ``"NotFound"``, ...);
        each class has its own default.
    path
        The file or object concerned, when there is one.
    block_index
        Index of the Avro block (0 for the first block after the header).
    record_index
        Index of the record inside its block.
    file_offset
        Byte offset in the file: where the damage is for container errors, where
        the block starts for record and codec errors.
    block_offset
        Byte offset in the decompressed block (record errors).
    offset
        Deprecated spelling: `file_offset` for container errors, `block_offset`
        for record errors.

    Attributes
    ----------
    message, variant, path, block_index, record_index, file_offset, block_offset
        As given.
    """

    default_variant = "Unknown"
    # the leading words of str(): "Parse error in 'f.avro' at block 2: ..."; empty: the
    # message alone
    label = ""
    # the fields repr() and to_dict() show, after message and variant
    fields: tuple[str, ...] = ("path",)

    def __init__(
        self,
        message: str,
        variant: str | None = None,
        path: str | None = None,
        *,
        block_index: int | None = None,
        record_index: int | None = None,
        file_offset: int | None = None,
        block_offset: int | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.variant = variant if variant is not None else self.default_variant
        self.path = path
        self.block_index = block_index
        self.record_index = record_index
        if offset is not None:  # the deprecated spelling, in its old meaning
            if isinstance(self, DecodeError) and block_offset is None:
                block_offset = offset
            elif file_offset is None:
                file_offset = offset
        self.file_offset = file_offset
        self.block_offset = block_offset

    @property
    def offset(self) -> int | None:
        """Deprecated: `block_offset` for record errors, else `file_offset`."""
        warnings.warn("JetlinerError.offset is deprecated: use file_offset or block_offset",
                      DeprecationWarning, stacklevel=2)
        return self.block_offset if self.block_offset is not None else self.file_offset

    def where(self) -> str:
        """Return where the error is, as ``str()`` shows it (``"in 'f' at block 2"``)."""
        parts = []
        if self.path is not None:
            parts.append(f"in {self.path!r}")
        at = []
        if self.block_index is not None:
            at.append(f"block {self.block_index}")
        if self.record_index is not None:
            at.append(f"record {self.record_index}")
        offsets = []
        if self.file_offset is not None:
            offsets.append(f"file offset {self.file_offset}")
        if self.block_offset is not None:
            offsets.append(f"block offset {self.block_offset}")
        if at:
            parts.append("at " + ", ".join(at))
            if offsets:
                parts.append(f"({', '.join(offsets)})")
        elif offsets:
            parts.append("at " + ", ".join(offsets))
        return " ".join(parts)

    def __str__(self) -> str:
        if not self.label:
            return self.message
        where = self.where()
        return f"{self.label} {where}: {self.message}" if where else f"{self.label}: {self.message}"

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"{type(self).__name__}({inner})"

    def to_dict(self) -> dict[str, Any]:
        """Return the error's fields: ``message``, ``variant``, then the class's own."""
        return {"message": self.message, "variant": self.variant,
                **{name: getattr(self, name) for name in self.fields}}

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuilt from the message, then the attributes (the arguments of a
        # builtin OSError base are not the constructor's)
        return (_rebuild, (type(self), self.message), self.__dict__)


def _rebuild(cls: type[JetlinerError], message: str) -> JetlinerError:
    return cls(message)


_LOCATED = ("path", "block_index", "record_index", "file_offset", "block_offset")


class ParseError(JetlinerError):
    """The container is malformed: bad magic, header, block framing or sync marker.

    Parameters
    ----------
    message, variant, path
        See `JetlinerError`.
    file_offset
        Byte offset of the damage in the file.
    **where
        ``block_index``, ``record_index``, ``block_offset`` (see `JetlinerError`).
    """

    default_variant = "Parse"
    label = "Parse error"
    fields = _LOCATED

    def __init__(self, message: str, variant: str | None = None, path: str | None = None,
                 file_offset: int | None = None, **where: Any) -> None:
        super().__init__(message, variant, path, file_offset=file_offset, **where)


class DecodeError(JetlinerError):
    """A record's bytes do not match the writer schema.

    Parameters
    ----------
    message, variant, path, block_index, record_index, file_offset, block_offset
        See `JetlinerError`.
    **where
        ``offset`` (deprecated).
    """

    default_variant = "Decode"
    label = "Decode error"
    fields = _LOCATED

    def __init__(self, message: str, variant: str | None = None, path: str | None = None,
                 block_index: int | None = None, record_index: int | None = None,
                 file_offset: int | None = None, block_offset: int | None = None,
                 **where: Any) -> None:
        super().__init__(message, variant, path, block_index=block_index,
                         record_index=record_index, file_offset=file_offset,
                         block_offset=block_offset, **where)


class SchemaError(JetlinerError):
    """The writer schema is invalid, or schemas of several files are incompatible.

    Parameters
    ----------
    message, variant, path
        See `JetlinerError`.
    schema_context
        The part of the schema concerned, when known.
    """

    default_variant = "Schema"
    label = "Schema error"
    fields = ("path", "schema_context")

    def __init__(self, message: str, variant: str | None = None, path: str | None = None,
                 schema_context: str | None = None) -> None:
        super().__init__(message, variant, path)
        self.schema_context = schema_context


class EncodeError(JetlinerError):
    """A value of the frame being written cannot be held by its Avro type.

    Nothing is left at the destination when it is raised.

    Parameters
    ----------
    message, variant, path
        See `JetlinerError`; ``path`` is the destination.
    column
        The column, or the path of the nested field (``"order.items[].price"``).
    row
        The row of the frame (counted from 0 over everything written in the call).
    """

    default_variant = "Encode"
    label = "Encode error"
    fields = ("path", "column", "row")

    def __init__(self, message: str, variant: str | None = None, path: str | None = None,
                 column: str | None = None, row: int | None = None) -> None:
        super().__init__(message, variant, path)
        self.column = column
        self.row = row

    def where(self) -> str:
        """Return where the error is (``"in 'out.avro', column 'x', row 3"``)."""
        parts = [f"in {self.path!r}"] if self.path is not None else []
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        return ", ".join(parts)


class CodecError(JetlinerError):
    """A block cannot be decompressed, or the codec is not supported.

    Parameters
    ----------
    message, variant, path
        See `JetlinerError`.
    codec
        The codec's name as the file's header gives it (``"deflate"``, ...).
    block_index
        Index of the block.
    file_offset
        Where the block starts in the file.
    """

    default_variant = "Codec"
    label = "Codec error"
    fields = ("path", "codec", "block_index", "file_offset")

    def __init__(self, message: str, variant: str | None = None, path: str | None = None,
                 codec: str = "", block_index: int | None = None,
                 file_offset: int | None = None, **where: Any) -> None:
        super().__init__(message, variant, path, block_index=block_index,
                         file_offset=file_offset, **where)
        self.codec = codec

    def __str__(self) -> str:
        label = f"{self.label} ({self.codec})" if self.codec else self.label
        where = self.where()
        return f"{label} {where}: {self.message}" if where else f"{label}: {self.message}"


class SourceError(JetlinerError):
    """The source cannot be read: I/O, network, or access problems."""

    default_variant = "Source"
    label = "Source error"
    fields = ("path", "file_offset")

    def where(self) -> str:
        """Return ``"for 'path'"`` (and the offset, when there is one)."""
        where = f"for {self.path!r}" if self.path is not None else ""
        if self.file_offset is not None:
            where = f"{where} at file offset {self.file_offset}".strip()
        return where


class _OSErrorMixin(JetlinerError):
    """A jetliner error that is also a builtin `OSError` with ``errno`` and ``filename``.

    ``str()`` is the message (which names the path).
    """

    oserror_errno = 0

    def __init__(self, message: str, variant: str | None = None, path: str | None = None,
                 **where: Any) -> None:
        super().__init__(message, variant, path, **where)
        # the builtin's attributes (``errno``, ``strerror``, ``filename``) and args
        builtins.OSError.__init__(self, self.oserror_errno, message, path)

    def __str__(self) -> str:
        return self.message


class SourceNotFoundError(_OSErrorMixin, builtins.FileNotFoundError):
    """The file, object or bucket does not exist (a builtin `FileNotFoundError`).

    Also named ``jetliner.FileNotFoundError``.  Deliberately not a `SourceError`:
    a missing input is usually a wrong name, not a failing store, and code
    written as ``except SourceError: ... except FileNotFoundError: ...`` handles
    the two apart.
    """

    default_variant = "NotFound"
    oserror_errno = errno.ENOENT


class SourceChangedError(SourceError):
    """The object was replaced or cut while it was being read (its ETag or size changed)."""

    default_variant = "SourceChanged"


class AccessDeniedError(_OSErrorMixin, SourceError, builtins.PermissionError):
    """Access to the file or object was denied (also a builtin `PermissionError`).

    Also named ``jetliner.PermissionError``.
    """

    default_variant = "PermissionDenied"
    oserror_errno = errno.EACCES


class AuthenticationError(SourceError):
    """Credentials were missing, invalid or expired.

    Not a `PermissionError`: the store did not deny access to this object, it
    refused who was asking.
    """

    default_variant = "AuthenticationFailed"
    label = "Authentication failed"


class ConfigurationError(JetlinerError, ValueError):
    """An option has an invalid value or an unknown name (also a `ValueError`)."""

    default_variant = "Configuration"
    fields = ()


class ArgumentTypeError(ConfigurationError, TypeError):
    """An argument of the wrong type: a `ConfigurationError` and, as in Python, a `TypeError`."""

    default_variant = "InvalidArgumentType"


class UnknownOptionError(ArgumentTypeError):
    """An unknown keyword argument: a `ConfigurationError` and, as in Python, a `TypeError`."""

    default_variant = "UnknownOption"


# The names jetliner 0.2.0 gave them (they shadow the builtins only inside this package's
# namespace: ``jetliner.FileNotFoundError``).
FileNotFoundError = SourceNotFoundError
PermissionError = AccessDeniedError


class BadBlockError(JetlinerError):
    """What ``ignore_errors=True`` skipped: one damaged region of a file.

    Parameters
    ----------
    message
        What was damaged and what was skipped.
    kind
        The `kind` attribute.
    stage
        The `stage` attribute.
    records_lost
        The `records_lost` attribute.
    path
        The file concerned.
    **where
        ``block_index``, ``record_index``, ``file_offset``, ``block_offset`` (see
        `JetlinerError`).

    Attributes
    ----------
    kind
        What went wrong: ``"InvalidSyncMarker"``, ``"BlockParseFailed"`` (a block's
        header or size), ``"DecompressionFailed(<codec>)"``, ``"RecordDecodeFailed"``.
    stage
        Where it went wrong: ``"framing"`` (block header or sync marker),
        ``"codec"`` (decompression), or ``"decode"`` (record bytes).
    records_lost
        Records of the block that could not be kept (None when unknown, as for
        framing damage, where the block's count cannot be trusted).
    filepath
        The file concerned (the same as `path`).
    """

    default_variant = "BadBlock"
    fields = ("kind", "block_index", "record_index", "file_offset", "message", "filepath",
              "stage", "records_lost", "block_offset")

    def __init__(self, message: str, *, kind: str, stage: str,
                 records_lost: int | None = None, path: str | None = None,
                 **where: Any) -> None:
        super().__init__(message, None, path, **where)
        self.kind = kind
        self.stage = stage
        self.records_lost = records_lost

    @property
    def filepath(self) -> str | None:
        """The file concerned (the same as `path`)."""
        return self.path

    def __str__(self) -> str:
        where = f" in {self.path!r}" if self.path is not None else ""
        at = f" Block {self.block_index}" if self.block_index is not None else ""
        if self.record_index is not None:
            at += f", record {self.record_index}"
        if self.file_offset is not None:
            at += f" at file offset {self.file_offset}"
        return f"[{self.kind}]{where}{at}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """Return the skip's fields (``kind``, ``block_index``, ..., ``filepath`` first)."""
        return {name: getattr(self, name) for name in self.fields}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_skip, (type(self), self.message), self.__dict__)


def _rebuild_skip(cls: type[BadBlockError], message: str) -> BadBlockError:
    return cls(message, kind="", stage="")


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


class RenamedFieldsWarning(UserWarning):
    """Issued by the writers when column or field names are not valid Avro names.

    Avro names match ``[A-Za-z_][A-Za-z0-9_]*``; other names are written sanitised
    (other characters replaced by ``_``, a leading digit prefixed with ``_``, repeats
    made unique with a suffix).  Its ``renamed`` attribute maps each field path to
    its new name.

    Parameters
    ----------
    message
        The renames, as text.
    renamed
        ``{original path: new name}``.
    """

    def __init__(self, message: str, renamed: dict[str, str]) -> None:
        super().__init__(message)
        self.renamed = renamed
