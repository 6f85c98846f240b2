/* mail_history.h — mail verdicts that need more than one flow: what a server did in earlier
 * sessions (all runs of the database) changes what this session means.
 *
 * Pure functions: the engine reads the history from the store (store_mail_history_get), hands
 * it over as plain facts and stores the findings these return. */
#ifndef NZ_RULES_MAIL_HISTORY_H
#define NZ_RULES_MAIL_HISTORY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/finding.h"
#include "dissect/mail.h"

/* What a server (ip, port, protocol) did in sessions before a given time. */
struct mail_history_facts {
    int64_t sessions;               /* earlier sessions */
    int64_t offered;                /* ... in which STARTTLS/STLS was advertised */
    int64_t accepted;               /* ... in which STARTTLS/STLS was accepted */
    int64_t last_offered_id;        /* the latest session that advertised it; 0 */
    const char *last_offered_ts;    /* its time (ISO text); "" */
    int64_t last_accepted_id;       /* the latest session where it was accepted; 0 */
    const char *last_accepted_ts;
};

/* The protocol ("smtp", "imap", "pop3") whose STARTTLS refusal `kind` is; NULL for any other
 * kind. The refusal rule needs that protocol's history at the finding's time. */
const char *mail_refusal_proto(enum finding_kind kind);

/* A STARTTLS refusal is high, not medium, when this server accepted STARTTLS before
 * ("strong if the server normally accepts"): raises f's severity and adds `accepted_before`
 * to its evidence. Returns true when it did; f unchanged otherwise. */
bool mail_rule_refusal(struct finding *f, const struct mail_history_facts *h);

/* The protocol whose history the stripping rule needs for this session record, or NULL when
 * the rule cannot apply: a complete capability list without STARTTLS that no masked keyword
 * explained already (MAIL_V_STARTTLS_STRIPPED). */
const char *mail_rule_stripped_needs_history(const struct mail_session_rec *r);

/* Stripping seen through history: the server advertised STARTTLS in earlier sessions and this
 * complete capability list has none. Fills *out (kind <proto>.starttls_stripped, basis
 * "history", naming the earlier session) and returns true; false when it does not apply. */
bool mail_rule_stripped_by_history(const struct mail_session_rec *r, const char *srv_ip, uint16_t srv_port,
                                   const struct mail_history_facts *h, struct finding *out /* OUT */);

#endif
