/* records.c — protocol record tables: tls_sessions (one row per TLS handshake) and
 * http_requests (one row per request/response pair). The tables come from migration v3
 * (migrate.c); statements are prepared once per store and reused. */
#include <stdio.h>
#include <string.h>

#include "dissect/http.h"
#include "dissect/mail.h"
#include "dissect/tls.h"
#include "dissect/x509.h"
#include "store/migrate.h"
#include "store/store.h"

enum { REC_TLS = 0, REC_HTTP = 1, REC_MAIL = 2, REC_MAIL_HIST = 3, REC_MAIL_LAST_OFFERED = 4, REC_MAIL_LAST_ACCEPTED = 5, REC_QUICK_SEEN = 6, REC_QUICK_SET = 7, REC_LEGACY = 8 };

static const char tls_sql[] =
    "INSERT INTO tls_sessions (run_id, flow_id, ts, ts_server, started_by, handshake_complete,"
    " version, version_code, cipher, cipher_code, compression, client_version, client_versions,"
    " sni, alpn_offered, alpn_chosen, groups_offered, key_share_groups, group_chosen, dhe_bits,"
    " resumed, downgrade_sentinel, fallback_scsv, renegotiation_info, heartbeat, ech,"
    " ja3, ja3_string, ja3s, ja3s_string, ja4, ja4_r, alerts, cert_count, cert_sizes,"
    " client_extensions, server_extensions, ciphers_offered, cert_subject, cert_issuer, cert_not_before,"
    " cert_not_after, cert_key, cert_sig_alg, cert_san, cert_self_signed, cert_sha256)"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,"
    "?25,?26,?27,?28,?29,?30,?31,?32,?33,?34,?35,?36,?37,?38,?39,?40,?41,?42,?43,?44,?45,?46,?47)";

static const char http_sql[] =
    "INSERT INTO http_requests (run_id, flow_id, ts, method, host, port, path, status, content_type,"
    " request_content_type, location, user_agent, auth_scheme, auth_user, form_field, url_user,"
    " url_param, cookie_names, request_body_bytes, response_body_bytes, flags)"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21)";

static const char mail_sql[] =
    "INSERT INTO smtp_sessions (run_id, flow_id, ts, ts_end, protocol, client_ip, client_port, server_ip,"
    " server_port, greeting, greeting_host, helo, capabilities, auth_mechs, starttls_offered,"
    " starttls_requested, starttls_reply_code, starttls_reply, starttls_accepted, tls_started, auth_mech,"
    " auth_user, auth_in_clear, auth_ok, plaintext_commands, rcpts, messages, message_bytes,"
    " mail_in_clear, verdicts, flags)"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,"
    "?25,?26,?27,?28,?29,?30,?31)";

static const char hist_sql[] =
    "SELECT count(*), coalesce(sum(starttls_offered), 0), coalesce(sum(starttls_accepted), 0)"
    " FROM smtp_sessions WHERE server_ip = ?1 AND server_port = ?2 AND protocol = ?3 AND ts < ?4";
static const char last_offered_sql[] =
    "SELECT id, ts FROM smtp_sessions WHERE server_ip = ?1 AND server_port = ?2 AND protocol = ?3"
    " AND ts < ?4 AND starttls_offered = 1 ORDER BY ts DESC, id DESC LIMIT 1";
static const char last_accepted_sql[] =
    "SELECT id, ts FROM smtp_sessions WHERE server_ip = ?1 AND server_port = ?2 AND protocol = ?3"
    " AND ts < ?4 AND starttls_accepted = 1 ORDER BY ts DESC, id DESC LIMIT 1";

/* Binds a NUL-terminated field of at most cap bytes; "" binds NULL ("not seen"). */
static int bind_txt(sqlite3_stmt *st, int i, const char *v, size_t cap)
{
    if (!v || !v[0])
        return sqlite3_bind_null(st, i);
    size_t n = strnlen(v, cap);
    return sqlite3_bind_text(st, i, v, (int)n, SQLITE_TRANSIENT);
}

