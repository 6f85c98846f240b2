#!/usr/bin/env python3
"""bench.py — netzwacht throughput, nDPI share, bulk bypass and memory, as RATIOS against a
baseline measured in the same run (these machines are noisy; absolute numbers are printed
too, but only the ratios are comparable between runs).

Inputs are synthesised by mkbench.py (next to this file) into a temporary folder (on
/dev/shm when it has room, so disk I/O is not measured) and deleted at the end.

Measured (median of --reps repetitions, commands interleaved so load changes hit all alike):
  throughput  mix input: tcpdump -r F -w /dev/null (baseline: libpcap read + write),
              netzwacht analyze F (file: includes the content-hash (BLAKE3) pass over the file used for
              dedup), netzwacht analyze - <F (stdin: no hash pass), the same with --no-ndpi;
              optionally tshark -r F -q -z conv,tcp once as a full-dissector reference.
              CPU time (user+sys of the child, from wait4) is the primary measure; wall time
              is reported next to it.
  nDPI        share of CPU: (default - no-ndpi) / default; packets fed: runs.counters
              ndpi_packets / packets.
  bypass      per-packet CPU on an input whose packets are 95 % TLS bulk after the handshake
              vs the same number of packets of TLS handshakes only (startup cost, measured on
              a one-flow capture, subtracted).
  memory      peak RSS (GNU time %M) of the default run on mix, and on the many-flows
              input (all flows open at the end) with default caps, with --max-flows 10000 and
              with --max-mem 64M (peak RSS above startup per byte of budget).
  callgrind   (when valgrind is installed) instruction counts on a small input: per packet
              for netzwacht vs tcpdump, nDPI share, content-hash cost per input byte. Repeatable.

  floor       floor.c (next to this file, compiled here with cc -O2 ... -lpcap): a bare
              pcap_open_offline + pcap_next_ex loop that touches every byte of every packet.
              Every netzwacht time is also given as a ratio to the floor's WALL time on the
              same input in the same run (interleaved repetitions, median).
  scale       a >= 1 GiB mix and a 100 MB mix of the same recipe: analyze FILE wall time /
              floor, peak RSS, ns per packet (startup subtracted) and its ratio 1 GiB / 100 MB
              (flat = 1.0), for --workers 1 and the default number of workers (and any
              --workers LIST), and the speed-up of N workers over 1. Builds without the
              --workers option get the default row only (said on stderr and in the table).
  perf        (--perf) perf record -g of one analyze of the mix; perf report by thread and
              DSO, by thread and symbol, and by symbol: where the time goes.

Output: a table on stdout and a JSON file (--json, default /tmp/netzwacht-bench.json).
--quick: small inputs and one repetition, finishes in well under a minute (smoke check).
--scale / --perf: only that section (both may be given); without them, the full run
(every section above but perf; --no-scale leaves the scale section out).

Usage: python3 tests/bench/bench.py [--quick] [--scale] [--perf] [--netzwacht build-bench/cli/netzwacht]
"""
import argparse
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
MKBENCH = os.path.join(HERE, "mkbench.py")
MEM_BUDGET_MIB = 64  # --max-mem of the many-flows run that checks the budget holds


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- running

GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run(cmd, stdin_path=None, check=True, rss=True):
    """Runs cmd; returns dict(wall, cpu, user, sys, maxrss_kb, rc, stderr).

    CPU and wall time come from wait4 on the child. Peak RSS does not: a child forked from
    this Python process inherits Python's RSS high-water mark across exec (about 18 MiB,
    which would hide small programs), so with rss=True the command runs under GNU time
    and its %M (the grandchild's own ru_maxrss) is used; time's own CPU is < 1 ms."""
    fin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    errf = tempfile.TemporaryFile()
    rssf = None
    if rss and GNU_TIME:
        fd, rssf = tempfile.mkstemp(prefix="nzbench-rss-")
        os.close(fd)
        cmd = [GNU_TIME, "-f", "%M", "-o", rssf, *cmd]
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=fin, stdout=subprocess.DEVNULL, stderr=errf)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        errf.seek(0)
        err = errf.read().decode(errors="replace")
        maxrss = ru.ru_maxrss
        if rssf:
            with open(rssf) as f:
                lines = f.read().split()
            maxrss = int(lines[-1]) if lines and lines[-1].isdigit() else None
    finally:
        if stdin_path:
            fin.close()
        errf.close()
        if rssf:
            os.unlink(rssf)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {p.returncode}:\n{err[-2000:]}")
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "user": ru.ru_utime, "sys": ru.ru_stime,
            "maxrss_kb": maxrss, "rc": p.returncode, "stderr": err}


