#!/usr/bin/env python3
"""Secrets never reach the database (issue #8 item 11). Writes a capture (raw IPv4, one TCP
connection per case, conversations in the shape Postfix/Dovecot/nginx answer) with credentials
sent in malformed ways seen in the wild, analyses it, and checks that no password, token or
session id appears anywhere in the database files (the database, -wal and -shm, read as bytes)
nor in what the query commands print — while the sessions, the plaintext_auth findings and the
HTTP requests themselves are recorded.

- SMTP AUTH PLAIN "user NUL password" (no authzid): no user, evidence "malformed PLAIN blob"
- IMAP LOGIN with one argument (the password alone)
- SMTP AUTH XOAUTH2 without its ^A separators (the bearer token where the user belongs)
- POP3 AUTH LOGIN answering a "Password:" prompt first
- HTTP paths and Location with ;jsessionid= / ;JSESSIONID= / ;sid= / ;PHPSESSID= parameters"""
import base64
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import nzt  # noqa: E402

h = nzt.Harness("secrets")

PW_PLAIN = b"Pw1-kQ7zVb"
PW_IMAP = b"Pw2-Rm4xLc"
TOKEN = b"ya29.Tok3nSecretZq"
PW_POP = b"Pw4-Hs8wNd"
SESS = [b"S3ss5A0001", b"S3ss5B0002", b"S3ss5C0003", b"S3ss5D0004"]


