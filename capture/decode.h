/* decode.h — link layer → IPv4/IPv6 → TCP, into a struct pkt of slices (no copies).
 *
 * Link types (DLT_* values as in pcap/dlt.h): EN10MB with any number of stacked
 * 802.1Q / 802.1ad / QinQ (0x9100) tags, LINUX_SLL (113), LINUX_SLL2 (276), RAW (12 and
 * LINKTYPE_RAW 101), IPV4 (228), IPV6 (229), NULL (0), LOOP (108).
 * IPv4 with options (RFC 791); IPv6 (RFC 8200) with the extension-header chain walked
 * (hop-by-hop, routing, destination options, fragment, AH; ESP/no-next-header end it).
 * IP fragments are counted and skipped, not reassembled (see README).
 * Every malformed or truncated packet is classified by one enum dec_reason. */
#ifndef NZ_DECODE_H
#define NZ_DECODE_H

#include "core/nz.h"

/* Why a packet did not yield a TCP segment. DEC_OK means it did. */
enum dec_reason {
    DEC_OK = 0,
    DEC_NON_IP,          /* link payload is not IPv4/IPv6 (ARP, LLDP, ...): counted, not an error */
    DEC_NON_TCP,         /* IP, but not TCP (UDP, ICMP, ...): counted, not an error */
    DEC_IP_FRAGMENT,     /* IPv4/IPv6 fragment: counted and skipped */
    DEC_TRUNC_LINK,      /* caplen shorter than the link header */
    DEC_TRUNC_IP,        /* caplen shorter than the IP header (or an IPv6 ext header) */
    DEC_TRUNC_TCP,       /* caplen shorter than the TCP header (incl. options) */
    DEC_BAD_IP_VERSION,  /* version nibble is not what the link type said / not 4 or 6 */
    DEC_BAD_IP_HDRLEN,   /* IPv4 IHL < 5, or total length < header length */
    DEC_BAD_IP_LEN,      /* IP total/payload length exceeds the frame (wire length) */
    DEC_BAD_TCP_HDRLEN,  /* TCP data offset < 5 or past the IP payload */
    DEC_BAD_EXT_CHAIN,   /* IPv6 extension chain too long (> DEC_MAX_EXT_HDRS) or malformed */
    DEC_VLAN_TOO_DEEP,   /* more than DEC_MAX_VLAN stacked tags */
    DEC_UNSUPPORTED_LINK,/* link type not handled */
    DEC_REASON_COUNT
};

/* Stable short name for a reason, e.g. "trunc_tcp" (used in the runs table). */
const char *dec_reason_name(enum dec_reason r);
/* True for reasons that mean a malformed/truncated packet (not just "not for us"). */
bool dec_reason_is_malformed(enum dec_reason r);

#define DEC_MAX_VLAN 8      /* stacked tags followed; real QinQ uses 2, 8 leaves headroom */
#define DEC_MAX_EXT_HDRS 16 /* IPv6 extension headers walked before giving up (DoS bound) */

/* TCP flag bits as on the wire. */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

/* One decoded TCP segment. All pointers borrow the caller's packet buffer. */
struct pkt {
    uint64_t ts_usec;       /* capture timestamp, microseconds since the epoch */
    uint32_t caplen;        /* bytes captured */
    uint32_t wirelen;       /* bytes on the wire */
    uint8_t ip_ver;         /* 4 or 6 */
    uint8_t src[16];        /* IPv4 uses the first 4 bytes, rest zero */
    uint8_t dst[16];
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t tcp_flags;      /* TCP_* bits */
    uint16_t window;
    uint8_t nvlan;          /* VLAN tags seen (outermost first in vlan[]) */
    uint16_t vlan[DEC_MAX_VLAN]; /* 12-bit VLAN ids */
    const uint8_t *l3;      /* start of the IP header (for nDPI) */
    uint32_t l3_len;        /* captured bytes from l3, clipped to the IP total length */
    const uint8_t *payload; /* TCP payload (captured part) */
    uint32_t payload_len;   /* captured payload bytes */
    uint32_t payload_wire_len; /* payload bytes per the IP length (>= payload_len if snapped) */
};

/* Decodes one captured frame of the given DLT. Fills *out (only meaningful on DEC_OK;
 * ts/caplen/wirelen are always set). Never reads past data+caplen.
 * Returns DEC_OK or the reason the packet is not a usable TCP segment.
 * A TCP segment whose payload was cut by the snap length still decodes (DEC_OK) with
 * payload_len < payload_wire_len; the reassembler treats the missing bytes as a gap. */
enum dec_reason dec_packet(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                           uint64_t ts_usec, struct pkt *out /* OUT */);

/* True when dec_packet() knows the DLT. */
bool dec_link_supported(int dlt);

/* Formats an address of pkt (v4 or v6) as text into buf (>= 46 bytes). Returns buf. */
char *dec_addr_str(uint8_t ip_ver, const uint8_t addr[16], char *buf, size_t cap);

#endif
