/* check_decode.c — Check suite for capture/decode.c.
 *
 * Frames are built by the small builder below (struct spec → bytes), so each test states
 * the one thing it changes; every frame is decoded from a guard-page copy (tu_guard) so that
 * any read past caplen faults. Header layouts follow the references in decode.c. */
#include "capture/decode.h"

#include "tests/testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* ---- frame builder ---- */

enum { FRAME_MAX = 4096 };

struct spec {
    int dlt;
    /* Ethernet / SLL / SLL2 */
    uint16_t ethertype;        /* 0 = derived from ip_ver */
    unsigned ntags;            /* VLAN tags before the ethertype */
    uint16_t tpid[12];         /* 0 = 0x8100 */
    uint16_t vid[12];
    bool llc_snap;             /* Ethernet: 802.3 length + LLC/SNAP instead of Ethernet II */
    /* NULL / LOOP */
    uint32_t family;           /* 0 = derived (2 / 10) */
    bool family_be;            /* NULL: header written big-endian (LOOP always is) */
    /* IP */
    int ip_ver;                /* 4 or 6 */
    uint8_t ip_ver_nibble;     /* 0 = ip_ver */
    size_t ip4_opt;            /* bytes of IPv4 options (multiple of 4, <= 40) */
    uint8_t ihl_override;      /* 0 = computed */
    bool total_override;       /* use total_len instead of the computed IPv4 total length */
    uint16_t total_len;        /* IPv4 total length / IPv6 payload length override */
    uint16_t frag;             /* IPv4 flags+offset field */
    const uint8_t *ext;        /* IPv6 extension headers (their next-header bytes set) */
    size_t ext_len;
    uint8_t first_nh;          /* IPv6 next header when ext is set */
    uint8_t proto;             /* 0 = TCP (6) */
    size_t l4_len;             /* non-TCP: bytes after the IP header */
    /* TCP */
    size_t tcp_opt;            /* bytes of TCP options (multiple of 4) */
    uint8_t doff_override;     /* 0 = computed (in 32-bit words) */
    uint8_t flags;
    size_t payload;            /* payload bytes */
    size_t pad;                /* link-layer padding after the IP packet */
};

struct frame {
    uint8_t b[FRAME_MAX];
    size_t len;
    size_t l3_off;             /* offset of the IP header */
    size_t tcp_off;            /* offset of the TCP header */
    size_t pl_off;             /* offset of the TCP payload */
    size_t ip_end;             /* offset just past the IP packet */
};

static const uint8_t SRC4[4] = {10, 0, 0, 1};
static const uint8_t DST4[4] = {192, 168, 1, 2};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

static void put8(struct frame *f, unsigned v) { f->b[f->len++] = (uint8_t)v; }
static void put16(struct frame *f, unsigned v)
{
    put8(f, v >> 8);
    put8(f, v);
}
static void put32(struct frame *f, uint32_t v)
{
    put16(f, v >> 16);
    put16(f, v & 0xffff);
}
static void put32le(struct frame *f, uint32_t v)
{
    put8(f, v);
    put8(f, v >> 8);
    put8(f, v >> 16);
    put8(f, v >> 24);
}
static void putn(struct frame *f, const void *p, size_t n)
{
    memcpy(f->b + f->len, p, n);
    f->len += n;
}
static void putfill(struct frame *f, size_t n, uint8_t v)
{
    memset(f->b + f->len, v, n);
    f->len += n;
}
static void patch16(struct frame *f, size_t at, unsigned v)
{
    f->b[at] = (uint8_t)(v >> 8);
    f->b[at + 1] = (uint8_t)v;
}

static uint16_t spec_ethertype(const struct spec *s)
{
    if (s->ethertype)
        return s->ethertype;
    return s->ip_ver == 6 ? 0x86dd : 0x0800;
}

static void build_tags(struct frame *f, const struct spec *s)
{
    for (unsigned i = 0; i < s->ntags; i++) {
        put16(f, s->tpid[i] ? s->tpid[i] : 0x8100);
        put16(f, 0xe000u | s->vid[i]); /* PCP 7 set: must not leak into the id */
    }
}

static void build_link(struct frame *f, const struct spec *s)
{
    static const uint8_t mac_d[6] = {0x02, 0, 0, 0, 0, 0x02}, mac_s[6] = {0x02, 0, 0, 0, 0, 0x01};
    uint32_t fam = s->family ? s->family : (s->ip_ver == 6 ? 10u : 2u);
    switch (s->dlt) {
    case 1:
        putn(f, mac_d, 6);
        putn(f, mac_s, 6);
        build_tags(f, s);
        if (s->llc_snap) {
            put16(f, 0x0100); /* 802.3 length (not checked) */
            put8(f, 0xaa);
            put8(f, 0xaa);
            put8(f, 0x03);
            put8(f, 0);
            put8(f, 0);
            put8(f, 0);
        }
        put16(f, spec_ethertype(s));
        break;
    case 113:
        put16(f, 0);      /* packet type: to us */
        put16(f, 1);      /* ARPHRD_ETHER */
        put16(f, 6);      /* address length */
        putn(f, mac_s, 6);
        put16(f, 0);      /* address padding */
        put16(f, s->ntags ? (s->tpid[0] ? s->tpid[0] : 0x8100) : spec_ethertype(s));
        if (s->ntags) {
            /* first tag's TPID is the protocol field: emit TCI, then the rest */
            put16(f, s->vid[0]);
            for (unsigned i = 1; i < s->ntags; i++) {
                put16(f, s->tpid[i] ? s->tpid[i] : 0x8100);
                put16(f, s->vid[i]);
            }
            put16(f, spec_ethertype(s));
        }
        break;
    case 276:
        put16(f, spec_ethertype(s));
        put16(f, 0);      /* reserved */
        put32(f, 3);      /* interface index */
        put16(f, 1);      /* ARPHRD_ETHER */
        put8(f, 4);       /* packet type: outgoing */
        put8(f, 6);
        putn(f, mac_s, 6);
        put16(f, 0);
        break;
    case 0:
        if (s->family_be)
            put32(f, fam);
        else
            put32le(f, fam);
        break;
    case 108:
        put32(f, fam);
        break;
    default: /* raw IP link types: no header */
        break;
    }
}

