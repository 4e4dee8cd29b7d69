r"""The Avro object container format: header and block framing.

A file is ``Obj\x01``, a metadata map (``avro.schema``, ``avro.codec`` and the
user's own keys; values are bytes), a 16-byte sync marker, then blocks.  A block
is a record count, a byte size, that many (compressed) bytes and the sync marker
again.  Nothing here decodes records: this module frames blocks and checks them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from jetliner._framing import (
    BAD_SYNC,
    BAD_VARINT,
    NEED_MORE,
    NEG_COUNT,
    NEG_SIZE,
    frame_window,
    read_long_at,
)
from jetliner._framing import OK as FRAMED
from jetliner.exceptions import BadBlockError, ParseError, SourceError
from jetliner.stream import ByteStream

__all__ = ["MAGIC", "Block", "Header", "iter_blocks", "read_header"]

MAGIC = b"Obj\x01"
SYNC_SIZE = 16
# Headers hold the schema and user metadata: generous, but bounded.
MAX_HEADER_SIZE = 64 * 1024 * 1024
_FIRST_HEADER_READ = 64 * 1024
_MAX_BLOCK_HEADER = 20  # two varints of at most 10 bytes


class _Truncated(Exception):
    pass


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    """Zig-zag varint at `pos` -> (value, next pos).  Raises `_Truncated` or ValueError."""
    status, value, after = read_long_at(buf, pos)
    if status == FRAMED:
        return value, after
    if status == NEED_MORE:
        raise _Truncated
    msg = "a variable-length integer is longer than 10 bytes or overflows 64 bits"
    raise ValueError(msg)


@dataclass
class Header:
    """A parsed container header.

    Attributes
    ----------
    metadata
        Every metadata entry, values as bytes (they need not be UTF-8).
    schema_json
        The writer schema (``avro.schema``), as text.
    codec
        ``avro.codec``; ``null`` when absent.
    sync
        The 16-byte sync marker.
    size
        Bytes from the start of the file to the first block.
    """

    metadata: dict[str, bytes]
    schema_json: str
    codec: str
    sync: bytes
    size: int


def read_header(stream: ByteStream, path: str) -> Header:
    """Parse the header at the start of `stream`.

    Parameters
    ----------
    stream
        The file, read from offset 0 (the header is read in growing windows, up
        to `MAX_HEADER_SIZE` bytes).
    path
        The file's name, for errors.

    Returns
    -------
    Header
        The parsed header.

    Raises
    ------
    ParseError
        When the bytes are not an Avro object container header.
    SourceError
        When the file is empty.
    """
    if stream.size == 0:
        msg = "the file is empty (0 bytes), expected an Avro object container file"
        raise SourceError(msg, "FileSystemError", path)
    length = min(_FIRST_HEADER_READ, stream.size)
    while True:
        buf = stream.view(0, length)
        try:
            return _parse_header(buf, path)
        except _Truncated:
            if length >= stream.size:
                msg = "the file ends inside the Avro header (truncated file?)"
                raise ParseError(msg, path=path, file_offset=len(buf)) from None
            if length >= MAX_HEADER_SIZE:
                msg = f"the Avro header is larger than {MAX_HEADER_SIZE} bytes; refusing to read it"
                raise ParseError(msg, path=path, file_offset=0) from None
            length = min(length * 4, stream.size, MAX_HEADER_SIZE)


def _parse_header(buf: memoryview, path: str) -> Header:
    magic = bytes(buf[:4])
    if len(magic) < 4:
        if MAGIC.startswith(magic):
            raise _Truncated
    if magic != MAGIC:
        if magic[:3] == b"Obj":
            msg = (
                f"unsupported Avro container version {magic[3]} (magic {magic!r}); only "
                f"version 1 ({MAGIC!r}) is defined by the Avro specification"
            )
        else:
            msg = f"not an Avro object container file: expected magic {MAGIC!r}, found {magic!r}"
        raise ParseError(msg, "InvalidMagic", path, file_offset=0)
    pos = 4
    meta: dict[str, bytes] = {}
    try:
        while True:
            count, pos = _varint(buf, pos)
            if count == 0:
                break
            if count < 0:  # a negative count is followed by the block's byte size
                count = -count
                _, pos = _varint(buf, pos)
            for _ in range(count):
                klen, pos = _varint(buf, pos)
                if klen < 0:
                    msg = f"negative metadata key length {klen}"
                    raise ParseError(msg, path=path, file_offset=pos)
                if pos + klen > len(buf):
                    raise _Truncated
                try:
                    key = bytes(buf[pos: pos + klen]).decode("utf-8")
                except UnicodeDecodeError as exc:
                    msg = f"a metadata key is not valid UTF-8: {exc}"
                    raise ParseError(msg, path=path, file_offset=pos) from exc
                pos += klen
                vlen, pos = _varint(buf, pos)
                if vlen < 0:
                    msg = f"negative metadata value length {vlen} for key {key!r}"
                    raise ParseError(msg, path=path, file_offset=pos)
                if pos + vlen > len(buf):
                    raise _Truncated
                meta[key] = bytes(buf[pos: pos + vlen])
                pos += vlen
    except ValueError as exc:
        if isinstance(exc, ParseError):
            raise
        raise ParseError(f"malformed Avro header: {exc}", path=path, file_offset=pos) from exc
    if pos + SYNC_SIZE > len(buf):
        raise _Truncated
    sync = bytes(buf[pos: pos + SYNC_SIZE])
    if "avro.schema" not in meta:
        msg = "the Avro header has no 'avro.schema' entry"
        raise ParseError(msg, path=path, file_offset=4)
    try:
        schema_json = meta["avro.schema"].decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"'avro.schema' is not valid UTF-8: {exc}"
        raise ParseError(msg, path=path, file_offset=4) from exc
    codec_raw = meta.get("avro.codec", b"null")
    codec = codec_raw.decode("utf-8", "replace") or "null"
    return Header(meta, schema_json, codec, sync, pos + SYNC_SIZE)


class _SyncMismatch(ParseError):
    """The bytes after a block are not the sync marker."""


@dataclass(slots=True)
class Block:
    """One framed block: its record count and its still-compressed bytes."""

    index: int
    count: int
    offset: int  # file offset of the block's first byte (its count)
    data: memoryview
    end: int  # file offset just past its sync marker


def iter_blocks(stream: ByteStream, header: Header, path: str,
                skipped: list[BadBlockError] | None = None, *, start: int = 0,
                end: int | None = None) -> Iterator[Block]:
    """Frame the blocks after the header, checking sizes and sync markers.

    The file must end exactly after a block's sync marker; anything else is a
    `ParseError` naming the offset.  With `skipped` (skip mode), the error is
    appended there instead, and framing resumes after the next sync marker.

    Parameters
    ----------
    stream
        The file.
    header
        Its parsed header (where the blocks start, the sync marker).
    path
        The file's name, for errors.
    skipped
        Skip mode: the list that collects a `BadBlockError` for each damaged
        region.  ``None`` (strict mode) raises instead.
    start, end
        A split (`jetliner.splits`): only the blocks that start in
        ``[start, end)`` are framed, the first one found after the first sync
        marker that ends at or after `start`.  Block indices then count from the
        split's first block.

    Yields
    ------
    Block
        The blocks, in file order; a block's data is a view of the stream's
        buffer (not a copy).

    Raises
    ------
    ParseError
        In strict mode, at the first framing error.
    """
    limit = stream.size if end is None else min(end, stream.size)
    pos = header.size
    if start > header.size:
        # the first block starting at or after `start` follows a sync marker
        # that ends there or later; it must start before `limit`
        hit = stream.find(header.sync, start - SYNC_SIZE, limit - SYNC_SIZE)
        if hit < 0:
            return
        pos = hit + SYNC_SIZE
    if pos >= limit:
        return
    yield from _frame(stream, header, path, skipped, pos, limit)


def _frame(stream: ByteStream, header: Header, path: str,
           skipped: list[BadBlockError] | None, pos: int, limit: int) -> Iterator[Block]:
    index = 0
    while True:
        try:
            for block in _frame_from(stream, header, path, pos, index, limit):
                index = block.index + 1
                yield block
            return
        except ParseError as exc:
            if skipped is None:
                if isinstance(exc, _SyncMismatch):  # users see the public type
                    raise ParseError(exc.message, exc.variant, exc.path, exc.file_offset,
                                     block_index=exc.block_index) from None
                raise
            damaged = exc.file_offset if exc.file_offset is not None else pos
            if isinstance(exc, _SyncMismatch):
                # only the marker may be damaged: the next block starts after it
                # (if not, framing fails again there and searches)
                skipped.append(BadBlockError(
                    f"{exc.message}; skipped the block before it", kind="InvalidSyncMarker",
                    stage="framing", path=path, block_index=exc.block_index,
                    file_offset=damaged))
                pos = damaged + SYNC_SIZE
                index = (exc.block_index or index) + 1
                if pos >= limit:
                    # The next split cannot find the block after the damaged
                    # marker (it looks for that marker): this one reads it, and
                    # only it.
                    limit = pos + 1
                continue
            # resynchronise: the next sync marker ends the damaged block (a
            # split looks no further than its blocks can start)
            hit = stream.find(header.sync, damaged + 1, limit - SYNC_SIZE)
            if hit >= 0:
                lost = f"bytes {damaged}..{hit + SYNC_SIZE}"
            elif limit < stream.size:
                lost = f"the rest of the split (its blocks start before byte {limit})"
            else:
                lost = "the rest of the file"
            skipped.append(BadBlockError(
                f"{exc.message}; skipped {lost}", kind="BlockParseFailed", stage="framing",
                path=path, block_index=exc.block_index, file_offset=damaged))
            if hit < 0:
                return
            pos = hit + SYNC_SIZE
            index = (exc.block_index or index) + 1
            if pos >= limit:
                return


def _frame_from(stream: ByteStream, header: Header, path: str, pos: int,
                index: int, limit: int) -> Iterator[Block]:
    """Frame the blocks that start in ``[pos, limit)``.

    Nothing is read for, and no error is raised about, a block starting at or
    after `limit` (in a split, the next split's).
    """
    size = stream.size
    want = 0
    while pos < size and pos < limit:
        window = stream.window(pos, want)
        window_start = pos
        window_end = pos + len(window)
        found: list[tuple[int, int, int, int]] = []
        status, stop, needed = frame_window(window, pos, header.sync, found)
        for offset, count, data_start, data_len in found:
            if offset >= limit:
                return
            rel = data_start - pos
            yield Block(index, count, offset, window[rel: rel + data_len],
                        data_start + data_len + SYNC_SIZE)
            index += 1
        pos = stop
        if status == FRAMED:
            want = 0
            continue
        # where the block that did not frame starts (for a bad sync marker, stop
        # is the marker's offset: the block started after the last framed one)
        failing = stop
        if status == BAD_SYNC:
            failing = found[-1][2] + found[-1][3] + SYNC_SIZE if found else window_start
        if failing >= limit:
            return
        if status == NEED_MORE:
            have = size - stop
            if needed > have:
                msg = (
                    f"block {index} needs {needed} bytes (header, data and {SYNC_SIZE}-byte sync "
                    f"marker), but only {have} bytes remain in the file (truncated file or "
                    "corrupt block size)"
                )
                raise ParseError(msg, path=path, block_index=index, file_offset=stop)
            if not needed and window_end >= size:
                msg = (
                    f"the file ends inside the header of block {index} ({have} trailing "
                    "bytes): truncated file or trailing garbage"
                )
                raise ParseError(msg, path=path, block_index=index, file_offset=stop)
            # a block header (at most 20 bytes) or block cut by the window's end
            want = needed or _MAX_BLOCK_HEADER
            continue
        if status == BAD_SYNC:
            msg = "sync marker mismatch after the block: the file is corrupt"
            raise _SyncMismatch(msg, "InvalidSyncMarker", path, file_offset=stop,
                                block_index=index)
        what = {
            BAD_VARINT: "a variable-length integer in the block header is longer than 10 bytes "
                        "or overflows 64 bits",
            NEG_COUNT: f"block {index} has a negative record count",
            NEG_SIZE: f"block {index} has a negative byte size",
        }[status]
        msg = f"malformed block header: {what}"
        raise ParseError(msg, path=path, block_index=index, file_offset=stop)
