"""The ``jetliner`` command line: look into Avro files and convert them from the shell.

Commands: ``demo``, ``schema``, ``schemas``, ``meta``, ``count``, ``head``, ``cat``
and ``convert``.  Every command takes paths, globs and URLs (``s3://...``), with
``-s KEY=VALUE`` for storage options.  Errors print one line on standard error
and exit with status 1 (2 for a bad command line).
"""

from __future__ import annotations

import argparse
import base64
import functools
import io
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
from polars.datatypes import DataTypeClass

import jetliner
from jetliner.codecs import CODEC_LEVELS
from jetliner.container import Block, iter_blocks
from jetliner.exceptions import BadBlockError, JetlinerError, SkippedDataWarning
from jetliner.inventory import field_types, schema_changes, writer_schemas
from jetliner.options import ReadOptions
from jetliner.readers import FileInfo, MultiAvroReader, open_file
from jetliner.resolve import resolve_sources
from jetliner.sources import Source
from jetliner.writing import publish

__all__ = ["main"]

# file extensions of `convert`'s output, and the format each means
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".ndjson": "ndjson",
           ".jsonl": "ndjson", ".ipc": "ipc", ".arrow": "ipc", ".feather": "ipc",
           ".avro": "avro"}

def _table(rows: int = 10) -> pl.Config:
    """Table printing settings: every column, wide lines, `rows` rows."""
    return pl.Config(tbl_cols=-1, tbl_width_chars=160, fmt_str_lengths=60, tbl_rows=rows)


class CommandError(Exception):
    """A problem with what the user asked for, reported as one line."""


