"""The compiled decoder on malformed record bytes: typed errors, never a crash or hang."""

from __future__ import annotations

import json

import pytest
from conftest import avro_bytes, container, zigzag
from hypothesis import given, settings
from hypothesis import strategies as st

import jetliner

LONG = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "long"}]}
INT = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
STR = {"type": "record", "name": "R", "fields": [{"name": "s", "type": "string"}]}


def read(schema: object, count: int, payload: bytes, **kw: object):
    return jetliner.read_avro(container(schema, [(count, payload)]), **kw)


def decode_error(schema: object, count: int, payload: bytes) -> jetliner.DecodeError:
    with pytest.raises(jetliner.DecodeError) as info:
        read(schema, count, payload)
    return info.value


def test_varint_longer_than_ten_bytes() -> None:
    err = decode_error(LONG, 1, b"\xff" * 11)
    assert "variable-length integer" in err.message
    assert err.block_index == 0 and err.record_index == 0


def test_varint_overflowing_64_bits() -> None:
    err = decode_error(LONG, 1, b"\xff" * 9 + b"\x02")
    assert "64 bits" in err.message


def test_extreme_longs_round_trip() -> None:
    payload = zigzag(2**63 - 1) + zigzag(-(2**63))
    assert read(LONG, 2, payload)["a"].to_list() == [2**63 - 1, -(2**63)]


def test_longs_of_every_length_round_trip() -> None:
    """Every varint length (1 to 10 bytes), both signs, around each length's limits;
    the last values of the block sit within 10 bytes of its end (the bounds-checked
    path), the others in the middle (the 8-bytes-at-once path)."""
    values = []
    for bits in range(64):
        for v in (1 << bits, (1 << bits) - 1, (1 << bits) + 1):
            if v < 2**63:
                values += [v, -v, -v - 1]
    payload = b"".join(zigzag(v) for v in values)
    assert read(LONG, len(values), payload)["a"].to_list() == values
    for tail in range(1, 12):  # each short tail alone at the block's end
        assert read(LONG, tail, b"".join(zigzag(v) for v in values[-tail:]))["a"].to_list() \
            == values[-tail:]


def test_varint_with_ten_bytes_of_continuation_in_the_middle() -> None:
    """An 11-byte varint is refused whether or not it is near the block's end."""
    good = zigzag(5) * 20
    assert "variable-length integer" in decode_error(LONG, 2, b"\xff" * 11 + good).message


def test_int_outside_32_bits() -> None:
    err = decode_error(INT, 1, zigzag(2**31))
    assert "32 bits" in err.message
    extremes = read(INT, 2, zigzag(2**31 - 1) + zigzag(-(2**31)))["a"].to_list()
    assert extremes == [2**31 - 1, -(2**31)]


def test_negative_string_length() -> None:
    assert "negative length" in decode_error(STR, 1, zigzag(-3)).message


def test_string_longer_than_block() -> None:
    err = decode_error(STR, 1, zigzag(100) + b"abc")
    assert "end before the record does" in err.message
    assert err.block_offset == 2  # where the string bytes should start, after its length


def test_invalid_utf8_rejected() -> None:
    err = decode_error(STR, 2, avro_bytes(b"ok") + avro_bytes(b"\xc3\x28"))
    assert "UTF-8" in err.message
    assert err.record_index == 1


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=12))
def test_utf8_validation_agrees_with_python(raw: bytes) -> None:
    try:
        expected = raw.decode("utf-8")
    except UnicodeDecodeError:
        expected = None
    if expected is None:
        with pytest.raises(jetliner.DecodeError):
            read(STR, 1, avro_bytes(raw))
    else:
        assert read(STR, 1, avro_bytes(raw))["s"].to_list() == [expected]


MAP = {"type": "record", "name": "R", "fields": [
    {"name": "m", "type": {"type": "map", "values": "int"}}]}
