/* check_source.c — Check suite for capture/source.c's reading API apart from inputs
 * (check_inputs.c) and live fanout (tests/integ/fanout.py, which needs root and namespaces):
 *  - cap_dispatch() hands out exactly the packets cap_next() does (same order, timestamps,
 *    lengths, bytes) for pcap, pcapng and gzip captures, whatever the batch size; it returns 0
 *    at the end without calling back, and -1 after the packets before a truncation;
 *  - cap_break() makes both readers return 0 from then on;
 *  - cap_open_live() refuses a kernel buffer outside 1..CAP_BUFFER_MB_MAX before touching an
 *    interface; cap_fanout_group_pick() is never 0 and is our pid when that fits 16 bits;
 *  - files have no ring and no counters. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/source.h"
#include "tests/testutil.h"

struct seen {
    size_t n, cap;
    uint64_t *ts, *sum;
    uint32_t *caplen, *wirelen;
};

static void seen_add(struct seen *s, const struct cap_pkt *p)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->ts = realloc(s->ts, s->cap * sizeof *s->ts);
        s->sum = realloc(s->sum, s->cap * sizeof *s->sum);
        s->caplen = realloc(s->caplen, s->cap * sizeof *s->caplen);
        s->wirelen = realloc(s->wirelen, s->cap * sizeof *s->wirelen);
        ck_assert(s->ts && s->sum && s->caplen && s->wirelen);
    }
    uint64_t x = 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < p->caplen; i++)
        x = (x ^ p->data[i]) * 0x100000001b3ull;
    s->ts[s->n] = p->ts_usec;
    s->sum[s->n] = x;
    s->caplen[s->n] = p->caplen;
    s->wirelen[s->n] = p->wirelen;
    s->n++;
}

static void seen_free(struct seen *s)
{
    free(s->ts);
    free(s->sum);
    free(s->caplen);
    free(s->wirelen);
    memset(s, 0, sizeof *s);
}

static void on_pkt(void *user, const struct cap_pkt *p) { seen_add(user, p); }

struct batch {
    struct seen *s;
    int calls;
};

static void on_pkt_count(void *user, const struct cap_pkt *p)
{
    struct batch *b = user;
    b->calls++;
    seen_add(b->s, p);
}

static void path_of(char *buf, size_t cap, const char *rel)
{
    snprintf(buf, cap, "%s/pcaps/%s", tu_srcdir(), rel);
}

/* Every packet through cap_next(); returns its last result. */
static int read_next(const char *path, struct seen *s, char eb[CAP_ERRBUF])
{
    int err = 0;
    struct cap_source *src = cap_open_file(path, NULL, eb, &err);
    ck_assert_msg(src != NULL, "%s: %s", path, eb);
    struct cap_pkt p;
    int rc;
    while ((rc = cap_next(src, &p, eb)) == 1)
        seen_add(s, &p);
    cap_close(src);
    return rc;
}

/* Every packet through cap_dispatch(max); checks that no call hands out more than max and that
 * the final call (0 or -1) follows the packets. Returns the last result. */
static int read_dispatch(const char *path, int max, struct seen *s, char eb[CAP_ERRBUF])
{
    int err = 0;
    struct cap_source *src = cap_open_file(path, NULL, eb, &err);
    ck_assert_msg(src != NULL, "%s: %s", path, eb);
    int rc;
    for (;;) {
        struct batch b = {s, 0};
        rc = cap_dispatch(src, max, on_pkt_count, &b, eb);
        ck_assert_int_le(b.calls, max);
        if (rc == 1) {
            ck_assert_int_ge(b.calls, 1);
            continue;
        }
        if (rc == 0)
            ck_assert_int_eq(b.calls, 0); /* the end of a file is seen by a call of its own */
        break;
    }
    cap_close(src);
    return rc;
}

static void same(const struct seen *a, const struct seen *b)
{
    ck_assert_uint_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        ck_assert_uint_eq(a->ts[i], b->ts[i]);
        ck_assert_uint_eq(a->caplen[i], b->caplen[i]);
        ck_assert_uint_eq(a->wirelen[i], b->wirelen[i]);
        ck_assert_uint_eq(a->sum[i], b->sum[i]);
    }
}

START_TEST(test_dispatch_same_as_next)
{
    static const char *files[] = {"http-get-ipv4.pcap", "http-get-ipv4.pcap.gz", "http-get.pcapng",
                                  "http-get-ipv6.pcap", "any-sll2.pcap"};
    static const int maxes[] = {1, 2, 7, 1000};
    char eb[CAP_ERRBUF], path[1024];
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        path_of(path, sizeof path, files[f]);
        struct seen ref = {0};
        ck_assert_int_eq(read_next(path, &ref, eb), 0);
        ck_assert_uint_gt(ref.n, 3);
        for (size_t m = 0; m < sizeof maxes / sizeof maxes[0]; m++) {
            struct seen got = {0};
            ck_assert_int_eq(read_dispatch(path, maxes[m], &got, eb), 0);
            same(&ref, &got);
            seen_free(&got);
        }
        seen_free(&ref);
    }
}
END_TEST

