/* ciphers.c — what a TLS cipher-suite code point (or an SSLv2 cipher kind) means: name, key
 * exchange, bulk cipher, MAC and strength class, looked up in the table that
 * dissect/gen_ciphers.py generates from dissect/ciphers.tsv at build time.
 *
 * Follows the IANA "TLS Cipher Suites" registry (RFC 8447 §8; suites from RFC 5246 App. A.5,
 * RFC 8446 App. B.4 and the per-suite RFCs named in the TSV), the SCSVs of RFC 5746 §3.3 and
 * RFC 7507 §2, GREASE per RFC 8701 §2, and the SSL 2.0 CIPHER-KIND values
 * (draft-hickman-netscape-ssl-00, Appendix C). Strength classes: doc/REFERENCE.md §3b;
 * the precedence rules are documented in the TSV header.
 *
 * Ignores: unregistered vendor and draft code points (they look up as NULL = unknown, never
 * as safe), and the 0x1306/0x1307 AEGIS registrations, which ciphers.h cannot describe yet. */
#include "dissect/ciphers.h"

#include "ciphers_table.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(ARRAY_LEN(cipher_table) > 0, "empty cipher table");

/* Binary search by code point. Returns a pointer into the static table (valid for the
 * program's lifetime; never free it) or NULL for a code point the table does not hold. */
