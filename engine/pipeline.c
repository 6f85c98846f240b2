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
#include "engine/records.h"
#include "rules/https_redirect.h"
#include "rules/mail_history.h"

/* Per-flow state owned by the pipeline (flow->app). */
struct fapp {
    struct reasm_dir rd[2];
    int64_t db_id;                 /* flows.id once written; 0 before */
    struct drv drv;                /* the stream driver: dissector, tails, want[] */
    void *ndpi;                    /* nDPI flow state while detection runs */
    size_t ndpi_mem;               /* its heap bytes: the struct plus what nDPI allocated for it */
    size_t mem;                    /* bytes this struct has charged to pl->mem (see recharge) */
    unsigned ndpi_pkts;
    char ndpi_label[NDPI_LABEL_MAX];
    char app_label[24];            /* our dissector's label */
    char cli_ip[46], srv_ip[46];   /* text forms for evidence */
    uint64_t findings;
};

struct pipeline {
    struct pipeline_cfg cfg;
    struct store *st;              /* borrowed */
    int64_t run_id;
    const struct nz_log *log;      /* borrowed */
    struct flow_table *flows;
    struct mem_budget mem;         /* every per-flow byte (pipeline.h); flows and budget charge it */
    struct reasm_budget budget;    /* the out-of-order share of mem (--max-reasm-mem) */
    bool mem_warned;               /* the first memory eviction was logged */
    uint64_t mem_warn_usec;        /* packet time of the last such log line */
    struct reasm_cfg rcfg;
    struct nz_ndpi *ndpi;
    struct pipeline_stats stats;
    int db_err;                    /* first store error */
    struct flow *cur;              /* flow whose bytes are being processed */
    uint64_t cur_ts;               /* packet time of the current segment */
    struct dis_sink sink;
    struct drv_host drv;           /* shared by every flow's driver; ud = this pipeline */
    struct reasm_sink rsink;       /* ud = this pipeline */
};

static const struct reasm_sink *pl_rsink(struct pipeline *pl);

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

/* ---- store glue ---- */

static void db_fail(struct pipeline *pl, int rc, const char *what)
{
    if (rc == 0 || pl->db_err)
        return;
    pl->db_err = rc;
    nz_logf(pl->log, NZ_LOG_ERR, "database error while writing %s: %s", what, store_errmsg(pl->st));
}

static void fill_store_flow(const struct flow *f, const struct fapp *fa, const char *end_reason,
                            struct store_flow *sf)
{
    memset(sf, 0, sizeof *sf);
    sf->client_ip = fa->cli_ip;
    sf->server_ip = fa->srv_ip;
    sf->client_port = f->cli_port;
    sf->server_port = f->srv_port;
    sf->ip_version = f->ip_ver;
    sf->app_proto = fa->app_label[0] ? fa->app_label : (fa->ndpi_label[0] ? fa->ndpi_label : NULL);
    sf->ndpi_proto = fa->ndpi_label[0] ? fa->ndpi_label : NULL;
    sf->orient = flow_orient_name(f->orient);
    sf->end_reason = end_reason;
    sf->first_usec = f->first_usec;
    sf->last_usec = f->last_usec;
    for (int d = 0; d < 2; d++) {
        sf->pkts[d] = f->pkts[d];
        sf->bytes[d] = f->bytes[d];
        sf->payload[d] = f->payload_bytes[d];
        sf->gaps += fa->rd[d].gaps;
        sf->gap_bytes += fa->rd[d].gap_bytes;
        sf->overlaps += fa->rd[d].overlaps;
        sf->overlap_diff += fa->rd[d].overlap_diff;
        sf->retrans += fa->rd[d].retrans;
    }
}

/* Makes sure the flow has a row (findings reference it). */
static int64_t ensure_flow_row(struct pipeline *pl, struct flow *f)
{
    struct fapp *fa = f->app;
    if (fa->db_id || pl->db_err)
        return fa->db_id;
    struct store_flow sf;
    fill_store_flow(f, fa, NULL, &sf);
    db_fail(pl, store_flow_put(pl->st, pl->run_id, &sf, &fa->db_id), "a flow");
    return fa->db_id;
}

