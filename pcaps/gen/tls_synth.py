#!/usr/bin/env python3
"""tls_synth.py - derive the synthetic TLS captures from real ones, and write tshark expectations.

Usage (from pcaps/gen/tls.sh; python3 standard library only):
  tls_synth.py CASE SRC.pcap OUT.pcap   rewrite a recorded capture into a synthetic case
  tls_synth.py expect PCAP OUT.tsv      one TSV row per TLS handshake, from tshark (reference)
  tls_synth.py check TSV ROW COL=VAL..  exit 0 if row ROW (1-based or *) has all the values
  tls_synth.py check-no-reneg TSV       exit 0 if no ClientHello signals renegotiation_info
  tls_synth.py cases                    list the cases with a one-line description

Rewriting model: the input is a classic pcap (Ethernet link type, as `tcpdump -i lo` writes it)
of TCP connections on loopback. Every TCP segment is kept in its original order and with its
original timestamp; only payloads chosen by a case are replaced, shortened, lengthened or dropped.
For each connection and direction a running sequence delta is kept, so SEQ of later segments and
ACK of the opposite direction stay consistent (RFC 9293 section 3.4). IPv4 total length and header
checksum (RFC 791), IPv6 payload length (RFC 8200) and the TCP checksum (RFC 9293 section 3.1,
pseudo-header) are recomputed for every packet written, so rewritten packets carry correct
checksums (recorded loopback packets carry the partial checksums of checksum offload).
TLS structures follow RFC 5246 section 6.2 / 7.4 (records, ClientHello, ServerHello),
RFC 8446 section 4.1.3 (downgrade sentinel) and 4.2.1 (supported_versions), and the SSL 2.0
draft (draft-hickman-netscape-ssl-00) section "SSL Record Protocol Specification" plus
RFC 5246 appendix E.2 for the SSLv2-format CLIENT-HELLO.
Ignored: IP options and IPv6 extension headers (not produced on loopback), SACK blocks (not
rewritten), TLS records whose header straddles two segments (rejected with an error).
"""

import re
import struct
import subprocess
import sys

# --- pcap I/O -------------------------------------------------------------------------------

LINKTYPE_ETHERNET = 1


