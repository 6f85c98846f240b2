/* check_rules.c — Check suite for rules/: the mail history verdicts and http.no_https_redirect
 * as pure functions of a record and plain facts, each with its near misses. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/finding.h"
#include "dissect/mail.h"
#include "rules/https_redirect.h"
#include "rules/mail_history.h"

static const char *kind_name(const struct finding *f) { return finding_kind_info(f->kind)->name; }

static struct mail_session_rec stripped_candidate(const char *proto)
{
    struct mail_session_rec r;
    memset(&r, 0, sizeof r);
    snprintf(r.proto, sizeof r.proto, "%s", proto);
    r.ts_usec = 1700000000000000ull;
    r.caps_seen = true;
    r.starttls_offered = false;
    snprintf(r.capabilities, sizeof r.capabilities, "PIPELINING SIZE 10240000 8BITMIME");
    return r;
}

static const struct mail_history_facts offered_twice = {
    .sessions = 3, .offered = 2, .accepted = 1, .last_offered_id = 41, .last_offered_ts = "2023-11-14T22:00:00.000000Z",
    .last_accepted_id = 40, .last_accepted_ts = "2023-11-14T21:00:00.000000Z"};

START_TEST(test_stripped_by_history)
{
    static const char *const protos[] = {"smtp", "imap", "pop3"};
    static const char *const kinds[] = {"smtp.starttls_stripped", "imap.starttls_stripped", "pop3.starttls_stripped"};
    for (int i = 0; i < 3; i++) {
        struct mail_session_rec r = stripped_candidate(protos[i]);
        ck_assert_str_eq(mail_rule_stripped_needs_history(&r), protos[i]);
        struct finding f;
        ck_assert(mail_rule_stripped_by_history(&r, "192.0.2.25", 25, &offered_twice, &f));
        ck_assert_str_eq(kind_name(&f), kinds[i]);
        ck_assert_uint_eq(f.ts_usec, r.ts_usec);
        ck_assert_ptr_nonnull(strstr(f.summary, "192.0.2.25:25 no longer advertises"));
        ck_assert_ptr_nonnull(strstr(f.summary, i == 2 ? "STLS" : "STARTTLS"));
        ck_assert_ptr_nonnull(strstr(f.summary, "2 earlier sessions, last 2023-11-14T22:00:00.000000Z"));
        ck_assert_ptr_nonnull(strstr(f.evidence, "\"basis\":\"history\""));
        ck_assert_ptr_nonnull(strstr(f.evidence, "\"earlier_sessions\":3"));
        ck_assert_ptr_nonnull(strstr(f.evidence, "\"earlier_offered\":2"));
        ck_assert_ptr_nonnull(strstr(f.evidence, "\"last_offered_session\":41"));
        ck_assert_ptr_nonnull(strstr(f.evidence, "\"capabilities\":\"PIPELINING SIZE 10240000 8BITMIME\""));
    }
    /* One earlier session: singular. */
    struct mail_history_facts once = offered_twice;
    once.offered = 1;
    struct mail_session_rec r = stripped_candidate("smtp");
    struct finding f;
    ck_assert(mail_rule_stripped_by_history(&r, "192.0.2.25", 25, &once, &f));
    ck_assert_ptr_nonnull(strstr(f.summary, "1 earlier session, last"));
}
END_TEST

START_TEST(test_stripped_near_misses)
{
    struct finding f;
    /* Never offered before: nothing. */
    struct mail_history_facts never = offered_twice;
    never.offered = 0;
    struct mail_session_rec r = stripped_candidate("smtp");
    ck_assert(!mail_rule_stripped_by_history(&r, "192.0.2.25", 25, &never, &f));
    /* Offered in this session. */
    r.starttls_offered = true;
    ck_assert_ptr_null(mail_rule_stripped_needs_history(&r));
    ck_assert(!mail_rule_stripped_by_history(&r, "192.0.2.25", 25, &offered_twice, &f));
    /* No complete capability list. */
    r = stripped_candidate("imap");
    r.caps_seen = false;
    ck_assert_ptr_null(mail_rule_stripped_needs_history(&r));
    ck_assert(!mail_rule_stripped_by_history(&r, "192.0.2.25", 143, &offered_twice, &f));
    /* Already explained by a masked keyword in this session. */
    r = stripped_candidate("pop3");
    r.verdicts |= MAIL_V_STARTTLS_STRIPPED;
    ck_assert_ptr_null(mail_rule_stripped_needs_history(&r));
    ck_assert(!mail_rule_stripped_by_history(&r, "192.0.2.25", 110, &offered_twice, &f));
    /* Not a mail protocol. */
    r = stripped_candidate("http");
    ck_assert_ptr_null(mail_rule_stripped_needs_history(&r));
    ck_assert(!mail_rule_stripped_by_history(&r, "192.0.2.25", 80, &offered_twice, &f));
}
END_TEST

