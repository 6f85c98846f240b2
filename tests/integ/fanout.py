#!/usr/bin/env python3
"""Live capture with PACKET_FANOUT (capture/source.c), in two network namespaces this test
creates and joins with a veth pair: a TCP echo server in one, clients and the capture in the
other. tests/fanout_probe.c opens the handles through cap_open_live() (one fanout group, plus a
reference handle outside it that sees every packet) and prints what each handle received.

Asserted: every packet reaches exactly one member of the group (the reference saw the same
packets); both directions of every TCP flow reach the same member (IPv4, and IPv6 with a flow
label in one direction only); with >= 20 flows more than one member receives packets; nothing
is delivered before a member's first read (its drop-all start filter); IPv4 fragments come
reassembled (DEFRAG); cap_dispatch() hands out pointers into the kernel ring; cap_stats() and
cap_ring_bytes() per handle; joining a group that exists on another interface fails with
NZ_EUNSUPPORTED. Needs root (skips with a message otherwise). Stops only the processes it
started, by PID, and deletes its namespaces (and with them the veth pair) on every path."""
import collections
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import nzt  # noqa: E402

h = nzt.Harness("fanout")
PROBE = os.environ.get("NZ_FANOUT_PROBE") or os.path.join(nzt.SRC, "build", "tests", "fanout_probe")
TAG = f"nzfo{os.getpid() % 10**7}"
NS_CAP, NS_SRV = TAG + "a", TAG + "b"       # also the names of the veth ends in them
V4_CAP, V4_SRV = "10.77.0.1", "10.77.0.2"   # inside our namespaces only
V6_CAP, V6_SRV = "fd77::1", "fd77::2"
P_PRE, P_MAIN = 7001, 7002
TIMEOUT_MS = 100

SERVER = r"""
import signal, socket, sys, threading
def echo(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                return
            c.sendall(d)
def serve(fam, addr, port):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    s.listen(128)
    ready.release()
    while True:
        c, _ = s.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()
ready = threading.Semaphore(0)
ports = [int(p) for p in sys.argv[1:]]
for p in ports:
    for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        threading.Thread(target=serve, args=(fam, addr, p), daemon=True).start()
for _ in range(2 * len(ports)):
    ready.acquire()
print("ready", flush=True)
signal.pause()
"""

CLIENT = r"""
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    s = socket.create_connection((host, port), timeout=10)
    data = bytes([i % 256]) * (1000 + 97 * i)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
    s.close()
    assert got == data, (i, len(got), len(data))
print("done", n)
"""

UDP = r"""
import socket, sys
host, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    s.sendto(bytes([65 + i]) * size, (host, port))
"""

LONE_FRAGMENT = r"""
import socket, struct, sys
# The first fragment of a UDP datagram whose rest is never sent (MF set, offset 0): IPv4
# header by hand (raw(7) fills in the checksum), 8 bytes of UDP header, 24 of payload.
src, dst = sys.argv[1], sys.argv[2]
udp = struct.pack("!HHHH", 40000, 9, 8 + 1000, 0) + b"F" * 24
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x4242, 0x2000, 64, 17, 0,
                 socket.inet_aton(src), socket.inet_aton(dst))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(ip + udp, (dst, 0))
"""

started = []   # Popen objects we started, stopped by PID in cleanup()
namespaces = []


def sh(*args, check=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def in_ns(ns, *args):
    return ["ip", "netns", "exec", ns, *args]


def cleanup():
    for p in started:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
    started.clear()
    for ns in namespaces:
        sh("ip", "netns", "del", ns, check=False)  # takes its veth end, and so the pair, along
    namespaces.clear()


def on_signal(signum, frame):
    raise SystemExit(f"signal {signum}")


def can_run():
    if os.geteuid() != 0:
        return "not root (needs network namespaces and live capture)"
    if not shutil.which("ip"):
        return "iproute2's ip is not installed"
    if not os.access(PROBE, os.X_OK):
        return f"{PROBE} is not built"
    return None


def setup():
    """Two namespaces joined by a veth pair; returns None or why it cannot be done."""
    for ns in (NS_CAP, NS_SRV):
        r = sh("ip", "netns", "add", ns, check=False)
        if r.returncode != 0:
            return f"cannot create a network namespace: {r.stderr.strip()}"
        namespaces.append(ns)
    sh("ip", "link", "add", "name", NS_CAP, "netns", NS_CAP, "type", "veth", "peer", "name", NS_SRV, "netns", NS_SRV)
    for ns, v4, v6 in ((NS_CAP, V4_CAP, V6_CAP), (NS_SRV, V4_SRV, V6_SRV)):
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "addr", "add", v4 + "/24", "dev", ns)
        sh("ip", "-n", ns, "-6", "addr", "add", v6 + "/64", "dev", ns, "nodad")
        sh("ip", "-n", ns, "link", "set", ns, "up")
    return None


