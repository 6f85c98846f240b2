/* cli.h — shared declarations of the netzwacht command-line front end. Only cli/ prints. */
#ifndef NZ_CLI_H
#define NZ_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "capture/source.h"
#include "engine/engine.h"
#include "store/store.h"

/* Exit codes (documented in the README). */
enum {
    EXIT_OK = 0,
    EXIT_FINDINGS = 1, /* --fail-on threshold reached */
    EXIT_USAGE = 2,
    EXIT_RUNTIME = 3   /* unreadable input, capture or database error */
};

#define CLI_DEFAULT_DB "netzwacht.db"

struct cli_global {
    const char *db;    /* --db PATH */
    const char *prog;  /* argv[0] basename */
    int verbose;       /* -v count */
};

int cmd_analyze(struct cli_global *g, int argc, char **argv);
int cmd_watch(struct cli_global *g, int argc, char **argv);
int cmd_findings(struct cli_global *g, int argc, char **argv);
int cmd_flows(struct cli_global *g, int argc, char **argv);
int cmd_runs(struct cli_global *g, int argc, char **argv);
int cmd_tls(struct cli_global *g, int argc, char **argv);
int cmd_http(struct cli_global *g, int argc, char **argv);
int cmd_mail(struct cli_global *g, int argc, char **argv);
int cmd_servers(struct cli_global *g, int argc, char **argv);
int cmd_certs(struct cli_global *g, int argc, char **argv);
int cmd_sql(struct cli_global *g, int argc, char **argv);
int cmd_kinds(struct cli_global *g, int argc, char **argv);

/* Logging to stderr, used as the nz_log of every library call. */
void cli_log_fn(void *ud, enum nz_log_level level, const char *msg);
struct nz_log cli_log(const struct cli_global *g);

/* Parses "123", "64K", "256M", "2G" into bytes. Returns 0 or NZ_EUSAGE. */
int cli_parse_size(const char *s, size_t *out);
/* Parses a non-negative integer with an upper bound. Returns 0 or NZ_EUSAGE. */
int cli_parse_uint(const char *s, unsigned long long max, unsigned long long *out);

/* Shared by analyze and watch: options that shape the engine and its pipelines. Returns 1 if
 * `opt` was one of them (consumed), 0 if not, -1 on a bad value (message printed). */
int cli_pipeline_opt(int opt, const char *arg, struct engine_cfg *cfg);
/* The engine defaults: pipeline_cfg_defaults, workers = engine_workers_default(). */
void cli_engine_defaults(struct engine_cfg *cfg);
/* getopt_long entries for cli_pipeline_opt (terminated by a zero entry) and their help text. */
extern const struct option cli_pipeline_longopts[];
extern const char cli_pipeline_help[];
/* A command's getopt_long table: its own n_own entries, then cli_pipeline_longopts, then the
 * zero entry, in out[cap]. Returns the entries written before the zero one. */
size_t cli_merge_longopts(struct option *out, size_t cap, const struct option *own, size_t n_own);

/* Prints "prog: message" on stderr, the whole line escaped (cli_fputs_esc): messages quote
 * paths, and texts from libpcap, zlib and SQLite, any of which may carry control bytes. */
void cli_say(const char *prog, const char *fmt, ...) NZ_PRINTF(2, 3);
/* SQLite's text for the store's last failure, or "the reason is in the message above" when it
 * was cleared since (a rollback leaves "not an error"). */
const char *cli_db_why(struct store *st);

/* ---- one run of `analyze` or `watch` (run.c) ----
 *
 * cli_run_start opens the database (cli/dbpath.h; as the user `watch --user` dropped to),
 * the --dump-streams folder, begins the run row and starts the engine (engine/engine.h: the
 * workers and the database writer) with the merged options, saying what failed. The command
 * feeds packets to r->eng, records statistics with cli_run_update (periodic, and final for
 * `watch`), ends the engine with cli_run_finish and ends with cli_run_end: the exit-code
 * policy (a usage error stays; else a runtime error wins over --fail-on), then everything is
 * closed (a failed close is a runtime error). */
