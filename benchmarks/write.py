"""Writing benchmark: jetliner's writer against the other Avro writers, side by side.

Each data set (``simple``, ``wide``, ``complex``: the benchmark files, read into memory
by jetliner first) is written to a local file, snappy-compressed (``--codec``), by:

- ``jetliner``: ``jetliner.write_avro(df, path, codec="snappy")``;
- ``polars``: Polars' own ``DataFrame.write_avro(path, compression="snappy")``;
- ``polars_avro``: ``polars_avro.write_avro(df, path, codec=Codec.Snappy)``
  (``pip install polars-avro``; left out when absent);
- ``fastavro``: ``fastavro.writer(f, schema, df.to_dicts(), codec="snappy")`` with
  jetliner's derived schema (the time of ``to_dicts()`` included: it is what a
  fastavro user pays to write a frame).

A writer that cannot write a data set is reported with its error, not timed.  Every
written file is read back by jetliner and compared with the frame (a writer whose
output reads back different is reported as such).  Times are medians of
``--repeat`` runs after a warm-up; ratios are against jetliner in the same run.

Run ``python benchmarks/write.py [--datasets simple wide complex] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import default_params, ensure_dataset  # noqa: E402
from timing import measure  # noqa: E402


def writers(codec: str) -> dict[str, Callable[[object, str], None]]:
    import polars as pl

    import jetliner

    out: dict[str, Callable[[object, str], None]] = {
        "jetliner": lambda df, path: jetliner.write_avro(df, path, codec=codec),
        "polars": lambda df, path: df.write_avro(  # type: ignore[attr-defined]
            path, compression="uncompressed" if codec == "null" else codec),
    }
    try:
        import polars_avro

        out["polars_avro"] = lambda df, path: polars_avro.write_avro(
            df, path, codec=getattr(polars_avro.Codec, codec.capitalize()))
    except ImportError:
        print("polars-avro is not installed: left out")

    def fastavro_write(df: object, path: str) -> None:
        import fastavro

        from jetliner.avro_schema import derive_schema

        assert isinstance(df, pl.DataFrame)
        schema = fastavro.parse_schema(derive_schema(df.schema).avro)
        with open(path, "wb") as f:
            fastavro.writer(f, schema, df.to_dicts(), codec=codec)

    out["fastavro"] = fastavro_write
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["simple", "wide", "complex"])
    parser.add_argument("--writers", nargs="+", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--codec", default="snappy", help="snappy (default), deflate or null")
    args = parser.parse_args(argv)

    import jetliner

    chosen = writers(args.codec)
    if args.writers:
        chosen = {k: v for k, v in chosen.items() if k in args.writers}
    print(f"{'data set':<10}{'writer':<14}{'median s':>10}{'vs jetliner':>13}{'MB':>8}  note")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets:
            ds = ensure_dataset(default_params(name, "snappy"))
            df = jetliner.read_avro(ds.path)
            base = None
            for writer, write in chosen.items():
                path = os.path.join(tmp, f"{name}-{writer}.avro")
                try:
                    m = measure(lambda write=write, path=path, df=df: write(df, path),
                                args.repeat, count=len)
                except Exception as exc:  # noqa: BLE001 - reported, not timed
                    print(f"{name:<10}{writer:<14}{'-':>10}{'-':>13}{'-':>8}  cannot write: "
                          f"{type(exc).__name__}: {str(exc).splitlines()[0][:90]}")
                    continue
                note = ""
                try:
                    back = jetliner.read_avro(path)
                    if not back.equals(df):
                        note = "reads back different (types or values)"
                except Exception as exc:  # noqa: BLE001
                    note = f"jetliner cannot read it back: {type(exc).__name__}"
                if writer == "jetliner":
                    base = m.median
                ratio = f"{m.median / base:.2f}x" if base else "-"
                size = os.path.getsize(path) / 1e6
                print(f"{name:<10}{writer:<14}{m.median:>10.3f}{ratio:>13}{size:>8.1f}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
