/* check_mail.c — Check suite for dissect/mail.c: the SMTP, IMAP and POP3 dissectors, their
 * STARTTLS verdicts and the mail_session_rec they emit.
 *
 * Every session vector is run through the product's stream driver (engine/driver.c: unconsumed
 * tails per direction, DIS_SWITCH handing both directions' tails to "tls", gaps), with each
 * call's input placed right before a PROT_NONE page (tu_guard) and "tls" replaced by a recorder. The harness renders everything the dissector emits
 * (records, findings, label, switch) into one canonical text; run_all() checks that the text is
 * the same when each message is delivered whole, one byte per call, and split at every offset.
 *
 * Vectors: transcripts in the shape Postfix 3.7 / Dovecot 2.3 (Debian 12) produce (greeting,
 * EHLO list, reply texts), written by hand; those taken from recorded captures name the pcap. */
#include <check.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/finding.h"
#include "core/limits.h"
#include "dissect/mail.h"
#include "engine/driver.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------------------------------------ */
/* Harness */

#define GAP0 2 /* msg.dir: a capture gap of msg.len bytes in direction 0 */
#define GAP1 3

struct msg {
    int dir;          /* 0 client→server, 1 server→client, GAP0/GAP1 */
    const char *p;
    size_t len;
};
#define C(s) {0, s, sizeof(s) - 1}
#define S(s) {1, s, sizeof(s) - 1}
#define NMSG(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_FIND 32

struct out {
    char *dump;       /* canonical text of everything emitted */
    size_t len, cap;
    int nrec, nfind, nlabel;
    struct mail_session_rec rec; /* the (last) record */
    struct finding f[MAX_FIND];
    bool switched;
    int switch_dir;
    char started_by[32];
    uint8_t tls_first[2][8]; /* first bytes handed to "tls" per direction */
    size_t tls_bytes[2];
    bool done;
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct out *o, const char *fmt, ...)
{
    char buf[8192];
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
    ck_assert_msg(memchr(f->summary, 0, sizeof f->summary) != NULL, "summary not terminated");
    ck_assert_msg(memchr(f->evidence, 0, sizeof f->evidence) != NULL, "evidence not terminated");
    ck_assert_msg(f->evidence[0] == '{', "evidence is not a JSON object: %s", f->evidence);
    ck_assert_msg(strstr(f->evidence, "truncated") == NULL, "evidence overflowed: %s", f->evidence);
    if (o->nfind < MAX_FIND)
        o->f[o->nfind] = *f;
    o->nfind++;
    out_printf(o, "F %s sev=%d ts=%llu | %s | %s\n", ki->name, (int)f->severity, (unsigned long long)f->ts_usec,
               f->summary, f->evidence);
}

static void sink_record(void *ud, const struct mail_session_rec *r)
{
    struct out *o = ud;
    o->rec = *r;
    o->nrec++;
    out_printf(o,
               "R flow=%llu ts=%llu..%llu proto=%d/%s greeting='%s' code=%u host='%s' helo='%s' ehlo=%d "
               "caps_seen=%d caps='%s' mechs='%s' capbits=%#x offered=%d requested=%d code=%u reply='%s' "
               "accepted=%d tls=%d mech='%s' user='%s' inclear=%d ok=%d attempts=%u cmds=%u rcpts=%u msgs=%u "
               "bytes=%llu mailclear=%d verdicts=%#x flags=%#x long=%u bad=%u\n",
               (unsigned long long)r->flow_id, (unsigned long long)r->ts_usec, (unsigned long long)r->ts_end_usec,
               r->protocol, r->proto, r->greeting, r->greeting_code, r->greeting_host, r->helo, r->ehlo,
               r->caps_seen, r->capabilities, r->auth_mechs, r->caps, r->starttls_offered,
               r->starttls_requested, r->starttls_reply_code, r->starttls_reply, r->starttls_accepted,
               r->tls_started, r->auth_mech, r->auth_user, r->auth_in_clear, r->auth_ok, r->auth_attempts,
               r->plaintext_commands, r->rcpts, r->messages, (unsigned long long)r->message_bytes,
               r->mail_in_clear, r->verdicts, r->flags, r->long_lines, r->bad_lines);
}

static void sink_label(void *ud, const char *p)
{
    struct out *o = ud;
    o->nlabel++;
    out_printf(o, "L %s\n", p);
}

enum mode { WHOLE, BYTES, SPLIT };

/* The harness runs the product's stream driver (engine/driver.c) with two test dissectors:
 * GUARDED(x) wraps dissector x so each call's input sits right before a PROT_NONE page
 * (tu_guard) and every status is checked and rendered; "tls" after a switch is tls_recorder,
 * which keeps the first bytes and the count of each direction. Both reach the test's
 * struct out through the sink's ud. */
struct guarded {
    const struct dissector *real;
    void *st;
};

static void *guarded_new(const struct dissector *real, const struct dis_cfg *cfg)
{
    struct guarded *g = calloc(1, sizeof *g);
    ck_assert_ptr_nonnull(g);
    g->real = real;
    g->st = real->state_new(cfg);
    ck_assert_ptr_nonnull(g->st);
    return g;
}

static void guarded_free(void *vg)
{
    struct guarded *g = vg;
    if (!g)
        return;
    g->real->state_free(g->st);
    free(g);
}

static enum dis_status guarded_data(void *vg, int dir, struct bytes in, size_t *consumed, struct dis_ctx *ctx)
{
    struct guarded *g = vg;
    struct out *o = ctx->sink->ud;
    uint8_t *p = tu_guard(in.p, in.len);
    struct bytes gin = {p, in.len};
    *consumed = 12345678;
    enum dis_status rc = g->real->on_data(g->st, dir, gin, consumed, ctx);
    tu_guard_free(p, in.len);
    ck_assert_msg(*consumed <= in.len, "consumed %zu > %zu", *consumed, in.len);
    ck_assert_msg(rc != DIS_ERR, "DIS_ERR: %s", ctx->err_reason ? ctx->err_reason : "?");
    if (rc == DIS_SWITCH) {
        ck_assert_ptr_nonnull(ctx->switch_to);
        ck_assert_str_eq(ctx->switch_to, "tls");
        ck_assert_ptr_nonnull(ctx->started_by);
        snprintf(o->started_by, sizeof o->started_by, "%s", ctx->started_by);
        o->switched = true;
        o->switch_dir = dir;
        out_printf(o, "S dir=%d by=%s\n", dir, ctx->started_by);
    } else if (rc == DIS_DONE) {
        o->done = true;
    } else {
        ck_assert_msg(in.len - *consumed <= DIS_BUF_MAX, "tail over DIS_BUF_MAX");
    }
    return rc;
}

static enum dis_status guarded_gap(void *vg, int dir, uint64_t len, struct dis_ctx *ctx)
{
    struct guarded *g = vg;
    struct out *o = ctx->sink->ud;
    enum dis_status rc = g->real->on_gap(g->st, dir, len, ctx);
    ck_assert_msg(rc == DIS_OK || rc == DIS_DONE, "on_gap status %d", rc);
    if (rc == DIS_DONE)
        o->done = true;
    return rc;
}

static void guarded_close(void *vg, struct dis_ctx *ctx)
{
    struct guarded *g = vg;
    g->real->on_close(g->st, ctx);
}

static size_t guarded_mem(const void *vg)
{
    const struct guarded *g = vg;
    return g->real->mem(g->st);
}

#define GUARDED(x)                                                                                 \
    static void *guarded_new_##x(const struct dis_cfg *cfg) { return guarded_new(&x##_dissector, cfg); } \
    static const struct dissector guarded_##x = {                                                 \
        .name = #x, .state_new = guarded_new_##x, .state_free = guarded_free, .on_data = guarded_data, \
        .on_gap = guarded_gap, .on_close = guarded_close, .mem = guarded_mem};
GUARDED(smtp)
GUARDED(imap)
GUARDED(pop3)

static const struct dissector *guarded_of(const struct dissector *d)
{
    return d == &smtp_dissector ? &guarded_smtp : d == &imap_dissector ? &guarded_imap : &guarded_pop3;
}

static void *rec_new(const struct dis_cfg *cfg)
{
    (void)cfg;
    return calloc(1, 1);
}

static enum dis_status rec_data(void *st, int dir, struct bytes in, size_t *consumed, struct dis_ctx *ctx)
{
    (void)st;
    struct out *o = ctx->sink->ud;
    for (size_t j = 0; j < in.len && o->tls_bytes[dir] + j < 8; j++)
        o->tls_first[dir][o->tls_bytes[dir] + j] = in.p[j];
    o->tls_bytes[dir] += in.len;
    *consumed = in.len;
    return DIS_OK;
}

static enum dis_status rec_gap(void *st, int dir, uint64_t len, struct dis_ctx *ctx)
{
    (void)st, (void)dir, (void)len, (void)ctx;
    return DIS_OK;
}

static void rec_close(void *st, struct dis_ctx *ctx) { (void)st, (void)ctx; }

static size_t rec_mem(const void *st)
{
    (void)st;
    return 0;
}

static const struct dissector tls_recorder = {.name = "tls", .state_new = rec_new, .state_free = free,
                                              .on_data = rec_data, .on_gap = rec_gap, .on_close = rec_close,
                                              .mem = rec_mem};

static const struct dissector *find_recorder(const char *name)
{
    return strcmp(name, "tls") == 0 ? &tls_recorder : NULL;
}

/* Runs the messages through dissector d with the engine's driver: each message delivered whole
 * (WHOLE), one byte per call (BYTES) or as [0,k) and [k,len) (SPLIT). The caller frees o->dump. */
static void run(const struct dissector *d, const struct msg *m, size_t n, enum mode mode, size_t k,
                struct out *o)
{
    memset(o, 0, sizeof *o);
    struct dis_sink sink = {o, sink_finding, NULL, NULL, sink_record, sink_label, NULL};
    struct drv_host host = {.sink = &sink, .find = find_recorder};
    struct drv drv;
    drv_init(&drv, &host, "192.0.2.10", "192.0.2.25", 40000, 25, 7);
    ck_assert(drv_attach(&drv, guarded_of(d), 0));
    for (size_t i = 0; i < n; i++) {
        uint64_t ts = 1000000u + i * 1000u;
        if (m[i].dir >= GAP0) {
            drv_gap(&drv, m[i].dir - GAP0, m[i].len, ts);
            continue;
        }
        size_t len = m[i].len, off = 0;
        while (off < len) {
            size_t piece = len - off;
            if (mode == BYTES)
                piece = 1;
            else if (mode == SPLIT && off == 0 && k > 0 && k < len)
                piece = k;
            drv_data(&drv, m[i].dir, (const uint8_t *)m[i].p + off, piece, ts);
            off += piece;
        }
    }
    drv_close(&drv, 9000000u);
    drv_fini(&drv);
    ck_assert_uint_eq(host.stats.errors, 0); /* no DIS_ERR, no tail over DIS_BUF_MAX */
    out_printf(o, "T c=%zu s=%zu\n", o->tls_bytes[0], o->tls_bytes[1]);
    ck_assert_int_eq(o->nrec, 1);  /* exactly one record per session */
    ck_assert_int_eq(o->nlabel, 1); /* the label once */
}

/* Runs whole, byte by byte and split at every offset; all canonical texts must be equal.
 * Fills o with the whole run (caller frees o->dump). */
static void run_all(const struct dissector *d, const struct msg *m, size_t n, struct out *o)
{
    run(d, m, n, WHOLE, 0, o);
    if (getenv("NZ_TEST_VERBOSE")) /* show what a vector produces */
        fprintf(stderr, "%s\n", o->dump);
    struct out x;
    run(d, m, n, BYTES, 0, &x);
    ck_assert_msg(strcmp(o->dump, x.dump) == 0, "byte-by-byte differs:\n--- whole\n%s--- bytes\n%s", o->dump,
                  x.dump);
    free(x.dump);
    size_t maxlen = 0;
    for (size_t i = 0; i < n; i++)
        if (m[i].dir < GAP0 && m[i].len > maxlen)
            maxlen = m[i].len;
    for (size_t k = 1; k < maxlen; k++) {
        run(d, m, n, SPLIT, k, &x);
        ck_assert_msg(strcmp(o->dump, x.dump) == 0, "split at %zu differs:\n--- whole\n%s--- split\n%s", k,
                      o->dump, x.dump);
        free(x.dump);
    }
}

/* Like run_all for big vectors: whole, byte by byte, and split every `step` bytes. */
static void run_some(const struct dissector *d, const struct msg *m, size_t n, size_t step, struct out *o)
{
    run(d, m, n, WHOLE, 0, o);
    if (getenv("NZ_TEST_VERBOSE"))
        fprintf(stderr, "%s\n", o->dump);
    struct out x;
    run(d, m, n, BYTES, 0, &x);
    ck_assert_msg(strcmp(o->dump, x.dump) == 0, "byte-by-byte differs:\n%s---\n%s", o->dump, x.dump);
    free(x.dump);
    size_t maxlen = 0;
    for (size_t i = 0; i < n; i++)
        if (m[i].dir < GAP0 && m[i].len > maxlen)
            maxlen = m[i].len;
    for (size_t k = 1; k < maxlen; k += step) {
        run(d, m, n, SPLIT, k, &x);
        ck_assert_msg(strcmp(o->dump, x.dump) == 0, "split at %zu differs:\n%s---\n%s", k, o->dump, x.dump);
        free(x.dump);
    }
}

static int count_kind(const struct out *o, const char *name)
{
    int c = 0;
    for (int i = 0; i < o->nfind && i < MAX_FIND; i++)
        if (strcmp(finding_kind_info(o->f[i].kind)->name, name) == 0)
            c++;
    return c;
}

static const struct finding *find_kind(const struct out *o, const char *name)
{
    for (int i = 0; i < o->nfind && i < MAX_FIND; i++)
        if (strcmp(finding_kind_info(o->f[i].kind)->name, name) == 0)
            return &o->f[i];
    return NULL;
}

/* Highest severity among findings whose kind starts with prefix; -1 if none. */
static int max_sev(const struct out *o, const char *prefix)
{
    int s = -1;
    for (int i = 0; i < o->nfind && i < MAX_FIND; i++)
        if (strncmp(finding_kind_info(o->f[i].kind)->name, prefix, strlen(prefix)) == 0 &&
            (int)o->f[i].severity > s)
            s = (int)o->f[i].severity;
    return s;
}

static void assert_absent(const struct out *o, const char *secret)
{
    ck_assert_msg(strstr(o->dump, secret) == NULL, "'%s' leaked into emitted text:\n%s", secret, o->dump);
}

/* ------------------------------------------------------------------------------------------ */
/* Shared vectors */

#define GREET "220 mail.example.test ESMTP Postfix (Debian/GNU)\r\n"
#define EHLO "EHLO client.example.test\r\n"
#define EHLO_TLS                                                                                   \
    "250-mail.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"     \
    "250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"          \
    "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
#define EHLO_NOTLS                                                                                 \
    "250-mail.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"     \
    "250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"               \
    "250-SMTPUTF8\r\n250 CHUNKING\r\n"
#define EHLO_MASKED                                                                                \
    "250-mail.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"     \
    "250-XXXXXXXA\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"          \
    "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
#define IMAP_GREET                                                                                 \
    "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "       \
    "AUTH=PLAIN] Dovecot (Debian) ready.\r\n"
#define IMAP_GREET_NOTLS                                                                           \
    "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN "     \
    "AUTH=LOGIN] Dovecot (Debian) ready.\r\n"

/* Start of a TLS 1.2/1.3 ClientHello record (record header + handshake header). */
#define CH "\x16\x03\x01\x00\xf4\x01\x00\x00\xf0\x03\x03"
#define SH "\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03"
#define READY "220 2.0.0 Ready to start TLS\r\n"

/* ------------------------------------------------------------------------------------------ */
/* Recorded captures (pcaps/mail/, recorded by pcaps/gen/mail.sh with Postfix, Dovecot, swaks,
 * openssl s_client, python imaplib/poplib and the repo's mail_relay.py / mail_inject.py; the
 * password in them is alice's "hunter2"). Each vector is one TCP stream, one entry per segment,
 * cut after the first 16 bytes of TLS. */