def ip_checksum(b):
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def packet(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0x4000, 64, 6, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    return ip + tcp + payload


def conversation(k, port, turns):
    """One TCP connection: handshake, turns [(0 client|1 server, bytes)], FIN both ways."""
    cli, srv = [10, 0, 0, 1], [10, 0, 1, k]
    cport = 40000 + k
    cs, ss = 1000 * k, 500000 * k
    out = [packet(cli, srv, cport, port, cs, 0, 0x02), packet(srv, cli, port, cport, ss, cs + 1, 0x12),
           packet(cli, srv, cport, port, cs + 1, ss + 1, 0x10)]
    cs, ss = cs + 1, ss + 1
    for d, data in turns:
        if d == 0:
            out.append(packet(cli, srv, cport, port, cs, ss, 0x18, data))
            cs += len(data)
            out.append(packet(srv, cli, port, cport, ss, cs, 0x10))
        else:
            out.append(packet(srv, cli, port, cport, ss, cs, 0x18, data))
            ss += len(data)
            out.append(packet(cli, srv, cport, port, cs, ss, 0x10))
    out += [packet(cli, srv, cport, port, cs, ss, 0x11), packet(srv, cli, port, cport, ss, cs + 1, 0x11),
            packet(cli, srv, cport, port, cs + 1, ss + 1, 0x10)]
    return out


def b64(b):
    return base64.b64encode(b)


def write_capture(path):
    greet = b"220 mail.example.test ESMTP Postfix (Debian/GNU)\r\n"
    ehlo = b"250-mail.example.test\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN XOAUTH2\r\n250 8BITMIME\r\n"
    convs = [
        (25, [(1, greet), (0, b"EHLO client.example.test\r\n"), (1, ehlo),
              (0, b"AUTH PLAIN " + b64(b"alice\0" + PW_PLAIN) + b"\r\n"),
              (1, b"235 2.7.0 Authentication successful\r\n"), (0, b"QUIT\r\n"), (1, b"221 2.0.0 Bye\r\n")]),
        (143, [(1, b"* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN] Dovecot (Debian) ready.\r\n"),
               (0, b"a1 LOGIN " + PW_IMAP + b"\r\n"), (1, b"a1 BAD Error in IMAP command LOGIN: Missing arguments\r\n"),
               (0, b"a2 LOGOUT\r\n"), (1, b"* BYE Logging out\r\na2 OK Logout completed.\r\n")]),
        (587, [(1, greet), (0, b"EHLO client.example.test\r\n"), (1, ehlo),
               (0, b"AUTH XOAUTH2 " + b64(b"user=bob@example.test auth=Bearer " + TOKEN) + b"\r\n"),
               (1, b"235 2.7.0 Accepted\r\n")]),
        (110, [(1, b"+OK Dovecot (Debian) ready.\r\n"), (0, b"AUTH LOGIN\r\n"), (1, b"+ " + b64(b"Password:") + b"\r\n"),
               (0, b64(PW_POP) + b"\r\n"), (1, b"+OK Logged in.\r\n"), (0, b"QUIT\r\n"), (1, b"+OK Logging out.\r\n")]),
        (80, [(0, b"GET /app;jsessionid=" + SESS[0] + b"/page;sid=" + SESS[1] + b"?q=1 HTTP/1.1\r\nHost: www.example.test\r\n"
                  b"User-Agent: curl/7.88.1\r\n\r\n"),
              (1, b"HTTP/1.1 302 Found\r\nServer: nginx/1.22.1\r\nLocation: http://www.example.test/login;JSESSIONID="
                  + SESS[2] + b"\r\nContent-Length: 0\r\n\r\n"),
              (0, b"GET /login;PHPSESSID=" + SESS[3] + b" HTTP/1.1\r\nHost: www.example.test\r\n\r\n"),
              (1, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")]),
    ]
    frames = []
    for k, (port, turns) in enumerate(convs, 1):
        frames += conversation(k, port, turns)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i // 100, (i % 100) * 10000, len(fr), len(fr)))
            f.write(fr)


def main():
    cap = os.path.join(h.tmp, "secrets.pcap")
    write_capture(cap)
    db = h.db()
    r = nzt.analyze(db, [cap])
    h.check("analyze exits 0", r.returncode == 0, nzt.text(r.stderr))
    # the sessions and verdicts are there: the checks below would see a leak
    mail = nzt.query(db, "SELECT protocol, auth_mech, auth_user, auth_in_clear FROM smtp_sessions ORDER BY id")
    h.check("four mail sessions recorded", len(mail) == 4, str(mail))
    h.check("no mail session has a user name", all(not m["auth_user"] for m in mail), str(mail))
    h.check("credentials in clear recorded for SMTP PLAIN, XOAUTH2, POP3 LOGIN",
            sum(1 for m in mail if m["auth_in_clear"]) >= 3, str(mail))
    ev = [nzt.evidence(f) for f in nzt.findings(db) if f["kind"].endswith("plaintext_auth")]
    h.check("plaintext_auth findings raised", len(ev) >= 3, str(ev))
    h.check("evidence says 'malformed PLAIN blob'", any(e.get("note") == "malformed PLAIN blob" for e in ev), str(ev))
    paths = nzt.query(db, "SELECT path, location FROM http_requests ORDER BY id")
    h.check("HTTP paths and Location without path parameters",
            paths == [{"path": "/app/page", "location": "http://www.example.test/login"},
                      {"path": "/login", "location": None}], str(paths))
    blob = b""
    for sfx in ("", "-wal", "-shm"):
        if os.path.exists(db + sfx):
            blob += open(db + sfx, "rb").read()
    h.check("the database files were read", len(blob) > 4096, str(len(blob)))
    secrets = [PW_PLAIN, PW_IMAP, TOKEN, PW_POP, b"Bearer", b"jsessionid", b"JSESSIONID", b"PHPSESSID", *SESS,
               b64(b"alice\0" + PW_PLAIN), b64(PW_POP), b64(PW_PLAIN)[:8]]
    for sec in secrets:
        h.check(f"{sec[:14]!r} appears nowhere in the database files", sec not in blob)
    out = b""
    for cmd in (["findings", "--format", "json"], ["mail", "--format", "json"], ["http", "--format", "json"],
                ["sql", "SELECT * FROM smtp_sessions"]):
        p = nzt.run(cmd, db=db)
        h.check(f"`netzwacht {cmd[0]}` exits 0", p.returncode == 0, nzt.text(p.stderr))
        out += p.stdout + p.stderr
    for sec in secrets:
        h.check(f"{sec[:14]!r} is printed by no query command", sec not in out)
    h.finish()


if __name__ == "__main__":
    main()
