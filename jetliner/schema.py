"""Avro schemas: parsing, the mapping to Polars types, and compilation into a plan.

`parse_schema` turns the writer schema's JSON into a graph of `AvroType` nodes
(named types resolved, so a recursive type is a cycle).  `compile_plan` walks that
graph once per file and projection and produces the flat `Plan` executed by the
compiled decoder, together with the Polars dtype of every output column.  The
dtype and the decoding of a column come from the same walk, so every API maps a
schema identically.

Type mapping (Avro -> Polars)
-----------------------------
boolean/int/long/float/double -> Boolean/Int32/Int64/Float32/Float64;
string -> String; bytes, fixed -> Binary; enum -> Enum(symbols);
array -> List; map -> Map(String, V); record -> Struct;
["null", T] in either order -> T, nullable;
a union of several non-null types -> Struct with one field per branch, exactly one
set per row (the struct itself is null for the null branch);
date -> Date; time-millis/time-micros -> Time; timestamp-* -> Datetime(unit, "UTC");
local-timestamp-* -> Datetime(unit); decimal (bytes or fixed) -> Decimal(p, s),
or an exact String when p > 38; big-decimal -> exact String; uuid (string or
fixed 16) -> String; duration -> Struct{months, days, milliseconds: UInt32}
(lossless: the three counters of the Avro value); an unknown or invalid logical
type -> its base type; a field whose type refers back to an enclosing record
(recursive) -> String holding the value as JSON; a top-level non-record schema ->
one column named ``value``.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import polars as pl

from jetliner._plan import NO_BRANCH, ColKind, ColumnLayout, ExportSpec, Op, PlanNode
from jetliner.exceptions import SchemaError

__all__ = ["AvroType", "ExportSpec", "Plan", "compile_plan", "parse_schema", "parse_schema_text",
           "plan_for"]


PRIMITIVES = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")

_PRIMITIVE_OPS = {
    "null": Op.OP_NULL, "boolean": Op.OP_BOOL, "int": Op.OP_INT, "long": Op.OP_LONG,
    "float": Op.OP_FLOAT, "double": Op.OP_DOUBLE, "bytes": Op.OP_BYTES, "string": Op.OP_STRING,
}
_MIN_SIZE = {"null": 0, "boolean": 1, "int": 1, "long": 1, "float": 4, "double": 8,
             "bytes": 1, "string": 1}
_TIME_UNITS: dict[str, Literal["ms", "us", "ns"]] = {"millis": "ms", "micros": "us", "nanos": "ns"}
_MAX_SCHEMA_DEPTH = 500
# A record type reused by name at every level of a schema expands exponentially
# into columns; a plan this large is a hostile (or broken) schema, not data.
MAX_PLAN_NODES = 200_000
_WORK_CAP = 1 << 40
# Decimals with more digits than this read as their base type (bytes/fixed): the
# exact text of one value stays around a kilobyte.
_MAX_PRECISION = 1000

# What compiling one output column gives: (node index, Polars dtype, export spec).
_Compiled: TypeAlias = tuple[int, pl.DataType, ExportSpec]


# The name given to an anonymous top-level record (written with "name": ""); not
# a valid Avro name, so no schema can define or refer to it.
ANONYMOUS_RECORD = "<anonymous>"

class AvroType:
    """One node of a parsed Avro schema.

    Parameters
    ----------
    kind
        The type's kind (see the `kind` attribute).
    **kw
        Initial values of the other attributes (``name``, ``fields``, ``symbols``,
        ``size``, ``items``, ``branches``, ``attrs``); absent ones are empty.

    Attributes
    ----------
    kind
        A primitive name, or ``record``, ``enum``, ``fixed``, ``array``, ``map``,
        ``union``.
    name
        Full name of a named type (record, enum, fixed), else None.
    fields
        Records: list of ``(field name, AvroType)``.
    field_attrs
        Records: per field, the other attributes of its JSON object (``default``,
        ``aliases``...), which schema resolution reads.
    symbols
        Enums: the symbols.
    size
        Fixed: the size in bytes.
    items
        Arrays: item type; maps: value type.
    branches
        Unions: branch types.
    attrs
        Other attributes of the type's JSON object (``logicalType``, ``precision``...).
    """

    __slots__ = ("kind", "name", "fields", "field_attrs", "symbols", "size", "items", "branches",
                 "attrs")

    def __init__(self, kind: str, **kw: Any) -> None:
        self.kind = kind
        self.name: str | None = kw.get("name")
        self.fields: list[tuple[str, AvroType]] = kw.get("fields", [])
        self.field_attrs: list[dict[str, Any]] = kw.get("field_attrs", [])
        self.symbols: list[str] = kw.get("symbols", [])
        self.size: int = kw.get("size", 0)
        self.items: AvroType | None = kw.get("items")
        self.branches: list[AvroType] = kw.get("branches", [])
        self.attrs: dict[str, Any] = kw.get("attrs", {})

    def __repr__(self) -> str:
        return f"AvroType({self.kind}{' ' + self.name if self.name else ''})"

    @property
    def logical(self) -> str | None:
        """The ``logicalType`` attribute, if any."""
        value = self.attrs.get("logicalType")
        return value if isinstance(value, str) else None


def parse_schema(schema: str | bytes | bytearray | dict[str, Any] | list[Any]) -> AvroType:
    """Parse a writer schema (JSON text or already-decoded JSON) into a type graph.

    Parameters
    ----------
    schema
        The schema as JSON text (``str``, or UTF-8 ``bytes``), or as decoded JSON
        (an object or, for a union, an array; a primitive type name is a ``str``).

    Returns
    -------
    AvroType
        The root of the graph: named types are resolved, so a recursive type is a
        cycle.

    Raises
    ------
    SchemaError
        If the JSON is invalid or the schema breaks Avro's rules.
    """
    if isinstance(schema, (bytes, bytearray)):
        try:
            schema = schema.decode("utf-8")
        except UnicodeDecodeError as exc:
            msg = f"the schema is not valid UTF-8: {exc}"
            raise SchemaError(msg) from exc
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except (ValueError, RecursionError) as exc:
            msg = f"the schema is not valid JSON: {exc}"
            raise SchemaError(msg) from exc
    return _Parser().parse(schema, None, 0)


def _check_text(value: object, what: str) -> None:
    """Refuse a name that is not Unicode text (a lone surrogate escaped in the JSON).

    Names become column names and enum categories, which must be UTF-8.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            msg = f"{what} is not valid Unicode: {value!r} ({exc.reason})"
            raise SchemaError(msg) from exc


