/* dedup.c — content-hash deduplication of capture files. See dedup.h. */
#include "engine/dedup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/blake2.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "engine/blake3.h"

/* ---- hashing ---- */

static void to_hex(const unsigned char *dig, size_t n, char *hex)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = hx[dig[i] >> 4];
        hex[2 * i + 1] = hx[dig[i] & 15];
    }
    hex[2 * n] = '\0';
}

int dedup_quickkey(struct cap_input *in, char hex[65], uint64_t *size)
{
    if (cap_input_is_stream(in))
        return NZ_EUNSUPPORTED;
    int fd = cap_input_fd(in);
    uint64_t sz = cap_input_size(in);
    wc_Sha256 sha;
    if (wc_InitSha256(&sha) != 0)
        return NZ_EIO;
    unsigned char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)(sz >> (56 - 8 * i));
    wc_Sha256Update(&sha, be, sizeof be);
    static const size_t span = DEDUP_QUICK_SPAN;
    unsigned char *buf = malloc(span);
    int rc = buf ? 0 : NZ_ENOMEM;
    size_t n = 0;
    int e = 0;
    if (!rc && cap_pread_full(fd, buf, span, 0, &n) != 0)
        rc = NZ_EIO, e = errno;
    if (!rc) {
        wc_Sha256Update(&sha, buf, (word32)n);
        if (sz > span) {
            uint64_t tail = sz - span < span ? sz - span : span; /* never re-read the head */
            if (cap_pread_full(fd, buf, (size_t)tail, sz - tail, &n) != 0)
                rc = NZ_EIO, e = errno;
            else
                wc_Sha256Update(&sha, buf, (word32)n);
        }
    }
    unsigned char dig[WC_SHA256_DIGEST_SIZE];
    wc_Sha256Final(&sha, dig);
    wc_Sha256Free(&sha);
    free(buf);
    if (rc) {
        errno = e; /* for the caller's message */
        return rc;
    }
    to_hex(dig, sizeof dig, hex);
    *size = sz;
    return 0;
}

const char *dedup_hash_alg_name(enum dedup_hash_alg alg)
{
    switch (alg) {
    case DEDUP_HASH_BLAKE3:
        return STORE_FILE_HASH_ALG;
    case DEDUP_HASH_BLAKE2B:
        return "blake2b-256";
    case DEDUP_HASH_SHA256:
        return "sha256";
    }
    return "?";
}

/* One of the three hashes, behind one interface. */
struct anyhash {
    enum dedup_hash_alg alg;
    union {
        struct nz_b3 b3;
        Blake2b b2;
        wc_Sha256 sha;
    } u;
};

static int anyhash_init(struct anyhash *h, enum dedup_hash_alg alg)
{
    h->alg = alg;
    switch (alg) {
    case DEDUP_HASH_BLAKE3:
        nz_b3_init(&h->u.b3);
        return 0;
    case DEDUP_HASH_BLAKE2B:
        return wc_InitBlake2b(&h->u.b2, WC_SHA256_DIGEST_SIZE) == 0 ? 0 : NZ_EIO;
    case DEDUP_HASH_SHA256:
        return wc_InitSha256(&h->u.sha) == 0 ? 0 : NZ_EIO;
    }
    return NZ_EUSAGE;
}

/* len <= DEDUP_READ_CHUNK. */
static int anyhash_update(struct anyhash *h, const unsigned char *p, size_t len)
{
    switch (h->alg) {
    case DEDUP_HASH_BLAKE3:
        nz_b3_update(&h->u.b3, p, len);
        return 0;
    case DEDUP_HASH_BLAKE2B:
        return wc_Blake2bUpdate(&h->u.b2, p, (word32)len) == 0 ? 0 : NZ_EIO;
    case DEDUP_HASH_SHA256:
        return wc_Sha256Update(&h->u.sha, p, (word32)len) == 0 ? 0 : NZ_EIO;
    }
    return NZ_EUSAGE;
}

/* Writes the 32-byte digest and releases the state (also after a failure). */
static int anyhash_final(struct anyhash *h, unsigned char dig[32])
{
    int rc = 0;
    switch (h->alg) {
    case DEDUP_HASH_BLAKE3:
        nz_b3_final(&h->u.b3, dig);
        break;
    case DEDUP_HASH_BLAKE2B:
        rc = wc_Blake2bFinal(&h->u.b2, dig, WC_SHA256_DIGEST_SIZE) == 0 ? 0 : NZ_EIO;
        break;
    case DEDUP_HASH_SHA256:
        rc = wc_Sha256Final(&h->u.sha, dig) == 0 ? 0 : NZ_EIO;
        wc_Sha256Free(&h->u.sha);
        break;
    }
    return rc;
}

