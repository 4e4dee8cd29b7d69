# The bounds-checked cursor over a block, and every read of Avro's variable-length
# integers through it: zig-zag varints (the one implementation, shared by the decoder
# and the block framing), ints, lengths and fixed-size spans.  Each read checks the
# cursor's end and returns an ErrorCode (E_OK, E_EOF, E_VARINT, ...); on failure the
# cursor has not moved.

from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.string cimport memcpy

from jetliner._plan cimport E_EOF, E_INT_RANGE, E_NEG_LEN, E_OK, E_VARINT


cdef extern from "_bits.h":
    int jl_ctz64(unsigned long long x) noexcept nogil
    int jl_skip_varints(const unsigned char* p, int m, unsigned ints, int* k) noexcept nogil
    void jl_prefetch(const void* p) noexcept nogil


cdef struct Cur:
    const uint8_t* start  # the buffer's first byte (offsets in errors count from here)
    const uint8_t* p      # the next byte to read
    const uint8_t* end    # one past the last readable byte


cdef inline int read_long(Cur* c, int64_t* out) noexcept nogil:
    """A zig-zag varint of up to 10 bytes (Avro's int and long)."""
    cdef uint64_t result = 0
    cdef uint64_t b, w, stop
    cdef int shift = 0
    cdef int nbytes
    cdef const uint8_t* p = c.p
    if c.end - p >= 10:
        # up to 8 bytes at once: find the last byte (high bit clear), keep the 7-bit
        # groups before it and pack them (little-endian load)
        memcpy(&w, p, 8)
        stop = ~w & 0x8080808080808080ULL
        if stop != 0:
            nbytes = (jl_ctz64(stop) >> 3) + 1
            if nbytes < 8:
                w &= ((<uint64_t>1) << (8 * nbytes)) - 1
            w &= 0x7F7F7F7F7F7F7F7FULL
            w = ((w & 0x7F007F007F007F00ULL) >> 1) | (w & 0x007F007F007F007FULL)
            w = ((w & 0x3FFF00003FFF0000ULL) >> 2) | (w & 0x00003FFF00003FFFULL)
            w = ((w & 0x0FFFFFFF00000000ULL) >> 4) | (w & 0x000000000FFFFFFFULL)
            c.p = p + nbytes
            out[0] = <int64_t>(w >> 1) ^ -(<int64_t>(w & 1))
            return E_OK
        while True:
            b = p[0]
            p += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
            if shift == 63:
                b = p[0]
                p += 1
                if b > 1:
                    return E_VARINT
                result |= b << 63
                break
    else:
        while True:
            if p >= c.end:
                return E_EOF
            b = p[0]
            p += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
            if shift == 63:
                if p >= c.end:
                    return E_EOF
                b = p[0]
                p += 1
                if b > 1:
                    return E_VARINT
                result |= b << 63
                break
    c.p = p
    out[0] = <int64_t>(result >> 1) ^ -(<int64_t>(result & 1))
    return E_OK


cdef inline int read_varint(Cur* c, int64_t* out) noexcept nogil:
    """`read_long`, with values of up to three bytes (lengths, counts, indices, numbers
    below a million) decoded here, small enough to be inlined into the callers' loops."""
    cdef const uint8_t* p = c.p
    cdef uint64_t u
    if c.end - p >= 3:
        u = p[0]
        if u < 0x80:
            c.p = p + 1
            out[0] = <int64_t>(u >> 1) ^ -(<int64_t>(u & 1))
            return E_OK
        u = (u & 0x7F) | ((<uint64_t>p[1] & 0x7F) << 7)
        if p[1] < 0x80:
            c.p = p + 2
            out[0] = <int64_t>(u >> 1) ^ -(<int64_t>(u & 1))
            return E_OK
        if p[2] < 0x80:
            u |= <uint64_t>p[2] << 14
            c.p = p + 3
            out[0] = <int64_t>(u >> 1) ^ -(<int64_t>(u & 1))
            return E_OK
    return read_long(c, out)


cdef inline int skip_long(Cur* c) noexcept nogil:
    """Step over a zig-zag varint with the checks of `read_long`, without its value."""
    cdef uint64_t w, stop
    cdef int64_t v
    if c.end - c.p >= 10:
        memcpy(&w, c.p, 8)
        stop = ~w & 0x8080808080808080ULL
        if stop != 0:
            c.p += (jl_ctz64(stop) >> 3) + 1
            return E_OK
    return read_long(c, &v)


cdef inline int read_int(Cur* c, int64_t* out) noexcept nogil:
    cdef int r = read_varint(c, out)
    if r != E_OK:
        return r
    if out[0] < -2147483648 or out[0] > 2147483647:
        return E_INT_RANGE
    return E_OK


cdef inline int read_len(Cur* c, int64_t* out) noexcept nogil:
    """Read a byte-length prefix and check that the bytes are present."""
    cdef int r = read_varint(c, out)
    if r != E_OK:
        return r
    if out[0] < 0:
        return E_NEG_LEN
    if out[0] > c.end - c.p:
        return E_EOF
    return E_OK


cdef inline int need(Cur* c, int64_t n) noexcept nogil:
    """Check that `n` more bytes are present."""
    if n > c.end - c.p:
        return E_EOF
    return E_OK


cdef inline int read_span(Cur* c, int64_t fixed, int64_t* blen) noexcept nogil:
    """Size of a value that is `fixed` bytes (fixed >= 0) or length-prefixed (fixed < 0),
    checked to be present in the block."""
    if fixed >= 0:
        blen[0] = fixed
        return need(c, fixed)
    return read_len(c, blen)
