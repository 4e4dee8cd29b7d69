"""An independent model of what skip mode must keep from a damaged file.

Written from the documented rules, not from jetliner's code: blocks are framed
from the bytes; a block whose framing is broken is lost up to the next sync marker
(searched from the damage on); a block followed by a wrong sync marker is lost,
and framing goes on after that marker; a block that does not decompress is lost;
inside a block, the records before the first one that fails to decode are kept.
Decompression uses the standard libraries and cramjam/zstandard; records are
decoded by fastavro.
"""

from __future__ import annotations

import bz2
import io
import json
import lzma
import struct
import zlib
from typing import Any

import fastavro

MAGIC = b"Obj\x01"


class Unreadable(Exception):
    """The header itself is damaged: nothing can be kept."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Zig-zag varint at `pos` -> (value, next position); ValueError when malformed."""
    shift = result = 0
    for i in range(10):
        if pos + i >= len(data):
            raise ValueError("truncated varint")
        b = data[pos + i]
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            if result >= 1 << 64:
                raise ValueError("varint overflows")
            return (result >> 1) ^ -(result & 1), pos + i + 1
        shift += 7
    raise ValueError("varint too long")


def _header(data: bytes) -> tuple[dict[str, bytes], bytes, int]:
    """(metadata, sync marker, end of header) parsed from the bytes."""
    if not data.startswith(MAGIC):
        raise Unreadable("magic")
    pos, meta = 4, {}
    try:
        while True:
            count, pos = read_varint(data, pos)
            if count == 0:
                break
            if count < 0:
                _, pos = read_varint(data, pos)
                count = -count
            for _ in range(count):
                klen, pos = read_varint(data, pos)
                key = data[pos:pos + klen].decode()
                pos += klen
                vlen, pos = read_varint(data, pos)
                if klen < 0 or vlen < 0 or pos + vlen > len(data):
                    raise Unreadable("metadata")
                meta[key] = data[pos:pos + vlen]
                pos += vlen
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unreadable(str(exc)) from exc
    if pos + 16 > len(data):
        raise Unreadable("sync")
    return meta, data[pos:pos + 16], pos + 16


def _decompress(codec: str, raw: bytes) -> bytes:
    if codec == "null":
        return raw
    if codec == "deflate":
        return zlib.decompress(raw, -15)
    if codec == "snappy":
        import cramjam

        body, crc = raw[:-4], raw[-4:]
        if len(raw) < 4:
            raise ValueError("no CRC")
        out = bytes(cramjam.snappy.decompress_raw(body))
        if struct.pack(">I", zlib.crc32(out) & 0xFFFFFFFF) != crc:
            raise ValueError("CRC mismatch")
        return out
    if codec == "zstandard":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(raw)
    if codec == "bzip2":
        return bz2.decompress(raw)
    if codec == "xz":
        return lzma.decompress(raw)
    raise Unreadable(f"codec {codec}")


def surviving_records(data: bytes) -> list[Any]:
    """The records skip mode must return for `data`; `Unreadable` if none can be."""
    meta, sync, pos = _header(data)
    codec = meta.get("avro.codec", b"null").decode() or "null"
    try:
        schema = fastavro.parse_schema(json.loads(meta["avro.schema"]))
    except Exception as exc:  # noqa: BLE001
        raise Unreadable(f"schema: {exc}") from exc
    if codec not in ("null", "deflate", "snappy", "zstandard", "bzip2", "xz"):
        raise Unreadable(f"codec {codec}")
    out: list[Any] = []
    while pos < len(data):
        try:
            count, p = read_varint(data, pos)
            size, p = read_varint(data, p)
            if count < 0 or size < 0 or p + size + 16 > len(data):
                raise ValueError("framing")
        except ValueError:
            hit = data.find(sync, pos + 1)
            if hit < 0:
                break
            pos = hit + 16
            continue
        end = p + size
        if data[end:end + 16] != sync:
            pos = end + 16  # the block before a damaged marker is lost
            continue
        pos = end + 16
        try:
            raw = _decompress(codec, data[p:end])
        except Unreadable:
            raise
        except Exception:  # noqa: BLE001 - a block that does not decompress is lost
            continue
        buf = io.BytesIO(raw)
        for _ in range(count):
            try:
                out.append(fastavro.schemaless_reader(buf, schema, None))
            except Exception:  # noqa: BLE001 - the records before the damage are kept
                break
    return out
