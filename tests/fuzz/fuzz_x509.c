/* fuzz_x509.c — libFuzzer target for dissect/x509.c (x509_parse over wolfSSL's decoder,
 * x509_parse_time, the name matcher) and the fallback DER walk (x509_walk, dissect/der.c),
 * which is driven on every input whatever wolfSSL says.
 *
 * Input: the whole buffer is one DER certificate, copied into an exact-size heap buffer so
 * ASan sees any overread. The first 8 bytes (if present) also serve as the capture time.
 * Every text field of the result must be NUL-terminated printable ASCII; the SAN list and
 * the subject CN are fed back through the matchers. Seeds: tests/fuzz/corpus/fuzz_x509/
 * (the DER vectors of tests/check_x509.c). */
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
