#!/usr/bin/env python3
"""mail_relay.py - a small SMTP/IMAP/POP3-aware TCP relay that rewrites what middleboxes rewrite.

Used by pcaps/gen/mail.sh to record STARTTLS stripping and server-side injection between a real
client (swaks, python imaplib/poplib) and a real server (Postfix, Dovecot). Python 3 standard
library only.

    mail_relay.py --listen HOST:PORT --connect HOST:PORT --mode MODE [--proto PROTO]
                  [--source ADDR] [--ready FILE] [--log-tsv FILE] [--connections N]

HOST may be an IPv4 address or [IPv6]. --source binds the server leg to ADDR (so the two legs
have different client addresses in a capture). The relay serves N connections one after the
other (default 1) and exits. PROTO is smtp (default), imap or pop3; it decides what the upgrade
command, the capability lines and the acceptance of the upgrade look like.

MODE (what the relay changes; everything else is forwarded byte for byte):
  pass               nothing.
  strip-capability   server to client, the upgrade keyword masked, same length:
                       smtp  an EHLO reply line "250-STARTTLS" / "250 STARTTLS" becomes
                             "250-XXXXXXXA" / "250 XXXXXXXA", the artefact of Cisco PIX/ASA
                             ESMTP inspection (Cisco ESA doc 118550);
                       imap  the token STARTTLS in a "* CAPABILITY ..." response or in a
                             "[CAPABILITY ...]" response code (greeting, tagged OK) becomes
                             XXXXXXXX (RFC 9051 sections 7.1, 7.2.2; RFC 2595 section 3.1);
                       pop3  the CAPA response line "STLS" becomes "XXXX" (RFC 2449 section 5,
                             RFC 2595 section 4).
  strip-command      client to server, the upgrade command masked, same length: smtp
                     "STARTTLS" -> "XXXXXXXX"; imap "TAG STARTTLS" -> "TAG XXXXXXXX" (tag kept);
                     pop3 "STLS" -> "XXXX".
  inject-after-220   (smtp only) server to client: the server's 220 reply to the client's
                     STARTTLS is forwarded with "250 injected\\r\\n" appended in the same write,
                     before the client starts TLS (the server-side form of the CVE-2011-0411
                     class, RFC 3207 section 5 / postfix.org/CVE-2011-0411.html).

Forwarding: while the session is in plaintext, each direction is forwarded line by line (all the
complete lines of one recv() in one send(), a partial line waits for its end), so rewriting
never misses a line split across reads. Once the server accepted the upgrade (smtp: a 220 reply;
imap: the tagged OK carrying the STARTTLS command's tag; pop3: +OK after STLS), both directions
are forwarded raw (TLS). A masked command counts as the upgrade request for this, so a server
that accepted it would still be relayed raw. TCP_NODELAY on both legs, so every forwarded write
leaves as its own segment. Half-closes are passed on (shutdown(SHUT_WR)). Not handled: IMAP
literals (no capture sends one before the upgrade), SMTP/POP3 multi-line bodies containing a
line that looks like a capability or upgrade line (none of the captures does).

--log-tsv writes one row per change: connection number, direction (c2s/s2c), the line before
and after (Python repr of the bytes, CRLF shown as \\r\\n).
"""

import argparse
import re
import socket
import sys
import threading

LINE_MAX = 8192  # a "line" longer than this is forwarded as is (not mail protocol text)

RE_CAP = re.compile(rb"^(250[- ])STARTTLS(\r?\n)$", re.IGNORECASE)
RE_STARTTLS = re.compile(rb"^STARTTLS\r?\n$", re.IGNORECASE)
INJECTED = b"250 injected\r\n"

