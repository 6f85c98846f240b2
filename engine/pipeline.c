/* pipeline.c — decode → flows → nDPI → reassembly → dissectors → store. See pipeline.h.
 *
 * Per packet on the hot path: dec_packet (no allocation), flow_track (allocates only for a
 * new flow), nDPI for a flow's first packets only and never once our own dissector claimed
 * the flow, reasm_push (allocates only to queue out-of-order data, up to the caps).
 * Once a dissector clears ctx.want[dir] (TLS after the handshake), that direction costs
 * only decoding and flow bookkeeping.
 *
 * Memory (pipeline.h): the flow table and the reassembler charge the pipeline's budget
 * themselves; the rest of a flow's state (struct fapp, its two buffers, the dissector's state
 * as dissector.mem reports it, nDPI's) is summed by recharge() and charged by difference —
 * O(1), a few additions and one callback — after every dissector call and once per packet.
 * Eviction happens after the packet, never to the flow being processed. */
#include "engine/pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stddef.h>

#include "capture/flow.h"
#include "capture/reasm.h"
#include "core/json.h"
#include "core/limits.h"
#include "core/mem.h"
#include "dissect/dissector.h"
#include "dissect/mail.h"
#include "dissect/tls.h"
#include "engine/driver.h"
#include "engine/dump.h"
#include "engine/ndpi_glue.h"
#include "engine/msg.h"

/* Per-flow state owned by the pipeline (flow->app). */
struct fapp {
    struct reasm_dir rd[2];
    bool announced;                /* its flow row was sent to the writer */
    struct drv drv;                /* the stream driver: dissector, tails, want[] */
    void *ndpi;                    /* nDPI flow state while detection runs */
    size_t ndpi_mem;               /* its heap bytes: the struct plus what nDPI allocated for it */
    size_t mem;                    /* bytes this struct has charged to pl->mem (see recharge) */
    unsigned ndpi_pkts;
    char ndpi_label[NDPI_LABEL_MAX];
    char app_label[24];            /* our dissector's label */
    char cli_ip[46], srv_ip[46];   /* text forms for the dissectors' evidence: made when the
                                      first payload byte reaches the driver ("" before) */
    uint64_t findings;
};

struct pipeline {
    struct pipeline_cfg cfg;
    struct pl_out *out;            /* borrowed: the queue to the writer */
    const struct nz_log *log;      /* borrowed */
    struct flow_table *flows;
    struct mem_budget mem;         /* every per-flow byte (pipeline.h); flows and budget charge it */
    struct reasm_budget budget;    /* the out-of-order share of mem (--max-reasm-mem) */
    bool mem_warned;               /* the first memory eviction was logged */
    uint64_t mem_warn_usec;        /* packet time of the last such log line */
    struct reasm_cfg rcfg;
    struct nz_ndpi *ndpi;
    struct pipeline_stats stats;
    struct flow *cur;              /* flow whose bytes are being processed */
    uint64_t cur_ts;               /* packet time of the current segment */
    struct dis_sink sink;
    struct drv_host drv;           /* shared by every flow's driver; ud = this pipeline */
    struct trust_cache *tcache;    /* this worker's chain verifications */
    uint8_t (*cert_sent)[8];       /* CERT_SENT_SLOTS first 8 bytes of the SHA-256 of each
                                      certificate handed to the writer (direct-mapped) */
    struct reasm_sink rsink;       /* ud = this pipeline */
};

static const struct reasm_sink *pl_rsink(struct pipeline *pl);

#define CERT_SENT_SLOTS 4096u /* certificates a worker remembers having sent (32 KiB) */

void pipeline_cfg_defaults(struct pipeline_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_flows = FLOW_MAX_DEFAULT;
    cfg->idle_sec = FLOW_IDLE_SEC_DEFAULT;
    cfg->mem_max = MEM_MAX_DEFAULT;
    cfg->reasm_mem_max = REASM_MEM_MAX_DEFAULT;
    cfg->ooo_max_bytes = REASM_OOO_MAX_BYTES_DEFAULT;
    cfg->ndpi_max_pkts = NDPI_MAX_PKTS_DEFAULT;
}

