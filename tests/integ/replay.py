#!/usr/bin/env python3
"""Live path, short version: recorded captures replayed with tcpreplay onto a veth pair in a
network namespace of our own, `netzwacht watch --workers 2` (then `--workers 1`) capturing on
the peer, and the result compared with `netzwacht analyze` of the same files.

Asserted per round: watch starts and stops on SIGINT with exit 0; libpcap dropped nothing; it saw
exactly the replayed packets; and the content matches the offline analysis: the same flows
(endpoints, packets, bytes per direction, application label), TLS sessions (SNI, version,
cipher, how they started, certificate), STARTTLS sessions (offer, request, reply, verdict
bits) and their findings, HTTP requests (method, host, path, status). The kernel stamps the
replayed packets with the wall clock, so nothing that depends on packet time is compared
(timestamps, and the certificate verdicts relative to packet time: tls.cert_expired,
tls.cert_expiring). No timing claims.

The three captures (tls/tls13-sni-alpn, mail/smtp-starttls-injection,
http/http-no-https-redirect) hold TLS 1.3 and 1.2 handshakes, a STARTTLS SMTP session with a
verdict, plaintext HTTP and the end-of-run http.no_https_redirect rule; their flows have
distinct 5-tuples, so tcpreplay sends them one after the other in one call.

Needs root (namespaces, raw sockets); skips with a message otherwise. Touches only the
namespace it creates (both veth ends live in it, IPv6 off so the kernel adds no packets of its
own) and deletes it in every path; stops only the processes it started, by PID. About 10 s."""
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import nzt  # noqa: E402

h = nzt.Harness("replay")
CAPS = ["tls/tls13-sni-alpn.pcap", "mail/smtp-starttls-injection.pcap", "http/http-no-https-redirect.pcap"]
TIME_RELATIVE = ("tls.cert_expired", "tls.cert_expiring")  # judged against packet time
NS = f"nzreplay{os.getpid()}"
TX, RX = "nzr-tx", "nzr-rx"  # names inside our namespace only


