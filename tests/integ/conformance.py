#!/usr/bin/env python3
"""TLS conformance against other analyzers' recorded results (../shared/corpus).

The corpus (see its README.md) holds real captures from the regression suites of nDPI, Zeek
and suricata-verify, each with that analyzer's own expected output. For every capture whose
expectation carries TLS facts, this test runs `netzwacht analyze` into a fresh database,
reads tls_sessions joined with flows, and compares per session:

    version, cipher, sni, ja3, ja3s, ja4

with the peer's record, plus the presence of our tls.obsolete_version / tls.weak_cipher
findings where the peer flags an obsolete version or a weak cipher (nDPI risks "Obsolete
TLS" / "Weak TLS Cipher", Zeek notices SSL::Old_Version / SSL::Weak_Cipher).

How peer records are matched to our sessions:
  nDPI       flow lines `TCP a:p <-> b:p` -> 5-tuple (either orientation; nDPI prints the
             first packet's sender first, which is the server in one-sided captures).
  Zeek       ssl.log id.orig_h/p id.resp_h/p -> 5-tuple. Several blocks of one capture
             (ssl.log, ssl-all.log of different tests) describe the same sessions: merged by
             tuple and order. In a MULTI-TRACE baseline the records of the other traces are
             recognised because their tuple is not a flow of this capture, and skipped.
  suricata   a check's src_ip/dest_ip when present (5-tuple); else its tls.sni (the sessions
             with that SNI); else "the only TLS session" when there is exactly one. A check
             with `count: N` passes a field when at least N of the candidate sessions carry
             the value. Negative checks (count: 0) are not compared. Identical checks of
             several test.yaml files that replay the same capture are compared once.

When our session has no ServerHello, nDPI and Suricata report the ClientHello's version
(suricata-verify bug-5713-01: "logging of TLS version when only a client hello was seen"):
that is compared with our client_version. nDPI's Hostname/SNI is compared only on flows with
TLS facts; "Missing SNI TLS Extn" (or a JA4 'i') means it saw no SNI.

Version names are normalised to ours ("TLSv1.0".."TLSv1.3", "SSLv2", "SSLv3", and
"TLSv1.3-draftNN" for the draft code points 0x7fNN): Zeek "TLSv12"/"TLSv13-draft23",
nDPI "TLSv1", suricata "TLS 1.2"/"TLSv1"/"TLS 1.3 draft-28".

Each compared field of each session is one check, except the disagreements listed in
EXPLAINED below: those were investigated and the peer is wrong or not comparable; they are
printed and counted as "explained", not failed. Every disagreement (failed or explained) is
written with its evidence to <tmp>/conformance-disagreements.log and printed.

Also printed, not failed: flows where we report tls.weak_cipher / tls.obsolete_version and
nDPI raises no such risk (we grade CBC suites and RC4 on every version by design, tls_rules.c).

When the corpus is absent (a user's clone has none) the test skips with one SKIP line.
"""
import ipaddress
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import nzt  # noqa: E402

FIELDS = ("version", "cipher", "sni", "ja3", "ja3s", "ja4")
VERDICTS = ("obsolete", "weak_cipher", "heartbleed_attempt", "heartbleed_leak")
# verdict name -> our finding kind
VERDICT_KIND = {"obsolete": "tls.obsolete_version", "weak_cipher": "tls.weak_cipher",
                "heartbleed_attempt": "tls.heartbleed_attempt",
                "heartbleed_leak": "tls.heartbleed_leak"}
# Zeek notices we compare -> verdict name (Heartbleed::SSL_Heartbeat_Attack fires on a request
# whose payload_length exceeds the record minus 19 bytes, _Success on any response after it:
# the same tests as tls_rules.c's heartbleed rules)
ZEEK_NOTICES = {"SSL::Weak_Cipher": "weak_cipher", "SSL::Old_Version": "obsolete",
                "Heartbleed::SSL_Heartbeat_Attack": "heartbleed_attempt",
                "Heartbleed::SSL_Heartbeat_Attack_Success": "heartbleed_leak"}
SOURCES = ("ndpi", "zeek", "suricata")

# Investigated disagreements: (capture relative to pcaps/, field, tuple-or-sni, reason
# [, our value]). The tuple is "client_ip:port <-> server_ip:port" in our orientation (IPv6
# as [addr]:port; for "session" rows the peer's), "sni=<name>" / "only" for suricata checks
# without a tuple, or "*" for every record of the capture. field is one of FIELDS, one of
# VERDICTS, or "session" (the peer has a TLS record on a flow where we have none). The
# optional fifth element is what we output when the row was checked (JA4, version, SNI, or
# for a verdict the finding we report instead); the row applies only while we still output
# it. Each reason was checked against the capture with tshark 4.0 and, where it names a
# peer's code, against that code.
_ALPN_FIRST2 = ("nDPI (3b1286a) prints the first two characters of the first ALPN value; "
                "JA4.md 'ALPN Extension Value' takes the first and last ('http/1.1' -> 'h1'); "
                "tshark: first ALPN value http/1.1")
_NO_SNI_EXT = ("tshark shows no server_name (0) extension in this ClientHello, so JA4.md 'SNI' "
               "gives 'i'; nDPI's 'd' comes from its own flow host-name state, not the extension")
