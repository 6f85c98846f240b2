/* check_tls.c — Check suite for the TLS dissector (dissect/tls.c), the fingerprints
 * (dissect/fingerprint.c) and the TLS verdict rules (dissect/tls_rules.c).
 *
 * Inputs are real handshakes extracted from pcaps/tls/ (hex strings below, each naming its
 * capture and frames; reference values from tshark 4.0 ja3/ja3s fields and the captures'
 * pcaps/expected/tls/<name>.tshark.tsv) and synthetic messages built by the small builder in this
 * file for message types, hostile lengths and every verdict with its near miss. Every input
 * is fed through the product's stream driver (engine/driver.c: unconsumed tails, DIS_ERR
 * detaching with a dissect.malformed finding) with a wrapper that places each call's bytes right
 * before a PROT_NONE page (tu_guard), and runs whole / one byte per call / split at every
 * offset; the three must give the same canonical dump of the session record and findings. */
#include <check.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissect/ciphers.h"
#include "dissect/fingerprint.h"
#include "dissect/tls.h"
#include "engine/driver.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------------------------------ */
/* Growable text buffer for the canonical dump                                            */

struct sb {
    char *s;
    size_t n, cap;
};

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->n;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, room, fmt, ap);
        va_end(ap);
        ck_assert_int_ge(k, 0);
        if ((size_t)k < room) {
            b->n += (size_t)k;
            return;
        }
        size_t ncap = b->cap ? b->cap * 2 : 4096;
        while (ncap - b->n <= (size_t)k)
            ncap *= 2;
        b->s = realloc(b->s, ncap);
        ck_assert_ptr_nonnull(b->s);
        b->cap = ncap;
    }
}

/* ------------------------------------------------------------------------------------ */
/* Conversations: flights of bytes per direction, in packet order                         */

struct flight {
    int dir;      /* 0 client→server, 1 server→client */
    uint8_t *p;   /* owned */
    size_t len;
};

#define CONV_MAX 48
struct conv {
    struct flight f[CONV_MAX];
    size_t n;
    uint64_t ts_base; /* µs added to every flight's packet time (0: flights at 1 s, 2 s, ...);
                         real certificates need their capture's time to be judged */
};

static void conv_add(struct conv *c, int dir, const void *p, size_t len)
{
    ck_assert_uint_lt(c->n, CONV_MAX);
    struct flight *f = &c->f[c->n++];
    f->dir = dir;
    f->p = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(f->p);
    if (len)
        memcpy(f->p, p, len);
    f->len = len;
}

static void conv_free(struct conv *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->f[i].p);
    c->n = 0;
}

static size_t conv_total(const struct conv *c)
{
    size_t t = 0;
    for (size_t i = 0; i < c->n; i++)
        t += c->f[i].len;
    return t;
}

/* A capture's TCP payload as hex pieces (each < 4095 chars for ISO C string limits). */
struct hexflight {
    int dir;
    int frame;             /* frame number in the capture */
    const char *hex[6];    /* NULL-terminated pieces */
};

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static void conv_from_hex(struct conv *c, const struct hexflight *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        for (int k = 0; v[i].hex[k]; k++)
            len += strlen(v[i].hex[k]) / 2;
        uint8_t *buf = malloc(len ? len : 1), *w = buf;
        ck_assert_ptr_nonnull(buf);
        for (int k = 0; v[i].hex[k]; k++) {
            const char *h = v[i].hex[k];
            for (size_t j = 0; h[j] && h[j + 1]; j += 2) {
                int hi = hexval(h[j]), lo = hexval(h[j + 1]);
                ck_assert(hi >= 0 && lo >= 0);
                *w++ = (uint8_t)(hi << 4 | lo);
            }
        }
        conv_add(c, v[i].dir, buf, (size_t)(w - buf));
        free(buf);
    }
}

#define CONV_HEX(c, v) conv_from_hex((c), (v), sizeof(v) / sizeof((v)[0]))

/* ------------------------------------------------------------------------------------ */
/* The sink and the stream driver                                                        */

#define OUT_FINDINGS_MAX 24
struct out {
    struct sb dump;                 /* canonical text of records + findings */
    int n_rec, n_find, n_label;
    struct tls_session_rec rec;     /* the last record */
    struct finding fnd[OUT_FINDINGS_MAX];
    size_t nf;
    enum dis_status status;         /* last non-OK status (DIS_OK if none) */
    const char *err;                /* ctx->err_reason at DIS_ERR */
    bool want_cleared;              /* both ctx->want[] false at the end */
    size_t calls;                   /* on_data calls */
    enum dis_status gap_status;     /* what the last on_gap returned */
};

static void dump_u16_list(struct sb *b, const char *name, const uint16_t *v, size_t n)
{
    sb_printf(b, " %s=[", name);
    for (size_t i = 0; i < n; i++)
        sb_printf(b, "%s%04x", i ? "," : "", (unsigned)v[i]);
    sb_printf(b, "]");
}

static void dump_rec(struct sb *b, const struct tls_session_rec *r)
{
    sb_printf(b, "REC ts=%llu tss=%llu flow=%llu by=%s complete=%d ch=%d sh=%d v2ch=%d hrr=%d "
                 "partial=%d chbad=%d\n",
              (unsigned long long)r->ts_usec, (unsigned long long)r->ts_server_usec,
              (unsigned long long)r->flow_id, r->started_by, r->handshake_complete,
              r->client_hello_seen, r->server_hello_seen, r->sslv2_client_hello, r->hrr,
              r->fp_partial, r->ch_malformed);
    sb_printf(b, " server: ver=%04x(%s) legacy=%04x cipher=%d:%lx(%s) comp=%d:%u alpn=%s "
                 "group=%04x(%s) dhe=%u rsaexp=%u resumed=%d sentinel=%u sid=%d ri=%d hb=%d "
                 "tkt=%d nst=%d ems=%d etm=%d psk=%d ks=%d exts=%s certs=%u sizes=%s ccerts=%u\n",
              r->version_code, r->version, r->server_legacy_version, r->cipher_set,
              (unsigned long)r->cipher_code, r->cipher, r->compression_set, r->compression,
              r->alpn_chosen, r->group, r->group_name, r->dhe_bits, r->rsa_export_bits,
              r->resumed, r->sentinel, r->server_session_id, r->server_ri, r->server_heartbeat,
              r->server_ticket_ext, r->new_session_ticket, r->server_ems, r->server_etm,
              r->server_psk, r->server_key_share, r->server_exts, r->cert_count, r->cert_sizes,
              r->client_cert_count);
    sb_printf(b, " client: legacy=%04x max=%04x versions=%s", r->client_version,
              r->client_max_version, r->client_versions);
    dump_u16_list(b, "vo", r->versions_offered, r->n_versions_offered);
    sb_printf(b, " ciphers=[");
    for (size_t i = 0; i < r->n_ciphers_offered; i++)
        sb_printf(b, "%s%lx", i ? "," : "", (unsigned long)r->ciphers_offered[i]);
    sb_printf(b, "] comp=[");
    for (size_t i = 0; i < r->n_comp_offered; i++)
        sb_printf(b, "%s%u", i ? "," : "", r->comp_offered[i]);
    sb_printf(b, "] sni=%s alpn=%s groups=%s ks=%s exts=%s fb=%d rscsv=%d ri=%d hb=%d ech=%d sid=%d"
                 " tkt=%d:%d psk=%d modes=%u ems=%d etm=%d status=%d\n",
              r->sni, r->alpn_offered, r->groups_offered, r->key_share_groups, r->client_exts,
              r->fallback_scsv, r->reneg_scsv, r->client_ri, r->client_heartbeat, r->client_ech,
              r->client_session_id, r->client_ticket, r->client_ticket_data, r->client_psk,
              r->psk_modes, r->client_ems, r->client_etm, r->client_status_request);
    sb_printf(b, " fp: ja3=%s ja3s=%s ja4=%s\n  ja3_str=%s\n  ja3s_str=%s\n  ja4_r=%s\n", r->ja3,
              r->ja3s, r->ja4, r->ja3_str, r->ja3s_str, r->ja4_r);
    sb_printf(b, " alerts(%zu/%u)=%s:", r->n_alerts, r->alerts_total, r->alerts_text);
    for (size_t i = 0; i < r->n_alerts; i++)
        sb_printf(b, " [%llu %d %u %u]", (unsigned long long)r->alerts[i].ts_usec,
                  r->alerts[i].from_server, r->alerts[i].level, r->alerts[i].desc);
    const struct cert_info *c = &r->leaf;
    sb_printf(b, "\n leaf: parsed=%d last_self=%d cn=%s issuer=%s self=%d/%d/%d dates=%d:%lld-%lld "
                 "key=%u/%u sig=%s sans=%u:%s:%d fp=%s",
              r->leaf_parsed, r->chain_last_self_issued, c->subject_cn, c->issuer_cn,
              c->self_issued, c->self_sig_checked, c->self_sig_ok, c->dates_valid,
              (long long)c->not_before, (long long)c->not_after, c->key_type, c->key_bits,
              c->sig_alg, c->n_san_dns, c->san_dns, c->san_truncated, c->sha256_hex);
    sb_printf(b, "\n acct: hs=%llx/%llx oversize=%u malformed=%u unexpected=%u\n",
              (unsigned long long)r->hs_types[0], (unsigned long long)r->hs_types[1],
              r->hs_oversize, r->hs_malformed, r->hs_unexpected);
}

static void on_finding(void *ud, const struct finding *f)
{
    struct out *o = ud;
    o->n_find++;
    if (o->nf < OUT_FINDINGS_MAX)
        o->fnd[o->nf++] = *f;
    sb_printf(&o->dump, "FINDING %s %s ts=%llu | %s | %s\n", finding_kind_info(f->kind)->name,
              nz_severity_name(f->severity), (unsigned long long)f->ts_usec, f->summary,
              f->evidence);
}

static void on_session(void *ud, const struct tls_session_rec *r)
{
    struct out *o = ud;
    o->n_rec++;
    o->rec = *r;
    dump_rec(&o->dump, r);
}

static void on_label(void *ud, const char *proto)
{
    struct out *o = ud;
    ck_assert_str_eq(proto, "TLS");
    o->n_label++;
}

enum feed { FEED_WHOLE, FEED_BYTE, FEED_SPLIT };

/* The harness runs the product's stream driver (engine/driver.c) with test dissectors:
 * guarded_tls wraps tls_dissector so each call's input sits right before a PROT_NONE page
 * (tu_guard) and records what the driver does not expose (every status, err_reason, the call
 * count, ctx->want after the last call); starter, for a run with a started_by, hands the
 * stream to "tls" by DIS_SWITCH like SMTP STARTTLS does. Both reach the test's struct out
 * through the sink's ud. */
struct guarded {
    void *st;
};

static void *guarded_new(const struct dis_cfg *cfg)
{
    struct guarded *g = calloc(1, sizeof *g);
    ck_assert_ptr_nonnull(g);
    g->st = tls_dissector.state_new(cfg);
    ck_assert_ptr_nonnull(g->st);
    return g;
}

static void guarded_free(void *vg)
{
    struct guarded *g = vg;
    if (!g)
        return;
    tls_dissector.state_free(g->st);
    free(g);
}

static enum dis_status guarded_data(void *vg, int dir, struct bytes in, size_t *consumed, struct dis_ctx *ctx)
{
    struct guarded *g = vg;
    struct out *o = ctx->sink->ud;
    uint8_t *p = tu_guard(in.p, in.len);
    size_t used = 0;
    enum dis_status s = tls_dissector.on_data(g->st, dir, (struct bytes){p, in.len}, &used, ctx);
    o->calls++;
    tu_guard_free(p, in.len);
    ck_assert_uint_le(used, in.len);
    ck_assert_msg(s != DIS_SWITCH, "tls never switches");
    if (s == DIS_DONE || s == DIS_ERR) {
        o->status = s;
        o->err = ctx->err_reason;
    }
    o->want_cleared = !ctx->want[0] && !ctx->want[1];
    *consumed = used;
    return s;
}

static enum dis_status guarded_gap(void *vg, int dir, uint64_t len, struct dis_ctx *ctx)
{
    struct guarded *g = vg;
    struct out *o = ctx->sink->ud;
    enum dis_status s = tls_dissector.on_gap(g->st, dir, len, ctx);
    o->gap_status = s;
    if (s == DIS_DONE || s == DIS_ERR) {
        o->status = s;
        o->err = ctx->err_reason;
    }
    o->want_cleared = !ctx->want[0] && !ctx->want[1];
    return s;
}

static void guarded_close(void *vg, struct dis_ctx *ctx)
{
    struct guarded *g = vg;
    tls_dissector.on_close(g->st, ctx);
}

static size_t guarded_mem(const void *vg)
{
    const struct guarded *g = vg;
    return tls_dissector.mem(g->st);
}

static const struct dissector guarded_tls = {.name = "tls", .state_new = guarded_new, .state_free = guarded_free,
                                             .on_data = guarded_data, .on_gap = guarded_gap,
                                             .on_close = guarded_close, .mem = guarded_mem};

static const struct dissector *find_guarded(const char *name)
{
    return strcmp(name, "tls") == 0 ? &guarded_tls : NULL;
}

/* A protocol that upgrades to TLS on its first byte, as "started_by" (one run at a time). */
static const char *starter_by;

static void *starter_new(const struct dis_cfg *cfg)
{
    (void)cfg;
    return calloc(1, 1);
}

static enum dis_status starter_data(void *st, int dir, struct bytes in, size_t *consumed, struct dis_ctx *ctx)
{
    (void)st, (void)dir, (void)in;
    *consumed = 0;
    ctx->switch_to = "tls";
    ctx->started_by = starter_by;
    return DIS_SWITCH;
}

static void starter_close(void *st, struct dis_ctx *ctx) { (void)st, (void)ctx; }

static size_t starter_mem(const void *st)
{
    (void)st;
    return 0;
}

static const struct dissector starter = {.name = "starter", .state_new = starter_new, .state_free = free,
                                         .on_data = starter_data, .on_close = starter_close,
                                         .mem = starter_mem};

/* A zero-length delivery must be harmless: the driver makes no call and nothing changes. */
static void deliver_empty(struct drv *d, int dir, uint64_t ts, struct out *o)
{
    size_t calls = o->calls, dumped = o->dump.n, mem = drv_mem(d);
    enum drv_state ds = drv_state(d);
    drv_data(d, dir, (const uint8_t *)"", 0, ts);
    ck_assert_uint_eq(o->calls, calls);
    ck_assert_uint_eq(o->dump.n, dumped);
    ck_assert_uint_eq(drv_mem(d), mem);
    ck_assert_int_eq(drv_state(d), ds);
}

static struct out *run_full(const struct conv *cv, enum feed mode, size_t k, int policy,
                            const char *started_by)
{
    struct out *o = calloc(1, sizeof *o);
    ck_assert_ptr_nonnull(o);
    struct dis_sink sink = {o, on_finding, on_session, NULL, NULL, on_label, NULL};
    struct drv_host host = {.sink = &sink, .policy = policy, .find = find_guarded};
    struct drv drv;
    drv_init(&drv, &host, "192.0.2.1", "192.0.2.2", 50000, 443, 7);
    starter_by = started_by;
    ck_assert(drv_attach(&drv, started_by ? &starter : &guarded_tls, 0));
    size_t pos = 0;
    uint64_t ts = 0;
    o->status = DIS_OK;
    for (size_t i = 0; i < cv->n; i++) {
        const struct flight *f = &cv->f[i];
        ts = cv->ts_base + 1000000ull * (i + 1);
        size_t cuts[3], nc = 0;
        if (mode == FEED_SPLIT && k > pos && k < pos + f->len)
            cuts[nc++] = k - pos;
        cuts[nc++] = f->len;
        size_t at = 0;
        for (size_t c = 0; c < nc; c++) {
            while (at < cuts[c]) {
                size_t n = mode == FEED_BYTE ? 1 : cuts[c] - at;
                drv_data(&drv, f->dir, f->p + at, n, ts);
                at += n;
            }
        }
        deliver_empty(&drv, f->dir, ts, o);
        pos += f->len;
        if (!drv_claimed(&drv) || drv_state(&drv) == DRV_FINISHED)
            break; /* done or detached: the driver takes no more bytes */
    }
    drv_close(&drv, ts);
    drv_fini(&drv);
    /* the driver's caps never cut a handshake short: only the dissector's own DIS_ERR */
    ck_assert_uint_eq(host.stats.overflow + host.stats.mem_cap, 0);
    ck_assert_uint_eq(host.stats.errors, o->status == DIS_ERR);
    ck_assert_int_le(o->n_rec, 1);
    return o;
}

static struct out *run(const struct conv *cv) { return run_full(cv, FEED_WHOLE, 0, 0, NULL); }
static struct out *run_policy(const struct conv *cv, int policy)
{
    return run_full(cv, FEED_WHOLE, 0, policy, NULL);
}

static void out_free(struct out *o)
{
    if (o) {
        free(o->dump.s);
        free(o);
    }
}

static const struct finding *find(const struct out *o, enum finding_kind k)
{
    for (size_t i = 0; i < o->nf; i++)
        if (o->fnd[i].kind == k)
            return &o->fnd[i];
    return NULL;
}

static int count_kind(const struct out *o, enum finding_kind k)
{
    int n = 0;
    for (size_t i = 0; i < o->nf; i++)
        n += o->fnd[i].kind == k;
    return n;
}

/* Whole vs one byte per call vs every split offset: identical dumps. */
static void check_split_invariance(const struct conv *cv, bool every_offset)
{
    struct out *whole = run(cv);
    ck_assert_int_eq(whole->n_rec, 1);
    struct out *bytes = run_full(cv, FEED_BYTE, 0, 0, NULL);
    ck_assert_str_eq(bytes->dump.s, whole->dump.s);
    ck_assert_int_eq(bytes->status, whole->status);
    out_free(bytes);
    if (every_offset) {
        size_t total = conv_total(cv);
        for (size_t k = 1; k < total; k++) {
            struct out *o = run_full(cv, FEED_SPLIT, k, 0, NULL);
            if (strcmp(o->dump.s, whole->dump.s) != 0)
                ck_abort_msg("split at offset %zu differs:\n%s\n--- vs whole ---\n%s", k,
                             o->dump.s, whole->dump.s);
            ck_assert_int_eq(o->status, whole->status);
            out_free(o);
        }
    }
    out_free(whole);
}

/* ------------------------------------------------------------------------------------ */
/* Message builder for synthetic vectors                                                  */

struct b {
    uint8_t *p;
    size_t n, cap;
};

