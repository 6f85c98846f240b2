/* ndpi_glue.h — the only code that talks to nDPI: one detection module per pipeline,
 * a per-flow state that lives only while detection runs. */
#ifndef NZ_NDPI_GLUE_H
#define NZ_NDPI_GLUE_H

#include "core/nz.h"

/* Packets of a flow offered to nDPI before it must decide (then ndpi_detection_giveup()).
 * nDPI costs ~1.8 µs per packet; its TCP detectors decide within the first data packets. */
#define NDPI_MAX_PKTS_DEFAULT 12u

#define NDPI_LABEL_MAX 64 /* "TLS.Google", "SMTP", ... */

/* Bytes nDPI may allocate for one flow on top of its flow struct (as nz_ndpi_packet counts
 * them) before the flow is taken from it: its best guess is kept (giveup), counted in
 * memory.ndpi_cap. nDPI buffers a TLS stream it parses (2 KiB, grown by each packet's
 * payload, every size counted) and copies names it finds: the TLS application data of a flow
 * picked up mid-stream reaches 32 KiB in about six 1400-byte packets (with nDPI's label
 * already decided by then on the corpus), a capture with 64 KiB segments (GRO/TSO on the
 * capturing host) in one. 64 KiB bounds that; one packet may overshoot by its own size. */
#define NDPI_FLOW_MEM_MAX (64u * 1024u)

struct nz_ndpi;

/* Creates the detection module (all protocols enabled). NULL on failure. */
struct nz_ndpi *nz_ndpi_new(void);
void nz_ndpi_free(struct nz_ndpi *n);

/* Per-flow detection state (zeroed nDPI flow struct). NULL on ENOMEM. */
void *nz_ndpi_flow_new(struct nz_ndpi *n);
void nz_ndpi_flow_free(void *nflow);
/* Heap bytes of one flow struct as nz_ndpi_flow_new allocates it (mem.h). */
size_t nz_ndpi_flow_mem(const struct nz_ndpi *n);

/* Offers one packet (from its IP header). Returns true when nDPI has decided; the label
 * ("TLS", "TLS.Google", "Unknown") is then written to `label`. *allocated (OUT) gets the
 * bytes nDPI allocated during the call (its own running total of requested sizes, which it
 * never lowers on free: a buffer grown by reallocation counts every size it had, so the sum
 * over a flow's calls bounds what nDPI holds for it from above, allocator rounding aside).
 * Attributed to the flow of the call; one pipeline per thread keeps that true. */
bool nz_ndpi_packet(struct nz_ndpi *n, void *nflow, const uint8_t *l3, uint32_t l3_len, uint64_t ts_usec,
                    char label[NDPI_LABEL_MAX] /* OUT */, size_t *allocated /* OUT */);
/* Forces a decision (after too many packets or at flow end). */
void nz_ndpi_giveup(struct nz_ndpi *n, void *nflow, char label[NDPI_LABEL_MAX] /* OUT */);

#endif
