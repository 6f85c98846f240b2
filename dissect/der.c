/* der.c — minimal DER reader (X.690 §8.1 identifier and length octets, §8.19 OBJECT
 * IDENTIFIER, §10.1 definite lengths) through struct rd; see der.h. */
#include <stdio.h>
#include <string.h>

#include "dissect/der.h"

int der_next(struct rd *r, struct der_tlv *out)
{
    memset(out, 0, sizeof *out);
    if (!rd_ok(r))
        return NZ_EMALFORMED;
    size_t start = r->off;
    uint8_t tag = rd_u8(r);
    uint8_t l = rd_u8(r);
    if (!rd_ok(r) || (tag & 0x1f) == 0x1f || l == 0x80 || l == 0xff) {
        r->err = true;
        return NZ_EMALFORMED;
    }
    size_t len = l;
    if (l & 0x80) {
        unsigned n = l & 0x7f;
        if (n > DER_LEN_BYTES_MAX) {
            r->err = true;
            return NZ_EMALFORMED;
        }
        len = 0;
        for (unsigned i = 0; i < n; i++)
            len = len << 8 | rd_u8(r);
    }
    if (!rd_has(r, len)) {
        r->err = true;
        return NZ_EMALFORMED;
    }
    size_t hdr = r->off - start;
    out->tag = tag;
    out->val = rd_slice(r, len);
    out->whole.p = out->val.p - hdr;
    out->whole.len = hdr + len;
    return rd_ok(r) ? 0 : NZ_EMALFORMED;
}

int der_expect(struct rd *r, uint8_t tag, struct der_tlv *out)
{
    int rc = der_next(r, out);
    if (rc)
        return rc;
    if (out->tag != tag) {
        r->err = true;
        return NZ_EMALFORMED;
    }
    return 0;
}

static int check_rec(struct bytes b, unsigned depth, unsigned *nodes)
{
    if (depth >= DER_DEPTH_MAX)
        return NZ_ELIMIT;
    struct rd r = rd_from(b);
    while (!rd_eof(&r)) {
        struct der_tlv t;
        if (der_next(&r, &t))
            return NZ_EMALFORMED;
        if (++*nodes > DER_NODES_MAX)
            return NZ_ELIMIT;
        if (t.tag & 0x20) {
            int rc = check_rec(t.val, depth + 1, nodes);
            if (rc)
                return rc;
        }
    }
    return rd_ok(&r) ? 0 : NZ_EMALFORMED;
}

int der_check(struct bytes b)
{
    if (!b.p || b.len == 0)
        return NZ_EMALFORMED;
    struct rd r = rd_from(b);
    struct der_tlv t;
    if (der_next(&r, &t) || !rd_eof(&r))
        return NZ_EMALFORMED;
    unsigned nodes = 1;
    return (t.tag & 0x20) ? check_rec(t.val, 1, &nodes) : 0;
}

int der_oid_text(struct bytes oid, char *buf, size_t cap)
{
    if (cap)
        buf[0] = '\0';
    struct rd r = rd_from(oid);
    if (rd_eof(&r) || cap == 0)
        return NZ_EMALFORMED;
    size_t used = 0;
    bool first = true;
    while (!rd_eof(&r)) {
        uint64_t v = 0;
        uint8_t c;
        do {
            c = rd_u8(&r);
            v = v << 7 | (c & 0x7f);
            if (!rd_ok(&r) || v > UINT32_MAX) {
                buf[0] = '\0';
                return NZ_EMALFORMED;
            }
        } while (c & 0x80);
        int n;
        if (first) { /* X.690 §8.19.4: the first subidentifier is 40 * X + Y */
            unsigned x = v < 40 ? 0 : v < 80 ? 1 : 2;
            n = snprintf(buf + used, cap - used, "%u.%llu", x, (unsigned long long)(v - 40u * x));
            first = false;
        } else {
            n = snprintf(buf + used, cap - used, ".%llu", (unsigned long long)v);
        }
        if (n < 0 || (size_t)n >= cap - used) {
            buf[0] = '\0';
            return NZ_EMALFORMED;
        }
        used += (size_t)n;
    }
    return 0;
}

bool der_oid_is(struct bytes oid, const uint8_t *want, size_t n)
{
    return oid.len == n && memcmp(oid.p, want, n) == 0;
}
