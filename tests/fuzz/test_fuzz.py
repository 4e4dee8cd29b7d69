"""A short, bounded fuzz run in child processes, and a truncation sweep.

The long run is ``python tests/fuzz/harness.py --inputs 1000000`` (see its doc).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import fastavro
import pytest

sys.path.append(str(Path(__file__).parent))

from harness import run  # noqa: E402
from seeds import CODECS, seed_files  # noqa: E402

import jetliner  # noqa: E402


def test_short_fuzz_run_has_no_crash_hang_or_untyped_error(tmp_path: Path) -> None:
    summary = run(inputs=3000, workers=2, seed=20261121, out=tmp_path, hang=10.0, chunk=1500)
    assert summary["done"] == 3000
    assert summary["crashes"] == []
    assert summary["hangs"] == []
    assert summary["untyped"] == []
    # Polars itself panics on aggregations over zero-field struct columns (empty
    # Avro records); the only seeds with such columns are the zero_byte ones
    assert all(p["seed"].startswith("zero_byte-") for p in summary["polars_panics"])


def _block_ends(data: bytes) -> set[int]:
    """File offsets just past each block's sync marker (and the header's)."""
    sync = data[-16:]
    ends, pos = set(), data.find(sync)
    while pos >= 0:
        ends.add(pos + 16)
        pos = data.find(sync, pos + 1)
    return ends


def _fastavro_rows(data: bytes) -> int:
    return sum(1 for _ in fastavro.reader(io.BytesIO(data)))


SWEEP = [name for name, _ in seed_files()
         if name.split("-")[0] in ("nested", "logical", "unions_enum_fixed", "recursive")
         and name.split("-")[1] in CODECS]


@pytest.mark.parametrize("name", SWEEP)
def test_truncation_sweep_never_returns_silent_partial_data(name: str) -> None:
    """Every prefix of a multi-block file: strict mode raises a typed error, except
    where the prefix ends exactly after a block, which is a valid (shorter) file
    and must read as exactly its complete blocks."""
    data = dict(seed_files())[name]
    ends = _block_ends(data)
    assert len(ends) >= 3, "the seed should have several blocks"
    header_end = min(ends)
    silent = []
    for cut in range(len(data)):
        prefix = data[:cut]
        try:
            df = jetliner.read_avro(prefix)
        except jetliner.JetlinerError:
            continue
        if cut not in ends:
            silent.append(cut)
        elif cut > header_end:
            assert df.height == _fastavro_rows(prefix), cut
    assert silent == []
