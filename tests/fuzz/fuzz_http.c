/* fuzz_http.c — libFuzzer target for the plaintext HTTP dissector (dissect/http.c).
 *
 * Input: byte 0 picks the chunking; the rest is a conversation cut into chunks by the marker
 * F0 0D FA CE, directions alternating (client first). An empty chunk (two markers in a row)
 * means "bytes lost" in that direction (drv_gap: the driver drops its buffered tail and calls
 * on_gap). The stream goes through the product's stream driver (engine/driver.c: unconsumed
 * tails kept and prepended, DIS_BUF_MAX, on_close, DIS_ERR as a dissect.malformed finding); a
 * wrapper hands on_data an exactly sized heap copy so ASan sees any overread.
 *
 * Oracles besides the sanitizers:
 *  - split invariance: every input is run twice, chunks cut into pieces by a PRNG seeded from
 *    byte 0 and chunks whole; a hash of everything emitted (records, findings, labels, final
 *    status) must match;
 *  - every emitted string is NUL-terminated within its field and printable ASCII; evidence is a
 *    JSON object; consumed <= len;
 *  - probe() is monotone on the first chunk of each direction: once NO, never YES/MAYBE again.
 *
 * Build: CC=clang meson setup build-fuzz -Dfuzz=true -Db_lundef=false && ninja -C build-fuzz
 * tests/fuzz/fuzz_http (links the dissectors and engine/driver.c), then
 *   ./fuzz_http -dict=tests/fuzz/http.dict -max_len=20000 corpus_dir/
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/finding.h"
#include "dissect/http.h"
#include "core/limits.h"
#include "engine/driver.h"

static const uint8_t marker[4] = {0xf0, 0x0d, 0xfa, 0xce};

/* First marker in [p, p+n), or NULL (no memmem: the documented build has no _GNU_SOURCE). */
static const uint8_t *find_marker(const uint8_t *p, size_t n)
{
    for (size_t i = 0; n >= 4 && i <= n - 4; i++) {
        const uint8_t *q = memchr(p + i, marker[0], n - 3 - i);
        if (!q)
            return NULL;
        i = (size_t)(q - p);
        if (memcmp(q, marker, 4) == 0)
            return q;
    }
    return NULL;
}

struct fz {
    struct dis_sink sink;
    struct drv_host host;
    struct drv drv;
    uint64_t h;          /* FNV-1a over everything emitted */
    bool stopped;
    uint64_t rng;
};

static void mix(struct fz *z, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        z->h ^= b[i];
        z->h *= 0x100000001b3ull;
    }
}

/* strnlen without POSIX: cap if there is no NUL within cap. */
static size_t bounded_len(const char *s, size_t cap)
{
    const char *z = memchr(s, 0, cap);
    return z ? (size_t)(z - s) : cap;
}

static void mix_u64(struct fz *z, uint64_t v) { mix(z, &v, sizeof v); }

/* NUL within cap and printable ASCII, else crash. */
static void check_str(struct fz *z, const char *s, size_t cap)
{
    size_t n = bounded_len(s, cap);
    if (n >= cap)
        __builtin_trap();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            __builtin_trap();
    mix(z, s, n + 1);
}

static void on_finding(void *ud, const struct finding *f)
{
    struct fz *z = ud;
    if (!finding_kind_info(f->kind))
        __builtin_trap();
    mix_u64(z, (uint64_t)f->kind);
    mix_u64(z, (uint64_t)f->severity);
    mix_u64(z, f->ts_usec);
    if (bounded_len(f->summary, sizeof f->summary) >= sizeof f->summary)
        __builtin_trap();
    mix(z, f->summary, strlen(f->summary));
    size_t el = bounded_len(f->evidence, sizeof f->evidence);
    if (el >= sizeof f->evidence || el < 2 || f->evidence[0] != '{' || f->evidence[el - 1] != '}')
        __builtin_trap();
    mix(z, f->evidence, el);
}

