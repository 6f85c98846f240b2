/* fuzz_trust.c — libFuzzer target for dissect/trust.c: the trust store loader (PEM blocks,
 * base64, a bare DER) and chain verification (path building over wolfSSL's decoder and
 * signature checks, the date judgement, the per-thread cache).
 *
 * Input: the whole buffer is first loaded as a CA bundle. Then it is read as segments, each a
 * 2-byte big-endian length and that many bytes: the first segment is the trust store (loaded
 * as a bundle), the next ones (up to TRUST_CHAIN_MAX) the chain the server sent, each copied
 * into an exact-size heap buffer so ASan sees any overread. The chain is judged three times:
 * without a cache, with an empty cache (a miss) and again (a hit): the answers must be equal,
 * since the cache may only change the cost. Every text must be NUL-terminated printable ASCII
 * and every status/reason in range. Seeds: tests/fuzz/corpus/fuzz_trust/ (the chains and
 * roots of the trust-* captures in this form). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissect/trust.h"

static void check_text(const char *s, size_t cap)
{
    const char *end = memchr(s, '\0', cap);
    if (!end)
        abort();
    for (; s < end; s++)
        if (*s < 0x20 || *s >= 0x7f)
            abort();
}

static void check(const struct trust_result *r)
{
    if (r->status > TRUST_UNTRUSTED || r->reason >= TR_REASON_COUNT || r->path_len > TRUST_CHAIN_MAX)
        abort();
    check_text(r->detail, sizeof r->detail);
    check_text(r->anchor_cn, sizeof r->anchor_cn);
    if (r->status == TRUST_TRUSTED && r->reason != TR_NONE)
        abort();
    if (r->status == TRUST_UNTRUSTED && r->reason == TR_NONE)
        abort();
}

static bool same(const struct trust_result *a, const struct trust_result *b)
{
    return a->status == b->status && a->reason == b->reason && a->path_len == b->path_len &&
           a->anchor_sent == b->anchor_sent && strcmp(a->detail, b->detail) == 0 &&
           strcmp(a->anchor_cn, b->anchor_cn) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct trust_store *ts = NULL;
    if (trust_store_load_buffer(data, size, &ts, err, sizeof err) == 0 && trust_store_count(ts) == 0)
        abort();
    trust_store_free(ts);
    ts = NULL;

    size_t off = 0, n = 0;
    uint8_t *bufs[TRUST_CHAIN_MAX + 1] = {0};
    struct bytes ders[TRUST_CHAIN_MAX];
    uint8_t sha[TRUST_CHAIN_MAX][32];
    for (size_t seg = 0; seg <= TRUST_CHAIN_MAX && off + 2 <= size; seg++) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        uint8_t *b = malloc(len ? len : 1);
        if (!b)
            abort();
        memcpy(b, data + off, len);
        off += len;
        bufs[seg] = b;
        if (seg == 0) {
            trust_store_load_buffer(b, len, &ts, err, sizeof err);
            check_text(err, sizeof err);
        } else {
            ders[n] = (struct bytes){b, len};
            memset(sha[n], (int)n, 32);
            if (len >= 32)
                memcpy(sha[n], b + len - 32, 32); /* any 32 bytes will do as a cache key */
            n++;
        }
    }
    if (n) {
        uint8_t key[32];
        trust_chain_hash((const uint8_t (*)[32])sha, n, key);
        int64_t now = size >= 8 ? (int64_t)(((uint64_t)data[size - 1] << 24 | (uint64_t)data[size - 2] << 16 |
                                             (uint64_t)data[size - 3] << 8 | data[size - 4]) << 1)
                                : 1700000000;
        struct trust_result a, b, c;
        trust_verify(ts, NULL, ders, n, key, now, &a);
        struct trust_cache *cache = trust_cache_new();
        trust_verify(ts, cache, ders, n, key, now, &b);
        trust_verify(ts, cache, ders, n, key, now, &c);
        bool had_cache = cache != NULL;
        trust_cache_free(cache);
        check(&a);
        /* with a store, the second judgement with the cache is a hit */
        if (!same(&a, &b) || !same(&a, &c) || b.cached || (had_cache && ts && !c.cached))
            abort();
    }
    trust_store_free(ts);
    for (size_t i = 0; i <= TRUST_CHAIN_MAX; i++)
        free(bufs[i]);
    return 0;
}
