/* check_reasm.c — Check suite for capture/reasm.c (TCP reassembly).
 *
 * Every test feeds segments cut from a synthetic byte stream (truth(): a multiplicative
 * hash of the stream offset, so a byte delivered at the wrong offset shows) and compares
 * the exact sink output, data bytes with gaps recorded inline as "[gap N]", with an
 * expected stream built the same way, then checks the counters. Payloads are copied right
 * before a PROT_NONE page (tu_guard) and unmapped after each push, so an overread or a
 * payload pointer kept past reasm_push() crashes. After every push the fixture checks the
 * internal invariants (reasm_dir_check), the caps, the shared budget and the global budget
 * (struct mem_budget) it passes every charge on to. */
#include <check.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/decode.h"
#include "capture/reasm.h"
#include "tests/testutil.h"

/* ---- stream collector ---- */

struct coll {
    uint8_t *buf;              /* data bytes and "[gap N]" markers, in delivery order */
    size_t len, cap;           /* bytes used / allocated in buf */
    uint64_t data_calls;       /* sink->data() calls */
    const uint8_t *watch;      /* caller's payload during the current push (or NULL) */
    size_t watch_len;          /* bytes at watch */
    size_t zc_bytes;           /* bytes delivered straight from the caller's payload */
    unsigned stop_after;       /* if > 0: call reasm_set_done() after this many data calls */
    struct reasm_dir *stop_d;  /* direction stopped by stop_after */
    struct reasm_budget *stop_b;
};

static void coll_put(struct coll *c, const void *p, size_t n)
{
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 256;
        while (cap < c->len + n)
            cap *= 2;
        uint8_t *nb = realloc(c->buf, cap);
        ck_assert_ptr_nonnull(nb);
        c->buf = nb;
        c->cap = cap;
    }
    if (n)
        memcpy(c->buf + c->len, p, n);
    c->len += n;
}

static void coll_gap(struct coll *c, uint64_t n)
{
    char tmp[40];
    int k = snprintf(tmp, sizeof tmp, "[gap %llu]", (unsigned long long)n);
    coll_put(c, tmp, (size_t)k);
}

static void coll_free(struct coll *c)
{
    free(c->buf);
    memset(c, 0, sizeof *c);
}

/* Synthetic stream byte at offset i. */
static uint8_t truth_at(uint32_t i) { return (uint8_t)((i * 2654435761u) >> 24); }

static uint8_t *truth(size_t n)
{
    uint8_t *t = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(t);
    for (size_t i = 0; i < n; i++)
        t[i] = truth_at((uint32_t)i);
    return t;
}

/* ---- fixture: two directions sharing one budget ---- */

struct fx {
    struct reasm_dir d[2];
    struct reasm_cfg cfg;
    struct reasm_budget b;
    struct mem_budget total;       /* the pipeline's global budget: b passes charges on */
    struct coll c[2];
    struct reasm_sink sink;
};

static void sink_data(void *ud, int dir, const uint8_t *p, size_t len)
{
    struct fx *f = ud;
    ck_assert(dir == 0 || dir == 1);
    struct coll *c = &f->c[dir];
    ck_assert_uint_gt(len, 0);
    c->data_calls++;
    if (c->watch && p >= c->watch && p + len <= c->watch + c->watch_len)
        c->zc_bytes += len;
    coll_put(c, p, len);
    if (c->stop_after && c->data_calls == c->stop_after)
        reasm_set_done(c->stop_d, c->stop_b);
}

static void sink_gap(void *ud, int dir, uint64_t len)
{
    struct fx *f = ud;
    ck_assert(dir == 0 || dir == 1);
    ck_assert_uint_gt(len, 0);
    coll_gap(&f->c[dir], len);
}

static void fx_init(struct fx *f, size_t max_bytes, unsigned max_segs, size_t budget)
{
    memset(f, 0, sizeof *f);
    reasm_dir_init(&f->d[0]);
    reasm_dir_init(&f->d[1]);
    f->cfg.ooo_max_bytes = max_bytes;
    f->cfg.ooo_max_segs = max_segs;
    f->b.max = budget;
    f->b.total = &f->total;
    f->total.max = SIZE_MAX;
    f->sink.ud = f;
    f->sink.data = sink_data;
    f->sink.gap = sink_gap;
}

static void fx_check(struct fx *f)
{
    for (int i = 0; i < 2; i++) {
        ck_assert(reasm_dir_check(&f->d[i], &f->cfg));
        ck_assert_uint_le(f->d[i].ooo_bytes, f->cfg.ooo_max_bytes);
        ck_assert_uint_le(f->d[i].ooo_segs, f->cfg.ooo_max_segs);
    }
    ck_assert_uint_eq(f->b.used, reasm_dir_charge(&f->d[0]) + reasm_dir_charge(&f->d[1]));
    ck_assert_uint_le(f->b.used, f->b.max);
    ck_assert_uint_eq(f->total.used, f->b.used);
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_le(f->d[i].gaps_cap, f->d[i].gaps);
        ck_assert_uint_le(f->d[i].gap_cap_bytes, f->d[i].gap_bytes);
    }
}

static void fx_fini(struct fx *f)
{
    reasm_dir_fini(&f->d[0], &f->b);
    reasm_dir_fini(&f->d[1], &f->b);
    ck_assert_uint_eq(f->b.used, 0);
    ck_assert_uint_eq(f->total.used, 0);
    ck_assert_ptr_null(f->d[0].ooo);
    ck_assert_ptr_null(f->d[1].ooo);
    coll_free(&f->c[0]);
    coll_free(&f->c[1]);
}

/* Pushes len captured bytes (wire bytes on the wire) through a guard page. */
static int fx_pushw(struct fx *f, int dir, uint32_t seq, uint8_t flags, const uint8_t *p, uint32_t len,
                    uint32_t wire)
{
    uint8_t *g = len ? tu_guard(p, len) : NULL;
    f->c[dir].watch = g;
    f->c[dir].watch_len = len;
    int rc = reasm_push(&f->d[dir], dir, &f->cfg, &f->b, seq, flags, g, len, wire, &f->sink);
    f->c[dir].watch = NULL;
    if (g)
        tu_guard_free(g, len);
    fx_check(f);
    return rc;
}

static int fx_push(struct fx *f, int dir, uint32_t seq, uint8_t flags, const uint8_t *p, uint32_t len)
{
    return fx_pushw(f, dir, seq, flags, p, len, len);
}

/* Pushes truth bytes [off, off+len) of a stream whose first data byte has seq `base`. */
static int fx_seg(struct fx *f, int dir, uint32_t base, const uint8_t *t, uint32_t off, uint32_t len)
{
    return fx_push(f, dir, base + off, TCP_ACK, t + off, len);
}

