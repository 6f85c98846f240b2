#!/usr/bin/env python3
"""The multi-worker engine writes the same rows as one worker.

`netzwacht analyze --workers 1` and `--workers 3` (more workers than this machine's cores, which
shakes out ordering) are run into two fresh databases on the same input, and the tables flows,
findings, tls_sessions, http_requests, smtp_sessions and files are compared as multisets of rows:

- the id and run_id columns are dropped; every flow_id becomes a stable identity of its flow
  (client ip/port, server ip/port and first timestamp, read from the flows row);
- finding evidence is compared as parsed JSON; the smtp_sessions ids it quotes
  (`last_offered_session`, `accepted_before.last_session` of the history verdicts) become the
  identity of that session (its flow's identity, its protocol and timestamp);
- runs is compared minus id and queue_full, with runs.counters compared minus the fields that
  legitimately depend on the number of workers (COUNTERS_PER_WORKER below): the "engine" object
  (worker count, queue waits), memory.peak and memory.in_use (each worker's pipeline holds its
  own baseline: nDPI's tables, free lists) and flows.max_active (the most flows open at once is a
  property of each worker's table, and their sum or maximum is not the single table's figure).
  memory.budget and reassembly.budget are the configured totals: compared in whole MiB, since a
  split into N per-worker parts may lose a few bytes to rounding.

Inputs: every capture listed in pcaps/MANIFEST.tsv on its own (the damaged ones too: same exit
code, same rows of what was read before the damage); a run of several files in which the
per-server history verdicts (STARTTLS stripped by history, a refusal raised to high after an
earlier acceptance) and the end-of-run rule http.no_https_redirect fire across workers (their
presence is asserted too, not only the equality); every capture in one run, also with
--continuous; and a generated many-flow capture (tests/bench/mkbench.py, ~2500 flows).
Also: --workers 0 and --workers 65 are usage errors (exit 2, a message naming the option).
Takes about 20 s (no root, no network)."""
import collections
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import nzt  # noqa: E402

h = nzt.Harness("workers")
P = nzt.PCAPS
MANY = 3  # workers of the compared run: more than the 2 cores of the CI machine

TABLES = ("flows", "findings", "tls_sessions", "http_requests", "smtp_sessions", "files", "certificates",
          "cert_chains")
# runs.counters fields that depend on the worker count (dotted paths; a prefix drops a subtree)
COUNTERS_PER_WORKER = ("engine", "memory.peak", "memory.in_use", "flows.max_active",
                       # each worker has its own memory of certificates sent and chains verified
                       "certificates.sent_to_writer", "certificates.verify_cache_hits",
                       "certificates.verify_cache_misses")
COUNTERS_IN_MIB = ("memory.budget", "reassembly.budget")
# evidence members that hold an smtp_sessions id
SESSION_ID_KEYS = ("last_offered_session", "last_session")
# evidence members that hold a tls_sessions id (tls.drown_exposed)
TLS_ID_KEYS = ("tls_session_id", "sslv2_session_id")
SHOW = 5  # differing rows printed per side


def manifest():
    with open(os.path.join(P, "MANIFEST.tsv")) as f:
        rows = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    return [r[0] for r in rows[1:]]


def analyze(db, paths, workers, extra=()):
    return nzt.analyze(db, paths, ["-q", "--workers", str(workers), *extra])


# ---- normalisation -------------------------------------------------------------------------

def flow_identity(fl):
    return ("flow", fl["client_ip"], fl["client_port"], fl["server_ip"], fl["server_port"], fl["first_ts"])


