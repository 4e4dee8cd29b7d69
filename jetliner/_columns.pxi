# Column buffers: a column's memory (values, validity, offsets, Arrow string views
# and their data buffers) and every append to it.  All memory comes from the buffer
# allocator (_buffers.h).  The functions return 0, or -1 when out of memory (or when
# a string value outgrows the column's `max_value`).
# Included by _decoder.pyx (see the note there on why an include, not a module).


cdef struct Col:
    int32_t kind
    int32_t elem      # bytes per element for CK_FIXED
    int64_t length
    int64_t cap       # element capacity (data for FIXED, views for VAR, offsets-1 for LIST,
                      # bits for BOOL)
    int64_t null_count
    uint8_t* validity # NULL until the first null
    int64_t vcap      # validity capacity in bits
    uint8_t* data     # values (FIXED, BOOL); the open data buffer (VAR)
    int64_t dlen      # bytes used (CK_VAR)
    int64_t dcap      # bytes allocated (CK_VAR)
    int64_t vstart    # CK_VAR: where the value being appended starts in `data`
    uint8_t* views    # CK_VAR: 16-byte Arrow string views, one per value
    uint8_t** sealed  # CK_VAR: full data buffers, referenced by views as 0, 1, ...
    int64_t* sealed_len
    int32_t nsealed
    int64_t* offsets  # CK_LIST
    int64_t hint      # element capacity to allocate on first use
    int64_t dhint     # CK_VAR: data bytes to allocate on first use
    int64_t seal_at   # CK_VAR: seal the data buffer once it holds this many bytes (a
                      # view addresses its bytes with a 32-bit offset: at most 2 GiB)
    int64_t max_value # CK_VAR: the longest value, in bytes (a view's length is a
                      # signed 32-bit number: at most 2 GiB - 1)


cdef int col_grow(Col* c, int64_t need) noexcept nogil:
    """Ensure capacity for `need` elements in total."""
    cdef int64_t newcap = c.cap * 2 if c.cap > 0 else (c.hint if c.hint > 64 else 64)
    cdef void* p
    cdef int64_t nbytes
    while newcap < need:
        newcap *= 2
    if c.kind == CK_FIXED:
        p = buf_realloc(c.data, newcap * c.elem)
        if p == NULL:
            return -1
        c.data = <uint8_t*>p
    elif c.kind == CK_BOOL:
        nbytes = (newcap + 7) >> 3
        p = buf_realloc(c.data, nbytes)
        if p == NULL:
            return -1
        memset(<uint8_t*>p + ((c.cap + 7) >> 3), 0, nbytes - ((c.cap + 7) >> 3))
        c.data = <uint8_t*>p
    elif c.kind == CK_VAR:
        p = buf_realloc(c.views, newcap * 16)
        if p == NULL:
            return -1
        c.views = <uint8_t*>p
    elif c.kind == CK_LIST:
        p = buf_realloc(c.offsets, (newcap + 1) * sizeof(int64_t))
        if p == NULL:
            return -1
        if c.offsets == NULL:
            (<int64_t*>p)[0] = 0
        c.offsets = <int64_t*>p
    if c.validity != NULL:
        nbytes = (newcap + 7) >> 3
        p = buf_realloc(c.validity, nbytes)
        if p == NULL:
            return -1
        memset(<uint8_t*>p + ((c.vcap + 7) >> 3), 0, nbytes - ((c.vcap + 7) >> 3))
        c.validity = <uint8_t*>p
        c.vcap = newcap
    c.cap = newcap
    return 0


cdef inline int col_reserve(Col* c) noexcept nogil:
    if c.length >= c.cap or (c.offsets == NULL and c.kind == CK_LIST):
        return col_grow(c, c.length + 1)
    return 0


cdef inline void col_mark_valid(Col* c) noexcept nogil:
    if c.validity != NULL:
        c.validity[c.length >> 3] |= <uint8_t>(1 << (c.length & 7))


cdef int col_make_validity(Col* c) noexcept nogil:
    cdef int64_t nbytes = ((c.cap if c.cap > c.length + 1 else c.length + 1) + 7) >> 3
    cdef int64_t i
    c.validity = <uint8_t*>buf_alloc(nbytes, 1)
    if c.validity == NULL:
        return -1
    c.vcap = nbytes * 8
    # everything before the first null is valid
    memset(c.validity, 0xFF, c.length >> 3)
    for i in range((c.length >> 3) << 3, c.length):
        c.validity[i >> 3] |= <uint8_t>(1 << (i & 7))
    return 0


cdef inline int var_ensure(Col* c, int64_t extra) noexcept nogil:
    """Room for `extra` more bytes of the value being appended; -1 if out of memory or
    if the value would reach 2 GiB (more than an Arrow view can address)."""
    cdef int64_t need = c.dlen + extra
    cdef int64_t newcap
    cdef void* p
    if need <= c.dcap:
        return 0
    if need - c.vstart > c.max_value:
        return -1
    newcap = c.dcap * 2 if c.dcap > 0 else (c.dhint if c.dhint > 1024 else 1024)
    while newcap < need:
        newcap *= 2
    p = buf_realloc(c.data, newcap)
    if p == NULL:
        return -1
    c.data = <uint8_t*>p
    c.dcap = newcap
    return 0


cdef inline int var_put(Col* c, const uint8_t* src, int64_t n) noexcept nogil:
    if n == 0:
        return 0
    if var_ensure(c, n) < 0:
        return -1
    memcpy(c.data + c.dlen, src, n)
    c.dlen += n
    return 0