# a string inside a recursive value, which is read as JSON text
TREE = {"type": "record", "name": "T", "fields": [
    {"name": "label", "type": "string"}, {"name": "kids", "type": {"type": "array", "items": "T"}}]}


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=16), st.binary(max_size=6))
def test_invalid_utf8_replace_agrees_with_python(raw: bytes, key: bytes) -> None:
    """invalid_utf8='replace' gives what bytes.decode(errors='replace') gives, in
    plain strings, map keys, and strings inside JSON text."""
    want = raw.decode("utf-8", "replace")
    got = read(STR, 1, avro_bytes(raw), invalid_utf8="replace")["s"].to_list()
    assert got == [want]
    payload = zigzag(1) + avro_bytes(key) + zigzag(7) + zigzag(0)
    got_map = read(MAP, 1, payload, invalid_utf8="replace")["m"].to_list()
    assert got_map == [{key.decode("utf-8", "replace"): 7}]
    # root T(label=b"r", kids=[T(label=raw, kids=[])]): the kids column holds JSON
    payload = avro_bytes(b"r") + zigzag(1) + avro_bytes(raw) + zigzag(0) + zigzag(0)
    df = read(TREE, 1, payload, invalid_utf8="replace")
    assert json.loads(df["kids"].item()) == [{"label": want, "kids": []}]


def test_invalid_utf8_option_is_checked() -> None:
    with pytest.raises(jetliner.ConfigurationError, match="invalid_utf8"):
        read(STR, 1, avro_bytes(b"x"), invalid_utf8="ignore")


def test_nesting_and_zero_byte_limits_are_options() -> None:
    nulls = {"type": "record", "name": "R", "fields": [
        {"name": "a", "type": {"type": "array", "items": "null"}}]}
    payload = zigzag(1000) + zigzag(0)
    assert read(nulls, 1, payload)["a"].list.len().to_list() == [1000]
    with pytest.raises(jetliner.DecodeError, match="max_zero_byte_values"):
        read(nulls, 1, payload, max_zero_byte_values=999)
    deep = {"type": "record", "name": "N", "fields": [
        {"name": "next", "type": ["null", "N"]}]}
    payload = zigzag(1) * 50 + zigzag(0)
    assert read(deep, 1, payload).height == 1
    with pytest.raises(jetliner.DecodeError, match="max_nesting_depth"):
        read(deep, 1, payload, max_nesting_depth=20)


def test_enum_index_out_of_range() -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}}]}
    assert "enum index" in decode_error(schema, 1, zigzag(2)).message
    assert "enum index" in decode_error(schema, 1, zigzag(-1)).message


def test_union_index_out_of_range() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "u", "type": ["null", "long"]}]}
    assert "union branch" in decode_error(schema, 1, zigzag(2)).message
    multi = {"type": "record", "name": "R",
             "fields": [{"name": "u", "type": ["int", "string", "null"]}]}
    assert "union branch" in decode_error(multi, 1, zigzag(3)).message


def test_boolean_byte_other_than_0_or_1() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "b", "type": "boolean"}]}
    assert "boolean" in decode_error(schema, 1, b"\x02").message


def test_array_count_larger_than_bytes() -> None:
    schema = {"type": "record", "name": "R",
              "fields": [{"name": "a", "type": {"type": "array", "items": "long"}}]}
    assert "item count" in decode_error(schema, 1, zigzag(2**40) + b"\x00").message


def test_array_of_nulls_claiming_two_to_the_forty_items_fails_fast() -> None:
    schema = {"type": "record", "name": "R",
              "fields": [{"name": "a", "type": {"type": "array", "items": "null"}}]}
    err = decode_error(schema, 1, zigzag(2**40) + zigzag(0))
    assert "zero-byte" in err.message


def test_zero_field_records_claiming_two_to_the_forty_rows_fail_fast() -> None:
    schema = {"type": "record", "name": "Empty", "fields": []}
    err = decode_error(schema, 2**40, b"")
    assert "take no bytes" in err.message


def test_block_count_larger_than_its_bytes() -> None:
    assert "count" in decode_error(LONG, 1000, b"\x02").message


def test_bytes_left_after_the_last_record() -> None:
    err = decode_error(LONG, 1, b"\x02\x04")
    assert "after its 1 records" in err.message


def test_deep_recursive_data_is_bounded_without_stack_overflow() -> None:
    schema = {"type": "record", "name": "Node", "fields": [
        {"name": "v", "type": "long"},
        {"name": "next", "type": ["null", "Node"]}]}
    depth = 200_000
    payload = (zigzag(1) + zigzag(1)) * depth + zigzag(1) + zigzag(0)
    err = decode_error(schema, 1, payload)
    assert "max_nesting_depth" in err.message


def test_moderately_deep_recursive_data_reads_as_json() -> None:
    schema = {"type": "record", "name": "Node", "fields": [
        {"name": "v", "type": "long"},
        {"name": "next", "type": ["null", "Node"]}]}
    depth = 500
    payload = (zigzag(7) + zigzag(1)) * depth + zigzag(7) + zigzag(0)
    text = read(schema, 1, payload)["next"][0]
    assert text.count('"v":7') == depth
    assert text.endswith('"next":null' + "}" * depth)