def sh(*args, check=True, timeout=30):
    r = subprocess.run(list(args), capture_output=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {r.returncode}: {nzt.text(r.stderr).strip()}")
    return r


def netns_up():
    sh("ip", "netns", "add", NS)
    # no IPv6: no router solicitations / MLD reports of the kernel's own on the capture link
    sh("ip", "netns", "exec", NS, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
       "net.ipv6.conf.default.disable_ipv6=1", check=False)
    # loopback captures carry frames up to 1552 bytes here: room for any of them
    sh("ip", "-n", NS, "link", "add", TX, "mtu", "65535", "type", "veth", "peer", "name", RX, "mtu", "65535")
    sh("ip", "-n", NS, "link", "set", TX, "up")
    sh("ip", "-n", NS, "link", "set", RX, "up")


def netns_down():
    if NS in nzt.text(sh("ip", "netns", "list", check=False).stdout).split():
        sh("ip", "netns", "del", NS, check=False)


class Watch:
    """netzwacht watch inside the namespace; stderr drained by a thread (never blocks)."""

    def __init__(self, db, workers):
        # `ip netns exec` execs the command after setns: the PID is netzwacht's own
        self.p = subprocess.Popen(["ip", "netns", "exec", NS, nzt.BIN, "--db", db, "watch", "-i", RX,
                                   "--stats-interval", "1", "--workers", str(workers)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err = []
        self.ready = threading.Event()
        self.t = threading.Thread(target=self._drain, daemon=True)
        self.t.start()

    def _drain(self):
        for line in iter(self.p.stderr.readline, b""):
            self.err.append(nzt.text(line))
            if "capturing on" in self.err[-1]:
                self.ready.set()
        self.ready.set()  # EOF: exited

    def started(self, timeout=15):
        self.ready.wait(timeout)
        return self.p.poll() is None and any("capturing on" in l for l in self.err)

    def stop(self, timeout=30):
        """SIGINT by PID; SIGKILL if it does not end. Returns the exit code (None if killed)."""
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGINT)
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.p.pid, signal.SIGKILL)
            self.p.wait(10)
            self.t.join(5)
            return None
        self.t.join(5)
        return self.p.returncode

    def stderr(self):
        return "".join(self.err)


def flow4(fl):
    return (fl["client_ip"], fl["client_port"], fl["server_ip"], fl["server_port"])


def content(db):
    """Multisets (sorted lists) of what must agree between live and offline."""
    flows = nzt.query(db, "SELECT * FROM flows")
    ep = {f["id"]: flow4(f) for f in flows}
    out = {
        "flows": sorted((*flow4(f), f["app_proto"], f["orient"], f["pkts_c2s"], f["pkts_s2c"], f["bytes_c2s"],
                         f["bytes_s2c"], f["payload_c2s"], f["payload_s2c"]) for f in flows),
        "tls_sessions": sorted((ep.get(t["flow_id"]), t["started_by"], t["handshake_complete"], t["sni"], t["version"],
                                t["cipher"], t["alpn_chosen"], t["cert_sha256"])
                               for t in nzt.query(db, "SELECT * FROM tls_sessions")),
        "smtp_sessions": sorted((ep.get(m["flow_id"]), m["protocol"], m["greeting_host"], m["starttls_offered"],
                                 m["starttls_requested"], m["starttls_reply_code"], m["starttls_accepted"],
                                 m["tls_started"], m["plaintext_commands"], m["verdicts"])
                                for m in nzt.query(db, "SELECT * FROM smtp_sessions")),
        "http_requests": sorted((ep.get(r["flow_id"]), r["method"], r["host"], r["path"], r["status"])
                                for r in nzt.query(db, "SELECT * FROM http_requests")),
        "findings": sorted((ep.get(f["flow_id"]), f["kind"], f["severity"]) for f in nzt.findings(db)
                           if f["kind"] not in TIME_RELATIVE),
    }
    return out


def diff(a, b):
    only_a = [x for x in a if x not in b]
    only_b = [x for x in b if x not in a]
    return f"only offline: {only_a[:5]}; only live: {only_b[:5]} ({len(a)} vs {len(b)} rows)"


def tcpreplay_count(out, what):
    """The number on tcpreplay's 'Successful packets: N' / 'Failed packets: N' line."""
    for line in out.splitlines():
        if line.strip().startswith(what + ":"):
            try:
                return int(line.split(":", 1)[1].split()[0])
            except (IndexError, ValueError):
                return None
    return None


def wait_packets(db, want, w, timeout=20):
    """Polls runs.packets (committed every --stats-interval) until want packets were seen."""
    end = time.time() + timeout
    got = None
    while time.time() < end and w.p.poll() is None:
        try:
            rows = nzt.query(db, "SELECT packets FROM runs")
            got = rows[0]["packets"] if rows else None
        except Exception:  # database not created yet or locked for a moment
            got = None
        if got is not None and got >= want:
            return got
        time.sleep(0.2)
    return got


def round_(workers, paths, ref, ref_packets):
    label = f"--workers {workers}"
    db = os.path.join(h.tmp, f"live-w{workers}.db")
    w = Watch(db, workers)
    try:
        if not h.check(f"{label}: watch starts in the namespace", w.started(), w.stderr()[:600]):
            return
        r = sh("ip", "netns", "exec", NS, "tcpreplay", f"--intf1={TX}", "--topspeed", *paths, check=False, timeout=120)
        out = nzt.text(r.stdout) + nzt.text(r.stderr)
        h.check(f"{label}: tcpreplay sent the {ref_packets} packets, none failed",
                r.returncode == 0 and tcpreplay_count(out, "Successful packets") == ref_packets
                and tcpreplay_count(out, "Failed packets") == 0, out[-800:])
        seen = wait_packets(db, ref_packets, w)
        rc = w.stop()
    finally:
        if w.p.poll() is None:
            w.stop(5)
    err = w.stderr()
    h.check(f"{label}: SIGINT ends watch with exit 0", rc == 0, f"exit {rc}: {err[-800:]}")
    runs = nzt.query(db, "SELECT * FROM runs") if os.path.exists(db) else []
    run = runs[0] if len(runs) == 1 else {}
    drops = f"libpcap: recv {run.get('pcap_recv')}, drop {run.get('pcap_drop')}, ifdrop {run.get('pcap_ifdrop')}"
    h.check(f"{label}: one finished live run", run.get("mode") == "live" and run.get("finished") == 1, str(runs))
    h.check(f"{label}: libpcap dropped nothing ({drops})",
            run.get("pcap_drop") == 0 and run.get("pcap_ifdrop") in (0, None), f"{drops}; stderr: {err[-600:]}")
    h.check(f"{label}: watch saw exactly the {ref_packets} replayed packets",
            run.get("packets") == ref_packets, f"runs.packets {run.get('packets')} (last poll {seen}); {drops}")
    if not run:
        return
    got = content(db)
    for t, rows in ref.items():
        h.check(f"{label}: {t} as offline ({len(rows)})", got[t] == rows,
                f"{diff(rows, got[t])}; {drops}")


def main():
    if os.geteuid() != 0:
        h.skip("tcpreplay onto a veth pair", "not root (network namespaces and live capture need root)")
        h.finish()
    missing = [t for t in ("ip", "tcpreplay") if not shutil.which(t)]
    if not h.check("ip and tcpreplay installed (.ci/deps.sh installs them)", not missing, f"missing: {missing}"):
        h.finish()
    paths = [nzt.pcap(c) for c in CAPS]
    # meson's timeout sends SIGTERM: unwind through the finally blocks (watch stopped, namespace deleted)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("replay: terminated"))

    # the reference: the same files, offline, one run
    ref_db = h.db("offline.db")
    r = nzt.analyze(ref_db, paths, ["-q"])
    if not h.check("offline analysis of the three captures", r.returncode == 0, nzt.text(r.stderr)):
        h.finish()
    ref = content(ref_db)
    ref_packets = nzt.query(ref_db, "SELECT packets FROM runs")[0]["packets"]
    ports = [f[:4] for f in ref["flows"]]
    h.check("the replayed flows have distinct 5-tuples (one tcpreplay call is safe)", len(set(ports)) == len(ports),
            str(ports))
    h.check("reference has TLS, STARTTLS, HTTP and a mail verdict",
            len(ref["tls_sessions"]) == 3 and any(t[1] == "smtp-starttls" for t in ref["tls_sessions"])
            and len(ref["http_requests"]) >= 1 and len(ref["smtp_sessions"]) == 1
            and any(f[1] == "smtp.starttls_injection" for f in ref["findings"])
            and any(f[1] == "http.no_https_redirect" for f in ref["findings"]), str(ref))

    try:
        try:
            netns_up()
            have_ns = True
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            h.skip("tcpreplay onto a veth pair", f"cannot create a network namespace with a veth pair here: {e}")
            have_ns = False
        if have_ns:
            for workers in (2, 1):
                round_(workers, paths, ref, ref_packets)
    finally:
        netns_down()
        left = nzt.text(sh("ip", "netns", "list", check=False).stdout).split()
        h.check("namespace and veth pair removed", NS not in left, str(left))
    h.finish()


if __name__ == "__main__":
    main()
