/* decode.c — one captured frame → struct pkt (link layer, IPv4/IPv6, TCP), slices only.
 *
 * Follows:
 *   IEEE 802.3 / Ethernet II; IEEE 802.1Q (0x8100), 802.1ad (0x88a8) and the pre-standard
 *   QinQ TPID 0x9100, any stack up to DEC_MAX_VLAN tags; 802.2 LLC + SNAP (RFC 1042 §"IEEE
 *   802 Networks") carrying IPv4/IPv6 with OUI 00-00-00.
 *   Linux cooked captures SLL (16-byte header, protocol at offset 14) and SLL2 (20 bytes,
 *   protocol at offset 0), BSD loopback NULL (family in the capturing host's byte order,
 *   both orders accepted) and LOOP (network order), raw IP (DLT 12/14, LINKTYPE 101, 228, 229).
 *   RFC 791 §3.1 (IPv4 header: IHL, total length, MF flag and fragment offset).
 *   RFC 8200 §3, §4 (IPv6 header and extension headers: hop-by-hop only directly after the
 *   fixed header §4.1, routing §4.4, fragment §4.5, destination options §4.6), RFC 4302 §2.2
 *   (AH length in 32-bit words minus 2), RFC 6275 §6.1.1 (mobility header), RFC 7401 (HIP)
 *   and RFC 5533 (shim6) use the generic extension-header format of RFC 8200 §4.8.
 *   RFC 2675 §3 (payload length 0: jumbogram; the frame gives the length).
 *   RFC 9293 §3.1 (TCP header; data offset in 32-bit words, >= 5).
 *
 * Ignored on purpose: checksums (offload makes them wrong in captures), IP/TCP option
 * contents, the 802.3 length field (the IP length bounds the packet), VLAN priority and
 * DEI bits, the jumbo payload option value, IPv4 "total length 0" TSO frames (reported as
 * DEC_BAD_IP_HDRLEN), PPPoE, MPLS and tunnels. Fragments are reported, never reassembled.
 *
 * All packet bytes are read through struct rd (core/reader.h). */
#include "capture/decode.h"

#include "core/reader.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

/* Link types (values as in pcap/dlt.h and the LINKTYPE_ registry); private so that this
 * file does not need libpcap headers. */
enum {
    DLT_V_NULL = 0,
    DLT_V_EN10MB = 1,
    DLT_V_RAW = 12,      /* DLT_RAW on most systems */
    DLT_V_RAW_BSD = 14,  /* DLT_RAW on OpenBSD */
    DLT_V_RAW_LT = 101,  /* LINKTYPE_RAW as written to files */
    DLT_V_LOOP = 108,
    DLT_V_LINUX_SLL = 113,
    DLT_V_IPV4 = 228,
    DLT_V_IPV6 = 229,
    DLT_V_LINUX_SLL2 = 276
};

enum {
    ETH_HDR_LEN = 14,
    SLL_HDR_LEN = 16,
    SLL2_HDR_LEN = 20,
    NULL_HDR_LEN = 4,
    IP4_HDR_MIN = 20,
    IP6_HDR_LEN = 40,
    TCP_HDR_MIN = 20,
    ETYPE_MIN = 0x0600, /* values below are an 802.3 length */
    ETYPE_IP4 = 0x0800,
    ETYPE_IP6 = 0x86dd,
    ETYPE_8021Q = 0x8100,
    ETYPE_8021AD = 0x88a8,
    ETYPE_QINQ = 0x9100,
    IPPROTO_V_HOPOPTS = 0,
    IPPROTO_V_TCP = 6,
    IPPROTO_V_ROUTING = 43,
    IPPROTO_V_FRAGMENT = 44,
    IPPROTO_V_AH = 51,
    IPPROTO_V_DSTOPTS = 60,
    IPPROTO_V_MOBILITY = 135,
    IPPROTO_V_HIP = 139,
    IPPROTO_V_SHIM6 = 140
};

