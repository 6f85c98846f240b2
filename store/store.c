/* store.c — opening the database and the batched writer: runs, files, flows, findings.
 *
 * SQLite C API only (https://sqlite.org/c3ref/intro.html). Every statement is prepared
 * once per store (enum store_stmt) and reset + cleared after each use. Writes go into a
 * transaction opened lazily with BEGIN IMMEDIATE (take the write lock up front, so a lock
 * conflict shows at BEGIN, after sqlite3_busy_timeout(), not half-way through a batch)
 * and committed every STORE_BATCH_ROWS rows, on store_commit() and on store_close().
 *
 * Failure contract of the write functions:
 *  - NZ_EDB: SQLite failed (disk full, lock held past the busy timeout, I/O error, failed
 *    COMMIT). The message is logged with sqlite3_errmsg(), the uncommitted batch is rolled
 *    back (its size is logged), rows committed earlier are untouched, and the store stays
 *    usable: the next write opens a new batch. The caller decides whether to go on.
 *  - NZ_EUSAGE: bad arguments or a constraint violation (duplicate file hash, unknown
 *    run); only that row is refused, the batch stays open.
 * Flow ids are handed out by the store (never reused by it, see next_flow_id), and a
 * flow update whose row was lost with a rolled-back batch re-inserts it under the same id;
 * a finding whose flow is not (or no longer) in its run is stored with flow_id NULL.
 *
 * Timestamps are packet times formatted by store_ts_iso(); the wall clock is never read.
 * PRAGMAs: journal_mode=WAL (files only; ":memory:" has no WAL), synchronous=NORMAL
 * (WAL makes that crash-safe; a power cut may lose the last commits, never corrupt),
 * foreign_keys=ON, cache_size (8 MiB) and wal_autocheckpoint (4000 pages): see
 * STORE_CACHE_PRAGMA. Ignored: SQLite's shared cache and multi-threaded use of one store.
 *
 * Cost per row (a finding, a flow, a record is a few microseconds each): statements are
 * prepared once; text is bound SQLITE_STATIC wherever it outlives the step; timestamps are
 * formatted without gmtime_r()/snprintf(); no statement uses RETURNING or another construct
 * that needs a statement journal or an ephemeral table per row. */
#include "store/migrate.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RO_VALUE_MAX (64 * 1024 * 1024) /* longest string/BLOB a query connection handles */

/* The writing connection's page cache: 8 MiB ("-KiB"; SQLite's default is 2 MiB). A batch
 * touches index pages all over the flows/findings indexes keyed by address, kind and
 * certificate; with 2 MiB SQLite spilled dirty pages to the WAL in the middle of a batch and
 * wrote them again at COMMIT (a 1.15 GB mix: 106k page writes; with 8 MiB 78k). Not part of
 * --max-mem, which bounds per-flow state. */
#define STORE_CACHE_PRAGMA "-8192"
/* Checkpoint the WAL into the database once it holds 4000 pages (16 MiB with 4 KiB pages;
 * SQLite's default is 1000): a page rewritten by several batches is copied once, and there
 * are fewer checkpoints, each with its fsync()s (the mix: 26 instead of 71). Crash safety is
 * the same: WAL with synchronous=NORMAL at any checkpoint interval. */
#define STORE_CHECKPOINT_PRAGMA "4000"

static const char *const stmt_sql[STMT_COUNT] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_USER_VERSION] = "PRAGMA user_version",
    [STMT_FLOW_MAX_ID] = "SELECT max(id) FROM flows",
    [STMT_RUN_INSERT] = "INSERT INTO runs(source, mode, filter, version) VALUES(?1, ?2, ?3, ?4)",
    [STMT_RUN_UPDATE] =
        "UPDATE runs SET first_ts = ?2, last_ts = ?3, packets = ?4, bytes = ?5, tcp_packets = ?6,"
        " malformed = ?7, pcap_recv = ?8, pcap_drop = ?9, pcap_ifdrop = ?10, flows = ?11,"
        " flows_evicted = ?12, findings = ?13, counters = ?14, finished = ?15, queue_full = ?16 WHERE id = ?1",
    [STMT_FILE_LOOKUP] = "SELECT run_id FROM files WHERE content_hash = ?1",
    [STMT_FILE_INSERT] = "INSERT INTO files(run_id, path, content_hash, size, hash_alg)"
                         " VALUES(?1, ?2, ?3, ?4, '" STORE_FILE_HASH_ALG "')",
    [STMT_FILE_DELETE] = "DELETE FROM files WHERE content_hash = ?1",
    [STMT_FILE_COUNT_RUN] = "SELECT count(*) FROM files WHERE run_id = ?1",
    [STMT_RUN_DEL_FINDINGS] = "DELETE FROM findings WHERE run_id = ?1",
    [STMT_RUN_DEL_TLS] = "DELETE FROM tls_sessions WHERE run_id = ?1",
    [STMT_RUN_DEL_HTTP] = "DELETE FROM http_requests WHERE run_id = ?1",
    [STMT_RUN_DEL_MAIL] = "DELETE FROM smtp_sessions WHERE run_id = ?1",
    [STMT_RUN_DEL_FLOWS] = "DELETE FROM flows WHERE run_id = ?1",
    [STMT_RUN_DELETE] = "DELETE FROM runs WHERE id = ?1",
    /* Insert and update are one upsert keyed on the id we hand out. The WHERE keeps a
     * stale id from overwriting another run's flow (changes() is then 0). */
    [STMT_FLOW_UPSERT] =
        "INSERT INTO flows(id, run_id, client_ip, client_port, server_ip, server_port, ip_version,"
        " app_proto, ndpi_proto, orient, end_reason, first_ts, last_ts, pkts_c2s, pkts_s2c,"
        " bytes_c2s, bytes_s2c, payload_c2s, payload_s2c, gaps, gap_bytes, overlaps,"
        " overlap_diff, retrans)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
        " ?19, ?20, ?21, ?22, ?23, ?24)"
        " ON CONFLICT(id) DO UPDATE SET client_ip = excluded.client_ip,"
        " client_port = excluded.client_port, server_ip = excluded.server_ip,"
        " server_port = excluded.server_port, ip_version = excluded.ip_version,"
        " app_proto = excluded.app_proto, ndpi_proto = excluded.ndpi_proto,"
        " orient = excluded.orient, end_reason = excluded.end_reason,"
        " first_ts = excluded.first_ts, last_ts = excluded.last_ts,"
        " pkts_c2s = excluded.pkts_c2s, pkts_s2c = excluded.pkts_s2c,"
        " bytes_c2s = excluded.bytes_c2s, bytes_s2c = excluded.bytes_s2c,"
        " payload_c2s = excluded.payload_c2s, payload_s2c = excluded.payload_s2c,"
        " gaps = excluded.gaps, gap_bytes = excluded.gap_bytes, overlaps = excluded.overlaps,"
        " overlap_diff = excluded.overlap_diff, retrans = excluded.retrans"
        " WHERE flows.run_id = excluded.run_id",
    /* A finding's flow id that is not a flow of its run (lost in a rolled-back batch, or a
     * caller mix-up) is stored as NULL instead of failing the foreign key: this lookup
     * decides, then the INSERT binds the id or NULL. (Not one INSERT with a sub-select and
     * RETURNING: RETURNING costs an ephemeral table and a statement journal per row, which
     * made a finding about 2.4 times as dear to write in a micro-benchmark.) */
    [STMT_FLOW_IN_RUN] = "SELECT 1 FROM flows WHERE id = ?1 AND run_id = ?2",
    [STMT_FINDING_INSERT] =
        "INSERT INTO findings(run_id, flow_id, ts, kind, severity, severity_rank, client_ip,"
        " client_port, server_ip, server_port, summary, evidence)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    /* A range rather than "?1 = 0 OR run_id = ?1", so one run is an index lookup. */
    [STMT_COUNT_SEVERITY] = ("SELECT severity_rank, count(*) FROM findings WHERE run_id BETWEEN ?1 AND ?2"
                             " GROUP BY severity_rank"),
};

