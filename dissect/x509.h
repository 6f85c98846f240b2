/* x509.h — X.509 certificate facts for the TLS verdicts (RFC 5280), parsed with wolfSSL.
 *
 * x509.c is the only file that includes wolfSSL's ASN headers; when wolfSSL refuses a
 * certificate, x509.c falls back to its own DER walk (dissect/der.h). A struct cert_info is a
 * fixed-size copy of what the rules need: no pointers into the DER, every text field bounded
 * and NUL-terminated, bytes outside printable ASCII replaced by '?'. */
#ifndef NZ_X509_H
#define NZ_X509_H

#include "core/limits.h"
#include "core/nz.h"

#define X509_CN_MAX 128u     /* CN text incl. NUL; ub-common-name is 64 chars (RFC 5280 App. A),
                                longer (or UTF-8) names are cut */
#define X509_SAN_MAX 512u    /* comma-joined SAN dNSName list incl. NUL */
#define X509_SIG_MAX 32u     /* signature algorithm name incl. NUL */

/* Public key algorithm of the subject key. */
enum x509_key_type {
    X509_KEY_UNKNOWN = 0, /* not parsed */
    X509_KEY_RSA = 1,
    X509_KEY_EC = 2,
    X509_KEY_DSA = 3,
    X509_KEY_ED25519 = 4,
    X509_KEY_OTHER = 5    /* e.g. Ed448 or an algorithm wolfSSL does not name */
};

/* Where the facts of a struct cert_info come from. */
enum x509_source {
    X509_SRC_NONE = 0,     /* nothing parsed (at most the fingerprint) */
    X509_SRC_WOLFSSL = 1,  /* wolfSSL's decoder */
    X509_SRC_DER_WALK = 2  /* wolfSSL refused it; our own DER walk (x509_walk) read it */
};

/* Why wolfSSL refused a certificate (its error code, grouped; x509_wolf_fail_name). */
enum x509_wolf_fail {
    X509_WOLF_OK = 0,
    X509_WOLF_ASN_PARSE = 1,    /* ASN_PARSE_E -140, e.g. more names than it keeps */
    X509_WOLF_UNKNOWN_OID = 2,  /* ASN_UNKNOWN_OID_E -148, e.g. an ML-DSA signature */
    X509_WOLF_DATE = 3,         /* ASN_DATE_SZ_E / ASN_TIME_E (a date it cannot read) */
    X509_WOLF_INPUT = 4,        /* ASN_INPUT_E / ASN_GETINT_E / ASN_EXPECT_0_E / ASN_BITSTR_E /
                                   ASN_OBJECT_ID_E / ASN_VERSION_E: bad contents */
    X509_WOLF_KEY = 5,          /* ASN_RSA_KEY_E / ASN_SIG_KEY_E / ASN_SIG_OID_E / ECC or
                                   other key and signature errors */
    X509_WOLF_OTHER = 6,        /* any other code */
    X509_WOLF_COUNT = 7
};

/* What netzwacht keeps of one certificate. */
struct cert_info {
    char subject_cn[X509_CN_MAX];  /* subject commonName; "" if none */
    char issuer_cn[X509_CN_MAX];   /* issuer commonName; "" if none */
    bool self_issued;              /* subject DN == issuer DN (RFC 5280 §3.2 / §6.1) */
    bool self_sig_checked;         /* self_issued, and the signature was checked with the
                                      certificate's own key */
    bool self_sig_ok;              /* ... and it verified (a true self-signed certificate) */
    bool dates_valid;              /* not_before / not_after parsed */
    int64_t not_before;            /* epoch seconds UTC */
    int64_t not_after;             /* epoch seconds UTC */
    bool expired;                  /* not_after < now (the now_usec given to x509_parse) */
    bool not_yet_valid;            /* not_before > now */
    uint8_t version;               /* 1..3 (X.509 v1..v3) */
    uint8_t key_type;              /* enum x509_key_type */
    uint16_t key_bits;             /* RSA/DSA modulus/prime bits, EC field bits, Ed25519 256;
                                      0 unknown */
    char sig_alg[X509_SIG_MAX];    /* "sha256WithRSAEncryption", "ecdsa-with-SHA256", ... or
                                      "oid-sum-<n>" for one not in the table */
    uint8_t sig_hash;              /* enum x509_sig_hash of sig_alg */
    char san_dns[X509_SAN_MAX];    /* SAN dNSNames, comma-joined, certificate order */
    uint16_t n_san_dns;            /* dNSNames in the certificate (all, even those cut) */
    bool san_truncated;            /* san_dns lacks some of them (X509_SAN_MAX) */
    uint8_t sha256[32];            /* SHA-256 of the whole DER */
    char sha256_hex[65];           /* the same as lowercase hex */
    uint8_t source;                /* enum x509_source */
    uint8_t wolf_fail;             /* enum x509_wolf_fail (X509_WOLF_OK: wolfSSL accepted it) */
    bool der_broken;               /* neither wolfSSL nor the DER walk could read it: the DER
                                      itself is broken (only the fingerprint is kept) */
    bool host_checked;             /* x509_parse_host was given a host */
    bool host_match;               /* ... and it matches one of ALL the SAN dNSNames, also those
                                      san_dns had no room for */
};

