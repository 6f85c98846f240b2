/* dissector.h — the contract between the pipeline and a protocol dissector.
 *
 * A dissector is a const struct of callbacks over reassembled stream bytes. It never sees
 * packets, libpcap or SQLite: it reports what it learned through `struct dis_ctx`'s sink
 * (findings and protocol records), and the pipeline stores them.
 *
 * Selection is by content on any port: the pipeline offers the first bytes of a flow's
 * streams to every dissector's probe(); ports are only a tie-breaking hint. */
#ifndef NZ_DISSECTOR_H
#define NZ_DISSECTOR_H

#include "core/finding.h"
#include "core/mem.h"

enum dis_status {
    DIS_OK = 0,     /* consumed what it could; call again with more bytes */
    DIS_SWITCH = 1, /* hand the flow to ctx->switch_to (e.g. SMTP → "tls" after STARTTLS/220):
                       the pipeline calls on_close, frees this state, then feeds the new
                       dissector the other direction's unconsumed tail (it arrived first),
                       then the bytes after *consumed of this call */
    DIS_DONE = 2,   /* needs nothing more from this flow in either direction */
    DIS_ERR = 3     /* malformed beyond recovery: the pipeline records dissect.malformed
                       (reason in ctx->err_reason), calls on_close so pending records are
                       emitted, and detaches the dissector */
};

enum dis_probe {
    DIS_PROBE_NO = 0,    /* definitely not this protocol */
    DIS_PROBE_MAYBE = 1, /* not enough bytes to decide */
    DIS_PROBE_YES = 2
};

/* Records the dissectors emit (defined in tls.h, http.h, mail.h). */
struct tls_session_rec;
struct http_request_rec;
struct mail_session_rec;

/* Where facts go. Every callback may be NULL. Pointers are borrowed for the call. */
struct dis_sink {
    void *ud;
    void (*finding)(void *ud, const struct finding *f);
    void (*tls_session)(void *ud, const struct tls_session_rec *r);
    void (*http_request)(void *ud, const struct http_request_rec *r);
    void (*mail_session)(void *ud, const struct mail_session_rec *r);
    /* The dissector names the flow's application protocol (overrides nDPI's label). */
    void (*label)(void *ud, const char *app_proto);
    /* A certificate the server sent in clear (position in its chain, 0 = the leaf), before the
     * session record that names it; der and sha256 are borrowed for the call. NULL = ignored. */
    void (*certificate)(void *ud, const uint8_t sha256[32], struct bytes der, unsigned position,
                        uint64_t ts_usec);
};

/* Per-call context the pipeline passes in. */
struct dis_ctx {
    uint64_t ts_usec;          /* packet time of the segment that completed these bytes */
    const struct dis_sink *sink;
    /* Endpoints, for evidence and summaries (text, NUL-terminated). */
    const char *cli_ip, *srv_ip;
    uint16_t cli_port, srv_port;
    uint64_t flow_id;          /* run-local flow id */
    /* OUT fields the dissector may set: */
    bool want[2];              /* pipeline sets both true; a dissector clears want[dir] to say
                                  it needs no more bytes in that direction (bulk bypass) */
    const char *switch_to;     /* with DIS_SWITCH: name of the next dissector */
    const char *started_by;    /* with DIS_SWITCH: context for the next one, e.g. "smtp-starttls" */
    const char *switch_host;   /* with DIS_SWITCH: the server's own name (e.g. the SMTP 220
                                  greeting's host), for the next one's certificate check */
    const char *switch_host_source; /* where switch_host came from: "greeting", "ehlo" */
    const char *err_reason;    /* with DIS_ERR: static text */
};

/* Configuration handed to state_new (all optional; zero = defaults). */
struct trust_store;
struct trust_cache;
struct dis_cfg {
    const char *started_by;    /* "tls" when detected directly; "smtp-starttls" after a switch */
    int policy;                /* 0 = default, 1 = "intermediate" (Mozilla 6.0) */
    const char *expect_host;   /* the name the server gave before the switch (may be NULL) */
    const char *expect_host_source; /* "greeting", "ehlo" */
    const struct trust_store *trust; /* anchors for chain verification (NULL: not checked) */
    struct trust_cache *tcache;      /* this thread's verification cache (may be NULL) */
};

struct dissector {
    const char *name;          /* "tls", "http", "smtp", "imap", "pop3" */
    uint16_t ports[8];         /* hint ports, 0-terminated */
    /* Decides from the first bytes of one direction's stream (dir 0 = client→server).
     * Must not keep `first`. */
    enum dis_probe (*probe)(struct bytes first, int dir);
    void *(*state_new)(const struct dis_cfg *cfg);   /* NULL on ENOMEM */
    void (*state_free)(void *st);                    /* NULL-safe */
    /* Bytes of direction `dir`, in stream order. *consumed (OUT) <= in.len: the pipeline keeps
     * the unconsumed tail and prepends it to the next call (up to DIS_BUF_MAX; past that, the
     * stream is treated as malformed). */
    enum dis_status (*on_data)(void *st, int dir, struct bytes in, size_t *consumed,
                               struct dis_ctx *ctx);
    /* `len` bytes are missing in direction `dir` (capture loss). The dissector resyncs or
     * returns DIS_DONE. Buffered unconsumed bytes of that direction were discarded. */
    enum dis_status (*on_gap)(void *st, int dir, uint64_t len, struct dis_ctx *ctx);
    /* The flow ended; emit what is pending (e.g. sessions whose handshake never finished). */
    void (*on_close)(void *st, struct dis_ctx *ctx);
    /* Heap bytes `st` holds now: the state and every buffer it owns, each at its allocated
     * capacity as nz_heap_size() counts it (mem.h). O(1), reads only. The pipeline calls it
     * after every call that may change the state and charges the difference to its memory
     * budget; past DIS_FLOW_MEM_MAX (with the pipeline's own buffers) it detaches. */
    size_t (*mem)(const void *st);
};

/* The registry (registry.c): all dissectors, in probe order. */
extern const struct dissector *const dis_registry[];
extern const size_t dis_registry_len;
/* Looks a dissector up by name; NULL if none. */
const struct dissector *dis_find(const char *name);

#endif
