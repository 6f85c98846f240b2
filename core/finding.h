/* finding.h — what rules emit: a kind (stable dotted name), a severity, a summary line and
 * JSON evidence. The kinds are one X-macro list, split into one .def file per protocol
 * (kinds_core.def, kinds_tls.def, kinds_mail.def, kinds_http.def), so each dissector owns
 * its kinds and the README/coverage checks can enumerate all of them. */
#ifndef NZ_FINDING_H
#define NZ_FINDING_H

#include "core/nz.h"

/* Values of enum nz_severity (core/nz.h), for arrays indexed by severity. */

/* X(ID, "name", default severity, "what it means, one line") */
enum finding_kind {
#define X(id, name, sev, desc) FK_##id,
#include "core/kinds_core.def"
#include "core/kinds_tls.def"
#include "core/kinds_mail.def"
#include "core/kinds_http.def"
#undef X
    FK_COUNT
};

struct finding_kind_info {
    const char *name;          /* e.g. "tls.weak_cipher"; stored in the DB, never renamed */
    enum nz_severity severity; /* default; a rule may raise or lower it per instance */
    const char *desc;
};

/* Table entry for a kind; NULL if out of range. */
const struct finding_kind_info *finding_kind_info(enum finding_kind k);
/* Looks a kind up by its dotted name; returns FK_COUNT if unknown. */
enum finding_kind finding_kind_by_name(const char *name);

#define FINDING_SUMMARY_MAX 256   /* one line for the table view */
#define FINDING_EVIDENCE_MAX 4096 /* JSON text; capability lines, cipher lists fit */

struct finding {
    enum finding_kind kind;
    enum nz_severity severity;
    uint64_t ts_usec;                      /* packet time of the evidence */
    char summary[FINDING_SUMMARY_MAX];     /* NUL-terminated */
    char evidence[FINDING_EVIDENCE_MAX];   /* NUL-terminated JSON object */
};

/* Initialises f with kind, its default severity, ts, an empty summary and "{}". */
void finding_init(struct finding *f, enum finding_kind kind, uint64_t ts_usec);
/* printf into f->summary (truncated to fit). */
void finding_summary(struct finding *f, const char *fmt, ...) NZ_PRINTF(2, 3);

#endif