static void emit_finding(struct pipeline *pl, struct flow *f, const struct finding *fd)
{
    pl->stats.findings++;
    if ((unsigned)fd->severity < NZ_SEV_COUNT)
        pl->stats.by_sev[fd->severity]++;
    if (pl->db_err)
        return;
    struct store_endpoints ep = {0};
    int64_t fid = 0;
    if (f) {
        struct fapp *fa = f->app;
        fa->findings++;
        fid = ensure_flow_row(pl, f);
        ep.client_ip = fa->cli_ip;
        ep.server_ip = fa->srv_ip;
        ep.client_port = f->cli_port;
        ep.server_port = f->srv_port;
    }
    db_fail(pl, store_finding_add(pl->st, pl->run_id, fid, fd, &ep), "a finding");
}

/* ---- mail history (per server, across runs of this database; rules/mail_history.c) ---- */

/* Reads what the flow's server did with `proto` before ts_usec into *h (its text in *sh).
 * False when there is no such history to read (no time, a database error). */
static bool mail_history(struct pipeline *pl, struct flow *f, const char *proto, uint64_t ts_usec,
                         struct store_mail_history *sh, struct mail_history_facts *h)
{
    struct fapp *fa = f->app;
    char ts[40];
    if (!store_ts_iso(ts_usec, ts, sizeof ts) ||
        store_mail_history_get(pl->st, fa->srv_ip, f->srv_port, proto, ts, sh) != 0)
        return false;
    *h = (struct mail_history_facts){sh->sessions, sh->offered, sh->accepted, sh->last_offered_id,
                                     sh->last_offered_ts, sh->last_accepted_id, sh->last_accepted_ts};
    return true;
}

/* ---- dissector sink (ud = pipeline; the flow is pl->cur) ---- */

static void sink_finding(void *ud, const struct finding *f)
{
    struct pipeline *pl = ud;
    const char *proto = mail_refusal_proto(f->kind);
    if (proto) {
        /* A refusal is high when this server accepted STARTTLS before. */
        struct finding up = *f;
        struct store_mail_history sh;
        struct mail_history_facts h;
        if (pl->cur && pl->cur->app && !pl->db_err && mail_history(pl, pl->cur, proto, f->ts_usec, &sh, &h))
            mail_rule_refusal(&up, &h);
        emit_finding(pl, pl->cur, &up);
        return;
    }
    emit_finding(pl, pl->cur, f);
}

static void sink_mail(void *ud, const struct mail_session_rec *r)
{
    struct pipeline *pl = ud;
    if (!pl->cur || pl->db_err)
        return;
    struct flow *f = pl->cur;
    struct fapp *fa = f->app;
    pl->stats.records++;
    int64_t fid = ensure_flow_row(pl, f);
    /* Stripping seen through history (a complete capability list without STARTTLS from a
     * server that advertised it in earlier sessions of this database). */
    const char *proto = mail_rule_stripped_needs_history(r);
    struct store_mail_history sh;
    struct mail_history_facts h;
    struct finding fd;
    if (proto && mail_history(pl, f, proto, r->ts_usec, &sh, &h) &&
        mail_rule_stripped_by_history(r, fa->srv_ip, f->srv_port, &h, &fd))
        emit_finding(pl, f, &fd);
    struct store_endpoints ep = {fa->cli_ip, fa->srv_ip, f->cli_port, f->srv_port};
    db_fail(pl, records_mail_add(pl->st, pl->run_id, fid, &ep, r), "a mail session");
}

static void sink_tls(void *ud, const struct tls_session_rec *r)
{
    struct pipeline *pl = ud;
    if (!pl->cur || pl->db_err)
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
    int64_t fid = ensure_flow_row(pl, pl->cur);
    db_fail(pl, records_tls_add(pl->st, pl->run_id, fid, r), "a TLS session");
}

