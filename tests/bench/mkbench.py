#!/usr/bin/env python3
"""mkbench.py — synthesise large benchmark captures from the recorded captures in pcaps/.

Nothing here is invented traffic except the encrypted bulk: every packet is a packet of a
capture recorded by pcaps/regen.sh, replayed many times with rewritten addresses, ports and
timestamps. Encrypted bulk is a real TLS 1.3 handshake (pcaps/tls/tls13-sni-alpn.pcap)
followed by synthetic application-data records (content type 0x17, RFC 8446 §5.2) in
full-size segments with correct sequence and acknowledgement numbers, then the recorded
close (close_notify record, FINs) shifted past the bulk.

Kinds of output (--kind):
  mix         the main input: --size-mb MB, --bulk-share of it TLS bulk (long flows,
              downloads and some uploads), the rest many short flows replayed from
              tls/*.pcap, http/*.pcap, mail/*.pcap and loss-netns-*.pcap, all interleaved in
              time by packet timestamp.
  bulk        --packets packets of TLS flows whose packets are --bulk-pkt-share (95 %)
              encrypted bulk after the handshake (every flow: handshake, bulk, close).
  handshakes  --packets packets of complete TLS flows replayed from tls/*.pcap (no bulk).
  manyflows   --flows flows, each the opening packets (SYN .. first data each way, no
              FIN/RST) of a recorded flow, started within --span-sec (shorter than the
              300 s idle timeout), so all of them are open at the end of the input.
  tiny        one recorded TLS flow (startup cost: nDPI and SQLite initialisation).

Rewriting: every endpoint that acts as a client in a recorded flow gets the copy's client
address (10.0.0.0/8 or fd00:6e7a:1::/64, one per copy) and a client port shifted per copy;
server endpoints get an address from a pool (--servers) and keep their port (the port hints
of the dissectors stay meaningful). IPv4 header and TCP checksums are NOT recomputed
(netzwacht, tcpdump and tshark do not verify them by default). TCP timestamp options are
left as recorded. Frames are written as a classic pcap (microsecond, EN10MB).

Output: the capture file, and on stdout one JSON object describing it (path, packets,
bytes, flows, the share of bulk bytes/packets, the templates used).

Usage: mkbench.py --kind mix --out /dev/shm/x/mix.pcap [--size-mb 500] [--seed 1]
"""
import argparse
import glob
import hashlib
import heapq
import json
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
PCAPS = os.path.join(REPO, "pcaps")

TH_FIN, TH_SYN, TH_RST, TH_PSH, TH_ACK = 0x01, 0x02, 0x04, 0x08, 0x10
MSS = 1448                  # payload of a full-size segment with TCP timestamps on Ethernet
TLS_REC_PAYLOAD = 16384 + 1 + 16   # TLSInnerPlaintext max + content type + AEAD tag (RFC 8446 §5.2)
T0 = 1767225600             # 2026-01-01T00:00:00Z: start of every synthetic capture


# ---------------------------------------------------------------------------- pcap input

