/* limits.h — the one index of netzwacht's limits, each with its unit and its reason.
 *
 * Part 1 lists what an operator may reasonably change: the defaults of command-line options
 * (the flag is named) and caps whose trade-off is memory against completeness. Part 2 lists
 * the obscure ones: protocol-derived sizes and bounds on per-packet work that should only move
 * with the code that relies on them. Protocol parsers keep their format constants (record
 * sizes fixed by an RFC) next to the parser; everything that is a policy lives here. */
#ifndef NZ_LIMITS_H
#define NZ_LIMITS_H

/* ======================= Part 1: what you may reasonably change ======================= */

/* ---- capture: flows, memory, reassembly ---- */

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
 * engine/pipeline.h). Beyond it the least recently seen flows are evicted. 1 GiB: the default
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

/* ---- dissectors: per-flow buffers ---- */

/* Unconsumed bytes the pipeline buffers per flow direction for a dissector. 64 KiB holds
 * any TLS record (16 KiB + 2 KiB) with room, an SMTP/HTTP head, and a typical cert chain
 * message is consumed record by record by the TLS dissector's own buffer. */
#define DIS_BUF_MAX (64u * 1024u)

/* Heap bytes one flow's dissection may hold: the dissector's state with its own buffers
 * (dissector.mem) plus the pipeline's two buffers above. The largest legitimate case is a TLS
 * handshake: state ~22 KiB, one handshake message being reassembled at TLS_HS_MAX (64 KiB, a
 * long certificate chain) and the pipeline holding one partial record (at most 18 KiB,
 * buffered in 32 KiB) in that direction, small buffers in the other: ~120 KiB. 160 KiB leaves
 * room for that and stops a flow holding big partial messages in both directions (up to
 * ~280 KiB otherwise): its dissector is detached (dissect.malformed, counted in
 * dissectors.mem_cap) and its state freed. */
#define DIS_FLOW_MEM_MAX (160u * 1024u)

/* Bytes of a flow's first payload per direction offered to probe() before giving up on
 * finding a dissector (and the flow gets only nDPI's label). */
#define DIS_PROBE_MAX 2048u

#endif
