/* cmd_analyze.c — `netzwacht analyze`: capture files → pipeline → database, with content-hash
 * dedup, progress on a terminal, and a one-screen summary. Also the option handling shared
 * with `watch`. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/source.h"
#include "cli/cli.h"
#include "cli/dbpath.h"
#include "engine/dump.h"

/* ---- shared helpers ---- */

void cli_log_fn(void *ud, enum nz_log_level level, const char *msg)
{
    const char *prog = ud ? ud : "netzwacht";
    static const char *const lv[] = {"error", "warning", "info", "debug"};
    cli_fputs_esc(prog, stderr); /* argv[0] too is a string from outside */
    fprintf(stderr, ": %s: ", lv[level <= NZ_LOG_DEBUG ? level : NZ_LOG_DEBUG]);
    cli_fputs_esc(msg, stderr); /* messages quote paths, SQL values and captured strings */
    fputc('\n', stderr);
}

struct nz_log cli_log(const struct cli_global *g)
{
    struct nz_log l;
    l.fn = cli_log_fn;
    l.ud = (void *)g->prog;
    int lvl = NZ_LOG_WARN + g->verbose;
    l.max_level = lvl > NZ_LOG_DEBUG ? NZ_LOG_DEBUG : (enum nz_log_level)lvl;
    return l;
}

int cli_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    if (!s || !*s || *s == '-')
        return NZ_EUSAGE;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return NZ_EUSAGE;
    *out = v;
    return 0;
}

int cli_parse_size(const char *s, size_t *out)
{
    if (!s || !*s || *s == '-')
        return NZ_EUSAGE;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return NZ_EUSAGE;
    unsigned long long mul = 1;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': mul = 1024ull; break;
        case 'm': case 'M': mul = 1024ull * 1024; break;
        case 'g': case 'G': mul = 1024ull * 1024 * 1024; break;
        default: return NZ_EUSAGE;
        }
        if (end[1] && !(end[1] == 'i' && (end[2] == 'B' || end[2] == 'b') && !end[3]) &&
            !((end[1] == 'B' || end[1] == 'b') && !end[2]))
            return NZ_EUSAGE;
    }
    if (v > (unsigned long long)SIZE_MAX / mul)
        return NZ_EUSAGE;
    *out = (size_t)(v * mul);
    return 0;
}

enum {
    OPT_MAX_FLOWS = 1000, OPT_FLOW_TIMEOUT, OPT_MAX_REASM, OPT_MAX_OOO, OPT_NO_NDPI, OPT_NDPI_PKTS,
    OPT_POLICY, OPT_DUMP, OPT_MAX_MEM
};

