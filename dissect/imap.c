/* imap.c — the IMAP dissector ("imap", imap_dissector in mail.h): tagged commands and
 * responses, literals, CAPABILITY, LOGIN, AUTHENTICATE and STARTTLS, as facts in the session;
 * the shared driver, SASL and the verdicts are in mail_common.c and mail_rules.c.
 *
 * Follows RFC 9051/3501 §2.2 (tagged commands, untagged "*" and "+" continuation responses), §4.3
 * literals "{n}" and RFC 7888 "{n+}" (skipped by length in both directions), §6.2.1 STARTTLS,
 * §6.2.2 AUTHENTICATE (+ RFC 4959 SASL-IR), §6.2.3 LOGIN (user from an atom, quoted string or
 * literal), §7.1 response codes ([CAPABILITY …]).
 *
 * Ignored on purpose: responses other than greeting/CAPABILITY/tagged status (mailbox data is
 * skipped, literals by length), COMPRESS and IDLE (its "DONE" is a line like any other). */
#include "dissect/mail_common.h"

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
    while (b > 0 && ascii_is_digit(bytes_at(line, b - 1)))
        b--;
    if (b == e || b == 0 || bytes_at(line, b - 1) != '{')
        return false;
    return bytes_to_u64(bytes_sub(line, b, e - b), n);
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
            mail_v_plaintext_auth(st, ctx, false);
        else
            mail_pend_wipe(st); /* one argument: it may be the password alone; no user */
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
        while (!rd_eof(&r) && mail_is_sp(rd_peek(&r, 0)))
            rd_skip(&r, 1);
        if (rd_eof(&r))
            return false;
        int c = rd_peek(&r, 0);
        bool user = st->login_argi == 0;
        if (st->login_argi == 1)
            mail_user_commit(st); /* a second argument follows the user name */
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
                    mail_user_putc(st, ch);
            }
            if (user && !closed)
                mail_user_malformed(st, "malformed LOGIN arguments");
            st->login_argi++;
            continue;
        }
        uint64_t n;
        bool sync;
        if ((c == '{' || (c == '~' && rd_peek(&r, 1) == '{')) && trailing_literal(rd_rest(&r), &n, &sync)) {
            mail_start_count(st, 0, n, false);
            st->d[0].to_user = user;
            st->d[0].lit_sync = sync && n > 0;
            st->d[0].cont = true;
            st->login_argi++;
            return true;
        }
        struct bytes w = rd_word(&r);
        if (user)
            mail_user_pend_set(st, w);
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
        mail_start_count(st, 0, n, true);
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
        mail_sasl_response(st, line, ctx);
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
    struct bytes tag = rd_word(&r);
    struct bytes verb = rd_word(&r);
    if (tag.len == 0)
        return;
    mail_note_command(st);
    if (verb.len == 0) /* e.g. IDLE's "DONE": not a tagged command */
        return;
    uint8_t v = imap_verb(verb);
    struct bytes args = rd_rest_trim(&r);
    mail_q_push(st, v, false, tag, verb);
    st->cmd_open = true;
    st->cur.verb = v;
    mail_str_set(st->cur.tag, sizeof st->cur.tag, tag);
    st->login_active = false;
    switch (v) {
    case V_STARTTLS:
        st->rec.starttls_requested = true;
        st->phase = PH_REQUESTED;
        break;
    case V_LOGIN:
        mail_v_not_used(st, ctx, "LOGIN");
        mail_attempt(st, "LOGIN", mail_no_bytes());
        st->login_active = true;
        st->login_argi = 0;
        break;
    case V_AUTH: {
        mail_v_not_used(st, ctx, "AUTHENTICATE");
        struct rd a = rd_from(args);
        struct bytes mech = rd_word(&a);
        struct bytes ir = rd_word(&a); /* RFC 4959 SASL-IR */
        mail_str_set(st->auth_tag, sizeof st->auth_tag, tag);
        mail_sasl_start(st, mech, ir, ctx);
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
    mail_list_begin(st);
    struct rd r = rd_from(list);
    struct bytes w;
    struct bytes none = {list.p, 0};
    while ((w = rd_word(&r)).len) {
        if (bytes_eq_nocase(w, "IMAP4rev1") || bytes_eq_nocase(w, "IMAP4rev2")) {
            mail_str_add_word(st->cl.caps, sizeof st->cl.caps, w, false);
            continue;
        }
        mail_list_word(st, w, none, line);
    }
    mail_list_end(st, ctx, true);
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
    mail_str_set(t, sizeof t, tag);
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
    mail_q_remove(st, i);
    mail_kept_set(&st->reply_line, line);
    switch (c.verb) {
    case V_STARTTLS:
        mail_upgrade_reply(st, ctx, ok, 0, line);
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
            mail_v_not_offered(st, ctx, "accepted a login");
        }
        break;
    case V_APPEND:
        if (ok)
            st->rec.messages++;
        break;
    case V_MASKED:
        if (!ok)
            mail_v_blocked(st, ctx, &c);
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
            mail_start_count(st, 1, n, true);
            st->d[1].cont = true;
        }
        return;
    }
    if (lit) {
        mail_start_count(st, 1, n, true);
        st->d[1].cont = true;
    }
    int c0 = bytes_at(line, 0);
    if (c0 == '+') { /* continuation request */
        if (st->sasl.active && st->auth_tag[0]) {
            st->auth_expect = true;
            mail_sasl_challenge(st, bytes_sub(line, 1, line.len));
        }
        return;
    }
    struct rd r = rd_from(line);
    struct bytes tag = rd_word(&r);
    struct bytes word = rd_word(&r);
    struct bytes text = rd_rest_trim(&r);
    if (bytes_eq(tag, "*")) {
        bool status = bytes_eq_nocase(word, "OK") || bytes_eq_nocase(word, "PREAUTH") || bytes_eq_nocase(word, "BYE");
        if (!st->any_reply) {
            st->any_reply = true;
            if (status) {
                st->greeted = true;
                mail_str_set(st->rec.greeting, sizeof st->rec.greeting, line);
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
/* Over-long lines */

/* The start of an over-long line: the tag pairs the line; its arguments are not looked at;
 * whether it ends in a literal is decided at its end (imap_long_line_end). */
static void imap_long_line(struct mail_state *st, int dir, struct bytes line, struct dis_ctx *ctx)
{
    struct mail_dir *d = &st->d[dir];
    if (dir == 0 && st->auth_expect) {
        st->auth_expect = false; /* an over-long SASL response: nothing kept from it */
        return;
    }
    bool cont = d->cont;
    d->cont = false;
    struct rd t = rd_from(line);
    struct bytes tag = rd_word(&t);
    struct bytes word = rd_word(&t);
    if (dir == 0 && !cont && tag.len) {
        uint8_t v = imap_verb(word);
        mail_note_command(st);
        mail_q_push(st, v == V_STARTTLS ? V_OTHER : v, false, tag, word);
        st->cmd_open = true;
        st->cur.verb = v;
        mail_str_set(st->cur.tag, sizeof st->cur.tag, tag);
        st->login_active = false;
    } else if (dir == 1 && !cont && tag.len && !bytes_eq(tag, "*") && bytes_at(tag, 0) != '+') {
        imap_tagged(st, tag, word, rd_rest_trim(&t), line, ctx);
    }
}

/* The end of an over-long line was reached: it may have announced a literal. */
static void imap_long_line_end(struct mail_state *st, int dir)
{
    struct mail_dir *d = &st->d[dir];
    struct bytes t = {d->tail, d->tail_len};
    if (bytes_at(t, t.len ? t.len - 1 : 0) == '\r')
        t.len--;
    uint64_t n;
    bool sync;
    if (trailing_literal(t, &n, &sync)) {
        mail_start_count(st, dir, n, true);
        d->cont = true;
    } else if (dir == 0 && st->cmd_open) {
        st->cmd_open = false;
        st->login_active = false;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Probe, dissector */

static enum dis_probe imap_probe(struct bytes first, int dir)
{
    if (dir == 1) {
        int a = bytes_starts_nocase(first, "* OK"), b = bytes_starts_nocase(first, "* PREAUTH"),
            c = bytes_starts_nocase(first, "* BYE");
        if (a > 0 || b > 0 || c > 0)
            return DIS_PROBE_YES;
        return (a == 0 || b == 0 || c == 0) ? DIS_PROBE_MAYBE : DIS_PROBE_NO;
    }
    /* "tag SP CAPABILITY|STARTTLS|LOGIN|AUTHENTICATE" */
    long lf = bytes_find(first, '\n', 0);
    struct bytes line = lf < 0 ? first : bytes_sub(first, 0, (size_t)lf);
    struct rd r = rd_from(line);
    struct bytes tag = rd_word(&r);
    for (size_t i = 0; i < tag.len; i++) {
        int c = bytes_at(tag, i);
        if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '"' || c == '%' || c == '*' ||
            c == '+')
            return DIS_PROBE_NO;
    }
    if (tag.len == 0 || tag.len > MAIL_TAG_MAX)
        return tag.len == 0 && first.len == 0 ? DIS_PROBE_MAYBE : DIS_PROBE_NO;
    struct bytes verb = rd_word(&r);
    verb = bytes_trim(verb);
    if (verb.len && bytes_at(verb, verb.len - 1) == '\r')
        verb.len--;
    static const char *const verbs[] = {"CAPABILITY", "STARTTLS", "LOGIN", "AUTHENTICATE"};
    for (size_t i = 0; i < 4; i++) {
        if (lf >= 0 && bytes_eq_nocase(verb, verbs[i]))
            return DIS_PROBE_YES;
        if (lf < 0 && bytes_starts_nocase(verb, verbs[i]) >= 0 && line.len < 64)
            return DIS_PROBE_MAYBE;
    }
    return DIS_PROBE_NO;
}

const struct mail_ops mail_imap_ops = {
    .client_line = imap_client_line,
    .server_line = imap_server_line,
    .long_line = imap_long_line,
    .long_line_end = imap_long_line_end,
};

static void *imap_state_new(const struct dis_cfg *cfg)
{
    (void)cfg;
    return mail_state_new(MAIL_PROTO_IMAP);
}

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
