"""One large file: a plain read against its splits read concurrently, same run.

``python benchmarks/splits_bench.py [--gb 2] [--split-size-mib 128] [--threads 2]``

The file is the ``simple`` data set's blocks repeated to ``--gb`` GB (the one
`memory` uses).  ``plain`` is ``jetliner.read_avro(path)``: one reader, blocks
decoded on the shared thread pool.  ``splits`` plans splits of the file and reads
them with ``--threads`` concurrent ``read_avro(split)`` calls, then concatenates
the parts in order (no copy).  ``scan`` is one lazy query over the splits,
``pl.concat([scan_avro(split) for split in splits]).collect()``, which Polars
runs as it sees fit.  Each is warmed up once, then timed ``--repeat`` times,
alternating; medians are printed with their ratio to ``plain``, and with the
CPU time of the process over the wall time (2.0 = both cores busy throughout).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import default_params, ensure_dataset  # noqa: E402
from memory import ensure_big_file  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=int, default=2)
    parser.add_argument("--split-size-mib", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    import polars as pl

    import jetliner

    source = ensure_dataset(default_params("simple", "snappy"), quiet=True).path
    path = str(ensure_big_file(source, args.gb * 10**9))
    splits = jetliner.plan_splits(path, split_size=args.split_size_mib << 20)

    def plain() -> int:
        return jetliner.read_avro(path).height

    def split_read() -> int:
        with ThreadPoolExecutor(args.threads) as pool:
            parts = list(pool.map(jetliner.read_avro, splits))
        return pl.concat(parts, rechunk=False).height

    def scan_splits() -> int:
        lazy = pl.concat([jetliner.scan_avro(s) for s in splits], rechunk=False)
        return lazy.collect().height

    variants = {"plain": plain, "splits": split_read, "scan": scan_splits}
    times: dict[str, list[float]] = {name: [] for name in variants}
    busy: dict[str, list[float]] = {name: [] for name in variants}
    rows = {name: fn() for name, fn in variants.items()}  # warm-up
    if len(set(rows.values())) != 1:
        raise SystemExit(f"row counts differ: {rows}")
    for _ in range(args.repeat):
        for name, fn in variants.items():
            cpu, started = time.process_time(), time.perf_counter()
            fn()
            wall = time.perf_counter() - started
            times[name].append(wall)
            busy[name].append((time.process_time() - cpu) / wall)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{Path(path).name}: {rows['plain']:,} rows, {len(splits)} splits of "
          f"{args.split_size_mib} MiB, {args.threads} threads")
    for name in variants:
        print(f"  {name:7} median {med[name]:.2f} s  ({rows[name] / med[name]:,.0f} rows/s, "
              f"{med[name] / med['plain']:.2f}x plain's time, "
              f"CPU/wall {statistics.median(busy[name]):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
