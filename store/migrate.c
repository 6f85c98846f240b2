/* migrate.c — netzwacht's schema history: an ordered, append-only list of SQL steps keyed
 * on PRAGMA user_version (https://sqlite.org/pragma.html#pragma_user_version).
 *
 * Step i (1-based) takes a database from user_version i-1 to i inside one BEGIN IMMEDIATE …
 * COMMIT: the step's SQL and the new user_version commit together or not at all. Steps
 * are never edited once released and the database is never recreated; a change is a new
 * step at the end (ALTER TABLE … ADD COLUMN, CREATE TABLE/INDEX). There are no
 * down-migrations: a database newer than the code is refused, not touched.
 * store/schema.md documents the resulting tables column by column. */
#include "store/migrate.h"

#include <stdio.h>

/* v1: runs, flows (without reassembly counters) and findings, plus their indexes.
 * Besides the query indexes (findings kind/ts/server_ip, flows server_ip/run_id) the
 * foreign-key child columns findings.run_id and findings.flow_id are indexed so that
 * deleting a run's flows (store_file_forget) does not scan findings once per flow. */
static const char v1_sql[] =
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY,"
    " source TEXT,"
    " mode TEXT,"
    " filter TEXT,"
    " version TEXT,"
    " first_ts TEXT,"
    " last_ts TEXT,"
    " packets INTEGER,"
    " bytes INTEGER,"
    " tcp_packets INTEGER,"
    " malformed INTEGER,"
    " pcap_recv INTEGER,"
    " pcap_drop INTEGER,"
    " pcap_ifdrop INTEGER,"
    " flows INTEGER,"
    " flows_evicted INTEGER,"
    " findings INTEGER DEFAULT 0,"
    " counters TEXT,"
    " finished INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE flows ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " client_ip TEXT,"
    " client_port INTEGER,"
    " server_ip TEXT,"
    " server_port INTEGER,"
    " ip_version INTEGER,"
    " app_proto TEXT,"
    " ndpi_proto TEXT,"
    " orient TEXT,"
    " end_reason TEXT,"
    " first_ts TEXT,"
    " last_ts TEXT,"
    " pkts_c2s INTEGER,"
    " pkts_s2c INTEGER,"
    " bytes_c2s INTEGER,"
    " bytes_s2c INTEGER,"
    " payload_c2s INTEGER,"
    " payload_s2c INTEGER"
    ");"
    "CREATE TABLE findings ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " flow_id INTEGER REFERENCES flows(id),"
    " ts TEXT,"
    " kind TEXT NOT NULL,"
    " severity TEXT NOT NULL,"
    " severity_rank INTEGER NOT NULL CHECK (severity_rank BETWEEN 0 AND 4),"
    " client_ip TEXT,"
    " client_port INTEGER,"
    " server_ip TEXT,"
    " server_port INTEGER,"
    " summary TEXT,"
    " evidence TEXT"
    ");"
    "CREATE INDEX findings_kind ON findings(kind);"
    "CREATE INDEX findings_ts ON findings(ts);"
    "CREATE INDEX findings_server_ip ON findings(server_ip);"
    "CREATE INDEX findings_run_id ON findings(run_id);"
    "CREATE INDEX findings_flow_id ON findings(flow_id);"
    "CREATE INDEX flows_server_ip ON flows(server_ip);"
    "CREATE INDEX flows_run_id ON flows(run_id);";

/* v2: content-hash dedup of input files, and the reassembly counters on flows. Rows that
 * existed before keep NULL in the new columns ("not measured"). */
static const char v2_sql[] =
    "CREATE TABLE files ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " path TEXT,"
    " sha256 TEXT NOT NULL UNIQUE,"
    " size INTEGER"
    ");"
    "CREATE INDEX files_run_id ON files(run_id);"
    "ALTER TABLE flows ADD COLUMN gaps INTEGER;"
    "ALTER TABLE flows ADD COLUMN gap_bytes INTEGER;"
    "ALTER TABLE flows ADD COLUMN overlaps INTEGER;"
    "ALTER TABLE flows ADD COLUMN overlap_diff INTEGER;"
    "ALTER TABLE flows ADD COLUMN retrans INTEGER;";

