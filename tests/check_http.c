/* check_http.c — Check suite for the plaintext HTTP dissector (dissect/http.c).
 *
 * Every conversation runs through the product's stream driver (engine/driver.c: per direction it
 * keeps the unconsumed tail and prepends it to the next bytes; gaps; DIS_DONE/DIS_ERR close the
 * dissector) with a wrapper that hands each call's input to on_data from a buffer that ends at a
 * PROT_NONE page (tu_guard), so any overread faults. It records every record, finding, label,
 * stop and close as a canonical text dump. Every conversation is run whole, one byte per call and
 * cut at every offset (or every Nth for big inputs); all runs must give the same dump.
 *
 * Vectors: the pcap_* arrays are the TCP payloads of the recorded captures under pcaps/http/
 * (each names its capture and stream); the others are written here from RFC examples and from
 * the curl/nginx exchanges of those captures, changed to hit one case each. */
#include <check.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/finding.h"
#include "dissect/http.h"
#include "core/limits.h"
#include "engine/driver.h"
#include "tests/testutil.h"

/* ---- harness ---- */

#define MAX_RECS 64
#define MAX_FINDS 64

struct seg {
    int dir;
    const uint8_t *p;
    size_t len;
};
#define CLI(s) {0, (const uint8_t *)(s), sizeof(s) - 1}
#define SRV(s) {1, (const uint8_t *)(s), sizeof(s) - 1}
#define NSEG(a) (sizeof(a) / sizeof((a)[0]))

struct res {
    char *dump;
    size_t dlen, dcap;
    struct http_request_rec recs[MAX_RECS];
    size_t nrec;
    struct finding finds[MAX_FINDS];
    size_t nfind;
    int labels;
    enum dis_status status;  /* last status; DIS_OK if never stopped */
    const char *reason;
    bool stopped;
    bool overflow;           /* the driver's tail would exceed DIS_BUF_MAX */
    enum dis_status gap_status; /* what the last on_gap returned */
};

static void dumpf(struct res *R, const char *fmt, ...) NZ_PRINTF(2, 3);
static void dumpf(struct res *R, const char *fmt, ...)
{
    va_list ap;
    char tmp[8192];
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    ck_assert(n >= 0 && (size_t)n < sizeof tmp);
    if (R->dlen + (size_t)n + 1 > R->dcap) {
        R->dcap = (R->dcap + (size_t)n + 1) * 2;
        R->dump = realloc(R->dump, R->dcap);
        ck_assert_ptr_nonnull(R->dump);
    }
    memcpy(R->dump + R->dlen, tmp, (size_t)n + 1);
    R->dlen += (size_t)n;
}

static void sink_finding(void *ud, const struct finding *f)
{
    struct res *R = ud;
    ck_assert_uint_lt(R->nfind, MAX_FINDS);
    R->finds[R->nfind++] = *f;
    dumpf(R, "FIND %s sev=%d ts=%llu | %s | %s\n", finding_kind_info(f->kind)->name,
          (int)f->severity, (unsigned long long)f->ts_usec, f->summary, f->evidence);
}

static void sink_http(void *ud, const struct http_request_rec *r)
{
    struct res *R = ud;
    ck_assert_uint_lt(R->nrec, MAX_RECS);
    R->recs[R->nrec++] = *r;
    dumpf(R,
          "REC flow=%llu ts=%llu rts=%llu m=%s host=%s port=%u path=%s minor=%u status=%u "
          "ct=%s rct=%s loc=%s ua=%s scheme=%s user=%s form=%s uuser=%s uparam=%s cookies=%s "
          "reqb=%llu respb=%llu flags=%#x\n",
          (unsigned long long)r->flow_id, (unsigned long long)r->ts_usec,
          (unsigned long long)r->resp_ts_usec, r->method, r->host, r->port, r->path,
          r->req_minor, r->status, r->content_type, r->req_content_type, r->location,
          r->user_agent, r->auth_scheme, r->auth_user, r->form_field, r->url_user, r->url_param,
          r->cookie_names, (unsigned long long)r->req_body_bytes,
          (unsigned long long)r->resp_body_bytes, (unsigned)r->flags);
}

static void sink_label(void *ud, const char *p)
{
    struct res *R = ud;
    R->labels++;
    dumpf(R, "LABEL %s\n", p);
}

/* The harness runs the product's stream driver (engine/driver.c) with guarded_http, a wrapper
 * around http_dissector that places each call's input right before a PROT_NONE page (tu_guard)
 * and records every status, the last on_gap status and the close in the dump. It reaches the
 * test's struct res through the sink's ud. */
struct guarded {
    void *st;
};

static void *guarded_new(const struct dis_cfg *cfg)
{
    struct guarded *g = calloc(1, sizeof *g);
    ck_assert_ptr_nonnull(g);
    g->st = http_dissector.state_new(cfg);
    ck_assert_ptr_nonnull(g->st);
    return g;
}

static void guarded_free(void *vg)
{
    struct guarded *g = vg;
    if (!g)
        return;
    http_dissector.state_free(g->st);
    free(g);
}

static void stop(struct res *R, enum dis_status st, const char *reason)
{
    R->stopped = true;
    R->status = st;
    R->reason = st == DIS_ERR ? reason : NULL;
    dumpf(R, "STOP %d %s\n", (int)st, R->reason ? R->reason : "-");
}

static enum dis_status guarded_data(void *vg, int dir, struct bytes in, size_t *consumed, struct dis_ctx *ctx)
{
    struct guarded *g = vg;
    struct res *R = ctx->sink->ud;
    uint8_t *p = tu_guard(in.p, in.len);
    *consumed = 12345678;
    enum dis_status st = http_dissector.on_data(g->st, dir, (struct bytes){p, in.len}, consumed, ctx);
    tu_guard_free(p, in.len);
    ck_assert_uint_le(*consumed, in.len);
    if (st == DIS_DONE || st == DIS_ERR)
        stop(R, st, ctx->err_reason);
    else
        ck_assert_int_eq(st, DIS_OK);
    return st;
}

static enum dis_status guarded_gap(void *vg, int dir, uint64_t len, struct dis_ctx *ctx)
{
    struct guarded *g = vg;
    struct res *R = ctx->sink->ud;
    R->gap_status = http_dissector.on_gap(g->st, dir, len, ctx);
    return R->gap_status;
}

static void guarded_close(void *vg, struct dis_ctx *ctx)
{
    struct guarded *g = vg;
    dumpf(ctx->sink->ud, "CLOSE\n");
    http_dissector.on_close(g->st, ctx);
}

static size_t guarded_mem(const void *vg)
{
    const struct guarded *g = vg;
    return http_dissector.mem(g->st);
}

static const struct dissector guarded_http = {.name = "http", .state_new = guarded_new,
                                              .state_free = guarded_free, .on_data = guarded_data,
                                              .on_gap = guarded_gap, .on_close = guarded_close,
                                              .mem = guarded_mem};

struct run {
    struct res *R;
    struct dis_sink sink;
    struct drv_host host;
    struct drv drv;
    uint64_t ts;
};

static void run_init(struct run *x)
{
    memset(x, 0, sizeof *x);
    x->R = calloc(1, sizeof *x->R);
    ck_assert_ptr_nonnull(x->R);
    x->sink.ud = x->R;
    x->sink.finding = sink_finding;
    x->sink.http_request = sink_http;
    x->sink.label = sink_label;
    x->host.sink = &x->sink;
    drv_init(&x->drv, &x->host, "192.0.2.1", "192.0.2.80", 40000, 80, 7);
    ck_assert(drv_attach(&x->drv, &guarded_http, 0));
}

/* Delivers n bytes of direction dir to the driver. */
static void feed(struct run *x, int dir, const uint8_t *p, size_t n)
{
    drv_data(&x->drv, dir, p, n, x->ts);
    if (x->host.stats.overflow && !x->R->overflow) {
        /* the driver detached: the tail would exceed DIS_BUF_MAX */
        x->R->overflow = true;
        stop(x->R, DIS_ERR, "unconsumed data exceeds DIS_BUF_MAX");
    }
}

/* Bytes lost in direction dir: the driver drops the buffered tail, then tells on_gap. Returns
 * what on_gap said (the driver must have called it). */
static enum dis_status gap(struct run *x, int dir, uint64_t len)
{
    x->R->gap_status = (enum dis_status)-1;
    drv_gap(&x->drv, dir, len, x->ts);
    ck_assert_int_ne(x->R->gap_status, -1);
    return x->R->gap_status;
}

static struct res *run_finish(struct run *x, bool close)
{
    if (close)
        drv_close(&x->drv, 9000000);
    drv_fini(&x->drv);
    /* the driver detaches only for what the dissector said (DIS_ERR) or a tail over DIS_BUF_MAX */
    ck_assert_uint_eq(x->host.stats.mem_cap, 0);
    ck_assert_uint_eq(x->host.stats.errors, x->R->stopped && x->R->status == DIS_ERR);
    return x->R;
}

enum mode { M_WHOLE, M_BYTE, M_CUT };

static struct res *run_conv(const struct seg *s, size_t n, enum mode m, size_t cut)
{
    struct run x;
    size_t pos = 0;
    run_init(&x);
    for (size_t i = 0; i < n; i++) {
        x.ts = 1000000 + i;
        if (m == M_BYTE) {
            for (size_t k = 0; k < s[i].len; k++)
                feed(&x, s[i].dir, s[i].p + k, 1);
        } else if (m == M_CUT && cut > pos && cut < pos + s[i].len) {
            feed(&x, s[i].dir, s[i].p, cut - pos);
            feed(&x, s[i].dir, s[i].p + (cut - pos), s[i].len - (cut - pos));
        } else {
            feed(&x, s[i].dir, s[i].p, s[i].len);
        }
        pos += s[i].len;
    }
    return run_finish(&x, true);
}

static void res_free(struct res *R)
{
    if (R) {
        free(R->dump);
        free(R);
    }
}

static void same_dump(const struct res *a, const struct res *b, const char *what, size_t cut)
{
    ck_assert_msg(strcmp(a->dump, b->dump) == 0, "%s (cut %zu) differs:\n--- whole\n%s--- split\n%s",
                  what, cut, a->dump, b->dump);
}

/* Runs the conversation whole, byte by byte and cut at every stride-th offset; all must give
 * the same dump. Returns the whole run (caller frees). */
static struct res *run_all(const struct seg *s, size_t n, size_t stride)
{
    struct res *whole = run_conv(s, n, M_WHOLE, 0);
    struct res *byte = run_conv(s, n, M_BYTE, 0);
    size_t total = 0;
    same_dump(whole, byte, "one byte per call", 0);
    res_free(byte);
    for (size_t i = 0; i < n; i++)
        total += s[i].len;
    for (size_t cut = 1; cut < total; cut += stride) {
        struct res *c = run_conv(s, n, M_CUT, cut);
        same_dump(whole, c, "cut", cut);
        res_free(c);
    }
    return whole;
}

static size_t count_kind(const struct res *R, const char *kind)
{
    size_t n = 0;
    for (size_t i = 0; i < R->nfind; i++)
        if (strcmp(finding_kind_info(R->finds[i].kind)->name, kind) == 0)
            n++;
    return n;
}

static const struct finding *get_kind(const struct res *R, const char *kind)
{
    for (size_t i = 0; i < R->nfind; i++)
        if (strcmp(finding_kind_info(R->finds[i].kind)->name, kind) == 0)
            return &R->finds[i];
    ck_abort_msg("no finding %s in:\n%s", kind, R->dump);
    return NULL;
}

static bool contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* The secret occurs nowhere in what was emitted: the dump (all strings of records and
 * findings) and the raw bytes of every record. */
static void assert_absent(const struct res *R, const char *secret)
{
    size_t n = strlen(secret);
    ck_assert_msg(!contains(R->dump, secret), "'%s' leaked:\n%s", secret, R->dump);
    for (size_t i = 0; i < R->nrec; i++)
        ck_assert_msg(memmem(&R->recs[i], sizeof R->recs[i], secret, n) == NULL,
                      "'%s' in record %zu", secret, i);
    for (size_t i = 0; i < R->nfind; i++) {
        ck_assert(!contains(R->finds[i].summary, secret));
        ck_assert(!contains(R->finds[i].evidence, secret));
    }
}

/* ---- vectors ---- */

/* curl 7.88 GET against nginx 1.22 (shape of pcaps/http-get-ipv4.pcap, headers as curl/nginx
 * send them; body shortened). */
static const char get_req[] = "GET /index.html HTTP/1.1\r\n"
                              "Host: 127.0.0.1:8080\r\n"
                              "User-Agent: curl/7.88.1\r\n"
                              "Accept: */*\r\n"
                              "\r\n";
static const char get_resp[] = "HTTP/1.1 200 OK\r\n"
                               "Server: nginx/1.22.1\r\n"
                               "Date: Thu, 01 Jan 2025 00:00:00 GMT\r\n"
                               "Content-Type: text/html; charset=utf-8\r\n"
                               "Content-Length: 12\r\n"
                               "Last-Modified: Thu, 01 Jan 2025 00:00:00 GMT\r\n"
                               "Connection: keep-alive\r\n"
                               "ETag: \"6774a000-c\"\r\n"
                               "Accept-Ranges: bytes\r\n"
                               "\r\n"
                               "hello world\n";

/* ---- vectors from the recorded captures (pcaps/http/, see pcaps/gen/http.sh) ---- */

