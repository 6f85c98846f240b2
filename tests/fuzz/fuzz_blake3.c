/* fuzz_blake3.c — libFuzzer target for the BLAKE3 of dedup (engine/blake3.c): differential.
 *
 * The input is a header and data: byte 0 = how many times the data is repeated (1..256, so
 * that short inputs still reach the 16-chunk groups of the AVX-512 kernel and the tree's upper
 * levels; at most FUZZ_B3_MAX bytes), bytes 1-2 = a piece size (0 = whole), byte 3 = a second
 * piece size alternating with the first (0 = none). The message is hashed whole with the
 * portable kernel (the reference: the Check suite ties it to the official test vectors) and
 * then with every kernel this CPU has, fed in the pieces the header says (with a nz_b3_final()
 * between pieces, which must not disturb the state) and whole. The target aborts when any
 * digest differs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/blake3.h"

#define FUZZ_B3_MAX (256u * 1024u)

static void digest(const uint8_t *m, size_t len, size_t p1, size_t p2, uint8_t out[NZ_B3_OUT_LEN])
{
    struct nz_b3 h;
    nz_b3_init(&h);
    if (p1 == 0) {
        nz_b3_update(&h, m, len);
    } else {
        size_t off = 0;
        for (int turn = 0; off < len; turn ^= 1) {
            size_t p = turn && p2 ? p2 : p1;
            size_t n = len - off < p ? len - off : p;
            nz_b3_update(&h, m + off, n);
            off += n;
            if (turn && off < len) {
                uint8_t tmp[NZ_B3_OUT_LEN];
                nz_b3_final(&h, tmp); /* must not disturb the state */
            }
        }
    }
    nz_b3_final(&h, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    size_t reps = (size_t)data[0] + 1;
    size_t p1 = (size_t)data[1] << 8 | data[2];
    size_t p2 = data[3];
    const uint8_t *d = data + 4;
    size_t dlen = size - 4;
    size_t len = dlen * reps;
    if (len > FUZZ_B3_MAX)
        len = FUZZ_B3_MAX; /* enough for two levels of 16-wide parents; keeps runs fast */
    uint8_t *m = malloc(len ? len : 1);
    if (!m)
        return 0;
    for (size_t off = 0, r = 0; off < len; off += dlen, r++) {
        size_t n = len - off < dlen ? len - off : dlen;
        memcpy(m + off, d, n);
        m[off] ^= (uint8_t)r; /* repeated chunks still differ */
    }
    uint8_t want[NZ_B3_OUT_LEN], got[NZ_B3_OUT_LEN];
    if (nz_b3_force(NZ_B3_PORTABLE) != 0)
        abort();
    digest(m, len, 0, 0, want);
    static const enum nz_b3_impl all[] = {NZ_B3_PORTABLE, NZ_B3_AVX2, NZ_B3_AVX512};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        if (nz_b3_force(all[k]) != 0)
            continue; /* this CPU has not got it */
        digest(m, len, p1, p2, got);
        if (memcmp(got, want, sizeof want) != 0)
            abort();
        digest(m, len, 0, 0, got);
        if (memcmp(got, want, sizeof want) != 0)
            abort();
    }
    nz_b3_unforce();
    free(m);
    return 0;
}
