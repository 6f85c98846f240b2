/* blake3_impl.h — what engine/blake3.c shares with its x86 kernels (engine/blake3_x86.c);
 * nothing else includes it. */
#ifndef NZ_ENGINE_BLAKE3_IMPL_H
#define NZ_ENGINE_BLAKE3_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* Domain flags (spec Table 3). */
enum { B3_CHUNK_START = 1, B3_CHUNK_END = 2, B3_PARENT = 4, B3_ROOT = 8 };

extern const uint32_t nz_b3_iv[8];
/* Message word order of each of the 7 rounds (the permutation of spec §2.2 applied r times).
 * Static, so that the kernels' unrolled rounds index their message vectors with constants. */
static const uint8_t nz_b3_schedule[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

/* Hashes n inputs of `blocks` 64-byte blocks each, all from the chaining value `key`: input i
 * gets the counter counter + i (increment) or counter, flags | flags_start on its first block,
 * flags | flags_end on its last. Writes n 32-byte chaining values to out. Chunks are hashed
 * with blocks = 16, parents with blocks = 1 (two child chaining values as the block). */
typedef void nz_b3_hash_many_fn(const uint8_t *const *inputs, size_t n, size_t blocks, const uint32_t key[8],
                                uint64_t counter, int increment, uint8_t flags, uint8_t flags_start,
                                uint8_t flags_end, uint8_t *out);

nz_b3_hash_many_fn nz_b3_hash_many_portable;
#if defined(__x86_64__) || defined(__i386__)
#define NZ_B3_X86 1
/* 8 inputs at a time with AVX2, 16 with AVX-512F (the rest with the narrower kernels). */
nz_b3_hash_many_fn nz_b3_hash_many_avx2;
nz_b3_hash_many_fn nz_b3_hash_many_avx512;
#endif

#endif