static void assert_stream(const struct coll *got, const struct coll *want)
{
    ck_assert_uint_eq(got->len, want->len);
    if (want->len)
        ck_assert_mem_eq(got->buf, want->buf, want->len);
}

#define BIG_CFG (1u << 20), 100000u, (64u << 20) /* caps that never bind in a test */

/* ---- reasm_push ---- */

START_TEST(test_in_order)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(300);
    uint32_t base = 1000;
    ck_assert_int_eq(fx_push(&f, 0, base - 1, TCP_SYN, NULL, 0), 0);
    ck_assert_int_eq(fx_seg(&f, 0, base, t, 0, 100), 0);
    ck_assert_int_eq(fx_seg(&f, 0, base, t, 100, 1), 0);
    ck_assert_int_eq(fx_seg(&f, 0, base, t, 101, 199), 0);

    struct coll want = {0};
    coll_put(&want, t, 300);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.c[0].zc_bytes, 300); /* zero-copy: caller's pointer every time */
    ck_assert_uint_eq(f.c[0].data_calls, 3);
    ck_assert_uint_eq(f.d[0].next_seq, base + 300);
    ck_assert_uint_eq(f.d[0].delivered, 300);
    ck_assert_uint_eq(f.d[0].segs, 3);
    ck_assert_uint_eq(f.d[0].retrans + f.d[0].overlaps + f.d[0].ooo_queued, 0);
    ck_assert_uint_eq(f.d[0].gaps + f.d[0].cap_drops, 0);
    ck_assert_uint_eq(f.c[1].len, 0);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_syn_base)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(40);
    uint32_t isn = 5000;
    /* SYN carrying data (TFO style): its payload is stream byte 0 at isn+1. */
    ck_assert_int_eq(fx_push(&f, 0, isn, TCP_SYN, t, 5), 0);
    ck_assert(f.d[0].started);
    ck_assert_uint_eq(f.d[0].next_seq, isn + 6);
    ck_assert_int_eq(fx_seg(&f, 0, isn + 1, t, 5, 10), 0);
    /* Retransmitted SYN, and a SYN with another ISN: neither resets the direction. */
    ck_assert_int_eq(fx_push(&f, 0, isn, TCP_SYN, NULL, 0), 0);
    ck_assert_int_eq(fx_push(&f, 0, 77777, TCP_SYN, NULL, 0), 0);
    ck_assert_uint_eq(f.d[0].next_seq, isn + 16);
    ck_assert_int_eq(fx_push(&f, 0, isn, TCP_SYN, t, 5), 0); /* SYN+data retransmitted */
    ck_assert_uint_eq(f.d[0].retrans, 1);
    ck_assert_int_eq(fx_seg(&f, 0, isn + 1, t, 15, 25), 0);

    struct coll want = {0};
    coll_put(&want, t, 40);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].next_seq, isn + 41);
    ck_assert_uint_eq(f.d[0].gaps, 0);

    /* A SYN without data, then the first data byte at isn+1: no gap, no drop. */
    ck_assert_int_eq(fx_push(&f, 1, 0xABCDEF00u, TCP_SYN | TCP_ACK, NULL, 0), 0);
    ck_assert_uint_eq(f.d[1].next_seq, 0xABCDEF01u);
    ck_assert_int_eq(fx_seg(&f, 1, 0xABCDEF01u, t, 0, 40), 0);
    assert_stream(&f.c[1], &want);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_midstream_pickup)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(60);
    /* Pure ACKs do not fix the base, nor does a RST, even with a payload. */
    ck_assert_int_eq(fx_push(&f, 0, 100, TCP_ACK, NULL, 0), 0);
    ck_assert_int_eq(fx_push(&f, 0, 200, TCP_RST | TCP_ACK, t, 10), 0);
    ck_assert(!f.d[0].started);
    /* First segment with payload does, even with a seq unrelated to the ACK's. */
    ck_assert_int_eq(fx_seg(&f, 0, 900000, t, 20, 20), 0);
    ck_assert(f.d[0].started);
    ck_assert_uint_eq(f.d[0].next_seq, 900040);
    /* Earlier data seen later is old: the pickup point is final. */
    ck_assert_int_eq(fx_seg(&f, 0, 900000, t, 0, 20), 0);
    ck_assert_uint_eq(f.d[0].retrans, 1);
    /* RST payload at next_seq is not stream data (RFC 1122 §4.2.2.12: diagnostic). */
    ck_assert_int_eq(fx_push(&f, 0, 900040, TCP_RST, t, 10), 0);
    ck_assert_uint_eq(f.d[0].next_seq, 900040);
    ck_assert_int_eq(fx_seg(&f, 0, 900000, t, 40, 20), 0);
    struct coll want = {0};
    coll_put(&want, t + 20, 40);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].gaps, 0);

    /* A bare FIN also fixes the base (and ends the stream there). */
    ck_assert_int_eq(fx_push(&f, 1, 300, TCP_FIN | TCP_ACK, NULL, 0), 0);
    ck_assert(f.d[1].started);
    ck_assert(f.d[1].fin_seen);
    ck_assert_uint_eq(f.d[1].next_seq, 300);
    ck_assert_uint_eq(f.d[1].fin_seq, 300);
    ck_assert_uint_eq(f.d[1].segs, 0);
    ck_assert_int_eq(fx_push(&f, 1, 300, TCP_ACK, t, 10), 0);
    ck_assert_uint_eq(f.d[1].cap_drops, 1);
    ck_assert_uint_eq(f.c[1].len, 0);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

/* Three segments [0,10) [10,25) [25,40) after a SYN, in every order. */
START_TEST(test_ooo_permutations3)
{
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    static const uint32_t off[3] = {0, 10, 25}, len[3] = {10, 15, 15};
    /* segments queued for each order: those arriving while a hole precedes them */
    static const uint64_t queued[6] = {0, 1, 1, 2, 1, 2};
    uint8_t *t = truth(40);
    struct coll want = {0};
    coll_put(&want, t, 40);
    for (int i = 0; i < 6; i++) {
        struct fx f;
        fx_init(&f, BIG_CFG);
        uint32_t isn = 0x7FFFFFF0u;
        fx_push(&f, 0, isn, TCP_SYN, NULL, 0);
        for (int k = 0; k < 3; k++)
            ck_assert_int_eq(fx_seg(&f, 0, isn + 1, t, off[perms[i][k]], len[perms[i][k]]), 0);
        assert_stream(&f.c[0], &want);
        ck_assert_uint_eq(f.d[0].ooo_queued, queued[i]);
        ck_assert_uint_eq(f.d[0].ooo_segs, 0);
        ck_assert_uint_eq(f.b.used, 0);
        ck_assert_uint_eq(f.d[0].gaps, 0);
        ck_assert_uint_eq(f.d[0].overlaps + f.d[0].retrans + f.d[0].cap_drops, 0);
        ck_assert_uint_eq(f.d[0].next_seq, isn + 41);
        fx_fini(&f);
    }
    coll_free(&want);
    free(t);
}
END_TEST

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

