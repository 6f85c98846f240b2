#!/usr/bin/env python3
"""mail_inject.py - raw-socket SMTP/IMAP/POP3 client for STARTTLS misuse captures (gen/mail.sh).

Python 3 standard library only. Talks to a real server (Postfix for smtp, Dovecot for imap and
pop3) and does on purpose what a well-behaved client does not:

    mail_inject.py --connect HOST:PORT --mode MODE [--proto smtp|imap|pop3] [--helo NAME]
                   [--sni NAME] [--timeout SECS]

MODE (the dialogue per --proto, default smtp):
  inject      a command pipelined after the upgrade command in ONE send() (one TCP segment,
              TCP_NODELAY), the client-side shape of the CVE-2011-0411 class (RFC 3207 section 4
              / RFC 2920 section 3.1: STARTTLS ends a pipeline group; RFC 2595 section 3.1 /
              RFC 9051 section 6.2.1: the client must wait for the reply before the handshake):
                smtp  greeting, "EHLO NAME", then "STARTTLS\\r\\nRSET\\r\\n";
                imap  greeting, then "a STARTTLS\\r\\nb CAPABILITY\\r\\n";
                pop3  greeting, "CAPA", then "STLS\\r\\nCAPA\\r\\n".
              Reads what the server answers (and logs any plaintext still arriving before the
              handshake as "S(before TLS)"), then does the TLS handshake, one command and the
              logout inside TLS (smtp EHLO/QUIT, imap "c CAPABILITY"/"d LOGOUT", pop3 CAPA/QUIT)
              and closes with close_notify. If the server closed the connection after its
              acceptance ("S(before TLS): <EOF>"), no handshake is tried.
  fail-plain  greeting, (smtp EHLO / pop3 CAPA,) the upgrade command, reads its acceptance
              (220 / "a OK" / +OK), then sends a plaintext command (smtp "EHLO NAME", imap
              "b CAPABILITY", pop3 "CAPA") instead of a TLS ClientHello and reads whatever comes
              back until the server closes (or the timeout).
  fail-close  the same up to the acceptance, then closes the connection without a TLS
              handshake.

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
    """A socket plus a receive buffer; reads SMTP, IMAP and POP3 replies."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        print("C: %r" % data, flush=True)
        self.sock.sendall(data)

    def line(self):
        """Read one line (with its LF); b"" on EOF."""
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl + 1], self.buf[nl + 1:]
                return line
            data = self.sock.recv(65536)
            if not data:
                line, self.buf = self.buf, b""
                return line
            self.buf += data

    def reply(self):
        """Read one complete (possibly multi-line) SMTP reply; b"" on EOF."""
        lines = []
        while True:
            line = self.line()
            if not line:
                break
            lines.append(line)
            if line[3:4] != b"-":
                break
        text = b"".join(lines)
        print("S: %r" % text, flush=True)
        return text

    def imap_reply(self, tag):
        """Read IMAP responses up to the tagged one for TAG (or, tag None, one untagged
        greeting line); returns the final line (b"" on EOF). Each line is logged."""
        while True:
            line = self.line()
            if not line:
                print("S: <EOF>", flush=True)
                return b""
            print("S: %r" % line, flush=True)
            if tag is None or line.startswith(tag + b" "):
                return line

    def pop3_reply(self, multi=False):
        """Read one POP3 status line; with multi and +OK, the lines up to "." as well.
        Returns the status line (b"" on EOF); the whole reply is logged."""
        first = self.line()
        lines = [first]
        if multi and first.startswith(b"+OK"):
            while True:
                line = self.line()
                if not line:
                    break
                lines.append(line)
                if line.rstrip(b"\r\n") == b".":
                    break
        print("S: %r" % b"".join(lines) if first else "S: <EOF>", flush=True)
        return first

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
    ap.add_argument("--proto", default="smtp", choices=["smtp", "imap", "pop3"])
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
    dialogue = {"smtp": Smtp, "imap": Imap, "pop3": Pop3}[args.proto](Conn(sock), args)
    if not dialogue.begin():
        return 1

    if args.mode == "inject":
        if not dialogue.upgrade(inject=True):
            c = dialogue.c
            c.drain(1.0)
            return 0
        # A vulnerable server would now answer the injected command in plaintext; Postfix
        # discards it, Dovecot takes it for the start of the TLS handshake and closes. Anything
        # already here (or arriving first) is logged; on EOF no handshake is tried.
        sock.settimeout(0.3)
        try:
            early = sock.recv(65536, socket.MSG_PEEK)
            if not early:
                print("S(before TLS): <EOF>", flush=True)
                sock.close()
                return 0
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
        dialogue.c = Conn(tls)
        dialogue.inside_tls()
        try:
            tls.unwrap()
        except (ssl.SSLError, OSError):
            pass
        sock.close()
        return 0

    if not dialogue.upgrade(inject=False):
        return 1
    c = dialogue.c
    if args.mode == "fail-plain":
        c.send(dialogue.plain_after)          # plaintext where a ClientHello belongs
        c.drain(args.timeout)
    else:
        print("C: <close without TLS handshake>", flush=True)
        sock.shutdown(socket.SHUT_WR)
        c.drain(args.timeout)
    sock.close()
    return 0


