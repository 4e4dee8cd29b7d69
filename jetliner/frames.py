"""Column buffers -> Polars DataFrames, without copying the buffers.

The decoder exports one Arrow struct array per batch (Arrow C Data Interface);
Polars imports it as a Struct Series whose fields become the DataFrame's columns.
Enum columns arrive as dictionary arrays (Categorical in Polars) and are cast to
their `pl.Enum` once here; map columns arrive as lists of key/value structs (the
layout of an Arrow map) and are cast to `pl.Map`, which keeps each row's keys
unique (a repeated key keeps its first position and its last value).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from polars.datatypes import DataTypeClass

    from jetliner._decoder import ArrowBatch

__all__ = ["FrameBuilder", "empty_frame"]


def _needs_cast(dtype: pl.DataType | DataTypeClass) -> bool:
    """Tell whether `dtype` holds an Enum or a Map, which the imported batch lacks."""
    # Polars types a nested dtype as an instance or a class (``pl.List(pl.String)``)
    if isinstance(dtype, (pl.Enum, pl.Map)):
        return True
    if isinstance(dtype, (pl.List, pl.Array)):
        return _needs_cast(dtype.inner)
    if isinstance(dtype, pl.Struct):
        return any(_needs_cast(f.dtype) for f in dtype.fields)
    return False


class FrameBuilder:
    """Turns exported batches of one plan into DataFrames with the plan's schema.

    Parameters
    ----------
    schema
        The plan's output schema (`jetliner.schema.Plan.schema`).
    """

    def __init__(self, schema: pl.Schema) -> None:
        self.schema = schema
        self.casts = {name: dt for name, dt in schema.items() if _needs_cast(dt)}

    def build(self, batch: ArrowBatch, height: int) -> pl.DataFrame:
        """Import an exported batch as a DataFrame, without copying its buffers.

        Parameters
        ----------
        batch
            The decoder's `ArrowBatch` (consumed: it can be imported once).
        height
            Its number of rows (used when the plan has no columns).

        Returns
        -------
        polars.DataFrame
            The batch's columns, with Enum and Map columns cast to the plan's types.
        """
        if not self.schema:
            return empty_frame(height)
        df = pl.Series(batch).struct.unnest()
        if self.casts:
            df = df.with_columns(pl.col(name).cast(dt) for name, dt in self.casts.items())
        return df


def empty_frame(height: int) -> pl.DataFrame:
    """Return a DataFrame with no columns and `height` rows.

    Parameters
    ----------
    height
        The number of rows.

    Returns
    -------
    polars.DataFrame
    """
    return pl.DataFrame(height=height)
