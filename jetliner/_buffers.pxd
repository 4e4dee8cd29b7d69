# The buffer allocator of jetliner/_buffers.c (see _buffers.h), as the compiled
# modules call it.  Only jetliner._decoder links it in: one pool per process.

from libc.stdint cimport int64_t


cdef extern from "_buffers.h":
    void* buf_alloc "jl_buf_alloc"(size_t n, int zero) noexcept nogil
    void* buf_realloc "jl_buf_realloc"(void* p, size_t n) noexcept nogil
    void buf_free "jl_buf_free"(void* p) noexcept nogil
    void jl_set_pool_limit(size_t n) noexcept nogil
    void jl_trim() noexcept nogil
    void jl_set_refuse_maps(int on) noexcept nogil
    size_t jl_pool_bytes() noexcept nogil
    int64_t jl_live_maps() noexcept nogil
    size_t JL_BIG
    size_t jl_pread(int fd, void* buf, size_t n, int64_t offset, int* err) noexcept nogil
