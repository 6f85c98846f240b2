/* cmd_analyze.c — `netzwacht analyze`: capture files → pipeline → database, with content-hash
 * dedup, progress on a terminal, and a one-screen summary. Also the option handling shared
 * with `watch`. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../capture/source.h"
#include "cli.h"
#include "dbpath.h"
#include "dump.h"

/* ---- shared helpers ---- */

void cli_log_fn(void *ud, enum nz_log_level level, const char *msg)
{
    const char *prog = ud ? ud : "netzwacht";
    static const char *const lv[] = {"error", "warning", "info", "debug"};
    fprintf(stderr, "%s: %s: ", prog, lv[level <= NZ_LOG_DEBUG ? level : NZ_LOG_DEBUG]);
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
    fprintf(stderr, "netzwacht: invalid value '%s' for --%s\n", arg ? arg : "",
            cli_pipeline_longopts[opt - OPT_MAX_FLOWS].name);
    return -1;
}

/* ---- hashing a file beside its analysis ---- */

/* Content hash (BLAKE2b-256) of a new file, computed on the other core while the main
 * thread analyses it: even BLAKE2b (~1.7 ns/byte with wolfSSL; SHA-256 ~3.7) costs about as
 * much as the analysis, so doing it first would double the wall time of `analyze FILE`. */
struct hash_job {
    pthread_t tid;
    const char *path;   /* borrowed */
    char hex[65];       /* OUT */
    uint64_t size;      /* OUT */
    int rc;             /* OUT: 0 or NZ_EIO/NZ_ENOMEM */
    bool started;
};

static void *hash_thread(void *arg)
{
    struct hash_job *j = arg;
    j->rc = cap_file_blake2b(j->path, j->hex, &j->size);
    return NULL;
}

/* Starts the job; if no thread can be made, hashes right here. */
static void hash_start(struct hash_job *j, const char *path)
{
    memset(j, 0, sizeof *j);
    j->path = path;
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

struct inputs {
    char **v;
    size_t n, cap;
};

static int inputs_add(struct inputs *in, const char *path)
{
    if (in->n == in->cap) {
        size_t nc = in->cap ? in->cap * 2 : 16;
        char **nv = realloc(in->v, nc * sizeof *nv);
        if (!nv)
            return NZ_ENOMEM;
        in->v = nv;
        in->cap = nc;
    }
    in->v[in->n] = strdup(path);
    if (!in->v[in->n])
        return NZ_ENOMEM;
    in->n++;
    return 0;
}

static bool has_capture_ext(const char *name)
{
    static const char *const exts[] = {".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        size_t e = strlen(exts[i]);
        if (n > e && strcasecmp(name + n - e, exts[i]) == 0)
            return true;
    }
    return false;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Adds capture files under dir, recursively, in sorted order. depth bounds symlink loops. */
static int walk_dir(struct inputs *in, const char *dir, int depth)
{
    if (depth > 32)
        return 0;
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "netzwacht: %s: cannot read folder: %s\n", dir, strerror(errno));
        return NZ_EIO;
    }
    struct inputs names = {0};
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if ((rc = inputs_add(&names, e->d_name)) != 0)
            break;
    }
    closedir(d);
    if (names.n)
        qsort(names.v, names.n, sizeof *names.v, cmp_str);
    for (size_t i = 0; i < names.n && rc == 0; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names.v[i]);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = walk_dir(in, path, depth + 1);
        else if (S_ISREG(st.st_mode) && has_capture_ext(names.v[i]))
            rc = inputs_add(in, path);
    }
    for (size_t i = 0; i < names.n; i++)
        free(names.v[i]);
    free(names.v);
    return rc;
}