#define TS_BUF 40 /* store_ts_iso() output: 27 chars for years 0000..9999, room for more */

/* Logs a failure of the store ("store: " + message) at NZ_LOG_ERR and keeps the message for
 * store_errmsg(), so that a caller reporting the failure later says what went wrong even
 * when SQLite's own error state was cleared by the rollback after it, or when the failure
 * was not SQLite's. */
static void store_err(struct store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void store_err(struct store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->last_err, sizeof s->last_err, fmt, ap);
    va_end(ap);
    nz_logf(s->log, NZ_LOG_ERR, "store: %s", s->last_err);
}

/* SQLite's message for the last failed call, never its "not an error" for SQLITE_OK. */
static const char *sqlite_msg(struct store *s)
{
    return sqlite3_errcode(s->db) == SQLITE_OK ? "no SQLite error recorded" : sqlite3_errmsg(s->db);
}

/* ---- binding helpers: the first failing bind sticks in b->rc ---- */

struct binder {
    sqlite3_stmt *st;
    int rc; /* SQLITE_OK until a bind fails */
};

static void b_text(struct binder *b, int i, const char *v)
{
    if (b->rc == SQLITE_OK)
        b->rc = v ? sqlite3_bind_text(b->st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(b->st, i);
}

/* Text from a fixed-size field: never reads past cap even if the NUL is missing. */
static void b_textn(struct binder *b, int i, const char *v, size_t cap)
{
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_text(b->st, i, v, (int)strnlen(v, cap), SQLITE_STATIC);
}

static void b_i64(struct binder *b, int i, int64_t v)
{
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_int64(b->st, i, v);
}

/* SQLite integers are signed 64-bit; counters beyond that saturate. */
static void b_u64(struct binder *b, int i, uint64_t v)
{
    b_i64(b, i, v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v);
}

static void b_null(struct binder *b, int i)
{
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_null(b->st, i);
}

/* Packet time as ISO text, or NULL for 0 ("unknown"). buf must hold TS_BUF bytes. */
static void b_ts(struct binder *b, int i, uint64_t ts_usec, char *buf)
{
    if (ts_usec == 0 || !store_ts_iso(ts_usec, buf, TS_BUF))
        b_null(b, i);
    else
        b_text(b, i, buf);
}

static void stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* ---- the batch ---- */

/* SQLite may roll a transaction back on its own (I/O error, SQLITE_FULL in some places).
 * Notices that, so the next write starts a fresh batch. */
static void batch_check_alive(struct store *s)
{
    if (s->in_txn && sqlite3_get_autocommit(s->db)) {
        nz_logf(s->log, NZ_LOG_ERR,
                "store: SQLite rolled back the open batch (%u uncommitted rows lost; earlier rows kept)",
                s->pending);
        s->in_txn = false;
        s->pending = 0;
    }
}

/* Rolls the open batch back after `what` failed; the store stays usable. */
static void batch_abort(struct store *s, const char *what)
{
    batch_check_alive(s);
    if (!s->in_txn)
        return;
    sqlite3_stmt *st = s->stmt[STMT_ROLLBACK];
    if (sqlite3_step(st) != SQLITE_DONE)
        nz_logf(s->log, NZ_LOG_ERR, "store: ROLLBACK after %s failed: %s", what, sqlite_msg(s));
    sqlite3_reset(st);
    nz_logf(s->log, NZ_LOG_ERR,
            "store: rolled back the uncommitted batch of %u rows after %s failed; rows committed earlier are kept",
            s->pending, what);
    s->in_txn = sqlite3_get_autocommit(s->db) == 0;
    s->pending = 0;
}

/* A write statement failed with rc (st not yet reset). Logs, resets st and returns
 * NZ_EUSAGE for a constraint violation (only this row refused) or NZ_EDB after rolling
 * the batch back. */
static int write_failed(struct store *s, sqlite3_stmt *st, int rc, const char *what)
{
    store_err(s, "%s failed: %s", what, sqlite_msg(s));
    stmt_done(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        batch_check_alive(s);
        return NZ_EUSAGE;
    }
    batch_abort(s, what);
    return NZ_EDB;
}

/* Opens the batch transaction if none is open. Returns 0 or NZ_EDB (logged). */
static int batch_begin(struct store *s)
{
    batch_check_alive(s);
    if (s->in_txn)
        return 0;
    sqlite3_stmt *st = s->stmt[STMT_BEGIN];
    if (!st) {
        store_err(s, "cannot write: the database was opened read-only");
        return NZ_EDB;
    }
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        store_err(s, "cannot start a write transaction%s: %s",
                  (rc & 0xff) == SQLITE_BUSY ? " (another process holds the write lock)" : "", sqlite_msg(s));
        sqlite3_reset(st);
        return NZ_EDB;
    }
    sqlite3_reset(st);
    s->in_txn = true;
    s->pending = 0;
    s->last_err[0] = '\0';

    /* Under the write lock nobody else can insert flows until COMMIT, so ids from
     * max(id)+1 on are ours for this batch. */
    st = s->stmt[STMT_FLOW_MAX_ID];
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return write_failed(s, st, rc, "reading the highest flow id");
    if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
        int64_t max = sqlite3_column_int64(st, 0);
        if (max < INT64_MAX && max + 1 > s->next_flow_id)
            s->next_flow_id = max + 1;
    }
    stmt_done(st);
    return 0;
}

