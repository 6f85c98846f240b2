/* blake3.c — BLAKE3 hash mode: portable compression, the chunk/tree logic and the choice of
 * kernel. See blake3.h; the SIMD kernels are in blake3_x86.c.
 *
 * The tree (spec §2.4): the input is cut into 1 KiB chunks, each hashed to a chaining value
 * (CV) from the IV with its index as counter; two sibling CVs make a parent, the left subtree
 * always holding the largest power of two of chunks that leaves the right one non-empty; the
 * root (a chunk when there is only one, else the top parent) is compressed with ROOT. The
 * hasher keeps the CVs of complete subtrees on a stack and merges them lazily, so the last
 * chunk, or the top parent, is finished only by nz_b3_final(). A run of input that is a whole
 * subtree (a power of two of chunks, aligned to its size, with more input after it) is hashed
 * in one go: its chunks `degree` at a time by the kernel, then its parents the same way, level
 * by level, down to the two CVs that are its children. */
#include "engine/blake3.h"

#include <stdatomic.h>
#include <string.h>

#include "engine/blake3_impl.h"

const uint32_t nz_b3_iv[8] = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
                              0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};

/* ---- the compression function (spec §2.2) ---- */

static inline uint32_t load32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void store32(uint8_t *p, uint32_t w)
{
    p[0] = (uint8_t)w;
    p[1] = (uint8_t)(w >> 8);
    p[2] = (uint8_t)(w >> 16);
    p[3] = (uint8_t)(w >> 24);
}

static inline uint32_t rotr32(uint32_t w, unsigned c) { return (w >> c) | (w << (32 - c)); }

static inline void g(uint32_t v[16], int a, int b, int c, int d, uint32_t x, uint32_t y)
{
    v[a] = v[a] + v[b] + x;
    v[d] = rotr32(v[d] ^ v[a], 16);
    v[c] = v[c] + v[d];
    v[b] = rotr32(v[b] ^ v[c], 12);
    v[a] = v[a] + v[b] + y;
    v[d] = rotr32(v[d] ^ v[a], 8);
    v[c] = v[c] + v[d];
    v[b] = rotr32(v[b] ^ v[c], 7);
}

/* The 16-word state after the 7 rounds (not yet folded). */
static void compress(uint32_t v[16], const uint32_t cv[8], const uint8_t block[NZ_B3_BLOCK_LEN], uint32_t block_len,
                     uint64_t counter, uint32_t flags)
{
    uint32_t m[16];
    for (int i = 0; i < 16; i++)
        m[i] = load32(block + 4 * i);
    for (int i = 0; i < 8; i++)
        v[i] = cv[i];
    for (int i = 0; i < 4; i++)
        v[8 + i] = nz_b3_iv[i];
    v[12] = (uint32_t)counter;
    v[13] = (uint32_t)(counter >> 32);
    v[14] = block_len;
    v[15] = flags;
    /* Unrolled, so that the schedule's indices are constants and m[] stays in registers. */
#define B3_ROUND(r)                                                                                                \
    do {                                                                                                           \
        const uint8_t *s = nz_b3_schedule[r];                                                                      \
        g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);                                                                       \
        g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);                                                                       \
        g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);                                                                      \
        g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);                                                                      \
        g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);                                                                      \
        g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);                                                                    \
        g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);                                                                     \
        g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);                                                                     \
    } while (0)
    B3_ROUND(0);
    B3_ROUND(1);
    B3_ROUND(2);
    B3_ROUND(3);
    B3_ROUND(4);
    B3_ROUND(5);
    B3_ROUND(6);
#undef B3_ROUND
}

static void compress_in_place(uint32_t cv[8], const uint8_t block[NZ_B3_BLOCK_LEN], uint32_t block_len,
                              uint64_t counter, uint32_t flags)
{
    uint32_t v[16];
    compress(v, cv, block, block_len, counter, flags);
    for (int i = 0; i < 8; i++)
        cv[i] = v[i] ^ v[i + 8];
}

void nz_b3_hash_many_portable(const uint8_t *const *inputs, size_t n, size_t blocks, const uint32_t key[8],
                              uint64_t counter, int increment, uint8_t flags, uint8_t flags_start,
                              uint8_t flags_end, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t cv[8];
        memcpy(cv, key, sizeof cv);
        uint64_t ctr = counter + (increment ? i : 0);
        for (size_t b = 0; b < blocks; b++) {
            uint32_t f = flags | (b == 0 ? flags_start : 0) | (b + 1 == blocks ? flags_end : 0);
            compress_in_place(cv, inputs[i] + NZ_B3_BLOCK_LEN * b, NZ_B3_BLOCK_LEN, ctr, f);
        }
        for (int j = 0; j < 8; j++)
            store32(out + NZ_B3_OUT_LEN * i + 4 * j, cv[j]);
    }
}