_GTP = ("the flow is GTP-U tunnelled (UDP 2152); capture/decode.c does not decapsulate tunnels "
        "by design (file header: 'PPPoE, MPLS and tunnels' ignored), so there is no TCP flow")
_NOFS = ("nDPI's 'Weak TLS Cipher' covers every suite without forward secrecy (corpus README); "
         "static-RSA AEAD is LOW 'no-PFS' for us (doc/REFERENCE.md 3b; testssl OK/INFO), reported "
         "as tls.no_forward_secrecy, not tls.weak_cipher")
_UPGRADE = ("in-band upgrade of a protocol netzwacht does not dissect ({}); no dissector is "
            "attached to the plaintext part, so the TLS that follows is not seen (mail STARTTLS "
            "is SMTP/IMAP/POP3 only)")
_T_KAKAO = "10.24.82.188:{} <-> {}"

EXPLAINED = [
    # --- nDPI ---
    ("ndpi/tls_invalid_reads.pcap", "session", "10.191.139.17:58552 <-> 54.221.224.45:443",
     _GTP + "; tshark also marks the ClientHello [Malformed Packet] (fuzzed capture)"),
    ("ndpi/ja3_lots_of_cipher_suites_2_anon.pcap", "session",
     "192.168.147.177:58496 <-> 151.121.193.160:443", _GTP),
    ("ndpi/ja3_lots_of_cipher_suites_2_anon.pcap", "weak_cipher",
     "192.168.147.177:58496 <-> 151.121.193.160:443", _GTP),
    ("ndpi/rdp_over_tls.pcap", "session", "91.238.181.21:35888 <-> 89.31.79.12:3389",
     _UPGRADE.format("RDP: X.224 connection request/confirm, then TLS")),
    ("ndpi/ftp-start-tls.pcap", "session", "10.238.26.36:62092 <-> 10.220.50.76:21",
     _UPGRADE.format("FTP AUTH TLS")),
    ("ndpi/ftp-start-tls.pcap", "weak_cipher", "10.238.26.36:62092 <-> 10.220.50.76:21",
     _UPGRADE.format("FTP AUTH TLS")),
    ("ndpi/ssl-cert-name-mismatch.pcap", "ja4", "192.168.2.222:54772 <-> 104.154.89.105:443",
     _ALPN_FIRST2, "t12d3810h1_845d1e55a368_7448b1316cd7"),
    ("ndpi/tls_1.3_unidirectional_client.pcapng", "ja4",
     "192.168.12.156:39750 <-> 142.250.184.68:443", _ALPN_FIRST2,
     "t13d1713h1_5b57614c22b0_352634941f3a"),
    ("ndpi/tls_2_reasms_b.pcapng", "ja4", "196.234.165.216:37658 <-> 88.14.137.195:443",
     _ALPN_FIRST2, "t00d0309h1_55b375c5d22e_566d5108064c"),
    ("ndpi/http_ipv6.pcap", "ja4", "*", _ALPN_FIRST2 + " (all six flows)",
     "t12d1612h1_94fc43e2fc61_c9eaec7dbab4"),
    ("ndpi/tls_client_certificate_with_missing_server_one.pcapng", "ja4",
     "192.168.1.128:48260 <-> 195.181.174.176:443",
     _NO_SNI_EXT + "; and the ALPN part: first value 'anydesk/6.2.0/linux' -> 'ax' (first and "
     "last), nDPI 'an' (first two)", "t12i6406ax_9197985d2161_a1e935682795"),
    ("ndpi/tls_client_certificate_with_missing_server_one.pcapng", "ja4",
     "192.168.1.128:59754 <-> 192.168.1.181:7070", _NO_SNI_EXT,
     "t12i640500_9197985d2161_a1e935682795"),
    ("ndpi/tls_port_80.pcapng", "ja4", "57.91.202.194:50541 <-> 132.49.141.56:80",
     _NO_SNI_EXT + " (tshark -d tcp.port==80,tls: extensions 11,10,35,13,15; nDPI itself "
     "flags 'Missing SNI TLS Extn')", "t12i550500_168bb377f8c8_a1e935682795"),
    ("ndpi/tls_with_huge_ch.pcapng", "ja4", "172.30.84.193:40640 <-> 208.253.217.142:443",
     _NO_SNI_EXT + " (nDPI itself flags 'Missing SNI TLS Extn')",
     "t13i1811h2_f71e3e15ae0d_5c3a8cf9b2bc"),
    ("ndpi/tls_with_huge_ch.pcapng", "version", "172.30.84.193:40640 <-> 208.253.217.142:443",
     "the ServerHello (tshark frame 33) selects supported_versions 0x0304 = TLS 1.3; nDPI "
     "printed no Cipher/JA3S for this flow (it did not parse the ServerHello after the 100 KB "
     "ClientHello) and reports the ClientHello's legacy_version", "TLSv1.3"),
    ("ndpi/KakaoTalk_chat.pcap", "ja4", _T_KAKAO.format(35503, "173.252.97.2:443"),
     _NO_SNI_EXT, "t10i350200_1f24bcc5f17d_33a13ba74d1c"),
    ("ndpi/KakaoTalk_chat.pcap", "ja4", _T_KAKAO.format(35511, "173.252.97.2:443"),
     _NO_SNI_EXT, "t10i350200_1f24bcc5f17d_33a13ba74d1c"),
    ("ndpi/KakaoTalk_chat.pcap", "ja4", _T_KAKAO.format(45213, "31.13.68.84:443"),
     _NO_SNI_EXT, "t10i350200_1f24bcc5f17d_33a13ba74d1c"),
    ("ndpi/KakaoTalk_chat.pcap", "ja4", _T_KAKAO.format(37821, "210.103.240.15:443"),
     _NO_SNI_EXT, "t10i350200_1f24bcc5f17d_33a13ba74d1c"),
    ("ndpi/KakaoTalk_chat.pcap", "ja4", _T_KAKAO.format(58964, "54.255.253.199:5223"),
     "the ClientHello has no extensions at all (tshark): JA4.md 'Extension hash' sets JA4_c to "
     "000000000000 for an empty list; nDPI hashed the empty string (e3b0c44298fc = "
     "SHA-256('')); its 'd' is " + _NO_SNI_EXT[_NO_SNI_EXT.index("nDPI's 'd'") + 11:],
     "t10i150000_e2ff6cb279ee_000000000000"),
    ("ndpi/ocs.pcap", "ja4", "192.168.180.2:47803 <-> 64.233.166.95:443", _NO_SNI_EXT,
     "t10i350200_1f24bcc5f17d_33a13ba74d1c"),
    ("ndpi/ocs.pcap", "ja4", "192.168.180.2:41223 <-> 216.58.208.46:443", _NO_SNI_EXT,
     "t10i350200_1f24bcc5f17d_33a13ba74d1c"),
    ("ndpi/windscribe.pcapng", "ja4", "192.168.12.156:42192 <-> 107.161.86.132:443",
     _NO_SNI_EXT + " (extensions 16,13,23,10,35,11)", "t12i1806h2_102b67c9f592_d0797edaf0d0"),
    ("ndpi/smtps.pcapng", "ja4", "62.43.36.99:37682 <-> 21.65.95.132:465",
     _NO_SNI_EXT + " (nDPI itself flags 'Missing SNI TLS Extn')",
     "t12i860600_e18388e7f3a3_4446390ac224"),
    ("ndpi/imap-starttls.pcap", "ja4", "192.168.17.53:49640 <-> 212.227.17.186:143",
     _NO_SNI_EXT + " (nDPI itself flags 'Missing SNI TLS Extn')",
     "t12i910500_383454ac02f4_a1e935682795"),
    ("ndpi/smtp-starttls.pcap", "ja4", "10.0.0.1:57406 <-> 173.194.68.26:25",
     _NO_SNI_EXT + " (extensions: 35 only)", "t10i290100_cdba58456bdf_e78b541c01a9"),
    ("ndpi/smtp-starttls.pcap", "sni", "10.0.0.1:57406 <-> 173.194.68.26:25",
     "nDPI's Hostname/SNI here is the SMTP greeting host ('220 mx.google.com ESMTP ...'); the "
     "ClientHello after STARTTLS has no server_name extension (tshark: extension 35 only)", ""),
    ("ndpi/sonos.pcapng", "ja4", "192.168.1.29:52425 <-> 192.168.1.70:1443",
     "the ClientHello carries a server_name extension holding the IP literal '192.168.1.70' "
     "(tshark); JA4.md keys 'd' on the extension's presence, nDPI writes 'i' for a numeric "
     "host name", "t12d130700_88f5d26691c7_cdbdbcd6f742"),
    ("ndpi/zattoo.pcap", "weak_cipher", "10.101.0.2:2930 <-> 10.102.0.2:443", _NOFS,
     "tls.no_forward_secrecy"),
    ("ndpi/windscribe.pcapng", "weak_cipher", "192.168.12.156:42192 <-> 107.161.86.132:443",
     _NOFS, "tls.no_forward_secrecy"),
    ("ndpi/sonos.pcapng", "weak_cipher", "192.168.1.29:52425 <-> 192.168.1.70:1443", _NOFS,
     "tls.no_forward_secrecy"),
    # --- Zeek ---
    ("zeek/tls/xmpp-starttls.pcap", "session", "198.128.203.95:56048 <-> 146.255.57.229:5222",
     _UPGRADE.format("XMPP <starttls/>")),
    ("zeek/tls/irc-starttls.pcap", "session", "203.143.168.47:55123 <-> 185.18.76.170:6667",
     _UPGRADE.format("IRC STARTTLS")),
    ("zeek/ftp/ftp-auth-tls.pcap", "session", "127.0.0.1:40284 <-> 127.0.0.1:21",
     _UPGRADE.format("FTP AUTH TLS")),
    # --- suricata-verify ---
    ("suricata-verify/bug-5713-01/TLSv1-Extracted-MaliciousC2.pcap", "ja4", "only",
     "no signature_algorithms in this TLS 1.0 hello: JA4.md 'Extension hash' says the string "
     "then ends without an underscore (sha256('0005,000a,000b,0017,0023,ff01') = c39ab67fec8e); "
     "Suricata's rust/src/ja4.rs always formats '{exts}_{sigalgs}' (… ff01_ = ce66f3b797c1)",
     "t10i070600_c50f5591e341_c39ab67fec8e"),
    ("suricata-verify/ldap-starttls/input.pcap", "session", "only",
     _UPGRADE.format("LDAP StartTLS extended operation")),
    ("suricata-verify/pgsql/pgsql-upgrade-tls/input.pcap", "session",
     "192.168.50.11:60358 <-> 192.168.50.12:5432", _UPGRADE.format("PostgreSQL SSLRequest")),
]

