/* blake3_x86.c — BLAKE3 kernels hashing 8 inputs at once with AVX2 and 16 with AVX-512F:
 * one vector holds the same state word of every input ("transposed" state), so the rounds are
 * the portable ones on vectors. Each function carries its own target attribute, so the file
 * is built with the project's flags and runs only where engine/blake3.c saw the CPU flag.
 * Empty on other architectures. */
#include "engine/blake3_impl.h"

#ifdef NZ_B3_X86

#include <immintrin.h>

/* ---- AVX2: 8 inputs ---- */

#define AVX2 __attribute__((target("avx2")))

AVX2 static inline __m256i add8(__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }
AVX2 static inline __m256i xor8(__m256i a, __m256i b) { return _mm256_xor_si256(a, b); }
AVX2 static inline __m256i rot16_8(__m256i x)
{
    return _mm256_shuffle_epi8(x, _mm256_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2, 13, 12, 15,
                                                  14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2));
}
AVX2 static inline __m256i rot12_8(__m256i x)
{
    return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
}
AVX2 static inline __m256i rot8_8(__m256i x)
{
    return _mm256_shuffle_epi8(x, _mm256_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1, 12, 15, 14,
                                                  13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1));
}
AVX2 static inline __m256i rot7_8(__m256i x)
{
    return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25));
}

/* The four G of a half round at once: a, b, c, d are the state words of G number 0..3. */
#define HALF_ROUND(V, ADD, XOR, R16, R12, R8, R7, M, S, a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, \
                   d3, o)                                                                                          \
    do {                                                                                                           \
        V[a0] = ADD(ADD(V[a0], V[b0]), M[S[o + 0]]);                                                               \
        V[a1] = ADD(ADD(V[a1], V[b1]), M[S[o + 2]]);                                                               \
        V[a2] = ADD(ADD(V[a2], V[b2]), M[S[o + 4]]);                                                               \
        V[a3] = ADD(ADD(V[a3], V[b3]), M[S[o + 6]]);                                                               \
        V[d0] = R16(XOR(V[d0], V[a0]));                                                                            \
        V[d1] = R16(XOR(V[d1], V[a1]));                                                                            \
        V[d2] = R16(XOR(V[d2], V[a2]));                                                                            \
        V[d3] = R16(XOR(V[d3], V[a3]));                                                                            \
        V[c0] = ADD(V[c0], V[d0]);                                                                                 \
        V[c1] = ADD(V[c1], V[d1]);                                                                                 \
        V[c2] = ADD(V[c2], V[d2]);                                                                                 \
        V[c3] = ADD(V[c3], V[d3]);                                                                                 \
        V[b0] = R12(XOR(V[b0], V[c0]));                                                                            \
        V[b1] = R12(XOR(V[b1], V[c1]));                                                                            \
        V[b2] = R12(XOR(V[b2], V[c2]));                                                                            \
        V[b3] = R12(XOR(V[b3], V[c3]));                                                                            \
        V[a0] = ADD(ADD(V[a0], V[b0]), M[S[o + 1]]);                                                               \
        V[a1] = ADD(ADD(V[a1], V[b1]), M[S[o + 3]]);                                                               \
        V[a2] = ADD(ADD(V[a2], V[b2]), M[S[o + 5]]);                                                               \
        V[a3] = ADD(ADD(V[a3], V[b3]), M[S[o + 7]]);                                                               \
        V[d0] = R8(XOR(V[d0], V[a0]));                                                                             \
        V[d1] = R8(XOR(V[d1], V[a1]));                                                                             \
        V[d2] = R8(XOR(V[d2], V[a2]));                                                                             \
        V[d3] = R8(XOR(V[d3], V[a3]));                                                                             \
        V[c0] = ADD(V[c0], V[d0]);                                                                                 \
        V[c1] = ADD(V[c1], V[d1]);                                                                                 \
        V[c2] = ADD(V[c2], V[d2]);                                                                                 \
        V[c3] = ADD(V[c3], V[d3]);                                                                                 \
        V[b0] = R7(XOR(V[b0], V[c0]));                                                                             \
        V[b1] = R7(XOR(V[b1], V[c1]));                                                                             \
        V[b2] = R7(XOR(V[b2], V[c2]));                                                                             \
        V[b3] = R7(XOR(V[b3], V[c3]));                                                                             \
    } while (0)

