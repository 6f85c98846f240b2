/* main.c — `netzwacht` entry point: global options and the subcommand table. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

struct subcmd {
    const char *name;
    const char *help;
    int (*fn)(struct cli_global *g, int argc, char **argv);
};

static const struct subcmd subcmds[] = {
    {"analyze", "read capture files (pcap, pcapng, .gz, folders, -) into the database", cmd_analyze},
    {"watch", "capture live from an interface into the database", cmd_watch},
    {"findings", "list findings (filters: kind, severity, time, host)", cmd_findings},
    {"flows", "list TCP flows", cmd_flows},
    {"tls", "list TLS handshakes (version, cipher, SNI, JA3/JA4)", cmd_tls},
    {"http", "list plaintext HTTP requests", cmd_http},
    {"mail", "list SMTP/IMAP/POP3 sessions and their STARTTLS outcome", cmd_mail},
    {"servers", "each mail server's STARTTLS and TLS posture, security level and certificate", cmd_servers},
    {"certs", "list certificates seen in clear (filters: expired, untrusted, host, SHA-256)", cmd_certs},
    {"runs", "list analysis runs with their counters", cmd_runs},
    {"kinds", "list every finding kind with its default severity", cmd_kinds},
    {"sql", "run a read-only SQL query against the database", cmd_sql},
};

static void usage(FILE *fp, const char *prog)
{
    fprintf(fp,
            "usage: %s [--db PATH] [-v] COMMAND [options] [args]\n"
            "       %s --version | --help\n\n"
            "netzwacht %s: passive analysis of mail (SMTP/IMAP/POP3 STARTTLS), TLS and plaintext HTTP\n"
            "exposure in packet captures and live traffic; every finding goes to SQLite.\n\n"
            "commands:\n",
            prog, prog, NZ_VERSION);
    for (size_t i = 0; i < sizeof subcmds / sizeof subcmds[0]; i++)
        fprintf(fp, "  %-9s %s\n", subcmds[i].name, subcmds[i].help);
    fprintf(fp,
            "\nglobal options:\n"
            "  --db PATH   database file (default ./%s); also accepted after the command\n"
            "  -v          more diagnostics on stderr (repeat for debug)\n\n"
            "'%s COMMAND --help' describes each command. Exit codes: 0 ok, 1 --fail-on threshold\n"
            "reached, 2 usage error, 3 runtime error (unreadable input, capture or database error).\n",
            CLI_DEFAULT_DB, prog);
}

int main(int argc, char **argv)
{
    struct cli_global g = {CLI_DEFAULT_DB, "netzwacht", 0};
    /* Flows come and go by the thousand: without this, glibc gives the top of the heap back to
     * the kernel again and again (brk), and each shrink of a multi-threaded process costs a TLB
     * shootdown on every core. Memory is bounded by --max-mem, not by trimming. */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 4 << 20);
    const char *slash = strrchr(argv[0], '/');
    g.prog = slash ? slash + 1 : argv[0];
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            printf("netzwacht %s\n", NZ_VERSION);
            return EXIT_OK;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, g.prog);
            return EXIT_OK;
        } else if (strcmp(a, "--db") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: --db needs a path\n", g.prog);
                return EXIT_USAGE;
            }
            g.db = argv[++i];
        } else if (strncmp(a, "--db=", 5) == 0) {
            g.db = a + 5;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            g.verbose++;
        } else {
            break;
        }
    }
    if (i >= argc) {
        usage(stderr, g.prog);
        return EXIT_USAGE;
    }
    for (size_t k = 0; k < sizeof subcmds / sizeof subcmds[0]; k++) {
        if (strcmp(argv[i], subcmds[k].name) == 0) {
            optind = 1;
            return subcmds[k].fn(&g, argc - i, argv + i);
        }
    }
    fprintf(stderr, "%s: unknown command '%s' (see '%s --help')\n", g.prog, argv[i], g.prog);
    return EXIT_USAGE;
}
