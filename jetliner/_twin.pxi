# ---------------------------------------------------------------- two rows at once
#
# Included by _decoder.pyx.  The first pass of late materialisation (decode the
# filter's columns, step over the rest, note where each record starts) is a chain
# of dependent loads: where a field ends is where the next one is read.  One
# record at a time, the processor waits on that chain and its other units idle.
# Here two chains run side by side: the blocks of a task are split in two halves,
# each decoded by its own state (its own columns), and the two halves' records
# are taken one of each at a time, field by field in lockstep, so that the
# processor overlaps the two chains.  The states hold the same plan.
#
# Any failure stops both chains; the caller then decodes block by block, one
# record at a time, which names the damage and raises the usual error.


cdef inline int skip_ops_twin(State* a, State* b, const SkipOp* op, const uint8_t* codes,
                              const int32_t* kidp, Cur* ca, Cur* cb) noexcept nogil:
    """`skip_ops` over a run of fields of two records, `a`'s at `ca` and `b`'s at `cb`."""
    cdef const uint8_t* pa = ca.p
    cdef const uint8_t* pb = cb.p
    while op.kind != SO_END:
        pa = skip_step(a, op, codes, kidp, pa, ca, True)
        pb = skip_step(b, op, codes, kidp, pb, cb, True)
        if pa == NULL or pb == NULL:
            return -1
        op += 1
    ca.p = pa
    cb.p = pb
    return 0


cdef int dec_twin(State* a, State* b, int32_t ni, Cur* ca, Cur* cb) noexcept nogil:
    """Decode one row of each state: the root record's fields in lockstep (runs of
    stepped-over fields, primitive fields), any other field one row after the other."""
    cdef Node* n = &a.nodes[ni]
    cdef int32_t k, br, so, kid
    cdef const int32_t* kidp
    cdef int ra, rb, kop
    if n.op != OP_RECORD or n.col >= 0:
        if dec_root(a, ni, ca) < 0:
            return -1
        return dec_root(b, ni, cb)
    kidp = a.kids + n.kid0
    k = 0
    while k < n.nkids:
        br = a.skiprun[n.kid0 + k]
        if br > 0:
            if br > n.nkids - k:
                br = n.nkids - k
            so = a.skipop[n.kid0 + k]
            if so >= 0:
                if skip_ops_twin(a, b, a.ops + so, a.skipcode + n.kid0 + k, kidp + k,
                                 ca, cb) < 0:
                    return -1
            elif (skip_run(a, a.skipcode + n.kid0 + k, kidp + k, br, ca) < 0
                    or skip_run(b, a.skipcode + n.kid0 + k, kidp + k, br, cb) < 0):
                return -1
            k += br
            continue
        kid = kidp[k]
        kop = a.nodes[kid].op
        if kop == OP_LONG:
            ra = prim_long(a, a.nodes + kid, ca)
            rb = prim_long(b, b.nodes + kid, cb)
        elif kop == OP_INT:
            ra = prim_int(a, a.nodes + kid, ca)
            rb = prim_int(b, b.nodes + kid, cb)
        elif kop == OP_DOUBLE:
            ra = prim_fixed_width(a, a.nodes + kid, ca, 8)
            rb = prim_fixed_width(b, b.nodes + kid, cb, 8)
        elif kop == OP_FLOAT:
            ra = prim_fixed_width(a, a.nodes + kid, ca, 4)
            rb = prim_fixed_width(b, b.nodes + kid, cb, 4)
        else:
            ra = dec(a, kid, ca)
            rb = dec(b, kid, cb) if ra == 0 else 0
        if ra < 0 or rb < 0:
            return -1
        k += 1
    return 0


cdef struct Chain:
    State* d
    Cur c
    const int64_t* off   # block i is [off[i], off[i + 1]) of the buffer
    const int64_t* cnt   # and holds cnt[i] records
    int64_t b            # the chain's next block
    int64_t bend         # one past its last block
    int64_t left         # records left in its current block
    int64_t* out         # where the next record's start goes
    bint opened          # a block was opened (its end is checked when it is done)


