/* source.c — libpcap sources: files (pcap/pcapng, gzip via zlib, stdin), live interfaces,
 * BPF filters, privilege drop, file hashing. See source.h. */
#include "source.h"

#include <errno.h>
#include <grp.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/blake2.h>
#include <wolfssl/wolfcrypt/sha256.h>

struct cap_source {
    pcap_t *pc;
    FILE *fp;          /* plain file read by libpcap (owned by pc) or NULL */
    gzFile gz;         /* gzip/stdin stream behind a fopencookie FILE (owned by pc) or NULL */
    uint64_t size;     /* input size in bytes, 0 if unknown */
    bool live;
    int fd;            /* live: selectable descriptor (non-blocking mode), else -1 */
    int timeout_ms;    /* live: how long cap_next() waits for a packet */
    char name[256];    /* path or interface, for messages */
};

/* fopencookie glue so libpcap can read a zlib stream as a FILE. */
static ssize_t gz_read(void *cookie, char *buf, size_t n)
{
    gzFile gz = cookie;
    unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
    int r = gzread(gz, buf, chunk);
    if (r < 0) {
        errno = EIO;
        return -1;
    }
    return r;
}

static int gz_close(void *cookie)
{
    return gzclose((gzFile)cookie) == Z_OK ? 0 : EOF;
}

static FILE *gz_fopen(gzFile gz)
{
    cookie_io_functions_t io = {.read = gz_read, .write = NULL, .seek = NULL, .close = gz_close};
    return fopencookie(gz, "r", io);
}

static void to_hex(const unsigned char *dig, size_t n, char *hex)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = hx[dig[i] >> 4];
        hex[2 * i + 1] = hx[dig[i] & 15];
    }
    hex[2 * n] = '\0';
}

static int apply_filter(struct cap_source *s, const char *filter, char *errbuf)
{
    if (!filter || !*filter)
        return 0;
    struct bpf_program prog;
    if (pcap_compile(s->pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(errbuf, CAP_ERRBUF, "%s: bad filter \"%s\": %s", s->name, filter, pcap_geterr(s->pc));
        return NZ_EUSAGE;
    }
    int rc = pcap_setfilter(s->pc, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        snprintf(errbuf, CAP_ERRBUF, "%s: cannot set filter: %s", s->name, pcap_geterr(s->pc));
        return NZ_EUSAGE;
    }
    return 0;
}

struct cap_source *cap_open_file(const char *path, const char *filter, char errbuf[CAP_ERRBUF], int *err)
{
    char pe[PCAP_ERRBUF_SIZE] = "";
    struct cap_source *s = calloc(1, sizeof *s);
    if (!s) {
        *err = NZ_ENOMEM;
        snprintf(errbuf, CAP_ERRBUF, "%s: out of memory", path);
        return NULL;
    }
    s->fd = -1;
    snprintf(s->name, sizeof s->name, "%s", strcmp(path, "-") == 0 ? "<stdin>" : path);
    FILE *fp = NULL;
    if (strcmp(path, "-") == 0) {
        /* zlib reads non-gzip input transparently, so stdin may be either. */
        int fd = dup(STDIN_FILENO);
        s->gz = fd >= 0 ? gzdopen(fd, "rb") : NULL;
        if (!s->gz) {
            if (fd >= 0)
                close(fd);
            snprintf(errbuf, CAP_ERRBUF, "<stdin>: cannot read: %s", strerror(errno));
            *err = NZ_EIO;
            goto fail;
        }
        gzbuffer(s->gz, 256 * 1024);
        fp = gz_fopen(s->gz);
    } else {
        struct stat stt;
        fp = fopen(path, "rb");
        if (!fp || fstat(fileno(fp), &stt) != 0) {
            snprintf(errbuf, CAP_ERRBUF, "%s: cannot open: %s", path, strerror(errno));
            *err = NZ_EIO;
            goto fail;
        }
        if (S_ISDIR(stt.st_mode)) {
            snprintf(errbuf, CAP_ERRBUF, "%s: is a directory", path);
            *err = NZ_EUSAGE;
            goto fail;
        }
        s->size = (uint64_t)stt.st_size;
        unsigned char magic[2] = {0, 0};
        size_t got = fread(magic, 1, 2, fp);
        if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
            int fd = dup(fileno(fp));
            fclose(fp);
            fp = NULL;
            /* stdio read ahead on the shared offset: rewind the descriptor itself. */
            if (fd >= 0 && lseek(fd, 0, SEEK_SET) != 0) {
                close(fd);
                fd = -1;
            }
            s->gz = fd >= 0 ? gzdopen(fd, "rb") : NULL;
            if (!s->gz) {
                if (fd >= 0)
                    close(fd);
                snprintf(errbuf, CAP_ERRBUF, "%s: cannot open gzip stream", path);
                *err = NZ_EIO;
                goto fail;
            }
            gzbuffer(s->gz, 256 * 1024);
            fp = gz_fopen(s->gz);
        } else {
            rewind(fp);
            s->fp = fp;
        }
    }
    if (!fp) {
        snprintf(errbuf, CAP_ERRBUF, "%s: cannot set up reader", s->name);
        *err = NZ_EIO;
        if (s->gz) {
            gzclose(s->gz);
            s->gz = NULL;
        }
        goto fail;
    }
    s->pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, pe);
    if (!s->pc) {
        /* libpcap did not take ownership of fp on failure. */
        fclose(fp);
        s->fp = NULL;
        s->gz = NULL;
        fp = NULL;
        snprintf(errbuf, CAP_ERRBUF, "%s: not a readable pcap/pcapng capture: %s", s->name,
                 pe[0] ? pe : "unknown format");
        *err = NZ_EMALFORMED;
        goto fail;
    }
    int rc = apply_filter(s, filter, errbuf);
    if (rc) {
        *err = rc;
        cap_close(s);
        return NULL;
    }
    *err = 0;
    return s;
