/* der.h — a minimal DER (ITU-T X.690 §8, §10) reader over the checked cursor, for the X.509
 * fallback walk in x509.c when wolfSSL rejects a certificate.
 *
 * Only what certificates use: low tag numbers (one identifier octet; a high-tag-number form
 * is refused), definite lengths (short form, or long form with 1..DER_LEN_BYTES_MAX octets;
 * the indefinite form is BER, refused). Non-minimal length encodings are accepted (BER
 * leniency: the facts are still readable). Nothing here allocates. */
#ifndef NZ_DER_H
#define NZ_DER_H

#include "core/limits.h"
#include "core/nz.h"
#include "core/reader.h"

/* One TLV. */
struct der_tlv {
    uint8_t tag;          /* identifier octet: class, constructed bit 0x20, number */
    struct bytes val;     /* the contents octets */
    struct bytes whole;   /* identifier, length and contents */
};

/* Reads the next TLV from r into *out. Returns 0, or NZ_EMALFORMED (r->err set) on a bad
 * header or a length past the end of r. */
int der_next(struct rd *r, struct der_tlv *out /* OUT */);

/* Reads the next TLV and requires its tag; NZ_EMALFORMED otherwise. */
int der_expect(struct rd *r, uint8_t tag, struct der_tlv *out /* OUT */);

/* Is b exactly one well-formed TLV whose constructed contents are, recursively, well-formed
 * TLVs that fill them exactly? Returns 0, NZ_EMALFORMED, or NZ_ELIMIT past DER_DEPTH_MAX
 * nesting or DER_NODES_MAX TLVs. Primitive contents (OCTET/BIT STRING) are not entered. */
int der_check(struct bytes b);

/* Dotted text of an OBJECT IDENTIFIER's contents ("2.5.4.3"); "" and NZ_EMALFORMED if the
 * encoding is bad (empty, a component over 32 bits, a trailing continuation octet) or does
 * not fit cap. */
int der_oid_text(struct bytes oid, char *buf, size_t cap);

/* Is the OID contents equal to the given contents octets? */
bool der_oid_is(struct bytes oid, const uint8_t *want, size_t n);

#endif