/* pcaps/mail/smtp-starttls-tls13.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_starttls_tls13[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("STARTTLS\r\n"),
    S("220 2.0.0 Ready to start TLS\r\n"),
    C("\x16\x03\x01\x00\xdc\x01\x00\x00\xd8\x03\x03\xdd\xe0\xd2\x9fS"),
};

/* pcaps/mail/smtp-starttls-tls12.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_starttls_tls12[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("STARTTLS\r\n"),
    S("220 2.0.0 Ready to start TLS\r\n"),
    C("\x16\x03\x01\x00\xd3\x01\x00\x00\xcf\x03\x03\xc1\x05\xd8\xfcs"),
};

/* pcaps/mail/smtp-auth-plain-tls.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_auth_plain_tls[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250"
      "-DSN\r\n250 CHUNKING\r\n"),
    C("STARTTLS\r\n"),
    S("220 2.0.0 Ready to start TLS\r\n"),
    C("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xc8\xf2\xb5?\xd6"),
};

/* pcaps/mail/smtp-history-1-offered.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_history_1_offered[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("STARTTLS\r\n"),
    S("220 2.0.0 Ready to start TLS\r\n"),
    C("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xe4\xfb\x91\xfeH"),
};

/* pcaps/mail/smtp-history-2-not-offered.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_history_2_not_offered[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<alice@netzwacht.test>\r\n"),
    S("250 2.1.0 Ok\r\n"),
    C("RCPT TO:<bob@netzwacht.test>\r\n"),
    S("250 2.1.5 Ok\r\n"),
    C("DATA\r\n"),
    S("354 End data with <CR><LF>.<CR><LF>\r\n"),
    C("Date: Tue, 01 Jun 2021 12:00:00 +0000\r\nFrom: alice@netzwacht.test\r\nTo: bob@netzwacht"
      ".test\r\nSubject: netzwacht capture smtp-history-2-not-offered\r\nMessage-ID: <smtp-hist"
      "ory-2-not-offered@client.netzwacht.test>\r\n\r\nShort test message for the netzwacht mai"
      "l captures.\r\n..this line starts with a dot and travels dot-stuffed\r\nBye.\r\n\r\n.\r\n"),
    S("250 2.0.0 Ok: queued as A0E4AA768A6\r\n"),
    C("QUIT\r\n"),
    S("221 2.0.0 Bye\r\n"),
};

/* pcaps/mail/smtp-no-starttls.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_no_starttls[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<alice@netzwacht.test>\r\n"),
    S("250 2.1.0 Ok\r\n"),
    C("RCPT TO:<bob@netzwacht.test>\r\n"),
    S("250 2.1.5 Ok\r\n"),
    C("DATA\r\n"),
    S("354 End data with <CR><LF>.<CR><LF>\r\n"),
    C("Date: Tue, 01 Jun 2021 12:00:00 +0000\r\nFrom: alice@netzwacht.test\r\nTo: bob@netzwacht"
      ".test\r\nSubject: netzwacht capture smtp-no-starttls\r\nMessage-ID: <smtp-no-starttls@cl"
      "ient.netzwacht.test>\r\n\r\nShort test message for the netzwacht mail captures.\r\n..thi"
      "s line starts with a dot and travels dot-stuffed\r\nBye.\r\n\r\n.\r\n"),
    S("250 2.0.0 Ok: queued as D9310A77071\r\n"),
    C("QUIT\r\n"),
    S("221 2.0.0 Bye\r\n"),
};

/* pcaps/mail/smtp-starttls-not-used.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_starttls_not_used[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<alice@netzwacht.test>\r\n"),
    S("250 2.1.0 Ok\r\n"),
    C("RCPT TO:<bob@netzwacht.test>\r\n"),
    S("250 2.1.5 Ok\r\n"),
    C("DATA\r\n"),
    S("354 End data with <CR><LF>.<CR><LF>\r\n"),
    C("Date: Tue, 01 Jun 2021 12:00:00 +0000\r\nFrom: alice@netzwacht.test\r\nTo: bob@netzwacht"
      ".test\r\nSubject: netzwacht capture smtp-starttls-not-used\r\nMessage-ID: <smtp-starttls"
      "-not-used@client.netzwacht.test>\r\n\r\nShort test message for the netzwacht mail captur"
      "es.\r\n..this line starts with a dot and travels dot-stuffed\r\nBye.\r\n\r\n.\r\n"),
    S("250 2.0.0 Ok: queued as 099CBA77FED\r\n"),
    C("QUIT\r\n"),
    S("221 2.0.0 Bye\r\n"),
};

/* pcaps/mail/smtp-port-2525.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_port_2525[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<alice@netzwacht.test>\r\n"),
    S("250 2.1.0 Ok\r\n"),
    C("RCPT TO:<bob@netzwacht.test>\r\n"),
    S("250 2.1.5 Ok\r\n"),
    C("DATA\r\n"),
    S("354 End data with <CR><LF>.<CR><LF>\r\n"),
    C("Date: Tue, 01 Jun 2021 12:00:00 +0000\r\nFrom: alice@netzwacht.test\r\nTo: bob@netzwacht"
      ".test\r\nSubject: netzwacht capture smtp-port-2525\r\nMessage-ID: <smtp-port-2525@client"
      ".netzwacht.test>\r\n\r\nShort test message for the netzwacht mail captures.\r\n..this li"
      "ne starts with a dot and travels dot-stuffed\r\nBye.\r\n\r\n.\r\n"),
    S("250 2.0.0 Ok: queued as 712C0A76D01\r\n"),
    C("QUIT\r\n"),
    S("221 2.0.0 Bye\r\n"),
};

/* pcaps/mail/smtp-starttls-454.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_starttls_454[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("STARTTLS\r\n"),
    S("454 4.7.0 TLS not available due to local problem\r\n"),
    C("MAIL FROM:<alice@netzwacht.test>\r\n"),
    S("250 2.1.0 Ok\r\n"),
    C("RCPT TO:<bob@netzwacht.test>\r\n"),
    S("250 2.1.5 Ok\r\n"),
    C("DATA\r\n"),
    S("354 End data with <CR><LF>.<CR><LF>\r\n"),
    C("Date: Tue, 01 Jun 2021 12:00:00 +0000\r\nFrom: alice@netzwacht.test\r\nTo: bob@netzwacht"
      ".test\r\nSubject: netzwacht capture smtp-starttls-454\r\nMessage-ID: <smtp-starttls-454@"
      "client.netzwacht.test>\r\n\r\nShort test message for the netzwacht mail captures.\r\n..t"
      "his line starts with a dot and travels dot-stuffed\r\nBye.\r\n\r\n.\r\n"),
    S("250 2.0.0 Ok: queued as BB341A7774F\r\n"),
    C("QUIT\r\n"),
    S("221 2.0.0 Bye\r\n"),
};

/* pcaps/mail/smtp-starttls-failed.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_starttls_failed[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO x\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("STARTTLS\r\n"),
    S("220 2.0.0 Ready to start TLS\r\n"),
    C("EHLO x\r\n"),
};

/* pcaps/mail/smtp-starttls-failed-close.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_starttls_failed_close[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO x\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("STARTTLS\r\n"),
    S("220 2.0.0 Ready to start TLS\r\n"),
};

/* pcaps/mail/smtp-starttls-injection.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_starttls_injection[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO x\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("STARTTLS\r\nRSET\r\n"),
    S("220 2.0.0 Ready to start TLS\r\n"),
    C("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03^\x05\x9e\xe3\x8e"),
};

/* pcaps/mail/smtp-starttls-injection-server.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_starttls_injection_server[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("STARTTLS\r\n"),
    S("220 2.0.0 Ready to start TLS\r\n250 injected\r\n"),
    C("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xfd\x65}R\x99"),
};

/* pcaps/mail/smtp-stripped-capability-rewritten-by-relay.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_stripped_capability_rewritten_by_relay[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-XXXXXXXA\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<alice@netzwacht.test>\r\n"),
    S("250 2.1.0 Ok\r\n"),
    C("RCPT TO:<bob@netzwacht.test>\r\n"),
    S("250 2.1.5 Ok\r\n"),
    C("DATA\r\n"),
    S("354 End data with <CR><LF>.<CR><LF>\r\n"),
    C("Date: Tue, 01 Jun 2021 12:00:00 +0000\r\nFrom: alice@netzwacht.test\r\nTo: bob@netzwacht"
      ".test\r\nSubject: netzwacht capture smtp-stripped-capability-rewritten-by-relay\r\nMessa"
      "ge-ID: <smtp-stripped-capability-rewritten-by-relay@client.netzwacht.test>\r\n\r\nShort "
      "test message for the netzwacht mail captures.\r\n..this line starts with a dot and trave"
      "ls dot-stuffed\r\nBye.\r\n\r\n.\r\n"),
    S("250 2.0.0 Ok: queued as 6C424A77F38\r\n"),
    C("QUIT\r\n"),
    S("221 2.0.0 Bye\r\n"),
};

/* pcaps/mail/smtp-stripped-capability-rewritten-by-relay-client-insists.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_stripped_capability_rewritten_by_relay_client_insists[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-XXXXXXXA\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("QUIT\r\n"),
    S("221 2.0.0 Bye\r\n"),
};

/* pcaps/mail/smtp-stripped-capability-server-leg.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_stripped_capability_server_leg[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<alice@netzwacht.test>\r\n"),
    S("250 2.1.0 Ok\r\n"),
    C("RCPT TO:<bob@netzwacht.test>\r\n"),
    S("250 2.1.5 Ok\r\n"),
    C("DATA\r\n"),
    S("354 End data with <CR><LF>.<CR><LF>\r\n"),
    C("Date: Tue, 01 Jun 2021 12:00:00 +0000\r\nFrom: alice@netzwacht.test\r\nTo: bob@netzwacht"
      ".test\r\nSubject: netzwacht capture smtp-stripped-capability-rewritten-by-relay\r\nMessa"
      "ge-ID: <smtp-stripped-capability-rewritten-by-relay@client.netzwacht.test>\r\n\r\nShort "
      "test message for the netzwacht mail captures.\r\n..this line starts with a dot and trave"
      "ls dot-stuffed\r\nBye.\r\n\r\n.\r\n"),
    S("250 2.0.0 Ok: queued as 6C424A77F38\r\n"),
    C("QUIT\r\n"),
    S("221 2.0.0 Bye\r\n"),
};

/* pcaps/mail/smtp-stripped-command-rewritten-by-relay.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_stripped_command_rewritten_by_relay[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("XXXXXXXX\r\n"),
    S("500 5.5.2 Error: command not recognized\r\n"),
    C("MAIL FROM:<alice@netzwacht.test>\r\n"),
    S("250 2.1.0 Ok\r\n"),
    C("RCPT TO:<bob@netzwacht.test>\r\n"),
    S("250 2.1.5 Ok\r\n"),
    C("DATA\r\n"),
    S("354 End data with <CR><LF>.<CR><LF>\r\n"),
    C("Date: Tue, 01 Jun 2021 12:00:00 +0000\r\nFrom: alice@netzwacht.test\r\nTo: bob@netzwacht"
      ".test\r\nSubject: netzwacht capture smtp-stripped-command-rewritten-by-relay\r\nMessage-"
      "ID: <smtp-stripped-command-rewritten-by-relay@client.netzwacht.test>\r\n\r\nShort test m"
      "essage for the netzwacht mail captures.\r\n..this line starts with a dot and travels dot"
      "-stuffed\r\nBye.\r\n\r\n.\r\n"),
    S("250 2.0.0 Ok: queued as B69ADA76FF2\r\n"),
    C("QUIT\r\n"),
    S("221 2.0.0 Bye\r\n"),
};

/* pcaps/mail/smtp-stripped-command-rewritten-by-relay-client-insists.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_stripped_command_rewritten_by_relay_client_insists[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("XXXXXXXX\r\n"),
    S("500 5.5.2 Error: command not recognized\r\n"),
};

/* pcaps/mail/smtp-stripped-command-client-leg.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_stripped_command_client_leg[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
    C("STARTTLS\r\n"),
    S("500 5.5.2 Error: command not recognized\r\n"),
    C("MAIL FROM:<alice@netzwacht.test>\r\n"),
    S("250 2.1.0 Ok\r\n"),
    C("RCPT TO:<bob@netzwacht.test>\r\n"),
    S("250 2.1.5 Ok\r\n"),
    C("DATA\r\n"),
    S("354 End data with <CR><LF>.<CR><LF>\r\n"),
    C("Date: Tue, 01 Jun 2021 12:00:00 +0000\r\nFrom: alice@netzwacht.test\r\nTo: bob@netzwacht"
      ".test\r\nSubject: netzwacht capture smtp-stripped-command-rewritten-by-relay\r\nMessage-"
      "ID: <smtp-stripped-command-rewritten-by-relay@client.netzwacht.test>\r\n\r\nShort test m"
      "essage for the netzwacht mail captures.\r\n..this line starts with a dot and travels dot"
      "-stuffed\r\nBye.\r\n\r\n.\r\n"),
    S("250 2.0.0 Ok: queued as B69ADA76FF2\r\n"),
    C("QUIT\r\n"),
    S("221 2.0.0 Bye\r\n"),
};

/* pcaps/mail/smtp-auth-plain-clear.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_auth_plain_clear[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250"
      "-DSN\r\n250 CHUNKING\r\n"),
    C("AUTH PLAIN AGFsaWNlAGh1bnRlcjI=\r\n"),
    S("235 2.7.0 Authentication successful\r\n"),
    C("MAIL FROM:<alice@netzwacht.test>\r\n"),
    S("250 2.1.0 Ok\r\n"),
    C("RCPT TO:<bob@netzwacht.test>\r\n"),
    S("250 2.1.5 Ok\r\n"),
    C("DATA\r\n"),
    S("354 End data with <CR><LF>.<CR><LF>\r\n"),
    C("Date: Tue, 01 Jun 2021 12:00:00 +0000\r\nFrom: alice@netzwacht.test\r\nTo: bob@netzwacht"
      ".test\r\nSubject: netzwacht capture smtp-auth-plain-clear\r\nMessage-ID: <smtp-auth-plai"
      "n-clear@client.netzwacht.test>\r\n\r\nShort test message for the netzwacht mail captures"
      ".\r\n..this line starts with a dot and travels dot-stuffed\r\nBye.\r\n\r\n.\r\n"),
    S("250 2.0.0 Ok: queued as 73CB3A77E8A\r\n"),
    C("QUIT\r\n"),
    S("221 2.0.0 Bye\r\n"),
};

/* pcaps/mail/smtp-auth-login-clear.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_smtp_auth_login_clear[] = {
    S("220 mail.netzwacht.test ESMTP Postfix (netzwacht test)\r\n"),
    C("EHLO client.netzwacht.test\r\n"),
    S("250-mail.netzwacht.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r"
      "\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250"
      "-DSN\r\n250 CHUNKING\r\n"),
    C("AUTH LOGIN\r\n"),
    S("334 VXNlcm5hbWU6\r\n"),
    C("YWxpY2U=\r\n"),
    S("334 UGFzc3dvcmQ6\r\n"),
    C("aHVudGVyMg==\r\n"),
    S("235 2.7.0 Authentication successful\r\n"),
    C("MAIL FROM:<alice@netzwacht.test>\r\n"),
    S("250 2.1.0 Ok\r\n"),
    C("RCPT TO:<bob@netzwacht.test>\r\n"),
    S("250 2.1.5 Ok\r\n"),
    C("DATA\r\n"),
    S("354 End data with <CR><LF>.<CR><LF>\r\n"),
    C("Date: Tue, 01 Jun 2021 12:00:00 +0000\r\nFrom: alice@netzwacht.test\r\nTo: bob@netzwacht"
      ".test\r\nSubject: netzwacht capture smtp-auth-login-clear\r\nMessage-ID: <smtp-auth-logi"
      "n-clear@client.netzwacht.test>\r\n\r\nShort test message for the netzwacht mail captures"
      ".\r\n..this line starts with a dot and travels dot-stuffed\r\nBye.\r\n\r\n.\r\n"),
    S("250 2.0.0 Ok: queued as 78F7EA77E08\r\n"),
    C("QUIT\r\n"),
    S("221 2.0.0 Bye\r\n"),
};

/* pcaps/mail/imap-starttls.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_imap_starttls[] = {
    S("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH"
      "=PLAIN AUTH=LOGIN] Dovecot (netzwacht test) ready.\r\n"),
    C(". CAPABILITY\r\n"),
    S("* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLA"
      "IN AUTH=LOGIN\r\n. OK Pre-login capabilities listed, post-login capabilities have more.\r"
      "\n"),
    C(". STARTTLS\r\n"),
    S(". OK Begin TLS negotiation now.\r\n"),
    C("\x16\x03\x01\x01@\x01\x00\x01<\x03\x03\xce\x8b\x96\x98\xd4"),
};

/* pcaps/mail/imap-login-clear.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_imap_login_clear[] = {
    S("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH"
      "=PLAIN AUTH=LOGIN] Dovecot (netzwacht test) ready.\r\n"),
    C("DCGF0 CAPABILITY\r\n"),
    S("* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLA"
      "IN AUTH=LOGIN\r\nDCGF0 OK Pre-login capabilities listed, post-login capabilities have mo"
      "re.\r\n"),
    C("DCGF1 LOGIN alice \"hunter2\"\r\n"),
    S("* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=R"
      "EFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CH"
      "ILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARC"
      "HRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW S"
      "TATUS=SIZE SAVEDATE LITERAL+ NOTIFY\r\nDCGF1 OK Logged in\r\n"),
    C("DCGF2 EXAMINE INBOX\r\n"),
    S("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* OK [PERMANENTFLAGS ()] Read"
      "-only mailbox.\r\n* 1 EXISTS\r\n* 1 RECENT\r\n* OK [UNSEEN 1] First unseen.\r\n* OK [UID"
      "VALIDITY 1795926527] UIDs valid\r\n* OK [UIDNEXT 2] Predicted next UID\r\nDCGF2 OK [READ"
      "-ONLY] Examine completed (0.001 + 0.000 secs).\r\n"),
    C("DCGF3 FETCH 1 (BODY.PEEK[])\r\n"),
    S("* 1 FETCH (BODY[] {219}\r\nDate: Tue, 01 Jun 2021 12:00:00 +0000\r\nFrom: bob@netzwacht."
      "test\r\nTo: alice@netzwacht.test\r\nSubject: netzwacht test message\r\nMessage-ID: <seed"
      "-1@netzwacht.test>\r\n\r\nHello alice, this is the only message in this mailbox.\r\n)\r\n"
      "DCGF3 OK Fetch completed (0.001 + 0.000 secs).\r\n"),
    C("DCGF4 LOGOUT\r\n"),
    S("* BYE Logging out\r\nDCGF4 OK Logout completed (0.001 + 0.000 secs).\r\n"),
};

/* pcaps/mail/imap-authenticate-plain-clear.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_imap_authenticate_plain_clear[] = {
    S("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH"
      "=PLAIN AUTH=LOGIN] Dovecot (netzwacht test) ready.\r\n"),
    C("OMPE0 CAPABILITY\r\n"),
    S("* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLA"
      "IN AUTH=LOGIN\r\nOMPE0 OK Pre-login capabilities listed, post-login capabilities have mo"
      "re.\r\n"),
    C("OMPE1 AUTHENTICATE PLAIN\r\n"),
    S("+ \r\n"),
    C("AGFsaWNlAGh1bnRlcjI="),
    C("\r\n"),
    S("* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=R"
      "EFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CH"
      "ILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARC"
      "HRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW S"
      "TATUS=SIZE SAVEDATE LITERAL+ NOTIFY\r\nOMPE1 OK Logged in\r\n"),
    C("OMPE2 EXAMINE INBOX\r\n"),
    S("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* OK [PERMANENTFLAGS ()] Read"
      "-only mailbox.\r\n* 1 EXISTS\r\n* 1 RECENT\r\n* OK [UNSEEN 1] First unseen.\r\n* OK [UID"
      "VALIDITY 1795926527] UIDs valid\r\n* OK [UIDNEXT 2] Predicted next UID\r\nOMPE2 OK [READ"
      "-ONLY] Examine completed (0.001 + 0.000 secs).\r\n"),
    C("OMPE3 LOGOUT\r\n"),
    S("* BYE Logging out\r\nOMPE3 OK Logout completed (0.001 + 0.000 secs).\r\n"),
};

/* pcaps/mail/pop3-stls.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_pop3_stls[] = {
    S("+OK Dovecot (netzwacht test) ready.\r\n"),
    C("STLS\r\n"),
    S("+OK Begin TLS negotiation now.\r\n"),
    C("\x16\x03\x01\x01@\x01\x00\x01<\x03\x03\x0c\x30\x86\x96\x0f"),
};

/* pcaps/mail/pop3-user-pass-clear.pcap (tshark -z follow,tcp,raw,0): one entry per segment;
 * cut after the first 16 bytes of the first TLS record */
