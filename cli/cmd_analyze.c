/* cmd_analyze.c — `netzwacht analyze`: capture files → pipeline → database, with content-hash
 * dedup (engine/dedup.h), progress on a terminal, and a one-screen summary. The run itself
 * (database, run row, pipeline, statistics, exit code) is cli/run.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/source.h"
#include "cli/cli.h"
#include "engine/dedup.h"

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
        cli_say(c->prog, "%s: cannot read folder: %s", path, strerror(errnum));
        c->incomplete = true;
        break;
    case CLI_WALK_SYMLINK:
        c->links++;
        if (c->verbose)
            cli_say(c->prog, "%s: symbolic link inside a folder; not followed", path);
        break;
    case CLI_WALK_TOO_DEEP:
        cli_say(c->prog, "%s: more than %d folder levels below the folder named; not entered", path, CLI_WALK_MAX_DEPTH);
        c->incomplete = true;
        break;
    case CLI_WALK_NOT_REGULAR:
        cli_say(c->prog, "%s: not a regular file (FIFO, socket or device); skipped", path);
        break;
    case CLI_WALK_TOO_LONG:
        cli_say(c->prog, "%s: path too long; skipped", path);
        c->incomplete = true;
        break;
    case CLI_WALK_SEEN:
        if (c->verbose)
            cli_say(c->prog, "%s: folder already walked; not entered again", path);
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
        cli_say(g->prog, "out of memory");
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
                cli_say(g->prog, "%s: %zu symbolic link(s) inside not followed (links found in folders never are; "
                    "name a link's target on the command line to analyse it; -v lists them)", names[i], c.links);
        } else {
            uint64_t size = strcmp(names[i], "-") != 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)
                                ? (uint64_t)st.st_size : 0;
            rc = inputs_add(in, names[i], NULL, size);
        }
        if (rc == NZ_ENOMEM) {
            cli_say(g->prog, "out of memory");
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

struct analyze_opts {
    struct engine_cfg ecfg;
    const char *filter;
    bool force, quiet, no_progress, continuous;
    int fail_on;                   /* enum nz_severity, -1 = none */
};

/* One `analyze` invocation. */
struct analysis {
    struct cli_run run;
    const struct analyze_opts *o;
    struct dedup dd;               /* the files read, recorded only when the run ends */
    struct progress pg;
    size_t ok, skipped, failed;
    bool stop;                     /* no further input: database error or bad filter */
};

/* Says what dedup_check decided. Returns 0 to analyse the file, 1 when it was skipped or
 * failed (counted). */
static int dedup_said(struct analysis *a, const char *path, const struct dedup_check *c)
{
    const char *prog = a->run.g->prog;
    switch (c->verdict) {
    case DEDUP_NEW:
        return 0;
    case DEDUP_EREAD:
        cli_say(prog, "%s: cannot read: %s", path, c->rc == NZ_EIO ? strerror(c->errnum) : nz_strerror(c->rc));
        a->failed++;
        cli_run_fail(&a->run, EXIT_RUNTIME);
        return 1;
    case DEDUP_SAME_IN_RUN:
        cli_say(prog, "%s: same content as %s, read earlier in this run; skipped", path, c->same->path);
        break;
    case DEDUP_KNOWN_SHA256:
        cli_say(prog, "%s: already analysed in run %lld (same SHA-256); skipped, use --force to redo", path,
                (long long)c->prev);
        break;
    case DEDUP_KNOWN:
        cli_say(prog, "%s: already analysed in run %lld (same content hash); skipped, use --force to redo", path,
                (long long)c->prev);
        break;
    case DEDUP_EDB_LOOKUP:
    case DEDUP_EDB_FORGET:
        cli_say(prog, c->verdict == DEDUP_EDB_LOOKUP ? "database error while looking up %s: %s"
                                                     : "database error while forgetting the earlier analysis of %s: %s",
                path, cli_db_why(a->run.st));
        cli_run_fail(&a->run, EXIT_RUNTIME);
        a->stop = true;
        return 1;
    }
    a->skipped++;
    a->pg.done += c->size;
    return 1;
}