def _storage_options(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            msg = f"--storage-option expects KEY=VALUE, got {pair!r}"
            raise CommandError(msg)
        options[key.strip()] = value
    return options


def _options(args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    """Collect the reading options the common flags ask for."""
    options: dict[str, Any] = {"glob": not args.no_glob,
                               "ignore_errors": args.ignore_errors}
    storage = _storage_options(args.storage_option)
    if storage is not None:
        options["storage_options"] = storage
    if getattr(args, "reader_schema", None) is not None:
        options["reader_schema"] = args.reader_schema
    options.update(extra)
    return options


def _columns(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        msg = "--columns expects comma-separated column names"
        raise CommandError(msg)
    return names


def _sources(opts: ReadOptions, files: list[str]) -> list[Source]:
    return resolve_sources(files, glob=opts.glob, storage_options=opts.storage_options)


@contextmanager
def _opened(source: Source, opts: ReadOptions) -> Iterator[FileInfo]:
    info = open_file(source, opts)
    try:
        yield info
    finally:
        info.stream.close()


def _blocks(info: FileInfo, args: argparse.Namespace) -> Iterator[Block]:
    """Frame a file's blocks, skipping damaged regions with --ignore-errors.

    Each skipped region is reported on standard error.
    """
    skipped: list[BadBlockError] | None = [] if args.ignore_errors else None
    for block in iter_blocks(info.stream, info.header, info.path, skipped):
        yield block
        _report_skipped(skipped)
    _report_skipped(skipped)


def _report_skipped(skipped: list[BadBlockError] | None) -> None:
    while skipped:
        print(f"jetliner: warning: skipped: {skipped.pop(0)}", file=sys.stderr)


def _demo(args: argparse.Namespace) -> None:
    path = jetliner.sample_path()
    print(f"sample file: {path}\n")
    print("Polars schema:")
    for name, dtype in jetliner.read_avro_schema(path).items():
        print(f"  {name}: {dtype}")
    lf = jetliner.scan_avro(path)
    print("\nfirst rows:")
    with _table():
        print(lf.head(args.n).collect())
        print("\npro users with a score above 0.9 (filter and projection pushed into the reader):")
        print(
            lf.filter((pl.col("plan") == "pro") & (pl.col("score") > 0.9))
            .select("id", "name", "score")
            .collect()
        )


def _schema(args: argparse.Namespace) -> None:
    opts = ReadOptions.from_kwargs(_options(args))
    source = _sources(opts, [args.file])[0]
    if args.polars:
        extra = {} if opts.reader_schema is None else {"reader_schema": opts.reader_schema}
        for name, dtype in jetliner.read_avro_schema(source, **extra).items():
            print(f"{name}: {dtype}")
        return
    with _opened(source, opts) as info:
        print(json.dumps(json.loads(info.header.schema_json), indent=2))


def _schemas(args: argparse.Namespace) -> None:
    opts = ReadOptions.from_kwargs(_options(args))
    sources = _sources(opts, args.files)
    groups = writer_schemas(sources, opts)
    reports = []
    for n, group in enumerate(groups):
        reports.append({
            "schema": group.schema, "files": len(group.files), "first": group.files[0],
            "last": group.files[-1],
            "changes": schema_changes(groups[n - 1].schema, group.schema) if n else None,
            "paths": group.files,
        })
    if args.json:
        print(json.dumps(reports, indent=2))
        return
    print(f"{len(groups)} writer schema{'s' * (len(groups) != 1)} in {len(sources)} "
          f"file{'s' * (len(sources) != 1)}")
    for n, r in enumerate(reports, 1):
        print(f"\nschema {n}: {r['files']} file{'s' * (r['files'] != 1)}")
        print(f"  first: {r['first']}")
        if r["files"] > 1:
            print(f"  last:  {r['last']}")
        if r["changes"] is None:
            print("  fields:")
            for path, (kind, _) in field_types(r["schema"]).items():
                print(f"    {path}: {kind}")
        else:
            print(f"  changes from schema {n - 1}:")
            for line in r["changes"] or ["(none in fields: names, docs or other attributes)"]:
                print(f"    {line}")


def _meta_value(value: bytes) -> Any:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(value).decode("ascii")}


def _meta(args: argparse.Namespace) -> None:
    reports: list[dict[str, Any]] = []
    opts = ReadOptions.from_kwargs(_options(args))
    for source in _sources(opts, args.files):
        with _opened(source, opts) as info:
            blocks = rows = 0
            for block in _blocks(info, args):
                blocks += 1
                rows += block.count
            metadata = {k: _meta_value(v) for k, v in info.header.metadata.items()
                        if k not in ("avro.schema", "avro.codec")}
            reports.append({
                "file": info.path, "size": info.stream.size, "codec": info.header.codec,
                "sync": info.header.sync.hex(), "header_size": info.header.size,
                "blocks": blocks, "rows": rows, "metadata": metadata,
            })
    if args.json:
        print(json.dumps(reports if len(reports) > 1 else reports[0], indent=2))
        return
    for n, r in enumerate(reports):
        if n:
            print()
        for key in ("file", "size", "codec", "sync", "header_size", "blocks", "rows"):
            value = f"{r[key]:,}" if isinstance(r[key], int) else r[key]
            print(f"{key}: {value}")
        print("metadata:" + ("" if r["metadata"] else " (none)"))
        for key, value in r["metadata"].items():
            print(f"  {key}: {json.dumps(value) if not isinstance(value, str) else value}")


def _count(args: argparse.Namespace) -> None:
    total = 0
    opts = ReadOptions.from_kwargs(_options(args))
    sources = _sources(opts, args.files)
    for source in sources:
        with _opened(source, opts) as info:
            n = sum(block.count for block in _blocks(info, args))
        total += n
        print(f"{n}\t{source.path}")
    if len(sources) > 1:
        print(f"{total}\ttotal")


def _head(args: argparse.Namespace) -> None:
    with _skips_reported():
        df = jetliner.read_avro(args.files, columns=_columns(args.columns),
                                **_options(args, n_rows=args.n))
    if args.ndjson:
        text = _text_safe(df)
        _write_stdout(lambda out: text.write_ndjson(out))
        return
    with _table(max(args.n, 10)):
        print(df)


def _write_stdout(write: Callable[[Any], object]) -> None:
    """Write one batch's text to standard output through Python's own file.

    Polars' writers are given a buffer, not the stream: a closed pipe (``| head``)
    then surfaces as Python's `BrokenPipeError`, which `main` treats as the end.
    """
    buffer = io.BytesIO()
    write(buffer)
    sys.stdout.buffer.write(buffer.getbuffer())
    sys.stdout.buffer.flush()


def _as_text(expr: pl.Expr, dtype: pl.DataType | DataTypeClass) -> pl.Expr | None:
    """Rewrite the binary values inside `dtype` as base64 text (None: nothing to do).

    JSON and CSV have no bytes type (Polars refuses, or panics on, binary columns
    there); base64 keeps every byte, one line per row.
    """
    if dtype == pl.Binary:
        return expr.bin.encode("base64")
    if isinstance(dtype, pl.List):
        inner = _as_text(pl.element(), dtype.inner)
        return None if inner is None else expr.list.eval(inner)
    if isinstance(dtype, pl.Struct):
        fields = [(f.name, _as_text(expr.struct.field(f.name), f.dtype)) for f in dtype.fields]
        if all(e is None for _, e in fields):
            return None
        rebuilt = pl.struct([(e if e is not None else expr.struct.field(name)).alias(name)
                             for name, e in fields])
        return pl.when(expr.is_null()).then(None).otherwise(rebuilt)
    if isinstance(dtype, pl.Map):
        # rewritten as its key/value entries, then made a map again (of text values)
        entries = pl.List(pl.Struct({"key": dtype.key, "value": dtype.value}))
        rewritten = _as_text(expr.cast(entries), entries)
        if rewritten is None:
            return None
        return rewritten.cast(pl.Map(dtype.key, _text_dtype(dtype.value)))
    return None


def _text_dtype(dtype: pl.DataType | DataTypeClass) -> pl.DataType | DataTypeClass:
    """`dtype` with `_as_text`'s rewriting applied: Binary (however nested) becomes String."""
    if dtype == pl.Binary:
        return pl.String()
    if isinstance(dtype, pl.List):
        return pl.List(_text_dtype(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return pl.Struct({f.name: _text_dtype(f.dtype) for f in dtype.fields})
    if isinstance(dtype, pl.Map):
        return pl.Map(dtype.key, _text_dtype(dtype.value))
    return dtype


def _text_safe(df: pl.DataFrame) -> pl.DataFrame:
    """`df` with its binary values (however nested) as base64 text."""
    exprs = {name: _as_text(pl.col(name), dtype) for name, dtype in df.schema.items()}
    changed = [e.alias(name) for name, e in exprs.items() if e is not None]
    return df.with_columns(changed) if changed else df


@contextmanager
def _skips_reported() -> Iterator[None]:
    """Print what --ignore-errors skipped as ``jetliner: warning:`` lines.

    `read_avro` and `scan_avro` report skips as a `SkippedDataWarning`.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkippedDataWarning)
        yield
    for w in caught:
        if isinstance(w.message, SkippedDataWarning):
            _report_skipped(list(w.message.errors))
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _check_csv(schema: pl.Schema) -> None:
    """CSV holds flat values only: name the nested columns before writing anything."""
    nested = [f"{name} ({dtype})" for name, dtype in schema.items() if dtype.is_nested()]
    if nested:
        msg = (
            f"CSV cannot hold nested columns: {', '.join(nested)}; write ndjson, parquet "
            "or ipc, or pick flat columns with --columns"
        )
        raise CommandError(msg)


def _cat(args: argparse.Namespace) -> None:
    with jetliner.open(args.files, columns=_columns(args.columns),
                       **_options(args, n_rows=args.n)) as reader:
        if args.format == "csv":
            _check_csv(reader.polars_schema)
        _write_rows(reader, args.format, _write_stdout)


def _write_rows(reader: MultiAvroReader, fmt: str,
                emit: Callable[[Callable[[Any], object]], object]) -> None:
    """Write the reader's batches as CSV or NDJSON text, one `emit` per batch.

    `emit` is given a function that writes to a binary file.  A CSV header is
    written even when there are no rows; --ignore-errors skips are reported as
    they happen.
    """
    reported = 0
    header = True
    for batch in reader:
        text = _text_safe(batch)
        if fmt == "csv":
            emit(functools.partial(text.write_csv, include_header=header))
            header = False
        else:
            emit(text.write_ndjson)
        _report_skipped(reader.errors[reported:])
        reported = reader.error_count
    if fmt == "csv" and header:
        emit(_text_safe(pl.DataFrame(schema=reader.polars_schema)).write_csv)
    _report_skipped(reader.errors[reported:])


def _convert(args: argparse.Namespace) -> None:
    output = Path(args.output)
    fmt = args.format or FORMATS.get(output.suffix.lower())
    if fmt is None:
        msg = (
            f"cannot tell the output format from {args.output!r}: name it *.avro, *.parquet, "
            "*.csv, *.ndjson or *.ipc, or pass --format"
        )
        raise CommandError(msg)
    if output.exists() and output.is_dir():
        msg = f"the output {args.output!r} is a directory, expected a file name"
        raise CommandError(msg)
    if not output.parent.exists():
        msg = f"the output's folder {str(output.parent)!r} does not exist"
        raise CommandError(msg)
    if args.codec is not None and fmt != "avro":
        msg = f"--codec is for Avro output; the output is {fmt}"
        raise CommandError(msg)
    progress = args.progress if args.progress is not None else sys.stderr.isatty()
    lf, avro_input = _scan_input(args, progress)
    columns = _columns(args.columns)
    if columns is not None:
        missing = [c for c in columns if c not in lf.collect_schema()]
        if missing:
            msg = f"no column(s) {missing} in the input; it has {lf.collect_schema().names()}"
            raise CommandError(msg)
        lf = lf.select(columns)
    if fmt == "csv":
        _check_csv(lf.collect_schema())
    if fmt == "avro":
        # written to a temporary file and renamed by the writer itself
        with _skips_reported():
            jetliner.sink_avro(lf, output, codec=args.codec or "snappy")
        return
    # a temporary file until complete: an interrupted conversion leaves no
    # truncated file that looks finished (a unique name: runs do not collide)
    fd, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial",
                                dir=output.parent)
    os.close(fd)
    partial = Path(name)
    try:
        if fmt in ("parquet", "ipc"):
            # Polars' streaming sinks: they write row groups / record batches as
            # the batches arrive
            with _skips_reported():
                (lf.sink_parquet if fmt == "parquet" else lf.sink_ipc)(partial)
        elif not avro_input:
            (lf.sink_csv if fmt == "csv" else lf.sink_ndjson)(partial)
        else:
            # text formats batch by batch: memory bounded by the reader's buffers
            _write_text(args, fmt, columns, progress, partial)
        publish(partial, output)
    finally:
        if partial.exists():
            partial.unlink()


# input file extensions read by Polars' own scanners (anything else is read as Avro)
_POLARS_INPUTS: dict[str, Callable[..., pl.LazyFrame]] = {
    ".parquet": pl.scan_parquet, ".pq": pl.scan_parquet, ".csv": pl.scan_csv,
    ".ndjson": pl.scan_ndjson, ".jsonl": pl.scan_ndjson, ".ipc": pl.scan_ipc,
    ".arrow": pl.scan_ipc, ".feather": pl.scan_ipc}


def _scan_input(args: argparse.Namespace, progress: bool) -> tuple[pl.LazyFrame, bool]:
    """Return the inputs as one LazyFrame, and whether they are Avro.

    Avro is read by jetliner; Parquet, CSV, NDJSON and IPC by Polars' own scanners.
    """
    kinds = {_POLARS_INPUTS.get(Path(i.rstrip("/")).suffix.lower()) for i in args.inputs}
    if kinds == {None}:
        return jetliner.scan_avro(args.inputs, **_options(args, progress=progress)), True
    if len(kinds) > 1:
        msg = "convert reads inputs of one format at a time; these mix formats"
        raise CommandError(msg)
    if args.ignore_errors:
        msg = "--ignore-errors is for Avro inputs"
        raise CommandError(msg)
    scan = kinds.pop()
    assert scan is not None
    storage = _storage_options(args.storage_option)
    extra: dict[str, Any] = {} if storage is None else {"storage_options": storage}
    return scan(args.inputs if len(args.inputs) > 1 else args.inputs[0], **extra), False


def _write_text(args: argparse.Namespace, fmt: str, columns: list[str] | None,
                progress: bool, path: Path) -> None:
    with jetliner.open(args.inputs, columns=columns, **_options(args, progress=progress)) \
            as reader, path.open("wb") as out:
        _write_rows(reader, fmt, lambda write: write(out))


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-s", "--storage-option", action="append", metavar="KEY=VALUE",
                        help="a storage option for remote sources (repeatable), "
                             "e.g. -s endpoint=http://localhost:9000")
    common.add_argument("--ignore-errors", action="store_true",
                        help="skip damaged blocks instead of failing")
    common.add_argument("--no-glob", action="store_true",
                        help="take paths literally (no * ? [..] {a,b} expansion)")
    common.add_argument("--reader-schema", metavar="AVSC",
                        help="read through this reader schema (an .avsc path or URL, or "
                             "JSON text) by Avro's schema-resolution rules")
    parser = argparse.ArgumentParser(
        prog="jetliner", description="Read Avro files with Polars, from the shell.")
    parser.add_argument("--version", action="version", version=f"jetliner {jetliner.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="show the schema and rows of the bundled sample file")
    p.add_argument("-n", type=int, default=5, help="rows to show")
    p.set_defaults(func=_demo)

    p = sub.add_parser("schema", parents=[common], help="print a file's Avro schema (JSON)")
    p.add_argument("file")
    p.add_argument("--polars", action="store_true", help="print the Polars schema instead")
    p.set_defaults(func=_schema)

    p = sub.add_parser("schemas", parents=[common],
                       help="list the distinct writer schemas of files (headers read "
                            "concurrently), how many files use each, and what changed")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true",
                   help="print JSON (every schema in full, with its files)")
    p.set_defaults(func=_schemas)

    p = sub.add_parser("meta", parents=[common],
                       help="print codec, sync marker, metadata, block and row counts")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_meta)

    p = sub.add_parser("count", parents=[common],
                       help="count the rows of files (the record counts their blocks declare)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=_count)

    p = sub.add_parser("head", parents=[common], help="print the first rows")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-n", type=_count_arg, default=10, help="rows to print (default 10)")
    p.add_argument("--columns", help="comma-separated columns to show")
    p.add_argument("--ndjson", action="store_true", help="print newline-delimited JSON")
    p.set_defaults(func=_head)

    p = sub.add_parser("cat", parents=[common],
                       help="write all rows to standard output as ndjson or csv")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", choices=["ndjson", "csv"], default="ndjson")
    p.add_argument("-n", type=_count_arg, default=None, help="stop after N rows")
    p.add_argument("--columns", help="comma-separated columns to write")
    p.set_defaults(func=_cat)

    p = sub.add_parser("convert", parents=[common],
                       help="convert to Avro, Parquet, CSV, NDJSON or Arrow IPC, streaming "
                            "(from Avro, or from Parquet, CSV, NDJSON or IPC to Avro)")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("output", metavar="OUTPUT",
                   help="the file to write; its extension picks the format")
    p.add_argument("--format", choices=["avro", "parquet", "csv", "ndjson", "ipc"],
                   help="output format (default: from OUTPUT's extension)")
    p.add_argument("--codec", choices=list(CODEC_LEVELS),
                   help="block codec of Avro output (default snappy)")
    p.add_argument("--columns", help="comma-separated columns to keep")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress line on standard error (default: when it is a terminal)")
    p.set_defaults(func=_convert)
    return parser


def _count_arg(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        msg = f"expected a row count (an integer >= 0), got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return n


def main(argv: list[str] | None = None) -> int:
    """Run the command line with `argv` (default: ``sys.argv[1:]``); return the exit status."""
    args = _parser().parse_args(argv)
    try:
        args.func(args)
    except BrokenPipeError:
        # the reader of our output went away (``| head``): not an error; keep Python
        # from complaining again when it flushes stdout at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (JetlinerError, CommandError) as exc:
        return _fail(str(exc))
    except pl.exceptions.PolarsError as exc:
        return _fail(_polars_message(exc))
    except pl.exceptions.PanicException as exc:  # a BaseException: Polars' internal error
        return _fail(f"Polars failed: {_polars_message(exc)}")
    except UnicodeEncodeError as exc:
        return _fail(f"standard output cannot encode the text ({exc.reason}); set "
                     "PYTHONIOENCODING=utf-8")
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}" + (f": {exc.filename!r}" if exc.filename else ""))
    except KeyboardInterrupt:
        return _fail("interrupted", status=130)
    return 0


def _polars_message(exc: Exception) -> str:
    """Polars' message without its multi-line hints: the first line is the error."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fail(message: str, status: int = 1) -> int:
    print(f"jetliner: error: {message}", file=sys.stderr)
    return status