class Smtp:
    """SMTP dialogue (RFC 5321, RFC 3207)."""

    def __init__(self, c, args):
        self.c = c
        self.ehlo = b"EHLO " + args.helo.encode("ascii") + b"\r\n"
        self.plain_after = self.ehlo

    def begin(self):
        """Greeting and EHLO; False if the server does not play along."""
        if not self.c.reply().startswith(b"220"):
            return False
        self.c.send(self.ehlo)
        return self.c.reply().startswith(b"250")

    def upgrade(self, inject):
        """STARTTLS (with RSET pipelined behind it when inject); True if answered 220."""
        self.c.send(b"STARTTLS\r\nRSET\r\n" if inject else b"STARTTLS\r\n")
        return self.c.reply().startswith(b"220")

    def inside_tls(self):
        self.c.send(self.ehlo)
        self.c.reply()
        self.c.send(b"QUIT\r\n")
        self.c.reply()


class Imap:
    """IMAP dialogue (RFC 9051 / RFC 3501, RFC 2595 section 3.1)."""

    def __init__(self, c, args):
        self.c = c
        self.plain_after = b"b CAPABILITY\r\n"

    def begin(self):
        """Greeting (Dovecot lists its capabilities in it); False unless "* OK"."""
        return self.c.imap_reply(None).startswith(b"* OK")

    def upgrade(self, inject):
        """a STARTTLS (with "b CAPABILITY" pipelined behind it when inject); True if "a OK"."""
        self.c.send(b"a STARTTLS\r\nb CAPABILITY\r\n" if inject else b"a STARTTLS\r\n")
        return self.c.imap_reply(b"a").startswith(b"a OK")

    def inside_tls(self):
        self.c.send(b"c CAPABILITY\r\n")
        self.c.imap_reply(b"c")
        self.c.send(b"d LOGOUT\r\n")
        self.c.imap_reply(b"d")


class Pop3:
    """POP3 dialogue (RFC 1939, RFC 2449 CAPA, RFC 2595 section 4 STLS)."""

    def __init__(self, c, args):
        self.c = c
        self.plain_after = b"CAPA\r\n"

    def begin(self):
        """Greeting and CAPA; False unless both are +OK."""
        if not self.c.pop3_reply().startswith(b"+OK"):
            return False
        self.c.send(b"CAPA\r\n")
        return self.c.pop3_reply(multi=True).startswith(b"+OK")

    def upgrade(self, inject):
        """STLS (with CAPA pipelined behind it when inject); True if answered +OK."""
        self.c.send(b"STLS\r\nCAPA\r\n" if inject else b"STLS\r\n")
        return self.c.pop3_reply().startswith(b"+OK")

    def inside_tls(self):
        self.c.send(b"CAPA\r\n")
        self.c.pop3_reply(multi=True)
        self.c.send(b"QUIT\r\n")
        self.c.pop3_reply()


if __name__ == "__main__":
    sys.exit(main())
