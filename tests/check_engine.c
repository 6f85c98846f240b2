/* check_engine.c — Check suite for engine/driver.c, the stream driver, with the real
 * dissectors of the registry (probing by content, as the pipeline does).
 *
 * Each conversation is a list of segments (direction, bytes) and gaps. It is fed to one
 * driver whole (one drv_data per segment), one byte per call, and with every segment split at
 * every offset k into [0,k) and [k,len); everything the driver and the dissectors emit
 * (findings, records, labels) and the driver's end state and counters are rendered into one
 * canonical text that must be the same in every mode. Then the case asserts what it is about:
 * a dissector switch carrying the tails of both directions, detach on a gap, claim and release
 * (want[]), flow end while a dissector holds data, no dissector when no probe matches, a
 * dissector that errors (detached, counted). */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/finding.h"
#include "core/limits.h"
#include "dissect/http.h"
#include "dissect/mail.h"
#include "dissect/tls.h"
#include "engine/driver.h"

/* ------------------------------------------------------------------------------------------ */
/* Conversations */

#define GAP0 2 /* seg.dir: a capture gap of seg.len bytes in direction 0 */
#define GAP1 3
#define MAX_SEG 16

struct seg {
    int dir;
    const uint8_t *p;
    size_t len;
};

struct conv {
    struct seg s[MAX_SEG];
    size_t n;
    uint8_t store[8192]; /* bytes of the segments */
    size_t used;
};

static void add(struct conv *c, int dir, const void *p, size_t len)
{
    ck_assert_uint_lt(c->n, MAX_SEG);
    ck_assert_uint_le(c->used + len, sizeof c->store);
    memcpy(c->store + c->used, p, len);
    c->s[c->n++] = (struct seg){dir, c->store + c->used, len};
    c->used += len;
}

static void add_str(struct conv *c, int dir, const char *s) { add(c, dir, s, strlen(s)); }

static void add_gap(struct conv *c, int dir, size_t len)
{
    ck_assert_uint_lt(c->n, MAX_SEG);
    c->s[c->n++] = (struct seg){GAP0 + dir, NULL, len};
}

/* Appends the segments' bytes (both halves of a split) to one segment of c. */
static void add_cat(struct conv *c, int dir, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    uint8_t tmp[4096];
    ck_assert_uint_le(alen + blen, sizeof tmp);
    memcpy(tmp, a, alen);
    memcpy(tmp + alen, b, blen);
    add(c, dir, tmp, alen + blen);
}

static size_t put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return 2;
}

static size_t put24(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
    return 3;
}

/* One handshake record: type 22, record version rv, handshake type ht, body. */
static size_t hs_record(uint8_t *out, uint16_t rv, uint8_t ht, const uint8_t *body, size_t blen)
{
    size_t o = 0;
    out[o++] = 0x16;
    o += put16(out + o, rv);
    o += put16(out + o, blen + 4);
    out[o++] = ht;
    o += put24(out + o, blen);
    memcpy(out + o, body, blen);
    return o + blen;
}

/* A TLS 1.2 ClientHello offering two ECDHE-RSA-AES-GCM suites, with server_name `sni`. */
static size_t client_hello(uint8_t *out, const char *sni)
{
    uint8_t b[512];
    size_t o = 0, n = strlen(sni);
    o += put16(b + o, 0x0303);
    for (int i = 0; i < 32; i++)
        b[o++] = (uint8_t)(0x11 + i);
    b[o++] = 0; /* session id */
    o += put16(b + o, 4);
    o += put16(b + o, 0xc02f);
    o += put16(b + o, 0xc030);
    b[o++] = 1;
    b[o++] = 0; /* null compression */
    o += put16(b + o, 4 + 5 + n); /* extensions */
    o += put16(b + o, 0x0000);    /* server_name */
    o += put16(b + o, 5 + n);
    o += put16(b + o, 3 + n);
    b[o++] = 0;
    o += put16(b + o, n);
    memcpy(b + o, sni, n);
    o += n;
    return hs_record(out, 0x0301, 1, b, o);
}

