/* query.c — reading the store for the CLI: findings, flows, protocol records, mail servers
 * and certificates with filters, severity counts, and arbitrary read-only SQL (`netzwacht sql`).
 *
 * Filters become a WHERE clause of fixed fragments with `?` parameters; filter values are
 * only ever bound (sqlite3_bind_*), never pasted into SQL text. Filter semantics:
 *   kind     exact match, or a prefix when it ends in '.' ("tls." = every tls.* kind),
 *            done as the range [prefix, prefix with '.' → '/') so the kind index is used;
 *   min_severity  severity_rank >= it (-1 = any);
 *   since/until   half-open [since, until) on findings.ts / flows.first_ts, compared as
 *            text: ISO-8601 UTC as written by store_ts_iso(), so "2026-11-29" and
 *            "2026-11-29T03:55" are valid bounds;
 *   host     client_ip = host OR server_ip = host;  proto (flows) app_proto = proto;
 *   run_id   0 = all runs;  limit  0 = no limit.
 * A NULL or "" text filter means "any". Fields that do not apply to a table (kind and
 * min_severity for flows, proto for findings) are ignored.
 *
 * store_query_sql() accepts only statements for which sqlite3_stmt_readonly() is true,
 * and while it prepares them an authorizer (https://sqlite.org/c3ref/set_authorizer.html)
 * also refuses transaction control, ATTACH/DETACH, PRAGMAs outside an informational
 * allowlist and a few functions (func_denied): those count as read-only to SQLite but would
 * disturb the writer's batch, touch other files or leak process addresses. Every statement is
 * checked before the first one runs; store_query_sql_sets() marks where each one's result
 * set begins.
 * Result values: BLOBs, and text holding a NUL, are passed as hex text; STORE_COL_JSON only
 * for columns that come from findings.evidence or runs.counters (column origin metadata).
 * Not implemented: pagination beyond `limit`. */
#include "store/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QB_SQL_MAX 8192  /* the longest queries we build (servers, certs) are ~3500 bytes */
#define QB_PARAMS_MAX 16 /* the most `?` a query binds (certs: fingerprint 4 + host 5 + run 2 + limit) */
#define KIND_MAX 128     /* longest kind filter accepted; real kinds are < 40 chars */

struct qparam {
    const char *text; /* borrowed; NULL = integer param */
    int64_t num;
};

/* A query under construction: SQL text plus its positional parameters in order. */
struct qb {
    char sql[QB_SQL_MAX];
    size_t len;                    /* bytes in sql, excluding the NUL */
    bool overflow;                 /* something did not fit (a bug: fragments are fixed) */
    int n;                         /* parameters used */
    struct qparam p[QB_PARAMS_MAX];
    char kind_hi[KIND_MAX + 1];    /* upper bound of a kind prefix range */
    char fp_hi[66];                /* upper bound of a fingerprint prefix range */
};

static void qb_add(struct qb *q, const char *frag)
{
    size_t n = strlen(frag);
    if (q->overflow || n >= sizeof q->sql - q->len) {
        q->overflow = true;
        return;
    }
    memcpy(q->sql + q->len, frag, n + 1);
    q->len += n;
}

/* Appends frag (containing one `?`) with a text parameter. */
static void qb_text(struct qb *q, const char *frag, const char *v)
{
    if (q->n >= QB_PARAMS_MAX) {
        q->overflow = true;
        return;
    }
    q->p[q->n++] = (struct qparam){v, 0};
    qb_add(q, frag);
}

static void qb_int(struct qb *q, const char *frag, int64_t v)
{
    if (q->n >= QB_PARAMS_MAX) {
        q->overflow = true;
        return;
    }
    q->p[q->n++] = (struct qparam){NULL, v};
    qb_add(q, frag);
}

static bool set(const char *s)
{
    return s && s[0];
}

/* Adds the filter's conditions for a table whose time column is ts_col. findings
 * selects kind/min_severity (findings) or proto (flows). Returns 0 or NZ_EUSAGE. */
static int qb_filter(struct qb *q, const struct store_filter *f, const char *ts_col, bool findings)
{
    char frag[64];

    if (!f)
        return 0;
    if (f->run_id < 0 || f->limit < 0)
        return NZ_EUSAGE;
    if (findings && set(f->kind)) {
        size_t n = strlen(f->kind);
        if (f->kind[n - 1] != '.') {
            qb_text(q, " AND kind = ?", f->kind);
        } else {
            if (n > KIND_MAX)
                return NZ_EUSAGE;
            memcpy(q->kind_hi, f->kind, n + 1);
            q->kind_hi[n - 1] = '.' + 1; /* '/' : the first string after every "prefix.*" */
            qb_text(q, " AND kind >= ?", f->kind);
            qb_text(q, " AND kind < ?", q->kind_hi);
        }
    }
    if (findings && f->min_severity != -1) {
        if (f->min_severity < NZ_SEV_INFO || f->min_severity > NZ_SEV_CRITICAL)
            return NZ_EUSAGE;
        qb_int(q, " AND severity_rank >= ?", f->min_severity);
    }
    if (set(f->since)) {
        snprintf(frag, sizeof frag, " AND %s >= ?", ts_col);
        qb_text(q, frag, f->since);
    }
    if (set(f->until)) {
        snprintf(frag, sizeof frag, " AND %s < ?", ts_col);
        qb_text(q, frag, f->until);
    }
    if (set(f->host)) {
        qb_text(q, " AND (client_ip = ?", f->host);
        qb_text(q, " OR server_ip = ?)", f->host);
    }
    if (!findings && set(f->proto))
        qb_text(q, " AND app_proto = ?", f->proto);
    if (f->run_id > 0)
        qb_int(q, " AND run_id = ?", f->run_id);
    return 0;
}

