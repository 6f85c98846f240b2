/* registry.c — every dissector, in probe order. Content probes are specific (a TLS record
 * header, an HTTP request line, an SMTP/IMAP/POP3 greeting), so order only breaks ties. */
#include <string.h>

#include "dissect/dissector.h"
#include "dissect/http.h"
#include "dissect/mail.h"
#include "dissect/tls.h"

const struct dissector *const dis_registry[] = {
    &tls_dissector,
    &http_dissector,
    &smtp_dissector,
    &imap_dissector,
    &pop3_dissector,
};
const size_t dis_registry_len = sizeof dis_registry / sizeof dis_registry[0];

const struct dissector *dis_find(const char *name)
{
    for (size_t i = 0; i < dis_registry_len; i++)
        if (strcmp(dis_registry[i]->name, name) == 0)
            return dis_registry[i];
    return NULL;
}
