#!/usr/bin/env python3
"""Live capture: `netzwacht watch -i lo` against a local HTTP server (needs root or
CAP_NET_RAW; skips with a message otherwise). Talks only to 127.0.0.1; stops only the
processes it started, by PID."""
import http.server
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import nzt  # noqa: E402

h = nzt.Harness("live")


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        body = b"netzwacht live test\n" * 50
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def can_capture():
    if os.geteuid() != 0:
        return "not root (live capture on lo needs root or CAP_NET_RAW)"
    return None


def start_server():
    srv = socketserver.TCPServer(("127.0.0.1", 0), Quiet)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv, srv.server_address[1]


def wait_ready(proc, timeout=10):
    """watch prints 'capturing on' once the handle, database and privileges are set."""
    end = time.time() + timeout
    buf = b""
    while time.time() < end:
        line = proc.stderr.readline()
        if not line:
            break
        buf += line
        if b"capturing on" in line:
            return True, buf
    return False, buf


def watch(db, port, extra=()):
    return subprocess.Popen([nzt.BIN, "--db", db, "watch", "-i", "lo", "-f", f"tcp port {port}",
                             "--stats-interval", "1", *extra],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE)


def get(port, n):
    for i in range(n):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/page{i}", timeout=5) as r:
            r.read()


def main():
    why = can_capture()
    if why:
        h.skip("watch -i lo", why)
        h.finish()
    srv, port = start_server()
    try:
        # 1. capture three requests, stop with SIGINT: rows committed, counters recorded
        db = h.db()
        p = watch(db, port)
        ok, err = wait_ready(p)
        if h.check("watch starts", ok, nzt.text(err)):
            get(port, 3)
            time.sleep(2.5)  # past one --stats-interval
            mid = nzt.query(db, "SELECT packets, finished FROM runs")
            h.check("periodic stats committed while running", mid and mid[0]["packets"] > 0 and not mid[0]["finished"],
                    str(mid))
            os.kill(p.pid, signal.SIGINT)
            out, rest = p.communicate(timeout=20)
            err += rest
            h.check("SIGINT: exit 0", p.returncode == 0, nzt.text(err))
            runs = nzt.query(db, "SELECT * FROM runs")
            h.check("run is live and finished", runs and runs[0]["mode"] == "live" and runs[0]["finished"] == 1, str(runs))
            h.check("libpcap counters recorded", runs and runs[0]["pcap_recv"] is not None and runs[0]["pcap_recv"] > 0,
                    str(runs))
            fl = nzt.query(db, "SELECT * FROM flows WHERE server_port = ?", (port,))
            h.check("three flows to the server", len(fl) == 3, str(len(fl)))
            h.check("flows labelled HTTP by our dissector", all(f["app_proto"] == "HTTP" for f in fl),
                    str([f["app_proto"] for f in fl]))
            h.check("handshake-oriented (client = the ephemeral side)", all(f["orient"] == "syn" for f in fl))
            reqs = nzt.query(db, "SELECT path FROM http_requests ORDER BY ts")
            h.check("requests recorded", [r["path"] for r in reqs] == ["/page0", "/page1", "/page2"], str(reqs))
        # 2. SIGTERM and --user nobody (drops root after opening the handle, before the
        #    database, which nobody creates in a folder of its own)
        import pwd
        nobody = pwd.getpwnam("nobody")
        udir = os.path.join(h.tmp, "nobody")
        os.mkdir(udir, 0o700)
        os.chown(udir, nobody.pw_uid, nobody.pw_gid)
        os.chmod(h.tmp, 0o711)
        db = os.path.join(udir, "user.db")
        p = watch(db, port, ["--user", "nobody"])
        ok, err = wait_ready(p)
        if h.check("watch --user nobody starts", ok, nzt.text(err)):
            get(port, 1)
            time.sleep(1.5)
            with open(f"/proc/{p.pid}/status") as f:
                uid = [l.split()[1] for l in f if l.startswith("Uid:")][0]
            h.check("privileges dropped to nobody", int(uid) == pwd.getpwnam("nobody").pw_uid, uid)
            os.kill(p.pid, signal.SIGTERM)
            out, rest = p.communicate(timeout=20)
            h.check("SIGTERM as nobody: exit 0, rows committed", p.returncode == 0 and
                    len(nzt.query(db, "SELECT * FROM flows")) >= 1, nzt.text(err + rest))
        # 3. --duration ends by itself; a bad filter is a usage error with libpcap's text
        db = h.db("dur.db")
        r = subprocess.run([nzt.BIN, "--db", db, "watch", "-i", "lo", "-f", f"tcp port {port}", "--duration", "1"],
                           capture_output=True, timeout=30)
        h.check("--duration 1 stops by itself", r.returncode == 0, nzt.text(r.stderr))
        r = subprocess.run([nzt.BIN, "--db", h.db("bad.db"), "watch", "-i", "lo", "-f", "tcp port"],
                           capture_output=True, timeout=30)
        h.check("bad filter: exit 2 with libpcap's message", r.returncode == 2 and "syntax" in nzt.text(r.stderr),
                nzt.text(r.stderr))
        r = subprocess.run([nzt.BIN, "--db", h.db("noif.db"), "watch", "-i", "nz-no-such-if0"],
                           capture_output=True, timeout=30)
        h.check("missing interface: exit 3 naming it", r.returncode == 3 and "nz-no-such-if0" in nzt.text(r.stderr),
                nzt.text(r.stderr))
    finally:
        srv.shutdown()
    h.finish()


if __name__ == "__main__":
    main()
