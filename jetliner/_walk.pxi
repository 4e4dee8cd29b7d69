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