/* v3: protocol records — one row per TLS handshake and per HTTP request/response pair. */
static const char v3_sql[] =
    "CREATE TABLE tls_sessions ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " flow_id INTEGER REFERENCES flows(id),"
    " ts TEXT, ts_server TEXT,"
    " started_by TEXT,"
    " handshake_complete INTEGER,"
    " version TEXT, version_code INTEGER,"
    " cipher TEXT, cipher_code INTEGER, compression INTEGER,"
    " client_version TEXT, client_versions TEXT,"
    " sni TEXT, alpn_offered TEXT, alpn_chosen TEXT,"
    " groups_offered TEXT, key_share_groups TEXT, group_chosen TEXT, dhe_bits INTEGER,"
    " resumed INTEGER, downgrade_sentinel TEXT, fallback_scsv INTEGER,"
    " renegotiation_info TEXT, heartbeat INTEGER, ech INTEGER,"
    " ja3 TEXT, ja3_string TEXT, ja3s TEXT, ja3s_string TEXT, ja4 TEXT, ja4_r TEXT,"
    " alerts TEXT, cert_count INTEGER, cert_sizes TEXT,"
    " client_extensions TEXT, server_extensions TEXT, ciphers_offered TEXT"
    ");"
    "CREATE INDEX tls_sessions_flow ON tls_sessions(flow_id);"
    "CREATE INDEX tls_sessions_run ON tls_sessions(run_id);"
    "CREATE INDEX tls_sessions_sni ON tls_sessions(sni);"
    "CREATE TABLE http_requests ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " flow_id INTEGER REFERENCES flows(id),"
    " ts TEXT, method TEXT, host TEXT, port INTEGER, path TEXT, status INTEGER,"
    " content_type TEXT, request_content_type TEXT, location TEXT, user_agent TEXT,"
    " auth_scheme TEXT, auth_user TEXT, form_field TEXT, url_user TEXT, url_param TEXT,"
    " cookie_names TEXT, request_body_bytes INTEGER, response_body_bytes INTEGER, flags INTEGER"
    ");"
    "CREATE INDEX http_requests_flow ON http_requests(flow_id);"
    "CREATE INDEX http_requests_run ON http_requests(run_id);"
    "CREATE INDEX http_requests_host ON http_requests(host);";

/* v4: mail sessions (SMTP/IMAP/POP3 up to STARTTLS), with the server's endpoint kept in the row
 * so the per-server history the stripping verdicts read is one indexed lookup. */
static const char v4_sql[] =
    "CREATE TABLE smtp_sessions ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " flow_id INTEGER REFERENCES flows(id),"
    " ts TEXT, ts_end TEXT, protocol TEXT,"
    " client_ip TEXT, client_port INTEGER, server_ip TEXT, server_port INTEGER,"
    " greeting TEXT, greeting_host TEXT, helo TEXT, capabilities TEXT, auth_mechs TEXT,"
    " starttls_offered INTEGER, starttls_requested INTEGER, starttls_reply_code INTEGER,"
    " starttls_reply TEXT, starttls_accepted INTEGER, tls_started INTEGER,"
    " auth_mech TEXT, auth_user TEXT, auth_in_clear INTEGER, auth_ok INTEGER,"
    " plaintext_commands INTEGER, rcpts INTEGER, messages INTEGER, message_bytes INTEGER,"
    " mail_in_clear INTEGER, verdicts INTEGER, flags INTEGER"
    ");"
    "CREATE INDEX smtp_sessions_server ON smtp_sessions(server_ip, server_port, protocol, ts);"
    "CREATE INDEX smtp_sessions_flow ON smtp_sessions(flow_id);"
    "CREATE INDEX smtp_sessions_run ON smtp_sessions(run_id);";

/* v5: dedup by BLAKE2b-256 instead of SHA-256 (wolfSSL hashes BLAKE2b ~2.2x faster, which
 * matters: the content hash of a capture cost more CPU than analysing it), plus a cheap
 * pre-key (size + first and last 64 KiB) so only a file whose pre-key is known must be hashed
 * before it is analysed. Rows written before keep their SHA-256: hash_alg NULL means sha256. */
static const char v5_sql[] =
    "ALTER TABLE files RENAME COLUMN sha256 TO content_hash;"
    "ALTER TABLE files ADD COLUMN hash_alg TEXT;"
    "ALTER TABLE files ADD COLUMN quick TEXT;"
    "CREATE INDEX files_quick ON files(quick);";

