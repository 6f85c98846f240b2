#!/usr/bin/env python3
"""`netzwacht certs` and the level/certificate columns of `netzwacht servers` (issue #11) over
schema v8, twice:

1. Synthetic: `netzwacht analyze` of bundled captures without certificates creates and migrates
   the database, then rows are added with sqlite3 into certificates, cert_chains, flows,
   tls_sessions and smtp_sessions, to reach every case with its near miss exactly.
2. End to end: the trust captures (pcaps/tls/trust-*, the greeting-name mail captures, an old
   test-CA STARTTLS capture) analysed with their throwaway roots; every row of `certs` and the
   mail server's line of `servers` are compared with what Python derives from the tables.

The fingerprints are SHA-256s of made-up bytes, not of certificates (the query never hashes);
one is crafted to share the first 7 hex digits of another, for the prefix near miss. Times are
set around the database's last packet time (the reference of --expired), never the clock.

Checked:
- each certificate once, with sessions, servers (IPv6 in brackets, distinct, sorted), positions
  (leaf / intermediate / root), trust outcomes (trusted / untrusted / unchecked) and reasons;
- --expired: not_after one second before the last packet time is expired, the same second is
  not (near miss); not_before one second after is "not yet valid", the same second is not; the
  reference is the latest of runs.last_ts and tls_sessions.ts (a later session moves it), and a
  database of 2001 judges a certificate of 2005 valid whatever the clock says;
- --untrusted: presented in an untrusted session; trusted and unchecked ones are not;
- --host: SAN wildcard per RFC 6125 (one label, not two, not the bare domain), case, subject CN
  when there is no SAN, a SAN iPAddress, the address of a server that presented it;
- --sha256: a DER prefix of 8 digits (the 7-digit twin is not matched), an SPKI prefix (both
  certificates of one key), the full value in upper case with ':' pairs; 7 digits or non-hex is
  exit 2;
- --run, --limit; options of other commands refused (exit 2); table, json and csv outputs;
- servers: the latest session's level and each change of level in time order (smtp_sessions
  level, else the TLS session's), the latest leaf's names, SHA-256 and SPKI SHA-256, the number
  of distinct leaves; the columns that were there before are unchanged;
- certs opens the database read-only (byte-identical after) and a missing path is exit 3."""
import csv
import datetime
import hashlib
import io
import json
import os
import shutil
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(__file__))
import nzt  # noqa: E402

h = nzt.Harness("certs_query")
ISO = "%Y-%m-%dT%H:%M:%SZ"


def fp(name):
    return hashlib.sha256(b"netzwacht test certificate " + name.encode()).hexdigest()


def parse_ts(s):
    return datetime.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)


def iso(dt):
    return dt.strftime(ISO)


