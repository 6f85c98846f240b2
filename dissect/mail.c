/* mail.c — SMTP, IMAP and POP3 in clear: greetings, capability lists, command/reply pairing,
 * authentication, message bodies, the STARTTLS/STLS upgrade and the ways it is stripped,
 * refused, rewritten or injected (kinds_mail.def). Hands the flow to "tls" after an accepted
 * upgrade. One implementation, three const dissectors (smtp_dissector, imap_dissector,
 * pop3_dissector).
 *
 * Follows:
 *  SMTP  RFC 5321 §4.1.1 (commands; verbs case-insensitive), §4.2 (reply lines: code, '-' for
 *        a continued multi-line reply, ' ' or nothing on the last), §3.1/§4.3.1 (greeting 220,
 *        or 554 rejection), §4.5.2 (DATA ends with CRLF "." CRLF; dot-stuffing), §4.5.3.1.4
 *        (line lengths, see SMTP_LINE_MAX); RFC 1869/5321 §4.1.1.1 EHLO keywords; RFC 2920
 *        pipelining (replies come in command order; §3.1 STARTTLS/DATA end a group); RFC 3030
 *        BDAT (chunk of exactly n octets follows the command line); RFC 3207 STARTTLS (§4 "220
 *        Ready to start TLS", "454 TLS not available due to temporary reason", §4.2 "the client
 *        MUST NOT ... send additional commands"); RFC 4954 AUTH (§4 initial response, "=" for an
 *        empty one, "*" cancels, 334 continuation, 235 success).
 *  IMAP  RFC 9051/3501 §2.2 (tagged commands, untagged "*" and "+" continuation responses),
 *        §4.3 literals "{n}" and RFC 7888 "{n+}" (skipped by length in both directions),
 *        §6.2.1 STARTTLS, §6.2.2 AUTHENTICATE (+ RFC 4959 SASL-IR), §6.2.3 LOGIN (user from an
 *        atom, quoted string or literal), §7.1 response codes ([CAPABILITY …]).
 *  POP3  RFC 1939 (§3 "+OK"/"-ERR", multi-line responses ending in "." with byte-stuffing;
 *        USER/PASS, APOP, RETR, TOP, LIST, UIDL), RFC 2449 CAPA, RFC 2595 §4 STLS, RFC 5034 AUTH.
 *  SASL  RFC 4616 PLAIN (authzid NUL authcid NUL passwd: authcid kept), RFC 2195 CRAM-MD5
 *        ("user SP digest"), RFC 2831 DIGEST-MD5 (username="…"), RFC 5802 SCRAM ("n=user"),
 *        RFC 7628 OAUTHBEARER ("a=user"), Google XOAUTH2 ("user=…^Aauth=Bearer …"), LOGIN
 *        (draft-murchison-sasl-login: user, then password, each base64).
 * Secrets: SASL responses are decoded by a streaming base64 decoder; a password response
 * (LOGIN's second or any answer to a "Password:" prompt, PASS, the second LOGIN argument) is
 * stepped over without decoding or copying; PLAIN's password is decoded only to count its NULs,
 * never copied. A user name reaches the record only when its response or command has the shape
 * its mechanism prescribes (PLAIN: exactly two NULs and a password; XOAUTH2: "user=" … ^A
 * "auth="; OAUTHBEARER/SCRAM: the terminating ','; CRAM-MD5: "user SP" 32 hex digits;
 * DIGEST-MD5: the closing quote; LOGIN: no NUL, not an answer to "Password:"; IMAP LOGIN: a
 * second argument; APOP: a 32-hex digest): in a malformed one the bytes where the user belongs
 * may be the password, so no user is stored and the evidence says "malformed …". Evidence
 * quotes capability and reply lines and injected bytes; client bytes in evidence are cut at the
 * first AUTH/PASS/APOP/LOGIN/AUTHENTICATE verb ("[redacted]").
 *
 * Every byte is read through struct rd. Lines are capped at SMTP_LINE_MAX; message bodies are
 * skipped with a memchr search for CRLF "." CRLF that keeps at most 4 bytes of match state
 * between calls (nothing is held back in the pipeline's buffer), BDAT chunks and literals by
 * length.
 *
 * Ignored on purpose: what follows the switch to TLS (the TLS dissector's), LMTP, SMTP
 * extensions' parameters (SIZE values, DSN, 8BITMIME bodies are skipped like any other),
 * IMAP responses other than greeting/CAPABILITY/tagged status (mailbox data is skipped,
 * literals by length), IMAP COMPRESS and IDLE (its "DONE" is a line like any other), the
 * contents of DIGEST-MD5/SCRAM beyond the user name, GSSAPI/NTLM/EXTERNAL payloads, SMTP
 * "bare LF" end-of-data variants (only CRLF "." CRLF ends DATA), DATA bodies sent before
 * the 354 (read as body anyway: the dissector enters the body right after DATA and returns
 * to commands if the reply is not 354 before any body byte). A client that sends its
 * ClientHello before the reply to STARTTLS (MAIL_F_EARLY_TLS) is switched to TLS at the 220;
 * its held ClientHello is then dropped by the pipeline (only the switching direction's rest
 * is handed over). */
#include "dissect/mail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/reader.h"

/* Bytes of the end of a skipped (over-long) line kept to see whether it announced an IMAP
 * literal: "{" + 19 digits + "+}" fits. */
#define SKIP_TAIL_MAX 24u
/* Decoded bytes of a DIGEST-MD5 response searched for username="…" (RFC 2831 §2.1.2: the
 * response is a few hundred bytes; username comes first in practice). */
#define DIGEST_PEEK_MAX 1024u

/* ------------------------------------------------------------------------------------------ */
/* State */

enum phase {
    PH_NONE = 0,  /* no upgrade pending */
    PH_REQUESTED, /* STARTTLS/STLS sent, reply not yet seen */
    PH_AWAIT,     /* accepted; waiting for the client's TLS handshake */
    PH_SWITCHED   /* DIS_SWITCH returned */
};

enum dmode {
    DM_LINE = 0,  /* complete lines */
    DM_SKIP_LINE, /* rest of an over-long line, up to its LF */
    DM_DOT_BODY,  /* SMTP DATA body / POP3 multi-line response up to CRLF "." CRLF */
    DM_COUNT      /* BDAT chunk or IMAP literal: `left` bytes */
};

enum verb {
    V_OTHER = 0,
    V_GREETING,
    V_EHLO,
    V_HELO,
    V_STARTTLS, /* SMTP/IMAP STARTTLS, POP3 STLS */
    V_AUTH,     /* SMTP/POP3 AUTH, IMAP AUTHENTICATE */
    V_MAIL,
    V_RCPT,
    V_DATA,
    V_DATA_END, /* pseudo-command: the end of a DATA body, answered like a command */
    V_BDAT,
    V_QUIT,
    V_MASKED,   /* a verb of the masking form in STARTTLS' position */
    V_CAPA,     /* IMAP CAPABILITY, POP3 CAPA */
    V_LOGIN,    /* IMAP LOGIN */
    V_USER,
    V_PASS,
    V_APOP,
    V_RETR,
    V_MULTI,    /* POP3 command with a multi-line +OK answer (TOP, LIST/UIDL w/o argument) */
    V_APPEND
};

enum sasl_mech {
    M_NONE = 0,
    M_PLAIN,
    M_LOGIN,
    M_CRAM_MD5,
    M_DIGEST_MD5,
    M_XOAUTH2,
    M_OAUTHBEARER,
    M_SCRAM,
    M_OTHER
};

/* Verdict indexes (bit i of MAIL_V_*), and the kinds per protocol. */
enum {
    VI_STRIPPED = 0,
    VI_BLOCKED,
    VI_REFUSED,
    VI_FAILED,
    VI_INJECTION,
    VI_NOT_USED,
    VI_NOT_OFFERED,
    VI_PLAINTEXT_AUTH,
    VI_COUNT
};
/* Internal dedupe key for the server-side injection (client side uses the MAIL_V_ bit). */
#define RAISED_INJ_SERVER (1u << 16)

static const enum finding_kind mail_kinds[3][VI_COUNT] = {
    {FK_SMTP_STARTTLS_STRIPPED, FK_SMTP_STARTTLS_COMMAND_BLOCKED, FK_SMTP_STARTTLS_REFUSED,
     FK_SMTP_STARTTLS_FAILED, FK_SMTP_STARTTLS_INJECTION, FK_SMTP_STARTTLS_NOT_USED,
     FK_SMTP_STARTTLS_NOT_OFFERED, FK_SMTP_PLAINTEXT_AUTH},
    {FK_IMAP_STARTTLS_STRIPPED, FK_IMAP_STARTTLS_COMMAND_BLOCKED, FK_IMAP_STARTTLS_REFUSED,
     FK_IMAP_STARTTLS_FAILED, FK_IMAP_STARTTLS_INJECTION, FK_IMAP_STARTTLS_NOT_USED,
     FK_IMAP_STARTTLS_NOT_OFFERED, FK_IMAP_PLAINTEXT_AUTH},
    {FK_POP3_STARTTLS_STRIPPED, FK_POP3_STARTTLS_COMMAND_BLOCKED, FK_POP3_STARTTLS_REFUSED,
     FK_POP3_STARTTLS_FAILED, FK_POP3_STARTTLS_INJECTION, FK_POP3_STARTTLS_NOT_USED,
     FK_POP3_STARTTLS_NOT_OFFERED, FK_POP3_PLAINTEXT_AUTH},
};

/* A command waiting for its reply. */
struct mail_cmd {
    uint8_t verb;            /* enum verb */
    bool flag;               /* SMTP BDAT: LAST given; POP3 AUTH: no argument (list follows) */
    char tag[MAIL_TAG_MAX];  /* IMAP tag (printable copy, cut) */
    char word[12];           /* V_MASKED: the verb as seen (8 or 4 bytes) */
};

/* Raw bytes kept for evidence (capability line, reply line, injected bytes). */
struct kept {
    uint8_t b[MAIL_EVIDENCE_MAX];
    size_t len;              /* <= MAIL_EVIDENCE_MAX */
    uint64_t total;          /* bytes offered, including those not kept */
};

struct mail_dir {
    enum dmode mode;
    unsigned mstate;         /* DM_DOT_BODY: bytes of CRLF "." CRLF matched so far, 0..4 */
    bool data_body;          /* DM_DOT_BODY: SMTP DATA (else a POP3 multi-line response) */
    uint64_t body_seen;      /* DM_DOT_BODY: bytes consumed in this body */
    uint64_t left;           /* DM_COUNT: bytes still to skip */
    bool to_user;            /* DM_COUNT: the literal is an IMAP LOGIN user name: copy it */
    bool count_body;         /* DM_COUNT: add the bytes to message_bytes */
    bool lit_sync;           /* DM_COUNT (client): synchronizing literal, none of it seen yet */
    bool cont;               /* IMAP: the next line continues the line cut by a literal */
    uint8_t tail[SKIP_TAIL_MAX]; /* DM_SKIP_LINE: last bytes of the skipped line */
    size_t tail_len;         /* <= SKIP_TAIL_MAX */
};

/* A capability list being assembled (SMTP over several reply lines, POP3 over CAPA lines). */
struct caplist {
    char caps[MAIL_CAPS_MAX];
    char mechs[MAIL_MECHS_MAX];
    uint32_t bits;           /* MAIL_CAP_* */
    struct kept starttls_line; /* the line that carried STARTTLS/STLS */
    struct kept mask_line;   /* the line with the masked keyword */
};

/* What the server's latest challenge asked for (LOGIN's "Username:" / "Password:" prompts). */
enum sasl_prompt { PROMPT_NONE = 0, PROMPT_USER, PROMPT_PASS };

