#!/usr/bin/env python3
"""live.py — does `netzwacht watch` keep up with the link? Replays a >= 1 GiB bench mix
(mkbench.py) with tcpreplay through a veth pair between two network namespaces this script
creates, captures it on the other end with `netzwacht watch` (and, for comparison, with
`tcpdump -w /dev/null`), and compares what watch stored with `netzwacht analyze` of the same
file.

Needs root (namespaces, raw sockets); without root it says so and exits 0. Needs ip
(iproute2) and tcpreplay; tcpdump for the comparison rows and the pre-flight check.

Setup (names unique per run, removed in a finally, also on failure and SIGTERM/SIGHUP/SIGINT):
  netns <tag>c (capture side) and <tag>s (sender side), IPv6 off in both (no router
  solicitations or DAD in the capture), one veth pair between them (<tag>a in c, <tag>b in s),
  MTU large enough for the largest frame of the input, no addresses. Nothing is in the host's
  namespace. Replayed frames keep their recorded MAC addresses: the veth delivers them to the
  capture socket anyway (as PACKET_OTHERHOST; the stack then drops them). A pre-flight replay
  of a small mix into `tcpdump -w` checks that every frame arrives byte for byte, in order.

Per run (interleaved: run 1 of every tool and speed, then run 2, ...): start the capture,
wait until it says it is capturing, `tcpreplay --intf1=<tag>b` (--topspeed or --mbps N;
-K preloads the file so the sender is not limited by reading it), wait until the capture
process has used no CPU for 1.5 s (drained: covers libpcap's block timeout), SIGINT, wait.
Reported per run: packets sent (tcpreplay), seen (watch: packets it processed; tcpdump:
packets captured), libpcap received/dropped/interface-dropped (watch's stderr summary, cross-
checked with its runs row; tcpdump's exit summary), lost before libpcap = sent - received
(kernel backlog or veth drops, also shown from the veth counters and /proc/net/softnet_stat),
unread = received - dropped - seen (should be 0: nothing left in the ring at the stop), CPU
seconds of the capture process; for watch, row counts of flows, tls_sessions, smtp_sessions,
http_requests, findings of mail kinds (smtp./imap./pop3.) and all findings, each compared
with `netzwacht analyze` of the same file ("=" or the difference).

Findings that depend on packet time (certificate validity at capture time) may differ even
without drops: live timestamps are the replay's, not the file's.

Usage: tests/bench/live.py [--runs 5] [--mbps top,1000] [--hog] [--workers 1,default] [--also OLD_BINARY]
                           [--size-mb 1100 | --input FILE] [--netzwacht PATH] [--json FILE]
"""
import argparse
import json
import mmap
import os
import re
import secrets
import shutil
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
MKBENCH = os.path.join(HERE, "mkbench.py")
TABLES = ("flows", "tls_sessions", "smtp_sessions", "http_requests")
MAIL_PREFIXES = ("smtp.", "imap.", "pop3.")
# verdicts on the certificate's validity at the packet's time: live packets carry the replay's
# time, not the file's, so these differ from analyze even when no packet is lost
TIME_KINDS = ("tls.cert_expired", "tls.cert_expiring")
COMPARED = ("flows", "tls_sessions", "smtp_sessions", "http_requests", "mail_findings", "findings_timeless")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"live: {msg}", file=sys.stderr, flush=True)


