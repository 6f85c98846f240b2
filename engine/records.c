/* records.c — the dissectors' records as column values for the store. See records.h. */
#include "engine/records.h"

#include <stdio.h>
#include <string.h>

#include "dissect/fingerprint.h"
#include "dissect/http.h"
#include "dissect/mail.h"
#include "dissect/tls.h"
#include "dissect/x509.h"

/* Text of at most cap bytes; "" is stored as NULL ("not seen"). */
static struct store_val txt(const char *s, size_t cap) { return (struct store_val){STORE_V_TEXT, 0, s, cap}; }
/* Text that is a NUL-terminated C string of any length. */
static struct store_val str(const char *s) { return (struct store_val){STORE_V_TEXT, 0, s, s ? strlen(s) : 0}; }
static struct store_val num(int64_t v) { return (struct store_val){STORE_V_INT, v, NULL, 0}; }
/* A count: clamped to INT64_MAX. */
static struct store_val u64(uint64_t v) { return num(v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v); }
/* An integer where 0 means "none": stored as NULL. */
static struct store_val opt(int64_t v) { return v ? num(v) : (struct store_val){STORE_V_NULL, 0, NULL, 0}; }
static struct store_val null(void) { return (struct store_val){STORE_V_NULL, 0, NULL, 0}; }
/* A packet time in microseconds; 0 is stored as NULL. */
static struct store_val ts(uint64_t usec) { return (struct store_val){STORE_V_TS, (int64_t)usec, NULL, 0}; }

#define TXT(field) txt(r->field, sizeof r->field)

/* printf's "%04x" of v <= 0xffffff (4 to 6 digits) at out, without a NUL; returns the digits
 * written. A TLS session lists up to FP_CIPHERS_MAX suites, and one snprintf() per suite was
 * the larger part of records_tls_add()'s own time. */
static size_t hex4(char *out, uint32_t v)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = v > 0xfffffu ? 6 : v > 0xffffu ? 5 : 4;
    for (size_t k = n; k-- > 0; v >>= 4)
        out[k] = hex[v & 15u];
    return n;
}

static const char *version_text(uint16_t v, char *buf, size_t cap)
{
    const char *n = tls_version_name(v);
    if (n)
        return n;
    if (!v)
        return NULL;
    snprintf(buf, cap, "0x%04x", v);
    return buf;
}

/* Text of a validity bound before 1970 (the TS column type is unsigned), in store_ts_iso's
 * "YYYY-MM-DDTHH:MM:SS.000000Z" shape so the column sorts and parses alike. */
static struct store_val old_ts(int64_t secs, char *buf, size_t cap)
{
    char t[32];
    x509_iso_time(secs, t, sizeof t);
    size_t n = strlen(t);
    if (n < 2 || t[n - 1] != 'Z')
        return null();
    t[n - 1] = '\0';
    snprintf(buf, cap, "%s.000000Z", t);
    return str(buf);
}

/* 32 bytes as 64 lowercase hex digits into buf (65 bytes). */
static const char *hex32(const uint8_t *b, char *buf)
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        buf[2 * i] = hx[b[i] >> 4];
        buf[2 * i + 1] = hx[b[i] & 15];
    }
    buf[64] = '\0';
    return buf;
}

/* The leaf certificate's columns (all NULL when it was not parsed; a certificate whose DER is
 * broken keeps its fingerprint). key: room for its text, nb/na: for pre-1970 dates. */
