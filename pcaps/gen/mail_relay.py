#!/usr/bin/env python3
"""mail_relay.py - a small SMTP-aware TCP relay that rewrites what middleboxes rewrite.

Used by pcaps/gen/mail.sh to record STARTTLS stripping and server-side injection between a real
client (swaks) and a real server (Postfix). Python 3 standard library only.

    mail_relay.py --listen HOST:PORT --connect HOST:PORT --mode MODE
                  [--source ADDR] [--ready FILE] [--log-tsv FILE] [--connections N]

HOST may be an IPv4 address or [IPv6]. --source binds the server leg to ADDR (so the two legs
have different client addresses in a capture). The relay serves N connections one after the
other (default 1) and exits.

MODE (what the relay changes; everything else is forwarded byte for byte):
  pass               nothing.
  strip-capability   server to client: an EHLO reply line "250-STARTTLS" / "250 STARTTLS"
                     becomes "250-XXXXXXXA" / "250 XXXXXXXA" (same length), the artefact of
                     Cisco PIX/ASA ESMTP inspection (Cisco ESA doc 118550).
  strip-command      client to server: the command line "STARTTLS" becomes "XXXXXXXX".
  inject-after-220   server to client: the server's 220 reply to the client's STARTTLS is
                     forwarded with "250 injected\\r\\n" appended in the same write, before the
                     client starts TLS (the server-side form of the CVE-2011-0411 class,
                     RFC 3207 section 5 / postfix.org/CVE-2011-0411.html).

Forwarding: while the session is in plaintext, each direction is forwarded line by line (all the
complete lines of one recv() in one send(), a partial line waits for its end), so rewriting
never misses a line split across reads. Once the server answered a STARTTLS with 220, both
directions are forwarded raw (TLS). TCP_NODELAY on both legs, so every forwarded write leaves
as its own segment. Half-closes are passed on (shutdown(SHUT_WR)).

--log-tsv writes one row per change: connection number, direction (c2s/s2c), the line before
and after (Python repr of the bytes, CRLF shown as \\r\\n).
"""

import argparse
import re
import socket
import sys
import threading

LINE_MAX = 8192  # a "line" longer than this is forwarded as is (not SMTP text)

RE_CAP = re.compile(rb"^(250[- ])STARTTLS(\r?\n)$", re.IGNORECASE)
RE_STARTTLS = re.compile(rb"^STARTTLS\r?\n$", re.IGNORECASE)
INJECTED = b"250 injected\r\n"


def parse_addr(text):
    """'1.2.3.4:25' or '[::1]:25' -> (family, host, port)."""
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
        return socket.AF_INET6, host, int(port)
    host, _, port = text.rpartition(":")
    return socket.AF_INET, host, int(port)


class Session:
    """State shared by the two directions of one relayed connection."""

    def __init__(self, number, mode, log):
        self.number = number
        self.mode = mode
        self.log = log
        self.lock = threading.Lock()
        self.starttls_sent = False   # client sent STARTTLS, reply not seen yet
        self.raw = False             # TLS started: forward raw in both directions

    def note(self, direction, before, after):
        line = "%d\t%s\t%r\t%r" % (self.number, direction, before, after)
        print("relay: " + line, file=sys.stderr, flush=True)
        if self.log is not None:
            with self.lock:
                self.log.write(line + "\n")
                self.log.flush()

    def c2s_line(self, line):
        """Client line -> bytes to forward."""
        if RE_STARTTLS.match(line):
            with self.lock:
                self.starttls_sent = True
            if self.mode == "strip-command":
                new = b"XXXXXXXX" + line[8:]
                self.note("c2s", line, new)
                return new
        return line

    def s2c_line(self, line):
        """Server line -> bytes to forward; may switch the session to raw."""
        if self.mode == "strip-capability":
            m = RE_CAP.match(line)
            if m:
                new = m.group(1) + b"XXXXXXXA" + m.group(2)
                self.note("s2c", line, new)
                return new
        with self.lock:
            pending = self.starttls_sent
        if pending and line[:3].isdigit() and line[3:4] in (b" ", b"\r", b"\n"):
            with self.lock:
                self.starttls_sent = False
                if line.startswith(b"220"):
                    self.raw = True
            if line.startswith(b"220") and self.mode == "inject-after-220":
                self.note("s2c", line, line + INJECTED)
                return line + INJECTED
        return line


def pump(sess, src, dst, direction):
    """Copy src to dst until EOF, rewriting lines while the session is in plaintext."""
    pending = b""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            with sess.lock:
                raw = sess.raw
            if raw:
                dst.sendall(pending + data)
                pending = b""
                continue
            pending += data
            out = []
            while True:
                with sess.lock:
                    raw = sess.raw
                if raw:
                    out.append(pending)
                    pending = b""
                    break
                nl = pending.find(b"\n")
                if nl < 0:
                    if len(pending) > LINE_MAX:
                        out.append(pending)
                        pending = b""
                    break
                line, pending = pending[:nl + 1], pending[nl + 1:]
                if direction == "c2s":
                    out.append(sess.c2s_line(line))
                else:
                    out.append(sess.s2c_line(line))
            if out:
                dst.sendall(b"".join(out))
    except OSError as e:
        print("relay: %s: %s" % (direction, e), file=sys.stderr, flush=True)
    finally:
        try:
            if pending:
                dst.sendall(pending)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", required=True)
    ap.add_argument("--connect", required=True)
    ap.add_argument("--source", default=None)
    ap.add_argument("--mode", required=True,
                    choices=["pass", "strip-capability", "strip-command", "inject-after-220"])
    ap.add_argument("--ready", default=None)
    ap.add_argument("--log-tsv", default=None)
    ap.add_argument("--connections", type=int, default=1)
    args = ap.parse_args()

    lfam, lhost, lport = parse_addr(args.listen)
    cfam, chost, cport = parse_addr(args.connect)
    ls = socket.socket(lfam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((lhost, lport))
    ls.listen(4)
    log = open(args.log_tsv, "w", encoding="ascii") if args.log_tsv else None
    if args.ready:
        with open(args.ready, "w", encoding="ascii") as f:
            f.write("ready\n")
    print("relay: %s -> %s mode %s" % (args.listen, args.connect, args.mode),
          file=sys.stderr, flush=True)

    for number in range(1, args.connections + 1):
        cs, peer = ls.accept()
        ss = socket.socket(cfam, socket.SOCK_STREAM)
        if args.source:
            ss.bind((args.source, 0))
        ss.connect((chost, cport))
        for s in (cs, ss):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        print("relay: connection %d from %s" % (number, peer[:2]), file=sys.stderr, flush=True)
        sess = Session(number, args.mode, log)
        threads = [threading.Thread(target=pump, args=(sess, cs, ss, "c2s")),
                   threading.Thread(target=pump, args=(sess, ss, cs, "s2c"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cs.close()
        ss.close()
        print("relay: connection %d closed" % number, file=sys.stderr, flush=True)
    ls.close()
    if log is not None:
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
