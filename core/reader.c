/* reader.c — bounds-checked cursor; the only place that indexes raw input bytes. */
#include "core/reader.h"

#include <string.h>

static bool take(struct rd *r, size_t n)
{
    if (r->err || n > r->len - r->off) {
        r->err = true;
        return false;
    }
    return true;
}

uint8_t rd_u8(struct rd *r)
{
    if (!take(r, 1))
        return 0;
    return r->p[r->off++];
}

uint16_t rd_be16(struct rd *r)
{
    if (!take(r, 2))
        return 0;
    uint16_t v = (uint16_t)((r->p[r->off] << 8) | r->p[r->off + 1]);
    r->off += 2;
    return v;
}

uint32_t rd_be24(struct rd *r)
{
    if (!take(r, 3))
        return 0;
    uint32_t v = ((uint32_t)r->p[r->off] << 16) | ((uint32_t)r->p[r->off + 1] << 8) | r->p[r->off + 2];
    r->off += 3;
    return v;
}

uint32_t rd_be32(struct rd *r)
{
    if (!take(r, 4))
        return 0;
    uint32_t v = ((uint32_t)r->p[r->off] << 24) | ((uint32_t)r->p[r->off + 1] << 16) |
                 ((uint32_t)r->p[r->off + 2] << 8) | r->p[r->off + 3];
    r->off += 4;
    return v;
}

uint16_t rd_le16(struct rd *r)
{
    if (!take(r, 2))
        return 0;
    uint16_t v = (uint16_t)(r->p[r->off] | (r->p[r->off + 1] << 8));
    r->off += 2;
    return v;
}

uint32_t rd_le32(struct rd *r)
{
    if (!take(r, 4))
        return 0;
    uint32_t v = (uint32_t)r->p[r->off] | ((uint32_t)r->p[r->off + 1] << 8) |
                 ((uint32_t)r->p[r->off + 2] << 16) | ((uint32_t)r->p[r->off + 3] << 24);
    r->off += 4;
    return v;
}

void rd_skip(struct rd *r, size_t n)
{
    if (take(r, n))
        r->off += n;
}

struct bytes rd_slice(struct rd *r, size_t n)
{
    struct bytes b = {NULL, 0};
    if (!take(r, n))
        return b;
    b.p = r->p + r->off;
    b.len = n;
    r->off += n;
    return b;
}

struct rd rd_sub(struct rd *r, size_t n)
{
    struct bytes b = rd_slice(r, n);
    struct rd c = rd_init(b.p, b.len);
    c.err = r->err;
    return c;
}

struct rd rd_vec8(struct rd *r) { return rd_sub(r, rd_u8(r)); }
struct rd rd_vec16(struct rd *r) { return rd_sub(r, rd_be16(r)); }
struct rd rd_vec24(struct rd *r) { return rd_sub(r, rd_be24(r)); }

bool rd_copy(struct rd *r, void *dst, size_t n)
{
    struct bytes b = rd_slice(r, n);
    if (r->err)
        return false;
    if (n)
        memcpy(dst, b.p, n);
    return true;
}

int rd_peek(const struct rd *r, size_t ahead)
{
    if (r->err || ahead >= r->len - r->off)
        return -1;
    return r->p[r->off + ahead];
}

struct bytes rd_rest(const struct rd *r)
{
    struct bytes b = {NULL, 0};
    if (r->err)
        return b;
    b.p = r->p + r->off;
    b.len = r->len - r->off;
    return b;
}

int rd_line(struct rd *r, size_t max, struct bytes *line)
{
    if (r->err)
        return 0;
    size_t avail = r->len - r->off;
    size_t scan = avail < max ? avail : max;
    const uint8_t *start = r->p + r->off;
    const uint8_t *lf = scan ? memchr(start, '\n', scan) : NULL;
    if (!lf)
        return avail >= max ? -1 : 0;
    size_t n = (size_t)(lf - start);
    size_t body = n;
    if (body > 0 && start[body - 1] == '\r')
        body--;
    line->p = start;
    line->len = body;
    r->off += n + 1;
    return 1;
}


bool bytes_eq_nocase(struct bytes b, const char *s)
{
    size_t n = strlen(s);
    if (b.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(b.p[i]) != ascii_lower((unsigned char)s[i]))
            return false;
    return true;
}

bool bytes_prefix_nocase(struct bytes b, const char *s)
{
    size_t n = strlen(s);
    if (b.len < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(b.p[i]) != ascii_lower((unsigned char)s[i]))
            return false;
    return true;
}

