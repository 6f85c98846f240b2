/* fuzz_mail.c — libFuzzer target for dissect/mail.c (smtp, imap and pop3 dissectors).
 *
 * Input: byte 0 is the mode, the rest is a list of chunks separated by the 4-byte marker
 * "\xf0\x0d\xfa\xce"; chunks alternate direction, the first one goes to the server direction
 * (1) if mode bit 2 is set, else to the client (0).
 *   mode bits 0-1  dissector: 0 smtp, 1 imap, 2 pop3, 3 smtp
 *   mode bit  2    first chunk direction
 *   mode bits 3-5  chunking of each chunk into on_data calls: 0 whole, 1 one byte per call,
 *                  2..7 pieces of a pseudo-random size 1..2^k seeded by the chunk's position
 *   mode bit  6    an empty chunk is a capture gap of 1000 bytes in its direction (on_gap)
 *   mode bit  7    unused (keeps corpora of other targets meaningful)
 * The stream goes through the product's stream driver (engine/driver.c: each direction's
 * unconsumed tail kept and prepended, on DIS_SWITCH on_close and both directions' tails and the
 * rest handed to "tls", here a recorder that counts the bytes), with a wrapper that hands each
 * call an exactly sized heap copy (ASan sees any overread).
 * Invariants checked: consumed <= input; no tail beyond SMTP_LINE_MAX or MAIL_EARLY_TLS_MAX;
 * exactly one record; findings and record strings NUL-terminated, evidence a JSON object; and
 * the chunked run emits exactly what the unchunked run (mode bits 3-5 = 0) emits: the
 * dissector's output must not depend on how the stream was cut.
 *
 * Build: CC=clang meson setup build-fuzz -Dfuzz=true -Db_lundef=false && ninja -C build-fuzz
 * tests/fuzz/fuzz_mail (meson test --suite fuzz runs it via run_fuzz.sh), then
 *   ./fuzz_mail -dict=tests/fuzz/smtp.dict -max_total_time=120 CORPUS_DIR
 * Seeds: one file per TCP stream of each pcaps/mail capture (mode byte, then the stream's segments
 * merged per direction and joined with the marker, TLS cut after 64 bytes), each in chunkings
 * 0, 1 and 4. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "dissect/mail.h"
#include "engine/driver.h"

#define CHECK(x)                                                                  \
    do {                                                                          \
        if (!(x)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
            abort();                                                              \
        }                                                                         \
    } while (0)

static const uint8_t marker[4] = {0xf0, 0x0d, 0xfa, 0xce};

/* What a run emitted, as text (bounded; past the cap only a hash is kept). */
struct fz_out {
    char text[1 << 16];
    size_t len;
    uint64_t hash;
    int nrec;
};

static void fz_add(struct fz_out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        o->hash = (o->hash ^ (uint8_t)s[i]) * 1099511628211ull;
    size_t room = sizeof o->text - 1 - o->len;
    size_t m = n < room ? n : room;
    memcpy(o->text + o->len, s, m);
    o->len += m;
    o->text[o->len] = '\0';
}

static void check_str(const char *s, size_t cap)
{
    CHECK(memchr(s, '\0', cap) != NULL);
}

static void fz_finding(void *ud, const struct finding *f)
{
    struct fz_out *o = *(struct fz_out **)ud; /* struct fz_run, o first */
    check_str(f->summary, sizeof f->summary);
    check_str(f->evidence, sizeof f->evidence);
    CHECK(f->evidence[0] == '{');
    CHECK(finding_kind_info(f->kind) != NULL);
    char head[64];
    int n = snprintf(head, sizeof head, "F%d/%d@%llu ", (int)f->kind, (int)f->severity,
                     (unsigned long long)f->ts_usec);
    fz_add(o, head, (size_t)n);
    fz_add(o, f->summary, strlen(f->summary));
    fz_add(o, f->evidence, strlen(f->evidence));
    fz_add(o, "\n", 1);
}

