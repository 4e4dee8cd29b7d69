"""Command line: ``jetliner demo | schema FILE | head [-n N] FILE | count FILE...``."""

from __future__ import annotations

import argparse
import json
import sys

import polars as pl

import jetliner
from jetliner.exceptions import JetlinerError
from jetliner.options import ReadOptions
from jetliner.readers import open_file
from jetliner.sources import resolve_sources

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> None:
    path = jetliner.sample_path()
    print(f"sample file: {path}\n")
    print("Polars schema:")
    for name, dtype in jetliner.read_avro_schema(path).items():
        print(f"  {name}: {dtype}")
    lf = jetliner.scan_avro(path)
    print("\nfirst rows:")
    with pl.Config(tbl_cols=-1, tbl_width_chars=160):
        print(lf.head(args.n).collect())
        print("\npro users with a score above 0.9 (filter and projection pushed into the reader):")
        print(
            lf.filter((pl.col("plan") == "pro") & (pl.col("score") > 0.9))
            .select("id", "name", "score")
            .collect()
        )


def _schema(args: argparse.Namespace) -> None:
    if args.polars:
        for name, dtype in jetliner.read_avro_schema(args.file).items():
            print(f"{name}: {dtype}")
        return
    opts = ReadOptions()
    info = open_file(resolve_sources(args.file)[0], opts)
    try:
        print(json.dumps(json.loads(info.header.schema_json), indent=2))
    finally:
        info.stream.close()


def _head(args: argparse.Namespace) -> None:
    df = jetliner.read_avro(args.file, n_rows=args.n)
    with pl.Config(tbl_cols=-1, tbl_width_chars=160):
        print(df)


def _count(args: argparse.Namespace) -> None:
    total = 0
    for f in args.files:
        n = jetliner.scan_avro(f).select(pl.len()).collect().item()
        total += n
        print(f"{n}\t{f}")
    if len(args.files) > 1:
        print(f"{total}\ttotal")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="jetliner", description="Read Avro files with Polars.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="show the schema and rows of the bundled sample file")
    p.add_argument("-n", type=int, default=5)
    p.set_defaults(func=_demo)
    p = sub.add_parser("schema", help="print a file's Avro schema (or --polars schema)")
    p.add_argument("file")
    p.add_argument("--polars", action="store_true")
    p.set_defaults(func=_schema)
    p = sub.add_parser("head", help="print the first rows of a file")
    p.add_argument("file")
    p.add_argument("-n", type=int, default=10)
    p.set_defaults(func=_head)
    p = sub.add_parser("count", help="count the rows of files")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=_count)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except JetlinerError as exc:
        print(f"jetliner: error: {exc}", file=sys.stderr)
        return 1
    return 0