# IMAP: "TAG STARTTLS" (a tag is an atom: no SP, RFC 9051 section 2.2.1), the lines that carry a
# capability list, and the STARTTLS token inside them (after SP or "[", before SP, "]" or EOL).
RE_IMAP_STARTTLS = re.compile(rb"^([^ \r\n]+ )STARTTLS(\r?\n)$", re.IGNORECASE)
RE_IMAP_CAPLINE = re.compile(rb"^(\* CAPABILITY |[^ \r\n]+ OK \[CAPABILITY )", re.IGNORECASE)
RE_IMAP_CAPTOKEN = re.compile(rb"(?<=[ \[])STARTTLS(?=[ \]\r\n]|$)", re.IGNORECASE)
# POP3: the STLS command line, which is also the CAPA response line (RFC 2595 section 4).
RE_POP3_STLS = re.compile(rb"^STLS(\r?\n)$", re.IGNORECASE)


def parse_addr(text):
    """'1.2.3.4:25' or '[::1]:25' -> (family, host, port)."""
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
        return socket.AF_INET6, host, int(port)
    host, _, port = text.rpartition(":")
    return socket.AF_INET, host, int(port)


class Session:
    """State shared by the two directions of one relayed connection."""

    def __init__(self, number, mode, proto, log):
        self.number = number
        self.mode = mode
        self.proto = proto           # "smtp", "imap" or "pop3"
        self.log = log
        self.lock = threading.Lock()
        self.starttls_sent = False   # client sent STARTTLS/STLS, reply not seen yet
        self.imap_tag = b""          # imap: "TAG " of that STARTTLS command
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
        if self.proto == "imap":
            return self.c2s_imap(line)
        if self.proto == "pop3":
            return self.c2s_pop3(line)
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
        if self.proto == "imap":
            return self.s2c_imap(line)
        if self.proto == "pop3":
            return self.s2c_pop3(line)
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


    def c2s_imap(self, line):
        """IMAP client line: note (and in strip-command mode mask) "TAG STARTTLS"."""
        m = RE_IMAP_STARTTLS.match(line)
        if not m:
            return line
        with self.lock:
            self.starttls_sent = True
            self.imap_tag = m.group(1)
        if self.mode != "strip-command":
            return line
        new = m.group(1) + b"XXXXXXXX" + m.group(2)
        self.note("c2s", line, new)
        return new

    def c2s_pop3(self, line):
        """POP3 client line: note (and in strip-command mode mask) "STLS"."""
        m = RE_POP3_STLS.match(line)
        if not m:
            return line
        with self.lock:
            self.starttls_sent = True
        if self.mode != "strip-command":
            return line
        new = b"XXXX" + m.group(1)
        self.note("c2s", line, new)
        return new

    def s2c_imap(self, line):
        """IMAP server line: mask STARTTLS in capability lists; spot the tagged reply to it."""
        if self.mode == "strip-capability" and RE_IMAP_CAPLINE.match(line):
            new = RE_IMAP_CAPTOKEN.sub(b"XXXXXXXX", line)
            if new != line:
                self.note("s2c", line, new)
                line = new
        with self.lock:
            if self.starttls_sent and self.imap_tag and line.startswith(self.imap_tag):
                self.starttls_sent = False
                status = line[len(self.imap_tag):].split(b" ", 1)[0].strip()
                if status.upper() == b"OK":
                    self.raw = True
        return line

    def s2c_pop3(self, line):
        """POP3 server line: mask the CAPA line "STLS"; spot the status reply to STLS."""
        if self.mode == "strip-capability":
            m = RE_POP3_STLS.match(line)
            if m:
                new = b"XXXX" + m.group(1)
                self.note("s2c", line, new)
                return new
        with self.lock:
            if self.starttls_sent and line[:1] in (b"+", b"-"):
                self.starttls_sent = False
                if line[:3].upper() == b"+OK":
                    self.raw = True
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
    ap.add_argument("--proto", default="smtp", choices=["smtp", "imap", "pop3"])
    ap.add_argument("--ready", default=None)
    ap.add_argument("--log-tsv", default=None)
    ap.add_argument("--connections", type=int, default=1)
    args = ap.parse_args()
    if args.mode == "inject-after-220" and args.proto != "smtp":
        ap.error("--mode inject-after-220 needs --proto smtp")

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
    print("relay: %s -> %s proto %s mode %s" % (args.listen, args.connect, args.proto, args.mode),
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
        sess = Session(number, args.mode, args.proto, log)
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
