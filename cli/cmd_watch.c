/* cmd_watch.c — `netzwacht watch -i IFACE`: live capture into the database. Opens the
 * interface as root, drops root (--user) BEFORE touching any path, then opens the database
 * (cli/dbpath.h: as the user, so the kernel's permission checks apply; nothing is chown'ed)
 * and the --dump-streams folder, then reads packets until SIGINT/SIGTERM (or --duration /
 * --count), committing rows and libpcap's counters every --stats-interval seconds and at the
 * end. */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/source.h"
#include "cli/cli.h"
#include "cli/dbpath.h"
#include "engine/dump.h"

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
            "  --buffer-size MB       kernel capture buffer in MiB\n"
            "  --snaplen N            bytes captured per packet (>= 65535, default 262144)\n"
            "  --user NAME            drop root to NAME once the interface is open, before the\n"
            "                         database is opened (NAME must be able to write its folder)\n"
            "  --stats-interval SEC   commit and record libpcap counters every SEC seconds (10)\n"
            "  --duration SEC         stop after SEC seconds\n"
            "  --count N              stop after N packets\n"
            "%s"
            "  -h, --help             this text\n",
            CLI_DEFAULT_DB, cli_pipeline_help);
}

enum { OPT_NO_PROMISC = 3000, OPT_BUFSZ, OPT_SNAPLEN, OPT_USER, OPT_STATS, OPT_DURATION, OPT_COUNT, OPT_WDB };

static void fill_run_stats(struct pipeline *pl, const struct cap_stats *cs, char *counters, size_t cap,
                           bool finished, struct store_run_stats *rs)
{
    const struct pipeline_stats *s = pipeline_stats(pl);
    memset(rs, 0, sizeof *rs);
    rs->first_usec = s->first_usec;
    rs->last_usec = s->last_usec;
    rs->packets = s->packets;
    rs->bytes = s->bytes;
    rs->tcp_packets = s->tcp_packets;
    rs->malformed = s->malformed;
    rs->pcap_recv = cs->recv;
    rs->pcap_drop = cs->drop;
    rs->pcap_ifdrop = cs->ifdrop;
    rs->flows = s->flows;
    rs->flows_evicted = s->flows_evicted;
    rs->findings = s->findings;
    rs->counters_json = pipeline_counters_json(pl, counters, cap);
    rs->finished = finished;
}

