/* http_rules.c — the HTTP policy (see http_rules.h): password-like names, the user of a Basic
 * credential, password-like query or form fields, and the http.* verdicts (kinds_http.def) with
 * their severity, summary and evidence. Secrets are never copied: a Basic blob is decoded byte by
 * byte and decoding stops at the first ':'; only names of fields and cookies are kept. */
#include "dissect/http_rules.h"

#include <string.h>

#include "core/json.h"
#include "core/reader.h"

/* ---- password-like names ---- */

static bool suffix_is(const char *w, size_t n, const char *s)
{
    size_t m = strlen(s);
    return n >= m && memcmp(w + n - m, s, m) == 0;
}

static bool word_is_password(const char *w, size_t n)
{
    static const char *const suffixes[] = {"password", "passwd", "passwort", "passphrase",
                                           "passcode", "pwd", "pswd", "kennwort", "motdepasse"};
    while (n > 0 && ascii_is_digit((unsigned char)w[n - 1]))
        n--;
    if ((n == 4 && memcmp(w, "pass", 4) == 0) || (n == 2 && memcmp(w, "pw", 2) == 0))
        return true;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (suffix_is(w, n, suffixes[i]))
            return true;
    return false;
}

/* See http.h. */
bool http_name_is_password(struct bytes name)
{
    char dec[256], word[256];
    size_t n = http_name_decode(name, dec, sizeof dec, true), wl = 0;
    struct rd r = rd_init((const uint8_t *)dec, n);
    for (;;) {
        int c = rd_eof(&r) ? -1 : rd_u8(&r);
        if ((c >= 'a' && c <= 'z') || ascii_is_digit(c)) {
            if (wl < sizeof word)
                word[wl++] = (char)c;
            continue;
        }
        if (wl && word_is_password(word, wl))
            return true;
        wl = 0;
        if (c < 0)
            return false;
    }
}

/* ---- credentials ---- */

/* See http_rules.h. Basic tokens are RFC 4648 §4 base64; '-' '_' of §5 are accepted too. */
bool http_basic_user(struct bytes tok, char *user, size_t cap)
{
    struct b64dec b = b64dec_init(tok, true);
    size_t n = 0;
    bool found = false;
    int o;
    while ((o = b64dec_next(&b)) >= 0) {
        if (o == ':') {
            found = true;
            break;
        }
        if (n + 1 < cap)
            user[n++] = (o > 0x20 && o < 0x7f) ? (char)o : '?';
    }
    b.acc = 0;
    if (!found) { /* what was decoded may be the secret itself: leave nothing of it */
        memset(user, 0, cap);
        n = 0;
    }
    user[n] = '\0';
    return found;
}

/* See http_rules.h. First name=value pair of a '&'-separated list whose name is password-like (a '=' must
 * follow the name; the value is not looked at). */
bool http_pairs_find_password(struct bytes list, char *name, size_t cap)
{
    struct rd r = rd_from(list);
    while (!rd_eof(&r)) {
        struct bytes rest = rd_rest(&r);
        long amp = bytes_find(rest, '&', 0);
        struct bytes pair = rd_slice(&r, amp < 0 ? rest.len : (size_t)amp);
        if (amp >= 0)
            rd_skip(&r, 1);
        long eq = bytes_find(pair, '=', 0);
        if (eq < 0)
            continue;
        struct bytes n = bytes_sub(pair, 0, (size_t)eq);
        if (http_name_is_password(n)) {
            http_name_copy(name, cap, n);
            return true;
        }
    }
    return false;
}

/* ---- verdict plumbing ---- */

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    h ^= 0xff; /* separator */
    return h * 0x100000001b3ull;
}

/* True the first time (kind, a, b, c) is seen on this flow and there is room to remember it. */
static bool verdict_new(struct http_memo *m, enum finding_kind k, const char *a, const char *b,
                        const char *c)
{
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)k;
    h = fnv1a(fnv1a(fnv1a(h, a), b), c);
    for (unsigned i = 0; i < m->n; i++)
        if (m->keys[i] == h)
            return false;
    if (m->n >= HTTP_VERDICTS_MAX)
        return false;
    m->keys[m->n++] = h;
    return true;
}

static void emit_finding(struct dis_ctx *ctx, const struct finding *f)
{
    if (ctx->sink && ctx->sink->finding)
        ctx->sink->finding(ctx->sink->ud, f);
}

static const char *or_null(const char *s) { return s[0] ? s : NULL; }

/* Host for summaries: the request's host, else the server address. */
static const char *where_host(const struct http_request_rec *rec, const struct dis_ctx *ctx)
{
    if (rec->host[0])
        return rec->host;
    return ctx->srv_ip ? ctx->srv_ip : "?";
}

static void ev_target(struct json *j, const struct http_request_rec *rec)
{
    json_str(j, "host", or_null(rec->host));
    if (rec->port)
        json_uint(j, "port", rec->port);
    json_str(j, "method", or_null(rec->method));
    json_str(j, "path", rec->method[0] ? rec->path : NULL);
}

void http_verdict_plaintext(struct http_memo *m, const struct http_request_rec *rec,
                              struct dis_ctx *ctx)
{
    struct finding f;
    struct json j;
    if (m->plaintext_done)
        return;
    m->plaintext_done = true;
    finding_init(&f, FK_HTTP_PLAINTEXT, ctx->ts_usec);
    json_init(&j, f.evidence, sizeof f.evidence);
    ev_target(&j, rec);
    if (rec->user_agent[0])
        json_str(&j, "user_agent", rec->user_agent);
    if (!rec->method[0])
        json_uint(&j, "status", rec->status);
    json_finish(&j);
    if (rec->method[0])
        finding_summary(&f, "plaintext HTTP: %s %s%s", rec->method, where_host(rec, ctx), rec->path);
    else
        finding_summary(&f, "plaintext HTTP responses from %s (requests not seen)",
                        where_host(rec, ctx));
    emit_finding(ctx, &f);
}

