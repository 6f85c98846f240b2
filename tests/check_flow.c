/* check_flow.c — Check suite for capture/flow.c.
 *
 * Packets are struct pkt values built directly (the decoder has its own suite). Times are
 * packet times in microseconds; the end callback records every ended flow so that tests
 * can assert "exactly once" and the reason. */
#include "capture/flow.h"

#include "core/limits.h"
#include "tests/testutil.h"

#include <check.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000000ull

/* ---- packet helpers ---- */

static struct pkt mk4(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t flags,
                      uint64_t ts)
{
    struct pkt p;
    memset(&p, 0, sizeof p);
    p.ip_ver = 4;
    p.src[0] = (uint8_t)(src >> 24);
    p.src[1] = (uint8_t)(src >> 16);
    p.src[2] = (uint8_t)(src >> 8);
    p.src[3] = (uint8_t)src;
    p.dst[0] = (uint8_t)(dst >> 24);
    p.dst[1] = (uint8_t)(dst >> 16);
    p.dst[2] = (uint8_t)(dst >> 8);
    p.dst[3] = (uint8_t)dst;
    p.sport = sport;
    p.dport = dport;
    p.tcp_flags = flags;
    p.ts_usec = ts;
    p.wirelen = 66;
    p.caplen = 66;
    return p;
}

static struct pkt mk6(uint8_t src_last, uint16_t sport, uint8_t dst_last, uint16_t dport,
                      uint8_t flags, uint64_t ts)
{
    struct pkt p;
    memset(&p, 0, sizeof p);
    p.ip_ver = 6;
    p.src[0] = 0x20;
    p.src[1] = 0x01;
    p.src[15] = src_last;
    p.dst[0] = 0x20;
    p.dst[1] = 0x01;
    p.dst[15] = dst_last;
    p.sport = sport;
    p.dport = dport;
    p.tcp_flags = flags;
    p.ts_usec = ts;
    p.wirelen = 86;
    p.caplen = 86;
    return p;
}

/* Reverse direction of p (same time and flags unless changed by the caller). */
static struct pkt rev(struct pkt p)
{
    struct pkt r = p;
    memcpy(r.src, p.dst, 16);
    memcpy(r.dst, p.src, 16);
    r.sport = p.dport;
    r.dport = p.sport;
    return r;
}

static struct pkt at(struct pkt p, uint64_t ts, uint8_t flags)
{
    p.ts_usec = ts;
    p.tcp_flags = flags;
    return p;
}

#define A 0x0a000001u /* 10.0.0.1 */
#define B 0x0a000002u /* 10.0.0.2 */

/* ---- end callback recorder ---- */

enum { REC_MAX_IDS = 200000 };

struct rec {
    size_t n;                     /* calls */
    size_t by_why[6];
    uint64_t last_id;             /* id of the last ended flow */
    enum flow_end last_why;
    uint64_t last_pkts_total;     /* pkts[0] + pkts[1] of the last ended flow (read in cb) */
    uint64_t order[64];           /* ids in end order (first 64) */
    uint8_t *seen;                /* REC_MAX_IDS counters, or NULL */
};

static void on_end(void *ud, struct flow *f, enum flow_end why)
{
    struct rec *r = ud;
    ck_assert_int_ge(why, 0);
    ck_assert_int_le(why, FLOW_END_SHUTDOWN);
    if (r->n < 64)
        r->order[r->n] = f->id;
    r->n++;
    r->by_why[why]++;
    r->last_id = f->id;
    r->last_why = why;
    r->last_pkts_total = f->pkts[0] + f->pkts[1];
    if (r->seen) {
        ck_assert_uint_lt(f->id, REC_MAX_IDS);
        ck_assert_uint_eq(r->seen[f->id], 0);
        r->seen[f->id]++;
    }
}

static struct flow_table *mk_table(size_t max_flows, uint32_t idle_sec, struct rec *r)
{
    struct flow_cfg cfg = {max_flows, idle_sec, NULL};
    int err = 1;
    memset(r, 0, sizeof *r);
    struct flow_table *t = flow_table_new(&cfg, on_end, r, &err);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(err, 0);
    return t;
}

static struct flow *track(struct flow_table *t, struct pkt p, int *dir)
{
    int err = 1, d = -1;
    struct flow *f = flow_track(t, &p, &d, &err);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(err, 0);
    ck_assert(d == FLOW_DIR_C2S || d == FLOW_DIR_S2C);
    if (dir)
        *dir = d;
    return f;
}

static uint64_t active(const struct flow_table *t)
{
    struct flow_stats st;
    flow_table_stats(t, &st);
    return st.active;
}

/* ---- orientation ---- */

/* flow_hash: one value for both directions (the engine spreads flows over workers by it);
 * different endpoints, ports or IP versions give different values here. */
