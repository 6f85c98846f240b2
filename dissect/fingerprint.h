/* fingerprint.h — TLS client/server fingerprints: JA3 and JA3S (MD5) and JA4 with its raw
 * sorted form ja4_r (SHA-256), computed from the facts of one ClientHello / ServerHello.
 *
 * Definitions followed:
 *   JA3/JA3S: salesforce/ja3 README ("SSLVersion,Cipher,SSLExtension,EllipticCurve,
 *     EllipticCurvePointFormat", decimal values dash-joined in wire order, GREASE (RFC 8701)
 *     removed; JA3S = "SSLVersion,Cipher,SSLExtension").
 *   JA4: FoxIO technical_details/JA4.md (BSD-3-Clause part of JA4+ only). JA4S and the rest
 *     of JA4+ are under a different licence and deliberately not implemented.
 * Hashes come from wolfSSL (MD5, SHA-256). The hashes are computed over the complete
 * canonical strings even when the stored copy of a string is truncated to its buffer. */
#ifndef NZ_FINGERPRINT_H
#define NZ_FINGERPRINT_H

#include "core/nz.h"

/* Caps on the lists kept from one ClientHello. The wire allows far more (a cipher vector
 * may hold 32767 suites); real clients stay well below these (OpenSSL "ALL" offers ~150
 * suites, browsers 15–20 extensions, ~20 signature schemes). A hello over a cap is kept up
 * to the cap and marked `partial`, and its fingerprints cover only the kept prefix. */
#define FP_CIPHERS_MAX 512u      /* cipher suites (SSLv2 hello: cipher kinds) */
#define FP_EXTS_MAX 128u         /* extensions */
#define FP_GROUPS_MAX 64u        /* supported_groups entries */
#define FP_SIGALGS_MAX 128u      /* signature_algorithms entries */
#define FP_POINT_FORMATS_MAX 16u /* ec_point_formats entries (3 are defined) */
#define FP_VERSIONS_MAX 16u      /* supported_versions entries */
#define FP_ALPN_MAX 255u         /* RFC 7301 §3.1: ProtocolName<1..2^8-1> */

#define FP_MD5_HEX 33u   /* 32 lowercase hex digits + NUL */
#define FP_JA4_LEN 37u   /* "t13d1516h2_8daaf6152771_e5627efa2ab1" = 36 chars + NUL */

/* The ClientHello facts the fingerprints need. All values as on the wire, in wire order,
 * GREASE values included (the fingerprint functions drop them). */
struct fp_hello {
    uint16_t legacy_version;                  /* ClientHello.legacy_version (SSLv2: 0x0002 etc.) */
    uint32_t ciphers[FP_CIPHERS_MAX];         /* suites; SSLv2 kinds are 24-bit values */
    size_t n_ciphers;                         /* <= FP_CIPHERS_MAX */
    uint16_t exts[FP_EXTS_MAX];               /* extension types */
    size_t n_exts;                            /* <= FP_EXTS_MAX */
    uint16_t groups[FP_GROUPS_MAX];           /* supported_groups */
    size_t n_groups;                          /* <= FP_GROUPS_MAX */
    uint8_t point_formats[FP_POINT_FORMATS_MAX];
    size_t n_point_formats;                   /* <= FP_POINT_FORMATS_MAX */
    uint16_t sigalgs[FP_SIGALGS_MAX];         /* signature_algorithms (the first one if repeated) */
    size_t n_sigalgs;                         /* <= FP_SIGALGS_MAX */
    uint16_t versions[FP_VERSIONS_MAX];       /* supported_versions */
    size_t n_versions;                        /* <= FP_VERSIONS_MAX */
    bool has_versions;                        /* supported_versions extension present */
    bool has_sni;                             /* server_name extension present */
    bool has_alpn;                            /* ALPN extension present with >= 1 name */
    uint8_t alpn_first[FP_ALPN_MAX];          /* first ALPN protocol name */
    size_t alpn_first_len;                    /* 0..255 (0: empty first name) */
    bool partial;                             /* some list was longer than its cap */
};

/* True for the 16 GREASE values 0x0A0A, 0x1A1A, ..., 0xFAFA (RFC 8701 §2). */
bool fp_is_grease(uint32_t v);

/* JA3 of a ClientHello. Writes the JA3 string into str (NUL-terminated, truncated to
 * str_cap) and its MD5 as 32 lowercase hex digits into md5_hex.
 * Returns 0, NZ_ELIMIT if str was truncated (the hash is still over the full string),
 * or NZ_EUNSUPPORTED if wolfSSL's MD5 failed (md5_hex is then ""). */
int fp_ja3(const struct fp_hello *h, char *str /* OUT */, size_t str_cap,
           char md5_hex[FP_MD5_HEX] /* OUT */);

/* JA3S of a ServerHello: "version,cipher,ext-ext-..." (GREASE removed) and its MD5.
 * Returns as fp_ja3. */
int fp_ja3s(uint16_t version, uint16_t cipher, const uint16_t *exts, size_t n_exts,
            char *str /* OUT */, size_t str_cap, char md5_hex[FP_MD5_HEX] /* OUT */);

/* JA4 of a ClientHello (transport 't' TCP, 'q' QUIC, 'd' DTLS). Writes the 36-character
 * fingerprint into ja4 and the raw sorted form (ja4_r) into raw (truncated to raw_cap; may
 * be NULL). Returns 0, NZ_ELIMIT if raw was truncated, NZ_EUNSUPPORTED if SHA-256 failed. */
int fp_ja4(const struct fp_hello *h, char transport, char ja4[FP_JA4_LEN] /* OUT */,
           char *raw /* OUT */, size_t raw_cap);

/* The two-character JA4 version code for a wire version ("13", "12", "11", "10", "s3",
 * "s2", "d1", "d2", "d3", or "00" for anything else). Never NULL. */
const char *fp_ja4_version(uint16_t v);

#endif