static void cert_vals(const struct tls_session_rec *r, struct store_val *v, char *key, size_t keycap,
                      char *nb, char *na, size_t tcap)
{
    for (int i = STORE_TLS_CERT_SUBJECT; i <= STORE_TLS_CERT_SHA256; i++)
        v[i] = null();
    const struct cert_info *c = &r->leaf;
    if (c->sha256_hex[0])
        v[STORE_TLS_CERT_SHA256] = txt(c->sha256_hex, sizeof c->sha256_hex);
    if (!r->leaf_parsed)
        return;
    snprintf(key, keycap, "%s-%u", x509_key_type_name(c->key_type), c->key_bits);
    v[STORE_TLS_CERT_SUBJECT] = txt(c->subject_cn, sizeof c->subject_cn);
    v[STORE_TLS_CERT_ISSUER] = txt(c->issuer_cn, sizeof c->issuer_cn);
    if (c->dates_valid)
        v[STORE_TLS_CERT_NOT_BEFORE] = c->not_before >= 0 ? ts((uint64_t)c->not_before * 1000000u)
                                                          : old_ts(c->not_before, nb, tcap);
    if (c->dates_valid)
        v[STORE_TLS_CERT_NOT_AFTER] = c->not_after >= 0 ? ts((uint64_t)c->not_after * 1000000u)
                                                        : old_ts(c->not_after, na, tcap);
    v[STORE_TLS_CERT_KEY] = str(key);
    v[STORE_TLS_CERT_SIG_ALG] = txt(c->sig_alg, sizeof c->sig_alg);
    v[STORE_TLS_CERT_SAN] = txt(c->san_dns, sizeof c->san_dns);
    v[STORE_TLS_CERT_SELF_SIGNED] = num(c->self_issued && r->cert_count == 1);
}