# ---------------------------------------------------------------------------------------
# Normalisation

def norm_ip(s):
    s = s.strip().strip("[]")
    try:
        return ipaddress.ip_address(s).compressed
    except ValueError:
        return s


def ep_text(ip, port):
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def tuple_text(t):
    return f"{ep_text(t[0], t[1])} <-> {ep_text(t[2], t[3])}"


def tuple_key(t):
    """Orientation-free key of (ip_a, port_a, ip_b, port_b)."""
    return frozenset([(t[0], int(t[1])), (t[2], int(t[3]))])


_VER_PLAIN = {
    "TLSV10": "TLSv1.0", "TLSV1": "TLSv1.0", "TLSV1.0": "TLSv1.0", "TLS1.0": "TLSv1.0",
    "TLSV11": "TLSv1.1", "TLSV1.1": "TLSv1.1", "TLS1.1": "TLSv1.1",
    "TLSV12": "TLSv1.2", "TLSV1.2": "TLSv1.2", "TLS1.2": "TLSv1.2",
    "TLSV13": "TLSv1.3", "TLSV1.3": "TLSv1.3", "TLS1.3": "TLSv1.3",
    "SSLV2": "SSLv2", "SSLV2.0": "SSLv2", "SSL2.0": "SSLv2",
    "SSLV3": "SSLv3", "SSLV3.0": "SSLv3", "SSL3.0": "SSLv3",
}


