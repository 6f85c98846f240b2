/* http_rules.h — internal to the HTTP dissector (http.c parses, http_rules.c judges); nothing
 * outside dissect/ includes it. The public contract is dissect/http.h.
 *
 * http.c turns bytes into facts (struct http_request_rec, the Authorization and Set-Cookie
 * headers seen); http_rules.c decides what they mean: which names are password-like, whose
 * credentials a header or URL carries, and which findings (kinds_http.def), with their severity,
 * summary and evidence, a flow raises. Parsing never decides severity. */
#ifndef NZ_HTTP_RULES_H
#define NZ_HTTP_RULES_H

#include "core/finding.h"
#include "dissect/http.h"

/* Verdicts already reported on one flow: each (kind, subject) once, at most HTTP_VERDICTS_MAX. */
struct http_memo {
    uint64_t keys[HTTP_VERDICTS_MAX]; /* hashes of (kind, subject) reported */
    unsigned n;                       /* <= HTTP_VERDICTS_MAX */
    bool plaintext_done;              /* http.plaintext raised */
};

/* One (Proxy-)Authorization header of a request. */
struct http_auth_seen {
    bool basic;                    /* else another scheme */
    bool user_known;
    bool proxy;                    /* Proxy-Authorization */
    char scheme[HTTP_SCHEME_MAX];
    char user[HTTP_NAME_MAX];
};

/* One Set-Cookie of a response. */
struct http_cookie_seen {
    char name[HTTP_NAME_MAX];
    bool secure, httponly;
};

/* ---- from http.c: name helpers ---- */

/* Percent-decodes a form/query name ('+' is SP) into out (cap incl. NUL), raw bytes, optionally
 * lowercased. Returns the decoded length. Invalid escapes are kept as they are. */
size_t http_name_decode(struct bytes name, char *out, size_t cap, bool lower);
/* Copies a form/query name decoded and cleaned into dst. */
void http_name_copy(char *dst, size_t cap, struct bytes name);

/* ---- credential detection (http_rules.c) ---- */

/* Decodes the user-id of a Basic token ("user:password" in base64) into user (cap incl. NUL).
 * Decoding stops at the first ':' so no byte of the password is ever produced. Returns true if
 * a ':' was found; otherwise user is "" (the blob might be all secret). */
bool http_basic_user(struct bytes tok, char *user, size_t cap);
/* First name=value pair of a '&'-separated list whose name is password-like (a '=' must follow
 * the name; the value is not looked at): its name, decoded, into name. */
bool http_pairs_find_password(struct bytes list, char *name, size_t cap);

/* ---- verdicts (http_rules.c): each emits its finding through ctx->sink once per subject ---- */

void http_verdict_plaintext(struct http_memo *m, const struct http_request_rec *rec, struct dis_ctx *ctx);
void http_verdict_auth(struct http_memo *m, const struct http_request_rec *rec, const struct http_auth_seen *a,
                       struct dis_ctx *ctx);
/* where: "request-target" or "location"; user or param (one of them) set. */
void http_verdict_url_creds(struct http_memo *m, const struct http_request_rec *rec, const char *where,
                            const char *user, const char *param, struct dis_ctx *ctx);
void http_verdict_form(struct http_memo *m, const struct http_request_rec *rec, struct dis_ctx *ctx);
/* ck: the first n of `total` cookies the response set. */
void http_verdict_cookies(struct http_memo *m, const struct http_request_rec *rec, const struct http_cookie_seen *ck,
                          size_t n, size_t total, struct dis_ctx *ctx);
void http_verdict_redirect(struct http_memo *m, const struct http_request_rec *rec, struct dis_ctx *ctx);

#endif
