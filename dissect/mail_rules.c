/* mail_rules.c — the mail verdicts of one session: facts gathered by the SMTP, IMAP and POP3
 * parsers (struct mail_state, struct mail_session_rec) → findings (kinds_mail.def: smtp.*,
 * imap.*, pop3.*), with their severity, summary and evidence. Each verdict at most once per
 * session; every raised verdict has its MAIL_V_* bit in the record.
 *
 * Evidence quotes capability and reply lines and injected bytes; client bytes in evidence are
 * cut at the first AUTH/PASS/APOP/LOGIN/AUTHENTICATE verb ("[redacted]"). No finding holds a
 * password, a SASL response blob or its base64. */
#include "dissect/mail_common.h"

#include <stdio.h>

#include "core/json.h"

/* Verdict index (VI_*) → finding kind, per protocol (enum mail_proto - 1). */
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

/* ------------------------------------------------------------------------------------------ */
/* Record, findings */

const char *mail_proto_upper(const struct mail_state *st)
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
        struct bytes w1 = rd_word(&w);
        size_t end1 = w.off;
        struct bytes w2 = rd_word(&w);
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

void mail_v_stripped(struct mail_state *st, const struct dis_ctx *ctx, const struct kept *line)
{
    struct finding f;
    struct json j;
    if (!verdict_open(st, ctx, VI_STRIPPED, MAIL_V_STARTTLS_STRIPPED, &f, &j))
        return;
    char l[64], srv[80];
    /* Quote the masked keyword itself (an IMAP greeting line is long; the line is in the
     * evidence): the first token of the verb's length that has the masking shape. */
    struct bytes all = mail_kept_bytes(line), tok = all;
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
                    mail_proto_upper(st), tls_verb(st), l, srv);
    json_strn(&j, "capability_line", mail_kept_bytes(line));
    json_str(&j, "capabilities", st->cl.caps);
    verdict_emit(ctx, &f, &j);
}

void mail_v_blocked(struct mail_state *st, const struct dis_ctx *ctx, const struct mail_cmd *c)
{
    struct finding f;
    struct json j;
    if (!verdict_open(st, ctx, VI_BLOCKED, MAIL_V_STARTTLS_COMMAND_BLOCKED, &f, &j))
        return;
    char l[64], srv[80];
    bytes_to_cstr(mail_kept_bytes(&st->reply_line), l, sizeof l);
    server_str(ctx, srv, sizeof srv);
    finding_summary(&f, "%s %s command arrived masked as '%s' and %s rejected it: '%s'", mail_proto_upper(st),
                    tls_verb(st), c->word, srv, l);
    json_str(&j, "command", c->word);
    json_strn(&j, "reply", mail_kept_bytes(&st->reply_line));
    verdict_emit(ctx, &f, &j);
}

void mail_v_refused(struct mail_state *st, const struct dis_ctx *ctx)
{
    struct finding f;
    struct json j;
    if (!verdict_open(st, ctx, VI_REFUSED, MAIL_V_STARTTLS_REFUSED, &f, &j))
        return;
    char l[96], srv[80];
    bytes_to_cstr(mail_kept_bytes(&st->tls_reply), l, sizeof l);
    server_str(ctx, srv, sizeof srv);
    finding_summary(&f, "%s %s refused by %s: '%s'", mail_proto_upper(st), tls_verb(st), srv, l);
    if (st->rec.starttls_reply_code)
        json_uint(&j, "reply_code", st->rec.starttls_reply_code);
    json_strn(&j, "reply", mail_kept_bytes(&st->tls_reply));
    json_bool(&j, "starttls_offered", st->rec.starttls_offered);
    if (st->rec.starttls_offered)
        json_strn(&j, "capability_line", mail_kept_bytes(&st->starttls_line));
    verdict_emit(ctx, &f, &j);
}

