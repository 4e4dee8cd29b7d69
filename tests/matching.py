"""Compare what jetliner read with what an independent Avro library read.

The comparison walks the writer schema (resolved here, independently of jetliner's
own schema module) and checks every value of jetliner's DataFrame against the
record the oracle (fastavro, or the Apache ``avro`` package) returned, following
the documented type mapping.  It never derives expectations from jetliner itself.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import struct
import uuid
from typing import Any

import numpy as np
import polars as pl

PRIMITIVE = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


class Names:
    """Named types of a schema, by full name."""

    def __init__(self, schema: Any) -> None:
        self.types: dict[str, dict] = {}
        self._collect(schema, None)

    def _collect(self, s: Any, ns: str | None) -> None:
        if isinstance(s, list):
            for b in s:
                self._collect(b, ns)
        elif isinstance(s, dict):
            t = s.get("type")
            if t in ("record", "error", "enum", "fixed"):
                name = s["name"]
                if "." in name:
                    full, inner = name, name.rsplit(".", 1)[0]
                else:
                    inner = s.get("namespace", ns) or None
                    full = f"{inner}.{name}" if inner else name
                s = dict(s)
                s["__ns"] = inner
                self.types[full] = s
                for f in s.get("fields", []):
                    self._collect(f["type"], inner)
            elif isinstance(t, (dict, list)):
                self._collect(t, ns)
            elif t == "array":
                self._collect(s["items"], ns)
            elif t == "map":
                self._collect(s["values"], ns)

    def resolve(self, s: Any, ns: str | None) -> tuple[Any, str | None]:
        """Follow references; returns the schema node and its namespace context."""
        while True:
            if isinstance(s, str) and s not in PRIMITIVE:
                for cand in ([s] if "." in s else ([f"{ns}.{s}"] if ns else []) + [s]):
                    if cand in self.types:
                        node = self.types[cand]
                        return node, node["__ns"]
                raise AssertionError(f"unresolvable name {s}")
            if isinstance(s, dict) and isinstance(s.get("type"), (dict, list)):
                s = s["type"]
                continue
            if isinstance(s, dict) and s.get("type") in ("record", "error", "enum", "fixed"):
                name = s["name"]
                full = name if "." in name else (
                    f"{s.get('namespace', ns)}.{name}" if s.get("namespace", ns) else name)
                node = self.types.get(full, s)
                return node, node.get("__ns", ns)
            if isinstance(s, dict) and s.get("type") not in PRIMITIVE and s.get("type") not in (
                    "array", "map"):
                s = s["type"]
                continue
            return s, ns


def _kind(s: Any) -> str:
    if isinstance(s, list):
        return "union"
    if isinstance(s, str):
        return s
    t = s["type"]
    return "record" if t == "error" else t


def _logical(s: Any) -> str | None:
    return s.get("logicalType") if isinstance(s, dict) else None


def _same_float(a: float, b: float | int, single: bool) -> bool:
    if isinstance(b, int):
        # An oracle may leave an int or long promoted to float/double as the
        # integer it read; the promotion is the nearest float, rounded once.
        b = float(np.float32(np.int64(b))) if single else float(b)
    if single:
        return struct.pack("<f", a) == struct.pack("<f", b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


def _epoch(value: Any, unit: str) -> int:
    """A datetime or an integer, as an integer count of `unit` since the epoch."""
    if isinstance(value, int):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return {"ms": micros // 1000, "us": micros, "ns": micros * 1000}[unit]


class Matcher:
    def __init__(self, schema: Any) -> None:
        self.names = Names(schema)
        self.schema = schema

    def fail(self, path: str, ours: Any, theirs: Any, why: str = "") -> None:
        raise AssertionError(f"at {path}: jetliner {ours!r} != oracle {theirs!r} {why}")

    def value(self, s: Any, ns: str | None, ours: Any, theirs: Any, path: str,
              recursive_stack: tuple = ()) -> None:
        s, ns = self.names.resolve(s, ns)
        kind = _kind(s)
        if isinstance(ours, str) and kind not in ("string", "bytes", "fixed", "enum", "union"):
            # a recursive field rendered as JSON
            return self.json(s, ns, json.loads(ours), theirs, path)
        if kind == "union":
            branches = [self.names.resolve(b, ns) for b in s]
            non_null = [(b, bns) for b, bns in branches if _kind(b) != "null"]
            if theirs is None and any(_kind(b) == "null" for b, _ in branches):
                if ours is not None:
                    self.fail(path, ours, theirs, "(expected null)")
                return
            if not non_null:
                if ours is not None:
                    self.fail(path, ours, theirs)
                return
            if len(non_null) == 1:
                return self.value(non_null[0][0], non_null[0][1], ours, theirs, path)
            if isinstance(ours, str) and not isinstance(theirs, str):
                return self.json(s, ns, json.loads(ours), theirs, path)
            if not isinstance(ours, dict):
                self.fail(path, ours, theirs, "(expected a struct of union branches)")
            set_fields = [k for k, v in ours.items() if v is not None]
            labels = self.labels([b for b, _ in non_null])
            if len(set_fields) != 1:
                # a branch whose own value is null-like (e.g. an all-null struct) is rare;
                # the union struct must still have exactly one branch set
                self.fail(path, ours, theirs,
                          f"(expected exactly one branch set, got {set_fields})")
            label = set_fields[0]
            b, bns = non_null[labels.index(label)]
            return self.value(b, bns, ours[label], theirs, f"{path}.{label}")
        if kind == "null":
            if ours is not None or theirs is not None:
                self.fail(path, ours, theirs)
            return
        if kind == "record":
            if not isinstance(ours, dict) or not isinstance(theirs, dict):
                self.fail(path, ours, theirs, "(expected records)")
            if len(ours) != len(s["fields"]):
                self.fail(path, sorted(ours), [f["name"] for f in s["fields"]], "(field names)")
            for f in s["fields"]:
                self.value(f["type"], ns, ours[f["name"]], theirs[f["name"]], f"{path}.{f['name']}")
            return
        if kind == "array":
            if ours is None or len(ours) != len(theirs):
                self.fail(path, ours, theirs, "(array length)")
            for i, (o, t) in enumerate(zip(ours, theirs, strict=True)):
                self.value(s["items"], ns, o, t, f"{path}[{i}]")
            return
        if kind == "map":
            # a pl.Map reads back as a dict
            if not isinstance(ours, dict) or list(ours) != list(theirs):
                self.fail(path, ours, theirs, "(map keys)")
            for k, t in theirs.items():
                self.value(s["values"], ns, ours[k], t, f"{path}[{k!r}]")
            return
        if kind == "enum":
            if ours != theirs:
                self.fail(path, ours, theirs)
            return
        self.scalar(s, kind, ours, theirs, path)

    def scalar(self, s: Any, kind: str, ours: Any, theirs: Any, path: str) -> None:
        logical = _logical(s)
        if kind in ("float", "double"):
            if not _same_float(ours, theirs, kind == "float"):
                self.fail(path, ours, theirs)
            return
        if kind in ("bytes", "fixed"):
            if logical == "decimal" and isinstance(theirs, decimal.Decimal):
                if decimal.Decimal(str(ours)) != theirs:
                    self.fail(path, ours, theirs)
                return
            if logical == "uuid" and kind == "fixed" and isinstance(ours, str):
                expect = theirs if isinstance(theirs, uuid.UUID) else uuid.UUID(bytes=bytes(theirs))
                if uuid.UUID(ours) != expect:
                    self.fail(path, ours, theirs)
                return
            if logical == "duration" and isinstance(ours, dict):
                raw = bytes(theirs) if isinstance(theirs, (bytes, bytearray)) else None
                if raw is None:
                    self.fail(path, ours, theirs, "(oracle duration not bytes)")
                m, d, ms = struct.unpack("<3I", raw)
                if ours != {"months": m, "days": d, "milliseconds": ms}:
                    self.fail(path, ours, theirs)
                return
            if logical == "big-decimal" and isinstance(ours, str):
                expect = theirs if isinstance(theirs, decimal.Decimal) else _big_decimal(theirs)
                if decimal.Decimal(ours) != expect:
                    self.fail(path, ours, theirs)
                return
            if logical == "decimal" and isinstance(ours, (decimal.Decimal, str)):
                self.fail(path, ours, theirs, "(oracle did not convert the decimal)")
            if bytes(ours) != bytes(theirs):
                self.fail(path, ours, theirs)
            return
        if kind == "string":
            if isinstance(theirs, uuid.UUID):
                theirs = str(theirs)
            if ours != theirs:
                self.fail(path, ours, theirs)
            return
        if kind == "long" and isinstance(ours, dt.datetime):
            unit = {"millis": "ms", "micros": "us", "nanos": "ns"}[logical.rsplit("-", 1)[1]]
            if _epoch(ours, unit) != _epoch(theirs, unit) and ours != theirs:
                self.fail(path, ours, theirs)
            if isinstance(theirs, dt.datetime) and (ours.tzinfo is None) != (theirs.tzinfo is None):
                self.fail(path, ours, theirs, "(time zone awareness)")
            return
        if isinstance(ours, dt.time) and isinstance(theirs, int):
            unit = 1000 if logical == "time-millis" else 1
            seconds = (ours.hour * 60 + ours.minute) * 60 + ours.second
            micros = seconds * 1_000_000 + ours.microsecond
            if micros != theirs * unit:
                self.fail(path, ours, theirs)
            return
        if isinstance(ours, dt.date) and isinstance(theirs, int):
            if (ours - dt.date(1970, 1, 1)).days != theirs:
                self.fail(path, ours, theirs)
            return
        if ours != theirs or type(ours) is not type(theirs):
            self.fail(path, ours, theirs)

    def labels(self, branches: list[Any]) -> list[str]:
        short = []
        for b in branches:
            if isinstance(b, dict) and "name" in b:
                short.append(b["name"].rsplit(".", 1)[-1])
            else:
                short.append(_kind(b))
        return short

    def json(self, s: Any, ns: str | None, j: Any, theirs: Any, path: str) -> None:
        """Compare the JSON rendering of a recursive value with the oracle's value."""
        s, ns = self.names.resolve(s, ns)
        kind = _kind(s)
        if kind == "union":
            if theirs is None:
                if j is not None:
                    self.fail(path, j, theirs)
                return
            errors = []
            for b in s:
                b2, bns = self.names.resolve(b, ns)
                if _kind(b2) == "null":
                    continue
                try:
                    return self.json(b2, bns, j, theirs, path)
                except (AssertionError, KeyError, TypeError, AttributeError) as exc:
                    errors.append(str(exc))
            self.fail(path, j, theirs, f"(no union branch matches: {errors})")
        if kind == "record":
            assert isinstance(j, dict) and list(j) == [f["name"] for f in s["fields"]], (path, j)
            for f in s["fields"]:
                self.json(f["type"], ns, j[f["name"]], theirs[f["name"]], f"{path}.{f['name']}")
            return
        if kind == "array":
            assert isinstance(j, list) and len(j) == len(theirs), (path, j, theirs)
            for i, (a, b) in enumerate(zip(j, theirs, strict=True)):
                self.json(s["items"], ns, a, b, f"{path}[{i}]")
            return
        if kind == "map":
            assert isinstance(j, dict) and list(j) == list(theirs), (path, j, theirs)
            for k in j:
                self.json(s["values"], ns, j[k], theirs[k], f"{path}[{k!r}]")
            return
        if kind in ("bytes", "fixed"):
            if j.encode("latin-1") != bytes(theirs):
                self.fail(path, j, theirs)
            return
        if kind in ("float", "double"):
            if not _same_float(float(j), theirs, kind == "float"):
                self.fail(path, j, theirs)
            return
        if j != theirs:
            self.fail(path, j, theirs)


