/* store.h — netzwacht's SQLite database: runs, analysed files, flows, findings.
 *
 * WAL mode, synchronous=NORMAL, prepared statements cached per store, rows batched in
 * one BEGIN IMMEDIATE … COMMIT per STORE_BATCH_ROWS rows (or on store_commit()).
 * Schema version in PRAGMA user_version; older databases are migrated forward in order
 * (migrate.c), never recreated; a database from a newer netzwacht is refused.
 * Knows SQLite and struct finding; knows nothing about packets. */
#ifndef NZ_STORE_H
#define NZ_STORE_H

#include "core/finding.h"

#define STORE_BATCH_ROWS 2000 /* rows per transaction: amortises fsync, bounds lost work */
#define STORE_BUSY_MS 5000    /* wait this long for a lock held by another process */

struct store;

/* Opens (creating if needed) and migrates the database at `path` (":memory:" works).
 * The connection has no mutex of its own (SQLITE_OPEN_NOMUTEX): one thread at a time uses a
 * store (the engine's writer, or the command between engine_store_lock/unlock).
 * On failure returns NULL, *err = NZ_EDB/NZ_EIO/NZ_EUNSUPPORTED (newer schema), and logs
 * SQLite's message. `log` is borrowed for the store's lifetime (may be NULL). */
struct store *store_open(const char *path, const struct nz_log *log, int *err /* OUT */);
/* store_open with flags: STORE_OPEN_NOFOLLOW refuses a path with a symbolic link in any
 * component (SQLITE_OPEN_NOFOLLOW; the -wal/-shm/-journal files are always opened O_NOFOLLOW). */
#define STORE_OPEN_NOFOLLOW 0x1u
struct store *store_open_ex(const char *path, unsigned flags, const struct nz_log *log, int *err /* OUT */);
/* Opens an existing database for reading only, for the query commands. Never creates,
 * migrates or writes anything: SQLITE_OPEN_READONLY plus PRAGMA query_only; a symbolic link
 * is refused (SQLITE_OPEN_NOFOLLOW). A WAL database whose -wal file is absent (cleanly closed)
 * is read as an immutable snapshot, so no -wal/-shm file is created; with its -wal present it
 * is read through the WAL (the -shm is only read when it exists; SQLite creates it only when
 * the -wal is there without it). The schema version is not checked against this code: the
 * caller compares store_schema_version() with store_schema_latest().
 * On failure returns NULL with *err = NZ_EUSAGE (path NULL), NZ_ENOMEM, NZ_EIO (no file at
 * path, a link, not a regular file, unreadable), NZ_EDB (not SQLite, damaged) or
 * NZ_EUNSUPPORTED (SQLite, but not a netzwacht database: no `runs`/`findings` tables or
 * user_version 0); every case but NZ_ENOMEM/NZ_EUSAGE is logged with the path. Write
 * functions on such a store fail. */
struct store *store_open_readonly(const char *path, const struct nz_log *log, int *err /* OUT */);
/* Commits pending rows and closes. Returns 0 or NZ_EDB (pending rows are then lost; rows
 * committed earlier are kept). NULL is a no-op returning 0. */
int store_close(struct store *s);
/* Schema version the code writes (the latest migration). */
int store_schema_latest(void);
/* PRAGMA user_version of the open database, or NZ_EDB/NZ_EUSAGE. */
int store_schema_version(struct store *s);
/* What went wrong last (for messages): the last failure the store logged, else SQLite's
 * last error; never SQLite's "not an error". */
const char *store_errmsg(struct store *s);

/* A run = one `analyze` or `watch` invocation. */
struct store_run {
    const char *source;        /* comma-joined inputs or the interface name */
    const char *mode;          /* "file" or "live" */
    const char *filter;        /* BPF expression or NULL */
    const char *version;       /* netzwacht version */
};
int store_run_begin(struct store *s, const struct store_run *r, int64_t *run_id /* OUT */);

