/* CRC-32 (zlib's), by carry-less multiplication folding where the CPU has it: see
   _crc32.h for what it computes.

   The arithmetic.  The CRC register of a message M(x) is M(x) * x^32 mod P(x), with
   P = x^32 + x^26 + ... + 1 (0x104C11DB7), after zlib's inversions: the incoming CRC,
   inverted, is XORed into the first four bytes, and the result is inverted again.
   The CRC is "reflected": bit 0 of each byte, and of each register, holds the
   highest-degree coefficient.  A 128-bit chunk loaded little-endian therefore holds
   H(x) * x^64 + L(x), H in its low 64 bits and L in its high 64 bits.

   Folding.  A chunk followed by D more bits of message contributes
   (H * x^64 + L) * x^D == H * (x^(D+64) mod P) + L * (x^D mod P) to the remainder, a
   polynomial of under 96 bits that can be XORed into the chunk D bits further on.
   PCLMULQDQ multiplies two reflected 64-bit operands into a 128-bit product that is,
   read as reflected 128 bits, the true product times x^(65 - m) for an m-bit
   reflected constant; with 33-bit constants that is x^32, so the constants are
   x^(D+32) mod P (times H) and x^(D-32) mod P (times L), each reflected into 33 bits.
   Four accumulators fold 512 bits ahead (2048 bits with four 512-bit accumulators
   of VPCLMULQDQ), then fold into one, 128 bits at a time.

   Reduction.  The last 128-bit accumulator X = H * x^64 + L must become
   X * x^32 mod P.  H * x^96 + L * x^32 == H * (x^96 mod P) + L * x^32 (96 bits); its
   top 32 bits W_h fold once more, W_h * x^64 == W_h * (x^64 mod P), leaving 64 bits
   Z; Barrett reduction then gives Z mod P = Z + floor(Z_h * mu / x^32) * P (low 32
   bits), with mu = floor(x^64 / P) and Z_h the top 32 bits of Z.

   Every constant below is recomputed from the formula in its comment by
   tests/unit/test_crc32.py, which also checks every implementation against zlib. */

#include <stdint.h>
#include <stddef.h>

#include "_crc32.h"

/* polynomial arithmetic over GF(2); each value is the 33-bit reflection of the
   polynomial named in its comment */
#define JL_K_2080 0x11542778aULL  /* x^2080 mod P */
#define JL_K_2016 0x1322d1430ULL  /* x^2016 mod P */
#define JL_K_544 0x154442bd4ULL   /* x^544 mod P */
#define JL_K_480 0x1c6e41596ULL   /* x^480 mod P */
#define JL_K_160 0x1751997d0ULL   /* x^160 mod P */
#define JL_K_96 0x0ccaa009eULL    /* x^96 mod P */
#define JL_K_64 0x163cd6124ULL    /* x^64 mod P */
#define JL_MU 0x1f7011641ULL      /* floor(x^64 / P) */
#define JL_P 0x1db710641ULL       /* P */

/* ---- portable: slicing by 8 ------------------------------------------------ */

static uint32_t jl_table[8][256];

static void jl_table_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320U & (0U - (c & 1U)));
        jl_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int t = 1; t < 8; t++)
            jl_table[t][n] = (jl_table[t - 1][n] >> 8) ^ jl_table[0][jl_table[t - 1][n] & 0xFF];
}