/* Hex text of a BLOB column (malloc'd, caller frees) or NULL on ENOMEM. */
static char *blob_hex(sqlite3_stmt *st, int i)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = sqlite3_column_blob(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    char *out = malloc(2 * n + 1);
    if (!out)
        return NULL;
    for (size_t k = 0; k < n; k++) {
        out[2 * k] = digits[p[k] >> 4];
        out[2 * k + 1] = digits[p[k] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

/* Our JSON columns: a result column is STORE_COL_JSON only when SQLite says it comes straight
 * from one of these (sqlite3_column_table_name/origin_name), never because of its name:
 * `SELECT summary AS evidence` is text. */
static bool json_col(sqlite3_stmt *st, int i)
{
    static const char *const cols[][2] = {{"findings", "evidence"}, {"runs", "counters"}};
    const char *db = sqlite3_column_database_name(st, i);
    const char *tab = sqlite3_column_table_name(st, i);
    const char *col = sqlite3_column_origin_name(st, i);
    if (!db || !tab || !col || strcmp(db, "main") != 0)
        return false;
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
        if (strcmp(tab, cols[k][0]) == 0 && strcmp(col, cols[k][1]) == 0)
            return true;
    return false;
}

/* Steps st to the end: set_fn (may be NULL) once with the column names, then fn per row.
 * Returns 0, a callback's non-zero value (stops), NZ_ENOMEM or NZ_EDB (logged). Does not
 * finalize st. */
static int run_rows(struct store *s, sqlite3_stmt *st, store_set_fn set_fn, store_row_fn fn, void *ud)
{
    int n = sqlite3_column_count(st);
    size_t cols = n > 0 ? (size_t)n : 1;
    const char **names = calloc(cols, sizeof *names);
    const char **vals = calloc(cols, sizeof *vals);
    enum store_col_type *types = calloc(cols, sizeof *types);
    char **owned = calloc(cols, sizeof *owned);
    bool *is_json = calloc(cols, sizeof *is_json);
    int ret = 0;

    if (!names || !vals || !types || !owned || !is_json) {
        ret = NZ_ENOMEM;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        names[i] = sqlite3_column_name(st, i);
        if (!names[i]) {
            ret = NZ_ENOMEM;
            goto out;
        }
        is_json[i] = json_col(st, i);
    }
    if (set_fn && n > 0 && (ret = set_fn(ud, n, names)) != 0)
        goto out;
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            ret = store_db_fail(s, "query");
            break;
        }
        for (int i = 0; i < n && ret == 0; i++) {
            /* Type first: sqlite3_column_text() converts the value in place. */
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_NULL:
                types[i] = STORE_COL_NULL;
                vals[i] = NULL;
                continue;
            case SQLITE_INTEGER:
                types[i] = STORE_COL_INT;
                break;
            case SQLITE_FLOAT:
                types[i] = STORE_COL_REAL;
                break;
            case SQLITE_BLOB:
                types[i] = STORE_COL_TEXT;
                vals[i] = owned[i] = blob_hex(st, i);
                if (!owned[i])
                    ret = NZ_ENOMEM;
                continue;
            default:
                types[i] = is_json[i] ? STORE_COL_JSON : STORE_COL_TEXT;
                break;
            }
            vals[i] = (const char *)sqlite3_column_text(st, i);
            if (!vals[i]) {
                ret = NZ_ENOMEM;
            } else if (types[i] >= STORE_COL_TEXT && strlen(vals[i]) != (size_t)sqlite3_column_bytes(st, i)) {
                /* A NUL inside the text: a C string would silently end there. */
                types[i] = STORE_COL_TEXT;
                vals[i] = owned[i] = blob_hex(st, i);
                if (!owned[i])
                    ret = NZ_ENOMEM;
            }
        }
        if (ret == 0)
            ret = fn(ud, n, names, types, vals);
        for (int i = 0; i < n; i++) {
            free(owned[i]);
            owned[i] = NULL;
        }
        if (ret != 0)
            break;
    }
out:
    sqlite3_reset(st);
    free(is_json);
    free(owned);
    free(types);
    free(vals);
    free(names);
    return ret;
}

/* Prepares q (with `ORDER BY`/`LIMIT` already added), binds its parameters and runs it. */
static int run_built(struct store *s, struct qb *q, store_row_fn fn, void *ud)
{
    sqlite3_stmt *st = NULL;
    int ret = 0;

    if (q->overflow)
        return NZ_EUSAGE;
    if (sqlite3_prepare_v2(s->db, q->sql, -1, &st, NULL) != SQLITE_OK)
        return store_db_fail(s, "preparing a query");
    for (int i = 0; i < q->n; i++) {
        int rc = q->p[i].text ? sqlite3_bind_text(st, i + 1, q->p[i].text, -1, SQLITE_STATIC)
                              : sqlite3_bind_int64(st, i + 1, q->p[i].num);
        if (rc != SQLITE_OK) {
            ret = store_db_fail(s, "binding a query parameter");
            goto out;
        }
    }
    ret = run_rows(s, st, NULL, fn, ud);
out:
    sqlite3_finalize(st);
    return ret;
}

static void qb_tail(struct qb *q, const char *order, const struct store_filter *f)
{
    qb_add(q, order);
    if (f && f->limit > 0)
        qb_int(q, " LIMIT ?", f->limit);
}

