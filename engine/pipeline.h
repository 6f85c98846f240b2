/* pipeline.h — the only code that links capture → dissect → store:
 * decode → flow table → nDPI (first packets) → per-direction reassembly → dissector chosen by
 * content → findings and records → SQLite. One pipeline per run; no global state, so two
 * pipelines can run in one process (one per thread: nDPI's allocation counter is global).
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
#include "core/finding.h" /* NZ_SEV_COUNT */
#include "dissect/x509.h" /* X509_WOLF_COUNT */
#include "store/store.h"

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
    uint64_t records;                  /* protocol records stored (tls/http/mail) */
    uint64_t bypassed;                 /* payload segments skipped: their direction was done */
    /* Server leaf certificates of stored TLS sessions: seen; refused by wolfSSL by reason
     * (enum x509_wolf_fail); of those read by the DER walk; and with broken DER. */
    uint64_t certs, certs_wolf_fail[X509_WOLF_COUNT], certs_der_walk, certs_der_broken;
};

struct pipeline;

/* Creates a pipeline writing into `st` under run `run_id` (both borrowed). NULL on failure
 * (*err set). */
struct pipeline *pipeline_new(const struct pipeline_cfg *cfg, struct store *st, int64_t run_id,
                              const struct nz_log *log, int *err /* OUT */);

/* Processes one captured frame of link type `dlt`. Never fails: bad packets are counted.
 * A database error is remembered (pipeline_error()) and stops further writes. */
void pipeline_packet(struct pipeline *pl, int dlt, uint64_t ts_usec, const uint8_t *data, uint32_t caplen,
                     uint32_t wirelen);

/* Ends every flow now (FLOW_END_SHUTDOWN), e.g. at the end of one input file, so flows of
 * unrelated captures never merge. The pipeline stays usable. */
void pipeline_end_flows(struct pipeline *pl);

/* Ends every flow (flushing reassembly and dissectors) and commits. Returns pipeline_error(). */
int pipeline_finish(struct pipeline *pl);

/* First database error (NZ_EDB) or 0. */
int pipeline_error(const struct pipeline *pl);

const struct pipeline_stats *pipeline_stats(struct pipeline *pl);

/* All counters as a JSON object (for runs.counters). Returns buf. */
const char *pipeline_counters_json(struct pipeline *pl, char *buf, size_t cap);

void pipeline_free(struct pipeline *pl);

#endif
