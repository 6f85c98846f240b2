/* source.c — libpcap sources: files (pcap/pcapng, gzip via zlib, stdin, pipes), live
 * interfaces (with Linux PACKET_FANOUT), BPF filters. See source.h. */
#include "capture/source.h"

#include <errno.h>
#include <stdio_ext.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>
#ifdef __linux__
#include <linux/filter.h>
#include <linux/if_packet.h>
#endif

/* ---- a byte stream for libpcap: plain or gzip, from any descriptor ----
 *
 * zlib's gzread() is not used: when inflate reports damage (a flipped bit, a bad CRC in the
 * trailer) gzread() drops everything it decompressed in that call, and with a large buffer
 * that is the whole file. Here inflate writes straight into the reader's buffer; what it
 * produced before the damage is delivered, and the damage is reported by the next read
 * (-1, EIO) with a message saying what and where (zin_msg). The same reader serves plain
 * streams (stdin, pipes), whose first bytes were looked at to tell gzip from plain. */

#define ZIN_BUF (256u * 1024u) /* compressed input buffered per read() */
#define FILE_BUF (1024u * 1024u) /* a plain capture file buffered per read() */

enum zin_mode { ZIN_SNIFF, ZIN_PLAIN, ZIN_GZIP };

struct zin {
    int fd;                 /* owned */
    bool wait_writer;       /* a FIFO: poll() for a writer before the first read */
    enum zin_mode mode;
    z_stream zs;            /* next_in/avail_in: unread bytes of buf (both modes) */
    bool zinit;             /* inflateInit2 done */
    unsigned char *buf;     /* ZIN_BUF bytes */
    uint64_t in_total;      /* bytes read from fd */
    uint64_t out_total;     /* bytes handed to the reader */
    bool eof;               /* read() returned 0 */
    bool end;               /* gzip: the last member ended cleanly */
    bool failed;            /* sticky: every later read returns -1 (EIO) */
    char msg[320];          /* what failed, when failed */
};

static uint64_t zin_consumed(const struct zin *z) { return z->in_total - z->zs.avail_in; }

/* read() that retries EINTR and waits out EAGAIN (a non-blocking standard input). */
static ssize_t read_retry(int fd, void *buf, size_t n)
{
    for (;;) {
        ssize_t r = read(fd, buf, n);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, -1) < 0 && errno != EINTR)
                return -1;
            continue;
        }
        return -1;
    }
}

