/* source.h — packet sources: capture files (pcap, pcapng, gzip-compressed, stdin) and live
 * interfaces through libpcap; BPF filters.
 * Every message written into an errbuf may quote a path or a libpcap/zlib text as is: the
 * caller escapes it before it reaches a terminal.
 * Knows libpcap, nothing about flows or dissectors. */
#ifndef NZ_SOURCE_H
#define NZ_SOURCE_H

#include "core/nz.h"

#define CAP_ERRBUF 1024 /* bytes for error texts (libpcap's PCAP_ERRBUF_SIZE is 256) */

struct cap_source;

/* One packet. `data` belongs to libpcap: valid until the next cap_next() (a copy for live
 * sources, see "zero copy" below), or during the cap_dispatch() callback only. */
struct cap_pkt {
    uint64_t ts_usec;
    uint32_t caplen, wirelen;
    const uint8_t *data;
};

/* ---- live capture (Linux: AF_PACKET through libpcap 1.10) ----
 *
 * The kernel ring. libpcap (pcap-linux.c) uses TPACKET_V3 unless immediate mode is asked for:
 * the ring is cut into blocks of 256 KiB (MAXIMUM_SNAPLEN) that the kernel fills with packets
 * of any size and hands to user space when a block is full or its retire timer fires
 * (timeout_ms). One packet costs its captured bytes plus ~86 bytes of header and padding
 * (tpacket3_hdr, sockaddr_ll, alignment, 4 bytes kept for VLAN tag reconstruction).
 *
 * buffer_mb is per handle: libpcap allocates one ring per socket, so a fanout of N handles
 * holds N x buffer_mb of unswappable kernel memory. The default, CAP_BUFFER_MB_DEFAULT, is
 * sized to absorb a stall of the thread that reads the handle at line rate: at 1 Gbit/s
 * (125 MB/s on the wire) the ring fills at ~130 MB/s with full-size frames, ~150 MB/s with
 * an IMIX mix (avg. 353-byte frames: more header per byte), ~225 MB/s with a flood of
 * minimum-size frames. A loaded 2-core box can deschedule a thread for 100-200 ms, and a
 * worker also stops reading while the database writer holds it back (a WAL checkpoint's
 * fsync on a slow disk); 200 ms of IMIX is 30 MB. 64 MiB covers ~450 ms of IMIX or ~300 ms
 * of minimum-size frames at 1 Gbit/s (~45 ms at 10 Gbit/s), twice the stall we plan for.
 * libpcap's own default (2 MiB: 8 blocks, two of them in use at any time) fills in ~15 ms.
 *
 * With fanout, the CLI should pass buffer_mb unchanged to every handle (--buffer-size is
 * "per worker", --help says the total is workers x MB) rather than split a total: the
 * kernel pins a flow to one socket, so one elephant flow (a backup at line rate) brings
 * the whole rate to a single handle, and a ring shrunk to total/N overflows first exactly
 * when a box has more cores. If a total must be split: per handle = max(ceil(total / N), 8).
 *
 * Zero copy. With TPACKET_V3, pcap_dispatch() hands its callback a pointer into the mmap'd
 * ring (pcap_handle_packet_mmap passes the frame as is) and gives a block back to the
 * kernel only after its last packet was handed out, inside the same call. pcap_next_ex()
 * cannot do that: its one-shot callback for mmap'd captures (pcap_oneshot_linux) copies
 * every packet into a private buffer, because the pointer has to outlive the block.
 * So cap_dispatch() is zero copy and cap_next() copies each packet once; a busy live reader
 * uses cap_dispatch(). Immediate mode is never set: it makes libpcap fall back to
 * TPACKET_V2 (one fixed-size slot per packet, sized for 64 KiB when the NIC aggregates, and
 * the reader is woken as soon as one packet is in). The read timeout is the V3 block retire timeout: at low rates a
 * packet reaches us at most timeout_ms late (harmless: its timestamp is the kernel's, and
 * everything downstream runs on packet time); at high rates blocks fill long before (a
 * 256 KiB block holds ~160 full-size frames: ~2 ms at 1 Gbit/s), so batching costs no
 * latency where it matters. The same timeout bounds how long cap_next()/cap_dispatch()
 * wait before returning "no packet" so the caller can do periodic work (watch: 250 ms).
 *
 * Fanout (fanout_group != 0): right after pcap_activate() the handle's socket joins the
 * PACKET_FANOUT group of that id in mode HASH with the DEFRAG flag; the kernel then gives
 * each packet to one member, chosen by a flow hash modulo the number of members.
 *  - Symmetric: the member is chosen by the kernel's symmetric flow hash
 *    (fanout_demux_hash() in net/packet/af_packet.c calls __skb_get_hash_symmetric). The flow
 *    dissector extracts protocol, addresses and ports, and before they are hashed
 *    __flow_hash_consistentify() (net/core/flow_dissector.c) puts each pair in a fixed order
 *    (the smaller address first, the smaller port first), so A->B and B->A feed the same
 *    words to the hash and reach the same member; tests/integ/fanout.py checks it for IPv4
 *    and IPv6 flows. Older kernels deviate in two ways: (1) before "net/ipv6: SKB symmetric
 *    hash should incorporate transport ports" (Sept. 2023, in v6.6 and the stable series of
 *    the time) an IPv6 packet with a non-zero flow label was hashed on its addresses alone: a
 *    connection whose two ends both set labels (Linux does by default) still stays on one
 *    member, but every connection between the same two hosts lands on that member, and one
 *    whose ends differ (a host that sets labels talking to one that sends 0) is split
 *    between members; (2) before "net: core: fix flow symmetric hash" (2022) IPv4 addresses
 *    were ordered by the sign of their 32-bit difference, which fails for two addresses
 *    exactly 2^31 apart. On such kernels the engine's "both directions reach one worker"
 *    does not hold for those flows.
 *  - DEFRAG: IPv4 fragments are reassembled by the kernel before hashing (a fragment after
 *    the first carries no ports and would hash elsewhere), so a fanout handle delivers the
 *    reassembled datagram instead of its fragments (the decoder's ip_fragment count stays 0
 *    for IPv4), and fragments the kernel never completes or refuses (a lost piece,
 *    overlaps) are delivered to no member at all. IPv6 fragments are not reassembled.
 *  - Every member must be open before any is read: the kernel picks a member modulo the
 *    current member count, so a member joining later moves flows between members. A fanout
 *    handle therefore drops everything (a socket filter returning 0) from its opening until
 *    the first cap_next()/cap_dispatch() installs the real filter; open all N handles,
 *    then start reading. (The few packets that reach the ring between libpcap's activation
 *    and the join, microseconds, are discarded at that first read when their block is
 *    already complete, else delivered.)
 *  - Groups are per network namespace and per interface; an id used by another process on
 *    the same interface in the same mode would silently share the traffic:
 *    cap_fanout_group_pick() derives the id from our pid. An id in use on another interface
 *    or in another mode fails the join (NZ_EUNSUPPORTED, the message says so).
 *  - cap_stats() is per handle: recv and drop count that socket only (sum them over the
 *    handles); ifdrop is the interface's drop counter since the handle was opened (in
 *    promiscuous mode; 0 otherwise), the same for every handle (take it from one handle,
 *    never sum it). */