def first_line(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        out = (r.stdout + r.stderr).strip().splitlines()
        return " / ".join(out[:2]) if out else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def tcpdump_read(path):
    """The baseline: libpcap reads every packet, pcap_dump writes it to /dev/null. As root,
    -Z root keeps tcpdump from switching to its own user (callgrind could not write its
    output file, and it is the same work either way)."""
    return ["tcpdump", *(["-Z", "root"] if os.geteuid() == 0 else []), "-r", path, "-w", "/dev/null"]


def mkbench(tmp, name, *args):
    path = os.path.join(tmp, name + ".pcap")
    r = subprocess.run([sys.executable, MKBENCH, "--out", path, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"mkbench {' '.join(args)} failed:\n{r.stderr}")
    info = json.loads(r.stdout.strip().splitlines()[-1])
    log(f"input {name}: {info['packets']} packets, {info['bytes'] / 1e6:.1f} MB, {info.get('flows')} flows")
    return info


def build_floor(tmp, given=None):
    """Returns the path of the floor program: --floor PATH, or floor.c compiled into tmp with
    the system compiler at -O2 (what a release build of a plain C reader gets)."""
    if given:
        exe = os.path.abspath(given)
        if not os.access(exe, os.X_OK):
            raise RuntimeError(f"--floor {exe}: not an executable")
        return exe
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise RuntimeError("no C compiler (cc) to build the floor (tests/bench/floor.c)")
    exe = os.path.join(tmp, "floor")
    r = subprocess.run([cc, "-O2", "-std=c11", "-Wall", "-Wextra", "-o", exe, os.path.join(HERE, "floor.c"),
                        "-lpcap"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"building the floor failed (libpcap-dev installed?):\n{r.stderr}")
    return exe


def floor_check(floor, info):
    """Runs the floor once on an input and checks it read every packet of it."""
    r = subprocess.run([floor, info["path"]], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"floor failed on {info['path']}: {r.stderr}")
    n = int(r.stdout.split()[1])
    if n != info["packets"]:
        raise RuntimeError(f"floor read {n} packets of {info['path']}, mkbench wrote {info['packets']}")


def accepts_workers(exe):
    """True when `netzwacht analyze --help` lists --workers (the multi-threaded engine)."""
    h = subprocess.run([exe, "analyze", "--help"], capture_output=True, text=True)
    return "--workers" in (h.stdout + h.stderr)


def worker_configs(exe, spec):
    """[(name, options)] from --workers LIST ("1,default", "1,2,4"): "default" passes no
    option. Without --workers in the binary only "default" remains (noted, never faked)."""
    has = accepts_workers(exe)
    out, skipped = [], []
    for w in [x.strip() for x in spec.split(",") if x.strip()]:
        if w == "default":
            out.append(("default", ()))
        elif not w.isdigit() or int(w) < 1:
            raise SystemExit(f"bench: --workers: '{w}' is neither a number >= 1 nor 'default'")
        elif has:
            out.append((f"w{int(w)}", ("--workers", str(int(w)))))
        else:
            skipped.append(w)
    if skipped:
        log(f"NOTE: this netzwacht has no --workers option (analyze --help): rows for --workers "
            f"{','.join(skipped)} skipped, only the default (today's engine) is measured")
    if not any(n == "default" for n, _ in out):
        out.append(("default", ()))
    return out, skipped


class Netzwacht:
    def __init__(self, exe, tmp):
        self.exe = exe
        self.tmp = tmp
        self.n = 0

    def db(self):
        self.n += 1
        path = os.path.join(self.tmp, f"run{self.n}.db")
        for suf in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(path + suf):
                os.unlink(path + suf)
        return path

    @staticmethod
    def drop(db):
        for suf in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(db + suf):
                os.unlink(db + suf)

    def cmd(self, db, infile, opts=(), stdin=False):
        return [self.exe, "analyze", "--db", db, "-q", "--no-progress", *opts, "-" if stdin else infile]

    def run(self, infile, opts=(), stdin=False, counters=False):
        db = self.db()
        r = run(self.cmd(db, infile, opts, stdin), stdin_path=infile if stdin else None)
        if counters:
            con = sqlite3.connect(db)
            row = con.execute("SELECT packets, bytes, flows, flows_evicted, findings, counters FROM runs "
                              "ORDER BY id DESC LIMIT 1").fetchone()
            con.close()
            r["run"] = {"packets": row[0], "bytes": row[1], "flows": row[2], "flows_evicted": row[3],
                        "findings": row[4], "counters": json.loads(row[5]) if row[5] else {}}
        self.drop(db)
        return r


def once_counters(fn):
    """Wraps fn(counters: bool) so that only its first call reads runs.counters."""
    state = {"first": True}

    def call():
        c = state["first"]
        state["first"] = False
        return fn(c)
    return call


def median_of(results, key):
    return statistics.median(r[key] for r in results)


def measure(variants, reps):
    """variants: {name: callable() -> run dict}. Interleaves repetitions; returns
    {name: {"runs": [...], "wall": median, "cpu": median, "maxrss_kb": max}}."""
    res = {k: [] for k in variants}
    for i in range(reps):
        for k, fn in variants.items():
            res[k].append(fn())
    out = {}
    for k, rs in res.items():
        out[k] = {"wall": median_of(rs, "wall"), "cpu": median_of(rs, "cpu"),
                  "user": median_of(rs, "user"), "sys": median_of(rs, "sys"),
                  "maxrss_kb": max((r["maxrss_kb"] or 0) for r in rs),
                  "walls": [round(r["wall"], 4) for r in rs], "cpus": [round(r["cpu"], 4) for r in rs]}
        if "run" in rs[0]:
            out[k]["run"] = rs[0]["run"]
    return out


# ---------------------------------------------------------------------------- callgrind

ALLOC_FNS = ("malloc", "calloc", "realloc")


def callgrind(cmd, tmp, stdin_path=None):
    """Runs cmd under callgrind. Returns (instructions, calls to malloc/calloc/realloc from
    anywhere: our code, nDPI, SQLite, libc)."""
    out = os.path.join(tmp, "cg.out")
    run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd], stdin_path=stdin_path, rss=False)
    total = None
    names = {}
    allocs = 0
    callee = None
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
            elif line.startswith(("fn=(", "cfn=(")):
                # compressed names: "cfn=(12) malloc" defines id 12, later "cfn=(12)"
                ref, _, name = line.partition("=")[2].strip().partition(" ")
                if name:
                    names[ref] = name
                callee = names.get(ref) if line.startswith("cfn") else None
            elif line.startswith("calls=") and callee in ALLOC_FNS:
                allocs += int(line[6:].split()[0])
    os.unlink(out)
    if total is None:
        raise RuntimeError("callgrind: no totals in output")
    return total, allocs


def callgrind_ir(cmd, tmp, stdin_path=None):
    return callgrind(cmd, tmp, stdin_path)[0]


# ---------------------------------------------------------------------------- main

def ratio(a, b):
    return a / b if b else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small inputs, one repetition (< 60 s)")
    ap.add_argument("--netzwacht", default=os.path.join(REPO, "build-bench", "cli", "netzwacht"))
    ap.add_argument("--reps", type=int, default=None, help="repetitions (default 5, quick 1)")
    ap.add_argument("--size-mb", type=float, default=None, help="mix input size (default 500, quick 40)")
    ap.add_argument("--bypass-packets", type=int, default=None, help="bulk/handshake inputs (default 300000, quick 40000)")
    ap.add_argument("--many-flows", type=int, default=None, help="many-flows input (default 500000, quick 20000)")
    ap.add_argument("--background-flows", type=int, default=None, help="idle flows open during the "
                    "flow-table measurement (default 100000, quick 10000)")
    ap.add_argument("--small-mb", type=float, default=8, help="callgrind input size (MB)")
    ap.add_argument("--no-tshark", action="store_true")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--no-many", action="store_true", help="skip the many-flows memory runs")
    ap.add_argument("--json", default="/tmp/netzwacht-bench.json", help="result file (default %(default)s)")
    ap.add_argument("--tmpdir", default=None, help="where inputs go (default /dev/shm if it has room)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--floor", default=None, help="floor program to use instead of compiling floor.c")
    ap.add_argument("--scale", action="store_true", help="only the scale section (1 GiB vs 100 MB mix, workers)")
    ap.add_argument("--no-scale", action="store_true", help="full run without the scale section")
    ap.add_argument("--scale-big-mb", type=float, default=None, help="scale: big mix (default 1100 = 1.15 GB "
                    ">= 1 GiB; quick 110)")
    ap.add_argument("--scale-span", type=float, default=None, help="scale: packet-time span of the big mix "
                    "(default mkbench's 60 s, as the small one: the big mix has ~11x the concurrent flows; "
                    "660 keeps the small mix's rate and concurrency)")
    ap.add_argument("--scale-small-mb", type=float, default=None, help="scale: small mix (default 100, quick 10)")
    ap.add_argument("--workers", default="1,default", help="scale: worker settings to measure, comma-separated "
                    "numbers and/or 'default' (default %(default)s)")
    ap.add_argument("--perf", action="store_true", help="only the profile: perf record -g of one analyze of the mix")
    ap.add_argument("--perf-mb", type=float, default=None, help="perf: mix size (default 1100, quick 100)")
    ap.add_argument("--perf-workers", default=None, help="perf: --workers N for the profiled run (default: "
                    "the binary's default)")
    ap.add_argument("--perf-limit", type=float, default=0.5, help="perf: hide report lines below this %% "
                    "(default %(default)s)")
    a = ap.parse_args()
    full = not (a.scale or a.perf)
    do_scale = a.scale or (full and not a.no_scale)
    q = a.quick
    reps = a.reps or (1 if q else 5)
    size_mb = a.size_mb or (40 if q else 500)
    byp = a.bypass_packets or (40000 if q else 300000)
    many = a.many_flows or (20000 if q else 500000)
    exe = os.path.abspath(a.netzwacht)
    if not os.access(exe, os.X_OK):
        sys.exit(f"bench: {exe} not found; build it: meson setup build-bench --buildtype=release && ninja -C build-bench")
    if full and not shutil.which("tcpdump"):
        sys.exit("bench: tcpdump is needed for the baseline (apt-get install tcpdump)")
    if a.perf and not shutil.which("perf"):
        sys.exit("bench: --perf needs perf (apt-get install linux-perf)")
    big_mb = a.scale_big_mb or (110 if q else 1100)
    small_mb = a.scale_small_mb or (10 if q else 100)
    perf_mb = a.perf_mb or (100 if q else 1100)
    tshark = None if a.no_tshark else shutil.which("tshark")
    valgrind = None if a.no_callgrind else shutil.which("valgrind")

    base_dir = a.tmpdir
    if base_dir is None:
        need = 100e6
        if full:
            need += (size_mb * 1.1 + byp * 0.0025 + many * 0.0014) * 1e6
        if do_scale:
            need += (big_mb + small_mb) * 1.05e6
        if a.perf:
            need += perf_mb * 1.05e6 * (2 if a.keep else 1) + 300e6  # + perf.data
        st = os.statvfs("/dev/shm") if os.path.isdir("/dev/shm") else None
        base_dir = "/dev/shm" if st and st.f_bavail * st.f_frsize > 2 * need else None
    tmp = tempfile.mkdtemp(prefix="nzbench-", dir=base_dir)
    # SIGTERM/SIGHUP unwind through the finally below, so the inputs are removed.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    t_start = time.time()
    if not GNU_TIME:
        log("/usr/bin/time not found (apt-get install time): peak RSS includes Python's ~18 MiB")
    R = {"date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": q, "reps": reps,
         "perf_limit": a.perf_limit,
         "sections": [x for x, on in (("full", full), ("scale", do_scale), ("perf", a.perf)) if on],
         "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "cpu": cpu_model(),
                     "loadavg_start": os.getloadavg()},
         "versions": {"netzwacht": first_line([exe, "--version"]), "tcpdump": first_line(["tcpdump", "--version"]),
                      "tshark": first_line([tshark, "--version"]).split(" / ")[0] if tshark else None,
                      "valgrind": first_line(["valgrind", "--version"]) if valgrind else None,
                      "perf": first_line(["perf", "--version"]) if a.perf else None,
                      "python": platform.python_version()},
         "tmpdir": tmp, "git": git_state()}
    try:
        floor = build_floor(tmp, a.floor)
        R["floor"] = {"program": "tests/bench/floor.c" if not a.floor else floor,
                      "cc": first_line([os.environ.get("CC") or "cc", "--version"]).split(" / ")[0]}
        if full:
            bench(R, a, tmp, exe, reps, size_mb, byp, many, tshark, valgrind, floor)
        if do_scale:
            bench_scale(R, a, tmp, exe, reps, big_mb, small_mb, floor)
        if a.perf:
            bench_perf(R, a, tmp, exe, perf_mb)
    finally:
        if a.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    R["machine"]["loadavg_end"] = os.getloadavg()
    R["elapsed_sec"] = round(time.time() - t_start, 1)
    with open(a.json, "w") as f:
        json.dump(R, f, indent=1, sort_keys=False)
    report(R)
    log(f"JSON written to {a.json}; {R['elapsed_sec']} s")