/* Builds s into f. */
static void build(struct frame *f, const struct spec *s)
{
    memset(f, 0, sizeof *f);
    build_link(f, s);
    f->l3_off = f->len;
    uint8_t proto = s->proto ? s->proto : 6;
    size_t tcp_hlen = 20 + s->tcp_opt;
    size_t l4 = proto == 6 ? tcp_hlen + s->payload : s->l4_len;
    size_t len_at;
    uint8_t nib = s->ip_ver_nibble ? s->ip_ver_nibble : (uint8_t)s->ip_ver;
    if (s->ip_ver == 4) {
        size_t ihl = 20 + s->ip4_opt;
        put8(f, (unsigned)(nib << 4) | (s->ihl_override ? s->ihl_override : ihl / 4));
        put8(f, 0);
        len_at = f->len;
        put16(f, 0);
        put16(f, 0x1234);
        put16(f, s->frag);
        put8(f, 64);
        put8(f, proto);
        put16(f, 0);
        putn(f, SRC4, 4);
        putn(f, DST4, 4);
        for (size_t i = 0; i < s->ip4_opt; i++)
            put8(f, 1); /* NOP options */
        patch16(f, len_at, s->total_override ? s->total_len : (unsigned)(ihl + l4));
    } else {
        put32(f, (uint32_t)nib << 28);
        len_at = f->len;
        put16(f, 0);
        put8(f, s->ext ? s->first_nh : proto);
        put8(f, 64);
        putn(f, SRC6, 16);
        putn(f, DST6, 16);
        if (s->ext)
            putn(f, s->ext, s->ext_len);
        patch16(f, len_at, s->total_override ? s->total_len : (unsigned)(s->ext_len + l4));
    }
    f->tcp_off = f->len;
    if (proto == 6) {
        put16(f, 40000);
        put16(f, 443);
        put32(f, 0x01020304);
        put32(f, 0xa0b0c0d0);
        put8(f, (unsigned)(s->doff_override ? s->doff_override : tcp_hlen / 4) << 4);
        put8(f, s->flags);
        put16(f, 0x7210);
        put16(f, 0);
        put16(f, 0);
        for (size_t i = 0; i < s->tcp_opt; i++)
            put8(f, 1);
        f->pl_off = f->len;
        for (size_t i = 0; i < s->payload; i++)
            put8(f, 'a' + i % 26);
    } else {
        putfill(f, s->l4_len, 0x55);
    }
    f->ip_end = f->len;
    putfill(f, s->pad, 0xee);
}

/* Decodes the first caplen bytes of f from a guard-page copy, wire length `wirelen`.
 * The payload pointer is rebased to an offset (-1 if outside the copy) in *pl_off. */
static enum dec_reason decode_cut(int dlt, const struct frame *f, size_t caplen, size_t wirelen,
                                  struct pkt *p, long *pl_off, long *l3_off)
{
    uint8_t *g = tu_guard(f->b, caplen);
    enum dec_reason r = dec_packet(dlt, g, (uint32_t)caplen, (uint32_t)wirelen, 777, p);
    if (pl_off)
        *pl_off = (p->payload && p->payload >= g && p->payload <= g + caplen) ? (long)(p->payload - g) : -1;
    if (l3_off)
        *l3_off = (p->l3 && p->l3 >= g && p->l3 <= g + caplen) ? (long)(p->l3 - g) : -1;
    tu_guard_free(g, caplen);
    return r;
}

static enum dec_reason decode_full(const struct spec *s, struct frame *f, struct pkt *p, long *pl_off)
{
    build(f, s);
    long l3;
    enum dec_reason r = decode_cut(s->dlt, f, f->len, f->len, p, pl_off, &l3);
    if (r == DEC_OK)
        ck_assert_int_eq(l3, (long)f->l3_off);
    return r;
}

/* Asserts the standard TCP segment of build(). */
static void assert_tcp(const struct spec *s, const struct frame *f, const struct pkt *p, long pl_off)
{
    ck_assert_int_eq(p->ip_ver, s->ip_ver);
    if (s->ip_ver == 4) {
        uint8_t e[16] = {0};
        memcpy(e, SRC4, 4);
        ck_assert_mem_eq(p->src, e, 16);
        memcpy(e, DST4, 4);
        ck_assert_mem_eq(p->dst, e, 16);
    } else {
        ck_assert_mem_eq(p->src, SRC6, 16);
        ck_assert_mem_eq(p->dst, DST6, 16);
    }
    ck_assert_uint_eq(p->sport, 40000);
    ck_assert_uint_eq(p->dport, 443);
    ck_assert_uint_eq(p->seq, 0x01020304u);
    ck_assert_uint_eq(p->ack, 0xa0b0c0d0u);
    ck_assert_uint_eq(p->window, 0x7210);
    ck_assert_uint_eq(p->tcp_flags, s->flags);
    ck_assert_int_eq(pl_off, (long)f->pl_off);
    ck_assert_uint_eq(p->payload_len, s->payload);
    ck_assert_uint_eq(p->payload_wire_len, s->payload);
    ck_assert_uint_eq(p->l3_len, f->ip_end - f->l3_off);
    ck_assert_uint_eq(p->ts_usec, 777);
    ck_assert_uint_eq(p->caplen, f->len);
}

static struct spec tcp_spec(int dlt, int ip_ver)
{
    struct spec s;
    memset(&s, 0, sizeof s);
    s.dlt = dlt;
    s.ip_ver = ip_ver;
    s.flags = TCP_ACK | TCP_PSH;
    s.payload = 10;
    return s;
}

/* Builds, decodes, expects DEC_OK and the standard segment. */
static void expect_ok(const struct spec *s)
{
    struct frame f;
    struct pkt p;
    long pl;
    enum dec_reason r = decode_full(s, &f, &p, &pl);
    ck_assert_msg(r == DEC_OK, "dlt %d v%d: %s", s->dlt, s->ip_ver, dec_reason_name(r));
    assert_tcp(s, &f, &p, pl);
}

static enum dec_reason reason_of(const struct spec *s)
{
    struct frame f;
    struct pkt p;
    return decode_full(s, &f, &p, NULL);
}

/* ---- link types ---- */

START_TEST(test_en10mb)
{
    struct spec s = tcp_spec(1, 4);
    expect_ok(&s);
    s.ip_ver = 6;
    expect_ok(&s);
}
END_TEST