def sh(*cmd, check=True, capture=True):
    r = subprocess.run(list(cmd), capture_output=capture, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {r.returncode}: {(r.stderr or '').strip()}")
    return r


def first_line(*cmd):
    r = sh(*cmd, check=False)
    lines = (r.stdout + r.stderr).strip().splitlines()
    return lines[0] if lines else None


# ---------------------------------------------------------------------------- inputs

def pcap_scan(path):
    """(packets, largest captured frame) of a classic pcap file, from its record headers."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        magic = m[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            e = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            e = ">"
        else:
            raise SystemExit(f"live: {path}: not a classic pcap file (tcpreplay and this scan need one)")
        hdr = struct.Struct(e + "IIII")
        off, n, mx, size = 24, 0, 0, len(m)
        while off + 16 <= size:
            caplen = hdr.unpack_from(m, off)[2]
            off += 16 + caplen
            n += 1
            if caplen > mx:
                mx = caplen
    return n, mx


def mkbench(tmp, name, *args):
    path = os.path.join(tmp, name + ".pcap")
    r = subprocess.run([sys.executable, MKBENCH, "--out", path, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"mkbench {' '.join(args)} failed:\n{r.stderr}")
    info = json.loads(r.stdout.strip().splitlines()[-1])
    log(f"input {name}: {info['packets']:,} packets, {info['bytes'] / 1e6:.1f} MB, {info.get('flows')} flows")
    return info


def db_counts(db):
    """Row counts of one database (one run in it) and its runs row."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        c = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        kinds = dict(con.execute("SELECT kind, count(*) FROM findings GROUP BY kind").fetchall())
        c["mail_findings"] = sum(v for k, v in kinds.items() if k.startswith(MAIL_PREFIXES))
        c["findings"] = sum(kinds.values())
        c["findings_timeless"] = sum(v for k, v in kinds.items() if k not in TIME_KINDS)
        c["kinds"] = kinds
        cols = [r[1] for r in con.execute("PRAGMA table_info(runs)")]
        want = [x for x in ("packets", "pcap_recv", "pcap_drop", "pcap_ifdrop", "queue_full", "counters") if x in cols]
        row = con.execute(f"SELECT {', '.join(want)} FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        run = dict(zip(want, row)) if row else {}
        if run.get("counters"):
            try:
                run["counters"] = json.loads(run["counters"])
            except ValueError:
                pass
        c["run"] = run
    finally:
        con.close()
    return c


# ---------------------------------------------------------------------------- namespaces

class Netns:
    """Two namespaces joined by one veth pair. Removed by close() (idempotent)."""

    def __init__(self, mtu):
        self.tag = f"nzl{os.getpid() % 100000:05d}{secrets.token_hex(1)}"
        self.cap_ns, self.snd_ns = self.tag + "c", self.tag + "s"
        self.cap_if, self.snd_if = self.tag + "a", self.tag + "b"
        self.made = []
        try:
            for ns in (self.cap_ns, self.snd_ns):
                sh("ip", "netns", "add", ns)
                self.made.append(ns)
                sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                   "net.ipv6.conf.default.disable_ipv6=1")
            sh("ip", "-n", self.cap_ns, "link", "add", self.cap_if, "mtu", str(mtu), "type", "veth",
               "peer", "name", self.snd_if, "netns", self.snd_ns, "mtu", str(mtu))
            sh("ip", "-n", self.cap_ns, "link", "set", self.cap_if, "up")
            sh("ip", "-n", self.snd_ns, "link", "set", self.snd_if, "up")
        except Exception:
            self.close()
            raise

    def close(self):
        while self.made:
            ns = self.made.pop()
            sh("ip", "netns", "del", ns, check=False)

    def stats(self):
        """veth counters: sender's tx (packets, dropped) and capture side's rx."""
        out = {}
        for ns, dev, key in ((self.snd_ns, self.snd_if, "snd"), (self.cap_ns, self.cap_if, "cap")):
            j = json.loads(sh("ip", "-n", ns, "-s", "-j", "link", "show", "dev", dev).stdout)[0]
            s = j.get("stats64", j.get("stats", {}))
            out[key] = {"rx_packets": s["rx"]["packets"], "rx_dropped": s["rx"]["dropped"],
                        "tx_packets": s["tx"]["packets"], "tx_dropped": s["tx"]["dropped"]}
        return out


def softnet_drops():
    """Sum over CPUs of /proc/net/softnet_stat's second column (backlog queue full)."""
    try:
        with open("/proc/net/softnet_stat") as f:
            return sum(int(line.split()[1], 16) for line in f if line.strip())
    except OSError:
        return None


def proc_cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime (all threads)
    except (OSError, IndexError, ValueError):
        return None


# ---------------------------------------------------------------------------- one run

class Capture:
    """A capture process in the capture namespace: `netzwacht watch` or `tcpdump`."""

    def __init__(self, kind, cmd, ready_re, tmp):
        self.kind = kind
        self.errpath = os.path.join(tmp, f"cap-{kind}-{secrets.token_hex(3)}.err")
        self.errf = open(self.errpath, "w+b")
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.errf)
        self.rusage = None
        t0 = time.monotonic()
        try:
            while True:
                err = self.stderr()
                if re.search(ready_re, err):
                    break
                if self.p.poll() is not None:
                    raise RuntimeError(f"{' '.join(cmd)} exited with {self.p.returncode}: {err.strip()[-1000:]}")
                if time.monotonic() - t0 > 20:
                    raise RuntimeError(f"{' '.join(cmd)}: not capturing after 20 s: {err.strip()[-1000:]}")
                time.sleep(0.05)
        except BaseException:
            self.kill()
            raise

    def stderr(self):
        self.errf.flush()
        with open(self.errpath, "rb") as f:
            return f.read().decode(errors="replace")

    def drain(self, quiet=1.5, limit=120):
        """Waits until the process used no CPU for `quiet` seconds (the ring is empty and
        libpcap's block timeout has passed). Returns the seconds waited."""
        t0 = time.monotonic()
        last, since = proc_cpu_ticks(self.p.pid), time.monotonic()
        while time.monotonic() - t0 < limit:
            time.sleep(0.1)
            now = proc_cpu_ticks(self.p.pid)
            if now is None:
                break
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
        return time.monotonic() - t0

    def stop(self, timeout=300):
        if self.p.poll() is not None:  # exited before it was told to: reaped by poll(), no rusage
            err = self.stderr()
            self.kill()
            raise RuntimeError(f"{self.kind} exited by itself with {self.p.returncode}:\n{err.strip()[-2000:]}")
        os.kill(self.p.pid, signal.SIGINT)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            pid, status, ru = os.wait4(self.p.pid, os.WNOHANG)
            if pid:
                self.p.returncode = os.waitstatus_to_exitcode(status)
                self.rusage = ru
                break
            time.sleep(0.05)
        else:
            self.kill()
            raise RuntimeError(f"{self.kind}: did not stop within {timeout} s of SIGINT")
        err = self.stderr()
        self.errf.close()
        os.unlink(self.errpath)
        return err

    def kill(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
            self.p.wait()
        if not self.errf.closed:
            self.errf.close()


def replay(ns, path, speed, preload):
    cmd = ["ip", "netns", "exec", ns.snd_ns, "tcpreplay", f"--intf1={ns.snd_if}"]
    cmd += ["--topspeed"] if speed == "top" else [f"--mbps={speed}"]
    if preload:
        cmd.append("--preload-pcap")
    cmd.append(path)
    r = sh(*cmd)
    out = r.stdout + r.stderr
    m = re.search(r"Actual: (\d+) packets \((\d+) bytes\) sent in ([\d.]+) seconds", out)
    if not m:
        raise RuntimeError(f"tcpreplay: no 'Actual:' line in its output:\n{out[-2000:]}")
    failed = re.search(r"Failed packets:\s+(\d+)", out)
    rated = re.search(r"Rated: [\d.]+ Bps, ([\d.]+) Mbps, ([\d.]+) pps", out)
    return {"sent": int(m.group(1)), "bytes": int(m.group(2)), "seconds": float(m.group(3)),
            "failed": int(failed.group(1)) if failed else None,
            "mbps": float(rated.group(1)) if rated else None, "pps": float(rated.group(2)) if rated else None}


WATCH_STOP = re.compile(r"stopped: (\d+) packets, (\d+) flows, (\d+) findings; libpcap received (\d+), "
                        r"dropped (\d+), interface dropped (\d+)")


def one_run(a, ns, tmp, tool, speed, path, ref):
    """tool: {"kind": "watch" | "tcpdump", "opts", "exe", "label"}. Returns the run's figures."""
    kind, opts = tool["kind"], tool["opts"]
    dbdir = None
    if kind == "watch":
        dbdir = tempfile.mkdtemp(prefix="db-", dir=tmp)  # 0700: watch refuses world-writable folders
        db = os.path.join(dbdir, "x.db")
        cmd = ["ip", "netns", "exec", ns.cap_ns, tool["exe"], "watch", "-i", ns.cap_if, "--db", db, *opts]
        if a.buffer_mb:
            cmd += ["--buffer-size", str(a.buffer_mb)]
        ready = r"capturing on"
    else:
        cmd = ["ip", "netns", "exec", ns.cap_ns, "tcpdump", "-i", ns.cap_if, "-w", "/dev/null", "-s", "262144", "-n"]
        if a.buffer_mb:
            cmd += ["-B", str(a.buffer_mb * 1024)]
        ready = r"listening on"
    v0, sn0 = ns.stats(), softnet_drops()
    cap = Capture(kind, cmd, ready, tmp)
    try:
        rp = replay(ns, path, speed, a.preload)
        waited = cap.drain()
        err = cap.stop()
    except BaseException:
        cap.kill()
        raise
    v1, sn1 = ns.stats(), softnet_drops()
    ru = cap.rusage
    R = {"tool": tool["label"], "speed": speed, "sent": rp["sent"], "tcpreplay": rp, "rc": cap.p.returncode,
         "cpu": ru.ru_utime + ru.ru_stime, "drain_wait": round(waited, 2),
         "veth_snd_tx_dropped": v1["snd"]["tx_dropped"] - v0["snd"]["tx_dropped"],
         "veth_cap_rx_packets": v1["cap"]["rx_packets"] - v0["cap"]["rx_packets"],
         "veth_cap_rx_dropped": v1["cap"]["rx_dropped"] - v0["cap"]["rx_dropped"],
         "softnet_dropped": (sn1 - sn0) if sn0 is not None and sn1 is not None else None}
    if kind == "watch":
        m = WATCH_STOP.search(err)
        if not m:
            shutil.rmtree(dbdir, ignore_errors=True)
            raise RuntimeError(f"watch printed no 'stopped:' summary (rc {cap.p.returncode}):\n{err[-2000:]}")
        R.update(seen=int(m.group(1)), recv=int(m.group(4)), drop=int(m.group(5)), ifdrop=int(m.group(6)))
        c = db_counts(db)
        shutil.rmtree(dbdir, ignore_errors=True)
        run = c.pop("run")
        R["runs_row"] = run
        R["counts"] = c
        # the runs row must say what stderr said
        for k_row, k in (("packets", "seen"), ("pcap_recv", "recv"), ("pcap_drop", "drop"), ("pcap_ifdrop", "ifdrop")):
            if k_row in run and run[k_row] != R[k]:
                R.setdefault("problems", []).append(f"runs.{k_row} {run[k_row]} but stderr says {R[k]}")
        if "queue_full" in run:
            R["queue_full"] = run["queue_full"]
        R["diff"] = {k: c[k] - ref[k] for k in COMPARED + ("findings",)}
        R["kind_diff"] = {k: c["kinds"].get(k, 0) - ref["kinds"].get(k, 0)
                          for k in sorted(set(c["kinds"]) | set(ref["kinds"]))
                          if c["kinds"].get(k, 0) != ref["kinds"].get(k, 0)}
    else:
        cap_m = re.search(r"(\d+) packets? captured", err)
        rcv_m = re.search(r"(\d+) packets? received by filter", err)
        drp_m = re.search(r"(\d+) packets? dropped by kernel", err)
        ifd_m = re.search(r"(\d+) packets? dropped by interface", err)
        if not (cap_m and rcv_m and drp_m):
            raise RuntimeError(f"tcpdump printed no statistics (rc {cap.p.returncode}):\n{err[-2000:]}")
        R.update(seen=int(cap_m.group(1)), recv=int(rcv_m.group(1)), drop=int(drp_m.group(1)),
                 ifdrop=int(ifd_m.group(1)) if ifd_m else 0)
    R["lost_before_libpcap"] = R["sent"] - R["recv"]
    R["unread"] = R["recv"] - R["drop"] - R["seen"]
    R["seen_share"] = R["seen"] / R["sent"] if R["sent"] else float("nan")
    return R


def watch_tools(exe, spec, tag):
    """watch rows of one binary for --workers LIST; (tools, skipped settings)."""
    whelp = subprocess.run([exe, "watch", "--help"], capture_output=True, text=True)
    has = "--workers" in whelp.stdout + whelp.stderr
    tools, skipped = [], []
    for w in [x.strip() for x in (spec or ("1,default" if has else "default")).split(",") if x.strip()]:
        if w == "default":
            opts = ()
        elif not w.isdigit() or int(w) < 1:
            sys.exit(f"live: --workers: '{w}' is neither a number >= 1 nor 'default'")
        elif has:
            opts = ("--workers", str(int(w)))
        else:
            skipped.append(w)
            continue
        tools.append({"kind": "watch", "opts": opts, "exe": exe,
                      "label": "watch" + (f" w{opts[1]}" if opts else "") + (f" {tag}" if tag else "")})
    return tools, skipped


def fmt_diff(d):
    return "=" if d == 0 else f"{d:+,}"


def run_line(i, n, R):
    s = (f"run {i}/{n} {R['speed']:>5} {R['tool']:<13} sent {R['sent']:>10,}  seen {R['seen']:>10,} "
         f"({100 * R['seen_share']:5.1f} %)  pcap recv {R['recv']:>10,} drop {R['drop']:>9,} ifdrop {R['ifdrop']}  "
         f"lost before pcap {R['lost_before_libpcap']:,}  unread {R['unread']:,}  "
         f"{R['tcpreplay']['mbps']:,.0f} Mbit/s {R['tcpreplay']['seconds']:.1f} s  CPU {R['cpu']:.1f} s")
    if "diff" in R:
        c, d = R["counts"], R["diff"]
        s += ("\n      vs analyze: " + "  ".join(f"{k} {c[k]:,} {fmt_diff(d[k])}" for k in COMPARED))
        tk = {k: v for k, v in R["kind_diff"].items() if k in TIME_KINDS}
        if tk:
            s += "  (packet-time kinds: " + ", ".join(f"{k} {v:+,}" for k, v in tk.items()) + ")"
        if "queue_full" in R:
            s += f"  queue_full {R['queue_full']}"
    return s


# ---------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--netzwacht", default=os.path.join(REPO, "build-bench", "cli", "netzwacht"))
    ap.add_argument("--runs", type=int, default=5, help="repetitions of every tool and speed (default 5)")
    ap.add_argument("--mbps", default="top,1000", help="replay speeds, comma-separated: 'top' (--topspeed) "
                    "and/or Mbit/s (default %(default)s)")
    ap.add_argument("--hog", action="store_true", help="run a CPU-bound process for the whole measurement")
    ap.add_argument("--workers", default=None, help="watch --workers settings, comma-separated numbers and/or "
                    "'default' (default: 1,default when watch has --workers, else default)")
    ap.add_argument("--also", action="append", metavar="PATH", help="another netzwacht binary (e.g. the build "
                    "before a change) measured in the same interleaved runs, rows marked #1, #2, ...; repeatable")
    ap.add_argument("--no-tcpdump", action="store_true", help="no tcpdump comparison rows")
    ap.add_argument("--size-mb", type=float, default=1100, help="bench mix size (default 1100: 1.15 GB >= 1 GiB)")
    ap.add_argument("--input", default=None, help="replay this classic pcap instead of a generated mix")
    ap.add_argument("--buffer-mb", type=int, default=None, help="kernel capture buffer for watch "
                    "(--buffer-size, per socket) and tcpdump (-B); default: each tool's own (watch 64 MiB per socket, tcpdump libpcap's 2 MiB)")
    ap.add_argument("--no-preload", dest="preload", action="store_false",
                    help="tcpreplay reads the file while sending (default: --preload-pcap)")
    ap.add_argument("--json", default="/tmp/netzwacht-live.json")
    ap.add_argument("--tmpdir", default=None, help="where inputs and databases go (default /dev/shm if it has room)")
    a = ap.parse_args()

    if os.geteuid() != 0:
        print("live: skipped: needs root (network namespaces, a veth pair, raw capture sockets); "
              "run it as root, e.g. sudo python3 tests/bench/live.py", file=sys.stderr)
        return 0
    missing = [t for t in ("ip", "tcpreplay") if not shutil.which(t)]
    if missing:
        print(f"live: skipped: {', '.join(missing)} not installed (apt-get install iproute2 tcpreplay)",
              file=sys.stderr)
        return 0
    a.netzwacht = os.path.abspath(a.netzwacht)
    if not os.access(a.netzwacht, os.X_OK):
        sys.exit(f"live: {a.netzwacht} not found; build it: meson setup build-bench --buildtype=release && "
                 "ninja -C build-bench")
    tcpdump = None if a.no_tcpdump else shutil.which("tcpdump")
    if not tcpdump and not a.no_tcpdump:
        log("tcpdump not installed: no comparison rows, pre-flight with watch only")
    speeds = []
    for x in a.mbps.split(","):
        x = x.strip().lower()
        if x in ("top", "topspeed", "0"):
            speeds.append("top")
        elif x.replace(".", "", 1).isdigit() and float(x) > 0:
            speeds.append(x)
        elif x:
            sys.exit(f"live: --mbps: '{x}' is neither 'top' nor a number of Mbit/s")
    tools, skipped = watch_tools(a.netzwacht, a.workers, "")
    if skipped:
        log(f"NOTE: this netzwacht's watch has no --workers option: --workers {','.join(skipped)} skipped, "
            "only the default (today's engine) is measured")
    for i, other in enumerate(a.also or (), 1):
        other = os.path.abspath(other)
        if not os.access(other, os.X_OK):
            sys.exit(f"live: --also {other}: not an executable")
        more, sk = watch_tools(other, a.workers, f"#{i}")
        if sk:
            log(f"NOTE: --also #{i} ({other}) has no --workers option: only its default is measured")
        tools += more
        log(f"#{i} is {other} ({first_line(other, '--version')})")
    if tcpdump:
        tools.append({"kind": "tcpdump", "opts": (), "exe": tcpdump, "label": "tcpdump"})

    base_dir = a.tmpdir
    if base_dir is None:
        st = os.statvfs("/dev/shm") if os.path.isdir("/dev/shm") else None
        base_dir = "/dev/shm" if st and st.f_bavail * st.f_frsize > 3 * (a.size_mb * 1.1e6 + 200e6) else None
    tmp = tempfile.mkdtemp(prefix="nzlive-", dir=base_dir)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    ns = hog = None
    t_start = time.time()
    R = {"date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": a.runs, "speeds": speeds,
         "hog": a.hog, "tools": [t["label"] for t in tools], "skipped_workers": skipped, "preload": a.preload,
         "also": [os.path.abspath(x) for x in a.also or ()], "buffer_mb": a.buffer_mb, "cores": os.cpu_count(), "kernel": os.uname().release,
         "loadavg_start": os.getloadavg(),
         "versions": {"netzwacht": first_line(a.netzwacht, "--version"),
                      "tcpreplay": first_line("tcpreplay", "--version"),
                      "tcpdump": first_line("tcpdump", "--version") if tcpdump else None}}
    try:
        if a.input:
            path = os.path.abspath(a.input)
            info = {"path": path, "bytes": os.path.getsize(path)}
        else:
            info = mkbench(tmp, "mix", "--kind", "mix", "--size-mb", str(a.size_mb))
            path = info["path"]
        npk, maxlen = pcap_scan(path)
        info["packets"], info["max_frame"] = npk, maxlen
        R["input"] = {k: v for k, v in info.items() if k != "path"}
        if not a.input:
            R["input"]["path"] = None
        mtu = max(1500, maxlen - 14)

        # reference: analyze of the same file
        refdir = tempfile.mkdtemp(prefix="ref-", dir=tmp)
        t0 = time.monotonic()
        sh(a.netzwacht, "analyze", "--db", os.path.join(refdir, "x.db"), "-q", "--no-progress", path)
        ref = db_counts(os.path.join(refdir, "x.db"))
        ref_run = ref.pop("run")
        R["reference"] = {**ref, "analyze_wall": round(time.monotonic() - t0, 2), "packets": ref_run.get("packets")}
        log(f"reference (analyze): {npk:,} packets; " + ", ".join(f"{k} {ref[k]:,}" for k in COMPARED))
        if ref_run.get("packets") != npk:
            log(f"WARNING: analyze counted {ref_run.get('packets')} packets, the file has {npk}")

        ns = Netns(mtu)
        R["netns"] = {"capture": ns.cap_ns, "sender": ns.snd_ns, "mtu": mtu}
        log(f"namespaces {ns.cap_ns} ({ns.cap_if}, capture) and {ns.snd_ns} ({ns.snd_if}, tcpreplay), MTU {mtu}")
        R["preflight"] = preflight(a, ns, tmp, tcpdump)

        if a.hog:
            hog = subprocess.Popen([sys.executable, "-c", "while 1: pass"], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            log(f"CPU hog running (pid {hog.pid})")
        results = []
        total = a.runs * len(speeds) * len(tools)
        k = 0
        for i in range(1, a.runs + 1):
            for speed in speeds:
                for tool in tools:
                    k += 1
                    r = one_run(a, ns, tmp, tool, speed, path, ref)
                    r["rep"] = i
                    results.append(r)
                    print(run_line(k, total, r), flush=True)
                    for p in r.get("problems", []):
                        print(f"PROBLEM: {p}", flush=True)
        R["results"] = results
        R["summary"] = summarise(results, speeds, tools)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
        if ns is not None:
            ns.close()
        shutil.rmtree(tmp, ignore_errors=True)
    R["elapsed_sec"] = round(time.time() - t_start, 1)
    R["loadavg_end"] = os.getloadavg()
    with open(a.json, "w") as f:
        json.dump(R, f, indent=1)
    report(R)
    log(f"JSON written to {a.json}; {R['elapsed_sec']} s")
    return 0


def preflight(a, ns, tmp, tcpdump):
    """Replays a small mix slowly and checks the capture side gets every frame, byte for byte
    and in order (tcpdump -w), or at least every packet (watch, without tcpdump)."""
    info = mkbench(tmp, "preflight", "--kind", "mix", "--size-mb", "3", "--seed", "7")
    path = info["path"]
    if tcpdump:
        out = os.path.join(tmp, "preflight-cap.pcap")
        cap = Capture("tcpdump", ["ip", "netns", "exec", ns.cap_ns, "tcpdump", "-Z", "root", "-i", ns.cap_if,
                                  "-w", out, "-s", "262144", "-n"], r"listening on", tmp)
        try:
            rp = replay(ns, path, "100", False)
            cap.drain()
            cap.stop()
        except BaseException:
            cap.kill()
            raise
        a_fr, b_fr = frames(path), frames(out)
        same = sum(1 for x, y in zip(a_fr, b_fr) if x == y)
        res = {"sent": rp["sent"], "captured": len(b_fr), "identical_in_order": same, "file_packets": len(a_fr)}
        os.unlink(out)
        if not (rp["sent"] == len(a_fr) == len(b_fr) == same):
            raise RuntimeError(f"pre-flight: sent {rp['sent']} of {len(a_fr)} frames, captured {len(b_fr)}, "
                               f"{same} identical and in order: the veth does not deliver the replay as is")
        log(f"pre-flight: {same:,} of {len(a_fr):,} frames captured byte for byte, in order")
    else:
        dbdir = tempfile.mkdtemp(prefix="db-", dir=tmp)
        cap = Capture("watch", ["ip", "netns", "exec", ns.cap_ns, a.netzwacht, "watch", "-i", ns.cap_if, "--db",
                                os.path.join(dbdir, "x.db")], r"capturing on", tmp)
        try:
            rp = replay(ns, path, "100", False)
            cap.drain()
            err = cap.stop()
        except BaseException:
            cap.kill()
            raise
        m = WATCH_STOP.search(err)
        seen = int(m.group(1)) if m else None
        res = {"sent": rp["sent"], "seen_by_watch": seen, "file_packets": info["packets"]}
        shutil.rmtree(dbdir, ignore_errors=True)
        if not (rp["sent"] == info["packets"] == seen):
            raise RuntimeError(f"pre-flight: sent {rp['sent']} of {info['packets']} packets, watch saw {seen}")
        log(f"pre-flight: watch saw all {seen:,} packets")
    os.unlink(path)
    return res


def frames(path):
    with open(path, "rb") as f:
        d = f.read()
    e = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    out, off = [], 24
    while off + 16 <= len(d):
        caplen = struct.unpack_from(e + "IIII", d, off)[2]
        out.append(d[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return out


def summarise(results, speeds, tools):
    S = []
    for speed in speeds:
        for tool in tools:
            rs = [r for r in results if r["speed"] == speed and r["tool"] == tool["label"]]
            if not rs:
                continue

            def med(key, rs=rs):
                return statistics.median(r[key] for r in rs)
            row = {"speed": speed, "tool": tool["label"], "n": len(rs), "sent": med("sent"),
                   "seen_share_median": med("seen_share"), "seen_share_min": min(r["seen_share"] for r in rs),
                   "drop_median": med("drop"), "drop_max": max(r["drop"] for r in rs),
                   "lost_before_libpcap_max": max(r["lost_before_libpcap"] for r in rs),
                   "unread_max": max(abs(r["unread"]) for r in rs),
                   "mbps_median": statistics.median(r["tcpreplay"]["mbps"] or 0 for r in rs),
                   "cpu_median": med("cpu"), "runs_without_drops": sum(1 for r in rs if r["drop"] == 0
                                                                        and r["lost_before_libpcap"] == 0)}
            if "diff" in rs[0]:
                row["equal_runs"] = {k: sum(1 for r in rs if r["diff"][k] == 0) for k in rs[0]["diff"]}
                row["diff_median"] = {k: statistics.median(r["diff"][k] for r in rs) for k in rs[0]["diff"]}
            S.append(row)
    return S


def report(R):
    inp = R["input"]
    print(f"\nnetzwacht live benchmark {R['date_utc']}  {R['cores']} cores, kernel {R['kernel']}  "
          f"{R['versions']['netzwacht']}; {R['versions']['tcpreplay']}")
    print(f"input: {inp['packets']:,} packets, {inp['bytes'] / 2**30:.2f} GiB; veth MTU {R['netns']['mtu']}; "
          f"{R['runs']} runs per row{'; CPU hog running' if R['hog'] else ''}; capture buffer "
          f"{str(R['buffer_mb']) + ' MiB' if R['buffer_mb'] else 'each tool default (watch: its own, 64 MiB per socket; tcpdump: libpcap 2 MiB)'}")
    print(f"load average (1 min) at start {R['loadavg_start'][0]:.1f}, at end {R['loadavg_end'][0]:.1f} "
          f"(other jobs on the machine take CPU from the capture: compare runs of similar load)")
    ref = R["reference"]
    print("reference (analyze FILE): " + ", ".join(f"{k} {ref[k]:,}" for k in COMPARED + ("findings",)))
    if R["skipped_workers"]:
        print(f"(skipped: watch --workers {','.join(R['skipped_workers'])}: this netzwacht has no --workers option)")
    hdr = (f"{'speed':>6} {'tool':<13} {'Mbit/s':>7} {'seen %':>7} {'min %':>7} {'pcap drop':>10} {'drop max':>10} "
           f"{'lost<pcap':>9} {'clean':>5} {'CPU s':>6}  equal to analyze in n of runs "
           "(flows tls smtp http mail-findings findings*)")
    print("\n" + hdr)
    for s in R["summary"]:
        eq = ""
        if "equal_runs" in s:
            e, d = s["equal_runs"], s["diff_median"]
            eq = "  ".join(f"{e[k]}/{s['n']}" + ("" if d[k] == 0 else f" ({d[k]:+,.0f})") for k in COMPARED)
        print(f"{s['speed']:>6} {s['tool']:<13} {s['mbps_median']:>7,.0f} {100 * s['seen_share_median']:>7.2f} "
              f"{100 * s['seen_share_min']:>7.2f} {s['drop_median']:>10,.0f} {s['drop_max']:>10,} "
              f"{s['lost_before_libpcap_max']:>9,} {s['runs_without_drops']:>3}/{s['n']} {s['cpu_median']:>6.1f}  {eq}")
    print("(seen % = packets the tool processed / packets sent, median and minimum; pcap drop = libpcap's "
          "drop count, median and maximum; lost<pcap = most packets sent but never received by libpcap; "
          "clean = runs without any drop; differences from analyze are medians; findings* = all findings "
          f"but {', '.join(TIME_KINDS)}, which judge certificates at the packets' time and so differ live)")


if __name__ == "__main__":
    sys.exit(main())
