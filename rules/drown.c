/* drown.c — tls.drown_exposed. See drown.h. */
#include "rules/drown.h"

#include <stdio.h>
#include <string.h>

#include "core/json.h"

bool drown_rule(const struct drown_facts *d, struct finding *out)
{
    if (!d->spki_sha256 || !d->tls_server || !d->sslv2_server)
        return false;
    bool same = strcmp(d->tls_server, d->sslv2_server) == 0;
    finding_init(out, FK_TLS_DROWN_EXPOSED, d->tls_usec);
    snprintf(out->summary, sizeof out->summary,
             "%s uses a certificate key that %s offered over SSLv2 (DROWN: its RSA key exchanges can be "
             "decrypted through the SSLv2 server)", d->tls_server, same ? "it also" : d->sslv2_server);
    struct json j;
    json_init(&j, out->evidence, sizeof out->evidence);
    json_str(&j, "spki_sha256", d->spki_sha256);
    json_str(&j, "tls_server", d->tls_server);
    json_str(&j, "tls_version", d->tls_version);
    json_int(&j, "tls_session_id", d->tls_session_id);
    json_str(&j, "tls_ts", d->tls_ts);
    json_str(&j, "sslv2_server", d->sslv2_server);
    json_int(&j, "sslv2_session_id", d->sslv2_session_id);
    json_int(&j, "sslv2_run_id", d->sslv2_run_id);
    json_str(&j, "sslv2_ts", d->sslv2_ts);
    json_bool(&j, "same_server", same);
    json_finish(&j);
    return true;
}
