/* Buffer memory for the decoder's columns and the Arrow arrays it exports.

   Every column buffer, and every buffer handed to Arrow, comes from
   jl_buf_alloc / jl_buf_realloc and goes back through jl_buf_free (an Arrow
   array's release callback calls it).  Small buffers live on the C heap; from
   JL_BIG bytes on (Linux), a buffer is its own anonymous mapping: it grows with
   mremap (no copy), and when freed it is unmapped at once, or kept for reuse in a
   pool of at most a set number of bytes (32 MiB unless changed).  The C heap keeps
   freed memory of threads' arenas resident: streaming a large file through the
   heap held several times the live data; mapped buffers give it back, and the
   pool keeps reused buffers' pages instead of faulting fresh ones in for every
   batch.  When no mapping can be had (the process's limit on mappings, say), the
   heap serves the buffer instead.  Thread-safe: the pool has one lock, held across
   fork() so that a child never inherits it taken. */

#ifndef JETLINER_BUFFERS_H
#define JETLINER_BUFFERS_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define JL_HIDDEN __attribute__((visibility("hidden")))
#else
#define JL_HIDDEN
#endif

/* From 2^JL_BIG_LOG usable bytes on: own mapping.  With 256 KiB, the column
   buffers of a wide file's batches (100 columns of ~12k rows) stayed on the heap,
   and its holes held 55 MB of a 290 MB frame's read. */
#define JL_BIG_LOG 16
#define JL_BIG ((size_t)1 << JL_BIG_LOG)

/* `n` usable bytes (zeroed if `zero`), or NULL if out of memory. */
JL_HIDDEN void* jl_buf_alloc(size_t n, int zero);
/* Grow (or, for heap buffers, shrink) to `n` usable bytes; the contents up to the
   smaller size are kept.  NULL (and `p` untouched) if out of memory. */
JL_HIDDEN void* jl_buf_realloc(void* p, size_t n);
/* Free a buffer of jl_buf_alloc / jl_buf_realloc (NULL: nothing). */
JL_HIDDEN void jl_buf_free(void* p);

/* Keep at most `n` bytes of freed mappings for reuse (0: unmap at once). */
JL_HIDDEN void jl_set_pool_limit(size_t n);
/* Tests: act as if every mmap and mremap failed (on != 0). */
JL_HIDDEN void jl_set_refuse_maps(int on);
/* Give back what is kept for reuse: every pooled mapping and (glibc) the heap's free
   memory.  For when no read is running: the pool only pays off between batches. */
JL_HIDDEN void jl_trim(void);
/* Bytes of freed mappings kept for reuse. */
JL_HIDDEN size_t jl_pool_bytes(void);
/* Live mappings, pooled ones included. */
JL_HIDDEN int64_t jl_live_maps(void);

/* Read up to `n` bytes of `fd` at `offset` into `buf` (pread, retried when
   interrupted; fewer only at the end of the file): the count read, and in *err 0 or
   the error number (ENOSYS where there is no pread: Windows). */
JL_HIDDEN size_t jl_pread(int fd, void* buf, size_t n, int64_t offset, int* err);

#endif
