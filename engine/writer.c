/* writer.c — messages → rows, on the writer thread. See writer.h. */
#include "engine/writer.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/decode.h"
#include "capture/flow.h"
#include "engine/msg.h"
#include "dissect/tls.h"
#include "dissect/x509.h"
#include "engine/records.h"
#include "rules/drown.h"
#include "rules/https_redirect.h"
#include "rules/mail_history.h"

/* One announced flow: its row and the endpoints findings and mail rules need. */
struct wflow {
    uint64_t fkey;        /* 0 = free slot */
    int64_t db_id;
    uint16_t client_port, server_port;
    char client_ip[46], server_ip[46];
    uint64_t first_usec;  /* the flow's first packet: its session began no earlier */
};

/* A rule waiting for the end of the run (offline): the history it reads is then complete, so
 * its answer does not depend on which worker finished which flow first. Kept compact: a
 * refusal keeps its finding's texts, a possibly stripped session what the rule reads (protocol,
 * time, capability list). */
struct pending {
    struct wflow fl;                 /* the flow as it was (its map entry is gone by then) */
    bool is_rec;                     /* a mail session (stripped by history) / a refusal */
    int32_t kind, severity;          /* refusal */
    uint64_t ts_usec;                /* refusal: the finding's; session: its start */
    char proto[8];                   /* session */
    uint16_t len1, len2;             /* refusal: summary, evidence; session: capabilities, 0 */
    char text[];                     /* the texts, back to back, no NUL */
};
#define PENDING_BYTES_MAX (16u << 20) /* beyond that, judged at once (counted, logged) */

/* Certificates seen in this run: the newest packet time each was seen at, written to
 * certificates.last_seen at each commit (one UPDATE per certificate and commit, not one per
 * handshake); the chains already stored. Bounded: when full, written out and emptied. */
struct seen {
    uint8_t sha[32];
    uint64_t min_usec, max_usec;       /* max_usec 0 = free slot */
    bool dirty;                        /* widened since written */
};
#define SEEN_SLOTS 16384u
#define CHAINS_SLOTS 16384u

struct wstate {
    struct store *st;
    int64_t run_id;
    const struct nz_log *log;
    int db_err;
    bool dirty;                      /* rows since the last commit */
    struct wflow *map;               /* open addressing, linear probing */
    size_t cap, n;                   /* cap a power of two; n entries */
    _Atomic uint64_t findings;
    _Atomic uint64_t by_sev[NZ_SEV_COUNT];
    struct finding fd;               /* scratch: a finding rebuilt from its message */
    bool defer;                      /* history rules wait (for wstate_finish or defer_usec) */
    uint64_t defer_usec;             /* live: packet time a rule waits; UINT64_MAX: run's end */
    uint64_t now_usec;               /* newest packet time in the rows seen */
    unsigned char *pend;             /* struct pending entries, 8-byte aligned, back to back */
    size_t pend_len, pend_cap;
    uint64_t pend_over;              /* judged at once because PENDING_BYTES_MAX was reached */
    struct mail_session_rec rec;     /* scratch: a pending session rebuilt */
    struct seen *seen;               /* SEEN_SLOTS, open addressing */
    size_t n_seen;
    uint8_t (*chains)[8];            /* CHAINS_SLOTS first bytes of stored chain hashes */
};

static void db_fail(struct wstate *w, int rc, const char *what)
{
    if (rc == 0 || w->db_err)
        return;
    w->db_err = NZ_EDB;
    nz_logf(w->log, NZ_LOG_ERR, "database error while writing %s: %s", what, store_errmsg(w->st));
}

/* ---- the flow map ---- */

