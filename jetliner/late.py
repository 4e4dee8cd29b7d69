"""Late materialisation's plans: a filter's columns decoded first, the rest later.

`jetliner.readers` decodes a task late while the filter keeps few rows: the
filter's columns of every record first (`LatePlans.first`, its two halves side by
side, see `halves`), then every column of the rows that pass.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import polars as pl

from jetliner.frames import FrameBuilder
from jetliner.schema import Plan

__all__ = ["Filter", "LatePlans", "halves"]


@dataclass(frozen=True)
class LatePlans:
    """The first pass of late materialisation over one file.

    The second pass decodes the read's own plan, for the rows that pass.

    Attributes
    ----------
    first, first_frames
        The filter's columns (the rest skipped), and their frames.
    terms
        The filter as comparisons the decoder evaluates (`query.comparisons`), or
        None: Polars evaluates it over the first pass's frames.
    """

    first: Plan
    first_frames: FrameBuilder
    terms: array[int] | None = None


@dataclass
class Filter:
    """A filter applied while decoding: every batch is returned filtered.

    Attributes
    ----------
    predicate
        The filter (Polars' semantics: rows where it is null are dropped).
    late
        The plans of late materialisation, or None (every column is the filter's).
    kept
        The fraction of rows the last task handed on (in file order) kept, which
        picks the path of the next task handed to the pool.
    """

    predicate: pl.Expr
    late: LatePlans | None
    kept: float = 0.0


def halves(counts: array[int]) -> tuple[int, int]:
    """Split blocks holding `counts` records into two runs of about as many records.

    Returns the index of the second run's first block and the first run's records.
    """
    total = sum(counts)
    done = 0
    for i, n in enumerate(counts):
        if 2 * (done + n) > total:
            # the block across the middle goes where the halves end up closer
            return (i + 1, done + n) if 2 * (done + n) - total <= total - 2 * done else (i, done)
        done += n
    return len(counts), done
