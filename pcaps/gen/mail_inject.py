#!/usr/bin/env python3
"""mail_inject.py - a raw-socket SMTP client for the STARTTLS misuse captures of pcaps/gen/mail.sh.

Python 3 standard library only. Talks to a real SMTP server (Postfix) and does on purpose what a
well-behaved client does not:

    mail_inject.py --connect HOST:PORT --mode MODE [--helo NAME] [--sni NAME] [--timeout SECS]

MODE:
  inject      greeting, "EHLO NAME", then "STARTTLS\\r\\nRSET\\r\\n" in ONE send() (one TCP segment,
              TCP_NODELAY): a command pipelined after STARTTLS, the client-side shape of the
              CVE-2011-0411 class (RFC 3207 section 4: STARTTLS must end a pipeline group).
              Reads what the server answers, then does the TLS handshake, "EHLO NAME" and
              "QUIT" inside TLS, and closes with close_notify.
  fail-plain  greeting, EHLO, STARTTLS, reads the 220, then sends "EHLO NAME" in plaintext
              instead of a TLS ClientHello and reads whatever comes back until the server
              closes (or the timeout).
  fail-close  greeting, EHLO, STARTTLS, reads the 220, then closes the connection without a
              TLS handshake.

Transcript on stdout ("C:" sent, "S:" received, Python repr of the bytes). No certificate
verification (the server certificate is a throwaway one). Exit status 0 when the dialogue went
as scripted up to the step that depends on the server; 1 on a connection error.
"""

import argparse
import socket
import ssl
import sys


def parse_addr(text):
    """'1.2.3.4:25' or '[::1]:25' -> (family, host, port)."""
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
        return socket.AF_INET6, host, int(port)
    host, _, port = text.rpartition(":")
    return socket.AF_INET, host, int(port)


class Conn:
    """A socket plus a receive buffer; reads SMTP replies."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        print("C: %r" % data, flush=True)
        self.sock.sendall(data)

    def reply(self):
        """Read one complete (possibly multi-line) SMTP reply; b"" on EOF."""
        lines = []
        while True:
            nl = self.buf.find(b"\n")
            if nl < 0:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.buf += data
                continue
            line, self.buf = self.buf[:nl + 1], self.buf[nl + 1:]
            lines.append(line)
            if line[3:4] != b"-":
                break
        text = b"".join(lines)
        print("S: %r" % text, flush=True)
        return text

    def drain(self, timeout):
        """Read until EOF or timeout; return what came."""
        got = self.buf
        self.buf = b""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    print("S: <EOF>", flush=True)
                    break
                got += data
        except socket.timeout:
            print("S: <timeout after %.1fs>" % timeout, flush=True)
        except OSError as e:
            print("S: <%s>" % e, flush=True)
        if got:
            print("S: %r" % got, flush=True)
        return got


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--connect", required=True)
    ap.add_argument("--mode", required=True, choices=["inject", "fail-plain", "fail-close"])
    ap.add_argument("--helo", default="x")
    ap.add_argument("--sni", default="mail.netzwacht.test")
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()

    fam, host, port = parse_addr(args.connect)
    sock = socket.socket(fam, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(15)
    try:
        sock.connect((host, port))
    except OSError as e:
        print("connect %s: %s" % (args.connect, e), file=sys.stderr)
        return 1
    c = Conn(sock)
    ehlo = b"EHLO " + args.helo.encode("ascii") + b"\r\n"
    if not c.reply().startswith(b"220"):
        return 1
    c.send(ehlo)
    if not c.reply().startswith(b"250"):
        return 1

    if args.mode == "inject":
        c.send(b"STARTTLS\r\nRSET\r\n")      # one send(): the injected RSET rides along
        r = c.reply()
        if not r.startswith(b"220"):
            c.drain(1.0)
            return 0
        # A vulnerable server would now answer the RSET in plaintext; Postfix discards it.
        # Anything already here (or arriving first) is logged, then TLS starts.
        sock.settimeout(0.3)
        try:
            early = sock.recv(65536, socket.MSG_PEEK)
            print("S(before TLS): %r" % early, flush=True)
        except socket.timeout:
            print("S(before TLS): nothing", flush=True)
        sock.settimeout(15)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            tls = ctx.wrap_socket(sock, server_hostname=args.sni)
        except (ssl.SSLError, OSError) as e:
            print("TLS handshake failed: %s" % e, flush=True)
            return 0
        print("TLS: %s %s" % (tls.version(), tls.cipher()[0]), flush=True)
        t = Conn(tls)
        t.send(ehlo)
        t.reply()
        t.send(b"QUIT\r\n")
        t.reply()
        try:
            tls.unwrap()
        except (ssl.SSLError, OSError):
            pass
        sock.close()
        return 0

    c.send(b"STARTTLS\r\n")
    if not c.reply().startswith(b"220"):
        return 1
    if args.mode == "fail-plain":
        c.send(ehlo)                          # plaintext where a ClientHello belongs
        c.drain(args.timeout)
    else:
        print("C: <close without TLS handshake>", flush=True)
        sock.shutdown(socket.SHUT_WR)
        c.drain(args.timeout)
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