static void b_mem(struct b *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        ck_assert_ptr_nonnull(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}
static void b_u8(struct b *b, unsigned v)
{
    uint8_t x = (uint8_t)v;
    b_mem(b, &x, 1);
}
static void b_u16(struct b *b, unsigned v)
{
    b_u8(b, v >> 8);
    b_u8(b, v);
}
static void b_u24(struct b *b, unsigned long v)
{
    b_u8(b, (unsigned)(v >> 16));
    b_u16(b, (unsigned)(v & 0xffff));
}
static void b_fill(struct b *b, uint8_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b_u8(b, v);
}
static size_t b_open(struct b *b, int w)
{
    size_t at = b->n;
    b_fill(b, 0, (size_t)w);
    return at;
}
static void b_close(struct b *b, size_t at, int w)
{
    size_t len = b->n - at - (size_t)w;
    for (int i = w - 1; i >= 0; i--) {
        b->p[at + (size_t)i] = (uint8_t)(len & 0xff);
        len >>= 8;
    }
}
static void b_free(struct b *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

#define ARR(T, ...) ((const T[]){__VA_ARGS__})
#define NARR(T, ...) (sizeof((const T[]){__VA_ARGS__}) / sizeof(T))
#define LIST(field, T, ...) .field = ARR(T, __VA_ARGS__), .n##field = NARR(T, __VA_ARGS__)

struct ch_spec {
    uint16_t legacy;                    /* default 0x0303 */
    const uint16_t *ciphers;
    size_t nciphers;
    bool empty_ciphers;
    const uint8_t *comp;                /* default {0} */
    size_t ncomp;
    bool empty_comp;
    size_t sid_len;
    const char *sni;
    const char *const *alpn;
    size_t nalpn;
    const uint16_t *versions;           /* supported_versions if nversions > 0 */
    size_t nversions;
    const uint16_t *groups;
    size_t ngroups;
    const uint16_t *sigalgs;
    size_t nsigalgs;
    const uint16_t *shares;             /* key_share entries */
    size_t nshares;
    bool pointfmt, ri, ems, etm, ticket, ticket_data, heartbeat, psk, ech, status;
    uint8_t psk_modes;                  /* bit0 psk_ke, bit1 psk_dhe_ke */
    bool grease;                        /* GREASE in every list */
    bool no_exts;                       /* omit the extensions block entirely */
    const uint8_t *raw_ext;             /* appended verbatim inside the extensions block */
    size_t nraw_ext;
};

static void ext_begin(struct b *b, unsigned type, size_t *at)
{
    b_u16(b, type);
    *at = b_open(b, 2);
}

/* Appends a ClientHello handshake message. */
static void msg_ch(struct b *b, const struct ch_spec *s)
{
    b_u8(b, 1);
    size_t hs = b_open(b, 3);
    b_u16(b, s->legacy ? s->legacy : 0x0303);
    b_fill(b, 0x5a, 32);
    b_u8(b, (unsigned)s->sid_len);
    b_fill(b, 0x33, s->sid_len);
    size_t at = b_open(b, 2);
    if (s->grease)
        b_u16(b, 0x2a2a);
    if (!s->empty_ciphers && s->nciphers == 0) {
        b_u16(b, 0xc02f);
        b_u16(b, 0x1301);
    }
    for (size_t i = 0; i < s->nciphers; i++)
        b_u16(b, s->ciphers[i]);
    b_close(b, at, 2);
    at = b_open(b, 1);
    if (s->ncomp)
        b_mem(b, s->comp, s->ncomp);
    else if (!s->empty_comp)
        b_u8(b, 0);
    b_close(b, at, 1);
    if (!s->no_exts) {
        size_t exts = b_open(b, 2), e, l;
        if (s->grease) {
            ext_begin(b, 0x0a0a, &e);
            b_close(b, e, 2);
        }
        if (s->sni) {
            ext_begin(b, 0, &e);
            l = b_open(b, 2);
            b_u8(b, 0);
            size_t n = b_open(b, 2);
            b_mem(b, s->sni, strlen(s->sni));
            b_close(b, n, 2);
            b_close(b, l, 2);
            b_close(b, e, 2);
        }
        if (s->status) {
            ext_begin(b, 5, &e);
            b_u8(b, 1);
            b_u16(b, 0);
            b_u16(b, 0);
            b_close(b, e, 2);
        }
        if (s->ngroups || s->grease) {
            ext_begin(b, 10, &e);
            l = b_open(b, 2);
            if (s->grease)
                b_u16(b, 0x3a3a);
            for (size_t i = 0; i < s->ngroups; i++)
                b_u16(b, s->groups[i]);
            b_close(b, l, 2);
            b_close(b, e, 2);
        }
        if (s->pointfmt) {
            ext_begin(b, 11, &e);
            b_u8(b, 3);
            b_u8(b, 0);
            b_u8(b, 1);
            b_u8(b, 2);
            b_close(b, e, 2);
        }
        if (s->nsigalgs || s->grease) {
            ext_begin(b, 13, &e);
            l = b_open(b, 2);
            if (s->grease)
                b_u16(b, 0x4a4a);
            for (size_t i = 0; i < s->nsigalgs; i++)
                b_u16(b, s->sigalgs[i]);
            b_close(b, l, 2);
            b_close(b, e, 2);
        }
        if (s->heartbeat) {
            ext_begin(b, 15, &e);
            b_u8(b, 1);
            b_close(b, e, 2);
        }
        if (s->nalpn) {
            ext_begin(b, 16, &e);
            l = b_open(b, 2);
            for (size_t i = 0; i < s->nalpn; i++) {
                size_t n = b_open(b, 1);
                b_mem(b, s->alpn[i], strlen(s->alpn[i]));
                b_close(b, n, 1);
            }
            b_close(b, l, 2);
            b_close(b, e, 2);
        }
        if (s->etm) {
            ext_begin(b, 22, &e);
            b_close(b, e, 2);
        }
        if (s->ems) {
            ext_begin(b, 23, &e);
            b_close(b, e, 2);
        }
        if (s->ticket) {
            ext_begin(b, 35, &e);
            if (s->ticket_data)
                b_fill(b, 0x77, 48);
            b_close(b, e, 2);
        }
        if (s->nversions || s->grease) {
            ext_begin(b, 43, &e);
            l = b_open(b, 1);
            if (s->grease)
                b_u16(b, 0x5a5a);
            for (size_t i = 0; i < s->nversions; i++)
                b_u16(b, s->versions[i]);
            b_close(b, l, 1);
            b_close(b, e, 2);
        }
        if (s->psk_modes) {
            ext_begin(b, 45, &e);
            l = b_open(b, 1);
            if (s->psk_modes & 1)
                b_u8(b, 0);
            if (s->psk_modes & 2)
                b_u8(b, 1);
            b_close(b, l, 1);
            b_close(b, e, 2);
        }
        if (s->nshares || s->grease) {
            ext_begin(b, 51, &e);
            l = b_open(b, 2);
            if (s->grease) {
                b_u16(b, 0x6a6a);
                b_u16(b, 1);
                b_u8(b, 0);
            }
            for (size_t i = 0; i < s->nshares; i++) {
                b_u16(b, s->shares[i]);
                b_u16(b, 32);
                b_fill(b, 0x44, 32);
            }
            b_close(b, l, 2);
            b_close(b, e, 2);
        }
        if (s->ech) {
            ext_begin(b, 0xfe0d, &e);
            b_fill(b, 0x01, 20);
            b_close(b, e, 2);
        }
        if (s->ri) {
            ext_begin(b, 0xff01, &e);
            b_u8(b, 0);
            b_close(b, e, 2);
        }
        if (s->nraw_ext)
            b_mem(b, s->raw_ext, s->nraw_ext);
        if (s->psk) { /* pre_shared_key must be last (RFC 8446 §4.2.11) */
            ext_begin(b, 41, &e);
            l = b_open(b, 2);
            size_t id = b_open(b, 2);
            b_fill(b, 0x66, 16);
            b_close(b, id, 2);
            b_u8(b, 0);
            b_u8(b, 0);
            b_u8(b, 0);
            b_u8(b, 1);
            b_close(b, l, 2);
            l = b_open(b, 2);
            size_t bd = b_open(b, 1);
            b_fill(b, 0x99, 32);
            b_close(b, bd, 1);
            b_close(b, l, 2);
            b_close(b, e, 2);
        }
        b_close(b, exts, 2);
    }
    b_close(b, hs, 3);
}

struct sh_spec {
    uint16_t legacy;          /* default 0x0303 */
    uint16_t sv;              /* supported_versions selected_version; 0: no extension */
    uint16_t cipher;
    uint8_t comp;
    bool hrr;                 /* HelloRetryRequest random */
    int sentinel;             /* 1: DOWNGRD01, 2: DOWNGRD00 in the last 8 random bytes */
    size_t sid_len;           /* bytes of 0x33 (a client sid of the same length is echoed) */
    bool ri, heartbeat, ems, etm, ticket, psk, no_exts;
    uint16_t ks_group;        /* key_share (HRR: selected_group only) */
    const char *alpn;
};

static const uint8_t hrr_rand[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

static void msg_sh(struct b *b, const struct sh_spec *s)
{
    b_u8(b, 2);
    size_t hs = b_open(b, 3);
    b_u16(b, s->legacy ? s->legacy : 0x0303);
    if (s->hrr) {
        b_mem(b, hrr_rand, 32);
    } else {
        b_fill(b, 0xa5, 24);
        if (s->sentinel) {
            b_mem(b, "DOWNGRD", 7);
            b_u8(b, s->sentinel == 1 ? 1 : 0);
        } else {
            b_fill(b, 0xa5, 8);
        }
    }
    b_u8(b, (unsigned)s->sid_len);
    b_fill(b, 0x33, s->sid_len);
    b_u16(b, s->cipher);
    b_u8(b, s->comp);
    if (!s->no_exts) {
        size_t exts = b_open(b, 2), e, l;
        if (s->ri) {
            ext_begin(b, 0xff01, &e);
            b_u8(b, 0);
            b_close(b, e, 2);
        }
        if (s->heartbeat) {
            ext_begin(b, 15, &e);
            b_u8(b, 1);
            b_close(b, e, 2);
        }
        if (s->alpn) {
            ext_begin(b, 16, &e);
            l = b_open(b, 2);
            size_t n = b_open(b, 1);
            b_mem(b, s->alpn, strlen(s->alpn));
            b_close(b, n, 1);
            b_close(b, l, 2);
            b_close(b, e, 2);
        }
        if (s->etm) {
            ext_begin(b, 22, &e);
            b_close(b, e, 2);
        }
        if (s->ems) {
            ext_begin(b, 23, &e);
            b_close(b, e, 2);
        }
        if (s->ticket) {
            ext_begin(b, 35, &e);
            b_close(b, e, 2);
        }
        if (s->sv) {
            ext_begin(b, 43, &e);
            b_u16(b, s->sv);
            b_close(b, e, 2);
        }
        if (s->ks_group) {
            ext_begin(b, 51, &e);
            b_u16(b, s->ks_group);
            if (!s->hrr) {
                b_u16(b, 32);
                b_fill(b, 0x55, 32);
            }
            b_close(b, e, 2);
        }
        if (s->psk) {
            ext_begin(b, 41, &e);
            b_u16(b, 0);
            b_close(b, e, 2);
        }
        b_close(b, exts, 2);
    }
    b_close(b, hs, 3);
}

/* A handshake message with an opaque body. */
static void msg_raw(struct b *b, uint8_t type, const void *body, size_t n)
{
    b_u8(b, type);
    b_u24(b, n);
    b_mem(b, body, n);
}

/* Certificate (<= 1.2) with certificates of the given DER sizes (contents are filler). */
static void msg_cert(struct b *b, const size_t *sizes, size_t n)
{
    b_u8(b, 11);
    size_t hs = b_open(b, 3);
    size_t l = b_open(b, 3);
    for (size_t i = 0; i < n; i++) {
        b_u24(b, sizes[i]);
        b_fill(b, 0x30, sizes[i]);
    }
    b_close(b, l, 3);
    b_close(b, hs, 3);
}

/* ServerKeyExchange with DHE params: a prime of `bits` bits, g = 2, Ys, and a signature. */
static void msg_ske_dhe(struct b *b, unsigned bits)
{
    b_u8(b, 12);
    size_t hs = b_open(b, 3);
    size_t bytes = (bits + 7) / 8;
    b_u16(b, (unsigned)bytes);
    unsigned top = bits % 8 ? bits % 8 : 8;
    b_u8(b, 1u << (top - 1));
    b_fill(b, 0xff, bytes - 1);
    b_u16(b, 1);
    b_u8(b, 2);
    b_u16(b, (unsigned)bytes);
    b_fill(b, 0x42, bytes);
    b_u16(b, 0x0401);
    b_u16(b, 64);
    b_fill(b, 0x11, 64);
    b_close(b, hs, 3);
}

/* ServerKeyExchange with ECDHE named_curve params. */
static void msg_ske_ecdhe(struct b *b, uint16_t group)
{
    b_u8(b, 12);
    size_t hs = b_open(b, 3);
    b_u8(b, 3);
    b_u16(b, group);
    b_u8(b, 32);
    b_fill(b, 0x21, 32);
    b_u16(b, 0x0401);
    b_u16(b, 64);
    b_fill(b, 0x11, 64);
    b_close(b, hs, 3);
}

/* Wraps a payload into records of content type ct (fragments of at most frag bytes). */
static void add_records(struct conv *cv, int dir, uint8_t ct, const struct b *pl, size_t frag)
{
    struct b r = {0};
    size_t off = 0;
    do {
        size_t n = pl->n - off < frag ? pl->n - off : frag;
        b_u8(&r, ct);
        b_u16(&r, 0x0303);
        b_u16(&r, (unsigned)n);
        b_mem(&r, pl->p + off, n);
        off += n;
    } while (off < pl->n);
    conv_add(cv, dir, r.p, r.n);
    b_free(&r);
}

static void add_msg_records(struct conv *cv, int dir, const struct b *pl)
{
    add_records(cv, dir, 22, pl, 16384);
}

/* One record with raw bytes (type, version, declared length are whatever is given). */
static void add_raw(struct conv *cv, int dir, const void *p, size_t n) { conv_add(cv, dir, p, n); }

static const uint8_t ccs_rec[] = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01};
/* An encrypted Finished (after CCS) and an application data record: opaque bytes. */
static const uint8_t fin_rec[] = {0x16, 0x03, 0x03, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef,
                                  0xde, 0xad, 0xbe, 0xef};
static const uint8_t app_rec[] = {0x17, 0x03, 0x03, 0x00, 0x08, 0xca, 0xfe, 0xba, 0xbe,
                                  0xca, 0xfe, 0xba, 0xbe};

/* Client and server second flights of a <= 1.2 full handshake. */
static void tail12(struct conv *cv)
{
    struct b m = {0};
    msg_raw(&m, 16, "\x00\x20" "0123456789abcdef0123456789abcdef", 34);
    add_msg_records(cv, 0, &m);
    b_free(&m);
    add_raw(cv, 0, ccs_rec, sizeof ccs_rec);
    add_raw(cv, 0, fin_rec, sizeof fin_rec);
    add_raw(cv, 1, ccs_rec, sizeof ccs_rec);
    add_raw(cv, 1, fin_rec, sizeof fin_rec);
}

/* <= 1.2 full handshake: CH | SH Certificate [SKE] ServerHelloDone | CKE CCS Fin | CCS Fin */
static void flow12(struct conv *cv, const struct ch_spec *c, const struct sh_spec *s,
                   int ske_dhe_bits)
{
    struct b m = {0};
    msg_ch(&m, c);
    add_msg_records(cv, 0, &m);
    b_free(&m);
    msg_sh(&m, s);
    static const size_t sz[] = {700};
    msg_cert(&m, sz, 1);
    if (ske_dhe_bits > 0)
        msg_ske_dhe(&m, (unsigned)ske_dhe_bits);
    msg_raw(&m, 14, NULL, 0);
    add_msg_records(cv, 1, &m);
    b_free(&m);
    tail12(cv);
}

/* TLS 1.3: CH | SH CCS AppData | CCS AppData */
static void flow13(struct conv *cv, const struct ch_spec *c, const struct sh_spec *s)
{
    struct b m = {0};
    msg_ch(&m, c);
    add_msg_records(cv, 0, &m);
    b_free(&m);
    msg_sh(&m, s);
    add_msg_records(cv, 1, &m);
    b_free(&m);
    add_raw(cv, 1, ccs_rec, sizeof ccs_rec);
    add_raw(cv, 1, app_rec, sizeof app_rec);
    add_raw(cv, 0, ccs_rec, sizeof ccs_rec);
    add_raw(cv, 0, app_rec, sizeof app_rec);
}

/* Only a ClientHello (then the flow closes). */
static void flow_ch(struct conv *cv, const struct ch_spec *c)
{
    struct b m = {0};
    msg_ch(&m, c);
    add_msg_records(cv, 0, &m);
    b_free(&m);
}

/* Defaults for the synthetic vectors (fields no test overrides). */
#define CH12 .ri = true, .sni = "www.netzwacht.test", LIST(groups, uint16_t, 29, 23), \
             .pointfmt = true, LIST(sigalgs, uint16_t, 0x0804, 0x0403)
#define STRONG12 LIST(ciphers, uint16_t, 0xc02f, 0xc030, 0x009c, 0x009e)
#define SH12 .ri = true

/* ------------------------------------------------------------------------------------ */
/* Real handshakes (pcaps/tls/)                                                           */

/* pcaps/tls/tls12-ecdhe-aead.pcap, tcp.stream 0: TCP payloads of frames 4 c>s, 6 s>c, 8 c>s, 9 s>c
 * (tshark -e tcp.payload; capture order, up to the frame that ends the handshake). */
static const struct hexflight v_tls12_ecdhe[] = {
    {0, 4, {
        "160301013b010001370303d4cec96be56119a966f88774a2a3da4272ef95f6e5cf478f36a89bedadfe3f8720"
        "3f734cb42b92c85ae3d5ab3ea867fb542091651c1e27fdcaa9c4819b6ed102ee003e130213031301c02cc030"
        "009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d"
        "003c0035002f00ff010000b00000001700150000127777772e6e65747a77616368742e74657374000b000403"
        "000102000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d00"
        "2a0028040305030603080708080809080a080b08040805080604010501060103030301030204020502060200"
        "2b00050403040303002d00020101003300260024001d0020d604b75d0a25c202b5dcb51771fa1b255a35b5e7"
        "1e65bb2f0f26f236563fb11f"
        ,
        NULL}},
    {1, 6, {
        "16030300410200003d0303bbae86e58e546987c8900435883f6235e9c68c2a1f3944a4f1538aceabc88a1c00"
        "c02f000015ff01000100000b0004030001020023000000170000160303039d0b000399000396000393308203"
        "8f30820277a00302010202140176c1cc3a53d47a9f2b4b715aa0fc37982d6390300d06092a864886f70d0101"
        "0b0500303531173015060355040a0c0e6e65747a77616368742074657374311a301806035504030c116e6574"
        "7a77616368742074657374204341301e170d3236313132393034313033345a170d3237303232373034313033"
        "345a3036311b301906035504030c127777772e6e65747a77616368742e7465737431173015060355040a0c0e"
        "6e65747a7761636874207465737430820122300d06092a864886f70d01010105000382010f003082010a0282"
        "010100c70be0d5346b1ebe4b2b5eab63bce9b37399a2b80b388d9045a5125e6ed066cd85277161a688d1a0c6"
        "9640dc399da33bb146b8a07cc68a4c833ab4399d4259e44dcefcccd1ef81a27cea9fd39df93f32ce25443053"
        "67dcee1ae3e13f4842e4fda72c8d4444dd3579cbd9c4dc4a91cdf6f56fcef7d69d2e74b80b6410213c7f23eb"
        "1e688631cca9eb24b657c1a2c43cab92e63608254e613bf810bcbb0bea436e7a55772d1fe1b85b7ed76323d1"
        "9da1721e400db4579d1081ffa3b5af4de9855aaaae7a9461a65b889e8d8cb3c20a84e3b6a8a8e35f2e294a6f"
        "8f0045004a111d2072aa3c31402e7d206fbdf77d3bae2efa6e46ae0ebd7a20cbda4d8180030ea50203010001"
        "a38195308192300c0603551d130101ff04023000300e0603551d0f0101ff0404030205a030130603551d2504"
        "0c300a06082b06010505070301301d0603551d0e0416041442ed10ea330f311830eb246edb02f2ee8c94303e"
        "301f0603551d23041830168014f978d0c266b62d44814609596e2b0f9588185bf1301d0603551d1104163014"
        "82127777772e6e65747a77616368742e74657374300d06092a864886f70d01010b05000382010100c6c7221d"
        "5b4885874c219e9df8035f165e1c123991dc104a7fd28c3924718daffd4fa1474dc470960347184e7289c01f"
        "4236359825826bd847df7731c9abede8a185b464f435c4045bd05ac6bf80bb857753f96323c65937ddafbeab"
        "dfdfee06b70f895f66e5204ba12f6c0e4104b9e2292677af75a8e2813cc37e5c93fdf092ba62458b53fab7d7"
        "d01d407e8653cadb49a44b1893e04bae1ded71751dec1e11425298d226383d674baee82c205898b8be35e7a3"
        "034af1b512ae43ec859f45e160ba2a5da3813d9f44f7b1385c7f9c28ef900d40ce804e070fb0e7eb471cfc29"
        "4047fa828a495ee1747f8f71790d13286898231d4358cc74d04be52284264de2160303012c0c00012803001d"
        "20dee968505d25409b168e7122980cbc3d5442440ddcf56fc1ee33de45144d287e08040100405b6cd9893fba"
        "db6316fca8468f5802a8dbcfe0f998d2e0d0fb20bbba2e13a0d0285b41f7aca89a378134fe104aca2e028ffc"
        "4c77c5be204f63ec4c6526ac185ddb177e46df087397b2b80e0116e58cfaedba755aa3cdcdc4878c3f96c480"
        "9f48eccc40331dc37800d74abfee798f17be102408a92982541d0e22b9870d91a906275634f785092d456c7f"
        "ef3b671b34fe01f0184d3dba01438f4cded81e24592dba6a19d5af0ea5c03c6a84b154e65889c97d3276bd55"
        "a61b0fbcad290f9ed0bba9212f380af8379be4b356eb606086ae44445eebe44e43f79719986d16cc028d8c6c"
        "0af37a724a80533528196c720567573642c924caa0905254bcc46f615e16030300040e000000"
        ,
        NULL}},
    {0, 8, {
        "160303002510000021200c1322363f9736db9300a07e4ef0215e85573e95b9050a2b5faefa401b9977491403"
        "030001011603030028bb9e0f889d27c9ad58dcdafd96f8eb009182becd0d636aed9a576dcb7e4ad617be5448"
        "6692e4599e"
        ,
        NULL}},
    {1, 9, {
        "16030300ba040000b600001c2000b0cced68a01f919e70a4a04fc91be03bb779827ae2975c306872059d792f"
        "2db16ef7415d2880244f8ff69891957a926012058a290fb4a63c968158c2df9a3b572497f7f52d22f27d5bac"
        "3510364e0785a5fb4e679f5e00759d8b5a086ac4d52ede6ee7aac70f16bf0570d879226ff2ad23852cc35d9b"
        "f6a99936ca2243867062ca9e00897b2ab9a30ad6f470b8f8d79bacd7ccae19ba8f1c165b667e6a97fd5ef22d"
        "fa77da7d1cfabfffb4abe43664104e140303000101160303002817b2b0a4ce3d553feb74a396a6a6a6aa0ac3"
        "78c8e5f788a7701bb71cf1a845fca3e78db3dfbab739"
        ,
        NULL}},
};
/* pcaps/tls/tls13-sni-alpn.pcap, tcp.stream 0: TCP payloads of frames 4 c>s, 6 s>c, 8 c>s
 * (tshark -e tcp.payload; capture order, up to the frame that ends the handshake). */
static const struct hexflight v_tls13_alpn[] = {
    {0, 4, {
        "16030101510100014d0303e7420d54582c25c997b23b2f8ea4983f05718e46bc3999b3dc3f09ec4e212f6d20"
        "ae58221c6fd7591e7aaac1bf0f889397f82e34cd03e3bfe9e1e30d9dca0cc8c3003e130213031301c02cc030"
        "009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d"
        "003c0035002f00ff010000c60000001700150000127777772e6e65747a77616368742e74657374000b000403"
        "000102000a00160014001d0017001e0019001801000101010201030104002300000010000e000c0268320868"
        "7474702f312e310016000000170000000d002a0028040305030603080708080809080a080b08040805080604"
        "0105010601030303010302040205020602002b0009080304030303020301002d00020101003300260024001d"
        "00202bd439389b3b87c594f1d65610faae3b2bb108f83842f3ca8a8176b4c5123a1c"
        ,
        NULL}},
    {1, 6, {
        "160303007a020000760303f042c70506dc5796764d07a8d368910e7031c1652d7754b64cab4758d9281bd820"
        "ae58221c6fd7591e7aaac1bf0f889397f82e34cd03e3bfe9e1e30d9dca0cc8c3130200002e002b0002030400"
        "330024001d00206a85c285b6cae53e012e3dba4a176c2b9855891004f97e3f2b35abc25fa23b511403030001"
        "0117030300261dbce49d003192f80dce4092ce5b60bd4bf09279102c490ccdbd9295c1bfc56ee694ba01e058"
        "17030303b1cfc895dee51ef8672fef8207cb8055f997e1c854b9b82737f7fb31f074a775fe1a72b83e7d3b71"
        "98ac2c02cfd08512073d94a0031d211c59963c03137756a85c0b5fa22ea41015122aacbabf17cafb7cf218f4"
        "d18d1404acbcf2957be002cad9e119d7408e6c8fd75fa9bf85a9199b0838de2c13b580b1f74d54229f43354a"
        "e270c7adf325129f68036720ffeedc48cd40c6c27b8bb14ae47d3695aa411b7aa245d37a25127d7d99d7325e"
        "ae2591d362f959a55482d0c1cc09074821489b80b76e711dffeaa91107306c202c2b28caa8e8f4742ac2d6b1"
        "074318fcea53feb42376e437998c4c44f51b7435b4bf362cab3f222ca490089a0a869c4f35b8e1e8c5b1f8ed"
        "093cedc75c7dfa88cf5768c46dad3193a88a78bc4c87bc1f7f50f279251f0070d5f905391c8dd21be2cce3b7"
        "00a84b83f8af262d0f29236362f9f753d73c5a0791a6d28d42d54919971ecffb8cad49310076dc529061fe18"
        "410aed10404f6dc1229ee441a46f4f49f5f2d02bbed0bda57ab20ad6771ce366fc7410f9ee99f86499356238"
        "ded28169b0d015d5f425c8529b2ebae8987e0ebe52c99876099b0385f085523a400ef201d6cbb5d877f7a289"
        "eceee72ca4c7de53a1230b6612ab6911d8dcc0f97d36ac6ca35ece231e5fcafb196283760e1ece8fc29ed640"
        "07710602242c696f640af0bd182c22631b18bdfe92e20e57b165316b05b0f4024a6acf00b73fbe0875cb4b1e"
        "9a7035fc0811cdd413fb1cf21a89657bc0370abad08098c04f73868a3ec87b9404cf77d0be4bfba9741dcf0a"
        "3d0db8a2993626bf58b8cd8b1040b04e6d15caaffcc7c8902b2a74fb359a1a270c933f97c3080e1631ba751d"
        "9a512b37c0e9003205c296474407b2ac7739446400bfadfe917faf9cbf887b925ee2247f26bdf54b991c0b2b"
        "00f78b9ceda624e4ad3896292d24b755c17c23c86fb7145f0cea6d9b3bbfcd52306adacbe5187822913f71b3"
        "a99099e8061894bf96d57b22732497459d67d99239a2f68654743b1815c83d576bd64c62b21b5bbf1a9390fd"
        "ca52b510ae10a27e6c05fc7ec76bbc10f33eb2addd20c68975b946ffc1322fc09ea51e58361542f4abda4bc9"
        "2f4d7c40dfea6badd8d30bd228681ace7ee61424c929a0653e43347ec72319fb6dd6183d8aee0c4ed9e3f275"
        "fc60abaa3d5d427063dcc4aa8dffe73fa872d163c28ab573b5703f5afe12fd9bb3693f0f47db83b61eb3ba91"
        "cba21ca129736ef8d086f58d6ce897d32c26e42a02bef9a618159a31a206891208d3c82f342d4390c797c102"
        "8984d0fe236d854ce47c07b52a03f612b6b63e3f56984d4d22ae1703030119ff095edea0fbda7fc0854bc21e"
        "4bf2e0e027b2f82e472cbff5c1faf8af25bd881d9ca4ad8906a62a849690bc61bf347ea7bfb11b8429bd7cfb"
        "c0b6697b201981518e870e16bc1fbacc532cc09836aafe4fecb330a9fa3fbe4018661a1b2bb17f6567cf1326"
        "48d3528b6aa7c773793e88a92d5eb253adc644c986072b584aafd121a8ee9e25eec93b267cc361aea9eb342c"
        "f566f0c1de74a1cb378b70b44a5c6e846a5ca86d139fe8d56fbef948fbd55adee98b2934d7d5ce2c2195a78e"
        "7781858e1d586299a21d1364ed5de4c95b3d4766fe5dcc6dd089be2f0175149327d4ac90cb900f1698f51201"
        "34325f45d2c4f6ce56ae8bc33ca202613b0c6a0bf0056264d4f1056747e74819d64460b2472fc17139881cc1"
        "0d25cddd1703030045330a69bd225aef04955bc67a6fb9f063a3cbcad50a7a211629a2a9cbefe3347c313938"
        "d8d5bf9639e0fd1bd2f715bbb8856274eac7e3034995f313e1fb5a13d1f0e933e740"
        ,
        NULL}},
    {0, 8, {
        "14030300010117030300457becaf3b769fa0975820a78a6b0c9f13436549e8c383f2f5a5735b41b2071400fb"
        "bd226f24c5939b4903677080e75807a23dc166994797bf4e8faeebc113efa4b8392551e3"
        ,
        NULL}},
};
/* pcaps/tls/tls12-dhe-1024.pcap, tcp.stream 0: TCP payloads of frames 4 c>s, 6 s>c, 8 c>s, 9 s>c
 * (tshark -e tcp.payload; capture order, up to the frame that ends the handshake). */
static const struct hexflight v_dhe1024[] = {
    {0, 4, {
        "16030100d8010000d4030369781c63269f55c8b8be5226d30bfeafb81c34f3ca862651ee9e9d4e25df708700"
        "0038c02cc030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033"
        "009d009c003d003c0035002f00ff010000730000001700150000127777772e6e65747a77616368742e746573"
        "74000b000403000102000a000c000a001d0017001e00190018002300000016000000170000000d0030002e04"
        "0305030603080708080809080a080b0804080508060401050106010303020303010201030202020402050206"
        "02"
        ,
        NULL}},
    {1, 6, {
        "1603030039020000350303f3ca04e4b2eddb7db919ad0f31fe4fb409d816babb7a9f30419923eb4848a39600"
        "009e00000dff010001000023000000170000160303039d0b0003990003960003933082038f30820277a00302"
        "010202140176c1cc3a53d47a9f2b4b715aa0fc37982d6390300d06092a864886f70d01010b05003035311730"
        "15060355040a0c0e6e65747a77616368742074657374311a301806035504030c116e65747a77616368742074"
        "657374204341301e170d3236313132393034313033345a170d3237303232373034313033345a3036311b3019"
        "06035504030c127777772e6e65747a77616368742e7465737431173015060355040a0c0e6e65747a77616368"
        "74207465737430820122300d06092a864886f70d01010105000382010f003082010a0282010100c70be0d534"
        "6b1ebe4b2b5eab63bce9b37399a2b80b388d9045a5125e6ed066cd85277161a688d1a0c69640dc399da33bb1"
        "46b8a07cc68a4c833ab4399d4259e44dcefcccd1ef81a27cea9fd39df93f32ce2544305367dcee1ae3e13f48"
        "42e4fda72c8d4444dd3579cbd9c4dc4a91cdf6f56fcef7d69d2e74b80b6410213c7f23eb1e688631cca9eb24"
        "b657c1a2c43cab92e63608254e613bf810bcbb0bea436e7a55772d1fe1b85b7ed76323d19da1721e400db457"
        "9d1081ffa3b5af4de9855aaaae7a9461a65b889e8d8cb3c20a84e3b6a8a8e35f2e294a6f8f0045004a111d20"
        "72aa3c31402e7d206fbdf77d3bae2efa6e46ae0ebd7a20cbda4d8180030ea50203010001a38195308192300c"
        "0603551d130101ff04023000300e0603551d0f0101ff0404030205a030130603551d25040c300a06082b0601"
        "0505070301301d0603551d0e0416041442ed10ea330f311830eb246edb02f2ee8c94303e301f0603551d2304"
        "1830168014f978d0c266b62d44814609596e2b0f9588185bf1301d0603551d110416301482127777772e6e65"
        "747a77616368742e74657374300d06092a864886f70d01010b05000382010100c6c7221d5b4885874c219e9d"
        "f8035f165e1c123991dc104a7fd28c3924718daffd4fa1474dc470960347184e7289c01f4236359825826bd8"
        "47df7731c9abede8a185b464f435c4045bd05ac6bf80bb857753f96323c65937ddafbeabdfdfee06b70f895f"
        "66e5204ba12f6c0e4104b9e2292677af75a8e2813cc37e5c93fdf092ba62458b53fab7d7d01d407e8653cadb"
        "49a44b1893e04bae1ded71751dec1e11425298d226383d674baee82c205898b8be35e7a3034af1b512ae43ec"
        "859f45e160ba2a5da3813d9f44f7b1385c7f9c28ef900d40ce804e070fb0e7eb471cfc294047fa828a495ee1"
        "747f8f71790d13286898231d4358cc74d04be52284264de2160303020f0c00020b0080ac28604324c412e063"
        "6b7a55fec1b9d11d3b522b2d2be13a6d86f5ab639bda95eca51f9d853188a72538347729424e9c7bc9daa96e"
        "5990a402ec60262b0c2725fafbb1b1c6544b1cbcf7a3c7d35a7f7dd2c94eefae1d7e5765645912fdf0ba1ef3"
        "be5095a21807731f9a1c0c7276f16b1da37609859e5cb60d4108a483086a6f000102008015900be4967f8733"
        "a003d3dcb6ddb954e636fc2b92b29c411f49127426b6a36949c98ffabe6b40c49219c2a54a9790c52ce235e1"
        "35c6e64d0c8ecb87e50980c0705579d26c7a95197fd8215443b5067601fcb27b5211721951f28c906f1dfac7"
        "a8449598aa6b206c1a4016129063833f4275495ee46d18042915516cc8143044080401008383c15a82fb6496"
        "c82e9e413d775bfd049ea97639c980d149cc1cf7e27687e521980ee7ac4e5a97d63fdff0d32b5693a69093cb"
        "2c2ee560dcb25f50c3ed5bcb7f3cb1abf8e7afb2548d6c4449e0ecc90b2f157ccc1de14c173e356b9c5357a5"
        "28e088733d507c15aa0ede5664ee648580f171d612f1683399ef90e01cf6b1e77ea786ed70655f8b8a589d89"
        "b5b75f2ed005a1b2ed2f5bc32088d649c16394ea44c6d3740942e973b1c74cebca7da85dd4365adb3d316352"
        "5cb1b5080392cd1f892a4084d78c667a36b13d3e0fc1efd32d7dfb70e0db6334532b341eda5ebdc660b6982c"
        "d8ce5801"
        ,
        "ce870f97b3c2e7bf107fe7dcaddcf55cdba85a76b886963d16030300040e000000"
        ,
        NULL}},
    {0, 8, {
        "1603030086100000820080113900656c0afd51485436bfd76fa8e2e1fbb5c624d233e0831a875d783bad4e0e"
        "b9617fccbee7a2fa4a90cc95ded46588c5a914f86fb1b6fecea7c6ae4a710e0bd2c89653910b579a584d52e5"
        "79121b45b13ce57030f346164ac042c8331a7a92cd6dea4f1cb8b15b2a160e41ee6bc25c671cdcd2145a293e"
        "21a3c41c4ac9d71403030001011603030028b1847015545d73d607a6563e3092c2713ee24b3475aa63656bb9"
        "3068372d83734c92d091750972ca"
        ,
        NULL}},
    {1, 9, {
        "16030300ba040000b600001c2000b07615526e5f66d059ae404e990319b411cb4d85f1b8cf2e749862116a99"
        "8d4499a5db2fcbf2a789059b4cecf0c92c1cf5f38a42c018887a1b7202b8fe634ae3ec08a537aa7cb8da5b16"
        "2f51f0f8d434fc4d11068f8ae95a7e40aa0935ed314adfcbbf60ce84966c63db7da1ae0767eb2878e150cf7d"
        "4def1025b588e6cb367280c5aebaa93b00763d5bab03dbaa1e9794cdb5ae4a71e5e0cd718170ca2345039229"
        "61811221f17f75f6bdfa4cd5019472140303000101160303002821e591419f0978075c4b145efac180da529e"
        "aaed19f05fc1466779a6a3e56956f72248c88b07e67e"
        ,
        NULL}},
};
/* pcaps/tls/tls-fallback-scsv.pcap, tcp.stream 0: TCP payloads of frames 4 c>s, 6 s>c
 * (tshark -e tcp.payload; capture order, up to the frame that ends the handshake). */
static const struct hexflight v_fallback[] = {
    {0, 4, {
        "160301009c01000098030234d0e274f0aded380bf887e9b23458a2b9bcf49f7539d64654b473e89ac0a75900"
        "0030c00ac0140039003800880087c019003a0089c009c0130033003200450044c0180034004600350084002f"
        "004100ff56000100003f0000001700150000127777772e6e65747a77616368742e74657374000b0004030001"
        "02000a000c000a001d0017001e00190018002300000016000000170000"
        ,
        NULL}},
    {1, 6, {
        "15030200020256"
        ,
        NULL}},
};
/* pcaps/tls/tls12-handshake-fragmented.pcap, tcp.stream 0: TCP payloads of frames 4 c>s,
 * 6 s>c, 8 s>c, 10 s>c, 12 c>s, 13 s>c
 * (tshark -e tcp.payload; capture order, up to the frame that ends the handshake). */
static const struct hexflight v_fragmented[] = {
    {0, 4, {
        "16030101a6010001a20303d816ed77c6f5371c3a52ac769f5e92fb4bf6549239ea6fbc35423f553bc0e34520"
        "6e83432008fd927557ea90918b7e64503f3580aed8ebefb4d22d6dc8f9205f210096130213031301c02cc030"
        "00a3009fcca9cca8ccaac0afc0adc0a3c09fc05dc061c057c053c02bc02f00a2009ec0aec0acc0a2c09ec05c"
        "c060c056c052c024c028006b006ac073c07700c400c3c023c02700670040c072c07600be00bdc00ac0140039"
        "003800880087c009c0130033003200450044009dc0a1c09dc051009cc0a0c09cc050003d00c0003c00ba0035"
        "0084002f004100ff010000c30000001700150000127777772e6e65747a77616368742e74657374000b000403"
        "000102000a000400020017002300000016000000170000000d002a0028040305030603080708080809080a08"
        "0b080408050806040105010601030303010302040205020602002b0009080304030303020301002d00020101"
        "0033004700450017004104984e7779fcabc34c2895019a9b8dd5ac751d7b3d54c2bafefcaa4133fd6077fa5a"
        "610a0a4c53ae533842e658f8ee669c72c930ffbe1eb0eb91027ff1a6073ace"
        ,
        NULL}},
    {1, 6, {
        "16030300410200003d0303dc4c89e8dd979c07f84925d9b142ed4aa21c9029fafbd8645a5825aa865008bd00"
        "c030000015ff01000100000b000403000102002300000017000016030302000b00150700150400059f308205"
        "9b30820383a00302010202141f4fbf27026f200e4abfe951a2b5f5b6ad492a2c300d06092a864886f70d0101"
        "0b050030413126302406035504030c1d6e65747a7761636874207465737420696e7465726d65646961746520"
        "3331173015060355040a0c0e6e65747a77616368742074657374301e170d3236313132393034313033395a17"
        "0d3237303232373034313033395a3036311b301906035504030c127777772e6e65747a77616368742e746573"
        "7431173015060355040a0c0e6e65747a7761636874207465737430820222300d06092a864886f70d01010105"
        "000382020f003082020a0282020100a0ca102d2fc1b2bfb0377b92fbb3a88774ffd01b40b3ace985a08d8783"
        "82253c26b4bacaf8e9d405ace7067012e4c962798f4c03200ec29e5afb007d35c90e7daa234784345003f543"
        "6c1f1f18fb25dbb836484e5091d11239124a238e082bb73c178685486c6b70045de3d89f3faf76f9aa0ff5da"
        "9ff8eccf41c3f7a8a896ebb42b13a832780d1a5ae694376a03f127f5a357beac1710bb34fcdfd0e82e482309"
        "6980220e7f19c060bd4cb44b5491bf4e0445f79c9362e223b03ac83460379688563ee72b3c2da149b355ca15"
        "0a4f9668775bb976488701456f4575a7ee4af0ad8c77ff27135f45c23c69d42c6f02df1d05b4c37399a6e953"
        "3e5bbbd34fc5dab62d46eb98a818b416030302008cd2fca73250521406c4a976e2a645aff5a7982ce3d850ee"
        "a25309247a113b340121414103c3fc258348bef80a51d56c96e34a96fda09936da0ff50e9070bdc4ae4494dd"
        "19b73e4344d6b15fbccbb414b9534a42620cbead969d99e4fb93e5310af2321951f3838ab3bd189a0cb39920"
        "96714355948537f4da1944444c3a00e00a1c889701b18521d0ee362269641ccc150f0e7afd259bba2d22426b"
        "fbf0368993fb52ffe93c367bd241a96db49a335443b1bb17cc25a1d649c06f824ee904aefc73cea44f8342a4"
        "8a4438bec6bc1047c856d13e2857cef768e45ebf4caa26b918d91d2310ae37dca5b9a698922d78cf3e1e1fa1"
        "3020049f0203010001a38195308192300c0603551d130101ff04023000300e0603551d0f0101ff0404030205"
        "a030130603551d25040c300a06082b06010505070301301d0603551d0e041604141464f99fd9d5f6ebae949c"
        "ae66016e11b40cb411301f0603551d230418301680141f61b0107f5b96b79a766632fa09ea92a9240a5c301d"
        "0603551d110416301482127777772e6e65747a77616368742e74657374300d06092a864886f70d01010b0500"
        "038202010071b90153751fb0e46d68a4b6dcfddaa022a2f4ce22322f4c43ae561f887831c81c11eed38ae84f"
        "00b491fd7bdcf3f258fae8f69bf76356cb1f70ce833cb895d33822e757cc28b09175619cba216bae87da8788"
        "b92bab1916030302005d2c026a1fb72686bc26d6c2a9fca2083519e2d0802bd132428bc9cd1dedfd3476b9d6"
        "f717eba00e1f53787bffa7a8e194cfb664416a648911f34e0692252bd2d2fe43d759b1a64dd2fd1c10e2b4f7"
        "adce621cdbf278ac5e66d9558339381912d4e203a87bf69a52026698d0418d3f409108d9f457cd108e6a0a57"
        "bc27fb0540142312425825f4b7f2d972524a2a9bc91f1eaddf0c408709ffbe06c7247397c24013b3bee1fe47"
        "483e0c21a260fd3f7d0c15836582123743ddfaaaeefe32650bae1431d64adf596e60d77e5ac28a2ac3bfc1a1"
        "205459af8e33b34816a3bccafe477caaf67a5dade460b26edfcfd7968d8e219c4038a303d95a80acf694bd98"
        "d6ef0b9ee542dd7789c55a3da539fcfc9932642a825428623e34e7eecbf688163041e6e90c91b12ac5781742"
        "185de286f59749213b245a884eebe755f9bbabfc70daeaa3269ccf34463eb6b6c304319882b4e4df12e20380"
        "bc4c1abb95271e80a12ce4263c6fac62476be2f7fb04ba5397723d08d7d329b2f176ef5486f08ac803ba8e4d"
        "d679ca90"
        ,
        "b13d48ce9c0bb4b8ef014d7f2052617438e36c33c3d2daf188e8afacd6cc00d7acd700057730820573308203"
        "5ba00302010202147960c0111a00d7884a48d45474ccf0868f2e9f93300d06092a864886f70d01010b050030"
        "413126302406035504030c1d6e65747a7761636874207465737420696e7465726d1603030200656469617465"
        "203231173015060355040a0c0e6e65747a77616368742074657374301e170d3236313132393034313033385a"
        "170d3331313132383034313033385a30413126302406035504030c1d6e65747a776163687420746573742069"
        "6e7465726d656469617465203331173015060355040a0c0e6e65747a7761636874207465737430820222300d"
        "06092a864886f70d01010105000382020f003082020a0282020100a9c516d78e1c17be82e9d75b1beb22541b"
        "e444bc75bbcf73cee8815819fef7a0e20129550419319494b23cc6700885f3deab1910660d4bc8ef94625e4a"
        "9af710aae24bbe1ca06d4d1d213ad15f44269ef431defe0624db57db717108327fd6a0196ae63c75a757ce38"
        "a433b5f878abad0fbb34b87787dda94951b6798d90713a9875ad8ded302c8dddaaab11d1184c9739abfd7e6e"
        "6bad9a4451a6f2ef482bea19434124716534ea03a96b7708ff28dfaeee120fbe6ea549fe47bee3377d849061"
        "b824ddbb224cc574c5cd2300e925c780c46cd93ea14861df5cc2a6a1b49aa37b21eb2a54f38b264ba35f3e8e"
        "e8b013322c1d45cb43f929bb9837631e26c78603dd5f0d522576c9f6d5eb1fa7b328de7a9a23879ab14a4c98"
        "242af3213e69f6a870ae0922bde7b7acba00a1cda9097a525f5eebaa5bb9df9b9a2bfcc3f5ad5760c0d37251"
        "76260a549d3af91732cb83532e4e631e47bfb8bf6e351603030200a43529911c83951df1d131761b6b1f7e0f"
        "e043cce1de229eeab9f5b97d4159defed0f0e8fb66885e8691ab4e5cc95d111836ab6644ccdfbb689a03a18b"
        "c2f22907423d28cfd3235893e93fa108049ea41c5e9e9df9fd7633f38dec3c02ea88e4267c98769babb1f76a"
        "b272cf2189bf54497a1d54cf94b813d914613e1d13aec4f14d8978062843835fa16ca967cfca384f57123878"
        "af76f91e5c5af2329cd80b4cda201d9d0203010001a3633061300f0603551d130101ff040530030101ff300e"
        "0603551d0f0101ff040403020106301d0603551d0e041604141f61b0107f5b96b79a766632fa09ea92a9240a"
        "5c301f0603551d2304183016801409abbf1c3a7c852cb4d8b2f5e1015847d31f8455300d06092a864886f70d"
        "01010b050003820201002b606b60cfbb4e2f54cd60ee4491618cdd2f121938333de5842f0bc4a63887fa283d"
        "9cf6ceda60bbe59e38af9b31f8968ef0151762a67ddca7ec55c107aecf4cd2faf3c3b30220600856a8872543"
        "90a63da1d27b6a4ec8286559a949fd52c26095f7eecc04d631b251246c997c5e544b6d18a2bb7051e24a0d46"
        "51ca8d14c887005e21e3f089a87f630e126323d2cf219bc8303da9f9e58297894e2daa52ee768ff006630980"
        "de30964aa364ba34ef057c78af2d1f9b4480962c"
        ,
        NULL}},
    {1, 8, {
        "a986d587d8e306e35aa5f880f76360ace612fc36fa8bc2146bb2da2b6dda75f832f9bc1603030200678d1d02"
        "6aa298cf696dedb84f4580a267ded90941cec9fdf6cd345b7cffde29f22a614dd2d379cf0032cc6036a0d1e7"
        "a07cfc0a69838f8062452d5144677c80467f62c193517aa9afea9b4f5513b69356b59afec34fd7f7c76d0b6a"
        "386b4c83b7a505735d27c7ac083614fc3c2e2e2da9760d2db82f3469fad15050ccce555428c6ebfac25ea044"
        "ea44f691febdfc8bc5fe109858f2ac844ce5b65bb2418e8a8ef8653c485f3178a9c4ebc6a0d97e2618e9f4c8"
        "d9a816d38bd7437e722c80939f344d74a933f85cd5ca5cbd471b853c02a5bb40786a580abd32e9b63874269a"
        "49fd149b96967e82d2114369ab167a9bf190850a4eabb3543658f644e0fc5c646ae4213ab2bdeb2aac209733"
        "769044dd547d83c11202462e41d87aa57df6bf3c754645000577308205733082035ba0030201020214142425"
        "f405e43b822eecce838f1c149d456d236f300d06092a864886f70d01010b050030413126302406035504030c"
        "1d6e65747a7761636874207465737420696e7465726d656469617465203131173015060355040a0c0e6e6574"
        "7a77616368742074657374301e170d3236313132393034313033365a170d3331313132383034313033365a30"
        "413126302406035504030c1d6e65747a7761636874207465737420696e7465726d6564696174652032311730"
        "15060355040a0c0e6e65747a77616368742074657374308216030302000222300d06092a864886f70d010101"
        "05000382020f003082020a0282020100dd3ec60acb58b0d9d462076c1aa1695529870e554990c2801c84d2d4"
        "83e64b26957154512eeca7dd6474206b5471b4c8fcb44f88331c28414560f438ae7fb5e21ba18c3a844d0000"
        "d2380ff744daf42fd86f1e91e47bc9a398ffcbd51511d3550dbff44b610a1d9763bc5a1ad0ae693dc03c6053"
        "77b148dd257a0a7740a65f9e3dcab823c20a600abaae1140fcae12d80cc09b2f77143cca55e3ce4ed319280e"
        "5c9a7f1d1d649b7bb4c28c50a57cf915ac9cdba40994e64450d105ae115549e2de86d8dc6e88b5fd89cb8f8f"
        "9d4d078ed88f5709a5da6d7c3eab4331945da7f469e1401c04dd0724d32e1cc1414c29f302eb9d91885be231"
        "dd20a1e2a2657f39583c9945284f4d485fbd40ec50f2ca51092eb66e0c7fdcd2739ce3b55e2d6f5363b6b9f7"
        "88bbc0b764950c07129bafea9b4a735de557d3c6b5fc095a83096d8011b839271845f87c5f256a75c4e4d504"
        "a96045d37e2c8f3f7ae9e0f653f9cf735c94d3c9dac4efbd24bbf1b9d0ae5c24d657a060cdb17a13fd8a781b"
        "42bd43174f181f65ef7ed20e17edfbde35dbc6dc37ad0a36e4529be4b77a673bd208f29d6c393b294ba9cb27"
        "af1677eb12937f7c4d656de7cea8f47e55aa74057930c44f3cc42fb25055ffa97aef6c437bc9298b796bbc8e"
        "a5568dbd888d19175e6b1885ca1603030200ea03f5cc338ad056c99b74216abe1428e81d9ad4f488ae829fb1"
        "3881f874e90203010001a3633061300f0603551d130101ff040530030101ff300e0603551d0f0101ff040403"
        "020106301d0603551d0e0416041409abbf1c3a7c852cb4d8b2f5e1015847d31f8455301f0603551d23041830"
        "168014337ad461d32f1c1e7433ffaded2337551bfc1913300d06092a864886f70d01010b0500038202010085"
        "a821355e83aa17d5f6c936293a8030b0cc0997151a1dd957ffa595295a0083030508f033344f22faa9da8290"
        "e6611c4adbf133f1483f1865a442ab88894aafe619cf33c7332bc82a7c0ab874b9dadee92afd18d29dc656da"
        "a0df026c7eda42da16ac3b67ae057aac9e57065bee414fb0cbc9fff6186adc0687819e35711ddd2fb3ca445a"
        "24d02087082465a82852db71ce163043cf2ae6f5e7234790b0f761b50bf0e8cbb0057c24ca5b9e0b86fe509e"
        "39a93d44b483618349e206e197820b2ccd1ea4490a80a6712f91e92c03b0b8f7f500fc169c4e0ebc67cee8ea"
        "833ad5697c8ed0f85c310659370e71c3598ca2ac953e735b"
        ,
        NULL}},
    {1, 10, {
        "a62054e1bfd22c6b0f39b9671c88cc311506278651e4812e723aae0dd937369947ae3e1171a769485ee3a8d1"
        "ce482cb7bc003ad59f9360ddff05c98301fb6f970d65a84a9dc450cc06ca19fa7af7f10ba4bd78009c6d7aea"
        "94c821fff38960792680816d1f81ed550c0015d8528016030302003f06112c2e40b8cfd085b0e30f90c9a9c7"
        "c2776e785c57768320c47a627df0ade008dd7c79d43f25a0c1fc9811693a847606b2aa90446c8cac1b8e7a14"
        "efba8a5856e645b449b9af882f12f3e2c85385475049f73b1f563ab339b8788298d5a14a775beea9379b75b0"
        "8d0ae449a3082bbb937f05b03ae2a60f299147ac8a083f372f884e23ddf11ab17fe52b0f83671b615b73bd9a"
        "4f6aa561f969bcf200046b308204673082034fa003020102021439496d2b4ae8410f80900d0789fecad7ac09"
        "996f300d06092a864886f70d01010b0500303531173015060355040a0c0e6e65747a77616368742074657374"
        "311a301806035504030c116e65747a77616368742074657374204341301e170d323631313239303431303336"
        "5a170d3331313132383034313033365a30413126302406035504030c1d6e65747a7761636874207465737420"
        "696e7465726d656469617465203131173015060355040a0c0e6e65747a776163687420746573743082022230"
        "0d06092a864886f70d01010105000382020f003082020a0282020100ab8233e410d033cc961901f5528811e3"
        "2651061e374bf9488a82aaa3269b9900602d44d66f79de696bd6d4040625e8b5d2f8a408bf3047adabbc32fd"
        "dd6792c1f93044f4e6e275e19cbf3c20872f6e2e765db843ce2b8d0af69d5a41005e9d696394dfdf602288c5"
        "c3f707c29ddfae9caec1ed16030302009a2fefa71ef8ee1fb8ff9ad7e1ae9cc1dd73acc7bfcad953face8b72"
        "e1c74c1126932d29224923cac3acca1d99960ef338a6ebbeac1b457eda5b8cf1ea7bc5ac51b737a05341111c"
        "100de74548afdfe1e70d930c41fb9a06b57734553169a526ddd8952fbd0b61724217da231fa186894e587cc4"
        "beab667ff198e8e72a0d25052fc8abc2ccd595a1a52e82296422c5cf7218e221cfd5d64a53bb7b73c5876400"
        "919eca2ded2b301a725fdcf998838d3f6fa3703b2bf94588b946dbbf3492929b5f710ff668cc53dd914af26f"
        "d3453ebe10c6c1de55bc9c7a0aa9f071e419136290472f7729d9e2fd618bf607ced417355124ed5287298889"
        "5935c3a68012d88cac60ec255540e932d837a12abdc88ab5162784302ca92f2049769e0bcdcf05c41011c1ff"
        "2b7d52c80960f9f42b821ffc3de71ac077c423c750a3c2dfc9597f1f419e79300ee39001d9355671d5686e64"
        "dc740d5196b8755d4ca47edd1c7361f8780da9d6b96598b6f9d3e4dd8a0cd79001eaa401f3d3277c592a5239"
        "44bf8697064ac8a2377eeffb4d047c977d0203010001a3633061300f0603551d130101ff040530030101ff30"
        "0e0603551d0f0101ff040403020106301d0603551d0e04160414337ad461d32f1c1e7433ffaded2337551bfc"
        "1913301f0603551d23041830168014f978d0c266b62d44814609596e2b0f9588185bf1300d06092a864886f7"
        "160303010b0d01010b050003820101004ca233bfee1d1337d6fbbe6afc6dd5f89a0c2bd8137ea3818db3f279"
        "a3b33d298657995c753b505cfea87783d3df0957883592d7fedd0a0c276dbdcb7d4d63a1413e4ef2adcd0e31"
        "43d6cfbd8238e79934647ba19611d5765e05b046d563e38fcafce881b79715b4a44fcd1b6d2384fa6a2d18e8"
        "b86db2e17314edbbcca6be30f8a0781090ac64c37ee1643f24c9010fedeec5b19400bb543669eef26a3ea68b"
        "1870b2e5dc863dc9e709eb587e114f6364cebf158fab4a245539d82313438c3131522945a711a64cd37befc3"
        "c9d9ac172553ec9c9c954603f433c68fd3cc9c4840bae0640a452321571cdbdcd847e9fae148c7aa75e65256"
        "77d939083920f60d16030302000c00024903001741041ffa3a9ff2c7d070f0bf818606d40a9a2ad49f7ad1ca"
        "d8d084f426e115dec9055d724e211aea29a7ba4d8441f303757c6c6437e3a5b1e5ac03c3fb422923d5cb0804"
        "02001465"
        ,
        "2aed1b4cac9ec40dbb2b9d255399b5662c338ee5cbd48dff3d573870e1846e2d73eb6dc4d3a37b1dba1e3e50"
        "35eb0549d593e190356f9b50db4d103a023027dd948e08776a8a7f427cec9f18d05481fc57a3706975956a8c"
        "225a4f35b204a023cfba8612918e8ac4686ccc7575ad9d44cf35687eae90bffbb69444766fdb4313f99a81dc"
        "1cec99cd7f6738b8812890dbc4f6804be52bea463e5c2d3a2be0c76be9f56d43e273ca119b70f25ac0e5e7c7"
        "0b21c34fdf974a24bba8d45fada829ee50660f6e6e27a0b07dab273f0d37fe62ff0e4cc1b80e8b4b13c295ed"
        "3297b0d420d3179df7b8f748139621eddf8cd91c81e647e363b8958f1721b22a420d528b1c70c2d939ba1958"
        "ef5ebeb1ca8297cf2a4cc6c441b886f607c8ef1be6495704fc6050f19086d2aa23180c52b12a9932880bf15f"
        "07ee62f135f793553ec845d148821e770f50e002adae0bbcdda07ad3056adf0ab1c5092dd5ef2fb7b0986f6d"
        "46605b4cfa78aea48914a25bf2cb17448dce04291a77cb190dc5bd6fc56a12db98a9eb3f6c7f65955b107931"
        "26bc689f0056ced4a59ef584fe9786f2ff55103c6dc8d4ac476d1a58475d00514dc17ed17e160303004d8c3d"
        "c67ac7b2d2854c3998def437a7b4a1387c5963c17d8b8ffe75a839d39368eb787c4d2ce25afbbce199347144"
        "e88dc9e99b953c113f6e729c85d02d131dfb1bb3d117a59c75cb85cb19b6d916030300040e000000"
        ,
        NULL}},
    {0, 12, {
        "16030300461000004241042d217f5a9ffeb0d3466510baea31da5bd2d9882e65eff217aa7829a2af09c5ecb3"
        "3c06b9ed67943f2c07587866e321f0f178bb214f76a5b5a6dfacd9636fbf1614030300010116030300282f97"
        "4f5a24afdd7088f15b2f301f0022bcb32121cfed4cab9335185fdf1f2f77262b864f7e161542"
        ,
        NULL}},
    {1, 13, {
        "16030300ba040000b600001c2000b0a2cfd84053504656d0ec7c3e276fe8ad0763fa2e6bbd0313fe7fc534f8"
        "74a2bb8befb06f086c22aaaa23d74e6ec54ee48a5f4cda1215171638f6a6caaee3912021e40b196a10d5eacc"
        "f04431156923914be3eac1d65b9e24be8612117f4daa3f7ae576559e2dbadfe982f3799afcaa1cb14dcff764"
        "f268c5f0de518a2efe813bca25e1fe1380e4558c635e24dfc17d3b13dbc6389e6bc65caf73efa417c9882d04"
        "599aab7c26c624390d08713901c12c140303000101160303002898f907268502f6e3c2b4b3a415ba4ff664dd"
        "46716b4f01755ca4abb8d8482b1f0caccda0ac1018f7"
        ,
        NULL}},
};
/* pcaps/tls/tls12-resumption.pcap, tcp.stream 1: TCP payloads of frames 22 c>s, 24 s>c, 26 c>s
 * (tshark -e tcp.payload; capture order, up to the frame that ends the handshake). */
static const struct hexflight v_resumed12[] = {
    {0, 22, {
        "16030100f2010000ee0303f965d7ea5e02e87f5bfaf3b6dc6c0292a442d879148189a870b506bd20c41fb420"
        "aa54a6d68a80fc84fa5f6b30b354c27ce1853e05ea9c5d5aad76c95d41b7686f0038c02cc030009fcca9cca8"
        "ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f"
        "00ff0100006d0000001700150000127777772e6e65747a77616368742e74657374000b000403000102000a00"
        "0c000a001d0017001e00190018002300000016000000170000000d002a002804030503060308070808080908"
        "0a080b080408050806040105010601030303010302040205020602"
        ,
        NULL}},
    {1, 24, {
        "16030300550200005103036a5f0eb06dcd123d8c879efd9ab8b21b94325a8a37c34cc5506a483649f19f5a20"
        "aa54a6d68a80fc84fa5f6b30b354c27ce1853e05ea9c5d5aad76c95d41b7686fc030000009ff010001000017"
        "00001403030001011603030028edae47060405eda27fcbd0faa5887f7de162eb675b0acf085961c0687b982e"
        "03e5ad0738c84c9a6c"
        ,
        NULL}},
    {0, 26, {
        "14030300010116030300284ccf87af10970b5cb6c2d58a8e33156e0d0346308f1aed765d66c088ba603ccb49"
        "db63d210c961e8"
        ,
        NULL}},
};
/* pcaps/tls/tls13-resumption.pcap, tcp.stream 1: TCP payloads of frames 26 c>s, 28 s>c, 30 c>s
 * (tshark -e tcp.payload; capture order, up to the frame that ends the handshake). */
static const struct hexflight v_resumed13[] = {
    {0, 26, {
        "160301024e0100024a0303d685d991fcd134e3027ad5e490aa786ec30f57f6a76fd55b593148f4791ba67b20"
        "729f2fdf0b4a3f96e7455d3cd5493b18dd79c909b9b62f42835bb5a935b780be003e130213031301c02cc030"
        "009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d"
        "003c0035002f00ff010001c30000001700150000127777772e6e65747a77616368742e74657374000b000403"
        "000102000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d00"
        "2a0028040305030603080708080809080a080b08040805080604010501060103030301030204020502060200"
        "2b0009080304030303020301002d00020101003300260024001d00204a6efe0be8587e70fd9b92ad486ef6d4"
        "7ce97fc58f184affbf5b6a7c8f4a106e0029010b00d600d0a31c4362a0eaa5d78a4554f1711731abdfd7d5c4"
        "bef3924c9d83ecab4c823f59a14d5229bea912b68836074605761b2adaf2364b32f0a38f96227414b22f7fd6"
        "3b34bff3bbcd8374f0fdc32706f7f7de74fc930c3e29e7b4e505abb216c9843a44eda791fdb2b50f6f3a907f"
        "a3f82c9cebc33f54bf14cfcb47c4fd35e3e19e63d954900fe3bc10d2e7abbc03f6d2aa41b7e0f5b307e11c9c"
        "cbcfadf6afcec3edf32d1329b6468950cb3fd2857737dc8fef402f0be03c87a233f86d58127d07153201f21c"
        "30ed0d4ac3a497b538ba19824c0f28510031301ae8cb01353d7a1b35279afd6757c9c6af4c8adf97a8f2748a"
        "6028c174c0f5601904f1cb907fe09bb1b303768fae54a4"
        ,
        NULL}},
    {1, 28, {
        "16030300800200007c03035eeba200a29a69689488c6b87cf4e97b563737d407401bf74ddbe3df204debcb20"
        "729f2fdf0b4a3f96e7455d3cd5493b18dd79c909b9b62f42835bb5a935b780be1302000034002b0002030400"
        "330024001d00209c21421808787b9e0898d9fcb07cc02789d1fd6cc1c19ec87c2c5bef5bd2ba470029000200"
        "001403030001011703030017b79b72fae1e02de56b830d3445ae844f2a081423757e411703030045929fa173"
        "e87640dc2764b12cdc9e47c2520042c0e867eda2b78582182284f2a7a23fb994559459c44ed84caf80b3336d"
        "7bdd1708d218a3e53ed9b5dd00d91f790becfd6ed7"
        ,
        NULL}},
    {0, 30, {
        "14030300010117030300455c544761db514ecae93a2afe50a18a610281d9368ee7c659e2e6025fefca13c0cb"
        "0ada5800a694aca677ee2e36fc0a9c8cb4b5c526ab804e899e73f5e890d72f64fb5ca22c"
        ,
        NULL}},
};

/* ------------------------------------------------------------------------------------ */
/* probe                                                                                  */

/* pcaps/tls/tls-cert-expired.pcap, tcp.stream 0: TCP payloads of frames
 * 4 c>s, 6 s>c, 8 c>s, 9 s>c (frame 6 at 1795926581 s) */
static const struct hexflight v_cert_expired[] = {
    {0, 4, {
        "160301013f0100013b0303d76107666f0a3a44d9daf0fdd6b55087a960353ab485073d20edec58680415bb20"
        "7f77c86b6b5ab6a5b6fe490104c1a81a1535ea5e612ec905cd5fef46d7aae99e003e130213031301c02cc030"
        "009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d"
        "003c0035002f00ff010000b40000001700150000127777772e6e65747a77616368742e74657374000b000403"
        "000102000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d00"
        "2a0028040305030603080708080809080a080b08040805080604010501060103030301030204020502060200"
        "2b0009080304030303020301002d00020101003300260024001d0020b5f0fd12b23ef5f95ee03ed08d1f2a25"
        "d0b884758d6e395f34220159e0a22130",
        NULL}},
    {1, 6, {
        "16030300410200003d0303f67fb3bc10c81e98f5e3d39fd297a5eb7a3004310ae797f58566385efda7042d00"
        "c030000015ff01000100000b0004030001020023000000170000160303039d0b000399000396000393308203"
        "8f30820277a0030201020214688df6f7c9029a3f626455f9b807064221153316300d06092a864886f70d0101"
        "0b0500303531173015060355040a0c0e6e65747a77616368742074657374311a301806035504030c116e6574"
        "7a77616368742074657374204341301e170d3230303130313030303030305a170d3230303430313030303030"
        "305a3036311b301906035504030c127777772e6e65747a77616368742e7465737431173015060355040a0c0e"
        "6e65747a7761636874207465737430820122300d06092a864886f70d01010105000382010f003082010a0282"
        "01010096189f9181814216e36c9e8b09697a464e255a0bf7e689e239ba539eaa4fa8906845c2f246c9783d46"
        "19d9803a7a9b7f328759d0a9f6fc47ad8e85554dd7aaeddb5a3ed3617262776f81fd129764cd95c1c7b53ad9"
        "f3f14ef3ee1145830b4eecabf117121ab55291ff40e4a82099ced4c62207dcd576eb89f4c438745acaf274c6"
        "235cb51fd00fdc0ee152e92607e5e398658197135b887c28f7ebae04a87b0a2ea2e9c3a591bad93f524d5600"
        "df7bc8131564d72301e6e9422ece1e2eefba8f40b12f2b970e7d77f55d12554281cbf695451a43f1cd2368b6"
        "c214d1f59633b1777995a8e2023880317ab6bfd61a27e2bed606bc225913796535c662ae8980a70203010001"
        "a38195308192300c0603551d130101ff04023000300e0603551d0f0101ff0404030205a030130603551d2504"
        "0c300a06082b06010505070301301d0603551d0e04160414f0eaedf3b5130f81907b234e26377e5352e881e4"
        "301f0603551d23041830168014e2027820d2807cafc30c5c05aedcebbcbfbe5271301d0603551d1104163014"
        "82127777772e6e65747a77616368742e74657374300d06092a864886f70d01010b0500038201010095ed869a"
        "986287b40ecf114dfbc490d080f795e0c65e3b3beff7b05c3694357f1ce9d2223c1e400172822d4fd6f5e32b"
        "18bb1f99c154bf56b379f071187f33dfd19b622b2eb117e3bb0235a81dcf0fb4cdb0c9cb80552fb9598c501b"
        "f62e47172d37ff55552578a5562b775ddcc0b1f8b84e3245dbb5a13bc784afffe17d2fe6e1f4835c5e081252"
        "68be9eb4baecc620156f6267deedd09b90301404582007b77c0356ba0439711af11a10b318ddd60bf75d72d1"
        "55419b84efdb8c4cd8204682563de7a73be497d7b56625c09df1f0de0e4ae34392f7f00f3e8376a182a73368"
        "5ae1aa6069c35f6bb14fb7b26eca4c68717cdf86d8071e478eaafad25015cc62160303012c0c00012803001d"
        "202dc6f1618fbc2fea838b08de3a27b92359af86def6b48f24f7dd0f63049cf46d0804010079aaec7f29b78a"
        "9415f89465ba1c5c85ab04f135a2ca7d6328574843cc8abaae4fea2b2a4c8e8a06d81852e02d2daefd5f9519"
        "fc273cfe4a01fe8c45b62483bcf307bd47cc6c55bf60eb8016e1434fac4dd8cccc21a0d6728838685d944e77"
        "edfc349aa287c81b89844c0ecd5bacd4f68efc72fcea5f0989609ccf21245804647360c8c435b173fede32d2"
        "1f50a3e9e8f2363e15577ada6cb734ad381ac1dc6df8a7603d556d26764e2e230a5670de24c0483695e0e700"
        "a54c7878bc3e0f8c2723419522b4c1563a00264a6c2f9b17acac58cbf0e24d4386af04d4c3b019ddafef7450"
        "95459c049783d9100b1c15800d76c4e6180a03a6586226dd37095488db16030300040e000000",
        NULL}},
    {0, 8, {
        "16030300251000002120220dccf3a89ab4b06380282d462b0c2f2138684dedf7bfa0d6620abd95f8a3151403"
        "0300010116030300280bca334718c0cbc94286bf04f5d4128ba9ffeb6b6e6793c1da3cf05c6a8f422c95daa9"
        "66f1dd89cc",
        NULL}},
    {1, 9, {
        "16030300ba040000b600001c2000b00f35b05f1b7ac6d9d06c7fef0f10ed9a993bd5fcb7733e3b935e99f91a"
        "7370bc544bf936628a2a2e2474a49362b47c67e2c5ea33c272885e8f4308257a9f776441bae682f66fa140c4"
        "1133d9a7c3b8443e5108f573b57a0df0c751948bb4ef872583448a8e970ae6aaa75f3e5618ce159b348de61a"
        "386587f209d86ce4569e642fb9590388b377a13042b4bf4f2afb48f11fb0d9f38e2ee2a74ed6e29c072ce15b"
        "c1cb869848a07ce849ab079a2e796114030300010116030300286be8c9ec51211627f685c0dec14b3864e8cc"
        "c55871afad2ed6df3ed066b3d17a81063aa8eab11792",
        NULL}},
};

/* pcaps/tls/tls-cert-name-mismatch.pcap, tcp.stream 0: TCP payloads of frames
 * 4 c>s, 6 s>c, 8 c>s, 9 s>c (frame 6 at 1795926596 s) */
static const struct hexflight v_cert_mismatch[] = {
    {0, 4, {
        "160301013f0100013b0303b00a54b9a13d21a808924d16edbeb9d03fd3c1ddeb49167b2398334d9421467520"
        "cbee003d4ab6fb7ae390d37c6b0fdaca5f003e928d733e05c9847fb3035e1c56003e130213031301c02cc030"
        "009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d"
        "003c0035002f00ff010000b40000001700150000127777772e6e65747a77616368742e74657374000b000403"
        "000102000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d00"
        "2a0028040305030603080708080809080a080b08040805080604010501060103030301030204020502060200"
        "2b0009080304030303020301002d00020101003300260024001d0020754d05ddeca7130e0c360edd5d8bd1fe"
        "7bf34abb845970d276dde333c6b72b5d",
        NULL}},
    {1, 6, {
        "16030300410200003d0303f1229547bfa97336a17953dde7d51112007a497bbb1325c23917eeacbcb27f7600"
        "c030000015ff01000100000b000403000102002300000017000016030303a10b00039d00039a000397308203"
        "933082027ba00302010202141485d9fdf7d468ca2adabc8e41403adc98460992300d06092a864886f70d0101"
        "0b0500303531173015060355040a0c0e6e65747a77616368742074657374311a301806035504030c116e6574"
        "7a77616368742074657374204341301e170d3236313132393034323830305a170d3237303232373034323830"
        "305a3038311d301b06035504030c1477726f6e672e6e65747a77616368742e7465737431173015060355040a"
        "0c0e6e65747a7761636874207465737430820122300d06092a864886f70d01010105000382010f003082010a"
        "0282010100cffb4cc1dc4cfdefd2b5a41dea9edc308d79a2f9b9c1031876b7d18384b91d0fa066463c4b949d"
        "53617f4bb084f92a75d874c199d12832466d7484d2d5c2914c0906d1f020442adacdf56f637d3424b1a586f9"
        "e2593ce57d8d674a44d7328548b001b4f4dd905d63770da0db9cc195f185cbae60ad3345fa15a8c834880818"
        "66c948f0b727608738217b95fcd6b8154886bd7f91dd5906d0c92a134de009f15e86c2ff1ce53cdcc1f955ac"
        "8327c95ca2aa13b817cca573789acc8218788dbcbd5e560ea885f21f6825428a72d24779dab128b2705035bd"
        "e20e1eb775c7e56ee3ebedadc6d1c5ca61826b7c7fb2b7ad14c00befff5858e548c22acf97ac15dfdf020301"
        "0001a38197308194300c0603551d130101ff04023000300e0603551d0f0101ff0404030205a030130603551d"
        "25040c300a06082b06010505070301301d0603551d0e04160414914f81bfd06f14bc4a872d62f0ddee425d06"
        "1205301f0603551d23041830168014e2027820d2807cafc30c5c05aedcebbcbfbe5271301f0603551d110418"
        "3016821477726f6e672e6e65747a77616368742e74657374300d06092a864886f70d01010b05000382010100"
        "344d024f1a0d9627b694f70d5524f0218ad63dfd13e7e5b0289e70600320d84da8aae7e6b0829dfb4151f618"
        "1920cc54e28ce553ab0bfce4031bddf049d329a69886d49dd59ab321bf5c7f8fe409358e242af6d77cd2f476"
        "ca555d404d5c45774aadbdfcd05c160c84c8dcc3e405c2ff716ac483c72315983734b232f975a9ce0c4419ba"
        "7cc6fe320eb69bd69a99ad1136236822300a0bbf0d4f27f8a33824cc6b22988d3aed28a48cb1acdac6f3509c"
        "fe3524afcca45a7ba7d16dedb09e83f525d4b2f04e1402d3c1f1a637264fa6ff012f771b957b17b532f20447"
        "1216340c481837e8e7efa74a1ece303607f7665ac7832243b74e5fabbb95f982b4b4ab3c160303012c0c0001"
        "2803001d20f0ac851ed3a6c0d722867cddb679a99098968d04013632b54a47c022cafc6316080401005ca5fc"
        "e42f2057fad3b4203246dab6f4ba0334dbe4624b5e265357cb8c3bf0b23bda35ae1754e478660ebd230c9090"
        "103e1bc8e03ef1c4fc1b24b6adae58fa0ad357c57ca2bfbc113e46d64b32c6d0bf19965a9d5015cd68d91709"
        "83d0333a1da4c5638da1aef9178f8379e3cfbe9a0609e01608a35c4938f922cd076803b2cccc82a2c35ad868"
        "567abbf339558b9f32be793fc2f047d316c3e1849f52ee8b688f26278b24c3f41bb733be469b61ebfa9e3063"
        "0ec663af7bcab27c0ba1924081fc570d1ba95ddbe48b7d4bfd9b53185eadd08fb6e3b5d656e04752ad852fcc"
        "77804c02ec4392f4b2466d9ac53f9a3520af7ca326e1c105559f1a69e5c4ceebbf16030300040e000000",
        NULL}},
    {0, 8, {
        "16030300251000002120b199baa8c6683cbde8efb916c3493d348754b26e3f7159ca4624f2d2aa60dc7d1403"
        "030001011603030028979c82b794d42eb675f27390a76e94bcaa48e4bcc449f6430509e8724a9ddcabfcaa87"
        "43f31bb029",
        NULL}},
    {1, 9, {
        "16030300ba040000b600001c2000b04117462bf0c6e3692ff51427bc9c1fe4d1143c338f96a8d416b173fb72"
        "2b43115980cab9badbe26e9acb29613c9b351b653ee9ca814a4ce537e94723a8e1e4ab14c99c071b843d0d69"
        "bbf8c477752c9ef4c58300508f8ceb97470351a522d9789df2f3064f50af9b032e2391d7b967ab4997305015"
        "bcaa48f8eab1fae62d319c75a7205a4c66fbfed492e7da52dd5cf2df957f3640b5542442a167a9ee5daeca90"
        "aec097cf6dff97fdedd39f7b8170f11403030001011603030028fc464138204764cabcbdc16a5e8c228dbcda"
        "01b83f41a18b844719affaa4a7215e034a766c6c71bf",
        NULL}},
};

/* pcaps/tls/tls-cert-rsa1024.pcap, tcp.stream 0: TCP payloads of frames
 * 4 c>s, 6 s>c, 8 c>s, 9 s>c (frame 6 at 1795926589 s) */
static const struct hexflight v_cert_rsa1024[] = {
    {0, 4, {
        "160301013f0100013b030305c6d3ba40844c47b8ab913d919ddc5c8c70778d063fe90d895a3bb6735a6a3a20"
        "ef2b6fe8c21be9eaa43256a806bc17362bfa7ad515fe1bf2cef39b72988967db003e130213031301c02cc030"
        "009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d"
        "003c0035002f00ff010000b40000001700150000127777772e6e65747a77616368742e74657374000b000403"
        "000102000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d00"
        "2a0028040305030603080708080809080a080b08040805080604010501060103030301030204020502060200"
        "2b0009080304030303020301002d00020101003300260024001d00203e32c5ebdac26f956e083fb68500ce5a"
        "c5490629fbe09467e2313231d7945863",
        NULL}},
    {1, 6, {
        "16030300410200003d0303faafbeca8d29c974433e5525c9efa5177752237ed78143eb0b0677d787dbafb700"
        "c030000015ff01000100000b000403000102002300000017000016030303190b00031500031200030f308203"
        "0b308201f3a003020102021474d06154b60cd9475f091ecfaba0f737d48dffd6300d06092a864886f70d0101"
        "0b0500303531173015060355040a0c0e6e65747a77616368742074657374311a301806035504030c116e6574"
        "7a77616368742074657374204341301e170d3236313132393034323735385a170d3237303232373034323735"
        "385a3036311b301906035504030c127777772e6e65747a77616368742e7465737431173015060355040a0c0e"
        "6e65747a7761636874207465737430819f300d06092a864886f70d010101050003818d0030818902818100a8"
        "1aeca6a201063326806701203a040c7589515b37e4594d0d8a2dd790ef4c79cc07927652e18cf8c3ee3c72b9"
        "7777d34154ba96611801c2a31d53a72a9b4f4b12a6035e30b4bfffc1b4e544661fcaffe6bcbd5263514e9ee6"
        "f33026e851fb54987fb4e80e2878775b09b60d9fbbcc4394fd95d2a8e1b851c6b186c5549e0e6f0203010001"
        "a38195308192300c0603551d130101ff04023000300e0603551d0f0101ff0404030205a030130603551d2504"
        "0c300a06082b06010505070301301d0603551d0e041604144e92c76e77507f63b53b5796076546dc5b8b11e8"
        "301f0603551d23041830168014e2027820d2807cafc30c5c05aedcebbcbfbe5271301d0603551d1104163014"
        "82127777772e6e65747a77616368742e74657374300d06092a864886f70d01010b05000382010100a1b9c4e8"
        "f1d36c276e010eaee63916b2d605315923c98b927d69a5a108c96a170f0cec899aed4e3ed9c5cddb3fa140c1"
        "91f4a88f21c79493ed38e51b8d6ed33d8380780b8fa0f4e3872a1afcfb71ed2584533bf0cb77626fa1708d4c"
        "71fa7e3b6215d7d6c153647ff17c4849dc5ca8893a2daeff911431c3eeafc44447a631112077533a3eb2d8be"
        "850a3d414d8104ed6b21273a62a20a3a2546e0b41d570c37386465874474554e4ee45ab86f0f1c63b0575f8e"
        "6e37d1cbee22f06bb2ffb333c7aa5df2be25c76abadb4c540b68a084a5c8da5c8c90820a4538117eaa8a2b20"
        "09da2c66b050860e9703727ebe481f9b4254458aabe2759904b080142a0415ba16030300ac0c0000a803001d"
        "20ab0000273822ba50ade0c75ad83b50168086cd71d11dbc3301270c2d48a17a10080400809220ca636c124b"
        "2196a67f3a62ad16e938223c2a4fb96fd8ac1d87ecdc571059b5bc0fead6198cfc3314a7a761d8dd7b86e8da"
        "18ab78a07f7a022ac86018a1c421f475587440fc804460e48a4a52c53dab59c313178daba7be4020ce6cab36"
        "7af7a1dd73d47dabea32b6b2ac73350dd47844e4634c97d8737e6cb026e0ebb3d116030300040e000000",
        NULL}},
    {0, 8, {
        "160303002510000021201bdefa2e9cc2098fe27c615388ff9540817cb20f26adaac4e899fc792b1fee1a1403"
        "0300010116030300287ee222ecd793582f971818534e8997ae36d8078b7f02720fcb9c06889c136dd299c238"
        "73f9f4a1ff",
        NULL}},
    {1, 9, {
        "16030300ba040000b600001c2000b028eb0b94f2a1a8461ccd2b8531c02eb49e41f9cdbdcb762dd21a8d22c9"
        "c3b08433718fdd5bce276b10309c2b8861921ba830ce2d072ed7835f050076c4e8d7ea0c633e1575d595820d"
        "5ce182a2af5113c9a1044b8029e27ef1a22b3bacac149ac906a0d11eae07430a041f0c52c3ace1c7492bf122"
        "4230bafb4d3f0d1d7185eb1e122d0ab278a32a3e103449bca09759f314f58fc0e1ae2ee12a939089cf6c62ec"
        "ead46a3dff1f05d903fe29586f01791403030001011603030028d87f7f8d0824b29f1fb6e2968ef8d4af98b4"
        "78f0d98c029249e6d3e0bdc30ff8e8fa367db6ae3d95",
        NULL}},
};

/* pcaps/tls/tls-cert-selfsigned.pcap, tcp.stream 0: TCP payloads of frames
 * 4 c>s, 6 s>c, 8 c>s, 9 s>c (frame 6 at 1795926585 s) */
static const struct hexflight v_cert_selfsigned[] = {
    {0, 4, {
        "160301013f0100013b03039e97677544d09d1a8c4b5f1dd97bfd97446b4edab69c444f4583285faff5a96320"
        "83b32a1d08f409a0542e8ac1aead8b87a536509689d369f4bc6352eadf824fc0003e130213031301c02cc030"
        "009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d"
        "003c0035002f00ff010000b40000001700150000127777772e6e65747a77616368742e74657374000b000403"
        "000102000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d00"
        "2a0028040305030603080708080809080a080b08040805080604010501060103030301030204020502060200"
        "2b0009080304030303020301002d00020101003300260024001d00207368edb1574cf62e15e88bbadd45988d"
        "5293240449ac5e1d724cbbddadf36f26",
        NULL}},
    {1, 6, {
        "16030300410200003d03036ba0bbeba4afc324192794d7d0fc730420f2827b6e1d006bd99ca240aa42b81800"
        "c030000015ff01000100000b0004030001020023000000170000160303037b0b000377000374000371308203"
        "6d30820255a00302010202143d425fc321aba37ac7fe89780e9fea4920de972b300d06092a864886f70d0101"
        "0b0500303631173015060355040a0c0e6e65747a77616368742074657374311b301906035504030c12777777"
        "2e6e65747a77616368742e74657374301e170d3236313132393034323735385a170d32373032323730343237"
        "35385a303631173015060355040a0c0e6e65747a77616368742074657374311b301906035504030c12777777"
        "2e6e65747a77616368742e7465737430820122300d06092a864886f70d01010105000382010f003082010a02"
        "82010100bf5b9e652b25e77147a0499611ea5bb3fc75f30aaa8335f43c3453120e413850701779ca628d31d1"
        "4338a54c7f1c366f7101e832aea583a7c10f907de8fc646029f2dc0bd71f086d266d9cde82bce078a14b465f"
        "9d5ad8d6b951339e9f79ee2b2088e1222be755f5901f39b329d1dcdd03f4b5b375f0060d5aba1da97d2a21b2"
        "dc424d3745fbe322d4b8512fead120b9a880debc99da468fb296c8a5c18a9ff48429e6da1e0d9ffd8732f98a"
        "ed1cec494f7ae577859e4231047c8eab0a90f183bd6da68949f84d6781dd214b95eeb3ebe23db4a10409309d"
        "817426407a497985f9495e02309f5533508a56917180a327ed8d1e794c9485698fdbf66d2988986b02030100"
        "01a3733071300c0603551d130101ff04023000300e0603551d0f0101ff0404030205a030130603551d25040c"
        "300a06082b06010505070301301d0603551d0e041604149afb3cd35d0b46096b31faa7611f7e7ece00b66e30"
        "1d0603551d110416301482127777772e6e65747a77616368742e74657374300d06092a864886f70d01010b05"
        "000382010100983bf60a2af6a062f359441094716aaa116d45eee12a6e6694be3b21804d3e4377d18abdeedf"
        "a124df8870794846b030565f344c79d9bbced957aa34253629097712663ba7c4fa353ba66d21c19a60ac4dce"
        "f5ef7bbbd8999ba642c43a2b43e4487ac7e8915069e9c8867a4fb6312aaababe5ca1893ecb665eb2094ab489"
        "3ec56f2f081b6e3fa38ffdc2f649f5690c4f59a62fd9eb8b8ea8e217708403a79d570bc177e1274ea39cb889"
        "fc49a2cf88fd688659a549e277e1e4a27514fdab77b6cd19db2ac4b7d909f7c6d30469c9e4f9dcf1cf0076a9"
        "c045e381dfb08e08f3c960434597cc9adad022598a33dcd1c9d8926cb001258da120b7f18992bec1cd3a1603"
        "03012c0c00012803001d2030338fee803ac1689bbe1d20fe1e295032a4b92a8590bda3924570daf7df8c5208"
        "04010098aae510526aae2d7780996762b8de0596719d5b579b10090e69efde6cac80f48d1a029c25f48556d3"
        "bd482c097b68627cb22b72c29e8eb93f48d9fdf7db352c7f7dee9759951a06bfb44b041a6070c06f9c40fe39"
        "6b52bb2cfff1ba886de980279cfc626caa12562ed3d9ec079f794b3c32858d2805fd2a3daee6933cc2819b51"
        "0c782a92c8215a888d2095766cd9762842bde830da23bf34a1606960a12da66e7513fdae90b8a860e7c83331"
        "856a69fbf0068e02b1741877b8aa33f3559218285ff2a201206081c4a68d738f6a011fc26cb21d87368fff84"
        "ccefeca9a4eaf353ce8fbc2bd023f8fec9ea9dee322df04d0b09730e501e8d07ace3e9f7eafc451603030004"
        "0e000000",
        NULL}},
    {0, 8, {
        "160303002510000021203726a58613d0565b9ddff3a868c7c9f3f9911e349c3ba7e0d8ee9168780020281403"
        "0300010116030300284115c5cbed2db6cdbfc392d1a8edcba5d6739619f80ca3a8afee9ef72c123fc50f736e"
        "5a7f39f0d0",
        NULL}},
    {1, 9, {
        "16030300ba040000b600001c2000b082fd125af751eac625e88b5b2ba087ffddf5dbab08b3f89b49efdbba62"
        "570978fbb68ba0270ed2a4d1777f475372f66af4de3f502b40b7e93166ef5911f229e8ca4ac31dc79ea14e01"
        "2cf462d737aedd82ef0513df1b421df97f15680d415cd9c2bab007758e100f73b39a2b6a4b8ef2f19aa0f409"
        "48bcb707ce364ce5e7736756455d8b6ccbb1b950be998ee347aada23c3c4526de32d36d4cfc27270c4e9c8cf"
        "99377220ff59558f4bc8ecad67ed4614030300010116030300287f38035183b55ea28705c78040c09e80122b"
        "afc53317bc1d497e0d843d5716ee6fae9ff195b90618",
        NULL}},
};

/* pcaps/tls/tls-cert-sha1.pcap, tcp.stream 0: TCP payloads of frames
 * 4 c>s, 6 s>c, 8 c>s, 9 s>c (frame 6 at 1795926593 s) */
static const struct hexflight v_cert_sha1[] = {
    {0, 4, {
        "160301013f0100013b03038a90792b775b79d36b6fa519dbb84458c0e85f0191751dbd40d14c918f80206320"
        "9963b4c4bf774929ecf0a2be501b026087e91af52827f50741170920f958add8003e130213031301c02cc030"
        "009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d"
        "003c0035002f00ff010000b40000001700150000127777772e6e65747a77616368742e74657374000b000403"
        "000102000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d00"
        "2a0028040305030603080708080809080a080b08040805080604010501060103030301030204020502060200"
        "2b0009080304030303020301002d00020101003300260024001d0020fc2448ee3649d044cc81ea983d5a41be"
        "92b6fdcff2d5d9dff2127acfb5440562",
        NULL}},
    {1, 6, {
        "16030300410200003d0303428f89116296fee09bb8b6e0b23da6c3da55640c39578cca576542d20bf6e85400"
        "c030000015ff01000100000b0004030001020023000000170000160303039d0b000399000396000393308203"
        "8f30820277a00302010202146d6d58cecc936d1919b8288a76994375637692c0300d06092a864886f70d0101"
        "050500303531173015060355040a0c0e6e65747a77616368742074657374311a301806035504030c116e6574"
        "7a77616368742074657374204341301e170d3236313132393034323735395a170d3237303232373034323735"
        "395a3036311b301906035504030c127777772e6e65747a77616368742e7465737431173015060355040a0c0e"
        "6e65747a7761636874207465737430820122300d06092a864886f70d01010105000382010f003082010a0282"
        "0101009f422f0156e30c0024b3d30d8704a381a92436b6813780df1613652325c4c45696b679a6e0acace2c0"
        "b440778fe7ee1828ba0a54765cdeab159401bf0f1e6953b51c1df922559009f26eaf43962809dd04f02e631f"
        "3b452d920bf445d8c87dec1be894a33de056902110afb31c688678c446b792fddeb3cdf189ab9ab8ac650e77"
        "c23cf828c07b728141e2fcf68ad2a49966218fcc146562474570a1330dedb218d39592f25e56c3210d46d6eb"
        "5305821c9cb6e84b8f8205e0e3409d96401300903d39c7752e02d1f252951d5ab4aad8f155eef46fbb0b0486"
        "8e6b1eeeb1b0b6c93ef79dbca91064ff52f43705e7c034974790114fcfb0eabfe9e601d27860090203010001"
        "a38195308192300c0603551d130101ff04023000300e0603551d0f0101ff0404030205a030130603551d2504"
        "0c300a06082b06010505070301301d0603551d0e0416041450a5904911d56730cef36fd5da71e1f902921f1b"
        "301f0603551d23041830168014e2027820d2807cafc30c5c05aedcebbcbfbe5271301d0603551d1104163014"
        "82127777772e6e65747a77616368742e74657374300d06092a864886f70d0101050500038201010089c21a55"
        "69d97f76190c98b2b618bdab8087723cc68ab940dc8f7292144be2c89d8a9249bbb9ac6013c27643c6035f30"
        "c1c71c675b7574c355ac83cff26ea7e56811f2ac7f727f63e6e155fe4dd67aeaff912d9d8e0705383ecb0fe9"
        "08177befe3ca5c4015370317d67e37f8744f535976ccbedc51b7a650351be937c2bf2bf39d5697e7a66f4d9b"
        "8bf5ab97a2eb153986e50bb3ea4f4e22c0d3e3c0b9d28dbc4946bdb06782cb9f3844459312c74419b32d147d"
        "6cfff9708d59313aa7258a918094eda21d649dbc3c1a8c9316125119404f7bb73aaea20489683f01e97d8c37"
        "42bf23924c348819d76161502075c0bf49e20721aae83fd5eeba1793dfe96986160303012c0c00012803001d"
        "2035b67abd8f026406e0666d3743c54b633870c3eaed077fd6b93b4a4d08e086270804010009e7194fd96d80"
        "b5099cd67df1beaad7b60a38b6bceef65314422c65af9609468c94a6352a2503dad02381b378e465fa563753"
        "2b8e2fe1e96c5ffc0ab35b11f7451c540d490bf1ebd86c0bba7aeb8b05d92c069401538f38b89d7d5f6fc64f"
        "8833a9615404abe00d6ae85e954073cc5d994f47edaabe04c7478b496bc1f73ff9a22d5ab20e4b06a5bada0c"
        "c1a8bd49cf6be4c71e1ec3be2a5c5a3114ddcebae923b4f58f6850ab8a439ea5e1ae555d3ca9d2a19ca07681"
        "b7d660d2c6bedbec4f2d7502798b3576ac53541875a372c30f5518757d78c24b281cc11b08521d8c29ea1c2e"
        "c724128ae77ef0982b5dbd2c82cef6a7ee4714543ed72f8d260d0a886016030300040e000000",
        NULL}},
    {0, 8, {
        "16030300251000002120c1f3864f64ea8574a9a4d33c5103c8e38e946be4f817d8b5ef85c100f3dd6a211403"
        "030001011603030028a3034f6038716b1a7e10409599e5bf8de21875103a2b33e9d128014f24193d34733ee1"
        "50c65754a1",
        NULL}},
    {1, 9, {
        "16030300ba040000b600001c2000b00c6e57812cf06377fe7240ed02fb120ad3ed3c893627e7e6451968e4ff"
        "a1949ab9a5fd5be7200c6eefeb31cbf3ad5bf65c92c0207f2c1d4505492800dcc643551bd429e7a32775f13d"
        "61a80cc6309427fdc0ff8911bb9b75789f8f4b792ade8f430d9a71e97abbce2edd13ab3411b8b2709b49fe29"
        "928d0a105cc24f2a871c7721b2b3febaa0754af24829ae041402fca8d29829be4594af6020326a8a3088c9c1"
        "fa654b3cf6e571ba32fc5a5b4b1b18140303000101160303002846ad336fe4bc498f77a574cec811224c5f3c"
        "b9595d95b637d395e6cb30a078157a75ed55a1342f8b",
        NULL}},
};

/* pcaps/tls/tls-cert-valid.pcap, tcp.stream 0: TCP payloads of frames
 * 4 c>s, 6 s>c, 8 c>s, 9 s>c (frame 6 at 1795926577 s) */
static const struct hexflight v_cert_valid[] = {
    {0, 4, {
        "160301013f0100013b0303e4339e16e6cdbe89ceec70361bb30534ac031175a22598f6c7a29592b7c18d4d20"
        "369991c58981a083e5c45a28c6c414e8f26dc67f84eba3246457d3dffd53d93a003e130213031301c02cc030"
        "009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d"
        "003c0035002f00ff010000b40000001700150000127777772e6e65747a77616368742e74657374000b000403"
        "000102000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d00"
        "2a0028040305030603080708080809080a080b08040805080604010501060103030301030204020502060200"
        "2b0009080304030303020301002d00020101003300260024001d0020c02b1703eeb155353a912a896dee2b83"
        "18ccf8798de3fffbc84d28f177b65b30",
        NULL}},
    {1, 6, {
        "16030300410200003d030352ee2972a5b4c952eb2f62f274ecdfe1f0de0874e4ee40a43ea22dc3cf54242700"
        "c030000015ff01000100000b0004030001020023000000170000160303039d0b000399000396000393308203"
        "8f30820277a00302010202145014dcda688e8420a0d2c959520490a258a9b9f4300d06092a864886f70d0101"
        "0b0500303531173015060355040a0c0e6e65747a77616368742074657374311a301806035504030c116e6574"
        "7a77616368742074657374204341301e170d3236313132393034323735365a170d3237303232373034323735"
        "365a3036311b301906035504030c127777772e6e65747a77616368742e7465737431173015060355040a0c0e"
        "6e65747a7761636874207465737430820122300d06092a864886f70d01010105000382010f003082010a0282"
        "010100b8e9885af600708efe44e75e00be9471f48b67a74b11ea232c621a6c49f1cacd6132314fec3da5ba30"
        "114c814079ddeb6f506668ce819b00bbbe88c8725214142f355bbe097d1c2b3b896b74942e201d20c44eb88b"
        "fbc1b259c8eb61a676549dcb67f00a0c3a2c2a89e9b1ffda20de72dc8762e60c8903d2a62e688b4306e9a428"
        "e4eef4b61d3911c8471f531504d7ec5a0079e936888785ca012405637455a83a283afefb751c93f5f2ceaa22"
        "aa4f8339df31867a9a57ed325aeba291b0c89d1aa11f38e7332655f03e631d3a04986d16917996b00380cfa4"
        "0463eacc48e6950adcf9dbe0ca29661ce2fe02fdcb1615087cb5271aee542ecb34bf08ee495c2b0203010001"
        "a38195308192300c0603551d130101ff04023000300e0603551d0f0101ff0404030205a030130603551d2504"
        "0c300a06082b06010505070301301d0603551d0e041604146abfbec50dc9d40e604c0735de0befde377d1d3a"
        "301f0603551d23041830168014e2027820d2807cafc30c5c05aedcebbcbfbe5271301d0603551d1104163014"
        "82127777772e6e65747a77616368742e74657374300d06092a864886f70d01010b050003820101002e58002d"
        "cc298eae92aa7070bcfc0968ee9634356fd2e11d45cafbcf86fc59b908db41c74c9646165371d2347a3a7bbc"
        "da37536c2964fb19efa093b1e2e62f9f57e06b364433f0594e1de4f0bb6ce47778b161d34867f4d501aee7f4"
        "9b0ed7e8f99d109be699b746ac77d22d067d9645123863266c80e7d15eeb81d7e02e66a3b950543914b66ab7"
        "554fa2fa2b108d31941e6c46a9fa037c12070e4182e2ee0eaf7ff740d0692a64b144f3ead213c4bd8f181af2"
        "017fae5211bdcf5fa5a00584cb9755f4f24cf6d586b9e6552da95aa501f9aabc48e50b64582b0ac251bfcd78"
        "1b493f1c5d927464442a4a49e15184cadf3f32986a212a943996b16d4da7d0b8160303012c0c00012803001d"
        "201ec9d7e0b928ef63464cfe7e4035088077935d3f8d4d5d7e7deabcaff0e60c1d080401008611ee79dbb85e"
        "4b01937d915f4ebce09541c5b670e3ab2389cfceccbb2b3b274991a2979e95c25f0afc2c2256fe4bc9d73ef8"
        "68ac885043143468bc1dae7f55871d367e0b339e9b6a31184c595854d1e9844a1ed1aece8bf86e058ff56e6f"
        "9355e70c01b067ddd9ef4b5c231a02483db00fe0dfc162e9b5361ac89944610452fb304781ac24c5e7bc611c"
        "74719b955082dc8cd105c467513c2af2cf9987dbe6d158aa8ca0270bf392737ef3ae85be3eae380abd99f45e"
        "a4c90cc13e7c9ed585ad19730f4f82e08c38a91ba65018ab9130b8fb8cb6e09cdfd36429f4cea869e85ec2a1"
        "5acf6424742d7562161ef365ca7ef6a796cf735e724ec0667b16527f7716030300040e000000",
        NULL}},
    {0, 8, {
        "16030300251000002120661bdd10302ad666647ecdbe4d532862d8be56def8938f5ce2f74bf817ddb9611403"
        "03000101160303002894d69470de02d7994ba12f8d894c3f8f2751a23808cdaba73c8da8139d9818727b1724"
        "4fcc56a2d6",
        NULL}},
    {1, 9, {
        "16030300ba040000b600001c2000b0475c2e68cb11d876ea17c1cfa169748b47697379a6e77192a341efe36f"
        "03c359a078985e8b90ac01ca15bbbe6e8022a09d7836c94db6a7fcc13129570a7a34185f6a45d6b053584454"
        "27748b55b8bb69442503eebf9d4e9b8fbd6e5b11e19ce7f424a3ff0c4d12b3612631facb957ef43e14e1800f"
        "8bbd03c3fe0e024a23cd745b22adb8bc316ad670247377149491aa90029ac2e9349df234c58299d29f9b8a26"
        "f4c589995fc878b01b6e4f5a77e8b11403030001011603030028a3b83bb5c93ebbf4e5eb486f4e3d40bb1bd6"
        "9e78121fa588e231850d3b374f0d14f8a2eafdddc97e",
        NULL}},
};

static enum dis_probe probe_bytes(const void *p, size_t n, int dir)
{
    uint8_t *g = tu_guard(p, n);
    struct bytes b = {g, n};
    enum dis_probe r = tls_dissector.probe(b, dir);
    tu_guard_free(g, n);
    return r;
}

START_TEST(test_probe_client_hello)
{
    struct conv cv = {0};
    CONV_HEX(&cv, v_tls12_ecdhe);
    const struct flight *ch = &cv.f[0];
    ck_assert_int_eq(probe_bytes(ch->p, ch->len, 0), DIS_PROBE_YES);
    ck_assert_int_eq(probe_bytes(ch->p, 6, 0), DIS_PROBE_YES);
    for (size_t n = 0; n < 6; n++) /* 16 03 01 01 3b: not enough to decide */
        ck_assert_int_eq(probe_bytes(ch->p, n, 0), DIS_PROBE_MAYBE);
    const struct flight *sh = &cv.f[1]; /* mid-stream pickup: a ServerHello opens the stream */
    ck_assert_int_eq(probe_bytes(sh->p, sh->len, 1), DIS_PROBE_YES);
    conv_free(&cv);
}
END_TEST

START_TEST(test_probe_rejects)
{
    ck_assert_int_eq(probe_bytes("GET / HTTP/1.1\r\n", 16, 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_bytes("EHLO x\r\n", 8, 0), DIS_PROBE_NO);
    /* bad record version, bad minor, handshake type 11, length over 2^14+2048, length < 4 */
    ck_assert_int_eq(probe_bytes("\x16\x02\x01\x00\x40\x01", 6, 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_bytes("\x16\x03\x05\x00\x40\x01", 6, 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_bytes("\x16\x03\x01\x00\x40\x0b", 6, 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_bytes("\x16\x03\x01\x48\x01\x01", 6, 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_bytes("\x16\x03\x01\x00\x03\x01", 6, 0), DIS_PROBE_NO);
    /* application data and alerts are not a way to start a TLS stream */
    ck_assert_int_eq(probe_bytes("\x17\x03\x03\x00\x40\x01", 6, 0), DIS_PROBE_NO);
}
END_TEST

START_TEST(test_probe_sslv2)
{
    /* SSLv2-format ClientHello (RFC 6101 App. E / RFC 5246 App. E.2) offering TLS 1.0 */
    static const uint8_t v2[] = {0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10};
    ck_assert_int_eq(probe_bytes(v2, sizeof v2, 0), DIS_PROBE_YES);
    static const uint8_t v2ssl2[] = {0x80, 0x2e, 0x01, 0x00, 0x02, 0x00};
    ck_assert_int_eq(probe_bytes(v2ssl2, sizeof v2ssl2, 0), DIS_PROBE_YES);
    static const uint8_t badver[] = {0x80, 0x2e, 0x01, 0x03, 0x07, 0x00};
    ck_assert_int_eq(probe_bytes(badver, sizeof badver, 0), DIS_PROBE_NO);
    static const uint8_t badtype[] = {0x80, 0x2e, 0x04, 0x00, 0x02, 0x00};
    ck_assert_int_eq(probe_bytes(badtype, sizeof badtype, 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_bytes(v2, 2, 0), DIS_PROBE_MAYBE);
}
END_TEST

/* ------------------------------------------------------------------------------------ */
/* fingerprints (fp_* directly)                                                           */

/* The worked example of FoxIO technical_details/JA4.md ("JA4 Algorithm", "Example",
 * "Raw Output"). */
static void spec_hello(struct fp_hello *h)
{
    static const uint16_t c[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                                 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
    static const uint16_t e[] = {0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d,
                                 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015};
    static const uint16_t s[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
    memset(h, 0, sizeof *h);
    h->legacy_version = 0x0303;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        h->ciphers[h->n_ciphers++] = c[i];
    for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
        h->exts[h->n_exts++] = e[i];
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        h->sigalgs[h->n_sigalgs++] = s[i];
    h->has_versions = true;
    h->versions[h->n_versions++] = 0x0304;
    h->versions[h->n_versions++] = 0x0303;
    h->has_sni = true;
    h->has_alpn = true;
    memcpy(h->alpn_first, "h2", 2);
    h->alpn_first_len = 2;
}

START_TEST(test_ja4_spec_example)
{
    struct fp_hello h;
    char ja4[FP_JA4_LEN], raw[1024];
    spec_hello(&h);
    ck_assert_int_eq(fp_ja4(&h, 't', ja4, raw, sizeof raw), 0);
    ck_assert_str_eq(ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
    ck_assert_str_eq(raw, "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,"
                          "c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,"
                          "002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601");
    /* "If there are no signature algorithms in the hello packet, then the string ends
     * without an underscore": ... = 6d807ffa2a79 */
    h.n_sigalgs = 0;
    ck_assert_int_eq(fp_ja4(&h, 't', ja4, raw, sizeof raw), 0);
    ck_assert_str_eq(ja4, "t13d1516h2_8daaf6152771_6d807ffa2a79");
    ck_assert_str_eq(raw + strlen(raw) - 9, "4469,ff01");
    /* raw output is optional and may be truncated; the hash is not affected */
    ck_assert_int_eq(fp_ja4(&h, 't', ja4, NULL, 0), 0);
    ck_assert_str_eq(ja4, "t13d1516h2_8daaf6152771_6d807ffa2a79");
    ck_assert_int_eq(fp_ja4(&h, 't', ja4, raw, 20), NZ_ELIMIT);
    ck_assert_str_eq(ja4, "t13d1516h2_8daaf6152771_6d807ffa2a79");
    ck_assert_uint_eq(strlen(raw), 19);
}
END_TEST

static void alpn_case(const char *bytes, size_t n, const char *want)
{
    struct fp_hello h;
    char ja4[FP_JA4_LEN];
    spec_hello(&h);
    memcpy(h.alpn_first, bytes, n);
    h.alpn_first_len = n;
    fp_ja4(&h, 't', ja4, NULL, 0);
    ck_assert_msg(ja4[8] == want[0] && ja4[9] == want[1], "alpn %s: got %c%c", want, ja4[8],
                  ja4[9]);
}

START_TEST(test_ja4_alpn_rules)
{
    /* the spec's examples for non-alphanumeric first/last bytes */
    alpn_case("\xab", 1, "ab");
    alpn_case("\xab\xcd", 2, "ad");
    alpn_case("\x30\xab", 2, "3b");
    alpn_case("\x30\x31\xab\xcd", 4, "3d");
    alpn_case("\x30\xab\xcd\x31", 4, "01");
    alpn_case("http/1.1", 8, "h1");
    alpn_case("h", 1, "hh"); /* a single character is both first and last */
    alpn_case("", 0, "00");  /* empty first value */
    struct fp_hello h;
    char ja4[FP_JA4_LEN];
    spec_hello(&h);
    h.has_alpn = false;
    fp_ja4(&h, 't', ja4, NULL, 0);
    ck_assert_str_eq(ja4, "t13d151600_8daaf6152771_e5627efa2ab1");
}
END_TEST

START_TEST(test_ja4_version_and_counts)
{
    struct fp_hello h;
    char ja4[FP_JA4_LEN], raw[4096];
    ck_assert_str_eq(fp_ja4_version(0x0002), "s2");
    ck_assert_str_eq(fp_ja4_version(0x0200), "00"); /* not SSL 2.0 (nDPI's trap) */
    ck_assert_str_eq(fp_ja4_version(0x0300), "s3");
    ck_assert_str_eq(fp_ja4_version(0x0301), "10");
    ck_assert_str_eq(fp_ja4_version(0x0302), "11");
    ck_assert_str_eq(fp_ja4_version(0xfefd), "d2");
    ck_assert_str_eq(fp_ja4_version(0x7f1c), "00");
    spec_hello(&h);
    /* GREASE in supported_versions is ignored; the highest remaining value wins */
    h.n_versions = 0;
    h.versions[h.n_versions++] = 0xfafa;
    h.versions[h.n_versions++] = 0x0302;
    h.versions[h.n_versions++] = 0x0303;
    fp_ja4(&h, 't', ja4, NULL, 0);
    ck_assert(strncmp(ja4, "t12d", 4) == 0);
    /* only GREASE: fall back to the legacy version */
    h.n_versions = 1;
    h.versions[0] = 0x1a1a;
    h.legacy_version = 0x0301;
    fp_ja4(&h, 'q', ja4, NULL, 0);
    ck_assert(strncmp(ja4, "q10d", 4) == 0);
    /* no supported_versions: legacy version; SSL 2.0 = 0x0002 */
    h.has_versions = false;
    h.legacy_version = 0x0002;
    h.has_sni = false;
    fp_ja4(&h, 't', ja4, NULL, 0);
    ck_assert(strncmp(ja4, "ts2i1516", 8) == 0);
    /* counts exclude GREASE, include SCSVs, are capped at 99 */
    spec_hello(&h);
    h.n_ciphers = 0;
    for (uint32_t i = 0; i < 120; i++)
        h.ciphers[h.n_ciphers++] = 0x0100 + i;
    h.ciphers[h.n_ciphers++] = 0x8a8a;
    h.ciphers[h.n_ciphers++] = 0x00ff;
    fp_ja4(&h, 't', ja4, raw, sizeof raw);
    ck_assert(strncmp(ja4, "t13d9916", 8) == 0);
    ck_assert_ptr_null(strstr(raw, "8a8a"));
    ck_assert_ptr_nonnull(strstr(raw, "00ff"));
    /* no ciphers → 000000000000; only SNI+ALPN extensions → c = 000000000000 */
    spec_hello(&h);
    h.n_ciphers = 0;
    h.n_exts = 0;
    h.exts[h.n_exts++] = 0x0000;
    h.exts[h.n_exts++] = 0x0010;
    h.exts[h.n_exts++] = 0x2a2a;
    h.n_sigalgs = 0;
    fp_ja4(&h, 't', ja4, raw, sizeof raw);
    ck_assert_str_eq(ja4, "t13d0002h2_000000000000_000000000000");
    ck_assert_str_eq(raw, "t13d0002h2__");
}
END_TEST

/* JA3 of the ClientHello in pcaps/tls/tls-fallback-scsv.pcap; string and MD5 as printed by
 * tshark 4.0 (tls.handshake.ja3_full / tls.handshake.ja3). */
static const char ja3_fallback_str[] =
    "770,49162-49172-57-56-136-135-49177-58-137-49161-49171-51-50-69-68-49176-52-70-53-132-47-"
    "65-255-22016,0-11-10-35-22-23,29-23-30-25-24,0-1-2";

static void fallback_hello(struct fp_hello *h)
{
    static const uint16_t c[] = {49162, 49172, 57, 56, 136, 135, 49177, 58, 137, 49161, 49171, 51,
                                 50, 69, 68, 49176, 52, 70, 53, 132, 47, 65, 255, 22016};
    static const uint16_t e[] = {0, 11, 10, 35, 22, 23};
    static const uint16_t g[] = {29, 23, 30, 25, 24};
    memset(h, 0, sizeof *h);
    h->legacy_version = 770;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        h->ciphers[h->n_ciphers++] = c[i];
    for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
        h->exts[h->n_exts++] = e[i];
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++)
        h->groups[h->n_groups++] = g[i];
    for (uint8_t i = 0; i < 3; i++)
        h->point_formats[h->n_point_formats++] = i;
}

START_TEST(test_ja3_vector)
{
    struct fp_hello h;
    char s[1024], md5[FP_MD5_HEX];
    fallback_hello(&h);
    ck_assert_int_eq(fp_ja3(&h, s, sizeof s, md5), 0);
    ck_assert_str_eq(s, ja3_fallback_str);
    ck_assert_str_eq(md5, "b7bf5b9b2ee960150d109dc6d705e515");
    /* GREASE anywhere is removed (RFC 8701; salesforce/ja3) */
    h.ciphers[h.n_ciphers++] = 0xdada;
    h.exts[h.n_exts++] = 0x0a0a;
    h.groups[h.n_groups++] = 0xeaea;
    ck_assert_int_eq(fp_ja3(&h, s, sizeof s, md5), 0);
    ck_assert_str_eq(s, ja3_fallback_str);
    ck_assert_str_eq(md5, "b7bf5b9b2ee960150d109dc6d705e515");
    /* a short buffer truncates the string but not the hash */
    ck_assert_int_eq(fp_ja3(&h, s, 10, md5), NZ_ELIMIT);
    ck_assert_str_eq(s, "770,49162");
    ck_assert_str_eq(md5, "b7bf5b9b2ee960150d109dc6d705e515");
    /* empty lists keep their commas */
    memset(&h, 0, sizeof h);
    h.legacy_version = 0x0301;
    ck_assert_int_eq(fp_ja3(&h, s, sizeof s, md5), 0);
    ck_assert_str_eq(s, "769,,,,");
    ck_assert(fp_is_grease(0x0a0a) && fp_is_grease(0xfafa) && !fp_is_grease(0x0a1a) &&
              !fp_is_grease(0x0b0b) && !fp_is_grease(0x10a0a));
}
END_TEST

START_TEST(test_ja3s_vector)
{
    /* pcaps/tls/tls12-ecdhe-aead.pcap ServerHello; tshark ja3s_full / ja3s */
    static const uint16_t e[] = {65281, 11, 35, 23};
    char s[256], md5[FP_MD5_HEX];
    ck_assert_int_eq(fp_ja3s(771, 49199, e, 4, s, sizeof s, md5), 0);
    ck_assert_str_eq(s, "771,49199,65281-11-35-23");
    ck_assert_str_eq(md5, "1af33e1657631357c73119488045302c");
    ck_assert_int_eq(fp_ja3s(771, 4866, NULL, 0, s, sizeof s, md5), 0);
    ck_assert_str_eq(s, "771,4866,");
}
END_TEST

/* ------------------------------------------------------------------------------------ */
/* real handshakes: record fields against tshark's view of the same captures             */

START_TEST(test_real_tls12_ecdhe)
{
    struct conv cv = {0};
    CONV_HEX(&cv, v_tls12_ecdhe);
    cv.ts_base = 1795926504ull * 1000000u; /* capture time: its certificate is valid then */
    struct out *o = run(&cv);
    const struct tls_session_rec *r = &o->rec;
    ck_assert_int_eq(o->n_rec, 1);
    ck_assert_int_eq(o->n_label, 1);
    ck_assert_int_eq(o->status, DIS_DONE);
    ck_assert(o->want_cleared);
    ck_assert(r->handshake_complete && r->client_hello_seen && r->server_hello_seen);
    ck_assert_str_eq(r->sni, "www.netzwacht.test");
    ck_assert_str_eq(r->version, "TLSv1.2");
    ck_assert_uint_eq(r->version_code, 0x0303);
    ck_assert_str_eq(r->cipher, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    ck_assert_uint_eq(r->cipher_code, 0xc02f);
    ck_assert_uint_eq(r->client_version, 0x0303);
    ck_assert_str_eq(r->client_versions, "TLSv1.3,TLSv1.2");
    ck_assert_str_eq(r->ja3, "a3afc2c46ba4a7d7fbe1cfb7a3031c2f");
    ck_assert_str_eq(r->ja3s, "1af33e1657631357c73119488045302c");
    ck_assert_str_eq(r->ja3s_str, "771,49199,65281-11-35-23");
    ck_assert_str_eq(r->ja4, "t13d311000_e8f1e7e78f70_1f22a2ca17c4");
    ck_assert_str_eq(r->group_name, "x25519"); /* ECDHE named curve from ServerKeyExchange */
    ck_assert_uint_eq(r->cert_count, 1);
    ck_assert_str_eq(r->cert_sizes, "915");
    ck_assert_str_eq(r->started_by, "tls");
    ck_assert(r->compression_set && r->compression == 0);
    ck_assert(r->reneg_scsv && r->server_ri && !r->resumed);
    ck_assert_uint_eq(r->flow_id, 7);
    ck_assert(r->leaf_parsed);
    ck_assert_str_eq(r->leaf.subject_cn, "www.netzwacht.test");
    ck_assert_uint_eq(r->leaf.key_bits, 2048);
    ck_assert(!r->chain_last_self_issued);
    ck_assert_int_eq(o->n_find, 0); /* TLS 1.2 ECDHE AEAD: nothing to report */
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_real_tls13_alpn)
{
    struct conv cv = {0};
    CONV_HEX(&cv, v_tls13_alpn);
    struct out *o = run(&cv);
    const struct tls_session_rec *r = &o->rec;
    ck_assert_int_eq(o->status, DIS_DONE);
    ck_assert(r->handshake_complete);
    ck_assert_str_eq(r->version, "TLSv1.3");
    ck_assert_uint_eq(r->server_legacy_version, 0x0303);
    ck_assert_str_eq(r->cipher, "TLS_AES_256_GCM_SHA384");
    ck_assert_str_eq(r->alpn_offered, "h2,http/1.1");
    ck_assert_str_eq(r->client_versions, "TLSv1.3,TLSv1.2,TLSv1.1,TLSv1.0");
    ck_assert_str_eq(r->ja3, "5a1edc7f170af1014fc65c994878e63c");
    ck_assert_str_eq(r->ja3s, "15af977ce25de452b96affa2addb1036");
    ck_assert_str_eq(r->ja4, "t13d3111h2_e8f1e7e78f70_1f22a2ca17c4");
    ck_assert(strncmp(r->ja4_r, "t13d3111h2_002f,0033,0035,", 26) == 0);
    ck_assert_str_eq(r->group_name, "x25519");
    ck_assert(r->server_key_share && !r->resumed);
    ck_assert_uint_eq(r->cert_count, 0); /* encrypted in 1.3 */
    ck_assert_int_eq(o->n_find, 0);
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_real_dhe1024)
{
    struct conv cv = {0};
    CONV_HEX(&cv, v_dhe1024);
    cv.ts_base = 1795926539ull * 1000000u; /* capture time: its certificate is valid then */
    struct out *o = run(&cv);
    ck_assert_str_eq(o->rec.cipher, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256");
    ck_assert_uint_eq(o->rec.dhe_bits, 1024); /* tshark: dh_p length 128 bytes */
    ck_assert_str_eq(o->rec.ja3, "871a754af286dfb70c1b53c6887c62e0");
    ck_assert_str_eq(o->rec.ja3s, "6083fd0ddad8c75177f2e05a0d16748f");
    const struct finding *f = find(o, FK_TLS_WEAK_DH);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->severity, NZ_SEV_MEDIUM);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"dh_bits\":1024"));
    ck_assert_int_eq(o->n_find, 1);
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_real_fallback_alert)
{
    struct conv cv = {0};
    CONV_HEX(&cv, v_fallback);
    struct out *o = run(&cv);
    const struct tls_session_rec *r = &o->rec;
    ck_assert_int_eq(o->status, DIS_OK); /* no handshake: emitted at close */
    ck_assert_int_eq(o->n_rec, 1);
    ck_assert(!r->handshake_complete && !r->server_hello_seen);
    ck_assert_str_eq(r->version, "");
    ck_assert_str_eq(r->alerts_text, "server:fatal:86");
    ck_assert(r->fallback_scsv && r->reneg_scsv);
    ck_assert_str_eq(r->ja3, "b7bf5b9b2ee960150d109dc6d705e515");
    ck_assert_str_eq(r->ja3_str, ja3_fallback_str);
    ck_assert_str_eq(r->ja4, "t11d240600_28adaca67414_195413a0cc0f");
    ck_assert_int_eq(find(o, FK_TLS_FALLBACK_SCSV)->severity, NZ_SEV_MEDIUM);
    const struct finding *f = find(o, FK_TLS_INAPPROPRIATE_FALLBACK);
    ck_assert_int_eq(f->severity, NZ_SEV_HIGH);
    ck_assert_uint_eq(f->ts_usec, 2000000); /* the alert's packet */
    /* TLS 1.1 as the client's ceiling: one level below "low" */
    f = find(o, FK_TLS_OBSOLETE_VERSION);
    ck_assert_int_eq(f->severity, NZ_SEV_INFO);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"side\":\"client_offer\""));
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_real_fragmented_certificate)
{
    /* A Certificate message of ~5.4 KB in 512-byte records over three TCP segments. */
    struct conv cv = {0};
    CONV_HEX(&cv, v_fragmented);
    struct out *o = run(&cv);
    ck_assert_uint_eq(o->rec.cert_count, 4);
    ck_assert_str_eq(o->rec.cert_sizes, "1439,1399,1399,1131");
    ck_assert_str_eq(o->rec.cipher, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
    ck_assert_str_eq(o->rec.ja3, "95c8abb101f1c4ffea6e9ff820227b82");
    ck_assert_str_eq(o->rec.ja3s, "ec74a5c51106f0419184d0dd08fb05bc");
    ck_assert(o->rec.handshake_complete);
    ck_assert_uint_eq(o->rec.hs_malformed + o->rec.hs_oversize + o->rec.hs_unexpected, 0);
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_real_resumption)
{
    struct conv cv = {0};
    CONV_HEX(&cv, v_resumed12);
    struct out *o = run(&cv);
    ck_assert(o->rec.resumed && o->rec.handshake_complete);
    ck_assert_uint_eq(o->rec.cert_count, 0);
    ck_assert_str_eq(o->rec.ja3s, "fd4bc6cea4877646ccd62f0792ec0b62");
    out_free(o);
    conv_free(&cv);
    CONV_HEX(&cv, v_resumed13);
    o = run(&cv);
    ck_assert(o->rec.resumed && o->rec.server_psk && o->rec.client_psk);
    ck_assert_uint_eq(o->rec.psk_modes, 2); /* psk_dhe_ke */
    ck_assert_str_eq(o->rec.ja3, "2fd756ca7f87535a1539ab4cbb4d63fd");
    ck_assert_str_eq(o->rec.ja3s, "2253c82f03b621c5144709b393fde2c9");
    ck_assert(find(o, FK_TLS_NO_FORWARD_SECRECY) == NULL); /* psk_dhe_ke with key_share */
    out_free(o);
    conv_free(&cv);
}
END_TEST

/* ------------------------------------------------------------------------------------ */
/* split invariance                                                                       */

START_TEST(test_split_real)
{
    const struct hexflight *vs[] = {v_tls12_ecdhe, v_tls13_alpn, v_dhe1024, v_fallback,
                                    v_fragmented, v_resumed12, v_resumed13};
    const size_t ns[] = {sizeof v_tls12_ecdhe / sizeof v_tls12_ecdhe[0],
                         sizeof v_tls13_alpn / sizeof v_tls13_alpn[0],
                         sizeof v_dhe1024 / sizeof v_dhe1024[0],
                         sizeof v_fallback / sizeof v_fallback[0],
                         sizeof v_fragmented / sizeof v_fragmented[0],
                         sizeof v_resumed12 / sizeof v_resumed12[0],
                         sizeof v_resumed13 / sizeof v_resumed13[0]};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        struct conv cv = {0};
        conv_from_hex(&cv, vs[i], ns[i]);
        check_split_invariance(&cv, true);
        conv_free(&cv);
    }
}
END_TEST

START_TEST(test_split_synthetic)
{
    /* SSLv2 hello, HRR, alerts, coalesced messages, SKE: every path split everywhere */
    struct conv cv = {0};
    struct ch_spec c = {CH12, STRONG12, .ticket = true, .ems = true,
                        LIST(alpn, char *, "h2", "http/1.1")};
    struct sh_spec s = {SH12, .cipher = 0x009e, .ems = true, .alpn = "h2"};
    flow12(&cv, &c, &s, 1024);
    check_split_invariance(&cv, true);
    conv_free(&cv);
}
END_TEST

/* ------------------------------------------------------------------------------------ */
/* each message type (synthetic)                                                          */

START_TEST(test_msg_client_hello_extensions)
{
    struct conv cv = {0};
    struct ch_spec c = {LIST(ciphers, uint16_t, 0x1301, 0xc02f), .sni = "a.example",
                        LIST(alpn, char *, "h2", "http/1.1"),
                        LIST(versions, uint16_t, 0x0304, 0x0303),
                        LIST(groups, uint16_t, 29, 23, 0x11ec, 0x7777), .pointfmt = true,
                        LIST(sigalgs, uint16_t, 0x0403, 0x0804), LIST(shares, uint16_t, 29),
                        .ri = true, .ems = true, .etm = true, .ticket = true, .ticket_data = true,
                        .heartbeat = true, .psk = true, .ech = true, .status = true,
                        .psk_modes = 3, .sid_len = 32};
    flow_ch(&cv, &c);
    struct out *o = run(&cv);
    const struct tls_session_rec *r = &o->rec;
    ck_assert_int_eq(o->status, DIS_OK);
    ck_assert_int_eq(o->n_rec, 1); /* emitted at close */
    ck_assert(r->client_hello_seen && !r->server_hello_seen && !r->handshake_complete);
    ck_assert_str_eq(r->sni, "a.example");
    ck_assert_str_eq(r->alpn_offered, "h2,http/1.1");
    ck_assert_str_eq(r->groups_offered, "x25519,secp256r1,X25519MLKEM768,0x7777");
    ck_assert_str_eq(r->key_share_groups, "x25519");
    ck_assert_str_eq(r->client_versions, "TLSv1.3,TLSv1.2");
    ck_assert_uint_eq(r->client_max_version, 0x0304);
    ck_assert_uint_eq(r->n_versions_offered, 2);
    ck_assert(r->client_ri && r->client_ems && r->client_etm && r->client_ticket &&
              r->client_ticket_data && r->client_heartbeat && r->client_psk && r->client_ech &&
              r->client_status_request && r->client_session_id);
    ck_assert_uint_eq(r->psk_modes, 3);
    ck_assert_str_eq(r->client_exts, "0,5,10,11,13,15,16,22,23,35,43,45,51,65037,65281,41");
    ck_assert_str_eq(r->ja3_str, "771,4865-49199,"
                                 "0-5-10-11-13-15-16-22-23-35-43-45-51-65037-65281-41,"
                                 "29-23-4588-30583,0-1-2");
    ck_assert(strncmp(r->ja4, "t13d0216h2_", 11) == 0);
    ck_assert_str_eq(r->version, "");
    ck_assert_uint_eq(r->hs_types[0], 1u << 1);
    ck_assert_uint_eq(r->ts_usec, 1000000);
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_msg_server_flight)
{
    /* CH | SH Certificate CertificateStatus SKE(ECDHE) CertificateRequest SHD |
     * Certificate(client) CKE CertificateVerify CCS Fin | NewSessionTicket CCS Fin */
    struct conv cv = {0};
    struct b m = {0};
    struct ch_spec c = {CH12, STRONG12, .ems = true, .etm = true, .ticket = true, .heartbeat = true,
                        LIST(alpn, char *, "h2")};
    msg_ch(&m, &c);
    add_msg_records(&cv, 0, &m);
    b_free(&m);
    struct sh_spec s = {SH12, .cipher = 0xc030, .ems = true, .etm = true, .ticket = true,
                        .heartbeat = true, .alpn = "h2", .sid_len = 32};
    msg_sh(&m, &s);
    static const size_t chain[] = {1200, 900, 0};
    msg_cert(&m, chain, 3);
    msg_raw(&m, 22, "\x01\x00\x00\x03\x30\x01\x00", 7);
    msg_ske_ecdhe(&m, 24);
    msg_raw(&m, 13, "\x01\x01\x00\x02\x04\x01\x00\x00", 8);
    msg_raw(&m, 14, NULL, 0);
    add_msg_records(&cv, 1, &m);
    b_free(&m);
    static const size_t cchain[] = {500, 400};
    msg_cert(&m, cchain, 2);
    msg_raw(&m, 16, "\x00\x04" "abcd", 6);
    msg_raw(&m, 15, "\x04\x01\x00\x02xy", 6);
    add_msg_records(&cv, 0, &m);
    b_free(&m);
    add_raw(&cv, 0, ccs_rec, sizeof ccs_rec);
    add_raw(&cv, 0, fin_rec, sizeof fin_rec);
    msg_raw(&m, 4, "\x00\x00\x1c\x20\x00\x04tick", 10);
    add_msg_records(&cv, 1, &m);
    b_free(&m);
    add_raw(&cv, 1, ccs_rec, sizeof ccs_rec);
    add_raw(&cv, 1, fin_rec, sizeof fin_rec);
    /* heartbeat is negotiated: the dissector watches TLS_HB_WATCH_RECORDS records after the
     * handshake (Heartbleed) before it is done */
    struct b apps = {0};
    for (unsigned i = 0; i < TLS_HB_WATCH_RECORDS / 2; i++)
        b_mem(&apps, app_rec, sizeof app_rec);
    add_raw(&cv, 0, apps.p, apps.n);
    add_raw(&cv, 1, apps.p, apps.n);
    b_free(&apps);
    struct out *o = run(&cv);
    const struct tls_session_rec *r = &o->rec;
    ck_assert_int_eq(o->status, DIS_DONE);
    ck_assert(r->handshake_complete);
    ck_assert_uint_eq(r->cert_count, 3);
    ck_assert_str_eq(r->cert_sizes, "1200,900,0");
    ck_assert_uint_eq(r->client_cert_count, 2);
    ck_assert_str_eq(r->group_name, "secp384r1");
    ck_assert_uint_eq(r->group, 24);
    ck_assert_str_eq(r->alpn_chosen, "h2");
    ck_assert(r->server_ri && r->server_ems && r->server_etm && r->server_ticket_ext &&
              r->server_heartbeat && r->new_session_ticket && r->server_session_id);
    ck_assert(!r->resumed); /* server session id is new (client sent none) */
    ck_assert_str_eq(r->server_exts, "65281,15,16,22,23,35");
    ck_assert_uint_eq(r->hs_types[1], (1u << 2) | (1u << 4) | (1u << 11) | (1u << 12) |
                                      (1u << 13) | (1u << 14) | (1u << 22));
    ck_assert_uint_eq(r->hs_types[0], (1u << 1) | (1u << 11) | (1u << 15) | (1u << 16));
    ck_assert_uint_eq(r->hs_malformed + r->hs_unexpected + r->hs_oversize, 0);
    ck_assert_str_eq(find(o, FK_TLS_HEARTBEAT)->summary,
                     "heartbeat extension negotiated with www.netzwacht.test (192.0.2.2:443)");
    out_free(o);
    conv_free(&cv);
}
END_TEST

/* ------------------------------------------------------------------------------------ */
/* Heartbleed (RFC 6520 heartbeats, CVE-2014-0160)                                       */

/* A heartbeat record in clear: type, declared payload length, `carried` payload bytes and
 * `pad` padding bytes. */
static void hb_clear(struct conv *cv, int dir, uint8_t type, uint16_t plen, size_t carried,
                     size_t pad)
{
    struct b m = {0};
    size_t len = 3 + carried + pad;
    b_u8(&m, 24);
    b_u16(&m, 0x0303);
    b_u16(&m, (unsigned)len);
    b_u8(&m, type);
    b_u16(&m, plen);
    b_fill(&m, 0x41, carried);
    b_fill(&m, 0x50, pad);
    conv_add(cv, dir, m.p, m.n);
    b_free(&m);
}

/* An opaque (encrypted) record of content type ct and length len. */
static void opaque_rec(struct conv *cv, int dir, uint8_t ct, size_t len)
{
    struct b m = {0};
    b_u8(&m, ct);
    b_u16(&m, 0x0303);
    b_u16(&m, (unsigned)len);
    b_fill(&m, 0xe7, len);
    conv_add(cv, dir, m.p, m.n);
    b_free(&m);
}

/* count records of content type ct and length len in one delivery of direction dir. */
static void opaque_recs(struct conv *cv, int dir, uint8_t ct, size_t len, size_t count)
{
    struct b m = {0};
    for (size_t i = 0; i < count; i++) {
        b_u8(&m, ct);
        b_u16(&m, 0x0303);
        b_u16(&m, (unsigned)len);
        b_fill(&m, 0xe7, len);
    }
    conv_add(cv, dir, m.p, m.n);
    b_free(&m);
}

/* CH | SH Certificate SHD, heartbeat negotiated (or not): the handshake up to the client's
 * second flight. */
static void hb_hello(struct conv *cv, bool negotiated)
{
    struct b m = {0};
    struct ch_spec c = {CH12, STRONG12, .heartbeat = true};
    struct sh_spec s = {SH12, .cipher = 0xc02f, .heartbeat = negotiated};
    msg_ch(&m, &c);
    add_msg_records(cv, 0, &m);
    b_free(&m);
    msg_sh(&m, &s);
    static const size_t sz[] = {700};
    msg_cert(&m, sz, 1);
    msg_raw(&m, 14, NULL, 0);
    add_msg_records(cv, 1, &m);
    b_free(&m);
}

START_TEST(test_heartbleed_clear)
{
    /* The classic probe (ssltest.py): right after ServerHelloDone the client sends a heartbeat
     * request in clear declaring 16384 payload bytes in a 3-byte record; a vulnerable server
     * answers in clear with 16384 bytes of its memory. Repeats give no second finding. */
    struct conv cv = {0};
    hb_hello(&cv, true);
    hb_clear(&cv, 0, 1, 0x4000, 0, 0);
    hb_clear(&cv, 1, 2, 0x4000, 0x4000, 16);
    hb_clear(&cv, 0, 1, 0x4000, 0, 0);
    hb_clear(&cv, 1, 2, 0x4000, 0x4000, 16);
    struct out *o = run(&cv);
    const struct finding *a = find(o, FK_TLS_HEARTBLEED_ATTEMPT);
    const struct finding *l = find(o, FK_TLS_HEARTBLEED_LEAK);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(count_kind(o, FK_TLS_HEARTBLEED_ATTEMPT), 1);
    ck_assert_int_eq(count_kind(o, FK_TLS_HEARTBLEED_LEAK), 1);
    ck_assert_int_eq(a->severity, NZ_SEV_HIGH);
    ck_assert_int_eq(l->severity, NZ_SEV_CRITICAL);
    ck_assert_ptr_nonnull(strstr(a->evidence, "\"direction\":\"client\""));
    ck_assert_ptr_nonnull(strstr(a->evidence, "\"encrypted\":false"));
    ck_assert_ptr_nonnull(strstr(a->evidence, "\"record_length\":3"));
    ck_assert_ptr_nonnull(strstr(a->evidence, "\"payload_length\":16384"));
    ck_assert_ptr_nonnull(strstr(l->evidence, "\"direction\":\"server\""));
    ck_assert_ptr_nonnull(strstr(l->evidence, "\"record_length\":16403"));
    ck_assert_ptr_nonnull(strstr(l->evidence, "\"request_payload_carried_max\":0"));
    ck_assert_str_eq(a->summary, "heartbeat request from the client to www.netzwacht.test "
                                 "(192.0.2.2:443) declares 16384 payload bytes in a 3-byte "
                                 "record (Heartbleed probe)");
    ck_assert(!o->rec.handshake_complete); /* the record came at close */
    check_split_invariance(&cv, false);
    out_free(o);
    conv_free(&cv);

    /* one payload byte more than the record can carry is already an attempt; the server did
     * not answer */
    hb_hello(&cv, true);
    hb_clear(&cv, 0, 1, 17, 16, 16);
    o = run(&cv);
    ck_assert_ptr_nonnull(find(o, FK_TLS_HEARTBLEED_ATTEMPT));
    ck_assert(find(o, FK_TLS_HEARTBLEED_LEAK) == NULL);
    out_free(o);
    conv_free(&cv);

    /* padding below the 16 bytes RFC 6520 §4 requires: the payload_length is too large for
     * the record (the request Zeek's heartbleed-success trace sends); answering it is a leak */
    hb_hello(&cv, true);
    hb_clear(&cv, 0, 1, 16365, 16365, 0);
    hb_clear(&cv, 1, 2, 16365, 16365, 16);
    o = run(&cv);
    ck_assert_ptr_nonnull(strstr(find(o, FK_TLS_HEARTBLEED_ATTEMPT)->evidence,
                                 "\"payload_carried\":16349"));
    ck_assert_ptr_nonnull(find(o, FK_TLS_HEARTBLEED_LEAK));
    out_free(o);
    conv_free(&cv);

    /* near miss: a normal exchange, request and response of equal payload (16 bytes + 16
     * padding), repeated; a request with more padding; responses that equal them */
    hb_hello(&cv, true);
    hb_clear(&cv, 0, 1, 16, 16, 16);
    hb_clear(&cv, 1, 2, 16, 16, 16);
    hb_clear(&cv, 0, 1, 32, 32, 40);
    hb_clear(&cv, 1, 2, 32, 32, 16);
    tail12(&cv);
    o = run(&cv);
    ck_assert(find(o, FK_TLS_HEARTBLEED_ATTEMPT) == NULL);
    ck_assert(find(o, FK_TLS_HEARTBLEED_LEAK) == NULL);
    ck_assert_ptr_nonnull(find(o, FK_TLS_HEARTBEAT));
    ck_assert_int_eq(o->n_rec, 1);
    out_free(o);
    conv_free(&cv);

    /* a response without any request seen is not judged (the request may be in a gap) */
    hb_hello(&cv, true);
    hb_clear(&cv, 1, 2, 0x4000, 0x4000, 16);
    o = run(&cv);
    ck_assert(find(o, FK_TLS_HEARTBLEED_LEAK) == NULL);
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_heartbleed_encrypted)
{
    /* After the handshake only record lengths are visible: a 40-byte request record from the
     * client answered by a 1100-byte record (more than TLS_HB_LEAK_MARGIN larger). */
    struct conv cv = {0};
    hb_hello(&cv, true);
    tail12(&cv);
    opaque_rec(&cv, 0, 23, 64);
    opaque_rec(&cv, 0, 24, 40);
    opaque_rec(&cv, 1, 24, 40 + TLS_HB_LEAK_MARGIN + 1);
    opaque_rec(&cv, 1, 23, 64);
    struct out *o = run(&cv);
    const struct finding *l = find(o, FK_TLS_HEARTBLEED_LEAK);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(l->severity, NZ_SEV_CRITICAL);
    ck_assert_ptr_nonnull(strstr(l->evidence, "\"encrypted\":true"));
    ck_assert_ptr_nonnull(strstr(l->evidence, "\"record_length\":1065"));
    ck_assert_ptr_nonnull(strstr(l->evidence, "\"request_record_length_max\":40"));
    ck_assert(strstr(l->evidence, "payload_length") == NULL);
    ck_assert(find(o, FK_TLS_HEARTBLEED_ATTEMPT) == NULL); /* invisible when encrypted */
    ck_assert_int_eq(o->n_rec, 1);
    ck_assert_int_eq(o->status, DIS_OK); /* still watching */
    ck_assert(!o->want_cleared);
    check_split_invariance(&cv, true);
    out_free(o);
    conv_free(&cv);

    /* near miss: exactly the margin larger (padding, MAC), and equal lengths */
    hb_hello(&cv, true);
    tail12(&cv);
    opaque_rec(&cv, 0, 24, 40);
    opaque_rec(&cv, 1, 24, 40 + TLS_HB_LEAK_MARGIN);
    opaque_rec(&cv, 0, 24, 40);
    opaque_rec(&cv, 1, 24, 40);
    o = run(&cv);
    ck_assert(find(o, FK_TLS_HEARTBLEED_LEAK) == NULL);
    out_free(o);
    conv_free(&cv);

    /* either side may ping: the server's request is answered by the client; a client answer
     * far larger than the server's request is a leak from the client (reverse Heartbleed) */
    hb_hello(&cv, true);
    tail12(&cv);
    opaque_rec(&cv, 1, 24, 327);
    opaque_rec(&cv, 0, 24, 327);
    opaque_rec(&cv, 1, 24, 40);
    opaque_rec(&cv, 0, 24, 16384);
    o = run(&cv);
    l = find(o, FK_TLS_HEARTBLEED_LEAK);
    ck_assert_ptr_nonnull(l);
    ck_assert_ptr_nonnull(strstr(l->evidence, "\"direction\":\"client\""));
    ck_assert_ptr_nonnull(strstr(l->evidence, "\"request_record_length_max\":327"));
    out_free(o);
    conv_free(&cv);
    /* ... and without the lengthening, nothing */
    hb_hello(&cv, true);
    tail12(&cv);
    opaque_rec(&cv, 1, 24, 327);
    opaque_rec(&cv, 0, 24, 327);
    o = run(&cv);
    ck_assert(find(o, FK_TLS_HEARTBLEED_LEAK) == NULL);
    out_free(o);
    conv_free(&cv);

    /* the same records on a flow that did not negotiate heartbeat: bulk bypass as before */
    hb_hello(&cv, false);
    tail12(&cv);
    opaque_rec(&cv, 0, 24, 40);
    opaque_rec(&cv, 1, 24, 16408);
    o = run(&cv);
    ck_assert(find(o, FK_TLS_HEARTBLEED_LEAK) == NULL);
    ck_assert_int_eq(o->status, DIS_DONE);
    ck_assert(o->want_cleared);
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_heartbeat_watch_cap)
{
    /* The watch reads TLS_HB_WATCH_RECORDS records after the handshake (headers only; a
     * record's payload is skipped across deliveries), then the dissector is done; a leak
     * after the cap is not seen. Something that is no TLS record ends the watch quietly. */
    struct conv cv = {0};
    hb_hello(&cv, true);
    tail12(&cv);
    opaque_recs(&cv, 0, 23, 100, TLS_HB_WATCH_RECORDS / 2);
    opaque_recs(&cv, 1, 23, 300, TLS_HB_WATCH_RECORDS / 2);
    opaque_rec(&cv, 0, 24, 40);
    opaque_rec(&cv, 1, 24, 16408);
    struct out *o = run(&cv);
    ck_assert_int_eq(o->status, DIS_DONE);
    ck_assert(o->want_cleared);
    ck_assert(find(o, FK_TLS_HEARTBLEED_LEAK) == NULL);
    ck_assert_int_eq(o->n_rec, 1);
    struct out *b = run_full(&cv, FEED_BYTE, 0, 0, NULL);
    ck_assert_str_eq(b->dump.s, o->dump.s);
    ck_assert_int_eq(b->status, DIS_DONE);
    out_free(b);
    out_free(o);
    conv_free(&cv);

    hb_hello(&cv, true);
    tail12(&cv);
    add_raw(&cv, 0, "GET / HTTP/1.0\r\n", 16);
    opaque_rec(&cv, 0, 24, 40);
    opaque_rec(&cv, 1, 24, 16408);
    o = run(&cv);
    ck_assert_int_eq(o->status, DIS_DONE);
    ck_assert(o->err == NULL || o->status != DIS_ERR);
    ck_assert(find(o, FK_TLS_HEARTBLEED_LEAK) == NULL);
    ck_assert_int_eq(o->n_rec, 1);
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_msg_wrong_direction)
{
    struct conv cv = {0};
    struct b m = {0};
    struct ch_spec c = {CH12, STRONG12};
    struct sh_spec s = {SH12, .cipher = 0xc02f};
    msg_sh(&m, &s); /* a ServerHello from the client */
    msg_raw(&m, 14, NULL, 0);
    add_msg_records(&cv, 0, &m);
    b_free(&m);
    msg_ch(&m, &c); /* a ClientHello from the server */
    msg_raw(&m, 16, "\x00\x01x", 3);
    msg_raw(&m, 0, NULL, 0); /* HelloRequest: a server message, fine */
    add_msg_records(&cv, 1, &m);
    b_free(&m);
    struct out *o = run(&cv);
    ck_assert_int_eq(o->n_rec, 0); /* no hello was accepted */
    out_free(o);
    flow_ch(&cv, &c);
    o = run(&cv);
    ck_assert_int_eq(o->n_rec, 1);
    ck_assert_uint_eq(o->rec.hs_unexpected, 4);
    ck_assert(!o->rec.server_hello_seen);
    ck_assert_uint_eq(o->rec.hs_types[1], 1u); /* HelloRequest */
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_msg_hello_retry_request)
{
    struct conv cv = {0};
    struct b m = {0};
    struct ch_spec c1 = {LIST(ciphers, uint16_t, 0x1301, 0x1302), LIST(versions, uint16_t, 0x0304),
                         LIST(groups, uint16_t, 29, 23), LIST(shares, uint16_t, 23),
                         LIST(sigalgs, uint16_t, 0x0403), .sni = "h.example"};
    struct ch_spec c2 = c1;
    c2.shares = ARR(uint16_t, 29);
    c2.nshares = 1;
    msg_ch(&m, &c1);
    add_msg_records(&cv, 0, &m);
    b_free(&m);
    struct sh_spec hrr = {.hrr = true, .sv = 0x0304, .cipher = 0x1302, .ks_group = 29};
    msg_sh(&m, &hrr);
    add_msg_records(&cv, 1, &m);
    b_free(&m);
    add_raw(&cv, 0, ccs_rec, sizeof ccs_rec); /* App. D.4: CCS before the second hello */
    msg_ch(&m, &c2);
    add_msg_records(&cv, 0, &m);
    b_free(&m);
    struct sh_spec s = {.sv = 0x0304, .cipher = 0x1302, .ks_group = 29};
    msg_sh(&m, &s);
    add_msg_records(&cv, 1, &m);
    b_free(&m);
    add_raw(&cv, 1, ccs_rec, sizeof ccs_rec);
    add_raw(&cv, 1, app_rec, sizeof app_rec);
    add_raw(&cv, 0, app_rec, sizeof app_rec);
    struct out *o = run(&cv);
    const struct tls_session_rec *r = &o->rec;
    ck_assert_int_eq(o->status, DIS_DONE);
    ck_assert(r->hrr && r->handshake_complete && r->server_hello_seen);
    ck_assert_str_eq(r->version, "TLSv1.3");
    ck_assert_str_eq(r->cipher, "TLS_AES_256_GCM_SHA384");
    ck_assert_str_eq(r->group_name, "x25519");
    ck_assert_str_eq(r->key_share_groups, "x25519"); /* offer fields: the second hello */
    ck_assert_int_eq(o->n_find, 0);
    char ja3_first[FP_MD5_HEX], ja4_first[FP_JA4_LEN];
    strcpy(ja3_first, r->ja3);
    strcpy(ja4_first, r->ja4);
    out_free(o);
    conv_free(&cv);
    /* fingerprints are those of the first ClientHello */
    flow_ch(&cv, &c1);
    o = run(&cv);
    ck_assert_str_eq(o->rec.ja3, ja3_first);
    ck_assert_str_eq(o->rec.ja4, ja4_first);
    out_free(o);
    conv_free(&cv);
    /* the HRR alone: version chosen, no ServerHello */
    msg_ch(&m, &c1);
    add_msg_records(&cv, 0, &m);
    b_free(&m);
    msg_sh(&m, &hrr);
    add_msg_records(&cv, 1, &m);
    b_free(&m);
    o = run(&cv);
    ck_assert(o->rec.hrr && !o->rec.server_hello_seen);
    ck_assert_str_eq(o->rec.version, "TLSv1.3");
    out_free(o);
    conv_free(&cv);
}
END_TEST

/* Conformance (tests/integ/conformance.py, suricata-verify tls13-draft19/-draft28 and Zeek's
 * tls13draft23 capture): pre-RFC TLS 1.3 code points are TLS 1.3. A draft >= 22 echoes the
 * client's session id and sends the compatibility CCS: neither is a resumption. */
START_TEST(test_tls13_draft_compat)
{
    const uint16_t codes[] = {0x7f17, 0x7f1c, 0xfb1a};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        struct conv cv = {0};
        struct ch_spec c = {CH12, LIST(ciphers, uint16_t, 0x1301, 0x1302), .sid_len = 32,
                            .versions = &codes[i], .nversions = 1, LIST(shares, uint16_t, 29)};
        struct sh_spec sh = {.sv = codes[i], .cipher = 0x1301, .sid_len = 32, .ks_group = 29};
        flow13(&cv, &c, &sh);
        struct out *o = run(&cv);
        const struct tls_session_rec *r = &o->rec;
        ck_assert_int_eq(o->status, DIS_DONE);
        ck_assert(r->server_hello_seen && r->handshake_complete);
        ck_assert_uint_eq(r->version_code, codes[i]);
        ck_assert_str_eq(r->version, "TLSv1.3");
        ck_assert_msg(!r->resumed, "0x%04x: session id echo / compat CCS taken as resumption",
                      codes[i]);
        ck_assert_str_eq(r->cipher, "TLS_AES_128_GCM_SHA256");
        ck_assert_msg(o->n_find == 0, "0x%04x: unexpected findings:\n%s", codes[i], o->dump.s);
        out_free(o);
        check_split_invariance(&cv, false);
        conv_free(&cv);
    }
}
END_TEST

/* A draft <= 21 ServerHello: version 0x7f13, random, cipher_suite, extensions (no
 * session_id, no compression_method); key_share is extension 40. */
static void msg_sh_draft_old(struct b *b, uint16_t version, uint16_t cipher, bool key_share,
                             bool psk)
{
    b_u8(b, 2);
    size_t hs = b_open(b, 3);
    b_u16(b, version);
    b_fill(b, 0xa5, 32);
    b_u16(b, cipher);
    size_t exts = b_open(b, 2), e;
    if (key_share) {
        ext_begin(b, 40, &e);
        b_u16(b, 29);
        b_u16(b, 32);
        b_fill(b, 0x55, 32);
        b_close(b, e, 2);
    }
    if (psk) {
        ext_begin(b, 41, &e);
        b_u16(b, 0);
        b_close(b, e, 2);
    }
    b_close(b, exts, 2);
    b_close(b, hs, 3);
}

static void flow_draft_old(struct conv *cv, bool key_share, bool psk)
{
    /* client key_share (40): x25519 with a 32-byte key */
    static const uint8_t ks40[] = {0x00, 0x28, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20,
                                   0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
                                   0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
                                   0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
                                   0x44, 0x44};
    struct ch_spec c = {CH12, LIST(ciphers, uint16_t, 0x1302, 0x00ff),
                        LIST(versions, uint16_t, 0x7f13), .raw_ext = ks40,
                        .nraw_ext = sizeof ks40, .psk = psk, .psk_modes = psk ? 3 : 0};
    struct b m = {0};
    msg_ch(&m, &c);
    add_msg_records(cv, 0, &m);
    b_free(&m);
    msg_sh_draft_old(&m, 0x7f13, 0x1302, key_share, psk);
    add_msg_records(cv, 1, &m);
    b_free(&m);
    add_raw(cv, 1, app_rec, sizeof app_rec);
    add_raw(cv, 0, app_rec, sizeof app_rec);
}

START_TEST(test_tls13_draft_old_server_hello)
{
    struct conv cv = {0};
    flow_draft_old(&cv, true, false);
    struct out *o = run(&cv);
    const struct tls_session_rec *r = &o->rec;
    ck_assert_int_eq(o->status, DIS_DONE);
    ck_assert(r->server_hello_seen && r->handshake_complete && !r->resumed);
    ck_assert_uint_eq(r->version_code, 0x7f13);
    ck_assert_str_eq(r->version, "TLSv1.3");
    ck_assert_uint_eq(r->server_legacy_version, 0x7f13);
    ck_assert(r->cipher_set);
    ck_assert_uint_eq(r->cipher_code, 0x1302);
    ck_assert_str_eq(r->cipher, "TLS_AES_256_GCM_SHA384");
    ck_assert(!r->compression_set); /* the field does not exist in this layout */
    ck_assert(r->server_key_share);
    ck_assert_str_eq(r->group_name, "x25519");
    ck_assert_str_eq(r->key_share_groups, "x25519");
    ck_assert_str_eq(r->server_exts, "40");
    ck_assert_str_eq(r->ja3s_str, "32531,4866,40");
    ck_assert_uint_eq(r->hs_malformed, 0);
    /* no unknown-cipher, compression or offer/choice verdict from a misread hello */
    ck_assert_msg(o->n_find == 0, "unexpected findings:\n%s", o->dump.s);
    out_free(o);
    check_split_invariance(&cv, true);
    conv_free(&cv);

    /* PSK resumption with (EC)DHE (draft key_share 40): resumed, forward secret */
    flow_draft_old(&cv, true, true);
    o = run(&cv);
    ck_assert(o->rec.resumed && o->rec.server_psk && o->rec.server_key_share);
    ck_assert_int_eq(count_kind(o, FK_TLS_NO_FORWARD_SECRECY), 0);
    out_free(o);
    conv_free(&cv);
    /* ... and without a key share: psk_ke, no forward secrecy */
    flow_draft_old(&cv, false, true);
    o = run(&cv);
    ck_assert(o->rec.resumed && !o->rec.server_key_share);
    ck_assert_int_eq(count_kind(o, FK_TLS_NO_FORWARD_SECRECY), 1);
    ck_assert_int_eq(find(o, FK_TLS_NO_FORWARD_SECRECY)->severity, NZ_SEV_LOW);
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_msg_spread_over_records)
{
    /* One ClientHello in 7-byte records, and a server flight in 5-byte records. */
    struct conv cv = {0}, ref = {0};
    struct ch_spec c = {CH12, STRONG12, LIST(alpn, char *, "http/1.1")};
    struct sh_spec s = {SH12, .cipher = 0xc02f};
    flow12(&ref, &c, &s, 0);
    struct b m = {0};
    msg_ch(&m, &c);
    add_records(&cv, 0, 22, &m, 7);
    b_free(&m);
    msg_sh(&m, &s);
    static const size_t sz[] = {700};
    msg_cert(&m, sz, 1);
    msg_raw(&m, 14, NULL, 0);
    add_records(&cv, 1, 22, &m, 5);
    b_free(&m);
    tail12(&cv);
    struct out *a = run(&cv), *b = run(&ref);
    ck_assert_str_eq(a->dump.s, b->dump.s);
    ck_assert(a->rec.handshake_complete);
    ck_assert_str_eq(a->rec.alpn_offered, "http/1.1");
    check_split_invariance(&cv, false);
    out_free(a);
    out_free(b);
    conv_free(&cv);
    conv_free(&ref);
}
END_TEST

START_TEST(test_msg_alerts)
{
    struct conv cv = {0};
    struct ch_spec c = {CH12, STRONG12};
    flow_ch(&cv, &c);
    static const uint8_t two[] = {0x15, 0x03, 0x03, 0x00, 0x04, 0x01, 0x00, 0x02, 0x28};
    static const uint8_t odd[] = {0x15, 0x03, 0x03, 0x00, 0x03, 0x02, 0x28, 0x00};
    add_raw(&cv, 0, two, sizeof two);
    add_raw(&cv, 1, odd, sizeof odd);
    struct out *o = run(&cv);
    ck_assert_str_eq(o->rec.alerts_text, "client:warning:0,client:fatal:40");
    ck_assert_uint_eq(o->rec.n_alerts, 2);
    ck_assert_uint_eq(o->rec.alerts[1].ts_usec, 2000000);
    ck_assert(!o->rec.alerts[1].from_server);
    ck_assert_uint_eq(o->rec.hs_malformed, 1);
    out_free(o);
    conv_free(&cv);
    /* after CCS (<= 1.2) an alert record is encrypted: not parsed */
    struct sh_spec s = {SH12, .cipher = 0xc02f};
    struct b m = {0};
    msg_ch(&m, &c);
    add_msg_records(&cv, 0, &m);
    b_free(&m);
    msg_sh(&m, &s);
    msg_raw(&m, 14, NULL, 0);
    add_msg_records(&cv, 1, &m);
    b_free(&m);
    add_raw(&cv, 0, ccs_rec, sizeof ccs_rec);
    static const uint8_t enc[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x56};
    add_raw(&cv, 0, enc, sizeof enc);
    o = run(&cv);
    ck_assert_str_eq(o->rec.alerts_text, "");
    ck_assert(find(o, FK_TLS_INAPPROPRIATE_FALLBACK) == NULL);
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_msg_ske_variants)
{
    struct conv cv = {0};
    struct ch_spec c = {CH12, LIST(ciphers, uint16_t, 0xc02f, 0x0062)};
    /* RSA_EXPORT1024 temporary key in ServerKeyExchange (RFC 2246 §7.4.3) */
    struct b m = {0};
    msg_ch(&m, &c);
    add_msg_records(&cv, 0, &m);
    b_free(&m);
    struct sh_spec s = {SH12, .cipher = 0x0062};
    msg_sh(&m, &s);
    b_u8(&m, 12);
    size_t hs = b_open(&m, 3);
    b_u16(&m, 128);
    b_u8(&m, 0x80);
    b_fill(&m, 0x01, 127);
    b_u16(&m, 3);
    b_mem(&m, "\x01\x00\x01", 3);
    b_close(&m, hs, 3);
    msg_raw(&m, 14, NULL, 0);
    add_msg_records(&cv, 1, &m);
    b_free(&m);
    struct out *o = run(&cv);
    ck_assert_uint_eq(o->rec.rsa_export_bits, 1024);
    ck_assert_int_eq(find(o, FK_TLS_WEAK_CIPHER)->severity, NZ_SEV_CRITICAL);
    out_free(o);
    conv_free(&cv);
    /* leading zero bytes of the prime do not count */
    c = (struct ch_spec){CH12, STRONG12};
    s = (struct sh_spec){SH12, .cipher = 0x009e};
    msg_ch(&m, &c);
    add_msg_records(&cv, 0, &m);
    b_free(&m);
    msg_sh(&m, &s);
    b_u8(&m, 12);
    hs = b_open(&m, 3);
    b_u16(&m, 3);
    b_mem(&m, "\x00\x00\x05", 3);
    b_mem(&m, "\x00\x01\x02\x00\x01\x07", 6);
    b_close(&m, hs, 3);
    add_msg_records(&cv, 1, &m);
    b_free(&m);
    o = run(&cv);
    ck_assert_uint_eq(o->rec.dhe_bits, 3);
    out_free(o);
    conv_free(&cv);
}
END_TEST

/* ------------------------------------------------------------------------------------ */
/* SSL 2.0                                                                                */

static void v2_client_hello(struct conv *cv, uint16_t ver, const uint32_t *specs, size_t n)
{
    struct b m = {0};
    size_t len = 9 + 3 * n + 16;
    b_u8(&m, 0x80 | (unsigned)(len >> 8));
    b_u8(&m, (unsigned)(len & 0xff));
    b_u8(&m, 1);
    b_u16(&m, ver);
    b_u16(&m, (unsigned)(3 * n));
    b_u16(&m, 0);
    b_u16(&m, 16);
    for (size_t i = 0; i < n; i++) {
        b_u8(&m, (unsigned)(specs[i] >> 16));
        b_u16(&m, (unsigned)(specs[i] & 0xffff));
    }
    b_fill(&m, 0xcc, 16);
    conv_add(cv, 0, m.p, m.n);
    b_free(&m);
}

static void v2_server_hello(struct conv *cv, bool hit, uint32_t spec)
{
    struct b m = {0};
    size_t len = 11 + 300 + 3 + 16;
    b_u8(&m, 0x80 | (unsigned)(len >> 8));
    b_u8(&m, (unsigned)(len & 0xff));
    b_u8(&m, 4);
    b_u8(&m, hit);
    b_u8(&m, 1);
    b_u16(&m, 0x0002);
    b_u16(&m, 300);
    b_u16(&m, 3);
    b_u16(&m, 16);
    b_fill(&m, 0x30, 300);
    b_u8(&m, (unsigned)(spec >> 16));
    b_u16(&m, (unsigned)(spec & 0xffff));
    b_fill(&m, 0xdd, 16);
    conv_add(cv, 1, m.p, m.n);
    b_free(&m);
}

static void v2_client_master_key(struct conv *cv, uint32_t spec)
{
    struct b m = {0};
    size_t len = 10 + 64 + 8;
    b_u8(&m, 0x80 | (unsigned)(len >> 8));
    b_u8(&m, (unsigned)(len & 0xff));
    b_u8(&m, 2);
    b_u8(&m, (unsigned)(spec >> 16));
    b_u16(&m, (unsigned)(spec & 0xffff));
    b_u16(&m, 0);
    b_u16(&m, 64);
    b_u16(&m, 8);
    b_fill(&m, 0xee, 72);
    /* CLIENT-FINISHED, encrypted (3-byte header form with padding) */
    b_mem(&m, "\x00\x08\x03" "12345678", 11);
    conv_add(cv, 0, m.p, m.n);
    b_free(&m);
}

START_TEST(test_sslv2_negotiated)
{
    struct conv cv = {0};
    static const uint32_t specs[] = {0x010080, 0x0700c0, 0x000039};
    v2_client_hello(&cv, 0x0002, specs, 3);
    v2_server_hello(&cv, false, 0x0700c0);
    v2_client_master_key(&cv, 0x0700c0);
    struct out *o = run(&cv);
    const struct tls_session_rec *r = &o->rec;
    ck_assert_int_eq(o->status, DIS_DONE);
    ck_assert(o->want_cleared);
    ck_assert(r->handshake_complete && r->sslv2_client_hello);
    ck_assert_str_eq(r->version, "SSLv2");
    ck_assert_uint_eq(r->version_code, 0x0002);
    ck_assert_uint_eq(r->cipher_code, 0x0700c0);
    ck_assert_str_eq(r->cipher, "SSL_CK_DES_192_EDE3_CBC_WITH_MD5");
    ck_assert_uint_eq(r->cert_count, 1);
    ck_assert_str_eq(r->cert_sizes, "300");
    ck_assert_str_eq(r->client_versions, "SSLv2");
    ck_assert_str_eq(r->ja3_str, "2,65664-458944-57,,,");
    ck_assert(strncmp(r->ja4, "ts2i030000_", 11) == 0);
    ck_assert_str_eq(r->ja4_r, "ts2i030000_0039,010080,0700c0_");
    ck_assert_int_eq(find(o, FK_TLS_OBSOLETE_VERSION)->severity, NZ_SEV_CRITICAL);
    ck_assert_ptr_nonnull(find(o, FK_TLS_WEAK_CIPHER));
    ck_assert(find(o, FK_TLS_OFFER_CHOICE_MISMATCH) == NULL);
    ck_assert(find(o, FK_TLS_INSECURE_RENEGOTIATION) == NULL);
    check_split_invariance(&cv, true);
    out_free(o);
    conv_free(&cv);
    /* session-id hit: no CLIENT-MASTER-KEY, done after the SERVER-HELLO */
    v2_client_hello(&cv, 0x0002, specs, 3);
    v2_server_hello(&cv, true, 0x0700c0);
    o = run(&cv);
    ck_assert_int_eq(o->status, DIS_DONE);
    ck_assert(o->rec.resumed && !o->rec.cipher_set);
    out_free(o);
    conv_free(&cv);
}
END_TEST

/* SERVER-HELLO listing n cipher specs (no session-id hit). */
static void v2_server_hello_specs(struct conv *cv, const uint32_t *specs, size_t n)
{
    struct b m = {0};
    size_t len = 11 + 300 + 3 * n + 16;
    b_u8(&m, 0x80 | (unsigned)(len >> 8));
    b_u8(&m, (unsigned)(len & 0xff));
    b_u8(&m, 4);
    b_u8(&m, 0);
    b_u8(&m, 1);
    b_u16(&m, 0x0002);
    b_u16(&m, 300);
    b_u16(&m, (unsigned)(3 * n));
    b_u16(&m, 16);
    b_fill(&m, 0x30, 300);
    for (size_t i = 0; i < n; i++) {
        b_u8(&m, (unsigned)(specs[i] >> 16));
        b_u16(&m, (unsigned)(specs[i] & 0xffff));
    }
    b_fill(&m, 0xdd, 16);
    conv_add(cv, 1, m.p, m.n);
    b_free(&m);
}

START_TEST(test_sslv2_server_single_spec)
{
    /* A SERVER-HELLO with a single spec is the session's cipher even without the
     * CLIENT-MASTER-KEY: judged like a TLS suite (REFERENCE §3b: EXPORT40 critical) and
     * static RSA key transport (no forward secrecy). */
    struct conv cv = {0};
    static const uint32_t specs[] = {0x010080, 0x020080, 0x0700c0};
    v2_client_hello(&cv, 0x0002, specs, 3);
    v2_server_hello(&cv, false, 0x020080);
    struct out *o = run(&cv);
    const struct tls_session_rec *r = &o->rec;
    ck_assert(r->cipher_set);
    ck_assert_uint_eq(r->cipher_code, 0x020080);
    ck_assert_str_eq(r->cipher, "SSL_CK_RC4_128_EXPORT40_WITH_MD5");
    ck_assert_int_eq(find(o, FK_TLS_WEAK_CIPHER)->severity, NZ_SEV_CRITICAL);
    ck_assert_ptr_nonnull(strstr(find(o, FK_TLS_WEAK_CIPHER)->evidence,
                                 "\"cipher_code\":\"0x020080\""));
    ck_assert_int_eq(find(o, FK_TLS_NO_FORWARD_SECRECY)->severity, NZ_SEV_LOW);
    ck_assert_ptr_nonnull(strstr(find(o, FK_TLS_NO_FORWARD_SECRECY)->evidence,
                                 "\"key_exchange\":\"RSA_EXPORT\""));
    ck_assert(find(o, FK_TLS_OFFER_CHOICE_MISMATCH) == NULL);
    check_split_invariance(&cv, true);
    out_free(o);
    conv_free(&cv);

    /* several specs: the CLIENT-MASTER-KEY names the choice (RC4 128: high) */
    v2_client_hello(&cv, 0x0002, specs, 3);
    v2_server_hello_specs(&cv, specs, 3);
    v2_client_master_key(&cv, 0x010080);
    o = run(&cv);
    ck_assert_uint_eq(o->rec.cipher_code, 0x010080);
    ck_assert_int_eq(find(o, FK_TLS_WEAK_CIPHER)->severity, NZ_SEV_HIGH);
    ck_assert_int_eq(find(o, FK_TLS_NO_FORWARD_SECRECY)->severity, NZ_SEV_LOW);
    ck_assert_ptr_nonnull(strstr(find(o, FK_TLS_NO_FORWARD_SECRECY)->evidence,
                                 "\"key_exchange\":\"RSA\""));
    check_split_invariance(&cv, true);
    out_free(o);
    conv_free(&cv);

    /* near miss: several specs and no CLIENT-MASTER-KEY (yet): no choice, no cipher verdict */
    v2_client_hello(&cv, 0x0002, specs, 3);
    v2_server_hello_specs(&cv, specs, 3);
    o = run(&cv);
    ck_assert(!o->rec.cipher_set);
    ck_assert(find(o, FK_TLS_WEAK_CIPHER) == NULL);
    ck_assert(find(o, FK_TLS_NO_FORWARD_SECRECY) == NULL);
    ck_assert_int_eq(find(o, FK_TLS_OBSOLETE_VERSION)->severity, NZ_SEV_CRITICAL);
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_sslv2_hello_tls_answer)
{
    /* SSLv2-compatible ClientHello offering TLS 1.0, answered in TLS (RFC 5246 App. E.2) */
    struct conv cv = {0};
    static const uint32_t specs[] = {0x010080, 0x000039, 0x00002f, 0x0000ff};
    v2_client_hello(&cv, 0x0301, specs, 4);
    struct b m = {0};
    struct sh_spec s = {.legacy = 0x0301, .cipher = 0x002f, .no_exts = true};
    msg_sh(&m, &s);
    msg_raw(&m, 14, NULL, 0);
    add_msg_records(&cv, 1, &m);
    b_free(&m);
    tail12(&cv);
    struct out *o = run(&cv);
    const struct tls_session_rec *r = &o->rec;
    ck_assert_int_eq(o->status, DIS_DONE);
    ck_assert(r->sslv2_client_hello && r->handshake_complete && r->reneg_scsv);
    ck_assert_str_eq(r->version, "TLSv1.0");
    ck_assert_uint_eq(r->client_version, 0x0301);
    ck_assert_uint_eq(r->n_ciphers_offered, 4);
    ck_assert_str_eq(r->ja3_str, "769,65664-57-47-255,,,");
    ck_assert(strncmp(r->ja4, "t10i040000_", 11) == 0);
    ck_assert_int_eq(find(o, FK_TLS_OBSOLETE_VERSION)->severity, NZ_SEV_LOW);
    ck_assert_int_eq(find(o, FK_TLS_CLIENT_OFFERS_WEAK)->severity, NZ_SEV_INFO); /* RC4 kind */
    ck_assert_int_eq(find(o, FK_TLS_INSECURE_RENEGOTIATION)->severity, NZ_SEV_MEDIUM);
    ck_assert(find(o, FK_TLS_OFFER_CHOICE_MISMATCH) == NULL);
    check_split_invariance(&cv, true);
    out_free(o);
    conv_free(&cv);
    /* near miss of a mismatch: an SSLv2 SERVER-HELLO to a TLS-format ClientHello */
    struct ch_spec c = {CH12, STRONG12};
    flow_ch(&cv, &c);
    v2_server_hello(&cv, false, 0x0700c0);
    o = run(&cv);
    ck_assert_str_eq(o->rec.version, "SSLv2");
    ck_assert_ptr_nonnull(strstr(find(o, FK_TLS_OFFER_CHOICE_MISMATCH)->evidence, "\"version\""));
    out_free(o);
    conv_free(&cv);
}
END_TEST

/* ------------------------------------------------------------------------------------ */
/* GREASE                                                                                 */

START_TEST(test_grease)
{
    struct conv a = {0}, b = {0};
    struct ch_spec c = {CH12, STRONG12, LIST(versions, uint16_t, 0x0304, 0x0303),
                        LIST(shares, uint16_t, 29), LIST(alpn, char *, "h2")};
    struct ch_spec g = c;
    g.grease = true;
    struct sh_spec s = {.sv = 0x0304, .cipher = 0x1301, .ks_group = 29};
    c.ciphers = g.ciphers = ARR(uint16_t, 0x1301, 0xc02f);
    c.nciphers = g.nciphers = 2;
    flow13(&a, &c, &s);
    flow13(&b, &g, &s);
    struct out *oa = run(&a), *ob = run(&b);
    ck_assert_str_eq(oa->rec.ja3, ob->rec.ja3);
    ck_assert_str_eq(oa->rec.ja3_str, ob->rec.ja3_str);
    ck_assert_str_eq(oa->rec.ja4, ob->rec.ja4);
    ck_assert_str_eq(oa->rec.ja4_r, ob->rec.ja4_r);
    ck_assert_str_eq(oa->rec.groups_offered, ob->rec.groups_offered);
    ck_assert_str_eq(oa->rec.key_share_groups, ob->rec.key_share_groups);
    ck_assert_str_eq(oa->rec.client_versions, "TLSv1.3,TLSv1.2");
    ck_assert_str_eq(ob->rec.client_versions, "TLSv1.3,TLSv1.2");
    ck_assert_uint_eq(ob->rec.n_ciphers_offered, 2);
    ck_assert_uint_eq(ob->rec.client_max_version, 0x0304);
    /* the extension list keeps GREASE as sent */
    ck_assert(strncmp(ob->rec.client_exts, "2570,", 5) == 0);
    ck_assert_int_eq(ob->n_find, 0);
    check_split_invariance(&b, true);
    out_free(oa);
    out_free(ob);
    conv_free(&a);
    conv_free(&b);
}
END_TEST

/* ------------------------------------------------------------------------------------ */
/* hostile input                                                                          */

START_TEST(test_hostile_hs_length_over_record)
{
    /* A 24-bit length larger than the record: the message continues in later records. A
     * flow that ends first yields no record and no crash. */
    struct conv cv = {0};
    static const uint8_t rec1[] = {0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x07, 0xd0,
                                   0x03, 0x03, 0x00, 0x00};
    add_raw(&cv, 0, rec1, sizeof rec1);
    struct out *o = run(&cv);
    ck_assert_int_eq(o->n_rec, 0);
    ck_assert_int_eq(o->status, DIS_OK);
    out_free(o);
    conv_free(&cv);
    /* A message over TLS_HS_MAX is skipped (counted), the next one still parses. */
    struct b m = {0};
    size_t big = TLS_HS_MAX + 5000;
    b_u8(&m, 99);
    b_u24(&m, big);
    b_fill(&m, 0x41, big);
    struct ch_spec c = {CH12, STRONG12};
    msg_ch(&m, &c);
    add_records(&cv, 0, 22, &m, 16384);
    b_free(&m);
    o = run(&cv);
    ck_assert_int_eq(o->n_rec, 1);
    ck_assert_uint_eq(o->rec.hs_oversize, 1);
    ck_assert_str_eq(o->rec.sni, "www.netzwacht.test");
    check_split_invariance(&cv, false);
    out_free(o);
    conv_free(&cv);
}
END_TEST

/* Heap bytes in use, as glibc counts them (0 under ASan, whose allocator is its own). */
static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 0;
#else
    return mallinfo2().uordblks;
#endif
}

/* mallinfo counts chunks parked in glibc's per-thread cache (freed by a realloc that moved)
 * as in use: allow that much on top of what the state holds. */
#define HEAP_SLACK 4096u
static void assert_heap_near(size_t h0, size_t want)
{
    if (!h0)
        return;
    size_t got = heap_in_use() - h0;
    ck_assert_uint_ge(got + HEAP_SLACK, want);
    ck_assert_uint_le(got, want + HEAP_SLACK);
}

START_TEST(test_hostile_announced_length_memory)
{
    /* A ClientHello header announcing ~64 KiB, then only the body bytes of one record: the
     * state must hold what came (a 1 KiB buffer), not the announced length. mem() reports
     * exactly what the allocator holds for the state, and the buffer goes once the message
     * is complete. */
    struct dis_sink sink = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    struct dis_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.sink = &sink;
    ctx.want[0] = ctx.want[1] = true;
    size_t h0 = heap_in_use();
    void *st = tls_dissector.state_new(NULL);
    ck_assert_ptr_nonnull(st);
    size_t fresh = tls_dissector.mem(st);
    ck_assert_uint_ge(fresh, nz_heap_size(sizeof(struct tls_session_rec)));
    assert_heap_near(h0, fresh);
    const uint32_t announced = 65000; /* <= TLS_HS_MAX: buffered, not skipped */
    uint8_t rec[5 + 1024];
    memset(rec, 0x41, sizeof rec);
    rec[0] = 0x16, rec[1] = 0x03, rec[2] = 0x01, rec[3] = 0x04, rec[4] = 0x00;
    rec[5] = 0x01, rec[6] = (uint8_t)(announced >> 16), rec[7] = (uint8_t)(announced >> 8), rec[8] = (uint8_t)announced;
    size_t used = 0;
    ck_assert_int_eq(tls_dissector.on_data(st, 0, (struct bytes){rec, sizeof rec}, &used, &ctx), DIS_OK);
    ck_assert_uint_eq(used, sizeof rec);
    ck_assert_uint_eq(tls_dissector.mem(st), fresh + nz_heap_size(1024));
    assert_heap_near(h0, tls_dissector.mem(st)); /* before the fix: + 64 KiB */
    /* The rest of the message in records of 1024 body bytes: the buffer doubles with the data,
     * never past the announced length. */
    uint32_t have = 1020;
    while (have < announced) {
        uint32_t n = announced - have < 1024 ? announced - have : 1024;
        rec[3] = (uint8_t)(n >> 8), rec[4] = (uint8_t)n;
        memset(rec + 5, 0x41, 4);
        ck_assert_int_eq(tls_dissector.on_data(st, 0, (struct bytes){rec, 5 + n}, &used, &ctx), DIS_OK);
        have += n;
        if (have < announced) {
            size_t cap = 1024;
            while (cap < have)
                cap *= 2;
            ck_assert_uint_eq(tls_dissector.mem(st), fresh + nz_heap_size(cap < announced ? cap : announced));
            assert_heap_near(h0, tls_dissector.mem(st));
        }
    }
    /* Complete (and malformed): handled, buffer released. */
    ck_assert_uint_eq(tls_dissector.mem(st), fresh);
    assert_heap_near(h0, fresh);
    tls_dissector.on_close(st, &ctx);
    tls_dissector.state_free(st);
}
END_TEST

START_TEST(test_hostile_zero_length_vectors)
{
    struct conv cv = {0};
    struct ch_spec c = {.empty_ciphers = true, .empty_comp = true, .no_exts = true};
    static const uint8_t empty_rec[] = {0x16, 0x03, 0x01, 0x00, 0x00};
    add_raw(&cv, 0, empty_rec, sizeof empty_rec);
    flow_ch(&cv, &c);
    struct out *o = run(&cv);
    ck_assert_int_eq(o->n_rec, 1);
    ck_assert_uint_eq(o->rec.n_ciphers_offered, 0);
    ck_assert_uint_eq(o->rec.n_comp_offered, 0);
    ck_assert_str_eq(o->rec.ja3_str, "771,,,,");
    ck_assert_str_eq(o->rec.ja4, "t12i000000_000000000000_000000000000");
    ck_assert_uint_eq(o->rec.hs_malformed, 0);
    out_free(o);
    conv_free(&cv);
    /* zero-length host name, empty ALPN list, empty groups, empty extension bodies */
    static const uint8_t raw[] = {
        0x00, 0x00, 0x00, 0x05, 0x00, 0x03, 0x00, 0x00, 0x00, /* SNI "" */
        0x00, 0x10, 0x00, 0x02, 0x00, 0x00,                   /* ALPN [] */
        0x00, 0x0a, 0x00, 0x02, 0x00, 0x00,                   /* groups [] */
        0xff, 0x01, 0x00, 0x00};                              /* RI empty */
    c = (struct ch_spec){STRONG12, .raw_ext = raw, .nraw_ext = sizeof raw};
    flow_ch(&cv, &c);
    o = run(&cv);
    ck_assert_str_eq(o->rec.sni, "");
    ck_assert_str_eq(o->rec.alpn_offered, "");
    ck_assert(o->rec.client_ri);
    ck_assert(strncmp(o->rec.ja4, "t12d0404", 8) == 0 && strncmp(o->rec.ja4 + 8, "00_", 3) == 0);
    ck_assert_uint_eq(o->rec.hs_malformed, 0);
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_hostile_extension_overrun)
{
    /* An extension whose length runs past the block, an SNI entry past its extension, an
     * ALPN name past its list: no overread (guard page), the hello is marked malformed and
     * the offer/choice comparison is skipped. */
    static const uint8_t overrun_ext[] = {0x00, 0x17, 0x01, 0x00, 0x00};
    static const uint8_t overrun_sni[] = {0x00, 0x00, 0x00, 0x07, 0x00, 0x05,
                                          0x00, 0x00, 0x40, 0x61, 0x62};
    static const uint8_t overrun_alpn[] = {0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x09, 0x68, 0x32};
    const uint8_t *raws[] = {overrun_ext, overrun_sni, overrun_alpn};
    const size_t nraws[] = {sizeof overrun_ext, sizeof overrun_sni, sizeof overrun_alpn};
    for (size_t i = 0; i < 3; i++) {
        struct conv cv = {0};
        struct ch_spec c = {LIST(ciphers, uint16_t, 0xc02f), .raw_ext = raws[i],
                            .nraw_ext = nraws[i]};
        struct sh_spec s = {SH12, .cipher = 0xc030};
        flow12(&cv, &c, &s, 0);
        struct out *o = run(&cv);
        ck_assert_int_eq(o->n_rec, 1);
        ck_assert(o->rec.ch_malformed);
        ck_assert_uint_ge(o->rec.hs_malformed, 1);
        ck_assert_uint_eq(o->rec.n_ciphers_offered, 1);
        ck_assert(find(o, FK_TLS_OFFER_CHOICE_MISMATCH) == NULL);
        ck_assert(o->rec.handshake_complete);
        check_split_invariance(&cv, false);
        out_free(o);
        conv_free(&cv);
    }
}
END_TEST

START_TEST(test_hostile_record_errors)
{
    static const uint8_t bad_type[] = {0x19, 0x03, 0x03, 0x00, 0x01, 0x00};
    static const uint8_t bad_ver[] = {0x16, 0x03, 0x05, 0x00, 0x01, 0x00};
    static const uint8_t bad_major[] = {0x16, 0x02, 0x01, 0x00, 0x01, 0x00};
    static const uint8_t too_long[] = {0x17, 0x03, 0x03, 0x48, 0x01};
    static const uint8_t http[] = "GET / HTTP/1.1\r\n";
    const uint8_t *in[] = {bad_type, bad_ver, bad_major, too_long, http};
    const size_t n[] = {sizeof bad_type, sizeof bad_ver, sizeof bad_major, sizeof too_long, 16};
    for (size_t i = 0; i < 5; i++) {
        struct conv cv = {0};
        struct ch_spec c = {CH12, STRONG12};
        flow_ch(&cv, &c);
        add_raw(&cv, 1, in[i], n[i]);
        struct out *o = run(&cv);
        ck_assert_int_eq(o->status, DIS_ERR);
        ck_assert_ptr_nonnull(o->err);
        ck_assert(strncmp(o->err, "tls: ", 5) == 0);
        ck_assert_int_eq(o->n_rec, 1); /* what was seen before is still reported */
        /* and the driver reports the detach (the product's dissect.malformed finding) */
        ck_assert_int_eq(count_kind(o, FK_DISSECT_MALFORMED), 1);
        ck_assert_ptr_nonnull(strstr(find(o, FK_DISSECT_MALFORMED)->evidence, o->err));
        /* the error is found even when the bytes arrive one at a time */
        struct out *ob = run_full(&cv, FEED_BYTE, 0, 0, NULL);
        ck_assert_int_eq(ob->status, DIS_ERR);
        ck_assert_str_eq(ob->dump.s, o->dump.s);
        out_free(ob);
        out_free(o);
        conv_free(&cv);
    }
    /* an SSLv2 header that is not a CLIENT-HELLO */
    struct conv cv = {0};
    add_raw(&cv, 0, "\x80\x05\x02\x00\x02\x00\x00", 7);
    struct out *o = run(&cv);
    ck_assert_int_eq(o->status, DIS_ERR);
    ck_assert_int_eq(o->n_rec, 0);
    ck_assert_int_eq(count_kind(o, FK_DISSECT_MALFORMED), 1);
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_hostile_server_hello_truncated)
{
    struct conv cv = {0};
    struct ch_spec c = {CH12, STRONG12};
    flow_ch(&cv, &c);
    struct b m = {0};
    msg_raw(&m, 2, "\x03\x03\x01\x02\x03\x04\x05\x06\x07\x08", 10);
    /* session id length 33 */
    uint8_t sh[38];
    memset(sh, 0, sizeof sh);
    sh[0] = 3;
    sh[1] = 3;
    sh[34] = 33;
    msg_raw(&m, 2, sh, sizeof sh);
    add_msg_records(&cv, 1, &m);
    b_free(&m);
    struct out *o = run(&cv);
    ck_assert_uint_eq(o->rec.hs_malformed, 2);
    ck_assert(!o->rec.server_hello_seen);
    out_free(o);
    conv_free(&cv);
    /* a second ServerHello in clear is not part of any handshake: ignored and counted */
    struct sh_spec s = {SH12, .cipher = 0xc02f};
    struct sh_spec s2 = {SH12, .cipher = 0xc030, .legacy = 0x0301};
    flow_ch(&cv, &c);
    msg_sh(&m, &s);
    msg_sh(&m, &s2);
    add_msg_records(&cv, 1, &m);
    b_free(&m);
    o = run(&cv);
    ck_assert_uint_eq(o->rec.hs_unexpected, 1);
    ck_assert_uint_eq(o->rec.cipher_code, 0xc02f);
    ck_assert_str_eq(o->rec.version, "TLSv1.2");
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_hostile_list_caps)
{
    struct conv cv = {0};
    uint16_t many[600];
    for (size_t i = 0; i < 600; i++)
        many[i] = (uint16_t)(0x0100 + i);
    struct ch_spec c = {CH12, .ciphers = many, .nciphers = 600};
    struct sh_spec s = {SH12, .cipher = 0xc02f}; /* not offered, but the list was cut */
    flow12(&cv, &c, &s, 0);
    struct out *o = run(&cv);
    ck_assert(o->rec.fp_partial);
    ck_assert_uint_eq(o->rec.n_ciphers_offered, FP_CIPHERS_MAX);
    ck_assert(strncmp(o->rec.ja4, "t12d99", 6) == 0);
    ck_assert(find(o, FK_TLS_OFFER_CHOICE_MISMATCH) == NULL);
    ck_assert_uint_lt(strlen(o->rec.ja3_str), TLS_FP_STR_MAX);
    out_free(o);
    conv_free(&cv);
    /* 150 extensions: the text list ends in "...", the fingerprint list is capped */
    uint8_t raw[150 * 4];
    for (size_t i = 0; i < 150; i++) {
        raw[4 * i] = 0x10;
        raw[4 * i + 1] = (uint8_t)i;
        raw[4 * i + 2] = raw[4 * i + 3] = 0;
    }
    c = (struct ch_spec){STRONG12, .raw_ext = raw, .nraw_ext = sizeof raw};
    flow_ch(&cv, &c);
    o = run(&cv);
    size_t n = strlen(o->rec.client_exts);
    ck_assert_uint_lt(n, TLS_TEXT_MAX);
    ck_assert_str_eq(o->rec.client_exts + n - 4, ",...");
    ck_assert(strncmp(o->rec.client_exts, "4096,4097,", 10) == 0);
    ck_assert(o->rec.fp_partial);
    ck_assert(strncmp(o->rec.ja4, "t12i0499", 8) == 0);
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_midstream)
{
    /* Picked up after the handshake: encrypted alerts and application data in both
     * directions end the dissection without a record. */
    struct conv cv = {0};
    static const uint8_t enc_alert[] = {0x15, 0x03, 0x03, 0x00, 0x04, 0x9a, 0x01, 0x02, 0x56};
    static const uint8_t heartbeat[] = {0x18, 0x03, 0x03, 0x00, 0x03, 0x01, 0x00, 0x00};
    add_raw(&cv, 0, heartbeat, sizeof heartbeat); /* contents ignored */
    add_raw(&cv, 0, app_rec, sizeof app_rec);
    add_raw(&cv, 1, enc_alert, sizeof enc_alert);
    add_raw(&cv, 1, app_rec, sizeof app_rec);
    struct out *o = run(&cv);
    ck_assert_int_eq(o->status, DIS_DONE);
    ck_assert_int_eq(o->n_rec, 0);
    ck_assert_int_eq(o->n_label, 1);
    ck_assert(o->want_cleared);
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_lifecycle)
{
    /* on_data after DIS_DONE, on_gap, a second handshake in clear, started_by */
    struct conv cv = {0};
    struct ch_spec c = {CH12, STRONG12};
    struct sh_spec s = {SH12, .cipher = 0xc02f};
    flow12(&cv, &c, &s, 0);
    add_raw(&cv, 1, app_rec, sizeof app_rec);
    struct out *o = run_full(&cv, FEED_WHOLE, 0, 0, "smtp-starttls");
    ck_assert_str_eq(o->rec.started_by, "smtp-starttls");
    ck_assert_int_eq(o->status, DIS_DONE);
    out_free(o);

    struct dis_sink sink = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    struct dis_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.sink = &sink;
    ctx.want[0] = ctx.want[1] = true;
    void *st = tls_dissector.state_new(NULL);
    size_t used = 0;
    enum dis_status r = DIS_OK;
    for (size_t i = 0; i < cv.n && r == DIS_OK; i++) {
        uint8_t *g = tu_guard(cv.f[i].p, cv.f[i].len);
        r = tls_dissector.on_data(st, cv.f[i].dir, (struct bytes){g, cv.f[i].len}, &used, &ctx);
        tu_guard_free(g, cv.f[i].len);
    }
    ck_assert_int_eq(r, DIS_DONE);
    ck_assert(!ctx.want[0] && !ctx.want[1]);
    r = tls_dissector.on_data(st, 1, (struct bytes){app_rec, sizeof app_rec}, &used, &ctx);
    ck_assert_int_eq(r, DIS_DONE);
    ck_assert_uint_eq(used, sizeof app_rec);
    r = tls_dissector.on_data(st, 2, (struct bytes){app_rec, sizeof app_rec}, &used, &ctx);
    ck_assert_int_eq(r, DIS_ERR); /* not a direction */
    tls_dissector.on_close(st, &ctx);
    tls_dissector.state_free(st);
    tls_dissector.state_free(NULL);
    conv_free(&cv);

    /* capture loss during the handshake: what was seen is emitted once, then DIS_DONE */
    struct out *og = calloc(1, sizeof *og);
    ck_assert_ptr_nonnull(og);
    struct dis_sink s2 = {og, on_finding, on_session, NULL, NULL, on_label, NULL};
    struct drv_host host = {.sink = &s2, .find = find_guarded};
    struct drv drv;
    flow_ch(&cv, &c);
    drv_init(&drv, &host, "192.0.2.1", "192.0.2.2", 50000, 443, 7);
    ck_assert(drv_attach(&drv, &guarded_tls, 0));
    drv_data(&drv, 0, cv.f[0].p, cv.f[0].len, 0);
    ck_assert_int_eq(og->status, DIS_OK);
    ck_assert_uint_eq(og->calls, 1);
    og->gap_status = DIS_ERR;
    drv_gap(&drv, 1, 1000, 0);
    ck_assert_int_eq(og->gap_status, DIS_DONE);
    ck_assert_int_eq(drv_state(&drv), DRV_FINISHED);
    drv_close(&drv, 0);
    drv_fini(&drv);
    ck_assert_int_eq(og->n_rec, 1);
    ck_assert(og->rec.client_hello_seen && !og->rec.handshake_complete);
    out_free(og);

    /* a second ClientHello (no HRR) closes the first record and starts another */
    struct b m = {0};
    msg_ch(&m, &c);
    add_msg_records(&cv, 0, &m);
    b_free(&m);
    og = calloc(1, sizeof *og);
    ck_assert_ptr_nonnull(og);
    s2.ud = og;
    drv_init(&drv, &host, "192.0.2.1", "192.0.2.2", 50000, 443, 7);
    ck_assert(drv_attach(&drv, &guarded_tls, 0));
    for (size_t i = 0; i < cv.n; i++)
        drv_data(&drv, 0, cv.f[i].p, cv.f[i].len, 0);
    drv_close(&drv, 0);
    drv_fini(&drv);
    ck_assert_uint_eq(host.stats.errors, 0);
    ck_assert_int_eq(og->n_rec, 2);
    ck_assert_int_eq(og->n_label, 1);
    out_free(og);
    conv_free(&cv);
}
END_TEST

/* ------------------------------------------------------------------------------------ */
/* verdicts: each kind on a positive vector and not on its near miss                      */

static struct out *v12(const struct ch_spec *c, const struct sh_spec *s, int dhe_bits, int policy)
{
    struct conv cv = {0};
    flow12(&cv, c, s, dhe_bits);
    struct out *o = run_policy(&cv, policy);
    conv_free(&cv);
    return o;
}

static struct out *v13(const struct ch_spec *c, const struct sh_spec *s)
{
    struct conv cv = {0};
    flow13(&cv, c, s);
    struct out *o = run(&cv);
    conv_free(&cv);
    return o;
}

static void expect(struct out *o, enum finding_kind k, enum nz_severity sev)
{
    const struct finding *f = find(o, k);
    ck_assert_msg(f != NULL, "%s missing; got:\n%s", finding_kind_info(k)->name, o->dump.s);
    ck_assert_msg(f->severity == sev, "%s: severity %s, want %s", finding_kind_info(k)->name,
                  nz_severity_name(f->severity), nz_severity_name(sev));
    ck_assert_int_eq(count_kind(o, k), 1);
    ck_assert(f->summary[0] != '\0');
    ck_assert(f->evidence[0] == '{' && f->evidence[strlen(f->evidence) - 1] == '}');
    ck_assert_ptr_null(strstr(f->evidence, "truncated"));
}

static void expect_none(struct out *o, enum finding_kind k)
{
    ck_assert_msg(find(o, k) == NULL, "%s fired unexpectedly:\n%s", finding_kind_info(k)->name,
                  o->dump.s);
}

START_TEST(test_verdict_obsolete_version)
{
    struct ch_spec c = {CH12, .legacy = 0x0300, LIST(ciphers, uint16_t, 0xc014)};
    struct sh_spec s = {SH12, .legacy = 0x0300, .cipher = 0xc014};
    struct out *o = v12(&c, &s, 0, 0);
    expect(o, FK_TLS_OBSOLETE_VERSION, NZ_SEV_HIGH);
    ck_assert_ptr_nonnull(strstr(find(o, FK_TLS_OBSOLETE_VERSION)->evidence,
                                 "\"side\":\"negotiated\",\"version\":\"SSLv3\","
                                 "\"version_code\":768"));
    out_free(o);
    c.legacy = s.legacy = 0x0301;
    o = v12(&c, &s, 0, 0);
    expect(o, FK_TLS_OBSOLETE_VERSION, NZ_SEV_LOW);
    ck_assert_str_eq(find(o, FK_TLS_OBSOLETE_VERSION)->summary,
                     "TLSv1.0 negotiated with www.netzwacht.test (192.0.2.2:443)");
    out_free(o);
    o = v12(&c, &s, 0, 1); /* --policy intermediate */
    expect(o, FK_TLS_OBSOLETE_VERSION, NZ_SEV_MEDIUM);
    out_free(o);
    c.legacy = s.legacy = 0x0302;
    o = v12(&c, &s, 0, 0);
    expect(o, FK_TLS_OBSOLETE_VERSION, NZ_SEV_LOW);
    out_free(o);
    /* near miss: TLS 1.2 */
    c.legacy = s.legacy = 0x0303;
    o = v12(&c, &s, 0, 0);
    expect_none(o, FK_TLS_OBSOLETE_VERSION);
    out_free(o);
    /* the client's ceiling alone, one level lower */
    struct conv cv = {0};
    struct ch_spec co = {CH12, STRONG12, .legacy = 0x0301};
    flow_ch(&cv, &co);
    o = run(&cv);
    expect(o, FK_TLS_OBSOLETE_VERSION, NZ_SEV_INFO);
    out_free(o);
    o = run_policy(&cv, 1);
    expect(o, FK_TLS_OBSOLETE_VERSION, NZ_SEV_LOW);
    out_free(o);
    conv_free(&cv);
    co.legacy = 0x0300;
    flow_ch(&cv, &co);
    o = run(&cv);
    expect(o, FK_TLS_OBSOLETE_VERSION, NZ_SEV_MEDIUM);
    out_free(o);
    conv_free(&cv);
    /* near miss: offers 1.2 and 1.0 (ceiling 1.2) */
    co = (struct ch_spec){CH12, STRONG12, .legacy = 0x0303,
                          LIST(versions, uint16_t, 0x0303, 0x0301)};
    flow_ch(&cv, &co);
    o = run(&cv);
    expect_none(o, FK_TLS_OBSOLETE_VERSION);
    out_free(o);
    conv_free(&cv);
}
END_TEST

static void weak_case(uint16_t cipher, uint16_t version, enum nz_severity sev, const char *attack)
{
    struct ch_spec c = {CH12, .legacy = version, .ciphers = &cipher, .nciphers = 1};
    struct sh_spec s = {SH12, .legacy = version, .cipher = cipher};
    struct out *o = v12(&c, &s, 2048, 0);
    if (sev == NZ_SEV_INFO) {
        expect_none(o, FK_TLS_WEAK_CIPHER);
    } else {
        expect(o, FK_TLS_WEAK_CIPHER, sev);
        if (attack)
            ck_assert_ptr_nonnull(strstr(find(o, FK_TLS_WEAK_CIPHER)->evidence, attack));
    }
    expect_none(o, FK_TLS_OFFER_CHOICE_MISMATCH);
    out_free(o);
}

START_TEST(test_verdict_weak_cipher)
{
    weak_case(0x0002, 0x0303, NZ_SEV_CRITICAL, "\"class\":\"null\"");   /* RSA_WITH_NULL_SHA */
    weak_case(0x0034, 0x0303, NZ_SEV_CRITICAL, "\"class\":\"anon\"");   /* DH_anon AES128 */
    weak_case(0x0003, 0x0301, NZ_SEV_CRITICAL, "FREAK");                /* RSA_EXPORT RC4_40 */
    weak_case(0x0005, 0x0303, NZ_SEV_HIGH, "RC4");                      /* RSA RC4_128 SHA */
    weak_case(0x0009, 0x0303, NZ_SEV_HIGH, "\"enc\":\"DES\"");          /* RSA DES_CBC */
    weak_case(0x000a, 0x0303, NZ_SEV_MEDIUM, "SWEET32");                /* RSA 3DES */
    weak_case(0x0007, 0x0303, NZ_SEV_MEDIUM, "SWEET32");                /* RSA IDEA */
    weak_case(0x002f, 0x0300, NZ_SEV_HIGH, "POODLE");                   /* CBC under SSLv3 */
    weak_case(0x002f, 0x0301, NZ_SEV_LOW, "BEAST");
    weak_case(0xc013, 0x0303, NZ_SEV_LOW, "Lucky13");                   /* other CBC */
    weak_case(0x00fe, 0x0303, NZ_SEV_MEDIUM, "\"class\":\"unknown\"");  /* not registered */
    /* near misses: FS AEAD, AEAD without FS (that is no_forward_secrecy's business) */
    weak_case(0xc02f, 0x0303, NZ_SEV_INFO, NULL);
    weak_case(0xcca8, 0x0303, NZ_SEV_INFO, NULL);
    weak_case(0x009c, 0x0303, NZ_SEV_INFO, NULL);
    struct ch_spec c = {CH12, LIST(ciphers, uint16_t, 0x1301), LIST(versions, uint16_t, 0x0304),
                        LIST(shares, uint16_t, 29)};
    struct sh_spec s = {.sv = 0x0304, .cipher = 0x1301, .ks_group = 29};
    struct out *o = v13(&c, &s);
    ck_assert_int_eq(o->n_find, 0);
    out_free(o);
    /* RFC 9150 integrity-only suite in TLS 1.3 */
    c.ciphers = s.cipher == 0 ? NULL : ARR(uint16_t, 0xc0b4);
    s.cipher = 0xc0b4;
    o = v13(&c, &s);
    expect(o, FK_TLS_WEAK_CIPHER, NZ_SEV_CRITICAL);
    out_free(o);
}
END_TEST

START_TEST(test_verdict_client_offers_weak)
{
    struct conv cv = {0};
    struct ch_spec c = {CH12, LIST(ciphers, uint16_t, 0xc02f, 0x0003, 0x0005)};
    flow_ch(&cv, &c);
    struct out *o = run(&cv);
    expect(o, FK_TLS_CLIENT_OFFERS_WEAK, NZ_SEV_LOW);
    ck_assert_ptr_nonnull(strstr(find(o, FK_TLS_CLIENT_OFFERS_WEAK)->evidence,
                                 "\"null_anon_export\":[\"TLS_RSA_EXPORT_WITH_RC4_40_MD5\"],"
                                 "\"rc4_des_md5\":[\"TLS_RSA_WITH_RC4_128_SHA\"]"));
    out_free(o);
    conv_free(&cv);
    c = (struct ch_spec){CH12, LIST(ciphers, uint16_t, 0xc02f, 0x0009)};
    flow_ch(&cv, &c);
    o = run(&cv);
    expect(o, FK_TLS_CLIENT_OFFERS_WEAK, NZ_SEV_INFO);
    out_free(o);
    conv_free(&cv);
    /* near miss: SCSVs, CBC, 3DES and unknown code points are not "weak offers" */
    c = (struct ch_spec){CH12, LIST(ciphers, uint16_t, 0xc02f, 0x000a, 0x002f, 0x00ff, 0x00fe)};
    flow_ch(&cv, &c);
    o = run(&cv);
    expect_none(o, FK_TLS_CLIENT_OFFERS_WEAK);
    out_free(o);
    conv_free(&cv);
}
END_TEST

START_TEST(test_verdict_no_forward_secrecy)
{
    struct ch_spec c = {CH12, STRONG12};
    struct sh_spec s = {SH12, .cipher = 0x009c};
    struct out *o = v12(&c, &s, 0, 0);
    expect(o, FK_TLS_NO_FORWARD_SECRECY, NZ_SEV_LOW);
    ck_assert_ptr_nonnull(strstr(find(o, FK_TLS_NO_FORWARD_SECRECY)->evidence,
                                 "\"key_exchange\":\"RSA\""));
    out_free(o);
    s.cipher = 0xc02f; /* near miss */
    o = v12(&c, &s, 0, 0);
    expect_none(o, FK_TLS_NO_FORWARD_SECRECY);
    out_free(o);
    /* TLS 1.3 resumption with psk_ke: no (EC)DHE */
    struct ch_spec c13 = {CH12, LIST(ciphers, uint16_t, 0x1301), LIST(versions, uint16_t, 0x0304),
                          .psk = true, .psk_modes = 1};
    struct sh_spec s13 = {.sv = 0x0304, .cipher = 0x1301, .psk = true};
    o = v13(&c13, &s13);
    expect(o, FK_TLS_NO_FORWARD_SECRECY, NZ_SEV_LOW);
    ck_assert(o->rec.resumed);
    out_free(o);
    s13.ks_group = 29; /* near miss: psk_dhe_ke */
    o = v13(&c13, &s13);
    expect_none(o, FK_TLS_NO_FORWARD_SECRECY);
    out_free(o);
}
END_TEST

START_TEST(test_verdict_weak_dh)
{
    struct ch_spec c = {CH12, STRONG12};
    struct sh_spec s = {SH12, .cipher = 0x009e};
    struct out *o = v12(&c, &s, 1536, 0);
    expect(o, FK_TLS_WEAK_DH, NZ_SEV_MEDIUM);
    ck_assert_uint_eq(o->rec.dhe_bits, 1536);
    out_free(o);
    o = v12(&c, &s, 768, 0);
    expect(o, FK_TLS_WEAK_DH, NZ_SEV_HIGH);
    ck_assert_str_eq(find(o, FK_TLS_WEAK_DH)->summary,
                     "768-bit DH group from www.netzwacht.test (192.0.2.2:443) (Logjam)");
    out_free(o);
    o = v12(&c, &s, 2048, 0); /* near miss */
    expect_none(o, FK_TLS_WEAK_DH);
    ck_assert_uint_eq(o->rec.dhe_bits, 2048);
    ck_assert_int_eq(o->n_find, 0);
    out_free(o);
}
END_TEST

START_TEST(test_verdict_compression)
{
    struct ch_spec c = {CH12, STRONG12, LIST(comp, uint8_t, 1, 0)};
    struct sh_spec s = {SH12, .cipher = 0xc02f, .comp = 1};
    struct out *o = v12(&c, &s, 0, 0);
    expect(o, FK_TLS_COMPRESSION, NZ_SEV_MEDIUM);
    ck_assert_ptr_nonnull(strstr(find(o, FK_TLS_COMPRESSION)->evidence, "\"DEFLATE\""));
    expect_none(o, FK_TLS_OFFER_CHOICE_MISMATCH);
    out_free(o);
    s.comp = 0; /* near miss */
    o = v12(&c, &s, 0, 0);
    expect_none(o, FK_TLS_COMPRESSION);
    out_free(o);
}
END_TEST

START_TEST(test_verdict_insecure_renegotiation)
{
    struct ch_spec c = {STRONG12, .sni = "r.example"}; /* neither extension nor SCSV */
    struct sh_spec s = {.cipher = 0xc02f};
    struct out *o = v12(&c, &s, 0, 0);
    expect(o, FK_TLS_INSECURE_RENEGOTIATION, NZ_SEV_LOW);
    out_free(o);
    c.ri = true; /* the client asks, the server does not confirm */
    o = v12(&c, &s, 0, 0);
    expect(o, FK_TLS_INSECURE_RENEGOTIATION, NZ_SEV_MEDIUM);
    out_free(o);
    s.ri = true; /* near miss */
    o = v12(&c, &s, 0, 0);
    expect_none(o, FK_TLS_INSECURE_RENEGOTIATION);
    out_free(o);
    c.ri = false; /* near miss: the SCSV instead of the extension */
    c.ciphers = ARR(uint16_t, 0xc02f, 0x00ff);
    c.nciphers = 2;
    o = v12(&c, &s, 0, 0);
    expect_none(o, FK_TLS_INSECURE_RENEGOTIATION);
    ck_assert(o->rec.reneg_scsv);
    out_free(o);
    /* near miss: TLS 1.3 has no renegotiation */
    struct ch_spec c13 = {LIST(ciphers, uint16_t, 0x1301), LIST(versions, uint16_t, 0x0304)};
    struct sh_spec s13 = {.sv = 0x0304, .cipher = 0x1301, .ks_group = 29};
    o = v13(&c13, &s13);
    expect_none(o, FK_TLS_INSECURE_RENEGOTIATION);
    out_free(o);
}
END_TEST

START_TEST(test_verdict_heartbeat)
{
    struct ch_spec c = {CH12, STRONG12, .heartbeat = true};
    struct sh_spec s = {SH12, .cipher = 0xc02f, .heartbeat = true};
    struct out *o = v12(&c, &s, 0, 0);
    expect(o, FK_TLS_HEARTBEAT, NZ_SEV_INFO);
    out_free(o);
    s.heartbeat = false; /* near miss: offered, not negotiated */
    o = v12(&c, &s, 0, 0);
    expect_none(o, FK_TLS_HEARTBEAT);
    ck_assert(o->rec.client_heartbeat);
    out_free(o);
}
END_TEST

START_TEST(test_verdict_fallback_scsv)
{
    struct ch_spec c = {CH12, LIST(ciphers, uint16_t, 0xc02f, 0x5600), .legacy = 0x0302};
    struct sh_spec s = {SH12, .legacy = 0x0302, .cipher = 0xc02f};
    struct out *o = v12(&c, &s, 0, 0);
    expect(o, FK_TLS_FALLBACK_SCSV, NZ_SEV_MEDIUM);
    ck_assert_uint_eq(find(o, FK_TLS_FALLBACK_SCSV)->ts_usec, 1000000);
    out_free(o);
    c.ciphers = ARR(uint16_t, 0xc02f, 0x00ff); /* near miss */
    o = v12(&c, &s, 0, 0);
    expect_none(o, FK_TLS_FALLBACK_SCSV);
    out_free(o);
}
END_TEST

START_TEST(test_verdict_inappropriate_fallback)
{
    static const uint8_t a86[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x56};
    static const uint8_t a40[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
    struct ch_spec c = {CH12, LIST(ciphers, uint16_t, 0xc02f, 0x5600), .legacy = 0x0302};
    const struct {
        int dir;
        const uint8_t *alert;
        bool fires;
    } cases[] = {{1, a86, true}, {0, a86, false}, {1, a40, false}};
    for (size_t i = 0; i < 3; i++) {
        struct conv cv = {0};
        flow_ch(&cv, &c);
        add_raw(&cv, cases[i].dir, cases[i].alert, 7);
        struct out *o = run(&cv);
        if (cases[i].fires)
            expect(o, FK_TLS_INAPPROPRIATE_FALLBACK, NZ_SEV_HIGH);
        else
            expect_none(o, FK_TLS_INAPPROPRIATE_FALLBACK);
        out_free(o);
        conv_free(&cv);
    }
}
END_TEST

START_TEST(test_verdict_downgrade_sentinel)
{
    struct ch_spec c = {CH12, STRONG12, LIST(versions, uint16_t, 0x0304, 0x0303)};
    struct sh_spec s = {SH12, .cipher = 0xc02f, .sentinel = 1};
    struct out *o = v12(&c, &s, 0, 0);
    expect(o, FK_TLS_DOWNGRADE_SENTINEL, NZ_SEV_HIGH);
    ck_assert_ptr_nonnull(strstr(find(o, FK_TLS_DOWNGRADE_SENTINEL)->evidence, "444f574e47524401"));
    ck_assert_uint_eq(o->rec.sentinel, TLS_SENTINEL_TLS12);
    out_free(o);
    /* near miss: the client did not offer 1.3 (the server merely supports it) */
    c.versions = ARR(uint16_t, 0x0303);
    c.nversions = 1;
    o = v12(&c, &s, 0, 0);
    expect_none(o, FK_TLS_DOWNGRADE_SENTINEL);
    ck_assert_uint_eq(o->rec.sentinel, TLS_SENTINEL_TLS12);
    out_free(o);
    /* ...00 with TLS 1.1 negotiated for a TLS 1.2 client */
    struct ch_spec c2 = {CH12, STRONG12};
    struct sh_spec s2 = {SH12, .legacy = 0x0302, .cipher = 0xc02f, .sentinel = 2};
    o = v12(&c2, &s2, 0, 0);
    expect(o, FK_TLS_DOWNGRADE_SENTINEL, NZ_SEV_HIGH);
    out_free(o);
    c2.legacy = 0x0302; /* near miss: a TLS 1.1 client */
    o = v12(&c2, &s2, 0, 0);
    expect_none(o, FK_TLS_DOWNGRADE_SENTINEL);
    out_free(o);
}
END_TEST

START_TEST(test_verdict_offer_choice_mismatch)
{
    struct ch_spec c = {CH12, LIST(ciphers, uint16_t, 0xc02f, 0xc030)};
    struct sh_spec s = {SH12, .cipher = 0x0002};
    struct out *o = v12(&c, &s, 0, 0);
    expect(o, FK_TLS_OFFER_CHOICE_MISMATCH, NZ_SEV_CRITICAL);
    ck_assert_ptr_nonnull(strstr(find(o, FK_TLS_OFFER_CHOICE_MISMATCH)->evidence,
                                 "\"not_offered\":[\"cipher\"]"));
    out_free(o);
    /* version outside supported_versions */
    struct ch_spec cv = {CH12, STRONG12, LIST(versions, uint16_t, 0x0304, 0x0303)};
    struct sh_spec sv = {SH12, .legacy = 0x0301, .cipher = 0xc02f};
    o = v12(&cv, &sv, 0, 0);
    expect(o, FK_TLS_OFFER_CHOICE_MISMATCH, NZ_SEV_CRITICAL);
    ck_assert_ptr_nonnull(strstr(find(o, FK_TLS_OFFER_CHOICE_MISMATCH)->evidence,
                                 "\"not_offered\":[\"version\"]"));
    out_free(o);
    /* a legacy client capped at 1.1, the server answering 1.2 */
    struct ch_spec cl = {CH12, STRONG12, .legacy = 0x0302};
    struct sh_spec sl = {SH12, .legacy = 0x0303, .cipher = 0xc02f};
    o = v12(&cl, &sl, 0, 0);
    expect(o, FK_TLS_OFFER_CHOICE_MISMATCH, NZ_SEV_CRITICAL);
    out_free(o);
    /* compression the client did not offer */
    struct ch_spec cc = {CH12, STRONG12};
    struct sh_spec sc = {SH12, .cipher = 0xc02f, .comp = 1};
    o = v12(&cc, &sc, 0, 0);
    expect(o, FK_TLS_OFFER_CHOICE_MISMATCH, NZ_SEV_CRITICAL);
    expect(o, FK_TLS_COMPRESSION, NZ_SEV_MEDIUM);
    out_free(o);
    /* near misses: everything offered; a server choosing a lower legacy version */
    sl.legacy = 0x0301;
    o = v12(&cl, &sl, 0, 0);
    expect_none(o, FK_TLS_OFFER_CHOICE_MISMATCH);
    out_free(o);
    s.cipher = 0xc030;
    o = v12(&c, &s, 0, 0);
    expect_none(o, FK_TLS_OFFER_CHOICE_MISMATCH);
    ck_assert_int_eq(o->n_find, 0);
    out_free(o);
}
END_TEST

/* --- certificate verdicts on the pcaps/tls/tls-cert-*.pcap handshakes ----------------- */

#define CERT_KINDS 7
static const enum finding_kind cert_kinds[CERT_KINDS] = {
    FK_TLS_CERT_EXPIRED, FK_TLS_CERT_SELF_SIGNED, FK_TLS_CERT_WEAK_KEY,
    FK_TLS_CERT_WEAK_SIGNATURE, FK_TLS_CERT_NAME_MISMATCH, FK_TLS_CERT_EXPIRING,
    FK_TLS_CERT_LONG_VALIDITY};

/* Runs a capture's flights with the ServerHello flight (index 1) at capture second t. */
static struct out *run_cert(const struct hexflight *v, size_t n, uint64_t t)
{
    struct conv cv = {0};
    conv_from_hex(&cv, v, n);
    cv.ts_base = (t - 2) * 1000000ull;
    struct out *o = run(&cv);
    conv_free(&cv);
    ck_assert_int_eq(o->n_rec, 1);
    ck_assert(o->rec.leaf_parsed);
    return o;
}
#define RUN_CERT(v, t) run_cert((v), sizeof(v) / sizeof((v)[0]), (t))

/* Exactly `want` (or none if FK_COUNT-like sentinel -1) among the certificate kinds. */
static void only_cert_kind(struct out *o, int want, enum nz_severity sev)
{
    for (int i = 0; i < CERT_KINDS; i++) {
        if ((int)cert_kinds[i] == want)
            expect(o, cert_kinds[i], sev);
        else
            expect_none(o, cert_kinds[i]);
    }
}

START_TEST(test_verdict_cert_captures)
{
    struct out *o = RUN_CERT(v_cert_valid, 1795926577); /* the near miss of every kind */
    only_cert_kind(o, -1, NZ_SEV_INFO);
    ck_assert_str_eq(o->rec.leaf.sha256_hex,
                     "c061b318f3a39d664b119de0672d7bea10381de8b1afaebdefb5943ba78c96ec");
    ck_assert_int_eq(o->n_find, 0);
    out_free(o);

    o = RUN_CERT(v_cert_expired, 1795926581);
    only_cert_kind(o, FK_TLS_CERT_EXPIRED, NZ_SEV_HIGH);
    const struct finding *f = find(o, FK_TLS_CERT_EXPIRED);
    ck_assert_uint_eq(f->ts_usec, 1795926581ull * 1000000u); /* the ServerHello's packet */
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"state\":\"expired\""));
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"not_after\":\"2020-04-01T00:00:00Z\""));
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"not_before\":\"2020-01-01T00:00:00Z\""));
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"capture_time\":\"2026-11-29T"));
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"sha256\":\"217e7e36"));
    ck_assert_ptr_nonnull(strstr(f->summary, "expired 2020-04-01T00:00:00Z"));
    out_free(o);

    o = RUN_CERT(v_cert_selfsigned, 1795926585);
    only_cert_kind(o, FK_TLS_CERT_SELF_SIGNED, NZ_SEV_MEDIUM);
    f = find(o, FK_TLS_CERT_SELF_SIGNED);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"signature_verifies\":true"));
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"issuer_cn\":\"www.netzwacht.test\""));
    ck_assert(o->rec.chain_last_self_issued);
    out_free(o);

    o = RUN_CERT(v_cert_rsa1024, 1795926589);
    only_cert_kind(o, FK_TLS_CERT_WEAK_KEY, NZ_SEV_MEDIUM);
    f = find(o, FK_TLS_CERT_WEAK_KEY);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"key_type\":\"RSA\",\"key_bits\":1024"));
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"minimum_bits\":2048"));
    out_free(o);

    o = RUN_CERT(v_cert_sha1, 1795926593);
    only_cert_kind(o, FK_TLS_CERT_WEAK_SIGNATURE, NZ_SEV_MEDIUM);
    f = find(o, FK_TLS_CERT_WEAK_SIGNATURE);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"signature_algorithm\":\"sha1WithRSAEncryption\""));
    out_free(o);

    o = RUN_CERT(v_cert_mismatch, 1795926597);
    only_cert_kind(o, FK_TLS_CERT_NAME_MISMATCH, NZ_SEV_MEDIUM);
    f = find(o, FK_TLS_CERT_NAME_MISMATCH);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"sni\":\"www.netzwacht.test\""));
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"matched_against\":\"san_dns\""));
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"san_dns\":\"wrong.netzwacht.test\""));
    out_free(o);
}
END_TEST

