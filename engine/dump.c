/* dump.c — `--dump-streams DIR`. See dump.h for the contract. */
#include "engine/dump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


struct dump_fd {
    uint64_t flow_id;
    int dir;
    int fd;          /* -1: slot free */
    uint64_t used;   /* d->tick of the last write (LRU) */
};

struct stream_dump {
    int dirfd;
    char *path;                  /* DIR as given, for messages */
    const struct nz_log *log;    /* borrowed */
    struct dump_fd fds[DUMP_FDS_MAX];
    uint64_t tick;
    uint64_t failures;
};

/* "a/b/" → parent "a", base "b"; "b" → ".", "b"; "/b" → "/", "b". False if no new folder is
 * named. */
static bool split_dir(const char *dir, char *parent, size_t pcap, char *base, size_t bcap)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    size_t b = n;
    while (b > 0 && dir[b - 1] != '/')
        b--;
    size_t blen = n - b;
    if (blen == 0 || blen >= bcap || (blen == 1 && dir[b] == '.') ||
        (blen == 2 && dir[b] == '.' && dir[b + 1] == '.'))
        return false;
    memcpy(base, dir + b, blen);
    base[blen] = '\0';
    size_t plen = b;
    while (plen > 1 && dir[plen - 1] == '/')
        plen--;
    if (plen == 0) {
        snprintf(parent, pcap, ".");
    } else {
        if (plen >= pcap)
            return false;
        memcpy(parent, dir, plen);
        parent[plen] = '\0';
    }
    return true;
}

int dump_open(const char *dir, const struct nz_log *log, struct stream_dump **out, char *msg, size_t cap)
{
    char parent[4096], base[256];
    *out = NULL;
    if (!dir || !split_dir(dir, parent, sizeof parent, base, sizeof base)) {
        snprintf(msg, cap, "--dump-streams %s: give the name of a folder to create", dir ? dir : "");
        return NZ_EUSAGE;
    }
    int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0) {
        snprintf(msg, cap, "--dump-streams %s: cannot open %s: %s", dir, parent, strerror(errno));
        return NZ_EIO;
    }
    if (mkdirat(pfd, base, 0700) != 0) {
        int e = errno;
        close(pfd);
        if (e == EEXIST) {
            snprintf(msg, cap, "--dump-streams %s: exists; the folder is created by netzwacht and must not "
                     "exist yet (so that nobody can have prepared it)", dir);
            return NZ_EUSAGE;
        }
        snprintf(msg, cap, "--dump-streams %s: cannot create it: %s", dir, strerror(e));
        return NZ_EIO;
    }
    int dfd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(pfd);
    struct stat st;
    if (dfd < 0 || fstat(dfd, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077) != 0 || fchmod(dfd, 0700) != 0) {
        /* someone renamed ours away and put something else there between mkdir and open */
        snprintf(msg, cap, "--dump-streams %s: the folder was replaced right after it was created%s%s; refused",
                 dir, dfd < 0 ? ": " : "", dfd < 0 ? strerror(e) : "");
        if (dfd >= 0)
            close(dfd);
        return NZ_EIO;
    }
    struct stream_dump *d = calloc(1, sizeof *d);
    char *path = strdup(dir);
    if (!d || !path) {
        free(d);
        free(path);
        close(dfd);
        snprintf(msg, cap, "--dump-streams %s: out of memory", dir);
        return NZ_ENOMEM;
    }
    d->dirfd = dfd;
    d->path = path;
    d->log = log;
    for (int i = 0; i < DUMP_FDS_MAX; i++)
        d->fds[i].fd = -1;
    *out = d;
    return 0;
}

static void dump_fail(struct stream_dump *d, const char *name, const char *why)
{
    if (d->failures++ == 0)
        nz_logf(d->log, NZ_LOG_WARN, "--dump-streams: cannot write %s/%s: %s (further failures are only counted)",
                d->path, name, why);
}

/* Opens (creating on first use) the file of one flow direction. -1 on failure (counted). */
static int dump_file(struct stream_dump *d, uint64_t flow_id, int dir)
{
    char name[48];
    snprintf(name, sizeof name, "%llu-%s.bin", (unsigned long long)flow_id, dir == 0 ? "c2s" : "s2c");
    int fd = openat(d->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) /* made earlier in this run (the LRU closed it) */
        fd = openat(d->dirfd, name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        dump_fail(d, name, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1) {
        close(fd);
        dump_fail(d, name, "not a regular file of ours with one link; left alone");
        return -1;
    }
    return fd;
}

void dump_write(struct stream_dump *d, uint64_t flow_id, int dir, const uint8_t *p, size_t n)
{
    if (!d || n == 0)
        return;
    struct dump_fd *slot = NULL, *victim = NULL; /* a free slot, else the least recently used */
    for (int i = 0; i < DUMP_FDS_MAX; i++) {
        struct dump_fd *s = &d->fds[i];
        if (s->fd >= 0 && s->flow_id == flow_id && s->dir == dir) {
            slot = s;
            break;
        }
        if (!victim || (victim->fd >= 0 && (s->fd < 0 || s->used < victim->used)))
            victim = s;
    }
    if (!slot) {
        int fd = dump_file(d, flow_id, dir);
        if (fd < 0)
            return;
        if (victim->fd >= 0)
            close(victim->fd);
        slot = victim;
        slot->fd = fd;
        slot->flow_id = flow_id;
        slot->dir = dir;
    }
    slot->used = ++d->tick;
    while (n > 0) {
        ssize_t w = write(slot->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            char name[48];
            snprintf(name, sizeof name, "%llu-%s.bin", (unsigned long long)flow_id, dir == 0 ? "c2s" : "s2c");
            dump_fail(d, name, w < 0 ? strerror(errno) : "short write");
            close(slot->fd);
            slot->fd = -1;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

uint64_t dump_failures(const struct stream_dump *d) { return d ? d->failures : 0; }

void dump_close(struct stream_dump *d)
{
    if (!d)
        return;
    for (int i = 0; i < DUMP_FDS_MAX; i++)
        if (d->fds[i].fd >= 0)
            close(d->fds[i].fd);
    close(d->dirfd);
    if (d->failures)
        nz_logf(d->log, NZ_LOG_WARN, "--dump-streams %s: %llu write(s) failed; the stream files are incomplete",
                d->path, (unsigned long long)d->failures);
    free(d->path);
    free(d);
}