/* Findings matching f (NULL = all), ordered by ts, id; calls fn per row with columns id,
 * run_id, flow_id, ts, kind, severity, client_ip, client_port, server_ip, server_port,
 * summary, evidence (STORE_COL_JSON). Returns 0, fn's non-zero value, NZ_EUSAGE (bad
 * filter), NZ_ENOMEM or NZ_EDB. */
int store_query_findings(struct store *s, const struct store_filter *f, store_row_fn fn, void *ud)
{
    struct qb q = {0};

    if (!s || !fn)
        return NZ_EUSAGE;
    qb_add(&q, "SELECT id, run_id, flow_id, ts, kind, severity, client_ip, client_port, server_ip,"
               " server_port, summary, evidence FROM findings WHERE 1");
    int rc = qb_filter(&q, f, "ts", true);
    if (rc != 0)
        return rc;
    qb_tail(&q, " ORDER BY ts, id", f);
    return run_built(s, &q, fn, ud);
}

/* Flows matching f (NULL = all), ordered by first_ts, id; one callback per row with the
 * flows table's columns. Returns as store_query_findings(). */
int store_query_flows(struct store *s, const struct store_filter *f, store_row_fn fn, void *ud)
{
    struct qb q = {0};

    if (!s || !fn)
        return NZ_EUSAGE;
    qb_add(&q, "SELECT id, run_id, client_ip, client_port, server_ip, server_port, ip_version,"
               " app_proto, ndpi_proto, orient, end_reason, first_ts, last_ts, pkts_c2s, pkts_s2c,"
               " bytes_c2s, bytes_s2c, payload_c2s, payload_s2c, gaps, gap_bytes, overlaps,"
               " overlap_diff, retrans FROM flows WHERE 1");
    int rc = qb_filter(&q, f, "first_ts", false);
    if (rc != 0)
        return rc;
    qb_tail(&q, " ORDER BY first_ts, id", f);
    return run_built(s, &q, fn, ud);
}

/* Common conditions of the record queries; `t` is the record table, `f` the flows alias. */
static int qb_record_filter(struct qb *q, const struct store_filter *f)
{
    if (!f)
        return 0;
    if (f->run_id < 0 || f->limit < 0)
        return NZ_EUSAGE;
    if (set(f->since))
        qb_text(q, " AND t.ts >= ?", f->since);
    if (set(f->until))
        qb_text(q, " AND t.ts < ?", f->until);
    if (set(f->host)) {
        qb_text(q, " AND (f.client_ip = ?", f->host);
        qb_text(q, " OR f.server_ip = ?)", f->host);
    }
    if (f->run_id > 0)
        qb_int(q, " AND t.run_id = ?", f->run_id);
    return 0;
}

int store_query_tls(struct store *s, const struct store_filter *f, store_row_fn fn, void *ud)
{
    struct qb q = {0};

    if (!s || !fn)
        return NZ_EUSAGE;
    qb_add(&q, "SELECT t.id, t.run_id, t.flow_id, t.ts, f.client_ip, f.client_port, f.server_ip,"
               " f.server_port, t.started_by, t.sni, t.version, t.cipher, t.cipher_code,"
               " t.client_version, t.client_versions, t.alpn_offered, t.alpn_chosen,"
               " t.groups_offered, t.group_chosen, t.dhe_bits, t.ja3, t.ja3s, t.ja4, t.ja4_r,"
               " t.resumed, t.alerts, t.handshake_complete, t.cert_count, t.cert_sizes"
               " FROM tls_sessions t LEFT JOIN flows f ON f.id = t.flow_id WHERE 1");
    int rc = qb_record_filter(&q, f);
    if (rc != 0)
        return rc;
    if (f && set(f->sni))
        qb_text(&q, " AND t.sni = ?", f->sni);
    if (f && set(f->tls_version))
        qb_text(&q, " AND t.version = ?", f->tls_version);
    qb_add(&q, " ORDER BY t.ts, t.id");
    if (f && f->limit > 0)
        qb_int(&q, " LIMIT ?", f->limit);
    return run_built(s, &q, fn, ud);
}

int store_query_http(struct store *s, const struct store_filter *f, store_row_fn fn, void *ud)
{
    struct qb q = {0};

    if (!s || !fn)
        return NZ_EUSAGE;
    qb_add(&q, "SELECT t.id, t.run_id, t.flow_id, t.ts, f.client_ip, f.client_port, f.server_ip,"
               " f.server_port, t.method, t.host, t.port, t.path, t.status, t.content_type,"
               " t.location, t.user_agent, t.auth_scheme, t.auth_user, t.form_field,"
               " t.cookie_names, t.request_body_bytes, t.response_body_bytes, t.flags"
               " FROM http_requests t LEFT JOIN flows f ON f.id = t.flow_id WHERE 1");
    int rc = qb_record_filter(&q, f);
    if (rc != 0)
        return rc;
    if (f && set(f->http_host))
        qb_text(&q, " AND t.host = ?", f->http_host);
    qb_add(&q, " ORDER BY t.ts, t.id");
    if (f && f->limit > 0)
        qb_int(&q, " LIMIT ?", f->limit);
    return run_built(s, &q, fn, ud);
}