void http_verdict_auth(struct http_memo *m, const struct http_request_rec *rec,
                         const struct http_auth_seen *a, struct dis_ctx *ctx)
{
    enum finding_kind k = a->basic ? FK_HTTP_BASIC_AUTH : FK_HTTP_AUTH_IN_CLEAR;
    struct finding f;
    struct json j;
    if (!verdict_new(m, k, a->scheme, a->user_known ? "user" : "unknown", a->user))
        return;
    finding_init(&f, k, ctx->ts_usec);
    json_init(&j, f.evidence, sizeof f.evidence);
    ev_target(&j, rec);
    json_str(&j, "header", a->proxy ? "Proxy-Authorization" : "Authorization");
    json_str(&j, "scheme", a->scheme);
    json_str(&j, "user", a->user_known ? a->user : NULL);
    json_finish(&j);
    finding_summary(&f, "%s credentials in clear%s%s%s to %s%s", a->scheme,
                    a->user_known ? " for user '" : "", a->user_known ? a->user : "",
                    a->user_known ? "'" : "", where_host(rec, ctx), rec->path);
    emit_finding(ctx, &f);
}

/* where: "request-target" or "location"; user or param (one of them) set. */
void http_verdict_url_creds(struct http_memo *m, const struct http_request_rec *rec,
                              const char *where, const char *user, const char *param,
                              struct dis_ctx *ctx)
{
    struct finding f;
    struct json j;
    if (!verdict_new(m, FK_HTTP_URL_CREDENTIALS, where, user ? "user" : "param",
                     user ? user : param))
        return;
    finding_init(&f, FK_HTTP_URL_CREDENTIALS, ctx->ts_usec);
    json_init(&j, f.evidence, sizeof f.evidence);
    ev_target(&j, rec);
    json_str(&j, "where", where);
    if (user)
        json_str(&j, "user", user);
    if (param)
        json_str(&j, "param", param);
    json_finish(&j);
    if (user)
        finding_summary(&f, "user:password@ in %s for user '%s' (%s%s)", where, user,
                        where_host(rec, ctx), rec->path);
    else
        finding_summary(&f, "password-like query parameter '%s' in %s (%s%s)", param, where,
                        where_host(rec, ctx), rec->path);
    emit_finding(ctx, &f);
}

void http_verdict_form(struct http_memo *m, const struct http_request_rec *rec,
                         struct dis_ctx *ctx)
{
    struct finding f;
    struct json j;
    if (!verdict_new(m, FK_HTTP_FORM_CREDENTIALS, rec->form_field, rec->path, ""))
        return;
    finding_init(&f, FK_HTTP_FORM_CREDENTIALS, ctx->ts_usec);
    json_init(&j, f.evidence, sizeof f.evidence);
    ev_target(&j, rec);
    json_str(&j, "content_type", rec->req_content_type);
    json_str(&j, "field", rec->form_field);
    json_finish(&j);
    finding_summary(&f, "password field '%s' posted in clear to %s%s", rec->form_field,
                    where_host(rec, ctx), rec->path);
    emit_finding(ctx, &f);
}

void http_verdict_cookies(struct http_memo *m, const struct http_request_rec *rec,
                            const struct http_cookie_seen *ck, size_t n, size_t total,
                            struct dis_ctx *ctx)
{
    struct finding f;
    struct json j;
    size_t fresh = 0;
    char first[HTTP_NAME_MAX] = "";
    finding_init(&f, FK_HTTP_COOKIE_IN_CLEAR, ctx->ts_usec);
    json_init(&j, f.evidence, sizeof f.evidence);
    ev_target(&j, rec);
    json_uint(&j, "status", rec->status);
    json_arr_begin(&j, "cookies");
    for (size_t i = 0; i < n; i++) {
        if (!verdict_new(m, FK_HTTP_COOKIE_IN_CLEAR, ck[i].name, "", ""))
            continue;
        if (!fresh++)
            memcpy(first, ck[i].name, sizeof first);
        json_obj_begin(&j, NULL);
        json_str(&j, "name", ck[i].name);
        json_bool(&j, "secure", ck[i].secure);
        json_bool(&j, "httponly", ck[i].httponly);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    if (total > n)
        json_uint(&j, "more", total - n);
    json_finish(&j);
    if (!fresh)
        return;
    if (fresh == 1)
        finding_summary(&f, "cookie '%s' set over plaintext HTTP by %s", first,
                        where_host(rec, ctx));
    else
        finding_summary(&f, "%zu cookies ('%s', ...) set over plaintext HTTP by %s", fresh, first,
                        where_host(rec, ctx));
    emit_finding(ctx, &f);
}

void http_verdict_redirect(struct http_memo *m, const struct http_request_rec *rec,
                             struct dis_ctx *ctx)
{
    struct finding f;
    struct json j;
    if (!verdict_new(m, FK_HTTP_REDIRECT_TO_HTTPS, rec->host, rec->path, ""))
        return;
    finding_init(&f, FK_HTTP_REDIRECT_TO_HTTPS, ctx->ts_usec);
    json_init(&j, f.evidence, sizeof f.evidence);
    ev_target(&j, rec);
    json_uint(&j, "status", rec->status);
    json_str(&j, "location", rec->location);
    json_finish(&j);
    finding_summary(&f, "%s%s redirects to HTTPS (%u)", rec->host, rec->path, rec->status);
    emit_finding(ctx, &f);
}
