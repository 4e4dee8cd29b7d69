"""Presenting benchmark results: the text table, the JSON file and the optional plot."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# Cell.error of a reader that has no function for a scenario's query kind
# (the empty IO plugin times only the lazy head): shown as "-", without a note.
NOT_APPLICABLE = "not applicable"
# The plot lives with the documentation site, which shows it (docs/benchmarks.md) and
# so does the benchmark README: one copy, overwritten by each run with --plot.
PLOT_PATH = Path(__file__).resolve().parent.parent / "docs" / "assets" / "benchmarks.png"


@dataclass
class Cell:
    """The outcome of one reader on one scenario.

    Attributes
    ----------
    scenario, reader
        Names of the scenario and the reader.
    times
        Seconds of each timed run; empty when it did not run.
    rows
        Rows the reader returned (records covered, for the floor).
    expected
        Rows a correct result has (a minimum when `at_least`).
    at_least
        `expected` is a lower bound rather than an exact count.
    error
        Why there is no valid timing: unavailable, failed, or wrong row count.
    """

    scenario: str
    reader: str
    times: list[float] = field(default_factory=list)
    rows: int | None = None
    expected: int | None = None
    at_least: bool = False
    error: str | None = None

    @property
    def median(self) -> float | None:
        """Median seconds, or None without timings."""
        return statistics.median(self.times) if self.times else None

    @property
    def rows_ok(self) -> bool:
        """Whether the row count matches what a correct reader returns."""
        if self.rows is None or self.expected is None:
            return False
        return self.rows >= self.expected if self.at_least else self.rows == self.expected


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_revision(repo: Path) -> str | None:
    try:
        rev = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--", "jetliner"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if rev.returncode != 0:
        return None
    return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def machine_info() -> dict[str, Any]:
    """Describe the machine and interpreter the benchmark runs on."""
    import polars as pl

    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "polars": pl.__version__,
        "jetliner_git": _git_revision(Path(__file__).resolve().parent.parent),
    }


def seconds(value: float) -> str:
    """Format seconds: three decimals, four below 0.01 s, two significant digits below 1 ms."""
    if value >= 0.01:
        return f"{value:.3f}"
    return f"{value:.4f}" if value >= 0.001 else f"{value:.2g}"


def _format_cell(cell: Cell, baseline: Cell | None) -> str:
    if cell.error == NOT_APPLICABLE:
        return "-"
    if cell.median is None:
        return "n/a"
    text = seconds(cell.median)
    if baseline is not None and baseline.median and not baseline.error:
        text += f" ({cell.median / baseline.median:.2f}x)"
    if cell.error:
        text += " !"
    return text


def table(cells: list[Cell], scenarios: list[str], readers: list[str],
          labels: dict[str, str], baseline: str) -> str:
    """Format medians (and ratios to `baseline`) as a Markdown table.

    Parameters
    ----------
    cells
        All outcomes.
    scenarios, readers
        Row and column order.
    labels
        Column titles by reader name.
    baseline
        Reader the ratios divide by (``reader_time / baseline_time``).

    Returns
    -------
    str
        The table, followed by notes on every cell without a valid timing.
    """
    by_key = {(c.scenario, c.reader): c for c in cells}
    head = ["scenario"] + [labels.get(r, r) for r in readers]
    rule = "|" + "|".join(["---"] + ["---:"] * len(readers)) + "|"
    lines = ["| " + " | ".join(head) + " |", rule]
    for s in scenarios:
        base = by_key.get((s, baseline))
        row = [s] + [_format_cell(by_key[(s, r)], base) for r in readers if (s, r) in by_key]
        lines.append("| " + " | ".join(row) + " |")
    notes = []
    unavailable: dict[str, str] = {}
    for c in cells:
        if c.error == NOT_APPLICABLE:
            continue
        if c.error and c.error.startswith("unavailable:"):
            unavailable[c.reader] = c.error
        elif c.error:
            notes.append(f"- {c.scenario} / {labels.get(c.reader, c.reader)}: {c.error}")
    notes += [f"- {labels.get(r, r)}: {why}" for r, why in unavailable.items()]
    out = "\n".join(lines)
    out += f"\n\nMedian seconds; (Nx) = reader time / {labels.get(baseline, baseline)} time."
    if notes:
        out += "\n\n" + "\n".join(notes)
    return out


def write_json(path: Path, payload: dict[str, Any], cells: list[Cell]) -> None:
    """Write `payload` plus every cell (with its median) to `path` as JSON."""
    payload = dict(payload)
    payload["results"] = [asdict(c) | {"median": c.median, "rows_ok": c.rows_ok} for c in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")


def plot(cells: list[Cell], scenarios: list[str], readers: list[str],
         labels: dict[str, str], title: str, path: Path = PLOT_PATH) -> str | None:
    """Draw a grouped bar chart of medians (log scale) to `path`.

    By default `path` is ``docs/assets/benchmarks.png``, the picture the documentation
    site and ``benchmarks/README.md`` show.

    Returns
    -------
    str or None
        Why no plot was made (matplotlib missing), or None on success.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib)"
    by_key = {(c.scenario, c.reader): c for c in cells}
    width = 0.8 / max(len(readers), 1)
    fig, ax = plt.subplots(figsize=(max(8, 1.6 * len(scenarios)), 5))
    for i, r in enumerate(readers):
        xs, ys = [], []
        for j, s in enumerate(scenarios):
            cell = by_key.get((s, r))
            if cell is not None and cell.median is not None and not cell.error:
                xs.append(j + (i - (len(readers) - 1) / 2) * width)
                ys.append(cell.median)
        if xs:  # a reader without any valid timing gets no legend entry
            ax.bar(xs, ys, width=width, label=labels.get(r, r), color=f"C{i % 10}")
    ax.set_xticks(range(len(scenarios)), scenarios)
    ax.set_yscale("log")
    ax.set_ylabel("median seconds (log scale, lower is better)")
    ax.set_title(title)
    ax.legend(fontsize="small")
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return None
