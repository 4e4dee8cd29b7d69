/* Read-only mappings of local files, guarded against the file shrinking.

   A local read maps the file's chunks instead of copying them (pread): the
   page cache's pages are the data, and a selective query, which reads every
   byte but keeps little, spent a sixth of its time in the copy.  A mapping has
   one hazard that pread has not: when the file is cut short while it is mapped,
   touching a page past its new end raises SIGBUS, which kills the process.  So
   each mapping is registered, and a SIGBUS handler (installed with the first
   mapping, chained to the handler it replaces) puts a page of zeros in place of
   a vanished page of a registered mapping and marks that mapping; the reader
   asks `jl_map_shrunk` after using the bytes, and raises a typed error instead
   of trusting them.  A fault anywhere else goes to the previous handler (or the
   default action) exactly as if this one were not there.

   Linux only; elsewhere `jl_map_file` declines and the caller reads. */

#ifndef JETLINER_MAPPED_H
#define JETLINER_MAPPED_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define JL_MAP_HIDDEN __attribute__((visibility("hidden")))
#else
#define JL_MAP_HIDDEN
#endif

/* Map `n` > 0 bytes of file descriptor `fd` from `offset`, read-only, its pages
   faulted in now.  On success returns 0, and sets *data to the first byte,
   *base / *len to what jl_unmap_file takes, *slot to the registration.
   Returns -1 when it declines (not Linux, no free registration, the bytes are
   not all in the file now) and an errno value when mmap fails: the caller then
   reads the bytes instead. */
JL_MAP_HIDDEN int jl_map_file(int fd, int64_t offset, size_t n, const uint8_t** data,
                              void** base, size_t* len, int* slot);
/* Unregister and unmap a mapping of jl_map_file. */
JL_MAP_HIDDEN void jl_unmap_file(void* base, size_t len, int slot);
/* Whether the file shrank while mapped, so that some of the mapping reads as zeros:
   a page of it vanished, or the file is now shorter than the bytes mapped. */
JL_MAP_HIDDEN int jl_map_shrunk(int slot);
/* Live registered mappings (tests). */
JL_MAP_HIDDEN int jl_map_count(void);

#endif
