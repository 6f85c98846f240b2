/* engine.c — workers, the reader's dispatch and the writer thread. See engine.h.
 *
 * Queues (engine/ring.h), all single-producer single-consumer:
 *   reader → worker w      in[w]   packets, ticks, barriers (offline, 2+ workers)
 *   worker w → writer      out[w]  rows (msg.h)
 *   control → writer       ctl     run-row updates
 * Bells: a worker sleeps on in_bell[w] (empty input), the reader on space_bell[w] (full input),
 * a worker on out_bell[w] (full output), the writer on wbell (all empty).
 *
 * Inputs carry a key (the reader's count: a packet s has 2s+1, a tick before it 2s, a barrier
 * the next even number); a worker publishes the key of the last input it finished (done),
 * which is how a barrier knows every worker got past it. The writer takes the workers' rows
 * in any order: nothing it writes depends on that order (the history rules wait for the end
 * of the run, engine/writer.h). */
#include "engine/engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "core/limits.h"
#include "engine/msg.h"
#include "engine/ring.h"
#include "engine/writer.h"
#include "dissect/x509.h"

#define IN_QUEUE_DEFAULT (1u << 20)    /* per worker: ~700 full-size frames */
#define OUT_QUEUE_DEFAULT (2u << 20)   /* per worker: ~120 TLS records or ~1,000 findings */
#define TICK_USEC 1000000u             /* packet time between ticks to a worker */
#define SNAP_EVERY 8192u               /* packets between a worker's published counters */
#define COMMIT_IDLE_MS 500             /* the writer commits when idle this long (wall clock:
                                          when rows become visible, not what they say) */
#define FULL_LOG_EVERY_SEC 3600        /* queue-full log lines: the first, then hourly */

struct worker {
    struct engine *e;
    unsigned idx;
    pthread_t tid;
    bool started;
    struct pipeline *pl;
    struct pl_out out;
    struct ring in, outq;
    struct bell in_bell, space_bell, out_bell;
    alignas(64) _Atomic uint64_t done;   /* key of the last input finished */
    _Atomic uint64_t pkts;               /* packets handled (live) */
    uint64_t last_tick_ts;               /* reader: packet time last sent to this worker */
    size_t in_want;                      /* reader: bytes it waits to put into `in` */
    uint64_t pkts_local;
    /* counters published for the control thread */
    pthread_mutex_t snap_mu;
    struct pipeline_stats snap;
    uint64_t out_full;                   /* snapshot of out.full_waits */
    struct cap_stats cs;
    /* live */
    struct cap_source *src;
    char err[CAP_ERRBUF];
    _Atomic bool running;
};

struct engine {
    struct engine_cfg cfg;
    struct pipeline_cfg wcfg;            /* each worker's share */
    unsigned n;
    bool threaded;                       /* workers run on threads of their own */
    bool dispatch;                       /* offline, 2+ workers: the reader dispatches to threads */
    bool live;
    struct worker *w;
    const struct nz_log *log;
    struct store *st;
    /* writer */
    struct wstate *ws;
    pthread_t wtid;
    bool wstarted;
    struct ring ctl;
    struct bell wbell;
    pthread_mutex_t store_mu;
    _Atomic bool wstop;
    _Atomic int db_err;
    /* reader (offline) */
    uint64_t seq;
    uint64_t last_ts;
    uint64_t in_full;
    _Atomic uint64_t rd_pkts;
    /* live */
    _Atomic bool stop;
    _Atomic uint64_t live_now;           /* newest packet time any capture thread saw */
    _Atomic uint64_t live_taken;         /* packets taken, when live_max_pkts is set */
    /* queue-full reports */
    pthread_mutex_t log_mu;
    bool full_logged;
    time_t full_log_at;
    bool finished;
    struct pl_shared shared;
};

unsigned engine_workers_default(void)
{
    /* One core stays for the threads every run has besides the workers: the database writer
     * and, offline, the reader and the content hash. On 2 cores, 2 workers were no faster than
     * 1 (tests/bench: same wall time, ~10 % more CPU for the copies to the workers). */
    long n = sysconf(_SC_NPROCESSORS_ONLN) - 1;
    if (n < 1)
        n = 1;
    if (n > ENGINE_WORKERS_DEFAULT_MAX)
        n = ENGINE_WORKERS_DEFAULT_MAX;
    return (unsigned)n;
}

