/* records.c — protocol record tables: tls_sessions (one row per TLS handshake),
 * http_requests (one row per request/response pair) and smtp_sessions (one row per mail
 * session), written from column values (store.h); the per-server mail history the STARTTLS
 * verdicts read; the files' pre-keys. The tables come from migrations (migrate.c); statements
 * are prepared once per store and reused. */
#include <stdio.h>
#include <string.h>

#include "store/migrate.h"
#include "store/store.h"

enum { REC_TLS = 0, REC_HTTP = 1, REC_MAIL = 2, REC_MAIL_HIST = 3, REC_MAIL_LAST_OFFERED = 4, REC_MAIL_LAST_ACCEPTED = 5, REC_QUICK_ALGS = 6, REC_QUICK_SET = 7, REC_LEGACY = 8 };

#define COL_NAME_(e, c) #c,
static const char *const tls_cols[] = {STORE_TLS_COLUMNS(COL_NAME_)};
static const char *const http_cols[] = {STORE_HTTP_COLUMNS(COL_NAME_)};
static const char *const mail_cols[] = {STORE_MAIL_COLUMNS(COL_NAME_)};
#undef COL_NAME_
_Static_assert(sizeof tls_cols / sizeof tls_cols[0] == STORE_TLS_NCOLS, "tls columns");
_Static_assert(sizeof http_cols / sizeof http_cols[0] == STORE_HTTP_NCOLS, "http columns");
_Static_assert(sizeof mail_cols / sizeof mail_cols[0] == STORE_MAIL_NCOLS, "mail columns");

/* One record table: its name, its columns after run_id and flow_id, its statement slot and
 * what a failed insert is called in messages. */
static const struct rec_table {
    const char *name;
    const char *const *cols;
    size_t ncols;
    int slot;
    const char *what;
} rec_tables[STORE_TBL_COUNT] = {
    [STORE_TBL_TLS] = {"tls_sessions", tls_cols, STORE_TLS_NCOLS, REC_TLS, "inserting a TLS session"},
    [STORE_TBL_HTTP] = {"http_requests", http_cols, STORE_HTTP_NCOLS, REC_HTTP, "inserting an HTTP request"},
    [STORE_TBL_MAIL] = {"smtp_sessions", mail_cols, STORE_MAIL_NCOLS, REC_MAIL, "inserting a mail session"},
};

static const char hist_sql[] =
    "SELECT count(*), coalesce(sum(starttls_offered), 0), coalesce(sum(starttls_accepted), 0)"
    " FROM smtp_sessions WHERE server_ip = ?1 AND server_port = ?2 AND protocol = ?3 AND ts < ?4";
static const char last_offered_sql[] =
    "SELECT id, ts FROM smtp_sessions WHERE server_ip = ?1 AND server_port = ?2 AND protocol = ?3"
    " AND ts < ?4 AND starttls_offered = 1 ORDER BY ts DESC, id DESC LIMIT 1";
static const char last_accepted_sql[] =
    "SELECT id, ts FROM smtp_sessions WHERE server_ip = ?1 AND server_port = ?2 AND protocol = ?3"
    " AND ts < ?4 AND starttls_accepted = 1 ORDER BY ts DESC, id DESC LIMIT 1";

#define REC_SQL_MAX 2048 /* the longest INSERT (tls_sessions) is about 1100 bytes */

/* The table's INSERT, prepared on its first use: "INSERT INTO t (run_id, flow_id, c1, ...)
 * VALUES (?1,?2,?3,...)". */
