"""A one-line progress display for long reads, on standard error.

Opt-in (``progress=True`` on the reading APIs, or the CLI's ``convert`` when
standard error is a terminal): jetliner is quiet by default.  The line shows rows,
bytes read, throughput and, when the total size of the sources is known, the
percentage and the time left.  It is redrawn in place (carriage return) at most
ten times a second on a terminal, once a second elsewhere (a notebook, a log), and
ends with a summary line.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress"]


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


class Progress:
    """Track rows and bytes of a read and draw them on one line.

    Parameters
    ----------
    total_bytes
        Size of everything to read, when known (enables the percentage and ETA).
    files
        Number of sources, shown as ``file i/n`` when more than one.
    stream
        Where to draw (standard error by default).
    label
        Prefix of the line.
    clock
        Seconds, monotonic (tests pass their own).
    """

    def __init__(self, total_bytes: int | None = None, files: int = 1,
                 stream: TextIO | None = None, label: str = "jetliner",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total_bytes = total_bytes
        self.files = files
        self.stream = stream if stream is not None else sys.stderr
        self.label = label
        isatty = getattr(self.stream, "isatty", None)
        self.interval = 0.1 if callable(isatty) and isatty() else 1.0
        self.rows = 0
        self.bytes = 0
        self.file = 1
        self.clock = clock
        self.start = clock()
        self._last_draw = self.start  # short reads print only the summary
        self._width = 0
        self._closed = False

    def update(self, rows: int, bytes_done: int, file: int = 1) -> None:
        """Record the totals so far (cumulative) and redraw if it is time to."""
        self.rows = rows
        self.bytes = bytes_done
        self.file = file
        now = self.clock()
        if now - self._last_draw >= self.interval:
            self._last_draw = now
            self._draw(self.line(now))

    def line(self, now: float | None = None) -> str:
        """Format the progress line for the current totals."""
        elapsed = (self.clock() if now is None else now) - self.start
        parts = [f"{self.label}: {self.rows:,} rows", _mb(self.bytes)]
        if self.total_bytes:
            parts[-1] += f" of {_mb(self.total_bytes)}"
        if elapsed > 0:
            parts.append(f"{self.bytes / elapsed / 1e6:,.1f} MB/s")
        if self.files > 1:
            parts.append(f"file {self.file}/{self.files}")
        if self.total_bytes:
            fraction = min(1.0, self.bytes / self.total_bytes)
            parts.append(f"{fraction:.0%}")
            if 0 < fraction < 1:
                parts.append(f"ETA {_clock(elapsed * (1 - fraction) / fraction)}")
        return " | ".join(parts)

    def close(self) -> None:
        """Draw the final summary line (once)."""
        if self._closed:
            return
        self._closed = True
        elapsed = self.clock() - self.start
        rate = f" ({self.bytes / elapsed / 1e6:,.1f} MB/s)" if elapsed > 0 else ""
        self._draw(
            f"{self.label}: {self.rows:,} rows, {_mb(self.bytes)} in {elapsed:.1f} s{rate}",
            end="\n",
        )

    def _draw(self, text: str, end: str = "") -> None:
        pad = max(0, self._width - len(text))
        self._width = len(text)
        try:
            self.stream.write("\r" + text + " " * pad + end)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stderr must not fail the read