/* ---- output (to the writer thread: engine/msg.h, engine/writer.c) ---- */

/* Room for a message of `len` payload bytes; waits while the queue is full (counted: nothing
 * accepted is ever dropped). */
static struct ring_msg *reserve(struct pipeline *pl, size_t len)
{
    struct pl_out *o = pl->out;
    return ring_reserve_wait(o->ring, len, o->wait_space, o->ud, &o->full_waits);
}

static void commit(struct pipeline *pl, struct ring_msg *m, int type)
{
    m->type = (uint16_t)type;
    m->key = pl->out->key;
    ring_commit(pl->out->ring, m);
    bell_ring(pl->out->writer_bell);
}

static uint64_t fkey(const struct pipeline *pl, const struct flow *f)
{
    return ((f->id << 7) | pl->out->worker) + 1;
}

static void send_flow(struct pipeline *pl, const struct flow *f, const struct fapp *fa, bool final,
                      enum flow_end end)
{
    struct ring_msg *r = reserve(pl, sizeof(struct msg_flow));
    struct msg_flow *m = (void *)r->data;
    memset(m, 0, sizeof *m);
    m->fkey = fkey(pl, f);
    m->final = final;
    m->ip_version = (uint8_t)f->ip_ver;
    m->orient = (uint8_t)f->orient;
    m->end = (uint8_t)end;
    m->client_port = f->cli_port;
    m->server_port = f->srv_port;
    memcpy(m->client_addr, f->cli_ip, sizeof m->client_addr);
    memcpy(m->server_addr, f->srv_ip, sizeof m->server_addr);
    memcpy(m->app_proto, fa->app_label, sizeof m->app_proto);
    memcpy(m->ndpi_proto, fa->ndpi_label, sizeof m->ndpi_proto);
    m->first_usec = f->first_usec;
    m->last_usec = f->last_usec;
    for (int d = 0; d < 2; d++) {
        m->pkts[d] = f->pkts[d];
        m->bytes[d] = f->bytes[d];
        m->payload[d] = f->payload_bytes[d];
        m->gaps += fa->rd[d].gaps;
        m->gap_bytes += fa->rd[d].gap_bytes;
        m->overlaps += fa->rd[d].overlaps;
        m->overlap_diff += fa->rd[d].overlap_diff;
        m->retrans += fa->rd[d].retrans;
    }
    commit(pl, r, MSG_FLOW);
}

/* Makes sure the writer has the flow's row before a finding or record refers to it. */
static void announce(struct pipeline *pl, struct flow *f)
{
    struct fapp *fa = f->app;
    if (fa->announced)
        return;
    fa->announced = true;
    send_flow(pl, f, fa, false, FLOW_END_SHUTDOWN);
}

static void emit_finding(struct pipeline *pl, struct flow *f, const struct finding *fd)
{
    pl->stats.findings++;
    if ((unsigned)fd->severity < NZ_SEV_COUNT)
        pl->stats.by_sev[fd->severity]++;
    uint64_t k = 0;
    if (f) {
        struct fapp *fa = f->app;
        fa->findings++;
        announce(pl, f);
        k = fkey(pl, f);
    }
    size_t sl = strnlen(fd->summary, sizeof fd->summary - 1);
    size_t el = strnlen(fd->evidence, sizeof fd->evidence - 1);
    struct ring_msg *r = reserve(pl, sizeof(struct msg_finding) + sl + el);
    struct msg_finding *m = (void *)r->data;
    memset(m, 0, sizeof *m);
    m->fkey = k;
    m->kind = fd->kind;
    m->severity = fd->severity;
    m->ts_usec = fd->ts_usec;
    m->summary_len = (uint16_t)sl;
    m->evidence_len = (uint16_t)el;
    memcpy(m->text, fd->summary, sl);
    memcpy(m->text + sl, fd->evidence, el);
    commit(pl, r, MSG_FINDING);
}

static void emit_rec(struct pipeline *pl, int type, const void *rec, size_t len)
{
    struct flow *f = pl->cur;
    announce(pl, f);
    struct ring_msg *r = reserve(pl, sizeof(struct msg_rec) + len);
    struct msg_rec *m = (void *)r->data;
    m->fkey = fkey(pl, f);
    memcpy(r->data + sizeof *m, rec, len);
    commit(pl, r, type);
}

