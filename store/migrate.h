/* migrate.h — store/ internals: schema migrations, the layout of struct store shared by
 * store.c and query.c, and hooks the tests use. Not part of the public interface
 * (store.h); only the store/ sources and tests/check_store.c include it.
 *
 * Migrations are an ordered, append-only list of SQL steps; step i (1-based) brings the
 * database to PRAGMA user_version i. Each step runs in its own BEGIN IMMEDIATE … COMMIT,
 * so a failure leaves the database at the previous version, never half-migrated. */
#ifndef NZ_STORE_MIGRATE_H
#define NZ_STORE_MIGRATE_H

#include <sqlite3.h>

#include "store/store.h"

/* Cached prepared statements, one per write/lookup the store does. Prepared once in
 * store_open() (after migration), reset + cleared after every use, finalized in
 * store_close(). The SQL for each is in store.c's stmt_sql[]. */
#define STORE_REC_STMTS 16 /* prepared statements records.c may cache */

enum store_stmt {
    STMT_BEGIN,          /* BEGIN IMMEDIATE */
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_USER_VERSION,   /* PRAGMA user_version */
    STMT_FLOW_MAX_ID,    /* highest flows.id, to hand out ids that are never reused */
    STMT_RUN_INSERT,
    STMT_RUN_UPDATE,
    STMT_FILE_LOOKUP,
    STMT_FILE_INSERT,
    STMT_FILE_DELETE,
    STMT_FILE_COUNT_RUN, /* files still recorded for a run */
    STMT_RUN_DEL_FINDINGS,
    STMT_RUN_DEL_TLS,    /* protocol records of a run (v3) */
    STMT_RUN_DEL_HTTP,
    STMT_RUN_DEL_MAIL,
    STMT_RUN_DEL_FLOWS,
    STMT_RUN_DELETE,
    STMT_FLOW_UPSERT,
    STMT_FLOW_IN_RUN,    /* is a flow id a flow of this run (before a finding names it) */
    STMT_FINDING_INSERT,
    STMT_COUNT_SEVERITY,
    STMT_COUNT
};

/* One open database. Owned by the caller of store_open(); freed by store_close(). */
struct store {
    sqlite3 *db;                     /* owned */
    const struct nz_log *log;        /* borrowed; may be NULL */
    sqlite3_stmt *stmt[STMT_COUNT];  /* owned; see enum store_stmt */
    bool in_txn;                     /* a batch transaction is open (BEGIN IMMEDIATE ran) */
    unsigned pending;                /* rows written in the open batch; < STORE_BATCH_ROWS */
    int busy_ms;                     /* lock wait (STORE_BUSY_MS unless a test changed it) */
    int64_t next_flow_id;            /* next flows.id to hand out; only grows, so an id
                                        lost in a rolled-back batch is never reused by
                                        this store for a different flow */
    sqlite3_stmt *rec[STORE_REC_STMTS]; /* owned; records.c's statements, prepared lazily */
    char last_err[256];              /* the last failure the store logged, without "store: ",
                                        for store_errmsg(); "" = none since the last success */
};

/* ---- for records.c (protocol record tables) ---- */

/* Prepares (once) statement `slot` of records.c with `sql`. Returns it or NULL (logged). */
sqlite3_stmt *store_rec_stmt(struct store *s, int slot, const char *sql);
/* Opens the batch if needed. Returns 0 or NZ_EDB (logged). */
int store_batch_begin(struct store *s);
/* Steps a bound INSERT to completion inside the batch, resets it, counts the row (committing a
 * full batch). Returns 0, NZ_EUSAGE (constraint: only this row refused) or NZ_EDB (batch rolled
 * back, logged). If `rowid` is not NULL it gets the new row's id. */
int store_row_insert(struct store *s, sqlite3_stmt *st, const char *what, int64_t *rowid /* OUT */);

/* Schema version the last migration step produces (== store_schema_latest()). */
int store_migrate_latest(void);

/* Reads PRAGMA user_version of `db` into *version (OUT). Returns 0 or NZ_EDB (not
 * logged: the caller adds context; sqlite3_errmsg(db) has the reason). */
int store_db_user_version(sqlite3 *db, int *version /* OUT */);

/* Applies migration steps to `db` until its user_version is `target` (1..latest).
 * A database already at or past `target` (but not past latest) is left alone: there are
 * no down-migrations. Each step runs in its own transaction and re-reads user_version
 * under the write lock, so two processes opening a new database race safely.
 * Returns 0; NZ_EUNSUPPORTED if the database's user_version is newer than this code
 * knows (logged, database untouched); NZ_EUSAGE for a target outside 1..latest; NZ_EDB
 * if SQLite fails (logged with sqlite3_errmsg(); the failed step is rolled back).
 * `log` may be NULL. */
int store_migrate_to(sqlite3 *db, int target, const struct nz_log *log);

/* Logs "<what>: <sqlite3_errmsg>" at NZ_LOG_ERR (kept for store_errmsg()) and returns
 * NZ_EDB. Does not touch the batch; for read paths (query.c) and setup. */
int store_db_fail(struct store *s, const char *what);

/* Test hook: the store's SQLite handle (borrowed; valid until store_close()). Lets tests
 * set PRAGMA max_page_count or inject rows into the open batch. */
sqlite3 *store_sqlite(struct store *s);

/* Test hook: replaces STORE_BUSY_MS for this store (ms >= 0), so lock tests are quick.
 * Returns 0 or NZ_EDB/NZ_EUSAGE. */
int store_set_busy_ms(struct store *s, int ms);

#endif