int records_tls_add(struct store *s, int64_t run_id, int64_t flow_id, const struct tls_session_rec *r)
{
    if (!r)
        return NZ_EUSAGE;
    struct store_val v[STORE_TLS_NCOLS];
    char cv[16], key[40], ciphers[FP_CIPHERS_MAX * 7 + 1];
    size_t cl = 0;
    for (size_t i = 0; i < r->n_ciphers_offered && i < FP_CIPHERS_MAX; i++) {
        if (i)
            ciphers[cl++] = ',';
        cl += hex4(ciphers + cl, r->ciphers_offered[i] & 0xffffffu);
    }
    ciphers[cl] = '\0';
    v[STORE_TLS_TS] = ts(r->ts_usec);
    v[STORE_TLS_TS_SERVER] = ts(r->ts_server_usec);
    v[STORE_TLS_STARTED_BY] = TXT(started_by);
    v[STORE_TLS_HANDSHAKE_COMPLETE] = num(r->handshake_complete);
    v[STORE_TLS_VERSION] = TXT(version);
    v[STORE_TLS_VERSION_CODE] = opt(r->version_code);
    v[STORE_TLS_CIPHER] = r->cipher_set ? TXT(cipher) : null();
    v[STORE_TLS_CIPHER_CODE] = r->cipher_set ? num(r->cipher_code) : null();
    v[STORE_TLS_COMPRESSION] = r->compression_set ? num(r->compression) : null();
    v[STORE_TLS_CLIENT_VERSION] = str(version_text(r->client_version, cv, sizeof cv));
    v[STORE_TLS_CLIENT_VERSIONS] = TXT(client_versions);
    v[STORE_TLS_SNI] = TXT(sni);
    v[STORE_TLS_ALPN_OFFERED] = TXT(alpn_offered);
    v[STORE_TLS_ALPN_CHOSEN] = TXT(alpn_chosen);
    v[STORE_TLS_GROUPS_OFFERED] = TXT(groups_offered);
    v[STORE_TLS_KEY_SHARE_GROUPS] = TXT(key_share_groups);
    v[STORE_TLS_GROUP_CHOSEN] = TXT(group_name);
    v[STORE_TLS_DHE_BITS] = opt(r->dhe_bits);
    v[STORE_TLS_RESUMED] = num(r->resumed);
    v[STORE_TLS_DOWNGRADE_SENTINEL] = str(r->sentinel == TLS_SENTINEL_TLS12   ? "tls12"
                                          : r->sentinel == TLS_SENTINEL_TLS11 ? "tls11"
                                                                              : NULL);
    v[STORE_TLS_FALLBACK_SCSV] = num(r->fallback_scsv);
    v[STORE_TLS_RENEGOTIATION_INFO] = str(r->server_ri ? "server" : (r->client_ri || r->reneg_scsv) ? "client" : NULL);
    v[STORE_TLS_HEARTBEAT] = num(r->server_heartbeat ? 2 : r->client_heartbeat ? 1 : 0);
    v[STORE_TLS_ECH] = num(r->client_ech);
    v[STORE_TLS_JA3] = TXT(ja3);
    v[STORE_TLS_JA3_STRING] = TXT(ja3_str);
    v[STORE_TLS_JA3S] = TXT(ja3s);
    v[STORE_TLS_JA3S_STRING] = TXT(ja3s_str);
    v[STORE_TLS_JA4] = TXT(ja4);
    v[STORE_TLS_JA4_R] = TXT(ja4_r);
    v[STORE_TLS_ALERTS] = TXT(alerts_text);
    v[STORE_TLS_CERT_COUNT] = num(r->cert_count);
    v[STORE_TLS_CERT_SIZES] = TXT(cert_sizes);
    v[STORE_TLS_CLIENT_EXTENSIONS] = TXT(client_exts);
    v[STORE_TLS_SERVER_EXTENSIONS] = TXT(server_exts);
    v[STORE_TLS_CIPHERS_OFFERED] = txt(ciphers, sizeof ciphers);
    char nb[48], na[48];
    cert_vals(r, v, key, sizeof key, nb, na, sizeof nb);
    char chain[65], spki[65];
    v[STORE_TLS_CHAIN_SHA256] = r->chain_n ? str(hex32(r->chain_hash, chain)) : null();
    v[STORE_TLS_CERT_SPKI_SHA256] = r->leaf_spki_set ? str(hex32(r->leaf_spki, spki)) : null();
    v[STORE_TLS_TRUST] = str(r->chain_n ? trust_status_name(r->trust.status) : NULL);
    v[STORE_TLS_TRUST_REASON] = r->chain_n && r->trust.reason != TR_NONE ? str(trust_reason_name(r->trust.reason)) : null();
    v[STORE_TLS_NAME_CHECKED] = r->chain_n ? TXT(name_checked) : null();
    v[STORE_TLS_NAME_SOURCE] = r->chain_n ? TXT(name_source) : null();
    v[STORE_TLS_NAME_MATCH] = r->leaf_parsed && r->leaf.host_checked ? num(r->leaf.host_match) : null();
    v[STORE_TLS_SECURITY_LEVEL] = str(tls_level_name(r->level));
    return store_record_add(s, STORE_TBL_TLS, run_id, flow_id, v, STORE_TLS_NCOLS);
}

int records_http_add(struct store *s, int64_t run_id, int64_t flow_id, const struct http_request_rec *r)
{
    if (!r)
        return NZ_EUSAGE;
    struct store_val v[STORE_HTTP_NCOLS];
    v[STORE_HTTP_TS] = ts(r->ts_usec);
    v[STORE_HTTP_METHOD] = TXT(method);
    v[STORE_HTTP_HOST] = TXT(host);
    v[STORE_HTTP_PORT] = opt(r->port);
    v[STORE_HTTP_PATH] = TXT(path);
    v[STORE_HTTP_STATUS] = opt(r->status);
    v[STORE_HTTP_CONTENT_TYPE] = TXT(content_type);
    v[STORE_HTTP_REQUEST_CONTENT_TYPE] = TXT(req_content_type);
    v[STORE_HTTP_LOCATION] = TXT(location);
    v[STORE_HTTP_USER_AGENT] = TXT(user_agent);
    v[STORE_HTTP_AUTH_SCHEME] = TXT(auth_scheme);
    v[STORE_HTTP_AUTH_USER] = TXT(auth_user);
    v[STORE_HTTP_FORM_FIELD] = TXT(form_field);
    v[STORE_HTTP_URL_USER] = TXT(url_user);
    v[STORE_HTTP_URL_PARAM] = TXT(url_param);
    v[STORE_HTTP_COOKIE_NAMES] = TXT(cookie_names);
    v[STORE_HTTP_REQUEST_BODY_BYTES] = u64(r->req_body_bytes);
    v[STORE_HTTP_RESPONSE_BODY_BYTES] = u64(r->resp_body_bytes);
    v[STORE_HTTP_FLAGS] = num(r->flags);
    return store_record_add(s, STORE_TBL_HTTP, run_id, flow_id, v, STORE_HTTP_NCOLS);
}