/* ---- dissector sink (ud = pipeline; the flow is pl->cur) ---- */

static void sink_finding(void *ud, const struct finding *f)
{
    struct pipeline *pl = ud;
    emit_finding(pl, pl->cur, f);
}

static void sink_mail(void *ud, const struct mail_session_rec *r)
{
    struct pipeline *pl = ud;
    if (!pl->cur)
        return;
    pl->stats.records++;
    emit_rec(pl, MSG_MAIL, r, sizeof *r);
}

static void sink_tls(void *ud, const struct tls_session_rec *r)
{
    struct pipeline *pl = ud;
    if (!pl->cur)
        return;
    pl->stats.records++;
    const struct cert_info *ci = &r->leaf;
    if (r->leaf_parsed || ci->der_broken) {
        pl->stats.certs++;
        if (ci->wolf_fail != X509_WOLF_OK && ci->wolf_fail < X509_WOLF_COUNT)
            pl->stats.certs_wolf_fail[ci->wolf_fail]++;
        pl->stats.certs_der_walk += ci->source == X509_SRC_DER_WALK;
        pl->stats.certs_der_broken += ci->der_broken;
    }
    if (r->chain_n) {
        pl->stats.chains_trusted += r->trust.status == TRUST_TRUSTED;
        pl->stats.chains_untrusted += r->trust.status == TRUST_UNTRUSTED;
        pl->stats.chains_unchecked += r->trust.status == TRUST_UNCHECKED;
    }
    if (pl->tcache) {
        pl->stats.trust_hits = 0; /* the cache counts; stats_add sums the workers */
        trust_cache_stats(pl->tcache, &pl->stats.trust_hits, &pl->stats.trust_misses);
    }
    emit_rec(pl, MSG_TLS, r, sizeof *r);
}

/* A certificate goes to the writer the first time this worker sees it (as far as its small
 * direct-mapped memory knows: one seen again after being pushed out is sent again, and the
 * writer stores it once anyway). */
static void sink_certificate(void *ud, const uint8_t sha256[32], struct bytes der, unsigned position,
                             uint64_t ts)
{
    struct pipeline *pl = ud;
    (void)position;
    if (!pl->cur || der.len == 0 || der.len > X509_DER_MAX)
        return;
    if (pl->cert_sent) {
        uint32_t h;
        memcpy(&h, sha256 + 8, sizeof h);
        uint8_t *slot = pl->cert_sent[h & (CERT_SENT_SLOTS - 1)];
        if (memcmp(slot, sha256, 8) == 0)
            return;
        memcpy(slot, sha256, 8);
    }
    pl->stats.certs_sent++;
    announce(pl, pl->cur);
    struct ring_msg *r = reserve(pl, sizeof(struct msg_cert) + der.len);
    struct msg_cert *m = (void *)r->data;
    memset(m, 0, sizeof *m);
    m->ts_usec = ts;
    memcpy(m->sha256, sha256, 32);
    m->der_len = (uint32_t)der.len;
    memcpy(m->der, der.p, der.len);
    commit(pl, r, MSG_CERT);
}

static void sink_http(void *ud, const struct http_request_rec *r)
{
    struct pipeline *pl = ud;
    if (!pl->cur)
        return;
    pl->stats.records++;
    emit_rec(pl, MSG_HTTP, r, sizeof *r);
}

static void sink_label(void *ud, const char *proto)
{
    struct pipeline *pl = ud;
    /* The first label stays: a STARTTLS flow is SMTP (its TLS session row says
     * started_by smtp-starttls), not TLS. */
    if (pl->cur && pl->cur->app) {
        struct fapp *fa = pl->cur->app;
        if (!fa->app_label[0])
            snprintf(fa->app_label, sizeof fa->app_label, "%s", proto);
    }
}

/* ---- memory accounting ---- */

/* Brings the flow's charge (everything but the flow entry and the reassembly queues, which
 * their owners charge) up to date. O(1). */
