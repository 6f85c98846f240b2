/* walk.c — finding the capture files in a folder named on the command line (see cli.h).
 *
 * Rules, chosen for a sensor that runs as root over folders other users can write to:
 *  - the folder named on the command line is followed if it is a symbolic link (the user
 *    named it); a symbolic link found inside is never followed, to a file or a folder, so a
 *    planted link cannot lead the walk out of the tree (each one is reported);
 *  - every folder is opened relative to its parent's descriptor with O_NOFOLLOW, so a folder
 *    swapped for a link while we walk is not entered either;
 *  - a folder is entered at most once, identified by (device, inode): bind mounts and folders
 *    named twice cannot make the walk loop or repeat;
 *  - at most CLI_WALK_MAX_DEPTH levels below the named folder; the walk is iterative (an
 *    explicit stack of open folders), so deep trees cost no C stack;
 *  - only regular files with a capture name are reported; a FIFO, socket or device with such a
 *    name is reported as skipped and never opened (opening a FIFO could block).
 * Names starting with '.' are skipped. Within a folder, entries are visited in strcmp order. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

struct devino {
    uint64_t dev, ino;
};

struct cli_walk {
    struct devino *set;  /* open addressing; {0, 0} = empty (inode 0 does not exist) */
    size_t cap, n;       /* cap is a power of two */
};

struct cli_walk *cli_walk_new(void) { return calloc(1, sizeof(struct cli_walk)); }

void cli_walk_free(struct cli_walk *w)
{
    if (!w)
        return;
    free(w->set);
    free(w);
}

static size_t devino_hash(uint64_t dev, uint64_t ino)
{
    uint64_t h = (dev * 0x9e3779b97f4a7c15ull) ^ (ino + 0x632be59bd9b4e019ull + (dev << 6));
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return (size_t)h;
}

/* Adds (dev, ino). Returns 1 if added, 0 if it was there, NZ_ENOMEM. */
static int walk_mark(struct cli_walk *w, uint64_t dev, uint64_t ino)
{
    if (ino == 0 && dev == 0)
        dev = 1; /* keep the empty marker free; no real folder has inode 0 */
    if ((w->n + 1) * 2 > w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 64;
        struct devino *ns = calloc(nc, sizeof *ns);
        if (!ns)
            return NZ_ENOMEM;
        for (size_t i = 0; i < w->cap; i++) {
            if (!w->set[i].dev && !w->set[i].ino)
                continue;
            size_t j = devino_hash(w->set[i].dev, w->set[i].ino) & (nc - 1);
            while (ns[j].dev || ns[j].ino)
                j = (j + 1) & (nc - 1);
            ns[j] = w->set[i];
        }
        free(w->set);
        w->set = ns;
        w->cap = nc;
    }
    size_t j = devino_hash(dev, ino) & (w->cap - 1);
    while (w->set[j].dev || w->set[j].ino) {
        if (w->set[j].dev == dev && w->set[j].ino == ino)
            return 0;
        j = (j + 1) & (w->cap - 1);
    }
    w->set[j].dev = dev;
    w->set[j].ino = ino;
    w->n++;
    return 1;
}

bool cli_capture_name(const char *name)
{
    static const char *const exts[] = {".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        size_t e = strlen(exts[i]);
        if (n > e && strcasecmp(name + n - e, exts[i]) == 0)
            return true;
    }
    return false;
}

/* One open folder on the stack. */
struct frame {
    int fd;
    char **names;   /* sorted entries, owned */
    size_t n, next;
    size_t plen;    /* strlen of the folder's path */
};

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void frame_free(struct frame *f)
{
    if (f->fd >= 0)
        close(f->fd);
    for (size_t i = 0; i < f->n; i++)
        free(f->names[i]);
    free(f->names);
    f->fd = -1;
    f->names = NULL;
    f->n = f->next = 0;
}

static void note(const struct cli_walk_ops *ops, enum cli_walk_note what, const char *path, int errnum)
{
    if (ops->note)
        ops->note(ops->ud, what, path, errnum);
}

/* Reads the entries of the folder open on f->fd (the descriptor stays open for openat).
 * Returns 0, NZ_EIO (errno set) or NZ_ENOMEM. */
static int frame_read(struct frame *f)
{
    int dfd = fcntl(f->fd, F_DUPFD_CLOEXEC, 3);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        int e = errno;
        if (dfd >= 0)
            close(dfd);
        errno = e;
        return NZ_EIO;
    }
    size_t cap = 0;
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno)
                rc = NZ_EIO;
            break;
        }
        if (e->d_name[0] == '.')
            continue;
        if (f->n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            char **nv = realloc(f->names, nc * sizeof *nv);
            if (!nv) {
                rc = NZ_ENOMEM;
                break;
            }
            f->names = nv;
            cap = nc;
        }
        if (!(f->names[f->n] = strdup(e->d_name))) {
            rc = NZ_ENOMEM;
            break;
        }
        f->n++;
    }
    int e = errno;
    closedir(d);
    errno = e;
    if (f->n)
        qsort(f->names, f->n, sizeof *f->names, cmp_name);
    return rc;
}

