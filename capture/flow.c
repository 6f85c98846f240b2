/* flow.c — bidirectional TCP flow table: normalised 5-tuple hash, LRU list, packet-time
 * expiry, LRU eviction at the cap.
 *
 * Follows: RFC 9293 §3.5 (a SYN without ACK opens, SYN+ACK answers, FIN from both sides or
 * a RST closes) only as far as roles and lifetime need it; this is not a TCP state machine.
 * Time is packet time only. Packet time may step back a little across merged files: every
 * "now - then" is taken as 0 when now < then, and a flow's last_usec never moves back.
 *
 * Design:
 *   - buckets: power of two >= max_flows (load factor <= 1), at most 2^20, allocated once;
 *     chains are singly linked through flow.hnext.
 *   - key: (ip_ver, lower (ip,port), higher (ip,port)) so both directions hash alike; the
 *     hash is murmur3's 32-bit block mix and finaliser over that key with a fixed seed
 *     (deterministic across runs and hosts: words are assembled big-endian by value).
 *   - LRU: doubly linked, most recently seen at the head; idle flows collect at the tail.
 *   - closing list: flows that saw FIN/FIN or RST, appended in the order they closed. The
 *     linger is the same for all, so the head is always the next to expire. Expiry reaps the
 *     closing list's head, then the LRU tail, at most FLOW_EXPIRE_PER_PKT visits per packet:
 *     O(1) and only hot list ends are touched (an earlier sweep cursor through the middle of
 *     the LRU cost a cache miss per visited flow: ~0.5 µs per packet at 100k open flows).
 *   - memory: with cfg.mem, the bucket array and every flow entry are charged at their heap
 *     size (mem.h) while they exist; the owner of the budget decides when to evict.
 *   - expiry is strict: a flow is idle when more than idle_sec passed since its last packet
 *     and closed when more than FLOW_CLOSE_LINGER_SEC passed since closing_usec.
 *
 * Ignored on purpose: sequence numbers (reasm.c owns them), simultaneous open, TCP states
 * between SYN and FIN, a SYN on a flow that is not closing (treated as a retransmission). */
#include "capture/flow.h"

#include "core/limits.h"

#include <stdlib.h>
#include <string.h>

#define USEC_PER_SEC 1000000ull
#define FLOW_BUCKETS_MAX (1u << 20) /* 8 MiB of bucket heads; the default 1M flows fit */

struct flow_table {
    struct flow_cfg cfg;    /* as given; both fields > 0 */
    flow_end_fn end_fn;     /* may be NULL */
    void *ud;               /* passed to end_fn */
    struct flow **buckets;  /* nbuckets heads */
    uint32_t mask;          /* nbuckets - 1 (nbuckets is a power of two, <= 2^20) */
    struct flow *lru_head;  /* most recently seen */
    struct flow *lru_tail;  /* least recently seen */
    struct flow *close_head;  /* closing list: earliest closed first */
    struct flow *close_tail;
    uint64_t next_id;       /* id of the next flow created, from 1 */
    struct flow_stats stats;
};

/* Normalised key: endpoint a is the (ip,port) pair that compares lower. */
struct flow_key {
    uint8_t ip_ver;
    const uint8_t *a_ip, *b_ip; /* 16 bytes each, borrowed from the packet */
    uint16_t a_port, b_port;
};

/* Names indexed by enum flow_end / enum flow_orient; stored in the flows table. */
static const char *const end_names[] = {"fin", "rst", "idle", "evicted", "reused", "shutdown"};
static const char *const orient_names[] = {"syn", "synack", "port", "first"};

/* See flow.h. Returns a static string ("unknown" for out-of-range values). */
const char *flow_end_name(enum flow_end e)
{
    if ((unsigned)e < sizeof end_names / sizeof end_names[0])
        return end_names[e];
    return "unknown";
}

/* See flow.h. Returns a static string ("unknown" for out-of-range values). */
const char *flow_orient_name(enum flow_orient o)
{
    if ((unsigned)o < sizeof orient_names / sizeof orient_names[0])
        return orient_names[o];
    return "unknown";
}

/* <0, 0, >0 like memcmp, over (ip, port). */
static int ep_cmp(const uint8_t *ip1, uint16_t port1, const uint8_t *ip2, uint16_t port2)
{
    int c = memcmp(ip1, ip2, 16);
    if (c)
        return c;
    return (port1 > port2) - (port1 < port2);
}

static struct flow_key key_of(const struct pkt *p)
{
    struct flow_key k;
    k.ip_ver = p->ip_ver;
    if (ep_cmp(p->src, p->sport, p->dst, p->dport) <= 0) {
        k.a_ip = p->src;
        k.a_port = p->sport;
        k.b_ip = p->dst;
        k.b_port = p->dport;
    } else {
        k.a_ip = p->dst;
        k.a_port = p->dport;
        k.b_ip = p->src;
        k.b_port = p->sport;
    }
    return k;
}

static uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

/* murmur3_32 block step. */
static uint32_t mix_word(uint32_t h, uint32_t k)
{
    k *= 0xcc9e2d51u;
    k = rotl32(k, 15);
    k *= 0x1b873593u;
    h ^= k;
    h = rotl32(h, 13);
    return h * 5u + 0xe6546b64u;
}

static uint32_t mix_ip(uint32_t h, const uint8_t *ip)
{
    for (int i = 0; i < 16; i += 4)
        h = mix_word(h, ((uint32_t)ip[i] << 24) | ((uint32_t)ip[i + 1] << 16) |
                            ((uint32_t)ip[i + 2] << 8) | ip[i + 3]);
    return h;
}

static uint32_t key_hash(const struct flow_key *k)
{
    uint32_t h = 0x6e7a7768u; /* fixed seed ("nzwh"): the table must be deterministic */
    h = mix_ip(h, k->a_ip);
    h = mix_ip(h, k->b_ip);
    h = mix_word(h, ((uint32_t)k->a_port << 16) | k->b_port);
    h = mix_word(h, k->ip_ver);
    h ^= 37u; /* key length in bytes, as murmur3 does */
    /* murmur3 fmix32 */
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

uint32_t flow_hash(const struct pkt *p)
{
    struct flow_key k = key_of(p);
    return key_hash(&k);
}

/* Direction of p on f: FLOW_DIR_C2S / FLOW_DIR_S2C, or -1 when p is not on f. */
static int flow_dir_of(const struct flow *f, const struct pkt *p)
{
    if (f->ip_ver != p->ip_ver)
        return -1;
    if (f->cli_port == p->sport && f->srv_port == p->dport && !memcmp(f->cli_ip, p->src, 16) &&
        !memcmp(f->srv_ip, p->dst, 16))
        return FLOW_DIR_C2S;
    if (f->srv_port == p->sport && f->cli_port == p->dport && !memcmp(f->srv_ip, p->src, 16) &&
        !memcmp(f->cli_ip, p->dst, 16))
        return FLOW_DIR_S2C;
    return -1;
}

static void lru_unlink(struct flow_table *t, struct flow *f)
{
    if (f->lru_prev)
        f->lru_prev->lru_next = f->lru_next;
    else
        t->lru_head = f->lru_next;
    if (f->lru_next)
        f->lru_next->lru_prev = f->lru_prev;
    else
        t->lru_tail = f->lru_prev;
    f->lru_prev = f->lru_next = NULL;
}

static bool on_close_list(const struct flow_table *t, const struct flow *f)
{
    return f->close_prev || f->close_next || t->close_head == f;
}

static void close_unlink(struct flow_table *t, struct flow *f)
{
    if (!on_close_list(t, f))
        return;
    if (f->close_prev)
        f->close_prev->close_next = f->close_next;
    else
        t->close_head = f->close_next;
    if (f->close_next)
        f->close_next->close_prev = f->close_prev;
    else
        t->close_tail = f->close_prev;
    f->close_prev = f->close_next = NULL;
}

static void close_append(struct flow_table *t, struct flow *f)
{
    f->close_next = NULL;
    f->close_prev = t->close_tail;
    if (t->close_tail)
        t->close_tail->close_next = f;
    else
        t->close_head = f;
    t->close_tail = f;
}

static void lru_push_head(struct flow_table *t, struct flow *f)
{
    f->lru_prev = NULL;
    f->lru_next = t->lru_head;
    if (t->lru_head)
        t->lru_head->lru_prev = f;
    else
        t->lru_tail = f;
    t->lru_head = f;
}

static void hash_unlink(struct flow_table *t, struct flow *f)
{
    struct flow **pp = &t->buckets[f->hash & t->mask];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    f->hnext = NULL;
}

/* Removes f from the table, reports it once, frees it. */
static void flow_end(struct flow_table *t, struct flow *f, enum flow_end why)
{
    hash_unlink(t, f);
    lru_unlink(t, f);
    close_unlink(t, f);
    t->stats.active--;
    t->stats.ended[why]++;
    if (t->end_fn)
        t->end_fn(t->ud, f, why); /* f is intact (only its links are cleared) */
    free(f);
    if (t->cfg.mem)
        mem_uncharge(t->cfg.mem, flow_entry_mem());
}

/* Why f is over at `now`, or -1 while it is still live. */
static int flow_expired(const struct flow_table *t, const struct flow *f, uint64_t now)
{
    if (f->closing_usec && now > f->closing_usec &&
        now - f->closing_usec > FLOW_CLOSE_LINGER_SEC * USEC_PER_SEC)
        return (f->fin_seen[0] && f->fin_seen[1]) ? FLOW_END_FIN : FLOW_END_RST;
    if (now > f->last_usec && now - f->last_usec > (uint64_t)t->cfg.idle_sec * USEC_PER_SEC)
        return FLOW_END_IDLE;
    return -1;
}

/* Bounded expiry that never ends `keep` (may be NULL). max_visits 0 = whole table. */
static size_t expire_some(struct flow_table *t, uint64_t now, size_t max_visits, const struct flow *keep)
{
    size_t ended = 0;
    int why;

    if (max_visits == 0) {
        for (struct flow *f = t->lru_tail, *prev; f; f = prev) {
            prev = f->lru_prev;
            if (f != keep && (why = flow_expired(t, f, now)) >= 0) {
                flow_end(t, f, (enum flow_end)why);
                ended++;
            }
        }
        return ended;
    }

    size_t visits = 0;
    /* closed flows expire in the order they closed */
    while (visits < max_visits && t->close_head && t->close_head != keep) {
        visits++;
        why = flow_expired(t, t->close_head, now);
        if (why < 0)
            break;
        flow_end(t, t->close_head, (enum flow_end)why);
        ended++;
    }
    /* idle flows gather at the LRU tail */
    while (visits < max_visits && t->lru_tail && t->lru_tail != keep) {
        visits++;
        why = flow_expired(t, t->lru_tail, now);
        if (why < 0)
            break;
        flow_end(t, t->lru_tail, (enum flow_end)why);
        ended++;
    }
    return ended;
}

/* See flow.h. Returns the number of flows ended. */
size_t flow_expire(struct flow_table *t, uint64_t now_usec, size_t max_visits)
{
    if (!t)
        return 0;
    return expire_some(t, now_usec, max_visits, NULL);
}

/* See flow.h. Returns false when the table is empty or holds only `keep`. */
bool flow_evict_lru(struct flow_table *t, const struct flow *keep)
{
    if (!t)
        return false;
    struct flow *f = t->lru_tail;
    if (f && f == keep)
        f = f->lru_prev;
    if (!f)
        return false;
    flow_end(t, f, FLOW_END_EVICTED);
    return true;
}

/* See flow.h. Ends flows from the LRU tail; the table stays usable. */
void flow_end_all(struct flow_table *t, enum flow_end why)
{
    if (!t)
        return;
    while (t->lru_tail)
        flow_end(t, t->lru_tail, why);
}

/* Bucket heads for max_flows: a power of two >= max_flows, 16 .. FLOW_BUCKETS_MAX. */
static size_t bucket_count(size_t max_flows)
{
    size_t n = 16;
    while (n < max_flows && n < FLOW_BUCKETS_MAX)
        n <<= 1;
    return n;
}

/* See flow.h. */
size_t flow_entry_mem(void) { return nz_heap_size(sizeof(struct flow)); }

/* See flow.h. */
size_t flow_buckets_mem(size_t max_flows) { return nz_heap_size(bucket_count(max_flows) * sizeof(struct flow *)); }

/* See flow.h. On failure returns NULL with *err = NZ_EUSAGE (bad cfg) or NZ_ENOMEM. The
 * caller owns the table and frees it with flow_table_free(). */
struct flow_table *flow_table_new(const struct flow_cfg *cfg, flow_end_fn end_fn, void *ud, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    *err = NZ_OK;
    if (!cfg || cfg->max_flows == 0 || cfg->idle_sec == 0) {
        *err = NZ_EUSAGE;
        return NULL;
    }
    struct flow_table *t = calloc(1, sizeof *t);
    if (!t)
        goto fail;
    size_t n = bucket_count(cfg->max_flows);
    t->buckets = calloc(n, sizeof *t->buckets);
    if (!t->buckets)
        goto fail;
    t->mask = (uint32_t)(n - 1);
    t->cfg = *cfg;
    t->end_fn = end_fn;
    t->ud = ud;
    t->next_id = 1;
    if (cfg->mem)
        mem_charge(cfg->mem, flow_buckets_mem(cfg->max_flows));
    return t;
fail:
    free(t);
    *err = NZ_ENOMEM;
    return NULL;
}

/* See flow.h. Calls the end callback for every remaining flow (FLOW_END_SHUTDOWN). */
void flow_table_free(struct flow_table *t)
{
    if (!t)
        return;
    flow_end_all(t, FLOW_END_SHUTDOWN);
    if (t->cfg.mem)
        mem_uncharge(t->cfg.mem, flow_buckets_mem(t->cfg.max_flows));
    free(t->buckets);
    free(t);
}

/* Roles of a new flow from its first packet p (rules in flow.h). Returns true when the
 * sender of p is the client. */
static bool first_sender_is_client(const struct pkt *p, enum flow_orient *orient /* OUT */)
{
    bool syn = p->tcp_flags & TCP_SYN, ack = p->tcp_flags & TCP_ACK;
    if (syn && !ack) {
        *orient = FLOW_ORIENT_SYN;
        return true;
    }
    if (syn && ack) {
        *orient = FLOW_ORIENT_SYNACK;
        return false;
    }
    bool s_low = p->sport < 1024, d_low = p->dport < 1024;
    if (s_low != d_low) {
        *orient = FLOW_ORIENT_PORT;
        return d_low; /* the well-known port is the server */
    }
    if (p->sport != p->dport) {
        *orient = FLOW_ORIENT_PORT;
        return p->dport < p->sport; /* the lower port is the server */
    }
    *orient = FLOW_ORIENT_FIRST;
    return true;
}

static struct flow *flow_create(struct flow_table *t, const struct pkt *p, uint32_t hash, int *err)
{
    if (t->stats.active >= t->cfg.max_flows)
        flow_evict_lru(t, NULL);
    struct flow *f = calloc(1, sizeof *f);
    if (!f) {
        *err = NZ_ENOMEM;
        return NULL;
    }
    if (t->cfg.mem)
        mem_charge(t->cfg.mem, flow_entry_mem());
    bool sender_cli = first_sender_is_client(p, &f->orient);
    f->id = t->next_id++;
    f->ip_ver = p->ip_ver;
    memcpy(f->cli_ip, sender_cli ? p->src : p->dst, 16);
    memcpy(f->srv_ip, sender_cli ? p->dst : p->src, 16);
    f->cli_port = sender_cli ? p->sport : p->dport;
    f->srv_port = sender_cli ? p->dport : p->sport;
    f->first_usec = f->last_usec = p->ts_usec;
    f->hash = hash;
    struct flow **b = &t->buckets[hash & t->mask];
    f->hnext = *b;
    *b = f;
    lru_push_head(t, f);
    t->stats.created++;
    t->stats.active++;
    if (t->stats.active > t->stats.max_active)
        t->stats.max_active = t->stats.active;
    return f;
}

/* See flow.h. The returned flow is owned by the table and valid until it ends (at the
 * earliest during a later flow_track/flow_expire/flow_evict_lru/flow_end_all call). */
struct flow *flow_track(struct flow_table *t, const struct pkt *p, int *dir, int *err)
{
    int dummy_dir, dummy_err;
    if (!dir)
        dir = &dummy_dir;
    if (!err)
        err = &dummy_err;
    *err = NZ_OK;
    if (!t || !p) {
        *err = NZ_EUSAGE;
        return NULL;
    }
    uint64_t now = p->ts_usec;

    /* expire first: this may make room so that no live flow needs evicting */
    expire_some(t, now, FLOW_EXPIRE_PER_PKT, NULL);

    struct flow_key k = key_of(p);
    uint32_t hash = key_hash(&k);
    struct flow *f = t->buckets[hash & t->mask];
    int d = -1;
    for (; f; f = f->hnext)
        if (f->hash == hash && (d = flow_dir_of(f, p)) >= 0)
            break;

    if (f) {
        int why = flow_expired(t, f, now);
        bool syn_only = (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
        if (why < 0 && syn_only && f->closing_usec)
            why = FLOW_END_REUSED; /* "a SYN without ACK on a flow that is closing" */
        if (why >= 0) {
            flow_end(t, f, (enum flow_end)why);
            f = NULL;
        }
    }
    if (!f) {
        f = flow_create(t, p, hash, err);
        if (!f)
            return NULL;
        d = flow_dir_of(f, p);
    } else {
        lru_unlink(t, f);
        lru_push_head(t, f);
    }

    if (now > f->last_usec)
        f->last_usec = now; /* never backwards (merged files) */
    f->pkts[d]++;
    f->bytes[d] += p->wirelen;
    f->payload_bytes[d] += p->payload_wire_len;
    if (p->tcp_flags & TCP_SYN)
        f->syn_seen[d] = true;
    if (p->tcp_flags & TCP_FIN)
        f->fin_seen[d] = true;
    if (p->tcp_flags & TCP_RST)
        f->rst_seen = true;
    if (!f->closing_usec && (f->rst_seen || (f->fin_seen[0] && f->fin_seen[1]))) {
        f->closing_usec = f->last_usec ? f->last_usec : 1; /* 0 means open */
        close_append(t, f);
    }
    *dir = d;
    return f;
}

/* See flow.h. */
void flow_table_stats(const struct flow_table *t, struct flow_stats *out)
{
    if (!out)
        return;
    if (!t) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = t->stats;
}