START_TEST(test_flow_hash_symmetric)
{
    struct pkt a = mk4(0x0a000001, 40000, 0xc0a80001, 443, TCP_SYN, 1);
    struct pkt b = rev(a);
    ck_assert_uint_eq(flow_hash(&a), flow_hash(&b));
    struct pkt c = mk4(0x0a000001, 40001, 0xc0a80001, 443, TCP_SYN, 1);
    ck_assert_uint_ne(flow_hash(&a), flow_hash(&c));
    struct pkt d = mk4(0x0a000002, 40000, 0xc0a80001, 443, TCP_SYN, 1);
    ck_assert_uint_ne(flow_hash(&a), flow_hash(&d));
    struct pkt e6 = mk6(1, 40000, 2, 443, TCP_SYN, 1);
    struct pkt f6 = rev(e6);
    ck_assert_uint_eq(flow_hash(&e6), flow_hash(&f6));
    struct pkt e4 = mk4(1, 40000, 2, 443, TCP_SYN, 1);
    ck_assert_uint_ne(flow_hash(&e6), flow_hash(&e4));
    /* both directions of 1000 flows: equal; their high bits spread over 2 workers */
    unsigned w[2] = {0, 0};
    for (uint32_t i = 0; i < 1000; i++) {
        struct pkt x = mk4(0x0a000000 + i, (uint16_t)(1024 + i), 0xc0a80001, 443, TCP_SYN, 1);
        struct pkt y = rev(x);
        ck_assert_uint_eq(flow_hash(&x), flow_hash(&y));
        w[((uint64_t)flow_hash(&x) * 2) >> 32]++;
    }
    ck_assert_uint_gt(w[0], 400);
    ck_assert_uint_gt(w[1], 400);
}
END_TEST

START_TEST(test_orient_syn)
{
    struct rec r;
    struct flow_table *t = mk_table(10, 300, &r);
    struct pkt syn = mk4(A, 40000, B, 443, TCP_SYN, 1 * SEC);
    int d;
    struct flow *f = track(t, syn, &d);
    ck_assert_int_eq(d, FLOW_DIR_C2S);
    ck_assert_int_eq(f->orient, FLOW_ORIENT_SYN);
    ck_assert_uint_eq(f->cli_port, 40000);
    ck_assert_uint_eq(f->srv_port, 443);
    ck_assert_mem_eq(f->cli_ip, syn.src, 16);
    ck_assert_mem_eq(f->srv_ip, syn.dst, 16);
    ck_assert_uint_eq(f->id, 1);
    struct flow *g = track(t, at(rev(syn), 1 * SEC + 10, TCP_SYN | TCP_ACK), &d);
    ck_assert_ptr_eq(f, g);
    ck_assert_int_eq(d, FLOW_DIR_S2C);
    ck_assert(f->syn_seen[FLOW_DIR_C2S] && f->syn_seen[FLOW_DIR_S2C]);
    /* the SYN decides even against the port heuristic: client on port 80 */
    struct pkt odd = mk4(A, 80, B, 50000, TCP_SYN, 2 * SEC);
    f = track(t, odd, &d);
    ck_assert_int_eq(f->orient, FLOW_ORIENT_SYN);
    ck_assert_uint_eq(f->cli_port, 80);
    ck_assert_int_eq(d, FLOW_DIR_C2S);
    flow_table_free(t);
    ck_assert_uint_eq(r.n, 2);
}
END_TEST

START_TEST(test_orient_synack)
{
    struct rec r;
    struct flow_table *t = mk_table(10, 300, &r);
    /* only the server's SYN+ACK captured: its receiver is the client */
    struct pkt sa = mk4(B, 443, A, 40000, TCP_SYN | TCP_ACK, SEC);
    int d;
    struct flow *f = track(t, sa, &d);
    ck_assert_int_eq(f->orient, FLOW_ORIENT_SYNACK);
    ck_assert_int_eq(d, FLOW_DIR_S2C);
    ck_assert_uint_eq(f->cli_port, 40000);
    ck_assert_mem_eq(f->cli_ip, sa.dst, 16);
    ck_assert(f->syn_seen[FLOW_DIR_S2C] && !f->syn_seen[FLOW_DIR_C2S]);
    /* SYN+ACK from a high port to a low one: still the receiver is the client */
    f = track(t, mk4(A, 50000, B, 25, TCP_SYN | TCP_ACK, SEC), &d);
    ck_assert_uint_eq(f->cli_port, 25);
    ck_assert_uint_eq(f->srv_port, 50000);
    flow_table_free(t);
}
END_TEST

START_TEST(test_orient_port)
{
    struct rec r;
    struct flow_table *t = mk_table(10, 300, &r);
    int d;
    /* mid-stream: server → client data first; the port < 1024 is the server */
    struct flow *f = track(t, mk4(B, 443, A, 40000, TCP_ACK, SEC), &d);
    ck_assert_int_eq(f->orient, FLOW_ORIENT_PORT);
    ck_assert_uint_eq(f->srv_port, 443);
    ck_assert_int_eq(d, FLOW_DIR_S2C);
    /* client → server first */
    f = track(t, mk4(A, 1024, B, 1023, TCP_ACK, SEC), &d);
    ck_assert_uint_eq(f->srv_port, 1023);
    ck_assert_int_eq(d, FLOW_DIR_C2S);
    /* both >= 1024: the lower port is the server */
    f = track(t, mk4(A, 8443, B, 50000, TCP_ACK, SEC), &d);
    ck_assert_int_eq(f->orient, FLOW_ORIENT_PORT);
    ck_assert_uint_eq(f->srv_port, 8443);
    ck_assert_int_eq(d, FLOW_DIR_S2C);
    /* both < 1024: the lower port is the server */
    f = track(t, mk4(A, 22, B, 513, TCP_ACK | TCP_PSH, SEC), &d);
    ck_assert_uint_eq(f->srv_port, 22);
    ck_assert_mem_eq(f->srv_ip, mk4(A, 0, B, 0, 0, 0).src, 16);
    ck_assert_int_eq(d, FLOW_DIR_S2C);
    flow_table_free(t);
}
END_TEST