/* One row written: commits when the batch is full. Returns 0 or store_commit()'s error. */
static int batch_row(struct store *s)
{
    if (++s->pending >= STORE_BATCH_ROWS)
        return store_commit(s);
    return 0;
}

/* Commits the open batch (if any). Returns 0, or NZ_EDB after a failed COMMIT: logged
 * (disk full, lock), batch rolled back, earlier commits kept, store usable. */
int store_commit(struct store *s)
{
    if (!s)
        return NZ_EUSAGE;
    batch_check_alive(s);
    if (!s->in_txn)
        return 0;
    sqlite3_stmt *st = s->stmt[STMT_COMMIT];
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        const char *hint = "";
        if ((rc & 0xff) == SQLITE_FULL)
            hint = " (disk full)";
        else if ((rc & 0xff) == SQLITE_BUSY)
            hint = " (database locked by another connection)";
        store_err(s, "COMMIT of %u rows failed%s: %s", s->pending, hint, sqlite_msg(s));
        sqlite3_reset(st);
        batch_abort(s, "COMMIT");
        return NZ_EDB;
    }
    sqlite3_reset(st);
    s->in_txn = false;
    s->pending = 0;
    s->last_err[0] = '\0';
    return 0;
}

/* ---- open / close ---- */

/* Runs a PRAGMA that returns one text row into buf (may be NULL). Returns SQLite's rc. */
static int pragma_text(sqlite3 *db, const char *sql, char *buf, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && buf && cap) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(buf, cap, "%s", t ? (const char *)t : "");
    }
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    return rc;
}

sqlite3_stmt *store_rec_stmt(struct store *s, int slot, const char *sql)
{
    if (slot < 0 || slot >= STORE_REC_STMTS)
        return NULL;
    if (!s->rec[slot] && sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->rec[slot], NULL) != SQLITE_OK) {
        store_err(s, "preparing a record statement failed: %s", sqlite_msg(s));
        s->rec[slot] = NULL;
    }
    return s->rec[slot];
}

int store_batch_begin(struct store *s) { return batch_begin(s); }

int store_row_insert(struct store *s, sqlite3_stmt *st, const char *what, int64_t *rowid)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return write_failed(s, st, rc, what);
    if (rowid)
        *rowid = sqlite3_last_insert_rowid(s->db);
    stmt_done(st);
    return batch_row(s);
}

static void store_free(struct store *s)
{
    for (int i = 0; i < STORE_REC_STMTS; i++)
        sqlite3_finalize(s->rec[i]);
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(s->stmt[i]); /* NULL is a no-op */
    if (s->db)
        sqlite3_close_v2(s->db);
    free(s);
}

/* Settings of every connection netzwacht opens, reader or writer: the file may come from
 * anyone (https://sqlite.org/security.html). DEFENSIVE refuses writable_schema and other
 * ways to corrupt a file on purpose; TRUSTED_SCHEMA off keeps functions with side effects
 * out of the file's views and triggers; the two-argument fts3_tokenizer() (which installs
 * a pointer) and load_extension() are off. Returns 0 or NZ_EDB (logged). */
static int conn_harden(struct store *s)
{
    static const struct {
        int op, on;
        const char *name;
    } cfg[] = {
        {SQLITE_DBCONFIG_DEFENSIVE, 1, "DEFENSIVE"},
        {SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, "TRUSTED_SCHEMA"},
        {SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, "ENABLE_FTS3_TOKENIZER"},
        {SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, "ENABLE_LOAD_EXTENSION"},
    };
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        int got = -1;
        if (sqlite3_db_config(s->db, cfg[i].op, cfg[i].on, &got) != SQLITE_OK || got != cfg[i].on) {
            nz_logf(s->log, NZ_LOG_ERR, "store: cannot set SQLITE_DBCONFIG_%s on the connection", cfg[i].name);
            return NZ_EDB;
        }
    }
    if (sqlite3_extended_result_codes(s->db, 1) != SQLITE_OK || sqlite3_busy_timeout(s->db, s->busy_ms) != SQLITE_OK) {
        nz_logf(s->log, NZ_LOG_ERR, "store: cannot configure the connection (result codes, busy timeout)");
        return NZ_EDB;
    }
    return 0;
}

/* Opens or creates the database at path, applies pending migrations and prepares the
 * statements. Returns the store (caller owns; free with store_close()) or NULL with
 * *err (OUT, may be NULL) = NZ_EUSAGE (path NULL), NZ_ENOMEM, NZ_EIO (cannot open the
 * file), NZ_EDB (SQLite error, logged) or NZ_EUNSUPPORTED (schema newer than the code,
 * logged; the file is left as it was). log is borrowed for the store's lifetime.
 * flags: STORE_OPEN_* (store.h). */
struct store *store_open_ex(const char *path, unsigned flags, const struct nz_log *log, int *err)
{
    struct store *s = NULL;
    int e = 0, ver = 0, rc;
    char mode[32] = "";

    if (!path) {
        e = NZ_EUSAGE;
        goto fail;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        e = NZ_ENOMEM;
        goto fail;
    }
    s->log = log;
    s->next_flow_id = 1;
    s->busy_ms = STORE_BUSY_MS;

    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                             ((flags & STORE_OPEN_NOFOLLOW) ? SQLITE_OPEN_NOFOLLOW : 0),
                         NULL);
    if (rc != SQLITE_OK) {
        nz_logf(log, NZ_LOG_ERR, "store: cannot open %s: %s", path,
                s->db && sqlite3_extended_errcode(s->db) == SQLITE_CANTOPEN_SYMLINK
                    ? "the path contains a symbolic link (refused)"
                : s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        e = (rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_PERM ? NZ_EIO : NZ_EDB;
        goto fail;
    }
    if ((e = conn_harden(s)) != 0)
        goto fail;

    /* Refuse a newer schema before any PRAGMA below writes to the file. */
    if (store_db_user_version(s->db, &ver) != 0) {
        nz_logf(log, NZ_LOG_ERR, "store: cannot read %s: %s", path, sqlite3_errmsg(s->db));
        e = (sqlite3_errcode(s->db) & 0xff) == SQLITE_CANTOPEN ? NZ_EIO : NZ_EDB;
        goto fail;
    }
    if (ver > store_migrate_latest()) {
        nz_logf(log, NZ_LOG_ERR,
                "store: %s has schema v%d, newer than this netzwacht (knows up to v%d); upgrade netzwacht",
                path, ver, store_migrate_latest());
        e = NZ_EUNSUPPORTED;
        goto fail;
    }

    if (pragma_text(s->db, "PRAGMA journal_mode=WAL", mode, sizeof mode) != SQLITE_OK) {
        e = store_db_fail(s, "PRAGMA journal_mode=WAL");
        goto fail;
    }
    const char *fname = sqlite3_db_filename(s->db, "main");
    if (fname && fname[0] && strcmp(mode, "wal") != 0)
        nz_logf(log, NZ_LOG_WARN, "store: %s: WAL not available (journal_mode=%s); continuing", path, mode);
    if (pragma_text(s->db, "PRAGMA synchronous=NORMAL", NULL, 0) != SQLITE_OK ||
        pragma_text(s->db, "PRAGMA foreign_keys=ON", NULL, 0) != SQLITE_OK ||
        pragma_text(s->db, "PRAGMA cache_size=" STORE_CACHE_PRAGMA, NULL, 0) != SQLITE_OK ||
        pragma_text(s->db, "PRAGMA wal_autocheckpoint=" STORE_CHECKPOINT_PRAGMA, NULL, 0) != SQLITE_OK) {
        e = store_db_fail(s, "setting PRAGMAs");
        goto fail;
    }

    e = store_migrate_to(s->db, store_migrate_latest(), log);
    if (e != 0)
        goto fail;

    for (int i = 0; i < STMT_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) !=
            SQLITE_OK) {
            e = store_db_fail(s, "preparing statements");
            goto fail;
        }
    }
    return s;

