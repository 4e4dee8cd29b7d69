"""The benchmark scenarios: which data file, which query, which row count to expect.

Every reader module implements one function per query kind, all returning a
Polars DataFrame:

``read_full(path)``
    the whole file (scenarios ``simple``, ``wide``, ``complex``);
``read_projection(path, columns)``
    only `columns`, in that order (scenario ``projection``);
``read_filter(path, column, below)``
    the rows where ``column < below`` (scenario ``filter``);
``read_head(path, n)``
    the first `n` rows through the reader's lazy API where it has one
    (scenario ``head``);
``read_head_eager(path, n)``
    the first `n` rows through its eager call (scenario ``head_eager``): the
    same rows without the lazy query engine.  A module may leave out a kind
    that does not apply to it; its cell is then marked not applicable.

A `Call` names the function and its arguments; it is plain data so it can be
sent as JSON to a worker in another interpreter.  This module imports only the
standard library, so that worker can use it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generate import Dataset

HEAD_ROWS = 1000
# indices into the wide file's 100 columns: a long, a string, a nullable
# double, a boolean and an int, spread over the record
PROJECTION_INDICES = (0, 13, 27, 54, 91)


@dataclass(frozen=True)
class Call:
    """One reader call: ``read_<kind>(path, **kwargs)``.

    Attributes
    ----------
    kind
        ``full``, ``projection``, ``filter``, ``head`` or ``head_eager``.
    path
        The Avro file, as a string.
    kwargs
        Keyword arguments after the path (JSON-compatible values).
    """

    kind: str
    path: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def function_name(self) -> str:
        """Name of the reader module's function for this call."""
        return f"read_{self.kind}"

    def to_json(self) -> dict[str, Any]:
        """Return the call as a JSON-compatible dict."""
        return {"kind": self.kind, "path": self.path, "kwargs": self.kwargs}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Call:
        """Rebuild a call from `to_json` output."""
        return cls(kind=data["kind"], path=data["path"], kwargs=dict(data["kwargs"]))


@dataclass(frozen=True)
class Scenario:
    """A named benchmark case.

    Attributes
    ----------
    name
        Scenario name used on the command line and in results.
    dataset
        Name of the data set it reads (see `generate.DATASETS`).
    kind
        Query kind (see `Call`).
    description
        One line for the README and the results file.
    arguments
        Builds the call's keyword arguments from the data set.
    expected
        Row count a correct reader returns for the data set.
    """

    name: str
    dataset: str
    kind: str
    description: str
    arguments: Callable[[Dataset], dict[str, Any]]
    expected: Callable[[Dataset], int]

    def call(self, ds: Dataset) -> Call:
        """Return the reader call for data set `ds`."""
        return Call(self.kind, str(ds.path), self.arguments(ds))


def _no_arguments(ds: Dataset) -> dict[str, Any]:
    return {}


def _all_rows(ds: Dataset) -> int:
    return ds.rows


def _projection_arguments(ds: Dataset) -> dict[str, Any]:
    return {"columns": [ds.columns[i] for i in PROJECTION_INDICES]}


def _filter_arguments(ds: Dataset) -> dict[str, Any]:
    from generate import FILTER_BELOW, FILTER_COLUMN

    return {"column": FILTER_COLUMN, "below": FILTER_BELOW}


def _filter_rows(ds: Dataset) -> int:
    if ds.filter_rows is None:
        raise ValueError(f"{ds.path} has no filter row count")
    return ds.filter_rows


def _wide_filter_arguments(ds: Dataset) -> dict[str, Any]:
    from generate import WIDE_FILTER_BELOW, WIDE_FILTER_COLUMN

    return {"column": WIDE_FILTER_COLUMN, "below": WIDE_FILTER_BELOW}


def _wide_filter_rows(ds: Dataset) -> int:
    """Count the rows the wide filter keeps with Polars' own Avro reader (not jetliner)."""
    import polars as pl
    from generate import WIDE_FILTER_BELOW, WIDE_FILTER_COLUMN

    column = pl.read_avro(ds.path, columns=[WIDE_FILTER_COLUMN])[WIDE_FILTER_COLUMN]
    return int((column < WIDE_FILTER_BELOW).sum())


def _resolved_arguments(ds: Dataset) -> dict[str, Any]:
    """The complex file read through a reader schema: three fields added with defaults
    (two top-level, one inside ``customer``), ``tags`` and ``score`` dropped, and
    ``items[].quantity`` promoted from int to long."""
    import copy

    from generate import COMPLEX_SCHEMA

    schema = copy.deepcopy(COMPLEX_SCHEMA)
    fields = [f for f in schema["fields"] if f["name"] not in ("tags", "score")]
    for f in fields:
        if f["name"] == "customer":
            f["type"]["fields"].append({"name": "email", "type": ["null", "string"],
                                        "default": None})
        if f["name"] == "items":
            for g in f["type"]["items"]["fields"]:
                if g["name"] == "quantity":
                    g["type"] = "long"
    fields += [{"name": "source", "type": "string", "default": "legacy"},
               {"name": "version", "type": "int", "default": 1},
               {"name": "region", "type": ["null", "string"], "default": None}]
    schema["fields"] = fields
    return {"reader_schema": schema}


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("simple", "simple", "full", "1M rows x 6 primitive columns, read all",
                 _no_arguments, _all_rows),
        Scenario("wide", "wide", "full", "300k rows x 100 mixed primitive columns, read all",
                 _no_arguments, _all_rows),
        Scenario("complex", "complex", "full",
                 "1M rows of nested/nullable records, arrays, a map, read all",
                 _no_arguments, _all_rows),
        Scenario("complex_resolved", "complex", "resolved",
                 "complex file through a reader schema: 3 fields added with defaults, "
                 "2 dropped, an int promoted to long", _resolved_arguments, _all_rows),
        Scenario("projection", "wide", "projection", "wide file, select 5 of 100 columns",
                 _projection_arguments, _all_rows),
        Scenario("filter", "simple", "filter", "simple file, keep ~1% of rows (bucket < 100)",
                 _filter_arguments, _filter_rows),
        Scenario("wide_filter", "wide", "filter",
                 "wide file, keep ~1% of rows (by one int column), all 100 columns",
                 _wide_filter_arguments, _wide_filter_rows),
        Scenario("head", "simple", "head", f"simple file, first {HEAD_ROWS:,} rows",
                 lambda ds: {"n": HEAD_ROWS}, lambda ds: min(HEAD_ROWS, ds.rows)),
        Scenario("head_eager", "simple", "head_eager",
                 f"simple file, first {HEAD_ROWS:,} rows, eager call",
                 lambda ds: {"n": HEAD_ROWS}, lambda ds: min(HEAD_ROWS, ds.rows)),
    )
}
