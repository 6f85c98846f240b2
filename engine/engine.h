/* engine.h — the sensor engine: worker threads that each own a share of the flows end to end
 * (engine/pipeline.h), and one writer thread that alone writes the database (engine/writer.h),
 * joined by bounded queues (engine/ring.h). Nothing that reads packets ever waits on SQLite.
 *
 * Flows are spread by a symmetric hash of the 5-tuple, so both directions of a flow reach the
 * same worker:
 *  - offline (engine_packet), the calling thread is the reader: it decodes just enough to hash,
 *    copies the frame into the chosen worker's queue and goes on; with one worker the packet is
 *    analysed right there (no copy, no extra thread). When a worker's queue is full the reader
 *    waits (a file loses nothing) and counts it.
 *  - live (engine_live_start), each worker reads its own libpcap handle (one PACKET_FANOUT group:
 *    the kernel hashes flows to sockets) and analyses the packet in place, in libpcap's ring.
 * The writer reads every worker's queue. When it falls behind and a worker's queue is full, the
 * worker waits (counted in `queue_full`, logged once then hourly): rows already accepted are
 * never dropped; the kernel's buffer absorbs the wait on a live interface.
 *
 * Same rows with any number of workers: nothing the writer writes depends on the order in
 * which the workers' rows reach it. Packet time reaches every worker (ticks at least every
 * second of packet time), and before each barrier and at the end every worker expires its
 * flows at the last packet's time, so flows end alike; a flow's dissectors close at its own
 * last packet; the rules that read a mail server's history wait for the end of an offline run
 * (engine/writer.h). What differs with N workers: ids and row order, and, under memory
 * pressure, which flows are evicted (each worker has 1/N of --max-mem and --max-flows).
 *
 * Threads: the caller's thread owns the engine; engine_* functions are called from it only. */
#ifndef NZ_ENGINE_ENGINE_H
#define NZ_ENGINE_ENGINE_H

#include "capture/source.h"
#include "engine/pipeline.h"
#include "store/store.h"

#define ENGINE_WORKERS_MAX 64
#define ENGINE_WORKERS_DEFAULT_MAX 8   /* the default: online CPUs - 1, at least 1, at most this */

struct engine_cfg {
    struct pipeline_cfg pl;          /* totals: max_flows, mem_max and reasm_mem_max are split
                                        evenly between the workers */
    unsigned workers;                /* 1 .. ENGINE_WORKERS_MAX */
    /* live: one open source per worker (owned by the caller, closed after engine_free), all
     * of link type live_dlt; NULL offline */
    struct cap_source **live;
    int live_dlt;
    uint64_t live_max_pkts;          /* live: stop after this many packets in all (0 = no limit) */
    size_t in_queue_bytes;           /* per worker, reader → worker (0 = default) */
    size_t out_queue_bytes;          /* per worker, worker → writer (0 = default) */
};

/* Online CPUs less one (the writer's, the reader's and the hash's), at least 1, at most
 * ENGINE_WORKERS_DEFAULT_MAX. */
unsigned engine_workers_default(void);

/* Starts the writer (and, offline with 2+ workers, the worker threads). The engine writes into
 * `st` under run `run_id` (both borrowed) from its writer thread: until engine_finish the
 * caller touches `st` only between engine_store_lock/unlock. NULL on failure (*err). */
struct engine *engine_new(const struct engine_cfg *cfg, struct store *st, int64_t run_id,
                          const struct nz_log *log, int *err /* OUT */);

/* ---- offline ---- */

/* One frame read from a file. */
void engine_packet(struct engine *e, int dlt, uint64_t ts_usec, const uint8_t *data, uint32_t caplen,
                   uint32_t wirelen);
/* Ends every flow of every worker (end of an input file) and waits until the writer has
 * written all of it. */
void engine_end_flows(struct engine *e);

/* ---- live ---- */

/* Starts one capture thread per worker on cfg.live. 0 or NZ_ENOMEM. */
int engine_live_start(struct engine *e);
/* Asks the capture threads to stop (async-signal-safe: cap_break on every source). */
void engine_live_stop(struct engine *e);
/* Capture threads still reading (false once every source ended or failed). */
bool engine_live_running(struct engine *e);
/* A capture thread's read error, as text (empty when none). */
const char *engine_live_error(struct engine *e);
/* libpcap's counters summed over the sources, as the capture threads last read them. */
void engine_live_cap_stats(struct engine *e, struct cap_stats *out);

/* ---- both ---- */

/* Packets seen so far (any time; cheap). */
uint64_t engine_packets(struct engine *e);
/* Exclusive use of the store while the engine runs (the writer pauses between batches). */
void engine_store_lock(struct engine *e);
void engine_store_unlock(struct engine *e);
/* Queues an update of the run row for the writer (rs->counters_json is copied). */
void engine_run_update(struct engine *e, const struct store_run_stats *rs);
/* Ends every flow (at the last packet's time), stops the threads, writes what is left, runs
 * the end-of-run rule and commits. The store is the caller's again afterwards. Returns the
 * first database error (NZ_EDB) or 0. */
int engine_finish(struct engine *e);
/* The first database error so far, or 0 (any time). */
int engine_error(struct engine *e);
/* Counters summed over the workers (while running: as the workers last published them; after
 * engine_finish: final). findings/by_sev are the writer's: what reached the database. */
void engine_stats(struct engine *e, struct pipeline_stats *out /* OUT */);
/* Every counter as a JSON object (runs.counters), with an "engine" member. Returns buf. */
const char *engine_counters_json(struct engine *e, char *buf, size_t cap);
/* Times a producer found a queue full and waited (reader → worker and worker → writer). */
uint64_t engine_queue_full(struct engine *e);
unsigned engine_workers(const struct engine *e);
void engine_free(struct engine *e);

#endif
