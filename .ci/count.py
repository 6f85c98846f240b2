#!/usr/bin/env python3
"""Sums real results over meson test logs and prints 'N passed, N failed'.

A Check suite prints 'NN%: Checks: C, Failures: F, Errors: E'; an integration script prints
'N passed, N failed' itself. Each counts its individual checks. A test whose output has neither
counts as one (passed if meson says OK). A test meson reports as failed counts at least one
failure even if its output claimed none (a crash after printing)."""
import json, re, sys

CHECK = re.compile(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)")
PLAIN = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$", re.M)

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        print(f"count: no test log {path}", file=sys.stderr)
        failed += 1
        continue
    for line in lines:
        t = json.loads(line)
        out = (t.get("stdout") or "") + (t.get("stderr") or "")
        ok = t.get("result") in ("OK", "EXPECTEDFAIL")
        skip = t.get("result") == "SKIP"
        p = f = 0
        m = CHECK.findall(out)
        pm = PLAIN.findall(out)
        if m:
            for c, fl, er in m:
                p += int(c) - int(fl) - int(er)
                f += int(fl) + int(er)
        elif pm:
            for a, b, s in pm:
                p += int(a)
                f += int(b)
                skipped += int(s or 0)
        elif skip:
            skipped += 1
        else:
            p, f = (1, 0) if ok else (0, 1)
        if not ok and not skip and f == 0:
            f = 1
        passed += p
        failed += f
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
