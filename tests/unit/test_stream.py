"""`ByteStream` returns the file's own bytes for any forward sequence of ranges:
across chunk boundaries, where the unread tail of a local buffer is read again
rather than copied, where a long tail is still copied, and with prefetch."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from jetliner.sources import LocalSource
from jetliner.stream import REREAD_LIMIT, ByteStream

SIZE = 3 * REREAD_LIMIT + 12_345
DATA = random.Random(7).randbytes(SIZE)


class _Memory:
    """An in-memory `RangeFile` that counts its reads."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)
        self.reads: list[tuple[int, int]] = []

    def read_range(self, start: int, end: int) -> bytes:
        self.reads.append((start, end))
        return self.data[start:end]

    def close(self) -> None:
        pass


def _local(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    if not path.exists():
        path.write_bytes(DATA)
    return path


# (gap before the range, its length): forward reads, some longer than a chunk
ranges = st.lists(st.tuples(st.integers(0, REREAD_LIMIT), st.integers(1, 2 * REREAD_LIMIT)),
                  min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(steps=ranges, chunk=st.sampled_from([64 * 1024, REREAD_LIMIT, 4 * REREAD_LIMIT]))
def test_local_reads_are_the_file_bytes(tmp_path_factory, steps, chunk) -> None:  # noqa: ANN001
    path = _local(tmp_path_factory.getbasetemp())
    file = LocalSource(path).open()
    stream = ByteStream(file, chunk)
    pos = 0
    try:
        for gap, length in steps:
            pos += gap
            if pos >= SIZE:
                break
            assert bytes(stream.view(pos, length)) == DATA[pos:pos + length]
            pos += length // 2  # the next range may overlap this one
    finally:
        stream.close()


def test_local_tail_is_read_again_not_copied(tmp_path: Path) -> None:
    file = LocalSource(_local(tmp_path)).open()
    reads: list[int] = []
    read_range = file.read_range

    def counted(start: int, end: int) -> bytes | memoryview:
        reads.append(start)
        return read_range(start, end)

    file.read_range = counted  # type: ignore[method-assign]
    stream = ByteStream(file, REREAD_LIMIT)
    stream.view(0, REREAD_LIMIT)          # buffer: [0, 1 MiB)
    start = REREAD_LIMIT - 1000           # 1000 buffered bytes, and more wanted
    view = stream.view(start, 5000)
    assert bytes(view) == DATA[start:start + 5000]
    assert reads == [0, start]            # the tail came from the file again
    assert stream.buf_start == start
    stream.close()


def test_a_long_tail_is_copied_and_prefetched_ranges_are_joined() -> None:
    memory = _Memory(DATA)
    stream = ByteStream(memory, 2 * REREAD_LIMIT)  # type: ignore[arg-type]
    stream.view(0, 2 * REREAD_LIMIT)
    start = REREAD_LIMIT // 2                      # 1.5 MiB buffered: over the limit
    assert bytes(stream.view(start, 2 * REREAD_LIMIT)) == DATA[start:start + 2 * REREAD_LIMIT]
    assert all(s >= 2 * REREAD_LIMIT for s, _ in memory.reads[1:])  # not read again
    stream.close()

    memory = _Memory(DATA)
    stream = ByteStream(memory, 256 * 1024, prefetch_ranges=4,  # type: ignore[arg-type]
                        prefetch_bytes=REREAD_LIMIT)
    pos = 0
    while pos < SIZE:
        length = 100_000
        assert bytes(stream.view(pos, length)) == DATA[pos:pos + length]
        pos += 90_000
    assert len(memory.reads) > 3  # prefetched in ranges
    stream.close()


@settings(max_examples=60, deadline=None)
@given(at=st.integers(0, SIZE - 16), back=st.integers(0, 5000),
       chunk=st.sampled_from([1, 7, 15, 16, 17, 64 * 1024]))
def test_find_spans_reads_shorter_than_the_pattern(at: int, back: int, chunk: int) -> None:
    pattern = DATA[at:at + 16]
    start = max(0, at - back)
    stream = ByteStream(_Memory(DATA), chunk)  # type: ignore[arg-type]
    assert stream.find(pattern, start) == DATA.find(pattern, start)
    # `before`: only a match that starts before it counts
    assert stream.find(pattern, start, before=at) == DATA.find(pattern, start, at + 15)
    stream.close()
