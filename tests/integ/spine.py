#!/usr/bin/env python3
"""Integration tests of the pipeline on the recorded captures in pcaps/:

- flows and per-direction frame/byte counts equal tshark's (expected/<cap>.flows.tsv),
- reassembled streams equal tshark's follow,tcp,raw (expected/<cap>.streams.tsv) and contain
  the applications' own bytes where they sent them (expected/<cap>.app.tsv),
- link types, file formats (pcapng, gzip, stdin, nanosecond pcap), damaged inputs, dedup,
  --fail-on, output formats and filters, caps, determinism, disk full and a locked database.
"""
import csv
import glob
import hashlib
import io
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import nzt  # noqa: E402

h = nzt.Harness("spine")
P = nzt.PCAPS


def read_tsv(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            rows.append(line.rstrip("\n").split("\t"))
    return rows


def expected(cap, what):
    rel = os.path.relpath(cap, P)
    return os.path.join(P, "expected", rel + "." + what)


def captures():
    """Every capture under pcaps/ except the damaged ones, sorted."""
    out = []
    for ext in ("*.pcap", "*.pcapng", "*.pcap.gz"):
        out += glob.glob(os.path.join(P, "**", ext), recursive=True)
    return sorted(p for p in out if os.sep + "bad" + os.sep not in p and os.sep + "gen" + os.sep not in p)


def flows_of(db):
    return nzt.query(db, "SELECT * FROM flows ORDER BY id")


# ---- 1. flows and byte counts agree with tshark; streams and application bytes ----

def check_counts_and_streams():
    caps = captures()
    h.check("there are captures to test", len(caps) >= 20, f"{len(caps)} found")
    for cap in caps:
        name = os.path.relpath(cap, P)
        fexp = expected(cap, "flows.tsv")
        if not os.path.exists(fexp):
            h.check(f"{name}: has a flows.tsv expectation", False, fexp)
            continue
        db = h.db()
        # --dump-streams creates the folder itself and refuses one that exists
        dump = os.path.join(h.tmp, "dump")
        shutil.rmtree(dump, ignore_errors=True)
        r = nzt.analyze(db, [cap], ["--dump-streams", dump])
        if not h.check(f"{name}: analyze exits 0", r.returncode == 0, nzt.text(r.stderr)):
            continue
        got = {}
        for fl in flows_of(db):
            key = (fl["client_ip"], str(fl["client_port"]), fl["server_ip"], str(fl["server_port"]))
            got.setdefault(key, []).append(fl)
        want = read_tsv(fexp)
        h.check(f"{name}: flow count {len(want)}", sum(len(v) for v in got.values()) == len(want),
                f"got {sum(len(v) for v in got.values())}: {sorted(got)}")
        for w in want:
            key = tuple(w[:4])
            fl = got.get(key)
            if not h.check(f"{name}: flow {key} found with tshark's orientation", fl is not None,
                           f"have {sorted(got)}"):
                continue
            fl = fl[0]
            c2s = (fl["pkts_c2s"], fl["bytes_c2s"])
            s2c = (fl["pkts_s2c"], fl["bytes_s2c"])
            h.check(f"{name}: {key} frames/bytes c2s", c2s == (int(w[4]), int(w[5])), f"got {c2s} want {w[4:6]}")
            h.check(f"{name}: {key} frames/bytes s2c", s2c == (int(w[6]), int(w[7])), f"got {s2c} want {w[6:8]}")
        sexp = expected(cap, "streams.tsv")
        if os.path.exists(sexp):
            byid = {}
            for fl in flows_of(db):
                key = (fl["client_ip"], str(fl["client_port"]), fl["server_ip"], str(fl["server_port"]))
                byid.setdefault(key, fl["id"])
            streams = {}
            for w in read_tsv(sexp):
                key = tuple(w[:4])
                fid = byid.get(key)
                if fid is None:
                    h.check(f"{name}: stream {key} has a flow", False)
                    continue
                # The flow id in file names is the run-local one, which equals the row id in
                # a fresh database with one run.
                for d, sha, ln in (("c2s", w[4], w[6]), ("s2c", w[5], w[7])):
                    path = os.path.join(dump, f"{fid}-{d}.bin")
                    data = open(path, "rb").read() if os.path.exists(path) else b""
                    streams[(key, d)] = data
                    h.check(f"{name}: {key} {d} stream equals tshark's ({ln} bytes)",
                            hashlib.sha256(data).hexdigest() == sha and len(data) == int(ln),
                            f"got {len(data)} bytes")
            aexp = expected(cap, "app.tsv")
            if os.path.exists(aexp):
                for w in read_tsv(aexp):
                    key, d, off, ln, sha, label = tuple(w[:4]), w[4], int(w[5]), int(w[6]), w[7], w[8]
                    data = streams.get((key, d), b"")[off:off + ln]
                    h.check(f"{name}: application bytes at {d}+{off} ({label})",
                            hashlib.sha256(data).hexdigest() == sha, f"{len(data)} bytes there")


# ---- 2. formats, stdin, dedup ----

def check_inputs():
    base = nzt.pcap("http-get-ipv4.pcap")
    want = read_tsv(expected(base, "flows.tsv"))
    for variant in ("http-get-ipv4.pcap.gz", "http-get.pcapng", "http-get-nsec.pcap"):
        db = h.db()
        r = nzt.analyze(db, [nzt.pcap(variant)])
        h.check(f"{variant}: analyzed", r.returncode == 0, nzt.text(r.stderr))
    # stdin, plain and gzip
    for variant in ("http-get-ipv4.pcap", "http-get-ipv4.pcap.gz"):
        db = h.db()
        data = open(nzt.pcap(variant), "rb").read()
        r = nzt.analyze(db, ["-"], stdin=data)
        n = len(flows_of(db)) if r.returncode == 0 else -1
        h.check(f"stdin {variant}: {len(want)} flows", n == len(want), nzt.text(r.stderr))
    # folder recursion: every capture of the folder, sorted, one run
    db = h.db()
    r = nzt.analyze(db, [os.path.join(P, "http")])
    nfiles = len(glob.glob(os.path.join(P, "http", "*.pcap")))
    rows = nzt.query(db, "SELECT count(*) AS n FROM files")
    h.check("folder: every capture recorded once", r.returncode == 0 and rows[0]["n"] == nfiles,
            f"{rows} vs {nfiles}: {nzt.text(r.stderr)}")
    # dedup: same file again is skipped; --force replaces
    db = h.db()
    r1 = nzt.analyze(db, [base])
    n1 = len(flows_of(db))
    r2 = nzt.analyze(db, [base])
    n2 = len(flows_of(db))
    h.check("dedup: second analysis skipped", r2.returncode == 0 and n2 == n1 and "already analysed" in nzt.text(r2.stderr),
            nzt.text(r2.stderr))
    r3 = nzt.analyze(db, ["--force", base])
    n3 = len(flows_of(db))
    runs = nzt.query(db, "SELECT count(*) AS n FROM runs WHERE packets > 0")
    h.check("dedup: --force re-analyses without duplicating rows", r3.returncode == 0 and n3 == n1, f"{n1} -> {n3}")
    h.check("dedup: --force replaced the old run", runs[0]["n"] == 1, str(runs))
    h.check("dedup: first analysis ok", r1.returncode == 0)
    # the content hash (BLAKE3) computed beside the analysis is the file's, as b3sum (the
    # BLAKE3 team's tool, .ci/deps.sh installs it) computes it
    db = h.db()
    gz = nzt.pcap("http-get-ipv4.pcap.gz")
    damaged = os.path.join(P, "bad", "truncated-record-data.pcap")
    nzt.analyze(db, [base, gz, damaged])
    rows = {r["path"]: (r["content_hash"], r["hash_alg"]) for r in
            nzt.query(db, "SELECT path, content_hash, hash_alg FROM files")}
    b3sum = shutil.which("b3sum")
    h.check("b3sum is installed (the reference for the content hash; .ci/deps.sh)", b3sum is not None)
    for f in (base, gz, damaged):
        want = (subprocess.run([b3sum, "--no-names", f], capture_output=True, text=True).stdout.strip()
                if b3sum else None)
        h.check(f"files.content_hash of {os.path.basename(f)} is its BLAKE3",
                rows.get(f) == (want, "blake3"), f"{rows.get(f)} vs {want}")
    # a row from before schema v5 (SHA-256, no pre-key) still deduplicates
    db2 = h.db("legacy.db")
    nzt.analyze(db2, [nzt.pcap("snaplen-96.pcap")])
    con = sqlite3.connect(db2)
    con.execute("INSERT INTO files(run_id, path, content_hash, size, hash_alg, quick) VALUES(1, 'old', ?, 1, NULL, NULL)",
                (hashlib.sha256(open(base, "rb").read()).hexdigest(),))
    con.commit()
    con.close()
    r = nzt.analyze(db2, [base])
    h.check("dedup: a pre-v5 SHA-256 row is honoured", "same SHA-256" in nzt.text(r.stderr), nzt.text(r.stderr))
    # a row of schema v5/v6 (BLAKE2b-256 with the pre-key) still deduplicates: the pre-key
    # matches, so the file's BLAKE2b is computed and found
    db3 = h.db("v6.db")
    nzt.analyze(db3, [nzt.pcap("snaplen-96.pcap")])
    data = open(base, "rb").read()
    span = 64 * 1024
    pre = hashlib.sha256(len(data).to_bytes(8, "big") + data[:span] +
                         (data[max(span, len(data) - span):] if len(data) > span else b"")).hexdigest()
    con = sqlite3.connect(db3)
    con.execute("INSERT INTO files(run_id, path, content_hash, size, hash_alg, quick) VALUES(1, 'v6', ?, ?, 'blake2b-256', ?)",
                (hashlib.blake2b(data, digest_size=32).hexdigest(), len(data), pre))
    con.commit()
    con.close()
    nflows = len(flows_of(db3))
    r = nzt.analyze(db3, [base])
    h.check("dedup: a v5/v6 BLAKE2b row is honoured (no re-analysis)",
            r.returncode == 0 and "already analysed in run 1" in nzt.text(r.stderr) and len(flows_of(db3)) == nflows,
            nzt.text(r.stderr))
    r = nzt.analyze(db3, ["--force", base])
    rows3 = nzt.query(db3, "SELECT path, hash_alg FROM files ORDER BY id")
    h.check("dedup: --force replaces a BLAKE2b row by a BLAKE3 one",
            r.returncode == 0 and [x["path"] for x in rows3 if x["hash_alg"] == "blake2b-256"] == [] and
            any(x["path"] == base and x["hash_alg"] == "blake3" for x in rows3), str(rows3))
    r = nzt.analyze(db, [gz, damaged])
    h.check("dedup: gzip and damaged files are skipped the second time",
            nzt.text(r.stderr).count("already analysed") == 2, nzt.text(r.stderr))


# ---- 3. damaged inputs ----

def check_bad_inputs():
    good = nzt.pcap("http-get-ipv4.pcap")
    ngood = len(read_tsv(expected(good, "flows.tsv")))
    bad = sorted(glob.glob(os.path.join(P, "bad", "*")))
    bad = [b for b in bad if not b.endswith(".tsv")]
    h.check("damaged inputs present", len(bad) >= 6, str(bad))
    for b in bad:
        name = os.path.basename(b)
        db = h.db()
        r = nzt.analyze(db, [good, b])
        err = nzt.text(r.stderr)
        if name == "caplen-gt-snaplen.pcap":
            # libpcap reads a record longer than the file's snaplen and cuts it to the
            # snaplen: nothing is lost that the file promised, so this one is read whole.
            dmg = read_tsv(os.path.join(P, "expected", "bad", name + ".damage.tsv"))[0]
            pk = nzt.query(db, "SELECT packets FROM runs")[0]["packets"]
            total = pk - sum(int(w[4]) + int(w[6]) for w in read_tsv(expected(good, "flows.tsv")))
            h.check(f"bad/{name}: read whole, exit 0", r.returncode == 0, err)
            h.check(f"bad/{name}: every record read", total > int(dmg[1]), f"{total} records")
            continue
        h.check(f"bad/{name}: exit code 3", r.returncode == 3, f"exit {r.returncode}: {err}")
        h.check(f"bad/{name}: message names the file", name in err, err)
        h.check(f"bad/{name}: no crash signal", r.returncode >= 0)
        n = len(flows_of(db)) if os.path.exists(db) else -1
        h.check(f"bad/{name}: rows of the good file before it are kept", n >= ngood, f"{n} flows")
    r = nzt.run(["analyze", "--no-progress", "/nonexistent/x.pcap"], db=h.db())
    h.check("missing file: exit 3 with its name", r.returncode == 3 and "/nonexistent/x.pcap" in nzt.text(r.stderr))
    r = nzt.run(["analyze", "-f", "tcp port", good], db=h.db())
    h.check("bad BPF filter: exit 2 with libpcap's message", r.returncode == 2 and "filter" in nzt.text(r.stderr),
            nzt.text(r.stderr))
    r = nzt.run(["analyze"], db=h.db())
    h.check("no input: exit 2", r.returncode == 2)
    # progress on stderr only when it is a terminal (script(1) gives it one)
    if shutil.which("script"):
        db = h.db()
        cmd = f"{nzt.BIN} --db {db} analyze {nzt.pcap('loss-netns-server-side.pcap')}"
        r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, timeout=120)
        out = nzt.text(r.stdout)
        h.check("progress line on a terminal (packets, MB/s, percent)",
                r.returncode == 0 and "MB/s" in out and "%" in out and "packets" in out, out[-300:])
        r = nzt.analyze(h.db(), [nzt.pcap("loss-netns-server-side.pcap")])
        h.check("no progress line when stderr is not a terminal", "MB/s" not in nzt.text(r.stderr))
    else:
        h.skip("progress line", "script(1) not installed")
    r = nzt.run(["frobnicate"])
    h.check("unknown command: exit 2", r.returncode == 2)


