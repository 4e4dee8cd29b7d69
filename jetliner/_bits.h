/* What the compiled modules assume of the machine, and the bit tricks they need that
   C does not spell portably.  Avro's fixed-size values (float, double, the bytes of a
   varint read eight at a time) are little-endian and are read in place. */

#ifndef JETLINER_BITS_H
#define JETLINER_BITS_H

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "jetliner's decoder reads Avro's little-endian values in place: little-endian machines only"
#endif

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The number of trailing zero bits of x (x != 0). */
static inline int jl_ctz64(unsigned long long x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctzll(x);
#else
    int n = 0;
    while (!(x & 1)) { x >>= 1; n++; }
    return n;
#endif
}

/* Ask for the cache line at p ahead of its use (a hint: p need not be readable). */
static inline void jl_prefetch(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p, 0, 0);
#else
    (void)p;
#endif
}

/* Whether a varint of `len` bytes, `last` its last, is valid as an int (`is_int`: at
   most five bytes, the fifth below 0x10) or, taken the fast way, as a long (at most
   nine bytes; ten may be valid, which the general path decides). */
static inline int jl_varint_fits(int len, unsigned char last, int is_int) {
    return is_int ? (len < 5 || (len == 5 && last < 0x10)) : len <= 9;
}

/* Step over the first of `m` (at most 16) varints that follow each other at p, where
   16 bytes are readable; bit j of `ints` is set when the j-th is an int.  Stores in
   *k how many it stepped over and returns the bytes they take.  It stops at the end
   of the 16 bytes and before a varint that may be invalid (an int of five bytes
   whose last is 0x10 or more, or longer; a long of ten bytes or more): the caller
   checks that one the general way.  The ends of the varints are found together (the
   bytes without a continuation bit, from one 16-byte load), not one after another. */
static inline int jl_skip_varints(const unsigned char* p, int m, unsigned ints, int* k) {
    unsigned term;
#if defined(__SSE2__)
    term = ~(unsigned)_mm_movemask_epi8(_mm_loadu_si128((const __m128i*)p)) & 0xFFFFu;
#else
    term = 0;
    for (int i = 0; i < 16; i++)
        term |= (unsigned)(p[i] < 0x80) << i;
#endif
    if (m == 2 && (term & (term - 1))) {
        /* the common pair (a long and an int, say), without the loop: both ends at once */
        int e1 = jl_ctz64(term) + 1;
        int e2 = jl_ctz64(term & (term - 1)) + 1;
        if (jl_varint_fits(e1, p[e1 - 1], ints & 1)
                && jl_varint_fits(e2 - e1, p[e2 - 1], ints & 2)) {
            *k = 2;
            return e2;
        }
    }
    int start = 0, j = 0;
    for (; j < m && term; j++) {
        int end = jl_ctz64(term) + 1;
        if (!jl_varint_fits(end - start, p[end - 1], (ints >> j) & 1))
            break;
        term &= term - 1;
        start = end;
    }
    *k = j;
    return start;
}

#endif