static const struct msg cap_pop3_user_pass_clear[] = {
    S("+OK Dovecot (netzwacht test) ready.\r\n"),
    C("CAPA\r\n"),
    S("+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\nUSER"
      "\r\nSASL PLAIN LOGIN\r\n.\r\n"),
    C("USER alice\r\n"),
    S("+OK\r\n"),
    C("PASS hunter2\r\n"),
    S("+OK Logged in.\r\n"),
    C("STAT\r\n"),
    S("+OK 1 219\r\n"),
    C("RETR 1\r\n"),
    S("+OK 219 octets\r\nDate: Tue, 01 Jun 2021 12:00:00 +0000\r\nFrom: bob@netzwacht.test\r\nT"
      "o: alice@netzwacht.test\r\nSubject: netzwacht test message\r\nMessage-ID: <seed-1@netzwa"
      "cht.test>\r\n\r\nHello alice, this is the only message in this mailbox.\r\n.\r\n"),
    C("QUIT\r\n"),
    S("+OK Logging out.\r\n"),
};

struct capture_case {
    const char *pcap;
    const struct dissector *d;
    const struct msg *m;
    size_t n;
    const char *kinds; /* every kind raised, space-separated, in order */
    bool switched;
    const char *user;
};

static const struct capture_case capture_cases[] = {
    {"smtp-starttls-tls13.pcap", &smtp_dissector, cap_smtp_starttls_tls13, NMSG(cap_smtp_starttls_tls13), "", true, ""},
    {"smtp-starttls-tls12.pcap", &smtp_dissector, cap_smtp_starttls_tls12, NMSG(cap_smtp_starttls_tls12), "", true, ""},
    {"smtp-auth-plain-tls.pcap", &smtp_dissector, cap_smtp_auth_plain_tls, NMSG(cap_smtp_auth_plain_tls), "", true, ""},
    {"smtp-history-1-offered.pcap", &smtp_dissector, cap_smtp_history_1_offered, NMSG(cap_smtp_history_1_offered), "", true, ""},
    {"smtp-history-2-not-offered.pcap", &smtp_dissector, cap_smtp_history_2_not_offered, NMSG(cap_smtp_history_2_not_offered), "smtp.starttls_not_offered", false, ""},
    {"smtp-no-starttls.pcap", &smtp_dissector, cap_smtp_no_starttls, NMSG(cap_smtp_no_starttls), "smtp.starttls_not_offered", false, ""},
    {"smtp-starttls-not-used.pcap", &smtp_dissector, cap_smtp_starttls_not_used, NMSG(cap_smtp_starttls_not_used), "smtp.starttls_not_used", false, ""},
    {"smtp-port-2525.pcap", &smtp_dissector, cap_smtp_port_2525, NMSG(cap_smtp_port_2525), "smtp.starttls_not_used", false, ""},
    {"smtp-starttls-454.pcap", &smtp_dissector, cap_smtp_starttls_454, NMSG(cap_smtp_starttls_454), "smtp.starttls_refused", false, ""},
    {"smtp-starttls-failed.pcap", &smtp_dissector, cap_smtp_starttls_failed, NMSG(cap_smtp_starttls_failed), "smtp.starttls_failed", false, ""},
    {"smtp-starttls-failed-close.pcap", &smtp_dissector, cap_smtp_starttls_failed_close, NMSG(cap_smtp_starttls_failed_close), "smtp.starttls_failed", false, ""},
    {"smtp-starttls-injection.pcap", &smtp_dissector, cap_smtp_starttls_injection, NMSG(cap_smtp_starttls_injection), "smtp.starttls_injection", true, ""},
    {"smtp-starttls-injection-server.pcap", &smtp_dissector, cap_smtp_starttls_injection_server, NMSG(cap_smtp_starttls_injection_server), "smtp.starttls_injection", true, ""},
    {"smtp-stripped-capability-rewritten-by-relay.pcap", &smtp_dissector, cap_smtp_stripped_capability_rewritten_by_relay, NMSG(cap_smtp_stripped_capability_rewritten_by_relay), "smtp.starttls_stripped", false, ""},
    {"smtp-stripped-capability-rewritten-by-relay-client-insists.pcap", &smtp_dissector, cap_smtp_stripped_capability_rewritten_by_relay_client_insists, NMSG(cap_smtp_stripped_capability_rewritten_by_relay_client_insists), "smtp.starttls_stripped", false, ""},
    {"smtp-stripped-capability-server-leg.pcap", &smtp_dissector, cap_smtp_stripped_capability_server_leg, NMSG(cap_smtp_stripped_capability_server_leg), "smtp.starttls_not_used", false, ""},
    {"smtp-stripped-command-rewritten-by-relay.pcap", &smtp_dissector, cap_smtp_stripped_command_rewritten_by_relay, NMSG(cap_smtp_stripped_command_rewritten_by_relay), "smtp.starttls_command_blocked", false, ""},
    {"smtp-stripped-command-rewritten-by-relay-client-insists.pcap", &smtp_dissector, cap_smtp_stripped_command_rewritten_by_relay_client_insists, NMSG(cap_smtp_stripped_command_rewritten_by_relay_client_insists), "smtp.starttls_command_blocked", false, ""},
    {"smtp-stripped-command-client-leg.pcap", &smtp_dissector, cap_smtp_stripped_command_client_leg, NMSG(cap_smtp_stripped_command_client_leg), "smtp.starttls_refused", false, ""},
    {"smtp-auth-plain-clear.pcap", &smtp_dissector, cap_smtp_auth_plain_clear, NMSG(cap_smtp_auth_plain_clear), "smtp.starttls_not_used smtp.plaintext_auth", false, "alice"},
    {"smtp-auth-login-clear.pcap", &smtp_dissector, cap_smtp_auth_login_clear, NMSG(cap_smtp_auth_login_clear), "smtp.starttls_not_used smtp.plaintext_auth", false, "alice"},
    {"imap-starttls.pcap", &imap_dissector, cap_imap_starttls, NMSG(cap_imap_starttls), "", true, ""},
    {"imap-login-clear.pcap", &imap_dissector, cap_imap_login_clear, NMSG(cap_imap_login_clear), "imap.starttls_not_used imap.plaintext_auth", false, "alice"},
    {"imap-authenticate-plain-clear.pcap", &imap_dissector, cap_imap_authenticate_plain_clear, NMSG(cap_imap_authenticate_plain_clear), "imap.starttls_not_used imap.plaintext_auth", false, "alice"},
    {"pop3-stls.pcap", &pop3_dissector, cap_pop3_stls, NMSG(cap_pop3_stls), "", true, ""},
    {"pop3-user-pass-clear.pcap", &pop3_dissector, cap_pop3_user_pass_clear, NMSG(cap_pop3_user_pass_clear), "pop3.starttls_not_used pop3.plaintext_auth", false, "alice"},
};