static void zin_fail(struct zin *z, const char *fmt, ...) NZ_PRINTF(2, 3);
static void zin_fail(struct zin *z, const char *fmt, ...)
{
    if (z->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(z->msg, sizeof z->msg, fmt, ap);
    va_end(ap);
    z->failed = true;
}

/* Appends input to buf after the unread bytes. Returns bytes read, 0 at end of input, -1 on
 * failure (z->failed). */
static ssize_t zin_fill(struct zin *z)
{
    if (z->eof)
        return 0;
    if (z->wait_writer) {
        /* A FIFO opened without blocking reads end-of-file until a writer opens it: wait for
         * data or a hang-up, as a blocking open would have. */
        struct pollfd p = {z->fd, POLLIN, 0};
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
        z->wait_writer = false;
    }
    if (z->zs.avail_in && z->zs.next_in != z->buf)
        memmove(z->buf, z->zs.next_in, z->zs.avail_in);
    z->zs.next_in = z->buf;
    ssize_t r = read_retry(z->fd, z->buf + z->zs.avail_in, ZIN_BUF - z->zs.avail_in);
    if (r < 0) {
        zin_fail(z, "read error at byte %llu: %s", (unsigned long long)z->in_total, strerror(errno));
        return -1;
    }
    if (r == 0)
        z->eof = true;
    z->zs.avail_in += (uInt)r;
    z->in_total += (uint64_t)r;
    return r;
}

/* After a gzip member ended: another member follows (concatenated .gz files, as gzip -d
 * reads them), or zero padding up to the end (ignored, as gzip does), or the input ends.
 * Anything else is reported: it may be a member whose header was damaged. */
static void zin_member_end(struct zin *z)
{
    bool zeros = false;
    for (;;) {
        while (z->zs.avail_in && *z->zs.next_in == 0) {
            z->zs.next_in++;
            z->zs.avail_in--;
            zeros = true;
        }
        if (z->zs.avail_in >= 2 || (z->zs.avail_in && zeros))
            break;
        if (z->eof) {
            if (!z->zs.avail_in) {
                z->end = true;
                return;
            }
            break;
        }
        if (zin_fill(z) < 0)
            return;
    }
    if (!zeros && z->zs.avail_in >= 2 && z->zs.next_in[0] == 0x1f && z->zs.next_in[1] == 0x8b) {
        if (inflateReset(&z->zs) != Z_OK)
            zin_fail(z, "gzip: cannot start the next member");
        return;
    }
    zin_fail(z, "unexpected data after the end of the gzip stream at compressed byte %llu (%llu bytes unpacked before it)",
             (unsigned long long)zin_consumed(z), (unsigned long long)z->out_total);
}

/* Decides plain or gzip from the first two bytes. */
static void zin_sniff(struct zin *z)
{
    while (z->zs.avail_in < 2 && !z->eof && !z->failed)
        zin_fill(z);
    if (z->failed)
        return;
    if (z->zs.avail_in >= 2 && z->buf[0] == 0x1f && z->buf[1] == 0x8b) {
        z->zs.zalloc = Z_NULL;
        z->zs.zfree = Z_NULL;
        z->zs.opaque = Z_NULL;
        unsigned char *next = z->zs.next_in;
        uInt avail = z->zs.avail_in;
        if (inflateInit2(&z->zs, 16 + MAX_WBITS) != Z_OK) { /* gzip wrapper only */
            zin_fail(z, "gzip: cannot initialise zlib (out of memory)");
            return;
        }
        z->zs.next_in = next;
        z->zs.avail_in = avail;
        z->zinit = true;
        z->mode = ZIN_GZIP;
    } else {
        z->mode = ZIN_PLAIN;
    }
}

static ssize_t zin_read_gzip(struct zin *z, char *out, size_t n)
{
    for (;;) {
        if (z->end)
            return 0;
        if (z->zs.avail_in == 0 && !z->eof && zin_fill(z) < 0)
            return -1;
        z->zs.next_out = (unsigned char *)out;
        z->zs.avail_out = (uInt)n;
        int zr = inflate(&z->zs, Z_NO_FLUSH);
        size_t got = n - z->zs.avail_out;
        z->out_total += got;
        if (zr == Z_STREAM_END) {
            zin_member_end(z);
        } else if (zr == Z_OK || zr == Z_BUF_ERROR) {
            if (!got && z->zs.avail_in == 0 && z->eof)
                zin_fail(z, "truncated gzip stream: the file ends at compressed byte %llu, inside the compressed data "
                         "(%llu bytes unpacked)", (unsigned long long)z->in_total, (unsigned long long)z->out_total);
            else if (!got && zr == Z_BUF_ERROR && z->zs.avail_in)
                zin_fail(z, "gzip: zlib made no progress at compressed byte %llu", (unsigned long long)zin_consumed(z));
        } else {
            zin_fail(z, "damaged gzip stream at compressed byte %llu (%llu bytes unpacked before it): %s",
                     (unsigned long long)zin_consumed(z), (unsigned long long)z->out_total,
                     zr == Z_MEM_ERROR ? "out of memory" : z->zs.msg ? z->zs.msg : "invalid data");
        }
        if (got)
            return (ssize_t)got; /* a failure found on the way is reported by the next read */
        if (z->failed) {
            errno = EIO;
            return -1;
        }
    }
}

/* fopencookie read: plain bytes or inflated gzip; -1 (EIO) once something failed. */
static ssize_t zin_read(void *cookie, char *out, size_t n)
{
    struct zin *z = cookie;
    if (n > (1u << 30))
        n = 1u << 30;
    if (z->mode == ZIN_SNIFF)
        zin_sniff(z);
    if (z->failed) {
        errno = EIO;
        return -1;
    }
    if (n == 0)
        return 0;
    if (z->mode == ZIN_GZIP)
        return zin_read_gzip(z, out, n);
    if (z->zs.avail_in) { /* bytes read while sniffing */
        size_t k = z->zs.avail_in < n ? z->zs.avail_in : n;
        memcpy(out, z->zs.next_in, k);
        z->zs.next_in += k;
        z->zs.avail_in -= (uInt)k;
        z->out_total += k;
        return (ssize_t)k;
    }
    if (z->eof)
        return 0;
    ssize_t r = read_retry(z->fd, out, n);
    if (r < 0) {
        zin_fail(z, "read error at byte %llu: %s", (unsigned long long)z->in_total, strerror(errno));
        errno = EIO;
        return -1;
    }
    if (r == 0)
        z->eof = true;
    z->in_total += (uint64_t)r;
    z->out_total += (uint64_t)r;
    return r;
}

/* After libpcap failed on a gzip source: inflates up to ZIN_PROBE more bytes to see whether
 * the stream itself is damaged. Returns true (z->msg says how) or false. */
#define ZIN_PROBE (16u * 1024u * 1024u)
static bool zin_probe(struct zin *z)
{
    char *tmp = malloc(64 * 1024);
    if (!tmp)
        return false;
    for (uint64_t done = 0; done < ZIN_PROBE && !z->failed;) {
        ssize_t r = zin_read_gzip(z, tmp, 64 * 1024);
        if (r <= 0)
            break;
        done += (uint64_t)r;
    }
    free(tmp);
    return z->failed;
}

static void zin_free(struct zin *z)
{
    if (!z)
        return;
    if (z->zinit)
        inflateEnd(&z->zs);
    if (z->fd >= 0)
        close(z->fd);
    free(z->buf);
    free(z);
}

static int zin_close(void *cookie)
{
    zin_free(cookie);
    return 0;
}

/* Takes fd (closed on failure too). */
static struct zin *zin_new(int fd, bool wait_writer)
{
    struct zin *z = calloc(1, sizeof *z);
    if (z)
        z->buf = malloc(ZIN_BUF);
    if (!z || !z->buf) {
        free(z);
        close(fd);
        return NULL;
    }
    z->fd = fd;
    z->wait_writer = wait_writer;
    z->zs.next_in = z->buf;
    return z;
}

/* ---- inputs ---- */

struct cap_input {
    int fd;             /* owned */
    bool stream;        /* stdin, FIFO, socket */
    bool fifo;
    uint64_t size;      /* regular files: st_size at open */
    struct timespec mtime, ctime; /* regular files: at open, to notice a change while read */
    char *name;         /* for messages */
};

struct cap_source {
    pcap_t *pc;
    FILE *fp;          /* plain file read by libpcap (owned by pc) or NULL */
    struct zin *z;     /* stream behind a fopencookie FILE (owned by pc) or NULL */
    uint64_t size;     /* input size in bytes, 0 if unknown */
    bool live;
    int fd;            /* live: selectable descriptor (non-blocking mode), else -1 */
    int timeout_ms;    /* live: how long cap_next() waits for a packet */
    atomic_bool stop;  /* cap_break() was called: every later read returns 0 */
    bool held;         /* fanout: the drop-all filter stays until the first read */
    bool have_prog;    /* held: `prog` is the caller's filter, installed at the first read */
    struct bpf_program prog;
    uint64_t ring_bytes; /* live: kernel ring mapped (cap_ring_bytes) */
    char name[512];    /* path or interface, for messages */
};

/* Opens a file found by the folder walk: beneath the folder named on the command line,
 * following no symbolic link on the way. Returns the descriptor or -1 (errno). */
static int open_beneath(const char *path, size_t root_len)
{
    const int flags = O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
    char *root = strndup(path, root_len);
    if (!root) {
        errno = ENOMEM;
        return -1;
    }
    int dfd = open(root, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC); /* named: followed */
    free(root);
    if (dfd < 0)
        return -1;
    const char *rel = path + root_len;
    while (*rel == '/')
        rel++;
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)flags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    int fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof how);
    int e = errno;
    if (fd < 0 && (e == ENOSYS || e == EPERM)) {
        /* No openat2 (kernel before 5.6, or a seccomp filter): refuse a link as the last
         * component; the (device, inode) check of the caller catches a swapped folder. */
        fd = openat(dfd, rel, flags | O_NOFOLLOW);
        e = errno;
    }
    close(dfd);
    errno = e;
    return fd;
}