START_TEST(test_sll)
{
    struct spec s = tcp_spec(113, 4);
    expect_ok(&s);
    s.ip_ver = 6;
    expect_ok(&s);
    s.ethertype = 0x0806; /* ARP */
    ck_assert_int_eq(reason_of(&s), DEC_NON_IP);
    s.ethertype = 0x0004; /* Linux pseudo-protocol 802.2 */
    ck_assert_int_eq(reason_of(&s), DEC_NON_IP);
}
END_TEST

START_TEST(test_sll_vlan)
{
    /* VLAN tag left in an SLL capture: protocol 0x8100, then TCI and the inner type */
    struct spec s = tcp_spec(113, 4);
    s.ntags = 1;
    s.vid[0] = 42;
    struct frame f;
    struct pkt p;
    long pl;
    ck_assert_int_eq(decode_full(&s, &f, &p, &pl), DEC_OK);
    assert_tcp(&s, &f, &p, pl);
    ck_assert_uint_eq(p.nvlan, 1);
    ck_assert_uint_eq(p.vlan[0], 42);
}
END_TEST

START_TEST(test_sll2)
{
    struct spec s = tcp_spec(276, 4);
    expect_ok(&s);
    s.ip_ver = 6;
    expect_ok(&s);
    s.ethertype = 0x88cc; /* LLDP */
    ck_assert_int_eq(reason_of(&s), DEC_NON_IP);
}
END_TEST

START_TEST(test_raw)
{
    static const int dlts[] = {12, 14, 101};
    for (size_t i = 0; i < sizeof dlts / sizeof dlts[0]; i++) {
        struct spec s = tcp_spec(dlts[i], 4);
        expect_ok(&s);
        s.ip_ver = 6;
        expect_ok(&s);
        s.ip_ver_nibble = 5;
        ck_assert_int_eq(reason_of(&s), DEC_BAD_IP_VERSION);
    }
}
END_TEST

START_TEST(test_ipv4_ipv6_dlt)
{
    struct spec s = tcp_spec(228, 4);
    expect_ok(&s);
    s.ip_ver = 6; /* an IPv6 packet on DLT_IPV4 */
    ck_assert_int_eq(reason_of(&s), DEC_BAD_IP_VERSION);
    s = tcp_spec(229, 6);
    expect_ok(&s);
    s.ip_ver = 4;
    ck_assert_int_eq(reason_of(&s), DEC_BAD_IP_VERSION);
}
END_TEST

START_TEST(test_null_le)
{
    static const uint32_t v6fams[] = {10, 24, 28, 30};
    struct spec s = tcp_spec(0, 4);
    expect_ok(&s);
    s.ip_ver = 6;
    for (size_t i = 0; i < 4; i++) {
        s.family = v6fams[i];
        expect_ok(&s);
    }
}
END_TEST

START_TEST(test_null_be)
{
    static const uint32_t v6fams[] = {10, 24, 28, 30};
    struct spec s = tcp_spec(0, 4);
    s.family_be = true;
    expect_ok(&s);
    s.ip_ver = 6;
    for (size_t i = 0; i < 4; i++) {
        s.family = v6fams[i];
        expect_ok(&s);
    }
}
END_TEST

START_TEST(test_null_other)
{
    struct spec s = tcp_spec(0, 4);
    s.family = 7; /* AF_ISO or whatever: not IP */
    ck_assert_int_eq(reason_of(&s), DEC_NON_IP);
    s.family_be = true;
    ck_assert_int_eq(reason_of(&s), DEC_NON_IP);
    s.family = 10; /* says IPv6, carries IPv4 */
    ck_assert_int_eq(reason_of(&s), DEC_BAD_IP_VERSION);
}
END_TEST

START_TEST(test_loop)
{
    struct spec s = tcp_spec(108, 4);
    expect_ok(&s);
    s.ip_ver = 6;
    s.family = 24;
    expect_ok(&s);
    s.family = 0x02000000u; /* little-endian AF_INET: LOOP is always network order */
    ck_assert_int_eq(reason_of(&s), DEC_NON_IP);
}
END_TEST

START_TEST(test_unsupported_dlt)
{
    static const int bad[] = {-1, 2, 9, 105, 127, 147, 220, 275, 277, 100000};
    uint8_t frame[64] = {0x45};
    struct pkt p;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert(!dec_link_supported(bad[i]));
        uint8_t *g = tu_guard(frame, sizeof frame);
        ck_assert_int_eq(dec_packet(bad[i], g, sizeof frame, sizeof frame, 5, &p), DEC_UNSUPPORTED_LINK);
        ck_assert_uint_eq(p.ts_usec, 5);
        ck_assert_uint_eq(p.caplen, sizeof frame);
        tu_guard_free(g, sizeof frame);
    }
    static const int good[] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert(dec_link_supported(good[i]));
}
END_TEST

START_TEST(test_non_ip)
{
    /* ARP request as captured on Ethernet (who-has 192.168.1.2 tell 10.0.0.1) */
    static const uint8_t arp[42] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0, 0, 0, 0, 0x01,
        10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 192, 168, 1, 2};
    struct pkt p;
    uint8_t *g = tu_guard(arp, sizeof arp);
    ck_assert_int_eq(dec_packet(1, g, sizeof arp, 60, 0, &p), DEC_NON_IP);
    tu_guard_free(g, sizeof arp);

    /* 802.3 + LLC: spanning tree BPDU header (DSAP/SSAP 0x42) */
    static const uint8_t stp[20] = {0x01, 0x80, 0xc2, 0, 0, 0, 0x02, 0, 0, 0, 0, 0x01, 0x00, 0x26,
                                    0x42, 0x42, 0x03, 0x00, 0x00, 0x00};
    g = tu_guard(stp, sizeof stp);
    ck_assert_int_eq(dec_packet(1, g, sizeof stp, 60, 0, &p), DEC_NON_IP);
    tu_guard_free(g, sizeof stp);
    /* the same cut inside the LLC header */
    g = tu_guard(stp, 15);
    ck_assert_int_eq(dec_packet(1, g, 15, 60, 0, &p), DEC_TRUNC_LINK);
    tu_guard_free(g, 15);
}
END_TEST