/* Names indexed by enum dec_reason; stored in the runs table, so never rename one. */
static const char *const reason_names[DEC_REASON_COUNT] = {
    [DEC_OK] = "ok",
    [DEC_NON_IP] = "non_ip",
    [DEC_NON_TCP] = "non_tcp",
    [DEC_IP_FRAGMENT] = "ip_fragment",
    [DEC_TRUNC_LINK] = "trunc_link",
    [DEC_TRUNC_IP] = "trunc_ip",
    [DEC_TRUNC_TCP] = "trunc_tcp",
    [DEC_BAD_IP_VERSION] = "bad_ip_version",
    [DEC_BAD_IP_HDRLEN] = "bad_ip_hdrlen",
    [DEC_BAD_IP_LEN] = "bad_ip_len",
    [DEC_BAD_TCP_HDRLEN] = "bad_tcp_hdrlen",
    [DEC_BAD_EXT_CHAIN] = "bad_ext_chain",
    [DEC_VLAN_TOO_DEEP] = "vlan_too_deep",
    [DEC_UNSUPPORTED_LINK] = "unsupported_link",
};

/* Stands in for a NULL data pointer so that slices never do arithmetic on NULL. */
static const uint8_t no_bytes[1] = {0};

/* See decode.h. Returns a static string ("unknown" for out-of-range values). */
const char *dec_reason_name(enum dec_reason r)
{
    if ((unsigned)r < DEC_REASON_COUNT && reason_names[r])
        return reason_names[r];
    return "unknown";
}

/* See decode.h. Truncations, bad lengths/versions, over-deep VLAN or extension chains. */
bool dec_reason_is_malformed(enum dec_reason r)
{
    switch (r) {
    case DEC_TRUNC_LINK:
    case DEC_TRUNC_IP:
    case DEC_TRUNC_TCP:
    case DEC_BAD_IP_VERSION:
    case DEC_BAD_IP_HDRLEN:
    case DEC_BAD_IP_LEN:
    case DEC_BAD_TCP_HDRLEN:
    case DEC_BAD_EXT_CHAIN:
    case DEC_VLAN_TOO_DEEP:
        return true;
    default:
        return false;
    }
}

/* See decode.h. True for the DLTs listed in the file header. */
bool dec_link_supported(int dlt)
{
    switch (dlt) {
    case DLT_V_NULL:
    case DLT_V_EN10MB:
    case DLT_V_RAW:
    case DLT_V_RAW_BSD:
    case DLT_V_RAW_LT:
    case DLT_V_LOOP:
    case DLT_V_LINUX_SLL:
    case DLT_V_IPV4:
    case DLT_V_IPV6:
    case DLT_V_LINUX_SLL2:
        return true;
    default:
        return false;
    }
}

static uint32_t bswap32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

/* BSD address family → IP version (0 when not IP). AF_INET is 2 everywhere; AF_INET6 is
 * 10 (Linux), 24 (NetBSD/OpenBSD/BSD/OS), 28 (FreeBSD/DragonFly), 30 (macOS). */
static int family_ipver(uint32_t fam)
{
    switch (fam) {
    case 2:
        return 4;
    case 10:
    case 24:
    case 28:
    case 30:
        return 6;
    default:
        return 0;
    }
}

/* 802.2 LLC after an 802.3 length field: only SNAP with OUI 0 and an IP ethertype is IP. */
static enum dec_reason link_llc(struct rd *r, int *ipver)
{
    if (!rd_has(r, 3))
        return DEC_TRUNC_LINK;
    uint8_t dsap = rd_u8(r), ssap = rd_u8(r), ctrl = rd_u8(r);
    if (dsap != 0xaa || ssap != 0xaa || ctrl != 0x03)
        return DEC_NON_IP;
    uint32_t oui = rd_be24(r);
    uint16_t type = rd_be16(r);
    if (!rd_ok(r))
        return DEC_TRUNC_LINK;
    if (oui != 0)
        return DEC_NON_IP;
    if (type == ETYPE_IP4)
        *ipver = 4;
    else if (type == ETYPE_IP6)
        *ipver = 6;
    else
        return DEC_NON_IP;
    return DEC_OK;
}

/* Follows VLAN tags starting at ethertype `type` (the reader is just past it), recording
 * the ids, and maps the final ethertype to an IP version. */
