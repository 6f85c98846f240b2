/* fuzz_decode.c — libFuzzer target for capture/decode.c.
 *
 * Input: byte 0 picks the link type (byte % 10 indexes the supported list below; byte / 10
 * adds byte/10 * 61 bytes of "not captured" length to the wire length so that snapped
 * frames are exercised too); the rest is the frame. Besides "no crash", the target checks
 * the invariants callers rely on and aborts when one breaks:
 *   - the reason is a valid enum value with a name;
 *   - on DEC_OK, l3 and payload slices lie inside the frame, payload_len <= payload_wire_len,
 *     the ip version is 4 or 6 and the addresses format. */
#include "capture/decode.h"

#include <stdlib.h>
#include <string.h>

static const int fuzz_dlts[10] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size - 1 > 0xffffffu)
        return 0;
    int dlt = fuzz_dlts[data[0] % 10];
    uint32_t caplen = (uint32_t)(size - 1);
    uint32_t wirelen = caplen + (uint32_t)(data[0] / 10) * 61u;
    /* exact-size heap copy: ASan flags any read past caplen */
    uint8_t *frame = malloc(caplen ? caplen : 1);
    if (!frame)
        return 0;
    if (caplen)
        memcpy(frame, data + 1, caplen);

    struct pkt p;
    enum dec_reason r = dec_packet(dlt, caplen ? frame : NULL, caplen, wirelen, 1, &p);
    if ((unsigned)r >= DEC_REASON_COUNT || strcmp(dec_reason_name(r), "unknown") == 0)
        abort();
    if (p.caplen != caplen || p.wirelen != wirelen || p.ts_usec != 1)
        abort();
    if (r == DEC_OK) {
        const uint8_t *end = frame + caplen;
        if (p.ip_ver != 4 && p.ip_ver != 6)
            abort();
        if (!p.l3 || p.l3 < frame || p.l3_len > (size_t)(end - p.l3))
            abort();
        if (!p.payload || p.payload < p.l3 || p.payload_len > (size_t)(end - p.payload))
            abort();
        if (p.payload + p.payload_len > p.l3 + p.l3_len)
            abort();
        if (p.payload_len > p.payload_wire_len)
            abort();
        if (p.nvlan > DEC_MAX_VLAN)
            abort();
        char a[64], b[64];
        dec_addr_str(p.ip_ver, p.src, a, sizeof a);
        dec_addr_str(p.ip_ver, p.dst, b, sizeof b);
        if (a[0] == '?' || b[0] == '?')
            abort();
    }
    free(frame);
    return 0;
}
