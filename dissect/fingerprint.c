/* fingerprint.c — JA3, JA3S (MD5) and JA4 / ja4_r (SHA-256) from parsed hello facts.
 *
 * JA3 (salesforce/ja3): decimal fields, list items dash-joined in wire order, GREASE
 *   (RFC 8701 §2) removed from every list. An SSLv2-format hello contributes its version
 *   field and its cipher kinds (24-bit values printed as decimal like any other suite).
 * JA4 (FoxIO technical_details/JA4.md): see fp_ja4(). GREASE is ignored everywhere,
 *   including signature algorithms; SCSVs (0x00FF, 0x5600) are counted and hashed.
 *   Sorting is "hex order" of the lowercase 4-hex-digit tokens (string order); SSLv2
 *   cipher kinds render as 6 hex digits and sort as strings too.
 * Deliberately not implemented: JA4S and the rest of JA4+ (FoxIO License 1.1), ja4_o/ja4_ro. */
#include "dissect/fingerprint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/md5.h>
#include <wolfssl/wolfcrypt/sha256.h>

bool fp_is_grease(uint32_t v)
{
    return v <= 0xffff && (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* Output sink: appends to a bounded text buffer (optional) and feeds the same bytes to the
 * hash that is currently selected (optional), so the hash never depends on the buffer. */
struct fpw {
    char *buf;        /* may be NULL */
    size_t cap;       /* size of buf */
    size_t len;       /* chars written to buf (excluding NUL) */
    bool trunc;       /* something did not fit in buf */
    wc_Md5 *md5;      /* hash being fed, or NULL */
    wc_Sha256 *sha;   /* hash being fed, or NULL */
    size_t hashed;    /* bytes fed to the current sha section */
    bool hash_err;    /* a wolfSSL update failed */
};

static void fpw_init(struct fpw *w, char *buf, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->buf = cap ? buf : NULL;
    w->cap = cap;
    if (w->buf)
        w->buf[0] = '\0';
}

static void fpw_put(struct fpw *w, const char *s, size_t n)
{
    if (w->buf) {
        size_t room = w->cap - 1 - w->len;
        size_t k = n < room ? n : room;
        if (k < n)
            w->trunc = true;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        w->buf[w->len] = '\0';
    }
    if (w->md5 && wc_Md5Update(w->md5, (const byte *)s, (word32)n) != 0)
        w->hash_err = true;
    if (w->sha) {
        if (wc_Sha256Update(w->sha, (const byte *)s, (word32)n) != 0)
            w->hash_err = true;
        w->hashed += n;
    }
}

static void fpw_str(struct fpw *w, const char *s) { fpw_put(w, s, strlen(s)); }

/* Decimal and fixed-width lower-case hex without printf: every handshake formats a few hundred
 * numbers. */
static void fpw_dec(struct fpw *w, unsigned long v)
{
    char t[24];
    size_t i = sizeof t;
    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    fpw_put(w, t + i, sizeof t - i);
}

/* v as `digits` hex digits (4 or 6) and a NUL into out. */
static void hex_fixed(char *out, unsigned long v, int digits)
{
    static const char hx[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--) {
        out[i] = hx[v & 0xf];
        v >>= 4;
    }
    out[digits] = 0;
}

static void hex_of(const uint8_t *d, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Writes a dash-joined decimal list of the non-GREASE values. */
static void list_u32(struct fpw *w, const uint32_t *v, size_t n)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (fp_is_grease(v[i]))
            continue;
        if (!first)
            fpw_put(w, "-", 1);
        first = false;
        fpw_dec(w, v[i]);
    }
}

static void list_u16(struct fpw *w, const uint16_t *v, size_t n)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (fp_is_grease(v[i]))
            continue;
        if (!first)
            fpw_put(w, "-", 1);
        first = false;
        fpw_dec(w, v[i]);
    }
}

