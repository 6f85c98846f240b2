/* source.h — packet sources: capture files (pcap, pcapng, gzip-compressed, stdin) and live
 * interfaces through libpcap; BPF filters; privilege drop; file hashing for dedup.
 * Knows libpcap, nothing about flows or dissectors. */
#ifndef NZ_SOURCE_H
#define NZ_SOURCE_H

#include "../dissect/nz.h"

#define CAP_ERRBUF 1024 /* bytes for error texts (libpcap's PCAP_ERRBUF_SIZE is 256) */

struct cap_source;

/* One packet. `data` belongs to libpcap and is valid until the next cap_next(). */
struct cap_pkt {
    uint64_t ts_usec;
    uint32_t caplen, wirelen;
    const uint8_t *data;
};

struct cap_live_cfg {
    int snaplen;          /* >= 65535 */
    bool promisc;
    int buffer_mb;        /* kernel buffer in MiB; 0 = libpcap default */
    int timeout_ms;       /* read timeout so the caller can do periodic work */
};

/* Opens a capture file: pcap or pcapng, optionally gzip-compressed (detected by its magic),
 * or "-" for standard input (plain or gzip). `filter` (BPF, may be NULL) is compiled for the
 * file's link type. On failure returns NULL, *err = NZ_EIO / NZ_EMALFORMED / NZ_EUSAGE and
 * errbuf holds a message naming the file. */
struct cap_source *cap_open_file(const char *path, const char *filter, char errbuf[CAP_ERRBUF], int *err);

/* A cheap pre-key of a file: SHA-256 over its size (8 bytes, big-endian), its first and its last
 * CAP_QUICK_SPAN bytes. Equal files have equal keys; a key not seen before proves a file new
 * without reading it whole. Returns 0 or NZ_EIO. */
#define CAP_QUICK_SPAN (64u * 1024u)
int cap_file_quickkey(const char *path, char hex[65] /* OUT */, uint64_t *size /* OUT */);

/* Opens a live interface with pcap_create/pcap_activate. Same error convention. */
struct cap_source *cap_open_live(const char *iface, const struct cap_live_cfg *cfg, const char *filter,
                                 char errbuf[CAP_ERRBUF], int *err);

/* Next packet: 1 = *out filled; 0 = end of file (or cap_break() called); 2 = live timeout, no
 * packet; -1 = read error (errbuf filled, e.g. a truncated file: packets before it were
 * delivered). */
int cap_next(struct cap_source *s, struct cap_pkt *out /* OUT */, char errbuf[CAP_ERRBUF]);

/* libpcap DLT of the source. */
int cap_datalink(const struct cap_source *s);
/* Name of the DLT ("EN10MB") or "DLT_<n>". */
const char *cap_datalink_name(int dlt, char *buf, size_t cap);

/* Input bytes consumed so far (compressed bytes for gzip) and the input size (0 if unknown,
 * e.g. stdin), for progress display. */
uint64_t cap_pos(const struct cap_source *s);
uint64_t cap_size(const struct cap_source *s);

struct cap_stats {
    uint64_t recv, drop, ifdrop;
};
/* libpcap's counters (live only). Returns 0 or NZ_EUNSUPPORTED for files. */
int cap_stats(struct cap_source *s, struct cap_stats *out /* OUT */);

/* Makes cap_next() return 0 soon; async-signal-safe (pcap_breakloop). */
void cap_break(struct cap_source *s);

/* Closes (NULL is a no-op). */
void cap_close(struct cap_source *s);

/* Drops root: setgroups/setgid/setuid to `user`. Returns 0, or NZ_EUSAGE (unknown user) /
 * NZ_EIO (a call failed), message in errbuf. */
int cap_drop_privs(const char *user, char errbuf[CAP_ERRBUF]);

/* SHA-256 of a file's bytes as 64 lowercase hex chars + NUL, and its size. Returns 0 or NZ_EIO. */
int cap_file_sha256(const char *path, char hex[65] /* OUT */, uint64_t *size /* OUT */);
/* BLAKE2b-256 (RFC 7693, unkeyed, 32-byte digest) of a file, same convention: the dedup key,
 * about 2.2x faster than SHA-256 with Debian's wolfSSL. */
int cap_file_blake2b(const char *path, char hex[65] /* OUT */, uint64_t *size /* OUT */);

#endif