struct store_run_stats {
    uint64_t first_usec, last_usec; /* packet times; 0 = no packets */
    uint64_t packets, bytes;        /* frames read / their wire bytes */
    uint64_t tcp_packets;
    uint64_t malformed;             /* frames counted as malformed/truncated */
    uint64_t pcap_recv, pcap_drop, pcap_ifdrop; /* libpcap counters (live); 0 offline */
    uint64_t flows, flows_evicted;
    uint64_t findings;
    uint64_t queue_full;            /* a producer found an engine queue full and waited */
    const char *counters_json;      /* every counter by reason, JSON object text; may be NULL */
    bool finished;                  /* the run ended (false for periodic updates) */
};
/* Updates the run row (called periodically and at the end). */
int store_run_update(struct store *s, int64_t run_id, const struct store_run_stats *st);

/* Content-hash dedup of input files (engine/dedup.h): a hash is 64 hex digits; files.hash_alg
 * names the algorithm of each row. The rows this code writes hold STORE_FILE_HASH_ALG; rows of
 * schema v5/v6 'blake2b-256'; rows written before schema v5 SHA-256 with hash_alg NULL and no
 * pre-key (see store_file_legacy_count). Lookups are by the hash alone (the algorithms are
 * collision-resistant: a value found is the file's, whatever algorithm wrote it).
 * *run_id = run that analysed it, 0 if never. */
#define STORE_FILE_HASH_ALG "blake3"
int store_file_lookup(struct store *s, const char *sha256hex, int64_t *run_id /* OUT */);
int store_file_add(struct store *s, int64_t run_id, const char *path, const char *sha256hex,
                   uint64_t size);
/* The algorithms of the rows with this pre-key (64 hex chars), as STORE_ALG_* bits in *algs
 * (0: the pre-key is unknown); a row with an algorithm this code does not know sets
 * STORE_ALG_OTHER. / Records the pre-key on the file's row. */
enum { STORE_ALG_BLAKE3 = 1, STORE_ALG_BLAKE2B = 2, STORE_ALG_SHA256 = 4, STORE_ALG_OTHER = 8 };
int store_file_quick_algs(struct store *s, const char *quick, unsigned *algs /* OUT */);
int store_file_set_quick(struct store *s, const char *sha256hex, const char *quick);
/* Rows whose content hash is a SHA-256 (written before schema v5). */
int store_file_legacy_count(struct store *s, int64_t *n /* OUT */);
/* Removes an earlier analysis of this hash (its run's rows for that file) for --force. */
int store_file_forget(struct store *s, const char *sha256hex);

/* A file an `analyze` run read (to its end or to its damage), to be recorded when the run ends. */
struct store_file_rec {
    const char *path;      /* as given (borrowed; may be NULL) */
    char hash[65];         /* its STORE_FILE_HASH_ALG hash, 64 hex digits */
    char quick[65];        /* pre-key (engine/dedup.h), "" if none */
    uint64_t size;
};
enum store_finish {
    STORE_FINISHED,        /* files recorded, run marked finished */
    STORE_RUN_REMOVED,     /* every file had been recorded by another run meanwhile: this run's
                              rows and the run were deleted (they only repeated that run's) */
    STORE_RUN_REFUSED      /* some files had been recorded by another run meanwhile, others not:
                              nothing recorded, the run keeps its rows and stays unfinished */
};
/* Ends an `analyze` run in ONE transaction, so that a file counts as analysed exactly when the
 * run that stored its rows finished: looks up each file's hash (another process may have
 * recorded it since this run began), then either records every file and writes `stats` with
 * finished = 1, or handles the clash as *outcome says. With `force` a clashing file's earlier
 * analysis is forgotten (store_file_forget) instead and the run finishes. `run_has_more`: the
 * run read inputs that are not in `files` (standard input, pipes), whose rows must never be
 * deleted. clash_run[i] (OUT, n entries) = the other run that had recorded files[i], else 0.
 * Returns 0 (*outcome set), NZ_EUSAGE, or NZ_EDB (rolled back: nothing recorded, the run stays
 * unfinished, rows committed before are kept). */
