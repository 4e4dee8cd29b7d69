"""Column buffers -> Polars DataFrames, without copying the buffers.

The decoder exports one Arrow struct array per batch (Arrow C Data Interface);
Polars imports it as a Struct Series whose fields become the DataFrame's columns.
Enum columns arrive as dictionary arrays (Categorical in Polars) and are cast to
their `pl.Enum` once here.
"""

from __future__ import annotations

import polars as pl

__all__ = ["FrameBuilder", "empty_frame"]


def _has_enum(dtype: pl.DataType) -> bool:
    if isinstance(dtype, pl.Enum):
        return True
    if isinstance(dtype, (pl.List, pl.Array)):
        return _has_enum(dtype.inner)  # type: ignore[arg-type]
    if isinstance(dtype, pl.Struct):
        return any(_has_enum(f.dtype) for f in dtype.fields)  # type: ignore[arg-type]
    return False


class FrameBuilder:
    """Turns exported batches of one plan into DataFrames with the plan's schema."""

    def __init__(self, schema: pl.Schema) -> None:
        self.schema = schema
        self.casts = {name: dt for name, dt in schema.items() if _has_enum(dt)}

    def build(self, batch: object, height: int) -> pl.DataFrame:
        """A DataFrame from an exported `ArrowBatch` of `height` rows."""
        if not self.schema:
            return empty_frame(height)
        df = pl.Series(batch).struct.unnest()
        if self.casts:
            df = df.with_columns(pl.col(name).cast(dt) for name, dt in self.casts.items())
        return df


def empty_frame(height: int) -> pl.DataFrame:
    """A DataFrame with no columns and `height` rows."""
    return pl.DataFrame(height=height)
