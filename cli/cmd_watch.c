/* cmd_watch.c — `netzwacht watch -i IFACE`: live capture into the database. Opens the
 * interface as root, drops root (--user) BEFORE touching any path, then opens the database
 * (cli/dbpath.h: as the user, so the kernel's permission checks apply; nothing is chown'ed)
 * and the --dump-streams folder, then reads packets until SIGINT/SIGTERM (or --duration /
 * --count), committing rows and libpcap's counters every --stats-interval seconds and at the
 * end. The run (database, run row, pipeline, statistics, exit code) is cli/run.c's. */
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "capture/source.h"
#include "cli/cli.h"

/* Signal handlers can only reach file-scope state: the one exception to "no mutable
 * globals", confined to this file. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void watch_help(FILE *fp)
{
    fprintf(fp,
            "usage: netzwacht watch -i IFACE [options]\n"
            "Captures live traffic (needs root or CAP_NET_RAW) into the database until SIGINT/SIGTERM.\n\n"
            "options:\n"
            "  -i, --interface IFACE  interface to capture on (e.g. eth1, lo, any)\n"
            "  --db PATH              database (default ./%s)\n"
            "  -f, --filter EXPR      BPF filter\n"
            "  --no-promisc           do not put the interface into promiscuous mode\n"
            "  --buffer-size MB       kernel capture ring per worker's socket in MiB (1-%d,\n"
            "                         default %d: ~0.4 s of a saturated 1 Gbit/s link)\n"
            "  --snaplen N            bytes captured per packet (>= 65535, default 262144)\n"
            "  --user NAME            drop root to NAME once the interface is open, before the\n"
            "                         database is opened (NAME must be able to write its folder)\n"
            "  --stats-interval SEC   commit and record libpcap counters every SEC seconds (10)\n"
            "  --duration SEC         stop after SEC seconds\n"
            "  --count N              stop after N packets\n"
            "%s"
            "  -h, --help             this text\n",
            CLI_DEFAULT_DB, CAP_BUFFER_MB_MAX, CAP_BUFFER_MB_DEFAULT, cli_pipeline_help);
}

enum { OPT_NO_PROMISC = 3000, OPT_BUFSZ, OPT_SNAPLEN, OPT_USER, OPT_STATS, OPT_DURATION, OPT_COUNT, OPT_WDB };

struct watch_opts {
    struct engine_cfg ecfg;
    struct cap_live_cfg lc;
    const char *iface, *filter, *user;
    unsigned long long stats_iv, duration, count;
};

/* Parses the options. Returns -1 to go on, else the exit code. */
static int parse_args(struct cli_global *g, int argc, char **argv, struct watch_opts *o)
{
    static const struct option own[] = {
        {"interface", required_argument, NULL, 'i'},
        {"filter", required_argument, NULL, 'f'},
        {"no-promisc", no_argument, NULL, OPT_NO_PROMISC},
        {"buffer-size", required_argument, NULL, OPT_BUFSZ},
        {"snaplen", required_argument, NULL, OPT_SNAPLEN},
        {"user", required_argument, NULL, OPT_USER},
        {"stats-interval", required_argument, NULL, OPT_STATS},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"count", required_argument, NULL, OPT_COUNT},
        {"db", required_argument, NULL, OPT_WDB},
        {"help", no_argument, NULL, 'h'},
    };
    struct option longopts[40];
    cli_merge_longopts(longopts, sizeof longopts / sizeof longopts[0], own, sizeof own / sizeof own[0]);
    memset(o, 0, sizeof *o);
    cli_engine_defaults(&o->ecfg);
    o->lc = (struct cap_live_cfg){.snaplen = 262144, .promisc = true, .buffer_mb = 0, .timeout_ms = 250};
    o->stats_iv = 10;
    unsigned long long v;
    int opt;
    while ((opt = getopt_long(argc, argv, "i:f:hv", longopts, NULL)) != -1) {
        int r = cli_pipeline_opt(opt, optarg, &o->ecfg);
        if (r < 0)
            return EXIT_USAGE;
        if (r > 0)
            continue;
        switch (opt) {
        case 'i': o->iface = optarg; break;
        case 'f': o->filter = optarg; break;
        case OPT_NO_PROMISC: o->lc.promisc = false; break;
        case OPT_BUFSZ:
            if (cli_parse_uint(optarg, CAP_BUFFER_MB_MAX, &v) || v == 0)
                goto bad;
            o->lc.buffer_mb = (int)v;
            break;
        case OPT_SNAPLEN:
            if (cli_parse_uint(optarg, 1 << 20, &v) || v < 65535)
                goto bad;
            o->lc.snaplen = (int)v;
            break;
        case OPT_USER: o->user = optarg; break;
        case OPT_STATS:
            if (cli_parse_uint(optarg, 86400, &o->stats_iv) || o->stats_iv == 0)
                goto bad;
            break;
        case OPT_DURATION:
            if (cli_parse_uint(optarg, 86400ull * 365, &o->duration))
                goto bad;
            break;
        case OPT_COUNT:
            if (cli_parse_uint(optarg, ~0ull, &o->count))
                goto bad;
            break;
        case OPT_WDB: g->db = optarg; break;
        case 'v': g->verbose++; break;
        case 'h': watch_help(stdout); return EXIT_OK;
        default: watch_help(stderr); return EXIT_USAGE;
        }
        continue;
    bad:
        fprintf(stderr, "%s watch: invalid value '%s'\n", g->prog, optarg);
        return EXIT_USAGE;
    }
    if (!o->iface || optind < argc) {
        fprintf(stderr, "%s watch: %s\n", g->prog, o->iface ? "unexpected argument" : "-i IFACE is required");
        watch_help(stderr);
        return EXIT_USAGE;
    }
    if (o->user && !getpwnam(o->user)) {
        fprintf(stderr, "%s watch: --user %s: no such user\n", g->prog, o->user);
        return EXIT_USAGE;
    }
    return -1;
}