def norm_version(v):
    """Peer version text -> our naming; None for unset."""
    if v is None:
        return None
    v = v.strip()
    if v in ("", "-", "(empty)"):
        return None
    s = v.upper().replace(" ", "")
    m = re.match(r"^(TLSV?1\.?3)-?DRAFT-?(\d+)$", s)
    if m:
        return f"TLSv1.3-draft{int(m.group(2))}"
    if s == "TLSV1.3(FIZZ)":
        return "TLSv1.3-fizz"
    return _VER_PLAIN.get(s, v)


def our_version(row):
    """Our negotiated version in the normalised naming. A pre-RFC 1.3 code point must be
    stored as version "TLSv1.3" with the exact value in version_code (0x7fNN draft NN,
    0xfbNN Facebook's experimental one)."""
    code = row.get("version_code")
    text = row.get("version")
    if code is not None and text == "TLSv1.3":
        if (code >> 8) == 0x7f:
            return f"TLSv1.3-draft{code & 0xff}"
        if (code >> 8) == 0xfb:
            return "TLSv1.3-fizz"
    return text


def norm_text(v):
    if v is None:
        return None
    v = v.strip()
    return None if v in ("", "-", "(empty)") else v


# ---------------------------------------------------------------------------------------
# Peer parsers. Each returns a list of records:
#   {"source", "tuple" (c_ip,c_port,s_ip,s_port) or None, "sel" ("tuple"|"sni"|"only"),
#    "sni_sel", "fields": {field: expected}, "verdicts": {name: evidence text},
#    "count" (suricata), "multi" (Zeek MULTI-TRACE), "where" (text for the log)}

