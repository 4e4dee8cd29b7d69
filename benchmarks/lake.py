"""Many small objects on S3: jetliner against a plain 16-way concurrent download.

Starts an S3-compatible server (moto, in its own process) on 127.0.0.1, uploads
``--objects`` small Avro objects (about 20 KB each, snappy, the ``simple`` schema;
every tenth object gains a nullable ``note`` field, so that the glob spans two schema
versions) and measures, best of ``--repeat``:

- **download**: every object fetched whole with 16 concurrent GETs (boto3): the time
  a reader that did nothing but download would take;
- **read**: ``jetliner.read_avro("s3://bench/small/*.avro", extra_columns="ignore")``:
  listing, opening and decoding every object; the ratio ``download / read`` is the
  share of the plain download's throughput jetliner reaches (the target is 0.8);
- **headers**: the schema of the union of every file (``read_avro_schema`` with
  ``union_by_name=True``), against reading each header one after another (one
  ``read_avro_schema`` per object, as a reader without concurrent header reads would).

On loopback a request costs no round trip, only the server's CPU, which the
readers share on a small machine: ``--latency-ms 20`` answers every request 20 ms
late (the server sleeps, using no CPU), as a store across a network does, which is
what concurrent requests are for.

Run ``python benchmarks/lake.py [--objects 2000] [--repeat 3] [--latency-ms 20]``; the objects are
generated in memory (seeded) for each run.  Needs ``pip install '.[test]'`` (moto, boto3).
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import SIMPLE_SCHEMA  # noqa: E402
from remote import KEY, SECRET, start_server  # noqa: E402

ROWS_PER_OBJECT = 600  # about 20 KB of snappy blocks per object
THREADS = 16


def small_objects(count: int, seed: int = 20261207) -> list[bytes]:
    """`count` seeded Avro objects; every tenth has one more (nullable) field."""
    import fastavro

    rng = random.Random(seed)
    evolved = dict(SIMPLE_SCHEMA, fields=[*SIMPLE_SCHEMA["fields"],
                                          {"name": "note", "type": ["null", "string"],
                                           "default": None}])
    out = []
    for n in range(count):
        schema = evolved if n % 10 == 9 else SIMPLE_SCHEMA
        records = [{"id": n * ROWS_PER_OBJECT + i, "bucket": rng.randrange(10_000),
                    "amount": rng.random() * 1e6, "label": f"label-{rng.randrange(10**6)}",
                    "flag": rng.random() < 0.5, "ratio": rng.random(),
                    "note": "x" if schema is evolved else None}
                   for i in range(ROWS_PER_OBJECT)]
        buf = io.BytesIO()
        fastavro.writer(buf, fastavro.parse_schema(schema), records, codec="snappy")
        out.append(buf.getvalue())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best kept)")
    parser.add_argument("--sequential-headers", type=int, default=200,
                        help="objects whose headers the one-after-another baseline reads "
                             "(scaled to all of them; it is slow)")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="answer every request this late: the round trip of a real "
                             "network, which loopback lacks (default 0)")
    args = parser.parse_args(argv)

    import boto3
    from botocore.config import Config

    import jetliner

    blobs = small_objects(args.objects)
    keys = [f"small/part-{n:05d}.avro" for n in range(len(blobs))]
    total = sum(map(len, blobs))
    proc, endpoint = start_server(args.latency_ms / 1000)
    try:
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY,
                              aws_secret_access_key=SECRET, region_name="us-east-1",
                              config=Config(max_pool_connections=THREADS))
        client.create_bucket(Bucket="bench")
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(lambda kb: client.put_object(Bucket="bench", Key=kb[0], Body=kb[1]),
                          zip(keys, blobs, strict=True)))
        opts = {"endpoint": endpoint, "aws_access_key_id": KEY, "aws_secret_access_key": SECRET,
                "region": "us-east-1"}

        def download() -> float:
            def get(key: str) -> int:
                return len(client.get_object(Bucket="bench", Key=key)["Body"].read())

            started = time.perf_counter()
            with ThreadPoolExecutor(THREADS) as pool:
                got = sum(pool.map(get, keys))
            assert got == total, (got, total)
            return time.perf_counter() - started

        def read() -> float:
            started = time.perf_counter()
            df = jetliner.read_avro("s3://bench/small/*.avro", storage_options=opts,
                                    extra_columns="ignore")
            took = time.perf_counter() - started
            assert df.height == len(blobs) * ROWS_PER_OBJECT, df.height
            return took

        def headers() -> float:
            started = time.perf_counter()
            schema = jetliner.read_avro_schema("s3://bench/small/*.avro", storage_options=opts,
                                               union_by_name=True)
            took = time.perf_counter() - started
            assert "note" in schema, schema
            return took

        def sequential_headers() -> float:
            some = keys[:args.sequential_headers]
            started = time.perf_counter()
            for key in some:
                jetliner.read_avro_schema(f"s3://bench/{key}", storage_options=opts)
            return (time.perf_counter() - started) * len(keys) / len(some)

        times: dict[str, list[float]] = {"download": [], "read": [], "headers": [],
                                         "sequential headers": []}
        for _ in range(args.repeat):  # interleaved, so that drift hits every one alike
            times["download"].append(download())
            times["read"].append(read())
            times["headers"].append(headers())
            times["sequential headers"].append(sequential_headers())
        best = {k: min(v) for k, v in times.items()}
        print(f"{len(blobs)} objects, {total / 1e6:.1f} MB ({total / len(blobs) / 1e3:.1f} KB "
              f"each), best of {args.repeat}, {args.latency_ms:g} ms added to every request")
        print(f"{'measurement':<22}{'s':>9}{'objects/s':>11}")
        for name, took in best.items():
            print(f"{name:<22}{took:>9.3f}{len(blobs) / took:>11.0f}")
        print(f"read throughput / 16-way download: {best['download'] / best['read']:.2f}x "
              f"(target 0.8x)")
        print(f"union_by_name header phase: {best['sequential headers'] / best['headers']:.1f}x "
              f"faster than one after another (target 5x)")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