/* ---- the kernel in use ---- */

static atomic_int best_impl = -1;   /* detected once */
static atomic_int forced_impl = -1; /* tests */

int nz_b3_impl_available(enum nz_b3_impl impl)
{
    switch (impl) {
    case NZ_B3_PORTABLE:
        return 1;
#ifdef NZ_B3_X86
    case NZ_B3_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") != 0;
    case NZ_B3_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx2") != 0;
#endif
    default:
        return 0;
    }
}

enum nz_b3_impl nz_b3_impl(void)
{
    int f = atomic_load_explicit(&forced_impl, memory_order_relaxed);
    if (f >= 0)
        return (enum nz_b3_impl)f;
    int b = atomic_load_explicit(&best_impl, memory_order_relaxed);
    if (b < 0) {
        b = nz_b3_impl_available(NZ_B3_AVX512) ? NZ_B3_AVX512
            : nz_b3_impl_available(NZ_B3_AVX2) ? NZ_B3_AVX2
                                               : NZ_B3_PORTABLE;
        atomic_store_explicit(&best_impl, b, memory_order_relaxed);
    }
    return (enum nz_b3_impl)b;
}

const char *nz_b3_impl_name(enum nz_b3_impl impl)
{
    switch (impl) {
    case NZ_B3_PORTABLE:
        return "portable";
    case NZ_B3_AVX2:
        return "avx2";
    case NZ_B3_AVX512:
        return "avx512";
    }
    return "?";
}

int nz_b3_force(enum nz_b3_impl impl)
{
    if (!nz_b3_impl_available(impl))
        return -1;
    atomic_store(&forced_impl, (int)impl);
    return 0;
}

void nz_b3_unforce(void) { atomic_store(&forced_impl, -1); }

#define MAX_DEGREE 16

struct kernel {
    nz_b3_hash_many_fn *hash_many;
    size_t degree; /* inputs hashed at once (a power of two, <= MAX_DEGREE) */
};

static struct kernel kernel_of(enum nz_b3_impl impl)
{
    switch (impl) {
#ifdef NZ_B3_X86
    case NZ_B3_AVX512:
        return (struct kernel){nz_b3_hash_many_avx512, 16};
    case NZ_B3_AVX2:
        return (struct kernel){nz_b3_hash_many_avx2, 8};
#endif
    default:
        return (struct kernel){nz_b3_hash_many_portable, 4};
    }
}

/* ---- whole subtrees ---- */

/* The CVs of the len / NZ_B3_CHUNK_LEN whole chunks at in (at most k.degree), the first with
 * the counter `counter`. Returns how many. */
static size_t chunks_parallel(struct kernel k, const uint8_t *in, size_t len, uint64_t counter, uint8_t *out)
{
    const uint8_t *ptrs[MAX_DEGREE];
    size_t n = len / NZ_B3_CHUNK_LEN;
    for (size_t i = 0; i < n; i++)
        ptrs[i] = in + i * NZ_B3_CHUNK_LEN;
    k.hash_many(ptrs, n, NZ_B3_CHUNK_LEN / NZ_B3_BLOCK_LEN, nz_b3_iv, counter, 1, 0, B3_CHUNK_START, B3_CHUNK_END,
                out);
    return n;
}

/* The n / 2 parents of the n (even, <= 2 * MAX_DEGREE) CVs at cvs, written to out. */
static size_t parents_parallel(struct kernel k, const uint8_t *cvs, size_t n, uint8_t *out)
{
    const uint8_t *ptrs[MAX_DEGREE];
    for (size_t i = 0; i < n / 2; i++)
        ptrs[i] = cvs + i * 2 * NZ_B3_OUT_LEN;
    k.hash_many(ptrs, n / 2, 1, nz_b3_iv, 0, 0, B3_PARENT, 0, 0, out);
    return n / 2;
}

/* The subtree of a power of two of chunks at in (len bytes), reduced to at most k.degree CVs
 * of its nodes, left to right; returns how many (a power of two). */
static size_t subtree_wide(struct kernel k, const uint8_t *in, size_t len, uint64_t counter, uint8_t *out)
{
    if (len <= k.degree * NZ_B3_CHUNK_LEN)
        return chunks_parallel(k, in, len, counter, out);
    uint8_t cvs[2 * MAX_DEGREE * NZ_B3_OUT_LEN];
    size_t half = len / 2;
    size_t nl = subtree_wide(k, in, half, counter, cvs);
    size_t nr = subtree_wide(k, in + half, half, counter + half / NZ_B3_CHUNK_LEN, cvs + nl * NZ_B3_OUT_LEN);
    return parents_parallel(k, cvs, nl + nr, out);
}