def read_expect(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().split("\n")


_NDPI_FLOW = re.compile(r"^\s*\d+\s+(TCP|UDP)\s+(\S+)\s+(<->|->)\s+(\S+)\s+(.*)$")


def split_ep(s):
    if s.startswith("["):
        ip, _, port = s[1:].rpartition("]:")
    else:
        ip, _, port = s.rpartition(":")
    return norm_ip(ip), int(port)


def parse_ndpi(path):
    recs = []
    for line in read_expect(path):
        m = _NDPI_FLOW.match(line)
        if not m or m.group(1) != "TCP":
            continue
        a, b, rest = split_ep(m.group(2)), split_ep(m.group(4)), m.group(5)
        f = {}
        mv = re.search(r"\[(TLSv1(?:\.[0-3])?(?: \(Fizz\))?|SSLv[23])\]", rest)
        if mv:
            f["version"] = norm_version(mv.group(1))
        mc = re.search(r"\[Cipher: ([^\]]+)\]", rest)
        if mc:
            f["cipher"] = mc.group(1).strip()
        m3 = re.search(r"\[JA3C: ([0-9a-f]{32})", rest)
        if m3:
            f["ja3"] = (m3.group(1), None)
        m3s = re.search(r"\[JA3S: ([0-9a-f]{32})", rest)
        if m3s:
            f["ja3s"] = (m3s.group(1), None)
        m4 = re.search(r"\[JA4: ([^\]\s]+)\]", rest)
        if m4:
            f["ja4"] = m4.group(1)
        if not f:
            continue  # not a TLS flow for nDPI (or nothing TLS-specific was printed)
        risks = []
        mr = re.search(r"\[Risk: (.*?)\]\[Risk Score", rest)
        if mr:
            risks = [x.strip() for x in mr.group(1).split("**") if x.strip()]
        mi = re.search(r"\[Risk Info: ([^\]]*)\]", rest)
        info = mi.group(1) if mi else ""
        ms = re.search(r"\[Hostname/SNI: ([^\]]*)\]", rest)
        # The JA4 SNI marker tells whether the ClientHello had server_name; nDPI prints
        # Hostname/SNI only from it for TLS flows, and flags its absence as a risk.
        if ms:
            f["sni"] = ms.group(1).strip()
        elif "Missing SNI TLS Extn" in risks or ("ja4" in f and f["ja4"][3:4] == "i"):
            f["sni"] = ""
        verd = {}
        for r in risks:
            if r.startswith("Obsolete TLS"):
                verd["obsolete"] = f"nDPI risk '{r}' ({info})"
            if r == "Weak TLS Cipher":
                verd["weak_cipher"] = f"nDPI risk '{r}' ({info})"
        recs.append({"source": "ndpi", "tuple": (a[0], a[1], b[0], b[1]), "sel": "tuple",
                     "fields": f, "verdicts": verd, "multi": False, "count": 1,
                     "where": f"nDPI flow {m.group(2)} {m.group(3)} {m.group(4)}"})
    return recs


def zeek_blocks(lines):
    """Yields (header, multi, body_lines) per '=== Zeek baseline' block."""
    head, multi, body = None, False, []
    for ln in lines:
        if ln.startswith("=== Zeek baseline"):
            if head is not None:
                yield head, multi, body
            head, multi, body = ln[len("=== Zeek baseline "):], False, []
        elif ln.startswith("=== NOTE") and "MULTI-TRACE" in ln:
            multi = True
        elif head is not None:
            body.append(ln)
    if head is not None:
        yield head, multi, body


def zeek_table(body):
    """(path, [dict]) of a Zeek ASCII log, or (None, [])."""
    path, fields, rows = None, None, []
    for ln in body:
        if ln.startswith("#path"):
            path = ln.split("\t", 1)[1].strip() if "\t" in ln else ln.split()[-1]
        elif ln.startswith("#fields"):
            fields = ln.split("\t")[1:]
        elif ln.startswith("#") or not ln.strip():
            continue
        elif fields:
            vals = ln.split("\t")
            if len(vals) == len(fields):
                rows.append(dict(zip(fields, vals)))
    return path, rows


def parse_zeek(path):
    lines = read_expect(path)
    merged = {}   # (tuple, index) -> record
    order = []
    notices = []
    for head, multi, body in zeek_blocks(lines):
        p, rows = zeek_table(body)
        if p == "ssl":
            seen = {}
            for r in rows:
                t = (norm_ip(r["id.orig_h"]), int(r["id.orig_p"]), norm_ip(r["id.resp_h"]),
                     int(r["id.resp_p"]))
                i = seen.get(t, 0)
                seen[t] = i + 1
                k = (t, i)
                rec = merged.get(k)
                if rec is None:
                    rec = {"source": "zeek", "tuple": t, "sel": "tuple", "fields": {},
                           "verdicts": {}, "multi": multi, "count": 1,
                           "where": f"Zeek ssl.log ({head})"}
                    merged[k] = rec
                    order.append(k)
                rec["multi"] = rec["multi"] and multi
                vals = {"version": norm_version(r.get("version")),
                        "cipher": norm_text(r.get("cipher"))}
                if "server_name" in r:
                    sn = norm_text(r["server_name"])
                    vals["sni"] = sn if sn is not None else ""
                for fld, v in vals.items():
                    if v is not None and fld not in rec["fields"]:
                        rec["fields"][fld] = v
        elif p == "notice":
            for r in rows:
                if r.get("note") in ZEEK_NOTICES:
                    t = (norm_ip(r["id.orig_h"]), int(r["id.orig_p"]), norm_ip(r["id.resp_h"]),
                         int(r["id.resp_p"]))
                    notices.append((t, r["note"], r.get("msg", ""), multi))
    recs = [merged[k] for k in order]
    for t, note, msg, multi in notices:
        name = ZEEK_NOTICES[note]
        target = next((r for r in recs if r["tuple"] == t), None)
        if target is None:
            target = {"source": "zeek", "tuple": t, "sel": "tuple", "fields": {}, "verdicts": {},
                      "multi": multi, "count": 1, "where": "Zeek notice.log"}
            recs.append(target)
        target["verdicts"][name] = f"Zeek notice {note}: {msg}"
    return recs


def yaml_scalar(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        v = v[1:-1]
    return v


def suricata_filters(body):
    """Minimal reader for the `checks:` list of a suricata-verify test.yaml: yields
    {"count": int or None, "match": {key: value}} per `- filter:` item. Handles the subset
    the corpus uses: nested maps by indentation, quoted scalars, folded continuation lines."""
    out, cur, section, sec_indent, last_key = [], None, None, 0, None
    in_checks = False
    for ln in body:
        if not ln.strip() or ln.lstrip().startswith("#"):
            continue
        indent = len(ln) - len(ln.lstrip(" \t"))
        text = ln.strip()
        if indent == 0 and not text.startswith("-"):
            in_checks = text.startswith("checks:")
            cur = None
            continue
        if not in_checks:
            continue
        if text.startswith("- filter:"):
            cur = {"count": None, "match": {}}
            out.append(cur)
            section, last_key = None, None
            continue
        if cur is None:
            continue
        m = re.match(r"^([A-Za-z0-9_.\-]+):\s*(.*)$", text)
        if section == "match" and indent > sec_indent and not m and last_key:
            cur["match"][last_key] = (cur["match"][last_key] + " " + text).strip()
            continue
        if not m:
            continue
        key, val = m.group(1), m.group(2)
        if section == "match" and indent > sec_indent:
            cur["match"][key] = yaml_scalar(val)
            last_key = key
            continue
        section, last_key = None, None
        if key == "count":
            try:
                cur["count"] = int(val)
            except ValueError:
                pass
        elif key == "match":
            section, sec_indent = "match", indent
    for c in out:
        for k, v in list(c["match"].items()):
            c["match"][k] = yaml_scalar(v)
    return out


def parse_suricata(path):
    lines = read_expect(path)
    recs, seen = [], set()
    blocks, head, body = [], None, []
    for ln in lines:
        if ln.startswith("=== suricata-verify "):
            if head is not None:
                blocks.append((head, body))
            head, body = ln[len("=== suricata-verify "):], []
        elif head is not None:
            body.append(ln)
    if head is not None:
        blocks.append((head, body))
    for head, body in blocks:
        if not head.endswith("test.yaml"):
            continue
        for flt in suricata_filters(body):
            mt = flt["match"]
            f = {}
            if "tls.version" in mt:
                f["version"] = norm_version(mt["tls.version"])
            if "tls.sni" in mt:
                f["sni"] = mt["tls.sni"]
            if "tls.ja3.hash" in mt or "tls.ja3.string" in mt:
                f["ja3"] = (mt.get("tls.ja3.hash"), mt.get("tls.ja3.string"))
            if "tls.ja3s.hash" in mt or "tls.ja3s.string" in mt:
                f["ja3s"] = (mt.get("tls.ja3s.hash"), mt.get("tls.ja3s.string"))
            if "tls.ja4" in mt:
                f["ja4"] = mt["tls.ja4"]
            if not f:
                continue
            count = flt["count"]
            if count == 0:
                continue  # a negative check: nothing to compare
            t = None
            if "src_ip" in mt and "dest_ip" in mt and "src_port" in mt and "dest_port" in mt:
                t = (norm_ip(mt["src_ip"]), int(mt["src_port"]), norm_ip(mt["dest_ip"]),
                     int(mt["dest_port"]))
            sel = "tuple" if t else ("sni" if "sni" in f else "only")
            key = (sel, t, f.get("sni"), tuple(sorted((k, str(v)) for k, v in f.items())),
                   count or 1)
            if key in seen:
                continue
            seen.add(key)
            recs.append({"source": "suricata", "tuple": t, "sel": sel, "sni_sel": f.get("sni"),
                         "fields": f, "verdicts": {}, "multi": False, "count": count or 1,
                         "where": f"suricata-verify {head} (event_type "
                                  f"{mt.get('event_type', '?')}, count {count})"})
    return recs


def parse_expectation(path):
    base = os.path.basename(path)
    if base.endswith(".ndpi.txt"):
        return parse_ndpi(path)
    if base.endswith(".zeek.txt"):
        return parse_zeek(path)
    if base.endswith(".suricata.txt"):
        return parse_suricata(path)
    return []


# ---------------------------------------------------------------------------------------
# Our side

def our_sessions(db):
    rows = nzt.query(db, "SELECT t.*, f.client_ip AS c_ip, f.client_port AS c_port,"
                         " f.server_ip AS s_ip, f.server_port AS s_port"
                         " FROM tls_sessions t JOIN flows f ON f.id = t.flow_id ORDER BY t.id")
    for r in rows:
        r["tuple"] = (norm_ip(r["c_ip"]), r["c_port"], norm_ip(r["s_ip"]), r["s_port"])
    return rows


def our_flows(db):
    return [(norm_ip(f["client_ip"]), f["client_port"], norm_ip(f["server_ip"]), f["server_port"])
            for f in nzt.query(db, "SELECT * FROM flows ORDER BY id")]


def our_findings(db):
    by_flow = {}
    for f in nzt.query(db, "SELECT flow_id, kind, severity, summary FROM findings"):
        by_flow.setdefault(f["flow_id"], []).append(f)
    return by_flow


def our_value(row, field):
    if field == "version":
        return our_version(row)
    if field == "cipher":
        return row.get("cipher")
    if field == "sni":
        return row.get("sni") or ""
    if field == "ja3":
        return (row.get("ja3"), row.get("ja3_string"))
    if field == "ja3s":
        return (row.get("ja3s"), row.get("ja3s_string"))
    if field == "ja4":
        return row.get("ja4")
    raise KeyError(field)


def agree(field, ours, theirs):
    if field in ("ja3", "ja3s"):
        h, s = theirs
        oh, os_ = ours
        return (h is None or h == oh) and (s is None or s == os_)
    if field == "cipher":
        return (ours or "").upper() == (theirs or "").upper()
    if field == "sni":
        return (ours or "").lower() == (theirs or "").lower()
    return ours == theirs


def show(field, v):
    if field in ("ja3", "ja3s") and isinstance(v, tuple):
        h, s = v
        return f"{h or '-'}" + (f" [{s}]" if s else "")
    return repr(v) if v is not None else "-"


# ---------------------------------------------------------------------------------------
# Comparison

class Tally:
    def __init__(self):
        self.n = {}   # (source, field) -> [matched, explained, failed]

    def add(self, source, field, outcome):
        c = self.n.setdefault((source, field), [0, 0, 0])
        c[{"match": 0, "explained": 1, "fail": 2}[outcome]] += 1

    def line(self, source, field):
        if source == "all":
            cs = [self.n.get((s, field), [0, 0, 0]) for s in SOURCES]
            c = [sum(x[i] for x in cs) for i in range(3)]
        else:
            c = self.n.get((source, field), [0, 0, 0])
        tot = sum(c)
        if tot == 0:
            return "-"
        s = f"{c[0]}/{tot}"
        if c[1]:
            s += f" ({c[1]} expl)"
        return s


def explained(capture, field, key_texts, ours=None):
    """(index, reason) of the matching EXPLAINED row, or None. A row with a fifth element (our
    value as checked when the row was written) applies only while we still produce that value,
    so a change on our side is compared afresh instead of staying explained."""
    for i, row in enumerate(EXPLAINED):
        cap, fld, key, reason = row[:4]
        if cap != capture or fld != field or (key != "*" and key not in key_texts):
            continue
        if len(row) > 4 and row[4] not in ours_texts(ours):
            continue
        return i, reason
    return None


def ours_texts(ours):
    """Our value(s) as plain strings, for the EXPLAINED value guard."""
    out = set()
    for v in ours if isinstance(ours, list) else [ours]:
        if isinstance(v, tuple):
            out |= {x for x in v if x}
        elif v is not None:
            out.add(v)
    return out


def main():
    h = nzt.Harness("conformance")
    manifest = os.path.join(nzt.CORPUS, "MANIFEST.tsv")
    if not os.path.isfile(manifest):
        h.skip("TLS conformance against nDPI/Zeek/suricata-verify",
               f"corpus not found at {nzt.CORPUS} (it is not part of the repository)")
        h.finish()
    if not os.access(nzt.BIN, os.X_OK):
        h.check("netzwacht binary exists", False, nzt.BIN)
        h.finish()

    logpath = os.path.join(h.tmp, "conformance-disagreements.log")
    log = open(logpath, "w")
    tally = Tally()
    lines_out = []
    stricter = []
    used_expl = set()

    def disagree(capture, rec, field, text, reason=None):
        msg = (f"{'EXPLAINED' if reason else 'DISAGREE '} [{rec['source']}] {capture} "
               f"{field}: {text}" + (f"\n      reason: {reason}" if reason else ""))
        log.write(msg + "\n")
        lines_out.append(msg)

    caps = []
    with open(manifest) as f:
        header = f.readline().rstrip("\n").split("\t")
        for ln in f:
            row = dict(zip(header, ln.rstrip("\n").split("\t")))
            caps.append(row)

    n_caps = 0
    n_heartbleed = 0  # Heartbleed notices compared (zeek/tls/heartbleed-success.pcap has both)
    for row in caps:
        rel = row["path"][len("pcaps/"):] if row["path"].startswith("pcaps/") else row["path"]
        exps = [e for e in row.get("expected", "").split(",") if e]
        recs = []
        for e in exps:
            recs += parse_expectation(os.path.join(nzt.CORPUS, e))
        if not recs:
            continue
        n_caps += 1
        pcap_path = os.path.join(nzt.CORPUS, row["path"])
        db = h.db()
        r = nzt.analyze(db, [pcap_path], timeout=120)
        if not h.check(f"{rel}: analyze exits 0", r.returncode == 0,
                       f"rc {r.returncode}: {nzt.text(r.stderr).strip()[:300]}"):
            if not os.path.exists(db):
                continue
        try:
            ours = our_sessions(db)
            flows = our_flows(db)
            finds = our_findings(db)
        except Exception as ex:  # noqa: BLE001 - a broken DB is a failure of this capture
            h.check(f"{rel}: database readable", False, str(ex))
            continue
        flow_keys = {tuple_key(t) for t in flows}
        by_key = {}
        for s in ours:
            by_key.setdefault(tuple_key(s["tuple"]), []).append(s)
        used_per_key = {}

        for rec in recs:
            src = rec["source"]
            # ---- select our candidate sessions ----
            if rec["sel"] == "tuple":
                k = tuple_key(rec["tuple"])
                if k not in flow_keys and rec["multi"]:
                    continue  # another trace's record in a MULTI-TRACE baseline
                lst = by_key.get(k, [])
                idx = used_per_key.get((src, k), 0)
                used_per_key[(src, k)] = idx + 1
                cands = [lst[idx]] if idx < len(lst) else []
                keytext = tuple_text(cands[0]["tuple"] if cands else rec["tuple"])
                keys = {keytext, tuple_text(rec["tuple"])}
                how = "by 5-tuple"
            elif rec["sel"] == "sni":
                cands = [s for s in ours if (s.get("sni") or "").lower() == rec["sni_sel"].lower()]
                keytext = f"sni={rec['sni_sel']}"
                keys = {keytext}
                how = f"by SNI ({len(cands)} of our {len(ours)} sessions carry it)"
            elif len(ours) == 1:
                cands = ours
                keytext = "only"
                keys = {keytext}
                how = "as the only TLS session"
            else:
                # No tuple and no SNI: picking a session by the very fingerprint under test
                # would be circular, so the check's count is compared against all sessions.
                cands = ours
                keytext = "only"
                keys = {keytext}
                how = f"against all {len(ours)} TLS sessions (no tuple or SNI in the check)"
            need = rec["count"]
            started = ",".join(sorted({c.get("started_by") or "-" for c in cands})) or "-"

            def outcome(field, ok, text, ours_val=None, kind=None):
                name = f"{rel} [{src}] {keytext} {field}"
                if ok:
                    tally.add(src, field, "match")
                    h.check(name, True)
                    return
                hit = explained(rel, kind or field, keys, ours_val)
                if hit:
                    used_expl.add(hit[0])
                    reason = hit[1]
                    tally.add(src, field, "explained")
                    disagree(rel, rec, field, text, reason)
                else:
                    tally.add(src, field, "fail")
                    disagree(rel, rec, field, text)
                    h.check(name, False, text)

            # ---- fields ----
            for field in FIELDS:
                if field not in rec["fields"]:
                    continue
                theirs = rec["fields"][field]
                if not cands:
                    text = (f"{tuple_text(rec['tuple']) if rec['tuple'] else keytext}: peer "
                            f"{show(field, theirs)}, we have no TLS session ({how}; {rec['where']})")
                    if "starttls" in row.get("protocols", ""):
                        text += " -- STARTTLS capture: no TLS seen after the upgrade"
                    outcome(field, False, text, kind="session")
                    continue
                if field == "sni" and rec["sel"] == "sni":
                    # The selector itself: enough of our sessions must carry that SNI.
                    outcome(field, len(cands) >= need,
                            f"{keytext}: {len(cands)} of our sessions carry it, the peer counts "
                            f"{need} [{rec['where']}]")
                    continue
                vals = []
                for c in cands:
                    ov = our_value(c, field)
                    # Without a ServerHello nDPI and Suricata (suricata-verify bug-5713-01,
                    # "logging of TLS version when only a client hello was seen") report the
                    # ClientHello's version; we keep that in client_version.
                    if field == "version" and ov is None and src != "zeek" and not c.get("ts_server"):
                        ov = c.get("client_version")
                    vals.append(ov)
                n_ok = sum(1 for v in vals if agree(field, v, theirs))
                outcome(field, n_ok >= need,
                        f"{keytext}: ours {', '.join(show(field, v) for v in vals)} vs peer "
                        f"{show(field, theirs)}" + (f" (in {need} sessions)" if need > 1 else "")
                        + f" [{how}; started_by {started}; {rec['where']}]", vals)
            # ---- verdicts ----
            kinds = set()
            for c in cands:
                kinds |= {f["kind"] for f in finds.get(c["flow_id"], [])}
            for vname, evid in rec["verdicts"].items():
                kind = VERDICT_KIND[vname]
                if vname.startswith("heartbleed"):
                    n_heartbleed += 1
                outcome(vname, kind in kinds,
                        f"{keytext}: peer flags it ({evid}); our findings on the flow: "
                        f"{', '.join(sorted(kinds)) or 'none'}" + ("" if cands else " (no TLS session)"),
                        sorted(kinds))
            # ---- where we are stricter (informational) ----
            if src == "ndpi" and cands:
                for vname, kind in (("obsolete", "tls.obsolete_version"),
                                    ("weak_cipher", "tls.weak_cipher")):
                    if kind in kinds and vname not in rec["verdicts"]:
                        stricter.append(f"{rel} {keytext}: we report {kind} "
                                        f"(cipher {cands[0].get('cipher')}, version "
                                        f"{cands[0].get('version')}); nDPI does not flag it")

    for i, row in enumerate(EXPLAINED):
        cap, fld, key = row[:3]
        if i not in used_expl:
            msg = f"STALE explanation (no such disagreement any more): {cap} {fld} {key}"
            log.write(msg + "\n")
            lines_out.append(msg)

    has_hb = any(r["path"].endswith("heartbleed-success.pcap") for r in caps)
    h.check("Heartbleed notices compared (zeek heartbleed-success: attempt and leak)",
            n_heartbleed >= 2 or not has_hb, f"{n_heartbleed} compared")
    log.close()
    print(f"TLS conformance on {n_caps} corpus captures with TLS expectations")
    print("per-field agreement: agreed/compared (N expl = of the rest, documented in EXPLAINED as "
          "the peer's error or not comparable; every other difference is a failure)")
    cols = list(FIELDS) + list(VERDICTS)
    print("  " + "source".ljust(10) + "".join(c.ljust(20) for c in cols))
    for s in SOURCES + ("all",):
        print("  " + s.ljust(10) + "".join(tally.line(s, c).ljust(20) for c in cols))
    if lines_out:
        print(f"disagreements ({logpath}):")
        for ln in lines_out:
            print("  " + ln)
    if stricter:
        print("where we flag and nDPI does not (by design: see tls_rules.c; not failures):")
        for ln in stricter:
            print("  " + ln)
    h.finish()


if __name__ == "__main__":
    main()
