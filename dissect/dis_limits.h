/* dis_limits.h — dissector-side caps, each with its unit and reason. */
#ifndef NZ_DISSECT_LIMITS_H
#define NZ_DISSECT_LIMITS_H

/* Unconsumed bytes the pipeline buffers per flow direction for a dissector. 64 KiB holds
 * any TLS record (16 KiB + 2 KiB) with room, an SMTP/HTTP head, and a typical cert chain
 * message is consumed record by record by the TLS dissector's own buffer. */
#define DIS_BUF_MAX (64u * 1024u)

/* Bytes of a flow's first payload per direction offered to probe() before giving up on
 * finding a dissector (and the flow gets only nDPI's label). */
#define DIS_PROBE_MAX 2048u

#endif