static void input_free(struct cap_input *in)
{
    if (!in)
        return;
    if (in->fd >= 0)
        close(in->fd);
    free(in->name);
    free(in);
}

struct cap_input *cap_input_open(const char *path, const struct cap_found *found, char errbuf[CAP_ERRBUF], int *err)
{
    bool is_stdin = strcmp(path, "-") == 0;
    struct cap_input *in = calloc(1, sizeof *in);
    if (in) {
        in->fd = -1;
        in->name = strdup(is_stdin ? "<stdin>" : path);
    }
    if (!in || !in->name) {
        input_free(in);
        snprintf(errbuf, CAP_ERRBUF, "%s: out of memory", is_stdin ? "<stdin>" : path);
        *err = NZ_ENOMEM;
        return NULL;
    }
    if (is_stdin)
        in->fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
    else if (found)
        in->fd = open_beneath(path, found->root_len);
    else
        in->fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (in->fd < 0 || fstat(in->fd, &st) != 0) {
        if (found && errno == ELOOP)
            snprintf(errbuf, CAP_ERRBUF, "%s: a symbolic link is on the way since its folder was read; not followed",
                     in->name);
        else
            snprintf(errbuf, CAP_ERRBUF, "%s: cannot open: %s", in->name, strerror(errno));
        *err = NZ_EIO;
        goto fail;
    }
    if (found && (!S_ISREG(st.st_mode) || (uint64_t)st.st_dev != found->dev || (uint64_t)st.st_ino != found->ino)) {
        snprintf(errbuf, CAP_ERRBUF, "%s: replaced since its folder was read; skipped", in->name);
        *err = NZ_EIO;
        goto fail;
    }
    if (S_ISREG(st.st_mode) && !is_stdin) {
        in->size = (uint64_t)st.st_size;
        in->mtime = st.st_mtim;
        in->ctime = st.st_ctim;
    } else if (is_stdin || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
        in->stream = true;
        in->fifo = S_ISFIFO(st.st_mode) && !is_stdin;
    } else if (S_ISDIR(st.st_mode)) {
        snprintf(errbuf, CAP_ERRBUF, "%s: is a folder", in->name);
        *err = NZ_EUSAGE;
        goto fail;
    } else {
        snprintf(errbuf, CAP_ERRBUF, "%s: is a %s device, not a capture file (pipe it in: cat DEVICE | netzwacht analyze -)",
                 in->name, S_ISBLK(st.st_mode) ? "block" : "character");
        *err = NZ_EUNSUPPORTED;
        goto fail;
    }
    if (!is_stdin) { /* opened without blocking so that a FIFO or a device cannot stall the open */
        int fl = fcntl(in->fd, F_GETFL);
        if (fl < 0 || fcntl(in->fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
            snprintf(errbuf, CAP_ERRBUF, "%s: cannot set up reading: %s", in->name, strerror(errno));
            *err = NZ_EIO;
            goto fail;
        }
    }
    *err = 0;
    return in;
fail:
    input_free(in);
    return NULL;
}

bool cap_input_is_stream(const struct cap_input *in) { return in->stream; }

uint64_t cap_input_size(const struct cap_input *in) { return in->size; }

int cap_input_fd(const struct cap_input *in) { return in->fd; }

void cap_input_close(struct cap_input *in) { input_free(in); }

bool cap_input_changed(struct cap_input *in)
{
    struct stat st;
    if (in->stream)
        return false;
    if (fstat(in->fd, &st) != 0)
        return true;
    return (uint64_t)st.st_size != in->size || st.st_mtim.tv_sec != in->mtime.tv_sec ||
           st.st_mtim.tv_nsec != in->mtime.tv_nsec || st.st_ctim.tv_sec != in->ctime.tv_sec ||
           st.st_ctim.tv_nsec != in->ctime.tv_nsec;
}

/* See source.h. */
int cap_pread_full(int fd, unsigned char *buf, size_t n, uint64_t off, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r = pread(fd, buf + *got, n - *got, (off_t)(off + *got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

static int compile_filter(struct cap_source *s, const char *filter, struct bpf_program *prog, char *errbuf)
{
    if (pcap_compile(s->pc, prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(errbuf, CAP_ERRBUF, "%s: bad filter \"%s\": %s", s->name, filter, pcap_geterr(s->pc));
        return NZ_EUSAGE;
    }
    return 0;
}

static int apply_filter(struct cap_source *s, const char *filter, char *errbuf)
{
    if (!filter || !*filter)
        return 0;
    struct bpf_program prog;
    int rc = compile_filter(s, filter, &prog, errbuf);
    if (rc)
        return rc;
    rc = pcap_setfilter(s->pc, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        snprintf(errbuf, CAP_ERRBUF, "%s: cannot set filter: %s", s->name, pcap_geterr(s->pc));
        return NZ_EUSAGE;
    }
    return 0;
}

struct cap_source *cap_open_input(struct cap_input *in, const char *filter, char errbuf[CAP_ERRBUF], int *err)
{
    char pe[PCAP_ERRBUF_SIZE] = "";
    struct cap_source *s = calloc(1, sizeof *s);
    if (!s) {
        *err = NZ_ENOMEM;
        snprintf(errbuf, CAP_ERRBUF, "%s: out of memory", in->name);
        return NULL;
    }
    s->fd = -1;
    s->size = in->size;
    snprintf(s->name, sizeof s->name, "%s", in->name);
    FILE *fp = NULL;
    int fd = fcntl(in->fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
        snprintf(errbuf, CAP_ERRBUF, "%s: cannot read: %s", s->name, strerror(errno));
        *err = NZ_EIO;
        free(s);
        return NULL;
    }
    unsigned char magic[2] = {0, 0};
    size_t got = 0;
    if (!in->stream && (cap_pread_full(fd, magic, 2, 0, &got) != 0 || lseek(fd, 0, SEEK_SET) != 0)) {
        snprintf(errbuf, CAP_ERRBUF, "%s: cannot read: %s", s->name, strerror(errno));
        *err = NZ_EIO;
        close(fd);
        free(s);
        return NULL;
    }
    if (in->stream || (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b)) {
        /* Streams are read once: plain or gzip is decided from their first bytes. */
        s->z = zin_new(fd, in->fifo);
        if (s->z) {
            cookie_io_functions_t io = {.read = zin_read, .write = NULL, .seek = NULL, .close = zin_close};
            fp = fopencookie(s->z, "r", io);
            if (!fp) {
                zin_free(s->z);
                s->z = NULL;
            } else {
                setvbuf(fp, NULL, _IOFBF, ZIN_BUF);
            }
        }
    } else {
        fp = fdopen(fd, "rb");
        if (!fp)
            close(fd);
        s->fp = fp;
    }
    if (fp) {
        /* One thread reads a capture: stdio's per-call lock (two freads per packet in libpcap)
         * buys nothing. A plain file gets a larger buffer: fewer read() calls. */
        __fsetlocking(fp, FSETLOCKING_BYCALLER);
        if (s->fp)
            setvbuf(fp, NULL, _IOFBF, FILE_BUF);
    }
    if (!fp) {
        snprintf(errbuf, CAP_ERRBUF, "%s: cannot set up the reader: %s", s->name, strerror(errno));
        *err = NZ_EIO;
        free(s);
        return NULL;
    }
    s->pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, pe);
    if (!s->pc) {
        /* libpcap did not take ownership of fp on failure. */
        if (s->z && s->z->failed) {
            snprintf(errbuf, CAP_ERRBUF, "%s: %s (before the capture's header was complete)", s->name, s->z->msg);
            *err = NZ_EIO;
        } else {
            snprintf(errbuf, CAP_ERRBUF, "%s: not a readable pcap/pcapng capture: %s", s->name,
                     pe[0] ? pe : "unknown format");
            *err = NZ_EMALFORMED;
        }
        fclose(fp);
        free(s);
        return NULL;
    }
    int rc = apply_filter(s, filter, errbuf);
    if (rc) {
        *err = rc;
        cap_close(s);
        return NULL;
    }
    *err = 0;
    return s;
}

struct cap_source *cap_open_file(const char *path, const char *filter, char errbuf[CAP_ERRBUF], int *err)
{
    struct cap_input *in = cap_input_open(path, NULL, errbuf, err);
    if (!in)
        return NULL;
    struct cap_source *s = cap_open_input(in, filter, errbuf, err);
    cap_input_close(in);
    return s;
}

/* ---- live ---- */

uint16_t cap_fanout_group_pick(void)
{
    uint32_t pid = (uint32_t)getpid();
    uint16_t g = pid <= 0xffffu ? (uint16_t)pid : (uint16_t)((pid ^ (pid >> 16) ^ (pid >> 24)) & 0xffffu);
    return g ? g : 1;
}

/* Size of the mmap'd ring of socket `fd`: the mappings of "socket:[inode]" in
 * /proc/self/maps. 0 when unknown. */
static uint64_t ring_bytes_of(int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return 0;
    char want[48];
    snprintf(want, sizeof want, "socket:[%llu]", (unsigned long long)st.st_ino);
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return 0;
    uint64_t total = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        unsigned long long lo, hi;
        if (strstr(line, want) && sscanf(line, "%llx-%llx", &lo, &hi) == 2 && hi > lo)
            total += hi - lo;
    }
    free(line);
    fclose(f);
    return total;
}

/* Joins the fanout group (see source.h): first a socket filter that drops everything, so
 * that nothing is steered to this handle before every member has joined and the caller
 * starts reading (live_release), then PACKET_FANOUT. Returns 0 or NZ_EUNSUPPORTED. */
static int fanout_join(struct cap_source *s, uint16_t group, char *errbuf)
{
#if defined(__linux__) && defined(PACKET_FANOUT) && defined(PACKET_FANOUT_FLAG_DEFRAG)
    int fd = pcap_fileno(s->pc), domain = 0;
    socklen_t len = sizeof domain;
    if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_PACKET) {
        snprintf(errbuf, CAP_ERRBUF, "%s: fanout needs a network interface captured through a packet socket; "
                 "libpcap captures this device otherwise", s->name);
        return NZ_EUNSUPPORTED;
    }
    struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
    struct sock_fprog fp = {.len = 1, .filter = &drop};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp) != 0) {
        snprintf(errbuf, CAP_ERRBUF, "%s: fanout: cannot attach a socket filter: %s", s->name, strerror(errno));
        return NZ_EUNSUPPORTED;
    }
    /* The group id in the low 16 bits, mode and flags in the high 16 (packet(7)); unsigned,
     * as the defrag flag lands in the sign bit. */
    uint32_t arg = (uint32_t)group | (uint32_t)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16;
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) {
        int e = errno;
        const char *why = e == EINVAL ? "the group exists on another interface or in another mode: another "
                                        "program uses this id"
                        : e == ENOSPC ? "the group is full"
                        : e == ENOPROTOOPT || e == EOPNOTSUPP ? "this kernel has no PACKET_FANOUT"
                        : "refused";
        snprintf(errbuf, CAP_ERRBUF, "%s: cannot join fanout group %u (hash, defrag): %s (%s)", s->name,
                 (unsigned)group, strerror(e), why);
        return NZ_EUNSUPPORTED;
    }
    s->held = true;
    return 0;
