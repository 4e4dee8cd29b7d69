"""Appending blocks to an existing local Avro file (``mode="append"`` of the writer).

As Java's ``DataFileWriter.appendTo`` does, an append keeps the file's header: its
schema, codec and sync marker.  The header is read with the container layer; the
frame's derived Avro schema must equal the file's (parsed JSON, compared exactly),
and the new blocks go after the last one, with the file's sync marker.

An append that fails (a value its type cannot hold, an interrupted program, a full
disk) truncates the file back to the size it had before, so the file is left as it
was.  Only the death of the process in the middle of an append (a kill, a power cut)
can leave a partial block at the end; the next append sees it (the file no longer
ends with its sync marker) and refuses, and readers can skip it with
``ignore_errors=True``.  There is no locking: two processes appending to one file at
once make a broken file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from jetliner.container import SYNC_SIZE, Header, read_header
from jetliner.exceptions import ConfigurationError, ParseError, SchemaError
from jetliner.sources import LocalSource, translate_os_error
from jetliner.stream import FIRST_CHUNK, ByteStream

__all__ = ["Appender", "open_for_append"]


@dataclass
class Appender:
    """An existing file opened for appending.

    Attributes
    ----------
    out
        The file, positioned at its end.
    codec
        The file's codec, which the new blocks use.
    sync
        The file's sync marker, which the new blocks end with.
    done
        ``done(ok)`` closes the file; with ``ok`` False (or if closing fails) it first
        truncates the file back to its size before the append.
    """

    out: IO[bytes]
    codec: str
    sync: bytes
    done: Callable[[bool], None]


def _first_difference(file: Any, frame: Any, where: str) -> str:
    """Describe the first place where the schemas `file` and `frame` differ."""
    if isinstance(file, dict) and isinstance(frame, dict):
        if file.get("type") == frame.get("type") == "record":
            for key in ("name", "namespace"):
                if file.get(key) != frame.get(key):
                    return (f"{where or 'the top-level record'}: record {key} "
                            f"{file.get(key)!r} in the file, {frame.get(key)!r} from the frame")
            ffields, gfields = file.get("fields") or [], frame.get("fields") or []
            for i, (a, b) in enumerate(zip(ffields, gfields, strict=False)):
                fa = a.get("name") if isinstance(a, dict) else a
                fb = b.get("name") if isinstance(b, dict) else b
                if fa != fb:
                    return (f"field {i} of {where or 'the record'} is {fa!r} in the file, "
                            f"{fb!r} in the frame")
                if a != b:
                    path = f"{where}.{fa}" if where else str(fa)
                    if isinstance(a, dict) and isinstance(b, dict) \
                            and a.get("type") != b.get("type"):
                        return _first_difference(a.get("type"), b.get("type"), path)
                    return (f"field {path!r}: {json.dumps(a)} in the file, "
                            f"{json.dumps(b)} from the frame")
            if len(ffields) != len(gfields):
                extra = ffields[len(gfields):] or gfields[len(ffields):]
                name = extra[0].get("name") if isinstance(extra[0], dict) else extra[0]
                side = "file" if len(ffields) > len(gfields) else "frame"
                return (f"{where or 'the record'} has {len(ffields)} fields in the file and "
                        f"{len(gfields)} in the frame; field {name!r} is only in the {side}")
        for key in ("items", "values"):
            if key in file and key in frame and file[key] != frame[key]:
                suffix = "[]" if key == "items" else "{}"
                return _first_difference(file[key], frame[key], where + suffix)
    if isinstance(file, list) and isinstance(frame, list) and len(file) == len(frame):
        for a, b in zip(file, frame, strict=True):
            if a != b:
                return _first_difference(a, b, where)
    label = f"field {where!r}" if where else "the top-level schema"
    return f"{label}: {json.dumps(file)} in the file, {json.dumps(frame)} from the frame"


def _check_schema(header: Header, schema: dict[str, Any], path: str) -> None:
    try:
        written = json.loads(header.schema_json)
    except ValueError as exc:
        msg = f"the file's schema is not valid JSON ({exc}); it cannot be appended to"
        raise SchemaError(msg, path=path) from None
    frame = json.loads(json.dumps(schema))  # tuples as lists, as the file's JSON has them
    if written == frame:
        return
    msg = (f"cannot append: the frame's Avro schema differs from the file's "
           f"({_first_difference(written, frame, '')}). An append writes the file's "
           f"schema exactly: cast or rename the frame's columns to match the file (see "
           f"jetliner.read_avro_schema), pass the file's own schema as "
           f"schema=jetliner.open(path).schema (files of other writers need it), or "
           f"write a new file with mode='write'")
    raise SchemaError(msg, path=path)


def _check_options(header: Header, codec: str | None,
                   metadata: dict[str, str | bytes] | None, path: str) -> None:
    if codec is not None and codec != header.codec:
        msg = (f"cannot append to {path!r} with codec={codec!r}: the file's blocks are "
               f"{header.codec!r} and its header names one codec for all of them; pass "
               f"codec={header.codec!r} or none")
        raise ConfigurationError(msg)
    for key, value in (metadata or {}).items():
        raw = value.encode() if isinstance(value, str) else value
        if header.metadata.get(key) != raw:
            found = header.metadata.get(key)
            msg = (f"cannot append to {path!r} with metadata {key!r}={value!r}: the header "
                   f"is written once and has {found!r} for it; pass metadata=None (the "
                   f"file's metadata is kept)")
            raise ConfigurationError(msg)


def open_for_append(path: str, schema: dict[str, Any], codec: str | None,
                    metadata: dict[str, str | bytes] | None) -> Appender | None:
    """Open the Avro file at `path` to append rows of the Avro schema `schema`.

    Parameters
    ----------
    path
        A local path.
    schema
        The Avro schema the frames are written as (derived, or the user's).
    codec, metadata
        As passed by the user: each may be None, or must agree with the file.

    Returns
    -------
    Appender or None
        None when there is no file at `path`, or an empty one: the caller writes a
        new file, as Python's ``open(path, "a")`` creates one.

    Raises
    ------
    SchemaError
        When the file's schema differs from `schema`.
    ConfigurationError
        When `codec` or `metadata` contradict the file's header.
    ParseError
        When the file is not an Avro file, or does not end with its sync marker (a
        partial block left by an interrupted write).
    """
    if not os.path.exists(path) or (os.path.isfile(path) and os.path.getsize(path) == 0):
        return None
    file = LocalSource(path).open()
    stream = ByteStream(file, FIRST_CHUNK)
    try:
        header = read_header(stream, path)
        if stream.size > header.size \
                and bytes(stream.file.read_range(stream.size - SYNC_SIZE, stream.size)) \
                != header.sync:
            msg = ("the file does not end with its sync marker: its last block is incomplete "
                   "(an interrupted write?) and rows appended after it could not be read; "
                   "read what it holds with ignore_errors=True and write a new file")
            raise ParseError(msg, "InvalidSync", path, file_offset=stream.size - SYNC_SIZE)
    finally:
        stream.close()
    _check_schema(header, schema, path)
    _check_options(header, codec, metadata, path)
    try:
        out = open(path, "ab")  # noqa: SIM115 - closed by `done`
    except OSError as exc:
        raise translate_os_error(exc, path) from exc
    try:
        size = os.fstat(out.fileno()).st_size
        keep = os.dup(out.fileno())  # to truncate the file once `out` is closed
    except OSError as exc:
        out.close()
        raise translate_os_error(exc, path) from exc

    def done(ok: bool) -> None:
        try:
            if ok:
                try:
                    out.close()
                except BaseException:
                    os.ftruncate(keep, size)
                    raise
                return
            try:
                out.close()  # flushes what is buffered; the truncation drops it
            except OSError:
                pass  # the error being handled is the one to raise
            finally:
                os.ftruncate(keep, size)
        finally:
            os.close(keep)

    return Appender(out, header.codec, header.sync, done)
