/* driver.c — the stream driver. See driver.h. */
#include "engine/driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/nz.h"

/* ---- buffers ---- */

static bool dbuf_append(struct dbuf *b, const uint8_t *p, size_t n, size_t max)
{
    if (n > max - b->len)
        return false;
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap : 1024;
        while (nc < b->len + n)
            nc *= 2;
        if (nc > max)
            nc = max;
        uint8_t *np = realloc(b->p, nc);
        if (!np)
            return false;
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return true;
}

static void dbuf_consume(struct dbuf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

static void dbuf_free(struct dbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* An emptied buffer above this capacity goes back to the allocator (it grew for one big
 * record or head); smaller ones are kept so a flow's next tail does not allocate again. */
#define DBUF_KEEP 4096u

/* ---- helpers ---- */

size_t drv_mem(const struct drv *d)
{
    size_t m = nz_heap_size(d->buf[0].cap) + nz_heap_size(d->buf[1].cap);
    if (d->dis && d->dis_st)
        m += d->dis->mem(d->dis_st);
    return m;
}

static void mem_changed(struct drv *d)
{
    if (d->host->mem_changed)
        d->host->mem_changed(d->host->ud, d);
}

static void fill_ctx(const struct drv *d, uint64_t ts, struct dis_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->ts_usec = ts;
    ctx->sink = d->host->sink;
    ctx->cli_ip = d->cli_ip;
    ctx->srv_ip = d->srv_ip;
    ctx->cli_port = d->cli_port;
    ctx->srv_port = d->srv_port;
    ctx->flow_id = d->flow_id;
    ctx->want[0] = d->want[0];
    ctx->want[1] = d->want[1];
}

/* The dissector needs no more bytes of `dir`. */
static void stop_want(struct drv *d, int dir)
{
    d->want[dir] = false;
    dbuf_free(&d->buf[dir]);
}

static void stop_both(struct drv *d)
{
    stop_want(d, 0);
    stop_want(d, 1);
}

/* on_close, then free the state (the dissector stays named in d->dis). */
static void close_state(struct drv *d, uint64_t ts)
{
    if (d->dis && d->dis_st) {
        struct dis_ctx cctx;
        fill_ctx(d, ts, &cctx);
        d->dis->on_close(d->dis_st, &cctx);
        d->dis->state_free(d->dis_st);
    }
    d->dis_st = NULL;
}

static void detach(struct drv *d, const char *reason, uint64_t ts)
{
    if (reason) {
        struct finding fd;
        finding_init(&fd, FK_DISSECT_MALFORMED, ts);
        finding_summary(&fd, "%s stream rejected as malformed: %s", d->dis ? d->dis->name : "?", reason);
        struct json j;
        json_init(&j, fd.evidence, sizeof fd.evidence);
        json_str(&j, "protocol", d->dis ? d->dis->name : NULL);
        json_str(&j, "reason", reason);
        json_finish(&j);
        d->host->stats.errors++;
        const struct dis_sink *s = d->host->sink;
        if (s && s->finding)
            s->finding(s->ud, &fd);
    }
    /* Let it emit what it has (a session record) before it goes. */
    close_state(d, ts);
    d->ds = DRV_NONE;
    stop_both(d);
}

static bool attach(struct drv *d, const struct dissector *dis)
{
    struct dis_cfg dc = {0};
    dc.started_by = d->started_by[0] ? d->started_by : dis->name;
    dc.policy = d->host->policy;
    dc.trust = d->host->trust;
    dc.tcache = d->host->tcache;
    if (d->expect_host && d->expect_host[0]) {
        dc.expect_host = d->expect_host;
        dc.expect_host_source = d->expect_source;
    }
    void *st = dis->state_new(&dc);
    if (!st) {
        nz_logf(d->host->log, NZ_LOG_WARN, "flow %llu: out of memory starting %s dissector",
                (unsigned long long)d->flow_id, dis->name);
        return false;
    }
    d->dis = dis;
    d->dis_st = st;
    d->ds = DRV_ATTACHED;
    d->host->stats.attached++;
    return true;
}

static void feed(struct drv *d, int dir, const uint8_t *p, size_t n, uint64_t ts);

/* The dissector needs nothing more: let it emit what is pending and free its state now, not
 * at the end of the flow (a TLS state is ~20 KB; a long bulk flow should not keep it). */
static void finish_dissector(struct drv *d, uint64_t ts)
{
    d->ds = DRV_FINISHED;
    close_state(d, ts);
}

static void do_switch(struct drv *d, int dir, const struct dis_ctx *ctx, const uint8_t *rest, size_t rest_len,
                      uint64_t ts)
{
    const struct dissector *next = NULL;
    if (ctx->switch_to)
        next = d->host->find ? d->host->find(ctx->switch_to) : dis_find(ctx->switch_to);
    snprintf(d->started_by, sizeof d->started_by, "%s", ctx->started_by ? ctx->started_by : "");
    /* The name may live in the state closed below: copied for the attach, not kept. */
    char host[256], source[12];
    snprintf(host, sizeof host, "%s", ctx->switch_host ? ctx->switch_host : "");
    snprintf(source, sizeof source, "%s", ctx->switch_host_source ? ctx->switch_host_source : "");
    /* Copy the rest before the buffers it may point into are freed, and keep the other
     * direction's unconsumed tail: it arrived earlier (a ClientHello sent before the 220)
     * and belongs to the next protocol too. */
    uint8_t *copy = NULL, *other = NULL;
    size_t other_len = d->buf[1 - dir].len;
    if (rest_len) {
        copy = malloc(rest_len);
        if (copy)
            memcpy(copy, rest, rest_len);
    }
    if (other_len) {
        other = malloc(other_len);
        if (other)
            memcpy(other, d->buf[1 - dir].p, other_len);
    }
    close_state(d, ts);
    d->dis = NULL;
    d->buf[0].len = d->buf[1].len = 0;
    d->host->stats.switches++;
    d->expect_host = host;
    d->expect_source = source;
    bool ok = next && attach(d, next);
    d->expect_host = d->expect_source = NULL;
    if (!ok) {
        d->ds = DRV_NONE;
        stop_both(d);
    } else {
        if (other)
            feed(d, 1 - dir, other, other_len, ts);
        if (copy && d->ds == DRV_ATTACHED)
            feed(d, dir, copy, rest_len, ts);
    }
    free(copy);
    free(other);
}

/* Applies the status and OUT fields of a dissector call. `rest`/`rest_len`: bytes after
 * the consumed ones in this call's input (for DIS_SWITCH). */
static void after_call(struct drv *d, int dir, enum dis_status rc, struct dis_ctx *ctx, const uint8_t *rest,
                       size_t rest_len, uint64_t ts)
{
    switch (rc) {
    case DIS_OK:
        for (int k = 0; k < 2; k++)
            if (d->want[k] && !ctx->want[k])
                stop_want(d, k);
        if (!d->want[0] && !d->want[1])
            finish_dissector(d, ts);
        break;
    case DIS_DONE:
        stop_both(d);
        finish_dissector(d, ts);
        break;
    case DIS_ERR:
        detach(d, ctx->err_reason ? ctx->err_reason : "unspecified", ts);
        break;
    case DIS_SWITCH:
        do_switch(d, dir, ctx, rest, rest_len, ts);
        break;
    }
}

/* Gives stream bytes of `dir` to the attached dissector, keeping its unconsumed tail. */
static void feed(struct drv *d, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
    if (d->ds != DRV_ATTACHED || !d->want[dir] || n == 0)
        return;
    struct dbuf *b = &d->buf[dir];
    struct bytes in;
    if (b->len == 0) {
        in.p = p;
        in.len = n;
    } else {
        if (!dbuf_append(b, p, n, DIS_BUF_MAX)) {
            d->host->stats.overflow++;
            detach(d, "unconsumed data exceeds DIS_BUF_MAX", ts);
            return;
        }
        in.p = b->p;
        in.len = b->len;
    }
    struct dis_ctx ctx;
    fill_ctx(d, ts, &ctx);
    size_t consumed = 0;
    enum dis_status rc = d->dis->on_data(d->dis_st, dir, in, &consumed, &ctx);
    if (consumed > in.len)
        consumed = in.len;
    if (rc == DIS_SWITCH) {
        /* rest may point into b: do_switch copies it before freeing anything. */
        after_call(d, dir, rc, &ctx, in.p + consumed, in.len - consumed, ts);
        return;
    }
    if (rc == DIS_OK && d->want[dir] && ctx.want[dir]) {
        if (in.p == p) { /* zero-copy call: keep the tail */
            if (consumed < n && !dbuf_append(b, p + consumed, n - consumed, DIS_BUF_MAX)) {
                d->host->stats.overflow++;
                detach(d, "unconsumed data exceeds DIS_BUF_MAX", ts);
                mem_changed(d);
                return;
            }
        } else {
            dbuf_consume(b, consumed);
            if (b->len == 0 && b->cap > DBUF_KEEP)
                dbuf_free(b);
        }
    }
    after_call(d, dir, rc, &ctx, NULL, 0, ts);
    if (d->ds == DRV_ATTACHED && drv_mem(d) > DIS_FLOW_MEM_MAX) {
        /* One flow may not grow past its cap: its dissector gives up and its state goes. */
        d->host->stats.mem_cap++;
        detach(d, "flow state exceeds DIS_FLOW_MEM_MAX", ts);
    }
    mem_changed(d);
}

/* While probing: collect the first bytes of each direction and ask every dissector. */
static void probe(struct drv *d, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
    struct dbuf *b = &d->buf[dir];
    size_t room = DIS_PROBE_MAX - b->len;
    size_t take = n < room ? n : room;
    if (take && !dbuf_append(b, p, take, DIS_PROBE_MAX)) {
        d->ds = DRV_NONE;
        stop_both(d);
        return;
    }
    d->had_data[dir] = true;
    bool maybe = false;
    const struct dissector *hit = NULL;
    const struct dissector *const *reg = d->host->registry ? d->host->registry : dis_registry;
    size_t reg_len = d->host->registry ? d->host->registry_len : dis_registry_len;
    struct bytes first = {b->p, b->len};
    for (size_t i = 0; i < reg_len && !hit; i++) {
        enum dis_probe r = reg[i]->probe(first, dir);
        if (r == DIS_PROBE_YES)
            hit = reg[i];
        else if (r == DIS_PROBE_MAYBE)
            maybe = true;
    }
    if (hit) {
        if (!attach(d, hit)) {
            d->ds = DRV_NONE;
            stop_both(d);
            return;
        }
        /* The other direction's bytes (if any) arrived earlier: feed them first. The
         * probe buffers become the dissector's input; detach them so feed() can reuse
         * buf[] for unconsumed tails. */
        int other = 1 - dir;
        struct dbuf pb[2] = {d->buf[0], d->buf[1]};
        memset(&d->buf, 0, sizeof d->buf);
        if (pb[other].len)
            feed(d, other, pb[other].p, pb[other].len, ts);
        if (pb[dir].len)
            feed(d, dir, pb[dir].p, pb[dir].len, ts);
        /* Bytes beyond the probe window in this very segment. */
        if (take < n)
            feed(d, dir, p + take, n - take, ts);
        dbuf_free(&pb[0]);
        dbuf_free(&pb[1]);
        return;
    }
    bool full = b->len >= DIS_PROBE_MAX;
    if (full || (!maybe && d->had_data[0] && d->had_data[1])) {
        d->ds = DRV_NONE;
        stop_both(d);
    }
}

/* ---- public ---- */

void drv_init(struct drv *d, struct drv_host *host, const char *cli_ip, const char *srv_ip, uint16_t cli_port,
              uint16_t srv_port, uint64_t flow_id)
{
    memset(d, 0, sizeof *d);
    d->host = host;
    d->ds = DRV_PROBING;
    d->want[0] = d->want[1] = true;
    d->cli_ip = cli_ip;
    d->srv_ip = srv_ip;
    d->cli_port = cli_port;
    d->srv_port = srv_port;
    d->flow_id = flow_id;
}

bool drv_attach(struct drv *d, const struct dissector *dis, uint64_t ts_usec)
{
    (void)ts_usec;
    if (d->ds != DRV_PROBING || d->buf[0].len || d->buf[1].len || !attach(d, dis)) {
        if (d->ds == DRV_PROBING) {
            d->ds = DRV_NONE;
            stop_both(d);
        }
        return false;
    }
    return true;
}

void drv_data(struct drv *d, int dir, const uint8_t *p, size_t n, uint64_t ts_usec)
{
    if (!d->want[dir])
        return;
    if (d->ds == DRV_PROBING)
        probe(d, dir, p, n, ts_usec);
    else if (d->ds == DRV_ATTACHED)
        feed(d, dir, p, n, ts_usec);
}

void drv_gap(struct drv *d, int dir, uint64_t len, uint64_t ts_usec)
{
    if (d->ds == DRV_PROBING) {
        /* Probing across a hole would misjudge; start over after it. */
        d->buf[dir].len = 0;
        return;
    }
    if (d->ds != DRV_ATTACHED || !d->want[dir])
        return;
    d->buf[dir].len = 0;
    struct dis_ctx ctx;
    fill_ctx(d, ts_usec, &ctx);
    enum dis_status rc = d->dis->on_gap ? d->dis->on_gap(d->dis_st, dir, len, &ctx) : DIS_DONE;
    if (rc == DIS_SWITCH)
        rc = DIS_DONE;
    after_call(d, dir, rc, &ctx, NULL, 0, ts_usec);
}

void drv_close(struct drv *d, uint64_t ts_usec)
{
    if ((d->ds == DRV_ATTACHED || d->ds == DRV_FINISHED) && d->dis_st) {
        struct dis_ctx ctx;
        fill_ctx(d, ts_usec, &ctx);
        d->dis->on_close(d->dis_st, &ctx);
    }
}

void drv_fini(struct drv *d)
{
    if (d->dis && d->dis_st)
        d->dis->state_free(d->dis_st);
    d->dis_st = NULL;
    dbuf_free(&d->buf[0]);
    dbuf_free(&d->buf[1]);
}
