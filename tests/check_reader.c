/* check_reader.c — the bounds-checked cursor (core/reader.c). Inputs sit right before a
 * PROT_NONE page (tu_guard), so any overread crashes the test. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/reader.h"
#include "tests/testutil.h"

START_TEST(test_ints)
{
    static const uint8_t in[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a};
    uint8_t *g = tu_guard(in, sizeof in);
    struct rd r = rd_init(g, sizeof in);
    ck_assert_uint_eq(rd_u8(&r), 0x01);
    ck_assert_uint_eq(rd_be16(&r), 0x0203);
    ck_assert_uint_eq(rd_be24(&r), 0x040506);
    ck_assert_uint_eq(rd_be32(&r), 0x0708090a);
    ck_assert(rd_ok(&r));
    ck_assert(rd_eof(&r));
    ck_assert_uint_eq(rd_u8(&r), 0);
    ck_assert(!rd_ok(&r));
    /* sticky: a later read that would fit is still refused */
    r.off = 0;
    ck_assert_uint_eq(rd_u8(&r), 0);
    ck_assert(!rd_ok(&r));
    struct rd l = rd_init(g, sizeof in);
    ck_assert_uint_eq(rd_le16(&l), 0x0201);
    ck_assert_uint_eq(rd_le32(&l), 0x06050403);
    tu_guard_free(g, sizeof in);
}
END_TEST

START_TEST(test_every_length)
{
    /* Every read at every remaining length: never past the end, err exactly when short. */
    uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (size_t len = 0; len <= sizeof buf; len++) {
        uint8_t *g = tu_guard(buf, len);
        struct rd r;
        r = rd_init(g, len); rd_be32(&r); ck_assert(rd_ok(&r) == (len >= 4));
        r = rd_init(g, len); rd_be24(&r); ck_assert(rd_ok(&r) == (len >= 3));
        r = rd_init(g, len); rd_be16(&r); ck_assert(rd_ok(&r) == (len >= 2));
        r = rd_init(g, len); rd_skip(&r, 5); ck_assert(rd_ok(&r) == (len >= 5));
        r = rd_init(g, len); struct bytes b = rd_slice(&r, 6);
        ck_assert(rd_ok(&r) == (len >= 6));
        ck_assert_uint_eq(b.len, len >= 6 ? 6 : 0);
        tu_guard_free(g, len);
    }
}
END_TEST

START_TEST(test_vectors)
{
    /* 2-byte length 3, then "abc", then 1-byte length 200 (overruns) */
    static const uint8_t in[] = {0x00, 0x03, 'a', 'b', 'c', 200, 'x'};
    uint8_t *g = tu_guard(in, sizeof in);
    struct rd r = rd_init(g, sizeof in);
    struct rd v = rd_vec16(&r);
    ck_assert(rd_ok(&v));
    ck_assert_uint_eq(rd_left(&v), 3);
    ck_assert_uint_eq(rd_u8(&v), 'a');
    struct rd w = rd_vec8(&r);
    ck_assert(!rd_ok(&w));
    ck_assert(!rd_ok(&r));
    ck_assert_uint_eq(rd_left(&w), 0);
    tu_guard_free(g, sizeof in);
    /* hostile 24-bit length */
    static const uint8_t h[] = {0xff, 0xff, 0xff, 1, 2};
    g = tu_guard(h, sizeof h);
    r = rd_init(g, sizeof h);
    v = rd_vec24(&r);
    ck_assert(!rd_ok(&v));
    tu_guard_free(g, sizeof h);
}
END_TEST

START_TEST(test_copy_peek_rest)
{
    static const uint8_t in[] = {9, 8, 7};
    uint8_t *g = tu_guard(in, sizeof in);
    struct rd r = rd_init(g, sizeof in);
    ck_assert_int_eq(rd_peek(&r, 0), 9);
    ck_assert_int_eq(rd_peek(&r, 2), 7);
    ck_assert_int_eq(rd_peek(&r, 3), -1);
    uint8_t out[2] = {0, 0};
    ck_assert(rd_copy(&r, out, 2));
    ck_assert_uint_eq(out[1], 8);
    struct bytes rest = rd_rest(&r);
    ck_assert_uint_eq(rest.len, 1);
    uint8_t big[4] = {0xaa, 0xaa, 0xaa, 0xaa};
    ck_assert(!rd_copy(&r, big, 4));
    ck_assert_uint_eq(big[0], 0xaa); /* untouched on error */
    tu_guard_free(g, sizeof in);
}
END_TEST