static size_t slot_of(uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

static struct wflow *map_find(struct wstate *w, uint64_t k)
{
    if (!w->cap)
        return NULL;
    for (size_t i = slot_of(k, w->cap);; i = (i + 1) & (w->cap - 1)) {
        if (w->map[i].fkey == k)
            return &w->map[i];
        if (w->map[i].fkey == 0)
            return NULL;
    }
}

static bool map_grow(struct wstate *w)
{
    size_t ncap = w->cap ? w->cap * 2 : 1024;
    struct wflow *nm = calloc(ncap, sizeof *nm);
    if (!nm)
        return false;
    for (size_t i = 0; i < w->cap; i++) {
        if (!w->map[i].fkey)
            continue;
        size_t j = slot_of(w->map[i].fkey, ncap);
        while (nm[j].fkey)
            j = (j + 1) & (ncap - 1);
        nm[j] = w->map[i];
    }
    free(w->map);
    w->map = nm;
    w->cap = ncap;
    return true;
}

static struct wflow *map_add(struct wstate *w, uint64_t k)
{
    if ((w->n + 1) * 2 > w->cap && !map_grow(w))
        return NULL;
    size_t i = slot_of(k, w->cap);
    while (w->map[i].fkey)
        i = (i + 1) & (w->cap - 1);
    w->n++;
    w->map[i].fkey = k;
    return &w->map[i];
}

/* Deletion with backward shift (no tombstones). */
static void map_del(struct wstate *w, struct wflow *e)
{
    size_t i = (size_t)(e - w->map), mask = w->cap - 1;
    w->map[i].fkey = 0;
    w->n--;
    for (size_t j = (i + 1) & mask; w->map[j].fkey; j = (j + 1) & mask) {
        size_t home = slot_of(w->map[j].fkey, w->cap);
        /* can the entry at j move to the hole at i? (i lies cyclically in [home, j)) */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            w->map[i] = w->map[j];
            w->map[j].fkey = 0;
            i = j;
        }
    }
}

/* ---- rows ---- */

/* The flow's addresses as text (cli, srv: 46 bytes each). */
static void addr_text(const struct msg_flow *m, char *cli, char *srv)
{
    dec_addr_str(m->ip_version, m->client_addr, cli, 46);
    dec_addr_str(m->ip_version, m->server_addr, srv, 46);
}

static void fill_store_flow(const struct msg_flow *m, const char *cli, const char *srv, struct store_flow *sf)
{
    memset(sf, 0, sizeof *sf);
    sf->client_ip = cli;
    sf->server_ip = srv;
    sf->client_port = m->client_port;
    sf->server_port = m->server_port;
    sf->ip_version = m->ip_version;
    sf->app_proto = m->app_proto[0] ? m->app_proto : (m->ndpi_proto[0] ? m->ndpi_proto : NULL);
    sf->ndpi_proto = m->ndpi_proto[0] ? m->ndpi_proto : NULL;
    sf->orient = flow_orient_name((enum flow_orient)m->orient);
    sf->end_reason = m->final ? flow_end_name((enum flow_end)m->end) : NULL;
    sf->first_usec = m->first_usec;
    sf->last_usec = m->last_usec;
    for (int d = 0; d < 2; d++) {
        sf->pkts[d] = m->pkts[d];
        sf->bytes[d] = m->bytes[d];
        sf->payload[d] = m->payload[d];
    }
    sf->gaps = m->gaps;
    sf->gap_bytes = m->gap_bytes;
    sf->overlaps = m->overlaps;
    sf->overlap_diff = m->overlap_diff;
    sf->retrans = m->retrans;
}

static void on_flow(struct wstate *w, const struct msg_flow *m)
{
    if (m->last_usec > w->now_usec)
        w->now_usec = m->last_usec;
    struct wflow *e = map_find(w, m->fkey);
    if (w->db_err) {
        if (e && m->final)
            map_del(w, e);
        return;
    }
    char cli[46], srv[46];
    if (e) {
        memcpy(cli, e->client_ip, sizeof cli);
        memcpy(srv, e->server_ip, sizeof srv);
    } else {
        addr_text(m, cli, srv);
    }
    struct store_flow sf;
    fill_store_flow(m, cli, srv, &sf);
    int64_t id = e ? e->db_id : 0;
    db_fail(w, store_flow_put(w->st, w->run_id, &sf, &id), "a flow");
    w->dirty = true;
    if (m->final) {
        if (e)
            map_del(w, e);
        return;
    }
    if (!e && !w->db_err) {
        e = map_add(w, m->fkey);
        if (!e) {
            nz_logf(w->log, NZ_LOG_ERR, "out of memory in the database writer");
            w->db_err = NZ_EDB;
            return;
        }
        e->db_id = id;
        e->client_port = m->client_port;
        e->server_port = m->server_port;
        e->first_usec = m->first_usec;
        memcpy(e->client_ip, cli, sizeof e->client_ip);
        memcpy(e->server_ip, srv, sizeof e->server_ip);
    }
}

