"""Hypothesis strategies of Avro schemas and of their values, shared by the property tests."""

from __future__ import annotations

import decimal
import string
import uuid
from typing import Any

from hypothesis import strategies as st

NAME = st.text(string.ascii_letters + "_", min_size=1, max_size=6).map(
    lambda s: s[0].upper() + s[1:])
FIELD = st.text(string.ascii_lowercase + "_", min_size=1, max_size=8)

PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]
LOGICAL = [
    {"type": "int", "logicalType": "date"},
    {"type": "int", "logicalType": "time-millis"},
    {"type": "long", "logicalType": "time-micros"},
    {"type": "long", "logicalType": "timestamp-millis"},
    {"type": "long", "logicalType": "timestamp-micros"},
    {"type": "long", "logicalType": "local-timestamp-millis"},
    {"type": "long", "logicalType": "local-timestamp-micros"},
    {"type": "string", "logicalType": "uuid"},
]


@st.composite
def schemas(draw: st.DrawFn, depth: int = 3, counter: list[int] | None = None,
            logical: bool = True) -> Any:
    counter = counter if counter is not None else [0]

    def name() -> str:
        counter[0] += 1
        return f"{draw(NAME)}{counter[0]}"

    choices = ["prim", "prim", "enum", "fixed"] + (["logical", "decimal"] if logical else [])
    if depth > 0:
        choices += ["array", "map", "record", "record", "union", "nullable"]
    kind = draw(st.sampled_from(choices))
    if kind == "prim":
        return draw(st.sampled_from(PRIMITIVES))
    if kind == "logical":
        return dict(draw(st.sampled_from(LOGICAL)))
    if kind == "decimal":
        p = draw(st.integers(1, 45))
        s = draw(st.integers(0, p))
        if draw(st.booleans()):
            return {"type": "bytes", "logicalType": "decimal", "precision": p, "scale": s}
        size = 1
        while len(str(2 ** (8 * size - 1) - 1)) - 1 < p:
            size += 1
        return {"type": "fixed", "name": name(), "size": size, "logicalType": "decimal",
                "precision": p, "scale": s}
    if kind == "enum":
        symbols = draw(st.lists(st.text(string.ascii_uppercase, min_size=1, max_size=3),
                                min_size=1, max_size=5, unique=True))
        return {"type": "enum", "name": name(), "symbols": symbols}
    if kind == "fixed":
        return {"type": "fixed", "name": name(), "size": draw(st.integers(0, 6))}
    if kind == "array":
        return {"type": "array", "items": draw(schemas(depth - 1, counter, logical))}
    if kind == "map":
        return {"type": "map", "values": draw(schemas(depth - 1, counter, logical))}
    if kind == "nullable":
        inner = draw(schemas(depth - 1, counter, logical).filter(
            lambda s: not isinstance(s, list) and s != "null"))
        return ["null", inner] if draw(st.booleans()) else [inner, "null"]
    if kind == "union":
        pool = ["int", "string", "boolean", "double", "bytes"]
        branches = draw(st.lists(st.sampled_from(pool), min_size=2, max_size=4, unique=True))
        if draw(st.booleans()):
            branches.append({"type": "record", "name": name(), "fields": [
                {"name": "x", "type": draw(schemas(0, counter, logical))}]})
        if draw(st.booleans()):
            branches.insert(draw(st.integers(0, len(branches))), "null")
        return branches
    fields = draw(st.lists(FIELD, min_size=0, max_size=5, unique=True))
    return {"type": "record", "name": name(),
            "fields": [{"name": f, "type": draw(schemas(depth - 1, counter, logical))}
                       for f in fields]}


def _decimal_value(draw: st.DrawFn, p: int, s: int) -> decimal.Decimal:
    unscaled = draw(st.integers(-(10**p) + 1, 10**p - 1))
    # exact: the default context would round to 28 digits
    return decimal.Decimal(unscaled).scaleb(-s, context=decimal.Context(prec=p + 2))


@st.composite
def values(draw: st.DrawFn, s: Any) -> Any:
    if isinstance(s, list):
        return draw(values(draw(st.sampled_from(s))))
    if isinstance(s, str):
        return draw({
            "null": st.none(), "boolean": st.booleans(),
            "int": st.integers(-(2**31), 2**31 - 1), "long": st.integers(-(2**63), 2**63 - 1),
            "float": st.floats(width=32), "double": st.floats(),
            "bytes": st.binary(max_size=20), "string": st.text(max_size=20),
        }[s])
    t, lt = s["type"], s.get("logicalType")
    if lt == "date":
        return draw(st.integers(-30000, 60000))
    if lt == "time-millis":
        return draw(st.integers(0, 86_399_999))
    if lt == "time-micros":
        return draw(st.integers(0, 86_399_999_999))
    if lt in ("timestamp-millis", "local-timestamp-millis"):
        return draw(st.integers(-(2 * 10**12), 2 * 10**12))
    if lt in ("timestamp-micros", "local-timestamp-micros"):
        return draw(st.integers(-(2 * 10**15), 2 * 10**15))
    if lt == "uuid":
        return uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))
    if lt == "decimal":
        return _decimal_value(draw, s["precision"], s["scale"])
    if t == "enum":
        return draw(st.sampled_from(s["symbols"]))
    if t == "fixed":
        return draw(st.binary(min_size=s["size"], max_size=s["size"]))
    if t == "array":
        return draw(st.lists(values(s["items"]), max_size=4))
    if t == "map":
        return draw(st.dictionaries(st.text(max_size=5), values(s["values"]), max_size=4))
    return {f["name"]: draw(values(f["type"])) for f in s["fields"]}


@st.composite
def datasets(draw: st.DrawFn, logical: bool = True) -> tuple[Any, list[Any]]:
    if draw(st.integers(0, 9)) == 0:
        schema = draw(schemas(2, logical=logical))
    else:
        counter = [0]
        fields = draw(st.lists(FIELD, min_size=1, max_size=6, unique=True))
        schema = {"type": "record", "name": "Top", "fields": [
            {"name": f, "type": draw(schemas(3, counter, logical))} for f in fields]}
    records = draw(st.lists(values(schema), min_size=0, max_size=30))
    return schema, records
