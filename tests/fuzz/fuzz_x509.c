/* fuzz_x509.c — libFuzzer target for dissect/x509.c (x509_parse over wolfSSL's decoder,
 * x509_parse_time, the name matcher) and the fallback DER walk (x509_walk, dissect/der.c),
 * which is driven on every input whatever wolfSSL says.
 *
 * Input: the whole buffer is one DER certificate, copied into an exact-size heap buffer so
 * ASan sees any overread. The first 8 bytes (if present) also serve as the capture time.
 * Every text field of the result must be NUL-terminated printable ASCII; the SAN list and
 * the subject CN are fed back through the matchers. x509_facts (the certificates table) runs
 * on every input too: its texts must be printable ASCII with at most a final X509_CUT_MARK,
 * within their bounds, its SAN counts must match the lists, a failure must keep nothing but
 * the fingerprint, and x509_facts_free must release everything (LeakSanitizer). Seeds:
 * tests/fuzz/corpus/fuzz_x509/ (the DER vectors of tests/check_x509.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissect/der.h"
#include "dissect/x509.h"

static void check_text(const char *s, size_t cap)
{
    const char *end = memchr(s, '\0', cap);
    if (!end)
        abort();
    for (; s < end; s++)
        if (*s < 0x20 || *s >= 0x7f)
            abort();
}

static void check_info(const struct cert_info *ci)
{
    check_text(ci->subject_cn, sizeof ci->subject_cn);
    check_text(ci->issuer_cn, sizeof ci->issuer_cn);
    check_text(ci->sig_alg, sizeof ci->sig_alg);
    check_text(ci->san_dns, sizeof ci->san_dns);
    check_text(ci->sha256_hex, sizeof ci->sha256_hex);
    if (ci->source > X509_SRC_DER_WALK || ci->wolf_fail >= X509_WOLF_COUNT)
        abort();
    if (ci->host_match && !ci->host_checked)
        abort();
}

/* A fact text: NUL within cap (0: unbounded), printable ASCII but for a final cut mark. */
static void check_fact_text(const char *s, size_t cap)
{
    if (!s)
        abort();
    const char *end = cap ? memchr(s, '\0', cap) : s + strlen(s);
    if (!end)
        abort();
    size_t n = (size_t)(end - s);
    size_t m = sizeof X509_CUT_MARK - 1;
    if (n >= m && memcmp(s + n - m, X509_CUT_MARK, m) == 0)
        n -= m;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] >= 0x7f)
            abort();
}

static uint32_t count_entries(const char *list)
{
    if (!*list)
        return 0;
    uint32_t n = 1;
    for (; *list; list++)
        n += *list == ',';
    return n;
}

/* x509_facts on its own, against x509_parse_host's answer rc_parse. */
static void facts(struct bytes b, int rc_parse)
{
    struct x509_facts f;
    int rc = x509_facts(b, &f);
    if (rc != 0 && rc != NZ_EMALFORMED && rc != NZ_ELIMIT && rc != NZ_ENOMEM)
        abort();
    check_info(&f.info);
    check_fact_text(f.parse_error, sizeof f.parse_error);
    if (rc == 0) {
        if (rc_parse != 0 || !f.parsed_by)
            abort();
        if (strcmp(f.parsed_by, f.info.source == X509_SRC_WOLFSSL ? "wolfssl" : "der_walk"))
            abort();
        check_fact_text(f.subject_dn, X509_DN_TEXT_MAX + 1);
        check_fact_text(f.issuer_dn, X509_DN_TEXT_MAX + 1);
        check_fact_text(f.san_dns, 0);
        check_fact_text(f.san_ip, 0);
        check_fact_text(f.serial_hex, sizeof f.serial_hex);
        check_fact_text(f.key_curve, sizeof f.key_curve);
        check_fact_text(f.key_usage, sizeof f.key_usage);
        check_fact_text(f.ext_key_usage, sizeof f.ext_key_usage);
        check_fact_text(f.spki_sha256_hex, sizeof f.spki_sha256_hex);
        size_t spki = strlen(f.spki_sha256_hex);
        if (spki != 0 && spki != 64)
            abort();
        if (count_entries(f.san_ip) != f.n_san_ip)
            abort();
        /* an empty dNSName adds an entry but no text: "" is one entry or none */
        uint32_t dns = count_entries(f.san_dns);
        if (dns != f.n_san_dns && !(dns == 0 && f.n_san_dns == 1))
            abort();
        /* the walk counts the same dNSNames for info (saturating at UINT16_MAX) */
        if (f.info.source == X509_SRC_DER_WALK &&
            f.info.n_san_dns != (f.n_san_dns > UINT16_MAX ? UINT16_MAX : f.n_san_dns))
            abort();
        if (f.is_ca < -1 || f.is_ca > 1 || f.path_len < -1)
            abort();
    } else {
        if (f.subject_dn || f.issuer_dn || f.san_dns || f.san_ip)
            abort();
        if (rc == NZ_EMALFORMED && (f.parsed_by || f.spki_sha256_hex[0] || f.serial_hex[0] ||
                                    f.n_san_dns || f.is_ca != -1 || rc_parse != NZ_EMALFORMED))
            abort();
    }
    x509_facts_free(&f);
    x509_facts_free(&f);
}

/* The DER walk on its own: its answer must agree with der_check (a certificate it reads is
 * well-formed DER), a failure keeps only the fingerprint, and OIDs of the input format. */
static void walk(struct bytes b, uint64_t now)
{
    struct cert_info ci;
    int rc = x509_walk(b, now, "www.netzwacht.test", &ci);
    if (rc != 0 && rc != NZ_EMALFORMED && rc != NZ_ELIMIT)
        abort();
    check_info(&ci);
    int dc = b.len <= X509_DER_MAX ? der_check(b) : NZ_ELIMIT;
    if (rc == 0 && (dc != 0 || ci.source != X509_SRC_DER_WALK || ci.der_broken))
        abort();
    if (rc == NZ_EMALFORMED && b.len > 0 && (!ci.der_broken || ci.subject_cn[0] || ci.dates_valid ||
                                strlen(ci.sha256_hex) != 64))
        abort();
    char oid[64];
    if (der_oid_text(b, oid, sizeof oid) == 0)
        check_text(oid, sizeof oid);
    struct rd r = rd_from(b);
    struct der_tlv t;
    for (int i = 0; i < 64 && der_next(&r, &t) == 0; i++)
        if (t.whole.len < t.val.len || t.whole.p + t.whole.len != t.val.p + t.val.len)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    if (size)
        memcpy(p, data, size);
    uint64_t now = 0;
    if (size >= 8)
        memcpy(&now, p, 8);
    struct cert_info ci;
    struct bytes b = {p, size};
    int rc = x509_parse_host(b, now, "www.netzwacht.test", &ci);
    if (rc != 0 && rc != NZ_EMALFORMED && rc != NZ_ELIMIT)
        abort();
    check_info(&ci);
    if (rc == 0 && ci.source == X509_SRC_NONE)
        abort();
    if (rc == NZ_EMALFORMED && size > 0 && !ci.der_broken)
        abort();
    walk(b, now);
    facts(b, rc);
    if (rc == 0) {
        char t[32];
        x509_iso_time(ci.not_before, t, sizeof t);
        x509_iso_time(ci.not_after, t, sizeof t);
        (void)x509_list_matches(ci.san_dns, ci.subject_cn);
        (void)x509_name_matches(ci.subject_cn, ci.issuer_cn);
    }
    int64_t secs;
    (void)x509_parse_time(b, &secs);
    free(p);
    return 0;
}