/* One round: the columns, then the diagonals (spec §2.2). */
#define ROUND(V, ADD, XOR, R16, R12, R8, R7, M, S)                                                                 \
    do {                                                                                                           \
        HALF_ROUND(V, ADD, XOR, R16, R12, R8, R7, M, S, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0);  \
        HALF_ROUND(V, ADD, XOR, R16, R12, R8, R7, M, S, 0, 1, 2, 3, 5, 6, 7, 4, 10, 11, 8, 9, 15, 12, 13, 14, 8);  \
    } while (0)

/* The 7 rounds, unrolled: the schedule indices are constants. */
#define ROUNDS(V, ADD, XOR, R16, R12, R8, R7, M)                                                                   \
    do {                                                                                                           \
        ROUND(V, ADD, XOR, R16, R12, R8, R7, M, nz_b3_schedule[0]);                                                \
        ROUND(V, ADD, XOR, R16, R12, R8, R7, M, nz_b3_schedule[1]);                                                \
        ROUND(V, ADD, XOR, R16, R12, R8, R7, M, nz_b3_schedule[2]);                                                \
        ROUND(V, ADD, XOR, R16, R12, R8, R7, M, nz_b3_schedule[3]);                                                \
        ROUND(V, ADD, XOR, R16, R12, R8, R7, M, nz_b3_schedule[4]);                                                \
        ROUND(V, ADD, XOR, R16, R12, R8, R7, M, nz_b3_schedule[5]);                                                \
        ROUND(V, ADD, XOR, R16, R12, R8, R7, M, nz_b3_schedule[6]);                                                \
    } while (0)

/* Transposes the 8x8 matrix of 32-bit words in v (row i = v[i]). */
AVX2 static inline void transpose8(__m256i v[8])
{
    __m256i ab01 = _mm256_unpacklo_epi32(v[0], v[1]), ab23 = _mm256_unpackhi_epi32(v[0], v[1]);
    __m256i cd01 = _mm256_unpacklo_epi32(v[2], v[3]), cd23 = _mm256_unpackhi_epi32(v[2], v[3]);
    __m256i ef01 = _mm256_unpacklo_epi32(v[4], v[5]), ef23 = _mm256_unpackhi_epi32(v[4], v[5]);
    __m256i gh01 = _mm256_unpacklo_epi32(v[6], v[7]), gh23 = _mm256_unpackhi_epi32(v[6], v[7]);
    __m256i abcd0 = _mm256_unpacklo_epi64(ab01, cd01), abcd1 = _mm256_unpackhi_epi64(ab01, cd01);
    __m256i abcd2 = _mm256_unpacklo_epi64(ab23, cd23), abcd3 = _mm256_unpackhi_epi64(ab23, cd23);
    __m256i efgh0 = _mm256_unpacklo_epi64(ef01, gh01), efgh1 = _mm256_unpackhi_epi64(ef01, gh01);
    __m256i efgh2 = _mm256_unpacklo_epi64(ef23, gh23), efgh3 = _mm256_unpackhi_epi64(ef23, gh23);
    /* abcdK holds column K of rows 0-3 in its low half and column K+4 in its high half. */
    v[0] = _mm256_permute2x128_si256(abcd0, efgh0, 0x20);
    v[1] = _mm256_permute2x128_si256(abcd1, efgh1, 0x20);
    v[2] = _mm256_permute2x128_si256(abcd2, efgh2, 0x20);
    v[3] = _mm256_permute2x128_si256(abcd3, efgh3, 0x20);
    v[4] = _mm256_permute2x128_si256(abcd0, efgh0, 0x31);
    v[5] = _mm256_permute2x128_si256(abcd1, efgh1, 0x31);
    v[6] = _mm256_permute2x128_si256(abcd2, efgh2, 0x31);
    v[7] = _mm256_permute2x128_si256(abcd3, efgh3, 0x31);
}

/* Message words 0..15 of block `off` of the 8 inputs, one vector per word. */
AVX2 static inline void load_msg8(const uint8_t *const *in, size_t off, __m256i m[16])
{
    for (int i = 0; i < 8; i++) {
        m[i] = _mm256_loadu_si256((const __m256i *)(const void *)(in[i] + off));
        m[8 + i] = _mm256_loadu_si256((const __m256i *)(const void *)(in[i] + off + 32));
        _mm_prefetch((const char *)(in[i] + off + 8 * 1024), _MM_HINT_T0); /* see hash16 */
    }
    transpose8(m);
    transpose8(m + 8);
}

