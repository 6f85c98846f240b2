/* fuzz_tls.c — libFuzzer target for the TLS dissector (dissect/tls.c, fingerprint.c,
 * tls_rules.c).
 *
 * Input format (STYLE.md §6): byte 0 is the chunking seed; the rest is split into chunks by
 * the 4-byte marker F0 0D FA CE, and the chunks alternate direction (client, server, client,
 * ...). Seed bits: 0x3f drive a small PRNG that cuts each chunk into deliveries of 1..64
 * bytes (0 = the whole chunk at once), 0x40 selects the "intermediate" policy, 0x80 reports a
 * capture gap in the server direction before the flow closes.
 *
 * Each input is run twice, with the seed's chunking and with whole chunks, through the
 * product's stream driver (engine/driver.c: unconsumed tails kept and prepended up to
 * DIS_BUF_MAX, DIS_ERR detaching with a dissect.malformed finding, the flow's memory cap); a
 * wrapper puts every call's bytes in their own exact-size heap buffer so ASan sees any overread,
 * and with seed bit 0x40 a one-byte "upgrade" dissector hands the stream to it by DIS_SWITCH
 * (started_by "smtp-starttls"). The two runs must produce the same records and findings (split
 * invariance) unless a driver cap fired (caps depend on how much is buffered at once), up to
 * the first call that clears want[] for one direction (see LLVMFuzzerTestOneInput); a
 * difference aborts. Records and findings are also checked for NUL-terminated text and a JSON
 * object as evidence.
 *
 * Build: CC=clang meson setup build-fuzz -Dfuzz=true -Db_lundef=false && ninja -C build-fuzz
 * tests/fuzz/fuzz_tls (links the dissectors and engine/driver.c).
 * Dictionary: tests/fuzz/tls.dict. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "dissect/tls.h"
#include "engine/driver.h"

static const uint8_t marker[4] = {0xf0, 0x0d, 0xfa, 0xce};

struct text {
    char *s;
    size_t n, cap;
};

static void text_put(struct text *t, const char *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->n + n + 1)
            cap *= 2;
        char *p = realloc(t->s, cap);
        if (!p)
            abort();
        t->s = p;
        t->cap = cap;
    }
    memcpy(t->s + t->n, s, n);
    t->n += n;
    t->s[t->n] = '\0';
}

/* A text field must be NUL-terminated inside its array. */
#define FIELD(t, r, f)                                                                             \
    do {                                                                                           \
        const char *z_ = memchr((r)->f, '\0', sizeof (r)->f);                                      \
        if (!z_)                                                                                   \
            abort();                                                                               \
        text_put((t), (r)->f, (size_t)(z_ - (r)->f));                                              \
        text_put((t), "|", 1);                                                                     \
    } while (0)

static void on_session(void *ud, const struct tls_session_rec *r)
{
    struct text *t = ud;
    char buf[512];
    int n = snprintf(buf, sizeof buf,
                     "REC %llu %llu %d %d %d %d %04x %d %lx %d %u %u %u %u %zu %zu %zu %u %u %u %u "
                     "%d %d %d|",
                     (unsigned long long)r->ts_usec, (unsigned long long)r->ts_server_usec,
                     r->handshake_complete, r->client_hello_seen, r->server_hello_seen, r->hrr,
                     r->version_code, r->cipher_set, (unsigned long)r->cipher_code,
                     r->compression_set, r->compression, r->dhe_bits, r->group, r->cert_count,
                     r->n_ciphers_offered, r->n_versions_offered, r->n_alerts, r->hs_oversize,
                     r->hs_malformed, r->hs_unexpected, r->client_cert_count, r->resumed,
                     r->fp_partial, r->ch_malformed);
    text_put(t, buf, (size_t)n);
    if (r->n_ciphers_offered > FP_CIPHERS_MAX || r->n_versions_offered > FP_VERSIONS_MAX ||
        r->n_alerts > TLS_ALERTS_MAX || r->n_comp_offered > TLS_COMP_MAX)
        abort();
    FIELD(t, r, started_by);
    FIELD(t, r, version);
    FIELD(t, r, cipher);
    FIELD(t, r, alpn_chosen);
    FIELD(t, r, group_name);
    FIELD(t, r, server_exts);
    FIELD(t, r, cert_sizes);
    FIELD(t, r, client_versions);
    FIELD(t, r, sni);
    FIELD(t, r, alpn_offered);
    FIELD(t, r, groups_offered);
    FIELD(t, r, key_share_groups);
    FIELD(t, r, client_exts);
    FIELD(t, r, ja3);
    FIELD(t, r, ja3_str);
    FIELD(t, r, ja3s);
    FIELD(t, r, ja3s_str);
    FIELD(t, r, ja4);
    FIELD(t, r, ja4_r);
    FIELD(t, r, alerts_text);
    if (r->ja4[0] && strlen(r->ja4) != FP_JA4_LEN - 1)
        abort();
    text_put(t, "\n", 1);
}

