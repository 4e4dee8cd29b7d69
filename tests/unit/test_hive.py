"""jetliner.hive: partitions read from paths, and filters split for pruning."""

from __future__ import annotations

import polars as pl
import pytest

import jetliner
from jetliner.hive import conjuncts, path_partitions, prune, read_partitions
from jetliner.sources import LocalSource


@pytest.mark.parametrize(("path", "base", "expected"), [
    ("root/year=2024/day=01/f.avro", "root/", [("year", "2024"), ("day", "01")]),
    ("k=1/root/day=01/f.avro", "k=1/root/", [("day", "01")]),  # only below the folder
    ("k=1/root/day=01/f.avro", None, [("k", "1"), ("day", "01")]),
    ("root/k=1/f=2.avro", "root/", [("k", "1")]),  # the file's name is not a partition
    ("root/k=a%2Fb%20c/f.avro", "root/", [("k", "a/b c")]),  # values decoded
    ("root/a%3Db=1/f.avro", "root/", [("a%3Db", "1")]),  # keys not, as Polars
    ("root/k=__HIVE_DEFAULT_PARTITION__/j=/f.avro", "root/", [("k", None), ("j", None)]),
    ("root/=1/a=b=c/plain/f.avro", "root/", []),
    ("s3://bucket/topics/t/year=2024/f.avro", "s3://bucket/topics/t/", [("year", "2024")]),
])
def test_path_partitions(path: str, base: str | None,
                         expected: list[tuple[str, str | None]]) -> None:
    assert path_partitions(path, base) == expected


def test_a_key_twice_is_refused() -> None:
    with pytest.raises(jetliner.SchemaError, match="twice"):
        read_partitions([LocalSource("r/a=1/a=2/f.avro", "r/")])


def test_conjuncts_split_every_and_at_the_top() -> None:
    a, b, c = pl.col("a") > 1, pl.col("b") == 2, pl.col("c").is_null()
    assert [str(e) for e in conjuncts(a & (b & c))] == [str(a), str(b), str(c)]
    assert [str(e) for e in conjuncts((a & b) & c)] == [str(a), str(b), str(c)]
    assert [str(e) for e in conjuncts(a | (b & c))] == [str(a | (b & c))]
    assert [str(e) for e in conjuncts(~(a & b))] == [str(~(a & b))]


def test_prune_evaluates_the_parts_on_file_columns_only() -> None:
    files = pl.DataFrame({"day": [1, 2, None], "fp": ["x/1", "x/2", "x/3"]})
    kept, rest = prune(files, (pl.col("day") == 2) & (pl.col("v") > 3))
    assert kept == [1] and str(rest) == str(pl.col("v") > 3)
    kept, rest = prune(files, pl.col("day") >= 1)
    assert kept == [0, 1] and rest is None  # a null partition never passes a comparison
    kept, rest = prune(files, pl.col("day").is_null() & pl.col("fp").str.ends_with("3"))
    assert kept == [2] and rest is None
    # nothing to prune on: every file, the filter whole
    both = (pl.col("day") == 2) | (pl.col("v") > 3)
    kept, rest = prune(files, both)
    assert kept == [0, 1, 2] and str(rest) == str(both)
