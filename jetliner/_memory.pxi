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


cdef extern from "_mapped.h":
    int jl_map_file(int fd, int64_t offset, size_t n, const uint8_t** data, void** base,
                    size_t* length, int* slot) nogil
    void jl_unmap_file(void* base, size_t length, int slot) nogil
    int jl_map_shrunk(int slot) nogil
    int jl_map_count() nogil


cdef class MappedBytes:
    """Bytes of a local file, mapped read-only (buffer protocol; see `map_file`)."""

    cdef const uint8_t* data
    cdef void* base
    cdef size_t length
    cdef int slot
    cdef Py_ssize_t size

    def __dealloc__(self):
        if self.base != NULL:
            jl_unmap_file(self.base, self.length, self.slot)

    def __len__(self):
        return self.size

    def __getbuffer__(self, Py_buffer* view, int flags):
        PyBuffer_FillInfo(view, self, <void*>self.data, self.size, 1, flags)

    @property
    def shrunk(self):
        """Whether the file was cut short while mapped: some of these bytes then read
        as zeros, not the file's, and must not be trusted.  (A page that lost only
        its tail stays mapped, its tail zeroed, without a fault: the file's size
        now tells that.)"""
        return jl_map_shrunk(self.slot) != 0


def map_file(int fd, Py_ssize_t n, int64_t offset):
    """Map `n` bytes of file descriptor `fd` from `offset` read-only, the pages the
    page cache holds mapped now and the others read now (without the GIL): a
    `MappedBytes`, or None where mapping does not apply (not Linux, a file not that
    long, not a regular file, mapping failed), and the caller reads instead.

    The page cache's pages are the bytes: nothing is copied.  A file cut short
    while mapped does not kill the process (see ``_mapped.h``): the pages it lost
    read as zeros and `MappedBytes.shrunk` says so.
    """
    cdef MappedBytes out = MappedBytes.__new__(MappedBytes)
    cdef int r
    if n <= 0 or offset < 0:
        return None
    with nogil:
        r = jl_map_file(fd, offset, <size_t>n, &out.data, &out.base, &out.length, &out.slot)
    if r != 0:
        return None  # (nothing of `out` was set: its dealloc unmaps nothing)
    out.size = n
    return out


def _mapped_files():
    """Live mappings of `map_file` (tests)."""
    return jl_map_count()


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