static void on_record(void *ud, const struct http_request_rec *r)
{
    struct fz *z = ud;
    mix_u64(z, r->flow_id);
    mix_u64(z, r->ts_usec);
    mix_u64(z, r->resp_ts_usec);
    check_str(z, r->method, sizeof r->method);
    check_str(z, r->host, sizeof r->host);
    check_str(z, r->path, sizeof r->path);
    check_str(z, r->content_type, sizeof r->content_type);
    check_str(z, r->req_content_type, sizeof r->req_content_type);
    check_str(z, r->location, sizeof r->location);
    check_str(z, r->user_agent, sizeof r->user_agent);
    check_str(z, r->auth_scheme, sizeof r->auth_scheme);
    check_str(z, r->auth_user, sizeof r->auth_user);
    check_str(z, r->form_field, sizeof r->form_field);
    check_str(z, r->url_user, sizeof r->url_user);
    check_str(z, r->url_param, sizeof r->url_param);
    check_str(z, r->cookie_names, sizeof r->cookie_names);
    mix_u64(z, r->port);
    mix_u64(z, r->req_minor);
    mix_u64(z, r->status);
    mix_u64(z, r->req_body_bytes);
    mix_u64(z, r->resp_body_bytes);
    mix_u64(z, r->flags);
    if (r->status != 0 && (r->status < 100 || r->status > 999))
        __builtin_trap();
}

static void on_label(void *ud, const char *p)
{
    struct fz *z = ud;
    mix(z, "L", 1);
    mix(z, p, strlen(p));
}

static void stop(struct fz *z, enum dis_status st, const char *reason)
{
    z->stopped = true;
    mix_u64(z, 0x5707 + (uint64_t)st);
    if (st == DIS_ERR && reason)
        mix(z, reason, strlen(reason));
}

/* fz_http: http_dissector as the driver sees it, each call's bytes in an exactly sized heap
 * copy (ASan sees any overread), every status checked and mixed into the hash. */
static void *fz_new(const struct dis_cfg *cfg) { return http_dissector.state_new(cfg); }
static void fz_free(void *st) { http_dissector.state_free(st); }
static size_t fz_mem(const void *st) { return http_dissector.mem(st); }

static enum dis_status fz_data(void *st, int dir, struct bytes in, size_t *consumed, struct dis_ctx *ctx)
{
    struct fz *z = ctx->sink->ud;
    uint8_t *exact = malloc(in.len ? in.len : 1);
    if (!exact)
        abort();
    memcpy(exact, in.p, in.len);
    *consumed = (size_t)-1;
    enum dis_status rc = http_dissector.on_data(st, dir, (struct bytes){exact, in.len}, consumed, ctx);
    free(exact);
    if (*consumed > in.len)
        __builtin_trap();
    if (rc == DIS_DONE || rc == DIS_ERR)
        stop(z, rc, ctx->err_reason);
    else if (rc != DIS_OK)
        __builtin_trap();
    return rc;
}

static enum dis_status fz_gap(void *st, int dir, uint64_t len, struct dis_ctx *ctx)
{
    struct fz *z = ctx->sink->ud;
    enum dis_status rc = http_dissector.on_gap(st, dir, len, ctx);
    if (rc == DIS_DONE || rc == DIS_ERR)
        stop(z, rc, ctx->err_reason);
    else if (rc != DIS_OK)
        __builtin_trap();
    return rc;
}

static void fz_close(void *st, struct dis_ctx *ctx)
{
    struct fz *z = ctx->sink->ud;
    http_dissector.on_close(st, ctx);
    mix_u64(z, 0xc105e);
}

static const struct dissector fz_http = {.name = "http", .state_new = fz_new, .state_free = fz_free,
                                         .on_data = fz_data, .on_gap = fz_gap, .on_close = fz_close,
                                         .mem = fz_mem};

static void feed(struct fz *z, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
    drv_data(&z->drv, dir, p, n, ts);
    if ((z->host.stats.overflow || z->host.stats.mem_cap) && !z->stopped)
        stop(z, DIS_ERR, NULL); /* the driver reported the flow malformed */
}

