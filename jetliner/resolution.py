"""Schema resolution: a file's writer schema read through the user's reader schema.

(Not to be confused with `jetliner.resolve`, which resolves what the user names
into sources.)

With ``reader_schema=``, every file is decoded as the Avro specification's
"Schema Resolution" section says: fields are matched by name or by the reader
field's ``aliases``; writer fields the reader lacks are skipped; reader fields
the writer lacks take their ``default``; ``int -> long/float/double``, ``long ->
float/double``, ``float -> double`` and ``string <-> bytes`` are promotions;
enum symbols unknown to the reader take the reader enum's ``default``; unions
resolve branch by branch; named types match by name or alias.

All of it is compiled into the decoder's plan once per (writer schema, reader
schema, columns) by `_Resolver`, a plan compiler that walks both schemas at once:

- the decode order is the writer's; a writer-only field is an ``OP_SKIP``;
- a promotion is an opcode of its own (``OP_INT_TO_LONG``...); string and bytes
  share their encoding, so either is read as the other by the reader's opcode;
- an enum whose symbols moved is an ``OP_ENUM_MAP`` with a table writer index ->
  reader index (``-1``: unreadable, an error only if met in the data);
- a union is an ``OP_UNION_DISPATCH`` / ``OP_UNION_BRANCHES`` / ``OP_UNION_VALUE``
  (or the plain ``OP_UNION_NULLABLE`` when it maps one to one);
- a nested reader field the writer lacks is an ``OP_DEFAULT``: the default's own
  Avro encoding, kept in the plan, decoded by the reader type's nodes (no input
  read; charged to the zero-byte budget).  A *top-level* field the writer lacks
  is not in the plan at all: it is a constant column added to each batch
  (`reader_read`), which costs nothing per value.

The columns of one reader type are laid out the same whatever the writer type
(struct column first, then the fields in reader order, ...), so two writer union
branches read as the same reader type share its columns (`_Resolver.col` replays
them).  What the rules reject is a `SchemaError` at compile time naming the field
path, both types and the rule; what only data can break (an unknown enum symbol
without default, a writer union branch no reader branch reads) is a typed
`DecodeError` at that record.
"""

from __future__ import annotations

import functools
import json
import math
import os
import struct
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl

from jetliner._decoder import Decoder
from jetliner._plan import BranchKid, ColKind, ColumnLayout, ExportSpec, Op
from jetliner.evolution import FileRead
from jetliner.exceptions import ConfigurationError, SchemaError
from jetliner.frames import FrameBuilder
from jetliner.schema import (
    _MIN_SIZE,
    PRIMITIVES,
    AvroType,
    Plan,
    _branch_labels,
    _Compiled,
    _Compiler,
    _Recursive,
    _spec,
    compile_plan,
    parse_schema,
    parse_schema_text,
    plan_for,
    top_level_fields,
)

__all__ = ["ReaderSchema", "load_reader_schema", "reader_read", "resolved_plan"]

# Avro's promotions: (writer kind, reader kind) -> the opcode reading one as the other
# (None: the same encoding, read by the reader type's own opcode)
_PROMOTIONS: dict[tuple[str, str], Op | None] = {
    ("int", "long"): Op.OP_INT_TO_LONG,
    ("int", "float"): Op.OP_INT_TO_FLOAT,
    ("int", "double"): Op.OP_INT_TO_DOUBLE,
    ("long", "float"): Op.OP_LONG_TO_FLOAT,
    ("long", "double"): Op.OP_LONG_TO_DOUBLE,
    ("float", "double"): Op.OP_FLOAT_TO_DOUBLE,
    ("string", "bytes"): None,
    ("bytes", "string"): None,
}
_RULES = ("promotions: int -> long/float/double, long -> float/double, float -> double, "
          "string <-> bytes")
VARIANT = "SchemaResolution"


# ---------------------------------------------------------------------------- the reader schema


@dataclass(frozen=True)
class ReaderSchema:
    """A parsed reader schema.

    Attributes
    ----------
    text
        Its JSON text, normalised: the key of compiled plans.
    root
        The parsed schema.
    schema
        The Polars schema of what a read returns (every column).
    """

    text: str
    root: AvroType
    schema: pl.Schema