START_TEST(test_ooo_shuffle50)
{
    enum { N = 50 };
    uint32_t off[N + 1], order[N], rng = 0x12345678u;
    off[0] = 0;
    for (int i = 0; i < N; i++)
        off[i + 1] = off[i] + 1 + xorshift(&rng) % 40;
    for (int i = 0; i < N; i++)
        order[i] = (uint32_t)i;
    for (int i = N - 1; i > 0; i--) { /* Fisher-Yates, fixed seed */
        uint32_t j = xorshift(&rng) % (uint32_t)(i + 1), tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    uint8_t *t = truth(off[N]);
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint32_t isn = 0xFFFFFC00u; /* also crosses 2^32 */
    fx_push(&f, 0, isn, TCP_SYN, NULL, 0);
    for (int i = 0; i < N; i++) {
        uint32_t k = order[i];
        ck_assert_int_eq(fx_seg(&f, 0, isn + 1, t, off[k], off[k + 1] - off[k]), 0);
    }
    struct coll want = {0};
    coll_put(&want, t, off[N]);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_gt(f.d[0].ooo_queued, 0);
    ck_assert_uint_eq(f.d[0].segs, N);
    ck_assert_uint_eq(f.d[0].delivered, off[N]);
    ck_assert_uint_eq(f.d[0].gaps + f.d[0].overlaps + f.d[0].retrans + f.d[0].cap_drops, 0);
    ck_assert_uint_eq(f.d[0].ooo_segs, 0);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_duplicate_exact)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(30);
    fx_seg(&f, 0, 10, t, 0, 10);
    fx_seg(&f, 0, 10, t, 0, 10); /* duplicate of delivered data */
    ck_assert_uint_eq(f.d[0].retrans, 1);
    fx_seg(&f, 0, 10, t, 20, 10);
    fx_seg(&f, 0, 10, t, 20, 10); /* duplicate of queued data */
    ck_assert_uint_eq(f.d[0].overlaps, 1);
    ck_assert_uint_eq(f.d[0].overlap_diff, 0);
    ck_assert_uint_eq(f.d[0].ooo_segs, 1);
    ck_assert_uint_eq(f.d[0].ooo_bytes, 10);
    ck_assert_uint_eq(f.d[0].ooo_queued, 1);
    fx_seg(&f, 0, 10, t, 10, 10);
    struct coll want = {0};
    coll_put(&want, t, 30);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].segs, 5);
    ck_assert_uint_eq(f.d[0].retrans, 1);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_retrans_delivered)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(30);
    uint8_t junk[10];
    memset(junk, 0xEE, sizeof junk);
    fx_seg(&f, 0, 0, t, 0, 10);
    fx_seg(&f, 0, 0, t, 10, 10);
    fx_seg(&f, 0, 0, t, 0, 10);
    fx_seg(&f, 0, 0, t, 5, 15);         /* ends exactly at next_seq */
    fx_push(&f, 0, 3, TCP_ACK, junk, 10); /* different bytes: delivered data is not kept */
    ck_assert_uint_eq(f.d[0].retrans, 3);
    ck_assert_uint_eq(f.d[0].overlaps, 0);
    ck_assert_uint_eq(f.d[0].overlap_diff, 0);
    fx_seg(&f, 0, 0, t, 20, 10);
    struct coll want = {0};
    coll_put(&want, t, 30);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].delivered, 30);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_overlap_old_partial)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(30);
    uint8_t seg[10];
    fx_seg(&f, 0, 0, t, 0, 10);
    memcpy(seg, t + 5, 10);
    memset(seg, 0xEE, 5); /* old part differs: not compared, not delivered */
    fx_push(&f, 0, 5, TCP_ACK, seg, 10);
    ck_assert_uint_eq(f.d[0].overlaps, 1);
    ck_assert_uint_eq(f.d[0].overlap_diff, 0);
    ck_assert_uint_eq(f.d[0].retrans, 0);
    ck_assert_uint_eq(f.d[0].next_seq, 15);
    ck_assert_uint_eq(f.c[0].zc_bytes, 5 + 10);
    fx_seg(&f, 0, 0, t, 15, 15);
    struct coll want = {0};
    coll_put(&want, t, 30);
    assert_stream(&f.c[0], &want);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_overlap_queued_same)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(40);
    fx_seg(&f, 0, 0, t, 0, 10);
    fx_seg(&f, 0, 0, t, 20, 10);
    fx_seg(&f, 0, 0, t, 15, 10); /* [15,20) new, [20,25) overlaps, same bytes */
    ck_assert_uint_eq(f.d[0].overlaps, 1);
    ck_assert_uint_eq(f.d[0].overlap_diff, 0);
    ck_assert_uint_eq(f.d[0].ooo_bytes, 15);
    ck_assert_uint_eq(f.d[0].ooo_segs, 2);
    fx_seg(&f, 0, 0, t, 25, 15); /* [25,30) overlaps the tail */
    ck_assert_uint_eq(f.d[0].overlaps, 2);
    ck_assert_uint_eq(f.d[0].ooo_bytes, 25);
    fx_seg(&f, 0, 0, t, 10, 5);
    struct coll want = {0};
    coll_put(&want, t, 40);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].overlap_diff, 0);
    ck_assert_uint_eq(f.d[0].gaps, 0);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_overlap_queued_diff)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(40);
    uint8_t first[10], later[10];
    fx_seg(&f, 0, 0, t, 0, 10);
    /* First copy of [20,30) has altered bytes; the genuine one comes later. */
    memcpy(first, t + 20, 10);
    first[3] ^= 0x55;
    fx_push(&f, 0, 20, TCP_ACK, first, 10);
    fx_seg(&f, 0, 0, t, 20, 10);
    ck_assert_uint_eq(f.d[0].overlaps, 1);
    ck_assert_uint_eq(f.d[0].overlap_diff, 1);
    /* A later copy of [15,25) differing only in [20,25): the first copy is kept again. */
    memcpy(later, t + 15, 10);
    later[9] ^= 0x01;
    fx_push(&f, 0, 15, TCP_ACK, later, 10);
    ck_assert_uint_eq(f.d[0].overlaps, 2);
    ck_assert_uint_eq(f.d[0].overlap_diff, 2);
    /* Differences only in the new part are not overlap differences. */
    memcpy(later, t + 28, 10);
    later[5] ^= 0x01; /* offset 33: new */
    fx_push(&f, 0, 28, TCP_ACK, later, 10);
    ck_assert_uint_eq(f.d[0].overlaps, 3);
    ck_assert_uint_eq(f.d[0].overlap_diff, 2);
    fx_seg(&f, 0, 0, t, 10, 5);

    struct coll want = {0};
    coll_put(&want, t, 20);
    coll_put(&want, first, 10);
    coll_put(&want, later + 2, 8);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].ooo_segs, 0);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_span_several_queued)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(70);
    fx_seg(&f, 0, 0, t, 0, 1);
    fx_seg(&f, 0, 0, t, 10, 10);
    fx_seg(&f, 0, 0, t, 30, 10);
    fx_seg(&f, 0, 0, t, 50, 10);
    /* [5,65): holes [5,10) [20,30) [40,50) [60,65) are queued as 4 pieces; the queued
     * ranges keep their (first) bytes although this copy differs there. */
    uint8_t span[60];
    memcpy(span, t + 5, 60);
    span[12] ^= 0xFF; /* offset 17, inside [10,20) */
    span[50] ^= 0xFF; /* offset 55, inside [50,60) */
    fx_push(&f, 0, 5, TCP_ACK, span, 60);
    ck_assert_uint_eq(f.d[0].overlaps, 1);
    ck_assert_uint_eq(f.d[0].overlap_diff, 1);
    ck_assert_uint_eq(f.d[0].ooo_segs, 7);
    ck_assert_uint_eq(f.d[0].ooo_bytes, 30 + 30);
    ck_assert_uint_eq(f.d[0].ooo_queued, 4);
    ck_assert_uint_eq(f.b.used, 60 + 7 * REASM_SEG_OVERHEAD);
    fx_seg(&f, 0, 0, t, 1, 4);
    struct coll want = {0};
    coll_put(&want, t, 65);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].ooo_segs, 0);
    ck_assert_uint_eq(f.b.used, 0);
    ck_assert_uint_eq(f.d[0].next_seq, 65);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

