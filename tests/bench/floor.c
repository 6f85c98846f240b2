/* floor.c — the benchmark's floor: the least any libpcap-based analyser must do with a capture.
 *
 * Opens FILE with pcap_open_offline(), reads every packet with pcap_next_ex() and touches
 * every captured byte (a byte sum the compiler cannot drop: it is printed), nothing else.
 * bench.py compiles it (cc -O2 floor.c -lpcap) into its temporary folder and reports
 * netzwacht's times as ratios to this program's wall time on the same input in the same run.
 *
 * Output (stdout): "packets N bytes B checksum C". Exit 0, or 1 on an unreadable input. */
#define _DEFAULT_SOURCE /* u_char & co. in pcap.h under -std=c11 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE.pcap\n", argv[0]);
        return 2;
    }
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(argv[1], errbuf);
    if (!p) {
        fprintf(stderr, "%s: %s\n", argv[0], errbuf);
        return 1;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t packets = 0, bytes = 0, sum = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        uint64_t s = 0;
        for (bpf_u_int32 i = 0; i < h->caplen; i++)
            s += data[i];
        sum += s;
        packets++;
        bytes += h->caplen;
    }
    if (rc != PCAP_ERROR_BREAK) {
        fprintf(stderr, "%s: %s\n", argv[0], pcap_geterr(p));
        pcap_close(p);
        return 1;
    }
    pcap_close(p);
    printf("packets %llu bytes %llu checksum %llu\n", (unsigned long long)packets, (unsigned long long)bytes,
           (unsigned long long)sum);
    return 0;
}