long bytes_find(struct bytes b, uint8_t c, size_t from)
{
    if (from >= b.len)
        return -1;
    const uint8_t *q = memchr(b.p + from, c, b.len - from);
    return q ? (long)(q - b.p) : -1;
}

struct bytes bytes_sub(struct bytes b, size_t from, size_t n)
{
    struct bytes s = {b.p, 0};
    if (from >= b.len) {
        s.p = b.p ? b.p + b.len : NULL;
        return s;
    }
    s.p = b.p + from;
    s.len = n < b.len - from ? n : b.len - from;
    return s;
}

int bytes_at(struct bytes b, size_t i) { return i < b.len ? b.p[i] : -1; }

struct bytes bytes_trim(struct bytes b)
{
    while (b.len && (b.p[0] == ' ' || b.p[0] == '\t')) {
        b.p++;
        b.len--;
    }
    while (b.len && (b.p[b.len - 1] == ' ' || b.p[b.len - 1] == '\t'))
        b.len--;
    return b;
}

char *bytes_to_cstr(struct bytes b, char *dst, size_t cap)
{
    if (cap == 0)
        return dst;
    size_t n = b.len < cap - 1 ? b.len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = b.p[i];
        dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[n] = '\0';
    return dst;
}

int b64_digit(int c, bool urlsafe)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || (urlsafe && c == '-'))
        return 62;
    if (c == '/' || (urlsafe && c == '_'))
        return 63;
    return -1;
}

int ascii_hex_val(int c)
{
    if (ascii_is_digit(c))
        return c - '0';
    c = ascii_lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

bool bytes_eq(struct bytes b, const char *s)
{
    size_t n = strlen(s);
    return b.len == n && (n == 0 || memcmp(b.p, s, n) == 0);
}

int bytes_starts_nocase(struct bytes b, const char *s)
{
    size_t n = strlen(s);
    size_t k = b.len < n ? b.len : n;
    for (size_t i = 0; i < k; i++)
        if (ascii_upper(b.p[i]) != ascii_upper((unsigned char)s[i]))
            return -1;
    return b.len >= n ? 1 : 0;
}

bool bytes_contains_nocase(struct bytes b, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= b.len; i++)
        if (bytes_prefix_nocase(bytes_sub(b, i, n), s))
            return true;
    return false;
}

bool bytes_to_u64(struct bytes b, uint64_t *out)
{
    if (b.len == 0 || b.len > 19)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < b.len; i++) {
        if (!ascii_is_digit(b.p[i]))
            return false;
        v = v * 10 + (uint64_t)(b.p[i] - '0');
    }
    *out = v;
    return true;
}

static bool is_blank(int c) { return c == ' ' || c == '\t'; }

struct bytes rd_word(struct rd *r)
{
    while (!rd_eof(r) && is_blank(rd_peek(r, 0)))
        rd_skip(r, 1);
    size_t n = 0;
    while (n < rd_left(r) && !is_blank(rd_peek(r, n)))
        n++;
    return rd_slice(r, n);
}

struct bytes rd_rest_trim(struct rd *r)
{
    while (!rd_eof(r) && is_blank(rd_peek(r, 0)))
        rd_skip(r, 1);
    return bytes_trim(rd_rest(r));
}

struct b64dec b64dec_init(struct bytes in, bool urlsafe)
{
    struct b64dec b = {rd_from(in), 0, 0, urlsafe, false};
    return b;
}

int b64dec_next(struct b64dec *b)
{
    for (;;) {
        if (b->bits >= 8) {
            b->bits -= 8;
            return (int)((b->acc >> b->bits) & 0xffu);
        }
        if (b->done || rd_eof(&b->r)) {
            b->done = true;
            return -1;
        }
        int v = b64_digit(rd_u8(&b->r), b->urlsafe);
        if (v < 0) {
            b->done = true;
            return -1;
        }
        b->acc = ((b->acc << 6) | (uint32_t)v) & 0xffffu;
        b->bits += 6;
    }
}

size_t b64_decode(struct bytes in, bool urlsafe, uint8_t *out, size_t cap)
{
    struct b64dec b = b64dec_init(in, urlsafe);
    size_t n = 0;
    int c;
    while (n < cap && (c = b64dec_next(&b)) >= 0)
        out[n++] = (uint8_t)c;
    return n;
}
