"""Fuzz jetliner with mutated Avro files, each batch of inputs in a child process.

Input ``i`` of a run is a pure function of ``(seed, i)``: a seed file (see
`seeds.py`) with one to four mutations applied.  Children read inputs in strict
and in skip mode and classify the outcome; anything other than a result or a
`jetliner.JetlinerError` is a failure.  The parent watches each child: a child
that dies (a crash: segfault, abort) or stops making progress for `--hang`
seconds has its current input saved to ``--out`` and is restarted after it.

    python tests/fuzz/harness.py --inputs 1000000 --workers 2 --out fuzz-out

prints a JSON summary (inputs, outcomes, crashes, hangs, untyped exceptions, peak
memory of the children) and exits non-zero if anything failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import struct
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent))

from conftest import zigzag  # noqa: E402 - the tests' own writer of Avro varints

INTERESTING = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x3F, 0x40, 0xC0, 0xFE]
BIG_VARINTS = [2**31, 2**31 - 1, 2**32, 2**40, 2**62, 2**63 - 1, -1, -(2**31) - 1, -(2**63),
               10**6, 1 << 26, (1 << 26) + 1]


def mutate(data: bytes, rng: random.Random, other: bytes, body: int = 0) -> bytes:
    """One random mutation of `data` (`other` is a second seed, for splicing).

    Most positions are drawn after `body` (the end of the header), where blocks
    and records are: header damage mostly ends in the same early ParseError.
    """
    buf = bytearray(data)
    n = len(buf)
    if n == 0:
        return bytes(rng.randbytes(rng.randint(1, 64)))
    kind = rng.randrange(10)
    lo = body if body < n and rng.random() < 0.8 else 0
    pos = rng.randrange(lo, n)
    if kind == 0:  # flip a few bits
        for _ in range(rng.randint(1, 8)):
            p = rng.randrange(n)
            buf[p] ^= 1 << rng.randrange(8)
    elif kind == 1:  # interesting bytes
        for _ in range(rng.randint(1, 4)):
            buf[rng.randrange(n)] = rng.choice(INTERESTING)
    elif kind == 2:  # truncate
        del buf[pos:]
    elif kind == 3:  # delete a range
        del buf[pos:pos + rng.randint(1, 64)]
    elif kind == 4:  # insert random bytes
        buf[pos:pos] = rng.randbytes(rng.randint(1, 32))
    elif kind == 5:  # overwrite with a large or negative varint (counts, sizes, lengths)
        v = zigzag(rng.choice(BIG_VARINTS))
        buf[pos:pos + rng.randint(1, len(v))] = v
    elif kind == 6:  # duplicate a range elsewhere
        start = rng.randrange(n)
        chunk = buf[start:start + rng.randint(1, 256)]
        buf[pos:pos] = chunk
    elif kind == 7:  # splice with another seed
        cut = rng.randrange(len(other) + 1) if other else 0
        buf = buf[:pos] + bytearray(other[cut:])
    elif kind == 8:  # damage the header's schema text (a JSON character)
        head = bytes(buf[:min(n, 4096)])
        quotes = [i for i, c in enumerate(head) if c in b'"{}[]:,']
        if quotes:
            p = rng.choice(quotes)
            buf[p] = rng.choice(b'"{}[]:, axnul0123456789-')
    else:  # a 32-bit little-endian value (CRC, float) replaced
        v = struct.pack("<I", rng.getrandbits(32))
        buf[pos:pos + 4] = v
    return bytes(buf)


def make_input(seeds: list[tuple[str, bytes]], run_seed: int, index: int) -> tuple[str, bytes]:
    """Input `index` of the run: its provenance and its bytes."""
    rng = random.Random(f"{run_seed}:{index}")
    # the null codec reaches the record decoder directly: weight it up
    if rng.random() < 0.4:
        pool = [s for s in seeds if s[0].endswith("-null")] or seeds
    else:
        pool = seeds
    name, data = rng.choice(pool)
    other = rng.choice(seeds)[1]
    steps = rng.choice((1, 1, 1, 2, 2, 3, 4))
    # a valid file ends with its sync marker, first seen where the header ends
    body = data.find(data[-16:]) + 16 if len(data) >= 32 else 0
    for _ in range(steps):
        data = mutate(data, rng, other, body)
    return f"{name}+{steps}", data


# -- child ---------------------------------------------------------------------------


def _run_one(data: bytes, variant: int) -> str:
    """Read `data` in strict and skip mode; the outcome names."""
    import warnings

    import polars as pl

    import jetliner

    outcomes = []
    for ignore in (False, True):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if variant == 0:
                    df = jetliner.read_avro(data, ignore_errors=ignore, batch_size=64)
                elif variant == 3:  # the non-default limits and UTF-8 replacement
                    df = jetliner.read_avro(data, ignore_errors=ignore, invalid_utf8="replace",
                                            max_nesting_depth=8, max_zero_byte_values=500)
                elif variant == 1:
                    lf = jetliner.scan_avro(data, ignore_errors=ignore)
                    df = lf.select(pl.all().first()).head(5).collect()
                else:
                    with jetliner.open(data, ignore_errors=ignore, batch_size=7) as reader:
                        frames = list(reader)
                    df = pl.concat(frames) if frames else pl.DataFrame()
            df.height  # noqa: B018 - materialised
            outcomes.append("ok")
        except jetliner.JetlinerError as exc:
            outcomes.append(type(exc).__name__)
    return "/".join(outcomes)


def child_main(args: argparse.Namespace) -> int:
    import resource

    sys.path.insert(0, str(HERE))
    from seeds import seed_files

    if args.memory_limit:
        limit = args.memory_limit * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    seeds = seed_files()
    fd = os.open(args.progress, os.O_RDWR | os.O_CREAT, 0o644)
    summary: dict[str, Any] = {"outcomes": {}, "untyped": [], "polars_panics": []}
    report = Path(args.progress + ".json")
    for i in range(args.start, args.stop):
        if i > args.start and i % 1000 == 0:  # outcomes so far survive a kill
            summary["upto"] = i
            report.with_suffix(".tmp").write_text(json.dumps(summary))
            os.replace(report.with_suffix(".tmp"), report)
        os.pwrite(fd, struct.pack("<qd", i, time.time()), 0)
        name, data = make_input(seeds, args.seed, i)
        try:
            outcome = _run_one(data, i % 4)
        except Exception as exc:  # noqa: BLE001 - this is what the fuzzer looks for
            outcome = "untyped:" + type(exc).__name__
            summary["untyped"].append({"index": i, "seed": name, "error": repr(exc)[:500],
                                       "traceback": traceback.format_exc()[-3000:]})
        except BaseException as exc:
            if type(exc).__name__ != "PanicException":
                raise
            # a panic inside Polars on a frame jetliner produced: reported apart
            outcome = "polars-panic"
            if len(summary["polars_panics"]) < 20:
                summary["polars_panics"].append({"index": i, "seed": name,
                                                 "error": str(exc)[:300]})
        summary["outcomes"][outcome] = summary["outcomes"].get(outcome, 0) + 1
    summary["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary["upto"] = args.stop
    os.pwrite(fd, struct.pack("<qd", args.stop, time.time()), 0)
    report.with_suffix(".tmp").write_text(json.dumps(summary))
    os.replace(report.with_suffix(".tmp"), report)
    return 0


# -- parent --------------------------------------------------------------------------


def _progress(path: str) -> tuple[int, float] | None:
    try:
        raw = Path(path).read_bytes()[:16]
    except OSError:
        return None
    return struct.unpack("<qd", raw) if len(raw) == 16 else None


def run(inputs: int, workers: int, seed: int, out: Path, hang: float = 10.0,
        chunk: int = 20_000, memory_limit: int = 4096, start: int = 0) -> dict[str, Any]:
    """Fuzz inputs ``start .. start + inputs``; returns the summary."""
    sys.path.insert(0, str(HERE))
    from seeds import seed_files

    out.mkdir(parents=True, exist_ok=True)
    todo = [(a, min(a + chunk, start + inputs)) for a in range(start, start + inputs, chunk)]
    summary: dict[str, Any] = {"inputs": inputs, "seed": seed, "outcomes": {}, "crashes": [],
                               "hangs": [], "untyped": [], "polars_panics": [],
                               "maxrss_mib": 0.0}
    running: list[dict[str, Any]] = []
    seeds: list[tuple[str, bytes]] | None = None
    started = time.time()

    def spawn(a: int, b: int) -> None:
        progress = str(out / f"progress-{a}-{time.monotonic_ns()}")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--seed", str(seed),
               "--start", str(a), "--stop", str(b), "--progress", progress,
               "--memory-limit", str(memory_limit)]
        errlog = open(progress + ".err", "wb")  # noqa: SIM115 - closed when the job ends
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errlog,
                                env={**os.environ, "RUST_BACKTRACE": "0"})
        errlog.close()
        running.append({"proc": proc, "start": a, "stop": b, "progress": progress,
                        "last": (a - 1, time.time())})

    def merge(report: Path, job: dict[str, Any]) -> int:
        """Add a child's (possibly partial) report; returns the first input it lacks."""
        if not report.exists():
            return job["start"]
        part = json.loads(report.read_text())
        for k, v in part["outcomes"].items():
            summary["outcomes"][k] = summary["outcomes"].get(k, 0) + v
        summary["maxrss_mib"] = max(summary["maxrss_mib"], part.get("maxrss_mib", 0.0))
        summary["polars_panics"].extend(part["polars_panics"][:20])
        for u in part["untyped"]:
            u["file"] = save("", u["index"], u["error"])
            summary["untyped"].append(u)
        return int(part.get("upto", job["start"]))

    def requeue(job: dict[str, Any], failed: int) -> None:
        """After a crash or hang at `failed`: run again what the report lacks, then go on."""
        upto = merge(Path(job["progress"] + ".json"), job)
        if failed + 1 < job["stop"]:
            todo.insert(0, (failed + 1, job["stop"]))
        if upto < failed:
            todo.insert(0, (upto, failed))

    def save(kind: str, index: int, detail: str) -> str:
        """Write input `index` to the output folder; record it under `kind` (if given)."""
        nonlocal seeds
        if seeds is None:
            seeds = seed_files()
        name, data = make_input(seeds, seed, index)
        path = out / f"{kind or 'untyped'}-{seed}-{index}.avro"
        path.write_bytes(data)
        if kind:
            summary[kind].append({"index": index, "seed": name, "file": str(path),
                                  "detail": detail[-2000:]})
        return str(path)

    while todo or running:
        while todo and len(running) < workers:
            spawn(*todo.pop(0))
        time.sleep(0.2)
        for job in list(running):
            proc, prog = job["proc"], _progress(job["progress"])
            index = prog[0] if prog else job["start"]
            if proc.poll() is None:
                if prog and prog[0] != job["last"][0]:
                    job["last"] = (prog[0], time.time())
                elif time.time() - job["last"][1] > hang:
                    proc.kill()
                    proc.wait()
                    save("hangs", index, f"no progress for {hang} s")
                    running.remove(job)
                    requeue(job, index)
                    for p in (Path(job["progress"]), Path(job["progress"] + ".json"),
                              Path(job["progress"] + ".err")):
                        p.unlink(missing_ok=True)
                continue
            running.remove(job)
            errpath = Path(job["progress"] + ".err")
            err = errpath.read_bytes()[-4000:].decode(errors="replace") if errpath.exists() else ""
            report = Path(job["progress"] + ".json")
            if proc.returncode == 0 and report.exists():
                merge(report, job)
            else:
                save("crashes", index, f"exit {proc.returncode}: {err}")
                requeue(job, index)
            for p in (Path(job["progress"]), report, errpath):
                p.unlink(missing_ok=True)
    summary["seconds"] = round(time.time() - started, 1)
    summary["done"] = sum(summary["outcomes"].values())
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fuzz jetliner with mutated Avro files.")
    parser.add_argument("--inputs", type=int, default=10_000)
    parser.add_argument("--start", type=int, default=0, help="first input index")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("fuzz-out"))
    parser.add_argument("--hang", type=float, default=10.0, help="seconds without progress")
    parser.add_argument("--chunk", type=int, default=20_000, help="inputs per child process")
    parser.add_argument("--memory-limit", type=int, default=4096, help="MiB of heap per child")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stop", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--progress", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args)
    summary = run(args.inputs, args.workers, args.seed, args.out, args.hang, args.chunk,
                  args.memory_limit, args.start)
    print(json.dumps(summary, indent=1))
    failed = summary["crashes"] or summary["hangs"] or summary["untyped"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