static void recharge(struct pipeline *pl, struct fapp *fa)
{
    mem_recharge(&pl->mem, &fa->mem, nz_heap_size(sizeof *fa) + drv_mem(&fa->drv) + fa->ndpi_mem);
}

/* ---- dissector driving (engine/driver.c) ---- */

/* The driver's memory may have changed (after a feed): charge it. The flow is pl->cur. */
static void drv_mem_changed(void *ud, struct drv *d)
{
    struct fapp *fa = (struct fapp *)(void *)((char *)d - offsetof(struct fapp, drv));
    recharge(ud, fa);
}

/* The dissector needs no more bytes of a direction: the reassembler is told after
 * reasm_push() returns, never from inside its delivery callback. */
static void settle_want(struct pipeline *pl, struct fapp *fa)
{
    if (pl->cfg.dump)
        return;
    for (int d = 0; d < 2; d++)
        if (!drv_wants(&fa->drv, d) && !fa->rd[d].done)
            reasm_set_done(&fa->rd[d], &pl->budget);
}

/* reasm sink: in-order stream bytes of pl->cur. */
static void on_stream_data(void *ud, int dir, const uint8_t *p, size_t n)
{
    struct pipeline *pl = ud;
    struct flow *f = pl->cur;
    struct fapp *fa = f->app;
    dump_write(pl->cfg.dump, f->id, dir, p, n); /* --dump-streams; no-op when off */
    if (!fa->cli_ip[0]) {
        /* once per flow that carries payload: a SYN scan or a flow of bare ACKs never pays */
        dec_addr_str(f->ip_ver, f->cli_ip, fa->cli_ip, sizeof fa->cli_ip);
        dec_addr_str(f->ip_ver, f->srv_ip, fa->srv_ip, sizeof fa->srv_ip);
    }
    drv_data(&fa->drv, dir, p, n, pl->cur_ts);
}

static void on_stream_gap(void *ud, int dir, uint64_t len)
{
    struct pipeline *pl = ud;
    struct fapp *fa = pl->cur->app;
    enum drv_state before = drv_state(&fa->drv);
    drv_gap(&fa->drv, dir, len, pl->cur_ts);
    if (before == DRV_ATTACHED)
        recharge(pl, fa);
}

static const struct reasm_sink *pl_rsink(struct pipeline *pl) { return &pl->rsink; }

/* ---- flow lifecycle ---- */

static struct fapp *fapp_new(struct pipeline *pl, struct flow *f)
{
    struct fapp *fa = calloc(1, sizeof *fa);
    if (!fa)
        return NULL;
    if (pl->ndpi) {
        fa->ndpi = nz_ndpi_flow_new(pl->ndpi);
        fa->ndpi_mem = fa->ndpi ? nz_ndpi_flow_mem(pl->ndpi) : 0;
    }
    reasm_dir_init(&fa->rd[0]);
    reasm_dir_init(&fa->rd[1]);
    drv_init(&fa->drv, &pl->drv, fa->cli_ip, fa->srv_ip, f->cli_port, f->srv_port, f->id);
    return fa;
}

static void ndpi_finish(struct pipeline *pl, struct fapp *fa, bool giveup)
{
    if (!fa->ndpi)
        return;
    if (giveup)
        nz_ndpi_giveup(pl->ndpi, fa->ndpi, fa->ndpi_label);
    nz_ndpi_flow_free(fa->ndpi);
    fa->ndpi = NULL;
    fa->ndpi_mem = 0;
}

