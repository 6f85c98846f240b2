/* mail_common.c — what the SMTP, IMAP and POP3 dissectors share (see mail_common.h): the
 * per-direction byte driver, the STARTTLS handoff, the command queue, capability lists, SASL
 * decoding and the session record.
 *
 * SASL (RFC 4422 mechanisms as carried by SMTP AUTH, IMAP AUTHENTICATE, POP3 AUTH): RFC 4616
 * PLAIN (authzid NUL authcid NUL passwd: authcid kept), RFC 2195 CRAM-MD5 ("user SP digest"),
 * RFC 2831 DIGEST-MD5 (username="…"), RFC 5802 SCRAM ("n=user"), RFC 7628 OAUTHBEARER
 * ("a=user"), Google XOAUTH2 ("user=…^Aauth=Bearer …"), LOGIN (draft-murchison-sasl-login: user,
 * then password, each base64).
 * Secrets: SASL responses are decoded by the streaming base64 decoder of core/reader.h; a
 * password response (LOGIN's second or any answer to a "Password:" prompt, PASS, the second LOGIN
 * argument) is stepped over without decoding or copying; PLAIN's password is decoded only to count
 * its NULs, never copied. A user name reaches the record only when its response or command has
 * the shape its mechanism prescribes (PLAIN: exactly two NULs and a password; XOAUTH2: "user=" …
 * ^A "auth="; OAUTHBEARER/SCRAM: the terminating ','; CRAM-MD5: "user SP" 32 hex digits;
 * DIGEST-MD5: the closing quote; LOGIN: no NUL, not an answer to "Password:"; IMAP LOGIN: a
 * second argument; APOP: a 32-hex digest): in a malformed one the bytes where the user belongs
 * may be the password, so no user is stored and the evidence says "malformed …".
 *
 * Every byte is read through struct rd. Lines are capped at SMTP_LINE_MAX; message bodies are
 * skipped with a memchr search for CRLF "." CRLF that keeps at most 4 bytes of match state
 * between calls (nothing is held back in the pipeline's buffer), BDAT chunks and literals by
 * length.
 *
 * The switch to TLS: after an accepted STARTTLS/STLS the client's first TLS record makes
 * on_data return DIS_SWITCH with *consumed at that record; the pipeline hands the unconsumed
 * rest of that direction to the TLS dissector. A client that sends its ClientHello before the
 * reply to STARTTLS (MAIL_F_EARLY_TLS) has those bytes left unconsumed in its direction while the
 * reply is awaited; the switch then happens on the server's 220/OK/+OK, and the pipeline feeds
 * the other direction's unconsumed tail (the held ClientHello) to the TLS dissector too, so its
 * handshake is seen as if it had followed the reply. */
#include "dissect/mail_common.h"

#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------------------------ */
/* Small helpers (all packet access through reader.h) */

void mail_kept_add(struct kept *k, struct bytes b)
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

void mail_kept_set(struct kept *k, struct bytes b)
{
    k->len = 0;
    k->total = 0;
    mail_kept_add(k, b);
}

struct bytes mail_kept_bytes(const struct kept *k)
{
    struct bytes b = {k->b, k->len};
    return b;
}

/* Appends byte c to the NUL-terminated dst (cap incl. NUL) as printable ASCII. */
void mail_str_putc(char *dst, size_t cap, int c)
{
    size_t n = strlen(dst);
    if (n + 1 >= cap)
        return;
    dst[n] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    dst[n + 1] = '\0';
}

/* Appends " word" (no leading space when dst is empty) if all of it fits. */
void mail_str_add_word(char *dst, size_t cap, struct bytes w, bool upper)
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
            c = ascii_upper(c);
        dst[n++] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[n] = '\0';
}