START_TEST(test_refusal_raised)
{
    static const enum finding_kind kinds[] = {FK_SMTP_STARTTLS_REFUSED, FK_IMAP_STARTTLS_REFUSED,
                                              FK_POP3_STARTTLS_REFUSED};
    static const char *const protos[] = {"smtp", "imap", "pop3"};
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(mail_refusal_proto(kinds[i]), protos[i]);
        struct finding f;
        finding_init(&f, kinds[i], 5);
        snprintf(f.evidence, sizeof f.evidence, "{\"reply\":\"454 TLS not available\"}");
        enum nz_severity before = f.severity;
        ck_assert_int_lt(before, NZ_SEV_HIGH);
        ck_assert(mail_rule_refusal(&f, &offered_twice));
        ck_assert_int_eq(f.severity, NZ_SEV_HIGH);
        ck_assert_str_eq(f.evidence, "{\"reply\":\"454 TLS not available\",\"accepted_before\":{\"sessions\":1,"
                                     "\"last_session\":40,\"last_ts\":\"2023-11-14T21:00:00.000000Z\"}}");
    }
    /* Empty evidence object: no leading comma. */
    struct finding f;
    finding_init(&f, FK_SMTP_STARTTLS_REFUSED, 5);
    snprintf(f.evidence, sizeof f.evidence, "{}");
    ck_assert(mail_rule_refusal(&f, &offered_twice));
    ck_assert_ptr_nonnull(strstr(f.evidence, "{\"accepted_before\":{"));
}
END_TEST

START_TEST(test_refusal_near_misses)
{
    /* Never accepted before: unchanged. */
    struct mail_history_facts never = offered_twice;
    never.accepted = 0;
    struct finding f, orig;
    finding_init(&f, FK_SMTP_STARTTLS_REFUSED, 5);
    snprintf(f.evidence, sizeof f.evidence, "{\"reply\":\"454\"}");
    orig = f;
    ck_assert(!mail_rule_refusal(&f, &never));
    ck_assert(memcmp(&f, &orig, sizeof f) == 0);
    /* Not a refusal (the stripped kind of the same protocol): unchanged. */
    ck_assert_ptr_null(mail_refusal_proto(FK_SMTP_STARTTLS_STRIPPED));
    ck_assert_ptr_null(mail_refusal_proto(FK_HTTP_NO_HTTPS_REDIRECT));
    finding_init(&f, FK_SMTP_STARTTLS_STRIPPED, 5);
    orig = f;
    ck_assert(!mail_rule_refusal(&f, &offered_twice));
    ck_assert(memcmp(&f, &orig, sizeof f) == 0);
}
END_TEST

START_TEST(test_https_redirect)
{
    struct https_redirect_facts h = {"www.example.org", 1700000000123456ull, "2023-11-14T22:13:20.123456Z",
                                     "2023-11-14T22:00:00.000001Z"};
    struct finding f;
    ck_assert(https_redirect_rule(&h, &f));
    ck_assert_str_eq(kind_name(&f), "http.no_https_redirect");
    ck_assert_uint_eq(f.ts_usec, 1700000000123456ull);
    ck_assert_str_eq(f.summary, "www.example.org answers 200 for / in clear without redirecting to https://, "
                                "although it is reached over TLS too (SNI seen 2023-11-14T22:00:00.000001Z)");
    ck_assert_str_eq(f.evidence, "{\"host\":\"www.example.org\",\"path\":\"/\",\"status\":200,"
                                 "\"first_plaintext_ts\":\"2023-11-14T22:13:20.123456Z\","
                                 "\"tls_sni_first_seen\":\"2023-11-14T22:00:00.000001Z\"}");
    /* Unknown times: "?" in the summary, null in the evidence, time 0. */
    struct https_redirect_facts u = {"a.example", 0, NULL, NULL};
    ck_assert(https_redirect_rule(&u, &f));
    ck_assert_uint_eq(f.ts_usec, 0);
    ck_assert_ptr_nonnull(strstr(f.summary, "(SNI seen ?)"));
    ck_assert_ptr_nonnull(strstr(f.evidence, "\"first_plaintext_ts\":null"));
    ck_assert_ptr_nonnull(strstr(f.evidence, "\"tls_sni_first_seen\":null"));
    /* Near miss: no host, no finding. */
    struct https_redirect_facts none = {NULL, 1, "x", "y"};
    ck_assert(!https_redirect_rule(&none, &f));
}
END_TEST

static Suite *rules_suite(void)
{
    Suite *s = suite_create("rules");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, test_stripped_by_history);
    tcase_add_test(tc, test_stripped_near_misses);
    tcase_add_test(tc, test_refusal_raised);
    tcase_add_test(tc, test_refusal_near_misses);
    tcase_add_test(tc, test_https_redirect);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rules_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
