/* check_json.c — the bounded JSON evidence writer (core/json.c) and finding helpers. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/finding.h"
#include "core/json.h"

START_TEST(test_basic)
{
    char buf[256];
    struct json j;
    json_init(&j, buf, sizeof buf);
    json_str(&j, "kind", "a\"b\\c\n");
    json_int(&j, "n", -5);
    json_uint(&j, "u", 18446744073709551615ull);
    json_bool(&j, "t", true);
    json_null(&j, "z");
    json_str(&j, "nil", NULL);
    ck_assert_str_eq(json_finish(&j),
                     "{\"kind\":\"a\\\"b\\\\c\\n\",\"n\":-5,\"u\":18446744073709551615,\"t\":true,\"z\":null,\"nil\":null}");
}
END_TEST

START_TEST(test_nested)
{
    char buf[256];
    struct json j;
    json_init(&j, buf, sizeof buf);
    json_arr_begin(&j, "list");
    json_str(&j, NULL, "x");
    json_int(&j, NULL, 2);
    json_obj_begin(&j, NULL);
    json_str(&j, "k", "v");
    json_obj_end(&j);
    json_arr_end(&j);
    json_obj_begin(&j, "o");
    json_arr_begin(&j, "e");
    /* left open: finish closes arrays and objects in the right order */
    ck_assert_str_eq(json_finish(&j), "{\"list\":[\"x\",2,{\"k\":\"v\"}],\"o\":{\"e\":[]}}");
}
END_TEST

START_TEST(test_binary_escaped)
{
    static const uint8_t raw[] = {'o', 'k', 0x00, 0x1f, 0x7f, 0xc3, 0xa9};
    char buf[128];
    struct json j;
    json_init(&j, buf, sizeof buf);
    struct bytes b = {raw, sizeof raw};
    json_strn(&j, "b", b);
    ck_assert_str_eq(json_finish(&j), "{\"b\":\"ok\\u0000\\u001f\\u007f\\u00c3\\u00a9\"}");
}
END_TEST

START_TEST(test_overflow_is_valid)
{
    for (size_t cap = 32; cap < 80; cap++) {
        char *buf = malloc(cap);
        struct json j;
        json_init(&j, buf, cap);
        json_str(&j, "long", "0123456789012345678901234567890123456789");
        json_int(&j, "n", 1);
        const char *out = json_finish(&j);
        ck_assert(strlen(out) < cap);
        ck_assert(out[0] == '{' && out[strlen(out) - 1] == '}');
        if (j.overflow)
            ck_assert_str_eq(out, "{\"truncated\":true}");
        free(buf);
    }
}
END_TEST

START_TEST(test_unbalanced)
{
    char buf[64];
    struct json j;
    json_init(&j, buf, sizeof buf);
    json_arr_begin(&j, "a");
    json_obj_end(&j); /* wrong closer */
    ck_assert_str_eq(json_finish(&j), "{\"truncated\":true}");
}
END_TEST

START_TEST(test_quote)
{
    char q[16];
    ck_assert(json_quote("a\"b", q, sizeof q));
    ck_assert_str_eq(q, "\"a\\\"b\"");
    ck_assert(!json_quote("0123456789abcdef", q, sizeof q));
    ck_assert_str_eq(q, "\"\"");
}
END_TEST

START_TEST(test_finding_kinds)
{
    for (int k = 0; k < FK_COUNT; k++) {
        const struct finding_kind_info *ki = finding_kind_info((enum finding_kind)k);
        ck_assert_ptr_nonnull(ki);
        ck_assert_ptr_nonnull(strchr(ki->name, '.'));
        ck_assert_int_eq(finding_kind_by_name(ki->name), k);
        for (int m = 0; m < k; m++)
            ck_assert_str_ne(ki->name, finding_kind_info((enum finding_kind)m)->name);
    }
    ck_assert_int_eq(finding_kind_by_name("no.such_kind"), FK_COUNT);
    ck_assert_ptr_null(finding_kind_info(FK_COUNT));
    struct finding f;
    finding_init(&f, FK_TCP_OVERLAP_MISMATCH, 42);
    ck_assert_int_eq(f.severity, NZ_SEV_MEDIUM);
    ck_assert_str_eq(f.evidence, "{}");
    finding_summary(&f, "%d overlaps", 3);
    ck_assert_str_eq(f.summary, "3 overlaps");
    enum nz_severity s;
    ck_assert_int_eq(nz_severity_parse("HIGH", &s), 0);
    ck_assert_int_eq(s, NZ_SEV_HIGH);
    ck_assert_int_eq(nz_severity_parse("severe", &s), NZ_EUSAGE);
    ck_assert_str_eq(nz_severity_name(NZ_SEV_CRITICAL), "critical");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("writer");
    tcase_add_test(tc, test_basic);
    tcase_add_test(tc, test_nested);
    tcase_add_test(tc, test_binary_escaped);
    tcase_add_test(tc, test_overflow_is_valid);
    tcase_add_test(tc, test_unbalanced);
    tcase_add_test(tc, test_quote);
    suite_add_tcase(s, tc);
    tc = tcase_create("findings");
    tcase_add_test(tc, test_finding_kinds);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