int store_file_finish_run(struct store *s, int64_t run_id, const struct store_run_stats *stats,
                          const struct store_file_rec *files, size_t n, bool force, bool run_has_more,
                          int64_t *clash_run /* OUT */, enum store_finish *outcome /* OUT */);

struct store_flow {
    const char *client_ip, *server_ip;
    uint16_t client_port, server_port;
    int ip_version;
    const char *app_proto;     /* our dissector's label, else nDPI's; may be NULL */
    const char *ndpi_proto;    /* nDPI's label; may be NULL */
    const char *orient;        /* flow_orient_name() */
    const char *end_reason;    /* flow_end_name(); NULL while open */
    uint64_t first_usec, last_usec;
    uint64_t pkts[2], bytes[2], payload[2]; /* [0] client→server, [1] server→client */
    uint64_t gaps, gap_bytes, overlaps, overlap_diff, retrans; /* both directions */
};
/* Inserts (*flow_id == 0; sets it) or updates (*flow_id != 0) a flow row. */
int store_flow_put(struct store *s, int64_t run_id, const struct store_flow *f, int64_t *flow_id /* IN/OUT */);

struct store_endpoints {
    const char *client_ip, *server_ip; /* may be NULL */
    uint16_t client_port, server_port;
};
int store_finding_add(struct store *s, int64_t run_id, int64_t flow_id /* 0 = none */,
                      const struct finding *f, const struct store_endpoints *ep);

/* ---- certificates (certs.c, schema v8) ----
 * Text fields are NUL-terminated, NULL or "" binds NULL. */
struct store_cert {
    const char *sha256, *spki_sha256;          /* lowercase hex */
    const char *subject, *issuer, *subject_cn, *issuer_cn, *serial;
    const char *san_dns, *san_ip;              /* comma-joined, all of them */
    int64_t n_san_dns;
    const char *not_before, *not_after;        /* "YYYY-MM-DDTHH:MM:SSZ" */
    const char *key_type, *key_curve, *sig_alg;
    int64_t key_bits;                          /* 0 unknown */
    int is_ca, path_len;                       /* -1 absent */
    const char *key_usage, *ext_key_usage;
    bool parsed;                               /* a decoder read it (else only the hash/DER) */
    int self_issued, version;
    const char *parsed_by, *parse_error;
    const uint8_t *der;
    size_t der_len;
    uint64_t seen_usec;                        /* packet time it was seen */
};
/* Inserts the certificate, or widens its first/last seen (packet time) and sets last_run. */
int store_cert_put(struct store *s, int64_t run_id, const struct store_cert *c);
/* A stored certificate seen again, between first_usec and last_usec (packet time): its
 * first/last seen widen to include them. */
int store_cert_seen(struct store *s, int64_t run_id, const char *sha256, uint64_t first_usec, uint64_t last_usec);
/* A chain (chain_sha256 = SHA-256 over the certificates' SHA-256s), position 0 the leaf;
 * kept once. */
int store_chain_put(struct store *s, const char *chain_sha256, const char *const *cert_sha256, size_t n);
/* The security level of the mail session of this flow that started TLS. */
int store_mail_level_set(struct store *s, int64_t run_id, int64_t flow_id, const char *level);

/* DROWN: a TLS session whose certificate key (SPKI) the database has also seen in an SSLv2
 * session; one row per TLS server (address, port) and key, with the first SSLv2 session;
 * only pairs one side of which belongs to run_id. Texts are valid during the callback. */