def git_state():
    """HEAD and the number of modified tracked files (read-only git commands)."""
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30).stdout.strip().splitlines()
        return {"head": head, "modified_files": len(dirty)}
    except (OSError, subprocess.TimeoutExpired):
        return None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def bench(R, a, tmp, exe, reps, size_mb, byp, many, tshark, valgrind, floor):
    nz = Netzwacht(exe, tmp)
    inp = {}
    inp["tiny"] = mkbench(tmp, "tiny", "--kind", "tiny")
    inp["mix"] = mkbench(tmp, "mix", "--kind", "mix", "--size-mb", str(size_mb))
    inp["bulk"] = mkbench(tmp, "bulk", "--kind", "bulk", "--packets", str(byp))
    inp["handshakes"] = mkbench(tmp, "handshakes", "--kind", "handshakes", "--packets", str(inp["bulk"]["packets"]))
    R["inputs"] = {k: {x: y for x, y in v.items() if x != "path"} for k, v in inp.items()}
    P = {k: v["path"] for k, v in inp.items()}

    # -- startup cost (one TLS flow): subtracted from the bypass comparison
    log("startup (one-flow capture)")
    R["startup"] = measure({
        "tcpdump": lambda: run(tcpdump_read(P["tiny"])),
        "netzwacht": lambda: nz.run(P["tiny"], stdin=True),
        "netzwacht_no_ndpi": lambda: nz.run(P["tiny"], ("--no-ndpi",), stdin=True),
    }, max(3, reps))

    # -- throughput on the mix input
    log(f"throughput on mix ({reps} repetitions)")
    floor_check(floor, inp["mix"])
    T = measure({
        "floor": lambda: run([floor, P["mix"]]),
        "tcpdump": lambda: run(tcpdump_read(P["mix"])),
        "netzwacht_file": once_counters(lambda c: nz.run(P["mix"], counters=c)),
        "netzwacht_stdin": lambda: nz.run(P["mix"], stdin=True),
        "netzwacht_stdin_no_ndpi": lambda: nz.run(P["mix"], ("--no-ndpi",), stdin=True),
    }, reps)
    if tshark:
        log("tshark reference (once)")
        T["tshark_conv"] = measure({"t": lambda: run([tshark, "-n", "-r", P["mix"], "-q", "-z", "conv,tcp"])}, 1)["t"]
    R["throughput"] = T
    mix = inp["mix"]
    run0 = T["netzwacht_file"]["run"]
    if run0["packets"] != mix["packets"]:
        R.setdefault("problems", []).append(f"netzwacht counted {run0['packets']} packets, input has {mix['packets']}")
    base = T["tcpdump"]
    ratios = {}
    for k, v in T.items():
        v["pps_cpu"] = mix["packets"] / v["cpu"] if v["cpu"] else None
        v["MBps_cpu"] = mix["bytes"] / 1e6 / v["cpu"] if v["cpu"] else None
        v["pps_wall"] = mix["packets"] / v["wall"]
        v["MBps_wall"] = mix["bytes"] / 1e6 / v["wall"]
        ratios[k] = {"cpu_vs_tcpdump": ratio(v["cpu"], base["cpu"]), "wall_vs_tcpdump": ratio(v["wall"], base["wall"]),
                     "wall_vs_floor": ratio(v["wall"], T["floor"]["wall"])}
    R["throughput_ratios"] = ratios
    d, n = T["netzwacht_stdin"], T["netzwacht_stdin_no_ndpi"]
    ctr = run0["counters"]
    sd, sn = R["startup"]["netzwacht"]["cpu"], R["startup"]["netzwacht_no_ndpi"]["cpu"]
    R["ndpi"] = {
        "cpu_share": ratio(d["cpu"] - n["cpu"], d["cpu"]),
        "cpu_share_net_of_startup": ratio((d["cpu"] - sd) - (n["cpu"] - sn), d["cpu"] - sd),
        "startup_cpu": sd, "startup_cpu_no_ndpi": sn,
        "wall_share": ratio(d["wall"] - n["wall"], d["wall"]),
        "packets_fed": ctr.get("ndpi_packets"),
        "packets_total": run0["packets"],
        "fraction_fed": ratio(ctr.get("ndpi_packets", 0), run0["packets"]),
        "fed_per_flow": ratio(ctr.get("ndpi_packets", 0), run0["flows"]),
        "cpu_usec_per_fed_packet": ratio(((d["cpu"] - sd) - (n["cpu"] - sn)) * 1e6, ctr.get("ndpi_packets", 0)),
    }
    f, s = T["netzwacht_file"], T["netzwacht_stdin"]
    R["hash_pass"] = {"cpu_share_of_file_run": ratio(f["cpu"] - s["cpu"], f["cpu"]),
                      "cpu_ns_per_byte": ratio((f["cpu"] - s["cpu"]) * 1e9, mix["bytes"])}

    # -- bulk bypass
    log(f"bulk bypass ({reps} repetitions)")
    B = measure({
        "tcpdump_bulk": lambda: run(tcpdump_read(P["bulk"])),
        "tcpdump_handshakes": lambda: run(tcpdump_read(P["handshakes"])),
        "netzwacht_bulk": once_counters(lambda c: nz.run(P["bulk"], stdin=True, counters=c)),
        "netzwacht_handshakes": once_counters(lambda c: nz.run(P["handshakes"], stdin=True, counters=c)),
    }, reps)
    su = R["startup"]["netzwacht"]["cpu"]
    pb, ph = inp["bulk"]["packets"], inp["handshakes"]["packets"]
    nb = (B["netzwacht_bulk"]["cpu"] - su) / pb
    nh = (B["netzwacht_handshakes"]["cpu"] - su) / ph
    tb = B["tcpdump_bulk"]["cpu"] / pb
    th = B["tcpdump_handshakes"]["cpu"] / ph
    B["per_packet_usec"] = {"netzwacht_bulk": nb * 1e6, "netzwacht_handshakes": nh * 1e6,
                            "tcpdump_bulk": tb * 1e6, "tcpdump_handshakes": th * 1e6}
    B["ratio_bulk_vs_handshakes"] = ratio(nb, nh)
    B["ratio_bulk_vs_handshakes_net_of_read"] = ratio(nb - tb, nh - th)
    B["bulk_packet_share"] = inp["bulk"].get("bulk_packet_share")
    for k in ("bulk", "handshakes"):
        rr = B[f"netzwacht_{k}"]["run"]
        # runs.counters.reassembly.bypassed_segments: payload segments that reached no
        # dissector because it had said it needs nothing more of that direction
        byps = rr["counters"].get("reassembly", {}).get("bypassed_segments")
        B[f"bypassed_segments_{k}"] = byps
        B[f"bypassed_fraction_{k}"] = ratio(byps, rr["packets"]) if byps is not None else None
    R["bypass"] = B

    # -- flow table: the same bulk packets with many idle flows open in the table
    if not a.no_many:
        nbg = a.background_flows or (10000 if a.quick else 100000)
        inp["bulk_bg"] = mkbench(tmp, "bulk_bg", "--kind", "bulk", "--packets", str(byp),
                                 "--background-flows", str(nbg))
        inp["bg_only"] = mkbench(tmp, "bg_only", "--kind", "bulk", "--packets", str(byp),
                                 "--background-flows", str(nbg), "--background-only")
        log(f"flow table: bulk with {nbg} idle flows open ({reps} repetitions)")
        F = measure({
            "netzwacht_background_only": lambda: nz.run(inp["bg_only"]["path"], stdin=True),
            "netzwacht_background_and_bulk": lambda: nz.run(inp["bulk_bg"]["path"], stdin=True),
        }, reps)
        dpk = inp["bulk_bg"]["packets"] - inp["bg_only"]["packets"]
        with_bg = (F["netzwacht_background_and_bulk"]["cpu"] - F["netzwacht_background_only"]["cpu"]) / dpk
        F["background_flows"] = nbg
        F["bulk_per_packet_usec_with_background"] = with_bg * 1e6
        F["bulk_per_packet_usec_alone"] = nb * 1e6
        F["ratio_with_vs_without_open_flows"] = ratio(with_bg, nb)
        F["bytes_per_syn_only_flow"] = ratio((F["netzwacht_background_only"]["maxrss_kb"]
                                              - R["startup"]["netzwacht"]["maxrss_kb"]) * 1024, nbg)
        R["flowtable"] = F
        for k in ("bulk_bg", "bg_only"):
            os.unlink(inp[k]["path"])

    # -- memory
    M = {"mix_default_kb": T["netzwacht_file"]["maxrss_kb"], "tcpdump_mix_kb": T["tcpdump"]["maxrss_kb"],
         "startup_kb": R["startup"]["netzwacht"]["maxrss_kb"]}
    if not a.no_many:
        inp["many"] = mkbench(tmp, "many", "--kind", "manyflows", "--flows", str(many))
        R["inputs"]["many"] = {x: y for x, y in inp["many"].items() if x != "path"}
        log(f"memory: {many} open flows, default caps")
        r1 = nz.run(inp["many"]["path"], stdin=True, counters=True)
        log("memory: same, --max-flows 10000")
        r2 = nz.run(inp["many"]["path"], ("--max-flows", "10000"), stdin=True, counters=True)
        help_text = subprocess.run([nz.exe, "analyze", "--help"], capture_output=True, text=True).stdout
        r3 = None
        if "--max-mem" in help_text:  # builds before the memory budget do not have it
            log(f"memory: same, --max-mem {MEM_BUDGET_MIB}M")
            r3 = nz.run(inp["many"]["path"], ("--max-mem", f"{MEM_BUDGET_MIB}M"), stdin=True, counters=True)
        os.unlink(inp["many"]["path"])
        for key, r in (("many_default", r1), ("many_max10000", r2)):
            M[key + "_kb"] = r["maxrss_kb"]
            M[key + "_cpu"] = r["cpu"]
            M[key + "_wall"] = r["wall"]
            M[key + "_max_active"] = r["run"]["counters"].get("flows", {}).get("max_active")
            M[key + "_evicted"] = r["run"]["flows_evicted"]
        M["bytes_per_open_flow"] = ratio((r1["maxrss_kb"] - M["startup_kb"]) * 1024, M["many_default_max_active"])
        M["bytes_per_open_flow_capped"] = ratio((r2["maxrss_kb"] - M["startup_kb"]) * 1024, M["many_max10000_max_active"])
        M["ratio_capped_vs_default"] = ratio(r2["maxrss_kb"], r1["maxrss_kb"])
        M["usec_cpu_per_flow_default"] = ratio(r1["cpu"] * 1e6, many)
        M["usec_cpu_per_flow_capped"] = ratio(r2["cpu"] * 1e6, many)
        if r3:
            M["many_maxmem_kb"] = r3["maxrss_kb"]
            M["many_maxmem_cpu"] = r3["cpu"]
            M["many_maxmem_evicted"] = r3["run"]["counters"].get("flows", {}).get("evicted_for_memory")
            M["many_maxmem_peak_charged"] = r3["run"]["counters"].get("memory", {}).get("peak")
            # peak RSS above the process's own startup, per byte of budget: <= 1 means held
            M["ratio_maxmem_rss_over_budget"] = ratio((r3["maxrss_kb"] - M["startup_kb"]) * 1024,
                                                      MEM_BUDGET_MIB << 20)
    M["ratio_mix_vs_tcpdump"] = ratio(M["mix_default_kb"], M["tcpdump_mix_kb"])
    R["memory"] = M

    # -- callgrind
    if valgrind:
        inp["small"] = mkbench(tmp, "small", "--kind", "mix", "--size-mb", str(a.small_mb), "--bulk-flow-mb", "2")
        R["inputs"]["small"] = {x: y for x, y in inp["small"].items() if x != "path"}
        sp, tp = inp["small"]["path"], P["tiny"]
        log("callgrind (small input)")
        ir = {}
        ir["tcpdump_small"] = callgrind_ir(tcpdump_read(sp), tmp)
        ir["tcpdump_tiny"] = callgrind_ir(tcpdump_read(tp), tmp)
        for name, inpath in (("small", sp), ("tiny", tp)):
            for tag, opts in (("", ()), ("_no_ndpi", ("--no-ndpi",))):
                db = nz.db()
                ir[f"netzwacht_{name}{tag}"] = callgrind_ir(nz.cmd(db, inpath, opts, stdin=True), tmp, stdin_path=inpath)
                nz.drop(db)
        db = nz.db()
        ir["netzwacht_small_file"] = callgrind_ir(nz.cmd(db, sp), tmp)
        nz.drop(db)
        r = nz.run(sp, counters=True)
        nfed = r["run"]["counters"].get("ndpi_packets", 0)
        dp = inp["small"]["packets"] - inp["tiny"]["packets"]

        def per(prog, tag=""):
            return (ir[f"{prog}_small{tag}"] - ir[f"{prog}_tiny{tag}"]) / dp

        C = {"ir": ir, "packets": inp["small"]["packets"], "bytes": inp["small"]["bytes"],
             "ir_per_packet": {"tcpdump": per("tcpdump"), "netzwacht": per("netzwacht"),
                               "netzwacht_no_ndpi": per("netzwacht", "_no_ndpi")},
             "startup_ir": {"netzwacht": ir["netzwacht_tiny"], "netzwacht_no_ndpi": ir["netzwacht_tiny_no_ndpi"],
                            "tcpdump": ir["tcpdump_tiny"]}}
        pp = C["ir_per_packet"]
        C["ratio_netzwacht_vs_tcpdump"] = ratio(pp["netzwacht"], pp["tcpdump"])
        C["ratio_no_ndpi_vs_tcpdump"] = ratio(pp["netzwacht_no_ndpi"], pp["tcpdump"])
        C["ndpi_share"] = ratio(pp["netzwacht"] - pp["netzwacht_no_ndpi"], pp["netzwacht"])
        C["ndpi_packets_fed"] = nfed
        C["ndpi_ir_per_fed_packet"] = ratio((pp["netzwacht"] - pp["netzwacht_no_ndpi"]) * dp, nfed)
        # Allocations per bulk packet: two bulk inputs with the same flows, 0.4 MB vs 4 MB
        # of application data each; the difference is bulk packets only.
        nfl = 10 if a.quick else 20
        for kb in (400, 4000):
            inp[f"alloc{kb}"] = mkbench(tmp, f"alloc{kb}", "--kind", "bulk", "--bulk-flows", str(nfl),
                                        "--bulk-kb", str(kb))
        al = {}
        for key, path in (("tiny", tp), ("small", sp), ("bulk400", inp["alloc400"]["path"]),
                          ("bulk4000", inp["alloc4000"]["path"])):
            db = nz.db()
            al[key] = callgrind(nz.cmd(db, path, (), stdin=True), tmp, stdin_path=path)
            nz.drop(db)
        dpk = inp["alloc4000"]["packets"] - inp["alloc400"]["packets"]
        C["allocs"] = {k: v[1] for k, v in al.items()}
        C["allocs_per_bulk_packet"] = ratio(al["bulk4000"][1] - al["bulk400"][1], dpk)
        C["ir_per_bulk_packet"] = ratio(al["bulk4000"][0] - al["bulk400"][0], dpk)
        C["allocs_per_flow_bulk400"] = ratio(al["bulk400"][1] - al["tiny"][1], nfl)
        C["allocs_per_packet_small_mix"] = ratio(al["small"][1] - al["tiny"][1], dp)
        C["allocs_per_flow_small_mix"] = ratio(al["small"][1] - al["tiny"][1], inp["small"]["flows"])
        C["startup_allocs"] = al["tiny"][1]
        C["bulk_extra_packets"] = dpk
        C["hash_ir_per_byte"] = ratio(ir["netzwacht_small_file"] - ir["netzwacht_small"], inp["small"]["bytes"])
        C["hash_share_of_file_run"] = ratio(ir["netzwacht_small_file"] - ir["netzwacht_small"], ir["netzwacht_small_file"])
        R["callgrind"] = C
    R["inputs"] = {k: {x: y for x, y in v.items() if x != "path"} for k, v in inp.items()}