/* after: the client's plaintext line (NULL: the connection closed). */
void mail_v_failed(struct mail_state *st, const struct dis_ctx *ctx, const struct bytes *after)
{
    struct finding f;
    struct json j;
    if (!verdict_open(st, ctx, VI_FAILED, MAIL_V_STARTTLS_FAILED, &f, &j))
        return;
    char srv[80];
    server_str(ctx, srv, sizeof srv);
    finding_summary(&f, "%s %s accepted by %s but no TLS handshake followed: %s", mail_proto_upper(st), tls_verb(st),
                    srv, after ? "the client went on in plaintext" : "the connection closed");
    json_strn(&j, "reply", mail_kept_bytes(&st->tls_reply));
    if (after) {
        uint8_t red[MAIL_EVIDENCE_MAX + 16];
        json_strn(&j, "plaintext_after", redact_client(bytes_sub(*after, 0, MAIL_EVIDENCE_MAX), red, sizeof red));
    }
    else
        json_bool(&j, "closed", true);
    verdict_emit(ctx, &f, &j);
}

void mail_v_injection(struct mail_state *st, const struct dis_ctx *ctx, bool server)
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
                        "handshake", mail_proto_upper(st), tls_verb(st), srv, (unsigned long long)k->total,
                        tls_verb(st));
    else
        finding_summary(&f, "%s %s injection: the client pipelined %llu plaintext bytes after %s, before the "
                        "reply of %s", mail_proto_upper(st), tls_verb(st), (unsigned long long)k->total,
                        tls_verb(st), srv);
    json_str(&j, "side", server ? "server" : "client");
    uint8_t red[MAIL_EVIDENCE_MAX + 16];
    json_strn(&j, "injected", server ? mail_kept_bytes(k) : redact_client(mail_kept_bytes(k), red, sizeof red));
    json_uint(&j, "injected_bytes", k->total);
    if (st->tls_reply.len)
        json_strn(&j, "reply", mail_kept_bytes(&st->tls_reply));
    verdict_emit(ctx, &f, &j);
}

void mail_v_not_used(struct mail_state *st, const struct dis_ctx *ctx, const char *cmd)
{
    if (!st->rec.starttls_offered || st->rec.starttls_requested || (st->raised & MAIL_V_STARTTLS_COMMAND_BLOCKED))
        return;
    struct finding f;
    struct json j;
    if (!verdict_open(st, ctx, VI_NOT_USED, MAIL_V_STARTTLS_NOT_USED, &f, &j))
        return;
    char srv[80];
    server_str(ctx, srv, sizeof srv);
    finding_summary(&f, "%s server %s offered %s but the client sent %s in plaintext", mail_proto_upper(st), srv,
                    tls_verb(st), cmd);
    json_strn(&j, "capability_line", mail_kept_bytes(&st->starttls_line));
    json_str(&j, "command", cmd);
    verdict_emit(ctx, &f, &j);
}

void mail_v_not_offered(struct mail_state *st, const struct dis_ctx *ctx, const char *what)
{
    if (!st->rec.caps_seen || st->rec.starttls_offered || (st->raised & MAIL_V_STARTTLS_STRIPPED))
        return;
    struct finding f;
    struct json j;
    if (!verdict_open(st, ctx, VI_NOT_OFFERED, MAIL_V_STARTTLS_NOT_OFFERED, &f, &j))
        return;
    char srv[80], l[96];
    server_str(ctx, srv, sizeof srv);
    bytes_to_cstr(mail_kept_bytes(&st->reply_line), l, sizeof l);
    finding_summary(&f, "%s server %s did not offer %s and %s in plaintext", mail_proto_upper(st), srv, tls_verb(st),
                    what);
    json_str(&j, "capabilities", st->rec.capabilities);
    json_strn(&j, "reply", mail_kept_bytes(&st->reply_line));
    verdict_emit(ctx, &f, &j);
}

void mail_v_plaintext_auth(struct mail_state *st, const struct dis_ctx *ctx, bool crackable)
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
        finding_summary(&f, "%s %s%s%s %s in clear to %s (%s: user not recorded)", mail_proto_upper(st), how,
                        st->rec.auth_mech, userpass ? "/PASS" : "", crackable ? "challenge response" : "credentials",
                        srv, st->auth_note);
    else
        finding_summary(&f, "%s %s%s%s %s in clear to %s (user '%s')", mail_proto_upper(st), how, st->rec.auth_mech,
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
