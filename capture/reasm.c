/* reasm.c — per-direction TCP stream reassembly with a bounded out-of-order queue.
 *
 * Follows RFC 9293 §3.4 (sequence numbers: a SYN occupies one sequence number before the
 * first data byte; a FIN occupies the one after the last) and §3.10.7.4 (segments are
 * trimmed to the part not yet received; "segments with higher beginning sequence numbers
 * may be held for later processing"). Every sequence comparison uses serial-number
 * arithmetic (RFC 1982 §3.2) on 32 bits, so streams crossing 2^32 need no special case.
 *
 * Overlap policy is FIRST WINS (see reasm.h). A segment more than REASM_BOGUS_WIN bytes
 * away from next_seq is dropped as bogus: it belongs to another connection (port reuse) or
 * to a wrong base guess, and accepting it would create a gigantic gap.
 *
 * Deliberately ignored: RST segments with any payload they carry (the flow table handles
 * resets; per RFC 1122 §4.2.2.12 such data explains the reset, it is not stream content),
 * the ACK field, window and urgent pointer, TCP options (timestamps/PAWS, SACK), and a SYN
 * seen after the direction started (a retransmitted SYN must not reset the stream). Only
 * the first FIN counts, and only if it does not lie before already delivered data.
 *
 * Memory: one malloc per queued out-of-order piece (the "buffer growth up to a cap"
 * allowed on the packet path). Queued bytes are charged to cfg->ooo_max_bytes and to the
 * shared budget (and through it to the pipeline's global one); segment headers are bounded
 * by cfg->ooo_max_segs. A gap skipped to make room, or covering bytes dropped because a cap
 * was full, is counted in gaps_cap; every other gap is loss. In-order data is never
 * copied: the caller's payload pointer goes straight to the sink. */
#include "capture/reasm.h"

#include <stdlib.h>
#include <string.h>

#include "core/reader.h"
#include "capture/decode.h"

/* Farthest a segment may start or end from next_seq, in bytes, before it is treated as
 * bogus. 1 GiB is far more than any real window (RFC 7323 caps it at 2^30 bytes), and
 * leaves half of the 2^31 serial-arithmetic range as margin, so every position kept in a
 * reasm_dir compares correctly with every other one. */
static const int64_t REASM_BOGUS_WIN = INT64_C(1) << 30;

struct reasm_seg {
    struct reasm_seg *next; /* next queued segment, higher seq; NULL at the end */
    uint32_t seq;           /* sequence number of data[0] */
    uint32_t len;           /* captured bytes in data[]; charged to ooo_bytes and budget */
    uint32_t tail_gap;      /* bytes missing after data[] (snapped on capture); the segment
                             * occupies [seq, seq + len + tail_gap), at most REASM_BOGUS_WIN */
    uint8_t data[];         /* len bytes */
};

/* The part of the current segment still being processed: stream bytes [seq, seq + wire)
 * of which the first data.len were captured (a snapped segment misses its tail). */
struct piece {
    uint32_t seq;       /* first sequence number */
    uint32_t wire;      /* bytes on the wire, >= data.len */
    struct bytes data;  /* captured bytes, borrowed from the caller */
};

/* a - b in serial arithmetic: negative when a is before b. */
static int32_t seq_diff(uint32_t a, uint32_t b)
{
    uint32_t d = a - b;
    if (d <= (uint32_t)INT32_MAX)
        return (int32_t)d;
    return -(int32_t)(UINT32_MAX - d) - 1;
}

static bool seq_lt(uint32_t a, uint32_t b) { return seq_diff(a, b) < 0; }
static bool seq_le(uint32_t a, uint32_t b) { return seq_diff(a, b) <= 0; }
static uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }
static uint32_t seq_max(uint32_t a, uint32_t b) { return seq_lt(a, b) ? b : a; }

static uint32_t seg_end(const struct reasm_seg *q) { return q->seq + q->len + q->tail_gap; }

static struct bytes seg_bytes(const struct reasm_seg *q)
{
    struct bytes b = {q->data, q->len};
    return b;
}

/* Captured bytes of the piece in [a, a + n) (a inside the piece); the rest of the range,
 * if any, is missing on the wire capture. */
static struct bytes piece_data(const struct piece *pc, uint32_t a, uint32_t n)
{
    return bytes_sub(pc->data, (size_t)(a - pc->seq), n);
}

_Static_assert(sizeof(struct reasm_seg) + 16u <= REASM_SEG_OVERHEAD, "REASM_SEG_OVERHEAD too small");