START_TEST(test_lines)
{
    static const char in[] = "EHLO a\r\nQUIT\nno-end";
    uint8_t *g = tu_guard(in, strlen(in));
    struct rd r = rd_init(g, strlen(in));
    struct bytes l;
    ck_assert_int_eq(rd_line(&r, 100, &l), 1);
    ck_assert(bytes_eq_nocase(l, "ehlo A"));
    ck_assert_int_eq(rd_line(&r, 100, &l), 1);
    ck_assert(bytes_eq_nocase(l, "QUIT"));
    ck_assert_int_eq(rd_line(&r, 100, &l), 0); /* need more */
    ck_assert_int_eq(rd_line(&r, 4, &l), -1);  /* too long */
    ck_assert_uint_eq(rd_left(&r), 6);         /* nothing consumed */
    tu_guard_free(g, strlen(in));
    /* empty line and a bare LF */
    static const char e[] = "\r\n\n";
    g = tu_guard(e, 3);
    r = rd_init(g, 3);
    ck_assert_int_eq(rd_line(&r, 10, &l), 1);
    ck_assert_uint_eq(l.len, 0);
    ck_assert_int_eq(rd_line(&r, 10, &l), 1);
    ck_assert_uint_eq(l.len, 0);
    ck_assert(rd_eof(&r));
    tu_guard_free(g, 3);
}
END_TEST

START_TEST(test_bytes_helpers)
{
    static const char in[] = "  Host: X \t";
    uint8_t *g = tu_guard(in, strlen(in));
    struct bytes b = {g, strlen(in)};
    struct bytes t = bytes_trim(b);
    ck_assert(bytes_eq_nocase(t, "host: x"));
    ck_assert(bytes_prefix_nocase(t, "HOST:"));
    ck_assert(!bytes_prefix_nocase(t, "Host: X and more"));
    ck_assert_int_eq(bytes_find(b, ':', 0), 6);
    ck_assert_int_eq(bytes_find(b, ':', 7), -1);
    ck_assert_int_eq(bytes_find(b, ':', 100), -1);
    ck_assert_int_eq(bytes_at(b, 2), 'H');
    ck_assert_int_eq(bytes_at(b, b.len), -1);
    struct bytes s = bytes_sub(b, 8, 100);
    ck_assert_uint_eq(s.len, b.len - 8);
    ck_assert_uint_eq(bytes_sub(b, 100, 1).len, 0);
    char cs[5];
    bytes_to_cstr(t, cs, sizeof cs);
    ck_assert_str_eq(cs, "Host");
    static const uint8_t bin[] = {'a', 0, 0xff};
    struct bytes bb = {bin, 3};
    char c2[8];
    ck_assert_str_eq(bytes_to_cstr(bb, c2, sizeof c2), "a??");
    tu_guard_free(g, strlen(in));
}
END_TEST

START_TEST(test_b64_digit)
{
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; i++) {
        ck_assert_int_eq(b64_digit(std[i], false), i);
        ck_assert_int_eq(b64_digit(std[i], true), i);
    }
    ck_assert_int_eq(b64_digit('-', false), -1);
    ck_assert_int_eq(b64_digit('_', false), -1);
    ck_assert_int_eq(b64_digit('-', true), 62);
    ck_assert_int_eq(b64_digit('_', true), 63);
    ck_assert_int_eq(b64_digit('=', true), -1);
    ck_assert_int_eq(b64_digit(-1, true), -1);
    ck_assert_int_eq(b64_digit(0xff, false), -1);
}
END_TEST

static struct bytes B(const char *s)
{
    struct bytes b = {(const uint8_t *)s, strlen(s)};
    return b;
}

