"""Block codecs, keyed by the Avro codec name.

zstandard goes through cramjam, deflate/bzip2/xz through the standard library
(their decompressor objects bound the output size), and snappy through
`jetliner._snappy`, which releases the GIL (cramjam's does not), so that blocks
decompress in parallel on the decoding threads.

Every codec bounds its output by ``max_size`` before or while decompressing, so a
lying block or a decompression bomb costs at most ``max_size`` bytes of memory.
"""

from __future__ import annotations

import bz2
import lzma
import mmap
import zlib
from collections.abc import Callable
from typing import Protocol

import cramjam

from jetliner import _snappy as _snappy_raw
from jetliner.exceptions import CodecError

__all__ = ["CODECS", "get_codec"]

Buffer = bytes | memoryview | bytearray


def _too_big(max_size: int) -> CodecError:
    return CodecError(
        f"the block decompresses to more than max_block_size={max_size} bytes; raise "
        "max_block_size if the file is trusted"
    )


def _null(data: memoryview, max_size: int) -> Buffer:
    if len(data) > max_size:
        raise _too_big(max_size)
    return data


def _deflate(data: memoryview, max_size: int) -> Buffer:
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(data, max_size + 1)
    except zlib.error as exc:
        msg = f"invalid deflate data: {exc}"
        raise CodecError(msg) from exc
    if len(out) > max_size:
        raise _too_big(max_size)
    if not d.eof:
        msg = "the deflate stream ends before its final block (truncated or corrupt data)"
        raise CodecError(msg)
    return out


def _snappy(data: memoryview, max_size: int) -> Buffer:
    if len(data) < 4:
        msg = f"a snappy block needs a 4-byte CRC32 trailer, but the block has {len(data)} bytes"
        raise CodecError(msg)
    body, crc = data[:-4], int.from_bytes(data[-4:], "big")
    try:
        out = _snappy_raw.decompress_raw(body, max_size)
    except ValueError as exc:
        if str(exc) == "too big":
            raise _too_big(max_size) from None
        raise CodecError(str(exc)) from None
    view = memoryview(out)
    actual = zlib.crc32(view)
    if actual != crc:
        msg = f"snappy CRC32 mismatch: the block says {crc:08x}, its data gives {actual:08x}"
        raise CodecError(msg)
    return view


def _zstd_content_size(data: memoryview) -> int | None:
    """Frame_Content_Size from a zstd frame header, if the writer recorded it."""
    if len(data) < 6 or bytes(data[:4]) != b"\x28\xb5\x2f\xfd":
        return None
    fhd = data[4]
    fcs_flag, single, dict_flag = fhd >> 6, (fhd >> 5) & 1, fhd & 3
    pos = 5 + (0 if single else 1) + (0, 1, 2, 4)[dict_flag]
    size = (1 if single else 0, 2, 4, 8)[fcs_flag]
    if size == 0 or len(data) < pos + size:
        return None
    value = int.from_bytes(data[pos: pos + size], "little")
    return value + 256 if size == 2 else value


def _zstd(data: memoryview, max_size: int) -> Buffer:
    known = _zstd_content_size(data)
    if known is not None and known > max_size:
        raise _too_big(max_size)
    # the output buffer bounds the output; anonymous memory costs only what is touched
    cap = known if known is not None else min(max_size, max(1 << 20, 8 * len(data)))
    while True:
        out = mmap.mmap(-1, max(cap, 1))
        try:
            n = cramjam.zstd.decompress_into(data, out)
            return memoryview(out)[:n]
        except cramjam.DecompressionError as exc:
            if known is None and cap < max_size:
                cap = min(max_size, cap * 4)
                continue
            if known is None:
                msg = f"invalid zstandard data, or more than max_block_size={max_size} bytes: {exc}"
            else:
                msg = f"invalid zstandard data: {exc}"
            raise CodecError(msg) from exc


class _Decompressor(Protocol):
    """What `bz2.BZ2Decompressor` and `lzma.LZMADecompressor` have in common."""

    @property
    def eof(self) -> bool: ...

    def decompress(self, data: memoryview, max_length: int = -1, /) -> bytes: ...


def _stdlib(factory: Callable[[], _Decompressor],
            name: str) -> Callable[[memoryview, int], Buffer]:
    def decompress(data: memoryview, max_size: int) -> Buffer:
        d = factory()
        try:
            out = d.decompress(data, max_size + 1)
        except (OSError, lzma.LZMAError, ValueError, EOFError) as exc:
            msg = f"invalid {name} data: {exc}"
            raise CodecError(msg) from exc
        if len(out) > max_size:
            raise _too_big(max_size)
        if not d.eof:
            msg = f"the {name} stream is truncated"
            raise CodecError(msg)
        return out

    return decompress


CODECS: dict[str, Callable[[memoryview, int], Buffer]] = {
    "null": _null,
    "deflate": _deflate,
    "snappy": _snappy,
    "zstandard": _zstd,
    "bzip2": _stdlib(bz2.BZ2Decompressor, "bzip2"),
    "xz": _stdlib(lzma.LZMADecompressor, "xz"),
}


def get_codec(name: str, path: str | None = None) -> Callable[[memoryview, int], Buffer]:
    """Return the decompressor for an Avro codec name.

    Parameters
    ----------
    name
        The codec name, as in the header's ``avro.codec`` entry.
    path
        The file concerned, named by the error.

    Returns
    -------
    Callable[[memoryview, int], Buffer]
        ``decompress(data, max_size)``: the decompressed bytes of a block, at most
        ``max_size`` of them (`CodecError` beyond, or on invalid data).

    Raises
    ------
    CodecError
        If the codec is not supported; the message names the supported ones.
    """
    try:
        return CODECS[name]
    except KeyError:
        msg = (
            f"unsupported codec {name!r}; supported codecs are: {', '.join(CODECS)}"
        )
        raise CodecError(msg, path=path) from None