START_TEST(test_orient_first)
{
    struct rec r;
    struct flow_table *t = mk_table(10, 300, &r);
    int d;
    struct pkt p = mk4(B, 5000, A, 5000, TCP_ACK, SEC);
    struct flow *f = track(t, p, &d);
    ck_assert_int_eq(f->orient, FLOW_ORIENT_FIRST);
    ck_assert_int_eq(d, FLOW_DIR_C2S);
    ck_assert_mem_eq(f->cli_ip, p.src, 16); /* B, though it compares higher */
    struct flow *g = track(t, rev(p), &d);
    ck_assert_ptr_eq(f, g);
    ck_assert_int_eq(d, FLOW_DIR_S2C);
    ck_assert_str_eq(flow_orient_name(f->orient), "first");
    flow_table_free(t);
}
END_TEST

/* ---- directions and counters ---- */

START_TEST(test_directions_counters)
{
    struct rec r;
    struct flow_table *t = mk_table(10, 300, &r);
    struct pkt c = mk4(A, 40000, B, 80, TCP_SYN, SEC);
    int d;
    struct flow *f = track(t, c, &d);
    c.tcp_flags = TCP_ACK | TCP_PSH;
    c.wirelen = 100;
    c.payload_wire_len = 34;
    c.payload_len = 20; /* snapped: counters use the wire length */
    for (int i = 0; i < 3; i++)
        ck_assert_ptr_eq(track(t, c, &d), f);
    ck_assert_int_eq(d, FLOW_DIR_C2S);
    struct pkt s = rev(c);
    s.wirelen = 1514;
    s.payload_wire_len = 1448;
    for (int i = 0; i < 5; i++)
        ck_assert_ptr_eq(track(t, s, &d), f);
    ck_assert_int_eq(d, FLOW_DIR_S2C);
    ck_assert_uint_eq(f->pkts[FLOW_DIR_C2S], 4);
    ck_assert_uint_eq(f->pkts[FLOW_DIR_S2C], 5);
    ck_assert_uint_eq(f->bytes[FLOW_DIR_C2S], 66 + 3 * 100);
    ck_assert_uint_eq(f->bytes[FLOW_DIR_S2C], 5 * 1514);
    ck_assert_uint_eq(f->payload_bytes[FLOW_DIR_C2S], 3 * 34);
    ck_assert_uint_eq(f->payload_bytes[FLOW_DIR_S2C], 5 * 1448);
    ck_assert_uint_eq(f->first_usec, SEC);
    ck_assert_uint_eq(f->last_usec, SEC);
    ck_assert_uint_eq(active(t), 1);
    /* a different port is a different flow */
    struct pkt other = mk4(A, 40001, B, 80, TCP_SYN, 2 * SEC);
    ck_assert_ptr_ne(track(t, other, &d), f);
    ck_assert_uint_eq(active(t), 2);
    flow_table_free(t);
}
END_TEST

START_TEST(test_v4_v6)
{
    struct rec r;
    struct flow_table *t = mk_table(10, 300, &r);
    int d;
    struct pkt p6 = mk6(1, 40000, 2, 443, TCP_SYN, SEC);
    struct flow *f6 = track(t, p6, &d);
    ck_assert_int_eq(f6->ip_ver, 6);
    ck_assert_ptr_eq(track(t, at(rev(p6), SEC + 1, TCP_SYN | TCP_ACK), &d), f6);
    ck_assert_int_eq(d, FLOW_DIR_S2C);
    ck_assert_uint_eq(f6->bytes[FLOW_DIR_S2C], 86);
    /* an IPv4 packet whose 16 address bytes equal a v6 flow's is another flow */
    struct pkt p4 = p6;
    p4.ip_ver = 4;
    struct flow *f4 = track(t, p4, &d);
    ck_assert_ptr_ne(f4, f6);
    ck_assert_int_eq(f4->ip_ver, 4);
    ck_assert_uint_eq(active(t), 2);
    /* v6 addresses differing only in the last byte */
    struct flow *g6 = track(t, mk6(3, 40000, 2, 443, TCP_SYN, SEC), &d);
    ck_assert_ptr_ne(g6, f6);
    ck_assert_uint_eq(active(t), 3);
    flow_table_free(t);
    ck_assert_uint_eq(r.by_why[FLOW_END_SHUTDOWN], 3);
}
END_TEST

/* ---- expiry ---- */

START_TEST(test_idle_timeout)
{
    struct rec r;
    struct flow_table *t = mk_table(10, 60, &r);
    struct pkt a = mk4(A, 40000, B, 80, TCP_ACK, 100 * SEC);
    struct pkt b = mk4(A, 40001, B, 80, TCP_ACK, 100 * SEC);
    struct flow *fa = track(t, a, NULL);
    uint64_t id_a = fa->id;
    /* 59 s and exactly 60 s later: a is still there */
    track(t, at(b, 159 * SEC, TCP_ACK), NULL);
    ck_assert_uint_eq(r.n, 0);
    track(t, at(b, 160 * SEC, TCP_ACK), NULL);
    ck_assert_uint_eq(r.n, 0);
    ck_assert_uint_eq(active(t), 2);
    /* more than 60 s: a ends as idle (packet time, not wall clock) */
    track(t, at(b, 160 * SEC + 1, TCP_ACK), NULL);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_uint_eq(r.last_id, id_a);
    ck_assert_int_eq(r.last_why, FLOW_END_IDLE);
    ck_assert_uint_eq(r.last_pkts_total, 1);
    ck_assert_uint_eq(active(t), 1);
    flow_table_free(t);
    ck_assert_uint_eq(r.n, 2);
}
END_TEST

