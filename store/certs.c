/* certs.c — the certificates and cert_chains tables (schema v8), the trust columns the writer
 * sets after a row exists, and the DROWN rows. Statements are prepared once per store (slots
 * of records.c's cache, see migrate.h). */
#include <stdio.h>
#include <string.h>

#include "store/migrate.h"
#include "store/store.h"

enum { SLOT_CERT_PUT = 9, SLOT_CERT_SEEN = 10, SLOT_CHAIN_PUT = 11, SLOT_MAIL_LEVEL = 12 };

static int bind_txt(sqlite3_stmt *st, int i, const char *s)
{
    return s && s[0] ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int bind_ts(sqlite3_stmt *st, int i, uint64_t usec)
{
    char buf[40];
    if (!usec || !store_ts_iso(usec, buf, sizeof buf))
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
}

static int bind_opt(sqlite3_stmt *st, int i, int64_t v, bool set)
{
    return set ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

static const char cert_put_sql[] =
    "INSERT INTO certificates (sha256, spki_sha256, subject, issuer, subject_cn, issuer_cn, serial,"
    " san_dns, san_ip, n_san_dns, not_before, not_after, key_type, key_bits, key_curve, sig_alg,"
    " is_ca, path_len, key_usage, ext_key_usage, self_issued, version, parsed_by, parse_error, der,"
    " first_seen, last_seen, first_run, last_run)"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,"
    "?26,?26,?27,?27)"
    " ON CONFLICT(sha256) DO UPDATE SET"
    " first_seen = CASE WHEN excluded.first_seen < first_seen OR first_seen IS NULL"
    "   THEN excluded.first_seen ELSE first_seen END,"
    " last_seen = CASE WHEN excluded.last_seen > last_seen OR last_seen IS NULL"
    "   THEN excluded.last_seen ELSE last_seen END,"
    " last_run = excluded.last_run";

int store_cert_put(struct store *s, int64_t run_id, const struct store_cert *c)
{
    if (!s || !c || !c->sha256 || !c->sha256[0])
        return NZ_EUSAGE;
    int rc = store_batch_begin(s);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_rec_stmt(s, SLOT_CERT_PUT, cert_put_sql);
    if (!st)
        return NZ_EDB;
    int b = bind_txt(st, 1, c->sha256);
    b |= bind_txt(st, 2, c->spki_sha256);
    b |= bind_txt(st, 3, c->subject);
    b |= bind_txt(st, 4, c->issuer);
    b |= bind_txt(st, 5, c->subject_cn);
    b |= bind_txt(st, 6, c->issuer_cn);
    b |= bind_txt(st, 7, c->serial);
    b |= bind_txt(st, 8, c->san_dns);
    b |= bind_txt(st, 9, c->san_ip);
    b |= bind_opt(st, 10, c->n_san_dns, c->parsed);
    b |= bind_txt(st, 11, c->not_before);
    b |= bind_txt(st, 12, c->not_after);
    b |= bind_txt(st, 13, c->key_type);
    b |= bind_opt(st, 14, c->key_bits, c->key_bits > 0);
    b |= bind_txt(st, 15, c->key_curve);
    b |= bind_txt(st, 16, c->sig_alg);
    b |= bind_opt(st, 17, c->is_ca, c->is_ca >= 0 && c->parsed);
    b |= bind_opt(st, 18, c->path_len, c->path_len >= 0);
    b |= bind_txt(st, 19, c->key_usage);
    b |= bind_txt(st, 20, c->ext_key_usage);
    b |= bind_opt(st, 21, c->self_issued, c->parsed);
    b |= bind_opt(st, 22, c->version, c->version > 0);
    b |= bind_txt(st, 23, c->parsed_by);
    b |= bind_txt(st, 24, c->parse_error);
    b |= c->der && c->der_len ? sqlite3_bind_blob(st, 25, c->der, (int)c->der_len, SQLITE_STATIC)
                              : sqlite3_bind_null(st, 25);
    b |= bind_ts(st, 26, c->seen_usec);
    b |= sqlite3_bind_int64(st, 27, run_id);
    if (b != SQLITE_OK) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return NZ_EDB;
    }
    return store_row_insert(s, st, "storing a certificate", NULL);
}

int store_cert_seen(struct store *s, int64_t run_id, const char *sha256, uint64_t first_usec, uint64_t last_usec)
{
    if (!s || !sha256)
        return NZ_EUSAGE;
    int rc = store_batch_begin(s);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_rec_stmt(s, SLOT_CERT_SEEN,
        "UPDATE certificates SET"
        " first_seen = CASE WHEN ?2 < first_seen OR first_seen IS NULL THEN ?2 ELSE first_seen END,"
        " last_seen = CASE WHEN ?4 > last_seen OR last_seen IS NULL THEN ?4 ELSE last_seen END,"
        " last_run = ?3 WHERE sha256 = ?1");
    if (!st)
        return NZ_EDB;
    int b = bind_txt(st, 1, sha256) | bind_ts(st, 2, first_usec) | sqlite3_bind_int64(st, 3, run_id) |
            bind_ts(st, 4, last_usec);
    if (b != SQLITE_OK) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return NZ_EDB;
    }
    return store_row_insert(s, st, "updating a certificate's last sight", NULL);
}

