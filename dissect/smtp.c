/* smtp.c — the SMTP dissector ("smtp", smtp_dissector in mail.h): command and reply parsing,
 * pairing, the EHLO capability list, AUTH, DATA/BDAT bodies and STARTTLS, as facts in the
 * session; the shared driver, SASL and the verdicts are in mail_common.c and mail_rules.c.
 *
 * Follows RFC 5321 §4.1.1 (commands; verbs case-insensitive), §4.2 (reply lines: code, '-' for
 * a continued multi-line reply, ' ' or nothing on the last), §3.1/§4.3.1 (greeting 220, or 554
 * rejection), §4.5.2 (DATA ends with CRLF "." CRLF; dot-stuffing), §4.5.3.1.4 (line lengths, see
 * SMTP_LINE_MAX); RFC 1869/5321 §4.1.1.1 EHLO keywords; RFC 2920 pipelining (replies come in
 * command order; §3.1 STARTTLS/DATA end a group); RFC 3030 BDAT (chunk of exactly n octets
 * follows the command line); RFC 3207 STARTTLS (§4 "220 Ready to start TLS", "454 TLS not
 * available due to temporary reason", §4.2 "the client MUST NOT ... send additional commands");
 * RFC 4954 AUTH (§4 initial response, "=" for an empty one, "*" cancels, 334 continuation, 235
 * success).
 *
 * Ignored on purpose: LMTP, extensions' parameters (SIZE values, DSN, 8BITMIME bodies are
 * skipped like any other), "bare LF" end-of-data variants (only CRLF "." CRLF ends DATA), DATA
 * bodies sent before the 354 (read as body anyway: the dissector enters the body right after
 * DATA and returns to commands if the reply is not 354 before any body byte). */
#include "dissect/mail_common.h"

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
        mail_sasl_response(st, line, ctx);
        return;
    }
    struct rd r = rd_from(line);
    struct bytes verb = rd_word(&r);
    uint8_t v = smtp_verb(verb);
    if (line.len)
        mail_note_command(st);
    bool flag = false;
    switch (v) {
    case V_EHLO:
    case V_HELO: {
        struct bytes name = rd_word(&r);
        mail_str_set(st->rec.helo, sizeof st->rec.helo, name);
        st->rec.ehlo = v == V_EHLO;
        break;
    }
    case V_STARTTLS:
        st->rec.starttls_requested = true;
        st->phase = PH_REQUESTED;
        break;
    case V_AUTH: {
        mail_v_not_used(st, ctx, "AUTH");
        struct bytes mech = rd_word(&r);
        struct bytes ir = rd_word(&r);
        mail_sasl_start(st, mech, ir, ctx);
        break;
    }
    case V_MAIL:
        mail_v_not_used(st, ctx, "MAIL");
        break;
    case V_RCPT:
        mail_v_not_used(st, ctx, "RCPT");
        break;
    case V_DATA:
        mail_v_not_used(st, ctx, "DATA");
        mail_start_body(st, 0, true);
        break;
    case V_BDAT: {
        mail_v_not_used(st, ctx, "BDAT");
        uint64_t n;
        if (bytes_to_u64(rd_word(&r), &n)) {
            flag = bytes_eq_nocase(rd_word(&r), "LAST");
            st->rec.message_bytes += n;
            mail_start_count(st, 0, n, false);
        } else {
            v = V_OTHER;
        }
        break;
    }
    default:
        break;
    }
    mail_q_push(st, v, flag, mail_no_bytes(), verb);
}

/* The reply is complete. */
static void smtp_reply_done(struct mail_state *st, struct dis_ctx *ctx)
{
    uint16_t code = st->reply_code;
    uint8_t target = st->reply_target;
    bool pos = code >= 200 && code < 300;
    struct bytes line = mail_kept_bytes(&st->reply_line);
    if (st->reply_paired && !(target == V_AUTH && code == 334) && st->q_len)
        mail_q_remove(st, 0);
    switch (target) {
    case V_GREETING:
        st->greeted = true;
        st->rec.greeting_code = code;
        break;
    case V_EHLO:
        if (pos)
            mail_list_end(st, ctx, true);
        else if (code == 500 || code == 502) /* no ESMTP: no extension can be offered */
            mail_list_end(st, ctx, false);
        st->list_open = false;
        break;
    case V_STARTTLS:
        mail_upgrade_reply(st, ctx, code == 220, code, line); /* RFC 3207 §4 "220 Ready to start TLS" */
        break;
    case V_AUTH:
        if (code == 334) { /* RFC 4954 §4: server challenge, a client response follows */
            st->auth_expect = st->sasl.active;
            mail_sasl_challenge(st, bytes_sub(line, 4, line.len));
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
            mail_v_not_offered(st, ctx, "accepted MAIL FROM");
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
            mail_v_blocked(st, ctx, &st->cur);
        }
        break;
    default:
        break;
    }
}

