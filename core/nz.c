/* nz.c — error strings, severity names, the logging helper. */
#include "core/nz.h"

#include <stdio.h>
#include <strings.h>

const char *nz_strerror(int err)
{
    switch (err) {
    case NZ_OK: return "success";
    case NZ_ENOMEM: return "out of memory";
    case NZ_ELIMIT: return "limit reached";
    case NZ_EMALFORMED: return "malformed input";
    case NZ_EIO: return "input/output error";
    case NZ_EDB: return "database error";
    case NZ_EUSAGE: return "invalid usage";
    case NZ_EUNSUPPORTED: return "unsupported";
    default: return "unknown error";
    }
}

static const char *const sev_names[] = {"info", "low", "medium", "high", "critical"};

const char *nz_severity_name(enum nz_severity s)
{
    if ((unsigned)s < sizeof sev_names / sizeof sev_names[0])
        return sev_names[s];
    return "unknown";
}

int nz_severity_parse(const char *s, enum nz_severity *out)
{
    for (unsigned i = 0; i < sizeof sev_names / sizeof sev_names[0]; i++) {
        if (s && strcasecmp(s, sev_names[i]) == 0) {
            *out = (enum nz_severity)i;
            return 0;
        }
    }
    return NZ_EUSAGE;
}

void nz_logf(const struct nz_log *log, enum nz_log_level level, const char *fmt, ...)
{
    if (!log || !log->fn || level > log->max_level)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log->fn(log->ud, level, buf);
}