class _Parser:
    def __init__(self) -> None:
        self.names: dict[str, AvroType] = {}

    def parse(self, js: Any, namespace: str | None, depth: int) -> AvroType:
        if depth > _MAX_SCHEMA_DEPTH:
            msg = f"the schema nests deeper than {_MAX_SCHEMA_DEPTH} levels"
            raise SchemaError(msg)
        if isinstance(js, str):
            if js in PRIMITIVES:
                return AvroType(js)
            return self.lookup(js, namespace)
        if isinstance(js, list):
            branches = [self.parse(b, namespace, depth + 1) for b in js]
            branch_keys: set[str] = set()
            for b in branches:
                if b.kind == "union":
                    msg = "a union may not directly contain another union"
                    raise SchemaError(msg)
                key = b.name if b.name is not None else b.kind
                if key in branch_keys:
                    msg = f"the union {json.dumps(js)[:200]} has two branches of type {key!r}"
                    raise SchemaError(msg)
                branch_keys.add(key)
            return AvroType("union", branches=branches)
        if not isinstance(js, dict):
            msg = f"expected a schema (string, object or array), found {json.dumps(js)[:200]}"
            raise SchemaError(msg)
        kind = js.get("type")
        if isinstance(kind, (dict, list)):
            # {"type": {...}} wraps another schema; attributes on the wrapper are ignored
            return self.parse(kind, namespace, depth + 1)
        if not isinstance(kind, str):
            msg = f"schema object without a valid 'type': {json.dumps(js)[:200]}"
            raise SchemaError(msg)
        attrs = {k: v for k, v in js.items() if k not in ("type", "name", "namespace",
                                                          "fields", "symbols", "items",
                                                          "values", "size")}
        if kind in PRIMITIVES:
            return AvroType(kind, attrs=attrs)
        if kind in ("record", "error", "enum", "fixed"):
            if depth == 0 and kind == "record" and js.get("name") == "":
                # Polars' write_avro names its top-level record "": the record
                # is anonymous (nothing can refer to it), so it is read as such
                js = {**js, "name": ANONYMOUS_RECORD}
            fullname, ns = self.fullname(js, namespace)
            if fullname in self.names:
                msg = f"the named type {fullname!r} is defined twice"
                raise SchemaError(msg)
            if kind == "enum":
                symbols = js.get("symbols")
                if isinstance(symbols, list):
                    for symbol in symbols:
                        _check_text(symbol, f"a symbol of enum {fullname!r}")
                if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
                    msg = f"enum {fullname!r} needs a list of string 'symbols'"
                    raise SchemaError(msg)
                if len(set(symbols)) != len(symbols):
                    msg = f"enum {fullname!r} has duplicate symbols"
                    raise SchemaError(msg)
                node = AvroType("enum", name=fullname, symbols=list(symbols), attrs=attrs)
                self.names[fullname] = node
                return node
            if kind == "fixed":
                size = js.get("size")
                if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                    msg = f"fixed {fullname!r} needs a non-negative integer 'size', got {size!r}"
                    raise SchemaError(msg)
                node = AvroType("fixed", name=fullname, size=size, attrs=attrs)
                self.names[fullname] = node
                return node
            node = AvroType("record", name=fullname, attrs=attrs)
            if fullname != ANONYMOUS_RECORD:
                self.names[fullname] = node  # before the fields: they may refer to it
            fields = js.get("fields")
            if not isinstance(fields, list):
                msg = f"record {fullname!r} needs a list of 'fields'"
                raise SchemaError(msg)
            field_names: set[str] = set()
            for f in fields:
                if not isinstance(f, dict) or not isinstance(f.get("name"), str) or "type" not in f:
                    msg = (
                        f"record {fullname!r} has a field without 'name' and 'type': "
                        f"{json.dumps(f)[:200]}"
                    )
                    raise SchemaError(msg)
                if f["name"] in field_names:
                    msg = f"record {fullname!r} has two fields named {f['name']!r}"
                    raise SchemaError(msg)
                _check_text(f["name"], f"a field name of record {fullname!r}")
                field_names.add(f["name"])
                node.fields.append((f["name"], self.parse(f["type"], ns, depth + 1)))
                node.field_attrs.append({k: v for k, v in f.items() if k not in ("name", "type")})
            return node
        if kind == "array":
            if "items" not in js:
                msg = "an array schema needs 'items'"
                raise SchemaError(msg)
            items = self.parse(js["items"], namespace, depth + 1)
            return AvroType("array", items=items, attrs=attrs)
        if kind == "map":
            if "values" not in js:
                msg = "a map schema needs 'values'"
                raise SchemaError(msg)
            values = self.parse(js["values"], namespace, depth + 1)
            return AvroType("map", items=values, attrs=attrs)
        # a reference to a named type, written as {"type": "Name"}
        return self.lookup(kind, namespace)

    def fullname(self, js: dict[str, Any], namespace: str | None) -> tuple[str, str | None]:
        name = js.get("name")
        if not isinstance(name, str) or not name:
            msg = f"a {js.get('type')} schema needs a 'name': {json.dumps(js)[:200]}"
            raise SchemaError(msg)
        _check_text(name, "a type name")
        namespace_attr = js.get("namespace")
        if isinstance(namespace_attr, str):
            _check_text(namespace_attr, "a namespace")
        if "." in name:
            return name, name.rsplit(".", 1)[0]
        ns = js.get("namespace", namespace)
        if not isinstance(ns, str) or not ns:
            return name, None
        return f"{ns}.{name}", ns

    def lookup(self, name: str, namespace: str | None) -> AvroType:
        if "." in name:
            candidates = [name]
        else:
            candidates = ([f"{namespace}.{name}"] if namespace else []) + [name]
        for c in candidates:
            if c in self.names:
                return self.names[c]
        msg = (
            f"unknown type {name!r}: neither a primitive type nor a named type defined "
            f"earlier in the schema (known names: {', '.join(sorted(self.names)) or 'none'})"
        )
        raise SchemaError(msg)


