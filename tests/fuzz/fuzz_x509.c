/* fuzz_x509.c — libFuzzer target for dissect/x509.c (x509_parse over wolfSSL's decoder,
 * x509_parse_time, the name matcher).
 *
 * Input: the whole buffer is one DER certificate, copied into an exact-size heap buffer so
 * ASan sees any overread. The first 8 bytes (if present) also serve as the capture time.
 * Every text field of the result must be NUL-terminated printable ASCII; the SAN list and
 * the subject CN are fed back through the matchers. Seeds: tests/fuzz/corpus/fuzz_x509/
 * (the DER vectors of tests/check_x509.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    int rc = x509_parse(b, now, &ci);
    if (rc != 0 && rc != NZ_EMALFORMED && rc != NZ_ELIMIT)
        abort();
    check_text(ci.subject_cn, sizeof ci.subject_cn);
    check_text(ci.issuer_cn, sizeof ci.issuer_cn);
    check_text(ci.sig_alg, sizeof ci.sig_alg);
    check_text(ci.san_dns, sizeof ci.san_dns);
    check_text(ci.sha256_hex, sizeof ci.sha256_hex);
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