int store_query_mail(struct store *s, const struct store_filter *f, store_row_fn fn, void *ud)
{
    struct qb q = {0};

    if (!s || !fn)
        return NZ_EUSAGE;
    /* t.* carries the endpoints itself; `f` is the flow alias used by qb_record_filter. */
    qb_add(&q, "SELECT t.id, t.run_id, t.flow_id, t.ts, t.protocol, t.client_ip, t.client_port, t.server_ip,"
               " t.server_port, t.greeting_host, t.helo, t.capabilities, t.starttls_offered,"
               " t.starttls_requested, t.starttls_reply_code, t.starttls_reply, t.starttls_accepted,"
               " t.tls_started, tl.version AS tls_version, tl.cipher AS tls_cipher,"
               " tl.handshake_complete AS tls_established, t.auth_mech, t.auth_user, t.auth_in_clear,"
               " t.plaintext_commands, t.messages, t.mail_in_clear, t.verdicts"
               " FROM smtp_sessions t LEFT JOIN flows f ON f.id = t.flow_id"
               " LEFT JOIN tls_sessions tl ON tl.flow_id = t.flow_id AND t.tls_started = 1 WHERE 1");
    int rc = qb_record_filter(&q, f);
    if (rc != 0)
        return rc;
    qb_add(&q, " ORDER BY t.ts, t.id");
    if (f && f->limit > 0)
        qb_int(&q, " LIMIT ?", f->limit);
    return run_built(s, &q, fn, ud);
}

/* The servers query: `s` is one row per mail session (with the TLS session that followed
 * STARTTLS) under the filters; the existing columns aggregate it per server as before. The level
 * of a session is smtp_sessions.security_level, else its TLS session's (NULL before schema v8:
 * such sessions take no part in the levels). `lv` keeps each session whose level differs from
 * the server's previous session's (lag), so security_levels lists the changes in time order as
 * "level YYYY-MM-DDTHH:MM:SSZ" (the first session with that level, to the second);
 * security_level is the latest session's (the bare column of max(ts), sqlite.org/lang_select.html
 * #bareagg). The leaf of a session is tls_sessions.cert_sha256, else position 0 of its chain; lf
 * takes the latest session's leaf the same way, its names from `certificates` (else the v6
 * cert_subject/cert_issuer columns of that session). */
int store_query_servers(struct store *s, const struct store_filter *f, store_row_fn fn, void *ud)
{
    struct qb q = {0};

    if (!s || !fn)
        return NZ_EUSAGE;
    qb_add(&q, "WITH s AS (SELECT t.id, t.ts, t.server_ip, t.server_port, t.protocol, t.starttls_offered,"
               " t.starttls_requested, t.starttls_accepted, t.auth_in_clear, t.mail_in_clear,"
               " tl.handshake_complete, tl.version, tl.cipher, tl.cert_count,"
               " coalesce(t.security_level, tl.security_level) AS level,"
               " coalesce(tl.cert_sha256, (SELECT ch.cert_sha256 FROM cert_chains ch"
               "  WHERE ch.chain_sha256 = tl.chain_sha256 AND ch.position = 0)) AS leaf,"
               " tl.cert_spki_sha256 AS leaf_spki, tl.cert_subject AS leaf_subject, tl.cert_issuer AS leaf_issuer"
               " FROM smtp_sessions t LEFT JOIN flows f ON f.id = t.flow_id"
               " LEFT JOIN tls_sessions tl ON tl.flow_id = t.flow_id AND t.tls_started = 1 WHERE 1");
    int rc = qb_record_filter(&q, f);
    if (rc != 0)
        return rc;
    qb_add(&q, "), g AS (SELECT s.server_ip, s.server_port, s.protocol, count(*) AS sessions,"
               " min(s.ts) AS first_seen, max(s.ts) AS last_seen,"
               " sum(s.starttls_offered) AS starttls_offered, sum(s.starttls_requested) AS starttls_requested,"
               " sum(s.starttls_accepted) AS starttls_accepted,"
               " sum(s.starttls_requested AND NOT s.starttls_accepted) AS starttls_refused,"
               " sum(coalesce(s.handshake_complete, 0)) AS tls_established,"
               " group_concat(DISTINCT s.version) AS tls_versions,"
               " group_concat(DISTINCT s.cipher) AS tls_ciphers,"
               " max(s.cert_count) AS max_cert_chain,"
               " sum(s.auth_in_clear) AS plaintext_logins, sum(s.mail_in_clear) AS sessions_in_clear,"
               " (SELECT count(*) FROM findings x WHERE x.server_ip = s.server_ip AND x.server_port = s.server_port"
               "  AND x.kind LIKE s.protocol || '.%' AND x.severity_rank >= 2) AS findings_medium_up"
               " FROM s GROUP BY s.server_ip, s.server_port, s.protocol),"
               " lv AS (SELECT server_ip, server_port, protocol, id, ts, level, lag(level) OVER"
               "  (PARTITION BY server_ip, server_port, protocol ORDER BY ts, id) AS prev FROM s WHERE level IS NOT NULL),"
               " lvs AS (SELECT server_ip, server_port, protocol, level AS security_level, max(ts) AS at,"
               "  group_concat(level || ' ' || substr(ts, 1, 19) || 'Z', ', ') AS security_levels"
               "  FROM (SELECT * FROM lv WHERE prev IS NULL OR prev <> level"
               "  ORDER BY server_ip, server_port, protocol, ts, id) GROUP BY server_ip, server_port, protocol),"
               " lf AS (SELECT server_ip, server_port, protocol, leaf, leaf_spki, leaf_subject, leaf_issuer,"
               "  max(ts) AS at, count(DISTINCT leaf) AS leaf_certs FROM s WHERE leaf IS NOT NULL"
               "  GROUP BY server_ip, server_port, protocol)"
               " SELECT g.*, lvs.security_level, lvs.security_levels,"
               " coalesce(c.subject_cn, lf.leaf_subject) AS leaf_subject_cn,"
               " coalesce(c.issuer_cn, lf.leaf_issuer) AS leaf_issuer_cn, lf.leaf AS leaf_sha256,"
               " coalesce(lf.leaf_spki, c.spki_sha256) AS leaf_spki_sha256, coalesce(lf.leaf_certs, 0) AS leaf_certs"
               " FROM g LEFT JOIN lvs ON lvs.server_ip = g.server_ip AND lvs.server_port = g.server_port"
               "  AND lvs.protocol = g.protocol"
               " LEFT JOIN lf ON lf.server_ip = g.server_ip AND lf.server_port = g.server_port AND lf.protocol = g.protocol"
               " LEFT JOIN certificates c ON c.sha256 = lf.leaf"
               " ORDER BY g.server_ip, g.server_port, g.protocol");
    if (f && f->limit > 0)
        qb_int(&q, " LIMIT ?", f->limit);
    return run_built(s, &q, fn, ud);
}

