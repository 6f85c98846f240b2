/* writer.h — the one place that writes a run's rows: it turns the workers' messages
 * (engine/msg.h) into database rows, on the writer thread (engine.c), so no worker ever waits
 * on SQLite.
 *
 * It keeps the map from a worker's flow key to its flows row (inserted when the first finding
 * or record of the flow arrives, updated when the flow ends) and runs the rules that read the
 * database: a mail server's history across sessions and runs (STARTTLS stripped, a refusal from
 * a server that accepted before: rules/mail_history.c; "before" = sessions that began before
 * this one) and, at the end of the run,
 * http.no_https_redirect (rules/https_redirect.c). It counts the findings it wrote by severity.
 * A database error is logged once and stops further writes (messages are still consumed). */
#ifndef NZ_ENGINE_WRITER_H
#define NZ_ENGINE_WRITER_H

#include <stdbool.h>

#include "core/finding.h"
#include "engine/ring.h"
#include "store/store.h"

struct wstate;

/* The rules that read a mail server's history wait, so that sessions which began earlier but
 * ended later are in the history too: defer_usec = UINT64_MAX, until wstate_finish (offline:
 * the answer then does not depend on the order in which workers ended their flows); else that
 * much packet time (live: the flow idle timeout), judged by wstate_tick; 0 = at once. */
struct wstate *wstate_new(struct store *st, int64_t run_id, const struct nz_log *log, uint64_t defer_usec);
/* Judges the waiting history rules whose time has come (live). */
void wstate_tick(struct wstate *w);
/* Handles one worker or control message (types MSG_FLOW .. MSG_RUN). */
void wstate_handle(struct wstate *w, const struct ring_msg *m);
/* Commits the open batch when rows were written since the last commit. */
void wstate_commit(struct wstate *w);
/* The end-of-run rule (http.no_https_redirect) and the final commit. Returns wstate_error(). */
int wstate_finish(struct wstate *w);
/* First database error (NZ_EDB) or 0. */
int wstate_error(const struct wstate *w);
/* Findings written (all, and by severity). */
uint64_t wstate_findings(const struct wstate *w, uint64_t by_sev[NZ_SEV_COUNT] /* OUT, may be NULL */);
/* Flows still mapped (announced, not ended): 0 after every flow ended. */
size_t wstate_open_flows(const struct wstate *w);
void wstate_free(struct wstate *w);

#endif
