"""nzt — tiny harness for netzwacht's integration tests (python3 stdlib only).

Each test script creates a Harness, records checks with h.check(name, ok, detail), and ends with
h.finish(), which prints every failure, then 'N passed, N failed[, N skipped]' and exits 1 on
failure. Checks are individual assertions on real output: nothing is skipped silently — a skip
prints its reason and is counted."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

SRC = os.environ.get("NZ_SRCDIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("NZ_BIN") or os.path.join(SRC, "build", "cli", "netzwacht")
PCAPS = os.path.join(SRC, "pcaps")
CORPUS = os.path.abspath(os.path.join(SRC, "..", "shared", "corpus"))


class Harness:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.tmp = tempfile.mkdtemp(prefix=f"nz-{name}-")

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            if os.environ.get("NZ_VERBOSE"):
                print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}" + (f": {detail}" if detail else ""))
        return ok

    def skip(self, what, why):
        self.skipped += 1
        print(f"SKIP {what}: {why}")

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed" + (f", {self.skipped} skipped" if self.skipped else ""))
        sys.exit(1 if self.failed else 0)

    def db(self, name="t.db"):
        p = os.path.join(self.tmp, name)
        for sfx in ("", "-wal", "-shm"):
            try:
                os.unlink(p + sfx)
            except FileNotFoundError:
                pass
        return p


def run(args, db=None, stdin=None, timeout=300, env=None, **kw):
    """Runs netzwacht; returns CompletedProcess with text stdout/stderr."""
    cmd = [BIN]
    if db:
        cmd += ["--db", db]
    cmd += list(args)
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, env=env, **kw)


# The trust store of every analysis through analyze(): the throwaway roots of the trust-*
# captures (pcaps/gen/tls.sh) and of the greeting-name mail captures (pcaps/gen/mail.sh, the
# folder pcaps/mail/trust), so that verdicts never depend on the machine's CA bundle. A caller
# that names its own (--ca-file, --ca-path, --no-ca) keeps it.
TRUST_ROOT = os.path.join(PCAPS, "tls", "trust", "root.pem")
MAIL_TRUST_DIR = os.path.join(PCAPS, "mail", "trust")
TRUST_ARGS = ["--ca-file", TRUST_ROOT, "--ca-path", MAIL_TRUST_DIR]


def analyze(db, paths, extra=(), **kw):
    extra = list(extra)
    if not any(a in ("--ca-file", "--ca-path", "--no-ca") for a in extra):
        extra = TRUST_ARGS + extra
    return run(["analyze", "--no-progress", *extra, *paths], db=db, **kw)


def query(db, sql, params=()):
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params)]
    finally:
        con.close()


def findings(db, kind=None):
    if kind:
        return query(db, "SELECT * FROM findings WHERE kind = ? ORDER BY id", (kind,))
    return query(db, "SELECT * FROM findings ORDER BY id")


def evidence(row):
    return json.loads(row["evidence"]) if row.get("evidence") else {}


def pcap(*parts):
    return os.path.join(PCAPS, *parts)


def text(b):
    return b.decode("utf-8", "replace") if isinstance(b, (bytes, bytearray)) else (b or "")