static void write_finding(struct wstate *w, const struct wflow *e, const struct finding *fd)
{
    atomic_fetch_add_explicit(&w->findings, 1, memory_order_relaxed);
    if ((unsigned)fd->severity < NZ_SEV_COUNT)
        atomic_fetch_add_explicit(&w->by_sev[fd->severity], 1, memory_order_relaxed);
    if (w->db_err)
        return;
    struct store_endpoints ep = {0};
    if (e)
        ep = (struct store_endpoints){e->client_ip, e->server_ip, e->client_port, e->server_port};
    db_fail(w, store_finding_add(w->st, w->run_id, e ? e->db_id : 0, fd, &ep), "a finding");
    w->dirty = true;
}

/* What the flow's server did with `proto` before ts_usec (rules/mail_history.c). False when
 * there is nothing to read (no time, a database error). */
static bool mail_history(struct wstate *w, const struct wflow *e, const char *proto, uint64_t ts_usec,
                         struct store_mail_history *sh, struct mail_history_facts *h)
{
    char ts[40];
    if (w->db_err || !store_ts_iso(ts_usec, ts, sizeof ts) ||
        store_mail_history_get(w->st, e->server_ip, e->server_port, proto, ts, sh) != 0)
        return false;
    *h = (struct mail_history_facts){sh->sessions, sh->offered, sh->accepted, sh->last_offered_id,
                                     sh->last_offered_ts, sh->last_accepted_id, sh->last_accepted_ts};
    return true;
}

/* A STARTTLS refusal is high when this server accepted STARTTLS in sessions that began before
 * this flow (rules/mail_history.c). */
static void judge_refusal(struct wstate *w, const struct wflow *e, struct finding *fd)
{
    const char *proto = mail_refusal_proto(fd->kind);
    struct store_mail_history sh;
    struct mail_history_facts h;
    if (proto && e && mail_history(w, e, proto, e->first_usec, &sh, &h))
        mail_rule_refusal(fd, &h);
}

/* Stripping seen through history: a complete capability list without STARTTLS from a server
 * that advertised it in sessions that began before this one. */
static void judge_stripped(struct wstate *w, const struct wflow *e, const struct mail_session_rec *mr)
{
    const char *proto = mail_rule_stripped_needs_history(mr);
    struct store_mail_history sh;
    struct mail_history_facts h;
    struct finding *fd = &w->fd;
    if (proto && mail_history(w, e, proto, mr->ts_usec, &sh, &h) &&
        mail_rule_stripped_by_history(mr, e->server_ip, e->server_port, &h, fd))
        write_finding(w, e, fd);
}

/* Keeps a history rule for wstate_finish. False when it must be judged now (full). */
static bool defer_rule(struct wstate *w, const struct wflow *e, const struct finding *fd,
                       const struct mail_session_rec *rec)
{
    const char *t1 = rec ? rec->capabilities : fd->summary;
    size_t l1 = rec ? strnlen(rec->capabilities, sizeof rec->capabilities - 1)
                    : strnlen(fd->summary, sizeof fd->summary - 1);
    size_t l2 = rec ? 0 : strnlen(fd->evidence, sizeof fd->evidence - 1);
    size_t need = (sizeof(struct pending) + l1 + l2 + 7) & ~(size_t)7;
    if (w->pend_len + need > PENDING_BYTES_MAX) {
        w->pend_over++;
        return false;
    }
    if (w->pend_len + need > w->pend_cap) {
        size_t nc = w->pend_cap ? w->pend_cap * 2 : 65536;
        while (nc < w->pend_len + need)
            nc *= 2;
        unsigned char *np = realloc(w->pend, nc);
        if (!np)
            return false;
        w->pend = np;
        w->pend_cap = nc;
    }
    struct pending *p = (struct pending *)(void *)(w->pend + w->pend_len);
    memset(p, 0, sizeof *p);
    p->fl = *e;
    p->is_rec = rec != NULL;
    if (rec) {
        p->ts_usec = rec->ts_usec;
        memcpy(p->proto, rec->proto, sizeof p->proto);
    } else {
        p->kind = fd->kind;
        p->severity = fd->severity;
        p->ts_usec = fd->ts_usec;
        memcpy(p->text + l1, fd->evidence, l2);
    }
    memcpy(p->text, t1, l1);
    p->len1 = (uint16_t)l1;
    p->len2 = (uint16_t)l2;
    w->pend_len += need;
    return true;
}

