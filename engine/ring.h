/* ring.h — the queues between the engine's threads: a single-producer single-consumer queue
 * of variable-size messages in one fixed byte buffer (no allocation after ring_init), and a
 * bell a thread sleeps on when its queue is empty or full.
 *
 * A message is a 16-byte header (payload length, type, a 64-bit ordering key) and its payload,
 * padded to 16 bytes. Positions only grow; a message that would not fit before the end of the
 * buffer leaves a pad behind and starts again at offset 0, so every message is contiguous and
 * is read in place (no copy on the consumer side). The producer publishes with a release
 * store of `head`, the consumer frees with a release store of `tail`; each side caches the
 * other's position and reads it again only when the queue looks full (or empty).
 *
 * Sleeping: a producer that finds the queue full, or a consumer that finds it empty, spins a
 * little, then sleeps on a bell; whoever makes progress rings it (bell_ring costs one atomic
 * load while nobody sleeps). Every sleep is bounded (BELL_WAIT_MS), so a lost wake-up costs
 * at most that. */
#ifndef NZ_ENGINE_RING_H
#define NZ_ENGINE_RING_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RING_ALIGN 16u
#define RING_HDR 16u
#define BELL_WAIT_MS 20

struct ring_msg {
    uint32_t len;   /* payload bytes */
    uint16_t type;  /* 0 = pad (skipped by the consumer) */
    uint16_t flags;
    uint64_t key;   /* ordering key (engine.c) */
    unsigned char data[];
};

struct ring {
    unsigned char *buf;
    size_t cap;                         /* a power of two */
    alignas(64) _Atomic size_t head;    /* written by the producer */
    size_t tail_seen;                   /* the producer's copy of tail */
    size_t resv;                        /* producer: start of the reserved message */
    alignas(64) _Atomic size_t tail;    /* written by the consumer */
    size_t head_seen;                   /* the consumer's copy of head */
};

/* cap is rounded up to a power of two (at least 4 KiB). Returns false on ENOMEM. */
bool ring_init(struct ring *r, size_t cap);
void ring_fini(struct ring *r);

/* The largest payload a message may have. */
static inline size_t ring_max_payload(const struct ring *r) { return r->cap / 2 - RING_HDR; }

/* Producer: room for a message of `len` payload bytes, or NULL when the ring is full now.
 * Fill type, key, flags and data[0..len), then ring_commit(). len <= ring_max_payload(). */
struct ring_msg *ring_reserve(struct ring *r, size_t len);
void ring_commit(struct ring *r, struct ring_msg *m);
/* ring_reserve, waiting while the ring is full: a short spin, then wait(ud) (which sleeps,
 * bounded, until the consumer freed room) until it fits. *full counts the reservations that
 * had to wait. Never NULL: len <= ring_max_payload(). */
struct ring_msg *ring_reserve_wait(struct ring *r, size_t len, void (*wait)(void *ud), void *ud, uint64_t *full);

/* Consumer: the oldest message, or NULL when the ring is empty. Valid until ring_pop(). */
struct ring_msg *ring_peek(struct ring *r);
void ring_pop(struct ring *r, struct ring_msg *m);

/* True when the consumer has nothing to read (any thread may ask; a hint). */
bool ring_empty(struct ring *r);
/* Bytes in use (any thread; a hint). */
size_t ring_used(struct ring *r);

/* ---- bells ---- */

struct bell {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic int sleepers;
};
void bell_init(struct bell *b);
void bell_fini(struct bell *b);
/* Wakes whoever sleeps on b (cheap when nobody does). Call after making progress. */
void bell_ring(struct bell *b);
/* Sleeps on b unless ready(ud) says true once this thread is registered as a sleeper; at most
 * ms milliseconds. */
void bell_wait(struct bell *b, bool (*ready)(void *ud), void *ud, int ms);

/* A short busy wait step for the spin before sleeping. */
void ring_relax(unsigned i);

#endif