def bench_scale(R, a, tmp, exe, reps, big_mb, small_mb, floor):
    """Does the cost per packet stay flat from a 100 MB to a >= 1 GiB capture, and what do N
    workers buy? analyze FILE (what users run) per worker setting, the floor next to it."""
    nz = Netzwacht(exe, tmp)
    cfgs, skipped = worker_configs(exe, a.workers)
    inp = {"tiny": mkbench(tmp, "scale_tiny", "--kind", "tiny"),
           "small": mkbench(tmp, "scale_small", "--kind", "mix", "--size-mb", str(small_mb)),
           "big": mkbench(tmp, "scale_big", "--kind", "mix", "--size-mb", str(big_mb),
                          *(("--span-sec", str(a.scale_span)) if a.scale_span else ()))}
    for k in ("small", "big"):
        floor_check(floor, inp[k])
    S = {"inputs": {k: {x: y for x, y in v.items() if x != "path"} for k, v in inp.items()},
         "workers_option": accepts_workers(exe), "skipped_workers": skipped,
         "configs": [n for n, _ in cfgs]}
    variants = {}
    for size in ("tiny", "small", "big"):
        path = inp[size]["path"]
        variants[f"floor_{size}"] = (lambda p=path: run([floor, p]))
        for name, opts in cfgs:
            variants[f"{name}_{size}"] = once_counters(lambda c, p=path, o=opts: nz.run(p, o, counters=c))
    log(f"scale: {', '.join(n for n, _ in cfgs)} on {inp['small']['bytes'] / 1e6:.0f} MB and "
        f"{inp['big']['bytes'] / 1e6:.0f} MB ({reps} repetitions, interleaved)")
    M = measure(variants, reps)
    S["runs"] = M
    rows = {}
    for name in ["floor"] + [n for n, _ in cfgs]:
        row = {}
        st = M[f"{name}_tiny"]["wall"]
        row["startup_wall"] = st
        for size in ("small", "big"):
            m, pk = M[f"{name}_{size}"], inp[size]["packets"]
            row[f"wall_{size}"] = m["wall"]
            row[f"cpu_{size}"] = m["cpu"]
            row[f"maxrss_kb_{size}"] = m["maxrss_kb"]
            row[f"wall_vs_floor_{size}"] = ratio(m["wall"], M[f"floor_{size}"]["wall"])
            row[f"cpu_per_wall_{size}"] = ratio(m["cpu"], m["wall"])
            row[f"ns_per_packet_{size}"] = ratio((m["wall"] - st) * 1e9, pk)
            row[f"ns_per_packet_raw_{size}"] = ratio(m["wall"] * 1e9, pk)
            row[f"cpu_ns_per_packet_{size}"] = ratio((m["cpu"] - M[f"{name}_tiny"]["cpu"]) * 1e9, pk)
            if "run" in m:
                rr = m["run"]
                row[f"packets_seen_{size}"] = rr["packets"]
                eng = rr["counters"].get("engine") or {}
                row["workers_counted"] = eng.get("workers", row.get("workers_counted"))
                if rr["packets"] != pk:
                    R.setdefault("problems", []).append(
                        f"scale {name}: netzwacht counted {rr['packets']} packets of {size}, the input has {pk}")
        row["ns_per_packet_big_vs_small"] = ratio(row["ns_per_packet_big"], row["ns_per_packet_small"])
        row["cpu_ns_per_packet_big_vs_small"] = ratio(row["cpu_ns_per_packet_big"], row["cpu_ns_per_packet_small"])
        rows[name] = row
    if "w1" in rows:
        for name, row in rows.items():
            if name != "floor":
                row["speedup_vs_w1_big"] = ratio(rows["w1"]["wall_big"], row["wall_big"])
                row["speedup_vs_w1_small"] = ratio(rows["w1"]["wall_small"], row["wall_small"])
    S["rows"] = rows
    R["scale"] = S