/* A TLS 1.2 ServerHello choosing ECDHE-RSA-AES128-GCM-SHA256. */
static size_t server_hello(uint8_t *out)
{
    uint8_t b[128];
    size_t o = 0;
    o += put16(b + o, 0x0303);
    for (int i = 0; i < 32; i++)
        b[o++] = (uint8_t)(0x80 + i);
    b[o++] = 0;
    o += put16(b + o, 0xc02f);
    b[o++] = 0;
    o += put16(b + o, 0); /* no extensions */
    return hs_record(out, 0x0303, 2, b, o);
}

/* ChangeCipherSpec and an encrypted Finished record (keys in use from here on). */
static const uint8_t ccs_fin[] = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01, 0x16, 0x03, 0x03, 0x00, 0x08,
                                  0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef};
static const uint8_t app_rec[] = {0x17, 0x03, 0x03, 0x00, 0x04, 0xca, 0xfe, 0xba, 0xbe};

#define EHLO_TLS                                                                                   \
    "250-mail.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"           \
    "250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"

/* ------------------------------------------------------------------------------------------ */
/* Harness */

struct out {
    char *dump;
    size_t len, cap;
    int nfind, nmail, ntls, nhttp, nlabel;
    struct mail_session_rec mail;
    struct tls_session_rec tls;
    struct http_request_rec http;
    char kinds[512];          /* finding kinds, space-separated */
    struct drv_stats stats;
    enum drv_state state;
    bool want[2];
    bool has_state;           /* the dissector still had state at the end (before drv_fini) */
    size_t mem;               /* drv_mem before drv_close */
    int nrec_before_close;    /* records emitted before drv_close */
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct out *o, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    size_t m = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    if (o->len + m + 1 > o->cap) {
        o->cap = (o->len + m + 1) * 2;
        o->dump = realloc(o->dump, o->cap);
        ck_assert_ptr_nonnull(o->dump);
    }
    memcpy(o->dump + o->len, buf, m);
    o->len += m;
    o->dump[o->len] = '\0';
}

static void sink_finding(void *ud, const struct finding *f)
{
    struct out *o = ud;
    const struct finding_kind_info *ki = finding_kind_info(f->kind);
    ck_assert_ptr_nonnull(ki);
    o->nfind++;
    size_t k = strlen(o->kinds);
    snprintf(o->kinds + k, sizeof o->kinds - k, "%s ", ki->name);
    out_printf(o, "F %s sev=%d ts=%llu | %s | %s\n", ki->name, (int)f->severity, (unsigned long long)f->ts_usec,
               f->summary, f->evidence);
}

static void sink_tls(void *ud, const struct tls_session_rec *r)
{
    struct out *o = ud;
    o->ntls++;
    o->tls = *r;
    out_printf(o, "T flow=%llu ts=%llu by=%s ch=%d sh=%d done=%d ver=%s cipher=%s sni=%s\n",
               (unsigned long long)r->flow_id, (unsigned long long)r->ts_usec, r->started_by, r->client_hello_seen,
               r->server_hello_seen, r->handshake_complete, r->version, r->cipher, r->sni);
}

static void sink_http(void *ud, const struct http_request_rec *r)
{
    struct out *o = ud;
    o->nhttp++;
    o->http = *r;
    out_printf(o, "H ts=%llu %s host=%s path=%s status=%u\n", (unsigned long long)r->ts_usec, r->method, r->host,
               r->path, r->status);
}

static void sink_mail(void *ud, const struct mail_session_rec *r)
{
    struct out *o = ud;
    o->nmail++;
    o->mail = *r;
    out_printf(o, "M ts=%llu %s offered=%d requested=%d accepted=%d tls=%d verdicts=%#x flags=%#x\n",
               (unsigned long long)r->ts_usec, r->proto, r->starttls_offered, r->starttls_requested,
               r->starttls_accepted, r->tls_started, r->verdicts, r->flags);
}

static void sink_label(void *ud, const char *p)
{
    struct out *o = ud;
    o->nlabel++;
    out_printf(o, "L %s\n", p);
}

enum mode { WHOLE, BYTES, SPLIT };

#define TS(i) (1000000u + (uint64_t)(i) * 1000u)
#define TS_CLOSE 9000000u