/* ---- certificates ---- */

/* The matcher behind the SQL function nz_name_match(list, host) while a certs query runs. */
struct name_match_ctx {
    bool (*fn)(const char *list, const char *host);
};

/* Without a matcher: is host one of the comma-joined entries (ASCII case-insensitive)? */
static bool list_has(const char *list, const char *host)
{
    size_t hn = strlen(host);
    for (const char *p = list;;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == hn && hn > 0 && sqlite3_strnicmp(p, host, (int)hn) == 0)
            return true;
        if (!e)
            return false;
        p = e + 1;
    }
}

static void sql_name_match(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    const struct name_match_ctx *m = sqlite3_user_data(cx);
    const char *list = argc == 2 ? (const char *)sqlite3_value_text(argv[0]) : NULL;
    const char *host = argc == 2 ? (const char *)sqlite3_value_text(argv[1]) : NULL;
    bool ok = false;
    if (list && host && host[0])
        ok = m->fn ? m->fn(list, host) : list_has(list, host);
    sqlite3_result_int(cx, ok);
}

/* A fingerprint filter: 8..64 lowercase hex digits. */
static bool fp_ok(const char *fp)
{
    size_t n = strlen(fp);
    if (n < 8 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((fp[i] >= '0' && fp[i] <= '9') || (fp[i] >= 'a' && fp[i] <= 'f')))
            return false;
    return true;
}

/* `ref` is the reference time of validity: the latest packet time in the database (runs.last_ts,
 * tls_sessions.ts), compared to the second as the verdicts do (dissect/x509.c: expired when
 * not_after < now, not yet valid when not_before > now, now in whole seconds); the texts are
 * ISO-8601 UTC, so their first 19 characters compare as times. `sel` is the certificates the
 * filters keep (with the limit), so that only their presentations are gathered: `pres` is each
 * presentation of a selected certificate, its position in a session's chain (cert_chains →
 * tls_sessions.chain_sha256) or the leaf of a session that names it only in
 * tls_sessions.cert_sha256 (v6), with the session's trust outcome and server (flows). The
 * filters on presentations (untrusted, server, run) are one list each over the same two paths
 * (qb_presented). */
#define CERT_EXPIRED "(length(c.not_after) >= 19 AND substr(c.not_after, 1, 19) < substr(r.t, 1, 19))"
#define CERT_NOT_YET "(length(c.not_before) >= 19 AND substr(c.not_before, 1, 19) > substr(r.t, 1, 19))"

/* Adds op + " c.sha256 IN (the certificates presented in a session where cond holds)": one list
 * built once from the sessions cond selects (an indexed run, server or all sessions), never a
 * lookup of every session per certificate. cond uses ts (tls_sessions) and fl (flows) and has at
 * most one `?`, bound to v (or to n when v is NULL and with_param). */
static void qb_presented(struct qb *q, const char *op, const char *cond, bool with_param, const char *v, int64_t n)
{
    static const char *const paths[] = {
        " c.sha256 IN (SELECT ch.cert_sha256 FROM tls_sessions ts LEFT JOIN flows fl ON fl.id = ts.flow_id"
        " JOIN cert_chains ch ON ch.chain_sha256 = ts.chain_sha256 WHERE ",
        " UNION SELECT ts.cert_sha256 FROM tls_sessions ts LEFT JOIN flows fl ON fl.id = ts.flow_id WHERE ",
    };
    qb_add(q, op);
    for (int i = 0; i < 2; i++) {
        qb_add(q, paths[i]);
        if (!with_param)
            qb_add(q, cond);
        else if (v)
            qb_text(q, cond, v);
        else
            qb_int(q, cond, n);
    }
    qb_add(q, ")");
}

