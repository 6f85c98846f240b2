/* http.h — the plaintext HTTP/1.x dissector: its caps, the per-request record it emits, and
 * the few helpers its tests and the store share.
 *
 * One struct http_request_rec is emitted through dis_sink.http_request per request/response
 * pair (or per response without a seen request, or per request left unanswered at close).
 * Every text field is a bounded, NUL-terminated, printable-ASCII copy (other bytes become '?',
 * whitespace runs one space). By construction no field ever holds a password, a Basic
 * credential blob, a cookie value or a query string: the dissector copies names, never values.
 * See http.c for the RFC sections followed and what is ignored. */
#ifndef NZ_HTTP_H
#define NZ_HTTP_H

#include "core/limits.h"
#include "dissect/dissector.h"

/* The caps of this dissector (HTTP_HEAD_MAX, HTTP_PIPELINE_MAX, HTTP_FORM_PEEK,
 * HTTP_CHUNK_LINE_MAX, HTTP_VERDICTS_MAX and the obscure ones) are in core/limits.h. */

/* Field bounds (bytes, including the NUL). Longer values are cut. */
#define HTTP_METHOD_MAX 24   /* longest registered method: "UPDATEREDIRECTREF" (17) */
#define HTTP_HOST_MAX 256    /* DNS name: 253 chars (RFC 1035 §2.3.4) + brackets for IPv6 */
#define HTTP_PATH_MAX 512    /* path only: query, fragment and ";" path parameters never stored */
#define HTTP_CTYPE_MAX 64    /* media type without parameters ("application/json") */
#define HTTP_LOCATION_MAX 512 /* scheme://host[:port]/path — user info, query, ";" parameters removed */
#define HTTP_UA_MAX 256      /* User-Agent */
#define HTTP_NAME_MAX 64     /* a user name, form field name, query parameter name */
#define HTTP_SCHEME_MAX 24   /* auth scheme, e.g. "Negotiate-NTLM" */
#define HTTP_COOKIES_MAX 256 /* comma-separated Set-Cookie names */

/* http_request_rec.flags */
enum {
    HTTP_F_BASIC_AUTH = 1u << 0,       /* Basic credentials in clear; user name in auth_user */
    HTTP_F_OTHER_AUTH = 1u << 1,       /* Digest/NTLM/Bearer in clear; scheme in auth_scheme */
    HTTP_F_FORM_CREDS = 1u << 2,       /* form body with a password-like field; name in form_field */
    HTTP_F_URL_CREDS = 1u << 3,        /* user:pass@ in the target or a password-like query param */
    HTTP_F_SET_COOKIE = 1u << 4,       /* response set cookies; names in cookie_names */
    HTTP_F_H2C = 1u << 5,              /* Upgrade: h2c requested (or granted with 101) */
    HTTP_F_REQ_HEAD_TOO_LARGE = 1u << 6,  /* request head > HTTP_HEAD_MAX (only its start parsed) */
    HTTP_F_RESP_HEAD_TOO_LARGE = 1u << 7, /* response head > HTTP_HEAD_MAX */
    HTTP_F_ROOT_PATH = 1u << 8,        /* path is exactly "/" */
    HTTP_F_HTTPS_REDIRECT = 1u << 9,   /* 301/302/307/308 to https:// on the same host */
    HTTP_F_SWITCHED = 1u << 10,        /* 101 Switching Protocols: the flow left HTTP/1 */
    HTTP_F_TUNNEL = 1u << 11,          /* CONNECT answered 2xx: the rest is a tunnel */
    HTTP_F_UNPAIRED = 1u << 12,        /* response with no request seen (mid-stream/one-sided) */
    HTTP_F_OVERFLOW = 1u << 13,        /* response to a request beyond HTTP_PIPELINE_MAX */
    HTTP_F_TRUNCATED = 1u << 14,       /* flow ended or bytes were lost inside a message */
    HTTP_F_COOKIE_SECURE = 1u << 15    /* some Set-Cookie had the Secure attribute */
};

/* One request/response pair. Fixed size; strings NUL-terminated printable ASCII. */
struct http_request_rec {
    uint64_t flow_id;                 /* dis_ctx.flow_id */
    uint64_t ts_usec;                 /* packet time the request head completed (response's if
                                         HTTP_F_UNPAIRED/OVERFLOW) */
    uint64_t resp_ts_usec;            /* packet time the final response head completed; 0: none */
    char method[HTTP_METHOD_MAX];     /* "GET", …; "" if no request was seen */
    char host[HTTP_HOST_MAX];         /* lowercase, port removed; from the absolute-form target
                                         (RFC 9112 §3.2.2) else Host; "" if neither */
    uint16_t port;                    /* port written in that authority; 0 if none */
    char path[HTTP_PATH_MAX];         /* target path without query/fragment and without the
                                         ";…" parameters of its segments; "/" for an empty
                                         absolute-form path, "*" for OPTIONS *, "" for CONNECT */
    uint8_t req_minor;                /* request HTTP/1.x minor version (0 or 1; 9 max) */
    uint16_t status;                  /* final status code 100..999; 0 if no response */
    char content_type[HTTP_CTYPE_MAX];     /* response media type, lowercase, no parameters */
    char req_content_type[HTTP_CTYPE_MAX]; /* request media type, same form */
    char location[HTTP_LOCATION_MAX]; /* response Location, user info, query and ";…" path
                                         parameters removed */
    char user_agent[HTTP_UA_MAX];     /* request User-Agent */
    char auth_scheme[HTTP_SCHEME_MAX];/* "Basic", "Digest", "NTLM", "Negotiate-NTLM", "Bearer" */
    char auth_user[HTTP_NAME_MAX];    /* Basic/Digest user name; "" if none or undecodable */
    char form_field[HTTP_NAME_MAX];   /* first password-like form field name */
    char url_user[HTTP_NAME_MAX];     /* user of a user:pass@ authority in the target */
    char url_param[HTTP_NAME_MAX];    /* first password-like query parameter name */
    char cookie_names[HTTP_COOKIES_MAX]; /* Set-Cookie names, comma-separated, in order */
    uint64_t req_body_bytes;          /* request body payload bytes (chunk framing excluded) */
    uint64_t resp_body_bytes;         /* response body payload bytes (chunk framing excluded) */
    uint32_t flags;                   /* HTTP_F_* */
};

/* The dissector (name "http"). */
extern const struct dissector http_dissector;

/* Decides whether a form field or query parameter NAME looks like it carries a password.
 * The name is percent-decoded ('+' is a space), lowercased and split into words of [a-z0-9];
 * trailing digits of a word are ignored. It is password-like when some word is "pass" or "pw",
 * or ends with "password", "passwd", "passwort", "passphrase", "passcode", "pwd", "pswd",
 * "kennwort" or "motdepasse". So "password", "j_password", "user[password]", "newPassword",
 * "login_pwd", "pass", "password2" match; "passwordless", "bypass", "compass", "passenger",
 * "pwdhint" do not; "password_hint" does (a known false positive: a word may not be qualified).
 * Borrows name. */
bool http_name_is_password(struct bytes name);

#endif