/* Records and announces a folder just opened on fd. Returns 1 (enter it), 0 (seen before),
 * NZ_EIO (fstat failed) or NZ_ENOMEM. */
static int enter(struct cli_walk *w, const struct cli_walk_ops *ops, int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return NZ_EIO;
    int r = walk_mark(w, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (r == 1 && ops->dir)
        ops->dir(ops->ud, path, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    return r;
}

int cli_walk(struct cli_walk *w, const char *root, const struct cli_walk_ops *ops)
{
    char *p = malloc(PATH_MAX);
    struct frame *stack = calloc(CLI_WALK_MAX_DEPTH + 1, sizeof *stack);
    if (!p || !stack) {
        free(p);
        free(stack);
        return NZ_ENOMEM;
    }
    for (int i = 0; i <= CLI_WALK_MAX_DEPTH; i++)
        stack[i].fd = -1;
    int result = 0, depth = 0;

    /* The root without trailing slashes ("/" stays "/"). */
    size_t rlen = strlen(root);
    while (rlen > 1 && root[rlen - 1] == '/')
        rlen--;
    if (rlen == 0 || rlen >= PATH_MAX) {
        note(ops, CLI_WALK_TOO_LONG, root, ENAMETOOLONG);
        result = NZ_EIO;
        goto out;
    }
    memcpy(p, root, rlen);
    p[rlen] = '\0';
    size_t root_len = rlen;
    stack[0].fd = open(p, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC); /* named: followed */
    stack[0].plen = rlen;
    int r = stack[0].fd < 0 ? NZ_EIO : enter(w, ops, stack[0].fd, p);
    if (r == NZ_EIO) {
        note(ops, CLI_WALK_UNREADABLE, p, errno);
        result = NZ_EIO;
        goto out;
    }
    if (r < 0) {
        result = r;
        goto out;
    }
    if (r == 0) {
        note(ops, CLI_WALK_SEEN, p, 0);
        goto out;
    }
    if ((r = frame_read(&stack[0])) != 0) {
        if (r == NZ_ENOMEM) {
            result = r;
            goto out;
        }
        note(ops, CLI_WALK_UNREADABLE, p, errno);
        result = NZ_EIO;
    }

    while (depth >= 0) {
        struct frame *f = &stack[depth];
        if (f->next >= f->n) {
            frame_free(f);
            depth--;
            continue;
        }
        const char *name = f->names[f->next++];
        size_t nlen = strlen(name);
        bool slash = f->plen > 0 && p[f->plen - 1] != '/';
        if (f->plen + slash + nlen >= PATH_MAX) {
            p[f->plen] = '\0';
            note(ops, CLI_WALK_TOO_LONG, p, ENAMETOOLONG);
            continue;
        }
        size_t plen = f->plen;
        if (slash)
            p[plen++] = '/';
        memcpy(p + plen, name, nlen + 1);
        plen += nlen;

        struct stat st;
        if (fstatat(f->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT) { /* gone since the folder was read: nothing to say */
                note(ops, CLI_WALK_UNREADABLE, p, errno);
                result = result ? result : NZ_EIO;
            }
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            note(ops, CLI_WALK_SYMLINK, p, 0);
        } else if (S_ISDIR(st.st_mode)) {
            if (depth + 1 > CLI_WALK_MAX_DEPTH) {
                note(ops, CLI_WALK_TOO_DEEP, p, 0);
                continue;
            }
            int cfd = openat(f->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
            if (cfd < 0) {
                note(ops, errno == ELOOP || errno == ENOTDIR ? CLI_WALK_SYMLINK : CLI_WALK_UNREADABLE, p, errno);
                if (errno != ELOOP && errno != ENOTDIR)
                    result = result ? result : NZ_EIO;
                continue;
            }
            struct frame *c = &stack[depth + 1];
            c->fd = cfd;
            c->plen = plen;
            r = enter(w, ops, cfd, p);
            if (r == 1)
                r = frame_read(c);
            else if (r == 0)
                note(ops, CLI_WALK_SEEN, p, 0);
            if (r == NZ_ENOMEM) {
                result = r;
                goto out;
            }
            if (r == NZ_EIO) {
                note(ops, CLI_WALK_UNREADABLE, p, errno);
                result = result ? result : NZ_EIO;
            }
            if (c->n == 0) /* seen before, unreadable or empty */
                frame_free(c);
            else
                depth++;
        } else if (cli_capture_name(name)) {
            if (!S_ISREG(st.st_mode)) {
                note(ops, CLI_WALK_NOT_REGULAR, p, 0);
                continue;
            }
            if (ops->file && (r = ops->file(ops->ud, p, root_len, (uint64_t)st.st_dev, (uint64_t)st.st_ino,
                                            (uint64_t)st.st_size)) != 0) {
                result = r;
                goto out;
            }
        }
    }
out:
    for (int i = 0; i <= CLI_WALK_MAX_DEPTH; i++)
        frame_free(&stack[i]);
    free(stack);
    free(p);
    return result;
}
