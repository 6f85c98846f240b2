/* ciphers.h — knowledge about TLS cipher suites (every IANA-registered code point) and SSLv2
 * cipher kinds. The table is generated at build time from dissect/ciphers.tsv by
 * dissect/gen_ciphers.py (no hand-written case lists). Unknown code points are reported as
 * such (cipher_lookup returns NULL), never as "safe". */
#ifndef NZ_CIPHERS_H
#define NZ_CIPHERS_H

#include "core/nz.h"

enum cipher_kx {      /* key exchange */
    CKX_UNKNOWN = 0, CKX_NULL, CKX_RSA, CKX_RSA_EXPORT, CKX_DH, CKX_DHE, CKX_ECDH, CKX_ECDHE,
    CKX_PSK, CKX_DHE_PSK, CKX_ECDHE_PSK, CKX_RSA_PSK, CKX_SRP, CKX_KRB5, CKX_ECCPWD, CKX_GOST,
    CKX_TLS13 /* TLS 1.3 suites: key exchange is negotiated separately, always (EC)DHE or PSK */
};
enum cipher_auth {
    CAU_UNKNOWN = 0, CAU_NULL, CAU_ANON, CAU_RSA, CAU_DSS, CAU_ECDSA, CAU_PSK, CAU_SRP, CAU_KRB5,
    CAU_GOST, CAU_TLS13
};
enum cipher_enc {
    CEN_UNKNOWN = 0, CEN_NULL, CEN_RC2, CEN_RC4, CEN_DES40, CEN_DES, CEN_3DES, CEN_IDEA, CEN_SEED,
    CEN_AES128, CEN_AES256, CEN_CAMELLIA128, CEN_CAMELLIA256, CEN_ARIA128, CEN_ARIA256,
    CEN_CHACHA20, CEN_GOST, CEN_SM4
};
enum cipher_mode { CMO_NONE = 0, CMO_STREAM, CMO_CBC, CMO_GCM, CMO_CCM, CMO_CCM8, CMO_POLY1305, CMO_CNT };
enum cipher_mac { CMA_NONE = 0, CMA_AEAD, CMA_MD5, CMA_SHA1, CMA_SHA256, CMA_SHA384, CMA_GOST, CMA_SM3 };

/* Strength class per doc/REFERENCE.md §3b (testssl.sh families). */
enum cipher_class {
    CCL_SIGNALLING = 0, /* SCSVs: not a cipher */
    CCL_NULL,           /* no encryption: critical */
    CCL_ANON,           /* unauthenticated key exchange: critical */
    CCL_EXPORT,         /* 40/56-bit export: critical */
    CCL_LOW,            /* single DES, RC2, RC4, MD5 MAC: high */
    CCL_MEDIUM_64BIT,   /* 3DES, IDEA (64-bit block, SWEET32): medium */
    CCL_CBC_OBSOLETE,   /* AES/Camellia/ARIA/SEED in CBC with HMAC: low */
    CCL_AEAD_NOFS,      /* AEAD but static RSA/DH/ECDH/PSK key exchange: low (no FS) */
    CCL_STRONG          /* forward-secret AEAD, TLS 1.3 suites */
};

struct cipher_info {
    uint16_t code;          /* IANA code point (SSLv2 kinds: see cipher_lookup_v2) */
    const char *name;       /* IANA name, e.g. "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" */
    enum cipher_kx kx;
    enum cipher_auth auth;
    enum cipher_enc enc;
    enum cipher_mode mode;
    enum cipher_mac mac;
    uint16_t enc_bits;      /* effective key bits (export: 40/56) */
    bool fs;                /* forward secrecy (ephemeral key exchange; TLS 1.3 true) */
    bool export_;           /* an EXPORT suite */
    enum cipher_class cls;
};

/* Looks up a TLS/SSLv3 suite by code point; NULL if not registered/known. O(log n). */
const struct cipher_info *cipher_lookup(uint16_t code);
/* SSLv2 cipher kinds are 3-byte values (e.g. 0x010080 SSL_CK_RC4_128_WITH_MD5). NULL if unknown. */
const struct cipher_info *cipher_lookup_v2(uint32_t kind);
/* GREASE values (RFC 8701): 0x0A0A, 0x1A1A, ..., 0xFAFA. */
bool cipher_is_grease(uint16_t v);
/* Number of entries in the TLS table (for tests). */
size_t cipher_count(void);
/* Short names for enums ("ECDHE", "RSA", "AES128", "GCM", "SHA256", "strong", ...). */
const char *cipher_kx_name(enum cipher_kx);
const char *cipher_auth_name(enum cipher_auth);
const char *cipher_enc_name(enum cipher_enc);
const char *cipher_mode_name(enum cipher_mode);
const char *cipher_mac_name(enum cipher_mac);
const char *cipher_class_name(enum cipher_class);

#endif
