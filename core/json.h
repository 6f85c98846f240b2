/* json.h — a tiny bounded JSON object writer for finding evidence (RFC 8259).
 * Writes into a caller-provided buffer; never allocates. If the buffer would overflow,
 * the result is the valid object {"truncated":true} rather than cut-off text. */
#ifndef NZ_JSON_H
#define NZ_JSON_H

#include "core/nz.h"

#define JSON_DEPTH_MAX 8 /* nesting of objects/arrays; evidence is shallow */

struct json {
    char *buf;        /* caller's buffer */
    size_t cap;       /* its size */
    size_t len;       /* bytes written, excluding the NUL */
    int depth;        /* open containers */
    bool first[JSON_DEPTH_MAX + 1]; /* no member written yet at this depth */
    char closer[JSON_DEPTH_MAX + 1]; /* '}' or ']' for each open container */
    bool overflow;    /* something did not fit */
};

/* Starts the top-level object. cap must be >= 32. */
void json_init(struct json *j, char *buf, size_t cap);
/* Members of the current object (key) or elements of the current array (key == NULL). */
void json_str(struct json *j, const char *key, const char *val);      /* val NULL → null */
void json_strn(struct json *j, const char *key, struct bytes val);    /* escapes any bytes */
void json_int(struct json *j, const char *key, long long v);
void json_uint(struct json *j, const char *key, unsigned long long v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
/* Closes every open container; returns the NUL-terminated text (always valid JSON). */
const char *json_finish(struct json *j);

/* Escapes a C string as a JSON string literal (with quotes) into dst; returns false if it
 * did not fit (dst then holds ""). */
bool json_quote(const char *s, char *dst, size_t cap);

#endif