/* Hash inside the signature algorithm (for the weak-signature verdict). */
enum x509_sig_hash {
    X509_HASH_UNKNOWN = 0,
    X509_HASH_MD2 = 1,
    X509_HASH_MD5 = 2,
    X509_HASH_SHA1 = 3,
    X509_HASH_SHA2 = 4,   /* SHA-224/256/384/512 */
    X509_HASH_OTHER = 5   /* EdDSA, RSASSA-PSS (hash in the parameters, not judged) */
};

/* Parses one DER certificate into *out (zeroed first; borrowed der). now_usec is the packet
 * time the validity flags are judged at (0: expired/not_yet_valid stay false). Returns 0, or
 * NZ_EMALFORMED if wolfSSL rejects the DER (out then holds only the fingerprint), or
 * NZ_ELIMIT if der is longer than X509_DER_MAX (out zeroed). Allocates inside wolfSSL for the
 * duration of the call only. */
int x509_parse(struct bytes der, uint64_t now_usec, struct cert_info *out /* OUT */);

/* x509_parse, and when wolfSSL refuses the certificate (wolf_fail says why) the DER walk
 * (x509_walk) takes over: 0 with source X509_SRC_DER_WALK when it reads the certificate,
 * NZ_EMALFORMED with der_broken (fingerprint kept) when the DER itself is broken. With a
 * non-empty host, host_checked/host_match judge it against every SAN dNSName (RFC 6125 §6.4,
 * x509_name_matches), however many there are. */
int x509_parse_host(struct bytes der, uint64_t now_usec, const char *host,
                    struct cert_info *out /* OUT */);

/* Our own DER walk over a certificate (RFC 5280 §4.1), independent of wolfSSL: subject and
 * issuer CN (the last of each Name), self-issued (issuer Name bytes == subject Name bytes),
 * version, validity, key type and size (RSA, EC named curves, DSA, Ed25519/Ed448), signature
 * algorithm (names of the wolfSSL table; "oid-<dotted>" for others, sig_hash unknown), SAN
 * dNSNames, fingerprint. The self-signature is never checked. Returns 0 (source
 * X509_SRC_DER_WALK), NZ_EMALFORMED (der_check fails or the Certificate structure is not
 * there; out holds only the fingerprint), NZ_ELIMIT (over X509_DER_MAX, out zeroed). */
int x509_walk(struct bytes der, uint64_t now_usec, const char *host,
              struct cert_info *out /* OUT */);

/* "asn_parse", "unknown_oid", "date", "input", "key", "other"; "ok" for X509_WOLF_OK. */
const char *x509_wolf_fail_name(int reason);

/* Parses an ASN.1 Time (RFC 5280 §4.1.2.5): tag 0x17 UTCTime "YYMMDDHHMMSSZ" (YY < 50 →
 * 20YY) or 0x18 GeneralizedTime "YYYYMMDDHHMMSSZ", with its DER tag and short-form length
 * (t starts at the tag). Returns 0 and *secs (epoch seconds UTC), or NZ_EMALFORMED. */
int x509_parse_time(struct bytes t, int64_t *secs /* OUT */);

/* Formats epoch seconds as "YYYY-MM-DDTHH:MM:SSZ" into buf (cap >= 21). Returns buf. */
char *x509_iso_time(int64_t secs, char *buf, size_t cap);

/* RFC 6125 §6.4: does DNS name pattern (a SAN dNSName or CN; "*.example.com" matches exactly
 * one leftmost label, only as the whole label, never a bare "*.tld") match host? ASCII
 * case-insensitive; one trailing dot on host is ignored. */
bool x509_name_matches(const char *pattern, const char *host);

/* Does host match any name of the comma-joined list (x509_name_matches)? */
bool x509_list_matches(const char *list, const char *host);

/* "RSA", "EC", "DSA", "Ed25519", "other", "unknown". Never NULL. */
const char *x509_key_type_name(int key_type);

/* ---- Every fact of the certificates table (store schema v8), for one NEW certificate ---- */

#define X509_DN_TEXT_MAX 2048u   /* subject/issuer DN text in bytes, cut marker included */
#define X509_SERIAL_OCTETS 64u   /* serialNumber octets shown (RFC 5280 §4.1.2.2 allows 20) */
#define X509_CUT_MARK "\xe2\x80\xa6" /* "…" (U+2026, UTF-8) ends every text that was cut; the
                                   only non-ASCII bytes a fact text can hold */

/* What x509_facts extracts. Every text is NUL-terminated; apart from a final X509_CUT_MARK
 * it holds printable ASCII only (bytes outside 0x20..0x7e become '?'). Everything but info
 * comes from our own DER walk (cert_split in x509.c, through struct rd / dissect/der.h), so
 * it is the same whichever decoder read info. */
