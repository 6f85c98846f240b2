/* dump.h — `--dump-streams DIR`: every flow's reassembled byte streams as files
 * DIR/<flow>-c2s.bin and DIR/<flow>-s2c.bin (for debugging and for the tests, which compare them
 * with tshark's). netzwacht often runs as root and these files hold what went over the wire,
 * credentials included, so:
 *  - DIR must not exist: it is created with mkdir(DIR, 0700), so nobody else can have prepared
 *    it or anything in it, and kept open as a directory descriptor (O_DIRECTORY|O_NOFOLLOW)
 *    that is checked after opening (a directory, ours, no access for group or others). Every
 *    file is made relative to that descriptor, never through the path again.
 *  - A file is created with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600; an existing name (one this
 *    run made earlier, since nobody else can write into DIR) is reopened O_APPEND|O_NOFOLLOW|
 *    O_NONBLOCK. After every open the file must be a regular file owned by us with one link.
 *  - At most DUMP_FDS_MAX files are open at once (least recently written closed first).
 *  - A failure (disk full, an unexpected file) is counted and logged once; it never stops the
 *    analysis. dump_close() logs the count.
 * No global state. */
#ifndef NZ_DUMP_H
#define NZ_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "core/nz.h"

#define DUMP_FDS_MAX 16 /* open dump files kept at once; flows interleave, most end soon */

struct stream_dump;

/* Creates DIR (see above) and returns the dump in *out. Returns 0; NZ_EUSAGE when DIR exists or
 * names no new folder ("", ".", "..", "/"); NZ_EIO when it cannot be created or was replaced
 * before it could be opened; NZ_ENOMEM. The reason is written to msg (cap bytes). `log` is
 * borrowed for the dump's lifetime (may be NULL). */
int dump_open(const char *dir, const struct nz_log *log, struct stream_dump **out, char *msg, size_t cap);

/* Appends n bytes of flow `flow_id`, direction `dir` (0 client→server, 1 server→client).
 * NULL d is a no-op, so callers need no test. Never fails: failures are counted. */
void dump_write(struct stream_dump *d, uint64_t flow_id, int dir, const uint8_t *p, size_t n);

/* Writes that failed so far. */
uint64_t dump_failures(const struct stream_dump *d);

/* Closes every file and the folder, logs the failure count if any. NULL is a no-op. */
void dump_close(struct stream_dump *d);

#endif