struct sasl {
    uint8_t mech;            /* enum sasl_mech */
    uint8_t prompt;          /* enum sasl_prompt of the challenge the next response answers */
    uint32_t nresp;          /* client responses seen (the initial response is number 0) */
    bool active;             /* an exchange is in progress */
};

struct mail_state {
    enum mail_proto proto;
    struct mail_session_rec rec;
    struct mail_dir d[2];
    struct mail_cmd q[MAIL_PIPELINE_MAX]; /* oldest first */
    unsigned q_len;          /* <= MAIL_PIPELINE_MAX */
    enum phase phase;
    bool started, labelled, emitted, greeted, any_reply;
    bool switch_now;         /* a server line decided to switch (early TLS client) */
    bool early_overflow;     /* held "early TLS" bytes passed MAIL_EARLY_TLS_MAX */
    uint32_t raised;         /* MAIL_V_* bits and RAISED_INJ_SERVER */
    struct kept inj_client;  /* client bytes after STARTTLS before its reply */
    struct kept inj_server;  /* server bytes after the acceptance before the handshake */
    struct kept starttls_line; /* capability line that advertised STARTTLS (latest) */
    struct kept tls_reply;   /* reply line to STARTTLS */
    /* SMTP reply being read */
    bool reply_open;
    uint16_t reply_code;
    uint8_t reply_target;    /* enum verb of the command it answers; V_OTHER if none */
    bool reply_paired;       /* it answers q[0] */
    bool reply_target_flag;
    struct kept reply_line;  /* its first line */
    /* capability list being assembled */
    bool list_open;
    struct caplist cl;
    /* authentication */
    struct sasl sasl;
    bool auth_expect;        /* the server asked for a SASL response: next client line is one */
    bool auth_sasl;          /* the recorded attempt is a SASL exchange (AUTH/AUTHENTICATE) */
    char pend_user[MAIL_USER_MAX]; /* a user name being read; copied to rec.auth_user only once
                                      what surrounds it has the expected shape (user_commit) */
    const char *auth_note;   /* static text for the evidence ("malformed PLAIN blob") or NULL */
    /* IMAP command cut by a literal */
    bool cmd_open;
    struct mail_cmd cur;
    bool login_active;       /* cur is LOGIN: arguments being tokenised */
    unsigned login_argi;     /* LOGIN arguments complete so far */
    char auth_tag[MAIL_TAG_MAX]; /* tag of the AUTHENTICATE in progress */
    /* POP3 */
    bool capa_open;          /* reading CAPA lines up to "." */
};

/* ------------------------------------------------------------------------------------------ */
/* Small helpers (all packet access through reader.h) */

static int up(int c) { return (c >= 'a' && c <= 'z') ? c - 32 : c; }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_sp(int c) { return c == ' ' || c == '\t'; }

static void kept_add(struct kept *k, struct bytes b)
{
    k->total += b.len;
    size_t room = MAIL_EVIDENCE_MAX - k->len;
    size_t n = b.len < room ? b.len : room;
    if (n) {
        struct rd r = rd_from(b);
        if (rd_copy(&r, k->b + k->len, n))
            k->len += n;
    }
}

static void kept_set(struct kept *k, struct bytes b)
{
    k->len = 0;
    k->total = 0;
    kept_add(k, b);
}

static struct bytes kept_bytes(const struct kept *k)
{
    struct bytes b = {k->b, k->len};
    return b;
}

/* Next word (run of non-blank bytes) from r, skipping leading blanks; empty at the end. */
static struct bytes next_word(struct rd *r)
{
    while (!rd_eof(r) && is_sp(rd_peek(r, 0)))
        rd_skip(r, 1);
    size_t n = 0;
    while (n < rd_left(r) && !is_sp(rd_peek(r, n)))
        n++;
    return rd_slice(r, n);
}

/* Rest of r with leading blanks skipped. */
static struct bytes rest_trim(struct rd *r)
{
    while (!rd_eof(r) && is_sp(rd_peek(r, 0)))
        rd_skip(r, 1);
    return bytes_trim(rd_rest(r));
}

