/* mem.h — what a heap allocation really costs, and the one memory budget a pipeline charges
 * every piece of per-flow state to (flow entry, pipeline state and buffers, reassembly
 * queues, dissector state and buffers, nDPI's flow state).
 *
 * Sizes are counted as the allocator holds them, not as requested: glibc's malloc puts an
 * 8-byte size header before each chunk, rounds the chunk up to 16 bytes and never makes one
 * smaller than 32 (malloc/malloc.c: request2size, MINSIZE). nz_heap_size() is that rule; a
 * buffer is charged at its allocated capacity, not at the bytes in use. Header-only, no state:
 * every budget is owned by its caller (one per pipeline). */
#ifndef NZ_MEM_H
#define NZ_MEM_H

#include <stddef.h>
#include <stdint.h>

/* Bytes an allocation of n bytes occupies on glibc's heap; 0 for n == 0 (nothing allocated).
 * From glibc's initial mmap threshold (128 KiB) on, a chunk may be a mapping of its own, which
 * takes whole pages: such sizes are rounded up to 4 KiB (per-flow allocations all stay far
 * below; the flow table's bucket array does not). */
static inline size_t nz_heap_size(size_t n)
{
    if (n == 0)
        return 0;
    if (n > SIZE_MAX - 8192)
        return SIZE_MAX;
    size_t c = (n + 8u + 15u) & ~(size_t)15u;
    if (c >= 128u * 1024u)
        return (c + 8u + 4095u) & ~(size_t)4095u;
    return c < 32u ? 32u : c;
}

/* A budget: bytes charged now against a cap. `used` never wraps: uncharging more than was
 * charged is clamped at 0 (a caller bug, not a crash). */
struct mem_budget {
    size_t used;      /* bytes charged now */
    size_t max;       /* the cap; the owner decides what happens above it */
    size_t peak;      /* highest `used` seen */
};

static inline void mem_charge(struct mem_budget *b, size_t n)
{
    b->used = n > SIZE_MAX - b->used ? SIZE_MAX : b->used + n;
    if (b->used > b->peak)
        b->peak = b->used;
}

static inline void mem_uncharge(struct mem_budget *b, size_t n)
{
    b->used = b->used >= n ? b->used - n : 0;
}

/* A holder that had charged *held now holds `now`: charges or returns the difference and
 * records `now` in *held. O(1). */
static inline void mem_recharge(struct mem_budget *b, size_t *held, size_t now)
{
    if (now > *held)
        mem_charge(b, now - *held);
    else
        mem_uncharge(b, *held - now);
    *held = now;
}

#endif