size_t reasm_dir_charge(const struct reasm_dir *d)
{
    return d->ooo_bytes + (size_t)d->ooo_segs * REASM_SEG_OVERHEAD;
}

/* Returns c bytes to the reassembly budget and to the global one. */
static void budget_put(struct reasm_budget *b, size_t c)
{
    b->used = b->used >= c ? b->used - c : 0;
    if (b->total)
        mem_uncharge(b->total, c);
}

static void uncharge(struct reasm_dir *d, struct reasm_budget *b, const struct reasm_seg *q)
{
    d->ooo_bytes -= q->len;
    d->ooo_segs--;
    budget_put(b, q->len + REASM_SEG_OVERHEAD);
}

static void free_queue(struct reasm_dir *d, struct reasm_budget *b)
{
    struct reasm_seg *q = d->ooo;
    while (q) {
        struct reasm_seg *next = q->next;
        uncharge(d, b, q);
        free(q);
        q = next;
    }
    d->ooo = NULL;
    d->ooo_bytes = 0;
    d->ooo_segs = 0;
}

/* Reports the n stream bytes just before next_seq as missing. `cap`: skipped to make room
 * under a cap. A gap overlapping [cap_hole_seq, cap_hole_end) (bytes dropped for a cap)
 * counts as a cap gap too; once next_seq has passed that range the mark is cleared. */
static void report_gap(struct reasm_dir *d, int dir, const struct reasm_sink *sink, uint32_t n, bool cap)
{
    if (n == 0)
        return;
    if (d->cap_hole) {
        uint32_t from = d->next_seq - n;
        if (seq_lt(from, d->cap_hole_end) && seq_lt(d->cap_hole_seq, d->next_seq))
            cap = true;
        if (seq_le(d->cap_hole_end, d->next_seq))
            d->cap_hole = false;
    }
    d->gaps++;
    d->gap_bytes += n;
    if (cap) {
        d->gaps_cap++;
        d->gap_cap_bytes += n;
    }
    if (sink->gap)
        sink->gap(sink->ud, dir, n);
}

/* The stream bytes [a, z) were dropped because a cap was full: a gap over them is a cap gap.
 * Marks the smallest range covering every such drop not yet passed. */
static void mark_cap_hole(struct reasm_dir *d, uint32_t a, uint32_t z)
{
    if (!d->cap_hole) {
        d->cap_hole = true;
        d->cap_hole_seq = a;
        d->cap_hole_end = z;
        return;
    }
    d->cap_hole_seq = seq_min(d->cap_hole_seq, a);
    d->cap_hole_end = seq_max(d->cap_hole_end, z);
}

static void report_data(struct reasm_dir *d, int dir, const struct reasm_sink *sink, struct bytes s)
{
    if (s.len == 0)
        return;
    d->delivered += s.len;
    if (sink->data)
        sink->data(sink->ud, dir, s.p, s.len);
}

/* Hands the stream range [next_seq, next_seq + n) of `pc` to the sink without copying:
 * the captured bytes, then the snapped remainder as a gap. A sink may call
 * reasm_set_done() from its callbacks, so callers check d->done afterwards. */
static void deliver_piece(struct reasm_dir *d, int dir, const struct reasm_sink *sink,
                          const struct piece *pc, uint32_t n)
{
    struct bytes s = piece_data(pc, d->next_seq, n);
    d->next_seq += n;
    report_data(d, dir, sink, s);
    if (!d->done)
        report_gap(d, dir, sink, n - (uint32_t)s.len, false); /* snapped: not captured */
    if (d->cap_hole && seq_le(d->cap_hole_end, d->next_seq))
        d->cap_hole = false; /* the dropped bytes came again and were delivered */
}

/* Delivers and frees queued segments while the head is contiguous with next_seq.
 * Each segment is unlinked before its callback runs, so a sink that calls
 * reasm_set_done() (which frees the rest of the queue) is safe. */
static void drain(struct reasm_dir *d, int dir, struct reasm_budget *b, const struct reasm_sink *sink)
{
    while (!d->done && d->ooo && d->ooo->seq == d->next_seq) {
        struct reasm_seg *q = d->ooo;
        d->ooo = q->next;
        uncharge(d, b, q);
        d->next_seq = seg_end(q);
        report_data(d, dir, sink, seg_bytes(q));
        if (!d->done)
            report_gap(d, dir, sink, q->tail_gap, false);
        free(q);
    }
}

/* Skips the hole [next_seq, to) (to after next_seq): reports it (cap: to make room under a
 * cap), then delivers what became contiguous. */
