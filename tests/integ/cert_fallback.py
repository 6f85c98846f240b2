#!/usr/bin/env python3
"""Certificates wolfSSL refuses keep their facts (issue #11), on the public captures of the
shared corpus (../shared/corpus, read-only, never copied into the repository):

  ndpi/tls-rdn-extract.pcap        a valid certificate with 44 CNs (wolfSSL ASN_PARSE_E -140):
                                   subject, issuer and fingerprint are stored, the run counts
                                   one asn_parse refusal read by the DER walk
  suricata-verify tls/tls-pre-1970 notBefore in 1969: stored as a 1969 date
  zeek/tls/ml-dsa-44-cert.pcap     an ML-DSA-44 signature (wolfSSL ASN_UNKNOWN_OID_E -148):
                                   self-signed and not yet valid at the packet time, with the
                                   signature OID named; the DER itself is fine (der_broken 0)
  ndpi/malware.pcap                SNI www.internetbadguys.com, certificate for api.opendns.com
                                   whose SAN list is longer than the kept 512 bytes:
                                   tls.cert_name_mismatch all the same

When the corpus is absent (a user's clone has none) the test skips with one SKIP line."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import nzt  # noqa: E402

CASES = {
    "rdn": "pcaps/ndpi/tls-rdn-extract.pcap",
    "pre1970": "pcaps/suricata-verify/tls/tls-pre-1970/input.pcap",
    "mldsa": "pcaps/zeek/tls/ml-dsa-44-cert.pcap",
    "malware": "pcaps/ndpi/malware.pcap",
}


def run_one(h, key):
    path = os.path.join(nzt.CORPUS, CASES[key])
    db = h.db(key + ".db")
    p = nzt.analyze(db, [path])
    h.check(f"{key}: analyze exits 0", p.returncode == 0, p.stderr)
    rows = nzt.query(db, "SELECT sni, cert_subject, cert_issuer, cert_not_before, cert_not_after, "
                         "cert_sig_alg, cert_self_signed, cert_sha256 FROM tls_sessions "
                         "WHERE cert_count > 0")
    rows = [tuple(r.values()) for r in rows]
    kinds = [r["kind"] for r in nzt.query(db, "SELECT kind FROM findings")]
    counters = json.loads(nzt.query(db, "SELECT counters FROM runs")[0]["counters"])
    return rows, kinds, counters.get("certificates", {})


def main():
    h = nzt.Harness("cert_fallback")
    if not os.path.isfile(os.path.join(nzt.CORPUS, "MANIFEST.tsv")):
        h.skip("certificates wolfSSL refuses (public corpus)",
               f"corpus not found at {nzt.CORPUS} (it is not part of the repository)")
        h.finish()

    rows, kinds, certs = run_one(h, "rdn")
    h.check("rdn: one session with a certificate", len(rows) == 1, rows)
    if rows:
        sni, subj, issuer, nb, na, sig, ss, fp = rows[0]
        h.check("rdn: subject", subj == "*.vo.msecnd.net", subj)
        h.check("rdn: issuer", issuer == "Microsoft Secure Server Authority", issuer)
        h.check("rdn: fingerprint", fp and len(fp) == 64, fp)
        h.check("rdn: validity", nb == "2011-10-21T16:42:03.000000Z"
                and na == "2013-10-20T16:42:03.000000Z", (nb, na))
        h.check("rdn: signature", sig == "sha1WithRSAEncryption", sig)
    h.check("rdn: counted as asn_parse, read by the DER walk",
            certs.get("wolfssl_refused") == {"asn_parse": 1} and certs.get("read_by_der_walk") == 1
            and certs.get("der_broken") == 0, certs)
    h.check("rdn: SHA-1 signature judged", "tls.cert_weak_signature" in kinds, kinds)

    rows, kinds, certs = run_one(h, "pre1970")
    h.check("pre1970: one session with a certificate", len(rows) == 1, rows)
    if rows:
        h.check("pre1970: notBefore in 1969", (rows[0][3] or "").startswith("1969-"), rows[0])
        h.check("pre1970: subject", rows[0][1] == "fkp.samsungcloudsolution.com", rows[0])
        h.check("pre1970: fingerprint", rows[0][7] and len(rows[0][7]) == 64, rows[0])
    h.check("pre1970: not expired, not malformed",
            not [k for k in kinds if k.startswith("tls.cert_")], kinds)
    h.check("pre1970: read by the DER walk", certs.get("read_by_der_walk") == 1, certs)

    rows, kinds, certs = run_one(h, "mldsa")
    h.check("mldsa: one session with a certificate", len(rows) == 1, rows)
    if rows:
        sni, subj, issuer, nb, na, sig, ss, fp = rows[0]
        h.check("mldsa: self-signed", ss == 1 and subj == issuer == "ml-dsa.example.com", rows[0])
        h.check("mldsa: signature OID named", sig == "oid-2.16.840.1.101.3.4.3.17", sig)
        h.check("mldsa: fingerprint", fp and len(fp) == 64, fp)
    h.check("mldsa: self-signed finding", "tls.cert_self_signed" in kinds, kinds)
    h.check("mldsa: not yet valid at the packet time", "tls.cert_expired" in kinds, kinds)
    ev = nzt.query(os.path.join(h.tmp, "mldsa.db"),
                   "SELECT evidence FROM findings WHERE kind = 'tls.cert_expired'")
    h.check("mldsa: state not_yet_valid",
            bool(ev) and json.loads(ev[0]["evidence"]).get("state") == "not_yet_valid", ev)
    h.check("mldsa: counted as unknown_oid, DER fine",
            certs.get("wolfssl_refused") == {"unknown_oid": 1} and certs.get("der_broken") == 0,
            certs)
    h.check("mldsa: no tls.cert_malformed", "tls.cert_malformed" not in kinds, kinds)

    rows, kinds, certs = run_one(h, "malware")
    bad = [r for r in rows if r[0] == "www.internetbadguys.com"]
    h.check("malware: the opendns session", len(bad) == 1 and bad[0][1] == "api.opendns.com", rows)
    h.check("malware: tls.cert_name_mismatch", kinds.count("tls.cert_name_mismatch") == 1, kinds)
    h.check("malware: every certificate read by wolfSSL",
            certs.get("leaves") == 2 and certs.get("wolfssl_refused") == {}, certs)
    h.finish()


if __name__ == "__main__":
    main()
