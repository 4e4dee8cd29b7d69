"""The published Rust-based ``jetliner==0.2.0`` from PyPI, timed in a subprocess.

It has the same import name as the package under development, so it lives in
its own virtualenv, ``benchmarks/.venv-rust-jetliner/``, created on first use
(``python -m venv`` + ``pip install jetliner==0.2.0 polars==<this Polars>``).
Each call is timed inside `readers.rust_worker` running there: warm-up and
repetitions happen in that process and only the timings and row count come
back as JSON, so interpreter start-up is not counted.

The ``read_*`` functions are not provided: the runner uses `measure` instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
from scenarios import Call
from timing import Measurement

LABEL = "jetliner 0.2.0 (Rust)"
PACKAGE = "jetliner==0.2.0"
VENV_DIR = Path(__file__).resolve().parent.parent / ".venv-rust-jetliner"
WORKER = Path(__file__).resolve().parent / "rust_worker.py"
# generous: one call is a warm-up plus `repeat` reads of up to a few seconds
TIMEOUT = 1800

_state: dict[str, Any] = {}


def _python() -> Path:
    return VENV_DIR / "bin" / "python"


def _ask(request: dict[str, Any], timeout: float = TIMEOUT) -> dict[str, Any]:
    """Send `request` to a fresh worker and return its JSON reply."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run(
        [str(_python()), "-I", str(WORKER)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=env,
        cwd=str(VENV_DIR),
        timeout=timeout,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-3:]
        return {"error": f"worker exited with {proc.returncode}: {' | '.join(tail)}"}
    return json.loads(lines[-1])


def _create_venv() -> str | None:
    """Create the virtualenv and install the package; return an error or None."""
    done = subprocess.run([sys.executable, "-m", "venv", str(VENV_DIR)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        return f"could not create {VENV_DIR}: {done.stderr.strip()[-300:]}"
    error = ""
    # the same Polars as the main environment if possible, else any
    for pins in ([PACKAGE, f"polars=={pl.__version__}"], [PACKAGE, "polars"]):
        print(f"installing {' '.join(pins)} into {VENV_DIR} ...", file=sys.stderr, flush=True)
        done = subprocess.run([str(_python()), "-m", "pip", "install", "--quiet", *pins],
                              capture_output=True, text=True)
        if done.returncode == 0:
            return None
        error = (done.stderr.strip().splitlines() or [""])[-1]
    return f"pip install {PACKAGE} failed: {error}"


def _probe() -> dict[str, Any]:
    if "probe" not in _state:
        reply: dict[str, Any] = {}
        if _python().exists():
            reply = _ask({"probe": True}, timeout=120)
        if not _python().exists() or "error" in reply:
            error = _create_venv()
            reply = {"error": error} if error else _ask({"probe": True}, timeout=120)
        _state["probe"] = reply
    return _state["probe"]


def unavailable() -> str | None:
    """Return why the Rust jetliner cannot run (creating its venv if needed), or None."""
    return _probe().get("error")


def version() -> str:
    """Return the installed version of the Rust jetliner."""
    return f"jetliner {_probe().get('version', '?')} (Rust, separate venv)"


def measure(call: Call, repeat: int) -> Measurement:
    """Time `call` in the worker: one warm-up, then `repeat` timed runs.

    Raises
    ------
    RuntimeError
        The worker failed; the message is its error.
    """
    reply = _ask({"call": call.to_json(), "repeat": repeat})
    if "error" in reply:
        raise RuntimeError(reply["error"])
    return Measurement(times=[float(t) for t in reply["times"]], rows=int(reply["rows"]))
