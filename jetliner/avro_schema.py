"""The Avro schema of a Polars schema, and the encoder's plan for it.

The mapping is the inverse of the one jetliner reads with (see the "Schemas and
types" guide), so that a frame written and read back has the same columns:

- every column, struct field, list item and map value is nullable, as Polars columns
  are: it is written as the union ``["null", T]`` (null first, so that ``null`` is a
  valid default), whether or not it holds a null, at every depth; a column of the
  ``Null`` type is Avro's ``null``;
- Struct -> record, List and Array -> array, Map(String, V) -> map, Enum -> enum
  (when every category is a valid Avro name, else string), Categorical -> string,
  Decimal -> bytes ``decimal``, Date -> int ``date``, Time -> long ``time-micros``,
  Datetime -> long ``timestamp-*`` with a time zone and ``local-timestamp-*``
  without (in the column's unit), Duration -> long (a count of its unit, named in
  the ``jetliner.duration`` attribute), Binary -> bytes, Int8/Int16/Int32/UInt8/UInt16
  -> int, Int64/UInt32/UInt64 -> long, Float16/Float32 -> float, Float64 -> double.

Names are made valid Avro names (``[A-Za-z_][A-Za-z0-9_]*``) and unique; each nested
record and enum is named after its path below the top-level record's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from jetliner._encoder import EncodeOp
from jetliner.exceptions import SchemaError

__all__ = ["Derived", "derive_schema"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIV_TIME = 1000  # Polars Time counts nanoseconds, Avro's time-micros microseconds
_TIMESTAMP = {"ms": "millis", "us": "micros", "ns": "nanos"}


@dataclass
class Derived:
    """An Avro schema derived from a Polars schema, with the encoder's plan.

    Attributes
    ----------
    avro
        The Avro schema (a record), as JSON data.
    plan
        The encoder's nodes (see `jetliner._encoder`); node 0 is the record.
    kids
        The children of the nodes.
    renamed
        ``{original field path: written name}`` for the names that were not valid.
    """

    avro: dict[str, Any]
    plan: list[tuple[Any, ...]] = field(default_factory=list)
    kids: list[int] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)


def _valid(name: str) -> str:
    """`name` made a valid Avro name."""
    fixed = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not fixed or fixed[0].isdigit():
        fixed = "_" + fixed
    return fixed


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{name}_{n}"
        n += 1
    taken.add(candidate)
    return candidate


class _Builder:
    def __init__(self, record_name: str, namespace: str | None) -> None:
        self.plan: list[tuple[Any, ...]] = []
        self.kids: list[int] = []
        self.renamed: dict[str, str] = {}
        self.type_names: set[str] = set()
        self.namespace = namespace
        self.record_name = record_name

    def node(self, op: int, nullable: bool, path: str, div: int = 1,
             symbols: tuple[str, ...] | None = None) -> int:
        self.plan.append((int(op), int(nullable), 0, 0, div, symbols, path))
        return len(self.plan) - 1

    def set_kids(self, n: int, kids: list[int]) -> None:
        op, nullable, _, _, div, symbols, path = self.plan[n]
        self.plan[n] = (op, nullable, len(self.kids), len(kids), div, symbols, path)
        self.kids.extend(kids)

    def type_name(self, base: str) -> str:
        return _unique(_valid(base), self.type_names)

    def record(self, fields: list[tuple[str, Any]], path: str,
               name: str, nullable: bool) -> tuple[Any, int]:
        n = self.node(EncodeOp.EO_RECORD, nullable, path)
        # valid names keep their name; the others take a free one
        taken = {f for f, _ in fields if _NAME.fullmatch(f)}
        avro_fields = []
        kids = []
        for fname, dtype in fields:
            written = fname if _NAME.fullmatch(fname) else _unique(_valid(fname), taken)
            fpath = f"{path}.{fname}" if path else fname
            if written != fname:
                self.renamed[fpath] = written
            avro, kid = self.value(dtype, fpath, f"{name}_{written}")
            entry: dict[str, Any] = {"name": written, "type": avro}
            if isinstance(avro, list) and avro[0] == "null":
                entry["default"] = None
            avro_fields.append(entry)
            kids.append(kid)
        self.set_kids(n, kids)
        record: dict[str, Any] = {"type": "record", "name": self.type_name(name),
                                  "fields": avro_fields}
        return record, n

    def value(self, dtype: Any, path: str, name: str) -> tuple[Any, int]:
        """Return the Avro type of a nullable value of `dtype`, and its plan node."""
        if isinstance(dtype, pl.Null):
            return "null", self.node(EncodeOp.EO_NULL, False, path)
        avro, n = self.plain(dtype, path, name)
        return ["null", avro], n

    def plain(self, dtype: Any, path: str, name: str) -> tuple[Any, int]:
        """Return the Avro type of `dtype` (the value's, without the null branch)."""
        op = EncodeOp
        if isinstance(dtype, pl.Boolean):
            return "boolean", self.node(op.EO_BOOL, True, path)
        if isinstance(dtype, (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16)):
            return "int", self.node(op.EO_INT, True, path)
        if isinstance(dtype, (pl.Int64, pl.UInt32, pl.UInt64)):
            return "long", self.node(op.EO_INT, True, path)
        if isinstance(dtype, (pl.Float16, pl.Float32)):
            return "float", self.node(op.EO_FLOAT, True, path)
        if isinstance(dtype, pl.Float64):
            return "double", self.node(op.EO_DOUBLE, True, path)
        if isinstance(dtype, (pl.String, pl.Categorical)):
            return "string", self.node(op.EO_STRING, True, path)
        if isinstance(dtype, pl.Binary):
            return "bytes", self.node(op.EO_BYTES, True, path)
        if isinstance(dtype, pl.Enum):
            symbols = tuple(dtype.categories.to_list())
            if symbols and all(_NAME.fullmatch(s) for s in symbols) \
                    and len(set(symbols)) == len(symbols):
                enum = {"type": "enum", "name": self.type_name(name), "symbols": list(symbols)}
                return enum, self.node(op.EO_ENUM, True, path, symbols=symbols)
            # categories that are not Avro names: their text
            return "string", self.node(op.EO_STRING, True, path)
        if isinstance(dtype, pl.Date):
            return {"type": "int", "logicalType": "date"}, self.node(op.EO_INT, True, path)
        if isinstance(dtype, pl.Time):
            return ({"type": "long", "logicalType": "time-micros"},
                    self.node(op.EO_INT, True, path, div=_DIV_TIME))
        if isinstance(dtype, pl.Datetime):
            unit = _TIMESTAMP[dtype.time_unit or "us"]
            logical = f"timestamp-{unit}" if dtype.time_zone else f"local-timestamp-{unit}"
            return {"type": "long", "logicalType": logical}, self.node(op.EO_INT, True, path)
        if isinstance(dtype, pl.Duration):
            return ({"type": "long", "jetliner.duration": dtype.time_unit or "us"},
                    self.node(op.EO_INT, True, path))
        if isinstance(dtype, pl.Decimal):
            precision = dtype.precision if dtype.precision is not None else 38
            decimal = {"type": "bytes", "logicalType": "decimal", "precision": precision,
                       "scale": dtype.scale}
            return decimal, self.node(op.EO_DECIMAL, True, path)
        if isinstance(dtype, (pl.List, pl.Array)):
            n = self.node(op.EO_ARRAY, True, path)
            items, kid = self.value(dtype.inner, f"{path}[]", f"{name}_item")
            self.set_kids(n, [kid])
            return {"type": "array", "items": items}, n
        if isinstance(dtype, pl.Struct):
            return self.record([(f.name, f.dtype) for f in dtype.fields], path, name, True)
        if isinstance(dtype, pl.Map):
            if not isinstance(dtype.key, (pl.String, pl.Categorical)):
                raise SchemaError(f"column {path!r}: Avro map keys are strings, and its keys "
                                  f"are {dtype.key}; cast them to String")
            n = self.node(op.EO_MAP, True, path)
            key = self.node(op.EO_STRING, False, f"{path}{{key}}")
            values, kid = self.value(dtype.value, f"{path}{{}}", f"{name}_value")
            self.set_kids(n, [key, kid])
            return {"type": "map", "values": values}, n
        hint = {"Int128": "cast it to Int64 or Decimal(38, 0)",
                "UInt128": "cast it to UInt64 or Decimal(38, 0)"}.get(
                    type(dtype).__name__, "cast it to a type Avro holds")
        raise SchemaError(f"column {path!r} is of type {dtype}, which no Avro type holds; "
                          f"{hint}")


def derive_schema(schema: pl.Schema, record_name: str = "Record",
                  namespace: str | None = None) -> Derived:
    """Derive the Avro schema of a frame of `schema`, and the encoder's plan.

    Raises
    ------
    SchemaError
        For a column of a type that no Avro type holds (Object, Int128, ...), or a
        map whose keys are not strings; nothing is written then.
    """
    if not _NAME.fullmatch(record_name):
        msg = f"record_name must be a valid Avro name ([A-Za-z_][A-Za-z0-9_]*), got {record_name!r}"
        raise SchemaError(msg)
    if namespace is not None and not all(_NAME.fullmatch(p) for p in namespace.split(".")):
        msg = f"namespace must be dot-separated Avro names, got {namespace!r}"
        raise SchemaError(msg)
    b = _Builder(record_name, namespace)
    b.type_names.add(record_name)
    record, _ = b.record(list(schema.items()), "", record_name, False)
    record["name"] = record_name
    if namespace:
        record["namespace"] = namespace
    return Derived(record, b.plan, b.kids, b.renamed)