/* An in-order segment covering queued ones: its holes go out zero-copy, the queued
 * ranges from the queue, all in one push. */
START_TEST(test_span_in_order)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(50);
    fx_seg(&f, 0, 0, t, 0, 1);
    fx_seg(&f, 0, 0, t, 10, 10);
    fx_seg(&f, 0, 0, t, 30, 10);
    f.c[0].zc_bytes = 0;
    fx_seg(&f, 0, 0, t, 1, 49);
    ck_assert_uint_eq(f.c[0].zc_bytes, 9 + 10 + 10);
    ck_assert_uint_eq(f.c[0].data_calls, 1 + 5);
    ck_assert_uint_eq(f.d[0].overlaps, 1);
    ck_assert_uint_eq(f.d[0].overlap_diff, 0);
    ck_assert_uint_eq(f.d[0].ooo_queued, 2);
    struct coll want = {0};
    coll_put(&want, t, 50);
    assert_stream(&f.c[0], &want);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

static const uint32_t wrap_off[4] = {0, 10, 20, 30};

START_TEST(test_wrap_in_order)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(40);
    uint32_t isn = 0xFFFFFFF0u; /* data at 0xFFFFFFF1; seg 1 crosses 2^32 */
    fx_push(&f, 0, isn, TCP_SYN, NULL, 0);
    for (int i = 0; i < 4; i++)
        fx_seg(&f, 0, isn + 1, t, wrap_off[i], 10);
    struct coll want = {0};
    coll_put(&want, t, 40);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].next_seq, 0x19u);
    ck_assert_uint_eq(f.d[0].ooo_queued + f.d[0].gaps + f.d[0].retrans + f.d[0].cap_drops, 0);
    /* An old segment from before the wrap is still old after it. */
    fx_seg(&f, 0, isn + 1, t, 0, 10);
    ck_assert_uint_eq(f.d[0].retrans, 1);
    /* FIN after the wrap; data beyond it is ignored. */
    fx_push(&f, 0, 0x19u, TCP_FIN | TCP_ACK, NULL, 0);
    ck_assert_uint_eq(f.d[0].fin_seq, 0x19u);
    fx_push(&f, 0, 0x19u, TCP_ACK, t, 5);
    ck_assert_uint_eq(f.d[0].cap_drops, 1);
    assert_stream(&f.c[0], &want);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_wrap_ooo)
{
    static const int orders[3][4] = {{3, 2, 1, 0}, {1, 3, 0, 2}, {2, 1, 3, 0}};
    uint8_t *t = truth(40);
    struct coll want = {0};
    coll_put(&want, t, 40);
    for (int o = 0; o < 3; o++) {
        struct fx f;
        fx_init(&f, BIG_CFG);
        uint32_t isn = 0xFFFFFFF0u;
        fx_push(&f, 0, isn, TCP_SYN, NULL, 0);
        for (int i = 0; i < 4; i++)
            fx_seg(&f, 0, isn + 1, t, wrap_off[orders[o][i]], 10);
        assert_stream(&f.c[0], &want);
        ck_assert_uint_gt(f.d[0].ooo_queued, 0);
        ck_assert_uint_eq(f.d[0].next_seq, 0x19u);
        ck_assert_uint_eq(f.d[0].gaps, 0);
        fx_fini(&f);
    }
    /* Overlap across the wrap: queued [20,30) (seq 0x5..0xF), new [15,25). */
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint32_t b = 0xFFFFFFF1u;
    fx_seg(&f, 0, b, t, 0, 5);
    fx_seg(&f, 0, b, t, 20, 10);
    fx_seg(&f, 0, b, t, 12, 13);
    ck_assert_uint_eq(f.d[0].overlaps, 1);
    ck_assert_uint_eq(f.d[0].ooo_bytes, 18);
    fx_seg(&f, 0, b, t, 5, 7);
    coll_free(&want);
    coll_put(&want, t, 30);
    assert_stream(&f.c[0], &want);
    fx_fini(&f);
    coll_free(&want);
    free(t);
}
END_TEST