/* Feeds c[0..n) to a fresh driver; then closes the flow unless `no_close`. Caller frees. */
static void run_n(const struct conv *c, size_t n, enum mode mode, size_t k, bool no_close, struct out *o)
{
    memset(o, 0, sizeof *o);
    struct dis_sink sink = {o, sink_finding, sink_tls, sink_http, sink_mail, sink_label, NULL};
    struct drv_host host = {.sink = &sink};
    struct drv d;
    drv_init(&d, &host, "192.0.2.10", "192.0.2.25", 40000, 25, 7);
    for (size_t i = 0; i < n; i++) {
        const struct seg *s = &c->s[i];
        if (s->dir >= GAP0) {
            drv_gap(&d, s->dir - GAP0, s->len, TS(i));
            continue;
        }
        size_t off = 0;
        while (off < s->len) {
            size_t piece = s->len - off;
            if (mode == BYTES)
                piece = 1;
            else if (mode == SPLIT && off == 0 && k > 0 && k < s->len)
                piece = k;
            drv_data(&d, s->dir, s->p + off, piece, TS(i));
            off += piece;
        }
    }
    o->nrec_before_close = o->ntls + o->nhttp + o->nmail;
    o->mem = drv_mem(&d);
    o->state = drv_state(&d);
    o->want[0] = drv_wants(&d, 0);
    o->want[1] = drv_wants(&d, 1);
    o->has_state = d.dis_st != NULL;
    out_printf(o, "E state=%d want=%d%d dis=%s\n", (int)o->state, o->want[0], o->want[1],
               drv_dissector(&d) ? drv_dissector(&d)->name : "-");
    if (!no_close)
        drv_close(&d, TS_CLOSE);
    drv_fini(&d);
    o->stats = host.stats;
    out_printf(o, "S attached=%llu errors=%llu overflow=%llu switches=%llu mem_cap=%llu\n",
               (unsigned long long)o->stats.attached, (unsigned long long)o->stats.errors,
               (unsigned long long)o->stats.overflow, (unsigned long long)o->stats.switches,
               (unsigned long long)o->stats.mem_cap);
}

/* Whole, byte by byte and split at every offset: the same text. Fills o with the whole run. */
static void run_all_n(const struct conv *c, size_t n, bool no_close, struct out *o)
{
    run_n(c, n, WHOLE, 0, no_close, o);
    if (getenv("NZ_TEST_VERBOSE"))
        fprintf(stderr, "%s\n", o->dump);
    struct out x;
    run_n(c, n, BYTES, 0, no_close, &x);
    ck_assert_msg(strcmp(o->dump, x.dump) == 0, "byte-by-byte differs:\n--- whole\n%s--- bytes\n%s", o->dump, x.dump);
    free(x.dump);
    size_t maxlen = 0;
    for (size_t i = 0; i < n; i++)
        if (c->s[i].dir < GAP0 && c->s[i].len > maxlen)
            maxlen = c->s[i].len;
    for (size_t k = 1; k < maxlen; k++) {
        run_n(c, n, SPLIT, k, no_close, &x);
        ck_assert_msg(strcmp(o->dump, x.dump) == 0, "split at %zu differs:\n--- whole\n%s--- split\n%s", k, o->dump,
                      x.dump);
        free(x.dump);
    }
}

static void run_all(const struct conv *c, struct out *o) { run_all_n(c, c->n, false, o); }

/* ------------------------------------------------------------------------------------------ */
/* Cases */

/* SMTP STARTTLS where the client sends its ClientHello right behind STARTTLS (held in the
 * client direction's tail until the reply) and the server's 220 arrives in one segment with
 * its ServerHello: at the switch the TLS dissector gets the client's tail first, then the rest
 * of the server's segment. */
static void smtp_early_tls(struct conv *c)
{
    memset(c, 0, sizeof *c);
    uint8_t ch[512], sh[256];
    size_t chn = client_hello(ch, "mx.example.test"), shn = server_hello(sh);
    add_str(c, 1, "220 mail.example.test ESMTP Postfix\r\n");
    add_str(c, 0, "EHLO client.example.test\r\n");
    add_str(c, 1, EHLO_TLS);
    static const char st[] = "STARTTLS\r\n";
    add_cat(c, 0, (const uint8_t *)st, sizeof st - 1, ch, chn);
    static const char ready[] = "220 2.0.0 Ready to start TLS\r\n";
    add_cat(c, 1, (const uint8_t *)ready, sizeof ready - 1, sh, shn);
}