static int bind_ts(sqlite3_stmt *st, int i, uint64_t ts)
{
    char buf[40];
    if (!ts || !store_ts_iso(ts, buf, sizeof buf))
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
}

static int bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
    return sqlite3_bind_int64(st, i, v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v);
}

static int bind_flow(sqlite3_stmt *st, int i, int64_t flow_id)
{
    return flow_id > 0 ? sqlite3_bind_int64(st, i, flow_id) : sqlite3_bind_null(st, i);
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

int store_tls_session_add(struct store *s, int64_t run_id, int64_t flow_id, const struct tls_session_rec *r)
{
    if (!s || !r || run_id <= 0)
        return NZ_EUSAGE;
    int rc = store_batch_begin(s);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_rec_stmt(s, REC_TLS, tls_sql);
    if (!st)
        return NZ_EDB;
    char cv[16], ciphers[FP_CIPHERS_MAX * 7 + 1];
    size_t cl = 0;
    ciphers[0] = '\0';
    for (size_t i = 0; i < r->n_ciphers_offered && i < FP_CIPHERS_MAX; i++)
        cl += (size_t)snprintf(ciphers + cl, sizeof ciphers - cl, "%s%04x", i ? "," : "", r->ciphers_offered[i] & 0xffffffu);
    int b = 0;
    b |= sqlite3_bind_int64(st, 1, run_id);
    b |= bind_flow(st, 2, flow_id);
    b |= bind_ts(st, 3, r->ts_usec);
    b |= bind_ts(st, 4, r->ts_server_usec);
    b |= bind_txt(st, 5, r->started_by, sizeof r->started_by);
    b |= sqlite3_bind_int(st, 6, r->handshake_complete);
    b |= bind_txt(st, 7, r->version, sizeof r->version);
    b |= r->version_code ? sqlite3_bind_int(st, 8, r->version_code) : sqlite3_bind_null(st, 8);
    b |= r->cipher_set ? bind_txt(st, 9, r->cipher, sizeof r->cipher) : sqlite3_bind_null(st, 9);
    b |= r->cipher_set ? sqlite3_bind_int64(st, 10, r->cipher_code) : sqlite3_bind_null(st, 10);
    b |= r->compression_set ? sqlite3_bind_int(st, 11, r->compression) : sqlite3_bind_null(st, 11);
    const char *cvt = version_text(r->client_version, cv, sizeof cv);
    b |= cvt ? sqlite3_bind_text(st, 12, cvt, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, 12);
    b |= bind_txt(st, 13, r->client_versions, sizeof r->client_versions);
    b |= bind_txt(st, 14, r->sni, sizeof r->sni);
    b |= bind_txt(st, 15, r->alpn_offered, sizeof r->alpn_offered);
    b |= bind_txt(st, 16, r->alpn_chosen, sizeof r->alpn_chosen);
    b |= bind_txt(st, 17, r->groups_offered, sizeof r->groups_offered);
    b |= bind_txt(st, 18, r->key_share_groups, sizeof r->key_share_groups);
    b |= bind_txt(st, 19, r->group_name, sizeof r->group_name);
    b |= r->dhe_bits ? sqlite3_bind_int(st, 20, r->dhe_bits) : sqlite3_bind_null(st, 20);
    b |= sqlite3_bind_int(st, 21, r->resumed);
    b |= r->sentinel == TLS_SENTINEL_TLS12   ? sqlite3_bind_text(st, 22, "tls12", -1, SQLITE_STATIC)
         : r->sentinel == TLS_SENTINEL_TLS11 ? sqlite3_bind_text(st, 22, "tls11", -1, SQLITE_STATIC)
                                             : sqlite3_bind_null(st, 22);
    b |= sqlite3_bind_int(st, 23, r->fallback_scsv);
    const char *ri = r->server_ri ? "server" : (r->client_ri || r->reneg_scsv) ? "client" : NULL;
    b |= ri ? sqlite3_bind_text(st, 24, ri, -1, SQLITE_STATIC) : sqlite3_bind_null(st, 24);
    b |= sqlite3_bind_int(st, 25, r->server_heartbeat ? 2 : r->client_heartbeat ? 1 : 0);
    b |= sqlite3_bind_int(st, 26, r->client_ech);
    b |= bind_txt(st, 27, r->ja3, sizeof r->ja3);
    b |= bind_txt(st, 28, r->ja3_str, sizeof r->ja3_str);
    b |= bind_txt(st, 29, r->ja3s, sizeof r->ja3s);
    b |= bind_txt(st, 30, r->ja3s_str, sizeof r->ja3s_str);
    b |= bind_txt(st, 31, r->ja4, sizeof r->ja4);
    b |= bind_txt(st, 32, r->ja4_r, sizeof r->ja4_r);
    b |= bind_txt(st, 33, r->alerts_text, sizeof r->alerts_text);
    b |= sqlite3_bind_int64(st, 34, r->cert_count);
    b |= bind_txt(st, 35, r->cert_sizes, sizeof r->cert_sizes);
    b |= bind_txt(st, 36, r->client_exts, sizeof r->client_exts);
    b |= bind_txt(st, 37, r->server_exts, sizeof r->server_exts);
    b |= bind_txt(st, 38, ciphers, sizeof ciphers);
    if (r->leaf_parsed) {
        const struct cert_info *c = &r->leaf;
        char key[40];
        snprintf(key, sizeof key, "%s-%u", x509_key_type_name(c->key_type), c->key_bits);
        b |= bind_txt(st, 39, c->subject_cn, sizeof c->subject_cn);
        b |= bind_txt(st, 40, c->issuer_cn, sizeof c->issuer_cn);
        b |= c->dates_valid && c->not_before >= 0 ? bind_ts(st, 41, (uint64_t)c->not_before * 1000000u)
                                                   : sqlite3_bind_null(st, 41);
        b |= c->dates_valid && c->not_after >= 0 ? bind_ts(st, 42, (uint64_t)c->not_after * 1000000u)
                                                  : sqlite3_bind_null(st, 42);
        b |= sqlite3_bind_text(st, 43, key, -1, SQLITE_TRANSIENT);
        b |= bind_txt(st, 44, c->sig_alg, sizeof c->sig_alg);
        b |= bind_txt(st, 45, c->san_dns, sizeof c->san_dns);
        b |= sqlite3_bind_int(st, 46, c->self_issued && r->cert_count == 1);
        b |= bind_txt(st, 47, c->sha256_hex, sizeof c->sha256_hex);
    } else {
        for (int i = 39; i <= 47; i++)
            b |= sqlite3_bind_null(st, i);
    }
    if (b != SQLITE_OK) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return NZ_EDB;
    }
    return store_row_insert(s, st, "inserting a TLS session", NULL);
}

