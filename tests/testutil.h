/* testutil.h — helpers shared by the Check suites. */
#ifndef NZ_TESTUTIL_H
#define NZ_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Copies len bytes so that they end exactly at a PROT_NONE page: any overread faults.
 * Free with tu_guard_free(). Aborts the test process on mmap failure. */
uint8_t *tu_guard(const void *data, size_t len);
void tu_guard_free(uint8_t *p, size_t len);

/* Reads a whole file (tests' fixtures). Returns malloc'd buffer or NULL; *len OUT. */
uint8_t *tu_read_file(const char *path, size_t *len);

/* Directory of the source tree (from the NZ_SRCDIR env var set by meson, else "."). */
const char *tu_srcdir(void);

#endif
