#!/usr/bin/env python3
"""Verdicts on the recorded captures, and the coverage rule.

- Each capture in pcaps/ yields exactly the set of (kind, severity) listed for it in
  tests/integ/verdicts.tsv (reviewed by hand: a new capture without a line fails).
- Coverage: every finding kind `netzwacht kinds` knows is produced by at least one capture and
  has a named near miss (a capture that must not produce it); the README documents every kind.
- History: STARTTLS advertised in one session and missing in a later one to the same server is
  `smtp.starttls_stripped` naming the earlier session; a refusal by a server that accepted
  STARTTLS before is high, not medium.
- Secrets: the password of the test captures (hunter2) and its base64/PLAIN forms appear nowhere
  in the database files.
- A clean STARTTLS session produces no smtp.* finding of medium or above.
"""
import base64
import glob
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import nzt  # noqa: E402

h = nzt.Harness("verdicts")
P = nzt.PCAPS
HERE = os.path.dirname(os.path.abspath(__file__))

# kind -> captures that must NOT produce it although they are the closest thing (near misses)
NEAR_MISS = {
    "tcp.overlap_mismatch": ["http-reorder-dup-rewritten.pcap"],
    "dissect.malformed": ["tls/tls13-sni-alpn.pcap", "http/http-get-post.pcap"],
    "tls.obsolete_version": ["tls/tls12-ecdhe-aead.pcap", "tls/tls13-sni-alpn.pcap"],
    "tls.weak_cipher": ["tls/tls12-ecdhe-aead.pcap", "tls/tls12-ecdsa.pcap"],
    "tls.client_offers_weak": ["tls/tls12-ecdhe-aead.pcap"],
    "tls.no_forward_secrecy": ["tls/tls12-dhe-2048.pcap", "tls/tls12-ecdhe-aead.pcap"],
    "tls.weak_dh": ["tls/tls12-dhe-2048.pcap"],
    "tls.compression": ["tls/tls12-dhe-2048.pcap"],
    "tls.insecure_renegotiation": ["tls/tls12-ecdhe-aead.pcap"],
    "tls.heartbeat": ["tls/tls12-ecdhe-aead.pcap"],
    "tls.heartbleed_attempt": ["tls/tls12-heartbeat-clear-synthetic.pcap", "tls/tls12-heartbeat.pcap",
                               "tls/tls12-heartbleed-encrypted-synthetic.pcap"],
    "tls.heartbleed_leak": ["tls/tls12-heartbeat-clear-synthetic.pcap", "tls/tls12-heartbeat.pcap"],
    "tls.fallback_scsv": ["tls/tls11.pcap"],
    "tls.inappropriate_fallback": ["tls/tls11.pcap"],
    "tls.downgrade_sentinel": ["tls/tls12-sentinel-benign.pcap"],
    "tls.offer_choice_mismatch": ["tls/tls12-null-sha.pcap", "tls/tls-export-cipher-synthetic.pcap"],
    "tls.cert_expired": ["tls/tls-cert-valid.pcap"],
    "tls.cert_self_signed": ["tls/tls-cert-valid.pcap"],
    "tls.cert_weak_key": ["tls/tls-cert-valid.pcap", "tls/tls12-ecdsa.pcap"],
    "tls.cert_weak_signature": ["tls/tls-cert-valid.pcap"],
    "tls.cert_name_mismatch": ["tls/tls-cert-valid.pcap", "tls/trust-wildcard-match.pcap",
                               "mail/smtp-starttls-greeting-match.pcap"],
    # verified against pcaps/tls/trust/root.pem (nzt.analyze names it): a good chain, and one
    # with its root sent along
    "tls.cert_untrusted": ["tls/trust-chain-good.pcap", "tls/trust-chain-with-root.pcap"],
    # the TLS server of the DROWN pair, alone: its key was never seen over SSLv2
    "tls.drown_exposed": ["tls/trust-drown-tls.pcap"],
    # a 90-day CA-issued leaf, recorded on the day it was made: neither expiring nor long-lived
    "tls.cert_expiring": ["tls/tls-cert-valid.pcap", "tls/tls12-ecdsa.pcap"],
    "tls.cert_long_validity": ["tls/tls-cert-valid.pcap", "tls/tls12-ecdsa.pcap"],
    "http.plaintext": ["tls/tls13-sni-alpn.pcap"],
    "http.basic_auth": ["http/http-digest-auth.pcap"],
    "http.auth_in_clear": ["http/http-basic-auth.pcap"],
    "http.form_credentials": ["http/http-get-post.pcap"],
    "http.url_credentials": ["http/http-get-post.pcap"],
    "http.cookie_in_clear": ["http/http-get-post.pcap"],
    "http.redirect_to_https": ["http/http-no-https-redirect.pcap"],
    "http.no_https_redirect": ["http/http-redirect-to-https.pcap"],
}
for proto, clean in (("smtp", "mail/smtp-starttls-tls13.pcap"), ("imap", "mail/imap-starttls.pcap"),
                     ("pop3", "mail/pop3-stls.pcap")):
    for k in ("starttls_stripped", "starttls_command_blocked", "starttls_refused", "starttls_failed",
              "starttls_injection", "starttls_not_used", "starttls_not_offered", "plaintext_auth"):
        NEAR_MISS[f"{proto}.{k}"] = [clean]