/* v6: the server's leaf certificate on each TLS session (what the tls.cert_* verdicts read). */
static const char v6_sql[] =
    "ALTER TABLE tls_sessions ADD COLUMN cert_subject TEXT;"
    "ALTER TABLE tls_sessions ADD COLUMN cert_issuer TEXT;"
    "ALTER TABLE tls_sessions ADD COLUMN cert_not_before TEXT;"
    "ALTER TABLE tls_sessions ADD COLUMN cert_not_after TEXT;"
    "ALTER TABLE tls_sessions ADD COLUMN cert_key TEXT;"
    "ALTER TABLE tls_sessions ADD COLUMN cert_sig_alg TEXT;"
    "ALTER TABLE tls_sessions ADD COLUMN cert_san TEXT;"
    "ALTER TABLE tls_sessions ADD COLUMN cert_self_signed INTEGER;"
    "ALTER TABLE tls_sessions ADD COLUMN cert_sha256 TEXT;"
    "CREATE INDEX tls_sessions_cert ON tls_sessions(cert_sha256);";

struct migration {
    const char *what; /* one line for the log */
    const char *sql;  /* one or more statements, run with sqlite3_exec() */
};

/* v7: how often a queue between the engine's threads was full and a producer waited (the
 * sensor engine's back-pressure: nothing dropped, but a live run may have lost packets in the
 * kernel meanwhile). */
static const char v7_sql[] = "ALTER TABLE runs ADD COLUMN queue_full INTEGER;";

/* v8: trust (issue #11). Every certificate seen in clear once, keyed by the SHA-256 of its DER
 * (lowercase hex), with first/last seen in packet time; each distinct chain once, keyed by the
 * SHA-256 over its certificates' 32-byte SHA-256s in chain order (position 0 = the leaf); each
 * TLS session names its chain, the verification outcome against the trust store at packet
 * time, the name it was judged against and where that name came from, and the session's
 * security level in posttls-finger's words (none, encrypt, untrusted, trusted, verified; dane
 * later). smtp_sessions (SMTP, IMAP, POP3) get the level of the session too. */
static const char v8_sql[] =
    "CREATE TABLE certificates ("
    " sha256 TEXT PRIMARY KEY,"
    " spki_sha256 TEXT,"
    " subject TEXT, issuer TEXT, subject_cn TEXT, issuer_cn TEXT,"
    " serial TEXT, san_dns TEXT, san_ip TEXT, n_san_dns INTEGER,"
    " not_before TEXT, not_after TEXT,"
    " key_type TEXT, key_bits INTEGER, key_curve TEXT, sig_alg TEXT,"
    " is_ca INTEGER, path_len INTEGER, key_usage TEXT, ext_key_usage TEXT,"
    " self_issued INTEGER, version INTEGER, parsed_by TEXT, parse_error TEXT,"
    " der BLOB,"
    " first_seen TEXT, last_seen TEXT, first_run INTEGER, last_run INTEGER"
    ");"
    "CREATE INDEX certificates_spki ON certificates(spki_sha256);"
    "CREATE INDEX certificates_not_after ON certificates(not_after);"
    "CREATE TABLE cert_chains ("
    " chain_sha256 TEXT NOT NULL,"
    " position INTEGER NOT NULL,"
    " cert_sha256 TEXT NOT NULL,"
    " PRIMARY KEY (chain_sha256, position)"
    ") WITHOUT ROWID;"
    "CREATE INDEX cert_chains_cert ON cert_chains(cert_sha256);"
    "ALTER TABLE tls_sessions ADD COLUMN chain_sha256 TEXT;"
    "ALTER TABLE tls_sessions ADD COLUMN cert_spki_sha256 TEXT;"
    "ALTER TABLE tls_sessions ADD COLUMN trust TEXT;"
    "ALTER TABLE tls_sessions ADD COLUMN trust_reason TEXT;"
    "ALTER TABLE tls_sessions ADD COLUMN name_checked TEXT;"
    "ALTER TABLE tls_sessions ADD COLUMN name_source TEXT;"
    "ALTER TABLE tls_sessions ADD COLUMN name_match INTEGER;"
    "ALTER TABLE tls_sessions ADD COLUMN security_level TEXT;"
    "ALTER TABLE smtp_sessions ADD COLUMN security_level TEXT;"
    "CREATE INDEX tls_sessions_chain ON tls_sessions(chain_sha256);"
    "CREATE INDEX tls_sessions_spki ON tls_sessions(cert_spki_sha256);";

