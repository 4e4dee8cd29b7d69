"""``progress=True``: a progress line on standard error, and nothing without it."""

from __future__ import annotations

import io

import pytest

import jetliner
from jetliner.progress import Progress

SCHEMA = {"type": "record", "name": "R", "fields": [{"name": "x", "type": "long"},
                                                     {"name": "s", "type": "string"}]}


@pytest.fixture
def two_files(avro_file):
    return [avro_file(SCHEMA, [{"x": i, "s": "v" * (i % 50)} for i in range(n)],
                      codec="deflate", sync_interval=2000) for n in (3000, 2000)]


def final_line(err: str) -> str:
    return err.rstrip("\n").split("\r")[-1].strip()


def test_quiet_by_default(capsys, two_files) -> None:
    jetliner.read_avro(two_files)
    with jetliner.open(two_files) as reader:
        list(reader)
    jetliner.scan_avro(two_files).collect()
    assert capsys.readouterr().err == ""


def test_read_avro_reports_rows_and_bytes(capsys, two_files) -> None:
    df = jetliner.read_avro(two_files, progress=True, batch_size=500)
    err = capsys.readouterr().err
    size = sum(p.stat().st_size for p in two_files)
    assert err.endswith("\n") and err.count("\n") == 1
    line = final_line(err)
    assert line.startswith(f"jetliner: {df.height:,} rows, {size / 1e6:,.1f} MB in ")
    assert line.endswith("MB/s)")


@pytest.mark.parametrize("api", ["open", "AvroReader", "MultiAvroReader", "scan_avro"])
def test_every_api_reports(capsys, two_files, api) -> None:
    if api == "scan_avro":
        rows = jetliner.scan_avro(two_files, progress=True).collect().height
    else:
        source = two_files[0] if api == "AvroReader" else two_files
        with getattr(jetliner, api)(source, progress=True) as reader:
            rows = sum(batch.height for batch in reader)
    assert final_line(capsys.readouterr().err).startswith(f"jetliner: {rows:,} rows, ")


def test_stopping_early_still_ends_the_line(capsys, two_files) -> None:
    with jetliner.open(two_files, progress=True, batch_size=100) as reader:
        first = next(reader)
    assert 0 < first.height <= 100
    assert final_line(capsys.readouterr().err).startswith(f"jetliner: {first.height} rows, ")


def test_option_is_checked() -> None:
    with pytest.raises(jetliner.ConfigurationError, match="progress must be True or False"):
        jetliner.read_avro(jetliner.sample_path(), progress="yes")  # type: ignore[arg-type]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_fields() -> None:
    clock = iter([100.0, 102.0, 104.0])
    out = Terminal()
    p = Progress(total_bytes=40_000_000, files=3, stream=out, clock=lambda: next(clock))
    assert p.interval == 0.1
    p.update(rows=5000, bytes_done=10_000_000, file=2)  # at t=102: 2 s for a quarter
    drawn = "jetliner: 5,000 rows | 10.0 MB of 40.0 MB | 5.0 MB/s | file 2/3 | 25% | ETA 0:00:06"
    assert out.getvalue() == "\r" + drawn
    p.close()  # at t=104
    summary = "jetliner: 5,000 rows, 10.0 MB in 4.0 s (2.5 MB/s)"
    # the shorter summary blanks out the rest of the longer line before it
    assert out.getvalue() == "\r" + drawn + "\r" + summary.ljust(len(drawn)) + "\n"


def test_not_a_terminal_draws_once_a_second() -> None:
    now = [0.0]
    out = io.StringIO()
    p = Progress(stream=out, clock=lambda: now[0])
    assert p.interval == 1.0
    for t in (0.5, 0.9, 1.2, 1.5, 2.3):
        now[0] = t
        p.update(rows=int(t * 10), bytes_done=int(t * 1e6))
    assert out.getvalue().count("\r") == 2  # at 1.2 and 2.3
    assert "ETA" not in out.getvalue()  # the total is unknown


def test_n_rows_reports_the_bytes_actually_read(capsys, avro_file) -> None:
    path = avro_file(SCHEMA, [{"x": i, "s": "v" * 40} for i in range(20_000)],
                     codec="null", sync_interval=4000)
    jetliner.read_avro(path, n_rows=5, progress=True)
    line = final_line(capsys.readouterr().err)
    assert line.startswith("jetliner: 5 rows, ")
    read_mb = float(line.split(" rows, ")[1].split(" MB")[0])
    assert read_mb < path.stat().st_size / 1e6 / 10  # the first block, not the file
