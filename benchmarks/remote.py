"""Remote reading benchmark: jetliner against a plain parallel ranged download.

Starts an S3-compatible server (moto, in its own process) on 127.0.0.1, uploads
generated Avro objects, and measures:

- **throughput**: ``jetliner.read_avro("s3://...")`` of a 200 MB+ object against
  the time a plain parallel ranged download of the same object takes (boto3,
  8 MiB ranges, 4 and 8 threads, the faster kept).  A ratio of 1.0 means the
  decoding is entirely hidden behind the download; the goal is 0.8 or more.
- **early stopping**: bytes fetched by ``scan_avro(...).head(1000).collect()`` on a
  40 MB object (the header read of ``scan_avro`` included).

Run ``python benchmarks/remote.py [--repeat 3]``; data files are generated once
into ``benchmarks/data/remote``.  Needs ``pip install '.[test]'`` (moto, boto3).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import DATA_DIR, DatasetParams, default_params, ensure_dataset  # noqa: E402

KEY, SECRET = "AKIABENCHMARK0000001", "benchmark-secret"
RANGE = 8 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# moto's server, every request answered `latency` seconds late (a network round trip
# that loopback does not have; the sleep takes no CPU from the machine's readers)
_DELAYED_SERVER = """
import sys, time
import moto.server as server

class Delayed(server.DomainDispatcherApplication):
    def __call__(self, environ, start_response):
        time.sleep(float(sys.argv[1]))
        return super().__call__(environ, start_response)

server.DomainDispatcherApplication = Delayed
server.main(sys.argv[2:])
"""


def start_server(latency: float = 0.0) -> tuple[subprocess.Popen, str]:
    """Start moto's S3 server on a free loopback port; each request `latency` s late."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    address = ["-H", "127.0.0.1", "-p", str(port)]
    command = ([sys.executable, "-c", _DELAYED_SERVER, str(latency), *address] if latency
               else [sys.executable, "-m", "moto.server", *address])
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.1)


def ranged_download(client, bucket: str, key: str, size: int, threads: int) -> float:
    """Seconds to fetch every byte with `threads` parallel 8 MiB ranged GETs."""
    def get(start: int) -> int:
        end = min(start + RANGE, size) - 1
        body = client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end}")["Body"]
        return len(body.read())

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        got = sum(pool.map(get, range(0, size, RANGE)))
    assert got == size, (got, size)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best kept)")
    parser.add_argument("--pin", action="store_true",
                        help="run the server on CPU 0 and the readers on the others, as if "
                             "the server were another machine (needs 2+ CPUs)")
    args = parser.parse_args(argv)

    import boto3
    from botocore.config import Config

    import jetliner
    import jetliner.stream

    data_dir = DATA_DIR / "remote"
    objects = {
        "simple-40MB": ensure_dataset(DatasetParams("simple", 1_200_000, "snappy"),
                                      data_dir=data_dir),
        "simple-200MB": ensure_dataset(DatasetParams("simple", 6_000_000, "snappy"),
                                       data_dir=data_dir / "big"),
        "wide-200MB": ensure_dataset(default_params("wide", "snappy")),  # 213 MB
    }
    proc, endpoint = start_server()
    cpus = sorted(os.sched_getaffinity(0))
    if args.pin and len(cpus) >= 2:
        os.sched_setaffinity(proc.pid, cpus[:1])
        os.sched_setaffinity(0, cpus[1:])
        print(f"server pinned to CPU {cpus[0]}, readers to {cpus[1:]}")
    try:
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY,
                              aws_secret_access_key=SECRET, region_name="us-east-1",
                              config=Config(max_pool_connections=16))
        client.create_bucket(Bucket="bench")
        for name, ds in objects.items():
            client.upload_file(str(ds.path), "bench", f"{name}.avro")
        opts = {"endpoint": endpoint, "aws_access_key_id": KEY, "aws_secret_access_key": SECRET,
                "region": "us-east-1"}

        print(f"{'object':<14}{'MB':>8}{'download s':>12}{'jetliner s':>12}{'ratio':>8}"
              f"{'MB/s':>8}")
        for name, ds in objects.items():
            if name == "simple-40MB":
                continue
            size = ds.file_bytes
            download = min(ranged_download(client, "bench", f"{name}.avro", size, t)
                           for t in (4, 8) for _ in range(args.repeat))
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                df = jetliner.read_avro(f"s3://bench/{name}.avro", storage_options=opts)
                times.append(time.perf_counter() - started)
                assert df.height == ds.rows
            best = min(times)
            print(f"{name:<14}{size / 1e6:>8.1f}{download:>12.3f}{best:>12.3f}"
                  f"{download / best:>8.2f}{size / 1e6 / best:>8.0f}")

        # early stopping: count what every stream asked for
        streams: list[jetliner.stream.ByteStream] = []
        original = jetliner.stream.ByteStream.__init__

        def counting(self, *a, **kw):  # type: ignore[no-untyped-def]
            original(self, *a, **kw)
            streams.append(self)

        jetliner.stream.ByteStream.__init__ = counting  # type: ignore[method-assign]
        try:
            ds = objects["simple-40MB"]
            df = jetliner.scan_avro("s3://bench/simple-40MB.avro",
                                    storage_options=opts).head(1000).collect()
            assert df.height == 1000
        finally:
            jetliner.stream.ByteStream.__init__ = original  # type: ignore[method-assign]
        fetched = sum(s.bytes_requested for s in streams)
        requests = sum(s.requests for s in streams)
        print(f"head(1000) on {ds.file_bytes / 1e6:.1f} MB: {fetched} bytes fetched "
              f"({100 * fetched / ds.file_bytes:.2f}%) in {requests} ranged requests, "
              f"{len(streams)} opens")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
