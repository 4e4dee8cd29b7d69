# Arrow export: a batch's column buffers become Arrow arrays (Arrow C Data
# Interface, _arrow.pxi) without being copied.  Each buffer changes owner, column ->
# array, the moment it is placed in the array, so that a failure part way frees it
# once.
# Included by _decoder.pyx (see the note there on why an include, not a module).


cdef int export_batch(Col* cols, list spec, int64_t rows, ArrowSchema* s,
                      ArrowArray* a) except -1:
    """Fill `s` and `a` (zeroed) with a struct array of `rows` rows whose fields are
    the columns `spec` (a list of ExportSpec) describes; the array takes the buffers."""
    cdef int64_t i, n = len(spec)
    s.format = dup_str(b"+s")
    s.name = dup_str(b"")
    s.n_children = n
    s.children = <ArrowSchema**>zalloc((n + 1) * sizeof(ArrowSchema*))
    s.release = release_schema
    a.length = rows
    a.n_buffers = 1
    a.buffers = <const void**>zalloc((1) * sizeof(void*))
    a.n_children = n
    a.children = <ArrowArray**>zalloc((n + 1) * sizeof(ArrowArray*))
    a.release = release_array
    for i in range(n):
        s.children[i] = <ArrowSchema*>zalloc((1) * sizeof(ArrowSchema))
        a.children[i] = <ArrowArray*>zalloc((1) * sizeof(ArrowArray))
        export_column(cols, spec[i], s.children[i], a.children[i], rows)
    return 0


