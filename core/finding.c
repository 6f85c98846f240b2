/* finding.c — the kind table generated from the kinds_*.def X-macro files. */
#include "core/finding.h"

#include <stdio.h>
#include <string.h>

static const struct finding_kind_info kinds[FK_COUNT] = {
#define X(id, name, sev, desc) {name, sev, desc},
#include "core/kinds_core.def"
#include "core/kinds_tls.def"
#include "core/kinds_mail.def"
#include "core/kinds_http.def"
#undef X
};

const struct finding_kind_info *finding_kind_info(enum finding_kind k)
{
    return (unsigned)k < FK_COUNT ? &kinds[k] : NULL;
}

enum finding_kind finding_kind_by_name(const char *name)
{
    for (unsigned i = 0; i < FK_COUNT; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return (enum finding_kind)i;
    return FK_COUNT;
}

void finding_init(struct finding *f, enum finding_kind kind, uint64_t ts_usec)
{
    f->kind = kind;
    f->severity = (unsigned)kind < FK_COUNT ? kinds[kind].severity : NZ_SEV_INFO;
    f->ts_usec = ts_usec;
    f->summary[0] = '\0';
    memcpy(f->evidence, "{}", 3);
}

void finding_summary(struct finding *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->summary, sizeof f->summary, fmt, ap);
    va_end(ap);
}