int cmd_watch(struct cli_global *g, int argc, char **argv)
{
    struct option longopts[40];
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
    size_t k = 0;
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        longopts[k++] = own[i];
    for (size_t i = 0; cli_pipeline_longopts[i].name; i++)
        longopts[k++] = cli_pipeline_longopts[i];
    memset(&longopts[k], 0, sizeof longopts[k]);

    struct pipeline_cfg pcfg;
    pipeline_cfg_defaults(&pcfg);
    struct cap_live_cfg lc = {262144, true, 0, 250};
    const char *iface = NULL, *filter = NULL, *user = NULL;
    unsigned long long stats_iv = 10, duration = 0, count = 0, v;
    int opt;
    while ((opt = getopt_long(argc, argv, "i:f:hv", longopts, NULL)) != -1) {
        int r = cli_pipeline_opt(opt, optarg, &pcfg);
        if (r < 0)
            return EXIT_USAGE;
        if (r > 0)
            continue;
        switch (opt) {
        case 'i': iface = optarg; break;
        case 'f': filter = optarg; break;
        case OPT_NO_PROMISC: lc.promisc = false; break;
        case OPT_BUFSZ:
            if (cli_parse_uint(optarg, 4096, &v) || v == 0)
                goto bad;
            lc.buffer_mb = (int)v;
            break;
        case OPT_SNAPLEN:
            if (cli_parse_uint(optarg, 1 << 20, &v) || v < 65535)
                goto bad;
            lc.snaplen = (int)v;
            break;
        case OPT_USER: user = optarg; break;
        case OPT_STATS:
            if (cli_parse_uint(optarg, 86400, &stats_iv) || stats_iv == 0)
                goto bad;
            break;
        case OPT_DURATION:
            if (cli_parse_uint(optarg, 86400ull * 365, &duration))
                goto bad;
            break;
        case OPT_COUNT:
            if (cli_parse_uint(optarg, ~0ull, &count))
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
    if (!iface || optind < argc) {
        fprintf(stderr, "%s watch: %s\n", g->prog, iface ? "unexpected argument" : "-i IFACE is required");
        watch_help(stderr);
        return EXIT_USAGE;
    }
    if (user && !getpwnam(user)) {
        fprintf(stderr, "%s watch: --user %s: no such user\n", g->prog, user);
        return EXIT_USAGE;
    }

    char eb[CAP_ERRBUF] = "";
    int err = 0;
    struct cap_source *src = cap_open_live(iface, &lc, filter, eb, &err);
    if (!src) {
        fprintf(stderr, "%s: %s\n", g->prog, eb);
        return err == NZ_EUSAGE && filter && strstr(eb, "filter") ? EXIT_USAGE : EXIT_RUNTIME;
    }
    int dlt = cap_datalink(src);
    char dn[64];
    if (!dec_link_supported(dlt)) {
        fprintf(stderr, "%s: %s: unsupported link type %s (%d)\n", g->prog, iface,
                cap_datalink_name(dlt, dn, sizeof dn), dlt);
        cap_close(src);
        return EXIT_RUNTIME;
    }
    /* The handle is open: drop root now, before any path is touched, so the database (and its
     * -wal/-shm) are created and opened as the user with the kernel's checks. */
    if (user && cap_drop_privs(user, eb) != 0) {
        fprintf(stderr, "%s: ", g->prog);
        cli_fputs_esc(eb, stderr);
        fputc('\n', stderr);
        cap_close(src);
        return EXIT_RUNTIME;
    }
    struct nz_log log = cli_log(g);
    struct store *st = cli_db_open(g->db, user, &log, &err);
    if (!st) {
        fprintf(stderr, "%s: cannot open database %s: %s\n", g->prog, g->db, nz_strerror(err));
        cap_close(src);
        return EXIT_RUNTIME;
    }
    int drc = cli_dump_start(g, &pcfg, &log); /* --dump-streams: a new 0700 folder, as the user */
    if (drc) {
        store_close(st);
        cap_close(src);
        return drc;
    }
    struct store_run sr = {iface, "live", filter, NZ_VERSION};
    int64_t run_id = 0;
    if (store_run_begin(st, &sr, &run_id) != 0 || store_commit(st) != 0) {
        fprintf(stderr, "%s: cannot write to database %s: %s\n", g->prog, g->db, store_errmsg(st));
        cli_dump_stop(&pcfg);
        store_close(st);
        cap_close(src);
        return EXIT_RUNTIME;
    }
    struct pipeline *pl = pipeline_new(&pcfg, st, run_id, &log, &err);
    if (!pl) {
        fprintf(stderr, "%s: cannot start the pipeline: %s\n", g->prog, nz_strerror(err));
        cli_dump_stop(&pcfg);
        store_close(st);
        cap_close(src);
        return EXIT_RUNTIME;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    fprintf(stderr, "%s: capturing on %s (run %lld, database %s); Ctrl-C to stop\n", g->prog, iface,
            (long long)run_id, g->db);
    int exit_code = EXIT_OK;
    double t0 = mono(), last_stats = t0;
    uint64_t n = 0;
    char counters[8192];
    struct cap_stats cs = {0};
    while (!stop_requested) {
        struct cap_pkt cp;
        int rc = cap_next(src, &cp, eb);
        if (rc == 1) {
            pipeline_packet(pl, dlt, cp.ts_usec, cp.data, cp.caplen, cp.wirelen);
            n++;
            if (count && n >= count)
                break;
        } else if (rc == 0) {
            break;
        } else if (rc < 0) {
            fprintf(stderr, "%s: capture error: %s\n", g->prog, eb);
            exit_code = EXIT_RUNTIME;
            break;
        }
        if (pipeline_error(pl)) {
            exit_code = EXIT_RUNTIME;
            break;
        }
        double t = mono();
        if (duration && t - t0 >= (double)duration)
            break;
        if (t - last_stats >= (double)stats_iv) {
            last_stats = t;
            cap_stats(src, &cs);
            struct store_run_stats rs;
            fill_run_stats(pl, &cs, counters, sizeof counters, false, &rs);
            if (store_run_update(st, run_id, &rs) != 0 || store_commit(st) != 0) {
                fprintf(stderr, "%s: database error: %s\n", g->prog, store_errmsg(st));
                exit_code = EXIT_RUNTIME;
                break;
            }
        }
    }
    cap_stats(src, &cs);
    if (pipeline_finish(pl) != 0)
        exit_code = EXIT_RUNTIME;
    struct store_run_stats rs;
    fill_run_stats(pl, &cs, counters, sizeof counters, true, &rs);
    if (store_run_update(st, run_id, &rs) != 0 || store_commit(st) != 0) {
        fprintf(stderr, "%s: database error: %s (rows committed before are kept)\n", g->prog, store_errmsg(st));
        exit_code = EXIT_RUNTIME;
    }
    const struct pipeline_stats *s = pipeline_stats(pl);
    fprintf(stderr, "%s: stopped: %llu packets, %llu flows, %llu findings; libpcap received %llu, dropped %llu, interface dropped %llu\n",
            g->prog, (unsigned long long)s->packets, (unsigned long long)s->flows,
            (unsigned long long)s->findings, (unsigned long long)cs.recv, (unsigned long long)cs.drop,
            (unsigned long long)cs.ifdrop);
    pipeline_free(pl);
    cli_dump_stop(&pcfg);
    if (store_close(st) != 0)
        exit_code = EXIT_RUNTIME;
    cap_close(src);
    return exit_code;
}