static enum dec_reason link_ethertype(struct rd *r, uint16_t type, struct pkt *out, int *ipver)
{
    while (type == ETYPE_8021Q || type == ETYPE_8021AD || type == ETYPE_QINQ) {
        if (out->nvlan >= DEC_MAX_VLAN)
            return DEC_VLAN_TOO_DEEP;
        uint16_t tci = rd_be16(r);
        type = rd_be16(r);
        if (!rd_ok(r))
            return DEC_TRUNC_LINK;
        out->vlan[out->nvlan++] = (uint16_t)(tci & 0x0fffu);
    }
    if (type < ETYPE_MIN)
        return link_llc(r, ipver);
    if (type == ETYPE_IP4)
        *ipver = 4;
    else if (type == ETYPE_IP6)
        *ipver = 6;
    else
        return DEC_NON_IP;
    return DEC_OK;
}

/* Parses the link header of `dlt`; on DEC_OK the reader is at the IP header and *ipver is
 * the version the link layer announced (0 = decide from the version nibble). */
static enum dec_reason link_layer(int dlt, struct rd *r, struct pkt *out, int *ipver)
{
    uint16_t type;
    uint32_t fam;

    switch (dlt) {
    case DLT_V_EN10MB:
        rd_skip(r, 12); /* destination, source MAC */
        type = rd_be16(r);
        if (!rd_ok(r))
            return DEC_TRUNC_LINK;
        return link_ethertype(r, type, out, ipver);
    case DLT_V_LINUX_SLL:
        /* packet type, ARPHRD, address length, 8 address bytes, protocol */
        rd_skip(r, SLL_HDR_LEN - 2);
        type = rd_be16(r);
        if (!rd_ok(r))
            return DEC_TRUNC_LINK;
        /* protocol values < 0x0600 are Linux pseudo-protocols (802.2, Novell 802.3, CAN) */
        if (type < ETYPE_MIN)
            return DEC_NON_IP;
        return link_ethertype(r, type, out, ipver);
    case DLT_V_LINUX_SLL2:
        /* protocol, reserved, ifindex, ARPHRD, packet type, address length, 8 address bytes */
        type = rd_be16(r);
        rd_skip(r, SLL2_HDR_LEN - 2);
        if (!rd_ok(r))
            return DEC_TRUNC_LINK;
        if (type < ETYPE_MIN)
            return DEC_NON_IP;
        return link_ethertype(r, type, out, ipver);
    case DLT_V_NULL:
        fam = rd_le32(r);
        if (!rd_ok(r))
            return DEC_TRUNC_LINK;
        /* written in the capturing host's order: a big-endian host's value reads with the
         * high half set when taken as little-endian (families are < 65536) */
        if (fam & 0xffff0000u)
            fam = bswap32(fam);
        *ipver = family_ipver(fam);
        return *ipver ? DEC_OK : DEC_NON_IP;
    case DLT_V_LOOP:
        fam = rd_be32(r);
        if (!rd_ok(r))
            return DEC_TRUNC_LINK;
        *ipver = family_ipver(fam);
        return *ipver ? DEC_OK : DEC_NON_IP;
    case DLT_V_RAW:
    case DLT_V_RAW_BSD:
    case DLT_V_RAW_LT:
        *ipver = 0;
        return DEC_OK;
    case DLT_V_IPV4:
        *ipver = 4;
        return DEC_OK;
    case DLT_V_IPV6:
        *ipver = 6;
        return DEC_OK;
    default:
        return DEC_UNSUPPORTED_LINK;
    }
}

/* TCP header (RFC 9293 §3.1). `r` covers the captured part of the IP payload from the TCP
 * header on (already clipped to the IP length); `wire_left` is that payload's length per
 * the IP header, so r->len - r->off <= wire_left. */
