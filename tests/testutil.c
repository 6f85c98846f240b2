/* testutil.c — see testutil.h. */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

uint8_t *tu_guard(const void *data, size_t len)
{
    size_t ps = page_size();
    size_t data_pages = (len + ps - 1) / ps;
    if (data_pages == 0)
        data_pages = 1;
    size_t total = (data_pages + 1) * ps;
    uint8_t *base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        perror("mmap");
        abort();
    }
    if (mprotect(base + data_pages * ps, ps, PROT_NONE) != 0) {
        perror("mprotect");
        abort();
    }
    uint8_t *p = base + data_pages * ps - len;
    if (len)
        memcpy(p, data, len);
    return p;
}

void tu_guard_free(uint8_t *p, size_t len)
{
    size_t ps = page_size();
    size_t data_pages = (len + ps - 1) / ps;
    if (data_pages == 0)
        data_pages = 1;
    uint8_t *base = p + len - data_pages * ps;
    munmap(base, (data_pages + 1) * ps);
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        uint8_t *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    *len = n;
    return buf;
}

const char *tu_srcdir(void)
{
    const char *s = getenv("NZ_SRCDIR");
    return s && *s ? s : ".";
}
