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

Version names are normalised to ours ("TLSv1.0".."TLSv1.3", "SSLv2", "SSLv3", and
"TLSv1.3-draftNN" for the draft code points 0x7fNN): Zeek "TLSv12"/"TLSv13-draft23",
nDPI "TLSv1", suricata "TLS 1.2"/"TLSv1"/"TLS 1.3 draft-28".

Each compared field of each session is one check, except the disagreements listed in
EXPLAINED below: those were investigated and the peer is wrong or not comparable; they are
printed and counted as "explained", not failed. Every disagreement (failed or explained) is
written with its evidence to <tmp>/conformance-disagreements.log and printed.

When the corpus is absent (a user's clone has none) the test skips with one SKIP line.
"""
import ipaddress
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import nzt  # noqa: E402

FIELDS = ("version", "cipher", "sni", "ja3", "ja3s", "ja4")
VERDICTS = ("obsolete", "weak_cipher")
SOURCES = ("ndpi", "zeek", "suricata")

# Investigated disagreements: (capture relative to pcaps/, field, tuple-or-sni, reason).
# tuple is "client_ip:port <-> server_ip:port" in OUR orientation (IPv6 as [addr]:port), or
# "sni=<name>" / "only" for suricata checks without a tuple, or "*" for every record of the
# capture. field is one of FIELDS, "session" (peer has a TLS record, we have none) or one of
# VERDICTS.
EXPLAINED = [
]

# Captures the peers themselves describe as damaged: analyze may stop with a read error
# (exit 3) after the readable part, which is still stored and compared.
DAMAGED = {
    "suricata-verify/bug-1450-04/tls_DER-incomplete-header.pcap":
        "deliberately damaged file (README: capinfos stops after 6 packets)",
}


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
    """Our negotiated version in the normalised naming, from version/version_code."""
    code = row.get("version_code")
    if code is not None and 0x7f00 < code <= 0x7fff:
        return f"TLSv1.3-draft{code & 0xff}"
    if code is not None and (code >> 8) == 0xfb:
        return "TLSv1.3-fizz"
    return row.get("version")


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
                if r.get("note") in ("SSL::Weak_Cipher", "SSL::Old_Version"):
                    t = (norm_ip(r["id.orig_h"]), int(r["id.orig_p"]), norm_ip(r["id.resp_h"]),
                         int(r["id.resp_p"]))
                    notices.append((t, r["note"], r.get("msg", ""), multi))
    recs = [merged[k] for k in order]
    for t, note, msg, multi in notices:
        name = "weak_cipher" if note == "SSL::Weak_Cipher" else "obsolete"
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
        if indent == 0:
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
            s += f" (+{c[1]} expl.)"
        return s


def explained(capture, field, key_texts):
    for cap, fld, key, reason in EXPLAINED:
        if cap == capture and fld == field and (key == "*" or key in key_texts):
            return reason
    return None


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

    def disagree(kind, capture, rec, field, text, reason=None):
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
        ok_rc = r.returncode == 0 or (rel in DAMAGED and r.returncode == 3)
        if not h.check(f"{rel}: analyze exits 0", ok_rc,
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
                cands = [lst[idx]] if idx < len(lst) else lst[-1:] if (src == "ndpi" and lst) else []
                if cands:
                    keytext = tuple_text(cands[0]["tuple"])
                else:
                    keytext = tuple_text(rec["tuple"])
                keys = {keytext, tuple_text(rec["tuple"])}
                how = "by 5-tuple"
            elif rec["sel"] == "sni":
                cands = [s for s in ours if (s.get("sni") or "").lower() == rec["sni_sel"].lower()]
                keytext = f"sni={rec['sni_sel']}"
                keys = {keytext}
                how = f"by SNI ({len(cands)} session(s) with that SNI)"
            else:
                cands = ours if len(ours) == 1 else []
                keytext = "only"
                keys = {keytext}
                how = "as the only TLS session" if len(ours) == 1 else \
                      f"ambiguous: {len(ours)} TLS sessions and no tuple/SNI in the check"
                if len(ours) > 1:
                    # Pick by fingerprint is circular; compare against the set instead.
                    cands = ours
                    how = f"against all {len(ours)} TLS sessions (no tuple/SNI in the check)"

            started = {c.get("started_by") for c in cands}
            # ---- fields ----
            for field in FIELDS:
                if field not in rec["fields"]:
                    continue
                theirs = rec["fields"][field]
                if field == "sni" and rec["sel"] == "sni":
                    continue  # the selector itself; counted through the candidates found
                name = f"{rel} [{src}] {keytext} {field}"
                if not cands:
                    outcome_text = (f"{tuple_text(rec['tuple']) if rec['tuple'] else keytext}: "
                                    f"peer {show(field, theirs)}, we have no TLS session "
                                    f"({how}; {rec['where']})")
                    if "starttls" in row.get("protocols", ""):
                        outcome_text += " — STARTTLS capture: TLS after the upgrade not seen yet"
                    reason = explained(rel, "session", keys) or explained(rel, field, keys)
                    if reason:
                        used_expl.add((rel, "session"))
                        tally.add(src, field, "explained")
                        disagree("session", rel, rec, field, outcome_text, reason)
                    else:
                        tally.add(src, field, "fail")
                        disagree("session", rel, rec, field, outcome_text)
                        h.check(name, False, outcome_text)
                    continue
                need = rec["count"] if rec["source"] == "suricata" else 1
                vals = []
                for c in cands:
                    ov = our_value(c, field)
                    # No ServerHello in the capture: nDPI prints the ClientHello version.
                    if field == "version" and ov is None and src == "ndpi" and not c.get("ts_server"):
                        ov = c.get("client_version")
                    vals.append(ov)
                n_ok = sum(1 for v in vals if agree(field, v, theirs))
                if n_ok >= need:
                    tally.add(src, field, "match")
                    h.check(name, True)
                    continue
                text = (f"{keytext}: ours {', '.join(show(field, v) for v in vals)} vs peer "
                        f"{show(field, theirs)}" + (f" (need {need} sessions)" if need > 1 else "")
                        + f" [{how}; started_by {','.join(sorted(x or '-' for x in started))};"
                        f" {rec['where']}]")
                reason = explained(rel, field, keys)
                if reason:
                    used_expl.add((rel, field))
                    tally.add(src, field, "explained")
                    disagree(field, rel, rec, field, text, reason)
                else:
                    tally.add(src, field, "fail")
                    disagree(field, rel, rec, field, text)
                    h.check(name, False, text)
            # ---- verdicts ----
            for vname, evid in rec["verdicts"].items():
                kind = "tls.obsolete_version" if vname == "obsolete" else "tls.weak_cipher"
                name = f"{rel} [{src}] {keytext} verdict {kind}"
                kinds = set()
                for c in cands:
                    kinds |= {f["kind"] for f in finds.get(c["flow_id"], [])}
                if kind in kinds:
                    tally.add(src, vname, "match")
                    h.check(name, True)
                    continue
                text = (f"{keytext}: peer flags it ({evid}); our findings on the flow: "
                        f"{sorted(kinds) or 'none'}" + ("" if cands else " (no TLS session)"))
                reason = explained(rel, vname, keys)
                if reason:
                    used_expl.add((rel, vname))
                    tally.add(src, vname, "explained")
                    disagree(vname, rel, rec, vname, text, reason)
                else:
                    tally.add(src, vname, "fail")
                    disagree(vname, rel, rec, vname, text)
                    h.check(name, False, text)
            # ---- where we are stricter (informational) ----
            if src == "ndpi" and cands:
                kinds = set()
                for c in cands:
                    kinds |= {f["kind"] for f in finds.get(c["flow_id"], [])}
                for vname, kind in (("obsolete", "tls.obsolete_version"),
                                    ("weak_cipher", "tls.weak_cipher")):
                    if kind in kinds and vname not in rec["verdicts"]:
                        stricter.append(f"{rel} {keytext}: we report {kind} "
                                        f"(cipher {cands[0].get('cipher')}, version "
                                        f"{cands[0].get('version')}); nDPI does not flag it")

    for cap, fld, key, _ in EXPLAINED:
        if (cap, fld) not in used_expl:
            msg = f"STALE explanation (no such disagreement any more): {cap} {fld} {key}"
            log.write(msg + "\n")
            lines_out.append(msg)

    log.close()
    print(f"TLS conformance on {n_caps} corpus captures with TLS expectations")
    print("per-field agreement (matched/total; 'expl.' = documented peer error or not comparable):")
    cols = list(FIELDS) + list(VERDICTS)
    print("  " + "source".ljust(10) + "".join(c.ljust(18) for c in cols))
    for s in SOURCES + ("all",):
        print("  " + s.ljust(10) + "".join(tally.line(s, c).ljust(18) for c in cols))
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
