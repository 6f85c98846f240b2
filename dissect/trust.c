/* trust.c — certificate path building and verification at packet time. See trust.h.
 *
 * wolfSSL decodes each certificate (wc_ParseCert, NO_VERIFY: we judge dates ourselves) for
 * the issuer/subject Name hashes, the public key, basicConstraints and validity; a signature
 * is checked with wc_CheckCertSigPubKey (the child's DER, the candidate issuer's key). Names
 * are compared by wolfSSL's hash of the whole Name (the same hash on both sides), which is how
 * its own certificate manager finds signers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "core/reader.h"
#include "dissect/der.h"
#include "dissect/trust.h"
#include "dissect/x509.h"

#define NAME_HASH KEYID_SIZE
#define KEY_MAX 4096u                 /* a public key longer than this is not used */
#define STORE_FILE_MAX (64u << 20)    /* a CA bundle larger than this is refused */
#define STORE_ANCHORS_MAX 100000u     /* anchors kept at most */
#define CACHE_SETS 64u                /* per thread: sets chosen by the chain hash, */
#define CACHE_WAYS 4u                 /* each holding this many chains (round-robin replacement) */

/* What verification needs of one certificate. */
struct tcert {
    uint8_t subj[NAME_HASH], iss[NAME_HASH];
    uint8_t sha[32];
    uint32_t key_oid, key_len;
    const uint8_t *key;              /* anchors: owned copy; chain: into the scratch */
    bool ok;                          /* wolfSSL read it */
    bool is_ca, self_issued, dates;
    int64_t nb, na;
    char cn[64], issuer_cn[64];
};

struct trust_store {
    struct tcert *a;                  /* sorted by subj */
    size_t n, cap, skipped;
};

/* The date-independent part of one chain's verdict (what the cache keeps). */
struct path_info {
    uint8_t status, reason;           /* TRUST_TRUSTED (so far) or the failure */
    uint8_t path_len;
    int8_t path[TRUST_CHAIN_MAX];     /* chain indexes, path[0] = 0 (the leaf) */
    int32_t anchor;                   /* store index, -1 none */
    bool anchor_sent;
    bool leaf_is_anchor;              /* the leaf itself is in the trust store */
    int64_t nb[TRUST_CHAIN_MAX], na[TRUST_CHAIN_MAX];
    bool dates[TRUST_CHAIN_MAX];
    char cn[TRUST_CHAIN_MAX][64];
    char detail[TRUST_DETAIL_MAX];
};

struct centry {
    bool used;
    uint8_t key[32];
    const struct trust_store *ts;
    struct path_info pi;
};

struct trust_cache {
    struct centry slot[CACHE_SETS][CACHE_WAYS];
    uint8_t next[CACHE_SETS];         /* the way a miss replaces next */
    uint64_t hits, misses;
    uint8_t keys[TRUST_CHAIN_MAX][KEY_MAX];   /* scratch for the chain's keys */
};

/* ------------------------------------------------------------------------------------ */

const char *trust_status_name(int status)
{
    switch (status) {
    case TRUST_TRUSTED: return "trusted";
    case TRUST_UNTRUSTED: return "untrusted";
    default: return NULL;
    }
}

const char *trust_reason_name(int reason)
{
    static const char *const names[TR_REASON_COUNT] = {
        "", "no_trust_store", "unreadable_certificate", "missing_intermediate", "unknown_ca",
        "self_signed", "bad_signature", "issuer_not_ca", "chain_too_long",
        "expired_intermediate", "intermediate_not_yet_valid", "expired_root", "leaf_expired",
        "leaf_not_yet_valid"};
    return reason >= 0 && reason < TR_REASON_COUNT ? names[reason] : "";
}

void trust_chain_hash(const uint8_t (*cert_sha256)[32], size_t n, uint8_t out[32])
{
    wc_Sha256 h;
    wc_InitSha256(&h);
    for (size_t i = 0; i < n; i++)
        wc_Sha256Update(&h, cert_sha256[i], 32);
    wc_Sha256Final(&h, out);
    wc_Sha256Free(&h);
}

