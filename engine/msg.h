/* msg.h — what travels through the engine's queues (engine/ring.h).
 *
 * Reader → worker (offline, 2+ workers): packets, packet-time ticks, barriers.
 * Worker → writer: flow rows, findings and protocol records, as plain bytes (no pointers):
 * the worker formats nothing for the database; the writer turns them into column values.
 * Control → writer: run-row updates.
 *
 * Keys: the reader numbers its packets s = 1, 2, ...; a packet's key is 2s+1, a tick sent just
 * before it 2s, a barrier the next even number. A worker publishes the key of the last input
 * it finished, and stamps what it emits with the key of the input it was handling (for
 * diagnostics; the writer does not need an order). */
#ifndef NZ_ENGINE_MSG_H
#define NZ_ENGINE_MSG_H

#include <stdint.h>

#include "core/finding.h"
#include "dissect/http.h"
#include "dissect/mail.h"
#include "dissect/tls.h"
#include "engine/ndpi_glue.h"
#include "store/store.h"

enum msg_type {
    MSG_PAD = 0,
    /* reader → worker */
    MSG_PKT,       /* struct msg_pkt + frame bytes */
    MSG_TICK,      /* struct msg_tick: packet time went on (idle expiry) */
    MSG_BARRIER,   /* struct msg_barrier */
    MSG_STOP,      /* no payload: end the thread */
    /* worker → writer */
    MSG_FLOW,      /* struct msg_flow */
    MSG_FINDING,   /* struct msg_finding + summary + evidence */
    MSG_TLS,       /* struct msg_rec + struct tls_session_rec */
    MSG_HTTP,      /* struct msg_rec + struct http_request_rec */
    MSG_MAIL,      /* struct msg_rec + struct mail_session_rec */
    MSG_CERT,      /* struct msg_cert + the certificate's DER */
    /* control → writer */
    MSG_RUN,       /* struct msg_run + counters JSON */
};

struct msg_pkt {
    uint64_t ts_usec;
    uint32_t caplen, wirelen;
    int32_t dlt;
    uint32_t pad_;
    unsigned char data[];
};

struct msg_tick {
    uint64_t ts_usec;
};

struct msg_barrier {
    uint64_t ts_usec;     /* packet time of the last packet read */
    uint32_t end_flows;   /* end every flow (end of an input file) */
    uint32_t pad_;
};

/* A flow row: sent before the first finding or record of the flow (final = 0; inserted) and
 * when the flow ends (final = 1; inserted or updated). fkey is unique in the run. */
struct msg_flow {
    uint64_t fkey;
    uint8_t final, ip_version, orient, end;   /* enum flow_orient, enum flow_end (when final) */
    uint16_t client_port, server_port;
    uint8_t client_addr[16], server_addr[16];  /* raw (IPv4: the first 4 bytes); the writer
                                                  makes the text */
    char app_proto[24];
    char ndpi_proto[NDPI_LABEL_MAX];
    uint64_t first_usec, last_usec;
    uint64_t pkts[2], bytes[2], payload[2];
    uint64_t gaps, gap_bytes, overlaps, overlap_diff, retrans;
};

/* A server certificate, sent the first time a worker sees it (before the TLS record that
 * names it); the writer stores it once. */
struct msg_cert {
    uint64_t ts_usec;
    uint8_t sha256[32];
    uint32_t der_len;
    uint32_t pad_;
    unsigned char der[];
};

struct msg_finding {
    uint64_t fkey;        /* 0 = no flow */
    int32_t kind, severity;
    uint64_t ts_usec;
    uint16_t summary_len, evidence_len;   /* without NUL; the texts follow, summary first */
    uint32_t pad_;
    char text[];
};

struct msg_rec {
    uint64_t fkey;
};

struct msg_run {
    struct store_run_stats st;   /* counters_json is NULL here: the text follows */
    uint32_t json_len;
    uint32_t pad_;
    char json[];
};

#endif