static void fz_record(void *ud, const struct mail_session_rec *r)
{
    struct fz_out *o = *(struct fz_out **)ud; /* struct fz_run, o first */
    o->nrec++;
    check_str(r->proto, sizeof r->proto);
    check_str(r->greeting, sizeof r->greeting);
    check_str(r->greeting_host, sizeof r->greeting_host);
    check_str(r->helo, sizeof r->helo);
    check_str(r->capabilities, sizeof r->capabilities);
    check_str(r->auth_mechs, sizeof r->auth_mechs);
    check_str(r->starttls_reply, sizeof r->starttls_reply);
    check_str(r->auth_mech, sizeof r->auth_mech);
    check_str(r->auth_user, sizeof r->auth_user);
    char buf[2048];
    int n = snprintf(buf, sizeof buf, "R %s|%s|%s|%s|%s|%s|%s|%s|%s|%u %u %u %u %u %u %u %u %u %u %u %u %u %llu "
                     "%u %u %u %u %u %u %llu\n",
                     r->proto, r->greeting, r->greeting_host, r->helo, r->capabilities, r->auth_mechs,
                     r->starttls_reply, r->auth_mech, r->auth_user, r->caps_seen, r->caps, r->starttls_offered,
                     r->starttls_requested, r->starttls_reply_code, r->starttls_accepted, r->tls_started,
                     r->auth_in_clear, r->auth_ok, r->auth_attempts, r->plaintext_commands, r->rcpts,
                     r->messages, (unsigned long long)r->message_bytes, r->mail_in_clear, r->verdicts, r->flags,
                     r->long_lines, r->bad_lines, r->ehlo, (unsigned long long)r->ts_end_usec);
    CHECK(n > 0);
    fz_add(o, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static void fz_label(void *ud, const char *p)
{
    struct fz_out *o = *(struct fz_out **)ud; /* struct fz_run, o first */
    fz_add(o, "L", 1);
    fz_add(o, p, strlen(p));
}

/* The run's output and the "tls" recorder's count (the sink's ud). */
struct fz_run {
    struct fz_out *o;
    size_t tls_bytes[2]; /* bytes the driver handed to "tls" after the switch, per direction */
};

/* fz_mail: the mail dissector as the driver sees it, each call's bytes in an exactly sized heap
 * copy (ASan sees any overread), every status and the tail bound checked. */
struct fz_st {
    const struct dissector *real;
    void *st;
};

static void *fz_new_with(const struct dissector *real, const struct dis_cfg *cfg)
{
    struct fz_st *g = malloc(sizeof *g);
    CHECK(g != NULL);
    g->real = real;
    g->st = real->state_new(cfg);
    if (!g->st) {
        free(g);
        return NULL;
    }
    return g;
}

static void fz_free(void *vg)
{
    struct fz_st *g = vg;
    if (!g)
        return;
    g->real->state_free(g->st);
    free(g);
}

static enum dis_status fz_data(void *vg, int dir, struct bytes in, size_t *consumed, struct dis_ctx *ctx)
{
    struct fz_st *g = vg;
    struct fz_run *r = ctx->sink->ud;
    uint8_t *exact = malloc(in.len ? in.len : 1);
    CHECK(exact != NULL);
    memcpy(exact, in.p, in.len);
    *consumed = 0;
    enum dis_status rc = g->real->on_data(g->st, dir, (struct bytes){exact, in.len}, consumed, ctx);
    free(exact);
    CHECK(*consumed <= in.len);
    if (rc == DIS_SWITCH) {
        CHECK(ctx->switch_to && strcmp(ctx->switch_to, "tls") == 0);
        CHECK(ctx->started_by != NULL);
        char line[64];
        int k = snprintf(line, sizeof line, "S%d %s\n", dir, ctx->started_by);
        fz_add(r->o, line, (size_t)k);
        return rc;
    }
    CHECK(rc == DIS_OK);
    /* a partial line (< SMTP_LINE_MAX) or one held early TLS record */
    CHECK(in.len - *consumed <= MAIL_EARLY_TLS_MAX && in.len - *consumed <= DIS_BUF_MAX);
    return rc;
}

static enum dis_status fz_gap(void *vg, int dir, uint64_t len, struct dis_ctx *ctx)
{
    struct fz_st *g = vg;
    enum dis_status rc = g->real->on_gap(g->st, dir, len, ctx);
    CHECK(rc == DIS_OK || rc == DIS_DONE);
    return rc;
}

static void fz_close(void *vg, struct dis_ctx *ctx)
{
    struct fz_st *g = vg;
    g->real->on_close(g->st, ctx);
}

static size_t fz_mem(const void *vg)
{
    const struct fz_st *g = vg;
    return g->real->mem(g->st);
}

#define FZ_MAIL(x)                                                                                   \
    static void *fz_new_##x(const struct dis_cfg *cfg) { return fz_new_with(&x##_dissector, cfg); } \
    static const struct dissector fz_##x = {.name = #x, .state_new = fz_new_##x, .state_free = fz_free, \
                                           .on_data = fz_data, .on_gap = fz_gap, .on_close = fz_close, \
                                           .mem = fz_mem};
FZ_MAIL(smtp)
FZ_MAIL(imap)
FZ_MAIL(pop3)

/* "tls" after a switch: counts what the driver hands it. */
static void *rec_new(const struct dis_cfg *cfg)
{
    (void)cfg;
    return malloc(1);
}

static enum dis_status rec_data(void *st, int dir, struct bytes in, size_t *consumed, struct dis_ctx *ctx)
{
    (void)st;
    struct fz_run *r = ctx->sink->ud;
    r->tls_bytes[dir] += in.len;
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

static size_t piece_len(unsigned chunking, size_t pos, size_t left)
{
    if (chunking == 0)
        return left;
    if (chunking == 1)
        return 1;
    size_t max = (size_t)1 << chunking;
    size_t h = (pos * 2654435761u) >> 7;
    size_t n = 1 + h % max;
    return n < left ? n : left;
}

static void run(const uint8_t *data, size_t size, uint8_t mode, unsigned chunking, struct fz_out *o)
{
    static const struct dissector *const ds[4] = {&fz_smtp, &fz_imap, &fz_pop3, &fz_smtp};
    memset(o, 0, sizeof *o);
    o->hash = 1469598103934665603ull;
    struct fz_run r = {o, {0, 0}};
    struct dis_sink sink = {&r, fz_finding, NULL, NULL, fz_record, fz_label, NULL};
    struct drv_host host = {.sink = &sink, .find = find_recorder};
    struct drv d;
    drv_init(&d, &host, "10.0.0.1", "10.0.0.2", 0, 25, 1);
    if (!drv_attach(&d, ds[mode & 3], 0))
        return;
    int dir = (mode >> 2) & 1;
    size_t pos = 0, nchunk = 0;
    while (pos <= size && drv_claimed(&d)) {
        /* next chunk: [pos, end) */
        size_t end = pos;
        while (end < size && !(size - end >= 4 && memcmp(data + end, marker, 4) == 0))
            end++;
        uint64_t ts = 1000 + nchunk;
        if (end == pos && (mode & 0x40))
            drv_gap(&d, dir, 1000, ts);
        for (size_t off = pos; off < end && drv_state(&d) == DRV_ATTACHED;) {
            size_t n = piece_len(chunking, off, end - off);
            drv_data(&d, dir, data + off, n, ts);
            off += n;
        }
        nchunk++;
        dir ^= 1;
        if (end >= size)
            break;
        pos = end + 4;
    }
    drv_close(&d, 999999);
    drv_fini(&d);
    CHECK(host.stats.errors == 0); /* no DIS_ERR, no tail over DIS_BUF_MAX */
    char line[64];
    int k = snprintf(line, sizeof line, "T %zu %zu\n", r.tls_bytes[0], r.tls_bytes[1]);
    fz_add(o, line, (size_t)k);
    CHECK(o->nrec == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct fz_out *whole = malloc(sizeof *whole), *cut = malloc(sizeof *cut);
    CHECK(whole && cut);
    uint8_t mode = data[0];
    unsigned chunking = (mode >> 3) & 7;
    run(data + 1, size - 1, mode, 0, whole);
    if (chunking) {
        run(data + 1, size - 1, mode, chunking, cut);
        if (whole->hash != cut->hash || whole->len != cut->len) {
            fprintf(stderr, "--- whole\n%s\n--- chunked (%u)\n%s\n", whole->text, chunking, cut->text);
            CHECK(!"output depends on chunking");
        }
    }
    free(whole);
    free(cut);
    return 0;
}