def ts(dt):
    """A packet time as the store writes it (microseconds)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def certs(db, *args, fmt="json"):
    r = nzt.run(["certs", "--format", fmt, *args], db=db)
    rows = []
    if fmt == "json" and r.returncode == 0:
        rows = [json.loads(line) for line in nzt.text(r.stdout).splitlines() if line.strip()]
    return r, rows


def names(rows):
    return sorted(r["subject_cn"] or r["sha256"][:12] for r in rows)


def build(db):
    """Analyses bundled captures (schema migrated, real flows/sessions), then adds the v8 rows.
    Returns the reference time (datetime, whole seconds) and the certificates by name."""
    caps = [nzt.pcap("mail", "smtp-no-starttls.pcap"), nzt.pcap("http-get-ipv4.pcap")]
    r = nzt.analyze(db, caps)
    h.check("analyze of the bundled captures exits 0", r.returncode == 0, nzt.text(r.stderr))
    v = nzt.query(db, "PRAGMA user_version")[0]["user_version"]
    h.check("the database is at schema v8 or later", v >= 8, str(v))
    h.check("those captures stored no certificate", nzt.query(db, "SELECT count(*) AS n FROM certificates")[0]["n"] == 0)
    ref_text = nzt.query(db, "SELECT max(x) AS t FROM (SELECT max(last_ts) AS x FROM runs"
                             " UNION ALL SELECT max(ts) FROM tls_sessions)")[0]["t"]
    ref = parse_ts(ref_text)
    day = datetime.timedelta(days=1)
    sec = datetime.timedelta(seconds=1)

    C = {}

    def cert(name, cn, issuer_cn, nb, na, san=None, spki=None, key=("RSA", 2048, None), self_issued=0, is_ca=0,
             san_ip=None, sha=None):
        C[name] = dict(sha256=sha or fp(name), spki_sha256=spki or fp(name + " key"), subject_cn=cn,
                       issuer_cn=issuer_cn, subject=cn and f"CN={cn}", issuer=issuer_cn and f"CN={issuer_cn}",
                       serial=hashlib.md5(name.encode()).hexdigest()[:16], san_dns=san,
                       san_ip=san_ip, n_san_dns=len(san.split(",")) if san else 0, not_before=nb, not_after=na,
                       key_type=key[0], key_bits=key[1], key_curve=key[2], sig_alg="sha256WithRSAEncryption",
                       is_ca=is_ca, self_issued=self_issued, version=3, parsed_by="wolfssl", der=b"\x30\x82" + name.encode(),
                       first_run=1, last_run=1)

    far_nb, far_na = iso(ref - 300 * day), iso(ref + 300 * day)
    cert("root", "Example Root CA", "Example Root CA", iso(ref - 3000 * day), iso(ref + 3000 * day),
         key=("EC", 384, "secp384r1"), self_issued=1, is_ca=1)
    cert("int", "Example Intermediate CA", "Example Root CA", iso(ref - 1000 * day), iso(ref + 1000 * day),
         key=("RSA", 4096, None), is_ca=1)
    cert("mail", "mail.example.test", "Example Intermediate CA", far_nb, far_na,
         san="mail.example.test,*.mx.example.test", key=("EC", 256, "prime256v1"))
    # The same key, renewed: one SPKI, two certificates.
    cert("mail2", "mail.example.test", "Example Intermediate CA", iso(ref - 10 * day), iso(ref + 80 * day),
         san="mail.example.test,*.mx.example.test", key=("EC", 256, "prime256v1"), spki=C["mail"]["spki_sha256"])
    # Its SHA-256 shares the first 7 hex digits with mail's, the 8th differs.
    m = C["mail"]["sha256"]
    twin = m[:7] + ("0" if m[7] != "0" else "1") + fp("twin")[8:]
    cert("twin", "twin.example.test", "Example Intermediate CA", far_nb, far_na, san="twin.example.test", sha=twin)
    cert("expired", "expired.example.test", "Example Intermediate CA", iso(ref - 400 * day), iso(ref - sec),
         san="expired.example.test")
    cert("edge", "edge.example.test", "Example Intermediate CA", iso(ref - 400 * day), iso(ref),
         san="edge.example.test")
    cert("future", "future.example.test", "Example Intermediate CA", iso(ref + sec), iso(ref + 400 * day),
         san="future.example.test")
    cert("future_edge", "soon.example.test", "Example Intermediate CA", iso(ref), iso(ref + 400 * day),
         san="soon.example.test")
    cert("untrusted", "www.example.test", "Unknown CA", far_nb, far_na, san="www.example.test",
         san_ip="198.51.100.7,2001:db8::7")
    cert("legacy", "legacy.example.test", "Example Intermediate CA", far_nb, far_na)  # no SAN: the CN
    cert("unseen", None, None, far_nb, far_na)  # stored, in no session (no names either)

    con = sqlite3.connect(db)
    order = ["root", "int", "mail", "mail2", "twin", "expired", "edge", "future", "future_edge", "untrusted",
             "legacy", "unseen"]
    for i, name in enumerate(order):
        c = dict(C[name])
        c["first_seen"] = ts(ref - (900 - i) * sec)
        c["last_seen"] = ts(ref - 100 * sec)
        cols = ", ".join(c)
        con.execute(f"INSERT INTO certificates ({cols}) VALUES ({', '.join('?' * len(c))})", list(c.values()))

    def chain(*members):
        k = hashlib.sha256(b"".join(bytes.fromhex(C[x]["sha256"]) for x in members)).hexdigest()
        for pos, x in enumerate(members):
            con.execute("INSERT OR IGNORE INTO cert_chains (chain_sha256, position, cert_sha256) VALUES (?, ?, ?)",
                        (k, pos, C[x]["sha256"]))
        return k

    flows = {}

    def session(at, ip, port, ch, leaf, trust=None, reason=None, level=None, mail=None, mail_level=None):
        """A flow, its TLS session (ch: chain key or None for plaintext), and for mail its
        smtp_sessions row (mail_level: that row's level)."""
        cur = con.execute("INSERT INTO flows (run_id, client_ip, client_port, server_ip, server_port, ip_version,"
                          " app_proto, first_ts, last_ts) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
                          ("2001:db8::1" if ":" in ip else "192.0.2.1", 40000 + len(flows), ip, port,
                           6 if ":" in ip else 4, "SMTP" if mail else "TLS", ts(at), ts(at)))
        fid = cur.lastrowid
        flows[fid] = (ip, port)
        if ch is not None or leaf is not None:
            lc = C[leaf]
            con.execute("INSERT INTO tls_sessions (run_id, flow_id, ts, started_by, handshake_complete, version,"
                        " cipher, cert_count, cert_subject, cert_issuer, cert_sha256, chain_sha256, cert_spki_sha256,"
                        " trust, trust_reason, security_level) VALUES (1, ?, ?, ?, 1, 'TLSv1.2',"
                        " 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 2, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (fid, ts(at + datetime.timedelta(milliseconds=5)), "smtp-starttls" if mail else "tls",
                         lc["subject_cn"], lc["issuer_cn"], lc["sha256"], ch, lc["spki_sha256"], trust, reason,
                         level))
        if mail:
            tls = 1 if ch is not None or leaf is not None else 0
            con.execute("INSERT INTO smtp_sessions (run_id, flow_id, ts, protocol, client_ip, client_port, server_ip,"
                        " server_port, greeting_host, starttls_offered, starttls_requested, starttls_accepted,"
                        " tls_started, auth_in_clear, mail_in_clear, messages, security_level)"
                        " VALUES (1, ?, ?, 'smtp', '192.0.2.1', ?, ?, ?, 'mail.example.test', 1, ?, ?, ?, 0, ?, ?, ?)",
                        (fid, ts(at), 40000 + fid, ip, port, tls, tls, tls, 1 - tls, 1 - tls, mail_level))
        return fid

    c_mail = chain("mail", "int", "root")
    c_mail2 = chain("mail2", "int")
    c_untr = chain("untrusted")
    c_legacy = chain("legacy", "int")
    mx = "192.0.2.25"
    t0 = ref - 800 * sec
    # The MTA 192.0.2.25:25 over time: none, verified, verified, untrusted, verified (renewed leaf,
    # its level only in tls_sessions).
    session(t0, mx, 25, None, None, mail=True, mail_level="none")
    session(t0 + 10 * sec, mx, 25, c_mail, "mail", "trusted", None, "verified", mail=True, mail_level="verified")
    session(t0 + 20 * sec, mx, 25, c_mail, "mail", "trusted", None, "verified", mail=True, mail_level="verified")
    session(t0 + 30 * sec, mx, 25, c_untr, "untrusted", "untrusted", "unable to get local issuer certificate",
            "untrusted", mail=True, mail_level="untrusted")
    session(t0 + 40 * sec, mx, 25, c_mail2, "mail2", "trusted", None, "verified", mail=True, mail_level=None)
    # Submission over implicit TLS on IPv6, the same chain.
    session(t0 + 50 * sec, "2001:db8::25", 465, c_mail, "mail", "trusted", None, "verified")
    # The untrusted leaf on its own web server too.
    session(t0 + 60 * sec, "198.51.100.7", 443, c_untr, "untrusted", "untrusted", "unable to get local issuer certificate",
            "untrusted")
    # Never checked (no trust store): presented by 192.0.2.99.
    session(t0 + 70 * sec, "192.0.2.99", 443, c_legacy, "legacy", None, None, "encrypt")
    for name in ("twin", "expired", "edge", "future", "future_edge"):
        session(t0 + 80 * sec, "192.0.2.80", 443, chain(name, "int"), name, "trusted", None, "trusted")
    # A session as written before schema v8: only the v6 leaf columns, no chain, no level.
    fid = session(t0 + 90 * sec, "192.0.2.66", 25, None, None, mail=True)
    con.execute("UPDATE smtp_sessions SET tls_started = 1, starttls_accepted = 1 WHERE flow_id = ?", (fid,))
    con.execute("INSERT INTO tls_sessions (run_id, flow_id, ts, version, handshake_complete, cert_subject, cert_issuer,"
                " cert_sha256) VALUES (1, ?, ?, 'TLSv1.2', 1, 'v6.example.test', 'Old CA', ?)",
                (fid, ts(t0 + 90 * sec), fp("v6 leaf")))
    con.commit()
    con.close()
    check = nzt.query(db, "SELECT max(x) AS t FROM (SELECT max(last_ts) AS x FROM runs"
                          " UNION ALL SELECT max(ts) FROM tls_sessions)")[0]["t"]
    h.check("the added rows leave the reference time alone", check == ref_text, f"{check} != {ref_text}")
    return ref, ref_text, C


