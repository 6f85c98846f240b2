/* check_ciphers.c — unit tests for dissect/ciphers.c and the generated suite table.
 *
 * Expected values are written out by hand from the IANA registry names and
 * doc/REFERENCE.md §3b (testssl.sh families), independently of gen_ciphers.py, so a
 * wrong TSV row or a wrong rule in the generator shows up here. */
#include "dissect/ciphers.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- cipher_lookup: coverage, order, unknowns ------------------------------------------ */

START_TEST(test_count)
{
    /* The IANA registry has ~350 assigned suites; the table adds 7 historic ones. */
    ck_assert_uint_ge(cipher_count(), 330);
    ck_assert_uint_le(cipher_count(), 0x10000);
}
END_TEST

/* Every entry is reachable by binary search at its own code, and nothing else is: this only
 * holds if the generated table is sorted and free of duplicate codes. */
START_TEST(test_exhaustive_scan_matches_count)
{
    size_t found = 0;
    const struct cipher_info *prev = NULL;

    for (uint32_t c = 0; c <= 0xFFFF; c++) {
        const struct cipher_info *ci = cipher_lookup((uint16_t)c);
        if (ci == NULL)
            continue;
        found++;
        ck_assert_msg(ci->code == c, "lookup(0x%04X) returned entry 0x%04X", (unsigned)c,
                      (unsigned)ci->code);
        ck_assert_ptr_eq(cipher_lookup((uint16_t)c), ci);
        /* Table order: entries come back in increasing address order as codes increase. */
        if (prev != NULL)
            ck_assert_msg(ci > prev, "table not sorted at 0x%04X", (unsigned)c);
        prev = ci;
    }
    ck_assert_uint_eq(found, cipher_count());
}
END_TEST

