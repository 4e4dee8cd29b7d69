# The Arrow C Data Interface (its structs are in _arrow_abi.pxd):
# the release callbacks of the structs the decoder exports (which
# free every buffer through the buffer allocator), the destructors of the PyCapsule
# protocol's capsules, and allocation helpers that raise MemoryError.
# Included by _decoder.pyx (see the note there on why an include, not a module).


from jetliner._arrow_abi cimport ArrowArray, ArrowSchema


cdef enum:
    ARROW_FLAG_NULLABLE = 2


cdef void release_schema(ArrowSchema* s) noexcept nogil:
    cdef int64_t i
    if s == NULL or s.release == NULL:
        return
    free(<void*>s.format)
    free(<void*>s.name)
    for i in range(s.n_children if s.children != NULL else 0):
        if s.children[i] != NULL:
            if s.children[i].release != NULL:
                s.children[i].release(s.children[i])
            free(s.children[i])
    free(s.children)
    if s.dictionary != NULL:
        if s.dictionary.release != NULL:
            s.dictionary.release(s.dictionary)
        free(s.dictionary)
    s.release = NULL


cdef void release_array(ArrowArray* a) noexcept nogil:
    cdef int64_t i
    if a == NULL or a.release == NULL:
        return
    for i in range(a.n_buffers if a.buffers != NULL else 0):
        buf_free(<void*>a.buffers[i])
    free(<void*>a.buffers)
    for i in range(a.n_children if a.children != NULL else 0):
        if a.children[i] != NULL:
            if a.children[i].release != NULL:
                a.children[i].release(a.children[i])
            free(a.children[i])
    free(a.children)
    if a.dictionary != NULL:
        if a.dictionary.release != NULL:
            a.dictionary.release(a.dictionary)
        free(a.dictionary)
    a.release = NULL


cdef void capsule_schema_destructor(object capsule) noexcept:
    cdef ArrowSchema* s = <ArrowSchema*>PyCapsule_GetPointer(capsule, "arrow_schema")
    if s != NULL:
        if s.release != NULL:
            s.release(s)
        free(s)


cdef void capsule_array_destructor(object capsule) noexcept:
    cdef ArrowArray* a = <ArrowArray*>PyCapsule_GetPointer(capsule, "arrow_array")
    if a != NULL:
        if a.release != NULL:
            a.release(a)
        free(a)


cdef void* zalloc(size_t n) except NULL:
    """Zeroed memory, or MemoryError (never a NULL to dereference)."""
    cdef void* p = calloc(n if n > 0 else 1, 1)
    if p == NULL:
        raise MemoryError()
    return p


cdef void* bzalloc(size_t n) except NULL:
    """A zeroed buffer for Arrow (freed with `buf_free`), or MemoryError."""
    cdef void* p = buf_alloc(n if n > 0 else 1, 1)
    if p == NULL:
        raise MemoryError()
    return p


cdef char* dup_str(bytes b) except NULL:
    cdef Py_ssize_t n = len(b)
    cdef char* out = <char*>malloc(n + 1)
    if out == NULL:
        raise MemoryError()
    memcpy(out, <const char*>b, n)
    out[n] = 0
    return out
