# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled Avro block decoder: the plan walker and the `Decoder` that runs it.

A `Decoder` executes a flat plan (compiled by :mod:`jetliner.schema`, in the
format of ``_plan.pxd``) over the decompressed bytes of Avro blocks and appends
every projected value to C column buffers.  `Decoder.finish` hands those buffers
to the consumer through the Arrow C Data Interface without copying them.

Every read goes through a cursor that knows where the block ends (``_cursor.pxd``);
malformed input stops the decoder with an error code and the byte offset, which
the Python side turns into a typed exception.  The decode loop runs without the
GIL.  Nested data of unbounded depth (recursive schemas, skipped fields) is walked
with an explicit, bounded stack, never the C stack.

This file holds value decoding (the plan walker)
and the `Decoder` class.  The rest of the module is split by concern into files
included below: ``_arrow.pxi`` (the Arrow C Data Interface), ``_memory.pxi``
(buffer memory seen from Python, file reads into it), ``_columns.pxi``
(column buffers), ``_utf8.pxi`` (UTF-8 validation), ``_text.pxi`` (text
rendering: JSON, decimals), ``_walk.pxi`` (skipping and JSON rendering of values
walked with the explicit stack), ``_twin.pxi`` (the first pass of late
materialisation, two records at a time) and ``_export.pxi`` (Arrow export).  They are
included, not cimported from ``.pxd`` files, so that the module stays one C
translation unit with its cold functions out of line: as ``cdef inline``
functions of ``.pxd`` files (or as calls into other modules) they changed the C
compiler's inlining in the hot loop and cost up to 8% more instructions per
record.  Only the cursor (all of it inline, and shared with the block framing)
and the plan format are ``.pxd`` files.
"""

from cpython.buffer cimport (
    PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_FillInfo, PyBuffer_Release, PyObject_GetBuffer,
)
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_New
from libc.math cimport isinf, isnan
from libc.stdint cimport INT32_MAX, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdio cimport snprintf
from libc.stdlib cimport calloc, free, malloc, realloc, strtod
from libc.string cimport memcpy, memmove, memset, strerror

from jetliner._buffers cimport (
    JL_BIG, buf_alloc, buf_free, buf_realloc, jl_live_maps, jl_pool_bytes, jl_pread,
    jl_set_pool_limit, jl_set_refuse_maps, jl_trim,
)
from jetliner._cursor cimport (
    Cur, jl_ctz64, jl_prefetch, jl_skip_varints, need, read_int, read_len, read_long, read_span,
    read_varint, skip_long,
)
from jetliner._plan cimport *

include "_arrow.pxi"  # the Arrow C Data Interface
include "_memory.pxi"  # buffer memory: the pool's test hooks, file reads into it


cdef class ArrowBatch:
    """One exported Arrow array (a struct of the batch's columns), consumed once.

    Implements the Arrow PyCapsule protocol (``__arrow_c_array__``), so that
    ``polars.Series(batch)`` imports the buffers without copying them.
    """

    cdef ArrowSchema* schema
    cdef ArrowArray* array
    cdef readonly int64_t length

    def __dealloc__(self):
        if self.schema != NULL:
            release_schema(self.schema)
            free(self.schema)
        if self.array != NULL:
            release_array(self.array)
            free(self.array)

    def __arrow_c_array__(self, requested_schema=None):
        if self.schema == NULL or self.array == NULL:
            raise RuntimeError("this Arrow batch was already consumed")
        sc = PyCapsule_New(self.schema, "arrow_schema", capsule_schema_destructor)
        self.schema = NULL
        ac = PyCapsule_New(self.array, "arrow_array", capsule_array_destructor)
        self.array = NULL
        return sc, ac


# ---------------------------------------------------------------- limits

cdef enum:
    MAX_BIGDEC_BYTES = 1024
# |scale| of a big-decimal: bounds the zeros one value renders (about 1 KB)
cdef enum:
    MAX_SCALE = 1000
cdef enum:
    PICK_AHEAD = 8  # records `decode_at` asks the cache for ahead of the one it decodes


include "_columns.pxi"  # column buffers


cdef struct SkipOp:
    uint8_t kind     # SO_*
    uint8_t n        # SO_VARINTS: how many varints
    uint32_t ints    # SO_VARINTS: bit j set if the j-th varint is an int
    int32_t pre      # bytes of fixed-size fields before (doubles, floats, booleans)
    uint64_t bools   # bit j set if byte j of those is a boolean
    int32_t field    # the step's first field, counted in its run
    int32_t nfixed   # how many of its fields are the fixed-size ones before
    int32_t nfields  # how many fields it covers


cdef struct Frame:
    int32_t node
    int32_t i
    int64_t remaining


include "_utf8.pxi"  # UTF-8 validation
include "_text.pxi"  # text rendering: JSON, decimals


# ---------------------------------------------------------------- the decoder



cdef struct State:
    Node* nodes
    int32_t* kids
    int32_t* kid_names
    Col* cols
    const uint8_t* strptr
    int64_t* stroffs
    Frame* stack
    int64_t stack_cap
    int64_t max_depth
    int64_t zero_budget
    bint utf8_replace
    int64_t zero_used
    uint32_t* scratch
    uint8_t* skipcode    # per entry of kids: how to skip that record field (SK_*), 0: not simply
    int32_t* skiprun     # per entry of kids: simply-skipped fields from it on (see skip_run)
    int32_t* skipop      # per entry of kids where a run starts: its first SkipOp, or -1
    SkipOp* ops          # the runs' steps (see plan_skip_ops), each run's ending in SO_END
    int err
    int64_t err_pos
    int32_t err_node     # the node that failed, for the failures that name it (else -1)
    int64_t err_value    # and the writer's index it met there (a symbol, a branch)

# ---------------------------------------------------------------- decoding functions

cdef inline int fail(State* d, int code, Cur* c) noexcept nogil:
    d.err = code
    d.err_pos = c.p - c.start
    return -1

cdef inline int charge(State* d, int64_t units, Cur* c) noexcept nogil:
    """Spend `units` of the batch's zero-byte budget (work done without consuming bytes)."""
    d.zero_used += units
    if d.zero_used > d.zero_budget:
        return fail(d, E_BUDGET, c)
    return 0


cdef int check_count(State* d, int64_t count, int64_t minsz, Cur* c) noexcept nogil:
    """A count of `count` values must fit: in the bytes left when each takes at least
    `minsz` > 0 bytes, else in the zero-byte budget at ``max(1, -minsz)`` units each."""
    cdef int64_t units
    if count < 0:
        return fail(d, E_COUNT, c)
    if minsz > 0:
        if count > (c.end - c.p) // minsz:
            return fail(d, E_COUNT, c)
        return 0
    units = -minsz if minsz < 0 else 1
    if count > (d.zero_budget - d.zero_used) // units:
        return fail(d, E_BUDGET, c)
    d.zero_used += count * units
    return 0

cdef int null_node(State* d, int32_t ni) noexcept nogil:
    """Append a null for node `ni` (and placeholders in every column beneath it)."""
    cdef Node* n = &d.nodes[ni]
    cdef int32_t k
    if n.op == OP_SKIP:
        return 0
    if n.op == OP_UNION_NULLABLE or n.op == OP_DEFAULT:
        return null_node(d, d.kids[n.kid0])
    if n.op == OP_UNION_DISPATCH:
        return null_node(d, <int32_t>n.param) if n.param >= 0 else 0
    if n.col >= 0:
        if col_push_null(&d.cols[n.col]) < 0:
            return -1
        d.zero_used += 1
    if n.op == OP_RECORD or n.op == OP_UNION:
        for k in range(n.nkids):
            if d.kids[n.kid0 + k] >= 0:
                if null_node(d, d.kids[n.kid0 + k]) < 0:
                    return -1
    elif n.op == OP_UNION_BRANCHES or n.op == OP_UNION_VALUE:
        for k in range(<int32_t>n.param if n.op == OP_UNION_BRANCHES else 0, n.nkids):
            if null_node(d, d.kids[n.kid0 + k]) < 0:
                return -1
    elif n.op == OP_DURATION:
        for k in range(3):
            if col_push_null(&d.cols[n.param + k]) < 0:
                return -1
        d.zero_used += 3
    return 0

cdef inline bint decimal_fits(const uint8_t* le16, uint64_t lim_hi, uint64_t lim_lo) noexcept nogil:
    """|value| < 10**precision for a 128-bit little-endian two's-complement value."""
    cdef uint64_t lo, hi
    memcpy(&lo, le16, 8)
    memcpy(&hi, le16 + 8, 8)
    if hi >> 63:  # negative: magnitude = ~x + 1
        lo = ~lo
        hi = ~hi
        lo += 1
        if lo == 0:
            hi += 1
    return hi < lim_hi or (hi == lim_hi and lo < lim_lo)


cdef inline int prim_long(State* d, Node* n, Cur* c) noexcept nogil:
    cdef int64_t v
    cdef int r = read_varint(c, &v)
    if r:
        return fail(d, r, c)
    if push_i64(&d.cols[n.col], v) < 0:
        return fail(d, E_NOMEM, c)
    return 0


cdef inline int prim_int(State* d, Node* n, Cur* c) noexcept nogil:
    cdef int64_t v
    cdef int r = read_int(c, &v)
    if r:
        return fail(d, r, c)
    if push_i32(&d.cols[n.col], <int32_t>v) < 0:
        return fail(d, E_NOMEM, c)
    return 0


cdef inline int prim_fixed_width(State* d, Node* n, Cur* c, int64_t width) noexcept nogil:
    """float (4 bytes) and double (8 bytes): little-endian, copied as they are."""
    cdef Col* col
    if need(c, width):
        return fail(d, E_EOF, c)
    if push_fixed(&d.cols[n.col], c.p, width) < 0:
        return fail(d, E_NOMEM, c)
    c.p += width
    return 0


cdef inline int prim_string(State* d, Node* n, Cur* c, bint check_utf8) noexcept nogil:
    cdef int64_t blen
    cdef int r = read_len(c, &blen)
    cdef Col* col
    if r:
        return fail(d, r, c)
    col = &d.cols[n.col]
    if check_utf8 and not utf8_valid(c.p, blen):
        if not d.utf8_replace:
            return fail(d, E_UTF8, c)
        if put_utf8_replaced(col, c.p, blen, False) < 0 or var_commit(col) < 0:
            return fail(d, E_NOMEM, c)
        c.p += blen
        return 0
    if blen <= 12 and col.dlen == col.vstart:
        if put_inline(col, c.p, blen, c.end - c.p) < 0:
            return fail(d, E_NOMEM, c)
    elif var_put(col, c.p, blen) < 0 or var_commit(col) < 0:
        return fail(d, E_NOMEM, c)
    c.p += blen
    return 0


cdef inline int prim_bool(State* d, Node* n, Cur* c) noexcept nogil:
    cdef uint8_t b
    cdef Col* col
    if need(c, 1):
        return fail(d, E_EOF, c)
    b = c.p[0]
    if b > 1:
        return fail(d, E_BOOL, c)
    c.p += 1
    col = &d.cols[n.col]
    if col.length >= col.cap and col_grow(col, col.length + 1) < 0:
        return fail(d, E_NOMEM, c)
    if b:
        col.data[col.length >> 3] |= <uint8_t>(1 << (col.length & 7))
    col_mark_valid(col)
    col.length += 1
    return 0


cdef int dec_record(State* d, Node* n, Cur* c) noexcept nogil:
    """Decode a record: its fields in order, runs of unprojected primitive fields
    skipped in one loop.  Called by `dec`, and by the batch loops for the root record
    (one call less per row)."""
    cdef Col* col
    cdef int r
    cdef int32_t k, br, so
    cdef Node* kn
    cdef Node* tn
    cdef const int32_t* kidp
    cdef int kop
    if n.col >= 0:
        col = &d.cols[n.col]
        if col_reserve(col) < 0:
            return fail(d, E_NOMEM, c)
        col_mark_valid(col)
        col.length += 1
    kidp = d.kids + n.kid0
    k = 0
    while k < n.nkids:
        br = d.skiprun[n.kid0 + k]
        if br > 0:
            # unprojected fields of primitive types, one after the other
            if br > n.nkids - k:
                br = n.nkids - k
            so = d.skipop[n.kid0 + k]
            if so >= 0:  # (always, as plan_skip_ops compiles every run a record starts)
                if skip_ops(d, d.ops + so, d.skipcode + n.kid0 + k, kidp + k, c) < 0:
                    return -1
            elif skip_run(d, d.skipcode + n.kid0 + k, kidp + k, br, c) < 0:
                return -1
            k += br
            continue
        kn = d.nodes + kidp[k]
        kop = kn.op
        if kop == OP_LONG:
            r = prim_long(d, kn, c)
        elif kop == OP_INT:
            r = prim_int(d, kn, c)
        elif kop == OP_STRING:
            r = prim_string(d, kn, c, True)
        elif kop == OP_DOUBLE:
            r = prim_fixed_width(d, kn, c, 8)
        elif kop == OP_FLOAT:
            r = prim_fixed_width(d, kn, c, 4)
        elif kop == OP_BOOL:
            r = prim_bool(d, kn, c)
        elif kop == OP_SKIP:
            tn = d.nodes + d.kids[kn.kid0]
            if tn.op <= OP_ENUM:
                r = skip_prim(d, tn, c)
            elif tn.op == OP_UNION:
                r = skip_union(d, tn, c)
            else:
                r = dec(d, kidp[k], c)
        else:
            r = dec(d, kidp[k], c)
        if r < 0:
            return -1
        k += 1
    return 0


cdef inline int dec_root(State* d, int32_t ni, Cur* c) noexcept nogil:
    """Decode one row of the plan rooted at `ni`: a record (nearly always) directly."""
    cdef Node* n = &d.nodes[ni]
    if n.op == OP_RECORD:
        return dec_record(d, n, c)
    return dec(d, ni, c)


cdef int dec(State* d, int32_t ni, Cur* c) noexcept nogil:
    cdef Node* n = &d.nodes[ni]
    cdef Col* col
    cdef int64_t v, count, blen, i
    cdef int r
    cdef int32_t k, br
    cdef uint8_t b
    cdef const uint8_t* s
    cdef uint8_t tmp16[16]
    cdef uint8_t fill
    cdef uint32_t u
    cdef int op = n.op

    if op == OP_LONG:
        return prim_long(d, n, c)
    elif op == OP_INT:
        return prim_int(d, n, c)
    elif op == OP_STRING or op == OP_BYTES:
        return prim_string(d, n, c, op == OP_STRING)
    elif op == OP_DOUBLE:
        return prim_fixed_width(d, n, c, 8)
    elif op == OP_FLOAT:
        return prim_fixed_width(d, n, c, 4)
    elif op == OP_BOOL:
        return prim_bool(d, n, c)
    elif op == OP_RECORD:
        return dec_record(d, n, c)
    elif op == OP_UNION_NULLABLE:
        r = read_long(c, &v)
        if r:
            return fail(d, r, c)
        if v < 0:
            return fail(d, E_UNION, c)
        if v == n.param2:
            return dec(d, d.kids[n.kid0], c)
        if v == n.param:
            if null_node(d, d.kids[n.kid0]) < 0:
                return fail(d, E_NOMEM, c)
            return charge(d, -1, c)  # the union index paid one value
        return fail(d, E_UNION, c)
    elif op == OP_ARRAY or op == OP_MAP:
        col = &d.cols[n.col]
        if col_reserve(col) < 0:
            return fail(d, E_NOMEM, c)
        count = 0  # items so far
        while True:
            r = read_long(c, &v)
            if r:
                return fail(d, r, c)
            if v == 0:
                break
            if v < 0:
                if v == -v:  # INT64_MIN
                    return fail(d, E_COUNT, c)
                v = -v
                r = read_long(c, &blen)
                if r:
                    return fail(d, r, c)
            if check_count(d, v, n.param2, c) < 0:
                return -1
            for i in range(v):
                if op == OP_MAP:
                    if dec(d, d.kids[n.kid0], c) < 0:
                        return -1
                    if dec(d, d.kids[n.kid0 + 1], c) < 0:
                        return -1
                    # the entries struct column
                    if col_reserve(&d.cols[n.param]) < 0:
                        return fail(d, E_NOMEM, c)
                    d.cols[n.param].length += 1
                else:
                    if dec(d, d.kids[n.kid0], c) < 0:
                        return -1
            count += v
        col = &d.cols[n.col]
        col_mark_valid(col)
        col.offsets[col.length + 1] = col.offsets[col.length] + count
        col.length += 1
        return 0
    elif op == OP_ENUM:
        r = read_long(c, &v)
        if r:
            return fail(d, r, c)
        if v < 0 or v >= n.param:
            return fail(d, E_ENUM, c)
        if push_i32(&d.cols[n.col], <int32_t>v) < 0:
            return fail(d, E_NOMEM, c)
        return 0
    elif op == OP_FIXED:
        if need(c, n.param):
            return fail(d, E_EOF, c)
        col = &d.cols[n.col]
        if var_put(col, c.p, n.param) < 0 or var_commit(col) < 0:
            return fail(d, E_NOMEM, c)
        c.p += n.param
        return 0
    elif op == OP_INT_SCALED or op == OP_LONG_SCALED:
        r = read_int(c, &v) if op == OP_INT_SCALED else read_long(c, &v)
        if r:
            return fail(d, r, c)
        # a time of day: n.param is the unit in nanoseconds (1e6 for millis, 1e3 for micros)
        if v < 0 or v >= (<int64_t>86400 * 1000000000) // n.param:
            return fail(d, E_TIME, c)
        if push_i64(&d.cols[n.col], v * n.param) < 0:
            return fail(d, E_NOMEM, c)
        return 0
    elif op == OP_DEC_BYTES or op == OP_DEC_FIXED:
        r = read_span(c, n.param if op == OP_DEC_FIXED else -1, &blen)
        if r:
            return fail(d, r, c)
        s = c.p
        fill = 0xFF if (blen > 0 and (s[0] & 0x80)) else 0
        if blen > 16:
            for i in range(blen - 16):
                if s[i] != fill:
                    return fail(d, E_DECIMAL, c)
            if (s[blen - 16] & 0x80) != (fill & 0x80):
                return fail(d, E_DECIMAL, c)
            s += blen - 16
            v = 16
        else:
            v = blen
        memset(tmp16, fill, 16)
        for i in range(v):
            tmp16[i] = s[v - 1 - i]
        if not decimal_fits(tmp16, n.lim_hi, n.lim_lo):
            return fail(d, E_DECIMAL, c)
        if push_fixed(&d.cols[n.col], tmp16, 16) < 0:
            return fail(d, E_NOMEM, c)
        c.p += blen
        return 0
    elif op == OP_DEC_BYTES_STR or op == OP_DEC_FIXED_STR or op == OP_BIGDEC:
        r = read_span(c, n.param if op == OP_DEC_FIXED_STR else -1, &blen)
        if r:
            return fail(d, r, c)
        s = c.p
        c.p += blen
        col = &d.cols[n.col]
        if op == OP_BIGDEC:
            # bytes = [unscaled: Avro bytes][scale: Avro int]
            return dec_bigdec(d, col, s, blen, c)
        if blen > MAX_BIGDEC_BYTES:
            return fail(d, E_DECIMAL, c)
        if put_unscaled(col, s, blen, n.param2, d.scratch) < 0 or var_commit(col) < 0:
            return fail(d, E_NOMEM, c)
        return 0
    elif op == OP_UUID_FIXED:
        if need(c, 16):
            return fail(d, E_EOF, c)
        col = &d.cols[n.col]
        if var_ensure(col, 36) < 0:
            return fail(d, E_NOMEM, c)
        for i in range(16):
            if i == 4 or i == 6 or i == 8 or i == 10:
                col.data[col.dlen] = 45
                col.dlen += 1
            col.data[col.dlen] = HEX[c.p[i] >> 4]
            col.data[col.dlen + 1] = HEX[c.p[i] & 15]
            col.dlen += 2
        if var_commit(col) < 0:
            return fail(d, E_NOMEM, c)
        c.p += 16
        return 0
    elif op == OP_DURATION:
        if need(c, 12):
            return fail(d, E_EOF, c)
        col = &d.cols[n.col]
        if col_reserve(col) < 0:
            return fail(d, E_NOMEM, c)
        col_mark_valid(col)
        col.length += 1
        for k in range(3):
            u = (<uint32_t>c.p[0]) | ((<uint32_t>c.p[1]) << 8) | ((<uint32_t>c.p[2]) << 16) | ((<uint32_t>c.p[3]) << 24)
            if push_fixed(&d.cols[n.param + k], &u, 4) < 0:
                return fail(d, E_NOMEM, c)
            c.p += 4
        return 0
    elif op == OP_UNION:
        r = read_long(c, &v)
        if r:
            return fail(d, r, c)
        if v < 0 or v >= n.nkids:
            return fail(d, E_UNION, c)
        br = d.kids[n.kid0 + v]
        if br < 0:  # the null branch
            if null_node(d, ni) < 0:
                return fail(d, E_NOMEM, c)
            return charge(d, -1, c)
        col = &d.cols[n.col]
        if col_reserve(col) < 0:
            return fail(d, E_NOMEM, c)
        col_mark_valid(col)
        col.length += 1
        for k in range(n.nkids):
            if d.kids[n.kid0 + k] < 0:
                continue
            if k == v:
                if dec(d, br, c) < 0:
                    return -1
            elif null_node(d, d.kids[n.kid0 + k]) < 0:
                return fail(d, E_NOMEM, c)
        return charge(d, 0, c)
    elif op == OP_NULL:
        col = &d.cols[n.col]
        if col_push_null(col) < 0:
            return fail(d, E_NOMEM, c)
        return 0
    elif op == OP_SKIP:
        k = d.kids[n.kid0]
        if d.nodes[k].op <= OP_ENUM:  # a primitive, fixed or enum: no walk needed
            return walk_prim(d, &d.nodes[k], c, NULL)
        return walk(d, k, c, NULL)
    elif op == OP_JSON:
        col = &d.cols[n.col]
        if walk(d, d.kids[n.kid0], c, col) < 0:
            return -1
        if var_commit(col) < 0:
            return fail(d, E_NOMEM, c)
        return 0
    elif op == OP_JSON_NULLABLE:
        # kids[kid0] is a walker union node; param = its null branch
        r = read_long(c, &v)
        if r:
            return fail(d, r, c)
        k = d.kids[n.kid0]
        if v < 0 or v >= d.nodes[k].nkids:
            return fail(d, E_UNION, c)
        col = &d.cols[n.col]
        if v == n.param:
            if col_push_null(col) < 0:
                return fail(d, E_NOMEM, c)
            return 0
        if walk(d, d.kids[d.nodes[k].kid0 + v], c, col) < 0:
            return -1
        if var_commit(col) < 0:
            return fail(d, E_NOMEM, c)
        return 0
    elif op >= OP_INT_TO_LONG:
        return dec_resolved(d, ni, n, c)
    return fail(d, E_UNION, c)


cdef inline int32_t table_at(State* d, int64_t sidx, int64_t i) noexcept nogil:
    """Entry `i` of an int32 table kept in the plan's strings at index `sidx`."""
    cdef int32_t m
    memcpy(&m, d.strptr + d.stroffs[sidx] + 4 * i, 4)
    return m


cdef int dec_resolved(State* d, int32_t ni, Node* n, Cur* c) noexcept nogil:
    """The opcodes of schema resolution: a writer's value read as the reader's type."""
    cdef int64_t v
    cdef int r
    cdef int32_t k, m, j
    cdef float fv
    cdef double dv
    cdef Cur sub
    cdef Col* col
    cdef int op = n.op
    if (op == OP_INT_TO_LONG or op == OP_INT_TO_FLOAT or op == OP_INT_TO_DOUBLE
            or op == OP_LONG_TO_FLOAT or op == OP_LONG_TO_DOUBLE):
        if op == OP_LONG_TO_FLOAT or op == OP_LONG_TO_DOUBLE:
            r = read_long(c, &v)
        else:
            r = read_int(c, &v)
        if r:
            return fail(d, r, c)
        if op == OP_INT_TO_LONG:
            r = push_i64(&d.cols[n.col], v)
        elif op == OP_INT_TO_FLOAT or op == OP_LONG_TO_FLOAT:
            fv = <float>v
            r = push_fixed(&d.cols[n.col], &fv, 4)
        else:
            dv = <double>v
            r = push_fixed(&d.cols[n.col], &dv, 8)
        if r < 0:
            return fail(d, E_NOMEM, c)
        return 0
    elif op == OP_FLOAT_TO_DOUBLE:
        if need(c, 4):
            return fail(d, E_EOF, c)
        memcpy(&fv, c.p, 4)
        c.p += 4
        dv = <double>fv
        if push_fixed(&d.cols[n.col], &dv, 8) < 0:
            return fail(d, E_NOMEM, c)
        return 0
    elif op == OP_ENUM_MAP:
        r = read_long(c, &v)
        if r:
            return fail(d, r, c)
        if v < 0 or v >= n.param:
            return fail(d, E_ENUM, c)
        m = table_at(d, n.param2, v)
        if m < 0:
            d.err_node = ni
            d.err_value = v
            return fail(d, E_ENUM_UNRESOLVED, c)
        if push_i32(&d.cols[n.col], m) < 0:
            return fail(d, E_NOMEM, c)
        return 0
    elif op == OP_DEFAULT:
        # the default's own encoding, decoded as a value of the reader's type: no
        # input read, so it is charged to the zero-byte budget
        if charge(d, n.param2, c) < 0:
            return -1
        sub.start = d.strptr + d.stroffs[n.param]
        sub.p = sub.start
        sub.end = d.strptr + d.stroffs[n.param + 1]
        if dec(d, d.kids[n.kid0], &sub) < 0:
            d.err_pos = c.p - c.start  # (where the record is, not in the default)
            return -1
        return 0
    elif op == OP_UNION_DISPATCH:
        r = read_long(c, &v)
        if r:
            return fail(d, r, c)
        if v < 0 or v >= n.nkids:
            return fail(d, E_UNION, c)
        k = d.kids[n.kid0 + v]
        if k >= 0:
            return dec(d, k, c)
        if k == NO_MATCH:
            d.err_node = ni
            d.err_value = v
            return fail(d, E_UNION_UNRESOLVED, c)
        if null_node(d, ni) < 0:
            return fail(d, E_NOMEM, c)
        return charge(d, -1, c)  # the union index paid one value
    elif op == OP_UNION_BRANCHES:
        r = read_long(c, &v)
        if r:
            return fail(d, r, c)
        if v < 0 or v >= n.param:
            return fail(d, E_UNION, c)
        k = d.kids[n.kid0 + v]
        if k == NO_MATCH:
            d.err_node = ni
            d.err_value = v
            return fail(d, E_UNION_UNRESOLVED, c)
        if k < 0:  # the null branch
            if null_node(d, ni) < 0:
                return fail(d, E_NOMEM, c)
            return charge(d, -1, c)
        col = &d.cols[n.col]
        if col_reserve(col) < 0:
            return fail(d, E_NOMEM, c)
        col_mark_valid(col)
        col.length += 1
        m = table_at(d, n.param2, v)
        for j in range(n.nkids - <int32_t>n.param):
            if j == m:
                if dec(d, k, c) < 0:
                    return -1
            elif null_node(d, d.kids[n.kid0 + n.param + j]) < 0:
                return fail(d, E_NOMEM, c)
        return charge(d, 0, c)
    elif op == OP_UNION_VALUE:
        col = &d.cols[n.col]
        if col_reserve(col) < 0:
            return fail(d, E_NOMEM, c)
        col_mark_valid(col)
        col.length += 1
        for j in range(n.nkids):
            if j == n.param:
                if dec(d, d.kids[n.kid0 + j], c) < 0:
                    return -1
            elif null_node(d, d.kids[n.kid0 + j]) < 0:
                return fail(d, E_NOMEM, c)
        return charge(d, 0, c)
    return fail(d, E_UNION, c)

cdef int dec_bigdec(State* d, Col* col, const uint8_t* s, int64_t blen, Cur* outer) noexcept nogil:
    cdef Cur inner
    cdef int64_t ulen, scale
    cdef int r
    inner.start = outer.start
    inner.p = s
    inner.end = s + blen
    r = read_len(&inner, &ulen)
    if r:
        return fail(d, r, &inner)
    if ulen > MAX_BIGDEC_BYTES:
        return fail(d, E_BIGDEC, &inner)
    s = inner.p
    inner.p += ulen
    r = read_int(&inner, &scale)
    if r:
        return fail(d, r, &inner)
    if inner.p != inner.end:
        return fail(d, E_BIGDEC, &inner)
    if scale < -MAX_SCALE or scale > MAX_SCALE:
        return fail(d, E_BIGDEC, &inner)
    if put_unscaled(col, s, ulen, scale, d.scratch) < 0 or var_commit(col) < 0:
        return fail(d, E_NOMEM, &inner)
    return 0

include "_walk.pxi"  # skipping and JSON rendering: walk, skip_prim, walk_prim
include "_twin.pxi"  # two rows at once: the first pass of late materialisation


class DecodeFailure(Exception):
    """Raised by `Decoder.decode`; `jetliner.readers` turns it into a typed error.

    ``node`` is the plan node that failed, for the failures that name one (a writer's
    enum symbol or union branch the reader schema cannot read), with ``value`` the
    writer's index met there; else -1.
    """

    def __init__(self, code, offset, record, node=-1, value=-1):
        super().__init__(code, offset, record)
        self.code = code
        self.offset = offset
        self.record = record
        self.node = node
        self.value = value


cdef class Decoder:
    """Executes a compiled plan over Avro blocks, appending to column buffers.

    Parameters
    ----------
    nodes
        The plan's nodes (`jetliner._plan.PlanNode`).
    kids
        Flat sequence of child node indices (``-1`` marks a null union branch).
    kid_names
        For each entry of `kids`, an index into `strings` (JSON keys), or -1.
    cols
        The plan's column buffers (`jetliner._plan.ColumnLayout`).
    strings
        Pre-rendered JSON fragments (field keys, enum symbols) as bytes.
    root
        Index of the node decoding one top-level value.
    max_depth
        Bound on the nesting depth of data walked with the explicit stack.
    zero_byte_budget
        Bound, per batch, on the values produced without consuming input bytes
        (``null`` items and empty records claimed by counts, the placeholders a
        null struct puts in its fields, zero-byte values walked while skipping).
        It bounds the time and memory a few hostile bytes can cost.
    utf8_replace
        Read invalid UTF-8 in strings with U+FFFD in place of the bad bytes,
        instead of failing the record.
    value_limit
        The longest string or bytes value, in bytes: 2 GiB - 1 (a view's length is
        a signed 32-bit number); tests make it small to check the limit cheaply.
    seal_threshold
        A string column's data buffer is sealed (a new one started, between
        values) once it holds this many bytes: 1 GiB (a view addresses its bytes
        with a 32-bit offset); tests make it small to spread a batch over many
        buffers.
    """

    cdef State st
    cdef int32_t nnodes
    cdef int32_t nkids
    cdef int32_t ncols
    cdef bytes strblob
    cdef int32_t nstrings
    cdef int32_t root
    cdef readonly int64_t rows

    def __cinit__(self, nodes, kids, kid_names, cols, strings, int root,
                  int64_t max_depth=100_000, int64_t zero_byte_budget=1 << 26,
                  bint utf8_replace=False, int64_t value_limit=INT32_MAX,
                  int64_t seal_threshold=1 << 30):
        cdef int64_t i
        if not 0 < value_limit <= INT32_MAX:
            raise ValueError(f"value_limit must be in 1..{INT32_MAX}, got {value_limit}")
        if seal_threshold <= 0:
            raise ValueError(f"seal_threshold must be positive, got {seal_threshold}")
        self.nnodes = len(nodes)
        self.nkids = len(kids)
        self.ncols = len(cols)
        self.st.nodes = <Node*>calloc(self.nnodes + 1, sizeof(Node))
        self.st.kids = <int32_t*>calloc(self.nkids + 1, sizeof(int32_t))
        self.st.kid_names = <int32_t*>calloc(self.nkids + 1, sizeof(int32_t))
        self.st.cols = <Col*>calloc(self.ncols + 1, sizeof(Col))
        self.st.stroffs = <int64_t*>calloc(len(strings) + 1, sizeof(int64_t))
        self.st.scratch = <uint32_t*>malloc((MAX_BIGDEC_BYTES // 4 + 8) * sizeof(uint32_t))
        self.st.stack_cap = 64
        self.st.stack = <Frame*>malloc(self.st.stack_cap * sizeof(Frame))
        if (self.st.nodes == NULL or self.st.kids == NULL or self.st.kid_names == NULL or self.st.cols == NULL
                or self.st.stroffs == NULL or self.st.scratch == NULL or self.st.stack == NULL):
            raise MemoryError()
        for i, nd in enumerate(nodes):
            self.st.nodes[i].op = nd.op
            self.st.nodes[i].col = nd.col
            self.st.nodes[i].kid0 = nd.kid0
            self.st.nodes[i].nkids = nd.nkids
            self.st.nodes[i].param = nd.param
            self.st.nodes[i].param2 = nd.param2
            self.st.nodes[i].minsz = nd.minsz
            if nd.precision > 0:
                lim = 10 ** nd.precision
                self.st.nodes[i].lim_hi = lim >> 64
                self.st.nodes[i].lim_lo = lim & 0xFFFFFFFFFFFFFFFF
        for i in range(self.nkids):
            self.st.kids[i] = kids[i]
            self.st.kid_names[i] = kid_names[i]
        self.st.skipcode = <uint8_t*>calloc(self.nkids + 1, sizeof(uint8_t))
        self.st.skiprun = <int32_t*>calloc(self.nkids + 1, sizeof(int32_t))
        self.st.skipop = <int32_t*>malloc((self.nkids + 1) * sizeof(int32_t))
        # a run of f fields has at most f steps and its end
        self.st.ops = <SkipOp*>calloc(2 * self.nkids + 1, sizeof(SkipOp))
        if (self.st.skipcode == NULL or self.st.skiprun == NULL or self.st.skipop == NULL
                or self.st.ops == NULL):
            raise MemoryError()
        plan_skip_runs(&self.st, self.nnodes, self.nkids)
        plan_skip_ops(&self.st, self.nnodes, self.nkids)
        for i, layout in enumerate(cols):
            self.st.cols[i].kind = layout.kind
            self.st.cols[i].elem = layout.elem
            self.st.cols[i].max_value = value_limit
            self.st.cols[i].seal_at = seal_threshold
        self.strblob = b"".join(strings)
        self.st.strptr = <const uint8_t*>(<const char*>self.strblob)
        self.nstrings = len(strings)
        pos = 0
        for i, s in enumerate(strings):
            self.st.stroffs[i] = pos
            pos += len(s)
        self.st.stroffs[len(strings)] = pos
        self.root = root
        self.st.max_depth = max_depth
        self.st.zero_budget = zero_byte_budget
        self.st.utf8_replace = utf8_replace
        self.rows = 0

    def __dealloc__(self):
        cdef int32_t i
        if self.st.cols != NULL:
            for i in range(self.ncols):
                col_free(&self.st.cols[i])
        free(self.st.nodes)
        free(self.st.kids)
        free(self.st.kid_names)
        free(self.st.skipcode)
        free(self.st.skiprun)
        free(self.st.skipop)
        free(self.st.ops)
        free(self.st.cols)
        free(self.st.stroffs)
        free(self.st.scratch)
        free(self.st.stack)

    def check_block(self, int64_t count, int64_t nbytes):
        """Refuse a block whose record count cannot fit in its `nbytes` bytes.

        Records occupy at least the schema's minimum size each; records of zero
        bytes (empty records, top-level null) are bounded by the zero-byte budget.
        """
        cdef int64_t minsz = self.st.nodes[self.root].minsz
        cdef int64_t units = -minsz if minsz < 0 else 1
        if count < 0:
            raise DecodeFailure(E_COUNT, 0, 0)
        if minsz > 0:
            if count > nbytes // minsz:
                raise DecodeFailure(E_COUNT, 0, 0)
        elif count > self.st.zero_budget // units:
            raise DecodeFailure(E_BUDGET, 0, 0)

    def decode(self, data, Py_ssize_t offset, int64_t count, int64_t block_size=-1):
        """Decode up to `count` records from `data[offset:offset+block_size]`.

        Returns the offset after the last decoded record.  Raises `DecodeFailure`
        with the error code, the byte offset and the record's index on bad input.
        """
        cdef Py_buffer view
        cdef Cur c
        cdef int64_t i = 0
        cdef int rc = 0
        cdef int64_t minsz = self.st.nodes[self.root].minsz
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            if offset < 0 or offset > view.len:
                raise ValueError("offset outside the buffer")
            if block_size < 0 or block_size > view.len - offset:
                block_size = view.len - offset
            c.start = <const uint8_t*>view.buf
            c.p = c.start + offset
            c.end = c.p + block_size
            self.st.err = 0
            self.st.err_node = -1
            with nogil:
                if check_count(&self.st, count, minsz, &c) < 0:
                    rc = -1
                else:
                    while i < count:
                        if dec_root(&self.st, self.root, &c) < 0:
                            rc = -1
                            break
                        i += 1
            self.rows += i
            if rc < 0:
                raise DecodeFailure(self.st.err, self.st.err_pos, i, self.st.err_node,
                                   self.st.err_value)
            return c.p - c.start
        finally:
            PyBuffer_Release(&view)

    def decode_marked(self, data, Py_ssize_t offset, int64_t count, starts):
        """Decode `count` records from `data[offset:]` as `decode` does, and write
        where each starts (and, last, where the last one ends) into `starts`.

        `starts` is a writable buffer of at least ``count + 1`` int64 values.  It is
        the first pass of late materialisation: the predicate's columns of every
        record, and every record's place for `decode_at`.
        """
        cdef Py_buffer view
        cdef Py_buffer marks
        cdef Cur c
        cdef int64_t i = 0
        cdef int rc = 0
        cdef int64_t minsz = self.st.nodes[self.root].minsz
        cdef int64_t* out
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            PyObject_GetBuffer(starts, &marks, PyBUF_WRITABLE)
            try:
                if offset < 0 or offset > view.len:
                    raise ValueError("offset outside the buffer")
                if count < 0 or count > marks.len // <Py_ssize_t>sizeof(int64_t) - 1:
                    raise ValueError("starts holds fewer than count + 1 int64 values")
                out = <int64_t*>marks.buf
                c.start = <const uint8_t*>view.buf
                c.p = c.start + offset
                c.end = c.start + view.len
                self.st.err = 0
                self.st.err_node = -1
                with nogil:
                    if check_count(&self.st, count, minsz, &c) < 0:
                        rc = -1
                    else:
                        while i < count:
                            out[i] = c.p - c.start
                            if dec_root(&self.st, self.root, &c) < 0:
                                rc = -1
                                break
                            i += 1
                        out[i] = c.p - c.start
                self.rows += i
                if rc < 0:
                    raise DecodeFailure(self.st.err, self.st.err_pos, i, self.st.err_node,
                                       self.st.err_value)
                return c.p - c.start
            finally:
                PyBuffer_Release(&marks)
        finally:
            PyBuffer_Release(&view)

    def decode_blocks_marked(self, data, offsets, counts, starts, Decoder twin=None,
                             int64_t split=-1):
        """`decode_marked` over several blocks at once, in one GIL-free stretch.

        Block i is ``data[offsets[i]:offsets[i + 1]]`` and holds ``counts[i]``
        records (both int64 buffers); `starts` (int64, at least ``sum(counts) + 1``
        values) gets where each record starts in `data` and, last, where the last
        block ends.  Each block must hold its records exactly, as the one-block
        path checks.  With a `twin` (a decoder of the same plan), the blocks from
        `split` on are decoded into it, two records at a time (``_twin.pxi``).
        Returns -1 when every block held its records; otherwise the index of a
        block that did not (or claims more records than bytes), and the rows of
        both decoders are then to be discarded: the caller decodes block by
        block, which names the damage.
        """
        cdef Py_buffer view
        cdef Py_buffer offs
        cdef Py_buffer cnts
        cdef Py_buffer marks
        cdef Decoder other
        cdef int64_t b, nblocks, total = 0, first = 0, rows_first = 0, rows_second = 0
        cdef int64_t bad
        cdef const int64_t* off
        cdef const int64_t* cnt
        cdef int64_t* out
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        PyObject_GetBuffer(offsets, &offs, PyBUF_SIMPLE)
        PyObject_GetBuffer(counts, &cnts, PyBUF_SIMPLE)
        PyObject_GetBuffer(starts, &marks, PyBUF_WRITABLE)
        try:
            off = <const int64_t*>offs.buf
            cnt = <const int64_t*>cnts.buf
            nblocks = cnts.len // <Py_ssize_t>sizeof(int64_t)
            if offs.len // <Py_ssize_t>sizeof(int64_t) != nblocks + 1:
                raise ValueError("offsets must hold one more value than counts")
            if twin is None or split < 0 or split > nblocks:
                split = nblocks
            elif twin is self or twin.root != self.root or twin.nnodes != self.nnodes:
                raise ValueError("a twin is another decoder of the same plan")
            for b in range(nblocks):  # checked with the GIL: they come from Python
                if not 0 <= off[b] <= off[b + 1] <= view.len or cnt[b] < 0:
                    raise ValueError(f"block {b} is outside the buffer")
                total += cnt[b]
                if b < split:
                    first += cnt[b]
            if total > marks.len // <Py_ssize_t>sizeof(int64_t) - 1:
                raise ValueError("starts holds fewer than sum(counts) + 1 int64 values")
            out = <int64_t*>marks.buf
            self.st.err = 0
            self.st.err_node = -1
            other = twin if twin is not None else self
            other.st.err = 0
            other.st.err_node = -1
            with nogil:
                bad = marked_blocks(&self.st, &other.st, self.root, <const uint8_t*>view.buf,
                                    off, cnt, nblocks, split, out, first, &rows_first,
                                    &rows_second)
            self.rows += rows_first
            other.rows += rows_second
            return bad
        finally:
            PyBuffer_Release(&marks)
            PyBuffer_Release(&cnts)
            PyBuffer_Release(&offs)
            PyBuffer_Release(&view)

    def decode_at(self, data, starts, rows, int64_t base=0):
        """Decode the records `rows` of `data`: the second pass of late materialisation.

        `starts` holds where each record starts, and where the last one ends, as
        `decode_marked` wrote them (int64); `rows` the indices of the records to
        decode, into `starts` once `base` is taken from them (int64, in any order).
        Each record is decoded within its own bytes: one that does not end where the
        next starts is corrupt.  Raises `DecodeFailure` whose ``record`` is the
        position in `rows`.
        """
        cdef Py_buffer view
        cdef Py_buffer marks
        cdef Py_buffer picks
        cdef Cur c
        cdef int64_t i = 0
        cdef int rc = 0
        cdef int64_t n, nstarts, r, lo, hi
        cdef const int64_t* at
        cdef const int64_t* pick
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            PyObject_GetBuffer(starts, &marks, PyBUF_SIMPLE)
            try:
                PyObject_GetBuffer(rows, &picks, PyBUF_SIMPLE)
                try:
                    at = <const int64_t*>marks.buf
                    nstarts = marks.len // sizeof(int64_t)
                    pick = <const int64_t*>picks.buf
                    n = picks.len // sizeof(int64_t)
                    for i in range(n):  # checked with the GIL: they come from Python
                        r = pick[i] - base
                        if r < 0 or r >= nstarts - 1:
                            raise ValueError(f"record {r} is not in starts")
                        if not 0 <= at[r] <= at[r + 1] <= view.len:
                            raise ValueError(f"starts of record {r} are outside the buffer")
                    c.start = <const uint8_t*>view.buf
                    self.st.err = 0
                    self.st.err_node = -1
                    i = 0
                    with nogil:
                        while i < n:
                            if i + PICK_AHEAD < n:  # (the rows are scattered: ask early)
                                jl_prefetch(c.start + at[pick[i + PICK_AHEAD] - base])
                            r = pick[i] - base
                            lo = at[r]
                            hi = at[r + 1]
                            c.p = c.start + lo
                            c.end = c.start + hi
                            if dec_root(&self.st, self.root, &c) < 0:
                                rc = -1
                                break
                            if c.p != c.end:
                                self.st.err = E_COUNT
                                self.st.err_pos = c.p - c.start
                                rc = -1
                                break
                            i += 1
                    self.rows += i
                    if rc < 0:
                        raise DecodeFailure(self.st.err, self.st.err_pos, i, self.st.err_node,
                                           self.st.err_value)
                    return i
                finally:
                    PyBuffer_Release(&picks)
            finally:
                PyBuffer_Release(&marks)
        finally:
            PyBuffer_Release(&view)

    # ------------------------------------------------------------ export

    def finish(self, spec):
        """Hand the buffered rows over as an `ArrowBatch` and start an empty batch.

        The batch is a struct array whose children are described by `spec`, a
        list of `jetliner._plan.ExportSpec`.
        """
        cdef ArrowBatch out = ArrowBatch.__new__(ArrowBatch)
        out.length = self.rows
        out.schema = <ArrowSchema*>zalloc(sizeof(ArrowSchema))
        out.array = <ArrowArray*>zalloc(sizeof(ArrowArray))
        export_batch(self.st.cols, list(spec), self.rows, out.schema, out.array)
        self._reset(True)
        return out

    def discard(self):
        """Drop the rows buffered since the last `finish` (after a failure), keeping
        the capacity hints."""
        self._reset(False)

    cdef _reset(self, bint learn):
        cdef int32_t i
        cdef Col* c
        for i in range(self.ncols):
            c = &self.st.cols[i]
            if learn:
                # the next batch starts with the capacity this one needed, or
                # half the previous hint if more: a short batch (the end of a
                # task) does not send the next full one growing from scratch
                c.hint = c.length if c.length > c.hint // 2 else c.hint // 2
                # (at most 64 MiB: a hint, not a reservation)
                c.dhint = c.dlen if c.dlen > c.dhint // 2 else c.dhint // 2
                if c.dhint > (1 << 26):
                    c.dhint = 1 << 26
            col_free(c)
            c.length = 0
            c.cap = 0
            c.vcap = 0
            c.null_count = 0
            c.dlen = 0
            c.dcap = 0
            c.vstart = 0
        self.rows = 0
        self.st.zero_used = 0  # the zero-byte budget is per batch


include "_export.pxi"  # Arrow export of the column buffers