const struct option cli_pipeline_longopts[] = {
    {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
    {"flow-timeout", required_argument, NULL, OPT_FLOW_TIMEOUT},
    {"max-reasm-mem", required_argument, NULL, OPT_MAX_REASM},
    {"max-ooo", required_argument, NULL, OPT_MAX_OOO},
    {"no-ndpi", no_argument, NULL, OPT_NO_NDPI},
    {"ndpi-packets", required_argument, NULL, OPT_NDPI_PKTS},
    {"policy", required_argument, NULL, OPT_POLICY},
    {"dump-streams", required_argument, NULL, OPT_DUMP},
    {"max-mem", required_argument, NULL, OPT_MAX_MEM},
    {NULL, 0, NULL, 0},
};

const char cli_pipeline_help[] =
    "  --max-flows N        flows tracked at once; least recently seen evicted beyond (250000)\n"
    "  --flow-timeout SEC   idle timeout in packet time (300)\n"
    "  --max-mem SIZE       memory for all per-flow state together (1G, at least 16M); when\n"
    "                       full, least recently seen flows are evicted\n"
    "  --max-reasm-mem SIZE the part of --max-mem out-of-order bytes may use (256M); when\n"
    "                       full, flows skip their holes and the least recently seen are evicted\n"
    "  --max-ooo SIZE       out-of-order bytes buffered per flow direction (256K)\n"
    "  --ndpi-packets N     packets per flow offered to nDPI for its label (12)\n"
    "  --no-ndpi            do not run nDPI (flows get only our dissectors' labels)\n"
    "  --policy P           default | intermediate (Mozilla 6.0: TLS 1.0/1.1 medium)\n"
    "  --dump-streams DIR   write each flow's reassembled streams to DIR/<flow>-c2s.bin|s2c.bin;\n"
    "                       DIR must not exist: it is created (mode 0700), files are 0600\n";

int cli_pipeline_opt(int opt, const char *arg, struct pipeline_cfg *cfg)
{
    unsigned long long v;
    size_t sz;
    switch (opt) {
    case OPT_MAX_FLOWS:
        if (cli_parse_uint(arg, 100000000ull, &v) || v == 0)
            goto bad;
        cfg->max_flows = (size_t)v;
        return 1;
    case OPT_FLOW_TIMEOUT:
        if (cli_parse_uint(arg, 86400ull * 30, &v) || v == 0)
            goto bad;
        cfg->idle_sec = (uint32_t)v;
        return 1;
    case OPT_MAX_REASM:
        if (cli_parse_size(arg, &sz))
            goto bad;
        cfg->reasm_mem_max = sz;
        return 1;
    case OPT_MAX_OOO:
        if (cli_parse_size(arg, &sz))
            goto bad;
        cfg->ooo_max_bytes = sz;
        return 1;
    case OPT_MAX_MEM:
        if (cli_parse_size(arg, &sz) || sz < MEM_MAX_MIN)
            goto bad;
        cfg->mem_max = sz;
        return 1;
    case OPT_NO_NDPI:
        cfg->ndpi_max_pkts = 0;
        return 1;
    case OPT_NDPI_PKTS:
        if (cli_parse_uint(arg, 1000ull, &v))
            goto bad;
        cfg->ndpi_max_pkts = (unsigned)v;
        return 1;
    case OPT_POLICY:
        if (strcasecmp(arg, "default") == 0)
            cfg->policy = 0;
        else if (strcasecmp(arg, "intermediate") == 0)
            cfg->policy = 1;
        else
            goto bad;
        return 1;
    case OPT_DUMP:
        cfg->dump_dir = arg;
        return 1;
    default:
        return 0;
    }
bad:
    fputs("netzwacht: invalid value '", stderr);
    cli_fputs_esc(arg ? arg : "", stderr); /* from the command line */
    fprintf(stderr, "' for --%s\n", cli_pipeline_longopts[opt - OPT_MAX_FLOWS].name);
    return -1;
}

/* ---- messages ---- */

/* Prints "prog: message" on stderr, the whole line escaped (cli_fputs_esc): messages quote
 * paths, and texts from libpcap, zlib and SQLite, any of which may carry control bytes. */
static void say(const char *prog, const char *fmt, ...) NZ_PRINTF(2, 3);
static void say(const char *prog, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cli_fputs_esc(prog, stderr);
    fputs(": ", stderr);
    cli_fputs_esc(buf, stderr);
    fputc('\n', stderr);
}

/* SQLite's text for the last failure, unless it was cleared since (a rollback leaves
 * "not an error"): then the reason is the store's message logged just before. */
static const char *db_why(struct store *st)
{
    const char *m = store_errmsg(st);
    if (!m || !*m || strcmp(m, "not an error") == 0)
        return "the reason is in the message above";
    return m;
}

/* ---- hashing a file beside its analysis ---- */

/* Content hash (BLAKE2b-256) of a new file, computed on the other core while the main
 * thread analyses it: even BLAKE2b (~1.7 ns/byte with wolfSSL; SHA-256 ~3.7) costs about as
 * much as the analysis, so doing it first would double the wall time of `analyze FILE`.
 * It reads the descriptor the analysis reads (pread), never the path again. */
struct hash_job {
    pthread_t tid;
    struct cap_input *in; /* borrowed */
    char hex[65];         /* OUT */
    uint64_t size;        /* OUT */
    int rc;               /* OUT: 0 or NZ_EIO/NZ_ENOMEM */
    bool started;
};

static void *hash_thread(void *arg)
{
    struct hash_job *j = arg;
    j->rc = cap_input_hash(j->in, CAP_HASH_BLAKE2B, j->hex, &j->size);
    return NULL;
}

/* Starts the job; if no thread can be made, hashes right here. */
static void hash_start(struct hash_job *j, struct cap_input *in)
{
    memset(j, 0, sizeof *j);
    j->in = in;
    j->started = pthread_create(&j->tid, NULL, hash_thread, j) == 0;
    if (!j->started)
        hash_thread(j);
}

static int hash_join(struct hash_job *j)
{
    if (j->started)
        pthread_join(j->tid, NULL);
    j->started = false;
    return j->rc;
}

/* ---- input collection ---- */

struct input {
    char *path;
    bool found;            /* found by a folder walk: opened beneath it, no links followed */
    struct cap_found f;
    uint64_t size;         /* for the progress line; 0 = unknown */
};

struct inputs {
    struct input *v;
    size_t n, cap;
};

static int inputs_add(struct inputs *in, const char *path, const struct cap_found *f, uint64_t size)
{
    if (in->n == in->cap) {
        size_t nc = in->cap ? in->cap * 2 : 16;
        struct input *nv = realloc(in->v, nc * sizeof *nv);
        if (!nv)
            return NZ_ENOMEM;
        in->v = nv;
        in->cap = nc;
    }
    struct input *e = &in->v[in->n];
    memset(e, 0, sizeof *e);
    if (!(e->path = strdup(path)))
        return NZ_ENOMEM;
    if (f) {
        e->found = true;
        e->f = *f;
    }
    e->size = size;
    in->n++;
    return 0;
}

static void inputs_free(struct inputs *in)
{
    for (size_t i = 0; i < in->n; i++)
        free(in->v[i].path);
    free(in->v);
}

struct walk_ctx {
    struct inputs *in;
    const char *prog;
    int verbose;
    size_t links;          /* symbolic links not followed under the current root */
    bool incomplete;       /* part of the tree was not walked (unreadable, too deep, too long) */
};

static int walk_file(void *ud, const char *path, size_t root_len, uint64_t dev, uint64_t ino, uint64_t size)
{
    struct walk_ctx *c = ud;
    struct cap_found f = {root_len, dev, ino};
    return inputs_add(c->in, path, &f, size);
}

static void walk_note(void *ud, enum cli_walk_note what, const char *path, int errnum)
{
    struct walk_ctx *c = ud;
    switch (what) {
    case CLI_WALK_UNREADABLE:
        say(c->prog, "%s: cannot read folder: %s", path, strerror(errnum));
        c->incomplete = true;
        break;
    case CLI_WALK_SYMLINK:
        c->links++;
        if (c->verbose)
            say(c->prog, "%s: symbolic link inside a folder; not followed", path);
        break;
    case CLI_WALK_TOO_DEEP:
        say(c->prog, "%s: more than %d folder levels below the folder named; not entered", path, CLI_WALK_MAX_DEPTH);
        c->incomplete = true;
        break;
    case CLI_WALK_NOT_REGULAR:
        say(c->prog, "%s: not a regular file (FIFO, socket or device); skipped", path);
        break;
    case CLI_WALK_TOO_LONG:
        say(c->prog, "%s: path too long; skipped", path);
        c->incomplete = true;
        break;
    case CLI_WALK_SEEN:
        if (c->verbose)
            say(c->prog, "%s: folder already walked; not entered again", path);
        break;
    }
}

/* Collects the inputs named on the command line: folders walked, everything else as named.
 * Returns EXIT_OK, or EXIT_RUNTIME when part of a folder could not be walked (said). */
static int collect_inputs(struct cli_global *g, char **names, int n, struct inputs *in)
{
    int exit_code = EXIT_OK;
    struct cli_walk *w = cli_walk_new();
    struct walk_ctx c = {in, g->prog, g->verbose, 0, false};
    struct cli_walk_ops ops = {&c, walk_file, NULL, walk_note};
    if (!w) {
        say(g->prog, "out of memory");
        return EXIT_RUNTIME;
    }
    for (int i = 0; i < n; i++) {
        struct stat st;
        int rc;
        /* Only to choose walk or file: the input itself is opened once, later, and judged by
         * fstat on that descriptor. */
        if (strcmp(names[i], "-") != 0 && stat(names[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            c.links = 0;
            rc = cli_walk(w, names[i], &ops);
            if (c.links)
                say(g->prog, "%s: %zu symbolic link(s) inside not followed (links found in folders never are; "
                    "name a link's target on the command line to analyse it; -v lists them)", names[i], c.links);
        } else {
            uint64_t size = strcmp(names[i], "-") != 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)
                                ? (uint64_t)st.st_size : 0;
            rc = inputs_add(in, names[i], NULL, size);
        }
        if (rc == NZ_ENOMEM) {
            say(g->prog, "out of memory");
            exit_code = EXIT_RUNTIME;
            break;
        }
        if (rc != 0)
            exit_code = EXIT_RUNTIME;
    }
    if (c.incomplete)
        exit_code = EXIT_RUNTIME;
    cli_walk_free(w);
    return exit_code;
}

/* ---- progress ---- */

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct progress {
    bool on;
    double start, last;
    uint64_t total;   /* bytes of all inputs (0 = unknown) */
    uint64_t done;    /* bytes of finished inputs */
};

static void progress_show(struct progress *pg, const struct pipeline_stats *s, uint64_t cur_pos, bool final)
{
    double t = now_sec();
    if (!final && t - pg->last < 0.5)
        return;
    pg->last = t;
    double el = t - pg->start;
    uint64_t pos = pg->done + cur_pos;
    double mbs = el > 0 ? (double)pos / 1e6 / el : 0;
    if (pg->total)
        fprintf(stderr, "\r%llu packets  %.1f MB/s  %3.0f%%   ", (unsigned long long)s->packets, mbs,
                100.0 * (double)pos / (double)pg->total);
    else
        fprintf(stderr, "\r%llu packets  %.1f MB/s   ", (unsigned long long)s->packets, mbs);
    if (final)
        fputc('\n', stderr);
}

/* ---- run summary ---- */

static void print_summary(FILE *fp, const struct pipeline_stats *s, const uint64_t sev[5], size_t files_ok,
                          size_t files_skipped, size_t files_failed, int64_t run_id)
{
    char a[40], b[40];
    fprintf(fp, "run %lld: %zu file(s) analysed", (long long)run_id, files_ok);
    if (files_skipped)
        fprintf(fp, ", %zu skipped as already analysed (--force to redo)", files_skipped);
    if (files_failed)
        fprintf(fp, ", %zu with errors", files_failed);
    fputc('\n', fp);
    if (s->packets)
        fprintf(fp, "  time      %s .. %s\n", store_ts_iso(s->first_usec, a, sizeof a),
                store_ts_iso(s->last_usec, b, sizeof b));
    fprintf(fp, "  packets   %llu (%llu bytes), TCP %llu, other IP/non-IP %llu, fragments %llu, malformed %llu\n",
            (unsigned long long)s->packets, (unsigned long long)s->bytes, (unsigned long long)s->tcp_packets,
            (unsigned long long)(s->dec[DEC_NON_TCP] + s->dec[DEC_NON_IP]), (unsigned long long)s->dec[DEC_IP_FRAGMENT],
            (unsigned long long)s->malformed);
    if (s->malformed) {
        fprintf(fp, "            malformed by reason:");
        for (int r = 0; r < DEC_REASON_COUNT; r++)
            if (dec_reason_is_malformed((enum dec_reason)r) && s->dec[r])
                fprintf(fp, " %s=%llu", dec_reason_name((enum dec_reason)r), (unsigned long long)s->dec[r]);
        fputc('\n', fp);
    }
    fprintf(fp, "  flows     %llu TCP flows", (unsigned long long)s->flows);
    if (s->flows_evicted > s->flows_evicted_mem)
        fprintf(fp, ", %llu evicted with the table full (raise --max-flows)",
                (unsigned long long)(s->flows_evicted - s->flows_evicted_mem));
    if (s->flows_evicted_mem)
        fprintf(fp, ", %llu evicted for memory (raise --max-mem / --max-reasm-mem)",
                (unsigned long long)s->flows_evicted_mem);
    fputc('\n', fp);
    if (s->flows_evicted_mem || s->reasm_over_budget || s->dis_mem_cap || s->ndpi_mem_cap)
        fprintf(fp, "  memory    peak %zu MiB of --max-mem %zu MiB; out-of-order share full %llu times;"
                " per-flow cap hit: dissectors %llu, nDPI %llu\n",
                s->mem_peak >> 20, s->mem_max >> 20, (unsigned long long)s->reasm_over_budget,
                (unsigned long long)s->dis_mem_cap, (unsigned long long)s->ndpi_mem_cap);
    if (s->gaps || s->overlap_diff || s->reasm_cap_drops)
        fprintf(fp, "  streams   %llu gaps (%llu bytes missing; %llu of them forced by reassembly caps),"
                " %llu overlaps with differing bytes, %llu segments over caps\n",
                (unsigned long long)s->gaps, (unsigned long long)s->gap_bytes, (unsigned long long)s->gaps_cap,
                (unsigned long long)s->overlap_diff, (unsigned long long)s->reasm_cap_drops);
    fprintf(fp, "  findings  %llu: critical %llu, high %llu, medium %llu, low %llu, info %llu\n",
            (unsigned long long)(sev[0] + sev[1] + sev[2] + sev[3] + sev[4]), (unsigned long long)sev[4],
            (unsigned long long)sev[3], (unsigned long long)sev[2], (unsigned long long)sev[1],
            (unsigned long long)sev[0]);
}

/* ---- analyze ---- */

static void analyze_help(FILE *fp)
{
    fprintf(fp,
            "usage: netzwacht analyze [options] PATH...\n"
            "Reads pcap/pcapng captures (also gzip-compressed), folders recursively (files named\n"
            "*.pcap, *.pcapng, *.cap, optionally .gz, in sorted order; symbolic links inside are\n"
            "not followed), pipes and '-' (stdin) into the database. A file whose content hash is\n"
            "already in the database is skipped; a file counts as analysed once its run finished.\n\n"
            "options:\n"
            "  --db PATH            database (default ./%s)\n"
            "  -f, --filter EXPR    BPF filter applied to every input\n"
            "  --force              re-analyse files already in the database (old rows replaced)\n"
            "  --continuous         the inputs are one capture split in parts (tcpdump -C/-G): flows\n"
            "                       carry over from one file to the next (default: each file alone)\n"
            "  --fail-on SEVERITY   exit 1 if this run recorded a finding at or above SEVERITY\n"
            "  -q, --quiet          no summary\n"
            "  --no-progress        no progress line on stderr\n"
            "%s"
            "  -h, --help           this text\n",
            CLI_DEFAULT_DB, cli_pipeline_help);
}

enum { OPT_FORCE = 2000, OPT_FAIL_ON, OPT_NO_PROGRESS, OPT_DB, OPT_CONTINUOUS };

/* One `analyze` invocation. */
struct run {
    const struct cli_global *g;
    struct store *st;
    struct pipeline *pl;
    int64_t run_id;
    const char *filter;
    bool force, continuous;
    struct progress pg;
    struct store_file_rec *recs;   /* files read; recorded only when the run ends */
    size_t nrec, caprec;
    bool streams;                  /* read standard input or a pipe (nothing to record) */
    size_t ok, skipped, failed;
    int exit_code;
    bool stop;                     /* no further input: database error or bad filter */
};

static void run_fail(struct run *r, int code)
{
    if (r->exit_code != EXIT_USAGE)
        r->exit_code = code;
}

static int rec_add(struct run *r, const char *path, const char *hash, const char *quick, uint64_t size)
{
    if (r->nrec == r->caprec) {
        size_t nc = r->caprec ? r->caprec * 2 : 16;
        struct store_file_rec *nv = realloc(r->recs, nc * sizeof *nv);
        if (!nv)
            return NZ_ENOMEM;
        r->recs = nv;
        r->caprec = nc;
    }
    struct store_file_rec *e = &r->recs[r->nrec++];
    memset(e, 0, sizeof *e);
    e->path = path;
    snprintf(e->hash, sizeof e->hash, "%s", hash);
    snprintf(e->quick, sizeof e->quick, "%s", quick);
    e->size = size;
    return 0;
}

/* A file read earlier in this run with this pre-key (quick) or content hash, or NULL. */
static const struct store_file_rec *rec_find(const struct run *r, const char *quick, const char *hash)
{
    for (size_t i = 0; i < r->nrec; i++)
        if ((quick && strcmp(r->recs[i].quick, quick) == 0) || (hash && strcmp(r->recs[i].hash, hash) == 0))
            return &r->recs[i];
    return NULL;
}

/* Content-hash dedup of a regular file before its analysis. Returns 0 to analyse it, 1 when
 * it was skipped or failed (said and counted). Sets sha and have_sha when the full hash had to
 * be computed (its pre-key was known), quick and *fsize always. */
static int dedup(struct run *r, const char *path, struct cap_input *in, char sha[65], char quick[65],
                 uint64_t *fsize, bool *have_sha)
{
    const char *prog = r->g->prog;
    int rc;
    /* A pre-key (size, first and last 64 KiB) that was never seen proves the file new, and
     * its content hash is then computed on the other core while it is analysed. Only a known
     * pre-key costs a full hashing pass first. */
    bool seen = false;
    if ((rc = cap_input_quickkey(in, quick, fsize)) != 0) {
        say(prog, "%s: cannot read: %s", path, rc == NZ_EIO ? strerror(errno) : nz_strerror(rc));
        r->failed++;
        run_fail(r, EXIT_RUNTIME);
        return 1;
    }
    if (store_file_quick_seen(r->st, quick, &seen) != 0) {
        say(prog, "database error while looking up %s: %s", path, db_why(r->st));
        run_fail(r, EXIT_RUNTIME);
        r->stop = true;
        return 1;
    }
    if (seen || rec_find(r, quick, NULL)) {
        if ((rc = cap_input_hash(in, CAP_HASH_BLAKE2B, sha, fsize)) != 0) {
            say(prog, "%s: cannot read: %s", path, rc == NZ_EIO ? strerror(errno) : nz_strerror(rc));
            r->failed++;
            run_fail(r, EXIT_RUNTIME);
            return 1;
        }
        *have_sha = true;
        const struct store_file_rec *mine = rec_find(r, NULL, sha);
        if (mine) {
            say(prog, "%s: same content as %s, read earlier in this run; skipped", path, mine->path);
            r->skipped++;
            r->pg.done += *fsize;
            return 1;
        }
    }
    /* A database from before schema v5 identifies its files by SHA-256 and has no pre-keys:
     * check those rows too (slower, only for such databases). */
    int64_t legacy = 0, prev = 0;
    char legacy_sha[65] = "";
    uint64_t lsize = 0;
    if (store_file_legacy_count(r->st, &legacy) == 0 && legacy > 0 &&
        cap_input_hash(in, CAP_HASH_SHA256, legacy_sha, &lsize) == 0 &&
        store_file_lookup(r->st, legacy_sha, &prev) == 0 && prev) {
        if (!r->force) {
            say(prog, "%s: already analysed in run %lld (same SHA-256); skipped, use --force to redo", path,
                (long long)prev);
            r->skipped++;
            r->pg.done += lsize;
            return 1;
        }
        if (store_file_forget(r->st, legacy_sha) != 0) {
            say(prog, "database error while forgetting the earlier analysis of %s: %s", path, db_why(r->st));
            run_fail(r, EXIT_RUNTIME);
            r->stop = true;
            return 1;
        }
    }
    if (!*have_sha)
        return 0;
    prev = 0;
    if (store_file_lookup(r->st, sha, &prev) != 0) {
        say(prog, "database error while looking up %s: %s", path, db_why(r->st));
        run_fail(r, EXIT_RUNTIME);
        r->stop = true;
        return 1;
    }
    if (prev && !r->force) {
        say(prog, "%s: already analysed in run %lld (same content hash); skipped, use --force to redo", path,
            (long long)prev);
        r->skipped++;
        r->pg.done += *fsize;
        return 1;
    }
    if (prev && store_file_forget(r->st, sha) != 0) {
        say(prog, "database error while forgetting the earlier analysis of %s: %s", path, db_why(r->st));
        run_fail(r, EXIT_RUNTIME);
        r->stop = true;
        return 1;
    }
    return 0;
}

/* Opens one input once, deduplicates it (regular files), analyses it and, when it was read
 * to its end or its damage, adds it to the files the run records at its end. */
static void analyze_one(struct run *r, const struct input *ip)
{
    const char *prog = r->g->prog, *path = ip->path;
    char eb[CAP_ERRBUF] = "";
    int err = 0;
    struct cap_input *in = cap_input_open(path, ip->found ? &ip->f : NULL, eb, &err);
    if (!in) {
        say(prog, "%s", eb);
        r->failed++;
        run_fail(r, EXIT_RUNTIME);
        return;
    }
    bool stream = cap_input_is_stream(in);
    char sha[65] = "", quick[65] = "";
    uint64_t fsize = 0;
    bool have_sha = false;
    if (!stream && dedup(r, path, in, sha, quick, &fsize, &have_sha) != 0) {
        cap_input_close(in);
        return;
    }
    struct cap_source *src = cap_open_input(in, r->filter, eb, &err);
    if (!src) {
        say(prog, "%s", eb);
        r->failed++;
        if (err == NZ_EUSAGE && r->filter) {
            r->exit_code = EXIT_USAGE;
            r->stop = true; /* a bad filter fails the same way for every file */
        } else {
            run_fail(r, EXIT_RUNTIME);
        }
        cap_input_close(in);
        return;
    }
    int dlt = cap_datalink(src);
    char dn[64];
    if (!dec_link_supported(dlt)) {
        say(prog, "%s: unsupported link type %s (%d); supported: EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP",
            path, cap_datalink_name(dlt, dn, sizeof dn), dlt);
        cap_close(src);
        cap_input_close(in);
        r->failed++;
        run_fail(r, EXIT_RUNTIME);
        return;
    }
    if (stream)
        r->streams = true;
    struct hash_job hj;
    if (!stream && !have_sha)
        hash_start(&hj, in); /* joined below, after the file was read */
    struct cap_pkt cp;
    int rc;
    uint64_t n = 0;
    while ((rc = cap_next(src, &cp, eb)) == 1) {
        pipeline_packet(r->pl, dlt, cp.ts_usec, cp.data, cp.caplen, cp.wirelen);
        if ((++n & 0xfff) == 0) {
            if (pipeline_error(r->pl))
                break;
            if (r->pg.on)
                progress_show(&r->pg, pipeline_stats(r->pl), cap_pos(src), false);
        }
    }
    if (rc < 0) {
        say(prog, "%s (stopped after %llu packets of this file; every packet before the damage was analysed and is kept)",
            eb, (unsigned long long)n);
        r->failed++;
        run_fail(r, EXIT_RUNTIME);
    } else {
        r->ok++;
    }
    r->pg.done += stream ? cap_pos(src) : cap_size(src);
    cap_close(src);
    if (!r->continuous)
        pipeline_end_flows(r->pl);
    if (!stream) {
        int hrc = 0;
        if (!have_sha) {
            hrc = hash_join(&hj);
            memcpy(sha, hj.hex, sizeof hj.hex);
            fsize = hj.size;
        }
        const struct store_file_rec *same = hrc == 0 ? rec_find(r, NULL, sha) : NULL;
        if (hrc != 0) {
            say(prog, "%s: cannot hash for deduplication: %s; it will not be recorded as analysed", path,
                nz_strerror(hrc));
            run_fail(r, EXIT_RUNTIME);
        } else if (cap_input_changed(in)) {
            /* Its hash may not describe what was analysed (a capture still being written, or a
             * file rewritten on purpose to collide with another): recording it could make a
             * later run skip what it never saw. */
            say(prog, "%s: changed while it was read (still being written?); analysed, but not recorded as "
                "analysed", path);
        } else if (same) {
            say(prog, "%s: same content as %s, read earlier in this run; recorded once", path, same->path);
        } else if (rec_add(r, path, sha, quick, fsize) != 0) {
            say(prog, "out of memory");
            run_fail(r, EXIT_RUNTIME);
            r->stop = true;
        }
    }
    cap_input_close(in);
}

/* Ends the run: records its files and marks it finished in one transaction (see
 * store_file_finish_run), and says what happened when another process got there first. */
static int finish_run(struct run *r, const struct store_run_stats *rs, bool *removed)
{
    const char *prog = r->g->prog;
    enum store_finish outcome = STORE_FINISHED;
    int64_t *clash = calloc(r->nrec ? r->nrec : 1, sizeof *clash);
    *removed = false;
    if (!clash) {
        say(prog, "out of memory");
        return NZ_ENOMEM;
    }
    int rc = store_file_finish_run(r->st, r->run_id, rs, r->recs, r->nrec, r->force, r->streams, clash, &outcome);
    if (rc != 0) {
        say(prog, "database error on %s while ending run %lld: %s; the run stays unfinished and none of its files "
            "is recorded as analysed (a rerun analyses them again); rows committed before are kept",
            r->g->db, (long long)r->run_id, db_why(r->st));
        free(clash);
        return NZ_EDB;
    }
    for (size_t i = 0; i < r->nrec; i++) {
        if (!clash[i])
            continue;
        if (r->force)
            say(prog, "%s: recorded meanwhile by run %lld (another netzwacht process); --force: that analysis "
                "was replaced by this run's", r->recs[i].path, (long long)clash[i]);
        else
            say(prog, "%s: analysed meanwhile by run %lld (another netzwacht process finished it first)",
                r->recs[i].path, (long long)clash[i]);
    }
    if (outcome == STORE_RUN_REMOVED) {
        say(prog, "run %lld only repeated that analysis and was removed, so that nothing is stored twice",
            (long long)r->run_id);
        *removed = true;
    } else if (outcome == STORE_RUN_REFUSED) {
        say(prog, "run %lld keeps its rows but stays unfinished and none of its files is recorded as analysed: "
            "its rows for the file(s) above repeat the other run's, and rows are not linked to files",
            (long long)r->run_id);
        run_fail(r, EXIT_RUNTIME);
    }
    free(clash);
    return 0;
}

int cmd_analyze(struct cli_global *g, int argc, char **argv)
{
    struct option longopts[32];
    static const struct option own[] = {
        {"filter", required_argument, NULL, 'f'},
        {"force", no_argument, NULL, OPT_FORCE},
        {"fail-on", required_argument, NULL, OPT_FAIL_ON},
        {"quiet", no_argument, NULL, 'q'},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"db", required_argument, NULL, OPT_DB},
        {"continuous", no_argument, NULL, OPT_CONTINUOUS},
        {"help", no_argument, NULL, 'h'},
    };
    size_t k = 0;
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        longopts[k++] = own[i];
    for (size_t i = 0; cli_pipeline_longopts[i].name; i++)
        longopts[k++] = cli_pipeline_longopts[i];
    memset(&longopts[k], 0, sizeof longopts[k]);

    struct pipeline_cfg pcfg;
    pipeline_cfg_defaults(&pcfg);
    const char *filter = NULL;
    bool force = false, quiet = false, no_progress = false, continuous = false;
    int fail_on = -1;
    int opt;
    opterr = 0; /* getopt would print the bad option raw; it is said escaped below */
    while ((opt = getopt_long(argc, argv, "f:qhv", longopts, NULL)) != -1) {
        int rr = cli_pipeline_opt(opt, optarg, &pcfg);
        if (rr < 0)
            return EXIT_USAGE;
        if (rr > 0)
            continue;
        switch (opt) {
        case 'f': filter = optarg; break;
        case OPT_FORCE: force = true; break;
        case OPT_FAIL_ON: {
            enum nz_severity sv;
            if (nz_severity_parse(optarg, &sv)) {
                say(g->prog, "--fail-on: unknown severity '%s' (info|low|medium|high|critical)", optarg);
                return EXIT_USAGE;
            }
            fail_on = (int)sv;
            break;
        }
        case 'q': quiet = true; break;
        case OPT_NO_PROGRESS: no_progress = true; break;
        case OPT_DB: g->db = optarg; break;
        case OPT_CONTINUOUS: continuous = true; break;
        case 'v': g->verbose++; break;
        case 'h': analyze_help(stdout); return EXIT_OK;
        default:
            say(g->prog, "analyze: unknown option or missing value: %s", argv[optind - 1]);
            analyze_help(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        say(g->prog, "analyze: no input given (a file, a folder or '-')");
        analyze_help(stderr);
        return EXIT_USAGE;
    }

    struct inputs in = {0};
    int exit_code = collect_inputs(g, argv + optind, argc - optind, &in);

    struct nz_log log = cli_log(g);
    int err = 0;
    struct store *st = cli_db_open(g->db, NULL, &log, &err);
    if (!st) {
        say(g->prog, "cannot open database %s: %s", g->db, nz_strerror(err));
        inputs_free(&in);
        return EXIT_RUNTIME;
    }
    int drc = cli_dump_start(g, &pcfg, &log); /* --dump-streams: a new 0700 folder */
    if (drc) {
        store_close(st);
        inputs_free(&in);
        return drc;
    }
    char source[1024] = "";
    size_t sl = 0;
    for (int i = optind; i < argc && sl + 1 < sizeof source; i++)
        sl += (size_t)snprintf(source + sl, sizeof source - sl, "%s%s", i > optind ? "," : "", argv[i]);
    struct store_run sr = {source, "file", filter, NZ_VERSION};
    int64_t run_id = 0;
    if (store_run_begin(st, &sr, &run_id) != 0 || store_commit(st) != 0) {
        say(g->prog, "cannot write to database %s: %s", g->db, db_why(st));
        cli_dump_stop(&pcfg);
        store_close(st);
        inputs_free(&in);
        return EXIT_RUNTIME;
    }
    struct pipeline *pl = pipeline_new(&pcfg, st, run_id, &log, &err);
    if (!pl) {
        say(g->prog, "cannot start the pipeline: %s", nz_strerror(err));
        cli_dump_stop(&pcfg);
        store_close(st);
        inputs_free(&in);
        return EXIT_RUNTIME;
    }

    struct run r;
    memset(&r, 0, sizeof r);
    r.g = g;
    r.st = st;
    r.pl = pl;
    r.run_id = run_id;
    r.filter = filter;
    r.force = force;
    r.continuous = continuous;
    r.exit_code = exit_code;
    r.pg.on = !no_progress && isatty(STDERR_FILENO);
    r.pg.start = r.pg.last = now_sec();
    for (size_t i = 0; i < in.n; i++)
        r.pg.total += in.v[i].size;

    for (size_t i = 0; i < in.n && !r.stop && !pipeline_error(pl); i++)
        analyze_one(&r, &in.v[i]);

    int perr = pipeline_finish(pl);
    if (r.pg.on)
        progress_show(&r.pg, pipeline_stats(pl), 0, true);
    const struct pipeline_stats *s = pipeline_stats(pl);
    char counters[8192];
    struct store_run_stats rs = {0};
    rs.first_usec = s->first_usec;
    rs.last_usec = s->last_usec;
    rs.packets = s->packets;
    rs.bytes = s->bytes;
    rs.tcp_packets = s->tcp_packets;
    rs.malformed = s->malformed;
    rs.flows = s->flows;
    rs.flows_evicted = s->flows_evicted;
    rs.findings = s->findings;
    rs.counters_json = pipeline_counters_json(pl, counters, sizeof counters);
    rs.finished = true;
    uint64_t sev[5] = {0};
    bool removed = false;
    if (perr) {
        say(g->prog, "database error on %s: %s; run %lld stays unfinished and none of its files is recorded as "
            "analysed (a rerun analyses them again); rows committed before are kept",
            g->db, db_why(st), (long long)run_id);
        run_fail(&r, EXIT_RUNTIME);
    } else if (finish_run(&r, &rs, &removed) != 0) {
        run_fail(&r, EXIT_RUNTIME);
    } else if (!removed && store_count_by_severity(st, run_id, sev) != 0) {
        say(g->prog, "database error on %s while counting the run's findings: %s", g->db, db_why(st));
        run_fail(&r, EXIT_RUNTIME);
    }
    if (!quiet)
        print_summary(stdout, s, sev, r.ok, r.skipped, r.failed, run_id);
    exit_code = r.exit_code;
    if (exit_code == EXIT_OK && fail_on >= 0) {
        for (int v = fail_on; v < 5; v++)
            if (sev[v])
                exit_code = EXIT_FINDINGS;
    }
    pipeline_free(pl);
    cli_dump_stop(&pcfg);
    if (store_close(st) != 0 && exit_code != EXIT_USAGE)
        exit_code = EXIT_RUNTIME;
    free(r.recs);
    inputs_free(&in);
    return exit_code;
}

int cli_dump_start(const struct cli_global *g, struct pipeline_cfg *cfg, const struct nz_log *log)
{
    cfg->dump = NULL;
    if (!cfg->dump_dir)
        return 0;
    char msg[4400];
    int rc = dump_open(cfg->dump_dir, log, &cfg->dump, msg, sizeof msg);
    if (rc == 0)
        return 0;
    fprintf(stderr, "%s: ", g->prog);
    cli_fputs_esc(msg, stderr);
    fputc('\n', stderr);
    return rc == NZ_EUSAGE ? EXIT_USAGE : EXIT_RUNTIME;
}

void cli_dump_stop(struct pipeline_cfg *cfg)
{
    dump_close(cfg->dump);
    cfg->dump = NULL;
}
