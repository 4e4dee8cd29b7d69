# Included by _decoder.pyx: the decoder's buffer memory seen from Python (the pool's
# hooks for tests and the idle trim), and local file reads into pooled buffers.

# ---------------------------------------------------------------- buffer memory (tests)

def _refuse_mappings(bint on):
    """Make the allocator act as if the system refused every new mapping (tests)."""
    jl_set_refuse_maps(on)


def _mapped_threshold():
    """Usable bytes from which a buffer gets its own mapping on Linux (tests)."""
    return JL_BIG


def _buffer_pool_stats():
    """``(pooled_bytes, live_mappings)`` of the buffer allocator (tests, benchmarks)."""
    return jl_pool_bytes(), jl_live_maps()


def _check_zeroed_reuse(size_t n):
    """Fill a buffer of `n` bytes, free it, ask for `n` zeroed bytes (tests).

    Returns ``(reused, zeroed)``: whether the second buffer is the first one
    (from the pool) and whether it reads as all zeros.
    """
    cdef uint8_t* p = <uint8_t*>buf_alloc(n, 0)
    cdef uint8_t* q
    cdef size_t i
    cdef bint zeroed = True
    if p == NULL:
        raise MemoryError()
    memset(p, 0xFF, n)
    buf_free(p)
    q = <uint8_t*>buf_alloc(n, 1)
    if q == NULL:
        raise MemoryError()
    for i in range(n):
        if q[i] != 0:
            zeroed = False
            break
    reused = q == p
    buf_free(q)
    return reused, zeroed


def release_memory():
    """Give back the memory kept for reuse between batches: pooled buffers, and the C
    heap's free memory (glibc).  Called when the last open reader closes."""
    with nogil:
        jl_trim()


def _set_buffer_pool_limit(size_t n):
    """Keep at most `n` bytes of freed mapped buffers for reuse (0: unmap at once)."""
    jl_set_pool_limit(n)


cdef class PooledBytes:
    """Bytes in a buffer of the pool (buffer protocol; read-only unless made by
    `pooled_scratch`).

    A local read fetches the file in chunks of a few MiB.  Each chunk as a fresh
    ``bytes`` object was a fresh mapping whose every page faulted in while the kernel
    copied into it (half of a one-column read's time); from the pool, a chunk
    reuses the pages of a chunk freed before it.
    """

    cdef uint8_t* data
    cdef Py_ssize_t size
    cdef bint writable

    def __dealloc__(self):
        buf_free(self.data)

    def __len__(self):
        return self.size

    def __getbuffer__(self, Py_buffer* view, int flags):
        PyBuffer_FillInfo(view, self, self.data, self.size, not self.writable, flags)


cdef PooledBytes _pooled(Py_ssize_t n):
    cdef PooledBytes out = PooledBytes.__new__(PooledBytes)
    if n < 0:
        raise ValueError(f"bad size: {n} bytes")
    out.data = <uint8_t*>buf_alloc(<size_t>n if n > 0 else 1, 0)
    if out.data == NULL:
        raise MemoryError()
    out.size = n
    return out


def pooled_scratch(Py_ssize_t n):
    """A writable `PooledBytes` of `n` bytes, not zeroed.

    For a decoding thread's large scratch (where records start): freed, a large
    Python object returned to glibc raises its mmap threshold, and later buffers
    of that size then come from the thread's arena, whose top ``malloc_trim``
    never gives back; the pool's buffers are their own mappings.
    """
    cdef PooledBytes out = _pooled(n)
    out.writable = True
    return out


def pread_pooled(int fd, Py_ssize_t n, int64_t offset):
    """Read up to `n` bytes of file descriptor `fd` from `offset` (fewer only at the
    end of the file) into a `PooledBytes`, without the GIL.

    Raises
    ------
    OSError
        From the system call (interrupted calls are retried; ``ENOSYS`` on Windows).
    """
    cdef int err = 0
    if n < 0 or offset < 0:
        raise ValueError(f"bad read: {n} bytes at {offset}")
    cdef PooledBytes out = _pooled(n)
    with nogil:
        out.size = <Py_ssize_t>jl_pread(fd, out.data, <size_t>n, offset, &err)
    if err:
        raise OSError(err, strerror(err))
    return out
