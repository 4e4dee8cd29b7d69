"""Run the jetliner benchmarks and print scenario x reader medians with ratios.

Usage (from the repository root, with jetliner importable)::

    python benchmarks/run.py [--scenarios simple head] [--readers jetliner floor]
                             [--codec snappy] [--repeat 5] [--plot]

Data files are generated on first use (see `generate`).  Each reader runs each
scenario once untimed, then ``--repeat`` times; the median is reported, and
every result's row count is checked.  Results go to ``benchmarks/results/`` as
JSON; ``--plot`` also draws ``docs/assets/benchmarks.png`` (shown by the docs).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import CODECS, Dataset, default_params, ensure_dataset  # noqa: E402
from readers import BASELINE, READERS, load  # noqa: E402
from report import (  # noqa: E402
    NOT_APPLICABLE,
    PLOT_PATH,
    RESULTS_DIR,
    Cell,
    machine_info,
    plot,
    seconds,
    table,
    write_json,
)
from scenarios import SCENARIOS, Scenario  # noqa: E402
from timing import Measurement, measure  # noqa: E402


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark jetliner against other Avro readers.")
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--readers", nargs="+", choices=list(READERS), default=list(READERS))
    parser.add_argument("--codec", choices=CODECS, default="snappy")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per cell (default 5)")
    parser.add_argument("--plot", action="store_true", help="also draw docs/assets/benchmarks.png")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR,
                        help="directory for the JSON results")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def _load_readers(names: list[str]) -> tuple[dict[str, ModuleType], dict[str, str]]:
    """Import the selected readers; return (usable modules, reason by unusable name)."""
    modules: dict[str, ModuleType] = {}
    missing: dict[str, str] = {}
    for name in names:
        try:
            module = load(name)
            reason = module.unavailable()
        except ImportError as exc:
            module, reason = None, f"import failed: {exc}"
        if reason is None:
            modules[name] = module
        else:
            missing[name] = reason
    return modules, missing


def _load_quiet(name: str) -> ModuleType | None:
    """Import reader `name` for its label, or None if it cannot be imported."""
    try:
        return load(name)
    except ImportError:
        return None


def _time(module: ModuleType, scenario: Scenario, ds: Dataset, repeat: int) -> Measurement:
    call = scenario.call(ds)
    if hasattr(module, "measure"):
        return module.measure(call, repeat)
    function = getattr(module, call.function_name())
    count = getattr(module, "count_rows", len)
    return measure(lambda: function(call.path, **call.kwargs), repeat, count=count)


def _run_cell(name: str, module: ModuleType, scenario: Scenario, ds: Dataset,
              repeat: int) -> Cell:
    cell = Cell(scenario=scenario.name, reader=name, expected=scenario.expected(ds))
    if hasattr(module, "count_rows"):
        # the floor decodes nothing: it covers every record, or at least the head's
        cell.at_least = scenario.kind in ("head", "head_eager")
        cell.expected = cell.expected if cell.at_least else ds.rows
    if not hasattr(module, "measure") and not hasattr(module, f"read_{scenario.kind}"):
        cell.error = NOT_APPLICABLE
        return cell
    try:
        m = _time(module, scenario, ds, repeat)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - Rust panics are BaseExceptions
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        cell.error = f"failed: {type(exc).__name__}: {message[:200]}"
        return cell
    cell.times, cell.rows = m.times, m.rows
    if not cell.rows_ok:
        relation = "at least " if cell.at_least else ""
        cell.error = f"wrong row count: {cell.rows:,}, expected {relation}{cell.expected:,}"
    return cell


def _payload(args: argparse.Namespace, machine: dict[str, Any], text: str,
             datasets: dict[str, Dataset],
             labels: dict[str, str], versions: dict[str, str],
             missing: dict[str, str]) -> dict[str, Any]:
    """Everything but the cells that goes into the results JSON."""
    scenarios = {}
    for s in args.scenarios:
        ds = datasets[SCENARIOS[s].dataset]
        scenarios[s] = {"description": SCENARIOS[s].description, "file": str(ds.path),
                        "file_bytes": ds.file_bytes, "rows": ds.rows,
                        "call": SCENARIOS[s].call(ds).to_json()}
    readers = {r: {"label": labels[r], "version": versions.get(r), "unavailable": missing.get(r)}
               for r in labels}
    return {"machine": machine, "codec": args.codec, "repeat": args.repeat,
            "baseline": BASELINE, "readers": readers, "scenarios": scenarios, "table": text}


def main(argv: list[str] | None = None) -> int:
    """Run the selected scenarios with the selected readers and report."""
    args = _parse(argv)
    started = _dt.datetime.now()
    machine = machine_info()  # before running: the code under test may change meanwhile
    scenario_names = [s for s in SCENARIOS if s in args.scenarios]
    reader_names = [r for r in READERS if r in args.readers]
    datasets: dict[str, Dataset] = {}
    for s in scenario_names:
        name = SCENARIOS[s].dataset
        if name not in datasets:
            datasets[name] = ensure_dataset(default_params(name, args.codec))

    modules, missing = _load_readers(reader_names)
    labels = {r: getattr(modules.get(r) or _load_quiet(r), "LABEL", r) for r in reader_names}
    versions = {r: module.version() for r, module in modules.items()}

    cells: list[Cell] = []
    for s in scenario_names:
        scenario = SCENARIOS[s]
        ds = datasets[scenario.dataset]
        for r in reader_names:
            if r in missing:
                cells.append(Cell(s, r, expected=scenario.expected(ds),
                                  error=f"unavailable: {missing[r]}"))
                continue
            cell = _run_cell(r, modules[r], scenario, ds, args.repeat)
            cells.append(cell)
            shown = f"{seconds(cell.median)} s" if cell.median is not None else "-"
            print(f"[{s}] {labels[r]}: {shown}" + (f"  ({cell.error})" if cell.error else ""),
                  file=sys.stderr, flush=True)

    text = table(cells, scenario_names, reader_names, labels, BASELINE)
    print(text)

    out = args.output / f"{started.strftime('%Y%m%d-%H%M%S')}-{args.codec}.json"
    write_json(out, _payload(args, machine, text, datasets, labels, versions, missing), cells)
    print(f"\nresults: {out}", file=sys.stderr)
    if args.plot:
        why = plot(cells, scenario_names, reader_names, labels,
                   f"Avro read, {args.codec}, median of {args.repeat}")
        print(f"plot: {PLOT_PATH}" if why is None else f"no plot: {why}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