/* Append-only. Index i holds the step to user_version i+1. */
static const struct migration steps[] = {
    {"initial schema: runs, flows, findings", v1_sql},
    {"files table; flows reassembly counters", v2_sql},
    {"tls_sessions and http_requests tables", v3_sql},
    {"smtp_sessions table", v4_sql},
    {"files: BLAKE2b content hash, pre-key", v5_sql},
    {"tls_sessions: leaf certificate columns", v6_sql},
    {"runs: queue_full", v7_sql},
    {"certificates, cert_chains; TLS trust and security levels", v8_sql},
};

#define N_STEPS ((int)(sizeof steps / sizeof steps[0]))

int store_migrate_latest(void)
{
    return N_STEPS;
}

int store_db_user_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return NZ_EDB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : NZ_EDB;
}

/* Rolls back after a failed or abandoned step; a failing ROLLBACK is logged too. */
static void rollback(sqlite3 *db, const struct nz_log *log)
{
    if (!sqlite3_get_autocommit(db) && sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
        nz_logf(log, NZ_LOG_ERR, "store: ROLLBACK of a migration step failed: %s", sqlite3_errmsg(db));
}

/* Runs one step: BEGIN IMMEDIATE, re-check the version under the write lock, SQL,
 * user_version, COMMIT. Returns 0, NZ_EUNSUPPORTED or NZ_EDB (step rolled back). */
static int run_step(sqlite3 *db, int version, const struct nz_log *log)
{
    char sql[64];
    int cur = 0;
    const char *what = "BEGIN IMMEDIATE";

    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    /* Another process may have migrated between our first read and the lock. */
    what = "reading user_version";
    if (store_db_user_version(db, &cur) != 0)
        goto fail;
    if (cur > N_STEPS) {
        nz_logf(log, NZ_LOG_ERR,
                "store: database schema v%d is newer than this netzwacht (knows up to v%d); refusing it",
                cur, N_STEPS);
        rollback(db, log);
        return NZ_EUNSUPPORTED;
    }
    if (cur != version - 1 && cur < version) {
        nz_logf(log, NZ_LOG_ERR, "store: migration to v%d found the database at v%d", version, cur);
        rollback(db, log);
        return NZ_EDB;
    }
    if (cur < version) {
        what = steps[version - 1].what;
        if (sqlite3_exec(db, steps[version - 1].sql, NULL, NULL, NULL) != SQLITE_OK)
            goto fail;
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
        what = "setting user_version";
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            goto fail;
    }
    what = "COMMIT";
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    if (cur < version)
        nz_logf(log, NZ_LOG_INFO, "store: schema migrated to v%d (%s)", version, steps[version - 1].what);
    return 0;

fail:
    nz_logf(log, NZ_LOG_ERR, "store: migration to schema v%d failed (%s): %s", version, what,
            sqlite3_errmsg(db));
    rollback(db, log);
    return NZ_EDB;
}

int store_migrate_to(sqlite3 *db, int target, const struct nz_log *log)
{
    int cur = 0;

    if (!db || target < 1 || target > N_STEPS) {
        nz_logf(log, NZ_LOG_ERR, "store: no migration to schema v%d (known: v1..v%d)", target, N_STEPS);
        return NZ_EUSAGE;
    }
    if (store_db_user_version(db, &cur) != 0) {
        nz_logf(log, NZ_LOG_ERR, "store: cannot read the schema version: %s", sqlite3_errmsg(db));
        return NZ_EDB;
    }
    if (cur > N_STEPS) {
        nz_logf(log, NZ_LOG_ERR,
                "store: database schema v%d is newer than this netzwacht (knows up to v%d); refusing it",
                cur, N_STEPS);
        return NZ_EUNSUPPORTED;
    }
    for (int v = cur + 1; v <= target; v++) {
        int rc = run_step(db, v, log);
        if (rc != 0)
            return rc;
    }
    return 0;
}