class Pcap:
    """A classic pcap file: header bytes, byte order and a list of [ts_sec, ts_frac, data]."""

    def __init__(self, path):
        with open(path, "rb") as f:
            raw = f.read()
        if len(raw) < 24:
            raise SystemExit(f"{path}: too short for a pcap header")
        magic_le = struct.unpack("<I", raw[:4])[0]
        if magic_le in (0xA1B2C3D4, 0xA1B23C4D):
            self.endian = "<"
        elif struct.unpack(">I", raw[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D):
            self.endian = ">"
        else:
            raise SystemExit(f"{path}: not a classic pcap file (pcapng is not supported)")
        self.header = raw[:24]
        self.linktype = struct.unpack(self.endian + "I", raw[20:24])[0]
        if self.linktype != LINKTYPE_ETHERNET:
            raise SystemExit(f"{path}: link type {self.linktype}, expected Ethernet (1)")
        self.packets = []
        off = 24
        while off + 16 <= len(raw):
            ts_sec, ts_frac, incl, orig = struct.unpack(self.endian + "IIII", raw[off:off + 16])
            data = raw[off + 16:off + 16 + incl]
            if len(data) != incl or incl != orig:
                raise SystemExit(f"{path}: truncated or snapped packet at offset {off}")
            self.packets.append([ts_sec, ts_frac, data])
            off += 16 + incl

    def write(self, path, packets):
        with open(path, "wb") as f:
            f.write(self.header)
            for ts_sec, ts_frac, data in packets:
                f.write(struct.pack(self.endian + "IIII", ts_sec, ts_frac, len(data), len(data)))
                f.write(data)


def csum16(data):
    """Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Seg:
    """One Ethernet/IP/TCP packet split into its parts."""

    def __init__(self, data):
        self.eth = data[:14]
        ethertype = struct.unpack("!H", data[12:14])[0]
        ip = data[14:]
        if ethertype == 0x0800:
            self.v = 4
            ihl = (ip[0] & 0x0F) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            if ip[9] != 6:
                raise ValueError("not TCP")
            self.iphdr = bytearray(ip[:ihl])
            self.src, self.dst = ip[12:16], ip[16:20]
            l4 = ip[ihl:total]
        elif ethertype == 0x86DD:
            self.v = 6
            plen = struct.unpack("!H", ip[4:6])[0]
            if ip[6] != 6:
                raise ValueError("not TCP (or IPv6 extension headers)")
            self.iphdr = bytearray(ip[:40])
            self.src, self.dst = ip[8:24], ip[24:40]
            l4 = ip[40:40 + plen]
        else:
            raise ValueError("not IP")
        doff = (l4[12] >> 4) * 4
        self.tcphdr = bytearray(l4[:doff])
        self.payload = bytes(l4[doff:])
        self.sport, self.dport, self.seq, self.ack = struct.unpack("!HHII", l4[:12])
        self.flags = l4[13]

    def build(self):
        tcp = self.tcphdr
        struct.pack_into("!II", tcp, 4, self.seq & 0xFFFFFFFF, self.ack & 0xFFFFFFFF)
        tcp[13] = self.flags
        tcp[16:18] = b"\0\0"
        seglen = len(tcp) + len(self.payload)
        if self.v == 4:
            ip = self.iphdr
            struct.pack_into("!H", ip, 2, len(ip) + seglen)
            ip[10:12] = b"\0\0"
            struct.pack_into("!H", ip, 10, csum16(bytes(ip)))
            pseudo = self.src + self.dst + struct.pack("!BBH", 0, 6, seglen)
        else:
            ip = self.iphdr
            struct.pack_into("!H", ip, 4, seglen)
            pseudo = self.src + self.dst + struct.pack("!I3xB", seglen, 6)
        struct.pack_into("!H", tcp, 16, csum16(pseudo + bytes(tcp) + self.payload))
        return bytes(self.eth) + bytes(ip) + bytes(tcp) + self.payload


SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10


def conn_key(seg):
    a = (seg.src, seg.sport)
    b = (seg.dst, seg.dport)
    return (a, b) if a < b else (b, a)


def tcp_streams(pcap):
    """Return {conn_index: {0: client bytes, 1: server bytes}} (client = sender of the SYN)."""
    conns, order, out = {}, [], {}
    for _, _, data in pcap.packets:
        try:
            s = Seg(data)
        except ValueError:
            continue
        k = conn_key(s)
        if k not in conns:
            conns[k] = (s.src, s.sport) if (s.flags & SYN and not s.flags & ACK) else None
            order.append(k)
            out[len(order) - 1] = {0: b"", 1: b""}
        ci = order.index(k)
        if conns[k] is None:
            raise SystemExit("capture starts in the middle of a connection")
        d = 0 if (s.src, s.sport) == conns[k] else 1
        out[ci][d] += s.payload
    return out


def rewrite(pcap, edit):
    """Apply edit(conn, dir, n, payload) -> bytes to every non-empty payload.

    conn is the connection index in order of appearance, dir 0 = client->server, n counts the
    non-empty segments of that direction from 0. Returning b"" drops the data: a pure data
    segment (only ACK/PSH set) is removed, one carrying SYN/FIN/RST is kept without payload.
    Once data of a connection was dropped, pure ACKs that acknowledge nothing new (same ACK as
    the previous packet of their direction) are removed too, so no duplicate ACKs appear.
    Returns the new packet list."""
    conns, order, out = {}, [], []
    for ts_sec, ts_frac, data in pcap.packets:
        s = Seg(data)
        k = conn_key(s)
        if k not in conns:
            if not (s.flags & SYN and not s.flags & ACK):
                raise SystemExit("capture starts in the middle of a connection")
            conns[k] = {"client": (s.src, s.sport), "delta": [0, 0], "n": [0, 0],
                        "idx": len(order), "dropped": False, "last_ack": [None, None]}
            order.append(k)
        c = conns[k]
        d = 0 if (s.src, s.sport) == c["client"] else 1
        old = s.payload
        new = old
        if old:
            new = edit(c["idx"], d, c["n"][d], old)
            c["n"][d] += 1
        s.seq = s.seq + c["delta"][d]
        if s.flags & ACK:
            s.ack = s.ack + c["delta"][1 - d]
        c["delta"][d] += len(new) - len(old)
        if old and not new:
            c["dropped"] = True
            if not s.flags & (SYN | FIN | RST):
                continue
        s.payload = new
        if not new:
            s.flags &= ~PSH
        ack = s.ack & 0xFFFFFFFF
        if c["dropped"] and not new and s.flags == ACK and c["last_ack"][d] == ack:
            continue
        if s.flags & ACK:
            c["last_ack"][d] = ack
        out.append([ts_sec, ts_frac, s.build()])
    return out


# --- TLS structures -------------------------------------------------------------------------

CT_ALERT, CT_HANDSHAKE = 21, 22
HS_CLIENT_HELLO, HS_SERVER_HELLO, HS_CERTIFICATE = 1, 2, 11
EXT_SUPPORTED_VERSIONS = 43
DOWNGRD_TLS12 = bytes.fromhex("444f574e47524401")


def records(payload):
    """Split a segment payload into [ctype, version, body]; it must hold whole records."""
    out, off = [], 0
    while off < len(payload):
        if off + 5 > len(payload):
            raise SystemExit("TLS record header straddles a segment: cannot rewrite")
        ctype, ver, ln = struct.unpack("!BHH", payload[off:off + 5])
        if off + 5 + ln > len(payload):
            raise SystemExit("TLS record straddles a segment: cannot rewrite")
        out.append([ctype, ver, payload[off + 5:off + 5 + ln]])
        off += 5 + ln
    return out


def join_records(recs):
    return b"".join(struct.pack("!BHH", t, v, len(b)) + b for t, v, b in recs)


def hs_messages(body):
    """Split a handshake record body into [type, body]; messages must not span records."""
    out, off = [], 0
    while off < len(body):
        if off + 4 > len(body):
            raise SystemExit("handshake header spans records: cannot rewrite")
        t = body[off]
        ln = int.from_bytes(body[off + 1:off + 4], "big")
        if off + 4 + ln > len(body):
            raise SystemExit("handshake message spans records: cannot rewrite")
        out.append([t, body[off + 4:off + 4 + ln]])
        off += 4 + ln
    return out


def join_hs(msgs):
    return b"".join(bytes([t]) + len(b).to_bytes(3, "big") + b for t, b in msgs)


class Hello:
    """ClientHello or ServerHello body (RFC 5246 7.4.1.2/7.4.1.3; RFC 8446 4.1.2/4.1.3)."""

    def __init__(self, kind, body):
        self.kind = kind
        r = Reader(body)
        self.version = r.u16()
        self.random = r.take(32)
        self.session_id = r.take(r.u8())
        if kind == HS_CLIENT_HELLO:
            cs = r.take(r.u16())
            self.suites = [struct.unpack("!H", cs[i:i + 2])[0] for i in range(0, len(cs), 2)]
            self.comp = list(r.take(r.u8()))
        else:
            self.suites = [r.u16()]
            self.comp = [r.u8()]
        self.exts = None
        if r.left():
            self.exts = []
            er = Reader(r.take(r.u16()))
            while er.left():
                et = er.u16()
                self.exts.append([et, er.take(er.u16())])
        if r.left():
            raise SystemExit("trailing bytes after hello extensions")

    def build(self):
        b = struct.pack("!H", self.version) + self.random
        b += bytes([len(self.session_id)]) + self.session_id
        if self.kind == HS_CLIENT_HELLO:
            b += struct.pack("!H", 2 * len(self.suites))
            b += b"".join(struct.pack("!H", s) for s in self.suites)
            b += bytes([len(self.comp)]) + bytes(self.comp)
        else:
            b += struct.pack("!HB", self.suites[0], self.comp[0])
        if self.exts is not None:
            e = b"".join(struct.pack("!HH", t, len(v)) + v for t, v in self.exts)
            b += struct.pack("!H", len(e)) + e
        return b

    def supported_versions(self):
        for t, v in self.exts or []:
            if t == EXT_SUPPORTED_VERSIONS:
                if self.kind == HS_SERVER_HELLO:
                    return [struct.unpack("!H", v)[0]]
                return [struct.unpack("!H", v[i:i + 2])[0] for i in range(1, 1 + v[0], 2)]
        return []


class Reader:
    """Bounds-checked big-endian cursor."""

    def __init__(self, b):
        self.b, self.o = b, 0

    def take(self, n):
        if self.o + n > len(self.b):
            raise SystemExit("hello message truncated")
        v = self.b[self.o:self.o + n]
        self.o += n
        return v

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("!H", self.take(2))[0]

    def left(self):
        return len(self.b) - self.o


CT_CHANGE_CIPHER_SPEC = 20


class HelloEditor:
    """edit() callback for rewrite(): passes every cleartext ClientHello/ServerHello through
    on_hello(Hello), which changes it in place. Handshake records after a direction's
    ChangeCipherSpec are encrypted and left alone; so are all other records."""

    def __init__(self, on_hello):
        self.on_hello = on_hello
        self.encrypted = set()

    def __call__(self, conn, d, n, payload):
        if (conn, d) in self.encrypted:
            return payload
        recs = records(payload)
        for rec in recs:
            if rec[0] == CT_CHANGE_CIPHER_SPEC:
                self.encrypted.add((conn, d))
            if rec[0] != CT_HANDSHAKE or (conn, d) in self.encrypted:
                continue
            msgs = hs_messages(rec[2])
            for m in msgs:
                if m[0] in (HS_CLIENT_HELLO, HS_SERVER_HELLO):
                    h = Hello(m[0], m[1])
                    self.on_hello(h)
                    m[1] = h.build()
            rec[2] = join_hs(msgs)
        return join_records(recs)


def find_hello(stream, kind):
    """First hello of the given kind in a direction's byte stream (whole-stream parse)."""
    off = 0
    while off + 5 <= len(stream):
        ctype, _, ln = struct.unpack("!BHH", stream[off:off + 5])
        if ctype == CT_HANDSHAKE and off + 9 <= len(stream) and stream[off + 5] == kind:
            hl = int.from_bytes(stream[off + 6:off + 9], "big")
            return Hello(kind, stream[off + 9:off + 9 + hl])
        off += 5 + ln
    raise SystemExit(f"no handshake message {kind} found")


def first_certificate(stream):
    """DER of the first certificate of the first Certificate message in a server stream."""
    hs = b""
    off = 0
    while off + 5 <= len(stream):
        ctype, _, ln = struct.unpack("!BHH", stream[off:off + 5])
        if ctype == CT_HANDSHAKE:
            hs += stream[off + 5:off + 5 + ln]
        off += 5 + ln
    off = 0
    while off + 4 <= len(hs):
        t = hs[off]
        ln = int.from_bytes(hs[off + 1:off + 4], "big")
        if t == HS_CERTIFICATE:
            body = hs[off + 4:off + 4 + ln]
            first = int.from_bytes(body[3:6], "big")
            return body[6:6 + first]
        off += 4 + ln
    raise SystemExit("no Certificate message in server stream")


def set_record_versions(payload, old, new):
    recs = records(payload)
    for rec in recs:
        if rec[1] == old:
            rec[1] = new
    return join_records(recs)


# --- SSL 2.0 messages (draft-hickman-netscape-ssl-00; RFC 5246 appendix E.2) ------------------

SSL2_MT_CLIENT_HELLO, SSL2_MT_CLIENT_MASTER_KEY, SSL2_MT_SERVER_HELLO = 1, 2, 4
SSL2_CT_X509_CERTIFICATE = 1
# Fixed challenge / connection-id bytes: synthetic captures must be byte-stable across runs.
FIXED_CHALLENGE = bytes(range(0x10, 0x20))
FIXED_CONN_ID = bytes(range(0x20, 0x30))
FIXED_MASTER_KEY = bytes(range(0x80, 0x100))
SSL2_KINDS = [0x010080,  # SSL_CK_RC4_128_WITH_MD5
              0x0700C0,  # SSL_CK_DES_192_EDE3_CBC_WITH_MD5
              0x030080,  # SSL_CK_RC2_128_CBC_WITH_MD5
              0x060040,  # SSL_CK_DES_64_CBC_WITH_MD5
              0x020080,  # SSL_CK_RC4_128_EXPORT40_WITH_MD5
              0x040080]  # SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5


def ssl2_record(body):
    """Two-byte SSLv2 record header (no padding): MSB set, 15-bit length."""
    if len(body) > 0x7FFF:
        raise SystemExit("SSLv2 record too long")
    return struct.pack("!H", 0x8000 | len(body)) + body


def ssl2_client_hello(version, specs, challenge):
    cs = b"".join(s.to_bytes(3, "big") for s in specs)
    return ssl2_record(struct.pack("!BHHHH", SSL2_MT_CLIENT_HELLO, version, len(cs), 0,
                                   len(challenge)) + cs + challenge)


def ssl2_server_hello(cert, specs, conn_id):
    cs = b"".join(s.to_bytes(3, "big") for s in specs)
    return ssl2_record(struct.pack("!BBBHHHH", SSL2_MT_SERVER_HELLO, 0, SSL2_CT_X509_CERTIFICATE,
                                   0x0002, len(cert), len(cs), len(conn_id))
                       + cert + cs + conn_id)


# --- cases ----------------------------------------------------------------------------------

def ssl2_client_master_key(kind, clear_key, enc_key, key_arg):
    """CLIENT-MASTER-KEY: the client's choice of cipher kind, then the key material."""
    return ssl2_record(struct.pack("!BBHHHH", SSL2_MT_CLIENT_MASTER_KEY, kind >> 16,
                                   kind & 0xFFFF, len(clear_key), len(enc_key), len(key_arg))
                       + clear_key + enc_key + key_arg)


def case_sslv2_hello(pcap):
    """SSL 2.0 CLIENT-HELLO (version 0x0002) answered by an SSL 2.0 SERVER-HELLO, then the
    client's CLIENT-MASTER-KEY choosing SSL_CK_RC4_128_WITH_MD5 (fixed 128-byte 'encrypted'
    key, no key argument); the rest of the connection's data is dropped (TCP handshake and
    FIN exchange kept)."""
    streams = tcp_streams(pcap)
    cert = first_certificate(streams[0][1])

    def edit(conn, d, n, payload):
        if conn != 0 or n > 1 or (d == 1 and n == 1):
            return b""
        if d == 0 and n == 1:
            return ssl2_client_master_key(SSL2_KINDS[0], b"", FIXED_MASTER_KEY, b"")
        if d == 0:
            return ssl2_client_hello(0x0002, SSL2_KINDS, FIXED_CHALLENGE)
        return ssl2_server_hello(cert, SSL2_KINDS[:2], FIXED_CONN_ID)
    return rewrite(pcap, edit)


# The DROWN pair (tls/trust-drown-*): the SSLv2 server listens on another port of the same
# address as the TLS server whose key it shares.
DROWN_SSLV2_PORT = 10443
# RSA-2048 ("encrypted" key = modulus size): a fixed stand-in for the PKCS#1 v1.5 ciphertext.
FIXED_EXPORT_ENC_KEY = bytes((0x40 + i) & 0xFF for i in range(256))
FIXED_EXPORT_CLEAR_KEY = bytes(range(0x30, 0x3B))  # 11 clear bytes of a 16-byte export key


def move_server_port(packets, new_port):
    """Change the server port (the destination of the first SYN) of every packet to new_port
    (TCP checksums recomputed by Seg.build)."""
    old = None
    out = []
    for ts_sec, ts_frac, data in packets:
        s = Seg(data)
        if old is None:
            if not (s.flags & SYN and not s.flags & ACK):
                raise SystemExit("capture does not start with a SYN")
            old = s.dport
        if s.dport == old:
            struct.pack_into("!H", s.tcphdr, 2, new_port)
        elif s.sport == old:
            struct.pack_into("!H", s.tcphdr, 0, new_port)
        out.append([ts_sec, ts_frac, s.build()])
    return out


def case_sslv2_drown(pcap):
    """DROWN: an SSL 2.0 server holding the same RSA key as the TLS server of the source. The
    source's connection is rewritten as in case sslv2-hello (its own certificate in the SSLv2
    SERVER-HELLO), but the SERVER-HELLO offers all six SSLv2 cipher kinds including the two
    40-bit export ones, the CLIENT-MASTER-KEY chooses SSL_CK_RC4_128_EXPORT40_WITH_MD5 (11 clear
    key bytes, a fixed 256-byte 'encrypted' key: the probe of the general DROWN attack), and the
    server port is moved to DROWN_SSLV2_PORT (another service of the same host)."""
    streams = tcp_streams(pcap)
    cert = first_certificate(streams[0][1])

    def edit(conn, d, n, payload):
        if conn != 0 or n > 1 or (d == 1 and n == 1):
            return b""
        if d == 0 and n == 1:
            return ssl2_client_master_key(SSL2_KINDS[4], FIXED_EXPORT_CLEAR_KEY,
                                          FIXED_EXPORT_ENC_KEY, b"")
        if d == 0:
            return ssl2_client_hello(0x0002, SSL2_KINDS, FIXED_CHALLENGE)
        return ssl2_server_hello(cert, SSL2_KINDS, FIXED_CONN_ID)
    return move_server_port(rewrite(pcap, edit), DROWN_SSLV2_PORT)


def case_sslv2_compat_hello(pcap):
    """SSLv2-format ClientHello announcing TLS 1.0 (version 0x0301, RFC 5246 E.2) carrying the
    real client's TLS cipher suites as 3-byte specs; the real TLS 1.0 server answer is kept."""
    streams = tcp_streams(pcap)
    ch = find_hello(streams[0][0], HS_CLIENT_HELLO)

    def edit(conn, d, n, payload):
        if conn == 0 and d == 0 and n == 0:
            return ssl2_client_hello(ch.version, ch.suites, ch.random[16:])
        return payload
    return rewrite(pcap, edit)


def case_sslv3(pcap):
    """TLS 1.0 handshake with every version field (records, ClientHello, ServerHello) 0x0300."""
    def hello(h):
        if h.version != 0x0301:
            raise SystemExit("source is not a TLS 1.0 handshake")
        h.version = 0x0300

    hellos = HelloEditor(hello)

    def edit(conn, d, n, payload):
        return set_record_versions(hellos(conn, d, n, payload), 0x0301, 0x0300)
    return rewrite(pcap, edit)


def case_null_not_offered(pcap):
    """ServerHello cipher suite replaced by TLS_RSA_WITH_NULL_SHA (0x0002), which the client
    did not offer; the client's next flight is replaced by the fatal illegal_parameter (47)
    alert an OpenSSL client sends for a suite it did not offer, and all later data is removed
    (otherwise encrypted records would read as NULL-cipher plaintext)."""
    streams = tcp_streams(pcap)
    if 0x0002 in find_hello(streams[0][0], HS_CLIENT_HELLO).suites:
        raise SystemExit("source client offered 0x0002")

    def hello(h):
        if h.kind == HS_SERVER_HELLO:
            h.suites = [0x0002]
    hellos = HelloEditor(hello)

    def edit(conn, d, n, payload):
        if conn != 0 or n > 1:
            return b""
        if n == 0:
            return hellos(conn, d, n, payload)
        if d == 0:
            ver = records(payload)[0][1]
            return join_records([[CT_ALERT, ver, bytes([2, 47])]])
        return b""
    return rewrite(pcap, edit)


def case_export(pcap):
    """TLS_RSA_EXPORT_WITH_RC4_40_MD5 (0x0003) put first in the ClientHello list and chosen by
    the ServerHello."""
    def hello(h):
        if h.kind == HS_CLIENT_HELLO:
            h.suites = [0x0003] + [s for s in h.suites if s != 0x0003]
        else:
            h.suites = [0x0003]
    return rewrite(pcap, HelloEditor(hello))


def case_downgrd(pcap):
    """ServerHello negotiating TLS 1.2 gets the RFC 8446 DOWNGRD\\x01 sentinel in the last 8
    bytes of its random, while the ClientHello offered TLS 1.3."""
    streams = tcp_streams(pcap)
    if 0x0304 not in find_hello(streams[0][0], HS_CLIENT_HELLO).supported_versions():
        raise SystemExit("source client did not offer TLS 1.3")

    def hello(h):
        if h.kind == HS_SERVER_HELLO:
            if h.version != 0x0303 or h.supported_versions():
                raise SystemExit("source server did not negotiate TLS 1.2")
            if h.random[24:] == DOWNGRD_TLS12:
                raise SystemExit("source already carries the sentinel")
            h.random = h.random[:24] + DOWNGRD_TLS12
    return rewrite(pcap, HelloEditor(hello))


def case_version_mismatch(pcap):
    """Client offers only TLS 1.3/1.2 (supported_versions); ServerHello rewritten to TLS 1.0,
    and every 0x0303 record version in both directions to 0x0301."""
    streams = tcp_streams(pcap)
    offered = find_hello(streams[0][0], HS_CLIENT_HELLO).supported_versions()
    if not offered or not set(offered) <= {0x0303, 0x0304}:
        raise SystemExit(f"source client offers {offered}, want only 1.2/1.3")

    def hello(h):
        if h.kind == HS_SERVER_HELLO:
            h.version = 0x0301

    hellos = HelloEditor(hello)

    def edit(conn, d, n, payload):
        return set_record_versions(hellos(conn, d, n, payload), 0x0303, 0x0301)
    return rewrite(pcap, edit)


def case_compression(pcap):
    """ClientHello compression methods [0] -> [1 (DEFLATE), 0] and ServerHello picks 1."""
    def hello(h):
        if h.kind == HS_CLIENT_HELLO:
            h.comp = [1] + [m for m in h.comp if m != 1]
        else:
            h.comp = [1]
    return rewrite(pcap, HelloEditor(hello))


# --- heartbeats (RFC 6520 section 4; CVE-2014-0160) -------------------------------------------

CT_HEARTBEAT = 24
HB_REQUEST, HB_RESPONSE = 1, 2
HB_PADDING = bytes([0x50]) * 16  # the minimum padding, as OpenSSL sends it
# The "leaked memory" of the synthetic response: a fixed, recognisable pattern.
HB_LEAK = (b"netzwacht-synthetic-heartbleed-memory-" * 432)[:0x4000]


def hb_message(kind, payload_length, payload):
    return struct.pack("!BH", kind, payload_length) + payload + HB_PADDING


def hb_records(ver, msg):
    """A heartbeat message in records of at most 2^14 bytes (RFC 5246 section 6.2.1), as
    OpenSSL's ssl3_write_bytes fragments it."""
    return [[CT_HEARTBEAT, ver, msg[i:i + 16384]] for i in range(0, len(msg), 16384)]


def hb_insert(pcap, request, response):
    """Before the client's first record after its ClientHello (its key exchange) insert the
    clear heartbeat request; before the server's ChangeCipherSpec its clear response."""
    streams = tcp_streams(pcap)
    if not find_hello(streams[0][0], HS_CLIENT_HELLO):
        raise SystemExit("source has no ClientHello")
    done = set()

    def edit(conn, d, n, payload):
        if conn != 0 or d in done or not payload:
            return payload
        recs = records(payload)
        if d == 0 and n >= 1:
            done.add(d)
            return join_records(hb_records(recs[0][1], request) + recs)
        if d == 1:
            for i, rec in enumerate(recs):
                if rec[0] == CT_CHANGE_CIPHER_SPEC:
                    done.add(d)
                    return join_records(recs[:i] + hb_records(rec[1], response) + recs[i:])
        return payload
    out = rewrite(pcap, edit)
    if done != {0, 1}:
        raise SystemExit("source: no client key exchange or no server ChangeCipherSpec")
    return out


def case_heartbleed(pcap):
    """Heartbleed in clear (the ssltest.py probe): after ServerHelloDone the client sends a
    heartbeat request declaring 16384 payload bytes in a 3-byte record (no payload, no
    padding); before its ChangeCipherSpec the server answers in clear with 16384 bytes of
    'memory' plus 16 padding, in two records (16384 + 19 bytes). The real encrypted
    heartbeat exchange later in the connection is kept."""
    return hb_insert(pcap, struct.pack("!BH", HB_REQUEST, 0x4000),
                     hb_message(HB_RESPONSE, 0x4000, HB_LEAK))


def case_heartbeat_clear(pcap):
    """A normal heartbeat exchange in clear at the same places as case heartbleed: request and
    response with the same 16-byte payload and 16 bytes of padding."""
    payload = b"netzwacht-hb-16b"
    return hb_insert(pcap, hb_message(HB_REQUEST, len(payload), payload),
                     hb_message(HB_RESPONSE, len(payload), payload))


def case_heartbleed_encrypted(pcap):
    """Reverse Heartbleed, encrypted: in the source the server pings the client (an encrypted
    heartbeat request after the client's line) and the client answers with a record of the
    same length; the client's answer is lengthened to 16384 bytes (its ciphertext followed by a
    fixed filler), as a leaking peer's 16 KiB response looks on the wire. The server's request
    record is unchanged."""
    done = []

    def edit(conn, d, n, payload):
        if conn != 0 or d != 0 or done or not payload:
            return payload
        recs = records(payload)
        for rec in recs:
            if rec[0] == CT_HEARTBEAT:
                rec[2] = rec[2] + HB_LEAK[:16384 - len(rec[2])]
                done.append(n)
                return join_records(recs)
        return payload
    out = rewrite(pcap, edit)
    if not done:
        raise SystemExit("source: no heartbeat record from the client")
    return out


CASES = {
    "sslv2-hello": case_sslv2_hello,
    "sslv2-compat-hello": case_sslv2_compat_hello,
    "sslv2-drown": case_sslv2_drown,
    "sslv3": case_sslv3,
    "null-not-offered": case_null_not_offered,
    "export": case_export,
    "downgrd": case_downgrd,
    "version-mismatch": case_version_mismatch,
    "compression": case_compression,
    "heartbleed": case_heartbleed,
    "heartbeat-clear": case_heartbeat_clear,
    "heartbleed-encrypted": case_heartbleed_encrypted,
}


# --- expectations ---------------------------------------------------------------------------

FIELDS = ["frame.number", "tcp.stream", "tls.record.content_type", "tls.handshake.type",
          "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str",
          "tls.handshake.version", "tls.handshake.extensions.supported_version",
          "tls.handshake.ciphersuite", "tls.handshake.cipherspec", "tls.handshake.comp_method",
          "tls.handshake.p_len", "tls.handshake.random", "tls.handshake.session_id",
          "tls.handshake.extension.type",
          "tls.handshake.ja3", "tls.handshake.ja3s", "tls.handshake.ja3_full",
          "tls.handshake.ja3s_full", "tls.alert_message.level", "tls.alert_message.desc",
          "tls.handshake.certificate_length", "x509ce.dNSName"]
COLUMNS = ["stream", "sni", "alpn", "ch_version", "ch_supported_versions", "version",
           "ciphersuite", "compression", "dh_p_len", "resumed", "downgrade", "alerts",
           "certs", "san", "ja3", "ja3s", "ja3_full", "ja3s_full"]
SENTINELS = ("444f574e47524401", "444f574e47524400")
EXT_PRE_SHARED_KEY = "41"


def server_ports(path):
    """Destination ports of the SYNs: the ports tshark must decode as TLS."""
    out = subprocess.run(["tshark", "-r", path, "-n", "-Y",
                          "tcp.flags.syn == 1 && tcp.flags.ack == 0",
                          "-T", "fields", "-e", "tcp.dstport"],
                         check=True, capture_output=True, text=True).stdout
    return sorted({int(p) for p in out.split()})


def hexnorm(v):
    """tshark byte fields as plain lowercase hex."""
    return re.sub(r"[^0-9a-f]", "", v.lower())


def tshark_base(path):
    cmd = ["tshark", "-r", path, "-n"]
    for p in server_ports(path):
        cmd += ["-d", f"tcp.port=={p},tls"]
    return cmd


# Expert errors that are the point of a capture, not a fault of its making: a Heartbleed request
# (and the leaking answer) declare a heartbeat payload longer than the record (RFC 6520 section 4).
EXPECTED_ERRORS = re.compile(r"^Invalid heartbeat payload length \(\d+\)$")
EXPERT_ERROR = "8388608"  # PI_ERROR as tshark prints _ws.expert.severity


def malformed(path):
    """Frame numbers tshark reports as malformed or with expert errors, except frames whose
    every expert error is one of EXPECTED_ERRORS."""
    cmd = tshark_base(path) + ["-Y", "_ws.malformed || _ws.expert.severity == error",
                               "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
                               "-E", "aggregator=\x1f", "-e", "frame.number",
                               "-e", "_ws.expert.severity", "-e", "_ws.expert.message"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    bad = []
    for line in out.splitlines():
        num, sevs, msgs = (line.split("\t") + ["", ""])[:3]
        errors = [m for sv, m in zip(sevs.split("\x1f"), msgs.split("\x1f")) if sv == EXPERT_ERROR]
        if not errors or not all(EXPECTED_ERRORS.match(m) for m in errors):
            bad.append(num)
    return bad


def tshark_frames(path):
    cmd = tshark_base(path)
    cmd += ["-Y", "tls.handshake.type || tls.alert_message.desc",
            "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=;"]
    for f in FIELDS:
        cmd += ["-e", f]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    for line in res.stdout.splitlines():
        yield {f: (x.split(";") if x else []) for f, x in zip(FIELDS, line.split("\t"))}


def new_row(stream):
    r = {c: "-" for c in COLUMNS}
    r["stream"] = stream
    r["alerts"] = []
    return r


def expect(path, out_path):
    """Write one row per handshake: a ClientHello (or SSLv2 CLIENT-HELLO) paired in order with
    the stream's ServerHellos (or SSLv2 SERVER-HELLO); cleartext alerts are appended to the
    stream's latest row; certs/san describe the server's cleartext Certificate message (number
    of certificates, DNS SANs of all of them). Columns: see COLUMNS; '-' when absent.
    Nothing depends on randoms or on the time of generation:
    the random only gives the downgrade sentinel, the session ids only the resumed flag.
    Fails if tshark finds a malformed frame."""
    bad = malformed(path)
    if bad:
        raise SystemExit(f"{path}: tshark reports malformed frames {' '.join(bad)}")
    rows = []
    sids = {}
    for v in tshark_frames(path):
        stream = int(v["tcp.stream"][0])
        types = v["tls.handshake.type"]
        ssl2 = bool(v["tls.handshake.cipherspec"])
        mine = [r for r in rows if r["stream"] == stream]
        if "1" in types:
            r = new_row(stream)
            r["sni"] = ",".join(v["tls.handshake.extensions_server_name"]) or "-"
            r["alpn"] = ",".join(v["tls.handshake.extensions_alpn_str"]) or "-"
            r["ch_version"] = v["tls.handshake.version"][0] if v["tls.handshake.version"] else "-"
            r["ch_supported_versions"] = ",".join(v["tls.handshake.extensions.supported_version"]) or "-"
            r["ja3"] = ",".join(v["tls.handshake.ja3"]) or "-"
            r["ja3_full"] = ",".join(v["tls.handshake.ja3_full"]) or "-"
            sid = v["tls.handshake.session_id"]
            sids[id(r)] = hexnorm(sid[0]) if sid else ""
            rows.append(r)
            mine.append(r)
        # (SSLv2 message type 2 is CLIENT-MASTER-KEY, not a server hello)
        if (not ssl2 and "2" in types) or (ssl2 and "4" in types):
            r = next((x for x in mine if x["version"] == "-"), None)
            if r is None:
                r = new_row(stream)
                rows.append(r)
                mine.append(r)
            sv = v["tls.handshake.extensions.supported_version"]
            ver = v["tls.handshake.version"]
            r["version"] = sv[0] if sv else (ver[0] if ver else "-")
            if ssl2:
                r["ciphersuite"] = ",".join(v["tls.handshake.cipherspec"])
            elif v["tls.handshake.ciphersuite"]:
                r["ciphersuite"] = v["tls.handshake.ciphersuite"][0]
            r["compression"] = ",".join(v["tls.handshake.comp_method"]) or "-"
            r["ja3s"] = ",".join(v["tls.handshake.ja3s"]) or "-"
            r["ja3s_full"] = ",".join(v["tls.handshake.ja3s_full"]) or "-"
            rnd = hexnorm(v["tls.handshake.random"][0]) if v["tls.handshake.random"] else ""
            if rnd[-16:] in SENTINELS:
                r["downgrade"] = ":".join(rnd[i:i + 2] for i in range(48, 64, 2))
            if r["version"] == "0x0304":
                r["resumed"] = "y" if EXT_PRE_SHARED_KEY in v["tls.handshake.extension.type"] else "n"
            elif not ssl2:
                sid = v["tls.handshake.session_id"]
                sid = hexnorm(sid[0]) if sid else ""
                r["resumed"] = "y" if sid and sid == sids.get(id(r)) else "n"
        if "11" in types and mine and mine[-1]["certs"] == "-":
            # The server's Certificate (no client certificates in these captures); tshark
            # reports it in the frame that completes its reassembly.
            mine[-1]["certs"] = str(len(v["tls.handshake.certificate_length"]))
            mine[-1]["san"] = ",".join(v["x509ce.dNSName"]) or "-"
        if v["tls.handshake.p_len"] and mine:
            mine[-1]["dh_p_len"] = v["tls.handshake.p_len"][0]
        if v["tls.alert_message.desc"]:
            if not mine:
                r = new_row(stream)
                rows.append(r)
                mine.append(r)
            for lv, ds in zip(v["tls.alert_message.level"], v["tls.alert_message.desc"]):
                mine[-1]["alerts"].append(f"{lv}/{ds}")
    rows.sort(key=lambda r: r["stream"])
    with open(out_path, "w") as f:
        f.write("#" + "\t".join(COLUMNS) + "\n")
        for r in rows:
            r["alerts"] = ",".join(r["alerts"]) or "-"
            f.write("\t".join(str(r[c]) for c in COLUMNS) + "\n")


def read_tsv(path):
    with open(path) as f:
        lines = f.read().splitlines()
    cols = lines[0].lstrip("#").split("\t")
    return [dict(zip(cols, ln.split("\t"))) for ln in lines[1:]]


def check(path, row, conds):
    """Exit status 0 if row ROW (1-based, or * for any) satisfies every COL=VALUE."""
    rows = read_tsv(path)
    pairs = [c.split("=", 1) for c in conds]
    cand = rows if row == "*" else rows[int(row) - 1:int(row)]
    for r in cand:
        if all(r.get(k) == val for k, val in pairs):
            return 0
    sys.stderr.write(f"{path}: no row {row} with {' '.join(conds)}; rows:\n")
    for r in rows:
        sys.stderr.write("  " + " ".join(f"{k}={r[k]}" for k in COLUMNS[:12]) + "\n")
    return 1


def check_no_reneg(path):
    """Exit status 0 if no ClientHello carries 0xff01 or offers 0x00ff (from ja3_full)."""
    for r in read_tsv(path):
        parts = r["ja3_full"].split(",")
        if len(parts) < 3 or "255" in parts[1].split("-") or "65281" in parts[2].split("-"):
            sys.stderr.write(f"{path}: ClientHello signals renegotiation_info: {r['ja3_full']}\n")
            return 1
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == "cases":
        for name, fn in CASES.items():
            print(f"{name}\t{' '.join(fn.__doc__.split())}")
        return 0
    if len(argv) == 4 and argv[1] == "expect":
        expect(argv[2], argv[3])
        return 0
    if len(argv) >= 4 and argv[1] == "check":
        return check(argv[2], argv[3], argv[4:])
    if len(argv) == 3 and argv[1] == "check-no-reneg":
        return check_no_reneg(argv[2])
    if len(argv) == 4 and argv[1] in CASES:
        pcap = Pcap(argv[2])
        pcap.write(argv[3], CASES[argv[1]](pcap))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
