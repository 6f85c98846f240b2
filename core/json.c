/* json.c — bounded JSON writer; see json.h. */
#include "core/json.h"

#include <stdio.h>
#include <string.h>

static void put(struct json *j, const char *s, size_t n)
{
    if (j->overflow)
        return;
    if (n >= j->cap - j->len) { /* keep room for the NUL */
        j->overflow = true;
        return;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void puts_(struct json *j, const char *s) { put(j, s, strlen(s)); }

static void put_escaped(struct json *j, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    put(j, "\"", 1);
    for (size_t i = 0; i < n && !j->overflow; i++) {
        uint8_t c = p[i];
        char e[7];
        switch (c) {
        case '"': put(j, "\\\"", 2); break;
        case '\\': put(j, "\\\\", 2); break;
        case '\n': put(j, "\\n", 2); break;
        case '\r': put(j, "\\r", 2); break;
        case '\t': put(j, "\\t", 2); break;
        default:
            if (c < 0x20 || c >= 0x7f) {
                /* Non-ASCII bytes are escaped individually as U+00XX: evidence is bytes
                 * seen on the wire, not text we can trust to be UTF-8. */
                e[0] = '\\'; e[1] = 'u'; e[2] = '0'; e[3] = '0';
                e[4] = hex[c >> 4]; e[5] = hex[c & 15];
                put(j, e, 6);
            } else {
                e[0] = (char)c;
                put(j, e, 1);
            }
        }
    }
    put(j, "\"", 1);
}

void json_init(struct json *j, char *buf, size_t cap)
{
    memset(j, 0, sizeof *j);
    j->buf = buf;
    j->cap = cap;
    if (cap)
        buf[0] = '\0';
    put(j, "{", 1);
    j->depth = 1;
    j->first[1] = true;
    j->closer[1] = '}';
}

static void member(struct json *j, const char *key)
{
    if (j->depth < 1) {
        j->overflow = true;
        return;
    }
    if (!j->first[j->depth])
        put(j, ",", 1);
    j->first[j->depth] = false;
    if (key) {
        put_escaped(j, (const uint8_t *)key, strlen(key));
        put(j, ":", 1);
    }
}

void json_str(struct json *j, const char *key, const char *val)
{
    member(j, key);
    if (!val)
        puts_(j, "null");
    else
        put_escaped(j, (const uint8_t *)val, strlen(val));
}

void json_strn(struct json *j, const char *key, struct bytes val)
{
    member(j, key);
    put_escaped(j, val.p, val.len);
}

void json_int(struct json *j, const char *key, long long v)
{
    char t[32];
    member(j, key);
    snprintf(t, sizeof t, "%lld", v);
    puts_(j, t);
}

void json_uint(struct json *j, const char *key, unsigned long long v)
{
    char t[32];
    member(j, key);
    snprintf(t, sizeof t, "%llu", v);
    puts_(j, t);
}

void json_bool(struct json *j, const char *key, bool v)
{
    member(j, key);
    puts_(j, v ? "true" : "false");
}

void json_null(struct json *j, const char *key)
{
    member(j, key);
    puts_(j, "null");
}

static void open_(struct json *j, const char *key, char open, char closer)
{
    member(j, key);
    if (j->depth >= JSON_DEPTH_MAX) {
        j->overflow = true;
        return;
    }
    put(j, &open, 1);
    j->depth++;
    j->first[j->depth] = true;
    j->closer[j->depth] = closer;
}

static void close_(struct json *j, char closer)
{
    if (j->depth <= 1 || j->closer[j->depth] != closer) {
        j->overflow = true; /* unbalanced use is a bug; the result says truncated */
        return;
    }
    put(j, &closer, 1);
    j->depth--;
}

void json_obj_begin(struct json *j, const char *key) { open_(j, key, '{', '}'); }
void json_obj_end(struct json *j) { close_(j, '}'); }
void json_arr_begin(struct json *j, const char *key) { open_(j, key, '[', ']'); }
void json_arr_end(struct json *j) { close_(j, ']'); }

const char *json_finish(struct json *j)
{
    while (j->depth > 0 && !j->overflow) {
        put(j, &j->closer[j->depth], 1);
        j->depth--;
    }
    if (j->overflow) {
        static const char t[] = "{\"truncated\":true}";
        if (j->cap >= sizeof t)
            memcpy(j->buf, t, sizeof t);
        else if (j->cap)
            j->buf[0] = '\0';
        j->len = j->cap >= sizeof t ? sizeof t - 1 : 0;
    }
    return j->buf;
}

bool json_quote(const char *s, char *dst, size_t cap)
{
    struct json j = {0};
    j.buf = dst;
    j.cap = cap;
    if (cap)
        dst[0] = '\0';
    put_escaped(&j, (const uint8_t *)s, strlen(s));
    if (j.overflow) {
        if (cap >= 3)
            memcpy(dst, "\"\"", 3);
        return false;
    }
    return true;
}
