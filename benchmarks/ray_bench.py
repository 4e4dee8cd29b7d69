"""Ray Data benchmark: ``jetliner.ray.read_avro`` against ``ray.data.read_avro``.

Starts the loopback S3 server (moto, its own process), uploads ``--files`` copies
of a generated data set (``simple`` by default, snappy), starts a local Ray
cluster with 2 CPUs, and reads the objects with both readers in the same run:
one untimed warm-up each (Ray starts its worker processes), then ``--repeat``
timed reads.  A read is ``ds.materialize()`` plus the row count.  Reported: the
median seconds and rows per second of each reader, and their ratio (issue 6's
goal: at least 5x the rows/s of Ray's own reader).

Ray's reader gets the objects through a ``pyarrow.fs.S3FileSystem`` pointed at
the same server; jetliner through its ``storage_options``.

    python benchmarks/ray_bench.py [--files 4] [--dataset simple] [--repeat 3]

Needs ``pip install '.[test,bench]'`` (Ray Data, moto, boto3, fastavro).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from generate import DATASETS, default_params, ensure_dataset  # noqa: E402
from remote import KEY, SECRET, start_server  # noqa: E402
from report import RESULTS_DIR, machine_info  # noqa: E402


def _time(read, repeat: int) -> tuple[list[float], int]:  # noqa: ANN001
    read()  # warm-up: worker processes, imports
    times, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = read()
        times.append(time.perf_counter() - started)
    return times, rows


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--dataset", choices=DATASETS, default="simple")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--split-size", type=int, default=128 * 1024 * 1024)
    args = parser.parse_args(argv)

    import boto3
    import polars as pl
    import pyarrow.fs
    import ray

    import jetliner
    import jetliner.ray

    ds = ensure_dataset(default_params(args.dataset, "snappy"))
    body = ds.path.read_bytes()
    proc, endpoint = start_server()
    try:
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY,
                              aws_secret_access_key=SECRET, region_name="us-east-1")
        client.create_bucket(Bucket="bench")
        keys = [f"ray/{i}.avro" for i in range(args.files)]
        for key in keys:
            client.put_object(Bucket="bench", Key=key, Body=body)
        urls = [f"s3://bench/{k}" for k in keys]
        options = {"endpoint": endpoint, "aws_access_key_id": KEY,
                   "aws_secret_access_key": SECRET, "max_retries": 0}
        fs = pyarrow.fs.S3FileSystem(access_key=KEY, secret_key=SECRET,
                                     endpoint_override=endpoint.removeprefix("http://"),
                                     scheme="http", region="us-east-1")
        expected_rows = ds.rows * args.files

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
        ray.data.DataContext.get_current().enable_progress_bars = False

        def jet() -> int:
            d = jetliner.ray.read_avro(urls, storage_options=options,
                                       split_size=args.split_size).materialize()
            return int(d.count())

        def own() -> int:
            d = ray.data.read_avro([f"bench/{k}" for k in keys], filesystem=fs).materialize()
            return int(d.count())

        results = {}
        for name, read in (("jetliner.ray.read_avro", jet), ("ray.data.read_avro", own)):
            times, rows = _time(read, args.repeat)
            if rows != expected_rows:
                raise SystemExit(f"{name} read {rows} rows, expected {expected_rows}")
            med = statistics.median(times)
            results[name] = {"times": times, "median": med, "rows_per_s": rows / med}
            print(f"{name:24} median {med:7.2f} s  {rows / med:>12,.0f} rows/s", flush=True)
        ratio = (results["jetliner.ray.read_avro"]["rows_per_s"]
                 / results["ray.data.read_avro"]["rows_per_s"])
        print(f"jetliner / Ray rows/s: {ratio:.1f}x ({args.files} x {ds.path.name}, "
              f"{len(body) / 1e6:.0f} MB each, {expected_rows:,} rows; Ray {ray.__version__}, "
              f"Polars {pl.__version__})")
        ray.shutdown()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"ray-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"machine": machine_info(), "args": vars(args),
                               "results": results, "ratio": ratio}, indent=2) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
