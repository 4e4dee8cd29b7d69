"""Threads shared by every read: decoding, I/O, and giving back idle memory.

The last gives back the memory kept for reuse once no reader is open.

Each pool is made on first use and made again in a forked child, which inherits
the parent's pool object but none of its threads (a task submitted there would
never run).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from jetliner._decoder import release_memory
from jetliner._snappy import release_pool as release_snappy_pool

__all__ = ["DECODE_THREADS", "IDLE_TRIM", "IO_THREADS", "SharedPool"]


class SharedPool:
    """A process-wide `ThreadPoolExecutor`, made lazily and remade after ``fork``.

    Parameters
    ----------
    workers
        Number of threads, or a function returning it (called when the pool is made).
    name
        Prefix of the threads' names.
    """

    def __init__(self, workers: int | Callable[[], int], name: str) -> None:
        self._workers = workers
        self._name = name
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0
        self._size = 0  # the threads of the pool made last

    @property
    def workers(self) -> int:
        """The number of threads of this process's pool (made now if it has none)."""
        self.get()
        return self._size

    def get(self) -> ThreadPoolExecutor:
        """Return the pool of this process (made now if this process has none)."""
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                workers = self._workers() if callable(self._workers) else self._workers
                self._pool = ThreadPoolExecutor(max_workers=workers,
                                                thread_name_prefix=self._name)
                self._pid = os.getpid()
                self._size = workers
            return self._pool


# Decoding runs without the GIL: one thread per core.
DECODE_THREADS = SharedPool(lambda: os.cpu_count() or 2, "jetliner-decode")
# Threads that wait on network reads (they hold no GIL while waiting), so more
# of them than cores: enough for several prefetching reads at once.
IO_THREADS = SharedPool(16, "jetliner-io")


# Seconds without an open reader after which the memory kept for reuse between batches
# (pooled buffers, the C heap's free memory) is given back.  Giving it back at once cost
# a short read 0.15-0.2 ms and a next read its page faults; reads in a row keep it.
TRIM_AFTER = 1.0


class _IdleTrim:
    """Give back the memory kept for reuse once no reader has been open for a while.

    One daemon thread per process waits for the moment; a reader opening meanwhile
    puts it off.  A forked child starts its own thread.
    """

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._open = 0
        self._due: float | None = None
        self._pid = 0
        self._parked = False  # the thread waits with no moment to wait for
        self._until = 0.0  # the moment the thread waits for

    def opened(self) -> None:
        with self._cond:
            self._open += 1
            self._due = None

    def closed(self) -> None:
        with self._cond:
            self._open -= 1
            if self._open > 0:
                return
            self._due = time.monotonic() + TRIM_AFTER
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="jetliner-trim", daemon=True).start()
            elif self._parked or self._due < self._until:
                # (a thread waiting for an earlier moment wakes then and waits for this
                # one: reads in a row cost no thread switch each)
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._parked = True
                while self._due is None:
                    self._cond.wait()
                self._parked = False
                wait = self._due - time.monotonic()
                if wait > 0:
                    self._until = self._due
                    self._cond.wait(wait)
                    continue
                self._due = None
            release_snappy_pool()  # (first: the trim below gives its memory back too)
            release_memory()


IDLE_TRIM = _IdleTrim()