static void on_finding(void *ud, const struct finding *f)
{
    struct text *t = ud;
    const struct finding_kind_info *k = finding_kind_info(f->kind);
    if (!k || !memchr(f->summary, '\0', sizeof f->summary) ||
        !memchr(f->evidence, '\0', sizeof f->evidence))
        abort();
    size_t el = strlen(f->evidence);
    if (el < 2 || f->evidence[0] != '{' || f->evidence[el - 1] != '}')
        abort();
    text_put(t, k->name, strlen(k->name));
    text_put(t, " ", 1);
    text_put(t, nz_severity_name(f->severity), strlen(nz_severity_name(f->severity)));
    text_put(t, " ", 1);
    text_put(t, f->summary, strlen(f->summary));
    text_put(t, " ", 1);
    text_put(t, f->evidence, el);
    text_put(t, "\n", 1);
}

static void on_label(void *ud, const char *proto)
{
    (void)ud;
    if (strcmp(proto, "TLS") != 0)
        abort();
}

/* The run's output (the sink's ud; t first: the sink callbacks take it as a struct text). */
struct run_out {
    struct text t;
    unsigned errs; /* DIS_ERR returned */
    bool capped;   /* a driver cap (DIS_BUF_MAX, DIS_FLOW_MEM_MAX) detached the dissector */
};

/* fz_tls: tls_dissector as the driver sees it, each call's bytes in their own exact-size heap
 * buffer (ASan sees any overread) and every status checked and written to the text. */
static void *fz_new(const struct dis_cfg *cfg) { return tls_dissector.state_new(cfg); }

static enum dis_status fz_data(void *st, int dir, struct bytes in, size_t *consumed, struct dis_ctx *ctx)
{
    struct run_out *ro = ctx->sink->ud;
    struct text *t = &ro->t;
    uint8_t *buf = malloc(in.len ? in.len : 1);
    if (!buf)
        abort();
    memcpy(buf, in.p, in.len);
    size_t used = 0;
    enum dis_status s = tls_dissector.on_data(st, dir, (struct bytes){buf, in.len}, &used, ctx);
    free(buf);
    if (used > in.len)
        abort();
    *consumed = used;
    if (s == DIS_ERR) {
        if (!ctx->err_reason)
            abort();
        ro->errs++;
        text_put(t, "ERR ", 4);
        text_put(t, ctx->err_reason, strlen(ctx->err_reason));
        text_put(t, "\n", 1);
    } else if (s == DIS_DONE) {
        if (ctx->want[0] || ctx->want[1])
            abort();
        text_put(t, "DONE\n", 5);
    } else if (s != DIS_OK) {
        abort();
    }
    return s;
}

static enum dis_status fz_gap(void *st, int dir, uint64_t len, struct dis_ctx *ctx)
{
    return tls_dissector.on_gap(st, dir, len, ctx);
}

static void fz_free(void *st) { tls_dissector.state_free(st); }
static void fz_close(void *st, struct dis_ctx *ctx) { tls_dissector.on_close(st, ctx); }
static size_t fz_mem(const void *st) { return tls_dissector.mem(st); }

