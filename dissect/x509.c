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
 * DER_NODES_MAX); only when that fails too is the DER itself broken (der_broken).
 *
 * x509_facts (the certificates table, once per new certificate): x509_parse_host for the
 * struct cert_info, then our own split of the Certificate (cert_split, the same code the
 * fallback walk uses) for everything else, so those facts do not depend on the decoder: the
 * SHA-256 of the SubjectPublicKeyInfo TLV (not wc_GetPubKeyDerFromCert, which hands out only
 * the bare key on some wolfSSL versions), subject/issuer as RFC 4514 strings (§2: reversed RDN
 * order, §2.4 escaping; OpenSSL's -nameopt RFC2253 output for ASCII names), the serial
 * (§4.1.2.2), every SAN dNSName and iPAddress (§4.2.1.6; IPv6 text per RFC 5952 §4),
 * basicConstraints (§4.2.1.9), keyUsage (§4.2.1.3), extKeyUsage (§4.2.1.12), the EC named
 * curve (RFC 5480 §2.1.1.1). Still ignored there: other SAN types (email, URI, directory
 * names), name constraints, policies, AIA/CRL distribution points. */
#include <stdio.h>
#include <stdlib.h>
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
 * OCTET STRING } (RFC 5280 §4.1, §4.2). exts is the contents of the [3] wrapper. Calls fn
 * with the extnID contents and the extnValue contents of each readable Extension; stops at
 * one that is not a SEQUENCE, skips one whose extnID or extnValue is unreadable. */
typedef void ext_fn(void *ctx, struct bytes oid, struct bytes value);

static void ext_each(struct bytes exts, ext_fn *fn, void *ctx)
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
        if (der_expect(&xr, 0x06, &oid))
            continue;
        if (der_next(&xr, &x) == 0 && x.tag == 0x01)
            der_next(&xr, &x);
        if (!rd_ok(&xr) || x.tag != 0x04)
            continue;
        fn(ctx, oid.val, x.val);
    }
}

/* The GeneralNames of a SAN extension value (RFC 5280 §4.2.1.6): calls fn with each readable
 * GeneralName TLV (dNSName is [2] IA5String, tag 0x82; iPAddress [7] OCTET STRING, 0x87). */
static void san_each(struct bytes value, void (*fn)(void *ctx, const struct der_tlv *gn), void *ctx)
{
    struct rd v = rd_from(value);
    struct der_tlv names;
    if (der_expect(&v, 0x30, &names))
        return;
    struct rd g = rd_from(names.val);
    struct der_tlv gn;
    while (rd_ok(&g) && !rd_eof(&g) && der_next(&g, &gn) == 0)
        fn(ctx, &gn);
}

struct walk_san_ctx {
    struct cert_info *out;
    const char *host;
};

static void walk_san_name(void *ctx, const struct der_tlv *gn)
{
    struct walk_san_ctx *c = ctx;
    if (gn->tag == 0x82 && gn->val.len <= INT_MAX)
        san_add(c->out, (const char *)gn->val.p, (int)gn->val.len, c->host);
}

static void walk_san_ext(void *ctx, struct bytes oid, struct bytes value)
{
    if (der_oid_is(oid, OID_SAN, sizeof OID_SAN))
        san_each(value, walk_san_name, ctx);
}

/* Every SAN extension's dNSNames into out (san_add). */
static void walk_sans(struct bytes exts, const char *host, struct cert_info *out)
{
    struct walk_san_ctx c = {out, host};
    ext_each(exts, walk_san_ext, &c);
}

/* The parts of a Certificate (RFC 5280 §4.1) as the walk finds them. */
struct cert_parts {
    uint8_t version;          /* 1..3 */
    struct der_tlv serial;    /* INTEGER */
    struct der_tlv issuer;    /* Name (SEQUENCE) */
    struct der_tlv validity;  /* SEQUENCE */
    struct der_tlv subject;   /* Name (SEQUENCE) */
    struct der_tlv spki;      /* SubjectPublicKeyInfo (SEQUENCE) */
    struct der_tlv sig_alg;   /* the outer signatureAlgorithm (SEQUENCE) */
    struct bytes exts;        /* contents of the [3] wrapper; {NULL, 0} when absent */
};