def load_reader_schema(value: Any, storage_options: dict[str, Any] | None = None,
                       ) -> ReaderSchema:
    """Parse the ``reader_schema`` option: a dict (or list), JSON text, or a path/URL.

    Parameters
    ----------
    value
        The schema as decoded JSON, as JSON text, or the path or URL of an ``.avsc``
        file (read through the same storage layer as the data).
    storage_options
        The storage options of a URL.

    Returns
    -------
    ReaderSchema

    Raises
    ------
    SchemaError
        If the schema is not valid Avro.
    ConfigurationError
        If `value` is of another type.
    """
    js: Any
    if isinstance(value, (dict, list)):
        js = value
    elif isinstance(value, str) and (value.lstrip()[:1] in ("{", "[", '"')
                                     or value.strip() in PRIMITIVES):
        try:
            js = json.loads(value) if value.strip() not in PRIMITIVES else value.strip()
        except ValueError as exc:
            msg = f"reader_schema is not valid JSON: {exc}"
            raise SchemaError(msg, VARIANT) from exc
    elif isinstance(value, (str, os.PathLike)):
        return _load_file(os.fspath(value), storage_options)
    else:
        msg = (f"reader_schema must be a dict, JSON text, or the path or URL of an .avsc "
               f"file, got {type(value).__name__}")
        raise ConfigurationError(msg)
    return _parsed(json.dumps(js))


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> ReaderSchema:
    try:
        root = parse_schema(text)
    except SchemaError as exc:
        msg = f"reader_schema is invalid: {exc.message}"
        raise SchemaError(msg, VARIANT) from exc
    return ReaderSchema(text, root, compile_plan(root).schema)


def _load_file(path: str, storage_options: dict[str, Any] | None) -> ReaderSchema:
    from jetliner.resolve import resolve_sources

    (source,) = resolve_sources(path, glob=False, storage_options=storage_options)
    f = source.open()
    try:
        data = bytes(f.read_range(0, f.size))
    finally:
        f.close()
    try:
        js = json.loads(data)
    except ValueError as exc:
        msg = f"the reader schema file {path!r} is not valid JSON: {exc}"
        raise SchemaError(msg, VARIANT, path) from exc
    try:
        return _parsed(json.dumps(js))
    except SchemaError as exc:
        raise SchemaError(exc.message, exc.variant, path) from exc


# ---------------------------------------------------------------------------- matching


def _describe(t: AvroType, depth: int = 0) -> str:
    """Name a type in an error message."""
    if t.kind in ("record", "enum", "fixed"):
        return f"{t.kind} {t.name!r}"
    if depth > 2:
        return t.kind
    if t.kind == "array":
        assert t.items is not None
        return f"array<{_describe(t.items, depth + 1)}>"
    if t.kind == "map":
        assert t.items is not None
        return f"map<{_describe(t.items, depth + 1)}>"
    if t.kind == "union":
        return "[" + ", ".join(_describe(b, depth + 1) for b in t.branches) + "]"
    return f"{t.kind} ({t.logical})" if t.logical else t.kind


def _unqualified(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _named_match(w: AvroType, r: AvroType) -> bool:
    """Tell whether a writer named type matches a reader one.

    By full or unqualified name, or by an alias of the reader's.
    """
    wn, rn = w.name or "", r.name or ""
    if "<anonymous>" in (wn, rn) or wn == rn or _unqualified(wn) == _unqualified(rn):
        return True
    aliases = r.attrs.get("aliases")
    if not isinstance(aliases, list):
        return False
    ns = rn.rsplit(".", 1)[0] if "." in rn else ""
    for a in aliases:
        if isinstance(a, str):
            full = a if "." in a or not ns else f"{ns}.{a}"
            if wn in (a, full) or _unqualified(wn) == _unqualified(a):
                return True
    return False


def _matches(w: AvroType, r: AvroType) -> bool:
    """Tell whether a writer type may be read as a reader type.

    The shallow test that picks a reader union's branch: the first that matches.
    """
    if w.kind == "union" or r.kind == "union":
        return True
    if w.kind == r.kind:
        if w.kind in ("record", "enum", "fixed"):
            return _named_match(w, r) and (w.kind != "fixed" or w.size == r.size)
        if w.kind in ("array", "map"):
            assert w.items is not None and r.items is not None
            return _matches(w.items, r.items)
        return True
    return (w.kind, r.kind) in _PROMOTIONS


@functools.lru_cache(maxsize=1024)
def _leaf_dtypes(kind: str, size: int, attrs: str) -> tuple[pl.DataType, pl.DataType]:
    """Return a leaf type's Polars type, and that of its base type (no logical type)."""
    t = AvroType(kind, size=size, attrs=json.loads(attrs), name="x" if kind == "fixed" else None)
    base = AvroType(kind, size=size, name=t.name)
    return _Compiler().out(t, "x", ())[1], _Compiler().out(base, "x", ())[1]


def _honoured(t: AvroType) -> pl.DataType | None:
    """Return the Polars type of a leaf whose logical type jetliner honours, else None."""
    if t.kind not in PRIMITIVES and t.kind != "fixed":
        return None
    dtype, base = _leaf_dtypes(t.kind, t.size, json.dumps(t.attrs, sort_keys=True))
    return dtype if dtype != base else None


# ---------------------------------------------------------------------------- defaults


def _zigzag(out: bytearray, n: int) -> None:
    z = (n << 1) ^ (n >> 63)
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)