# ---------------------------------------------------------------------------- plans


@dataclass
class Plan:
    """A compiled schema + projection, ready for `jetliner._decoder.Decoder`.

    Attributes
    ----------
    nodes, kids, kid_names, cols, strings, root
        The decoder's arguments (see `Decoder`).
    export
        Export specs of the output columns, in output order.
    schema
        The Polars schema of the output columns, in output order.
    unresolved
        Through a reader schema: per node that fails on a writer's enum symbol or union
        branch the reader cannot read, the field's path, what it meets ("symbol",
        "branch") and the writer's names of them, by index (for the error).
    """

    nodes: list[PlanNode]
    kids: list[int]
    kid_names: list[int]
    cols: list[ColumnLayout]
    strings: list[bytes]
    root: int
    export: list[ExportSpec]
    schema: pl.Schema
    unresolved: dict[int, tuple[str, str, tuple[str, ...]]] = field(default_factory=dict)


def _spec(col: int, fmt: bytes, name: bytes, *, nullable: bool = False,
          children: list[ExportSpec] | None = None,
          dictionary: list[bytes] | None = None) -> ExportSpec:
    """Return the export spec of column `col` (Arrow format `fmt`, field `name`)."""
    return ExportSpec(col=col, format=fmt, name=name, nullable=nullable,
                      children=children if children is not None else [], dictionary=dictionary)