int store_http_request_add(struct store *s, int64_t run_id, int64_t flow_id, const struct http_request_rec *r)
{
    if (!s || !r || run_id <= 0)
        return NZ_EUSAGE;
    int rc = store_batch_begin(s);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_rec_stmt(s, REC_HTTP, http_sql);
    if (!st)
        return NZ_EDB;
    int b = 0;
    b |= sqlite3_bind_int64(st, 1, run_id);
    b |= bind_flow(st, 2, flow_id);
    b |= bind_ts(st, 3, r->ts_usec);
    b |= bind_txt(st, 4, r->method, sizeof r->method);
    b |= bind_txt(st, 5, r->host, sizeof r->host);
    b |= r->port ? sqlite3_bind_int(st, 6, r->port) : sqlite3_bind_null(st, 6);
    b |= bind_txt(st, 7, r->path, sizeof r->path);
    b |= r->status ? sqlite3_bind_int(st, 8, r->status) : sqlite3_bind_null(st, 8);
    b |= bind_txt(st, 9, r->content_type, sizeof r->content_type);
    b |= bind_txt(st, 10, r->req_content_type, sizeof r->req_content_type);
    b |= bind_txt(st, 11, r->location, sizeof r->location);
    b |= bind_txt(st, 12, r->user_agent, sizeof r->user_agent);
    b |= bind_txt(st, 13, r->auth_scheme, sizeof r->auth_scheme);
    b |= bind_txt(st, 14, r->auth_user, sizeof r->auth_user);
    b |= bind_txt(st, 15, r->form_field, sizeof r->form_field);
    b |= bind_txt(st, 16, r->url_user, sizeof r->url_user);
    b |= bind_txt(st, 17, r->url_param, sizeof r->url_param);
    b |= bind_txt(st, 18, r->cookie_names, sizeof r->cookie_names);
    b |= bind_u64(st, 19, r->req_body_bytes);
    b |= bind_u64(st, 20, r->resp_body_bytes);
    b |= sqlite3_bind_int64(st, 21, r->flags);
    if (b != SQLITE_OK) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return NZ_EDB;
    }
    return store_row_insert(s, st, "inserting an HTTP request", NULL);
}