class _BadDefault(Exception):
    pass


def encode_default(t: AvroType, value: Any) -> tuple[bytes, int]:
    """Encode a field's JSON ``default`` as an Avro value of type `t`.

    Returns the bytes and the number of values they hold (what filling it costs).
    Raises `_BadDefault` with the reason if the default is not a value of `t`.
    """
    out = bytearray()
    units = _encode(t, value, out, 0)
    return bytes(out), units


def _encode(t: AvroType, v: Any, out: bytearray, depth: int) -> int:  # noqa: C901, PLR0912
    if depth > 200:
        msg = "nests too deeply"
        raise _BadDefault(msg)
    kind = t.kind
    is_int = isinstance(v, int) and not isinstance(v, bool)
    if kind == "null":
        if v is not None:
            raise _BadDefault("expected null")
        return 1
    if kind == "boolean":
        if not isinstance(v, bool):
            raise _BadDefault("expected true or false")
        out.append(1 if v else 0)
        return 1
    if kind in ("int", "long"):
        bits = 31 if kind == "int" else 63
        if not is_int or not -(1 << bits) <= v < (1 << bits):
            raise _BadDefault(f"expected an integer in the {kind} range")
        _zigzag(out, v)
        return 1
    if kind in ("float", "double"):
        specials = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
        if isinstance(v, str) and v in specials:
            v = specials[v]
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _BadDefault("expected a number")
        out += struct.pack("<f" if kind == "float" else "<d", float(v))
        return 1
    if kind in ("bytes", "fixed", "string"):
        if not isinstance(v, str):
            raise _BadDefault("expected a string")
        try:
            raw = v.encode("utf-8" if kind == "string" else "latin-1")
        except UnicodeEncodeError as exc:
            raise _BadDefault("bytes are given as a string of code points 0-255") from exc
        if kind == "fixed":
            if len(raw) != t.size:
                raise _BadDefault(f"expected {t.size} bytes, found {len(raw)}")
        else:
            _zigzag(out, len(raw))
        out += raw
        return 1
    if kind == "enum":
        if not isinstance(v, str) or v not in t.symbols:
            raise _BadDefault(f"expected one of the symbols {t.symbols}")
        _zigzag(out, t.symbols.index(v))
        return 1
    if kind in ("array", "map"):
        assert t.items is not None
        if kind == "array" and not isinstance(v, list):
            raise _BadDefault("expected a JSON array")
        if kind == "map" and not isinstance(v, dict):
            raise _BadDefault("expected a JSON object")
        units = 1
        if v:
            _zigzag(out, len(v))
            for item in (v.items() if isinstance(v, dict) else v):
                if isinstance(item, tuple):
                    key = item[0].encode("utf-8")
                    _zigzag(out, len(key))
                    out += key
                    item = item[1]
                units += _encode(t.items, item, out, depth + 1)
        out.append(0)
        return units
    if kind == "union":
        for i, b in enumerate(t.branches):  # the first branch, else the first that fits
            trial = bytearray()
            try:
                units = _encode(b, v, trial, depth + 1)
            except _BadDefault:
                continue
            _zigzag(out, i)
            out += trial
            return units
        raise _BadDefault(f"fits no branch of {_describe(t)}")
    # record
    if not isinstance(v, dict):
        raise _BadDefault("expected a JSON object")
    units = 1
    for (fname, ftype), attrs in zip(t.fields, t.field_attrs, strict=True):
        if fname in v:
            units += _encode(ftype, v[fname], out, depth + 1)
        elif "default" in attrs:
            units += _encode(ftype, attrs["default"], out, depth + 1)
        else:
            raise _BadDefault(f"lacks field {fname!r}, which has no default")
    return units


# ---------------------------------------------------------------------------- the compiler


