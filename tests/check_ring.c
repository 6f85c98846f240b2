/* check_ring.c — the engine's queues (engine/ring.h): wrap-around with pads, full and empty,
 * the payload bound, and two threads passing a million messages of every size through a
 * small ring with the bells (order and every byte checked). */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ring.h"

static void fill(unsigned char *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 31 + i * 7);
}

static bool check_fill(const unsigned char *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed * 31 + i * 7))
            return false;
    return true;
}

START_TEST(test_basic)
{
    struct ring r;
    ck_assert(ring_init(&r, 1000));
    ck_assert_uint_eq(r.cap, 4096); /* at least 4 KiB, a power of two */
    ck_assert(ring_empty(&r));
    ck_assert_ptr_null(ring_peek(&r));
    ck_assert_ptr_null(ring_reserve(&r, ring_max_payload(&r) + 1)); /* too big: never fits */
    struct ring_msg *m = ring_reserve(&r, 5);
    ck_assert_ptr_nonnull(m);
    m->type = 7;
    m->key = 42;
    memcpy(m->data, "hello", 5);
    ck_assert_ptr_null(ring_peek(&r)); /* not committed yet */
    ring_commit(&r, m);
    ck_assert(!ring_empty(&r));
    ck_assert_uint_eq(ring_used(&r), 32); /* 16 header + 5, rounded to 16 */
    struct ring_msg *g = ring_peek(&r);
    ck_assert_ptr_nonnull(g);
    ck_assert_uint_eq(g->type, 7);
    ck_assert_uint_eq(g->key, 42);
    ck_assert_uint_eq(g->len, 5);
    ck_assert_mem_eq(g->data, "hello", 5);
    ring_pop(&r, g);
    ck_assert(ring_empty(&r));
    ring_fini(&r);
}
END_TEST

START_TEST(test_full_and_wrap)
{
    struct ring r;
    ck_assert(ring_init(&r, 4096));
    /* 1000-byte payloads take 1024 bytes: four fill the ring exactly */
    for (int i = 0; i < 4; i++) {
        struct ring_msg *m = ring_reserve(&r, 1000);
        ck_assert_ptr_nonnull(m);
        m->type = 1;
        fill(m->data, 1000, (uint64_t)i);
        ring_commit(&r, m);
    }
    ck_assert_ptr_null(ring_reserve(&r, 1));   /* full */
    ck_assert_ptr_null(ring_reserve(&r, 0));
    struct ring_msg *g = ring_peek(&r);
    ck_assert(check_fill(g->data, 1000, 0));
    ring_pop(&r, g);
    /* 1024 free at the front; a 1500-byte message does not fit (needs 1520) */
    ck_assert_ptr_null(ring_reserve(&r, 1500));
    g = ring_peek(&r);
    ring_pop(&r, g);
    /* now 2048 free, at offset 0..2047; head is at 4096 = offset 0: fits without a pad */
    struct ring_msg *m = ring_reserve(&r, 1500);
    ck_assert_ptr_nonnull(m);
    m->type = 2;
    fill(m->data, 1500, 99);
    ring_commit(&r, m);
    /* drain: messages 2 and 3, then the 1500-byte one */
    for (int i = 2; i < 4; i++) {
        g = ring_peek(&r);
        ck_assert_uint_eq(g->type, 1);
        ck_assert(check_fill(g->data, 1000, (uint64_t)i));
        ring_pop(&r, g);
    }
    g = ring_peek(&r);
    ck_assert_uint_eq(g->type, 2);
    ck_assert(check_fill(g->data, 1500, 99));
    ring_pop(&r, g);
    ck_assert(ring_empty(&r));
    /* head at offset 1520; one more 1000-byte message puts it at 2544, where a 2000-byte one
     * (2016 bytes) no longer fits before the end: the ring pads and starts it at offset 0 */
    m = ring_reserve(&r, 1000);
    m->type = 4;
    ring_commit(&r, m);
    g = ring_peek(&r);
    ck_assert_uint_eq(g->type, 4);
    ring_pop(&r, g);
    m = ring_reserve(&r, 2000);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_eq((void *)m, (void *)r.buf); /* wrapped */
    m->type = 3;
    fill(m->data, 2000, 5);
    ring_commit(&r, m);
    g = ring_peek(&r); /* the pad is skipped */
    ck_assert_uint_eq(g->type, 3);
    ck_assert(check_fill(g->data, 2000, 5));
    ring_pop(&r, g);
    ck_assert(ring_empty(&r));
    ring_fini(&r);
}
END_TEST

struct duo {
    struct ring r;
    struct bell data, space;
    uint64_t n;
    bool ok;
};

static bool has_data(void *ud) { return !ring_empty(&((struct duo *)ud)->r); }
static bool has_space(void *ud)
{
    struct duo *d = ud;
    return ring_used(&d->r) + 4096 <= d->r.cap;
}

static void *consumer(void *arg)
{
    struct duo *d = arg;
    d->ok = true;
    for (uint64_t i = 0; i < d->n;) {
        struct ring_msg *m = ring_peek(&d->r);
        if (!m) {
            bell_wait(&d->data, has_data, d, BELL_WAIT_MS);
            continue;
        }
        size_t want = (size_t)((i * 2654435761u) % 3000);
        if (m->key != i || m->len != want || m->type != 9 || !check_fill(m->data, m->len, i))
            d->ok = false;
        ring_pop(&d->r, m);
        bell_ring(&d->space);
        i++;
    }
    return NULL;
}

START_TEST(test_threads)
{
    struct duo d;
    memset(&d, 0, sizeof d);
    ck_assert(ring_init(&d.r, 16384)); /* small: the producer waits often */
    bell_init(&d.data);
    bell_init(&d.space);
    d.n = 300000;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, consumer, &d), 0);
    for (uint64_t i = 0; i < d.n; i++) {
        size_t len = (size_t)((i * 2654435761u) % 3000);
        struct ring_msg *m;
        while (!(m = ring_reserve(&d.r, len)))
            bell_wait(&d.space, has_space, &d, BELL_WAIT_MS);
        m->type = 9;
        m->key = i;
        fill(m->data, len, i);
        ring_commit(&d.r, m);
        bell_ring(&d.data);
    }
    pthread_join(t, NULL);
    ck_assert(d.ok);
    ck_assert(ring_empty(&d.r));
    bell_fini(&d.data);
    bell_fini(&d.space);
    ring_fini(&d.r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ring");
    TCase *tc = tcase_create("ring");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_basic);
    tcase_add_test(tc, test_full_and_wrap);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
