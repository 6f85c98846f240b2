#!/usr/bin/env python3
"""nzhttpd.py - small deterministic HTTP/1.1 test server for the netzwacht captures.

Python 3 standard library only (http.server). Used by pcaps/gen/spine.sh (all spine captures) and
by pcaps/gen/http.sh (Digest auth, which nginx cannot do). Never run it on a non-loopback address
outside a network namespace the calling script created.

Usage:
  nzhttpd.py --root DIR --bind 127.0.0.1:18000 [--bind [::1]:18000 ...] [--ready FILE]

What it serves (HTTP/1.1, keep-alive, RFC 9110 / RFC 9112):
  GET/HEAD /<file>     the file under --root (http.server.SimpleHTTPRequestHandler), with
                       Content-Length, Last-Modified; 304 on If-Modified-Since.
  POST /<anything>     reads the body by Content-Length and answers 200 with the text
                       "received <n> bytes sha256 <hex>\n" (deterministic for a given body).
  POST /login          reads the whole body (nginx's "return" answers before the body arrives,
                       and curl then stops sending a multipart body), answers 302 Location:
                       /account with Set-Cookie session=... and lang=en.
  GET /digest/<x>      Digest access authentication (RFC 7616 section 3, MD5, qop=auth, the
                       RFC 2617-compatible form curl --digest speaks) for user "alice",
                       password "hunter2": 401 with a challenge, then 200 "digest ok\n".
Deterministic bytes: the Date header is pinned to FIXED_DATE, the Server header is "nzhttpd/1"
and the Digest nonce/opaque are fixed strings, so the server's byte stream depends only on the
requests (which is what keeps pcaps/expected/*.streams.tsv stable across regenerations).
Ignored: everything else in http.server's feature set (directory listings are served as is,
no ranges, no chunked request bodies).
On SIGTERM/SIGINT it stops listening and exits 0. With --ready it writes the line "ready" to FILE
once every socket is listening.
"""

import argparse
import hashlib
import http.server
import os
import signal
import socket
import sys
import threading

FIXED_DATE = "Sat, 01 Jan 2022 00:00:00 GMT"
REALM = "netzwacht-test"
USER = "alice"
PASSWORD = "hunter2"
NONCE = "6e7a6e6f6e63652d6669786564"  # fixed on purpose: test server, deterministic bytes
OPAQUE = "6e7a6f7061717565"


def _md5(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def _parse_auth_params(value):
    """Parse 'k=v, k2="v 2"' (RFC 9110 section 11.2 auth-param list) into a dict."""
    params = {}
    i, n = 0, len(value)
    while i < n:
        while i < n and value[i] in " ,":
            i += 1
        eq = value.find("=", i)
        if eq < 0:
            break
        key = value[i:eq].strip().lower()
        i = eq + 1
        if i < n and value[i] == '"':
            i += 1
            out = []
            while i < n and value[i] != '"':
                if value[i] == "\\" and i + 1 < n:
                    i += 1
                out.append(value[i])
                i += 1
            i += 1
            params[key] = "".join(out)
        else:
            end = value.find(",", i)
            end = n if end < 0 else end
            params[key] = value[i:end].strip()
            i = end
    return params


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nzhttpd/1"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def date_time_string(self, timestamp=None):
        if timestamp is None:
            return FIXED_DATE
        return super().date_time_string(timestamp)

    def log_message(self, fmt, *args):
        sys.stderr.write("nzhttpd: %s %s\n" % (self.address_string(), fmt % args))

    def _reply(self, code, body, extra=()):
        data = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for name, val in extra:
            self.send_header(name, val)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _digest_ok(self):
        auth = self.headers.get("Authorization", "")
        if not auth.lower().startswith("digest "):
            return False
        p = _parse_auth_params(auth[7:])
        if p.get("username") != USER or p.get("realm") != REALM or p.get("nonce") != NONCE:
            return False
        ha1 = _md5("%s:%s:%s" % (USER, REALM, PASSWORD))
        ha2 = _md5("%s:%s" % (self.command, p.get("uri", "")))
        if p.get("qop") == "auth":
            want = _md5("%s:%s:%s:%s:%s:%s" % (ha1, NONCE, p.get("nc", ""),
                                               p.get("cnonce", ""), "auth", ha2))
        else:
            want = _md5("%s:%s:%s" % (ha1, NONCE, ha2))
        return p.get("response", "").lower() == want

    def do_GET(self):
        if self.path.startswith("/digest/"):
            if self._digest_ok():
                self._reply(200, "digest ok\n")
            else:
                chal = ('Digest realm="%s", qop="auth", algorithm=MD5, nonce="%s", opaque="%s"'
                        % (REALM, NONCE, OPAQUE))
                self._reply(401, "authentication required\n", [("WWW-Authenticate", chal)])
            return
        super().do_GET()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0") or "0")
        remaining, digest, got = length, hashlib.sha256(), 0
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                break
            digest.update(chunk)
            got += len(chunk)
            remaining -= len(chunk)
        if self.path == "/login":
            self._reply(302, "see /account\n", [
                ("Location", "/account"),
                ("Set-Cookie", "session=6e7a2d73657373696f6e2d616c696365; Path=/; HttpOnly"),
                ("Set-Cookie", "lang=en; Path=/; Max-Age=3600")])
            return
        self._reply(200, "received %d bytes sha256 %s\n" % (got, digest.hexdigest()))


class Server4(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET
    daemon_threads = True


class Server6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True


def _split_bind(text):
    host, _, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1], int(port), Server6
    return host, int(port), Server4


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True, help="directory to serve")
    ap.add_argument("--bind", action="append", required=True, help="ADDR:PORT or [V6]:PORT")
    ap.add_argument("--ready", help="file to write 'ready' into once listening")
    args = ap.parse_args()

    root = os.path.abspath(args.root)

    def make_handler(*a, **kw):
        return Handler(*a, directory=root, **kw)

    servers = []
    for b in args.bind:
        host, port, cls = _split_bind(b)
        servers.append(cls((host, port), make_handler))
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.ready:
        with open(args.ready, "w", encoding="ascii") as f:
            f.write("ready\n")
    while not stop.wait(0.2):
        pass
    for srv in servers:
        srv.shutdown()
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