START_TEST(test_llc_snap_ip)
{
    struct spec s = tcp_spec(1, 4);
    s.llc_snap = true;
    expect_ok(&s);
    s.ethertype = 0x0806; /* SNAP carrying ARP */
    ck_assert_int_eq(reason_of(&s), DEC_NON_IP);
}
END_TEST

/* ---- VLAN ---- */

START_TEST(test_vlan_one)
{
    struct spec s = tcp_spec(1, 6);
    s.ntags = 1;
    s.vid[0] = 4094;
    struct frame f;
    struct pkt p;
    long pl;
    ck_assert_int_eq(decode_full(&s, &f, &p, &pl), DEC_OK);
    assert_tcp(&s, &f, &p, pl);
    ck_assert_uint_eq(p.nvlan, 1);
    ck_assert_uint_eq(p.vlan[0], 4094);
}
END_TEST

START_TEST(test_vlan_two)
{
    struct spec s = tcp_spec(1, 4);
    s.ntags = 2;
    s.tpid[0] = 0x88a8;
    s.vid[0] = 100;
    s.tpid[1] = 0x8100;
    s.vid[1] = 200;
    struct frame f;
    struct pkt p;
    long pl;
    ck_assert_int_eq(decode_full(&s, &f, &p, &pl), DEC_OK);
    assert_tcp(&s, &f, &p, pl);
    ck_assert_uint_eq(p.nvlan, 2);
    ck_assert_uint_eq(p.vlan[0], 100);
    ck_assert_uint_eq(p.vlan[1], 200);
}
END_TEST

START_TEST(test_vlan_three)
{
    struct spec s = tcp_spec(1, 4);
    s.ntags = 3;
    s.tpid[0] = 0x9100;
    s.vid[0] = 1;
    s.tpid[1] = 0x88a8;
    s.vid[1] = 2;
    s.tpid[2] = 0x8100;
    s.vid[2] = 3;
    struct frame f;
    struct pkt p;
    long pl;
    ck_assert_int_eq(decode_full(&s, &f, &p, &pl), DEC_OK);
    assert_tcp(&s, &f, &p, pl);
    ck_assert_uint_eq(p.nvlan, 3);
    ck_assert_uint_eq(p.vlan[0], 1);
    ck_assert_uint_eq(p.vlan[1], 2);
    ck_assert_uint_eq(p.vlan[2], 3);
}
END_TEST

START_TEST(test_vlan_max_and_too_deep)
{
    struct spec s = tcp_spec(1, 4);
    s.ntags = DEC_MAX_VLAN;
    for (unsigned i = 0; i < s.ntags; i++)
        s.vid[i] = (uint16_t)(10 + i);
    struct frame f;
    struct pkt p;
    long pl;
    ck_assert_int_eq(decode_full(&s, &f, &p, &pl), DEC_OK);
    assert_tcp(&s, &f, &p, pl);
    ck_assert_uint_eq(p.nvlan, DEC_MAX_VLAN);
    ck_assert_uint_eq(p.vlan[DEC_MAX_VLAN - 1], 10 + DEC_MAX_VLAN - 1);
    s.ntags = DEC_MAX_VLAN + 1;
    ck_assert_int_eq(reason_of(&s), DEC_VLAN_TOO_DEEP);
    s.ntags = DEC_MAX_VLAN + 3;
    ck_assert_int_eq(reason_of(&s), DEC_VLAN_TOO_DEEP);
}
END_TEST

START_TEST(test_vlan_non_ip)
{
    struct spec s = tcp_spec(1, 4);
    s.ntags = 2;
    s.ethertype = 0x0806;
    ck_assert_int_eq(reason_of(&s), DEC_NON_IP);
}
END_TEST

/* ---- IPv4 ---- */

START_TEST(test_ip4_options)
{
    for (size_t opt = 4; opt <= 40; opt += 4) {
        struct spec s = tcp_spec(1, 4);
        s.ip4_opt = opt;
        expect_ok(&s);
    }
}
END_TEST

START_TEST(test_ip4_padding)
{
    /* a bare ACK is 54 bytes on Ethernet and padded to 60: the 6 bytes are not payload */
    struct spec s = tcp_spec(1, 4);
    s.payload = 0;
    s.pad = 6;
    struct frame f;
    struct pkt p;
    long pl;
    ck_assert_int_eq(decode_full(&s, &f, &p, &pl), DEC_OK);
    ck_assert_uint_eq(f.len, 60);
    ck_assert_uint_eq(p.payload_len, 0);
    ck_assert_uint_eq(p.payload_wire_len, 0);
    ck_assert_uint_eq(p.l3_len, 40);
    /* with payload and padding: exactly the payload */
    s.payload = 3;
    s.pad = 3;
    ck_assert_int_eq(decode_full(&s, &f, &p, &pl), DEC_OK);
    assert_tcp(&s, &f, &p, pl);
    /* IPv6 too */
    s.ip_ver = 6;
    s.payload = 2;
    s.pad = 9;
    ck_assert_int_eq(decode_full(&s, &f, &p, &pl), DEC_OK);
    assert_tcp(&s, &f, &p, pl);
}
END_TEST

START_TEST(test_ip4_fragments)
{
    struct spec s = tcp_spec(1, 4);
    s.frag = 0x2000; /* MF, offset 0: first fragment */
    ck_assert_int_eq(reason_of(&s), DEC_IP_FRAGMENT);
    s.frag = 0x00b9; /* last fragment: offset 185 */
    ck_assert_int_eq(reason_of(&s), DEC_IP_FRAGMENT);
    s.frag = 0x2001;
    ck_assert_int_eq(reason_of(&s), DEC_IP_FRAGMENT);
    s.proto = 17; /* UDP fragments are fragments too */
    s.l4_len = 8;
    ck_assert_int_eq(reason_of(&s), DEC_IP_FRAGMENT);
    s = tcp_spec(1, 4);
    s.frag = 0x4000; /* DF only: a whole packet */
    expect_ok(&s);
}
END_TEST