bool trust_spki_sha256(struct bytes der, uint8_t out[32])
{
    struct rd r = rd_from(der);
    struct der_tlv cert, tbs, t;
    if (der_expect(&r, 0x30, &cert) || der.len == 0)
        return false;
    struct rd c = rd_from(cert.val);
    if (der_expect(&c, 0x30, &tbs))
        return false;
    struct rd b = rd_from(tbs.val);
    if (der_next(&b, &t)) /* [0] version (optional), else the serial number */
        return false;
    if (t.tag == 0xa0 && der_next(&b, &t)) /* serialNumber */
        return false;
    /* signature, issuer, validity, subject, subjectPublicKeyInfo */
    for (int i = 0; i < 4; i++)
        if (der_expect(&b, 0x30, &t))
            return false;
    if (der_expect(&b, 0x30, &t))
        return false;
    return wc_Sha256Hash(t.whole.p, (word32)t.whole.len, out) == 0;
}

static void copy_text(const char *s, int len, char *dst, size_t cap)
{
    size_t o = 0;
    for (int i = 0; s && i < len && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[o++] = c >= 0x20 && c < 0x7f && c != '\'' ? (char)c : '?';
    }
    dst[o] = '\0';
}

/* wolfSSL's beforeDate/afterDate: the DER Time with tag and length. */
static bool tdate(const byte *p, int len, int64_t *secs)
{
    if (!p || len < 2 || len > 64)
        return false;
    if (p[0] == 0x17 || p[0] == 0x18) {
        if ((int)p[1] + 2 > len)
            return false;
        return x509_parse_time((struct bytes){p, (size_t)p[1] + 2}, secs) == 0;
    }
    return false;
}

/* Decodes der into *t; the key is copied into keybuf (cap bytes). */
static void tparse(struct bytes der, struct tcert *t, uint8_t *keybuf, size_t cap)
{
    memset(t, 0, sizeof *t);
    if (der.len == 0 || der.len > X509_DER_MAX)
        return;
    wc_Sha256Hash(der.p, (word32)der.len, t->sha);
    DecodedCert dc;
    wc_InitDecodedCert(&dc, der.p, (word32)der.len, NULL);
    int rc = wc_ParseCert(&dc, CERT_TYPE, NO_VERIFY, NULL);
    if ((rc == 0 || rc == ASN_BEFORE_DATE_E || rc == ASN_AFTER_DATE_E) && dc.publicKey &&
        dc.pubKeySize > 0 && dc.pubKeySize <= cap) {
        memcpy(t->subj, dc.subjectHash, NAME_HASH);
        memcpy(t->iss, dc.issuerHash, NAME_HASH);
        memcpy(keybuf, dc.publicKey, dc.pubKeySize);
        t->key = keybuf;
        t->key_len = dc.pubKeySize;
        t->key_oid = dc.keyOID;
        t->is_ca = dc.isCA;
        t->self_issued = memcmp(t->subj, t->iss, NAME_HASH) == 0;
        t->dates = tdate(dc.beforeDate, dc.beforeDateLen, &t->nb) &&
                   tdate(dc.afterDate, dc.afterDateLen, &t->na);
        copy_text(dc.subjectCN, dc.subjectCNLen, t->cn, sizeof t->cn);
        copy_text(dc.issuerCN, dc.issuerCNLen, t->issuer_cn, sizeof t->issuer_cn);
        t->ok = true;
    }
    wc_FreeDecodedCert(&dc);
}

static bool sig_ok(struct bytes child, const struct tcert *issuer)
{
    return issuer->ok && wc_CheckCertSigPubKey(child.p, (word32)child.len, NULL, issuer->key,
                                               issuer->key_len, (int)issuer->key_oid) == 0;
}

/* ------------------------------------------------------------------------------------ */
/* Store                                                                                  */

static int cmp_subj(const void *a, const void *b)
{
    const struct tcert *x = a, *y = b;
    int c = memcmp(x->subj, y->subj, NAME_HASH);
    return c ? c : memcmp(x->sha, y->sha, 32);
}

static int store_add(struct trust_store *ts, struct bytes der)
{
    uint8_t kb[KEY_MAX];
    struct tcert t;
    tparse(der, &t, kb, sizeof kb);
    if (!t.ok) {
        ts->skipped++;
        return 0;
    }
    for (size_t i = 0; i < ts->n; i++) /* duplicates: the same DER twice (bundle + folder) */
        if (memcmp(ts->a[i].sha, t.sha, 32) == 0)
            return 0;
    if (ts->n >= STORE_ANCHORS_MAX) {
        ts->skipped++;
        return 0;
    }
    if (ts->n == ts->cap) {
        size_t nc = ts->cap ? ts->cap * 2 : 256;
        struct tcert *na = realloc(ts->a, nc * sizeof *na);
        if (!na)
            return NZ_ENOMEM;
        ts->a = na;
        ts->cap = nc;
    }
    uint8_t *k = malloc(t.key_len);
    if (!k)
        return NZ_ENOMEM;
    memcpy(k, kb, t.key_len);
    t.key = k;
    ts->a[ts->n++] = t;
    return 0;
}