START_TEST(test_gap_byte_cap)
{
    struct fx f;
    fx_init(&f, 100, 16, 1u << 20);
    uint8_t *t = truth(150);
    fx_seg(&f, 0, 0, t, 0, 10);
    fx_seg(&f, 0, 0, t, 20, 50);
    fx_seg(&f, 0, 0, t, 80, 50);
    ck_assert_uint_eq(f.d[0].ooo_bytes, 100);
    /* No room: the hole [10,20) is given up, [20,70) delivered, then this one queued. */
    fx_seg(&f, 0, 0, t, 140, 10);
    ck_assert_uint_eq(f.d[0].gaps, 1);
    ck_assert_uint_eq(f.d[0].gap_bytes, 10);
    ck_assert_uint_eq(f.d[0].gaps_cap, 1); /* skipped to make room: the cap's, not loss */
    ck_assert_uint_eq(f.d[0].gap_cap_bytes, 10);
    ck_assert_uint_eq(f.b.over_budget, 0); /* the per-direction cap, not the budget */
    ck_assert_uint_eq(f.d[0].next_seq, 70);
    ck_assert_uint_eq(f.d[0].ooo_bytes, 60);
    ck_assert_uint_eq(f.d[0].cap_drops, 0);
    struct coll want = {0};
    coll_put(&want, t, 10);
    coll_gap(&want, 10);
    coll_put(&want, t + 20, 50);
    assert_stream(&f.c[0], &want);
    /* The missing bytes arriving now are old. */
    fx_seg(&f, 0, 0, t, 10, 10);
    ck_assert_uint_eq(f.d[0].retrans, 1);
    fx_seg(&f, 0, 0, t, 70, 10);
    fx_seg(&f, 0, 0, t, 130, 10);
    coll_put(&want, t + 70, 80);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].ooo_segs, 0);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_gap_seg_cap)
{
    struct fx f;
    fx_init(&f, 1u << 20, 2, 1u << 20);
    uint8_t *t = truth(70);
    fx_seg(&f, 0, 0, t, 0, 10);
    fx_seg(&f, 0, 0, t, 20, 10);
    fx_seg(&f, 0, 0, t, 40, 10);
    ck_assert_uint_eq(f.d[0].ooo_segs, 2);
    fx_seg(&f, 0, 0, t, 60, 10); /* third segment: skip [10,20) */
    ck_assert_uint_eq(f.d[0].ooo_segs, 2);
    ck_assert_uint_eq(f.d[0].next_seq, 30);
    ck_assert_uint_eq(f.d[0].gaps, 1);
    ck_assert_uint_eq(f.d[0].gaps_cap, 1);
    fx_seg(&f, 0, 0, t, 30, 10);
    fx_seg(&f, 0, 0, t, 50, 10);
    struct coll want = {0};
    coll_put(&want, t, 10);
    coll_gap(&want, 10);
    coll_put(&want, t + 20, 50);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].gap_bytes, 10);
    ck_assert_uint_eq(f.d[0].cap_drops, 0);
    /* A piece before the queue head that does not fit: only the hole in front of it is
     * skipped, and it goes out directly instead of being queued. */
    fx_seg(&f, 1, 0, t, 0, 10);
    fx_seg(&f, 1, 0, t, 50, 10);
    fx_seg(&f, 1, 0, t, 40, 5);
    fx_seg(&f, 1, 0, t, 20, 10);
    ck_assert_uint_eq(f.d[1].gaps, 1);
    ck_assert_uint_eq(f.d[1].next_seq, 30);
    ck_assert_uint_eq(f.d[1].ooo_segs, 2);
    coll_free(&want);
    coll_put(&want, t, 10);
    coll_gap(&want, 10);
    coll_put(&want, t + 20, 10);
    assert_stream(&f.c[1], &want);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_gap_budget)
{
    struct fx f;
    fx_init(&f, 1000, 100, 100 + 2 * REASM_SEG_OVERHEAD);
    uint8_t *t = truth(200);
    for (int d = 0; d < 2; d++)
        fx_seg(&f, d, 0, t, 0, 10);
    fx_seg(&f, 0, 0, t, 20, 60);
    fx_seg(&f, 1, 0, t, 20, 40);
    ck_assert_uint_eq(f.b.used, 100 + 2 * REASM_SEG_OVERHEAD);
    /* Dir 1 gives up its own hole to make room; dir 0 keeps its queue. The budget was
     * found full: counted, and the gap is the cap's, not loss. */
    fx_seg(&f, 1, 0, t, 70, 20);
    ck_assert_uint_eq(f.d[1].gaps, 1);
    ck_assert_uint_eq(f.d[1].gaps_cap, 1);
    ck_assert_uint_eq(f.d[1].gap_cap_bytes, 10);
    ck_assert_uint_eq(f.b.over_budget, 1);
    ck_assert_uint_eq(f.d[1].next_seq, 60);
    ck_assert_uint_eq(f.b.used, 80 + 2 * REASM_SEG_OVERHEAD);
    ck_assert_uint_eq(f.d[0].ooo_bytes, 60);
    fx_seg(&f, 1, 0, t, 100, 40);
    ck_assert_uint_eq(f.d[1].gaps, 2);
    ck_assert_uint_eq(f.d[1].gaps_cap, 2);
    ck_assert_uint_eq(f.d[1].next_seq, 90);
    ck_assert_uint_eq(f.b.used, 100 + 2 * REASM_SEG_OVERHEAD);
    ck_assert_uint_eq(f.b.over_budget, 2);
    /* Would not fit even with dir 1's queue empty: dropped, queue untouched. */
    fx_seg(&f, 1, 0, t, 150, 50);
    ck_assert_uint_eq(f.d[1].cap_drops, 1);
    ck_assert_uint_eq(f.b.over_budget, 3);
    ck_assert_uint_eq(f.d[1].gaps, 2);
    ck_assert_uint_eq(f.d[1].ooo_bytes, 40);

    struct coll want0 = {0}, want1 = {0};
    coll_put(&want0, t, 10);
    coll_put(&want1, t, 10);
    coll_gap(&want1, 10);
    coll_put(&want1, t + 20, 40);
    coll_gap(&want1, 10);
    coll_put(&want1, t + 70, 20);
    assert_stream(&f.c[0], &want0);
    assert_stream(&f.c[1], &want1);
    reasm_flush(&f.d[1], 1, &f.b, &f.sink);
    coll_gap(&want1, 10);
    coll_put(&want1, t + 100, 40);
    assert_stream(&f.c[1], &want1);
    ck_assert_uint_eq(f.b.used, 60 + REASM_SEG_OVERHEAD);
    /* [90,100) was never sent: loss, even though a cap dropped bytes further on. */
    ck_assert_uint_eq(f.d[1].gaps, 3);
    ck_assert_uint_eq(f.d[1].gaps_cap, 2);
    ck_assert_uint_eq(f.d[1].gap_cap_bytes, 20);
    coll_free(&want0);
    coll_free(&want1);
    free(t);
    fx_fini(&f);
}
END_TEST

/* Bytes dropped because the budget was full leave a hole; the gap reported over it later
 * (here at flush) is the cap's. A hole nobody dropped is loss; a dropped range that arrives
 * again in time leaves no mark. */
