// CRC-32/ISO-HDLC (reflected polynomial 0xEDB88320) by folding with carry-less multiplies.
//
// The data is read as 128-bit little-endian blocks, bit k of a block standing for x^(127-k).
// A block A followed D bits later by the rest folds forward as
//   A·x^D = H·x^(D+64) + L·x^D ≡ H·(x^(D+63) mod P)·x + L·(x^(D-1) mod P)·x   (mod P),
// H being A's first 8 bytes and L its last 8; the extra ·x is what a carry-less multiply of
// two reflected 64-bit values adds, so the constants below are x^(D+63) and x^(D-1) mod P,
// reflected into the top 32 bits of a 64-bit lane. Four accumulators fold by 512 bits, are
// folded into one by 128 bits, and the last 128-bit value (congruent to the whole message,
// the starting register xored into its first 4 bytes) goes through the bitwise CRC from a zero
// register, as do the bytes that do not fill a block.

#include "CRC32Hardware.h"

static uint32_t crc32_bitwise(uint32_t reg, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        reg ^= p[i];
        for (int b = 0; b < 8; b++) reg = (reg & 1) ? (reg >> 1) ^ 0xEDB88320u : reg >> 1;
    }
    return reg;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <emmintrin.h>
#include <wmmintrin.h>

int syncreplay_crc32_clmul_available(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_PCLMUL) != 0 && (d & bit_SSE2) != 0;
}

__attribute__((target("pclmul,sse2")))
static inline __m128i fold(__m128i acc, __m128i k, __m128i next) {
    return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(acc, k, 0x00), _mm_clmulepi64_si128(acc, k, 0x11)), next);
}

__attribute__((target("pclmul,sse2")))
uint32_t syncreplay_crc32_clmul(uint32_t reg, const uint8_t *p, size_t n) {
    if (n < 64) return crc32_bitwise(reg, p, n);
    // Low lane: x^(D+63) mod P; high lane: x^(D-1) mod P.
    const __m128i k128 = _mm_set_epi64x((long long)0x9ba54c6f00000000ULL, (long long)0x65673b4600000000ULL);
    const __m128i k512 = _mm_set_epi64x((long long)0xcad38e8f00000000ULL, (long long)0x653d982200000000ULL);
    __m128i a0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_cvtsi32_si128((int)reg));
    __m128i a1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i a2 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i a3 = _mm_loadu_si128((const __m128i *)(p + 48));
    size_t i = 64;
    for (; i + 64 <= n; i += 64) {
        a0 = fold(a0, k512, _mm_loadu_si128((const __m128i *)(p + i)));
        a1 = fold(a1, k512, _mm_loadu_si128((const __m128i *)(p + i + 16)));
        a2 = fold(a2, k512, _mm_loadu_si128((const __m128i *)(p + i + 32)));
        a3 = fold(a3, k512, _mm_loadu_si128((const __m128i *)(p + i + 48)));
    }
    __m128i acc = fold(fold(fold(a0, k128, a1), k128, a2), k128, a3);
    for (; i + 16 <= n; i += 16) acc = fold(acc, k128, _mm_loadu_si128((const __m128i *)(p + i)));
    uint8_t last[16];
    _mm_storeu_si128((__m128i *)last, acc);
    return crc32_bitwise(crc32_bitwise(0, last, 16), p + i, n - i);
}

#else

int syncreplay_crc32_clmul_available(void) { return 0; }

uint32_t syncreplay_crc32_clmul(uint32_t reg, const uint8_t *p, size_t n) {
    (void)p; (void)n;
    return reg;
}

#endif