static int b64v(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Base64 body of one PEM block (whitespace ignored, '=' ends it) into out; its length, or 0
 * when a character is not base64 or it does not fit. */
static size_t pem_b64(const char *s, size_t n, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=')
            break;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        int v = b64v((unsigned char)c);
        if (v < 0)
            return 0;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return 0;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return o;
}

static const char *find_str(const char *h, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (h[i] == needle[0] && memcmp(h + i, needle, k) == 0)
            return h + i;
    return NULL;
}

/* Every "-----BEGIN CERTIFICATE-----" block of buf; a buffer without one is tried as DER. */
static int add_buffer(struct trust_store *ts, const char *buf, size_t n)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
    const char *p = buf, *lim = buf + n;
    bool any = false;
    uint8_t *der = malloc(X509_DER_MAX);
    if (!der)
        return NZ_ENOMEM;
    int rc = 0;
    while (p < lim) {
        const char *b = find_str(p, (size_t)(lim - p), begin);
        if (!b)
            break;
        b += sizeof begin - 1;
        const char *e = find_str(b, (size_t)(lim - b), end);
        if (!e)
            break;
        any = true;
        size_t len = pem_b64(b, (size_t)(e - b), der, X509_DER_MAX);
        if (len)
            rc = store_add(ts, (struct bytes){der, len});
        else
            ts->skipped++;
        if (rc)
            break;
        p = e + sizeof end - 1;
    }
    if (!any && rc == 0 && n > 0 && (unsigned char)buf[0] == 0x30)
        rc = store_add(ts, (struct bytes){(const uint8_t *)buf, n});
    free(der);
    return rc;
}

static int add_file(struct trust_store *ts, int dirfd, const char *path, bool must, char *err, size_t errcap)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (must)
            snprintf(err, errcap, "cannot open %s: %s", path, strerror(errno));
        return must ? NZ_EIO : 0;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > (off_t)STORE_FILE_MAX) {
        close(fd);
        if (must)
            snprintf(err, errcap, "%s: not a regular file of at most %u MiB", path, STORE_FILE_MAX >> 20);
        return must ? NZ_EIO : 0;
    }
    size_t n = (size_t)sb.st_size;
    char *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return NZ_ENOMEM;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    int rc = add_buffer(ts, buf, got);
    free(buf);
    return rc;
}

static int add_dir(struct trust_store *ts, const char *dir, char *err, size_t errcap)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(err, errcap, "cannot open folder %s: %s", dir, strerror(errno));
        return NZ_EIO;
    }
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        snprintf(err, errcap, "cannot read folder %s", dir);
        return NZ_EIO;
    }
    /* Names sorted, so the anchors' order (and any tie) does not depend on the folder. */
    char **names = NULL;
    size_t nn = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && rc == 0) {
        if (de->d_name[0] == '.')
            continue;
        if (nn >= STORE_ANCHORS_MAX) /* a folder of more files than anchors we keep */
            break;
        if (nn == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nv = realloc(names, nc * sizeof *nv);
            if (!nv) {
                rc = NZ_ENOMEM;
                break;
            }
            names = nv;
            cap = nc;
        }
        if (!(names[nn] = strdup(de->d_name)))
            rc = NZ_ENOMEM;
        else
            nn++;
    }
    for (size_t i = 1; i < nn; i++) /* insertion sort: folders hold a few hundred names */
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    for (size_t i = 0; i < nn && rc == 0; i++)
        rc = add_file(ts, dirfd(d), names[i], false, err, errcap);
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int trust_store_load(const char *file, const char *dir, struct trust_store **out, char *err, size_t errcap)
{
    *out = NULL;
    if (errcap)
        err[0] = '\0';
    struct trust_store *ts = calloc(1, sizeof *ts);
    if (!ts)
        return NZ_ENOMEM;
    int rc = 0;
    if (file && file[0])
        rc = add_file(ts, AT_FDCWD, file, true, err, errcap);
    if (rc == 0 && dir && dir[0])
        rc = add_dir(ts, dir, err, errcap);
    if (rc == 0 && ts->n == 0) {
        snprintf(err, errcap, "no CA certificate found in %s%s%s", file ? file : "",
                 file && dir ? " and " : "", dir ? dir : "");
        rc = NZ_EMALFORMED;
    }
    if (rc) {
        trust_store_free(ts);
        return rc;
    }
    qsort(ts->a, ts->n, sizeof *ts->a, cmp_subj);
    *out = ts;
    return 0;
}

