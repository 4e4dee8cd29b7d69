# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Raw snappy compression without the GIL, for Avro's snappy codec when writing.

The output is snappy's block format without framing: the uncompressed length as a
little-endian base-128 varint, then a sequence of elements, each a literal (bytes
copied as they are) or a copy (bytes repeated from earlier in the output).  The
input is cut into fragments of at most 64 KiB that are compressed independently:
a copy never reaches back across a fragment's start, so every offset fits in two
bytes and a hash table of 16-bit positions serves a whole fragment.

Matches are found greedily: each position's next four bytes are hashed into the
table, which remembers the last position with that hash; when the four bytes at
that position are equal, the match is extended as far as it goes and emitted as a
copy.  Where nothing matches, the search steps further ahead the longer it has gone
without a match, so incompressible data passes through at little more than the cost
of copying it.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset


cdef extern from "_bits.h":
    int jl_ctz64(unsigned long long x) noexcept nogil


cdef enum:
    # element tags: the low two bits of an element's first byte
    TAG_LITERAL = 0
    TAG_COPY_1 = 1        # length 4..11, offset below 2048 (11 bits)
    TAG_COPY_2 = 2        # length 1..64, offset below 65536
    # (TAG_COPY_4, with a four-byte offset, is never needed: fragments are 64 KiB)
    FRAGMENT = 1 << 16    # the largest fragment compressed on its own
    MAX_TABLE_BITS = 14   # hash table of up to 16384 positions
    MIN_TABLE_BITS = 8
    # No match search starts within this many bytes of a fragment's end: the
    # search reads four bytes at a time and the match extension eight, and what is
    # left at the end is emitted as one literal.
    INPUT_MARGIN = 15
    # A fragment this short is one literal (too short to search for matches in).
    MIN_SEARCHED = INPUT_MARGIN + 2
    HASH_MULTIPLIER = 0x1E35A7BD


cdef uint64_t MAX_INPUT = 0xFFFFFFFF  # the length varint states a 32-bit value


cdef inline uint32_t load32(const uint8_t* p) noexcept nogil:
    cdef uint32_t v
    memcpy(&v, p, 4)  # an unaligned little-endian load, one instruction once compiled
    return v


cdef inline uint64_t load64(const uint8_t* p) noexcept nogil:
    cdef uint64_t v
    memcpy(&v, p, 8)
    return v


cdef inline uint32_t hash4(uint32_t v, int shift) noexcept nogil:
    return (v * <uint32_t>HASH_MULTIPLIER) >> shift


cdef inline Py_ssize_t match_length(const uint8_t* s1, const uint8_t* s2,
                                    const uint8_t* limit) noexcept nogil:
    """How many bytes at `s1` equal those at `s2` (`s1` < `s2`), reading `s2` below `limit`."""
    cdef const uint8_t* start = s2
    cdef uint64_t x
    while limit - s2 >= 8:
        x = load64(s1) ^ load64(s2)
        if x != 0:
            # the first differing byte is the lowest non-zero byte (little-endian)
            return (s2 - start) + (jl_ctz64(x) >> 3)
        s1 += 8
        s2 += 8
    while s2 < limit and s1[0] == s2[0]:
        s1 += 1
        s2 += 1
    return s2 - start


cdef inline uint8_t* emit_literal(uint8_t* op, const uint8_t* literal,
                                  Py_ssize_t n) noexcept nogil:
    """A literal of `n` >= 1 bytes: the tag holds n - 1 below 60, else 1-4 bytes after it do."""
    cdef Py_ssize_t m = n - 1
    cdef int count
    if m < 60:
        op[0] = <uint8_t>((m << 2) | TAG_LITERAL)
        op += 1
    else:
        count = 1 if m < (1 << 8) else 2 if m < (1 << 16) else 3 if m < (1 << 24) else 4
        op[0] = <uint8_t>(((59 + count) << 2) | TAG_LITERAL)
        op[1] = <uint8_t>(m & 0xFF)
        op[2] = <uint8_t>((m >> 8) & 0xFF)
        op[3] = <uint8_t>((m >> 16) & 0xFF)
        op[4] = <uint8_t>((m >> 24) & 0xFF)  # written always, kept only up to `count`
        op += 1 + count
    memcpy(op, literal, n)
    return op + n


cdef inline uint8_t* emit_copy_2(uint8_t* op, Py_ssize_t offset, Py_ssize_t length) noexcept nogil:
    op[0] = <uint8_t>(((length - 1) << 2) | TAG_COPY_2)
    op[1] = <uint8_t>(offset & 0xFF)
    op[2] = <uint8_t>(offset >> 8)
    return op + 3


cdef inline uint8_t* emit_copy(uint8_t* op, Py_ssize_t offset, Py_ssize_t length) noexcept nogil:
    """A copy of `length` >= 4 bytes from `offset` (1..65535) bytes back, in elements of <= 64."""
    while length >= 68:
        op = emit_copy_2(op, offset, 64)
        length -= 64
    if length > 64:  # 65..67: split so that the last piece keeps at least 4 bytes
        op = emit_copy_2(op, offset, 60)
        length -= 60
    if length < 12 and offset < 2048:
        op[0] = <uint8_t>(((offset >> 8) << 5) | ((length - 4) << 2) | TAG_COPY_1)
        op[1] = <uint8_t>(offset & 0xFF)
        return op + 2
    return emit_copy_2(op, offset, length)