START_TEST(test_verdict_cert_validity_window)
{
    /* tls-cert-valid.pcap's certificate: 2026-11-29T04:27:56Z .. 2027-02-27T04:27:56Z */
    struct out *o = RUN_CERT(v_cert_valid, 1795926476 - 1); /* one second before not_before */
    only_cert_kind(o, FK_TLS_CERT_EXPIRED, NZ_SEV_HIGH);
    ck_assert_ptr_nonnull(strstr(find(o, FK_TLS_CERT_EXPIRED)->evidence,
                                 "\"state\":\"not_yet_valid\""));
    out_free(o);
    o = RUN_CERT(v_cert_valid, 1795926476); /* at not_before: valid */
    expect_none(o, FK_TLS_CERT_EXPIRED);
    out_free(o);
    o = RUN_CERT(v_cert_valid, 1803702476); /* at not_after: still valid */
    expect_none(o, FK_TLS_CERT_EXPIRED);
    out_free(o);
    o = RUN_CERT(v_cert_valid, 1803702477); /* one second after */
    only_cert_kind(o, FK_TLS_CERT_EXPIRED, NZ_SEV_HIGH);
    out_free(o);
}
END_TEST

START_TEST(test_verdict_cert_split_invariance)
{
    struct conv cv = {0};
    CONV_HEX(&cv, v_cert_selfsigned);
    cv.ts_base = 1795926583ull * 1000000u;
    check_split_invariance(&cv, true);
    conv_free(&cv);
}
END_TEST

