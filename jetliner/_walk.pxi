# Skipping and JSON rendering: the explicit-stack walker (`walk`) for values that are
# not decoded into columns of their own (unprojected fields, recursive types rendered
# as JSON), and its primitive steps.  Included into _decoder.pyx, where `dec` calls
# them: one C translation unit, so the compiler inlines `skip_prim` into the record
# loop as before.

cdef int walk(State* d, int32_t root, Cur* c, Col* out) noexcept nogil:
    """Skip (out == NULL) or render as JSON (into `out`) one value of walker node
    `root`, with an explicit stack whose depth is bounded by `max_depth`."""
    cdef int64_t depth = 0
    cdef Frame* f
    cdef Node* n
    cdef int64_t v, blen
    cdef int r
    cdef int32_t child
    cdef Frame* grown
    cdef float fv
    cdef double dv
    cdef int64_t sidx
    d.stack[0].node = root
    d.stack[0].i = 0
    d.stack[0].remaining = 0
    depth = 1
    while depth > 0:
        f = &d.stack[depth - 1]
        n = &d.nodes[f.node]
        child = -1
        if n.op == OP_RECORD:
            if f.i == 0 and n.minsz == 0 and charge(d, 1, c) < 0:
                return -1
            if f.i == 0 and out != NULL:
                if var_put(out, <const uint8_t*>b"{", 1) < 0:
                    return fail(d, E_NOMEM, c)
            if f.i < n.nkids:
                if out != NULL:
                    if f.i > 0 and var_put(out, <const uint8_t*>b",", 1) < 0:
                        return fail(d, E_NOMEM, c)
                    sidx = d.kid_names[n.kid0 + f.i]
                    if var_put(out, d.strptr + d.stroffs[sidx], d.stroffs[sidx + 1] - d.stroffs[sidx]) < 0:
                        return fail(d, E_NOMEM, c)
                child = d.kids[n.kid0 + f.i]
                f.i += 1
            else:
                if out != NULL and var_put(out, <const uint8_t*>b"}", 1) < 0:
                    return fail(d, E_NOMEM, c)
                depth -= 1
                continue
        elif n.op == OP_ARRAY or n.op == OP_MAP:
            if f.i == 0 and f.remaining == 0 and out != NULL:
                if var_put(out, <const uint8_t*>(b"[" if n.op == OP_ARRAY else b"{"), 1) < 0:
                    return fail(d, E_NOMEM, c)
            while f.remaining == 0:
                r = read_long(c, &v)
                if r:
                    return fail(d, r, c)
                if v == 0:
                    break
                if v < 0:
                    if v == -v:
                        return fail(d, E_COUNT, c)
                    v = -v
                    r = read_long(c, &blen)
                    if r:
                        return fail(d, r, c)
                    if out == NULL:
                        # skip the whole block by its byte size
                        if blen < 0 or blen > c.end - c.p:
                            return fail(d, E_EOF, c)
                        c.p += blen
                        continue
                if check_count(d, v, n.param2, c) < 0:
                    return -1
                f.remaining = v
            if f.remaining == 0:
                if out != NULL and var_put(out, <const uint8_t*>(b"]" if n.op == OP_ARRAY else b"}"), 1) < 0:
                    return fail(d, E_NOMEM, c)
                depth -= 1
                continue
            f.remaining -= 1
            if out != NULL and f.i > 0 and var_put(out, <const uint8_t*>b",", 1) < 0:
                return fail(d, E_NOMEM, c)
            f.i += 1
            if n.op == OP_MAP:
                r = read_len(c, &blen)
                if r:
                    return fail(d, r, c)
                if out != NULL:
                    if not utf8_valid(c.p, blen):
                        if not d.utf8_replace:
                            return fail(d, E_UTF8, c)
                        r = put_utf8_replaced(out, c.p, blen, True)
                    else:
                        r = put_json_string(out, c.p, blen, False)
                    if r < 0 or var_put(out, <const uint8_t*>b":", 1) < 0:
                        return fail(d, E_NOMEM, c)
                c.p += blen
            child = d.kids[n.kid0]
        elif n.op == OP_UNION:
            r = read_long(c, &v)
            if r:
                return fail(d, r, c)
            if v < 0 or v >= n.nkids:
                return fail(d, E_UNION, c)
            # the frame becomes the chosen branch: no extra depth
            f.node = d.kids[n.kid0 + v]
            f.i = 0
            f.remaining = 0
            continue
        else:
            # a primitive
            if walk_prim(d, n, c, out) < 0:
                return -1
            depth -= 1
            continue
        # descend
        if depth >= d.max_depth:
            return fail(d, E_DEPTH, c)
        if depth >= d.stack_cap:
            grown = <Frame*>realloc(d.stack, d.stack_cap * 2 * sizeof(Frame))
            if grown == NULL:
                return fail(d, E_NOMEM, c)
            d.stack = grown
            d.stack_cap *= 2
        d.stack[depth].node = child
        d.stack[depth].i = 0
        d.stack[depth].remaining = 0
        depth += 1
    return 0

