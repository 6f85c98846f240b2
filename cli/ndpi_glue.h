/* ndpi_glue.h — the only code that talks to nDPI: one detection module per pipeline,
 * a per-flow state that lives only while detection runs. */
#ifndef NZ_NDPI_GLUE_H
#define NZ_NDPI_GLUE_H

#include "../dissect/nz.h"

/* Packets of a flow offered to nDPI before it must decide (then ndpi_detection_giveup()).
 * nDPI costs ~1.8 µs per packet; its TCP detectors decide within the first data packets. */
#define NDPI_MAX_PKTS_DEFAULT 12u

#define NDPI_LABEL_MAX 64 /* "TLS.Google", "SMTP", ... */

struct nz_ndpi;

/* Creates the detection module (all protocols enabled). NULL on failure. */
struct nz_ndpi *nz_ndpi_new(void);
void nz_ndpi_free(struct nz_ndpi *n);

/* Per-flow detection state (zeroed nDPI flow struct). NULL on ENOMEM. */
void *nz_ndpi_flow_new(struct nz_ndpi *n);
void nz_ndpi_flow_free(void *nflow);

/* Offers one packet (from its IP header). Returns true when nDPI has decided; the label
 * ("TLS", "TLS.Google", "Unknown") is then written to `label`. */
bool nz_ndpi_packet(struct nz_ndpi *n, void *nflow, const uint8_t *l3, uint32_t l3_len, uint64_t ts_usec,
                    char label[NDPI_LABEL_MAX] /* OUT */);
/* Forces a decision (after too many packets or at flow end). */
void nz_ndpi_giveup(struct nz_ndpi *n, void *nflow, char label[NDPI_LABEL_MAX] /* OUT */);

#endif