def bench_perf(R, a, tmp, exe, perf_mb):
    """perf record -g of one analyze FILE of a mix; four perf reports (self time, no call
    graphs): by thread, by thread and DSO, by thread and symbol, by symbol over all threads.
    perf's "pid" sort key is per thread (tid:comm). --keep keeps perf.data for perf report -g."""
    info = mkbench(tmp, "perf_mix", "--kind", "mix", "--size-mb", str(perf_mb))
    nz = Netzwacht(exe, tmp)
    opts = ()
    if a.perf_workers:
        if not accepts_workers(exe):
            log(f"NOTE: this netzwacht has no --workers option: --perf-workers {a.perf_workers} ignored, "
                "profiling the default (today's engine)")
        else:
            opts = ("--workers", str(int(a.perf_workers)))
    data = os.path.join(tmp, "perf.data")
    db = nz.db()
    cmd = nz.cmd(db, info["path"], opts)
    log(f"perf: recording {' '.join(cmd[:1] + ['analyze', *opts])} on {info['bytes'] / 1e6:.0f} MB")
    r = run(["perf", "record", "-g", "-q", "-o", data, "--", *cmd], rss=False)
    nz.drop(db)
    P = {"input": {x: y for x, y in info.items() if x != "path"}, "options": list(opts), "wall": r["wall"],
         "cpu": r["cpu"], "record_cmd": "perf record -g -- netzwacht analyze --db DB -q --no-progress "
         + " ".join(opts) + " MIX", "reports": {}}
    for key, sort in (("thread", "pid"), ("thread_dso", "pid,dso"), ("thread_sym", "pid,sym"), ("sym", "sym")):
        rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none",
                              "--percent-limit", str(a.perf_limit), "-s", sort],
                             capture_output=True, text=True)
        if rep.returncode != 0:
            raise RuntimeError(f"perf report -s {sort} failed:\n{rep.stderr[-2000:]}")
        lines = [ln.rstrip() for ln in rep.stdout.splitlines() if ln.strip() and not ln.startswith("#")]
        P["reports"][key] = {"sort": sort, "lines": lines}
    if a.keep:
        log(f"perf data kept: {data}")
    os.unlink(info["path"])
    R["perf"] = P