static const struct dissector fz_tls = {.name = "tls", .state_new = fz_new, .state_free = fz_free,
                                        .on_data = fz_data, .on_gap = fz_gap, .on_close = fz_close,
                                        .mem = fz_mem};

static const struct dissector *fz_find(const char *name)
{
    return strcmp(name, "tls") == 0 ? &fz_tls : NULL;
}

/* With seed bit 0x40 the stream starts as a STARTTLS upgrade: a dissector that hands the
 * whole stream to "tls" on its first byte (started_by "smtp-starttls"). */
static void *up_new(const struct dis_cfg *cfg)
{
    (void)cfg;
    return malloc(1);
}

static enum dis_status up_data(void *st, int dir, struct bytes in, size_t *consumed, struct dis_ctx *ctx)
{
    (void)st, (void)dir, (void)in;
    *consumed = 0;
    ctx->switch_to = "tls";
    ctx->started_by = "smtp-starttls";
    return DIS_SWITCH;
}

static void up_close(void *st, struct dis_ctx *ctx) { (void)st, (void)ctx; }

static size_t up_mem(const void *st)
{
    (void)st;
    return 0;
}

static const struct dissector upgrade = {.name = "upgrade", .state_new = up_new, .state_free = free,
                                         .on_data = up_data, .on_close = up_close, .mem = up_mem};

static void run(const uint8_t *data, size_t size, bool chunked, struct run_out *ro)
{
    struct text *t = &ro->t;
    uint8_t seed = data[0];
    struct dis_sink sink = {ro, on_finding, on_session, NULL, NULL, on_label, NULL};
    struct drv_host host = {.sink = &sink, .policy = (seed & 0x40) ? 1 : 0, .find = fz_find};
    struct drv d;
    drv_init(&d, &host, NULL, "192.0.2.2", 0, 443, 0);
    if (!drv_attach(&d, (seed & 0x40) ? &upgrade : &fz_tls, 0))
        return;
    uint32_t rng = seed & 0x3f;
    size_t pos = 1, chunk = 0;
    uint64_t ts = 0;
    while (drv_state(&d) == DRV_ATTACHED && pos <= size) {
        size_t end = pos;
        while (end + 4 <= size && memcmp(data + end, marker, 4) != 0)
            end++;
        if (end + 4 > size)
            end = size;
        int dir = (int)(chunk & 1);
        ts = 1000 * (uint64_t)(chunk + 1);
        size_t at = pos;
        do {
            size_t n = end - at;
            if (chunked && rng) {
                rng = rng * 1103515245u + 12345u;
                size_t cut = 1 + ((rng >> 16) % 64);
                if (cut < n)
                    n = cut;
            }
            drv_data(&d, dir, data + at, n, ts);
            at += n;
        } while (drv_state(&d) == DRV_ATTACHED && at < end);
        pos = end + 4;
        chunk++;
    }
    if (drv_state(&d) == DRV_ATTACHED && (seed & 0x80))
        drv_gap(&d, 1, 100, ts);
    drv_close(&d, ts);
    drv_fini(&d);
    if (host.stats.errors != host.stats.overflow + host.stats.mem_cap + ro->errs)
        abort(); /* every detach is a DIS_ERR or a cap */
    if (host.stats.overflow || host.stats.mem_cap) {
        ro->capped = true;
        text_put(t, "CAP\n", 4);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct run_out a = {{NULL, 0, 0}, 0, false}, b = {{NULL, 0, 0}, 0, false};
    run(data, size, true, &a);
    run(data, size, false, &b);
    /* A driver cap depends on how much is buffered at once, so on the cutting: compare the
     * runs where none fired. Otherwise the outcome must not depend on where the stream was cut
     * (this found tls.c parsing on after it had given up a direction). */
    if (!a.capped && !b.capped && (a.t.n != b.t.n || (a.t.n && memcmp(a.t.s, b.t.s, a.t.n) != 0))) {
        fprintf(stderr, "split invariance violated\n--- chunked ---\n%s\n--- whole ---\n%s\n",
                a.t.s ? a.t.s : "", b.t.s ? b.t.s : "");
        abort();
    }
    free(a.t.s);
    free(b.t.s);
    return 0;
}