AVX2 static inline void counters8(uint64_t counter, int increment, __m256i *lo, __m256i *hi)
{
    uint32_t l[8], h[8];
    for (int i = 0; i < 8; i++) {
        uint64_t c = counter + (increment ? (uint64_t)i : 0);
        l[i] = (uint32_t)c;
        h[i] = (uint32_t)(c >> 32);
    }
    *lo = _mm256_loadu_si256((const __m256i *)(const void *)l);
    *hi = _mm256_loadu_si256((const __m256i *)(const void *)h);
}

AVX2 static void hash8(const uint8_t *const *in, size_t blocks, const uint32_t key[8], uint64_t counter, int increment,
                       uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out)
{
    __m256i h[8], clo, chi;
    for (int i = 0; i < 8; i++)
        h[i] = _mm256_set1_epi32((int)key[i]);
    counters8(counter, increment, &clo, &chi);
    uint8_t bf = flags | flags_start;
    for (size_t b = 0; b < blocks; b++) {
        if (b + 1 == blocks)
            bf |= flags_end;
        __m256i m[16], v[16];
        load_msg8(in, b * 64, m);
        for (int i = 0; i < 8; i++)
            v[i] = h[i];
        for (int i = 0; i < 4; i++)
            v[8 + i] = _mm256_set1_epi32((int)nz_b3_iv[i]);
        v[12] = clo;
        v[13] = chi;
        v[14] = _mm256_set1_epi32(64);
        v[15] = _mm256_set1_epi32(bf);
        ROUNDS(v, add8, xor8, rot16_8, rot12_8, rot8_8, rot7_8, m);
        for (int i = 0; i < 8; i++)
            h[i] = xor8(v[i], v[i + 8]);
        bf = flags;
    }
    transpose8(h); /* h[i] = the chaining value of input i */
    for (int i = 0; i < 8; i++)
        _mm256_storeu_si256((__m256i *)(void *)(out + 32 * i), h[i]);
}

void nz_b3_hash_many_avx2(const uint8_t *const *inputs, size_t n, size_t blocks, const uint32_t key[8],
                          uint64_t counter, int increment, uint8_t flags, uint8_t flags_start, uint8_t flags_end,
                          uint8_t *out)
{
    while (n >= 8) {
        hash8(inputs, blocks, key, counter, increment, flags, flags_start, flags_end, out);
        if (increment)
            counter += 8;
        inputs += 8;
        n -= 8;
        out += 8 * 32;
    }
    nz_b3_hash_many_portable(inputs, n, blocks, key, counter, increment, flags, flags_start, flags_end, out);
}

/* ---- AVX-512F: 16 inputs ---- */

#define AVX512 __attribute__((target("avx512f,avx2")))

AVX512 static inline __m512i add16(__m512i a, __m512i b) { return _mm512_add_epi32(a, b); }
AVX512 static inline __m512i xor16(__m512i a, __m512i b) { return _mm512_xor_si512(a, b); }
AVX512 static inline __m512i rot16_16(__m512i x) { return _mm512_ror_epi32(x, 16); }
AVX512 static inline __m512i rot12_16(__m512i x) { return _mm512_ror_epi32(x, 12); }
AVX512 static inline __m512i rot8_16(__m512i x) { return _mm512_ror_epi32(x, 8); }
AVX512 static inline __m512i rot7_16(__m512i x) { return _mm512_ror_epi32(x, 7); }

