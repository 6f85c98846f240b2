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
    uint16_t fanout_group; /* 0 = none; else join this PACKET_FANOUT group (hash, defrag) */
};
#define CAP_BUFFER_MB_DEFAULT 64
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

/* Opens a live interface with pcap_create/pcap_activate. Same error convention. */
struct cap_source *cap_open_live(const char *iface, const struct cap_live_cfg *cfg, const char *filter,
                                 char errbuf[CAP_ERRBUF], int *err);

/* Next packet: 1 = *out filled; 0 = end of file (or cap_break() called); 2 = live timeout, no
 * packet; -1 = read error (errbuf filled, e.g. a truncated file or a damaged gzip stream:
 * every packet before the damage was delivered). */
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

#endif