static void skip_to(struct reasm_dir *d, int dir, struct reasm_budget *b, const struct reasm_sink *sink,
                    uint32_t to, bool cap)
{
    uint32_t n = to - d->next_seq;
    d->next_seq = to;
    report_gap(d, dir, sink, n, cap);
    drain(d, dir, b, sink);
}

enum fit { FIT_OK, FIT_SEGS, FIT_BYTES, FIT_BUDGET };

/* Whether n more queued bytes (one more segment) respect every cap, assuming this
 * direction's own queue currently holds own_segs segments and own_bytes bytes. */
static enum fit fits(const struct reasm_dir *d, const struct reasm_cfg *cfg, const struct reasm_budget *b,
                     size_t n, unsigned own_segs, size_t own_bytes)
{
    if (own_segs >= cfg->ooo_max_segs)
        return FIT_SEGS;
    if (own_bytes > cfg->ooo_max_bytes || n > cfg->ooo_max_bytes - own_bytes)
        return FIT_BYTES;
    size_t mine_now = d->ooo_bytes + (size_t)d->ooo_segs * REASM_SEG_OVERHEAD;
    size_t others = b->used >= mine_now ? b->used - mine_now : 0;
    size_t used = others + own_bytes + (size_t)own_segs * REASM_SEG_OVERHEAD;
    size_t need = n + REASM_SEG_OVERHEAD;
    if (used > b->max || need > b->max - used)
        return FIT_BUDGET;
    return FIT_OK;
}

/* Records the first FIN (unless it lies before already delivered data, which it cannot
 * undo) and trims queued data beyond it. Returns how many queued entries were cut. */
static unsigned note_fin(struct reasm_dir *d, struct reasm_budget *b, uint32_t fin)
{
    unsigned cut = 0;
    if (d->fin_seen || seq_lt(fin, d->next_seq))
        return 0;
    d->fin_seen = true;
    d->fin_seq = fin;
    struct reasm_seg **link = &d->ooo;
    while (*link) {
        struct reasm_seg *q = *link;
        if (seq_le(fin, q->seq)) {
            *link = q->next;
            uncharge(d, b, q);
            free(q);
            cut++;
            continue;
        }
        if (seq_lt(fin, seg_end(q))) {
            uint32_t keep = fin - q->seq;
            if (keep < q->len) {
                uint32_t drop = q->len - keep;
                d->ooo_bytes -= drop;
                budget_put(b, drop);
                q->len = keep;
                q->tail_gap = 0;
                /* give the cut bytes back to the allocator too, so the charge stays true */
                struct reasm_seg *nq = realloc(q, sizeof *q + keep);
                if (nq)
                    *link = q = nq;
            } else {
                q->tail_gap = keep - q->len;
            }
            cut++;
        }
        link = &q->next;
    }
    return cut;
}

/* Marks overlaps between the piece and queued data; sets *diff when captured bytes in a
 * common range differ. Returns true when any queued range overlaps. */
static bool compare_queued(const struct reasm_dir *d, const struct piece *pc, bool *diff /* OUT */)
{
    uint32_t s = pc->seq, e = pc->seq + pc->wire;
    uint32_t new_data_end = s + (uint32_t)pc->data.len;
    bool overlap = false;
    for (const struct reasm_seg *q = d->ooo; q && seq_lt(q->seq, e); q = q->next) {
        if (seq_le(seg_end(q), s))
            continue;
        overlap = true;
        uint32_t a = seq_max(s, q->seq);
        uint32_t z = seq_min(seq_min(e, seg_end(q)), seq_min(new_data_end, q->seq + q->len));
        if (!seq_lt(a, z))
            continue; /* one side is missing (snapped) there: nothing to compare */
        uint32_t n = z - a;
        struct bytes mine = piece_data(pc, a, n);
        struct bytes kept = bytes_sub(seg_bytes(q), (size_t)(a - q->seq), n);
        if (mine.len != kept.len || memcmp(mine.p, kept.p, mine.len) != 0)
            *diff = true;
    }
    return overlap;
}