int store_mail_session_add(struct store *s, int64_t run_id, int64_t flow_id, const struct store_endpoints *ep,
                           const struct mail_session_rec *r)
{
    if (!s || !r || run_id <= 0)
        return NZ_EUSAGE;
    int rc = store_batch_begin(s);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_rec_stmt(s, REC_MAIL, mail_sql);
    if (!st)
        return NZ_EDB;
    int b = 0;
    b |= sqlite3_bind_int64(st, 1, run_id);
    b |= bind_flow(st, 2, flow_id);
    b |= bind_ts(st, 3, r->ts_usec);
    b |= bind_ts(st, 4, r->ts_end_usec);
    b |= bind_txt(st, 5, r->proto, sizeof r->proto);
    b |= bind_txt(st, 6, ep ? ep->client_ip : NULL, 64);
    b |= ep && ep->client_port ? sqlite3_bind_int(st, 7, ep->client_port) : sqlite3_bind_null(st, 7);
    b |= bind_txt(st, 8, ep ? ep->server_ip : NULL, 64);
    b |= ep && ep->server_port ? sqlite3_bind_int(st, 9, ep->server_port) : sqlite3_bind_null(st, 9);
    b |= bind_txt(st, 10, r->greeting, sizeof r->greeting);
    b |= bind_txt(st, 11, r->greeting_host, sizeof r->greeting_host);
    b |= bind_txt(st, 12, r->helo, sizeof r->helo);
    b |= bind_txt(st, 13, r->capabilities, sizeof r->capabilities);
    b |= bind_txt(st, 14, r->auth_mechs, sizeof r->auth_mechs);
    b |= sqlite3_bind_int(st, 15, r->starttls_offered);
    b |= sqlite3_bind_int(st, 16, r->starttls_requested);
    b |= r->starttls_reply_code ? sqlite3_bind_int(st, 17, r->starttls_reply_code) : sqlite3_bind_null(st, 17);
    b |= bind_txt(st, 18, r->starttls_reply, sizeof r->starttls_reply);
    b |= sqlite3_bind_int(st, 19, r->starttls_accepted);
    b |= sqlite3_bind_int(st, 20, r->tls_started);
    b |= bind_txt(st, 21, r->auth_mech, sizeof r->auth_mech);
    b |= bind_txt(st, 22, r->auth_user, sizeof r->auth_user);
    b |= sqlite3_bind_int(st, 23, r->auth_in_clear);
    b |= sqlite3_bind_int(st, 24, r->auth_ok);
    b |= sqlite3_bind_int64(st, 25, r->plaintext_commands);
    b |= sqlite3_bind_int64(st, 26, r->rcpts);
    b |= sqlite3_bind_int64(st, 27, r->messages);
    b |= bind_u64(st, 28, r->message_bytes);
    b |= sqlite3_bind_int(st, 29, r->mail_in_clear);
    b |= sqlite3_bind_int64(st, 30, r->verdicts);
    b |= sqlite3_bind_int64(st, 31, r->flags);
    if (b != SQLITE_OK) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return NZ_EDB;
    }
    return store_row_insert(s, st, "inserting a mail session", NULL);
}