/* Says what dedup_add did with a file read to its end or its damage. */
static void recorded_said(struct analysis *a, const char *path, struct cap_input *in, struct dedup_check *c,
                          struct dedup_job *job)
{
    const char *prog = a->run.g->prog;
    const struct store_file_rec *same = NULL;
    int hrc = 0;
    switch (dedup_add(&a->dd, path, in, c, job, &same, &hrc)) {
    case DEDUP_ADDED:
        break;
    case DEDUP_EHASH:
        cli_say(prog, "%s: cannot hash for deduplication: %s; it will not be recorded as analysed", path,
                nz_strerror(hrc));
        cli_run_fail(&a->run, EXIT_RUNTIME);
        break;
    case DEDUP_CHANGED:
        cli_say(prog, "%s: changed while it was read (still being written?); analysed, but not recorded as "
                "analysed", path);
        break;
    case DEDUP_ONCE:
        cli_say(prog, "%s: same content as %s, read earlier in this run; recorded once", path, same->path);
        break;
    case DEDUP_ENOMEM:
        cli_say(prog, "out of memory");
        cli_run_fail(&a->run, EXIT_RUNTIME);
        a->stop = true;
        break;
    }
}

/* Opens the capture in `in` with the filter; checks its link type. NULL when it failed (said,
 * counted). */
static struct cap_source *open_source(struct analysis *a, const char *path, struct cap_input *in, int *dlt)
{
    const char *prog = a->run.g->prog;
    char eb[CAP_ERRBUF] = "", dn[64];
    int err = 0;
    struct cap_source *src = cap_open_input(in, a->o->filter, eb, &err);
    if (!src) {
        cli_say(prog, "%s", eb);
        a->failed++;
        if (err == NZ_EUSAGE && a->o->filter) {
            cli_run_fail(&a->run, EXIT_USAGE);
            a->stop = true; /* a bad filter fails the same way for every file */
        } else {
            cli_run_fail(&a->run, EXIT_RUNTIME);
        }
        return NULL;
    }
    *dlt = cap_datalink(src);
    if (!dec_link_supported(*dlt)) {
        cli_say(prog, "%s: unsupported link type %s (%d); supported: EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP",
                path, cap_datalink_name(*dlt, dn, sizeof dn), *dlt);
        cap_close(src);
        a->failed++;
        cli_run_fail(&a->run, EXIT_RUNTIME);
        return NULL;
    }
    return src;
}

/* Feeds every packet of src to the pipeline. */
static void read_packets(struct analysis *a, struct cap_source *src, int dlt, bool stream)
{
    char eb[CAP_ERRBUF] = "";
    struct cap_pkt cp;
    int rc;
    uint64_t n = 0;
    while ((rc = cap_next(src, &cp, eb)) == 1) {
        engine_packet(a->run.eng, dlt, cp.ts_usec, cp.data, cp.caplen, cp.wirelen);
        if ((++n & 0xfff) == 0) {
            if (engine_error(a->run.eng))
                break;
            if (a->pg.on) {
                engine_stats(a->run.eng, &a->run.stats);
                progress_show(&a->pg, &a->run.stats, cap_pos(src), false);
            }
        }
    }
    if (rc < 0) {
        cli_say(a->run.g->prog, "%s (stopped after %llu packets of this file; every packet before the damage was "
                "analysed and is kept)", eb, (unsigned long long)n);
        a->failed++;
        cli_run_fail(&a->run, EXIT_RUNTIME);
    } else {
        a->ok++;
    }
    a->pg.done += stream ? cap_pos(src) : cap_size(src);
}

/* Opens one input once, deduplicates it (regular files), analyses it and, when it was read
 * to its end or its damage, adds it to the files the run records at its end. */
