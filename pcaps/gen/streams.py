#!/usr/bin/env python3
"""streams.py - per-TCP-flow byte-stream digests of a capture, as seen by tshark.

Python 3 standard library only; runs tshark (Debian package tshark) as a subprocess.
Used by pcaps/gen/common.sh (nz_expect_streams) to write pcaps/expected/<capture>.streams.tsv.

Usage:
  streams.py CAPTURE                         streams TSV on stdout
  streams.py --app DIR:FILE:LABEL ... --app-out OUT CAPTURE
      additionally checks that the bytes of FILE occur in direction DIR (c2s or s2c) of some
      flow, and writes OUT (the <capture>.app.tsv expectation) with one line per occurrence;
      exits 1 if any FILE is found in no flow (the capture does not contain the application's
      bytes, i.e. tshark could not reassemble it).

Streams TSV (one line per tcp.stream, in tshark stream order; '#' lines are comments):
  client_ip client_port server_ip server_port c2s_sha256 s2c_sha256 c2s_len s2c_len
The client is the sender of the stream's first SYN without ACK (tshark's "Node 0", the first
sender seen, if no SYN was captured). The byte streams are the concatenated hex lines of
`tshark -q -z follow,tcp,raw,N` (lines indented by a tab are Node 1's): i.e. tshark's own
reassembly, which delivers each sequence range once, in sequence order, and keeps the first
copy it saw of a range (retransmissions and overlaps are dropped; with tshark 4.0 this holds
for out-of-order copies too, see http-overlap-diff-rewritten.pcap in pcaps/README.md).
Truncated (snapped) segments contribute only their captured bytes. Lengths are in bytes.

App TSV columns:
  client_ip client_port server_ip server_port dir offset length sha256 label
offset: byte offset of FILE's bytes in that direction's stream; sha256/length: of FILE.
"""

import argparse
import hashlib
import os
import subprocess
import sys

FOLLOW_BATCH = 32  # follow taps per tshark run


def tshark(args):
    env = dict(os.environ)
    cmd = ["tshark", "-n"] + args
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False)
    if res.returncode != 0:
        sys.stderr.write(res.stderr.decode("utf-8", "replace"))
        raise SystemExit("streams.py: tshark failed: %s" % " ".join(cmd))
    return res.stdout.decode("ascii", "replace")


def split_endpoint(text):
    host, _, port = text.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def list_streams(cap):
    out = tshark(["-r", cap, "-T", "fields", "-E", "separator=\t", "-e", "tcp.stream",
                  "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
                  "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-Y", "tcp"])
    order, syn_src = [], {}
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) < 6 or f[0] == "":
            continue
        sid = int(f[0])
        if sid not in syn_src:
            order.append(sid)
            syn_src[sid] = None
        syn = f[4] in ("1", "True")
        ack = f[5] in ("1", "True")
        if syn and not ack and syn_src[sid] is None:
            src = f[1] or f[2]
            syn_src[sid] = (src, int(f[3]))
    return order, syn_src


def follow(cap, ids):
    """Return {stream: (node0, node1, bytes0, bytes1)} from follow,tcp,raw."""
    result = {}
    for start in range(0, len(ids), FOLLOW_BATCH):
        batch = ids[start:start + FOLLOW_BATCH]
        args = ["-r", cap, "-q"]
        for sid in batch:
            args += ["-z", "follow,tcp,raw,%d" % sid]
        out = tshark(args)
        cur = None
        for line in out.split("\n"):
            if line.startswith("Filter: tcp.stream eq "):
                cur = {"id": int(line.split()[-1]), "n0": None, "n1": None,
                       "d0": bytearray(), "d1": bytearray()}
                continue
            if cur is None:
                continue
            if line.startswith("====="):
                result[cur["id"]] = (cur["n0"], cur["n1"], bytes(cur["d0"]), bytes(cur["d1"]))
                cur = None
            elif line.startswith("Node 0: "):
                cur["n0"] = split_endpoint(line[8:])
            elif line.startswith("Node 1: "):
                cur["n1"] = split_endpoint(line[8:])
            elif line.startswith("\t"):
                cur["d1"] += bytes.fromhex(line.strip())
            elif line.strip():
                cur["d0"] += bytes.fromhex(line.strip())
    return result


def main():
    ap = argparse.ArgumentParser(description="per-flow TCP stream digests via tshark")
    ap.add_argument("capture")
    ap.add_argument("--app", action="append", default=[], help="DIR:FILE:LABEL")
    ap.add_argument("--app-out")
    args = ap.parse_args()

    order, syn_src = list_streams(args.capture)
    flows = follow(args.capture, order)
    rows = []
    for sid in order:
        if sid not in flows or flows[sid][0] is None:
            raise SystemExit("streams.py: no follow output for stream %d" % sid)
        n0, n1, d0, d1 = flows[sid]
        if syn_src[sid] is not None and syn_src[sid] == n1:
            client, server, c2s, s2c = n1, n0, d1, d0
        else:
            client, server, c2s, s2c = n0, n1, d0, d1
        rows.append((client, server, c2s, s2c))

    print("# client_ip\tclient_port\tserver_ip\tserver_port\tc2s_sha256\ts2c_sha256\t"
          "c2s_len\ts2c_len")
    for client, server, c2s, s2c in rows:
        print("%s\t%d\t%s\t%d\t%s\t%s\t%d\t%d" % (
            client[0], client[1], server[0], server[1], hashlib.sha256(c2s).hexdigest(),
            hashlib.sha256(s2c).hexdigest(), len(c2s), len(s2c)))

    if args.app:
        if not args.app_out:
            raise SystemExit("streams.py: --app needs --app-out")
        lines = ["# client_ip\tclient_port\tserver_ip\tserver_port\tdir\toffset\tlength\t"
                 "sha256\tlabel"]
        for spec in args.app:
            direction, path, label = spec.split(":", 2)
            if direction not in ("c2s", "s2c"):
                raise SystemExit("streams.py: bad direction in --app %s" % spec)
            with open(path, "rb") as f:
                want = f.read()
            found = 0
            for client, server, c2s, s2c in rows:
                data = c2s if direction == "c2s" else s2c
                pos = data.find(want)
                while pos >= 0:
                    lines.append("%s\t%d\t%s\t%d\t%s\t%d\t%d\t%s\t%s" % (
                        client[0], client[1], server[0], server[1], direction, pos, len(want),
                        hashlib.sha256(want).hexdigest(), label))
                    found += 1
                    pos = data.find(want, pos + 1)
            if not found:
                raise SystemExit("streams.py: %s (%s, %d bytes) occurs in no %s stream of %s"
                                 % (label, path, len(want), direction, args.capture))
        with open(args.app_out, "w", encoding="ascii") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
