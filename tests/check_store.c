/* check_store.c — Check suite for store/: open + PRAGMAs, migrations (from empty, from a
 * real v1 database, refusal of a newer one), runs, batching, flows, file dedup/forget,
 * query filters and column types, read-only SQL, read-only opening (missing, foreign, old,
 * WAL databases never written), connection hardening, result sets, and failure handling (lock held by
 * another connection, disk full via PRAGMA max_page_count, failed COMMIT). Databases are
 * ":memory:" or files in a fresh mkdtemp() directory removed at the end of each test. */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/migrate.h"
#include "store/store.h"
#include "tests/testutil.h"

/* ---- helpers ---- */

/* Collects log messages so tests can assert what was reported. */
struct logcap {
    int n_err;       /* NZ_LOG_ERR messages */
    char all[16384]; /* every message, newline-separated (truncated when full) */
};

static void log_fn(void *ud, enum nz_log_level level, const char *msg)
{
    struct logcap *c = ud;
    size_t len = strlen(c->all);
    if (level == NZ_LOG_ERR)
        c->n_err++;
    snprintf(c->all + len, sizeof c->all - len, "%s\n", msg);
}

struct tlog {
    struct logcap cap;
    struct nz_log log;
};

static void tlog_init(struct tlog *t)
{
    memset(t, 0, sizeof *t);
    t->log.fn = log_fn;
    t->log.ud = &t->cap;
    t->log.max_level = NZ_LOG_DEBUG;
}

/* A temporary directory holding one database file. */
struct tdb {
    char dir[64];
    char path[96];
};

static void tdb_make(struct tdb *t)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(t->dir, sizeof t->dir, "%s/nzstoreXXXXXX", tmp && tmp[0] && strlen(tmp) < 40 ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/nz.db", t->dir);
}

static void tdb_remove(struct tdb *t)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    char p[128];
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        snprintf(p, sizeof p, "%s%s", t->path, sfx[i]);
        unlink(p);
    }
    rmdir(t->dir);
}

/* Result rows captured from a store_row_fn callback. */
#define MAXR 64
#define MAXC 26
struct rows {
    int n;          /* rows seen (only the first MAXR are kept) */
    int ncol;
    int stop_after; /* > 0: return 42 once this many rows were seen */
    char names[MAXC][32];
    enum store_col_type types[MAXR][MAXC];
    char *vals[MAXR][MAXC]; /* strdup'd; NULL for SQL NULL */
};

static int collect(void *ud, int n, const char *const *names, const enum store_col_type *types,
                   const char *const *vals)
{
    struct rows *r = ud;
    ck_assert_int_le(n, MAXC);
    r->ncol = n;
    if (r->n < MAXR) {
        for (int i = 0; i < n; i++) {
            snprintf(r->names[i], sizeof r->names[i], "%s", names[i]);
            r->types[r->n][i] = types[i];
            r->vals[r->n][i] = vals[i] ? strdup(vals[i]) : NULL;
            ck_assert_int_eq(types[i] == STORE_COL_NULL, vals[i] == NULL);
        }
    }
    r->n++;
    return r->stop_after > 0 && r->n >= r->stop_after ? 42 : 0;
}

static struct rows *rows_new(void)
{
    struct rows *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    return r;
}

static void rows_free(struct rows *r)
{
    for (int i = 0; i < MAXR; i++)
        for (int j = 0; j < MAXC; j++)
            free(r->vals[i][j]);
    free(r);
}

static void rows_reset(struct rows *r)
{
    for (int i = 0; i < MAXR; i++)
        for (int j = 0; j < MAXC; j++)
            free(r->vals[i][j]);
    memset(r, 0, sizeof *r);
}

static int col(const struct rows *r, const char *name)
{
    for (int i = 0; i < r->ncol; i++)
        if (strcmp(r->names[i], name) == 0)
            return i;
    ck_abort_msg("no column %s", name);
    return -1;
}

/* Cell text of row i, column name (NULL for SQL NULL). */
static const char *cell(const struct rows *r, int i, const char *name)
{
    ck_assert_int_lt(i, r->n);
    return r->vals[i][col(r, name)];
}

/* First column of the first row of a read-only query through the store, as integer. */
static long long sq_int(struct store *s, const char *sql)
{
    struct rows *r = rows_new();
    ck_assert_int_eq(store_query_sql(s, sql, collect, r), 0);
    ck_assert_int_ge(r->n, 1);
    ck_assert_ptr_nonnull(r->vals[0][0]);
    long long v = atoll(r->vals[0][0]);
    rows_free(r);
    return v;
}

/* The same through a raw connection (another "process"); -1 on error. */
static long long raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void raw_text(sqlite3 *db, const char *sql, char *buf, size_t cap)
{
    sqlite3_stmt *st = NULL;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_text(st, 0))
        snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

static long long path_count(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    long long v = raw_int(db, sql);
    sqlite3_close(db);
    return v;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
    sqlite3_free(msg);
}

static struct store *open_ok(const char *path, const struct nz_log *log)
{
    int err = 1;
    struct store *s = store_open(path, log, &err);
    ck_assert_msg(s != NULL, "store_open(%s) failed: %d", path, err);
    return s;
}

static int64_t new_run(struct store *s, const char *source)
{
    struct store_run r = {source, "file", NULL, "test"};
    int64_t id = 0;
    ck_assert_int_eq(store_run_begin(s, &r, &id), 0);
    ck_assert_int_gt(id, 0);
    return id;
}

#define T0 1795924550000000ull /* 2026-11-29T03:55:50Z in microseconds */

static int add_finding(struct store *s, int64_t run, int64_t flow, enum finding_kind k,
                       enum nz_severity sev, uint64_t ts, const char *cip, const char *sip,
                       const char *evidence)
{
    struct finding f;
    finding_init(&f, k, ts);
    f.severity = sev;
    finding_summary(&f, "finding %d at %llu", (int)k, (unsigned long long)ts);
    if (evidence)
        snprintf(f.evidence, sizeof f.evidence, "%s", evidence);
    struct store_endpoints ep = {cip, sip, cip ? 40000 : 0, sip ? 443 : 0};
    return store_finding_add(s, run, flow, &f, &ep);
}

static struct store_flow mk_flow(const char *cip, const char *sip, uint64_t first)
{
    struct store_flow f = {0};
    f.client_ip = cip;
    f.server_ip = sip;
    f.client_port = 40001;
    f.server_port = 25;
    f.ip_version = 4;
    f.app_proto = "smtp";
    f.ndpi_proto = "SMTP";
    f.orient = "syn";
    f.first_usec = first;
    f.last_usec = first + 1000;
    f.pkts[0] = 3;
    f.pkts[1] = 4;
    f.bytes[0] = 300;
    f.bytes[1] = 400;
    return f;
}

/* Arms a COMMIT failure: a deferred foreign-key violation injected into the open batch. */
static void inject_deferred_fk_violation(struct store *s)
{
    raw_exec(store_sqlite(s), "PRAGMA defer_foreign_keys=ON;"
                              "INSERT INTO findings(run_id, kind, severity, severity_rank)"
                              " VALUES(987654, 'test.bogus', 'info', 0)");
}

static const char SHA_A[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char SHA_B[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
static const char SHA_C[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* ---- open ---- */

START_TEST(test_open_memory)
{
    struct tlog t;
    tlog_init(&t);
    struct store *s = open_ok(":memory:", &t.log);
    ck_assert_int_eq(store_schema_latest(), 8);
    ck_assert_int_eq(store_schema_version(s), store_schema_latest());
    ck_assert_int_eq(sq_int(s, "PRAGMA foreign_keys"), 1);
    ck_assert_int_eq(raw_int(store_sqlite(s), "PRAGMA busy_timeout"), STORE_BUSY_MS);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
                               " ('runs', 'files', 'flows', 'findings')"),
                     4);
    ck_assert_ptr_nonnull(store_errmsg(s));
    ck_assert_int_eq(store_close(s), 0);
    ck_assert_int_eq(store_close(NULL), 0);
    ck_assert_int_eq(t.cap.n_err, 0);
}
END_TEST

START_TEST(test_open_file_pragmas)
{
    struct tdb d;
    char mode[16];
    tdb_make(&d);
    struct store *s = open_ok(d.path, NULL);
    sqlite3 *db = store_sqlite(s);
    raw_text(db, "PRAGMA journal_mode", mode, sizeof mode);
    ck_assert_str_eq(mode, "wal");
    ck_assert_int_eq(raw_int(db, "PRAGMA synchronous"), 1); /* NORMAL */
    ck_assert_int_eq(raw_int(db, "PRAGMA foreign_keys"), 1);
    ck_assert_int_eq(raw_int(db, "PRAGMA cache_size"), -8192);       /* KiB */
    ck_assert_int_eq(raw_int(db, "PRAGMA wal_autocheckpoint"), 4000); /* pages */
    ck_assert_int_eq(raw_int(db, "PRAGMA busy_timeout"), STORE_BUSY_MS);
    ck_assert_int_eq(store_schema_version(s), store_schema_latest());
    ck_assert_int_eq(store_set_busy_ms(s, 25), 0);
    ck_assert_int_eq(raw_int(db, "PRAGMA busy_timeout"), 25);
    ck_assert_int_eq(store_set_busy_ms(s, -1), NZ_EUSAGE);
    ck_assert_int_eq(store_close(s), 0);
    /* Reopening an up-to-date database changes nothing. */
    s = open_ok(d.path, NULL);
    ck_assert_int_eq(store_schema_version(s), store_schema_latest());
    ck_assert_int_eq(store_close(s), 0);
    ck_assert_int_eq(path_count(d.path, "PRAGMA user_version"), store_schema_latest());
    tdb_remove(&d);
}
END_TEST

START_TEST(test_open_errors)
{
    struct tlog t;
    struct tdb d;
    int err = 0;
    tlog_init(&t);
    ck_assert_ptr_null(store_open(NULL, &t.log, &err));
    ck_assert_int_eq(err, NZ_EUSAGE);
    ck_assert_ptr_null(store_open("/nonexistent-netzwacht-dir/sub/nz.db", &t.log, &err));
    ck_assert_int_eq(err, NZ_EIO);
    ck_assert_int_ge(t.cap.n_err, 1);

    /* Not a database: refused, and the file is left alone. */
    tdb_make(&d);
    FILE *fp = fopen(d.path, "w");
    ck_assert_ptr_nonnull(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is not an sqlite database, just text\n", fp);
    fclose(fp);
    err = 0;
    ck_assert_ptr_null(store_open(d.path, &t.log, &err));
    ck_assert_int_eq(err, NZ_EDB);
    size_t len = 0;
    uint8_t *data = tu_read_file(d.path, &len);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_eq(len, 200 * strlen("this is not an sqlite database, just text\n"));
    ck_assert_int_eq(memcmp(data, "this is not", 11), 0);
    free(data);
    /* err may be NULL. */
    ck_assert_ptr_null(store_open(d.path, NULL, NULL));
    tdb_remove(&d);
}
END_TEST

START_TEST(test_ts_iso)
{
    char buf[64];
    ck_assert_ptr_eq(store_ts_iso(0, buf, sizeof buf), buf);
    ck_assert_str_eq(buf, "1970-01-01T00:00:00.000000Z");
    ck_assert_ptr_nonnull(store_ts_iso(T0 + 123456, buf, sizeof buf));
    ck_assert_str_eq(buf, "2026-11-29T03:55:50.123456Z");
    ck_assert_ptr_nonnull(store_ts_iso(951782400ull * 1000000 + 999999, buf, sizeof buf));
    ck_assert_str_eq(buf, "2000-02-29T00:00:00.999999Z");
    /* 27 characters + NUL: 28 fits, 27 does not. */
    ck_assert_ptr_nonnull(store_ts_iso(T0, buf, 28));
    ck_assert_uint_eq(strlen(buf), 27);
    ck_assert_ptr_null(store_ts_iso(T0, buf, 27));
    ck_assert_ptr_null(store_ts_iso(T0, NULL, 64));
    ck_assert_ptr_null(store_ts_iso(T0, buf, 0));
    /* Text order equals time order (what --since relies on). */
    char a[32], b[32];
    store_ts_iso(T0 + 999999, a, sizeof a);
    store_ts_iso(T0 + 1000000, b, sizeof b);
    ck_assert_int_lt(strcmp(a, b), 0);
}
END_TEST

/* store_ts_iso() as it was written before it formatted by hand: gmtime_r() and snprintf(). */
static char *ts_iso_ref(uint64_t ts_usec, char *buf, size_t cap)
{
    struct tm tm;
    time_t secs = (time_t)(ts_usec / 1000000u);
    if (!gmtime_r(&secs, &tm))
        return NULL;
    int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ts_usec % 1000000u));
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return NULL;
    }
    return buf;
}

