# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Raw snappy decompression and its CRC32, without the GIL.

Avro's snappy codec is raw snappy (no framing) plus a CRC32.  cramjam holds the
GIL while it decompresses, which serialises the decoding threads; this
bounds-checked decompressor releases it, so blocks decompress in parallel.
Every read and write is checked against the input and the declared output size:
corrupt input raises `ValueError`, never reads or writes out of bounds.

The CRC32 (zlib's) is `_crc32.c`: carry-less multiplication folding where the CPU
has it, several times faster than `zlib.crc32`; `decompress_crc32` computes it over
the output in the same GIL-free stretch as the decompression, while the output is
still in the cache.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_FillInfo, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from posix.mman cimport MAP_ANONYMOUS, MAP_FAILED, MAP_PRIVATE, PROT_READ, PROT_WRITE, mmap, munmap


cdef extern from "_crc32.h":
    int JL_CRC32_NIMPL
    void jl_crc32_init()
    uint32_t jl_crc32(uint32_t crc, const uint8_t* buf, size_t len) noexcept nogil
    int jl_crc32_available(int impl)
    int jl_crc32_selected()
    const char* jl_crc32_name(int impl)
    uint32_t jl_crc32_with(int impl, uint32_t crc, const uint8_t* buf, size_t len) noexcept nogil


jl_crc32_init()  # picks the implementation for this CPU, once, under the GIL

# below this many bytes the CRC is quicker than releasing and taking back the GIL
cdef enum:
    CRC_NOGIL_MIN = 16384


# ---------------------------------------------------------------- block buffers
#
# Late materialisation holds a batch's decompressed blocks until its filter is
# evaluated (a batch of a wide file: tens of MB), then frees them together; the C
# heap gave that memory back to the system at once, and the next batch faulted
# every page in again: half of a selective query's time on a wide file.  Freed
# block buffers are kept for reuse instead, by power-of-two size class, up to
# `POOL_LIMIT` bytes; `release_pool` gives them back (when no reader has been open
# for a while).  The pool is only touched with the GIL held.

cdef enum:
    MIN_CLASS = 12  # 4 KiB
    NCLASS = 40     # classes up to 512 GiB; larger buffers are not pooled
    # From this class on a buffer is its own mapping, not the C heap's: freed from a
    # decoding thread's heap, large buffers stayed resident after the idle trim
    # (malloc_trim gives back only the main heap's top), megabytes a query
    MAP_CLASS = 16  # 64 KiB

cdef void* _pool_head[NCLASS]  # free buffers of each class, linked through their first bytes
cdef size_t _pool_bytes = 0
cdef size_t POOL_LIMIT = 64 << 20


cdef int _class_for(int64_t n) noexcept:
    cdef int k = MIN_CLASS
    while k < NCLASS and (<int64_t>1 << k) < n:
        k += 1
    return k if k < NCLASS else -1


cdef uint8_t* _fresh(int k) noexcept:
    """A new buffer of class `k` (NULL if out of memory)."""
    cdef void* p
    if k < MAP_CLASS:
        return <uint8_t*>malloc(<size_t>1 << k)
    p = mmap(NULL, <size_t>1 << k, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    return NULL if p == MAP_FAILED else <uint8_t*>p


cdef void _unmap(void* p, int k) noexcept:
    """Give back a buffer of class `k`."""
    if k < MAP_CLASS:
        free(p)
    else:
        munmap(p, <size_t>1 << k)


cdef uint8_t* _pool_alloc(int64_t n, int* cls) noexcept:
    """`n` bytes (at least one), from the pool when it has a buffer of their class."""
    global _pool_bytes
    cdef int k = _class_for(n if n > 0 else 1)
    cdef void* p
    cls[0] = k
    if k < 0:
        return <uint8_t*>malloc(n)
    p = _pool_head[k]
    if p != NULL:
        _pool_head[k] = (<void**>p)[0]
        _pool_bytes -= <size_t>1 << k
        return <uint8_t*>p
    return _fresh(k)


cdef void _pool_free(uint8_t* p, int cls) noexcept:
    global _pool_bytes
    if p == NULL:
        return
    if cls < 0:
        free(p)
        return
    if _pool_bytes + (<size_t>1 << cls) > POOL_LIMIT:
        _unmap(p, cls)
        return
    (<void**>p)[0] = _pool_head[cls]
    _pool_head[cls] = p
    _pool_bytes += <size_t>1 << cls


def release_pool():
    """Free the block buffers kept for reuse."""
    global _pool_bytes
    cdef int k
    cdef void* p
    for k in range(NCLASS):
        while _pool_head[k] != NULL:
            p = _pool_head[k]
            _pool_head[k] = (<void**>p)[0]
            _unmap(p, k)
    _pool_bytes = 0


def _pool_stats():
    """Bytes of block buffers kept for reuse (tests)."""
    return _pool_bytes


cdef class OwnedBuffer:
    """A read-only buffer over memory this object owns (back to the pool with it)."""

    cdef uint8_t* data
    cdef Py_ssize_t size
    cdef int cls  # its size class in the pool (-1: not pooled)

    def __dealloc__(self):
        _pool_free(self.data, self.cls)

    def __len__(self):
        return self.size

    def __getbuffer__(self, Py_buffer* view, int flags):
        PyBuffer_FillInfo(view, self, self.data, self.size, 1, flags)

    def __releasebuffer__(self, Py_buffer* view):
        pass


cdef int64_t uncompressed_length(const uint8_t* src, int64_t n, int64_t* used) noexcept nogil:
    cdef uint64_t result = 0
    cdef int shift = 0
    cdef int64_t i = 0
    cdef uint8_t b
    while i < n and i < 5:
        b = src[i]
        result |= (<uint64_t>(b & 0x7F)) << shift
        i += 1
        if b < 0x80:
            used[0] = i
            if result > <uint64_t>0xFFFFFFFFU:
                return -1
            return <int64_t>result
        shift += 7
    return -1


cdef int snappy_raw(const uint8_t* src, int64_t n, uint8_t* dst, int64_t dlen) noexcept nogil:
    """Decompress the snappy elements in `src` into exactly `dlen` bytes of `dst`."""
    cdef int64_t ip = 0, op = 0, ln, off, i, nb
    cdef uint8_t tag
    cdef int t
    while ip < n:
        tag = src[ip]
        ip += 1
        t = tag & 3
        if t == 0:
            ln = tag >> 2
            if ln >= 60:
                nb = ln - 59
                if ip + nb > n:
                    return -1
                ln = 0
                for i in range(nb):
                    ln |= (<int64_t>src[ip + i]) << (8 * i)
                ip += nb
            ln += 1
            if ln > n - ip or ln > dlen - op:
                return -1
            memcpy(dst + op, src + ip, ln)
            ip += ln
            op += ln
            continue
        if t == 1:
            if ip >= n:
                return -1
            ln = 4 + ((tag >> 2) & 7)
            off = ((<int64_t>(tag >> 5)) << 8) | src[ip]
            ip += 1
        elif t == 2:
            if ip + 2 > n:
                return -1
            ln = (tag >> 2) + 1
            off = src[ip] | ((<int64_t>src[ip + 1]) << 8)
            ip += 2
        else:
            if ip + 4 > n:
                return -1
            ln = (tag >> 2) + 1
            off = (src[ip] | ((<int64_t>src[ip + 1]) << 8) | ((<int64_t>src[ip + 2]) << 16)
                   | ((<int64_t>src[ip + 3]) << 24))
            ip += 4
        if off == 0 or off > op or ln > dlen - op:
            return -1
        if off >= ln:
            memcpy(dst + op, dst + op - off, ln)
        else:
            # overlapping copy: a repeating pattern
            for i in range(ln):
                dst[op + i] = dst[op - off + i]
        op += ln
    return 0 if op == dlen else -1


cdef OwnedBuffer decompress_into(data, int64_t max_size, bint crc, uint32_t* value):
    """Decompress raw snappy `data` (see `decompress_raw`); with `crc`, its CRC32 too."""
    cdef Py_buffer view
    cdef int64_t used = 0, dlen
    cdef int rc
    cdef OwnedBuffer out = OwnedBuffer.__new__(OwnedBuffer)
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        dlen = uncompressed_length(<const uint8_t*>view.buf, view.len, &used)
        if dlen < 0:
            raise ValueError("invalid snappy data: bad length preamble")
        if dlen > max_size:
            raise ValueError("too big")
        out.data = _pool_alloc(dlen, &out.cls)
        if out.data == NULL:
            raise MemoryError()
        out.size = dlen
        with nogil:
            rc = snappy_raw(<const uint8_t*>view.buf + used, view.len - used, out.data, dlen)
            if rc == 0 and crc:
                value[0] = jl_crc32(0, out.data, <size_t>dlen)
        if rc != 0:
            raise ValueError("invalid snappy data: a literal or copy runs outside the block "
                             "or the declared size")
        return out
    finally:
        PyBuffer_Release(&view)


def decompress_blocks(blocks, int64_t max_size, offsets):
    """Decompress Avro snappy blocks (raw snappy and a big-endian CRC32 each) into one
    buffer, one after the other, in one GIL-free stretch.

    The blocks' decompressed sizes, each at most `max_size`, go into `offsets` (an
    ``array("q")``, emptied first) as the running total: block i is
    ``out[offsets[i]:offsets[i + 1]]``.  Returns the buffer, or None if a block is
    damaged in any way (too short, a bad preamble or element, too big, a CRC that
    does not match): its caller then decompresses block by block, which names the
    damage.
    """
    cdef Py_ssize_t n = len(blocks), i
    cdef Py_buffer* views = <Py_buffer*>malloc(max(n, 1) * sizeof(Py_buffer))
    cdef int64_t* ends = <int64_t*>malloc((n + 1) * sizeof(int64_t))
    cdef int64_t* used = <int64_t*>malloc(max(n, 1) * sizeof(int64_t))
    cdef Py_ssize_t held = 0
    cdef int64_t total = 0, dlen
    cdef const uint8_t* src
    cdef uint32_t want
    cdef int bad = 0
    cdef OwnedBuffer out
    try:
        if views == NULL or ends == NULL or used == NULL:
            raise MemoryError()
        ends[0] = 0
        for i in range(n):
            PyObject_GetBuffer(blocks[i], &views[i], PyBUF_SIMPLE)
            held += 1
            if views[i].len < 4:
                return None
            dlen = uncompressed_length(<const uint8_t*>views[i].buf, views[i].len - 4, &used[i])
            if dlen < 0 or dlen > max_size:
                return None
            total += dlen
            ends[i + 1] = total
        out = OwnedBuffer.__new__(OwnedBuffer)
        out.data = _pool_alloc(total, &out.cls)
        if out.data == NULL:
            raise MemoryError()
        out.size = total
        with nogil:
            for i in range(n):
                src = <const uint8_t*>views[i].buf
                if snappy_raw(src + used[i], views[i].len - 4 - used[i], out.data + ends[i],
                              ends[i + 1] - ends[i]) != 0:
                    bad = 1
                    break
                want = ((<uint32_t>src[views[i].len - 4] << 24)
                        | (<uint32_t>src[views[i].len - 3] << 16)
                        | (<uint32_t>src[views[i].len - 2] << 8) | src[views[i].len - 1])
                if jl_crc32(0, out.data + ends[i], <size_t>(ends[i + 1] - ends[i])) != want:
                    bad = 1
                    break
        if bad:
            return None
        del offsets[:]
        for i in range(n + 1):
            offsets.append(ends[i])
        return out
    finally:
        for i in range(held):
            PyBuffer_Release(&views[i])
        free(views)
        free(ends)
        free(used)


def decompress_raw(data, int64_t max_size):
    """Decompress raw snappy `data`; the output may not exceed `max_size` bytes.

    Returns
    -------
    OwnedBuffer
        The decompressed bytes (a buffer-protocol object).

    Raises
    ------
    ValueError
        ``"too big"`` when the declared size exceeds `max_size`, otherwise a
        description of the corruption.
    """
    return decompress_into(data, max_size, False, NULL)


def decompress_crc32(data, int64_t max_size):
    """Decompress raw snappy `data` and compute the CRC32 of the output, in one go.

    The CRC is computed without the GIL, right after the decompression, while the
    output is still in the cache.

    Returns
    -------
    tuple[OwnedBuffer, int]
        The decompressed bytes and their CRC32 (as ``zlib.crc32`` gives it).

    Raises
    ------
    ValueError
        As `decompress_raw`.
    """
    cdef uint32_t value = 0
    out = decompress_into(data, max_size, True, &value)
    return out, value


def crc32(data, uint32_t value=0):
    """The CRC32 of `data`, continuing from `value`: what ``zlib.crc32`` returns.

    Parameters
    ----------
    data
        Any object of the buffer protocol (bytes, memoryview, ...).
    value
        The CRC of the bytes before `data` (0 to start).

    Returns
    -------
    int
        The CRC32, from 0 to 2**32 - 1.
    """
    return _crc32_impl(-1, data, value)


def crc32_implementations():
    """The CRC32 implementations this CPU can run, fastest last; `crc32` uses the last."""
    return [jl_crc32_name(i).decode() for i in range(JL_CRC32_NIMPL) if jl_crc32_available(i)]


def crc32_with(str name, data, uint32_t value=0):
    """`crc32` by one named implementation (tests and measurements)."""
    for i in range(JL_CRC32_NIMPL):
        if jl_crc32_available(i) and jl_crc32_name(i).decode() == name:
            return _crc32_impl(i, data, value)
    raise ValueError(f"no CRC32 implementation {name!r} on this CPU; "
                     f"available: {', '.join(crc32_implementations())}")


cdef uint32_t _crc32_impl(int impl, data, uint32_t value) except? 0:
    cdef Py_buffer view
    cdef const uint8_t* buf
    cdef size_t n
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        buf = <const uint8_t*>view.buf
        n = <size_t>view.len
        if impl < 0:
            impl = jl_crc32_selected()
        if n < CRC_NOGIL_MIN:
            return jl_crc32_with(impl, value, buf, n)
        with nogil:
            value = jl_crc32_with(impl, value, buf, n)
        return value
    finally:
        PyBuffer_Release(&view)
