/* output.c — query results as an aligned table, JSON lines or CSV (RFC 4180).
 *
 * Values come from a database file, which anyone may have written, so every format is safe
 * for any bytes:
 *  - table: cells and column names go through cli_esc() (control characters, C1 controls and
 *    invalid UTF-8 become visible escapes) and are cut to OUT_CELL_MAX display columns (the
 *    cut is marked '+', never inside an escape or a character); widths count the escaped
 *    form in display columns. Widths come from the first OUT_TABLE_ROWS rows of a result
 *    set; later rows are printed as they come, so memory stays bounded on any result size.
 *  - json: one object per row with every column. Text is a JSON string: valid UTF-8 is
 *    kept, control characters (C0, DEL, C1) become \u00XX, and a byte that is not valid
 *    UTF-8 becomes \u00XX of its value (read as Latin-1). Numbers are bare when they are
 *    JSON numbers (SQLite's Inf/-Inf are strings). A STORE_COL_JSON value is nested only
 *    when it is a strict RFC 8259 object or array in valid UTF-8 without control characters
 *    (written compactly, so one row stays one line); otherwise it is a string. A column name that
 *    repeats one before it gets ":2", ":3", … so no column is lost to a duplicate key.
 *  - csv: RFC 4180 bytes as stored; when the output is a terminal the fields are escaped
 *    with cli_esc() first.
 * Several result sets (several statements in `netzwacht sql`): out_set() starts each one,
 * and so does a row whose columns differ from the current set's. In table and csv format
 * each set has its own header, separated from the previous set by an empty line; json rows
 * carry their own keys. */
#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <wchar.h>

#include "cli/cli.h"

#define OUT_CELL_MAX 72        /* table cells are cut to this many display columns */
#define OUT_CELL_BYTES 512     /* ... and to this many bytes (zero-width characters) */
#define OUT_TABLE_ROWS 1000    /* rows buffered to size the columns */
#define OUT_JSON_DEPTH 64      /* nesting accepted in a JSON column value */

struct cell {
    char *s;  /* escaped, cut text */
    size_t w; /* its display width */
};

struct out {
    enum out_fmt fmt;
    FILE *fp;
    const char *const *show;
    bool tty;          /* fp is a terminal (csv fields are then escaped) */
    locale_t utf8;     /* for wcwidth(); (locale_t)0 if unavailable */
    long rows;
    int err;           /* first failure: NZ_ENOMEM or NZ_EIO; stops output */
    bool printed;      /* something was printed (a separator precedes the next set) */
    /* the current result set */
    bool in_set;
    int n;             /* its columns */
    char **names;      /* n copies of the names, to notice a new set */
    char **keys;       /* json: n unique keys */
    int ncols;         /* table: columns shown */
    int *colidx;       /* table: shown column -> result column */
    struct cell *heads; /* table: ncols header cells */
    size_t *width;     /* table: ncols widths */
    struct cell *buf;  /* table: buffered rows × ncols */
    size_t nbuf, capbuf; /* rows buffered, room for */
    bool streaming;    /* table: header printed, rows go out as they come */
};

int out_parse_fmt(const char *s, enum out_fmt *f)
{
    if (strcasecmp(s, "table") == 0)
        *f = OUT_TABLE;
    else if (strcasecmp(s, "json") == 0)
        *f = OUT_JSON;
    else if (strcasecmp(s, "csv") == 0)
        *f = OUT_CSV;
    else
        return NZ_EUSAGE;
    return 0;
}

struct out *out_new(enum out_fmt fmt, FILE *fp, const char *const *show)
{
    struct out *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->fmt = fmt;
    o->fp = fp;
    o->show = show;
    int fd = fileno(fp);
    o->tty = fd >= 0 && isatty(fd);
    if (fmt == OUT_TABLE)
        o->utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    return o;
}

/* ---- UTF-8 ---- */

/* ---- table cells ---- */

/* Display columns of code point cp (printable: cli_esc let it through). */
static size_t cp_width(const struct out *o, unsigned cp)
{
    if (cp < 0x80 || !o->utf8)
        return 1;
    locale_t old = uselocale(o->utf8);
    int w = wcwidth((wchar_t)cp);
    uselocale(old);
    return w < 0 ? 1 : (size_t)w;
}

/* The escaped text of v (NULL = ""), cut to OUT_CELL_MAX columns with a '+' mark. Each
 * character (or invalid byte) is escaped on its own, so a cut never splits an escape. */