static void analyze_one(struct analysis *a, const struct input *ip)
{
    char eb[CAP_ERRBUF] = "";
    int err = 0, dlt = 0;
    struct cap_input *in = cap_input_open(ip->path, ip->found ? &ip->f : NULL, eb, &err);
    if (!in) {
        cli_say(a->run.g->prog, "%s", eb);
        a->failed++;
        cli_run_fail(&a->run, EXIT_RUNTIME);
        return;
    }
    bool stream = cap_input_is_stream(in);
    struct dedup_check c;
    memset(&c, 0, sizeof c);
    if (!stream) {
        engine_store_lock(a->run.eng); /* the writer thread pauses between batches */
        dedup_check(&a->dd, in, &c);
        int said = dedup_said(a, ip->path, &c);
        engine_store_unlock(a->run.eng);
        if (said != 0) {
            cap_input_close(in);
            return;
        }
    }
    struct cap_source *src = open_source(a, ip->path, in, &dlt);
    if (!src) {
        cap_input_close(in);
        return;
    }
    if (stream)
        a->dd.streams = true;
    struct dedup_job job;
    if (!stream && !c.have_hash)
        dedup_job_start(&job, in); /* joined by dedup_add, after the file was read */
    read_packets(a, src, dlt, stream);
    cap_close(src);
    if (!a->o->continuous)
        engine_end_flows(a->run.eng);
    if (!stream) {
        engine_store_lock(a->run.eng);
        recorded_said(a, ip->path, in, &c, c.have_hash ? NULL : &job);
        engine_store_unlock(a->run.eng);
    }
    cap_input_close(in);
}

/* Ends the run: records its files and marks it finished in one transaction (see
 * store_file_finish_run), and says what happened when another process got there first. */
static int finish_run(struct analysis *a, const struct store_run_stats *rs, bool *removed)
{
    const char *prog = a->run.g->prog;
    enum store_finish outcome = STORE_FINISHED;
    const struct store_file_rec *recs = a->dd.recs;
    int64_t *clash = calloc(a->dd.nrec ? a->dd.nrec : 1, sizeof *clash);
    *removed = false;
    if (!clash) {
        cli_say(prog, "out of memory");
        return NZ_ENOMEM;
    }
    if (dedup_finish_run(&a->dd, a->run.run_id, rs, clash, &outcome) != 0) {
        cli_say(prog, "database error on %s while ending run %lld: %s; the run stays unfinished and none of its "
                "files is recorded as analysed (a rerun analyses them again); rows committed before are kept",
                a->run.g->db, (long long)a->run.run_id, cli_db_why(a->run.st));
        free(clash);
        return NZ_EDB;
    }
    for (size_t i = 0; i < a->dd.nrec; i++) {
        if (!clash[i])
            continue;
        if (a->dd.force)
            cli_say(prog, "%s: recorded meanwhile by run %lld (another netzwacht process); --force: that analysis "
                    "was replaced by this run's", recs[i].path, (long long)clash[i]);
        else
            cli_say(prog, "%s: analysed meanwhile by run %lld (another netzwacht process finished it first)",
                    recs[i].path, (long long)clash[i]);
    }
    if (outcome == STORE_RUN_REMOVED) {
        cli_say(prog, "run %lld only repeated that analysis and was removed, so that nothing is stored twice",
                (long long)a->run.run_id);
        *removed = true;
    } else if (outcome == STORE_RUN_REFUSED) {
        cli_say(prog, "run %lld keeps its rows but stays unfinished and none of its files is recorded as analysed: "
                "its rows for the file(s) above repeat the other run's, and rows are not linked to files",
                (long long)a->run.run_id);
        cli_run_fail(&a->run, EXIT_RUNTIME);
    }
    free(clash);
    return 0;
}

/* After the last input: flushes the pipeline, ends the run row and counts its findings per
 * severity into sev. */
static void end_run(struct analysis *a, uint64_t sev[NZ_SEV_COUNT])
{
    struct cli_run *r = &a->run;
    int perr = cli_run_finish(r);
    struct store_run_stats rs;
    cli_run_stats(r, NULL, true, &rs);
    if (a->pg.on)
        progress_show(&a->pg, &r->stats, 0, true);
    bool removed = false;
    if (perr) {
        cli_say(r->g->prog, "database error on %s: %s; run %lld stays unfinished and none of its files is recorded "
                "as analysed (a rerun analyses them again); rows committed before are kept",
                r->g->db, cli_db_why(r->st), (long long)r->run_id);
        cli_run_fail(r, EXIT_RUNTIME);
    } else if (finish_run(a, &rs, &removed) != 0) {
        cli_run_fail(r, EXIT_RUNTIME);
    } else if (!removed && store_count_by_severity(r->st, r->run_id, sev) != 0) {
        cli_say(r->g->prog, "database error on %s while counting the run's findings: %s", r->g->db,
                cli_db_why(r->st));
        cli_run_fail(r, EXIT_RUNTIME);
    }
}