/* Hashes the whole file from offset 0 with DEDUP_READ_CHUNK preads into one buffer. */
int dedup_hash(struct cap_input *in, enum dedup_hash_alg alg, char hex[65], uint64_t *size)
{
    if (cap_input_is_stream(in))
        return NZ_EUNSUPPORTED;
    int fd = cap_input_fd(in);
    struct anyhash *h = malloc(sizeof *h);
    unsigned char *buf = malloc(DEDUP_READ_CHUNK);
    if (!h || !buf) {
        free(h);
        free(buf);
        return NZ_ENOMEM;
    }
    int rc = anyhash_init(h, alg);
    if (rc) {
        free(h);
        free(buf);
        return rc;
    }
    uint64_t total = 0;
    int e = 0;
    for (;;) {
        size_t n = 0;
        if (cap_pread_full(fd, buf, DEDUP_READ_CHUNK, total, &n) != 0) {
            rc = NZ_EIO;
            e = errno;
            break;
        }
        if (n > 0 && (rc = anyhash_update(h, buf, n)) != 0)
            break;
        total += n;
        if (n < DEDUP_READ_CHUNK)
            break;
    }
    unsigned char dig[32];
    int frc = anyhash_final(h, dig);
    rc = rc ? rc : frc;
    free(h);
    free(buf);
    if (rc) {
        errno = e; /* for the caller's message */
        return rc;
    }
    to_hex(dig, sizeof dig, hex);
    *size = total;
    return 0;
}

static void *job_thread(void *arg)
{
    struct dedup_job *j = arg;
    j->rc = dedup_hash(j->in, DEDUP_HASH_BLAKE3, j->hex, &j->size);
    return NULL;
}

void dedup_job_start(struct dedup_job *j, struct cap_input *in)
{
    memset(j, 0, sizeof *j);
    j->in = in;
    j->started = pthread_create(&j->tid, NULL, job_thread, j) == 0;
    if (!j->started)
        job_thread(j);
}

int dedup_job_join(struct dedup_job *j)
{
    if (j->started)
        pthread_join(j->tid, NULL);
    j->started = false;
    return j->rc;
}

/* ---- the files of one run ---- */

void dedup_init(struct dedup *d, struct store *st, bool force)
{
    memset(d, 0, sizeof *d);
    d->st = st;
    d->force = force;
}

void dedup_free(struct dedup *d)
{
    free(d->recs);
    d->recs = NULL;
    d->nrec = d->caprec = 0;
}

const struct store_file_rec *dedup_find(const struct dedup *d, const char *quick, const char *hash)
{
    for (size_t i = 0; i < d->nrec; i++)
        if ((quick && strcmp(d->recs[i].quick, quick) == 0) || (hash && strcmp(d->recs[i].hash, hash) == 0))
            return &d->recs[i];
    return NULL;
}

static int rec_add(struct dedup *d, const char *path, const char *hash, const char *quick, uint64_t size)
{
    if (d->nrec == d->caprec) {
        size_t nc = d->caprec ? d->caprec * 2 : 16;
        struct store_file_rec *nv = realloc(d->recs, nc * sizeof *nv);
        if (!nv)
            return NZ_ENOMEM;
        d->recs = nv;
        d->caprec = nc;
    }
    struct store_file_rec *e = &d->recs[d->nrec++];
    memset(e, 0, sizeof *e);
    e->path = path;
    snprintf(e->hash, sizeof e->hash, "%s", hash);
    snprintf(e->quick, sizeof e->quick, "%s", quick);
    e->size = size;
    return 0;
}

/* Notes why (rc; errno when it is NZ_EIO) and returns v. */
static enum dedup_verdict verdict(struct dedup_check *c, enum dedup_verdict v, int rc)
{
    c->rc = rc;
    c->errnum = rc == NZ_EIO ? errno : 0;
    return v;
}

/* A database from before schema v5 identifies its files by SHA-256 and has no pre-keys:
 * checks those rows too (slower, only for such databases). Returns true when decided. */