static int md5_finish(struct fpw *w, wc_Md5 *md5, char md5_hex[FP_MD5_HEX])
{
    uint8_t dig[16];
    int rc = 0;
    if (w->hash_err || wc_Md5Final(md5, dig) != 0) {
        md5_hex[0] = '\0';
        rc = NZ_EUNSUPPORTED;
    } else {
        hex_of(dig, sizeof dig, md5_hex);
    }
    wc_Md5Free(md5);
    if (rc == 0 && w->trunc)
        rc = NZ_ELIMIT;
    return rc;
}

int fp_ja3(const struct fp_hello *h, char *str, size_t str_cap, char md5_hex[FP_MD5_HEX])
{
    wc_Md5 md5;
    struct fpw w;
    fpw_init(&w, str, str_cap);
    if (wc_InitMd5(&md5) != 0) {
        md5_hex[0] = '\0';
        return NZ_EUNSUPPORTED;
    }
    w.md5 = &md5;
    fpw_dec(&w, h->legacy_version);
    fpw_put(&w, ",", 1);
    list_u32(&w, h->ciphers, h->n_ciphers);
    fpw_put(&w, ",", 1);
    list_u16(&w, h->exts, h->n_exts);
    fpw_put(&w, ",", 1);
    list_u16(&w, h->groups, h->n_groups);
    fpw_put(&w, ",", 1);
    for (size_t i = 0; i < h->n_point_formats; i++) {
        if (i)
            fpw_put(&w, "-", 1);
        fpw_dec(&w, h->point_formats[i]);
    }
    return md5_finish(&w, &md5, md5_hex);
}

int fp_ja3s(uint16_t version, uint16_t cipher, const uint16_t *exts, size_t n_exts, char *str,
            size_t str_cap, char md5_hex[FP_MD5_HEX])
{
    wc_Md5 md5;
    struct fpw w;
    fpw_init(&w, str, str_cap);
    if (wc_InitMd5(&md5) != 0) {
        md5_hex[0] = '\0';
        return NZ_EUNSUPPORTED;
    }
    w.md5 = &md5;
    fpw_dec(&w, version);
    fpw_put(&w, ",", 1);
    fpw_dec(&w, cipher);
    fpw_put(&w, ",", 1);
    list_u16(&w, exts, n_exts);
    return md5_finish(&w, &md5, md5_hex);
}

const char *fp_ja4_version(uint16_t v)
{
    switch (v) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2"; /* the spec keys SSL 2.0 on 0x0002, not 0x0200 */
    case 0xfeff: return "d1";
    case 0xfefd: return "d2";
    case 0xfefc: return "d3";
    default: return "00";
    }
}

static bool is_alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* JA4 "first and last characters of the first ALPN value", with the spec's hex rule when
 * either end byte is not alphanumeric. */
static void ja4_alpn(const struct fp_hello *h, char out[3])
{
    static const char hx[] = "0123456789abcdef";
    out[0] = out[1] = '0';
    out[2] = '\0';
    if (!h->has_alpn || h->alpn_first_len == 0)
        return;
    size_t n = h->alpn_first_len < FP_ALPN_MAX ? h->alpn_first_len : FP_ALPN_MAX;
    uint8_t a = h->alpn_first[0], b = h->alpn_first[n - 1];
    if (is_alnum(a) && is_alnum(b)) {
        out[0] = (char)a;
        out[1] = (char)b;
    } else {
        out[0] = hx[a >> 4];
        out[1] = hx[b & 15];
    }
}

typedef char fp_tok[8]; /* "xxxx" or "xxxxxx" + NUL */

static int tok_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void put_tokens(struct fpw *w, fp_tok *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            fpw_put(w, ",", 1);
        fpw_str(w, t[i]);
    }
}

/* Finishes a JA4 hash section into 12 hex chars, or zeros when nothing was hashed. */
static void sha12(struct fpw *w, wc_Sha256 *sha, char out[13])
{
    uint8_t dig[32];
    char hex[65];
    if (w->hashed == 0) {
        memcpy(out, "000000000000", 13);
    } else if (w->hash_err || wc_Sha256Final(sha, dig) != 0) {
        w->hash_err = true;
        memcpy(out, "000000000000", 13);
    } else {
        hex_of(dig, sizeof dig, hex);
        memcpy(out, hex, 12);
        out[12] = '\0';
    }
    wc_Sha256Free(sha);
    w->hashed = 0;
}

