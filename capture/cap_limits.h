/* cap_limits.h — capture-side caps, each with its unit and reason. CLI flags override the
 * ones marked (flag). */
#ifndef NZ_CAPTURE_LIMITS_H
#define NZ_CAPTURE_LIMITS_H

/* Flows tracked at once (flag --max-flows). Measured by tests/bench: a flow without a
 * dissector costs ~1.5 KB; one whose dissector is still working costs up to ~15 KB (a TLS
 * handshake in progress ~22 KB; the state is freed as soon as the handshake is done; an HTTP
 * or mail flow keeps ~8-9 KB). What they may hold together is bounded by --max-mem
 * (MEM_MAX_DEFAULT), not by this count; a busy campus uplink has fewer concurrent TCP flows
 * mid-handshake. */
#define FLOW_MAX_DEFAULT 250000u

/* Idle seconds (packet time) before a flow without FIN/RST is expired (flag --flow-timeout).
 * 300 s: longer than common NAT/firewall TCP idle timers on campus links, short enough
 * to keep the table small. */
#define FLOW_IDLE_SEC_DEFAULT 300u

/* Seconds (packet time) a flow is kept after both FINs or a RST, to absorb the final ACKs
 * and retransmitted FINs without re-creating the flow. */
#define FLOW_CLOSE_LINGER_SEC 5u

/* Flows examined for expiry per packet: bounds per-packet work (expiry is incremental, like
 * redis' dictRehash), while staying faster than flows can be created. */
#define FLOW_EXPIRE_PER_PKT 8u

/* Heap bytes of all per-flow state together (flag --max-mem): flow entries, the pipeline's
 * per-flow state and buffers, reassembly queues, dissector states, nDPI flow states (see
 * cli/pipeline.h). Beyond it the least recently seen flows are evicted. 1 GiB: the default
 * --max-flows of idle or plain flows (~1.5 KB each, ~370 MiB) fits with room, so eviction
 * happens only under pressure (e.g. ~40 000 TLS handshakes stalled at once, ~25 KB each), and
 * a 24 GiB sensor keeps most of its memory for the rest. */
#define MEM_MAX_DEFAULT (1024u * 1024u * 1024u)

/* Smallest --max-mem accepted: the flow table's bucket array alone is up to 8 MiB
 * (2^20 slots); 16 MiB leaves at least 8 MiB for flows (~5000 idle ones). */
#define MEM_MAX_MIN (16u * 1024u * 1024u)

/* Total bytes held in out-of-order queues over all flows (flag --max-reasm-mem), a part of
 * --max-mem (the smaller applies). 256 MiB: the largest reassembly memory a 24 GiB sensor
 * spends without noticing. */
#define REASM_MEM_MAX_DEFAULT (256u * 1024u * 1024u)

/* Out-of-order bytes buffered per flow direction (flag --max-ooo). 256 KiB covers a
 * full 64 KiB window times a few, i.e. a couple of RTTs of loss recovery. */
#define REASM_OOO_MAX_BYTES_DEFAULT (256u * 1024u)

/* Out-of-order segments buffered per flow direction: bounds list walks per packet. */
#define REASM_OOO_MAX_SEGS 256u

#endif