START_TEST(test_gap_cap_vs_loss)
{
    struct fx f;
    fx_init(&f, 1000, 100, 60 + REASM_SEG_OVERHEAD);
    uint8_t *t = truth(400);
    fx_seg(&f, 0, 0, t, 0, 10);
    fx_seg(&f, 1, 0, t, 0, 10);
    fx_seg(&f, 1, 0, t, 20, 60); /* dir 1 fills the budget */
    fx_seg(&f, 0, 0, t, 30, 20); /* dir 0: nothing of its own to give up: dropped */
    ck_assert_uint_eq(f.d[0].cap_drops, 1);
    ck_assert_uint_eq(f.b.over_budget, 1);
    reasm_dir_fini(&f.d[1], &f.b); /* the budget frees up (an evicted flow) */
    fx_check(&f);
    fx_seg(&f, 0, 0, t, 60, 10); /* queued after the hole [10,60) */
    fx_seg(&f, 0, 0, t, 100, 10);
    reasm_flush(&f.d[0], 0, &f.b, &f.sink);
    /* [10,60) covers the dropped [30,50): cap; [70,100) nobody dropped: loss */
    ck_assert_uint_eq(f.d[0].gaps, 2);
    ck_assert_uint_eq(f.d[0].gaps_cap, 1);
    ck_assert_uint_eq(f.d[0].gap_cap_bytes, 50);
    ck_assert_uint_eq(f.d[0].gap_bytes, 80);
    ck_assert(!f.d[0].cap_hole);

    /* Dropped, then the sender retransmits it in time: no gap, and the mark is gone, so a
     * later real loss is loss. */
    struct fx g;
    fx_init(&g, 1000, 100, 60 + REASM_SEG_OVERHEAD);
    fx_seg(&g, 0, 0, t, 0, 10);
    fx_seg(&g, 1, 0, t, 0, 10);
    fx_seg(&g, 1, 0, t, 20, 60);
    fx_seg(&g, 0, 0, t, 30, 20);
    ck_assert(g.d[0].cap_hole);
    fx_seg(&g, 0, 0, t, 10, 20);
    fx_seg(&g, 0, 0, t, 30, 20);
    ck_assert(!g.d[0].cap_hole);
    ck_assert_uint_eq(g.d[0].next_seq, 50);
    reasm_dir_fini(&g.d[1], &g.b);
    fx_check(&g);
    fx_seg(&g, 0, 0, t, 60, 10); /* queued behind a hole nobody dropped */
    reasm_flush(&g.d[0], 0, &g.b, &g.sink);
    ck_assert_uint_eq(g.d[0].gaps, 1);
    ck_assert_uint_eq(g.d[0].gaps_cap, 0);
    free(t);
    fx_fini(&f);
    fx_fini(&g);
}
END_TEST