static enum dec_reason dec_tcp(struct rd *r, size_t wire_left, struct pkt *out)
{
    if (wire_left < TCP_HDR_MIN)
        return DEC_BAD_TCP_HDRLEN;
    if (!rd_has(r, TCP_HDR_MIN))
        return DEC_TRUNC_TCP;
    out->sport = rd_be16(r);
    out->dport = rd_be16(r);
    out->seq = rd_be32(r);
    out->ack = rd_be32(r);
    size_t hlen = (size_t)(rd_u8(r) >> 4) * 4;
    out->tcp_flags = rd_u8(r);
    out->window = rd_be16(r);
    rd_skip(r, 4); /* checksum, urgent pointer */
    if (hlen < TCP_HDR_MIN || hlen > wire_left)
        return DEC_BAD_TCP_HDRLEN;
    rd_skip(r, hlen - TCP_HDR_MIN); /* options */
    if (!rd_ok(r))
        return DEC_TRUNC_TCP;
    struct bytes pl = rd_rest(r);
    out->payload = pl.p;
    out->payload_len = (uint32_t)pl.len;
    out->payload_wire_len = (uint32_t)(wire_left - hlen);
    return DEC_OK;
}

/* IPv4 (RFC 791 §3.1). `wire_left` is the frame length from the IP header on. */
static enum dec_reason dec_ip4(struct rd *r, size_t wire_left, struct pkt *out)
{
    struct bytes l3 = rd_rest(r);
    if (!rd_has(r, IP4_HDR_MIN))
        return DEC_TRUNC_IP;
    uint8_t vihl = rd_u8(r);
    rd_skip(r, 1); /* TOS */
    size_t total = rd_be16(r);
    rd_skip(r, 2); /* identification */
    uint16_t frag = rd_be16(r);
    rd_skip(r, 1); /* TTL */
    uint8_t proto = rd_u8(r);
    rd_skip(r, 2); /* checksum */
    rd_copy(r, out->src, 4);
    rd_copy(r, out->dst, 4);
    out->ip_ver = 4;

    size_t hlen = (size_t)(vihl & 0x0f) * 4;
    if (hlen < IP4_HDR_MIN || total < hlen)
        return DEC_BAD_IP_HDRLEN;
    if (total > wire_left)
        return DEC_BAD_IP_LEN;
    out->l3 = l3.p;
    out->l3_len = (uint32_t)(total < l3.len ? total : l3.len);
    rd_skip(r, hlen - IP4_HDR_MIN); /* options */
    if (!rd_ok(r))
        return DEC_TRUNC_IP;
    /* "More Fragments" flag 0x2000, offset in the low 13 bits */
    if ((frag & 0x2000u) || (frag & 0x1fffu))
        return DEC_IP_FRAGMENT;
    if (proto != IPPROTO_V_TCP)
        return DEC_NON_TCP;
    size_t pl_wire = total - hlen;
    size_t pl_cap = rd_left(r) < pl_wire ? rd_left(r) : pl_wire; /* drops link padding */
    struct rd tcp = rd_sub(r, pl_cap);
    return dec_tcp(&tcp, pl_wire, out);
}

/* IPv6 (RFC 8200 §3, §4): fixed header, then the extension-header chain up to TCP. */
static enum dec_reason dec_ip6(struct rd *r, size_t wire_left, struct pkt *out)
{
    struct bytes l3 = rd_rest(r);
    if (!rd_has(r, IP6_HDR_LEN))
        return DEC_TRUNC_IP;
    rd_skip(r, 4); /* version, traffic class, flow label */
    size_t plen = rd_be16(r);
    uint8_t nh = rd_u8(r);
    rd_skip(r, 1); /* hop limit */
    rd_copy(r, out->src, 16);
    rd_copy(r, out->dst, 16);
    out->ip_ver = 6;

    size_t wire_pl = wire_left - IP6_HDR_LEN; /* wire_left >= caplen part >= 40 */
    if (plen == 0)
        plen = wire_pl; /* RFC 2675 jumbogram: the real length is the frame's */
    else if (plen > wire_pl)
        return DEC_BAD_IP_LEN;
    size_t total = IP6_HDR_LEN + plen;
    out->l3 = l3.p;
    out->l3_len = (uint32_t)(total < l3.len ? total : l3.len);
    size_t pl_cap = rd_left(r) < plen ? rd_left(r) : plen;
    struct rd pl = rd_sub(r, pl_cap);

