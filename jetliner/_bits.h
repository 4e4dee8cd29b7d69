/* What the compiled modules assume of the machine, and the one bit trick they need
   that C does not spell portably.  Avro's fixed-size values (float, double, the
   bytes of a varint read eight at a time) are little-endian and are read in place. */

#ifndef JETLINER_BITS_H
#define JETLINER_BITS_H

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "jetliner's decoder reads Avro's little-endian values in place: little-endian machines only"
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

#endif