def _big_decimal(raw: bytes) -> decimal.Decimal:
    """Decode Avro's big-decimal bytes: [unscaled as Avro bytes][scale as Avro int]."""
    from skip_oracle import read_varint  # the tests' own varint reader

    n, pos = read_varint(raw, 0)
    unscaled = int.from_bytes(raw[pos: pos + n], "big", signed=True)
    scale, _ = read_varint(raw, pos + n)
    return decimal.Decimal(unscaled).scaleb(-scale)


def assert_frame_matches(schema: Any, df: pl.DataFrame, records: list[Any]) -> None:
    """Every row of `df` matches the oracle's `records` under the writer `schema`."""
    assert df.height == len(records), f"jetliner read {df.height} rows, oracle {len(records)}"
    m = Matcher(schema)
    top, ns = m.names.resolve(schema, None)
    rows = df.to_dicts()
    if _kind(top) == "record":
        assert df.columns == [f["name"] for f in top["fields"]], (df.columns, top["fields"])
        for i, (ours, theirs) in enumerate(zip(rows, records, strict=True)):
            for f in top["fields"]:
                m.value(f["type"], ns, ours[f["name"]], theirs[f["name"]], f"row {i}.{f['name']}")
    else:
        assert df.columns == ["value"]
        for i, (ours, theirs) in enumerate(zip(rows, records, strict=True)):
            m.value(top, ns, ours["value"], theirs, f"row {i}")