int trust_store_load_buffer(const void *buf, size_t n, struct trust_store **out, char *err, size_t errcap)
{
    *out = NULL;
    if (errcap)
        err[0] = '\0';
    if (n > STORE_FILE_MAX)
        return NZ_ELIMIT;
    struct trust_store *ts = calloc(1, sizeof *ts);
    if (!ts)
        return NZ_ENOMEM;
    int rc = add_buffer(ts, buf, n);
    if (rc == 0 && ts->n == 0) {
        snprintf(err, errcap, "no CA certificate found");
        rc = NZ_EMALFORMED;
    }
    if (rc) {
        trust_store_free(ts);
        return rc;
    }
    qsort(ts->a, ts->n, sizeof *ts->a, cmp_subj);
    *out = ts;
    return 0;
}

void trust_store_free(struct trust_store *ts)
{
    if (!ts)
        return;
    for (size_t i = 0; i < ts->n; i++)
        free((void *)ts->a[i].key);
    free(ts->a);
    free(ts);
}

size_t trust_store_count(const struct trust_store *ts) { return ts ? ts->n : 0; }
size_t trust_store_skipped(const struct trust_store *ts) { return ts ? ts->skipped : 0; }

/* First anchor whose subject hash is subj, or ts->n. */
static size_t anchor_lower(const struct trust_store *ts, const uint8_t *subj)
{
    size_t lo = 0, hi = ts->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(ts->a[mid].subj, subj, NAME_HASH) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Is t itself an anchor (the same DER, or the same Name and key)? Its index, or -1. */
static int32_t anchor_of(const struct trust_store *ts, const struct tcert *t)
{
    for (size_t i = anchor_lower(ts, t->subj); i < ts->n && memcmp(ts->a[i].subj, t->subj, NAME_HASH) == 0; i++)
        if (memcmp(ts->a[i].sha, t->sha, 32) == 0 ||
            (ts->a[i].key_len == t->key_len && memcmp(ts->a[i].key, t->key, t->key_len) == 0))
            return (int32_t)i;
    return -1;
}

/* ------------------------------------------------------------------------------------ */
/* Cache                                                                                  */

struct trust_cache *trust_cache_new(void) { return calloc(1, sizeof(struct trust_cache)); }
void trust_cache_free(struct trust_cache *c) { free(c); }
void trust_cache_stats(const struct trust_cache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = c ? c->hits : 0;
    *misses = c ? c->misses : 0;
}

/* ------------------------------------------------------------------------------------ */
/* Path                                                                                   */

static void add_path(struct path_info *pi, int idx, const struct tcert *t)
{
    int k = pi->path_len++;
    pi->path[k] = (int8_t)idx;
    pi->nb[k] = t->nb;
    pi->na[k] = t->na;
    pi->dates[k] = t->dates;
    memcpy(pi->cn[k], t->cn, sizeof pi->cn[k]);
}

static void fail(struct path_info *pi, uint8_t status, uint8_t reason)
{
    pi->status = status;
    pi->reason = reason;
}

static void build_path(const struct trust_store *ts, const struct bytes *ders, size_t n,
                       const struct tcert *c, struct path_info *pi)
{
    memset(pi, 0, sizeof *pi);
    pi->anchor = -1;
    pi->status = TRUST_TRUSTED;
    if (!c[0].ok) {
        fail(pi, TRUST_UNCHECKED, TR_UNREADABLE);
        snprintf(pi->detail, sizeof pi->detail, "wolfSSL cannot read the leaf certificate");
        return;
    }
    bool used[TRUST_CHAIN_MAX] = {false};
    bool unreadable = false;
    for (size_t i = 1; i < n; i++)
        unreadable |= !c[i].ok;
    size_t cur = 0;
    used[0] = true;
    add_path(pi, 0, &c[0]);
    for (unsigned step = 0;; step++) {
        const struct tcert *t = &c[cur];
        /* The current certificate is an anchor (a root the server sent along, or a leaf the
         * administrator trusts directly). */
        int32_t self = anchor_of(ts, t);
        if (self >= 0) {
            pi->anchor = self;
            pi->anchor_sent = true;
            pi->path_len--; /* the anchor is not part of the path */
            if (pi->path_len == 0) { /* the leaf itself is trusted: keep its dates */
                pi->path_len = 1;
                pi->anchor_sent = false;
                pi->leaf_is_anchor = true;
            }
            return;
        }
        /* An anchor with the issuer's Name whose key verifies the signature. */
        int32_t named_anchor = -1;
        for (size_t i = anchor_lower(ts, t->iss); i < ts->n && memcmp(ts->a[i].subj, t->iss, NAME_HASH) == 0; i++) {
            named_anchor = (int32_t)i;
            if (sig_ok(ders[cur], &ts->a[i])) {
                pi->anchor = (int32_t)i;
                return;
            }
        }
        if (step + 1 >= TRUST_CHAIN_MAX) {
            fail(pi, TRUST_UNTRUSTED, TR_CHAIN_TOO_LONG);
            snprintf(pi->detail, sizeof pi->detail, "no trusted issuer within %u certificates", TRUST_CHAIN_MAX);
            return;
        }
        /* A sent certificate with the issuer's Name (self-issued ones only issue themselves). */
        int found = -1, bad = -1;
        if (!t->self_issued) {
            for (size_t j = 0; j < n; j++) {
                if (used[j] || !c[j].ok || memcmp(c[j].subj, t->iss, NAME_HASH) != 0)
                    continue;
                if (sig_ok(ders[cur], &c[j])) {
                    found = (int)j;
                    break;
                }
                if (bad < 0)
                    bad = (int)j;
            }
        }
        if (found < 0) {
            if (bad >= 0 || named_anchor >= 0) {
                fail(pi, TRUST_UNTRUSTED, TR_BAD_SIGNATURE);
                snprintf(pi->detail, sizeof pi->detail,
                         "the signature of '%s' (position %zu) does not verify with the key of %s '%s' that bears its issuer's name",
                         t->cn, cur, bad >= 0 ? "the sent" : "the trust store's",
                         bad >= 0 ? c[bad].cn : ts->a[named_anchor].cn);
            } else if (unreadable) {
                fail(pi, TRUST_UNCHECKED, TR_UNREADABLE);
                snprintf(pi->detail, sizeof pi->detail,
                         "the issuer of '%s' may be a sent certificate wolfSSL cannot read", t->cn);
            } else if (t->self_issued && cur == 0) {
                fail(pi, TRUST_UNTRUSTED, TR_SELF_SIGNED);
                snprintf(pi->detail, sizeof pi->detail, "the self-signed leaf '%s' is not in the trust store", t->cn);
            } else if (t->self_issued) {
                fail(pi, TRUST_UNTRUSTED, TR_UNKNOWN_CA);
                snprintf(pi->detail, sizeof pi->detail,
                         "the chain ends at the self-signed '%s' (position %zu), which is not in the trust store",
                         t->cn, cur);
            } else {
                fail(pi, TRUST_UNTRUSTED, TR_MISSING_INTERMEDIATE);
                snprintf(pi->detail, sizeof pi->detail,
                         "the issuer '%s' of '%s' (position %zu) was not sent and is not in the trust store",
                         t->issuer_cn, t->cn, cur);
            }
            return;
        }
        if (!c[found].is_ca && anchor_of(ts, &c[found]) < 0) {
            fail(pi, TRUST_UNTRUSTED, TR_ISSUER_NOT_CA);
            snprintf(pi->detail, sizeof pi->detail,
                     "'%s' (position %d), which signed '%s', is not a CA (basicConstraints)", c[found].cn, found, t->cn);
            return;
        }
        used[found] = true;
        add_path(pi, found, &c[found]);
        cur = (size_t)found;
    }
}

static void judge_dates(const struct trust_store *ts, const struct path_info *pi, int64_t now,
                        struct trust_result *out)
{
    char when[24];
    /* Issuers first (they make the chain fail for everyone), then the anchor, then the leaf
     * (tls.cert_expired says that one). */
    for (unsigned k = 1; k < pi->path_len; k++) {
        if (!pi->dates[k])
            continue;
        if (now > pi->na[k] || now < pi->nb[k]) {
            bool exp = now > pi->na[k];
            out->status = TRUST_UNTRUSTED;
            out->reason = exp ? TR_EXPIRED_INTERMEDIATE : TR_INTERMEDIATE_NOT_YET_VALID;
            snprintf(out->detail, sizeof out->detail, "the intermediate '%s' (position %d) %s %s", pi->cn[k],
                     pi->path[k], exp ? "expired on" : "is valid only from",
                     x509_iso_time(exp ? pi->na[k] : pi->nb[k], when, sizeof when));
            return;
        }
    }
    if (pi->anchor >= 0 && !pi->leaf_is_anchor) {
        const struct tcert *a = &ts->a[pi->anchor];
        if (a->dates && now > a->na) {
            out->status = TRUST_UNTRUSTED;
            out->reason = TR_EXPIRED_ROOT;
            snprintf(out->detail, sizeof out->detail, "the trust anchor '%s' expired on %s", a->cn,
                     x509_iso_time(a->na, when, sizeof when));
            return;
        }
    }
    if (pi->dates[0] && (now > pi->na[0] || now < pi->nb[0])) {
        bool exp = now > pi->na[0];
        out->status = TRUST_UNTRUSTED;
        out->reason = exp ? TR_LEAF_EXPIRED : TR_LEAF_NOT_YET_VALID;
        snprintf(out->detail, sizeof out->detail, "the leaf '%s' %s %s", pi->cn[0],
                 exp ? "expired on" : "is valid only from",
                 x509_iso_time(exp ? pi->na[0] : pi->nb[0], when, sizeof when));
    }
}

void trust_verify(const struct trust_store *ts, struct trust_cache *cache, const struct bytes *ders,
                  size_t n, const uint8_t chain_sha256[32], int64_t now_sec, struct trust_result *out)
{
    memset(out, 0, sizeof *out);
    if (!ts || ts->n == 0) {
        out->reason = TR_NO_STORE;
        return;
    }
    if (n == 0)
        return;
    if (n > TRUST_CHAIN_MAX)
        n = TRUST_CHAIN_MAX;

    struct path_info local;
    const struct path_info *pi = NULL;
    struct centry *slot = NULL;
    if (cache) {
        unsigned set = chain_sha256[0] % CACHE_SETS;
        for (unsigned w = 0; w < CACHE_WAYS && !pi; w++) {
            struct centry *e = &cache->slot[set][w];
            if (e->used && e->ts == ts && memcmp(e->key, chain_sha256, 32) == 0) {
                cache->hits++;
                pi = &e->pi;
                out->cached = true;
            }
        }
        if (!pi) {
            slot = &cache->slot[set][cache->next[set]];
            cache->next[set] = (uint8_t)((cache->next[set] + 1) % CACHE_WAYS);
        }
    }
    if (!pi) {
        struct tcert c[TRUST_CHAIN_MAX];
        uint8_t (*keys)[KEY_MAX] = cache ? cache->keys : malloc(TRUST_CHAIN_MAX * (size_t)KEY_MAX);
        if (!keys) {
            out->reason = TR_UNREADABLE;
            snprintf(out->detail, sizeof out->detail, "out of memory");
            return;
        }
        for (size_t i = 0; i < n; i++)
            tparse(ders[i], &c[i], keys[i], KEY_MAX);
        build_path(ts, ders, n, c, &local);
        if (!cache)
            free(keys);
        pi = &local;
        if (cache) {
            cache->misses++;
            slot->used = true;
            slot->ts = ts;
            memcpy(slot->key, chain_sha256, 32);
            slot->pi = local;
        }
    }
    out->status = pi->status;
    out->reason = pi->reason;
    out->path_len = pi->path_len;
    out->anchor_sent = pi->anchor_sent;
    memcpy(out->detail, pi->detail, sizeof out->detail);
    if (pi->anchor >= 0)
        memcpy(out->anchor_cn, ts->a[pi->anchor].cn, sizeof out->anchor_cn);
    if (pi->status == TRUST_TRUSTED)
        judge_dates(ts, pi, now_sec, out);
}