START_TEST(test_ip4_bad_ihl)
{
    struct spec s = tcp_spec(1, 4);
    for (uint8_t ihl = 1; ihl < 5; ihl++) {
        s.ihl_override = ihl;
        ck_assert_int_eq(reason_of(&s), DEC_BAD_IP_HDRLEN);
    }
    /* IHL 0 is coded as "use computed" by the builder: build it by hand */
    struct frame f;
    build(&f, &s);
    f.b[f.l3_off] = 0x40;
    struct pkt p;
    ck_assert_int_eq(decode_cut(1, &f, f.len, f.len, &p, NULL, NULL), DEC_BAD_IP_HDRLEN);
    /* IHL larger than the total length */
    s = tcp_spec(1, 4);
    s.ihl_override = 15;
    s.total_override = true;
    s.total_len = 40;
    ck_assert_int_eq(reason_of(&s), DEC_BAD_IP_HDRLEN);
    /* total length below 20 */
    s = tcp_spec(1, 4);
    s.total_override = true;
    s.total_len = 19;
    ck_assert_int_eq(reason_of(&s), DEC_BAD_IP_HDRLEN);
}
END_TEST

START_TEST(test_ip4_bad_len)
{
    struct spec s = tcp_spec(1, 4);
    s.total_override = true;
    s.total_len = 20 + 20 + 10 + 1; /* one byte more than the frame */
    ck_assert_int_eq(reason_of(&s), DEC_BAD_IP_LEN);
    s.total_len = 0xffff;
    ck_assert_int_eq(reason_of(&s), DEC_BAD_IP_LEN);
    /* but fine if the wire length says the frame was longer (snapped capture) */
    struct frame f;
    struct pkt p;
    long pl;
    build(&f, &s);
    ck_assert_int_eq(decode_cut(1, &f, f.len, 14 + 0xffff, &p, &pl, NULL), DEC_OK);
    ck_assert_uint_eq(p.payload_len, 10);
    ck_assert_uint_eq(p.payload_wire_len, 0xffff - 40);
}
END_TEST

START_TEST(test_ip4_non_tcp)
{
    struct spec s = tcp_spec(1, 4);
    s.proto = 17; /* UDP */
    s.l4_len = 8 + 12;
    ck_assert_int_eq(reason_of(&s), DEC_NON_TCP);
    s.proto = 1; /* ICMP echo */
    s.l4_len = 8;
    ck_assert_int_eq(reason_of(&s), DEC_NON_TCP);
    s.l4_len = 0;
    ck_assert_int_eq(reason_of(&s), DEC_NON_TCP);
}
END_TEST

START_TEST(test_ip4_version_mismatch)
{
    struct spec s = tcp_spec(1, 4);
    s.ip_ver_nibble = 6; /* ethertype IPv4, nibble 6 */
    ck_assert_int_eq(reason_of(&s), DEC_BAD_IP_VERSION);
    s.ip_ver_nibble = 0xf;
    ck_assert_int_eq(reason_of(&s), DEC_BAD_IP_VERSION);
    s = tcp_spec(1, 6);
    s.ip_ver_nibble = 4;
    ck_assert_int_eq(reason_of(&s), DEC_BAD_IP_VERSION);
}
END_TEST

/* ---- IPv6 ---- */