fail:
    if (s)
        store_free(s);
    if (err)
        *err = e;
    return NULL;
}

struct store *store_open(const char *path, const struct nz_log *log, int *err)
{
    return store_open_ex(path, 0, log, err);
}

/* The URI that opens path read-only with the given parameters (https://sqlite.org/uri.html):
 * every byte outside [A-Za-z0-9._~/-] percent-encoded, so '?', '#' and '%' in a name stay
 * part of it. Returns a malloc'd string or NULL (ENOMEM). */
static char *ro_uri(const char *path, const char *params)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path), k = 0;
    char *u = malloc(8 + 3 * n + strlen(params) + 1);
    if (!u)
        return NULL;
    const char *scheme = path[0] == '/' ? "file://" : "file:"; /* "file:///abs", "file:rel" */
    k = strlen(scheme);
    memcpy(u, scheme, k);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if (isalnum(c) || strchr("._~/-", c)) {
            u[k++] = (char)c;
        } else {
            u[k++] = '%';
            u[k++] = hex[c >> 4];
            u[k++] = hex[c & 15];
        }
    }
    strcpy(u + k, params);
    return u;
}

/* lstat() of path + sfx: 1 it is there, 0 it is not, -1 it is there as something we do not
 * open (a link; logged). */
static int ro_side_file(const char *path, const char *sfx, const struct nz_log *log)
{
    char p[4096];
    struct stat st;
    if ((size_t)snprintf(p, sizeof p, "%s%s", path, sfx) >= sizeof p) {
        nz_logf(log, NZ_LOG_ERR, "store: path too long: %s", path);
        return -1;
    }
    if (lstat(p, &st) != 0)
        return 0;
    if (!S_ISREG(st.st_mode)) {
        nz_logf(log, NZ_LOG_ERR, "store: %s is not a regular file (a link?); refusing to open the database", p);
        return -1;
    }
    return 1;
}

/* See store.h. */
struct store *store_open_readonly(const char *path, const struct nz_log *log, int *err)
{
    struct store *s = NULL;
    char *uri = NULL;
    int e = 0, ver = 0, rc;
    struct stat st;
    unsigned char hdr[100];

    if (!path) {
        e = NZ_EUSAGE;
        goto fail;
    }
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            nz_logf(log, NZ_LOG_ERR, "store: no database at %s", path);
        else
            nz_logf(log, NZ_LOG_ERR, "store: cannot open %s: %s", path, strerror(errno));
        e = NZ_EIO;
        goto fail;
    }
    if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode)) {
        nz_logf(log, NZ_LOG_ERR, "store: %s is %s; give the database file itself", path,
                S_ISLNK(st.st_mode) ? "a symbolic link" : S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
        e = NZ_EIO;
        goto fail;
    }
    /* The header says whether the file is SQLite and whether it is in WAL mode. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        nz_logf(log, NZ_LOG_ERR, "store: cannot open %s: %s", path, strerror(errno));
        e = NZ_EIO;
        goto fail;
    }
    ssize_t got = read(fd, hdr, sizeof hdr);
    int rerr = errno;
    close(fd);
    if (got < 0) {
        nz_logf(log, NZ_LOG_ERR, "store: cannot read %s: %s", path, strerror(rerr));
        e = NZ_EIO;
        goto fail;
    }
    if (got == 0) {
        nz_logf(log, NZ_LOG_ERR, "store: %s is not a netzwacht database (an empty file)", path);
        e = NZ_EUNSUPPORTED;
        goto fail;
    }
    if ((size_t)got < sizeof hdr || memcmp(hdr, "SQLite format 3", 16) != 0) {
        nz_logf(log, NZ_LOG_ERR, "store: %s is not an SQLite database", path);
        e = NZ_EDB;
        goto fail;
    }
    /* A WAL database (read version 2) without its -wal file has everything in the main
     * file and no writer: read it as immutable, which creates no -wal/-shm. With a -wal,
     * read through it; readonly_shm keeps SQLite from writing an existing -shm. */
    const char *params = "?mode=ro";
    if (hdr[19] == 2) {
        int wal = ro_side_file(path, "-wal", log), shm = ro_side_file(path, "-shm", log);
        if (wal < 0 || shm < 0) {
            e = NZ_EIO;
            goto fail;
        }
        params = !wal ? "?mode=ro&immutable=1" : shm ? "?mode=ro&readonly_shm=1" : "?mode=ro";
    }
    s = calloc(1, sizeof *s);
    uri = ro_uri(path, params);
    if (!s || !uri) {
        e = NZ_ENOMEM;
        goto fail;
    }
    s->log = log;
    s->next_flow_id = 1;
    s->busy_ms = STORE_BUSY_MS;
    rc = sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOFOLLOW, NULL);
    if (rc != SQLITE_OK) {
        nz_logf(log, NZ_LOG_ERR, "store: cannot open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        e = (rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_PERM ? NZ_EIO : NZ_EDB;
        goto fail;
    }
    if ((e = conn_harden(s)) != 0)
        goto fail;
    sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, RO_VALUE_MAX);
    if (pragma_text(s->db, "PRAGMA query_only=1", NULL, 0) != SQLITE_OK) {
        nz_logf(log, NZ_LOG_ERR, "store: cannot read %s: %s", path, sqlite3_errmsg(s->db));
        e = NZ_EDB;
        goto fail;
    }
    if (store_db_user_version(s->db, &ver) != 0) {
        nz_logf(log, NZ_LOG_ERR, "store: cannot read %s: %s", path, sqlite3_errmsg(s->db));
        e = (sqlite3_errcode(s->db) & 0xff) == SQLITE_CANTOPEN ? NZ_EIO : NZ_EDB;
        goto fail;
    }
    /* Every netzwacht schema since v1 has runs and findings, and sets user_version with them. */
    sqlite3_stmt *q = NULL;
    long long tables = -1;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('runs', 'findings')",
                           -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        tables = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (tables < 0) {
        nz_logf(log, NZ_LOG_ERR, "store: cannot read %s: %s", path, sqlite3_errmsg(s->db));
        e = NZ_EDB;
        goto fail;
    }
    if (tables != 2 || ver <= 0) {
        nz_logf(log, NZ_LOG_ERR, "store: %s is an SQLite database but not a netzwacht one (user_version %d, %s)",
                path, ver, tables != 2 ? "no runs and findings tables" : "no schema version");
        e = NZ_EUNSUPPORTED;
        goto fail;
    }
    free(uri);
    return s;

