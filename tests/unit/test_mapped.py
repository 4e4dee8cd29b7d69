"""Local files are mapped, not copied; a file cut short while mapped must never kill the
process (SIGBUS), and nothing read from the bytes it lost may be returned.

The scenarios that cut a file short run in a child interpreter: if the guard failed,
the child would die of SIGBUS and the test would say so, rather than take pytest down.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import fastavro
import pytest

import jetliner
from jetliner import _decoder

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="local files are mapped on Linux only")

SCHEMA = {"type": "record", "name": "R", "fields": [
    {"name": "i", "type": "long"}, {"name": "s", "type": "string"}]}


# a child's start: a 4 MiB file of random bytes at argv[1], open as `fd`
_RANDOM_FILE = """
import mmap, os, sys
from jetliner import _decoder
path = sys.argv[1]
with open(path, "wb") as f:
    f.write(os.urandom(4 << 20))
fd = os.open(path, os.O_RDONLY)
"""


def _child(code: str, path: Path, start: str = "") -> subprocess.CompletedProcess[str]:
    # (in the file's folder: in a checkout's root, the source tree, which lacks the
    # compiled modules of a non-editable install, would shadow the installed package)
    return subprocess.run([sys.executable, "-c", start + textwrap.dedent(code), str(path)],
                          capture_output=True, text=True, timeout=120, check=False,
                          cwd=path.parent)


def _write(path: os.PathLike[str] | str, rows: int) -> None:
    with open(path, "wb") as f:
        fastavro.writer(f, SCHEMA, ({"i": i, "s": f"value {i:08d}"} for i in range(rows)),
                        codec="null", sync_interval=64_000)


def test_a_local_read_maps_its_chunks_and_unmaps_them(tmp_path) -> None:
    path = tmp_path / "f.avro"
    _write(path, 400_000)
    assert path.stat().st_size > 3 * (1 << 20)
    gc.collect()
    before = _decoder._mapped_files()
    seen = 0
    with jetliner.AvroReader(path, batch_size=10_000) as reader:
        for _ in reader:  # (reads start small and double: later chunks are mapped)
            seen = max(seen, _decoder._mapped_files() - before)
    assert seen > 0
    gc.collect()
    assert _decoder._mapped_files() == before
    theirs = [r["s"] for r in fastavro.reader(open(path, "rb"))]
    assert jetliner.read_avro(path)["s"].to_list() == theirs


def test_a_mapped_chunk_of_a_file_cut_short_reads_zeros_and_says_so(tmp_path) -> None:
    result = _child("""
        mapped = _decoder.map_file(fd, 3 << 20, 4096)
        view = memoryview(mapped)
        assert bytes(view[:64]) == os.pread(fd, 64, 4096) and not mapped.shrunk
        os.truncate(path, 1 << 20)
        tail = bytes(view[-64:])  # past the new end: without the guard, SIGBUS
        print(tail == bytes(64), mapped.shrunk)
    """, tmp_path / "f.bin", start=_RANDOM_FILE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_a_fault_outside_jetliners_mappings_still_ends_the_process(tmp_path) -> None:
    # the guard must not swallow another mapping's SIGBUS (here Python's own mmap)
    result = _child("""
        ours = _decoder.map_file(fd, 3 << 20, 0)  # installs the guard
        theirs = mmap.mmap(fd, 3 << 20, prot=mmap.PROT_READ)
        os.truncate(path, 1 << 20)
        theirs[(2 << 20):(2 << 20) + 8]
        print("not reached")
    """, tmp_path / "f.bin", start=_RANDOM_FILE)
    assert result.returncode == -signal.SIGBUS, (result.returncode, result.stdout, result.stderr)
    assert "not reached" not in result.stdout


@pytest.mark.parametrize("beyond", [0.0, 0.3, 1.5])
def test_a_file_cut_short_while_read_raises_a_typed_error(tmp_path, beyond: float) -> None:
    # cut `beyond` MiB past the rows read so far: where reads have not reached (a short
    # read), or inside a chunk already mapped, blocks framed or not (zeros)
    path = tmp_path / "f.avro"
    _write(path, 1_000_000)
    assert path.stat().st_size > 16 * (1 << 20)
    result = _child("""
        import os, sys
        import jetliner
        path, beyond = sys.argv[1], BEYOND
        size = os.path.getsize(path)
        rows = 0
        cut = None
        try:
            with jetliner.AvroReader(path, batch_size=2_000) as reader:
                for batch in reader:
                    rows += batch.height
                    if cut is None and rows >= 300_000:
                        cut = int(rows * size / 1_000_000 + beyond * (1 << 20))
                        os.truncate(path, cut)
        except jetliner.SourceError as exc:
            print(type(exc).__name__, "shrank" in str(exc), rows < 1_000_000)
        else:
            print("no error", rows)
    """, path, start=f"BEYOND = {beyond!r}\n")
    assert result.returncode == 0, result.stderr
    name, says, fewer = result.stdout.split()
    assert name in ("SourceError", "SourceChangedError") and says == "True" and fewer == "True"


def test_memory_map_false_reads_every_chunk(tmp_path) -> None:
    path = tmp_path / "f.avro"
    _write(path, 400_000)
    gc.collect()
    before = _decoder._mapped_files()
    seen = 0
    with jetliner.AvroReader(path, batch_size=10_000, memory_map=False) as reader:
        for _ in reader:
            seen = max(seen, _decoder._mapped_files() - before)
    assert seen == 0
    assert jetliner.read_avro(path, memory_map=False).equals(jetliner.read_avro(path))
    assert jetliner.scan_avro(path, memory_map=False).collect().equals(jetliner.read_avro(path))
    with pytest.raises(jetliner.ConfigurationError, match="memory_map must be True or False"):
        jetliner.read_avro(path, memory_map="no")
