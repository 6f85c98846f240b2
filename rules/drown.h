/* drown.h — tls.drown_exposed (CVE-2016-0800): a certificate key that any server offered in an
 * SSLv2 session, used by a TLS server (the same one or another). Traffic protected by that
 * key (RSA key exchange) can be decrypted with the SSLv2 server as an oracle: the TLS server
 * is exposed although it never speaks SSLv2 itself.
 *
 * A pure function: the store finds the pairs (store_drown_rows: keys matched by the SHA-256 of
 * the SubjectPublicKeyInfo, across runs), the engine hands each over as plain facts and stores
 * the finding this builds. */
#ifndef NZ_RULES_DROWN_H
#define NZ_RULES_DROWN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/finding.h"

struct drown_facts {
    const char *spki_sha256;        /* the shared key; NULL = no finding */
    const char *tls_server;         /* "ip:port" of the TLS server */
    const char *tls_version, *tls_ts;
    int64_t tls_session_id;         /* tls_sessions.id */
    uint64_t tls_usec;              /* packet time of the TLS session (the finding's time) */
    const char *sslv2_server;       /* "ip:port" of the SSLv2 server */
    const char *sslv2_ts;
    int64_t sslv2_session_id, sslv2_run_id;
};

bool drown_rule(const struct drown_facts *d, struct finding *out /* OUT */);

#endif
