/* fanout_probe — drives capture/source.c's live side for tests/integ/fanout.py.
 *
 * Opens N handles on IFACE in one PACKET_FANOUT group through cap_open_live() (plus, with -r,
 * a reference handle outside the group that sees every packet), prints "ready", waits for a
 * line on standard input, starts one reader thread per handle (as the engine's workers do),
 * prints "started" once every thread has made its first read, reads until standard input
 * ends, then prints one line per packet and per handle:
 *   p HANDLE HASH INRING CAPLEN KEY
 *       HANDLE = 0..N-1 or "ref"; HASH = FNV-1a 64 of the captured bytes; INRING = 1 if the
 *       bytes lay in a packet socket's mmap'd ring (zero copy), else 0; KEY = "tcp SRC SPORT
 *       DST DPORT LABEL" as decoded (direction as seen; LABEL = the IPv6 flow label, 0 for
 *       IPv4), else "- REASON" (dec_reason_name)
 *   s HANDLE RECV DROP IFDROP DELIVERED RING_BYTES
 * Options: -n N handles (2), -g GROUP (cap_fanout_group_pick()), -b MB buffer (0 = default),
 * -t MS timeout (100), -f FILTER, -m next|dispatch (dispatch), -r reference handle,
 * -c IFACE2: then open one more handle on IFACE2 in the same group and print
 *   "conflict CODE MESSAGE" (CODE = nz_strerror() of cap_open_live's error, "opened" if it
 *   opened).
 * Exit 0, or 1 with a message when a handle cannot be opened. */
#include "capture/decode.h"
#include "capture/source.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_H 17 /* 16 fanout handles + the reference */

struct rec {
    uint64_t hash;
    uint32_t caplen;
    bool inring;
    char key[112];
};

struct handle {
    struct cap_source *src;
    int idx;           /* -1 = reference */
    int dlt;
    bool use_next;
    struct rec *recs;
    size_t n, cap;
    int rc;            /* last read result */
    char err[CAP_ERRBUF];
};

static struct {
    uintptr_t lo, hi;
} rings[64];
static int nrings;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int first_reads;

/* The mmap'd rings of packet sockets ("socket:[inode]" mappings). */
static void load_rings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f) && nrings < 64) {
        unsigned long long lo, hi;
        if (strstr(line, "socket:[") && sscanf(line, "%llx-%llx", &lo, &hi) == 2) {
            rings[nrings].lo = (uintptr_t)lo;
            rings[nrings].hi = (uintptr_t)hi;
            nrings++;
        }
    }
    if (f)
        fclose(f);
}

static bool in_ring(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    for (int i = 0; i < nrings; i++)
        if (a >= rings[i].lo && a < rings[i].hi)
            return true;
    return false;
}

static void record(struct handle *h, const struct cap_pkt *p)
{
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 1024;
        struct rec *r = realloc(h->recs, nc * sizeof *r);
        if (!r) {
            fprintf(stderr, "fanout_probe: out of memory\n");
            exit(1);
        }
        h->recs = r;
        h->cap = nc;
    }
    struct rec *r = &h->recs[h->n++];
    uint64_t x = 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < p->caplen; i++)
        x = (x ^ p->data[i]) * 0x100000001b3ull;
    r->hash = x;
    r->caplen = p->caplen;
    r->inring = in_ring(p->data);
    struct pkt d;
    enum dec_reason why = dec_packet(h->dlt, p->data, p->caplen, p->wirelen, p->ts_usec, &d);
    if (why == DEC_OK) {
        char a[64], b[64];
        unsigned label = d.ip_ver == 6 ? (unsigned)(d.l3[1] & 0x0f) << 16 | (unsigned)d.l3[2] << 8 | d.l3[3] : 0;
        snprintf(r->key, sizeof r->key, "tcp %s %u %s %u %u", dec_addr_str(d.ip_ver, d.src, a, sizeof a), d.sport,
                 dec_addr_str(d.ip_ver, d.dst, b, sizeof b), d.dport, label);
    } else {
        snprintf(r->key, sizeof r->key, "- %s", dec_reason_name(why));
    }
}

static void on_pkt(void *user, const struct cap_pkt *p) { record(user, p); }