#define CAP_BUFFER_MB_DEFAULT 64
#define CAP_BUFFER_MB_MAX 2047 /* pcap_set_buffer_size() takes the size in bytes as an int */

struct cap_live_cfg {
    int snaplen;          /* >= 65535 */
    bool promisc;
    int buffer_mb;        /* kernel ring per handle in MiB (<= CAP_BUFFER_MB_MAX);
                           * 0 = CAP_BUFFER_MB_DEFAULT */
    int timeout_ms;       /* V3 block retire timeout and read timeout (0 = 500 ms) */
    uint16_t fanout_group; /* 0 = none; else the PACKET_FANOUT group to join (see above) */
};

/* A fanout group id for this process: our pid when it fits in 16 bits (unique among the
 * live processes of the host), else the pid folded to 16 bits; never 0. */
uint16_t cap_fanout_group_pick(void);

/* ---- inputs: every capture file is opened exactly once ----
 *
 * cap_input_open() opens the input (without blocking: a FIFO without a writer or a device
 * never stalls the open) and decides from fstat() on that descriptor, never from the path:
 *  - a regular file: its size is known; a reader with pread() (engine/dedup.h hashes it)
 *    reads the same descriptor, so a file cannot be swapped between dedup and analysis;
 *  - "-" (standard input, whatever it is), a FIFO (named pipe, `<(zcat x.pcap.gz)`,
 *    /dev/stdin on a pipe) or a socket: a stream, read once from the start, never hashed;
 *  - a folder: NZ_EUSAGE; a character or block device (/dev/zero, a tape): NZ_EUNSUPPORTED.
 * A path named on the command line follows symbolic links (the user named it). A file
 * found in a folder walk (`found` != NULL) is opened beneath the folder named on the command
 * line without following any symbolic link on the way (openat2 RESOLVE_NO_SYMLINKS), and
 * must be the very regular file, by (device, inode), that the walk saw; else NZ_EIO. */
struct cap_input;

struct cap_found {
    size_t root_len;    /* path[0..root_len) is the folder named on the command line */
    uint64_t dev, ino;  /* the file as the walk saw it (lstat) */
};