fail:
    free(uri);
    if (s)
        store_free(s);
    if (err)
        *err = e;
    return NULL;
}

/* Commits pending rows, finalizes statements and closes. Returns 0 or NZ_EDB (the
 * pending batch is then lost, earlier commits kept; the store is freed either way). */
int store_close(struct store *s)
{
    if (!s)
        return 0;
    int rc = store_commit(s);
    for (int i = 0; i < STMT_COUNT; i++) {
        sqlite3_finalize(s->stmt[i]);
        s->stmt[i] = NULL;
    }
    for (int i = 0; i < STORE_REC_STMTS; i++) {
        sqlite3_finalize(s->rec[i]);
        s->rec[i] = NULL;
    }
    if (sqlite3_close(s->db) != SQLITE_OK) {
        store_err(s, "close failed: %s", sqlite_msg(s));
        rc = NZ_EDB;
    } else {
        s->db = NULL;
    }
    store_free(s);
    return rc;
}

/* Schema version of the newest migration. */
int store_schema_latest(void)
{
    return store_migrate_latest();
}

/* PRAGMA user_version of the open database; NZ_EDB (logged) or NZ_EUSAGE on failure. */
int store_schema_version(struct store *s)
{
    if (!s)
        return NZ_EUSAGE;
    sqlite3_stmt *st = s->stmt[STMT_USER_VERSION];
    if (!st) { /* a read-only store prepares no statements */
        int v = 0;
        return store_db_user_version(s->db, &v) == 0 ? v : store_db_fail(s, "reading user_version");
    }
    int rc = sqlite3_step(st);
    int v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : NZ_EDB;
    if (rc != SQLITE_ROW)
        store_db_fail(s, "reading user_version");
    sqlite3_reset(st);
    return v;
}

/* The last failure this store logged (without "store: "), else SQLite's last error text;
 * never NULL (borrowed, valid until the next store call) and never SQLite's "not an error":
 * the rollback after a failure may clear SQLite's error state, and a failure may not be
 * SQLite's (bad arguments, an unknown run, a read-only store). */
const char *store_errmsg(struct store *s)
{
    if (!s || !s->db)
        return "no database open";
    if (s->last_err[0])
        return s->last_err;
    if (sqlite3_errcode(s->db) == SQLITE_OK)
        return "no error recorded (see the messages before)";
    return sqlite3_errmsg(s->db);
}

/* See migrate.h. */
int store_db_fail(struct store *s, const char *what)
{
    store_err(s, "%s: %s", what, sqlite_msg(s));
    return NZ_EDB;
}

/* See migrate.h. */
sqlite3 *store_sqlite(struct store *s)
{
    return s ? s->db : NULL;
}

/* See migrate.h. */
int store_set_busy_ms(struct store *s, int ms)
{
    if (!s || ms < 0)
        return NZ_EUSAGE;
    if (sqlite3_busy_timeout(s->db, ms) != SQLITE_OK)
        return store_db_fail(s, "sqlite3_busy_timeout");
    s->busy_ms = ms;
    return 0;
}

/* ---- runs ---- */

/* Inserts a run row and commits it (with any pending rows) so its id is durable.
 * Strings may be NULL. *run_id (OUT) = new id, 0 on failure. Returns 0, NZ_EUSAGE or
 * NZ_EDB (see the file header). */
int store_run_begin(struct store *s, const struct store_run *r, int64_t *run_id)
{
    if (!s || !r || !run_id)
        return NZ_EUSAGE;
    *run_id = 0;
    int rc = batch_begin(s);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = s->stmt[STMT_RUN_INSERT];
    struct binder b = {st, SQLITE_OK};
    b_text(&b, 1, r->source);
    b_text(&b, 2, r->mode);
    b_text(&b, 3, r->filter);
    b_text(&b, 4, r->version);
    rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
    if (rc != SQLITE_DONE)
        return write_failed(s, st, rc, "inserting the run");
    int64_t id = sqlite3_last_insert_rowid(s->db);
    stmt_done(st);
    s->pending++;
    rc = store_commit(s);
    if (rc == 0)
        *run_id = id;
    return rc;
}

/* Overwrites a run's statistics (periodically and at the end) inside the current batch.
 * Returns 0, NZ_EUSAGE (NULL args or no such run) or NZ_EDB. */
int store_run_update(struct store *s, int64_t run_id, const struct store_run_stats *st_in)
{
    char first[TS_BUF], last[TS_BUF];

    if (!s || !st_in || run_id <= 0)
        return NZ_EUSAGE;
    int rc = batch_begin(s);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = s->stmt[STMT_RUN_UPDATE];
    struct binder b = {st, SQLITE_OK};
    b_i64(&b, 1, run_id);
    b_ts(&b, 2, st_in->first_usec, first);
    b_ts(&b, 3, st_in->last_usec, last);
    b_u64(&b, 4, st_in->packets);
    b_u64(&b, 5, st_in->bytes);
    b_u64(&b, 6, st_in->tcp_packets);
    b_u64(&b, 7, st_in->malformed);
    b_u64(&b, 8, st_in->pcap_recv);
    b_u64(&b, 9, st_in->pcap_drop);
    b_u64(&b, 10, st_in->pcap_ifdrop);
    b_u64(&b, 11, st_in->flows);
    b_u64(&b, 12, st_in->flows_evicted);
    b_u64(&b, 13, st_in->findings);
    b_text(&b, 14, st_in->counters_json);
    b_i64(&b, 15, st_in->finished ? 1 : 0);
    b_u64(&b, 16, st_in->queue_full);
    rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
    if (rc != SQLITE_DONE)
        return write_failed(s, st, rc, "updating the run");
    stmt_done(st);
    if (sqlite3_changes(s->db) == 0) {
        store_err(s, "run %lld does not exist", (long long)run_id);
        return NZ_EUSAGE;
    }
    return batch_row(s);
}