START_TEST(test_idle_own_packet)
{
    /* the flow's own packet after the idle time starts a new flow */
    struct rec r;
    struct flow_table *t = mk_table(10, 30, &r);
    struct pkt a = mk4(A, 40000, B, 80, TCP_ACK, 10 * SEC);
    uint64_t id1 = track(t, a, NULL)->id;
    struct flow *f = track(t, at(a, 40 * SEC, TCP_ACK), NULL); /* exactly 30 s: same */
    ck_assert_uint_eq(f->id, id1);
    f = track(t, at(a, 70 * SEC + 1, TCP_ACK), NULL);
    ck_assert_uint_ne(f->id, id1);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_int_eq(r.last_why, FLOW_END_IDLE);
    ck_assert_uint_eq(r.last_pkts_total, 2);
    ck_assert_uint_eq(f->pkts[0] + f->pkts[1], 1);
    flow_table_free(t);
}
END_TEST

START_TEST(test_fin_close_linger)
{
    struct rec r;
    struct flow_table *t = mk_table(10, 300, &r);
    struct pkt c = mk4(A, 40000, B, 80, TCP_SYN, 10 * SEC);
    struct pkt other = mk4(A, 40001, B, 80, TCP_ACK, 10 * SEC);
    struct flow *f = track(t, c, NULL);
    track(t, at(rev(c), 10 * SEC, TCP_SYN | TCP_ACK), NULL);
    track(t, at(c, 11 * SEC, TCP_FIN | TCP_ACK), NULL);
    ck_assert(f->fin_seen[FLOW_DIR_C2S]);
    ck_assert_uint_eq(f->closing_usec, 0); /* one FIN: half closed, still open */
    track(t, at(rev(c), 12 * SEC, TCP_FIN | TCP_ACK), NULL);
    ck_assert_uint_eq(f->closing_usec, 12 * SEC);
    /* final ACK within the linger: same flow */
    ck_assert_ptr_eq(track(t, at(c, 13 * SEC, TCP_ACK), NULL), f);
    ck_assert_uint_eq(f->closing_usec, 12 * SEC);
    /* exactly the linger later: still there */
    track(t, at(other, 12 * SEC + FLOW_CLOSE_LINGER_SEC * SEC, TCP_ACK), NULL);
    ck_assert_uint_eq(r.n, 0);
    /* past the linger: ended by expiry with "fin" */
    track(t, at(other, 12 * SEC + FLOW_CLOSE_LINGER_SEC * SEC + 1, TCP_ACK), NULL);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_int_eq(r.last_why, FLOW_END_FIN);
    ck_assert_uint_eq(r.last_pkts_total, 5);
    ck_assert_uint_eq(active(t), 1);
    flow_table_free(t);
}
END_TEST

START_TEST(test_fin_close_not_tail)
{
    /* many open flows older than the closed one: the sweep still finds it */
    struct rec r;
    struct flow_table *t = mk_table(1000, 300, &r);
    for (uint16_t i = 0; i < 100; i++)
        track(t, mk4(A, (uint16_t)(20000 + i), B, 80, TCP_ACK, SEC), NULL);
    struct pkt c = mk4(A, 40000, B, 80, TCP_ACK, 2 * SEC);
    struct flow *f = track(t, c, NULL);
    uint64_t id = f->id;
    track(t, at(c, 2 * SEC, TCP_FIN | TCP_ACK), NULL);
    track(t, at(rev(c), 2 * SEC, TCP_FIN | TCP_ACK), NULL);
    ck_assert_uint_ne(f->closing_usec, 0);
    struct pkt hot = mk4(A, 50000, B, 80, TCP_ACK, 10 * SEC);
    for (int i = 0; i < 30 && r.n == 0; i++)
        track(t, hot, NULL);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_uint_eq(r.last_id, id);
    ck_assert_int_eq(r.last_why, FLOW_END_FIN);
    flow_table_free(t);
}
END_TEST

START_TEST(test_rst_close)
{
    struct rec r;
    struct flow_table *t = mk_table(10, 300, &r);
    struct pkt c = mk4(A, 40000, B, 80, TCP_SYN, 10 * SEC);
    struct flow *f = track(t, c, NULL);
    track(t, at(rev(c), 10 * SEC + 5, TCP_RST | TCP_ACK), NULL);
    ck_assert(f->rst_seen);
    ck_assert_uint_eq(f->closing_usec, 10 * SEC + 5);
    /* a late packet within the linger keeps the flow */
    ck_assert_ptr_eq(track(t, at(c, 12 * SEC, TCP_ACK), NULL), f);
    ck_assert_uint_eq(flow_expire(t, 10 * SEC + 5 + FLOW_CLOSE_LINGER_SEC * SEC, 0), 0);
    ck_assert_uint_eq(flow_expire(t, 10 * SEC + 6 + FLOW_CLOSE_LINGER_SEC * SEC, 0), 1);
    ck_assert_int_eq(r.last_why, FLOW_END_RST);
    ck_assert_uint_eq(active(t), 0);
    flow_table_free(t);
    ck_assert_uint_eq(r.n, 1);
}
END_TEST