static bool check_legacy(struct dedup *d, struct cap_input *in, struct dedup_check *c, enum dedup_verdict *v)
{
    int64_t legacy = 0, prev = 0;
    char legacy_sha[65] = "";
    uint64_t lsize = 0;
    if (store_file_legacy_count(d->st, &legacy) != 0 || legacy <= 0 ||
        dedup_hash(in, DEDUP_HASH_SHA256, legacy_sha, &lsize) != 0 ||
        store_file_lookup(d->st, legacy_sha, &prev) != 0 || !prev)
        return false;
    if (!d->force) {
        c->prev = prev;
        c->size = lsize;
        *v = verdict(c, DEDUP_KNOWN_SHA256, 0);
        return true;
    }
    if (store_file_forget(d->st, legacy_sha) != 0) {
        *v = verdict(c, DEDUP_EDB_FORGET, NZ_EDB);
        return true;
    }
    return false;
}

/* The row with the content hash `hash` (already computed) decides: known, or forgotten with
 * --force. Returns true when it decided *v; false when there is no such row (or it was
 * forgotten). */
static bool check_row(struct dedup *d, const char *hash, struct dedup_check *c, enum dedup_verdict *v)
{
    int64_t prev = 0;
    if (store_file_lookup(d->st, hash, &prev) != 0) {
        *v = verdict(c, DEDUP_EDB_LOOKUP, NZ_EDB);
        return true;
    }
    c->prev = prev;
    if (!prev)
        return false;
    if (!d->force) {
        *v = verdict(c, DEDUP_KNOWN, 0);
        return true;
    }
    if (store_file_forget(d->st, hash) != 0) {
        *v = verdict(c, DEDUP_EDB_FORGET, NZ_EDB);
        return true;
    }
    return false;
}

static enum dedup_verdict check(struct dedup *d, struct cap_input *in, struct dedup_check *c)
{
    enum dedup_verdict v;
    int rc;
    unsigned algs = 0;
    if ((rc = dedup_quickkey(in, c->quick, &c->size)) != 0)
        return verdict(c, DEDUP_EREAD, rc);
    if (store_file_quick_algs(d->st, c->quick, &algs) != 0)
        return verdict(c, DEDUP_EDB_LOOKUP, NZ_EDB);
    if (algs || dedup_find(d, c->quick, NULL)) {
        /* Our own hash first: what this run records, and what it finds duplicates by. */
        if ((rc = dedup_hash(in, DEDUP_HASH_BLAKE3, c->hash, &c->size)) != 0)
            return verdict(c, DEDUP_EREAD, rc);
        c->have_hash = true;
        if ((c->same = dedup_find(d, NULL, c->hash)) != NULL)
            return verdict(c, DEDUP_SAME_IN_RUN, 0);
    }
    if (check_legacy(d, in, c, &v))
        return v;
    if (!c->have_hash)
        return verdict(c, DEDUP_NEW, 0);
    if (check_row(d, c->hash, c, &v))
        return v;
    if (algs & STORE_ALG_BLAKE2B) {
        /* A row with this pre-key was written by schema v5/v6 code (BLAKE2b-256): that row is
         * found by the hash it used. */
        char b2[65];
        uint64_t b2size = 0;
        if ((rc = dedup_hash(in, DEDUP_HASH_BLAKE2B, b2, &b2size)) != 0)
            return verdict(c, DEDUP_EREAD, rc);
        if (check_row(d, b2, c, &v))
            return v;
    }
    return verdict(c, DEDUP_NEW, 0);
}

void dedup_check(struct dedup *d, struct cap_input *in, struct dedup_check *c)
{
    memset(c, 0, sizeof *c);
    c->verdict = check(d, in, c);
}

enum dedup_result dedup_add(struct dedup *d, const char *path, struct cap_input *in, struct dedup_check *c,
                            struct dedup_job *job, const struct store_file_rec **same, int *hrc)
{
    *same = NULL;
    *hrc = 0;
    if (!c->have_hash && job) {
        *hrc = dedup_job_join(job);
        memcpy(c->hash, job->hex, sizeof job->hex);
        c->size = job->size;
    }
    if (*hrc != 0)
        return DEDUP_EHASH;
    *same = dedup_find(d, NULL, c->hash);
    if (cap_input_changed(in))
        return DEDUP_CHANGED;
    if (*same)
        return DEDUP_ONCE;
    return rec_add(d, path, c->hash, c->quick, c->size) != 0 ? DEDUP_ENOMEM : DEDUP_ADDED;
}

int dedup_finish_run(struct dedup *d, int64_t run_id, const struct store_run_stats *stats, int64_t *clash,
                     enum store_finish *outcome)
{
    return store_file_finish_run(d->st, run_id, stats, d->recs, d->nrec, d->force, d->streams, clash, outcome);
}
