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
from jetliner.schema import AvroType

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

    def node(self, op: int, nullable: int, path: str, div: int = 1,
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
        if isinstance(dtype, type):  # a dtype class (pl.String): its instance
            dtype = dtype()
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
            return decimal, self.node(op.EO_DECIMAL, True, path, div=0)  # bytes, not fixed
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


# ------------------------------------------------------------------ a given schema

_INTS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_TIME_DIV = {"time-millis": 1_000_000, "time-micros": 1_000}


def _refuse(path: str, dtype: Any, t: AvroType, why: str = "") -> SchemaError:
    return SchemaError(f"column {path!r}: a {dtype} cannot be written as Avro "
                       f"{describe_avro(t)}{why}; cast the column, or change the schema")


def describe_avro(t: AvroType) -> str:
    """Describe Avro type `t` in a few words, for errors."""
    if t.kind == "union":
        return "[" + ", ".join(describe_avro(b) for b in t.branches) + "]"
    base = f"{t.kind} {t.name}" if t.name else t.kind
    return f"{base} ({t.logical})" if t.logical else base


class _SchemaBuilder(_Builder):
    """The encoder's plan for a frame written to an Avro schema of the user's."""

    def given(self, t: AvroType, dtype: Any, path: str) -> int:
        """Return the plan node writing values of `dtype` as Avro type `t` (checked)."""
        if isinstance(dtype, type):  # a dtype class (pl.String): its instance
            dtype = dtype()
        op = EncodeOp
        nullable = 0
        if t.kind == "union":
            others = [b for b in t.branches if b.kind != "null"]
            if len(others) == len(t.branches):
                raise SchemaError(f"column {path!r}: unions without a null branch are not "
                                  f"written yet ({describe_avro(t)})")
            if not others:
                return self.given(t.branches[0], dtype, path)
            if len(others) > 1:
                raise SchemaError(f"column {path!r}: unions of several non-null types are "
                                  f"not written yet ({describe_avro(t)})")
            nullable = 1 if t.branches[0].kind == "null" else 2
            t = others[0]
        kind, logical = t.kind, t.logical
        if isinstance(dtype, pl.Null):
            if kind == "null" or nullable:
                # every value null: the null branch is written (any op binds a Null
                # array as all nulls; EO_NULL for Avro's null type itself)
                return self.node(op.EO_NULL if kind == "null" else op.EO_BOOL, nullable, path)
            raise _refuse(path, dtype, t, " (it has no null branch)")
        ok: bool
        if kind == "null":
            ok = False
        elif kind == "boolean":
            ok = isinstance(dtype, pl.Boolean)
        elif kind in ("int", "long") and logical == "date":
            ok = isinstance(dtype, pl.Date)
        elif kind in ("int", "long") and logical in _TIME_DIV:
            ok = isinstance(dtype, pl.Time)
        elif kind == "long" and logical and logical.startswith(("timestamp-",
                                                                  "local-timestamp-")):
            ok = isinstance(dtype, pl.Datetime) and (
                (dtype.time_zone is not None) == logical.startswith("timestamp-"))
        elif kind in ("int", "long"):
            ok = isinstance(dtype, _INTS)
        elif kind == "float":
            ok = isinstance(dtype, (pl.Float16, pl.Float32, *_INTS))
        elif kind == "double":
            ok = isinstance(dtype, (pl.Float16, pl.Float32, pl.Float64, *_INTS))
        elif kind == "string":
            ok = isinstance(dtype, (pl.String, pl.Categorical, pl.Enum))
        elif kind in ("bytes", "fixed") and logical == "decimal":
            ok = isinstance(dtype, (pl.Decimal, *_INTS)) and int(
                t.attrs.get("precision", 0)) <= 38
        elif kind == "bytes":
            ok = isinstance(dtype, (pl.Binary, pl.String))
        elif kind == "fixed":
            ok = isinstance(dtype, pl.Binary) and logical not in ("duration", "uuid")
        elif kind == "enum":
            ok = isinstance(dtype, (pl.Enum, pl.Categorical, pl.String))
        elif kind == "array":
            ok = isinstance(dtype, (pl.List, pl.Array))
            if ok:
                assert t.items is not None
                n = self.node(op.EO_ARRAY, nullable, path)
                self.set_kids(n, [self.given(t.items, dtype.inner, f"{path}[]")])
                return n
        elif kind == "map":
            ok = isinstance(dtype, pl.Map) and isinstance(dtype.key, pl.String)
            if ok:
                assert t.items is not None
                n = self.node(op.EO_MAP, nullable, path)
                key = self.node(op.EO_STRING, 0, f"{path}{{key}}")
                self.set_kids(n, [key, self.given(t.items, dtype.value, f"{path}{{}}")])
                return n
        elif kind == "record":
            ok = isinstance(dtype, pl.Struct)
            if ok:
                names = [f.name for f in dtype.fields]
                want = [name for name, _ in t.fields]
                if names != want:
                    raise SchemaError(
                        f"column {path!r}: its struct fields {names} are not the record's "
                        f"{want}, in that order; select them so")
                n = self.node(op.EO_RECORD, nullable, path)
                self.set_kids(n, [self.given(ft, f.dtype, f"{path}.{f.name}")
                                  for (_, ft), f in zip(t.fields, dtype.fields, strict=True)])
                return n
        else:
            ok = False
        if not ok:
            raise _refuse(path, dtype, t)
        return self.node(_plain_op(t), nullable, path, div=_div(t), symbols=_symbols(t))


def _plain_op(t: AvroType) -> int:
    op = EncodeOp
    if t.logical == "decimal" and t.kind in ("bytes", "fixed"):
        return int(op.EO_DECIMAL)
    return int({"null": op.EO_NULL, "boolean": op.EO_BOOL, "int": op.EO_INT,
                "long": op.EO_INT, "float": op.EO_FLOAT, "double": op.EO_DOUBLE,
                "string": op.EO_STRING, "bytes": op.EO_BYTES, "fixed": op.EO_FIXED,
                "enum": op.EO_ENUM}[t.kind])


def _div(t: AvroType) -> int:
    if t.kind == "fixed":
        return t.size
    if t.kind in ("int", "long") and t.logical in _TIME_DIV:
        return _TIME_DIV[t.logical]
    return 1 if t.kind != "bytes" else 0


def _symbols(t: AvroType) -> tuple[str, ...] | None:
    return tuple(t.symbols) if t.kind == "enum" else None


def plan_for_schema(root: AvroType, schema_json: Any, frame: pl.Schema) -> Derived:
    """Return the encoder's plan for frames of `frame`'s columns written as record `root`.

    Columns are matched to the record's fields by name (the frame is selected in the
    record's order before encoding, and cast to the types the record reads as).

    Raises
    ------
    SchemaError
        A field without a column, a column without a field, or a column whose type
        the field's type cannot hold, naming the column and both types.
    """
    if root.kind != "record":
        raise SchemaError(f"schema= must be a record, got {describe_avro(root)}")
    names = [name for name, _ in root.fields]
    missing = [n for n in names if n not in frame]
    extra = [c for c in frame if c not in names]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"no column for field(s) {missing}")
        if extra:
            parts.append(f"column(s) {extra} not in the schema")
        raise SchemaError(f"the frame does not fit the schema: {'; '.join(parts)}")
    b = _SchemaBuilder("Record", None)
    n = b.node(EncodeOp.EO_RECORD, False, "")
    b.set_kids(n, [b.given(t, frame[name], name) for name, t in root.fields])
    return Derived(schema_json, b.plan, b.kids, {})