START_TEST(test_closing_at_time_zero)
{
    /* packet time 0 (broken file): closing still registers */
    struct rec r;
    struct flow_table *t = mk_table(10, 300, &r);
    struct pkt c = mk4(A, 40000, B, 80, TCP_RST, 0);
    struct flow *f = track(t, c, NULL);
    ck_assert_uint_ne(f->closing_usec, 0);
    track(t, mk4(A, 1, B, 2, TCP_ACK, 6 * SEC), NULL);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_int_eq(r.last_why, FLOW_END_RST);
    flow_table_free(t);
}
END_TEST

START_TEST(test_port_reuse)
{
    struct rec r;
    struct flow_table *t = mk_table(10, 300, &r);
    struct pkt c = mk4(A, 40000, B, 80, TCP_SYN, 10 * SEC);
    struct flow *f = track(t, c, NULL);
    uint64_t id1 = f->id;
    /* a retransmitted SYN on an open flow is the same flow */
    ck_assert_ptr_eq(track(t, at(c, 11 * SEC, TCP_SYN), NULL), f);
    track(t, at(c, 12 * SEC, TCP_FIN | TCP_ACK), NULL);
    track(t, at(rev(c), 12 * SEC, TCP_FIN | TCP_ACK), NULL);
    /* SYN+ACK or ACK on the closing flow: still the old one */
    ck_assert_ptr_eq(track(t, at(c, 13 * SEC, TCP_ACK), NULL), f);
    /* new SYN within the linger: old flow ends "reused", a new one starts */
    int d;
    f = track(t, at(c, 14 * SEC, TCP_SYN), &d);
    ck_assert_uint_ne(f->id, id1);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_uint_eq(r.last_id, id1);
    ck_assert_int_eq(r.last_why, FLOW_END_REUSED);
    ck_assert_uint_eq(r.last_pkts_total, 5);
    ck_assert_int_eq(d, FLOW_DIR_C2S);
    ck_assert_int_eq(f->orient, FLOW_ORIENT_SYN);
    ck_assert_uint_eq(f->pkts[0], 1);
    ck_assert_uint_eq(f->closing_usec, 0);
    ck_assert(!f->fin_seen[0] && !f->fin_seen[1]);
    /* reuse from the other side works too (server-initiated SYN on closing tuple) */
    track(t, at(c, 15 * SEC, TCP_RST), NULL);
    uint64_t id2 = f->id;
    f = track(t, at(rev(c), 16 * SEC, TCP_SYN), &d);
    ck_assert_uint_ne(f->id, id2);
    ck_assert_int_eq(d, FLOW_DIR_C2S);
    ck_assert_uint_eq(f->cli_port, 80);
    ck_assert_uint_eq(r.by_why[FLOW_END_REUSED], 2);
    flow_table_free(t);
}
END_TEST

START_TEST(test_time_backwards)
{
    struct rec r;
    struct flow_table *t = mk_table(10, 60, &r);
    struct pkt c = mk4(A, 40000, B, 80, TCP_ACK, 1000 * SEC);
    struct flow *f = track(t, c, NULL);
    /* an earlier packet (merged files): counted, last_usec does not move back */
    ck_assert_ptr_eq(track(t, at(c, 990 * SEC, TCP_ACK), NULL), f);
    ck_assert_uint_eq(f->last_usec, 1000 * SEC);
    ck_assert_uint_eq(f->pkts[0], 2);
    /* expiry at a time before last_usec: nothing ends, nothing wraps around */
    ck_assert_uint_eq(flow_expire(t, 0, 0), 0);
    ck_assert_uint_eq(flow_expire(t, 500 * SEC, 5), 0);
    /* a new flow at an earlier time is not expired by the later one */
    struct flow *g = track(t, mk4(A, 1, B, 2, TCP_ACK, 900 * SEC), NULL);
    ck_assert_uint_eq(g->first_usec, 900 * SEC);
    uint64_t gid = g->id;
    ck_assert_uint_eq(r.n, 0);
    ck_assert_uint_eq(flow_expire(t, 1060 * SEC, 0), 1); /* g: 160 s idle; f: exactly 60 */
    ck_assert_uint_eq(r.last_id, gid);
    ck_assert_int_eq(r.last_why, FLOW_END_IDLE);
    /* closing time before now never underflows */
    track(t, at(c, 1000 * SEC, TCP_RST), NULL);
    ck_assert_uint_eq(flow_expire(t, 999 * SEC, 0), 0);
    flow_table_free(t);
}
END_TEST

START_TEST(test_expire_bounded)
{
    struct rec r;
    struct flow_table *t = mk_table(100, 10, &r);
    for (uint16_t i = 0; i < 20; i++)
        track(t, mk4(A, (uint16_t)(1000 + i), B, 80, TCP_ACK, SEC), NULL);
    ck_assert_uint_eq(flow_expire(t, 100 * SEC, 3), 3);
    ck_assert_uint_eq(active(t), 17);
    /* oldest first */
    ck_assert_uint_eq(r.order[0], 1);
    ck_assert_uint_eq(r.order[2], 3);
    ck_assert_uint_eq(flow_expire(t, 100 * SEC, 0), 17);
    ck_assert_uint_eq(active(t), 0);
    ck_assert_uint_eq(flow_expire(t, 100 * SEC, 0), 0);
    /* flow_track itself does at most FLOW_EXPIRE_PER_PKT per packet */
    for (uint16_t i = 0; i < 20; i++)
        track(t, mk4(A, (uint16_t)(2000 + i), B, 80, TCP_ACK, 200 * SEC), NULL);
    size_t before = r.n;
    track(t, mk4(A, 9, B, 9, TCP_ACK, 300 * SEC), NULL);
    ck_assert_uint_eq(r.n - before, FLOW_EXPIRE_PER_PKT);
    ck_assert_uint_eq(r.by_why[FLOW_END_IDLE], 20 + FLOW_EXPIRE_PER_PKT);
    flow_table_free(t);
}
END_TEST