/* A record with a parsed leaf of the given facts, valid at its time, SNI a.example.com. */
static void cert_rec(struct tls_session_rec *r)
{
    memset(r, 0, sizeof *r);
    r->client_hello_seen = r->server_hello_seen = true;
    r->ts_usec = 1000000000ull * 1000000u;
    r->ts_server_usec = r->ts_usec;
    snprintf(r->sni, sizeof r->sni, "a.example.com");
    r->cert_count = 2;
    r->leaf_parsed = true;
    struct cert_info *c = &r->leaf;
    snprintf(c->subject_cn, sizeof c->subject_cn, "a.example.com");
    snprintf(c->issuer_cn, sizeof c->issuer_cn, "CA");
    c->dates_valid = true;
    c->not_before = 900000000;
    c->not_after = 1100000000;
    c->key_type = X509_KEY_RSA;
    c->key_bits = 2048;
    snprintf(c->sig_alg, sizeof c->sig_alg, "sha256WithRSAEncryption");
    c->sig_hash = X509_HASH_SHA2;
    snprintf(c->san_dns, sizeof c->san_dns, "a.example.com");
    c->n_san_dns = 1;
}

static struct out *eval_rec(const struct tls_session_rec *r)
{
    struct out *o = calloc(1, sizeof *o);
    ck_assert_ptr_nonnull(o);
    tls_rules_eval(r, 0, "192.0.2.2", 443, on_finding, o);
    return o;
}