/* Transposes the 16x16 matrix of 32-bit words in v (row i = v[i]). */
AVX512 static inline void transpose16(__m512i v[16])
{
    /* t[2k], t[2k+1]: rows 2k and 2k+1 interleaved, words 0,1 / 2,3 of each 128-bit lane. */
    __m512i t[16], g[16];
    for (int k = 0; k < 8; k++) {
        t[2 * k] = _mm512_unpacklo_epi32(v[2 * k], v[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_epi32(v[2 * k], v[2 * k + 1]);
    }
    /* g[4j + c]: lane L holds column 4L + c of rows 4j..4j+3. */
    for (int j = 0; j < 4; j++) {
        g[4 * j + 0] = _mm512_unpacklo_epi64(t[4 * j], t[4 * j + 2]);
        g[4 * j + 1] = _mm512_unpackhi_epi64(t[4 * j], t[4 * j + 2]);
        g[4 * j + 2] = _mm512_unpacklo_epi64(t[4 * j + 1], t[4 * j + 3]);
        g[4 * j + 3] = _mm512_unpackhi_epi64(t[4 * j + 1], t[4 * j + 3]);
    }
    /* Column 4L + c = lane L of g[c], g[4 + c], g[8 + c], g[12 + c]: a 4x4 transpose of lanes. */
    for (int c = 0; c < 4; c++) {
        __m512i s0 = _mm512_shuffle_i32x4(g[c], g[4 + c], 0x44);      /* g0.L0 g0.L1 g1.L0 g1.L1 */
        __m512i s1 = _mm512_shuffle_i32x4(g[c], g[4 + c], 0xEE);      /* g0.L2 g0.L3 g1.L2 g1.L3 */
        __m512i s2 = _mm512_shuffle_i32x4(g[8 + c], g[12 + c], 0x44); /* g2.L0 g2.L1 g3.L0 g3.L1 */
        __m512i s3 = _mm512_shuffle_i32x4(g[8 + c], g[12 + c], 0xEE); /* g2.L2 g2.L3 g3.L2 g3.L3 */
        v[0 + c] = _mm512_shuffle_i32x4(s0, s2, 0x88);                /* lane 0 of g0..g3 */
        v[4 + c] = _mm512_shuffle_i32x4(s0, s2, 0xDD);                /* lane 1 */
        v[8 + c] = _mm512_shuffle_i32x4(s1, s3, 0x88);                /* lane 2 */
        v[12 + c] = _mm512_shuffle_i32x4(s1, s3, 0xDD);               /* lane 3 */
    }
}

AVX512 static inline void counters16(uint64_t counter, int increment, __m512i *lo, __m512i *hi)
{
    uint32_t l[16], h[16];
    for (int i = 0; i < 16; i++) {
        uint64_t c = counter + (increment ? (uint64_t)i : 0);
        l[i] = (uint32_t)c;
        h[i] = (uint32_t)(c >> 32);
    }
    *lo = _mm512_loadu_si512((const void *)l);
    *hi = _mm512_loadu_si512((const void *)h);
}

AVX512 static void hash16(const uint8_t *const *in, size_t blocks, const uint32_t key[8], uint64_t counter,
                          int increment, uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out)
{
    __m512i h[8], clo, chi;
    for (int i = 0; i < 8; i++)
        h[i] = _mm512_set1_epi32((int)key[i]);
    counters16(counter, increment, &clo, &chi);
    uint8_t bf = flags | flags_start;
    for (size_t b = 0; b < blocks; b++) {
        if (b + 1 == blocks)
            bf |= flags_end;
        __m512i m[16], v[16];
        for (int i = 0; i < 16; i++) {
            m[i] = _mm512_loadu_si512((const void *)(in[i] + b * 64));
            /* 16 streams at 1 KiB strides are more than the hardware prefetcher follows: fetch
             * this input's block of the next group of 16 chunks (measured best). */
            _mm_prefetch((const char *)(in[i] + b * 64 + 16 * 1024), _MM_HINT_T0);
        }
        transpose16(m);
        for (int i = 0; i < 8; i++)
            v[i] = h[i];
        for (int i = 0; i < 4; i++)
            v[8 + i] = _mm512_set1_epi32((int)nz_b3_iv[i]);
        v[12] = clo;
        v[13] = chi;
        v[14] = _mm512_set1_epi32(64);
        v[15] = _mm512_set1_epi32(bf);
        ROUNDS(v, add16, xor16, rot16_16, rot12_16, rot8_16, rot7_16, m);
        for (int i = 0; i < 8; i++)
            h[i] = xor16(v[i], v[i + 8]);
        bf = flags;
    }
    /* Inputs 0-7 are the low halves, 8-15 the high ones: two 8x8 transposes. */
    __m256i lo[8], hi[8];
    for (int i = 0; i < 8; i++) {
        lo[i] = _mm512_castsi512_si256(h[i]);
        hi[i] = _mm512_extracti64x4_epi64(h[i], 1);
    }
    transpose8(lo);
    transpose8(hi);
    for (int i = 0; i < 8; i++) {
        _mm256_storeu_si256((__m256i *)(void *)(out + 32 * i), lo[i]);
        _mm256_storeu_si256((__m256i *)(void *)(out + 32 * (8 + i)), hi[i]);
    }
}

void nz_b3_hash_many_avx512(const uint8_t *const *inputs, size_t n, size_t blocks, const uint32_t key[8],
                            uint64_t counter, int increment, uint8_t flags, uint8_t flags_start, uint8_t flags_end,
                            uint8_t *out)
{
    while (n >= 16) {
        hash16(inputs, blocks, key, counter, increment, flags, flags_start, flags_end, out);
        if (increment)
            counter += 16;
        inputs += 16;
        n -= 16;
        out += 16 * 32;
    }
    nz_b3_hash_many_avx2(inputs, n, blocks, key, counter, increment, flags, flags_start, flags_end, out);
}

#endif
