/* fuzz_walk.c — libFuzzer target for the folder walk (cli/walk.c).
 *
 * Each input builds a small tree in a fresh temporary folder, walks it with cli_walk() and
 * removes it. The input is a list of operations, one byte each plus argument bytes:
 *   0 mkdir NAME            in the current folder
 *   1 capture file NAME     a regular file (NAME from the table, some with capture names)
 *   2 symlink NAME -> T     T from a table: ".", "..", "../..", "/", "/etc", the root, a
 *                           folder made earlier (absolute), a dangling target, a sibling
 *   3 FIFO NAME.pcap        (the walk must never open it: that would block)
 *   4 cd FOLDER             any folder made so far
 *   5 chain N               N (0..95) nested folders below the current one, a capture file
 *                           in the deepest, and the deepest becomes current
 *   6 plain file "x.txt"
 *   7 second root           the walk of the tree is repeated with this struct cli_walk and
 *                           a link to the root: it must not enter anything again
 * The target aborts when an invariant breaks:
 *   - no folder is entered twice, by (device, inode), over all walks of one struct cli_walk;
 *   - every folder entered is a real folder of the tree (never reached through a link) at
 *     most CLI_WALK_MAX_DEPTH levels below the root;
 *   - the files reported are exactly the regular, capture-named, not hidden files made in
 *     folders the walk may enter, each once;
 *   - the walk terminates (a loop would hit libFuzzer's -timeout). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

#define MAX_DIRS 256
#define MAX_FILES 512

struct tdir {
    char rel[PATH_MAX];   /* relative to the root, "" for the root */
    int depth;            /* levels below the root */
    bool hidden;          /* itself or an ancestor starts with '.' */
    uint64_t dev, ino;
};

struct tree {
    char root[64];
    struct tdir dirs[MAX_DIRS];
    int ndirs;
    char *want[MAX_FILES];     /* absolute paths the walk must report */
    int nwant;
    bool got[MAX_FILES];
    /* seen during the walks */
    uint64_t seen_dev[MAX_DIRS * 2], seen_ino[MAX_DIRS * 2];
    int nseen;
};

static const char *const names[] = {
    "a", "b", "c.pcap", "d.pcapng", "e.cap", "f.pcap.gz", "G.PCAP", ".hidden", "h.pcapng.gz", "x.txt",
    "sub", "\x1b[2J\x07.pcap", "\xc3\xbc.pcap", ".h.pcap", "pcap", "i.cap.gz",
};
#define NNAMES (sizeof names / sizeof names[0])

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(p);
    else
        unlink(p);
    return 0;
}

static void abs_path(const struct tree *t, const struct tdir *d, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s%s%s", t->root, d->rel[0] ? "/" : "", d->rel, name ? "/" : "", name ? name : "");
}

static int add_dir(struct tree *t, const struct tdir *parent, const char *name)
{
    if (t->ndirs >= MAX_DIRS)
        return -1;
    struct tdir *d = &t->dirs[t->ndirs];
    int n = snprintf(d->rel, sizeof d->rel, "%s%s%s", parent->rel, parent->rel[0] ? "/" : "", name);
    if (n < 0 || (size_t)n >= sizeof d->rel - 64)
        return -1;
    char p[PATH_MAX + 64];
    abs_path(t, d, NULL, p, sizeof p);
    if (mkdir(p, 0700) != 0)
        return -1;
    struct stat st;
    if (lstat(p, &st) != 0)
        abort();
    d->depth = parent->depth + 1;
    d->hidden = parent->hidden || name[0] == '.';
    d->dev = (uint64_t)st.st_dev;
    d->ino = (uint64_t)st.st_ino;
    return t->ndirs++;
}

static void add_file(struct tree *t, const struct tdir *d, const char *name)
{
    char p[PATH_MAX + 64];
    abs_path(t, d, name, p, sizeof p);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    close(fd);
    /* The walk enters folders down to CLI_WALK_MAX_DEPTH levels and lists their files. */
    if (cli_capture_name(name) && name[0] != '.' && !d->hidden && d->depth <= CLI_WALK_MAX_DEPTH &&
        t->nwant < MAX_FILES)
        t->want[t->nwant++] = strdup(p);
}

static int on_file(void *ud, const char *path, size_t root_len, uint64_t dev, uint64_t ino, uint64_t size)
{
    struct tree *t = ud;
    (void)dev;
    (void)ino;
    (void)size;
    if (root_len != strlen(t->root) || strncmp(path, t->root, root_len) != 0)
        abort();
    for (int i = 0; i < t->nwant; i++) {
        if (strcmp(t->want[i], path) == 0) {
            if (t->got[i]) /* reported twice */
                abort();
            t->got[i] = true;
            return 0;
        }
    }
    abort(); /* a file that is not in the tree's reachable set */
}