START_TEST(test_captures)
{
    const struct capture_case *c = &capture_cases[_i];
    struct out o;
    run_all(c->d, c->m, c->n, &o);
    char kinds[512] = "";
    for (int i = 0; i < o.nfind && i < MAX_FIND; i++) {
        if (kinds[0])
            strcat(kinds, " ");
        strcat(kinds, finding_kind_info(o.f[i].kind)->name);
    }
    ck_assert_msg(strcmp(kinds, c->kinds) == 0, "%s: kinds '%s', expected '%s'", c->pcap, kinds, c->kinds);
    ck_assert_msg(o.switched == c->switched, "%s: switched %d", c->pcap, o.switched);
    if (o.switched) {
        ck_assert_int_eq(o.switch_dir, 0);
        ck_assert(o.tls_first[0][0] == 0x16 && o.tls_first[0][1] == 0x03);
        ck_assert(o.rec.tls_started);
    }
    ck_assert_str_eq(o.rec.auth_user, c->user);
    ck_assert_str_eq(o.rec.proto, c->d->name);
    ck_assert(o.rec.greeting[0] != '\0');
    ck_assert_uint_eq(o.rec.bad_lines, 0);
    ck_assert(!(o.rec.flags & (MAIL_F_UNPAIRED | MAIL_F_NO_GREETING | MAIL_F_QUEUE_FULL)));
    if (c->d == &smtp_dissector)
        ck_assert_str_eq(o.rec.greeting_host, "mail.netzwacht.test");
    assert_absent(&o, "hunter2");
    assert_absent(&o, "aHVudGVyMg");   /* base64 "hunter2" */
    assert_absent(&o, "AGFsaWNlAGh1"); /* base64 "\0alice\0hu…" (AUTH PLAIN blob) */
    free(o.dump);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Helpers: base64, masks */

START_TEST(test_b64_vectors)
{
    /* RFC 4648 §10 test vectors */
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""}, {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"}, {"Zm9vYg==", "foob"},
             {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"}};
    for (size_t i = 0; i < NMSG(v); i++) {
        uint8_t *g = tu_guard(v[i].in, strlen(v[i].in));
        struct bytes b = {g, strlen(v[i].in)};
        uint8_t out[16];
        size_t n = mail_b64_decode(b, out, sizeof out);
        ck_assert_uint_eq(n, strlen(v[i].out));
        ck_assert(memcmp(out, v[i].out, n) == 0);
        tu_guard_free(g, b.len);
    }
}
END_TEST

START_TEST(test_b64_stops)
{
    uint8_t out[16];
    /* stops at a byte outside the alphabet, and at the cap */
    const char *s = "Zm9v!Zm9v";
    uint8_t *g = tu_guard(s, strlen(s));
    struct bytes b = {g, strlen(s)};
    ck_assert_uint_eq(mail_b64_decode(b, out, sizeof out), 3);
    ck_assert_uint_eq(mail_b64_decode(b, out, 2), 2);
    ck_assert(memcmp(out, "fo", 2) == 0);
    tu_guard_free(g, b.len);
    /* a partial last group of < 8 bits is dropped */
    const char *t = "Zm9vY";
    g = tu_guard(t, strlen(t));
    struct bytes c = {g, strlen(t)};
    ck_assert_uint_eq(mail_b64_decode(c, out, sizeof out), 3);
    tu_guard_free(g, c.len);
}
END_TEST

static bool masked(const char *s, size_t len)
{
    uint8_t *g = tu_guard(s, strlen(s));
    struct bytes b = {g, strlen(s)};
    bool r = mail_is_masked(b, len);
    tu_guard_free(g, b.len);
    return r;
}

START_TEST(test_masked)
{
    ck_assert(masked("XXXXXXXA", 8));
    ck_assert(masked("XXXXXXXX", 8));
    ck_assert(masked("********", 8));
    ck_assert(masked("XXXAXXXX", 8));
    ck_assert(masked("xxxxxxxx", 8));
    ck_assert(masked("XXXA", 4));
    ck_assert(!masked("XXXXXXAA", 8));  /* two other bytes */
    ck_assert(!masked("XXXXXXXXA", 8)); /* wrong length */
    ck_assert(!masked("STARTTLS", 8));
    ck_assert(!masked("CHUNKING", 8));
    ck_assert(!masked("XXXXXXXA", 4));
    ck_assert(!masked("", 0));
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Probes */

static enum dis_probe probe(const struct dissector *d, const char *s, int dir)
{
    uint8_t *g = tu_guard(s, strlen(s));
    struct bytes b = {g, strlen(s)};
    enum dis_probe r = d->probe(b, dir);
    tu_guard_free(g, b.len);
    return r;
}

START_TEST(test_probe_smtp)
{
    const struct dissector *d = &smtp_dissector;
    ck_assert_int_eq(probe(d, GREET, 1), DIS_PROBE_YES);
    ck_assert_int_eq(probe(d, "220-mail.example.test ESMTP\r\n", 1), DIS_PROBE_YES);
    ck_assert_int_eq(probe(d, "220 ****************************\r\n", 1), DIS_PROBE_YES);
    ck_assert_int_eq(probe(d, "22", 1), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe(d, "220", 1), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe(d, "220 mail.exam", 1), DIS_PROBE_MAYBE); /* line not complete */
    ck_assert_int_eq(probe(d, "220 mx1 ready\r\n", 1), DIS_PROBE_MAYBE); /* needs the client */
    ck_assert_int_eq(probe(d, "220 (vsFTPd 3.0.3)\r\n", 1), DIS_PROBE_NO);
    ck_assert_int_eq(probe(d, "HTTP/1.1 200 OK\r\n", 1), DIS_PROBE_NO);
    ck_assert_int_eq(probe(d, "2200", 1), DIS_PROBE_NO);
    ck_assert_int_eq(probe(d, "", 1), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe(d, EHLO, 0), DIS_PROBE_YES);
    ck_assert_int_eq(probe(d, "helo x\r\n", 0), DIS_PROBE_YES);
    ck_assert_int_eq(probe(d, "EHL", 0), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe(d, "GET / HTTP/1.1\r\n", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe(d, CH, 0), DIS_PROBE_NO);
}
END_TEST

START_TEST(test_probe_imap_pop3)
{
    ck_assert_int_eq(probe(&imap_dissector, "* OK [CAPABILITY IMAP4rev1] ready\r\n", 1), DIS_PROBE_YES);
    ck_assert_int_eq(probe(&imap_dissector, "* PREAUTH hi\r\n", 1), DIS_PROBE_YES);
    ck_assert_int_eq(probe(&imap_dissector, "* O", 1), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe(&imap_dissector, "+OK ready\r\n", 1), DIS_PROBE_NO);
    ck_assert_int_eq(probe(&imap_dissector, GREET, 1), DIS_PROBE_NO);
    ck_assert_int_eq(probe(&imap_dissector, "a1 CAPABILITY\r\n", 0), DIS_PROBE_YES);
    ck_assert_int_eq(probe(&imap_dissector, "A0001 starttls\r\n", 0), DIS_PROBE_YES);
    ck_assert_int_eq(probe(&imap_dissector, "a1 CAPA", 0), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe(&imap_dissector, "a1 SELECT INBOX\r\n", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe(&imap_dissector, "GET / HTTP/1.1\r\n", 0), DIS_PROBE_NO);
    ck_assert_int_eq(probe(&pop3_dissector, "+OK Dovecot (Debian) ready.\r\n", 1), DIS_PROBE_YES);
    ck_assert_int_eq(probe(&pop3_dissector, "+O", 1), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe(&pop3_dissector, "+OKAY", 1), DIS_PROBE_NO);
    ck_assert_int_eq(probe(&pop3_dissector, "* OK hi\r\n", 1), DIS_PROBE_NO);
    ck_assert_int_eq(probe(&pop3_dissector, "CAPA\r\n", 0), DIS_PROBE_YES);
    ck_assert_int_eq(probe(&pop3_dissector, "STLS\r\n", 0), DIS_PROBE_YES);
    ck_assert_int_eq(probe(&pop3_dissector, "CAP", 0), DIS_PROBE_MAYBE);
    ck_assert_int_eq(probe(&pop3_dissector, "USER bob\r\n", 0), DIS_PROBE_NO);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* SMTP: the upgrade */

static const struct msg smtp_clean[] = {
    S(GREET), C(EHLO), S(EHLO_TLS), C("STARTTLS\r\n"), S(READY), C(CH "\x00\x00\x00"), S(SH),
};

START_TEST(test_smtp_clean_starttls)
{
    struct out o;
    run_all(&smtp_dissector, smtp_clean, NMSG(smtp_clean), &o);
    ck_assert(o.switched);
    ck_assert_int_eq(o.switch_dir, 0);
    ck_assert_str_eq(o.started_by, "smtp-starttls");
    ck_assert_uint_eq(o.tls_bytes[0], sizeof(CH "\x00\x00\x00") - 1); /* the whole ClientHello */
    ck_assert(memcmp(o.tls_first[0], "\x16\x03\x01", 3) == 0);
    ck_assert_uint_eq(o.tls_bytes[1], sizeof(SH) - 1);
    ck_assert_int_eq(max_sev(&o, "smtp."), -1); /* no smtp.* finding at all */
    const struct mail_session_rec *r = &o.rec;
    ck_assert_int_eq(r->protocol, MAIL_PROTO_SMTP);
    ck_assert_str_eq(r->proto, "smtp");
    ck_assert_uint_eq(r->flow_id, 7);
    ck_assert_str_eq(r->greeting_host, "mail.example.test");
    ck_assert_uint_eq(r->greeting_code, 220);
    ck_assert_str_eq(r->greeting, "220 mail.example.test ESMTP Postfix (Debian/GNU)");
    ck_assert_str_eq(r->helo, "client.example.test");
    ck_assert(r->ehlo);
    ck_assert(r->caps_seen);
    ck_assert_str_eq(r->capabilities,
                     "PIPELINING SIZE VRFY ETRN STARTTLS AUTH ENHANCEDSTATUSCODES 8BITMIME DSN SMTPUTF8 CHUNKING");
    ck_assert_str_eq(r->auth_mechs, "PLAIN LOGIN");
    ck_assert(r->caps & MAIL_CAP_STARTTLS);
    ck_assert(r->caps & MAIL_CAP_PIPELINING);
    ck_assert(r->caps & MAIL_CAP_CHUNKING);
    ck_assert(r->caps & MAIL_CAP_AUTH);
    ck_assert(r->caps & MAIL_CAP_SIZE);
    ck_assert(r->caps & MAIL_CAP_8BITMIME);
    ck_assert(r->caps & MAIL_CAP_SMTPUTF8);
    ck_assert(!(r->caps & MAIL_CAP_MASKED));
    ck_assert(r->starttls_offered);
    ck_assert(r->starttls_requested);
    ck_assert_uint_eq(r->starttls_reply_code, 220);
    ck_assert_str_eq(r->starttls_reply, "220 2.0.0 Ready to start TLS");
    ck_assert(r->starttls_accepted);
    ck_assert(r->tls_started);
    ck_assert_uint_eq(r->plaintext_commands, 2);
    ck_assert(!r->mail_in_clear);
    ck_assert_uint_eq(r->verdicts, 0);
    ck_assert_uint_eq(r->flags, 0);
    ck_assert_uint_eq(r->ts_usec, 1000000);
    ck_assert_uint_eq(r->ts_end_usec, 1005000); /* emitted at the switch, not at close */
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_refused)
{
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_TLS), C("STARTTLS\r\n"),
        S("454 4.7.0 TLS not available due to local problem\r\n"), C("QUIT\r\n"), S("221 2.0.0 Bye\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert(!o.switched);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_refused"), 1);
    const struct finding *f = find_kind(&o, "smtp.starttls_refused");
    ck_assert_int_eq(f->severity, NZ_SEV_MEDIUM);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"reply_code\":454"));
    ck_assert_ptr_nonnull(strstr(f->evidence, "454 4.7.0 TLS not available due to local problem"));
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"capability_line\":\"250-STARTTLS\""));
    ck_assert_ptr_nonnull(strstr(f->summary, "454"));
    ck_assert_int_eq(o.nfind, 1);
    ck_assert_uint_eq(o.rec.starttls_reply_code, 454);
    ck_assert(!o.rec.starttls_accepted);
    ck_assert(!o.rec.tls_started);
    ck_assert_uint_eq(o.rec.verdicts, MAIL_V_STARTTLS_REFUSED);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_refused_5xx)
{
    /* 502 to a literal STARTTLS is a refusal, not command_blocked (the verb was not masked) */
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("STARTTLS\r\n"), S("502 5.5.2 Error: command not recognized\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_refused"), 1);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_command_blocked"), 0);
    ck_assert_ptr_nonnull(strstr(find_kind(&o, "smtp.starttls_refused")->evidence, "\"starttls_offered\":false"));
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_stripped)
{
    /* client leg of the rewriting relay: 250-STARTTLS arrives as 250-XXXXXXXA */
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_MASKED), C("MAIL FROM:<a@example.test>\r\n"), S("250 2.1.0 Ok\r\n"),
        C("QUIT\r\n"), S("221 2.0.0 Bye\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_stripped"), 1);
    const struct finding *f = find_kind(&o, "smtp.starttls_stripped");
    ck_assert_int_eq(f->severity, NZ_SEV_HIGH);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"capability_line\":\"250-XXXXXXXA\""));
    ck_assert_ptr_nonnull(strstr(f->summary, "masked as 'XXXXXXXA'"));
    /* stripped subsumes not_offered */
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_not_offered"), 0);
    ck_assert(o.rec.caps & MAIL_CAP_MASKED);
    ck_assert(!o.rec.starttls_offered);
    ck_assert_ptr_nonnull(strstr(o.rec.capabilities, "XXXXXXXA"));
    ck_assert(o.rec.mail_in_clear);
    ck_assert_uint_eq(o.rec.verdicts, MAIL_V_STARTTLS_STRIPPED);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_stripped_near_miss)
{
    /* a masked-looking keyword next to a real STARTTLS, and 8-char keywords: not stripped */
    static const struct msg m[] = {
        S(GREET), C(EHLO),
        S("250-mail.example.test\r\n250-XXXXXXXB\r\n250-STARTTLS\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"),
        C("STARTTLS\r\n"), S(READY), C(CH),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_int_eq(o.nfind, 0);
    ck_assert(o.rec.starttls_offered);
    ck_assert(o.switched);
    free(o.dump);
    static const struct msg m2[] = {
        S(GREET), C(EHLO), S("250-mail.example.test\r\n250-XXXXXXXXA\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"),
        C("QUIT\r\n"), S("221 2.0.0 Bye\r\n"),
    };
    run_all(&smtp_dissector, m2, NMSG(m2), &o);
    ck_assert_int_eq(o.nfind, 0); /* 9 bytes: not STARTTLS' length; no mail moved */
    ck_assert(!(o.rec.caps & MAIL_CAP_MASKED));
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_command_blocked)
{
    /* server leg of the rewriting relay: the client's STARTTLS arrives as XXXXXXXX */
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_TLS), C("XXXXXXXX\r\n"), S("502 5.5.2 Error: command not recognized\r\n"),
        C("MAIL FROM:<a@example.test>\r\n"), S("250 2.1.0 Ok\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_command_blocked"), 1);
    const struct finding *f = find_kind(&o, "smtp.starttls_command_blocked");
    ck_assert_int_eq(f->severity, NZ_SEV_HIGH);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"command\":\"XXXXXXXX\""));
    ck_assert_ptr_nonnull(strstr(f->evidence, "502 5.5.2 Error: command not recognized"));
    /* the client tried: no not_used on top; no refusal either (the verb never arrived) */
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_not_used"), 0);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_refused"), 0);
    ck_assert_uint_eq(o.rec.verdicts, MAIL_V_STARTTLS_COMMAND_BLOCKED);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_command_blocked_near_miss)
{
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("XXXXXXXX\r\n"), S("250 2.0.0 Ok\r\n"), C("XXXXXXXXXX\r\n"),
        S("502 5.5.2 Error: command not recognized\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_int_eq(o.nfind, 0);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_failed_plaintext)
{
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_TLS), C("STARTTLS\r\n"), S(READY), C(EHLO), S(EHLO_TLS),
        C("MAIL FROM:<a@example.test>\r\n"), S("250 2.1.0 Ok\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert(!o.switched);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_failed"), 1);
    const struct finding *f = find_kind(&o, "smtp.starttls_failed");
    ck_assert_int_eq(f->severity, NZ_SEV_HIGH);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"plaintext_after\":\"EHLO client.example.test\""));
    ck_assert_ptr_nonnull(strstr(f->evidence, "220 2.0.0 Ready to start TLS"));
    ck_assert_uint_eq(f->ts_usec, 1005000);
    ck_assert(o.rec.flags & MAIL_F_STARTTLS_PLAINTEXT);
    ck_assert(o.rec.starttls_accepted);
    ck_assert(!o.rec.tls_started);
    ck_assert(o.rec.mail_in_clear);
    /* plaintext after a failed upgrade is parsed on: the second EHLO counted */
    ck_assert_uint_eq(o.rec.plaintext_commands, 4);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_injection"), 0);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_failed_close)
{
    static const struct msg m[] = {S(GREET), C(EHLO), S(EHLO_TLS), C("STARTTLS\r\n"), S(READY)};
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_failed"), 1);
    ck_assert_ptr_nonnull(strstr(find_kind(&o, "smtp.starttls_failed")->evidence, "\"closed\":true"));
    ck_assert_uint_eq(o.rec.verdicts, MAIL_V_STARTTLS_FAILED);
    free(o.dump);
    /* near miss: the ClientHello follows: no failed */
    run_all(&smtp_dissector, smtp_clean, NMSG(smtp_clean), &o);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_failed"), 0);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_tls_record_one_byte)
{
    /* the 0x16 arrives alone: the dissector waits for the second byte before deciding */
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_TLS), C("STARTTLS\r\n"), S(READY), C("\x16"), C("\x03\x01\x00\x10"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert(o.switched);
    ck_assert_uint_eq(o.tls_bytes[0], 5);
    ck_assert(memcmp(o.tls_first[0], "\x16\x03\x01\x00\x10", 5) == 0);
    ck_assert_int_eq(o.nfind, 0);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_injection_client)
{
    /* CVE-2011-0411 shape: STARTTLS and RSET in one segment */
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_TLS), C("STARTTLS\r\nRSET\r\n"), S(READY), C(CH),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert(o.switched);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_injection"), 1);
    const struct finding *f = find_kind(&o, "smtp.starttls_injection");
    ck_assert_int_eq(f->severity, NZ_SEV_HIGH);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"side\":\"client\""));
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"injected\":\"RSET\\r\\n\""));
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"injected_bytes\":6"));
    ck_assert_uint_eq(f->ts_usec, 1004000); /* decided at the reply */
    ck_assert_uint_eq(o.rec.verdicts, MAIL_V_STARTTLS_INJECTION);
    free(o.dump);
    /* the same bytes in a later client segment, still before the reply */
    static const struct msg m2[] = {
        S(GREET), C(EHLO), S(EHLO_TLS), C("STARTTLS\r\n"), C("MAIL FROM:<evil@example.test>\r\n"), S(READY),
        C(CH),
    };
    run_all(&smtp_dissector, m2, NMSG(m2), &o);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_injection"), 1);
    ck_assert_ptr_nonnull(strstr(find_kind(&o, "smtp.starttls_injection")->evidence, "evil@example.test"));
    free(o.dump);
    /* near miss: a pipelined group that ENDS with STARTTLS is fine */
    static const struct msg m3[] = {
        S(GREET), C("EHLO client.example.test\r\nSTARTTLS\r\n"), S(EHLO_TLS READY), C(CH),
    };
    run_all(&smtp_dissector, m3, NMSG(m3), &o);
    ck_assert_int_eq(o.nfind, 0);
    ck_assert(o.switched);
    ck_assert(o.rec.flags & MAIL_F_PIPELINING);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_injection_long)
{
    /* evidence capped at MAIL_EVIDENCE_MAX; the count is the real one */
    char big[1200];
    memcpy(big, "STARTTLS\r\n", 10);
    for (size_t i = 10; i < sizeof big; i += 6)
        memcpy(big + i, "NOOP\r\n", sizeof big - i < 6 ? sizeof big - i : 6);
    struct msg m[] = {S(GREET), C(EHLO), S(EHLO_TLS), {0, big, sizeof big}, S(READY), C(CH)};
    struct out o;
    run(&smtp_dissector, m, NMSG(m), WHOLE, 0, &o);
    const struct finding *f = find_kind(&o, "smtp.starttls_injection");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"injected_bytes\":1190"));
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_injection_server)
{
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_TLS), C("STARTTLS\r\n"), S(READY "250-injected\r\n"), S("250 more\r\n"), C(CH),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert(o.switched);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_injection"), 1);
    const struct finding *f = find_kind(&o, "smtp.starttls_injection");
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"side\":\"server\""));
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"injected\":\"250-injected\\r\\n250 more\\r\\n\""));
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_failed"), 0);
    free(o.dump);
    /* both sides in one session: two findings of the kind */
    static const struct msg m2[] = {
        S(GREET), C(EHLO), S(EHLO_TLS), C("STARTTLS\r\nNOOP\r\n"), S(READY "250 x\r\n"),
    };
    run_all(&smtp_dissector, m2, NMSG(m2), &o);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_injection"), 2);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_failed"), 1);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_injection_then_tls)
{
    /* fuzz_mail regression: TLS bytes AFTER injected plaintext are injected bytes too, however
     * the segment is cut (a call starting at the 0x16 must not make them an early ClientHello) */
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_TLS), C("STARTTLS\r\nRSET\r\n" CH), S(READY), C(CH),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert(!(o.rec.flags & MAIL_F_EARLY_TLS));
    const struct finding *f = find_kind(&o, "smtp.starttls_injection");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"injected_bytes\":17"));
    ck_assert(o.switched);
    ck_assert_int_eq(o.switch_dir, 0);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_early_tls_overflow)
{
    /* more than one TLS record's worth of "early" bytes: taken as injected, not held */
    size_t n = MAIL_EARLY_TLS_MAX + 100;
    char *big = malloc(n + 10);
    ck_assert_ptr_nonnull(big);
    memcpy(big, "STARTTLS\r\n", 10);
    memcpy(big + 10, CH, sizeof(CH) - 1);
    memset(big + 10 + sizeof(CH) - 1, 0x41, n - (sizeof(CH) - 1));
    struct msg m[] = {S(GREET), C(EHLO), S(EHLO_TLS), {0, big, n + 10}, S(READY), C(CH)};
    struct out o;
    run_some(&smtp_dissector, m, NMSG(m), 1999, &o);
    ck_assert(!(o.rec.flags & MAIL_F_EARLY_TLS));
    const struct finding *f = find_kind(&o, "smtp.starttls_injection");
    ck_assert_ptr_nonnull(f);
    char want[64];
    snprintf(want, sizeof want, "\"injected_bytes\":%zu", n);
    ck_assert_ptr_nonnull(strstr(f->evidence, want));
    ck_assert(o.switched);
    free(o.dump);
    free(big);
}
END_TEST