/* The two children of the root of the subtree of 2^j >= 2 chunks at in (len bytes). */
static void subtree_children(struct kernel k, const uint8_t *in, size_t len, uint64_t counter,
                             uint8_t out[2 * NZ_B3_OUT_LEN])
{
    uint8_t cvs[MAX_DEGREE * NZ_B3_OUT_LEN], up[MAX_DEGREE * NZ_B3_OUT_LEN];
    size_t n = subtree_wide(k, in, len, counter, cvs);
    while (n > 2) {
        n = parents_parallel(k, cvs, n, up);
        memcpy(cvs, up, n * NZ_B3_OUT_LEN);
    }
    memcpy(out, cvs, 2 * NZ_B3_OUT_LEN);
}

/* ---- the chunk being hashed, and the outputs ---- */

static size_t chunk_len(const struct nz_b3 *h) { return (size_t)NZ_B3_BLOCK_LEN * h->blocks_compressed + h->buf_len; }

static uint32_t start_flag(const struct nz_b3 *h) { return h->blocks_compressed == 0 ? B3_CHUNK_START : 0; }

static void chunk_reset(struct nz_b3 *h, uint64_t counter)
{
    memcpy(h->cv, nz_b3_iv, sizeof h->cv);
    h->chunk_counter = counter;
    memset(h->buf, 0, sizeof h->buf);
    h->buf_len = 0;
    h->blocks_compressed = 0;
}

/* Adds len bytes (no more than the chunk can take) to the chunk; its last block stays in buf. */
static void chunk_update(struct nz_b3 *h, const uint8_t *in, size_t len)
{
    if (h->buf_len > 0) {
        size_t take = NZ_B3_BLOCK_LEN - h->buf_len;
        if (take > len)
            take = len;
        memcpy(h->buf + h->buf_len, in, take);
        h->buf_len = (uint8_t)(h->buf_len + take);
        in += take;
        len -= take;
        if (len == 0)
            return;
        compress_in_place(h->cv, h->buf, NZ_B3_BLOCK_LEN, h->chunk_counter, start_flag(h));
        h->blocks_compressed++;
        h->buf_len = 0;
        memset(h->buf, 0, sizeof h->buf);
    }
    while (len > NZ_B3_BLOCK_LEN) {
        compress_in_place(h->cv, in, NZ_B3_BLOCK_LEN, h->chunk_counter, start_flag(h));
        h->blocks_compressed++;
        in += NZ_B3_BLOCK_LEN;
        len -= NZ_B3_BLOCK_LEN;
    }
    memcpy(h->buf, in, len);
    h->buf_len = (uint8_t)len;
}

/* A node not yet compressed for its output: a chunk's last block, or a parent. */
struct output {
    uint32_t cv[8];
    uint8_t block[NZ_B3_BLOCK_LEN];
    uint64_t counter;
    uint32_t block_len, flags;
};

static struct output chunk_output(const struct nz_b3 *h)
{
    struct output o;
    memcpy(o.cv, h->cv, sizeof o.cv);
    memcpy(o.block, h->buf, sizeof o.block);
    o.counter = h->chunk_counter;
    o.block_len = h->buf_len;
    o.flags = start_flag(h) | B3_CHUNK_END;
    return o;
}

static struct output parent_output(const uint8_t block[NZ_B3_BLOCK_LEN])
{
    struct output o;
    memcpy(o.cv, nz_b3_iv, sizeof o.cv);
    memcpy(o.block, block, sizeof o.block);
    o.counter = 0;
    o.block_len = NZ_B3_BLOCK_LEN;
    o.flags = B3_PARENT;
    return o;
}

static void output_cv(const struct output *o, uint8_t out[NZ_B3_OUT_LEN])
{
    uint32_t cv[8];
    memcpy(cv, o->cv, sizeof cv);
    compress_in_place(cv, o->block, o->block_len, o->counter, o->flags);
    for (int i = 0; i < 8; i++)
        store32(out + 4 * i, cv[i]);
}

/* The first 32 bytes of the root's output (output block 0: counter 0). */
static void output_root(const struct output *o, uint8_t out[NZ_B3_OUT_LEN])
{
    uint32_t v[16];
    compress(v, o->cv, o->block, o->block_len, 0, o->flags | B3_ROOT);
    for (int i = 0; i < 8; i++)
        store32(out + 4 * i, v[i] ^ v[i + 8]);
}

/* ---- the stack of subtree CVs ---- */