static void ts_same(uint64_t us)
{
    char a[48], b[48];
    ck_assert_ptr_nonnull(ts_iso_ref(us, a, sizeof a));
    ck_assert_ptr_eq(store_ts_iso(us, b, sizeof b), b);
    ck_assert_msg(strcmp(a, b) == 0, "%llu: gmtime_r says %s, store_ts_iso %s", (unsigned long long)us, a, b);
}

/* The hand-made formatter writes what gmtime_r() + snprintf() wrote: the first and last
 * microsecond of every day from 1970 to 2500 (every month end, leap day and century rule),
 * 10000 and later (five- and six-digit years), the largest input, and random instants. */
START_TEST(test_ts_iso_matches_gmtime)
{
    const uint64_t day = 86400000000ull;
    for (uint64_t d = 0; d < 193000; d++) { /* 1970-01-01 .. 2498 */
        ts_same(d * day + d % 7);
        ts_same(d * day + day - 1 - (d % 86400) * 1000000u);
    }
    ts_same(253402300799999999ull); /* 9999-12-31T23:59:59.999999Z */
    ts_same(253402300800000000ull); /* 10000-01-01 */
    ts_same(UINT64_MAX);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 50000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ts_same(x);
        ts_same(x % (day * 200000)); /* within the first 547 years */
    }
    /* A five-digit year is 28 characters: 29 bytes fit, 28 do not (buf emptied). */
    char buf[40];
    ck_assert_ptr_nonnull(store_ts_iso(253402300800000000ull, buf, 29));
    ck_assert_str_eq(buf, "10000-01-01T00:00:00.000000Z");
    ck_assert_ptr_null(store_ts_iso(253402300800000000ull, buf, 28));
    ck_assert_str_eq(buf, "");
}
END_TEST

/* ---- migrations ---- */

START_TEST(test_migrate_from_empty)
{
    struct tdb d;
    struct tlog t;
    sqlite3 *db = NULL;
    tlog_init(&t);
    tdb_make(&d);
    ck_assert_int_eq(sqlite3_open(d.path, &db), SQLITE_OK);
    ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), 0);
    ck_assert_int_eq(store_migrate_latest(), store_schema_latest());
    ck_assert_int_eq(store_migrate_to(db, store_migrate_latest(), &t.log), 0);
    ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), store_schema_latest());
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN"
                                 " ('findings_kind', 'findings_ts', 'findings_server_ip',"
                                 " 'flows_server_ip', 'flows_run_id', 'files_run_id')"),
                     6);
    ck_assert_ptr_nonnull(strstr(t.cap.all, "migrated to v1"));
    ck_assert_ptr_nonnull(strstr(t.cap.all, "migrated to v2"));
    /* Again: nothing to do. Out-of-range targets are refused. */
    ck_assert_int_eq(store_migrate_to(db, store_schema_latest(), NULL), 0);
    ck_assert_int_eq(store_migrate_to(db, 0, NULL), NZ_EUSAGE);
    ck_assert_int_eq(store_migrate_to(db, store_schema_latest() + 1, NULL), NZ_EUSAGE);
    /* No down-migration: asking for v1 leaves the latest alone. */
    ck_assert_int_eq(store_migrate_to(db, 1, NULL), 0);
    ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), store_schema_latest());
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM pragma_table_info('flows') WHERE name = 'retrans'"), 1);
    sqlite3_close(db);
    tdb_remove(&d);
}
END_TEST

START_TEST(test_migrate_from_v1)
{
    struct tdb d;
    sqlite3 *db = NULL;
    tdb_make(&d);
    ck_assert_int_eq(sqlite3_open(d.path, &db), SQLITE_OK);
    ck_assert_int_eq(store_migrate_to(db, 1, NULL), 0);
    ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), 1);
    /* v1 has neither files nor the reassembly counters. */
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'files'"), 0);
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM pragma_table_info('flows') WHERE name = 'gaps'"), 0);
    raw_exec(db, "INSERT INTO runs(id, source, mode, version, finished) VALUES(1, 'old.pcap', 'file', '0.0.9', 1);"
                 "INSERT INTO flows(id, run_id, client_ip, client_port, server_ip, server_port, ip_version,"
                 " app_proto, first_ts, pkts_c2s) VALUES(1, 1, '10.0.0.1', 40000, '10.0.0.2', 25, 4, 'smtp',"
                 " '2025-01-01T00:00:00.000000Z', 7);"
                 "INSERT INTO findings(run_id, flow_id, ts, kind, severity, severity_rank, server_ip, summary,"
                 " evidence) VALUES(1, 1, '2025-01-01T00:00:01.000000Z', 'tcp.overlap_mismatch', 'medium', 2,"
                 " '10.0.0.2', 'old finding', '{\"v\":1}');");
    sqlite3_close(db);

    struct tlog t;
    tlog_init(&t);
    struct store *s = open_ok(d.path, &t.log);
    ck_assert_int_eq(store_schema_version(s), store_schema_latest());
    ck_assert_ptr_nonnull(strstr(t.cap.all, "migrated to v2"));
    char latest_msg[32];
    snprintf(latest_msg, sizeof latest_msg, "migrated to v%d", store_schema_latest());
    ck_assert_ptr_nonnull(strstr(t.cap.all, latest_msg));
    ck_assert_ptr_null(strstr(t.cap.all, "migrated to v1"));
    /* Old rows kept; the new columns exist and are NULL for them. */
    struct rows *r = rows_new();
    ck_assert_int_eq(store_query_flows(s, NULL, collect, r), 0);
    ck_assert_int_eq(r->n, 1);
    ck_assert_str_eq(cell(r, 0, "client_ip"), "10.0.0.1");
    ck_assert_str_eq(cell(r, 0, "pkts_c2s"), "7");
    ck_assert_ptr_null(cell(r, 0, "gaps"));
    ck_assert_ptr_null(cell(r, 0, "retrans"));
    rows_reset(r);
    ck_assert_int_eq(store_query_findings(s, NULL, collect, r), 0);
    ck_assert_int_eq(r->n, 1);
    ck_assert_str_eq(cell(r, 0, "summary"), "old finding");
    ck_assert_str_eq(cell(r, 0, "flow_id"), "1");
    rows_free(r);
    /* The new table works, and new runs/flows get fresh ids. */
    int64_t run = new_run(s, "new.pcap");
    ck_assert_int_eq(run, 2);
    ck_assert_int_eq(store_file_add(s, run, "new.pcap", SHA_A, 1234), 0);
    struct store_flow f = mk_flow("10.0.0.3", "10.0.0.4", T0);
    f.gaps = 2;
    int64_t fid = 0;
    ck_assert_int_eq(store_flow_put(s, run, &f, &fid), 0);
    ck_assert_int_eq(fid, 2);
    ck_assert_int_eq(store_close(s), 0);
    ck_assert_int_eq(path_count(d.path, "SELECT count(*) FROM files"), 1);
    ck_assert_int_eq(path_count(d.path, "SELECT gaps FROM flows WHERE id = 2"), 2);
    ck_assert_int_eq(path_count(d.path, "SELECT count(*) FROM findings"), 1);
    ck_assert_int_eq(path_count(d.path, "SELECT count(*) FROM runs"), 2);
    tdb_remove(&d);
}
END_TEST

START_TEST(test_migrate_failure_rolls_back)
{
    struct tdb d;
    struct tlog t;
    sqlite3 *db = NULL;
    int err = 0;
    tlog_init(&t);
    tdb_make(&d);
    ck_assert_int_eq(sqlite3_open(d.path, &db), SQLITE_OK);
    ck_assert_int_eq(store_migrate_to(db, 1, NULL), 0);
    /* A stray column makes step 2 fail at its last statement, after it created files
     * and added the other columns. */
    raw_exec(db, "ALTER TABLE flows ADD COLUMN retrans INTEGER; INSERT INTO runs(id, source) VALUES(1, 'kept')");
    sqlite3_close(db);

    ck_assert_ptr_null(store_open(d.path, &t.log, &err));
    ck_assert_int_eq(err, NZ_EDB);
    ck_assert_ptr_nonnull(strstr(t.cap.all, "migration to schema v2 failed"));
    ck_assert_ptr_nonnull(strstr(t.cap.all, "duplicate column name: retrans"));
    /* The step is all-or-nothing: still v1, no files table, no new columns, data intact. */
    ck_assert_int_eq(path_count(d.path, "SELECT count(*) FROM sqlite_master WHERE name = 'files'"), 0);
    ck_assert_int_eq(path_count(d.path, "PRAGMA user_version"), 1);
    ck_assert_int_eq(path_count(d.path, "SELECT count(*) FROM pragma_table_info('flows') WHERE name = 'gaps'"), 0);
    ck_assert_int_eq(path_count(d.path, "SELECT count(*) FROM runs WHERE source = 'kept'"), 1);
    tdb_remove(&d);
}
END_TEST

START_TEST(test_refuse_newer)
{
    struct tdb d;
    struct tlog t;
    sqlite3 *db = NULL;
    char mode[16];
    int err = 0;
    tlog_init(&t);
    tdb_make(&d);
    ck_assert_int_eq(sqlite3_open(d.path, &db), SQLITE_OK);
    char future_sql[128], future_v[16];
    int future = store_schema_latest() + 1;
    snprintf(future_sql, sizeof future_sql, "CREATE TABLE future(x); INSERT INTO future VALUES(42); PRAGMA user_version = %d;", future);
    snprintf(future_v, sizeof future_v, "v%d", future);
    raw_exec(db, future_sql);
    sqlite3_close(db);

    ck_assert_ptr_null(store_open(d.path, &t.log, &err));
    ck_assert_int_eq(err, NZ_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(t.cap.all, "newer"));
    ck_assert_ptr_nonnull(strstr(t.cap.all, future_v));

    /* Untouched: version, contents, and not even switched to WAL. */
    ck_assert_int_eq(sqlite3_open(d.path, &db), SQLITE_OK);
    ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), future);
    ck_assert_int_eq(raw_int(db, "SELECT x FROM future"), 42);
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'runs'"), 0);
    raw_text(db, "PRAGMA journal_mode", mode, sizeof mode);
    ck_assert_str_eq(mode, "delete");
    ck_assert_int_eq(store_migrate_to(db, 2, NULL), NZ_EUNSUPPORTED);
    ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), future);
    sqlite3_close(db);
    tdb_remove(&d);
}
END_TEST

/* ---- runs ---- */