def main():
    db = h.db()
    ref, ref_text, C = build(db)
    sha = {k: v["sha256"] for k, v in C.items()}
    by_sha = {v["sha256"]: k for k, v in C.items()}

    def got(rows):
        return sorted(by_sha.get(r["sha256"], "?" + r["sha256"][:8]) for r in rows)

    # ---- every certificate once ----
    r, rows = certs(db)
    h.check("certs: exit 0", r.returncode == 0, nzt.text(r.stderr))
    h.check("certs: each stored certificate exactly once", got(rows) == sorted(C), str(got(rows)))
    h.check("certs: first seen first", [by_sha.get(x["sha256"]) for x in rows][:3] == ["root", "int", "mail"],
            str([by_sha.get(x["sha256"]) for x in rows]))
    row = {by_sha.get(x["sha256"]): x for x in rows}
    m = row.get("mail", {})
    h.check("certs: mail's facts", m.get("subject_cn") == "mail.example.test"
            and m.get("issuer_cn") == "Example Intermediate CA" and m.get("key") == "EC 256 prime256v1"
            and m.get("san_dns") == "mail.example.test,*.mx.example.test"
            and m.get("spki_sha256") == C["mail"]["spki_sha256"] and m.get("not_after") == C["mail"]["not_after"]
            and m.get("validity") == "valid" and m.get("validity_at") == ref_text, json.dumps(m))
    h.check("certs: mail presented in 3 sessions by 2 servers, IPv6 in brackets, sorted",
            m.get("sessions") == 3 and m.get("servers") == "192.0.2.25:25,[2001:db8::25]:465", json.dumps(m))
    h.check("certs: mail is a leaf, trusted", m.get("positions") == "leaf" and m.get("trust") == "trusted",
            json.dumps(m))
    h.check("certs: the intermediate's position and servers",
            row.get("int", {}).get("positions") == "intermediate"
            and row["int"].get("servers") == "192.0.2.25:25,192.0.2.80:443,192.0.2.99:443,[2001:db8::25]:465",
            json.dumps(row.get("int")))
    h.check("certs: the self-issued CA above a leaf is a root", row.get("root", {}).get("positions") == "root"
            and row["root"].get("key") == "EC 384 secp384r1", json.dumps(row.get("root")))
    u = row.get("untrusted", {})
    h.check("certs: the untrusted leaf, its outcome and reason once, both servers",
            u.get("trust") == "untrusted" and u.get("trust_reasons") == "unable to get local issuer certificate"
            and u.get("servers") == "192.0.2.25:25,198.51.100.7:443" and u.get("sessions") == 2, json.dumps(u))
    h.check("certs: the intermediate was seen trusted and unchecked",
            row.get("int", {}).get("trust") == "trusted,unchecked", json.dumps(row.get("int")))
    h.check("certs: a certificate in no session has no servers, positions or trust",
            row.get("unseen", {}).get("sessions") == 0 and row["unseen"].get("servers") is None
            and row["unseen"].get("positions") is None and row["unseen"].get("trust") is None,
            json.dumps(row.get("unseen")))

    # ---- --expired at the last packet time ----
    r, rows = certs(db, "--expired")
    h.check("--expired: not_after 1 s before the last packet, and not_before 1 s after it",
            got(rows) == ["expired", "future"], str(got(rows)))
    h.check("--expired: the near misses (the same second) are valid",
            row.get("edge", {}).get("validity") == "valid" and row.get("future_edge", {}).get("validity") == "valid",
            f"{row.get('edge', {}).get('validity')} {row.get('future_edge', {}).get('validity')}")
    h.check("--expired: says which", row.get("expired", {}).get("validity") == "expired"
            and row.get("future", {}).get("validity") == "not_yet_valid")
    # A later TLS session moves the reference: the same-second near miss expires 2 s later.
    later = h.db("later.db")
    shutil.copy(db, later)
    con = sqlite3.connect(later)
    con.execute("INSERT INTO tls_sessions (run_id, ts) VALUES (1, ?)", (ts(ref + datetime.timedelta(seconds=2)),))
    con.commit()
    con.close()
    r, rows = certs(later, "--expired")
    h.check("--expired: the reference is the latest tls_sessions.ts when that is later than the run's end",
            got(rows) == ["edge", "expired"], str(got(rows)))
    # Far in the past: a certificate of 2005 is valid in a database of 2001, whatever the clock.
    old = h.db("2001.db")
    shutil.copy(db, old)
    con = sqlite3.connect(old)
    con.execute("UPDATE runs SET first_ts = '2001-06-01T00:00:00.000000Z', last_ts = '2001-06-01T12:00:00.000000Z'")
    con.execute("UPDATE tls_sessions SET ts = '2001-06-01T06:00:00.000000Z'")
    con.execute("UPDATE certificates SET not_before = '2000-01-01T00:00:00Z', not_after = '2005-01-01T00:00:00Z'")
    con.commit()
    con.close()
    r, rows = certs(old, "--expired")
    h.check("--expired: never the machine's clock (2005 certificates in a 2001 database)",
            r.returncode == 0 and rows == [], nzt.text(r.stdout + r.stderr))
    r, rows = certs(old)
    h.check("--expired: validity_at is the database's last packet time",
            rows and all(x["validity_at"] == "2001-06-01T12:00:00.000000Z" and x["validity"] == "valid"
                         for x in rows), json.dumps(rows[:1]))

    # ---- --untrusted ----
    r, rows = certs(db, "--untrusted")
    h.check("--untrusted: only the certificate of the untrusted sessions", got(rows) == ["untrusted"], str(got(rows)))

    # ---- --host ----
    for host, want in (("a.mx.example.test", ["mail", "mail2"]),
                       ("A.MX.Example.Test", ["mail", "mail2"]),
                       ("a.b.mx.example.test", []),
                       ("mx.example.test", []),
                       ("mail.example.test.", ["mail", "mail2"]),
                       ("legacy.example.test", ["legacy"]),
                       ("example.test", []),
                       ("2001:db8::7", ["untrusted"]),
                       ("198.51.100.7", ["untrusted"]),
                       ("192.0.2.99", ["int", "legacy"]),
                       ("2001:db8::25", ["int", "mail", "root"]),
                       ("%", []), ("_", [])):
        r, rows = certs(db, "--host", host)
        h.check(f"--host {host}", r.returncode == 0 and got(rows) == want, f"{got(rows)} want {want}")

    # ---- --sha256 ----
    r, rows = certs(db, "--sha256", sha["mail"][:8])
    h.check("--sha256: an 8-digit DER prefix, not its 7-digit twin", got(rows) == ["mail"], str(got(rows)))
    r, rows = certs(db, "--sha256", C["mail"]["spki_sha256"][:10])
    h.check("--sha256: an SPKI prefix finds both certificates of the key", got(rows) == ["mail", "mail2"],
            str(got(rows)))
    colons = ":".join(sha["untrusted"][i:i + 2] for i in range(0, 64, 2)).upper()
    r, rows = certs(db, "--sha256", colons)
    h.check("--sha256: the full value, upper case with ':' pairs", got(rows) == ["untrusted"], str(got(rows)))
    r, rows = certs(db, "--sha256", sha["legacy"])
    h.check("--sha256: the full 64 digits", got(rows) == ["legacy"], str(got(rows)))
    for bad in (sha["mail"][:7], "zzzzzzzz", sha["mail"] + "0", "%" * 8, ""):
        r, _ = certs(db, "--sha256", bad)
        h.check(f"--sha256 {bad!r}: exit 2 with a message", r.returncode == 2 and "--sha256" in nzt.text(r.stderr),
                f"exit {r.returncode}: {nzt.text(r.stderr)}")

    # ---- combined, --run, --limit, refused options ----
    r, rows = certs(db, "--untrusted", "--host", "mail.example.test")
    h.check("filters combine (AND)", r.returncode == 0 and rows == [], str(got(rows)))
    r, rows = certs(db, "--expired", "--host", "192.0.2.80")
    h.check("--expired --host SERVER", got(rows) == ["expired", "future"], str(got(rows)))
    r, rows = certs(db, "--run", "1")
    h.check("--run 1: every certificate presented in run 1", got(rows) == sorted(set(C) - {"unseen"}), str(got(rows)))
    r, rows = certs(db, "--run", "2")
    h.check("--run 2: none", r.returncode == 0 and rows == [], str(got(rows)))
    r, rows = certs(db, "--limit", "2")
    h.check("--limit 2", got(rows) == ["int", "root"], str(got(rows)))
    for args in (["certs", "--since", "2026-01-01"], ["certs", "--ip", "1.2.3.4"], ["certs", "--kind", "tls."],
                 ["tls", "--expired"], ["servers", "--untrusted"], ["findings", "--sha256", "0" * 8],
                 ["certs", "extra"]):
        r = nzt.run(args, db=db)
        h.check(f"{' '.join(args)}: exit 2", r.returncode == 2, f"exit {r.returncode}: {nzt.text(r.stderr)}")

    # ---- formats ----
    r = nzt.run(["certs"], db=db)
    out = nzt.text(r.stdout)
    lines = out.splitlines()
    head = lines[0].split() if lines else []
    h.check("table: the header", head == ["sha256", "subject_cn", "issuer_cn", "not_before", "not_after", "validity",
                                          "key", "san_dns", "spki_sha256", "first_seen", "last_seen", "servers",
                                          "positions", "trust"], str(head))
    h.check("table: one line per certificate and the count", len(lines) == 2 + len(C) + 1
            and lines[-1] == f"({len(C)} certificates)", out)
    h.check("table: the untrusted line", any(sha["untrusted"] in x and "untrusted" in x and "198.51.100.7:443" in x
                                             for x in lines), out)
    r = nzt.run(["certs", "--format", "csv", "--expired"], db=db)
    recs = list(csv.DictReader(io.StringIO(nzt.text(r.stdout))))
    h.check("csv: every column, the expired ones", r.returncode == 0 and len(recs) == 2
            and {"sha256", "validity_at", "trust_reasons", "san_ip", "key_bits", "sessions"} <= set(recs[0])
            and sorted(x["validity"] for x in recs) == ["expired", "not_yet_valid"], nzt.text(r.stdout))
    r = nzt.run(["certs", "--format", "json", "--sha256", sha["mail"]], db=db)
    try:
        js = [json.loads(x) for x in nzt.text(r.stdout).splitlines()]
    except ValueError:
        js = []
    h.check("json: one object, numbers bare", len(js) == 1 and js[0]["key_bits"] == 256 and js[0]["sessions"] == 3
            and js[0]["n_san_dns"] == 2, nzt.text(r.stdout))

    # ---- servers ----
    r = nzt.run(["servers", "--format", "json"], db=db)
    srv = {(x["server_ip"], x["server_port"]): x for x in map(json.loads, nzt.text(r.stdout).splitlines())}
    mx = srv.get(("192.0.2.25", 25), {})
    t0 = ref - datetime.timedelta(seconds=800)

    def at(s):
        return iso(t0 + datetime.timedelta(seconds=s))
    want = f"none {at(0)}, verified {at(10)}, untrusted {at(30)}, verified {at(40)}"
    h.check("servers: each change of level in time order", mx.get("security_levels") == want,
            f"{mx.get('security_levels')!r} want {want!r}")
    h.check("servers: the latest level (taken from tls_sessions when the mail row has none)",
            mx.get("security_level") == "verified", str(mx.get("security_level")))
    h.check("servers: the latest leaf, its issuer, SHA-256 and SPKI SHA-256",
            mx.get("leaf_subject_cn") == "mail.example.test" and mx.get("leaf_issuer_cn") == "Example Intermediate CA"
            and mx.get("leaf_sha256") == sha["mail2"] and mx.get("leaf_spki_sha256") == C["mail2"]["spki_sha256"],
            json.dumps(mx))
    h.check("servers: three distinct leaves", mx.get("leaf_certs") == 3, json.dumps(mx))
    h.check("servers: the counts that were there before", mx.get("sessions") == 5 and mx.get("starttls_accepted") == 4
            and mx.get("tls_established") == 4 and mx.get("sessions_in_clear") == 1, json.dumps(mx))
    v6 = srv.get(("192.0.2.66", 25), {})
    h.check("servers: a session of before v8: no level, the leaf from the v6 columns",
            v6.get("security_level") is None and v6.get("security_levels") is None
            and v6.get("leaf_subject_cn") == "v6.example.test" and v6.get("leaf_issuer_cn") == "Old CA"
            and v6.get("leaf_sha256") == fp("v6 leaf") and v6.get("leaf_spki_sha256") is None
            and v6.get("leaf_certs") == 1 and v6.get("starttls_accepted") == 1, json.dumps(v6))
    lo = srv.get(("127.0.0.1", 25), {})
    h.check("servers: the captured plaintext server: level none, no leaf",
            lo.get("security_level") == "none" and lo.get("leaf_sha256") is None and lo.get("leaf_certs") == 0,
            json.dumps(lo))
    r = nzt.run(["servers", "--server", "192.0.2.25", "--format", "csv"], db=db)
    recs = list(csv.DictReader(io.StringIO(nzt.text(r.stdout))))
    h.check("servers --server: one row; csv has the new columns", len(recs) == 1
            and recs[0]["security_level"] == "verified" and recs[0]["leaf_certs"] == "3", nzt.text(r.stdout))
    r = nzt.run(["servers"], db=db)
    head = nzt.text(r.stdout).splitlines()[0].split()
    h.check("servers table: the old columns first, the new after",
            head[:13] == ["server_ip", "server_port", "protocol", "sessions", "first_seen", "last_seen",
                          "starttls_offered", "starttls_accepted", "starttls_refused", "tls_established",
                          "tls_versions", "plaintext_logins", "findings_medium_up"]
            and head[13:] == ["security_level", "security_levels", "leaf_subject_cn", "leaf_issuer_cn",
                              "leaf_sha256", "leaf_spki_sha256"], str(head))
    # Filters reach the levels: only the sessions before the untrusted one.
    r = nzt.run(["servers", "--format", "json", "--until", ts(t0 + datetime.timedelta(seconds=25))], db=db)
    srv = {(x["server_ip"], x["server_port"]): x for x in map(json.loads, nzt.text(r.stdout).splitlines())}
    mx = srv.get(("192.0.2.25", 25), {})
    h.check("servers --until: the levels and the leaf of the sessions before it",
            mx.get("security_levels") == f"none {at(0)}, verified {at(10)}" and mx.get("leaf_sha256") == sha["mail"]
            and mx.get("sessions") == 3, json.dumps(mx))

    # ---- read-only ----
    before = {s: open(db + s, "rb").read() if os.path.exists(db + s) else None for s in ("", "-wal", "-shm")}
    for args in (["certs"], ["certs", "--expired", "--untrusted", "--host", "x.example.test"]):
        nzt.run(args, db=db)
    after = {s: open(db + s, "rb").read() if os.path.exists(db + s) else None for s in ("", "-wal", "-shm")}
    h.check("certs: the database is byte-identical afterwards, no side files", before == after)
    missing = os.path.join(h.tmp, "missing.db")
    r = nzt.run(["certs"], db=missing)
    h.check("certs on a missing path: exit 3, nothing created", r.returncode == 3 and not os.path.exists(missing),
            nzt.text(r.stderr))
    end_to_end()
    h.finish()


