/* output.c — query results as an aligned table, JSON lines or CSV (RFC 4180). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../dissect/json.h"
#include "cli.h"

#define OUT_COL_MAX 48   /* columns per row we handle */
#define OUT_CELL_MAX 72  /* table cells are cut to this many bytes (json/csv are never cut) */

struct out {
    enum out_fmt fmt;
    FILE *fp;
    const char *const *show;
    long rows;
    bool header_done;
    /* table mode buffers rows to size the columns */
    int ncols;
    char *names[OUT_COL_MAX];
    size_t width[OUT_COL_MAX];
    char **cells;        /* rows × ncols, malloc'd strings */
    size_t ncells, capcells;
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
    return o;
}

static bool shown(const struct out *o, const char *name)
{
    if (!o->show)
        return true;
    for (const char *const *s = o->show; *s; s++)
        if (strcmp(*s, name) == 0)
            return true;
    return false;
}

static void csv_cell(FILE *fp, const char *v)
{
    if (!v)
        return;
    if (strpbrk(v, ",\"\r\n") == NULL) {
        fputs(v, fp);
        return;
    }
    fputc('"', fp);
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            fputc('"', fp);
        fputc(*p, fp);
    }
    fputc('"', fp);
}

static void json_cell(FILE *fp, enum store_col_type t, const char *v)
{
    if (!v || t == STORE_COL_NULL) {
        fputs("null", fp);
        return;
    }
    if (t == STORE_COL_INT || t == STORE_COL_REAL || t == STORE_COL_JSON) {
        fputs(v, fp);
        return;
    }
    size_t cap = strlen(v) * 6 + 3;
    char *q = malloc(cap);
    if (q && json_quote(v, q, cap))
        fputs(q, fp);
    else
        fputs("null", fp);
    free(q);
}

static char *cell_text(const char *v)
{
    if (!v)
        return strdup("");
    size_t n = strlen(v);
    char *c = malloc(OUT_CELL_MAX + 4);
    if (!c)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n && k < OUT_CELL_MAX; i++)
        c[k++] = (v[i] == '\n' || v[i] == '\t' || v[i] == '\r') ? ' ' : v[i];
    if (n > OUT_CELL_MAX) {
        c[k - 1] = '+'; /* marks a cut cell; ASCII so widths stay right */
    }
    c[k] = '\0';
    return c;
}

int out_row(void *ud, int n, const char *const *names, const enum store_col_type *types, const char *const *vals)
{
    struct out *o = ud;
    if (n > OUT_COL_MAX)
        n = OUT_COL_MAX;
    o->rows++;
    switch (o->fmt) {
    case OUT_JSON:
        fputc('{', o->fp);
        for (int i = 0; i < n; i++) {
            char key[128];
            json_quote(names[i], key, sizeof key);
            fprintf(o->fp, "%s%s:", i ? "," : "", key);
            json_cell(o->fp, types[i], vals[i]);
        }
        fputs("}\n", o->fp);
        return 0;
    case OUT_CSV:
        if (!o->header_done) {
            for (int i = 0; i < n; i++) {
                if (i)
                    fputc(',', o->fp);
                csv_cell(o->fp, names[i]);
            }
            fputs("\r\n", o->fp);
            o->header_done = true;
        }
        for (int i = 0; i < n; i++) {
            if (i)
                fputc(',', o->fp);
            csv_cell(o->fp, vals[i]);
        }
        fputs("\r\n", o->fp);
        return 0;
    case OUT_TABLE:
        break;
    }
    if (!o->header_done) {
        for (int i = 0; i < n; i++) {
            if (!shown(o, names[i]))
                continue;
            o->names[o->ncols] = strdup(names[i]);
            o->width[o->ncols] = strlen(names[i]);
            o->ncols++;
        }
        o->header_done = true;
    }
    if (o->ncells + (size_t)o->ncols > o->capcells) {
        size_t nc = o->capcells ? o->capcells * 2 : 256;
        while (nc < o->ncells + (size_t)o->ncols)
            nc *= 2;
        char **np = realloc(o->cells, nc * sizeof *np);
        if (!np)
            return NZ_ENOMEM;
        o->cells = np;
        o->capcells = nc;
    }
    for (int i = 0; i < n; i++) {
        if (!shown(o, names[i]))
            continue;
        char *c = cell_text(vals[i]);
        int col = (int)(o->ncells % (size_t)o->ncols);
        size_t w = c ? strlen(c) : 0;
        if (w > o->width[col])
            o->width[col] = w;
        o->cells[o->ncells++] = c;
    }
    return 0;
}

long out_finish(struct out *o)
{
    if (!o)
        return 0;
    long rows = o->rows;
    if (o->fmt == OUT_TABLE && o->ncols > 0) {
        for (int i = 0; i < o->ncols; i++)
            fprintf(o->fp, "%-*s%s", i + 1 < o->ncols ? (int)o->width[i] : 0, o->names[i],
                    i + 1 < o->ncols ? "  " : "\n");
        for (int i = 0; i < o->ncols; i++) {
            for (size_t k = 0; k < o->width[i]; k++)
                fputc('-', o->fp);
            fputs(i + 1 < o->ncols ? "  " : "\n", o->fp);
        }
        for (size_t c = 0; c < o->ncells; c++) {
            int col = (int)(c % (size_t)o->ncols);
            const char *v = o->cells[c] ? o->cells[c] : "";
            if (col + 1 < o->ncols)
                fprintf(o->fp, "%-*s  ", (int)o->width[col], v);
            else
                fprintf(o->fp, "%s\n", v);
        }
    }
    for (size_t c = 0; c < o->ncells; c++)
        free(o->cells[c]);
    free(o->cells);
    for (int i = 0; i < o->ncols; i++)
        free(o->names[i]);
    free(o);
    return rows;
}