struct store_drown_row {
    int64_t tls_id, flow_id;
    const char *client_ip, *server_ip;
    uint16_t client_port, server_port;
    const char *ts, *version, *spki_sha256;
    int64_t sslv2_id, sslv2_run_id;
    const char *sslv2_server_ip, *sslv2_ts;
    uint16_t sslv2_server_port;
};
/* Calls fn per row (non-zero from fn stops). Returns 0 or NZ_EDB. */
int store_drown_rows(struct store *s, int64_t run_id, int (*fn)(void *ud, const struct store_drown_row *row),
                     void *ud);

/* ---- protocol records (records.c) ----
 *
 * The store owns the record tables, their columns and their SQL; a caller (the engine) hands
 * each row over as column values, in the order of the table's column list below. run_id and
 * flow_id (the flows row; 0 = none, stored as NULL) are given apart. The INSERT of each table
 * is prepared once per store and reused. */
enum store_table { STORE_TBL_TLS, STORE_TBL_HTTP, STORE_TBL_MAIL, STORE_TBL_COUNT };

/* How a value is bound:
 *  STORE_V_NULL  SQL NULL;
 *  STORE_V_INT   the integer i;
 *  STORE_V_TEXT  the text s of at most n bytes (cut at a NUL before); NULL or "" binds NULL
 *                ("not seen");
 *  STORE_V_TS    a packet time, (uint64_t)i microseconds, as ISO-8601 text (store_ts_iso);
 *                0 binds NULL. */
enum store_val_type { STORE_V_NULL, STORE_V_INT, STORE_V_TEXT, STORE_V_TS };
struct store_val {
    enum store_val_type t;
    int64_t i;
    const char *s;             /* borrowed for the call */
    size_t n;
};

/* The columns of each record table after run_id and flow_id: X(ENUM_SUFFIX, column). The
 * enums STORE_TLS_<X>, STORE_HTTP_<X>, STORE_MAIL_<X> index a row's values; *_NCOLS counts
 * them. */
#define STORE_TLS_COLUMNS(X)                                                                        \
    X(TS, ts) X(TS_SERVER, ts_server) X(STARTED_BY, started_by)                                       \
    X(HANDSHAKE_COMPLETE, handshake_complete) X(VERSION, version) X(VERSION_CODE, version_code)       \
    X(CIPHER, cipher) X(CIPHER_CODE, cipher_code) X(COMPRESSION, compression)                         \
    X(CLIENT_VERSION, client_version) X(CLIENT_VERSIONS, client_versions) X(SNI, sni)                 \
    X(ALPN_OFFERED, alpn_offered) X(ALPN_CHOSEN, alpn_chosen) X(GROUPS_OFFERED, groups_offered)       \
    X(KEY_SHARE_GROUPS, key_share_groups) X(GROUP_CHOSEN, group_chosen) X(DHE_BITS, dhe_bits)         \
    X(RESUMED, resumed) X(DOWNGRADE_SENTINEL, downgrade_sentinel) X(FALLBACK_SCSV, fallback_scsv)     \
    X(RENEGOTIATION_INFO, renegotiation_info) X(HEARTBEAT, heartbeat) X(ECH, ech) X(JA3, ja3)         \
    X(JA3_STRING, ja3_string) X(JA3S, ja3s) X(JA3S_STRING, ja3s_string) X(JA4, ja4) X(JA4_R, ja4_r)   \
    X(ALERTS, alerts) X(CERT_COUNT, cert_count) X(CERT_SIZES, cert_sizes)                             \
    X(CLIENT_EXTENSIONS, client_extensions) X(SERVER_EXTENSIONS, server_extensions)                   \
    X(CIPHERS_OFFERED, ciphers_offered) X(CERT_SUBJECT, cert_subject) X(CERT_ISSUER, cert_issuer)     \
    X(CERT_NOT_BEFORE, cert_not_before) X(CERT_NOT_AFTER, cert_not_after) X(CERT_KEY, cert_key)       \
    X(CERT_SIG_ALG, cert_sig_alg) X(CERT_SAN, cert_san) X(CERT_SELF_SIGNED, cert_self_signed)         \
    X(CERT_SHA256, cert_sha256) X(CHAIN_SHA256, chain_sha256) X(CERT_SPKI_SHA256, cert_spki_sha256)  \
    X(TRUST, trust)                                                                                   \
    X(TRUST_REASON, trust_reason) X(NAME_CHECKED, name_checked) X(NAME_SOURCE, name_source)           \
    X(NAME_MATCH, name_match) X(SECURITY_LEVEL, security_level)