cdef inline int skip_prim(State* d, Node* n, Cur* c) noexcept nogil:
    """Skip one primitive value of an unprojected field: the common types here, with
    the same checks as `walk_prim` (which takes the rest)."""
    cdef int64_t v
    cdef int r
    cdef int op = n.op
    if op == OP_LONG:
        r = skip_long(c)
    elif op == OP_INT:
        r = read_int(c, &v)
    elif op == OP_STRING or op == OP_BYTES:
        r = read_len(c, &v)
        if r == E_OK:
            c.p += v
    elif op == OP_DOUBLE:
        r = need(c, 8)
        if r == E_OK:
            c.p += 8
    elif op == OP_FLOAT:
        r = need(c, 4)
        if r == E_OK:
            c.p += 4
    elif op == OP_BOOL:
        r = need(c, 1)
        if r == E_OK:
            if c.p[0] > 1:
                return fail(d, E_BOOL, c)
            c.p += 1
    else:
        return walk_prim(d, n, c, NULL)
    if r:
        return fail(d, r, c)
    return 0


cdef int skip_union(State* d, Node* n, Cur* c) noexcept nogil:
    """Skip one value of an unprojected union: its branch index, then the branch
    (primitives directly, anything else through `walk`)."""
    cdef int64_t v
    cdef int r = read_varint(c, &v)
    cdef Node* branch
    if r:
        return fail(d, r, c)
    if v < 0 or v >= n.nkids:
        return fail(d, E_UNION, c)
    branch = d.nodes + d.kids[n.kid0 + v]
    if branch.op <= OP_ENUM:
        return skip_prim(d, branch, c)
    return walk(d, d.kids[n.kid0 + v], c, NULL)


cdef int walk_prim(State* d, Node* n, Cur* c, Col* out) noexcept nogil:
    cdef int64_t v, blen, sidx
    cdef int r
    cdef float fv
    cdef double dv
    cdef int op = n.op
    if n.minsz == 0 and charge(d, 1, c) < 0:  # null, fixed(0): no bytes, bounded work
        return -1
    if op == OP_NULL:
        if out != NULL and var_put(out, <const uint8_t*>b"null", 4) < 0:
            return fail(d, E_NOMEM, c)
        return 0
    elif op == OP_BOOL:
        if need(c, 1):
            return fail(d, E_EOF, c)
        if c.p[0] > 1:
            return fail(d, E_BOOL, c)
        if out != NULL:
            if c.p[0]:
                r = var_put(out, <const uint8_t*>b"true", 4)
            else:
                r = var_put(out, <const uint8_t*>b"false", 5)
            if r < 0:
                return fail(d, E_NOMEM, c)
        c.p += 1
        return 0
    elif op == OP_INT or op == OP_LONG:
        r = read_int(c, &v) if op == OP_INT else read_long(c, &v)
        if r:
            return fail(d, r, c)
        if out != NULL and put_long(out, v) < 0:
            return fail(d, E_NOMEM, c)
        return 0
    elif op == OP_FLOAT or op == OP_DOUBLE:
        blen = 4 if op == OP_FLOAT else 8
        if need(c, blen):
            return fail(d, E_EOF, c)
        if out != NULL:
            if op == OP_FLOAT:
                memcpy(&fv, c.p, 4)
                dv = fv
            else:
                memcpy(&dv, c.p, 8)
            if put_double(out, dv, op == OP_FLOAT) < 0:
                return fail(d, E_NOMEM, c)
        c.p += blen
        return 0
    elif op == OP_STRING or op == OP_BYTES or op == OP_FIXED:
        r = read_span(c, n.param if op == OP_FIXED else -1, &blen)
        if r:
            return fail(d, r, c)
        if out != NULL:
            if op == OP_STRING and not utf8_valid(c.p, blen):
                if not d.utf8_replace:
                    return fail(d, E_UTF8, c)
                r = put_utf8_replaced(out, c.p, blen, True)
            else:
                r = put_json_string(out, c.p, blen, op != OP_STRING)
            if r < 0:
                return fail(d, E_NOMEM, c)
        c.p += blen
        return 0
    elif op == OP_ENUM:
        r = read_long(c, &v)
        if r:
            return fail(d, r, c)
        if v < 0 or v >= n.param:
            return fail(d, E_ENUM, c)
        if out != NULL:
            sidx = n.param2 + v
            if var_put(out, d.strptr + d.stroffs[sidx], d.stroffs[sidx + 1] - d.stroffs[sidx]) < 0:
                return fail(d, E_NOMEM, c)
        return 0
    return fail(d, E_UNION, c)


