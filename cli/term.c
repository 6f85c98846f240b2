/* term.c — making strings from outside safe to print on a terminal.
 *
 * File names, SQL results, library messages and anything else that came from a capture, a
 * database or the command line may hold control characters (ESC sequences that retitle the
 * window, move the cursor or rewrite earlier lines) or invalid UTF-8. Everything printed to a
 * terminal passes through cli_esc(): C0 controls, DEL and the C1 range (U+0080..U+009F) become
 * visible escapes (\e, \x07, \u009b), and so do the invisible format characters that can make
 * a line read differently from what it holds (bidirectional overrides and isolates U+202A..E,
 * U+2066..9, marks U+200E/F, zero-width U+200B..D, U+2060, U+FEFF); other valid UTF-8 is kept,
 * invalid bytes become \xHH. Backslash is doubled so that an escape in the output always means
 * one. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* See cli.h. */
int cli_utf8_seq(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0];
    int n;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, min = 0x80, c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, min = 0x800, c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL terminator */
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

/* Writes "\<c>" and `digits` lower-case hex digits of v into tmp (NUL-terminated), returns the
 * length. By hand rather than snprintf: GCC 12 at -O2/-O3 cannot see the value's bound and fails
 * the build with -Werror=format-truncation. */
static size_t hex_escape(char tmp[8], char c, unsigned v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    tmp[0] = '\\', tmp[1] = c;
    for (int i = 0; i < digits; i++)
        tmp[2 + i] = hex[(v >> (4 * (digits - 1 - i))) & 15];
    tmp[2 + digits] = '\0';
    return (size_t)(2 + digits);
}

/* The escaped form of the character at *p: sets piece and plen (in p or in tmp) and
 * returns how many input bytes it consumed. */
static int esc_piece(const unsigned char *p, char tmp[8], const char **piece, size_t *plen)
{
    unsigned cp;
    int n = cli_utf8_seq(p, &cp);
    if (n == 0) {
        hex_escape(tmp, 'x', *p, 2);
        *piece = tmp, *plen = 4;
        return 1;
    }
    *piece = tmp, *plen = 2;
    switch (cp) {
    case '\\': memcpy(tmp, "\\\\", 3); return n;
    case '\t': memcpy(tmp, "\\t", 3); return n;
    case '\n': memcpy(tmp, "\\n", 3); return n;
    case '\r': memcpy(tmp, "\\r", 3); return n;
    case 0x1b: memcpy(tmp, "\\e", 3); return n;
    default: break;
    }
    if (cp < 0x20 || cp == 0x7f) {
        *plen = hex_escape(tmp, 'x', cp, 2);
    } else if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) ||
               (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff) {
        *plen = hex_escape(tmp, 'u', cp, 4);
    } else {
        *piece = (const char *)p, *plen = (size_t)n;
    }
    return n;
}

size_t cli_esc_len(const char *s, size_t cap, char *out)
{
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    char tmp[8];
    while (*p) {
        const char *piece;
        size_t plen;
        int n = esc_piece(p, tmp, &piece, &plen);
        if (out) {
            if (k + plen >= cap) /* never cut an escape or a character in half */
                break;
            memcpy(out + k, piece, plen);
        }
        k += plen;
        p += n;
    }
    if (out && cap)
        out[k < cap ? k : cap - 1] = '\0';
    return k;
}

const char *cli_esc(const char *s, char *buf, size_t cap)
{
    cli_esc_len(s, cap, buf);
    return buf;
}

void cli_fputs_esc(const char *s, FILE *fp)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    char tmp[8];
    while (*p) {
        const char *piece;
        size_t plen;
        p += esc_piece(p, tmp, &piece, &plen);
        fwrite(piece, 1, plen, fp);
    }
}
