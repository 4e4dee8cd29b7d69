"""The first pass of late materialisation, two records at a time (``_twin.pxi``): a
task's blocks split between two decoders give the rows, the record starts and the
verdict on damage of one decoder taking every block."""

from __future__ import annotations

import json
from array import array

import polars as pl
import pytest
from conftest import avro_bytes, zigzag
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from jetliner._decoder import Decoder
from jetliner.frames import FrameBuilder
from jetliner.readers import _halves
from jetliner.schema import plan_for

# field types, each with a strategy for one value's bytes
_FIELDS: dict[str, tuple[object, st.SearchStrategy[bytes]]] = {
    "long": ("long", st.integers(-(2**63), 2**63 - 1).map(zigzag)),
    "int": ("int", st.integers(-(2**31), 2**31 - 1).map(zigzag)),
    "double": ("double", st.binary(min_size=8, max_size=8)),
    "float": ("float", st.binary(min_size=4, max_size=4)),
    "boolean": ("boolean", st.sampled_from([b"\x00", b"\x01"])),
    "string": ("string", st.text(max_size=30).map(lambda s: avro_bytes(s.encode()))),
    "null_long": (["null", "long"], st.one_of(
        st.just(zigzag(0)), st.integers(-(2**40), 2**40).map(lambda v: zigzag(1) + zigzag(v)))),
    "null_double": (["null", "double"], st.one_of(
        st.just(zigzag(0)), st.binary(min_size=8, max_size=8).map(lambda b: zigzag(1) + b))),
    "float_null": (["float", "null"], st.one_of(
        st.just(zigzag(1)), st.binary(min_size=4, max_size=4).map(lambda b: zigzag(0) + b))),
    "long_array": ({"type": "array", "items": "long"}, st.lists(
        st.integers(-100, 100), max_size=3).map(
        lambda xs: (zigzag(len(xs)) + b"".join(map(zigzag, xs)) if xs else b"") + b"\x00")),
}


def _decoder(plan, budget: int = 1 << 26) -> Decoder:
    return Decoder(plan.nodes, plan.kids, plan.kid_names, plan.cols, plan.strings, plan.root,
                   zero_byte_budget=budget)


@st.composite
def tasks(draw: st.DrawFn):
    """A schema, the columns a first pass decodes, and blocks of records (one sometimes
    damaged): (data, offsets, counts)."""
    kinds = draw(st.lists(st.sampled_from(sorted(_FIELDS)), min_size=1, max_size=12))
    schema = {"type": "record", "name": "R",
              "fields": [{"name": f"f{i}", "type": _FIELDS[k][0]} for i, k in enumerate(kinds)]}
    chosen = draw(st.sets(st.integers(0, len(kinds) - 1), max_size=3))
    counts = draw(st.lists(st.integers(0, 9), min_size=0, max_size=7))
    blocks = [b"".join(draw(_FIELDS[k][1]) for _ in range(n) for k in kinds) for n in counts]
    damage = draw(st.integers(0, 4))
    if damage == 0 and blocks:  # a block cut short, or with a byte left over
        i = draw(st.integers(0, len(blocks) - 1))
        blocks[i] = blocks[i][:-1] if draw(st.booleans()) else blocks[i] + b"\x00"
    offsets = array("q", [0])
    for b in blocks:
        offsets.append(offsets[-1] + len(b))
    return (schema, tuple(f"f{i}" for i in sorted(chosen)), b"".join(blocks), offsets,
            array("q", counts))


@settings(max_examples=300, deadline=None)
@given(task=tasks(), where=st.floats(0, 1), budget=st.sampled_from([1 << 26, 0, 3, 12]))
def test_two_chains_decode_as_one(task, where: float, budget: int) -> None:
    """The pair decodes what one decoder decodes; with a small zero-byte budget (null
    branches spend it) it may refuse a task one decoder accepts, never the reverse
    (the caller then decodes block by block with the whole budget)."""
    schema, columns, data, offsets, counts = task
    plan = plan_for(json.dumps(schema), columns)
    frames = FrameBuilder(plan.schema)
    one = _decoder(plan, budget)
    starts_one = array("q", [0] * (sum(counts) + 1))
    bad_one = one.decode_blocks_marked(data, offsets, counts, starts_one)

    first, twin = _decoder(plan, budget), _decoder(plan, budget)
    split = round(where * len(counts))
    starts = array("q", [0] * (sum(counts) + 1))
    bad = first.decode_blocks_marked(data, offsets, counts, starts, twin, split)
    if bad_one >= 0:
        assert bad >= 0
    elif budget == 1 << 26:
        assert bad < 0
    if bad >= 0:
        assert 0 <= bad < len(counts)
        return
    assert starts == starts_one
    rows_first = sum(counts[:split])
    assert (first.rows, twin.rows) == (rows_first, sum(counts) - rows_first)
    expected = frames.build(one.finish(plan.export), sum(counts))
    got = pl.concat([frames.build(first.finish(plan.export), rows_first),
                     frames.build(twin.finish(plan.export), sum(counts) - rows_first)])
    assert_frame_equal(got, expected)