static void smtp_server_line(struct mail_state *st, struct bytes line, struct dis_ctx *ctx)
{
    int c0 = bytes_at(line, 0), c1 = bytes_at(line, 1), c2 = bytes_at(line, 2), sep = bytes_at(line, 3);
    if (!ascii_is_digit(c0) || !ascii_is_digit(c1) || !ascii_is_digit(c2) || (sep >= 0 && sep != ' ' && sep != '-')) {
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
        mail_kept_set(&st->reply_line, line);
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
            mail_str_set(st->rec.greeting, sizeof st->rec.greeting, line);
            struct rd r = rd_from(text);
            struct bytes host = rd_word(&r);
            mail_str_set(st->rec.greeting_host, sizeof st->rec.greeting_host, host);
            /* PIX/ASA masks the banner with '*' (doc/REFERENCE.md §4 S2). */
            size_t stars = 0, other = 0;
            struct rd t = rd_from(text);
            while (!rd_eof(&t)) {
                int c = rd_u8(&t);
                if (c == '*')
                    stars++;
                else if (!mail_is_sp(c))
                    other++;
            }
            if (stars >= 4 && other * 10 <= stars)
                st->rec.flags |= MAIL_F_BANNER_MASKED;
        }
        if (st->reply_target == V_EHLO && code >= 200 && code < 300) {
            mail_list_begin(st);
            struct rd r = rd_from(text);
            mail_str_set(st->ehlo_host, sizeof st->ehlo_host, rd_word(&r));
        }
    } else if (st->reply_target == V_EHLO && st->list_open) {
        struct rd r = rd_from(text);
        struct bytes kw = rd_word(&r);
        long eqp = bytes_find(kw, '=', 0); /* "AUTH=LOGIN PLAIN" (pre-RFC 2554 servers) */
        struct bytes params = rd_rest_trim(&r);
        if (eqp > 0) {
            params = bytes_sub(text, (size_t)eqp + 1, text.len);
            kw = bytes_sub(kw, 0, (size_t)eqp);
        }
        mail_list_word(st, kw, params, line);
    }
    if (last) {
        st->reply_open = false;
        smtp_reply_done(st, ctx);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Probe, dissector */

static enum dis_probe smtp_probe(struct bytes first, int dir)
{
    if (dir == 0) {
        int a = bytes_starts_nocase(first, "EHLO "), b = bytes_starts_nocase(first, "HELO ");
        if (a > 0 || b > 0)
            return DIS_PROBE_YES;
        return (a == 0 || b == 0) ? DIS_PROBE_MAYBE : DIS_PROBE_NO;
    }
    int a = bytes_starts_nocase(first, "220");
    if (a <= 0)
        return a == 0 ? DIS_PROBE_MAYBE : DIS_PROBE_NO;
    int sep = bytes_at(first, 3);
    if (sep < 0)
        return DIS_PROBE_MAYBE;
    if (sep != ' ' && sep != '-' && sep != '\r' && sep != '\n')
        return DIS_PROBE_NO;
    long lf = bytes_find(first, '\n', 0);
    struct bytes line = lf < 0 ? first : bytes_sub(first, 0, (size_t)lf);
    if (bytes_contains_nocase(line, "SMTP"))
        return DIS_PROBE_YES;
    if (bytes_contains_nocase(line, "FTP"))
        return DIS_PROBE_NO;
    size_t stars = 0;
    for (size_t i = 4; i < line.len; i++)
        stars += bytes_at(line, i) == '*';
    if (stars >= 8)
        return DIS_PROBE_YES; /* masked banner */
    /* A bare "220 host" greeting: SMTP only once the client says EHLO/HELO. */
    return DIS_PROBE_MAYBE;
}

const struct mail_ops mail_smtp_ops = {
    .client_line = smtp_client_line,
    .server_line = smtp_server_line,
};

static void *smtp_state_new(const struct dis_cfg *cfg)
{
    (void)cfg;
    return mail_state_new(MAIL_PROTO_SMTP);
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
