/* dedup.h — content-hash deduplication of the capture files an `analyze` run reads.
 *
 * A file is known by its content hash in the store's files table (store.h, store_file_*):
 * BLAKE3 (engine/blake3.h; 32-byte digest, files.hash_alg 'blake3'), ~0.3 ns/byte on one core
 * with AVX-512, so hashing a file beside its analysis costs a few percent of the run's CPU even
 * when the analysis keeps every core busy. A cheap pre-key (size, first and last
 * DEDUP_QUICK_SPAN bytes) that was never seen proves a file new without reading it whole: its
 * content hash is then computed on another thread while the file is analysed (struct
 * dedup_job). Only a known pre-key costs a full hashing pass before the analysis.
 *
 * Older databases keep their rows as they were written, each found by the hash it used: rows of
 * schema v5/v6 hold BLAKE2b-256 (hash_alg 'blake2b-256', with a pre-key): when a file's pre-key
 * matches such a row, its BLAKE2b is computed and looked up as well. Rows from before v5 hold
 * SHA-256 and no pre-key (hash_alg NULL): while any exist, every file gets a SHA-256 pass.
 * Everything is read from the descriptor the analysis reads (pread), never from the path again,
 * so a file cannot be swapped between dedup and analysis. A file counts as analysed once its
 * run finished (dedup_finish_run). Decides; never prints: the caller says what happened. */
#ifndef NZ_ENGINE_DEDUP_H
#define NZ_ENGINE_DEDUP_H

#include <pthread.h>

#include "capture/source.h"
#include "store/store.h"

/* ---- hashing ---- */

/* The pre-key of a regular file: SHA-256 over its size (8 bytes, big-endian), its first and
 * its last DEDUP_QUICK_SPAN bytes. Equal files have equal keys. Returns 0, NZ_EUNSUPPORTED (a
 * stream), NZ_ENOMEM or NZ_EIO (errno says why). */
#define DEDUP_QUICK_SPAN (64u * 1024u)
int dedup_quickkey(struct cap_input *in, char hex[65] /* OUT */, uint64_t *size /* OUT */);

/* Content hash of a regular file, 64 lower-case hex digits + NUL, and the bytes hashed: BLAKE3
 * (what this code records), or BLAKE2b-256 / SHA-256 to find rows older code wrote. Read with
 * preads of DEDUP_READ_CHUNK bytes into one buffer: small enough to stay in the core's L2
 * cache between the copy from the page cache and the hash (larger reads measured slower), large
 * enough that the system calls do not count. Safe to run on another thread while a source reads
 * the same input. Returns 0, NZ_EUNSUPPORTED (a stream), NZ_EIO (errno says why) or NZ_ENOMEM. */
#define DEDUP_READ_CHUNK (256u * 1024u)
enum dedup_hash_alg { DEDUP_HASH_BLAKE3, DEDUP_HASH_BLAKE2B, DEDUP_HASH_SHA256 };
int dedup_hash(struct cap_input *in, enum dedup_hash_alg alg, char hex[65] /* OUT */, uint64_t *size /* OUT */);
/* Its name in files.hash_alg ("blake3", "blake2b-256", "sha256"; rows hold NULL for sha256). */
const char *dedup_hash_alg_name(enum dedup_hash_alg alg);

/* The content hash (BLAKE3) of a new file, computed on another thread while the analysis
 * reads it, so that the file is read from the page cache twice at most, never hashed before
 * the analysis starts. */
struct dedup_job {
    pthread_t tid;
    struct cap_input *in; /* borrowed */
    char hex[65];         /* OUT */
    uint64_t size;        /* OUT */
    int rc;               /* OUT: 0 or NZ_EIO/NZ_ENOMEM */
    bool started;
};
/* Starts the job; if no thread can be made, hashes right here. */
void dedup_job_start(struct dedup_job *j, struct cap_input *in);
/* Waits for it. Returns its rc. */
int dedup_job_join(struct dedup_job *j);

/* ---- the files of one run ---- */

struct dedup {
    struct store *st;              /* borrowed */
    bool force;                    /* --force: an earlier analysis is forgotten, not skipped */
    struct store_file_rec *recs;   /* files read; recorded only when the run ends */
    size_t nrec, caprec;
    bool streams;                  /* the run read standard input or a pipe (nothing to record) */
};
void dedup_init(struct dedup *d, struct store *st, bool force);
void dedup_free(struct dedup *d);
/* A file read earlier in this run with this pre-key (quick) or content hash, or NULL. */
const struct store_file_rec *dedup_find(const struct dedup *d, const char *quick, const char *hash);

/* Before a regular file is analysed. */
enum dedup_verdict {
    DEDUP_NEW,          /* analyse it (with --force: its earlier analysis was forgotten) */
    DEDUP_SAME_IN_RUN,  /* same content as `same`, read earlier in this run: skip */
    DEDUP_KNOWN,        /* analysed in run `prev` (same content hash: BLAKE3, or BLAKE2b for a
                           row written by schema v5/v6 code): skip */
    DEDUP_KNOWN_SHA256, /* analysed in run `prev` (same SHA-256, an older database): skip */
    DEDUP_EREAD,        /* the file cannot be read: rc (NZ_EIO: errnum) */
    DEDUP_EDB_LOOKUP,   /* database error while looking it up (store_errmsg) */
    DEDUP_EDB_FORGET    /* database error while forgetting its earlier analysis (--force) */
};
struct dedup_check {
    enum dedup_verdict verdict;
    int rc, errnum;                      /* DEDUP_EREAD */
    int64_t prev;                        /* DEDUP_KNOWN, DEDUP_KNOWN_SHA256 */
    const struct store_file_rec *same;   /* DEDUP_SAME_IN_RUN */
    char hash[65];                       /* content hash, when have_hash */
    char quick[65];                      /* pre-key (set unless the pre-key failed) */
    uint64_t size;                       /* bytes of the file (DEDUP_KNOWN_SHA256: as hashed) */
    bool have_hash;                      /* hash computed already (the pre-key was known) */
};
void dedup_check(struct dedup *d, struct cap_input *in, struct dedup_check *c /* OUT */);

/* After a regular file was analysed (to its end or its damage): takes the content hash from
 * `job` (started when !c->have_hash, else NULL) and adds the file to the run's list. */
enum dedup_result {
    DEDUP_ADDED,        /* recorded when the run finishes */
    DEDUP_EHASH,        /* the hash failed (*hrc): not recorded */
    DEDUP_CHANGED,      /* written to while it was read: its hash may not describe what was
                           analysed, so it is not recorded (a later run could skip what it
                           never saw) */
    DEDUP_ONCE,         /* same content as *same, read earlier in this run: recorded once */
    DEDUP_ENOMEM
};
enum dedup_result dedup_add(struct dedup *d, const char *path, struct cap_input *in, struct dedup_check *c,
                            struct dedup_job *job, const struct store_file_rec **same /* OUT */,
                            int *hrc /* OUT */);

/* Ends the run: store_file_finish_run() with the run's files (clash: d->nrec entries). */
int dedup_finish_run(struct dedup *d, int64_t run_id, const struct store_run_stats *stats,
                     int64_t *clash /* OUT */, enum store_finish *outcome /* OUT */);

#endif
