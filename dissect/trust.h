/* trust.h — does a server's certificate chain verify to a trust store, at packet time?
 *
 * A trust store is a set of anchors (CA certificates) read once from PEM/DER files
 * (`--ca-file`, `--ca-path`, default the system bundle) and then shared read-only by every
 * worker. trust_verify() builds the certification path the way a TLS client does (RFC 5280
 * §6.1, simplified; RFC 4158 path building without AIA fetching): from the leaf, each issuer is
 * looked up first among the anchors, then among the certificates the server sent (in any
 * order), matched by the issuer/subject Name and confirmed by checking the signature with the
 * candidate's key. The validity of every certificate on the path, the anchor included, is
 * judged at the packet's time, never the machine's clock.
 *
 * Not checked (a passive observer cannot, or it does not change the verdict a mail or web
 * client reaches): revocation (CRL/OCSP), name constraints, policies, key usage of the issuers
 * beyond basicConstraints cA, path length constraints, AIA fetching of missing intermediates.
 *
 * Each worker has its own struct trust_cache: the signature work of a chain (its path and
 * which signatures verify) is remembered by the chain's hash, so a chain seen again costs a
 * lookup and the date checks. The cache changes only the cost, never the answer. */
#ifndef NZ_TRUST_H
#define NZ_TRUST_H

#include "core/limits.h"
#include "core/nz.h"

#define TRUST_CHAIN_MAX 10u        /* certificates of one Certificate message judged (more are
                                      counted, not read: the path must be within these) */
#define TRUST_DETAIL_MAX 320u      /* evidence text incl. NUL */

struct nz_log;
struct trust_store;
struct trust_cache;

enum trust_status {
    TRUST_UNCHECKED = 0,  /* no trust store, no certificate, or one wolfSSL cannot read */
    TRUST_TRUSTED = 1,    /* the path ends at an anchor, every signature and date holds */
    TRUST_UNTRUSTED = 2   /* reason says why */
};

enum trust_reason {
    TR_NONE = 0,
    TR_NO_STORE,               /* unchecked: no trust store loaded */
    TR_UNREADABLE,             /* unchecked: a certificate on the path wolfSSL cannot read
                                  (e.g. an unknown key or signature algorithm) */
    TR_MISSING_INTERMEDIATE,   /* the issuer of a non-self-issued certificate was neither sent
                                  nor is it an anchor (an intermediate the server should send,
                                  or a CA nobody trusts: a passive view cannot tell which) */
    TR_UNKNOWN_CA,             /* the path ends at a self-signed CA that is not an anchor */
    TR_SELF_SIGNED,            /* the leaf alone, self-signed, not an anchor */
    TR_BAD_SIGNATURE,          /* a certificate with the issuer's name whose key does not
                                  verify the signature (e.g. a re-keyed intermediate) */
    TR_ISSUER_NOT_CA,          /* the issuer found is not a CA (basicConstraints) */
    TR_CHAIN_TOO_LONG,         /* more than TRUST_CHAIN_MAX steps */
    TR_EXPIRED_INTERMEDIATE,   /* an issuer on the path had expired at packet time */
    TR_INTERMEDIATE_NOT_YET_VALID,
    TR_EXPIRED_ROOT,           /* the anchor had expired at packet time */
    TR_LEAF_EXPIRED,           /* the path holds, but the leaf had expired (tls.cert_expired) */
    TR_LEAF_NOT_YET_VALID,     /* ... or was not yet valid */
    TR_REASON_COUNT
};

struct trust_result {
    uint8_t status;            /* enum trust_status */
    uint8_t reason;            /* enum trust_reason */
    uint8_t path_len;          /* certificates on the path from the leaf, anchor excluded */
    bool anchor_sent;          /* the anchor itself was in the chain the server sent */
    bool cached;               /* the signature work came from the cache */
    char anchor_cn[64];        /* the anchor's subject CN ("" if none) */
    char detail[TRUST_DETAIL_MAX]; /* one sentence for the evidence: which certificate, why */
};

/* Reads anchors from a PEM bundle or a DER file (file) and/or every regular file of a folder
 * (dir; links inside it are followed, the folder is the administrator's). Either may be NULL.
 * Certificates are deduplicated by their SHA-256; PEM blocks other than CERTIFICATE are
 * skipped, unreadable ones counted. Returns 0 and *out, NZ_EIO (a named file or folder cannot
 * be read; err says which), NZ_EMALFORMED (not one anchor found), NZ_ENOMEM. */
int trust_store_load(const char *file, const char *dir, struct trust_store **out /* OUT */,
                     char *err, size_t errcap);
/* The same over a buffer (a PEM bundle or one DER certificate): for tests and fuzzing. */
int trust_store_load_buffer(const void *buf, size_t n, struct trust_store **out /* OUT */, char *err,
                            size_t errcap);
void trust_store_free(struct trust_store *ts);
size_t trust_store_count(const struct trust_store *ts);
/* Certificates the loader could not read (skipped). */
size_t trust_store_skipped(const struct trust_store *ts);

/* A cache of chain verifications for one thread. NULL on ENOMEM; trust_verify works without. */
struct trust_cache *trust_cache_new(void);
void trust_cache_free(struct trust_cache *c);
/* Lookups answered from the cache / computed. */
void trust_cache_stats(const struct trust_cache *c, uint64_t *hits, uint64_t *misses);

/* Judges the chain ders[0..n-1] (ders[0] the leaf, as the server sent them) at packet time
 * now_sec. chain_sha256 identifies the chain (trust_chain_hash) and keys the cache. ts may be
 * NULL (→ TRUST_UNCHECKED / TR_NO_STORE), cache may be NULL. Never allocates more than
 * wolfSSL's parse of the certificates needs, and only on a cache miss. */
void trust_verify(const struct trust_store *ts, struct trust_cache *cache, const struct bytes *ders,
                  size_t n, const uint8_t chain_sha256[32], int64_t now_sec,
                  struct trust_result *out /* OUT */);

/* SHA-256 of the certificate's SubjectPublicKeyInfo (the whole SEQUENCE, RFC 5280 §4.1.2.7),
 * found by our own DER walk (wolfSSL 5.5 hands out only the bare key). True when found. */
bool trust_spki_sha256(struct bytes der, uint8_t out[32]);

/* SHA-256 over the certificates' SHA-256s (32 bytes each) in chain order. */
void trust_chain_hash(const uint8_t (*cert_sha256)[32], size_t n, uint8_t out[32]);

/* "trusted", "untrusted", NULL (unchecked). */
const char *trust_status_name(int status);
/* "missing_intermediate", "unknown_ca", ...; "" for TR_NONE. */
const char *trust_reason_name(int reason);

#endif
