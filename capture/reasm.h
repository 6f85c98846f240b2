/* reasm.h — per-direction TCP stream reassembly (RFC 9293 sequence space).
 *
 * Delivers contiguous bytes in order to a sink; buffers out-of-order segments up to a
 * per-direction cap and a global memory budget; handles retransmissions, overlaps,
 * sequence wrap-around (serial arithmetic, RFC 1982), mid-stream pickup (no SYN seen:
 * the first segment seen fixes the base) and snapped segments (missing bytes = gap).
 *
 * Overlap policy: FIRST WINS. Bytes already delivered or already queued are kept; the
 * overlapping part of a later segment is discarded. When the discarded bytes overlap
 * queued out-of-order data and differ from it, `overlap_diff` is counted — an evasion
 * signal. Bytes already delivered are not retained, so a retransmission of delivered data
 * is counted in `retrans`/`overlaps` but its content is not compared.
 *
 * Gaps: when the out-of-order queue hits its cap (per direction or global), or at
 * flush/close, the reassembler skips to the earliest queued segment and reports the
 * number of missing bytes to the sink before delivering. Every gap is counted either as
 * caused by a cap (gaps_cap: skipped to make room, or covering bytes that were dropped
 * because a cap was full) or as loss (the bytes never arrived, or were cut by the snap
 * length); the sink sees both alike.
 *
 * Memory: each queued segment is charged to the reassembly budget (struct reasm_budget,
 * the sub-cap for out-of-order data) and, when set, to the pipeline's global budget
 * (mem.h) at the same amount: payload + REASM_SEG_OVERHEAD. */
#ifndef NZ_REASM_H
#define NZ_REASM_H

#include "core/nz.h"
#include "core/mem.h"

/* The global budget is charged each queued segment's payload plus this much (segment header
 * + malloc overhead), so a flood of tiny out-of-order segments cannot use far more memory than
 * the budget says (1M flows x 2 directions x 256 one-byte segments would otherwise cost
 * ~20 GiB of headers against a 256 MiB budget). The per-direction byte cap counts payload. */
#define REASM_SEG_OVERHEAD 48u

/* Global accounting shared by every reasm_dir of one pipeline. */
struct reasm_budget {
    size_t used;               /* bytes charged by queued out-of-order segments, all flows
                                  (payload + REASM_SEG_OVERHEAD each) */
    size_t max;                /* cap for `used` */
    uint64_t over_budget;      /* segments that found the budget full: their direction skipped
                                  its own holes to make room, or they were dropped */
    struct mem_budget *total;  /* also charged with every queued segment (the pipeline's
                                  budget for all per-flow state); NULL = none. Borrowed */
};

struct reasm_cfg {
    size_t ooo_max_bytes;      /* per direction cap on queued out-of-order bytes */
    unsigned ooo_max_segs;     /* per direction cap on queued segments */
};

/* Where reassembled bytes go. `dir` is passed through from reasm_push(). */
struct reasm_sink {
    void *ud;
    /* Contiguous in-order stream bytes (borrowed; valid during the call). */
    void (*data)(void *ud, int dir, const uint8_t *p, size_t len);
    /* `len` stream bytes are missing before the next data() call. */
    void (*gap)(void *ud, int dir, uint64_t len);
};

struct reasm_seg; /* internal: queued out-of-order segment */

/* State of one direction. Zero-initialised (reasm_dir_init) before use. */
struct reasm_dir {
    bool started;              /* next_seq is valid (SYN or first data seen) */
    bool fin_seen;             /* a FIN was seen (its seq is fin_seq) */
    bool done;                 /* consumer needs no more bytes: payload is ignored */
    uint32_t next_seq;         /* next expected sequence number */
    uint32_t fin_seq;          /* sequence number of the FIN */
    uint64_t delivered;        /* stream bytes handed to the sink */
    struct reasm_seg *ooo;     /* queued segments, sorted by seq, non-overlapping */
    size_t ooo_bytes;          /* bytes in `ooo`; <= cfg.ooo_max_bytes */
    unsigned ooo_segs;         /* segments in `ooo`; <= cfg.ooo_max_segs */
    /* counters (stored per flow) */
    uint64_t segs;             /* segments with payload seen */
    uint64_t retrans;          /* segments entirely before next_seq (pure retransmissions) */
    uint64_t overlaps;         /* segments partially overlapping delivered or queued data */
    uint64_t overlap_diff;     /* overlaps whose bytes differ from the kept ones */
    uint64_t ooo_queued;       /* segments queued out of order */
    uint64_t gaps;             /* gaps reported to the sink (loss and caps) */
    uint64_t gap_bytes;        /* bytes those gaps skipped */
    uint64_t gaps_cap;         /* of those, gaps caused by a cap (the rest are loss) */
    uint64_t gap_cap_bytes;    /* bytes the cap-caused gaps skipped */
    uint64_t cap_drops;        /* segments dropped because a cap was full */
    /* internal: stream bytes in [cap_hole_seq, cap_hole_end) were dropped because a cap was
       full, so a gap over them is counted in gaps_cap */
    bool cap_hole;
    uint32_t cap_hole_seq, cap_hole_end;
};

void reasm_dir_init(struct reasm_dir *d);

/* Feeds one TCP segment of this direction. `flags` are the TCP_* bits (SYN sets the base:
 * next_seq = seq + 1; FIN is recorded). `len` captured payload bytes at `payload`;
 * `wire_len` (>= len) is the payload length on the wire: the difference is a gap.
 * In-order bytes (and any queued bytes they make contiguous) go to sink->data now.
 * Returns 0, or NZ_ENOMEM when a queue entry could not be allocated (counted in cap_drops;
 * processing may continue). No-op when d->done. */
int reasm_push(struct reasm_dir *d, int dir, const struct reasm_cfg *cfg, struct reasm_budget *b,
               uint32_t seq, uint8_t flags, const uint8_t *payload, uint32_t len, uint32_t wire_len,
               const struct reasm_sink *sink);

/* Delivers everything still queued, reporting gaps in between (used when the flow ends). */
void reasm_flush(struct reasm_dir *d, int dir, struct reasm_budget *b, const struct reasm_sink *sink);

/* The consumer needs nothing more from this direction: frees the queue, sets done. */
void reasm_set_done(struct reasm_dir *d, struct reasm_budget *b);

/* Frees the queue (returns its bytes to the budget). The struct may be reused after init. */
void reasm_dir_fini(struct reasm_dir *d, struct reasm_budget *b);

/* Callbacks note: a sink's data()/gap() may call reasm_set_done() on the direction being
 * delivered (delivery then stops at once); they must not call reasm_push()/reasm_flush()
 * on it. */

/* What d currently charges to the global budget. */
size_t reasm_dir_charge(const struct reasm_dir *d);

/* Checks the internal invariants of `d`: queue sorted, non-overlapping, strictly after
 * next_seq, within the FIN, ooo_bytes/ooo_segs matching the queue and, when cfg is not
 * NULL, within its caps. Returns true when all hold. O(queued segments); for tests and
 * fuzzing. */
bool reasm_dir_check(const struct reasm_dir *d, const struct reasm_cfg *cfg);

#endif