START_TEST(test_switch_tails_both_directions)
{
    struct conv c;
    smtp_early_tls(&c);
    struct out o;
    run_all(&c, &o);
    /* SMTP's record, then TLS's, which saw both hellos. */
    ck_assert_int_eq(o.nmail, 1);
    ck_assert_str_eq(o.mail.proto, "smtp");
    ck_assert(o.mail.starttls_offered && o.mail.starttls_requested && o.mail.starttls_accepted);
    ck_assert(o.mail.tls_started);
    ck_assert(o.mail.flags & MAIL_F_EARLY_TLS);
    ck_assert_int_eq(o.ntls, 1);
    ck_assert_str_eq(o.tls.started_by, "smtp-starttls");
    ck_assert(o.tls.client_hello_seen); /* the client's tail went on to TLS */
    ck_assert(o.tls.server_hello_seen); /* and the rest of the server's segment */
    ck_assert_str_eq(o.tls.sni, "mx.example.test");
    ck_assert_str_eq(o.tls.cipher, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    ck_assert_uint_eq(o.stats.switches, 1);
    ck_assert_uint_eq(o.stats.attached, 2);
    ck_assert_uint_eq(o.stats.errors, 0);
    ck_assert_int_eq(o.state, DRV_ATTACHED);
    ck_assert_ptr_null(strstr(o.kinds, "injection")); /* an eager ClientHello is no injection */
    ck_assert_ptr_null(strstr(o.kinds, "dissect.malformed"));
    free(o.dump);
}
END_TEST

/* The same without the eager client: the ClientHello comes after the 220 in its own segment,
 * the server's segment carries the 220 alone. Same TLS facts. */
START_TEST(test_switch_plain_order)
{
    struct conv c;
    memset(&c, 0, sizeof c);
    uint8_t ch[512], sh[256];
    size_t chn = client_hello(ch, "mx.example.test"), shn = server_hello(sh);
    add_str(&c, 1, "220 mail.example.test ESMTP Postfix\r\n");
    add_str(&c, 0, "EHLO client.example.test\r\n");
    add_str(&c, 1, EHLO_TLS);
    add_str(&c, 0, "STARTTLS\r\n");
    add_str(&c, 1, "220 2.0.0 Ready to start TLS\r\n");
    add(&c, 0, ch, chn);
    add(&c, 1, sh, shn);
    struct out o;
    run_all(&c, &o);
    ck_assert_int_eq(o.nmail, 1);
    ck_assert(!(o.mail.flags & MAIL_F_EARLY_TLS));
    ck_assert_int_eq(o.ntls, 1);
    ck_assert_str_eq(o.tls.started_by, "smtp-starttls");
    ck_assert(o.tls.client_hello_seen && o.tls.server_hello_seen);
    ck_assert_str_eq(o.tls.sni, "mx.example.test");
    ck_assert_uint_eq(o.stats.switches, 1);
    free(o.dump);
}
END_TEST

/* TLS cannot resync after a hole: the gap finishes it (what was seen is reported at once),
 * the flow stays claimed and nothing after the hole reaches a dissector. */
START_TEST(test_detach_on_gap)
{
    struct conv c;
    memset(&c, 0, sizeof c);
    uint8_t ch[512], sh[256];
    size_t chn = client_hello(ch, "gap.example.test"), shn = server_hello(sh);
    add(&c, 0, ch, chn);
    add_gap(&c, 1, 1400);
    add(&c, 1, sh, shn);
    add_str(&c, 0, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    struct out o;
    run_all(&c, &o);
    ck_assert_int_eq(o.ntls, 1);
    ck_assert_int_eq(o.nrec_before_close, 1); /* emitted at the gap, not at the end */
    ck_assert(o.tls.client_hello_seen);
    ck_assert(!o.tls.server_hello_seen);
    ck_assert_str_eq(o.tls.sni, "gap.example.test");
    ck_assert_int_eq(o.state, DRV_FINISHED);
    ck_assert(!o.want[0] && !o.want[1]);
    ck_assert(!o.has_state);
    ck_assert_uint_eq(o.mem, 0);
    ck_assert_int_eq(o.nhttp, 0);
    free(o.dump);
    /* SMTP resyncs after a hole instead (its on_gap says DIS_OK): still attached. */
    memset(&c, 0, sizeof c);
    add_str(&c, 1, "220 mail.example.test ESMTP Postfix\r\n");
    add_str(&c, 0, "EHLO client.example.test\r\n");
    add_gap(&c, 1, 300);
    add_str(&c, 0, "QUIT\r\n");
    add_str(&c, 1, "221 2.0.0 Bye\r\n");
    run_all(&c, &o);
    ck_assert_int_eq(o.state, DRV_ATTACHED);
    ck_assert_int_eq(o.nmail, 1);
    ck_assert(o.mail.flags & MAIL_F_GAP);
    free(o.dump);
    /* A hole while probing starts the probe over after it. */
    memset(&c, 0, sizeof c);
    add_str(&c, 0, "GE");
    add_gap(&c, 0, 100);
    add(&c, 0, ch, chn);
    run_all(&c, &o);
    ck_assert_int_eq(o.ntls, 1);
    ck_assert_str_eq(o.tls.sni, "gap.example.test");
    free(o.dump);
}
END_TEST

/* Claim and release: the probe claims the flow for TLS; once keys are in use in one direction
 * that direction is released (want cleared, its buffer freed) while the other is still fed;
 * with both released the dissector is finished and its state freed before the flow ends. */
START_TEST(test_claim_and_release)
{
    struct conv c;
    memset(&c, 0, sizeof c);
    uint8_t ch[512], sh[256];
    size_t chn = client_hello(ch, "claim.example.test"), shn = server_hello(sh);
    add(&c, 0, ch, chn);
    add(&c, 1, sh, shn);
    add(&c, 0, ccs_fin, sizeof ccs_fin);
    add(&c, 1, ccs_fin, sizeof ccs_fin);
    add(&c, 0, app_rec, sizeof app_rec);
    add(&c, 1, app_rec, sizeof app_rec);
    struct out o;
    /* Claimed after the ClientHello. */
    run_all_n(&c, 1, false, &o);
    ck_assert_int_eq(o.state, DRV_ATTACHED);
    ck_assert(o.want[0] && o.want[1]);
    ck_assert_uint_eq(o.stats.attached, 1);
    free(o.dump);
    /* The client's keys are in use: its direction is released, the server's is not. */
    run_all_n(&c, 3, false, &o);
    ck_assert_int_eq(o.state, DRV_ATTACHED);
    ck_assert(!o.want[0]);
    ck_assert(o.want[1]);
    ck_assert_int_eq(o.nrec_before_close, 0);
    free(o.dump);
    /* Both: finished, the record is out, the state is gone; the rest is not looked at. */
    run_all(&c, &o);
    ck_assert_int_eq(o.state, DRV_FINISHED);
    ck_assert(!o.want[0] && !o.want[1]);
    ck_assert(!o.has_state);
    ck_assert_uint_eq(o.mem, 0);
    ck_assert_int_eq(o.nrec_before_close, 1);
    ck_assert_int_eq(o.ntls, 1);
    ck_assert(o.tls.handshake_complete);
    ck_assert_str_eq(o.tls.started_by, "tls");
    free(o.dump);
}
END_TEST

/* The flow ends while the dissector holds data: an HTTP request head cut before its end
 * stays in the driver's tail (or the dissector's buffer); drv_close lets the dissector emit
 * what it has, once. */
START_TEST(test_close_while_holding)
{
    struct conv c;
    memset(&c, 0, sizeof c);
    add_str(&c, 0, "GET /login HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: x\r\n");
    struct out o;
    run_all(&c, &o);
    ck_assert_int_eq(o.state, DRV_ATTACHED);
    ck_assert_uint_gt(o.mem, 0);
    ck_assert_int_eq(o.nrec_before_close, 0);
    free(o.dump);
    /* Without drv_close nothing is emitted; with it, exactly what the dissector had. */
    struct out n;
    run_all_n(&c, c.n, true, &n);
    ck_assert_int_eq(n.nhttp + n.ntls + n.nmail, 0);
    free(n.dump);
    /* SMTP with a half line in each direction: the session record comes at close. */
    memset(&c, 0, sizeof c);
    add_str(&c, 1, "220 mail.example.test ESMTP Postfix\r\n");
    add_str(&c, 0, "EHLO client.example.test\r\n");
    add_str(&c, 1, "250-mail.example.test\r\n250-PIPE");
    add_str(&c, 0, "MAIL FROM:<a@exa");
    run_all(&c, &o);
    ck_assert_int_eq(o.state, DRV_ATTACHED);
    ck_assert_uint_gt(o.mem, 0);
    ck_assert_int_eq(o.nrec_before_close, 0);
    ck_assert_int_eq(o.nmail, 1);
    ck_assert_str_eq(o.mail.proto, "smtp");
    free(o.dump);
}
END_TEST

/* No probe says yes or maybe once both directions spoke: no dissector, nothing wanted. */
START_TEST(test_probe_failure)
{
    struct conv c;
    memset(&c, 0, sizeof c);
    static const uint8_t junk0[] = {0x00, 0x01, 0x02, 0x03, 0xff, 0xfe, 'x', 'y', 'z', '\n'};
    static const uint8_t junk1[] = {0x07, 0x00, 0x00, 0x10, 0x42, 0x42};
    add(&c, 0, junk0, sizeof junk0);
    add(&c, 1, junk1, sizeof junk1);
    add_str(&c, 0, "GET / HTTP/1.1\r\nHost: late.example\r\n\r\n"); /* too late to be probed */
    struct out o;
    run_all(&c, &o);
    ck_assert_int_eq(o.state, DRV_NONE);
    ck_assert(!o.want[0] && !o.want[1]);
    ck_assert_uint_eq(o.stats.attached, 0);
    ck_assert_int_eq(o.nfind + o.ntls + o.nhttp + o.nmail + o.nlabel, 0);
    ck_assert_uint_eq(o.mem, 0);
    free(o.dump);
    /* Past DIS_PROBE_MAX bytes of one direction without a decision: given up as well. */
    memset(&c, 0, sizeof c);
    uint8_t big[DIS_PROBE_MAX + 16];
    memset(big, 'a', sizeof big);
    add(&c, 0, big, sizeof big);
    run_n(&c, c.n, WHOLE, 0, false, &o);
    ck_assert_int_eq(o.state, DRV_NONE);
    ck_assert_uint_eq(o.stats.attached, 0);
    free(o.dump);
}
END_TEST

/* A dissector that errors is detached: dissect.malformed through the sink, its pending record
 * still emitted (on_close), counted; nothing more is fed. */
START_TEST(test_dissector_error)
{
    struct conv c;
    memset(&c, 0, sizeof c);
    uint8_t ch[512];
    size_t chn = client_hello(ch, "err.example.test");
    static const uint8_t bad_type[] = {0x19, 0x03, 0x03, 0x00, 0x01, 0x00};
    add(&c, 0, ch, chn);
    add(&c, 1, bad_type, sizeof bad_type);
    add(&c, 1, app_rec, sizeof app_rec);
    struct out o;
    run_all(&c, &o);
    ck_assert_int_eq(o.state, DRV_NONE);
    ck_assert(!o.want[0] && !o.want[1]);
    ck_assert_uint_eq(o.stats.errors, 1);
    ck_assert_uint_eq(o.stats.overflow, 0);
    ck_assert_ptr_nonnull(strstr(o.kinds, "dissect.malformed"));
    ck_assert_ptr_nonnull(strstr(o.dump, "\"protocol\":\"tls\""));
    ck_assert_int_eq(o.ntls, 1);
    ck_assert_int_eq(o.nrec_before_close, 1);
    ck_assert_str_eq(o.tls.sni, "err.example.test");
    ck_assert(!o.has_state);
    free(o.dump);
}
END_TEST

static Suite *engine_suite(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("driver");
    tcase_add_test(tc, test_switch_tails_both_directions);
    tcase_add_test(tc, test_switch_plain_order);
    tcase_add_test(tc, test_detach_on_gap);
    tcase_add_test(tc, test_claim_and_release);
    tcase_add_test(tc, test_close_while_holding);
    tcase_add_test(tc, test_probe_failure);
    tcase_add_test(tc, test_dissector_error);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(engine_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