@pytest.mark.parametrize("codec_free_cut", range(1, 33))
def test_every_truncation_of_a_record_raises(codec_free_cut: int) -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "long"}, {"name": "s", "type": "string"},
        {"name": "m", "type": {"type": "map", "values": "double"}},
        {"name": "u", "type": ["null", "float"]}]}
    payload = (zigzag(123456789) + avro_bytes(b"hello world") + zigzag(1) + avro_bytes(b"k")
               + b"\x00" * 8 + zigzag(0) + zigzag(1) + b"\x00\x00\x80\x3f")
    assert len(payload) == 33
    assert read(schema, 1, payload).height == 1
    with pytest.raises(jetliner.DecodeError):
        read(schema, 1, payload[:codec_free_cut])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.integers(min_value=0, max_value=50))
def test_random_bytes_never_crash(payload: bytes, count: int) -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "a", "type": ["null", "long", "string", {"type": "array", "items": "R"}]},
        {"name": "b", "type": {"type": "map", "values": {"type": "fixed", "name": "F", "size": 3}}},
        {"name": "d",
         "type": {"type": "bytes", "logicalType": "decimal", "precision": 50, "scale": 3}},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["x", "y"]}}]}
    try:
        read(schema, count, payload)
    except jetliner.DecodeError:
        pass


@pytest.mark.parametrize(("logical", "base", "value"), [
    ("time-millis", "int", 86_400_000), ("time-millis", "int", -1),
    ("time-micros", "long", 86_400_000_000), ("time-micros", "long", 2**62)])
def test_time_outside_a_day_is_rejected(logical: str, base: str, value: int) -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "t", "type": {"type": base, "logicalType": logical}}]}
    assert "outside the 24 hours" in decode_error(schema, 1, zigzag(value)).message
    last = 86_400_000 - 1 if logical == "time-millis" else 86_400_000_000 - 1
    assert read(schema, 2, zigzag(0) + zigzag(last)).height == 2


def test_zero_byte_budget_counts_every_null_field_not_just_records() -> None:
    wide_nulls = {"type": "record", "name": "N", "fields": [
        {"name": f"n{i}", "type": "null"} for i in range(1000)]}
    # 100 000 records of 1000 null fields: 10^8 values, beyond the default budget
    err = decode_error(wide_nulls, 100_000, b"")
    assert "zero-byte" in err.message
    assert read(wide_nulls, 1000, b"").shape == (1000, 1000)


def test_zero_byte_budget_for_arrays_of_empty_records() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "a", "type": {
        "type": "array", "items": {"type": "record", "name": "E", "fields": [
            {"name": f"n{i}", "type": "null"} for i in range(100)]}}}]}
    err = decode_error(schema, 1, zigzag(1_000_000) + zigzag(0))
    assert "zero-byte" in err.message


@pytest.mark.parametrize("unscaled", [10**4, -(10**4), 2**100])
def test_decimal_beyond_its_precision_is_rejected(unscaled: int) -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "d",
         "type": {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2}}]}
    raw = unscaled.to_bytes(16, "big", signed=True)
    assert "precision" in decode_error(schema, 1, avro_bytes(raw)).message
    ok = (9999).to_bytes(2, "big", signed=True)
    assert str(read(schema, 1, avro_bytes(ok))["d"][0]) == "99.99"


def test_big_decimal_scale_is_bounded() -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "b", "type": {"type": "bytes", "logicalType": "big-decimal"}}]}
    value = avro_bytes(avro_bytes(b"\x01") + zigzag(-1_000_000))
    assert "big-decimal" in decode_error(schema, 1, value).message


def test_single_branch_union_rejects_negative_index() -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "a", "type": ["long"]}, {"name": "n", "type": ["null"]}]}
    assert "union branch" in decode_error(schema, 1, zigzag(-99) * 2).message
    assert read(schema, 1, zigzag(0) + zigzag(5) + zigzag(0)).to_dicts() == [{"a": 5, "n": None}]


def test_block_size_near_two_to_the_63_is_an_error_not_a_hang() -> None:
    data = container(LONG, []) + zigzag(1) + zigzag(2**63 - 1) + b"\x02" + b"0123456789abcdef"
    with pytest.raises(jetliner.ParseError, match="needs"):
        jetliner.read_avro(data)


