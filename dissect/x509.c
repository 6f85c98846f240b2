/* x509.c — DER X.509 certificate → struct cert_info, with wolfSSL's certificate decoder.
 *
 * RFC 5280 §4.1 (Certificate, TBSCertificate): wolfSSL (wc_ParseCert with NO_VERIFY, no
 * certificate manager) decodes the structure; this file copies out the subject/issuer CN
 * (§4.1.2.4/6), the self-issued flag (subject DN hash == issuer DN hash, §3.2), the validity
 * (§4.1.2.5: UTCTime §4.1.2.5.1 and GeneralizedTime §4.1.2.5.2, parsed here through struct rd
 * because wolfSSL only hands out the raw bytes), the subject key type and size (RSA modulus
 * from the RSAPublicKey of RFC 8017 §A.1.1, EC size from the named curve RFC 5480 §2.1.1.1,
 * DSA prime p from the SPKI parameters RFC 3279 §2.3.2), the signature algorithm (§4.1.1.2,
 * names of RFC 3279 / RFC 4055 / RFC 5758 / RFC 8410), the SAN dNSNames (§4.2.1.6) and the
 * SHA-256 of the DER. Name matching follows RFC 6125 §6.4.
 *
 * For a self-issued certificate the signature is checked against the certificate's own key
 * (wc_CheckCertSigPubKey, one public-key operation): self_sig_ok = a real self-signed cert.
 * Ignored: chain building and trust (no CA bundle), revocation, name constraints, policies,
 * key usage, SAN types other than dNSName (IP, email, URI), the CN when it is not the last
 * one wolfSSL keeps, partial-label wildcards ("f*.example.com", RFC 6125 §6.4.3 allows them
 * optionally; they never match here), internationalised (A-label) comparison beyond ASCII.
 *
 * Fallback: wolfSSL refuses some valid certificates (more names than it keeps: ASN_PARSE_E;
 * a signature algorithm it does not know, e.g. ML-DSA: ASN_UNKNOWN_OID_E). Then x509_walk
 * reads the facts itself with dissect/der.h (depth and TLV limits DER_DEPTH_MAX /
 * DER_NODES_MAX); only when that fails too is the DER itself broken (der_broken). */
#include <stdio.h>
#include <string.h>

#include <limits.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "core/reader.h"
#include "dissect/der.h"
#include "dissect/x509.h"