/* Returns the input or NULL with *err = NZ_EIO / NZ_EUSAGE / NZ_EUNSUPPORTED / NZ_ENOMEM
 * and errbuf holding a message naming the input ("<stdin>" for "-"). Close with
 * cap_input_close(); a source opened from it stays valid after that. */
struct cap_input *cap_input_open(const char *path, const struct cap_found *found, char errbuf[CAP_ERRBUF],
                                 int *err);
/* True for "-", FIFOs and sockets: no size, no pre-key, no hash, no deduplication. */
bool cap_input_is_stream(const struct cap_input *in);
/* Size in bytes at open (regular files; 0 for streams). */
uint64_t cap_input_size(const struct cap_input *in);
/* The open descriptor (owned by `in`), for reading a regular file with pread() beside its
 * analysis (never read(): the source reads it from the start). */
int cap_input_fd(const struct cap_input *in);
/* pread() at `off` until n bytes or the end of the file, retrying on EINTR; *got = bytes read.
 * Returns 0, or -1 with errno set. */
int cap_pread_full(int fd, unsigned char *buf, size_t n, uint64_t off, size_t *got);
void cap_input_close(struct cap_input *in);
/* True when a regular file's size, mtime or ctime differ from what they were at open: it was
 * written to while we read it (a capture still growing, or someone rewriting it), so its hash
 * may not describe what was analysed. Always false for streams. */
bool cap_input_changed(struct cap_input *in);

/* Opens the capture in `in`: pcap or pcapng, optionally gzip-compressed (detected by its
 * magic, decompressed with zlib's inflate). `filter` (BPF, may be NULL) is compiled for the
 * file's link type. On failure returns NULL, *err = NZ_EIO / NZ_EMALFORMED / NZ_EUSAGE and
 * errbuf holds a message naming the input. A damaged gzip stream (bad data, bad CRC or length
 * in the trailer, truncated, unexpected bytes after its end) delivers every byte before the
 * damage; cap_next() then fails with a message saying what and where. */
struct cap_source *cap_open_input(struct cap_input *in, const char *filter, char errbuf[CAP_ERRBUF], int *err);

/* cap_input_open(path, NULL) + cap_open_input() + cap_input_close(). */
struct cap_source *cap_open_file(const char *path, const char *filter, char errbuf[CAP_ERRBUF], int *err);

/* Opens a live interface with pcap_create/pcap_activate (see "live capture" above). Same
 * error convention; a buffer_mb out of range is NZ_EUSAGE; a fanout that cannot be set up
 * (not Linux, the kernel refused the join, a device that is not a packet socket) is
 * NZ_EUNSUPPORTED with errbuf saying why. */
struct cap_source *cap_open_live(const char *iface, const struct cap_live_cfg *cfg, const char *filter,
                                 char errbuf[CAP_ERRBUF], int *err);

/* Bytes of kernel ring mapped for a live source: what the kernel granted (libpcap shrinks
 * the request by 5% steps while the kernel answers ENOMEM). 0 for files, or when
 * /proc/self/maps cannot be read. */
uint64_t cap_ring_bytes(const struct cap_source *s);

/* Next packet: 1 = *out filled; 0 = end of file (or cap_break() called); 2 = live timeout, no
 * packet; -1 = read error (errbuf filled, e.g. a truncated file or a damaged gzip stream:
 * every packet before the damage was delivered). */
int cap_next(struct cap_source *s, struct cap_pkt *out /* OUT */, char errbuf[CAP_ERRBUF]);

/* Hands up to `max` packets (max >= 1) to fn, each valid only during its call (for a live
 * source on Linux it points into the kernel ring: no copy, see above). Returns as cap_next():
 * 1 = fn was called at least once; 0 = end of file or cap_break() (fn may have been called
 * before); 2 = live timeout, fn not called; -1 = read error (errbuf filled; fn was called for
 * the packets before it). */
typedef void (*cap_pkt_fn)(void *user, const struct cap_pkt *pkt);
int cap_dispatch(struct cap_source *s, int max, cap_pkt_fn fn, void *user, char errbuf[CAP_ERRBUF]);

/* Ends a fanout handle's hold now (installs the caller's filter) instead of at its first
 * read: call it for every member once all are open, so that packets arriving before the
 * readers start are kept in each ring. 0, or -1 (errbuf filled). A no-op for other sources. */
int cap_live_release(struct cap_source *s, char errbuf[CAP_ERRBUF]);

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
/* libpcap's counters (live only), per handle (see "fanout" above). Returns 0, NZ_EIO, or
 * NZ_EUNSUPPORTED for files. */
int cap_stats(struct cap_source *s, struct cap_stats *out /* OUT */);

/* Makes cap_next() return 0 soon; async-signal-safe (pcap_breakloop). */
void cap_break(struct cap_source *s);

/* Closes (NULL is a no-op). */
void cap_close(struct cap_source *s);

#endif
