/* reader.h — the bounds-checked byte cursor every parser in netzwacht reads through.
 *
 * Any read past the end sets `err`, returns 0 / an empty slice, and leaves `err` set
 * (sticky), so callers check rd_ok() at decision points rather than after every field.
 * Length checks are written as `n <= len - off`, never `off + n <= len`. */
#ifndef NZ_READER_H
#define NZ_READER_H

#include "core/nz.h"

struct rd {
    const uint8_t *p; /* borrowed */
    size_t len;       /* bytes valid at p */
    size_t off;       /* next byte to read; always <= len */
    bool err;         /* sticky: a read went past the end */
};

/* Starts a reader over [p, p+len). */
static inline struct rd rd_init(const uint8_t *p, size_t len)
{
    struct rd r = {p, len, 0, false};
    return r;
}
static inline struct rd rd_from(struct bytes b) { return rd_init(b.p, b.len); }

static inline bool rd_ok(const struct rd *r) { return !r->err; }
static inline size_t rd_left(const struct rd *r) { return r->err ? 0 : r->len - r->off; }
static inline bool rd_has(const struct rd *r, size_t n) { return !r->err && n <= r->len - r->off; }
static inline bool rd_eof(const struct rd *r) { return rd_left(r) == 0; }

uint8_t rd_u8(struct rd *r);
uint16_t rd_be16(struct rd *r);
uint32_t rd_be24(struct rd *r);
uint32_t rd_be32(struct rd *r);
uint16_t rd_le16(struct rd *r);
uint32_t rd_le32(struct rd *r);
/* Skips n bytes (err if fewer remain; then the cursor does not move). */
void rd_skip(struct rd *r, size_t n);
/* Borrowed slice of the next n bytes; empty slice + err if fewer remain. */
struct bytes rd_slice(struct rd *r, size_t n);
/* Child reader over the next n bytes (the parent advances past them). For TLS vectors. */
struct rd rd_sub(struct rd *r, size_t n);
/* Child reader over a vector prefixed by a 1/2/3-byte big-endian length. */
struct rd rd_vec8(struct rd *r);
struct rd rd_vec16(struct rd *r);
struct rd rd_vec24(struct rd *r);
/* Copies n bytes to dst (dst untouched on err). Returns rd_ok(). */
bool rd_copy(struct rd *r, void *dst, size_t n);
/* Looks at the byte `ahead` positions from the cursor without consuming; -1 if absent. */
int rd_peek(const struct rd *r, size_t ahead);
/* Remaining bytes as a slice, without consuming. */
struct bytes rd_rest(const struct rd *r);

/* Line reader: finds the next LF within at most `max` bytes.
 * Returns 1 and sets *line (without the CRLF / LF) and advances past the LF;
 * returns 0 when no LF is present yet and fewer than `max` bytes remain (need more data);
 * returns -1 when `max` bytes were scanned without an LF (line too long; nothing consumed). */
int rd_line(struct rd *r, size_t max, struct bytes *line /* OUT */);

/* Helpers over borrowed slices (no packet indexing outside reader.c). */
bool bytes_eq_nocase(struct bytes b, const char *s);   /* exact, ASCII case-insensitive */
bool bytes_prefix_nocase(struct bytes b, const char *s);
/* First occurrence of byte c at or after `from`; -1 if none. */
long bytes_find(struct bytes b, uint8_t c, size_t from);
/* Sub-slice [from, from+n) clipped to b. */
struct bytes bytes_sub(struct bytes b, size_t from, size_t n);
/* Byte at index i, or -1 if out of range. */
int bytes_at(struct bytes b, size_t i);
/* Trims ASCII spaces/tabs at both ends. */
struct bytes bytes_trim(struct bytes b);
/* Value of a base64 digit (RFC 4648 §4 alphabet; with urlsafe also the §5 '-' and '_'),
 * or -1 for any other byte. The decoders (HTTP Basic, SASL) decode bit by bit with it so
 * they can stop before a secret is produced. */
int b64_digit(int c, bool urlsafe);

/* Copies at most cap-1 bytes into dst as a NUL-terminated string, replacing bytes outside
 * printable ASCII by '?'. Returns dst. */
char *bytes_to_cstr(struct bytes b, char *dst, size_t cap);

/* ---- text helpers shared by the line protocols (HTTP, SMTP, IMAP, POP3, SASL) ---- */

static inline bool ascii_is_digit(int c) { return c >= '0' && c <= '9'; }
static inline int ascii_lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
static inline int ascii_upper(int c) { return (c >= 'a' && c <= 'z') ? c - 32 : c; }
/* Value of a hex digit (either case), or -1. */
int ascii_hex_val(int c);

/* Exact (case-sensitive) equality of all of b with s. */
bool bytes_eq(struct bytes b, const char *s);
/* Case-insensitive: 1 if b starts with s; 0 if b is a proper prefix of s (more bytes could
 * still make it match); -1 if not. For probes that see a flow's first bytes. */
int bytes_starts_nocase(struct bytes b, const char *s);
/* Case-insensitive search for s anywhere in b. */
bool bytes_contains_nocase(struct bytes b, const char *s);
/* Decimal number of at most 19 digits spanning all of b (no sign, no blanks); false if not one. */
bool bytes_to_u64(struct bytes b, uint64_t *out /* OUT */);

/* Next word (run of bytes other than SP/HT) after skipping leading SP/HT; empty at the end. */
struct bytes rd_word(struct rd *r);
/* Skips leading SP/HT, then returns the rest of r without trailing SP/HT (the rest itself is
 * not consumed). */
struct bytes rd_rest_trim(struct rd *r);

/* Streaming base64 decoder (RFC 4648 §4 alphabet; with urlsafe also §5's '-' and '_'): yields one
 * decoded byte at a time so a caller can stop before a secret is produced (HTTP Basic stops at the
 * ':' before the password, SASL at the end of the user name). Decoding ends at the end of the
 * input, at '=' or at any byte outside the alphabet; a final partial group of fewer than 8 bits
 * is dropped. */
struct b64dec {
    struct rd r;
    uint32_t acc;  /* pending bits (low `bits` bits valid) */
    unsigned bits; /* < 14 */
    bool urlsafe;
    bool done;
};
struct b64dec b64dec_init(struct bytes in, bool urlsafe);
/* Next decoded byte, or -1 once decoding has ended. */
int b64dec_next(struct b64dec *b);
/* Decodes `in` into out, at most cap bytes. Returns the number of bytes written. */
size_t b64_decode(struct bytes in, bool urlsafe, uint8_t *out, size_t cap);

#endif