static void on_flow_end(void *ud, struct flow *f, enum flow_end why)
{
    struct pipeline *pl = ud;
    struct fapp *fa = f->app;
    if (!fa)
        return;
    struct flow *saved = pl->cur;
    uint64_t saved_ts = pl->cur_ts;
    pl->cur = f;
    /* The flow ends at its own last packet, whichever later packet (or tick) noticed: what
     * the dissectors say at close does not depend on unrelated traffic, nor on which worker
     * saw that traffic. */
    pl->cur_ts = f->last_usec;
    for (int d = 0; d < 2; d++)
        reasm_flush(&fa->rd[d], d, &pl->budget, pl_rsink(pl));
    drv_close(&fa->drv, pl->cur_ts);
    ndpi_finish(pl, fa, true);
    uint64_t diff = fa->rd[0].overlap_diff + fa->rd[1].overlap_diff;
    if (diff) {
        struct finding fd;
        finding_init(&fd, FK_TCP_OVERLAP_MISMATCH, f->last_usec);
        finding_summary(&fd, "%llu TCP overlap(s) carried different bytes (evasion signal)",
                        (unsigned long long)diff);
        struct json j;
        json_init(&j, fd.evidence, sizeof fd.evidence);
        json_uint(&j, "overlap_diff_c2s", fa->rd[0].overlap_diff);
        json_uint(&j, "overlap_diff_s2c", fa->rd[1].overlap_diff);
        json_uint(&j, "overlaps", fa->rd[0].overlaps + fa->rd[1].overlaps);
        json_str(&j, "policy", "first copy kept");
        json_finish(&j);
        emit_finding(pl, f, &fd);
    }
    for (int d = 0; d < 2; d++) {
        struct reasm_dir *r = &fa->rd[d];
        pl->stats.gaps += r->gaps;
        pl->stats.gap_bytes += r->gap_bytes;
        pl->stats.gaps_cap += r->gaps_cap;
        pl->stats.gap_cap_bytes += r->gap_cap_bytes;
        pl->stats.overlaps += r->overlaps;
        pl->stats.overlap_diff += r->overlap_diff;
        pl->stats.retrans += r->retrans;
        pl->stats.reasm_cap_drops += r->cap_drops;
    }
    if (why == FLOW_END_EVICTED)
        pl->stats.flows_evicted++;
    /* A flow that had closed (FIN/FIN or RST) but ended with the input before its linger time
     * is reported by how it closed, not as cut off. */
    enum flow_end shown = why;
    if (why == FLOW_END_SHUTDOWN && f->closing_usec)
        shown = f->rst_seen ? FLOW_END_RST : FLOW_END_FIN;
    send_flow(pl, f, fa, true, shown);
    drv_fini(&fa->drv);
    for (int d = 0; d < 2; d++)
        reasm_dir_fini(&fa->rd[d], &pl->budget);
    mem_uncharge(&pl->mem, fa->mem);
    free(fa);
    f->app = NULL;
    pl->cur = saved == f ? NULL : saved;
    pl->cur_ts = saved_ts;
}

/* ---- public ---- */

struct pipeline *pipeline_new(const struct pipeline_cfg *cfg, struct pl_out *out, const struct nz_log *log,
                              int *err)
{
    struct pipeline *pl = calloc(1, sizeof *pl);
    if (!pl) {
        *err = NZ_ENOMEM;
        return NULL;
    }
    pl->cfg = *cfg;
    pl->out = out;
    pl->log = log;
    pl->mem.max = cfg->mem_max ? cfg->mem_max : SIZE_MAX; /* 0: counted, never enforced */
    pl->budget.max = cfg->reasm_mem_max < pl->mem.max ? cfg->reasm_mem_max : pl->mem.max;
    pl->budget.total = &pl->mem;
    pl->rcfg.ooo_max_bytes = cfg->ooo_max_bytes;
    pl->rcfg.ooo_max_segs = REASM_OOO_MAX_SEGS;
    pl->stats.mem_max = pl->mem.max;
    struct flow_cfg fc = {cfg->max_flows, cfg->idle_sec, &pl->mem};
    pl->flows = flow_table_new(&fc, on_flow_end, pl, err);
    if (!pl->flows) {
        free(pl);
        return NULL;
    }
    if (cfg->ndpi_max_pkts) {
        pl->ndpi = nz_ndpi_new();
        if (!pl->ndpi) {
            nz_logf(log, NZ_LOG_ERR, "cannot initialise nDPI");
            flow_table_free(pl->flows);
            free(pl);
            *err = NZ_ENOMEM;
            return NULL;
        }
    }
    pl->sink.ud = pl;
    pl->sink.finding = sink_finding;
    pl->sink.label = sink_label;
    pl->sink.tls_session = sink_tls;
    pl->sink.http_request = sink_http;
    pl->sink.mail_session = sink_mail;
    pl->sink.certificate = sink_certificate;
    if (cfg->trust) {
        pl->tcache = trust_cache_new();
        pl->drv.trust = cfg->trust;
        pl->drv.tcache = pl->tcache;
    }
    pl->cert_sent = calloc(CERT_SENT_SLOTS, sizeof *pl->cert_sent);
    pl->drv.sink = &pl->sink;
    pl->drv.mem_changed = drv_mem_changed;
    pl->drv.ud = pl;
    pl->drv.policy = cfg->policy;
    pl->drv.log = log;
    pl->rsink.ud = pl;
    pl->rsink.data = on_stream_data;
    pl->rsink.gap = on_stream_gap;
    *err = 0;
    return pl;
}

