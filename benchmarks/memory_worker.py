"""Worker that measures the peak resident memory of one read, in a fresh interpreter.

Run by `memory` as ``python -I memory_worker.py`` (with the Rust-based
jetliner's virtualenv interpreter for that reader).  Only the standard library
and the selected reader module are imported, so the baseline is the cost of
the reader's own imports.

Protocol: one JSON object on stdin::

    {"reader": "jetliner_reader", "kind": "full" | "iterate" | "query", "path": "...",
     "query": "filter_1pct" | ... (for "query")}

and one JSON object on stdout::

    {"baseline": B, "peak": P, "result": R, "rows": N, "largest_batch": L}

(bytes; ``largest_batch`` only for ``iterate``; ``held``, what the process holds
once the query has returned and garbage is collected, ``held_later``, the same
15 s later when Polars' allocator has returned its freed pages, and ``held_repeat``,
what the same query run again holds (15 s later, the first result still alive),
only for ``query``) or ``{"error": ...}``.

How: after the imports, the kernel's high-water mark of the resident set is
reset (``/proc/self/clear_refs``, Linux), ``baseline`` is the resident size
then, and ``peak`` is the high-water mark after the read, while the result is
still alive.  ``result`` is ``DataFrame.estimated_size()`` of the result (for
``iterate``, of the largest batch).
"""

from __future__ import annotations

import gc
import importlib
import json
import sys
import time
from pathlib import Path

BENCHMARKS_DIR = Path(__file__).resolve().parent


def _status(field: str) -> int:
    """Return a ``kB`` field of ``/proc/self/status`` in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only)")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _warm_up() -> None:
    """Run tiny queries first, so that the baseline includes what any first query sets up
    once (Polars' and jetliner's thread pools, their stacks and allocator arenas)."""
    import polars as pl

    import jetliner

    lf = jetliner.scan_avro(jetliner.sample_path())
    lf.filter(pl.col("id") < 3).collect()
    lf.group_by("name").agg(pl.len()).collect(engine="streaming")


def _run(request: dict) -> dict:
    sys.path.append(str(BENCHMARKS_DIR))
    module = importlib.import_module(f"readers.{request['reader']}")
    path = request["path"]
    if request["kind"] == "query":
        _warm_up()
    gc.collect()
    _reset_peak()
    baseline = _status("VmRSS")
    if request["kind"] == "full":
        df = module.read_full(path)
        peak = _status("VmHWM")
        return {"baseline": baseline, "peak": peak, "result": df.estimated_size(),
                "rows": df.height}
    if request["kind"] == "iterate":
        import jetliner

        rows = largest = 0
        with jetliner.AvroReader(path) as reader:
            for batch in reader:
                rows += batch.height
                largest = max(largest, batch.estimated_size())
                del batch
        peak = _status("VmHWM")
        return {"baseline": baseline, "peak": peak, "result": largest, "rows": rows,
                "largest_batch": largest}
    if request["kind"] == "query":
        return _query(request["query"], path, baseline)
    raise ValueError(f"unknown kind {request['kind']!r}")


DECAY_SECONDS = 15


def _query(name: str, path: str, baseline: int) -> dict:
    """Run one of issue 16's selective queries through jetliner's IO plugin."""
    import os
    import tempfile

    import polars as pl

    import jetliner

    def lf() -> pl.LazyFrame:
        return jetliner.scan_avro(path)

    queries = {
        # `bucket` is uniform over 0..9999; `id` repeats once per copy of the blocks
        "filter_1pct": lambda: lf().filter(pl.col("bucket") < 100).collect(),
        "filter_1pct_streaming": lambda: lf().filter(pl.col("bucket") < 100).collect(
            engine="streaming"),
        "filter_0.001pct": lambda: lf().filter(pl.col("id") % 100_000 == 7).collect(),
        "head_1000": lambda: lf().head(1000).collect(),
        "group_by_streaming": lambda: lf().group_by("label").agg(pl.len()).collect(
            engine="streaming"),
    }
    if name in ("sink_parquet", "sink_avro"):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out")
            if name == "sink_parquet":
                lf().sink_parquet(out)
            else:
                jetliner.sink_avro(lf(), out)
            peak = _status("VmHWM")
            rows = (pl.scan_parquet(out) if name == "sink_parquet"
                    else jetliner.scan_avro(out)).select(pl.len()).collect().item()
        return {"baseline": baseline, "peak": peak, "result": 0, "rows": rows,
                "held": _status("VmRSS") - baseline}
    df = queries[name]()
    peak = _status("VmHWM")
    gc.collect()
    held = _status("VmRSS") - baseline
    # Polars' allocator gives freed pages back after about ten seconds
    time.sleep(DECAY_SECONDS)
    later = _status("VmRSS") - baseline
    # The same query again, the first result kept: what the process sets up on a
    # first query of this size (threads' heaps and stacks touched deeper, code paged
    # in) is then in the baseline, and the growth is what one more result holds.
    again = _status("VmRSS")
    repeat = queries[name]()  # (alive until measured)
    gc.collect()
    time.sleep(DECAY_SECONDS)
    held_repeat = _status("VmRSS") - again
    return {"baseline": baseline, "peak": peak, "result": df.estimated_size(),
            "rows": df.height, "held": held, "held_later": later, "held_repeat": held_repeat,
            "rows_repeat": repeat.height}


def main() -> int:
    """Read the request from stdin, write the reply to stdout."""
    request = json.loads(sys.stdin.read())
    try:
        reply = _run(request)
    except Exception as exc:  # reported by the runner
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