#else
    (void)group;
    snprintf(errbuf, CAP_ERRBUF, "%s: fanout needs Linux (PACKET_FANOUT); capture with one worker", s->name);
    return NZ_EUNSUPPORTED;
#endif
}

static void discard_cb(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    (void)user;
    (void)h;
    (void)data;
}

/* First read of a fanout handle: drops what reached the ring before the drop-all filter
 * (the microseconds between libpcap's activation and our filter; only blocks the kernel
 * has completed can be seen), then installs the caller's filter in place of the drop-all
 * one, or removes it. Returns 0 or -1 (errbuf filled). */
static int live_release(struct cap_source *s, char *errbuf)
{
    s->held = false;
    int n;
    while ((n = pcap_dispatch(s->pc, -1, discard_cb, NULL)) > 0)
        ;
    if (n == PCAP_ERROR_BREAK) /* consumed a cap_break() meant for the caller */
        atomic_store(&s->stop, true);
    if (s->have_prog) {
        int rc = pcap_setfilter(s->pc, &s->prog);
        pcap_freecode(&s->prog);
        s->have_prog = false;
        if (rc != 0) {
            snprintf(errbuf, CAP_ERRBUF, "%s: cannot set filter: %s", s->name, pcap_geterr(s->pc));
            return -1;
        }
        return 0;
    }
#ifdef __linux__
    int dummy = 0;
    if (setsockopt(pcap_fileno(s->pc), SOL_SOCKET, SO_DETACH_FILTER, &dummy, sizeof dummy) != 0 && errno != ENOENT) {
        snprintf(errbuf, CAP_ERRBUF, "%s: cannot remove the fanout start filter: %s", s->name, strerror(errno));
        return -1;
    }
#endif
    return 0;
}