def start(cmd, **kw):
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    started.append(p)
    return p


def expect_line(p, word, timeout=20):
    """Reads p's stdout until a line starting with `word`; returns (line, lines before)."""
    seen = []
    end = time.time() + timeout
    while time.time() < end:
        line = p.stdout.readline()
        if not line:
            break
        if line.startswith(word):
            return line.strip(), seen
        seen.append(line.strip())
    return None, seen


def client(host, port, n):
    r = subprocess.run(in_ns(NS_CAP, sys.executable, "-c", CLIENT, host, str(port), str(n)),
                       capture_output=True, text=True, timeout=120)
    return r.returncode == 0, r.stderr


class Capture:
    """One probe run: packets per handle and the handles' counters."""

    def __init__(self, out):
        self.pkts = collections.defaultdict(list)   # handle -> [(hash, inring, caplen, key)]
        self.stats = {}                               # handle -> (recv, drop, ifdrop, delivered, ring)
        self.conflict = None
        for line in out.splitlines():
            f = line.split()
            if not f:
                continue
            if f[0] == "p":
                key = tuple(f[5:])
                self.pkts[f[1]].append((f[2], f[3] == "1", int(f[4]), key))
            elif f[0] == "s":
                self.stats[f[1]] = tuple(int(x) for x in f[2:7])
            elif f[0] == "conflict":
                self.conflict = (f[1], " ".join(f[2:]))

    def members(self):
        return sorted(k for k in self.pkts.keys() | self.stats.keys() if k != "ref")


def flow_of(key):
    """Canonical 5-tuple of a decoded TCP key ("tcp", src, sport, dst, dport), or None."""
    if not key or key[0] != "tcp":
        return None
    a, b = (key[1], int(key[2])), (key[3], int(key[4]))
    return min(a, b), max(a, b)


def run_probe(label, n, port_main, nflows, host, extra=(), pre=False, udp=False):
    """Opens n members (+ the reference), optionally sends a batch before the first read, then
    nflows TCP connections to host:port_main (and fragmented UDP both ways). Returns a Capture
    or None (failures recorded)."""
    cmd = in_ns(NS_CAP, PROBE, "-n", str(n), "-r", "-t", str(TIMEOUT_MS), *extra, NS_CAP)
    p = start(cmd)
    line, _ = expect_line(p, "ready")
    if line is None:
        p.kill()
        p.wait(timeout=10)
    if not h.check(f"{label}: {n} handles open in one fanout group", line is not None,
                   f"no 'ready' from the probe: {p.stderr.read() if line is None else ''}"):
        return None
    if pre:
        ok, err = client(host, P_PRE, 5)
        h.check(f"{label}: traffic before the first read", ok, err)  # in blocks not yet retired
    p.stdin.write("go\n")
    p.stdin.flush()
    line, _ = expect_line(p, "started")
    if not h.check(f"{label}: readers started", line is not None, "no 'started' from the probe"):
        return None
    ok, err = client(host, port_main, nflows)
    h.check(f"{label}: {nflows} TCP connections through the veth", ok, err)
    if udp:
        for ns, dst in ((NS_CAP, V4_SRV), (NS_SRV, V4_CAP)):
            r = subprocess.run(in_ns(ns, sys.executable, "-c", UDP, dst, "9", "3", "4000"),
                               capture_output=True, text=True, timeout=60)
            h.check(f"{label}: fragmented UDP from {ns}", r.returncode == 0, r.stderr)
        r = subprocess.run(in_ns(NS_CAP, sys.executable, "-c", LONE_FRAGMENT, V4_CAP, V4_SRV),
                           capture_output=True, text=True, timeout=60)
        h.check(f"{label}: a lone first fragment sent", r.returncode == 0, r.stderr)
    time.sleep(5 * TIMEOUT_MS / 1000 + 0.3)  # every V3 block retired (timeout) and read
    out, err = p.communicate(timeout=60)    # closing stdin stops the readers (cap_break)
    if not h.check(f"{label}: probe exits cleanly", p.returncode == 0, err):
        return None
    return Capture(out)


