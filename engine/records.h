/* records.h — the dissectors' protocol records as rows of the store's record tables: one
 * TLS handshake (with its leaf certificate), one HTTP request/response pair, one mail session.
 * Maps each field to the column value the store writes (store.h, STORE_*_COLUMNS); the store
 * knows no dissector, the dissectors know no store. No allocation: the values live on the
 * stack for the one insert. */
#ifndef NZ_ENGINE_RECORDS_H
#define NZ_ENGINE_RECORDS_H

#include "store/store.h"

struct tls_session_rec;
struct http_request_rec;
struct mail_session_rec;

/* Insert one row; flow_id is the flows row (0 = none). Return what store_record_add() returns. */
int records_tls_add(struct store *s, int64_t run_id, int64_t flow_id, const struct tls_session_rec *r);
int records_http_add(struct store *s, int64_t run_id, int64_t flow_id, const struct http_request_rec *r);
/* ep: the flow's endpoints (may be NULL: no addresses, no ports). */
int records_mail_add(struct store *s, int64_t run_id, int64_t flow_id, const struct store_endpoints *ep,
                     const struct mail_session_rec *r);

#endif