# ---------------------------------------------------------------- runs of skipped fields
#
# A query that decodes a few columns of a wide record skips most of its fields, one
# after the other.  Each unprojected field of a primitive type, or of a union of null
# and a primitive type, gets a one-byte code when the decoder is built
# (`plan_skip_runs`); the record loop hands a run of such fields to `skip_run`,
# which steps over them in one tight loop: no node lookups, no calls.  Any value off
# its fast paths (a long varint, an overlong union index, too few bytes left) is
# skipped by the general functions, which make the same checks and raise the same
# errors.

cdef enum:
    SK_LONG = 1     # a varint of up to 10 bytes
    SK_INT = 2      # a varint in the int range
    SK_LEN = 3      # a length, then that many bytes (string, bytes)
    SK_F8 = 4       # 8 bytes (double)
    SK_F4 = 5       # 4 bytes (float)
    SK_BOOL = 6     # one byte, 0 or 1
    SK_KIND = 7     # the mask of the kinds above
    SK_NULL0 = 8    # a union of two branches, the first null, the second of the kind
    SK_NULL1 = 16   # a union of two branches, the second null, the first of the kind


cdef inline uint8_t skip_kind(int op) noexcept nogil:
    if op == OP_LONG:
        return SK_LONG
    if op == OP_INT:
        return SK_INT
    if op == OP_STRING or op == OP_BYTES:
        return SK_LEN
    if op == OP_DOUBLE:
        return SK_F8
    if op == OP_FLOAT:
        return SK_F4
    if op == OP_BOOL:
        return SK_BOOL
    return 0


cdef void plan_skip_runs(State* d, int32_t nnodes, int32_t nkids) noexcept nogil:
    """Give each kid that is an unprojected field of a primitive (or null-or-primitive
    union) type its skip code, and each kid the length of the run of coded kids
    starting there (a record loop caps it at the record's end)."""
    cdef int32_t i, k, kid
    cdef Node* n
    cdef Node* w
    cdef Node* b0
    cdef Node* b1
    cdef uint8_t code
    for i in range(nnodes):
        n = &d.nodes[i]
        if n.op != OP_RECORD:
            continue
        for k in range(n.kid0, n.kid0 + n.nkids):
            kid = d.kids[k]
            code = 0
            if 0 <= kid < nnodes and d.nodes[kid].op == OP_SKIP:
                w = &d.nodes[d.kids[d.nodes[kid].kid0]]
                code = skip_kind(w.op)
                if w.op == OP_UNION and w.nkids == 2:
                    b0 = &d.nodes[d.kids[w.kid0]]
                    b1 = &d.nodes[d.kids[w.kid0 + 1]]
                    if b0.op == OP_NULL and skip_kind(b1.op):
                        code = skip_kind(b1.op) | SK_NULL0
                    elif b1.op == OP_NULL and skip_kind(b0.op):
                        code = skip_kind(b0.op) | SK_NULL1
            d.skipcode[k] = code
    d.skiprun[nkids] = 0
    for k in range(nkids - 1, -1, -1):
        d.skiprun[k] = d.skiprun[k + 1] + 1 if d.skipcode[k] else 0


