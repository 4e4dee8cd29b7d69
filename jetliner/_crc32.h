/* CRC-32 of zlib and gzip (reflected polynomial 0xEDB88320), the checksum Avro's
   snappy codec stores after each block.

   jl_crc32(crc, buf, len) returns what zlib's crc32(crc, buf, len) returns, for every
   buffer and starting value (so a running CRC can be continued piece by piece).  It
   runs on the fastest implementation this CPU has: carry-less multiplication folding
   with AVX-512 VPCLMULQDQ, or with 128-bit PCLMULQDQ, else portable slicing-by-8
   tables.  The choice is made once, by jl_crc32_init(), which must run before the
   first jl_crc32 (jetliner._snappy calls it when it is imported, under the GIL);
   after that every function here is thread-safe and needs no GIL. */

#ifndef JL_CRC32_H
#define JL_CRC32_H

#include <stddef.h>
#include <stdint.h>

#define JL_CRC32_TABLE 0    /* slicing-by-8 tables: every CPU */
#define JL_CRC32_PCLMUL 1   /* x86-64 with PCLMULQDQ */
#define JL_CRC32_VPCLMUL 2  /* x86-64 with AVX-512 (F, VL) and VPCLMULQDQ, enabled by the OS */
#define JL_CRC32_NIMPL 3

void jl_crc32_init(void);
uint32_t jl_crc32(uint32_t crc, const uint8_t* buf, size_t len);

/* For tests and measurements: which implementations this CPU can run, which one
   jl_crc32 uses, their names, and one of them called directly (it must be available). */
int jl_crc32_available(int impl);
int jl_crc32_selected(void);
const char* jl_crc32_name(int impl);
uint32_t jl_crc32_with(int impl, uint32_t crc, const uint8_t* buf, size_t len);

#endif
