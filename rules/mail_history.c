/* mail_history.c — the per-server STARTTLS history verdicts. See mail_history.h. */
#include "rules/mail_history.h"

#include <stdio.h>
#include <string.h>

#include "core/json.h"

/* The two kinds of each protocol that the history verdicts touch. */
struct mail_kinds {
    const char *proto;
    enum finding_kind stripped, refused;
};
static const struct mail_kinds mail_kinds[] = {
    {"smtp", FK_SMTP_STARTTLS_STRIPPED, FK_SMTP_STARTTLS_REFUSED},
    {"imap", FK_IMAP_STARTTLS_STRIPPED, FK_IMAP_STARTTLS_REFUSED},
    {"pop3", FK_POP3_STARTTLS_STRIPPED, FK_POP3_STARTTLS_REFUSED},
};
#define N_MAIL_KINDS (sizeof mail_kinds / sizeof mail_kinds[0])

static const struct mail_kinds *by_proto(const char *proto)
{
    for (size_t i = 0; i < N_MAIL_KINDS; i++)
        if (strcmp(proto, mail_kinds[i].proto) == 0)
            return &mail_kinds[i];
    return NULL;
}

/* Appends `,"key":<obj>` to a finding's JSON evidence (before its closing brace), if it fits. */
static void evidence_append(struct finding *f, const char *member)
{
    size_t n = strlen(f->evidence), m = strlen(member);
    if (n < 2 || f->evidence[n - 1] != '}' || n + m + 2 > sizeof f->evidence)
        return;
    bool empty = n == 2;
    f->evidence[n - 1] = '\0';
    snprintf(f->evidence + n - 1, sizeof f->evidence - (n - 1), "%s%s}", empty ? "" : ",", member);
}

const char *mail_refusal_proto(enum finding_kind kind)
{
    for (size_t i = 0; i < N_MAIL_KINDS; i++)
        if (kind == mail_kinds[i].refused)
            return mail_kinds[i].proto;
    return NULL;
}

bool mail_rule_refusal(struct finding *f, const struct mail_history_facts *h)
{
    if (!mail_refusal_proto(f->kind) || h->accepted == 0)
        return false;
    f->severity = NZ_SEV_HIGH;
    char m[256];
    snprintf(m, sizeof m, "\"accepted_before\":{\"sessions\":%lld,\"last_session\":%lld,\"last_ts\":\"%s\"}",
             (long long)h->accepted, (long long)h->last_accepted_id,
             h->last_accepted_ts ? h->last_accepted_ts : "");
    evidence_append(f, m);
    return true;
}

const char *mail_rule_stripped_needs_history(const struct mail_session_rec *r)
{
    if (!r->caps_seen || r->starttls_offered || (r->verdicts & MAIL_V_STARTTLS_STRIPPED))
        return NULL;
    const struct mail_kinds *k = by_proto(r->proto);
    return k ? k->proto : NULL;
}

bool mail_rule_stripped_by_history(const struct mail_session_rec *r, const char *srv_ip, uint16_t srv_port,
                                   const struct mail_history_facts *h, struct finding *out)
{
    if (!mail_rule_stripped_needs_history(r) || h->offered <= 0)
        return false;
    const struct mail_kinds *k = by_proto(r->proto);
    const char *last_ts = h->last_offered_ts ? h->last_offered_ts : "";
    finding_init(out, k->stripped, r->ts_usec);
    bool pop3 = strcmp(r->proto, "pop3") == 0;
    finding_summary(out, "%s server %s:%u no longer advertises %s (it did in %lld earlier session%s, last %s)",
                    pop3 ? "POP3" : strcmp(r->proto, "imap") == 0 ? "IMAP" : "SMTP", srv_ip, srv_port,
                    pop3 ? "STLS" : "STARTTLS", (long long)h->offered, h->offered == 1 ? "" : "s", last_ts);
    struct json j;
    json_init(&j, out->evidence, sizeof out->evidence);
    json_str(&j, "basis", "history");
    json_str(&j, "capabilities", r->capabilities);
    json_int(&j, "earlier_sessions", h->sessions);
    json_int(&j, "earlier_offered", h->offered);
    json_int(&j, "last_offered_session", h->last_offered_id);
    json_str(&j, "last_offered_ts", last_ts);
    json_finish(&j);
    return true;
}