def test_zero_byte_budget_is_per_batch_not_per_block() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "a", "type": {
        "type": "array", "items": {"type": "record", "name": "E", "fields": [
            {"name": f"f{i}", "type": {"type": "fixed", "name": f"F{i}", "size": 0}}
            for i in range(4)]}}}]}
    block = (1, zigzag(2**24 // 5) + zigzag(0))
    with pytest.raises(jetliner.DecodeError, match="zero-byte"):
        jetliner.read_avro(container(schema, [block] * 40))


def test_exponential_named_type_reuse_is_refused() -> None:
    types = [{"type": "record", "name": "R0",
              "fields": [{"name": f"n{i}", "type": "null"} for i in range(10)]}]
    for k in range(1, 7):
        types.append({"type": "record", "name": f"R{k}",
                      "fields": [{"name": f"f{i}", "type": types[-1] if i == 0 else f"R{k - 1}"}
                                 for i in range(10)]})
    schema = {"type": "record", "name": "Top", "fields": [{"name": "x", "type": types[-1]}]}
    with pytest.raises(jetliner.SchemaError, match="expands to more than"):
        jetliner.read_avro_schema(container(schema, []))


def test_skipping_deeply_reused_zero_byte_records_is_bounded() -> None:
    types = [{"type": "record", "name": "R0",
              "fields": [{"name": f"n{i}", "type": "null"} for i in range(10)]}]
    for k in range(1, 5):  # R4: ~111 000 values per record, still compilable
        types.append({"type": "record", "name": f"R{k}",
                      "fields": [{"name": f"f{i}", "type": types[-1] if i == 0 else f"R{k - 1}"}
                                 for i in range(10)]})
    schema = {"type": "record", "name": "Top", "fields": [
        {"name": "id", "type": "long"}, {"name": "x", "type": types[-1]}]}
    # 10 000 one-byte records would make 10^9 zero-byte values: refused, not hours of work
    with pytest.raises(jetliner.DecodeError, match="zero-byte"):
        jetliner.read_avro(container(schema, [(10_000, zigzag(1) * 10_000)]), columns=["id"])
    assert jetliner.read_avro(container(schema, [(3, zigzag(1) * 3)]), columns=["id"]).height == 3


def test_records_without_bytes_are_bounded_per_file() -> None:
    """A few bytes claiming millions of empty records: refused past max_empty_records
    (across blocks), read when the limit allows, in batches of the right heights."""
    empty = {"type": "record", "name": "E", "fields": []}
    data = container(empty, [(3_000_000, b""), (3_000_000, b"")])
    with pytest.raises(jetliner.DecodeError, match="max_empty_records") as info:
        jetliner.read_avro(data)
    assert info.value.block_index == 1  # the first block fits in 2^22, the second does not
    df = jetliner.read_avro(data, max_empty_records=6_000_000)
    assert df.shape == (6_000_000, 0)
    with jetliner.open(container(empty, [(10, b"")]), batch_size=4) as reader:
        assert [b.height for b in reader] == [4, 4, 2]
    with pytest.warns(jetliner.SkippedDataWarning):
        assert jetliner.read_avro(data, ignore_errors=True).height == 3_000_000


def test_a_failed_record_leaves_nothing_behind() -> None:
    """Decoders are reused from batch to batch: the values a failed record had already
    appended (here its long, before the truncated string) must not reach the next read."""
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "long"}, {"name": "s", "type": "string"}]}
    with pytest.raises(jetliner.DecodeError):
        read(schema, 1, zigzag(99) + zigzag(40) + b"short")
    good = read(schema, 2, zigzag(1) + avro_bytes(b"x") + zigzag(2) + avro_bytes(b"y"))
    assert good.to_dicts() == [{"a": 1, "s": "x"}, {"a": 2, "s": "y"}]


def test_a_failed_batch_is_freed_at_once() -> None:
    """The thread keeps its decoder for the next batch, not the failed batch's rows."""
    from jetliner import readers

    payload = (zigzag(1) + avro_bytes(b"x")) * 500 + zigzag(2) + zigzag(40) + b"short"
    with pytest.raises(jetliner.DecodeError):
        read({"type": "record", "name": "R", "fields": [
            {"name": "a", "type": "long"}, {"name": "s", "type": "string"}]}, 501, payload)
    cached = getattr(readers._DECODERS, "cache", {})
    assert cached, "the small read decodes on this thread, through the cache"
    assert [decoder.rows for _, decoder in cached.values()] == [0] * len(cached)


