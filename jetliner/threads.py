"""Thread pools shared by every read: decoding threads and I/O threads.

Each pool is made on first use and made again in a forked child, which inherits
the parent's pool object but none of its threads (a task submitted there would
never run).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

__all__ = ["DECODE_THREADS", "IO_THREADS", "SharedPool"]


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

    def get(self) -> ThreadPoolExecutor:
        """Return the pool of this process (made now if this process has none)."""
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                workers = self._workers() if callable(self._workers) else self._workers
                self._pool = ThreadPoolExecutor(max_workers=workers,
                                                thread_name_prefix=self._name)
                self._pid = os.getpid()
            return self._pool


# Decoding runs without the GIL: one thread per core.
DECODE_THREADS = SharedPool(lambda: os.cpu_count() or 2, "jetliner-decode")
# Threads that wait on network reads (they hold no GIL while waiting), so more
# of them than cores: enough for several prefetching reads at once.
IO_THREADS = SharedPool(16, "jetliner-io")