static inline uint32_t jl_le32(const uint8_t* p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* the raw register (not inverted) after `n` more bytes */
static uint32_t jl_crc_table(uint32_t c, const uint8_t* p, size_t n) {
    while (n >= 8) {
        uint32_t a = c ^ jl_le32(p), b = jl_le32(p + 4);
        c = jl_table[7][a & 0xFF] ^ jl_table[6][(a >> 8) & 0xFF] ^
            jl_table[5][(a >> 16) & 0xFF] ^ jl_table[4][a >> 24] ^
            jl_table[3][b & 0xFF] ^ jl_table[2][(b >> 8) & 0xFF] ^
            jl_table[1][(b >> 16) & 0xFF] ^ jl_table[0][b >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ jl_table[0][(c ^ *p++) & 0xFF];
    return c;
}

/* ---- x86-64: carry-less multiplication ------------------------------------- */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define JL_X86 1
#include <immintrin.h>

#define JL_PCLMUL_TARGET __attribute__((target("sse2,pclmul")))
#define JL_VPCLMUL_TARGET \
    __attribute__((target("sse2,pclmul,avx512f,avx512vl,vpclmulqdq")))

/* x folded forward over the distance of `k` (low 64 bits: K(D+32), high: K(D-32)),
   plus the data found there */
static inline __attribute__((always_inline)) JL_PCLMUL_TARGET __m128i
jl_fold(__m128i x, __m128i k, __m128i data) {
    __m128i h = _mm_clmulepi64_si128(x, k, 0x00);
    __m128i l = _mm_clmulepi64_si128(x, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(h, l), data);
}

/* X * x^32 mod P for the last accumulator X: the raw CRC register */
static inline __attribute__((always_inline)) JL_PCLMUL_TARGET uint32_t
jl_reduce(__m128i x) {
    const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
    const __m128i k = _mm_set_epi64x((long long)JL_K_64, (long long)JL_K_96);
    const __m128i barrett = _mm_set_epi64x((long long)JL_P, (long long)JL_MU);
    /* H * (x^96 mod P) + L * x^32: 96 bits, in the low 96 of w */
    __m128i w = _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_srli_si128(x, 8));
    /* W_h * (x^64 mod P) + W_l: 64 bits */
    __m128i z = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(w, mask32), k, 0x10),
                              _mm_srli_si128(w, 4));
    /* Barrett: q = floor(Z_h * mu / x^32), then the low 32 bits of Z + q * P */
    __m128i t = _mm_clmulepi64_si128(_mm_and_si128(z, mask32), barrett, 0x00);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), barrett, 0x10);
    return (uint32_t)_mm_cvtsi128_si32(_mm_srli_si128(_mm_xor_si128(z, t), 4));
}

#define JL_LOAD(p) _mm_loadu_si128((const __m128i*)(p))

/* the raw register after the n bytes at p; n >= 64 and a multiple of 16 */
static JL_PCLMUL_TARGET uint32_t jl_fold_128(uint32_t c, const uint8_t* p, size_t n) {
    const __m128i k512 = _mm_set_epi64x((long long)JL_K_480, (long long)JL_K_544);
    const __m128i k128 = _mm_set_epi64x((long long)JL_K_96, (long long)JL_K_160);
    __m128i x0 = _mm_xor_si128(JL_LOAD(p), _mm_cvtsi32_si128((int)c));
    __m128i x1 = JL_LOAD(p + 16), x2 = JL_LOAD(p + 32), x3 = JL_LOAD(p + 48);
    p += 64;
    n -= 64;
    while (n >= 64) {
        x0 = jl_fold(x0, k512, JL_LOAD(p));
        x1 = jl_fold(x1, k512, JL_LOAD(p + 16));
        x2 = jl_fold(x2, k512, JL_LOAD(p + 32));
        x3 = jl_fold(x3, k512, JL_LOAD(p + 48));
        p += 64;
        n -= 64;
    }
    x0 = jl_fold(x0, k128, x1);
    x0 = jl_fold(x0, k128, x2);
    x0 = jl_fold(x0, k128, x3);
    for (; n >= 16; p += 16, n -= 16)
        x0 = jl_fold(x0, k128, JL_LOAD(p));
    return jl_reduce(x0);
}

static JL_PCLMUL_TARGET uint32_t jl_crc_pclmul(uint32_t c, const uint8_t* p, size_t n) {
    if (n >= 64) {
        size_t m = n & ~(size_t)15;
        c = jl_fold_128(c, p, m);
        p += m;
        n -= m;
    }
    return jl_crc_table(c, p, n);
}

static inline __attribute__((always_inline)) JL_VPCLMUL_TARGET __m512i
jl_fold_512(__m512i x, __m512i k, __m512i data) {
    __m512i h = _mm512_clmulepi64_epi128(x, k, 0x00);
    __m512i l = _mm512_clmulepi64_epi128(x, k, 0x11);
    return _mm512_ternarylogic_epi64(h, l, data, 0x96); /* h ^ l ^ data */
}

#define JL_LOAD512(p) _mm512_loadu_si512((const void*)(p))

