/* https_redirect.h — http.no_https_redirect, the sslstrip opening: a host answers 200 for "/"
 * in clear without ever redirecting to https:// in the run, although the same name is reached
 * over TLS (an SNI in the database, possibly from other flows, files or earlier runs).
 *
 * A pure function: the store finds the candidate hosts (store_no_https_redirect_rows, typed
 * rows, the SQL stays in the store); the engine hands each over as plain facts and stores the
 * finding this builds. One finding per host. */
#ifndef NZ_RULES_HTTPS_REDIRECT_H
#define NZ_RULES_HTTPS_REDIRECT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/finding.h"

struct https_redirect_facts {
    const char *host;               /* the HTTP host; NULL = no finding */
    uint64_t first_plain_usec;      /* packet time of the first plaintext 200 for "/"; 0 = unknown */
    const char *first_plain_ts;     /* the same as ISO text (evidence); may be NULL */
    const char *tls_first_ts;       /* first TLS session with this SNI (ISO text); may be NULL */
};

/* Builds the finding (time = the plaintext request's). False when the facts name no host. */
bool https_redirect_rule(const struct https_redirect_facts *h, struct finding *out /* OUT */);

#endif