#define STORE_HTTP_COLUMNS(X)                                                                       \
    X(TS, ts) X(METHOD, method) X(HOST, host) X(PORT, port) X(PATH, path) X(STATUS, status)           \
    X(CONTENT_TYPE, content_type) X(REQUEST_CONTENT_TYPE, request_content_type) X(LOCATION, location) \
    X(USER_AGENT, user_agent) X(AUTH_SCHEME, auth_scheme) X(AUTH_USER, auth_user)                     \
    X(FORM_FIELD, form_field) X(URL_USER, url_user) X(URL_PARAM, url_param)                           \
    X(COOKIE_NAMES, cookie_names) X(REQUEST_BODY_BYTES, request_body_bytes)                           \
    X(RESPONSE_BODY_BYTES, response_body_bytes) X(FLAGS, flags)
#define STORE_MAIL_COLUMNS(X)                                                                       \
    X(TS, ts) X(TS_END, ts_end) X(PROTOCOL, protocol) X(CLIENT_IP, client_ip)                         \
    X(CLIENT_PORT, client_port) X(SERVER_IP, server_ip) X(SERVER_PORT, server_port)                   \
    X(GREETING, greeting) X(GREETING_HOST, greeting_host) X(HELO, helo) X(CAPABILITIES, capabilities) \
    X(AUTH_MECHS, auth_mechs) X(STARTTLS_OFFERED, starttls_offered)                                   \
    X(STARTTLS_REQUESTED, starttls_requested) X(STARTTLS_REPLY_CODE, starttls_reply_code)             \
    X(STARTTLS_REPLY, starttls_reply) X(STARTTLS_ACCEPTED, starttls_accepted)                         \
    X(TLS_STARTED, tls_started) X(AUTH_MECH, auth_mech) X(AUTH_USER, auth_user)                       \
    X(AUTH_IN_CLEAR, auth_in_clear) X(AUTH_OK, auth_ok) X(PLAINTEXT_COMMANDS, plaintext_commands)     \
    X(RCPTS, rcpts) X(MESSAGES, messages) X(MESSAGE_BYTES, message_bytes)                             \
    X(MAIL_IN_CLEAR, mail_in_clear) X(VERDICTS, verdicts) X(FLAGS, flags)                             \
    X(SECURITY_LEVEL, security_level)
#define STORE_COL_ENUM_TLS_(e, c) STORE_TLS_##e,
#define STORE_COL_ENUM_HTTP_(e, c) STORE_HTTP_##e,
#define STORE_COL_ENUM_MAIL_(e, c) STORE_MAIL_##e,
enum { STORE_TLS_COLUMNS(STORE_COL_ENUM_TLS_) STORE_TLS_NCOLS };
enum { STORE_HTTP_COLUMNS(STORE_COL_ENUM_HTTP_) STORE_HTTP_NCOLS };
enum { STORE_MAIL_COLUMNS(STORE_COL_ENUM_MAIL_) STORE_MAIL_NCOLS };

/* Inserts one row of `tbl` (tls_sessions, http_requests, smtp_sessions); n must be the
 * table's column count (STORE_*_NCOLS). Same error convention as store_finding_add(): 0,
 * NZ_EUSAGE (bad arguments, or a constraint refused only this row) or NZ_EDB. */
int store_record_add(struct store *s, enum store_table tbl, int64_t run_id, int64_t flow_id,
                     const struct store_val *vals, size_t n);

/* What a mail server did in sessions before `before_ts` (ISO text), all runs of this database:
 * the per-server history the STARTTLS stripping/refusal verdicts read. */