class _Resolver(_Compiler):
    """Compiles a writer schema read through a reader schema (see the module's notes)."""

    def __init__(self) -> None:
        super().__init__()
        self.replaying: list[Iterator[int]] = []
        # the nodes that fail on a writer's symbol or branch the reader cannot read
        self.unresolved: dict[int, tuple[str, str, tuple[str, ...]]] = {}

    def col(self, kind: int, elem: int = 0) -> int:
        if self.replaying:  # a reader type's columns, laid out once already
            c = next(self.replaying[-1])
            assert self.cols[c] == ColumnLayout(kind=kind, elem=elem)
            return c
        return super().col(kind, elem)

    def replay(self, cols: range, build: Callable[[], _Compiled]) -> _Compiled:
        """Compile with `build`, writing to the columns `cols` instead of new ones."""
        it = iter(cols)
        self.replaying.append(it)
        try:
            got = build()
        finally:
            self.replaying.pop()
        assert next(it, None) is None
        return got

    def shared_branches(self, wbranches: list[AvroType], mine: list[int], rb: AvroType,
                        name: str, path: str, stack: tuple[int, ...],
                        kids: list[int]) -> _Compiled:
        """Compile writer branches `mine`, all read as reader branch `rb`, into one set of columns.

        Each one's node goes into `kids`; the first one's compiled result is returned.
        """
        first, cols = self.fresh(functools.partial(
            self.res, wbranches[mine[0]], rb, name, path, stack))
        kids[mine[0]] = first[0]
        for j in mine[1:]:
            kids[j] = self.replay(cols, functools.partial(
                self.res, wbranches[j], rb, name, path, stack))[0]
        return first

    def fresh(self, build: Callable[[], _Compiled]) -> tuple[_Compiled, range]:
        """Compile with `build`; return what it made and the columns it laid out."""
        if self.replaying:
            # inside a replay: the columns are the next ones of the replayed range
            it = self.replaying[-1]
            taken: list[int] = []

            def tee() -> Iterator[int]:
                for c in it:
                    taken.append(c)
                    yield c

            self.replaying[-1] = tee()
            try:
                got = build()
            finally:
                self.replaying[-1] = it
            return got, range(taken[0], taken[-1] + 1) if taken else range(0)
        start = len(self.cols)
        got = build()
        return got, range(start, len(self.cols))

    def branches_of(self, node: int, kids: list[int], wbranches: list[AvroType],
                    path: str) -> int:
        """Note union `node`'s writer branches for its error if the reader reads not all."""
        if int(BranchKid.NO_MATCH) in kids:
            self.unresolved[node] = (path, "branch", tuple(_describe(b) for b in wbranches))
        return node

    def reject(self, w: AvroType, r: AvroType, path: str, rule: str) -> SchemaError:
        where = f"field {path!r}" if path else "the top-level value"
        msg = (f"reader schema: {where} is {_describe(w)} in the writer schema and "
               f"{_describe(r)} in the reader schema, and cannot be read as it: {rule}")
        return SchemaError(msg, VARIANT)

    # -- resolution

    def res(self, w: AvroType, r: AvroType, name: str, path: str,
            stack: tuple[int, ...]) -> _Compiled:
        """Compile a writer value of type `w` read as reader type `r`."""
        if r.kind == "union":
            return self.res_to_union(w, r, name, path, stack)
        if w.kind == "union":
            return self.res_from_union(w, r, name, path, stack)
        if w.kind == r.kind or (w.kind, r.kind) in _PROMOTIONS:
            if w.kind in PRIMITIVES or w.kind == "fixed":
                return self.res_leaf(w, r, name, path, stack)
            if w.kind == "enum":
                return self.res_enum(w, r, name, path, stack)
            if w.kind in ("array", "map"):
                return self.res_list(w, r, name, path, stack)
            if w.kind == "record":
                return self.res_record(w, r, name, path, stack)
        raise self.reject(w, r, path, f"the types differ and no promotion reads one as the "
                                      f"other ({_RULES})")

    def res_leaf(self, w: AvroType, r: AvroType, name: str, path: str,
                 stack: tuple[int, ...]) -> _Compiled:
        wl, rl = _honoured(w), _honoured(r)
        if (wl is not None or rl is not None) and (wl != rl or w.kind != r.kind):
            raise self.reject(w, r, path, "a logical type is read only as the same logical "
                                          "type (with the same parameters)")
        if w.kind == "fixed":
            if not _named_match(w, r):
                raise self.reject(w, r, path, "named types match by name or by an alias of "
                                              "the reader's")
            if w.size != r.size:
                raise self.reject(w, r, path, "fixed types must have the same size")
        k, dtype, spec = self.out(r, name, stack)
        op = _PROMOTIONS.get((w.kind, r.kind))
        if op is not None:
            self.nodes[k] = self.nodes[k]._replace(op=op, minsz=_MIN_SIZE[w.kind])
        return k, dtype, spec

    def res_enum(self, w: AvroType, r: AvroType, name: str, path: str,
                 stack: tuple[int, ...]) -> _Compiled:
        if not _named_match(w, r):
            raise self.reject(w, r, path, "named types match by name or by an alias of the "
                                          "reader's")
        k, dtype, spec = self.out(r, name, stack)
        if r.symbols[:len(w.symbols)] == w.symbols:
            # the writer's symbols first, in order: its indices are the reader's
            self.nodes[k] = self.nodes[k]._replace(param=len(w.symbols))
            return k, dtype, spec
        default = r.attrs.get("default")
        fallback = r.symbols.index(default) if default in r.symbols else -1
        table = array("i", (r.symbols.index(s) if s in r.symbols else fallback
                            for s in w.symbols))
        self.nodes[k] = self.nodes[k]._replace(op=Op.OP_ENUM_MAP, param=len(w.symbols),
                                               param2=self.string(table.tobytes()))
        if -1 in table:
            self.unresolved[k] = (path, "symbol", tuple(w.symbols))
        return k, dtype, spec

    def res_list(self, w: AvroType, r: AvroType, name: str, path: str,
                 stack: tuple[int, ...]) -> _Compiled:
        assert w.items is not None and r.items is not None
        c = self.col(ColKind.CK_LIST)
        if w.kind == "array":
            item, dtype, spec = self.res(w.items, r.items, "item", path + "[]", stack)
            return (self.node(Op.OP_ARRAY, c, [item], param2=self.item_size(w.items), minsz=1),
                    pl.List(dtype), _spec(c, b"+L", name.encode(), children=[spec]))
        entries = self.col(ColKind.CK_STRUCT)
        kc = self.col(ColKind.CK_VAR)
        knode = self.node(Op.OP_STRING, kc, minsz=1)
        vnode, vdtype, vspec = self.res(w.items, r.items, "value", path + "{}", stack)
        node = self.node(Op.OP_MAP, c, [knode, vnode], param=entries,
                         param2=1 + self.minsize(w.items), minsz=1)
        espec = _spec(entries, b"+s", b"entries", children=[_spec(kc, b"vu", b"key"), vspec])
        return (node, pl.Map(pl.String(), vdtype),
                _spec(c, b"+L", name.encode(), children=[espec]))

    def res_record(self, w: AvroType, r: AvroType, name: str, path: str,
                   stack: tuple[int, ...]) -> _Compiled:
        if not _named_match(w, r):
            raise self.reject(w, r, path, "named types match by name or by an alias of the "
                                          "reader's")
        if id(r) in stack:
            raise self.reject(w, r, path, "recursive types are read through a reader schema "
                                          "only when it is the writer schema itself")
        inner = stack + (id(r),)
        c = self.col(ColKind.CK_STRUCT)
        match = _match_fields(w, r)
        compiled: list[_Compiled] = []
        for i, (rname, rtype) in enumerate(r.fields):
            fpath = f"{path}.{rname}" if path else rname
            j = match[i]
            if j is not None:
                compiled.append(self.res(w.fields[j][1], rtype, rname, fpath, inner))
            else:
                compiled.append(self.default(rtype, r.field_attrs[i], rname, fpath, inner))
        reader_of = {j: i for i, j in enumerate(match) if j is not None}
        kids = [compiled[reader_of[j]][0] if j in reader_of
                else self.node(Op.OP_SKIP, -1, [self.walker(wt)], minsz=self.minsize(wt))
                for j, (_, wt) in enumerate(w.fields)]
        kids += [compiled[i][0] for i, j in enumerate(match) if j is None]
        dtypes = {rname: compiled[i][1] for i, (rname, _) in enumerate(r.fields)}
        specs = [compiled[i][2] for i in range(len(r.fields))]
        return (self.node(Op.OP_RECORD, c, kids, minsz=self.minsize(w)), pl.Struct(dtypes),
                _spec(c, b"+s", name.encode(), children=specs))

    def default(self, r: AvroType, attrs: dict[str, Any], name: str, path: str,
                stack: tuple[int, ...]) -> _Compiled:
        """Compile a reader field the writer lacks: its default, decoded from its encoding."""
        data, units = checked_default(r, attrs, path)
        try:
            k, dtype, spec = self.out(r, name, stack)
        except _Recursive:
            msg = (f"reader schema: field {path!r} has a recursive type: recursive types "
                   "are read through a reader schema only when it is the writer schema itself")
            raise SchemaError(msg, VARIANT) from None
        return self.default_node(k, data, units), dtype, spec

    def default_node(self, k: int, data: bytes, units: int) -> int:
        return self.node(Op.OP_DEFAULT, -1, [k], param=self.string(data), param2=units)

    def res_to_union(self, w: AvroType, r: AvroType, name: str, path: str,
                     stack: tuple[int, ...]) -> _Compiled:
        """Compile a writer value read as a reader union."""
        nulls = [i for i, b in enumerate(r.branches) if b.kind == "null"]
        others = [i for i, b in enumerate(r.branches) if b.kind != "null"]
        wbranches = w.branches if w.kind == "union" else [w]
        target = [_branch_for(wb, r) for wb in wbranches]
        if w.kind != "union" and target[0] is None:
            raise self.reject(w, r, path, "a value read as a union is read as the first "
                                          "branch of the union that matches its type, and "
                                          "none does")
        if all(t is None for t in target):
            raise self.reject(w, r, path, "no branch of the writer's union matches a branch "
                                          "of the reader's")
        if len(others) <= 1:
            return self.res_to_nullable(w, r, wbranches, target, name, path, stack)
        # a struct of one field per reader branch
        labels = _branch_labels([r.branches[i] for i in others])
        c = self.col(ColKind.CK_STRUCT)
        reps: list[int] = []
        wkids: list[int] = [int(BranchKid.NO_MATCH)] * len(wbranches)
        dtypes: dict[str, pl.DataType] = {}
        specs: list[ExportSpec] = []
        for pos, ri in enumerate(others):
            rb = r.branches[ri]
            mine = [j for j, t in enumerate(target) if t == ri]
            if mine:
                k, d, s = self.shared_branches(wbranches, mine, rb, labels[pos], path,
                                               stack, wkids)
            else:
                k, d, s = self.out_field(rb, labels[pos], stack)
            reps.append(k)
            dtypes[labels[pos]] = d
            specs.append(s._replace(nullable=True))
        for j, t in enumerate(target):
            if t is not None and r.branches[t].kind == "null":
                wkids[j] = int(BranchKid.NULL_BRANCH)
        spec = _spec(c, b"+s", name.encode(), nullable=bool(nulls), children=specs)
        if w.kind != "union":
            assert target[0] is not None
            node = self.node(Op.OP_UNION_VALUE, c, reps, param=others.index(target[0]),
                             minsz=self.minsize(w))
            return node, pl.Struct(dtypes), spec
        table = array("i", (others.index(t) if t is not None and t in others else -1
                            for t in target))
        node = self.node(Op.OP_UNION_BRANCHES, c, wkids + reps, param=len(wbranches),
                         param2=self.string(table.tobytes()), minsz=1)
        return self.branches_of(node, wkids, wbranches, path), pl.Struct(dtypes), spec

    def res_to_nullable(self, w: AvroType, r: AvroType, wbranches: list[AvroType],
                        target: list[int | None], name: str, path: str,
                        stack: tuple[int, ...]) -> _Compiled:
        """Compile a writer value read as a reader union of null and at most one other type."""
        nulls = [i for i, b in enumerate(r.branches) if b.kind == "null"]
        others = [i for i, b in enumerate(r.branches) if b.kind != "null"]
        if not others:  # the reader reads nothing but nulls
            k, dtype, spec = self.out_union(r, name, stack)
            rep = self.kids[self.nodes[k].kid0]
            if w.kind != "union":
                return self.default_node(k, _varint(nulls[0]), 1), dtype, spec
            kids = [int(BranchKid.NULL_BRANCH) if t is not None else int(BranchKid.NO_MATCH)
                    for t in target]
            node = self.node(Op.OP_UNION_DISPATCH, -1, kids, param=rep, minsz=1)
            return self.branches_of(node, kids, wbranches, path), dtype, spec
        rb = r.branches[others[0]]
        if w.kind != "union":
            if w.kind == "null":  # always null
                k, dtype, spec = self.out_union(r, name, stack)
                return self.default_node(k, _varint(nulls[0]), 1), dtype, spec
            k, dtype, spec = self.res(w, rb, name, path, stack)
            return k, dtype, spec._replace(nullable=bool(nulls))
        mine = [j for j, t in enumerate(target) if t == others[0]]
        wnulls = [j for j, t in enumerate(target) if t is not None and t != others[0]]
        if len(mine) == 1 and len(wnulls) == 1 and len(wbranches) == 2:
            # the common case, one to one: the plain nullable union
            k, dtype, spec = self.res(wbranches[mine[0]], rb, name, path, stack)
            return (self.node(Op.OP_UNION_NULLABLE, -1, [k], param=wnulls[0], param2=mine[0],
                              minsz=1),
                    dtype, spec._replace(nullable=bool(nulls)))
        kids = [int(BranchKid.NO_MATCH)] * len(wbranches)
        for j in wnulls:
            kids[j] = int(BranchKid.NULL_BRANCH)
        if mine:
            rep, dtype, spec = self.shared_branches(wbranches, mine, rb, name, path, stack,
                                                    kids)
        else:
            rep, dtype, spec = self.out_field(rb, name, stack)
        node = self.node(Op.OP_UNION_DISPATCH, -1, kids, param=rep, minsz=1)
        return (self.branches_of(node, kids, wbranches, path), dtype,
                spec._replace(nullable=bool(nulls)))

    def res_from_union(self, w: AvroType, r: AvroType, name: str, path: str,
                       stack: tuple[int, ...]) -> _Compiled:
        """Compile a writer union read as a reader type that is not a union."""
        mine = [j for j, b in enumerate(w.branches) if _matches(b, r)
                and (b.kind == "null") == (r.kind == "null")]
        if not mine:
            raise self.reject(w, r, path, "no branch of the writer's union can be read as the "
                                          "reader's type")
        kids = [int(BranchKid.NO_MATCH)] * len(w.branches)
        (rep, dtype, spec), cols = self.fresh(functools.partial(
            self.res, w.branches[mine[0]], r, name, path, stack))
        kids[mine[0]] = rep
        for j in mine[1:]:
            kids[j] = self.replay(cols, functools.partial(
                self.res, w.branches[j], r, name, path, stack))[0]
        node = self.node(Op.OP_UNION_DISPATCH, -1, kids, param=rep, minsz=1)
        return self.branches_of(node, kids, w.branches, path), dtype, spec