cdef int chain_open(Chain* h, int64_t minsz) noexcept nogil:
    """Move chain `h` past its finished blocks: 1 when it has a record to decode,
    0 when it is done, -1 when a block does not hold its records exactly."""
    while h.left == 0:
        if h.opened and h.c.p != h.c.end:
            return -1
        if h.b == h.bend:
            return 0
        h.c.p = h.c.start + h.off[h.b]
        h.c.end = h.c.start + h.off[h.b + 1]
        h.left = h.cnt[h.b]
        h.b += 1
        h.opened = True
        if h.left > h.c.end - h.c.p or check_count(h.d, h.left, minsz, &h.c) < 0:
            return -1
    return 1


cdef int chain_run(Chain* h, int32_t root, int64_t n) noexcept nogil:
    """Decode `n` records of `h`'s current block alone, noting where each starts."""
    cdef int64_t i
    for i in range(n):
        h.out[0] = h.c.p - h.c.start
        if dec_root(h.d, root, &h.c) < 0:
            return -1
        h.out += 1
    h.left -= n
    return 0


cdef int64_t marked_twin(Chain* x, Chain* y, int32_t root, int64_t minsz) noexcept nogil:
    """Decode the blocks of chains `x` and `y`, two records at a time while both have
    some.  Returns -1 when every block held its records exactly, else the index of
    a block that did not (the first failing one of its chain)."""
    cdef int rx, ry
    cdef int64_t i, n
    while True:
        rx = chain_open(x, minsz)
        if rx < 0:
            return x.b - 1
        ry = chain_open(y, minsz)
        if ry < 0:
            return y.b - 1
        if rx and ry:
            n = x.left if x.left < y.left else y.left
            for i in range(n):
                x.out[0] = x.c.p - x.c.start
                y.out[0] = y.c.p - y.c.start
                if dec_twin(x.d, y.d, root, &x.c, &y.c) < 0:
                    return x.b - 1
                x.out += 1
                y.out += 1
            x.left -= n
            y.left -= n
        elif rx:
            if chain_run(x, root, x.left) < 0:
                return x.b - 1
        elif ry:
            if chain_run(y, root, y.left) < 0:
                return y.b - 1
        else:
            return -1


cdef int64_t marked_blocks(State* a, State* b, int32_t root, const uint8_t* start,
                           const int64_t* off, const int64_t* cnt, int64_t nblocks,
                           int64_t split, int64_t* out, int64_t first, int64_t* rows_a,
                           int64_t* rows_b) noexcept nogil:
    """Decode blocks [0, `split`) into `a` and [`split`, `nblocks`) into `b` (their
    records' starts at `out` and at ``out + first``); count the rows each decoded.
    Returns as `marked_twin` does; on success ``out[total]`` is the last block's end.

    The two share the batch's zero-byte budget: each may spend half of what is left,
    so that the pair never accepts more than one decoder would (a pair that runs out
    fails, and the caller's block-by-block decode decides with the whole budget)."""
    cdef Chain x
    cdef Chain y
    cdef int64_t bad, rest
    cdef int64_t budget_a = a.zero_budget, budget_b = b.zero_budget
    if a != b and split < nblocks:
        rest = budget_a - a.zero_used - b.zero_used
        if rest < 0:
            rest = 0
        a.zero_budget = a.zero_used + rest - rest // 2
        b.zero_budget = b.zero_used + rest // 2
    x.d = a
    x.c.start = start
    x.off = off
    x.cnt = cnt
    x.b = 0
    x.bend = split
    x.left = 0
    x.out = out
    x.opened = False
    y = x
    y.d = b
    y.b = split
    y.bend = nblocks
    y.out = out + first
    bad = marked_twin(&x, &y, root, a.nodes[root].minsz)
    a.zero_budget = budget_a
    b.zero_budget = budget_b
    rows_a[0] = x.out - out
    rows_b[0] = y.out - (out + first)
    if bad < 0:
        y.out[0] = off[nblocks] if nblocks else 0
    return bad