def check_distribution(label, cap, port_main, nflows):
    members = cap.members()
    ref = cap.pkts.get("ref", [])
    for m in members + ["ref"]:
        st = cap.stats.get(m)
        h.check(f"{label}: handle {m}: no kernel drops", st is not None and st[1] == 0, str(st))
        h.check(f"{label}: handle {m}: recv counts at least what it delivered", st is not None and st[0] >= st[3],
                str(st))
    main = lambda key: key and key[0] == "tcp" and port_main in (int(key[2]), int(key[4]))  # noqa: E731
    # every packet of the test flows at exactly one member: the members' frames, together,
    # are the reference's frames, and no frame is at two members
    ref_frames = collections.Counter(hsh for hsh, _, _, key in ref if main(key))
    got = collections.Counter()
    where = collections.defaultdict(set)
    for m in members:
        for hsh, _, _, key in cap.pkts.get(m, []):
            if main(key):
                got[hsh] += 1
                where[hsh].add(m)
    h.check(f"{label}: the reference saw the test flows", len(ref_frames) >= nflows * 6, str(len(ref_frames)))
    missing = ref_frames - got
    extra = got - ref_frames
    h.check(f"{label}: every packet reached a member ({sum(got.values())} of {sum(ref_frames.values())})",
            not missing, f"{sum(missing.values())} packets at no member")
    h.check(f"{label}: no packet reached two members or was invented", not extra and
            all(len(s) == 1 for s in where.values()), f"{sum(extra.values())} extra")
    # both directions of a flow at one member
    flows = collections.defaultdict(set)
    dirs = collections.defaultdict(set)
    for m in members:
        for _, _, _, key in cap.pkts.get(m, []):
            if main(key):
                f = flow_of(key)
                flows[f].add(m)
                dirs[f].add((key[1], key[2]))
    h.check(f"{label}: {nflows} flows seen in both directions", len(flows) == nflows and
            all(len(d) == 2 for d in dirs.values()), f"{len(flows)} flows")
    split = [f for f, ms in flows.items() if len(ms) > 1]
    h.check(f"{label}: both directions of every flow at the same member", not split,
            f"{len(split)} of {len(flows)} flows split, e.g. {split[:3]}")
    per = collections.Counter(next(iter(ms)) for ms in flows.values() if len(ms) == 1)
    h.check(f"{label}: more than one member receives flows", len(per) > 1, str(dict(per)))
    print(f"{label}: flows per member {dict(sorted(per.items()))}")
    return per