START_TEST(test_smtp_early_tls)
{
    /* an eager client sends its ClientHello before the 220: not injection; switch at the 220 */
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_TLS), C("STARTTLS\r\n" CH), S(READY SH),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert(o.switched);
    ck_assert_int_eq(o.switch_dir, 1);
    ck_assert_uint_eq(o.tls_bytes[1], sizeof(SH) - 1); /* the server's rest goes to TLS */
    /* and so does the client's held ClientHello, as in the pipeline (the engine's driver hands
     * both directions' tails to the next dissector; the old private harness dropped it) */
    ck_assert_uint_eq(o.tls_bytes[0], sizeof(CH) - 1);
    ck_assert(memcmp(o.tls_first[0], CH, 8) == 0);
    ck_assert_int_eq(o.nfind, 0);
    ck_assert(o.rec.flags & MAIL_F_EARLY_TLS);
    ck_assert(o.rec.tls_started);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_not_used)
{
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_TLS), C("MAIL FROM:<a@example.test>\r\n"), S("250 2.1.0 Ok\r\n"),
        C("RCPT TO:<b@example.test>\r\n"), S("250 2.1.5 Ok\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_not_used"), 1);
    const struct finding *f = find_kind(&o, "smtp.starttls_not_used");
    ck_assert_int_eq(f->severity, NZ_SEV_MEDIUM);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"command\":\"MAIL\""));
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"capability_line\":\"250-STARTTLS\""));
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_not_offered"), 0);
    ck_assert(o.rec.mail_in_clear);
    ck_assert_uint_eq(o.rec.rcpts, 1);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_not_offered)
{
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("MAIL FROM:<a@example.test>\r\n"), S("250 2.1.0 Ok\r\n"),
        C("RCPT TO:<b@example.test>\r\n"), S("250 2.1.5 Ok\r\n"), C("DATA\r\n"),
        S("354 End data with <CR><LF>.<CR><LF>\r\n"), C("Subject: hi\r\n\r\nbody\r\n.\r\n"),
        S("250 2.0.0 Ok: queued as 4Xyz\r\n"), C("QUIT\r\n"), S("221 2.0.0 Bye\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_not_offered"), 1);
    const struct finding *f = find_kind(&o, "smtp.starttls_not_offered");
    ck_assert_int_eq(f->severity, NZ_SEV_MEDIUM);
    ck_assert_ptr_nonnull(strstr(f->evidence, "250 2.1.0 Ok"));
    ck_assert_ptr_nonnull(strstr(f->evidence, "PIPELINING SIZE"));
    ck_assert_int_eq(o.nfind, 1);
    ck_assert_uint_eq(o.rec.messages, 1);
    ck_assert_uint_eq(o.rec.message_bytes, sizeof("Subject: hi\r\n\r\nbody\r\n") - 1);
    ck_assert(!o.rec.starttls_offered);
    ck_assert(o.rec.caps_seen);
    free(o.dump);
    /* near misses: no mail moved; HELO only (capabilities unknown) */
    static const struct msg m2[] = {S(GREET), C(EHLO), S(EHLO_NOTLS), C("QUIT\r\n"), S("221 2.0.0 Bye\r\n")};
    run_all(&smtp_dissector, m2, NMSG(m2), &o);
    ck_assert_int_eq(o.nfind, 0);
    free(o.dump);
    static const struct msg m3[] = {
        S(GREET), C("HELO client\r\n"), S("250 mail.example.test\r\n"), C("MAIL FROM:<a@example.test>\r\n"),
        S("250 2.1.0 Ok\r\n"),
    };
    run_all(&smtp_dissector, m3, NMSG(m3), &o);
    ck_assert_int_eq(o.nfind, 0);
    ck_assert(!o.rec.caps_seen);
    ck_assert(!o.rec.ehlo);
    ck_assert_str_eq(o.rec.helo, "client");
    free(o.dump);
    /* EHLO rejected (no ESMTP at all), then HELO and mail: not offered */
    static const struct msg m4[] = {
        S(GREET), C(EHLO), S("502 5.5.2 Error: command not recognized\r\n"), C("HELO client\r\n"),
        S("250 mail.example.test\r\n"), C("MAIL FROM:<a@example.test>\r\n"), S("250 2.1.0 Ok\r\n"),
    };
    run_all(&smtp_dissector, m4, NMSG(m4), &o);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_not_offered"), 1);
    free(o.dump);
    /* MAIL refused: nothing moved */
    static const struct msg m5[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("MAIL FROM:<a@example.test>\r\n"),
        S("530 5.7.0 Must issue a STARTTLS command first\r\n"),
    };
    run_all(&smtp_dissector, m5, NMSG(m5), &o);
    ck_assert_int_eq(o.nfind, 0);
    ck_assert(!o.rec.mail_in_clear);
    free(o.dump);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* SMTP: AUTH */

/* "\0alice\0Secr3tPw!" and friends; none of these strings may appear in anything emitted. */
#define PLAIN_B64 "AGFsaWNlAFNlY3IzdFB3IQ=="   /* \0alice\0Secr3tPw! */
#define LOGIN_USER "YWxpY2U="                  /* alice */
#define LOGIN_PASS "U2VjcjN0UHch"              /* Secr3tPw! */

static void assert_no_secret(const struct out *o)
{
    assert_absent(o, "Secr3tPw");
    assert_absent(o, PLAIN_B64);
    assert_absent(o, "AGFsaWNl");
    assert_absent(o, LOGIN_PASS);
    assert_absent(o, "U2VjcjN0");
}

START_TEST(test_smtp_auth_plain_ir)
{
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("AUTH PLAIN " PLAIN_B64 "\r\n"),
        S("235 2.7.0 Authentication successful\r\n"), C("QUIT\r\n"), S("221 2.0.0 Bye\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_int_eq(count_kind(&o, "smtp.plaintext_auth"), 1);
    const struct finding *f = find_kind(&o, "smtp.plaintext_auth");
    ck_assert_int_eq(f->severity, NZ_SEV_HIGH);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"mechanism\":\"PLAIN\""));
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"user\":\"alice\""));
    ck_assert_str_eq(o.rec.auth_mech, "PLAIN");
    ck_assert_str_eq(o.rec.auth_user, "alice");
    ck_assert(o.rec.auth_in_clear);
    ck_assert(o.rec.auth_ok);
    ck_assert_uint_eq(o.rec.auth_attempts, 1);
    ck_assert_uint_eq(o.rec.verdicts, MAIL_V_PLAINTEXT_AUTH);
    assert_no_secret(&o);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_auth_plain_334)
{
    /* with an authzid; response after an empty 334; STARTTLS was offered: not_used too */
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_TLS), C("AUTH PLAIN\r\n"), S("334 \r\n"),
        C("YWRtaW4AYWxpY2UAU2VjcjN0UHch\r\n"), /* admin\0alice\0Secr3tPw! */
        S("535 5.7.8 Error: authentication failed\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_int_eq(count_kind(&o, "smtp.plaintext_auth"), 1);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_not_used"), 1);
    ck_assert_ptr_nonnull(strstr(find_kind(&o, "smtp.starttls_not_used")->evidence, "\"command\":\"AUTH\""));
    ck_assert_str_eq(o.rec.auth_user, "alice");
    ck_assert(!o.rec.auth_ok);
    ck_assert_uint_eq(o.rec.plaintext_commands, 2); /* the response is not a command */
    assert_no_secret(&o);
    assert_absent(&o, "YWRtaW4AYWxpY2UAU2VjcjN0UHch");
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_auth_login)
{
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("AUTH LOGIN\r\n"), S("334 VXNlcm5hbWU6\r\n"), C(LOGIN_USER "\r\n"),
        S("334 UGFzc3dvcmQ6\r\n"), C(LOGIN_PASS "\r\n"), S("235 2.7.0 Authentication successful\r\n"),
        C("MAIL FROM:<alice@example.test>\r\n"), S("250 2.1.0 Ok\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    const struct finding *f = find_kind(&o, "smtp.plaintext_auth");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->severity, NZ_SEV_HIGH);
    ck_assert_uint_eq(f->ts_usec, 1007000); /* raised when the password crossed */
    ck_assert_str_eq(o.rec.auth_mech, "LOGIN");
    ck_assert_str_eq(o.rec.auth_user, "alice");
    ck_assert(o.rec.auth_ok);
    ck_assert(o.rec.mail_in_clear);
    ck_assert_uint_eq(o.rec.plaintext_commands, 3);
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_not_offered"), 1);
    assert_no_secret(&o);
    assert_absent(&o, LOGIN_USER);
    free(o.dump);
    /* initial response carries the user name */
    static const struct msg m2[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("AUTH LOGIN " LOGIN_USER "\r\n"), S("334 UGFzc3dvcmQ6\r\n"),
        C(LOGIN_PASS "\r\n"), S("235 2.7.0 Authentication successful\r\n"),
    };
    run_all(&smtp_dissector, m2, NMSG(m2), &o);
    ck_assert_int_eq(count_kind(&o, "smtp.plaintext_auth"), 1);
    ck_assert_str_eq(o.rec.auth_user, "alice");
    assert_no_secret(&o);
    free(o.dump);
    /* cancelled before the password: no verdict */
    static const struct msg m3[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("AUTH LOGIN\r\n"), S("334 VXNlcm5hbWU6\r\n"), C(LOGIN_USER "\r\n"),
        S("334 UGFzc3dvcmQ6\r\n"), C("*\r\n"), S("501 5.7.0 Authentication aborted\r\n"), C("QUIT\r\n"),
        S("221 2.0.0 Bye\r\n"),
    };
    run_all(&smtp_dissector, m3, NMSG(m3), &o);
    ck_assert_int_eq(o.nfind, 0);
    ck_assert(!o.rec.auth_in_clear);
    ck_assert_uint_eq(o.rec.auth_attempts, 1);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_auth_cram_xoauth)
{
    /* CRAM-MD5: base64("alice 6b3a2f...") — a crackable response: low */
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("AUTH CRAM-MD5\r\n"),
        S("334 PDQxOTI5NDIzNDEuMTI4Mjg0NzJAc291cmNlZm91ci5hbmRyZXcuY211LmVkdT4=\r\n"),
        C("YWxpY2UgNmIzYTJmYzQ1ZmUzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc=\r\n"),
        S("235 2.7.0 Authentication successful\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    const struct finding *f = find_kind(&o, "smtp.plaintext_auth");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->severity, NZ_SEV_LOW);
    ck_assert_str_eq(o.rec.auth_mech, "CRAM-MD5");
    ck_assert_str_eq(o.rec.auth_user, "alice");
    assert_absent(&o, "6b3a2fc45fe3");
    free(o.dump);
    /* XOAUTH2 initial response: user=bob@example.test^Aauth=Bearer ya29.SecretToken^A^A */
    static const struct msg m2[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS),
        C("AUTH XOAUTH2 dXNlcj1ib2JAZXhhbXBsZS50ZXN0AWF1dGg9QmVhcmVyIHlhMjkuU2VjcmV0VG9rZW4BAQ==\r\n"),
        S("235 2.7.0 Accepted\r\n"),
    };
    run_all(&smtp_dissector, m2, NMSG(m2), &o);
    f = find_kind(&o, "smtp.plaintext_auth");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->severity, NZ_SEV_HIGH);
    ck_assert_str_eq(o.rec.auth_user, "bob@example.test");
    assert_absent(&o, "SecretToken");
    assert_absent(&o, "dXNlcj1ib2JAZXhhbXBsZS50ZXN0AWF1dGg9");
    free(o.dump);
    /* SCRAM: user recorded, no verdict (the proof does not reveal the password) */
    static const struct msg m3[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("AUTH SCRAM-SHA-256 biwsbj1jYXJvbCxyPW5vbmNl\r\n"), /* n,,n=carol,r=nonce */
        S("334 cj1ub25jZXNlcnZlcixzPXNhbHQsaT00MDk2\r\n"), C("Yz1iaXdzLHI9bm9uY2VzZXJ2ZXIscD1wcm9vZg==\r\n"),
        S("334 dj1zaWc=\r\n"), C("\r\n"), S("235 2.7.0 Authentication successful\r\n"),
    };
    run_all(&smtp_dissector, m3, NMSG(m3), &o);
    ck_assert_int_eq(o.nfind, 0);
    ck_assert_str_eq(o.rec.auth_mech, "SCRAM-SHA-256");
    ck_assert_str_eq(o.rec.auth_user, "carol");
    ck_assert(o.rec.auth_ok);
    ck_assert_uint_eq(o.rec.plaintext_commands, 2);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_injection_redacted)
{
    /* credentials pipelined behind STARTTLS (or sent in clear after the 220) are not quoted */
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_TLS), C("STARTTLS\r\nNOOP\r\nAUTH PLAIN " PLAIN_B64 "\r\nQUIT\r\n"), S(READY),
        C("AUTH LOGIN\r\n"), S("334 VXNlcm5hbWU6\r\n"), C(LOGIN_USER "\r\n"), S("334 UGFzc3dvcmQ6\r\n"),
        C(LOGIN_PASS "\r\n"), S("235 2.7.0 Authentication successful\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    const struct finding *f = find_kind(&o, "smtp.starttls_injection");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"injected\":\"NOOP\\r\\nAUTH [redacted]\""));
    f = find_kind(&o, "smtp.starttls_failed");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"plaintext_after\":\"AUTH [redacted]\""));
    ck_assert_int_eq(count_kind(&o, "smtp.plaintext_auth"), 1);
    assert_no_secret(&o);
    free(o.dump);
    static const struct msg m2[] = {
        S(IMAP_GREET), C("a1 STARTTLS\r\na2 LOGIN alice Secr3tPw!\r\n"), S("a1 OK Begin TLS negotiation now.\r\n"),
    };
    run_all(&imap_dissector, m2, NMSG(m2), &o);
    f = find_kind(&o, "imap.starttls_injection");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(strstr(f->evidence, "\"injected\":\"a2 LOGIN [redacted]\""));
    assert_no_secret(&o);
    free(o.dump);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* SMTP: transactions, bodies, limits */

