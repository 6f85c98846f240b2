#!/usr/bin/env python3
"""rewrite.py - deterministic rewriting of classic pcap files for the netzwacht test captures.

Python 3 standard library only (no scapy). Reads and writes the classic libpcap format
(https://www.tcpdump.org/manpages/pcap-savefile.5.html, draft-ietf-opsawg-pcap section 4/5):
either byte order, microsecond (magic 0xa1b2c3d4) or nanosecond (0xa1b23c4d) timestamps. The
output keeps the input's byte order and timestamp precision. pcapng is not handled.
Every choice is a function of the input file and the options: no randomness.

Subcommands (IN/OUT are file names; --log writes a TSV of what was changed):
  vlan IN OUT [--vid 100] [--pcp 0]
      insert one IEEE 802.1Q tag (TPID 0x8100) after the MAC addresses of every Ethernet
      frame (LINKTYPE_ETHERNET only).
  qinq IN OUT [--outer 200] [--inner 100]
      insert an IEEE 802.1ad service tag (TPID 0x88a8, VID outer) followed by an 802.1Q
      customer tag (TPID 0x8100, VID inner).
  relink IN OUT --to raw|null|loop|ipv4
      strip the Ethernet header and write a different link type (LINKTYPE values from
      https://www.tcpdump.org/linktypes.html):
        raw  LINKTYPE_RAW (101): the IP header first;
        null LINKTYPE_NULL (0): 4-byte address family in the capturing host's byte order,
             written little endian (AF_INET = 2, AF_INET6 = 10 as on Linux);
        loop LINKTYPE_LOOP (108): the same, always big endian (OpenBSD);
        ipv4 LINKTYPE_IPV4 (228): raw IPv4 only (IPv6 frames are an error).
  reorder-dup IN OUT [--swap-every 4] [--dup-every 5] [--log F]
      TCP data segments (payload > 0) are numbered k = 0, 1, ... in file order. For every
      k with k % swap_every == 1, segment k changes place in the file with segment k+1 when
      both belong to the same flow direction (frames between them, e.g. ACKs, stay where they
      are; the timestamps stay with the positions, so time still increases). For every k with k % dup_every == 3, an exact copy
      of segment k is inserted right after it (same timestamp).
  overlap-diff IN OUT [--index M] [--log F]
      evasion case (RFC 9293 section 3.10.7.4 leaves overlapping retransmissions with
      different data to the receiver): in the flow direction carrying the most data segments,
      take data segment M (default: the middle one, needs >= 3). A forged copy of it (same
      headers and length, payload replaced by the repeated text "OVERLAP-FORGED-", TCP
      checksum recomputed) is inserted before that direction's segment M-1, and the genuine
      segment M is moved right behind the forged copy. Arrival order: ..., M-2, forged M,
      genuine M, M-1, M+1, ...: both copies of M are seen while M-1 is still missing, so a
      reassembler holding them out of order sees the same range twice with different bytes.
  damage IN OUT --kind KIND [--record N] [--keep K] [--log F]
      damaged inputs (N = 0-based record to damage, default 2; with --keep only the first K
      records of IN are used, to keep the file small):
        trunc-global-header  only the first 10 bytes of the 24-byte global header
        trunc-record-data    records 0..N-1 complete, record N's header and half its data
        trunc-record-header  records 0..N-1 complete, then 8 of record N's 16 header bytes
        bad-magic            magic number replaced by 0x1a2b3c4d (records unchanged)
        linktype-80211       link type patched to LINKTYPE_IEEE802_11 (105)
        caplen-gt-snaplen    header snaplen 96, every record cut to 96 bytes except record
                             N, which keeps all its bytes (caplen > snaplen, data present)
        caplen-absurd        record N's caplen patched to 0x7fffffff (the data that follows
                             is unchanged: far shorter than that)
        empty                a zero-length file
      The --log line says how many records precede the damage and the file offset of it.

Ignored: IP options are skipped by their length, IPv6 extension headers are not followed (the
packet is then not treated as TCP), non-TCP frames are copied through unchanged.
"""

import argparse
import struct
import sys

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D
LT_NULL, LT_ETHERNET, LT_RAW, LT_LOOP, LT_IEEE802_11, LT_IPV4 = 0, 1, 101, 108, 105, 228
FORGED = b"OVERLAP-FORGED-"