#define CERT_CASE(setup, want, sev)                                                            \
    do {                                                                                       \
        cert_rec(r);                                                                           \
        setup;                                                                                 \
        struct out *o_ = eval_rec(r);                                                          \
        only_cert_kind(o_, (want), (sev));                                                     \
        out_free(o_);                                                                          \
    } while (0)

START_TEST(test_verdict_cert_rules)
{
    struct tls_session_rec *r = malloc(sizeof *r);
    ck_assert_ptr_nonnull(r);
    struct cert_info *c = &r->leaf;
    CERT_CASE((void)0, -1, NZ_SEV_INFO); /* baseline: nothing */
    CERT_CASE(r->leaf_parsed = false; c->key_bits = 512, -1, NZ_SEV_INFO); /* not parsed */
    /* keys */
    CERT_CASE(c->key_bits = 1023, FK_TLS_CERT_WEAK_KEY, NZ_SEV_HIGH);
    CERT_CASE(c->key_bits = 1024, FK_TLS_CERT_WEAK_KEY, NZ_SEV_MEDIUM);
    CERT_CASE(c->key_bits = 2047, FK_TLS_CERT_WEAK_KEY, NZ_SEV_MEDIUM);
    CERT_CASE(c->key_type = X509_KEY_DSA; c->key_bits = 1024, FK_TLS_CERT_WEAK_KEY, NZ_SEV_MEDIUM);
    CERT_CASE(c->key_type = X509_KEY_DSA; c->key_bits = 0, -1, NZ_SEV_INFO); /* unknown size */
    CERT_CASE(c->key_type = X509_KEY_EC; c->key_bits = 224, FK_TLS_CERT_WEAK_KEY, NZ_SEV_MEDIUM);
    CERT_CASE(c->key_type = X509_KEY_EC; c->key_bits = 256, -1, NZ_SEV_INFO);
    CERT_CASE(c->key_type = X509_KEY_ED25519; c->key_bits = 256, -1, NZ_SEV_INFO);
    /* signatures */
    CERT_CASE(c->sig_hash = X509_HASH_MD5, FK_TLS_CERT_WEAK_SIGNATURE, NZ_SEV_HIGH);
    CERT_CASE(c->sig_hash = X509_HASH_MD2, FK_TLS_CERT_WEAK_SIGNATURE, NZ_SEV_HIGH);
    CERT_CASE(c->sig_hash = X509_HASH_SHA1, FK_TLS_CERT_WEAK_SIGNATURE, NZ_SEV_MEDIUM);
    CERT_CASE(c->sig_hash = X509_HASH_OTHER, -1, NZ_SEV_INFO);
    /* validity */
    CERT_CASE(c->not_after = 999999999, FK_TLS_CERT_EXPIRED, NZ_SEV_HIGH);
    CERT_CASE(c->not_after = 1000000000, FK_TLS_CERT_EXPIRING, NZ_SEV_LOW); /* not expired */
    /* expiring within 30 days of the packet time (1e9) */
    CERT_CASE(c->not_after = 1000000000 + 30 * 86400, FK_TLS_CERT_EXPIRING, NZ_SEV_LOW);
    CERT_CASE(c->not_after = 1000000000 + 30 * 86400 + 1, -1, NZ_SEV_INFO);
    CERT_CASE(c->not_after = 1000000000 + 10 * 86400; c->not_before = 1000000001,
              FK_TLS_CERT_EXPIRED, NZ_SEV_HIGH); /* not yet valid: expired's, not expiring */
    CERT_CASE(c->not_after = 1000000000 + 86400; c->dates_valid = false, -1, NZ_SEV_INFO);
    /* validity over 398 days, for a CA-issued leaf from 2020-09-01 on (packet time later) */
    CERT_CASE(r->ts_server_usec = 1600000000ull * 1000000u; c->not_before = 1598918400;
              c->not_after = 1598918400 + 398 * 86400 + 1, FK_TLS_CERT_LONG_VALIDITY, NZ_SEV_LOW);
    CERT_CASE(r->ts_server_usec = 1600000000ull * 1000000u; c->not_before = 1598918400;
              c->not_after = 1598918400 + 398 * 86400, -1, NZ_SEV_INFO);
    CERT_CASE(r->ts_server_usec = 1600000000ull * 1000000u; c->not_before = 1598918399;
              c->not_after = 1598918399 + 800 * 86400, -1, NZ_SEV_INFO); /* issued before */
    CERT_CASE(r->ts_server_usec = 1600000000ull * 1000000u; c->not_before = 1598918400;
              c->not_after = 1598918400 + 800 * 86400, FK_TLS_CERT_LONG_VALIDITY, NZ_SEV_LOW);
    CERT_CASE(r->ts_server_usec = 1600000000ull * 1000000u; c->not_before = 1598918400;
              c->not_after = 1598918400 + 800 * 86400; c->self_issued = true, -1, NZ_SEV_INFO);
              /* self-issued (chain of two): no CA rules apply */
    CERT_CASE(c->not_before = 1000000001, FK_TLS_CERT_EXPIRED, NZ_SEV_HIGH);
    CERT_CASE(c->not_after = 1; c->dates_valid = false, -1, NZ_SEV_INFO);
    /* self-signed: a chain of one self-issued certificate */
    CERT_CASE(c->self_issued = true; r->cert_count = 1, FK_TLS_CERT_SELF_SIGNED, NZ_SEV_MEDIUM);
    CERT_CASE(c->self_issued = true, -1, NZ_SEV_INFO); /* chain of two */
    CERT_CASE(r->cert_count = 1, -1, NZ_SEV_INFO);      /* CA-issued, no chain */
    /* names (RFC 6125) */
    CERT_CASE(snprintf(c->san_dns, sizeof c->san_dns, "*.example.com"), -1, NZ_SEV_INFO);
    CERT_CASE(snprintf(c->san_dns, sizeof c->san_dns, "x.test,*.EXAMPLE.com"), -1, NZ_SEV_INFO);
    CERT_CASE(snprintf(c->san_dns, sizeof c->san_dns, "*.a.example.com"),
              FK_TLS_CERT_NAME_MISMATCH, NZ_SEV_MEDIUM);
    CERT_CASE(snprintf(c->san_dns, sizeof c->san_dns, "example.com"), FK_TLS_CERT_NAME_MISMATCH,
              NZ_SEV_MEDIUM); /* the CN would match, but SANs exist: CN is not consulted */
    CERT_CASE(snprintf(c->san_dns, sizeof c->san_dns, "example.com"); c->san_truncated = true,
              -1, NZ_SEV_INFO); /* some SANs unknown: no verdict */
    CERT_CASE(snprintf(c->san_dns, sizeof c->san_dns, "example.com"); c->san_truncated = true;
              c->host_checked = true, FK_TLS_CERT_NAME_MISMATCH, NZ_SEV_MEDIUM);
              /* ... unless the parser judged the SNI against all of them (ndpi/malware.pcap) */
    CERT_CASE(snprintf(c->san_dns, sizeof c->san_dns, "example.com"); c->san_truncated = true;
              c->host_checked = true; c->host_match = true, -1, NZ_SEV_INFO);
    CERT_CASE(c->san_dns[0] = '\0'; c->n_san_dns = 0, -1, NZ_SEV_INFO); /* CN matches */
    CERT_CASE(c->san_dns[0] = '\0'; c->n_san_dns = 0;
              snprintf(c->subject_cn, sizeof c->subject_cn, "b.example.com"),
              FK_TLS_CERT_NAME_MISMATCH, NZ_SEV_MEDIUM);
    CERT_CASE(snprintf(c->san_dns, sizeof c->san_dns, "b.example.com"); r->sni[0] = '\0', -1,
              NZ_SEV_INFO); /* no SNI: nothing to compare */
    CERT_CASE(snprintf(r->sni, sizeof r->sni, "A.EXAMPLE.COM."), -1, NZ_SEV_INFO);
    /* all five at once */
    cert_rec(r);
    c->not_after = 1;
    c->self_issued = true;
    r->cert_count = 1;
    c->key_bits = 768;
    c->sig_hash = X509_HASH_MD5;
    snprintf(c->san_dns, sizeof c->san_dns, "other.test");
    struct out *o = eval_rec(r);
    /* the first five kinds; expiring and long validity exclude expired */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(count_kind(o, cert_kinds[i]), 1);
    ck_assert_int_eq(o->n_find, 5);
    ck_assert_str_eq(finding_kind_info(FK_TLS_CERT_EXPIRED)->name, "tls.cert_expired");
    ck_assert_int_eq(finding_kind_by_name("tls.cert_name_mismatch"), FK_TLS_CERT_NAME_MISMATCH);
    out_free(o);
    free(r);
}
END_TEST