START_TEST(test_smtp_pipelining)
{
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS),
        C("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<nobody@example.test>\r\n"
          "RCPT TO:<c@example.test>\r\nDATA\r\n"),
        S("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <nobody@example.test>: Recipient address rejected\r\n"
          "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
        C("From: a\r\n\r\nhello\r\n.\r\nQUIT\r\n"), S("250 2.0.0 Ok: queued as 1\r\n221 2.0.0 Bye\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert(o.rec.flags & MAIL_F_PIPELINING);
    ck_assert(!(o.rec.flags & MAIL_F_UNPAIRED));
    ck_assert_uint_eq(o.rec.rcpts, 2);
    ck_assert_uint_eq(o.rec.messages, 1);
    ck_assert_uint_eq(o.rec.plaintext_commands, 7);
    ck_assert(o.rec.mail_in_clear);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_data_dots)
{
    /* a body with dot-stuffed lines, a lone "." inside a line, and command look-alikes */
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_TLS), C("MAIL FROM:<a@example.test>\r\n"), S("250 2.1.0 Ok\r\n"),
        C("RCPT TO:<b@example.test>\r\n"), S("250 2.1.5 Ok\r\n"), C("DATA\r\n"),
        S("354 End data with <CR><LF>.<CR><LF>\r\n"),
        C("Subject: dots\r\n\r\n..\r\n.. not the end\r\nSTARTTLS\r\nAUTH PLAIN " PLAIN_B64 "\r\n"
          "a . b\r\n.x\r\n\r\n"),
        C("QUIT\r\n.\r\n"), S("250 2.0.0 Ok: queued as 2\r\n"), C("QUIT\r\n"), S("221 2.0.0 Bye\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_uint_eq(o.rec.messages, 1);
    ck_assert(!o.rec.starttls_requested); /* "STARTTLS" in the body is body */
    ck_assert_int_eq(count_kind(&o, "smtp.plaintext_auth"), 0);
    ck_assert_uint_eq(o.rec.plaintext_commands, 5);
    ck_assert_uint_eq(o.rec.message_bytes,
                      sizeof("Subject: dots\r\n\r\n..\r\n.. not the end\r\nSTARTTLS\r\nAUTH PLAIN " PLAIN_B64
                             "\r\na . b\r\n.x\r\n\r\nQUIT\r\n") - 1);
    ck_assert(!(o.rec.flags & MAIL_F_UNPAIRED));
    free(o.dump);
    /* empty body */
    static const struct msg m2[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("MAIL FROM:<>\r\n"), S("250 2.1.0 Ok\r\n"), C("RCPT TO:<b@x>\r\n"),
        S("250 2.1.5 Ok\r\n"), C("DATA\r\n"), S("354 go\r\n"), C(".\r\n"), S("250 2.0.0 Ok\r\n"),
    };
    run_all(&smtp_dissector, m2, NMSG(m2), &o);
    ck_assert_uint_eq(o.rec.messages, 1);
    ck_assert_uint_eq(o.rec.message_bytes, 0);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_data_rejected)
{
    /* DATA answered 554: no body follows, the next line is a command */
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("MAIL FROM:<a@x>\r\nRCPT TO:<nobody@x>\r\nDATA\r\n"),
        S("250 2.1.0 Ok\r\n550 5.1.1 rejected\r\n554 5.5.1 Error: no valid recipients\r\n"),
        C("AUTH PLAIN " PLAIN_B64 "\r\n"), S("235 2.7.0 Authentication successful\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_uint_eq(o.rec.messages, 0);
    ck_assert_int_eq(count_kind(&o, "smtp.plaintext_auth"), 1);
    ck_assert(o.rec.auth_ok);
    assert_no_secret(&o);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_bdat)
{
    /* BDAT chunks carry CRLF.CRLF and command look-alikes: skipped by length */
    static const char chunk1[] = "Subject: b\r\n\r\n.\r\nSTARTTLS\r\n";
    static const char chunk2[] = "\x00\x01\x02\r\n.\r\n\xff";
    struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("MAIL FROM:<a@x>\r\n"), S("250 2.1.0 Ok\r\n"), C("RCPT TO:<b@x>\r\n"),
        S("250 2.1.5 Ok\r\n"), C("BDAT 27\r\n"), {0, chunk1, sizeof chunk1 - 1}, S("250 2.0.0 Ok: 27 bytes\r\n"),
        C("BDAT 9 LAST\r\n"), {0, chunk2, sizeof chunk2 - 1}, S("250 2.0.0 Ok: queued as 3\r\n"), C("QUIT\r\n"),
        S("221 2.0.0 Bye\r\n"),
    };
    ck_assert_uint_eq(sizeof chunk1 - 1, 27);
    ck_assert_uint_eq(sizeof chunk2 - 1, 9);
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_uint_eq(o.rec.messages, 1);
    ck_assert_uint_eq(o.rec.message_bytes, 36);
    ck_assert(!o.rec.starttls_requested);
    ck_assert_uint_eq(o.rec.plaintext_commands, 6);
    ck_assert(!(o.rec.flags & MAIL_F_UNPAIRED));
    free(o.dump);
    /* BDAT in the same segment as its chunk and the next command */
    static const struct msg m2[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nBDAT 5 LAST\r\nhelloQUIT\r\n"),
        S("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: queued\r\n221 2.0.0 Bye\r\n"),
    };
    run_all(&smtp_dissector, m2, NMSG(m2), &o);
    ck_assert_uint_eq(o.rec.messages, 1);
    ck_assert_uint_eq(o.rec.plaintext_commands, 5);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_line_cap)
{
    /* a 5000-byte command line: counted, parsed cut, skipped to its LF; parsing goes on */
    size_t n = 5000;
    char *longl = malloc(n + 2);
    ck_assert_ptr_nonnull(longl);
    memcpy(longl, "NOOP ", 5);
    memset(longl + 5, 'a', n - 5);
    memcpy(longl + n, "\r\n", 2);
    char *longr = malloc(n + 2);
    ck_assert_ptr_nonnull(longr);
    memcpy(longr, "250-", 4);
    memset(longr + 4, 'b', n - 4);
    memcpy(longr + n, "\r\n", 2);
    struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), {0, longl, n + 2}, S("500 5.5.2 Error: line too long\r\n"),
        C("NOOP\r\n"), {1, longr, n + 2}, S("250 2.0.0 Ok\r\n"), C("MAIL FROM:<a@x>\r\n"), S("250 2.1.0 Ok\r\n"),
    };
    struct out o;
    run(&smtp_dissector, m, NMSG(m), WHOLE, 0, &o);
    struct out x;
    run(&smtp_dissector, m, NMSG(m), BYTES, 0, &x);
    ck_assert_str_eq(o.dump, x.dump);
    free(x.dump);
    for (size_t k = 1; k < n + 2; k += 97) {
        run(&smtp_dissector, m, NMSG(m), SPLIT, k, &x);
        ck_assert_str_eq(o.dump, x.dump);
        free(x.dump);
    }
    ck_assert_uint_eq(o.rec.long_lines, 2);
    ck_assert(o.rec.mail_in_clear); /* the pairing survived both long lines */
    ck_assert(!(o.rec.flags & MAIL_F_UNPAIRED));
    ck_assert_int_eq(count_kind(&o, "smtp.starttls_not_offered"), 1);
    free(o.dump);
    free(longl);
    free(longr);
}
END_TEST