START_TEST(test_dispatch_truncated)
{
    char eb[CAP_ERRBUF], path[1024], tmp[] = "/tmp/nzsrcXXXXXX";
    path_of(path, sizeof path, "http-get-ipv4.pcap");
    size_t len;
    uint8_t *b = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(b);
    int fd = mkstemp(tmp);
    ck_assert_int_ge(fd, 0);
    size_t cut = len - 20; /* inside the last record */
    ck_assert_int_eq(write(fd, b, cut), (ssize_t)cut);
    close(fd);
    free(b);
    struct seen ref = {0}, got = {0};
    ck_assert_int_eq(read_next(tmp, &ref, eb), -1);
    ck_assert_int_eq(read_dispatch(tmp, 64, &got, eb), -1);
    ck_assert_msg(strstr(eb, tmp) != NULL, "message names the file: %s", eb);
    ck_assert_uint_gt(ref.n, 0);
    same(&ref, &got);
    seen_free(&ref);
    seen_free(&got);
    unlink(tmp);
}
END_TEST

START_TEST(test_break)
{
    char eb[CAP_ERRBUF], path[1024];
    path_of(path, sizeof path, "http-get-ipv4.pcap");
    int err = 0;
    struct cap_source *s = cap_open_file(path, NULL, eb, &err);
    ck_assert_ptr_nonnull(s);
    struct cap_pkt p;
    ck_assert_int_eq(cap_next(s, &p, eb), 1);
    cap_break(s);
    struct seen got = {0};
    ck_assert_int_eq(cap_next(s, &p, eb), 0);
    ck_assert_int_eq(cap_dispatch(s, 16, on_pkt, &got, eb), 0);
    ck_assert_int_eq(cap_next(s, &p, eb), 0);
    ck_assert_uint_eq(got.n, 0);
    cap_close(s);
    cap_break(NULL); /* a no-op */
}
END_TEST

START_TEST(test_live_args)
{
    char eb[CAP_ERRBUF];
    int err = 0;
    struct cap_live_cfg cfg = {.snaplen = 65535, .buffer_mb = CAP_BUFFER_MB_MAX + 1};
    ck_assert_ptr_null(cap_open_live("nz-no-such-if0", &cfg, NULL, eb, &err));
    ck_assert_int_eq(err, NZ_EUSAGE);
    ck_assert_msg(strstr(eb, "MiB") != NULL, "%s", eb);
    cfg.buffer_mb = -1;
    err = 0;
    ck_assert_ptr_null(cap_open_live("nz-no-such-if0", &cfg, NULL, eb, &err));
    ck_assert_int_eq(err, NZ_EUSAGE);
    /* in range: the missing interface is what fails (as root: libpcap says so; otherwise the
     * permission) */
    cfg.buffer_mb = 1;
    err = 0;
    ck_assert_ptr_null(cap_open_live("nz-no-such-if0", &cfg, NULL, eb, &err));
    ck_assert_int_ne(err, 0);
    ck_assert_msg(strstr(eb, "nz-no-such-if0") != NULL, "%s", eb);

    uint16_t g = cap_fanout_group_pick();
    ck_assert_uint_ne(g, 0);
    ck_assert_uint_eq(g, cap_fanout_group_pick());
    pid_t pid = getpid();
    if (pid <= 0xffff)
        ck_assert_uint_eq(g, (unsigned)pid);
}
END_TEST

START_TEST(test_file_has_no_ring)
{
    char eb[CAP_ERRBUF], path[1024];
    path_of(path, sizeof path, "http-get-ipv4.pcap");
    int err = 0;
    struct cap_source *s = cap_open_file(path, NULL, eb, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(cap_ring_bytes(s), 0);
    struct cap_stats st;
    ck_assert_int_eq(cap_stats(s, &st), NZ_EUNSUPPORTED);
    cap_close(s);
}
END_TEST

static Suite *source_suite(void)
{
    Suite *su = suite_create("source");
    TCase *tc = tcase_create("read");
    tcase_add_test(tc, test_dispatch_same_as_next);
    tcase_add_test(tc, test_dispatch_truncated);
    tcase_add_test(tc, test_break);
    tcase_add_test(tc, test_live_args);
    tcase_add_test(tc, test_file_has_no_ring);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(source_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
