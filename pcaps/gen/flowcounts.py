#!/usr/bin/env python3
"""flowcounts.py - exact per-TCP-flow frame and byte counts of a capture, as seen by tshark.

`tshark -z conv,tcp` prints byte counts in rounded units ("200 kB"), too coarse to compare
exactly, so this reads tshark's per-frame fields and adds them up itself. Same flows and
directions as conv,tcp (tshark's tcp.stream), client = sender of the first SYN without ACK,
else the first sender seen (as streams.py).

Usage: flowcounts.py CAPTURE > expected/<capture>.flows.tsv
Columns: client_ip client_port server_ip server_port c2s_frames c2s_bytes s2c_frames s2c_bytes
(bytes = frame.len, the length on the wire, like conv,tcp)."""
import os
import subprocess
import sys


def main():
    cap = sys.argv[1]
    env = dict(os.environ)
    out = subprocess.run(
        ["tshark", "-n", "-r", cap, "-Y", "tcp", "-T", "fields", "-E", "separator=\t",
         "-e", "tcp.stream", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
         "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport", "-e", "frame.len", "-e", "tcp.flags"],
        capture_output=True, text=True, check=True, env=env).stdout
    flows = {}
    order = []
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) < 9 or not f[0]:
            continue
        stream = int(f[0])
        src = (f[1] or f[2]).split(",")[-1]  # innermost header for tunnels
        dst = (f[4] or f[5]).split(",")[-1]
        sp, dp, ln = int(f[3]), int(f[6]), int(f[7])
        flags = int(f[8], 16)
        fl = flows.get(stream)
        if fl is None:
            fl = flows[stream] = {"first": (src, sp, dst, dp), "syn": None, "cnt": {}}
            order.append(stream)
        if flags & 0x02 and not flags & 0x10 and fl["syn"] is None:
            fl["syn"] = (src, sp, dst, dp)
        c = fl["cnt"].setdefault((src, sp), [0, 0])
        c[0] += 1
        c[1] += ln
    print("# client_ip\tclient_port\tserver_ip\tserver_port\tc2s_frames\tc2s_bytes\ts2c_frames\ts2c_bytes")
    for s in order:
        fl = flows[s]
        cli_ip, cli_port, srv_ip, srv_port = fl["syn"] or fl["first"]
        c2s = fl["cnt"].get((cli_ip, cli_port), [0, 0])
        s2c = fl["cnt"].get((srv_ip, srv_port), [0, 0])
        print(f"{cli_ip}\t{cli_port}\t{srv_ip}\t{srv_port}\t{c2s[0]}\t{c2s[1]}\t{s2c[0]}\t{s2c[1]}")


if __name__ == "__main__":
    main()
