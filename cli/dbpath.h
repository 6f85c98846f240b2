/* dbpath.h — opening the database of `analyze` and `watch` without letting another local user
 * steer where it is written (netzwacht often runs as root).
 *
 * Policy:
 *  - Always: SQLITE_OPEN_NOFOLLOW (a symbolic link anywhere in the path is refused; SQLite opens
 *    -wal, -shm and -journal with O_NOFOLLOW anyway); a new database file is created by us with
 *    O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600 (its -wal/-shm inherit that mode); an existing one must
 *    be a regular file. SQLite URIs ("file:…") are refused: --db is a path.
 *  - As root (effective uid 0): every folder from / down to the database's folder is opened
 *    with O_DIRECTORY|O_NOFOLLOW and fstat'ed: each must belong to root and not be writable by
 *    group or others — except that a folder above the last may be sticky (/tmp: others cannot
 *    rename what root put there). The database's own folder may not be group/world-writable
 *    even with the sticky bit, because there anyone could create PATH-wal or PATH-shm first and
 *    SQLite would use them. An existing database file must belong to root. So nobody but root
 *    can swap a folder, plant a link or pre-create a file between this check and SQLite's open.
 *  - Not root (e.g. `watch --user U` after dropping privileges): the kernel's permission checks
 *    protect everyone else; with --user, a folder or file U cannot write is reported as such
 *    ("--user U cannot write PATH's folder F"). Nothing is ever chown'ed. */
#ifndef NZ_DBPATH_H
#define NZ_DBPATH_H

#include "store/store.h"

/* Checks and opens the database at `path` as described above. `user` is the --user name that
 * privileges were dropped to, for messages (NULL if none). Returns the store, or NULL with the
 * reason logged and *err = NZ_EIO (refused or not writable) or store_open_ex's error. */
struct store *cli_db_open(const char *path, const char *user, const struct nz_log *log, int *err /* OUT */);

#endif
