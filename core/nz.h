/* nz.h — project-wide basics: error codes, borrowed byte slices, logging hook,
 * severities. Header-only types plus nz.c; depends on nothing but libc. */
#ifndef NZ_H
#define NZ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fallible functions return 0 or one of these (negative). */
enum {
    NZ_OK = 0,
    NZ_ENOMEM = -1,      /* allocation failed */
    NZ_ELIMIT = -2,      /* a configured cap was hit */
    NZ_EMALFORMED = -3,  /* input violates its format */
    NZ_EIO = -4,         /* read/write/open failed */
    NZ_EDB = -5,         /* SQLite reported an error */
    NZ_EUSAGE = -6,      /* caller passed something invalid */
    NZ_EUNSUPPORTED = -7 /* valid input we do not handle (e.g. a link type) */
};

/* Text for an NZ_E* code; never NULL. */
const char *nz_strerror(int err);

/* A borrowed slice of bytes: valid only as long as its owner says. */
struct bytes {
    const uint8_t *p;
    size_t len;
};

/* Severity of a finding; order matters (higher = worse). */
enum nz_severity {
    NZ_SEV_INFO = 0,
    NZ_SEV_LOW = 1,
    NZ_SEV_MEDIUM = 2,
    NZ_SEV_HIGH = 3,
    NZ_SEV_CRITICAL = 4
};
#define NZ_SEV_COUNT (NZ_SEV_CRITICAL + 1) /* severities: arrays indexed by enum nz_severity */

/* "info".."critical"; never NULL. */
const char *nz_severity_name(enum nz_severity s);
/* Parses a severity name (case-insensitive). Returns 0 or NZ_EUSAGE. */
int nz_severity_parse(const char *s, enum nz_severity *out /* OUT */);

enum nz_log_level { NZ_LOG_ERR = 0, NZ_LOG_WARN = 1, NZ_LOG_INFO = 2, NZ_LOG_DEBUG = 3 };

/* Diagnostics sink. Library code never prints; it calls this (fn may be NULL). */
struct nz_log {
    void (*fn)(void *ud, enum nz_log_level level, const char *msg);
    void *ud;
    enum nz_log_level max_level; /* messages above this level are dropped */
};

#if defined(__GNUC__)
#define NZ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define NZ_PRINTF(a, b)
#endif

/* Formats and forwards a message to log->fn (log may be NULL). */
void nz_logf(const struct nz_log *log, enum nz_log_level level, const char *fmt, ...) NZ_PRINTF(3, 4);

#endif