struct cap_source *cap_open_live(const char *iface, const struct cap_live_cfg *cfg, const char *filter,
                                 char errbuf[CAP_ERRBUF], int *err)
{
    char pe[PCAP_ERRBUF_SIZE] = "";
    if (cfg->buffer_mb < 0 || cfg->buffer_mb > CAP_BUFFER_MB_MAX) {
        snprintf(errbuf, CAP_ERRBUF, "%s: kernel buffer of %d MiB: must be 1 to %d", iface, cfg->buffer_mb,
                 CAP_BUFFER_MB_MAX);
        *err = NZ_EUSAGE;
        return NULL;
    }
    struct cap_source *s = calloc(1, sizeof *s);
    if (!s) {
        *err = NZ_ENOMEM;
        snprintf(errbuf, CAP_ERRBUF, "%s: out of memory", iface);
        return NULL;
    }
    snprintf(s->name, sizeof s->name, "%s", iface);
    s->live = true;
    s->fd = -1;
    atomic_init(&s->stop, false);
    s->pc = pcap_create(iface, pe);
    if (!s->pc) {
        snprintf(errbuf, CAP_ERRBUF, "%s: %s", iface, pe);
        *err = NZ_EIO;
        free(s);
        return NULL;
    }
    s->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 500;
    pcap_set_snaplen(s->pc, cfg->snaplen < 65535 ? 65535 : cfg->snaplen);
    pcap_set_promisc(s->pc, cfg->promisc ? 1 : 0);
    pcap_set_timeout(s->pc, s->timeout_ms); /* TPACKET_V3: the block retire timeout */
    pcap_set_tstamp_precision(s->pc, PCAP_TSTAMP_PRECISION_MICRO);
    pcap_set_buffer_size(s->pc, (cfg->buffer_mb ? cfg->buffer_mb : CAP_BUFFER_MB_DEFAULT) * 1024 * 1024);
    int rc = pcap_activate(s->pc);
    if (rc < 0) {
        snprintf(errbuf, CAP_ERRBUF, "%s: cannot capture: %s (%s)", iface, pcap_statustostr(rc),
                 pcap_geterr(s->pc));
        *err = rc == PCAP_ERROR_PERM_DENIED ? NZ_EUSAGE : NZ_EIO;
        pcap_close(s->pc);
        free(s);
        return NULL;
    }
    if (cfg->fanout_group && (rc = fanout_join(s, cfg->fanout_group, errbuf)) != 0) {
        *err = rc;
        cap_close(s);
        return NULL;
    }
    if (s->held && filter && *filter) {
        /* compiled now so that a bad filter fails the open; installed at the first read */
        rc = compile_filter(s, filter, &s->prog, errbuf);
        s->have_prog = rc == 0;
    } else {
        rc = apply_filter(s, filter, errbuf);
    }
    if (rc) {
        *err = rc;
        cap_close(s);
        return NULL;
    }
    /* Non-blocking reads plus our own poll(): with TPACKET_V3 a blocking read may never
     * return while no packet arrives, which would starve periodic commits and signals. */
    s->fd = pcap_get_selectable_fd(s->pc);
    if (s->fd >= 0 && pcap_setnonblock(s->pc, 1, pe) != 0)
        s->fd = -1;
    s->ring_bytes = ring_bytes_of(pcap_fileno(s->pc));
    *err = 0;
    return s;
}