def fmt(v, nd=2):
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != v:
            return "nan"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.{nd}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def report(R):
    rows = []
    if "throughput" in R:
        report_full(R, rows)
    if "scale" in R:
        report_scale(R, rows)
    w0 = max([len(r[0]) for r in rows if not r[0].startswith("==")] + [10])
    print(f"netzwacht benchmark {R['date_utc']}  {R['machine']['cores']} cores  {R['machine']['cpu']}")
    if "throughput" in R:
        print(f"baseline: {R['versions']['tcpdump']}")
    print(f"floor: {R['floor']['program']} ({R['floor']['cc']}, -O2): pcap_next_ex + a sum over every byte")
    for r in rows:
        if r[0].startswith("=="):
            print(f"\n{r[0]}  {r[1]}")
        else:
            print(f"  {r[0]:<{w0}}" + "".join(f"  {c:>10}" for c in r[1:-1]) + f"  {r[-1]}")
    if "perf" in R:
        report_perf(R)
    for p in R.get("problems", []):
        print(f"PROBLEM: {p}")


def report_scale(R, rows):
    S = R["scale"]
    sm, bg = S["inputs"]["small"], S["inputs"]["big"]
    rows.append(("== scale", f"analyze FILE, median of {R['reps']} (interleaved); small mix {sm['packets']:,} packets "
                 f"{sm['bytes'] / 1e6:.0f} MB, big mix {bg['packets']:,} packets {bg['bytes'] / 2**30:.2f} GiB "
                 f"({bg['bytes'] / 1e6:.0f} MB); ns/packet: (wall - startup wall) / packets"))
    rows.append(("workers", "wall/floor", "wall/floor", "ns/pkt", "ns/pkt", "big/small", "RSS MiB", "RSS MiB",
                 "CPU/wall", "speed-up", ""))
    rows.append(("", "big", "small", "big", "small", "(flat=1)", "big", "small", "big", "vs w1 big",
                 "wall big / small, startup; CPU ns/pkt big/small"))
    for name, w in S["rows"].items():
        label = name if name != "default" or w.get("workers_counted") is None else f"default ({w['workers_counted']})"
        rows.append((label, fmt(w["wall_vs_floor_big"]), fmt(w["wall_vs_floor_small"]),
                     fmt(w["ns_per_packet_big"], 0), fmt(w["ns_per_packet_small"], 0),
                     fmt(w["ns_per_packet_big_vs_small"], 3),
                     fmt(w["maxrss_kb_big"] / 1024, 1), fmt(w["maxrss_kb_small"] / 1024, 1),
                     fmt(w["cpu_per_wall_big"]), fmt(w.get("speedup_vs_w1_big")),
                     f"{w['wall_big']:.3f} / {w['wall_small']:.3f} s, {w['startup_wall'] * 1e3:.0f} ms; "
                     f"{fmt(w['cpu_ns_per_packet_big'], 0)} / {fmt(w['cpu_ns_per_packet_small'], 0)} = "
                     f"{fmt(w['cpu_ns_per_packet_big_vs_small'], 3)}"))
    if S["skipped_workers"]:
        rows.append(("(skipped)", "", "", "", "", "", "", "", "", "",
                     f"--workers {','.join(S['skipped_workers'])}: this netzwacht has no --workers option"))