/* Merges the stack down to one entry per 1 bit of total_chunks (the complete subtrees of that
 * many chunks); the entry on top stays unmerged while it may still be the root's child. */
static void merge_stack(struct nz_b3 *h, uint64_t total_chunks)
{
    size_t keep = (size_t)__builtin_popcountll(total_chunks);
    while (h->cv_stack_len > keep) {
        uint8_t *pair = h->cv_stack + (size_t)(h->cv_stack_len - 2) * NZ_B3_OUT_LEN;
        struct output o = parent_output(pair);
        output_cv(&o, pair);
        h->cv_stack_len--;
    }
}

/* Pushes the CV of a subtree whose first chunk has the index `counter`. */
static void push_cv(struct nz_b3 *h, const uint8_t cv[NZ_B3_OUT_LEN], uint64_t counter)
{
    merge_stack(h, counter);
    memcpy(h->cv_stack + (size_t)h->cv_stack_len * NZ_B3_OUT_LEN, cv, NZ_B3_OUT_LEN);
    h->cv_stack_len++;
}

/* ---- the hasher ---- */

void nz_b3_init(struct nz_b3 *h)
{
    chunk_reset(h, 0);
    h->cv_stack_len = 0;
}

static size_t round_down_pow2(size_t x) { return (size_t)1 << (63 - __builtin_clzll((unsigned long long)x)); }

void nz_b3_update(struct nz_b3 *h, const void *data, size_t len)
{
    const uint8_t *in = data;
    struct kernel k = kernel_of(nz_b3_impl());

    if (chunk_len(h) > 0) {
        size_t take = NZ_B3_CHUNK_LEN - chunk_len(h);
        if (take > len)
            take = len;
        chunk_update(h, in, take);
        in += take;
        len -= take;
        if (len == 0)
            return; /* the chunk may be the last one: it waits */
        uint8_t cv[NZ_B3_OUT_LEN];
        struct output o = chunk_output(h);
        output_cv(&o, cv);
        push_cv(h, cv, h->chunk_counter);
        chunk_reset(h, h->chunk_counter + 1);
    }
    /* The chunk is empty. While more than one chunk is left, none of them is the last one:
     * hash the largest whole subtree that starts here (aligned to its size). */
    while (len > NZ_B3_CHUNK_LEN) {
        size_t sub = round_down_pow2(len);
        uint64_t done = h->chunk_counter * NZ_B3_CHUNK_LEN;
        while (((uint64_t)(sub - 1) & done) != 0)
            sub /= 2;
        uint64_t nchunks = sub / NZ_B3_CHUNK_LEN;
        if (nchunks == 1) {
            uint8_t cv[NZ_B3_OUT_LEN];
            const uint8_t *p = in;
            nz_b3_hash_many_portable(&p, 1, NZ_B3_CHUNK_LEN / NZ_B3_BLOCK_LEN, nz_b3_iv, h->chunk_counter, 1, 0,
                                     B3_CHUNK_START, B3_CHUNK_END, cv);
            push_cv(h, cv, h->chunk_counter);
        } else {
            /* Both children, not the subtree's CV: it may turn out to be the root. */
            uint8_t pair[2 * NZ_B3_OUT_LEN];
            subtree_children(k, in, sub, h->chunk_counter, pair);
            push_cv(h, pair, h->chunk_counter);
            push_cv(h, pair + NZ_B3_OUT_LEN, h->chunk_counter + nchunks / 2);
        }
        h->chunk_counter += nchunks;
        in += sub;
        len -= sub;
    }
    if (len > 0) {
        chunk_update(h, in, len);
        merge_stack(h, h->chunk_counter);
    }
}

void nz_b3_final(const struct nz_b3 *h, uint8_t out[NZ_B3_OUT_LEN])
{
    struct output o;
    size_t left;
    if (h->cv_stack_len == 0) {
        o = chunk_output(h); /* one chunk (maybe empty): it is the root */
        output_root(&o, out);
        return;
    }
    if (chunk_len(h) > 0) {
        left = h->cv_stack_len;
        o = chunk_output(h);
    } else {
        /* The input ended with a whole subtree: its two children are on top of the stack. */
        left = h->cv_stack_len - 2u;
        o = parent_output(h->cv_stack + left * NZ_B3_OUT_LEN);
    }
    while (left > 0) {
        left--;
        uint8_t block[NZ_B3_BLOCK_LEN];
        memcpy(block, h->cv_stack + left * NZ_B3_OUT_LEN, NZ_B3_OUT_LEN);
        output_cv(&o, block + NZ_B3_OUT_LEN);
        o = parent_output(block);
    }
    output_root(&o, out);
}
