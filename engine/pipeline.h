/* pipeline.h — one worker's analysis: decode → flow table → nDPI (first packets) →
 * per-direction reassembly → dissector chosen by content → findings and records, handed as
 * messages (engine/msg.h) to the writer thread's queue (struct pl_out); it never touches the
 * database. One pipeline per worker thread (engine/engine.h); no global state, so pipelines run
 * side by side, each owning the flows the engine routes to it.
 *
 * Memory: every piece of per-flow state is charged, at its allocated size (core/mem.h), to
 * one budget per pipeline (cfg.mem_max): the flow table's buckets and entries, the pipeline's
 * per-flow struct and its two stream buffers, the reassembly queues, the dissector's state and
 * buffers (dissector.mem), nDPI's flow state and what nDPI allocated for it. After each packet,
 * while the budget is exceeded, the least recently seen flow other than the packet's own is
 * evicted (ended as `evicted`, its rows written like any other). One flow cannot take more
 * than its caps allow (DIS_FLOW_MEM_MAX, NDPI_FLOW_MEM_MAX, --max-ooo per direction). */
#ifndef NZ_PIPELINE_H
#define NZ_PIPELINE_H

#include "core/limits.h" /* MEM_MAX_DEFAULT, MEM_MAX_MIN for the options */
#include "capture/decode.h"
#include "capture/flow.h"
#include "core/finding.h" /* NZ_SEV_COUNT */
#include "dissect/x509.h" /* X509_WOLF_COUNT */
#include "engine/ring.h"

#include <stdatomic.h>

struct json;

struct stream_dump;

struct pipeline_cfg {
    size_t max_flows;          /* flow table cap (--max-flows) */
    uint32_t idle_sec;         /* flow idle timeout (--flow-timeout) */
    size_t mem_max;            /* heap bytes of all per-flow state together (--max-mem);
                                  0 = counted but not enforced */
    size_t reasm_mem_max;      /* bytes of out-of-order data over all flows (--max-reasm-mem),
                                  a part of mem_max (the smaller of the two applies) */
    size_t ooo_max_bytes;      /* per flow direction (--max-ooo) */
    unsigned ndpi_max_pkts;    /* packets per flow offered to nDPI; 0 disables nDPI */
    int policy;                /* 0 default, 1 Mozilla intermediate */
    const char *dump_dir;      /* --dump-streams DIR as given; the command opens it (engine/dump.h) */
    const char *ca_file, *ca_path; /* --ca-file / --ca-path as given (NULL: the default) */
    bool no_ca;                /* --no-ca: chains are not verified */
    const struct trust_store *trust; /* borrowed: the anchors (NULL: chains not verified) */
    struct stream_dump *dump;  /* borrowed: every reassembled byte goes here; NULL = off */
};

/* Fills cfg with the defaults from core/limits.h. */
void pipeline_cfg_defaults(struct pipeline_cfg *cfg);

struct pipeline_stats {
    uint64_t packets, bytes;           /* frames seen, their wire bytes */
    uint64_t tcp_packets;              /* decoded TCP segments */
    uint64_t first_usec, last_usec;    /* packet time range */
    uint64_t dec[DEC_REASON_COUNT];    /* frames by decode result */
    uint64_t malformed;                /* frames with a malformed/truncated reason */
    uint64_t flows, flows_evicted;     /* flows_evicted: all early evictions (table and memory) */
    uint64_t flows_evicted_mem;        /* of those, evicted because the memory budget was full */
    uint64_t findings, by_sev[NZ_SEV_COUNT];
    uint64_t ndpi_pkts;                /* packets handed to nDPI */
    uint64_t dis_attached, dis_errors, dis_overflow, dis_switches;
    uint64_t dis_mem_cap;              /* dissectors detached at DIS_FLOW_MEM_MAX */
    uint64_t ndpi_mem_cap;             /* flows taken from nDPI at NDPI_FLOW_MEM_MAX */
    uint64_t gaps, gap_bytes, overlaps, overlap_diff, retrans, reasm_cap_drops, reasm_over_budget;
    uint64_t gaps_cap, gap_cap_bytes;  /* of gaps/gap_bytes: caused by a reassembly cap */
    size_t mem_max, mem_peak;          /* the memory budget and the most it held (bytes) */
    size_t mem_used;                   /* held now */
    uint64_t flows_created, flows_max_active, flows_ended[FLOW_END_COUNT];
    size_t reasm_budget;               /* the out-of-order share of mem_max */
    uint64_t records;                  /* protocol records stored (tls/http/mail) */
    uint64_t bypassed;                 /* payload segments skipped: their direction was done */
    /* Server leaf certificates of stored TLS sessions: seen; refused by wolfSSL by reason
     * (enum x509_wolf_fail); of those read by the DER walk; and with broken DER. */
    uint64_t certs, certs_wolf_fail[X509_WOLF_COUNT], certs_der_walk, certs_der_broken;
    /* Certificates handed to the writer (first sight by this worker), and the chain
     * verification cache's hits and misses. */
    uint64_t certs_sent, trust_hits, trust_misses;
    uint64_t chains_trusted, chains_untrusted, chains_unchecked; /* TLS sessions with a chain */
};

struct pipeline;

/* What the pipelines of one engine share: the memory-eviction log line is said once, then at
 * most hourly in packet time, for all of them together. */
struct pl_shared {
    _Atomic uint64_t mem_warn_usec;   /* packet time of the last such line + 1; 0 = never */
};

/* Where a pipeline's output goes: a queue the writer thread reads (engine.c sets it up). */
struct pl_out {
    struct ring *ring;           /* this worker's queue to the writer */
    struct bell *writer_bell;    /* rung after each message */
    void (*wait_space)(void *ud);/* sleeps until the writer freed room (bounded) */
    void *ud;
    uint64_t key;                /* ordering key of the input being handled (msg.h) */
    unsigned worker;             /* < 128: part of every flow key */
    struct pl_shared *shared;    /* NULL: this pipeline alone */
    uint64_t full_waits;         /* OUT: messages that found the queue full and waited */
};

/* Creates a pipeline writing into `out` (borrowed; must outlive it). NULL on failure (*err). */
struct pipeline *pipeline_new(const struct pipeline_cfg *cfg, struct pl_out *out, const struct nz_log *log,
                              int *err /* OUT */);

/* Processes one captured frame of link type `dlt`. Never fails: bad packets are counted. */
void pipeline_packet(struct pipeline *pl, int dlt, uint64_t ts_usec, const uint8_t *data, uint32_t caplen,
                     uint32_t wirelen);

/* Packet time went on to ts_usec (another worker's packet): ends the flows idle (or closed
 * and lingered) at that time, all of them. */
void pipeline_tick(struct pipeline *pl, uint64_t ts_usec);

/* Ends every flow now (FLOW_END_SHUTDOWN), e.g. at the end of one input file, so flows of
 * unrelated captures never merge. The pipeline stays usable. */
void pipeline_end_flows(struct pipeline *pl);

/* Ends every flow (flushing reassembly and dissectors). */
void pipeline_finish(struct pipeline *pl);

/* The counters, brought up to date. */
const struct pipeline_stats *pipeline_stats(struct pipeline *pl);
/* d += s (time range: min/max). */
void pipeline_stats_add(struct pipeline_stats *d, const struct pipeline_stats *s);
/* The counters as members of the open JSON object j (for runs.counters). */
void pipeline_stats_json(struct json *j, const struct pipeline_stats *s);

void pipeline_free(struct pipeline *pl);

#endif