int store_query_certs(struct store *s, const struct store_filter *f, store_row_fn fn, void *ud)
{
    struct qb q = {0};

    if (!s || !fn)
        return NZ_EUSAGE;
    if (f && (f->run_id < 0 || f->limit < 0 || (set(f->fingerprint) && !fp_ok(f->fingerprint))))
        return NZ_EUSAGE;
    qb_add(&q, "WITH ref(t) AS (SELECT max(x) FROM (SELECT max(last_ts) AS x FROM runs"
               "  UNION ALL SELECT max(ts) FROM tls_sessions)),"
               " sel AS (SELECT c.* FROM certificates c CROSS JOIN ref r WHERE 1");
    if (f && f->expired)
        qb_add(&q, " AND (" CERT_EXPIRED " OR " CERT_NOT_YET ")");
    if (f && f->untrusted)
        qb_presented(&q, " AND", "ts.trust = 'untrusted'", false, NULL, 0);
    if (f && set(f->fingerprint)) {
        size_t n = strlen(f->fingerprint);
        memcpy(q.fp_hi, f->fingerprint, n);
        memcpy(q.fp_hi + n, "g", 2); /* 'g' sorts after every hex digit: [fp, fp"g") is the prefix */
        qb_text(&q, " AND ((c.sha256 >= ?", f->fingerprint);
        qb_text(&q, " AND c.sha256 < ?)", q.fp_hi);
        qb_text(&q, " OR (c.spki_sha256 >= ?", f->fingerprint);
        qb_text(&q, " AND c.spki_sha256 < ?))", q.fp_hi);
    }
    if (f && set(f->host)) {
        qb_text(&q, " AND (nz_name_match(c.san_dns, ?)", f->host);
        qb_text(&q, " OR nz_name_match(c.subject_cn, ?)", f->host);
        qb_text(&q, " OR instr(',' || c.san_ip || ',', ',' || ? || ',') > 0", f->host);
        qb_presented(&q, " OR", "fl.server_ip = ?", true, f->host, 0);
        qb_add(&q, ")");
    }
    if (f && f->run_id > 0)
        qb_presented(&q, " AND", "ts.run_id = ?", true, NULL, f->run_id);
    qb_add(&q, " ORDER BY c.first_seen, c.sha256");
    if (f && f->limit > 0)
        qb_int(&q, " LIMIT ?", f->limit);
    qb_add(&q, "),"
               " pres AS (SELECT ch.cert_sha256 AS cert, ch.position AS pos, ts.id AS sid, ts.trust, ts.trust_reason,"
               "  fl.server_ip, fl.server_port FROM sel JOIN cert_chains ch ON ch.cert_sha256 = sel.sha256"
               "  JOIN tls_sessions ts ON ts.chain_sha256 = ch.chain_sha256 LEFT JOIN flows fl ON fl.id = ts.flow_id"
               "  UNION SELECT ts.cert_sha256, 0, ts.id, ts.trust, ts.trust_reason, fl.server_ip, fl.server_port"
               "  FROM sel JOIN tls_sessions ts ON ts.cert_sha256 = sel.sha256 LEFT JOIN flows fl ON fl.id = ts.flow_id),"
               " agg AS (SELECT cert, count(DISTINCT sid) AS sessions, max(pos = 0) AS at_leaf, max(pos > 0) AS above,"
               "  max(trust = 'trusted') AS tr_ok, max(trust = 'untrusted') AS tr_bad,"
               "  max(trust IS NULL) AS tr_none FROM pres GROUP BY cert),"
               " srv AS (SELECT cert, group_concat(ep, ',') AS servers FROM (SELECT DISTINCT cert,"
               "  CASE WHEN instr(server_ip, ':') THEN '[' || server_ip || ']' ELSE server_ip END || ':' || server_port"
               "  AS ep, server_ip, server_port FROM pres WHERE server_ip IS NOT NULL"
               "  ORDER BY cert, server_ip, server_port) GROUP BY cert),"
               " why AS (SELECT cert, group_concat(trust_reason, '; ') AS trust_reasons FROM (SELECT DISTINCT cert,"
               "  trust_reason FROM pres WHERE trust_reason IS NOT NULL ORDER BY cert, trust_reason) GROUP BY cert)"
               " SELECT c.sha256, c.subject_cn, c.issuer_cn, c.not_before, c.not_after,"
               " CASE WHEN r.t IS NULL THEN NULL WHEN " CERT_EXPIRED " THEN 'expired'"
               "  WHEN " CERT_NOT_YET " THEN 'not_yet_valid'"
               "  WHEN length(c.not_after) >= 19 AND length(c.not_before) >= 19 THEN 'valid' END AS validity,"
               " r.t AS validity_at,"
               " nullif(trim(coalesce(c.key_type, '') || coalesce(' ' || c.key_bits, '')"
               "  || coalesce(' ' || c.key_curve, '')), '') AS key,"
               " c.key_type, c.key_bits, c.key_curve, c.sig_alg, c.san_dns, c.n_san_dns, c.san_ip, c.spki_sha256,"
               " c.subject, c.issuer, c.serial, c.is_ca, c.self_issued, c.parsed_by, c.parse_error,"
               " c.first_seen, c.last_seen, coalesce(a.sessions, 0) AS sessions, v.servers,"
               " nullif(trim(CASE WHEN a.at_leaf THEN 'leaf,' ELSE '' END || CASE WHEN a.above THEN"
               "  CASE WHEN c.self_issued THEN 'root' ELSE 'intermediate' END ELSE '' END, ','), '') AS positions,"
               " nullif(trim(CASE WHEN a.tr_ok THEN 'trusted,' ELSE '' END || CASE WHEN a.tr_bad THEN 'untrusted,'"
               "  ELSE '' END || CASE WHEN a.tr_none THEN 'unchecked' ELSE '' END, ','), '') AS trust,"
               " w.trust_reasons"
               " FROM sel c CROSS JOIN ref r LEFT JOIN agg a ON a.cert = c.sha256"
               " LEFT JOIN srv v ON v.cert = c.sha256 LEFT JOIN why w ON w.cert = c.sha256"
               " ORDER BY c.first_seen, c.sha256");

    struct name_match_ctx m = {f ? f->name_match : NULL};
    if (sqlite3_create_function(s->db, "nz_name_match", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, &m,
                                sql_name_match, NULL, NULL) != SQLITE_OK)
        return store_db_fail(s, "registering nz_name_match");
    int ret = run_built(s, &q, fn, ud);
    /* The function points at m on this stack: it must not outlive the call. */
    if (sqlite3_create_function(s->db, "nz_name_match", 2, SQLITE_UTF8, NULL, NULL, NULL, NULL) != SQLITE_OK && ret == 0)
        ret = store_db_fail(s, "removing nz_name_match");
    return ret;
}