START_TEST(test_smtp_midstream_gap)
{
    /* capture starts at EHLO (no greeting); a gap inside the DATA body; a gap inside a line */
    static const struct msg m[] = {
        C(EHLO), S(EHLO_NOTLS), C("MAIL FROM:<a@x>\r\n"), S("250 2.1.0 Ok\r\n"), C("RCPT TO:<b@x>\r\n"),
        S("250 2.1.5 Ok\r\n"), C("DATA\r\n"), S("354 go\r\n"), C("Subject: x\r\n"), {GAP0, NULL, 1400},
        C("more\r\n.\r\n"), S("250 2.0.0 Ok\r\n"), C("NOOP\r\n"), S("250 2.0.0 Ok\r\n"), C("NOO"),
        {GAP0, NULL, 10}, C("P\r\nNOOP\r\n"), S("250 2.0.0 Ok\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert(o.rec.flags & MAIL_F_NO_GREETING);
    ck_assert(o.rec.flags & MAIL_F_GAP);
    ck_assert_str_eq(o.rec.greeting, "");
    ck_assert_uint_eq(o.rec.messages, 1);
    ck_assert_uint_eq(o.rec.message_bytes, 12 + 1400 + 6);
    ck_assert_str_eq(o.rec.helo, "client.example.test");
    ck_assert(o.rec.caps_seen);
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_banner_masked_unpaired)
{
    static const struct msg m[] = {
        S("220 *********************************\r\n"), S("421 4.4.2 timeout\r\n"), C(EHLO),
        S("250 ok\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert(o.rec.flags & MAIL_F_BANNER_MASKED);
    ck_assert(o.rec.flags & MAIL_F_UNPAIRED);
    ck_assert_str_eq(o.rec.greeting_host, "*********************************");
    free(o.dump);
}
END_TEST

START_TEST(test_smtp_garbage)
{
    /* binary in both directions: no crash, no verdict, lines counted as bad */
    static const struct msg m[] = {
        S("220 x ESMTP\r\n"), C("\x01\x02\x03\r\n\xff\xfe\n"), S("abc\r\n\x00\x00\r\n2\r\n"), C("\r\n\r\n"),
        S("999-x\r\n999 y\r\n"), C("AUTH\r\n"), S("334\r\n"), C("\r\n"), S("235\r\n"),
    };
    struct out o;
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_uint_eq(o.rec.bad_lines, 3);
    ck_assert_int_eq(o.nfind, 0);
    free(o.dump);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* IMAP */

START_TEST(test_imap_clean_starttls)
{
    static const struct msg m[] = {
        S(IMAP_GREET), C("a1 CAPABILITY\r\n"),
        S("* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN\r\n"
          "a1 OK Pre-login capabilities listed, post-login capabilities have more.\r\n"),
        C("a2 STARTTLS\r\n"), S("a2 OK Begin TLS negotiation now.\r\n"), C(CH),
    };
    struct out o;
    run_all(&imap_dissector, m, NMSG(m), &o);
    ck_assert(o.switched);
    ck_assert_str_eq(o.started_by, "imap-starttls");
    ck_assert_int_eq(max_sev(&o, "imap."), -1);
    ck_assert_str_eq(o.rec.proto, "imap");
    ck_assert(o.rec.starttls_offered);
    ck_assert(o.rec.starttls_accepted);
    ck_assert(o.rec.tls_started);
    ck_assert_str_eq(o.rec.starttls_reply, "a2 OK Begin TLS negotiation now.");
    ck_assert_uint_eq(o.rec.starttls_reply_code, 0);
    ck_assert_str_eq(o.rec.auth_mechs, "PLAIN");
    ck_assert_str_eq(o.rec.capabilities,
                     "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN");
    ck_assert_str_eq(o.rec.greeting, "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
                                     "STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.");
    ck_assert_uint_eq(o.rec.plaintext_commands, 2);
    free(o.dump);
}
END_TEST

START_TEST(test_imap_login_quoted)
{
    static const struct msg m[] = {
        S(IMAP_GREET), C("a1 LOGIN \"alice\\\"q\" \"Secr3tPw!\"\r\n"),
        S("a1 OK [CAPABILITY IMAP4rev1 SASL-IR SORT THREAD=REFERENCES MULTIAPPEND] Logged in\r\n"),
        C("a2 LOGOUT\r\n"), S("* BYE Logging out\r\na2 OK Logout completed.\r\n"),
    };
    struct out o;
    run_all(&imap_dissector, m, NMSG(m), &o);
    const struct finding *f = find_kind(&o, "imap.plaintext_auth");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->severity, NZ_SEV_HIGH);
    ck_assert_int_eq(count_kind(&o, "imap.starttls_not_used"), 1);
    ck_assert_ptr_nonnull(strstr(find_kind(&o, "imap.starttls_not_used")->evidence, "\"command\":\"LOGIN\""));
    ck_assert_str_eq(o.rec.auth_mech, "LOGIN");
    ck_assert_str_eq(o.rec.auth_user, "alice\"q");
    ck_assert(o.rec.auth_ok);
    ck_assert(o.rec.mail_in_clear);
    /* post-login capabilities do not replace the pre-login list */
    ck_assert_ptr_nonnull(strstr(o.rec.capabilities, "STARTTLS"));
    ck_assert_int_eq(count_kind(&o, "imap.starttls_not_offered"), 0);
    assert_no_secret(&o);
    free(o.dump);
    /* atoms, no STARTTLS offered: not_offered when the login is accepted */
    static const struct msg m2[] = {
        S(IMAP_GREET_NOTLS), C("a1 LOGIN alice Secr3tPw!\r\n"), S("a1 OK Logged in\r\n"),
    };
    run_all(&imap_dissector, m2, NMSG(m2), &o);
    ck_assert_int_eq(count_kind(&o, "imap.plaintext_auth"), 1);
    ck_assert_int_eq(count_kind(&o, "imap.starttls_not_offered"), 1);
    ck_assert_int_eq(count_kind(&o, "imap.starttls_not_used"), 0);
    ck_assert_str_eq(o.rec.auth_user, "alice");
    assert_no_secret(&o);
    free(o.dump);
    /* near miss: login refused: no not_offered (nothing moved), plaintext_auth still */
    static const struct msg m3[] = {
        S(IMAP_GREET_NOTLS), C("a1 LOGIN alice Secr3tPw!\r\n"), S("a1 NO [AUTHENTICATIONFAILED] failed.\r\n"),
    };
    run_all(&imap_dissector, m3, NMSG(m3), &o);
    ck_assert_int_eq(count_kind(&o, "imap.starttls_not_offered"), 0);
    ck_assert_int_eq(count_kind(&o, "imap.plaintext_auth"), 1);
    free(o.dump);
}
END_TEST

START_TEST(test_imap_login_literal)
{
    /* RFC 9051 §4.3 synchronizing literals for both arguments; the password literal contains
     * CRLF and a fake tagged line, skipped by length */
    static const struct msg m[] = {
        S(IMAP_GREET), C("a1 LOGIN {5}\r\n"), S("+ OK\r\n"), C("alice {13}\r\n"), S("+ OK\r\n"),
        C("Secr3tPw!\r\na1\r\n"), S("a1 OK Logged in\r\n"), C("a2 SELECT INBOX\r\n"), S("a2 OK done\r\n"),
    };
    struct out o;
    run_all(&imap_dissector, m, NMSG(m), &o);
    ck_assert_int_eq(count_kind(&o, "imap.plaintext_auth"), 1);
    ck_assert_str_eq(o.rec.auth_user, "alice");
    ck_assert(o.rec.auth_ok);
    ck_assert_uint_eq(o.rec.plaintext_commands, 2);
    ck_assert(!(o.rec.flags & MAIL_F_UNPAIRED));
    assert_no_secret(&o);
    free(o.dump);
    /* LITERAL+ and the server refusing a synchronizing literal */
    static const struct msg m2[] = {
        S(IMAP_GREET), C("a1 LOGIN {5+}\r\nalice \"Secr3tPw!\"\r\n"), S("a1 NO failed\r\n"),
        C("a2 LOGIN {999}\r\n"), S("a2 BAD literal too big\r\n"), C("a3 NOOP\r\n"), S("a3 OK NOOP completed\r\n"),
    };
    run_all(&imap_dissector, m2, NMSG(m2), &o);
    ck_assert_str_eq(o.rec.auth_user, ""); /* the latest attempt (a2) never sent its user */
    ck_assert_uint_eq(o.rec.auth_attempts, 2);
    ck_assert_int_eq(count_kind(&o, "imap.plaintext_auth"), 1);
    ck_assert_ptr_nonnull(strstr(find_kind(&o, "imap.plaintext_auth")->evidence, "\"user\":\"alice\""));
    ck_assert_uint_eq(o.rec.plaintext_commands, 3);
    ck_assert(!(o.rec.flags & MAIL_F_UNPAIRED));
    assert_no_secret(&o);
    free(o.dump);
}
END_TEST

START_TEST(test_imap_authenticate)
{
    static const struct msg m[] = {
        S(IMAP_GREET), C("a1 AUTHENTICATE PLAIN\r\n"), S("+ \r\n"), C(PLAIN_B64 "\r\n"),
        S("a1 OK [CAPABILITY IMAP4rev1] Logged in\r\n"),
    };
    struct out o;
    run_all(&imap_dissector, m, NMSG(m), &o);
    ck_assert_int_eq(count_kind(&o, "imap.plaintext_auth"), 1);
    ck_assert_int_eq(count_kind(&o, "imap.starttls_not_used"), 1);
    ck_assert_str_eq(o.rec.auth_mech, "PLAIN");
    ck_assert_str_eq(o.rec.auth_user, "alice");
    ck_assert(o.rec.auth_ok);
    ck_assert_uint_eq(o.rec.plaintext_commands, 1);
    assert_no_secret(&o);
    free(o.dump);
    /* SASL-IR (RFC 4959) */
    static const struct msg m2[] = {
        S(IMAP_GREET_NOTLS), C("a1 AUTHENTICATE PLAIN " PLAIN_B64 "\r\n"), S("a1 OK Logged in\r\n"),
    };
    run_all(&imap_dissector, m2, NMSG(m2), &o);
    ck_assert_int_eq(count_kind(&o, "imap.plaintext_auth"), 1);
    ck_assert_int_eq(count_kind(&o, "imap.starttls_not_offered"), 1);
    ck_assert_str_eq(o.rec.auth_user, "alice");
    assert_no_secret(&o);
    free(o.dump);
}
END_TEST

START_TEST(test_imap_verdicts)
{
    struct out o;
    /* stripped: STARTTLS masked in the greeting's capability code */
    static const struct msg m1[] = {
        S("* OK [CAPABILITY IMAP4rev1 SASL-IR XXXXXXXX AUTH=PLAIN] ready.\r\n"), C("a1 LOGOUT\r\n"),
    };
    run_all(&imap_dissector, m1, NMSG(m1), &o);
    ck_assert_int_eq(count_kind(&o, "imap.starttls_stripped"), 1);
    ck_assert_int_eq(o.nfind, 1);
    free(o.dump);
    /* refused */
    static const struct msg m2[] = {S(IMAP_GREET), C("a1 STARTTLS\r\n"), S("a1 NO TLS support isn't enabled.\r\n")};
    run_all(&imap_dissector, m2, NMSG(m2), &o);
    ck_assert_int_eq(count_kind(&o, "imap.starttls_refused"), 1);
    ck_assert_ptr_nonnull(strstr(find_kind(&o, "imap.starttls_refused")->evidence, "a1 NO TLS support"));
    ck_assert(!o.rec.starttls_accepted);
    free(o.dump);
    /* command blocked */
    static const struct msg m3[] = {S(IMAP_GREET), C("a1 XXXXXXXX\r\n"), S("a1 BAD Error in IMAP command\r\n")};
    run_all(&imap_dissector, m3, NMSG(m3), &o);
    ck_assert_int_eq(count_kind(&o, "imap.starttls_command_blocked"), 1);
    ck_assert_ptr_nonnull(strstr(find_kind(&o, "imap.starttls_command_blocked")->evidence, "\"command\":\"XXXXXXXX\""));
    free(o.dump);
    /* failed (plaintext) and injection (client) */
    static const struct msg m4[] = {
        S(IMAP_GREET), C("a1 STARTTLS\r\na2 LOGOUT\r\n"), S("a1 OK Begin TLS negotiation now.\r\n"),
        C("a3 NOOP\r\n"),
    };
    run_all(&imap_dissector, m4, NMSG(m4), &o);
    ck_assert_int_eq(count_kind(&o, "imap.starttls_injection"), 1);
    ck_assert_int_eq(count_kind(&o, "imap.starttls_failed"), 1);
    ck_assert_ptr_nonnull(strstr(find_kind(&o, "imap.starttls_injection")->evidence, "a2 LOGOUT"));
    free(o.dump);
    /* injection (server) then the handshake */
    static const struct msg m5[] = {
        S(IMAP_GREET), C("a1 STARTTLS\r\n"), S("a1 OK Begin TLS negotiation now.\r\n* OK evil\r\n"), C(CH),
    };
    run_all(&imap_dissector, m5, NMSG(m5), &o);
    ck_assert(o.switched);
    ck_assert_int_eq(count_kind(&o, "imap.starttls_injection"), 1);
    ck_assert_int_eq(count_kind(&o, "imap.starttls_failed"), 0);
    free(o.dump);
}
END_TEST

START_TEST(test_imap_server_literal)
{
    /* mailbox data with literals holding fake tagged replies and CAPABILITY lines */
    static const char body[] = "a9 OK [CAPABILITY XXXXXXXX]\r\n* CAPABILITY XXXXXXXX\r\n{3}\r\n";
    char fetch[256];
    int n = snprintf(fetch, sizeof fetch, "* 1 FETCH (BODY[] {%zu}\r\n%s FLAGS (\\Seen))\r\na3 OK Fetch completed.\r\n",
                     sizeof body - 1, body);
    ck_assert_int_gt(n, 0);
    struct msg m[] = {
        S(IMAP_GREET_NOTLS), C("a1 LOGIN alice Secr3tPw!\r\n"), S("a1 OK Logged in\r\n"), C("a2 SELECT INBOX\r\n"),
        S("* 1 EXISTS\r\na2 OK [READ-WRITE] Select completed.\r\n"), C("a3 FETCH 1 BODY[]\r\n"),
        {1, fetch, (size_t)n}, C("a4 APPEND INBOX {11}\r\n"), S("+ OK\r\n"), C("a5 OK x\r\nhi\r\n"),
        S("a4 OK Append completed.\r\n"),
    };
    struct out o;
    run_all(&imap_dissector, m, NMSG(m), &o);
    ck_assert_int_eq(count_kind(&o, "imap.starttls_stripped"), 0);
    ck_assert(!(o.rec.caps & MAIL_CAP_MASKED));
    ck_assert_uint_eq(o.rec.messages, 1);
    ck_assert_uint_eq(o.rec.message_bytes, sizeof body - 1 + 11);
    ck_assert(!(o.rec.flags & MAIL_F_UNPAIRED));
    ck_assert_uint_eq(o.rec.plaintext_commands, 4);
    free(o.dump);
}
END_TEST

START_TEST(test_imap_long_line_literal)
{
    /* an over-long server line that ends in a literal: the literal is still skipped by length,
     * and an over-long client line ending in a literal too */
    size_t n = 6000;
    char *srv = malloc(n + 256), *cli = malloc(n + 256);
    ck_assert_ptr_nonnull(srv);
    ck_assert_ptr_nonnull(cli);
    int a = snprintf(srv, 64, "* 1 FETCH (ENVELOPE (\"");
    memset(srv + a, 's', n);
    int b = snprintf(srv + a + n, 64, "\") BODY[] {12}\r\na1 OK fake\r\n)\r\na2 OK Fetch done\r\n");
    int a2 = snprintf(cli, 64, "a3 APPEND INBOX (\\Seen) \"");
    memset(cli + a2, 'c', n);
    int c = snprintf(cli + a2 + n, 64, "\" {11+}\r\na9 LOGOUT\r\n\r\n");
    struct msg m[] = {
        S(IMAP_GREET_NOTLS), C("a1 LOGIN alice Secr3tPw!\r\n"), S("a1 OK Logged in\r\n"),
        C("a2 FETCH 1 (ENVELOPE BODY[])\r\n"), {1, srv, (size_t)a + n + (size_t)b}, {0, cli, (size_t)a2 + n + (size_t)c},
        S("a3 OK Append completed.\r\n"), C("a4 LOGOUT\r\n"), S("* BYE\r\na4 OK Logout completed.\r\n"),
    };
    struct out o;
    run_some(&imap_dissector, m, NMSG(m), 211, &o);
    ck_assert_uint_eq(o.rec.long_lines, 2);
    ck_assert_uint_eq(o.rec.message_bytes, 23);
    ck_assert_uint_eq(o.rec.messages, 1);
    ck_assert_uint_eq(o.rec.bad_lines, 0);
    ck_assert(!(o.rec.flags & MAIL_F_UNPAIRED));
    ck_assert_uint_eq(o.rec.plaintext_commands, 4);
    free(o.dump);
    free(srv);
    free(cli);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* POP3 */

#define POP_GREET "+OK Dovecot (Debian) ready.\r\n"
#define POP_CAPA                                                                                   \
    "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\nUSER\r\n"  \
    "SASL PLAIN LOGIN\r\n.\r\n"
#define POP_CAPA_NOTLS                                                                             \
    "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nUSER\r\n"          \
    "SASL PLAIN LOGIN\r\n.\r\n"

START_TEST(test_pop3_clean_stls)
{
    static const struct msg m[] = {
        S(POP_GREET), C("CAPA\r\n"), S(POP_CAPA), C("STLS\r\n"), S("+OK Begin TLS negotiation now.\r\n"), C(CH),
    };
    struct out o;
    run_all(&pop3_dissector, m, NMSG(m), &o);
    ck_assert(o.switched);
    ck_assert_str_eq(o.started_by, "pop3-stls");
    ck_assert_int_eq(max_sev(&o, "pop3."), -1);
    ck_assert_str_eq(o.rec.proto, "pop3");
    ck_assert_str_eq(o.rec.greeting, "+OK Dovecot (Debian) ready.");
    ck_assert_str_eq(o.rec.capabilities, "CAPA TOP UIDL RESP-CODES PIPELINING AUTH-RESP-CODE STLS USER SASL");
    ck_assert_str_eq(o.rec.auth_mechs, "PLAIN LOGIN");
    ck_assert(o.rec.caps & MAIL_CAP_USER);
    ck_assert(o.rec.caps & MAIL_CAP_PIPELINING);
    ck_assert(o.rec.starttls_offered);
    ck_assert(o.rec.starttls_accepted);
    ck_assert_str_eq(o.rec.starttls_reply, "+OK Begin TLS negotiation now.");
    free(o.dump);
}
END_TEST

START_TEST(test_pop3_user_pass)
{
    static const struct msg m[] = {
        S(POP_GREET), C("CAPA\r\n"), S(POP_CAPA), C("USER alice\r\n"), S("+OK\r\n"), C("PASS Secr3tPw!\r\n"),
        S("+OK Logged in.\r\n"), C("RETR 1\r\n"),
        S("+OK 40 octets\r\nSubject: x\r\n\r\n..\r\n+OK fake\r\n-ERR fake\r\n.\r\n"), C("QUIT\r\n"),
        S("+OK Logging out.\r\n"),
    };
    struct out o;
    run_all(&pop3_dissector, m, NMSG(m), &o);
    const struct finding *f = find_kind(&o, "pop3.plaintext_auth");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->severity, NZ_SEV_HIGH);
    ck_assert_int_eq(count_kind(&o, "pop3.starttls_not_used"), 1);
    ck_assert_ptr_nonnull(strstr(find_kind(&o, "pop3.starttls_not_used")->evidence, "\"command\":\"USER\""));
    ck_assert_str_eq(o.rec.auth_mech, "USER");
    ck_assert_str_eq(o.rec.auth_user, "alice");
    ck_assert(o.rec.auth_ok);
    ck_assert(o.rec.mail_in_clear);
    ck_assert_uint_eq(o.rec.messages, 1);
    ck_assert_uint_eq(o.rec.message_bytes, sizeof("Subject: x\r\n\r\n..\r\n+OK fake\r\n-ERR fake\r\n") - 1);
    ck_assert(!(o.rec.flags & MAIL_F_UNPAIRED));
    assert_no_secret(&o);
    free(o.dump);
    /* no STLS in CAPA: not_offered at the accepted login */
    static const struct msg m2[] = {
        S(POP_GREET), C("CAPA\r\n"), S(POP_CAPA_NOTLS), C("USER alice\r\n"), S("+OK\r\n"), C("PASS Secr3tPw!\r\n"),
        S("+OK Logged in.\r\n"),
    };
    run_all(&pop3_dissector, m2, NMSG(m2), &o);
    ck_assert_int_eq(count_kind(&o, "pop3.starttls_not_offered"), 1);
    ck_assert_int_eq(count_kind(&o, "pop3.plaintext_auth"), 1);
    assert_no_secret(&o);
    free(o.dump);
    /* near miss: no CAPA asked: posture unknown, no not_offered */
    static const struct msg m3[] = {
        S(POP_GREET), C("USER alice\r\n"), S("+OK\r\n"), C("PASS Secr3tPw!\r\n"), S("+OK Logged in.\r\n"),
    };
    run_all(&pop3_dissector, m3, NMSG(m3), &o);
    ck_assert_int_eq(count_kind(&o, "pop3.starttls_not_offered"), 0);
    ck_assert_int_eq(count_kind(&o, "pop3.plaintext_auth"), 1);
    free(o.dump);
}
END_TEST

START_TEST(test_pop3_auth_apop)
{
    static const struct msg m[] = {
        S(POP_GREET), C("AUTH PLAIN\r\n"), S("+ \r\n"), C(PLAIN_B64 "\r\n"), S("+OK Logged in.\r\n"),
        C("LIST\r\n"), S("+OK 2 messages:\r\n1 100\r\n2 200\r\n.\r\n"), C("AUTH\r\n"),
        S("+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n"), C("NOOP\r\n"), S("+OK\r\n"),
    };
    struct out o;
    run_all(&pop3_dissector, m, NMSG(m), &o);
    ck_assert_int_eq(count_kind(&o, "pop3.plaintext_auth"), 1);
    ck_assert_str_eq(o.rec.auth_mech, "PLAIN");
    ck_assert_str_eq(o.rec.auth_user, "alice");
    ck_assert(o.rec.auth_ok);
    ck_assert(!(o.rec.flags & MAIL_F_UNPAIRED));
    ck_assert_uint_eq(o.rec.plaintext_commands, 4);
    assert_no_secret(&o);
    free(o.dump);
    static const struct msg m2[] = {
        S("+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n"),
        C("APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"), S("+OK maildrop has 1 message (369 octets)\r\n"),
    };
    run_all(&pop3_dissector, m2, NMSG(m2), &o);
    const struct finding *f = find_kind(&o, "pop3.plaintext_auth");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->severity, NZ_SEV_LOW);
    ck_assert_str_eq(o.rec.auth_user, "mrose");
    assert_absent(&o, "c4c9334bac560ecc979e58001b3e22fb");
    free(o.dump);
}
END_TEST

START_TEST(test_pop3_verdicts)
{
    struct out o;
    static const struct msg m1[] = {
        S(POP_GREET), C("CAPA\r\n"), S("+OK\r\nTOP\r\nXXXX\r\nUSER\r\n.\r\n"), C("QUIT\r\n"),
    };
    run_all(&pop3_dissector, m1, NMSG(m1), &o);
    ck_assert_int_eq(count_kind(&o, "pop3.starttls_stripped"), 1);
    ck_assert_ptr_nonnull(strstr(find_kind(&o, "pop3.starttls_stripped")->evidence, "\"capability_line\":\"XXXX\""));
    free(o.dump);
    static const struct msg m2[] = {S(POP_GREET), C("STLS\r\n"), S("-ERR TLS support isn't enabled.\r\n")};
    run_all(&pop3_dissector, m2, NMSG(m2), &o);
    ck_assert_int_eq(count_kind(&o, "pop3.starttls_refused"), 1);
    free(o.dump);
    static const struct msg m3[] = {S(POP_GREET), C("XXXX\r\n"), S("-ERR Unknown command: XXXX\r\n")};
    run_all(&pop3_dissector, m3, NMSG(m3), &o);
    ck_assert_int_eq(count_kind(&o, "pop3.starttls_command_blocked"), 1);
    free(o.dump);
    static const struct msg m4[] = {S(POP_GREET), C("STLS\r\nUSER x\r\n"), S("+OK Begin TLS negotiation now.\r\n")};
    run_all(&pop3_dissector, m4, NMSG(m4), &o);
    ck_assert_int_eq(count_kind(&o, "pop3.starttls_injection"), 1);
    ck_assert_int_eq(count_kind(&o, "pop3.starttls_failed"), 1);
    free(o.dump);
    /* CAPA refused: no STLS possible; login accepted → not_offered */
    static const struct msg m5[] = {
        S(POP_GREET), C("CAPA\r\n"), S("-ERR unknown command\r\n"), C("USER a\r\n"), S("+OK\r\n"),
        C("PASS Secr3tPw!\r\n"), S("+OK\r\n"),
    };
    run_all(&pop3_dissector, m5, NMSG(m5), &o);
    ck_assert_int_eq(count_kind(&o, "pop3.starttls_not_offered"), 1);
    ck_assert(o.rec.caps_seen);
    free(o.dump);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Contract details */

START_TEST(test_contract)
{
    /* bad direction → DIS_ERR with a reason; state_free(NULL)-safety is the pipeline's; label */
    struct out o;
    memset(&o, 0, sizeof o);
    struct dis_sink sink = {&o, sink_finding, NULL, NULL, sink_record, sink_label, NULL};
    struct dis_cfg cfg = {0};
    void *st = smtp_dissector.state_new(&cfg);
    ck_assert_ptr_nonnull(st);
    struct dis_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.sink = &sink;
    uint8_t *g = tu_guard("x", 1);
    struct bytes in = {g, 1};
    size_t consumed = 99;
    ck_assert_int_eq(smtp_dissector.on_data(st, 5, in, &consumed, &ctx), DIS_ERR);
    ck_assert_ptr_nonnull(ctx.err_reason);
    ck_assert_uint_eq(consumed, 0);
    /* a partial line is left unconsumed */
    ck_assert_int_eq(smtp_dissector.on_data(st, 1, in, &consumed, &ctx), DIS_OK);
    ck_assert_uint_eq(consumed, 0);
    tu_guard_free(g, 1);
    /* a NULL sink is fine */
    ctx.sink = NULL;
    smtp_dissector.on_close(st, &ctx);
    smtp_dissector.state_free(st);
    ck_assert_int_eq(o.nlabel, 1);
    free(o.dump);
    ck_assert_str_eq(smtp_dissector.name, "smtp");
    ck_assert_str_eq(imap_dissector.name, "imap");
    ck_assert_str_eq(pop3_dissector.name, "pop3");
    ck_assert_uint_eq(smtp_dissector.ports[0], 25);
    /* every mail kind is in the table with a protocol prefix */
    const char *names[] = {"starttls_stripped", "starttls_command_blocked", "starttls_refused", "starttls_failed",
                           "starttls_injection", "starttls_not_used", "starttls_not_offered", "plaintext_auth"};
    const char *protos[] = {"smtp", "imap", "pop3"};
    for (size_t p = 0; p < 3; p++)
        for (size_t i = 0; i < 8; i++) {
            char k[64];
            snprintf(k, sizeof k, "%s.%s", protos[p], names[i]);
            ck_assert_msg(finding_kind_by_name(k) != FK_COUNT, "kind %s missing", k);
        }
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Malformed SASL responses and logins: a blob whose shape is wrong may hold the password where
 * the user name is expected; nothing is recorded as the user then (issue #8 item 11). */

/* The secret is nowhere: not in the emitted text, not in the record's bytes (even past a NUL),
 * not in any finding's summary or evidence. */
static void assert_secret_gone(const struct out *o, const char *secret)
{
    size_t n = strlen(secret);
    assert_absent(o, secret);
    ck_assert_msg(memmem(&o->rec, sizeof o->rec, secret, n) == NULL, "'%s' in the record's bytes", secret);
    for (int i = 0; i < o->nfind && i < MAX_FIND; i++) {
        ck_assert(memmem(o->f[i].summary, sizeof o->f[i].summary, secret, n) == NULL);
        ck_assert(memmem(o->f[i].evidence, sizeof o->f[i].evidence, secret, n) == NULL);
    }
}

/* One SMTP session that authenticates with `auth` (the AUTH line or lines, client side). */
static void smtp_auth_case(const char *auth, const char *srv_after, struct out *o)
{
    const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), {0, auth, strlen(auth)}, {1, srv_after, strlen(srv_after)},
        C("QUIT\r\n"), S("221 2.0.0 Bye\r\n"),
    };
    run_all(&smtp_dissector, m, NMSG(m), o);
}

START_TEST(test_sasl_plain_malformed)
{
    /* "alice\0Secr3tPw!": no authzid NUL (seen in the wild); "\0alice\0Secr3t\0Pw!" (three
     * NULs); "Secr3tPw!" (none); "alice\0Secr3tPw!\0" (two, but not authzid NUL authcid NUL
     * passwd: the password would be the user) */
    static const char *const blobs[] = {
        "AUTH PLAIN YWxpY2UAU2VjcjN0UHch\r\n",
        "AUTH PLAIN AGFsaWNlAFNlY3IzdABQdyE=\r\n",
        "AUTH PLAIN U2VjcjN0UHch\r\n",
        "AUTH PLAIN YWxpY2UAU2VjcjN0UHchAA==\r\n",
    };
    for (size_t i = 0; i < sizeof blobs / sizeof blobs[0]; i++) {
        struct out o;
        smtp_auth_case(blobs[i], "535 5.7.8 Error: authentication failed\r\n", &o);
        const struct finding *f = find_kind(&o, "smtp.plaintext_auth");
        ck_assert_msg(f != NULL, "blob %zu: no plaintext_auth", i);
        ck_assert_int_eq(f->severity, NZ_SEV_HIGH); /* credentials did cross in clear */
        ck_assert_msg(strstr(f->evidence, "malformed PLAIN blob") != NULL, "blob %zu: %s", i, f->evidence);
        ck_assert_msg(strstr(f->evidence, "\"user\"") == NULL, "blob %zu: %s", i, f->evidence);
        ck_assert_str_eq(o.rec.auth_mech, "PLAIN");
        ck_assert_str_eq(o.rec.auth_user, "");
        assert_secret_gone(&o, "Secr3t");
        assert_secret_gone(&o, "Pw!");
        free(o.dump);
    }
    /* the same blob after a 334, over IMAP AUTHENTICATE and over POP3 AUTH */
    struct out o;
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("AUTH PLAIN\r\n"), S("334 \r\n"), C("YWxpY2UAU2VjcjN0UHch\r\n"),
        S("235 2.7.0 Authentication successful\r\n"),
    };
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_str_eq(o.rec.auth_user, "");
    ck_assert(o.rec.auth_ok);
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
    static const struct msg mi[] = {
        S(IMAP_GREET_NOTLS), C("a1 AUTHENTICATE PLAIN YWxpY2UAU2VjcjN0UHch\r\n"), S("a1 OK Logged in\r\n"),
    };
    run_all(&imap_dissector, mi, NMSG(mi), &o);
    ck_assert_int_eq(count_kind(&o, "imap.plaintext_auth"), 1);
    ck_assert_ptr_nonnull(strstr(find_kind(&o, "imap.plaintext_auth")->evidence, "malformed PLAIN blob"));
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
    static const struct msg mp[] = {
        S(POP_GREET), C("AUTH PLAIN\r\n"), S("+ \r\n"), C("YWxpY2UAU2VjcjN0UHch\r\n"), S("+OK Logged in.\r\n"),
    };
    run_all(&pop3_dissector, mp, NMSG(mp), &o);
    ck_assert_int_eq(count_kind(&o, "pop3.plaintext_auth"), 1);
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
    /* near miss: a well-formed blob with an empty authzid still gives its user */
    smtp_auth_case("AUTH PLAIN " PLAIN_B64 "\r\n", "235 2.7.0 Authentication successful\r\n", &o);
    ck_assert_str_eq(o.rec.auth_user, "alice");
    ck_assert_ptr_null(strstr(find_kind(&o, "smtp.plaintext_auth")->evidence, "malformed"));
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
}
END_TEST

START_TEST(test_sasl_login_order)
{
    /* The server prompts for the password first and the client follows the prompt: the first
     * response is the password, never the user. */
    struct out o;
    static const struct msg m[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("AUTH LOGIN\r\n"), S("334 UGFzc3dvcmQ6\r\n"), C(LOGIN_PASS "\r\n"),
        S("334 VXNlcm5hbWU6\r\n"), C(LOGIN_USER "\r\n"), S("235 2.7.0 Authentication successful\r\n"),
    };
    run_all(&smtp_dissector, m, NMSG(m), &o);
    ck_assert_int_eq(count_kind(&o, "smtp.plaintext_auth"), 1);
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
    /* IMAP and POP3 continuation prompts ("+ UGFzc3dvcmQ6") say the same */
    static const struct msg mi[] = {
        S(IMAP_GREET_NOTLS), C("a1 AUTHENTICATE LOGIN\r\n"), S("+ UGFzc3dvcmQ6\r\n"), C(LOGIN_PASS "\r\n"),
        S("+ VXNlcm5hbWU6\r\n"), C(LOGIN_USER "\r\n"), S("a1 OK Logged in\r\n"),
    };
    run_all(&imap_dissector, mi, NMSG(mi), &o);
    ck_assert_int_eq(count_kind(&o, "imap.plaintext_auth"), 1);
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
    static const struct msg mp[] = {
        S(POP_GREET), C("AUTH LOGIN\r\n"), S("+ UGFzc3dvcmQ6\r\n"), C(LOGIN_PASS "\r\n"), S("+OK Logged in.\r\n"),
    };
    run_all(&pop3_dissector, mp, NMSG(mp), &o);
    ck_assert_int_eq(count_kind(&o, "pop3.plaintext_auth"), 1);
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
    /* a LOGIN "user" response holding a NUL (a PLAIN blob sent to LOGIN) is no user name */
    smtp_auth_case("AUTH LOGIN YWxpY2UAU2VjcjN0UHch\r\n", "535 5.7.8 Error: authentication failed\r\n", &o);
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
    /* near miss: the "Username:" prompt with the user first is recorded as before */
    static const struct msg mn[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("AUTH LOGIN\r\n"), S("334 VXNlcm5hbWU6\r\n"), C(LOGIN_USER "\r\n"),
        S("334 UGFzc3dvcmQ6\r\n"), C(LOGIN_PASS "\r\n"), S("235 2.7.0 Authentication successful\r\n"),
    };
    run_all(&smtp_dissector, mn, NMSG(mn), &o);
    ck_assert_str_eq(o.rec.auth_user, "alice");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
}
END_TEST

START_TEST(test_sasl_tokens_malformed)
{
    struct out o;
    /* XOAUTH2 without the ^A separators: the token must not become the user */
    smtp_auth_case("AUTH XOAUTH2 dXNlcj1ib2JAZXhhbXBsZS50ZXN0IGF1dGg9QmVhcmVyIHlhMjkuU2VjcmV0VG9rZW4=\r\n",
                   "235 2.7.0 Accepted\r\n", &o);
    ck_assert_int_eq(count_kind(&o, "smtp.plaintext_auth"), 1);
    ck_assert_ptr_nonnull(strstr(find_kind(&o, "smtp.plaintext_auth")->evidence, "malformed XOAUTH2"));
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "SecretToken");
    assert_secret_gone(&o, "Bearer");
    free(o.dump);
    /* XOAUTH2 "user=<secret>^A" without "auth=" after it */
    smtp_auth_case("AUTH XOAUTH2 dXNlcj1TZWNyM3RQdyEB\r\n", "535 5.7.8 Error\r\n", &o);
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
    /* OAUTHBEARER "n,a=<token>" without the closing ',' of the GS2 header */
    smtp_auth_case("AUTH OAUTHBEARER bixhPXlhMjkuU2VjcmV0VG9rZW4=\r\n", "535 5.7.8 Error\r\n", &o);
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "SecretToken");
    free(o.dump);
    /* CRAM-MD5 response without "user SP digest" shape: a password sent as is */
    static const struct msg mc[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("AUTH CRAM-MD5\r\n"), S("334 PDEyMzQ1QGV4YW1wbGU+\r\n"),
        C("U2VjcjN0UHch\r\n"), S("535 5.7.8 Error\r\n"), C("AUTH CRAM-MD5\r\n"), S("334 PDEyMzQ1QGV4YW1wbGU+\r\n"),
        C("YWxpY2UgU2VjcjN0UHch\r\n"), S("535 5.7.8 Error\r\n"),
    };
    run_all(&smtp_dissector, mc, NMSG(mc), &o);
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
    /* DIGEST-MD5 username=" never closed */
    static const struct msg md[] = {
        S(GREET), C(EHLO), S(EHLO_NOTLS), C("AUTH DIGEST-MD5\r\n"), S("334 bm9uY2U9IjEyMyI=\r\n"),
        C("dXNlcm5hbWU9IlNlY3IzdFB3IQ==\r\n"), S("535 5.7.8 Error\r\n"),
    };
    run_all(&smtp_dissector, md, NMSG(md), &o);
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
    /* SCRAM "n,,n=<x>" without ",r=" */
    smtp_auth_case("AUTH SCRAM-SHA-256 biwsbj1TZWNyM3RQdyE=\r\n", "535 5.7.8 Error\r\n", &o);
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
}
END_TEST

START_TEST(test_login_user_malformed)
{
    struct out o;
    /* IMAP LOGIN with one argument: it may be the password alone */
    static const struct msg m1[] = {
        S(IMAP_GREET_NOTLS), C("a1 LOGIN Secr3tPw!\r\n"), S("a1 BAD Missing argument\r\n"),
    };
    run_all(&imap_dissector, m1, NMSG(m1), &o);
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
    /* a quoted user name never closed: "alice Secr3tPw! is one broken string */
    static const struct msg m2[] = {
        S(IMAP_GREET_NOTLS), C("a1 LOGIN \"alice Secr3tPw!\r\n"), S("a1 BAD Invalid arguments\r\n"),
    };
    run_all(&imap_dissector, m2, NMSG(m2), &o);
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
    /* a one-argument literal LOGIN, then the connection closes */
    static const struct msg m3[] = {
        S(IMAP_GREET_NOTLS), C("a1 LOGIN {9}\r\n"), S("+ OK\r\n"), C("Secr3tPw!\r\n"),
    };
    run_all(&imap_dissector, m3, NMSG(m3), &o);
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
    /* POP3 APOP without its digest */
    static const struct msg m4[] = {
        S("+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n"), C("APOP Secr3tPw!\r\n"), S("-ERR bad\r\n"),
    };
    run_all(&pop3_dissector, m4, NMSG(m4), &o);
    ck_assert_str_eq(o.rec.auth_user, "");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
    /* near miss: two arguments, the user literal first, still gives the user */
    static const struct msg m5[] = {
        S(IMAP_GREET_NOTLS), C("a1 LOGIN {5}\r\n"), S("+ OK\r\n"), C("alice Secr3tPw!\r\n"), S("a1 OK Logged in\r\n"),
    };
    run_all(&imap_dissector, m5, NMSG(m5), &o);
    ck_assert_str_eq(o.rec.auth_user, "alice");
    assert_secret_gone(&o, "Secr3t");
    free(o.dump);
}
END_TEST

/* mem() is what the allocator holds for a mail state (one fixed-size struct). */
START_TEST(test_mem_reports_heap)
{
    const struct dissector *ds[] = {&smtp_dissector, &imap_dissector, &pop3_dissector};
    for (size_t i = 0; i < 3; i++) {
#if defined(__SANITIZE_ADDRESS__)
        size_t h0 = 0; /* ASan's allocator is its own */
#else
        size_t h0 = mallinfo2().uordblks;
#endif
        void *st = ds[i]->state_new(NULL);
        ck_assert_ptr_nonnull(st);
        ck_assert_uint_gt(ds[i]->mem(st), sizeof(struct mail_session_rec));
        if (h0) /* glibc's per-thread cache may hold a freed chunk or two: 4 KiB of slack */
            ck_assert_uint_le(mallinfo2().uordblks - h0 - ds[i]->mem(st) + 4096, 8192);
        ds[i]->state_free(st);
    }
}
END_TEST

static Suite *mail_suite(void)
{
    Suite *s = suite_create("mail");
    TCase *tc = tcase_create("helpers");
    tcase_add_test(tc, test_b64_vectors);
    tcase_add_test(tc, test_b64_stops);
    tcase_add_test(tc, test_masked);
    tcase_add_test(tc, test_contract);
    tcase_add_test(tc, test_mem_reports_heap);
    suite_add_tcase(s, tc);

    tc = tcase_create("captures");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_captures, 0, (int)NMSG(capture_cases));
    suite_add_tcase(s, tc);

    tc = tcase_create("probe");
    tcase_add_test(tc, test_probe_smtp);
    tcase_add_test(tc, test_probe_imap_pop3);
    suite_add_tcase(s, tc);

    tc = tcase_create("smtp_starttls");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_smtp_clean_starttls);
    tcase_add_test(tc, test_smtp_refused);
    tcase_add_test(tc, test_smtp_refused_5xx);
    tcase_add_test(tc, test_smtp_stripped);
    tcase_add_test(tc, test_smtp_stripped_near_miss);
    tcase_add_test(tc, test_smtp_command_blocked);
    tcase_add_test(tc, test_smtp_command_blocked_near_miss);
    tcase_add_test(tc, test_smtp_failed_plaintext);
    tcase_add_test(tc, test_smtp_failed_close);
    tcase_add_test(tc, test_smtp_tls_record_one_byte);
    tcase_add_test(tc, test_smtp_injection_client);
    tcase_add_test(tc, test_smtp_injection_long);
    tcase_add_test(tc, test_smtp_injection_server);
    tcase_add_test(tc, test_smtp_injection_then_tls);
    tcase_add_test(tc, test_smtp_early_tls);
    tcase_add_test(tc, test_smtp_early_tls_overflow);
    tcase_add_test(tc, test_smtp_not_used);
    tcase_add_test(tc, test_smtp_not_offered);
    suite_add_tcase(s, tc);

    tc = tcase_create("smtp_auth");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_smtp_auth_plain_ir);
    tcase_add_test(tc, test_smtp_auth_plain_334);
    tcase_add_test(tc, test_smtp_auth_login);
    tcase_add_test(tc, test_smtp_auth_cram_xoauth);
    tcase_add_test(tc, test_smtp_injection_redacted);
    suite_add_tcase(s, tc);

    tc = tcase_create("secrets");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sasl_plain_malformed);
    tcase_add_test(tc, test_sasl_login_order);
    tcase_add_test(tc, test_sasl_tokens_malformed);
    tcase_add_test(tc, test_login_user_malformed);
    suite_add_tcase(s, tc);

    tc = tcase_create("smtp_session");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_smtp_pipelining);
    tcase_add_test(tc, test_smtp_data_dots);
    tcase_add_test(tc, test_smtp_data_rejected);
    tcase_add_test(tc, test_smtp_bdat);
    tcase_add_test(tc, test_smtp_line_cap);
    tcase_add_test(tc, test_smtp_midstream_gap);
    tcase_add_test(tc, test_smtp_banner_masked_unpaired);
    tcase_add_test(tc, test_smtp_garbage);
    suite_add_tcase(s, tc);

    tc = tcase_create("imap");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_imap_clean_starttls);
    tcase_add_test(tc, test_imap_login_quoted);
    tcase_add_test(tc, test_imap_login_literal);
    tcase_add_test(tc, test_imap_authenticate);
    tcase_add_test(tc, test_imap_verdicts);
    tcase_add_test(tc, test_imap_server_literal);
    tcase_add_test(tc, test_imap_long_line_literal);
    suite_add_tcase(s, tc);

    tc = tcase_create("pop3");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_pop3_clean_stls);
    tcase_add_test(tc, test_pop3_user_pass);
    tcase_add_test(tc, test_pop3_auth_apop);
    tcase_add_test(tc, test_pop3_verdicts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mail_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