START_TEST(test_rules_direct)
{
    /* tls_rules_eval on a hand-made record: every kind at once, counts and NULL safety */
    struct tls_session_rec *r = calloc(1, sizeof *r);
    struct out *o = calloc(1, sizeof *o);
    r->client_hello_seen = r->server_hello_seen = true;
    r->version_code = 0x0300;
    r->client_version = r->client_max_version = 0x0303;
    r->n_versions_offered = 1;
    r->versions_offered[0] = 0x0304;
    r->cipher_set = true;
    r->cipher_code = 0x0004; /* RSA RC4 MD5 */
    r->ciphers_offered[r->n_ciphers_offered++] = 0x0003;
    r->ciphers_offered[r->n_ciphers_offered++] = 0x5600;
    r->compression_set = true;
    r->compression = 1;
    r->dhe_bits = 512;
    r->server_heartbeat = true;
    r->fallback_scsv = true;
    r->sentinel = TLS_SENTINEL_TLS12;
    r->alerts[r->n_alerts++] = (struct tls_alert){5, true, 2, 86};
    size_t n = tls_rules_eval(r, 0, NULL, 0, on_finding, o);
    ck_assert_uint_eq(n, FK_TLS_OFFER_CHOICE_MISMATCH - FK_TLS_OBSOLETE_VERSION + 1);
    ck_assert_uint_eq((size_t)o->n_find, n);
    for (int k = FK_TLS_OBSOLETE_VERSION; k <= FK_TLS_OFFER_CHOICE_MISMATCH; k++)
        ck_assert_int_eq(count_kind(o, (enum finding_kind)k), 1);
    ck_assert_str_eq(find(o, FK_TLS_HEARTBEAT)->summary,
                     "heartbeat extension negotiated with server");
    ck_assert_uint_eq(tls_rules_eval(NULL, 0, NULL, 0, on_finding, o), 0);
    ck_assert_uint_eq(tls_rules_eval(r, 0, NULL, 0, NULL, o), 0);
    ck_assert_str_eq(tls_version_name(0x0303), "TLSv1.2");
    ck_assert_ptr_null(tls_version_name(0x0200));
    ck_assert_str_eq(tls_group_name(0x11ec), "X25519MLKEM768");
    ck_assert_ptr_null(tls_group_name(0x7777));
    ck_assert_str_eq(finding_kind_info(FK_TLS_WEAK_DH)->name, "tls.weak_dh");
    ck_assert_int_eq(finding_kind_by_name("tls.offer_choice_mismatch"),
                     FK_TLS_OFFER_CHOICE_MISMATCH);
    out_free(o);
    free(r);
}
END_TEST