def checked_default(r: AvroType, attrs: dict[str, Any], path: str) -> tuple[bytes, int]:
    """Return the encoding of a reader field's default and its cost (`encode_default`).

    Raises the `SchemaError` of a field the writer lacks that has no valid default.
    """
    if "default" not in attrs:
        msg = (f"reader schema: field {path!r} ({_describe(r)}) is not in the writer "
               "schema and has no 'default' in the reader schema: a reader field the "
               "writer lacks takes its default (add one, or drop the field)")
        raise SchemaError(msg, VARIANT)
    try:
        return encode_default(r, attrs["default"])
    except _BadDefault as exc:
        msg = (f"reader schema: the default of field {path!r}, "
               f"{json.dumps(attrs['default'])[:100]}, is not a value of {_describe(r)}: "
               f"{exc}")
        raise SchemaError(msg, VARIANT) from None


def _branch_for(w: AvroType, r: AvroType) -> int | None:
    """Return the branch of reader union `r` that reads writer type `w` (not a union).

    The first branch of the same type (same kind, or for named types the same name or
    an alias), else the first that matches through a promotion: as the Apache
    implementations (Java, Python) choose, so that a ``bytes`` value is read as the
    union's ``bytes`` branch even when a ``string`` one comes first.  (fastavro takes
    the first that matches, promotion or not.)
    """
    fits = [i for i, b in enumerate(r.branches)
            if _matches(w, b) and (w.kind == "null") == (b.kind == "null")]
    same = [i for i in fits if r.branches[i].kind == w.kind]
    return same[0] if same else fits[0] if fits else None