/* ------------------------------------------------------------------------------------ */
/* Time                                                                                   */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Reads n ASCII digits; -1 if any is not a digit. */
static int digits(struct rd *r, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        uint8_t c = rd_u8(r);
        if (!rd_ok(r) || c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int x509_parse_time(struct bytes t, int64_t *secs)
{
    struct rd r = rd_from(t);
    uint8_t tag = rd_u8(&r);
    uint8_t len = rd_u8(&r);
    if (!rd_ok(&r) || (tag != 0x17 && tag != 0x18) || len != rd_left(&r))
        return NZ_EMALFORMED;
    int year;
    if (tag == 0x17) { /* RFC 5280 §4.1.2.5.1: YYMMDDHHMMSSZ, YY >= 50 → 19YY */
        if (len != 13)
            return NZ_EMALFORMED;
        int yy = digits(&r, 2);
        if (yy < 0)
            return NZ_EMALFORMED;
        year = yy >= 50 ? 1900 + yy : 2000 + yy;
    } else { /* §4.1.2.5.2: YYYYMMDDHHMMSSZ, no fractional seconds */
        if (len != 15)
            return NZ_EMALFORMED;
        year = digits(&r, 4);
        if (year < 0)
            return NZ_EMALFORMED;
    }
    int mon = digits(&r, 2), day = digits(&r, 2);
    int hh = digits(&r, 2), mm = digits(&r, 2), ss = digits(&r, 2);
    uint8_t z = rd_u8(&r);
    if (!rd_ok(&r) || z != 'Z' || mon < 1 || mon > 12 || day < 1 || hh > 23 || mm > 59 ||
        ss > 59 || hh < 0 || mm < 0 || ss < 0)
        return NZ_EMALFORMED;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int maxd = mdays[mon - 1] + (mon == 2 && leap(year));
    if (day > maxd)
        return NZ_EMALFORMED;
    *secs = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 + hh * 3600 + mm * 60 + ss;
    return 0;
}

char *x509_iso_time(int64_t secs, char *buf, size_t cap)
{
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - days * 86400;
    /* civil_from_days (H. Hinnant) */
    int64_t z = days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(buf, cap, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d,
             (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
    return buf;
}

/* wolfSSL's beforeDate/afterDate point at the DER Time (tag, length, value); accept the bare
 * value too (length 13: UTCTime, 15: GeneralizedTime) in case a build strips the header. */
static bool wolf_date(const byte *p, int len, int64_t *secs)
{
    if (!p || len <= 0 || len > 64)
        return false;
    struct bytes b = {p, (size_t)len};
    struct rd r = rd_from(b);
    int tag = rd_peek(&r, 0);
    if (tag == 0x17 || tag == 0x18) {
        int l = rd_peek(&r, 1);
        if (l < 0 || (size_t)l > (size_t)len - 2)
            return false;
        return x509_parse_time(rd_slice(&r, (size_t)l + 2), secs) == 0;
    }
    uint8_t tmp[2 + 15];
    if (len != 13 && len != 15)
        return false;
    tmp[0] = len == 13 ? 0x17 : 0x18;
    tmp[1] = (uint8_t)len;
    if (!rd_copy(&r, tmp + 2, (size_t)len))
        return false;
    struct bytes t = {tmp, (size_t)len + 2};
    return x509_parse_time(t, secs) == 0;
}

/* ------------------------------------------------------------------------------------ */
/* Names                                                                                  */

static int lc(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static bool eq_nocase_n(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (lc((unsigned char)a[i]) != lc((unsigned char)b[i]))
            return false;
    return true;
}

bool x509_name_matches(const char *pattern, const char *host)
{
    if (!pattern || !host)
        return false;
    size_t pn = strlen(pattern), hn = strlen(host);
    if (hn > 0 && host[hn - 1] == '.')
        hn--;
    if (pn == 0 || hn == 0)
        return false;
    if (pn >= 2 && pattern[0] == '*' && pattern[1] == '.') {
        const char *rest = pattern + 2;
        size_t rn = pn - 2;
        if (rn == 0 || !memchr(rest, '.', rn)) /* no "*.tld" or "*." */
            return false;
        const char *dot = memchr(host, '.', hn);
        if (!dot || dot == host) /* exactly one non-empty leftmost label */
            return false;
        size_t off = (size_t)(dot - host) + 1;
        return eq_nocase_n(rest, rn, host + off, hn - off);
    }
    if (memchr(pattern, '*', pn))
        return false; /* partial-label wildcards are not honoured */
    return eq_nocase_n(pattern, pn, host, hn);
}

bool x509_list_matches(const char *list, const char *host)
{
    if (!list || !host)
        return false;
    char one[256];
    const char *s = list;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n < sizeof one) {
            memcpy(one, s, n);
            one[n] = '\0';
            if (x509_name_matches(one, host))
                return true;
        }
        if (!e)
            break;
        s = e + 1;
    }
    return false;
}

const char *x509_key_type_name(int key_type)
{
    switch (key_type) {
    case X509_KEY_RSA: return "RSA";
    case X509_KEY_EC: return "EC";
    case X509_KEY_DSA: return "DSA";
    case X509_KEY_ED25519: return "Ed25519";
    case X509_KEY_OTHER: return "other";
    default: return "unknown";
    }
}

/* Copies a wolfSSL name (not NUL-terminated) as printable ASCII; ',' also becomes '?'. */
static void copy_name(const char *p, int n, char *dst, size_t cap)
{
    dst[0] = '\0';
    if (!p || n <= 0)
        return;
    struct bytes b = {(const uint8_t *)p, (size_t)n};
    bytes_to_cstr(b, dst, cap);
    for (char *c = dst; *c; c++)
        if (*c == ',')
            *c = '?';
}

/* ------------------------------------------------------------------------------------ */
/* Algorithms                                                                             */

struct sig_name {
    word32 sum;      /* wolfSSL OID sum (asn_public.h enum Ctc_SigType) */
    const char *name;
    uint8_t hash;    /* enum x509_sig_hash */
};

static const struct sig_name sig_names[] = {
    {CTC_MD2wRSA, "md2WithRSAEncryption", X509_HASH_MD2},
    {CTC_MD5wRSA, "md5WithRSAEncryption", X509_HASH_MD5},
    {CTC_SHAwRSA, "sha1WithRSAEncryption", X509_HASH_SHA1},
    {CTC_SHA224wRSA, "sha224WithRSAEncryption", X509_HASH_SHA2},
    {CTC_SHA256wRSA, "sha256WithRSAEncryption", X509_HASH_SHA2},
    {CTC_SHA384wRSA, "sha384WithRSAEncryption", X509_HASH_SHA2},
    {CTC_SHA512wRSA, "sha512WithRSAEncryption", X509_HASH_SHA2},
    {CTC_RSASSAPSS, "rsassaPss", X509_HASH_OTHER},
    {CTC_SHAwDSA, "dsa-with-SHA1", X509_HASH_SHA1},
    {CTC_SHA256wDSA, "dsa-with-SHA256", X509_HASH_SHA2},
    {CTC_SHAwECDSA, "ecdsa-with-SHA1", X509_HASH_SHA1},
    {CTC_SHA224wECDSA, "ecdsa-with-SHA224", X509_HASH_SHA2},
    {CTC_SHA256wECDSA, "ecdsa-with-SHA256", X509_HASH_SHA2},
    {CTC_SHA384wECDSA, "ecdsa-with-SHA384", X509_HASH_SHA2},
    {CTC_SHA512wECDSA, "ecdsa-with-SHA512", X509_HASH_SHA2},
    {CTC_ED25519, "Ed25519", X509_HASH_OTHER},
    {CTC_ED448, "Ed448", X509_HASH_OTHER},
};

struct curve_bits {
    word32 sum;      /* wolfSSL curve OID sum (asn_public.h enum Ecc_Sum) */
    uint16_t bits;
};

static const struct curve_bits curve_bits[] = {
    {ECC_SECP160R1_OID, 160},       {ECC_SECP160R2_OID, 160},   {ECC_SECP160K1_OID, 160},
    {ECC_BRAINPOOLP160R1_OID, 160}, {ECC_SECP192R1_OID, 192},   {ECC_PRIME192V2_OID, 192},
    {ECC_PRIME192V3_OID, 192},      {ECC_SECP192K1_OID, 192},   {ECC_BRAINPOOLP192R1_OID, 192},
    {ECC_SECP224R1_OID, 224},       {ECC_SECP224K1_OID, 224},   {ECC_BRAINPOOLP224R1_OID, 224},
    {ECC_PRIME239V1_OID, 239},      {ECC_PRIME239V2_OID, 239},  {ECC_PRIME239V3_OID, 239},
    {ECC_SECP256R1_OID, 256},       {ECC_SECP256K1_OID, 256},   {ECC_BRAINPOOLP256R1_OID, 256},
    {ECC_BRAINPOOLP320R1_OID, 320}, {ECC_SECP384R1_OID, 384},   {ECC_BRAINPOOLP384R1_OID, 384},
    {ECC_BRAINPOOLP512R1_OID, 512}, {ECC_SECP521R1_OID, 521},
};

/* Reads one DER TLV header; returns a child reader over the value (err set on failure). */
static struct rd der_tlv(struct rd *r, uint8_t *tag)
{
    *tag = rd_u8(r);
    uint8_t l = rd_u8(r);
    size_t len = l;
    if (l & 0x80) {
        unsigned n = l & 0x7f;
        if (n == 0 || n > 3) {
            r->err = true;
            n = 0;
        }
        len = 0;
        for (unsigned i = 0; i < n; i++)
            len = len << 8 | rd_u8(r);
    }
    return rd_sub(r, len);
}

/* Bits of a DER INTEGER's value (leading zero bytes ignored). */
static uint16_t int_bits(struct rd v)
{
    while (rd_left(&v) > 1 && rd_peek(&v, 0) == 0)
        rd_skip(&v, 1);
    size_t n = rd_left(&v);
    int top = rd_peek(&v, 0);
    if (n == 0 || top <= 0 || n > 8191)
        return 0;
    unsigned b = 0;
    while (top > 0) {
        b++;
        top >>= 1;
    }
    return (uint16_t)((n - 1) * 8 + b);
}

/* RSA: publicKey is RSAPublicKey ::= SEQUENCE { modulus INTEGER, ... } (RFC 8017 §A.1.1). */
static uint16_t rsa_bits(const byte *p, word32 n)
{
    if (!p || n == 0)
        return 0;
    struct rd r = rd_init(p, n);
    uint8_t tag;
    struct rd seq = der_tlv(&r, &tag);
    if (!rd_ok(&r) || tag != 0x30)
        return 0;
    struct rd mod = der_tlv(&seq, &tag);
    if (!rd_ok(&seq) || tag != 0x02)
        return 0;
    return int_bits(mod);
}

/* DSA: SubjectPublicKeyInfo { { OID, Dss-Parms { p, q, g } }, BIT STRING } (RFC 3279
 * §2.3.2); wolfSSL may hand out the SPKI or only the key: 0 when p is not there. */
static uint16_t dsa_bits(const byte *p, word32 n)
{
    if (!p || n == 0)
        return 0;
    struct rd r = rd_init(p, n);
    uint8_t tag;
    struct rd spki = der_tlv(&r, &tag);
    if (!rd_ok(&r) || tag != 0x30)
        return 0;
    struct rd alg = der_tlv(&spki, &tag);
    if (!rd_ok(&spki) || tag != 0x30)
        return 0;
    der_tlv(&alg, &tag); /* OID */
    if (!rd_ok(&alg) || tag != 0x06)
        return 0;
    struct rd parms = der_tlv(&alg, &tag);
    if (!rd_ok(&alg) || tag != 0x30)
        return 0;
    struct rd prime = der_tlv(&parms, &tag);
    if (!rd_ok(&parms) || tag != 0x02)
        return 0;
    return int_bits(prime);
}

static void set_key(const DecodedCert *dc, struct cert_info *out)
{
    switch (dc->keyOID) {
    case RSAk:
        out->key_type = X509_KEY_RSA;
        out->key_bits = rsa_bits(dc->publicKey, dc->pubKeySize);
        break;
    case ECDSAk:
        out->key_type = X509_KEY_EC;
        for (size_t i = 0; i < sizeof curve_bits / sizeof curve_bits[0]; i++)
            if (curve_bits[i].sum == dc->pkCurveOID)
                out->key_bits = curve_bits[i].bits;
        break;
    case DSAk:
        out->key_type = X509_KEY_DSA;
        out->key_bits = dsa_bits(dc->publicKey, dc->pubKeySize);
        break;
    case ED25519k:
        out->key_type = X509_KEY_ED25519;
        out->key_bits = 256;
        break;
    case ED448k:
        out->key_type = X509_KEY_OTHER;
        out->key_bits = 456;
        break;
    default:
        out->key_type = X509_KEY_OTHER;
        break;
    }
}

static void set_sig(word32 sum, struct cert_info *out)
{
    for (size_t i = 0; i < sizeof sig_names / sizeof sig_names[0]; i++) {
        if (sig_names[i].sum == sum) {
            snprintf(out->sig_alg, sizeof out->sig_alg, "%s", sig_names[i].name);
            out->sig_hash = sig_names[i].hash;
            return;
        }
    }
    snprintf(out->sig_alg, sizeof out->sig_alg, "oid-sum-%lu", (unsigned long)sum);
    out->sig_hash = X509_HASH_UNKNOWN;
}

/* Adds one SAN dNSName (raw bytes, n of them) to out: counted, joined into san_dns while it
 * fits, and judged against host (every name, kept or not). */
static void san_add(struct cert_info *out, const char *p, int n, const char *host)
{
    if (out->n_san_dns < UINT16_MAX)
        out->n_san_dns++;
    char name[256];
    copy_name(p, n, name, sizeof name);
    size_t len = strlen(name);
    bool whole = n >= 0 && (size_t)n == len;
    if (host && host[0] && whole && x509_name_matches(name, host))
        out->host_match = true;
    size_t used = strlen(out->san_dns);
    if (out->san_truncated || !whole || len + (used ? 1 : 0) >= sizeof out->san_dns - used) {
        out->san_truncated = true;
        return;
    }
    if (used)
        out->san_dns[used++] = ',';
    memcpy(out->san_dns + used, name, len + 1);
}

static void set_sans(const DecodedCert *dc, const char *host, struct cert_info *out)
{
    unsigned guard = 0;
    for (const DNS_entry *e = dc->altNames; e && guard < 4096; e = e->next, guard++)
        if (e->type == ASN_DNS_TYPE)
            san_add(out, e->name, e->len, host);
}

static void set_dates(int64_t nb, int64_t na, uint64_t now_usec, struct cert_info *out)
{
    out->dates_valid = true;
    out->not_before = nb;
    out->not_after = na;
    if (now_usec) {
        int64_t now = (int64_t)(now_usec / 1000000u);
        out->expired = na < now;
        out->not_yet_valid = nb > now;
    }
}

static void fingerprint(struct bytes der, struct cert_info *out)
{
    if (wc_Sha256Hash(der.p, (word32)der.len, out->sha256) == 0) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < sizeof out->sha256; i++) {
            out->sha256_hex[2 * i] = hex[out->sha256[i] >> 4];
            out->sha256_hex[2 * i + 1] = hex[out->sha256[i] & 15];
        }
        out->sha256_hex[64] = '\0';
    }
}

const char *x509_wolf_fail_name(int reason)
{
    switch (reason) {
    case X509_WOLF_OK: return "ok";
    case X509_WOLF_ASN_PARSE: return "asn_parse";
    case X509_WOLF_UNKNOWN_OID: return "unknown_oid";
    case X509_WOLF_DATE: return "date";
    case X509_WOLF_INPUT: return "input";
    case X509_WOLF_KEY: return "key";
    default: return "other";
    }
}

static uint8_t wolf_reason(int rc)
{
    switch (rc) {
    case ASN_PARSE_E: return X509_WOLF_ASN_PARSE;
    case ASN_UNKNOWN_OID_E: return X509_WOLF_UNKNOWN_OID;
    case ASN_DATE_SZ_E:
    case ASN_TIME_E: return X509_WOLF_DATE;
    case ASN_INPUT_E:
    case ASN_GETINT_E:
    case ASN_EXPECT_0_E:
    case ASN_BITSTR_E:
    case ASN_OBJECT_ID_E:
    case ASN_VERSION_E:
    case ASN_TAG_NULL_E: return X509_WOLF_INPUT;
    case ASN_RSA_KEY_E:
    case ASN_SIG_KEY_E:
    case ASN_SIG_OID_E:
    case ASN_SIG_HASH_E:
    case ASN_DH_KEY_E: return X509_WOLF_KEY;
    default: return X509_WOLF_OTHER;
    }
}

/* ------------------------------------------------------------------------------------ */
/* The DER walk (fallback)                                                                */

struct oid_name {
    uint8_t len;
    uint8_t oid[10];  /* contents octets */
    const char *name;
    uint8_t hash;     /* enum x509_sig_hash; for keys: bits */
};

#define RSA_OID(x) 9, {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, x}
#define ECDSA3_OID(x) 8, {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, x}

static const struct oid_name sig_oids[] = {
    {RSA_OID(0x02), "md2WithRSAEncryption", X509_HASH_MD2},
    {RSA_OID(0x04), "md5WithRSAEncryption", X509_HASH_MD5},
    {RSA_OID(0x05), "sha1WithRSAEncryption", X509_HASH_SHA1},
    {RSA_OID(0x0e), "sha224WithRSAEncryption", X509_HASH_SHA2},
    {RSA_OID(0x0b), "sha256WithRSAEncryption", X509_HASH_SHA2},
    {RSA_OID(0x0c), "sha384WithRSAEncryption", X509_HASH_SHA2},
    {RSA_OID(0x0d), "sha512WithRSAEncryption", X509_HASH_SHA2},
    {RSA_OID(0x0a), "rsassaPss", X509_HASH_OTHER},
    {7, {0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03}, "dsa-with-SHA1", X509_HASH_SHA1},
    {9, {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02}, "dsa-with-SHA256", X509_HASH_SHA2},
    {7, {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01}, "ecdsa-with-SHA1", X509_HASH_SHA1},
    {ECDSA3_OID(0x01), "ecdsa-with-SHA224", X509_HASH_SHA2},
    {ECDSA3_OID(0x02), "ecdsa-with-SHA256", X509_HASH_SHA2},
    {ECDSA3_OID(0x03), "ecdsa-with-SHA384", X509_HASH_SHA2},
    {ECDSA3_OID(0x04), "ecdsa-with-SHA512", X509_HASH_SHA2},
    {3, {0x2b, 0x65, 0x70}, "Ed25519", X509_HASH_OTHER},
    {3, {0x2b, 0x65, 0x71}, "Ed448", X509_HASH_OTHER},
};

/* Named curves (RFC 5480 §2.1.1.1, SEC 2) → field bits, in .hash. */
static const struct oid_name curve_oids[] = {
    {8, {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01}, "P-192", 0},
    {5, {0x2b, 0x81, 0x04, 0x00, 0x21}, "P-224", 0},
    {8, {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, "P-256", 0},
    {5, {0x2b, 0x81, 0x04, 0x00, 0x0a}, "secp256k1", 0},
    {5, {0x2b, 0x81, 0x04, 0x00, 0x22}, "P-384", 0},
    {5, {0x2b, 0x81, 0x04, 0x00, 0x23}, "P-521", 0},
};
static const uint16_t curve_oid_bits[] = {192, 224, 256, 256, 384, 521};

static const uint8_t OID_CN[] = {0x55, 0x04, 0x03};
static const uint8_t OID_SAN[] = {0x55, 0x1d, 0x11};
static const uint8_t OID_RSA[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
static const uint8_t OID_EC[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const uint8_t OID_DSA[] = {0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01};
static const uint8_t OID_ED25519[] = {0x2b, 0x65, 0x70};
static const uint8_t OID_ED448[] = {0x2b, 0x65, 0x71};

/* The last commonName of a Name (SEQUENCE OF SET OF AttributeTypeAndValue, RFC 5280
 * §4.1.2.4), as copy_name text; "" if none. Unreadable RDNs are skipped. */
static void walk_cn(struct bytes name, char *dst, size_t cap)
{
    dst[0] = '\0';
    struct rd n = rd_from(name);
    while (rd_ok(&n) && !rd_eof(&n)) {
        struct der_tlv set;
        if (der_expect(&n, 0x31, &set))
            return;
        struct rd s = rd_from(set.val);
        while (rd_ok(&s) && !rd_eof(&s)) {
            struct der_tlv atv, oid, val;
            if (der_expect(&s, 0x30, &atv))
                break;
            struct rd a = rd_from(atv.val);
            if (der_expect(&a, 0x06, &oid) || der_next(&a, &val))
                continue;
            if (der_oid_is(oid.val, OID_CN, sizeof OID_CN) && val.val.len <= INT_MAX)
                copy_name((const char *)val.val.p, (int)val.val.len, dst, cap);
        }
    }
}

static void walk_sig(struct bytes alg, struct cert_info *out)
{
    struct rd a = rd_from(alg);
    struct der_tlv oid;
    if (der_expect(&a, 0x06, &oid))
        return;
    for (size_t i = 0; i < sizeof sig_oids / sizeof sig_oids[0]; i++) {
        if (der_oid_is(oid.val, sig_oids[i].oid, sig_oids[i].len)) {
            snprintf(out->sig_alg, sizeof out->sig_alg, "%s", sig_oids[i].name);
            out->sig_hash = sig_oids[i].hash;
            return;
        }
    }
    memcpy(out->sig_alg, "oid-", 4);
    if (der_oid_text(oid.val, out->sig_alg + 4, sizeof out->sig_alg - 4) != 0)
        snprintf(out->sig_alg, sizeof out->sig_alg, "oid-unreadable");
    out->sig_hash = X509_HASH_UNKNOWN;
}

static void walk_key(struct der_tlv spki, struct cert_info *out)
{
    struct rd k = rd_from(spki.val);
    struct der_tlv alg, bits, oid, params;
    out->key_type = X509_KEY_OTHER;
    if (der_expect(&k, 0x30, &alg) || der_expect(&k, 0x03, &bits) || bits.val.len < 1)
        return;
    struct rd a = rd_from(alg.val);
    if (der_expect(&a, 0x06, &oid))
        return;
    bool has_params = !rd_eof(&a) && der_next(&a, &params) == 0;
    const byte *key = bits.val.p + 1; /* after the unused-bits octet */
    word32 klen = (word32)(bits.val.len - 1);
    if (der_oid_is(oid.val, OID_RSA, sizeof OID_RSA)) {
        out->key_type = X509_KEY_RSA;
        out->key_bits = rsa_bits(key, klen);
    } else if (der_oid_is(oid.val, OID_EC, sizeof OID_EC)) {
        out->key_type = X509_KEY_EC;
        for (size_t i = 0; has_params && params.tag == 0x06 && i < sizeof curve_oid_bits /
                                                                 sizeof curve_oid_bits[0]; i++)
            if (der_oid_is(params.val, curve_oids[i].oid, curve_oids[i].len))
                out->key_bits = curve_oid_bits[i];
    } else if (der_oid_is(oid.val, OID_DSA, sizeof OID_DSA)) {
        out->key_type = X509_KEY_DSA;
        out->key_bits = dsa_bits(spki.whole.p, (word32)spki.whole.len);
    } else if (der_oid_is(oid.val, OID_ED25519, sizeof OID_ED25519)) {
        out->key_type = X509_KEY_ED25519;
        out->key_bits = 256;
    } else if (der_oid_is(oid.val, OID_ED448, sizeof OID_ED448)) {
        out->key_bits = 456;
    }
}

/* Extensions ::= SEQUENCE OF Extension { extnID, critical BOOLEAN DEFAULT FALSE, extnValue
 * OCTET STRING }; the SAN extension's value is GeneralNames, dNSName is [2] IA5String. */
static void walk_sans(struct bytes exts, const char *host, struct cert_info *out)
{
    struct rd e = rd_from(exts);
    struct der_tlv seq;
    if (der_expect(&e, 0x30, &seq))
        return;
    struct rd l = rd_from(seq.val);
    while (rd_ok(&l) && !rd_eof(&l)) {
        struct der_tlv ext, oid, x;
        if (der_expect(&l, 0x30, &ext))
            return;
        struct rd xr = rd_from(ext.val);
        if (der_expect(&xr, 0x06, &oid) || !der_oid_is(oid.val, OID_SAN, sizeof OID_SAN))
            continue;
        if (der_next(&xr, &x) == 0 && x.tag == 0x01)
            der_next(&xr, &x);
        if (!rd_ok(&xr) || x.tag != 0x04)
            continue;
        struct rd v = rd_from(x.val);
        struct der_tlv names;
        if (der_expect(&v, 0x30, &names))
            continue;
        struct rd g = rd_from(names.val);
        struct der_tlv gn;
        while (rd_ok(&g) && !rd_eof(&g) && der_next(&g, &gn) == 0)
            if (gn.tag == 0x82 && gn.val.len <= INT_MAX)
                san_add(out, (const char *)gn.val.p, (int)gn.val.len, host);
    }
}

/* Fills out (fingerprint already there) from the DER structure; 0 or NZ_EMALFORMED. */
static int walk_into(struct bytes der, uint64_t now_usec, const char *host, struct cert_info *out)
{
    if (der_check(der) != 0)
        return NZ_EMALFORMED;
    struct rd top = rd_from(der);
    struct der_tlv cert, tbs, sa, sig, x, isa, issuer, validity, subject, spki;
    if (der_expect(&top, 0x30, &cert))
        return NZ_EMALFORMED;
    struct rd c = rd_from(cert.val);
    if (der_expect(&c, 0x30, &tbs) || der_expect(&c, 0x30, &sa) || der_expect(&c, 0x03, &sig) ||
        !rd_eof(&c))
        return NZ_EMALFORMED;
    struct rd t = rd_from(tbs.val);
    if (der_next(&t, &x))
        return NZ_EMALFORMED;
    uint8_t version = 1;
    if (x.tag == 0xa0) { /* [0] EXPLICIT Version DEFAULT v1 */
        struct rd v = rd_from(x.val);
        struct der_tlv vi;
        if (der_expect(&v, 0x02, &vi) || vi.val.len != 1 || vi.val.p[0] > 2)
            return NZ_EMALFORMED;
        version = (uint8_t)(vi.val.p[0] + 1);
        if (der_next(&t, &x))
            return NZ_EMALFORMED;
    }
    if (x.tag != 0x02) /* serialNumber */
        return NZ_EMALFORMED;
    if (der_expect(&t, 0x30, &isa) || der_expect(&t, 0x30, &issuer) ||
        der_expect(&t, 0x30, &validity) || der_expect(&t, 0x30, &subject) ||
        der_expect(&t, 0x30, &spki))
        return NZ_EMALFORMED;
    struct bytes exts = {NULL, 0};
    while (!rd_eof(&t)) { /* issuerUniqueID [1], subjectUniqueID [2], extensions [3] */
        if (der_next(&t, &x))
            return NZ_EMALFORMED;
        if (x.tag == 0xa3)
            exts = x.val;
    }
    out->version = version;
    walk_cn(subject.val, out->subject_cn, sizeof out->subject_cn);
    walk_cn(issuer.val, out->issuer_cn, sizeof out->issuer_cn);
    out->self_issued = issuer.val.len == subject.val.len &&
                       memcmp(issuer.val.p, subject.val.p, issuer.val.len) == 0;
    struct rd vr = rd_from(validity.val);
    struct der_tlv nb, na;
    int64_t snb, sna;
    if (der_next(&vr, &nb) == 0 && der_next(&vr, &na) == 0 &&
        x509_parse_time(nb.whole, &snb) == 0 && x509_parse_time(na.whole, &sna) == 0)
        set_dates(snb, sna, now_usec, out);
    walk_key(spki, out);
    walk_sig(sa.val, out);
    if (exts.p)
        walk_sans(exts, host, out);
    out->host_checked = host && host[0];
    out->source = X509_SRC_DER_WALK;
    return 0;
}

/* Clears everything but the fingerprint, the wolfSSL reason and der_broken. */
static void keep_fingerprint(struct cert_info *out)
{
    struct cert_info k;
    memset(&k, 0, sizeof k);
    memcpy(k.sha256, out->sha256, sizeof k.sha256);
    memcpy(k.sha256_hex, out->sha256_hex, sizeof k.sha256_hex);
    k.wolf_fail = out->wolf_fail;
    k.der_broken = out->der_broken;
    *out = k;
}

int x509_walk(struct bytes der, uint64_t now_usec, const char *host, struct cert_info *out)
{
    memset(out, 0, sizeof *out);
    if (der.len > X509_DER_MAX)
        return NZ_ELIMIT;
    if (der.len == 0 || !der.p)
        return NZ_EMALFORMED;
    fingerprint(der, out);
    if (walk_into(der, now_usec, host, out) != 0) {
        out->der_broken = true;
        keep_fingerprint(out);
        return NZ_EMALFORMED;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------ */

int x509_parse(struct bytes der, uint64_t now_usec, struct cert_info *out)
{
    return x509_parse_host(der, now_usec, NULL, out);
}

int x509_parse_host(struct bytes der, uint64_t now_usec, const char *host, struct cert_info *out)
{
    memset(out, 0, sizeof *out);
    if (der.len > X509_DER_MAX)
        return NZ_ELIMIT;
    if (der.len == 0 || !der.p)
        return NZ_EMALFORMED;
    fingerprint(der, out);

    DecodedCert dc;
    wc_InitDecodedCert(&dc, der.p, (word32)der.len, NULL);
    int rc = wc_ParseCert(&dc, CERT_TYPE, NO_VERIFY, NULL);
    /* With NO_VERIFY wolfSSL still reports dates outside the wall clock; we judge dates at
     * packet time ourselves, so those are not errors here. */
    if (rc != 0 && rc != ASN_BEFORE_DATE_E && rc != ASN_AFTER_DATE_E) {
        wc_FreeDecodedCert(&dc);
        out->wolf_fail = wolf_reason(rc);
        if (walk_into(der, now_usec, host, out) == 0)
            return 0;
        out->der_broken = true;
        keep_fingerprint(out);
        return NZ_EMALFORMED;
    }
    out->source = X509_SRC_WOLFSSL;
    out->host_checked = host && host[0];

    copy_name(dc.subjectCN, dc.subjectCNLen, out->subject_cn, sizeof out->subject_cn);
    copy_name(dc.issuerCN, dc.issuerCNLen, out->issuer_cn, sizeof out->issuer_cn);
    out->self_issued = memcmp(dc.subjectHash, dc.issuerHash, sizeof dc.subjectHash) == 0;
    /* DecodedCert.version is the DER INTEGER (0 = v1 .. 2 = v3; absent = v1) */
    out->version = dc.version >= 0 && dc.version <= 2 ? (uint8_t)(dc.version + 1) : 0;

    int64_t nb = 0, na = 0;
    if (wolf_date(dc.beforeDate, dc.beforeDateLen, &nb) &&
        wolf_date(dc.afterDate, dc.afterDateLen, &na))
        set_dates(nb, na, now_usec, out);
    set_key(&dc, out);
    set_sig(dc.signatureOID, out);
    set_sans(&dc, host, out);

    if (out->self_issued && dc.publicKey && dc.pubKeySize > 0) {
        out->self_sig_checked = true;
        out->self_sig_ok = wc_CheckCertSigPubKey(der.p, (word32)der.len, NULL, dc.publicKey,
                                                 dc.pubKeySize, (int)dc.keyOID) == 0;
    }
    wc_FreeDecodedCert(&dc);
    return 0;
}

void x509_thread_done(void)
{
#ifdef FP_ECC
    wc_ecc_fp_free();
#endif
}