cdef int export_column(Col* cols, spec, ArrowSchema* s, ArrowArray* a,
                       int64_t length) except -1:
    """Fill `s` and `a` (zeroed) with the column `spec` describes (an ExportSpec) and
    its children, which must hold `length` values; the array takes the buffers."""
    cdef int32_t ci = spec.col
    cdef bytes fmt = spec.format
    cdef bytes name = spec.name
    cdef bint nullable = spec.nullable
    cdef list children = spec.children
    cdef object dictionary = spec.dictionary
    cdef int64_t i, nch = len(children)
    cdef Col* c
    cdef int64_t nbuf
    cdef int64_t total, off
    cdef uint8_t* dbuf
    cdef int32_t* doffs
    cdef int64_t* sizes
    s.format = dup_str(fmt)
    s.name = dup_str(name)
    s.flags = ARROW_FLAG_NULLABLE if nullable else 0
    s.n_children = nch
    s.children = <ArrowSchema**>zalloc((nch + 1) * sizeof(ArrowSchema*))
    s.release = release_schema
    a.n_children = nch
    a.children = <ArrowArray**>zalloc((nch + 1) * sizeof(ArrowArray*))
    a.release = release_array
    if ci < 0:
        raise ValueError("export spec without a column")
    c = &cols[ci]
    if c.length != length:
        raise RuntimeError(f"column {name!r} has {c.length} values, expected {length}")
    a.length = c.length
    a.null_count = c.null_count
    if c.kind == CK_NULL:
        a.null_count = c.length
        a.n_buffers = 0
        a.buffers = <const void**>zalloc((1) * sizeof(void*))
    # Each buffer changes owner (column -> array) the moment it is placed in
    # the array, so a MemoryError part way frees it exactly once.
    elif c.kind == CK_STRUCT:
        a.n_buffers = 1
        a.buffers = <const void**>zalloc((1) * sizeof(void*))
        a.buffers[0] = c.validity
        c.validity = NULL
    elif c.kind == CK_BOOL or c.kind == CK_FIXED:
        a.n_buffers = 2
        a.buffers = <const void**>zalloc((2) * sizeof(void*))
        a.buffers[0] = c.validity
        c.validity = NULL
        if c.data == NULL:
            c.data = <uint8_t*>bzalloc(16)
        elif c.kind == CK_FIXED and c.cap > c.length:
            c.data = shrink(c.data, c.length * c.elem)
        a.buffers[1] = c.data
        c.data = NULL
    elif c.kind == CK_VAR:
        # Arrow string/binary views: validity, views, the data buffers, and
        # the sizes of the data buffers
        nbuf = c.nsealed + 1
        a.buffers = <const void**>zalloc((3 + nbuf) * sizeof(void*))
        a.n_buffers = 2 + nbuf + 1
        a.buffers[0] = c.validity
        c.validity = NULL
        a.buffers[1] = shrink(c.views, c.length * 16) if c.views != NULL else bzalloc(16)
        c.views = NULL
        for i in range(c.nsealed):
            a.buffers[2 + i] = c.sealed[i]
            c.sealed[i] = NULL
        a.buffers[1 + nbuf] = shrink(c.data, c.dlen) if c.data != NULL else bzalloc(16)
        c.data = NULL
        sizes = <int64_t*>bzalloc(nbuf * sizeof(int64_t))
        a.buffers[2 + nbuf] = sizes
        for i in range(c.nsealed):
            sizes[i] = c.sealed_len[i]
        sizes[nbuf - 1] = c.dlen
        c.nsealed = 0
    elif c.kind == CK_LIST:
        a.n_buffers = 2
        a.buffers = <const void**>zalloc((2) * sizeof(void*))
        a.buffers[0] = c.validity
        c.validity = NULL
        if c.offsets == NULL:
            c.offsets = <int64_t*>bzalloc((1) * sizeof(int64_t))
        elif c.cap > c.length:
            c.offsets = <int64_t*>shrink(<uint8_t*>c.offsets, (c.length + 1) * sizeof(int64_t))
        a.buffers[1] = c.offsets
        c.offsets = NULL
    if c.null_count == 0 and c.kind != CK_NULL:
        # a validity bitmap without nulls is dead weight
        buf_free(<void*>a.buffers[0])
        a.buffers[0] = NULL
    # the array owns the buffers now
    c.validity = NULL
    c.data = NULL
    c.offsets = NULL
    for i in range(nch):
        s.children[i] = <ArrowSchema*>zalloc((1) * sizeof(ArrowSchema))
        a.children[i] = <ArrowArray*>zalloc((1) * sizeof(ArrowArray))
        child = children[i]
        if c.kind == CK_LIST:
            clen = (<int64_t*>a.buffers[1])[c.length]
        else:
            clen = c.length
        export_column(cols, child, s.children[i], a.children[i], clen)
    if dictionary is not None:
        # enum: int32 indices into a dictionary of utf8 symbols
        s.dictionary = <ArrowSchema*>zalloc((1) * sizeof(ArrowSchema))
        s.dictionary.format = dup_str(b"u")
        s.dictionary.name = dup_str(b"")
        s.dictionary.children = <ArrowSchema**>zalloc((1) * sizeof(ArrowSchema*))
        s.dictionary.release = release_schema
        a.dictionary = <ArrowArray*>zalloc((1) * sizeof(ArrowArray))
        a.dictionary.release = release_array
        total = 0
        for sym in dictionary:
            total += len(sym)
        nsym = len(dictionary)
        # attach every buffer as soon as it exists: a failure later frees it
        a.dictionary.buffers = <const void**>zalloc((3) * sizeof(void*))
        a.dictionary.n_buffers = 3
        dbuf = <uint8_t*>bzalloc(total + 1)
        a.dictionary.buffers[2] = dbuf
        doffs = <int32_t*>bzalloc((nsym + 1) * sizeof(int32_t))
        a.dictionary.buffers[1] = doffs
        off = 0
        for i in range(nsym):
            doffs[i] = <int32_t>off
            sym = dictionary[i]
            memcpy(dbuf + off, <const char*>sym, len(sym))
            off += len(sym)
        doffs[nsym] = <int32_t>off
        a.dictionary.length = nsym
        a.dictionary.children = <ArrowArray**>zalloc((1) * sizeof(ArrowArray*))
        a.dictionary.release = release_array
    return 0