class Pcap:
    """A classic pcap file in memory: header fields and a list of records."""

    def __init__(self, endian, magic, vmaj, vmin, thiszone, sigfigs, snaplen, linktype, recs):
        self.endian = endian        # "<" or ">"
        self.magic = magic
        self.vmaj, self.vmin = vmaj, vmin
        self.thiszone, self.sigfigs = thiszone, sigfigs
        self.snaplen = snaplen
        self.linktype = linktype
        self.recs = recs            # list of [ts_sec, ts_frac, origlen, data]

    def header_bytes(self, magic=None, snaplen=None, linktype=None):
        e = self.endian
        return struct.pack(e + "IHHiIII", self.magic if magic is None else magic, self.vmaj,
                           self.vmin, self.thiszone, self.sigfigs,
                           self.snaplen if snaplen is None else snaplen,
                           self.linktype if linktype is None else linktype)

    def rec_bytes(self, rec, caplen=None):
        ts_sec, ts_frac, origlen, data = rec
        return struct.pack(self.endian + "IIII", ts_sec, ts_frac,
                           len(data) if caplen is None else caplen, origlen) + data

    def write(self, path):
        with open(path, "wb") as f:
            f.write(self.header_bytes())
            for rec in self.recs:
                f.write(self.rec_bytes(rec))