static void *reader(void *arg)
{
    struct handle *h = arg;
    bool first = true;
    for (;;) {
        if (h->use_next) {
            struct cap_pkt p;
            h->rc = cap_next(h->src, &p, h->err);
            if (h->rc == 1)
                record(h, &p);
        } else {
            h->rc = cap_dispatch(h->src, 64, on_pkt, h, h->err);
        }
        if (first) {
            pthread_mutex_lock(&mu);
            first_reads++;
            pthread_cond_broadcast(&cv);
            pthread_mutex_unlock(&mu);
            first = false;
        }
        if (h->rc == 0 || h->rc < 0)
            break;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int n = 2, buffer_mb = 0, timeout_ms = 100, opt;
    long group = -1;
    const char *filter = NULL, *conflict = NULL;
    bool use_next = false, ref = false;
    while ((opt = getopt(argc, argv, "n:g:b:t:f:m:rc:")) != -1) {
        switch (opt) {
        case 'n': n = atoi(optarg); break;
        case 'g': group = atol(optarg); break;
        case 'b': buffer_mb = atoi(optarg); break;
        case 't': timeout_ms = atoi(optarg); break;
        case 'f': filter = optarg; break;
        case 'm': use_next = strcmp(optarg, "next") == 0; break;
        case 'r': ref = true; break;
        case 'c': conflict = optarg; break;
        default: return 2;
        }
    }
    if (optind + 1 != argc || n < 1 || n > MAX_H - 1) {
        fprintf(stderr, "usage: fanout_probe [-n N] [-g GROUP] [-b MB] [-t MS] [-f FILTER] [-m next|dispatch] [-r] "
                        "[-c IFACE2] IFACE\n");
        return 2;
    }
    const char *iface = argv[optind];
    uint16_t g = group >= 0 ? (uint16_t)group : cap_fanout_group_pick();
    struct cap_live_cfg cfg = {.snaplen = 262144, .promisc = true, .buffer_mb = buffer_mb, .timeout_ms = timeout_ms,
                               .fanout_group = g};
    static struct handle hs[MAX_H];
    int nh = 0;
    char eb[CAP_ERRBUF];
    int err;
    for (int i = 0; i < n + (ref ? 1 : 0); i++) {
        struct cap_live_cfg c = cfg;
        if (i == n)
            c.fanout_group = 0; /* the reference handle */
        struct cap_source *s = cap_open_live(iface, &c, filter, eb, &err);
        if (!s) {
            fprintf(stderr, "fanout_probe: handle %d: %s (%s)\n", i, eb, nz_strerror(err));
            return 1;
        }
        hs[nh].src = s;
        hs[nh].idx = i == n ? -1 : i;
        hs[nh].dlt = cap_datalink(s);
        hs[nh].use_next = use_next;
        nh++;
    }
    if (conflict) {
        struct cap_source *s = cap_open_live(conflict, &cfg, NULL, eb, &err);
        printf("conflict %s %s\n", s ? "opened" : nz_strerror(err), s ? "" : eb);
        cap_close(s);
    }
    load_rings();
    printf("ready %u\n", (unsigned)g);
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        return 0;
    pthread_t th[MAX_H];
    for (int i = 0; i < nh; i++)
        if (pthread_create(&th[i], NULL, reader, &hs[i]) != 0) {
            fprintf(stderr, "fanout_probe: cannot start a thread\n");
            return 1;
        }
    pthread_mutex_lock(&mu);
    while (first_reads < nh)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    printf("started\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin))
        ;
    for (int i = 0; i < nh; i++)
        cap_break(hs[i].src);
    int rc = 0;
    for (int i = 0; i < nh; i++) {
        pthread_join(th[i], NULL);
        if (hs[i].rc < 0) {
            fprintf(stderr, "fanout_probe: handle %d: read error: %s\n", hs[i].idx, hs[i].err);
            rc = 1;
        }
    }
    for (int i = 0; i < nh; i++) {
        char name[16];
        if (hs[i].idx < 0)
            snprintf(name, sizeof name, "ref");
        else
            snprintf(name, sizeof name, "%d", hs[i].idx);
        for (size_t k = 0; k < hs[i].n; k++)
            printf("p %s %016" PRIx64 " %d %" PRIu32 " %s\n", name, hs[i].recs[k].hash, hs[i].recs[k].inring,
                   hs[i].recs[k].caplen, hs[i].recs[k].key);
        struct cap_stats st;
        if (cap_stats(hs[i].src, &st) != 0)
            memset(&st, 0xff, sizeof st);
        printf("s %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %zu %" PRIu64 "\n", name, st.recv, st.drop, st.ifdrop, hs[i].n,
               cap_ring_bytes(hs[i].src));
        cap_close(hs[i].src);
        free(hs[i].recs);
    }
    return rc;
}