def main():
    why = can_run()
    if why:
        h.skip("fanout in network namespaces", why)
        return
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        why = setup()
        if why:
            h.skip("fanout in network namespaces", why)
            return
        srv = start(in_ns(NS_SRV, sys.executable, "-c", SERVER, str(P_PRE), str(P_MAIN)))
        line, _ = expect_line(srv, "ready")
        if not h.check("echo server in its namespace", line is not None, "server did not start"):
            return

        # 1. two members, cap_dispatch, 8 MiB rings: a batch before the first read, 40 IPv4
        #    flows, fragmented UDP both ways
        cap = run_probe("v4 x2 dispatch", 2, P_MAIN, 40, V4_SRV, extra=("-b", "8"), pre=True, udp=True)
        if cap:
            check_distribution("v4 x2 dispatch", cap, P_MAIN, 40)
            members = cap.members()
            pre = lambda key: key and key[0] == "tcp" and P_PRE in (int(key[2]), int(key[4]))  # noqa: E731
            h.check("held: the reference saw the batch sent before the first read",
                    any(pre(k) for _, _, _, k in cap.pkts["ref"]))
            h.check("held: no member delivered a packet sent before its first read",
                    not any(pre(k) for m in members for _, _, _, k in cap.pkts.get(m, [])))
            h.check("zero copy: every packet cap_dispatch() handed out lay in a kernel ring",
                    all(inring for m in members + ["ref"] for _, inring, _, _ in cap.pkts.get(m, [])))
            h.check("8 MiB asked, 8 MiB of ring per handle",
                    all(cap.stats[m][4] == 8 << 20 for m in members + ["ref"]),
                    str({m: cap.stats[m][4] for m in cap.stats}))
            frags = [k for _, _, _, k in cap.pkts["ref"] if k == ("-", "ip_fragment")]
            whole = [(m, c) for m in members for _, _, c, k in cap.pkts.get(m, []) if c == 14 + 20 + 8 + 4000]
            h.check("defrag: the reference saw the fragments (3 per datagram, and the lone one)", len(frags) == 19,
                    str(len(frags)))
            h.check("defrag: the members got the 6 datagrams reassembled, no fragment",
                    len(whole) == 6 and not any(k == ("-", "ip_fragment") for m in members
                                                for _, _, _, k in cap.pkts.get(m, [])), str(whole))
            lone = 14 + 20 + 8 + 24
            h.check("defrag: the lone fragment is delivered by no member (the kernel keeps it)",
                    any(c == lone and k == ("-", "ip_fragment") for _, _, c, k in cap.pkts["ref"]) and
                    not any(c == lone and k[0] == "-" for m in members for _, _, c, k in cap.pkts.get(m, [])),
                    str([(m, c, k) for m in members + ["ref"] for _, _, c, k in cap.pkts.get(m, []) if k[0] == "-"]))

        # 2. three members, cap_next, default rings
        cap = run_probe("v4 x3 next", 3, P_MAIN, 30, V4_SRV, extra=("-m", "next"))
        if cap:
            check_distribution("v4 x3 next", cap, P_MAIN, 30)
            members = cap.members()
            h.check("three members", len(members) == 3, str(members))
            h.check(f"default ring: CAP_BUFFER_MB_DEFAULT per handle ({64 << 20} bytes)",
                    all(cap.stats[m][4] == 64 << 20 for m in members), str({m: cap.stats[m][4] for m in cap.stats}))
            copied = sum(1 for m in members for _, inring, _, _ in cap.pkts.get(m, []) if not inring)
            total = sum(len(cap.pkts.get(m, [])) for m in members)
            print(f"cap_next(): {copied} of {total} packets handed out from a copy (libpcap's pcap_next_ex)")

        # 3. IPv6, flow label set by the client only (the server's namespace sends none):
        #    kernels before the 2023 fix hashed labelled IPv6 packets on the addresses alone
        sh(*in_ns(NS_SRV, "sysctl", "-q", "-w", "net.ipv6.auto_flowlabels=0"))
        cap = run_probe("v6 x2 one-sided flow label", 2, P_MAIN, 30, V6_SRV)
        if cap:
            check_distribution("v6 x2 one-sided flow label", cap, P_MAIN, 30)
            keys = [k for m in cap.members() for _, _, _, k in cap.pkts.get(m, []) if k[0] == "tcp"]
            h.check("v6: the client labels its packets, the server does not",
                    keys and all((int(k[5]) != 0) == (k[1] == V6_CAP) for k in keys),
                    str(collections.Counter((k[1], int(k[5]) != 0) for k in keys)))

        # 4. the group id in use on another interface: the join fails, said as unsupported
        p = start(in_ns(NS_CAP, PROBE, "-n", "1", "-c", "lo", NS_CAP))
        out, err = p.communicate(input="", timeout=60)
        c = Capture(out).conflict
        h.check("a group in use on another interface: NZ_EUNSUPPORTED naming the group",
                c is not None and c[0] == "unsupported" and "fanout group" in c[1], f"{c} {err}")
        # 5. fanout on a device libpcap does not capture through a packet socket
        r = subprocess.run(in_ns(NS_CAP, PROBE, "-n", "1", "nflog"), capture_output=True, text=True, timeout=60,
                           input="")
        h.check("fanout on a non-packet-socket device (nflog): unsupported with a message",
                r.returncode == 1 and "(unsupported)" in r.stderr and "packet socket" in r.stderr, r.stderr)
    finally:
        cleanup()


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
    h.finish()