/* Judges the pending rules, oldest first: all of them (all = true), else those whose wait is
 * over in packet time. */
static void judge_pending(struct wstate *w, bool all)
{
    size_t off = 0;
    while (off < w->pend_len && !w->db_err) {
        struct pending *p = (struct pending *)(void *)(w->pend + off);
        if (!all && (w->defer_usec == UINT64_MAX || p->ts_usec + w->defer_usec > w->now_usec))
            break;
        off += (sizeof *p + p->len1 + p->len2 + 7) & ~(size_t)7;
        if (p->is_rec) {
            struct mail_session_rec *r = &w->rec;
            memset(r, 0, sizeof *r);
            r->ts_usec = p->ts_usec;
            memcpy(r->proto, p->proto, sizeof r->proto);
            memcpy(r->capabilities, p->text, p->len1);
            r->capabilities[p->len1] = 0;
            r->caps_seen = true;
            judge_stripped(w, &p->fl, r);
        } else {
            struct finding *fd = &w->fd;
            fd->kind = (enum finding_kind)p->kind;
            fd->severity = (enum nz_severity)p->severity;
            fd->ts_usec = p->ts_usec;
            memcpy(fd->summary, p->text, p->len1);
            fd->summary[p->len1] = 0;
            memcpy(fd->evidence, p->text + p->len1, p->len2);
            fd->evidence[p->len2] = 0;
            judge_refusal(w, &p->fl, fd);
            write_finding(w, &p->fl, fd);
        }
    }
    if (off >= w->pend_len || w->db_err) {
        w->pend_len = 0;
    } else if (off) {
        memmove(w->pend, w->pend + off, w->pend_len - off);
        w->pend_len -= off;
    }
}

void wstate_tick(struct wstate *w)
{
    if (w->pend_len && w->defer_usec != UINT64_MAX)
        judge_pending(w, false);
}