fail:
    if (fp && fp != stdin)
        fclose(fp);
    free(s);
    return NULL;
}

struct cap_source *cap_open_live(const char *iface, const struct cap_live_cfg *cfg, const char *filter,
                                 char errbuf[CAP_ERRBUF], int *err)
{
    char pe[PCAP_ERRBUF_SIZE] = "";
    struct cap_source *s = calloc(1, sizeof *s);
    if (!s) {
        *err = NZ_ENOMEM;
        snprintf(errbuf, CAP_ERRBUF, "%s: out of memory", iface);
        return NULL;
    }
    snprintf(s->name, sizeof s->name, "%s", iface);
    s->live = true;
    s->pc = pcap_create(iface, pe);
    if (!s->pc) {
        snprintf(errbuf, CAP_ERRBUF, "%s: %s", iface, pe);
        *err = NZ_EIO;
        free(s);
        return NULL;
    }
    pcap_set_snaplen(s->pc, cfg->snaplen < 65535 ? 65535 : cfg->snaplen);
    pcap_set_promisc(s->pc, cfg->promisc ? 1 : 0);
    pcap_set_timeout(s->pc, cfg->timeout_ms > 0 ? cfg->timeout_ms : 500);
    pcap_set_tstamp_precision(s->pc, PCAP_TSTAMP_PRECISION_MICRO);
    if (cfg->buffer_mb > 0)
        pcap_set_buffer_size(s->pc, cfg->buffer_mb * 1024 * 1024);
    int rc = pcap_activate(s->pc);
    if (rc < 0) {
        snprintf(errbuf, CAP_ERRBUF, "%s: cannot capture: %s (%s)", iface, pcap_statustostr(rc),
                 pcap_geterr(s->pc));
        *err = rc == PCAP_ERROR_PERM_DENIED ? NZ_EUSAGE : NZ_EIO;
        pcap_close(s->pc);
        free(s);
        return NULL;
    }
    rc = apply_filter(s, filter, errbuf);
    if (rc) {
        *err = rc;
        cap_close(s);
        return NULL;
    }
    /* Non-blocking reads plus our own poll(): with TPACKET_V3 a blocking read may never
     * return while no packet arrives, which would starve periodic commits and signals. */
    s->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 500;
    s->fd = pcap_get_selectable_fd(s->pc);
    if (s->fd >= 0 && pcap_setnonblock(s->pc, 1, pe) != 0)
        s->fd = -1;
    *err = 0;
    return s;
}