START_TEST(test_ip6_chain)
{
    /* hop-by-hop (8, PadN) → routing type 0 (24) → destination options (16) → TCP */
    static const uint8_t ext[] = {
        43, 0, 1, 4, 0, 0, 0, 0,
        60, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        6, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    struct spec s = tcp_spec(1, 6);
    s.ext = ext;
    s.ext_len = sizeof ext;
    s.first_nh = 0;
    expect_ok(&s);
}
END_TEST

START_TEST(test_ip6_fragment)
{
    /* fragment header: next = TCP, offset 0, M = 1 */
    uint8_t ext[8] = {6, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef};
    struct spec s = tcp_spec(1, 6);
    s.ext = ext;
    s.ext_len = sizeof ext;
    s.first_nh = 44;
    ck_assert_int_eq(reason_of(&s), DEC_IP_FRAGMENT);
    ext[2] = 0x05; /* offset 160 (bytes), M = 0: last fragment */
    ext[3] = 0x00;
    ck_assert_int_eq(reason_of(&s), DEC_IP_FRAGMENT);
    ext[2] = 0x00; /* offset 0, M = 0: atomic fragment, the whole packet */
    ext[3] = 0x00;
    expect_ok(&s);
    ext[3] = 0x06; /* reserved bits set, still atomic */
    expect_ok(&s);
}
END_TEST

START_TEST(test_ip6_ah_esp_nonext)
{
    /* AH with a 12-byte ICV: length (24/4) - 2 = 4 */
    static const uint8_t ah[24] = {6, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9};
    struct spec s = tcp_spec(1, 6);
    s.ext = ah;
    s.ext_len = sizeof ah;
    s.first_nh = 51;
    expect_ok(&s);
    s.first_nh = 50; /* ESP: encrypted, not TCP */
    ck_assert_int_eq(reason_of(&s), DEC_NON_TCP);
    s.first_nh = 59; /* no next header */
    ck_assert_int_eq(reason_of(&s), DEC_NON_TCP);
    /* mobility header (135) with payload proto 59 */
    static const uint8_t mh[8] = {59, 0, 0, 0, 0, 0, 0, 0};
    s.ext = mh;
    s.ext_len = sizeof mh;
    s.first_nh = 135;
    ck_assert_int_eq(reason_of(&s), DEC_NON_TCP);
}
END_TEST

START_TEST(test_ip6_chain_limit)
{
    uint8_t ext[8 * (DEC_MAX_EXT_HDRS + 1)];
    memset(ext, 0, sizeof ext);
    struct spec s = tcp_spec(1, 6);
    s.first_nh = 60;
    /* exactly DEC_MAX_EXT_HDRS destination-options headers: accepted */
    for (size_t i = 0; i < DEC_MAX_EXT_HDRS; i++)
        ext[8 * i] = i + 1 < DEC_MAX_EXT_HDRS ? 60 : 6;
    s.ext = ext;
    s.ext_len = 8 * DEC_MAX_EXT_HDRS;
    expect_ok(&s);
    /* one more: refused */
    for (size_t i = 0; i <= DEC_MAX_EXT_HDRS; i++)
        ext[8 * i] = i < DEC_MAX_EXT_HDRS ? 60 : 6;
    s.ext_len = sizeof ext;
    ck_assert_int_eq(reason_of(&s), DEC_BAD_EXT_CHAIN);
}
END_TEST

START_TEST(test_ip6_chain_malformed)
{
    /* hop-by-hop after destination options */
    static const uint8_t late_hbh[16] = {0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0};
    struct spec s = tcp_spec(1, 6);
    s.ext = late_hbh;
    s.ext_len = sizeof late_hbh;
    s.first_nh = 60;
    ck_assert_int_eq(reason_of(&s), DEC_BAD_EXT_CHAIN);
    /* an extension header claiming more than the payload length: routing header says 64
     * bytes, packet has 8 + nothing else */
    static const uint8_t big[8] = {6, 7, 0, 0, 0, 0, 0, 0};
    s = tcp_spec(1, 6);
    s.ext = big;
    s.ext_len = sizeof big;
    s.first_nh = 43;
    s.payload = 0;
    s.proto = 59; /* no TCP header appended */
    s.l4_len = 0;
    ck_assert_int_eq(reason_of(&s), DEC_BAD_EXT_CHAIN);
    /* payload length of 1: not even the two-byte generic header fits */
    s.total_override = true;
    s.total_len = 1;
    ck_assert_int_eq(reason_of(&s), DEC_BAD_EXT_CHAIN);
}
END_TEST

START_TEST(test_ip6_jumbo_and_len)
{
    struct spec s = tcp_spec(113, 6);
    s.total_override = true;
    s.total_len = 0; /* jumbogram: length from the frame */
    struct frame f;
    struct pkt p;
    long pl;
    ck_assert_int_eq(decode_full(&s, &f, &p, &pl), DEC_OK);
    assert_tcp(&s, &f, &p, pl);
    s.total_len = 20 + 10 + 1; /* longer than the frame */
    ck_assert_int_eq(reason_of(&s), DEC_BAD_IP_LEN);
    s.total_len = 20 + 4; /* shorter: payload clipped to the IP length */
    ck_assert_int_eq(decode_full(&s, &f, &p, &pl), DEC_OK);
    ck_assert_uint_eq(p.payload_len, 4);
    ck_assert_uint_eq(p.payload_wire_len, 4);
    ck_assert_uint_eq(p.l3_len, 40 + 24);
}
END_TEST

START_TEST(test_ip6_non_tcp)
{
    struct spec s = tcp_spec(1, 6);
    s.proto = 17;
    s.l4_len = 16;
    ck_assert_int_eq(reason_of(&s), DEC_NON_TCP);
    s.proto = 58; /* ICMPv6 */
    ck_assert_int_eq(reason_of(&s), DEC_NON_TCP);
}
END_TEST

/* ---- TCP ---- */

START_TEST(test_tcp_options_flags)
{
    struct spec s = tcp_spec(1, 4);
    s.tcp_opt = 40;
    s.flags = TCP_SYN | TCP_ACK | TCP_FIN | TCP_RST | TCP_URG | 0xc0;
    expect_ok(&s);
    s.ip_ver = 6;
    s.tcp_opt = 12;
    s.payload = 0;
    expect_ok(&s);
}
END_TEST

START_TEST(test_tcp_bad_offset)
{
    struct spec s = tcp_spec(1, 4);
    for (uint8_t d = 1; d < 5; d++) {
        s.doff_override = d;
        ck_assert_int_eq(reason_of(&s), DEC_BAD_TCP_HDRLEN);
    }
    struct frame f;
    struct pkt p;
    build(&f, &s);
    f.b[f.tcp_off + 12] = 0x00; /* data offset 0 */
    ck_assert_int_eq(decode_cut(1, &f, f.len, f.len, &p, NULL, NULL), DEC_BAD_TCP_HDRLEN);
    /* data offset past the IP payload (20 + 10 bytes of IP payload, offset 15 = 60) */
    s.doff_override = 15;
    ck_assert_int_eq(reason_of(&s), DEC_BAD_TCP_HDRLEN);
    s.ip_ver = 6;
    ck_assert_int_eq(reason_of(&s), DEC_BAD_TCP_HDRLEN);
    /* data offset that fits exactly (header 28 bytes of 30) */
    s = tcp_spec(1, 4);
    s.doff_override = 7;
    ck_assert_int_eq(decode_full(&s, &f, &p, NULL), DEC_OK);
    ck_assert_uint_eq(p.payload_len, 2);
}
END_TEST

START_TEST(test_tcp_short_ip_payload)
{
    /* IP says 12 bytes of payload: no room for a TCP header, malformed not truncated */
    struct spec s = tcp_spec(1, 4);
    s.total_override = true;
    s.total_len = 20 + 12;
    ck_assert_int_eq(reason_of(&s), DEC_BAD_TCP_HDRLEN);
    s.ip_ver = 6;
    s.total_len = 12;
    ck_assert_int_eq(reason_of(&s), DEC_BAD_TCP_HDRLEN);
}
END_TEST

START_TEST(test_tcp_snapped)
{
    struct spec s = tcp_spec(1, 4);
    s.payload = 1000;
    struct frame f;
    struct pkt p;
    long pl;
    build(&f, &s);
    size_t cap = f.pl_off + 96;
    ck_assert_int_eq(decode_cut(1, &f, cap, f.len, &p, &pl, NULL), DEC_OK);
    ck_assert_uint_eq(p.payload_len, 96);
    ck_assert_uint_eq(p.payload_wire_len, 1000);
    ck_assert_int_eq(pl, (long)f.pl_off);
    ck_assert_uint_eq(p.l3_len, cap - f.l3_off);
    ck_assert_uint_eq(p.caplen, cap);
    ck_assert_uint_eq(p.wirelen, f.len);
    ck_assert(p.payload_len < p.payload_wire_len);
}
END_TEST

START_TEST(test_wirelen_below_caplen)
{
    /* a broken file with wirelen < caplen: treated as wirelen = caplen */
    struct spec s = tcp_spec(1, 4);
    struct frame f;
    struct pkt p;
    long pl;
    build(&f, &s);
    ck_assert_int_eq(decode_cut(1, &f, f.len, 0, &p, &pl, NULL), DEC_OK);
    ck_assert_uint_eq(p.payload_len, 10);
    ck_assert_uint_eq(p.wirelen, 0);
    /* NULL data with caplen 0 */
    ck_assert_int_eq(dec_packet(1, NULL, 0, 60, 1, &p), DEC_TRUNC_LINK);
    ck_assert_int_eq(dec_packet(12, NULL, 0, 60, 1, &p), DEC_TRUNC_IP);
}
END_TEST

/* ---- truncation at every length ---- */

static bool is_trunc(enum dec_reason r)
{
    return r == DEC_TRUNC_LINK || r == DEC_TRUNC_IP || r == DEC_TRUNC_TCP;
}

/* Cuts the frame of s at every length 0..full with wirelen = full and checks the reason
 * against the region the cut falls into. link_len is the link header size (incl. tags). */
static void cut_everywhere(const struct spec *s)
{
    struct frame f;
    build(&f, s);
    for (size_t cut = 0; cut <= f.len; cut++) {
        struct pkt p;
        long pl;
        enum dec_reason r = decode_cut(s->dlt, &f, cut, f.len, &p, &pl, NULL);
        ck_assert_msg(r == DEC_OK || is_trunc(r), "dlt %d cut %zu: %s", s->dlt, cut, dec_reason_name(r));
        ck_assert(dec_reason_is_malformed(r) == (r != DEC_OK));
        enum dec_reason want = cut < f.l3_off ? DEC_TRUNC_LINK
                               : cut < f.tcp_off ? DEC_TRUNC_IP
                               : cut < f.pl_off  ? DEC_TRUNC_TCP
                                                 : DEC_OK;
        ck_assert_msg(r == want, "dlt %d v%d cut %zu: %s, want %s", s->dlt, s->ip_ver, cut,
                      dec_reason_name(r), dec_reason_name(want));
        if (r == DEC_OK) {
            ck_assert_int_eq(pl, (long)f.pl_off);
            ck_assert_uint_eq(p.payload_len, (cut < f.ip_end ? cut : f.ip_end) - f.pl_off);
            ck_assert_uint_eq(p.payload_wire_len, s->payload);
            ck_assert_uint_le(p.l3_len, cut - f.l3_off);
        }
    }
}

START_TEST(test_trunc_all_links)
{
    static const int dlts[] = {1, 113, 276, 0, 108, 12, 14, 101, 228, 229};
    for (size_t i = 0; i < sizeof dlts / sizeof dlts[0]; i++) {
        for (int v = 4; v <= 6; v += 2) {
            if ((dlts[i] == 228 && v == 6) || (dlts[i] == 229 && v == 4))
                continue;
            struct spec s = tcp_spec(dlts[i], v);
            s.tcp_opt = 12;
            s.payload = 7;
            cut_everywhere(&s);
        }
    }
}
END_TEST

START_TEST(test_trunc_options_vlan_ext)
{
    struct spec s = tcp_spec(1, 4);
    s.ntags = 3;
    s.ip4_opt = 12;
    s.tcp_opt = 20;
    s.pad = 5;
    cut_everywhere(&s);
    static const uint8_t ext[] = {
        44, 0, 0, 0, 0, 0, 0, 0,            /* hop-by-hop → fragment */
        51, 0, 0, 0, 0, 0, 0, 1,            /* atomic fragment → AH */
        6, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2}; /* AH (12 bytes) → TCP */
    s = tcp_spec(276, 6);
    s.ntags = 0;
    s.ext = ext;
    s.ext_len = sizeof ext;
    s.first_nh = 0;
    s.tcp_opt = 4;
    cut_everywhere(&s);
}
END_TEST

START_TEST(test_trunc_junk)
{
    /* deterministic pseudo-random frames on every link type: no crash, a known reason,
     * and on DEC_OK the slices stay inside the frame */
    static const int dlts[] = {1, 113, 276, 0, 108, 12, 14, 101, 228, 229};
    uint32_t x = 12345;
    uint8_t buf[200];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0;
        x = x * 1103515245u + 12345u;
        len = (x >> 16) % sizeof buf;
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)(x >> 16);
        }
        int dlt = dlts[iter % 10];
        /* make IP likely: plausible version nibble after the link header */
        size_t l3 = dlt == 1 ? 14 : dlt == 113 ? 16 : dlt == 276 ? 20 : (dlt == 0 || dlt == 108) ? 4 : 0;
        if (len > l3)
            buf[l3] = (uint8_t)((iter & 1 ? 0x40 : 0x60) | (buf[l3] & 0x0f));
        uint8_t *g = tu_guard(buf, len);
        struct pkt p;
        enum dec_reason r = dec_packet(dlt, g, (uint32_t)len, (uint32_t)len + (iter & 7), 0, &p);
        ck_assert_int_lt(r, DEC_REASON_COUNT);
        if (r == DEC_OK) {
            ck_assert(p.payload >= g && p.payload + p.payload_len <= g + len);
            ck_assert(p.l3 >= g && p.l3 + p.l3_len <= g + len);
            ck_assert_uint_le(p.payload_len, p.payload_wire_len);
        }
        tu_guard_free(g, len);
    }
}
END_TEST