NEAR_MISS["smtp.plaintext_auth"].append("mail/smtp-auth-plain-tls.pcap")


def load_expected():
    exp = {}
    with open(os.path.join(HERE, "verdicts.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            kinds = set(parts[1].split()) if len(parts) > 1 and parts[1].strip() else set()
            exp[parts[0]] = kinds
    return exp


def captures():
    out = []
    for ext in ("*.pcap", "*.pcapng", "*.pcap.gz"):
        out += glob.glob(os.path.join(P, "**", ext), recursive=True)
    return sorted(os.path.relpath(p, P) for p in out
                  if os.sep + "bad" + os.sep not in p and os.sep + "gen" + os.sep not in p)


def kinds_of(rel):
    """rel is one capture, or several joined by '+' analysed together in one run (a verdict
    across sessions, such as tls.drown_exposed)."""
    db = h.db()
    r = nzt.analyze(db, [os.path.join(P, x) for x in rel.split("+")])
    if r.returncode not in (0, 1):
        return None, nzt.text(r.stderr)
    rows = nzt.query(db, "SELECT DISTINCT kind, severity FROM findings")
    return {f"{x['kind']}:{x['severity']}" for x in rows}, ""


def main():
    exp = load_expected()
    produced = {}
    for rel in captures():
        got, err = kinds_of(rel)
        if got is None:
            h.check(f"{rel}: analysed", False, err)
            continue
        produced[rel] = got
        if rel not in exp:
            h.check(f"{rel}: has a reviewed line in verdicts.tsv", False, "produces: " + " ".join(sorted(got)))
            continue
        h.check(f"{rel}: verdicts {' '.join(sorted(exp[rel])) or '(none)'}", got == exp[rel],
                f"missing {sorted(exp[rel] - got)}, unexpected {sorted(got - exp[rel])}")
    for rel in exp:
        if "+" in rel:  # a set analysed together
            got, err = kinds_of(rel)
            if h.check(f"{rel}: analysed together", got is not None, err):
                produced[rel] = got
                h.check(f"{rel}: verdicts {' '.join(sorted(exp[rel])) or '(none)'}", got == exp[rel],
                        f"missing {sorted(exp[rel] - got)}, unexpected {sorted(got - exp[rel])}")
            continue
        h.check(f"verdicts.tsv line {rel} names an existing capture", rel in produced or os.path.exists(os.path.join(P, rel)))

    # coverage rule
    kinds = [l.split()[0] for l in nzt.text(nzt.run(["kinds"]).stdout).splitlines() if l.strip()]
    h.check("kinds listed", len(kinds) >= 40, str(len(kinds)))
    readme = open(os.path.join(nzt.SRC, "README.md")).read()
    for k in kinds:
        shown = [rel for rel, ks in produced.items() if any(x.split(":")[0] == k for x in ks)]
        h.check(f"{k}: a capture produces it", bool(shown))
        nm = NEAR_MISS.get(k)
        if h.check(f"{k}: has a near miss", bool(nm)):
            for rel in nm:
                ks = produced.get(rel)
                h.check(f"{k}: near miss {rel} does not produce it",
                        ks is not None and not any(x.split(":")[0] == k for x in ks), str(ks))
        h.check(f"{k}: documented in README", f"`{k}`" in readme)

    # clean STARTTLS: no smtp.* finding of medium or above
    for rel in ("mail/smtp-starttls-tls13.pcap", "mail/smtp-starttls-tls12.pcap", "mail/smtp-starttls-ipv6.pcap"):
        db = h.db()
        nzt.analyze(db, [os.path.join(P, rel)])
        bad = nzt.query(db, "SELECT kind FROM findings WHERE kind LIKE 'smtp.%' AND severity_rank >= 2")
        h.check(f"{rel}: clean STARTTLS has no smtp.* finding >= medium", not bad, str(bad))
        tls = nzt.query(db, "SELECT started_by, handshake_complete FROM tls_sessions")
        h.check(f"{rel}: TLS session started by smtp-starttls", tls and tls[0]["started_by"] == "smtp-starttls"
                and tls[0]["handshake_complete"] == 1, str(tls))

    # history: offered, then not offered, same server, one database, two runs
    db = h.db()
    nzt.analyze(db, [os.path.join(P, "mail", "smtp-history-1-offered.pcap")])
    nzt.analyze(db, [os.path.join(P, "mail", "smtp-history-2-not-offered.pcap")])
    st = nzt.findings(db, "smtp.starttls_stripped")
    first = nzt.query(db, "SELECT id, ts FROM smtp_sessions ORDER BY ts LIMIT 1")
    ok = len(st) == 1 and first
    ev = nzt.evidence(st[0]) if st else {}
    h.check("history: stripped raised once in the second session", ok, str(st))
    h.check("history: evidence names the earlier session",
            ok and ev.get("basis") == "history" and ev.get("last_offered_session") == first[0]["id"]
            and ev.get("last_offered_ts") == first[0]["ts"], str(ev))
    db = h.db()
    nzt.analyze(db, [os.path.join(P, "mail", "smtp-history-2-not-offered.pcap")])
    h.check("history: alone, the second capture is not stripped", not nzt.findings(db, "smtp.starttls_stripped"))
    # refusal after earlier acceptance is high
    db = h.db()
    nzt.analyze(db, [os.path.join(P, "mail", "smtp-starttls-454.pcap")])
    ref = nzt.findings(db, "smtp.starttls_refused")
    h.check("refused alone: medium", len(ref) == 1 and ref[0]["severity"] == "medium", str(ref))
    db = h.db()
    nzt.analyze(db, [os.path.join(P, "mail", "smtp-history-1-offered.pcap")])
    nzt.analyze(db, [os.path.join(P, "mail", "smtp-starttls-454.pcap")])
    ref = nzt.findings(db, "smtp.starttls_refused")
    h.check("refused by a server that accepted STARTTLS before: high with evidence",
            len(ref) == 1 and ref[0]["severity"] == "high" and "accepted_before" in nzt.evidence(ref[0]), str(ref))
    r = nzt.run(["servers", "--format", "json"], db=db)
    h.check("servers: one line for the server with accepted and refused counts",
            '"starttls_accepted":1' in nzt.text(r.stdout) and '"starttls_refused":1' in nzt.text(r.stdout),
            nzt.text(r.stdout))

    # secrets never stored
    db = h.db("secrets.db")
    caps = [os.path.join(P, x) for x in ("http/http-basic-auth.pcap", "http/http-form-login.pcap",
                                          "http/http-form-multipart.pcap", "http/http-url-credentials.pcap",
                                          "http/http-digest-auth.pcap")]
    caps += sorted(glob.glob(os.path.join(P, "mail", "*clear*.pcap")))
    r = nzt.analyze(db, caps)
    h.check("credential captures analysed", r.returncode == 0, nzt.text(r.stderr))
    blob = b""
    for sfx in ("", "-wal", "-shm"):
        if os.path.exists(db + sfx):
            blob += open(db + sfx, "rb").read()
    secrets = [b"hunter2", base64.b64encode(b"alice:hunter2"), base64.b64encode(b"hunter2"),
               base64.b64encode(b"\0alice\0hunter2"), base64.b64encode(b"alice\0alice\0hunter2")]
    for sec in secrets:
        h.check(f"secret {sec[:12]!r}... appears nowhere in the database", sec not in blob)
    users = nzt.query(db, "SELECT auth_user FROM http_requests WHERE auth_user IS NOT NULL "
                          "UNION SELECT auth_user FROM smtp_sessions WHERE auth_user IS NOT NULL")
    h.check("user names are recorded", any(u["auth_user"] == "alice" for u in users), str(users))
    h.finish()


if __name__ == "__main__":
    main()