def read_pcap(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 24:
        raise SystemExit("rewrite.py: %s: shorter than a pcap global header" % path)
    for endian in ("<", ">"):
        magic = struct.unpack(endian + "I", raw[:4])[0]
        if magic in (MAGIC_US, MAGIC_NS):
            break
    else:
        raise SystemExit("rewrite.py: %s: not a classic pcap file (pcapng is not handled)" % path)
    _, vmaj, vmin, zone, sigfigs, snaplen, linktype = struct.unpack(endian + "IHHiIII", raw[:24])
    recs, off = [], 24
    while off < len(raw):
        if off + 16 > len(raw):
            raise SystemExit("rewrite.py: %s: truncated record header at %d" % (path, off))
        ts_sec, ts_frac, caplen, origlen = struct.unpack(endian + "IIII", raw[off:off + 16])
        off += 16
        if off + caplen > len(raw):
            raise SystemExit("rewrite.py: %s: truncated record data at %d" % (path, off))
        recs.append([ts_sec, ts_frac, origlen, raw[off:off + caplen]])
        off += caplen
    return Pcap(endian, magic, vmaj, vmin, zone, sigfigs, snaplen, linktype & 0x0FFFFFFF, recs)


# ---------------------------------------------------------------- packet parsing

def l3_offset(linktype, data):
    """Offset of the IP header in a frame, or None."""
    if linktype == LT_ETHERNET:
        off = 12
        while off + 2 <= len(data):
            etype = struct.unpack(">H", data[off:off + 2])[0]
            if etype in (0x8100, 0x88A8):
                off += 4
                continue
            return off + 2 if etype in (0x0800, 0x86DD) else None
        return None
    if linktype in (LT_RAW, LT_IPV4):
        return 0
    if linktype in (LT_NULL, LT_LOOP):
        return 4
    return None


class Tcp:
    """TCP facts of one frame (offsets into the frame's bytes)."""

    def __init__(self, ip_off, v6, src, dst, sport, dport, seq, flags, tcp_off, pay_off, pay_len):
        self.ip_off, self.v6 = ip_off, v6
        self.src, self.dst, self.sport, self.dport = src, dst, sport, dport
        self.seq, self.flags = seq, flags
        self.tcp_off, self.pay_off, self.pay_len = tcp_off, pay_off, pay_len

    def key(self):
        return (self.src, self.sport, self.dst, self.dport)


def parse_tcp(linktype, data):
    ip = l3_offset(linktype, data)
    if ip is None or ip >= len(data):
        return None
    ver = data[ip] >> 4
    if ver == 4:
        if ip + 20 > len(data):
            return None
        ihl = (data[ip] & 0x0F) * 4
        total = struct.unpack(">H", data[ip + 2:ip + 4])[0]
        if data[ip + 9] != 6 or ihl < 20:
            return None
        src, dst = data[ip + 12:ip + 16], data[ip + 16:ip + 20]
        tcp, end = ip + ihl, ip + total
        v6 = False
    elif ver == 6:
        if ip + 40 > len(data) or data[ip + 6] != 6:
            return None
        plen = struct.unpack(">H", data[ip + 4:ip + 6])[0]
        src, dst = data[ip + 8:ip + 24], data[ip + 24:ip + 40]
        tcp, end = ip + 40, ip + 40 + plen
        v6 = True
    else:
        return None
    if tcp + 20 > len(data):
        return None
    sport, dport, seq = struct.unpack(">HHI", data[tcp:tcp + 8])
    doff = (data[tcp + 12] >> 4) * 4
    flags = data[tcp + 13]
    pay = tcp + doff
    return Tcp(ip, v6, src, dst, sport, dport, seq, flags, tcp, pay, max(0, end - pay))


def csum16(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def fix_tcp_checksum(t, frame):
    """Return frame with the TCP checksum recomputed (RFC 9293 section 3.1)."""
    buf = bytearray(frame)
    seg_len = t.pay_off + t.pay_len - t.tcp_off
    buf[t.tcp_off + 16:t.tcp_off + 18] = b"\0\0"
    seg = bytes(buf[t.tcp_off:t.tcp_off + seg_len])
    if t.v6:
        pseudo = t.src + t.dst + struct.pack(">IxxxB", seg_len, 6)
    else:
        pseudo = t.src + t.dst + struct.pack(">xBH", 6, seg_len)
    buf[t.tcp_off + 16:t.tcp_off + 18] = struct.pack(">H", csum16(pseudo + seg))
    return bytes(buf)


def addr_text(raw):
    if len(raw) == 4:
        return ".".join(str(b) for b in raw)
    words = ["%x" % struct.unpack(">H", raw[i:i + 2])[0] for i in range(0, 16, 2)]
    return ":".join(words)


def isns(pc):
    """{flow direction key: seq of its SYN} for relative sequence numbers in logs."""
    out = {}
    for rec in pc.recs:
        t = parse_tcp(pc.linktype, rec[3])
        if t and t.flags & 0x02 and t.key() not in out:
            out[t.key()] = t.seq
    return out


def log_rows(path, header, rows):
    if not path:
        return
    with open(path, "w", encoding="ascii") as f:
        f.write("# " + "\t".join(header) + "\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")


def seg_desc(pc, syn, t):
    rel = (t.seq - syn[t.key()] - 1) & 0xFFFFFFFF if t.key() in syn else t.seq
    return ("%s:%d" % (addr_text(t.src), t.sport), "%s:%d" % (addr_text(t.dst), t.dport),
            rel, t.pay_len)


# ---------------------------------------------------------------- subcommands

def need_ethernet(pc, what):
    if pc.linktype != LT_ETHERNET:
        raise SystemExit("rewrite.py: %s needs LINKTYPE_ETHERNET input, got %d" % (what, pc.linktype))


def cmd_vlan(pc, args):
    need_ethernet(pc, "vlan")
    tag = struct.pack(">HH", 0x8100, (args.pcp << 13) | args.vid)
    for rec in pc.recs:
        rec[3] = rec[3][:12] + tag + rec[3][12:]
        rec[2] += 4
    return pc


def cmd_qinq(pc, args):
    need_ethernet(pc, "qinq")
    tags = struct.pack(">HHHH", 0x88A8, args.outer, 0x8100, args.inner)
    for rec in pc.recs:
        rec[3] = rec[3][:12] + tags + rec[3][12:]
        rec[2] += 8
    return pc


def cmd_relink(pc, args):
    need_ethernet(pc, "relink")
    lt = {"raw": LT_RAW, "null": LT_NULL, "loop": LT_LOOP, "ipv4": LT_IPV4}[args.to]
    for i, rec in enumerate(pc.recs):
        data = rec[3]
        etype = struct.unpack(">H", data[12:14])[0] if len(data) >= 14 else None
        if etype not in (0x0800, 0x86DD):
            raise SystemExit("rewrite.py: record %d is not plain Ethernet IPv4/IPv6" % i)
        if lt == LT_IPV4 and etype != 0x0800:
            raise SystemExit("rewrite.py: record %d is IPv6, LINKTYPE_IPV4 cannot carry it" % i)
        af = 2 if etype == 0x0800 else 10
        prefix = {LT_RAW: b"", LT_IPV4: b"", LT_NULL: struct.pack("<I", af),
                  LT_LOOP: struct.pack(">I", af)}[lt]
        rec[3] = prefix + data[14:]
        rec[2] = rec[2] - 14 + len(prefix)
    pc.linktype = lt
    return pc


def data_segments(pc):
    out = []
    for pos, rec in enumerate(pc.recs):
        t = parse_tcp(pc.linktype, rec[3])
        if t and t.pay_len > 0:
            out.append((pos, t))
    return out


def cmd_reorder_dup(pc, args):
    segs = data_segments(pc)
    syn = isns(pc)
    order = list(range(len(pc.recs)))        # output position -> input record
    ops = []
    swapped = set()
    for k in range(len(segs) - 1):
        if k % args.swap_every != 1:
            continue
        (p1, t1), (p2, t2) = segs[k], segs[k + 1]
        if t1.key() != t2.key() or p1 in swapped or p2 in swapped:
            continue
        order[p1], order[p2] = order[p2], order[p1]
        swapped.update((p1, p2))
        ops.append(("swap", p1, p2, t1, t2))
    dups = {segs[k][0] for k in range(len(segs)) if k % args.dup_every == 3}
    new_recs, rows = [], []
    for pos, src in enumerate(order):
        ts_sec, ts_frac = pc.recs[pos][0], pc.recs[pos][1]
        rec = pc.recs[src]
        new_recs.append([ts_sec, ts_frac, rec[2], rec[3]])
        t = parse_tcp(pc.linktype, rec[3])
        if src != pos:
            rows.append(("moved", len(new_recs), "in_frame=%d" % (src + 1)) + seg_desc(pc, syn, t))
        if src in dups:
            new_recs.append([ts_sec, ts_frac, rec[2], rec[3]])
            rows.append(("duplicate", len(new_recs), "copy_of_frame=%d" % len(new_recs[:-1]))
                        + seg_desc(pc, syn, t))
    if not ops or not dups:
        raise SystemExit("rewrite.py: reorder-dup found nothing to swap or duplicate")
    pc.recs = new_recs
    log_rows(args.log, ("op", "out_frame", "note", "src", "dst", "rel_seq", "len"), rows)
    return pc


def cmd_overlap_diff(pc, args):
    segs = data_segments(pc)
    by_dir = {}
    for pos, t in segs:
        by_dir.setdefault(t.key(), []).append((pos, t))
    key = max(by_dir, key=lambda k: (len(by_dir[k]), k))
    dsegs = by_dir[key]
    m = len(dsegs) // 2 if args.index is None else args.index
    if len(dsegs) < 3 or not 1 <= m < len(dsegs):
        raise SystemExit("rewrite.py: overlap-diff needs a direction with >= 3 data segments")
    prev_pos, _ = dsegs[m - 1]
    pos, t = dsegs[m]
    rec = pc.recs[pos]
    frame = bytearray(rec[3])
    pattern = (FORGED * (t.pay_len // len(FORGED) + 1))[:t.pay_len]
    caplen_pay = min(t.pay_len, len(frame) - t.pay_off)
    frame[t.pay_off:t.pay_off + caplen_pay] = pattern[:caplen_pay]
    forged = fix_tcp_checksum(t, bytes(frame))
    syn = isns(pc)
    new_recs, rows = [], []
    for i, r in enumerate(pc.recs):
        if i == pos:
            continue                       # the genuine copy moved ahead (below)
        if i == prev_pos:
            ts = (r[0], r[1])
            new_recs.append([ts[0], ts[1], rec[2], forged])
            rows.append(("forged_copy", len(new_recs), "payload=OVERLAP-FORGED-...")
                        + seg_desc(pc, syn, t))
            new_recs.append([ts[0], ts[1], rec[2], rec[3]])
            rows.append(("genuine_copy", len(new_recs), "in_frame=%d" % (pos + 1))
                        + seg_desc(pc, syn, t))
        new_recs.append(list(r))
    pc.recs = new_recs
    log_rows(args.log, ("op", "out_frame", "note", "src", "dst", "rel_seq", "len"), rows)
    return pc


def cmd_damage(pc, args, out):
    n = args.record
    if n + 1 > len(pc.recs):
        raise SystemExit("rewrite.py: damage needs at least %d records" % (n + 1))
    head = pc.header_bytes()
    recs = [pc.rec_bytes(r) for r in pc.recs]
    before = head + b"".join(recs[:n])
    kind = args.kind
    note = ""
    if kind == "trunc-global-header":
        data, ok, at = head[:10], 0, 10
    elif kind == "trunc-record-data":
        cut = 16 + (len(recs[n]) - 16) // 2
        data, ok, at = before + recs[n][:cut], n, len(before) + cut
        note = "caplen=%d, %d data bytes present" % (len(recs[n]) - 16, cut - 16)
    elif kind == "trunc-record-header":
        data, ok, at = before + recs[n][:8], n, len(before) + 8
    elif kind == "bad-magic":
        data = struct.pack(pc.endian + "I", 0x1A2B3C4D) + head[4:] + b"".join(recs)
        ok, at = 0, 0
    elif kind == "linktype-80211":
        data = pc.header_bytes(linktype=LT_IEEE802_11) + b"".join(recs)
        ok, at = 0, 20
        note = "%d intact Ethernet records labelled 802.11" % len(recs)
    elif kind == "caplen-gt-snaplen":
        snap = 96
        parts = [pc.header_bytes(snaplen=snap)]
        at = 24
        for i, r in enumerate(pc.recs):
            if i < n:
                at += 16 + min(snap, len(r[3]))
            data_i = r[3] if i == n else r[3][:snap]
            parts.append(pc.rec_bytes([r[0], r[1], r[2], data_i]))
        data, ok = b"".join(parts), n
        note = "record %d caplen=%d > snaplen=%d, data present" % (n, len(pc.recs[n][3]), snap)
    elif kind == "caplen-absurd":
        r = pc.recs[n]
        data = before + pc.rec_bytes(r, caplen=0x7FFFFFFF)[:16] + r[3] + b"".join(recs[n + 1:])
        ok, at = n, len(before) + 8
        note = "caplen=0x7fffffff, file has %d bytes after the header" % (len(data) - len(before) - 16)
    elif kind == "empty":
        data, ok, at = b"", 0, 0
    else:
        raise SystemExit("rewrite.py: unknown damage kind %s" % kind)
    with open(out, "wb") as f:
        f.write(data)
    log_rows(args.log, ("damage", "records_before_damage", "damage_offset", "file_size", "note"),
             [(kind, ok, at, len(data), note)])


def main():
    ap = argparse.ArgumentParser(description="deterministic pcap rewriting (see module doc)")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def add(name):
        p = sub.add_parser(name)
        p.add_argument("infile")
        p.add_argument("outfile")
        p.add_argument("--log", help="TSV describing what was changed")
        return p

    p = add("vlan")
    p.add_argument("--vid", type=int, default=100)
    p.add_argument("--pcp", type=int, default=0)
    p = add("qinq")
    p.add_argument("--outer", type=int, default=200)
    p.add_argument("--inner", type=int, default=100)
    p = add("relink")
    p.add_argument("--to", required=True, choices=("raw", "null", "loop", "ipv4"))
    p = add("reorder-dup")
    p.add_argument("--swap-every", type=int, default=4)
    p.add_argument("--dup-every", type=int, default=5)
    p = add("overlap-diff")
    p.add_argument("--index", type=int)
    p = add("damage")
    p.add_argument("--kind", required=True)
    p.add_argument("--record", type=int, default=2)
    p.add_argument("--keep", type=int, help="use only the first KEEP records of IN")
    args = ap.parse_args()

    if args.cmd == "damage" and args.kind == "empty":
        open(args.outfile, "wb").close()
        log_rows(args.log, ("damage", "records_before_damage", "damage_offset", "file_size",
                            "note"), [("empty", 0, 0, 0, "")])
        return 0
    pc = read_pcap(args.infile)
    if args.cmd == "damage":
        if args.keep:
            pc.recs = pc.recs[:args.keep]
        cmd_damage(pc, args, args.outfile)
        return 0
    handler = {"vlan": cmd_vlan, "qinq": cmd_qinq, "relink": cmd_relink,
               "reorder-dup": cmd_reorder_dup, "overlap-diff": cmd_overlap_diff}[args.cmd]
    handler(pc, args).write(args.outfile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