class _Recursive(Exception):
    """A type refers back to a record that encloses it."""


class _Compiler:
    def __init__(self) -> None:
        self.nodes: list[PlanNode] = []
        self.kids: list[int] = []
        self.kid_names: list[int] = []
        self.cols: list[ColumnLayout] = []
        self.strings: list[bytes] = []
        self.walkers: dict[int, int] = {}
        self.minsizes: dict[int, int] = {}
        self.works: dict[int, int] = {}

    # -- building blocks

    def node(self, op: int, col: int = -1, kids: list[int] | None = None, param: int = 0,
             param2: int = 0, minsz: int = 0, names: list[int] | None = None,
             precision: int = 0) -> int:
        kids = kids or []
        if len(self.nodes) >= MAX_PLAN_NODES:
            msg = (
                f"the schema expands to more than {MAX_PLAN_NODES} decoding steps per record "
                "(named records reused at many levels multiply); refusing to compile it"
            )
            raise SchemaError(msg)
        self.nodes.append(PlanNode(op=op, col=col, kid0=len(self.kids), nkids=len(kids),
                                   param=param, param2=param2, minsz=minsz,
                                   precision=precision))
        self.kids.extend(kids)
        self.kid_names.extend(names if names is not None else [-1] * len(kids))
        return len(self.nodes) - 1

    def col(self, kind: int, elem: int = 0) -> int:
        self.cols.append(ColumnLayout(kind=kind, elem=elem))
        return len(self.cols) - 1

    def string(self, s: bytes) -> int:
        self.strings.append(s)
        return len(self.strings) - 1

    def minsize(self, t: AvroType) -> int:
        """Fewest bytes one value of `t` can occupy (0 for cycles: a safe lower bound)."""
        key = id(t)
        if key in self.minsizes:
            return self.minsizes[key]
        self.minsizes[key] = 0
        if t.kind in _MIN_SIZE:
            size = _MIN_SIZE[t.kind]
        elif t.kind == "fixed":
            size = t.size
        elif t.kind in ("enum", "array", "map", "union"):
            size = 1
        else:  # record
            size = sum(self.minsize(ft) for _, ft in t.fields)
        self.minsizes[key] = size
        return size

    def item_size(self, t: AvroType) -> int:
        """Return what the decoder checks a claimed count of `t` values against.

        Positive: the fewest bytes one value occupies (the count must fit in the
        bytes left).  Zero or negative: values of zero bytes, each costing
        ``max(1, -n)`` units of the zero-byte budget (a record of many null fields
        costs one unit per field, so the budget bounds work, not just values).
        """
        size = self.minsize(t)
        return size if size > 0 else -self.zero_work(t, set())

    def zero_work(self, t: AvroType, seen: set[int]) -> int:
        """Count the values touched when decoding one zero-byte value of `t`.

        Memoised, and capped: named records reused at every level multiply it.
        """
        key = id(t)
        if t.kind != "record" or key in seen:
            return 1
        if key not in self.works:
            work = 1 + sum(self.zero_work(ft, seen | {key}) for _, ft in t.fields)
            self.works[key] = min(work, _WORK_CAP)
        return self.works[key]

    # -- walkers: skip or render JSON, graph-shaped (cycles allowed)

    def walker(self, t: AvroType) -> int:
        key = id(t)
        if key in self.walkers:
            return self.walkers[key]
        if t.kind in _PRIMITIVE_OPS:
            idx = self.node(_PRIMITIVE_OPS[t.kind], minsz=_MIN_SIZE[t.kind])
        elif t.kind == "fixed":
            idx = self.node(Op.OP_FIXED, param=t.size, minsz=t.size)
        elif t.kind == "enum":
            first = len(self.strings)
            for s in t.symbols:
                self.string(json.dumps(s).encode())
            idx = self.node(Op.OP_ENUM, param=len(t.symbols), param2=first, minsz=1)
        elif t.kind in ("array", "map"):
            assert t.items is not None
            idx = self.node(Op.OP_ARRAY if t.kind == "array" else Op.OP_MAP, minsz=1)
            self.walkers[key] = idx
            item = self.walker(t.items)
            itemsz = self.minsize(t.items) + 1 if t.kind == "map" else self.item_size(t.items)
            self._set_kids(idx, [item], param2=itemsz)
        elif t.kind == "union":
            idx = self.node(Op.OP_UNION, minsz=1)
            self.walkers[key] = idx
            self._set_kids(idx, [self.walker(b) for b in t.branches])
        else:  # record
            idx = self.node(Op.OP_RECORD, minsz=self.minsize(t))
            self.walkers[key] = idx  # before the fields: they may refer to it
            kids = [self.walker(ft) for _, ft in t.fields]
            names = [self.string(json.dumps(fname).encode() + b":") for fname, _ in t.fields]
            self._set_kids(idx, kids, names=names)
        self.walkers[key] = idx
        return idx

    def _set_kids(self, idx: int, kids: list[int], param2: int | None = None,
                  names: list[int] | None = None) -> None:
        n = self.nodes[idx]._replace(kid0=len(self.kids), nkids=len(kids))
        if param2 is not None:
            n = n._replace(param2=param2)
        self.nodes[idx] = n
        self.kids.extend(kids)
        self.kid_names.extend(names if names is not None else [-1] * len(kids))

    # -- output nodes: tree-shaped, one column per node

    def out(self, t: AvroType, name: str, stack: tuple[int, ...]) -> _Compiled:
        """Compile `t` as an output column named `name`.

        Returns ``(node, dtype, export spec)``.  Raises `_Recursive` when `t`
        refers to a record on `stack`.
        """
        kind = t.kind
        logical = t.logical
        bname = name.encode()
        if kind == "null":
            c = self.col(ColKind.CK_NULL)
            return self.node(Op.OP_NULL, c), pl.Null(), _spec(c, b"n", bname, nullable=True)
        if kind == "boolean":
            c = self.col(ColKind.CK_BOOL)
            return self.node(Op.OP_BOOL, c, minsz=1), pl.Boolean(), _spec(c, b"b", bname)
        if kind == "int":
            if logical == "date":
                c = self.col(ColKind.CK_FIXED, 4)
                return self.node(Op.OP_INT, c, minsz=1), pl.Date(), _spec(c, b"tdD", bname)
            if logical == "time-millis":
                c = self.col(ColKind.CK_FIXED, 8)
                return (self.node(Op.OP_INT_SCALED, c, param=1_000_000, minsz=1), pl.Time(),
                        _spec(c, b"ttn", bname))
            c = self.col(ColKind.CK_FIXED, 4)
            return self.node(Op.OP_INT, c, minsz=1), pl.Int32(), _spec(c, b"i", bname)
        if kind == "long":
            if logical == "time-micros":
                c = self.col(ColKind.CK_FIXED, 8)
                return (self.node(Op.OP_LONG_SCALED, c, param=1000, minsz=1), pl.Time(),
                        _spec(c, b"ttn", bname))
            if logical is not None and logical.startswith(("timestamp-", "local-timestamp-")):
                unit = _TIME_UNITS.get(logical.rsplit("-", 1)[1])
                if unit is not None:
                    utc = logical.startswith("timestamp-")
                    c = self.col(ColKind.CK_FIXED, 8)
                    fmt = f"ts{unit[0]}:{'UTC' if utc else ''}".encode()
                    return (self.node(Op.OP_LONG, c, minsz=1),
                            pl.Datetime(unit, "UTC" if utc else None),
                            _spec(c, fmt, bname))
            c = self.col(ColKind.CK_FIXED, 8)
            return self.node(Op.OP_LONG, c, minsz=1), pl.Int64(), _spec(c, b"l", bname)
        if kind == "float":
            c = self.col(ColKind.CK_FIXED, 4)
            return (self.node(Op.OP_FLOAT, c, minsz=4), pl.Float32(),
                    _spec(c, b"f", bname))
        if kind == "double":
            c = self.col(ColKind.CK_FIXED, 8)
            return (self.node(Op.OP_DOUBLE, c, minsz=8), pl.Float64(),
                    _spec(c, b"g", bname))
        if kind == "string":
            c = self.col(ColKind.CK_VAR)
            return (self.node(Op.OP_STRING, c, minsz=1), pl.String(),
                    _spec(c, b"vu", bname))
        if kind in ("bytes", "fixed"):
            return self.out_binary(t, name)
        if kind == "enum":
            c = self.col(ColKind.CK_FIXED, 4)
            syms = [s.encode() for s in t.symbols]
            return (self.node(Op.OP_ENUM, c, param=len(t.symbols), minsz=1), pl.Enum(t.symbols),
                    _spec(c, b"i", bname, dictionary=syms))
        if kind == "array":
            assert t.items is not None
            c = self.col(ColKind.CK_LIST)
            item, dtype, spec = self.out(t.items, "item", stack)
            return (self.node(Op.OP_ARRAY, c, [item], param2=self.item_size(t.items), minsz=1),
                    pl.List(dtype), _spec(c, b"+L", bname, children=[spec]))
        if kind == "map":
            assert t.items is not None
            c = self.col(ColKind.CK_LIST)
            entries = self.col(ColKind.CK_STRUCT)
            kc = self.col(ColKind.CK_VAR)
            knode = self.node(Op.OP_STRING, kc, minsz=1)
            vnode, vdtype, vspec = self.out(t.items, "value", stack)
            node = self.node(Op.OP_MAP, c, [knode, vnode], param=entries,
                             param2=1 + self.minsize(t.items), minsz=1)
            kspec = _spec(kc, b"vu", b"key")
            espec = _spec(entries, b"+s", b"entries", children=[kspec, vspec])
            # exported as key/value lists (an Arrow map's layout); `jetliner.frames`
            # casts them to the Map
            return node, pl.Map(pl.String(), vdtype), _spec(c, b"+L", bname, children=[espec])
        if kind == "union":
            return self.out_union(t, name, stack)
        # record
        if id(t) in stack:
            raise _Recursive
        inner = stack + (id(t),)
        c = self.col(ColKind.CK_STRUCT)
        kids: list[int] = []
        fdtypes: dict[str, pl.DataType] = {}
        specs: list[ExportSpec] = []
        for fname, ftype in t.fields:
            k, d, s = self.out_field(ftype, fname, inner)
            kids.append(k)
            fdtypes[fname] = d
            specs.append(s)
        return (self.node(Op.OP_RECORD, c, kids, minsz=self.minsize(t)), pl.Struct(fdtypes),
                _spec(c, b"+s", bname, children=specs))

    def out_field(self, t: AvroType, name: str, stack: tuple[int, ...]) -> _Compiled:
        """Compile a record field: its type if it is not recursive, else its JSON text."""
        mark = (len(self.nodes), len(self.kids), len(self.cols), len(self.strings))
        try:
            return self.out(t, name, stack)
        except _Recursive:
            # forget what the failed attempt compiled, then render this field as JSON
            del self.nodes[mark[0]:], self.kids[mark[1]:], self.kid_names[mark[1]:]
            del self.cols[mark[2]:], self.strings[mark[3]:]
            self.walkers = {k: v for k, v in self.walkers.items() if v < mark[0]}
            return self.out_json(t, name)

    def out_json(self, t: AvroType, name: str) -> _Compiled:
        c = self.col(ColKind.CK_VAR)
        w = self.walker(t)
        nulls: list[int] = []
        if t.kind == "union":
            nulls = [i for i, b in enumerate(t.branches) if b.kind == "null"]
        if nulls:
            node = self.node(Op.OP_JSON_NULLABLE, c, [w], param=nulls[0], minsz=1)
            return node, pl.String(), _spec(c, b"vu", name.encode(), nullable=True)
        node = self.node(Op.OP_JSON, c, [w], minsz=self.minsize(t))
        return node, pl.String(), _spec(c, b"vu", name.encode())

    def out_binary(self, t: AvroType, name: str) -> _Compiled:
        fixed = t.kind == "fixed"
        size = t.size
        logical = t.logical
        bname = name.encode()
        if logical == "decimal":
            p, s = t.attrs.get("precision"), t.attrs.get("scale", 0)
            if (isinstance(p, int) and not isinstance(p, bool) and 0 < p <= _MAX_PRECISION
                    and isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= p
                    and (not fixed
                         or (size > 0 and p <= math.floor(math.log10(2 ** (8 * size - 1) - 1))))):
                if p <= 38:
                    c = self.col(ColKind.CK_FIXED, 16)
                    op = Op.OP_DEC_FIXED if fixed else Op.OP_DEC_BYTES
                    return (self.node(op, c, param=size, param2=s, minsz=size if fixed else 1,
                                      precision=p),
                            pl.Decimal(p, s), _spec(c, f"d:{p},{s}".encode(), bname))
                c = self.col(ColKind.CK_VAR)
                op = Op.OP_DEC_FIXED_STR if fixed else Op.OP_DEC_BYTES_STR
                return (self.node(op, c, param=size, param2=s, minsz=size if fixed else 1),
                        pl.String(), _spec(c, b"vu", bname))
        if logical == "big-decimal" and not fixed:
            c = self.col(ColKind.CK_VAR)
            return (self.node(Op.OP_BIGDEC, c, minsz=1), pl.String(),
                    _spec(c, b"vu", bname))
        if logical == "uuid" and fixed and size == 16:
            c = self.col(ColKind.CK_VAR)
            return (self.node(Op.OP_UUID_FIXED, c, minsz=16), pl.String(),
                    _spec(c, b"vu", bname))
        if logical == "duration" and fixed and size == 12:
            c = self.col(ColKind.CK_STRUCT)
            parts = [self.col(ColKind.CK_FIXED, 4) for _ in range(3)]
            names = (b"months", b"days", b"milliseconds")
            specs: list[ExportSpec] = [_spec(pc, b"I", pn)
                                       for pc, pn in zip(parts, names, strict=True)]
            dtype = pl.Struct({"months": pl.UInt32(), "days": pl.UInt32(),
                               "milliseconds": pl.UInt32()})
            return (self.node(Op.OP_DURATION, c, param=parts[0], minsz=12), dtype,
                    _spec(c, b"+s", bname, children=specs))
        c = self.col(ColKind.CK_VAR)
        if fixed:
            return (self.node(Op.OP_FIXED, c, param=size, minsz=size), pl.Binary(),
                    _spec(c, b"vz", bname))
        return self.node(Op.OP_BYTES, c, minsz=1), pl.Binary(), _spec(c, b"vz", bname)

    def out_union(self, t: AvroType, name: str, stack: tuple[int, ...]) -> _Compiled:
        nulls = [i for i, b in enumerate(t.branches) if b.kind == "null"]
        others = [i for i, b in enumerate(t.branches) if b.kind != "null"]
        null_index = nulls[0] if nulls else NO_BRANCH
        if not others:
            c = self.col(ColKind.CK_NULL)
            inner = self.node(Op.OP_NULL, c)
            return (self.node(Op.OP_UNION_NULLABLE, -1, [inner], param=null_index, param2=NO_BRANCH,
                              minsz=1),
                    pl.Null(), _spec(c, b"n", name.encode(), nullable=True))
        if len(others) == 1:
            inner, dtype, spec = self.out(t.branches[others[0]], name, stack)
            spec = spec._replace(nullable=bool(nulls))
            return (self.node(Op.OP_UNION_NULLABLE, -1, [inner], param=null_index,
                              param2=others[0], minsz=1),
                    dtype, spec)
        c = self.col(ColKind.CK_STRUCT)
        labels = _branch_labels([t.branches[i] for i in others])
        kids: list[int] = []
        dtypes: dict[str, pl.DataType] = {}
        specs: list[ExportSpec] = []
        for i, b in enumerate(t.branches):
            if b.kind == "null":
                kids.append(-1)
                continue
            label = labels[others.index(i)]
            k, d, s = self.out(b, label, stack)
            kids.append(k)
            dtypes[label] = d
            specs.append(s._replace(nullable=True))
        return (self.node(Op.OP_UNION, c, kids, minsz=1), pl.Struct(dtypes),
                _spec(c, b"+s", name.encode(), nullable=bool(nulls), children=specs))