def report_perf(R):
    P = R["perf"]
    print(f"\n== perf  {P['record_cmd']}  ({P['input']['packets']:,} packets, {P['input']['bytes'] / 1e6:.0f} MB; "
          f"wall {P['wall']:.2f} s, CPU {P['cpu']:.2f} s under perf); self time, lines >= {R['perf_limit']} %")
    titles = {"thread": "by thread (pid:comm is the thread's id and name)", "thread_dso": "by thread and DSO",
              "thread_sym": "by thread and symbol",
              "sym": "by symbol, all threads"}
    for key, rep in P["reports"].items():
        print(f"\n-- {titles[key]}  (perf report --no-children -s {rep['sort']})")
        for ln in rep["lines"]:
            print("  " + ln)


def report_full(R, rows):
    T, TR = R["throughput"], R["throughput_ratios"]
    mix = R["inputs"]["mix"]
    rows.append(("== throughput", f"mix: {mix['packets']:,} packets, {mix['bytes'] / 1e6:.0f} MB, "
                 f"{mix['flows']:,} flows; median of {R['reps']}", "", ""))
    rows.append(("command", "CPU ratio vs tcpdump", "wall ratio", "wall/floor", "CPU s / Mpkt/s / MB/s (CPU)"))
    for k in T:
        v = T[k]
        rows.append((k, fmt(TR[k]["cpu_vs_tcpdump"]), fmt(TR[k]["wall_vs_tcpdump"]), fmt(TR[k]["wall_vs_floor"]),
                     f"{v['cpu']:.3f} / {v['pps_cpu'] / 1e6:.2f} / {v['MBps_cpu']:.0f}"))
    N = R["ndpi"]
    rows.append(("== nDPI", "", "", ""))
    rows.append(("share of CPU (stdin default vs --no-ndpi)", fmt(N["cpu_share"], 3), "",
                 f"{fmt(N['cpu_share_net_of_startup'], 3)} net of startup "
                 f"({N['startup_cpu'] * 1e3:.0f} vs {N['startup_cpu_no_ndpi'] * 1e3:.0f} ms)"))
    rows.append(("packets fed / total", fmt(N["fraction_fed"], 4),
                 f"{N['packets_fed']:,} / {N['packets_total']:,}", f"{fmt(N['fed_per_flow'])} per flow"))
    rows.append(("CPU µs per packet fed (net of startup)", fmt(N["cpu_usec_per_fed_packet"]), "", ""))
    H = R["hash_pass"]
    rows.append(("== content-hash dedup (file vs stdin; hashed on the second core)", "", "", ""))
    rows.append(("share of the file run's CPU", fmt(H["cpu_share_of_file_run"], 3), "",
                 f"{fmt(H['cpu_ns_per_byte'])} ns/byte"))
    B = R["bypass"]
    pp = B["per_packet_usec"]
    rows.append(("== bulk bypass", f"{R['inputs']['bulk']['packets']:,} packets each, "
                 f"{100 * (B['bulk_packet_share'] or 0):.0f} % bulk", "", ""))
    rows.append(("per-packet CPU, bulk / handshakes", fmt(B["ratio_bulk_vs_handshakes"], 3), "",
                 f"{pp['netzwacht_bulk']:.2f} / {pp['netzwacht_handshakes']:.2f} µs"))
    rows.append(("same, net of tcpdump's read cost", fmt(B["ratio_bulk_vs_handshakes_net_of_read"], 3), "",
                 f"tcpdump {pp['tcpdump_bulk']:.2f} / {pp['tcpdump_handshakes']:.2f} µs"))
    if B.get("bypassed_fraction_bulk") is not None:
        rows.append(("packets bypassed (counters), bulk / handshakes", fmt(B["bypassed_fraction_bulk"], 3), "",
                     f"{B['bypassed_segments_bulk']:,} / {B['bypassed_segments_handshakes']:,} segments"))
    if "flowtable" in R:
        F = R["flowtable"]
        rows.append(("== flow table", f"the bulk input's packets with {F['background_flows']:,} idle flows open", "", ""))
        rows.append(("per-packet CPU, with / without open flows", fmt(F["ratio_with_vs_without_open_flows"]), "",
                     f"{F['bulk_per_packet_usec_with_background']:.2f} / {F['bulk_per_packet_usec_alone']:.2f} µs"))
        rows.append(("memory per idle flow (SYN only)", "", "", f"{fmt(F['bytes_per_syn_only_flow'], 0)} B"))
    M = R["memory"]
    rows.append(("== memory (peak RSS)", "", "", ""))
    rows.append(("mix, default / tcpdump", fmt(M["ratio_mix_vs_tcpdump"]), "",
                 f"{M['mix_default_kb'] / 1024:.1f} / {M['tcpdump_mix_kb'] / 1024:.1f} MiB"))
    S = R["startup"]
    rows.append(("startup (one flow)", "", "", f"{S['netzwacht']['maxrss_kb'] / 1024:.1f} MiB, "
                 f"{S['netzwacht_no_ndpi']['maxrss_kb'] / 1024:.1f} without nDPI; "
                 f"tcpdump {S['tcpdump']['maxrss_kb'] / 1024:.1f}"))
    if "many_default_kb" in M:
        mf = R["inputs"]["many"]["flows"]
        rows.append((f"{mf:,} open flows, default caps", "", "",
                     f"{M['many_default_kb'] / 1024:.0f} MiB, {fmt(M['bytes_per_open_flow'], 0)} B/flow, "
                     f"max_active {M['many_default_max_active']:,}, CPU {M['many_default_cpu']:.1f} s"))
        rows.append(("same, --max-flows 10000 / default", fmt(M["ratio_capped_vs_default"], 3), "",
                     f"{M['many_max10000_kb'] / 1024:.0f} MiB, evicted {M['many_max10000_evicted']:,}, "
                     f"CPU {M['many_max10000_cpu']:.1f} s"))
        if "many_maxmem_kb" in M:
            rows.append((f"same, --max-mem {MEM_BUDGET_MIB}M: (peak - startup) / budget",
                         fmt(M["ratio_maxmem_rss_over_budget"], 3), "",
                         f"{M['many_maxmem_kb'] / 1024:.0f} MiB, evicted for memory "
                         f"{M['many_maxmem_evicted']:,}, CPU {M['many_maxmem_cpu']:.1f} s"))
    if "callgrind" in R:
        C = R["callgrind"]
        ip = C["ir_per_packet"]
        rows.append(("== callgrind", f"{C['packets']:,} packets, startup subtracted", "", ""))
        rows.append(("instructions/packet vs tcpdump", fmt(C["ratio_netzwacht_vs_tcpdump"]), "",
                     f"{ip['netzwacht']:,.0f} vs {ip['tcpdump']:,.0f}"))
        rows.append(("same, --no-ndpi", fmt(C["ratio_no_ndpi_vs_tcpdump"]), "", f"{ip['netzwacht_no_ndpi']:,.0f}"))
        rows.append(("nDPI share of instructions", fmt(C["ndpi_share"], 3), "",
                     f"{C['ndpi_ir_per_fed_packet']:,.0f} per packet fed"))
        rows.append(("hash pass share (file run)", fmt(C["hash_share_of_file_run"], 3), "",
                     f"{C['hash_ir_per_byte']:.1f} instr/byte"))
        rows.append(("malloc/calloc/realloc per bulk packet", fmt(C["allocs_per_bulk_packet"], 4), "",
                     f"{C['ir_per_bulk_packet']:,.0f} instr per bulk packet ({C['bulk_extra_packets']:,} packets)"))
        rows.append(("allocations per flow (small mix / TLS bulk)", "", "",
                     f"{C['allocs_per_flow_small_mix']:.0f} / {C['allocs_per_flow_bulk400']:.0f} "
                     f"({C['allocs_per_packet_small_mix']:.2f} per packet on the mix)"))
        rows.append(("startup instructions", "", "", f"{C['startup_ir']['netzwacht']:,} "
                     f"({C['startup_ir']['netzwacht_no_ndpi']:,} without nDPI)"))


if __name__ == "__main__":
    main()