/* ------------------------------------------------------------------------------------ */

static Suite *tls_suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc;

    tc = tcase_create("probe");
    tcase_add_test(tc, test_probe_client_hello);
    tcase_add_test(tc, test_probe_rejects);
    tcase_add_test(tc, test_probe_sslv2);
    suite_add_tcase(s, tc);

    tc = tcase_create("fingerprint");
    tcase_add_test(tc, test_ja4_spec_example);
    tcase_add_test(tc, test_ja4_alpn_rules);
    tcase_add_test(tc, test_ja4_version_and_counts);
    tcase_add_test(tc, test_ja3_vector);
    tcase_add_test(tc, test_ja3s_vector);
    suite_add_tcase(s, tc);

    tc = tcase_create("real_handshakes");
    tcase_add_test(tc, test_real_tls12_ecdhe);
    tcase_add_test(tc, test_real_tls13_alpn);
    tcase_add_test(tc, test_real_dhe1024);
    tcase_add_test(tc, test_real_fallback_alert);
    tcase_add_test(tc, test_real_fragmented_certificate);
    tcase_add_test(tc, test_real_resumption);
    suite_add_tcase(s, tc);

    tc = tcase_create("split_invariance");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_split_real);
    tcase_add_test(tc, test_split_synthetic);
    suite_add_tcase(s, tc);

    tc = tcase_create("messages");
    tcase_add_test(tc, test_msg_client_hello_extensions);
    tcase_add_test(tc, test_msg_server_flight);
    tcase_add_test(tc, test_heartbleed_clear);
    tcase_add_test(tc, test_heartbleed_encrypted);
    tcase_add_test(tc, test_heartbeat_watch_cap);
    tcase_add_test(tc, test_msg_wrong_direction);
    tcase_add_test(tc, test_msg_hello_retry_request);
    tcase_add_test(tc, test_tls13_draft_compat);
    tcase_add_test(tc, test_tls13_draft_old_server_hello);
    tcase_add_test(tc, test_msg_spread_over_records);
    tcase_add_test(tc, test_msg_alerts);
    tcase_add_test(tc, test_msg_ske_variants);
    tcase_add_test(tc, test_sslv2_negotiated);
    tcase_add_test(tc, test_sslv2_server_single_spec);
    tcase_add_test(tc, test_sslv2_hello_tls_answer);
    tcase_add_test(tc, test_grease);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_hostile_hs_length_over_record);
    tcase_add_test(tc, test_hostile_zero_length_vectors);
    tcase_add_test(tc, test_hostile_extension_overrun);
    tcase_add_test(tc, test_hostile_record_errors);
    tcase_add_test(tc, test_hostile_server_hello_truncated);
    tcase_add_test(tc, test_hostile_list_caps);
    tcase_add_test(tc, test_lifecycle);
    tcase_add_test(tc, test_hostile_announced_length_memory);
    tcase_add_test(tc, test_midstream);
    suite_add_tcase(s, tc);

    tc = tcase_create("verdicts");
    tcase_add_test(tc, test_verdict_obsolete_version);
    tcase_add_test(tc, test_verdict_weak_cipher);
    tcase_add_test(tc, test_verdict_client_offers_weak);
    tcase_add_test(tc, test_verdict_no_forward_secrecy);
    tcase_add_test(tc, test_verdict_weak_dh);
    tcase_add_test(tc, test_verdict_compression);
    tcase_add_test(tc, test_verdict_insecure_renegotiation);
    tcase_add_test(tc, test_verdict_heartbeat);
    tcase_add_test(tc, test_verdict_fallback_scsv);
    tcase_add_test(tc, test_verdict_inappropriate_fallback);
    tcase_add_test(tc, test_verdict_downgrade_sentinel);
    tcase_add_test(tc, test_verdict_offer_choice_mismatch);
    tcase_add_test(tc, test_rules_direct);
    tcase_add_test(tc, test_verdict_cert_captures);
    tcase_add_test(tc, test_verdict_cert_validity_window);
    tcase_add_test(tc, test_verdict_cert_split_invariance);
    tcase_add_test(tc, test_verdict_cert_rules);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tls_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
