/* https_redirect.c — http.no_https_redirect. See https_redirect.h. */
#include "rules/https_redirect.h"

#include <stdio.h>

#include "core/json.h"

bool https_redirect_rule(const struct https_redirect_facts *h, struct finding *out)
{
    if (!h->host)
        return false;
    finding_init(out, FK_HTTP_NO_HTTPS_REDIRECT, h->first_plain_usec);
    snprintf(out->summary, sizeof out->summary, "%s answers 200 for / in clear without redirecting to https://, "
             "although it is reached over TLS too (SNI seen %s)", h->host, h->tls_first_ts ? h->tls_first_ts : "?");
    struct json j;
    json_init(&j, out->evidence, sizeof out->evidence);
    json_str(&j, "host", h->host);
    json_str(&j, "path", "/");
    json_int(&j, "status", 200);
    json_str(&j, "first_plaintext_ts", h->first_plain_ts);
    json_str(&j, "tls_sni_first_seen", h->tls_first_ts);
    json_finish(&j);
    return true;
}
