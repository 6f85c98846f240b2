/* pop3.c — the POP3 dissector ("pop3", pop3_dissector in mail.h): commands and "+OK"/"-ERR"
 * replies, CAPA, USER/PASS, APOP, AUTH, multi-line answers and STLS, as facts in the session;
 * the shared driver, SASL and the verdicts are in mail_common.c and mail_rules.c.
 *
 * Follows RFC 1939 (§3 "+OK"/"-ERR", multi-line responses ending in "." with byte-stuffing;
 * USER/PASS, APOP, RETR, TOP, LIST, UIDL), RFC 2449 CAPA, RFC 2595 §4 STLS, RFC 5034 AUTH. */
#include "dissect/mail_common.h"

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
        mail_sasl_response(st, line, ctx);
        return;
    }
    struct rd r = rd_from(line);
    struct bytes verb = rd_word(&r);
    struct bytes arg = rd_word(&r);
    if (line.len)
        mail_note_command(st); /* an empty line is not a command, but the server answers it */
    bool flag;
    uint8_t v = pop3_verb(verb, arg.len > 0, &flag);
    switch (v) {
    case V_STARTTLS:
        st->rec.starttls_requested = true;
        st->phase = PH_REQUESTED;
        break;
    case V_USER:
        mail_v_not_used(st, ctx, "USER");
        mail_attempt(st, "USER", mail_no_bytes());
        mail_user_set(st, arg);
        break;
    case V_PASS:
        mail_v_not_used(st, ctx, "PASS");
        if (strcmp(st->rec.auth_mech, "USER") != 0 && !st->rec.auth_ok)
            mail_attempt(st, "USER", mail_no_bytes());
        mail_v_plaintext_auth(st, ctx, false);
        break;
    case V_APOP: { /* RFC 1939 §7: name SP MD5 digest of timestamp+secret (32 hex digits) */
        mail_v_not_used(st, ctx, "APOP");
        mail_attempt(st, "APOP", mail_no_bytes());
        struct bytes digest = rd_word(&r);
        size_t hex = 0;
        for (size_t i = 0; i < digest.len; i++) {
            int c = bytes_at(digest, i);
            hex += (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        }
        if (digest.len == 32 && hex == 32)
            mail_user_set(st, arg);
        else
            mail_user_malformed(st, "malformed APOP command");
        mail_v_plaintext_auth(st, ctx, true);
        break;
    }
    case V_AUTH:
        if (!flag) {
            mail_v_not_used(st, ctx, "AUTH");
            mail_sasl_start(st, arg, rd_word(&r), ctx);
        }
        break;
    default:
        break;
    }
    mail_q_push(st, v, flag, mail_no_bytes(), verb);
}

static void pop3_server_line(struct mail_state *st, struct bytes line, struct dis_ctx *ctx)
{
    if (st->capa_open) {
        if (bytes_eq(line, ".")) {
            st->capa_open = false;
            mail_list_end(st, ctx, true);
            return;
        }
        if (bytes_at(line, 0) == '.') /* RFC 1939 §3 byte-stuffing */
            line = bytes_sub(line, 1, line.len);
        struct rd r = rd_from(line);
        struct bytes kw = rd_word(&r);
        mail_list_word(st, kw, rd_rest_trim(&r), line);
        return;
    }
    bool ok = bytes_prefix_nocase(line, "+OK");
    bool err = bytes_prefix_nocase(line, "-ERR");
    if (!ok && !err) {
        int c1 = bytes_at(line, 1);
        if (bytes_at(line, 0) == '+' && (c1 < 0 || c1 == ' ')) { /* RFC 5034 §4 continuation */
            if (st->sasl.active) {
                st->auth_expect = true;
                mail_sasl_challenge(st, bytes_sub(line, 1, line.len));
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
            mail_str_set(st->rec.greeting, sizeof st->rec.greeting, line);
            return;
        }
        st->rec.flags |= MAIL_F_NO_GREETING;
    }
    if (st->q_len == 0) {
        st->rec.flags |= MAIL_F_UNPAIRED;
        return;
    }
    struct mail_cmd c = st->q[0];
    mail_q_remove(st, 0);
    mail_kept_set(&st->reply_line, line);
    switch (c.verb) {
    case V_CAPA:
        if (ok) {
            mail_list_begin(st);
            st->capa_open = true;
        } else {
            mail_list_end(st, ctx, false); /* RFC 2449 §5: no CAPA, so no STLS announced */
        }
        break;
    case V_STARTTLS:
        mail_upgrade_reply(st, ctx, ok, 0, line);
        break;
    case V_PASS:
    case V_APOP:
    case V_AUTH:
        if (c.verb == V_AUTH) {
            st->sasl.active = false;
            st->auth_expect = false;
            if (c.flag) {
                if (ok)
                    mail_start_body(st, 1, false);
                break;
            }
        }
        if (ok) {
            st->rec.auth_ok = true;
            st->rec.mail_in_clear = true;
            mail_v_not_offered(st, ctx, "accepted a login");
        }
        break;
    case V_RETR:
    case V_MULTI:
        if (ok) {
            if (c.verb == V_RETR)
                st->rec.messages++;
            mail_start_body(st, 1, false);
        }
        break;
    case V_MASKED:
        if (err)
            mail_v_blocked(st, ctx, &c);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Probe, dissector */

static enum dis_probe pop3_probe(struct bytes first, int dir)
{
    if (dir == 1) {
        int a = bytes_starts_nocase(first, "+OK");
        if (a <= 0)
            return a == 0 ? DIS_PROBE_MAYBE : DIS_PROBE_NO;
        int c = bytes_at(first, 3);
        if (c < 0)
            return DIS_PROBE_MAYBE;
        return (c == ' ' || c == '\r' || c == '\n') ? DIS_PROBE_YES : DIS_PROBE_NO;
    }
    int a = bytes_starts_nocase(first, "CAPA\r\n"), b = bytes_starts_nocase(first, "STLS\r\n");
    if (a > 0 || b > 0)
        return DIS_PROBE_YES;
    return (a == 0 || b == 0) ? DIS_PROBE_MAYBE : DIS_PROBE_NO;
}

const struct mail_ops mail_pop3_ops = {
    .client_line = pop3_client_line,
    .server_line = pop3_server_line,
};

static void *pop3_state_new(const struct dis_cfg *cfg)
{
    (void)cfg;
    return mail_state_new(MAIL_PROTO_POP3);
}

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