/* the raw register after the n bytes at p; n >= 256 and a multiple of 16 */
static JL_VPCLMUL_TARGET uint32_t jl_fold_vpclmul(uint32_t c, const uint8_t* p, size_t n) {
    const __m512i k2048 = _mm512_broadcast_i32x4(
        _mm_set_epi64x((long long)JL_K_2016, (long long)JL_K_2080));
    const __m512i k512 = _mm512_broadcast_i32x4(
        _mm_set_epi64x((long long)JL_K_480, (long long)JL_K_544));
    const __m128i k128 = _mm_set_epi64x((long long)JL_K_96, (long long)JL_K_160);
    __m512i z0 = _mm512_xor_si512(JL_LOAD512(p),
                                  _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)c)));
    __m512i z1 = JL_LOAD512(p + 64), z2 = JL_LOAD512(p + 128), z3 = JL_LOAD512(p + 192);
    p += 256;
    n -= 256;
    while (n >= 256) {
        z0 = jl_fold_512(z0, k2048, JL_LOAD512(p));
        z1 = jl_fold_512(z1, k2048, JL_LOAD512(p + 64));
        z2 = jl_fold_512(z2, k2048, JL_LOAD512(p + 128));
        z3 = jl_fold_512(z3, k2048, JL_LOAD512(p + 192));
        p += 256;
        n -= 256;
    }
    z0 = jl_fold_512(z0, k512, z1);
    z0 = jl_fold_512(z0, k512, z2);
    z0 = jl_fold_512(z0, k512, z3);
    for (; n >= 64; p += 64, n -= 64)
        z0 = jl_fold_512(z0, k512, JL_LOAD512(p));
    __m128i x = _mm512_extracti32x4_epi32(z0, 0);
    x = jl_fold(x, k128, _mm512_extracti32x4_epi32(z0, 1));
    x = jl_fold(x, k128, _mm512_extracti32x4_epi32(z0, 2));
    x = jl_fold(x, k128, _mm512_extracti32x4_epi32(z0, 3));
    /* leave the upper halves of the vector registers clean (the compiler adds no
       VZEROUPPER here): dirty ones slow the SSE code after us, jl_crc_pclmul and
       the table loop included, to half speed */
    _mm256_zeroupper();
    for (; n >= 16; p += 16, n -= 16)
        x = jl_fold(x, k128, JL_LOAD(p));
    return jl_reduce(x);
}

static JL_VPCLMUL_TARGET uint32_t jl_crc_vpclmul(uint32_t c, const uint8_t* p, size_t n) {
    if (n >= 256) {
        size_t m = n & ~(size_t)15;
        c = jl_fold_vpclmul(c, p, m);
        p += m;
        n -= m;
    }
    return jl_crc_pclmul(c, p, n);
}
#endif  /* x86-64 */

/* ---- dispatch --------------------------------------------------------------- */

typedef uint32_t (*jl_crc_fn)(uint32_t, const uint8_t*, size_t);

static jl_crc_fn jl_impls[JL_CRC32_NIMPL];
static int jl_selected = JL_CRC32_TABLE;

void jl_crc32_init(void) {
    static int done = 0;
    if (done)
        return;
    jl_table_init();
    jl_impls[JL_CRC32_TABLE] = jl_crc_table;
#ifdef JL_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("pclmul")) {
        jl_impls[JL_CRC32_PCLMUL] = jl_crc_pclmul;
        jl_selected = JL_CRC32_PCLMUL;
        /* AVX-512 counts only when the OS saves its registers, which
           __builtin_cpu_supports checks (XCR0) */
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
            __builtin_cpu_supports("vpclmulqdq")) {
            jl_impls[JL_CRC32_VPCLMUL] = jl_crc_vpclmul;
            jl_selected = JL_CRC32_VPCLMUL;
        }
    }
#endif
    done = 1;
}

uint32_t jl_crc32(uint32_t crc, const uint8_t* buf, size_t len) {
    return ~jl_impls[jl_selected](~crc, buf, len);
}

int jl_crc32_available(int impl) {
    return impl >= 0 && impl < JL_CRC32_NIMPL && jl_impls[impl] != NULL;
}

int jl_crc32_selected(void) { return jl_selected; }

const char* jl_crc32_name(int impl) {
    static const char* names[JL_CRC32_NIMPL] = {"table", "pclmul", "vpclmul"};
    return impl >= 0 && impl < JL_CRC32_NIMPL ? names[impl] : "";
}

uint32_t jl_crc32_with(int impl, uint32_t crc, const uint8_t* buf, size_t len) {
    return ~jl_impls[impl](~crc, buf, len);
}