/* Packet time between two log lines about memory evictions (the first is logged at once). */
#define MEM_WARN_EVERY_USEC (3600ull * 1000000ull)

/* True when this pipeline says the memory line now: the first time, then at most hourly in
 * packet time, over all pipelines sharing pl->out->shared. */
static bool warn_claim(struct pipeline *pl)
{
    struct pl_shared *sh = pl->out ? pl->out->shared : NULL;
    if (!sh) {
        if (pl->mem_warned && pl->cur_ts < pl->mem_warn_usec + MEM_WARN_EVERY_USEC)
            return false;
        pl->mem_warned = true;
        pl->mem_warn_usec = pl->cur_ts;
        return true;
    }
    uint64_t last = atomic_load(&sh->mem_warn_usec);
    for (;;) {
        if (last && pl->cur_ts + 1 < last + MEM_WARN_EVERY_USEC)
            return false;
        if (atomic_compare_exchange_weak(&sh->mem_warn_usec, &last, pl->cur_ts + 1))
            return true;
    }
}

/* After a packet of `keep`: while the memory budget is exceeded, or the reassembly share was
 * found full during the packet and is above three quarters, the least recently seen other
 * flow is evicted (ended properly: queues flushed, records and row written). Logged once,
 * then at most hourly in packet time; counted in flows.evicted_for_memory. */
static void evict_for_memory(struct pipeline *pl, struct flow *keep, bool reasm_full)
{
    uint64_t n = 0;
    while ((pl->mem.used > pl->mem.max || (reasm_full && pl->budget.used > pl->budget.max / 4 * 3)) &&
           flow_evict_lru(pl->flows, keep))
        n++;
    if (!n)
        return;
    pl->stats.flows_evicted_mem += n;
    if (!warn_claim(pl)) {
        return;
    } else {
        nz_logf(pl->log, NZ_LOG_WARN,
                "memory budget reached (--max-mem %zu MiB, out-of-order share %zu MiB): %llu flow(s) "
                "evicted so far, least recently seen first",
                pl->mem.max >> 20, pl->budget.max >> 20, (unsigned long long)pl->stats.flows_evicted_mem);
    }
}