const struct cipher_info *cipher_lookup(uint16_t code)
{
    size_t lo = 0, hi = ARRAY_LEN(cipher_table);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint16_t c = cipher_table[mid].code;

        if (c == code)
            return &cipher_table[mid];
        if (c < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Binary search by 3-byte SSLv2 CIPHER-KIND. Returns a pointer into the static table (its
 * code field is 0) or NULL for an unknown kind, including any value above 0xFFFFFF. */
const struct cipher_info *cipher_lookup_v2(uint32_t kind)
{
    size_t lo = 0, hi = ARRAY_LEN(cipher_table_v2);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t k = cipher_table_v2[mid].kind;

        if (k == kind)
            return &cipher_table_v2[mid].info;
        if (k < kind)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* True for the 16 GREASE values 0x0A0A, 0x1A1A, ..., 0xFAFA; false for everything else. */
bool cipher_is_grease(uint16_t v)
{
    /* RFC 8701 §2: {0x?A, 0x?A} with both bytes equal. */
    return (v & 0x0f0fu) == 0x0a0au && (v >> 8) == (v & 0xffu);
}

/* Number of TLS entries (SSLv2 kinds not included). */
size_t cipher_count(void)
{
    return ARRAY_LEN(cipher_table);
}

/* names[v] for a valid enum value, "invalid" for anything outside the table. */
static const char *enum_name(const char *const *names, size_t n, int v)
{
    if (v < 0 || (size_t)v >= n || names[v] == NULL)
        return "invalid";
    return names[v];
}

static const char *const kx_names[] = {
    [CKX_UNKNOWN] = "unknown", [CKX_NULL] = "NULL", [CKX_RSA] = "RSA",
    [CKX_RSA_EXPORT] = "RSA_EXPORT", [CKX_DH] = "DH", [CKX_DHE] = "DHE", [CKX_ECDH] = "ECDH",
    [CKX_ECDHE] = "ECDHE", [CKX_PSK] = "PSK", [CKX_DHE_PSK] = "DHE_PSK",
    [CKX_ECDHE_PSK] = "ECDHE_PSK", [CKX_RSA_PSK] = "RSA_PSK", [CKX_SRP] = "SRP",
    [CKX_KRB5] = "KRB5", [CKX_ECCPWD] = "ECCPWD", [CKX_GOST] = "GOST", [CKX_TLS13] = "TLS13",
};
_Static_assert(ARRAY_LEN(kx_names) == CKX_TLS13 + 1, "kx_names out of step with ciphers.h");

static const char *const auth_names[] = {
    [CAU_UNKNOWN] = "unknown", [CAU_NULL] = "NULL", [CAU_ANON] = "anon", [CAU_RSA] = "RSA",
    [CAU_DSS] = "DSS", [CAU_ECDSA] = "ECDSA", [CAU_PSK] = "PSK", [CAU_SRP] = "SRP",
    [CAU_KRB5] = "KRB5", [CAU_GOST] = "GOST", [CAU_TLS13] = "TLS13",
};
_Static_assert(ARRAY_LEN(auth_names) == CAU_TLS13 + 1, "auth_names out of step with ciphers.h");

static const char *const enc_names[] = {
    [CEN_UNKNOWN] = "unknown", [CEN_NULL] = "NULL", [CEN_RC2] = "RC2", [CEN_RC4] = "RC4",
    [CEN_DES40] = "DES40", [CEN_DES] = "DES", [CEN_3DES] = "3DES", [CEN_IDEA] = "IDEA",
    [CEN_SEED] = "SEED", [CEN_AES128] = "AES128", [CEN_AES256] = "AES256",
    [CEN_CAMELLIA128] = "CAMELLIA128", [CEN_CAMELLIA256] = "CAMELLIA256",
    [CEN_ARIA128] = "ARIA128", [CEN_ARIA256] = "ARIA256", [CEN_CHACHA20] = "CHACHA20",
    [CEN_GOST] = "GOST", [CEN_SM4] = "SM4",
};
_Static_assert(ARRAY_LEN(enc_names) == CEN_SM4 + 1, "enc_names out of step with ciphers.h");

static const char *const mode_names[] = {
    [CMO_NONE] = "none", [CMO_STREAM] = "stream", [CMO_CBC] = "CBC", [CMO_GCM] = "GCM",
    [CMO_CCM] = "CCM", [CMO_CCM8] = "CCM8", [CMO_POLY1305] = "POLY1305", [CMO_CNT] = "CNT",
};
_Static_assert(ARRAY_LEN(mode_names) == CMO_CNT + 1, "mode_names out of step with ciphers.h");

static const char *const mac_names[] = {
    [CMA_NONE] = "none", [CMA_AEAD] = "AEAD", [CMA_MD5] = "MD5", [CMA_SHA1] = "SHA1",
    [CMA_SHA256] = "SHA256", [CMA_SHA384] = "SHA384", [CMA_GOST] = "GOST", [CMA_SM3] = "SM3",
};
_Static_assert(ARRAY_LEN(mac_names) == CMA_SM3 + 1, "mac_names out of step with ciphers.h");

/* Stable lower-case words: they may end up in finding details. */
static const char *const class_names[] = {
    [CCL_SIGNALLING] = "signalling", [CCL_NULL] = "null", [CCL_ANON] = "anon",
    [CCL_EXPORT] = "export", [CCL_LOW] = "low", [CCL_MEDIUM_64BIT] = "medium_64bit",
    [CCL_CBC_OBSOLETE] = "cbc_obsolete", [CCL_AEAD_NOFS] = "aead_nofs", [CCL_STRONG] = "strong",
};
_Static_assert(ARRAY_LEN(class_names) == CCL_STRONG + 1, "class_names out of step with ciphers.h");

/* The cipher_*_name() functions return a static string, never NULL: the short name of v
 * ("ECDHE", "AES128", "GCM", "strong", ...) or "invalid" for a value outside the enum. */
const char *cipher_kx_name(enum cipher_kx v)
{
    return enum_name(kx_names, ARRAY_LEN(kx_names), (int)v);
}

const char *cipher_auth_name(enum cipher_auth v)
{
    return enum_name(auth_names, ARRAY_LEN(auth_names), (int)v);
}

const char *cipher_enc_name(enum cipher_enc v)
{
    return enum_name(enc_names, ARRAY_LEN(enc_names), (int)v);
}

const char *cipher_mode_name(enum cipher_mode v)
{
    return enum_name(mode_names, ARRAY_LEN(mode_names), (int)v);
}

const char *cipher_mac_name(enum cipher_mac v)
{
    return enum_name(mac_names, ARRAY_LEN(mac_names), (int)v);
}

const char *cipher_class_name(enum cipher_class v)
{
    return enum_name(class_names, ARRAY_LEN(class_names), (int)v);
}
