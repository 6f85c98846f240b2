/* http.c — plaintext HTTP/1.0 and 1.1: message heads, body framing and request/response
 * pairing, as facts in struct http_request_rec; http_rules.c decides the http.* verdicts
 * (kinds_http.def) from them.
 *
 * Follows RFC 9112: §2.2 (empty lines before a request-line are skipped; obs-fold is read as
 * SP), §3 request-line and §3.2 target forms (origin, absolute — whose host wins over Host,
 * §3.2.2 —, authority for CONNECT, asterisk), §4 status-line, §5 field lines (names are case-
 * insensitive; repeats kept: each Set-Cookie/Authorization is looked at, the first Host/Content-
 * Type/Location/User-Agent wins), §6.1 Transfer-Encoding (the final coding decides), §6.3 message
 * body length in its order (HEAD/1xx/204/304 have none; CONNECT 2xx is a tunnel; chunked; else
 * close-delimited for a response; Content-Length, where differing values are an error; a request
 * without either has none), §7.1 chunked coding, §9.3 pipelining (responses in request order).
 * RFC 9110: §7.8 Upgrade (101 ends HTTP/1 on the connection), §9.3.6 CONNECT, §15.2 1xx interim
 * responses (skipped; the final response pairs), §11.6.2/§11.7.2 (Proxy-)Authorization. RFC 7617
 * Basic (user-id = text before the first ':'), RFC 7616 §3.4 Digest (username parameter), RFC 6265
 * §4.1/§5.2 Set-Cookie (name before '='), RFC 3986 §3.2.1 user information, RFC 7540 §3.2 h2c,
 * WHATWG URL §5 application/x-www-form-urlencoded names, RFC 7578 §4.2 multipart/form-data
 * Content-Disposition name.
 *
 * Bodies are skipped by length without looking at them, except the first HTTP_FORM_PEEK bytes of
 * a form request body (copied to find password-like field NAMES). Secrets are never copied: a
 * Basic blob is decoded bit by bit and decoding stops at the first ':', cookie and form values
 * are stepped over, query strings and path parameters (";jsessionid=…" in any segment, RFC 3986
 * §3.3) are cut off every URL before it is stored.
 *
 * Ignored on purpose: HTTP/0.9 (no head: error), HTTP/2 (after a 101 or CONNECT 2xx the
 * dissector is done; prior-knowledge h2 is not probed), content codings (bodies are counted, not
 * decoded), chunk extensions and trailer fields, JSON or XML login bodies, the Cookie request
 * header, Content-Length on bodiless responses, smuggling detection beyond rejecting
 * conflicting lengths. After a bytes gap the flow is resynced only inside a known-length body.
 * Client bytes after a CONNECT are left unconsumed until its answer (a 2xx makes them tunnel
 * bytes); the pipeline hands them back with the client's next bytes.
 */
#include "dissect/http_rules.h"

#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/reader.h"


static const char *const http_methods[] = {
    "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
    "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT", "SEARCH",
    "MKCALENDAR", "ACL", "PURGE",
};

/* Per-direction parser position. */
enum http_pstate {
    PS_HEAD = 0,    /* waiting for a complete message head */
    PS_SKIP_HEAD,   /* head over HTTP_HEAD_MAX: dropping its lines up to the empty line */
    PS_BODY_LEN,    /* body with body_left bytes to go */
    PS_CHUNK_SIZE,  /* expecting a chunk-size line */
    PS_CHUNK_DATA,  /* inside chunk data, body_left to go */
    PS_CHUNK_END,   /* expecting the CRLF after chunk data */
    PS_TRAILER,     /* trailer section after the last chunk */
    PS_UNTIL_CLOSE, /* response body delimited by the end of the connection */
    PS_HOLD,        /* client after CONNECT: bytes left unconsumed until the answer (they
                       may be tunnel bytes sent early); no hold after Upgrade: the client
                       speaks the new protocol only after the 101, which comes first */
    PS_DEAD         /* nothing more is parsed */
};

enum body_kind { BODY_NONE, BODY_LEN, BODY_CHUNKED, BODY_CLOSE, BODY_INTERIM };

enum step { STEP_AGAIN, STEP_MORE, STEP_DONE, STEP_ERR };

enum form_kind { FORM_NONE, FORM_URLENC, FORM_MULTIPART };

struct http_dir {
    enum http_pstate ps;
    size_t head_scan;        /* bytes of the pending head already seen as complete, non-empty
                                lines (the pipeline hands them back): <= HTTP_HEAD_MAX */
    uint64_t body_left;      /* PS_BODY_LEN/PS_CHUNK_DATA: bytes still to skip */
    size_t trailer_bytes;    /* PS_TRAILER: bytes of trailer lines so far, <= HTTP_HEAD_MAX */
    uint8_t skip_line;       /* PS_SKIP_HEAD: current line so far 0 = empty, 1 = "\r", 2 = more */
    enum body_kind after_skip; /* PS_SKIP_HEAD: framing to apply after the head */
    uint64_t after_skip_len;
};

/* A request/response pair being assembled. */
struct http_txn {
    struct http_request_rec rec;
    bool req_done, resp_done;
    bool is_head, is_connect;
};

struct http_state {
    struct http_dir d[2];                 /* 0 client→server, 1 server→client */
    struct http_txn *q;                   /* requests awaiting emission, ring of q_cap (owned) */
    unsigned q_cap;                       /* HTTP_QUEUE_INIT..HTTP_PIPELINE_MAX */
    unsigned q_head;                      /* oldest entry */
    unsigned q_len;                       /* entries in use, <= q_cap */
    unsigned q_answered;                  /* entries from q_head whose final response began */
    uint32_t q_overflow;                  /* requests past the queue still unanswered */
    struct http_txn scratch;              /* request head being built / overflowed request */
    struct http_txn loose;                /* response with no queued request */
    struct http_txn *creq;                /* request whose body is being read, or NULL */
    struct http_txn *cresp;               /* response whose body is being read, or NULL */
    uint8_t peek[HTTP_FORM_PEEK];         /* start of the current form request body */
    size_t peek_len;                      /* bytes in peek, <= HTTP_FORM_PEEK */
    enum form_kind peek_kind;             /* FORM_NONE: not collecting */
    struct http_memo memo;                /* verdicts reported on this flow */
    bool labelled, any_request, finished;
};

/* ---- small byte helpers (all packet access goes through reader.h) ---- */

