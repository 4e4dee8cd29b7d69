"""The small sample file shipped with the package (see ``scripts/make_sample.py``)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["sample_path"]


def sample_path() -> str:
    """Return the path of the sample file shipped with jetliner.

    Returns
    -------
    str
        The path of ``sample.avro``: 500 rows of users with nested, nullable and
        logical types.
    """
    return str(Path(__file__).with_name("data") / "sample.avro")