/* ---- names and helpers ---- */

START_TEST(test_reason_names)
{
    ck_assert_str_eq(dec_reason_name(DEC_OK), "ok");
    ck_assert_str_eq(dec_reason_name(DEC_NON_IP), "non_ip");
    ck_assert_str_eq(dec_reason_name(DEC_NON_TCP), "non_tcp");
    ck_assert_str_eq(dec_reason_name(DEC_IP_FRAGMENT), "ip_fragment");
    ck_assert_str_eq(dec_reason_name(DEC_TRUNC_LINK), "trunc_link");
    ck_assert_str_eq(dec_reason_name(DEC_TRUNC_IP), "trunc_ip");
    ck_assert_str_eq(dec_reason_name(DEC_TRUNC_TCP), "trunc_tcp");
    ck_assert_str_eq(dec_reason_name(DEC_BAD_IP_VERSION), "bad_ip_version");
    ck_assert_str_eq(dec_reason_name(DEC_BAD_IP_HDRLEN), "bad_ip_hdrlen");
    ck_assert_str_eq(dec_reason_name(DEC_BAD_IP_LEN), "bad_ip_len");
    ck_assert_str_eq(dec_reason_name(DEC_BAD_TCP_HDRLEN), "bad_tcp_hdrlen");
    ck_assert_str_eq(dec_reason_name(DEC_BAD_EXT_CHAIN), "bad_ext_chain");
    ck_assert_str_eq(dec_reason_name(DEC_VLAN_TOO_DEEP), "vlan_too_deep");
    ck_assert_str_eq(dec_reason_name(DEC_UNSUPPORTED_LINK), "unsupported_link");
    ck_assert_str_eq(dec_reason_name(DEC_REASON_COUNT), "unknown");
    ck_assert_str_eq(dec_reason_name((enum dec_reason)-1), "unknown");
    /* all distinct */
    for (int i = 0; i < DEC_REASON_COUNT; i++)
        for (int j = i + 1; j < DEC_REASON_COUNT; j++)
            ck_assert_str_ne(dec_reason_name((enum dec_reason)i), dec_reason_name((enum dec_reason)j));
}
END_TEST