/* ---- eviction ---- */

START_TEST(test_evict_lru_order)
{
    struct rec r;
    struct flow_table *t = mk_table(3, 300, &r);
    struct pkt pa = mk4(A, 1001, B, 80, TCP_ACK, SEC);
    struct pkt pb = mk4(A, 1002, B, 80, TCP_ACK, SEC);
    struct pkt pc = mk4(A, 1003, B, 80, TCP_ACK, SEC);
    uint64_t ida = track(t, pa, NULL)->id;
    uint64_t idb = track(t, pb, NULL)->id;
    uint64_t idc = track(t, pc, NULL)->id;
    /* touch a (from the other side): b is now least recently seen */
    track(t, at(rev(pa), 2 * SEC, TCP_ACK), NULL);
    struct flow *fd = track(t, mk4(A, 1004, B, 80, TCP_ACK, 3 * SEC), NULL);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_uint_eq(r.last_id, idb);
    ck_assert_int_eq(r.last_why, FLOW_END_EVICTED);
    ck_assert_uint_eq(active(t), 3);
    /* next: c */
    track(t, mk4(A, 1005, B, 80, TCP_ACK, 4 * SEC), NULL);
    ck_assert_uint_eq(r.last_id, idc);
    /* touch a again, then d goes */
    track(t, at(pa, 5 * SEC, TCP_ACK), NULL);
    uint64_t idd = fd->id;
    track(t, mk4(A, 1006, B, 80, TCP_ACK, 6 * SEC), NULL);
    ck_assert_uint_eq(r.last_id, idd);
    ck_assert_uint_eq(r.by_why[FLOW_END_EVICTED], 3);
    /* a survived all of it */
    ck_assert_uint_eq(track(t, at(pa, 7 * SEC, TCP_ACK), NULL)->id, ida);
    struct flow_stats st;
    flow_table_stats(t, &st);
    ck_assert_uint_eq(st.created, 6);
    ck_assert_uint_eq(st.max_active, 3);
    ck_assert_uint_eq(st.ended[FLOW_END_EVICTED], 3);
    flow_table_free(t);
}
END_TEST

START_TEST(test_evict_keep)
{
    struct rec r;
    struct flow_table *t = mk_table(10, 300, &r);
    ck_assert(!flow_evict_lru(t, NULL)); /* empty */
    struct flow *f1 = track(t, mk4(A, 1, B, 80, TCP_ACK, SEC), NULL);
    ck_assert(!flow_evict_lru(t, f1)); /* only keep */
    ck_assert_uint_eq(r.n, 0);
    struct flow *f2 = track(t, mk4(A, 2, B, 80, TCP_ACK, SEC), NULL);
    uint64_t id2 = f2->id;
    struct flow *f3 = track(t, mk4(A, 3, B, 80, TCP_ACK, SEC), NULL);
    /* LRU order: f1 (tail), f2, f3. keep = tail → the next one goes */
    ck_assert(flow_evict_lru(t, f1));
    ck_assert_uint_eq(r.last_id, id2);
    ck_assert_int_eq(r.last_why, FLOW_END_EVICTED);
    /* keep not at the tail: the tail goes */
    uint64_t id1 = f1->id;
    ck_assert(flow_evict_lru(t, f3));
    ck_assert_uint_eq(r.last_id, id1);
    ck_assert(!flow_evict_lru(t, f3));
    ck_assert(flow_evict_lru(t, NULL));
    ck_assert_uint_eq(active(t), 0);
    ck_assert(!flow_evict_lru(NULL, NULL));
    flow_table_free(t);
    ck_assert_uint_eq(r.n, 3);
}
END_TEST

/* ---- memory accounting ---- */

/* The budget's charge must equal what glibc really holds for the table: its bucket array and
 * one chunk per live flow (malloc_usable_size + the 8-byte header is the chunk size). */
START_TEST(test_mem_charged)
{
    struct rec r;
    struct mem_budget mb = {0, SIZE_MAX, 0};
    struct flow_cfg cfg = {1000, 300, &mb};
    memset(&r, 0, sizeof r);
    struct flow_table *t = flow_table_new(&cfg, on_end, &r, NULL);
    ck_assert_ptr_nonnull(t);
    size_t base = flow_buckets_mem(1000);
    ck_assert_uint_eq(mb.used, base);
    ck_assert_uint_eq(base, nz_heap_size(1024 * sizeof(struct flow *)));
    struct flow *f = track(t, mk4(A, 1, B, 80, TCP_SYN, SEC), NULL);
#if !defined(__SANITIZE_ADDRESS__) /* ASan's allocator has its own chunk layout */
    ck_assert_uint_eq(malloc_usable_size(f) + 8, flow_entry_mem());
#endif
    ck_assert_ptr_nonnull(f);
    for (uint16_t i = 2; i <= 50; i++)
        track(t, mk4(A, i, B, 80, TCP_SYN, SEC), NULL);
    ck_assert_uint_eq(mb.used, base + 50 * flow_entry_mem());
    ck_assert_uint_eq(mb.peak, mb.used);
    ck_assert(flow_evict_lru(t, NULL));
    flow_expire(t, 1000 * SEC, 0); /* the other 49 idle out */
    ck_assert_uint_eq(active(t), 0);
    ck_assert_uint_eq(mb.used, base);
    track(t, mk4(A, 1, B, 80, TCP_SYN, 1001 * SEC), NULL);
    flow_table_free(t);
    ck_assert_uint_eq(mb.used, 0);
    ck_assert_uint_eq(mb.peak, base + 50 * flow_entry_mem());
    ck_assert_uint_eq(r.n, 51);
}
END_TEST