START_TEST(test_text_helpers)
{
    ck_assert_int_eq(ascii_hex_val('7'), 7);
    ck_assert_int_eq(ascii_hex_val('b'), 11);
    ck_assert_int_eq(ascii_hex_val('F'), 15);
    ck_assert_int_eq(ascii_hex_val('g'), -1);
    ck_assert_int_eq(ascii_upper('q'), 'Q');
    ck_assert_int_eq(ascii_lower('Q'), 'q');
    ck_assert(bytes_eq(B("abc"), "abc"));
    ck_assert(!bytes_eq(B("abc"), "ABC"));
    ck_assert(!bytes_eq(B("ab"), "abc"));
    ck_assert(bytes_eq(B(""), ""));
    ck_assert_int_eq(bytes_starts_nocase(B("ehlo x"), "EHLO "), 1);
    ck_assert_int_eq(bytes_starts_nocase(B("EH"), "EHLO "), 0);
    ck_assert_int_eq(bytes_starts_nocase(B("HELO"), "EHLO "), -1);
    ck_assert(bytes_contains_nocase(B("220 mx ESMTP ready"), "smtp"));
    ck_assert(!bytes_contains_nocase(B("220 ftp"), "smtp"));
    uint64_t v = 0;
    ck_assert(bytes_to_u64(B("1234567890123456789"), &v));
    ck_assert(v == 1234567890123456789ull);
    ck_assert(!bytes_to_u64(B("12345678901234567890"), &v)); /* 20 digits */
    ck_assert(!bytes_to_u64(B("12a"), &v));
    ck_assert(!bytes_to_u64(B(""), &v));
    struct rd r = rd_from(B("  MAIL \tFROM:<a@b>  "));
    struct bytes w = rd_word(&r);
    ck_assert(bytes_eq(w, "MAIL"));
    ck_assert(bytes_eq(rd_rest_trim(&r), "FROM:<a@b>"));
    ck_assert(bytes_eq(rd_word(&r), "FROM:<a@b>")); /* rd_rest_trim consumed only the blanks */
    ck_assert_uint_eq(rd_word(&r).len, 0);
}
END_TEST

START_TEST(test_b64_decoder)
{
    uint8_t out[16];
    /* "user:pass" */
    size_t n = b64_decode(B("dXNlcjpwYXNz"), false, out, sizeof out);
    ck_assert_uint_eq(n, 9);
    ck_assert(memcmp(out, "user:pass", 9) == 0);
    ck_assert_uint_eq(b64_decode(B("dXNlcjpwYXNz"), false, out, 4), 4); /* cap */
    ck_assert_uint_eq(b64_decode(B("YQ=="), false, out, sizeof out), 1); /* stops at '=' */
    ck_assert_uint_eq(b64_decode(B("YW?J"), false, out, sizeof out), 1);  /* stops at a non-digit */
    /* urlsafe: '-' and '_' are 62 and 63 only when asked for */
    ck_assert_uint_eq(b64_decode(B("-_-_"), true, out, sizeof out), 3);
    ck_assert_uint_eq(b64_decode(B("-_-_"), false, out, sizeof out), 0);
    /* streaming: stops where the caller stops, nothing decoded past it */
    struct b64dec d = b64dec_init(B("dXNlcjpwYXNz"), false);
    int c;
    size_t k = 0;
    while ((c = b64dec_next(&d)) >= 0 && c != ':')
        k++;
    ck_assert_int_eq(c, ':');
    ck_assert_uint_eq(k, 4);
    ck_assert_int_eq(b64dec_next(&d), 'p');
}
END_TEST

static Suite *reader_suite(void)
{
    Suite *s = suite_create("reader");
    TCase *tc = tcase_create("integers");
    tcase_add_test(tc, test_ints);
    tcase_add_test(tc, test_every_length);
    suite_add_tcase(s, tc);
    tc = tcase_create("vectors");
    tcase_add_test(tc, test_vectors);
    tcase_add_test(tc, test_copy_peek_rest);
    suite_add_tcase(s, tc);
    tc = tcase_create("text");
    tcase_add_test(tc, test_lines);
    tcase_add_test(tc, test_bytes_helpers);
    tcase_add_test(tc, test_b64_digit);
    tcase_add_test(tc, test_text_helpers);
    tcase_add_test(tc, test_b64_decoder);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reader_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