/* Opens the interface once per worker (2+ workers: one PACKET_FANOUT group, so the kernel
 * spreads flows over the sockets, both directions of a flow to the same one), then drops root
 * (--user) before any path is touched, so the database (and its -wal/-shm) are created and
 * opened as the user with the kernel's checks. Returns the number of sources opened into
 * src[] (0 with *exit_code set: said). */
static unsigned open_live(const struct cli_global *g, struct watch_opts *o, struct cap_source **src, int *dlt,
                          int *exit_code)
{
    char eb[CAP_ERRBUF] = "", dn[64];
    int err = 0;
    unsigned n = o->ecfg.workers;
    struct cap_live_cfg lc = o->lc;
    /* the ring is per socket and not split: the kernel pins a flow to one socket, so one big
     * flow can bring the whole line rate to a single worker */
    lc.fanout_group = n > 1 ? cap_fanout_group_pick() : 0;
    unsigned k = 0;
    *exit_code = EXIT_RUNTIME;
    for (; k < n; k++) {
        src[k] = cap_open_live(o->iface, &lc, o->filter, eb, &err);
        if (src[k])
            continue;
        if (k == 0 || err != NZ_EUNSUPPORTED) {
            fprintf(stderr, "%s: ", g->prog);
            cli_fputs_esc(eb, stderr);
            fputc('\n', stderr);
            if (k == 0 && err == NZ_EUSAGE && o->filter && strstr(eb, "filter"))
                *exit_code = EXIT_USAGE;
            goto fail;
        }
        break;
    }
    if (k < n) {
        /* fanout refused on this interface: one socket, one worker */
        for (unsigned i = 0; i < k; i++)
            cap_close(src[i]);
        cli_say(g->prog, "%s: cannot spread the capture over %u sockets (%s); capturing with one worker", o->iface,
                n, eb);
        lc.fanout_group = 0;
        n = 1;
        o->ecfg.workers = 1;
        src[0] = cap_open_live(o->iface, &lc, o->filter, eb, &err);
        if (!src[0]) {
            fprintf(stderr, "%s: ", g->prog);
            cli_fputs_esc(eb, stderr);
            fputc('\n', stderr);
            return 0;
        }
        k = 1;
    }
    /* every member is open: from now on the rings keep what arrives (capture/source.h: a member that
     * joined later would move flows between members) */
    for (unsigned i = 0; i < k; i++) {
        if (cap_live_release(src[i], eb) != 0) {
            fprintf(stderr, "%s: ", g->prog);
            cli_fputs_esc(eb, stderr);
            fputc('\n', stderr);
            goto fail;
        }
    }
    *dlt = cap_datalink(src[0]);
    if (!dec_link_supported(*dlt)) {
        fprintf(stderr, "%s: ", g->prog);
        cli_fputs_esc(o->iface, stderr);
        fprintf(stderr, ": unsupported link type %s (%d)\n", cap_datalink_name(*dlt, dn, sizeof dn), *dlt);
        goto fail;
    }
    if (o->user && cli_drop_privs(o->user, eb, sizeof eb) != 0) {
        fprintf(stderr, "%s: ", g->prog);
        cli_fputs_esc(eb, stderr);
        fputc('\n', stderr);
        goto fail;
    }
    *exit_code = EXIT_OK;
    return k;
fail:
    for (unsigned i = 0; i < k; i++)
        cap_close(src[i]);
    return 0;
}