/* Splits a Certificate { tbsCertificate { [0] version OPTIONAL, serialNumber, signature,
 * issuer, validity, subject, subjectPublicKeyInfo, [1], [2], [3] extensions },
 * signatureAlgorithm, signatureValue } into *p through the checked cursor. Bytes after the
 * Certificate are not looked at (x509_walk refuses them through der_check). Returns 0 or
 * NZ_EMALFORMED. */
static int cert_split(struct bytes der, struct cert_parts *p)
{
    memset(p, 0, sizeof *p);
    struct rd top = rd_from(der);
    struct der_tlv cert, tbs, sig, x, isa;
    if (der_expect(&top, 0x30, &cert))
        return NZ_EMALFORMED;
    struct rd c = rd_from(cert.val);
    if (der_expect(&c, 0x30, &tbs) || der_expect(&c, 0x30, &p->sig_alg) ||
        der_expect(&c, 0x03, &sig) || !rd_eof(&c))
        return NZ_EMALFORMED;
    struct rd t = rd_from(tbs.val);
    if (der_next(&t, &x))
        return NZ_EMALFORMED;
    p->version = 1;
    if (x.tag == 0xa0) { /* [0] EXPLICIT Version DEFAULT v1 */
        struct rd v = rd_from(x.val);
        struct der_tlv vi;
        if (der_expect(&v, 0x02, &vi) || vi.val.len != 1 || vi.val.p[0] > 2)
            return NZ_EMALFORMED;
        p->version = (uint8_t)(vi.val.p[0] + 1);
        if (der_next(&t, &x))
            return NZ_EMALFORMED;
    }
    if (x.tag != 0x02) /* serialNumber */
        return NZ_EMALFORMED;
    p->serial = x;
    if (der_expect(&t, 0x30, &isa) || der_expect(&t, 0x30, &p->issuer) ||
        der_expect(&t, 0x30, &p->validity) || der_expect(&t, 0x30, &p->subject) ||
        der_expect(&t, 0x30, &p->spki))
        return NZ_EMALFORMED;
    while (!rd_eof(&t)) { /* issuerUniqueID [1], subjectUniqueID [2], extensions [3] */
        if (der_next(&t, &x))
            return NZ_EMALFORMED;
        if (x.tag == 0xa3)
            p->exts = x.val;
    }
    return 0;
}

