# cython: language_level=3, boundscheck=False, wraparound=False
"""Block framing of the Avro container, compiled: one call frames every complete
block in a window of bytes (count, size, payload, sync check), so the cost per
block is a few nanoseconds instead of a Python loop iteration."""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport INT64_MAX, int64_t, uint8_t, uint64_t
from libc.string cimport memcmp

# Status codes returned with the position where framing stopped.
OK = 0            # the window ends exactly after a block
NEED_MORE = 1     # the next block is incomplete in this window: `needed` says how much
BAD_VARINT = 2
NEG_COUNT = 3
NEG_SIZE = 4
BAD_SYNC = 5


cdef inline int varint(const uint8_t* p, const uint8_t* end, int64_t* out, const uint8_t** after) noexcept nogil:
    """0 ok, 1 truncated, 2 malformed."""
    cdef uint64_t result = 0
    cdef uint64_t b
    cdef int shift = 0
    while True:
        if p >= end:
            return 1
        b = p[0]
        p += 1
        if shift == 63 and b > 1:
            return 2
        result |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
        if shift > 63:
            return 2
    out[0] = <int64_t>(result >> 1) ^ -(<int64_t>(result & 1))
    after[0] = p
    return 0


def frame_window(window, int64_t base, int64_t pos, bytes sync, int64_t max_blocks, list out):
    """Frame blocks of `window` (whose first byte is file offset `base`) from file
    offset `pos`, appending ``(offset, count, data_start, data_len)`` to `out`.

    Returns ``(status, pos, needed)``: where framing stopped and, for
    `NEED_MORE`, how many bytes from `pos` the next block needs (0 if unknown).
    """
    cdef Py_buffer view
    cdef const uint8_t* start
    cdef const uint8_t* end
    cdef const uint8_t* p
    cdef const uint8_t* q
    cdef const uint8_t* s = <const uint8_t*>(<const char*>sync)
    cdef int64_t count, size, n = 0
    cdef int r
    PyObject_GetBuffer(window, &view, PyBUF_SIMPLE)
    try:
        start = <const uint8_t*>view.buf
        end = start + view.len
        p = start + (pos - base)
        while p < end and n < max_blocks:
            r = varint(p, end, &count, &q)
            if r == 0:
                r = varint(q, end, &size, &q)
            if r == 1:
                return NEED_MORE, base + (p - start), 0
            if r == 2:
                return BAD_VARINT, base + (p - start), 0
            if count < 0:
                return NEG_COUNT, base + (p - start), 0
            if size < 0:
                return NEG_SIZE, base + (p - start), 0
            if size > (end - q) - 16:
                # what the block needs from p; a size near 2^63 must not overflow
                if size > INT64_MAX - 64:
                    return NEED_MORE, base + (p - start), INT64_MAX
                return NEED_MORE, base + (p - start), (q - p) + size + 16
            if memcmp(q + size, s, 16) != 0:
                return BAD_SYNC, base + (q - start) + size, 0
            out.append((base + (p - start), count, base + (q - start), size))
            n += 1
            p = q + size + 16
        return OK, base + (p - start), 0
    finally:
        PyBuffer_Release(&view)
