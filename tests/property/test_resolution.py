"""Random schemas and a random evolution of each: files written by fastavro with the old
schema, read by jetliner through the new one as a reader schema, compared with what
fastavro (and, for a sample, the Apache avro package) reads through it."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from matching import assert_frame_matches
from strategies import FIELD, schemas, values

import jetliner

PROMOTE = {"int": ["long", "float", "double"], "long": ["float", "double"],
           "float": ["double"], "string": ["bytes"], "bytes": ["string"]}
# branches a union may gain (not already there: a union holds one of each type)
WIDEN = ["null", "int", "long", "string", "double", "boolean"]


@st.composite
def default_values(draw: st.DrawFn, schema: Any) -> Any:
    """A default of `schema` in its JSON form (unions: of their first branch; bytes as
    code points 0-255; finite floats)."""
    if isinstance(schema, list):
        return draw(default_values(schema[0]))
    t = schema if isinstance(schema, str) else schema["type"]
    if t in ("bytes", "fixed"):
        raw = draw(values(schema))
        return raw.decode("latin-1")
    if t in ("float", "double"):
        return draw(st.floats(allow_nan=False, allow_infinity=False, width=32))
    if t == "array":
        return draw(st.lists(default_values(schema["items"]), max_size=3))
    if t == "map":
        return draw(st.dictionaries(st.text(max_size=4), default_values(schema["values"]),
                                    max_size=3))
    if t == "record":
        return {f["name"]: draw(default_values(f["type"])) for f in schema["fields"]}
    return draw(values(schema))


@st.composite
def defaults(draw: st.DrawFn, counter: list[int]) -> tuple[Any, Any]:
    """A field type and a default of it."""
    # (not a union of bytes-or-fixed first and string: fastavro gives such a default as
    # text, which reads as the string branch)
    schema = draw(schemas(2, counter, logical=False).filter(lambda s: not _ambiguous(s)))
    return schema, draw(default_values(schema))


def _string_and_bytes(s: Any) -> bool:
    if isinstance(s, list):
        return ("string" in s and "bytes" in s) or any(map(_string_and_bytes, s))
    if isinstance(s, dict):
        return any(_string_and_bytes(x) for x in (s.get("items"), s.get("values")) if x) or any(
            _string_and_bytes(f["type"]) for f in s.get("fields", ()))
    return False


def _ambiguous(s: Any) -> bool:
    if isinstance(s, list):
        first = s[0] if isinstance(s[0], str) else s[0]["type"]
        return (first in ("bytes", "fixed") and "string" in s) or any(map(_ambiguous, s))
    if isinstance(s, dict):
        return any(_ambiguous(x) for x in (s.get("items"), s.get("values")) if x) or any(
            _ambiguous(f["type"]) for f in s.get("fields", ()))
    return False


@st.composite
def evolve(draw: st.DrawFn, schema: Any, counter: list[int], depth: int = 0) -> Any:
    """A reader schema the writer `schema` resolves against (a copy, changed at random)."""
    if isinstance(schema, list):
        # (primitive branches are not promoted: a union holds one of each type)
        branches = [b if isinstance(b, str) else draw(evolve(b, counter, depth + 1))
                    for b in schema]
        if draw(st.integers(0, 3)) == 0:  # widen the union
            kinds = {b if isinstance(b, str) else b.get("type") for b in branches}
            extra = [b for b in WIDEN if b not in kinds]
            if extra and not ("int" in kinds and "long" not in kinds):
                branches.append(draw(st.sampled_from(extra)))
        return branches
    if isinstance(schema, str):
        if schema in PROMOTE and draw(st.integers(0, 3)) == 0:
            return draw(st.sampled_from(PROMOTE[schema]))
        return schema
    schema = dict(schema)
    t = schema["type"]
    if t == "enum" and draw(st.integers(0, 2)) == 0:
        symbols = list(schema["symbols"])
        if len(symbols) > 1 and draw(st.booleans()):
            symbols.remove(draw(st.sampled_from(symbols)))  # unknown now: read as the default
        symbols = draw(st.permutations(symbols)) + [f"NEW{i}" for i in range(draw(
            st.integers(0, 2)))]
        schema["symbols"] = symbols
        schema["default"] = draw(st.sampled_from(symbols))
    elif t == "array":
        schema["items"] = draw(evolve(schema["items"], counter, depth + 1))
    elif t == "map":
        schema["values"] = draw(evolve(schema["values"], counter, depth + 1))
    elif t == "record":
        fields = []
        for f in schema["fields"]:
            f = dict(f)
            action = draw(st.sampled_from(["keep", "keep", "keep", "drop", "rename"]))
            if action == "drop":
                continue
            f["type"] = draw(evolve(f["type"], counter, depth + 1))
            if action == "rename":
                f["aliases"] = [f["name"]]
                f["name"] = f["name"] + "_re"
            fields.append(f)
        taken = {f["name"] for f in fields} | {f["name"] for f in schema["fields"]}
        for _ in range(draw(st.integers(0, 3 if depth == 0 else 1))):
            name = draw(FIELD)
            if name in taken:
                continue
            taken.add(name)
            ftype, default = draw(defaults(counter))
            fields.append({"name": name, "type": ftype, "default": default})
        schema["fields"] = draw(st.permutations(fields))
    return schema


def _fill(schema: Any, value: Any) -> Any:
    """fastavro's value of a default as read: bytes kept as text, nested record
    defaults not filled in; made the value the specification says."""
    if isinstance(schema, list):  # the branch of the value's shape
        for b in schema:
            kind = b if isinstance(b, str) else b["type"]
            if ((isinstance(value, list) and kind == "array")
                    or (isinstance(value, dict) and kind in ("map", "record"))
                    or (isinstance(value, str) and kind in ("bytes", "fixed")
                        and "string" not in schema)):
                return _fill(b, value)
        return value
    t = schema if isinstance(schema, str) else schema["type"]
    if t in ("bytes", "fixed") and isinstance(value, str):
        return value.encode("latin-1")
    if t == "array":
        return [_fill(schema["items"], v) for v in value]
    if t == "map":
        return {k: _fill(schema["values"], v) for k, v in value.items()}
    if t == "record" and isinstance(value, dict):
        return {f["name"]: _fill(f["type"], value[f["name"]] if f["name"] in value
                                 else f["default"]) for f in schema["fields"]}
    return value


@st.composite
def evolutions(draw: st.DrawFn) -> tuple[Any, Any, list[Any]]:
    counter = [0]
    fields = draw(st.lists(FIELD, min_size=1, max_size=6, unique=True))
    writer = {"type": "record", "name": "Top", "fields": [
        {"name": f, "type": draw(schemas(3, counter, logical=False))} for f in fields]}
    reader = draw(evolve(writer, [1000]))
    records = draw(st.lists(values(writer), min_size=0, max_size=20))
    return writer, reader, records


def _write(writer: Any, records: list[Any]) -> bytes:
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(writer), records, codec="deflate",
                    sync_interval=200)
    return buf.getvalue()


def _fastavro_read(raw: bytes, reader: Any) -> list[Any] | None:
    try:
        parsed = fastavro.parse_schema(copy.deepcopy(reader))
        return [_fill(reader, r) for r in fastavro.reader(io.BytesIO(raw),
                                                          reader_schema=parsed)]
    except fastavro.read.SchemaResolutionError:
        return None


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(evolutions(), st.integers(1, 30))
def test_reading_through_an_evolved_schema_matches_fastavro(
        data: tuple[Any, Any, list[Any]], batch_size: int) -> None:
    writer, reader, records = data
    # a union of string and bytes: fastavro reads the later of the two through the
    # earlier one's promotion, jetliner (as the Apache implementations) as itself
    assume(not _string_and_bytes(writer))
    raw = _write(writer, records)
    try:
        theirs = _fastavro_read(raw, reader)
    except UnicodeDecodeError:  # bytes promoted to string, not UTF-8: an error for both
        with pytest.raises(jetliner.DecodeError):
            jetliner.read_avro(raw, reader_schema=reader)
        return
    assume(theirs is not None)  # an evolution fastavro refuses (checked by the unit tests)
    assert theirs is not None
    df = jetliner.read_avro(raw, reader_schema=reader, batch_size=batch_size)
    assert_frame_matches(reader, df, theirs)
    assert df.schema == jetliner.read_avro_schema(raw, reader_schema=reader)
    # a projection reads the same values
    cols = [f["name"] for f in reader["fields"]][::2]
    if cols:
        projected = jetliner.read_avro(raw, reader_schema=json.dumps(reader), columns=cols)
        assert projected.equals(df.select(cols))


_LONG_TO_DOUBLE = (  # the avro package leaves a promoted long as its int: 2**53 + 1
    {"type": "record", "name": "Top", "fields": [{"name": "_", "type": "long"}]},
    {"type": "record", "name": "Top", "fields": [{"name": "_", "type": "double"}]},
    [{"_": 2**53 + 1}],
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(evolutions())
@example(_LONG_TO_DOUBLE)
def test_reading_through_an_evolved_schema_matches_apache_avro(
        data: tuple[Any, Any, list[Any]]) -> None:
    from avro.datafile import DataFileReader
    from avro.io import DatumReader
    from avro.schema import parse

    writer, reader, records = data
    # the avro package encodes a bytes default's text as UTF-8, not as the code points
    # 0-255 the specification says (fastavro and jetliner do): compare ASCII ones only
    assume(json.dumps(reader, ensure_ascii=False).isascii())
    try:
        parsed = parse(json.dumps(reader))
    except Exception:  # noqa: BLE001 - the avro package is stricter on names and defaults
        assume(False)
    raw = _write(writer, records)
    try:
        theirs = list(DataFileReader(io.BytesIO(raw), DatumReader(readers_schema=parsed)))
    except Exception:  # noqa: BLE001 - an evolution the avro package refuses
        assume(False)
    assert_frame_matches(reader, jetliner.read_avro(raw, reader_schema=reader),
                         [_fill(reader, r) for r in theirs])