@pytest.mark.parametrize("budget", [3, 5, 6])
def test_the_pair_shares_the_batch_zero_byte_budget(budget: int) -> None:
    """Six null doubles skipped over two blocks: one decoder with a budget of fewer
    than six zero-byte values refuses them, and so does the pair (three each would
    fit in two budgets of three)."""
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "long"}, {"name": "f", "type": ["null", "double"]}]}
    plan = plan_for(json.dumps(schema), ("a",))
    block = (zigzag(1) + zigzag(0)) * 3
    args = (block * 2, array("q", [0, len(block), 2 * len(block)]), array("q", [3, 3]))
    one = _decoder(plan, budget).decode_blocks_marked(*args, array("q", [0] * 7))
    two = _decoder(plan, budget).decode_blocks_marked(*args, array("q", [0] * 7),
                                                      _decoder(plan, budget), 1)
    assert (one >= 0, two >= 0) == ((True, True) if budget < 6 else (False, False))


def test_a_twin_must_be_another_decoder_of_the_plan() -> None:
    plan = plan_for(json.dumps({"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "long"}]}), ("a",))
    other = plan_for(json.dumps({"type": "record", "name": "S", "fields": [
        {"name": "a", "type": "long"}, {"name": "b", "type": {"type": "array", "items": "int"}}]}),
        ("a", "b"))
    d = _decoder(plan)
    args = (b"\x02\x04", array("q", [0, 1, 2]), array("q", [1, 1]), bytearray(24))
    for twin in (d, _decoder(other)):
        with pytest.raises(ValueError, match="same plan"):
            d.decode_blocks_marked(*args, twin, 1)
    assert d.decode_blocks_marked(*args, _decoder(plan), 1) == -1


@pytest.mark.parametrize(("counts", "expected"), [
    ([], (0, 0)), ([7], (1, 7)), ([10, 10, 10, 10], (2, 20)), ([1, 100], (1, 1)),
    ([100, 1], (1, 100)), ([5, 5, 5], (2, 10)), ([0, 0], (2, 0)), ([0, 3, 4], (2, 3)),
])
def test_halves_split_records_evenly_at_a_block(counts: list[int],
                                                expected: tuple[int, int]) -> None:
    assert _halves(array("q", counts)) == expected


@settings(max_examples=300, deadline=None)
@given(kinds=st.lists(st.sampled_from(sorted(_FIELDS)), min_size=1, max_size=6),
       blocks=st.lists(st.tuples(st.integers(0, 6), st.binary(max_size=60)), max_size=6),
       where=st.floats(0, 1))
def test_two_chains_over_random_bytes_agree_with_one(kinds: list[str],
                                                     blocks: list[tuple[int, bytes]],
                                                     where: float) -> None:
    """Whatever the bytes, the two chains never crash and fail exactly when one does."""
    schema = {"type": "record", "name": "R",
              "fields": [{"name": f"f{i}", "type": _FIELDS[k][0]} for i, k in enumerate(kinds)]}
    plan = plan_for(json.dumps(schema), ("f0",))
    counts = array("q", [n for n, _ in blocks])
    offsets = array("q", [0])
    for _, b in blocks:
        offsets.append(offsets[-1] + len(b))
    data = b"".join(b for _, b in blocks)
    one = _decoder(plan).decode_blocks_marked(data, offsets, counts,
                                              array("q", [0] * (sum(counts) + 1)))
    starts = array("q", [0] * (sum(counts) + 1))
    two = _decoder(plan).decode_blocks_marked(data, offsets, counts, starts, _decoder(plan),
                                              round(where * len(counts)))
    assert (one >= 0) == (two >= 0)
