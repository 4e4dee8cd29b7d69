# cython: language_level=3, boundscheck=False, wraparound=False
"""Block framing of the Avro container, compiled: one call frames every complete
block in a window of bytes (count, size, payload, sync check), so the cost per
block is a few nanoseconds instead of a Python loop iteration.  The varints are
read with the decoder's own (``jetliner/_cursor.pxd``), as are the header's."""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport INT64_MAX, int64_t, uint8_t
from libc.string cimport memcmp

from jetliner._cursor cimport Cur, read_long
from jetliner._plan cimport E_EOF, E_OK

# Status codes returned with the position where framing stopped.
OK = 0            # the window ends exactly after a block
NEED_MORE = 1     # the next block is incomplete in this window: `needed` says how much
BAD_VARINT = 2
NEG_COUNT = 3
NEG_SIZE = 4
BAD_SYNC = 5


def read_long_at(data, Py_ssize_t offset):
    """Decode the zig-zag varint at `offset` of `data` (the container header's integers).

    Returns ``(status, value, next_offset)``: `OK`, or `NEED_MORE` when `data` ends
    inside the varint, or `BAD_VARINT` when it is longer than 10 bytes or overflows
    64 bits (`value` and `next_offset` are then 0 and `offset`).
    """
    cdef Py_buffer view
    cdef Cur c
    cdef int64_t v = 0
    cdef int r
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        if offset < 0:
            raise ValueError("negative offset")
        if offset >= view.len:
            return NEED_MORE, 0, offset
        c.start = <const uint8_t*>view.buf
        c.p = c.start + offset
        c.end = c.start + view.len
        r = read_long(&c, &v)
        if r == E_EOF:
            return NEED_MORE, 0, offset
        if r != E_OK:
            return BAD_VARINT, 0, offset
        return OK, v, c.p - c.start
    finally:
        PyBuffer_Release(&view)


def frame_window(window, int64_t base, bytes sync, list out):
    """Frame the blocks of `window`, whose first byte is file offset `base` and the
    start of a block, appending ``(offset, count, data_start, data_len)`` to `out`.

    Returns ``(status, pos, needed)``: where framing stopped and, for
    `NEED_MORE`, how many bytes from `pos` the next block needs (0 if unknown).
    """
    cdef Py_buffer view
    cdef const uint8_t* start
    cdef const uint8_t* end
    cdef const uint8_t* p
    cdef const uint8_t* q
    cdef const uint8_t* s = <const uint8_t*>(<const char*>sync)
    cdef int64_t count, size
    cdef int r
    cdef Cur c
    PyObject_GetBuffer(window, &view, PyBUF_SIMPLE)
    try:
        start = <const uint8_t*>view.buf
        end = start + view.len
        p = start
        c.start = start
        c.end = end
        while p < end:
            c.p = p
            r = read_long(&c, &count)
            if r == E_OK:
                r = read_long(&c, &size)
            if r == E_EOF:
                return NEED_MORE, base + (p - start), 0
            if r != E_OK:
                return BAD_VARINT, base + (p - start), 0
            q = c.p
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
            p = q + size + 16
        return OK, base + (p - start), 0
    finally:
        PyBuffer_Release(&view)