/* pcaps/http/http-basic-auth.pcap, TCP stream 1: payloads in capture order (tshark -q -z follow,tcp,raw,1) */
static const struct seg pcap_basic_auth[] = {
    CLI("GET /private/ HTTP/1.1\r\n"
        "Host: www.netzwacht.test\r\n"
        "Authorization: Basic YWxpY2U6aHVudGVyMg==\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "\r\n"),
    SRV("HTTP/1.1 200 OK\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:09 GMT\r\n"
        "Content-Type: text/html\r\n"
        "Content-Length: 136\r\n"
        "Last-Modified: Tue, 01 Jun 2021 12:00:00 GMT\r\n"
        "Connection: keep-alive\r\n"
        "ETag: \"60b62140-88\"\r\n"
        "Accept-Ranges: bytes\r\n"
        "\r\n"
        "<!DOCTYPE html>\n"
        "<html lang=\"en\"><head><title>private</title></head>\n"
        "<body><p>hello alice, this page needs a password.</p></body></html>\n"),
};

/* pcaps/http/http-digest-auth.pcap, TCP stream 0: payloads in capture order (tshark -q -z follow,tcp,raw,0) */
static const struct seg pcap_digest_auth[] = {
    CLI("GET /digest/secret HTTP/1.1\r\n"
        "Host: digest.netzwacht.test\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "\r\n"),
    SRV("HTTP/1.1 401 Unauthorized\r\n"
        "Server: nzhttpd/1\r\n"
        "Date: Sat, 01 Jan 2022 00:00:00 GMT\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: 24\r\n"
        "WWW-Authenticate: Digest realm=\"netzwacht-test\", qop=\"auth\", algorithm=MD5, nonce=\"6"
        "e7a6e6f6e63652d6669786564\", opaque=\"6e7a6f7061717565\"\r\n"
        "\r\n"),
    SRV("authentication required\n"),
    CLI("GET /digest/secret HTTP/1.1\r\n"
        "Host: digest.netzwacht.test\r\n"
        "Authorization: Digest username=\"alice\", realm=\"netzwacht-test\", nonce=\"6e7a6e6f6e636"
        "52d6669786564\", uri=\"/digest/secret\", cnonce=\"NjNhNzFhYzQzMTZmNzBkYzM2NDY3YzNjMzVhOTQ"
        "1YjA=\", nc=00000001, qop=auth, response=\"5cff0bfe8be492532905b6218d75c89e\", opaque=\"6"
        "e7a6f7061717565\", algorithm=MD5\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "\r\n"),
    SRV("HTTP/1.1 200 OK\r\n"
        "Server: nzhttpd/1\r\n"
        "Date: Sat, 01 Jan 2022 00:00:00 GMT\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: 10\r\n"
        "\r\n"),
    SRV("digest ok\n"),
};

/* pcaps/http/http-form-login.pcap, TCP stream 0: payloads in capture order (tshark -q -z follow,tcp,raw,0) */
static const struct seg pcap_form_login[] = {
    CLI("POST /login HTTP/1.1\r\n"
        "Host: www.netzwacht.test\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "Content-Length: 31\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "\r\n"
        "username=alice&password=hunter2"),
    SRV("HTTP/1.1 302 Moved Temporarily\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:13 GMT\r\n"
        "Content-Type: text/html\r\n"
        "Content-Length: 145\r\n"
        "Location: http://www.netzwacht.test/account\r\n"
        "Connection: keep-alive\r\n"
        "Set-Cookie: session=6e7a2d73657373696f6e2d616c696365; Path=/; HttpOnly\r\n"
        "Set-Cookie: lang=en; Path=/; Max-Age=3600\r\n"
        "\r\n"
        "<html>\r\n"
        "<head><title>302 Found</title></head>\r\n"
        "<body>\r\n"
        "<center><h1>302 Found</h1></center>\r\n"
        "<hr><center>nginx/1.22.1</center>\r\n"
        "</body>\r\n"
        "</html>\r\n"),
};

/* pcaps/http/http-form-multipart.pcap, TCP stream 0: payloads in capture order (tshark -q -z follow,tcp,raw,0) */
static const struct seg pcap_form_multipart[] = {
    CLI("POST /login HTTP/1.1\r\n"
        "Host: app.netzwacht.test\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "Content-Length: 252\r\n"
        "Content-Type: multipart/form-data; boundary=------------------------9849c59bf60f1299\r\n"
        "\r\n"),
    CLI("--------------------------9849c59bf60f1299\r\n"
        "Content-Disposition: form-data; name=\"username\"\r\n"
        "\r\n"
        "alice\r\n"
        "--------------------------9849c59bf60f1299\r\n"
        "Content-Disposition: form-data; name=\"password\"\r\n"
        "\r\n"
        "hunter2\r\n"
        "--------------------------9849c59bf60f1299--\r\n"),
    SRV("HTTP/1.1 302 Found\r\n"
        "Server: nzhttpd/1\r\n"
        "Date: Sat, 01 Jan 2022 00:00:00 GMT\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: 13\r\n"
        "Location: /account\r\n"
        "Set-Cookie: session=6e7a2d73657373696f6e2d616c696365; Path=/; HttpOnly\r\n"
        "Set-Cookie: lang=en; Path=/; Max-Age=3600\r\n"
        "\r\n"),
    SRV("see /account\n"),
};

/* pcaps/http/http-keepalive-chunked.pcap, TCP stream 0: payloads in capture order (tshark -q -z follow,tcp,raw,0) */
static const struct seg pcap_keepalive_chunked[] = {
    CLI("GET /style.css HTTP/1.1\r\n"
        "Host: www.netzwacht.test\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "\r\n"),
    SRV("HTTP/1.1 200 OK\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:27 GMT\r\n"
        "Content-Type: text/css\r\n"
        "Content-Length: 67\r\n"
        "Last-Modified: Tue, 01 Jun 2021 12:00:00 GMT\r\n"
        "Connection: keep-alive\r\n"
        "ETag: \"60b62140-43\"\r\n"
        "Accept-Ranges: bytes\r\n"
        "\r\n"
        "body { font-family: sans-serif; margin: 2em; }\n"
        "h1 { color: #225; }\n"),
    CLI("GET /robots.txt HTTP/1.1\r\n"
        "Host: www.netzwacht.test\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "\r\n"),
    SRV("HTTP/1.1 200 OK\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:27 GMT\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: 34\r\n"
        "Last-Modified: Tue, 01 Jun 2021 12:00:00 GMT\r\n"
        "Connection: keep-alive\r\n"
        "ETag: \"60b62140-22\"\r\n"
        "Accept-Ranges: bytes\r\n"
        "\r\n"
        "User-agent: *\n"
        "Disallow: /private/\n"),
    CLI("GET /chunked/ HTTP/1.1\r\n"
        "Host: www.netzwacht.test\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "\r\n"),
    SRV("HTTP/1.1 200 OK\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:27 GMT\r\n"
        "Content-Type: text/html\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Connection: keep-alive\r\n"
        "\r\n"),
    SRV("200\r\n"
        "<!DOCTYPE html>\n"
        "<html lang=\"en\"><head><title>chunked</title></head>\n"
        "<body>\n"
        "<p>line 01 of a page that nginx sends chunked</p>\n"
        "<p>line 02 of a page that nginx sends chunked</p>\n"
        "<p>line 03 of a page that nginx sends chunked</p>\n"
        "<p>line 04 of a page that nginx sends chunked</p>\n"
        "<p>line 05 of a page that nginx sends chunked</p>\n"
        "<p>line 06 of a page that nginx sends chunked</p>\n"
        "<p>line 07 of a page that nginx sends chunked</p>\n"
        "<p>line 08 of a page that nginx sends chunked</p>\n"
        "<p>line 09 of a page that nginx sends\r\n"),
    SRV("200\r\n"
        " chunked</p>\n"
        "<p>line 10 of a page that nginx sends chunked</p>\n"
        "<p>line 11 of a page that nginx sends chunked</p>\n"
        "<p>line 12 of a page that nginx sends chunked</p>\n"
        "<p>line 13 of a page that nginx sends chunked</p>\n"
        "<p>line 14 of a page that nginx sends chunked</p>\n"
        "<p>line 15 of a page that nginx sends chunked</p>\n"
        "<p>line 16 of a page that nginx sends chunked</p>\n"
        "<p>line 17 of a page that nginx sends chunked</p>\n"
        "<p>line 18 of a page that nginx sends chunked</p>\n"
        "<p>line 19 of a page that nginx sends chunked</p>\r\n"),
    SRV("200\r\n"
        "\n"
        "<p>line 20 of a page that nginx sends chunked</p>\n"
        "<p>line 21 of a page that nginx sends chunked</p>\n"
        "<p>line 22 of a page that nginx sends chunked</p>\n"
        "<p>line 23 of a page that nginx sends chunked</p>\n"
        "<p>line 24 of a page that nginx sends chunked</p>\n"
        "<p>line 25 of a page that nginx sends chunked</p>\n"
        "<p>line 26 of a page that nginx sends chunked</p>\n"
        "<p>line 27 of a page that nginx sends chunked</p>\n"
        "<p>line 28 of a page that nginx sends chunked</p>\n"
        "<p>line 29 of a page that nginx sends chunked</p>\n"
        "<p>line 30 \r\n"),
    SRV("200\r\n"
        "of a page that nginx sends chunked</p>\n"
        "<p>line 31 of a page that nginx sends chunked</p>\n"
        "<p>line 32 of a page that nginx sends chunked</p>\n"
        "<p>line 33 of a page that nginx sends chunked</p>\n"
        "<p>line 34 of a page that nginx sends chunked</p>\n"
        "<p>line 35 of a page that nginx sends chunked</p>\n"
        "<p>line 36 of a page that nginx sends chunked</p>\n"
        "<p>line 37 of a page that nginx sends chunked</p>\n"
        "<p>line 38 of a page that nginx sends chunked</p>\n"
        "<p>line 39 of a page that nginx sends chunked</p>\n"
        "<p>line 40 of a page th\r\n"),
    SRV("4e\r\n"
        "at nginx sends chunked</p>\n"
        "<p>rewritten by nginx sub_filter</p></body></html>\n"
        "\r\n"
        "0\r\n"
        "\r\n"),
};

/* pcaps/http/http-redirect-to-https.pcap, TCP stream 0: payloads in capture order (tshark -q -z follow,tcp,raw,0) */
static const struct seg pcap_redirect_https[] = {
    CLI("GET /cart\?id=7 HTTP/1.1\r\n"
        "Host: shop.netzwacht.test\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "\r\n"),
    SRV("HTTP/1.1 301 Moved Permanently\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:20 GMT\r\n"
        "Content-Type: text/html\r\n"
        "Content-Length: 169\r\n"
        "Connection: keep-alive\r\n"
        "Location: https://shop.netzwacht.test/cart\?id=7\r\n"
        "\r\n"
        "<html>\r\n"
        "<head><title>301 Moved Permanently</title></head>\r\n"
        "<body>\r\n"
        "<center><h1>301 Moved Permanently</h1></center>\r\n"
        "<hr><center>nginx/1.22.1</center>\r\n"
        "</body>\r\n"
        "</html>\r\n"),
};

/* pcaps/http/http-no-https-redirect.pcap, TCP stream 1: payloads in capture order (tshark -q -z follow,tcp,raw,1) */
static const struct seg pcap_no_https_redirect[] = {
    CLI("GET / HTTP/1.1\r\n"
        "Host: plain.netzwacht.test\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "\r\n"),
    SRV("HTTP/1.1 200 OK\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:23 GMT\r\n"
        "Content-Type: text/html\r\n"
        "Content-Length: 382\r\n"
        "Last-Modified: Tue, 01 Jun 2021 12:00:00 GMT\r\n"
        "Connection: keep-alive\r\n"
        "ETag: \"60b62140-17e\"\r\n"
        "Accept-Ranges: bytes\r\n"
        "\r\n"
        "<!DOCTYPE html>\n"
        "<html lang=\"en\">\n"
        "<head><meta charset=\"utf-8\"><title>netzwacht test site</title></head>\n"
        "<body>\n"
        "<h1>netzwacht test site</h1>\n"
        "<form method=\"post\" action=\"/login\">\n"
        "  <label>user <input name=\"username\"></label>\n"
        "  <label>password <input type=\"password\" name=\"password\"></label>\n"
        "  <button>log in</button>\n"
        "</form>\n"
        "<p><a href=\"/private/\">members only</a></p>\n"
        "</body>\n"
        "</html>\n"),
};

/* pcaps/http/http-head-204-304.pcap, TCP stream 0: payloads in capture order (tshark -q -z follow,tcp,raw,0) */
static const struct seg pcap_head_204_304[] = {
    CLI("HEAD /index.html HTTP/1.1\r\n"
        "Host: www.netzwacht.test\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "\r\n"),
    SRV("HTTP/1.1 200 OK\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:42 GMT\r\n"
        "Content-Type: text/html\r\n"
        "Content-Length: 382\r\n"
        "Last-Modified: Tue, 01 Jun 2021 12:00:00 GMT\r\n"
        "Connection: keep-alive\r\n"
        "ETag: \"60b62140-17e\"\r\n"
        "Accept-Ranges: bytes\r\n"
        "\r\n"),
    CLI("GET /empty HTTP/1.1\r\n"
        "Host: www.netzwacht.test\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "\r\n"),
    SRV("HTTP/1.1 204 No Content\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:42 GMT\r\n"
        "Connection: keep-alive\r\n"
        "\r\n"),
    CLI("GET /index.html HTTP/1.1\r\n"
        "Host: www.netzwacht.test\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "If-Modified-Since: Tue, 01 Jun 2021 12:00:00 GMT\r\n"
        "\r\n"),
    SRV("HTTP/1.1 304 Not Modified\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:42 GMT\r\n"
        "Last-Modified: Tue, 01 Jun 2021 12:00:00 GMT\r\n"
        "Connection: keep-alive\r\n"
        "ETag: \"60b62140-17e\"\r\n"
        "\r\n"),
    CLI("GET /robots.txt HTTP/1.1\r\n"
        "Host: www.netzwacht.test\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "\r\n"),
    SRV("HTTP/1.1 200 OK\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:42 GMT\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: 34\r\n"
        "Last-Modified: Tue, 01 Jun 2021 12:00:00 GMT\r\n"
        "Connection: keep-alive\r\n"
        "ETag: \"60b62140-22\"\r\n"
        "Accept-Ranges: bytes\r\n"
        "\r\n"
        "User-agent: *\n"
        "Disallow: /private/\n"),
};

/* pcaps/http/http-pipelined.pcap, TCP stream 0: payloads in capture order (tshark -q -z follow,tcp,raw,0) */
static const struct seg pcap_pipelined[] = {
    CLI("GET /index.html HTTP/1.1\r\n"
        "Host: www.netzwacht.test\r\n"
        "User-Agent: rawclient.py\r\n"
        "\r\n"
        "GET /robots.txt HTTP/1.1\r\n"
        "Host: www.netzwacht.test\r\n"
        "User-Agent: rawclient.py\r\n"
        "Connection: close\r\n"
        "\r\n"),
    SRV("HTTP/1.1 200 OK\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:47 GMT\r\n"
        "Content-Type: text/html\r\n"
        "Content-Length: 382\r\n"
        "Last-Modified: Tue, 01 Jun 2021 12:00:00 GMT\r\n"
        "Connection: keep-alive\r\n"
        "ETag: \"60b62140-17e\"\r\n"
        "Accept-Ranges: bytes\r\n"
        "\r\n"
        "<!DOCTYPE html>\n"
        "<html lang=\"en\">\n"
        "<head><meta charset=\"utf-8\"><title>netzwacht test site</title></head>\n"
        "<body>\n"
        "<h1>netzwacht test site</h1>\n"
        "<form method=\"post\" action=\"/login\">\n"
        "  <label>user <input name=\"username\"></label>\n"
        "  <label>password <input type=\"password\" name=\"password\"></label>\n"
        "  <button>log in</button>\n"
        "</form>\n"
        "<p><a href=\"/private/\">members only</a></p>\n"
        "</body>\n"
        "</html>\n"),
    SRV("HTTP/1.1 200 OK\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:47 GMT\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: 34\r\n"
        "Last-Modified: Tue, 01 Jun 2021 12:00:00 GMT\r\n"
        "Connection: close\r\n"
        "ETag: \"60b62140-22\"\r\n"
        "Accept-Ranges: bytes\r\n"
        "\r\n"
        "User-agent: *\n"
        "Disallow: /private/\n"),
};

/* pcaps/http/http-url-credentials.pcap, TCP stream 0: payloads in capture order (tshark -q -z follow,tcp,raw,0) */
static const struct seg pcap_url_creds_curl[] = {
    CLI("GET /search\?q=netzwacht&password=hunter2 HTTP/1.1\r\n"
        "Host: www.netzwacht.test\r\n"
        "Authorization: Basic YWxpY2U6aHVudGVyMg==\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "\r\n"),
    SRV("HTTP/1.1 200 OK\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:39 GMT\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: 11\r\n"
        "Connection: keep-alive\r\n"
        "\r\n"
        "no results\n"),
};

/* pcaps/http/http-url-credentials.pcap, TCP stream 1: payloads in capture order (tshark -q -z follow,tcp,raw,1) */
static const struct seg pcap_url_creds_raw[] = {
    CLI("GET http://alice:hunter2@www.netzwacht.test/search\?user=alice&password=hunter2 HTTP/1.1\r"
        "\n"
        "Host: www.netzwacht.test\r\n"
        "User-Agent: rawclient.py\r\n"
        "Connection: close\r\n"
        "\r\n"),
    SRV("HTTP/1.1 400 Bad Request\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:39 GMT\r\n"
        "Content-Type: text/html\r\n"
        "Content-Length: 157\r\n"
        "Connection: close\r\n"
        "\r\n"
        "<html>\r\n"
        "<head><title>400 Bad Request</title></head>\r\n"
        "<body>\r\n"
        "<center><h1>400 Bad Request</h1></center>\r\n"
        "<hr><center>nginx/1.22.1</center>\r\n"
        "</body>\r\n"
        "</html>\r\n"),
};

/* pcaps/http/http-ipv6.pcap, TCP stream 0: payloads in capture order (tshark -q -z follow,tcp,raw,0) */
static const struct seg pcap_ipv6[] = {
    CLI("GET /index.html HTTP/1.1\r\n"
        "Host: www.netzwacht.test\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "\r\n"),
    SRV("HTTP/1.1 200 OK\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:33 GMT\r\n"
        "Content-Type: text/html\r\n"
        "Content-Length: 382\r\n"
        "Last-Modified: Tue, 01 Jun 2021 12:00:00 GMT\r\n"
        "Connection: keep-alive\r\n"
        "ETag: \"60b62140-17e\"\r\n"
        "Accept-Ranges: bytes\r\n"
        "\r\n"
        "<!DOCTYPE html>\n"
        "<html lang=\"en\">\n"
        "<head><meta charset=\"utf-8\"><title>netzwacht test site</title></head>\n"
        "<body>\n"
        "<h1>netzwacht test site</h1>\n"
        "<form method=\"post\" action=\"/login\">\n"
        "  <label>user <input name=\"username\"></label>\n"
        "  <label>password <input type=\"password\" name=\"password\"></label>\n"
        "  <button>log in</button>\n"
        "</form>\n"
        "<p><a href=\"/private/\">members only</a></p>\n"
        "</body>\n"
        "</html>\n"),
};

/* pcaps/http/http-port-8080.pcap, TCP stream 0: payloads in capture order (tshark -q -z follow,tcp,raw,0) */
static const struct seg pcap_port_8080[] = {
    CLI("GET /index.html HTTP/1.1\r\n"
        "Host: www.netzwacht.test:8080\r\n"
        "User-Agent: curl/7.88.1\r\n"
        "Accept: */*\r\n"
        "\r\n"),
    SRV("HTTP/1.1 200 OK\r\n"
        "Server: nginx/1.22.1\r\n"
        "Date: Sun, 29 Nov 2026 04:23:31 GMT\r\n"
        "Content-Type: text/html\r\n"
        "Content-Length: 382\r\n"
        "Last-Modified: Tue, 01 Jun 2021 12:00:00 GMT\r\n"
        "Connection: keep-alive\r\n"
        "ETag: \"60b62140-17e\"\r\n"
        "Accept-Ranges: bytes\r\n"
        "\r\n"
        "<!DOCTYPE html>\n"
        "<html lang=\"en\">\n"
        "<head><meta charset=\"utf-8\"><title>netzwacht test site</title></head>\n"
        "<body>\n"
        "<h1>netzwacht test site</h1>\n"
        "<form method=\"post\" action=\"/login\">\n"
        "  <label>user <input name=\"username\"></label>\n"
        "  <label>password <input type=\"password\" name=\"password\"></label>\n"
        "  <button>log in</button>\n"
        "</form>\n"
        "<p><a href=\"/private/\">members only</a></p>\n"
        "</body>\n"
        "</html>\n"),
};

/* ---- probe ---- */

static enum dis_probe probe_str(const char *s, int dir)
{
    size_t n = strlen(s);
    uint8_t *g = tu_guard(s, n);
    struct bytes b = {g, n};
    enum dis_probe p = http_dissector.probe(b, dir);
    tu_guard_free(g, n);
    return p;
}

START_TEST(test_probe_request)
{
    ck_assert_int_eq(probe_str(get_req, 0), DIS_PROBE_YES);
    ck_assert_int_eq(probe_str("POST /login HTTP/1.0\n", 0), DIS_PROBE_YES);
    ck_assert_int_eq(probe_str("PROPFIND /dav/ HTTP/1.1\r\n", 0), DIS_PROBE_YES);
    ck_assert_int_eq(probe_str("CONNECT example.com:443 HTTP/1.1\r\n", 0), DIS_PROBE_YES);
    ck_assert_int_eq(probe_str("OPTIONS * HTTP/1.1\r\n", 0), DIS_PROBE_YES);
    /* not decidable yet */
    ck_assert_int_eq(probe_str("", 0), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe_str("G", 0), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe_str("PROP", 0), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe_str("GET ", 0), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe_str("GET /index", 0), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe_str("GET / HTTP/1.", 0), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe_str("GET / HTTP/1.1\r", 0), DIS_PROBE_MAYBE);
    /* not HTTP/1.x requests */
    ck_assert_int_eq(probe_str("get / HTTP/1.1\r\n", 0), DIS_PROBE_NO); /* methods are case-sensitive */
    ck_assert_int_eq(probe_str("GET / http/1.1\r\n", 0), DIS_PROBE_YES);
    ck_assert_int_eq(probe_str("GET /\r\n", 0), DIS_PROBE_NO); /* HTTP/0.9 */
    ck_assert_int_eq(probe_str("GET / HTTP/2.0\r\n", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_str("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_str("GET / HTTP/2", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_str("GETX / HTTP/1.1\r\n", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_str("SSH-2.0-OpenSSH_9.2\r\n", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_str("EHLO mail.example\r\n", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_str("\x16\x03\x01\x02\x00\x01", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_str("GET  / HTTP/1.1", 0), DIS_PROBE_NO);
    /* monotone: the whole line is refused like its prefix (on_data itself is more lenient) */
    ck_assert_int_eq(probe_str("GET  / HTTP/1.1\r\n", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_str("GET /a b HTTP/1.1\r\n", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_str("GET / HTTP/1.1 \r\n", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_str("GET / HTTP/1.1\r\r\n", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_str("GET / HTTP/1.\r\n", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_str("GET \r\n", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe_str("HTTP/1.1 200 OK\r\n", 0), DIS_PROBE_NO);
}
END_TEST

START_TEST(test_probe_long_target)
{
    char buf[HTTP_METHOD_MAX + 700];
    strcpy(buf, "GET /");
    memset(buf + 5, 'a', 600);
    buf[605] = '\0';
    ck_assert_int_eq(probe_str(buf, 0), DIS_PROBE_YES);
    buf[300] = '\0';
    ck_assert_int_eq(probe_str(buf, 0), DIS_PROBE_MAYBE);
    buf[200] = '\x01';
    ck_assert_int_eq(probe_str(buf, 0), DIS_PROBE_NO);
}
END_TEST

START_TEST(test_probe_response)
{
    ck_assert_int_eq(probe_str("HTTP/1.1 200 OK\r\n", 1), DIS_PROBE_YES);
    ck_assert_int_eq(probe_str("HTTP/1.0 404", 1), DIS_PROBE_YES);
    ck_assert_int_eq(probe_str("", 1), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe_str("HTTP/1", 1), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe_str("HTTP/1.", 1), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe_str("HTTP/2 200\r\n", 1), DIS_PROBE_NO);
    ck_assert_int_eq(probe_str("HTTP/1.x", 1), DIS_PROBE_NO);
    /* lowercase HTTP-name: seen from real servers (Zeek's http-lower-case-nonstandard-port) */
    ck_assert_int_eq(probe_str("http/1.1 200 OK", 1), DIS_PROBE_YES);
    ck_assert_int_eq(probe_str("220 smtp ready\r\n", 1), DIS_PROBE_NO);
}
END_TEST

/* ---- password-like names ---- */

static bool pw(const char *s)
{
    size_t n = strlen(s);
    uint8_t *g = tu_guard(s, n);
    struct bytes b = {g, n};
    bool r = http_name_is_password(b);
    tu_guard_free(g, n);
    return r;
}

START_TEST(test_name_rule)
{
    const char *yes[] = {"password", "Password", "PASSWD", "pwd", "pass", "pw", "j_password",
                         "user[password]", "newPassword", "login_pwd", "password2", "passphrase",
                         "user%5Bpassword%5D", "pass+word", "pass%20", "Passwort", "kennwort",
                         "otp_passcode", "user.pswd", "motdepasse", "pass1", "pass%77ord"};
    const char *no[] = {"passwordless", "bypass", "compass", "passenger", "pwdhint", "username",
                        "user", "email", "login", "passport", "pwned", "", "%", "p%61ssage",
                        "csrf_token", "passage%20way"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        ck_assert_msg(pw(yes[i]), "%s should be password-like", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        ck_assert_msg(!pw(no[i]), "%s should not be", no[i]);
    /* "pass_" has the word "pass" */
    ck_assert(pw("pass_"));
    /* documented false positive */
    ck_assert(pw("password_hint"));
}
END_TEST

/* ---- framing and pairing ---- */

START_TEST(test_get_basic)
{
    const struct seg s[] = {CLI(get_req), SRV(get_resp)};
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_int_eq(R->labels, 1);
    ck_assert_uint_eq(R->nrec, 1);
    const struct http_request_rec *r = &R->recs[0];
    ck_assert_str_eq(r->method, "GET");
    ck_assert_str_eq(r->host, "127.0.0.1");
    ck_assert_uint_eq(r->port, 8080);
    ck_assert_str_eq(r->path, "/index.html");
    ck_assert_uint_eq(r->status, 200);
    ck_assert_str_eq(r->content_type, "text/html");
    ck_assert_str_eq(r->user_agent, "curl/7.88.1");
    ck_assert_uint_eq(r->req_minor, 1);
    ck_assert_uint_eq(r->resp_body_bytes, 12);
    ck_assert_uint_eq(r->req_body_bytes, 0);
    ck_assert_uint_eq(r->flow_id, 7);
    ck_assert_uint_eq(r->ts_usec, 1000000);
    ck_assert_uint_eq(r->resp_ts_usec, 1000001);
    ck_assert_uint_eq(r->flags, 0);
    /* the record was emitted when the response ended, not at close */
    ck_assert_ptr_nonnull(strstr(R->dump, "REC"));
    ck_assert(strstr(R->dump, "REC") < strstr(R->dump, "CLOSE"));
    ck_assert_uint_eq(count_kind(R, "http.plaintext"), 1);
    res_free(R);
}
END_TEST

START_TEST(test_post_body_and_leading_crlf)
{
    /* body by Content-Length; an extra CRLF after it (old clients) is skipped (RFC 9112 §2.2) */
    const struct seg s[] = {
        CLI("POST /api/items HTTP/1.1\r\nHost: example.org\r\nContent-Type: application/json\r\n"
            "Content-Length: 15\r\n\r\n{\"name\":\"demo\"}\r\n"
            "GET /api/items HTTP/1.1\r\nHost: example.org\r\n\r\n"),
        SRV("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(R->nrec, 2);
    ck_assert_str_eq(R->recs[0].method, "POST");
    ck_assert_uint_eq(R->recs[0].req_body_bytes, 15);
    ck_assert_str_eq(R->recs[0].req_content_type, "application/json");
    ck_assert_uint_eq(R->recs[0].status, 201);
    ck_assert_str_eq(R->recs[1].method, "GET");
    ck_assert_uint_eq(R->recs[1].status, 200);
    ck_assert_uint_eq(R->recs[1].resp_body_bytes, 2);
    ck_assert(!R->stopped);
    ck_assert_uint_eq(count_kind(R, "http.form_credentials"), 0);
    res_free(R);
}
END_TEST

START_TEST(test_pipelining)
{
    /* three requests in one write (python socket client in pcaps/gen does the same), a HEAD
     * among them; responses in order in one write */
    const struct seg s[] = {
        CLI("GET /a HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h\r\n\r\n"
            "GET /c?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\naaa"
            "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" /* HEAD: no body */
            "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(R->nrec, 3);
    ck_assert_str_eq(R->recs[0].path, "/a");
    ck_assert_uint_eq(R->recs[0].resp_body_bytes, 3);
    ck_assert_str_eq(R->recs[1].method, "HEAD");
    ck_assert_str_eq(R->recs[1].path, "/b");
    ck_assert_uint_eq(R->recs[1].resp_body_bytes, 0);
    ck_assert_str_eq(R->recs[2].path, "/c");
    ck_assert_uint_eq(R->recs[2].status, 404);
    ck_assert_uint_eq(R->recs[2].resp_body_bytes, 4);
    ck_assert(!R->stopped);
    ck_assert_uint_eq(count_kind(R, "http.plaintext"), 1);
    res_free(R);
}
END_TEST

START_TEST(test_keepalive_chunked)
{
    /* keep-alive, three requests one after the other, the second answered chunked with a chunk
     * extension and a trailer (shape of pcaps/http/http-keepalive-chunked.pcap) */
    const struct seg s[] = {
        CLI("GET /one HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/7.88.1\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\none\n"),
        CLI("GET /two HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/7.88.1\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n"),
        CLI("GET /three HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/7.88.1\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nthree\n"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(R->nrec, 3);
    ck_assert_str_eq(R->recs[0].path, "/one");
    ck_assert_str_eq(R->recs[1].path, "/two");
    ck_assert_uint_eq(R->recs[1].resp_body_bytes, 31);
    ck_assert_uint_eq(R->recs[1].ts_usec, 1000002);
    ck_assert_uint_eq(R->recs[1].resp_ts_usec, 1000003);
    ck_assert_str_eq(R->recs[2].path, "/three");
    ck_assert_uint_eq(R->recs[2].resp_body_bytes, 6);
    ck_assert_str_eq(R->recs[2].host, "localhost");
    ck_assert(!R->stopped);
    ck_assert_uint_eq(count_kind(R, "http.plaintext"), 1);
    res_free(R);
}
END_TEST

START_TEST(test_chunked_request_and_bad_chunk)
{
    const struct seg ok[] = {
        CLI("PUT /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
            "3\r\nabc\r\n0\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n"),
        SRV("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"),
    };
    struct res *R = run_all(ok, NSEG(ok), 1);
    ck_assert_uint_eq(R->nrec, 2);
    ck_assert_uint_eq(R->recs[0].req_body_bytes, 3);
    ck_assert_uint_eq(R->recs[0].status, 204);
    ck_assert_uint_eq(R->recs[1].status, 304);
    ck_assert_uint_eq(R->recs[1].resp_body_bytes, 0);
    ck_assert(!R->stopped);
    res_free(R);

    const struct seg bad[] = {
        CLI("PUT /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    };
    R = run_all(bad, NSEG(bad), 1);
    ck_assert(R->stopped);
    ck_assert_int_eq(R->status, DIS_ERR);
    ck_assert_str_eq(R->reason, "http bad chunk size");
    /* the driver reports the detach (the product's dissect.malformed finding) */
    ck_assert_uint_eq(count_kind(R, "dissect.malformed"), 1);
    ck_assert_ptr_nonnull(strstr(get_kind(R, "dissect.malformed")->evidence, "http bad chunk size"));
    ck_assert_uint_eq(R->nrec, 1); /* the request is still reported, truncated */
    ck_assert(R->recs[0].flags & HTTP_F_TRUNCATED);
    res_free(R);

    const struct seg bad_end[] = {
        CLI("PUT /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n"),
    };
    R = run_all(bad_end, NSEG(bad_end), 1);
    ck_assert_str_eq(R->reason, "http bad chunk framing");
    res_free(R);

    /* a request whose final coding is not chunked has no knowable length (RFC 9112 §6.3) */
    const struct seg te[] = {
        CLI("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
    };
    R = run_all(te, NSEG(te), 1);
    ck_assert_str_eq(R->reason, "http request transfer-encoding not chunked");
    res_free(R);
}
END_TEST

START_TEST(test_interim_1xx)
{
    const struct seg s[] = {
        CLI("POST /upload HTTP/1.1\r\nHost: files.example\r\nContent-Length: 5\r\n"
            "Expect: 100-continue\r\n\r\n"),
        SRV("HTTP/1.1 100 Continue\r\n\r\n"),
        CLI("12345"),
        SRV("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_uint_eq(R->recs[0].status, 200);
    ck_assert_uint_eq(R->recs[0].req_body_bytes, 5);
    ck_assert_uint_eq(R->recs[0].resp_body_bytes, 2);
    ck_assert_uint_eq(R->recs[0].resp_ts_usec, 1000003);
    res_free(R);
}
END_TEST

START_TEST(test_until_close)
{
    const struct seg s[] = {
        CLI("GET /old HTTP/1.0\r\nHost: legacy.example\r\n\r\n"),
        SRV("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst part "),
        SRV("second part"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_uint_eq(R->recs[0].req_minor, 0);
    ck_assert_uint_eq(R->recs[0].resp_body_bytes, 22);
    ck_assert_uint_eq(R->recs[0].flags & HTTP_F_TRUNCATED, 0);
    ck_assert(strstr(R->dump, "CLOSE") < strstr(R->dump, "REC")); /* emitted at close */
    res_free(R);

    /* a Content-Length body cut by the close is truncated */
    const struct seg cut[] = {
        CLI("GET /big HTTP/1.1\r\nHost: h\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"),
    };
    R = run_all(cut, NSEG(cut), 1);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert(R->recs[0].flags & HTTP_F_TRUNCATED);
    ck_assert_uint_eq(R->recs[0].resp_body_bytes, 10);
    res_free(R);

    /* requests never answered are reported at close with status 0 */
    const struct seg noans[] = {CLI("GET /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n")};
    R = run_all(noans, NSEG(noans), 1);
    ck_assert_uint_eq(R->nrec, 2);
    ck_assert_uint_eq(R->recs[0].status, 0);
    ck_assert_str_eq(R->recs[1].path, "/y");
    res_free(R);
}
END_TEST

START_TEST(test_connect_tunnel)
{
    const struct seg s[] = {
        CLI("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
            "User-Agent: curl/7.88.1\r\n\r\n"),
        SRV("HTTP/1.1 200 Connection established\r\n\r\n"),
        CLI("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"),
        SRV("\x16\x03\x03\x00\x5d\x02"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert(R->stopped);
    ck_assert_int_eq(R->status, DIS_DONE);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_str_eq(R->recs[0].method, "CONNECT");
    ck_assert_str_eq(R->recs[0].host, "example.com");
    ck_assert_uint_eq(R->recs[0].port, 443);
    ck_assert_str_eq(R->recs[0].path, "");
    ck_assert(R->recs[0].flags & HTTP_F_TUNNEL);
    res_free(R);

    /* 407 then a second CONNECT with Proxy-Authorization Basic; the tunnel bytes a client sends
     * before the answer (held, not parsed as a request) */
    const struct seg s2[] = {
        CLI("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
        SRV("HTTP/1.1 407 Proxy Authentication Required\r\n"
            "Proxy-Authenticate: Basic realm=\"proxy\"\r\nContent-Length: 0\r\n\r\n"),
        CLI("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
            "Proxy-Authorization: Basic YWxpY2U6aHVudGVyMg==\r\n\r\n\x16\x03\x01\x00\xa5"),
        SRV("HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03"),
    };
    R = run_all(s2, NSEG(s2), 1);
    ck_assert_int_eq(R->status, DIS_DONE);
    ck_assert_uint_eq(R->nrec, 2);
    ck_assert_uint_eq(R->recs[0].status, 407);
    ck_assert_uint_eq(R->recs[1].status, 200);
    ck_assert(R->recs[1].flags & HTTP_F_TUNNEL);
    ck_assert(R->recs[1].flags & HTTP_F_BASIC_AUTH);
    ck_assert_str_eq(R->recs[1].auth_user, "alice");
    const struct finding *f = get_kind(R, "http.basic_auth");
    ck_assert(contains(f->evidence, "\"header\":\"Proxy-Authorization\""));
    assert_absent(R, "hunter2");
    assert_absent(R, "YWxpY2U6aHVudGVyMg");
    res_free(R);
}
END_TEST

START_TEST(test_h2c_upgrade)
{
    /* RFC 7540 §3.2 example exchange */
    const struct seg s[] = {
        CLI("GET / HTTP/1.1\r\nHost: server.example.com\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"),
        SRV("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
            "\x00\x00\x12\x04\x00\x00\x00\x00\x00"),
        CLI("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_int_eq(R->status, DIS_DONE);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_uint_eq(R->recs[0].status, 101);
    ck_assert(R->recs[0].flags & HTTP_F_H2C);
    ck_assert(R->recs[0].flags & HTTP_F_SWITCHED);
    ck_assert(R->recs[0].flags & HTTP_F_ROOT_PATH);
    res_free(R);

    /* upgrade offered but not taken: HTTP/1.1 goes on, h2c still noted */
    const struct seg s2[] = {
        CLI("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
            "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        CLI("GET /next HTTP/1.1\r\nHost: h\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    R = run_all(s2, NSEG(s2), 1);
    ck_assert(!R->stopped);
    ck_assert_uint_eq(R->nrec, 2);
    ck_assert(R->recs[0].flags & HTTP_F_H2C);
    ck_assert(!(R->recs[0].flags & HTTP_F_SWITCHED));
    ck_assert_str_eq(R->recs[1].path, "/next");
    res_free(R);
}
END_TEST

START_TEST(test_headers_fold_repeat_case)
{
    const struct seg s[] = {
        CLI("GET /p HTTP/1.1\r\nhOsT: Example.COM\r\nHost: second.example\r\n"
            "USER-AGENT: Mozilla/5.0\r\n (X11;\r\n\tLinux)\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\ncontent-type:\r\n  Text/HTML;\r\n charset=utf-8\r\n"
            "CONTENT-LENGTH: 3\r\ncontent-length: 3, 3\r\n"
            "set-cookie: a=1\r\nSET-COOKIE: b=2; Secure; HttpOnly\r\n\r\nabc"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(R->nrec, 1);
    const struct http_request_rec *r = &R->recs[0];
    ck_assert_str_eq(r->host, "example.com");
    ck_assert_str_eq(r->user_agent, "Mozilla/5.0 (X11; Linux)");
    ck_assert_str_eq(r->content_type, "text/html");
    ck_assert_str_eq(r->cookie_names, "a,b");
    ck_assert(r->flags & HTTP_F_COOKIE_SECURE);
    ck_assert_uint_eq(r->resp_body_bytes, 3);
    ck_assert(!R->stopped);
    res_free(R);

    /* differing Content-Length values: the body cannot be framed */
    const struct seg bad[] = {
        CLI("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
    };
    R = run_all(bad, NSEG(bad), 1);
    ck_assert_int_eq(R->status, DIS_ERR);
    ck_assert_str_eq(R->reason, "http bad content-length");
    res_free(R);
    const struct seg bad2[] = {CLI("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n")};
    R = run_all(bad2, NSEG(bad2), 1);
    ck_assert_str_eq(R->reason, "http bad content-length");
    res_free(R);
}
END_TEST

static char *make_big_head(size_t fill, const char *start, const char *tail)
{
    size_t a = strlen(start), t = strlen(tail);
    char *b = malloc(a + fill + t + 1);
    ck_assert_ptr_nonnull(b);
    memcpy(b, start, a);
    /* fill with 100-byte header lines */
    size_t i = 0;
    while (i + 100 <= fill) {
        memcpy(b + a + i, "X-Pad: ", 7);
        memset(b + a + i + 7, 'p', 91);
        memcpy(b + a + i + 98, "\r\n", 2);
        i += 100;
    }
    memset(b + a + i, 'q', fill - i); /* never used with a remainder */
    memcpy(b + a + fill, tail, t + 1);
    return b;
}

START_TEST(test_oversized_head)
{
    /* 20 KB of header lines, then a Set-Cookie past the cap (not seen), the body framed by a
     * Content-Length seen early, then a normal request */
    char *req = make_big_head(20000, "POST /big HTTP/1.1\r\nHost: big.example\r\nContent-Length: 4\r\n",
                              "Authorization: Basic YWxpY2U6aHVudGVyMg==\r\n\r\nbody"
                              "GET /after HTTP/1.1\r\nHost: big.example\r\n\r\n");
    char *resp = make_big_head(18000, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
                               "Set-Cookie: late=1\r\n\r\nok"
                               "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    const struct seg s[] = {{0, (const uint8_t *)req, strlen(req)},
                            {1, (const uint8_t *)resp, strlen(resp)}};
    struct res *R = run_all(s, NSEG(s), 331);
    ck_assert(!R->stopped);
    ck_assert_uint_eq(R->nrec, 2);
    ck_assert(R->recs[0].flags & HTTP_F_REQ_HEAD_TOO_LARGE);
    ck_assert(R->recs[0].flags & HTTP_F_RESP_HEAD_TOO_LARGE);
    ck_assert(!(R->recs[0].flags & HTTP_F_BASIC_AUTH)); /* past the cap: not looked at */
    ck_assert(!(R->recs[0].flags & HTTP_F_SET_COOKIE));
    ck_assert_uint_eq(R->recs[0].req_body_bytes, 4);
    ck_assert_uint_eq(R->recs[0].resp_body_bytes, 2);
    ck_assert_str_eq(R->recs[0].host, "big.example");
    ck_assert_str_eq(R->recs[1].path, "/after");
    ck_assert_uint_eq(R->recs[1].flags & (HTTP_F_REQ_HEAD_TOO_LARGE | HTTP_F_RESP_HEAD_TOO_LARGE), 0);
    res_free(R);
    free(req);
    free(resp);

    /* a head of exactly HTTP_HEAD_MAX bytes is still whole; one byte more is not */
    const char *start = "GET /edge HTTP/1.1\r\nHost: e\r\nY: ";
    size_t sl = strlen(start);
    char *full = malloc(HTTP_HEAD_MAX + 2);
    ck_assert_ptr_nonnull(full);
    for (size_t extra = 0; extra < 2; extra++) {
        size_t k = HTTP_HEAD_MAX - sl - 4 + extra, len = sl + k + 4;
        memcpy(full, start, sl);
        memset(full + sl, 'y', k);
        memcpy(full + sl + k, "\r\n\r\n", 4);
        ck_assert_uint_eq(len, HTTP_HEAD_MAX + extra);
        const struct seg e[] = {{0, (const uint8_t *)full, len}};
        for (int mode = M_WHOLE; mode <= M_BYTE; mode++) {
            R = run_conv(e, 1, (enum mode)mode, 0);
            ck_assert_uint_eq(R->nrec, 1);
            ck_assert_str_eq(R->recs[0].host, "e");
            ck_assert_uint_eq(!!(R->recs[0].flags & HTTP_F_REQ_HEAD_TOO_LARGE), extra);
            res_free(R);
        }
    }
    free(full);

    /* a start line longer than the cap: nothing to resync on */
    char *longline = malloc(HTTP_HEAD_MAX + 64);
    ck_assert_ptr_nonnull(longline);
    strcpy(longline, "GET /");
    memset(longline + 5, 'a', HTTP_HEAD_MAX);
    strcpy(longline + 5 + HTTP_HEAD_MAX, " HTTP/1.1\r\n\r\n");
    const struct seg l[] = {{0, (const uint8_t *)longline, strlen(longline)}};
    R = run_all(l, 1, 997);
    ck_assert_int_eq(R->status, DIS_ERR);
    ck_assert_str_eq(R->reason, "http head too large");
    res_free(R);
    free(longline);
}
END_TEST

START_TEST(test_oversized_head_cr_split)
{
    /* inside the dropped part of an oversized head: a line "\r\r\n" is not the empty line,
     * also when the stream is cut between its two CRs */
    char *req = make_big_head(17000, "GET /big HTTP/1.1\r\nHost: h\r\n",
                              "A: a\r\n\r\r\nContent-Length: 5\r\n\r\n"
                              "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    size_t len = strlen(req);
    const char *cr = strstr(req + 17000, "\r\r\n");
    ck_assert_ptr_nonnull(cr);
    size_t at = (size_t)(cr - req);
    const struct seg s[] = {{0, (const uint8_t *)req, len}};
    struct res *whole = run_conv(s, 1, M_WHOLE, 0);
    ck_assert(!whole->stopped);
    ck_assert_uint_eq(whole->nrec, 2);
    ck_assert_str_eq(whole->recs[1].path, "/next");
    for (size_t cut = at - 4; cut < at + 6; cut++) {
        struct res *c = run_conv(s, 1, M_CUT, cut);
        same_dump(whole, c, "cut", cut);
        res_free(c);
    }
    res_free(whole);
    free(req);
}
END_TEST

START_TEST(test_garbage_and_versions)
{
    static const char *const bad_req[] = {
        "GET /\r\n",                              /* HTTP/0.9 */
        "GET / HTTP/2.0\r\n\r\n",                 /* not 1.x */
        "\x16\x03\x01\x00\x05hello",              /* TLS on port 80 */
        "GET / HTTP/1.1 extra\r\n\r\n",
        "G\x01T / HTTP/1.1\r\n\r\n",
        " GET / HTTP/1.1\r\n\r\n",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    static const char *const reasons[] = {
        "http/0.9 request", "http unsupported version", "http bad request line",
        "http bad request line", "http bad request line", "http bad request line",
        "http bad request line",
    };
    for (size_t i = 0; i < sizeof bad_req / sizeof bad_req[0]; i++) {
        const struct seg s[] = {{0, (const uint8_t *)bad_req[i], strlen(bad_req[i])}};
        struct res *R = run_all(s, 1, 1);
        ck_assert_msg(R->stopped && R->status == DIS_ERR, "input %zu", i);
        ck_assert_str_eq(R->reason, reasons[i]);
        ck_assert_uint_eq(R->nrec, 0);
        res_free(R);
    }
    /* a server that answers HTTP/0.9-style (no status line) */
    const struct seg s09[] = {CLI("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), SRV("<html>hi</html>")};
    struct res *R = run_all(s09, NSEG(s09), 1);
    ck_assert_str_eq(R->reason, "http bad status line");
    ck_assert_uint_eq(R->nrec, 1); /* the request, unanswered */
    res_free(R);
    /* a lowercase HTTP-name is tolerated (shape of Zeek's http-lower-case-nonstandard-port) */
    const struct seg lc[] = {
        CLI("GET /index.html HTTP/1.1\r\nHost: 146.190.62.39\r\n\r\n"),
        SRV("http/1.1 200 OK\r\nServer: nginx/1.18.0 (Ubuntu)\r\nTransfer-Encoding: chunked\r\n\r\n"
            "4\r\nabcd\r\n0\r\n\r\n"),
    };
    R = run_all(lc, NSEG(lc), 1);
    ck_assert(!R->stopped);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_uint_eq(R->recs[0].status, 200);
    ck_assert_uint_eq(R->recs[0].resp_body_bytes, 4);
    res_free(R);
    const struct seg s2[] = {CLI("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), SRV("HTTP/1.1 2xx OK\r\n\r\n")};
    R = run_all(s2, NSEG(s2), 1);
    ck_assert_str_eq(R->reason, "http bad status line");
    res_free(R);
}
END_TEST

START_TEST(test_midstream_response_only)
{
    /* one-sided capture: only server bytes */
    const struct seg s[] = {
        SRV("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: sid=abc123\r\n\r\nhi"
            "HTTP/1.1 302 Found\r\nLocation: https://example.com/\r\nContent-Length: 0\r\n\r\n"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(R->nrec, 2);
    ck_assert(R->recs[0].flags & HTTP_F_UNPAIRED);
    ck_assert_str_eq(R->recs[0].method, "");
    ck_assert_uint_eq(R->recs[0].status, 200);
    ck_assert_uint_eq(R->recs[0].ts_usec, 1000000);
    ck_assert_uint_eq(count_kind(R, "http.plaintext"), 1);
    ck_assert_uint_eq(count_kind(R, "http.cookie_in_clear"), 1);
    /* no request host: the redirect cannot be called same-host */
    ck_assert_uint_eq(count_kind(R, "http.redirect_to_https"), 0);
    assert_absent(R, "abc123");
    res_free(R);
}
END_TEST

START_TEST(test_pipeline_overflow)
{
    enum { N = HTTP_PIPELINE_MAX + 4 };
    char reqs[N * 64], resps[N * 64];
    size_t rl = 0, sl = 0;
    for (int i = 0; i < N; i++) {
        rl += (size_t)snprintf(reqs + rl, sizeof reqs - rl, "%s /r%d HTTP/1.1\r\nHost: h\r\n\r\n",
                              i == N - 1 ? "HEAD" : "GET", i);
        sl += (size_t)snprintf(resps + sl, sizeof resps - sl, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%.*s",
                              i == N - 1 ? 0 : 1, i == N - 1 ? 0 : 1, "x");
    }
    const struct seg s[] = {{0, (const uint8_t *)reqs, rl}, {1, (const uint8_t *)resps, sl}};
    struct res *R = run_all(s, NSEG(s), 7);
    ck_assert(!R->stopped);
    ck_assert_uint_eq(R->nrec, N);
    for (int i = 0; i < (int)HTTP_PIPELINE_MAX; i++) {
        char p[16];
        snprintf(p, sizeof p, "/r%d", i);
        ck_assert_str_eq(R->recs[i].path, p);
        ck_assert_uint_eq(R->recs[i].flags & HTTP_F_OVERFLOW, 0);
    }
    for (int i = HTTP_PIPELINE_MAX; i < N; i++) {
        ck_assert(R->recs[i].flags & HTTP_F_OVERFLOW);
        ck_assert_uint_eq(R->recs[i].status, 200);
    }
    res_free(R);
}
END_TEST

START_TEST(test_queue_growth_mid_response)
{
    /* the queue grows (2 → 4 → 8 slots) while a response body is being read */
    const struct seg s[] = {
        CLI("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345"),
        CLI("GET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n"
            "GET /d HTTP/1.1\r\nHost: h\r\n\r\nGET /e HTTP/1.1\r\nHost: h\r\n\r\n"
            "GET /f HTTP/1.1\r\nHost: h\r\n\r\n"),
        SRV("67890HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\ncc"),
        CLI("GET /g HTTP/1.1\r\nHost: h\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nddd"
            "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\neeee"
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfffff"
            "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\ngggggg"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert(!R->stopped);
    ck_assert_uint_eq(R->nrec, 7);
    for (size_t i = 0; i < 7; i++) {
        char p[4] = {'/', (char)('a' + i), 0, 0};
        ck_assert_str_eq(R->recs[i].path, p);
        ck_assert_uint_eq(R->recs[i].resp_body_bytes, i == 0 ? 10 : i);
        ck_assert_uint_eq(R->recs[i].flags, 0);
    }
    res_free(R);
}
END_TEST

START_TEST(test_gap)
{
    struct run x;
    const char *a = "POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789";
    const char *b = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
    run_init(&x);
    x.ts = 5;
    feed(&x, 0, (const uint8_t *)a, strlen(a));
    ck_assert_int_eq(gap(&x, 0, 90), DIS_OK);
    feed(&x, 0, (const uint8_t *)b, strlen(b));
    ck_assert(!x.R->stopped);
    /* a gap in a head cannot be resynced */
    feed(&x, 1, (const uint8_t *)"HTTP/1.1 200 OK\r\nContent-", 26);
    ck_assert_int_eq(gap(&x, 1, 10), DIS_DONE);
    struct res *R = run_finish(&x, false);
    ck_assert_uint_eq(R->nrec, 2);
    ck_assert(R->recs[0].flags & HTTP_F_TRUNCATED);
    ck_assert_uint_eq(R->recs[0].req_body_bytes, 100);
    ck_assert_str_eq(R->recs[1].path, "/next");
    res_free(R);

    /* gap in a close-delimited response body: counted */
    run_init(&x);
    feed(&x, 0, (const uint8_t *)"GET / HTTP/1.0\r\n\r\n", 18);
    feed(&x, 1, (const uint8_t *)"HTTP/1.0 200 OK\r\n\r\nab", 21);
    ck_assert_int_eq(gap(&x, 1, 1000), DIS_OK);
    feed(&x, 1, (const uint8_t *)"cd", 2);
    R = run_finish(&x, true);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_uint_eq(R->recs[0].resp_body_bytes, 1004);
    ck_assert(R->recs[0].flags & HTTP_F_TRUNCATED);
    res_free(R);
}
END_TEST

START_TEST(test_field_bounds)
{
    char req[3000];
    char host[600];
    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    int n = snprintf(req, sizeof req,
                     "GET /%0900d?q=1 HTTP/1.1\r\nHost: %s:99999\r\nUser-Agent: a\x01\x7f\xff b\r\n\r\n",
                     0, host);
    ck_assert(n > 0 && (size_t)n < sizeof req);
    const struct seg s[] = {{0, (const uint8_t *)req, (size_t)n}};
    struct res *R = run_conv(s, 1, M_WHOLE, 0);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_uint_eq(strlen(R->recs[0].host), HTTP_HOST_MAX - 1);
    ck_assert_uint_eq(R->recs[0].port, 0); /* 99999 is no port */
    ck_assert_uint_eq(strlen(R->recs[0].path), HTTP_PATH_MAX - 1);
    ck_assert_str_eq(R->recs[0].user_agent, "a??? b");
    res_free(R);
}
END_TEST

START_TEST(test_target_forms_and_ipv6)
{
    /* curl -g http://[::1]:8080/ (shape of pcaps/http-get-ipv6.pcap), OPTIONS *, an absolute
     * target without path, a bare-LF request */
    const struct seg s[] = {
        CLI("GET /v6 HTTP/1.1\r\nHost: [::1]:8080\r\nUser-Agent: curl/7.88.1\r\n\r\n"
            "OPTIONS * HTTP/1.1\r\nHost: [::1]\r\n\r\n"
            "GET http://Proxy.Example HTTP/1.1\r\n\r\n"
            "\nGET /lf HTTP/1.0\nHost: lf.example\n\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nAllow: GET\r\n"
            "Content-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
            "HTTP/1.0 200 OK\nContent-Length: 1\n\nx"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert(!R->stopped);
    ck_assert_uint_eq(R->nrec, 4);
    ck_assert_str_eq(R->recs[0].host, "[::1]");
    ck_assert_uint_eq(R->recs[0].port, 8080);
    ck_assert_str_eq(R->recs[1].method, "OPTIONS");
    ck_assert_str_eq(R->recs[1].path, "*");
    ck_assert_uint_eq(R->recs[1].port, 0);
    ck_assert_str_eq(R->recs[2].host, "proxy.example");
    ck_assert_str_eq(R->recs[2].path, "/");
    ck_assert(R->recs[2].flags & HTTP_F_ROOT_PATH);
    ck_assert_str_eq(R->recs[3].host, "lf.example");
    ck_assert_uint_eq(R->recs[3].resp_body_bytes, 1);
    res_free(R);
}
END_TEST

START_TEST(test_framing_errors)
{
    static const char *const resp[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1234567890abcdef0\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n",
        "HTTP/1.1 0200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        "HTTP/1.1200 OK\r\n\r\n",
    };
    static const char *const why[] = {
        "http bad content-length", "http bad chunk size", "http bad chunk size",
        "http bad chunk size", "http bad status line", "http bad status line",
        "http unsupported version", "http bad status line",
    };
    for (size_t i = 0; i < sizeof resp / sizeof resp[0]; i++) {
        const struct seg s[] = {CLI("GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
                                {1, (const uint8_t *)resp[i], strlen(resp[i])}};
        struct res *R = run_all(s, NSEG(s), 1);
        ck_assert_msg(R->status == DIS_ERR, "response %zu", i);
        ck_assert_str_eq(R->reason, why[i]);
        ck_assert_uint_eq(R->nrec, 1);
        res_free(R);
    }
    /* a chunk-size line over HTTP_CHUNK_LINE_MAX, a trailer section over HTTP_HEAD_MAX */
    size_t big = HTTP_HEAD_MAX + 2000;
    char *b = malloc(big + 200);
    ck_assert_ptr_nonnull(b);
    int n = sprintf(b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;");
    memset(b + n, 'e', HTTP_CHUNK_LINE_MAX);
    strcpy(b + n + HTTP_CHUNK_LINE_MAX, "\r\nx\r\n0\r\n\r\n");
    const struct seg c1[] = {CLI("GET / HTTP/1.1\r\n\r\n"), {1, (const uint8_t *)b, strlen(b)}};
    struct res *R = run_all(c1, NSEG(c1), 97);
    ck_assert_str_eq(R->reason, "http chunk-size line too long");
    res_free(R);
    n = sprintf(b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 1 ;a=b\r\nx\r\n0\r\n");
    for (size_t k = 0; k < big / 100; k++)
        n += snprintf(b + n, big + 200 - (size_t)n, "T: %095d\r\n", 0);
    strcpy(b + n, "\r\n");
    const struct seg c2[] = {CLI("GET / HTTP/1.1\r\n\r\n"), {1, (const uint8_t *)b, strlen(b)}};
    R = run_all(c2, NSEG(c2), 397);
    ck_assert_str_eq(R->reason, "http chunked trailer too large");
    ck_assert_uint_eq(R->recs[0].resp_body_bytes, 1);
    res_free(R);
    free(b);

    /* an oversized interim response, then the final one */
    char *ir = make_big_head(17000, "HTTP/1.1 103 Early Hints\r\n",
                             "\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    const struct seg c3[] = {CLI("GET / HTTP/1.1\r\n\r\n"), {1, (const uint8_t *)ir, strlen(ir)}};
    R = run_all(c3, NSEG(c3), 211);
    ck_assert(!R->stopped);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_uint_eq(R->recs[0].status, 200);
    ck_assert_uint_eq(R->recs[0].flags & HTTP_F_RESP_HEAD_TOO_LARGE, 0);
    res_free(R);
    free(ir);

    /* a leading CR not followed by LF is no empty line */
    const struct seg c4[] = {CLI("\rGET / HTTP/1.1\r\n\r\n")};
    R = run_all(c4, NSEG(c4), 1);
    ck_assert_str_eq(R->reason, "http bad request line");
    res_free(R);
}
END_TEST

START_TEST(test_after_done_and_bad_dir)
{
    struct run x;
    const char *a = "CONNECT h:443 HTTP/1.1\r\n\r\n";
    const char *b = "HTTP/1.1 200 OK\r\n\r\n";
    run_init(&x);
    feed(&x, 0, (const uint8_t *)a, strlen(a));
    feed(&x, 1, (const uint8_t *)b, strlen(b));
    ck_assert_int_eq(x.R->status, DIS_DONE);
    /* the driver closed it at DIS_DONE and takes nothing more */
    ck_assert_int_eq(drv_state(&x.drv), DRV_FINISHED);
    ck_assert(!drv_wants(&x.drv, 0) && !drv_wants(&x.drv, 1));
    feed(&x, 0, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18);
    struct res *R = run_finish(&x, true);
    ck_assert_uint_eq(R->nrec, 1);
    char stop_close[32]; /* the product closes the dissector at DIS_DONE */
    snprintf(stop_close, sizeof stop_close, "STOP %d -\nCLOSE\n", (int)DIS_DONE);
    ck_assert_msg(strstr(R->dump, stop_close), "%s", R->dump);
    res_free(R);

    /* the dissector called again anyway (its contract, outside the driver): consumes
     * everything, stays done, emits nothing more */
    R = calloc(1, sizeof *R);
    ck_assert_ptr_nonnull(R);
    struct dis_sink sink = {.ud = R, .finding = sink_finding, .http_request = sink_http, .label = sink_label};
    struct dis_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.sink = &sink;
    ctx.flow_id = 7;
    ctx.want[0] = ctx.want[1] = true;
    void *st = http_dissector.state_new(NULL);
    ck_assert_ptr_nonnull(st);
    size_t consumed = 0;
    ck_assert_int_eq(http_dissector.on_data(st, 0, (struct bytes){(const uint8_t *)a, strlen(a)}, &consumed, &ctx),
                     DIS_OK);
    ck_assert_uint_eq(consumed, strlen(a));
    ck_assert_int_eq(http_dissector.on_data(st, 1, (struct bytes){(const uint8_t *)b, strlen(b)}, &consumed, &ctx),
                     DIS_DONE);
    struct bytes in = {(const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18};
    ck_assert_int_eq(http_dissector.on_data(st, 0, in, &consumed, &ctx), DIS_DONE);
    ck_assert_uint_eq(consumed, 18);
    ck_assert_int_eq(http_dissector.on_gap(st, 1, 5, &ctx), DIS_DONE);
    http_dissector.on_close(st, &ctx);
    ck_assert_int_eq(http_dissector.on_data(st, 2, in, &consumed, &ctx), DIS_ERR);
    ck_assert_str_eq(ctx.err_reason, "http bad direction");
    http_dissector.state_free(st);
    ck_assert_uint_eq(R->nrec, 1);
    res_free(R);

    /* gap inside response chunk data and while the client is held after CONNECT */
    run_init(&x);
    feed(&x, 0, (const uint8_t *)"CONNECT h:443 HTTP/1.1\r\n\r\n\x16\x03", 28);
    ck_assert_int_eq(gap(&x, 0, 100), DIS_OK);
    const char *c = "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123";
    feed(&x, 1, (const uint8_t *)c, strlen(c));
    ck_assert_int_eq(gap(&x, 1, 12), DIS_OK);
    feed(&x, 1, (const uint8_t *)"\r\n0\r\n\r\n", 7);
    feed(&x, 0, (const uint8_t *)"GET /after HTTP/1.1\r\n\r\n", 23);
    ck_assert(!x.R->stopped);
    R = run_finish(&x, true);
    ck_assert_uint_eq(R->nrec, 2);
    ck_assert_uint_eq(R->recs[0].status, 403);
    ck_assert_uint_eq(R->recs[0].resp_body_bytes, 16);
    ck_assert(R->recs[0].flags & HTTP_F_TRUNCATED);
    ck_assert_str_eq(R->recs[1].path, "/after");
    res_free(R);

    /* a response without request whose body runs until close */
    const struct seg u[] = {SRV("HTTP/1.0 200 OK\r\n\r\nabc")};
    R = run_all(u, NSEG(u), 1);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert(R->recs[0].flags & HTTP_F_UNPAIRED);
    ck_assert_uint_eq(R->recs[0].resp_body_bytes, 3);
    res_free(R);
}
END_TEST

/* ---- verdicts ---- */

START_TEST(test_plaintext_once_and_query)
{
    const struct seg s[] = {
        CLI("GET /search?q=topsecret&token=abcdef HTTP/1.1\r\nHost: Www.Example.Org\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        CLI("GET /other HTTP/1.1\r\nHost: www.example.org\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(count_kind(R, "http.plaintext"), 1);
    const struct finding *f = get_kind(R, "http.plaintext");
    ck_assert_int_eq(f->severity, NZ_SEV_LOW);
    ck_assert(contains(f->evidence, "\"host\":\"www.example.org\""));
    ck_assert(contains(f->evidence, "\"method\":\"GET\""));
    ck_assert(contains(f->evidence, "\"path\":\"/search\""));
    ck_assert(contains(f->summary, "www.example.org/search"));
    ck_assert_str_eq(R->recs[0].path, "/search");
    assert_absent(R, "topsecret");
    assert_absent(R, "abcdef");
    assert_absent(R, "q=");
    res_free(R);
}
END_TEST

/* Path parameters (RFC 3986 §3.3 ";"; Tomcat's ;jsessionid=, PHP's ;PHPSESSID=) carry session
 * tokens: they are cut from every segment like a query string, in the request path, the
 * Location, the evidence and the summaries. */
START_TEST(test_path_params_stripped)
{
    const struct seg s[] = {
        CLI("GET /shop;jsessionid=TOKEN1A/cart;JSESSIONID=TOKEN1B HTTP/1.1\r\nHost: a.example\r\n\r\n"),
        SRV("HTTP/1.1 302 Found\r\nLocation: https://a.example/login;PHPSESSID=TOKEN2A?next=TOKEN2B\r\n"
            "Content-Length: 0\r\n\r\n"),
        CLI("GET /x;sid=TOKEN3A;v=1 HTTP/1.1\r\nHost: a.example\r\n\r\n"),
        SRV("HTTP/1.1 301 Moved\r\nLocation: /y;jsessionid=TOKEN4A\r\nContent-Length: 0\r\n\r\n"),
        CLI("GET http://a.example/;jsessionid=TOKEN5A HTTP/1.1\r\nHost: a.example\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        CLI("GET ;TOKEN6A HTTP/1.1\r\nHost: a.example\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(R->nrec, 4);
    ck_assert_str_eq(R->recs[0].path, "/shop/cart");
    ck_assert_str_eq(R->recs[0].location, "https://a.example/login");
    ck_assert_str_eq(R->recs[1].path, "/x");
    ck_assert_str_eq(R->recs[1].location, "/y");
    ck_assert_str_eq(R->recs[2].path, "/");
    ck_assert(R->recs[2].flags & HTTP_F_ROOT_PATH);
    ck_assert_str_eq(R->recs[3].path, "");
    const struct finding *f = get_kind(R, "http.plaintext");
    ck_assert(contains(f->evidence, "\"path\":\"/shop/cart\""));
    ck_assert(contains(f->summary, "a.example/shop/cart"));
    const char *const tokens[] = {"TOKEN1A", "TOKEN1B", "TOKEN2A", "TOKEN2B", "TOKEN3A", "TOKEN4A",
                                  "TOKEN5A", "TOKEN6A", "jsessionid", "JSESSIONID", "PHPSESSID", "sid=", ";"};
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
        assert_absent(R, tokens[i]);
    res_free(R);
}
END_TEST

START_TEST(test_basic_auth)
{
    /* curl -u alice:hunter2 (shape of pcaps/http/http-basic-auth.pcap): first without, 401, then with */
    const struct seg s[] = {
        CLI("GET /private/ HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\n"
            "Accept: */*\r\n\r\n"),
        SRV("HTTP/1.1 401 Unauthorized\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n"
            "Content-Length: 5\r\nWWW-Authenticate: Basic realm=\"private\"\r\n\r\ndenied"),
        CLI("GET /private/ HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
            "Authorization: Basic YWxpY2U6aHVudGVyMg==\r\nUser-Agent: curl/7.88.1\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        CLI("GET /private/again HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
            "authorization: basic YWxpY2U6aHVudGVyMg==\r\n\r\n"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    /* "denied" is 6 bytes for a Content-Length of 5: the stray byte ends the flow as garbage */
    ck_assert_int_eq(R->status, DIS_ERR);
    res_free(R);

    const struct seg s2[] = {
        s[0],
        SRV("HTTP/1.1 401 Unauthorized\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n"
            "Content-Length: 6\r\nWWW-Authenticate: Basic realm=\"private\"\r\n\r\ndenied"),
        s[2], s[3], s[4],
    };
    R = run_all(s2, NSEG(s2), 1);
    ck_assert(!R->stopped);
    ck_assert_uint_eq(R->nrec, 3);
    /* the challenge alone is no credential */
    ck_assert_uint_eq(R->recs[0].flags & HTTP_F_BASIC_AUTH, 0);
    ck_assert(R->recs[1].flags & HTTP_F_BASIC_AUTH);
    ck_assert_str_eq(R->recs[1].auth_user, "alice");
    ck_assert_str_eq(R->recs[1].auth_scheme, "Basic");
    ck_assert(R->recs[2].flags & HTTP_F_BASIC_AUTH);
    ck_assert_uint_eq(count_kind(R, "http.basic_auth"), 1); /* same user: once per flow */
    const struct finding *f = get_kind(R, "http.basic_auth");
    ck_assert_int_eq(f->severity, NZ_SEV_HIGH);
    ck_assert(contains(f->evidence, "\"user\":\"alice\""));
    ck_assert(contains(f->summary, "alice"));
    ck_assert_uint_eq(f->ts_usec, 1000002);
    assert_absent(R, "hunter2");
    assert_absent(R, "YWxpY2U6aHVudGVyMg==");
    assert_absent(R, "YWxpY2U6aHVudGVyMg");
    assert_absent(R, "aHVudGVyMg"); /* base64 of the password alone */
    assert_absent(R, "HVudGVyMg");
    assert_absent(R, "dW50ZXIy");
    res_free(R);
}
END_TEST

START_TEST(test_basic_auth_odd_blobs)
{
    /* no ':' in the blob (it might be all secret): user unknown, still a verdict; an empty user;
     * garbage */
    const struct seg s[] = {
        CLI("GET /1 HTTP/1.1\r\nHost: h\r\nAuthorization: Basic aHVudGVyMg==\r\n\r\n"
            "GET /2 HTTP/1.1\r\nHost: h\r\nAuthorization: Basic Omh1bnRlcjI=\r\n\r\n"
            "GET /3 HTTP/1.1\r\nHost: h\r\nAuthorization: Basic !!!!\r\n\r\n"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(R->nrec, 3);
    ck_assert_str_eq(R->recs[0].auth_user, "");
    ck_assert(R->recs[0].flags & HTTP_F_BASIC_AUTH);
    ck_assert_str_eq(R->recs[1].auth_user, "");
    ck_assert_uint_eq(count_kind(R, "http.basic_auth"), 2); /* unknown user, user "" */
    assert_absent(R, "hunter2");
    assert_absent(R, "aHVudGVyMg");
    assert_absent(R, "Omh1bnRlcjI");
    res_free(R);
}
END_TEST

START_TEST(test_auth_in_clear)
{
    const struct seg s[] = {
        CLI("GET /dir/index.html HTTP/1.1\r\nHost: www.example.com\r\n"
            "Authorization: Digest username=\"Mufasa\", realm=\"http-auth@example.org\", "
            "uri=\"/dir/index.html\", nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
            "response=\"8ca523f5e9506fed4657c9700eebdec6\"\r\n\r\n"
            "GET /ntlm HTTP/1.1\r\nHost: www.example.com\r\n"
            "Authorization: NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==\r\n\r\n"
            "GET /neg HTTP/1.1\r\nHost: www.example.com\r\n"
            "Authorization: Negotiate TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==\r\n\r\n"
            "GET /krb HTTP/1.1\r\nHost: www.example.com\r\n"
            "Authorization: Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnagMDAuBgkqhkiC9xIBAgIGCSqGSIb3\r\n\r\n"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(R->nrec, 4);
    ck_assert_str_eq(R->recs[0].auth_scheme, "Digest");
    ck_assert_str_eq(R->recs[0].auth_user, "Mufasa");
    ck_assert(R->recs[0].flags & HTTP_F_OTHER_AUTH);
    ck_assert_str_eq(R->recs[1].auth_scheme, "NTLM");
    ck_assert_str_eq(R->recs[2].auth_scheme, "Negotiate-NTLM");
    /* Kerberos inside Negotiate: near miss */
    ck_assert_str_eq(R->recs[3].auth_scheme, "");
    ck_assert_uint_eq(R->recs[3].flags & HTTP_F_OTHER_AUTH, 0);
    ck_assert_uint_eq(count_kind(R, "http.auth_in_clear"), 3);
    ck_assert_uint_eq(count_kind(R, "http.basic_auth"), 0);
    ck_assert_int_eq(get_kind(R, "http.auth_in_clear")->severity, NZ_SEV_MEDIUM);
    ck_assert(contains(get_kind(R, "http.auth_in_clear")->evidence, "\"user\":\"Mufasa\""));
    assert_absent(R, "8ca523f5");
    assert_absent(R, "TlRMTVNT");
    res_free(R);
    const struct seg b[] = {CLI("GET /api HTTP/1.1\r\nHost: api.example\r\n"
                                "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig\r\n\r\n")};
    R = run_all(b, NSEG(b), 1);
    ck_assert_str_eq(R->recs[0].auth_scheme, "Bearer");
    ck_assert_uint_eq(count_kind(R, "http.auth_in_clear"), 1);
    assert_absent(R, "eyJhbGciOiJIUzI1NiJ9");
    res_free(R);
}
END_TEST

START_TEST(test_form_credentials)
{
    /* curl --data 'username=alice&password=hunter2' (shape of the login POST in
     * pcaps/http/http-form-login.pcap) */
    const struct seg s[] = {
        CLI("POST /login HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\n"
            "Accept: */*\r\nContent-Length: 31\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
            "username=alice&password=hunter2"),
        SRV("HTTP/1.1 302 Found\r\nLocation: /home\r\nContent-Length: 0\r\n\r\n"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert(R->recs[0].flags & HTTP_F_FORM_CREDS);
    ck_assert_str_eq(R->recs[0].form_field, "password");
    ck_assert_str_eq(R->recs[0].location, "/home");
    const struct finding *f = get_kind(R, "http.form_credentials");
    ck_assert_int_eq(f->severity, NZ_SEV_HIGH);
    ck_assert(contains(f->evidence, "\"field\":\"password\""));
    ck_assert(contains(f->evidence, "\"path\":\"/login\""));
    ck_assert_uint_eq(count_kind(R, "http.redirect_to_https"), 0);
    assert_absent(R, "hunter2");
    res_free(R);

    /* multipart (curl -F user=alice -F 'user[pass]=hunter2'), sent chunked in 37-byte chunks */
    static const char mp[] = "--------------------------d74496d66958873e\r\n"
                             "Content-Disposition: form-data; name=\"user\"\r\n\r\nalice\r\n"
                             "--------------------------d74496d66958873e\r\n"
                             "Content-Disposition: form-data; name=\"user[pass]\"\r\n\r\nhunter2\r\n"
                             "--------------------------d74496d66958873e--\r\n";
    char mreq[1024];
    size_t ml = (size_t)snprintf(mreq, sizeof mreq,
                                 "POST /signin HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                                 "Content-Type: multipart/form-data; "
                                 "boundary=------------------------d74496d66958873e\r\n\r\n");
    for (size_t off = 0; off < sizeof mp - 1; off += 37) {
        size_t k = sizeof mp - 1 - off < 37 ? sizeof mp - 1 - off : 37;
        ml += (size_t)snprintf(mreq + ml, sizeof mreq - ml, "%zx\r\n%.*s\r\n", k, (int)k, mp + off);
    }
    ml += (size_t)snprintf(mreq + ml, sizeof mreq - ml, "0\r\n\r\n");
    ck_assert_uint_lt(ml, sizeof mreq);
    const struct seg m[] = {{0, (const uint8_t *)mreq, ml}};
    R = run_all(m, NSEG(m), 1);
    ck_assert_uint_eq(R->recs[0].req_body_bytes, sizeof mp - 1);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_msg(R->recs[0].flags & HTTP_F_FORM_CREDS, "%s", R->dump);
    ck_assert_str_eq(R->recs[0].form_field, "user[pass]");
    assert_absent(R, "hunter2");
    res_free(R);
}
END_TEST

START_TEST(test_form_near_misses)
{
    const struct seg s[] = {
        /* name not password-like */
        CLI("POST /a HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 31\r\n\r\npasswordless=1&bypass=1&compass"),
        /* password-like name but JSON (not a form) */
        CLI("POST /b HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
            "Content-Length: 22\r\n\r\n{\"password\":\"hunter2\"}"),
        /* a field name without '=' */
        CLI("POST /c HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 8\r\n\r\npassword"),
        /* form content type on GET without body */
        CLI("GET /d?x=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(R->nrec, 4);
    ck_assert_uint_eq(count_kind(R, "http.form_credentials"), 0);
    for (size_t i = 0; i < R->nrec; i++)
        ck_assert_uint_eq(R->recs[i].flags & HTTP_F_FORM_CREDS, 0);
    assert_absent(R, "hunter2");
    res_free(R);

    /* password field past the peek: not found (documented) */
    size_t pad = HTTP_FORM_PEEK;
    char *body = malloc(pad + 64);
    ck_assert_ptr_nonnull(body);
    memcpy(body, "__VIEWSTATE=", 12);
    memset(body + 12, 'v', pad - 12);
    strcpy(body + pad, "&password=hunter2");
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "POST /aspx HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                      "Content-Length: %zu\r\n\r\n", strlen(body));
    const struct seg v[] = {{0, (const uint8_t *)head, (size_t)hl},
                            {0, (const uint8_t *)body, strlen(body)}};
    R = run_all(v, NSEG(v), 509);
    ck_assert_uint_eq(count_kind(R, "http.form_credentials"), 0);
    ck_assert_uint_eq(R->recs[0].req_body_bytes, strlen(body));
    res_free(R);
    /* just inside the peek: found */
    memcpy(body + pad - 40, "&pwd=x", 6);
    R = run_all(v, NSEG(v), 509);
    ck_assert_uint_eq(count_kind(R, "http.form_credentials"), 1);
    ck_assert_str_eq(R->recs[0].form_field, "pwd");
    res_free(R);
    free(body);
}
END_TEST

START_TEST(test_url_credentials)
{
    const struct seg s[] = {
        /* proxy-style absolute-form with user info (curl -x … http://alice:hunter2@…) */
        CLI("GET http://alice:hunter2@intranet.example:8081/report?password=hunter2&a=b HTTP/1.1\r\n"
            "Host: ignored.example\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        /* password-like parameter in an origin-form query */
        CLI("GET /login.php?user=bob&pwd=s3cr3t HTTP/1.1\r\nHost: app.example\r\n\r\n"),
        SRV("HTTP/1.1 302 Found\r\nLocation: http://carol:pa55@app.example/x?y=1\r\n"
            "Content-Length: 0\r\n\r\n"),
        CLI("GET /r HTTP/1.1\r\nHost: app.example\r\n\r\n"),
        SRV("HTTP/1.1 302 Found\r\nLocation: //sso.example/cb?passwd=zz9zz\r\nContent-Length: 0\r\n\r\n"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(R->nrec, 3);
    ck_assert_str_eq(R->recs[2].location, "//sso.example/cb");
    const struct http_request_rec *r = &R->recs[0];
    ck_assert_str_eq(r->host, "intranet.example"); /* absolute-form wins over Host */
    ck_assert_uint_eq(r->port, 8081);
    ck_assert_str_eq(r->path, "/report");
    ck_assert_str_eq(r->url_user, "alice");
    ck_assert_str_eq(r->url_param, "password");
    ck_assert(r->flags & HTTP_F_URL_CREDS);
    ck_assert_str_eq(R->recs[1].url_param, "pwd");
    ck_assert_str_eq(R->recs[1].location, "http://app.example/x");
    ck_assert(R->recs[1].flags & HTTP_F_URL_CREDS);
    ck_assert_uint_eq(count_kind(R, "http.url_credentials"), 5);
    ck_assert_int_eq(get_kind(R, "http.url_credentials")->severity, NZ_SEV_HIGH);
    ck_assert(contains(R->dump, "\"where\":\"location\",\"user\":\"carol\""));
    ck_assert(contains(R->dump, "\"where\":\"request-target\",\"param\":\"pwd\""));
    assert_absent(R, "hunter2");
    assert_absent(R, "s3cr3t");
    assert_absent(R, "pa55");
    assert_absent(R, "zz9zz");
    assert_absent(R, "user=bob");
    res_free(R);

    /* near misses: user info without password, parameter names that only look close, a
     * parameter without value */
    const struct seg n[] = {
        CLI("GET http://alice@intranet.example/ HTTP/1.1\r\nHost: x\r\n\r\n"
            "GET /p?passwordless=1&compass=2 HTTP/1.1\r\nHost: x\r\n\r\n"
            "GET /q?password HTTP/1.1\r\nHost: x\r\n\r\n"
            "GET http://bob:@intranet.example/ HTTP/1.1\r\nHost: x\r\n\r\n"),
    };
    R = run_all(n, NSEG(n), 1);
    ck_assert_uint_eq(R->nrec, 4);
    ck_assert_uint_eq(count_kind(R, "http.url_credentials"), 0);
    for (size_t i = 0; i < R->nrec; i++)
        ck_assert_uint_eq(R->recs[i].flags & HTTP_F_URL_CREDS, 0);
    res_free(R);
}
END_TEST

START_TEST(test_cookie_in_clear)
{
    const struct seg s[] = {
        CLI("GET / HTTP/1.1\r\nHost: shop.example\r\nCookie: old=valueNotStored\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nSet-Cookie: PHPSESSID=q1w2e3r4t5y6; path=/; HttpOnly\r\n"
            "Set-Cookie: lang=de\r\nSet-Cookie: broken-without-equals\r\nContent-Length: 0\r\n\r\n"),
        CLI("GET /cart HTTP/1.1\r\nHost: shop.example\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nSet-Cookie: PHPSESSID=zzzzzzzzzz; Secure\r\nContent-Length: 0\r\n\r\n"),
        CLI("GET /x HTTP/1.1\r\nHost: shop.example\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nSet-Cookie: cart=9f8e7d\r\nContent-Length: 0\r\n\r\n"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(R->nrec, 3);
    ck_assert_str_eq(R->recs[0].cookie_names, "PHPSESSID,lang");
    ck_assert(R->recs[0].flags & HTTP_F_SET_COOKIE);
    ck_assert_uint_eq(R->recs[0].flags & HTTP_F_COOKIE_SECURE, 0);
    ck_assert(R->recs[1].flags & HTTP_F_COOKIE_SECURE);
    /* one verdict for the first response (two names), none for the repeat, one for "cart" */
    ck_assert_uint_eq(count_kind(R, "http.cookie_in_clear"), 2);
    const struct finding *f = get_kind(R, "http.cookie_in_clear");
    ck_assert_int_eq(f->severity, NZ_SEV_MEDIUM);
    ck_assert(contains(f->evidence, "{\"name\":\"PHPSESSID\",\"secure\":false,\"httponly\":true}"));
    ck_assert(contains(f->evidence, "{\"name\":\"lang\""));
    assert_absent(R, "q1w2e3r4t5y6");
    assert_absent(R, "zzzzzzzzzz");
    assert_absent(R, "9f8e7d");
    assert_absent(R, "valueNotStored");
    assert_absent(R, "=de");
    res_free(R);

    /* more cookies than the evidence lists: counted; names cut at the record's bound */
    char many[4096];
    size_t ml = (size_t)sprintf(many, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
    for (int i = 0; i < 40; i++)
        ml += (size_t)snprintf(many + ml, sizeof many - ml, "Set-Cookie: cookie_number_%02d=v%d\r\n", i, i);
    ml += (size_t)sprintf(many + ml, "\r\n");
    const struct seg mc[] = {CLI("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), {1, (const uint8_t *)many, ml}};
    R = run_all(mc, NSEG(mc), 13);
    ck_assert(contains(get_kind(R, "http.cookie_in_clear")->evidence, "\"more\":24"));
    ck_assert_uint_lt(strlen(R->recs[0].cookie_names), HTTP_COOKIES_MAX);
    ck_assert(contains(R->recs[0].cookie_names, "cookie_number_00,cookie_number_01"));
    res_free(R);

    /* near miss: only a Cookie request header, no Set-Cookie */
    const struct seg n[] = {
        CLI("GET / HTTP/1.1\r\nHost: shop.example\r\nCookie: sid=abc\r\n\r\n"),
        SRV("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    R = run_all(n, NSEG(n), 1);
    ck_assert_uint_eq(count_kind(R, "http.cookie_in_clear"), 0);
    ck_assert_str_eq(R->recs[0].cookie_names, "");
    res_free(R);
}
END_TEST

START_TEST(test_redirect_to_https)
{
    /* nginx "return 301 https://$host$request_uri" (shape of pcaps/http/http-redirect-to-https.pcap) */
    const struct seg s[] = {
        CLI("GET /?ref=mail HTTP/1.1\r\nHost: secure.example:8080\r\nUser-Agent: curl/7.88.1\r\n\r\n"),
        SRV("HTTP/1.1 301 Moved Permanently\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n"
            "Content-Length: 0\r\nLocation: https://Secure.Example/?ref=mail\r\n\r\n"),
    };
    struct res *R = run_all(s, NSEG(s), 1);
    ck_assert_uint_eq(R->nrec, 1);
    const struct http_request_rec *r = &R->recs[0];
    ck_assert(r->flags & HTTP_F_HTTPS_REDIRECT);
    ck_assert(r->flags & HTTP_F_ROOT_PATH);
    ck_assert_str_eq(r->location, "https://secure.example/");
    ck_assert_uint_eq(r->status, 301);
    const struct finding *f = get_kind(R, "http.redirect_to_https");
    ck_assert_int_eq(f->severity, NZ_SEV_INFO);
    ck_assert(contains(f->evidence, "\"location\":\"https://secure.example/\""));
    ck_assert(contains(f->evidence, "\"status\":301"));
    assert_absent(R, "ref=mail");
    res_free(R);

    /* near misses: another host, http://, 303, relative, 200 on "/" */
    const struct seg n[] = {
        CLI("GET / HTTP/1.1\r\nHost: a.example\r\n\r\nGET / HTTP/1.1\r\nHost: a.example\r\n\r\n"
            "GET / HTTP/1.1\r\nHost: a.example\r\n\r\nGET / HTTP/1.1\r\nHost: a.example\r\n\r\n"
            "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"),
        SRV("HTTP/1.1 301 Moved\r\nLocation: https://b.example/\r\nContent-Length: 0\r\n\r\n"
            "HTTP/1.1 302 Found\r\nLocation: http://a.example/x\r\nContent-Length: 0\r\n\r\n"
            "HTTP/1.1 303 See Other\r\nLocation: https://a.example/\r\nContent-Length: 0\r\n\r\n"
            "HTTP/1.1 307 Temporary\r\nLocation: /secure\r\nContent-Length: 0\r\n\r\n"
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    R = run_all(n, NSEG(n), 1);
    ck_assert_uint_eq(R->nrec, 5);
    ck_assert_uint_eq(count_kind(R, "http.redirect_to_https"), 0);
    for (size_t i = 0; i < R->nrec; i++)
        ck_assert_uint_eq(R->recs[i].flags & HTTP_F_HTTPS_REDIRECT, 0);
    /* what the lead needs for no_https_redirect: host, "/", 200 */
    ck_assert_str_eq(R->recs[4].host, "a.example");
    ck_assert(R->recs[4].flags & HTTP_F_ROOT_PATH);
    ck_assert_uint_eq(R->recs[4].status, 200);
    res_free(R);

    /* 308 with a port in the Location still counts (same host name) */
    const struct seg p[] = {
        CLI("GET /app HTTP/1.1\r\nHost: a.example\r\n\r\n"),
        SRV("HTTP/1.1 308 Permanent Redirect\r\nLocation: https://a.example:8443/app\r\n"
            "Content-Length: 0\r\n\r\n"),
    };
    R = run_all(p, NSEG(p), 1);
    ck_assert_uint_eq(count_kind(R, "http.redirect_to_https"), 1);
    ck_assert_str_eq(R->recs[0].location, "https://a.example:8443/app");
    res_free(R);
}
END_TEST

START_TEST(test_verdict_cap)
{
    /* a flow inventing user names cannot emit more than HTTP_VERDICTS_MAX verdicts */
    size_t cap = 64 * 80;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    size_t n = 0;
    for (int i = 0; i < 60; i++)
        n += (size_t)snprintf(buf + n, cap - n, "GET /%d?pass%d=x HTTP/1.1\r\nHost: h\r\n\r\n", i, i);
    const struct seg s[] = {{0, (const uint8_t *)buf, n}};
    struct res *R = run_conv(s, 1, M_WHOLE, 0);
    /* never answered: only the queued ones have records (the rest were counted) */
    ck_assert_uint_eq(R->nrec, HTTP_PIPELINE_MAX);
    ck_assert_uint_eq(count_kind(R, "http.url_credentials"), HTTP_VERDICTS_MAX);
    ck_assert_uint_eq(count_kind(R, "http.plaintext"), 1);
    res_free(R);
    free(buf);
}
END_TEST

/* ---- the recorded captures ---- */

START_TEST(test_pcap_basic_digest)
{
    struct res *R = run_all(pcap_basic_auth, NSEG(pcap_basic_auth), 1);
    ck_assert(!R->stopped);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_str_eq(R->recs[0].host, "www.netzwacht.test");
    ck_assert_str_eq(R->recs[0].path, "/private/");
    ck_assert_uint_eq(R->recs[0].status, 200);
    ck_assert_str_eq(R->recs[0].auth_user, "alice");
    ck_assert_uint_eq(R->recs[0].resp_body_bytes, 136);
    ck_assert_uint_eq(count_kind(R, "http.basic_auth"), 1);
    ck_assert_uint_eq(count_kind(R, "http.plaintext"), 1);
    assert_absent(R, "hunter2");
    assert_absent(R, "YWxpY2U6aHVudGVyMg");
    assert_absent(R, "aHVudGVyMg");
    res_free(R);

    R = run_all(pcap_digest_auth, NSEG(pcap_digest_auth), 1);
    ck_assert_uint_eq(R->nrec, 2);
    ck_assert_uint_eq(R->recs[0].status, 401);
    ck_assert_str_eq(R->recs[1].auth_scheme, "Digest");
    ck_assert_str_eq(R->recs[1].auth_user, "alice");
    ck_assert_uint_eq(count_kind(R, "http.auth_in_clear"), 1);
    ck_assert_uint_eq(count_kind(R, "http.basic_auth"), 0);
    assert_absent(R, "6a5a89b59b5a5ace157c4d54b1efaf01");
    res_free(R);
}
END_TEST

START_TEST(test_pcap_forms)
{
    struct res *R = run_all(pcap_form_login, NSEG(pcap_form_login), 1);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_str_eq(R->recs[0].method, "POST");
    ck_assert_str_eq(R->recs[0].form_field, "password");
    ck_assert_str_eq(R->recs[0].req_content_type, "application/x-www-form-urlencoded");
    ck_assert_uint_eq(R->recs[0].req_body_bytes, 31);
    ck_assert_uint_eq(R->recs[0].status, 302);
    ck_assert_str_eq(R->recs[0].cookie_names, "session,lang");
    ck_assert_uint_eq(count_kind(R, "http.form_credentials"), 1);
    ck_assert_uint_eq(count_kind(R, "http.cookie_in_clear"), 1);
    ck_assert_uint_eq(count_kind(R, "http.redirect_to_https"), 0); /* Location is http:// */
    assert_absent(R, "hunter2");
    assert_absent(R, "6e7a2d73657373696f6e2d616c696365"); /* the session cookie's value */
    res_free(R);

    R = run_all(pcap_form_multipart, NSEG(pcap_form_multipart), 1);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_str_eq(R->recs[0].form_field, "password");
    ck_assert_str_eq(R->recs[0].req_content_type, "multipart/form-data");
    ck_assert_uint_eq(R->recs[0].req_body_bytes, 252);
    ck_assert_str_eq(R->recs[0].location, "/account");
    ck_assert_uint_eq(count_kind(R, "http.form_credentials"), 1);
    assert_absent(R, "hunter2");
    res_free(R);
}
END_TEST

START_TEST(test_pcap_framing)
{
    struct res *R = run_all(pcap_keepalive_chunked, NSEG(pcap_keepalive_chunked), 1);
    ck_assert(!R->stopped);
    ck_assert_uint_eq(R->nrec, 3);
    ck_assert_str_eq(R->recs[0].path, "/style.css");
    ck_assert_str_eq(R->recs[1].path, "/robots.txt");
    ck_assert_str_eq(R->recs[2].path, "/chunked/");
    ck_assert_uint_eq(R->recs[2].resp_body_bytes, 2126);
    ck_assert_uint_eq(count_kind(R, "http.plaintext"), 1);
    res_free(R);

    R = run_all(pcap_head_204_304, NSEG(pcap_head_204_304), 1);
    ck_assert(!R->stopped);
    ck_assert_uint_eq(R->nrec, 4);
    ck_assert_str_eq(R->recs[0].method, "HEAD");
    ck_assert_uint_eq(R->recs[0].resp_body_bytes, 0);
    ck_assert_uint_eq(R->recs[1].status, 204);
    ck_assert_uint_eq(R->recs[2].status, 304);
    ck_assert_uint_eq(R->recs[3].status, 200);
    ck_assert_uint_eq(R->recs[3].resp_body_bytes, 34);
    res_free(R);

    R = run_all(pcap_pipelined, NSEG(pcap_pipelined), 1);
    ck_assert_uint_eq(R->nrec, 2);
    ck_assert_str_eq(R->recs[0].path, "/index.html");
    ck_assert_str_eq(R->recs[1].path, "/robots.txt");
    ck_assert_uint_eq(R->recs[1].resp_body_bytes, 34);
    ck_assert_str_eq(R->recs[1].user_agent, "rawclient.py");
    res_free(R);

    R = run_all(pcap_ipv6, NSEG(pcap_ipv6), 1);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_uint_eq(R->recs[0].status, 200);
    res_free(R);

    R = run_all(pcap_port_8080, NSEG(pcap_port_8080), 1);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_uint_eq(R->recs[0].port, 8080);
    res_free(R);
}
END_TEST

START_TEST(test_pcap_redirects_and_urls)
{
    struct res *R = run_all(pcap_redirect_https, NSEG(pcap_redirect_https), 1);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_uint_eq(R->recs[0].status, 301);
    ck_assert_str_eq(R->recs[0].location, "https://shop.netzwacht.test/cart");
    ck_assert(R->recs[0].flags & HTTP_F_HTTPS_REDIRECT);
    ck_assert_uint_eq(count_kind(R, "http.redirect_to_https"), 1);
    res_free(R);

    /* the fact the lead's no_https_redirect needs: 200 for "/" on the host */
    R = run_all(pcap_no_https_redirect, NSEG(pcap_no_https_redirect), 1);
    ck_assert_uint_eq(R->nrec, 1);
    ck_assert_str_eq(R->recs[0].host, "plain.netzwacht.test");
    ck_assert_uint_eq(R->recs[0].status, 200);
    ck_assert(R->recs[0].flags & HTTP_F_ROOT_PATH);
    ck_assert_uint_eq(R->recs[0].flags & HTTP_F_HTTPS_REDIRECT, 0);
    ck_assert_uint_eq(count_kind(R, "http.redirect_to_https"), 0);
    res_free(R);

    /* curl turned alice:hunter2@ into Basic; the query parameter stays */
    R = run_all(pcap_url_creds_curl, NSEG(pcap_url_creds_curl), 1);
    ck_assert_str_eq(R->recs[0].url_param, "password");
    ck_assert_str_eq(R->recs[0].path, "/search");
    ck_assert_uint_eq(count_kind(R, "http.url_credentials"), 1);
    ck_assert_uint_eq(count_kind(R, "http.basic_auth"), 1);
    assert_absent(R, "hunter2");
    assert_absent(R, "netzwacht&");
    res_free(R);

    R = run_all(pcap_url_creds_raw, NSEG(pcap_url_creds_raw), 1);
    ck_assert_str_eq(R->recs[0].url_user, "alice");
    ck_assert_str_eq(R->recs[0].url_param, "password");
    ck_assert_uint_eq(R->recs[0].status, 400);
    ck_assert_uint_eq(count_kind(R, "http.url_credentials"), 2);
    assert_absent(R, "hunter2");
    res_free(R);
}
END_TEST

/* mem() is what the allocator holds for the state: the state and its queue, which grows
 * with pipelining (2 -> 4 -> 8 slots for 5 requests outstanding). */
START_TEST(test_mem_reports_heap)
{
    struct dis_sink sink = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    struct dis_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.sink = &sink;
    ctx.want[0] = ctx.want[1] = true;
#if defined(__SANITIZE_ADDRESS__)
    size_t h0 = 0; /* ASan's allocator is its own: only the queue arithmetic is checked */
#else
    size_t h0 = mallinfo2().uordblks;
#endif
    void *st = http_dissector.state_new(NULL);
    ck_assert_ptr_nonnull(st);
    size_t fresh = http_dissector.mem(st);
    if (h0) /* glibc's per-thread cache may hold a freed chunk or two: 4 KiB of slack */
        ck_assert_uint_le(mallinfo2().uordblks - h0 - fresh + 4096, 8192);
    static const char reqs[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                               "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
                               "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n"
                               "GET /4 HTTP/1.1\r\nHost: a\r\n\r\n"
                               "GET /5 HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t used = 0;
    ck_assert_int_eq(http_dissector.on_data(st, 0, (struct bytes){(const uint8_t *)reqs, sizeof reqs - 1}, &used,
                                            &ctx),
                     DIS_OK);
    ck_assert_uint_eq(used, sizeof reqs - 1);
    size_t grown = http_dissector.mem(st);
    ck_assert_uint_gt(grown, fresh);
    if (h0)
        ck_assert_uint_le(mallinfo2().uordblks - h0 - grown + 4096, 8192);
    http_dissector.on_close(st, &ctx);
    http_dissector.state_free(st);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc;

    tc = tcase_create("probe");
    tcase_add_test(tc, test_probe_request);
    tcase_add_test(tc, test_probe_long_target);
    tcase_add_test(tc, test_probe_response);
    suite_add_tcase(s, tc);

    tc = tcase_create("name_is_password");
    tcase_add_test(tc, test_name_rule);
    suite_add_tcase(s, tc);

    tc = tcase_create("on_data_framing");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_get_basic);
    tcase_add_test(tc, test_post_body_and_leading_crlf);
    tcase_add_test(tc, test_pipelining);
    tcase_add_test(tc, test_keepalive_chunked);
    tcase_add_test(tc, test_chunked_request_and_bad_chunk);
    tcase_add_test(tc, test_interim_1xx);
    tcase_add_test(tc, test_until_close);
    tcase_add_test(tc, test_connect_tunnel);
    tcase_add_test(tc, test_h2c_upgrade);
    tcase_add_test(tc, test_headers_fold_repeat_case);
    tcase_add_test(tc, test_oversized_head);
    tcase_add_test(tc, test_oversized_head_cr_split);
    tcase_add_test(tc, test_garbage_and_versions);
    tcase_add_test(tc, test_midstream_response_only);
    tcase_add_test(tc, test_pipeline_overflow);
    tcase_add_test(tc, test_queue_growth_mid_response);
    tcase_add_test(tc, test_field_bounds);
    tcase_add_test(tc, test_target_forms_and_ipv6);
    tcase_add_test(tc, test_framing_errors);
    tcase_add_test(tc, test_after_done_and_bad_dir);
    tcase_add_test(tc, test_mem_reports_heap);
    suite_add_tcase(s, tc);

    tc = tcase_create("on_gap");
    tcase_add_test(tc, test_gap);
    suite_add_tcase(s, tc);

    tc = tcase_create("captures");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_pcap_basic_digest);
    tcase_add_test(tc, test_pcap_forms);
    tcase_add_test(tc, test_pcap_framing);
    tcase_add_test(tc, test_pcap_redirects_and_urls);
    suite_add_tcase(s, tc);

    tc = tcase_create("verdicts");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_plaintext_once_and_query);
    tcase_add_test(tc, test_path_params_stripped);
    tcase_add_test(tc, test_basic_auth);
    tcase_add_test(tc, test_basic_auth_odd_blobs);
    tcase_add_test(tc, test_auth_in_clear);
    tcase_add_test(tc, test_form_credentials);
    tcase_add_test(tc, test_form_near_misses);
    tcase_add_test(tc, test_url_credentials);
    tcase_add_test(tc, test_cookie_in_clear);
    tcase_add_test(tc, test_redirect_to_https);
    tcase_add_test(tc, test_verdict_cap);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(http_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
