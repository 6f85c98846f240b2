/* fuzz_output.c — libFuzzer target for the query output path: cli/output.c (table, JSON lines,
 * CSV) fed directly with fuzzer-chosen result sets, and store_query_sql_sets() running
 * fuzzer-chosen SQL against an in-memory netzwacht database holding hostile values.
 *
 * Input: byte 0 is the mode, the rest depends on it.
 *   mode bits 0-1  format: 0 table, 1 json, 2 csv, 3 json
 *   mode bit  2    SQL: the rest is SQL text for store_query_sql_sets() (at most
 *                  FZ_SQL_STEPS progress units and FZ_ROWS_MAX rows per input)
 *   mode bit  3    table: show only columns named "a" and "id" (the listing commands' filter)
 * Direct mode: the rest is a list of operations, each starting with an op byte:
 *   bit 7  out_set() before the row (an explicit new result set, possibly with no row)
 *   bit 6  new column names (else the previous ones; a changed count also makes new names)
 *   bits 0-5 (and the next byte's bit 0 as bit 6)  the column count, 0..127 (beyond the old 48)
 *   then, for new names, each name as a length byte and that many bytes; then per column a
 *   type byte (STORE_COL_*, mod 5) and a value as a length byte (255 = SQL NULL) and bytes.
 *   Long values: a length byte 254 repeats the next byte 300 times.
 * Invariants: table and JSON output are valid UTF-8; table output has no control character but '\n', no DEL
 * and no C1; every JSON line is one strict RFC 8259 object (checked by a validator written
 * independently of output.c) with exactly the row's column count of members, all keys unique
 * as decoded; CSV is well-formed RFC 4180 and each record has its set's field count (an empty
 * line between sets); out_finish() reports the rows given.
 *
 * Build: CC=clang meson setup build-fuzz -Dfuzz=true -Db_lundef=false
 *        && ninja -C build-fuzz tests/fuzz/fuzz_output
 * (meson test --suite fuzz runs it via run_fuzz.sh). Seeds: tests/fuzz/corpus/fuzz_output/,
 * written by hand: the multi-statement crash of issue #8, wide rows, hostile JSON columns,
 * escapes in names and values, several SQL queries. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/migrate.h"

#define CHECK(x)                                                                  \
    do {                                                                          \
        if (!(x)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
            abort();                                                              \
        }                                                                         \
    } while (0)

#define FZ_COLS_MAX 2048 /* SQLite's default column limit is 2000 */
#define FZ_SQL_STEPS 20000 /* progress-handler units (of 100 VM steps) per SQL input */
#define FZ_ROWS_MAX 3000   /* rows per input (SQL can produce any number): then stop */
#define FZ_EVENTS_MAX 4096

/* ---- the model: what went into out_set/out_row, to check the output against ---- */

struct model {
    int nev;
    struct fz_event {
        bool set;   /* a new result set begins */
        int n;      /* its / the row's column count */
    } ev[FZ_EVENTS_MAX];
    bool overflow;  /* more events than recorded: skip the count checks */
    long rows;
    /* the current set as output.c sees it */
    bool in_set;
    int n;
    char *names[FZ_COLS_MAX];
};

static void model_names(struct model *m, int n, const char *const *names)
{
    for (int i = 0; i < m->n; i++)
        free(m->names[i]);
    m->n = n;
    for (int i = 0; i < n && i < FZ_COLS_MAX; i++)
        m->names[i] = strdup(names[i]);
}

static void model_event(struct model *m, bool set, int n)
{
    if (m->nev < FZ_EVENTS_MAX)
        m->ev[m->nev++] = (struct fz_event){set, n};
    else
        m->overflow = true;
}

static bool model_same(const struct model *m, int n, const char *const *names)
{
    if (!m->in_set || n != m->n || n > FZ_COLS_MAX)
        return false;
    for (int i = 0; i < n; i++)
        if (strcmp(m->names[i], names[i]) != 0)
            return false;
    return true;
}

struct sink {
    struct out *o;
    struct model m;
};

static int sink_set(void *ud, int n, const char *const *names)
{
    struct sink *k = ud;
    model_event(&k->m, true, n);
    model_names(&k->m, n, names);
    k->m.in_set = true;
    return out_set(k->o, n, names);
}

static int sink_row(void *ud, int n, const char *const *names, const enum store_col_type *types,
                    const char *const *vals)
{
    struct sink *k = ud;
    if (k->m.rows >= FZ_ROWS_MAX)
        return 1; /* stops the query, as a failing callback does */
    if (!model_same(&k->m, n, names)) {
        model_event(&k->m, true, n);
        model_names(&k->m, n, names);
        k->m.in_set = true;
    }
    model_event(&k->m, false, n);
    k->m.rows++;
    return out_row(k->o, n, names, types, vals);
}