cdef inline int var_commit(Col* c) noexcept nogil:
    """Close the value being appended to a CK_VAR column (its bytes are already in
    ``data[vstart:dlen]``) by writing its Arrow view: values of up to 12 bytes live in
    the view itself (and leave the data buffer), longer ones are addressed by buffer
    index and offset, with their first 4 bytes as the view's prefix."""
    cdef int64_t n = c.dlen - c.vstart
    cdef uint8_t* v
    if n > c.max_value:  # (values built by many appends grow past var_ensure's check)
        return -1
    if col_reserve(c) < 0:
        return -1
    col_mark_valid(c)
    v = c.views + c.length * 16
    (<int32_t*>v)[0] = <int32_t>n
    if n <= 12:
        memset(v + 4, 0, 12)
        if n > 0:
            memcpy(v + 4, c.data + c.vstart, n)
        c.dlen = c.vstart
    else:
        memcpy(v + 4, c.data + c.vstart, 4)
        (<int32_t*>(v + 8))[0] = c.nsealed
        (<int32_t*>(v + 12))[0] = <int32_t>c.vstart
    c.length += 1
    if c.dlen >= c.seal_at and var_seal(c) < 0:
        return -1
    c.vstart = c.dlen
    return 0


cdef int var_seal(Col* c) noexcept nogil:
    """Retire the data buffer (its views keep pointing at it) and start an empty one."""
    cdef void* p = realloc(c.sealed, (c.nsealed + 1) * sizeof(uint8_t*))
    if p == NULL:
        return -1
    c.sealed = <uint8_t**>p
    p = realloc(c.sealed_len, (c.nsealed + 1) * sizeof(int64_t))
    if p == NULL:
        return -1
    c.sealed_len = <int64_t*>p
    c.sealed[c.nsealed] = shrink(c.data, c.dlen)
    c.sealed_len[c.nsealed] = c.dlen
    c.nsealed += 1
    c.data = NULL
    c.dlen = 0
    c.dcap = 0
    c.vstart = 0
    return 0


cdef inline uint8_t* shrink(uint8_t* p, int64_t nbytes) noexcept nogil:
    """Give back a buffer's unused capacity (keeps `p` if the allocator declines)."""
    cdef void* q
    if p == NULL:
        return NULL
    q = buf_realloc(p, nbytes if nbytes > 0 else 1)
    return <uint8_t*>q if q != NULL else p


cdef int col_push_null(Col* c) noexcept nogil:
    if col_reserve(c) < 0:
        return -1
    if c.kind != CK_NULL and c.validity == NULL:
        if col_make_validity(c) < 0:
            return -1
    if c.kind == CK_FIXED:
        memset(c.data + c.length * c.elem, 0, c.elem)
    elif c.kind == CK_VAR:
        memset(c.views + c.length * 16, 0, 16)
    elif c.kind == CK_LIST:
        c.offsets[c.length + 1] = c.offsets[c.length]
    # CK_BOOL: bits are zero already; validity bit stays 0
    c.length += 1
    c.null_count += 1
    return 0


cdef void col_free(Col* c) noexcept nogil:
    cdef int32_t i
    buf_free(c.validity)
    buf_free(c.data)
    buf_free(c.offsets)
    buf_free(c.views)
    for i in range(c.nsealed):
        buf_free(c.sealed[i])
    free(c.sealed)
    free(c.sealed_len)
    c.validity = NULL
    c.data = NULL
    c.offsets = NULL
    c.views = NULL
    c.sealed = NULL
    c.sealed_len = NULL
    c.nsealed = 0


cdef inline int push_fixed(Col* col, const void* src, int64_t width) noexcept nogil:
    """Append one `width`-byte value (copied from `src`) to a fixed-width column."""
    if col.length >= col.cap and col_grow(col, col.length + 1) < 0:
        return -1
    memcpy(col.data + col.length * width, src, width)
    col_mark_valid(col)
    col.length += 1
    return 0


cdef inline int push_i64(Col* col, int64_t v) noexcept nogil:
    return push_fixed(col, &v, 8)


cdef inline int push_i32(Col* col, int32_t v) noexcept nogil:
    return push_fixed(col, &v, 4)


cdef inline int put_inline(Col* col, const uint8_t* src, int64_t n, int64_t avail) noexcept nogil:
    """Append a value of at most 12 bytes as an inline view (no data-buffer bytes).

    With 12 readable bytes at `src` (`avail`), the copy is two fixed-size loads and
    a mask instead of a variable-length copy; the view's unused bytes are zero.
    """
    cdef uint64_t lo = 0
    cdef uint32_t hi = 0
    cdef uint8_t* v
    if col.length >= col.cap and col_grow(col, col.length + 1) < 0:
        return -1
    v = col.views + col.length * 16
    if avail >= 12:
        memcpy(&lo, src, 8)
        memcpy(&hi, src + 8, 4)
        if n < 8:
            lo &= ((<uint64_t>1) << (8 * n)) - 1
            hi = 0
        else:
            hi &= <uint32_t>(((<uint64_t>1) << (8 * (n - 8))) - 1)
    else:
        memcpy(&lo, src, n if n < 8 else 8)
        if n > 8:
            memcpy(&hi, src + 8, n - 8)
    (<int32_t*>v)[0] = <int32_t>n
    memcpy(v + 4, &lo, 8)
    memcpy(v + 12, &hi, 4)
    col_mark_valid(col)
    col.length += 1
    return 0
