/* cmd_query.c — read-side commands: findings, flows, tls, http, mail, servers, certs, runs,
 * kinds, sql. They open the database read-only (store_open_readonly): a query never creates,
 * migrates or writes a file. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dissect/x509.h"

#define KIND_ARG_MAX 128 /* longest --kind (store/query.c refuses longer prefixes) */

enum { QOPT_KIND = 4000, QOPT_SEV, QOPT_SINCE, QOPT_UNTIL, QOPT_HOST, QOPT_FORMAT, QOPT_RUN, QOPT_LIMIT,
       QOPT_PROTO, QOPT_DB, QOPT_SNI, QOPT_VERSION, QOPT_IP, QOPT_EXPIRED, QOPT_UNTRUSTED, QOPT_SHA256 };

/* Which command is parsing: decides which filters apply and what --host means. */
enum qmode { Q_FINDINGS, Q_FLOWS, Q_TLS, Q_HTTP, Q_MAIL, Q_CERTS };

static const struct option query_opts[] = {
    {"kind", required_argument, NULL, QOPT_KIND},
    {"severity", required_argument, NULL, QOPT_SEV},
    {"since", required_argument, NULL, QOPT_SINCE},
    {"until", required_argument, NULL, QOPT_UNTIL},
    {"host", required_argument, NULL, QOPT_HOST},
    {"format", required_argument, NULL, QOPT_FORMAT},
    {"run", required_argument, NULL, QOPT_RUN},
    {"limit", required_argument, NULL, QOPT_LIMIT},
    {"proto", required_argument, NULL, QOPT_PROTO},
    {"sni", required_argument, NULL, QOPT_SNI},
    {"version", required_argument, NULL, QOPT_VERSION},
    {"ip", required_argument, NULL, QOPT_IP},
    {"server", required_argument, NULL, QOPT_IP},
    {"db", required_argument, NULL, QOPT_DB},
    {"expired", no_argument, NULL, QOPT_EXPIRED},
    {"untrusted", no_argument, NULL, QOPT_UNTRUSTED},
    {"sha256", required_argument, NULL, QOPT_SHA256},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* "prog: message\n" on stderr with the message escaped for the terminal (it quotes paths
 * and values from outside). */
static void errf(const struct cli_global *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errf(const struct cli_global *g, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cli_fputs_esc(g->prog, stderr); /* argv[0] is from outside too */
    fputs(": ", stderr);
    cli_fputs_esc(buf, stderr);
    fputc('\n', stderr);
}

/* What a command needs of the database's schema version. */
enum need { NEED_CURRENT, /* the listing commands: their SQL is written for this version */
            NEED_ANY };   /* sql: the user's SQL reads whatever version it is */

/* Opens the database read-only: never creates, migrates or writes it (store_open_readonly).
 * A database of another schema version is refused for NEED_CURRENT (with what to do) and
 * noted for NEED_ANY. Returns NULL after printing why. */
static struct store *open_existing(struct cli_global *g, struct nz_log *log, enum need need)
{
    int err = 0;
    struct store *s = store_open_readonly(g->db, log, &err);
    if (!s) {
        /* Every other failure was logged with the path and the reason. */
        if (err == NZ_ENOMEM || err == NZ_EUSAGE)
            errf(g, "cannot open database %s: %s", g->db, nz_strerror(err));
        return NULL;
    }
    int v = store_schema_version(s), latest = store_schema_latest();
    if (v < 0) {
        store_close(s);
        return NULL; /* logged */
    }
    if (v == latest)
        return s;
    if (need == NEED_ANY) {
        errf(g, "note: %s has netzwacht schema v%d (this netzwacht: v%d); it is read as it is, not migrated", g->db,
             v, latest);
        return s;
    }
    if (v < latest)
        errf(g,
             "%s has netzwacht schema v%d, older than this netzwacht's v%d; 'netzwacht analyze' would migrate it"
             " (query commands never change a database); 'netzwacht sql' reads it as it is",
             g->db, v, latest);
    else
        errf(g,
             "%s has netzwacht schema v%d, newer than this netzwacht (v%d); use a newer netzwacht"
             " ('netzwacht sql' reads it as it is)",
             g->db, v, latest);
    store_close(s);
    return NULL;
}

/* After a query: reports a failure the store did not already report, and a failed write of
 * the results (eno: errno right after out_finish()). Returns the exit code. */
static int query_done(struct cli_global *g, int rc, long rows, int eno)
{
    if (rc == NZ_EUSAGE) /* sql: the store logged why (read-only refusal, no statement) */
        return EXIT_USAGE;
    if (rc == NZ_ENOMEM) {
        errf(g, "out of memory");
        return EXIT_RUNTIME;
    }
    if (rows < 0 || rc == NZ_EIO) {
        errf(g, "cannot write the results: %s", eno ? strerror(eno) : "output error");
        return EXIT_RUNTIME;
    }
    if (rc == NZ_EDB) /* the store logged SQLite's message */
        return EXIT_RUNTIME;
    if (rc != 0) {
        errf(g, "query failed: %s", nz_strerror(rc));
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

/* ISO-8601 prefixes compare as text: accept "2026-11-29", "2026-11-29T03:55", full forms. */
static bool iso_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 4 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789-:T.Z", s[i]))
            return false;
    return true;
}

struct qargs {
    struct store_filter f;
    enum out_fmt fmt;
    char fp[65]; /* --sha256, normalised */
};

/* --sha256: 8 to 64 hex digits, either case, optionally in pairs separated by ':' as
 * posttls-finger and openssl print fingerprints; out[65] gets them in lowercase. */
static bool fingerprint_parse(const char *s, char out[65])
{
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (c == ':' && p != s && p[1] && p[1] != ':')
            continue;
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || n >= 64)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return n >= 8;
}

/* Parses the shared query options. Returns -1 to exit with usage, 1 for --help, 0 ok. */
static int parse_query(struct cli_global *g, int argc, char **argv, struct qargs *q, enum qmode mode)
{
    bool findings = mode == Q_FINDINGS;
    memset(q, 0, sizeof *q);
    q->f.min_severity = -1;
    q->fmt = OUT_TABLE;
    int opt;
    unsigned long long v;
    opterr = 0; /* getopt would print the offending argument unescaped */
    while ((opt = getopt_long(argc, argv, ":hv", query_opts, NULL)) != -1) {
        switch (opt) {
        case QOPT_KIND:
            if (!findings)
                goto notfor;
            if (strlen(optarg) > KIND_ARG_MAX) {
                errf(g, "--kind: at most %d characters", KIND_ARG_MAX);
                return -1;
            }
            q->f.kind = optarg;
            break;
        case QOPT_SEV: {
            enum nz_severity s;
            if (!findings)
                goto notfor;
            if (nz_severity_parse(optarg, &s)) {
                errf(g, "--severity: unknown '%s' (info|low|medium|high|critical)", optarg);
                return -1;
            }
            q->f.min_severity = (int)s;
            break;
        }
        case QOPT_SINCE:
        case QOPT_UNTIL:
            if (mode == Q_CERTS)
                goto notfor;
            if (!iso_ok(optarg)) {
                errf(g, "--%s wants an ISO-8601 UTC time like 2026-11-29T03:55:00", opt == QOPT_SINCE ? "since" : "until");
                return -1;
            }
            if (opt == QOPT_SINCE)
                q->f.since = optarg;
            else
                q->f.until = optarg;
            break;
        case QOPT_HOST:
            if (mode == Q_HTTP)
                q->f.http_host = optarg; /* `http --host` is the HTTP Host name */
            else
                q->f.host = optarg;
            break;
        case QOPT_IP:
            if (mode == Q_CERTS)
                goto notfor;
            q->f.host = optarg;
            break;
        case QOPT_EXPIRED:
        case QOPT_UNTRUSTED:
            if (mode != Q_CERTS)
                goto notfor;
            if (opt == QOPT_EXPIRED)
                q->f.expired = true;
            else
                q->f.untrusted = true;
            break;
        case QOPT_SHA256:
            if (mode != Q_CERTS)
                goto notfor;
            if (!fingerprint_parse(optarg, q->fp)) {
                errf(g, "--sha256 wants 8 to 64 hex digits of a SHA-256 (the certificate's or its key's; ':' between"
                        " pairs allowed), got '%s'", optarg);
                return -1;
            }
            q->f.fingerprint = q->fp;
            break;
        case QOPT_PROTO:
            if (mode != Q_FLOWS)
                goto notfor;
            q->f.proto = optarg;
            break;
        case QOPT_SNI:
            if (mode != Q_TLS)
                goto notfor;
            q->f.sni = optarg;
            break;
        case QOPT_VERSION:
            if (mode != Q_TLS)
                goto notfor;
            q->f.tls_version = optarg;
            break;
        case QOPT_FORMAT:
            if (out_parse_fmt(optarg, &q->fmt)) {
                errf(g, "--format: table, json or csv");
                return -1;
            }
            break;
        case QOPT_RUN:
            if (cli_parse_uint(optarg, (unsigned long long)INT64_MAX, &v)) {
                errf(g, "--run wants a run id");
                return -1;
            }
            q->f.run_id = (int64_t)v;
            break;
        case QOPT_LIMIT:
            if (cli_parse_uint(optarg, (unsigned long long)INT64_MAX, &v)) {
                errf(g, "--limit wants a number");
                return -1;
            }
            q->f.limit = (int64_t)v;
            break;
        case QOPT_DB: g->db = optarg; break;
        case 'v': g->verbose++; break;
        case 'h': return 1;
        case ':':
            errf(g, "option '%s' needs a value", argv[optind - 1]);
            return -1;
        default:
            errf(g, "unknown option '%s'", argv[optind - 1]);
            return -1;
        }
        continue;
    notfor:
        errf(g, "option not valid for this command");
        return -1;
    }
    if (optind < argc) {
        errf(g, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (mode == Q_CERTS)
        q->f.name_match = x509_list_matches; /* --host: RFC 6125, as the name verdicts judge */
    return 0;
}

typedef int (*query_fn)(struct store *, const struct store_filter *, store_row_fn, void *);

/* One listing command: its filters, its help, the store query and the table columns. */
struct qcmd {
    enum qmode mode;
    const char *help;
    query_fn fn;
    const char *const *show; /* columns of the table format; json/csv show all */
    const char *noun;        /* "(N findings)" under a table */
};

static int run_qcmd(struct cli_global *g, int argc, char **argv, const struct qcmd *c)
{
    struct qargs q;
    int r = parse_query(g, argc, argv, &q, c->mode);
    if (r) {
        fputs(c->help, r > 0 ? stdout : stderr);
        return r > 0 ? EXIT_OK : EXIT_USAGE;
    }
    struct nz_log log = cli_log(g);
    struct store *st = open_existing(g, &log, NEED_CURRENT);
    if (!st)
        return EXIT_RUNTIME;
    struct out *o = out_new(q.fmt, stdout, c->show);
    int rc = o ? c->fn(st, &q.f, out_row, o) : NZ_ENOMEM;
    errno = 0;
    long rows = out_finish(o);
    if (rc == 0 && rows >= 0 && q.fmt == OUT_TABLE) {
        printf("(%ld %s)\n", rows, c->noun);
        if (fflush(stdout) != 0 || ferror(stdout))
            rows = -1;
    }
    int eno = errno;
    store_close(st);
    if (rc == NZ_EUSAGE) { /* a filter the store refused (the options are checked before) */
        errf(g, "invalid filter");
        return EXIT_USAGE;
    }
    return query_done(g, rc, rows, eno);
}

static const char *const findings_cols[] = {"ts", "severity", "kind", "client_ip", "server_ip", "server_port",
                                             "summary", NULL};
static const char *const flows_cols[] = {"id", "first_ts", "client_ip", "client_port", "server_ip", "server_port",
                                         "app_proto", "pkts_c2s", "pkts_s2c", "bytes_c2s", "bytes_s2c",
                                         "end_reason", NULL};
static const char *const tls_cols[] = {"ts", "client_ip", "server_ip", "server_port", "started_by", "sni",
                                       "version", "cipher", "ja3", "ja4", NULL};
static const char *const http_cols[] = {"ts", "client_ip", "server_ip", "server_port", "method", "host", "path",
                                        "status", "content_type", "location", NULL};
static const char *const mail_cols[] = {"ts", "protocol", "client_ip", "server_ip", "server_port", "greeting_host",
                                        "starttls_offered", "starttls_requested", "starttls_reply_code",
                                        "tls_version", "auth_mech", "auth_user", "messages", NULL};
static const char *const servers_cols[] = {"server_ip", "server_port", "protocol", "sessions", "first_seen",
                                           "last_seen", "starttls_offered", "starttls_accepted", "starttls_refused",
                                           "tls_established", "tls_versions", "plaintext_logins",
                                           "findings_medium_up", "security_level", "security_levels",
                                           "leaf_subject_cn", "leaf_issuer_cn", "leaf_sha256", "leaf_spki_sha256",
                                           NULL};
static const char *const certs_cols[] = {"sha256", "subject_cn", "issuer_cn", "not_before", "not_after", "validity",
                                         "key", "san_dns", "spki_sha256", "first_seen", "last_seen", "servers",
                                         "positions", "trust", NULL};

int cmd_findings(struct cli_global *g, int argc, char **argv)
{
    static const struct qcmd c = {Q_FINDINGS,
    "usage: netzwacht findings [options]\n"
    "Lists findings, oldest first.\n\n"
    "  --kind K           exact kind (tls.weak_cipher) or a prefix ending in '.' (tls.)\n"
    "  --severity S       at or above S: info, low, medium, high, critical\n"
    "  --since T, --until T  ISO-8601 UTC bounds on the finding time (packet time)\n"
    "  --host IP          client or server address\n"
    "  --run ID           only this run\n"
    "  --limit N          at most N rows\n"
    "  --format F         table (default), json (one object per line), csv\n"
    "  --db PATH          database (default ./netzwacht.db)\n",
        store_query_findings, findings_cols, "findings"};
    return run_qcmd(g, argc, argv, &c);
}

int cmd_flows(struct cli_global *g, int argc, char **argv)
{
    static const struct qcmd c = {Q_FLOWS,
    "usage: netzwacht flows [options]\n"
    "Lists TCP flows, oldest first.\n\n"
    "  --host IP          client or server address\n"
    "  --proto P          application protocol label (TLS, HTTP, SMTP, ...)\n"
    "  --since T, --until T  ISO-8601 UTC bounds on the flow start (packet time)\n"
    "  --run ID, --limit N, --format table|json|csv, --db PATH\n",
        store_query_flows, flows_cols, "flows"};
    return run_qcmd(g, argc, argv, &c);
}

int cmd_tls(struct cli_global *g, int argc, char **argv)
{
    static const struct qcmd c = {Q_TLS,
    "usage: netzwacht tls [options]\n"
    "Lists TLS handshakes (also those started by STARTTLS), oldest first.\n\n"
    "  --sni NAME         server name (SNI) equals\n"
    "  --version V        negotiated version: SSLv2 SSLv3 TLSv1.0 TLSv1.1 TLSv1.2 TLSv1.3\n"
    "  --ip IP            client or server address\n"
    "  --since T, --until T, --run ID, --limit N, --format table|json|csv, --db PATH\n",
        store_query_tls, tls_cols, "TLS sessions"};
    return run_qcmd(g, argc, argv, &c);
}

int cmd_http(struct cli_global *g, int argc, char **argv)
{
    static const struct qcmd c = {Q_HTTP,
    "usage: netzwacht http [options]\n"
    "Lists plaintext HTTP requests (paths without query strings), oldest first.\n\n"
    "  --host NAME        HTTP Host equals\n"
    "  --ip IP            client or server address\n"
    "  --since T, --until T, --run ID, --limit N, --format table|json|csv, --db PATH\n",
        store_query_http, http_cols, "HTTP requests"};
    return run_qcmd(g, argc, argv, &c);
}

int cmd_mail(struct cli_global *g, int argc, char **argv)
{
    static const struct qcmd c = {Q_MAIL,
    "usage: netzwacht mail [options]\n"
    "Lists SMTP/IMAP/POP3 sessions: STARTTLS offered/requested/reply, the TLS that followed,\n"
    "logins in clear (user names only), oldest first.\n\n"
    "  --server IP        server address (also --ip: client or server)\n"
    "  --since T, --until T, --run ID, --limit N, --format table|json|csv, --db PATH\n",
        store_query_mail, mail_cols, "mail sessions"};
    return run_qcmd(g, argc, argv, &c);
}

int cmd_servers(struct cli_global *g, int argc, char **argv)
{
    static const struct qcmd c = {Q_MAIL,
    "usage: netzwacht servers [options]\n"
    "One line per mail server (address, port, protocol): sessions seen, first and last seen,\n"
    "STARTTLS offered / requested / accepted / refused, TLS established, versions and ciphers\n"
    "negotiated, logins in clear, findings at medium or above; the security level of the latest\n"
    "session (none, encrypt, untrusted, trusted, verified) and every change of level with the time\n"
    "it was first seen; the latest leaf certificate's subject and issuer CN, SHA-256 and SPKI SHA-256.\n\n"
    "  --server IP        this server only\n"
    "  --run ID, --format table|json|csv, --db PATH\n",
        store_query_servers, servers_cols, "servers"};
    return run_qcmd(g, argc, argv, &c);
}

int cmd_certs(struct cli_global *g, int argc, char **argv)
{
    static const struct qcmd c = {Q_CERTS,
    "usage: netzwacht certs [options]\n"
    "Lists each certificate seen in clear once (by the SHA-256 of its DER), first seen first: names,\n"
    "validity, key, SAN dNSNames, SPKI SHA-256, first and last seen, the servers that presented it,\n"
    "its positions in their chains (leaf, intermediate, root) and the trust outcomes of those sessions.\n"
    "Validity is judged at the database's last packet time, never this machine's clock.\n\n"
    "  --expired          expired or not yet valid at the database's last packet time\n"
    "  --untrusted        presented in a session whose chain did not verify\n"
    "  --host H           a SAN dNSName or subject CN matches H (RFC 6125 wildcards), a SAN\n"
    "                     iPAddress equals H, or server H presented it\n"
    "  --sha256 X         SHA-256 of the certificate or of its key (SPKI), or a prefix of at least\n"
    "                     8 hex digits (':' between pairs allowed)\n"
    "  --run ID           presented in this run\n"
    "  --limit N, --format table|json|csv, --db PATH\n",
        store_query_certs, certs_cols, "certificates"};
    return run_qcmd(g, argc, argv, &c);
}

static int run_sql(struct cli_global *g, const char *sql, enum out_fmt fmt, const char *const *show, enum need need)
{
    struct nz_log log = cli_log(g);
    struct store *st = open_existing(g, &log, need);
    if (!st)
        return EXIT_RUNTIME;
    struct out *o = out_new(fmt, stdout, show);
    int rc = o ? store_query_sql_sets(st, sql, out_set, out_row, o) : NZ_ENOMEM;
    errno = 0;
    long rows = out_finish(o);
    int eno = errno;
    store_close(st);
    return query_done(g, rc, rows, eno);
}

int cmd_runs(struct cli_global *g, int argc, char **argv)
{
    struct qargs q;
    int r = parse_query(g, argc, argv, &q, Q_FLOWS);
    if (r) {
        fputs("usage: netzwacht runs [--format table|json|csv] [--db PATH]\nLists analysis runs and their counters.\n",
              r > 0 ? stdout : stderr);
        return r > 0 ? EXIT_OK : EXIT_USAGE;
    }
    static const char *const show[] = {"id", "mode", "source", "first_ts", "last_ts", "packets", "flows",
                                       "findings", "malformed", "pcap_drop", NULL};
    return run_sql(g, "SELECT * FROM runs ORDER BY id", q.fmt, show, NEED_CURRENT);
}

int cmd_sql(struct cli_global *g, int argc, char **argv)
{
    enum out_fmt fmt = OUT_TABLE;
    int opt;
    static const struct option o[] = {{"format", required_argument, NULL, QOPT_FORMAT},
                                      {"db", required_argument, NULL, QOPT_DB},
                                      {"help", no_argument, NULL, 'h'},
                                      {NULL, 0, NULL, 0}};
    opterr = 0; /* getopt would print the offending argument unescaped */
    while ((opt = getopt_long(argc, argv, ":h", o, NULL)) != -1) {
        if (opt == QOPT_FORMAT && out_parse_fmt(optarg, &fmt) == 0)
            continue;
        if (opt == QOPT_DB) {
            g->db = optarg;
            continue;
        }
        if (opt == ':')
            errf(g, "option '%s' needs a value", argv[optind - 1]);
        else if (opt == '?')
            errf(g, "unknown option '%s'", argv[optind - 1]);
        else if (opt == QOPT_FORMAT)
            errf(g, "--format: table, json or csv");
        fputs("usage: netzwacht sql [--format table|json|csv] [--db PATH] 'SELECT ...'\n",
              opt == 'h' ? stdout : stderr);
        return opt == 'h' ? EXIT_OK : EXIT_USAGE;
    }
    if (optind + 1 != argc) {
        fputs("usage: netzwacht sql [--format table|json|csv] [--db PATH] 'SELECT ...'\n", stderr);
        return EXIT_USAGE;
    }
    return run_sql(g, argv[optind], fmt, NULL, NEED_ANY);
}

int cmd_kinds(struct cli_global *g, int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        puts("usage: netzwacht kinds\nLists every finding kind, its default severity and meaning.");
        return EXIT_OK;
    }
    if (argc > 1) {
        char b[256];
        fprintf(stderr, "%s: kinds takes no arguments (got '%s')\n", g->prog, cli_esc(argv[1], b, sizeof b));
        return EXIT_USAGE;
    }
    for (int k = 0; k < FK_COUNT; k++) {
        const struct finding_kind_info *ki = finding_kind_info((enum finding_kind)k);
        printf("%-34s %-8s %s\n", ki->name, nz_severity_name(ki->severity), ki->desc);
    }
    return EXIT_OK;
}