    for (unsigned n = 0;; n++) {
        size_t hlen;
        if (nh == IPPROTO_V_TCP)
            break;
        switch (nh) {
        case IPPROTO_V_HOPOPTS:
        case IPPROTO_V_ROUTING:
        case IPPROTO_V_DSTOPTS:
        case IPPROTO_V_MOBILITY:
        case IPPROTO_V_HIP:
        case IPPROTO_V_SHIM6:
        case IPPROTO_V_FRAGMENT:
        case IPPROTO_V_AH:
            break;
        default: /* ESP (50), no next header (59), UDP, ICMPv6, ... */
            return DEC_NON_TCP;
        }
        /* "The Hop-by-Hop Options header ... MUST immediately follow the IPv6 header" */
        if (nh == IPPROTO_V_HOPOPTS && n != 0)
            return DEC_BAD_EXT_CHAIN;
        if (n >= DEC_MAX_EXT_HDRS)
            return DEC_BAD_EXT_CHAIN;
        if (plen - pl.off < 2)
            return DEC_BAD_EXT_CHAIN;
        if (!rd_has(&pl, 2))
            return DEC_TRUNC_IP;
        int len_byte = rd_peek(&pl, 1);
        if (nh == IPPROTO_V_FRAGMENT)
            hlen = 8;
        else if (nh == IPPROTO_V_AH)
            hlen = ((size_t)len_byte + 2) * 4; /* RFC 4302 §2.2: 32-bit words minus 2 */
        else
            hlen = ((size_t)len_byte + 1) * 8; /* 8-octet units, not counting the first 8 */
        if (hlen > plen - pl.off)
            return DEC_BAD_EXT_CHAIN;
        if (!rd_has(&pl, hlen))
            return DEC_TRUNC_IP;
        uint8_t next = rd_u8(&pl);
        if (nh == IPPROTO_V_FRAGMENT) {
            rd_skip(&pl, 1); /* reserved */
            uint16_t offm = rd_be16(&pl);
            rd_skip(&pl, 4); /* identification */
            /* offset in the high 13 bits, M flag in bit 0; offset 0 with M = 0 is an
             * "atomic fragment" (RFC 8200 §4.5, RFC 6946) and carries the whole packet */
            if ((offm & 0xfff8u) || (offm & 1u))
                return DEC_IP_FRAGMENT;
        } else {
            rd_skip(&pl, hlen - 1);
        }
        nh = next;
    }
    return dec_tcp(&pl, plen - pl.off, out);
}

/* See decode.h. Borrows data for the call; *out's pointers (l3, payload) point into data.
 * Returns DEC_OK or the first reason the frame is not a usable TCP segment. */
enum dec_reason dec_packet(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                           uint64_t ts_usec, struct pkt *out)
{
    memset(out, 0, sizeof *out);
    out->ts_usec = ts_usec;
    out->caplen = caplen;
    out->wirelen = wirelen;

    if (!data) {
        data = no_bytes;
        caplen = 0;
    }
    /* a frame is never shorter on the wire than captured; distrust files that say so */
    size_t wire = wirelen > caplen ? wirelen : caplen;
    struct rd r = rd_init(data, caplen);
    int ipver = 0;
    enum dec_reason why = link_layer(dlt, &r, out, &ipver);
    if (why != DEC_OK)
        return why;

    int first = rd_peek(&r, 0);
    if (first < 0)
        return DEC_TRUNC_IP;
    int nibble = first >> 4;
    if ((ipver != 0 && nibble != ipver) || (nibble != 4 && nibble != 6))
        return DEC_BAD_IP_VERSION;
    size_t wire_left = wire - r.off;
    return nibble == 4 ? dec_ip4(&r, wire_left, out) : dec_ip6(&r, wire_left, out);
}

/* See decode.h. Writes at most cap bytes (NUL included) into buf; "?" for an unknown
 * version or a buffer too small for the address. Returns buf. */
char *dec_addr_str(uint8_t ip_ver, const uint8_t addr[16], char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return buf;
    int af = ip_ver == 4 ? AF_INET : ip_ver == 6 ? AF_INET6 : -1;
    size_t n = cap > 0x7fffffffu ? 0x7fffffffu : cap;
    if (af < 0 || !addr || !inet_ntop(af, addr, buf, (socklen_t)n)) {
        /* unknown version or buffer too small: a visible placeholder, never garbage */
        buf[0] = cap > 1 ? '?' : '\0';
        if (cap > 1)
            buf[1] = '\0';
    }
    return buf;
}