/* Fills out (fingerprint already there) from the DER structure; 0 or NZ_EMALFORMED. */
static int walk_into(struct bytes der, uint64_t now_usec, const char *host, struct cert_info *out)
{
    if (der_check(der) != 0)
        return NZ_EMALFORMED;
    struct cert_parts cp;
    if (cert_split(der, &cp) != 0)
        return NZ_EMALFORMED;
    out->version = cp.version;
    walk_cn(cp.subject.val, out->subject_cn, sizeof out->subject_cn);
    walk_cn(cp.issuer.val, out->issuer_cn, sizeof out->issuer_cn);
    out->self_issued = cp.issuer.val.len == cp.subject.val.len &&
                       memcmp(cp.issuer.val.p, cp.subject.val.p, cp.issuer.val.len) == 0;
    struct rd vr = rd_from(cp.validity.val);
    struct der_tlv nb, na;
    int64_t snb, sna;
    if (der_next(&vr, &nb) == 0 && der_next(&vr, &na) == 0 &&
        x509_parse_time(nb.whole, &snb) == 0 && x509_parse_time(na.whole, &sna) == 0)
        set_dates(snb, sna, now_usec, out);
    walk_key(cp.spki, out);
    walk_sig(cp.sig_alg.val, out);
    if (cp.exts.p)
        walk_sans(cp.exts, host, out);
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

/* ------------------------------------------------------------------------------------ */
/* x509_facts: the certificates table                                                     */

#define MARK_LEN (sizeof X509_CUT_MARK - 1)

/* A growing heap string. max bounds the text (bytes, the cut marker included; 0: no bound):
 * once a unit does not fit in max - MARK_LEN, the text is cut there and later units are
 * dropped; sb_finish then appends X509_CUT_MARK. */
struct sb {
    char *p;
    size_t len, cap, max;
    bool oom, cut;
};

static bool sb_reserve(struct sb *s, size_t add)
{
    if (s->oom)
        return false;
    if (s->cap > s->len && add < s->cap - s->len)
        return true;
    if (add > SIZE_MAX / 4 - s->len) {
        s->oom = true;
        return false;
    }
    size_t need = s->len + add + 1, nc = s->cap ? s->cap : 64;
    while (nc < need)
        nc *= 2;
    char *np = realloc(s->p, nc);
    if (!np) {
        s->oom = true;
        return false;
    }
    s->p = np;
    s->cap = nc;
    return true;
}

/* Appends n bytes as one unit (never split by a cut). */
static void sb_unit(struct sb *s, const char *t, size_t n)
{
    if (s->cut || s->oom)
        return;
    if (s->max && n > s->max - MARK_LEN - s->len) {
        s->cut = true;
        return;
    }
    if (!sb_reserve(s, n))
        return;
    memcpy(s->p + s->len, t, n);
    s->len += n;
    s->p[s->len] = '\0';
}

static void sb_str(struct sb *s, const char *t) { sb_unit(s, t, strlen(t)); }

/* Appends b as printable ASCII: ',' and bytes outside 0x20..0x7e become '?'. Unbounded s. */
static void sb_list_text(struct sb *s, struct bytes b)
{
    if (s->oom || !sb_reserve(s, b.len))
        return;
    struct rd r = rd_from(b);
    while (!rd_eof(&r)) {
        uint8_t c = rd_u8(&r);
        s->p[s->len++] = c < 0x20 || c > 0x7e || c == ',' ? '?' : (char)c;
    }
    s->p[s->len] = '\0';
}

/* The finished text (heap, "" when empty; NULL on allocation failure, s->oom set). */
static char *sb_finish(struct sb *s)
{
    if (s->cut && !s->oom && sb_reserve(s, MARK_LEN)) {
        memcpy(s->p + s->len, X509_CUT_MARK, MARK_LEN);
        s->len += MARK_LEN;
        s->p[s->len] = '\0';
    }
    if (!s->oom && !s->p && sb_reserve(s, 0))
        s->p[0] = '\0';
    if (s->oom) {
        free(s->p);
        s->p = NULL;
    }
    char *p = s->p;
    s->p = NULL;
    return p;
}

/* Copies a finished bounded text into a fixed field (cap > s->max) and frees it. */
static void sb_to_field(struct sb *s, char *dst, size_t cap)
{
    char *p = sb_finish(s);
    snprintf(dst, cap, "%s", p ? p : "");
    free(p);
}

static const char hexl[] = "0123456789abcdef";
static const char hexu[] = "0123456789ABCDEF";

/* ---- Names (RFC 4514) ---- */

#define X520(x) 3, {0x55, 0x04, x}
static const struct oid_name dn_types[] = {
    {X520(0x03), "CN", 0},
    {X520(0x07), "L", 0},
    {X520(0x08), "ST", 0},
    {X520(0x0a), "O", 0},
    {X520(0x0b), "OU", 0},
    {X520(0x06), "C", 0},
    {X520(0x09), "STREET", 0},
    {10, {0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19}, "DC", 0},
    {10, {0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01}, "UID", 0},
    /* beyond RFC 4514 §3: OpenSSL's short names */
    {9, {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01}, "emailAddress", 0},
    {X520(0x05), "serialNumber", 0},
    {X520(0x04), "SN", 0},
    {X520(0x2a), "GN", 0},
    {X520(0x0c), "title", 0},
    {X520(0x2b), "initials", 0},
    {X520(0x2c), "generationQualifier", 0},
    {X520(0x2e), "dnQualifier", 0},
    {X520(0x41), "pseudonym", 0},
    {X520(0x0d), "description", 0},
    {X520(0x0f), "businessCategory", 0},
    {X520(0x11), "postalCode", 0},
    {X520(0x61), "organizationIdentifier", 0},
};
/* jurisdiction{L,ST,C} (EV guidelines): 1.3.6.1.4.1.311.60.2.1.{1,2,3} */
static const uint8_t OID_JURISDICTION[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02,
                                           0x01};
static const char *const jurisdiction[] = {"jurisdictionL", "jurisdictionST", "jurisdictionC"};

/* Short name of an attribute type, or NULL (then dotted, value as hex). */
static const char *dn_type_name(struct bytes oid)
{
    for (size_t i = 0; i < sizeof dn_types / sizeof dn_types[0]; i++)
        if (der_oid_is(oid, dn_types[i].oid, dn_types[i].len))
            return dn_types[i].name;
    size_t jn = sizeof OID_JURISDICTION;
    if (oid.len == jn + 1 && memcmp(oid.p, OID_JURISDICTION, jn) == 0) {
        int last = bytes_at(oid, jn);
        if (last >= 1 && last <= 3)
            return jurisdiction[last - 1];
    }
    return NULL;
}

/* Octets per character of a string type; 0 for a tag that is no string type. */
static unsigned dn_char_width(uint8_t tag)
{
    switch (tag) {
    case 0x0c: /* UTF8String (each byte judged alone) */
    case 0x12: /* NumericString */
    case 0x13: /* PrintableString */
    case 0x14: /* TeletexString */
    case 0x15: /* VideotexString */
    case 0x16: /* IA5String */
    case 0x19: /* GraphicString */
    case 0x1a: /* VisibleString */
    case 0x1b: /* GeneralString */
        return 1;
    case 0x1e: /* BMPString: UCS-2 */
        return 2;
    case 0x1c: /* UniversalString: UCS-4 */
        return 4;
    default:
        return 0;
    }
}

/* One AttributeValue as RFC 4514 text (see x509.h). */
static void dn_value(struct sb *s, const struct der_tlv *v, bool hex)
{
    unsigned w = hex ? 0 : dn_char_width(v->tag);
    if (w == 0) {
        sb_unit(s, "#", 1);
        struct rd r = rd_from(v->whole);
        while (!rd_eof(&r) && !s->cut && !s->oom) {
            uint8_t c = rd_u8(&r);
            char h[2] = {hexu[c >> 4], hexu[c & 15]};
            sb_unit(s, h, 2);
        }
        return;
    }
    struct rd r = rd_from(v->val);
    bool first = true;
    while (!rd_eof(&r) && !s->cut && !s->oom) {
        uint32_t code = 0;
        size_t have = rd_left(&r);
        if (have < w) { /* an odd tail of a BMPString/UniversalString */
            rd_skip(&r, have);
            code = '?';
        } else {
            for (unsigned i = 0; i < w; i++)
                code = code << 8 | rd_u8(&r);
        }
        char c = code >= 0x20 && code <= 0x7e ? (char)code : '?';
        bool last = rd_eof(&r);
        char u[2] = {'\\', c};
        bool esc = strchr(",+\"\\<>;", c) != NULL || (first && (c == ' ' || c == '#')) ||
                   (last && c == ' ');
        if (esc)
            sb_unit(s, u, 2);
        else
            sb_unit(s, &c, 1);
        first = false;
    }
}

struct dn_ava {
    struct bytes oid;
    struct der_tlv val;
    size_t rdn;     /* index of its RelativeDistinguishedName */
};

/* Walks Name contents (SEQUENCE OF RDN, RDN = SET OF AttributeTypeAndValue); with avas NULL
 * only counts. A non-SET RDN ends the walk; an unreadable AVA is skipped. */
static size_t dn_avas(struct bytes name, struct dn_ava *avas, size_t cap)
{
    size_t n = 0, rdn = 0;
    struct rd r = rd_from(name);
    while (rd_ok(&r) && !rd_eof(&r)) {
        struct der_tlv set;
        if (der_expect(&r, 0x31, &set))
            break;
        struct rd s = rd_from(set.val);
        while (rd_ok(&s) && !rd_eof(&s)) {
            struct der_tlv atv, oid, val;
            if (der_expect(&s, 0x30, &atv))
                break;
            struct rd a = rd_from(atv.val);
            if (der_expect(&a, 0x06, &oid) || der_next(&a, &val))
                continue;
            if (avas && n < cap) {
                avas[n].oid = oid.val;
                avas[n].val = val;
                avas[n].rdn = rdn;
            }
            n++;
        }
        rdn++;
    }
    return n;
}

/* Name contents → RFC 4514 text into s (bounded by s->max). */
static void dn_text(struct bytes name, struct sb *s)
{
    size_t n = dn_avas(name, NULL, 0);
    if (n == 0)
        return;
    struct dn_ava *avas = calloc(n, sizeof *avas);
    if (!avas) {
        s->oom = true;
        return;
    }
    n = dn_avas(name, avas, n);
    for (size_t k = n; k-- > 0 && !s->cut && !s->oom;) {
        if (k + 1 < n)
            sb_unit(s, avas[k].rdn == avas[k + 1].rdn ? "+" : ",", 1);
        const char *type = dn_type_name(avas[k].oid);
        char dotted[128];
        if (!type) {
            if (der_oid_text(avas[k].oid, dotted, sizeof dotted) != 0)
                snprintf(dotted, sizeof dotted, "oid-unreadable");
            type = dotted;
        }
        char t[160];
        int tn = snprintf(t, sizeof t, "%s=", type);
        sb_unit(s, t, (size_t)tn);
        dn_value(s, &avas[k].val, type == dotted);
    }
    free(avas);
}

/* ---- SANs ---- */

/* RFC 5952 text of an iPAddress (4 or 16 octets); '#' + hex for other lengths. */
static void ip_text(struct bytes a, char *buf, size_t cap)
{
    struct rd r = rd_from(a);
    if (a.len == 4) {
        unsigned b0 = rd_u8(&r), b1 = rd_u8(&r), b2 = rd_u8(&r), b3 = rd_u8(&r);
        snprintf(buf, cap, "%u.%u.%u.%u", b0, b1, b2, b3);
        return;
    }
    if (a.len == 16) {
        unsigned g[8];
        for (int i = 0; i < 8; i++)
            g[i] = rd_be16(&r);
        if (!g[0] && !g[1] && !g[2] && !g[3] && !g[4] && g[5] == 0xffff) { /* RFC 5952 §5 */
            snprintf(buf, cap, "::ffff:%u.%u.%u.%u", g[6] >> 8, g[6] & 255, g[7] >> 8,
                     g[7] & 255);
            return;
        }
        int best = -1, best_len = 1; /* §4.2.2: a single 0 field is not shortened */
        for (int i = 0; i < 8;) {
            int j = i;
            while (j < 8 && g[j] == 0)
                j++;
            if (j - i > best_len) { /* §4.2.3: the longest run, the first one on a tie */
                best = i;
                best_len = j - i;
            }
            i = j > i ? j : i + 1;
        }
        size_t used = 0;
        buf[0] = '\0';
        for (int i = 0; i < 8 && used < cap; i++) {
            int n;
            if (i == best) {
                n = snprintf(buf + used, cap - used, "::");
                i += best_len - 1;
            } else {
                bool colon = i > 0 && i != best + best_len;
                n = snprintf(buf + used, cap - used, "%s%x", colon ? ":" : "", g[i]);
            }
            if (n < 0)
                break;
            used += (size_t)n;
        }
        return;
    }
    size_t used = 0;
    buf[used++] = '#';
    for (size_t i = 0; i < a.len && i < 32 && used + 3 < cap; i++) {
        int c = bytes_at(a, i);
        buf[used++] = hexl[c >> 4];
        buf[used++] = hexl[c & 15];
    }
    buf[used] = '\0';
    if (a.len > 32 && used + MARK_LEN < cap)
        memcpy(buf + used, X509_CUT_MARK, MARK_LEN + 1);
}

/* ---- extensions ---- */

static const uint8_t OID_BC[] = {0x55, 0x1d, 0x13};
static const uint8_t OID_KU[] = {0x55, 0x1d, 0x0f};
static const uint8_t OID_EKU[] = {0x55, 0x1d, 0x25};

#define KP(x) 8, {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, x}
static const struct oid_name eku_names[] = {
    {KP(0x01), "serverAuth", 0},
    {KP(0x02), "clientAuth", 0},
    {KP(0x03), "codeSigning", 0},
    {KP(0x04), "emailProtection", 0},
    {KP(0x05), "ipsecEndSystem", 0},
    {KP(0x06), "ipsecTunnel", 0},
    {KP(0x07), "ipsecUser", 0},
    {KP(0x08), "timeStamping", 0},
    {KP(0x09), "OCSPSigning", 0},
    {KP(0x11), "ipsecIKE", 0},
    {4, {0x55, 0x1d, 0x25, 0x00}, "anyExtendedKeyUsage", 0},
    {10, {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x0a, 0x03, 0x03}, "msSGC", 0},
    {9, {0x60, 0x86, 0x48, 0x01, 0x86, 0xf8, 0x42, 0x04, 0x01}, "nsSGC", 0},
};

static const char *const ku_names[9] = {
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
    "keyAgreement",     "keyCertSign",    "cRLSign",         "encipherOnly",
    "decipherOnly",
};

struct facts_ctx {
    struct x509_facts *f;
    struct sb dns, ip;
    bool seen_bc, seen_ku, seen_eku; /* only the first of each (RFC 5280 §4.2: one instance) */
};

static void facts_san_name(void *ctx, const struct der_tlv *gn)
{
    struct facts_ctx *c = ctx;
    if (gn->tag == 0x82) {
        if (c->f->n_san_dns++)
            sb_unit(&c->dns, ",", 1);
        sb_list_text(&c->dns, gn->val);
    } else if (gn->tag == 0x87) {
        char t[80];
        ip_text(gn->val, t, sizeof t);
        if (c->f->n_san_ip++)
            sb_unit(&c->ip, ",", 1);
        sb_str(&c->ip, t);
    }
}

/* BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER
 * (0..MAX) OPTIONAL } (RFC 5280 §4.2.1.9). */
static void facts_bc(struct x509_facts *f, struct bytes value)
{
    struct rd v = rd_from(value);
    struct der_tlv seq, x;
    if (der_expect(&v, 0x30, &seq))
        return;
    struct rd s = rd_from(seq.val);
    int ca = 0, plen = -1;
    bool have = !rd_eof(&s);
    if (have && der_next(&s, &x))
        return;
    if (have && x.tag == 0x01) { /* cA */
        if (x.val.len != 1)
            return;
        ca = bytes_at(x.val, 0) != 0;
        have = !rd_eof(&s);
        if (have && der_next(&s, &x))
            return;
    }
    if (have) { /* pathLenConstraint */
        if (x.tag != 0x02 || x.val.len == 0)
            return;
        if ((bytes_at(x.val, 0) & 0x80) == 0) { /* a negative one stays -1 */
            struct rd n = rd_from(x.val);
            uint64_t u = 0;
            while (!rd_eof(&n) && u <= INT_MAX)
                u = u << 8 | rd_u8(&n);
            plen = u > INT_MAX ? INT_MAX : (int)u;
        }
    }
    f->is_ca = ca;
    f->path_len = plen;
}

/* KeyUsage ::= BIT STRING (RFC 5280 §4.2.1.3); bits past decipherOnly are not named. */
static void facts_ku(struct x509_facts *f, struct bytes value)
{
    struct rd v = rd_from(value);
    struct der_tlv bits;
    if (der_expect(&v, 0x03, &bits) || bits.val.len < 1)
        return;
    struct sb s = {.max = sizeof f->key_usage - 1};
    for (size_t i = 0; i < 9; i++) {
        int octet = bytes_at(bits.val, 1 + i / 8);
        if (octet > 0 && (octet & (0x80 >> (i % 8)))) {
            if (s.len)
                sb_unit(&s, ",", 1);
            sb_str(&s, ku_names[i]);
        }
    }
    sb_to_field(&s, f->key_usage, sizeof f->key_usage);
}

/* ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId (RFC 5280 §4.2.1.12). */
static void facts_eku(struct x509_facts *f, struct bytes value)
{
    struct rd v = rd_from(value);
    struct der_tlv seq, oid;
    if (der_expect(&v, 0x30, &seq))
        return;
    struct sb s = {.max = sizeof f->ext_key_usage - 1};
    struct rd r = rd_from(seq.val);
    while (rd_ok(&r) && !rd_eof(&r) && der_expect(&r, 0x06, &oid) == 0) {
        char t[132];
        const char *name = NULL;
        for (size_t i = 0; i < sizeof eku_names / sizeof eku_names[0]; i++)
            if (der_oid_is(oid.val, eku_names[i].oid, eku_names[i].len))
                name = eku_names[i].name;
        char dotted[128];
        if (!name && der_oid_text(oid.val, dotted, sizeof dotted) == 0)
            name = dotted;
        if (!name)
            continue;
        int n = snprintf(t, sizeof t, "%s%s", s.len ? "," : "", name);
        if (n > 0 && (size_t)n < sizeof t)
            sb_unit(&s, t, (size_t)n);
    }
    sb_to_field(&s, f->ext_key_usage, sizeof f->ext_key_usage);
}

static void facts_ext(void *ctx, struct bytes oid, struct bytes value)
{
    struct facts_ctx *c = ctx;
    if (der_oid_is(oid, OID_SAN, sizeof OID_SAN)) {
        san_each(value, facts_san_name, c);
    } else if (der_oid_is(oid, OID_BC, sizeof OID_BC) && !c->seen_bc) {
        c->seen_bc = true;
        facts_bc(c->f, value);
    } else if (der_oid_is(oid, OID_KU, sizeof OID_KU) && !c->seen_ku) {
        c->seen_ku = true;
        facts_ku(c->f, value);
    } else if (der_oid_is(oid, OID_EKU, sizeof OID_EKU) && !c->seen_eku) {
        c->seen_eku = true;
        facts_eku(c->f, value);
    }
}

/* ---- key, serial ---- */

static const struct oid_name more_curves[] = {
    {9, {0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07}, "brainpoolP256r1", 0},
    {9, {0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0b}, "brainpoolP384r1", 0},
    {9, {0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0d}, "brainpoolP512r1", 0},
};

/* SubjectPublicKeyInfo → SHA-256 of the whole TLV, and the EC curve name. */
static void facts_key(struct x509_facts *f, const struct der_tlv *spki)
{
    if (wc_Sha256Hash(spki->whole.p, (word32)spki->whole.len, f->spki_sha256) == 0) {
        for (size_t i = 0; i < sizeof f->spki_sha256; i++) {
            f->spki_sha256_hex[2 * i] = hexl[f->spki_sha256[i] >> 4];
            f->spki_sha256_hex[2 * i + 1] = hexl[f->spki_sha256[i] & 15];
        }
        f->spki_sha256_hex[64] = '\0';
    }
    struct rd k = rd_from(spki->val);
    struct der_tlv alg, oid, params;
    if (der_expect(&k, 0x30, &alg))
        return;
    struct rd a = rd_from(alg.val);
    if (der_expect(&a, 0x06, &oid) || !der_oid_is(oid.val, OID_EC, sizeof OID_EC) ||
        rd_eof(&a) || der_next(&a, &params))
        return;
    if (params.tag == 0x30) { /* specifiedCurve (RFC 3279 §2.3.5), forbidden by RFC 5480 */
        snprintf(f->key_curve, sizeof f->key_curve, "explicit");
        return;
    }
    if (params.tag != 0x06)
        return;
    for (size_t i = 0; i < sizeof curve_oids / sizeof curve_oids[0]; i++)
        if (der_oid_is(params.val, curve_oids[i].oid, curve_oids[i].len)) {
            snprintf(f->key_curve, sizeof f->key_curve, "%s", curve_oids[i].name);
            return;
        }
    for (size_t i = 0; i < sizeof more_curves / sizeof more_curves[0]; i++)
        if (der_oid_is(params.val, more_curves[i].oid, more_curves[i].len)) {
            snprintf(f->key_curve, sizeof f->key_curve, "%s", more_curves[i].name);
            return;
        }
    memcpy(f->key_curve, "oid-", 4);
    if (der_oid_text(params.val, f->key_curve + 4, sizeof f->key_curve - 4) != 0)
        snprintf(f->key_curve, sizeof f->key_curve, "oid-unreadable");
}

static void facts_serial(struct x509_facts *f, struct bytes v)
{
    size_t used = 0;
    struct rd r = rd_from(v);
    for (size_t i = 0; i < X509_SERIAL_OCTETS && !rd_eof(&r); i++) {
        uint8_t c = rd_u8(&r);
        f->serial_hex[used++] = hexl[c >> 4];
        f->serial_hex[used++] = hexl[c & 15];
    }
    if (!rd_eof(&r)) {
        memcpy(f->serial_hex + used, X509_CUT_MARK, MARK_LEN);
        used += MARK_LEN;
    }
    f->serial_hex[used] = '\0';
}

void x509_facts_free(struct x509_facts *f)
{
    if (!f)
        return;
    free(f->subject_dn);
    free(f->issuer_dn);
    free(f->san_dns);
    free(f->san_ip);
    f->subject_dn = f->issuer_dn = f->san_dns = f->san_ip = NULL;
}

int x509_facts(struct bytes der, struct x509_facts *out)
{
    memset(out, 0, sizeof *out);
    out->is_ca = -1;
    out->path_len = -1;
    int rc = x509_parse_host(der, 0, NULL, &out->info);
    if (rc == NZ_ELIMIT)
        return rc;
    if (out->info.wolf_fail != X509_WOLF_OK)
        snprintf(out->parse_error, sizeof out->parse_error, "%s",
                 x509_wolf_fail_name(out->info.wolf_fail));
    if (rc != 0)
        return rc;
    out->parsed_by = out->info.source == X509_SRC_WOLFSSL ? "wolfssl" : "der_walk";

    struct sb subj = {.max = X509_DN_TEXT_MAX}, iss = {.max = X509_DN_TEXT_MAX};
    struct facts_ctx c = {.f = out};
    struct cert_parts cp;
    if (cert_split(der, &cp) == 0) {
        facts_key(out, &cp.spki);
        facts_serial(out, cp.serial.val);
        dn_text(cp.subject.val, &subj);
        dn_text(cp.issuer.val, &iss);
        if (cp.exts.p)
            ext_each(cp.exts, facts_ext, &c);
    }
    out->subject_dn = sb_finish(&subj);
    out->issuer_dn = sb_finish(&iss);
    out->san_dns = sb_finish(&c.dns);
    out->san_ip = sb_finish(&c.ip);
    if (!out->subject_dn || !out->issuer_dn || !out->san_dns || !out->san_ip) {
        x509_facts_free(out);
        return NZ_ENOMEM;
    }
    return 0;
}
