#!/usr/bin/env python3
"""Hostile inputs and data that must not be lost (issue #8), on captures derived from pcaps/:

- damaged gzip (truncated, CRC or length flipped in the trailer, a byte flipped mid-stream,
  trailing bytes): every packet that decompresses cleanly before the damage is analysed
  (oracle: zlib.decompressobj fed the same bytes, pcap records counted), exit 3, a message
  naming the file and the damage;
- folder walks: links to "." and to parents, links out of the tree, a bind-mount cycle (root),
  deep nesting, FIFOs inside: the walk ends, enters nothing twice, follows no link found inside,
  and says what it skipped; a link named on the command line is followed;
- pipes and devices: process substitution, a named pipe whose writer comes late, /dev/stdin,
  /dev/zero, /dev/urandom: read once or refused, never a hang;
- disk full (a small tmpfs, root): the run stays unfinished, no file is recorded as analysed,
  a rerun after making room analyses everything again and earlier rows stay;
- two processes on one file: no finished run holds duplicated rows;
- file names with ESC [ 2 J and BEL: stderr carries no raw control byte but the newline.
"""
import glob
import gzip
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(__file__))
import nzt  # noqa: E402

h = nzt.Harness("hostile_input")
P = nzt.PCAPS
EVIL = "\x1b[2J\x07"  # clears the screen and rings the bell when printed raw


# ---- helpers ----

