/* dis_limits.h — dissector-side caps, each with its unit and reason. */
#ifndef NZ_DISSECT_LIMITS_H
#define NZ_DISSECT_LIMITS_H

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
