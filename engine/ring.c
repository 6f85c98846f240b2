/* ring.c — single-producer single-consumer message queues and bells. See ring.h. */
#include "engine/ring.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t round_msg(size_t len) { return (RING_HDR + len + RING_ALIGN - 1) & ~(size_t)(RING_ALIGN - 1); }

bool ring_init(struct ring *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    size_t c = 4096;
    while (c < cap && c < ((size_t)1 << 40))
        c <<= 1;
    void *p = NULL;
    if (posix_memalign(&p, 64, c) != 0)
        return false;
    r->buf = p;
    r->cap = c;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return true;
}

void ring_fini(struct ring *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* Free bytes as the producer knows them; reads tail again when `need` does not fit. */
static size_t room(struct ring *r, size_t head, size_t need)
{
    size_t free_b = r->cap - (head - r->tail_seen);
    if (free_b < need) {
        r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        free_b = r->cap - (head - r->tail_seen);
    }
    return free_b;
}

struct ring_msg *ring_reserve(struct ring *r, size_t len)
{
    size_t need = round_msg(len);
    if (len > ring_max_payload(r))
        return NULL;
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t off = head & (r->cap - 1);
    size_t to_end = r->cap - off;
    if (to_end < need) {
        /* a pad to the end, then the message at offset 0 */
        if (room(r, head, to_end + need) < to_end + need)
            return NULL;
        struct ring_msg *pad = (struct ring_msg *)(void *)(r->buf + off);
        pad->type = 0;
        pad->len = (uint32_t)(to_end - RING_HDR);
        head += to_end;
        atomic_store_explicit(&r->head, head, memory_order_release);
        off = 0;
    } else if (room(r, head, need) < need) {
        return NULL;
    }
    r->resv = head;
    struct ring_msg *m = (struct ring_msg *)(void *)(r->buf + off);
    m->len = (uint32_t)len;
    m->flags = 0;
    return m;
}

struct ring_msg *ring_reserve_wait(struct ring *r, size_t len, void (*wait)(void *ud), void *ud, uint64_t *full)
{
    struct ring_msg *m = ring_reserve(r, len);
    if (m)
        return m;
    (*full)++;
    for (unsigned i = 0; !(m = ring_reserve(r, len));) {
        if (i < 100)
            ring_relax(i++);
        else
            wait(ud);
    }
    return m;
}

void ring_commit(struct ring *r, struct ring_msg *m)
{
    atomic_store_explicit(&r->head, r->resv + round_msg(m->len), memory_order_release);
}

struct ring_msg *ring_peek(struct ring *r)
{
    for (;;) {
        size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        if (tail == r->head_seen) {
            r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
            if (tail == r->head_seen)
                return NULL;
        }
        struct ring_msg *m = (struct ring_msg *)(void *)(r->buf + (tail & (r->cap - 1)));
        if (m->type != 0)
            return m;
        atomic_store_explicit(&r->tail, tail + round_msg(m->len), memory_order_release); /* a pad */
    }
}

void ring_pop(struct ring *r, struct ring_msg *m)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    atomic_store_explicit(&r->tail, tail + round_msg(m->len), memory_order_release);
}

bool ring_empty(struct ring *r)
{
    return atomic_load_explicit(&r->tail, memory_order_acquire) == atomic_load_explicit(&r->head, memory_order_acquire);
}

size_t ring_used(struct ring *r)
{
    size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    return h - t;
}

/* ---- bells ---- */

void bell_init(struct bell *b)
{
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&b->sleepers, 0);
}

void bell_fini(struct bell *b)
{
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
}

void bell_ring(struct bell *b)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&b->sleepers, memory_order_relaxed) == 0)
        return;
    pthread_mutex_lock(&b->mu);
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

void bell_wait(struct bell *b, bool (*ready)(void *ud), void *ud, int ms)
{
    pthread_mutex_lock(&b->mu);
    atomic_fetch_add_explicit(&b->sleepers, 1, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);
    if (!ready(ud)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += (long)ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        int rc;
        do
            rc = pthread_cond_timedwait(&b->cv, &b->mu, &ts);
        while (rc == EINTR);
    }
    atomic_fetch_sub_explicit(&b->sleepers, 1, memory_order_relaxed);
    pthread_mutex_unlock(&b->mu);
}

void ring_relax(unsigned i)
{
    if (i < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        sched_yield();
    }
}