def read_pcap(path):
    """Returns [(ts_usec, frame_bytes)] of a classic pcap file (EN10MB only)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError(f"{path}: not a pcap file")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError(f"{path}: not a classic pcap file")
    nsec = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    if linktype != 1:
        raise ValueError(f"{path}: link type {linktype}, only EN10MB templates are used")
    out = []
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, wirelen = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        if caplen != wirelen or off + caplen > len(data):
            raise ValueError(f"{path}: snapped or truncated record; not usable as a template")
        usec = frac // 1000 if nsec else frac
        out.append((sec * 1000000 + usec, data[off:off + caplen]))
        off += caplen
    return out


class Pkt:
    """One parsed template frame: offsets of the fields a copy rewrites."""
    __slots__ = ("ts", "frame", "ipv", "l3", "src_off", "dst_off", "alen", "tcp", "sport",
                 "dport", "src", "dst", "flags", "seq", "ack", "plen", "hdr_len", "flow", "dir")


def parse(ts, frame):
    """Parses Ethernet (+ VLAN) / IPv4 or IPv6 (no extension headers) / TCP. None if not."""
    if len(frame) < 14:
        return None
    off = 12
    et = struct.unpack_from("!H", frame, off)[0]
    off += 2
    while et in (0x8100, 0x88A8) and len(frame) >= off + 4:
        et = struct.unpack_from("!H", frame, off + 2)[0]
        off += 4
    p = Pkt()
    p.ts, p.frame, p.l3 = ts, frame, off
    if et == 0x0800:
        ihl = (frame[off] & 0x0F) * 4
        if frame[off + 9] != 6:
            return None
        p.ipv, p.alen, p.src_off, p.dst_off = 4, 4, off + 12, off + 16
        p.tcp = off + ihl
    elif et == 0x86DD:
        if frame[off + 6] != 6:
            return None
        p.ipv, p.alen, p.src_off, p.dst_off = 6, 16, off + 8, off + 24
        p.tcp = off + 40
    else:
        return None
    t = p.tcp
    p.sport, p.dport, p.seq, p.ack = struct.unpack_from("!HHII", frame, t)
    thl = (frame[t + 12] >> 4) * 4
    p.flags = frame[t + 13]
    p.hdr_len = t + thl
    p.plen = len(frame) - p.hdr_len
    p.src = bytes(frame[p.src_off:p.src_off + p.alen])
    p.dst = bytes(frame[p.dst_off:p.dst_off + p.alen])
    return p


class Template:
    """A recorded capture as a list of TCP packets with flow and direction assigned.
    flows[i] = (client endpoint, server endpoint); pkt.dir 0 = client to server."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.relpath(path, PCAPS)
        self.pkts = []
        keys = {}
        self.flows = []
        for ts, fr in read_pcap(path):
            p = parse(ts, fr)
            if p is None:
                continue
            a, b = (p.src, p.sport), (p.dst, p.dport)
            k = (min(a, b), max(a, b))
            if k not in keys:
                # The sender of a SYN without ACK is the client; of a SYN+ACK the server;
                # else (mid-stream) the first sender.
                if p.flags & TH_SYN and p.flags & TH_ACK:
                    cli, srv = b, a
                else:
                    cli, srv = a, b
                keys[k] = len(self.flows)
                self.flows.append((cli, srv))
            p.flow = keys[k]
            p.dir = 0 if (p.src, p.sport) == self.flows[p.flow][0] else 1
            self.pkts.append(p)
        if not self.pkts:
            raise ValueError(f"{path}: no TCP packets")
        t0 = self.pkts[0].ts
        for p in self.pkts:
            p.ts -= t0
        self.duration = self.pkts[-1].ts
        self.bytes = sum(len(p.frame) for p in self.pkts)
        self.ipv = self.pkts[0].ipv


# ---------------------------------------------------------------------------- rewriting

def cli_addr(ipv, k):
    if ipv == 4:
        return bytes((10, (k >> 16) & 255, (k >> 8) & 255, k & 255))
    return bytes.fromhex("fd006e7a00010000") + struct.pack("!Q", k)


def srv_addr(ipv, k):
    if ipv == 4:
        return bytes((172, 16 + ((k >> 16) & 15), (k >> 8) & 255, k & 255))
    return bytes.fromhex("fd006e7a00020000") + struct.pack("!Q", k)


class Copy:
    """Rewrite state of one copy of a template: endpoint map."""

    def __init__(self, tpl, copy_no, servers, rng):
        self.map = {}
        shift = (copy_no * 7919) % 50000
        for cli, srv in tpl.flows:
            ipv = 4 if len(cli[0]) == 4 else 6
            if cli not in self.map:
                port = 10000 + (cli[1] - 10000 + shift) % 55000 if cli[1] >= 10000 else cli[1] + 1 + shift % 8000
                self.map[cli] = (cli_addr(ipv, copy_no), port)
            if srv not in self.map:
                self.map[srv] = (srv_addr(ipv, 1 + rng.randrange(servers)), srv[1])

    def frame(self, p):
        b = bytearray(p.frame)
        sa, sp = self.map[(p.src, p.sport)]
        da, dp = self.map[(p.dst, p.dport)]
        b[p.src_off:p.src_off + p.alen] = sa
        b[p.dst_off:p.dst_off + p.alen] = da
        struct.pack_into("!HH", b, p.tcp, sp, dp)
        return b


