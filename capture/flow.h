/* flow.h — bidirectional TCP flow table keyed on the 5-tuple (IPv4 and IPv6).
 *
 * Roles: the sender of a SYN (without ACK) is the client; the receiver of a SYN+ACK is the
 * client. When neither was captured (mid-stream pickup), the heuristic is: the endpoint
 * whose port is < 1024 is the server; else the lower port is the server; on equal ports the
 * first packet's sender is the client. `orient` records which rule decided.
 *
 * Lifetime (all in packet time, never the wall clock): a flow ends after
 * FLOW_CLOSE_LINGER_SEC once both FINs or a RST were seen, after `idle_sec` without packets,
 * when evicted (table full: least recently seen first), or at shutdown. A SYN without ACK
 * on a flow that is closing starts a new flow (port reuse). Expiry is incremental: each
 * flow_track() call examines at most FLOW_EXPIRE_PER_PKT flows from the LRU tail.
 *
 * The end callback runs for every flow exactly once, before it is freed; it must not call
 * back into the table.
 *
 * Memory: with cfg.mem set, the table charges what it allocates to that budget at allocated
 * size (mem.h): its bucket array once when created, each flow entry while it lives. The
 * table never acts on the budget itself; its owner evicts (flow_evict_lru). */
#ifndef NZ_FLOW_H
#define NZ_FLOW_H

#include "capture/decode.h"
#include "core/mem.h"

enum { FLOW_DIR_C2S = 0, FLOW_DIR_S2C = 1 };

enum flow_orient {
    FLOW_ORIENT_SYN = 0,    /* SYN seen from the client */
    FLOW_ORIENT_SYNACK = 1, /* only the SYN+ACK seen */
    FLOW_ORIENT_PORT = 2,   /* port heuristic */
    FLOW_ORIENT_FIRST = 3   /* first packet's sender */
};

enum flow_end {
    FLOW_END_FIN = 0,      /* both FINs seen */
    FLOW_END_RST = 1,      /* RST seen */
    FLOW_END_IDLE = 2,     /* idle timeout */
    FLOW_END_EVICTED = 3,  /* table full (LRU) or caller asked (memory cap) */
    FLOW_END_REUSED = 4,   /* new SYN on a closing flow's 5-tuple */
    FLOW_END_SHUTDOWN = 5  /* end of input / program exit */
};
#define FLOW_END_COUNT 6   /* values of enum flow_end (array sizes, loops) */
const char *flow_end_name(enum flow_end e); /* "fin", "rst", "idle", "evicted", "reused", "shutdown" */
const char *flow_orient_name(enum flow_orient o); /* "syn", "synack", "port", "first" */

struct flow {
    uint64_t id;               /* 1, 2, ... in creation order within this table */
    uint8_t ip_ver;            /* 4 or 6 */
    uint8_t cli_ip[16];        /* IPv4 in the first 4 bytes */
    uint8_t srv_ip[16];
    uint16_t cli_port, srv_port;
    enum flow_orient orient;
    uint64_t first_usec, last_usec; /* packet times */
    uint64_t pkts[2];          /* packets per direction [FLOW_DIR_*] */
    uint64_t bytes[2];         /* frame bytes on the wire per direction (as tshark conv) */
    uint64_t payload_bytes[2]; /* TCP payload bytes on the wire per direction */
    bool syn_seen[2];          /* SYN seen in that direction */
    bool fin_seen[2];
    bool rst_seen;
    uint64_t closing_usec;     /* packet time when both FINs / RST were seen; 0 = open */
    void *app;                 /* owned by the table's user (pipeline); NULL initially */
    /* internal links, owned by flow.c */
    struct flow *hnext;
    struct flow *lru_prev, *lru_next;
    struct flow *close_prev, *close_next; /* closing list (FIFO by closing_usec) */
    uint32_t hash;
};

struct flow_cfg {
    size_t max_flows;          /* > 0 */
    uint32_t idle_sec;         /* > 0 */
    struct mem_budget *mem;    /* charged with the table's allocations; NULL = not counted.
                                  Borrowed: must outlive the table */
};

/* What the table charges per flow entry and for its bucket array of `max_flows` (mem.h). */
size_t flow_entry_mem(void);
size_t flow_buckets_mem(size_t max_flows);

struct flow_stats {
    uint64_t created;
    uint64_t ended[FLOW_END_COUNT]; /* by enum flow_end */
    uint64_t active;           /* flows in the table now */
    uint64_t max_active;       /* high-water mark */
};

typedef void (*flow_end_fn)(void *ud, struct flow *f, enum flow_end why);

struct flow_table;

/* Creates a table. `end_fn` (may be NULL) is called for each flow as it ends.
 * Returns NULL and *err = NZ_ENOMEM / NZ_EUSAGE on failure. */
struct flow_table *flow_table_new(const struct flow_cfg *cfg, flow_end_fn end_fn, void *ud, int *err);

/* Ends every remaining flow (FLOW_END_SHUTDOWN) and frees the table. NULL is a no-op. */
void flow_table_free(struct flow_table *t);

/* Finds or creates the flow of p, updates its counters, flags, LRU position and close
 * state, and runs bounded expiry at p->ts_usec (which may end other flows).
 * *dir (OUT) gets FLOW_DIR_C2S or FLOW_DIR_S2C. Returns NULL only when a new flow could not
 * be allocated (*err = NZ_ENOMEM). At max_flows, the least recently seen flow is evicted. */
struct flow *flow_track(struct flow_table *t, const struct pkt *p, int *dir /* OUT */, int *err /* OUT */);

/* The table's hash of p's flow: the same for both directions (the endpoints are put in a fixed
 * order first), and for the same flow in every table. The table indexes its buckets with the
 * low bits; a caller spreading flows over tables should use the high bits. */
uint32_t flow_hash(const struct pkt *p);

/* Expires flows idle (or closed and lingered) at `now_usec`, visiting at most `max_visits`
 * (0 = no bound). Returns the number ended. */
size_t flow_expire(struct flow_table *t, uint64_t now_usec, size_t max_visits);

/* Evicts the least recently seen flow (FLOW_END_EVICTED), except `keep` (may be NULL).
 * Returns false when there is nothing to evict. Used by the pipeline's memory cap. */
bool flow_evict_lru(struct flow_table *t, const struct flow *keep);

/* Ends all flows with `why` (the table stays usable). */
void flow_end_all(struct flow_table *t, enum flow_end why);

void flow_table_stats(const struct flow_table *t, struct flow_stats *out /* OUT */);

#endif