/* One log line when a queue was first found full, then at most hourly (wall clock: this is
 * about the machine keeping up, not about the capture's content). */
static void full_note(struct engine *e, const char *which)
{
    pthread_mutex_lock(&e->log_mu);
    time_t now = time(NULL);
    if (!e->full_logged || now - e->full_log_at >= FULL_LOG_EVERY_SEC) {
        e->full_logged = true;
        e->full_log_at = now;
        nz_logf(e->log, NZ_LOG_WARN,
                "%s queue full: %s waits (nothing is dropped; live, the kernel buffer absorbs the wait); "
                "counted in runs.queue_full", which,
                strcmp(which, "writer") == 0 ? "a worker" : "the reader");
    }
    pthread_mutex_unlock(&e->log_mu);
}

/* ---- the writer thread ---- */

static bool writer_ready(void *ud)
{
    struct engine *e = ud;
    if (atomic_load(&e->wstop) || !ring_empty(&e->ctl))
        return true;
    for (unsigned i = 0; i < e->n; i++)
        if (!ring_empty(&e->w[i].outq))
            return true;
    return false;
}

static void writer_take(struct engine *e, struct ring *r, struct ring_msg *m, struct bell *space)
{
    wstate_handle(e->ws, m);
    ring_pop(r, m);
    if (space)
        bell_ring(space);
}

