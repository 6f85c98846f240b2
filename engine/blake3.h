/* blake3.h — BLAKE3 (unkeyed hash mode, 32-byte output), the content hash of engine/dedup.c.
 *
 * Written from the BLAKE3 specification (O'Connor, Aumasson, Neves, Wilcox-O'Hearn, 2020:
 * compression function §2.2, chunks §2.3, tree §2.4, output §2.6); verified against the
 * official test vectors and b3sum's output in tests/check_inputs.c.
 *
 * Why BLAKE3: 128-bit collision resistance like SHA-256, but its tree of 1 KiB chunks lets one
 * core hash 16 chunks at once with AVX-512 (8 with AVX2): ~3 GB/s per core here reading a
 * file from the page cache, against ~1.2 GB/s for SHA-256 with SHA-NI (openssl) and ~0.5 GB/s
 * for wolfSSL's BLAKE2b (tests/bench/README.md, "Dedup hash"). The kernel is chosen once at run
 * time from CPUID (AVX-512F, AVX2, else portable C); all of them give the same digests. */
#ifndef NZ_ENGINE_BLAKE3_H
#define NZ_ENGINE_BLAKE3_H

#include <stddef.h>
#include <stdint.h>

#define NZ_B3_OUT_LEN 32
#define NZ_B3_BLOCK_LEN 64
#define NZ_B3_CHUNK_LEN 1024
/* 2^54 chunks of 1 KiB = 2^64 bytes: the stack of chaining values never holds more. */
#define NZ_B3_MAX_DEPTH 54

struct nz_b3 {
    uint32_t cv[8];                  /* chaining value of the chunk being hashed */
    uint64_t chunk_counter;          /* index of that chunk */
    uint8_t buf[NZ_B3_BLOCK_LEN];    /* its last, not yet compressed block */
    uint8_t buf_len;
    uint8_t blocks_compressed;
    uint8_t cv_stack_len;
    uint8_t cv_stack[(NZ_B3_MAX_DEPTH + 1) * NZ_B3_OUT_LEN]; /* subtrees still to be merged */
};

void nz_b3_init(struct nz_b3 *h);
void nz_b3_update(struct nz_b3 *h, const void *data, size_t len);
/* The digest of everything passed so far; the state is left as it was. */
void nz_b3_final(const struct nz_b3 *h, uint8_t out[NZ_B3_OUT_LEN]);

/* The kernels. nz_b3_impl() is the one in use (the best the CPU has, unless forced). */
enum nz_b3_impl { NZ_B3_PORTABLE, NZ_B3_AVX2, NZ_B3_AVX512 };
enum nz_b3_impl nz_b3_impl(void);
const char *nz_b3_impl_name(enum nz_b3_impl impl);
/* True when this CPU (and build) can run that kernel. */
int nz_b3_impl_available(enum nz_b3_impl impl);
/* For tests: use this kernel from now on (process-wide). Returns 0, or -1 when it is not
 * available (nothing changed). nz_b3_unforce() goes back to the CPU's best. */
int nz_b3_force(enum nz_b3_impl impl);
void nz_b3_unforce(void);

#endif