int store_query_no_https_redirect(struct store *s, int64_t run_id, store_row_fn fn, void *ud)
{
    struct qb q = {0};

    if (!s || !fn || run_id <= 0)
        return NZ_EUSAGE;
    qb_int(&q, "SELECT h.host, h.flow_id, min(h.ts) AS ts, f.client_ip, f.client_port, f.server_ip,"
               " f.server_port, (SELECT min(t.ts) FROM tls_sessions t WHERE t.sni = h.host) AS tls_ts"
               " FROM http_requests h LEFT JOIN flows f ON f.id = h.flow_id"
               " WHERE h.run_id = ? AND h.path = '/' AND h.status = 200 AND h.host IS NOT NULL"
               " AND EXISTS (SELECT 1 FROM tls_sessions t WHERE t.sni = h.host)", run_id);
    /* The hosts that redirected to https:// are one list, built once (an IN sub-select),
     * not a correlated NOT EXISTS that would walk the run's requests again for every
     * candidate row. IS NOT NULL keeps NOT IN from turning NULL. */
    qb_int(&q, " AND h.host NOT IN (SELECT r.host FROM http_requests r WHERE r.run_id = ? AND r.host IS NOT NULL"
               " AND r.status IN (301, 302, 303, 307, 308) AND r.location LIKE 'https://%')", run_id);
    qb_add(&q, " GROUP BY h.host ORDER BY min(h.ts), h.host");
    return run_built(s, &q, fn, ud);
}

struct no_https_typed {
    int (*fn)(void *ud, const struct store_no_https_row *row);
    void *ud;
};

static int no_https_typed_row(void *ud, int n, const char *const *names, const enum store_col_type *types,
                              const char *const *vals)
{
    struct no_https_typed *t = ud;
    (void)names;
    (void)types;
    if (n < 8)
        return 0;
    struct store_no_https_row row = {
        .host = vals[0],
        .flow_id = vals[1] ? atoll(vals[1]) : 0,
        .ts = vals[2],
        .client_ip = vals[3],
        .client_port = (uint16_t)(vals[4] ? atoi(vals[4]) : 0),
        .server_ip = vals[5],
        .server_port = (uint16_t)(vals[6] ? atoi(vals[6]) : 0),
        .tls_ts = vals[7],
    };
    if (!vals[2] || !store_ts_parse(vals[2], &row.ts_usec))
        row.ts_usec = 0;
    return t->fn(t->ud, &row);
}

int store_no_https_redirect_rows(struct store *s, int64_t run_id,
                                 int (*fn)(void *ud, const struct store_no_https_row *row), void *ud)
{
    if (!fn)
        return NZ_EUSAGE;
    struct no_https_typed t = {fn, ud};
    return store_query_no_https_redirect(s, run_id, no_https_typed_row, &t);
}

bool store_ts_parse(const char *iso, uint64_t *ts_usec)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    unsigned usec = 0;
    if (!iso || sscanf(iso, "%d-%d-%dT%d:%d:%d.%uZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                       &tm.tm_sec, &usec) != 7)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *ts_usec = (uint64_t)timegm(&tm) * 1000000u + usec;
    return true;
}

/* counts[sev] (OUT, all 5 set) = findings of run_id (0 = all runs) per severity.
 * Returns 0, NZ_EUSAGE or NZ_EDB. */
int store_count_by_severity(struct store *s, int64_t run_id, uint64_t counts[NZ_SEV_COUNT])
{
    if (!s || !counts || run_id < 0)
        return NZ_EUSAGE;
    for (int i = 0; i < 5; i++)
        counts[i] = 0;
    sqlite3_stmt *st = s->stmt[STMT_COUNT_SEVERITY], *tmp = NULL;
    if (!st) { /* a read-only store prepares no statements */
        if (sqlite3_prepare_v2(s->db, "SELECT severity_rank, count(*) FROM findings WHERE run_id BETWEEN ?1 AND ?2"
                                      " GROUP BY severity_rank", -1, &tmp, NULL) != SQLITE_OK)
            return store_db_fail(s, "counting findings");
        st = tmp;
    }
    int rc = sqlite3_bind_int64(st, 1, run_id ? run_id : 1), ret = 0;
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, run_id ? run_id : INT64_MAX);
    if (rc != SQLITE_OK) {
        ret = store_db_fail(s, "binding run_id");
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t sev = sqlite3_column_int64(st, 0);
        if (sev >= 0 && sev <= NZ_SEV_CRITICAL)
            counts[sev] = (uint64_t)sqlite3_column_int64(st, 1);
    }
    if (rc != SQLITE_DONE)
        ret = store_db_fail(s, "counting findings");
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_finalize(tmp);
    return ret;
}

/* ---- arbitrary read-only SQL ---- */

/* PRAGMAs that only report: allowed with an argument (a table/index name) or without. */
static const char *const pragma_arg_ok[] = {
    "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
};
/* PRAGMAs allowed only without an argument (with one they would set something). */
static const char *const pragma_noarg_ok[] = {
    "user_version", "schema_version", "application_id", "page_count", "page_size",
    "freelist_count", "journal_mode", "encoding", "foreign_keys", "compile_options",
    "database_list", "table_list",
};