/* Parses the options. Returns -1 to go on (optind at the first input), else the exit code. */
static int parse_args(struct cli_global *g, int argc, char **argv, struct analyze_opts *o)
{
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
    struct option longopts[32];
    cli_merge_longopts(longopts, sizeof longopts / sizeof longopts[0], own, sizeof own / sizeof own[0]);
    memset(o, 0, sizeof *o);
    cli_engine_defaults(&o->ecfg);
    o->fail_on = -1;
    int opt;
    enum nz_severity sv;
    opterr = 0; /* getopt would print the bad option raw; it is said escaped below */
    while ((opt = getopt_long(argc, argv, "f:qhv", longopts, NULL)) != -1) {
        int rr = cli_pipeline_opt(opt, optarg, &o->ecfg);
        if (rr < 0)
            return EXIT_USAGE;
        if (rr > 0)
            continue;
        switch (opt) {
        case 'f': o->filter = optarg; break;
        case OPT_FORCE: o->force = true; break;
        case OPT_FAIL_ON:
            if (nz_severity_parse(optarg, &sv)) {
                cli_say(g->prog, "--fail-on: unknown severity '%s' (info|low|medium|high|critical)", optarg);
                return EXIT_USAGE;
            }
            o->fail_on = (int)sv;
            break;
        case 'q': o->quiet = true; break;
        case OPT_NO_PROGRESS: o->no_progress = true; break;
        case OPT_DB: g->db = optarg; break;
        case OPT_CONTINUOUS: o->continuous = true; break;
        case 'v': g->verbose++; break;
        case 'h': analyze_help(stdout); return EXIT_OK;
        default:
            cli_say(g->prog, "analyze: unknown option or missing value: %s", argv[optind - 1]);
            analyze_help(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_say(g->prog, "analyze: no input given (a file, a folder or '-')");
        analyze_help(stderr);
        return EXIT_USAGE;
    }
    return -1;
}

int cmd_analyze(struct cli_global *g, int argc, char **argv)
{
    struct analyze_opts o;
    int rc = parse_args(g, argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct inputs in = {0};
    int walked = collect_inputs(g, argv + optind, argc - optind, &in);
    char source[1024] = "";
    size_t sl = 0;
    for (int i = optind; i < argc && sl + 1 < sizeof source; i++)
        sl += (size_t)snprintf(source + sl, sizeof source - sl, "%s%s", i > optind ? "," : "", argv[i]);
    struct store_run sr = {source, "file", o.filter, NZ_VERSION};
    struct analysis a;
    memset(&a, 0, sizeof a);
    if ((rc = cli_run_start(&a.run, g, &o.ecfg, &sr, NULL)) != EXIT_OK) {
        inputs_free(&in);
        return rc;
    }
    a.o = &o;
    a.run.exit_code = walked;
    dedup_init(&a.dd, a.run.st, o.force);
    a.pg.on = !o.no_progress && isatty(STDERR_FILENO);
    a.pg.start = a.pg.last = now_sec();
    for (size_t i = 0; i < in.n; i++)
        a.pg.total += in.v[i].size;
    for (size_t i = 0; i < in.n && !a.stop && !engine_error(a.run.eng); i++)
        analyze_one(&a, &in.v[i]);
    uint64_t sev[NZ_SEV_COUNT] = {0};
    end_run(&a, sev);
    if (!o.quiet)
        cli_print_summary(stdout, &a.run.stats, sev, a.ok, a.skipped, a.failed, a.run.run_id);
    rc = cli_run_end(&a.run, o.fail_on, sev);
    dedup_free(&a.dd);
    inputs_free(&in);
    return rc;
}