cdef inline const uint8_t* skip_value(uint8_t kind, const uint8_t* p,
                                      const uint8_t* end) noexcept nogil:
    """Where a value of skip kind `kind` (SK_LONG ... SK_BOOL) at `p` ends, taken the
    fast way (at least 15 bytes readable at `p`), or NULL where the general path
    must decide: a varint that may be out of range, a length of three bytes or
    more, negative or past the end, a boolean byte other than 0 or 1."""
    cdef uint64_t w, stop
    cdef int nbytes
    cdef int64_t v
    cdef uint8_t b
    if kind == SK_LONG or kind == SK_INT:
        memcpy(&w, p, 8)
        stop = ~w & 0x8080808080808080ULL
        if stop != 0:
            nbytes = (jl_ctz64(stop) >> 3) + 1
            # five bytes or more may be out of the int range: read_int decides
            if kind == SK_LONG or nbytes < 5 or (nbytes == 5 and p[4] < 0x10):
                return p + nbytes
    elif kind == SK_LEN:
        b = p[0]
        if b < 0x80:
            v = b
            nbytes = 1
        elif p[1] < 0x80:
            v = (b & 0x7F) | (<int64_t>p[1] << 7)
            nbytes = 2
        else:
            return NULL  # longer: read_len decides
        # a negative length, or one past the end: read_len says which
        if not (v & 1) and (v >> 1) <= end - p - nbytes:
            return p + nbytes + (v >> 1)
    elif kind == SK_F8:
        return p + 8
    elif kind == SK_F4:
        return p + 4
    elif kind == SK_BOOL:
        if p[0] <= 1:
            return p + 1
    return NULL


cdef inline const uint8_t* skip_coded(State* d, uint8_t code, const uint8_t* p,
                                      const uint8_t* end, bint flat=False) noexcept nogil:
    """Where the field of skip code `code` at `p` ends, taken the fast way (at least
    16 bytes readable at `p`), or NULL where the general path must decide (and
    raise).  A null branch spends the zero-byte budget as the general path does;
    when that would run out, the general path raises it.  With `flat`, a union of
    null and a double or float is stepped over without a branch on its index."""
    cdef uint8_t b, kind = code & SK_KIND
    cdef int isnull
    if code & (SK_NULL0 | SK_NULL1):
        b = p[0]
        if b != 0 and b != 2:
            return NULL  # an invalid or overlong index
        p += 1
        isnull = (b == 0) == ((code & SK_NULL0) != 0)  # the null branch
        if flat and (kind == SK_F8 or kind == SK_F4):
            # nulls and values mix at random: no branch on which this one is (two
            # chains at once gain: a mispredicted branch costs both; one chain
            # loses: the branch's prediction lets it run ahead of the byte's load)
            if d.zero_used + isnull > d.zero_budget:
                return NULL
            d.zero_used += isnull
            return p + (1 - isnull) * (8 if kind == SK_F8 else 4)
        if isnull:
            if d.zero_used >= d.zero_budget:
                return NULL
            d.zero_used += 1
            return p
    return skip_value(kind, p, end)


cdef int skip_run(State* d, const uint8_t* codes, const int32_t* kidp, int32_t count,
                  Cur* c) noexcept nogil:
    """Skip `count` unprojected fields whose codes are `codes` (their nodes `kidp`)."""
    cdef const uint8_t* p = c.p
    cdef const uint8_t* q
    cdef const uint8_t* end = c.end
    cdef int32_t i
    cdef Node* tn
    for i in range(count):
        if end - p >= 16:  # (near the end, the general path checks every byte)
            q = skip_coded(d, codes[i], p, end)
            if q != NULL:
                p = q
                continue
        # off the fast paths: field i the general way, with every check and its error
        c.p = p
        tn = d.nodes + d.kids[d.nodes[kidp[i]].kid0]
        if tn.op <= OP_ENUM:
            if skip_prim(d, tn, c) < 0:
                return -1
        elif skip_union(d, tn, c) < 0:
            return -1
        p = c.p
    c.p = p
    return 0


# ---------------------------------------------------------------- steps over a run
#
# `skip_run` still pays a dispatch per field.  When the decoder is built, each run
# of coded fields within a record is also compiled into steps (`plan_skip_ops`), each
# ending at a field of variable size: the fixed-size fields before it (doubles,
# floats, booleans) become a byte count, and consecutive varints are stepped over
# together (`jl_skip_varints`).  Wide rows then take a few steps, not a dispatch
# per field.  A step whose values leave the fast path (too few bytes left, a
# boolean byte other than 0 or 1, a long varint, a length off the fast path) is
# handed to `skip_run` from its first field, which checks everything and raises
# the same errors.

cdef enum:
    SO_END = 0      # the run is over
    SO_FIXED = 1    # only fixed-size fields
    SO_VARINTS = 2  # fixed-size fields, then `n` varints
    SO_LEN = 3      # fixed-size fields, then a length and its bytes
    SO_FIELD = 4    # one field `skip_run` steps over (a union of null and a primitive)
    SO_MAX_PRE = 48      # fixed-size bytes one step covers at most
    SO_MAX_VARINTS = 8   # varints one step covers at most