/* ---- files ---- */

/* Copies a 64-digit hex SHA-256 into out[65] in lower case. False if it is not one. */
static bool sha_norm(const char *in, char out[65])
{
    if (!in)
        return false;
    for (int i = 0; i < 64; i++) {
        if (!isxdigit((unsigned char)in[i]))
            return false; /* also stops at the NUL of a short string */
        out[i] = (char)tolower((unsigned char)in[i]);
    }
    out[64] = '\0';
    return in[64] == '\0';
}

/* *run_id (OUT) = the run that analysed the file with this SHA-256 (hex, any case), 0 if
 * none. Sees rows of the open batch. Returns 0, NZ_EUSAGE (not a SHA-256) or NZ_EDB. */
int store_file_lookup(struct store *s, const char *sha256hex, int64_t *run_id)
{
    char sha[65];

    if (!s || !run_id || !sha_norm(sha256hex, sha))
        return NZ_EUSAGE;
    *run_id = 0;
    sqlite3_stmt *st = s->stmt[STMT_FILE_LOOKUP];
    struct binder b = {st, SQLITE_OK};
    b_text(&b, 1, sha);
    int rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
    int ret = 0;
    if (rc == SQLITE_ROW)
        *run_id = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        ret = store_db_fail(s, "looking up a file");
    stmt_done(st);
    batch_check_alive(s);
    return ret;
}

/* Records that run_id analysed the file (path may be NULL) in the current batch.
 * Returns 0; NZ_EUSAGE for a bad hash, an unknown run or a hash already recorded
 * (store_file_forget() it first); NZ_EDB. */
int store_file_add(struct store *s, int64_t run_id, const char *path, const char *sha256hex, uint64_t size)
{
    char sha[65];

    if (!s || run_id <= 0 || !sha_norm(sha256hex, sha))
        return NZ_EUSAGE;
    int rc = batch_begin(s);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = s->stmt[STMT_FILE_INSERT];
    struct binder b = {st, SQLITE_OK};
    b_i64(&b, 1, run_id);
    b_text(&b, 2, path);
    b_text(&b, 3, sha);
    b_u64(&b, 4, size);
    rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
    if (rc != SQLITE_DONE)
        return write_failed(s, st, rc, "recording the file");
    stmt_done(st);
    return batch_row(s);
}

/* Steps a statement with one integer/text parameter to completion. Returns SQLite's rc
 * (SQLITE_DONE on success); the statement is left un-reset on failure for logging. */
static int exec1(sqlite3_stmt *st, int64_t id, const char *text)
{
    struct binder b = {st, SQLITE_OK};
    if (text)
        b_text(&b, 1, text);
    else
        b_i64(&b, 1, id);
    return b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
}

/* Deletes every row of run_id and the run itself, children first, inside the open batch.
 * Returns 0 or NZ_EDB (logged, statement reset; the caller rolls back). */
static int run_delete_rows(struct store *s, int64_t run_id)
{
    static const struct {
        enum store_stmt id;
        const char *what;
    } run_dels[] = {
        {STMT_RUN_DEL_FINDINGS, "deleting the run's findings"},
        {STMT_RUN_DEL_TLS, "deleting the run's TLS sessions"},
        {STMT_RUN_DEL_HTTP, "deleting the run's HTTP requests"},
        {STMT_RUN_DEL_MAIL, "deleting the run's mail sessions"},
        {STMT_RUN_DEL_FLOWS, "deleting the run's flows"},
        {STMT_RUN_DELETE, "deleting the run"},
    };
    for (size_t i = 0; i < sizeof run_dels / sizeof run_dels[0]; i++) {
        sqlite3_stmt *st = s->stmt[run_dels[i].id];
        if (exec1(st, run_id, NULL) != SQLITE_DONE) {
            nz_logf(s->log, NZ_LOG_ERR, "store: %s failed: %s", run_dels[i].what, sqlite3_errmsg(s->db));
            stmt_done(st);
            return NZ_EDB;
        }
        stmt_done(st);
        s->pending++;
    }
    return 0;
}

/* The forget of store_file_forget() inside the open batch, without committing. sha is
 * normalised. *run_id (OUT, may be NULL) = the run that had analysed it, 0 if none.
 * Returns 0 or NZ_EDB (logged, statement reset; the caller rolls back). */
static int forget_in_batch(struct store *s, const char *sha, int64_t *run_id_out)
{
    int64_t run_id = 0, left = 0;
    if (run_id_out)
        *run_id_out = 0;
    sqlite3_stmt *st = s->stmt[STMT_FILE_LOOKUP];
    int rc = exec1(st, 0, sha);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        goto fail;
    if (rc == SQLITE_DONE) {
        stmt_done(st);
        return 0;
    }
    run_id = sqlite3_column_int64(st, 0);
    stmt_done(st);

    st = s->stmt[STMT_FILE_DELETE];
    if ((rc = exec1(st, 0, sha)) != SQLITE_DONE)
        goto fail;
    stmt_done(st);
    s->pending++;

    st = s->stmt[STMT_FILE_COUNT_RUN];
    if ((rc = exec1(st, run_id, NULL)) != SQLITE_ROW)
        goto fail;
    left = sqlite3_column_int64(st, 0);
    stmt_done(st);

    if (left == 0) {
        if (run_delete_rows(s, run_id) != 0)
            return NZ_EDB;
        nz_logf(s->log, NZ_LOG_INFO, "store: forgot run %lld with its only file", (long long)run_id);
    }
    if (run_id_out)
        *run_id_out = run_id;
    return 0;
fail:
    nz_logf(s->log, NZ_LOG_ERR, "store: forgetting a file failed: %s", sqlite3_errmsg(s->db));
    stmt_done(st);
    return NZ_EDB;
}

/* Forgets the file with this hash: deletes its files row and, when its run analysed no
 * other (still recorded) file, that run's findings, flows and the run itself, in that
 * order. Findings are not linked to files, so a run that analysed several files keeps
 * its rows. Runs in the batch transaction and commits. Returns 0 (also when the hash
 * was never recorded), NZ_EUSAGE (bad hash) or NZ_EDB (nothing forgotten). */
int store_file_forget(struct store *s, const char *sha256hex)
{
    char sha[65];

    if (!s || !sha_norm(sha256hex, sha))
        return NZ_EUSAGE;
    int rc = batch_begin(s);
    if (rc != 0)
        return rc;
    if (forget_in_batch(s, sha, NULL) != 0) {
        /* A half-done forget must not be committed with a later batch. */
        batch_abort(s, "forgetting a file");
        return NZ_EDB;
    }
    return store_commit(s);
}