/* Waits until a signal, --duration, --count, the end of every source or an error, recording
 * the run's statistics every --stats-interval seconds. The capture threads do the reading. */
static void control_loop(struct cli_run *r, const struct watch_opts *o)
{
    double t0 = mono(), last_stats = t0;
    while (!stop_requested) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        if (!engine_live_running(r->eng))
            break;
        if (o->count && engine_packets(r->eng) >= o->count)
            break;
        if (engine_error(r->eng)) {
            cli_run_fail(r, EXIT_RUNTIME);
            break;
        }
        double t = mono();
        if (o->duration && t - t0 >= (double)o->duration)
            break;
        if (t - last_stats >= (double)o->stats_iv) {
            last_stats = t;
            struct cap_stats cs;
            engine_live_cap_stats(r->eng, &cs);
            if (cli_run_update(r, &cs, false) != 0) {
                cli_run_fail(r, EXIT_RUNTIME);
                break;
            }
        }
    }
    engine_live_stop(r->eng);
}

int cmd_watch(struct cli_global *g, int argc, char **argv)
{
    struct watch_opts o;
    int rc = parse_args(g, argc, argv, &o);
    if (rc >= 0)
        return rc;
    int dlt = 0;
    struct cap_source *src[ENGINE_WORKERS_MAX] = {0};
    unsigned nsrc = open_live(g, &o, src, &dlt, &rc);
    if (!nsrc)
        return rc;
    o.ecfg.live = src;
    o.ecfg.live_dlt = dlt;
    o.ecfg.live_max_pkts = o.count;
    struct store_run sr = {o.iface, "live", o.filter, NZ_VERSION};
    struct cli_run r;
    if ((rc = cli_run_start(&r, g, &o.ecfg, &sr, o.user)) != EXIT_OK) {
        for (unsigned i = 0; i < nsrc; i++)
            cap_close(src[i]);
        return rc;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fprintf(stderr, "%s: capturing on ", g->prog);
    cli_fputs_esc(o.iface, stderr);
    fprintf(stderr, " with %u worker(s) (run %lld, database ", nsrc, (long long)r.run_id);
    cli_fputs_esc(g->db, stderr);
    fprintf(stderr, "); Ctrl-C to stop\n");
    if (engine_live_start(r.eng) != 0) {
        cli_say(g->prog, "cannot start the capture threads");
        cli_run_fail(&r, EXIT_RUNTIME);
    } else {
        control_loop(&r, &o);
    }
    if (cli_run_finish(&r) != 0)
        cli_run_fail(&r, EXIT_RUNTIME);
    const char *cerr = engine_live_error(r.eng);
    if (*cerr) {
        fprintf(stderr, "%s: capture error: ", g->prog);
        cli_fputs_esc(cerr, stderr);
        fputc('\n', stderr);
        cli_run_fail(&r, EXIT_RUNTIME);
    }
    struct cap_stats cs;
    engine_live_cap_stats(r.eng, &cs);
    if (cli_run_update(&r, &cs, true) != 0) {
        fprintf(stderr, "%s: database error: %s (rows committed before are kept)\n", g->prog, store_errmsg(r.st));
        cli_run_fail(&r, EXIT_RUNTIME);
    }
    cli_print_stopped(stderr, g->prog, &r.stats, &cs, engine_workers(r.eng), engine_queue_full(r.eng));
    rc = cli_run_end(&r, -1, NULL);
    for (unsigned i = 0; i < nsrc; i++)
        cap_close(src[i]);
    return rc;
}