uint64_t cap_ring_bytes(const struct cap_source *s) { return s->ring_bytes; }

/* Fills errbuf after libpcap reported a read error. */
static void read_error(struct cap_source *s, char *errbuf)
{
    if (s->z && s->z->failed) { /* the stream under libpcap: say what really happened */
        snprintf(errbuf, CAP_ERRBUF, "%s: %s", s->name, s->z->msg);
    } else if (s->z && s->z->mode == ZIN_GZIP && zin_probe(s->z)) {
        /* libpcap choked on a record that a flipped bit in the compressed data garbled:
         * inflate reports such damage only a little later. */
        snprintf(errbuf, CAP_ERRBUF, "%s: %s; %s", s->name, pcap_geterr(s->pc), s->z->msg);
    } else {
        snprintf(errbuf, CAP_ERRBUF, "%s: %s", s->name, pcap_geterr(s->pc));
    }
}

/* Live: waits up to timeout_ms for the descriptor. Returns 1 readable (or unknown), 0 timed
 * out or interrupted, -1 error (errbuf filled). */
static int live_wait(struct cap_source *s, char *errbuf)
{
    if (s->fd < 0)
        return 1;
    struct pollfd pfd = {s->fd, POLLIN, 0};
    int pr = poll(&pfd, 1, s->timeout_ms);
    if (pr < 0 && errno != EINTR) {
        snprintf(errbuf, CAP_ERRBUF, "%s: poll: %s", s->name, strerror(errno));
        return -1;
    }
    return pr > 0;
}