static bool eq_exact(struct bytes b, const char *s)
{
    size_t n = strlen(s);
    if (b.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (bytes_at(b, i) != (unsigned char)s[i])
            return false;
    return true;
}

/* Appends byte c to the NUL-terminated dst (cap incl. NUL) as printable ASCII. */
static void str_putc(char *dst, size_t cap, int c)
{
    size_t n = strlen(dst);
    if (n + 1 >= cap)
        return;
    dst[n] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    dst[n + 1] = '\0';
}

/* Appends " word" (no leading space when dst is empty) if all of it fits. */
static void str_add_word(char *dst, size_t cap, struct bytes w, bool upper)
{
    size_t n = strlen(dst);
    size_t need = w.len + (n ? 1 : 0);
    if (w.len == 0 || need >= cap - n)
        return;
    if (n)
        dst[n++] = ' ';
    struct rd r = rd_from(w);
    while (!rd_eof(&r)) {
        int c = rd_u8(&r);
        if (upper)
            c = up(c);
        dst[n++] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[n] = '\0';
}

static void str_set(char *dst, size_t cap, struct bytes b) { bytes_to_cstr(b, dst, cap); }

static void str_set_upper(char *dst, size_t cap, struct bytes b)
{
    dst[0] = '\0';
    struct rd r = rd_from(b);
    while (!rd_eof(&r))
        str_putc(dst, cap, up(rd_u8(&r)));
}

/* Decimal number (at most 19 digits) spanning all of b; false if not one. */
static bool parse_u64(struct bytes b, uint64_t *out)
{
    if (b.len == 0 || b.len > 19)
        return false;
    uint64_t v = 0;
    struct rd r = rd_from(b);
    while (!rd_eof(&r)) {
        int c = rd_u8(&r);
        if (!is_digit(c))
            return false;
        v = v * 10 + (uint64_t)(c - '0');
    }
    *out = v;
    return true;
}

/* See mail.h. */
bool mail_is_masked(struct bytes word, size_t len)
{
    if (word.len != len || len == 0)
        return false;
    size_t other = 0;
    struct rd r = rd_from(word);
    while (!rd_eof(&r)) {
        int c = rd_u8(&r);
        if (c != 'X' && c != 'x' && c != '*')
            other++;
    }
    return other <= 1;
}

/* ---- streaming base64 (RFC 4648 §4) ---- */

struct b64 {
    struct rd r;
    uint32_t acc;   /* pending bits (low `bits` bits valid) */
    unsigned bits;  /* < 14 */
    bool done;
};

static struct b64 b64_init(struct bytes in)
{
    struct b64 b = {rd_from(in), 0, 0, false};
    return b;
}

/* Next decoded byte, or -1 at the end of the input, at '=' or at a byte outside the alphabet. */
static int b64_next(struct b64 *b)
{
    for (;;) {
        if (b->bits >= 8) {
            b->bits -= 8;
            return (int)((b->acc >> b->bits) & 0xffu);
        }
        if (b->done || rd_eof(&b->r)) {
            b->done = true;
            return -1;
        }
        int v = b64_digit(rd_u8(&b->r), false);
        if (v < 0) {
            b->done = true;
            return -1;
        }
        b->acc = ((b->acc << 6) | (uint32_t)v) & 0xffffu;
        b->bits += 6;
    }
}

/* See mail.h. */
size_t mail_b64_decode(struct bytes in, uint8_t *out, size_t cap)
{
    struct b64 b = b64_init(in);
    size_t n = 0;
    int c;
    while (n < cap && (c = b64_next(&b)) >= 0)
        out[n++] = (uint8_t)c;
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Record, findings */

static const char *proto_upper(const struct mail_state *st)
{
    return st->proto == MAIL_PROTO_SMTP ? "SMTP" : st->proto == MAIL_PROTO_IMAP ? "IMAP" : "POP3";
}

static const char *tls_verb(const struct mail_state *st)
{
    return st->proto == MAIL_PROTO_POP3 ? "STLS" : "STARTTLS";
}

static void server_str(const struct dis_ctx *ctx, char *dst, size_t cap)
{
    snprintf(dst, cap, "%s:%u", ctx->srv_ip ? ctx->srv_ip : "?", (unsigned)ctx->srv_port);
}

/* Starts the finding for verdict `vi` unless `key` was raised already in this session. */
static bool verdict_open(struct mail_state *st, const struct dis_ctx *ctx, unsigned vi, uint32_t key,
                         struct finding *f, struct json *j)
{
    if (st->raised & key)
        return false;
    st->raised |= key;
    st->rec.verdicts |= 1u << vi;
    finding_init(f, mail_kinds[st->proto - 1][vi], ctx->ts_usec);
    json_init(j, f->evidence, sizeof f->evidence);
    char srv[80];
    server_str(ctx, srv, sizeof srv);
    json_str(j, "protocol", st->rec.proto);
    json_str(j, "server", srv);
    return true;
}

static void verdict_emit(const struct dis_ctx *ctx, struct finding *f, struct json *j)
{
    json_finish(j);
    if (ctx->sink && ctx->sink->finding)
        ctx->sink->finding(ctx->sink->ud, f);
}

/* Client bytes quoted in evidence (injected plaintext, plaintext after an accepted STARTTLS)
 * with credentials cut: from the first AUTH/PASS/APOP command (or IMAP LOGIN/AUTHENTICATE)
 * on, only the text up to that verb is kept, then "[redacted]": what follows it (SASL
 * responses, passwords) is never copied. Returns a slice of buf. */
static struct bytes redact_client(struct bytes b, uint8_t *buf, size_t cap)
{
    static const char cut[] = " [redacted]";
    struct rd r = rd_from(b);
    size_t n = 0;
    while (!rd_eof(&r)) {
        size_t start = r.off;
        struct bytes line;
        if (rd_line(&r, rd_left(&r) + 1, &line) != 1) {
            line = rd_rest(&r);
            rd_skip(&r, line.len);
        }
        struct rd w = rd_from(line);
        struct bytes w1 = next_word(&w);
        size_t end1 = w.off;
        struct bytes w2 = next_word(&w);
        size_t keep = 0;
        if (bytes_eq_nocase(w1, "AUTH") || bytes_eq_nocase(w1, "PASS") || bytes_eq_nocase(w1, "APOP"))
            keep = end1;
        else if (bytes_eq_nocase(w2, "LOGIN") || bytes_eq_nocase(w2, "AUTHENTICATE"))
            keep = w.off;
        struct bytes part = keep ? bytes_sub(line, 0, keep) : bytes_sub(b, start, r.off - start);
        struct rd pr = rd_from(part);
        size_t m = part.len < cap - n ? part.len : cap - n;
        if (rd_copy(&pr, buf + n, m))
            n += m;
        if (keep) {
            size_t k = sizeof cut - 1 < cap - n ? sizeof cut - 1 : cap - n;
            memcpy(buf + n, cut, k);
            n += k;
            break;
        }
    }
    struct bytes out = {buf, n};
    return out;
}

static void emit_record(struct mail_state *st, const struct dis_ctx *ctx)
{
    if (st->emitted)
        return;
    st->emitted = true;
    st->rec.ts_end_usec = ctx->ts_usec;
    if (ctx->sink && ctx->sink->mail_session)
        ctx->sink->mail_session(ctx->sink->ud, &st->rec);
}

static void v_stripped(struct mail_state *st, const struct dis_ctx *ctx, const struct kept *line)
{
    struct finding f;
    struct json j;
    if (!verdict_open(st, ctx, VI_STRIPPED, MAIL_V_STARTTLS_STRIPPED, &f, &j))
        return;
    char l[64], srv[80];
    /* Quote the masked keyword itself (an IMAP greeting line is long; the line is in the
     * evidence): the first token of the verb's length that has the masking shape. */
    struct bytes all = kept_bytes(line), tok = all;
    size_t vlen = strlen(tls_verb(st));
    for (size_t i = 0, start = 0; i <= all.len; i++) {
        int c = bytes_at(all, i);
        if (c == -1 || c == ' ' || c == '[' || c == ']' || c == '-' || c == '(' || c == ')') {
            struct bytes w = bytes_sub(all, start, i - start);
            if (mail_is_masked(w, vlen)) {
                tok = w;
                break;
            }
            start = i + 1;
        }
    }
    bytes_to_cstr(tok, l, sizeof l);
    server_str(ctx, srv, sizeof srv);
    finding_summary(&f, "%s %s capability masked as '%s' and not offered: stripped on the path to %s",
                    proto_upper(st), tls_verb(st), l, srv);
    json_strn(&j, "capability_line", kept_bytes(line));
    json_str(&j, "capabilities", st->cl.caps);
    verdict_emit(ctx, &f, &j);
}

static void v_blocked(struct mail_state *st, const struct dis_ctx *ctx, const struct mail_cmd *c)
{
    struct finding f;
    struct json j;
    if (!verdict_open(st, ctx, VI_BLOCKED, MAIL_V_STARTTLS_COMMAND_BLOCKED, &f, &j))
        return;
    char l[64], srv[80];
    bytes_to_cstr(kept_bytes(&st->reply_line), l, sizeof l);
    server_str(ctx, srv, sizeof srv);
    finding_summary(&f, "%s %s command arrived masked as '%s' and %s rejected it: '%s'", proto_upper(st),
                    tls_verb(st), c->word, srv, l);
    json_str(&j, "command", c->word);
    json_strn(&j, "reply", kept_bytes(&st->reply_line));
    verdict_emit(ctx, &f, &j);
}

static void v_refused(struct mail_state *st, const struct dis_ctx *ctx)
{
    struct finding f;
    struct json j;
    if (!verdict_open(st, ctx, VI_REFUSED, MAIL_V_STARTTLS_REFUSED, &f, &j))
        return;
    char l[96], srv[80];
    bytes_to_cstr(kept_bytes(&st->tls_reply), l, sizeof l);
    server_str(ctx, srv, sizeof srv);
    finding_summary(&f, "%s %s refused by %s: '%s'", proto_upper(st), tls_verb(st), srv, l);
    if (st->rec.starttls_reply_code)
        json_uint(&j, "reply_code", st->rec.starttls_reply_code);
    json_strn(&j, "reply", kept_bytes(&st->tls_reply));
    json_bool(&j, "starttls_offered", st->rec.starttls_offered);
    if (st->rec.starttls_offered)
        json_strn(&j, "capability_line", kept_bytes(&st->starttls_line));
    verdict_emit(ctx, &f, &j);
}

/* after: the client's plaintext line (NULL: the connection closed). */
static void v_failed(struct mail_state *st, const struct dis_ctx *ctx, const struct bytes *after)
{
    struct finding f;
    struct json j;
    if (!verdict_open(st, ctx, VI_FAILED, MAIL_V_STARTTLS_FAILED, &f, &j))
        return;
    char srv[80];
    server_str(ctx, srv, sizeof srv);
    finding_summary(&f, "%s %s accepted by %s but no TLS handshake followed: %s", proto_upper(st), tls_verb(st),
                    srv, after ? "the client went on in plaintext" : "the connection closed");
    json_strn(&j, "reply", kept_bytes(&st->tls_reply));
    if (after) {
        uint8_t red[MAIL_EVIDENCE_MAX + 16];
        json_strn(&j, "plaintext_after", redact_client(bytes_sub(*after, 0, MAIL_EVIDENCE_MAX), red, sizeof red));
    }
    else
        json_bool(&j, "closed", true);
    verdict_emit(ctx, &f, &j);
}

static void v_injection(struct mail_state *st, const struct dis_ctx *ctx, bool server)
{
    const struct kept *k = server ? &st->inj_server : &st->inj_client;
    if (k->total == 0)
        return;
    struct finding f;
    struct json j;
    if (!verdict_open(st, ctx, VI_INJECTION, server ? RAISED_INJ_SERVER : MAIL_V_STARTTLS_INJECTION, &f, &j))
        return;
    char srv[80];
    server_str(ctx, srv, sizeof srv);
    if (server)
        finding_summary(&f, "%s %s injection: %s sent %llu plaintext bytes after accepting %s, before the TLS "
                        "handshake", proto_upper(st), tls_verb(st), srv, (unsigned long long)k->total,
                        tls_verb(st));
    else
        finding_summary(&f, "%s %s injection: the client pipelined %llu plaintext bytes after %s, before the "
                        "reply of %s", proto_upper(st), tls_verb(st), (unsigned long long)k->total,
                        tls_verb(st), srv);
    json_str(&j, "side", server ? "server" : "client");
    uint8_t red[MAIL_EVIDENCE_MAX + 16];
    json_strn(&j, "injected", server ? kept_bytes(k) : redact_client(kept_bytes(k), red, sizeof red));
    json_uint(&j, "injected_bytes", k->total);
    if (st->tls_reply.len)
        json_strn(&j, "reply", kept_bytes(&st->tls_reply));
    verdict_emit(ctx, &f, &j);
}

static void v_not_used(struct mail_state *st, const struct dis_ctx *ctx, const char *cmd)
{
    if (!st->rec.starttls_offered || st->rec.starttls_requested || (st->raised & MAIL_V_STARTTLS_COMMAND_BLOCKED))
        return;
    struct finding f;
    struct json j;
    if (!verdict_open(st, ctx, VI_NOT_USED, MAIL_V_STARTTLS_NOT_USED, &f, &j))
        return;
    char srv[80];
    server_str(ctx, srv, sizeof srv);
    finding_summary(&f, "%s server %s offered %s but the client sent %s in plaintext", proto_upper(st), srv,
                    tls_verb(st), cmd);
    json_strn(&j, "capability_line", kept_bytes(&st->starttls_line));
    json_str(&j, "command", cmd);
    verdict_emit(ctx, &f, &j);
}

static void v_not_offered(struct mail_state *st, const struct dis_ctx *ctx, const char *what)
{
    if (!st->rec.caps_seen || st->rec.starttls_offered || (st->raised & MAIL_V_STARTTLS_STRIPPED))
        return;
    struct finding f;
    struct json j;
    if (!verdict_open(st, ctx, VI_NOT_OFFERED, MAIL_V_STARTTLS_NOT_OFFERED, &f, &j))
        return;
    char srv[80], l[96];
    server_str(ctx, srv, sizeof srv);
    bytes_to_cstr(kept_bytes(&st->reply_line), l, sizeof l);
    finding_summary(&f, "%s server %s did not offer %s and %s in plaintext", proto_upper(st), srv, tls_verb(st),
                    what);
    json_str(&j, "capabilities", st->rec.capabilities);
    json_strn(&j, "reply", kept_bytes(&st->reply_line));
    verdict_emit(ctx, &f, &j);
}

static void v_plaintext_auth(struct mail_state *st, const struct dis_ctx *ctx, bool crackable)
{
    st->rec.auth_in_clear = true;
    struct finding f;
    struct json j;
    if (!verdict_open(st, ctx, VI_PLAINTEXT_AUTH, MAIL_V_PLAINTEXT_AUTH, &f, &j))
        return;
    if (crackable)
        f.severity = NZ_SEV_LOW;
    char srv[80];
    server_str(ctx, srv, sizeof srv);
    const char *how = !st->auth_sasl ? "" : st->proto == MAIL_PROTO_IMAP ? "AUTHENTICATE " : "AUTH ";
    bool userpass = strcmp(st->rec.auth_mech, "USER") == 0;
    if (st->auth_note)
        finding_summary(&f, "%s %s%s%s %s in clear to %s (%s: user not recorded)", proto_upper(st), how,
                        st->rec.auth_mech, userpass ? "/PASS" : "", crackable ? "challenge response" : "credentials",
                        srv, st->auth_note);
    else
        finding_summary(&f, "%s %s%s%s %s in clear to %s (user '%s')", proto_upper(st), how, st->rec.auth_mech,
                        userpass ? "/PASS" : "", crackable ? "challenge response" : "credentials", srv,
                        st->rec.auth_user);
    json_str(&j, "mechanism", st->rec.auth_mech);
    if (st->auth_note)
        json_str(&j, "note", st->auth_note);
    else
        json_str(&j, "user", st->rec.auth_user);
    json_bool(&j, "starttls_offered", st->rec.starttls_offered);
    verdict_emit(ctx, &f, &j);
}

/* ------------------------------------------------------------------------------------------ */
/* Command queue */

static struct bytes no_bytes(void)
{
    struct bytes b = {NULL, 0};
    return b;
}

/* Queues a command; tag: IMAP tag; word: the verb as seen (kept for V_MASKED). */
static void q_push(struct mail_state *st, uint8_t verb, bool flag, struct bytes tag, struct bytes word)
{
    if (st->q_len >= MAIL_PIPELINE_MAX) {
        st->rec.flags |= MAIL_F_QUEUE_FULL;
        return;
    }
    struct mail_cmd *c = &st->q[st->q_len++];
    c->verb = verb;
    c->flag = flag;
    str_set(c->tag, sizeof c->tag, tag);
    str_set(c->word, sizeof c->word, verb == V_MASKED ? word : no_bytes());
}

static void q_remove(struct mail_state *st, unsigned i)
{
    if (i >= st->q_len)
        return;
    memmove(&st->q[i], &st->q[i + 1], (st->q_len - i - 1) * sizeof st->q[0]);
    st->q_len--;
}

/* A client command is about to be queued: note pipelining. */
static void note_command(struct mail_state *st)
{
    st->rec.plaintext_commands++;
    if (st->q_len > 0)
        st->rec.flags |= MAIL_F_PIPELINING;
}

/* ------------------------------------------------------------------------------------------ */
/* Capability lists */

static void list_begin(struct mail_state *st)
{
    memset(&st->cl, 0, sizeof st->cl);
    st->list_open = true;
}

/* One capability keyword (and the rest of its line/token as params) as seen. */
static void list_word(struct mail_state *st, struct bytes kw, struct bytes params, struct bytes line)
{
    struct caplist *cl = &st->cl;
    size_t mask_len = st->proto == MAIL_PROTO_POP3 ? 4 : 8;
    str_add_word(cl->caps, sizeof cl->caps, kw, false);
    if (bytes_eq_nocase(kw, st->proto == MAIL_PROTO_POP3 ? "STLS" : "STARTTLS")) {
        cl->bits |= MAIL_CAP_STARTTLS;
        kept_set(&cl->starttls_line, line);
    } else if (mail_is_masked(kw, mask_len)) {
        cl->bits |= MAIL_CAP_MASKED;
        if (cl->mask_line.len == 0)
            kept_set(&cl->mask_line, line);
    } else if (bytes_eq_nocase(kw, "AUTH") || bytes_eq_nocase(kw, "SASL")) {
        cl->bits |= MAIL_CAP_AUTH;
        struct rd r = rd_from(params);
        struct bytes m;
        while ((m = next_word(&r)).len)
            str_add_word(cl->mechs, sizeof cl->mechs, m, true);
    } else if (bytes_prefix_nocase(kw, "AUTH=")) { /* IMAP AUTH=PLAIN */
        cl->bits |= MAIL_CAP_AUTH;
        str_add_word(cl->mechs, sizeof cl->mechs, bytes_sub(kw, 5, kw.len), true);
    } else if (bytes_eq_nocase(kw, "PIPELINING")) {
        cl->bits |= MAIL_CAP_PIPELINING;
    } else if (bytes_eq_nocase(kw, "CHUNKING")) {
        cl->bits |= MAIL_CAP_CHUNKING;
    } else if (bytes_eq_nocase(kw, "SIZE")) {
        cl->bits |= MAIL_CAP_SIZE;
    } else if (bytes_eq_nocase(kw, "8BITMIME")) {
        cl->bits |= MAIL_CAP_8BITMIME;
    } else if (bytes_eq_nocase(kw, "SMTPUTF8") || bytes_eq_nocase(kw, "UTF8=ACCEPT")) {
        cl->bits |= MAIL_CAP_SMTPUTF8;
    } else if (bytes_eq_nocase(kw, "LOGINDISABLED")) {
        cl->bits |= MAIL_CAP_LOGINDISABLED;
    } else if (bytes_eq_nocase(kw, "USER")) {
        cl->bits |= MAIL_CAP_USER;
    }
}

/* A login/authentication command is waiting for its reply (Dovecot sends the post-login
 * "* CAPABILITY" before the tagged OK). */
static bool auth_in_flight(const struct mail_state *st)
{
    for (unsigned i = 0; i < st->q_len; i++)
        if (st->q[i].verb == V_LOGIN || st->q[i].verb == V_AUTH || st->q[i].verb == V_PASS ||
            st->q[i].verb == V_APOP)
            return true;
    return false;
}

/* The list is complete (`ok`: it is a real list; false: the server has none, e.g. EHLO 502). */
static void list_end(struct mail_state *st, const struct dis_ctx *ctx, bool ok)
{
    if (!st->list_open && ok)
        return;
    st->list_open = false;
    if (!ok)
        memset(&st->cl, 0, sizeof st->cl);
    struct caplist *cl = &st->cl;
    st->rec.caps |= cl->bits;
    if (!st->rec.auth_ok && !auth_in_flight(st)) { /* the pre-login posture */
        st->rec.caps_seen = true;
        memcpy(st->rec.capabilities, cl->caps, sizeof cl->caps);
        memcpy(st->rec.auth_mechs, cl->mechs, sizeof cl->mechs);
    }
    if (cl->bits & MAIL_CAP_STARTTLS) {
        st->rec.starttls_offered = true;
        st->starttls_line = cl->starttls_line;
    } else if (cl->bits & MAIL_CAP_MASKED) {
        v_stripped(st, ctx, &cl->mask_line);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* SASL */

/* A user name is read into st->pend_user and reaches the record only through user_commit(),
 * once the response or command around it has the shape its mechanism prescribes; otherwise it is
 * wiped (user_malformed): in a malformed blob the bytes where the user name belongs may be the
 * password (AUTH PLAIN "user NUL password" without the authzid, seen in the wild). */

static void pend_wipe(struct mail_state *st) { memset(st->pend_user, 0, sizeof st->pend_user); }

static void user_reset(struct mail_state *st)
{
    pend_wipe(st);
    if (!st->rec.auth_ok)
        memset(st->rec.auth_user, 0, sizeof st->rec.auth_user);
}

static void user_putc(struct mail_state *st, int c) { str_putc(st->pend_user, sizeof st->pend_user, c); }

static void user_pend_set(struct mail_state *st, struct bytes b)
{
    pend_wipe(st);
    str_set(st->pend_user, sizeof st->pend_user, b);
}

static void user_commit(struct mail_state *st)
{
    if (!st->rec.auth_ok)
        memcpy(st->rec.auth_user, st->pend_user, sizeof st->rec.auth_user);
    pend_wipe(st);
}

static void user_set(struct mail_state *st, struct bytes b)
{
    user_pend_set(st, b);
    user_commit(st);
}

/* The response or command did not have its mechanism's shape: no user name, a note instead. */
static void user_malformed(struct mail_state *st, const char *note)
{
    user_reset(st);
    if (!st->rec.auth_ok)
        st->auth_note = note;
}

static void attempt(struct mail_state *st, const char *mech, struct bytes mech_b)
{
    st->rec.auth_attempts++;
    if (st->rec.auth_ok)
        return;
    st->auth_sasl = mech == NULL;
    if (mech)
        snprintf(st->rec.auth_mech, sizeof st->rec.auth_mech, "%s", mech);
    else
        str_set_upper(st->rec.auth_mech, sizeof st->rec.auth_mech, mech_b);
    st->auth_note = NULL;
    user_reset(st);
}

/* Copies decoded bytes into the pending user name until one of `stops` (or the end); returns the
 * stop byte or -1. */
static int b64_copy_user(struct mail_state *st, struct b64 *b, const char *stops, size_t nstops)
{
    int c;
    while ((c = b64_next(b)) >= 0) {
        if (memchr(stops, c, nstops))
            return c;
        user_putc(st, c);
    }
    return -1;
}

/* Skips decoded bytes up to and including byte `stop`; false if it never came. */
static bool b64_skip_to(struct b64 *b, int stop)
{
    int c;
    while ((c = b64_next(b)) >= 0)
        if (c == stop)
            return true;
    return false;
}

/* Reads a decoded prefix and compares it; false on mismatch or end. */
static bool b64_expect(struct b64 *b, const char *s)
{
    for (; *s; s++)
        if (b64_next(b) != (unsigned char)*s)
            return false;
    return true;
}

static uint8_t mech_of(struct bytes m)
{
    if (bytes_eq_nocase(m, "PLAIN"))
        return M_PLAIN;
    if (bytes_eq_nocase(m, "LOGIN"))
        return M_LOGIN;
    if (bytes_eq_nocase(m, "CRAM-MD5"))
        return M_CRAM_MD5;
    if (bytes_eq_nocase(m, "DIGEST-MD5"))
        return M_DIGEST_MD5;
    if (bytes_eq_nocase(m, "XOAUTH2"))
        return M_XOAUTH2;
    if (bytes_eq_nocase(m, "OAUTHBEARER"))
        return M_OAUTHBEARER;
    if (bytes_prefix_nocase(m, "SCRAM-"))
        return M_SCRAM;
    return M_OTHER;
}

/* One client SASL response (base64 line; the initial response too). */
static void sasl_response(struct mail_state *st, struct bytes line, const struct dis_ctx *ctx)
{
    if (!st->sasl.active)
        return;
    line = bytes_trim(line);
    if (eq_exact(line, "*")) { /* RFC 4954 §4: the client cancels */
        st->sasl.active = false;
        return;
    }
    uint32_t idx = st->sasl.nresp++;
    struct b64 b = b64_init(line);
    switch (st->sasl.mech) {
    case M_PLAIN: /* authzid NUL authcid NUL passwd (RFC 4616 §2, passwd 1*SAFE): exactly two NULs
                     and a password after them, else no user */
        if (idx == 0 && line.len) {
            user_reset(st);
            unsigned nuls = 0;
            size_t pw = 0;
            if (b64_skip_to(&b, 0) && b64_copy_user(st, &b, "\0", 1) == 0) {
                nuls = 2;
                int c;
                while ((c = b64_next(&b)) >= 0) { /* the password: NULs counted, nothing copied */
                    pw++;
                    if (c == 0)
                        nuls++;
                }
            }
            if (nuls == 2 && pw > 0)
                user_commit(st);
            else
                user_malformed(st, "malformed PLAIN blob");
            v_plaintext_auth(st, ctx, false);
        }
        break;
    case M_LOGIN: { /* response 0: user name; then the password (never copied). A response to a
                       "Password:" prompt is the password whatever its number. */
        uint8_t prompt = st->sasl.prompt;
        st->sasl.prompt = PROMPT_NONE;
        if (idx == 0 && prompt != PROMPT_PASS) {
            user_reset(st);
            if (b64_copy_user(st, &b, "\0", 1) == 0) { /* a NUL: a PLAIN-shaped blob, no user name */
                user_malformed(st, "malformed LOGIN user name");
                v_plaintext_auth(st, ctx, false);
            } else {
                user_commit(st);
            }
        } else if (line.len) {
            v_plaintext_auth(st, ctx, false);
        }
        break;
    }
    case M_CRAM_MD5: /* "user SP digest", the digest 32 lowercase hex digits (RFC 2195 §2) */
        if (idx == 0 && line.len) {
            user_reset(st);
            size_t hex = 0, other = 0;
            if (b64_copy_user(st, &b, " ", 1) == ' ') {
                int c;
                while ((c = b64_next(&b)) >= 0) {
                    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
                        hex++;
                    else
                        other++;
                }
            }
            if (hex == 32 && other == 0)
                user_commit(st);
            else
                user_malformed(st, "malformed CRAM-MD5 response");
            v_plaintext_auth(st, ctx, true);
        }
        break;
    case M_DIGEST_MD5: /* first response: username="…",realm=…,nonce=… (digest, no password) */
        if (idx == 0 && line.len) {
            uint8_t peek[DIGEST_PEEK_MAX];
            size_t n = mail_b64_decode(line, peek, sizeof peek);
            struct bytes p = {peek, n};
            user_reset(st);
            for (size_t i = 0; i + 10 <= n; i++) {
                struct bytes at = bytes_sub(p, i, 10);
                if (bytes_eq_nocase(at, "username=\"") && (i == 0 || bytes_at(p, i - 1) == ',')) {
                    struct rd r = rd_from(bytes_sub(p, i + 10, n));
                    while (!rd_eof(&r) && rd_peek(&r, 0) != '"')
                        user_putc(st, rd_u8(&r));
                    if (rd_eof(&r))
                        user_malformed(st, "malformed DIGEST-MD5 response"); /* quote never closed */
                    else
                        user_commit(st);
                    break;
                }
            }
            memset(peek, 0, sizeof peek);
            v_plaintext_auth(st, ctx, true);
        }
        break;
    case M_XOAUTH2: /* "user=" user ^A "auth=Bearer " token ^A ^A */
        if (idx == 0 && line.len) {
            user_reset(st);
            if (b64_expect(&b, "user=") && b64_copy_user(st, &b, "\x01", 1) == 1 && b64_expect(&b, "auth="))
                user_commit(st);
            else
                user_malformed(st, "malformed XOAUTH2 blob"); /* the token may be where the user was */
            v_plaintext_auth(st, ctx, false);
        }
        break;
    case M_OAUTHBEARER: /* gs2 header "n,a=user," then ^A key=value … */
        if (idx == 0 && line.len) {
            user_reset(st);
            if (b64_skip_to(&b, ',') && b64_expect(&b, "a=")) {
                if (b64_copy_user(st, &b, ",\x01", 2) == ',') /* the GS2 header ends in ',' */
                    user_commit(st);
                else
                    user_malformed(st, "malformed OAUTHBEARER message");
            }
            v_plaintext_auth(st, ctx, false);
        }
        break;
    case M_SCRAM: /* gs2 header "n,," then "n=user,r=nonce": the proof never reveals the password */
        if (idx == 0 && line.len) {
            user_reset(st);
            if (b64_skip_to(&b, ',') && b64_skip_to(&b, ',') && b64_expect(&b, "n=")) {
                if (b64_copy_user(st, &b, ",", 1) == ',') /* ",r=nonce" follows */
                    user_commit(st);
                else
                    user_malformed(st, "malformed SCRAM message");
            }
        }
        break;
    default:
        break;
    }
}

/* Starts an AUTH/AUTHENTICATE exchange: mechanism, optional initial response. */
static void sasl_start(struct mail_state *st, struct bytes mech, struct bytes ir, const struct dis_ctx *ctx)
{
    attempt(st, NULL, mech);
    st->sasl.mech = mech_of(mech);
    st->sasl.prompt = PROMPT_NONE;
    st->sasl.nresp = 0;
    st->sasl.active = true;
    st->auth_expect = false;
    if (ir.len) {
        struct bytes empty = {ir.p, 0};
        sasl_response(st, eq_exact(ir, "=") ? empty : ir, ctx); /* RFC 4954 §4: "=" is empty */
    }
}

/* A server challenge (the text of a 334 reply or a "+" continuation): for LOGIN, whether it asks
 * for the user name or the password (draft-murchison-sasl-login: "Username:", "Password:"). */
static void sasl_challenge(struct mail_state *st, struct bytes text)
{
    if (!st->sasl.active || st->sasl.mech != M_LOGIN)
        return;
    uint8_t buf[32];
    size_t n = mail_b64_decode(bytes_trim(text), buf, sizeof buf);
    struct bytes p = {buf, n};
    st->sasl.prompt = PROMPT_NONE;
    for (size_t i = 0; i + 4 <= n; i++) {
        struct bytes at = bytes_sub(p, i, 4);
        if (bytes_eq_nocase(at, "pass")) {
            st->sasl.prompt = PROMPT_PASS;
            return;
        }
        if (bytes_eq_nocase(at, "user") || bytes_eq_nocase(at, "name"))
            st->sasl.prompt = PROMPT_USER;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The upgrade */

/* The reply to STARTTLS/STLS arrived (`ok`: accepted). */
static void upgrade_reply(struct mail_state *st, const struct dis_ctx *ctx, bool ok, uint16_t code, struct bytes line)
{
    kept_set(&st->tls_reply, line);
    st->rec.starttls_reply_code = code;
    str_set(st->rec.starttls_reply, sizeof st->rec.starttls_reply, line);
    v_injection(st, ctx, false);
    if (ok) {
        st->rec.starttls_accepted = true;
        st->phase = PH_AWAIT;
        st->q_len = 0; /* anything pipelined behind it is answered inside TLS, if at all */
        st->auth_expect = false;
        if (st->rec.flags & MAIL_F_EARLY_TLS)
            st->switch_now = true;
    } else {
        st->phase = PH_NONE;
        v_refused(st, ctx);
    }
}

static void do_switch(struct mail_state *st, struct dis_ctx *ctx)
{
    v_injection(st, ctx, true);
    st->phase = PH_SWITCHED;
    st->rec.tls_started = true;
    emit_record(st, ctx);
    ctx->switch_to = "tls";
    ctx->started_by = st->proto == MAIL_PROTO_SMTP ? "smtp-starttls"
                    : st->proto == MAIL_PROTO_IMAP ? "imap-starttls" : "pop3-stls";
}

static void start_body(struct mail_state *st, int dir, bool data)
{
    struct mail_dir *d = &st->d[dir];
    d->mode = DM_DOT_BODY;
    d->mstate = 2; /* the CRLF that ended the command/status line counts as the marker's first */
    d->data_body = data;
    d->body_seen = 0;
}

static void start_count(struct mail_state *st, int dir, uint64_t n, bool body)
{
    struct mail_dir *d = &st->d[dir];
    d->left = n;
    d->to_user = false;
    d->count_body = body;
    d->lit_sync = false;
    if (n)
        d->mode = DM_COUNT;
}

/* ------------------------------------------------------------------------------------------ */
/* SMTP */

static uint8_t smtp_verb(struct bytes v)
{
    static const struct {
        const char *name;
        uint8_t verb;
    } verbs[] = {
        {"EHLO", V_EHLO}, {"HELO", V_HELO}, {"STARTTLS", V_STARTTLS}, {"AUTH", V_AUTH},
        {"MAIL", V_MAIL}, {"RCPT", V_RCPT}, {"DATA", V_DATA}, {"BDAT", V_BDAT}, {"QUIT", V_QUIT},
    };
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (bytes_eq_nocase(v, verbs[i].name))
            return verbs[i].verb;
    return mail_is_masked(v, 8) ? V_MASKED : V_OTHER;
}

static void smtp_client_line(struct mail_state *st, struct bytes line, struct dis_ctx *ctx)
{
    if (st->auth_expect) {
        st->auth_expect = false;
        sasl_response(st, line, ctx);
        return;
    }
    struct rd r = rd_from(line);
    struct bytes verb = next_word(&r);
    uint8_t v = smtp_verb(verb);
    if (line.len)
        note_command(st);
    bool flag = false;
    switch (v) {
    case V_EHLO:
    case V_HELO: {
        struct bytes name = next_word(&r);
        str_set(st->rec.helo, sizeof st->rec.helo, name);
        st->rec.ehlo = v == V_EHLO;
        break;
    }
    case V_STARTTLS:
        st->rec.starttls_requested = true;
        st->phase = PH_REQUESTED;
        break;
    case V_AUTH: {
        v_not_used(st, ctx, "AUTH");
        struct bytes mech = next_word(&r);
        struct bytes ir = next_word(&r);
        sasl_start(st, mech, ir, ctx);
        break;
    }
    case V_MAIL:
        v_not_used(st, ctx, "MAIL");
        break;
    case V_RCPT:
        v_not_used(st, ctx, "RCPT");
        break;
    case V_DATA:
        v_not_used(st, ctx, "DATA");
        start_body(st, 0, true);
        break;
    case V_BDAT: {
        v_not_used(st, ctx, "BDAT");
        uint64_t n;
        if (parse_u64(next_word(&r), &n)) {
            flag = bytes_eq_nocase(next_word(&r), "LAST");
            st->rec.message_bytes += n;
            start_count(st, 0, n, false);
        } else {
            v = V_OTHER;
        }
        break;
    }
    default:
        break;
    }
    q_push(st, v, flag, no_bytes(), verb);
}

/* The reply is complete. */
static void smtp_reply_done(struct mail_state *st, struct dis_ctx *ctx)
{
    uint16_t code = st->reply_code;
    uint8_t target = st->reply_target;
    bool pos = code >= 200 && code < 300;
    struct bytes line = kept_bytes(&st->reply_line);
    if (st->reply_paired && !(target == V_AUTH && code == 334) && st->q_len)
        q_remove(st, 0);
    switch (target) {
    case V_GREETING:
        st->greeted = true;
        st->rec.greeting_code = code;
        break;
    case V_EHLO:
        if (pos)
            list_end(st, ctx, true);
        else if (code == 500 || code == 502) /* no ESMTP: no extension can be offered */
            list_end(st, ctx, false);
        st->list_open = false;
        break;
    case V_STARTTLS:
        upgrade_reply(st, ctx, code == 220, code, line); /* RFC 3207 §4 "220 Ready to start TLS" */
        break;
    case V_AUTH:
        if (code == 334) { /* RFC 4954 §4: server challenge, a client response follows */
            st->auth_expect = st->sasl.active;
            sasl_challenge(st, bytes_sub(line, 4, line.len));
        } else {
            st->sasl.active = false;
            st->auth_expect = false;
            if (code == 235)
                st->rec.auth_ok = true;
        }
        break;
    case V_MAIL:
        if (pos) {
            st->rec.mail_in_clear = true;
            v_not_offered(st, ctx, "accepted MAIL FROM");
        }
        break;
    case V_RCPT:
        if (pos)
            st->rec.rcpts++;
        break;
    case V_DATA:
        /* RFC 5321 §4.1.1.4: 354 invites the body; anything else means none follows. */
        if (code != 354 && st->d[0].mode == DM_DOT_BODY && st->d[0].data_body && st->d[0].body_seen == 0)
            st->d[0].mode = DM_LINE;
        break;
    case V_DATA_END:
    case V_BDAT:
        if (pos && (target == V_DATA_END || st->reply_target_flag))
            st->rec.messages++;
        break;
    case V_MASKED:
        if (code == 500 || code == 502) { /* "command not recognized" / "not implemented" */
            v_blocked(st, ctx, &st->cur);
        }
        break;
    default:
        break;
    }
}

static void smtp_server_line(struct mail_state *st, struct bytes line, struct dis_ctx *ctx)
{
    int c0 = bytes_at(line, 0), c1 = bytes_at(line, 1), c2 = bytes_at(line, 2), sep = bytes_at(line, 3);
    if (!is_digit(c0) || !is_digit(c1) || !is_digit(c2) || (sep >= 0 && sep != ' ' && sep != '-')) {
        st->rec.bad_lines++;
        return;
    }
    uint16_t code = (uint16_t)((c0 - '0') * 100 + (c1 - '0') * 10 + (c2 - '0'));
    bool last = sep != '-';
    struct bytes text = bytes_sub(line, 4, line.len);
    bool first = !st->reply_open;
    if (first) {
        st->reply_open = true;
        st->reply_code = code;
        kept_set(&st->reply_line, line);
        bool head_starttls = st->q_len && st->q[0].verb == V_STARTTLS;
        st->reply_paired = false;
        if (!st->any_reply && !st->greeted &&
            ((code == 220 && !head_starttls) || ((code == 554 || code == 421) && st->q_len == 0))) {
            st->reply_target = V_GREETING;
        } else if (st->q_len) {
            st->reply_target = st->q[0].verb;
            st->reply_target_flag = st->q[0].flag;
            st->reply_paired = true;
            st->cur = st->q[0];
        } else {
            st->reply_target = V_OTHER;
            st->rec.flags |= MAIL_F_UNPAIRED;
        }
        if (!st->any_reply && st->reply_target != V_GREETING)
            st->rec.flags |= MAIL_F_NO_GREETING;
        st->any_reply = true;
        if (st->reply_target == V_GREETING) {
            str_set(st->rec.greeting, sizeof st->rec.greeting, line);
            struct rd r = rd_from(text);
            struct bytes host = next_word(&r);
            str_set(st->rec.greeting_host, sizeof st->rec.greeting_host, host);
            /* PIX/ASA masks the banner with '*' (REFERENCE.md §4 S2). */
            size_t stars = 0, other = 0;
            struct rd t = rd_from(text);
            while (!rd_eof(&t)) {
                int c = rd_u8(&t);
                if (c == '*')
                    stars++;
                else if (!is_sp(c))
                    other++;
            }
            if (stars >= 4 && other * 10 <= stars)
                st->rec.flags |= MAIL_F_BANNER_MASKED;
        }
        if (st->reply_target == V_EHLO && code >= 200 && code < 300)
            list_begin(st);
    } else if (st->reply_target == V_EHLO && st->list_open) {
        struct rd r = rd_from(text);
        struct bytes kw = next_word(&r);
        long eqp = bytes_find(kw, '=', 0); /* "AUTH=LOGIN PLAIN" (pre-RFC 2554 servers) */
        struct bytes params = rest_trim(&r);
        if (eqp > 0) {
            params = bytes_sub(text, (size_t)eqp + 1, text.len);
            kw = bytes_sub(kw, 0, (size_t)eqp);
        }
        list_word(st, kw, params, line);
    }
    if (last) {
        st->reply_open = false;
        smtp_reply_done(st, ctx);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* IMAP */

/* "{n}" / "{n+}" / "~{n}" at the very end of a line: the literal's size. */
static bool trailing_literal(struct bytes line, uint64_t *n, bool *sync)
{
    size_t e = line.len;
    if (e < 3 || bytes_at(line, e - 1) != '}')
        return false;
    e--;
    *sync = true;
    if (bytes_at(line, e - 1) == '+' || bytes_at(line, e - 1) == '-') { /* RFC 7888 */
        *sync = false;
        e--;
    }
    size_t b = e;
    while (b > 0 && is_digit(bytes_at(line, b - 1)))
        b--;
    if (b == e || b == 0 || bytes_at(line, b - 1) != '{')
        return false;
    return parse_u64(bytes_sub(line, b, e - b), n);
}

static uint8_t imap_verb(struct bytes v)
{
    if (bytes_eq_nocase(v, "STARTTLS"))
        return V_STARTTLS;
    if (bytes_eq_nocase(v, "LOGIN"))
        return V_LOGIN;
    if (bytes_eq_nocase(v, "AUTHENTICATE"))
        return V_AUTH;
    if (bytes_eq_nocase(v, "CAPABILITY"))
        return V_CAPA;
    if (bytes_eq_nocase(v, "APPEND"))
        return V_APPEND;
    if (bytes_eq_nocase(v, "LOGOUT"))
        return V_QUIT;
    return mail_is_masked(v, 8) ? V_MASKED : V_OTHER;
}

/* The client command (cur) is complete: its last line had no literal. */
static void imap_cmd_complete(struct mail_state *st, struct dis_ctx *ctx)
{
    st->cmd_open = false;
    if (st->login_active) {
        st->login_active = false;
        if (st->login_argi >= 2)
            v_plaintext_auth(st, ctx, false);
        else
            pend_wipe(st); /* one argument: it may be the password alone; no user */
    }
}

/* Tokenises LOGIN arguments in seg (RFC 9051 §6.2.3: userid SP password, each astring). The
 * user name is read into the pending user and committed only when a second argument begins; an
 * unterminated quoted user name is none. The password is stepped over. Returns true if seg
 * ended in a literal (already set up in the client direction). */
static bool imap_login_tokens(struct mail_state *st, struct bytes seg)
{
    struct rd r = rd_from(seg);
    for (;;) {
        while (!rd_eof(&r) && is_sp(rd_peek(&r, 0)))
            rd_skip(&r, 1);
        if (rd_eof(&r))
            return false;
        int c = rd_peek(&r, 0);
        bool user = st->login_argi == 0;
        if (st->login_argi == 1)
            user_commit(st); /* a second argument follows the user name */
        if (c == '"') {
            bool closed = false;
            rd_skip(&r, 1);
            while (!rd_eof(&r)) {
                int ch = rd_u8(&r);
                if (ch == '"') {
                    closed = true;
                    break;
                }
                if (ch == '\\' && !rd_eof(&r))
                    ch = rd_u8(&r);
                if (user)
                    user_putc(st, ch);
            }
            if (user && !closed)
                user_malformed(st, "malformed LOGIN arguments");
            st->login_argi++;
            continue;
        }
        uint64_t n;
        bool sync;
        if ((c == '{' || (c == '~' && rd_peek(&r, 1) == '{')) && trailing_literal(rd_rest(&r), &n, &sync)) {
            start_count(st, 0, n, false);
            st->d[0].to_user = user;
            st->d[0].lit_sync = sync && n > 0;
            st->d[0].cont = true;
            st->login_argi++;
            return true;
        }
        struct bytes w = next_word(&r);
        if (user)
            user_pend_set(st, w);
        st->login_argi++;
    }
}

/* A client line's arguments (after tag and verb on the first line; the whole of a continuation
 * line). */
static void imap_cmd_args(struct mail_state *st, struct bytes args, struct dis_ctx *ctx)
{
    if (st->login_active) {
        if (imap_login_tokens(st, args))
            return;
        imap_cmd_complete(st, ctx);
        return;
    }
    uint64_t n;
    bool sync;
    if (trailing_literal(args, &n, &sync)) {
        start_count(st, 0, n, true);
        st->d[0].lit_sync = sync && n > 0;
        st->d[0].cont = true;
        return;
    }
    imap_cmd_complete(st, ctx);
}

static void imap_client_line(struct mail_state *st, struct bytes line, struct dis_ctx *ctx)
{
    if (st->auth_expect) {
        st->auth_expect = false;
        sasl_response(st, line, ctx);
        return;
    }
    if (st->d[0].cont) {
        st->d[0].cont = false;
        if (st->cmd_open) {
            imap_cmd_args(st, line, ctx);
            return;
        }
    }
    struct rd r = rd_from(line);
    struct bytes tag = next_word(&r);
    struct bytes verb = next_word(&r);
    if (tag.len == 0)
        return;
    note_command(st);
    if (verb.len == 0) /* e.g. IDLE's "DONE": not a tagged command */
        return;
    uint8_t v = imap_verb(verb);
    struct bytes args = rest_trim(&r);
    q_push(st, v, false, tag, verb);
    st->cmd_open = true;
    st->cur.verb = v;
    str_set(st->cur.tag, sizeof st->cur.tag, tag);
    st->login_active = false;
    switch (v) {
    case V_STARTTLS:
        st->rec.starttls_requested = true;
        st->phase = PH_REQUESTED;
        break;
    case V_LOGIN:
        v_not_used(st, ctx, "LOGIN");
        attempt(st, "LOGIN", no_bytes());
        st->login_active = true;
        st->login_argi = 0;
        break;
    case V_AUTH: {
        v_not_used(st, ctx, "AUTHENTICATE");
        struct rd a = rd_from(args);
        struct bytes mech = next_word(&a);
        struct bytes ir = next_word(&a); /* RFC 4959 SASL-IR */
        str_set(st->auth_tag, sizeof st->auth_tag, tag);
        sasl_start(st, mech, ir, ctx);
        break;
    }
    default:
        break;
    }
    imap_cmd_args(st, args, ctx);
}

/* Parses an IMAP capability token list (space-separated). */
static void imap_caps(struct mail_state *st, struct bytes list, struct bytes line, const struct dis_ctx *ctx)
{
    list_begin(st);
    struct rd r = rd_from(list);
    struct bytes w;
    struct bytes none = {list.p, 0};
    while ((w = next_word(&r)).len) {
        if (bytes_eq_nocase(w, "IMAP4rev1") || bytes_eq_nocase(w, "IMAP4rev2")) {
            str_add_word(st->cl.caps, sizeof st->cl.caps, w, false);
            continue;
        }
        list_word(st, w, none, line);
    }
    list_end(st, ctx, true);
}

/* "[CAPABILITY …]" response code at the start of text. */
static void imap_resp_code(struct mail_state *st, struct bytes text, struct bytes line, const struct dis_ctx *ctx)
{
    if (!bytes_prefix_nocase(text, "[CAPABILITY "))
        return;
    long close = bytes_find(text, ']', 0);
    if (close < 0)
        return;
    imap_caps(st, bytes_sub(text, 12, (size_t)close - 12), line, ctx);
}

static void imap_tagged(struct mail_state *st, struct bytes tag, struct bytes status, struct bytes text,
                        struct bytes line, struct dis_ctx *ctx)
{
    bool ok = bytes_eq_nocase(status, "OK");
    if (!ok && !bytes_eq_nocase(status, "NO") && !bytes_eq_nocase(status, "BAD")) {
        st->rec.bad_lines++;
        return;
    }
    char t[MAIL_TAG_MAX];
    str_set(t, sizeof t, tag);
    unsigned i = 0;
    while (i < st->q_len && strcmp(st->q[i].tag, t) != 0)
        i++;
    /* A synchronizing literal refused: the client does not send it (RFC 9051 §4.3). */
    if (st->cmd_open && strcmp(st->cur.tag, t) == 0 && st->d[0].mode == DM_COUNT && st->d[0].lit_sync) {
        st->d[0].mode = DM_LINE;
        st->d[0].cont = false;
        st->cmd_open = false;
        st->login_active = false;
    }
    if (i >= st->q_len) {
        st->rec.flags |= MAIL_F_UNPAIRED;
        if (ok)
            imap_resp_code(st, text, line, ctx);
        return;
    }
    struct mail_cmd c = st->q[i];
    q_remove(st, i);
    kept_set(&st->reply_line, line);
    switch (c.verb) {
    case V_STARTTLS:
        upgrade_reply(st, ctx, ok, 0, line);
        break;
    case V_LOGIN:
    case V_AUTH:
        if (c.verb == V_AUTH && strcmp(st->auth_tag, t) == 0) {
            st->sasl.active = false;
            st->auth_expect = false;
        }
        if (ok) {
            st->rec.auth_ok = true;
            st->rec.mail_in_clear = true;
            v_not_offered(st, ctx, "accepted a login");
        }
        break;
    case V_APPEND:
        if (ok)
            st->rec.messages++;
        break;
    case V_MASKED:
        if (!ok)
            v_blocked(st, ctx, &c);
        break;
    default:
        break;
    }
    /* after the status: a post-login [CAPABILITY …] must not replace the pre-login list */
    if (ok && st->phase != PH_AWAIT)
        imap_resp_code(st, text, line, ctx);
}

static void imap_server_line(struct mail_state *st, struct bytes line, struct dis_ctx *ctx)
{
    uint64_t n;
    bool sync;
    bool lit = trailing_literal(line, &n, &sync);
    if (st->d[1].cont) { /* rest of a response cut by a literal */
        st->d[1].cont = false;
        if (lit) {
            start_count(st, 1, n, true);
            st->d[1].cont = true;
        }
        return;
    }
    if (lit) {
        start_count(st, 1, n, true);
        st->d[1].cont = true;
    }
    int c0 = bytes_at(line, 0);
    if (c0 == '+') { /* continuation request */
        if (st->sasl.active && st->auth_tag[0]) {
            st->auth_expect = true;
            sasl_challenge(st, bytes_sub(line, 1, line.len));
        }
        return;
    }
    struct rd r = rd_from(line);
    struct bytes tag = next_word(&r);
    struct bytes word = next_word(&r);
    struct bytes text = rest_trim(&r);
    if (eq_exact(tag, "*")) {
        bool status = bytes_eq_nocase(word, "OK") || bytes_eq_nocase(word, "PREAUTH") || bytes_eq_nocase(word, "BYE");
        if (!st->any_reply) {
            st->any_reply = true;
            if (status) {
                st->greeted = true;
                str_set(st->rec.greeting, sizeof st->rec.greeting, line);
                if (bytes_eq_nocase(word, "PREAUTH")) {
                    st->rec.flags |= MAIL_F_PREAUTH;
                    st->rec.mail_in_clear = true;
                }
            } else {
                st->rec.flags |= MAIL_F_NO_GREETING;
            }
        }
        if (status || bytes_eq_nocase(word, "NO") || bytes_eq_nocase(word, "BAD"))
            imap_resp_code(st, text, line, ctx);
        else if (bytes_eq_nocase(word, "CAPABILITY"))
            imap_caps(st, lit ? bytes_sub(text, 0, 0) : text, line, ctx);
        return;
    }
    if (tag.len == 0) {
        st->rec.bad_lines++;
        return;
    }
    if (!st->any_reply) {
        st->any_reply = true;
        st->rec.flags |= MAIL_F_NO_GREETING;
    }
    imap_tagged(st, tag, word, text, line, ctx);
}

/* ------------------------------------------------------------------------------------------ */
/* POP3 */

static uint8_t pop3_verb(struct bytes v, bool has_arg, bool *flag)
{
    *flag = false;
    if (bytes_eq_nocase(v, "STLS"))
        return V_STARTTLS;
    if (bytes_eq_nocase(v, "CAPA"))
        return V_CAPA;
    if (bytes_eq_nocase(v, "USER"))
        return V_USER;
    if (bytes_eq_nocase(v, "PASS"))
        return V_PASS;
    if (bytes_eq_nocase(v, "APOP"))
        return V_APOP;
    if (bytes_eq_nocase(v, "AUTH")) {
        *flag = !has_arg; /* RFC 1734 era: bare AUTH lists mechanisms, multi-line */
        return V_AUTH;
    }
    if (bytes_eq_nocase(v, "RETR"))
        return V_RETR;
    if (bytes_eq_nocase(v, "TOP") || ((bytes_eq_nocase(v, "LIST") || bytes_eq_nocase(v, "UIDL")) && !has_arg))
        return V_MULTI;
    if (bytes_eq_nocase(v, "QUIT"))
        return V_QUIT;
    return mail_is_masked(v, 4) ? V_MASKED : V_OTHER;
}

static void pop3_client_line(struct mail_state *st, struct bytes line, struct dis_ctx *ctx)
{
    if (st->auth_expect) {
        st->auth_expect = false;
        sasl_response(st, line, ctx);
        return;
    }
    struct rd r = rd_from(line);
    struct bytes verb = next_word(&r);
    struct bytes arg = next_word(&r);
    if (line.len)
        note_command(st); /* an empty line is not a command, but the server answers it */
    bool flag;
    uint8_t v = pop3_verb(verb, arg.len > 0, &flag);
    switch (v) {
    case V_STARTTLS:
        st->rec.starttls_requested = true;
        st->phase = PH_REQUESTED;
        break;
    case V_USER:
        v_not_used(st, ctx, "USER");
        attempt(st, "USER", no_bytes());
        user_set(st, arg);
        break;
    case V_PASS:
        v_not_used(st, ctx, "PASS");
        if (strcmp(st->rec.auth_mech, "USER") != 0 && !st->rec.auth_ok)
            attempt(st, "USER", no_bytes());
        v_plaintext_auth(st, ctx, false);
        break;
    case V_APOP: { /* RFC 1939 §7: name SP MD5 digest of timestamp+secret (32 hex digits) */
        v_not_used(st, ctx, "APOP");
        attempt(st, "APOP", no_bytes());
        struct bytes digest = next_word(&r);
        size_t hex = 0;
        for (size_t i = 0; i < digest.len; i++) {
            int c = bytes_at(digest, i);
            hex += (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        }
        if (digest.len == 32 && hex == 32)
            user_set(st, arg);
        else
            user_malformed(st, "malformed APOP command");
        v_plaintext_auth(st, ctx, true);
        break;
    }
    case V_AUTH:
        if (!flag) {
            v_not_used(st, ctx, "AUTH");
            sasl_start(st, arg, next_word(&r), ctx);
        }
        break;
    default:
        break;
    }
    q_push(st, v, flag, no_bytes(), verb);
}

static void pop3_server_line(struct mail_state *st, struct bytes line, struct dis_ctx *ctx)
{
    if (st->capa_open) {
        if (eq_exact(line, ".")) {
            st->capa_open = false;
            list_end(st, ctx, true);
            return;
        }
        if (bytes_at(line, 0) == '.') /* RFC 1939 §3 byte-stuffing */
            line = bytes_sub(line, 1, line.len);
        struct rd r = rd_from(line);
        struct bytes kw = next_word(&r);
        list_word(st, kw, rest_trim(&r), line);
        return;
    }
    bool ok = bytes_prefix_nocase(line, "+OK");
    bool err = bytes_prefix_nocase(line, "-ERR");
    if (!ok && !err) {
        int c1 = bytes_at(line, 1);
        if (bytes_at(line, 0) == '+' && (c1 < 0 || c1 == ' ')) { /* RFC 5034 §4 continuation */
            if (st->sasl.active) {
                st->auth_expect = true;
                sasl_challenge(st, bytes_sub(line, 1, line.len));
            }
            return;
        }
        st->rec.bad_lines++;
        return;
    }
    if (!st->any_reply) {
        st->any_reply = true;
        if (st->q_len == 0) {
            st->greeted = true;
            str_set(st->rec.greeting, sizeof st->rec.greeting, line);
            return;
        }
        st->rec.flags |= MAIL_F_NO_GREETING;
    }
    if (st->q_len == 0) {
        st->rec.flags |= MAIL_F_UNPAIRED;
        return;
    }
    struct mail_cmd c = st->q[0];
    q_remove(st, 0);
    kept_set(&st->reply_line, line);
    switch (c.verb) {
    case V_CAPA:
        if (ok) {
            list_begin(st);
            st->capa_open = true;
        } else {
            list_end(st, ctx, false); /* RFC 2449 §5: no CAPA, so no STLS announced */
        }
        break;
    case V_STARTTLS:
        upgrade_reply(st, ctx, ok, 0, line);
        break;
    case V_PASS:
    case V_APOP:
    case V_AUTH:
        if (c.verb == V_AUTH) {
            st->sasl.active = false;
            st->auth_expect = false;
            if (c.flag) {
                if (ok)
                    start_body(st, 1, false);
                break;
            }
        }
        if (ok) {
            st->rec.auth_ok = true;
            st->rec.mail_in_clear = true;
            v_not_offered(st, ctx, "accepted a login");
        }
        break;
    case V_RETR:
    case V_MULTI:
        if (ok) {
            if (c.verb == V_RETR)
                st->rec.messages++;
            start_body(st, 1, false);
        }
        break;
    case V_MASKED:
        if (err)
            v_blocked(st, ctx, &c);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The driver */

static void line_for(struct mail_state *st, int dir, struct bytes line, struct dis_ctx *ctx)
{
    switch (st->proto) {
    case MAIL_PROTO_SMTP:
        if (dir)
            smtp_server_line(st, line, ctx);
        else
            smtp_client_line(st, line, ctx);
        break;
    case MAIL_PROTO_IMAP:
        if (dir)
            imap_server_line(st, line, ctx);
        else
            imap_client_line(st, line, ctx);
        break;
    case MAIL_PROTO_POP3:
        if (dir)
            pop3_server_line(st, line, ctx);
        else
            pop3_client_line(st, line, ctx);
        break;
    }
}

static void tail_keep(struct mail_dir *d, struct bytes b)
{
    if (b.len >= SKIP_TAIL_MAX) {
        struct rd r = rd_from(bytes_sub(b, b.len - SKIP_TAIL_MAX, SKIP_TAIL_MAX));
        rd_copy(&r, d->tail, SKIP_TAIL_MAX);
        d->tail_len = SKIP_TAIL_MAX;
        return;
    }
    size_t keep = SKIP_TAIL_MAX - b.len < d->tail_len ? SKIP_TAIL_MAX - b.len : d->tail_len;
    memmove(d->tail, d->tail + d->tail_len - keep, keep);
    struct rd r = rd_from(b);
    rd_copy(&r, d->tail + keep, b.len);
    d->tail_len = keep + b.len;
}

/* The end of an over-long line was reached; an IMAP line may have announced a literal. */
static void long_line_end(struct mail_state *st, int dir)
{
    struct mail_dir *d = &st->d[dir];
    if (st->proto != MAIL_PROTO_IMAP)
        return;
    struct bytes t = {d->tail, d->tail_len};
    if (bytes_at(t, t.len ? t.len - 1 : 0) == '\r')
        t.len--;
    uint64_t n;
    bool sync;
    if (trailing_literal(t, &n, &sync)) {
        start_count(st, dir, n, true);
        d->cont = true;
    } else if (dir == 0 && st->cmd_open) {
        st->cmd_open = false;
        st->login_active = false;
    }
}

/* CRLF "." CRLF */
static const char dot_marker[] = "\r\n.\r\n";

static void body_end(struct mail_state *st, int dir)
{
    struct mail_dir *d = &st->d[dir];
    d->mode = DM_LINE;
    /* content = bytes before the final ".\r\n" (its leading CRLF belongs to the last line) */
    uint64_t content = d->body_seen >= 3 ? d->body_seen - 3 : 0;
    st->rec.message_bytes += content;
    if (d->data_body && dir == 0)
        q_push(st, V_DATA_END, false, no_bytes(), no_bytes());
}

enum step { STEP_AGAIN, STEP_MORE };

/* Skips a dot-terminated body. mstate carries a partial match across calls, so nothing has
 * to be held back; the only per-byte work is memchr for CR. */
static enum step step_body(struct mail_state *st, int dir, struct rd *r)
{
    struct mail_dir *d = &st->d[dir];
    struct bytes b = rd_rest(r);
    size_t i = 0;
    /* continue a match begun in an earlier call (or the virtual CRLF before the body) */
    while (d->mstate > 0 && i < b.len) {
        if (bytes_at(b, i) != (unsigned char)dot_marker[d->mstate]) {
            d->mstate = 0;
            break;
        }
        i++;
        if (++d->mstate == 5) {
            rd_skip(r, i);
            d->body_seen += i;
            body_end(st, dir);
            return STEP_AGAIN;
        }
    }
    if (d->mstate > 0) { /* all of b matched part of the marker */
        rd_skip(r, b.len);
        d->body_seen += b.len;
        return STEP_MORE;
    }
    size_t from = 0;
    long cr;
    while ((cr = bytes_find(b, '\r', from)) >= 0) {
        struct bytes m = bytes_sub(b, (size_t)cr, 5);
        if (m.len == 5 && eq_exact(m, dot_marker)) {
            size_t n = (size_t)cr + 5;
            rd_skip(r, n);
            d->body_seen += n;
            body_end(st, dir);
            return STEP_AGAIN;
        }
        from = (size_t)cr + 1;
    }
    /* longest suffix of b that is a prefix of the marker */
    for (size_t k = b.len < 4 ? b.len : 4; k > 0; k--) {
        struct bytes s = bytes_sub(b, b.len - k, k);
        bool match = true;
        for (size_t j = 0; j < k; j++)
            if (bytes_at(s, j) != (unsigned char)dot_marker[j]) {
                match = false;
                break;
            }
        if (match) {
            d->mstate = (unsigned)k;
            break;
        }
    }
    rd_skip(r, b.len);
    d->body_seen += b.len;
    return STEP_MORE;
}

static enum step step_count(struct mail_state *st, int dir, struct rd *r)
{
    struct mail_dir *d = &st->d[dir];
    size_t avail = rd_left(r);
    size_t n = d->left < avail ? (size_t)d->left : avail;
    struct bytes b = rd_slice(r, n);
    if (d->to_user) {
        struct rd u = rd_from(b);
        while (!rd_eof(&u))
            user_putc(st, rd_u8(&u));
    }
    if (d->count_body)
        st->rec.message_bytes += n;
    d->lit_sync = false;
    d->left -= n;
    if (d->left == 0)
        d->mode = DM_LINE;
    return STEP_AGAIN;
}

static enum step step_skip_line(struct mail_state *st, int dir, struct rd *r)
{
    struct mail_dir *d = &st->d[dir];
    struct bytes b = rd_rest(r);
    long lf = bytes_find(b, '\n', 0);
    if (lf < 0) {
        tail_keep(d, b);
        rd_skip(r, b.len);
        return STEP_MORE;
    }
    tail_keep(d, bytes_sub(b, 0, (size_t)lf));
    rd_skip(r, (size_t)lf + 1);
    d->mode = DM_LINE;
    long_line_end(st, dir);
    return STEP_AGAIN;
}

static enum step step_line(struct mail_state *st, int dir, struct rd *r, struct dis_ctx *ctx)
{
    struct bytes line;
    int lr = rd_line(r, SMTP_LINE_MAX, &line);
    if (lr == 0)
        return STEP_MORE;
    if (lr < 0) {
        /* Over-long: parse its start as the line, skip the rest up to the LF. */
        struct mail_dir *d = &st->d[dir];
        st->rec.long_lines++;
        line = rd_slice(r, SMTP_LINE_MAX);
        d->mode = DM_SKIP_LINE;
        d->tail_len = 0;
        tail_keep(d, line);
        if (st->proto != MAIL_PROTO_IMAP) {
            line_for(st, dir, line, ctx);
        } else if (dir == 0 && st->auth_expect) {
            st->auth_expect = false; /* an over-long SASL response: nothing kept from it */
        } else {
            /* IMAP: the tag pairs the line; its arguments are not looked at; whether it ends
             * in a literal is decided at its end (long_line_end). */
            bool cont = d->cont;
            d->cont = false;
            struct rd t = rd_from(line);
            struct bytes tag = next_word(&t);
            struct bytes word = next_word(&t);
            if (dir == 0 && !cont && tag.len) {
                uint8_t v = imap_verb(word);
                note_command(st);
                q_push(st, v == V_STARTTLS ? V_OTHER : v, false, tag, word);
                st->cmd_open = true;
                st->cur.verb = v;
                str_set(st->cur.tag, sizeof st->cur.tag, tag);
                st->login_active = false;
            } else if (dir == 1 && !cont && tag.len && !eq_exact(tag, "*") && bytes_at(tag, 0) != '+') {
                imap_tagged(st, tag, word, rest_trim(&t), line, ctx);
            }
        }
        return STEP_AGAIN;
    }
    line_for(st, dir, line, ctx);
    return STEP_AGAIN;
}

static enum dis_status mail_on_data(void *vst, int dir, struct bytes in, size_t *consumed, struct dis_ctx *ctx)
{
    struct mail_state *st = vst;
    *consumed = 0;
    if (dir != 0 && dir != 1) {
        ctx->err_reason = "mail: bad direction";
        return DIS_ERR;
    }
    if (!st->started) {
        st->started = true;
        st->rec.ts_usec = ctx->ts_usec;
    }
    st->rec.flow_id = ctx->flow_id;
    if (!st->labelled) {
        st->labelled = true;
        if (ctx->sink && ctx->sink->label)
            ctx->sink->label(ctx->sink->ud, proto_upper(st));
    }
    if (st->phase == PH_SWITCHED) {
        *consumed = 0;
        return DIS_DONE;
    }
    struct rd r = rd_from(in);
    struct mail_dir *d = &st->d[dir];
    while (!rd_eof(&r)) {
        if (st->phase == PH_AWAIT) {
            if (dir == 1) { /* the server talks in clear after accepting: injection */
                kept_add(&st->inj_server, rd_rest(&r));
                rd_skip(&r, rd_left(&r));
                break;
            }
            int c0 = rd_peek(&r, 0), c1 = rd_peek(&r, 1);
            if (c0 == 0x16 && c1 < 0)
                break; /* one byte of a possible TLS record header: wait for the next */
            if (c0 == 0x16 && c1 == 0x03) { /* TLS handshake record, any version */
                do_switch(st, ctx);
                *consumed = r.off;
                return DIS_SWITCH;
            }
            /* Plaintext after the acceptance: quote the first line (wait until it is whole). */
            struct rd t = r;
            struct bytes first;
            int lr = rd_line(&t, SMTP_LINE_MAX, &first);
            if (lr == 0)
                break;
            if (lr < 0)
                first = bytes_sub(rd_rest(&r), 0, MAIL_EVIDENCE_MAX);
            v_injection(st, ctx, true);
            v_failed(st, ctx, &first);
            st->rec.flags |= MAIL_F_STARTTLS_PLAINTEXT;
            st->phase = PH_NONE;
            continue;
        }
        if (dir == 0 && st->phase == PH_REQUESTED) {
            /* RFC 3207 §4.2 / RFC 2595 §3.1: nothing may follow until the reply. A TLS record
             * here is an eager client; anything else is injected plaintext. */
            int c0 = rd_peek(&r, 0), c1 = rd_peek(&r, 1);
            /* only right after the STARTTLS line: once plaintext was injected, all is injected */
            if (!st->early_overflow && st->inj_client.total == 0 && c0 == 0x16 && (c1 < 0 || c1 == 0x03)) {
                if (rd_left(&r) <= MAIL_EARLY_TLS_MAX) {
                    if (c1 == 0x03)
                        st->rec.flags |= MAIL_F_EARLY_TLS;
                    break;
                }
                st->early_overflow = true; /* from here on, all of it is injected bytes */
                st->rec.flags &= ~(uint32_t)MAIL_F_EARLY_TLS;
            }
            kept_add(&st->inj_client, rd_rest(&r));
            rd_skip(&r, rd_left(&r));
            break;
        }
        enum step s;
        switch (d->mode) {
        case DM_DOT_BODY:
            s = step_body(st, dir, &r);
            break;
        case DM_COUNT:
            s = step_count(st, dir, &r);
            break;
        case DM_SKIP_LINE:
            s = step_skip_line(st, dir, &r);
            break;
        default:
            s = step_line(st, dir, &r, ctx);
            break;
        }
        if (st->switch_now) {
            do_switch(st, ctx);
            *consumed = r.off;
            return DIS_SWITCH;
        }
        if (s == STEP_MORE)
            break;
    }
    *consumed = r.off;
    return DIS_OK;
}

static enum dis_status mail_on_gap(void *vst, int dir, uint64_t len, struct dis_ctx *ctx)
{
    struct mail_state *st = vst;
    (void)ctx;
    if (dir != 0 && dir != 1)
        return DIS_DONE;
    if (st->phase == PH_SWITCHED)
        return DIS_DONE;
    struct mail_dir *d = &st->d[dir];
    st->rec.flags |= MAIL_F_GAP;
    switch (d->mode) {
    case DM_DOT_BODY:
        d->mstate = 0;
        d->body_seen += len;
        return DIS_OK;
    case DM_COUNT:
        if (len < d->left) {
            d->left -= len;
            if (d->count_body)
                st->rec.message_bytes += len;
            return DIS_OK;
        }
        break;
    default:
        break;
    }
    /* Lost inside lines: drop up to the next LF and forget what was waiting for replies. */
    d->mode = DM_SKIP_LINE;
    d->tail_len = 0;
    d->cont = false;
    st->q_len = 0;
    st->reply_open = false;
    st->list_open = false;
    st->capa_open = false;
    st->cmd_open = false;
    st->login_active = false;
    st->auth_expect = false;
    return DIS_OK;
}

static void mail_on_close(void *vst, struct dis_ctx *ctx)
{
    struct mail_state *st = vst;
    if (!st)
        return;
    if (st->phase == PH_REQUESTED) {
        v_injection(st, ctx, false);
    } else if (st->phase == PH_AWAIT) {
        v_injection(st, ctx, true);
        v_failed(st, ctx, NULL);
    }
    emit_record(st, ctx);
}

static void *state_new(enum mail_proto proto)
{
    struct mail_state *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->proto = proto;
    st->rec.protocol = (uint8_t)proto;
    snprintf(st->rec.proto, sizeof st->rec.proto, "%s",
             proto == MAIL_PROTO_SMTP ? "smtp" : proto == MAIL_PROTO_IMAP ? "imap" : "pop3");
    return st;
}

static void *smtp_state_new(const struct dis_cfg *cfg)
{
    (void)cfg;
    return state_new(MAIL_PROTO_SMTP);
}

static void *imap_state_new(const struct dis_cfg *cfg)
{
    (void)cfg;
    return state_new(MAIL_PROTO_IMAP);
}

static void *pop3_state_new(const struct dis_cfg *cfg)
{
    (void)cfg;
    return state_new(MAIL_PROTO_POP3);
}

static void mail_state_free(void *st) { free(st); }

/* The state owns no buffers: lines stay in the pipeline's buffer, evidence is fixed-size. */
static size_t mail_mem(const void *st)
{
    (void)st;
    return nz_heap_size(sizeof(struct mail_state));
}

/* ------------------------------------------------------------------------------------------ */
/* Probes */

/* b starts with s (case-insensitive): 1; b is a proper prefix of s: 0 (maybe); else -1. */
static int starts(struct bytes b, const char *s)
{
    size_t n = strlen(s);
    size_t k = b.len < n ? b.len : n;
    for (size_t i = 0; i < k; i++)
        if (up(bytes_at(b, i)) != up((unsigned char)s[i]))
            return -1;
    return b.len >= n ? 1 : 0;
}

/* Case-insensitive search for s in b. */
static bool contains_nocase(struct bytes b, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= b.len; i++)
        if (bytes_prefix_nocase(bytes_sub(b, i, n), s))
            return true;
    return false;
}

static enum dis_probe smtp_probe(struct bytes first, int dir)
{
    if (dir == 0) {
        int a = starts(first, "EHLO "), b = starts(first, "HELO ");
        if (a > 0 || b > 0)
            return DIS_PROBE_YES;
        return (a == 0 || b == 0) ? DIS_PROBE_MAYBE : DIS_PROBE_NO;
    }
    int a = starts(first, "220");
    if (a <= 0)
        return a == 0 ? DIS_PROBE_MAYBE : DIS_PROBE_NO;
    int sep = bytes_at(first, 3);
    if (sep < 0)
        return DIS_PROBE_MAYBE;
    if (sep != ' ' && sep != '-' && sep != '\r' && sep != '\n')
        return DIS_PROBE_NO;
    long lf = bytes_find(first, '\n', 0);
    struct bytes line = lf < 0 ? first : bytes_sub(first, 0, (size_t)lf);
    if (contains_nocase(line, "SMTP"))
        return DIS_PROBE_YES;
    if (contains_nocase(line, "FTP"))
        return DIS_PROBE_NO;
    size_t stars = 0;
    for (size_t i = 4; i < line.len; i++)
        stars += bytes_at(line, i) == '*';
    if (stars >= 8)
        return DIS_PROBE_YES; /* masked banner */
    /* A bare "220 host" greeting: SMTP only once the client says EHLO/HELO. */
    return DIS_PROBE_MAYBE;
}

static enum dis_probe imap_probe(struct bytes first, int dir)
{
    if (dir == 1) {
        int a = starts(first, "* OK"), b = starts(first, "* PREAUTH"), c = starts(first, "* BYE");
        if (a > 0 || b > 0 || c > 0)
            return DIS_PROBE_YES;
        return (a == 0 || b == 0 || c == 0) ? DIS_PROBE_MAYBE : DIS_PROBE_NO;
    }
    /* "tag SP CAPABILITY|STARTTLS|LOGIN|AUTHENTICATE" */
    long lf = bytes_find(first, '\n', 0);
    struct bytes line = lf < 0 ? first : bytes_sub(first, 0, (size_t)lf);
    struct rd r = rd_from(line);
    struct bytes tag = next_word(&r);
    for (size_t i = 0; i < tag.len; i++) {
        int c = bytes_at(tag, i);
        if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '"' || c == '%' || c == '*' ||
            c == '+')
            return DIS_PROBE_NO;
    }
    if (tag.len == 0 || tag.len > MAIL_TAG_MAX)
        return tag.len == 0 && first.len == 0 ? DIS_PROBE_MAYBE : DIS_PROBE_NO;
    struct bytes verb = next_word(&r);
    verb = bytes_trim(verb);
    if (verb.len && bytes_at(verb, verb.len - 1) == '\r')
        verb.len--;
    static const char *const verbs[] = {"CAPABILITY", "STARTTLS", "LOGIN", "AUTHENTICATE"};
    for (size_t i = 0; i < 4; i++) {
        if (lf >= 0 && bytes_eq_nocase(verb, verbs[i]))
            return DIS_PROBE_YES;
        if (lf < 0 && starts(verb, verbs[i]) >= 0 && line.len < 64)
            return DIS_PROBE_MAYBE;
    }
    return DIS_PROBE_NO;
}

static enum dis_probe pop3_probe(struct bytes first, int dir)
{
    if (dir == 1) {
        int a = starts(first, "+OK");
        if (a <= 0)
            return a == 0 ? DIS_PROBE_MAYBE : DIS_PROBE_NO;
        int c = bytes_at(first, 3);
        if (c < 0)
            return DIS_PROBE_MAYBE;
        return (c == ' ' || c == '\r' || c == '\n') ? DIS_PROBE_YES : DIS_PROBE_NO;
    }
    int a = starts(first, "CAPA\r\n"), b = starts(first, "STLS\r\n");
    if (a > 0 || b > 0)
        return DIS_PROBE_YES;
    return (a == 0 || b == 0) ? DIS_PROBE_MAYBE : DIS_PROBE_NO;
}

const struct dissector smtp_dissector = {
    .name = "smtp",
    .ports = {25, 587, 2525, 0},
    .probe = smtp_probe,
    .state_new = smtp_state_new,
    .state_free = mail_state_free,
    .mem = mail_mem,
    .on_data = mail_on_data,
    .on_gap = mail_on_gap,
    .on_close = mail_on_close,
};

const struct dissector imap_dissector = {
    .name = "imap",
    .ports = {143, 0},
    .probe = imap_probe,
    .state_new = imap_state_new,
    .state_free = mail_state_free,
    .mem = mail_mem,
    .on_data = mail_on_data,
    .on_gap = mail_on_gap,
    .on_close = mail_on_close,
};

const struct dissector pop3_dissector = {
    .name = "pop3",
    .ports = {110, 0},
    .probe = pop3_probe,
    .state_new = pop3_state_new,
    .state_free = mail_state_free,
    .mem = mail_mem,
    .on_data = mail_on_data,
    .on_gap = mail_on_gap,
    .on_close = mail_on_close,
};