/* See store.h. One transaction (BEGIN IMMEDIATE: two processes finishing at once are
 * serialised, and the second sees the first's files rows). Rows are counted in the batch
 * without the automatic commit of batch_row(), which would split it. */
int store_file_finish_run(struct store *s, int64_t run_id, const struct store_run_stats *stats,
                          const struct store_file_rec *files, size_t n, bool force, bool run_has_more,
                          int64_t *clash_run, enum store_finish *outcome)
{
    static const char insert_sql[] =
        "INSERT INTO files(run_id, path, content_hash, size, hash_alg, quick)"
        " VALUES(?1, ?2, ?3, ?4, '" STORE_FILE_HASH_ALG "', ?5)";
    char sha[65];
    size_t clashes = 0;
    sqlite3_stmt *ins = NULL;

    if (!s || run_id <= 0 || !stats || !outcome || (n && (!files || !clash_run)))
        return NZ_EUSAGE;
    *outcome = STORE_RUN_REFUSED;
    for (size_t i = 0; i < n; i++) {
        clash_run[i] = 0;
        if (!sha_norm(files[i].hash, sha))
            return NZ_EUSAGE;
    }
    /* Rows still pending belong to the run's data, not to its end: commit them first. */
    int rc = store_commit(s);
    if (rc == 0)
        rc = batch_begin(s);
    if (rc != 0)
        return rc;

    for (size_t i = 0; i < n; i++) {
        sha_norm(files[i].hash, sha);
        sqlite3_stmt *st = s->stmt[STMT_FILE_LOOKUP];
        int r = exec1(st, 0, sha);
        int64_t other = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        if (r != SQLITE_ROW && r != SQLITE_DONE) {
            nz_logf(s->log, NZ_LOG_ERR, "store: looking up a file at the end of the run failed: %s",
                    sqlite3_errmsg(s->db));
            stmt_done(st);
            goto fail;
        }
        stmt_done(st);
        if (!other)
            continue;
        clash_run[i] = other;
        if (force) {
            if (forget_in_batch(s, sha, NULL) != 0)
                goto fail;
        } else {
            clashes++;
        }
    }

    struct store_run_stats fin = *stats;
    if (clashes && clashes == n && !run_has_more) {
        /* Every file was analysed meanwhile by another run: ours only repeats it. */
        if (run_delete_rows(s, run_id) != 0)
            goto fail;
        *outcome = STORE_RUN_REMOVED;
        return store_commit(s);
    }
    fin.finished = clashes == 0;
    unsigned pending = s->pending;
    s->pending = 0; /* so that store_run_update's batch_row() cannot commit half of this */
    rc = store_run_update(s, run_id, &fin);
    s->pending += pending;
    if (rc != 0) {
        if (rc == NZ_EUSAGE) /* no such run */
            batch_abort(s, "ending the run");
        return NZ_EDB;
    }
    if (clashes) {
        /* Some files are another run's, the rest only ours, and rows are not linked to files:
         * keep everything, record nothing, leave the run unfinished. */
        *outcome = STORE_RUN_REFUSED;
        return store_commit(s);
    }
    if (n && sqlite3_prepare_v2(s->db, insert_sql, -1, &ins, NULL) != SQLITE_OK) {
        nz_logf(s->log, NZ_LOG_ERR, "store: preparing the files insert failed: %s", sqlite3_errmsg(s->db));
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        sha_norm(files[i].hash, sha);
        struct binder b = {ins, SQLITE_OK};
        b_i64(&b, 1, run_id);
        b_text(&b, 2, files[i].path);
        b_text(&b, 3, sha);
        b_u64(&b, 4, files[i].size);
        b_text(&b, 5, files[i].quick[0] ? files[i].quick : NULL);
        int r = b.rc == SQLITE_OK ? sqlite3_step(ins) : b.rc;
        if (r != SQLITE_DONE) {
            nz_logf(s->log, NZ_LOG_ERR, "store: recording %s as analysed failed: %s",
                    files[i].path ? files[i].path : "a file", sqlite3_errmsg(s->db));
            goto fail;
        }
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
        s->pending++;
    }
    sqlite3_finalize(ins);
    ins = NULL;
    rc = store_commit(s);
    if (rc == 0)
        *outcome = STORE_FINISHED;
    return rc;
fail:
    sqlite3_finalize(ins);
    batch_abort(s, "ending the run");
    return NZ_EDB;
}

/* ---- flows ---- */

/* Binds and steps the flow upsert with this id. Returns SQLite's rc. */
static int flow_step(struct store *s, int64_t id, int64_t run_id, const struct store_flow *f)
{
    char first[TS_BUF], last[TS_BUF];
    sqlite3_stmt *st = s->stmt[STMT_FLOW_UPSERT];
    struct binder b = {st, SQLITE_OK};

    b_i64(&b, 1, id);
    b_i64(&b, 2, run_id);
    b_text(&b, 3, f->client_ip);
    b_i64(&b, 4, f->client_port);
    b_text(&b, 5, f->server_ip);
    b_i64(&b, 6, f->server_port);
    b_i64(&b, 7, f->ip_version);
    b_text(&b, 8, f->app_proto);
    b_text(&b, 9, f->ndpi_proto);
    b_text(&b, 10, f->orient);
    b_text(&b, 11, f->end_reason);
    b_ts(&b, 12, f->first_usec, first);
    b_ts(&b, 13, f->last_usec, last);
    b_u64(&b, 14, f->pkts[0]);
    b_u64(&b, 15, f->pkts[1]);
    b_u64(&b, 16, f->bytes[0]);
    b_u64(&b, 17, f->bytes[1]);
    b_u64(&b, 18, f->payload[0]);
    b_u64(&b, 19, f->payload[1]);
    b_u64(&b, 20, f->gaps);
    b_u64(&b, 21, f->gap_bytes);
    b_u64(&b, 22, f->overlaps);
    b_u64(&b, 23, f->overlap_diff);
    b_u64(&b, 24, f->retrans);
    return b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
}

/* Inserts (*flow_id == 0: sets *flow_id) or updates (*flow_id != 0) a flow of run_id in
 * the current batch. An update whose row is missing (lost with a rolled-back batch)
 * inserts it again under the same id; if that id now belongs to another run's flow, the
 * flow gets a new id, written to *flow_id (IN/OUT). Returns 0, NZ_EUSAGE (NULL args,
 * unknown run) or NZ_EDB. */