int store_chain_put(struct store *s, const char *chain_sha256, const char *const *cert_sha256, size_t n)
{
    if (!s || !chain_sha256 || (!cert_sha256 && n))
        return NZ_EUSAGE;
    int rc = store_batch_begin(s);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_rec_stmt(s, SLOT_CHAIN_PUT,
        "INSERT OR IGNORE INTO cert_chains (chain_sha256, position, cert_sha256) VALUES (?1, ?2, ?3)");
    if (!st)
        return NZ_EDB;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int b = bind_txt(st, 1, chain_sha256) | sqlite3_bind_int64(st, 2, (int64_t)i) |
                bind_txt(st, 3, cert_sha256[i]);
        if (b != SQLITE_OK) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return NZ_EDB;
        }
        rc = store_row_insert(s, st, "storing a certificate chain", NULL);
    }
    return rc;
}

int store_mail_level_set(struct store *s, int64_t run_id, int64_t flow_id, const char *level)
{
    if (!s || flow_id <= 0)
        return NZ_EUSAGE;
    int rc = store_batch_begin(s);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_rec_stmt(s, SLOT_MAIL_LEVEL,
        "UPDATE smtp_sessions SET security_level = ?3 WHERE flow_id = ?2 AND +run_id = ?1 AND tls_started = 1");
    if (!st)
        return NZ_EDB;
    int b = sqlite3_bind_int64(st, 1, run_id) | sqlite3_bind_int64(st, 2, flow_id) | bind_txt(st, 3, level);
    if (b != SQLITE_OK) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return NZ_EDB;
    }
    return store_row_insert(s, st, "setting a mail session's security level", NULL);
}

/* DROWN (issue #11): a key (SPKI) this database has seen in an SSLv2 session and in a TLS
 * session of a server (address:port, the same or another). One row per TLS server and key:
 * its first such TLS session, with the key's first SSLv2 session; only pairs one side of which
 * belongs to the run (so a later run does not repeat an earlier run's finding). "First" is by
 * packet time, then endpoints: never by row id, which depends on which worker wrote first. The
 * keys seen over SSLv2 are few: the query starts from them (tls_sessions_spki). */
static const char drown_sql[] =
    "WITH v2 AS (SELECT id AS v2id, k FROM ("
    "            SELECT t.id, t.cert_spki_sha256 AS k, row_number() OVER (PARTITION BY t.cert_spki_sha256"
    "                   ORDER BY t.ts, f.server_ip, f.server_port, f.client_ip, f.client_port) AS rn"
    "            FROM tls_sessions t JOIN flows f ON f.id = t.flow_id"
    "            WHERE t.version_code = 2 AND t.cert_spki_sha256 IS NOT NULL) WHERE rn = 1),"
    " pairs AS (SELECT tid, v2id FROM ("
    "            SELECT t.id AS tid, v2.v2id, row_number() OVER (PARTITION BY f.server_ip, f.server_port, v2.k"
    "                   ORDER BY t.ts, f.client_ip, f.client_port) AS rn"
    "            FROM v2 JOIN tls_sessions t ON t.cert_spki_sha256 = v2.k AND t.version_code > 2"
    "            JOIN flows f ON f.id = t.flow_id) WHERE rn = 1)"
    " SELECT t.id, t.flow_id, f.client_ip, f.client_port, f.server_ip, f.server_port, t.ts, t.version,"
    "        t.cert_spki_sha256, v.id, vf.server_ip, vf.server_port, v.ts, v.run_id"
    " FROM pairs p JOIN tls_sessions t ON t.id = p.tid JOIN flows f ON f.id = t.flow_id"
    " JOIN tls_sessions v ON v.id = p.v2id JOIN flows vf ON vf.id = v.flow_id"
    " WHERE t.run_id = ?1 OR v.run_id = ?1"
    " ORDER BY t.ts, f.server_ip, f.server_port";

int store_drown_rows(struct store *s, int64_t run_id, int (*fn)(void *ud, const struct store_drown_row *row),
                     void *ud)
{
    if (!s || !fn)
        return NZ_EUSAGE;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, drown_sql, -1, &st, NULL) != SQLITE_OK)
        return NZ_EDB;
    sqlite3_bind_int64(st, 1, run_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_drown_row r;
        memset(&r, 0, sizeof r);
        r.tls_id = sqlite3_column_int64(st, 0);
        r.flow_id = sqlite3_column_int64(st, 1);
        r.client_ip = (const char *)sqlite3_column_text(st, 2);
        r.client_port = (uint16_t)sqlite3_column_int(st, 3);
        r.server_ip = (const char *)sqlite3_column_text(st, 4);
        r.server_port = (uint16_t)sqlite3_column_int(st, 5);
        r.ts = (const char *)sqlite3_column_text(st, 6);
        r.version = (const char *)sqlite3_column_text(st, 7);
        r.spki_sha256 = (const char *)sqlite3_column_text(st, 8);
        r.sslv2_id = sqlite3_column_int64(st, 9);
        r.sslv2_server_ip = (const char *)sqlite3_column_text(st, 10);
        r.sslv2_server_port = (uint16_t)sqlite3_column_int(st, 11);
        r.sslv2_ts = (const char *)sqlite3_column_text(st, 12);
        r.sslv2_run_id = sqlite3_column_int64(st, 13);
        if (fn(ud, &r)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : NZ_EDB;
}