cdef void plan_skip_ops(State* d, int32_t nnodes, int32_t nkids) noexcept nogil:
    """Compile each run of coded fields of a record into steps (`d.ops`), and point
    `d.skipop` of the run's first kid at its first step (else -1)."""
    cdef int32_t i, k, start, stop, f, nops = 0, size
    cdef Node* n
    cdef SkipOp* op
    cdef uint8_t code
    for k in range(nkids + 1):
        d.skipop[k] = -1
    for i in range(nnodes):
        n = &d.nodes[i]
        if n.op != OP_RECORD:
            continue
        k = n.kid0
        while k < n.kid0 + n.nkids:
            if not d.skipcode[k]:
                k += 1
                continue
            start = k
            stop = min(k + d.skiprun[k], n.kid0 + n.nkids)
            d.skipop[start] = nops
            op = &d.ops[nops]
            op.field = 0
            f = 0
            while f < stop - start:
                code = d.skipcode[start + f]
                size = 8 if code == SK_F8 else 4 if code == SK_F4 else 1 if code == SK_BOOL else 0
                if size and op.pre + size <= SO_MAX_PRE:
                    if code == SK_BOOL:
                        op.bools |= 1ULL << op.pre
                    op.pre += size
                    op.nfixed += 1
                    op.nfields += 1
                    f += 1
                    continue
                if size or code & (SK_NULL0 | SK_NULL1):
                    if op.nfields:  # the fixed-size fields so far: a step of their own
                        op.kind = SO_FIXED
                        nops += 1
                        op = &d.ops[nops]
                        op.field = f
                    if size:
                        continue  # (a fresh step takes it)
                    op.kind = SO_FIELD
                    op.nfields = 1
                    f += 1
                elif code == SK_LEN:
                    op.kind = SO_LEN
                    op.nfields += 1
                    f += 1
                else:  # a long or an int, and the varints after it
                    op.kind = SO_VARINTS
                    while (f < stop - start and op.n < SO_MAX_VARINTS
                           and (d.skipcode[start + f] == SK_LONG
                                or d.skipcode[start + f] == SK_INT)):
                        if d.skipcode[start + f] == SK_INT:
                            op.ints |= 1 << op.n
                        op.n += 1
                        op.nfields += 1
                        f += 1
                nops += 1
                op = &d.ops[nops]
                op.field = f
            if op.nfields:
                op.kind = SO_FIXED
                nops += 1
                op = &d.ops[nops]
            op.kind = SO_END
            nops += 1
            k = stop


cdef inline const uint8_t* skip_step(State* d, const SkipOp* op, const uint8_t* codes,
                                     const int32_t* kidp, const uint8_t* p,
                                     Cur* c, bint flat=False) noexcept nogil:
    """Step over the fields of step `op` from `p` (`codes`, `kidp`: its run's); return
    where they end, or NULL on an error (in `d`, `c.p` where it is).  `flat`: see
    `skip_coded`."""
    cdef const uint8_t* q
    cdef const uint8_t* end = c.end
    cdef uint64_t bools
    cdef int k, span, rest = 0  # (off the fast path: the whole step the general way)
    if end - p >= op.pre + 16:
        if op.kind == SO_FIELD:
            q = skip_coded(d, codes[op.field], p, end, flat)
            if q != NULL:
                return q
        else:
            bools = op.bools
            while bools:
                if p[jl_ctz64(bools)] > 1:
                    break
                bools &= bools - 1
            if not bools:
                q = p + op.pre
                if op.kind == SO_VARINTS:
                    span = jl_skip_varints(q, op.n, op.ints, &k)
                    if k == op.n:
                        return q + span
                    p = q + span  # the varints stepped over; the rest the general way
                    rest = op.nfixed + k
                elif op.kind == SO_LEN:
                    q = skip_value(SK_LEN, q, end)
                    if q != NULL:
                        return q
                else:
                    return q
    c.p = p
    if skip_run(d, codes + op.field + rest, kidp + op.field + rest, op.nfields - rest, c) < 0:
        return NULL
    return c.p


cdef inline int skip_ops(State* d, const SkipOp* op, const uint8_t* codes, const int32_t* kidp,
                  Cur* c) noexcept nogil:
    """Step over a run of coded fields by its steps `op` (`codes`, `kidp`: the run's)."""
    cdef const uint8_t* p = c.p
    while op.kind != SO_END:
        p = skip_step(d, op, codes, kidp, p, c)
        if p == NULL:
            return -1
        op += 1
    c.p = p
    return 0
