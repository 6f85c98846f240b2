/* dbpath.c — the database path policy of analyze and watch. See dbpath.h. */
#include "cli/dbpath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DBPATH_COMPONENTS_MAX 256

/* Splits path into its folder ("." if none) and file name. False if it names no file. */
static bool split_path(const char *path, char *folder, size_t fcap, const char **base)
{
    const char *slash = strrchr(path, '/');
    const char *b = slash ? slash + 1 : path;
    if (!*b || strcmp(b, ".") == 0 || strcmp(b, "..") == 0)
        return false;
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (!slash) {
        snprintf(folder, fcap, ".");
    } else if (n == 0) {
        snprintf(folder, fcap, "/");
    } else {
        if (n >= fcap)
            return false;
        memcpy(folder, path, n);
        folder[n] = '\0';
    }
    *base = b;
    return true;
}

/* Root only: opens `folder` by walking from / without following links, checking that only root
 * can change each folder on the way. Returns a directory fd or -1 (reason logged). */
static int root_folder_open(const char *path, const char *folder, const struct nz_log *log)
{
    char abs[PATH_MAX * 2];
    if (folder[0] == '/') {
        snprintf(abs, sizeof abs, "%s", folder);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) {
            nz_logf(log, NZ_LOG_ERR, "--db %s: cannot resolve the current folder: %s", path, strerror(errno));
            return -1;
        }
        snprintf(abs, sizeof abs, "%s/%s", cwd, folder);
    }
    /* Textual "." and ".." are fine: no component may be a link (checked below, and SQLite's
     * NOFOLLOW refuses one anywhere). */
    const char *comp[DBPATH_COMPONENTS_MAX];
    size_t nc = 0;
    for (char *save = NULL, *c = strtok_r(abs, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            if (nc)
                nc--;
            continue;
        }
        if (nc == DBPATH_COMPONENTS_MAX) {
            nz_logf(log, NZ_LOG_ERR, "--db %s: too many folders in the path", path);
            return -1;
        }
        comp[nc++] = c;
    }
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char shown[PATH_MAX * 2] = "/";
    size_t sl = 1;
    for (size_t i = 0; fd >= 0; i++) {
        struct stat st;
        bool last = i == nc;
        if (fstat(fd, &st) != 0) {
            nz_logf(log, NZ_LOG_ERR, "--db %s: cannot inspect %s: %s", path, shown, strerror(errno));
            break;
        }
        if (st.st_uid != 0) {
            nz_logf(log, NZ_LOG_ERR,
                    "--db %s: refused: %s belongs to uid %lu, who could swap it or plant links in it; as root, "
                    "netzwacht writes its database only below folders that only root can change (choose such a "
                    "folder, or let another user's folder be written by that user: watch --user)",
                    path, shown, (unsigned long)st.st_uid);
            break;
        }
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) && (last || !(st.st_mode & S_ISVTX))) {
            nz_logf(log, NZ_LOG_ERR,
                    "--db %s: refused: %s is writable by %s%s; as root, netzwacht writes its database only in a "
                    "folder that only root can change (others could plant links or pre-create %s-wal/-shm)",
                    path, shown, (st.st_mode & S_IWOTH) ? "everyone" : "its group",
                    (st.st_mode & S_ISVTX) ? " (sticky)" : "", path);
            break;
        }
        if (last)
            return fd;
        int nfd = openat(fd, comp[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        sl += (size_t)snprintf(shown + sl, sizeof shown - sl, "%s%s", sl > 1 ? "/" : "", comp[i]);
        if (sl >= sizeof shown)
            sl = sizeof shown - 1;
        close(fd);
        fd = nfd;
        if (fd < 0)
            nz_logf(log, NZ_LOG_ERR, "--db %s: cannot open folder %s: %s%s", path, shown, strerror(e),
                    e == ELOOP || e == ENOTDIR ? " (as root, links are not followed: give the real path)" : "");
    }
    if (fd >= 0)
        close(fd);
    return -1;
}

struct store *cli_db_open(const char *path, const char *user, const struct nz_log *log, int *err)
{
    char folder[PATH_MAX];
    const char *base = NULL;
    *err = NZ_EIO;
    if (!path || !*path) {
        nz_logf(log, NZ_LOG_ERR, "--db: empty path");
        return NULL;
    }
    if (strcmp(path, ":memory:") == 0)
        return store_open_ex(path, STORE_OPEN_NOFOLLOW, log, err);
    if (strncmp(path, "file:", 5) == 0) {
        nz_logf(log, NZ_LOG_ERR, "--db %s: SQLite URIs are not accepted; give a path", path);
        return NULL;
    }
    if (!split_path(path, folder, sizeof folder, &base)) {
        nz_logf(log, NZ_LOG_ERR, "--db %s: does not name a file", path);
        return NULL;
    }
    bool root = geteuid() == 0;
    int dfd;
    if (root) {
        dfd = root_folder_open(path, folder, log);
    } else {
        dfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 && user) {
            nz_logf(log, NZ_LOG_ERR, "--user %s cannot write %s's folder %s: %s", user, path, folder,
                    strerror(errno));
        } else if (dfd < 0) {
            nz_logf(log, NZ_LOG_ERR, "--db %s: cannot open folder %s: %s", path, folder, strerror(errno));
        } else if (user && faccessat(dfd, ".", W_OK | X_OK, 0) != 0) {
            nz_logf(log, NZ_LOG_ERR, "--user %s cannot write %s's folder %s: %s", user, path, folder,
                    strerror(errno));
            close(dfd);
            dfd = -1;
        }
    }
    if (dfd < 0)
        return NULL;
    /* A new database is created here, 0600 and exclusively (SQLite would use 0644 & ~umask);
     * an existing one is checked without following a link. */
    int fd = openat(dfd, base, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    bool ok = true;
    if (fd >= 0) {
        close(fd);
    } else if (errno != EEXIST) {
        if (user)
            nz_logf(log, NZ_LOG_ERR, "--user %s cannot write %s's folder %s: %s", user, path, folder,
                    strerror(errno));
        else
            nz_logf(log, NZ_LOG_ERR, "--db %s: cannot create it: %s", path, strerror(errno));
        ok = false;
    } else {
        struct stat st;
        if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            nz_logf(log, NZ_LOG_ERR, "--db %s: cannot inspect it: %s", path, strerror(errno));
            ok = false;
        } else if (S_ISLNK(st.st_mode)) {
            nz_logf(log, NZ_LOG_ERR, "--db %s: refused: it is a symbolic link (netzwacht does not follow links "
                    "to its database; give the real path)", path);
            ok = false;
        } else if (!S_ISREG(st.st_mode)) {
            nz_logf(log, NZ_LOG_ERR, "--db %s: refused: not a regular file", path);
            ok = false;
        } else if (root && st.st_uid != 0) {
            nz_logf(log, NZ_LOG_ERR, "--db %s: refused: it belongs to uid %lu; as root, netzwacht does not write "
                    "into another user's database (run as that user, e.g. watch --user)", path,
                    (unsigned long)st.st_uid);
            ok = false;
        } else if (user && !root && faccessat(dfd, base, R_OK | W_OK, 0) != 0) {
            nz_logf(log, NZ_LOG_ERR, "--user %s cannot write %s: %s", user, path, strerror(errno));
            ok = false;
        }
    }
    close(dfd);
    if (!ok)
        return NULL;
    return store_open_ex(path, STORE_OPEN_NOFOLLOW, log, err);
}