def _varint(n: int) -> bytes:
    out = bytearray()
    _zigzag(out, n)
    return bytes(out)


def _match_fields(w: AvroType, r: AvroType) -> list[int | None]:
    """For each reader field, the writer field it reads (by name, else by an alias)."""
    wnames = {n: j for j, (n, _) in enumerate(w.fields)}
    used: set[int] = set()
    out: list[int | None] = [None] * len(r.fields)
    for i, (rname, _) in enumerate(r.fields):
        if rname in wnames:
            out[i] = wnames[rname]
            used.add(wnames[rname])
    for i, attrs in enumerate(r.field_attrs):
        if out[i] is not None:
            continue
        aliases = attrs.get("aliases")
        for a in aliases if isinstance(aliases, list) else ():
            j = wnames.get(a) if isinstance(a, str) else None
            if j is not None and j not in used:
                out[i] = j
                used.add(j)
                break
    return out


# ---------------------------------------------------------------------------- plans


def _normal(text: str) -> str:
    try:
        return json.dumps(json.loads(text))
    except ValueError:
        return text


def _top_match(w: AvroType, r: AvroType) -> tuple[list[int | None], bool]:
    """Return the writer field read by each reader column; whether both are records."""
    if w.kind == "record" and r.kind == "record":
        return _match_fields(w, r), True
    return [0 if w.kind != "record" and r.kind != "record" else None], False