static void on_finding(struct wstate *w, const struct msg_finding *m, size_t len)
{
    struct finding *fd = &w->fd;
    size_t sl = m->summary_len, el = m->evidence_len;
    if (sizeof *m + sl + el > len || sl >= sizeof fd->summary || el >= sizeof fd->evidence)
        return; /* cannot happen: the worker built it */
    fd->kind = (enum finding_kind)m->kind;
    fd->severity = (enum nz_severity)m->severity;
    fd->ts_usec = m->ts_usec;
    memcpy(fd->summary, m->text, sl);
    fd->summary[sl] = 0;
    memcpy(fd->evidence, m->text + sl, el);
    fd->evidence[el] = 0;
    const struct wflow *e = m->fkey ? map_find(w, m->fkey) : NULL;
    if (e && mail_refusal_proto(fd->kind) && w->defer && defer_rule(w, e, fd, NULL))
        return;
    judge_refusal(w, e, fd);
    write_finding(w, e, fd);
}

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[b[i] >> 4];
        out[2 * i + 1] = hx[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static void seen_flush(struct wstate *w, bool clear)
{
    if (!w->seen)
        return;
    for (size_t i = 0; i < SEEN_SLOTS && !w->db_err; i++) {
        struct seen *e = &w->seen[i];
        if (!e->max_usec || !e->dirty)
            continue;
        char hex[65];
        hex_of(e->sha, 32, hex);
        db_fail(w, store_cert_seen(w->st, w->run_id, hex, e->min_usec, e->max_usec), "a certificate's sight");
        e->dirty = false;
    }
    if (clear) {
        memset(w->seen, 0, SEEN_SLOTS * sizeof *w->seen);
        w->n_seen = 0;
    }
}

/* Notes that the certificate was seen at ts (written at the next commit). stored_at_ts: its
 * row was just written with ts as first and last seen. Packet times do not arrive in order
 * (several files, several workers): both ends are widened. */
static void seen_note(struct wstate *w, const uint8_t sha[32], uint64_t ts, bool stored_at_ts)
{
    if (!w->seen && !(w->seen = calloc(SEEN_SLOTS, sizeof *w->seen)))
        return;
    if (w->n_seen >= SEEN_SLOTS / 2)
        seen_flush(w, true);
    uint32_t h;
    memcpy(&h, sha, sizeof h);
    for (size_t i = h & (SEEN_SLOTS - 1);; i = (i + 1) & (SEEN_SLOTS - 1)) {
        struct seen *e = &w->seen[i];
        if (!e->max_usec) {
            memcpy(e->sha, sha, 32);
            e->min_usec = e->max_usec = ts ? ts : 1;
            e->dirty = !stored_at_ts;
            w->n_seen++;
            return;
        }
        if (memcmp(e->sha, sha, 32) == 0) {
            if (ts > e->max_usec) {
                e->max_usec = ts;
                e->dirty = true;
            }
            if (ts && ts < e->min_usec) {
                e->min_usec = ts;
                e->dirty = true;
            }
            return;
        }
    }
}

/* A certificate a worker saw first: every fact of it into `certificates`. */
static void on_cert(struct wstate *w, const struct msg_cert *m, size_t len)
{
    if (w->db_err || len < sizeof *m || m->der_len > len - sizeof *m)
        return;
    struct bytes der = {m->der, m->der_len};
    struct x509_facts f;
    int rc = x509_facts(der, &f);
    char sha[65], spki[65], nb[32], na[32], key[16];
    hex_of(m->sha256, 32, sha);
    struct store_cert c;
    memset(&c, 0, sizeof c);
    c.sha256 = sha;
    c.der = m->der;
    c.der_len = m->der_len;
    c.seen_usec = m->ts_usec;
    c.is_ca = c.path_len = -1;
    if (rc == 0 || rc == NZ_EMALFORMED) {
        const struct cert_info *ci = &f.info;
        c.parsed = rc == 0;
        if (f.spki_sha256_hex[0]) {
            snprintf(spki, sizeof spki, "%s", f.spki_sha256_hex);
            c.spki_sha256 = spki;
        }
        if (c.parsed) {
            c.subject = f.subject_dn;
            c.issuer = f.issuer_dn;
            c.subject_cn = ci->subject_cn;
            c.issuer_cn = ci->issuer_cn;
            c.serial = f.serial_hex;
            c.san_dns = f.san_dns;
            c.san_ip = f.san_ip;
            c.n_san_dns = f.n_san_dns;
            if (ci->dates_valid) {
                c.not_before = x509_iso_time(ci->not_before, nb, sizeof nb);
                c.not_after = x509_iso_time(ci->not_after, na, sizeof na);
            }
            snprintf(key, sizeof key, "%s", x509_key_type_name(ci->key_type));
            c.key_type = key;
            c.key_bits = ci->key_bits;
            c.key_curve = f.key_curve;
            c.sig_alg = ci->sig_alg;
            c.is_ca = f.is_ca;
            c.path_len = f.path_len;
            c.key_usage = f.key_usage;
            c.ext_key_usage = f.ext_key_usage;
            c.self_issued = ci->self_issued;
            c.version = ci->version;
        }
        c.parsed_by = f.parsed_by;
        c.parse_error = f.parse_error;
    }
    w->dirty = true;
    db_fail(w, store_cert_put(w->st, w->run_id, &c), "a certificate");
    x509_facts_free(&f);
    seen_note(w, m->sha256, m->ts_usec, true);
}

/* The chain of a TLS session: stored once; each certificate's last sight noted. */
static void on_chain(struct wstate *w, const struct tls_session_rec *r)
{
    uint64_t ts = r->ts_server_usec ? r->ts_server_usec : r->ts_usec;
    for (unsigned i = 0; i < r->chain_n; i++)
        seen_note(w, r->chain_sha256[i], ts, false);
    if (!w->chains && !(w->chains = calloc(CHAINS_SLOTS, sizeof *w->chains)))
        return;
    uint32_t h;
    memcpy(&h, r->chain_hash, sizeof h);
    uint8_t *slot = w->chains[h & (CHAINS_SLOTS - 1)];
    if (memcmp(slot, r->chain_hash, 8) == 0)
        return;
    memcpy(slot, r->chain_hash, 8);
    char chain[65], certs[TRUST_CHAIN_MAX][65];
    const char *ptr[TRUST_CHAIN_MAX];
    hex_of(r->chain_hash, 32, chain);
    for (unsigned i = 0; i < r->chain_n; i++) {
        hex_of(r->chain_sha256[i], 32, certs[i]);
        ptr[i] = certs[i];
    }
    db_fail(w, store_chain_put(w->st, chain, ptr, r->chain_n), "a certificate chain");
}

static void on_record(struct wstate *w, int type, const struct ring_msg *m)
{
    const struct msg_rec *r = (const void *)m->data;
    const struct wflow *e = map_find(w, r->fkey);
    const void *rec = m->data + sizeof *r;
    int64_t fid = e ? e->db_id : 0;
    if (w->db_err)
        return;
    w->dirty = true;
    switch (type) {
    case MSG_TLS: {
        const struct tls_session_rec *tr = rec;
        db_fail(w, records_tls_add(w->st, w->run_id, fid, tr), "a TLS session");
        if (tr->chain_n && !w->db_err)
            on_chain(w, tr);
        /* The mail session that started this TLS was written at the switch: its level is
         * this session's. */
        if (fid && !w->db_err && (strstr(tr->started_by, "-starttls") || strcmp(tr->started_by, "pop3-stls") == 0))
            db_fail(w, store_mail_level_set(w->st, w->run_id, fid, tls_level_name(tr->level)), "a mail level");
        break;
    }
    case MSG_HTTP:
        db_fail(w, records_http_add(w->st, w->run_id, fid, rec), "an HTTP request");
        break;
    case MSG_MAIL: {
        const struct mail_session_rec *mr = rec;
        if (e && mail_rule_stripped_needs_history(mr) && !(w->defer && defer_rule(w, e, NULL, mr)))
            judge_stripped(w, e, mr);
        struct store_endpoints ep = {0};
        if (e)
            ep = (struct store_endpoints){e->client_ip, e->server_ip, e->client_port, e->server_port};
        if (!w->db_err)
            db_fail(w, records_mail_add(w->st, w->run_id, fid, e ? &ep : NULL, mr), "a mail session");
        break;
    }
    default:
        break;
    }
}

static void on_run(struct wstate *w, const struct ring_msg *m)
{
    const struct msg_run *r = (const void *)m->data;
    if (w->db_err)
        return;
    struct store_run_stats st = r->st;
    st.counters_json = r->json_len ? r->json : NULL;
    if (store_run_update(w->st, w->run_id, &st) != 0 || store_commit(w->st) != 0)
        db_fail(w, NZ_EDB, "the run's statistics");
    w->dirty = false;
}

/* ---- public ---- */

struct wstate *wstate_new(struct store *st, int64_t run_id, const struct nz_log *log, uint64_t defer_usec)
{
    struct wstate *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->defer = defer_usec != 0;
    w->defer_usec = defer_usec;
    w->st = st;
    w->run_id = run_id;
    w->log = log;
    return w;
}

void wstate_handle(struct wstate *w, const struct ring_msg *m)
{
    switch (m->type) {
    case MSG_FLOW:
        on_flow(w, (const void *)m->data);
        break;
    case MSG_FINDING:
        on_finding(w, (const void *)m->data, m->len);
        break;
    case MSG_TLS:
    case MSG_HTTP:
    case MSG_MAIL:
        on_record(w, m->type, m);
        break;
    case MSG_RUN:
        on_run(w, m);
        break;
    case MSG_CERT:
        on_cert(w, (const void *)m->data, m->len);
        break;
    default:
        break;
    }
}

void wstate_commit(struct wstate *w)
{
    if (!w->dirty || w->db_err)
        return;
    seen_flush(w, false);
    db_fail(w, store_commit(w->st), "a batch");
    w->dirty = false;
}

/* http.no_https_redirect (rules/https_redirect.c): one finding per host, from the stored
 * records (needs the TLS sessions' SNIs, which may come from other flows, files or runs). */
static int no_https_row(void *ud, const struct store_no_https_row *row)
{
    struct wstate *w = ud;
    struct https_redirect_facts h = {row->host, row->ts_usec, row->ts, row->tls_ts};
    struct finding fd;
    if (!https_redirect_rule(&h, &fd))
        return 0;
    struct store_endpoints ep = {row->client_ip, row->server_ip, row->client_port, row->server_port};
    atomic_fetch_add_explicit(&w->findings, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->by_sev[fd.severity], 1, memory_order_relaxed);
    db_fail(w, store_finding_add(w->st, w->run_id, row->flow_id, &fd, &ep), "a finding");
    return w->db_err ? 1 : 0;
}

/* tls.drown_exposed (rules/drown.c): keys shared between an SSLv2 session and a TLS server,
 * across runs (store_drown_rows); judged when the run's rows are all in. */
static int drown_row(void *ud, const struct store_drown_row *row)
{
    struct wstate *w = ud;
    char tls_srv[80], v2_srv[80];
    snprintf(tls_srv, sizeof tls_srv, "%s:%u", row->server_ip ? row->server_ip : "?", (unsigned)row->server_port);
    snprintf(v2_srv, sizeof v2_srv, "%s:%u", row->sslv2_server_ip ? row->sslv2_server_ip : "?",
             (unsigned)row->sslv2_server_port);
    uint64_t usec = 0;
    if (row->ts)
        store_ts_parse(row->ts, &usec);
    struct drown_facts d = {row->spki_sha256, tls_srv, row->version, row->ts, row->tls_id, usec,
                            v2_srv, row->sslv2_ts, row->sslv2_id, row->sslv2_run_id};
    struct finding fd;
    if (!drown_rule(&d, &fd))
        return 0;
    struct store_endpoints ep = {row->client_ip, row->server_ip, row->client_port, row->server_port};
    atomic_fetch_add_explicit(&w->findings, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->by_sev[fd.severity], 1, memory_order_relaxed);
    db_fail(w, store_finding_add(w->st, w->run_id, row->flow_id, &fd, &ep), "a finding");
    return w->db_err ? 1 : 0;
}

int wstate_finish(struct wstate *w)
{
    seen_flush(w, false);
    /* the deferred history rules: every session of the run is in the database now */
    judge_pending(w, true);
    if (w->pend_over)
        nz_logf(w->log, NZ_LOG_WARN,
                "%llu mail history verdict(s) were judged as they came, not at the end of the run (more than %u MiB "
                "waited): they may depend on the order flows ended in", (unsigned long long)w->pend_over,
                PENDING_BYTES_MAX >> 20);
    if (!w->db_err) {
        int rc = store_no_https_redirect_rows(w->st, w->run_id, no_https_row, w);
        if (rc && !w->db_err)
            db_fail(w, NZ_EDB, "the no_https_redirect rule");
    }
    if (!w->db_err) {
        int rc = store_drown_rows(w->st, w->run_id, drown_row, w);
        if (rc && !w->db_err)
            db_fail(w, NZ_EDB, "the DROWN rule");
    }
    if (!w->db_err)
        db_fail(w, store_commit(w->st), "the final batch");
    w->dirty = false;
    return w->db_err;
}

int wstate_error(const struct wstate *w) { return w->db_err; }

uint64_t wstate_findings(const struct wstate *w, uint64_t by_sev[NZ_SEV_COUNT])
{
    if (by_sev)
        for (int s = 0; s < NZ_SEV_COUNT; s++)
            by_sev[s] = atomic_load_explicit(&w->by_sev[s], memory_order_relaxed);
    return atomic_load_explicit(&w->findings, memory_order_relaxed);
}

size_t wstate_open_flows(const struct wstate *w) { return w->n; }

void wstate_free(struct wstate *w)
{
    if (!w)
        return;
    free(w->map);
    free(w->pend);
    free(w->seen);
    free(w->chains);
    free(w);
}