/* Copies [a, z) of the piece into a new queue entry linked after `prev` (NULL: head). */
static struct reasm_seg *enqueue(struct reasm_dir *d, struct reasm_budget *b, struct reasm_seg *prev,
                                 const struct piece *pc, uint32_t a, uint32_t z)
{
    struct bytes s = piece_data(pc, a, z - a);
    struct reasm_seg *q = malloc(sizeof *q + s.len);
    if (!q)
        return NULL;
    q->seq = a;
    q->len = (uint32_t)s.len;
    q->tail_gap = (z - a) - (uint32_t)s.len;
    if (s.len)
        memcpy(q->data, s.p, s.len);
    struct reasm_seg **link = prev ? &prev->next : &d->ooo;
    q->next = *link;
    *link = q;
    d->ooo_segs++;
    d->ooo_bytes += s.len;
    b->used += s.len + REASM_SEG_OVERHEAD;
    if (b->total)
        mem_charge(b->total, s.len + REASM_SEG_OVERHEAD);
    return q;
}

/* Zeroes d: not started, nothing queued, counters 0. Owns nothing yet. */
void reasm_dir_init(struct reasm_dir *d)
{
    memset(d, 0, sizeof *d);
}

/* Feeds one segment (see reasm.h). Borrows payload for the duration of the call only:
 * in-order bytes go to the sink straight from it, out-of-order bytes are copied into
 * queue entries owned by d (charged to d->ooo_bytes and b->used). Returns 0, or
 * NZ_ENOMEM when a queue entry could not be allocated (the rest of the segment is
 * dropped and counted in cap_drops; d stays consistent). */
int reasm_push(struct reasm_dir *d, int dir, const struct reasm_cfg *cfg, struct reasm_budget *b,
               uint32_t seq, uint8_t flags, const uint8_t *payload, uint32_t len, uint32_t wire_len,
               const struct reasm_sink *sink)
{
    if (d->done || (flags & TCP_RST))
        return 0; /* RFC 1122 §4.2.2.12: data on a RST is diagnostic, not stream content */
    if (wire_len < len)
        wire_len = len; /* caller error; the captured bytes are real */

    /* RFC 9293 §3.4: the SYN takes one sequence number, data starts after it. */
    uint32_t s = (flags & TCP_SYN) ? seq + 1 : seq;
    if ((flags & TCP_SYN) && !d->started) {
        d->started = true;
        d->next_seq = s;
    }
    if (wire_len == 0 && !(flags & TCP_FIN))
        return 0; /* pure ACK/RST/SYN: no stream content */
    if (!d->started) { /* mid-stream pickup: this segment fixes the base */
        d->started = true;
        d->next_seq = s;
    }
    if (wire_len)
        d->segs++;

    int64_t off = seq_diff(s, d->next_seq);
    if (off > REASM_BOGUS_WIN || off < -REASM_BOGUS_WIN || off + (int64_t)wire_len > REASM_BOGUS_WIN) {
        d->cap_drops++;
        return 0;
    }
    if (flags & TCP_FIN)
        d->cap_drops += note_fin(d, b, s + wire_len);
    if (wire_len == 0)
        return 0;

    struct piece pc = {s, wire_len, {payload, payload ? len : 0}};
    if (d->fin_seen) { /* nothing exists beyond the FIN */
        if (!seq_lt(s, d->fin_seq)) {
            d->cap_drops++;
            return 0;
        }
        if (seq_lt(d->fin_seq, s + wire_len)) {
            pc.wire = d->fin_seq - s;
            pc.data = bytes_sub(pc.data, 0, pc.wire);
            d->cap_drops++;
        }
    }

    uint32_t e = pc.seq + pc.wire;
    if (seq_le(e, d->next_seq)) {
        d->retrans++;
        return 0;
    }
    bool overlap = false, diff = false;
    if (seq_lt(pc.seq, d->next_seq)) { /* first wins: delivered bytes stay */
        uint32_t skip = d->next_seq - pc.seq;
        pc.data = bytes_sub(pc.data, skip, pc.data.len);
        pc.seq += skip;
        pc.wire -= skip;
        overlap = true;
    }

    if (!d->ooo) { /* fast path: nothing queued */
        if (pc.seq == d->next_seq) {
            d->overlaps += overlap;
            deliver_piece(d, dir, sink, &pc, pc.wire);
            return 0;
        }
    } else if (compare_queued(d, &pc, &diff)) {
        overlap = true;
    }
    d->overlaps += overlap;
    d->overlap_diff += diff;

    /* Walk the piece left to right: ranges already queued are skipped (first wins),
     * holes at next_seq are delivered from the caller's buffer, other holes are queued. */
    uint32_t cur = pc.seq;
    struct reasm_seg *prev = NULL; /* queued segment ending at or before cur, or NULL */
    bool queued = false, budget_full = false;
    int rc = 0;
    while (seq_lt(cur, e)) {
        if (seq_lt(cur, d->next_seq)) { /* covered by queued data drained meanwhile */
            cur = d->next_seq;
            if (!seq_lt(cur, e))
                break;
        }
        struct reasm_seg *q = prev ? prev->next : d->ooo;
        while (q && seq_le(seg_end(q), cur)) {
            prev = q;
            q = q->next;
        }
        if (q && seq_le(q->seq, cur)) {
            cur = seq_min(e, seg_end(q));
            prev = q;
            continue;
        }
        uint32_t hole_end = (q && seq_lt(q->seq, e)) ? q->seq : e;
        if (cur == d->next_seq) {
            deliver_piece(d, dir, sink, &pc, hole_end - cur);
            drain(d, dir, b, sink);
            if (d->done)
                break;
            prev = NULL; /* everything left in the queue lies after next_seq >= cur */
            cur = hole_end;
            continue;
        }
        size_t n = piece_data(&pc, cur, hole_end - cur).len;
        enum fit why = fits(d, cfg, b, n, d->ooo_segs, d->ooo_bytes);
        if (why != FIT_OK) {
            /* Skipping this direction's holes frees its queue; pointless when the piece
             * would not fit even into an empty queue. */
            enum fit alone = fits(d, cfg, b, n, 0, 0);
            budget_full = budget_full || why == FIT_BUDGET || alone == FIT_BUDGET;
            if (!d->ooo || alone != FIT_OK) {
                d->cap_drops++;
                mark_cap_hole(d, cur, e);
                break;
            }
            uint32_t to = seq_min(cur, d->ooo->seq);
            bool had_prev = prev != NULL;
            uint32_t prev_end = prev ? seg_end(prev) : 0;
            skip_to(d, dir, b, sink, to, true);
            if (d->done)
                break;
            if (had_prev && seq_le(prev_end, d->next_seq))
                prev = NULL; /* drained, and so was everything before it */
            continue;
        }
        struct reasm_seg *nq = enqueue(d, b, prev, &pc, cur, hole_end);
        if (!nq) {
            d->cap_drops++;
            mark_cap_hole(d, cur, e);
            rc = NZ_ENOMEM;
            break;
        }
        queued = true;
        prev = nq;
        cur = hole_end;
    }
    d->ooo_queued += queued;
    b->over_budget += budget_full;
    return rc;
}