def pcap_records(b):
    """Complete pcap records in b, as libpcap reads them: stops at the first record whose
    length is beyond libpcap's maximum (262144) or that is cut short."""
    if len(b) < 24:
        return 0
    e = "<" if b[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off, n = 24, 0
    while off + 16 <= len(b):
        caplen = struct.unpack(e + "I", b[off + 8:off + 12])[0]
        if caplen > 262144 or off + 16 + caplen > len(b):
            break
        off += 16 + caplen
        n += 1
    return n


def gunzip_clean_prefix(data):
    """What zlib decompresses from data before it reports damage or runs out: fed one byte
    at a time so that nothing produced before the error is lost with it."""
    d = zlib.decompressobj(wbits=31)
    out = bytearray()
    for i in range(len(data)):
        try:
            out += d.decompress(data[i:i + 1])
        except zlib.error:
            break
        if d.eof:
            break
    return bytes(out)


def flipped(gz, start, total):
    """gz with one bit flipped at the first position from `start` on where zlib finds the
    damage inside the data (not only through the CRC at the end): part of the packets decode."""
    for pos in range(start, len(gz) - 8):
        for bit in (0x10, 0x01, 0x80):
            data = gz[:pos] + bytes([gz[pos] ^ bit]) + gz[pos + 1:]
            if 0 < pcap_records(gunzip_clean_prefix(data)) < total:
                return data
    raise AssertionError("no damaging flip found")


def packets(db):
    rows = nzt.query(db, "SELECT sum(packets) AS n FROM runs")
    return rows[0]["n"] or 0


def clean_stderr(b):
    """True when b (bytes) has no C0 control but newline, no DEL and no C1 control."""
    if any((c < 0x20 and c != 0x0a) or c == 0x7f for c in b):
        return False
    return re.search(rb"\xc2[\x80-\x9f]", b) is None


def flows_expected(cap):
    rel = os.path.relpath(cap, P)
    n = 0
    with open(os.path.join(P, "expected", rel + ".flows.tsv")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                n += 1
    return n


def mkdir(*parts):
    p = os.path.join(*parts)
    os.makedirs(p, exist_ok=True)
    return p


def is_root():
    return os.geteuid() == 0


# ---- 1. damaged gzip ----

def check_gzip():
    base = nzt.pcap("http-get-ipv4.pcap")
    big = nzt.pcap("loss-netns-server-side.pcap")
    d = mkdir(h.tmp, "gz")
    for src in (base, big):
        raw = open(src, "rb").read()
        total = pcap_records(raw)
        gz = gzip.compress(raw, compresslevel=6, mtime=0)
        name = os.path.basename(src)
        n = len(gz)
        variants = {
            "truncated-third": gz[:n // 3],
            "truncated-two-thirds": gz[:2 * n // 3],
            "trailer-cut": gz[:n - 8],           # data complete, CRC and length missing
            "crc-flipped": gz[:n - 8] + bytes([gz[n - 8] ^ 0xff]) + gz[n - 7:],
            "isize-flipped": gz[:n - 1] + bytes([gz[n - 1] ^ 0x01]),
            "flip-mid": flipped(gz, n // 2, total),
            "flip-early": flipped(gz, n // 5, total),
            "flip-any": gz[:n // 3] + bytes([gz[n // 3] ^ 0x04]) + gz[n // 3 + 1:],  # maybe only the CRC sees it
            "trailing-garbage": gz + b"GARBAGE",
        }
        for vname, data in variants.items():
            f = os.path.join(d, f"{vname}-{name}.gz")
            with open(f, "wb") as fh:
                fh.write(data)
            want = pcap_records(gunzip_clean_prefix(data))
            if vname in ("trailer-cut", "crc-flipped", "isize-flipped", "trailing-garbage"):
                h.check(f"gzip {vname} {name}: oracle sees every packet", want == total, f"{want} vs {total}")
            elif vname != "flip-any":
                h.check(f"gzip {vname} {name}: oracle sees part of the file", 0 < want < total, f"{want} of {total}")
            db = h.db()
            r = nzt.analyze(db, [f], timeout=60)
            err = nzt.text(r.stderr)
            got = packets(db)
            h.check(f"gzip {vname} {name}: every packet before the damage analysed ({want})", got == want,
                    f"{got} vs {want}: {err[-300:]}")
            h.check(f"gzip {vname} {name}: exit 3", r.returncode == 3, f"exit {r.returncode}: {err[-300:]}")
            h.check(f"gzip {vname} {name}: message names the file and the gzip damage",
                    os.path.basename(f) in err and "gzip" in err, err[-400:])
            fl = nzt.query(db, "SELECT count(*) AS n FROM flows")[0]["n"]
            h.check(f"gzip {vname} {name}: its flows are stored", fl > 0 if want > 3 else True, f"{fl} flows")
        # the same through standard input
        data = variants["flip-mid"]
        db = h.db()
        r = nzt.analyze(db, ["-"], stdin=data, timeout=60)
        want = pcap_records(gunzip_clean_prefix(data))
        h.check(f"gzip flip-mid {name} on stdin: every packet before the damage", packets(db) == want
                and r.returncode == 3, f"{packets(db)} vs {want}, exit {r.returncode}: {nzt.text(r.stderr)[-300:]}")
    # a good file before a damaged one in the same run keeps its rows
    db = h.db()
    r = nzt.analyze(db, [base, os.path.join(d, "flip-mid-loss-netns-server-side.pcap.gz")])
    n = nzt.query(db, "SELECT count(*) AS n FROM flows")[0]["n"]
    h.check("gzip: rows of the good file before the damaged one are kept", n >= flows_expected(base), f"{n} flows")
    # an intact gzip with zero padding after it (tape blocks) is read whole, exit 0
    raw = open(base, "rb").read()
    f = os.path.join(d, "padded.pcap.gz")
    with open(f, "wb") as fh:
        fh.write(gzip.compress(raw, mtime=0) + bytes(1000))
    db = h.db()
    r = nzt.analyze(db, [f])
    h.check("gzip with zero padding: read whole, exit 0", r.returncode == 0 and packets(db) == pcap_records(raw),
            f"exit {r.returncode}, {packets(db)}: {nzt.text(r.stderr)[-300:]}")
    # a damaged file is recorded (its readable part was analysed); the second run skips it
    db = h.db()
    f = os.path.join(d, "crc-flipped-http-get-ipv4.pcap.gz")
    nzt.analyze(db, [f])
    r = nzt.analyze(db, [f])
    h.check("gzip damaged: recorded once analysed, skipped the second time", "already analysed" in nzt.text(r.stderr),
            nzt.text(r.stderr)[-300:])


def check_growing():
    """A capture written to while it is analysed is analysed but not recorded: its hash may not
    describe what was read, and a later run must not skip what this one never saw."""
    src = open(nzt.pcap("http-get-ipv4.pcap"), "rb").read()
    e = "<" if src[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    off, last = 24, None
    while off + 16 <= len(src):
        cl = struct.unpack(e + "I", src[off + 8:off + 12])[0]
        last = src[off:off + 16 + cl]
        off += 16 + cl
    f = os.path.join(h.tmp, "growing.pcap")
    with open(f, "wb") as fh:
        # 200,000 copies of the last packet: the analysis then lasts long enough (a few hundred
        # milliseconds) for the writer below to change the file while it is read, however fast
        # the build and however coarse the clock
        fh.write(src + last * 200000)
    stop, writing = threading.Event(), threading.Event()

    def writer():
        with open(f, "ab", buffering=0) as fh:
            while not stop.is_set():
                fh.write(last)
                writing.set()
                time.sleep(0.001)
    th = threading.Thread(target=writer)
    th.start()
    writing.wait(10)  # the writer is under way before the analysis starts
    db = h.db()
    try:
        r = nzt.analyze(db, [f], timeout=60)
    finally:
        stop.set()
        th.join()
    err = nzt.text(r.stderr)
    n = nzt.query(db, "SELECT count(*) AS n FROM files")[0]["n"]
    h.check("a capture growing while read: analysed, said, not recorded",
            "changed while it was read" in err and n == 0 and packets(db) > 0, f"{n} recorded: {err[-300:]}")
    r = nzt.analyze(db, [f])
    h.check("a capture growing while read: the next run analyses it", "already analysed" not in nzt.text(r.stderr)
            and nzt.query(db, "SELECT count(*) AS n FROM files")[0]["n"] == 1, nzt.text(r.stderr)[-300:])


# ---- 2. folder walks ----

def check_walk():
    cap = nzt.pcap("http-get-ipv4.pcap")
    outside = mkdir(h.tmp, "outside")
    shutil.copy(nzt.pcap("snaplen-96.pcap"), os.path.join(outside, "secret.pcap"))

    # two links to "." next to a capture: exponential for a walk that follows them
    t = mkdir(h.tmp, "w-dots")
    shutil.copy(cap, os.path.join(t, "a.pcap"))
    os.symlink(".", os.path.join(t, "l1"))
    os.symlink(".", os.path.join(t, "l2"))
    sub = mkdir(t, "sub")
    os.symlink("..", os.path.join(sub, "up"))
    os.symlink("../..", os.path.join(sub, "upup"))
    os.symlink("/", os.path.join(sub, "root"))
    os.symlink(outside, os.path.join(sub, "out-dir"))
    os.symlink(os.path.join(outside, "secret.pcap"), os.path.join(sub, "planted.pcap"))
    db = h.db()
    t0 = time.monotonic()
    try:
        r = nzt.analyze(db, [t], timeout=60)
    except subprocess.TimeoutExpired:
        h.check("walk with links to '.', '..', '/' and out of the tree: ends", False, "no end after 60 s")
        return
    el = time.monotonic() - t0
    err = nzt.text(r.stderr)
    files = [x["path"] for x in nzt.query(db, "SELECT path FROM files")]
    h.check("walk with links to '.', '..', '/' and out of the tree: ends quickly", el < 30, f"{el:.1f} s")
    h.check("walk: exactly the one capture inside, once", files == [os.path.join(t, "a.pcap")], str(files))
    h.check("walk: the capture outside reached by a planted link is not read",
            not any("secret" in x or "planted" in x for x in files), str(files))
    h.check("walk: says links were not followed", "symbolic link" in err and "not followed" in err, err[-400:])
    h.check("walk: links are not an error (exit 0)", r.returncode == 0, f"exit {r.returncode}: {err[-300:]}")
    r = nzt.analyze(h.db(), ["-v", t])
    h.check("walk -v: names each link not followed", nzt.text(r.stderr).count("symbolic link inside a folder") == 7,
            nzt.text(r.stderr)[-600:])

    # a link named on the command line is followed (the user named it)
    db = h.db()
    r = nzt.analyze(db, [os.path.join(sub, "planted.pcap")])
    h.check("a link named on the command line is followed", r.returncode == 0 and packets(db) > 0,
            f"exit {r.returncode}: {nzt.text(r.stderr)[-300:]}")
    db = h.db()
    r = nzt.analyze(db, [os.path.join(sub, "out-dir")])
    h.check("a folder link named on the command line is walked",
            r.returncode == 0 and len(nzt.query(db, "SELECT path FROM files")) == 1, nzt.text(r.stderr)[-300:])

    # deep nesting: bounded, said, no crash; the shallow capture is read
    t = mkdir(h.tmp, "w-deep")
    p = t
    for i in range(1, 81):
        p = mkdir(p, "d")
        if i == 10:
            shutil.copy(cap, os.path.join(p, "shallow.pcap"))
        if i == 64:
            shutil.copy(nzt.pcap("http-get-nsec.pcap"), os.path.join(p, "at-limit.pcap"))
    shutil.copy(nzt.pcap("snaplen-96.pcap"), os.path.join(p, "too-deep.pcap"))
    db = h.db()
    r = nzt.analyze(db, [t], timeout=60)
    err = nzt.text(r.stderr)
    files = sorted(os.path.basename(x["path"]) for x in nzt.query(db, "SELECT path FROM files"))
    h.check("deep nesting: captures down to 64 levels read, the deeper one not",
            files == ["at-limit.pcap", "shallow.pcap"], str(files))
    h.check("deep nesting: says a folder was too deep", "more than 64 folder levels" in err, err[-300:])
    h.check("deep nesting: exit 3 (part of the input was not read)", r.returncode == 3, f"exit {r.returncode}")

    # paths longer than PATH_MAX below the folder: skipped and said, no crash, exit 3
    t = mkdir(h.tmp, "w-long")
    shutil.copy(cap, os.path.join(t, "top.pcap"))
    fd = os.open(t, os.O_RDONLY)
    for _ in range(24):  # 24 * 201 bytes > 4096
        os.mkdir("L" * 200, dir_fd=fd)
        nfd = os.open("L" * 200, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    with open(os.open("far.pcap", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd), "wb") as fh:
        fh.write(open(cap, "rb").read())
    os.close(fd)
    db = h.db()
    r = nzt.analyze(db, [t], timeout=60)
    files = [os.path.basename(x["path"]) for x in nzt.query(db, "SELECT path FROM files")]
    h.check("paths over PATH_MAX: the rest read, the long one said and skipped, exit 3",
            files == ["top.pcap"] and "path too long" in nzt.text(r.stderr) and r.returncode == 3,
            f"{files}, exit {r.returncode}: {nzt.text(r.stderr)[-300:]}")

    # a FIFO with a capture name inside a folder: skipped, never opened (that would block)
    t = mkdir(h.tmp, "w-fifo")
    os.mkfifo(os.path.join(t, "trap.pcap"))
    shutil.copy(cap, os.path.join(t, "b.pcap"))
    db = h.db()
    try:
        r = nzt.analyze(db, [t], timeout=30)
        err = nzt.text(r.stderr)
        h.check("FIFO inside a folder: skipped with a message, no hang",
                "trap.pcap" in err and "not a regular file" in err and packets(db) > 0, err[-300:])
    except subprocess.TimeoutExpired:
        h.check("FIFO inside a folder: skipped with a message, no hang", False, "hung")

    # a folder named twice, and its subfolder: each capture once
    t = mkdir(h.tmp, "w-twice")
    shutil.copy(cap, os.path.join(mkdir(t, "s"), "c.pcap"))
    db = h.db()
    r = nzt.analyze(db, [t, os.path.join(t, "s"), t])
    n = nzt.query(db, "SELECT count(*) AS n FROM files")[0]["n"]
    h.check("a folder named twice: walked once", r.returncode == 0 and n == 1 and "same content" not in
            nzt.text(r.stderr) and "already" not in nzt.text(r.stderr), nzt.text(r.stderr)[-300:])

    # a bind mount of a folder inside itself: a cycle without links
    if not is_root():
        h.skip("walk: bind-mount cycle", "needs root (mount --bind)")
        return
    t = mkdir(h.tmp, "w-bind")
    shutil.copy(cap, os.path.join(t, "c.pcap"))
    loop = mkdir(t, "a", "loop")
    m = subprocess.run(["mount", "--bind", t, loop], capture_output=True)
    if m.returncode != 0:
        h.skip("walk: bind-mount cycle", "mount --bind failed: " + nzt.text(m.stderr))
        return
    try:
        db = h.db()
        r = nzt.analyze(db, ["-v", t], timeout=60)
        n = nzt.query(db, "SELECT count(*) AS n FROM files")[0]["n"]
        h.check("walk: a bind-mount cycle is entered once", r.returncode == 0 and n == 1
                and "already walked" in nzt.text(r.stderr), f"{n} files: {nzt.text(r.stderr)[-300:]}")
    finally:
        subprocess.run(["umount", loop])


# ---- 3. pipes and devices ----

def check_pipes():
    cap = nzt.pcap("http-get-ipv4.pcap")
    want = pcap_records(open(cap, "rb").read())
    gz = nzt.pcap("http-get-ipv4.pcap.gz")
    db = h.db()
    try:
        r = subprocess.run(["bash", "-c", f'"$0" --db "$1" analyze --no-progress <(zcat "$2")', nzt.BIN, db, gz],
                           capture_output=True, timeout=60)
        h.check("process substitution <(zcat x.pcap.gz): every packet", r.returncode == 0 and packets(db) == want,
                f"exit {r.returncode}, {packets(db)} vs {want}: {nzt.text(r.stderr)[-300:]}")
        h.check("process substitution: not recorded as a file (a pipe is never deduplicated)",
                nzt.query(db, "SELECT count(*) AS n FROM files")[0]["n"] == 0)
    except subprocess.TimeoutExpired:
        h.check("process substitution <(zcat x.pcap.gz): every packet", False, "hung")

    # a named pipe whose writer comes a second later, twice: read both times
    fifo = os.path.join(h.tmp, "pipe.pcap")
    os.mkfifo(fifo)
    db = h.db()
    for i in range(2):
        def writer():
            time.sleep(1)
            with open(fifo, "wb") as f:
                f.write(open(cap, "rb").read())
        th = threading.Thread(target=writer)
        th.start()
        try:
            r = nzt.analyze(db, [fifo], timeout=60)
            h.check(f"named pipe, writer late, run {i + 1}: every packet",
                    r.returncode == 0 and packets(db) == want * (i + 1), f"exit {r.returncode}, {packets(db)}: "
                    + nzt.text(r.stderr)[-300:])
        except subprocess.TimeoutExpired:
            h.check(f"named pipe, writer late, run {i + 1}: every packet", False, "hung")
        th.join()

    db = h.db()
    r = nzt.analyze(db, ["/dev/stdin"], stdin=open(gz, "rb").read(), timeout=60)
    h.check("/dev/stdin on a pipe (gzip): every packet", r.returncode == 0 and packets(db) == want,
            f"exit {r.returncode}, {packets(db)}: {nzt.text(r.stderr)[-300:]}")
    db = h.db()
    with open(cap, "rb") as f:
        r = subprocess.run([nzt.BIN, "--db", db, "analyze", "--no-progress", "/dev/stdin"], stdin=f,
                           capture_output=True, timeout=60)
    h.check("/dev/stdin on a regular file: every packet", r.returncode == 0 and packets(db) == want,
            f"exit {r.returncode}, {packets(db)}: {nzt.text(r.stderr)[-300:]}")

    for dev in ("/dev/zero", "/dev/urandom", "/dev/null"):
        db = h.db()
        try:
            r = nzt.analyze(db, [dev, cap], timeout=30)
            err = nzt.text(r.stderr)
            h.check(f"{dev}: a clear error, the next input still read",
                    r.returncode == 3 and dev in err and "device" in err and packets(db) == want, err[-300:])
        except subprocess.TimeoutExpired:
            h.check(f"{dev}: a clear error, no hang", False, "hung")


# ---- 4. disk full, for real ----

def copies(dest, n):
    """n copies of the TLS and mail captures, each with a different pcap header field that
    libpcap ignores (sigfigs), so that each has its own content hash."""
    os.makedirs(dest, exist_ok=True)
    out = []
    for k in range(n):
        for f in sorted(glob.glob(os.path.join(P, "tls", "*.pcap")) + glob.glob(os.path.join(P, "mail", "*.pcap"))):
            b = bytearray(open(f, "rb").read())
            if b[:4] not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
                continue
            b[12] = k + 1
            p = os.path.join(dest, f"c{k}-{os.path.basename(f)}")
            with open(p, "wb") as fh:
                fh.write(b)
            out.append(p)
    return out


def check_disk_full():
    if not is_root():
        h.skip("disk full on a tmpfs", "needs root to mount a tmpfs; run the tests as root")
        return
    src = os.path.join(h.tmp, "many")
    inputs = copies(src, 8)
    # How much room the whole analysis takes, to make the tmpfs hold about 60% of it: some
    # batches commit, a later one finds the disk full.
    full = h.db("full.db")
    nzt.analyze(full, [src], timeout=300)
    need = os.path.getsize(full)
    mnt = mkdir(h.tmp, "mnt")
    size_k = max(256, int(need * 0.6) // 1024 // 4 * 4)
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_k}k,mode=0700", "tmpfs", mnt], capture_output=True)
    if m.returncode != 0:
        h.skip("disk full on a tmpfs", "mount -t tmpfs failed: " + nzt.text(m.stderr))
        return
    try:
        db = os.path.join(mnt, "t.db")
        base = nzt.pcap("http-get-ipv4.pcap")
        r = nzt.analyze(db, [base])
        h.check("disk full: a first small run fits", r.returncode == 0, nzt.text(r.stderr)[-300:])
        before = nzt.query(db, "SELECT count(*) AS n FROM flows WHERE run_id = 1")[0]["n"]
        r = nzt.analyze(db, [src], timeout=300)
        err = nzt.text(r.stderr)
        h.check("disk full: exit 3", r.returncode == 3, f"exit {r.returncode}: {err[-400:]}")
        h.check("disk full: the message says the database is full", "full" in err and "database" in err, err[-400:])
        h.check("disk full: no 'not an error' in the messages", "not an error" not in err, err[-600:])
        runs = nzt.query(db, "SELECT id, finished FROM runs ORDER BY id")
        h.check("disk full: the failed run is not marked finished", len(runs) == 2 and runs[1]["finished"] == 0,
                str(runs))
        rec = nzt.query(db, "SELECT count(*) AS n FROM files WHERE run_id = 2")[0]["n"]
        h.check("disk full: no file of the failed run is recorded as analysed", rec == 0, f"{rec} recorded")
        kept2 = nzt.query(db, "SELECT count(*) AS n FROM flows WHERE run_id = 2")[0]["n"]
        # make room and run again
        subprocess.run(["mount", "-o", f"remount,size={max(need * 4 // 1024, 8192)}k", mnt], check=True)
        r = nzt.analyze(db, [src], timeout=300)
        err = nzt.text(r.stderr)
        h.check("disk full, rerun with room: exit 0", r.returncode == 0, f"exit {r.returncode}: {err[-400:]}")
        h.check("disk full, rerun: no file skipped as already analysed", "already analysed" not in err, err[-400:])
        rec = nzt.query(db, "SELECT count(*) AS n FROM files WHERE run_id = 3")[0]["n"]
        h.check("disk full, rerun: every file analysed and recorded", rec == len(inputs), f"{rec} of {len(inputs)}")
        h.check("disk full, rerun: the rows of the first run are kept",
                nzt.query(db, "SELECT count(*) AS n FROM flows WHERE run_id = 1")[0]["n"] == before)
        h.check("disk full, rerun: the rows the failed run committed are kept",
                nzt.query(db, "SELECT count(*) AS n FROM flows WHERE run_id = 2")[0]["n"] == kept2)
        con = sqlite3.connect(db)
        ok = con.execute("PRAGMA integrity_check").fetchone()[0]
        con.close()
        h.check("disk full: database intact", ok == "ok", ok)
    finally:
        subprocess.run(["umount", mnt])


# ---- 5. two processes on one file ----

def check_concurrent():
    src = open(nzt.pcap("loss-netns-server-side.pcap"), "rb").read()
    e = "<" if src[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    recs, off = [], 24
    while off + 16 <= len(src):
        ts, us, cl, ol = struct.unpack(e + "IIII", src[off:off + 16])
        recs.append((ts, us, src[off + 16:off + 16 + cl], ol))
        off += 16 + cl
    # 40 copies an hour apart: the same flows again after their idle timeout, 40 times the work
    out = bytearray(src[:24])
    for k in range(40):
        for ts, us, d, ol in recs:
            out += struct.pack(e + "IIII", ts + k * 3600, us, len(d), ol) + d
    big = os.path.join(h.tmp, "big.pcap")
    with open(big, "wb") as f:
        f.write(out)
    db0 = h.db("single.db")
    nzt.analyze(db0, [big])
    want = nzt.query(db0, "SELECT count(*) AS n FROM flows")[0]["n"]
    clashes = 0
    for i in range(5):
        db = h.db()
        # The database exists first: two processes creating one at once is store_open's
        # business, not this test's.
        nzt.analyze(db, [nzt.pcap("snaplen-96.pcap")])
        cmd = [nzt.BIN, "--db", db, "analyze", "--no-progress", "-q", big]
        a = subprocess.Popen(cmd, stderr=subprocess.PIPE)
        b = subprocess.Popen(cmd, stderr=subprocess.PIPE)
        ea, eb = a.communicate(timeout=120)[1], b.communicate(timeout=120)[1]
        err = nzt.text(ea) + nzt.text(eb)
        clashes += "analysed meanwhile" in err
        rows = nzt.query(db, "SELECT r.id, (SELECT count(*) FROM flows f WHERE f.run_id = r.id) AS n "
                             "FROM runs r WHERE r.finished = 1 AND r.id > 1")
        total = sum(x["n"] for x in rows)
        h.check(f"concurrent run {i + 1}: finished runs hold the file's flows once", total == want
                and all(x["n"] in (0, want) for x in rows), f"{rows} (want {want}): {err[-300:]}")
        h.check(f"concurrent run {i + 1}: both exit 0", a.returncode == 0 and b.returncode == 0,
                f"{a.returncode} {b.returncode}: {err[-300:]}")
        n = nzt.query(db, "SELECT count(*) AS n FROM files WHERE path = ?", (big,))[0]["n"]
        h.check(f"concurrent run {i + 1}: the file recorded once", n == 1, str(n))
    print(f"concurrent: {clashes} of 5 pairs clashed at the end (the rest: one skipped the other)")
    # a second process that also read a pipe must never delete its rows: it stays unfinished
    db = h.db()
    nzt.analyze(db, [nzt.pcap("snaplen-96.pcap")])
    cmd = ["bash", "-c", f'"$0" --db "$1" analyze --no-progress -q "$2" <(cat "$3")', nzt.BIN, db, big,
           nzt.pcap("http-get-ipv4.pcap")]
    a = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    b = subprocess.Popen([nzt.BIN, "--db", db, "analyze", "--no-progress", "-q", big], stderr=subprocess.PIPE)
    ea, eb = a.communicate(timeout=120)[1], b.communicate(timeout=120)[1]
    rows = nzt.query(db, "SELECT r.id, r.finished, (SELECT count(*) FROM flows f WHERE f.run_id = r.id) AS n "
                         "FROM runs r ORDER BY id")
    dup = [x for x in rows if x["finished"] == 1 and x["n"] >= want]
    h.check("concurrent with a pipe: both ended", a.returncode in (0, 3) and b.returncode == 0,
            f"{a.returncode} {b.returncode}: {nzt.text(ea)[-300:]} {nzt.text(eb)[-300:]}")
    h.check("concurrent with a pipe: no finished run repeats the other's flows", len(dup) <= 1, str(rows))


# ---- 6. file names with control characters ----

def check_escapes():
    d = mkdir(h.tmp, "esc")
    evil_damaged = os.path.join(d, f"dmg{EVIL}.pcap")
    shutil.copy(os.path.join(P, "bad", "truncated-record-data.pcap"), evil_damaged)
    evil_text = os.path.join(d, f"txt{EVIL}.pcap")
    shutil.copy(os.path.join(P, "bad", "not-a-capture.pcap"), evil_text)
    evil_gz = os.path.join(d, f"gz{EVIL}.pcap.gz")
    raw = gzip.compress(open(nzt.pcap("http-get-ipv4.pcap"), "rb").read(), mtime=0)
    with open(evil_gz, "wb") as f:
        f.write(raw[:len(raw) // 2])
    evil_ok = os.path.join(d, f"ok{EVIL}.pcap")
    shutil.copy(nzt.pcap("snaplen-96.pcap"), evil_ok)
    folder = mkdir(d, f"dir{EVIL}")
    os.mkfifo(os.path.join(folder, f"fifo{EVIL}.pcap"))
    os.symlink("/", os.path.join(folder, f"link{EVIL}"))
    deep = folder
    for _ in range(66):
        deep = mkdir(deep, "x")
    cases = [
        ("a damaged capture", [evil_damaged]),
        ("not a capture", [evil_text]),
        ("a missing file", [os.path.join(d, f"missing{EVIL}.pcap")]),
        ("a damaged gzip", [evil_gz]),
        ("dedup messages", [evil_ok, evil_ok]),
        ("a folder with a FIFO, a link and deep nesting", ["-v", folder]),
        ("a bad --dump-streams", ["--dump-streams", os.path.join(d, f"nodir{EVIL}", "sub"), evil_ok]),
        ("a bad --max-flows", [f"--max-flows={EVIL}", evil_ok]),
        ("a bad --fail-on", [f"--fail-on={EVIL}", evil_ok]),
        ("a bad filter", ["-f", f"tcp {EVIL}", evil_ok]),
        ("an unknown option", [f"--x{EVIL}", evil_ok]),
    ]
    for what, args in cases:
        db = h.db()
        try:
            r = subprocess.run([nzt.BIN, "--db", db, "analyze", "--no-progress", *args], capture_output=True,
                               timeout=60)
        except subprocess.TimeoutExpired:
            h.check(f"escapes, {what}: ends", False, "no end after 60 s")
            continue
        h.check(f"escapes, {what}: no raw control byte on stderr but newlines", clean_stderr(r.stderr),
                repr(r.stderr[-300:]))
        h.check(f"escapes, {what}: the name is shown, escaped", b"\\e[2J\\x07" in r.stderr, repr(r.stderr[-300:]))


def main():
    if not os.access(nzt.BIN, os.X_OK):
        h.check("netzwacht binary exists", False, nzt.BIN)
        h.finish()
    check_gzip()
    check_growing()
    check_walk()
    check_pipes()
    check_disk_full()
    check_concurrent()
    check_escapes()
    h.finish()


if __name__ == "__main__":
    main()
