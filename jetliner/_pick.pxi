# ---------------------------------------------------------------- the rows a filter keeps
#
# Included by _decoder.pyx.  A filter that is a conjunction of comparisons between
# int or long columns and integers (`jetliner.query.comparisons`) is evaluated here,
# over the first pass's columns, rather than by Polars: for a task of a wide file,
# exporting the columns, importing them as frames and evaluating the predicate cost
# more than the rest of the second pass.  A null value keeps no row, as in Polars.

cdef enum:
    CMP_LT = 0
    CMP_LE = 1
    CMP_GT = 2
    CMP_GE = 3
    CMP_EQ = 4
    CMP_NE = 5


cdef inline bint cmp_holds(int64_t v, int64_t op, int64_t k) noexcept nogil:
    if op == CMP_LT:
        return v < k
    if op == CMP_LE:
        return v <= k
    if op == CMP_GT:
        return v > k
    if op == CMP_GE:
        return v >= k
    if op == CMP_EQ:
        return v == k
    return v != k


cdef bint bad_term(State* d, int32_t ncols, int64_t rows, const int64_t* t,
                   int64_t n) noexcept nogil:
    """Whether a term of the `n` at `t` is not a comparison of a column of `rows` ints."""
    cdef int64_t i
    cdef Col* col
    for i in range(n):
        if not (0 <= t[3 * i] < ncols and 0 <= t[3 * i + 1] <= CMP_NE):
            return True
        col = &d.cols[t[3 * i]]
        if col.kind != CK_FIXED or (col.elem != 4 and col.elem != 8) or col.length != rows:
            return True
    return False


cdef int64_t pick_rows(State* d, int64_t rows, const int64_t* terms, int64_t nterms,
                       int64_t* out, int64_t base) noexcept nogil:
    """Write into `out` each row (plus `base`) where every (column, comparison, value)
    term of `terms` holds, the columns of 4 or 8 bytes a value; return how many."""
    cdef int64_t i, t, n = 0, v
    cdef Col* col
    cdef bint keep
    for i in range(rows):
        keep = True
        for t in range(nterms):
            col = &d.cols[terms[3 * t]]
            if col.validity != NULL and not (col.validity[i >> 3] >> (i & 7)) & 1:
                keep = False
                break
            v = (<int32_t*>col.data)[i] if col.elem == 4 else (<int64_t*>col.data)[i]
            if not cmp_holds(v, terms[3 * t + 1], terms[3 * t + 2]):
                keep = False
                break
        if keep:
            out[n] = i + base
            n += 1
    return n