/* ---- lifetime / callback ---- */

START_TEST(test_end_once_and_free)
{
    struct rec r;
    struct flow_table *t = mk_table(50, 20, &r);
    r.seen = calloc(REC_MAX_IDS, 1);
    ck_assert_ptr_nonnull(r.seen);
    uint64_t ts = SEC;
    /* a mix: idle, fin, rst, reuse, evictions, and survivors */
    for (uint16_t i = 0; i < 200; i++) {
        struct pkt c = mk4(A + (i % 7), (uint16_t)(30000 + i), B, 80, TCP_SYN, ts);
        track(t, c, NULL);
        if (i % 3 == 0) {
            track(t, at(c, ts, TCP_RST), NULL);
            if (i % 2 == 0)
                track(t, at(c, ts + 1, TCP_SYN), NULL); /* reuse */
        } else if (i % 3 == 1) {
            track(t, at(c, ts, TCP_FIN | TCP_ACK), NULL);
            track(t, at(rev(c), ts, TCP_FIN | TCP_ACK), NULL);
        }
        ts += SEC / 2;
    }
    struct flow_stats st;
    flow_table_stats(t, &st);
    uint64_t created = st.created;
    ck_assert_uint_gt(st.ended[FLOW_END_REUSED], 0);
    ck_assert_uint_gt(st.ended[FLOW_END_EVICTED] + st.ended[FLOW_END_IDLE], 0);
    ck_assert_uint_gt(st.ended[FLOW_END_FIN], 0);
    ck_assert_uint_gt(st.ended[FLOW_END_RST], 0);
    ck_assert_uint_gt(st.active, 0);
    uint64_t left = st.active;
    size_t before = r.n;
    flow_table_free(t);
    ck_assert_uint_eq(r.n - before, left);
    ck_assert_uint_eq(r.by_why[FLOW_END_SHUTDOWN], left);
    ck_assert_uint_eq(r.n, created);
    for (uint64_t id = 1; id <= created; id++)
        ck_assert_uint_eq(r.seen[id], 1);
    free(r.seen);
}
END_TEST

START_TEST(test_end_all)
{
    struct rec r;
    struct flow_table *t = mk_table(10, 300, &r);
    for (uint16_t i = 0; i < 5; i++)
        track(t, mk4(A, (uint16_t)(100 + i), B, 80, TCP_ACK, SEC), NULL);
    flow_end_all(t, FLOW_END_SHUTDOWN);
    ck_assert_uint_eq(r.n, 5);
    ck_assert_uint_eq(active(t), 0);
    /* still usable; ids continue */
    struct flow *f = track(t, mk4(A, 100, B, 80, TCP_ACK, 2 * SEC), NULL);
    ck_assert_uint_eq(f->id, 6);
    flow_end_all(t, FLOW_END_EVICTED);
    ck_assert_int_eq(r.last_why, FLOW_END_EVICTED);
    flow_table_free(t);
    ck_assert_uint_eq(r.n, 6);
    flow_table_free(NULL);
}
END_TEST

START_TEST(test_stats)
{
    struct rec r;
    struct flow_table *t = mk_table(4, 10, &r);
    struct flow_stats st;
    flow_table_stats(t, &st);
    ck_assert_uint_eq(st.created + st.active + st.max_active, 0);
    for (uint16_t i = 0; i < 6; i++)
        track(t, mk4(A, (uint16_t)(100 + i), B, 80, TCP_ACK, SEC), NULL);
    flow_table_stats(t, &st);
    ck_assert_uint_eq(st.created, 6);
    ck_assert_uint_eq(st.active, 4);
    ck_assert_uint_eq(st.max_active, 4);
    ck_assert_uint_eq(st.ended[FLOW_END_EVICTED], 2);
    flow_expire(t, 100 * SEC, 0);
    flow_table_stats(t, &st);
    ck_assert_uint_eq(st.active, 0);
    ck_assert_uint_eq(st.max_active, 4);
    ck_assert_uint_eq(st.ended[FLOW_END_IDLE], 4);
    uint64_t sum = 0;
    for (int i = 0; i < 6; i++)
        sum += st.ended[i];
    ck_assert_uint_eq(sum + st.active, st.created);
    flow_table_free(t);
}
END_TEST