static void on_dir(void *ud, const char *path, uint64_t dev, uint64_t ino)
{
    struct tree *t = ud;
    for (int i = 0; i < t->nseen; i++)
        if (t->seen_dev[i] == dev && t->seen_ino[i] == ino)
            abort(); /* entered twice */
    if (t->nseen >= MAX_DIRS * 2)
        abort();
    t->seen_dev[t->nseen] = dev;
    t->seen_ino[t->nseen] = ino;
    t->nseen++;
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || (uint64_t)st.st_ino != ino)
        abort(); /* reached through a link */
    for (int i = 0; i < t->ndirs; i++)
        if (t->dirs[i].dev == dev && t->dirs[i].ino == ino) {
            if (t->dirs[i].depth > CLI_WALK_MAX_DEPTH || t->dirs[i].hidden)
                abort();
            return;
        }
    abort(); /* a folder outside the tree */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512)
        return 0;
    struct tree *t = calloc(1, sizeof *t);
    if (!t)
        return 0;
    const char *tmp = getenv("TMPDIR"); /* else /dev/shm: ten times the speed of a disk */
    if (!tmp || strlen(tmp) >= 40)
        tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(t->root, sizeof t->root, "%s/nzfw-XXXXXX", tmp);
    if (!mkdtemp(t->root)) {
        free(t);
        return 0;
    }
    struct stat st;
    if (lstat(t->root, &st) != 0)
        abort();
    t->dirs[0].rel[0] = '\0';
    t->dirs[0].dev = (uint64_t)st.st_dev;
    t->dirs[0].ino = (uint64_t)st.st_ino;
    t->ndirs = 1;
    int cur = 0;
    bool second = false;
    char p[PATH_MAX + 64];

    for (size_t i = 0; i < size;) {
        uint8_t op = data[i++] % 8;
        uint8_t arg = i < size ? data[i++] : 0;
        const char *name = names[arg % NNAMES];
        struct tdir *d = &t->dirs[cur];
        switch (op) {
        case 0:
            add_dir(t, d, name);
            break;
        case 1:
            add_file(t, d, name);
            break;
        case 2: {
            uint8_t which = i < size ? data[i++] : 0;
            char target[PATH_MAX + 64];
            switch (which % 9) {
            case 0: snprintf(target, sizeof target, "."); break;
            case 1: snprintf(target, sizeof target, ".."); break;
            case 2: snprintf(target, sizeof target, "../.."); break;
            case 3: snprintf(target, sizeof target, "/"); break;
            case 4: snprintf(target, sizeof target, "/etc"); break;
            case 5: snprintf(target, sizeof target, "%s", t->root); break;
            case 6: abs_path(t, &t->dirs[which % t->ndirs], NULL, target, sizeof target); break;
            case 7: snprintf(target, sizeof target, "nonexistent.pcap"); break;
            default: snprintf(target, sizeof target, "%s", names[which % NNAMES]); break;
            }
            abs_path(t, d, name, p, sizeof p);
            if (symlink(target, p) != 0 && errno != EEXIST)
                break;
            break;
        }
        case 3: {
            char fname[64];
            snprintf(fname, sizeof fname, "%.20s.pcap", name);
            abs_path(t, d, fname, p, sizeof p);
            mkfifo(p, 0600);
            break;
        }
        case 4:
            cur = arg % t->ndirs;
            break;
        case 5: {
            int n = arg % 96, at = cur;
            for (int k = 0; k < n; k++) {
                int nd = add_dir(t, &t->dirs[at], k % 2 ? "q" : "r");
                if (nd < 0)
                    break;
                at = nd;
            }
            add_file(t, &t->dirs[at], "deep.pcap");
            cur = at;
            break;
        }
        case 6:
            add_file(t, d, "x.txt");
            break;
        default:
            second = true;
            break;
        }
    }

    struct cli_walk *w = cli_walk_new();
    if (!w)
        abort();
    struct cli_walk_ops ops = {t, on_file, on_dir, NULL};
    int rc = cli_walk(w, t->root, &ops);
    if (rc != 0 && rc != NZ_EIO)
        abort();
    for (int i = 0; i < t->nwant; i++)
        if (!t->got[i])
            abort(); /* a reachable capture file the walk missed */
    if (second) {
        /* The same tree again (and through a link named like a command-line argument): every
         * folder was entered already, so nothing is reported and nothing entered. */
        int before = t->nseen;
        char link[PATH_MAX + 64];
        snprintf(link, sizeof link, "%s.lnk", t->root);
        if (symlink(t->root, link) == 0) {
            struct cli_walk_ops none = {t, NULL, on_dir, NULL};
            if (cli_walk(w, link, &none) != 0 || t->nseen != before)
                abort();
            unlink(link);
        }
    }
    cli_walk_free(w);

    nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    for (int i = 0; i < t->nwant; i++)
        free(t->want[i]);
    free(t);
    return 0;
}