static sqlite3_stmt *rec_insert_stmt(struct store *s, const struct rec_table *t)
{
    if (s->rec[t->slot])
        return s->rec[t->slot];
    char sql[REC_SQL_MAX];
    size_t n = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s (run_id, flow_id", t->name);
    for (size_t i = 0; i < t->ncols && n < sizeof sql; i++)
        n += (size_t)snprintf(sql + n, sizeof sql - n, ", %s", t->cols[i]);
    if (n < sizeof sql)
        n += (size_t)snprintf(sql + n, sizeof sql - n, ") VALUES (?1,?2");
    for (size_t i = 0; i < t->ncols && n < sizeof sql; i++)
        n += (size_t)snprintf(sql + n, sizeof sql - n, ",?%zu", i + 3);
    if (n < sizeof sql)
        n += (size_t)snprintf(sql + n, sizeof sql - n, ")");
    if (n >= sizeof sql)
        return NULL;
    return store_rec_stmt(s, t->slot, sql);
}

/* Room for the text of STORE_V_TS values of one row (the TLS table has four). */
#define REC_TS_SLOTS 8
#define REC_TS_LEN 40

/* Binds one value. Text is bound SQLITE_STATIC (no copy): the caller's strings are borrowed
 * for the whole store_record_add() call, which steps the statement and clears its bindings
 * before it returns; the text of a time goes into ts[*nts] (REC_TS_SLOTS of them, owned by
 * that call too), or is copied (SQLITE_TRANSIENT) once they are used up. */
static int bind_val(sqlite3_stmt *st, int i, const struct store_val *v, char (*ts)[REC_TS_LEN], size_t *nts)
{
    char tmp[REC_TS_LEN];
    switch (v->t) {
    case STORE_V_INT:
        return sqlite3_bind_int64(st, i, v->i);
    case STORE_V_TEXT:
        if (!v->s || !v->s[0])
            return sqlite3_bind_null(st, i);
        return sqlite3_bind_text(st, i, v->s, (int)strnlen(v->s, v->n), SQLITE_STATIC);
    case STORE_V_TS: {
        bool own = *nts < REC_TS_SLOTS;
        char *buf = own ? ts[*nts] : tmp;
        if (!v->i || !store_ts_iso((uint64_t)v->i, buf, REC_TS_LEN))
            return sqlite3_bind_null(st, i);
        *nts += own;
        return sqlite3_bind_text(st, i, buf, -1, own ? SQLITE_STATIC : SQLITE_TRANSIENT);
    }
    case STORE_V_NULL:
    default:
        return sqlite3_bind_null(st, i);
    }
}

int store_record_add(struct store *s, enum store_table tbl, int64_t run_id, int64_t flow_id,
                     const struct store_val *vals, size_t n)
{
    if (!s || !vals || run_id <= 0 || (unsigned)tbl >= STORE_TBL_COUNT || n != rec_tables[tbl].ncols ||
        n > (size_t)INT32_MAX - 2)
        return NZ_EUSAGE;
    const struct rec_table *t = &rec_tables[tbl];
    int rc = store_batch_begin(s);
    if (rc)
        return rc;
    sqlite3_stmt *st = rec_insert_stmt(s, t);
    if (!st)
        return NZ_EDB;
    char ts[REC_TS_SLOTS][REC_TS_LEN];
    size_t nts = 0;
    int b = sqlite3_bind_int64(st, 1, run_id);
    b |= flow_id > 0 ? sqlite3_bind_int64(st, 2, flow_id) : sqlite3_bind_null(st, 2);
    for (size_t i = 0; i < n; i++)
        b |= bind_val(st, (int)i + 3, &vals[i], ts, &nts);
    if (b != SQLITE_OK) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return NZ_EDB;
    }
    /* Resets the statement and clears its bindings (also on failure) before ts goes. */
    return store_row_insert(s, st, t->what, NULL);
}

/* Binds the four history parameters. */
static int bind_hist(sqlite3_stmt *st, const char *ip, uint16_t port, const char *proto, const char *before)
{
    /* SQLITE_STATIC: the callers step, reset and clear the statement before they return. */
    int b = sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
    b |= sqlite3_bind_int(st, 2, port);
    b |= sqlite3_bind_text(st, 3, proto, -1, SQLITE_STATIC);
    b |= sqlite3_bind_text(st, 4, before, -1, SQLITE_STATIC);
    if (b != SQLITE_OK)
        sqlite3_clear_bindings(st);
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

int store_file_quick_algs(struct store *s, const char *quick, unsigned *algs)
{
    *algs = 0;
    if (!s || !quick)
        return NZ_EUSAGE;
    sqlite3_stmt *st = store_rec_stmt(s, REC_QUICK_ALGS,
                                      "SELECT DISTINCT coalesce(hash_alg, 'sha256') FROM files WHERE quick = ?1");
    if (!st || sqlite3_bind_text(st, 1, quick, -1, SQLITE_TRANSIENT) != SQLITE_OK)
        return NZ_EDB;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *alg = (const char *)sqlite3_column_text(st, 0);
        if (!alg)
            *algs |= STORE_ALG_OTHER;
        else if (strcmp(alg, STORE_FILE_HASH_ALG) == 0)
            *algs |= STORE_ALG_BLAKE3;
        else if (strcmp(alg, "blake2b-256") == 0)
            *algs |= STORE_ALG_BLAKE2B;
        else if (strcmp(alg, "sha256") == 0)
            *algs |= STORE_ALG_SHA256;
        else
            *algs |= STORE_ALG_OTHER;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : NZ_EDB;
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
