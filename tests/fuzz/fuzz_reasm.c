/* fuzz_reasm.c — libFuzzer target for capture/reasm.c.
 *
 * Input: a 6-byte header, then records until the input ends.
 *   header[0]  bit 0: "truthful" mode: payload bytes are generated from their sequence
 *              number instead of read from the input, so every delivered byte can be
 *              checked against its stream position and overlap_diff must stay 0.
 *              bits 1-3: per-direction segment cap - 1 (1..8).
 *              bits 4-7: per-direction byte cap / 16 + 1 (16..256 bytes).
 *   header[1]  global budget / 4 + 1 (4..1024 bytes, shared by both directions).
 *   header[2]  if non-zero: the sink calls reasm_set_done() on direction 0 after that
 *              many data() calls (callback re-entry).
 *   header[3..5] low 24 bits of the initial sequence number; the high byte is 0xFF so
 *              that streams soon cross 2^32.
 *   record     ctl(1): bit 0 direction; bits 1-2 op: 0/1 push with a signed 16-bit
 *              sequence delta, 2 push with a 32-bit delta (bogus / far segments),
 *              3 control: bits 3-4 pick flush, set_done, or fini+init of the direction.
 *              For pushes then: delta (2 or 4 bytes, little endian, added to the
 *              direction's cursor), TCP flags (1), captured length (1), snapped extra
 *              wire bytes (1), and, unless truthful, `length` payload bytes.
 * Invariants checked after every record: reasm_dir_check() (sorted, non-overlapping,
 * after next_seq, within the FIN), both caps, budget == sum of both queues <= max, the
 * sink position equals next_seq - base, no gap of a bogus size, nothing delivered after
 * done. At the end both directions are finalised: the budget must be 0 (LeakSanitizer
 * catches lost queue entries). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/decode.h"
#include "capture/reasm.h"

#define CHECK(x)                                                              \
    do {                                                                      \
        if (!(x)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
            abort();                                                          \
        }                                                                     \
    } while (0)

struct fz_dir {
    struct reasm_dir d;
    uint32_t cursor;    /* sequence number records are relative to */
    bool based;         /* base is valid */
    uint32_t base;      /* sequence number of stream byte 0 */
    uint64_t pos;       /* stream bytes (data + gaps) seen by the sink */
    uint64_t calls;     /* data() calls */
};

struct fz {
    struct fz_dir dir[2];
    struct reasm_cfg cfg;
    struct reasm_budget b;
    struct reasm_sink sink;
    bool truthful;
    uint64_t stop_after; /* 0: never */
};

static uint8_t gen(uint32_t seq) { return (uint8_t)((seq * 2654435761u) >> 24); }

static void fz_data(void *ud, int dir, const uint8_t *p, size_t len)
{
    struct fz *z = ud;
    CHECK(dir == 0 || dir == 1);
    struct fz_dir *fd = &z->dir[dir];
    CHECK(len > 0);
    CHECK(!fd->d.done);
    CHECK(fd->based);
    if (z->truthful)
        for (size_t i = 0; i < len; i++)
            CHECK(p[i] == gen(fd->base + (uint32_t)(fd->pos + i)));
    fd->pos += len;
    fd->calls++;
    if (dir == 0 && z->stop_after && fd->calls == z->stop_after)
        reasm_set_done(&fd->d, &z->b);
}

static void fz_gap(void *ud, int dir, uint64_t len)
{
    struct fz *z = ud;
    CHECK(dir == 0 || dir == 1);
    struct fz_dir *fd = &z->dir[dir];
    CHECK(len > 0 && len <= (1u << 30));
    CHECK(!fd->d.done);
    CHECK(fd->based);
    fd->pos += len;
}

static void fz_check(const struct fz *z)
{
    for (int i = 0; i < 2; i++) {
        const struct fz_dir *fd = &z->dir[i];
        CHECK(reasm_dir_check(&fd->d, &z->cfg));
        CHECK(fd->d.ooo_bytes <= z->cfg.ooo_max_bytes);
        CHECK(fd->d.ooo_segs <= z->cfg.ooo_max_segs);
        if (fd->d.done)
            CHECK(fd->d.ooo == NULL && fd->d.ooo_bytes == 0);
        else if (fd->based)
            CHECK(fd->d.started && (uint32_t)(fd->base + (uint32_t)fd->pos) == fd->d.next_seq);
        else
            CHECK(!fd->d.started);
        if (z->truthful)
            CHECK(fd->d.overlap_diff == 0);
    }
    CHECK(z->b.used == reasm_dir_charge(&z->dir[0].d) + reasm_dir_charge(&z->dir[1].d));
    CHECK(z->b.used <= z->b.max);
}

