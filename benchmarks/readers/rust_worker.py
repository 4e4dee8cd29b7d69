"""Worker that times one call with the Rust-based jetliner, in its own virtualenv.

Run by `readers.rust_jetliner` as ``<venv>/bin/python -I rust_worker.py``: ``-I``
keeps ``PYTHONPATH``, the current directory and the script's directory off
``sys.path``, so ``import jetliner`` finds the published package installed in
that virtualenv, not the one under development.  The benchmarks directory is
then appended to ``sys.path`` to reuse `readers.jetliner_reader` (same API,
same queries) and `timing` (same measurement).

Protocol: one JSON object on stdin, ``{"call": Call.to_json(), "repeat": N}``
(or ``{"probe": true}`` to only report the version); one JSON object on stdout,
``{"version": ..., "times": [...], "rows": ...}`` or ``{"error": ...}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCHMARKS_DIR = Path(__file__).resolve().parent.parent


def _installed_version() -> str:
    from importlib.metadata import version

    return version("jetliner")


def _run(request: dict) -> dict:
    sys.path.append(str(BENCHMARKS_DIR))
    from scenarios import Call
    from timing import measure

    import jetliner
    from readers import jetliner_reader

    origin = str(Path(jetliner.__file__).resolve())
    if origin.startswith(str(BENCHMARKS_DIR.parent / "jetliner")):
        return {"error": f"imported the development jetliner ({origin}), not the published one"}
    reply = {"version": _installed_version(), "origin": origin}
    if request.get("probe"):
        return reply
    call = Call.from_json(request["call"])
    function = getattr(jetliner_reader, call.function_name())
    m = measure(lambda: function(call.path, **call.kwargs), int(request["repeat"]))
    reply.update(times=m.times, rows=m.rows)
    return reply


def main() -> int:
    """Read the request from stdin, write the reply to stdout."""
    request = json.loads(sys.stdin.read())
    try:
        reply = _run(request)
    except Exception as exc:  # reported to the runner, which shows it in the table notes
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