static bool is_ws(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* RFC 9110 §5.6.2 tchar */
static bool is_tchar(int c)
{
    if (is_alpha(c) || ascii_is_digit(c))
        return true;
    return c > 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Trims SP, HT, CR and LF (folded values keep their line breaks inside). */
static struct bytes ws_trim(struct bytes b)
{
    size_t a = 0, e = b.len;
    while (a < e && is_ws(bytes_at(b, a)))
        a++;
    while (e > a && is_ws(bytes_at(b, e - 1)))
        e--;
    return bytes_sub(b, a, e - a);
}

/* Exact (case-sensitive) equality of the first n bytes of b with s; false if b is shorter. */
static bool prefix_exact(struct bytes b, const char *s, size_t n)
{
    if (b.len < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (bytes_at(b, i) != (unsigned char)s[i])
            return false;
    return true;
}

/* Index of the first of the bytes in `set` at or after `from`, or b.len. */
static size_t find_any(struct bytes b, size_t from, const char *set)
{
    int c;
    while ((c = bytes_at(b, from)) >= 0 && (c == 0 || strchr(set, c) == NULL))
        from++;
    return from < b.len ? from : b.len;
}

/* Copies b into dst (cap bytes incl. NUL) as printable ASCII: whitespace runs (incl. an obs-fold
 * CRLF SP) become one SP, ends trimmed, other bytes outside 0x21..0x7e become '?'. */
static void copy_clean(char *dst, size_t cap, struct bytes b, bool lower)
{
    struct rd r = rd_from(b);
    size_t n = 0;
    bool space = false;
    while (!rd_eof(&r) && n + 1 < cap) {
        int c = rd_u8(&r);
        if (is_ws(c)) {
            space = n > 0;
            continue;
        }
        if (space) {
            if (n + 2 >= cap)
                break;
            dst[n++] = ' ';
            space = false;
        }
        dst[n++] = (c > 0x20 && c < 0x7f) ? (char)(lower ? ascii_lower(c) : c) : '?';
    }
    dst[n] = '\0';
}

/* Copies a URL path like copy_clean, without its path parameters: in every segment, ';' and
 * what follows it up to the next '/' are dropped (RFC 3986 §3.3; ";jsessionid=…",
 * ";PHPSESSID=…", ";sid=…" are session tokens, as secret as a query string). An escaped
 * "%3B" is data and stays. */
static void copy_path(char *dst, size_t cap, struct bytes path)
{
    struct rd r = rd_from(path);
    size_t n = 0;
    bool space = false, param = false;
    while (!rd_eof(&r) && n + 1 < cap) {
        int c = rd_u8(&r);
        if (c == '/')
            param = false;
        else if (c == ';')
            param = true;
        if (param)
            continue;
        if (is_ws(c)) {
            space = n > 0;
            continue;
        }
        if (space) {
            if (n + 2 >= cap)
                break;
            dst[n++] = ' ';
            space = false;
        }
        dst[n++] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[n] = '\0';
}

/* Appends the C string src to dst (cap bytes incl. NUL), cutting it if needed. */
static void str_append(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(dst), m = strlen(src);
    if (n + 1 >= cap)
        return;
    if (m > cap - 1 - n)
        m = cap - 1 - n;
    memcpy(dst + n, src, m);
    dst[n + m] = '\0';
}

/* Percent-decodes a form/query name ('+' is SP) into out (cap incl. NUL), raw bytes, optionally
 * lowercased. Returns the decoded length. Invalid escapes are kept as they are. */
size_t http_name_decode(struct bytes name, char *out, size_t cap, bool lower)
{
    struct rd r = rd_from(name);
    size_t n = 0;
    while (!rd_eof(&r) && n + 1 < cap) {
        int c = rd_u8(&r);
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int h = ascii_hex_val(rd_peek(&r, 0)), l = ascii_hex_val(rd_peek(&r, 1));
            if (h >= 0 && l >= 0) {
                rd_skip(&r, 2);
                c = h * 16 + l;
            }
        }
        out[n++] = (char)(lower ? ascii_lower(c) : c);
    }
    out[n] = '\0';
    return n;
}

/* Copies a form/query name decoded and cleaned into dst. */
void http_name_copy(char *dst, size_t cap, struct bytes name)
{
    char tmp[HTTP_NAME_MAX];
    size_t n = http_name_decode(name, tmp, sizeof tmp, false);
    struct bytes b = {(const uint8_t *)tmp, n};
    copy_clean(dst, cap, b, false);
}

/* ---- structured value helpers ---- */

/* Finds parameter `key` (case-insensitive) in a `sep`-separated list of key=value items whose
 * values may be quoted strings (Digest auth-params, Content-Disposition). The value is returned
 * without quotes (escapes left in). */
static bool param_find(struct bytes s, int sep, const char *key, struct bytes *val /* OUT */)
{
    struct rd r = rd_from(s);
    for (;;) {
        int c;
        while ((c = rd_peek(&r, 0)) >= 0 && (is_ws(c) || c == sep))
            rd_skip(&r, 1);
        if (c < 0)
            return false;
        size_t k0 = r.off;
        while ((c = rd_peek(&r, 0)) >= 0 && c != '=' && c != sep && !is_ws(c))
            rd_skip(&r, 1);
        struct bytes k = bytes_sub(s, k0, r.off - k0);
        while (c >= 0 && c != sep && c != '=' && is_ws(c)) {
            rd_skip(&r, 1);
            c = rd_peek(&r, 0);
        }
        if (c != '=')
            continue; /* flag item ("form-data") */
        rd_skip(&r, 1);
        while ((c = rd_peek(&r, 0)) >= 0 && (c == ' ' || c == '\t'))
            rd_skip(&r, 1);
        size_t v0;
        struct bytes v;
        if (c == '"') {
            rd_skip(&r, 1);
            v0 = r.off;
            while ((c = rd_peek(&r, 0)) >= 0 && c != '"')
                rd_skip(&r, (c == '\\' && rd_peek(&r, 1) >= 0) ? 2 : 1);
            v = bytes_sub(s, v0, r.off - v0);
            if (c == '"')
                rd_skip(&r, 1);
        } else {
            v0 = r.off;
            while ((c = rd_peek(&r, 0)) >= 0 && c != sep && !is_ws(c))
                rd_skip(&r, 1);
            v = bytes_sub(s, v0, r.off - v0);
        }
        if (bytes_eq_nocase(k, key)) {
            *val = v;
            return true;
        }
    }
}

/* Next item of a comma-separated list (RFC 9110 §5.6.1), trimmed; empty items skipped. */
static bool list_next(struct rd *r, struct bytes *item /* OUT */)
{
    while (!rd_eof(r)) {
        struct bytes rest = rd_rest(r);
        long c = bytes_find(rest, ',', 0);
        size_t n = c < 0 ? rest.len : (size_t)c;
        struct bytes it = ws_trim(rd_slice(r, n));
        if (c >= 0)
            rd_skip(r, 1);
        if (it.len) {
            *item = it;
            return true;
        }
    }
    return false;
}

/* Content-Length: digits, or a list of equal values (RFC 9112 §6.3 rule 5). 0 or -1. */
static int parse_content_length(struct bytes v, uint64_t *out /* OUT */)
{
    struct rd r = rd_from(v);
    struct bytes it;
    bool have = false;
    uint64_t val = 0;
    while (list_next(&r, &it)) {
        struct rd d = rd_from(it);
        uint64_t x = 0;
        if (it.len > 18)
            return -1; /* < 10^18: no overflow, and no real body is that long */
        while (!rd_eof(&d)) {
            int c = rd_u8(&d);
            if (!ascii_is_digit(c))
                return -1;
            x = x * 10 + (uint64_t)(c - '0');
        }
        if (have && x != val)
            return -1;
        val = x;
        have = true;
    }
    if (!have)
        return -1;
    *out = val;
    return 0;
}

/* Media type of a Content-Type value, lowercased, without parameters. */
static void media_type(char *dst, size_t cap, struct bytes v)
{
    long semi = bytes_find(v, ';', 0);
    copy_clean(dst, cap, ws_trim(bytes_sub(v, 0, semi < 0 ? v.len : (size_t)semi)), true);
}

static bool list_has(struct bytes v, const char *token)
{
    struct rd r = rd_from(v);
    struct bytes it;
    while (list_next(&r, &it))
        if (bytes_eq_nocase(it, token))
            return true;
    return false;
}

/* ---- URLs ---- */

struct url_parts {
    bool has_authority;     /* "scheme://" or "//" was present */
    struct bytes scheme;    /* may be empty */
    struct bytes authority; /* [userinfo@]host[:port] */
    struct bytes path;      /* up to '?' or '#' */
    bool has_query;
    struct bytes query;     /* between '?' and '#' */
};

static void url_split(struct bytes u, struct url_parts *o /* OUT */)
{
    size_t i = 0;
    int c;
    memset(o, 0, sizeof *o);
    while ((c = bytes_at(u, i)) >= 0 &&
           (is_alpha(c) || (i > 0 && (ascii_is_digit(c) || c == '+' || c == '-' || c == '.'))))
        i++;
    if (i > 0 && bytes_at(u, i) == ':' && bytes_at(u, i + 1) == '/' && bytes_at(u, i + 2) == '/') {
        o->scheme = bytes_sub(u, 0, i);
        i += 3;
        o->has_authority = true;
    } else if (bytes_at(u, 0) == '/' && bytes_at(u, 1) == '/') {
        i = 2;
        o->has_authority = true;
    } else {
        i = 0;
    }
    if (o->has_authority) {
        size_t e = find_any(u, i, "/?#");
        o->authority = bytes_sub(u, i, e - i);
        i = e;
    }
    size_t e = find_any(u, i, "?#");
    o->path = bytes_sub(u, i, e - i);
    if (bytes_at(u, e) == '?') {
        size_t q = e + 1, qe = find_any(u, q, "#");
        o->has_query = true;
        o->query = bytes_sub(u, q, qe - q);
    }
}

static uint16_t parse_port(struct bytes p)
{
    uint32_t v = 0;
    if (p.len == 0 || p.len > 5)
        return 0;
    for (size_t i = 0; i < p.len; i++) {
        int c = bytes_at(p, i);
        if (!ascii_is_digit(c))
            return 0;
        v = v * 10 + (uint32_t)(c - '0');
    }
    return v <= 65535 ? (uint16_t)v : 0;
}

/* "[userinfo@]host[:port]" → lowercase host (IPv6 keeps brackets), port, user info slice. */
static void parse_authority(struct bytes a, char *host, size_t cap, uint16_t *port /* OUT */,
                            struct bytes *userinfo /* OUT */)
{
    long at = -1;
    for (long i = bytes_find(a, '@', 0); i >= 0; i = bytes_find(a, '@', (size_t)i + 1))
        at = i;
    userinfo->p = a.p;
    userinfo->len = 0;
    if (at >= 0) {
        *userinfo = bytes_sub(a, 0, (size_t)at);
        a = bytes_sub(a, (size_t)at + 1, a.len);
    }
    a = ws_trim(a);
    struct bytes h = a, p = {a.p, 0};
    if (bytes_at(a, 0) == '[') {
        long rb = bytes_find(a, ']', 0);
        if (rb >= 0) {
            h = bytes_sub(a, 0, (size_t)rb + 1);
            if (bytes_at(a, (size_t)rb + 1) == ':')
                p = bytes_sub(a, (size_t)rb + 2, a.len);
        }
    } else {
        long c = bytes_find(a, ':', 0);
        if (c >= 0) {
            h = bytes_sub(a, 0, (size_t)c);
            p = bytes_sub(a, (size_t)c + 1, a.len);
        }
    }
    copy_clean(host, cap, h, true);
    *port = parse_port(p);
}

/* user info "user:password" with a non-empty password → user name (before ':') in user. */
static bool userinfo_creds(struct bytes ui, char *user, size_t cap)
{
    long c = bytes_find(ui, ':', 0);
    if (c < 0 || (size_t)c + 1 >= ui.len)
        return false;
    http_name_copy(user, cap, bytes_sub(ui, 0, (size_t)c));
    return true;
}

static void emit_record(struct dis_ctx *ctx, const struct http_request_rec *rec)
{
    if (ctx->sink && ctx->sink->http_request)
        ctx->sink->http_request(ctx->sink->ud, rec);
}

static void label_once(struct http_state *s, struct dis_ctx *ctx)
{
    if (s->labelled)
        return;
    s->labelled = true;
    if (ctx->sink && ctx->sink->label)
        ctx->sink->label(ctx->sink->ud, "HTTP");
}

/* ---- header block iteration ---- */

struct hdr_iter {
    struct bytes head;   /* the head from its start */
    struct rd r;         /* over head, after the start line */
    bool have;           /* a field line is pending (may gain continuation lines) */
    struct bytes name;
    size_t vstart, vend; /* pending value [vstart, vend) in head */
};

static void hdr_init(struct hdr_iter *it, struct bytes head, size_t off)
{
    memset(it, 0, sizeof *it);
    it->head = head;
    it->r = rd_from(head);
    rd_skip(&it->r, off);
}

/* Next field: name and value (folded lines included, ends trimmed). Lines without ':' and
 * continuation lines with no field before them are ignored. */
static bool hdr_next(struct hdr_iter *it, struct bytes *name /* OUT */, struct bytes *value /* OUT */)
{
    for (;;) {
        size_t start = it->r.off;
        struct bytes line = {NULL, 0};
        int rc = rd_line(&it->r, rd_left(&it->r) + 1, &line);
        bool end = rc != 1 || line.len == 0;
        int c0 = bytes_at(line, 0);
        if (!end && (c0 == ' ' || c0 == '\t')) { /* obs-fold (RFC 9112 §5.2) */
            if (it->have)
                it->vend = start + line.len;
            continue;
        }
        bool had = it->have;
        struct bytes pn = it->name;
        size_t vs = it->vstart, ve = it->vend;
        it->have = false;
        if (!end) {
            long colon = bytes_find(line, ':', 0);
            if (colon > 0) {
                it->have = true;
                it->name = ws_trim(bytes_sub(line, 0, (size_t)colon));
                it->vstart = start + (size_t)colon + 1;
                it->vend = start + line.len;
            }
        }
        if (had) {
            *name = pn;
            *value = ws_trim(bytes_sub(it->head, vs, ve - vs));
            return true;
        }
        if (end)
            return false;
    }
}

/* ---- request/response bookkeeping ---- */

static struct http_txn *q_at(struct http_state *s, unsigned i)
{
    return &s->q[(s->q_head + i) % s->q_cap];
}

/* Doubles the queue (buffer growth up to HTTP_PIPELINE_MAX; only pipelining flows get here).
 * False at the cap or without memory: the caller then counts the request as overflow. */
static bool q_grow(struct http_state *s)
{
    unsigned ncap = s->q_cap * 2 < HTTP_PIPELINE_MAX ? s->q_cap * 2 : HTTP_PIPELINE_MAX;
    if (s->q_cap >= HTTP_PIPELINE_MAX)
        return false;
    struct http_txn *nq = calloc(ncap, sizeof *nq);
    if (!nq)
        return false;
    for (unsigned i = 0; i < s->q_len; i++) {
        struct http_txn *o = q_at(s, i);
        nq[i] = *o;
        if (s->cresp == o)
            s->cresp = &nq[i];
        if (s->creq == o)
            s->creq = &nq[i];
    }
    free(s->q);
    s->q = nq;
    s->q_cap = ncap;
    s->q_head = 0;
    return true;
}

/* Emits the queue's leading entries whose request and response are both complete. */
static void try_emit(struct http_state *s, struct dis_ctx *ctx)
{
    while (s->q_len) {
        struct http_txn *f = q_at(s, 0);
        if (!f->req_done || !f->resp_done)
            break;
        emit_record(ctx, &f->rec);
        s->q_head = (s->q_head + 1) % s->q_cap;
        s->q_len--;
        if (s->q_answered)
            s->q_answered--;
    }
}

static void form_check(struct http_state *s, struct dis_ctx *ctx)
{
    struct http_txn *t = s->creq;
    enum form_kind k = s->peek_kind;
    struct bytes body = {s->peek, s->peek_len};
    bool found = false;
    s->peek_kind = FORM_NONE;
    if (k == FORM_NONE || !t)
        return;
    if (k == FORM_URLENC) {
        found = http_pairs_find_password(body, t->rec.form_field, sizeof t->rec.form_field);
    } else {
        struct rd r = rd_from(body);
        struct bytes line, nm;
        while (!found && rd_line(&r, rd_left(&r) + 1, &line) == 1) {
            if (!bytes_prefix_nocase(line, "content-disposition:"))
                continue;
            if (param_find(bytes_sub(line, 20, line.len), ';', "name", &nm) &&
                http_name_is_password(nm)) {
                http_name_copy(t->rec.form_field, sizeof t->rec.form_field, nm);
                found = true;
            }
        }
    }
    if (found) {
        t->rec.flags |= HTTP_F_FORM_CREDS;
        http_verdict_form(&s->memo, &t->rec, ctx);
    }
}

static void req_finished(struct http_state *s, struct dis_ctx *ctx)
{
    struct http_txn *t = s->creq;
    form_check(s, ctx);
    s->creq = NULL;
    s->d[0].ps = (t && t->is_connect) ? PS_HOLD : PS_HEAD;
    if (!t)
        return;
    t->req_done = true;
    if (t != &s->scratch)
        try_emit(s, ctx);
}

static void resp_finished(struct http_state *s, struct dis_ctx *ctx)
{
    struct http_txn *t = s->cresp;
    s->cresp = NULL;
    s->d[1].ps = PS_HEAD;
    if (!t)
        return;
    t->resp_done = true;
    if (t == &s->loose)
        emit_record(ctx, &t->rec);
    else
        try_emit(s, ctx);
}

/* Ends everything: messages still in progress get HTTP_F_TRUNCATED (except a close-delimited
 * response, complete by definition at close); every pending record is emitted in order. */
static void finish_all(struct http_state *s, struct dis_ctx *ctx, bool at_close)
{
    if (s->finished)
        return;
    if (s->creq) {
        s->creq->rec.flags |= HTTP_F_TRUNCATED;
        form_check(s, ctx);
        s->creq->req_done = true;
        s->creq = NULL;
    }
    if (s->cresp) {
        if (!(at_close && s->d[1].ps == PS_UNTIL_CLOSE))
            s->cresp->rec.flags |= HTTP_F_TRUNCATED;
        s->cresp->resp_done = true;
        if (s->cresp == &s->loose)
            emit_record(ctx, &s->loose.rec);
        s->cresp = NULL;
    }
    for (unsigned i = 0; i < s->q_len; i++)
        emit_record(ctx, &q_at(s, i)->rec);
    s->q_len = s->q_answered = 0;
    s->q_overflow = 0;
    s->d[0].ps = s->d[1].ps = PS_DEAD;
    s->finished = true;
}

static enum step msg_done(struct http_state *s, int dir, struct dis_ctx *ctx)
{
    if (dir == 0)
        req_finished(s, ctx);
    else
        resp_finished(s, ctx);
    return STEP_AGAIN;
}

static enum step start_body(struct http_state *s, int dir, enum body_kind k, uint64_t len,
                            struct dis_ctx *ctx)
{
    struct http_dir *d = &s->d[dir];
    switch (k) {
    case BODY_INTERIM:
        d->ps = PS_HEAD;
        return STEP_AGAIN;
    case BODY_CHUNKED:
        d->ps = PS_CHUNK_SIZE;
        return STEP_AGAIN;
    case BODY_CLOSE:
        d->ps = PS_UNTIL_CLOSE;
        return STEP_AGAIN;
    case BODY_LEN:
        if (len) {
            d->body_left = len;
            d->ps = PS_BODY_LEN;
            return STEP_AGAIN;
        }
        return msg_done(s, dir, ctx);
    case BODY_NONE:
    default:
        return msg_done(s, dir, ctx);
    }
}

/* Body bytes of direction dir: counted, and the start of a form body copied to the peek. */
static void account(struct http_state *s, int dir, struct bytes b, struct dis_ctx *ctx)
{
    if (dir == 1) {
        if (s->cresp)
            s->cresp->rec.resp_body_bytes += b.len;
        return;
    }
    if (!s->creq)
        return;
    s->creq->rec.req_body_bytes += b.len;
    if (s->peek_kind != FORM_NONE) {
        size_t room = HTTP_FORM_PEEK - s->peek_len;
        size_t m = b.len < room ? b.len : room;
        struct rd r = rd_from(b);
        if (rd_copy(&r, s->peek + s->peek_len, m))
            s->peek_len += m;
        if (s->peek_len == HTTP_FORM_PEEK)
            form_check(s, ctx);
    }
}

/* ---- start lines ---- */

/* The first bytes of b (up to 7) agree with "HTTP/1.", case-insensitively. */
static bool version_prefix(struct bytes b)
{
    static const char v[] = "HTTP/1.";
    for (size_t i = 0; i < b.len && i < 7; i++)
        if (ascii_lower(bytes_at(b, i)) != ascii_lower((unsigned char)v[i]))
            return false;
    return true;
}

/* Could these first bytes start a request line (dir 0) / status line (dir 1)? Looks at most at
 * HTTP_METHOD_MAX bytes so the answer does not depend on how the stream was split. */
static bool start_plausible(struct bytes b, int dir)
{
    if (dir == 1) {
        return version_prefix(bytes_sub(b, 0, 5));
    }
    for (size_t i = 0; i < b.len && i < HTTP_METHOD_MAX; i++) {
        int c = bytes_at(b, i);
        if (c == ' ')
            return i > 0;
        if (!is_tchar(c))
            return false;
    }
    return b.len < HTTP_METHOD_MAX;
}

/* "HTTP/1.d" → minor digit, else -1 (-2 if another HTTP version). HTTP-name is case-sensitive
 * (RFC 9112 §2.3) but servers answering "http/1.1" exist and clients accept them: so do we. */
static int parse_version(struct bytes v)
{
    if (v.len == 8 && bytes_prefix_nocase(v, "HTTP/1.") && ascii_is_digit(bytes_at(v, 7)))
        return bytes_at(v, 7) - '0';
    return bytes_prefix_nocase(v, "HTTP/") ? -2 : -1;
}

/* request-line = method SP request-target SP HTTP-version. Returns NULL or an error reason. */
static const char *parse_request_line(struct bytes line, struct bytes *method /* OUT */,
                                      struct bytes *target /* OUT */, uint8_t *minor /* OUT */)
{
    long sp1 = bytes_find(line, ' ', 0);
    if (sp1 <= 0 || (size_t)sp1 >= HTTP_METHOD_MAX)
        return "http bad request line";
    *method = bytes_sub(line, 0, (size_t)sp1);
    for (size_t i = 0; i < method->len; i++)
        if (!is_tchar(bytes_at(*method, i)))
            return "http bad request line";
    long last = sp1;
    for (long i = bytes_find(line, ' ', (size_t)sp1 + 1); i >= 0;
         i = bytes_find(line, ' ', (size_t)i + 1))
        last = i;
    if (last == sp1)
        return "http/0.9 request";
    int v = parse_version(bytes_sub(line, (size_t)last + 1, line.len));
    if (v == -2)
        return "http unsupported version";
    if (v < 0)
        return "http bad request line";
    *target = ws_trim(bytes_sub(line, (size_t)sp1 + 1, (size_t)(last - sp1 - 1)));
    if (target->len == 0)
        return "http bad request line";
    *minor = (uint8_t)v;
    return NULL;
}

/* status-line = HTTP-version SP 3DIGIT SP [reason-phrase]; a missing reason SP is tolerated. */
static const char *parse_status_line(struct bytes line, uint16_t *status /* OUT */)
{
    int v = parse_version(bytes_sub(line, 0, 8));
    if (v == -2)
        return "http unsupported version";
    if (v < 0 || bytes_at(line, 8) != ' ')
        return "http bad status line";
    int a = bytes_at(line, 9), b = bytes_at(line, 10), c = bytes_at(line, 11), e = bytes_at(line, 12);
    if (!ascii_is_digit(a) || !ascii_is_digit(b) || !ascii_is_digit(c) || (e >= 0 && e != ' ') || a == '0')
        return "http bad status line";
    *status = (uint16_t)((a - '0') * 100 + (b - '0') * 10 + (c - '0'));
    return NULL;
}

/* Finds the end of the head at r's cursor. Returns 1 (head complete, *len includes the empty
 * line), 0 (need more; *scan remembers the complete lines seen) or -1 (no end within
 * HTTP_HEAD_MAX; *len = bytes of the complete lines within it). */
static int head_end(const struct rd *r, size_t *scan, size_t *len /* OUT */)
{
    struct rd h = rd_from(rd_rest(r));
    if (*scan > h.len)
        *scan = 0;
    rd_skip(&h, *scan);
    for (;;) {
        size_t start = h.off;
        struct bytes line;
        int rc = rd_line(&h, HTTP_HEAD_MAX - start, &line);
        if (rc == 0) {
            *scan = start;
            return 0;
        }
        if (rc < 0) {
            *len = start;
            return -1;
        }
        if (line.len == 0 && start > 0) {
            *len = h.off;
            return 1;
        }
    }
}

/* ---- heads ---- */

struct framing {
    bool cl_seen, te_seen, te_chunked, bad_cl;
    uint64_t cl;
};

static void framing_field(struct framing *fr, struct bytes name, struct bytes v)
{
    if (bytes_eq_nocase(name, "content-length")) {
        uint64_t x = 0;
        if (parse_content_length(v, &x) != 0 || (fr->cl_seen && x != fr->cl))
            fr->bad_cl = true;
        fr->cl = x;
        fr->cl_seen = true;
    } else if (bytes_eq_nocase(name, "transfer-encoding")) {
        struct rd r = rd_from(v);
        struct bytes it, last = {NULL, 0};
        while (list_next(&r, &it))
            last = it;
        if (last.len) { /* a later field line's list continues the earlier one */
            long semi = bytes_find(last, ';', 0);
            fr->te_chunked =
                bytes_eq_nocase(ws_trim(bytes_sub(last, 0, semi < 0 ? last.len : (size_t)semi)),
                                "chunked");
            fr->te_seen = true;
        }
    }
}

static void parse_auth(struct http_auth_seen *a, bool proxy, struct bytes v)
{
    size_t i = find_any(v, 0, " \t\r\n");
    struct bytes scheme = bytes_sub(v, 0, i), cred = ws_trim(bytes_sub(v, i, v.len));
    memset(a, 0, sizeof *a);
    a->proxy = proxy;
    if (bytes_eq_nocase(scheme, "basic")) {
        a->basic = true;
        str_append(a->scheme, sizeof a->scheme, "Basic");
        a->user_known = http_basic_user(bytes_sub(cred, 0, find_any(cred, 0, " \t\r\n")), a->user,
                                   sizeof a->user);
    } else if (bytes_eq_nocase(scheme, "digest")) {
        struct bytes u;
        str_append(a->scheme, sizeof a->scheme, "Digest");
        if (param_find(cred, ',', "username", &u)) {
            copy_clean(a->user, sizeof a->user, u, false);
            a->user_known = true;
        }
    } else if (bytes_eq_nocase(scheme, "ntlm")) {
        str_append(a->scheme, sizeof a->scheme, "NTLM");
    } else if (bytes_eq_nocase(scheme, "negotiate") && prefix_exact(cred, "TlRMTVNT", 8)) {
        /* base64 of "NTLMSSP": NTLM inside SPNEGO; Kerberos tickets are not flagged */
        str_append(a->scheme, sizeof a->scheme, "Negotiate-NTLM");
    } else if (bytes_eq_nocase(scheme, "bearer")) {
        str_append(a->scheme, sizeof a->scheme, "Bearer");
    }
}

/* Sets host/port/path from the request target; records credentials found in it. Returns true
 * if its authority carried user:password (user name in rec->url_user). */
static bool target_to_rec(struct http_txn *t, struct bytes target, bool *host_set /* OUT */)
{
    struct http_request_rec *rec = &t->rec;
    struct url_parts u;
    struct bytes ui = {NULL, 0};
    bool creds = false;
    *host_set = false;
    if (t->is_connect) { /* authority-form */
        parse_authority(target, rec->host, sizeof rec->host, &rec->port, &ui);
        *host_set = true;
        return false;
    }
    if (bytes_eq(target, "*")) {
        str_append(rec->path, sizeof rec->path, "*");
        return false;
    }
    url_split(target, &u);
    if (u.has_authority && u.scheme.len) { /* absolute-form */
        parse_authority(u.authority, rec->host, sizeof rec->host, &rec->port, &ui);
        *host_set = true;
    }
    if (u.path.len)
        copy_path(rec->path, sizeof rec->path, u.path);
    else if (*host_set)
        str_append(rec->path, sizeof rec->path, "/");
    if (ui.len && userinfo_creds(ui, rec->url_user, sizeof rec->url_user)) {
        rec->flags |= HTTP_F_URL_CREDS;
        creds = true;
    }
    if (u.has_query && http_pairs_find_password(u.query, rec->url_param, sizeof rec->url_param))
        rec->flags |= HTTP_F_URL_CREDS;
    return creds;
}

static enum step request_head(struct http_state *s, struct bytes head, bool too_large,
                              struct dis_ctx *ctx)
{
    struct rd h = rd_from(head);
    struct bytes line, method, target, name, v, host_hdr = {NULL, 0};
    uint8_t minor = 0;
    struct http_txn *t = &s->scratch;
    struct framing fr;
    struct http_auth_seen auth[HTTP_AUTH_PER_REQ];
    unsigned n_auth = 0;
    bool host_set, ui_creds, have_host_hdr = false, ctype_set = false, ua_set = false;
    enum form_kind form = FORM_NONE;
    struct hdr_iter it;

    rd_line(&h, head.len + 1, &line);
    const char *why = parse_request_line(line, &method, &target, &minor);
    if (why) {
        ctx->err_reason = why;
        return STEP_ERR;
    }
    memset(t, 0, sizeof *t);
    memset(&fr, 0, sizeof fr);
    t->rec.flow_id = ctx->flow_id;
    t->rec.ts_usec = ctx->ts_usec;
    t->rec.req_minor = minor;
    copy_clean(t->rec.method, sizeof t->rec.method, method, false);
    t->is_head = bytes_eq(method, "HEAD");
    t->is_connect = bytes_eq(method, "CONNECT");
    if (too_large)
        t->rec.flags |= HTTP_F_REQ_HEAD_TOO_LARGE;
    ui_creds = target_to_rec(t, target, &host_set);

    hdr_init(&it, head, h.off);
    while (hdr_next(&it, &name, &v)) {
        framing_field(&fr, name, v);
        if (bytes_eq_nocase(name, "host")) {
            if (!have_host_hdr)
                host_hdr = v;
            have_host_hdr = true;
        } else if (bytes_eq_nocase(name, "content-type") && !ctype_set) {
            ctype_set = true;
            media_type(t->rec.req_content_type, sizeof t->rec.req_content_type, v);
            if (strcmp(t->rec.req_content_type, "application/x-www-form-urlencoded") == 0)
                form = FORM_URLENC;
            else if (strcmp(t->rec.req_content_type, "multipart/form-data") == 0)
                form = FORM_MULTIPART;
        } else if (bytes_eq_nocase(name, "user-agent") && !ua_set) {
            ua_set = true;
            copy_clean(t->rec.user_agent, sizeof t->rec.user_agent, v, false);
        } else if (bytes_eq_nocase(name, "authorization") ||
                   bytes_eq_nocase(name, "proxy-authorization")) {
            if (n_auth < HTTP_AUTH_PER_REQ) {
                parse_auth(&auth[n_auth], bytes_eq_nocase(name, "proxy-authorization"), v);
                if (auth[n_auth].scheme[0])
                    n_auth++;
            }
        } else if (bytes_eq_nocase(name, "upgrade") && list_has(v, "h2c")) {
            t->rec.flags |= HTTP_F_H2C;
        }
    }
    if (fr.bad_cl) {
        ctx->err_reason = "http bad content-length";
        return STEP_ERR;
    }
    if (fr.te_seen && !fr.te_chunked) { /* RFC 9112 §6.3 rule 4: length unknowable */
        ctx->err_reason = "http request transfer-encoding not chunked";
        return STEP_ERR;
    }
    if (!host_set && have_host_hdr) {
        struct bytes ui;
        parse_authority(host_hdr, t->rec.host, sizeof t->rec.host, &t->rec.port, &ui);
    }
    if (strcmp(t->rec.path, "/") == 0)
        t->rec.flags |= HTTP_F_ROOT_PATH;
    for (unsigned i = 0; i < n_auth; i++) {
        struct http_auth_seen *a = &auth[i];
        if (!t->rec.auth_scheme[0] || (a->basic && !(t->rec.flags & HTTP_F_BASIC_AUTH))) {
            t->rec.auth_scheme[0] = '\0';
            str_append(t->rec.auth_scheme, sizeof t->rec.auth_scheme, a->scheme);
            t->rec.auth_user[0] = '\0';
            if (a->user_known)
                str_append(t->rec.auth_user, sizeof t->rec.auth_user, a->user);
        }
        t->rec.flags |= a->basic ? HTTP_F_BASIC_AUTH : HTTP_F_OTHER_AUTH;
    }

    label_once(s, ctx);
    s->any_request = true;
    http_verdict_plaintext(&s->memo, &t->rec, ctx);
    for (unsigned i = 0; i < n_auth; i++)
        http_verdict_auth(&s->memo, &t->rec, &auth[i], ctx);
    if (ui_creds)
        http_verdict_url_creds(&s->memo, &t->rec, "request-target", t->rec.url_user, NULL, ctx);
    if (t->rec.url_param[0])
        http_verdict_url_creds(&s->memo, &t->rec, "request-target", NULL, t->rec.url_param, ctx);

    /* queue it (or count it past the cap, keeping the order of pairing) */
    if (s->q_overflow == 0 && (s->q_len < s->q_cap || q_grow(s))) {
        struct http_txn *slot = q_at(s, s->q_len);
        *slot = *t;
        s->q_len++;
        s->creq = slot;
    } else {
        s->q_overflow++;
        s->creq = t;
    }
    s->peek_len = 0;
    s->peek_kind = form;

    enum body_kind k = BODY_NONE;
    if (fr.te_seen)
        k = BODY_CHUNKED;
    else if (fr.cl_seen)
        k = BODY_LEN;
    if (too_large) {
        s->d[0].ps = PS_SKIP_HEAD;
        s->d[0].skip_line = 0;
        s->d[0].after_skip = k;
        s->d[0].after_skip_len = fr.cl;
        return STEP_AGAIN;
    }
    return start_body(s, 0, k, fr.cl, ctx);
}

/* Location → sanitised rec->location; verdicts for credentials and the HTTPS redirect. */
static void location_to_rec(struct http_state *s, struct http_txn *t, struct bytes v,
                            struct dis_ctx *ctx)
{
    struct http_request_rec *rec = &t->rec;
    struct url_parts u;
    char host[HTTP_HOST_MAX] = "", piece[HTTP_LOCATION_MAX], user[HTTP_NAME_MAX] = "",
         param[HTTP_NAME_MAX] = "";
    uint16_t port = 0;
    struct bytes ui = {NULL, 0};
    url_split(v, &u);
    rec->location[0] = '\0';
    if (u.has_authority) {
        parse_authority(u.authority, host, sizeof host, &port, &ui);
        copy_clean(piece, sizeof piece, u.scheme, true);
        str_append(rec->location, sizeof rec->location, piece);
        str_append(rec->location, sizeof rec->location, u.scheme.len ? "://" : "//");
        str_append(rec->location, sizeof rec->location, host);
        if (port) {
            char ps[8];
            size_t n = sizeof ps - 1;
            ps[n] = '\0';
            for (uint16_t p = port; p; p /= 10)
                ps[--n] = (char)('0' + p % 10);
            ps[--n] = ':';
            str_append(rec->location, sizeof rec->location, ps + n);
        }
    }
    copy_path(piece, sizeof piece, u.path);
    str_append(rec->location, sizeof rec->location, piece);

    if (ui.len && userinfo_creds(ui, user, sizeof user)) {
        rec->flags |= HTTP_F_URL_CREDS;
        http_verdict_url_creds(&s->memo, rec, "location", user, NULL, ctx);
    }
    if (u.has_query && http_pairs_find_password(u.query, param, sizeof param)) {
        rec->flags |= HTTP_F_URL_CREDS;
        http_verdict_url_creds(&s->memo, rec, "location", NULL, param, ctx);
    }
    if ((rec->status == 301 || rec->status == 302 || rec->status == 307 || rec->status == 308) &&
        bytes_eq_nocase(u.scheme, "https") && rec->host[0] && strcmp(host, rec->host) == 0) {
        rec->flags |= HTTP_F_HTTPS_REDIRECT;
        http_verdict_redirect(&s->memo, rec, ctx);
    }
}

static void set_cookie(struct http_request_rec *rec, struct bytes v, struct http_cookie_seen *ck,
                       size_t *n, size_t *total)
{
    long semi = bytes_find(v, ';', 0);
    struct bytes pair = bytes_sub(v, 0, semi < 0 ? v.len : (size_t)semi);
    long eq = bytes_find(pair, '=', 0);
    struct http_cookie_seen c;
    if (eq < 0) /* RFC 6265 §5.2 step 2: ignored */
        return;
    memset(&c, 0, sizeof c);
    copy_clean(c.name, sizeof c.name, ws_trim(bytes_sub(pair, 0, (size_t)eq)), false);
    if (semi >= 0) {
        struct bytes attrs = bytes_sub(v, (size_t)semi + 1, v.len);
        struct rd r = rd_from(attrs);
        while (!rd_eof(&r)) {
            struct bytes rest = rd_rest(&r);
            long sc = bytes_find(rest, ';', 0);
            struct bytes a = rd_slice(&r, sc < 0 ? rest.len : (size_t)sc);
            if (sc >= 0)
                rd_skip(&r, 1);
            long aeq = bytes_find(a, '=', 0);
            a = ws_trim(bytes_sub(a, 0, aeq < 0 ? a.len : (size_t)aeq));
            if (bytes_eq_nocase(a, "secure"))
                c.secure = true;
            else if (bytes_eq_nocase(a, "httponly"))
                c.httponly = true;
        }
    }
    rec->flags |= HTTP_F_SET_COOKIE | (c.secure ? HTTP_F_COOKIE_SECURE : 0u);
    if (strlen(rec->cookie_names) + strlen(c.name) + 2 <= sizeof rec->cookie_names) {
        if (rec->cookie_names[0])
            str_append(rec->cookie_names, sizeof rec->cookie_names, ",");
        str_append(rec->cookie_names, sizeof rec->cookie_names, c.name);
    }
    if (*n < HTTP_COOKIE_EVIDENCE_MAX)
        ck[(*n)++] = c;
    (*total)++;
}

static enum step response_head(struct http_state *s, struct bytes head, bool too_large,
                               struct dis_ctx *ctx)
{
    struct rd h = rd_from(head);
    struct bytes line, name, v, loc = {NULL, 0};
    uint16_t status = 0;
    struct framing fr;
    struct hdr_iter it;
    struct http_cookie_seen ck[HTTP_COOKIE_EVIDENCE_MAX];
    size_t n_ck = 0, total_ck = 0;
    bool ctype_set = false, have_loc = false, h2c = false;
    struct http_txn *t;

    rd_line(&h, head.len + 1, &line);
    const char *why = parse_status_line(line, &status);
    if (why) {
        ctx->err_reason = why;
        return STEP_ERR;
    }
    label_once(s, ctx);
    if (status < 200 && status != 101) { /* interim (RFC 9110 §15.2): the final one follows */
        if (too_large) {
            s->d[1].ps = PS_SKIP_HEAD;
            s->d[1].skip_line = 0;
            s->d[1].after_skip = BODY_INTERIM;
            return STEP_AGAIN;
        }
        return STEP_AGAIN;
    }

    if (s->q_answered < s->q_len) {
        t = q_at(s, s->q_answered++);
    } else {
        t = &s->loose;
        memset(t, 0, sizeof *t);
        t->rec.flow_id = ctx->flow_id;
        t->rec.ts_usec = ctx->ts_usec;
        if (s->q_overflow) {
            s->q_overflow--;
            t->rec.flags |= HTTP_F_OVERFLOW;
        } else {
            t->rec.flags |= HTTP_F_UNPAIRED;
        }
    }
    s->cresp = t;
    t->rec.status = status;
    t->rec.resp_ts_usec = ctx->ts_usec;
    if (too_large)
        t->rec.flags |= HTTP_F_RESP_HEAD_TOO_LARGE;

    memset(&fr, 0, sizeof fr);
    hdr_init(&it, head, h.off);
    while (hdr_next(&it, &name, &v)) {
        framing_field(&fr, name, v);
        if (bytes_eq_nocase(name, "content-type") && !ctype_set) {
            ctype_set = true;
            media_type(t->rec.content_type, sizeof t->rec.content_type, v);
        } else if (bytes_eq_nocase(name, "location") && !have_loc) {
            have_loc = true;
            loc = v;
        } else if (bytes_eq_nocase(name, "set-cookie")) {
            set_cookie(&t->rec, v, ck, &n_ck, &total_ck);
        } else if (bytes_eq_nocase(name, "upgrade")) {
            h2c = h2c || list_has(v, "h2c");
        }
    }

    if (!s->any_request)
        http_verdict_plaintext(&s->memo, &t->rec, ctx);
    if (total_ck)
        http_verdict_cookies(&s->memo, &t->rec, ck, n_ck, total_ck, ctx);
    if (have_loc)
        location_to_rec(s, t, loc, ctx);

    /* release a client held after CONNECT once nothing is left unanswered */
    if (s->d[0].ps == PS_HOLD && s->q_answered >= s->q_len && s->q_overflow == 0)
        s->d[0].ps = PS_HEAD;

    if (status == 101) { /* RFC 9110 §15.2.2: after the empty line, another protocol */
        t->rec.flags |= HTTP_F_SWITCHED | (h2c ? HTTP_F_H2C : 0u);
        resp_finished(s, ctx);
        finish_all(s, ctx, false);
        return STEP_DONE;
    }
    if (t->is_connect && status >= 200 && status < 300) { /* RFC 9110 §9.3.6 */
        t->rec.flags |= HTTP_F_TUNNEL;
        resp_finished(s, ctx);
        finish_all(s, ctx, false);
        return STEP_DONE;
    }
    if (fr.bad_cl && !fr.te_seen) {
        ctx->err_reason = "http bad content-length";
        return STEP_ERR;
    }
    enum body_kind k;
    if (t->is_head || status == 204 || status == 304)
        k = BODY_NONE;
    else if (fr.te_seen)
        k = fr.te_chunked ? BODY_CHUNKED : BODY_CLOSE;
    else if (fr.cl_seen)
        k = BODY_LEN;
    else
        k = BODY_CLOSE;
    if (too_large) {
        s->d[1].ps = PS_SKIP_HEAD;
        s->d[1].skip_line = 0;
        s->d[1].after_skip = k;
        s->d[1].after_skip_len = fr.cl;
        return STEP_AGAIN;
    }
    return start_body(s, 1, k, fr.cl, ctx);
}

/* ---- per-state steps ---- */

static enum step step_head(struct http_state *s, int dir, struct rd *r, struct dis_ctx *ctx)
{
    struct http_dir *d = &s->d[dir];
    size_t len = 0;
    for (;;) { /* RFC 9112 §2.2: empty lines before a message are skipped */
        int c0 = rd_peek(r, 0);
        if (c0 == '\n') {
            rd_skip(r, 1);
        } else if (c0 == '\r') {
            int c1 = rd_peek(r, 1);
            if (c1 < 0)
                return STEP_MORE;
            if (c1 != '\n')
                break;
            rd_skip(r, 2);
        } else {
            break;
        }
    }
    if (rd_eof(r))
        return STEP_MORE;
    if (!start_plausible(rd_rest(r), dir)) {
        ctx->err_reason = dir ? "http bad status line" : "http bad request line";
        return STEP_ERR;
    }
    if (d->head_scan == 0) {
        /* judge the start line once it is complete, without waiting for the head's end (an
         * HTTP/0.9 request has none) */
        struct rd fl = *r;
        struct bytes line, m, t;
        uint8_t minor;
        uint16_t status;
        if (rd_line(&fl, HTTP_HEAD_MAX, &line) == 1) {
            const char *why = dir ? parse_status_line(line, &status)
                                  : parse_request_line(line, &m, &t, &minor);
            if (why) {
                ctx->err_reason = why;
                return STEP_ERR;
            }
        }
    }
    int rc = head_end(r, &d->head_scan, &len);
    if (rc == 0)
        return STEP_MORE;
    d->head_scan = 0;
    if (rc < 0 && len == 0) { /* not even the start line fits: nothing to resync on */
        ctx->err_reason = "http head too large";
        return STEP_ERR;
    }
    struct bytes head = rd_slice(r, len);
    return dir == 0 ? request_head(s, head, rc < 0, ctx) : response_head(s, head, rc < 0, ctx);
}

static enum step step_skip_head(struct http_state *s, int dir, struct rd *r, struct dis_ctx *ctx)
{
    struct http_dir *d = &s->d[dir];
    for (;;) {
        struct bytes rest = rd_rest(r);
        long lf = bytes_find(rest, '\n', 0);
        if (lf < 0) {
            if (rest.len == 0)
                return STEP_MORE;
            d->skip_line = (d->skip_line == 0 && rest.len == 1 && bytes_at(rest, 0) == '\r') ? 1 : 2;
            rd_skip(r, rest.len);
            return STEP_MORE;
        }
        bool empty = (lf == 0 && d->skip_line <= 1) ||
                     (lf == 1 && bytes_at(rest, 0) == '\r' && d->skip_line == 0);
        rd_skip(r, (size_t)lf + 1);
        d->skip_line = 0;
        if (empty)
            return start_body(s, dir, d->after_skip, d->after_skip_len, ctx);
    }
}

static enum step step_body(struct http_state *s, int dir, struct rd *r, struct dis_ctx *ctx)
{
    struct http_dir *d = &s->d[dir];
    size_t avail = rd_left(r);
    if (avail == 0)
        return STEP_MORE;
    size_t n = (uint64_t)avail < d->body_left ? avail : (size_t)d->body_left;
    account(s, dir, rd_slice(r, n), ctx);
    d->body_left -= n;
    if (d->body_left)
        return STEP_MORE;
    if (d->ps == PS_CHUNK_DATA) {
        d->ps = PS_CHUNK_END;
        return STEP_AGAIN;
    }
    return msg_done(s, dir, ctx);
}

static enum step step_chunk_size(struct http_state *s, int dir, struct rd *r, struct dis_ctx *ctx)
{
    struct http_dir *d = &s->d[dir];
    struct bytes line;
    int rc = rd_line(r, HTTP_CHUNK_LINE_MAX, &line);
    if (rc == 0)
        return STEP_MORE;
    if (rc < 0) {
        ctx->err_reason = "http chunk-size line too long";
        return STEP_ERR;
    }
    struct rd lr = rd_from(line);
    uint64_t v = 0;
    unsigned nd = 0;
    int c;
    while ((c = rd_peek(&lr, 0)) == ' ' || c == '\t')
        rd_skip(&lr, 1);
    while (ascii_hex_val(c = rd_peek(&lr, 0)) >= 0) {
        if (++nd > 15) {
            ctx->err_reason = "http bad chunk size";
            return STEP_ERR;
        }
        v = v * 16 + (uint64_t)ascii_hex_val(c);
        rd_skip(&lr, 1);
    }
    while ((c = rd_peek(&lr, 0)) == ' ' || c == '\t')
        rd_skip(&lr, 1);
    if (nd == 0 || (c >= 0 && c != ';')) {
        ctx->err_reason = "http bad chunk size";
        return STEP_ERR;
    }
    if (v == 0) { /* last-chunk: trailer section follows */
        d->trailer_bytes = 0;
        d->ps = PS_TRAILER;
    } else {
        d->body_left = v;
        d->ps = PS_CHUNK_DATA;
    }
    return STEP_AGAIN;
}

static enum step step_chunk_end(struct http_state *s, int dir, struct rd *r, struct dis_ctx *ctx)
{
    struct bytes line;
    int rc = rd_line(r, 3, &line); /* CRLF (or a bare LF) */
    if (rc == 0)
        return STEP_MORE;
    if (rc < 0 || line.len != 0) {
        ctx->err_reason = "http bad chunk framing";
        return STEP_ERR;
    }
    s->d[dir].ps = PS_CHUNK_SIZE;
    return STEP_AGAIN;
}

static enum step step_trailer(struct http_state *s, int dir, struct rd *r, struct dis_ctx *ctx)
{
    struct http_dir *d = &s->d[dir];
    for (;;) {
        struct bytes line;
        size_t before = r->off;
        int rc = rd_line(r, HTTP_HEAD_MAX - d->trailer_bytes, &line);
        if (rc == 0)
            return STEP_MORE;
        if (rc < 0) {
            ctx->err_reason = "http chunked trailer too large";
            return STEP_ERR;
        }
        if (line.len == 0)
            return msg_done(s, dir, ctx);
        d->trailer_bytes += r->off - before;
    }
}

static enum step run(struct http_state *s, int dir, struct rd *r, struct dis_ctx *ctx)
{
    for (;;) {
        enum step rc;
        switch (s->d[dir].ps) {
        case PS_HEAD:
            rc = step_head(s, dir, r, ctx);
            break;
        case PS_SKIP_HEAD:
            rc = step_skip_head(s, dir, r, ctx);
            break;
        case PS_BODY_LEN:
        case PS_CHUNK_DATA:
            rc = step_body(s, dir, r, ctx);
            break;
        case PS_CHUNK_SIZE:
            rc = step_chunk_size(s, dir, r, ctx);
            break;
        case PS_CHUNK_END:
            rc = step_chunk_end(s, dir, r, ctx);
            break;
        case PS_TRAILER:
            rc = step_trailer(s, dir, r, ctx);
            break;
        case PS_UNTIL_CLOSE: {
            struct bytes rest = rd_rest(r);
            account(s, dir, rd_slice(r, rest.len), ctx);
            return STEP_MORE;
        }
        case PS_HOLD:
            return STEP_MORE;
        case PS_DEAD:
        default:
            return STEP_DONE;
        }
        if (rc != STEP_AGAIN)
            return rc;
    }
}

/* ---- dissector callbacks ---- */

/* Rest of the first line after "METHOD ": YES/NO once decidable, else MAYBE. Stricter than
 * on_data (one SP each side of a target of visible ASCII) and monotone: a NO never becomes YES
 * with more bytes. */
static enum dis_probe probe_request(struct bytes first, size_t off)
{
    struct bytes rest = bytes_sub(first, off, first.len);
    long lf = bytes_find(rest, '\n', 0);
    bool complete = lf >= 0;
    struct bytes line = complete ? bytes_sub(rest, 0, (size_t)lf) : rest;
    if (complete && line.len && bytes_at(line, line.len - 1) == '\r')
        line.len--;
    size_t i = 0;
    int c;
    while ((c = bytes_at(line, i)) > 0x20 && c < 0x7f)
        i++;
    if (i == line.len) { /* a target and nothing after it yet (complete: HTTP/0.9) */
        if (complete || i == 0)
            return complete ? DIS_PROBE_NO : DIS_PROBE_MAYBE;
        return i >= HTTP_PROBE_LONG ? DIS_PROBE_YES : DIS_PROBE_MAYBE;
    }
    if (i == 0 || c != ' ')
        return DIS_PROBE_NO;
    struct bytes ver = bytes_sub(line, i + 1, line.len);
    if (!version_prefix(ver))
        return DIS_PROBE_NO;
    if (ver.len < 8)
        return complete ? DIS_PROBE_NO : DIS_PROBE_MAYBE;
    if (!ascii_is_digit(bytes_at(ver, 7)))
        return DIS_PROBE_NO;
    if (ver.len == 8)
        return complete ? DIS_PROBE_YES : DIS_PROBE_MAYBE;
    if (!complete && ver.len == 9 && bytes_at(ver, 8) == '\r')
        return DIS_PROBE_MAYBE;
    return DIS_PROBE_NO;
}

static enum dis_probe http_probe(struct bytes first, int dir)
{
    if (dir == 1) {
        if (!version_prefix(first))
            return DIS_PROBE_NO;
        if (first.len < 8)
            return DIS_PROBE_MAYBE;
        return ascii_is_digit(bytes_at(first, 7)) ? DIS_PROBE_YES : DIS_PROBE_NO;
    }
    bool maybe = false;
    for (size_t i = 0; i < sizeof http_methods / sizeof http_methods[0]; i++) {
        size_t k = strlen(http_methods[i]);
        if (first.len <= k) {
            if (prefix_exact(first, http_methods[i], first.len))
                maybe = true;
            continue;
        }
        if (prefix_exact(first, http_methods[i], k) && bytes_at(first, k) == ' ')
            return probe_request(first, k + 1);
    }
    return maybe ? DIS_PROBE_MAYBE : DIS_PROBE_NO;
}

static void *http_state_new(const struct dis_cfg *cfg)
{
    struct http_state *s = calloc(1, sizeof *s);
    (void)cfg;
    if (!s)
        return NULL;
    s->q = calloc(HTTP_QUEUE_INIT, sizeof *s->q);
    if (!s->q) {
        free(s);
        return NULL;
    }
    s->q_cap = HTTP_QUEUE_INIT;
    return s;
}

static void http_state_free(void *st)
{
    struct http_state *s = st;
    if (s)
        free(s->q);
    free(s);
}

/* The state and its transaction queue, at allocated size. */
static size_t http_mem(const void *st)
{
    const struct http_state *s = st;
    return nz_heap_size(sizeof *s) + nz_heap_size((size_t)s->q_cap * sizeof *s->q);
}

static enum dis_status http_on_data(void *st, int dir, struct bytes in, size_t *consumed,
                                    struct dis_ctx *ctx)
{
    struct http_state *s = st;
    *consumed = 0;
    if (dir != 0 && dir != 1) {
        ctx->err_reason = "http bad direction";
        return DIS_ERR;
    }
    if (s->finished) {
        *consumed = in.len;
        return DIS_DONE;
    }
    struct rd r = rd_from(in);
    enum step rc = run(s, dir, &r, ctx);
    *consumed = r.off;
    switch (rc) {
    case STEP_ERR:
        finish_all(s, ctx, false);
        return DIS_ERR;
    case STEP_DONE:
        *consumed = in.len;
        return DIS_DONE;
    default:
        return DIS_OK;
    }
}

static enum dis_status http_on_gap(void *st, int dir, uint64_t len, struct dis_ctx *ctx)
{
    struct http_state *s = st;
    if (s->finished || (dir != 0 && dir != 1))
        return DIS_DONE;
    struct http_dir *d = &s->d[dir];
    d->head_scan = 0;
    if ((d->ps == PS_BODY_LEN || d->ps == PS_CHUNK_DATA) && len <= d->body_left) {
        struct http_txn *t = dir ? s->cresp : s->creq;
        if (t)
            t->rec.flags |= HTTP_F_TRUNCATED;
        if (dir == 0)
            form_check(s, ctx); /* what was seen before the hole */
        if (t && dir)
            t->rec.resp_body_bytes += len;
        else if (t)
            t->rec.req_body_bytes += len;
        d->body_left -= len;
        if (d->body_left == 0) {
            if (d->ps == PS_CHUNK_DATA)
                d->ps = PS_CHUNK_END;
            else
                msg_done(s, dir, ctx);
        }
        return DIS_OK;
    }
    if (d->ps == PS_UNTIL_CLOSE) {
        if (s->cresp) {
            s->cresp->rec.flags |= HTTP_F_TRUNCATED;
            s->cresp->rec.resp_body_bytes += len;
        }
        return DIS_OK;
    }
    if (d->ps == PS_HOLD)
        return DIS_OK;
    finish_all(s, ctx, false);
    return DIS_DONE;
}

static void http_on_close(void *st, struct dis_ctx *ctx)
{
    struct http_state *s = st;
    if (s)
        finish_all(s, ctx, true);
}

const struct dissector http_dissector = {
    .name = "http",
    .ports = {80, 8080, 8000, 8008, 8888, 3128, 0},
    .probe = http_probe,
    .state_new = http_state_new,
    .state_free = http_state_free,
    .on_data = http_on_data,
    .on_gap = http_on_gap,
    .on_close = http_on_close,
    .mem = http_mem,
};