int cap_next(struct cap_source *s, struct cap_pkt *out, char errbuf[CAP_ERRBUF])
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(s->pc, &h, &data);
    if (rc == 0 && s->live && s->fd >= 0) {
        struct pollfd pfd = {s->fd, POLLIN, 0};
        int pr = poll(&pfd, 1, s->timeout_ms);
        if (pr > 0)
            rc = pcap_next_ex(s->pc, &h, &data);
        else if (pr < 0 && errno != EINTR) {
            snprintf(errbuf, CAP_ERRBUF, "%s: poll: %s", s->name, strerror(errno));
            return -1;
        }
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
    snprintf(errbuf, CAP_ERRBUF, "%s: %s", s->name, pcap_geterr(s->pc));
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
    if (s->gz) {
        z_off_t o = gzoffset(s->gz);
        return o > 0 ? (uint64_t)o : 0;
    }
    if (s->fp) {
        long o = ftell(s->fp);
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
    if (s && s->pc)
        pcap_breakloop(s->pc);
}

void cap_close(struct cap_source *s)
{
    if (!s)
        return;
    if (s->pc)
        pcap_close(s->pc); /* closes the FILE (and through it the gzFile) */
    free(s);
}

int cap_drop_privs(const char *user, char errbuf[CAP_ERRBUF])
{
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(errbuf, CAP_ERRBUF, "--user %s: no such user", user);
        return NZ_EUSAGE;
    }
    if (getuid() != 0 && geteuid() != 0) {
        if (getuid() == pw->pw_uid)
            return 0;
        snprintf(errbuf, CAP_ERRBUF, "--user %s: not running as root, cannot switch user", user);
        return NZ_EUSAGE;
    }
    /* Supplementary groups: only the user's primary group (root's, e.g. disk or adm, must not
     * survive); then real, effective and saved ids, group first (setgid needs root). */
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
        snprintf(errbuf, CAP_ERRBUF, "--user %s: cannot drop privileges: %s", user, strerror(errno));
        return NZ_EIO;
    }
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 || ru != uid || eu != uid ||
        su != uid || rg != gid || eg != gid || sg != gid ||
        (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0 || (gid != 0 && (setgid(0) == 0 || setegid(0) == 0))))) {
        snprintf(errbuf, CAP_ERRBUF, "--user %s: privileges could be regained; refusing", user);
        return NZ_EIO;
    }
    return 0;
}

/* Hashes a whole file with SHA-256 or BLAKE2b-256 (1 MiB reads). */
static int hash_file(const char *path, bool blake, char hex[65], uint64_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NZ_EIO;
    wc_Sha256 sha;
    Blake2b b2;
    if ((blake ? wc_InitBlake2b(&b2, WC_SHA256_DIGEST_SIZE) : wc_InitSha256(&sha)) != 0) {
        fclose(f);
        return NZ_EIO;
    }
    static const size_t chunk = 1u << 20;
    unsigned char *buf = malloc(chunk);
    int rc = buf ? 0 : NZ_ENOMEM;
    uint64_t total = 0;
    while (rc == 0) {
        size_t n = fread(buf, 1, chunk, f);
        if (n > 0) {
            if ((blake ? wc_Blake2bUpdate(&b2, buf, (word32)n) : wc_Sha256Update(&sha, buf, (word32)n)) != 0)
                rc = NZ_EIO;
            total += n;
        }
        if (n < chunk) {
            if (ferror(f))
                rc = NZ_EIO;
            break;
        }
    }
    unsigned char dig[WC_SHA256_DIGEST_SIZE];
    if (blake) {
        if (wc_Blake2bFinal(&b2, dig, WC_SHA256_DIGEST_SIZE) != 0)
            rc = rc ? rc : NZ_EIO;
    } else {
        wc_Sha256Final(&sha, dig);
        wc_Sha256Free(&sha);
    }
    free(buf);
    fclose(f);
    if (rc)
        return rc;
    to_hex(dig, sizeof dig, hex);
    *size = total;
    return 0;
}

int cap_file_sha256(const char *path, char hex[65], uint64_t *size) { return hash_file(path, false, hex, size); }

int cap_file_blake2b(const char *path, char hex[65], uint64_t *size) { return hash_file(path, true, hex, size); }

int cap_file_quickkey(const char *path, char hex[65], uint64_t *size)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        if (f)
            fclose(f);
        return NZ_EIO;
    }
    uint64_t sz = (uint64_t)st.st_size;
    wc_Sha256 sha;
    if (wc_InitSha256(&sha) != 0) {
        fclose(f);
        return NZ_EIO;
    }
    unsigned char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)(sz >> (56 - 8 * i));
    wc_Sha256Update(&sha, be, sizeof be);
    static const size_t span = CAP_QUICK_SPAN;
    unsigned char *buf = malloc(span);
    int rc = buf ? 0 : NZ_ENOMEM;
    if (!rc) {
        size_t n = fread(buf, 1, span, f);
        wc_Sha256Update(&sha, buf, (word32)n);
        if (sz > span) {
            uint64_t tail = sz - span < span ? sz - span : span; /* never re-read the head */
            if (fseeko(f, (off_t)(sz - tail), SEEK_SET) != 0)
                rc = NZ_EIO;
            else {
                n = fread(buf, 1, (size_t)tail, f);
                wc_Sha256Update(&sha, buf, (word32)n);
            }
        }
        if (ferror(f))
            rc = NZ_EIO;
    }
    unsigned char dig[WC_SHA256_DIGEST_SIZE];
    wc_Sha256Final(&sha, dig);
    wc_Sha256Free(&sha);
    free(buf);
    fclose(f);
    if (rc)
        return rc;
    to_hex(dig, sizeof dig, hex);
    *size = sz;
    return 0;
}