/* Up to `max` messages of each queue, oldest first per queue. */
static unsigned writer_fifo(struct engine *e, unsigned max)
{
    unsigned did = 0;
    for (unsigned i = 0; i < e->n; i++) {
        struct ring_msg *m;
        unsigned k = 0;
        while (k < max && (m = ring_peek(&e->w[i].outq))) {
            writer_take(e, &e->w[i].outq, m, &e->w[i].out_bell);
            k++;
        }
        did += k;
    }
    return did;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *writer_main(void *arg)
{
    struct engine *e = arg;
    double idle_since = mono_ms();
    for (;;) {
        unsigned did = 0;
        pthread_mutex_lock(&e->store_mu);
        struct ring_msg *m;
        while ((m = ring_peek(&e->ctl))) {
            writer_take(e, &e->ctl, m, NULL);
            did++;
        }
        did += writer_fifo(e, 256);
        if (did)
            wstate_tick(e->ws); /* O(1) unless a waiting rule's time has come */
        if (!did && mono_ms() - idle_since >= COMMIT_IDLE_MS) {
            wstate_tick(e->ws);
            wstate_commit(e->ws);
            idle_since = mono_ms();
        }
        int err = wstate_error(e->ws);
        if (err)
            atomic_store(&e->db_err, err);
        pthread_mutex_unlock(&e->store_mu);
        if (did) {
            idle_since = mono_ms();
            continue;
        }
        if (atomic_load(&e->wstop)) {
            /* the workers are gone: whatever is left is complete */
            bool empty = ring_empty(&e->ctl);
            for (unsigned i = 0; i < e->n && empty; i++)
                empty = ring_empty(&e->w[i].outq);
            if (empty)
                break;
            continue;
        }
        bell_wait(&e->wbell, writer_ready, e, BELL_WAIT_MS);
    }
    x509_thread_done(); /* the certificates this thread read (x509_facts) */
    return NULL;
}

/* ---- workers ---- */

static bool out_has_room(void *ud)
{
    struct worker *w = ud;
    /* the largest message (a TLS record) and a pad as large */
    return ring_used(&w->outq) + 2 * (sizeof(struct tls_session_rec) + 64) <= w->outq.cap ||
           atomic_load(&w->e->wstop);
}

/* pl_out.wait_space: the writer is behind; sleep until it freed room (bounded). */
static void wait_out_space(void *ud)
{
    struct worker *w = ud;
    bell_ring(&w->e->wbell);
    bell_wait(&w->out_bell, out_has_room, w, BELL_WAIT_MS);
}

static void publish(struct worker *w)
{
    const struct pipeline_stats *s = pipeline_stats(w->pl);
    pthread_mutex_lock(&w->snap_mu);
    w->snap = *s;
    w->out_full = w->out.full_waits;
    pthread_mutex_unlock(&w->snap_mu);
}

static bool in_ready(void *ud)
{
    struct worker *w = ud;
    return !ring_empty(&w->in);
}

/* Offline worker: handles what the reader sends, in order. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t full_before = 0;
    for (unsigned spins = 0;;) {
        struct ring_msg *m = ring_peek(&w->in);
        if (!m) {
            if (spins < 200) {
                ring_relax(spins++);
                continue;
            }
            bell_wait(&w->in_bell, in_ready, w, BELL_WAIT_MS);
            continue;
        }
        spins = 0;
        w->out.key = m->key;
        bool stop = false;
        switch (m->type) {
        case MSG_PKT: {
            const struct msg_pkt *p = (const void *)m->data;
            pipeline_packet(w->pl, p->dlt, p->ts_usec, p->data, p->caplen, p->wirelen);
            if ((++w->pkts_local % SNAP_EVERY) == 0)
                publish(w);
            break;
        }
        case MSG_TICK:
            pipeline_tick(w->pl, ((const struct msg_tick *)(const void *)m->data)->ts_usec);
            break;
        case MSG_BARRIER: {
            const struct msg_barrier *b = (const void *)m->data;
            if (b->ts_usec)
                pipeline_tick(w->pl, b->ts_usec);
            if (b->end_flows)
                pipeline_end_flows(w->pl);
            publish(w);
            break;
        }
        case MSG_STOP:
            pipeline_finish(w->pl);
            publish(w);
            stop = true;
            break;
        default:
            break;
        }
        uint64_t key = m->key;
        ring_pop(&w->in, m);
        bell_ring(&w->space_bell);
        atomic_store_explicit(&w->done, key, memory_order_release);
        bell_ring(&w->e->wbell);
        if (w->out.full_waits != full_before) {
            full_before = w->out.full_waits;
            full_note(w->e, "writer");
        }
        if (stop)
            break;
    }
    x509_thread_done();
    return NULL;
}

/* One packet of a live worker, in libpcap's ring (cap_dispatch: no copy). */
static void live_packet(void *user, const struct cap_pkt *cp)
{
    struct worker *w = user;
    struct engine *e = w->e;
    if (atomic_load_explicit(&e->stop, memory_order_relaxed))
        return;
    if (e->cfg.live_max_pkts && atomic_fetch_add(&e->live_taken, 1) >= e->cfg.live_max_pkts) {
        atomic_store(&e->stop, true); /* --count reached: this packet is not ours */
        return;
    }
    pipeline_packet(w->pl, e->cfg.live_dlt, cp->ts_usec, cp->data, cp->caplen, cp->wirelen);
    atomic_store_explicit(&w->pkts, ++w->pkts_local, memory_order_relaxed);
    /* packet time for the quiet workers' idle expiry */
    uint64_t now = atomic_load_explicit(&e->live_now, memory_order_relaxed);
    if (cp->ts_usec > now + TICK_USEC)
        atomic_store_explicit(&e->live_now, cp->ts_usec, memory_order_relaxed);
}

static void live_publish(struct worker *w)
{
    struct cap_stats cs;
    if (cap_stats(w->src, &cs) == 0) {
        pthread_mutex_lock(&w->snap_mu);
        w->cs = cs;
        pthread_mutex_unlock(&w->snap_mu);
    }
    publish(w);
}

/* Live worker: reads its own source and analyses each packet where it lies in the ring. */
static void *live_main(void *arg)
{
    struct worker *w = arg;
    struct engine *e = w->e;
    char eb[CAP_ERRBUF] = "";
    uint64_t full_before = 0, published = 0;
    while (!atomic_load_explicit(&e->stop, memory_order_relaxed)) {
        int rc = cap_dispatch(w->src, 256, live_packet, w, eb);
        if (rc == 0) {
            break;
        } else if (rc < 0) {
            snprintf(w->err, sizeof w->err, "%s", eb);
            break;
        } else if (rc == 2) {
            /* a read timeout: nothing arrived; let packet time from the other workers on */
            uint64_t now = atomic_load_explicit(&e->live_now, memory_order_relaxed);
            if (now > w->last_tick_ts + TICK_USEC) {
                w->last_tick_ts = now;
                pipeline_tick(w->pl, now);
            }
        }
        if (rc == 2 || w->pkts_local - published >= SNAP_EVERY) {
            published = w->pkts_local;
            live_publish(w);
        }
        if (w->out.full_waits != full_before) {
            full_before = w->out.full_waits;
            full_note(e, "writer");
        }
    }
    pipeline_finish(w->pl);
    live_publish(w);
    atomic_store(&w->running, false);
    bell_ring(&e->wbell);
    x509_thread_done();
    return NULL;
}

/* ---- setup ---- */

static size_t share(size_t total, unsigned n, size_t min)
{
    size_t v = total / n;
    return v < min ? min : v;
}

struct engine *engine_new(const struct engine_cfg *cfg, struct store *st, int64_t run_id, const struct nz_log *log,
                          int *err)
{
    *err = NZ_ENOMEM;
    if (cfg->workers < 1 || cfg->workers > ENGINE_WORKERS_MAX) {
        *err = NZ_EUSAGE;
        return NULL;
    }
    struct engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->cfg = *cfg;
    e->n = cfg->workers;
    e->live = cfg->live != NULL;
    e->threaded = e->live || e->n > 1;
    e->dispatch = !e->live && e->n > 1;
    e->log = log;
    e->st = st;
    e->wcfg = cfg->pl;
    if (e->n > 1) {
        e->wcfg.max_flows = share(cfg->pl.max_flows, e->n, 1);
        if (cfg->pl.mem_max)
            e->wcfg.mem_max = share(cfg->pl.mem_max, e->n, MEM_MAX_MIN / 4);
        e->wcfg.reasm_mem_max = share(cfg->pl.reasm_mem_max, e->n, 1u << 20);
    }
    pthread_mutex_init(&e->store_mu, NULL);
    pthread_mutex_init(&e->log_mu, NULL);
    bell_init(&e->wbell);
    e->w = calloc(e->n, sizeof *e->w);
    e->ws = wstate_new(st, run_id, log, e->live ? (uint64_t)cfg->pl.idle_sec * 1000000u : UINT64_MAX);
    if (!e->w || !e->ws || !ring_init(&e->ctl, 1u << 16)) {
        engine_free(e);
        return NULL;
    }
    size_t inq = cfg->in_queue_bytes ? cfg->in_queue_bytes : IN_QUEUE_DEFAULT;
    size_t outq = cfg->out_queue_bytes ? cfg->out_queue_bytes : OUT_QUEUE_DEFAULT;
    for (unsigned i = 0; i < e->n; i++) {
        struct worker *w = &e->w[i];
        w->e = e;
        w->idx = i;
        pthread_mutex_init(&w->snap_mu, NULL);
        bell_init(&w->in_bell);
        bell_init(&w->space_bell);
        bell_init(&w->out_bell);
        if (!ring_init(&w->outq, outq) || (e->dispatch && !ring_init(&w->in, inq))) {
            engine_free(e);
            return NULL;
        }
        w->out.ring = &w->outq;
        w->out.writer_bell = &e->wbell;
        w->out.wait_space = wait_out_space;
        w->out.ud = w;
        w->out.worker = i;
        w->out.shared = &e->shared;
        w->pl = pipeline_new(&e->wcfg, &w->out, log, err);
        if (!w->pl) {
            engine_free(e);
            return NULL;
        }
        if (e->live)
            w->src = cfg->live[i];
    }
    if (pthread_create(&e->wtid, NULL, writer_main, e) != 0) {
        engine_free(e);
        return NULL;
    }
    e->wstarted = true;
    if (e->dispatch) {
        for (unsigned i = 0; i < e->n; i++) {
            if (pthread_create(&e->w[i].tid, NULL, worker_main, &e->w[i]) != 0) {
                engine_free(e);
                return NULL;
            }
            e->w[i].started = true;
        }
    }
    *err = 0;
    return e;
}

/* ---- offline: the reader ---- */

/* The worker of a decoded segment: the flow table's own symmetric hash (capture/flow.h), its
 * high bits, so that the low bits each worker's table indexes with stay evenly spread. */
static unsigned pick_worker(const struct pkt *p, unsigned n)
{
    return (unsigned)(((uint64_t)flow_hash(p) * n) >> 32);
}

/* Room for the message the reader waits to put (a pad may take up to as much again). */
static bool space_ready(void *ud)
{
    struct worker *w = ud;
    return ring_used(&w->in) + 2 * (w->in_want + 2 * RING_HDR) <= w->in.cap;
}

/* Room for `len` bytes in w's queue; waits (counted) while it is full. */
/* The reader sleeps until w freed room. */
static void wait_in_space(void *ud)
{
    struct worker *w = ud;
    bell_ring(&w->in_bell);
    bell_wait(&w->space_bell, space_ready, w, BELL_WAIT_MS);
}

static struct ring_msg *in_reserve(struct engine *e, struct worker *w, size_t len)
{
    w->in_want = len;
    return ring_reserve_wait(&w->in, len, wait_in_space, w, &e->in_full);
}

static void in_commit(struct worker *w, struct ring_msg *m, int type, uint64_t key)
{
    m->type = (uint16_t)type;
    m->key = key;
    ring_commit(&w->in, m);
    bell_ring(&w->in_bell);
}

static void send_tick(struct engine *e, struct worker *w, uint64_t key, uint64_t ts)
{
    struct ring_msg *m = in_reserve(e, w, sizeof(struct msg_tick));
    ((struct msg_tick *)(void *)m->data)->ts_usec = ts;
    in_commit(w, m, MSG_TICK, key);
    w->last_tick_ts = ts;
}

void engine_packet(struct engine *e, int dlt, uint64_t ts_usec, const uint8_t *data, uint32_t caplen,
                   uint32_t wirelen)
{
    atomic_store_explicit(&e->rd_pkts, atomic_load_explicit(&e->rd_pkts, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (ts_usec > e->last_ts)
        e->last_ts = ts_usec;
    e->seq++;
    if (!e->dispatch) {
        e->w[0].out.key = 2 * e->seq + 1;
        pipeline_packet(e->w[0].pl, dlt, ts_usec, data, caplen, wirelen);
        if ((++e->w[0].pkts_local % SNAP_EVERY) == 0)
            publish(&e->w[0]);
        if (e->w[0].out.full_waits != e->w[0].out_full) {
            e->w[0].out_full = e->w[0].out.full_waits;
            full_note(e, "writer");
        }
        return;
    }
    struct pkt p;
    unsigned t = dec_packet(dlt, data, caplen, wirelen, ts_usec, &p) == DEC_OK ? pick_worker(&p, e->n)
                                                                              : (unsigned)(e->seq % e->n);
    /* packet time reaches the other workers at least every TICK_USEC */
    for (unsigned i = 0; i < e->n; i++)
        if (i != t && ts_usec > e->w[i].last_tick_ts + TICK_USEC)
            send_tick(e, &e->w[i], 2 * e->seq, ts_usec);
    struct worker *w = &e->w[t];
    w->last_tick_ts = ts_usec > w->last_tick_ts ? ts_usec : w->last_tick_ts;
    /* A frame larger than a queue message can be (not from libpcap's files, whose records stop
     * at 256 KiB, but the queue must never wait for room it cannot have) is cut: the decoder
     * sees it as snapped, as if the capture had a smaller snap length. */
    size_t maxcap = ring_max_payload(&w->in) - sizeof(struct msg_pkt);
    if (caplen > maxcap)
        caplen = (uint32_t)maxcap;
    uint64_t before = e->in_full;
    struct ring_msg *m = in_reserve(e, w, sizeof(struct msg_pkt) + caplen);
    struct msg_pkt *mp = (void *)m->data;
    mp->ts_usec = ts_usec;
    mp->caplen = caplen;
    mp->wirelen = wirelen;
    mp->dlt = dlt;
    memcpy(mp->data, data, caplen);
    in_commit(w, m, MSG_PKT, 2 * e->seq + 1);
    if (e->in_full != before)
        full_note(e, "worker");
}

static bool all_written(struct engine *e, uint64_t key)
{
    for (unsigned i = 0; i < e->n; i++)
        if (e->dispatch && atomic_load_explicit(&e->w[i].done, memory_order_acquire) < key)
            return false;
    for (unsigned i = 0; i < e->n; i++)
        if (!ring_empty(&e->w[i].outq))
            return false;
    return ring_empty(&e->ctl);
}

/* Sends a barrier to every worker (inline: runs it) and waits until the writer wrote
 * everything up to it. */
static void barrier(struct engine *e, bool end_flows, bool stop)
{
    e->seq++;
    uint64_t key = 2 * e->seq;
    if (!e->dispatch) {
        struct worker *w = &e->w[0];
        w->out.key = key;
        if (e->last_ts)
            pipeline_tick(w->pl, e->last_ts);
        if (stop)
            pipeline_finish(w->pl);
        else if (end_flows)
            pipeline_end_flows(w->pl);
        publish(w);
    } else {
        for (unsigned i = 0; i < e->n; i++) {
            struct worker *w = &e->w[i];
            struct ring_msg *m = in_reserve(e, w, sizeof(struct msg_barrier));
            struct msg_barrier *b = (void *)m->data;
            b->ts_usec = e->last_ts;
            b->end_flows = end_flows;
            in_commit(w, m, MSG_BARRIER, key);
            if (stop) {
                m = in_reserve(e, w, 0);
                in_commit(w, m, MSG_STOP, key);
            }
        }
    }
    bell_ring(&e->wbell);
    for (unsigned i = 0; !all_written(e, key); i++) {
        if (i < 50)
            ring_relax(64);
        else
            usleep(200);
    }
    /* the writer may still be inside its last batch: it holds store_mu until it is done */
    pthread_mutex_lock(&e->store_mu);
    pthread_mutex_unlock(&e->store_mu);
}

void engine_end_flows(struct engine *e)
{
    if (!e->live)
        barrier(e, true, false);
}

/* ---- live ---- */

int engine_live_start(struct engine *e)
{
    if (!e->live)
        return NZ_EUSAGE;
    for (unsigned i = 0; i < e->n; i++) {
        atomic_store(&e->w[i].running, true);
        if (pthread_create(&e->w[i].tid, NULL, live_main, &e->w[i]) != 0) {
            atomic_store(&e->w[i].running, false);
            engine_live_stop(e);
            return NZ_ENOMEM;
        }
        e->w[i].started = true;
    }
    return 0;
}

void engine_live_stop(struct engine *e)
{
    atomic_store(&e->stop, true);
    for (unsigned i = 0; i < e->n; i++)
        if (e->w[i].src)
            cap_break(e->w[i].src);
}

bool engine_live_running(struct engine *e)
{
    for (unsigned i = 0; i < e->n; i++)
        if (atomic_load(&e->w[i].running))
            return true;
    return false;
}

const char *engine_live_error(struct engine *e)
{
    for (unsigned i = 0; i < e->n; i++)
        if (e->w[i].started && !atomic_load(&e->w[i].running) && e->w[i].err[0])
            return e->w[i].err;
    return "";
}

void engine_live_cap_stats(struct engine *e, struct cap_stats *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < e->n; i++) {
        pthread_mutex_lock(&e->w[i].snap_mu);
        out->recv += e->w[i].cs.recv;
        out->drop += e->w[i].cs.drop;
        /* the interface's own counter: the same for every socket on it */
        if (e->w[i].cs.ifdrop > out->ifdrop)
            out->ifdrop = e->w[i].cs.ifdrop;
        pthread_mutex_unlock(&e->w[i].snap_mu);
    }
}

/* ---- both ---- */

uint64_t engine_packets(struct engine *e)
{
    if (!e->live)
        return atomic_load_explicit(&e->rd_pkts, memory_order_relaxed);
    uint64_t n = 0;
    for (unsigned i = 0; i < e->n; i++)
        n += atomic_load_explicit(&e->w[i].pkts, memory_order_relaxed);
    return n;
}

void engine_store_lock(struct engine *e) { pthread_mutex_lock(&e->store_mu); }
void engine_store_unlock(struct engine *e) { pthread_mutex_unlock(&e->store_mu); }

void engine_run_update(struct engine *e, const struct store_run_stats *rs)
{
    size_t jl = rs->counters_json ? strlen(rs->counters_json) : 0;
    if (jl + sizeof(struct msg_run) + 1 > ring_max_payload(&e->ctl))
        jl = 0; /* cannot happen: CLI_COUNTERS_MAX is far below */
    struct ring_msg *m;
    for (unsigned i = 0; !(m = ring_reserve(&e->ctl, sizeof(struct msg_run) + jl + 1));) {
        bell_ring(&e->wbell);
        ring_relax(i < 100 ? i++ : 100);
    }
    struct msg_run *r = (void *)m->data;
    r->st = *rs;
    r->st.counters_json = NULL;
    r->json_len = (uint32_t)jl;
    memcpy(r->json, jl ? rs->counters_json : "", jl);
    r->json[jl] = 0;
    m->type = MSG_RUN;
    m->key = 0;
    ring_commit(&e->ctl, m);
    bell_ring(&e->wbell);
}

static void join_workers(struct engine *e)
{
    for (unsigned i = 0; e->w && i < e->n; i++) {
        if (e->w[i].started) {
            pthread_join(e->w[i].tid, NULL);
            e->w[i].started = false;
        }
    }
}

static void stop_writer(struct engine *e)
{
    if (e->wstarted) {
        atomic_store(&e->wstop, true);
        bell_ring(&e->wbell);
        pthread_join(e->wtid, NULL);
        e->wstarted = false;
    }
}

int engine_finish(struct engine *e)
{
    if (e->finished)
        return atomic_load(&e->db_err);
    e->finished = true;
    if (e->live) {
        engine_live_stop(e);
    } else {
        barrier(e, true, true); /* expire at the last packet's time, end every flow, stop */
    }
    join_workers(e);
    stop_writer(e);
    int rc = wstate_finish(e->ws);
    if (rc)
        atomic_store(&e->db_err, rc);
    return atomic_load(&e->db_err);
}

int engine_error(struct engine *e) { return atomic_load_explicit(&e->db_err, memory_order_relaxed); }

uint64_t engine_queue_full(struct engine *e)
{
    uint64_t n = e->in_full;
    for (unsigned i = 0; i < e->n; i++) {
        pthread_mutex_lock(&e->w[i].snap_mu);
        n += e->w[i].out_full;
        pthread_mutex_unlock(&e->w[i].snap_mu);
    }
    return n;
}

unsigned engine_workers(const struct engine *e) { return e->n; }

void engine_stats(struct engine *e, struct pipeline_stats *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < e->n; i++) {
        pthread_mutex_lock(&e->w[i].snap_mu);
        pipeline_stats_add(out, &e->w[i].snap);
        pthread_mutex_unlock(&e->w[i].snap_mu);
    }
    out->findings = wstate_findings(e->ws, out->by_sev);
}

const char *engine_counters_json(struct engine *e, char *buf, size_t cap)
{
    struct pipeline_stats s;
    engine_stats(e, &s);
    struct json j;
    json_init(&j, buf, cap);
    pipeline_stats_json(&j, &s);
    json_obj_begin(&j, "engine");
    json_uint(&j, "workers", e->n);
    json_uint(&j, "queue_full", engine_queue_full(e));
    json_uint(&j, "reader_queue_full", e->in_full);
    json_obj_end(&j);
    return json_finish(&j);
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    if (e->live)
        engine_live_stop(e);
    if (e->dispatch && !e->finished) {
        /* dropped without engine_finish (an error path): the workers end their flows (the
         * writer still takes the rows) and stop */
        for (unsigned i = 0; i < e->n; i++) {
            if (!e->w[i].started)
                continue;
            struct ring_msg *m = in_reserve(e, &e->w[i], 0);
            in_commit(&e->w[i], m, MSG_STOP, 2 * ++e->seq);
        }
    }
    join_workers(e);
    if (!e->finished && !e->dispatch && e->w && e->w[0].pl && e->wstarted)
        for (unsigned i = 0; i < e->n; i++)
            if (e->w[i].pl)
                pipeline_finish(e->w[i].pl); /* no thread of its own (or joined): end flows while the writer runs */
    stop_writer(e);
    for (unsigned i = 0; e->w && i < e->n; i++) {
        struct worker *w = &e->w[i];
        pipeline_free(w->pl);
        ring_fini(&w->in);
        ring_fini(&w->outq);
        bell_fini(&w->in_bell);
        bell_fini(&w->space_bell);
        bell_fini(&w->out_bell);
        pthread_mutex_destroy(&w->snap_mu);
    }
    free(e->w);
    wstate_free(e->ws);
    ring_fini(&e->ctl);
    bell_fini(&e->wbell);
    pthread_mutex_destroy(&e->store_mu);
    pthread_mutex_destroy(&e->log_mu);
    free(e);
}
