"""Peak resident memory of whole-file reads and of iterating a 2 GB file.

Usage (from the repository root, with jetliner importable)::

    python benchmarks/memory.py [--datasets simple wide complex]
                                [--readers jetliner rust_jetliner polars_avro ...]
                                [--codec snappy] [--iterate-gb 2]

Every measurement runs in a fresh interpreter (`memory_worker`): the kernel's
peak resident size is reset after the imports, and ``peak - baseline`` is
compared with the size of the DataFrame read, two ways:

* ``arrow``: the bytes of its Arrow buffers (``pyarrow`` ``get_total_buffer_size``
  of ``to_arrow(compat_level=newest)``, zero-copy): what the DataFrame really
  occupies.  The same for every reader (they return the same frame), so it is
  measured once per data set, on jetliner's result.
* ``estimated``: Polars' ``estimated_size()``, which counts a string column's
  bytes but not its 16-byte views, so it understates frames with strings.

Issue 7's targets:

* a full read peaks at most 1.2x the size of the resulting DataFrame;
* iterating a 2 GB file with ``AvroReader`` peaks below ``buffer_bytes`` plus
  three batches.

The 2 GB file is the ``simple`` data set's blocks repeated (same header, same
sync marker), written to ``benchmarks/data/`` on first use.  Results are
printed and written as JSON to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import CODECS, DATA_DIR, DATASETS, default_params, ensure_dataset  # noqa: E402
from readers import READERS  # noqa: E402
from report import RESULTS_DIR, machine_info  # noqa: E402

WORKER = Path(__file__).resolve().parent / "memory_worker.py"
# reader name -> module under readers/ run by the worker; the Rust-based
# jetliner runs the same module as jetliner, in its own virtualenv
MODULES = {
    "jetliner": "jetliner_reader",
    "rust_jetliner": "jetliner_reader",
    "polars_avro": "polars_avro",
    "polars_builtin": "polars_builtin",
    "fastavro_polars": "fastavro_polars",
}
BUFFER_BYTES = 64 * 1024 * 1024  # jetliner's default buffer_bytes
TIMEOUT = 1800


def _interpreter(reader: str) -> tuple[list[str], str | None]:
    """Return the command that starts a worker for `reader`, and its cwd."""
    if reader == "rust_jetliner":
        from readers import rust_jetliner

        reason = rust_jetliner.unavailable()  # creates the virtualenv on first use
        if reason is not None:
            raise RuntimeError(reason)
        # -I: the published package, not the development tree, must be imported
        return [str(rust_jetliner.VENV_DIR / "bin" / "python"), "-I", str(WORKER)], str(
            rust_jetliner.VENV_DIR)
    return [sys.executable, str(WORKER)], None


def measure(reader: str, kind: str, path: Path, query: str | None = None) -> dict[str, Any]:
    """Run one measurement in a fresh worker; return its reply."""
    try:
        command, cwd = _interpreter(reader)
    except RuntimeError as exc:
        return {"error": str(exc)}
    env = dict(os.environ)
    if reader == "rust_jetliner":
        env = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    request = {"reader": MODULES[reader], "kind": kind, "path": str(path), "query": query}
    proc = subprocess.run(command, input=json.dumps(request), capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=TIMEOUT)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return {"error": f"worker exited with {proc.returncode}: {tail}"}
    reply: dict[str, Any] = json.loads(lines[-1])
    return reply


def ensure_big_file(source: Path, target_bytes: int) -> Path:
    """Return a file of at least `target_bytes`: `source`'s blocks, repeated."""
    path = DATA_DIR / f"{source.stem}-{target_bytes // 10**9}gb.avro"
    if path.exists() and path.stat().st_size >= target_bytes:
        return path
    data = source.read_bytes()
    sync = data[-16:]  # an Avro file ends with a sync marker
    header_end = data.index(sync) + 16  # the first one closes the header
    blocks = data[header_end:]
    print(f"writing {path.name} ...", file=sys.stderr, flush=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        out.write(data[:header_end])
        written = header_end
        while written < target_bytes:
            out.write(blocks)
            written += len(blocks)
    tmp.replace(path)
    return path


def arrow_bytes(path: Path) -> int:
    """Bytes of the Arrow buffers of the whole file read as one DataFrame."""
    import polars as pl

    import jetliner

    df = jetliner.read_avro(path)
    return int(df.to_arrow(compat_level=pl.CompatLevel.newest()).get_total_buffer_size())


# Issue 16's queries: (query, data set the big file repeats, target).  Targets: a
# filter's result holds at most 2x its estimated_size() + 1 MB once the query returns;
# a filter or group-by peaks at most 250 MB + its result; sink_parquet at 250 MB.
QUERIES = {
    "filter_1pct": ("simple", "peak"),
    "filter_1pct_streaming": ("simple", "peak"),
    "filter_0.001pct": ("simple", "peak"),
    "head_1000": ("wide", None),
    "group_by_streaming": ("simple", "peak"),
    "sink_parquet": ("simple", "sink"),
    # issue 18: sink_avro of the same stream peaks at most 300 MB
    "sink_avro": ("simple", "sink_avro"),
}
MB = 10**6


def run_queries(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """Measure issue 16's selective queries on files of ``--query-gb`` GB."""
    target_bytes = int(args.query_gb * 10**9)
    print(f"\nselective queries on {args.query_gb} GB files (jetliner; MB): peak and held "
          "are over the RSS before the query")
    print(f"{'query':24} {'rows':>8} {'result':>7} {'peak':>6} {'held':>6} {'15 s':>5} "
          f"{'again':>6}  targets (held: 15 s later, and of the query run again)")
    for query in args.queries:
        dataset, kind = QUERIES[query]
        source = ensure_dataset(default_params(dataset, args.codec), quiet=True).path
        big = ensure_big_file(source, target_bytes)
        reply = measure("jetliner", "query", big, query)
        results["queries"][query] = {"file": big.name, "file_bytes": big.stat().st_size,
                                     **reply}
        if "error" in reply:
            print(f"  {query}: {reply['error']}")
            continue
        peak = reply["peak"] - reply["baseline"]
        result = reply["result"]
        checks = []
        if kind == "peak":
            checks.append(f"peak <= 250 + result: {'yes' if peak <= 250 * MB + result else 'NO'}")
        if kind == "sink":
            checks.append(f"peak <= 250: {'yes' if peak <= 250 * MB else 'NO'}")
        if kind == "sink_avro":
            checks.append(f"peak <= 300: {'yes' if peak <= 300 * MB else 'NO'}")
        later = reply.get("held_later", reply["held"])
        again = reply.get("held_repeat", later)
        if query.startswith("filter"):
            for what, held in (("held", later), ("again", again)):
                ok = held <= 2 * result + MB
                checks.append(f"{what} <= 2 x result + 1: {'yes' if ok else 'NO'}")
        print(f"{query:24} {reply['rows']:>8,} {result / MB:>7.2f} {peak / MB:>6.0f} "
              f"{reply['held'] / MB:>6.0f} {later / MB:>5.1f} {again / MB:>6.1f}  "
              f"{'; '.join(checks)}", flush=True)


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f}"


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--readers", nargs="+", choices=list(MODULES),
                        default=[r for r in READERS if r in MODULES])
    parser.add_argument("--codec", choices=CODECS, default="snappy")
    parser.add_argument("--iterate-gb", type=int, default=2,
                        help="size of the iterated file in GB (0: skip)")
    parser.add_argument("--queries", nargs="*", choices=QUERIES, default=list(QUERIES),
                        help="selective queries over the --query-gb file (issue 16)")
    parser.add_argument("--query-gb", type=float, default=1.28,
                        help="size of the queried file in GB (0: skip the queries)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)

    results: dict[str, Any] = {"machine": machine_info(), "codec": args.codec,
                               "date": _dt.datetime.now(_dt.timezone.utc).isoformat(
                                   timespec="seconds"),
                               "full": {}, "iterate": {}, "queries": {}}
    print(f"full read ({args.codec}): peak - baseline in MB, and as a ratio to the frame's "
          "Arrow size / to estimated_size(); target <= 1.2")
    print(f"{'dataset':10} {'arrow MB':>9} {'est. MB':>8} " + " ".join(
        f"{r:>22}" for r in args.readers))
    for name in args.datasets:
        ds = ensure_dataset(default_params(name, args.codec), quiet=False)
        size = arrow_bytes(ds.path)
        results["full"][name] = {"arrow_bytes": size}
        cells = []
        estimated = 0
        for reader in args.readers:
            reply = measure(reader, "full", ds.path)
            results["full"][name][reader] = reply
            if "error" in reply:
                cells.append("error")
                print(f"  {reader} on {name}: {reply['error']}", file=sys.stderr)
                continue
            extra = reply["peak"] - reply["baseline"]
            estimated = estimated or reply["result"]  # the first reader's (jetliner's)
            cells.append(f"{_mb(extra)} {extra / size:.2f}x/{extra / reply['result']:.2f}x")
        print(f"{name:10} {_mb(size):>9} {_mb(estimated):>8} "
              + " ".join(f"{c:>22}" for c in cells), flush=True)

    if args.iterate_gb > 0:
        source = ensure_dataset(default_params("simple", args.codec), quiet=True).path
        big = ensure_big_file(source, args.iterate_gb * 10**9)
        size = big.stat().st_size
        print(f"\niterate {big.name} ({size / 1e9:.2f} GB) with AvroReader: peak - baseline vs "
              f"buffer_bytes + 3 batches")
        for reader in [r for r in args.readers if r in ("jetliner", "rust_jetliner")]:
            reply = measure(reader, "iterate", big)
            results["iterate"][reader] = reply
            if "error" in reply:
                print(f"  {reader}: {reply['error']}")
                continue
            extra = reply["peak"] - reply["baseline"]
            bound = BUFFER_BYTES + 3 * reply["largest_batch"]
            print(f"  {reader:14} rows {reply['rows']:,}  peak - baseline {_mb(extra)} MB, "
                  f"bound {_mb(bound)} MB ({extra / bound:.2f}x of the bound)", flush=True)

    if args.query_gb > 0 and args.queries:
        run_queries(args, results)

    args.output.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.output / f"memory-{args.codec}-{stamp}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
