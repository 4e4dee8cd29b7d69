# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Raw snappy decompression without the GIL.

Avro's snappy codec is raw snappy (no framing) plus a CRC32.  cramjam holds the
GIL while it decompresses, which serialises the decoding threads; this
bounds-checked decompressor releases it, so blocks decompress in parallel.
Every read and write is checked against the input and the declared output size:
corrupt input raises `ValueError`, never reads or writes out of bounds.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_FillInfo, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy


cdef class OwnedBuffer:
    """A read-only buffer over memory this object owns (freed with it)."""

    cdef uint8_t* data
    cdef Py_ssize_t size

    def __dealloc__(self):
        free(self.data)

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
        out.data = <uint8_t*>malloc(dlen if dlen > 0 else 1)
        if out.data == NULL:
            raise MemoryError()
        out.size = dlen
        with nogil:
            rc = snappy_raw(<const uint8_t*>view.buf + used, view.len - used, out.data, dlen)
        if rc != 0:
            raise ValueError("invalid snappy data: a literal or copy runs outside the block "
                             "or the declared size")
        return out
    finally:
        PyBuffer_Release(&view)