int store_flow_put(struct store *s, int64_t run_id, const struct store_flow *f, int64_t *flow_id)
{
    if (!s || !f || !flow_id || run_id <= 0 || *flow_id < 0)
        return NZ_EUSAGE;
    int rc = batch_begin(s);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = s->stmt[STMT_FLOW_UPSERT];
    int64_t id = *flow_id ? *flow_id : s->next_flow_id;
    rc = flow_step(s, id, run_id, f);
    if (rc != SQLITE_DONE)
        return write_failed(s, st, rc, "writing a flow");
    stmt_done(st);
    if (sqlite3_changes(s->db) == 0) {
        /* The id is another run's (another process reused it after our rollback). */
        nz_logf(s->log, NZ_LOG_WARN, "store: flow id %lld belongs to another run; storing the flow as new",
                (long long)id);
        id = s->next_flow_id;
        rc = flow_step(s, id, run_id, f);
        if (rc != SQLITE_DONE)
            return write_failed(s, st, rc, "writing a flow");
        stmt_done(st);
    }
    if (id >= s->next_flow_id)
        s->next_flow_id = id + 1;
    *flow_id = id;
    return batch_row(s);
}

/* ---- findings ---- */

/* Adds a finding of run_id in the current batch. flow_id 0 = none; a flow id that is not
 * a flow of this run is stored as NULL (logged). ep may be NULL; NULL addresses and port
 * 0 are stored as NULL. ts_usec 0 = unknown (NULL). Returns 0, NZ_EUSAGE (NULL args,
 * unknown kind or severity, unknown run) or NZ_EDB. */
int store_finding_add(struct store *s, int64_t run_id, int64_t flow_id, const struct finding *f,
                      const struct store_endpoints *ep)
{
    char ts[TS_BUF];

    if (!s || !f || run_id <= 0 || flow_id < 0)
        return NZ_EUSAGE;
    const struct finding_kind_info *ki = finding_kind_info(f->kind);
    if (!ki || (unsigned)f->severity > NZ_SEV_CRITICAL)
        return NZ_EUSAGE;
    int rc = batch_begin(s);
    if (rc != 0)
        return rc;

    /* Is flow_id a flow of this run? Under the batch's write lock nobody else can change
     * the answer before the INSERT. */
    bool flow_dropped = false;
    if (flow_id != 0) {
        sqlite3_stmt *q = s->stmt[STMT_FLOW_IN_RUN];
        struct binder qb = {q, SQLITE_OK};
        b_i64(&qb, 1, flow_id);
        b_i64(&qb, 2, run_id);
        rc = qb.rc == SQLITE_OK ? sqlite3_step(q) : qb.rc;
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return write_failed(s, q, rc, "inserting a finding");
        flow_dropped = rc == SQLITE_DONE;
        stmt_done(q);
    }

    sqlite3_stmt *st = s->stmt[STMT_FINDING_INSERT];
    struct binder b = {st, SQLITE_OK};
    b_i64(&b, 1, run_id);
    if (flow_id != 0 && !flow_dropped)
        b_i64(&b, 2, flow_id);
    else
        b_null(&b, 2);
    b_ts(&b, 3, f->ts_usec, ts);
    b_text(&b, 4, ki->name);
    b_text(&b, 5, nz_severity_name(f->severity));
    b_i64(&b, 6, (int64_t)f->severity);
    b_text(&b, 7, ep ? ep->client_ip : NULL);
    if (ep && ep->client_port)
        b_i64(&b, 8, ep->client_port);
    else
        b_null(&b, 8);
    b_text(&b, 9, ep ? ep->server_ip : NULL);
    if (ep && ep->server_port)
        b_i64(&b, 10, ep->server_port);
    else
        b_null(&b, 10);
    b_textn(&b, 11, f->summary, sizeof f->summary);
    b_textn(&b, 12, f->evidence, sizeof f->evidence);

    rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
    if (rc != SQLITE_DONE)
        return write_failed(s, st, rc, "inserting a finding");
    stmt_done(st);
    if (flow_dropped)
        nz_logf(s->log, NZ_LOG_WARN, "store: %s finding: flow %lld is not a flow of run %lld; stored without flow",
                ki->name, (long long)flow_id, (long long)run_id);
    return batch_row(s);
}

/* ---- time ---- */

/* Writes ts_usec (microseconds since the Unix epoch, UTC) as
 * "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (27 chars + NUL for years up to 9999; a later year takes
 * as many digits as it has) into buf. Returns buf, or NULL if buf is NULL or cap too small
 * (buf[0] is then '\0' when cap > 0).
 *
 * Every row carries one or two of these, so no gmtime_r() (which takes glibc's time zone
 * lock) and no snprintf(): the date comes from the day count by the proleptic Gregorian
 * arithmetic of Howard Hinnant's civil_from_days
 * (https://howardhinnant.github.io/date_algorithms.html#civil_from_days), exact for every
 * uint64_t input (years up to 586912), the same text "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ"
 * of gmtime_r() printed (tests/check_store.c compares the two). */
char *store_ts_iso(uint64_t ts_usec, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return NULL;
    uint64_t secs = ts_usec / 1000000u, days = secs / 86400u;
    unsigned usec = (unsigned)(ts_usec % 1000000u), sod = (unsigned)(secs % 86400u);

    uint64_t z = days + 719468u; /* days since 0000-03-01 */
    uint64_t era = z / 146097u;
    unsigned doe = (unsigned)(z - era * 146097u);                           /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u; /* [0, 399] */
    unsigned doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);              /* [0, 365] */
    unsigned mp = (5u * doy + 2u) / 153u;                                   /* [0, 11], from March */
    unsigned mday = doy - (153u * mp + 2u) / 5u + 1u;
    unsigned mon = mp < 10u ? mp + 3u : mp - 9u;
    uint64_t year = era * 400u + yoe + (mon <= 2u);

    char y[24];
    size_t yn = 0;
    do {
        y[sizeof y - 1 - yn++] = (char)('0' + year % 10u);
        year /= 10u;
    } while (year);
    while (yn < 4)
        y[sizeof y - 1 - yn++] = '0';
    if (cap < yn + 24) { /* "-MM-DDTHH:MM:SS.uuuuuuZ" + NUL */
        buf[0] = '\0';
        return NULL;
    }
    memcpy(buf, y + sizeof y - yn, yn);
    char *p = buf + yn;
    unsigned two[5] = {mon, mday, sod / 3600u, sod / 60u % 60u, sod % 60u};
    static const char sep[5] = {'-', '-', 'T', ':', ':'};
    for (int k = 0; k < 5; k++) {
        *p++ = sep[k];
        *p++ = (char)('0' + two[k] / 10u);
        *p++ = (char)('0' + two[k] % 10u);
    }
    *p++ = '.';
    for (int k = 5; k >= 0; k--) {
        p[k] = (char)('0' + usec % 10u);
        usec /= 10u;
    }
    p += 6;
    *p++ = 'Z';
    *p = '\0';
    return buf;
}