/* Binds the four history parameters. */
static int bind_hist(sqlite3_stmt *st, const char *ip, uint16_t port, const char *proto, const char *before)
{
    int b = sqlite3_bind_text(st, 1, ip, -1, SQLITE_TRANSIENT);
    b |= sqlite3_bind_int(st, 2, port);
    b |= sqlite3_bind_text(st, 3, proto, -1, SQLITE_TRANSIENT);
    b |= sqlite3_bind_text(st, 4, before, -1, SQLITE_TRANSIENT);
    return b;
}

static int last_row(struct store *s, int slot, const char *sql, const char *ip, uint16_t port, const char *proto,
                    const char *before, int64_t *id, char *ts, size_t tscap)
{
    sqlite3_stmt *st = store_rec_stmt(s, slot, sql);
    if (!st || bind_hist(st, ip, port, proto, before) != SQLITE_OK)
        return NZ_EDB;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        const unsigned char *t = sqlite3_column_text(st, 1);
        snprintf(ts, tscap, "%s", t ? (const char *)t : "");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : NZ_EDB;
}

int store_mail_history_get(struct store *s, const char *server_ip, uint16_t server_port, const char *protocol,
                           const char *before_ts, struct store_mail_history *out)
{
    memset(out, 0, sizeof *out);
    if (!s || !server_ip || !protocol || !before_ts)
        return NZ_EUSAGE;
    sqlite3_stmt *st = store_rec_stmt(s, REC_MAIL_HIST, hist_sql);
    if (!st || bind_hist(st, server_ip, server_port, protocol, before_ts) != SQLITE_OK)
        return NZ_EDB;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->sessions = sqlite3_column_int64(st, 0);
        out->offered = sqlite3_column_int64(st, 1);
        out->accepted = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_ROW)
        return NZ_EDB;
    if (out->offered && last_row(s, REC_MAIL_LAST_OFFERED, last_offered_sql, server_ip, server_port, protocol,
                                 before_ts, &out->last_offered_id, out->last_offered_ts,
                                 sizeof out->last_offered_ts))
        return NZ_EDB;
    if (out->accepted && last_row(s, REC_MAIL_LAST_ACCEPTED, last_accepted_sql, server_ip, server_port, protocol,
                                  before_ts, &out->last_accepted_id, out->last_accepted_ts,
                                  sizeof out->last_accepted_ts))
        return NZ_EDB;
    return 0;
}

int store_file_quick_seen(struct store *s, const char *quick, bool *seen)
{
    *seen = false;
    if (!s || !quick)
        return NZ_EUSAGE;
    sqlite3_stmt *st = store_rec_stmt(s, REC_QUICK_SEEN, "SELECT 1 FROM files WHERE quick = ?1 LIMIT 1");
    if (!st || sqlite3_bind_text(st, 1, quick, -1, SQLITE_TRANSIENT) != SQLITE_OK)
        return NZ_EDB;
    int rc = sqlite3_step(st);
    *seen = rc == SQLITE_ROW;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : NZ_EDB;
}

int store_file_set_quick(struct store *s, const char *sha256hex, const char *quick)
{
    if (!s || !sha256hex || !quick)
        return NZ_EUSAGE;
    int rc = store_batch_begin(s);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_rec_stmt(s, REC_QUICK_SET, "UPDATE files SET quick = ?2 WHERE content_hash = ?1");
    if (!st)
        return NZ_EDB;
    if (sqlite3_bind_text(st, 1, sha256hex, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, quick, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return NZ_EDB;
    }
    return store_row_insert(s, st, "recording a file's pre-key", NULL);
}

int store_file_legacy_count(struct store *s, int64_t *n)
{
    *n = 0;
    if (!s)
        return NZ_EUSAGE;
    sqlite3_stmt *st = store_rec_stmt(s, REC_LEGACY, "SELECT count(*) FROM files WHERE hash_alg IS NULL");
    if (!st)
        return NZ_EDB;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : NZ_EDB;
}
