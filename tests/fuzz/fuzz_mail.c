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
 * The harness behaves like engine/pipeline.c: it keeps each direction's unconsumed tail and
 * prepends it to the next call, hands the rest to "tls" on DIS_SWITCH (and calls on_close as
 * the pipeline does), detaches past DIS_BUF_MAX.
 * Invariants checked: consumed <= input; no tail beyond SMTP_LINE_MAX or MAIL_EARLY_TLS_MAX;
 * exactly one record; findings and record strings NUL-terminated, evidence a JSON object; and
 * the chunked run emits exactly what the unchunked run (mode bits 3-5 = 0) emits: the
 * dissector's output must not depend on how the stream was cut.
 *
 * Build: CC=clang meson setup build-fuzz -Dfuzz=true && ninja -C build-fuzz tests/fuzz/fuzz_mail
 * (meson test --suite fuzz runs it via run_fuzz.sh), or by hand from the repository root:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -I<builddir>/dissect \
 *     tests/fuzz/fuzz_mail.c <every dissect .c file> -lwolfssl -o fuzz_mail
 *   ./fuzz_mail -dict=tests/fuzz/smtp.dict -max_total_time=120 CORPUS_DIR
 * Seeds: one file per TCP stream of each pcaps/mail capture (mode byte, then the stream's segments
 * merged per direction and joined with the marker, TLS cut after 64 bytes), each in chunkings
 * 0, 1 and 4. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "dissect/mail.h"

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
    struct fz_out *o = ud;
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
    struct fz_out *o = ud;
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
    struct fz_out *o = ud;
    fz_add(o, "L", 1);
    fz_add(o, p, strlen(p));
}

struct tail {
    uint8_t *p;
    size_t len, cap;
};

static void tail_add(struct tail *t, const uint8_t *p, size_t n)
{
    if (t->len + n > t->cap) {
        size_t nc = (t->len + n) * 2 + 16;
        uint8_t *np = realloc(t->p, nc);
        CHECK(np != NULL);
        t->p = np;
        t->cap = nc;
    }
    memcpy(t->p + t->len, p, n);
    t->len += n;
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
    static const struct dissector *const ds[4] = {&smtp_dissector, &imap_dissector, &pop3_dissector,
                                                  &smtp_dissector};
    const struct dissector *d = ds[mode & 3];
    memset(o, 0, sizeof *o);
    o->hash = 1469598103934665603ull;
    struct dis_sink sink = {o, fz_finding, NULL, NULL, fz_record, fz_label};
    struct dis_cfg cfg = {0};
    void *st = d->state_new(&cfg);
    if (!st)
        return;
    struct tail tail[2] = {{NULL, 0, 0}, {NULL, 0, 0}};
    int dir = (mode >> 2) & 1;
    bool attached = true, done = false;
    size_t pos = 0, nchunk = 0;
    while (pos <= size && attached) {
        /* next chunk: [pos, end) */
        size_t end = pos;
        while (end < size && !(size - end >= 4 && memcmp(data + end, marker, 4) == 0))
            end++;
        struct dis_ctx ctx;
        memset(&ctx, 0, sizeof ctx);
        ctx.ts_usec = 1000 + nchunk;
        ctx.sink = &sink;
        ctx.cli_ip = "10.0.0.1";
        ctx.srv_ip = "10.0.0.2";
        ctx.srv_port = 25;
        ctx.flow_id = 1;
        if (end == pos && (mode & 0x40) && !done) {
            tail[dir].len = 0;
            enum dis_status rc = d->on_gap(st, dir, 1000, &ctx);
            CHECK(rc == DIS_OK || rc == DIS_DONE);
            if (rc == DIS_DONE)
                done = true;
        }
        size_t off = pos;
        while (off < end && attached && !done) {
            size_t n = piece_len(chunking, off, end - off);
            tail_add(&tail[dir], data + off, n);
            off += n;
            struct bytes in = {tail[dir].p, tail[dir].len};
            size_t consumed = 0;
            ctx.want[0] = ctx.want[1] = true;
            ctx.switch_to = ctx.started_by = NULL;
            enum dis_status rc = d->on_data(st, dir, in, &consumed, &ctx);
            CHECK(consumed <= in.len);
            if (rc == DIS_SWITCH) {
                CHECK(ctx.switch_to && strcmp(ctx.switch_to, "tls") == 0);
                CHECK(ctx.started_by != NULL);
                char line[64];
                /* bytes handed to "tls" from this chunk: the call's rest plus the pieces to come */
                int k = snprintf(line, sizeof line, "S%d %s %zu\n", dir, ctx.started_by,
                                 in.len - consumed + (end - off));
                fz_add(o, line, (size_t)k);
                d->on_close(st, &ctx);
                attached = false;
                break;
            }
            CHECK(rc == DIS_OK);
            memmove(tail[dir].p, tail[dir].p + consumed, tail[dir].len - consumed);
            tail[dir].len -= consumed;
            /* a partial line (< SMTP_LINE_MAX) or one held early TLS record */
            CHECK(tail[dir].len <= MAIL_EARLY_TLS_MAX && tail[dir].len <= DIS_BUF_MAX);
        }
        nchunk++;
        dir ^= 1;
        if (end >= size)
            break;
        pos = end + 4;
    }
    if (attached) {
        struct dis_ctx ctx;
        memset(&ctx, 0, sizeof ctx);
        ctx.ts_usec = 999999;
        ctx.sink = &sink;
        d->on_close(st, &ctx);
    }
    d->state_free(st);
    free(tail[0].p);
    free(tail[1].p);
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
