"""The readers compared by the benchmark, one module each.

Each module defines:

``LABEL``
    Name shown in the results table.
``unavailable() -> str | None``
    Why the reader cannot run here, or None when it can.
``version() -> str``
    Version string recorded with the results.
``read_full``, ``read_projection``, ``read_filter``, ``read_head``, ``read_head_eager``
    One function per query kind (see `scenarios`), each returning a DataFrame;
    a kind that does not apply to the module may be left out.

and optionally:

``measure(call, repeat) -> timing.Measurement``
    Time the call itself (used when the reader runs in another interpreter);
    without it the runner times the ``read_*`` function in process.
``count_rows(result) -> int``
    Row count of a result when it is not the DataFrame's height.

Modules are imported only when selected, so a missing optional dependency of
one reader never stops the others.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# command-line name -> module, in table order; jetliner first as the baseline
READERS: dict[str, str] = {
    "jetliner": "readers.jetliner_reader",
    "rust_jetliner": "readers.rust_jetliner",
    "polars_avro": "readers.polars_avro",
    "polars_builtin": "readers.polars_builtin",
    "fastavro_polars": "readers.fastavro_polars",
    "floor": "readers.floor",
    "empty_plugin": "readers.empty_plugin",
}
BASELINE = "jetliner"


def load(name: str) -> ModuleType:
    """Import the module of reader `name` (a key of `READERS`)."""
    return importlib.import_module(READERS[name])