/* Functions never callable from `netzwacht sql`: fts3_tokenizer('simple') hands out a
 * pointer into this process (an address-space leak even with its two-argument form off);
 * load_extension() is off on the connection anyway. */
static const char *const func_denied[] = {"fts3_tokenizer", "load_extension"};

static bool in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(name, list[i]) == 0)
            return true;
    return false;
}

/* SQL function names are case-insensitive. */
static bool in_list_nocase(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; name && i < n; i++)
        if (sqlite3_stricmp(name, list[i]) == 0)
            return true;
    return false;
}

/* Authorizer while store_query_sql() prepares. Writes are caught by
 * sqlite3_stmt_readonly(); this denies what that function lets through: transaction
 * control (would commit or end the writer's batch), ATTACH/DETACH (opens or creates other
 * files) and PRAGMAs outside the informational allowlist. *ud (int) is set on a denial. */
static int ro_authorizer(void *ud, int action, const char *a1, const char *a2, const char *dbname,
                         const char *trigger)
{
    (void)dbname;
    (void)trigger;
    bool ok = true;
    switch (action) {
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
        ok = false;
        break;
    case SQLITE_PRAGMA:
        ok = in_list(a1, pragma_arg_ok, sizeof pragma_arg_ok / sizeof pragma_arg_ok[0]) ||
             (!a2 && in_list(a1, pragma_noarg_ok, sizeof pragma_noarg_ok / sizeof pragma_noarg_ok[0]));
        break;
    case SQLITE_FUNCTION: /* a2 is the function's name */
        ok = !in_list_nocase(a2, func_denied, sizeof func_denied / sizeof func_denied[0]);
        break;
    default:
        break;
    }
    if (!ok)
        *(int *)ud = 1;
    return ok ? SQLITE_OK : SQLITE_DENY;
}

/* Prepares the statement at *sql under the authorizer (which sets *denied); *st NULL at
 * the end of the text (only blanks/comments left). Advances *sql. Returns 0, NZ_EUSAGE (not read-only) or
 * NZ_EDB (syntax error etc.; logged). */
static int prepare_ro(struct store *s, int *denied, const char **sql, sqlite3_stmt **st)
{
    const char *tail = NULL;
    *st = NULL;
    *denied = 0;
    int rc = sqlite3_prepare_v2(s->db, *sql, -1, st, &tail);
    if (rc != SQLITE_OK) {
        if ((rc & 0xff) == SQLITE_AUTH || *denied) {
            nz_logf(s->log, NZ_LOG_ERR, "store: refused, only read-only SQL is allowed: %s", sqlite3_errmsg(s->db));
            return NZ_EUSAGE;
        }
        return store_db_fail(s, "SQL");
    }
    if (*st && !sqlite3_stmt_readonly(*st)) {
        nz_logf(s->log, NZ_LOG_ERR, "store: only read-only SQL is allowed: %s", sqlite3_sql(*st));
        sqlite3_finalize(*st);
        *st = NULL;
        return NZ_EUSAGE;
    }
    *sql = tail;
    return 0;
}

/* Runs each read-only statement in sql in order: set_fn (may be NULL) at the start of each
 * statement's result set, fn per row (a non-zero return from either stops and is returned).
 * If any statement would write (or control transactions, ATTACH, set a PRAGMA, call a
 * denied function) nothing runs and NZ_EUSAGE is returned (logged); SQL with no statement
 * is NZ_EUSAGE too. Other errors: NZ_EDB (logged), NZ_ENOMEM. Sees the open batch's rows. */
int store_query_sql(struct store *s, const char *sql, store_row_fn fn, void *ud)
{
    return store_query_sql_sets(s, sql, NULL, fn, ud);
}

int store_query_sql_sets(struct store *s, const char *sql, store_set_fn set_fn, store_row_fn fn, void *ud)
{
    sqlite3_stmt *st = NULL;
    int ret = 0, nstmt = 0, denied = 0;

    if (!s || !sql || !fn)
        return NZ_EUSAGE;
    if (sqlite3_set_authorizer(s->db, ro_authorizer, &denied) != SQLITE_OK)
        return store_db_fail(s, "sqlite3_set_authorizer");

    /* Pass 1: every statement must be read-only before anything runs. */
    for (const char *p = sql; *p;) {
        const char *before = p;
        ret = prepare_ro(s, &denied, &p, &st);
        if (ret != 0)
            goto out;
        if (!st)
            break;
        nstmt++;
        sqlite3_finalize(st);
        st = NULL;
        if (p == before)
            break;
    }
    if (nstmt == 0) {
        nz_logf(s->log, NZ_LOG_ERR, "store: no SQL statement given");
        ret = NZ_EUSAGE;
        goto out;
    }
    /* Pass 2: run them. */
    for (const char *p = sql; *p && ret == 0;) {
        const char *before = p;
        ret = prepare_ro(s, &denied, &p, &st);
        if (ret != 0 || !st)
            break;
        ret = run_rows(s, st, set_fn, fn, ud);
        sqlite3_finalize(st);
        st = NULL;
        if (p == before)
            break;
    }
out:
    sqlite3_finalize(st);
    /* The writer's cached statements may re-prepare later; never under this authorizer. */
    if (sqlite3_set_authorizer(s->db, NULL, NULL) != SQLITE_OK && ret == 0)
        ret = store_db_fail(s, "clearing the authorizer");
    return ret;
}