SKIPPED = {"type": "record", "name": "S", "fields": [
    {"name": "l", "type": "long"}, {"name": "i", "type": "int"},
    {"name": "s", "type": "string"}, {"name": "b", "type": "bytes"},
    {"name": "d", "type": "double"}, {"name": "f", "type": "float"},
    {"name": "t", "type": "boolean"},
    {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["X", "Y"]}},
    {"name": "u", "type": ["null", "long", "string", {"type": "array", "items": "int"}]},
    {"name": "keep", "type": "long"}]}


def test_projection_skips_every_kind_of_field() -> None:
    """Unprojected fields of each type are skipped (the fast paths and the walker)."""
    from conftest import write_avro

    records = [{"l": i * 10**9, "i": -i, "s": "é" * (i % 20), "b": b"\x00" * (i % 5),
                "d": i / 3, "f": 1.5, "t": i % 2 == 0, "e": "XY"[i % 2],
                "u": [None, i, str(i), [i, i]][i % 4], "keep": i} for i in range(500)]
    data = write_avro(SKIPPED, records, sync_interval=1000)
    assert jetliner.read_avro(data, columns=["keep"])["keep"].to_list() == list(range(500))
    # a union index out of range in a skipped field is still an error
    bad = zigzag(1) + zigzag(1) + avro_bytes(b"") + avro_bytes(b"") + b"\x00" * 12 \
        + b"\x01" + zigzag(0) + zigzag(9) + zigzag(5)
    with pytest.raises(jetliner.DecodeError, match="union"):
        jetliner.read_avro(container(SKIPPED, [(1, bad)]), columns=["keep"])


def test_wide_rows_make_smaller_batches() -> None:
    """A batch also ends at buffer_bytes / (2 * buffer_blocks) compressed bytes."""
    from conftest import write_avro

    schema = {"type": "record", "name": "W", "fields": [
        {"name": f"s{k}", "type": "string"} for k in range(20)]}
    records = [{f"s{k}": f"{i}-{k}-" + "x" * 40 for k in range(20)} for i in range(4000)]
    data = write_avro(schema, records, sync_interval=16_000)  # ~3.5 MB
    with jetliner.open(data, buffer_bytes=4 << 20, buffer_blocks=2) as reader:
        heights = [batch.height for batch in reader]
    assert len(heights) > 1 and max(heights) < 4000 and sum(heights) == 4000
    df = jetliner.read_avro(data, buffer_bytes=4 << 20, buffer_blocks=2)
    assert df.to_dicts() == records


def test_a_repeated_map_key_reads_as_fastavro_reads_it() -> None:
    """Avro does not forbid a key twice in one map; fastavro's dict keeps the
    key's first position and its last value, and so does jetliner's pl.Map."""
    import io

    import fastavro

    payload = (zigzag(3) + avro_bytes(b"a") + zigzag(1) + avro_bytes(b"b") + zigzag(2)
               + avro_bytes(b"a") + zigzag(3) + zigzag(0))
    data = container(MAP, [(1, payload)])
    theirs = [r["m"] for r in fastavro.reader(io.BytesIO(data))]
    ours = jetliner.read_avro(data)["m"].to_list()
    assert theirs == [{"a": 3, "b": 2}]
    assert ours == theirs and list(ours[0]) == list(theirs[0])