START_TEST(test_new_errors_names)
{
    int err = 0;
    struct flow_cfg cfg = {0, 10, NULL};
    ck_assert_ptr_null(flow_table_new(&cfg, NULL, NULL, &err));
    ck_assert_int_eq(err, NZ_EUSAGE);
    cfg.max_flows = 10;
    cfg.idle_sec = 0;
    err = 0;
    ck_assert_ptr_null(flow_table_new(&cfg, NULL, NULL, &err));
    ck_assert_int_eq(err, NZ_EUSAGE);
    err = 0;
    ck_assert_ptr_null(flow_table_new(NULL, NULL, NULL, &err));
    ck_assert_int_eq(err, NZ_EUSAGE);
    /* a table without a callback, and NULL OUT params */
    cfg.idle_sec = 10;
    struct flow_table *t = flow_table_new(&cfg, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(t);
    struct pkt p = mk4(A, 1, B, 2, TCP_SYN, SEC);
    ck_assert_ptr_nonnull(flow_track(t, &p, NULL, NULL));
    flow_table_free(t);
    /* huge max_flows: buckets capped, creation still works */
    cfg.max_flows = (size_t)1 << 40;
    t = flow_table_new(&cfg, NULL, NULL, &err);
    ck_assert_ptr_nonnull(t);
    flow_table_free(t);

    ck_assert_str_eq(flow_end_name(FLOW_END_FIN), "fin");
    ck_assert_str_eq(flow_end_name(FLOW_END_RST), "rst");
    ck_assert_str_eq(flow_end_name(FLOW_END_IDLE), "idle");
    ck_assert_str_eq(flow_end_name(FLOW_END_EVICTED), "evicted");
    ck_assert_str_eq(flow_end_name(FLOW_END_REUSED), "reused");
    ck_assert_str_eq(flow_end_name(FLOW_END_SHUTDOWN), "shutdown");
    ck_assert_str_eq(flow_end_name((enum flow_end)6), "unknown");
    ck_assert_str_eq(flow_orient_name(FLOW_ORIENT_SYN), "syn");
    ck_assert_str_eq(flow_orient_name(FLOW_ORIENT_SYNACK), "synack");
    ck_assert_str_eq(flow_orient_name(FLOW_ORIENT_PORT), "port");
    ck_assert_str_eq(flow_orient_name(FLOW_ORIENT_FIRST), "first");
    ck_assert_str_eq(flow_orient_name((enum flow_orient)9), "unknown");
}
END_TEST

/* ---- stress ---- */

START_TEST(test_stress)
{
    struct rec r;
    struct flow_table *t = mk_table(1000, 300, &r);
    r.seen = calloc(REC_MAX_IDS, 1);
    ck_assert_ptr_nonnull(r.seen);
    uint32_t x = 2463534242u; /* xorshift32: deterministic "random" keys */
    struct flow *keep[16] = {0};
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        struct pkt p = (i & 1) ? mk4(x, (uint16_t)(x >> 7), B + (x & 3), 443, TCP_SYN, (uint64_t)i * 1000)
                               : mk6((uint8_t)x, (uint16_t)(x >> 9), (uint8_t)(x >> 20), 80, TCP_SYN,
                                     (uint64_t)i * 1000);
        int d;
        struct flow *f = track(t, p, &d);
        /* answer some, and look up a recent flow again from the other side */
        if (i % 5 == 0) {
            struct flow *g = track(t, at(rev(p), p.ts_usec, TCP_SYN | TCP_ACK), &d);
            ck_assert_ptr_eq(f, g);
            ck_assert_int_eq(d, FLOW_DIR_S2C);
        }
        keep[i % 16] = f;
        ck_assert_uint_le(active(t), 1000);
        if (i % 10000 == 5000)
            ck_assert(flow_evict_lru(t, keep[i % 16]));
    }
    struct flow_stats st;
    flow_table_stats(t, &st);
    ck_assert_uint_le(st.max_active, 1000);
    ck_assert_uint_ge(st.created, 99000); /* only key collisions of the generator merge */
    flow_table_free(t);
    ck_assert_uint_eq(r.n, st.created);
    for (uint64_t id = 1; id <= st.created; id++)
        ck_assert_uint_eq(r.seen[id], 1);
    free(r.seen);
}
END_TEST

static Suite *flow_suite(void)
{
    Suite *s = suite_create("flow");
    TCase *tc = tcase_create("orientation");
    tcase_add_test(tc, test_flow_hash_symmetric);
    tcase_add_test(tc, test_orient_syn);
    tcase_add_test(tc, test_orient_synack);
    tcase_add_test(tc, test_orient_port);
    tcase_add_test(tc, test_orient_first);
    suite_add_tcase(s, tc);

    tc = tcase_create("track");
    tcase_add_test(tc, test_directions_counters);
    tcase_add_test(tc, test_v4_v6);
    suite_add_tcase(s, tc);

    tc = tcase_create("expire");
    tcase_add_test(tc, test_idle_timeout);
    tcase_add_test(tc, test_idle_own_packet);
    tcase_add_test(tc, test_fin_close_linger);
    tcase_add_test(tc, test_fin_close_not_tail);
    tcase_add_test(tc, test_rst_close);
    tcase_add_test(tc, test_closing_at_time_zero);
    tcase_add_test(tc, test_port_reuse);
    tcase_add_test(tc, test_time_backwards);
    tcase_add_test(tc, test_expire_bounded);
    suite_add_tcase(s, tc);

    tc = tcase_create("evict");
    tcase_add_test(tc, test_evict_lru_order);
    tcase_add_test(tc, test_evict_keep);
    tcase_add_test(tc, test_mem_charged);
    suite_add_tcase(s, tc);

    tc = tcase_create("lifetime");
    tcase_add_test(tc, test_end_once_and_free);
    tcase_add_test(tc, test_end_all);
    tcase_add_test(tc, test_stats);
    tcase_add_test(tc, test_new_errors_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("stress");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_stress);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(flow_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