void pipeline_packet(struct pipeline *pl, int dlt, uint64_t ts_usec, const uint8_t *data, uint32_t caplen,
                     uint32_t wirelen)
{
    struct pipeline_stats *s = &pl->stats;
    s->packets++;
    s->bytes += wirelen;
    if (s->first_usec == 0 || ts_usec < s->first_usec)
        s->first_usec = ts_usec;
    if (ts_usec > s->last_usec)
        s->last_usec = ts_usec;
    struct pkt p;
    enum dec_reason r = dec_packet(dlt, data, caplen, wirelen, ts_usec, &p);
    s->dec[r < DEC_REASON_COUNT ? r : DEC_UNSUPPORTED_LINK]++;
    if (r != DEC_OK) {
        if (dec_reason_is_malformed(r))
            s->malformed++;
        return;
    }
    s->tcp_packets++;
    int dir = 0, err = 0;
    struct flow *f = flow_track(pl->flows, &p, &dir, &err);
    if (!f)
        return;
    if (!f->app) {
        f->app = fapp_new(pl, f);
        if (!f->app)
            return;
        s->flows++;
    }
    struct fapp *fa = f->app;
    pl->cur = f;
    pl->cur_ts = ts_usec;
    uint64_t over = pl->budget.over_budget;
    bool was_done = fa->rd[dir].done; /* then no dissector runs: the flow's charge stays */
    if (was_done && p.payload_len)
        s->bypassed++; /* the dissector has all it needs: header decoding only */
    reasm_push(&fa->rd[dir], dir, &pl->rcfg, &pl->budget, p.seq, p.tcp_flags, p.payload, p.payload_len,
               p.payload_wire_len, pl_rsink(pl));
    settle_want(pl, fa);
    /* nDPI after reassembly: if this very packet let our dissector claim the flow (the
     * ClientHello, request line or greeting, the most expensive packet for nDPI to parse),
     * nDPI never sees it. */
    if (fa->ndpi) {
        if (drv_claimed(&fa->drv)) {
            /* Our dissector claimed the flow: its label wins and nDPI sees no more packets;
             * its best guess so far is still kept in flows.ndpi_proto (giveup is cheap). */
            ndpi_finish(pl, fa, true);
        } else {
            s->ndpi_pkts++;
            fa->ndpi_pkts++;
            size_t got = 0;
            bool decided = nz_ndpi_packet(pl->ndpi, fa->ndpi, p.l3, p.l3_len, ts_usec, fa->ndpi_label, &got);
            fa->ndpi_mem += got;
            if (decided) {
                ndpi_finish(pl, fa, false);
            } else if (fa->ndpi_pkts >= pl->cfg.ndpi_max_pkts) {
                ndpi_finish(pl, fa, true);
            } else if (fa->ndpi_mem - nz_ndpi_flow_mem(pl->ndpi) > NDPI_FLOW_MEM_MAX) {
                s->ndpi_mem_cap++; /* nDPI buffers too much for this flow: its best guess stays */
                ndpi_finish(pl, fa, true);
            }
        }
    }
    if (!was_done || fa->ndpi) {
        recharge(pl, fa);
        s->mem_peak = pl->mem.peak;
    }
    if (pl->mem.used > pl->mem.max || pl->budget.over_budget != over) {
        evict_for_memory(pl, f, pl->budget.over_budget != over);
        s->reasm_over_budget = pl->budget.over_budget;
    }
    pl->cur = NULL;
}

void pipeline_end_flows(struct pipeline *pl) { flow_end_all(pl->flows, FLOW_END_SHUTDOWN); }

void pipeline_tick(struct pipeline *pl, uint64_t ts_usec)
{
    flow_expire(pl->flows, ts_usec, 0);
}

void pipeline_finish(struct pipeline *pl)
{
    flow_end_all(pl->flows, FLOW_END_SHUTDOWN);
    pl->stats.reasm_over_budget = pl->budget.over_budget;
    pl->stats.mem_peak = pl->mem.peak;
}

const struct pipeline_stats *pipeline_stats(struct pipeline *pl)
{
    struct pipeline_stats *s = &pl->stats;
    s->dis_attached = pl->drv.stats.attached;
    s->dis_errors = pl->drv.stats.errors;
    s->dis_overflow = pl->drv.stats.overflow;
    s->dis_switches = pl->drv.stats.switches;
    s->dis_mem_cap = pl->drv.stats.mem_cap;
    struct flow_stats fs;
    flow_table_stats(pl->flows, &fs);
    s->flows_created = fs.created;
    s->flows_max_active = fs.max_active;
    for (int e = 0; e < FLOW_END_COUNT; e++)
        s->flows_ended[e] = fs.ended[e];
    s->reasm_over_budget = pl->budget.over_budget;
    s->reasm_budget = pl->budget.max;
    s->mem_peak = pl->mem.peak;
    s->mem_used = pl->mem.used;
    return s;
}

void pipeline_stats_add(struct pipeline_stats *d, const struct pipeline_stats *s)
{
    uint64_t first = d->first_usec, last = d->last_usec;
    const uint64_t *sv = (const uint64_t *)(const void *)s;
    uint64_t *dv = (uint64_t *)(void *)d;
    /* every field is a uint64_t or a size_t of the same width: add them all, then fix the
     * time range (min/max, 0 = none) */
    _Static_assert(sizeof(size_t) == sizeof(uint64_t), "size_t is 64 bits");
    _Static_assert(sizeof(struct pipeline_stats) % sizeof(uint64_t) == 0, "only 64-bit fields");
    for (size_t i = 0; i < sizeof *s / sizeof(uint64_t); i++)
        dv[i] += sv[i];
    d->first_usec = !first ? s->first_usec : (s->first_usec && s->first_usec < first ? s->first_usec : first);
    d->last_usec = s->last_usec > last ? s->last_usec : last;
}

