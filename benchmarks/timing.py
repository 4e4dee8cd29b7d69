"""Wall-clock measurement of one benchmark call: a warm-up, then N timed runs.

Shared by the runner (in-process readers) and by the worker script that times
the Rust-based jetliner in its own virtualenv, so both are measured the same way.
Only the standard library is imported here.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Measurement:
    """Timings of repeated runs of one call.

    Attributes
    ----------
    times
        Seconds of each timed run (warm-up excluded), in run order.
    rows
        Row count of the last run's result, as counted by the caller's counter.
    """

    times: list[float]
    rows: int

    @property
    def median(self) -> float:
        """Median of `times`, in seconds."""
        return statistics.median(self.times)


def measure(
    call: Callable[[], Any],
    repeat: int,
    *,
    count: Callable[[Any], int] = len,
    warmup: int = 1,
) -> Measurement:
    """Run `call` `warmup` times untimed, then `repeat` times timed.

    A garbage collection runs before every call, outside the timed region, and
    the previous result is released first so runs do not pay for each other's
    memory.

    Parameters
    ----------
    call
        The work to time; its result is passed to `count`.
    repeat
        Number of timed runs (at least 1).
    count
        Turns a result into its row count; ``len`` fits a Polars DataFrame.
    warmup
        Number of untimed runs before the timed ones.

    Returns
    -------
    Measurement
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    result: Any = None
    for _ in range(warmup):
        result = None
        gc.collect()
        result = call()
    times = []
    for _ in range(repeat):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return Measurement(times=times, rows=count(result))