int records_mail_add(struct store *s, int64_t run_id, int64_t flow_id, const struct store_endpoints *ep,
                     const struct mail_session_rec *r)
{
    if (!r)
        return NZ_EUSAGE;
    struct store_val v[STORE_MAIL_NCOLS];
    v[STORE_MAIL_TS] = ts(r->ts_usec);
    v[STORE_MAIL_TS_END] = ts(r->ts_end_usec);
    v[STORE_MAIL_PROTOCOL] = TXT(proto);
    v[STORE_MAIL_CLIENT_IP] = txt(ep ? ep->client_ip : NULL, 64);
    v[STORE_MAIL_CLIENT_PORT] = opt(ep ? ep->client_port : 0);
    v[STORE_MAIL_SERVER_IP] = txt(ep ? ep->server_ip : NULL, 64);
    v[STORE_MAIL_SERVER_PORT] = opt(ep ? ep->server_port : 0);
    v[STORE_MAIL_GREETING] = TXT(greeting);
    v[STORE_MAIL_GREETING_HOST] = TXT(greeting_host);
    v[STORE_MAIL_HELO] = TXT(helo);
    v[STORE_MAIL_CAPABILITIES] = TXT(capabilities);
    v[STORE_MAIL_AUTH_MECHS] = TXT(auth_mechs);
    v[STORE_MAIL_STARTTLS_OFFERED] = num(r->starttls_offered);
    v[STORE_MAIL_STARTTLS_REQUESTED] = num(r->starttls_requested);
    v[STORE_MAIL_STARTTLS_REPLY_CODE] = opt(r->starttls_reply_code);
    v[STORE_MAIL_STARTTLS_REPLY] = TXT(starttls_reply);
    v[STORE_MAIL_STARTTLS_ACCEPTED] = num(r->starttls_accepted);
    v[STORE_MAIL_TLS_STARTED] = num(r->tls_started);
    v[STORE_MAIL_AUTH_MECH] = TXT(auth_mech);
    v[STORE_MAIL_AUTH_USER] = TXT(auth_user);
    v[STORE_MAIL_AUTH_IN_CLEAR] = num(r->auth_in_clear);
    v[STORE_MAIL_AUTH_OK] = num(r->auth_ok);
    v[STORE_MAIL_PLAINTEXT_COMMANDS] = num((int64_t)r->plaintext_commands);
    v[STORE_MAIL_RCPTS] = num((int64_t)r->rcpts);
    v[STORE_MAIL_MESSAGES] = num((int64_t)r->messages);
    v[STORE_MAIL_MESSAGE_BYTES] = u64(r->message_bytes);
    v[STORE_MAIL_MAIL_IN_CLEAR] = num(r->mail_in_clear);
    v[STORE_MAIL_VERDICTS] = num((int64_t)r->verdicts);
    v[STORE_MAIL_FLAGS] = num((int64_t)r->flags);
    /* TLS started: the TLS session's level replaces this when its record arrives. */
    v[STORE_MAIL_SECURITY_LEVEL] = str(r->tls_started ? "encrypt" : "none");
    return store_record_add(s, STORE_TBL_MAIL, run_id, flow_id, v, STORE_MAIL_NCOLS);
}
