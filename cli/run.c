/* run.c — what `analyze` and `watch` share: the options that shape the pipeline, logging and
 * messages, and the run object (database, run row, pipeline, run statistics, summary and the
 * exit-code policy). See cli.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/dbpath.h"
#include "dissect/trust.h"
#include "dissect/x509.h"
#include "engine/dump.h"

/* Debian's ca-certificates bundle (update-ca-certificates writes it). */
#define CLI_CA_FILE_DEFAULT "/etc/ssl/certs/ca-certificates.crt"

/* ---- logging, parsing, pipeline options ---- */

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
    OPT_POLICY, OPT_DUMP, OPT_MAX_MEM, OPT_WORKERS, OPT_CA_FILE, OPT_CA_PATH, OPT_NO_CA
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
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"ca-file", required_argument, NULL, OPT_CA_FILE},
    {"ca-path", required_argument, NULL, OPT_CA_PATH},
    {"no-ca", no_argument, NULL, OPT_NO_CA},
    {NULL, 0, NULL, 0},
};

const char cli_pipeline_help[] =
    "  --workers N          analysing threads, each owning a share of the flows (1-64; default:\n"
    "                       the CPUs online less one, 1 to 8); the database is written by one\n"
    "                       more thread; --max-flows and --max-mem are split between workers\n"
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
    "  --ca-file FILE       CA certificates (PEM bundle or one DER) that server chains are\n"
    "                       verified against, at packet time (default: " CLI_CA_FILE_DEFAULT "\n"
    "                       when it exists)\n"
    "  --ca-path DIR        also every certificate file in DIR\n"
    "  --no-ca              do not verify chains (sessions stay at level 'encrypt')\n"
    "  --dump-streams DIR   write each flow's reassembled streams to DIR/<flow>-c2s.bin|s2c.bin;\n"
    "                       DIR must not exist: it is created (mode 0700), files are 0600\n";

void cli_engine_defaults(struct engine_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    pipeline_cfg_defaults(&cfg->pl);
    cfg->workers = engine_workers_default();
}