# ---- 4. findings output, filters, --fail-on ----

def check_outputs():
    db = h.db()
    tlsdir = os.path.join(P, "tls")
    r = nzt.analyze(db, [tlsdir, os.path.join(P, "http")])
    h.check("tls+http captures analysed", r.returncode == 0, nzt.text(r.stderr))
    allf = nzt.findings(db)
    h.check("findings were recorded", len(allf) > 0)
    r = nzt.run(["findings", "--format", "json"], db=db)
    lines = [l for l in nzt.text(r.stdout).splitlines() if l.strip()]
    ok = len(lines) == len(allf)
    for l in lines:
        try:
            o = json.loads(l)
            ok = ok and isinstance(o.get("evidence"), dict) and set(o) >= {
                "id", "run_id", "flow_id", "ts", "kind", "severity", "client_ip", "client_port",
                "server_ip", "server_port", "summary", "evidence"}
        except ValueError:
            ok = False
    h.check("findings --format json: one object per line, evidence nested", ok)
    r = nzt.run(["findings", "--format", "csv"], db=db)
    rows = list(csv.reader(io.StringIO(nzt.text(r.stdout))))
    h.check("findings --format csv: header + one row per finding", len(rows) == len(allf) + 1 and rows[0][0] == "id")
    r = nzt.run(["findings", "--severity", "high", "--format", "json"], db=db)
    sev = [json.loads(l)["severity"] for l in nzt.text(r.stdout).splitlines() if l.strip()]
    want = [f for f in allf if f["severity_rank"] >= 3]
    h.check("findings --severity high: at or above", len(sev) == len(want) and set(sev) <= {"high", "critical"})
    r = nzt.run(["findings", "--kind", "tls.", "--format", "json"], db=db)
    kinds = {json.loads(l)["kind"] for l in nzt.text(r.stdout).splitlines() if l.strip()}
    h.check("findings --kind tls.: prefix", kinds and all(k.startswith("tls.") for k in kinds), str(kinds))
    ts = sorted(f["ts"] for f in allf)
    mid = ts[len(ts) // 2]
    r = nzt.run(["findings", "--since", mid, "--format", "json"], db=db)
    n = len([l for l in nzt.text(r.stdout).splitlines() if l.strip()])
    h.check("findings --since", n == len([t for t in ts if t >= mid]))
    r = nzt.run(["findings", "--until", mid, "--format", "json"], db=db)
    n = len([l for l in nzt.text(r.stdout).splitlines() if l.strip()])
    h.check("findings --until", n == len([t for t in ts if t < mid]))
    r = nzt.run(["findings", "--host", "10.255.255.254"], db=db)
    h.check("findings --host with no match", r.returncode == 0 and "(0 findings)" in nzt.text(r.stdout))
    r = nzt.run(["findings", "--severity", "bogus"], db=db)
    h.check("findings --severity bogus: exit 2", r.returncode == 2)
    r = nzt.run(["flows", "--format", "json"], db=db)
    h.check("flows --format json", r.returncode == 0 and all(json.loads(l) for l in nzt.text(r.stdout).splitlines()))
    r = nzt.run(["findings"], db=os.path.join(h.tmp, "does-not-exist.db"))
    h.check("findings on a missing database: exit 3", r.returncode == 3)
    # --fail-on
    crit = nzt.pcap("tls", "tls12-null-sha.pcap")
    r = nzt.analyze(h.db(), ["--fail-on", "high", crit])
    h.check("--fail-on high with a critical finding: exit 1", r.returncode == 1, nzt.text(r.stderr))
    r = nzt.analyze(h.db(), ["--fail-on", "critical", nzt.pcap("http-get-ipv4.pcap")])
    h.check("--fail-on critical without one: exit 0", r.returncode == 0, nzt.text(r.stderr))


# ---- 5. caps, determinism ----

def dump_db(db):
    fl = nzt.query(db, "SELECT client_ip, client_port, server_ip, server_port, app_proto, first_ts, last_ts,"
                       " pkts_c2s, pkts_s2c, bytes_c2s, bytes_s2c, gaps, overlaps, end_reason FROM flows"
                       " ORDER BY first_ts, client_port")
    fi = nzt.query(db, "SELECT ts, kind, severity, client_ip, client_port, server_ip, server_port, summary,"
                       " evidence FROM findings ORDER BY ts, kind, client_port, summary")
    return json.dumps([fl, fi], sort_keys=True)


def check_caps_determinism():
    loss = [nzt.pcap("loss-netns-client-side.pcap"), nzt.pcap("loss-netns-server-side.pcap")]
    a, b = h.db("a.db"), h.db("b.db")
    nzt.analyze(a, [os.path.join(P, "tls"), os.path.join(P, "http")] + loss)
    nzt.analyze(b, [os.path.join(P, "tls"), os.path.join(P, "http")] + loss)
    h.check("same input, same database content (packet time only)", dump_db(a) == dump_db(b))
    db = h.db()
    r = nzt.analyze(db, ["--max-flows", "2", "--continuous", os.path.join(P, "http")])
    runs = nzt.query(db, "SELECT flows_evicted, counters FROM runs")
    h.check("--max-flows 2: flows evicted and counted", r.returncode == 0 and runs[0]["flows_evicted"] > 0,
            str(runs) + nzt.text(r.stderr))
    h.check("--max-flows: summary names the flag", "--max-flows" in nzt.text(r.stdout))
    db = h.db()
    r = nzt.analyze(db, ["--max-reasm-mem", "1", "--max-ooo", "1K"] + loss)
    c = json.loads(nzt.query(db, "SELECT counters FROM runs")[0]["counters"])
    h.check("tiny reassembly memory: completes, drops counted",
            r.returncode == 0 and (c["reassembly"]["over_budget"] > 0 or c["reassembly"]["cap_drops"] > 0), str(c))
    # nDPI sees only a flow's first packets; encrypted bulk after a handshake is bypassed.
    db = h.db()
    r = nzt.analyze(db, loss + [os.path.join(P, "tls")])
    run = nzt.query(db, "SELECT packets, flows, counters FROM runs")[0]
    c = json.loads(run["counters"])
    h.check("nDPI fed at most 12 packets per flow", c["ndpi_packets"] <= 12 * run["flows"],
            f"{c['ndpi_packets']} for {run['flows']} flows")
    h.check("nDPI fed a small share of a bulk download", c["ndpi_packets"] * 5 < run["packets"],
            f"{c['ndpi_packets']} of {run['packets']}")
    h.check("TLS application data after the handshake is bypassed", c["reassembly"]["bypassed_segments"] > 0, str(c))
    db = h.db()
    nzt.analyze(db, ["--no-ndpi", loss[0]])
    c = json.loads(nzt.query(db, "SELECT counters FROM runs")[0]["counters"])
    h.check("--no-ndpi: nDPI sees nothing", c["ndpi_packets"] == 0, str(c))
    r = nzt.analyze(h.db(), ["--max-flows", "0", loss[0]])
    h.check("--max-flows 0 refused (exit 2)", r.returncode == 2)


# ---- 6. database failures ----

def check_db_failures():
    good = nzt.pcap("loss-netns-server-side.pcap")
    # Disk full: the file size limit makes every write past it fail (EFBIG), as a full disk.
    db = h.db()
    r = nzt.analyze(db, [nzt.pcap("http-get-ipv4.pcap")])
    before = nzt.query(db, "SELECT count(*) AS n FROM flows")[0]["n"]
    size = os.path.getsize(db) + (os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0)

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        lim = size + 4096
        resource.setrlimit(resource.RLIMIT_FSIZE, (lim, lim))

    r = subprocess.run([nzt.BIN, "--db", db, "analyze", "--no-progress", os.path.join(P, "tls"),
                        os.path.join(P, "http"), good], capture_output=True, preexec_fn=limit, timeout=300)
    err = nzt.text(r.stderr)
    h.check("disk full: exit 3", r.returncode == 3, f"exit {r.returncode}: {err[-500:]}")
    h.check("disk full: says so", "database" in err.lower(), err[-500:])
    con = sqlite3.connect(db)
    ok = con.execute("PRAGMA integrity_check").fetchone()[0]
    n = con.execute("SELECT count(*) FROM flows WHERE run_id = 1").fetchone()[0]
    con.close()
    h.check("disk full: database intact", ok == "ok", ok)
    h.check("disk full: rows committed before are kept", n == before, f"{n} vs {before}")
    # Locked: another connection holds the write lock for longer than the busy timeout.
    db = h.db()
    nzt.analyze(db, [nzt.pcap("http-get-ipv4.pcap")])
    con = sqlite3.connect(db, isolation_level=None, timeout=1)
    con.execute("BEGIN EXCLUSIVE")
    r = nzt.analyze(db, [good], timeout=120)
    con.execute("ROLLBACK")
    con.close()
    err = nzt.text(r.stderr)
    h.check("locked database: exit 3 with a clear message", r.returncode == 3 and ("lock" in err or "busy" in err),
            f"exit {r.returncode}: {err[-400:]}")
    n = nzt.query(db, "SELECT count(*) AS n FROM flows")[0]["n"]
    h.check("locked database: earlier rows kept", n == len(read_tsv(expected(nzt.pcap("http-get-ipv4.pcap"), "flows.tsv"))))


def main():
    if not os.access(nzt.BIN, os.X_OK):
        h.check("netzwacht binary exists", False, nzt.BIN)
        h.finish()
    check_counts_and_streams()
    check_inputs()
    check_bad_inputs()
    check_outputs()
    check_caps_determinism()
    check_db_failures()
    h.finish()


if __name__ == "__main__":
    main()