def set_len(b, p):
    """Fixes the IP length field of frame b built from template packet p's header."""
    if p.ipv == 4:
        struct.pack_into("!H", b, p.l3 + 2, len(b) - p.l3)
    else:
        struct.pack_into("!H", b, p.l3 + 4, len(b) - p.l3 - 40)


def replay(tpl, copy, start_usec, limit=None):
    """Yields (ts_usec, frame) of one copy. limit: only each flow's opening packets
    (SYN .. the first `limit` packets, never a FIN or RST)."""
    seen = {}
    for p in tpl.pkts:
        if limit is not None:
            if p.flags & (TH_FIN | TH_RST):
                continue
            n = seen.get(p.flow, 0)
            if n >= limit:
                continue
            seen[p.flow] = n + 1
        yield start_usec + p.ts, copy.frame(p)


# ---------------------------------------------------------------------------- TLS bulk

class BulkTemplate:
    """tls13-sni-alpn.pcap split into handshake (up to the ACK of the last handshake-phase
    segment, before the first application-data record after the handshake) and close."""

    def __init__(self):
        self.tpl = Template(os.path.join(PCAPS, "tls", "tls13-sni-alpn.pcap"))
        pk = self.tpl.pkts
        if len(self.tpl.flows) != 1:
            raise ValueError("tls13-sni-alpn.pcap: expected one flow")
        # The close starts with the client's first data segment after the server's last
        # handshake-phase data (NewSessionTicket) was acknowledged: in the recorded file,
        # a 24-byte record 0x17 (close_notify inside encryption) from the client.
        split = None
        for i, p in enumerate(pk):
            if p.plen and p.dir == 0 and i > 0 and pk[i - 1].plen == 0 and pk[i - 1].dir == 0 \
                    and any(q.plen and q.dir == 1 for q in pk[:i]) and p.frame[p.hdr_len] == 0x17 \
                    and p.plen == 24:
                split = i
                break
        if split is None:
            raise ValueError("tls13-sni-alpn.pcap: cannot find the end of the handshake")
        self.hs, self.tail = pk[:split], pk[split:]
        self.next_seq = [0, 0]
        for p in self.hs:
            end = (p.seq + p.plen + (1 if p.flags & (TH_SYN | TH_FIN) else 0)) & 0xFFFFFFFF
            if p.plen or p.flags & (TH_SYN | TH_FIN):
                self.next_seq[p.dir] = end
        # Header templates: a data segment and a pure ACK of each direction.
        self.data_hdr = [next(p for p in self.hs if p.dir == d and p.plen and not p.flags & TH_SYN)
                         for d in (0, 1)]
        self.ack_hdr = [next(p for p in self.hs if p.dir == d and not p.plen and not p.flags & TH_SYN)
                        for d in (0, 1)]
        rng = random.Random(0x6e7a)
        body = bytes(rng.getrandbits(8) for _ in range(TLS_REC_PAYLOAD))
        self.record = b"\x17\x03\x03" + struct.pack("!H", TLS_REC_PAYLOAD) + body
        self.stream2 = self.record * 2

    def flow(self, copy, start_usec, bulk_bytes, seg_gap_usec, up):
        """Yields (ts, frame) of one TLS 1.3 flow with `bulk_bytes` (rounded up to whole
        records) of application data; `up`: client to server, else server to client."""
        nrec = max(1, -(-bulk_bytes // len(self.record)))
        total = nrec * len(self.record)
        for p in self.hs:
            yield start_usec + p.ts, copy.frame(p)
        t = start_usec + self.hs[-1].ts
        snd = 0 if up else 1
        rcv = 1 - snd
        dh, ah = self.data_hdr[snd], self.ack_hdr[rcv]
        dbase = copy.frame(dh)[:dh.hdr_len]
        abase = copy.frame(ah)
        seq0 = self.next_seq[snd]
        ack_const = self.next_seq[rcv]
        rl = len(self.record)
        off = 0
        n = 0
        while off < total:
            ln = min(MSS, total - off)
            t += seg_gap_usec
            o = off % rl
            b = dbase + self.stream2[o:o + ln]
            struct.pack_into("!II", b, dh.tcp + 4, (seq0 + off) & 0xFFFFFFFF, ack_const)
            b[dh.tcp + 13] = TH_PSH | TH_ACK
            set_len(b, dh)
            yield t, b
            off += ln
            n += 1
            if n % 2 == 0 or off >= total:     # delayed ACK: one per two segments
                a = bytearray(abase)
                struct.pack_into("!II", a, ah.tcp + 4, ack_const, (seq0 + off) & 0xFFFFFFFF)
                yield t + min(20, seg_gap_usec // 2), a
        t0 = self.tail[0].ts
        t += 1000
        for p in self.tail:
            b = copy.frame(p)
            seq, ack = p.seq, p.ack
            if p.dir == snd:
                seq = (seq + total) & 0xFFFFFFFF
            elif p.flags & TH_ACK:
                ack = (ack + total) & 0xFFFFFFFF
            struct.pack_into("!II", b, p.tcp + 4, seq, ack)
            yield t + (p.ts - t0), b

    def packets_for(self, bulk_bytes):
        """Packets flow() yields for bulk_bytes (handshake, data, ACKs, close)."""
        nrec = max(1, -(-bulk_bytes // len(self.record)))
        segs = -(-(nrec * len(self.record)) // MSS)
        return len(self.hs) + len(self.tail) + segs + -(-segs // 2)


# ---------------------------------------------------------------------------- output

class Writer:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.buf = []
        self.size = 0
        self.packets = 0
        self.bytes = 24

    def add(self, ts, frame):
        n = len(frame)
        self.buf.append(struct.pack("<IIII", ts // 1000000, ts % 1000000, n, n))
        self.buf.append(frame)
        self.size += n + 16
        self.packets += 1
        if self.size >= 1 << 22:
            self.flush()

    def flush(self):
        self.f.write(b"".join(self.buf))
        self.bytes += self.size
        self.buf = []
        self.size = 0

    def close(self):
        self.flush()
        self.f.close()


def merge_write(w, flows):
    """flows: iterable of (start_usec, generator factory) in start order. Interleaves the
    flows' packets by timestamp; a flow's generator is created when its start is reached,
    so only flows in progress are held in memory."""
    heap = []
    tie = 0
    for start, make in flows:
        while heap and heap[0][0] <= start:
            ts, _, g, fr = heapq.heappop(heap)
            w.add(ts, fr)
            nxt = next(g, None)
            if nxt is not None:
                tie += 1
                heapq.heappush(heap, (nxt[0], tie, g, nxt[1]))
        g = make()
        first = next(g, None)
        if first is not None:
            tie += 1
            heapq.heappush(heap, (first[0], tie, g, first[1]))
    while heap:
        ts, _, g, fr = heapq.heappop(heap)
        w.add(ts, fr)
        nxt = next(g, None)
        if nxt is not None:
            tie += 1
            heapq.heappush(heap, (nxt[0], tie, g, nxt[1]))


def short_templates():
    paths = []
    for pat in ("tls/*.pcap", "http/*.pcap", "mail/*.pcap", "loss-netns-*.pcap"):
        paths += sorted(glob.glob(os.path.join(PCAPS, pat)))
    tpls = []
    for p in paths:
        try:
            tpls.append(Template(p))
        except ValueError as e:
            print(f"mkbench: skipping {e}", file=sys.stderr)
    if not tpls:
        raise SystemExit("mkbench: no usable templates under " + PCAPS)
    return tpls


def templates_id(tpls):
    """Short hash over the templates' names and bytes: equal ids mean equal inputs for a seed."""
    h = hashlib.sha256()
    for t in tpls:
        h.update(t.name.encode() + b"\0")
        for p in t.pkts:
            h.update(p.frame)
    return h.hexdigest()[:12]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kind", choices=("mix", "bulk", "handshakes", "manyflows", "tiny"), default="mix")
    ap.add_argument("--out", required=True, help="capture file to write")
    ap.add_argument("--size-mb", type=float, default=500.0, help="mix: file size target (MB, 1e6)")
    ap.add_argument("--bulk-share", type=float, default=0.8, help="mix: share of bytes in TLS bulk")
    ap.add_argument("--bulk-flow-mb", type=float, default=0, help="mix: bulk bytes per bulk flow (MB; "
                    "default: 20, smaller for small inputs so there are at least 10 bulk flows)")
    ap.add_argument("--upload-share", type=float, default=0.25, help="share of bulk flows that upload")
    ap.add_argument("--packets", type=int, default=300000, help="bulk/handshakes: packet count target")
    ap.add_argument("--bulk-pkt-share", type=float, default=0.95, help="bulk: share of packets that are bulk")
    ap.add_argument("--bulk-flows", type=int, default=0, help="bulk: number of flows (overrides --packets)")
    ap.add_argument("--bulk-kb", type=float, default=0, help="bulk: bulk KB (1e3) per flow "
                    "(overrides --bulk-pkt-share)")
    ap.add_argument("--background-flows", type=int, default=0, help="bulk: first open this many flows "
                    "(a SYN each, never closed) during --background-sec, then the bulk flows start")
    ap.add_argument("--background-sec", type=float, default=10.0)
    ap.add_argument("--background-only", action="store_true", help="bulk: write only the background flows")
    ap.add_argument("--flows", type=int, default=500000, help="manyflows: number of flows")
    ap.add_argument("--open-pkts", type=int, default=6, help="manyflows: packets kept per flow")
    ap.add_argument("--span-sec", type=float, default=0, help="packet-time span (default: mix 60, "
                    "manyflows 120, bulk/handshakes 30)")
    ap.add_argument("--servers", type=int, default=1000, help="server address pool size")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    rng = random.Random(a.seed)
    w = Writer(a.out)
    info = {"kind": a.kind, "path": a.out, "seed": a.seed}
    base = T0 * 1000000
    if a.kind == "tiny":
        bt = BulkTemplate()
        merge_write(w, [(base, lambda: replay(bt.tpl, Copy(bt.tpl, 1, 1, rng), base))])
        info["flows"] = 1
    elif a.kind == "mix":
        span = int((a.span_sec or 60) * 1e6)
        target = int(a.size_mb * 1e6)
        bt = BulkTemplate()
        tpls = short_templates()
        bulk_target = int(target * a.bulk_share)
        flow_mb = a.bulk_flow_mb or min(20.0, a.size_mb * a.bulk_share / 10)
        flow_bytes = max(1, int(flow_mb * 1e6))
        nbulk = max(1, round(bulk_target / flow_bytes)) if a.bulk_share > 0 else 0
        starts = []
        copy_no = 0
        for i in range(nbulk):
            # Each bulk flow lasts 30-100 % of the span, so they overlap each other and
            # the short flows; the segment gap follows from its length.
            dur = span * rng.uniform(0.3, 1.0)
            nseg = -(-flow_bytes // MSS)
            gap = max(1, int(dur / nseg))
            st = base + rng.randrange(max(1, span - int(dur)))
            copy_no += 1
            starts.append((st, "bulk", copy_no, gap, i % round(1 / a.upload_share) == 0 if a.upload_share else False))
        short_target = target - nbulk * flow_bytes * 1.03
        got = 0
        i = 0
        nshort = 0
        while got < short_target:
            t = tpls[i % len(tpls)]
            i += 1
            copy_no += 1
            nshort += len(t.flows)
            starts.append((base + rng.randrange(span), "short", copy_no, t, None))
            got += t.bytes + 16 * len(t.pkts)
        starts.sort(key=lambda x: x[0])

        def factories():
            for st, kind, cn, x, up in starts:
                if kind == "bulk":
                    yield st, (lambda st=st, cn=cn, gap=x, up=up:
                               bt.flow(Copy(bt.tpl, cn, a.servers, rng), st, flow_bytes, gap, up))
                else:
                    yield st, (lambda st=st, cn=cn, t=x: replay(t, Copy(t, cn, a.servers, rng), st))
        merge_write(w, factories())
        info.update(bulk_flows=nbulk, bulk_bytes_per_flow=flow_bytes, short_flows=nshort,
                    flows=nbulk + nshort, templates=len(tpls), templates_id=templates_id(tpls))
    elif a.kind == "bulk":
        span = int((a.span_sec or 30) * 1e6)
        bt = BulkTemplate()
        fixed = len(bt.hs) + len(bt.tail)
        # bulk packets per flow so that they are bulk_pkt_share of the flow's packets
        want_bulk_pkts = fixed * a.bulk_pkt_share / (1 - a.bulk_pkt_share)
        segs = max(2, int(want_bulk_pkts * 2 / 3))
        bulk_bytes = int(a.bulk_kb * 1000) if a.bulk_kb else segs * MSS
        nrec = -(-bulk_bytes // len(bt.record))
        bulk_bytes = nrec * len(bt.record)
        per = bt.packets_for(bulk_bytes)
        nflows = a.bulk_flows or max(1, round(a.packets / per))
        nbg = a.background_flows
        bg_span = int(a.background_sec * 1e6) if nbg else 0
        starts = sorted(base + bg_span + rng.randrange(span) for _ in range(nflows))
        syn = bt.tpl.pkts[0]
        bg_rng = random.Random(a.seed + 1)

        def factories():
            # Background: a client SYN per flow (copy numbers above the bulk flows'), evenly
            # spread over the first bg_span; identical with and without --background-only.
            for k in range(nbg):
                st = base + k * bg_span // nbg
                yield st, (lambda st=st, cn=1000000 + k:
                           iter(((st, Copy(bt.tpl, cn, a.servers, bg_rng).frame(syn)),)))
            if a.background_only:
                return
            for k, st in enumerate(starts):
                yield st, (lambda st=st, cn=k + 1:
                           bt.flow(Copy(bt.tpl, cn, a.servers, rng), st, bulk_bytes, 50, cn % 4 == 0))
        merge_write(w, factories())
        info.update(flows=nbg + (0 if a.background_only else nflows), background_flows=nbg,
                    bulk_flows=0 if a.background_only else nflows,
                    bulk_bytes_per_flow=bulk_bytes, packets_per_flow=per, bulk_packet_share=1 - fixed / per)
    elif a.kind == "handshakes":
        span = int((a.span_sec or 30) * 1e6)
        tpls = [Template(p) for p in sorted(glob.glob(os.path.join(PCAPS, "tls", "*.pcap")))]
        starts = []
        n = 0
        i = 0
        flows = 0
        while n < a.packets:
            t = tpls[i % len(tpls)]
            i += 1
            starts.append((base + rng.randrange(span), i, t))
            n += len(t.pkts)
            flows += len(t.flows)
        starts.sort(key=lambda x: x[0])
        merge_write(w, ((st, (lambda st=st, cn=cn, t=t: replay(t, Copy(t, cn, a.servers, rng), st)))
                        for st, cn, t in starts))
        info.update(flows=flows, templates=len(tpls))
    elif a.kind == "manyflows":
        span = int((a.span_sec or 120) * 1e6)
        tpls = [t for t in short_templates() if len(t.flows) == 1]
        nf = a.flows

        def factories():
            for k in range(nf):
                t = tpls[k % len(tpls)]
                st = base + k * span // nf
                yield st, (lambda st=st, cn=k + 1, t=t:
                           replay(t, Copy(t, cn, a.servers, rng), st, limit=a.open_pkts))
        merge_write(w, factories())
        info.update(flows=nf, open_pkts=a.open_pkts)
    w.close()
    info.update(packets=w.packets, bytes=w.bytes)
    if a.kind == "mix":
        info["span_sec"] = (a.span_sec or 60)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