def freeze(v):
    if isinstance(v, dict):
        return tuple(sorted((k, freeze(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(freeze(x) for x in v)
    return v


def flatten(d, pre=""):
    out = {}
    for k, v in d.items():
        path = pre + k
        if isinstance(v, dict) and v:
            out.update(flatten(v, path + "."))
        else:
            out[path] = v
    return out


def norm_counters(text):
    try:
        flat = flatten(json.loads(text))
    except (TypeError, ValueError):
        return ("unparsable", text)
    out = {}
    for k, v in flat.items():
        if any(k == p or k.startswith(p + ".") for p in COUNTERS_PER_WORKER):
            continue
        if k in COUNTERS_IN_MIB and isinstance(v, int):
            v = ("MiB", round(v / 2**20))
        out[k] = v
    return freeze(out)


def snapshot(db):
    """{table: Counter of normalised rows}, plus 'runs'."""
    flows = nzt.query(db, "SELECT * FROM flows")
    fid = {f["id"]: flow_identity(f) for f in flows}

    def flow_ref(v):
        if v is None:
            return None
        return fid.get(v, ("dangling flow_id",))

    mail = nzt.query(db, "SELECT id, flow_id, protocol, ts FROM smtp_sessions")
    sid = {m["id"]: ("session", flow_ref(m["flow_id"]), m["protocol"], m["ts"]) for m in mail}
    tls = nzt.query(db, "SELECT id, flow_id, ts FROM tls_sessions")
    tid = {t["id"]: ("tls", flow_ref(t["flow_id"]), t["ts"]) for t in tls}

    def fix_evidence(v):
        if isinstance(v, dict):
            return {k: (sid.get(x, ("dangling session id",)) if k in SESSION_ID_KEYS and isinstance(x, int)
                        else tid.get(x, ("dangling tls id",)) if k in TLS_ID_KEYS and isinstance(x, int)
                        else fix_evidence(x)) for k, x in v.items()}
        if isinstance(v, list):
            return [fix_evidence(x) for x in v]
        return v

    snap = {}
    for t in TABLES:
        rows = collections.Counter()
        for r in nzt.query(db, f"SELECT * FROM {t}"):
            r.pop("id", None)
            r.pop("run_id", None)
            if "flow_id" in r:
                r["flow_id"] = flow_ref(r["flow_id"])
            if t == "findings" and r.get("evidence"):
                try:
                    r["evidence"] = freeze(fix_evidence(json.loads(r["evidence"])))
                except ValueError:
                    pass
            rows[freeze(r)] += 1
        snap[t] = rows
    runs = collections.Counter()
    for r in nzt.query(db, "SELECT * FROM runs"):
        r.pop("id", None)
        r.pop("queue_full", None)
        r["counters"] = norm_counters(r.get("counters"))
        runs[freeze(r)] += 1
    snap["runs"] = runs
    return snap


def show(row):
    s = ", ".join(f"{k}={v!r}" for k, v in row)
    return s if len(s) <= 400 else s[:400] + "…"


def is_frozen_dict(v):
    return isinstance(v, tuple) and all(isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) for x in v)


def delta(pre, da, db_):
    """The members of two (frozen) dicts that differ, as 'path: a vs b'."""
    out = []
    for k in sorted(set(da) | set(db_)):
        va, vb = da.get(k), db_.get(k)
        if va == vb:
            continue
        if is_frozen_dict(va) and is_frozen_dict(vb) and va and vb:
            out += delta(pre + k + ".", dict(va), dict(vb))
        else:
            out.append(f"{pre}{k}: {va!r} vs {vb!r}")
    return out


def diff(a, b):
    """Readable difference of two Counters of rows ('' when equal): a row that has a close
    counterpart on the other side (most columns equal) is shown as its differing columns."""
    if a == b:
        return ""
    only_a, only_b = a - b, b - a
    lines = [f"{sum(a.values())} rows with 1 worker, {sum(b.values())} with {MANY}; "
             f"{sum(only_a.values())} only with 1, {sum(only_b.values())} only with {MANY}"]
    rest_b = list(only_b.elements())[:5000]
    for row in list(only_a.elements())[:SHOW]:
        da = dict(row)
        best, same = None, -1
        for i, other in enumerate(rest_b):
            n = sum(1 for k, v in other if da.get(k) == v)
            if n > same:
                best, same = i, n
        if best is not None and same * 2 > len(da):
            db_ = dict(rest_b.pop(best))
            key = ", ".join(f"{k}={da[k]!r}" for k in ("kind", "flow_id", "ts") if k in da)
            if "client_port" in da and "first_ts" in da:  # a flows row: its identity
                key = repr(flow_identity(da))
            lines.append(f"    differs ({key}): " + "; ".join(delta("", da, db_)))
        else:
            lines.append(f"    only 1 worker: {show(row)}")
    for row in rest_b[:max(0, SHOW - (len(lines) - 1))]:
        lines.append(f"    only {MANY} workers: {show(row)}")
    return "\n" + "\n".join(lines)


def counters_diff(a, b):
    """For runs: name the counters that differ rather than printing two long rows."""
    ra, rb = list(a.elements()), list(b.elements())
    if len(ra) != 1 or len(rb) != 1:
        return diff(a, b)
    da, db_ = dict(ra[0]), dict(rb[0])
    out = [f"{k}: {da.get(k)!r} vs {db_.get(k)!r}" for k in sorted(set(da) | set(db_))
           if k != "counters" and da.get(k) != db_.get(k)]
    ca, cb = da.get("counters"), db_.get("counters")
    if ca != cb:
        ca, cb = dict(ca) if isinstance(ca, tuple) else {}, dict(cb) if isinstance(cb, tuple) else {}
        out += [f"counters.{k}: {ca.get(k)!r} vs {cb.get(k)!r}" for k in sorted(set(ca) | set(cb))
                if ca.get(k) != cb.get(k)]
    return "\n    " + "\n    ".join(out)


def engine_workers(db):
    rows = nzt.query(db, "SELECT counters FROM runs")
    try:
        return [json.loads(r["counters"]).get("engine", {}).get("workers") for r in rows]
    except (TypeError, ValueError, AttributeError):
        return None


def compare(label, paths, extra=(), want_rc=(0, 1)):
    """Runs 1 and MANY workers on paths; one check per table. Returns the two snapshots."""
    d1, dn = h.db(f"w1.db"), h.db(f"w{MANY}.db")
    r1, rn = analyze(d1, paths, 1, extra), analyze(dn, paths, MANY, extra)
    ok = h.check(f"{label}: same exit code with 1 and {MANY} workers ({r1.returncode})",
                 r1.returncode == rn.returncode and r1.returncode in want_rc,
                 f"1 worker: {r1.returncode} {nzt.text(r1.stderr)[-600:]}\n{MANY} workers: {rn.returncode} "
                 f"{nzt.text(rn.stderr)[-600:]}")
    if not ok:
        return None, None
    h.check(f"{label}: runs.counters engine.workers = 1 and {MANY}",
            engine_workers(d1) == [1] and engine_workers(dn) == [MANY], f"{engine_workers(d1)} / {engine_workers(dn)}")
    s1, sn = snapshot(d1), snapshot(dn)
    for t in TABLES:
        h.check(f"{label}: {t} identical ({sum(s1[t].values())} rows)", s1[t] == sn[t], diff(s1[t], sn[t]))
    h.check(f"{label}: runs and counters identical", s1["runs"] == sn["runs"], counters_diff(s1["runs"], sn["runs"]))
    return s1, sn


def kinds(snap):
    out = collections.Counter()
    for row in snap["findings"].elements():
        d = dict(row)
        out[(d["kind"], d["severity"])] += 1
    return out


# ---- the checks -----------------------------------------------------------------------------

def refused(r):
    """Exit 2 with a message about --workers itself (not getopt's unknown-option text)."""
    err = nzt.text(r.stderr)
    return r.returncode == 2 and "workers" in err and "unknown option" not in err and "unrecognized option" not in err


def check_usage():
    for n in ("0", "65", "x"):
        r = nzt.analyze(h.db(), [nzt.pcap("http-get-ipv4.pcap")], ["--workers", n])
        err = nzt.text(r.stderr)
        h.check(f"analyze --workers {n}: usage error (exit 2) naming --workers",
                refused(r), f"exit {r.returncode}: {err[:300]}")
    db = h.db()
    r = analyze(db, [nzt.pcap("http-get-ipv4.pcap")], 64)
    h.check("analyze --workers 64 (the maximum) is accepted", r.returncode == 0 and engine_workers(db) == [64],
            f"exit {r.returncode}: {nzt.text(r.stderr)[:300]}; engine.workers {engine_workers(db)}")
    for n in ("0", "65"):
        # the interface does not exist: a refused option must be reported before it is opened
        r = nzt.run(["watch", "-i", "nz-no-such-if0", "--workers", n], db=h.db())
        err = nzt.text(r.stderr)
        h.check(f"watch --workers {n}: usage error (exit 2) naming --workers",
                refused(r), f"exit {r.returncode}: {err[:300]}")


def check_each_capture(caps):
    totals = collections.Counter()
    for rel in caps:
        path = os.path.join(P, rel)
        if not h.check(f"{rel}: listed capture exists", os.path.exists(path)):
            continue
        # damaged captures exit 3 (unreadable input) after keeping what they read
        s1, _ = compare(rel, [path], want_rc=(0, 1, 3))
        if s1:
            for t in TABLES:
                totals[t] += sum(s1[t].values())
    # the comparisons above are not vacuous: the corpus fills every table
    for t in TABLES:
        h.check(f"the captures fill {t} ({totals[t]} rows)", totals[t] > 0)


def check_history_run():
    names = ["mail/smtp-history-1-offered.pcap", "mail/smtp-history-2-not-offered.pcap", "mail/smtp-starttls-454.pcap",
             "http/http-no-https-redirect.pcap", "http/http-redirect-to-https.pcap", "tls/tls13-sni-alpn.pcap",
             "mail/imap-starttls.pcap", "mail/pop3-stls.pcap", "http/http-get-post.pcap"]
    s1, sn = compare("history run (9 files in one run)", [os.path.join(P, n) for n in names])
    if not s1:
        return
    for label, snap in (("1 worker", s1), (f"{MANY} workers", sn)):
        k = kinds(snap)
        h.check(f"history run, {label}: smtp.starttls_stripped high (history)", k[("smtp.starttls_stripped", "high")] == 1,
                str(sorted(k)))
        h.check(f"history run, {label}: smtp.starttls_refused raised to high", k[("smtp.starttls_refused", "high")] == 1
                and k[("smtp.starttls_refused", "medium")] == 0, str(sorted(k)))
        # end of run: plain.* (SNI and plaintext in one file) and www.* (SNI in tls13-sni-alpn,
        # plaintext GET / in http-get-post: two files, two flows that may sit in two workers)
        hosts = sorted(dict(dict(r)["evidence"]).get("host") for r in snap["findings"].elements()
                       if dict(r)["kind"] == "http.no_https_redirect" and isinstance(dict(r)["evidence"], tuple))
        h.check(f"history run, {label}: http.no_https_redirect for plain. and www. (end of run, across files)",
                hosts == ["plain.netzwacht.test", "www.netzwacht.test"], str(hosts))
        ev = [dict(dict(r)["evidence"]) for r in snap["findings"].elements()
              if dict(r)["kind"] == "smtp.starttls_stripped" and isinstance(dict(r)["evidence"], tuple)]
        h.check(f"history run, {label}: the stripped finding names the earlier session",
                len(ev) == 1 and isinstance(ev[0].get("last_offered_session"), tuple)
                and ev[0]["last_offered_session"][0] == "session", str(ev))


def check_corpus_run(caps):
    paths = [os.path.join(P, c) for c in caps]
    compare(f"all {len(paths)} captures in one run", paths, want_rc=(3,))
    compare(f"all {len(paths)} captures in one run, --continuous", paths, extra=["--continuous"], want_rc=(3,))


def check_generated():
    out = os.path.join(h.tmp, "mix.pcap")
    # 30 MB with 20 % bulk instead of the default 80 %: ~2500 short flows instead of ~550
    r = subprocess.run([sys.executable, os.path.join(nzt.SRC, "tests", "bench", "mkbench.py"), "--kind", "mix",
                        "--size-mb", "30", "--bulk-share", "0.2", "--seed", "7", "--out", out],
                       capture_output=True, timeout=300)
    if not h.check("mkbench mix capture generated", r.returncode == 0 and os.path.exists(out), nzt.text(r.stderr)):
        return
    s1, _ = compare("generated mix (mkbench --seed 7)", [out])
    if s1:
        h.check("generated mix has many flows", sum(s1["flows"].values()) >= 2000, str(sum(s1["flows"].values())))
    os.unlink(out)


def check_comparator_sees_differences():
    """The normalised snapshots of two different inputs differ (the comparison is not vacuous)."""
    a, b = h.db("cmp-a.db"), h.db("cmp-b.db")
    nzt.analyze(a, [nzt.pcap("tls", "tls12-ecdhe-aead.pcap")])
    nzt.analyze(b, [nzt.pcap("tls", "tls12-dhe-2048.pcap")])
    sa, sb = snapshot(a), snapshot(b)
    h.check("comparison tells two different captures apart", all(sa[t] != sb[t] for t in ("flows", "tls_sessions")))


def main():
    caps = manifest()
    h.check("MANIFEST.tsv lists the captures", len(caps) >= 100, str(len(caps)))
    check_comparator_sees_differences()
    probe = analyze(h.db(), [nzt.pcap("http-get-ipv4.pcap")], 1)
    if not h.check("analyze accepts --workers 1", probe.returncode == 0, nzt.text(probe.stderr)[:300]):
        h.finish()
    check_usage()
    check_each_capture(caps)
    check_history_run()
    check_corpus_run(caps)
    check_generated()
    if not h.failed:  # the databases of the generated capture are ~10 MB; kept when a check failed
        shutil.rmtree(h.tmp, ignore_errors=True)
    h.finish()


if __name__ == "__main__":
    main()