def _branch_labels(branches: list[AvroType]) -> list[str]:
    """Struct field names for union branches: the type name, short where unambiguous."""
    short = [b.name.rsplit(".", 1)[-1] if b.name else b.kind for b in branches]
    return [s if short.count(s) == 1 else (b.name or b.kind)
            for s, b in zip(short, branches, strict=True)]


def top_level_fields(root: AvroType) -> list[tuple[str, AvroType]]:
    """Return the columns of a file: a record's fields, or one ``value`` column.

    Parameters
    ----------
    root
        The parsed writer schema.

    Returns
    -------
    list[tuple[str, AvroType]]
        ``(column name, type)`` pairs, in schema order.
    """
    if root.kind == "record":
        return list(root.fields)
    return [("value", root)]


def compile_plan(root: AvroType, columns: list[str] | None = None) -> Plan:
    """Compile the writer schema and a projection into a decoder plan.

    Parameters
    ----------
    root
        The parsed writer schema.
    columns
        Output columns, in output order; ``None`` for all, in schema order.
        Top-level fields not listed are skipped without being materialised.

    Returns
    -------
    Plan
        The decoder's plan and the output columns' export specs and Polars schema.

    Raises
    ------
    SchemaError
        If a requested column does not exist.
    """
    try:
        return _compile_plan(root, columns)
    except RecursionError:
        msg = "the schema nests named types too deeply to compile"
        raise SchemaError(msg) from None