START_TEST(test_run_begin_update)
{
    struct store *s = open_ok(":memory:", NULL);
    struct store_run r = {"a.pcap,b.pcap", "file", "tcp port 25", "0.1.0"};
    int64_t id = 0;
    ck_assert_int_eq(store_run_begin(NULL, &r, &id), NZ_EUSAGE);
    ck_assert_int_eq(store_run_begin(s, NULL, &id), NZ_EUSAGE);
    ck_assert_int_eq(store_run_begin(s, &r, &id), 0);
    ck_assert_int_eq(id, 1);

    struct rows *rr = rows_new();
    ck_assert_int_eq(store_query_sql(s, "SELECT * FROM runs", collect, rr), 0);
    ck_assert_int_eq(rr->n, 1);
    ck_assert_str_eq(cell(rr, 0, "source"), "a.pcap,b.pcap");
    ck_assert_str_eq(cell(rr, 0, "mode"), "file");
    ck_assert_str_eq(cell(rr, 0, "filter"), "tcp port 25");
    ck_assert_str_eq(cell(rr, 0, "version"), "0.1.0");
    ck_assert_str_eq(cell(rr, 0, "findings"), "0");
    ck_assert_str_eq(cell(rr, 0, "finished"), "0");
    ck_assert_ptr_null(cell(rr, 0, "first_ts"));
    ck_assert_ptr_null(cell(rr, 0, "packets"));

    struct store_run_stats st = {0};
    st.first_usec = T0;
    st.last_usec = T0 + 2500000;
    st.packets = 100;
    st.bytes = 64000;
    st.tcp_packets = 90;
    st.malformed = 2;
    st.flows = 5;
    st.flows_evicted = 1;
    st.findings = 3;
    st.counters_json = "{\"malformed\":{\"ipv4_len\":2}}";
    st.finished = true;
    ck_assert_int_eq(store_run_update(s, id, &st), 0);
    rows_reset(rr);
    ck_assert_int_eq(store_query_sql(s, "SELECT * FROM runs", collect, rr), 0);
    ck_assert_str_eq(cell(rr, 0, "first_ts"), "2026-11-29T03:55:50.000000Z");
    ck_assert_str_eq(cell(rr, 0, "last_ts"), "2026-11-29T03:55:52.500000Z");
    ck_assert_str_eq(cell(rr, 0, "packets"), "100");
    ck_assert_str_eq(cell(rr, 0, "bytes"), "64000");
    ck_assert_str_eq(cell(rr, 0, "tcp_packets"), "90");
    ck_assert_str_eq(cell(rr, 0, "malformed"), "2");
    ck_assert_str_eq(cell(rr, 0, "pcap_recv"), "0");
    ck_assert_str_eq(cell(rr, 0, "flows_evicted"), "1");
    ck_assert_str_eq(cell(rr, 0, "findings"), "3");
    ck_assert_str_eq(cell(rr, 0, "finished"), "1");
    ck_assert_str_eq(cell(rr, 0, "counters"), "{\"malformed\":{\"ipv4_len\":2}}");
    ck_assert_int_eq(rr->types[0][col(rr, "counters")], STORE_COL_JSON);
    ck_assert_int_eq(rr->types[0][col(rr, "packets")], STORE_COL_INT);

    /* No packets: times are NULL, not 1970. Huge counters saturate instead of wrapping. */
    st.first_usec = st.last_usec = 0;
    st.packets = UINT64_MAX;
    st.counters_json = NULL;
    ck_assert_int_eq(store_run_update(s, id, &st), 0);
    rows_reset(rr);
    ck_assert_int_eq(store_query_sql(s, "SELECT first_ts, last_ts, packets, counters FROM runs", collect, rr), 0);
    ck_assert_ptr_null(cell(rr, 0, "first_ts"));
    ck_assert_ptr_null(cell(rr, 0, "last_ts"));
    ck_assert_str_eq(cell(rr, 0, "packets"), "9223372036854775807");
    ck_assert_ptr_null(cell(rr, 0, "counters"));
    rows_free(rr);

    ck_assert_int_eq(store_run_update(s, 999, &st), NZ_EUSAGE);
    ck_assert_int_eq(store_run_update(s, id, NULL), NZ_EUSAGE);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

/* ---- batching ---- */

START_TEST(test_batching)
{
    struct tdb d;
    sqlite3 *other = NULL;
    const int total = 2 * STORE_BATCH_ROWS + 7;
    tdb_make(&d);
    struct store *s = open_ok(d.path, NULL);
    int64_t run = new_run(s, "batch");
    ck_assert_int_eq(sqlite3_open(d.path, &other), SQLITE_OK);

    for (int i = 0; i < STORE_BATCH_ROWS + 3; i++)
        ck_assert_int_eq(add_finding(s, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0 + (uint64_t)i, "10.0.0.1",
                                     "10.0.0.2", NULL),
                         0);
    /* Another connection sees exactly one committed batch; the store sees everything. */
    ck_assert_int_eq(raw_int(other, "SELECT count(*) FROM findings"), STORE_BATCH_ROWS);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings"), STORE_BATCH_ROWS + 3);
    for (int i = STORE_BATCH_ROWS + 3; i < total; i++)
        ck_assert_int_eq(add_finding(s, run, 0, FK_TCP_OVERLAP_MISMATCH, NZ_SEV_MEDIUM, T0 + (uint64_t)i,
                                     "10.0.0.1", "10.0.0.2", NULL),
                         0);
    ck_assert_int_eq(raw_int(other, "SELECT count(*) FROM findings"), 2 * STORE_BATCH_ROWS);
    sqlite3_close(other);
    ck_assert_int_eq(store_close(s), 0);

    s = open_ok(d.path, NULL);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings"), total);
    ck_assert_int_eq(sq_int(s, "SELECT count(DISTINCT id) FROM findings"), total);
    uint64_t counts[5];
    ck_assert_int_eq(store_count_by_severity(s, run, counts), 0);
    ck_assert_uint_eq(counts[NZ_SEV_LOW], STORE_BATCH_ROWS + 3);
    ck_assert_uint_eq(counts[NZ_SEV_MEDIUM], STORE_BATCH_ROWS + 4);
    ck_assert_int_eq(store_close(s), 0);
    tdb_remove(&d);
}
END_TEST

START_TEST(test_commit_explicit)
{
    struct tdb d;
    sqlite3 *other = NULL;
    tdb_make(&d);
    struct store *s = open_ok(d.path, NULL);
    int64_t run = new_run(s, "commit");
    ck_assert_int_eq(sqlite3_open(d.path, &other), SQLITE_OK);
    ck_assert_int_eq(raw_int(other, "SELECT count(*) FROM runs"), 1); /* run_begin commits */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(add_finding(s, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_int_eq(raw_int(other, "SELECT count(*) FROM findings"), 0);
    ck_assert_int_eq(store_commit(s), 0);
    ck_assert_int_eq(raw_int(other, "SELECT count(*) FROM findings"), 5);
    ck_assert_int_eq(store_commit(s), 0); /* nothing pending */
    ck_assert_int_eq(store_commit(NULL), NZ_EUSAGE);
    sqlite3_close(other);
    ck_assert_int_eq(store_close(s), 0);
    tdb_remove(&d);
}
END_TEST

/* ---- flows ---- */

START_TEST(test_flow_insert_update)
{
    struct store *s = open_ok(":memory:", NULL);
    int64_t run = new_run(s, "flows");
    struct store_flow f = mk_flow("192.0.2.1", "192.0.2.25", T0);
    int64_t id1 = 0, id2 = 0;
    ck_assert_int_eq(store_flow_put(s, run, &f, &id1), 0);
    ck_assert_int_gt(id1, 0);
    struct store_flow g = mk_flow("2001:db8::1", "2001:db8::25", T0 + 5);
    g.ip_version = 6;
    g.app_proto = NULL;
    ck_assert_int_eq(store_flow_put(s, run, &g, &id2), 0);
    ck_assert_int_ne(id1, id2);

    struct rows *r = rows_new();
    ck_assert_int_eq(store_query_flows(s, NULL, collect, r), 0);
    ck_assert_int_eq(r->n, 2);
    ck_assert_int_eq(r->ncol, 24);
    ck_assert_ptr_null(cell(r, 0, "end_reason"));
    ck_assert_str_eq(cell(r, 0, "orient"), "syn");
    ck_assert_str_eq(cell(r, 0, "first_ts"), "2026-11-29T03:55:50.000000Z");
    ck_assert_ptr_null(cell(r, 1, "app_proto"));
    ck_assert_str_eq(cell(r, 1, "ip_version"), "6");

    /* Update: same id, new values, no new row. */
    f.end_reason = "fin";
    f.last_usec = T0 + 9000000;
    f.pkts[0] = 30;
    f.payload[1] = 777;
    f.gaps = 1;
    f.gap_bytes = 1460;
    f.overlaps = 2;
    f.overlap_diff = 1;
    f.retrans = 5;
    int64_t same = id1;
    ck_assert_int_eq(store_flow_put(s, run, &f, &same), 0);
    ck_assert_int_eq(same, id1);
    rows_reset(r);
    ck_assert_int_eq(store_query_flows(s, NULL, collect, r), 0);
    ck_assert_int_eq(r->n, 2);
    ck_assert_str_eq(cell(r, 0, "id"), "1");
    ck_assert_str_eq(cell(r, 0, "end_reason"), "fin");
    ck_assert_str_eq(cell(r, 0, "last_ts"), "2026-11-29T03:55:59.000000Z");
    ck_assert_str_eq(cell(r, 0, "pkts_c2s"), "30");
    ck_assert_str_eq(cell(r, 0, "pkts_s2c"), "4");
    ck_assert_str_eq(cell(r, 0, "bytes_s2c"), "400");
    ck_assert_str_eq(cell(r, 0, "payload_s2c"), "777");
    ck_assert_str_eq(cell(r, 0, "gaps"), "1");
    ck_assert_str_eq(cell(r, 0, "gap_bytes"), "1460");
    ck_assert_str_eq(cell(r, 0, "overlaps"), "2");
    ck_assert_str_eq(cell(r, 0, "overlap_diff"), "1");
    ck_assert_str_eq(cell(r, 0, "retrans"), "5");

    /* proto filter; host filter on flows. */
    struct store_filter flt = {.min_severity = -1, .proto = "smtp"};
    rows_reset(r);
    ck_assert_int_eq(store_query_flows(s, &flt, collect, r), 0);
    ck_assert_int_eq(r->n, 1);
    flt.proto = NULL;
    flt.host = "2001:db8::25";
    rows_reset(r);
    ck_assert_int_eq(store_query_flows(s, &flt, collect, r), 0);
    ck_assert_int_eq(r->n, 1);
    ck_assert_str_eq(cell(r, 0, "client_ip"), "2001:db8::1");
    rows_free(r);

    /* Bad arguments. */
    int64_t neg = -1;
    ck_assert_int_eq(store_flow_put(s, run, &f, &neg), NZ_EUSAGE);
    ck_assert_int_eq(store_flow_put(s, 0, &f, &same), NZ_EUSAGE);
    ck_assert_int_eq(store_flow_put(s, run, NULL, &same), NZ_EUSAGE);
    int64_t fresh = 0;
    ck_assert_int_eq(store_flow_put(s, 4242, &f, &fresh), NZ_EUSAGE); /* no such run (FK) */
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

START_TEST(test_flow_survives_rolled_back_batch)
{
    struct tlog t;
    tlog_init(&t);
    struct store *s = open_ok(":memory:", &t.log);
    int64_t run = new_run(s, "rb");
    struct store_flow a = mk_flow("10.1.0.1", "10.1.0.2", T0);
    struct store_flow b = mk_flow("10.1.0.3", "10.1.0.4", T0 + 1);
    int64_t ida = 0, idb = 0;
    ck_assert_int_eq(store_flow_put(s, run, &a, &ida), 0);
    ck_assert_int_eq(store_commit(s), 0);
    ck_assert_int_eq(store_flow_put(s, run, &b, &idb), 0);
    ck_assert_int_eq(add_finding(s, run, idb, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    inject_deferred_fk_violation(s);
    ck_assert_int_eq(store_commit(s), NZ_EDB);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM flows"), 1);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings"), 0);

    /* A finding for the lost flow is kept, without the flow link (and that is logged). */
    ck_assert_int_eq(add_finding(s, run, idb, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings WHERE flow_id IS NULL"), 1);
    ck_assert_ptr_nonnull(strstr(t.cap.all, "stored without flow"));
    /* A new flow never gets the lost id... */
    struct store_flow c = mk_flow("10.1.0.5", "10.1.0.6", T0 + 2);
    int64_t idc = 0;
    ck_assert_int_eq(store_flow_put(s, run, &c, &idc), 0);
    ck_assert_int_gt(idc, idb);
    /* ...and updating the lost flow brings it back under its id. */
    b.end_reason = "rst";
    int64_t idb2 = idb;
    ck_assert_int_eq(store_flow_put(s, run, &b, &idb2), 0);
    ck_assert_int_eq(idb2, idb);
    ck_assert_int_eq(add_finding(s, run, idb, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_int_eq(store_commit(s), 0);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM flows"), 3);
    char q[128];
    snprintf(q, sizeof q, "SELECT count(*) FROM flows WHERE id = %lld AND end_reason = 'rst'", (long long)idb);
    ck_assert_int_eq(sq_int(s, q), 1);
    snprintf(q, sizeof q, "SELECT count(*) FROM findings WHERE flow_id = %lld", (long long)idb);
    ck_assert_int_eq(sq_int(s, q), 1);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

START_TEST(test_flow_of_other_run)
{
    struct store *s = open_ok(":memory:", NULL);
    int64_t r1 = new_run(s, "one"), r2 = new_run(s, "two");
    struct store_flow f = mk_flow("10.2.0.1", "10.2.0.2", T0);
    int64_t fid = 0;
    ck_assert_int_eq(store_flow_put(s, r1, &f, &fid), 0);
    ck_assert_int_eq(add_finding(s, r1, fid, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_int_eq(add_finding(s, r2, fid, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings WHERE flow_id = 1 AND run_id = 1"), 1);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings WHERE flow_id IS NULL AND run_id = 2"), 1);
    /* A stale id pointing at another run's flow never overwrites it. */
    struct store_flow g = mk_flow("10.2.0.9", "10.2.0.10", T0 + 1);
    int64_t gid = fid;
    ck_assert_int_eq(store_flow_put(s, r2, &g, &gid), 0);
    ck_assert_int_ne(gid, fid);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM flows WHERE id = 1 AND client_ip = '10.2.0.1'"), 1);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM flows WHERE run_id = 2"), 1);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

/* ---- files ---- */

START_TEST(test_file_dedup)
{
    struct store *s = open_ok(":memory:", NULL);
    int64_t run = new_run(s, "x.pcap"), got = -1;
    ck_assert_int_eq(store_file_lookup(s, SHA_A, &got), 0);
    ck_assert_int_eq(got, 0);
    ck_assert_int_eq(store_file_add(s, run, "x.pcap", SHA_A, 4096), 0);
    ck_assert_int_eq(store_file_lookup(s, SHA_A, &got), 0);
    ck_assert_int_eq(got, run);
    char upper[65];
    for (int i = 0; i < 64; i++)
        upper[i] = (char)(SHA_C[i] >= 'a' ? SHA_C[i] - 32 : SHA_C[i]);
    upper[64] = '\0';
    ck_assert_int_eq(store_file_add(s, run, "y.pcap", upper, 1), 0);
    ck_assert_int_eq(store_file_lookup(s, SHA_C, &got), 0); /* stored lower-case */
    ck_assert_int_eq(got, run);
    ck_assert_int_eq(sq_int(s, "SELECT size FROM files WHERE path = 'x.pcap'"), 4096);

    /* Same hash again: refused, but the batch (with the rows above) survives. */
    ck_assert_int_eq(store_file_add(s, run, "x-copy.pcap", SHA_A, 4096), NZ_EUSAGE);
    ck_assert_int_eq(store_commit(s), 0);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM files"), 2);

    /* Not a SHA-256. */
    ck_assert_int_eq(store_file_lookup(s, "abc", &got), NZ_EUSAGE);
    ck_assert_int_eq(store_file_lookup(s, NULL, &got), NZ_EUSAGE);
    char bad[66];
    memcpy(bad, SHA_A, 64);
    bad[63] = 'g';
    bad[64] = '\0';
    ck_assert_int_eq(store_file_lookup(s, bad, &got), NZ_EUSAGE);
    memcpy(bad, SHA_A, 64);
    bad[64] = 'a';
    bad[65] = '\0';
    ck_assert_int_eq(store_file_add(s, run, "z", bad, 1), NZ_EUSAGE);
    ck_assert_int_eq(store_file_add(s, 999, "z", SHA_B, 1), NZ_EUSAGE); /* unknown run */
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

START_TEST(test_file_forget)
{
    struct tdb d;
    tdb_make(&d);
    struct store *s = open_ok(d.path, NULL);
    /* run 1 analysed only A; run 2 analysed B and C. */
    int64_t r1 = new_run(s, "a.pcap"), r2 = new_run(s, "b.pcap,c.pcap");
    ck_assert_int_eq(store_file_add(s, r1, "a.pcap", SHA_A, 10), 0);
    ck_assert_int_eq(store_file_add(s, r2, "b.pcap", SHA_B, 20), 0);
    ck_assert_int_eq(store_file_add(s, r2, "c.pcap", SHA_C, 30), 0);
    struct store_flow f = mk_flow("10.3.0.1", "10.3.0.2", T0);
    int64_t f1 = 0, f2 = 0;
    ck_assert_int_eq(store_flow_put(s, r1, &f, &f1), 0);
    ck_assert_int_eq(store_flow_put(s, r2, &f, &f2), 0);
    ck_assert_int_eq(add_finding(s, r1, f1, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_int_eq(add_finding(s, r1, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_int_eq(add_finding(s, r2, f2, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);

    ck_assert_int_eq(store_file_forget(s, SHA_A), 0);
    int64_t got = -1;
    ck_assert_int_eq(store_file_lookup(s, SHA_A, &got), 0);
    ck_assert_int_eq(got, 0);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM runs WHERE id = 1"), 0);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM flows WHERE run_id = 1"), 0);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings WHERE run_id = 1"), 0);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings"), 1);

    /* B: run 2 still has C, so its rows stay. */
    ck_assert_int_eq(store_file_forget(s, SHA_B), 0);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM runs WHERE id = 2"), 1);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings WHERE run_id = 2"), 1);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM files"), 1);
    /* Unknown hash: nothing to do. */
    ck_assert_int_eq(store_file_forget(s, SHA_A), 0);
    ck_assert_int_eq(store_file_forget(s, "nothex"), NZ_EUSAGE);
    /* C was run 2's last file: the run goes. Committed (visible after reopen). */
    ck_assert_int_eq(store_file_forget(s, SHA_C), 0);
    ck_assert_int_eq(store_close(s), 0);
    ck_assert_int_eq(path_count(d.path, "SELECT count(*) FROM runs"), 0);
    ck_assert_int_eq(path_count(d.path, "SELECT count(*) FROM flows"), 0);
    ck_assert_int_eq(path_count(d.path, "SELECT count(*) FROM findings"), 0);
    ck_assert_int_eq(path_count(d.path, "SELECT count(*) FROM files"), 0);

    /* Re-analysis after forget: the hash can be added again. */
    s = open_ok(d.path, NULL);
    int64_t r3 = new_run(s, "a.pcap");
    ck_assert_int_eq(store_file_add(s, r3, "a.pcap", SHA_A, 10), 0);
    ck_assert_int_eq(store_file_lookup(s, SHA_A, &got), 0);
    ck_assert_int_eq(got, r3);
    ck_assert_int_eq(store_close(s), 0);
    tdb_remove(&d);
}
END_TEST

/* ---- queries ---- */

/* Fixture: two runs with findings of different kinds, severities, times and hosts, plus
 * raw rows whose kinds probe the prefix match ("tls", "tls.x", "tlsx.y", "tls/z"). */
static struct store *query_fixture(void)
{
    struct store *s = open_ok(":memory:", NULL);
    int64_t r1 = new_run(s, "q1"), r2 = new_run(s, "q2");
    ck_assert_int_eq(add_finding(s, r1, 0, FK_TCP_OVERLAP_MISMATCH, NZ_SEV_MEDIUM, T0 + 1000000, "10.0.0.1",
                                 "10.0.0.9", NULL),
                     0); /* 03:55:51 */
    ck_assert_int_eq(add_finding(s, r1, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, "10.0.0.2", "10.0.0.9", NULL),
                     0); /* 03:55:50 */
    ck_assert_int_eq(add_finding(s, r1, 0, FK_DISSECT_MALFORMED, NZ_SEV_CRITICAL, T0 + 86400000000ull,
                                 "10.0.0.9", "10.0.0.3", NULL),
                     0); /* next day */
    ck_assert_int_eq(add_finding(s, r2, 0, FK_TCP_OVERLAP_MISMATCH, NZ_SEV_HIGH, T0 + 2000000, "10.0.0.4",
                                 "10.0.0.5", NULL),
                     0); /* 03:55:52 */
    ck_assert_int_eq(add_finding(s, r2, 0, FK_DISSECT_MALFORMED, NZ_SEV_INFO, 0, NULL, NULL, NULL), 0);
    ck_assert_int_eq(store_commit(s), 0);
    raw_exec(store_sqlite(s),
             "INSERT INTO findings(run_id, ts, kind, severity, severity_rank) VALUES"
             " (2, '2020-01-01T00:00:00.000000Z', 'tls', 'info', 0),"
             " (2, '2020-01-01T00:00:00.000000Z', 'tls.x', 'info', 0),"
             " (2, '2020-01-01T00:00:00.000000Z', 'tlsx.y', 'info', 0),"
             " (2, '2020-01-01T00:00:00.000000Z', 'tls/z', 'info', 0)");
    return s;
}

static int count_findings(struct store *s, const struct store_filter *f)
{
    struct rows *r = rows_new();
    int rc = store_query_findings(s, f, collect, r);
    ck_assert_int_eq(rc, 0);
    int n = r->n;
    rows_free(r);
    return n;
}

START_TEST(test_query_kind)
{
    struct store *s = query_fixture();
    struct store_filter f = {.min_severity = -1};
    ck_assert_int_eq(count_findings(s, &f), 9);
    ck_assert_int_eq(count_findings(s, NULL), 9);
    f.kind = "";
    ck_assert_int_eq(count_findings(s, &f), 9);
    f.kind = "tcp.overlap_mismatch";
    ck_assert_int_eq(count_findings(s, &f), 2);
    f.kind = "dissect.";
    ck_assert_int_eq(count_findings(s, &f), 3);
    f.kind = "tcp.";
    ck_assert_int_eq(count_findings(s, &f), 2);
    f.kind = "tcp"; /* no dot: exact, and no kind is just "tcp" */
    ck_assert_int_eq(count_findings(s, &f), 0);
    f.kind = "tc.";
    ck_assert_int_eq(count_findings(s, &f), 0);
    f.kind = "tls."; /* only tls.x: not "tls", "tlsx.y" or "tls/z" */
    struct rows *r = rows_new();
    ck_assert_int_eq(store_query_findings(s, &f, collect, r), 0);
    ck_assert_int_eq(r->n, 1);
    ck_assert_str_eq(cell(r, 0, "kind"), "tls.x");
    rows_free(r);
    f.kind = "tls";
    ck_assert_int_eq(count_findings(s, &f), 1);
    f.kind = "x' OR 1=1 --"; /* bound, not pasted */
    ck_assert_int_eq(count_findings(s, &f), 0);
    char longk[200];
    memset(longk, 'a', sizeof longk);
    longk[198] = '.';
    longk[199] = '\0';
    f.kind = longk;
    struct rows *r2 = rows_new();
    ck_assert_int_eq(store_query_findings(s, &f, collect, r2), NZ_EUSAGE);
    rows_free(r2);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

START_TEST(test_query_severity)
{
    struct store *s = query_fixture();
    struct store_filter f = {.min_severity = NZ_SEV_INFO};
    ck_assert_int_eq(count_findings(s, &f), 9);
    f.min_severity = NZ_SEV_LOW;
    ck_assert_int_eq(count_findings(s, &f), 4);
    f.min_severity = NZ_SEV_MEDIUM;
    ck_assert_int_eq(count_findings(s, &f), 3);
    f.min_severity = NZ_SEV_HIGH;
    ck_assert_int_eq(count_findings(s, &f), 2);
    f.min_severity = NZ_SEV_CRITICAL;
    struct rows *r = rows_new();
    ck_assert_int_eq(store_query_findings(s, &f, collect, r), 0);
    ck_assert_int_eq(r->n, 1);
    ck_assert_str_eq(cell(r, 0, "severity"), "critical");
    f.min_severity = 5;
    ck_assert_int_eq(store_query_findings(s, &f, collect, r), NZ_EUSAGE);
    f.min_severity = -2;
    ck_assert_int_eq(store_query_findings(s, &f, collect, r), NZ_EUSAGE);
    rows_free(r);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

START_TEST(test_query_time)
{
    struct store *s = query_fixture();
    struct store_filter f = {.min_severity = -1};
    f.since = "2026-11-29T03:55:51.000000Z"; /* inclusive */
    ck_assert_int_eq(count_findings(s, &f), 3);
    f.until = "2026-11-29T03:55:52.000000Z"; /* exclusive */
    struct rows *r = rows_new();
    ck_assert_int_eq(store_query_findings(s, &f, collect, r), 0);
    ck_assert_int_eq(r->n, 1);
    ck_assert_str_eq(cell(r, 0, "ts"), "2026-11-29T03:55:51.000000Z");
    rows_free(r);
    /* Date-only bounds work as text prefixes. */
    f.since = "2026-11-29";
    f.until = "2026-11-30";
    ck_assert_int_eq(count_findings(s, &f), 3);
    f.since = "2026-11-30";
    f.until = NULL;
    ck_assert_int_eq(count_findings(s, &f), 1);
    f.since = NULL;
    f.until = "2021";
    ck_assert_int_eq(count_findings(s, &f), 4); /* the 2020 raw rows; NULL ts never matches */

    /* Flows compare first_ts. */
    int64_t run = 1, a = 0, b = 0;
    struct store_flow fa = mk_flow("10.9.0.1", "10.9.0.2", T0);
    struct store_flow fb = mk_flow("10.9.0.3", "10.9.0.4", T0 + 3600000000ull);
    ck_assert_int_eq(store_flow_put(s, run, &fa, &a), 0);
    ck_assert_int_eq(store_flow_put(s, run, &fb, &b), 0);
    struct store_filter ff = {.min_severity = -1, .since = "2026-11-29T04"};
    struct rows *rf = rows_new();
    ck_assert_int_eq(store_query_flows(s, &ff, collect, rf), 0);
    ck_assert_int_eq(rf->n, 1);
    ck_assert_str_eq(cell(rf, 0, "client_ip"), "10.9.0.3");
    rows_free(rf);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

START_TEST(test_query_host_run_limit)
{
    struct store *s = query_fixture();
    struct store_filter f = {.min_severity = -1, .host = "10.0.0.9"};
    ck_assert_int_eq(count_findings(s, &f), 3); /* twice as server, once as client */
    f.host = "10.0.0.4";
    ck_assert_int_eq(count_findings(s, &f), 1);
    f.host = NULL;
    f.run_id = 2;
    ck_assert_int_eq(count_findings(s, &f), 6);
    f.run_id = 1;
    ck_assert_int_eq(count_findings(s, &f), 3);
    f.run_id = -1;
    struct rows *r = rows_new();
    ck_assert_int_eq(store_query_findings(s, &f, collect, r), NZ_EUSAGE);

    /* Ordered by ts (NULL first), then id; limit cuts the tail. */
    f.run_id = 1;
    f.limit = 2;
    ck_assert_int_eq(store_query_findings(s, &f, collect, r), 0);
    ck_assert_int_eq(r->n, 2);
    ck_assert_str_eq(cell(r, 0, "ts"), "2026-11-29T03:55:50.000000Z");
    ck_assert_str_eq(cell(r, 1, "ts"), "2026-11-29T03:55:51.000000Z");
    f.limit = -1;
    ck_assert_int_eq(store_query_findings(s, &f, collect, r), NZ_EUSAGE);

    /* Everything combined. */
    struct store_filter all = {.kind = "tcp.", .min_severity = NZ_SEV_MEDIUM, .since = "2026-11-29",
                               .until = "2026-11-30", .host = "10.0.0.9", .run_id = 1, .limit = 10};
    rows_reset(r);
    ck_assert_int_eq(store_query_findings(s, &all, collect, r), 0);
    ck_assert_int_eq(r->n, 1);
    ck_assert_str_eq(cell(r, 0, "client_ip"), "10.0.0.1");
    ck_assert_str_eq(cell(r, 0, "client_port"), "40000");
    ck_assert_str_eq(cell(r, 0, "server_port"), "443");
    all.run_id = 2;
    ck_assert_int_eq(count_findings(s, &all), 0);
    rows_free(r);
    ck_assert_int_eq(store_query_findings(s, NULL, NULL, NULL), NZ_EUSAGE);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

START_TEST(test_query_callback_stop)
{
    struct store *s = query_fixture();
    struct rows *r = rows_new();
    r->stop_after = 2;
    ck_assert_int_eq(store_query_findings(s, NULL, collect, r), 42);
    ck_assert_int_eq(r->n, 2);
    rows_reset(r);
    r->stop_after = 1;
    ck_assert_int_eq(store_query_sql(s, "SELECT 1 UNION ALL SELECT 2", collect, r), 42);
    ck_assert_int_eq(r->n, 1);
    rows_free(r);
    /* The store is still fine afterwards. */
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings"), 9);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

START_TEST(test_query_types)
{
    struct store *s = query_fixture();
    struct store_filter f = {.min_severity = -1, .kind = "tcp.overlap_mismatch", .run_id = 1};
    struct rows *r = rows_new();
    ck_assert_int_eq(store_query_findings(s, &f, collect, r), 0);
    ck_assert_int_eq(r->n, 1);
    static const char *const names[] = {"id", "run_id", "flow_id", "ts", "kind", "severity", "client_ip",
                                        "client_port", "server_ip", "server_port", "summary", "evidence"};
    ck_assert_int_eq(r->ncol, 12);
    for (int i = 0; i < 12; i++)
        ck_assert_str_eq(r->names[i], names[i]);
    ck_assert_int_eq(r->types[0][0], STORE_COL_INT);
    ck_assert_int_eq(r->types[0][2], STORE_COL_NULL); /* no flow */
    ck_assert_int_eq(r->types[0][3], STORE_COL_TEXT);
    ck_assert_int_eq(r->types[0][7], STORE_COL_INT);
    ck_assert_int_eq(r->types[0][10], STORE_COL_TEXT);
    ck_assert_int_eq(r->types[0][11], STORE_COL_JSON);
    ck_assert_str_eq(r->vals[0][11], "{}");
    ck_assert_str_eq(r->vals[0][5], "medium");

    /* Finding without endpoints/time: NULLs, not 0 or 1970. */
    rows_reset(r);
    ck_assert_int_eq(store_query_sql(s, "SELECT ts, client_ip, client_port, server_port FROM findings"
                                        " WHERE run_id = 2 AND kind = 'dissect.malformed'",
                                     collect, r),
                     0);
    ck_assert_int_eq(r->n, 1);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(r->types[0][i], STORE_COL_NULL);

    rows_reset(r);
    ck_assert_int_eq(store_query_sql(s, "SELECT 1.5 AS r, x'00ff10' AS b, NULL AS n, 'txt' AS t, 7 AS i,"
                                        " '{\"a\":1}' AS evidence",
                                     collect, r),
                     0);
    ck_assert_int_eq(r->types[0][0], STORE_COL_REAL);
    ck_assert_str_eq(r->vals[0][0], "1.5");
    ck_assert_int_eq(r->types[0][1], STORE_COL_TEXT);
    ck_assert_str_eq(r->vals[0][1], "00ff10");
    ck_assert_int_eq(r->types[0][2], STORE_COL_NULL);
    ck_assert_int_eq(r->types[0][3], STORE_COL_TEXT);
    ck_assert_int_eq(r->types[0][4], STORE_COL_INT);
    /* A name does not make a column JSON; only findings.evidence and runs.counters are. */
    ck_assert_int_eq(r->types[0][5], STORE_COL_TEXT);
    ck_assert_str_eq(r->names[1], "b");
    rows_free(r);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

START_TEST(test_query_sql_readonly)
{
    static const char *const refused[] = {
        "INSERT INTO runs(source) VALUES('x')",
        "UPDATE findings SET kind = 'x'",
        "DELETE FROM findings",
        "CREATE TABLE t(x)",
        "DROP TABLE findings",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT a",
        "ATTACH ':memory:' AS other",
        "PRAGMA user_version = 9",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA writable_schema = ON",
        "VACUUM",
        "VACUUM INTO '/tmp/nz-must-not-exist.db'",
        "DETACH main",
        "PRAGMA wal_checkpoint",
        "REINDEX",
        "ANALYZE",
        "SELECT 1; DELETE FROM findings",
        "WITH x AS (SELECT 1) DELETE FROM findings",
        "",
        "  -- only a comment\n",
    };
    struct store *s = query_fixture();
    /* Hold an open batch so a sneaked COMMIT would be visible. */
    ck_assert_int_eq(add_finding(s, 1, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    struct rows *r = rows_new();
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        rows_reset(r);
        ck_assert_msg(store_query_sql(s, refused[i], collect, r) == NZ_EUSAGE, "not refused: %s", refused[i]);
        ck_assert_msg(r->n == 0, "rows produced by refused SQL: %s", refused[i]);
    }
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings"), 10);
    ck_assert_int_eq(sq_int(s, "PRAGMA user_version"), store_schema_latest());
    ck_assert_int_eq(sqlite3_get_autocommit(store_sqlite(s)), 0); /* batch still open */
    ck_assert_int_eq(store_query_sql(s, "SELEKT nonsense", collect, r), NZ_EDB);
    ck_assert_int_eq(store_query_sql(s, NULL, collect, r), NZ_EUSAGE);
    ck_assert_int_eq(store_query_sql(s, "SELECT 1", NULL, r), NZ_EUSAGE);

    /* Allowed: several statements, informational pragmas. */
    rows_reset(r);
    ck_assert_int_eq(store_query_sql(s, "SELECT 1; SELECT 2;  ", collect, r), 0);
    ck_assert_int_eq(r->n, 2);
    rows_reset(r);
    ck_assert_int_eq(store_query_sql(s, "PRAGMA table_info(findings)", collect, r), 0);
    ck_assert_int_eq(r->n, 13);
    rows_reset(r);
    ck_assert_int_eq(store_query_sql(s, "SELECT name FROM pragma_table_info('flows') WHERE name = 'retrans'",
                                     collect, r),
                     0);
    ck_assert_int_eq(r->n, 1);
    rows_free(r);
    ck_assert_int_eq(access("/tmp/nz-must-not-exist.db", F_OK), -1);

    /* The writer is unaffected by the authorizer afterwards. */
    ck_assert_int_eq(add_finding(s, 1, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_int_eq(store_commit(s), 0);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings"), 11);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

START_TEST(test_count_by_severity)
{
    struct store *s = query_fixture();
    uint64_t c[5];
    ck_assert_int_eq(store_count_by_severity(s, 0, c), 0);
    ck_assert_uint_eq(c[NZ_SEV_INFO], 5);
    ck_assert_uint_eq(c[NZ_SEV_LOW], 1);
    ck_assert_uint_eq(c[NZ_SEV_MEDIUM], 1);
    ck_assert_uint_eq(c[NZ_SEV_HIGH], 1);
    ck_assert_uint_eq(c[NZ_SEV_CRITICAL], 1);
    ck_assert_int_eq(store_count_by_severity(s, 1, c), 0);
    ck_assert_uint_eq(c[NZ_SEV_INFO], 0);
    ck_assert_uint_eq(c[NZ_SEV_LOW], 1);
    ck_assert_uint_eq(c[NZ_SEV_MEDIUM], 1);
    ck_assert_uint_eq(c[NZ_SEV_HIGH], 0);
    ck_assert_uint_eq(c[NZ_SEV_CRITICAL], 1);
    ck_assert_int_eq(store_count_by_severity(s, 77, c), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(c[i], 0);
    ck_assert_int_eq(store_count_by_severity(s, -1, c), NZ_EUSAGE);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

/* ---- failures ---- */

START_TEST(test_locked_database)
{
    struct tdb d;
    struct tlog t;
    sqlite3 *other = NULL;
    tlog_init(&t);
    tdb_make(&d);
    struct store *s = open_ok(d.path, &t.log);
    int64_t run = new_run(s, "locked");
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(add_finding(s, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_int_eq(store_commit(s), 0);
    ck_assert_int_eq(store_set_busy_ms(s, 50), 0);

    ck_assert_int_eq(sqlite3_open(d.path, &other), SQLITE_OK);
    raw_exec(other, "BEGIN EXCLUSIVE");
    int before = t.cap.n_err;
    ck_assert_int_eq(add_finding(s, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), NZ_EDB);
    ck_assert_int_gt(t.cap.n_err, before);
    ck_assert_ptr_nonnull(strstr(t.cap.all, "locked"));
    int64_t id = 0;
    struct store_run rr = {"x", "file", NULL, "t"};
    ck_assert_int_eq(store_run_begin(s, &rr, &id), NZ_EDB);
    ck_assert_int_eq(id, 0);
    ck_assert_int_eq(store_commit(s), 0); /* nothing pending */
    /* Reading still works (WAL), and shows the committed rows. */
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings"), 5);
    raw_exec(other, "ROLLBACK");
    sqlite3_close(other);

    /* The lock is gone: the store carries on. */
    ck_assert_int_eq(add_finding(s, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_int_eq(store_close(s), 0);
    ck_assert_int_eq(path_count(d.path, "SELECT count(*) FROM findings"), 6);
    tdb_remove(&d);
}
END_TEST

START_TEST(test_disk_full)
{
    struct tdb d;
    struct tlog t;
    char big[FINDING_EVIDENCE_MAX];
    char sql[64];
    tlog_init(&t);
    tdb_make(&d);
    struct store *s = open_ok(d.path, &t.log);
    int64_t run = new_run(s, "full");
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(add_finding(s, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_int_eq(store_commit(s), 0);

    sqlite3 *db = store_sqlite(s);
    long long pages = raw_int(db, "PRAGMA page_count");
    ck_assert_int_gt(pages, 0);
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", pages + 2);
    ck_assert_int_eq(raw_int(db, sql), pages + 2);

    memset(big, 0, sizeof big);
    big[0] = '{';
    big[1] = '"';
    big[2] = 'x';
    big[3] = '"';
    big[4] = ':';
    big[5] = '"';
    memset(big + 6, 'y', sizeof big - 9);
    big[sizeof big - 3] = '"';
    big[sizeof big - 2] = '}';
    int rc = 0, i;
    for (i = 0; i < 100 && rc == 0; i++)
        rc = add_finding(s, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, big);
    if (rc == 0)
        rc = store_commit(s);
    ck_assert_int_eq(rc, NZ_EDB);
    ck_assert_ptr_nonnull(strstr(t.cap.all, "full"));
    ck_assert_ptr_nonnull(strstr(t.cap.all, "rolled back"));
    /* Earlier rows are intact; the failed batch is gone. */
    ck_assert_int_eq(path_count(d.path, "SELECT count(*) FROM findings"), 10);

    /* Space again: the store is still usable. */
    ck_assert_int_gt(raw_int(db, "PRAGMA max_page_count = 1000000"), pages);
    ck_assert_int_eq(add_finding(s, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, big), 0);
    ck_assert_int_eq(store_close(s), 0);
    s = open_ok(d.path, NULL);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings"), 11);
    ck_assert_int_eq(sq_int(s, "SELECT length(evidence) FROM findings ORDER BY id DESC LIMIT 1"),
                     FINDING_EVIDENCE_MAX - 1);
    ck_assert_int_eq(store_close(s), 0);
    tdb_remove(&d);
}
END_TEST

START_TEST(test_commit_failure)
{
    struct tdb d;
    struct tlog t;
    tlog_init(&t);
    tdb_make(&d);
    struct store *s = open_ok(d.path, &t.log);
    int64_t run = new_run(s, "commitfail");
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(add_finding(s, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_int_eq(store_commit(s), 0);

    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(add_finding(s, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    inject_deferred_fk_violation(s);
    ck_assert_int_eq(store_commit(s), NZ_EDB);
    ck_assert_ptr_nonnull(strstr(t.cap.all, "COMMIT of 4 rows failed"));
    ck_assert_ptr_nonnull(strstr(t.cap.all, "rows committed earlier are kept"));
    ck_assert_int_eq(sqlite3_get_autocommit(store_sqlite(s)), 1);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings"), 3);

    /* Usable afterwards. */
    ck_assert_int_eq(add_finding(s, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_int_eq(store_commit(s), 0);
    /* A failing COMMIT inside store_close: NZ_EDB, the store is still freed, earlier rows kept. */
    ck_assert_int_eq(add_finding(s, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    inject_deferred_fk_violation(s);
    ck_assert_int_eq(store_close(s), NZ_EDB);
    ck_assert_int_eq(path_count(d.path, "SELECT count(*) FROM findings"), 4);
    tdb_remove(&d);
}
END_TEST

/* A record row from column values: argument checks, "" stored as NULL, text cut at n bytes,
 * packet times as ISO text, flow_id 0 as NULL. */
START_TEST(test_record_add)
{
    struct store *s = open_ok(":memory:", NULL);
    int64_t run = new_run(s, "records");
    struct store_val v[STORE_HTTP_NCOLS];
    for (int i = 0; i < STORE_HTTP_NCOLS; i++)
        v[i] = (struct store_val){STORE_V_NULL, 0, NULL, 0};
    v[STORE_HTTP_TS] = (struct store_val){STORE_V_TS, (int64_t)T0, NULL, 0};
    v[STORE_HTTP_METHOD] = (struct store_val){STORE_V_TEXT, 0, "GETX", 3};
    v[STORE_HTTP_HOST] = (struct store_val){STORE_V_TEXT, 0, "", 8};
    v[STORE_HTTP_STATUS] = (struct store_val){STORE_V_INT, 200, NULL, 0};
    ck_assert_int_eq(store_record_add(NULL, STORE_TBL_HTTP, run, 0, v, STORE_HTTP_NCOLS), NZ_EUSAGE);
    ck_assert_int_eq(store_record_add(s, STORE_TBL_HTTP, 0, 0, v, STORE_HTTP_NCOLS), NZ_EUSAGE);
    ck_assert_int_eq(store_record_add(s, STORE_TBL_HTTP, run, 0, v, STORE_HTTP_NCOLS - 1), NZ_EUSAGE);
    ck_assert_int_eq(store_record_add(s, STORE_TBL_COUNT, run, 0, v, STORE_HTTP_NCOLS), NZ_EUSAGE);
    ck_assert_int_eq(store_record_add(s, STORE_TBL_HTTP, run, 0, v, STORE_HTTP_NCOLS), 0);
    ck_assert_int_eq(store_commit(s), 0);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM http_requests WHERE method = 'GET' AND host IS NULL"
                              " AND status = 200 AND flow_id IS NULL AND ts LIKE '____-__-__T__:__:__.______Z'"), 1);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

/* Record rows bind their text without a copy (SQLITE_STATIC) and their times from buffers
 * of the call: the caller's buffers may change right after the call, the next row of the
 * same statement never sees the previous one's values, and a refused row leaves nothing
 * bound behind. */
START_TEST(test_record_add_buffers)
{
    struct store *s = open_ok(":memory:", NULL);
    int64_t run = new_run(s, "records");
    struct store_val v[STORE_TLS_NCOLS];
    char sni[32], ja3[40];
    for (int row = 0; row < 3; row++) {
        for (int i = 0; i < STORE_TLS_NCOLS; i++)
            v[i] = (struct store_val){STORE_V_NULL, 0, NULL, 0};
        snprintf(sni, sizeof sni, "host%d.example", row);
        snprintf(ja3, sizeof ja3, "%d-ja3-fingerprint", row);
        v[STORE_TLS_TS] = (struct store_val){STORE_V_TS, (int64_t)(T0 + (uint64_t)row), NULL, 0};
        v[STORE_TLS_TS_SERVER] = (struct store_val){STORE_V_TS, (int64_t)(T0 + 1000000u), NULL, 0};
        v[STORE_TLS_CERT_NOT_BEFORE] = (struct store_val){STORE_V_TS, 1000000, NULL, 0};
        v[STORE_TLS_CERT_NOT_AFTER] = (struct store_val){STORE_V_TS, (int64_t)(T0 * 2), NULL, 0};
        v[STORE_TLS_SNI] = (struct store_val){STORE_V_TEXT, 0, row == 1 ? NULL : sni, sizeof sni};
        v[STORE_TLS_JA3] = (struct store_val){STORE_V_TEXT, 0, ja3, 8}; /* cut at 8 bytes */
        v[STORE_TLS_CIPHER_CODE] = (struct store_val){STORE_V_INT, 0x1301 + row, NULL, 0};
        if (row == 2) /* no such run: the foreign key refuses the row */
            ck_assert_int_ne(store_record_add(s, STORE_TBL_TLS, run + 77, 0, v, STORE_TLS_NCOLS), 0);
        ck_assert_int_eq(store_record_add(s, STORE_TBL_TLS, run, 0, v, STORE_TLS_NCOLS), 0);
        memset(sni, 'x', sizeof sni - 1); /* the caller's buffers change after the call */
        memset(ja3, 'y', sizeof ja3 - 1);
    }
    ck_assert_int_eq(store_commit(s), 0);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM tls_sessions"), 3);
    struct rows *r = rows_new();
    ck_assert_int_eq(store_query_sql(s, "SELECT ts, ts_server, cert_not_before, cert_not_after, sni, ja3, cipher_code"
                                        " FROM tls_sessions ORDER BY id", collect, r), 0);
    ck_assert_int_eq(r->n, 3);
    for (int row = 0; row < 3; row++) {
        char want[48];
        store_ts_iso(T0 + (uint64_t)row, want, sizeof want);
        ck_assert_str_eq(r->vals[row][0], want);
        ck_assert_str_eq(r->vals[row][1], "2026-11-29T03:55:51.000000Z");
        ck_assert_str_eq(r->vals[row][2], "1970-01-01T00:00:01.000000Z");
        store_ts_iso(T0 * 2, want, sizeof want);
        ck_assert_str_eq(r->vals[row][3], want);
        snprintf(want, sizeof want, "host%d.example", row);
        if (row == 1)
            ck_assert_ptr_null(r->vals[row][4]);
        else
            ck_assert_str_eq(r->vals[row][4], want);
        snprintf(want, sizeof want, "%d-ja3-fi", row);
        ck_assert_str_eq(r->vals[row][5], want);
        ck_assert_int_eq(atoi(r->vals[row][6]), 0x1301 + row);
    }
    rows_free(r);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

/* A finding names its flow only when that flow is one of its own run's; otherwise (no flow,
 * another run's flow, an id never handed out) flow_id is NULL and a flow that was named is
 * reported in the log. */
START_TEST(test_finding_flow_link)
{
    struct tlog t;
    tlog_init(&t);
    struct store *s = open_ok(":memory:", &t.log);
    int64_t r1 = new_run(s, "one"), r2 = new_run(s, "two");
    struct store_flow f = mk_flow("10.3.0.1", "10.3.0.2", T0);
    int64_t fid = 0;
    ck_assert_int_eq(store_flow_put(s, r1, &f, &fid), 0);
    ck_assert_int_eq(add_finding(s, r1, fid, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_ptr_null(strstr(t.cap.all, "stored without flow"));
    ck_assert_int_eq(add_finding(s, r1, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_ptr_null(strstr(t.cap.all, "stored without flow"));
    ck_assert_int_eq(add_finding(s, r2, fid, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(t.cap.all, "flow 1 is not a flow of run 2; stored without flow"));
    ck_assert_int_eq(add_finding(s, r1, fid + 1000, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(t.cap.all, "flow 1001 is not a flow of run 1; stored without flow"));
    ck_assert_int_eq(store_commit(s), 0);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings WHERE run_id = 1 AND flow_id = 1"), 1);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings WHERE flow_id IS NULL"), 3);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

START_TEST(test_finding_args)
{
    struct store *s = open_ok(":memory:", NULL);
    int64_t run = new_run(s, "args");
    struct finding f;
    finding_init(&f, FK_DISSECT_MALFORMED, T0);
    ck_assert_int_eq(store_finding_add(NULL, run, 0, &f, NULL), NZ_EUSAGE);
    ck_assert_int_eq(store_finding_add(s, run, 0, NULL, NULL), NZ_EUSAGE);
    ck_assert_int_eq(store_finding_add(s, 0, 0, &f, NULL), NZ_EUSAGE);
    ck_assert_int_eq(store_finding_add(s, run, -3, &f, NULL), NZ_EUSAGE);
    f.kind = FK_COUNT;
    ck_assert_int_eq(store_finding_add(s, run, 0, &f, NULL), NZ_EUSAGE);
    f.kind = FK_DISSECT_MALFORMED;
    f.severity = (enum nz_severity)7;
    ck_assert_int_eq(store_finding_add(s, run, 0, &f, NULL), NZ_EUSAGE);
    f.severity = NZ_SEV_HIGH;
    ck_assert_int_eq(store_finding_add(s, 12345, 0, &f, NULL), NZ_EUSAGE); /* unknown run (FK) */
    ck_assert_int_eq(store_finding_add(s, run, 0, &f, NULL), 0);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings WHERE severity = 'high' AND severity_rank = 3"
                               " AND kind = 'dissect.malformed' AND ts = '2026-11-29T03:55:50.000000Z'"),
                     1);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

/* ---- the sslstrip opening (store_no_https_redirect_rows) ---- */

static void http_row(struct store *s, int64_t run, uint64_t ts, const char *host, const char *path, int status,
                     const char *location)
{
    struct store_val v[STORE_HTTP_NCOLS];
    for (int i = 0; i < STORE_HTTP_NCOLS; i++)
        v[i] = (struct store_val){STORE_V_NULL, 0, NULL, 0};
    v[STORE_HTTP_TS] = (struct store_val){STORE_V_TS, (int64_t)ts, NULL, 0};
    v[STORE_HTTP_METHOD] = (struct store_val){STORE_V_TEXT, 0, "GET", 3};
    v[STORE_HTTP_HOST] = (struct store_val){STORE_V_TEXT, 0, host, 64};
    v[STORE_HTTP_PATH] = (struct store_val){STORE_V_TEXT, 0, path, 64};
    v[STORE_HTTP_STATUS] = (struct store_val){STORE_V_INT, status, NULL, 0};
    v[STORE_HTTP_LOCATION] = (struct store_val){STORE_V_TEXT, 0, location, 128};
    ck_assert_int_eq(store_record_add(s, STORE_TBL_HTTP, run, 0, v, STORE_HTTP_NCOLS), 0);
}

static void sni_row(struct store *s, int64_t run, uint64_t ts, const char *sni)
{
    struct store_val v[STORE_TLS_NCOLS];
    for (int i = 0; i < STORE_TLS_NCOLS; i++)
        v[i] = (struct store_val){STORE_V_NULL, 0, NULL, 0};
    v[STORE_TLS_TS] = (struct store_val){STORE_V_TS, (int64_t)ts, NULL, 0};
    v[STORE_TLS_SNI] = (struct store_val){STORE_V_TEXT, 0, sni, 64};
    ck_assert_int_eq(store_record_add(s, STORE_TBL_TLS, run, 0, v, STORE_TLS_NCOLS), 0);
}

struct hosts {
    int n;
    char host[8][32], tls_ts[8][32];
    uint64_t ts[8];
};

static int host_row(void *ud, const struct store_no_https_row *row)
{
    struct hosts *h = ud;
    ck_assert_int_lt(h->n, 8);
    snprintf(h->host[h->n], sizeof h->host[0], "%s", row->host);
    snprintf(h->tls_ts[h->n], sizeof h->tls_ts[0], "%s", row->tls_ts ? row->tls_ts : "");
    h->ts[h->n++] = row->ts_usec;
    return 0;
}

/* Hosts answered 200 for "/" in clear in this run whose name was an SNI, unless this run saw
 * them redirect to https://: a redirect of another run, to http://, or of a request without
 * a Host (NULL in the list of redirecting hosts) does not count. */
START_TEST(test_no_https_redirect_rows)
{
    struct store *s = open_ok(":memory:", NULL);
    int64_t r1 = new_run(s, "one"), r2 = new_run(s, "two");
    const char *names[] = {"a.test", "b.test", "c.test", "d.test", "e.test"};
    for (int i = 0; i < 5; i++) {
        http_row(s, r1, T0 + 10 - (uint64_t)i, names[i], "/", 200, NULL);
        http_row(s, r1, T0 + 20, names[i], "/", 200, NULL); /* later: min(ts) is the one above */
        if (i != 3)
            sni_row(s, r2, T0 + 100 + (uint64_t)i, names[i]); /* d.test: never an SNI */
    }
    http_row(s, r1, T0 + 30, "a.test", "/other", 200, NULL);               /* not "/" */
    http_row(s, r1, T0 + 31, "b.test", "/", 301, "https://b.test/");       /* b redirects */
    http_row(s, r2, T0 + 32, "c.test", "/", 302, "https://c.test/");       /* in another run */
    http_row(s, r1, T0 + 33, "e.test", "/", 302, "http://e.test/login");   /* not to https */
    http_row(s, r1, T0 + 34, NULL, "/", 301, "https://somewhere.test/");   /* no Host */
    ck_assert_int_eq(store_commit(s), 0);

    struct hosts h = {0};
    ck_assert_int_eq(store_no_https_redirect_rows(s, r1, host_row, &h), 0);
    ck_assert_int_eq(h.n, 3); /* by first 200, then host: e (T0+6), c (T0+8), a (T0+10) */
    ck_assert_str_eq(h.host[0], "e.test");
    ck_assert_str_eq(h.host[1], "c.test");
    ck_assert_str_eq(h.host[2], "a.test");
    ck_assert_uint_eq(h.ts[0], T0 + 6);
    ck_assert_uint_eq(h.ts[2], T0 + 10);
    char want[40];
    store_ts_iso(T0 + 102, want, sizeof want);
    ck_assert_str_eq(h.tls_ts[1], want);
    memset(&h, 0, sizeof h);
    ck_assert_int_eq(store_no_https_redirect_rows(s, r2, host_row, &h), 0);
    ck_assert_int_eq(h.n, 0);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

/* ---- JSON / text round trip ---- */

START_TEST(test_evidence_roundtrip)
{
    static const char evidence[] =
        "{\"q\":\"say \\\"hi\\\" \\\\ back\",\"u\":\"Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x93 \xe6\x97\xa5\xe6\x9c\xac "
        "\xf0\x9f\x94\x92\",\"esc\":\"\\u0001\\n\\t\",\"sql\":\"'); DROP TABLE findings; --\"}";
    struct store *s = open_ok(":memory:", NULL);
    int64_t run = new_run(s, "json");
    struct finding f;
    finding_init(&f, FK_TCP_OVERLAP_MISMATCH, T0);
    snprintf(f.evidence, sizeof f.evidence, "%s", evidence);
    finding_summary(&f, "Zertifikat \xe2\x80\x9c%s\xe2\x80\x9d abgelaufen", "m\xc3\xa4il.example");
    struct store_endpoints ep = {"10.0.0.1", "10.0.0.2", 1234, 465};
    ck_assert_int_eq(store_finding_add(s, run, 0, &f, &ep), 0);

    /* Unterminated fixed-size fields are bounded by their size, not read past. */
    struct finding *g = malloc(sizeof *g);
    ck_assert_ptr_nonnull(g);
    finding_init(g, FK_DISSECT_MALFORMED, T0 + 1);
    memset(g->summary, 's', sizeof g->summary);
    memset(g->evidence, 'e', sizeof g->evidence);
    ck_assert_int_eq(store_finding_add(s, run, 0, g, NULL), 0);
    free(g);

    struct rows *r = rows_new();
    ck_assert_int_eq(store_query_findings(s, NULL, collect, r), 0);
    ck_assert_int_eq(r->n, 2);
    ck_assert_str_eq(cell(r, 0, "evidence"), evidence);
    ck_assert_int_eq(r->types[0][col(r, "evidence")], STORE_COL_JSON);
    ck_assert_str_eq(cell(r, 0, "summary"), "Zertifikat \xe2\x80\x9cm\xc3\xa4il.example\xe2\x80\x9d abgelaufen");
    ck_assert_uint_eq(strlen(cell(r, 1, "summary")), FINDING_SUMMARY_MAX);
    ck_assert_uint_eq(strlen(cell(r, 1, "evidence")), FINDING_EVIDENCE_MAX);
    rows_free(r);
    ck_assert_int_eq(sq_int(s, "SELECT json_valid(evidence) FROM findings WHERE id = 1"), 1);
    ck_assert_int_eq(sq_int(s, "SELECT json_extract(evidence, '$.u') = 'Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x93 "
                               "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x92' FROM findings WHERE id = 1"),
                     1);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings"), 2); /* the DROP was data */
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

/* ---- read-only open, connection hardening, result sets (issue #8) ---- */

/* SHA-256-free fingerprint of a file's bytes for "unchanged" checks: the bytes themselves. */
struct fbytes {
    uint8_t *data;
    size_t len;
    bool exists;
};

static struct fbytes fb_read(const char *path)
{
    struct fbytes f = {0};
    f.exists = access(path, F_OK) == 0;
    if (f.exists)
        f.data = tu_read_file(path, &f.len);
    return f;
}

static void fb_same(const char *path, const struct fbytes *before)
{
    struct fbytes now = fb_read(path);
    ck_assert_msg(now.exists == before->exists, "%s: existence changed", path);
    ck_assert_msg(now.len == before->len && (now.len == 0 || memcmp(now.data, before->data, now.len) == 0),
                  "%s: bytes changed", path);
    free(now.data);
}

static bool side_exists(const char *path, const char *sfx)
{
    char p[160];
    snprintf(p, sizeof p, "%s%s", path, sfx);
    return access(p, F_OK) == 0;
}

START_TEST(test_ro_refusals)
{
    struct tlog t;
    struct tdb d;
    int err = 0;
    tlog_init(&t);
    tdb_make(&d);
    ck_assert_ptr_null(store_open_readonly(NULL, &t.log, &err));
    ck_assert_int_eq(err, NZ_EUSAGE);
    /* Missing: reported, not created. */
    ck_assert_ptr_null(store_open_readonly(d.path, &t.log, &err));
    ck_assert_int_eq(err, NZ_EIO);
    ck_assert_ptr_nonnull(strstr(t.cap.all, "no database at"));
    ck_assert_int_eq(access(d.path, F_OK), -1);
    ck_assert_ptr_null(store_open_readonly(":memory:", &t.log, &err));
    ck_assert_int_eq(err, NZ_EIO);
    /* A foreign SQLite file: refused, byte-identical, no side files. */
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(d.path, &db), SQLITE_OK);
    raw_exec(db, "CREATE TABLE notes(x); INSERT INTO notes VALUES('keep');");
    sqlite3_close(db);
    struct fbytes before = fb_read(d.path);
    ck_assert_ptr_null(store_open_readonly(d.path, &t.log, &err));
    ck_assert_int_eq(err, NZ_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(t.cap.all, "not a netzwacht"));
    fb_same(d.path, &before);
    ck_assert(!side_exists(d.path, "-wal") && !side_exists(d.path, "-shm") && !side_exists(d.path, "-journal"));
    free(before.data);
    /* The store's writer would have made it a netzwacht database; the reader must not. */
    ck_assert_int_eq(path_count(d.path, "PRAGMA user_version"), 0);
    ck_assert_int_eq(path_count(d.path, "SELECT count(*) FROM sqlite_master WHERE name = 'runs'"), 0);
    /* A symbolic link is refused. */
    char link[128];
    snprintf(link, sizeof link, "%s/link.db", d.dir);
    ck_assert_int_eq(symlink(d.path, link), 0);
    ck_assert_ptr_null(store_open_readonly(link, &t.log, &err));
    ck_assert_int_eq(err, NZ_EIO);
    ck_assert_ptr_nonnull(strstr(t.cap.all, "symbolic link"));
    unlink(link);
    /* Not SQLite. */
    FILE *fp = fopen(d.path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("not a database at all, but long enough to have a header of a hundred bytes ....................\n", fp);
    fclose(fp);
    ck_assert_ptr_null(store_open_readonly(d.path, &t.log, &err));
    ck_assert_int_eq(err, NZ_EDB);
    tdb_remove(&d);
}
END_TEST

START_TEST(test_ro_old_version_not_migrated)
{
    struct tlog t;
    struct tdb d;
    int err = 0;
    sqlite3 *db = NULL;
    tlog_init(&t);
    tdb_make(&d);
    ck_assert_int_eq(sqlite3_open(d.path, &db), SQLITE_OK);
    ck_assert_int_eq(store_migrate_to(db, 3, NULL), 0);
    raw_exec(db, "INSERT INTO runs(id, source) VALUES(1, 'v3');"
                 "INSERT INTO findings(run_id, kind, severity, severity_rank, evidence) VALUES(1, 'tcp.x', 'high', 3, '{}')");
    sqlite3_close(db);
    struct fbytes before = fb_read(d.path);

    struct store *s = store_open_readonly(d.path, &t.log, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(store_schema_version(s), 3);
    struct rows *r = rows_new();
    ck_assert_int_eq(store_query_sql(s, "SELECT source FROM runs", collect, r), 0);
    ck_assert_int_eq(r->n, 1);
    ck_assert_str_eq(cell(r, 0, "source"), "v3");
    rows_free(r);
    uint64_t c[5];
    ck_assert_int_eq(store_count_by_severity(s, 0, c), 0);
    ck_assert_uint_eq(c[NZ_SEV_HIGH], 1);
    /* Writes fail: the connection is read-only. */
    struct store_run run = {"x", "file", NULL, "test"};
    int64_t id = 0;
    ck_assert_int_ne(store_run_begin(s, &run, &id), 0);
    ck_assert_ptr_nonnull(strstr(store_errmsg(s), "read-only"));
    r = rows_new();
    ck_assert_int_eq(store_query_sql(s, "PRAGMA user_version = 9", collect, r), NZ_EUSAGE);
    rows_free(r);
    ck_assert_str_ne(store_errmsg(s), "not an error");
    ck_assert_int_eq(store_close(s), 0);
    fb_same(d.path, &before);
    ck_assert_int_eq(path_count(d.path, "PRAGMA user_version"), 3);
    ck_assert(!side_exists(d.path, "-wal") && !side_exists(d.path, "-journal"));
    free(before.data);
    tdb_remove(&d);
}
END_TEST

START_TEST(test_ro_wal)
{
    struct tdb d;
    int err = 0;
    tdb_make(&d);
    /* Written by the store: WAL, closed cleanly (no -wal left). */
    struct store *w = open_ok(d.path, NULL);
    int64_t run = new_run(w, "wal");
    ck_assert_int_eq(add_finding(w, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, "{}"), 0);
    ck_assert_int_eq(store_close(w), 0);
    ck_assert(!side_exists(d.path, "-wal"));
    struct fbytes before = fb_read(d.path);
    struct store *s = store_open_readonly(d.path, NULL, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings"), 1);
    ck_assert_int_eq(store_close(s), 0);
    fb_same(d.path, &before);
    ck_assert(!side_exists(d.path, "-wal") && !side_exists(d.path, "-shm"));
    free(before.data);

    /* A writer holding rows in its -wal: the reader sees them; the writer goes on. */
    w = open_ok(d.path, NULL);
    raw_exec(store_sqlite(w), "PRAGMA wal_autocheckpoint = 0");
    ck_assert_int_eq(add_finding(w, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, "{}"), 0);
    ck_assert_int_eq(store_commit(w), 0);
    ck_assert(side_exists(d.path, "-wal"));
    s = store_open_readonly(d.path, NULL, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(sq_int(s, "SELECT count(*) FROM findings"), 2);
    ck_assert_int_eq(store_close(s), 0);
    ck_assert_int_eq(add_finding(w, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, "{}"), 0);
    ck_assert_int_eq(store_close(w), 0);
    ck_assert_int_eq(path_count(d.path, "SELECT count(*) FROM findings"), 3);
    tdb_remove(&d);
}
END_TEST

/* The connection settings of every store, writer or reader. */
static void assert_hardened(sqlite3 *db)
{
    int v = -1;
    ck_assert_int_eq(sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, -1, &v), SQLITE_OK);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, -1, &v), SQLITE_OK);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, -1, &v), SQLITE_OK);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, -1, &v), SQLITE_OK);
    ck_assert_int_eq(v, 0);
}

START_TEST(test_connection_hardened)
{
    struct tdb d;
    int err = 0;
    tdb_make(&d);
    struct store *w = open_ok(d.path, NULL);
    assert_hardened(store_sqlite(w));
    /* DEFENSIVE: writable_schema has no effect even through the raw handle. */
    raw_exec(store_sqlite(w), "PRAGMA writable_schema = ON");
    char *msg = NULL;
    ck_assert_int_ne(sqlite3_exec(store_sqlite(w), "UPDATE sqlite_master SET sql = 'x' WHERE name = 'runs'", NULL, NULL,
                                  &msg),
                     SQLITE_OK);
    sqlite3_free(msg);
    msg = NULL;
    /* fts3_tokenizer never reaches `sql`, in any spelling. */
    struct rows *r = rows_new();
    ck_assert_int_eq(store_query_sql(w, "SELECT fts3_tokenizer('simple')", collect, r), NZ_EUSAGE);
    ck_assert_int_eq(store_query_sql(w, "SELECT 1, Fts3_Tokenizer('porter')", collect, r), NZ_EUSAGE);
    ck_assert_int_eq(r->n, 0);
    rows_free(r);
    /* Its two-argument form (which installs a pointer) is off even on the raw handle. */
    ck_assert_int_ne(sqlite3_exec(store_sqlite(w), "SELECT fts3_tokenizer('x', fts3_tokenizer('simple'))", NULL, NULL,
                                  &msg),
                     SQLITE_OK);
    sqlite3_free(msg);
    ck_assert_int_eq(store_close(w), 0);
    struct store *s = store_open_readonly(d.path, NULL, &err);
    ck_assert_ptr_nonnull(s);
    assert_hardened(store_sqlite(s));
    ck_assert_int_eq(raw_int(store_sqlite(s), "PRAGMA query_only"), 1);
    ck_assert_int_eq(store_close(s), 0);
    tdb_remove(&d);
}
END_TEST

/* Records each result set's start in the rows struct (ncol, names) and counts them in n_sets. */
struct sets {
    int n_sets;
    int ncols[8];
    int rows_before[8];
    struct rows *r;
};

static int set_cb(void *ud, int n, const char *const *names)
{
    struct sets *s = ud;
    ck_assert_ptr_nonnull(names);
    if (s->n_sets < 8) {
        s->ncols[s->n_sets] = n;
        s->rows_before[s->n_sets] = s->r->n;
    }
    s->n_sets++;
    return 0;
}

static int set_row(void *ud, int n, const char *const *names, const enum store_col_type *types, const char *const *vals)
{
    struct sets *s = ud;
    return collect(s->r, n, names, types, vals);
}

START_TEST(test_query_sets_and_types)
{
    struct store *s = query_fixture();
    struct sets st = {0};
    st.r = rows_new();
    ck_assert_int_eq(store_query_sql_sets(s, "SELECT 1; SELECT * FROM findings WHERE 0; SELECT 1 AS a, 2 AS b",
                                          set_cb, set_row, &st),
                     0);
    ck_assert_int_eq(st.n_sets, 3);
    ck_assert_int_eq(st.ncols[0], 1);
    ck_assert_int_eq(st.ncols[1], 13); /* announced although it has no row */
    ck_assert_int_eq(st.ncols[2], 2);
    ck_assert_int_eq(st.rows_before[2], 1);
    ck_assert_int_eq(st.r->n, 2);
    rows_free(st.r);

    /* JSON only for our JSON columns by origin; a NUL inside text is hex, never cut. */
    struct rows *r = rows_new();
    ck_assert_int_eq(store_query_sql(s, "SELECT evidence, summary AS counters, 'x' AS evidence,"
                                        " CAST(x'610062' AS TEXT) AS nul FROM findings WHERE id = 1",
                                     collect, r),
                     0);
    ck_assert_int_eq(r->n, 1);
    ck_assert_int_eq(r->types[0][0], STORE_COL_JSON);
    ck_assert_int_eq(r->types[0][1], STORE_COL_TEXT);
    ck_assert_int_eq(r->types[0][2], STORE_COL_TEXT);
    ck_assert_int_eq(r->types[0][3], STORE_COL_TEXT);
    ck_assert_str_eq(r->vals[0][3], "610062");
    rows_reset(r);
    ck_assert_int_eq(store_query_sql(s, "SELECT counters FROM runs WHERE id = 1", collect, r), 0);
    ck_assert_int_eq(r->types[0][0], STORE_COL_NULL); /* never updated */
    rows_free(r);
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

START_TEST(test_errmsg_never_not_an_error)
{
    struct store *s = open_ok(":memory:", NULL);
    struct rows *r = rows_new();
    ck_assert_int_eq(store_query_sql(s, "SELECT 1", collect, r), 0);
    /* A failure that is not SQLite's: the message must not be SQLite's text for SQLITE_OK. */
    ck_assert_int_eq(store_query_sql(s, "DELETE FROM runs", collect, r), NZ_EUSAGE);
    ck_assert_str_ne(store_errmsg(s), "not an error");
    ck_assert_int_eq(store_query_sql(s, " -- nothing", collect, r), NZ_EUSAGE);
    ck_assert_str_ne(store_errmsg(s), "not an error");
    struct store_filter f = {.min_severity = -1, .kind = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                                     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."};
    ck_assert_int_eq(store_query_findings(s, &f, collect, r), NZ_EUSAGE);
    ck_assert_str_ne(store_errmsg(s), "not an error");
    ck_assert_str_ne(store_errmsg(NULL), "not an error");
    /* A real SQLite error keeps SQLite's text. */
    ck_assert_int_eq(store_query_sql(s, "SELECT * FROM nosuch", collect, r), NZ_EDB);
    ck_assert_ptr_nonnull(strstr(store_errmsg(s), "nosuch"));
    rows_free(r);
    /* Failures that are not SQLite's say what they were. */
    struct store_run_stats rs = {0};
    ck_assert_int_eq(store_run_update(s, 99, &rs), NZ_EUSAGE);
    ck_assert_str_eq(store_errmsg(s), "run 99 does not exist");
    /* A failed write is still named after the rollback that follows it. */
    int64_t run = new_run(s, "errmsg");
    raw_exec(store_sqlite(s), "CREATE TEMP TRIGGER nz_no BEFORE INSERT ON findings BEGIN"
                              " SELECT RAISE(ABORT, 'findings refused by a trigger'); END");
    ck_assert_int_eq(add_finding(s, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), NZ_EUSAGE);
    ck_assert_ptr_nonnull(strstr(store_errmsg(s), "findings refused by a trigger"));
    raw_exec(store_sqlite(s), "DROP TRIGGER nz_no; CREATE TEMP TRIGGER nz_no BEFORE INSERT ON findings BEGIN"
                              " SELECT abs(-9223372036854775807 - 1); END");
    int64_t fid = 0;
    struct store_flow fl = mk_flow("10.0.0.1", "10.0.0.2", T0);
    ck_assert_int_eq(store_flow_put(s, run, &fl, &fid), 0); /* an open batch: the failure below rolls it back */
    ck_assert_int_eq(add_finding(s, run, 0, FK_DISSECT_MALFORMED, NZ_SEV_LOW, T0, NULL, NULL, NULL), NZ_EDB);
    ck_assert_ptr_nonnull(strstr(store_errmsg(s), "inserting a finding failed: integer overflow"));
    ck_assert_int_eq(store_close(s), 0);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *su = suite_create("store");
    TCase *tc;

    tc = tcase_create("open");
    tcase_add_test(tc, test_open_memory);
    tcase_add_test(tc, test_open_file_pragmas);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_ts_iso);
    tcase_add_test(tc, test_ts_iso_matches_gmtime);
    suite_add_tcase(su, tc);

    tc = tcase_create("migrate");
    tcase_add_test(tc, test_migrate_from_empty);
    tcase_add_test(tc, test_migrate_from_v1);
    tcase_add_test(tc, test_migrate_failure_rolls_back);
    tcase_add_test(tc, test_refuse_newer);
    suite_add_tcase(su, tc);

    tc = tcase_create("run");
    tcase_add_test(tc, test_run_begin_update);
    suite_add_tcase(su, tc);

    tc = tcase_create("batch");
    tcase_add_test(tc, test_batching);
    tcase_add_test(tc, test_commit_explicit);
    suite_add_tcase(su, tc);

    tc = tcase_create("flow");
    tcase_add_test(tc, test_flow_insert_update);
    tcase_add_test(tc, test_flow_survives_rolled_back_batch);
    tcase_add_test(tc, test_flow_of_other_run);
    suite_add_tcase(su, tc);

    tc = tcase_create("finding");
    tcase_add_test(tc, test_finding_args);
    tcase_add_test(tc, test_record_add);
    tcase_add_test(tc, test_record_add_buffers);
    tcase_add_test(tc, test_finding_flow_link);
    tcase_add_test(tc, test_evidence_roundtrip);
    suite_add_tcase(su, tc);

    tc = tcase_create("file");
    tcase_add_test(tc, test_file_dedup);
    tcase_add_test(tc, test_file_forget);
    suite_add_tcase(su, tc);

    tc = tcase_create("query");
    tcase_add_test(tc, test_query_kind);
    tcase_add_test(tc, test_query_severity);
    tcase_add_test(tc, test_query_time);
    tcase_add_test(tc, test_query_host_run_limit);
    tcase_add_test(tc, test_query_callback_stop);
    tcase_add_test(tc, test_query_types);
    tcase_add_test(tc, test_query_sql_readonly);
    tcase_add_test(tc, test_count_by_severity);
    tcase_add_test(tc, test_no_https_redirect_rows);
    suite_add_tcase(su, tc);

    tc = tcase_create("readonly");
    tcase_add_test(tc, test_ro_refusals);
    tcase_add_test(tc, test_ro_old_version_not_migrated);
    tcase_add_test(tc, test_ro_wal);
    tcase_add_test(tc, test_connection_hardened);
    tcase_add_test(tc, test_query_sets_and_types);
    tcase_add_test(tc, test_errmsg_never_not_an_error);
    suite_add_tcase(su, tc);

    tc = tcase_create("failure");
    tcase_add_test(tc, test_locked_database);
    tcase_add_test(tc, test_disk_full);
    tcase_add_test(tc, test_commit_failure);
    suite_add_tcase(su, tc);

    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
