/* ndpi_glue.c — nDPI 4.2 wrapper; see ndpi_glue.h. */
#include "engine/ndpi_glue.h"

#include "core/mem.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* nDPI's headers are not -Wpedantic clean (named variadic macros); they are not ours. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wvariadic-macros"
#include <ndpi_api.h>
#pragma GCC diagnostic pop

/* nDPI counts its allocations in one process-wide total, which several worker threads would
 * mix up; our allocator hook counts them per thread instead (each pipeline lives on one). */
static _Thread_local uint64_t ndpi_thread_alloc;
static void *count_malloc(size_t size)
{
    ndpi_thread_alloc += size;
    return malloc(size);
}
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;
static void install_hook(void) { set_ndpi_malloc(count_malloc); }

struct nz_ndpi {
    struct ndpi_detection_module_struct *mod;
    size_t flow_size;
};

struct nz_ndpi *nz_ndpi_new(void)
{
    pthread_once(&hook_once, install_hook);
    struct nz_ndpi *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->mod = ndpi_init_detection_module(ndpi_no_prefs);
    if (!n->mod) {
        free(n);
        return NULL;
    }
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(n->mod, &all);
    ndpi_finalize_initialization(n->mod);
    n->flow_size = ndpi_detection_get_sizeof_ndpi_flow_struct();
    return n;
}

void nz_ndpi_free(struct nz_ndpi *n)
{
    if (!n)
        return;
    ndpi_exit_detection_module(n->mod);
    free(n);
}

void *nz_ndpi_flow_new(struct nz_ndpi *n) { return calloc(1, n->flow_size); }

size_t nz_ndpi_flow_mem(const struct nz_ndpi *n) { return nz_heap_size(n->flow_size); }

void nz_ndpi_flow_free(void *nflow)
{
    if (!nflow)
        return;
    ndpi_free_flow_data(nflow);
    free(nflow);
}

static void name_of(struct nz_ndpi *n, ndpi_protocol p, char label[NDPI_LABEL_MAX])
{
    char buf[NDPI_LABEL_MAX];
    if (p.master_protocol == NDPI_PROTOCOL_UNKNOWN && p.app_protocol == NDPI_PROTOCOL_UNKNOWN) {
        snprintf(label, NDPI_LABEL_MAX, "Unknown");
        return;
    }
    ndpi_protocol2name(n->mod, p, buf, sizeof buf);
    snprintf(label, NDPI_LABEL_MAX, "%s", buf);
}

bool nz_ndpi_packet(struct nz_ndpi *n, void *nflow, const uint8_t *l3, uint32_t l3_len, uint64_t ts_usec,
                    char label[NDPI_LABEL_MAX], size_t *allocated)
{
    unsigned short len = l3_len > 65535 ? 65535 : (unsigned short)l3_len;
    /* every ndpi_malloc/ndpi_calloc/ndpi_strdup request of this thread (count_malloc) */
    uint64_t before = ndpi_thread_alloc;
    ndpi_protocol p = ndpi_detection_process_packet(n->mod, nflow, l3, len, ts_usec / 1000u);
    *allocated = (size_t)(ndpi_thread_alloc - before);
    if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN && p.master_protocol == NDPI_PROTOCOL_UNKNOWN)
        return false;
    if (ndpi_extra_dissection_possible(n->mod, nflow))
        return false;
    name_of(n, p, label);
    return true;
}

void nz_ndpi_giveup(struct nz_ndpi *n, void *nflow, char label[NDPI_LABEL_MAX])
{
    uint8_t guessed = 0;
    ndpi_protocol p = ndpi_detection_giveup(n->mod, nflow, 1, &guessed);
    name_of(n, p, label);
}