START_TEST(test_drop_oversized)
{
    struct fx f;
    fx_init(&f, 50, 16, 1u << 20);
    uint8_t *t = truth(100);
    fx_seg(&f, 0, 0, t, 0, 10);
    fx_seg(&f, 0, 0, t, 20, 10);
    fx_seg(&f, 0, 0, t, 40, 60); /* larger than the whole per-direction cap */
    ck_assert_uint_eq(f.d[0].cap_drops, 1);
    ck_assert_uint_eq(f.b.over_budget, 0);
    ck_assert_uint_eq(f.d[0].gaps, 0);
    ck_assert_uint_eq(f.d[0].ooo_segs, 1);
    struct coll want = {0};
    coll_put(&want, t, 10);
    assert_stream(&f.c[0], &want);
    fx_fini(&f);

    /* Segment cap 0: nothing is ever queued, in-order data still flows. */
    fx_init(&f, 50, 0, 1u << 20);
    fx_seg(&f, 1, 0, t, 0, 10);
    fx_seg(&f, 1, 0, t, 20, 10);
    ck_assert_uint_eq(f.d[1].cap_drops, 1);
    ck_assert_uint_eq(f.b.over_budget, 0);
    fx_seg(&f, 1, 0, t, 10, 10);
    coll_free(&want);
    coll_put(&want, t, 20);
    assert_stream(&f.c[1], &want);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_snapped_in_order)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(40);
    fx_seg(&f, 0, 0, t, 0, 10);
    fx_pushw(&f, 0, 10, TCP_ACK, t + 10, 5, 20); /* 5 of 20 bytes captured */
    ck_assert_uint_eq(f.d[0].next_seq, 30);
    ck_assert_uint_eq(f.d[0].gaps, 1);
    ck_assert_uint_eq(f.d[0].gap_bytes, 15);
    fx_seg(&f, 0, 0, t, 10, 20); /* full retransmission: old now */
    ck_assert_uint_eq(f.d[0].retrans, 1);
    fx_pushw(&f, 0, 30, TCP_ACK, NULL, 0, 4); /* nothing captured */
    fx_seg(&f, 0, 0, t, 34, 6);
    struct coll want = {0};
    coll_put(&want, t, 15);
    coll_gap(&want, 15);
    coll_gap(&want, 4);
    coll_put(&want, t + 34, 6);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].delivered, 21);
    ck_assert_uint_eq(f.d[0].segs, 5);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_snapped_ooo)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(70);
    fx_seg(&f, 0, 0, t, 0, 10);
    fx_pushw(&f, 0, 20, TCP_ACK, t + 20, 5, 20); /* [20,25) + 15 missing */
    ck_assert_uint_eq(f.d[0].ooo_bytes, 5);
    fx_pushw(&f, 0, 50, TCP_ACK, NULL, 0, 10);   /* [50,60) all missing */
    fx_seg(&f, 0, 0, t, 40, 10);
    /* Data for the snapped range now comes too late: first wins, counted as overlap. */
    fx_seg(&f, 0, 0, t, 30, 5);
    ck_assert_uint_eq(f.d[0].overlaps, 1);
    ck_assert_uint_eq(f.d[0].overlap_diff, 0);
    fx_seg(&f, 0, 0, t, 60, 10);
    ck_assert_uint_eq(f.d[0].gaps, 0);
    fx_seg(&f, 0, 0, t, 10, 10);
    struct coll want = {0};
    coll_put(&want, t, 25);
    coll_gap(&want, 15);
    coll_put(&want, t + 40, 10);
    coll_gap(&want, 10);
    coll_put(&want, t + 60, 10);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].gaps, 2);
    ck_assert_uint_eq(f.d[0].gap_bytes, 25);
    ck_assert_uint_eq(f.d[0].ooo_segs, 0);
    ck_assert_uint_eq(f.d[0].next_seq, 70);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_fin)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(60);
    fx_seg(&f, 0, 0, t, 0, 10);
    fx_push(&f, 0, 10, TCP_FIN | TCP_ACK | TCP_PSH, t + 10, 10);
    ck_assert(f.d[0].fin_seen);
    ck_assert_uint_eq(f.d[0].fin_seq, 20);
    fx_seg(&f, 0, 0, t, 20, 10); /* after the FIN */
    ck_assert_uint_eq(f.d[0].cap_drops, 1);
    fx_seg(&f, 0, 0, t, 15, 10); /* straddles it: clipped, then old */
    ck_assert_uint_eq(f.d[0].cap_drops, 2);
    ck_assert_uint_eq(f.d[0].retrans, 1);
    fx_push(&f, 0, 10, TCP_FIN | TCP_ACK, t + 10, 10); /* retransmitted FIN */
    fx_push(&f, 0, 40, TCP_FIN | TCP_ACK, NULL, 0);    /* a second, later FIN is ignored */
    ck_assert_uint_eq(f.d[0].fin_seq, 20);
    /* A FIN before delivered data cannot end the stream there: ignored. */
    fx_seg(&f, 1, 100, t, 0, 20);
    fx_push(&f, 1, 105, TCP_FIN | TCP_ACK, NULL, 0);
    ck_assert(!f.d[1].fin_seen);
    fx_seg(&f, 1, 100, t, 20, 10);
    ck_assert_uint_eq(f.d[1].next_seq, 130);
    ck_assert_uint_eq(f.d[1].cap_drops, 0);
    reasm_dir_fini(&f.d[1], &f.b);
    reasm_dir_init(&f.d[1]);
    coll_free(&f.c[1]);
    struct coll want = {0};
    coll_put(&want, t, 20);
    assert_stream(&f.c[0], &want);

    /* FIN out of order: queued data past it is cut, the stream ends at it. */
    fx_seg(&f, 1, 0, t, 0, 10);
    fx_seg(&f, 1, 0, t, 30, 20);
    fx_seg(&f, 1, 0, t, 55, 5);
    fx_push(&f, 1, 40, TCP_FIN | TCP_ACK, NULL, 0);
    ck_assert_uint_eq(f.d[1].fin_seq, 40);
    ck_assert_uint_eq(f.d[1].cap_drops, 2);
    ck_assert_uint_eq(f.d[1].ooo_bytes, 10);
    ck_assert_uint_eq(f.b.used, 10 + REASM_SEG_OVERHEAD);
    fx_seg(&f, 1, 0, t, 10, 40); /* clipped to [10,40) */
    ck_assert_uint_eq(f.d[1].cap_drops, 3);
    ck_assert_uint_eq(f.d[1].next_seq, 40);
    coll_free(&want);
    coll_put(&want, t, 40);
    assert_stream(&f.c[1], &want);
    ck_assert_uint_eq(f.d[1].ooo_segs, 0);
    fx_fini(&f);

    /* A FIN inside the missing tail of a queued snapped segment shortens that gap. */
    fx_init(&f, BIG_CFG);
    fx_seg(&f, 0, 0, t, 0, 10);
    fx_pushw(&f, 0, 20, TCP_ACK, t + 20, 5, 20);
    fx_push(&f, 0, 30, TCP_FIN | TCP_ACK, NULL, 0);
    ck_assert_uint_eq(f.d[0].cap_drops, 1);
    fx_seg(&f, 0, 0, t, 10, 10);
    coll_free(&want);
    coll_put(&want, t, 25);
    coll_gap(&want, 5);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].next_seq, 30);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_bogus)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(40);
    uint32_t base = 0x10000000u;
    fx_seg(&f, 0, base, t, 0, 10);
    /* More than 1 GiB ahead: a different connection, not a 1 GiB gap. */
    fx_push(&f, 0, base + 10 + (1u << 30) + 1, TCP_ACK, t, 10);
    ck_assert_uint_eq(f.d[0].cap_drops, 1);
    /* Starts inside the window but ends beyond it. */
    fx_push(&f, 0, base + 10 + (1u << 30) - 5, TCP_ACK, t, 10);
    ck_assert_uint_eq(f.d[0].cap_drops, 2);
    /* Far behind. */
    fx_push(&f, 0, base + 10 - (1u << 30) - 100, TCP_ACK, t, 10);
    ck_assert_uint_eq(f.d[0].cap_drops, 3);
    ck_assert_uint_eq(f.d[0].retrans, 0);
    /* A bogus FIN is not recorded either; half the sequence space away is bogus too. */
    fx_push(&f, 0, base + 0x80000000u, TCP_FIN | TCP_ACK, NULL, 0);
    ck_assert(!f.d[0].fin_seen);
    ck_assert_uint_eq(f.d[0].cap_drops, 4);
    ck_assert_uint_eq(f.d[0].ooo_segs, 0);
    ck_assert_uint_eq(f.d[0].gaps, 0);
    ck_assert_uint_eq(f.d[0].next_seq, base + 10);
    /* Within the window it is queued, and a flush reports the (large) gap. */
    fx_push(&f, 0, base + 10 + (1u << 29), TCP_ACK, t + 10, 10);
    ck_assert_uint_eq(f.d[0].ooo_segs, 1);
    reasm_flush(&f.d[0], 0, &f.b, &f.sink);
    struct coll want = {0};
    coll_put(&want, t, 10);
    coll_gap(&want, 1u << 29);
    coll_put(&want, t + 10, 10);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].gap_bytes, 1u << 29);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

START_TEST(test_one_byte_segments)
{
    enum { N = 10000 };
    uint8_t *t = truth(N);
    struct coll want = {0};
    coll_put(&want, t, N);
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint32_t isn = 0xFFFFF000u;
    fx_push(&f, 0, isn, TCP_SYN, NULL, 0);
    for (uint32_t i = 0; i < N; i++)
        fx_seg(&f, 0, isn + 1, t, i, 1);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].segs, N);
    ck_assert_uint_eq(f.d[0].delivered, N);
    ck_assert_uint_eq(f.c[0].zc_bytes, N);
    ck_assert_uint_eq(f.d[0].next_seq, isn + 1 + N);
    fx_fini(&f);

    /* Reversed: everything but byte 0 is queued, then drained by it. */
    fx_init(&f, N, N, N * (1 + REASM_SEG_OVERHEAD));
    fx_push(&f, 0, isn, TCP_SYN, NULL, 0);
    for (uint32_t i = N; i-- > 0;)
        fx_seg(&f, 0, isn + 1, t, i, 1);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].ooo_queued, N - 1);
    ck_assert_uint_eq(f.d[0].gaps, 0);
    ck_assert_uint_eq(f.b.used, 0);
    fx_fini(&f);
    coll_free(&want);
    free(t);
}
END_TEST

/* The consumer may stop a direction from inside its data callback. */
START_TEST(test_sink_sets_done)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(40);
    f.c[0].stop_after = 2;
    f.c[0].stop_d = &f.d[0];
    f.c[0].stop_b = &f.b;
    fx_seg(&f, 0, 0, t, 0, 5);
    fx_seg(&f, 0, 0, t, 10, 10);
    fx_seg(&f, 0, 0, t, 20, 10);
    fx_seg(&f, 0, 0, t, 35, 5);
    fx_seg(&f, 0, 0, t, 5, 5); /* 2nd data call stops; queued data is freed */
    ck_assert(f.d[0].done);
    ck_assert_ptr_null(f.d[0].ooo);
    ck_assert_uint_eq(f.b.used, 0);
    struct coll want = {0};
    coll_put(&want, t, 10);
    assert_stream(&f.c[0], &want);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