def test_late_materialisation_entry_points_check_their_arguments() -> None:
    from array import array

    from jetliner._decoder import Decoder
    from jetliner.schema import compile_plan, parse_schema

    plan = compile_plan(parse_schema({"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "long"}]}))
    d = Decoder(plan.nodes, plan.kids, plan.kid_names, plan.cols, plan.strings, plan.root)
    data = b"\x02" * 64
    with pytest.raises(ValueError, match="fewer than count"):
        d.decode_marked(data, 0, 2**62, bytearray(16))
    with pytest.raises(ValueError, match="fewer than count"):
        d.decode_marked(data, 0, 2, bytearray(16))
    starts = array("q", [0, 1])
    for bad in (2**63 - 1, -1, 1):
        with pytest.raises(ValueError, match="not in starts"):
            d.decode_at(data, starts, array("q", [bad]))
    with pytest.raises(ValueError, match="outside the buffer"):
        d.decode_at(data, array("q", [0, 65]), array("q", [0]))
    marks = bytearray(8 * 3)
    assert d.decode_marked(data, 0, 2, marks) == 2
    assert d.decode_at(data, marks, array("q", [1])) == 1


# Field types that the decoder skips in runs when they are not projected, with a valid
# encoding of a value drawn by hypothesis and the malformed encodings each must refuse.
_RUN_TYPES: dict[str, object] = {
    "int": "int", "long": "long", "boolean": "boolean", "float": "float",
    "double": "double", "string": "string", "bytes": "bytes",
    "null_int": ["null", "int"], "long_null": ["long", "null"],
    "null_string": ["null", "string"], "null_double": ["null", "double"],
    "boolean_null": ["boolean", "null"], "null_float": ["null", "float"],
}
_BAD: dict[str, list[bytes]] = {
    "int": [zigzag(2**31), zigzag(-(2**31) - 1), b"\xff" * 11],
    "long": [b"\xff" * 11, b"\xff" * 9 + b"\x02"],
    "boolean": [b"\x02", b"\xff"],
    "string": [zigzag(-3), zigzag(10**6)],
    "union": [zigzag(2), zigzag(-1), b"\xff" * 11],
}


@st.composite
def _run_value(draw: st.DrawFn, kind: str) -> bytes:
    """One field's bytes: mostly valid (canonical or over-long varints), sometimes bad."""
    base = kind.replace("null_", "").replace("_null", "")
    if kind != base:  # a union of null and `base`
        null_index = 0 if kind.startswith("null_") else 1
        if draw(st.integers(0, 30)) == 0:
            return draw(st.sampled_from(_BAD["union"]))
        if draw(st.booleans()):
            index = zigzag(null_index)
            return index if draw(st.booleans()) else index[:-1] + bytes([index[-1] | 0x80, 0])
        return zigzag(1 - null_index) + draw(_run_value(base))
    if draw(st.integers(0, 30)) == 0 and base in ("int", "long", "boolean", "string", "bytes"):
        return draw(st.sampled_from(_BAD["string" if base == "bytes" else base]))
    if base in ("int", "long"):
        bits = 31 if base == "int" else 63
        v = draw(st.integers(-(2**bits), 2**bits - 1))
        raw = zigzag(v)
        if len(raw) < 10 and draw(st.integers(0, 5)) == 0:  # the same value, over-long
            raw = raw[:-1] + bytes([raw[-1] | 0x80, 0])
        return raw
    if base == "boolean":
        return bytes([draw(st.integers(0, 1))])
    if base in ("float", "double"):
        return draw(st.binary(min_size=4 if base == "float" else 8,
                              max_size=4 if base == "float" else 8))
    text = draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40))
    return avro_bytes(text.encode())


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_skip_runs_read_and_fail_as_the_full_decode_does(data: st.DataObject) -> None:
    """Runs of unprojected primitive fields (and null unions) are skipped in one loop
    with fast paths; whatever the bytes, the projected column and any error (message,
    block, record and byte offset) are those of decoding every field."""
    # (long enough for a step to cover more than its 48 fixed bytes or 8 varints)
    kinds = data.draw(st.lists(st.sampled_from(sorted(_RUN_TYPES)), min_size=1, max_size=24))
    keep_at = sorted(data.draw(st.sets(st.integers(0, len(kinds)), min_size=1, max_size=3)))
    fields: list[tuple[str, str]] = [(f"f{i}", k) for i, k in enumerate(kinds)]
    for j, at in enumerate(reversed(keep_at)):
        fields.insert(at, (f"keep{j}", "long"))
    schema = {"type": "record", "name": "R",
              "fields": [{"name": n, "type": "long" if n.startswith("keep") else _RUN_TYPES[k]}
                         for n, k in fields]}
    rows = data.draw(st.integers(1, 12))
    payload = b"".join(zigzag(data.draw(st.integers(-(2**63), 2**63 - 1)))
                       if n.startswith("keep") else data.draw(_run_value(k))
                       for _ in range(rows) for n, k in fields)
    if data.draw(st.integers(0, 5)) == 0:  # a block cut short anywhere
        payload = payload[:data.draw(st.integers(0, len(payload)))]
    file = container(schema, [(rows, payload)])
    keep = [n for n, _ in fields if n.startswith("keep")]
    try:
        full = jetliner.read_avro(file).select(keep)
    except jetliner.DecodeError as err:
        with pytest.raises(jetliner.DecodeError) as info:
            jetliner.read_avro(file, columns=keep)
        got = info.value
        assert (got.message, got.block_index, got.record_index, got.block_offset) \
            == (err.message, err.block_index, err.record_index, err.block_offset)
    else:
        assert jetliner.read_avro(file, columns=keep).equals(full)
