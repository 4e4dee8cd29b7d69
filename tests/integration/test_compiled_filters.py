"""Filters of integer comparisons are evaluated by the decoder (`query.comparisons`,
`Decoder.pick`), not by Polars: they keep the rows Polars keeps, nulls included."""

from __future__ import annotations

import datetime as dt
from array import array
from pathlib import Path

import polars as pl
import pytest
from conftest import write_avro
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import jetliner
from jetliner import readers
from jetliner._decoder import Decoder
from jetliner.query import comparisons
from jetliner.schema import plan_for

SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "a", "type": ["null", "int"]},
    {"name": "b", "type": "long"},
    {"name": "s", "type": "string"},
    {"name": "d", "type": {"type": "int", "logicalType": "date"}},
]}
INT32 = (-(2**31), 2**31 - 1)


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    import random

    rng = random.Random(7)
    rows = [{"a": None if i % 5 == 0 else rng.choice([*INT32, rng.randrange(-50, 50)]),
             "b": rng.choice([-(2**63), 2**63 - 1, rng.randrange(-50, 50)]),
             "s": f"s{i}", "d": dt.date(2020, 1, 1) + dt.timedelta(days=i % 30)}
            for i in range(600)]
    path = tmp_path_factory.mktemp("compiled") / "ints.avro"
    path.write_bytes(write_avro(SCHEMA, rows, codec="snappy", sync_interval=400))
    return path


COLUMNS = {"a": 0, "b": 1}


@pytest.mark.parametrize(("predicate", "expected"), [
    (pl.col("a") < 3, [0, 0, 3]),
    (3 <= pl.col("b"), [1, 3, 3]),
    ((pl.col("a") != -1) & (pl.col("b") == 2**62), [0, 5, -1, 1, 4, 2**62]),
    (pl.col("a").is_between(-2, 9), [0, 3, -2, 0, 1, 9]),
    (pl.col("a").is_between(-2, 9, closed="none"), [0, 2, -2, 0, 0, 9]),
    (pl.col("b").is_between(1, 2, closed="right"), [1, 2, 1, 1, 1, 2]),
    (pl.col("a") < 3.5, None),  # a float: Polars casts
    ((pl.col("a") < 3) | (pl.col("b") > 1), None),
    (pl.col("s") == "x", None),
    (pl.col("d") < dt.date(2020, 1, 5), None),
    (pl.col("a") < pl.col("b"), None),
    (pl.col("a") < 2**70, None),
    (pl.col("a").is_null(), None),
    (~(pl.col("a") < 3), None),
])
def test_only_conjunctions_of_integer_comparisons_compile(predicate: pl.Expr,
                                                          expected: list[int] | None) -> None:
    assert comparisons(predicate, COLUMNS) == expected


_TERM = st.one_of(
    st.builds(lambda c, op, v: getattr(pl.col(c), op)(v), st.sampled_from("ab"),
              st.sampled_from(["__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"]),
              st.one_of(st.integers(-60, 60), st.sampled_from([*INT32, -(2**63), 2**63 - 1]))),
    st.builds(lambda c, lo, hi, closed: pl.col(c).is_between(lo, hi, closed=closed),
              st.sampled_from("ab"), st.integers(-60, 60), st.integers(-60, 60),
              st.sampled_from(["both", "left", "right", "none"])),
)


@settings(max_examples=80, deadline=None)
@given(terms=st.lists(_TERM, min_size=1, max_size=3), batch=st.sampled_from([64, 250, 1000]))
def test_compiled_filters_keep_what_polars_keeps(data_file: Path, terms: list[pl.Expr],
                                                 batch: int) -> None:
    predicate = terms[0]
    for t in terms[1:]:
        predicate = predicate & t
    compiled: list[object] = []
    real = readers.comparisons

    def recording(*args):
        compiled.append(real(*args))
        return compiled[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(readers, "comparisons", recording)
        mp.setattr(readers, "LATE_BELOW", 2.0)  # every batch late
        lf = jetliner.scan_avro(data_file, batch_size=batch)
        got = lf.filter(predicate).collect()
    expected = lf.filter(predicate).collect(optimizations=pl.QueryOptFlags.none())
    assert_frame_equal(got, expected)
    assert compiled  # (Polars rewrites some, a < -2**63 say, into what does not compile)


@pytest.mark.parametrize("predicate", [
    pl.col("a") < 3, (pl.col("b") >= -5) & (pl.col("a") != 0),
    pl.col("a").is_between(-10, 10, closed="left"), pl.col("b") == 2**63 - 1,
])
def test_common_integer_filters_are_picked_by_the_decoder(data_file: Path, monkeypatch,
                                                          predicate: pl.Expr) -> None:
    compiled: list[object] = []
    real = readers.comparisons
    monkeypatch.setattr(readers, "comparisons", lambda *a: compiled.append(real(*a))
                        or compiled[-1])
    monkeypatch.setattr(readers, "LATE_BELOW", 2.0)
    lf = jetliner.scan_avro(data_file, batch_size=100)
    got = lf.filter(predicate).collect()
    assert compiled and all(c is not None for c in compiled)
    assert_frame_equal(got, lf.filter(predicate).collect(optimizations=pl.QueryOptFlags.none()))


def test_pick_checks_its_arguments() -> None:
    import json

    plan = plan_for(json.dumps(SCHEMA), ("a", "s"))
    d = Decoder(plan.nodes, plan.kids, plan.kid_names, plan.cols, plan.strings, plan.root)
    record = b"\x02\x06" + b"\x04" + b"\x02s" + b"\x00"  # a = 3, b = 2, s = "s", d = 0
    assert d.decode(record * 4, 0, 4) == 4 * len(record)
    out = bytearray(8 * 4)
    assert d.pick(array("q", [0, 4, 3]), out) == 4  # a == 3: every row
    for bad in ([0, 4], [7, 4, 3], [0, 9, 3], [1, 0, 3]):  # not a triple; no column 7;
        with pytest.raises(ValueError, match="terms"):  # no comparison 9; s is a string
            d.pick(array("q", bad), out)
    with pytest.raises(ValueError, match="out"):
        d.pick(array("q", [0, 4, 3]), out, 1)