static void sink_http(void *ud, const struct http_request_rec *r)
{
    struct pipeline *pl = ud;
    if (!pl->cur || pl->db_err)
        return;
    pl->stats.records++;
    int64_t fid = ensure_flow_row(pl, pl->cur);
    db_fail(pl, records_http_add(pl->st, pl->run_id, fid, r), "an HTTP request");
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
    dec_addr_str(f->ip_ver, f->cli_ip, fa->cli_ip, sizeof fa->cli_ip);
    dec_addr_str(f->ip_ver, f->srv_ip, fa->srv_ip, sizeof fa->srv_ip);
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
    if (pl->cur_ts < f->last_usec)
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
    if (!pl->db_err) {
        /* A flow that had closed (FIN/FIN or RST) but ended with the input before its linger
         * time is reported by how it closed, not as cut off. */
        enum flow_end shown = why;
        if (why == FLOW_END_SHUTDOWN && f->closing_usec)
            shown = f->rst_seen ? FLOW_END_RST : FLOW_END_FIN;
        struct store_flow sf;
        fill_store_flow(f, fa, flow_end_name(shown), &sf);
        db_fail(pl, store_flow_put(pl->st, pl->run_id, &sf, &fa->db_id), "a flow");
    }
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

struct pipeline *pipeline_new(const struct pipeline_cfg *cfg, struct store *st, int64_t run_id,
                              const struct nz_log *log, int *err)
{
    struct pipeline *pl = calloc(1, sizeof *pl);
    if (!pl) {
        *err = NZ_ENOMEM;
        return NULL;
    }
    pl->cfg = *cfg;
    pl->st = st;
    pl->run_id = run_id;
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
    if (!pl->mem_warned || pl->cur_ts >= pl->mem_warn_usec + MEM_WARN_EVERY_USEC) {
        pl->mem_warned = true;
        pl->mem_warn_usec = pl->cur_ts;
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

/* http.no_https_redirect (rules/https_redirect.c): one finding per host, from the stored
 * records (needs the TLS sessions' SNIs, which may come from other flows, files or earlier runs). */
static int no_https_row(void *ud, const struct store_no_https_row *row)
{
    struct pipeline *pl = ud;
    struct https_redirect_facts h = {row->host, row->ts_usec, row->ts, row->tls_ts};
    struct finding fd;
    if (!https_redirect_rule(&h, &fd))
        return 0;
    struct store_endpoints ep = {row->client_ip, row->server_ip, row->client_port, row->server_port};
    pl->stats.findings++;
    pl->stats.by_sev[fd.severity]++;
    db_fail(pl, store_finding_add(pl->st, pl->run_id, row->flow_id, &fd, &ep), "a finding");
    return pl->db_err ? 1 : 0;
}

int pipeline_finish(struct pipeline *pl)
{
    flow_end_all(pl->flows, FLOW_END_SHUTDOWN);
    if (!pl->db_err) {
        int rc = store_no_https_redirect_rows(pl->st, pl->run_id, no_https_row, pl);
        if (rc && !pl->db_err)
            db_fail(pl, rc == NZ_EDB ? rc : NZ_EDB, "the no_https_redirect rule");
    }
    struct flow_stats fs;
    flow_table_stats(pl->flows, &fs);
    pl->stats.reasm_over_budget = pl->budget.over_budget;
    pl->stats.mem_peak = pl->mem.peak;
    if (!pl->db_err)
        db_fail(pl, store_commit(pl->st), "the final batch");
    return pl->db_err;
}

int pipeline_error(const struct pipeline *pl) { return pl->db_err; }

/* The driver's counters (engine/driver.h) are copied in here, not per packet. */
static void sync_drv_stats(struct pipeline *pl)
{
    pl->stats.dis_attached = pl->drv.stats.attached;
    pl->stats.dis_errors = pl->drv.stats.errors;
    pl->stats.dis_overflow = pl->drv.stats.overflow;
    pl->stats.dis_switches = pl->drv.stats.switches;
    pl->stats.dis_mem_cap = pl->drv.stats.mem_cap;
}

const struct pipeline_stats *pipeline_stats(struct pipeline *pl)
{
    sync_drv_stats(pl);
    return &pl->stats;
}

const char *pipeline_counters_json(struct pipeline *pl, char *buf, size_t cap)
{
    const struct pipeline_stats *s = pipeline_stats(pl);
    struct flow_stats fs;
    flow_table_stats(pl->flows, &fs);
    struct json j;
    json_init(&j, buf, cap);
    json_obj_begin(&j, "decode");
    for (int r = 0; r < DEC_REASON_COUNT; r++)
        if (s->dec[r])
            json_uint(&j, dec_reason_name((enum dec_reason)r), s->dec[r]);
    json_obj_end(&j);
    json_obj_begin(&j, "flows");
    json_uint(&j, "created", fs.created);
    json_uint(&j, "max_active", fs.max_active);
    for (int e = 0; e < FLOW_END_COUNT; e++)
        json_uint(&j, flow_end_name((enum flow_end)e), fs.ended[e]);
    json_uint(&j, "evicted_for_memory", s->flows_evicted_mem);
    json_obj_end(&j);
    json_obj_begin(&j, "reassembly");
    json_uint(&j, "gaps", s->gaps);
    json_uint(&j, "gap_bytes", s->gap_bytes);
    json_uint(&j, "overlaps", s->overlaps);
    json_uint(&j, "overlap_diff", s->overlap_diff);
    json_uint(&j, "retransmissions", s->retrans);
    json_uint(&j, "gap_loss", s->gaps - s->gaps_cap);
    json_uint(&j, "gap_loss_bytes", s->gap_bytes - s->gap_cap_bytes);
    json_uint(&j, "gap_cap", s->gaps_cap);
    json_uint(&j, "gap_cap_bytes", s->gap_cap_bytes);
    json_uint(&j, "cap_drops", s->reasm_cap_drops);
    json_uint(&j, "over_budget", pl->budget.over_budget);
    json_uint(&j, "budget", pl->budget.max);
    json_uint(&j, "bypassed_segments", s->bypassed);
    json_obj_end(&j);
    json_obj_begin(&j, "memory");
    json_uint(&j, "budget", pl->mem.max);
    json_uint(&j, "peak", pl->mem.peak);
    json_uint(&j, "in_use", pl->mem.used);
    json_uint(&j, "evicted_flows", s->flows_evicted_mem);
    json_uint(&j, "dissector_cap", s->dis_mem_cap);
    json_uint(&j, "ndpi_cap", s->ndpi_mem_cap);
    json_obj_end(&j);
    json_obj_begin(&j, "dissectors");
    json_uint(&j, "attached", s->dis_attached);
    json_uint(&j, "switches", s->dis_switches);
    json_uint(&j, "errors", s->dis_errors);
    json_uint(&j, "buffer_overflows", s->dis_overflow);
    json_uint(&j, "records", s->records);
    json_obj_end(&j);
    json_obj_begin(&j, "certificates");
    json_uint(&j, "leaves", s->certs);
    json_obj_begin(&j, "wolfssl_refused");
    for (int w = 1; w < X509_WOLF_COUNT; w++)
        if (s->certs_wolf_fail[w])
            json_uint(&j, x509_wolf_fail_name(w), s->certs_wolf_fail[w]);
    json_obj_end(&j);
    json_uint(&j, "read_by_der_walk", s->certs_der_walk);
    json_uint(&j, "der_broken", s->certs_der_broken);
    json_obj_end(&j);
    json_uint(&j, "ndpi_packets", s->ndpi_pkts);
    return json_finish(&j);
}

void pipeline_free(struct pipeline *pl)
{
    if (!pl)
        return;
    flow_table_free(pl->flows);
    nz_ndpi_free(pl->ndpi);
    free(pl);
}