#define CLI_COUNTERS_MAX 8192 /* bytes of the run's counters JSON */
struct cli_run {
    const struct cli_global *g;
    struct nz_log log;            /* borrowed by the store and the pipeline: r must not move */
    struct engine_cfg *ecfg;      /* borrowed; its dump is closed by cli_run_end */
    struct store *st;             /* owned; the engine's writer thread writes it until cli_run_finish */
    struct engine *eng;           /* owned */
    struct trust_store *trust;    /* owned: the anchors chains are verified against (or NULL) */
    bool finished;                /* cli_run_finish was called */
    struct pipeline_stats stats;  /* cli_run_stats fills it */
    int64_t run_id;
    int exit_code;                /* EXIT_OK until cli_run_fail */
    char counters[CLI_COUNTERS_MAX];
};
/* Returns EXIT_OK, or the exit code (nothing left open). */
int cli_run_start(struct cli_run *r, struct cli_global *g, struct engine_cfg *ecfg, const struct store_run *sr,
                  const char *user /* NULL unless dropped to */);
/* Records an exit code; EXIT_USAGE, once set, stays. */
void cli_run_fail(struct cli_run *r, int code);
/* The run row's statistics now (cs: libpcap's counters, NULL for files); counters_json points
 * into r. */
void cli_run_stats(struct cli_run *r, const struct cap_stats *cs, bool finished, struct store_run_stats *rs);
/* While the engine runs: the update is queued for its writer (returns engine_error()); after
 * cli_run_finish: store_run_update + store_commit. Returns 0 or NZ_EDB (not said: the caller
 * says it). */
int cli_run_update(struct cli_run *r, const struct cap_stats *cs, bool finished);
/* engine_finish: every flow ended, every row written, the end-of-run rule run. Returns 0 or
 * NZ_EDB. The store is the command's again. */
int cli_run_finish(struct cli_run *r);
/* Applies --fail-on (fail_on < 0: none) to sev (findings of the run per severity; may be NULL),
 * frees the pipeline, closes the dump and the database. Returns the exit code. */
int cli_run_end(struct cli_run *r, int fail_on, const uint64_t sev[NZ_SEV_COUNT]);
/* `analyze`'s one-screen summary (stdout). */
void cli_print_summary(FILE *fp, const struct pipeline_stats *s, const uint64_t sev[NZ_SEV_COUNT], size_t files_ok,
                       size_t files_skipped, size_t files_failed, int64_t run_id);
/* `watch`'s last line. */
void cli_print_stopped(FILE *fp, const char *prog, const struct pipeline_stats *s, const struct cap_stats *cs,
                       unsigned workers, uint64_t queue_full);

/* Drops root (privs.c): setgroups/setgid/setuid to `user`, checked to be irreversible.
 * Returns 0 (also when already running as that user), or NZ_EUSAGE (unknown user, not root) /
 * NZ_EIO (a call failed, or root could be regained), message in errbuf[cap]. */
int cli_drop_privs(const char *user, char *errbuf, size_t cap);

/* Folder walk (walk.c): the capture files under a folder named on the command line.
 * A symbolic link found inside is never followed (to a file or a folder; each is noted);
 * the named folder itself is followed. Every folder is entered at most once, by (device,
 * inode), over all walks of one struct cli_walk; at most CLI_WALK_MAX_DEPTH levels below the
 * named folder; no recursion. Regular files whose name cli_capture_name() accepts are
 * reported in sorted order (strcmp, per folder); names starting with '.' are skipped. */