def _compile_plan(root: AvroType, columns: list[str] | None) -> Plan:
    comp = _Compiler()
    fields = top_level_fields(root)
    names = [f for f, _ in fields]
    if columns is None:
        columns = names
    if len(set(columns)) != len(columns):
        msg = f"a column is requested twice: {columns}"
        raise SchemaError(msg)
    missing = [c for c in columns if c not in names]
    if missing:
        msg = (
            f"column(s) {', '.join(map(repr, missing))} not found in the schema; "
            f"available columns: {', '.join(map(repr, names))}"
        )
        raise SchemaError(msg)
    wanted = set(columns)
    specs: dict[str, ExportSpec] = {}
    dtypes: dict[str, pl.DataType] = {}
    stack = (id(root),) if root.kind == "record" else ()
    kids = []
    for fname, ftype in fields:
        if fname in wanted:
            k, d, s = comp.out_field(ftype, fname, stack)
            specs[fname], dtypes[fname] = s, d
        else:
            k = comp.node(Op.OP_SKIP, -1, [comp.walker(ftype)], minsz=comp.minsize(ftype))
        kids.append(k)
    if root.kind == "record":
        root_node = comp.node(Op.OP_RECORD, -1, kids, minsz=comp.item_size(root))
    else:
        root_node = kids[0]
        comp.nodes[root_node] = comp.nodes[root_node]._replace(minsz=comp.item_size(root))
    return Plan(
        nodes=comp.nodes,
        kids=comp.kids,
        kid_names=comp.kid_names,
        cols=comp.cols,
        strings=comp.strings,
        root=root_node,
        export=[specs[c] for c in columns],
        schema=pl.Schema({c: dtypes[c] for c in columns}),
    )


@functools.lru_cache(maxsize=128)
def parse_schema_text(text: str) -> AvroType:
    """Parse a header's schema text with `parse_schema`, cached.

    The files of one dataset share their schema, so it is parsed once.

    Parameters
    ----------
    text
        The ``avro.schema`` entry of a header.

    Returns
    -------
    AvroType
        The parsed schema (shared: never modify it).

    Raises
    ------
    SchemaError
        If the schema is invalid.
    """
    return parse_schema(text)


@functools.lru_cache(maxsize=256)
def plan_for(text: str, columns: tuple[str, ...] | None) -> Plan:
    """Compile a header's schema text and a projection with `compile_plan`, cached.

    Plans are never modified after compilation, so threads and readers share them.

    Parameters
    ----------
    text
        The ``avro.schema`` entry of a header.
    columns
        Output columns, in output order; ``None`` for all, in schema order.

    Returns
    -------
    Plan
        The compiled plan (shared: never modify it).

    Raises
    ------
    SchemaError
        If the schema is invalid or a requested column does not exist.
    """
    return compile_plan(parse_schema_text(text), None if columns is None else list(columns))
