"""What fresh memory costs on this machine: writing into new pages against pages already mapped.

``python benchmarks/page_faults.py [--mb 64] [--repeat 5]``

A decoded DataFrame is new memory, so a read in a fresh process touches every
page of its result once, and each first touch is a page fault (on a virtual
machine, also a trip through the hypervisor's page tables).  This writes `--mb`
MB into a new anonymous mapping, then the same bytes into it again, and prints
the medians: the difference is the price of faulting the pages in, which no
reader of that much output avoids.  The benchmark floor (decompression into
reused buffers) never pays it.
"""

from __future__ import annotations

import argparse
import mmap
import statistics
import time

PAGE = mmap.PAGESIZE


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    n = args.mb * 1_000_000 // PAGE * PAGE
    data = bytes(range(256)) * (n // 256)
    fresh, mapped = [], []
    for _ in range(args.repeat):
        with mmap.mmap(-1, n) as m:
            started = time.perf_counter()
            m.write(data)
            fresh.append(time.perf_counter() - started)
            m.seek(0)
            started = time.perf_counter()
            m.write(data)
            mapped.append(time.perf_counter() - started)
    f, w = statistics.median(fresh), statistics.median(mapped)
    print(f"{n / 1e6:.0f} MB: into fresh pages {f * 1e3:.1f} ms, into mapped pages "
          f"{w * 1e3:.1f} ms; faults {(f - w) * 1e6 / (n // PAGE):.2f} us per {PAGE} B page, "
          f"{(f - w) * 1e3 / (n / 1e6):.2f} ms per MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
