# Values rendered as text into a string column: JSON (strings, numbers, the
# replacement of invalid UTF-8), the exact decimal text of a scaled big integer,
# and the hexadecimal digits of uuids.  The functions append to the value being
# built (see var_commit) and return 0, or -1 when out of memory.
# Included by _decoder.pyx (see the note there on why an include, not a module).


cdef int put_utf8_replaced(Col* out, const uint8_t* s, int64_t n, bint json) noexcept nogil:
    """Append `s` with each invalid sequence replaced by U+FFFD (as raw UTF-8, or, with
    `json`, as a quoted JSON string using the \\ufffd escape)."""
    cdef int64_t i = 0
    cdef int64_t k
    if json and var_put(out, <const uint8_t*>b"\"", 1) < 0:
        return -1
    while i < n:
        k = utf8_valid_len(s + i, n - i)
        if k > 0:
            if json:
                if var_ensure(out, k * 6) < 0:
                    return -1
                put_json_body(out, s + i, k, False)
            elif var_put(out, s + i, k) < 0:
                return -1
            i += k
        if i < n:
            if json:
                if var_put(out, <const uint8_t*>b"\\ufffd", 6) < 0:
                    return -1
            elif var_put(out, <const uint8_t*>b"\xef\xbf\xbd", 3) < 0:
                return -1
            i += utf8_bad_len(s + i, n - i)
    if json and var_put(out, <const uint8_t*>b"\"", 1) < 0:
        return -1
    return 0


cdef const char* HEX = b"0123456789abcdef"


cdef int put_json_string(Col* out, const uint8_t* s, int64_t n, bint latin1) noexcept nogil:
    """Append `s` as a quoted JSON string.  With `latin1`, every byte is one code point
    (the Avro JSON encoding of bytes and fixed)."""
    if var_ensure(out, n * 6 + 2) < 0:
        return -1
    out.data[out.dlen] = 34  # "
    out.dlen += 1
    put_json_body(out, s, n, latin1)
    out.data[out.dlen] = 34
    out.dlen += 1
    return 0


cdef void put_json_body(Col* out, const uint8_t* s, int64_t n, bint latin1) noexcept nogil:
    """Append `s` escaped for a JSON string; the caller ensured ``6 * n`` bytes of room."""
    cdef int64_t i
    cdef uint8_t ch
    for i in range(n):
        ch = s[i]
        if ch == 34 or ch == 92:
            out.data[out.dlen] = 92
            out.data[out.dlen + 1] = ch
            out.dlen += 2
        elif ch < 0x20 or (latin1 and ch >= 0x7F):
            out.data[out.dlen] = 92
            out.data[out.dlen + 1] = 117  # u
            out.data[out.dlen + 2] = 48
            out.data[out.dlen + 3] = 48
            out.data[out.dlen + 4] = HEX[ch >> 4]
            out.data[out.dlen + 5] = HEX[ch & 15]
            out.dlen += 6
        else:
            out.data[out.dlen] = ch
            out.dlen += 1


cdef int put_double(Col* out, double v, bint single) noexcept nogil:
    cdef char buf[40]
    cdef int n = 0
    cdef int prec
    if isnan(v):
        return var_put(out, <const uint8_t*>b"NaN", 3)
    if isinf(v):
        if v > 0:
            return var_put(out, <const uint8_t*>b"Infinity", 8)
        return var_put(out, <const uint8_t*>b"-Infinity", 9)
    # shortest representation that reads back to the same value
    for prec in range(6 if single else 15, 18):
        n = snprintf(buf, 40, "%.*g", prec, v)
        if single:
            if <float>strtod(buf, NULL) == <float>v:
                break
        elif strtod(buf, NULL) == v:
            break
    return var_put(out, <const uint8_t*>buf, n)


cdef int put_long(Col* out, int64_t v) noexcept nogil:
    cdef char buf[24]
    cdef int n = snprintf(buf, 24, "%lld", <long long>v)
    return var_put(out, <const uint8_t*>buf, n)


cdef int put_unscaled(Col* out, const uint8_t* be, int64_t n, int64_t scale, uint32_t* limbs) noexcept nogil:
    """Append the exact decimal text of a big-endian two's-complement integer scaled
    by 10**-scale.  `limbs` is scratch space of at least n/4+2 words."""
    cdef bint neg = n > 0 and (be[0] & 0x80) != 0
    cdef int64_t nl = (n + 3) // 4
    cdef int64_t i, j, k, top
    cdef uint64_t rem, cur
    cdef uint8_t byte
    cdef int64_t ndig = 0
    cdef int64_t start, intdigits
    cdef uint8_t* digits
    cdef uint8_t tmp
    # magnitude as little-endian base-2^32 limbs
    for i in range(nl):
        limbs[i] = 0
    for i in range(n):
        byte = be[n - 1 - i]
        if neg:
            byte = ~byte
        limbs[i >> 2] |= (<uint32_t>byte) << ((i & 3) * 8)
    if neg:  # two's complement: magnitude = ~x + 1
        for i in range(nl):
            if n - i * 4 < 4:
                limbs[i] &= (<uint32_t>1 << ((n - i * 4) * 8)) - 1
        for i in range(nl):
            limbs[i] += 1
            if limbs[i] != 0:
                break
    # digits, least significant first, 9 at a time
    if var_ensure(out, n * 3 + 16 + (scale if scale > 0 else -scale)) < 0:
        return -1
    start = out.dlen
    top = nl
    while top > 0 and limbs[top - 1] == 0:
        top -= 1
    while top > 0:
        rem = 0
        j = top - 1
        while j >= 0:
            cur = (rem << 32) | limbs[j]
            limbs[j] = <uint32_t>(cur // 1000000000)
            rem = cur % 1000000000
            j -= 1
        while top > 0 and limbs[top - 1] == 0:
            top -= 1
        for k in range(9):
            if top == 0 and rem == 0 and k > 0:
                break
            out.data[out.dlen] = <uint8_t>(48 + rem % 10)
            out.dlen += 1
            rem //= 10
    if out.dlen == start:
        out.data[out.dlen] = 48
        out.dlen += 1
    ndig = out.dlen - start
    digits = out.data + start
    # reverse into most-significant-first order
    i = 0
    j = ndig - 1
    while i < j:
        tmp = digits[i]
        digits[i] = digits[j]
        digits[j] = tmp
        i += 1
        j -= 1
    # now lay out sign, integer part, point, fraction
    if var_ensure(out, ndig + 4 + (scale if scale > 0 else -scale)) < 0:
        return -1
    digits = out.data + start
    if scale <= 0:
        if neg and not (ndig == 1 and digits[0] == 48):
            memmove(digits + 1, digits, ndig)
            digits[0] = 45
            out.dlen += 1
        if not (ndig == 1 and digits[0] == 48):
            for i in range(-scale):
                out.data[out.dlen] = 48
                out.dlen += 1
        return 0
    intdigits = ndig - scale
    if intdigits > 0:
        # d...d.ddd : move the fraction one to the right
        memmove(digits + intdigits + 1, digits + intdigits, scale)
        digits[intdigits] = 46
        out.dlen += 1
        if neg:
            memmove(digits + 1, digits, out.dlen - start)
            digits[0] = 45
            out.dlen += 1
    else:
        # 0.000ddd
        k = (1 if neg else 0) + 2 + (-intdigits)
        memmove(digits + k, digits, ndig)
        i = 0
        if neg:
            digits[0] = 45
            i = 1
        digits[i] = 48
        digits[i + 1] = 46
        for j in range(-intdigits):
            digits[i + 2 + j] = 48
        out.dlen += k
    return 0