static void str_set_upper(char *dst, size_t cap, struct bytes b)
{
    dst[0] = '\0';
    struct rd r = rd_from(b);
    while (!rd_eof(&r))
        mail_str_putc(dst, cap, ascii_upper(rd_u8(&r)));
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

/* See mail.h. */
size_t mail_b64_decode(struct bytes in, uint8_t *out, size_t cap) { return b64_decode(in, false, out, cap); }

/* ------------------------------------------------------------------------------------------ */
/* Record */

void mail_emit_record(struct mail_state *st, const struct dis_ctx *ctx)
{
    if (st->emitted)
        return;
    st->emitted = true;
    st->rec.ts_end_usec = ctx->ts_usec;
    if (ctx->sink && ctx->sink->mail_session)
        ctx->sink->mail_session(ctx->sink->ud, &st->rec);
}


/* ------------------------------------------------------------------------------------------ */
/* Command queue */

/* Queues a command; tag: IMAP tag; word: the verb as seen (kept for V_MASKED). */
void mail_q_push(struct mail_state *st, uint8_t verb, bool flag, struct bytes tag, struct bytes word)
{
    if (st->q_len >= MAIL_PIPELINE_MAX) {
        st->rec.flags |= MAIL_F_QUEUE_FULL;
        return;
    }
    struct mail_cmd *c = &st->q[st->q_len++];
    c->verb = verb;
    c->flag = flag;
    mail_str_set(c->tag, sizeof c->tag, tag);
    mail_str_set(c->word, sizeof c->word, verb == V_MASKED ? word : mail_no_bytes());
}

void mail_q_remove(struct mail_state *st, unsigned i)
{
    if (i >= st->q_len)
        return;
    memmove(&st->q[i], &st->q[i + 1], (st->q_len - i - 1) * sizeof st->q[0]);
    st->q_len--;
}

/* A client command is about to be queued: note pipelining. */
void mail_note_command(struct mail_state *st)
{
    st->rec.plaintext_commands++;
    if (st->q_len > 0)
        st->rec.flags |= MAIL_F_PIPELINING;
}

/* ------------------------------------------------------------------------------------------ */
/* Capability lists */

void mail_list_begin(struct mail_state *st)
{
    memset(&st->cl, 0, sizeof st->cl);
    st->list_open = true;
}

/* One capability keyword (and the rest of its line/token as params) as seen. */
void mail_list_word(struct mail_state *st, struct bytes kw, struct bytes params, struct bytes line)
{
    struct caplist *cl = &st->cl;
    size_t mask_len = st->proto == MAIL_PROTO_POP3 ? 4 : 8;
    mail_str_add_word(cl->caps, sizeof cl->caps, kw, false);
    if (bytes_eq_nocase(kw, st->proto == MAIL_PROTO_POP3 ? "STLS" : "STARTTLS")) {
        cl->bits |= MAIL_CAP_STARTTLS;
        mail_kept_set(&cl->starttls_line, line);
    } else if (mail_is_masked(kw, mask_len)) {
        cl->bits |= MAIL_CAP_MASKED;
        if (cl->mask_line.len == 0)
            mail_kept_set(&cl->mask_line, line);
    } else if (bytes_eq_nocase(kw, "AUTH") || bytes_eq_nocase(kw, "SASL")) {
        cl->bits |= MAIL_CAP_AUTH;
        struct rd r = rd_from(params);
        struct bytes m;
        while ((m = rd_word(&r)).len)
            mail_str_add_word(cl->mechs, sizeof cl->mechs, m, true);
    } else if (bytes_prefix_nocase(kw, "AUTH=")) { /* IMAP AUTH=PLAIN */
        cl->bits |= MAIL_CAP_AUTH;
        mail_str_add_word(cl->mechs, sizeof cl->mechs, bytes_sub(kw, 5, kw.len), true);
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
void mail_list_end(struct mail_state *st, const struct dis_ctx *ctx, bool ok)
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
        mail_v_stripped(st, ctx, &cl->mask_line);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* SASL */

/* A user name is read into st->pend_user and reaches the record only through mail_user_commit(),
 * once the response or command around it has the shape its mechanism prescribes; otherwise it is
 * wiped (user_malformed): in a malformed blob the bytes where the user name belongs may be the
 * password (AUTH PLAIN "user NUL password" without the authzid, seen in the wild). */

void mail_pend_wipe(struct mail_state *st) { memset(st->pend_user, 0, sizeof st->pend_user); }

void mail_user_reset(struct mail_state *st)
{
    mail_pend_wipe(st);
    if (!st->rec.auth_ok)
        memset(st->rec.auth_user, 0, sizeof st->rec.auth_user);
}

void mail_user_putc(struct mail_state *st, int c) { mail_str_putc(st->pend_user, sizeof st->pend_user, c); }

void mail_user_pend_set(struct mail_state *st, struct bytes b)
{
    mail_pend_wipe(st);
    mail_str_set(st->pend_user, sizeof st->pend_user, b);
}

void mail_user_commit(struct mail_state *st)
{
    if (!st->rec.auth_ok)
        memcpy(st->rec.auth_user, st->pend_user, sizeof st->rec.auth_user);
    mail_pend_wipe(st);
}

void mail_user_set(struct mail_state *st, struct bytes b)
{
    mail_user_pend_set(st, b);
    mail_user_commit(st);
}

/* The response or command did not have its mechanism's shape: no user name, a note instead. */
void mail_user_malformed(struct mail_state *st, const char *note)
{
    mail_user_reset(st);
    if (!st->rec.auth_ok)
        st->auth_note = note;
}

void mail_attempt(struct mail_state *st, const char *mech, struct bytes mech_b)
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
    mail_user_reset(st);
}

/* Copies decoded bytes into the pending user name until one of `stops` (or the end); returns the
 * stop byte or -1. */
static int b64_copy_user(struct mail_state *st, struct b64dec *b, const char *stops, size_t nstops)
{
    int c;
    while ((c = b64dec_next(b)) >= 0) {
        if (memchr(stops, c, nstops))
            return c;
        mail_user_putc(st, c);
    }
    return -1;
}

/* Skips decoded bytes up to and including byte `stop`; false if it never came. */
static bool b64_skip_to(struct b64dec *b, int stop)
{
    int c;
    while ((c = b64dec_next(b)) >= 0)
        if (c == stop)
            return true;
    return false;
}

/* Reads a decoded prefix and compares it; false on mismatch or end. */
static bool b64_expect(struct b64dec *b, const char *s)
{
    for (; *s; s++)
        if (b64dec_next(b) != (unsigned char)*s)
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
void mail_sasl_response(struct mail_state *st, struct bytes line, const struct dis_ctx *ctx)
{
    if (!st->sasl.active)
        return;
    line = bytes_trim(line);
    if (bytes_eq(line, "*")) { /* RFC 4954 §4: the client cancels */
        st->sasl.active = false;
        return;
    }
    uint32_t idx = st->sasl.nresp++;
    struct b64dec b = b64dec_init(line, false);
    switch (st->sasl.mech) {
    case M_PLAIN: /* authzid NUL authcid NUL passwd (RFC 4616 §2, passwd 1*SAFE): exactly two NULs
                     and a password after them, else no user */
        if (idx == 0 && line.len) {
            mail_user_reset(st);
            unsigned nuls = 0;
            size_t pw = 0;
            if (b64_skip_to(&b, 0) && b64_copy_user(st, &b, "\0", 1) == 0) {
                nuls = 2;
                int c;
                while ((c = b64dec_next(&b)) >= 0) { /* the password: NULs counted, nothing copied */
                    pw++;
                    if (c == 0)
                        nuls++;
                }
            }
            if (nuls == 2 && pw > 0)
                mail_user_commit(st);
            else
                mail_user_malformed(st, "malformed PLAIN blob");
            mail_v_plaintext_auth(st, ctx, false);
        }
        break;
    case M_LOGIN: { /* response 0: user name; then the password (never copied). A response to a
                       "Password:" prompt is the password whatever its number. */
        uint8_t prompt = st->sasl.prompt;
        st->sasl.prompt = PROMPT_NONE;
        if (idx == 0 && prompt != PROMPT_PASS) {
            mail_user_reset(st);
            if (b64_copy_user(st, &b, "\0", 1) == 0) { /* a NUL: a PLAIN-shaped blob, no user name */
                mail_user_malformed(st, "malformed LOGIN user name");
                mail_v_plaintext_auth(st, ctx, false);
            } else {
                mail_user_commit(st);
            }
        } else if (line.len) {
            mail_v_plaintext_auth(st, ctx, false);
        }
        break;
    }
    case M_CRAM_MD5: /* "user SP digest", the digest 32 lowercase hex digits (RFC 2195 §2) */
        if (idx == 0 && line.len) {
            mail_user_reset(st);
            size_t hex = 0, other = 0;
            if (b64_copy_user(st, &b, " ", 1) == ' ') {
                int c;
                while ((c = b64dec_next(&b)) >= 0) {
                    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
                        hex++;
                    else
                        other++;
                }
            }
            if (hex == 32 && other == 0)
                mail_user_commit(st);
            else
                mail_user_malformed(st, "malformed CRAM-MD5 response");
            mail_v_plaintext_auth(st, ctx, true);
        }
        break;
    case M_DIGEST_MD5: /* first response: username="…",realm=…,nonce=… (digest, no password) */
        if (idx == 0 && line.len) {
            uint8_t peek[MAIL_DIGEST_PEEK_MAX];
            size_t n = b64_decode(line, false, peek, sizeof peek);
            struct bytes p = {peek, n};
            mail_user_reset(st);
            for (size_t i = 0; i + 10 <= n; i++) {
                struct bytes at = bytes_sub(p, i, 10);
                if (bytes_eq_nocase(at, "username=\"") && (i == 0 || bytes_at(p, i - 1) == ',')) {
                    struct rd r = rd_from(bytes_sub(p, i + 10, n));
                    while (!rd_eof(&r) && rd_peek(&r, 0) != '"')
                        mail_user_putc(st, rd_u8(&r));
                    if (rd_eof(&r))
                        mail_user_malformed(st, "malformed DIGEST-MD5 response"); /* quote never closed */
                    else
                        mail_user_commit(st);
                    break;
                }
            }
            memset(peek, 0, sizeof peek);
            mail_v_plaintext_auth(st, ctx, true);
        }
        break;
    case M_XOAUTH2: /* "user=" user ^A "auth=Bearer " token ^A ^A */
        if (idx == 0 && line.len) {
            mail_user_reset(st);
            if (b64_expect(&b, "user=") && b64_copy_user(st, &b, "\x01", 1) == 1 && b64_expect(&b, "auth="))
                mail_user_commit(st);
            else
                mail_user_malformed(st, "malformed XOAUTH2 blob"); /* the token may be where the user was */
            mail_v_plaintext_auth(st, ctx, false);
        }
        break;
    case M_OAUTHBEARER: /* gs2 header "n,a=user," then ^A key=value … */
        if (idx == 0 && line.len) {
            mail_user_reset(st);
            if (b64_skip_to(&b, ',') && b64_expect(&b, "a=")) {
                if (b64_copy_user(st, &b, ",\x01", 2) == ',') /* the GS2 header ends in ',' */
                    mail_user_commit(st);
                else
                    mail_user_malformed(st, "malformed OAUTHBEARER message");
            }
            mail_v_plaintext_auth(st, ctx, false);
        }
        break;
    case M_SCRAM: /* gs2 header "n,," then "n=user,r=nonce": the proof never reveals the password */
        if (idx == 0 && line.len) {
            mail_user_reset(st);
            if (b64_skip_to(&b, ',') && b64_skip_to(&b, ',') && b64_expect(&b, "n=")) {
                if (b64_copy_user(st, &b, ",", 1) == ',') /* ",r=nonce" follows */
                    mail_user_commit(st);
                else
                    mail_user_malformed(st, "malformed SCRAM message");
            }
        }
        break;
    default:
        break;
    }
}

/* Starts an AUTH/AUTHENTICATE exchange: mechanism, optional initial response. */
void mail_sasl_start(struct mail_state *st, struct bytes mech, struct bytes ir, const struct dis_ctx *ctx)
{
    mail_attempt(st, NULL, mech);
    st->sasl.mech = mech_of(mech);
    st->sasl.prompt = PROMPT_NONE;
    st->sasl.nresp = 0;
    st->sasl.active = true;
    st->auth_expect = false;
    if (ir.len) {
        struct bytes empty = {ir.p, 0};
        mail_sasl_response(st, bytes_eq(ir, "=") ? empty : ir, ctx); /* RFC 4954 §4: "=" is empty */
    }
}

/* A server challenge (the text of a 334 reply or a "+" continuation): for LOGIN, whether it asks
 * for the user name or the password (draft-murchison-sasl-login: "Username:", "Password:"). */
void mail_sasl_challenge(struct mail_state *st, struct bytes text)
{
    if (!st->sasl.active || st->sasl.mech != M_LOGIN)
        return;
    uint8_t buf[32];
    size_t n = b64_decode(bytes_trim(text), false, buf, sizeof buf);
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
void mail_upgrade_reply(struct mail_state *st, const struct dis_ctx *ctx, bool ok, uint16_t code, struct bytes line)
{
    mail_kept_set(&st->tls_reply, line);
    st->rec.starttls_reply_code = code;
    mail_str_set(st->rec.starttls_reply, sizeof st->rec.starttls_reply, line);
    mail_v_injection(st, ctx, false);
    if (ok) {
        st->rec.starttls_accepted = true;
        st->phase = PH_AWAIT;
        st->q_len = 0; /* anything pipelined behind it is answered inside TLS, if at all */
        st->auth_expect = false;
        if (st->rec.flags & MAIL_F_EARLY_TLS)
            st->switch_now = true;
    } else {
        st->phase = PH_NONE;
        mail_v_refused(st, ctx);
    }
}

/* A DNS name a certificate can be judged against: a dot inside, only letters, digits, '-',
 * '.' and '_' (not an address literal "[192.0.2.1]", not a masked "*****" banner). */
static bool host_name_like(const char *h)
{
    bool dot = false;
    size_t n = 0;
    for (; h[n]; n++) {
        char c = h[n];
        if (c == '.')
            dot = n > 0;
        else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return dot;
}

static void do_switch(struct mail_state *st, struct dis_ctx *ctx)
{
    mail_v_injection(st, ctx, true);
    st->phase = PH_SWITCHED;
    st->rec.tls_started = true;
    mail_emit_record(st, ctx);
    ctx->switch_to = "tls";
    ctx->started_by = st->proto == MAIL_PROTO_SMTP ? "smtp-starttls"
                    : st->proto == MAIL_PROTO_IMAP ? "imap-starttls" : "pop3-stls";
    /* Without SNI, the certificate is judged against the name the server gave (RFC 5321
     * §4.2: the 220 greeting starts with the server's domain). */
    if (host_name_like(st->rec.greeting_host)) {
        ctx->switch_host = st->rec.greeting_host;
        ctx->switch_host_source = "greeting";
    } else if (host_name_like(st->ehlo_host)) { /* a masked or literal greeting: the EHLO reply */
        ctx->switch_host = st->ehlo_host;
        ctx->switch_host_source = "ehlo";
    }
}

void mail_start_body(struct mail_state *st, int dir, bool data)
{
    struct mail_dir *d = &st->d[dir];
    d->mode = DM_DOT_BODY;
    d->mstate = 2; /* the CRLF that ended the command/status line counts as the marker's first */
    d->data_body = data;
    d->body_seen = 0;
}

void mail_start_count(struct mail_state *st, int dir, uint64_t n, bool body)
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
/* The driver */

static const struct mail_ops *ops_of(const struct mail_state *st)
{
    return st->proto == MAIL_PROTO_SMTP ? &mail_smtp_ops : st->proto == MAIL_PROTO_IMAP ? &mail_imap_ops
                                                                                       : &mail_pop3_ops;
}

static void line_for(struct mail_state *st, int dir, struct bytes line, struct dis_ctx *ctx)
{
    const struct mail_ops *ops = ops_of(st);
    if (dir)
        ops->server_line(st, line, ctx);
    else
        ops->client_line(st, line, ctx);
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
        mail_q_push(st, V_DATA_END, false, mail_no_bytes(), mail_no_bytes());
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
        if (m.len == 5 && bytes_eq(m, dot_marker)) {
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
            mail_user_putc(st, rd_u8(&u));
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
    if (ops_of(st)->long_line_end)
        ops_of(st)->long_line_end(st, dir);
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
        if (ops_of(st)->long_line)
            ops_of(st)->long_line(st, dir, line, ctx);
        else
            line_for(st, dir, line, ctx);
        return STEP_AGAIN;
    }
    line_for(st, dir, line, ctx);
    return STEP_AGAIN;
}

enum dis_status mail_on_data(void *vst, int dir, struct bytes in, size_t *consumed, struct dis_ctx *ctx)
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
            ctx->sink->label(ctx->sink->ud, mail_proto_upper(st));
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
                mail_kept_add(&st->inj_server, rd_rest(&r));
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
            mail_v_injection(st, ctx, true);
            mail_v_failed(st, ctx, &first);
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
            mail_kept_add(&st->inj_client, rd_rest(&r));
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

enum dis_status mail_on_gap(void *vst, int dir, uint64_t len, struct dis_ctx *ctx)
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

void mail_on_close(void *vst, struct dis_ctx *ctx)
{
    struct mail_state *st = vst;
    if (!st)
        return;
    if (st->phase == PH_REQUESTED) {
        mail_v_injection(st, ctx, false);
    } else if (st->phase == PH_AWAIT) {
        mail_v_injection(st, ctx, true);
        mail_v_failed(st, ctx, NULL);
    }
    mail_emit_record(st, ctx);
}

void *mail_state_new(enum mail_proto proto)
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

void mail_state_free(void *st) { free(st); }

/* The state owns no buffers: lines stay in the pipeline's buffer, evidence is fixed-size. */
size_t mail_mem(const void *st)
{
    (void)st;
    return nz_heap_size(sizeof(struct mail_state));
}