static int cell_make(const struct out *o, const char *v, struct cell *c)
{
    const unsigned char *p = (const unsigned char *)(v ? v : "");
    size_t cap = 64, len = 0, w = 0, cut_len = 0, cut_w = 0;
    char *s = malloc(cap);
    if (!s)
        return NZ_ENOMEM;
    while (*p) {
        unsigned cp = 0;
        int n = cli_utf8_seq(p, &cp);
        char unit[5] = {0}, piece[16];
        memcpy(unit, p, n ? (size_t)n : 1);
        size_t plen = cli_esc_len(unit, sizeof piece, piece);
        /* An escape is ASCII; a character kept as it is takes its own width. */
        size_t pw = piece[0] == '\\' || n == 0 ? plen : cp_width(o, cp);
        if (w + pw > OUT_CELL_MAX || len + plen > OUT_CELL_BYTES) {
            len = cut_len, w = cut_w;
            s[len++] = '+'; /* marks a cut cell; cut_len leaves room for it */
            w++;
            break;
        }
        if (len + plen + 2 > cap) {
            while (len + plen + 2 > cap)
                cap *= 2;
            char *ns = realloc(s, cap);
            if (!ns) {
                free(s);
                return NZ_ENOMEM;
            }
            s = ns;
        }
        memcpy(s + len, piece, plen);
        len += plen, w += pw;
        if (w + 1 <= OUT_CELL_MAX && len + 1 <= OUT_CELL_BYTES)
            cut_len = len, cut_w = w;
        p += n ? n : 1;
    }
    s[len] = '\0';
    c->s = s;
    c->w = w;
    return 0;
}

static void pad(FILE *fp, size_t n)
{
    while (n--)
        fputc(' ', fp);
}

/* Prints one table line of cells (the last one unpadded). */
static void table_line(struct out *o, const struct cell *cells)
{
    for (int k = 0; k < o->ncols; k++) {
        fputs(cells[k].s, o->fp);
        if (k + 1 < o->ncols) {
            pad(o->fp, o->width[k] > cells[k].w ? o->width[k] - cells[k].w : 0);
            fputs("  ", o->fp);
        }
    }
    fputc('\n', o->fp);
}

static void table_header(struct out *o)
{
    if (o->printed)
        fputc('\n', o->fp);
    table_line(o, o->heads);
    for (int k = 0; k < o->ncols; k++) {
        for (size_t i = 0; i < o->width[k]; i++)
            fputc('-', o->fp);
        fputs(k + 1 < o->ncols ? "  " : "\n", o->fp);
    }
    o->printed = true;
    o->streaming = true;
}

/* Prints the buffered rows (with the header first) and frees them. */
static void table_flush(struct out *o)
{
    if (!o->streaming)
        table_header(o);
    for (size_t r = 0; r < o->nbuf; r++) {
        struct cell *row = o->buf + r * (size_t)o->ncols;
        table_line(o, row);
        for (int k = 0; k < o->ncols; k++)
            free(row[k].s);
    }
    o->nbuf = 0;
}

/* ---- JSON ---- */