cdef uint8_t* compress_fragment(const uint8_t* src, Py_ssize_t n, uint8_t* op,
                                uint16_t* table) noexcept nogil:
    """Compress the `n` <= 64 KiB bytes at `src` into `op`; return the new end of the output."""
    cdef const uint8_t* end = src + n
    cdef const uint8_t* ip_limit = end - INPUT_MARGIN
    cdef const uint8_t* ip = src
    cdef const uint8_t* next_ip
    cdef const uint8_t* next_emit = src
    cdef const uint8_t* candidate
    cdef const uint8_t* base
    cdef int bits = MIN_TABLE_BITS, shift
    cdef uint32_t h, next_hash, skip, step
    cdef bint done = False
    if n < MIN_SEARCHED:
        return emit_literal(op, src, n) if n > 0 else op
    while bits < MAX_TABLE_BITS and (1 << bits) < n:
        bits += 1
    shift = 32 - bits
    memset(table, 0, sizeof(uint16_t) << bits)

    ip += 1
    next_hash = hash4(load32(ip), shift)
    while not done:
        # Look for a position whose four bytes match those at a remembered position.
        # After 32 misses, look at every other byte, and so on, ever faster.
        skip = 32
        next_ip = ip
        while True:
            ip = next_ip
            h = next_hash
            step = skip >> 5
            skip += step
            next_ip = ip + step
            if next_ip > ip_limit:
                done = True
                break
            next_hash = hash4(load32(next_ip), shift)
            candidate = src + table[h]
            table[h] = <uint16_t>(ip - src)
            if load32(ip) == load32(candidate):
                break
        if done:
            break

        # The bytes before the match are a literal; then copies for as long as the
        # position right after each one starts another match.
        op = emit_literal(op, next_emit, ip - next_emit)
        while True:
            base = ip
            ip += 4 + match_length(candidate + 4, ip + 4, end)
            op = emit_copy(op, base - candidate, ip - base)
            next_emit = ip
            if ip >= ip_limit:
                done = True
                break
            # remember the position before the new one (the match covered it), then
            # see whether the new one matches straight away
            table[hash4(load32(ip - 1), shift)] = <uint16_t>(ip - 1 - src)
            h = hash4(load32(ip), shift)
            candidate = src + table[h]
            table[h] = <uint16_t>(ip - src)
            if load32(ip) != load32(candidate):
                break
        if done:
            break
        ip += 1
        next_hash = hash4(load32(ip), shift)

    if next_emit < end:
        op = emit_literal(op, next_emit, end - next_emit)
    return op


cdef Py_ssize_t compress_all(const uint8_t* src, Py_ssize_t n, uint8_t* dst) noexcept nogil:
    """The length varint, then each fragment in turn; return the number of bytes written."""
    cdef uint8_t* op = dst
    cdef uint64_t v = <uint64_t>n
    cdef Py_ssize_t start = 0, size
    cdef uint16_t table[1 << MAX_TABLE_BITS]
    while v >= 0x80:
        op[0] = <uint8_t>((v & 0x7F) | 0x80)
        op += 1
        v >>= 7
    op[0] = <uint8_t>v
    op += 1
    while start < n:
        size = n - start if n - start < FRAGMENT else FRAGMENT
        op = compress_fragment(src + start, size, op, table)
        start += size
    return op - dst


def max_compressed_length(Py_ssize_t n):
    """The most bytes that `compress_raw` writes for `n` input bytes."""
    return 32 + n + n // 6


def compress_raw(data):
    """Compress `data` (any contiguous buffer) to raw snappy, without framing.

    Parameters
    ----------
    data
        The bytes to compress: ``bytes``, ``bytearray``, ``memoryview`` or any
        object with the buffer protocol; read in place, not copied.

    Returns
    -------
    bytes
        The uncompressed length as a varint, then snappy's literal and copy
        elements.

    Raises
    ------
    ValueError
        When `data` holds more than 4 GiB - 1 bytes (the most that snappy's length
        preamble can state).
    """
    cdef bytearray out = bytearray()
    cdef Py_ssize_t written = compress_into(data, out)
    del out[written:]
    return bytes(out)


def compress_into(data, bytearray out):
    """Compress `data` to raw snappy (as `compress_raw`) into `out`, from its start.

    `out` grows to `max_compressed_length` bytes if it is shorter (it is not
    shrunk: a writer reuses it from block to block, so that its pages stay
    mapped).  Returns the number of bytes written.

    Raises
    ------
    ValueError
        As `compress_raw`.
    BufferError
        When `out` must grow while a view of it is held.
    """
    cdef Py_buffer view
    cdef Py_buffer dst
    cdef Py_ssize_t n, written
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        n = view.len
        if <uint64_t>n > MAX_INPUT:
            raise ValueError(f"snappy compresses at most {MAX_INPUT} bytes at once, "
                             f"found {n}: compress smaller blocks")
        if len(out) < 32 + n + n // 6:
            out.extend(bytes(32 + n + n // 6 - len(out)))
        PyObject_GetBuffer(out, &dst, PyBUF_WRITABLE)  # held: no resize meanwhile
        try:
            with nogil:
                written = compress_all(<const uint8_t*>view.buf, n, <uint8_t*>dst.buf)
        finally:
            PyBuffer_Release(&dst)
        return written
    finally:
        PyBuffer_Release(&view)