struct store_mail_history {
    int64_t sessions;          /* earlier sessions with this server (ip, port, protocol) */
    int64_t offered;           /* ... in which STARTTLS/STLS was advertised */
    int64_t accepted;          /* ... in which STARTTLS/STLS was accepted */
    int64_t last_offered_id;   /* smtp_sessions.id of the latest session that advertised it; 0 */
    char last_offered_ts[40];  /* its ts; "" */
    int64_t last_accepted_id;  /* latest session where it was accepted; 0 */
    char last_accepted_ts[40];
};
int store_mail_history_get(struct store *s, const char *server_ip, uint16_t server_port, const char *protocol,
                           const char *before_ts, struct store_mail_history *out /* OUT */);



/* Commits the current batch now. */
int store_commit(struct store *s);

/* ---- queries (CLI) ---- */

/* STORE_COL_JSON: a value of one of our JSON columns (findings.evidence, runs.counters, by
 * the column's origin, not its name); it is meant to be JSON but comes from a file, so an
 * output must still check it. BLOB values, and text holding a NUL byte, arrive as
 * STORE_COL_TEXT in hex (two lower-case digits per byte), never cut at the NUL. */
enum store_col_type { STORE_COL_NULL, STORE_COL_INT, STORE_COL_REAL, STORE_COL_TEXT, STORE_COL_JSON };

/* One result row: n columns with names, types and text values (NULL for SQL NULL). */
typedef int (*store_row_fn)(void *ud, int n, const char *const *names,
                            const enum store_col_type *types, const char *const *vals);

struct store_filter {
    const char *kind;          /* findings: exact kind or prefix ending in '.' ("tls.") */
    int min_severity;          /* findings: -1 = any, else enum nz_severity (at or above) */
    const char *since, *until; /* ISO-8601 UTC text compared with ts / first_ts */
    const char *host;          /* client or server IP equals */
    const char *proto;         /* flows: app_proto equals */
    int64_t run_id;            /* 0 = all runs */
    int64_t limit;             /* 0 = no limit */
    const char *sni;           /* tls: server name equals */
    const char *tls_version;   /* tls: negotiated version equals ("TLSv1.2") */
    const char *http_host;     /* http: Host equals */
    /* certs (store_query_certs); host there is a certificate name or a server address */
    bool expired;              /* certs: expired or not yet valid at the database's last packet time */
    bool untrusted;            /* certs: presented in a session whose chain did not verify */
    const char *fingerprint;   /* certs: lowercase hex prefix (8..64 digits) of the DER or SPKI SHA-256 */
    /* certs: does host match a name of the comma-joined list (RFC 6125, e.g. x509_list_matches)?
     * NULL: an entry must equal host (ASCII case-insensitive). The store knows no dissector. */
    bool (*name_match)(const char *list, const char *host);
};

/* Runs a query; calls fn per row (a non-zero return from fn stops and is returned).
 * findings columns: id, run_id, flow_id, ts, kind, severity, client_ip, client_port,
 * server_ip, server_port, summary, evidence (STORE_COL_JSON). Ordered by ts, id. */
int store_query_findings(struct store *s, const struct store_filter *f, store_row_fn fn, void *ud);
/* flows columns: the flows table's, ordered by first_ts, id. */
int store_query_flows(struct store *s, const struct store_filter *f, store_row_fn fn, void *ud);
/* TLS sessions joined with their flow's endpoints, ordered by ts, id. Filters: sni,
 * tls_version, host (client or server IP), since/until, run_id, limit. */
int store_query_tls(struct store *s, const struct store_filter *f, store_row_fn fn, void *ud);
/* HTTP requests joined with their flow's endpoints, ordered by ts, id. Filters: http_host,
 * host (IP), since/until, run_id, limit. */