struct x509_facts {
    struct cert_info info;        /* x509_parse_host(der, 0, NULL): validity flags unjudged */
    uint8_t spki_sha256[32];      /* SHA-256 of the SubjectPublicKeyInfo TLV (as
                                     `openssl x509 -pubkey | openssl pkey -pubin -outform DER`) */
    char spki_sha256_hex[65];     /* the same as lowercase hex; "" when not found */
    /* RFC 4514 strings, most specific RDN first, AVAs of a multi-valued RDN joined by '+' in
     * reverse encoded order (like `openssl x509 -nameopt RFC2253`), types by the short names
     * of RFC 4514 §3 (CN L ST O OU C STREET DC UID) and OpenSSL's short names for a few more
     * (emailAddress serialNumber SN GN title initials generationQualifier dnQualifier
     * pseudonym description businessCategory postalCode organizationIdentifier
     * jurisdictionL/ST/C), others dotted. A string value has , + " \ < > ; escaped by '\',
     * also a leading '#' or space and a trailing space; BMPString/UniversalString characters
     * outside ASCII and every non-printable byte (also each byte of a UTF-8 sequence) become
     * '?'. A dotted type, or a value that is no string type, is '#' + uppercase hex of the
     * whole value TLV (RFC 4514 §2.4). At most X509_DN_TEXT_MAX bytes (cut at a character
     * boundary, then X509_CUT_MARK). Unreadable AVAs are skipped. Heap; "" when empty. */
    char *subject_dn;
    char *issuer_dn;
    char serial_hex[2 * X509_SERIAL_OCTETS + sizeof X509_CUT_MARK]; /* lowercase hex of the
                                     INTEGER contents octets as encoded (a leading 00 of a
                                     positive serial stays: "00c0ffee"), cut after
                                     X509_SERIAL_OCTETS octets with X509_CUT_MARK */
    char *san_dns;                /* ALL dNSNames of every SAN extension, certificate order,
                                     comma-joined ('?' for ',' and non-printable bytes); heap */
    char *san_ip;                 /* ALL iPAddress entries: IPv4 dotted, IPv6 RFC 5952
                                     (lowercase, longest zero run "::", ::ffff:a.b.c.d for
                                     IPv4-mapped), any other length '#' + lowercase hex (at
                                     most 32 octets, then X509_CUT_MARK); comma-joined; heap */
    uint32_t n_san_dns;           /* entries in san_dns */
    uint32_t n_san_ip;            /* entries in san_ip */
    char key_curve[48];           /* EC keys: "P-192", "P-224", "P-256", "P-384", "P-521",
                                     "secp256k1", "brainpoolP256r1/384r1/512r1",
                                     "oid-<dotted>" for another named curve, "explicit" for
                                     specifiedCurve parameters; "" for other keys */
    int is_ca;                    /* basicConstraints cA: 1/0; -1 extension absent/unreadable */
    int path_len;                 /* pathLenConstraint (INT_MAX when larger); -1 absent */
    char key_usage[160];          /* RFC 5280 §4.2.1.3 names, bit order, comma-joined:
                                     digitalSignature,nonRepudiation,keyEncipherment,
                                     dataEncipherment,keyAgreement,keyCertSign,cRLSign,
                                     encipherOnly,decipherOnly; "" when absent */
    char ext_key_usage[256];      /* certificate order: serverAuth clientAuth codeSigning
                                     emailProtection ipsecEndSystem ipsecTunnel ipsecUser
                                     timeStamping OCSPSigning ipsecIKE anyExtendedKeyUsage
                                     msSGC nsSGC, dotted OID for others; cut with
                                     X509_CUT_MARK; "" when absent */
    const char *parsed_by;        /* "wolfssl" | "der_walk" | NULL (broken DER); static */
    char parse_error[32];         /* x509_wolf_fail_name() when wolfSSL refused it, else "" */
};

/* Extracts every fact of one DER certificate (borrowed) into *out (zeroed first; is_ca and
 * path_len -1). Allocates: free with x509_facts_free after any return. Returns
 *  0              parsed (parsed_by set); subject_dn, issuer_dn, san_dns, san_ip non-NULL.
 *                 If wolfSSL read it but our walk cannot split it (never seen), the walked
 *                 facts stay empty ("" / -1).
 *  NZ_EMALFORMED  broken DER (or empty): only info.sha256/sha256_hex and parse_error kept,
 *                 parsed_by NULL, the heap texts NULL.
 *  NZ_ELIMIT      der longer than X509_DER_MAX: nothing kept.
 *  NZ_ENOMEM      an allocation failed: info kept, the heap texts NULL. */
int x509_facts(struct bytes der, struct x509_facts *out /* OUT */);

/* Frees the heap texts of f and sets them NULL (a second call does nothing). */
void x509_facts_free(struct x509_facts *f);

/* A thread that parsed certificates is about to end: frees what wolfSSL keeps per thread (its
 * ECC point cache). */
void x509_thread_done(void);

#endif