static void fz_reset_dir(struct fz *z, int i)
{
    reasm_dir_fini(&z->dir[i].d, &z->b);
    uint32_t cursor = z->dir[i].cursor;
    memset(&z->dir[i], 0, sizeof z->dir[i]);
    reasm_dir_init(&z->dir[i].d);
    z->dir[i].cursor = cursor;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t hdr = 6;
    if (size < hdr)
        return 0;
    struct fz z;
    memset(&z, 0, sizeof z);
    z.truthful = data[0] & 1;
    z.cfg.ooo_max_segs = ((data[0] >> 1) & 7u) + 1;
    z.cfg.ooo_max_bytes = (((size_t)data[0] >> 4) + 1) * 16;
    z.b.max = ((size_t)data[1] + 1) * 4;
    z.stop_after = data[2];
    uint32_t isn = 0xFF000000u | ((uint32_t)data[3] << 16) | ((uint32_t)data[4] << 8) | data[5];
    z.sink.ud = &z;
    z.sink.data = fz_data;
    z.sink.gap = fz_gap;
    for (int i = 0; i < 2; i++) {
        reasm_dir_init(&z.dir[i].d);
        z.dir[i].cursor = isn + (uint32_t)i * 0x01000000u;
    }
    uint8_t buf[255 + 1];

    size_t off = hdr;
    while (off < size) {
        uint8_t ctl = data[off++];
        int dir = ctl & 1;
        struct fz_dir *fd = &z.dir[dir];
        unsigned op = (ctl >> 1) & 3u;
        if (op == 3) {
            switch ((ctl >> 3) & 3u) {
            case 0:
            case 1: reasm_flush(&fd->d, dir, &z.b, &z.sink); break;
            case 2: reasm_set_done(&fd->d, &z.b); break;
            default: fz_reset_dir(&z, dir); break;
            }
            fz_check(&z);
            continue;
        }
        size_t need = (op == 2 ? 4 : 2) + 3;
        if (size - off < need)
            break;
        uint32_t delta;
        if (op == 2) {
            delta = (uint32_t)data[off] | ((uint32_t)data[off + 1] << 8) | ((uint32_t)data[off + 2] << 16) |
                    ((uint32_t)data[off + 3] << 24);
            off += 4;
        } else {
            uint16_t d16 = (uint16_t)(data[off] | (data[off + 1] << 8));
            delta = d16 < 0x8000u ? d16 : (uint32_t)d16 | 0xFFFF0000u; /* sign-extended */
            off += 2;
        }
        uint8_t flags = data[off];
        uint32_t len = data[off + 1];
        uint32_t wire = len + data[off + 2];
        off += 3;
        const uint8_t *payload;
        fd->cursor += delta;
        uint32_t seq = fd->cursor;
        uint32_t first = (flags & TCP_SYN) ? seq + 1 : seq;
        if (z.truthful) {
            for (uint32_t i = 0; i < len; i++)
                buf[i] = gen(first + i);
            payload = buf;
        } else {
            if (size - off < len)
                len = (uint32_t)(size - off);
            payload = data + off;
            off += len;
        }
        /* Model of the base rule: RST ignored; SYN, data or FIN start the direction. */
        if (!fd->d.done && !fd->d.started && !(flags & TCP_RST) &&
            ((flags & TCP_SYN) || wire > 0 || (flags & TCP_FIN))) {
            fd->based = true;
            fd->base = first;
            fd->pos = 0;
        }
        reasm_push(&fd->d, dir, &z.cfg, &z.b, seq, flags, len ? payload : NULL, len, wire, &z.sink);
        fz_check(&z);
    }

    reasm_dir_fini(&z.dir[0].d, &z.b);
    reasm_dir_fini(&z.dir[1].d, &z.b);
    CHECK(z.b.used == 0);
    return 0;
}