int store_query_http(struct store *s, const struct store_filter *f, store_row_fn fn, void *ud);
/* HTTP hosts of run_id answered 200 for "/" in clear while the same name was an SNI of a TLS
 * session in the database, and never redirected to https:// in that run: the sslstrip opening.
 * fn gets columns host, flow_id, ts, client_ip, client_port, server_ip, server_port, tls_ts. */
int store_query_no_https_redirect(struct store *s, int64_t run_id, store_row_fn fn, void *ud);
/* The same rows, typed: the verdict is rules/https_redirect.c's. Text is borrowed for the call
 * (NULL for SQL NULL); ts_usec is ts parsed back (0 when it is NULL or not the store's format). */
struct store_no_https_row {
    const char *host;
    int64_t flow_id;               /* 0 = none */
    const char *ts;                /* first plaintext 200 for "/" */
    uint64_t ts_usec;
    const char *client_ip, *server_ip;
    uint16_t client_port, server_port;
    const char *tls_ts;            /* first TLS session with this SNI */
};
/* Calls fn per row; non-zero from fn stops and is returned. 0, NZ_EUSAGE or NZ_EDB otherwise. */
int store_no_https_redirect_rows(struct store *s, int64_t run_id,
                                 int (*fn)(void *ud, const struct store_no_https_row *row), void *ud);
/* Parses store_ts_iso's text back to packet time; false if `iso` is not in that form. */
bool store_ts_parse(const char *iso, uint64_t *ts_usec /* OUT */);

/* Mail sessions joined with the TLS session that followed STARTTLS (version, cipher). Filters:
 * host (server IP), since/until, run_id, limit. */
int store_query_mail(struct store *s, const struct store_filter *f, store_row_fn fn, void *ud);
/* One row per mail server (ip, port, protocol): sessions, first/last seen, STARTTLS offered /
 * requested / accepted / refused counts, TLS established, versions and ciphers negotiated,
 * plaintext logins, findings at medium or above; then the security level of its latest session
 * and each change of level in time order, and the leaf certificate of its latest session that
 * showed one (subject and issuer CN, SHA-256, SPKI SHA-256) with the number of distinct leaves.
 * Filters: host, since/until, run_id, limit. */
int store_query_servers(struct store *s, const struct store_filter *f, store_row_fn fn, void *ud);
/* One row per certificate (certificates table), ordered by first_seen, sha256: its facts, its
 * validity at the database's last packet time (the latest of runs.last_ts and tls_sessions.ts;
 * never the machine's clock), the TLS sessions and servers (flows' server ip:port) that presented
 * it, its positions in their chains and the trust outcomes of those sessions. Filters: expired,
 * untrusted, fingerprint, host (a SAN dNSName or subject CN matching it through name_match, a SAN
 * iPAddress equal to it, or a server address that presented it), run_id (presented in that run),
 * limit. NZ_EUSAGE for a fingerprint that is not 8..64 lowercase hex digits. */
int store_query_certs(struct store *s, const struct store_filter *f, store_row_fn fn, void *ud);
/* counts[sev] = findings of run_id (0 = all) per severity. */
int store_count_by_severity(struct store *s, int64_t run_id, uint64_t counts[NZ_SEV_COUNT] /* OUT */);
/* Runs any read-only SQL (for tests and `netzwacht sql`). Several statements run in order;
 * fn sees each one's rows with that statement's columns. */
int store_query_sql(struct store *s, const char *sql, store_row_fn fn, void *ud);
/* Called once per result set (each statement that returns columns), before its first row
 * and also when it has none: its column count and names. Non-zero stops and is returned. */
typedef int (*store_set_fn)(void *ud, int n, const char *const *names);
/* store_query_sql() that also reports where each statement's result set begins. */
int store_query_sql_sets(struct store *s, const char *sql, store_set_fn set_fn, store_row_fn fn, void *ud);

/* Formats a packet time as ISO-8601 UTC with microseconds ("2026-11-29T03:55:50.123456Z"). */
char *store_ts_iso(uint64_t ts_usec, char *buf, size_t cap);

#endif