def resolved_plan(writer_text: str, reader: ReaderSchema,
                  columns: tuple[str, ...] | None) -> Plan:
    """Compile a file's writer schema read through `reader`, for reader `columns`.

    Parameters
    ----------
    writer_text
        The file header's ``avro.schema``.
    reader
        The reader schema.
    columns
        Reader columns, in output order, that the writer has (`reader_read` fills the
        others); ``None`` for every reader column.

    Returns
    -------
    Plan
        The plan; its schema is the reader's (for those columns).

    Raises
    ------
    SchemaError
        If the rules of schema resolution reject the writer schema (checked for the
        whole schema, whatever the columns).
    """
    if columns is not None:
        _resolved_plan(writer_text, reader.text, None)  # the whole schema resolves
    return _resolved_plan(writer_text, reader.text, columns)


@functools.lru_cache(maxsize=256)
def _resolved_plan(writer_text: str, reader_text: str,
                   columns: tuple[str, ...] | None) -> Plan:
    reader = _parsed(reader_text)
    if _normal(writer_text) == reader_text:
        return plan_for(writer_text, columns)  # the same schema: the plain plan
    w, r = parse_schema_text(writer_text), reader.root
    rfields = top_level_fields(r)
    wfields = top_level_fields(w)
    match, records = _top_match(w, r)
    comp = _Resolver()
    if records:
        if not _named_match(w, r):
            raise comp.reject(w, r, "", "named types match by name or by an alias of the "
                                        "reader's")
    elif (w.kind == "record") != (r.kind == "record"):
        raise comp.reject(w, r, "", "a record is read only as a record")
    names = [n for n, _ in rfields]
    wanted = names if columns is None else list(columns)
    stack = (id(r),) if records else ()
    compiled: dict[str, _Compiled] = {}
    reader_of: dict[int, str] = {}
    for i, (rname, rtype) in enumerate(rfields):
        j = match[i]
        if j is None:
            if records:
                checked_default(rtype, r.field_attrs[i], rname)
            if rname in wanted and columns is not None:
                msg = f"column {rname!r} is not in the writer schema: it is a default column"
                raise SchemaError(msg, VARIANT)
            continue
        if rname in wanted:
            compiled[rname] = comp.res(wfields[j][1], rtype, rname, rname if records else "",
                                       stack)
            reader_of[j] = rname
    if records:
        kids = [compiled[reader_of[j]][0] if j in reader_of
                else comp.node(Op.OP_SKIP, -1, [comp.walker(wt)], minsz=comp.minsize(wt))
                for j, (_, wt) in enumerate(wfields)]
        root = comp.node(Op.OP_RECORD, -1, kids, minsz=comp.item_size(w))
    else:
        root = compiled[names[0]][0]
        comp.nodes[root] = comp.nodes[root]._replace(minsz=comp.item_size(w))
    present = [c for c in wanted if c in compiled]
    return Plan(nodes=comp.nodes, kids=comp.kids, kid_names=comp.kid_names, cols=comp.cols,
                strings=comp.strings, root=root,
                export=[compiled[c][2] for c in present],
                schema=pl.Schema({c: compiled[c][1] for c in present}),
                unresolved=comp.unresolved)