START_TEST(test_names_unique_and_wellformed)
{
    size_t n = cipher_count(), k = 0;
    const char **names = calloc(n, sizeof(*names));

    ck_assert_ptr_nonnull(names);
    for (uint32_t c = 0; c <= 0xFFFF; c++) {
        const struct cipher_info *ci = cipher_lookup((uint16_t)c);
        if (ci == NULL)
            continue;
        ck_assert_ptr_nonnull(ci->name);
        ck_assert_msg(strncmp(ci->name, "TLS_", 4) == 0, "0x%04X name %s", (unsigned)c, ci->name);
        ck_assert_uint_lt(k, n);
        names[k++] = ci->name;
    }
    ck_assert_uint_eq(k, n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            ck_assert_msg(strcmp(names[i], names[j]) != 0, "duplicate name %s", names[i]);
    free(names);
}
END_TEST

/* Reserved, unassigned, GREASE, private-use and unregistered vendor code points. */
static const uint16_t unknown_codes[] = {
    0x001C, 0x001D,         /* reserved: SSLv3 FORTEZZA */
    0x0047, 0x004F, 0x0058, /* reserved ranges 0x0047-0x005C */
    0x005D, 0x005F,         /* unassigned */
    0x006E, 0x0080, 0x0083, /* unassigned (GOST drafts used 0x0080-0x0083) */
    0x00C8, 0x00FE,         /* unassigned up to the renegotiation SCSV */
    0x0100, 0x1300, 0x1306, /* 0x1306/0x1307: AEGIS, registered but deliberately absent */
    0x1307, 0x1308, 0x5601, 0x55FF,
    0xC000, 0xC0B6, 0xC0FF, /* 0xC0FF: ECJPAKE (not registered) */
    0xC107, 0xCC13, 0xCC14, 0xCC15, /* pre-RFC ChaCha20 */
    0xCCA7, 0xCCAF, 0xD000, 0xD004, 0xD006,
    0xFEFE, 0xFEFF, 0xFF00, 0xFFFF,
};

START_TEST(test_unknown_codes)
{
    uint16_t c = unknown_codes[_i];
    ck_assert_msg(cipher_lookup(c) == NULL, "0x%04X should be unknown", (unsigned)c);
}
END_TEST

START_TEST(test_grease_not_in_table)
{
    for (unsigned hi = 0; hi < 16; hi++) {
        uint16_t g = (uint16_t)(((hi << 4) | 0xAu) * 0x0101u);
        ck_assert_msg(cipher_lookup(g) == NULL, "GREASE 0x%04X in table", (unsigned)g);
    }
}
END_TEST

/* ---- spot checks: every field of one entry per family ---------------------------------- */

struct spot {
    uint16_t code;
    const char *name;
    enum cipher_kx kx;
    enum cipher_auth auth;
    enum cipher_enc enc;
    enum cipher_mode mode;
    enum cipher_mac mac;
    uint16_t bits;
    bool fs, export_;
    enum cipher_class cls;
};

#define N false
#define Y true
static const struct spot spots[] = {
    {0x0000, "TLS_NULL_WITH_NULL_NULL", CKX_NULL, CAU_NULL, CEN_NULL, CMO_NONE, CMA_NONE, 0, N, N, CCL_NULL},
    {0x0001, "TLS_RSA_WITH_NULL_MD5", CKX_RSA, CAU_RSA, CEN_NULL, CMO_NONE, CMA_MD5, 0, N, N, CCL_NULL},
    {0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", CKX_RSA_EXPORT, CAU_RSA, CEN_RC4, CMO_STREAM, CMA_MD5, 40, N, Y, CCL_EXPORT},
    {0x0004, "TLS_RSA_WITH_RC4_128_MD5", CKX_RSA, CAU_RSA, CEN_RC4, CMO_STREAM, CMA_MD5, 128, N, N, CCL_LOW},
    {0x0005, "TLS_RSA_WITH_RC4_128_SHA", CKX_RSA, CAU_RSA, CEN_RC4, CMO_STREAM, CMA_SHA1, 128, N, N, CCL_LOW},
    {0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5", CKX_RSA_EXPORT, CAU_RSA, CEN_RC2, CMO_CBC, CMA_MD5, 40, N, Y, CCL_EXPORT},
    {0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA", CKX_RSA, CAU_RSA, CEN_IDEA, CMO_CBC, CMA_SHA1, 128, N, N, CCL_MEDIUM_64BIT},
    {0x0009, "TLS_RSA_WITH_DES_CBC_SHA", CKX_RSA, CAU_RSA, CEN_DES, CMO_CBC, CMA_SHA1, 56, N, N, CCL_LOW},
    {0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", CKX_RSA, CAU_RSA, CEN_3DES, CMO_CBC, CMA_SHA1, 168, N, N, CCL_MEDIUM_64BIT},
    {0x000E, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA", CKX_DH, CAU_RSA, CEN_DES40, CMO_CBC, CMA_SHA1, 40, N, Y, CCL_EXPORT},
    {0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA", CKX_DHE, CAU_DSS, CEN_DES40, CMO_CBC, CMA_SHA1, 40, Y, Y, CCL_EXPORT},
    {0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", CKX_DHE, CAU_RSA, CEN_3DES, CMO_CBC, CMA_SHA1, 168, Y, N, CCL_MEDIUM_64BIT},
    {0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5", CKX_DH, CAU_ANON, CEN_RC4, CMO_STREAM, CMA_MD5, 40, N, Y, CCL_ANON},
    {0x001B, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA", CKX_DH, CAU_ANON, CEN_3DES, CMO_CBC, CMA_SHA1, 168, N, N, CCL_ANON},
    {0x001E, "TLS_KRB5_WITH_DES_CBC_SHA", CKX_KRB5, CAU_KRB5, CEN_DES, CMO_CBC, CMA_SHA1, 56, N, N, CCL_LOW},
    {0x001F, "TLS_KRB5_WITH_3DES_EDE_CBC_SHA", CKX_KRB5, CAU_KRB5, CEN_3DES, CMO_CBC, CMA_SHA1, 168, N, N, CCL_MEDIUM_64BIT},
    {0x0023, "TLS_KRB5_WITH_3DES_EDE_CBC_MD5", CKX_KRB5, CAU_KRB5, CEN_3DES, CMO_CBC, CMA_MD5, 168, N, N, CCL_LOW},
    {0x0029, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_MD5", CKX_KRB5, CAU_KRB5, CEN_DES40, CMO_CBC, CMA_MD5, 40, N, Y, CCL_EXPORT},
    {0x002C, "TLS_PSK_WITH_NULL_SHA", CKX_PSK, CAU_PSK, CEN_NULL, CMO_NONE, CMA_SHA1, 0, N, N, CCL_NULL},
    {0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", CKX_RSA, CAU_RSA, CEN_AES128, CMO_CBC, CMA_SHA1, 128, N, N, CCL_CBC_OBSOLETE},
    {0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA", CKX_DH, CAU_DSS, CEN_AES128, CMO_CBC, CMA_SHA1, 128, N, N, CCL_CBC_OBSOLETE},
    {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", CKX_DHE, CAU_RSA, CEN_AES128, CMO_CBC, CMA_SHA1, 128, Y, N, CCL_CBC_OBSOLETE},
    {0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", CKX_DH, CAU_ANON, CEN_AES128, CMO_CBC, CMA_SHA1, 128, N, N, CCL_ANON},
    {0x003B, "TLS_RSA_WITH_NULL_SHA256", CKX_RSA, CAU_RSA, CEN_NULL, CMO_NONE, CMA_SHA256, 0, N, N, CCL_NULL},
    {0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", CKX_RSA, CAU_RSA, CEN_AES256, CMO_CBC, CMA_SHA256, 256, N, N, CCL_CBC_OBSOLETE},
    {0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", CKX_RSA, CAU_RSA, CEN_CAMELLIA128, CMO_CBC, CMA_SHA1, 128, N, N, CCL_CBC_OBSOLETE},
    {0x0062, "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA", CKX_RSA_EXPORT, CAU_RSA, CEN_DES, CMO_CBC, CMA_SHA1, 56, N, Y, CCL_EXPORT},
    {0x0065, "TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA", CKX_DHE, CAU_DSS, CEN_RC4, CMO_STREAM, CMA_SHA1, 56, Y, Y, CCL_EXPORT},
    {0x0066, "TLS_DHE_DSS_WITH_RC4_128_SHA", CKX_DHE, CAU_DSS, CEN_RC4, CMO_STREAM, CMA_SHA1, 128, Y, N, CCL_LOW},
    {0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA", CKX_DHE, CAU_RSA, CEN_CAMELLIA256, CMO_CBC, CMA_SHA1, 256, Y, N, CCL_CBC_OBSOLETE},
    {0x008B, "TLS_PSK_WITH_3DES_EDE_CBC_SHA", CKX_PSK, CAU_PSK, CEN_3DES, CMO_CBC, CMA_SHA1, 168, N, N, CCL_MEDIUM_64BIT},
    {0x0092, "TLS_RSA_PSK_WITH_RC4_128_SHA", CKX_RSA_PSK, CAU_RSA, CEN_RC4, CMO_STREAM, CMA_SHA1, 128, N, N, CCL_LOW},
    {0x0096, "TLS_RSA_WITH_SEED_CBC_SHA", CKX_RSA, CAU_RSA, CEN_SEED, CMO_CBC, CMA_SHA1, 128, N, N, CCL_CBC_OBSOLETE},
    {0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", CKX_RSA, CAU_RSA, CEN_AES128, CMO_GCM, CMA_AEAD, 128, N, N, CCL_AEAD_NOFS},
    {0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", CKX_DHE, CAU_RSA, CEN_AES256, CMO_GCM, CMA_AEAD, 256, Y, N, CCL_STRONG},
    {0x00A4, "TLS_DH_DSS_WITH_AES_128_GCM_SHA256", CKX_DH, CAU_DSS, CEN_AES128, CMO_GCM, CMA_AEAD, 128, N, N, CCL_AEAD_NOFS},
    {0x00A8, "TLS_PSK_WITH_AES_128_GCM_SHA256", CKX_PSK, CAU_PSK, CEN_AES128, CMO_GCM, CMA_AEAD, 128, N, N, CCL_AEAD_NOFS},
    {0x00AB, "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384", CKX_DHE_PSK, CAU_PSK, CEN_AES256, CMO_GCM, CMA_AEAD, 256, Y, N, CCL_STRONG},
    {0x00AD, "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384", CKX_RSA_PSK, CAU_RSA, CEN_AES256, CMO_GCM, CMA_AEAD, 256, N, N, CCL_AEAD_NOFS},
    {0x00B5, "TLS_DHE_PSK_WITH_NULL_SHA384", CKX_DHE_PSK, CAU_PSK, CEN_NULL, CMO_NONE, CMA_SHA384, 0, Y, N, CCL_NULL},
    {0x00C5, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256", CKX_DH, CAU_ANON, CEN_CAMELLIA256, CMO_CBC, CMA_SHA256, 256, N, N, CCL_ANON},
    {0x00C6, "TLS_SM4_GCM_SM3", CKX_TLS13, CAU_TLS13, CEN_SM4, CMO_GCM, CMA_AEAD, 128, Y, N, CCL_STRONG},
    {0x00C7, "TLS_SM4_CCM_SM3", CKX_TLS13, CAU_TLS13, CEN_SM4, CMO_CCM, CMA_AEAD, 128, Y, N, CCL_STRONG},
    {0x00FF, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", CKX_UNKNOWN, CAU_UNKNOWN, CEN_UNKNOWN, CMO_NONE, CMA_NONE, 0, N, N, CCL_SIGNALLING},
    {0x1301, "TLS_AES_128_GCM_SHA256", CKX_TLS13, CAU_TLS13, CEN_AES128, CMO_GCM, CMA_AEAD, 128, Y, N, CCL_STRONG},
    {0x1302, "TLS_AES_256_GCM_SHA384", CKX_TLS13, CAU_TLS13, CEN_AES256, CMO_GCM, CMA_AEAD, 256, Y, N, CCL_STRONG},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256", CKX_TLS13, CAU_TLS13, CEN_CHACHA20, CMO_POLY1305, CMA_AEAD, 256, Y, N, CCL_STRONG},
    {0x1304, "TLS_AES_128_CCM_SHA256", CKX_TLS13, CAU_TLS13, CEN_AES128, CMO_CCM, CMA_AEAD, 128, Y, N, CCL_STRONG},
    {0x1305, "TLS_AES_128_CCM_8_SHA256", CKX_TLS13, CAU_TLS13, CEN_AES128, CMO_CCM8, CMA_AEAD, 128, Y, N, CCL_STRONG},
    {0x5600, "TLS_FALLBACK_SCSV", CKX_UNKNOWN, CAU_UNKNOWN, CEN_UNKNOWN, CMO_NONE, CMA_NONE, 0, N, N, CCL_SIGNALLING},
    {0xC001, "TLS_ECDH_ECDSA_WITH_NULL_SHA", CKX_ECDH, CAU_ECDSA, CEN_NULL, CMO_NONE, CMA_SHA1, 0, N, N, CCL_NULL},
    {0xC005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA", CKX_ECDH, CAU_ECDSA, CEN_AES256, CMO_CBC, CMA_SHA1, 256, N, N, CCL_CBC_OBSOLETE},
    {0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", CKX_ECDHE, CAU_RSA, CEN_RC4, CMO_STREAM, CMA_SHA1, 128, Y, N, CCL_LOW},
    {0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", CKX_ECDHE, CAU_RSA, CEN_3DES, CMO_CBC, CMA_SHA1, 168, Y, N, CCL_MEDIUM_64BIT},
    {0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", CKX_ECDHE, CAU_RSA, CEN_AES256, CMO_CBC, CMA_SHA1, 256, Y, N, CCL_CBC_OBSOLETE},
    {0xC015, "TLS_ECDH_anon_WITH_NULL_SHA", CKX_ECDH, CAU_ANON, CEN_NULL, CMO_NONE, CMA_SHA1, 0, N, N, CCL_NULL},
    {0xC016, "TLS_ECDH_anon_WITH_RC4_128_SHA", CKX_ECDH, CAU_ANON, CEN_RC4, CMO_STREAM, CMA_SHA1, 128, N, N, CCL_ANON},
    {0xC01A, "TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA", CKX_SRP, CAU_SRP, CEN_3DES, CMO_CBC, CMA_SHA1, 168, N, N, CCL_MEDIUM_64BIT},
    {0xC01E, "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA", CKX_SRP, CAU_RSA, CEN_AES128, CMO_CBC, CMA_SHA1, 128, N, N, CCL_CBC_OBSOLETE},
    {0xC022, "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA", CKX_SRP, CAU_DSS, CEN_AES256, CMO_CBC, CMA_SHA1, 256, N, N, CCL_CBC_OBSOLETE},
    {0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", CKX_ECDHE, CAU_RSA, CEN_AES128, CMO_CBC, CMA_SHA256, 128, Y, N, CCL_CBC_OBSOLETE},
    {0xC02A, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384", CKX_ECDH, CAU_RSA, CEN_AES256, CMO_CBC, CMA_SHA384, 256, N, N, CCL_CBC_OBSOLETE},
    {0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", CKX_ECDHE, CAU_ECDSA, CEN_AES128, CMO_GCM, CMA_AEAD, 128, Y, N, CCL_STRONG},
    {0xC02E, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384", CKX_ECDH, CAU_ECDSA, CEN_AES256, CMO_GCM, CMA_AEAD, 256, N, N, CCL_AEAD_NOFS},
    {0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", CKX_ECDHE, CAU_RSA, CEN_AES256, CMO_GCM, CMA_AEAD, 256, Y, N, CCL_STRONG},
    {0xC034, "TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA", CKX_ECDHE_PSK, CAU_PSK, CEN_3DES, CMO_CBC, CMA_SHA1, 168, Y, N, CCL_MEDIUM_64BIT},
    {0xC03B, "TLS_ECDHE_PSK_WITH_NULL_SHA384", CKX_ECDHE_PSK, CAU_PSK, CEN_NULL, CMO_NONE, CMA_SHA384, 0, Y, N, CCL_NULL},
    {0xC03D, "TLS_RSA_WITH_ARIA_256_CBC_SHA384", CKX_RSA, CAU_RSA, CEN_ARIA256, CMO_CBC, CMA_SHA384, 256, N, N, CCL_CBC_OBSOLETE},
    {0xC047, "TLS_DH_anon_WITH_ARIA_256_CBC_SHA384", CKX_DH, CAU_ANON, CEN_ARIA256, CMO_CBC, CMA_SHA384, 256, N, N, CCL_ANON},
    {0xC050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256", CKX_RSA, CAU_RSA, CEN_ARIA128, CMO_GCM, CMA_AEAD, 128, N, N, CCL_AEAD_NOFS},
    {0xC061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384", CKX_ECDHE, CAU_RSA, CEN_ARIA256, CMO_GCM, CMA_AEAD, 256, Y, N, CCL_STRONG},
    {0xC06C, "TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256", CKX_DHE_PSK, CAU_PSK, CEN_ARIA128, CMO_GCM, CMA_AEAD, 128, Y, N, CCL_STRONG},
    {0xC076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256", CKX_ECDHE, CAU_RSA, CEN_CAMELLIA128, CMO_CBC, CMA_SHA256, 128, Y, N, CCL_CBC_OBSOLETE},
    {0xC07A, "TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256", CKX_RSA, CAU_RSA, CEN_CAMELLIA128, CMO_GCM, CMA_AEAD, 128, N, N, CCL_AEAD_NOFS},
    {0xC08B, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384", CKX_ECDHE, CAU_RSA, CEN_CAMELLIA256, CMO_GCM, CMA_AEAD, 256, Y, N, CCL_STRONG},
    {0xC09C, "TLS_RSA_WITH_AES_128_CCM", CKX_RSA, CAU_RSA, CEN_AES128, CMO_CCM, CMA_AEAD, 128, N, N, CCL_AEAD_NOFS},
    {0xC0A2, "TLS_DHE_RSA_WITH_AES_128_CCM_8", CKX_DHE, CAU_RSA, CEN_AES128, CMO_CCM8, CMA_AEAD, 128, Y, N, CCL_STRONG},
    {0xC0A9, "TLS_PSK_WITH_AES_256_CCM_8", CKX_PSK, CAU_PSK, CEN_AES256, CMO_CCM8, CMA_AEAD, 256, N, N, CCL_AEAD_NOFS},
    {0xC0AA, "TLS_PSK_DHE_WITH_AES_128_CCM_8", CKX_DHE_PSK, CAU_PSK, CEN_AES128, CMO_CCM8, CMA_AEAD, 128, Y, N, CCL_STRONG},
    {0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", CKX_ECDHE, CAU_ECDSA, CEN_AES256, CMO_CCM, CMA_AEAD, 256, Y, N, CCL_STRONG},
    {0xC0B0, "TLS_ECCPWD_WITH_AES_128_GCM_SHA256", CKX_ECCPWD, CAU_PSK, CEN_AES128, CMO_GCM, CMA_AEAD, 128, Y, N, CCL_STRONG},
    {0xC0B3, "TLS_ECCPWD_WITH_AES_256_CCM_SHA384", CKX_ECCPWD, CAU_PSK, CEN_AES256, CMO_CCM, CMA_AEAD, 256, Y, N, CCL_STRONG},
    {0xC0B4, "TLS_SHA256_SHA256", CKX_TLS13, CAU_TLS13, CEN_NULL, CMO_NONE, CMA_SHA256, 0, Y, N, CCL_NULL},
    {0xC0B5, "TLS_SHA384_SHA384", CKX_TLS13, CAU_TLS13, CEN_NULL, CMO_NONE, CMA_SHA384, 0, Y, N, CCL_NULL},
    {0xC100, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC", CKX_GOST, CAU_GOST, CEN_GOST, CMO_CNT, CMA_GOST, 256, N, N, CCL_CBC_OBSOLETE},
    {0xC101, "TLS_GOSTR341112_256_WITH_MAGMA_CTR_OMAC", CKX_GOST, CAU_GOST, CEN_GOST, CMO_CNT, CMA_GOST, 256, N, N, CCL_MEDIUM_64BIT},
    {0xC102, "TLS_GOSTR341112_256_WITH_28147_CNT_IMIT", CKX_GOST, CAU_GOST, CEN_GOST, CMO_CNT, CMA_GOST, 256, N, N, CCL_MEDIUM_64BIT},
    {0xC103, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_L", CKX_TLS13, CAU_TLS13, CEN_GOST, CMO_NONE, CMA_AEAD, 256, Y, N, CCL_STRONG},
    {0xC106, "TLS_GOSTR341112_256_WITH_MAGMA_MGM_S", CKX_TLS13, CAU_TLS13, CEN_GOST, CMO_NONE, CMA_AEAD, 256, Y, N, CCL_MEDIUM_64BIT},
    {0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", CKX_ECDHE, CAU_RSA, CEN_CHACHA20, CMO_POLY1305, CMA_AEAD, 256, Y, N, CCL_STRONG},
    {0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", CKX_ECDHE, CAU_ECDSA, CEN_CHACHA20, CMO_POLY1305, CMA_AEAD, 256, Y, N, CCL_STRONG},
    {0xCCAB, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", CKX_PSK, CAU_PSK, CEN_CHACHA20, CMO_POLY1305, CMA_AEAD, 256, N, N, CCL_AEAD_NOFS},
    {0xCCAE, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256", CKX_RSA_PSK, CAU_RSA, CEN_CHACHA20, CMO_POLY1305, CMA_AEAD, 256, N, N, CCL_AEAD_NOFS},
    {0xD001, "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256", CKX_ECDHE_PSK, CAU_PSK, CEN_AES128, CMO_GCM, CMA_AEAD, 128, Y, N, CCL_STRONG},
    {0xD003, "TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256", CKX_ECDHE_PSK, CAU_PSK, CEN_AES128, CMO_CCM8, CMA_AEAD, 128, Y, N, CCL_STRONG},
    {0xD005, "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256", CKX_ECDHE_PSK, CAU_PSK, CEN_AES128, CMO_CCM, CMA_AEAD, 128, Y, N, CCL_STRONG},
};
#undef N
#undef Y

START_TEST(test_spot)
{
    const struct spot *s = &spots[_i];
    const struct cipher_info *ci = cipher_lookup(s->code);

    ck_assert_msg(ci != NULL, "0x%04X %s missing", (unsigned)s->code, s->name);
    ck_assert_uint_eq(ci->code, s->code);
    ck_assert_str_eq(ci->name, s->name);
    ck_assert_msg(ci->kx == s->kx, "%s kx %s", s->name, cipher_kx_name(ci->kx));
    ck_assert_msg(ci->auth == s->auth, "%s auth %s", s->name, cipher_auth_name(ci->auth));
    ck_assert_msg(ci->enc == s->enc, "%s enc %s", s->name, cipher_enc_name(ci->enc));
    ck_assert_msg(ci->mode == s->mode, "%s mode %s", s->name, cipher_mode_name(ci->mode));
    ck_assert_msg(ci->mac == s->mac, "%s mac %s", s->name, cipher_mac_name(ci->mac));
    ck_assert_msg(ci->enc_bits == s->bits, "%s bits %u", s->name, (unsigned)ci->enc_bits);
    ck_assert_msg(ci->fs == s->fs, "%s fs %d", s->name, (int)ci->fs);
    ck_assert_msg(ci->export_ == s->export_, "%s export %d", s->name, (int)ci->export_);
    ck_assert_msg(ci->cls == s->cls, "%s class %s, want %s", s->name, cipher_class_name(ci->cls),
                  cipher_class_name(s->cls));
}
END_TEST

/* ---- doc/REFERENCE.md §3b families: every listed code point has its family's class ---------- */

struct range {
    uint16_t lo, hi; /* inclusive */
};

/* A member of several families gets the worst class (precedence in the TSV header). */
struct override {
    uint16_t code;
    enum cipher_class cls;
};

static void check_family(const char *family, const struct range *r, size_t nr,
                         enum cipher_class cls, const struct override *ov, size_t nov)
{
    size_t members = 0;

    for (size_t i = 0; i < nr; i++) {
        for (uint32_t c = r[i].lo; c <= r[i].hi; c++) {
            const struct cipher_info *ci = cipher_lookup((uint16_t)c);
            enum cipher_class want = cls;

            for (size_t k = 0; k < nov; k++)
                if (ov[k].code == c)
                    want = ov[k].cls;
            ck_assert_msg(ci != NULL, "%s: 0x%04X missing", family, (unsigned)c);
            ck_assert_msg(ci->cls == want, "%s: 0x%04X %s is %s, want %s", family, (unsigned)c,
                          ci->name, cipher_class_name(ci->cls), cipher_class_name(want));
            members++;
        }
    }
    ck_assert_uint_gt(members, 0);
}

#define FAMILY(name, ranges, cls, ov) \
    check_family(name, ranges, ARRAY_LEN(ranges), cls, ov, sizeof(ov) / sizeof(struct override))

static const struct override no_override[1] = {{0xFFFF, CCL_STRONG}}; /* 0xFFFF is never listed */

START_TEST(test_family_null)
{
    static const struct range r[] = {
        {0x0000, 0x0002}, {0x002C, 0x002E}, {0x003B, 0x003B}, {0x00B0, 0x00B1}, {0x00B4, 0x00B5},
        {0x00B8, 0x00B9}, {0xC001, 0xC001}, {0xC006, 0xC006}, {0xC00B, 0xC00B}, {0xC010, 0xC010},
        {0xC015, 0xC015}, {0xC039, 0xC03B}, {0xC0B4, 0xC0B5},
    };
    FAMILY("NULL", r, CCL_NULL, no_override);
    for (size_t i = 0; i < ARRAY_LEN(r); i++)
        for (uint32_t c = r[i].lo; c <= r[i].hi; c++)
            ck_assert(cipher_lookup((uint16_t)c)->enc == CEN_NULL);
}
END_TEST

START_TEST(test_family_anon)
{
    static const struct range r[] = {
        {0x0017, 0x001B}, {0x0034, 0x0034}, {0x003A, 0x003A}, {0x006C, 0x006D}, {0x00A6, 0x00A7},
        {0x0046, 0x0046}, {0x0089, 0x0089}, {0x009B, 0x009B}, {0x00BF, 0x00BF}, {0x00C5, 0x00C5},
        {0xC015, 0xC019}, {0xC046, 0xC047}, {0xC05A, 0xC05B}, {0xC084, 0xC085},
    };
    static const struct override ov[] = {{0xC015, CCL_NULL}}; /* ECDH_anon_WITH_NULL_SHA */
    FAMILY("aNULL", r, CCL_ANON, ov);
    for (size_t i = 0; i < ARRAY_LEN(r); i++)
        for (uint32_t c = r[i].lo; c <= r[i].hi; c++) {
            const struct cipher_info *ci = cipher_lookup((uint16_t)c);
            ck_assert_msg(ci->auth == CAU_ANON && !ci->fs, "0x%04X", (unsigned)c);
        }
}
END_TEST

START_TEST(test_family_export)
{
    static const struct range r[] = {
        {0x0003, 0x0003}, {0x0006, 0x0006}, {0x0008, 0x0008}, {0x000B, 0x000B}, {0x000E, 0x000E},
        {0x0011, 0x0011}, {0x0014, 0x0014}, {0x0017, 0x0017}, {0x0019, 0x0019}, {0x0026, 0x002B},
        {0x0060, 0x0065},
    };
    /* EXPORT + anon: anon wins. */
    static const struct override ov[] = {{0x0017, CCL_ANON}, {0x0019, CCL_ANON}};
    FAMILY("EXPORT", r, CCL_EXPORT, ov);
    for (size_t i = 0; i < ARRAY_LEN(r); i++)
        for (uint32_t c = r[i].lo; c <= r[i].hi; c++) {
            const struct cipher_info *ci = cipher_lookup((uint16_t)c);
            ck_assert_msg(ci->export_ && ci->enc_bits <= 56, "0x%04X", (unsigned)c);
        }
}
END_TEST

START_TEST(test_family_des)
{
    static const struct range r[] = {
        {0x0009, 0x0009}, {0x000C, 0x000C}, {0x000F, 0x000F}, {0x0012, 0x0012},
        {0x0015, 0x0015}, {0x001A, 0x001A}, {0x001E, 0x001E}, {0x0022, 0x0022},
    };
    static const struct override ov[] = {{0x001A, CCL_ANON}};
    FAMILY("single DES", r, CCL_LOW, ov);
    for (size_t i = 0; i < ARRAY_LEN(r); i++)
        ck_assert(cipher_lookup(r[i].lo)->enc == CEN_DES);
}
END_TEST

START_TEST(test_family_rc4)
{
    static const struct range r[] = {
        {0x0004, 0x0005}, {0x0018, 0x0018}, {0x0020, 0x0020}, {0x0024, 0x0024}, {0x0066, 0x0066},
        {0x008A, 0x008A}, {0x008E, 0x008E}, {0x0092, 0x0092}, {0xC002, 0xC002}, {0xC007, 0xC007},
        {0xC00C, 0xC00C}, {0xC011, 0xC011}, {0xC016, 0xC016}, {0xC033, 0xC033},
    };
    static const struct override ov[] = {{0x0018, CCL_ANON}, {0xC016, CCL_ANON}};
    FAMILY("RC4", r, CCL_LOW, ov);
    for (size_t i = 0; i < ARRAY_LEN(r); i++)
        for (uint32_t c = r[i].lo; c <= r[i].hi; c++)
            ck_assert(cipher_lookup((uint16_t)c)->enc == CEN_RC4);
}
END_TEST

START_TEST(test_family_md5)
{
    static const struct range r[] = {{0x0001, 0x0001}, {0x0004, 0x0004}, {0x0023, 0x0023},
                                     {0x0025, 0x0025}};
    static const struct override ov[] = {{0x0001, CCL_NULL}}; /* RSA_WITH_NULL_MD5 */
    FAMILY("MD5 MAC", r, CCL_LOW, ov);
    for (size_t i = 0; i < ARRAY_LEN(r); i++)
        ck_assert(cipher_lookup(r[i].lo)->mac == CMA_MD5);
}
END_TEST

START_TEST(test_family_3des_idea)
{
    static const struct range r[] = {
        {0x0007, 0x0007}, {0x000A, 0x000A}, {0x000D, 0x000D}, {0x0010, 0x0010}, {0x0013, 0x0013},
        {0x0016, 0x0016}, {0x001F, 0x001F}, {0x0021, 0x0021}, {0x008B, 0x008B}, {0x008F, 0x008F},
        {0x0093, 0x0093}, {0xC003, 0xC003}, {0xC008, 0xC008}, {0xC00D, 0xC00D}, {0xC012, 0xC012},
        {0xC01A, 0xC01C}, {0xC034, 0xC034},
    };
    FAMILY("3DES/IDEA", r, CCL_MEDIUM_64BIT, no_override);
    for (size_t i = 0; i < ARRAY_LEN(r); i++)
        for (uint32_t c = r[i].lo; c <= r[i].hi; c++) {
            enum cipher_enc e = cipher_lookup((uint16_t)c)->enc;
            ck_assert(e == CEN_3DES || e == CEN_IDEA);
        }
}
END_TEST

START_TEST(test_family_cbc)
{
    static const struct range r[] = {
        {0x002F, 0x002F}, {0x0033, 0x0033}, {0x0035, 0x0035}, {0x003C, 0x003D}, {0x0067, 0x0067},
        {0x006B, 0x006B}, {0x0041, 0x0041}, {0x0084, 0x0084}, {0xC009, 0xC00A}, {0xC013, 0xC014},
        {0xC023, 0xC02A}, {0xC072, 0xC079},
        {0x0096, 0x009B}, /* SEED */
    };
    static const struct override ov[] = {{0x009B, CCL_ANON}}; /* DH_anon_WITH_SEED_CBC_SHA */
    FAMILY("obsoleted CBC", r, CCL_CBC_OBSOLETE, ov);
    for (size_t i = 0; i < ARRAY_LEN(r); i++)
        for (uint32_t c = r[i].lo; c <= r[i].hi; c++)
            ck_assert(cipher_lookup((uint16_t)c)->mode == CMO_CBC);
}
END_TEST

START_TEST(test_family_aead_nofs)
{
    /* doc/REFERENCE.md lists 0xC09C-0xC0A3 as "RSA_AES_CCM", but 0xC09E/0xC09F/0xC0A2/0xC0A3
     * are DHE_RSA (ephemeral, so STRONG); likewise 0x00A2/0x00A3 in the static-DH row are
     * DHE_DSS. */
    static const struct range r[] = {
        {0x009C, 0x009D}, {0xC09C, 0xC0A3}, {0xC050, 0xC051},           /* static RSA */
        {0x00A0, 0x00A5}, {0xC02D, 0xC02E}, {0xC031, 0xC032},           /* static (EC)DH */
    };
    static const struct override ov[] = {
        {0xC09E, CCL_STRONG}, {0xC09F, CCL_STRONG}, {0xC0A2, CCL_STRONG}, {0xC0A3, CCL_STRONG},
        {0x00A2, CCL_STRONG}, {0x00A3, CCL_STRONG},
    };
    FAMILY("AEAD no FS", r, CCL_AEAD_NOFS, ov);
}
END_TEST

START_TEST(test_family_static_dh_nofs)
{
    static const uint16_t codes[] = {0x0030, 0x0031, 0x0036, 0x0037, 0x00A0, 0x00A1, 0x00A4,
                                     0x00A5, 0xC004, 0xC005, 0xC00E, 0xC00F, 0xC02D, 0xC02E,
                                     0xC031, 0xC032};
    for (size_t i = 0; i < ARRAY_LEN(codes); i++) {
        const struct cipher_info *ci = cipher_lookup(codes[i]);
        ck_assert_ptr_nonnull(ci);
        ck_assert_msg(!ci->fs && (ci->kx == CKX_DH || ci->kx == CKX_ECDH), "0x%04X",
                      (unsigned)codes[i]);
        ck_assert(ci->cls == CCL_CBC_OBSOLETE || ci->cls == CCL_AEAD_NOFS);
    }
}
END_TEST

START_TEST(test_family_strong)
{
    static const struct range r[] = {
        {0xC02B, 0xC02C}, {0xC02F, 0xC030}, {0xCCA8, 0xCCAA}, {0x009E, 0x009F}, /* TLS 1.2 FS */
        {0x1301, 0x1305},                                                       /* TLS 1.3 */
    };
    FAMILY("FS AEAD", r, CCL_STRONG, no_override);
    for (size_t i = 0; i < ARRAY_LEN(r); i++)
        for (uint32_t c = r[i].lo; c <= r[i].hi; c++)
            ck_assert(cipher_lookup((uint16_t)c)->fs);
}
END_TEST

START_TEST(test_family_signalling)
{
    static const struct range r[] = {{0x00FF, 0x00FF}, {0x5600, 0x5600}};
    FAMILY("SCSV", r, CCL_SIGNALLING, no_override);
}
END_TEST

/* Only the two SCSVs are signalling; nothing else may be mistaken for a cipher-less value. */
START_TEST(test_signalling_only_scsv)
{
    size_t n = 0;

    for (uint32_t c = 0; c <= 0xFFFF; c++) {
        const struct cipher_info *ci = cipher_lookup((uint16_t)c);
        if (ci != NULL && ci->cls == CCL_SIGNALLING) {
            ck_assert(c == 0x00FF || c == 0x5600);
            n++;
        }
    }
    ck_assert_uint_eq(n, 2);
}
END_TEST

/* ---- whole-table invariants ------------------------------------------------------------ */

START_TEST(test_invariants)
{
    for (uint32_t c = 0; c <= 0xFFFF; c++) {
        const struct cipher_info *ci = cipher_lookup((uint16_t)c);
        if (ci == NULL)
            continue;
        const char *n = ci->name;

        ck_assert_msg(strcmp(cipher_kx_name(ci->kx), "invalid") != 0, "%s", n);
        ck_assert_msg(strcmp(cipher_auth_name(ci->auth), "invalid") != 0, "%s", n);
        ck_assert_msg(strcmp(cipher_enc_name(ci->enc), "invalid") != 0, "%s", n);
        ck_assert_msg(strcmp(cipher_mode_name(ci->mode), "invalid") != 0, "%s", n);
        ck_assert_msg(strcmp(cipher_mac_name(ci->mac), "invalid") != 0, "%s", n);
        ck_assert_msg(strcmp(cipher_class_name(ci->cls), "invalid") != 0, "%s", n);
        /* export flag <=> EXPORT in the name, and export keys are short */
        ck_assert_msg(ci->export_ == (strstr(n, "_EXPORT") != NULL), "%s", n);
        if (ci->export_)
            ck_assert_msg(ci->enc_bits == 40 || ci->enc_bits == 56, "%s", n);
        /* no encryption => NULL class, whatever else the suite has */
        if (ci->enc == CEN_NULL)
            ck_assert_msg(ci->cls == CCL_NULL && ci->enc_bits == 0, "%s", n);
        if (ci->auth == CAU_ANON)
            ck_assert_msg(ci->cls == CCL_NULL || ci->cls == CCL_ANON, "%s", n);
        /* "strong" needs both AEAD and forward secrecy; AEAD_NOFS exactly lacks the latter */
        if (ci->cls == CCL_STRONG)
            ck_assert_msg(ci->mac == CMA_AEAD && ci->fs && ci->auth != CAU_ANON, "%s", n);
        if (ci->cls == CCL_AEAD_NOFS)
            ck_assert_msg(ci->mac == CMA_AEAD && !ci->fs, "%s", n);
        /* fs only for ephemeral exchanges; static RSA/DH/ECDH/PSK/KRB5/SRP/GOST never */
        if (ci->fs)
            ck_assert_msg(ci->kx == CKX_DHE || ci->kx == CKX_ECDHE || ci->kx == CKX_DHE_PSK ||
                              ci->kx == CKX_ECDHE_PSK || ci->kx == CKX_ECCPWD ||
                              ci->kx == CKX_TLS13,
                          "%s", n);
        if (ci->kx == CKX_RSA || ci->kx == CKX_DH || ci->kx == CKX_ECDH || ci->kx == CKX_PSK ||
            ci->kx == CKX_RSA_PSK || ci->kx == CKX_KRB5 || ci->kx == CKX_SRP)
            ck_assert_msg(!ci->fs, "%s", n);
        /* AEAD modes carry no separate MAC */
        if (ci->mode == CMO_GCM || ci->mode == CMO_CCM || ci->mode == CMO_CCM8 ||
            ci->mode == CMO_POLY1305)
            ck_assert_msg(ci->mac == CMA_AEAD, "%s", n);
        if (ci->enc == CEN_RC4 || ci->enc == CEN_DES || ci->enc == CEN_RC2 || ci->mac == CMA_MD5)
            ck_assert_msg(ci->cls <= CCL_LOW, "%s", n);
        if (ci->enc == CEN_3DES || ci->enc == CEN_IDEA)
            ck_assert_msg(ci->cls <= CCL_MEDIUM_64BIT, "%s", n);
        /* every TLS 1.3 code point 0x13xx is TLS 1.3 and strong */
        if ((c >> 8) == 0x13)
            ck_assert_msg(ci->kx == CKX_TLS13 && ci->cls == CCL_STRONG, "%s", n);
    }
}
END_TEST

/* ---- cipher_lookup_v2 ------------------------------------------------------------------ */

static const struct {
    uint32_t kind;
    const char *name;
    enum cipher_enc enc;
    uint16_t bits;
    bool export_;
    enum cipher_class cls;
} v2[] = {
    {0x010080, "SSL_CK_RC4_128_WITH_MD5", CEN_RC4, 128, false, CCL_LOW},
    {0x020080, "SSL_CK_RC4_128_EXPORT40_WITH_MD5", CEN_RC4, 40, true, CCL_EXPORT},
    {0x030080, "SSL_CK_RC2_128_CBC_WITH_MD5", CEN_RC2, 128, false, CCL_LOW},
    {0x040080, "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5", CEN_RC2, 40, true, CCL_EXPORT},
    {0x050080, "SSL_CK_IDEA_128_CBC_WITH_MD5", CEN_IDEA, 128, false, CCL_LOW},
    {0x060040, "SSL_CK_DES_64_CBC_WITH_MD5", CEN_DES, 56, false, CCL_LOW},
    {0x0700C0, "SSL_CK_DES_192_EDE3_CBC_WITH_MD5", CEN_3DES, 168, false, CCL_LOW},
};

START_TEST(test_v2_kind)
{
    const struct cipher_info *ci = cipher_lookup_v2(v2[_i].kind);

    ck_assert_msg(ci != NULL, "%s missing", v2[_i].name);
    ck_assert_str_eq(ci->name, v2[_i].name);
    ck_assert_uint_eq(ci->code, 0);
    ck_assert(ci->enc == v2[_i].enc);
    ck_assert_uint_eq(ci->enc_bits, v2[_i].bits);
    ck_assert(ci->export_ == v2[_i].export_);
    ck_assert(ci->kx == (v2[_i].export_ ? CKX_RSA_EXPORT : CKX_RSA));
    ck_assert(ci->auth == CAU_RSA);
    ck_assert(ci->mac == CMA_MD5);
    ck_assert(!ci->fs);
    ck_assert_msg(ci->cls == v2[_i].cls, "%s class %s", v2[_i].name, cipher_class_name(ci->cls));
}
END_TEST

START_TEST(test_v2_unknown)
{
    /* 0x080080 is SSL_CK_RC4_64_WITH_MD5, a vendor kind outside the SSL 2.0 spec. */
    static const uint32_t unknown[] = {0x000000, 0x000004, 0x00C02F, 0x010081, 0x070080,
                                       0x080080, 0xFFFFFF, 0x01010080, 0xFFFFFFFF};
    for (size_t i = 0; i < ARRAY_LEN(unknown); i++)
        ck_assert_msg(cipher_lookup_v2(unknown[i]) == NULL, "0x%06X", (unsigned)unknown[i]);
    /* the two tables are separate: a v2 kind's low bytes are not a TLS lookup */
    ck_assert_ptr_null(cipher_lookup_v2(0x0004));
}
END_TEST

/* ---- cipher_is_grease ------------------------------------------------------------------ */

START_TEST(test_grease_all_sixteen)
{
    static const uint16_t g[16] = {0x0A0A, 0x1A1A, 0x2A2A, 0x3A3A, 0x4A4A, 0x5A5A, 0x6A6A, 0x7A7A,
                                   0x8A8A, 0x9A9A, 0xAAAA, 0xBABA, 0xCACA, 0xDADA, 0xEAEA, 0xFAFA};
    for (size_t i = 0; i < 16; i++)
        ck_assert_msg(cipher_is_grease(g[i]), "0x%04X", (unsigned)g[i]);
}
END_TEST

START_TEST(test_grease_exactly_sixteen)
{
    unsigned n = 0;

    for (uint32_t v = 0; v <= 0xFFFF; v++)
        if (cipher_is_grease((uint16_t)v))
            n++;
    ck_assert_uint_eq(n, 16);
    /* near misses: right nibbles but bytes differ, or one nibble off */
    ck_assert(!cipher_is_grease(0x0A1A));
    ck_assert(!cipher_is_grease(0x1A0A));
    ck_assert(!cipher_is_grease(0x0B0B));
    ck_assert(!cipher_is_grease(0xA0A0));
    ck_assert(!cipher_is_grease(0x0A0B));
    ck_assert(!cipher_is_grease(0x0000));
}
END_TEST

/* ---- enum -> name ---------------------------------------------------------------------- */

START_TEST(test_enum_names)
{
    ck_assert_str_eq(cipher_kx_name(CKX_ECDHE), "ECDHE");
    ck_assert_str_eq(cipher_kx_name(CKX_RSA_EXPORT), "RSA_EXPORT");
    ck_assert_str_eq(cipher_kx_name(CKX_TLS13), "TLS13");
    ck_assert_str_eq(cipher_kx_name(CKX_UNKNOWN), "unknown");
    ck_assert_str_eq(cipher_auth_name(CAU_RSA), "RSA");
    ck_assert_str_eq(cipher_auth_name(CAU_ANON), "anon");
    ck_assert_str_eq(cipher_enc_name(CEN_AES128), "AES128");
    ck_assert_str_eq(cipher_enc_name(CEN_3DES), "3DES");
    ck_assert_str_eq(cipher_enc_name(CEN_CHACHA20), "CHACHA20");
    ck_assert_str_eq(cipher_mode_name(CMO_GCM), "GCM");
    ck_assert_str_eq(cipher_mode_name(CMO_CBC), "CBC");
    ck_assert_str_eq(cipher_mac_name(CMA_SHA256), "SHA256");
    ck_assert_str_eq(cipher_mac_name(CMA_AEAD), "AEAD");
    ck_assert_str_eq(cipher_class_name(CCL_STRONG), "strong");
    ck_assert_str_eq(cipher_class_name(CCL_SIGNALLING), "signalling");
    ck_assert_str_eq(cipher_class_name(CCL_MEDIUM_64BIT), "medium_64bit");
}
END_TEST

START_TEST(test_enum_names_out_of_range)
{
    ck_assert_str_eq(cipher_kx_name((enum cipher_kx)(CKX_TLS13 + 1)), "invalid");
    ck_assert_str_eq(cipher_kx_name((enum cipher_kx)-1), "invalid");
    ck_assert_str_eq(cipher_auth_name((enum cipher_auth)(CAU_TLS13 + 1)), "invalid");
    ck_assert_str_eq(cipher_enc_name((enum cipher_enc)(CEN_SM4 + 1)), "invalid");
    ck_assert_str_eq(cipher_mode_name((enum cipher_mode)(CMO_CNT + 1)), "invalid");
    ck_assert_str_eq(cipher_mac_name((enum cipher_mac)(CMA_SM3 + 1)), "invalid");
    ck_assert_str_eq(cipher_class_name((enum cipher_class)(CCL_STRONG + 1)), "invalid");
    ck_assert_str_eq(cipher_class_name((enum cipher_class)1000), "invalid");
}
END_TEST

/* Within each enum, every value has its own non-empty name. */
static void check_distinct(const char *(*fn)(int), int last)
{
    for (int i = 0; i <= last; i++) {
        const char *a = fn(i);
        ck_assert_msg(a[0] != '\0' && strcmp(a, "invalid") != 0, "value %d", i);
        for (int j = 0; j < i; j++)
            ck_assert_msg(strcmp(a, fn(j)) != 0, "values %d and %d both '%s'", j, i, a);
    }
}
static const char *kx_i(int v) { return cipher_kx_name((enum cipher_kx)v); }
static const char *auth_i(int v) { return cipher_auth_name((enum cipher_auth)v); }
static const char *enc_i(int v) { return cipher_enc_name((enum cipher_enc)v); }
static const char *mode_i(int v) { return cipher_mode_name((enum cipher_mode)v); }
static const char *mac_i(int v) { return cipher_mac_name((enum cipher_mac)v); }
static const char *class_i(int v) { return cipher_class_name((enum cipher_class)v); }

START_TEST(test_enum_names_distinct)
{
    check_distinct(kx_i, CKX_TLS13);
    check_distinct(auth_i, CAU_TLS13);
    check_distinct(enc_i, CEN_SM4);
    check_distinct(mode_i, CMO_CNT);
    check_distinct(mac_i, CMA_SM3);
    check_distinct(class_i, CCL_STRONG);
}
END_TEST

static Suite *ciphers_suite(void)
{
    Suite *s = suite_create("ciphers");
    TCase *tc;

    tc = tcase_create("cipher_lookup");
    tcase_add_test(tc, test_count);
    tcase_add_test(tc, test_exhaustive_scan_matches_count);
    tcase_add_test(tc, test_names_unique_and_wellformed);
    tcase_add_loop_test(tc, test_unknown_codes, 0, (int)ARRAY_LEN(unknown_codes));
    tcase_add_test(tc, test_grease_not_in_table);
    tcase_add_loop_test(tc, test_spot, 0, (int)ARRAY_LEN(spots));
    tcase_add_test(tc, test_invariants);
    suite_add_tcase(s, tc);

    tc = tcase_create("classes");
    tcase_add_test(tc, test_family_null);
    tcase_add_test(tc, test_family_anon);
    tcase_add_test(tc, test_family_export);
    tcase_add_test(tc, test_family_des);
    tcase_add_test(tc, test_family_rc4);
    tcase_add_test(tc, test_family_md5);
    tcase_add_test(tc, test_family_3des_idea);
    tcase_add_test(tc, test_family_cbc);
    tcase_add_test(tc, test_family_aead_nofs);
    tcase_add_test(tc, test_family_static_dh_nofs);
    tcase_add_test(tc, test_family_strong);
    tcase_add_test(tc, test_family_signalling);
    tcase_add_test(tc, test_signalling_only_scsv);
    suite_add_tcase(s, tc);

    tc = tcase_create("cipher_lookup_v2");
    tcase_add_loop_test(tc, test_v2_kind, 0, (int)ARRAY_LEN(v2));
    tcase_add_test(tc, test_v2_unknown);
    suite_add_tcase(s, tc);

    tc = tcase_create("cipher_is_grease");
    tcase_add_test(tc, test_grease_all_sixteen);
    tcase_add_test(tc, test_grease_exactly_sixteen);
    suite_add_tcase(s, tc);

    tc = tcase_create("names");
    tcase_add_test(tc, test_enum_names);
    tcase_add_test(tc, test_enum_names_out_of_range);
    tcase_add_test(tc, test_enum_names_distinct);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ciphers_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