/* v as a JSON string literal (see the file header for what is escaped). */
static void json_str(FILE *fp, const char *v)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)v;
    fputc('"', fp);
    while (*p) {
        unsigned cp = 0;
        int n = cli_utf8_seq(p, &cp);
        if (n == 0) { /* not UTF-8: the byte's value as a code point */
            cp = *p;
            n = 1;
        } else if (cp > 0x9f) {
            fwrite(p, 1, (size_t)n, fp);
            p += n;
            continue;
        }
        switch (cp) {
        case '"': fputs("\\\"", fp); break;
        case '\\': fputs("\\\\", fp); break;
        case '\b': fputs("\\b", fp); break;
        case '\f': fputs("\\f", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\t': fputs("\\t", fp); break;
        default:
            if (cp < 0x20 || cp >= 0x7f)
                fprintf(fp, "\\u00%c%c", hex[cp >> 4], hex[cp & 15]);
            else
                fputc((int)cp, fp);
        }
        p += n;
    }
    fputc('"', fp);
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Skips an RFC 8259 number at *p; false if there is none. */
static bool json_number(const unsigned char **pp)
{
    const unsigned char *p = *pp;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (is_digit(*p))
            p++;
    else
        return false;
    if (*p == '.') {
        if (!is_digit(*++p))
            return false;
        while (is_digit(*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!is_digit(*p))
            return false;
        while (is_digit(*p))
            p++;
    }
    *pp = p;
    return true;
}

static bool json_number_ok(const char *v)
{
    const unsigned char *p = (const unsigned char *)v;
    return json_number(&p) && *p == '\0';
}

/* Strict RFC 8259 check of a JSON value that also copies it without insignificant
 * whitespace to *o. Strings must be valid UTF-8 without raw C0/DEL/C1 characters. */
struct jchk {
    const unsigned char *p;
    char *o;
};

static void jc_ws(struct jchk *j)
{
    while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
        j->p++;
}

static void jc_copy(struct jchk *j, size_t n)
{
    memcpy(j->o, j->p, n);
    j->o += n;
    j->p += n;
}

static bool jc_string(struct jchk *j)
{
    if (*j->p != '"')
        return false;
    jc_copy(j, 1);
    for (;;) {
        unsigned c = *j->p, cp = 0;
        if (c == '"') {
            jc_copy(j, 1);
            return true;
        }
        if (c == '\\') {
            unsigned char e = j->p[1];
            if (e == 'u') {
                for (int i = 2; i < 6; i++) {
                    unsigned char h = j->p[i];
                    if (!is_digit(h) && !((h | 0x20) >= 'a' && (h | 0x20) <= 'f'))
                        return false;
                }
                jc_copy(j, 6);
            } else if (e && strchr("\"\\/bfnrt", e)) {
                jc_copy(j, 2);
            } else {
                return false;
            }
            continue;
        }
        int n = cli_utf8_seq(j->p, &cp);
        if (n == 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) /* also the NUL: unterminated */
            return false;
        jc_copy(j, (size_t)n);
    }
}

static bool jc_value(struct jchk *j, int depth)
{
    jc_ws(j);
    unsigned char c = *j->p;
    if (c == '"')
        return jc_string(j);
    if (c == '{' || c == '[') {
        unsigned char close = c == '{' ? '}' : ']';
        if (depth >= OUT_JSON_DEPTH)
            return false;
        jc_copy(j, 1);
        jc_ws(j);
        if (*j->p == close) {
            jc_copy(j, 1);
            return true;
        }
        for (;;) {
            if (c == '{') {
                jc_ws(j);
                if (!jc_string(j))
                    return false;
                jc_ws(j);
                if (*j->p != ':')
                    return false;
                jc_copy(j, 1);
            }
            if (!jc_value(j, depth + 1))
                return false;
            jc_ws(j);
            if (*j->p == close) {
                jc_copy(j, 1);
                return true;
            }
            if (*j->p != ',')
                return false;
            jc_copy(j, 1);
        }
    }
    static const char *const lit[] = {"true", "false", "null"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(lit[i]);
        if (strncmp((const char *)j->p, lit[i], n) == 0) {
            jc_copy(j, n);
            return true;
        }
    }
    const unsigned char *start = j->p;
    if (!json_number(&j->p))
        return false;
    size_t n = (size_t)(j->p - start);
    j->p = start;
    jc_copy(j, n);
    return true;
}

/* Compact copy of v into a malloc'd string when v is one strict JSON value; else NULL
 * (*nomem set when that is for lack of memory). */
static char *json_compact(const char *v, bool *nomem)
{
    char *out = malloc(strlen(v) + 1);
    if (!out) {
        *nomem = true;
        return NULL;
    }
    struct jchk j = {(const unsigned char *)v, out};
    bool ok = jc_value(&j, 0);
    jc_ws(&j);
    if (!ok || *j.p != '\0') {
        free(out);
        return NULL;
    }
    *j.o = '\0';
    return out;
}

static void json_cell(struct out *o, enum store_col_type t, const char *v)
{
    if (!v || t == STORE_COL_NULL) {
        fputs("null", o->fp);
    } else if ((t == STORE_COL_INT || t == STORE_COL_REAL) && json_number_ok(v)) {
        fputs(v, o->fp);
    } else if (t == STORE_COL_JSON) {
        bool nomem = false;
        char *c = json_compact(v, &nomem);
        if (c && (c[0] == '{' || c[0] == '[')) /* a bare null or "x" would pass for NULL or text */
            fputs(c, o->fp);
        else if (nomem)
            o->err = NZ_ENOMEM;
        else
            json_str(o->fp, v);
        free(c);
    } else {
        json_str(o->fp, v);
    }
}

/* ---- CSV ---- */

static void csv_cell(struct out *o, const char *v)
{
    char *esc = NULL;
    if (!v)
        return;
    if (o->tty) { /* never let a value drive the terminal */
        size_t n = cli_esc_len(v, 0, NULL);
        esc = malloc(n + 1);
        if (!esc) {
            o->err = NZ_ENOMEM;
            return;
        }
        v = cli_esc(v, esc, n + 1);
    }
    if (strpbrk(v, ",\"\r\n") == NULL) {
        fputs(v, o->fp);
    } else {
        fputc('"', o->fp);
        for (const char *p = v; *p; p++) {
            if (*p == '"')
                fputc('"', o->fp);
            fputc(*p, o->fp);
        }
        fputc('"', o->fp);
    }
    free(esc);
}

/* ---- result sets ---- */

static bool shown(const struct out *o, const char *name)
{
    if (!o->show)
        return true;
    for (const char *const *s = o->show; *s; s++)
        if (strcmp(*s, name) == 0)
            return true;
    return false;
}

/* Ends the current set: a table prints what it buffered (or at least its header). */
static void set_end(struct out *o)
{
    if (!o->in_set)
        return;
    if (o->fmt == OUT_TABLE && o->ncols > 0 && !o->err)
        table_flush(o);
    for (size_t r = 0; r < o->nbuf * (size_t)o->ncols; r++)
        free(o->buf[r].s);
    free(o->buf);
    for (int k = 0; o->heads && k < o->ncols; k++)
        free(o->heads[k].s);
    free(o->heads);
    free(o->width);
    free(o->colidx);
    for (int i = 0; i < o->n; i++) {
        free(o->names[i]);
        if (o->keys)
            free(o->keys[i]);
    }
    free(o->names);
    free(o->keys);
    o->buf = NULL, o->heads = NULL, o->width = NULL, o->colidx = NULL, o->names = NULL, o->keys = NULL;
    o->nbuf = 0, o->capbuf = 0, o->ncols = 0, o->n = 0;
    o->in_set = false, o->streaming = false;
}

static bool in_strs(char *const *list, int n, const char *k)
{
    for (int j = 0; j < n; j++)
        if (list[j] && strcmp(list[j], k) == 0)
            return true;
    return false;
}

/* s as the text a JSON reader gets back from json_str(): valid UTF-8, where each byte that
 * is not UTF-8 is the character U+00XX. Malloc'd, or NULL. */
static char *json_canon(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out = malloc(2 * strlen(s) + 1), *o = out;
    if (!out)
        return NULL;
    while (*p) {
        unsigned cp;
        int n = cli_utf8_seq(p, &cp);
        if (n == 0) {
            *o++ = (char)(0xc0 | (*p >> 6));
            *o++ = (char)(0x80 | (*p & 0x3f));
            p++;
        } else {
            memcpy(o, p, (size_t)n);
            o += n, p += n;
        }
    }
    *o = '\0';
    return out;
}

/* JSON keys for the set, unique as a JSON reader sees them: each name (json_canon) as it is
 * the first time; a repeat becomes name:2, name:3, … skipping any text that is another
 * column's name or key. */
static int set_keys(struct out *o)
{
    char **canon = calloc((size_t)o->n + 1, sizeof *canon);
    o->keys = calloc((size_t)o->n + 1, sizeof *o->keys);
    int rc = canon && o->keys ? 0 : NZ_ENOMEM;
    for (int i = 0; i < o->n && rc == 0; i++)
        if (!(canon[i] = json_canon(o->names[i])))
            rc = NZ_ENOMEM;
    for (int i = 0; i < o->n && rc == 0; i++) {
        const char *name = canon[i];
        int same = 0;
        for (int j = 0; j < i; j++)
            same += strcmp(canon[j], name) == 0;
        if (same == 0) {
            o->keys[i] = strdup(name);
        } else {
            size_t cap = strlen(name) + 24;
            char *k = malloc(cap);
            if (k) {
                for (long long d = same + 1;; d++) {
                    snprintf(k, cap, "%s:%lld", name, d);
                    if (!in_strs(canon, o->n, k) && !in_strs(o->keys, i, k))
                        break;
                }
            }
            o->keys[i] = k;
        }
        if (!o->keys[i])
            rc = NZ_ENOMEM;
    }
    for (int i = 0; canon && i < o->n; i++)
        free(canon[i]);
    free(canon);
    return rc;
}

static int set_begin(struct out *o, int n, const char *const *names)
{
    set_end(o);
    o->in_set = true;
    o->n = n > 0 ? n : 0;
    o->names = calloc((size_t)o->n + 1, sizeof *o->names);
    if (!o->names)
        return NZ_ENOMEM;
    for (int i = 0; i < o->n; i++)
        if (!(o->names[i] = strdup(names[i] ? names[i] : "")))
            return NZ_ENOMEM;
    switch (o->fmt) {
    case OUT_JSON:
        return set_keys(o);
    case OUT_CSV:
        if (o->printed)
            fputs("\r\n", o->fp);
        for (int i = 0; i < o->n; i++) {
            if (i)
                fputc(',', o->fp);
            csv_cell(o, o->names[i]);
        }
        fputs("\r\n", o->fp);
        o->printed = true;
        return o->err;
    case OUT_TABLE:
        break;
    }
    size_t cols = (size_t)o->n + 1;
    o->colidx = calloc(cols, sizeof *o->colidx);
    o->heads = calloc(cols, sizeof *o->heads);
    o->width = calloc(cols, sizeof *o->width);
    if (!o->colidx || !o->heads || !o->width)
        return NZ_ENOMEM;
    for (int i = 0; i < o->n; i++) {
        if (!shown(o, o->names[i]))
            continue;
        if (cell_make(o, o->names[i], &o->heads[o->ncols]) != 0)
            return NZ_ENOMEM;
        o->width[o->ncols] = o->heads[o->ncols].w;
        o->colidx[o->ncols++] = i;
    }
    return 0;
}

/* Does this row belong to the current set? */
static bool same_set(const struct out *o, int n, const char *const *names)
{
    if (!o->in_set || n != o->n)
        return false;
    for (int i = 0; i < n; i++)
        if (strcmp(o->names[i], names[i] ? names[i] : "") != 0)
            return false;
    return true;
}

int out_set(void *ud, int n, const char *const *names)
{
    struct out *o = ud;
    if (!o->err)
        o->err = set_begin(o, n, names);
    return o->err;
}

static int table_row(struct out *o, const char *const *vals)
{
    if (o->ncols == 0)
        return 0;
    if (!o->streaming && o->nbuf >= OUT_TABLE_ROWS)
        table_flush(o); /* from now on rows go out as they come, with these widths */
    size_t nc = (size_t)o->ncols;
    if (o->streaming || o->nbuf == o->capbuf) {
        size_t cap = o->streaming ? 1 : o->capbuf ? o->capbuf * 2 : 16;
        if (cap > OUT_TABLE_ROWS)
            cap = OUT_TABLE_ROWS;
        if (cap > o->capbuf) {
            struct cell *nb = realloc(o->buf, cap * nc * sizeof *nb);
            if (!nb)
                return NZ_ENOMEM;
            o->buf = nb;
            o->capbuf = cap;
        }
    }
    struct cell *row = o->buf + (o->streaming ? 0 : o->nbuf * nc);
    int rc = 0;
    int k = 0;
    for (; k < o->ncols && rc == 0; k++) {
        rc = cell_make(o, vals[o->colidx[k]], &row[k]);
        if (rc == 0 && row[k].w > o->width[k] && !o->streaming)
            o->width[k] = row[k].w;
    }
    if (rc != 0 || o->streaming) {
        if (rc == 0)
            table_line(o, row);
        for (int i = 0; i < k - (rc != 0); i++)
            free(row[i].s);
        return rc;
    }
    o->nbuf++;
    return 0;
}

int out_row(void *ud, int n, const char *const *names, const enum store_col_type *types, const char *const *vals)
{
    struct out *o = ud;
    if (o->err)
        return o->err;
    if (!same_set(o, n, names) && (o->err = set_begin(o, n, names)) != 0)
        return o->err;
    o->rows++;
    switch (o->fmt) {
    case OUT_JSON:
        fputc('{', o->fp);
        for (int i = 0; i < o->n && !o->err; i++) {
            if (i)
                fputc(',', o->fp);
            json_str(o->fp, o->keys[i]);
            fputc(':', o->fp);
            json_cell(o, types[i], vals[i]);
        }
        fputs("}\n", o->fp);
        break;
    case OUT_CSV:
        for (int i = 0; i < o->n && !o->err; i++) {
            if (i)
                fputc(',', o->fp);
            csv_cell(o, vals[i]);
        }
        fputs("\r\n", o->fp);
        break;
    case OUT_TABLE:
        if (!o->err)
            o->err = table_row(o, vals);
        break;
    }
    if (!o->err && ferror(o->fp))
        o->err = NZ_EIO;
    return o->err;
}

long out_finish(struct out *o)
{
    if (!o)
        return -1;
    set_end(o);
    if (fflush(o->fp) != 0 || ferror(o->fp))
        o->err = o->err ? o->err : NZ_EIO;
    long rows = o->err ? -1 : o->rows;
    if (o->utf8)
        freelocale(o->utf8);
    free(o);
    return rows;
}