/* ---- reasm_flush ---- */

START_TEST(test_flush_holes)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(80);
    fx_seg(&f, 0, 0, t, 0, 10);
    fx_seg(&f, 0, 0, t, 60, 10);
    fx_seg(&f, 0, 0, t, 20, 10);
    fx_seg(&f, 0, 0, t, 40, 10);
    fx_seg(&f, 0, 0, t, 35, 5);
    reasm_flush(&f.d[0], 0, &f.b, &f.sink);
    fx_check(&f);
    struct coll want = {0};
    coll_put(&want, t, 10);
    coll_gap(&want, 10);
    coll_put(&want, t + 20, 10);
    coll_gap(&want, 5);
    coll_put(&want, t + 35, 15);
    coll_gap(&want, 10);
    coll_put(&want, t + 60, 10);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.d[0].gaps, 3);
    ck_assert_uint_eq(f.d[0].gap_bytes, 25);
    ck_assert_uint_eq(f.d[0].ooo_segs, 0);
    ck_assert_uint_eq(f.b.used, 0);
    ck_assert_uint_eq(f.d[0].next_seq, 70);
    /* The direction keeps working after a flush. */
    fx_seg(&f, 0, 0, t, 70, 10);
    coll_put(&want, t + 70, 10);
    assert_stream(&f.c[0], &want);
    /* Nothing queued: flush is a no-op. */
    reasm_flush(&f.d[0], 0, &f.b, &f.sink);
    reasm_flush(&f.d[1], 1, &f.b, &f.sink);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.c[1].len, 0);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

/* ---- reasm_set_done ---- */

START_TEST(test_set_done_then_push)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(40);
    fx_seg(&f, 0, 0, t, 0, 10);
    fx_seg(&f, 0, 0, t, 20, 10);
    ck_assert_uint_eq(f.b.used, 10 + REASM_SEG_OVERHEAD);
    reasm_set_done(&f.d[0], &f.b);
    ck_assert(f.d[0].done);
    ck_assert_ptr_null(f.d[0].ooo);
    ck_assert_uint_eq(f.b.used, 0);
    struct reasm_dir before;
    memcpy(&before, &f.d[0], sizeof before);
    size_t heap_before = mallinfo2().uordblks;
    ck_assert_int_eq(fx_seg(&f, 0, 0, t, 10, 10), 0);
    ck_assert_int_eq(fx_seg(&f, 0, 0, t, 35, 5), 0);
    ck_assert_int_eq(fx_push(&f, 0, 100, TCP_FIN, NULL, 0), 0);
    ck_assert_uint_eq(mallinfo2().uordblks, heap_before); /* no allocation */
    ck_assert_mem_eq(&f.d[0], &before, sizeof before);    /* nothing tracked */
    struct coll want = {0};
    coll_put(&want, t, 10);
    assert_stream(&f.c[0], &want);
    ck_assert_uint_eq(f.b.used, 0);
    reasm_flush(&f.d[0], 0, &f.b, &f.sink);
    assert_stream(&f.c[0], &want);
    reasm_set_done(&f.d[0], &f.b); /* idempotent */
    ck_assert(f.d[0].done);
    coll_free(&want);
    free(t);
    fx_fini(&f);
}
END_TEST

/* ---- reasm_dir_fini ---- */

START_TEST(test_fini_returns_budget)
{
    struct fx f;
    fx_init(&f, BIG_CFG);
    uint8_t *t = truth(100);
    for (int d = 0; d < 2; d++) {
        fx_seg(&f, d, 0, t, 0, 1);
        for (uint32_t off = 10; off < 100; off += 20)
            fx_seg(&f, d, 0, t, off, 10);
    }
    fx_pushw(&f, 0, 5, TCP_ACK, t + 5, 2, 5); /* snapped, queued */
    ck_assert_uint_eq(f.d[0].ooo_segs, 6);
    ck_assert_uint_eq(f.b.used, 50 + 50 + 2 + 11 * REASM_SEG_OVERHEAD);
    reasm_dir_fini(&f.d[0], &f.b);
    ck_assert_uint_eq(f.b.used, 50 + 5 * REASM_SEG_OVERHEAD);
    ck_assert_uint_eq(f.d[0].ooo_bytes, 0);
    ck_assert_uint_eq(f.d[0].ooo_segs, 0);
    reasm_dir_fini(&f.d[1], &f.b);
    ck_assert_uint_eq(f.b.used, 0);
    /* Reusable after init. */
    reasm_dir_init(&f.d[0]);
    ck_assert(!f.d[0].started);
    fx_seg(&f, 0, 0, t, 0, 1);
    ck_assert_uint_eq(f.d[0].next_seq, 1);
    free(t);
    fx_fini(&f);
}
END_TEST

static Suite *reasm_suite(void)
{
    Suite *s = suite_create("reasm");
    TCase *tc = tcase_create("push");
    tcase_add_test(tc, test_in_order);
    tcase_add_test(tc, test_syn_base);
    tcase_add_test(tc, test_midstream_pickup);
    tcase_add_test(tc, test_ooo_permutations3);
    tcase_add_test(tc, test_ooo_shuffle50);
    tcase_add_test(tc, test_duplicate_exact);
    tcase_add_test(tc, test_retrans_delivered);
    tcase_add_test(tc, test_overlap_old_partial);
    tcase_add_test(tc, test_overlap_queued_same);
    tcase_add_test(tc, test_overlap_queued_diff);
    tcase_add_test(tc, test_span_several_queued);
    tcase_add_test(tc, test_span_in_order);
    tcase_add_test(tc, test_wrap_in_order);
    tcase_add_test(tc, test_wrap_ooo);
    tcase_add_test(tc, test_gap_byte_cap);
    tcase_add_test(tc, test_gap_seg_cap);
    tcase_add_test(tc, test_gap_budget);
    tcase_add_test(tc, test_gap_cap_vs_loss);
    tcase_add_test(tc, test_drop_oversized);
    tcase_add_test(tc, test_snapped_in_order);
    tcase_add_test(tc, test_snapped_ooo);
    tcase_add_test(tc, test_fin);
    tcase_add_test(tc, test_bogus);
    tcase_add_test(tc, test_one_byte_segments);
    tcase_add_test(tc, test_sink_sets_done);
    suite_add_tcase(s, tc);

    tc = tcase_create("flush");
    tcase_add_test(tc, test_flush_holes);
    suite_add_tcase(s, tc);

    tc = tcase_create("set_done");
    tcase_add_test(tc, test_set_done_then_push);
    suite_add_tcase(s, tc);

    tc = tcase_create("fini");
    tcase_add_test(tc, test_fini_returns_budget);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reasm_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
