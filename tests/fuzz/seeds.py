"""Seed files for fuzzing: valid Avro of every schema shape and codec, written by
fastavro, plus the shared corpus's files when it is present."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import uuid
from pathlib import Path
from typing import Any

import fastavro

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
CODECS = ("null", "deflate", "snappy", "zstandard", "bzip2", "xz")


def _record(name: str, fields: list[tuple[str, Any]]) -> dict:
    return {"type": "record", "name": name,
            "fields": [{"name": n, "type": t} for n, t in fields]}


def _shapes() -> list[tuple[str, Any, list[Any]]]:
    """(name, schema, records): one per shape the decoder has code for."""
    utc = dt.timezone.utc
    shapes: list[tuple[str, Any, list[Any]]] = []
    shapes.append(("primitives", _record("P", [
        ("b", "boolean"), ("i", "int"), ("l", "long"), ("f", "float"), ("d", "double"),
        ("s", "string"), ("y", "bytes")]),
        [{"b": i % 2 == 0, "i": i * 7 - 40, "l": i * 10**12, "f": i / 3, "d": -i / 7,
          "s": f"s{i}" * (i % 4), "y": bytes([i % 256]) * (i % 5)} for i in range(60)]))
    shapes.append(("nullable", _record("N", [
        ("a", ["null", "long"]), ("b", ["string", "null"]), ("c", ["null", "double"])]),
        [{"a": None if i % 3 == 0 else i, "b": None if i % 2 else "x" * i,
          "c": None if i % 5 == 0 else i * 0.5} for i in range(60)]))
    shapes.append(("nested", _record("Outer", [
        ("inner", _record("Inner", [("x", "int"), ("tags", {"type": "array", "items": "string"})])),
        ("m", {"type": "map", "values": ["null", "long"]}),
        ("grid", {"type": "array", "items": {"type": "array", "items": "double"}})]),
        [{"inner": {"x": i, "tags": [f"t{j}" for j in range(i % 4)]},
          "m": {f"k{j}": (None if j % 2 else j) for j in range(i % 3)},
          "grid": [[float(j)] * (i % 3) for j in range(i % 4)]} for i in range(50)]))
    shapes.append(("unions_enum_fixed", _record("U", [
        ("u", ["null", "int", "string", {"type": "array", "items": "long"}]),
        ("e", {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}),
        ("fx", {"type": "fixed", "name": "F4", "size": 4})]),
        [{"u": [None, i, f"s{i}", [i, i + 1]][i % 4], "e": "ABC"[i % 3],
          "fx": bytes([i % 256] * 4)} for i in range(60)]))
    shapes.append(("logical", _record("L", [
        ("date", {"type": "int", "logicalType": "date"}),
        ("tm", {"type": "int", "logicalType": "time-millis"}),
        ("tu", {"type": "long", "logicalType": "time-micros"}),
        ("ts", {"type": "long", "logicalType": "timestamp-millis"}),
        ("tsu", {"type": "long", "logicalType": "timestamp-micros"}),
        ("dec", {"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 4}),
        ("decf", {"type": "fixed", "name": "D8", "size": 8, "logicalType": "decimal",
                  "precision": 18, "scale": 2}),
        ("uid", {"type": "string", "logicalType": "uuid"}),
        ("dur", {"type": "fixed", "name": "Dur", "size": 12, "logicalType": "duration"})]),
        [{"date": dt.date(2020, 1, 1) + dt.timedelta(days=i),
          "tm": dt.time(i % 24, i % 60), "tu": dt.time(i % 24, 0, i % 60, i),
          "ts": dt.datetime(2021, 1, 1, tzinfo=utc) + dt.timedelta(seconds=i),
          "tsu": dt.datetime(2021, 1, 1, tzinfo=utc) + dt.timedelta(microseconds=i),
          "dec": decimal.Decimal(f"{i}.{i % 10000:04d}"),
          "decf": decimal.Decimal(f"-{i}.{i % 100:02d}"),
          "uid": str(uuid.UUID(int=i * 7919)),
          "dur": bytes(range(12))} for i in range(40)]))
    shapes.append(("recursive", {"type": "record", "name": "Node", "fields": [
        {"name": "v", "type": "int"}, {"name": "next", "type": ["null", "Node"]}]},
        [{"v": i, "next": {"v": i + 1, "next": None} if i % 2 else None} for i in range(400)]))
    shapes.append(("zero_byte", _record("Z", [
        ("nulls", {"type": "array", "items": "null"}),
        ("empty", _record("Empty", [])), ("n", "null")]),
        [{"nulls": [None] * (i % 5), "empty": {}, "n": None} for i in range(60)]))
    shapes.append(("top_level_int", "int", list(range(80))))
    shapes.append(("top_level_array", {"type": "array", "items": "string"},
                   [[f"a{j}" for j in range(i % 4)] for i in range(50)]))
    return shapes


def seed_files() -> list[tuple[str, bytes]]:
    """All seeds, deterministic: every shape with every codec, several blocks each."""
    out: list[tuple[str, bytes]] = []
    for name, schema, records in _shapes():
        parsed = fastavro.parse_schema(schema)
        for codec in CODECS:
            buf = io.BytesIO()
            fastavro.writer(buf, parsed, records, codec=codec, sync_interval=300,
                            sync_marker=b"J" * 15 + codec[:1].encode())
            out.append((f"{name}-{codec}", buf.getvalue()))
    for kind in ("valid", "malformed"):
        folder = CORPUS / kind
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_file() and path.stat().st_size <= 256 * 1024:
                    out.append((f"corpus-{kind}-{path.name}", path.read_bytes()))
    return out