void pipeline_stats_json(struct json *j, const struct pipeline_stats *s)
{
    json_obj_begin(j, "decode");
    for (int r = 0; r < DEC_REASON_COUNT; r++)
        if (s->dec[r])
            json_uint(j, dec_reason_name((enum dec_reason)r), s->dec[r]);
    json_obj_end(j);
    json_obj_begin(j, "flows");
    json_uint(j, "created", s->flows_created);
    json_uint(j, "max_active", s->flows_max_active);
    for (int e = 0; e < FLOW_END_COUNT; e++)
        json_uint(j, flow_end_name((enum flow_end)e), s->flows_ended[e]);
    json_uint(j, "evicted_for_memory", s->flows_evicted_mem);
    json_obj_end(j);
    json_obj_begin(j, "reassembly");
    json_uint(j, "gaps", s->gaps);
    json_uint(j, "gap_bytes", s->gap_bytes);
    json_uint(j, "overlaps", s->overlaps);
    json_uint(j, "overlap_diff", s->overlap_diff);
    json_uint(j, "retransmissions", s->retrans);
    json_uint(j, "gap_loss", s->gaps - s->gaps_cap);
    json_uint(j, "gap_loss_bytes", s->gap_bytes - s->gap_cap_bytes);
    json_uint(j, "gap_cap", s->gaps_cap);
    json_uint(j, "gap_cap_bytes", s->gap_cap_bytes);
    json_uint(j, "cap_drops", s->reasm_cap_drops);
    json_uint(j, "over_budget", s->reasm_over_budget);
    json_uint(j, "budget", s->reasm_budget);
    json_uint(j, "bypassed_segments", s->bypassed);
    json_obj_end(j);
    json_obj_begin(j, "memory");
    json_uint(j, "budget", s->mem_max);
    json_uint(j, "peak", s->mem_peak);
    json_uint(j, "in_use", s->mem_used);
    json_uint(j, "evicted_flows", s->flows_evicted_mem);
    json_uint(j, "dissector_cap", s->dis_mem_cap);
    json_uint(j, "ndpi_cap", s->ndpi_mem_cap);
    json_obj_end(j);
    json_obj_begin(j, "dissectors");
    json_uint(j, "attached", s->dis_attached);
    json_uint(j, "switches", s->dis_switches);
    json_uint(j, "errors", s->dis_errors);
    json_uint(j, "buffer_overflows", s->dis_overflow);
    json_uint(j, "records", s->records);
    json_obj_end(j);
    json_obj_begin(j, "certificates");
    json_uint(j, "leaves", s->certs);
    json_obj_begin(j, "wolfssl_refused");
    for (int w = 1; w < X509_WOLF_COUNT; w++)
        if (s->certs_wolf_fail[w])
            json_uint(j, x509_wolf_fail_name(w), s->certs_wolf_fail[w]);
    json_obj_end(j);
    json_uint(j, "read_by_der_walk", s->certs_der_walk);
    json_uint(j, "der_broken", s->certs_der_broken);
    json_uint(j, "sent_to_writer", s->certs_sent);
    json_uint(j, "chains_trusted", s->chains_trusted);
    json_uint(j, "chains_untrusted", s->chains_untrusted);
    json_uint(j, "chains_unchecked", s->chains_unchecked);
    json_uint(j, "verify_cache_hits", s->trust_hits);
    json_uint(j, "verify_cache_misses", s->trust_misses);
    json_obj_end(j);
    json_uint(j, "ndpi_packets", s->ndpi_pkts);
}

void pipeline_free(struct pipeline *pl)
{
    if (!pl)
        return;
    flow_table_free(pl->flows);
    nz_ndpi_free(pl->ndpi);
    trust_cache_free(pl->tcache);
    free(pl->cert_sent);
    free(pl);
}