int cli_pipeline_opt(int opt, const char *arg, struct engine_cfg *ecfg)
{
    struct pipeline_cfg *cfg = &ecfg->pl;
    unsigned long long v;
    size_t sz;
    switch (opt) {
    case OPT_WORKERS:
        if (cli_parse_uint(arg, ENGINE_WORKERS_MAX, &v) || v == 0)
            goto bad;
        ecfg->workers = (unsigned)v;
        return 1;
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
    case OPT_CA_FILE:
        cfg->ca_file = arg;
        return 1;
    case OPT_CA_PATH:
        cfg->ca_path = arg;
        return 1;
    case OPT_NO_CA:
        cfg->no_ca = true;
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

size_t cli_merge_longopts(struct option *out, size_t cap, const struct option *own, size_t n_own)
{
    size_t k = 0;
    for (size_t i = 0; i < n_own && k + 1 < cap; i++)
        out[k++] = own[i];
    for (size_t i = 0; cli_pipeline_longopts[i].name && k + 1 < cap; i++)
        out[k++] = cli_pipeline_longopts[i];
    memset(&out[k], 0, sizeof out[k]);
    return k;
}

/* ---- messages ---- */

/* Prints "prog: message" on stderr, the whole line escaped (cli_fputs_esc): messages quote
 * paths, and texts from libpcap, zlib and SQLite, any of which may carry control bytes. */
void cli_say(const char *prog, const char *fmt, ...)
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
const char *cli_db_why(struct store *st)
{
    const char *m = store_errmsg(st);
    if (!m || !*m || strcmp(m, "not an error") == 0)
        return "the reason is in the message above";
    return m;
}

/* ---- --dump-streams ---- */

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

/* ---- the trust store ---- */

/* Loads the anchors of --ca-file/--ca-path, or the system bundle when neither was given (and
 * it exists). A file named on the command line that cannot be read is an error; a missing
 * system bundle only means chains are not verified (said once). */
static int trust_start(struct cli_run *r, struct pipeline_cfg *cfg)
{
    cfg->trust = NULL;
    if (cfg->no_ca)
        return EXIT_OK;
    const char *file = cfg->ca_file, *dir = cfg->ca_path;
    bool dflt = !file && !dir;
    if (dflt) {
        if (access(CLI_CA_FILE_DEFAULT, R_OK) != 0) {
            nz_logf(&r->log, NZ_LOG_INFO, "no CA bundle at %s: certificate chains are not verified "
                    "(--ca-file names one)", CLI_CA_FILE_DEFAULT);
            return EXIT_OK;
        }
        file = CLI_CA_FILE_DEFAULT;
    }
    char err[512];
    int rc = trust_store_load(file, dir, &r->trust, err, sizeof err);
    if (rc) {
        cli_say(r->g->prog, "cannot load CA certificates: %s", err[0] ? err : nz_strerror(rc));
        return rc == NZ_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
    }
    nz_logf(&r->log, NZ_LOG_INFO, "trust store: %zu CA certificates from %s%s%s%s", trust_store_count(r->trust),
            file ? file : "", file && dir ? " and " : "", dir ? dir : "",
            trust_store_skipped(r->trust) ? " (some unreadable ones skipped)" : "");
    cfg->trust = r->trust;
    return EXIT_OK;
}

/* ---- the run object ---- */

int cli_run_start(struct cli_run *r, struct cli_global *g, struct engine_cfg *ecfg, const struct store_run *sr,
                  const char *user)
{
    memset(r, 0, sizeof *r);
    r->g = g;
    r->ecfg = ecfg;
    r->log = cli_log(g);
    int err = 0;
    r->st = cli_db_open(g->db, user, &r->log, &err);
    if (!r->st) {
        cli_say(g->prog, "cannot open database %s: %s", g->db, nz_strerror(err));
        return EXIT_RUNTIME;
    }
    int drc = cli_dump_start(g, &ecfg->pl, &r->log); /* --dump-streams: a new 0700 folder (as the user) */
    if (drc) {
        store_close(r->st);
        return drc;
    }
    drc = trust_start(r, &ecfg->pl);
    if (drc) {
        cli_dump_stop(&ecfg->pl);
        store_close(r->st);
        return drc;
    }
    if (ecfg->pl.dump && ecfg->workers > 1) {
        /* the stream files are named by each worker's flow number: one worker keeps them unique */
        nz_logf(&r->log, NZ_LOG_INFO, "--dump-streams: analysing with one worker");
        ecfg->workers = 1;
    }
    if (store_run_begin(r->st, sr, &r->run_id) != 0 || store_commit(r->st) != 0) {
        cli_say(g->prog, "cannot write to database %s: %s", g->db, cli_db_why(r->st));
        cli_dump_stop(&ecfg->pl);
        trust_store_free(r->trust);
        r->trust = NULL;
        store_close(r->st);
        return EXIT_RUNTIME;
    }
    r->eng = engine_new(ecfg, r->st, r->run_id, &r->log, &err);
    if (!r->eng) {
        cli_say(g->prog, "cannot start the engine: %s", nz_strerror(err));
        cli_dump_stop(&ecfg->pl);
        trust_store_free(r->trust);
        r->trust = NULL;
        store_close(r->st);
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

void cli_run_fail(struct cli_run *r, int code)
{
    if (r->exit_code != EXIT_USAGE)
        r->exit_code = code;
}

void cli_run_stats(struct cli_run *r, const struct cap_stats *cs, bool finished, struct store_run_stats *rs)
{
    engine_stats(r->eng, &r->stats);
    const struct pipeline_stats *s = &r->stats;
    memset(rs, 0, sizeof *rs);
    rs->first_usec = s->first_usec;
    rs->last_usec = s->last_usec;
    rs->packets = s->packets;
    rs->bytes = s->bytes;
    rs->tcp_packets = s->tcp_packets;
    rs->malformed = s->malformed;
    if (cs) {
        rs->pcap_recv = cs->recv;
        rs->pcap_drop = cs->drop;
        rs->pcap_ifdrop = cs->ifdrop;
    }
    rs->flows = s->flows;
    rs->flows_evicted = s->flows_evicted;
    rs->findings = s->findings;
    rs->queue_full = engine_queue_full(r->eng);
    rs->counters_json = engine_counters_json(r->eng, r->counters, sizeof r->counters);
    rs->finished = finished;
}

int cli_run_update(struct cli_run *r, const struct cap_stats *cs, bool finished)
{
    struct store_run_stats rs;
    cli_run_stats(r, cs, finished, &rs);
    if (!r->finished) {
        engine_run_update(r->eng, &rs);
        return engine_error(r->eng) ? NZ_EDB : 0;
    }
    if (store_run_update(r->st, r->run_id, &rs) != 0 || store_commit(r->st) != 0)
        return NZ_EDB;
    return 0;
}

int cli_run_finish(struct cli_run *r)
{
    r->finished = true;
    return engine_finish(r->eng) ? NZ_EDB : 0;
}

int cli_run_end(struct cli_run *r, int fail_on, const uint64_t sev[NZ_SEV_COUNT])
{
    int exit_code = r->exit_code;
    if (exit_code == EXIT_OK && fail_on >= 0 && sev) {
        for (int v = fail_on; v < NZ_SEV_COUNT; v++)
            if (sev[v])
                exit_code = EXIT_FINDINGS;
    }
    engine_free(r->eng);
    r->eng = NULL;
    r->ecfg->pl.trust = NULL;
    trust_store_free(r->trust);
    r->trust = NULL;
    x509_thread_done(); /* what wolfSSL cached in this thread (loading the store, one worker) */
    cli_dump_stop(&r->ecfg->pl);
    if (store_close(r->st) != 0 && exit_code != EXIT_USAGE)
        exit_code = EXIT_RUNTIME;
    r->st = NULL;
    return exit_code;
}

/* ---- summaries ---- */

void cli_print_summary(FILE *fp, const struct pipeline_stats *s, const uint64_t sev[NZ_SEV_COUNT], size_t files_ok,
                       size_t files_skipped, size_t files_failed, int64_t run_id)
{
    char a[40], b[40];
    uint64_t total = 0;
    for (int v = 0; v < NZ_SEV_COUNT; v++)
        total += sev[v];
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
            (unsigned long long)total, (unsigned long long)sev[NZ_SEV_CRITICAL],
            (unsigned long long)sev[NZ_SEV_HIGH], (unsigned long long)sev[NZ_SEV_MEDIUM],
            (unsigned long long)sev[NZ_SEV_LOW], (unsigned long long)sev[NZ_SEV_INFO]);
}

void cli_print_stopped(FILE *fp, const char *prog, const struct pipeline_stats *s, const struct cap_stats *cs,
                       unsigned workers, uint64_t queue_full)
{
    cli_fputs_esc(prog, fp); /* argv[0]: a string from outside */
    fprintf(fp, ": stopped: %llu packets, %llu flows, %llu findings; libpcap received %llu, dropped %llu, interface dropped %llu;"
            " %u worker(s), a queue was full %llu time(s)\n",
            (unsigned long long)s->packets, (unsigned long long)s->flows,
            (unsigned long long)s->findings, (unsigned long long)cs->recv, (unsigned long long)cs->drop,
            (unsigned long long)cs->ifdrop, workers, (unsigned long long)queue_full);
}