#define CLI_WALK_MAX_DEPTH 64
enum cli_walk_note {
    CLI_WALK_UNREADABLE,   /* a folder that cannot be opened or read (errnum) */
    CLI_WALK_SYMLINK,      /* a symbolic link: not followed */
    CLI_WALK_TOO_DEEP,     /* a folder more than CLI_WALK_MAX_DEPTH levels down: not entered */
    CLI_WALK_NOT_REGULAR,  /* a FIFO, socket or device with a capture name: not opened */
    CLI_WALK_TOO_LONG,     /* a path of PATH_MAX bytes or more: skipped */
    CLI_WALK_SEEN          /* a folder entered before (bind mount, named twice): not again */
};
struct cli_walk_ops {
    void *ud;
    /* A capture file. path[0..root_len) is the named folder; dev/ino/size from lstat. A
     * non-zero return stops the walk and is returned by cli_walk(). */
    int (*file)(void *ud, const char *path, size_t root_len, uint64_t dev, uint64_t ino, uint64_t size);
    /* Optional: a folder entered (first time only). */
    void (*dir)(void *ud, const char *path, uint64_t dev, uint64_t ino);
    /* Optional: something skipped; path is raw (escape it before printing). */
    void (*note)(void *ud, enum cli_walk_note what, const char *path, int errnum);
};
struct cli_walk;
struct cli_walk *cli_walk_new(void);
void cli_walk_free(struct cli_walk *w);
/* Walks `root`. Returns 0; NZ_EIO when a folder could not be read (noted, the walk went on);
 * NZ_ENOMEM; or the non-zero value of ops->file. */
int cli_walk(struct cli_walk *w, const char *root, const struct cli_walk_ops *ops);
/* *.pcap, *.pcapng, *.cap, optionally followed by .gz (case-insensitive). */
bool cli_capture_name(const char *name);

/* --dump-streams for analyze and watch: opens cfg->dump_dir (if set) into cfg->dump, printing
 * the reason of a failure. Returns 0, or the exit code (EXIT_USAGE for an existing DIR,
 * EXIT_RUNTIME else). cli_dump_stop closes cfg->dump (if any) and sets it to NULL. */
int cli_dump_start(const struct cli_global *g, struct pipeline_cfg *cfg, const struct nz_log *log);
void cli_dump_stop(struct pipeline_cfg *cfg);

/* Terminal safety (term.c). Every string from outside (file names, SQL values, messages
 * built from them) is printed through these: control characters, C1 controls and invalid
 * UTF-8 become visible escapes (\e, \x07, \u009b, \xff), backslash is doubled.
 * cli_esc_len: escaped length of s; writes at most cap-1 bytes and a NUL to out (when not
 * NULL), never cutting an escape. cli_esc: the same into buf, returns buf.
 * cli_fputs_esc: any length, straight to fp. */
size_t cli_esc_len(const char *s, size_t cap, char *out);
/* Length of the valid UTF-8 sequence at s (1..4) with its code point in *cp, or 0 when it is
 * not valid (overlong, surrogate, above U+10FFFF, truncated; stops at a NUL). */
int cli_utf8_seq(const unsigned char *s, unsigned *cp);
const char *cli_esc(const char *s, char *buf, size_t cap);
void cli_fputs_esc(const char *s, FILE *fp);

/* Output of query results (output.c describes each format). */
enum out_fmt { OUT_TABLE, OUT_JSON, OUT_CSV };
int out_parse_fmt(const char *s, enum out_fmt *f);
struct out;
/* `show` (NULL = all) lists the columns the table format shows; json/csv show all.
 * NULL when out of memory. */
struct out *out_new(enum out_fmt fmt, FILE *fp, const char *const *show);
/* store_set_fn: a new result set with these columns begins (its own header). */
int out_set(void *ud, int n, const char *const *names);
/* store_row_fn: one row; a row whose columns differ from the current set's begins a new
 * set. Returns 0, or NZ_ENOMEM / NZ_EIO (write error), which stop the query. */
int out_row(void *ud, int n, const char *const *names, const enum store_col_type *types,
            const char *const *vals);
/* Prints what was buffered (table), flushes and frees. Returns the rows printed, or -1 when
 * output failed (write error, out of memory) or o is NULL. */
long out_finish(struct out *o);


#endif