static size_t cap99(size_t n) { return n > 99 ? 99 : n; }

int fp_ja4(const struct fp_hello *h, char transport, char ja4[FP_JA4_LEN], char *raw,
           size_t raw_cap)
{
    fp_tok ciph[FP_CIPHERS_MAX], ext[FP_EXTS_MAX];
    size_t nc = 0, ne_all = 0, ne = 0;
    for (size_t i = 0; i < h->n_ciphers && i < FP_CIPHERS_MAX; i++) {
        if (fp_is_grease(h->ciphers[i]))
            continue;
        uint32_t v = h->ciphers[i] & 0xffffff;
        hex_fixed(ciph[nc++], v, v > 0xffff ? 6 : 4);
    }
    for (size_t i = 0; i < h->n_exts && i < FP_EXTS_MAX; i++) {
        uint16_t e = h->exts[i];
        if (fp_is_grease(e))
            continue;
        ne_all++;
        if (e == 0x0000 || e == 0x0010) /* SNI and ALPN are in part a */
            continue;
        hex_fixed(ext[ne++], e, 4);
    }
    qsort(ciph, nc, sizeof ciph[0], tok_cmp);
    qsort(ext, ne, sizeof ext[0], tok_cmp);

    /* a: transport, version, SNI marker, counts, ALPN ends */
    uint16_t ver = h->legacy_version;
    if (h->has_versions) {
        bool any = false;
        uint16_t best = 0;
        for (size_t i = 0; i < h->n_versions && i < FP_VERSIONS_MAX; i++) {
            if (fp_is_grease(h->versions[i]))
                continue;
            if (!any || h->versions[i] > best)
                best = h->versions[i];
            any = true;
        }
        if (any)
            ver = best;
    }
    char alpn[3];
    ja4_alpn(h, alpn);
    const char *vs = fp_ja4_version(ver);
    size_t cn = cap99(nc), en = cap99(ne_all);
    char a[11] = {transport, vs[0], vs[1], h->has_sni ? 'd' : 'i', (char)('0' + cn / 10),
                  (char)('0' + cn % 10), (char)('0' + en / 10), (char)('0' + en % 10), alpn[0],
                  alpn[1], '\0'};

    struct fpw w;
    wc_Sha256 sha_b, sha_c;
    char b[13], c[13];
    fpw_init(&w, raw, raw ? raw_cap : 0);
    fpw_str(&w, a);
    fpw_put(&w, "_", 1);

    /* b: sorted suites */
    if (wc_InitSha256(&sha_b) != 0) {
        ja4[0] = '\0';
        return NZ_EUNSUPPORTED;
    }
    w.sha = &sha_b;
    put_tokens(&w, ciph, nc);
    w.sha = NULL;
    sha12(&w, &sha_b, b);
    fpw_put(&w, "_", 1);

    /* c: sorted extensions without SNI/ALPN, then "_" + signature algorithms in wire order
     * ("if there are no signature algorithms ... the string ends without an underscore") */
    if (wc_InitSha256(&sha_c) != 0) {
        ja4[0] = '\0';
        return NZ_EUNSUPPORTED;
    }
    w.sha = &sha_c;
    put_tokens(&w, ext, ne);
    bool first = true;
    for (size_t i = 0; i < h->n_sigalgs && i < FP_SIGALGS_MAX; i++) {
        if (fp_is_grease(h->sigalgs[i]))
            continue;
        char t[8];
        hex_fixed(t, h->sigalgs[i], 4);
        fpw_put(&w, first ? "_" : ",", 1);
        fpw_str(&w, t);
        first = false;
    }
    w.sha = NULL;
    sha12(&w, &sha_c, c);

    memcpy(ja4, a, 10);
    ja4[10] = '_';
    memcpy(ja4 + 11, b, 12);
    ja4[23] = '_';
    memcpy(ja4 + 24, c, 12);
    ja4[36] = '\0';
    if (w.hash_err)
        return NZ_EUNSUPPORTED;
    return w.trunc ? NZ_ELIMIT : 0;
}