static void inputs_free(struct inputs *in)
{
    for (size_t i = 0; i < in->n; i++)
        free(in->v[i]);
    free(in->v);
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
            "*.pcap, *.pcapng, *.cap, optionally .gz, in sorted order) and '-' (stdin) into the\n"
            "database. A file whose content hash is already in the database is skipped.\n\n"
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
    while ((opt = getopt_long(argc, argv, "f:qhv", longopts, NULL)) != -1) {
        int r = cli_pipeline_opt(opt, optarg, &pcfg);
        if (r < 0)
            return EXIT_USAGE;
        if (r > 0)
            continue;
        switch (opt) {
        case 'f': filter = optarg; break;
        case OPT_FORCE: force = true; break;
        case OPT_FAIL_ON: {
            enum nz_severity sv;
            if (nz_severity_parse(optarg, &sv)) {
                fprintf(stderr, "%s: --fail-on: unknown severity '%s' (info|low|medium|high|critical)\n",
                        g->prog, optarg);
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
        default: analyze_help(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "%s analyze: no input given (a file, a folder or '-')\n", g->prog);
        analyze_help(stderr);
        return EXIT_USAGE;
    }

    int exit_code = EXIT_OK;
    struct inputs in = {0};
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (strcmp(argv[i], "-") != 0 && stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            if (walk_dir(&in, argv[i], 0) == NZ_EIO)
                exit_code = EXIT_RUNTIME;
        } else if (inputs_add(&in, argv[i]) != 0) {
            fprintf(stderr, "%s: out of memory\n", g->prog);
            inputs_free(&in);
            return EXIT_RUNTIME;
        }
    }

    struct nz_log log = cli_log(g);
    int err = 0;
    struct store *st = cli_db_open(g->db, NULL, &log, &err);
    if (!st) {
        fprintf(stderr, "%s: cannot open database %s: %s\n", g->prog, g->db, nz_strerror(err));
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
        fprintf(stderr, "%s: cannot write to database %s: %s\n", g->prog, g->db, store_errmsg(st));
        cli_dump_stop(&pcfg);
        store_close(st);
        inputs_free(&in);
        return EXIT_RUNTIME;
    }
    struct pipeline *pl = pipeline_new(&pcfg, st, run_id, &log, &err);
    if (!pl) {
        fprintf(stderr, "%s: cannot start the pipeline: %s\n", g->prog, nz_strerror(err));
        cli_dump_stop(&pcfg);
        store_close(st);
        inputs_free(&in);
        return EXIT_RUNTIME;
    }

    struct progress pg = {0};
    pg.on = !no_progress && isatty(STDERR_FILENO);
    pg.start = pg.last = now_sec();
    for (size_t i = 0; i < in.n; i++) {
        struct stat stt;
        if (strcmp(in.v[i], "-") != 0 && stat(in.v[i], &stt) == 0)
            pg.total += (uint64_t)stt.st_size;
    }

    size_t files_ok = 0, files_skipped = 0, files_failed = 0;
    for (size_t i = 0; i < in.n && !pipeline_error(pl); i++) {
        const char *path = in.v[i];
        bool is_stdin = strcmp(path, "-") == 0;
        char sha[65] = "", quick[65] = "";
        uint64_t fsize = 0;
        bool have_sha = false;
        if (!is_stdin) {
            /* Dedup without hashing before the analysis: a pre-key (size, first and last
             * 64 KiB) that was never seen proves the file new, and its content hash is then
             * computed on the other core while it is analysed. Only a known pre-key costs a
             * full hashing pass first. */
            bool seen = false;
            if (cap_file_quickkey(path, quick, &fsize) != 0) {
                fprintf(stderr, "%s: %s: cannot read: %s\n", g->prog, path, strerror(errno));
                files_failed++;
                exit_code = EXIT_RUNTIME;
                continue;
            }
            if (store_file_quick_seen(st, quick, &seen) != 0) {
                fprintf(stderr, "%s: database error: %s\n", g->prog, store_errmsg(st));
                exit_code = EXIT_RUNTIME;
                break;
            }
            if (seen) {
                if (cap_file_blake2b(path, sha, &fsize) != 0) {
                    fprintf(stderr, "%s: %s: cannot read: %s\n", g->prog, path, strerror(errno));
                    files_failed++;
                    exit_code = EXIT_RUNTIME;
                    continue;
                }
                have_sha = true;
            }
            /* A database from before schema v5 identifies its files by SHA-256 and has no
             * pre-keys: check those rows too (slower, only for such databases). */
            int64_t legacy = 0;
            char legacy_sha[65] = "";
            if (store_file_legacy_count(st, &legacy) == 0 && legacy > 0 &&
                cap_file_sha256(path, legacy_sha, &fsize) == 0) {
                int64_t prev = 0;
                if (store_file_lookup(st, legacy_sha, &prev) == 0 && prev) {
                    if (!force) {
                        fprintf(stderr, "%s: %s: already analysed in run %lld (same SHA-256); skipped, use --force to redo\n",
                                g->prog, path, (long long)prev);
                        files_skipped++;
                        pg.done += fsize;
                        continue;
                    }
                    store_file_forget(st, legacy_sha);
                }
            }
            if (have_sha) {
                int64_t prev = 0;
                if (store_file_lookup(st, sha, &prev) != 0) {
                    fprintf(stderr, "%s: database error: %s\n", g->prog, store_errmsg(st));
                    exit_code = EXIT_RUNTIME;
                    break;
                }
                if (prev && !force) {
                    fprintf(stderr, "%s: %s: already analysed in run %lld (same content hash); skipped, use --force to redo\n",
                            g->prog, path, (long long)prev);
                    files_skipped++;
                    pg.done += fsize;
                    continue;
                }
                if (prev && force && store_file_forget(st, sha) != 0) {
                    fprintf(stderr, "%s: database error: %s\n", g->prog, store_errmsg(st));
                    exit_code = EXIT_RUNTIME;
                    break;
                }
            }
        }
        char eb[CAP_ERRBUF] = "";
        struct cap_source *src = cap_open_file(path, filter, eb, &err);
        if (!src) {
            fprintf(stderr, "%s: %s\n", g->prog, eb);
            files_failed++;
            exit_code = err == NZ_EUSAGE && filter ? EXIT_USAGE : EXIT_RUNTIME;
            if (exit_code == EXIT_USAGE)
                break; /* a bad filter fails the same way for every file */
            continue;
        }
        int dlt = cap_datalink(src);
        char dn[64];
        if (!dec_link_supported(dlt)) {
            fprintf(stderr, "%s: %s: unsupported link type %s (%d); supported: EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP\n",
                    g->prog, path, cap_datalink_name(dlt, dn, sizeof dn), dlt);
            cap_close(src);
            files_failed++;
            exit_code = EXIT_RUNTIME;
            continue;
        }
        struct hash_job hj;
        if (!is_stdin && !have_sha)
            hash_start(&hj, path); /* joined below, after the file was read */
        struct cap_pkt cp;
        int rc;
        uint64_t n = 0;
        while ((rc = cap_next(src, &cp, eb)) == 1) {
            pipeline_packet(pl, dlt, cp.ts_usec, cp.data, cp.caplen, cp.wirelen);
            if ((++n & 0xfff) == 0) {
                if (pipeline_error(pl))
                    break;
                if (pg.on)
                    progress_show(&pg, pipeline_stats(pl), cap_pos(src), false);
            }
        }
        if (rc < 0) {
            fprintf(stderr, "%s: %s (stopped after %llu packets of this file; what was read is kept)\n",
                    g->prog, eb, (unsigned long long)n);
            files_failed++;
            exit_code = EXIT_RUNTIME;
        } else {
            files_ok++;
        }
        pg.done += is_stdin ? cap_pos(src) : cap_size(src);
        cap_close(src);
        if (!continuous)
            pipeline_end_flows(pl);
        if (is_stdin)
            continue;
        int hrc = 0;
        if (!have_sha) {
            hrc = hash_join(&hj);
            memcpy(sha, hj.hex, sizeof sha);
            fsize = hj.size;
        }
        if (hrc != 0) {
            fprintf(stderr, "%s: %s: cannot hash for deduplication: %s\n", g->prog, path, nz_strerror(hrc));
            exit_code = EXIT_RUNTIME;
            continue;
        }
        int arc = store_file_add(st, run_id, path, sha, fsize);
        if (arc != 0 || store_file_set_quick(st, sha, quick) != 0) {
            fprintf(stderr, "%s: database error: %s\n", g->prog, store_errmsg(st));
            exit_code = EXIT_RUNTIME;
            break;
        }
    }
    int perr = pipeline_finish(pl);
    if (pg.on)
        progress_show(&pg, pipeline_stats(pl), 0, true);
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
    if (!perr && (store_run_update(st, run_id, &rs) != 0 || store_commit(st) != 0))
        perr = NZ_EDB;
    uint64_t sev[5] = {0};
    if (!perr && store_count_by_severity(st, run_id, sev) != 0)
        perr = NZ_EDB;
    if (perr) {
        fprintf(stderr, "%s: database error on %s: %s (rows committed before are kept)\n", g->prog, g->db,
                store_errmsg(st));
        exit_code = EXIT_RUNTIME;
    }
    if (!quiet)
        print_summary(stdout, s, sev, files_ok, files_skipped, files_failed, run_id);
    if (exit_code == EXIT_OK && fail_on >= 0) {
        for (int v = fail_on; v < 5; v++)
            if (sev[v])
                exit_code = EXIT_FINDINGS;
    }
    pipeline_free(pl);
    cli_dump_stop(&pcfg);
    if (store_close(st) != 0 && exit_code != EXIT_USAGE)
        exit_code = EXIT_RUNTIME;
    inputs_free(&in);
    return exit_code;
}
