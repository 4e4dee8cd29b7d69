"""Block codecs, keyed by the Avro codec name: decompressors, and the writer's compressors.

deflate, bzip2, xz and zstandard go through the standard library's decompressor
objects (zstandard: ``compression.zstd``, or its backport before Python 3.14), which
bound the output size as they go; snappy goes through `jetliner._snappy` (with its
CRC32, several times faster than ``zlib.crc32``).  All of
them release the GIL, so that blocks decompress in parallel on the decoding threads.
(cramjam's zstd holds no size bound of its own: bounding it took an mmap per block,
which made it twice as slow.)

Every codec bounds its output by ``max_size`` before or while decompressing, so a
lying block or a decompression bomb costs at most ``max_size`` bytes of memory.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable
from typing import Protocol

try:  # Python 3.14+
    from compression import zstd as _zstdlib  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    from backports import zstd as _zstdlib  # type: ignore[no-redef,unused-ignore]

from jetliner import _snappy as _snappy_raw
from jetliner import _snappy_compress as _snappy_out
from jetliner.exceptions import CodecError, ConfigurationError

__all__ = ["CODECS", "CODEC_LEVELS", "get_codec", "get_compressor"]

Buffer = bytes | memoryview | bytearray


def _too_big(max_size: int) -> CodecError:
    return CodecError(
        f"the block decompresses to more than max_block_size={max_size} bytes (it exceeds "
        "the limit); raise max_block_size if the file is trusted", "OversizedOutput"
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
        raise CodecError(msg, "DecompressionError") from exc
    if len(out) > max_size:
        raise _too_big(max_size)
    if not d.eof:
        msg = "the deflate stream ends before its final block (truncated or corrupt data)"
        raise CodecError(msg, "DecompressionError")
    return out


def _snappy(data: memoryview, max_size: int) -> Buffer:
    if len(data) < 4:
        msg = f"a snappy block needs a 4-byte CRC32 trailer, but the block has {len(data)} bytes"
        raise CodecError(msg, "DecompressionError")
    body, crc = data[:-4], int.from_bytes(data[-4:], "big")
    try:
        # the CRC is computed in the same GIL-free call, over the fresh output
        out, actual = _snappy_raw.decompress_crc32(body, max_size)
    except ValueError as exc:
        if str(exc) == "too big":
            raise _too_big(max_size) from None
        raise CodecError(str(exc), "DecompressionError") from None
    view = memoryview(out)
    if actual != crc:
        msg = f"snappy CRC32 mismatch: the block says {crc:08x}, its data gives {actual:08x}"
        raise CodecError(msg, "DecompressionError")
    return view


def _zstd(data: memoryview, max_size: int) -> Buffer:
    # a block may hold several frames, one after the other
    parts: list[bytes] = []
    total = 0
    rest: bytes | memoryview = data
    while True:
        d = _zstdlib.ZstdDecompressor()
        try:
            part = d.decompress(rest, max_size + 1 - total)
        except _zstdlib.ZstdError as exc:
            msg = f"invalid zstandard data: {exc}"
            raise CodecError(msg, "DecompressionError") from exc
        total += len(part)
        if total > max_size:
            raise _too_big(max_size)
        if not d.eof:
            msg = "the zstandard stream is truncated"
            raise CodecError(msg, "DecompressionError")
        parts.append(part)
        rest = d.unused_data
        if not rest:
            return parts[0] if len(parts) == 1 else b"".join(parts)


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
            raise CodecError(msg, "DecompressionError") from exc
        if len(out) > max_size:
            raise _too_big(max_size)
        if not d.eof:
            msg = f"the {name} stream is truncated"
            raise CodecError(msg, "DecompressionError")
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
        raise CodecError(msg, "UnsupportedCodec", path, codec=name) from None


# -- compressors, for the writer

# codec -> (lowest, highest) compression level; None: the codec takes no level
CODEC_LEVELS: dict[str, tuple[int, int] | None] = {
    "null": None, "snappy": None, "deflate": (0, 9), "zstandard": (-22, 22),
    "bzip2": (1, 9), "xz": (0, 9),
}


def get_compressor(codec: str, level: int | None = None) -> Callable[[Buffer, bytearray], Buffer]:
    """Return the compressor of an Avro codec, at `level` (None: the codec's default).

    The compressor takes a block's bytes and a scratch `bytearray` of the caller's,
    which it may compress into (snappy does, and returns a view of it: the caller
    reuses the scratch for a later block only once that view is released), and
    returns the compressed block.  Snappy blocks get their CRC32 trailer
    (big-endian) here, as the format wants.

    Raises
    ------
    ConfigurationError
        An unknown codec, or a level the codec does not take.
    """
    if codec not in CODEC_LEVELS:
        msg = f"unsupported codec {codec!r}; the writer supports: {', '.join(CODEC_LEVELS)}"
        raise ConfigurationError(msg)
    bounds = CODEC_LEVELS[codec]
    if level is not None:
        if bounds is None:
            msg = f"codec {codec!r} takes no compression_level (got {level!r})"
            raise ConfigurationError(msg)
        if isinstance(level, bool) or not isinstance(level, int) \
                or not bounds[0] <= level <= bounds[1]:
            msg = (f"compression_level for {codec!r} must be an integer from {bounds[0]} "
                   f"to {bounds[1]}, got {level!r}")
            raise ConfigurationError(msg)
    if codec == "null":
        return lambda data, scratch: data
    if codec == "deflate":
        def deflate(data: Buffer, scratch: bytearray) -> Buffer:
            c = zlib.compressobj(-1 if level is None else level, zlib.DEFLATED, -15)
            return c.compress(data) + c.flush()
        return deflate
    if codec == "snappy":
        def snappy(data: Buffer, scratch: bytearray) -> Buffer:
            n = _snappy_out.compress_into(data, scratch)  # (leaves 32 bytes spare at least)
            scratch[n:n + 4] = _snappy_raw.crc32(data).to_bytes(4, "big")
            return memoryview(scratch)[:n + 4]
        return snappy
    if codec == "zstandard":
        options = {} if level is None else {"level": level}
        return lambda data, scratch: bytes(_zstdlib.compress(data, **options))
    if codec == "bzip2":
        return lambda data, scratch: bz2.compress(data, 9 if level is None else level)
    return lambda data, scratch: lzma.compress(data, preset=6 if level is None else level)
