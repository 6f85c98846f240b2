#!/usr/bin/env python3
"""certchain.py - what OpenSSL says about the certificate chain a recorded server sent.

Usage (from pcaps/gen/tls.sh and mail.sh; python3 standard library, tshark, openssl):
  certchain.py verify PCAP HOST OUT.tsv BASE CA_REL:WANT [CA_REL:WANT ...]

Takes the server's certificate list from the first cleartext TLS Certificate message of PCAP
(tshark: tls.handshake.certificate; STARTTLS on ports 25/587/143/110 is decoded by tshark on its
own, any other port of a SYN is decoded as TLS), and runs for every CA file
  openssl verify -attime T -CAfile BASE/CA_REL -untrusted <certificates 2..n as sent>
                 -verify_hostname HOST <certificate 1>
where T is the time of the frame that carries the Certificate message (packet time, so the
verdict is the one that held when the capture was recorded, not at the time of a later run).
WANT is "ok" or the OpenSSL X509_V_ERR number the verification must stop with (e.g. 20
unable to get local issuer certificate, 10 certificate has expired, 7 certificate signature
failure, 19 self-signed certificate in certificate chain, 62 hostname mismatch); the script
exits 1 when OpenSSL says something else, so a capture that does not show its case is never
installed. OUT.tsv (an expectation file next to the capture) lists the certificates as sent
(position, SHA-256 of the DER, SHA-256 of the SubjectPublicKeyInfo, subject, issuer, validity
in RFC 2253 / ISO form) and one row per CA file (path relative to pcaps/, host, result,
error number, depth, OpenSSL's message). Fingerprints and dates change with every
regeneration of the capture (the PKI is made anew each time); the result columns do not.
"""

import datetime
import hashlib
import os
import re
import subprocess
import sys
import tempfile

STARTTLS_PORTS = {25, 587, 143, 110}


def tshark(path, args):
    return subprocess.run(["tshark", "-n", "-r", path] + args, check=True,
                          capture_output=True, text=True).stdout


def server_chain(path):
    """(frame time, [DER, ...]) of the first Certificate message of PCAP."""
    ports = {int(p) for p in tshark(path, ["-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0",
                                           "-T", "fields", "-e", "tcp.dstport"]).split()}
    decode = []
    for p in sorted(ports - STARTTLS_PORTS):
        decode += ["-d", f"tcp.port=={p},tls"]
    out = tshark(path, decode + ["-Y", "tls.handshake.type == 11", "-T", "fields",
                                 "-E", "occurrence=a", "-E", "aggregator=,",
                                 "-e", "frame.time_epoch", "-e", "tls.handshake.certificate"])
    for line in out.splitlines():
        ts, certs = (line.split("\t") + [""])[:2]
        if certs:
            return float(ts), [bytes.fromhex(c) for c in certs.split(",")]
    raise SystemExit(f"{path}: no cleartext Certificate message")


def ossl(args, data=None):
    return subprocess.run(["openssl"] + args, input=data, capture_output=True)


def pem(der):
    r = ossl(["x509", "-inform", "DER", "-outform", "PEM"], der)
    if r.returncode:
        raise SystemExit("openssl x509 cannot read a certificate: " + r.stderr.decode())
    return r.stdout


def describe(der):
    text = ossl(["x509", "-inform", "DER", "-noout", "-nameopt", "RFC2253", "-subject",
                 "-issuer", "-startdate", "-enddate"], der).stdout.decode()
    f = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    spki = ossl(["x509", "-inform", "DER", "-noout", "-pubkey"], der).stdout
    spki_der = ossl(["pkey", "-pubin", "-outform", "DER"], spki).stdout

    def iso(s):
        return datetime.datetime.strptime(s.strip(), "%b %d %H:%M:%S %Y GMT").strftime("%Y-%m-%dT%H:%M:%SZ")
    return [hashlib.sha256(der).hexdigest(), hashlib.sha256(spki_der).hexdigest(),
            f["subject"].strip(), f["issuer"].strip(), iso(f["notBefore"]), iso(f["notAfter"])]


def verify(ts, chain, cafile, host, tmp):
    leaf = os.path.join(tmp, "leaf.pem")
    with open(leaf, "wb") as f:
        f.write(pem(chain[0]))
    args = ["verify", "-attime", str(int(ts)), "-CAfile", cafile, "-verify_hostname", host]
    if len(chain) > 1:
        inter = os.path.join(tmp, "untrusted.pem")
        with open(inter, "wb") as f:
            for der in chain[1:]:
                f.write(pem(der))
        args += ["-untrusted", inter]
    r = ossl(args + [leaf])
    out = (r.stdout + r.stderr).decode()
    if r.returncode == 0 and re.search(r": OK$", out, re.M):
        return ["ok", "-", "-", "-"]
    m = re.search(r"^error (\d+) at (\d+) depth lookup: (.*)$", out, re.M)
    if not m:
        raise SystemExit("unexpected openssl verify output:\n" + out)
    return ["fail", m.group(1), m.group(2), m.group(3)]


def main(argv):
    if len(argv) < 7 or argv[1] != "verify":
        sys.stderr.write(__doc__)
        return 2
    pcap, host, out_path, base = argv[2:6]
    ts, chain = server_chain(pcap)
    version = ossl(["version"]).stdout.decode().strip()
    lines = [f"# openssl verify of the certificate list the server sent in {os.path.basename(pcap)} "
             f"(pcaps/gen/certchain.py, {version}; -attime {int(ts)} = time of the Certificate frame, "
             f"-verify_hostname {host})",
             "#position\tsha256\tspki_sha256\tsubject\tissuer\tnot_before\tnot_after"]
    for i, der in enumerate(chain):
        lines.append("\t".join([str(i)] + describe(der)))
    lines.append("#ca_file\thost\tresult\terror\tdepth\tmessage")
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in argv[6:]:
            rel, want = spec.rsplit(":", 1)
            res = verify(ts, chain, os.path.join(base, rel), host, tmp)
            lines.append("\t".join([rel, host] + res))
            got = "ok" if res[0] == "ok" else res[1]
            if got != want:
                bad.append(f"{rel}: openssl verify says {' '.join(res)}, want {want}")
    if bad:
        sys.stderr.write(f"{pcap}:\n  " + "\n  ".join(bad) + "\n")
        return 1
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
