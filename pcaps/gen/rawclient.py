#!/usr/bin/env python3
"""rawclient.py - send a file of request bytes over one TCP connection in ONE write.

Python 3 standard library only. Used by pcaps/gen/http.sh for what curl will not send:
pipelined HTTP/1.1 requests (RFC 9112 section 9.3.2: several requests before any response)
and a request-target in absolute form carrying user:password@ (RFC 9110 section 4.2.4 forbids
it; old clients and proxies still send it).

Usage: rawclient.py HOST PORT REQUEST_FILE [--timeout SECONDS]
Connects to HOST:PORT (IPv4 or IPv6 literal), sends the file's bytes with a single sendall()
(one TCP segment on loopback), then reads until the server closes the connection or
--timeout (default 5 s) passes without data, and closes. The response bytes go to stdout.
Exit status 0 when at least one byte of response arrived, 1 otherwise.
"""

import argparse
import socket
import sys


def main():
    ap = argparse.ArgumentParser(description="one-write raw TCP request client")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("request_file")
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()

    with open(args.request_file, "rb") as f:
        request = f.read()
    got = 0
    with socket.create_connection((args.host, args.port), timeout=args.timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(request)
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            got += len(chunk)
            sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()
    return 0 if got else 1


if __name__ == "__main__":
    sys.exit(main())