/* Reports each remaining hole as a gap and delivers the queue behind it, in order, until
 * the queue is empty (next_seq ends after the last queued byte). No-op when done. */
void reasm_flush(struct reasm_dir *d, int dir, struct reasm_budget *b, const struct reasm_sink *sink)
{
    while (!d->done && d->ooo)
        skip_to(d, dir, b, sink, d->ooo->seq, false);
}

/* Frees the queue (its bytes return to b) and makes every later push a no-op. Safe to
 * call from the sink's callbacks and more than once. */
void reasm_set_done(struct reasm_dir *d, struct reasm_budget *b)
{
    free_queue(d, b);
    d->done = true;
}

/* Frees the queue and returns its bytes to b; counters and sequence state are kept so
 * they can still be read. Call reasm_dir_init() before reusing d. */
void reasm_dir_fini(struct reasm_dir *d, struct reasm_budget *b)
{
    free_queue(d, b);
}

/* Walks the queue and verifies the invariants listed in reasm.h; cfg may be NULL to skip
 * the cap checks. Returns true when they hold. Reads only. */
bool reasm_dir_check(const struct reasm_dir *d, const struct reasm_cfg *cfg)
{
    size_t bytes = 0;
    unsigned segs = 0;
    uint32_t last_end = d->next_seq;
    if (d->done && d->ooo)
        return false;
    if (d->fin_seen && seq_lt(d->fin_seq, d->next_seq))
        return false;
    for (const struct reasm_seg *q = d->ooo; q; q = q->next) {
        if (!seq_lt(last_end, q->seq) && !(segs > 0 && last_end == q->seq))
            return false; /* head must be after next_seq; others after their predecessor */
        if (q->len == 0 && q->tail_gap == 0)
            return false;
        if ((int64_t)seq_diff(seg_end(q), d->next_seq) > REASM_BOGUS_WIN)
            return false;
        if (d->fin_seen && seq_lt(d->fin_seq, seg_end(q)))
            return false;
        last_end = seg_end(q);
        bytes += q->len;
        segs++;
    }
    if (bytes != d->ooo_bytes || segs != d->ooo_segs)
        return false;
    return cfg == NULL || (d->ooo_bytes <= cfg->ooo_max_bytes && d->ooo_segs <= cfg->ooo_max_segs);
}