int cap_live_release(struct cap_source *s, char errbuf[CAP_ERRBUF])
{
    return s->held ? live_release(s, errbuf) : 0;
}

int cap_next(struct cap_source *s, struct cap_pkt *out, char errbuf[CAP_ERRBUF])
{
    struct pcap_pkthdr *h;
    const u_char *data;
    if (s->held && live_release(s, errbuf) != 0)
        return -1;
    if (atomic_load(&s->stop))
        return 0;
    int rc = pcap_next_ex(s->pc, &h, &data);
    if (rc == 0 && s->live && s->fd >= 0) {
        int pr = live_wait(s, errbuf);
        if (pr < 0)
            return -1;
        if (atomic_load(&s->stop))
            return 0;
        if (pr > 0)
            rc = pcap_next_ex(s->pc, &h, &data);
    }
    if (rc == 1) {
        out->ts_usec = (uint64_t)(int64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        out->caplen = h->caplen;
        out->wirelen = h->len < h->caplen ? h->caplen : h->len;
        out->data = data;
        return 1;
    }
    if (rc == 0)
        return 2;
    if (rc == PCAP_ERROR_BREAK)
        return 0;
    read_error(s, errbuf);
    return -1;
}

struct dispatch_ctx {
    cap_pkt_fn fn;
    void *user;
};

static void dispatch_cb(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    const struct dispatch_ctx *c = (const struct dispatch_ctx *)user;
    struct cap_pkt p = {
        .ts_usec = (uint64_t)(int64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec,
        .caplen = h->caplen,
        .wirelen = h->len < h->caplen ? h->caplen : h->len,
        .data = data,
    };
    c->fn(c->user, &p);
}

int cap_dispatch(struct cap_source *s, int max, cap_pkt_fn fn, void *user, char errbuf[CAP_ERRBUF])
{
    struct dispatch_ctx c = {fn, user};
    if (s->held && live_release(s, errbuf) != 0)
        return -1;
    if (atomic_load(&s->stop))
        return 0;
    if (max < 1)
        max = 1;
    int rc = pcap_dispatch(s->pc, max, dispatch_cb, (u_char *)&c);
    if (rc == 0 && s->live) {
        int pr = live_wait(s, errbuf);
        if (pr < 0)
            return -1;
        if (atomic_load(&s->stop))
            return 0;
        if (pr == 0)
            return 2;
        rc = pcap_dispatch(s->pc, max, dispatch_cb, (u_char *)&c);
        if (rc == 0)
            return 2;
    }
    if (rc > 0)
        return 1;
    if (rc == 0 || rc == PCAP_ERROR_BREAK) /* a file's end; a break */
        return 0;
    read_error(s, errbuf);
    return -1;
}

int cap_datalink(const struct cap_source *s) { return pcap_datalink(s->pc); }

const char *cap_datalink_name(int dlt, char *buf, size_t cap)
{
    const char *n = pcap_datalink_val_to_name(dlt);
    if (n)
        snprintf(buf, cap, "%s", n);
    else
        snprintf(buf, cap, "DLT_%d", dlt);
    return buf;
}

uint64_t cap_pos(const struct cap_source *s)
{
    if (s->z)
        return zin_consumed(s->z);
    if (s->fp) {
        off_t o = ftello(s->fp);
        return o > 0 ? (uint64_t)o : 0;
    }
    return 0;
}

uint64_t cap_size(const struct cap_source *s) { return s->size; }

int cap_stats(struct cap_source *s, struct cap_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!s->live)
        return NZ_EUNSUPPORTED;
    struct pcap_stat ps;
    if (pcap_stats(s->pc, &ps) != 0)
        return NZ_EIO;
    out->recv = ps.ps_recv;
    out->drop = ps.ps_drop;
    out->ifdrop = ps.ps_ifdrop;
    return 0;
}

void cap_break(struct cap_source *s)
{
    if (s && s->pc) {
        atomic_store(&s->stop, true);
        pcap_breakloop(s->pc);
    }
}

void cap_close(struct cap_source *s)
{
    if (!s)
        return;
    if (s->have_prog)
        pcap_freecode(&s->prog);
    if (s->pc)
        pcap_close(s->pc); /* closes the FILE (and through it the stream reader) */
    free(s);
}
