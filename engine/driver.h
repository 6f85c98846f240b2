/* driver.h — the stream driver: runs the dissectors (dissect/dissector.h) over one flow's
 * reassembled byte streams. The one copy used by the pipeline, every Check suite and every
 * fuzz target.
 *
 * It begins where in-order bytes of one direction arrive (drv_data) and ends at the dissector
 * callbacks. It probes by content (dis_registry, in order; bytes of both directions up to
 * DIS_PROBE_MAX each), attaches the first dissector whose probe says yes, and feeds it:
 *
 * - Tails: what a dissector leaves unconsumed is kept per direction (up to DIS_BUF_MAX, past
 *   that the dissector is detached as malformed) and put in front of the next bytes of that
 *   direction. While a direction's tail is empty the dissector reads the caller's bytes in
 *   place (no copy).
 * - DIS_SWITCH (e.g. SMTP STARTTLS → "tls"): on_close and free the old state, attach
 *   ctx->switch_to with started_by, feed it the OTHER direction's unconsumed tail first (it
 *   arrived earlier: a ClientHello sent right behind STARTTLS), then the rest of this call's
 *   input after *consumed. Both directions' tails go on to the next dissector.
 * - Gaps: while probing, the direction's probe bytes are dropped and probing starts over after
 *   the hole. Once attached, the direction's tail is dropped and on_gap decides (resync = DIS_OK,
 *   or DIS_DONE; a dissector without on_gap is done; DIS_SWITCH on a gap counts as DIS_DONE).
 * - want[]: a dissector clears ctx->want[dir] to need no more bytes of dir; that direction's
 *   buffer is freed and drv_wants() says false (the caller may stop reassembling it). With
 *   both cleared, or DIS_DONE, the dissector is finished: on_close, state freed, the flow
 *   stays claimed.
 * - DIS_ERR and the caps (DIS_BUF_MAX, DIS_FLOW_MEM_MAX): a dissect.malformed finding through
 *   the sink, on_close (pending records are emitted), detach; counted in drv_stats.
 * - drv_close: the flow ended; on_close for a dissector still attached or finished (state
 *   kept until drv_fini), whatever it holds in its own buffers is its to emit.
 *
 * It knows no flows, no reassembly, no nDPI, no SQLite: the caller owns one struct drv per
 * flow (embedded, no allocation per packet) and one struct drv_host per run. Allocation
 * happens only to buffer a tail, a probe window or the rest of a switching call. */
#ifndef NZ_DRIVER_H
#define NZ_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dissect/dissector.h"

struct nz_log;
struct drv;

enum drv_state {
    DRV_PROBING = 0, /* no dissector yet: bytes collected in buf[] for probe() */
    DRV_ATTACHED,    /* dissector running */
    DRV_FINISHED,    /* dissector said DIS_DONE (or wants nothing more): claimed, no more bytes */
    DRV_NONE         /* no dissector (none matched, or detached after an error) */
};

/* A growable byte buffer (a probe window or a dissector's unconsumed tail). */
struct dbuf {
    uint8_t *p;
    size_t len, cap;
};

/* Counters over all flows of one host. */
struct drv_stats {
    uint64_t attached;  /* dissectors attached (a switch attaches the next one) */
    uint64_t errors;    /* detached as malformed (DIS_ERR or a cap) */
    uint64_t overflow;  /* of errors: a tail past DIS_BUF_MAX */
    uint64_t switches;  /* DIS_SWITCH handoffs */
    uint64_t mem_cap;   /* of errors: dissection memory past DIS_FLOW_MEM_MAX */
};

/* What the caller provides, shared by every flow of a run; borrowed by each struct drv. */
struct drv_host {
    const struct dis_sink *sink;   /* findings and records of the dissectors and the driver's
                                      own dissect.malformed findings */
    /* Called where the flow's dissection memory (drv_mem) may have changed: after each feed
     * into a dissector. NULL = nobody counts. `d` is the flow's driver. */
    void (*mem_changed)(void *ud, struct drv *d);
    void *ud;
    int policy;                    /* dis_cfg.policy for every dissector attached */
    const struct trust_store *trust; /* dis_cfg.trust for every dissector attached */
    struct trust_cache *tcache;    /* dis_cfg.tcache (one per thread) */
    const struct nz_log *log;      /* out-of-memory warnings; NULL = silent */
    /* Dissectors to probe, in order, and the lookup for DIS_SWITCH targets. NULL/0 = the
     * registry (dis_registry, dis_find); tests substitute their own. */
    const struct dissector *const *registry;
    size_t registry_len;
    const struct dissector *(*find)(const char *name);
    struct drv_stats stats;        /* OUT, counted over all flows */
};

/* One flow's dissection. Fields are the driver's; read them only through the functions. */
struct drv {
    struct drv_host *host;
    const struct dissector *dis;
    void *dis_st;
    enum drv_state ds;
    bool want[2];                  /* the dissector still wants bytes of this direction */
    bool had_data[2];              /* bytes seen in this direction while probing */
    struct dbuf buf[2];            /* probe bytes, then the dissector's unconsumed tail */
    char started_by[24];           /* carried over a DIS_SWITCH */
    const char *expect_host;       /* ctx->switch_host, only while a DIS_SWITCH attaches */
    const char *expect_source;     /* ctx->switch_host_source, idem */
    /* Endpoints for dis_ctx (borrowed text, must outlive the driver). */
    const char *cli_ip, *srv_ip;
    uint16_t cli_port, srv_port;
    uint64_t flow_id;
};

/* Starts probing: both directions wanted. No allocation. */
void drv_init(struct drv *d, struct drv_host *host, const char *cli_ip, const char *srv_ip, uint16_t cli_port,
              uint16_t srv_port, uint64_t flow_id);

/* Attaches `dis` at once, without probing (a caller that knows the protocol). False on ENOMEM
 * (then nothing is attached and nothing is wanted). */
bool drv_attach(struct drv *d, const struct dissector *dis, uint64_t ts_usec);

/* In-order bytes of direction `dir` (0 = client→server), completed by a segment of packet time
 * ts_usec. Ignored when the direction is not wanted. */
void drv_data(struct drv *d, int dir, const uint8_t *p, size_t n, uint64_t ts_usec);

/* `len` bytes of direction `dir` are missing. */
void drv_gap(struct drv *d, int dir, uint64_t len, uint64_t ts_usec);

/* The flow ended: on_close for the dissector if it is attached or finished and still has
 * state. Call once; drv_fini afterwards. */
void drv_close(struct drv *d, uint64_t ts_usec);

/* Frees the dissector's state and the buffers. The struct may be dropped afterwards. */
void drv_fini(struct drv *d);

/* Heap bytes of the dissection: both buffers and the dissector's state (dissector.mem). O(1). */
size_t drv_mem(const struct drv *d);

/* The driver wants bytes of `dir` (false once the dissector said it needs no more, or none is
 * attached). */
static inline bool drv_wants(const struct drv *d, int dir) { return d->want[dir]; }

/* A dissector claimed the flow (attached, or finished with it). */
static inline bool drv_claimed(const struct drv *d) { return d->ds == DRV_ATTACHED || d->ds == DRV_FINISHED; }

static inline enum drv_state drv_state(const struct drv *d) { return d->ds; }

/* The dissector attached now (NULL when none). */
static inline const struct dissector *drv_dissector(const struct drv *d) { return d->dis; }

#endif