def reader_read(writer_text: str, reader: ReaderSchema, columns: tuple[str, ...]) -> FileRead:
    """Return how to read reader `columns` from a file.

    The ones its writer schema has are decoded, the others are its defaults, one
    constant column each per batch.

    Parameters
    ----------
    writer_text
        The file header's ``avro.schema``.
    reader
        The reader schema.
    columns
        The read's columns (reader columns), in output order.

    Returns
    -------
    FileRead
        The columns to decode (`resolved_plan` compiles them) and the select adding
        the defaults, or None when every column is decoded.

    Raises
    ------
    SchemaError
        If the writer schema does not resolve against the reader schema.
    """
    resolved_plan(writer_text, reader, None)
    return _reader_read(writer_text, reader.text, columns)


@functools.lru_cache(maxsize=256)
def _reader_read(writer_text: str, reader_text: str, columns: tuple[str, ...]) -> FileRead:
    reader = _parsed(reader_text)
    w, r = parse_schema_text(writer_text), reader.root
    match, _ = _top_match(w, r)
    rfields = top_level_fields(r)
    absent = {rfields[i][0] for i, j in enumerate(match) if j is None}
    decode = tuple(c for c in columns if c not in absent)
    missing = [c for c in columns if c in absent]
    if not missing:
        return FileRead(decode, None)
    values = _default_row(r, tuple(missing))
    exprs = [pl.repeat(pl.lit(values[c]).first(), pl.len()).alias(c) if c in absent
             else pl.col(c) for c in columns]
    return FileRead(decode, exprs)


def _default_row(r: AvroType, names: tuple[str, ...]) -> pl.DataFrame:
    """Return one row of the reader's top-level defaults `names`.

    Decoded from their encoding by a plan of the reader's own types, so each has
    its column's exact type.
    """
    index = {n: i for i, (n, _) in enumerate(r.fields)}
    data = bytearray()
    for n in names:
        i = index[n]
        data += encode_default(r.fields[i][1], r.field_attrs[i]["default"])[0]
    sub = AvroType("record", name=r.name, fields=[r.fields[index[n]] for n in names],
                   field_attrs=[r.field_attrs[index[n]] for n in names])
    plan = compile_plan(sub, list(names))
    decoder = Decoder(plan.nodes, plan.kids, plan.kid_names, plan.cols, plan.strings, plan.root)
    decoder.decode(bytes(data), 0, 1)
    return FrameBuilder(plan.schema).build(decoder.finish(plan.export), 1)