START_TEST(test_reason_malformed)
{
    ck_assert(!dec_reason_is_malformed(DEC_OK));
    ck_assert(!dec_reason_is_malformed(DEC_NON_IP));
    ck_assert(!dec_reason_is_malformed(DEC_NON_TCP));
    ck_assert(!dec_reason_is_malformed(DEC_IP_FRAGMENT));
    ck_assert(!dec_reason_is_malformed(DEC_UNSUPPORTED_LINK));
    ck_assert(dec_reason_is_malformed(DEC_TRUNC_LINK));
    ck_assert(dec_reason_is_malformed(DEC_TRUNC_IP));
    ck_assert(dec_reason_is_malformed(DEC_TRUNC_TCP));
    ck_assert(dec_reason_is_malformed(DEC_BAD_IP_VERSION));
    ck_assert(dec_reason_is_malformed(DEC_BAD_IP_HDRLEN));
    ck_assert(dec_reason_is_malformed(DEC_BAD_IP_LEN));
    ck_assert(dec_reason_is_malformed(DEC_BAD_TCP_HDRLEN));
    ck_assert(dec_reason_is_malformed(DEC_BAD_EXT_CHAIN));
    ck_assert(dec_reason_is_malformed(DEC_VLAN_TOO_DEEP));
}
END_TEST

START_TEST(test_addr_str)
{
    char buf[64];
    uint8_t a[16] = {0};
    memcpy(a, DST4, 4);
    ck_assert_str_eq(dec_addr_str(4, a, buf, sizeof buf), "192.168.1.2");
    ck_assert_str_eq(dec_addr_str(6, SRC6, buf, sizeof buf), "2001:db8::1");
    static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
    ck_assert_str_eq(dec_addr_str(6, mapped, buf, sizeof buf), "::ffff:10.0.0.1");
    ck_assert_str_eq(dec_addr_str(5, a, buf, sizeof buf), "?");
    ck_assert_str_eq(dec_addr_str(4, a, buf, 5), "?"); /* too small */
    char one[1] = {'x'};
    ck_assert_int_eq(dec_addr_str(4, a, one, 1)[0], '\0');
    /* from a decoded packet */
    struct spec s = tcp_spec(1, 6);
    struct frame f;
    struct pkt p;
    ck_assert_int_eq(decode_full(&s, &f, &p, NULL), DEC_OK);
    ck_assert_str_eq(dec_addr_str(p.ip_ver, p.dst, buf, 46), "2001:db8::2");
}
END_TEST

static Suite *decode_suite(void)
{
    Suite *s = suite_create("decode");
    TCase *tc = tcase_create("link");
    tcase_add_test(tc, test_en10mb);
    tcase_add_test(tc, test_sll);
    tcase_add_test(tc, test_sll_vlan);
    tcase_add_test(tc, test_sll2);
    tcase_add_test(tc, test_raw);
    tcase_add_test(tc, test_ipv4_ipv6_dlt);
    tcase_add_test(tc, test_null_le);
    tcase_add_test(tc, test_null_be);
    tcase_add_test(tc, test_null_other);
    tcase_add_test(tc, test_loop);
    tcase_add_test(tc, test_unsupported_dlt);
    tcase_add_test(tc, test_non_ip);
    tcase_add_test(tc, test_llc_snap_ip);
    suite_add_tcase(s, tc);

    tc = tcase_create("vlan");
    tcase_add_test(tc, test_vlan_one);
    tcase_add_test(tc, test_vlan_two);
    tcase_add_test(tc, test_vlan_three);
    tcase_add_test(tc, test_vlan_max_and_too_deep);
    tcase_add_test(tc, test_vlan_non_ip);
    suite_add_tcase(s, tc);

    tc = tcase_create("ipv4");
    tcase_add_test(tc, test_ip4_options);
    tcase_add_test(tc, test_ip4_padding);
    tcase_add_test(tc, test_ip4_fragments);
    tcase_add_test(tc, test_ip4_bad_ihl);
    tcase_add_test(tc, test_ip4_bad_len);
    tcase_add_test(tc, test_ip4_non_tcp);
    tcase_add_test(tc, test_ip4_version_mismatch);
    suite_add_tcase(s, tc);

    tc = tcase_create("ipv6");
    tcase_add_test(tc, test_ip6_chain);
    tcase_add_test(tc, test_ip6_fragment);
    tcase_add_test(tc, test_ip6_ah_esp_nonext);
    tcase_add_test(tc, test_ip6_chain_limit);
    tcase_add_test(tc, test_ip6_chain_malformed);
    tcase_add_test(tc, test_ip6_jumbo_and_len);
    tcase_add_test(tc, test_ip6_non_tcp);
    suite_add_tcase(s, tc);

    tc = tcase_create("tcp");
    tcase_add_test(tc, test_tcp_options_flags);
    tcase_add_test(tc, test_tcp_bad_offset);
    tcase_add_test(tc, test_tcp_short_ip_payload);
    tcase_add_test(tc, test_tcp_snapped);
    tcase_add_test(tc, test_wirelen_below_caplen);
    suite_add_tcase(s, tc);

    tc = tcase_create("truncation");
    tcase_add_test(tc, test_trunc_all_links);
    tcase_add_test(tc, test_trunc_options_vlan_ext);
    tcase_add_test(tc, test_trunc_junk);
    suite_add_tcase(s, tc);

    tc = tcase_create("names");
    tcase_add_test(tc, test_reason_names);
    tcase_add_test(tc, test_reason_malformed);
    tcase_add_test(tc, test_addr_str);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(decode_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
