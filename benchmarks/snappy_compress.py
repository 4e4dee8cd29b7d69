"""Snappy compression speed and size: jetliner's compressor against cramjam's.

``python benchmarks/snappy_compress.py [--file PATH ...] [--blocks N] [--repeat 10]``

Compresses (a) the decompressed blocks of Avro files (each about 64 KiB of
encoded records, what the writer's snappy codec compresses) and (b) 10 MB of
random bytes, with ``jetliner._snappy_compress.compress_raw`` and
``cramjam.snappy.compress_raw``, and prints for each the best MB/s (uncompressed
bytes per second) of `--repeat` runs and the compressed sizes.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import cramjam
import fastavro

from jetliner._snappy_compress import compress_raw

DATA = Path(__file__).resolve().parent / "data"


def avro_blocks(path: Path, limit: int) -> list[bytes]:
    """The first `limit` blocks of `path`, decompressed (the bytes its writer compressed)."""
    out: list[bytes] = []
    with path.open("rb") as f:
        for block in fastavro.block_reader(f):
            out.append(block.bytes_.getvalue())
            if len(out) == limit:
                break
    return out


def event_blocks(rows: int) -> list[bytes]:
    """Blocks of an Avro file of log events written by fastavro (codec null): ids, times,
    a few repeated names, short JSON payloads, what an application's records hold."""
    rng = random.Random(20261121)
    schema = {"type": "record", "name": "Event", "fields": [
        {"name": "id", "type": "long"}, {"name": "ts", "type": "long"},
        {"name": "user", "type": "string"}, {"name": "kind", "type": "string"},
        {"name": "path", "type": "string"}, {"name": "status", "type": "int"},
        {"name": "latency_ms", "type": "double"}, {"name": "payload", "type": "string"}]}
    kinds = ["page_view", "click", "purchase", "login", "logout", "search"]
    paths = [f"/shop/category/{c}/item/{i}"
             for c in ("books", "music", "garden") for i in range(40)]

    def record(i: int) -> dict[str, object]:
        return {"id": 10_000_000 + i, "ts": 1_700_000_000_000 + i * 37 + rng.randrange(30),
                "user": f"user-{rng.randrange(5000):05d}", "kind": rng.choice(kinds),
                "path": rng.choice(paths), "status": rng.choice((200, 200, 200, 304, 404, 500)),
                "latency_ms": round(rng.expovariate(1 / 40), 2),
                "payload": json.dumps({"session": f"{rng.getrandbits(48):012x}",
                                       "items": rng.randrange(1, 9), "currency": "EUR",
                                       "price": round(rng.uniform(1, 300), 2),
                                       "ab_test": rng.choice(("control", "variant-a"))})}

    buf = io.BytesIO()
    fastavro.writer(buf, schema, (record(i) for i in range(rows)), codec="null",
                    sync_interval=64_000)
    buf.seek(0)
    return [block.bytes_.getvalue() for block in fastavro.block_reader(buf)]


def best_seconds(compressors: list[Callable[[bytes], object]], chunks: list[bytes],
                 repeat: int) -> list[float]:
    """Each compressor's time over all `chunks`: the sum over chunks of its best time on
    that chunk in `repeat` runs.  The compressors take turns chunk by chunk, so that a
    busy spell of a shared machine slows both alike and a chunk's best run escapes it."""
    best = [[float("inf")] * len(chunks) for _ in compressors]
    for r in range(repeat):
        for j, chunk in enumerate(chunks):
            order = range(len(compressors)) if (r + j) % 2 else reversed(range(len(compressors)))
            for i in order:
                start = time.perf_counter()
                compressors[i](chunk)
                best[i][j] = min(best[i][j], time.perf_counter() - start)
    return [sum(times) for times in best]


def compare(name: str, chunks: list[bytes], repeat: int) -> None:
    total = sum(map(len, chunks))
    ours = sum(len(compress_raw(c)) for c in chunks)
    theirs = sum(len(cramjam.snappy.compress_raw(c)) for c in chunks)
    t_ours, t_theirs = best_seconds([compress_raw, cramjam.snappy.compress_raw], chunks, repeat)
    mbs_ours, mbs_theirs = total / t_ours / 1e6, total / t_theirs / 1e6
    print(f"| {name} | {total / 1e6:.1f} | {mbs_ours:.0f} | {mbs_theirs:.0f} "
          f"| {mbs_ours / mbs_theirs:.0%} | {ours:,} | {theirs:,} | {ours / theirs:.4f} |")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, nargs="*",
                        default=[DATA / f"{n}-snappy.avro" for n in ("simple", "wide", "complex")])
    parser.add_argument("--blocks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    print("| input | MB | jetliner MB/s | cramjam MB/s | speed ratio "
          "| jetliner bytes | cramjam bytes | size ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for path in args.file:
        if path.exists():
            compare(path.name + " blocks", avro_blocks(path, args.blocks), args.repeat)
    compare("event blocks (generated)", event_blocks(60_000), args.repeat)
    compare("10 MB random", [os.urandom(10_000_000)], args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
