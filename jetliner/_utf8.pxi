# UTF-8 validation: whether a string value's bytes are valid UTF-8 (ASCII checked
# eight bytes at a time first), and where an invalid sequence starts and ends (for
# reading it with U+FFFD in its place).
# Included by _decoder.pyx (see the note there on why an include, not a module).


cdef inline int utf8_valid(const uint8_t* s, int64_t n) noexcept nogil:
    return is_ascii(s, n) or utf8_valid_len(s, n) == n


cdef inline bint is_ascii(const uint8_t* s, int64_t n) noexcept nogil:
    """True if no byte of `s` has its high bit set: 8 bytes at a time, the last 8
    overlapping the ones before them."""
    cdef uint64_t acc = 0
    cdef uint64_t w
    cdef int64_t i = 0
    if n < 8:
        while i < n:
            acc |= s[i]
            i += 1
        return (acc & 0x80) == 0
    while i + 8 <= n:
        memcpy(&w, s + i, 8)
        acc |= w
        i += 8
    if i < n:
        memcpy(&w, s + n - 8, 8)
        acc |= w
    return (acc & 0x8080808080808080ULL) == 0


cdef int64_t utf8_valid_len(const uint8_t* s, int64_t n) noexcept nogil:
    """Length of the longest prefix of `s` made of whole, valid UTF-8 sequences."""
    cdef int64_t i = 0
    cdef uint64_t w
    cdef uint8_t b0, b1, b2, b3
    while i < n:
        if i + 8 <= n:
            memcpy(&w, s + i, 8)
            if (w & 0x8080808080808080ULL) == 0:
                i += 8
                continue
        b0 = s[i]
        if b0 < 0x80:
            i += 1
        elif b0 < 0xC2:
            return i
        elif b0 < 0xE0:
            if i + 1 >= n or (s[i + 1] & 0xC0) != 0x80:
                return i
            i += 2
        elif b0 < 0xF0:
            if i + 2 >= n:
                return i
            b1 = s[i + 1]
            b2 = s[i + 2]
            if (b1 & 0xC0) != 0x80 or (b2 & 0xC0) != 0x80:
                return i
            if b0 == 0xE0 and b1 < 0xA0:
                return i
            if b0 == 0xED and b1 >= 0xA0:
                return i
            i += 3
        elif b0 < 0xF5:
            if i + 3 >= n:
                return i
            b1 = s[i + 1]
            b2 = s[i + 2]
            b3 = s[i + 3]
            if (b1 & 0xC0) != 0x80 or (b2 & 0xC0) != 0x80 or (b3 & 0xC0) != 0x80:
                return i
            if b0 == 0xF0 and b1 < 0x90:
                return i
            if b0 == 0xF4 and b1 >= 0x90:
                return i
            i += 4
        else:
            return i
    return n


cdef int64_t utf8_bad_len(const uint8_t* s, int64_t n) noexcept nogil:
    """At the start of an invalid sequence: the length of its maximal valid-looking
    prefix (1 to 3 bytes), which one U+FFFD replaces (as Python's "replace" does)."""
    cdef uint8_t b0 = s[0]
    cdef uint8_t lo, hi
    if b0 < 0xC2 or b0 >= 0xF5 or n < 2 or b0 < 0xE0:
        return 1
    if b0 < 0xF0:
        lo = 0xA0 if b0 == 0xE0 else 0x80
        hi = 0x9F if b0 == 0xED else 0xBF
        return 1 if (s[1] < lo or s[1] > hi) else 2
    lo = 0x90 if b0 == 0xF0 else 0x80
    hi = 0x8F if b0 == 0xF4 else 0xBF
    if s[1] < lo or s[1] > hi:
        return 1
    if n < 3 or (s[2] & 0xC0) != 0x80:
        return 2
    return 3