static uint64_t next_rng(struct fz *z)
{
    z->rng ^= z->rng << 13;
    z->rng ^= z->rng >> 7;
    z->rng ^= z->rng << 17;
    return z->rng;
}

/* Piece sizes by the low bits of byte 0: 1 byte, up to 7, up to 64, up to 1500. */
static size_t piece(struct fz *z, uint8_t mode)
{
    static const size_t maxp[4] = {1, 7, 64, 1500};
    size_t m = maxp[mode & 3];
    return m == 1 ? 1 : 1 + (size_t)(next_rng(z) % m);
}

static uint64_t run_once(const uint8_t *data, size_t size, bool split)
{
    struct fz z;
    memset(&z, 0, sizeof z);
    z.h = 0xcbf29ce484222325ull;
    z.rng = 0x9e3779b97f4a7c15ull ^ data[0];
    z.sink.ud = &z;
    z.sink.finding = on_finding;
    z.sink.http_request = on_record;
    z.sink.label = on_label;
    z.host.sink = &z.sink;
    drv_init(&z.drv, &z.host, "192.0.2.1", "192.0.2.2", 40000, 80, 1);
    if (!drv_attach(&z.drv, &fz_http, 0))
        return 0;

    size_t pos = 1, idx = 0;
    int dir = 0;
    while (pos <= size && !z.stopped) {
        const uint8_t *p = data + pos;
        size_t left = size - pos;
        const uint8_t *m = find_marker(p, left);
        size_t n = m ? (size_t)(m - p) : left;
        uint64_t ts = 1000 + idx;
        if (n == 0 && m) {
            /* bytes lost: the driver drops the buffered tail and tells the dissector */
            drv_gap(&z.drv, dir, 1 + idx % 300, ts);
        } else if (split) {
            for (size_t off = 0; off < n && !z.stopped;) {
                size_t k = piece(&z, data[0]);
                if (k > n - off)
                    k = n - off;
                feed(&z, dir, p + off, k, ts);
                off += k;
            }
        } else {
            feed(&z, dir, p, n, ts);
        }
        idx++;
        dir ^= 1;
        if (!m)
            break;
        pos += n + 4;
    }
    drv_close(&z.drv, 999999);
    drv_fini(&z.drv);
    /* every detach is the dissector's DIS_ERR or a driver cap, each reported once */
    if (z.host.stats.errors > 1)
        __builtin_trap();
    return z.h;
}

/* First chunk of each direction: probe each prefix; NO must stay NO. */
static void probe_check(const uint8_t *data, size_t size)
{
    size_t pos = 1;
    for (int dir = 0; dir < 2 && pos <= size; dir++) {
        const uint8_t *p = data + pos;
        size_t left = size - pos;
        const uint8_t *m = find_marker(p, left);
        size_t n = m ? (size_t)(m - p) : left;
        if (n > DIS_PROBE_MAX)
            n = DIS_PROBE_MAX;
        bool was_no = false;
        for (size_t k = 0; k <= n; k += (k < 64 ? 1 : 17)) {
            uint8_t *exact = malloc(k ? k : 1);
            if (!exact)
                abort();
            memcpy(exact, p, k);
            struct bytes b = {exact, k};
            enum dis_probe r = http_dissector.probe(b, dir);
            free(exact);
            if (r != DIS_PROBE_NO && r != DIS_PROBE_MAYBE && r != DIS_PROBE_YES)
                __builtin_trap();
            if (was_no && r != DIS_PROBE_NO)
                __builtin_trap();
            was_no = r == DIS_PROBE_NO;
        }
        if (!m)
            break;
        pos += (size_t)(m - p) + 4;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    probe_check(data, size);
    uint64_t a = run_once(data, size, true);
    uint64_t b = run_once(data, size, false);
    if (a != b)
        __builtin_trap(); /* output depends on how the stream was cut */
    return 0;
}