def end_to_end():
    db = h.db("e2e.db")
    caps = sorted(os.path.join(nzt.PCAPS, "tls", x) for x in os.listdir(os.path.join(nzt.PCAPS, "tls"))
                  if x.startswith("trust-") and x.endswith(".pcap"))
    caps += [nzt.pcap("mail", x) for x in ("smtp-starttls-greeting-match.pcap", "smtp-starttls-greeting-mismatch.pcap",
                                            "smtp-starttls-tls12.pcap", "smtp-no-starttls.pcap")]
    r = nzt.analyze(db, caps)
    h.check("e2e: analyze of the trust captures exits 0", r.returncode == 0, nzt.text(r.stderr))
    stored = {c["sha256"]: c for c in nzt.query(db, "SELECT * FROM certificates")}
    ref = nzt.query(db, "SELECT max(x) AS t FROM (SELECT max(last_ts) AS x FROM runs"
                        " UNION ALL SELECT max(ts) FROM tls_sessions)")[0]["t"]
    # Every presentation, as Python sees the tables.
    pres = {}
    for row in nzt.query(db, "SELECT ch.cert_sha256 AS cert, ch.position AS pos, t.id, t.trust, f.server_ip, f.server_port"
                             " FROM cert_chains ch JOIN tls_sessions t ON t.chain_sha256 = ch.chain_sha256"
                             " LEFT JOIN flows f ON f.id = t.flow_id UNION SELECT t.cert_sha256, 0, t.id, t.trust,"
                             " f.server_ip, f.server_port FROM tls_sessions t LEFT JOIN flows f ON f.id = t.flow_id"
                             " WHERE t.cert_sha256 IS NOT NULL"):
        pres.setdefault(row["cert"], []).append(row)
    r, rows = certs(db)
    listed = [x["sha256"] for x in rows]
    h.check("e2e: every stored certificate once", sorted(listed) == sorted(stored) and len(stored) >= 10,
            f"{len(listed)} listed, {len(stored)} stored")
    bad = []
    for x in rows:
        p = pres.get(x["sha256"], [])
        c = stored.get(x["sha256"], {})
        eps = sorted({(q["server_ip"], q["server_port"]) for q in p if q["server_ip"]})
        want_srv = ",".join((f"[{ip}]" if ":" in ip else ip) + f":{port}" for ip, port in eps) or None
        outcomes = {q["trust"] for q in p}
        want_trust = ",".join(w for w, k in (("trusted", "trusted"), ("untrusted", "untrusted"), ("unchecked", None))
                              if k in outcomes) or None
        pos = []
        if any(q["pos"] == 0 for q in p):
            pos.append("leaf")
        if any(q["pos"] > 0 for q in p):
            pos.append("root" if c.get("self_issued") else "intermediate")
        want = dict(servers=want_srv, trust=want_trust, positions=",".join(pos) or None,
                    sessions=len({q["id"] for q in p}), validity_at=ref, subject_cn=c.get("subject_cn"),
                    spki_sha256=c.get("spki_sha256"), san_dns=c.get("san_dns"), first_seen=c.get("first_seen"))
        diff = {k: (x.get(k), v) for k, v in want.items() if x.get(k) != v}
        if diff:
            bad.append((x["subject_cn"], diff))
    h.check("e2e: servers, trust, positions, sessions and facts of every row as the tables say", not bad, str(bad))
    h.check("e2e: the chain-with-root capture's root is a root", any(x["positions"] == "root" for x in rows),
            str([x["positions"] for x in rows]))

    def expired(c):
        return (c["not_after"] and c["not_after"][:19] < ref[:19]) or (c["not_before"] and c["not_before"][:19] > ref[:19])
    want = sorted(k for k, c in stored.items() if expired(c))
    r, rows = certs(db, "--expired")
    h.check("e2e: --expired is the expired intermediate (and whatever else the tables say)",
            sorted(x["sha256"] for x in rows) == want and any(
                "expired intermediate" in (stored[k]["subject_cn"] or "") for k in want), str(want))
    want = sorted(k for k, p in pres.items() if k in stored and any(q["trust"] == "untrusted" for q in p))
    r, rows = certs(db, "--untrusted")
    h.check("e2e: --untrusted as the sessions say, some but not all",
            sorted(x["sha256"] for x in rows) == want and 0 < len(want) < len(stored), str(len(want)))
    r, rows = certs(db, "--host", "anything.trust.netzwacht.test")
    h.check("e2e: --host under the wildcard certificate",
            [x["subject_cn"] for x in rows] == ["*.trust.netzwacht.test"], str([x["subject_cn"] for x in rows]))
    r, rows = certs(db, "--host", "a.b.trust.netzwacht.test")
    h.check("e2e: --host two labels under the wildcard: nothing", rows == [], str([x["subject_cn"] for x in rows]))

    # servers: the mail server's levels and leaf as its sessions say.
    sess = nzt.query(db, "SELECT m.id, m.ts, coalesce(m.security_level, t.security_level) AS level, t.cert_sha256"
                         " FROM smtp_sessions m LEFT JOIN tls_sessions t ON t.flow_id = m.flow_id AND m.tls_started = 1"
                         " WHERE m.server_ip = '127.0.0.1' AND m.server_port = 25 AND m.protocol = 'smtp'"
                         " ORDER BY m.ts, m.id")
    changes, prev = [], None
    for x in sess:
        if x["level"] is not None and x["level"] != prev:
            changes.append(f"{x['level']} {x['ts'][:19]}Z")
            prev = x["level"]
    leaves = [x["cert_sha256"] for x in sess if x["cert_sha256"]]
    r = nzt.run(["servers", "--format", "json", "--server", "127.0.0.1"], db=db)
    srv = [json.loads(x) for x in nzt.text(r.stdout).splitlines()]
    mx = [x for x in srv if x["server_port"] == 25 and x["protocol"] == "smtp"]
    mx = mx[0] if mx else {}
    h.check("e2e: servers: the levels over time as the sessions say, more than one",
            mx.get("security_levels") == ", ".join(changes) and len(changes) > 1
            and mx.get("security_level") == prev, f"{mx.get('security_levels')!r} want {', '.join(changes)!r}")
    lc = stored.get(leaves[-1] if leaves else None, {})
    h.check("e2e: servers: the latest leaf with its names and both fingerprints",
            leaves and mx.get("leaf_sha256") == leaves[-1] and mx.get("leaf_subject_cn") == lc.get("subject_cn")
            and mx.get("leaf_issuer_cn") == lc.get("issuer_cn") and mx.get("leaf_spki_sha256") == lc.get("spki_sha256")
            and mx.get("leaf_certs") == len(set(leaves)), json.dumps(mx))


if __name__ == "__main__":
    main()