static void model_free(struct model *m)
{
    for (int i = 0; i < m->n && i < FZ_COLS_MAX; i++)
        free(m->names[i]);
}

/* ---- independent checks of the output ---- */

/* Length of a valid UTF-8 sequence at p (within end), its code point in *cp; 0 if invalid. */
static int u8(const unsigned char *p, const unsigned char *end, unsigned *cp)
{
    unsigned c = p[0];
    int n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || end - p < n)
        return 0;
    unsigned v = n == 1 ? c : c & (0x7f >> n);
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

static void check_utf8(const unsigned char *p, size_t len, bool table)
{
    const unsigned char *end = p + len;
    while (p < end) {
        unsigned cp = 0;
        int n = u8(p, end, &cp);
        CHECK(n > 0);
        if (table)
            CHECK(cp == '\n' || (cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f)));
        p += n;
    }
}

/* A strict JSON reader: returns the end of the value at p, or NULL. With keys != NULL, the
 * top-level object's keys are decoded into keys[] (malloc'd) and counted in *nkeys. */
struct jr {
    const unsigned char *end;
    char **keys;
    int nkeys, maxkeys;
};

static const unsigned char *jr_ws(const struct jr *r, const unsigned char *p)
{
    while (p < r->end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hexv(unsigned char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void put_u8(char **o, unsigned cp)
{
    char *q = *o;
    if (cp < 0x80) {
        *q++ = (char)cp;
    } else if (cp < 0x800) {
        *q++ = (char)(0xc0 | cp >> 6), *q++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *q++ = (char)(0xe0 | cp >> 12), *q++ = (char)(0x80 | ((cp >> 6) & 0x3f)), *q++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *q++ = (char)(0xf0 | cp >> 18), *q++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *q++ = (char)(0x80 | ((cp >> 6) & 0x3f)), *q++ = (char)(0x80 | (cp & 0x3f));
    }
    *o = q;
}

/* A string at p; decoded into *out (malloc'd) when out is not NULL. */
static const unsigned char *jr_string(const struct jr *r, const unsigned char *p, char **out)
{
    if (p >= r->end || *p != '"')
        return NULL;
    char *buf = out ? malloc((size_t)(r->end - p) * 2 + 1) : NULL, *o = buf;
    p++;
    for (;;) {
        if (p >= r->end)
            goto bad;
        unsigned c = *p;
        if (c == '"')
            break;
        if (c < 0x20)
            goto bad;
        if (c == '\\') {
            if (r->end - p < 2)
                goto bad;
            unsigned char e = p[1];
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                if (o)
                    *o++ = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
                p += 2;
                continue;
            }
            if (e != 'u' || r->end - p < 6)
                goto bad;
            unsigned cp = 0;
            for (int i = 2; i < 6; i++) {
                int h = hexv(p[i]);
                if (h < 0)
                    goto bad;
                cp = cp << 4 | (unsigned)h;
            }
            if (o)
                put_u8(&o, cp);
            p += 6;
            continue;
        }
        unsigned cp;
        int n = u8(p, r->end, &cp);
        if (n == 0)
            goto bad;
        if (o) {
            memcpy(o, p, (size_t)n);
            o += n;
        }
        p += n;
    }
    if (o) {
        *o = '\0';
        *out = buf;
    }
    return p + 1;
bad:
    free(buf);
    return NULL;
}

static const unsigned char *jr_value(struct jr *r, const unsigned char *p, int depth, bool top)
{
    p = jr_ws(r, p);
    if (p >= r->end || depth > 200)
        return NULL;
    if (*p == '"')
        return jr_string(r, p, NULL);
    if (*p == '{' || *p == '[') {
        bool obj = *p == '{';
        unsigned char close = obj ? '}' : ']';
        p = jr_ws(r, p + 1);
        if (p < r->end && *p == close)
            return p + 1;
        for (;;) {
            if (obj) {
                char *key = NULL;
                p = jr_string(r, jr_ws(r, p), top && r->keys ? &key : NULL);
                if (!p)
                    return NULL;
                if (key) {
                    if (r->nkeys < r->maxkeys)
                        r->keys[r->nkeys] = key;
                    else
                        free(key);
                    r->nkeys++;
                }
                p = jr_ws(r, p);
                if (p >= r->end || *p != ':')
                    return NULL;
                p++;
            }
            p = jr_value(r, p, depth + 1, false);
            if (!p)
                return NULL;
            p = jr_ws(r, p);
            if (p >= r->end)
                return NULL;
            if (*p == close)
                return p + 1;
            if (*p != ',')
                return NULL;
            p++;
        }
    }
    static const char *const lit[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(lit[i]);
        if ((size_t)(r->end - p) >= n && memcmp(p, lit[i], n) == 0)
            return p + n;
    }
    const unsigned char *s = p;
    if (p < r->end && *p == '-')
        p++;
    if (p < r->end && *p == '0') {
        p++;
    } else if (p < r->end && *p >= '1' && *p <= '9') {
        while (p < r->end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return NULL;
    }
    if (p < r->end && *p == '.') {
        p++;
        if (p >= r->end || *p < '0' || *p > '9')
            return NULL;
        while (p < r->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < r->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < r->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= r->end || *p < '0' || *p > '9')
            return NULL;
        while (p < r->end && *p >= '0' && *p <= '9')
            p++;
    }
    return p > s ? p : NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_json(const unsigned char *p, size_t len, const struct model *m)
{
    const unsigned char *end = p + len;
    int row = 0, ev = 0;
    while (p < end) {
        const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
        CHECK(nl != NULL); /* every object ends its line */
        CHECK(*p == '{');
        char *keys[FZ_COLS_MAX + 1];
        struct jr r = {nl, keys, 0, FZ_COLS_MAX + 1};
        const unsigned char *q = jr_value(&r, p, 0, true);
        CHECK(q == nl);
        int nk = r.nkeys < r.maxkeys ? r.nkeys : r.maxkeys;
        qsort(keys, (size_t)nk, sizeof keys[0], cmp_str);
        for (int i = 1; i < nk; i++)
            CHECK(strcmp(keys[i - 1], keys[i]) != 0); /* unique as a reader sees them */
        for (int i = 0; i < nk; i++)
            free(keys[i]);
        if (!m->overflow) {
            while (ev < m->nev && m->ev[ev].set)
                ev++;
            CHECK(ev < m->nev);
            CHECK(r.nkeys == m->ev[ev].n); /* every column, none lost */
            ev++;
        }
        row++;
        p = nl + 1;
    }
    if (!m->overflow)
        CHECK(row == m->rows);
}

/* Parses p as RFC 4180 records (CRLF-terminated, quotes only around whole fields) and
 * compares their field counts with the model: at each set an empty line (when something came
 * before) and a header, then one record per row, each with the set's count (an empty record
 * counts 1). */
static void check_csv(const unsigned char *p, size_t len, const struct model *m)
{
    const unsigned char *end = p + len;
    int ev = 0, want_sep = 0;
    while (p < end) {
        int fields = 1;
        for (;;) { /* one field */
            if (p < end && *p == '"') {
                p++;
                for (;;) {
                    CHECK(p < end);
                    if (*p == '"') {
                        if (p + 1 < end && p[1] == '"') {
                            p += 2;
                            continue;
                        }
                        p++;
                        break;
                    }
                    p++;
                }
            } else {
                while (p < end && *p != ',' && *p != '\r' && *p != '\n') {
                    CHECK(*p != '"');
                    p++;
                }
            }
            CHECK(p < end);
            if (*p == ',') {
                p++;
                fields++;
                continue;
            }
            CHECK(*p == '\r' && p + 1 < end && p[1] == '\n');
            p += 2;
            break;
        }
        if (m->overflow)
            continue;
        if (want_sep) { /* the empty line before a set's header */
            CHECK(fields == 1);
            want_sep = 0;
            continue;
        }
        CHECK(ev < m->nev);
        int want = m->ev[ev].n > 0 ? m->ev[ev].n : 1;
        CHECK(fields == want);
        ev++;
        if (ev < m->nev && m->ev[ev].set)
            want_sep = 1;
    }
    if (!m->overflow)
        CHECK(ev == m->nev && !want_sep);
}

/* ---- the database for SQL mode ---- */

struct fz_db {
    struct store *st;
    int steps;
};

static int progress(void *ud)
{
    struct fz_db *d = ud;
    return ++d->steps > FZ_SQL_STEPS;
}

static struct fz_db *fz_db(void)
{
    static struct fz_db d;
    if (d.st)
        return &d;
    int err = 0;
    d.st = store_open(":memory:", NULL, &err);
    CHECK(d.st != NULL);
    sqlite3 *db = store_sqlite(d.st);
    char *msg = NULL;
    int rc = sqlite3_exec(db,
        "INSERT INTO runs(id, source, mode, counters) VALUES (1, 'a' || char(27) || '[2J', 'file', '{\"x\":{\"y\":[1,2,{}]}}'),"
        " (2, CAST(x'ff00fe' AS TEXT), 'live', 'not json'), (3, NULL, NULL, '{\"a\":' || char(10) || '1}');"
        "INSERT INTO flows(id, run_id, client_ip, server_ip, app_proto) VALUES (1, 1, '10.0.0.1', char(155) || 'x', 'TLS');"
        "INSERT INTO findings(run_id, flow_id, ts, kind, severity, severity_rank, summary, evidence) VALUES"
        " (1, 1, '2030-01-01T00:00:00Z', 'tls.x', 'high', 3, 'sum' || char(7), '{\"k\":\"v\\u0000\"}'),"
        " (1, NULL, NULL, 'x.y', 'info', 0, char(0x65e5) || CAST(x'c0af' AS TEXT), 'x'),"
        " (2, NULL, NULL, 'x.z', 'low', 1, '', '[' || char(27) || ']'),"
        " (3, NULL, NULL, 'x.w', 'low', 1, x'00ff', CAST(x'7b2261223a2241ff42227d' AS TEXT));",
        NULL, NULL, &msg);
    CHECK(rc == SQLITE_OK);
    sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 1 << 20);
    sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, 1 << 16);
    sqlite3_progress_handler(db, 100, progress, &d);
    return &d;
}

/* ---- direct mode input ---- */

struct rd {
    const uint8_t *p, *end;
};

static int rd_byte(struct rd *r)
{
    return r->p < r->end ? *r->p++ : -1;
}

/* A string: length byte, bytes (cut at a NUL: C strings); 254 = 300 copies of the next byte. */
static char *rd_str(struct rd *r, bool *null)
{
    int l = rd_byte(r);
    if (null)
        *null = l == 255;
    if (l < 0 || l == 255)
        return strdup("");
    size_t n;
    char *s;
    if (l == 254) {
        int c = rd_byte(r);
        n = 300;
        s = malloc(n + 1);
        memset(s, c > 0 ? c : 'x', n);
    } else {
        n = (size_t)l;
        if (n > (size_t)(r->end - r->p))
            n = (size_t)(r->end - r->p);
        s = malloc(n + 1);
        memcpy(s, r->p, n);
        r->p += n;
    }
    s[n] = '\0';
    return s;
}

static void run_direct(struct sink *k, struct rd *r)
{
    char *names[FZ_COLS_MAX] = {0};
    int n = 0;
    for (int ops = 0; ops < 256; ops++) {
        int op = rd_byte(r);
        if (op < 0)
            break;
        int hi = rd_byte(r);
        int cnt = (op & 0x3f) | (hi > 0 ? (hi & 1) << 6 : 0);
        if ((op & 0x40) || cnt != n) {
            for (int i = 0; i < n; i++)
                free(names[i]);
            n = cnt;
            for (int i = 0; i < n; i++)
                names[i] = rd_str(r, NULL);
        }
        if (op & 0x80) {
            if (sink_set(k, n, (const char *const *)names) != 0)
                break;
            if (hi > 0 && (hi & 2)) /* an empty set */
                continue;
        }
        enum store_col_type types[FZ_COLS_MAX];
        char *vals[FZ_COLS_MAX];
        for (int i = 0; i < n; i++) {
            bool null = false;
            int t = rd_byte(r);
            types[i] = (enum store_col_type)((t < 0 ? 3 : t) % 5);
            vals[i] = rd_str(r, &null);
            if (null || types[i] == STORE_COL_NULL) {
                free(vals[i]);
                vals[i] = NULL;
                types[i] = STORE_COL_NULL;
            }
        }
        int rc = sink_row(k, n, (const char *const *)names, types, (const char *const *)vals);
        for (int i = 0; i < n; i++)
            free(vals[i]);
        if (rc != 0)
            break;
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const show[] = {"a", "id", NULL};
    uint8_t mode = data[0];
    enum out_fmt fmt = (mode & 3) == 0 ? OUT_TABLE : (mode & 3) == 2 ? OUT_CSV : OUT_JSON;
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    CHECK(fp != NULL);
    struct sink k = {0};
    k.o = out_new(fmt, fp, fmt == OUT_TABLE && (mode & 8) ? show : NULL);
    CHECK(k.o != NULL);
    if (mode & 4) {
        struct fz_db *d = fz_db();
        d->steps = 0;
        char *sql = malloc(size);
        memcpy(sql, data + 1, size - 1);
        sql[size - 1] = '\0';
        (void)store_query_sql_sets(d->st, sql, sink_set, sink_row, &k);
        free(sql);
    } else {
        struct rd r = {data + 1, data + size};
        run_direct(&k, &r);
    }
    long rows = out_finish(k.o);
    CHECK(rows == k.m.rows);
    fclose(fp);
    const unsigned char *p = (const unsigned char *)buf;
    if (fmt != OUT_CSV) /* CSV keeps the stored bytes */
        check_utf8(p, len, fmt == OUT_TABLE);
    if (fmt == OUT_JSON)
        check_json(p, len, &k.m);
    else if (fmt == OUT_CSV)
        check_csv(p, len, &k.m);
    model_free(&k.m);
    free(buf);
    return 0;
}
